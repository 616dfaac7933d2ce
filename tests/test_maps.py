"""Maps: the builder (planner.maps), the map page and ``planner map`` (no browser here; the
browser tests are in tests/browser/)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from browser.mapdata import XSS_KECAMATAN, XSS_NAMES, fictional_villages, kotim_villages, store

from planner import fmt, maps, plan_json, ranking

DATA = Path(__file__).parent / "data"
PLAN_SAMPLE = DATA / "plan_sample.json"
SCRIPT_BLOCK = re.compile(r"<script[^>]*>(.*?)</script>", re.S | re.I)


def measured(xss=False):
    gdf, recap = fictional_villages(xss=xss)
    frame = gdf.merge(recap, on="code")
    return gpd.GeoDataFrame(ranking.add_measures(frame), geometry="geometry", crs="EPSG:4326")


def decoded(text: str) -> str:
    """Undo the JSON ``\\uXXXX`` escapes of rendered scripts (HTML entities stay)."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def coverage_data(m):
    return m._planner_layers["coverage"].data


# --------------------------------------------------------------------------- classes
@pytest.mark.parametrize("rate, cls", [(0.0, 0), (0.7999, 0), (0.80, 1), (0.8999, 1), (0.90, 2),
                                       (0.95, 3), (0.9999, 3), (1.0, 4), (1.3, 4), (None, None)])
def test_rate_class_boundaries(rate, cls):
    assert maps.rate_class(rate) == cls


def test_legend_states_every_class():
    html = maps.render_html(maps.coverage_map(measured()))
    for label in maps.RATE_CLASS_LABELS:
        assert maps.esc(label) in decoded(html)
    assert "planner-legend" in html


# --------------------------------------------------------------------------- coverage layer
def test_coverage_layer_colours_and_tooltips_match_the_figures():
    frame = measured()
    m = maps.add_coverage_layer(frame)
    feats = {f["id"]: f for f in coverage_data(m)["features"]}
    assert len(feats) == len(frame)
    for r in frame.itertuples():
        f = feats[r.code]
        assert f["properties"]["rate_class"] == maps.rate_class(r.rate)
        assert f["properties"]["t"] == [r.name, r.kecamatan, fmt.integer(r.obliged, "id"),
                                        fmt.integer(r.recorded, "id"),
                                        fmt.integer(r.unrecorded, "id"), fmt.percent(r.rate, "id")]
    # the one village without a polygon is a circle sized by its unrecorded count
    point = feats["99.01.03.2099"]
    assert point["geometry"]["type"] == "Point"
    assert point["properties"]["radius"] > 4
    assert all(f["properties"]["radius"] is None for c, f in feats.items() if c != "99.01.03.2099")


def test_point_circles_grow_with_unrecorded():
    frame = measured()
    frame.loc[frame.index[:3], "geometry"] = frame.geometry.iloc[:3].representative_point()
    feats = {f["id"]: f for f in coverage_data(maps.add_coverage_layer(frame))["features"]}
    pts = frame[frame.geom_type == "Point"].sort_values("unrecorded")
    radii = [feats[c]["properties"]["radius"] for c in pts["code"]]
    assert radii == sorted(radii) and radii[0] < radii[-1]


def test_xss_names_are_escaped_and_cannot_close_the_script():
    frame = measured(xss=True)
    m = maps.coverage_map(frame, bases=[{"name": XSS_NAMES[1], "lat": -2.5, "lon": 112.9}],
                          plan=json.loads(PLAN_SAMPLE.read_text()),
                          row_link=lambda c: f"/peta?code={c}#v-{c}")
    html = maps.render_html(m)
    for bad in (XSS_NAMES[0], XSS_NAMES[1], XSS_KECAMATAN, "<img src=x", "<script>alert", "alert(2)</"):
        assert bad not in html
    # every <script> block ends at its own </script>: no data-borne "</script>" anywhere
    assert html.lower().count("</script>") == html.lower().count("<script")
    blocks = SCRIPT_BLOCK.findall(html)
    assert len(blocks) == html.lower().count("<script")
    assert sum("alert(" in b for b in blocks) >= 1  # the names are in the data, escaped
    # the names are there, escaped (as JSON-escaped HTML entities)
    data = coverage_data(m)
    names = [f["properties"]["t"][0] for f in data["features"]]
    assert all(n in names for n in XSS_NAMES)  # kept as text: shown with textContent
    assert "textContent = p.t[0]" in html and "innerHTML" not in html.split("_onEachFeature", 1)[1][:200]
    # what the page holds is the JSON-escaped text
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in html


def test_esc_also_neutralises_template_literals():
    assert maps.esc("`${alert(1)}`\\") == "&#96;&#36;&#123;alert(1)&#125;&#96;&#92;"


# --------------------------------------------------------------------------- geometry
def test_simplify_keeps_polygons_valid_and_rounds_to_5_decimals():
    frame = measured()
    # make the squares wiggly so there is something to simplify
    wiggly = frame.geometry.apply(lambda g: g.segmentize(0.001))
    out = maps.simplify_for_display(wiggly, 0.002)
    assert shapely.get_num_coordinates(out.values).sum() < shapely.get_num_coordinates(wiggly.values).sum() / 5
    assert out.is_valid.all()
    coords = shapely.get_coordinates(out.values)
    assert (abs(coords * 1e5 - (coords * 1e5).round()) < 1e-6).all()


@pytest.mark.shared
def test_kotim_polygons_stay_recognisable(kotim_dir):
    gdf = gpd.read_file(kotim_dir / "villages.geojson")
    simple = maps.simplify_for_display(gdf.geometry)
    assert simple.is_valid.all() and not simple.is_empty.any()
    before = shapely.get_num_coordinates(gdf.geometry.values).sum()
    after = shapely.get_num_coordinates(simple.values).sum()
    assert after < before * 0.6
    inter = gdf.geometry.to_crs(32750).intersection(simple.to_crs(32750), align=False).area
    union = gdf.geometry.to_crs(32750).union(simple.to_crs(32750), align=False).area
    iou = inter / union
    assert iou.min() > 0.9, gdf.loc[iou.idxmin(), "name"]


# --------------------------------------------------------------------------- routes
def test_route_layer_one_group_per_team_day_with_numbered_stops():
    plan = json.loads(PLAN_SAMPLE.read_text())
    m = maps.add_route_layer(plan)
    groups = m._planner_layers["routes"]
    with_stops = [(t["name"], d["date"]) for t in plan["teams"] for d in t["days"] if d["stops"]]
    assert len(groups) == len(with_stops)
    html = maps.render_html(maps.finish_map(m))
    for team, date in with_stops:
        assert f"{team} — {date}" in decoded(html)
    # numbered markers: 1..n per day, in the team's colour
    numbers = re.findall(r'planner-stop\\" style=\\"background:(#\w+)\\">(\d+)<', decoded(html))
    assert numbers == [(maps.TEAM_COLORS[0], "1"), (maps.TEAM_COLORS[0], "2"),
                       (maps.TEAM_COLORS[0], "1"), (maps.TEAM_COLORS[1], "1"),
                       (maps.TEAM_COLORS[1], "2")]
    assert "Tanjung &lt;b&gt;Uji&lt;/b&gt;" in decoded(html)
    for stop in ("11:35", "15:20", "180", "Bukit Rekaan (40)"):
        assert stop in decoded(html)
    assert maps.TEAM_COLORS[0] in html and maps.TEAM_COLORS[1] in html


def test_load_plan_json_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(plan_json.PlanJsonError, match="bukan berkas Plan JSON yang sah"):
        plan_json.load(bad)
    bad.write_text('{"plan_id": "x"}')
    with pytest.raises(plan_json.PlanJsonError, match="required property"):
        plan_json.load(bad)
    with pytest.raises(plan_json.PlanJsonError, match="tidak ditemukan"):
        plan_json.load(tmp_path / "missing.json")


def test_popups_follow_the_locale():
    """Indonesian maps show 1.234 and 95,4%; English ones 1,234 and 95.4%."""
    frame = measured()
    big = frame.iloc[0]
    for loc, want in (("id", fmt.integer(big.obliged, "id")), ("en", fmt.integer(big.obliged, "en"))):
        m = maps.add_coverage_layer(frame, maps.new_map(locale=loc))
        feat = next(f for f in coverage_data(m)["features"] if f["id"] == big.code)
        assert feat["properties"]["t"][2] == want
        assert feat["properties"]["t"][5] == fmt.percent(big.rate, loc)
    if big.obliged >= 1000:
        assert fmt.integer(big.obliged, "id") != fmt.integer(big.obliged, "en")


# --------------------------------------------------------------------------- offline output
def test_page_html_uses_only_vendored_assets():
    html = maps.render_html(maps.coverage_map(measured()))
    assert f"/static/vendor/{maps.LEAFLET_DIR}/leaflet.js" in html
    assert not re.search(r"(src|href)=[\"']https?://", html)
    for cdn in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrapcdn", "fontawesome"):
        assert cdn not in html
    for rel in ("leaflet.js", "leaflet.css", "LICENSE", "images/layers.png"):
        assert (maps.VENDOR_DIR / maps.LEAFLET_DIR / rel).is_file()


def test_standalone_inlines_leaflet():
    html = maps.standalone_html(maps.coverage_map(measured(), tiles=False))
    assert "<script src=" not in html and "<link rel=\"stylesheet\"" not in html
    assert "window.L" in html  # leaflet.js itself
    assert "url(data:image/png;base64," in html  # layer-control icon inlined
    assert "http://" not in html.replace("http://www.w3.org", "") or "openstreetmap" not in html


def test_tiles_are_an_optional_overlay():
    off = maps.render_html(maps.coverage_map(measured(), tiles=False))
    assert "tile.openstreetmap.org" not in off
    on = maps.render_html(maps.coverage_map(measured(), tiles=True))
    assert "tile.openstreetmap.org" in on
    # listed among the overlays of the layer control (a checkbox), not as the only base layer
    overlays = on.split("overlays :", 1)[1].split("}", 1)[0]
    assert "OpenStreetMap" in overlays


# --------------------------------------------------------------------------- pages
@pytest.fixture
def map_app(app):
    gdf, recap = fictional_villages(xss=True)
    store(app, gdf, recap, name="Uji peta", fictional=True, basemap=False,
          base=("Kantor <b>Uji</b>", -2.55, 112.9))
    return app


def test_map_page_has_map_and_table(map_app):
    client = map_app.test_client()
    r = client.get("/peta?kecamatan=Kecamatan+Satu")
    text = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'id="map-frame"' in text and "/peta/map.html?kecamatan=Kecamatan+Satu" in text
    assert text.count('class="map-focus"') == 4  # four villages in Kecamatan Satu
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert(1)" not in text


def test_map_document_filters_and_links(map_app):
    client = map_app.test_client()
    full = client.get("/peta/map.html").get_data(as_text=True)
    part = client.get("/peta/map.html?kecamatan=Kecamatan+Dua&below=95").get_data(as_text=True)
    assert full.count('"link": "/peta?') == 13
    # Kecamatan Dua (5..8): rates 100, 104, 70, 85 % -> two below 95 %
    assert part.count('"link": "/peta?') == 2
    assert "/peta?kecamatan=Kecamatan+Dua&below=95&code=99.01.02.2007#v-99.01.02.2007" in decoded(part)
    assert "<script>alert(1)" not in full
    assert "Kantor &lt;b&gt;Uji&lt;/b&gt;" in decoded(full)


def test_map_document_focus_and_bad_filters(map_app):
    client = map_app.test_client()
    r = client.get("/peta/map.html?code=99.01.01.2002&below=abc&min_unrecorded=-5")
    assert r.status_code == 200
    assert 'window.plannerFocus("99.01.01.2002")' in r.get_data(as_text=True)
    assert client.get("/peta?below=x&min_unrecorded=y").status_code == 200
    # nothing matches: still a page and a map, with a message
    r = client.get("/peta?kecamatan=Tidak+Ada")
    assert r.status_code == 200 and "Tidak ada desa yang cocok" in r.get_data(as_text=True)
    assert client.get("/peta/map.html?kecamatan=Tidak+Ada").status_code == 200


def test_map_pages_without_data(client):
    r = client.get("/peta")
    assert r.status_code == 200 and "Belum ada data" in r.get_data(as_text=True)
    assert client.get("/peta/map.html").status_code == 404


def test_gap_view_links_to_the_map(map_app):
    text = map_app.test_client().get("/").get_data(as_text=True)
    assert "/peta?code=99.01.01.2001" in text


# --------------------------------------------------------------------------- CLI
def test_cli_map_writes_a_self_contained_file(map_app, tmp_path):
    out = tmp_path / "out" / "coverage.html"
    r = map_app.test_cli_runner().invoke(args=["map", "--out", str(out), "--plan-json", str(PLAN_SAMPLE)])
    assert r.exit_code == 0, r.output
    html = out.read_text()
    assert f"{out.stat().st_size:,}" in r.output
    assert "<script src=" not in html and "tile.openstreetmap.org" not in html  # demo-like: no tiles
    assert "Tim Sungai" in html
    assert "<script>alert(1)" not in html


def test_cli_map_errors(map_app, tmp_path):
    runner = map_app.test_cli_runner()
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    r = runner.invoke(args=["map", "--out", str(tmp_path / "x.html"), "--plan-json", str(bad)])
    assert r.exit_code != 0 and "Bukan Plan JSON yang sah" in r.output and "Traceback" not in r.output
    r = runner.invoke(args=["map", "--out", str(tmp_path / "x.html"), "--kecamatan", "Nowhere"])
    assert r.exit_code != 0 and "Unknown kecamatan" in r.output


def test_cli_map_without_data(runner, tmp_path):
    r = runner.invoke(args=["map", "--out", str(tmp_path / "x.html")])
    assert r.exit_code != 0 and "No data yet" in r.output


@pytest.mark.shared
def test_cli_map_on_real_kotim_is_small(app, kotim_dir, tmp_path):
    gdf, recap = kotim_villages(kotim_dir)
    store(app, gdf, recap, name="Kotim (sintetis)", fictional=False, synthetic=True, basemap=True)
    out = tmp_path / "kotim.html"
    r = app.test_cli_runner().invoke(args=["map", "--out", str(out)])
    assert r.exit_code == 0, r.output
    size = out.stat().st_size
    assert size < 1.5 * 1024 * 1024, size
    html = out.read_text()
    assert '"link":' not in html  # no table in a file
    assert html.count('"code": "62.02.') == 185
    assert "tile.openstreetmap.org" in html  # real data: basemap layer present (optional)


def test_map_labels_follow_the_language(map_app):
    client = map_app.test_client()
    assert "Batas kecamatan" in decoded(client.get("/peta/map.html").get_data(as_text=True))
    r = client.get("/peta/map.html?lang=en")
    assert r.status_code == 200  # labels come from gettext (English once translated)


def test_names_are_never_run_as_templates():
    """branca renders a map element's script and then renders that OUTPUT again as a Jinja
    template: a village named "{{ 'A' ~ 'B' }}" must stay that text (never "AB"), and
    "{% raw %}" must not break the page (planner.maps escapes braces in every JSON the
    templates write)."""
    def run(tag):
        return "{{ '" + tag + "' ~ 'RAN' }}"

    frame = measured()
    frame.loc[frame.index[:3], "name"] = [run("VILLAGE"), "{% raw %}", "{# x"]
    frame.loc[frame.index[:2], "kecamatan"] = run("KEC") + " {% endraw %}"
    plan = {"teams": [{"name": run("TEAM"), "days": [{
        "date": "2026-12-01", "start": {"lat": -2.5, "lon": 112.9, "code": None, "name": run("START")},
        "end": {"lat": -2.5, "lon": 112.9, "code": None, "name": "{% raw %}"},
        "stops": [{"name": run("STOP"), "lat": -2.4, "lon": 112.95, "expected": 3,
                   "kecamatan": run("STOPKEC"), "arrive": "08:00", "depart": "09:00"}]}]}]}
    html = maps.render_html(maps.coverage_map(frame, plan=plan, bases=[
        {"name": run("BASE"), "lat": -2.5, "lon": 112.9}]))
    for tag in ("VILLAGE", "KEC", "TEAM", "START", "STOP", "STOPKEC", "BASE"):
        assert tag + "RAN" not in html, tag
    text = decoded(html)
    assert run("VILLAGE") in text and "{% raw %}" in text
