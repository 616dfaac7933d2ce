"""The road and river network in headless Chromium: upload the demo's roads and rivers on the
network page (both layers listed, drawn on the small map), place a pier by clicking the map,
then type two known legs on the calibration page and fit the class speeds with one click (the
stored speeds change). No console errors, nothing leaves localhost."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from browserkit import stub_tiles
from sqlalchemy import select

from planner import networks
from planner.paths import DATA_DIR
from planner.travel import TravelParams

pytestmark = pytest.mark.browser

CONTEXT = DATA_DIR / "demo_context.geojson"


@pytest.fixture(scope="module")
def network_site(tmp_path_factory, make_app, live_server):
    app = make_app(tmp_path_factory.mktemp("network_browser"))
    with app.app_context():
        from planner.demo import load_demo

        load_demo()
        for layer in networks.list_layers():  # the demo may ship its own network: start empty
            networks.remove_layer(layer["id"])
    return app, live_server(app)


def _known_leg(app) -> tuple[str, str, int]:
    """The office and a road village with an on-network car leg, and the model's minutes."""
    from planner.extensions import db
    from planner.models import TeamBase

    with app.app_context():
        base = db.session.scalars(select(TeamBase).where(TeamBase.archived.is_(False))
                                  .order_by(TeamBase.id)).first().name
        src = networks.travel_source(TravelParams())
        pts = networks.known_points()
        sel = pts[pts["code"] == base]
        for code in pts[(pts["access"] == "road") & (pts["lat"] > -2.4)]["code"][:20]:
            two = pd.concat([sel, pts[pts["code"] == code]], ignore_index=True)
            m = src.matrices(two, "road")
            if not src.fallback_legs[0, 1]:
                return base, code, int(m.minutes[0, 1])
    raise AssertionError("no on-network road leg in the demo")


def test_upload_layers_place_a_pier_and_fit_speeds(network_site, page, browser_login,
                                                   assert_clean):
    app, base = network_site
    stub_tiles(page)
    page.context.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=b""))
    browser_login(page, base, app, "coordinator")

    # 1. upload roads and rivers; both are listed and drawn
    page.goto(f"{base}/jaringan")
    assert page.locator("#no-layers").is_visible()
    for kind, name in (("road", "Jalan uji"), ("river", "Sungai uji")):
        page.set_input_files("#file", str(CONTEXT))
        page.check(f'input[name="kind"][value="{kind}"]')
        page.fill("#name", name)
        page.click("#layer-submit")
        page.wait_for_url(re.compile(r"/jaringan$"))
        assert page.locator(".flash-success").first.inner_text().startswith("Lapisan")
    rows = page.locator("#layers tbody tr")
    assert rows.count() == 2
    assert sorted(page.locator("#layers td.layer-name").all_inner_texts()) == ["Jalan uji",
                                                                               "Sungai uji"]
    frame = page.frame_locator("#network-map")
    frame.locator(".leaflet-container").wait_for()
    page.wait_for_function("() => { const w = document.getElementById('network-map').contentWindow;"
                           " return !!(w && w.plannerMap); }")
    assert frame.locator("path").count() >= 2  # road and river lines

    # 2. a pier by a click on the map (the click fills the pier form)
    spot = {"x": 150, "y": 380}  # an empty part of the map (no marker there to catch the click)
    page.locator("#network-map").scroll_into_view_if_needed()  # scrolled first: no shift mid-click
    target = page.evaluate("(p) => { const w = document.getElementById('network-map').contentWindow;"
                           " const ll = w.plannerMap.containerPointToLatLng([p.x, p.y]);"
                           " return [ll.lat, ll.lng]; }", spot)
    frame.locator(".leaflet-container").click(position=spot)
    page.wait_for_function("() => document.getElementById('pier-lat').value !== ''")
    lat, lon = float(page.input_value("#pier-lat")), float(page.input_value("#pier-lon"))
    assert abs(lat - target[0]) < 0.02 and abs(lon - target[1]) < 0.02, (lat, lon, target)
    page.fill("#pier-name", "Dermaga klik")
    page.click("#pier-submit")
    page.wait_for_url(re.compile(r"/jaringan#piers$"))
    assert page.locator("#pier-list td.pier-name").all_inner_texts() == ["Dermaga klik"]

    # 3. calibration: two known legs typed, one click fits and saves the speeds
    office, village, model = _known_leg(app)
    known = str(round(model * 1.3))
    with app.app_context():
        before = networks.speeds()
    page.goto(f"{base}/jaringan/kalibrasi")
    inputs = page.locator("#legs-table tr.leg-input")
    for i, (a, b) in enumerate(((office, village), (village, office))):
        row = inputs.nth(i)
        row.locator('input[name="dari"]').fill(a)
        row.locator('input[name="ke"]').fill(b)
        row.locator('select[name="moda"]').select_option("road")
        row.locator('input[name="menit"]').fill(known)
    page.click("#add-row")
    assert page.locator("#legs-table tr.leg-input").count() == inputs.count()
    page.click("#legs-fit")
    page.locator("#fit-result").wait_for()
    assert page.locator("#legs-result tr.leg-row").count() == 2
    assert page.locator("#fit-speeds tbody tr").count() >= 1
    with app.app_context():
        after = networks.speeds()
        cal = networks.network_settings()["calibration"]
    assert any(after.road_kmh[c] < before.road_kmh[c] - 0.5 for c in after.road_kmh)
    assert cal["rmse_after_min"] < cal["rmse_before_min"]
    assert_clean(page)
