"""The campaign page (issue 11): planned vs recorded per day, the regency's rate over time, per
team and per kecamatan, as a page, a PNG and an XLSX. Real solves (1 s), real reports through
``field.record_results``, real database; the expected figures are recomputed here from the
stored Plan JSON and the reports, independently of ``planner.campaign``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re

import pandas as pd
import pytest

from planner import campaign, datasets, field, fmt, pipeline, plan_store, ranking, repository

START = dt.date(2026, 11, 2)          # a Monday after the tiny recap's snapshot (2026-10-31)
OLD_SNAPSHOT = dt.date(2026, 9, 30)   # an older recap of the same villages
HOSTILE_TEAM = '=HYPERLINK("http://contoh.invalid","klik") <b>Tim</b>'


def _stops(result: dict):
    """(team, date, stop) of a stored plan, read straight from the JSON (the test's own view)."""
    for team in result["teams"]:
        for day in team["days"]:
            for stop in day.get("stops") or []:
                yield team["name"], day["date"], stop


def _solve(name: str, teams, start: dt.date, days: int):
    params = pipeline.sample_params(time_limit=1, start_date=start)
    params = params.replace(name=name, teams=tuple(teams),
                            calendar=dataclasses.replace(params.calendar, days=days))
    return pipeline.run(params, workers=1)


@pytest.fixture(scope="module")
def site(tmp_path_factory, make_app, load_tiny):
    """The tiny regency with an older recap, the active one, two plans and field reports:
    one stop reported and corrected (the correction replaces), one stop reported done, one
    stop of the second plan (whose second team has a hostile name)."""
    app = make_app(tmp_path_factory.mktemp("campaign"), PLAN_WORKERS=1)
    load_tiny(app)
    with app.app_context():
        active = repository.current_dataset()
        recap = repository.villages_frame()[["code", "population", "obliged", "recorded"]]
        repository.add_dataset(recap.assign(recorded=recap["recorded"] - 50), name="Rekap lama",
                               snapshot_date=OLD_SNAPSHOT, recap_file="lama.csv")
        datasets.activate(active.id)  # the older recap stays a point on the curve only
        base = pipeline.sample_params(time_limit=1, start_date=START).teams
        a = _solve("Kampanye A", base[:2], START, 3)
        b = _solve("Kampanye B", [base[0], dataclasses.replace(base[1], name=HOSTILE_TEAM)],
                   START + dt.timedelta(days=7), 2)
        (t1, d1, s1), (t2, d2, s2) = list(_stops(a.result))[:2]
        half = max(int(s1["expected"]) // 2, 1)
        first = {"team": t1, "date": d1, "site_code": s1["site_code"], "outcome": "partly",
                 "actual_recorded": half}
        field.record_results(a, [first])
        field.record_results(a, [{**first, "outcome": "done",
                                  "actual_recorded": int(s1["expected"])}])  # a correction
        field.record_results(a, [{"team": t2, "date": d2, "site_code": s2["site_code"],
                                  "outcome": "done", "actual_recorded": int(s2["expected"]) - 1}])
        tb, db_, sb = next((t, d, s) for t, d, s in _stops(b.result) if t == HOSTILE_TEAM)
        field.record_results(b, [{"team": tb, "date": db_, "site_code": sb["site_code"],
                                  "outcome": "partly", "actual_recorded": 7}])
        reports = {(t1, d1, s1["site_code"]): int(s1["expected"]),
                   (t2, d2, s2["site_code"]): int(s2["expected"]) - 1,
                   (tb, db_, sb["site_code"]): 7}
        info = {"a": a.plan_id, "b": b.plan_id, "results": {"a": a.result, "b": b.result},
                "reports": reports, "active": active.id}
    yield app, info


def _expected(info, plans=("a", "b")):
    """Planned and recorded per date, team and kecamatan, from the JSON and the reports."""
    days, teams, kecs = {}, {}, {}
    for key in plans:
        counted = set()  # a report is per (team, date, village): split sessions count it once
        for team, date, stop in _stops(info["results"][key]):
            rkey = (team, date, stop["site_code"])
            got = 0 if rkey in counted else info["reports"].get(rkey, 0)
            counted.add(rkey)
            for table, k in ((days, dt.date.fromisoformat(date)), (teams, team),
                             (kecs, stop["kecamatan"])):
                row = table.setdefault(k, [0, 0])
                row[0] += int(stop["expected"])
                row[1] += got
    return days, teams, kecs


def test_campaign_figures_match_the_plans_and_reports(site):
    app, info = site
    days, teams, kecs = _expected(info)
    with app.app_context():
        c = campaign.campaign()
        assert [p["id"] for p in c.plans] == [info["a"], info["b"]]
        assert {d["date"]: [d["planned"], d["recorded"]] for d in c.days} == days
        assert [d["date"] for d in c.days] == sorted(days)
        assert {t["team"]: [t["planned"], t["recorded"]] for t in c.by_team} == teams
        # "Tim 1" works in both plans: one row
        assert sum(1 for t in c.by_team if t["team"] == "Tim 1") == 1
        # the correction replaced the first report: recorded = the reports' final values
        assert c.totals["recorded"] == sum(info["reports"].values())
        assert c.totals["planned"] == sum(v[0] for v in days.values())
        assert c.totals["pct"] == pytest.approx(c.totals["recorded"] / c.totals["planned"])
        assert sum(d["reported"] for d in c.days) == 3
        day = next(d for d in c.days if d["recorded"])
        assert day["pct"] == pytest.approx(day["recorded"] / day["planned"])
        # per kecamatan: the plans' figures, and the current rate the gap view shows
        rollup = ranking.rollup(repository.villages_frame().drop(columns="geometry"))
        assert [k["kecamatan"] for k in c.by_kecamatan] == list(rollup["kecamatan"])
        for k in c.by_kecamatan:
            r = rollup.set_index("kecamatan").loc[k["kecamatan"]]
            assert (k["obliged"], k["recorded_now"]) == (int(r["obliged"]), int(r["recorded"]))
            assert k["rate"] == pytest.approx(float(r["rate"]))
            assert [k["planned"], k["recorded"]] == kecs.get(k["kecamatan"], [0, 0])


def test_rate_series_snapshots_then_field_results(site):
    app, info = site
    with app.app_context():
        c = campaign.campaign()
        sums = datasets.totals()
        recap = [p for p in c.rate_series if p["kind"] == "recap"]
        assert [p["date"] for p in recap] == [OLD_SNAPSHOT, dt.date(2026, 10, 31)]
        assert [p["active"] for p in recap] == [False, True]
        old, active = recap
        assert old["recorded"] == active["recorded"] - 50 * len(repository.villages_frame())
        assert active["recorded"] == sums[info["active"]]["recorded"]
        assert active["rate"] == pytest.approx(active["recorded"] / active["obliged"])
        # after the active snapshot: one point per day with results, cumulated
        fields = [p for p in c.rate_series if p["kind"] == "field"]
        by_date: dict[dt.date, int] = {}
        for (_t, date, _code), n in info["reports"].items():
            by_date[dt.date.fromisoformat(date)] = by_date.get(dt.date.fromisoformat(date), 0) + n
        assert [p["date"] for p in fields] == sorted(by_date)
        running = active["recorded"]
        for p, date in zip(fields, sorted(by_date), strict=True):
            running += by_date[date]
            assert p["recorded"] == running and p["obliged"] == active["obliged"]
        # the last point is the figure of the gap view (recap + field results since it)
        now = ranking.totals(repository.villages_frame())
        assert fields[-1]["recorded"] == now["recorded"] == c.now["recorded"]
        assert fields[-1]["rate"] == pytest.approx(now["rate"])


def test_archived_plans_leave_the_campaign_not_the_regency_rate(site):
    app, info = site
    days, _teams, _kecs = _expected(info, plans=("a",))
    with app.app_context():
        before = campaign.campaign().rate_series
        plan_store.set_archived(info["b"], True)
        try:
            c = campaign.campaign()
            assert [p["id"] for p in c.plans] == [info["a"]]
            assert {d["date"]: [d["planned"], d["recorded"]] for d in c.days} == days
            assert HOSTILE_TEAM not in {t["team"] for t in c.by_team}
            assert c.rate_series == before  # the people were recorded all the same
        finally:
            plan_store.set_archived(info["b"], False)


def test_page_shows_the_figures(site, client_as):
    app, info = site
    with app.app_context():
        c = campaign.campaign()
    r = client_as(app, "viewer").get("/kampanye")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert f'id="total-planned">{fmt.integer(c.totals["planned"], "id")}<' in html
    assert f'id="total-recorded">{fmt.integer(c.totals["recorded"], "id")}<' in html
    assert f'id="rate-now">{fmt.percent(c.now["rate"], "id")}<' in html
    for d in c.days:
        row = re.search(rf'<tr data-date="{d["date"].isoformat()}">.*?</tr>', html, re.S).group(0)
        assert f'class="num planned">{fmt.integer(d["planned"], "id")}<' in row
        assert f'class="num recorded">{fmt.integer(d["recorded"], "id")}<' in row
    for p in c.rate_series:
        assert fmt.percent(p["rate"], "id") in html
    # user text is escaped, never markup
    assert "<b>Tim</b>" not in html and "&lt;b&gt;Tim&lt;/b&gt;" in html
    assert 'src="/kampanye.png"' in html and 'href="/kampanye.xlsx"' in html
    assert "Kampanye A (v1)" in html
    # the nav shows the page to the office
    assert 'href="/kampanye"' in html


def test_english_page(site, client_as):
    app, _info = site
    with app.app_context():
        c = campaign.campaign()
    client = client_as(app, "coordinator")
    html = client.get("/kampanye?lang=en").get_data(as_text=True)
    assert 'lang="en"' in html
    for english in ("People planned", "Recorded so far", "Recording rate", "Obliged (e-KTP)"):
        assert english in html
    assert "Rencana orang" not in html
    planned_en = fmt.integer(c.totals["planned"], "en")
    assert f'id="total-planned">{planned_en}<' in html
    assert c.totals["planned"] < 1000 or planned_en != fmt.integer(c.totals["planned"], "id")
    assert fmt.date_medium(c.days[0]["date"], "en") in html


def test_png_is_a_real_picture_in_the_readers_language(site, client_as):
    app, _info = site
    client = client_as(app, "admin")
    r = client.get("/kampanye.png")
    assert r.status_code == 200 and r.mimetype == "image/png"
    data = r.get_data()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    img.verify()
    assert img.size == (1000, 750)
    english = client.get("/kampanye.png?lang=en").get_data()
    assert english.startswith(b"\x89PNG") and english != data


def test_xlsx_has_the_figures_and_no_formulas(site, client_as):
    app, _info = site
    with app.app_context():
        c = campaign.campaign()
    r = client_as(app, "admin").get("/kampanye.xlsx?lang=id")
    assert r.status_code == 200
    assert "kampanye.xlsx" in r.headers["Content-Disposition"]
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(r.get_data()))
    assert wb.sheetnames == ["Per hari", "Persentase rekam", "Per tim", "Per kecamatan"]
    for ws in wb.worksheets:  # nothing a spreadsheet would run
        assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row), ws.title
    frames = pd.read_excel(io.BytesIO(r.get_data()), sheet_name=None)
    per_day = frames["Per hari"]
    assert list(per_day.columns[:3]) == ["Tanggal", "Rencana orang", "Sudah direkam"]
    assert [d.date() for d in per_day["Tanggal"]] == [d["date"] for d in c.days]
    assert list(per_day["Rencana orang"]) == [d["planned"] for d in c.days]
    assert list(per_day["Sudah direkam"]) == [d["recorded"] for d in c.days]
    rate = frames["Persentase rekam"]
    assert list(rate["Sudah rekam"]) == [p["recorded"] for p in c.rate_series]
    assert list(rate["Persentase rekam"]) == pytest.approx([p["rate"] for p in c.rate_series])
    teams = frames["Per tim"].set_index("Tim")
    assert "'" + HOSTILE_TEAM in teams.index  # shown as text, not run as a formula
    for t in c.by_team:
        name = "'" + t["team"] if t["team"].startswith("=") else t["team"]
        assert teams.loc[name, "Sudah direkam"] == t["recorded"]
    kec = frames["Per kecamatan"]
    assert list(kec["Kecamatan"]) == [k["kecamatan"] for k in c.by_kecamatan]
    assert list(kec["Persentase rekam"]) == pytest.approx([k["rate"] for k in c.by_kecamatan])
    assert wb["Per hari"]["D2"].number_format == "0.0%"


def test_team_leads_may_not_see_the_campaign(site, client_as):
    app, _info = site
    lead = client_as(app, "team_lead", team="Tim 1")
    for url in ("/kampanye", "/kampanye.png", "/kampanye.xlsx"):
        assert lead.get(url).status_code == 403, url
    assert 'href="/kampanye"' not in lead.get("/rencana").get_data(as_text=True)


def test_empty_database_shows_the_empty_state(app, client):
    r = client.get("/kampanye")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="campaign-empty"' in html and 'href="/impor"' in html
    png = client.get("/kampanye.png")
    assert png.status_code == 200 and png.get_data().startswith(b"\x89PNG")
    xlsx = client.get("/kampanye.xlsx")
    assert xlsx.status_code == 200
    assert set(pd.read_excel(io.BytesIO(xlsx.get_data()), sheet_name=None)) == {
        "Per hari", "Persentase rekam", "Per tim", "Per kecamatan"}


def test_data_without_plans_shows_the_rate_and_where_to_start(demo_app, client):
    r = client.get("/kampanye")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="campaign-empty"' in html and 'href="/rencana"' in html
    assert 'id="campaign-days"' not in html and 'id="campaign-kecamatan"' in html
    with demo_app.app_context():
        c = campaign.campaign()
        assert c.plans == [] and c.days == [] and c.totals["planned"] == 0
        assert [p["kind"] for p in c.rate_series] == ["recap"]
        assert fmt.percent(c.rate_series[0]["rate"], "id") in html
    assert client.get("/kampanye.png").get_data().startswith(b"\x89PNG")
