"""The team-lead page on a phone: 360×740 in headless Chromium, no horizontal scrolling,
big tap targets, the route map loads from this server only, no console errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pytest

pytestmark = pytest.mark.browser

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def teamlead_site(make_app, live_server, tmp_path_factory, store_plan_doc):
    """A live server with the fixture plan (tests/data/plan_daysheet.json) stored."""
    app = make_app(tmp_path_factory.mktemp("teamlead"))
    with app.app_context():
        from planner import repository

        repository.replace_villages(gpd.read_file(DATA / "villages_daysheet.geojson"),
                                    source_file="villages_daysheet.geojson", fictional=True)
        ids = store_plan_doc(json.loads((DATA / "plan_daysheet.json").read_text(encoding="utf-8")),
                             "Uji tim lapangan")
    return app, live_server(app), ids


def share_url(app, base, plan_id, version, team, date) -> str:
    """The signed share link a day sheet's QR code carries (no account needed on a phone)."""
    from planner import plan_store, sharing

    with app.app_context():
        plan = plan_store.get_plan(plan_id)
        return f"{base}/s/{sharing.make_token(app.secret_key, plan, version, team, date)}"


TAP_TARGETS_JS = """() => [...document.querySelectorAll('a, button, input, select, summary')]
  .filter(e => e.offsetParent !== null)
  .map(e => { const r = e.getBoundingClientRect();
              return {text: (e.textContent || e.name || '').trim().slice(0, 40),
                      w: r.width, h: r.height}; })"""


@pytest.mark.parametrize("team,date,stops,totals", [
    (1, "2026-12-01", 3, "58,2 km · 1 jam 29 mnt"), (2, "2026-12-01", 2, "56,8 km · 1 jam 58 mnt")])
def test_teamlead_page_on_a_360px_phone(page, teamlead_site, assert_clean, team, date, stops,
                                        totals):
    app, base, (plan_id, version) = teamlead_site
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(share_url(app, base, plan_id, version, team, date))
    page.wait_for_load_state("networkidle")

    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.evaluate("document.body.scrollWidth") <= 360
    assert page.locator("meta[name=viewport]").count() == 1

    # stops as stacked cards (no table header on a narrow screen), in order
    cards = page.locator("#stops tr.tl-stop")
    assert cards.count() == stops
    assert not page.locator("#stops thead").is_visible()
    first = cards.nth(0).bounding_box()
    second = cards.nth(1).bounding_box()
    assert first["width"] <= 360 and second["y"] >= first["y"] + first["height"] - 1
    if team == 1:
        # the untrusted name is shown as text, never run
        assert '<script>alert(1)</script>' in cards.nth(1).inner_text()
    # distances and durations in Indonesian (planner.fmt): "58,2 km", "1 jam 29 mnt", never "m"
    foot = page.locator("#stops tfoot").inner_text()
    assert totals in foot
    assert not re.search(r"\b\d+ m\b", page.locator("#stops").inner_text())

    # every visible link/button is a big tap target
    targets = page.evaluate(TAP_TARGETS_JS)
    assert targets, "no links on the page?"
    small = [t for t in targets if t["h"] < 44 or t["w"] < 44]
    assert not small, f"tap targets smaller than 44 px: {small}"

    # navigation and downloads
    assert page.locator("#gmaps-links a").count() == 1
    href = page.locator("#gmaps-links a").first.get_attribute("href")
    assert href.startswith("https://www.google.com/maps/dir/?api=1&origin=")
    assert page.locator("#downloads a").count() == 3

    # the route map (folium, Leaflet from /static/vendor) draws one marker per stop
    frame = page.frame_locator("#route-map")
    frame.locator(".leaflet-container").wait_for()
    assert frame.locator(".planner-stop").count() == stops
    box = page.locator("#route-map").bounding_box()
    assert box["width"] <= 360 and box["height"] >= 280

    assert_clean(page)


def test_teamlead_missing_day_is_a_404_page(page, teamlead_site, assert_clean):
    app, base, (plan_id, version) = teamlead_site
    page.set_viewport_size({"width": 360, "height": 740})
    response = page.goto(share_url(app, base, plan_id, version, 1, "2030-01-01"))
    assert response.status == 404
    assert "Traceback" not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # a 404 document logs one console error for the failed main request; nothing else may fail
    page.console_errors[:] = [e for e in page.console_errors if "404" not in e]
    assert_clean(page)
