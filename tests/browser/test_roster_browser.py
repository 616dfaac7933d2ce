"""Setting up a regency in headless Chromium: add a base by clicking the map (the click fills
latitude and longitude), add a boat team with its leader and phone to the roster, make a plan
by ticking that team (the row fills from the roster), and find the leader's phone as a
``tel:`` link on the team-lead page. No console errors, nothing leaves localhost."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

LEADER = "Budi <b>Santoso</b>"
PHONE = "+62 812-3456-7890"


@pytest.fixture(scope="module")
def roster_server(tmp_path_factory, make_app, live_server, load_tiny):
    app = make_app(tmp_path_factory.mktemp("roster_browser"), PLAN_TIME_LIMIT_S=1)
    load_tiny(app)
    return app, live_server(app)


def test_base_by_map_click_boat_team_plan_and_leader_phone(roster_server, page, assert_clean,
                                                           browser_login, next_monday):
    app, base = roster_server
    page.context.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=b""))
    browser_login(page, base, app, "coordinator")

    # 1. a pier base, placed by clicking the map
    page.goto(f"{base}/pangkalan")
    frame = page.frame_locator("#base-map")
    frame.locator(".leaflet-container").wait_for()
    page.wait_for_function("() => { const w = document.getElementById('base-map').contentWindow;"
                           " return !!(w && w.plannerMap); }")
    assert page.input_value("#lat") == "" and page.input_value("#lon") == ""
    # where on the map the river bank next to the river villages is (-2.70, 113.05)
    spot = page.evaluate("() => { const w = document.getElementById('base-map').contentWindow;"
                         " const p = w.plannerMap.latLngToContainerPoint([-2.70, 113.05]);"
                         " return {x: p.x, y: p.y}; }")
    frame.locator(".leaflet-container").click(position=spot)
    page.wait_for_function("() => document.getElementById('lat').value !== ''")
    lat, lon = float(page.input_value("#lat")), float(page.input_value("#lon"))
    assert abs(lat + 2.70) < 0.02 and abs(lon - 113.05) < 0.02, (lat, lon)
    assert frame.locator("path.leaflet-interactive").count() >= 1  # the picked spot is marked
    page.fill("#name", "Dermaga Uji")
    page.check("#vehicles-2")  # car and boat: a pier town
    page.click("#base-submit")
    page.wait_for_url(re.compile(r"/pangkalan$"))
    row = page.locator("#bases tr", has_text="Dermaga Uji")
    assert row.count() == 1 and f"{lat:.5f}" in row.inner_text()

    # 2. a boat team on the roster, starting from the pier
    page.goto(f"{base}/tim")
    page.fill("#name", "Tim Sungai")
    page.fill("#leader", LEADER)
    page.fill("#phone", PHONE)
    page.select_option("#vehicle", "boat")
    page.select_option("#base_id", label="Dermaga Uji")
    page.fill("#max_nights", "1")
    page.click("#team-submit")
    page.wait_for_url(re.compile(r"/tim$"))
    assert page.locator("#teams td.team-name").all_inner_texts() == ["Tim Sungai"]

    # 3. a plan from the roster: ticking the team fills a row of the table
    page.goto(f"{base}/rencana")
    page.fill("#name", "Rencana dari daftar")
    page.check('input[name="roster_ids"]')
    assert page.input_value("#teams-0-name") == "Tim Sungai"
    assert page.input_value("#teams-0-mode") == "river"
    assert page.input_value("#teams-0-max_nights") == "1"
    assert page.locator("#teams-0-base option:checked").inner_text() == "Dermaga Uji"
    assert page.input_value("#teams-0-roster_id") != ""
    page.uncheck('input[name="roster_ids"]')  # unticking empties the row again
    assert page.input_value("#teams-0-name") == ""
    page.check('input[name="roster_ids"]')
    page.fill("#start_date", next_monday.isoformat())
    page.fill("#days", "1")
    page.click("#plan-submit")
    page.wait_for_url(re.compile(r"/rencana/\d+/v1$"), timeout=60000)
    plan_id = int(re.search(r"/rencana/(\d+)/v1$", page.url).group(1))

    # 4. the team-lead page shows the leader (as text) and a tel: link to the phone
    page.goto(f"{base}/t/{plan_id}/1/1/{next_monday.isoformat()}")
    leader = page.locator("#team-leader")
    assert LEADER in leader.inner_text() and leader.locator("b").count() == 0
    phone = page.locator("#leader-phone")
    assert phone.get_attribute("href") == "tel:+6281234567890"
    assert PHONE in phone.inner_text()
    assert_clean(page)
