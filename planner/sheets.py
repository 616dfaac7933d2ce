"""Day sheets: one A4 page per team per day, as HTML (print view) and PDF (WeasyPrint).

A sheet says everything a team needs where there is no signal: the plan and version, team,
date, vehicle, kits, base, where the day starts and ends (the base or the village where the
team sleeps), a route sketch drawn without map tiles (inline SVG), the stops with empty columns
to write the recorded count and remarks by hand, totals, a QR code and short link to the
team-lead page online, and signature lines.

Rendering is plain Jinja2 (no Flask) over ``planner/templates/sheets/`` with autoescape on; all
text goes through the ``gettext`` callable the caller passes (the web passes
``flask_babel.gettext``; the CLI passes :func:`translations_for` of the chosen locale), and every
number, date and duration is formatted by :mod:`planner.fmt` for ``locale`` in
:func:`sheet_model` (the day sheet here and the Flask team-lead page print its text as is:
``1.234`` / ``58,2 km`` / ``1 jam 29 mnt`` in Indonesian, ``1,234`` / ``58.2 km`` /
``1 h 29 min`` in English). Village names are untrusted and printed literally: Jinja escapes
them in HTML and :func:`route_sketch_svg` escapes them in the SVG.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import subprocess
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup

from . import fmt, plan_json
from .exports import google_maps_links, identity, translator
from .paths import PACKAGE_DIR
from .plan_json import TeamDay

SHEETS_TEMPLATES = PACKAGE_DIR / "templates" / "sheets"
Gettext = Callable[[str], str]


# --------------------------------------------------------------------------- i18n helpers
def translations_for(locale: str) -> Gettext:
    """The gettext of the compiled catalogue for ``locale`` (planner/translations); identity
    (Indonesian msgids) when the locale is Indonesian or no catalogue is compiled yet."""
    from babel.support import Translations

    if not locale or locale.startswith("id"):
        return identity
    t = Translations.load(dirname=str(PACKAGE_DIR / "translations"), locales=[locale])
    return t.gettext


_translator = translator


def _minutes(hhmm: str | None) -> int | None:
    try:
        h, m = (int(x) for x in str(hhmm).split(":")[:2])
        return h * 60 + m
    except (TypeError, ValueError):
        return None


def _hhmm(minutes: int | None) -> str:
    if minutes is None:
        return ""
    minutes = int(minutes) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def teamlead_url(base_url: str, plan_id, version, team_no: int, date: str) -> str:
    """The short link printed on a sheet: ``{base}/t/<plan_id>/<version>/<team_no>/<date>``."""
    return f"{str(base_url).rstrip('/')}/t/{plan_id}/{version}/{team_no}/{date}"


# --------------------------------------------------------------------------- route sketch
def _esc(text) -> str:
    return html.escape(str(text if text is not None else ""), quote=True)


def _kind_column(frame) -> str | None:
    for col in ("kind", "type", "class", "waterway", "highway", "fclass"):
        if col in frame.columns:
            return col
    return None


def load_context(path) -> object | None:
    """Rivers/roads for sketches from a GeoJSON (or any file geopandas reads); None if absent."""
    if path is None:
        return None
    p = Path(path)
    if not p.exists():
        return None
    import geopandas as gpd

    frame = gpd.read_file(p)
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    return frame


def _is_river(value) -> bool:
    v = str(value or "").lower()
    return any(k in v for k in ("river", "sungai", "water", "canal", "stream", "kanal"))


class _Projection:
    """Equirectangular with cos(lat) scaling, fitted into a width × height box (y down)."""

    def __init__(self, bounds, width: float, height: float, pad: float = 0.08,
                 min_extent_deg: float = 0.02):
        minx, miny, maxx, maxy = bounds
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        self.k = math.cos(math.radians(cy))
        w = max((maxx - minx) * self.k, min_extent_deg) * (1 + 2 * pad)
        h = max(maxy - miny, min_extent_deg) * (1 + 2 * pad)
        if w / h < width / height:
            w = h * width / height
        else:
            h = w * height / width
        self.minx, self.maxy = cx - w / 2 / self.k, cy + h / 2
        self.maxx, self.miny = cx + w / 2 / self.k, cy - h / 2
        self.scale = width / w

    @property
    def bounds(self):
        return self.minx, self.miny, self.maxx, self.maxy

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.minx) * self.k * self.scale, (self.maxy - lat) * self.scale


def _ring_path(coords, proj: _Projection, close: bool) -> str:
    pts = [proj.xy(x, y) for x, y, *_ in coords]
    if len(pts) < 2:
        return ""
    d = "M" + " L".join(f"{x:.1f} {y:.1f}" for x, y in pts)
    return d + (" Z" if close else "")


def _geom_path(geom, proj: _Projection) -> str:
    gt = geom.geom_type
    if gt == "Polygon":
        return " ".join(_ring_path(r.coords, proj, True) for r in (geom.exterior, *geom.interiors))
    if gt == "LineString":
        return _ring_path(geom.coords, proj, False)
    if gt in ("MultiPolygon", "MultiLineString", "GeometryCollection"):
        return " ".join(_geom_path(g, proj) for g in geom.geoms)
    return ""


def _clip(frame, proj: _Projection):
    """(row, clipped simplified geometry) for rows of ``frame`` that meet the view."""
    from shapely import box, clip_by_rect

    view = box(*proj.bounds)
    try:
        idx = frame.sindex.query(view, predicate="intersects")
        sub = frame.iloc[sorted(idx)]
    except Exception:  # noqa: BLE001 - no spatial index support: filter the slow way
        sub = frame[frame.intersects(view)]
    tol = (proj.maxx - proj.minx) / 500
    for row in sub.itertuples():
        g = row.geometry
        if g is None or g.is_empty or g.geom_type in ("Point", "MultiPoint"):
            continue
        g = clip_by_rect(g, *proj.bounds)
        if g.is_empty:
            continue
        yield row, g.simplify(tol, preserve_topology=False)


def route_sketch_svg(td: TeamDay, villages=None, context=None, *, gettext: Gettext = identity,
                     locale: str = fmt.DEFAULT_LOCALE, width: int = 1000, height: int = 480) -> str:
    """An inline SVG sketch of one team-day: outlines of the villages on the route (filled)
    and their neighbours, rivers/roads from ``context``, the legs numbered and drawn as
    travelled when the plan carries their paths (road solid, river dashed; else straight), stops numbered as in the table, start and end marked (the letters of
    :func:`sketch_letters`), a north arrow and a scale bar (km for ``locale``). Names are not
    drawn (the numbers refer to the table, so each name prints once); all text is escaped.
    """
    _ = _translator(gettext)
    letters = sketch_letters(gettext)
    pts = td.points()
    legs = plan_json.point_legs(td)
    lons = [float(p["lon"]) for p in pts] + [c[1] for leg in legs for c in plan_json.leg_points(leg)]
    lats = [float(p["lat"]) for p in pts] + [c[0] for leg in legs for c in plan_json.leg_points(leg)]
    bounds = [min(lons), min(lats), max(lons), max(lats)]
    route_codes = {str(s.get("site_code")) for s in td.stops}
    route_codes |= {str(p.get("code")) for s in td.stops for p in s.get("pooled") or []}
    route_codes |= {str(p.get("code")) for p in (td.day["start"], td.day["end"]) if p.get("code")}
    have_villages = villages is not None and len(villages) > 0 and "geometry" in villages.columns
    if have_villages:
        on_route = villages[villages["code"].astype(str).isin(route_codes)]
        on_route = on_route[on_route.geometry.notna() & ~on_route.geometry.is_empty]
        if len(on_route):
            vb = on_route.total_bounds
            bounds = [min(bounds[0], vb[0]), min(bounds[1], vb[1]),
                      max(bounds[2], vb[2]), max(bounds[3], vb[3])]
    proj = _Projection(bounds, width, height)
    aria = _esc(_("Sketsa rute"))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'class="sketch" role="img" aria-label="{aria}" '
           f'font-family="DejaVu Sans, sans-serif">',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff" stroke="#888"/>']
    # One <path> per style (not one per feature): far fewer SVG elements for WeasyPrint.
    layers: dict[str, list[str]] = {
        k: [] for k in ("near", "route", "water", "boundary", "river", "road")}
    if have_villages:
        for row, g in _clip(villages, proj):
            d = _geom_path(g, proj)
            if d:
                layers["route" if str(row.code) in route_codes else "near"].append(d)
    if context is not None and len(context) > 0:
        col = _kind_column(context)
        for row, g in _clip(context, proj):
            river = _is_river(getattr(row, col)) if col else False
            d = _geom_path(g, proj)
            if not d:
                continue
            if g.geom_type in ("Polygon", "MultiPolygon"):
                layers["water" if river else "boundary"].append(d)
            else:
                layers["river" if river else "road"].append(d)
    styles = {
        "near": 'fill="none" stroke="#b9bec6" stroke-width="0.8"',
        "route": 'fill="#fff2c2" stroke="#8a6d00" stroke-width="1.6"',
        "water": 'fill="#cfe3f7" stroke="#5b8fc7" stroke-width="0.8"',
        "boundary": 'fill="none" stroke="#6b7280" stroke-width="1.4" stroke-dasharray="6 4"',
        "river": 'fill="none" stroke="#5b8fc7" stroke-width="2.4"',
        "road": 'fill="none" stroke="#a0785a" stroke-width="1.2"',
    }
    for key in ("route", "near", "water", "boundary", "river", "road"):
        if layers[key]:
            out.append(f'<path d="{" ".join(layers[key])}" {styles[key]}/>')
    xy = [proj.xy(float(p["lon"]), float(p["lat"])) for p in pts]
    # legs, as travelled when the plan carries their paths (road solid, river dashed, the
    # change at a pier and the walk to the network thin), else straight
    for i, leg in enumerate(legs, start=1):
        parts = plan_json.leg_parts(leg)
        mode = leg.mode
        color = "#1f5fa8" if mode == "river" else "#b3261e"
        for part_mode, coords in parts:
            c = "#1f5fa8" if part_mode == "river" else ("#555555" if part_mode in ("pier", "access")
                                                        else "#b3261e")
            dash = {"river": ' stroke-dasharray="9 5"', "pier": ' stroke-dasharray="2 4"',
                    "access": ' stroke-dasharray="2 4"'}.get(part_mode, "")
            w = "1.6" if part_mode in ("pier", "access") else "3"
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in (proj.xy(lo, la) for la, lo in coords))
            out.append(f'<polyline points="{d}" fill="none" stroke="{c}" stroke-width="{w}" '
                       f'stroke-linejoin="round"{dash}/>')
        way = plan_json.leg_points(leg)
        mx, my = proj.xy(way[len(way) // 2][1], way[len(way) // 2][0]) if len(way) > 2 else (
            (xy[i - 1][0] + xy[i][0]) / 2, (xy[i - 1][1] + xy[i][1]) / 2)
        out.append(f'<rect x="{mx - 11:.1f}" y="{my - 9:.1f}" width="22" height="18" rx="3" '
                   f'fill="#ffffff" stroke="{color}" stroke-width="1"/>'
                   f'<text x="{mx:.1f}" y="{my + 5:.1f}" font-size="13" text-anchor="middle" '
                   f'fill="{color}">{i}</text>')
    # start / end
    same = abs(xy[0][0] - xy[-1][0]) < 1 and abs(xy[0][1] - xy[-1][1]) < 1
    marks = [(xy[0], letters["start"], pts[0])] + ([] if same else [(xy[-1], letters["end"], pts[-1])])
    stop_xy = xy[1:-1]
    for (x, y), letter, _p in marks:
        label = letter if not same else f"{letters['start']}/{letters['end']}"
        w = max(20, 10 * len(label) + 4)
        if any(abs(x - sx) < 18 and abs(y - sy) < 18 for sx, sy in stop_xy):
            out.append(f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x - 26:.1f}" y2="{y - 26:.1f}" '
                       f'stroke="#1b5e20" stroke-width="1.5"/>')
            x, y = x - 26, y - 26  # the team starts/ends at a stop: keep both visible
        out.append(f'<rect x="{x - w / 2:.1f}" y="{y - 10:.1f}" width="{w}" height="20" '
                   f'fill="#1b5e20" stroke="#fff" stroke-width="1.5"/>'
                   f'<text x="{x:.1f}" y="{y + 5:.1f}" font-size="13" font-weight="bold" '
                   f'text-anchor="middle" fill="#fff">{_esc(label)}</text>')
    # stops
    for i in range(1, len(pts) - 1):
        x, y = xy[i]
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="13" fill="#12355b" stroke="#fff" '
                   f'stroke-width="2"/><text x="{x:.1f}" y="{y + 5:.1f}" font-size="14" '
                   f'font-weight="bold" text-anchor="middle" fill="#fff">{i}</text>')
    # scale bar
    km_per_px = 111.32 / proj.scale
    bar_km = _nice(km_per_px * width / 5)
    bar_px = bar_km / km_per_px
    out.append(f'<line x1="12" y1="{height - 14}" x2="{12 + bar_px:.1f}" y2="{height - 14}" '
               f'stroke="#333" stroke-width="3"/><text x="{16 + bar_px:.1f}" y="{height - 9}" '
               f'font-size="13" fill="#333">{_esc(_fmt_km(bar_km, locale))}</text>')
    out.append(f'<text x="{width - 12}" y="22" font-size="16" text-anchor="end" '
               f'fill="#333">▲ {_esc(letters["north"])}</text>')
    out.append("</svg>")
    return "".join(out)


def _nice(x: float) -> float:
    if x <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * e >= x:
            return m * e
    return 10 * e


def _fmt_km(x: float, locale: str = fmt.DEFAULT_LOCALE) -> str:
    """The scale bar's length: "0,5 km" / "2 km" (id), "0.5 km" (en) — as many decimals as the
    (1-2-5) number needs."""
    digits = max(0, -math.floor(math.log10(x))) if x > 0 else 0
    return fmt.km(x, locale, digits)


def sketch_letters(gettext: Gettext = identity) -> dict[str, str]:
    """The one-letter marks of the sketch and its legend: start (S = start), end (A = akhir)
    and north (U = utara), in the language of ``gettext``."""
    _ = _translator(gettext)
    return {"start": _("S"), "end": _("A"), "north": _("U")}


# --------------------------------------------------------------------------- QR code
def qr_svg(url: str) -> str:
    """The URL as a QR code, inline SVG (scales with CSS: no width/height attributes)."""
    import segno

    return segno.make(url, error="m", micro=False).svg_inline(
        scale=1, border=2, omitsize=True, svgclass="qr", dark="#000", light="#fff")


# --------------------------------------------------------------------------- sheet model
def _leg_text(mode: str | None, km, minutes, _, locale: str) -> str:
    label = {"road": _("Jalan"), "river": _("Sungai")}.get(str(mode), str(mode or ""))
    parts = [label] if label else []
    if km is not None:
        parts.append(fmt.km(km, locale))
    if minutes is not None:
        parts.append(fmt.duration(minutes, locale))
    return " · ".join(parts)


def _kind_label(kind: str, _) -> str:
    return {
        "school": _("Sekolah"), "prison": _("Lapas/Rutan"), "hospital": _("Rumah sakit"),
        "social_home": _("Panti sosial"),
    }.get(str(kind), "")


def _vehicle(mode: str, _) -> str:
    return {"road": _("Mobil (jalan darat)"), "river": _("Perahu (sungai)"),
            "both": _("Mobil dan perahu")}.get(str(mode), str(mode or ""))


def sheet_model(plan: dict, td: TeamDay, *, villages=None, context=None, base_url: str,
                link: Callable[[TeamDay], str] | None = None,
                gettext: Gettext = identity, locale: str = "id", with_sketch: bool = True,
                with_qr: bool = True) -> dict:
    """Everything one sheet shows, as plain text (not escaped here): every number, date and
    duration is already formatted for ``locale`` by :mod:`planner.fmt`, so the day sheet and
    the team-lead page print it as is."""
    _ = _translator(gettext)
    day, team = td.day, td.team
    stops = td.stops
    start, end = day["start"], day["end"]
    base = team.get("base") or plan.get("base") or {}
    params = plan.get("params") or {}
    rows = []
    for i, s in enumerate(stops, start=1):
        notes = []
        kind = _kind_label(s.get("kind", "village"), _)
        if kind:
            notes.append(kind)
        if s.get("no_signal"):
            notes.append(_("Tanpa sinyal: rekam luring, kirim data nanti"))
        if s.get("pooled"):
            served = ", ".join(f"{p.get('name', '')} ({fmt.integer(p.get('expected', 0), locale)})"
                               for p in s["pooled"])
            notes.append(_("Juga melayani: %(list)s", list=served))
        if s.get("locked"):
            notes.append(_("Jadwal tetap"))
        rows.append({
            "order": i, "name": s.get("name", ""), "code": s.get("site_code", ""),
            "kecamatan": s.get("kecamatan", ""), "arrive": s.get("arrive", ""),
            "depart": s.get("depart", ""), "expected": fmt.integer(s.get("expected") or 0, locale),
            "leg": _leg_text(s.get("mode"), s.get("km_from_prev"), s.get("min_from_prev"), _, locale),
            "notes": notes,
        })
    first_arrive = _minutes(stops[0].get("arrive")) if stops else None
    leave = (first_arrive - int(stops[0].get("min_from_prev") or 0)) if first_arrive is not None else _minutes(params.get("work_start"))
    last_depart = _minutes(stops[-1].get("depart")) if stops else None
    back = (last_depart + int(day.get("min_to_end") or 0)) if last_depart is not None else None
    totals = td.totals
    if start.get("code"):
        start_label = _("dari tempat menginap: %(name)s", name=start.get("name", ""))
    else:
        start_label = _("dari %(name)s", name=start.get("name", ""))
    if end.get("code"):
        end_label = _("menginap di %(name)s", name=end.get("name", ""))
    else:
        end_label = _("kembali ke %(name)s", name=end.get("name", ""))
    plan_id = plan.get("plan_id", "")
    version = plan.get("version", "")
    # ``link`` (the web and the CLI pass a signed share link: a phone opens it without an
    # account) or the team-lead page behind the login
    url = link(td) if link is not None else teamlead_url(base_url, plan_id, version, td.team_no,
                                                         td.date)
    date_long = fmt.date_long(td.date, locale)
    return {
        "team_no": td.team_no, "team": team.get("name", ""), "date": td.date,
        "date_long": date_long, "title": f"{team.get('name', '')} — {date_long}",
        "plan_name": plan.get("plan_name") or plan.get("name") or _("Rencana %(id)s", id=plan_id), "plan_id": plan_id,
        "version": version, "dataset": plan.get("dataset", ""),
        "fictional": bool(plan.get("fictional")),
        "vehicle": _vehicle(team.get("mode"), _),
        "kits": fmt.integer(team["kits"], locale) if team.get("kits") is not None else "",
        "base": base.get("name", ""),
        # from the office's roster, when the plan's team came from it (plain text: escaped
        # by the templates; ``phone_tel`` keeps only what a ``tel:`` link may hold)
        "leader": str(team.get("leader") or ""), "phone": str(team.get("phone") or ""),
        "phone_tel": "".join(ch for ch in str(team.get("phone") or "")
                             if ch in "0123456789+"),
        "start_label": start_label, "start_time": _hhmm(leave),
        "end_label": end_label, "end_time": _hhmm(back),
        "rows": rows,
        "to_end": {"name": end.get("name", ""), "sleep": bool(end.get("code")),
                   "leg": _leg_text(day.get("mode_to_end"), day.get("km_to_end"),
                                    day.get("min_to_end"), _, locale),
                   "arrive": _hhmm(back)},
        "totals": {"stops": fmt.integer(len(rows), locale),
                   "people": fmt.integer(totals["people"], locale),
                   "km": fmt.km(totals["km"], locale),
                   "travel": fmt.duration(totals["travel_min"], locale)},
        "url": url,
        "qr": Markup(qr_svg(url)) if with_qr else "",
        "sketch": Markup(route_sketch_svg(td, villages, context, gettext=gettext, locale=locale))
        if with_sketch else "",
        "google_links": google_maps_links(plan, td.team_no, td.date) if stops else [],
    }


# --------------------------------------------------------------------------- rendering
@lru_cache(maxsize=1)
def _env():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(str(SHEETS_TEMPLATES)),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=True),
        trim_blocks=True, lstrip_blocks=True,
    )


def render_daysheets_html(plan: dict, villages=None, *, team=None, day=None, context=None,
                          base_url: str, gettext: Gettext = identity, locale: str = "id",
                          link: Callable[[TeamDay], str] | None = None,
                          screen_links: list[tuple[str, str]] | None = None) -> str:
    """The day sheets of ``plan`` as one HTML document (print CSS: one A4 page per team-day).

    ``team`` (1-based number or name) and ``day`` (ISO date) narrow the bundle; both None =
    every team-day with stops. ``villages`` (GeoDataFrame with code + geometry) gives the
    outlines in the sketch; ``context`` (GeoDataFrame of lines, ``kind``/``type`` river|road)
    the rivers and roads. Raises :class:`planner.exports.SelectionError` / ``ValueError`` for an
    unknown team/day.
    """
    _ = _translator(gettext)
    team_days = plan_json.team_days(plan, team, day)
    sheets = [sheet_model(plan, td, villages=villages, context=context, base_url=base_url, link=link,
                          gettext=gettext, locale=locale) for td in team_days]
    return _env().get_template("daysheet.html").render(
        sheets=sheets, _=_, locale=locale, plan=plan, screen_links=screen_links or [],
        letters=sketch_letters(gettext),
        generated=fmt.datetime_short(dt.datetime.now(), locale),
    )


def render_daysheets_pdf(plan: dict, villages=None, *, team=None, day=None, context=None,
                         base_url: str, gettext: Gettext = identity, locale: str = "id",
                         link: Callable[[TeamDay], str] | None = None) -> bytes:
    """The same sheets as one PDF (WeasyPrint); see :func:`render_daysheets_html`."""
    from weasyprint import HTML

    doc = render_daysheets_html(plan, villages, team=team, day=day, context=context,
                                base_url=base_url, gettext=gettext, locale=locale, link=link)
    return HTML(string=doc, base_url=str(SHEETS_TEMPLATES)).write_pdf()


def pdf_page_to_png(pdf: bytes | str | Path, out_png: str | Path, *, page: int = 1,
                    dpi: int = 110) -> Path:
    """Render one page of a PDF to PNG with ``pdftoppm`` (poppler-utils) — the README picture."""
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.pdf"
        if isinstance(pdf, bytes | bytearray):
            src.write_bytes(pdf)
        else:
            src = Path(pdf)
        stem = Path(tmp) / "page"
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page),
                        "-singlefile", str(src), str(stem)], check=True, capture_output=True)
        out_png.write_bytes(stem.with_suffix(".png").read_bytes())
    return out_png
