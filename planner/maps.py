"""Maps: the coverage choropleth, kecamatan outlines, team bases and plan routes (folium).

Every layer has its own function that takes the data and an optional map ``m`` (as
geopandas' ``explore()`` does): when ``m`` is None a new map is made; the layer is added and
the map returned, so pages, the CLI and tests compose what they need::

    m = add_coverage_layer(villages)
    add_kecamatan_layer(villages, m)
    add_route_layer(plan, m)

``coverage_map()`` composes the usual set with a layer control, a legend and bounds.

Offline: the map needs only Leaflet, vendored in ``static/vendor/leaflet-<version>/`` (no
jQuery, Bootstrap or icon fonts: this module uses none of folium's features that need them).
``asset_base`` chooses where the page loads Leaflet from (``/static/vendor`` for the web app);
``standalone_html()`` inlines Leaflet so a saved file opens from disk with no server. The
OpenStreetMap basemap is an optional overlay; everything else draws without internet.

Safety: names come from user files. folium does not escape tooltip/popup text, and
``GeoJsonTooltip`` puts property values into ``innerHTML``; so every user string is escaped
here (``esc()``) before it reaches folium, and every piece of data reaches the page through
JSON encoders that escape ``<`` (no raw ``</script>`` can come from data).
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template
from folium.utilities import JsCode

from . import fmt, plan_json, ranking
from .paths import STATIC_DIR


# --------------------------------------------------------------------------- template safety
# branca renders an element's script macro and then wraps the OUTPUT in a new Jinja template
# that it renders again (branca.element.MacroElement.render). Data that reached the first
# output as JSON (village names in GeoJSON properties, tooltips, layer names) would therefore
# be parsed as Jinja the second time: a name like "{{ 7*7 }}" would print 49, "{% raw %}" would
# break the page, and worse payloads could run code on the server. Every JSON the map
# templates write escapes "{" and "}" as \u007b / \u007d (valid JSON and JavaScript: the
# browser shows the same text), so no data can ever form Jinja markup.
def _brace_safe(text: str) -> str:
    return text.replace("{", "\\u007b").replace("}", "\\u007d")


def _json_for_templates(obj, **kwargs) -> str:
    """``json.dumps`` for the map templates' ``tojson`` (and folium's ``tojavascript``)."""
    out = json.dumps(obj, **kwargs)
    # keep JSON's own structure, escape braces inside strings only
    parts = re.split(r'("(?:[^"\\]|\\.)*")', out)
    return "".join(_brace_safe(p) if p.startswith('"') else p for p in parts)


def _harden_templates() -> None:
    import folium.template
    import jinja2

    folium.template._to_escaped_json = lambda obj: (
        _json_for_templates(obj).replace("<", "\\u003c").replace(">", "\\u003e")
        .replace("&", "\\u0026").replace("'", "\\u0027"))
    for template_class in (folium.template.Template, Template, jinja2.Template):
        env = template_class("").environment  # the shared environment of that class
        env.policies["json.dumps_function"] = _json_for_templates


_harden_templates()

LEAFLET_VERSION = "1.9.4"
LEAFLET_DIR = f"leaflet-{LEAFLET_VERSION}"
VENDOR_DIR = STATIC_DIR / "vendor"
DEFAULT_ASSET_BASE = "/static/vendor"

#: Display simplification tolerance in degrees (~220 m at the equator). Measured on the 185
#: real Kotim polygons: every village keeps >= 98 % of its area and shared edges stay shared.
SIMPLIFY_TOLERANCE = 0.002
COORD_DECIMALS = 5

#: Rate classes of the legend: upper bounds (exclusive) and colours (ColorBrewer RdYlBu-like:
#: red = far behind, blue = done). ``rate_class(r)`` gives the index.
RATE_BREAKS = (0.80, 0.90, 0.95, 1.00)
RATE_COLORS = ("#b2182b", "#ef8a62", "#fddbc7", "#92c5de", "#2166ac")
RATE_CLASS_LABELS = ("< 80 %", "80–90 %", "90–95 %", "95–100 %", "≥ 100 %")
NO_DATA_COLOR = "#bdbdbd"

TEAM_COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
               "#1f78b4", "#666666", "#b15928")

def N_(message: str) -> str:
    """Marks a msgid for extraction (``make translations``) without translating it here."""
    return message


#: Indonesian labels (the msgids); ``translated_labels(gettext)`` gives them in a language.
DEFAULT_LABELS: dict[str, str] = {
    "coverage": N_("Cakupan perekaman KTP-el"),
    "kecamatan_layer": N_("Batas kecamatan"),
    "bases": N_("Basis tim"),
    "context": N_("Sungai dan jalan"),
    "basemap": N_("Peta dasar OpenStreetMap"),
    "legend_title": N_("Persentase rekam KTP-el"),
    "legend_points": N_("Lingkaran: desa tanpa batas wilayah, besar = jumlah belum rekam"),
    "name": N_("Desa/Kelurahan"),
    "kecamatan": N_("Kecamatan"),
    "obliged": N_("Wajib KTP-el"),
    "recorded": N_("Sudah rekam"),
    "unrecorded": N_("Belum rekam"),
    "rate": N_("Persentase rekam"),
    "open_row": N_("Lihat di tabel"),
    "team": N_("Tim"),
    "date": N_("Tanggal"),
    "arrive": N_("Tiba"),
    "depart": N_("Berangkat"),
    "expected": N_("Perkiraan orang"),
    "pooled": N_("Warga dari desa lain"),
    "no_signal": N_("Tanpa sinyal: bawa formulir offline"),
    "start": N_("Berangkat dari"),
    "end": N_("Bermalam/kembali di"),
    "leg_pier": N_("pindah mobil–perahu di dermaga"),
    "leg_access": N_("jalan kaki ke jalan/sungai"),
    "km": "km",
}


def translated_labels(gettext) -> dict[str, str]:
    """The map labels through ``gettext`` (the web passes Flask-Babel's, the CLI a catalogue's)."""
    return {k: gettext(v) for k, v in DEFAULT_LABELS.items()}


# --------------------------------------------------------------------------- helpers
def esc(value) -> str:
    """Escape user text for HTML *and* for folium's JS template literals.

    ``html.escape`` covers ``< > & " '``; folium's own Tooltip/Popup put text inside JS
    backtick strings, so backtick, ``$`` and backslash are escaped as entities too (this
    module does not use those classes, but callers composing maps may).
    """
    s = html.escape("" if value is None else str(value), quote=True)
    return (s.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")
            .replace("{", "&#123;").replace("}", "&#125;"))


def rate_class(rate: float | None) -> int | None:
    """Index of the legend class of ``rate`` (0: < 80 % … 4: ≥ 100 %); None for no data."""
    if rate is None or (isinstance(rate, float) and np.isnan(rate)):
        return None
    for i, upper in enumerate(RATE_BREAKS):
        if rate < upper:
            return i
    return len(RATE_BREAKS)


def rate_color(rate: float | None) -> str:
    k = rate_class(rate)
    return NO_DATA_COLOR if k is None else RATE_COLORS[k]


def _labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    out = dict(DEFAULT_LABELS)
    if labels:
        out.update({k: str(v) for k, v in labels.items()})
    return out


def _round_coords(geom):
    if geom is None or geom.is_empty:
        return geom
    return shapely.transform(geom, lambda c: np.round(c, COORD_DECIMALS))


def simplify_for_display(geoms: gpd.GeoSeries, tolerance: float = SIMPLIFY_TOLERANCE) -> gpd.GeoSeries:
    """Simplify polygons for the screen and round coordinates to 5 decimals (~1 m).

    Polygons are simplified as a coverage (``shapely.coverage_simplify``) so neighbouring
    villages keep one shared edge with no gaps; if the polygons are not a clean coverage it
    falls back to ``simplify(preserve_topology=True)`` per polygon. Points pass through.
    """
    geoms = gpd.GeoSeries(geoms, crs=getattr(geoms, "crs", None)).copy()
    if tolerance and len(geoms):
        poly = geoms.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        if poly.any():
            values = geoms.values[poly]
            try:
                simple = shapely.coverage_simplify(np.asarray(values), tolerance)
                if not shapely.is_valid(simple).all() or shapely.is_empty(simple).any():
                    raise ValueError("coverage simplification gave invalid polygons")
            except Exception:  # noqa: BLE001  (not a clean coverage, old GEOS...)
                simple = shapely.simplify(np.asarray(values), tolerance, preserve_topology=True)
            arr = np.asarray(geoms.values, dtype=object)
            arr[poly] = simple
            geoms = gpd.GeoSeries(arr, index=geoms.index, crs=geoms.crs)
    return geoms.apply(_round_coords)


def _bounds(frames: Iterable[tuple[float, float, float, float]]):
    boxes = [b for b in frames if b is not None and all(np.isfinite(b))]
    if not boxes:
        return None
    arr = np.array(boxes)
    minx, miny = arr[:, 0].min(), arr[:, 1].min()
    maxx, maxy = arr[:, 2].max(), arr[:, 3].max()
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


def _table(rows: list[tuple[str, str]], title: str | None = None) -> str:
    """A small HTML table from ALREADY ESCAPED (label, value) pairs."""
    head = f"<b>{title}</b>" if title else ""
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'{head}<table class="planner-tip">{body}</table>'


class SafeTooltip(MacroElement):
    """``layer.bindTooltip(html)`` with the (already escaped) HTML passed as JSON."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.bindTooltip({{ this.html|tojson }}, {{ this.options|tojavascript }});
        {% endmacro %}
    """)

    def __init__(self, html_text: str, **options):
        super().__init__()
        self._name = "SafeTooltip"
        self.html = html_text
        self.options = {"sticky": True, **options}


class SafePopup(MacroElement):
    """``layer.bindPopup(html)`` with the (already escaped) HTML passed as JSON."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.bindPopup({{ this.html|tojson }}, {{ this.options|tojavascript }});
        {% endmacro %}
    """)

    def __init__(self, html_text: str, **options):
        super().__init__()
        self._name = "SafePopup"
        self.html = html_text
        self.options = {"maxWidth": 320, **options}


class _Legend(MacroElement):
    """A Leaflet control (bottom right) holding the legend's escaped HTML."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            (function() {
                var legend = L.control({position: "bottomright"});
                legend.onAdd = function() {
                    var div = L.DomUtil.create("div", "planner-legend leaflet-control");
                    div.id = "planner-legend";
                    div.innerHTML = {{ this.html|tojson }};
                    L.DomEvent.disableClickPropagation(div);
                    return div;
                };
                legend.addTo({{ this._parent.get_name() }});
            })();
        {% endmacro %}
    """)

    def __init__(self, html_text: str):
        super().__init__()
        self._name = "PlannerLegend"
        self.html = html_text


class _Hooks(MacroElement):
    """Expose the map to page scripts/tests and open a village (``focus``) once drawn.

    ``window.plannerMap`` is the Leaflet map, ``window.plannerLayers`` the named layers and
    ``window.plannerFocus(code)`` zooms to a village and opens its popup.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
            window.plannerMap = {{ this._parent.get_name() }};
            window.plannerLayers = {
            {%- for key, layer in this.layers.items() %}
                {{ key|tojson }}: {{ layer.get_name() }},
            {%- endfor %}
            };
            window.plannerFocus = function(code) {
                var found = null;
                var cov = window.plannerLayers.coverage;
                if (!cov) { return false; }
                cov.eachLayer(function(l) {
                    if (l.feature && l.feature.properties.code === code) { found = l; }
                });
                if (!found) { return false; }
                var at = found.feature.properties.at;
                var latlng = at ? L.latLng(at[0], at[1]) : (found.getLatLng ? found.getLatLng() : found.getCenter());
                if (found.getBounds) {
                    window.plannerMap.fitBounds(found.getBounds(), {maxZoom: 13, padding: [30, 30], animate: false});
                } else {
                    window.plannerMap.setView(latlng, 13, {animate: false});
                }
                found.openPopup(latlng);
                return true;
            };
            {%- if this.focus %}
            window.plannerFocus({{ this.focus|tojson }});
            {%- endif %}
        {% endmacro %}
    """)

    def __init__(self, layers: dict, focus: str | None = None):
        super().__init__()
        self._name = "PlannerHooks"
        self.layers = layers
        self.focus = focus


MAP_CSS = """
<link rel="icon" href="data:,">
<style>
.planner-legend { background: #fff; padding: 6px 8px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,.35); font: 12px/1.35 sans-serif; color: #222; }
.leaflet-control-layers { font-size: 13px; }
.planner-legend .sw { display: inline-block; width: 14px; height: 12px; margin-right: 6px;
  vertical-align: -1px; border: 1px solid #777; }
.planner-legend .note { max-width: 190px; color: #555; margin-top: 4px; }
table.planner-tip { border-collapse: collapse; font-size: 12px; }
table.planner-tip th { text-align: left; font-weight: normal; color: #555; padding: 0 8px 0 0; }
table.planner-tip td { text-align: right; font-variant-numeric: tabular-nums; }
.planner-kec-label { font: bold 11px sans-serif; color: #333; white-space: nowrap;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; text-align: center; }
.planner-stop { border-radius: 50%; color: #fff; font: bold 11px/20px sans-serif;
  text-align: center; border: 2px solid #fff; box-shadow: 0 0 2px rgba(0,0,0,.6); }
.planner-base { font: bold 16px/18px sans-serif; color: #000; text-align: center;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff; }
.planner-stop-point { width: 14px; height: 14px; border-radius: 50%; background: #ffffff;
  border: 3px solid #6a3d9a; box-shadow: 0 0 3px rgba(0,0,0,.7); cursor: move; }
.planner-stop-point.saving { border-color: #999999; }
.planner-stop-point.manual { background: #cab2d6; }
</style>
"""


def new_map(*, bounds=None, asset_base: str = DEFAULT_ASSET_BASE,
            locale: str = fmt.DEFAULT_LOCALE) -> folium.Map:
    """An empty map with no tiles that loads Leaflet from ``asset_base`` (no CDN); numbers in
    tooltips and popups are formatted for ``locale`` (``planner.fmt``)."""
    m = folium.Map(location=[-2.0, 113.0], zoom_start=9, tiles=None, control_scale=True,
                   zoomSnap=0.25, zoomDelta=0.5)
    m.default_js = [("leaflet", f"{asset_base}/{LEAFLET_DIR}/leaflet.js")]
    m.default_css = [("leaflet_css", f"{asset_base}/{LEAFLET_DIR}/leaflet.css")]
    m.get_root().header.add_child(Element(MAP_CSS), name="planner_css")
    m._planner_layers = {}  # name -> folium layer, for hooks and the layer control
    m._planner_bounds = []  # (minx, miny, maxx, maxy) boxes of the data drawn
    m._planner_locale = locale
    if bounds is not None:
        m.fit_bounds(bounds)
    return m


def _ensure_map(m: folium.Map | None) -> folium.Map:
    if m is None:
        return new_map()
    if not hasattr(m, "_planner_layers"):
        m._planner_layers = {}
        m._planner_bounds = []
    if not hasattr(m, "_planner_locale"):
        m._planner_locale = fmt.DEFAULT_LOCALE
    return m


# --------------------------------------------------------------------------- layers
COVERAGE_TIP_JS = """
function(feature, layer) {
    // Tooltip and popup built as DOM with textContent: names are never parsed as HTML.
    var labels = %(labels)s;
    var p = feature.properties;
    function build(withLink) {
        var div = document.createElement("div");
        var title = document.createElement("b");
        title.textContent = p.t[0];
        div.appendChild(title);
        var table = document.createElement("table");
        table.className = "planner-tip";
        for (var i = 1; i < p.t.length; i++) {
            var tr = table.insertRow();
            var th = document.createElement("th");
            th.textContent = labels.rows[i - 1];
            tr.appendChild(th);
            tr.insertCell().textContent = p.t[i];
        }
        div.appendChild(table);
        if (withLink && p.link) {
            var para = document.createElement("p");
            var a = document.createElement("a");
            a.className = "planner-row-link";
            a.target = "_top";
            a.href = p.link;
            a.textContent = labels.open_row;
            para.appendChild(a);
            div.appendChild(para);
        }
        // The village's attributes page, when the page framing the map offers it
        // (window.plannerEdit = {url: ".../__CODE__", label: "..."}, set by static/maps.js).
        var edit = null;
        try {
            edit = window.plannerEdit || (window.parent !== window ? window.parent.plannerEdit : null);
        } catch (e) { edit = null; }
        if (withLink && edit && edit.url && p.code) {
            var editPara = document.createElement("p");
            var e = document.createElement("a");
            e.className = "planner-edit-link";
            e.target = "_top";
            e.href = String(edit.url).replace("__CODE__", encodeURIComponent(p.code));
            e.textContent = edit.label;
            editPara.appendChild(e);
            div.appendChild(editPara);
        }
        return div;
    }
    layer.bindTooltip(function() { return build(false); }, {sticky: true});
    layer.bindPopup(function() { return build(true); }, {maxWidth: 320});
}
"""


def _js_json(value) -> str:
    """JSON for inline scripts: ``<``, ``>``, ``&`` and ``'`` escaped (no ``</script>``), and
    braces inside strings (no Jinja markup: see :func:`_json_for_templates`)."""
    return (_json_for_templates(value, ensure_ascii=False).replace("<", "\\u003c")
            .replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def coverage_features(villages: gpd.GeoDataFrame, *, row_link: Callable[[str], str] | None = None,
                      tolerance: float = SIMPLIFY_TOLERANCE,
                      locale: str = fmt.DEFAULT_LOCALE) -> dict:
    """The coverage GeoJSON: simplified geometry and, per village, ``t`` = [name, kecamatan,
    obliged, recorded, unrecorded, rate] as display TEXT (shown with textContent), ``link``
    (its table row), ``at`` (a point inside it), ``rate_class`` and ``radius`` (points)."""
    frame = villages if "rate" in villages.columns else ranking.add_measures(villages)
    frame = frame.copy()
    frame["geometry"] = simplify_for_display(frame.geometry, tolerance)
    max_unrec = max(int(frame["unrecorded"].max()), 1) if len(frame) else 1
    feats = []
    for rec in frame.to_dict("records"):
        geom = rec["geometry"]
        if geom is None or geom.is_empty:
            continue
        rate = float(rec["rate"])
        inner = geom if geom.geom_type == "Point" else geom.representative_point()
        radius = None
        if geom.geom_type == "Point":
            radius = round(4 + 14 * float(np.sqrt(int(rec["unrecorded"]) / max_unrec)), 1)
        props = {
            "code": str(rec["code"]), "rate_class": rate_class(rate), "radius": radius,
            "at": [round(inner.y, 5), round(inner.x, 5)],
            "t": [str(rec["name"]), str(rec["kecamatan"]), fmt.integer(rec["obliged"], locale),
                  fmt.integer(rec["recorded"], locale), fmt.integer(rec["unrecorded"], locale),
                  fmt.percent(rate, locale)],
        }
        if row_link is not None:
            props["link"] = row_link(str(rec["code"]))
        feats.append({"type": "Feature", "id": str(rec["code"]), "properties": props,
                      "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": feats}


def add_coverage_layer(villages: gpd.GeoDataFrame, m: folium.Map | None = None, *,
                       labels: Mapping[str, str] | None = None,
                       row_link: Callable[[str], str] | None = None,
                       tolerance: float = SIMPLIFY_TOLERANCE, legend: bool = True) -> folium.Map:
    """Villages coloured by recording rate (legend classes ``RATE_CLASS_LABELS``).

    Polygons are filled by class; Point villages are circles sized by the unrecorded count.
    Tooltip: name, kecamatan, obliged, recorded, unrecorded, rate; the popup adds a link to
    the village's table row, ``row_link(code)`` (omitted when None). Names are put in the
    page with ``textContent``, never as HTML.
    """
    m = _ensure_map(m)
    lab = _labels(labels)
    data = coverage_features(villages, row_link=row_link, tolerance=tolerance,
                             locale=m._planner_locale)

    def style(feature):
        k = feature["properties"]["rate_class"]
        st = {"fillColor": NO_DATA_COLOR if k is None else RATE_COLORS[k], "color": "#555555",
              "weight": 0.7, "fillOpacity": 0.75}
        if feature["properties"]["radius"] is not None:
            st["radius"] = feature["properties"]["radius"]
        return st

    tip_labels = {"rows": [lab[k] for k in ("kecamatan", "obliged", "recorded", "unrecorded", "rate")],
                  "open_row": lab["open_row"]}
    layer = folium.GeoJson(
        data, name=esc(lab["coverage"]), style_function=style,
        highlight_function=lambda f: {"weight": 3, "color": "#000000"},
        marker=folium.CircleMarker(), zoom_on_click=False,
        on_each_feature=JsCode(COVERAGE_TIP_JS % {"labels": _js_json(tip_labels)}),
    )
    layer.add_to(m)
    m._planner_layers["coverage"] = layer
    if len(villages):
        m._planner_bounds.append(tuple(villages.total_bounds))
    if legend:
        add_legend(m, labels=labels,
                   points=bool((villages.geom_type == "Point").any()) if len(villages) else False)
    return m


def add_legend(m: folium.Map, *, labels: Mapping[str, str] | None = None,
               points: bool = False) -> folium.Map:
    """The rate classes legend (a Leaflet control with id ``planner-legend``)."""
    lab = _labels(labels)
    rows = "".join(
        f'<div><span class="sw" style="background:{c}"></span>{esc(t)}</div>'
        for c, t in zip(RATE_COLORS, RATE_CLASS_LABELS, strict=True)
    )
    note = f'<div class="note">{esc(lab["legend_points"])}</div>' if points else ""
    _Legend(f"<b>{esc(lab['legend_title'])}</b>{rows}{note}").add_to(m)
    return m


def add_kecamatan_layer(villages: gpd.GeoDataFrame, m: folium.Map | None = None, *,
                        labels: Mapping[str, str] | None = None,
                        tolerance: float = SIMPLIFY_TOLERANCE) -> folium.Map:
    """Kecamatan outlines (villages dissolved by kecamatan) with their names as labels."""
    m = _ensure_map(m)
    lab = _labels(labels)
    group = folium.FeatureGroup(name=esc(lab["kecamatan_layer"]))
    poly = villages[villages.geom_type.isin(["Polygon", "MultiPolygon"])]
    if len(poly):
        poly = poly[["kecamatan", "geometry"]].copy()
        poly["geometry"] = poly.geometry.make_valid()
        kec = poly.dissolve(by="kecamatan", as_index=False)
        kec["geometry"] = simplify_for_display(kec.geometry.buffer(0), tolerance)
        data = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(g)}
            for g in kec.geometry if g is not None and not g.is_empty
        ]}
        folium.GeoJson(data, style_function=lambda f: {
            "fill": False, "color": "#222222", "weight": 2, "opacity": 0.9},
            interactive=False, control=False).add_to(group)
        for name, geom in zip(kec["kecamatan"], kec.geometry, strict=True):
            if geom is None or geom.is_empty:
                continue
            pt = geom.representative_point()
            folium.Marker(
                [round(pt.y, 5), round(pt.x, 5)], interactive=False,
                icon=folium.DivIcon(html=f'<div class="planner-kec-label">{esc(name)}</div>',
                                    icon_size=(140, 16), icon_anchor=(70, 8),
                                    class_name="planner-kec"),
            ).add_to(group)
    group.add_to(m)
    m._planner_layers["kecamatan"] = group
    return m


def add_bases_layer(bases: Iterable[Mapping] | pd.DataFrame | None, m: folium.Map | None = None, *,
                    labels: Mapping[str, str] | None = None) -> folium.Map:
    """Team bases (office, kecamatan offices...) as ★ markers: ``name, lat, lon[, kind]``."""
    m = _ensure_map(m)
    lab = _labels(labels)
    if isinstance(bases, pd.DataFrame):
        bases = bases.to_dict("records")
    bases = [b for b in (bases or []) if b.get("lat") is not None and b.get("lon") is not None]
    group = folium.FeatureGroup(name=esc(lab["bases"]))
    for b in bases:
        marker = folium.Marker(
            [float(b["lat"]), float(b["lon"])],
            icon=folium.DivIcon(html='<div class="planner-base">★</div>', icon_size=(18, 18),
                                icon_anchor=(9, 9), class_name="planner-base-icon"),
        )
        SafeTooltip(f"<b>{esc(b.get('name'))}</b>").add_to(marker)
        marker.add_to(group)
    if bases:
        lats = [float(b["lat"]) for b in bases]
        lons = [float(b["lon"]) for b in bases]
        m._planner_bounds.append((min(lons), min(lats), max(lons), max(lats)))
    group.add_to(m)
    m._planner_layers["bases"] = group
    return m


#: How a leg's parts are drawn (``plan_json.leg_parts``): roads in the team's colour; rivers
#: as water (blue, dashed, with the team's colour underneath so the team stays visible); the
#: change between car and boat at a pier and the walk to the network thin and dotted.
RIVER_COLOR = "#0077be"


def leg_style(mode: str, color: str) -> dict:
    """folium PolyLine options for a part of a leg in ``mode`` (road, river, pier, access)."""
    if mode == "river":
        return {"color": RIVER_COLOR, "weight": 4, "opacity": 0.9, "dash_array": "8 6"}
    if mode in ("pier", "access"):
        return {"color": color, "weight": 2, "opacity": 0.8, "dash_array": "2 5"}
    return {"color": color, "weight": 4, "opacity": 0.85}


def add_route_layer(plan: Mapping, m: folium.Map | None = None, *,
                    labels: Mapping[str, str] | None = None) -> folium.Map:
    """The routes of a plan (Plan JSON): one colour per team, one layer per team-day.

    Each team-day is a FeatureGroup (so the layer control works as a day filter) with its legs
    base → stops → night place, drawn as travelled (``plan_json.leg_parts``: along the roads
    and rivers when the plan carries the legs' paths, river parts as water; else straight
    lines; :func:`leg_style`), and numbered stop markers whose popup gives the village,
    arrival, departure and expected people.
    """
    m = _ensure_map(m)
    lab = _labels(labels)
    locale = m._planner_locale
    lats, lons = [], []
    for td in plan_json.team_days(plan):
        day = td.day
        color = TEAM_COLORS[(td.team_no - 1) % len(TEAM_COLORS)]
        team_name = td.team_name or f"{lab['team']} {td.team_no}"
        date = td.date
        swatch = f'<span style="color:{color}">■</span> '
        group = folium.FeatureGroup(name=f"{swatch}{esc(team_name)} — {esc(date)}")
        start, end = day.get("start") or {}, day.get("end") or {}
        points = []
        tip = f"<b>{esc(team_name)}</b> — {esc(date)}"
        # each leg as travelled: along the roads and rivers when the plan carries its path
        # (river parts as water: blue, dashed), else the straight line
        for leg in plan_json.day_legs(td):
            for mode, coords in plan_json.leg_parts(leg):
                line_pts = [[round(a, 5), round(b, 5)] for a, b in coords]
                line = folium.PolyLine(line_pts, **leg_style(mode, color))
                SafeTooltip(tip if mode in ("road", "river") else
                            f"{tip} ({esc(lab.get('leg_' + mode, mode))})").add_to(line)
                line.add_to(group)
                points += line_pts
        if start.get("lat") is not None:
            points.append([round(float(start["lat"]), 5), round(float(start["lon"]), 5)])
        if end.get("lat") is not None:
            points.append([round(float(end["lat"]), 5), round(float(end["lon"]), 5)])
        for end_kind, place in (("start", start), ("end", end)):
            if place.get("lat") is None:
                continue
            dot = folium.CircleMarker([round(float(place["lat"]), 5), round(float(place["lon"]), 5)],
                                      radius=4, color=color, fill=True, fill_color="#ffffff",
                                      fill_opacity=1, weight=2)
            SafeTooltip(f"{esc(lab[end_kind])}: {esc(place.get('name'))}").add_to(dot)
            dot.add_to(group)
        # a village split into back-to-back sessions is one numbered stop
        for n, s in enumerate(plan_json.merged_stops(day), start=1):
            rows = [
                (esc(lab["team"]), esc(team_name)),
                (esc(lab["date"]), esc(date)),
                (esc(lab["kecamatan"]), esc(s.get("kecamatan"))),
                (esc(lab["arrive"]), esc(s.get("arrive"))),
                (esc(lab["depart"]), esc(s.get("depart"))),
                (esc(lab["expected"]), fmt.integer(s.get("expected"), locale)),
            ]
            pooled = s.get("pooled") or []
            if pooled:
                names = ", ".join(f"{esc(p.get('name'))} ({fmt.integer(p.get('expected'), locale)})"
                                  for p in pooled)
                rows.append((esc(lab["pooled"]), names))
            body = _table(rows, f"{n}. {esc(s.get('name'))}")
            if s.get("no_signal"):
                body += f'<p class="planner-no-signal">{esc(lab["no_signal"])}</p>'
            marker = folium.Marker(
                [round(float(s["lat"]), 5), round(float(s["lon"]), 5)],
                icon=folium.DivIcon(
                    html=(f'<div class="planner-stop" style="background:{color}">{n}</div>'),
                    icon_size=(24, 24), icon_anchor=(12, 12), class_name="planner-stop-icon"),
            )
            SafePopup(body).add_to(marker)
            SafeTooltip(f"{n}. {esc(s.get('name'))} ({esc(s.get('arrive'))})").add_to(marker)
            marker.add_to(group)
        lats += [p[0] for p in points]
        lons += [p[1] for p in points]
        group.add_to(m)
        m._planner_layers.setdefault("routes", []).append(group)
    if lats:
        m._planner_bounds.append((min(lons), min(lats), max(lons), max(lats)))
    return m


CONTEXT_STYLES = {
    "outline": {"fill": False, "color": "#000000", "weight": 2.5, "opacity": 0.8},
    "kecamatan": {"fill": False, "color": "#555555", "weight": 1, "opacity": 0.5, "dashArray": "4 4"},
    "river": {"color": "#2b83ba", "weight": 2.5, "opacity": 0.9},
    "road": {"color": "#8c510a", "weight": 2, "opacity": 0.8, "dashArray": "6 3"},
}


def add_context_layer(context: gpd.GeoDataFrame | None, m: folium.Map | None = None, *,
                      labels: Mapping[str, str] | None = None,
                      tolerance: float = SIMPLIFY_TOLERANCE / 4) -> folium.Map:
    """Rivers, roads, the regency outline and the capital (demo ``data/demo_context.geojson``).

    Add it after the coverage layer so the lines show above the village colours (they are not
    interactive, so hovering still reaches the villages).

    ``context`` has ``kind`` in {outline, kecamatan, river, road, capital, base} and ``name``;
    kecamatan and base features are skipped (drawn by their own layers).
    """
    m = _ensure_map(m)
    lab = _labels(labels)
    if context is None or not len(context):
        return m
    ctx = context.to_crs(4326) if context.crs is not None else context
    group = folium.FeatureGroup(name=esc(lab["context"]))
    feats = []
    for rec in ctx.to_dict("records"):
        kind = str(rec.get("kind") or "")
        geom = rec.get("geometry")
        if geom is None or geom.is_empty or kind in {"kecamatan", "base"}:
            continue
        name = rec.get("name")
        name = None if name is None or (isinstance(name, float) and np.isnan(name)) else name
        if kind == "capital" or geom.geom_type == "Point":
            pt = geom if geom.geom_type == "Point" else geom.representative_point()
            cm = folium.CircleMarker([round(pt.y, 5), round(pt.x, 5)], radius=5, color="#000000",
                                     fill=True, fill_color="#ffffff", fill_opacity=1, weight=2)
            if name:
                SafeTooltip(f"<b>{esc(name)}</b>").add_to(cm)
            cm.add_to(group)
            continue
        geom = _round_coords(shapely.simplify(geom, tolerance, preserve_topology=True))
        feats.append({"type": "Feature", "properties": {"kind": kind},
                      "geometry": shapely.geometry.mapping(geom)})
    if feats:  # drawn above the villages but not interactive: hovering still finds villages
        folium.GeoJson(
            {"type": "FeatureCollection", "features": feats},
            style_function=lambda f: CONTEXT_STYLES.get(f["properties"]["kind"],
                                                         CONTEXT_STYLES["road"]),
            control=False, interactive=False,
        ).add_to(group)
    group.add_to(m)
    m._planner_layers["context"] = group
    return m


def add_basemap(m: folium.Map | None = None, *, on: bool = True,
                labels: Mapping[str, str] | None = None) -> folium.Map:
    """OpenStreetMap tiles as an optional overlay (a checkbox in the layer control).

    ``on`` says whether it starts switched on. Without internet only the tiles are missing.
    """
    m = _ensure_map(m)
    lab = _labels(labels)
    layer = folium.TileLayer("OpenStreetMap", name=esc(lab["basemap"]), overlay=True,
                             control=True, show=on)
    layer.add_to(m)
    m._planner_layers["basemap"] = layer
    return m


def finish_map(m: folium.Map, *, focus: str | None = None) -> folium.Map:
    """Layer control, fit to the data drawn, and the page hooks (``window.plannerFocus``)."""
    m = _ensure_map(m)
    folium.LayerControl(collapsed=False).add_to(m)
    bounds = _bounds(m._planner_bounds)
    if bounds is not None:
        if bounds[0] == bounds[1]:  # one point: open a small box around it
            (la, lo) = bounds[0]
            bounds = [[la - 0.05, lo - 0.05], [la + 0.05, lo + 0.05]]
        m.fit_bounds(bounds)
    layers = {k: v for k, v in m._planner_layers.items() if not isinstance(v, list)}
    _Hooks(layers, focus=focus).add_to(m)
    return m


def coverage_map(villages: gpd.GeoDataFrame, *, bases=None, plan: Mapping | None = None,
                 context: gpd.GeoDataFrame | None = None, tiles: bool = False,
                 labels: Mapping[str, str] | None = None,
                 row_link: Callable[[str], str] | None = None, focus: str | None = None,
                 tolerance: float = SIMPLIFY_TOLERANCE,
                 asset_base: str = DEFAULT_ASSET_BASE) -> folium.Map:
    """The usual map: [basemap] + coverage + context + kecamatan + bases [+ routes].

    ``tiles``: add the OpenStreetMap overlay (switched on) — use ``dataset.basemap``; it is
    off for the fictional demo. ``focus``: a village code to zoom to and open.
    """
    m = new_map(asset_base=asset_base)
    if tiles:
        add_basemap(m, on=True, labels=labels)
    add_coverage_layer(villages, m, labels=labels, row_link=row_link, tolerance=tolerance)
    if context is not None:
        add_context_layer(context, m, labels=labels)
    add_kecamatan_layer(villages, m, labels=labels, tolerance=tolerance)
    if bases is not None:
        add_bases_layer(bases, m, labels=labels)
    if plan is not None:
        add_route_layer(plan, m, labels=labels)
    return finish_map(m, focus=focus)


# --------------------------------------------------------------------------- output
_EXTERNAL_ASSET = re.compile(r"""<(?:script|link)[^>]+(?:src|href)=["']https?://""", re.I)


def render_html(m: folium.Map) -> str:
    """The map page as HTML (assets from the map's ``asset_base``).

    Raises ``RuntimeError`` if any script/stylesheet would come from the internet (a folium
    feature that needs a CDN asset slipped in) — maps must work offline.
    """
    out = m.get_root().render()
    bad = _EXTERNAL_ASSET.search(out)
    if bad:
        raise RuntimeError(f"map would load an asset from the internet: {out[bad.start():bad.start() + 160]}")
    return out


def _inline_css(css: str, base_dir: Path) -> str:
    def repl(match):
        rel = match.group(1).strip("'\"")
        path = base_dir / rel
        if rel.startswith(("data:", "#")) or not path.is_file():
            return match.group(0)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    return re.sub(r"url\(([^)]+)\)", repl, css)


def standalone_html(m: folium.Map) -> str:
    """The map as ONE self-contained HTML file: Leaflet JS/CSS (and its images) inlined."""
    marker = "planner-vendor://"
    m.default_js = [("leaflet", f"{marker}{LEAFLET_DIR}/leaflet.js")]
    m.default_css = [("leaflet_css", f"{marker}{LEAFLET_DIR}/leaflet.css")]
    out = render_html(m)

    def js(match):
        path = VENDOR_DIR / match.group(1)
        code = path.read_text(encoding="utf-8")
        code = re.sub(r"//# sourceMappingURL=\S+\s*$", "", code)
        code = code.replace("</script", "<\\/script")
        return f"<script>{code}</script>"

    def css(match):
        path = VENDOR_DIR / match.group(1)
        text = _inline_css(path.read_text(encoding="utf-8"), path.parent)
        text = text.replace("</style", "<\\/style")
        return f"<style>{text}</style>"

    out = re.sub(rf'<script src="{re.escape(marker)}([^"]+)"></script>', lambda mm: js(mm), out)
    out = re.sub(rf'<link rel="stylesheet" href="{re.escape(marker)}([^"]+)"\s*/?>',
                 lambda mm: css(mm), out)
    if marker in out:
        raise RuntimeError("an asset could not be inlined")
    return out


def save_standalone(m: folium.Map, path: str | Path) -> int:
    """Write ``standalone_html(m)`` to ``path``; returns the size in bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = standalone_html(m).encode("utf-8")
    path.write_bytes(data)
    return len(data)
