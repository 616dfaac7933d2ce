"""The plan page end to end in headless Chromium: fill in the form, watch the progress page
count up while the solver runs in the background (PLAN_ASYNC on, 3 s limit), land on the
result page and see the routes drawn on the map; no console errors, nothing leaves localhost."""

from __future__ import annotations

import re
import time

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def plan_server(tmp_path_factory, make_app, live_server, load_tiny):
    app = make_app(tmp_path_factory.mktemp("plan_page"), PLAN_ASYNC=True, PLAN_TIME_LIMIT_S=3)
    load_tiny(app)
    yield app, live_server(app)
    ex = app.extensions.get("planner_jobs")
    if ex is not None:
        ex.shutdown(wait=True)


def no_favicon(page) -> None:
    """The app has no favicon yet; answer Chromium's automatic /favicon.ico request locally
    so its 404 does not count as a console error of the page under test."""
    page.context.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=b""))


def test_submit_form_see_progress_and_routes(plan_server, page, assert_clean, next_monday,
                                             hostile_name, browser_login):
    app, base = plan_server
    no_favicon(page)
    browser_login(page, base, app, "coordinator")
    page.goto(f"{base}/rencana")
    page.fill("#name", "Rencana peramban")
    page.fill("#teams-0-name", "Tim Darat")
    page.fill("#teams-1-name", "Tim Perahu")
    page.select_option("#teams-1-mode", "both")
    page.fill("#teams-1-max_nights", "2")
    page.fill("#start_date", next_monday.isoformat())
    page.fill("#days", "3")
    assert page.input_value("#time_limit") == "3"  # the app's default limit
    # a tiny instance converges early (about 70 % of the limit): give it 6 s so the progress
    # page has time to count a few seconds
    page.fill("#time_limit", "6")
    page.click("#plan-submit")

    page.wait_for_url(re.compile(r"/rencana/job/\d+$"))
    # the progress page polls the job every second: elapsed counts up until the result opens
    seen: list[int] = []
    statuses: set[str] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "/rencana/job/" in page.url:
        try:
            text = page.text_content("#job-elapsed", timeout=500)
            statuses.add(page.text_content("#job-status", timeout=500) or "")
        except Exception:  # noqa: BLE001  (navigated away between the two calls)
            break
        if text and text.strip().isdigit():
            seen.append(int(text))
        time.sleep(0.25)
    assert seen == sorted(seen), seen
    assert len(set(seen)) >= 2 and max(seen) >= 2, f"elapsed did not count up: {seen}"
    assert "Sedang menghitung" in statuses, statuses

    page.wait_for_url(re.compile(r"/rencana/\d+/v1$"), timeout=60000)
    assert page.locator("h1").inner_text().startswith("Rencana peramban")
    n_stops = page.locator("tr.stop").count()
    assert n_stops > 0
    assert page.locator("section.team h3", has_text="Tim Perahu").count() == 1
    people = page.locator("#total-people").inner_text()
    assert re.fullmatch(r"[\d.]+", people) and int(people.replace(".", "")) > 0

    frame = page.frame_locator("#plan-map")
    markers = frame.locator(".planner-stop")
    markers.first.wait_for(state="attached")
    assert markers.count() == n_stops  # one numbered marker per stop in the tables
    assert frame.locator("path.leaflet-interactive").count() >= 1  # route polylines drawn
    map_frame = page.frame(url=re.compile(r"/map\.html$"))
    assert map_frame.evaluate("() => !!window.plannerMap && Object.keys(window.plannerLayers).length > 0")
    # the hostile village name is shown as text, never run
    assert hostile_name not in page.content() or page.locator("script", has_text="alert('x')").count() == 0
    assert_clean(page)


def test_failed_solve_shows_message_and_link_back(plan_server, page, assert_clean, next_monday,
                                                  browser_login):
    """A solve the engine refuses: the progress page shows the paragraph and a link back."""
    app, base = plan_server
    no_favicon(page)
    browser_login(page, base, app, "coordinator")
    from planner import jobs, repository
    from planner import params as P

    with app.app_context():
        ds = repository.current_dataset()
        b = repository.default_base()
        job_id = jobs.submit_plan_job(app, P.build(
            name="Kunci mustahil", dataset_id=ds.id, days=1, start_date=next_monday,
            time_limit=1, teams=[P.team("Tim A", {"name": b.name, "lat": b.lat, "lon": b.lon})],
            locks=[{"site_code": "99.01.09.9999", "date": next_monday.isoformat(),
                    "team": "Tim A"}]))
    page.goto(f"{base}/rencana/job/{job_id}")
    page.locator("#job-error").wait_for(state="visible", timeout=30000)
    assert "99.01.09.9999" in page.inner_text("#job-error-text")
    assert page.inner_text("#job-status") == "Gagal"
    page.click("text=Kembali ke formulir rencana")
    page.wait_for_url(re.compile(r"/rencana(#new)?$"))
    assert_clean(page)
