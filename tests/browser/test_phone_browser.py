"""Phones (issue 11, item 8): a team lead, logged in on a 360×740 screen, fills in the results
form and sends the day to the team's chat from the team-lead page — no horizontal scrolling,
big tap targets, the copy button really copies the message, the WhatsApp link carries it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import unquote

import geopandas as gpd
import pandas as pd
import pytest

pytestmark = pytest.mark.browser

DATA = Path(__file__).resolve().parents[1] / "data"
PHONE = {"width": 360, "height": 740}
DAY = "2026-12-01"

TAP_TARGETS_JS = """() => [...document.querySelectorAll('a, button, input, select')]
  .filter(e => e.offsetParent !== null && e.type !== 'hidden')
  .map(e => { const r = e.getBoundingClientRect();
              return {what: (e.id || e.name || e.textContent || '').trim().slice(0, 40),
                      w: r.width, h: r.height, right: r.right}; })"""


@pytest.fixture(scope="module")
def phone_site(make_app, live_server, tmp_path_factory, store_plan_doc):
    """A live server with the day-sheet fixture plan (Tim 1 has three stops on 1 Dec, one with
    a hostile name), its villages and a fictional recap (the results form checks against it)."""
    app = make_app(tmp_path_factory.mktemp("phone"))
    with app.app_context():
        from planner import repository

        villages = gpd.read_file(DATA / "villages_daysheet.geojson")
        repository.replace_villages(villages, source_file="villages_daysheet.geojson",
                                    fictional=True)
        recap = pd.DataFrame({"code": villages["code"], "population": 1300, "obliged": 900,
                              "recorded": 500})
        ds = repository.add_dataset(recap, name="Uji ponsel (fiktif)",
                                    snapshot_date=dt.date(2026, 10, 31), recap_file="uji.csv",
                                    fictional=True, synthetic=True, basemap=False)
        ids = store_plan_doc(json.loads((DATA / "plan_daysheet.json").read_text(encoding="utf-8")),
                             "Uji ponsel", dataset_id=ds.id)
    return app, live_server(app), ids


def assert_fits_360(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.evaluate("document.body.scrollWidth") <= 360


def assert_big_targets(page) -> None:
    targets = page.evaluate(TAP_TARGETS_JS)
    assert targets
    small = [t for t in targets if t["h"] < 44 or t["w"] < 44]
    assert not small, f"tap targets smaller than 44 px: {small}"
    assert max(t["right"] for t in targets) <= 360


def test_results_form_on_a_phone(page, phone_site, browser_login, assert_clean):
    app, base, (plan_id, version) = phone_site
    page.set_viewport_size(PHONE)
    browser_login(page, base, app, "team_lead", team="Tim 1")
    page.goto(f"{base}/rencana/{plan_id}/v{version}/hasil?team=Tim%201&day={DAY}")
    page.wait_for_load_state("networkidle")
    assert_fits_360(page)
    # one card per stop, stacked; the table header is hidden
    rows = page.locator("#results-form tr.result-row")
    assert rows.count() == 3
    assert not page.locator("#results-form thead").is_visible()
    boxes = [rows.nth(i).bounding_box() for i in range(3)]
    assert all(b["x"] >= 0 and b["x"] + b["width"] <= 360 for b in boxes)
    assert boxes[1]["y"] >= boxes[0]["y"] + boxes[0]["height"] - 1
    # the hostile village name is text, and the fields are full-width, finger-sized
    assert "<script>alert(1)</script>" in rows.nth(1).inner_text()
    actual = page.locator("input[name=actual-0]").bounding_box()
    assert actual["width"] >= 250 and actual["height"] >= 44
    assert_big_targets(page)
    # it still works: report the first stop
    page.fill("input[name=actual-0]", "40")
    page.select_option("select[name=outcome-0]", "partly")
    page.click("#results-submit")
    page.wait_for_load_state("networkidle")
    assert "/kemajuan" in page.url, page.url
    assert_clean(page)


def test_teamlead_page_sends_the_day_on_a_phone(page, phone_site, browser_login, assert_clean):
    app, base, (plan_id, version) = phone_site
    page.set_viewport_size(PHONE)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    browser_login(page, base, app, "team_lead", team="Tim 1")
    page.goto(f"{base}/t/{plan_id}/{version}/1/{DAY}")
    page.wait_for_load_state("networkidle")
    assert_fits_360(page)
    assert_big_targets(page)

    expected = page.request.get(f"{base}/rencana/{plan_id}/v{version}/pesan?team=1&day={DAY}")
    assert expected.ok and expected.headers["content-type"].startswith("text/plain")
    text = expected.text()
    assert "*Tim 1* — Selasa, 1 Desember 2026" in text and "<script>alert(1)</script>" in text
    box = page.locator("#day-message")
    assert box.input_value() == text
    tb = box.bounding_box()
    assert tb["x"] >= 0 and tb["x"] + tb["width"] <= 360

    link = page.locator("#whatsapp-link").get_attribute("href")
    assert link.startswith("https://wa.me/?text=")
    assert unquote(link[len("https://wa.me/?text="):]) == text

    page.click("#copy-message")
    # (no wait_for_function: its polling evaluates strings, which the CSP forbids)
    page.locator("#copy-status", has_text="Teks tersalin").wait_for(timeout=5000)
    assert page.evaluate("navigator.clipboard.readText()") == text
    # nothing was sent anywhere: the WhatsApp link is only followed when the user taps it
    assert_clean(page)
