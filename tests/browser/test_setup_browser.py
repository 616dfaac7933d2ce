"""Day one in a real browser: an empty office sees the set-up checklist with links, imports the
demo files through the import page and finds the first two items ticked; the plan page's
village search filters the stop tables (accent- and case-insensitive) without a reload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browserkit import stub_tiles

from planner.paths import DATA_DIR

pytestmark = pytest.mark.browser

TESTS_DATA = Path(__file__).resolve().parents[1] / "data"
KEYS = ["boundaries", "recap", "bases", "access", "travel", "teams"]


@pytest.fixture(scope="module")
def setup_site(make_app, live_server, tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("setup"))
    return app, live_server(app)


def done(page) -> dict[str, str]:
    return {k: page.locator(f"#setup-{k}").get_attribute("data-done") for k in KEYS}


def test_empty_office_follows_the_checklist_through_the_import_page(
        page, setup_site, browser_login, assert_clean):
    app, base = setup_site
    browser_login(page, base, app, "coordinator")
    page.goto(f"{base}/")
    assert page.locator("#no-data").is_visible()
    assert page.locator("#setup").get_attribute("open") is not None
    assert set(done(page).values()) == {"0"}
    link = page.locator("#setup-boundaries a.setup-link")
    assert link.is_visible() and link.get_attribute("href") == "/impor"
    assert page.locator("#setup-travel a.setup-link").get_attribute("href") == \
        "/pengaturan/perjalanan"

    link.click()
    page.wait_for_url(f"{base}/impor")
    page.set_input_files("#v-file", str(DATA_DIR / "demo_villages.geojson"))
    page.locator("#import-villages button[type=submit]").click()
    page.wait_for_url(f"{base}/")
    assert done(page)["boundaries"] == "1" and done(page)["recap"] == "0"

    page.locator("#setup-recap a.setup-link").click()
    page.wait_for_url(f"{base}/impor")
    page.set_input_files("#r-file", str(DATA_DIR / "demo_recap.csv"))
    page.locator("#import-recap button[type=submit]").click()
    page.wait_for_url(f"{base}/")
    state = done(page)
    assert state["boundaries"] == "1" and state["recap"] == "1" and state["bases"] == "0"
    assert page.locator("#setup").get_attribute("open") is not None  # not ready yet
    assert page.locator("#setup-boundaries").inner_text().count("desa/kelurahan") == 1
    assert page.locator("#ranking tbody tr").count() > 100  # the gap view below it
    assert_clean(page)


def test_plan_page_search_filters_the_stop_tables(page, setup_site, browser_login,
                                                  store_plan_doc, assert_clean):
    app, base = setup_site
    doc = json.loads((TESTS_DATA / "plan_daysheet.json").read_text(encoding="utf-8"))
    with app.app_context():
        pid, ver = store_plan_doc(doc, "Uji cari desa")
    stub_tiles(page)
    browser_login(page, base, app, "viewer")
    page.goto(f"{base}/rencana/{pid}/v{ver}")
    stops = page.locator("tr.stop")
    total = stops.count()
    assert total >= 5
    page.fill("#stop-search-q", "SUNGAÍ  alpha")  # another case, an accent, two spaces
    visible = page.locator("tr.stop:visible")
    assert visible.count() == 1 and "Sungai Alpha" in visible.first.inner_text()
    assert "q=SUNGA" in page.url  # the search stays in the address
    page.fill("#stop-search-q", "99.01.01.2008")  # a code
    assert page.locator("tr.stop:visible").count() == 1
    page.fill("#stop-search-q", "tidak ada desa ini")
    assert page.locator("tr.stop:visible").count() == 0
    assert page.locator("#stop-search-none").is_visible()
    page.fill("#stop-search-q", "")
    assert page.locator("tr.stop:visible").count() == total
    assert not page.locator("#stop-search-none").is_visible()
    assert_clean(page)
