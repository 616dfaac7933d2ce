"""The XSS corpus (tests/xss_corpus.py) in real Chromium: the gap view, the map page (tooltips
and popups opened), the plan page with its route map and the team-lead page run no script from
a name — no dialog, no injected element, no request that leaves localhost."""

from __future__ import annotations

import pytest
from xss_corpus import PAYLOADS, load_hostile_plan

pytestmark = pytest.mark.browser

# an injected <b>tebal</b> is a <b> whose whole text is "tebal"; a popup's own <b> title that
# shows the escaped name "</style><b>tebal</b>" as text is not one
INJECTED = "img[src='x'], svg[onload], iframe[src*='evil'], b:text-is('tebal')"


@pytest.fixture(scope="module")
def xss_server(tmp_path_factory, make_app, live_server):
    app = make_app(tmp_path_factory.mktemp("xss"))
    pid, ver, result = load_hostile_plan(app)
    return app, live_server(app), pid, ver, result


def check(page, frame=None):
    where = frame or page
    assert where.locator(INJECTED).count() == 0
    assert page.dialogs == []


def test_the_corpus_stays_text_in_every_page(xss_server, page, assert_clean, browser_login):
    app, base, pid, ver, result = xss_server
    browser_login(page, base, app, "coordinator")
    page.goto(f"{base}/")
    assert page.locator("text=<script>alert(1)</script>").count() >= 1
    check(page)
    page.goto(f"{base}/peta")
    frame = page.frame_locator("#map-frame")
    frame.locator("path.leaflet-interactive").first.wait_for(state="attached")
    paths = frame.locator("path.leaflet-interactive")
    for k in range(min(paths.count(), 8)):  # open tooltips and popups of hostile villages
        paths.nth(k).hover(force=True)
        paths.nth(k).click(force=True)
        check(page, frame)
    page.goto(f"{base}/rencana/{pid}/v{ver}")
    plan_frame = page.frame_locator("#plan-map")
    plan_frame.locator(".planner-stop").first.wait_for(state="attached")
    markers = plan_frame.locator(".planner-stop")
    for k in range(min(markers.count(), 6)):
        markers.nth(k).click(force=True)
        check(page, plan_frame)
    check(page)
    assert page.locator(f"text={PAYLOADS[11]}").count() >= 1  # the plan's name, as text
    assert_clean(page)
