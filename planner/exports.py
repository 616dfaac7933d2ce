"""Exports of a plan for spreadsheets, phones and GIS: CSV/XLSX, GPX, KML, GeoJSON and Google
Maps directions links.

Every function takes a Plan JSON dict (contract in the project notes: ``teams[].days[].stops``)
and optionally narrows it to one team and/or one day:

* ``team``: the team's 1-based number (``1`` or ``"1"`` = the first team in ``plan["teams"]``)
  or its exact name;
* ``day``: an ISO date (``"2026-12-01"`` or a ``datetime.date``).

Untrusted text (village names come from imported files) is never interpreted: XML writers
(gpxpy, ElementTree) escape it, and spreadsheet cells that would start a formula (``= + - @``)
get a leading apostrophe so Excel/LibreOffice show them as text.

Google Maps links carry coordinates only (no names): the "Maps URLs" form
``https://www.google.com/maps/dir/?api=1&origin=..&destination=..&waypoints=..`` takes at most
9 waypoints, so a longer day is split into several links that chain: the destination of one
link is the origin of the next. Google has no boat routing: river legs are shown as driving.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import gpxpy
import gpxpy.gpx

#: Google Maps "Maps URLs" directions accept at most this many waypoints per link.
GOOGLE_MAX_WAYPOINTS = 9
GOOGLE_DIR_URL = "https://www.google.com/maps/dir/"
#: Times in the plan are local time in Kotawaringin Timur (WIB, UTC+7).
LOCAL_TZ = dt.timezone(dt.timedelta(hours=7), "WIB")
KML_NS = "http://www.opengis.net/kml/2.2"

ROW_COLUMNS = [
    "team_no", "team", "team_mode", "date", "order", "site_code", "name", "kecamatan", "kind",
    "lat", "lon", "arrive", "depart", "expected", "leg_mode", "km_from_prev", "min_from_prev",
    "no_signal", "pooled", "locked",
]


class SelectionError(LookupError):
    """The requested team or day is not in the plan (message is meant for the coordinator)."""


@dataclass(frozen=True)
class TeamDay:
    """One team's day in a plan. ``team_no`` is 1-based (``Tim 1`` → 1)."""

    team_no: int
    team: dict
    day: dict

    @property
    def date(self) -> str:
        return str(self.day.get("date"))

    @property
    def stops(self) -> list[dict]:
        return list(self.day.get("stops") or [])

    def points(self) -> list[dict]:
        """Start, every stop, end — each a dict with lat, lon, name, role ('start'|'stop'|'end')."""
        pts = [dict(self.day["start"], role="start")]
        for i, s in enumerate(self.stops, start=1):
            pts.append(dict(s, role="stop", order=i))
        pts.append(dict(self.day["end"], role="end"))
        return pts


# --------------------------------------------------------------------------- selection
def find_team(plan: dict, team) -> tuple[int, dict]:
    """(1-based number, team dict) for ``team`` given as number or name."""
    teams = plan.get("teams") or []
    if isinstance(team, int) or (isinstance(team, str) and team.strip().isdigit()):
        n = int(team)
        if 1 <= n <= len(teams):
            return n, teams[n - 1]
        raise SelectionError(f"Tim nomor {n} tidak ada dalam rencana (ada {len(teams)} tim).")
    for n, t in enumerate(teams, start=1):
        if str(t.get("name")) == str(team):
            return n, t
    raise SelectionError(f"Tim {team!r} tidak ada dalam rencana.")


def normalise_day(day) -> str | None:
    """ISO date string for ``day`` (str or date); raises ValueError when it is not a date."""
    if day is None or day == "":
        return None
    if isinstance(day, dt.date):
        return day.isoformat()
    try:
        return dt.date.fromisoformat(str(day).strip()).isoformat()
    except ValueError:
        raise ValueError(f"Tanggal tidak sah: {day!r} (format YYYY-MM-DD).") from None


def select_team_days(plan: dict, team=None, day=None, *, with_empty: bool = False) -> list[TeamDay]:
    """The team-days of ``plan`` (optionally one team and/or one day), in plan order.

    Days without stops are left out unless ``with_empty``. Raises :class:`SelectionError` when
    a requested team or day is not in the plan, ``ValueError`` for a malformed date.
    """
    date = normalise_day(day)
    if team is not None and team != "":
        teams = [find_team(plan, team)]
    else:
        teams = list(enumerate(plan.get("teams") or [], start=1))
    out = []
    for n, t in teams:
        for d in t.get("days") or []:
            if date is not None and str(d.get("date")) != date:
                continue
            if not with_empty and not d.get("stops"):
                continue
            out.append(TeamDay(n, t, d))
    if date is not None and not out and not _date_exists(teams, date):
        raise SelectionError(f"Tanggal {date} tidak ada dalam rencana untuk tim yang dipilih.")
    return out


def _date_exists(teams: Iterable[tuple[int, dict]], date: str) -> bool:
    return any(str(d.get("date")) == date for _n, t in teams for d in t.get("days") or [])


def get_team_day(plan: dict, team, day) -> TeamDay:
    """Exactly one team-day (may have no stops). Raises SelectionError when missing."""
    n, t = find_team(plan, team)
    date = normalise_day(day)
    for d in t.get("days") or []:
        if str(d.get("date")) == date:
            return TeamDay(n, t, d)
    raise SelectionError(f"{t.get('name')} tidak punya jadwal pada {date}.")


# --------------------------------------------------------------------------- tables
def _pooled_text(pooled) -> str:
    return "; ".join(f"{p.get('code', '')} {p.get('name', '')} ({p.get('expected', 0)})".strip()
                     for p in pooled or [])


def plan_rows(plan: dict, team=None, day=None) -> list[dict]:
    """One row per stop, in plan order, with the columns of :data:`ROW_COLUMNS`."""
    rows = []
    for td in select_team_days(plan, team, day):
        for i, s in enumerate(td.stops, start=1):
            rows.append({
                "team_no": td.team_no, "team": td.team.get("name"), "team_mode": td.team.get("mode"),
                "date": td.date, "order": i, "site_code": s.get("site_code"), "name": s.get("name"),
                "kecamatan": s.get("kecamatan"), "kind": s.get("kind", "village"),
                "lat": s.get("lat"), "lon": s.get("lon"), "arrive": s.get("arrive"),
                "depart": s.get("depart"), "expected": s.get("expected"), "leg_mode": s.get("mode"),
                "km_from_prev": s.get("km_from_prev"), "min_from_prev": s.get("min_from_prev"),
                "no_signal": bool(s.get("no_signal")), "pooled": _pooled_text(s.get("pooled")),
                "locked": bool(s.get("locked")),
            })
    return rows


def _safe_cell(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _safe_rows(rows: list[dict]) -> list[dict]:
    return [{k: _safe_cell(v) for k, v in r.items()} for r in rows]


def to_csv(plan: dict, team=None, day=None) -> str:
    """CSV text (comma separated, header row, '.' decimals). Encode as UTF-8 with BOM for Excel."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=ROW_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(_safe_rows(plan_rows(plan, team, day)))
    return buf.getvalue()


def _sheet_title(name: str, used: set[str]) -> str:
    bad = '[]:*?/\\'
    title = "".join("_" if ch in bad else ch for ch in str(name)).strip("' ") or "Tim"
    title = title[:28]
    candidate, k = title, 2
    while candidate.lower() in used:
        candidate = f"{title[:26]}~{k}"
        k += 1
    used.add(candidate.lower())
    return candidate


def to_xlsx(plan: dict, team=None, day=None) -> bytes:
    """An XLSX workbook: sheet "Semua" (every stop, with team and date columns) and a sheet
    per team."""
    import pandas as pd

    rows = _safe_rows(plan_rows(plan, team, day))
    frame = pd.DataFrame(rows, columns=ROW_COLUMNS)
    buf = io.BytesIO()
    used = {"semua"}
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        frame.to_excel(xw, sheet_name="Semua", index=False)
        for team_no in sorted(frame["team_no"].unique()) if len(frame) else []:
            part = frame[frame["team_no"] == team_no]
            title = _sheet_title(str(part["team"].iloc[0]), used)
            part.to_excel(xw, sheet_name=title, index=False)
    return buf.getvalue()


# --------------------------------------------------------------------------- GPS formats
def _local_time(date: str, hhmm: str | None) -> dt.datetime | None:
    if not hhmm:
        return None
    try:
        h, m = (int(x) for x in str(hhmm).split(":")[:2])
        return dt.datetime.combine(dt.date.fromisoformat(date), dt.time(h % 24, m), LOCAL_TZ)
    except ValueError:
        return None


def _stop_desc(td: TeamDay, s: dict) -> str:
    parts = [f"{td.team.get('name')} · {td.date}",
             f"{s.get('arrive', '')}–{s.get('depart', '')}",
             f"{s.get('expected', 0)} orang"]
    if s.get("kecamatan"):
        parts.insert(1, f"Kec. {s['kecamatan']}")
    if s.get("no_signal"):
        parts.append("tanpa sinyal")
    if s.get("pooled"):
        parts.append("juga melayani: " + _pooled_text(s["pooled"]))
    return " · ".join(parts)


def to_gpx(plan: dict, team=None, day=None) -> str:
    """GPX 1.1: a waypoint per stop (name "<order>. <village>", desc, arrival time), the team
    bases and overnight villages as waypoints, and a route per team-day (start, stops, end)."""
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "Jemput Bola Planner"
    gpx.name = f"Rencana {plan.get('plan_id', '')} v{plan.get('version', '')}".strip()
    seen_extra: set[tuple] = set()

    def extra_point(p: dict, kind: str, label: str):
        key = (round(float(p["lat"]), 6), round(float(p["lon"]), 6), kind)
        if key in seen_extra:
            return
        seen_extra.add(key)
        w = gpxpy.gpx.GPXWaypoint(float(p["lat"]), float(p["lon"]), name=label)
        w.type = kind
        w.symbol = "Lodging" if kind == "sleep" else "Flag, Blue"
        gpx.waypoints.append(w)

    for td in select_team_days(plan, team, day):
        base = td.team.get("base") or plan.get("base")
        if base:
            extra_point(base, "base", f"Base: {base.get('name', '')}")
        for end in (td.day["start"], td.day["end"]):
            if end.get("code"):
                extra_point(end, "sleep", f"Menginap: {end.get('name', '')}")
        route = gpxpy.gpx.GPXRoute(name=f"{td.team.get('name')} {td.date}",
                                   description=f"{len(td.stops)} lokasi")
        for p in td.points():
            if p["role"] == "stop":
                name = f"{p['order']}. {p.get('name', '')}"
                t = _local_time(td.date, p.get("arrive"))
                w = gpxpy.gpx.GPXWaypoint(float(p["lat"]), float(p["lon"]), name=name,
                                          description=_stop_desc(td, p), time=t)
                w.type = p.get("kind", "village")
                gpx.waypoints.append(w)
                route.points.append(gpxpy.gpx.GPXRoutePoint(
                    float(p["lat"]), float(p["lon"]), name=name, time=t))
            else:
                label = ("Mulai: " if p["role"] == "start" else "Akhir: ") + str(p.get("name", ""))
                route.points.append(gpxpy.gpx.GPXRoutePoint(float(p["lat"]), float(p["lon"]),
                                                            name=label))
        gpx.routes.append(route)
    return gpx.to_xml(version="1.1")


def _kml_el(parent, tag: str, text=None, **attrs):
    el = ET.SubElement(parent, f"{{{KML_NS}}}{tag}", attrs)
    if text is not None:
        el.text = str(text)
    return el


def _coord(p: dict) -> str:
    return f"{float(p['lon']):.6f},{float(p['lat']):.6f},0"


def to_kml(plan: dict, team=None, day=None) -> str:
    """KML 2.2 (written with ElementTree, so every name is escaped): a folder per team-day with a
    placemark per stop, the start and end, and the route as a line."""
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = _kml_el(root, "Document")
    _kml_el(doc, "name", f"Rencana {plan.get('plan_id', '')} v{plan.get('version', '')}")
    for sid, color in (("stop", "ff1f4fd6"), ("end", "ff2f8f2f"), ("route", "ffd6471f")):
        style = _kml_el(doc, "Style", id=sid)
        if sid == "route":
            ls = _kml_el(style, "LineStyle")
            _kml_el(ls, "color", color)
            _kml_el(ls, "width", 3)
        else:
            ic = _kml_el(style, "IconStyle")
            _kml_el(ic, "color", color)
    for td in select_team_days(plan, team, day):
        folder = _kml_el(doc, "Folder")
        _kml_el(folder, "name", f"{td.team.get('name')} — {td.date}")
        for p in td.points():
            pm = _kml_el(folder, "Placemark")
            if p["role"] == "stop":
                _kml_el(pm, "name", f"{p['order']}. {p.get('name', '')}")
                _kml_el(pm, "description", _stop_desc(td, p))
                _kml_el(pm, "styleUrl", "#stop")
            else:
                label = "Mulai" if p["role"] == "start" else "Akhir"
                _kml_el(pm, "name", f"{label}: {p.get('name', '')}")
                _kml_el(pm, "styleUrl", "#end")
            pt = _kml_el(pm, "Point")
            _kml_el(pt, "coordinates", _coord(p))
        line_pm = _kml_el(folder, "Placemark")
        _kml_el(line_pm, "name", f"Rute {td.team.get('name')} {td.date}")
        _kml_el(line_pm, "styleUrl", "#route")
        ls = _kml_el(line_pm, "LineString")
        _kml_el(ls, "tessellate", 1)
        _kml_el(ls, "coordinates", " ".join(_coord(p) for p in td.points()))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def to_geojson(plan: dict, team=None, day=None) -> dict:
    """A FeatureCollection for QGIS (EPSG:4326). Points: ``role`` start/stop/end with team,
    date, order, arrive, depart, expected...; lines: ``role`` leg with ``leg`` (1 = first leg of
    the day), ``to_order`` (the stop it leads to; null for the last leg to the end point), mode,
    km, minutes."""
    feats = []
    for td in select_team_days(plan, team, day):
        pts = td.points()
        common = {"team_no": td.team_no, "team": td.team.get("name"), "date": td.date}
        for p in pts:
            props = dict(common, role=p["role"], name=p.get("name"))
            if p["role"] == "stop":
                props.update(order=p["order"], site_code=p.get("site_code"),
                             kecamatan=p.get("kecamatan"), kind=p.get("kind", "village"),
                             arrive=p.get("arrive"), depart=p.get("depart"),
                             expected=p.get("expected"), no_signal=bool(p.get("no_signal")),
                             pooled=[dict(x) for x in p.get("pooled") or []])
            else:
                props.update(code=p.get("code"))
            feats.append({"type": "Feature", "properties": props, "geometry": {
                "type": "Point", "coordinates": [float(p["lon"]), float(p["lat"])]}})
        for i in range(1, len(pts)):
            a, b = pts[i - 1], pts[i]
            if b["role"] == "stop":
                leg = {"leg": i, "to_order": b["order"], "mode": b.get("mode"),
                       "km": b.get("km_from_prev"), "minutes": b.get("min_from_prev")}
            else:
                leg = {"leg": i, "to_order": None, "mode": td.day.get("mode_to_end"),
                       "km": td.day.get("km_to_end"), "minutes": td.day.get("min_to_end")}
            feats.append({"type": "Feature", "properties": dict(common, role="leg", **leg),
                          "geometry": {"type": "LineString", "coordinates": [
                              [float(a["lon"]), float(a["lat"])], [float(b["lon"]), float(b["lat"])]]}})
    return {"type": "FeatureCollection", "features": feats}


def to_geojson_text(plan: dict, team=None, day=None) -> str:
    return json.dumps(to_geojson(plan, team, day), ensure_ascii=False)


# --------------------------------------------------------------------------- Google Maps
def _latlon(p: dict) -> str:
    return f"{float(p['lat']):.6f},{float(p['lon']):.6f}"


def google_maps_links(plan: dict, team, day, *, travelmode: str = "driving") -> list[str]:
    """Google Maps directions links for one team-day: start → stops → end, in order.

    One link takes an origin, a destination and at most :data:`GOOGLE_MAX_WAYPOINTS` waypoints
    (11 points); longer days are split into links that chain (the next link starts where the
    previous one ended). Only coordinates are in the links. A day without stops gives [].
    """
    td = get_team_day(plan, team, day)
    if not td.stops:
        return []
    pts = td.points()
    per_link = GOOGLE_MAX_WAYPOINTS + 1  # points advanced per link (its origin + waypoints)
    links = []
    i = 0
    while i < len(pts) - 1:
        chunk = pts[i:i + per_link + 1]
        params = {"api": "1", "origin": _latlon(chunk[0]), "destination": _latlon(chunk[-1]),
                  "travelmode": travelmode}
        if len(chunk) > 2:
            params["waypoints"] = "|".join(_latlon(p) for p in chunk[1:-1])
        links.append(GOOGLE_DIR_URL + "?" + urlencode(params, quote_via=quote, safe=","))
        i += per_link
    return links


def google_links_text(plan: dict, team=None, day=None) -> str:
    """Every team-day's Google Maps links as plain text (for pasting into WhatsApp)."""
    lines = []
    for td in select_team_days(plan, team, day):
        links = google_maps_links(plan, td.team_no, td.date)
        lines.append(f"{td.team.get('name')} — {td.date}")
        for i, link in enumerate(links, start=1):
            prefix = f"({i}/{len(links)}) " if len(links) > 1 else ""
            lines.append(prefix + link)
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- dispatch
#: format -> (function returning str or bytes, mimetype, file extension)
FORMATS = {
    "csv": (lambda p, t, d: ("\ufeff" + to_csv(p, t, d)).encode("utf-8"), "text/csv", "csv"),
    "xlsx": (to_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "gpx": (lambda p, t, d: to_gpx(p, t, d).encode("utf-8"), "application/gpx+xml", "gpx"),
    "kml": (lambda p, t, d: to_kml(p, t, d).encode("utf-8"),
            "application/vnd.google-earth.kml+xml", "kml"),
    "geojson": (lambda p, t, d: to_geojson_text(p, t, d).encode("utf-8"),
                "application/geo+json", "geojson"),
}


def export_bytes(plan: dict, fmt: str, team=None, day=None) -> tuple[bytes, str]:
    """(file content, mimetype) for ``fmt`` in :data:`FORMATS`."""
    if fmt not in FORMATS:
        raise ValueError(f"Format ekspor tidak dikenal: {fmt!r} (pilih: {', '.join(FORMATS)}).")
    fn, mimetype, _ext = FORMATS[fmt]
    return fn(plan, team, day), mimetype
