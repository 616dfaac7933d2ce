"""The map page in headless Chromium: the fictional demo, hostile names, the real Kotim
boundaries (basemap on, tiles answered locally) and the offline file from ``planner map``."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from browserkit import assert_no_console_errors, assert_no_external_requests, stub_tiles
from mapdata import XSS_KECAMATAN, XSS_NAMES, fictional_villages, kotim_villages, store
from shapely.geometry import shape

from planner import fmt, maps

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
README_SCREENSHOT = ROOT / "docs" / "img" / "map.png"
MAP_READY = ("() => window.plannerMap && document.querySelectorAll('path.leaflet-interactive')"
             ".length >= {n}")


# --------------------------------------------------------------------------- servers
@pytest.fixture(scope="session")
def demo_site(make_app, live_server, tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("demo"))
    with app.app_context():
        from planner.demo import load_demo

        load_demo()
    return app, live_server(app)


@pytest.fixture(scope="session")
def xss_site(make_app, live_server, tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("xss"))
    gdf, recap = fictional_villages(xss=True)
    store(app, gdf, recap, name="Uji nama berbahaya", fictional=True, basemap=False,
          base=(XSS_NAMES[1], -2.62, 112.78))
    return app, live_server(app)


@pytest.fixture(scope="session")
def kotim_site(make_app, live_server, tmp_path_factory, kotim_dir):
    app = make_app(tmp_path_factory.mktemp("kotim"))
    gdf, recap = kotim_villages(kotim_dir)
    store(app, gdf, recap, name="Kotim (angka sintetis)", fictional=False, synthetic=True,
          basemap=True, base=("Kantor Disdukcapil Kotim", -2.5389, 112.9504))
    return app, live_server(app)


# --------------------------------------------------------------------------- helpers
def villages_of(app):
    from planner import ranking, repository

    with app.app_context():
        return ranking.add_measures(repository.villages_frame())


def open_map(page, url: str, min_paths: int = 1, app=None):
    """Open the map page (logging in first as an office viewer, through the login form, when
    ``app`` is given) and return the map's frame once Leaflet has drawn the villages."""
    if app is not None:
        from fixtures_auth import _browser_login

        _browser_login(page, url.split("/peta")[0], app, "viewer")
    page.goto(url)
    page.wait_for_selector("#map-frame")
    frame = page.frame_locator("#map-frame")
    frame.locator(".leaflet-container").wait_for()
    fr = next(f for f in page.frames if "/peta/map.html" in f.url)
    fr.wait_for_function(MAP_READY.format(n=min_paths))
    return fr


def screen_point(page, frame, lat: float, lon: float) -> tuple[float, float]:
    """Page coordinates of (lat, lon) on the map inside the iframe."""
    p = frame.evaluate("([lat, lon]) => { const p = window.plannerMap.latLngToContainerPoint([lat, lon]);"
                       " return [p.x, p.y]; }", [lat, lon])
    box = page.locator("#map-frame").bounding_box()
    return box["x"] + p[0], box["y"] + p[1]


def inside_point(village_row) -> tuple[float, float]:
    """A point surely inside the village as drawn (simplified geometry)."""
    feats = maps.coverage_features(village_row)["features"]
    pt = shape(feats[0]["geometry"]).representative_point()
    return pt.y, pt.x


def hover_village(page, frame, frame_rows, code: str) -> str:
    row = frame_rows[frame_rows["code"] == code]
    lat, lon = inside_point(row)
    x, y = screen_point(page, frame, lat, lon)
    page.mouse.move(x, y)
    tip = frame.locator(".leaflet-tooltip")
    tip.wait_for()
    return tip.inner_text()


def layer_checkbox(frame, label_text: str):
    return frame.locator(".leaflet-control-layers-overlays label", has_text=label_text).locator("input")


def take_screenshot(page, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(400)  # let fitBounds/zoom animations settle
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    return path


# --------------------------------------------------------------------------- demo
def test_demo_map_renders_offline_with_legend(demo_site, page, tmp_path):
    app, base = demo_site
    rows = villages_of(app)
    frame = open_map(page, f"{base}/peta", min_paths=len(rows), app=app)
    n_paths = frame.locator("path.leaflet-interactive").count()
    assert n_paths >= len(rows)  # every village polygon (+ route/context would add more)
    legend = frame.locator("#planner-legend")
    assert legend.is_visible()
    text = legend.inner_text()
    for label in maps.RATE_CLASS_LABELS:
        assert label in text
    # colours in the page match the legend classes of the data
    fills = set(frame.eval_on_selector_all(
        "path.leaflet-interactive", "els => els.map(e => e.getAttribute('fill'))"))
    expected = {maps.rate_color(r) for r in rows["rate"]}
    assert expected <= {f.lower() for f in fills if f}
    assert frame.locator(".planner-kec-label").count() == rows["kecamatan"].nunique()
    assert frame.locator(".planner-base").count() >= 1
    # the demo's rivers and roads are drawn (non-interactive lines)
    assert frame.locator("path:not(.leaflet-interactive)").count() > 0
    take_screenshot(page, tmp_path / "demo-map.png")
    assert_no_console_errors(page)
    assert_no_external_requests(page)
    assert any("/static/vendor/leaflet-" in u for u in page.requests)


def test_tooltip_shows_the_villages_numbers(demo_site, page):
    app, base = demo_site
    rows = villages_of(app)
    frame = open_map(page, f"{base}/peta", min_paths=len(rows), app=app)
    # the biggest village of the top-10 priorities (easy to hit at regency zoom)
    from planner import ranking

    top = ranking.rank(rows.drop(columns="geometry")).head(10)["code"]
    cand = rows[rows["code"].isin(top)].copy()
    cand["area"] = cand.geometry.to_crs(32750).area
    v = cand.sort_values("area").iloc[-1]
    text = hover_village(page, frame, rows, v["code"])
    assert v["name"] in text and v["kecamatan"] in text
    for n in (v["obliged"], v["recorded"], v["unrecorded"]):
        assert fmt.integer(n, "id") in text
    assert fmt.percent(v["rate"], "id") in text
    assert_no_console_errors(page)


def test_layer_control_toggles_layers(demo_site, page):
    app, base = demo_site
    rows = villages_of(app)
    frame = open_map(page, f"{base}/peta", min_paths=len(rows), app=app)
    n_kec = rows["kecamatan"].nunique()
    box = layer_checkbox(frame, "Batas kecamatan")
    assert box.is_checked()
    box.uncheck()
    assert frame.locator(".planner-kec-label").count() == 0
    box.check()
    assert frame.locator(".planner-kec-label").count() == n_kec
    cov = layer_checkbox(frame, "Cakupan perekaman")
    before = frame.locator("path.leaflet-interactive").count()
    cov.uncheck()
    after = frame.locator("path.leaflet-interactive").count()
    assert before - after >= len(rows)
    assert not frame.locator("#planner-legend").is_hidden()
    assert_no_console_errors(page)


def test_row_opens_on_map_and_map_opens_row(demo_site, page):
    app, base = demo_site
    rows = villages_of(app)
    frame = open_map(page, f"{base}/peta", min_paths=len(rows), app=app)
    link = page.locator("#ranking a.map-focus").nth(2)
    code, name = link.get_attribute("data-code"), link.inner_text()
    link.click()
    popup = frame.locator(".leaflet-popup-content")
    popup.wait_for()
    assert name in popup.inner_text()
    assert page.locator(f"tr[id='v-{code}']").get_attribute("class") == "highlight"
    # the popup's link opens the village's row (the page reloads on it, highlighted)
    popup.locator("a.planner-row-link").click()
    page.wait_for_url(re.compile(rf"/peta\?.*code={re.escape(code)}.*#v-{re.escape(code)}$"))
    assert page.locator(f"tr[id='v-{code}']").get_attribute("class") == "highlight"
    frame = open_map(page, page.url, min_paths=len(rows))
    frame.locator(".leaflet-popup-content").wait_for()  # ...and the map opens it again
    assert name in frame.locator(".leaflet-popup-content").inner_text()
    assert_no_console_errors(page)
    assert_no_external_requests(page)


def test_readme_screenshot(demo_site, page, tmp_path):
    """Produces docs/img/map.png (README) when PLANNER_UPDATE_SCREENSHOTS=1, else in tmp."""
    app, base = demo_site
    rows = villages_of(app)
    page.set_viewport_size({"width": 1280, "height": 1000})
    open_map(page, f"{base}/peta", min_paths=len(rows), app=app)
    shot = take_screenshot(page, tmp_path / "map.png")
    if os.environ.get("PLANNER_UPDATE_SCREENSHOTS") == "1":
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, README_SCREENSHOT)
    assert_no_console_errors(page)
    assert_no_external_requests(page)


# --------------------------------------------------------------------------- XSS
def test_hostile_names_render_as_text(xss_site, page):
    app, base = xss_site
    rows = villages_of(app)
    frame = open_map(page, f"{base}/peta", min_paths=len(rows), app=app)
    script_code = rows.loc[rows["name"] == XSS_NAMES[0], "code"].item()
    img_code = rows.loc[rows["name"] == XSS_NAMES[1], "code"].item()
    text = hover_village(page, frame, rows, script_code)
    assert XSS_NAMES[0] in text
    # popup of the second: click it
    lat, lon = inside_point(rows[rows["code"] == img_code])
    page.mouse.click(*screen_point(page, frame, lat, lon))
    popup = frame.locator(".leaflet-popup-content")
    popup.wait_for()
    assert XSS_NAMES[1] in popup.inner_text()
    # kecamatan label and the table show the literal text too
    assert frame.locator(".planner-kec-label", has_text=XSS_KECAMATAN).count() == 1
    names = page.locator("#ranking a.map-focus").all_inner_texts()
    assert all(n in names for n in XSS_NAMES)
    # nothing was injected: no <img src=x>, no extra script, no dialog
    assert frame.locator("img[src='x']").count() == 0
    assert page.locator("img[src='x']").count() == 0
    page.wait_for_timeout(300)
    assert page.dialogs == []
    assert frame.evaluate("() => [...document.scripts].filter(s => s.textContent.includes('alert(')"
                          " && !s.textContent.includes('plannerMap')).length") <= 1
    assert_no_console_errors(page)
    assert_no_external_requests(page)


# --------------------------------------------------------------------------- real Kotim
@pytest.mark.shared
def test_kotim_map_with_basemap_stays_local(kotim_site, page, tmp_path):
    app, base = kotim_site
    stub_tiles(page)  # the OSM layer is ON for real data: its tiles are answered locally
    frame = open_map(page, f"{base}/peta", min_paths=185, app=app)
    assert frame.locator("path.leaflet-interactive").count() >= 185
    assert frame.locator(".planner-kec-label").count() == 17
    frame.locator("img.leaflet-tile-loaded").first.wait_for()
    assert len(page.stubbed_requests) > 0
    assert all("tile.openstreetmap.org" in u for u in page.stubbed_requests)
    osm = layer_checkbox(frame, "OpenStreetMap")
    assert osm.is_checked()
    osm.uncheck()
    assert frame.locator("img.leaflet-tile").count() == 0
    take_screenshot(page, tmp_path / "kotim-map.png")
    assert_no_console_errors(page)
    assert_no_external_requests(page)


@pytest.mark.shared
def test_cli_file_of_kotim_opens_offline_from_disk(kotim_site, offline_page, tmp_path):
    app, _base = kotim_site
    out = tmp_path / "coverage.html"
    r = app.test_cli_runner().invoke(args=["map", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.stat().st_size < 1.5 * 1024 * 1024
    page = offline_page
    stub_tiles(page)
    page.goto(out.as_uri())
    page.locator(".leaflet-container").wait_for()
    page.wait_for_function(MAP_READY.format(n=185))
    assert page.locator("#planner-legend").is_visible()
    assert page.locator(".leaflet-control-layers").is_visible()
    non_file = [u for u in page.requests
                if not u.startswith(("file:", "data:")) and u not in page.stubbed_requests]
    assert non_file == []
    take_screenshot(page, tmp_path / "kotim-file.png")
    assert_no_console_errors(page)
