"""Day one with a real regency, entirely in the browser (issue 10): an empty database → import
the real Kotawaringin Timur boundaries (../shared, read at run time, never copied) and an office
recap (synthetic figures, no access column) → add a base → mark the river villages (a bulk
attributes file and one village by hand) → plan with a car team and a boat team. The boat team
gets river-only villages, the car team none of them. No CLI or shell step after the empty
database."""

from __future__ import annotations

import re
import time

import pandas as pd
import pytest
from browserkit import stub_tiles

pytestmark = pytest.mark.browser

SAMPIT = (-2.5336, 112.9497)
BULK_KECAMATAN = "Pulau Hanaut"   # across the Mentaya from Sampit: by boat
BY_HAND = "62.02.12.2005"         # Ganepo (Seranau), on the river bank opposite Sampit


@pytest.fixture(scope="module")
def kotim_site(make_app, live_server, tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("kotim_setup"), PLAN_ASYNC=True, PLAN_TIME_LIMIT_S=5)
    yield app, live_server(app)
    ex = app.extensions.get("planner_jobs")
    if ex is not None:
        ex.shutdown(wait=True)


def office_recap(kotim_dir, path) -> None:
    """The office's recap as it comes: title rows, Indonesian numbers, a TOTAL row — and no
    access or signal columns (synthetic figures, generated here, never committed)."""
    from planner.demo import kotim_recap, recap_csv_bytes

    text = recap_csv_bytes(kotim_recap(kotim_dir / "villages.csv")).decode("utf-8-sig")
    lines = [";".join(line.split(";")[:-2]) for line in text.split("\r\n") if line]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8-sig"))


def test_a_real_regency_from_an_empty_database_to_a_car_and_boat_plan(
        kotim_site, kotim_dir, page, browser_login, assert_clean, tmp_path, next_monday):
    app, base = kotim_site
    stub_tiles(page)
    page.context.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=b""))
    villages = pd.read_csv(kotim_dir / "villages.csv", dtype=str)
    bulk = sorted(villages.loc[villages["kecamatan"] == BULK_KECAMATAN, "code"])
    assert len(bulk) == 14
    recap = tmp_path / "rekap_kotim_sintetis.csv"
    office_recap(kotim_dir, recap)
    attributes = tmp_path / "akses_sungai.csv"
    attributes.write_text("kode,akses\n" + "".join(f"{c},sungai\n" for c in bulk), encoding="utf-8")

    browser_login(page, base, app, "coordinator")
    page.goto(f"{base}/")
    assert page.locator("#setup").get_attribute("open") is not None

    # 1. boundaries and recap through the import page
    page.locator("#setup-boundaries a.setup-link").click()
    page.wait_for_url(f"{base}/impor")
    page.set_input_files("#v-file", str(kotim_dir / "villages.geojson"))
    page.locator("#import-villages button[type=submit]").click()
    page.wait_for_url(f"{base}/")
    page.locator("#setup-recap a.setup-link").click()
    page.wait_for_url(f"{base}/impor")
    page.set_input_files("#r-file", str(recap))
    page.fill("#r-name", "Rekap uji Kotim (sintetis)")
    page.check("#r-synthetic")
    page.locator("#import-recap button[type=submit]").click()
    page.wait_for_url(f"{base}/")
    assert page.locator("#ranking tbody tr").count() == 185
    assert page.locator("#setup-bases").get_attribute("data-done") == "0"

    # 2. a base: the office in Sampit, on the Mentaya (cars and boats start there)
    page.locator("#setup-bases a.setup-link").click()
    page.wait_for_url(re.compile(r"/pangkalan"))
    page.fill("#name", "Kantor Disdukcapil Sampit")
    page.fill("#lat", str(SAMPIT[0]).replace(".", ","))  # typed the Indonesian way
    page.fill("#lon", str(SAMPIT[1]).replace(".", ","))
    page.check("input[name=vehicles][value=both]")
    page.click("#base-submit")
    page.wait_for_load_state()
    assert page.locator("#bases", has_text="Kantor Disdukcapil Sampit").count() == 1

    # 3a. river villages in bulk: the attributes file on the import page
    page.goto(f"{base}/impor")
    page.set_input_files("#attributes_file", str(attributes))
    page.click("#attributes-submit")
    page.wait_for_load_state()
    assert page.locator(".flash", has_text="14").count() >= 1, page.content()[:3000]
    # 3b. and one by hand, from the gap view's village link
    page.goto(f"{base}/?q={BY_HAND}")
    page.locator(f"#v-{re.escape(BY_HAND)} a[href$='/desa/{BY_HAND}']").first.click()
    page.wait_for_url(re.compile(rf"/desa/{re.escape(BY_HAND)}$"))
    page.check("input[name=access][value=river]")
    page.click("#village-save")
    page.wait_for_load_state()
    page.goto(f"{base}/")
    access_line = page.locator("#setup-access").inner_text()
    assert "15" in access_line, access_line  # "15 villages marked river-only"

    # 4. a plan with a car team and a boat team
    page.goto(f"{base}/rencana")
    page.fill("#name", "Kotim: mobil dan perahu")
    page.fill("#teams-0-name", "Tim Mobil")
    page.select_option("#teams-0-mode", "road")
    page.fill("#teams-1-name", "Tim Perahu")
    page.select_option("#teams-1-mode", "river")
    page.fill("#teams-1-max_nights", "1")
    page.fill("#start_date", next_monday.isoformat())
    page.fill("#days", "3")
    page.fill("#time_limit", "5")
    page.click("#plan-submit")
    page.wait_for_url(re.compile(r"/rencana/job/\d+$"))
    deadline = time.monotonic() + 120
    while "/rencana/job/" in page.url and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert re.search(r"/rencana/\d+/v1$", page.url), page.url

    river = set(bulk) | {BY_HAND}
    boat = page.locator("section.team", has_text="Tim Perahu").locator("tr.stop")
    car = page.locator("section.team", has_text="Tim Mobil").locator("tr.stop")
    boat_codes = {boat.nth(i).get_attribute("data-code") for i in range(boat.count())}
    car_codes = {car.nth(i).get_attribute("data-code") for i in range(car.count())}
    assert boat_codes, "the boat team got no stops"
    assert boat_codes <= river, boat_codes - river   # only villages marked river-only
    assert car_codes and not car_codes & river        # the car team never crosses the river
    assert_clean(page)
