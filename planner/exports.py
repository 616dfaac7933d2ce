"""Exports of a plan for spreadsheets, phones and GIS: CSV/XLSX, GPX, KML, GeoJSON and Google
Maps directions links.

Every function takes a Plan JSON dict (``jemput-bola-plan/1``, walked with ``planner.plan_json``)
and optionally narrows it to one team and/or one day:

* ``team``: the team's 1-based number (``1`` or ``"1"`` = the first team in ``plan["teams"]``)
  or its exact name;
* ``day``: an ISO date (``"2026-12-01"`` or a ``datetime.date``).

Untrusted text (village names come from imported files) is never interpreted: XML writers
(gpxpy, ElementTree) escape it, and spreadsheet cells that would start a formula (``= + - @``)
get a leading apostrophe so Excel/LibreOffice show them as text (:func:`safe_cell`).

Language: what people read on a phone — GPX/KML names and descriptions — goes through the
``gettext`` callable the caller passes (default: identity, i.e. the Indonesian msgids; the web
passes Flask-Babel's ``gettext``, the CLI ``planner.sheets.translations_for(lang)``), and its
numbers through :mod:`planner.fmt` for ``locale`` ("id" default, "en"). CSV, XLSX and GeoJSON
are data for spreadsheets and GIS: they keep raw machine values (``1234``, ``58.2``, ISO dates,
no thousands separators, "." decimals) and untranslated column names in every language. Dates
in GPX/KML names stay ISO (``2026-12-01``) so they sort on a phone.

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
from collections.abc import Callable
from urllib.parse import quote, urlencode

import gpxpy
import gpxpy.gpx

from . import fmt, plan_json
from .plan_json import TeamDay, get_team_day
from .plan_json import team_days as select_team_days

#: Google Maps "Maps URLs" directions accept at most this many waypoints per link.
GOOGLE_MAX_WAYPOINTS = 9
GOOGLE_DIR_URL = "https://www.google.com/maps/dir/"
#: Times in the plan are local time in Kotawaringin Timur (WIB, UTC+7).
LOCAL_TZ = dt.timezone(dt.timedelta(hours=7), "WIB")
KML_NS = "http://www.opengis.net/kml/2.2"
DEFAULT_LOCALE = fmt.DEFAULT_LOCALE

ROW_COLUMNS = [
    "team_no", "team", "team_mode", "date", "order", "site_code", "name", "kecamatan", "kind",
    "lat", "lon", "arrive", "depart", "expected", "leg_mode", "km_from_prev", "min_from_prev",
    "no_signal", "pooled", "locked",
]


Gettext = Callable[[str], str]


def identity(message: str) -> str:
    """The default gettext: the Indonesian msgid itself."""
    return message


def translator(gettext: Gettext) -> Callable[..., str]:
    """``_(msgid, **variables)``: ``gettext(msgid) % variables`` (plain ``gettext`` callables,
    e.g. Babel's ``Translations.gettext``, take no variables)."""
    def _(message: str, **variables) -> str:
        text = gettext(message)
        return text % variables if variables else text

    return _


# --------------------------------------------------------------------------- tables
def _pooled_text(pooled) -> str:
    """The ``pooled`` cell of CSV/XLSX: raw numbers (data, not prose)."""
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


def safe_cell(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _safe_rows(rows: list[dict]) -> list[dict]:
    return [{k: safe_cell(v) for k, v in r.items()} for r in rows]


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


def _pooled_prose(pooled, locale: str) -> str:
    """Pooled villages for people to read: "Tanjung Beta (35)", numbers for ``locale``."""
    return ", ".join(f"{p.get('name', '')} ({fmt.integer(p.get('expected', 0), locale)})"
                     for p in pooled or [])


def _stop_desc(td: TeamDay, s: dict, _, locale: str) -> str:
    parts = [f"{td.team.get('name')} · {td.date}",
             f"{s.get('arrive', '')}–{s.get('depart', '')}",
             f"{fmt.integer(s.get('expected') or 0, locale)} {_('orang')}"]
    if s.get("kecamatan"):
        parts.insert(1, f"{_('Kec.')} {s['kecamatan']}")
    if s.get("no_signal"):
        parts.append(_("tanpa sinyal"))
    if s.get("pooled"):
        parts.append(f"{_('juga melayani:')} {_pooled_prose(s['pooled'], locale)}")
    return " · ".join(parts)


def _end_label(p: dict, _) -> str:
    """"Mulai: <name>" for the day's start point, "Akhir: <name>" for its end point."""
    name = str(p.get("name", ""))
    return _("Mulai: %(name)s", name=name) if p["role"] == "start" else _("Akhir: %(name)s", name=name)


def _plan_title(plan: dict, _) -> str:
    return f"{_('Rencana %(id)s', id=plan.get('plan_id', ''))} v{plan.get('version', '')}".strip()


def to_gpx(plan: dict, team=None, day=None, *, gettext: Gettext = identity,
           locale: str = DEFAULT_LOCALE) -> str:
    """GPX 1.1: a waypoint per stop (name "<order>. <village>", desc, arrival time), the team
    bases and overnight villages as waypoints, a route per team-day (start, stops, end), and,
    when the plan carries the legs' paths, the way as travelled: a track on the roads (type
    ``road``) and one on the rivers (type ``river``) per team-day, a segment per part of a leg.
    Names and descriptions in the language of ``gettext``/``locale`` (module docstring)."""
    _ = translator(gettext)
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "Jemput Bola Planner"
    gpx.name = _plan_title(plan, _)
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
            extra_point(base, "base", _("Basis tim: %(name)s", name=base.get("name", "")))
        for end in (td.day["start"], td.day["end"]):
            if end.get("code"):
                extra_point(end, "sleep", _("Menginap: %(name)s", name=end.get("name", "")))
        route = gpxpy.gpx.GPXRoute(name=f"{td.team.get('name')} {td.date}",
                                   description=_("Lokasi: %(n)s",
                                                 n=fmt.integer(len(td.stops), locale)))
        for p in td.points():
            if p["role"] == "stop":
                name = f"{p['order']}. {p.get('name', '')}"
                t = _local_time(td.date, p.get("arrive"))
                w = gpxpy.gpx.GPXWaypoint(float(p["lat"]), float(p["lon"]), name=name,
                                          description=_stop_desc(td, p, _, locale), time=t)
                w.type = p.get("kind", "village")
                gpx.waypoints.append(w)
                route.points.append(gpxpy.gpx.GPXRoutePoint(
                    float(p["lat"]), float(p["lon"]), name=name, time=t))
            else:
                route.points.append(gpxpy.gpx.GPXRoutePoint(float(p["lat"]), float(p["lon"]),
                                                            name=_end_label(p, _)))
        gpx.routes.append(route)
        # the way as travelled (when the plan carries the legs' paths): a track on the roads
        # and one on the rivers, a segment per part of a leg
        legs = plan_json.point_legs(td)
        if any(leg.path for leg in legs):
            tracks = {}
            for leg in legs:
                for mode, coords in plan_json.leg_parts(leg):
                    kind = "river" if mode == "river" else "road"
                    if kind not in tracks:
                        tracks[kind] = gpxpy.gpx.GPXTrack(
                            name=f"{td.team.get('name')} {td.date} · "
                                 + (_("jalur sungai") if kind == "river" else _("jalur darat")))
                        tracks[kind].type = kind
                    seg = gpxpy.gpx.GPXTrackSegment()
                    seg.points = [gpxpy.gpx.GPXTrackPoint(la, lo) for la, lo in coords]
                    tracks[kind].segments.append(seg)
            gpx.tracks.extend(tracks[k] for k in ("road", "river") if k in tracks)
    return gpx.to_xml(version="1.1")


def _kml_el(parent, tag: str, text=None, **attrs):
    el = ET.SubElement(parent, f"{{{KML_NS}}}{tag}", attrs)
    if text is not None:
        el.text = str(text)
    return el


def _coord(p: dict) -> str:
    return f"{float(p['lon']):.6f},{float(p['lat']):.6f},0"


def to_kml(plan: dict, team=None, day=None, *, gettext: Gettext = identity,
           locale: str = DEFAULT_LOCALE) -> str:
    """KML 2.2 (written with ElementTree, so every name is escaped): a folder per team-day with a
    placemark per stop, the start and end, and the route as a line (as travelled along the
    roads and rivers when the plan carries the legs' paths, straight otherwise; the river
    parts once more in a blue placemark of their own). Names and descriptions in
    the language of ``gettext``/``locale`` (module docstring)."""
    _ = translator(gettext)
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = _kml_el(root, "Document")
    _kml_el(doc, "name", _plan_title(plan, _))
    for sid, color in (("stop", "ff1f4fd6"), ("end", "ff2f8f2f"), ("route", "ffd6471f"),
                       ("river", "ffbe7700")):
        style = _kml_el(doc, "Style", id=sid)
        if sid in ("route", "river"):
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
                _kml_el(pm, "description", _stop_desc(td, p, _, locale))
                _kml_el(pm, "styleUrl", "#stop")
            else:
                _kml_el(pm, "name", _end_label(p, _))
                _kml_el(pm, "styleUrl", "#end")
            pt = _kml_el(pm, "Point")
            _kml_el(pt, "coordinates", _coord(p))
        line_pm = _kml_el(folder, "Placemark")
        _kml_el(line_pm, "name", _("Rute %(team)s %(date)s", team=td.team.get("name"), date=td.date))
        _kml_el(line_pm, "styleUrl", "#route")
        ls = _kml_el(line_pm, "LineString")
        _kml_el(ls, "tessellate", 1)
        legs = plan_json.point_legs(td)
        way = [(float(td.points()[0]["lat"]), float(td.points()[0]["lon"]))]
        for leg in legs:
            way += plan_json.leg_points(leg)[1:]
        _kml_el(ls, "coordinates", " ".join(f"{lo:.6f},{la:.6f},0" for la, lo in way))
        river = [c for leg in legs if leg.path for m, c in plan_json.leg_parts(leg) if m == "river"]
        if river:  # the river parts once more, as water
            river_pm = _kml_el(folder, "Placemark")
            _kml_el(river_pm, "name", _("Rute sungai %(team)s %(date)s", team=td.team.get("name"),
                                        date=td.date))
            _kml_el(river_pm, "styleUrl", "#river")
            multi = _kml_el(river_pm, "MultiGeometry")
            for coords in river:
                rl = _kml_el(multi, "LineString")
                _kml_el(rl, "coordinates", " ".join(f"{lo:.6f},{la:.6f},0" for la, lo in coords))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def to_geojson(plan: dict, team=None, day=None) -> dict:
    """A FeatureCollection for QGIS (EPSG:4326). Points: ``role`` start/stop/end with team,
    date, order, arrive, depart, expected...; lines: ``role`` leg with ``leg`` (1 = first leg of
    the day), ``to_order`` (the stop it leads to; null for the last leg to the end point), mode,
    km, minutes, ``path`` (``network``: the line follows the roads and rivers; ``fallback``:
    the network could not give the leg, straight line; ``straight``: the plan has no paths)."""
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
        for i, way in enumerate(plan_json.point_legs(td), start=1):
            b = pts[i]
            path = way.path
            leg = {"leg": i, "to_order": b["order"] if b["role"] == "stop" else None,
                   "mode": way.mode, "km": way.km, "minutes": way.minutes,
                   "path": ("straight" if not path else
                            "fallback" if path.get("fallback") else "network")}
            feats.append({"type": "Feature", "properties": dict(common, role="leg", **leg),
                          "geometry": {"type": "LineString", "coordinates": [
                              [lo, la] for la, lo in plan_json.leg_points(way)]}})
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
def _csv_bytes(plan, team, day, **_kw) -> bytes:
    return ("\ufeff" + to_csv(plan, team, day)).encode("utf-8")


def _xlsx_bytes(plan, team, day, **_kw) -> bytes:
    return to_xlsx(plan, team, day)


def _gpx_bytes(plan, team, day, **kw) -> bytes:
    return to_gpx(plan, team, day, **kw).encode("utf-8")


def _kml_bytes(plan, team, day, **kw) -> bytes:
    return to_kml(plan, team, day, **kw).encode("utf-8")


def _geojson_bytes(plan, team, day, **_kw) -> bytes:
    return to_geojson_text(plan, team, day).encode("utf-8")


#: format -> (function(plan, team, day, gettext=, locale=) returning bytes, mimetype, extension).
#: CSV, XLSX and GeoJSON ignore the language (raw data); GPX and KML use it.
FORMATS = {
    "csv": (_csv_bytes, "text/csv", "csv"),
    "xlsx": (_xlsx_bytes, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "gpx": (_gpx_bytes, "application/gpx+xml", "gpx"),
    "kml": (_kml_bytes, "application/vnd.google-earth.kml+xml", "kml"),
    "geojson": (_geojson_bytes, "application/geo+json", "geojson"),
}


def export_bytes(plan: dict, fmt: str, team=None, day=None, *, gettext: Gettext = identity,
                 locale: str = DEFAULT_LOCALE) -> tuple[bytes, str]:
    """(file content, mimetype) for ``fmt`` in :data:`FORMATS`; GPX/KML text in the language
    of ``gettext``/``locale``."""
    if fmt not in FORMATS:
        raise ValueError(f"Format ekspor tidak dikenal: {fmt!r} (pilih: {', '.join(FORMATS)}).")
    fn, mimetype, _ext = FORMATS[fmt]
    return fn(plan, team, day, gettext=gettext, locale=locale), mimetype
