"""The field loop end to end: record what a day achieved, see it in the figures, re-plan the
remaining days as a new version, and see what moved. Real solves (2 s), real database."""

from __future__ import annotations

import copy
import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from planner import field, fmt, plan_json, plan_store, repository
from planner.extensions import db
from planner.models import VillageStat, VisitResult
from planner.plandiff import diff_plans


@pytest.fixture
def planned(app, client, load_tiny, solve_via_form):
    """The tiny fictional regency with a solved plan (version 1)."""
    load_tiny(app)
    job_id = solve_via_form(client, days="4")
    r = client.get(f"/rencana/job/{job_id}")
    assert r.status_code in (200, 302)
    with app.app_context():
        v = plan_store.latest_version(plan_store.list_plans()[0]["id"])
        assert v is not None and v.version == 1
        return v.plan_id


def first_busy_day(result):
    for team in result["teams"]:
        for day in team["days"]:
            if day.get("stops"):
                return team, day
    raise AssertionError("the plan has no stops")


def recorded_of(code: str) -> int:
    frame = repository.villages_frame()
    return int(frame.loc[frame["code"] == code, "recorded"].iloc[0])


def test_record_results_replan_and_diff(app, client, planned, validate_stored):
    with app.app_context():
        v1 = plan_store.latest_version(planned)
        team, day = first_busy_day(v1.result)
        stops = day["stops"]
        done = stops[0]
        before = recorded_of(done["site_code"])
        v1_result = copy.deepcopy(v1.result)

    # --- the team lead reports the day: first stop done, the others not reached
    form = {"team": team["name"], "day": day["date"], "recorded_by": "Ketua Tim 1",
            "actual-0": str(done["expected"]), "outcome-0": "done"}
    for i in range(1, len(stops)):
        form[f"outcome-{i}"] = "not_reached"
        form[f"reason-{i}"] = "weather"
    r = client.post(f"/rencana/{planned}/v1/hasil", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]

    with app.app_context():
        # the village's recorded figure went up; the recap itself is untouched (history kept)
        assert recorded_of(done["site_code"]) == before + done["expected"]
        n_stats = db.session.scalar(select(func.count(VillageStat.id)).where(
            VillageStat.village_code == done["site_code"]))
        assert n_stats == 1
        assert db.session.scalar(select(func.count(VisitResult.id))) == len(stops)

    # the gap view and the progress page reflect it
    page = client.get(f"/rencana/{planned}/v1/kemajuan").get_data(as_text=True)
    assert f'id="achieved">{done["expected"]}<' in page
    gap = client.get("/").get_data(as_text=True)
    assert fmt.integer(before + done["expected"], "id") in gap

    # --- re-plan from the next day on
    from_date = dt.date.fromisoformat(day["date"]) + dt.timedelta(days=1)
    r = client.post(f"/rencana/{planned}/v1/replan",
                    data={"from_date": from_date.isoformat(), "time_limit": "2"})
    assert r.status_code == 302
    job_page = client.get(r.headers["Location"])
    assert job_page.status_code in (200, 302)

    with app.app_context():
        versions = plan_store.list_versions(planned)
        assert [v.version for v in versions] == [1, 2]
        v1, v2 = versions
        assert v1.result == v1_result  # the old version is kept unchanged
        assert v2.replanned_from == from_date.isoformat()
        cut = from_date.isoformat()
        # every stop before the re-plan date (the reported day included) is unchanged
        for t_old in v1.result["teams"]:
            t_new = next(t for t in v2.result["teams"] if t["name"] == t_old["name"])
            assert [d for d in t_old["days"] if d["date"] < cut] == [
                d for d in t_new["days"] if d["date"] < cut]
        # the re-optimised days pass the validator against the updated figures
        assert validate_stored(v2) == []
        # totals cover every day, the kept ones and the re-planned ones
        assert v2.result["totals"] == plan_json.contract_totals(v2.result)
        tail = copy.deepcopy(v2.result)
        for t in tail["teams"]:
            t["days"] = [d for d in t["days"] if d["date"] >= cut]
        # the done village is not planned again for more people than it still lacks
        still = int(repository.villages_frame().set_index("code").loc[done["site_code"], "obliged"]) - recorded_of(done["site_code"])
        again = sum(s["expected"] for t in tail["teams"] for d in t["days"] for s in d["stops"]
                    if s["site_code"] == done["site_code"])
        assert again <= max(still, 0)
        d = diff_plans(v1.result, v2.result)
        assert sum(len(d[k]) for k in ("added", "dropped", "moved", "retimed", "unchanged")) > 0

    # the diff page shows what moved
    r = client.get(f"/rencana/{planned}/beda/1/2")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for key in ("added", "dropped", "moved"):
        assert re.search(rf'id="n-{key}">{len(d[key])}<', html)


def test_bad_reports_store_nothing(app, client, planned):
    with app.app_context():
        v1 = plan_store.latest_version(planned)
        team, day = first_busy_day(v1.result)
        n0 = db.session.scalar(select(func.count(VillageStat.id)))
    url = f"/rencana/{planned}/v1/hasil"
    base = {"team": team["name"], "day": day["date"]}
    for bad in ({"actual-0": "-5", "outcome-0": "done"},
                {"actual-0": "abc", "outcome-0": "partly"},
                {"actual-0": "10", "outcome-0": "not_reached"},
                {"actual-0": "10", "outcome-0": "exploded"},
                {}):
        r = client.post(url, data={**base, **bad})
        assert r.status_code == 400
        assert "Traceback" not in r.get_data(as_text=True)
        assert 'class="flash flash-error"' in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(VillageStat.id))) == n0
        assert db.session.scalar(select(func.count(VisitResult.id))) == 0
        with pytest.raises(field.FieldError):
            field.record_results(plan_store.latest_version(planned), [{"team": team["name"], "date": day["date"],
                                       "site_code": "99.99.99.9999", "outcome": "done",
                                       "actual_recorded": 1}])


def test_a_corrected_report_counts_the_difference_only(app, planned):
    with app.app_context():
        v1 = plan_store.latest_version(planned)
        team, day = first_busy_day(v1.result)
        stop = day["stops"][0]
        before = recorded_of(stop["site_code"])
        rep = {"team": team["name"], "date": day["date"], "site_code": stop["site_code"],
               "outcome": "partly", "actual_recorded": 40}
        field.record_results(v1, [rep])
        field.record_results(v1, [{**rep, "actual_recorded": 55, "outcome": "done"}])
        assert recorded_of(stop["site_code"]) == before + 55
        rows = field.progress_table(v1)
        row = next(r for r in rows if r["team"] == team["name"] and r["date"] == day["date"])
        assert row["achieved"] == 55 and row["done"] == 1


def test_field_pages_404_for_unknown_plan(client, planned):
    assert client.get(f"/rencana/{planned}/v9/hasil").status_code == 404
    assert client.get(f"/rencana/{planned}/v1/hasil?team=Nobody").status_code == 404
    assert client.get(f"/rencana/{planned}/beda/1/7").status_code == 404


def test_a_new_recap_keeps_field_results_and_village_attributes(app, client, planned):
    """A recap dated before the visits gets the visits' people added; one dated after them
    already holds them. Village attributes set by hand survive the new recap."""
    import datetime as dt

    import pandas as pd

    from planner.models import Village

    with app.app_context():
        v1 = plan_store.latest_version(planned)
        team, day = first_busy_day(v1.result)
        stop = day["stops"][0]
        code = stop["site_code"]
        field.record_results(v1, [{"team": team["name"], "date": day["date"], "site_code": code,
                                   "outcome": "done", "actual_recorded": 12}])
        village = db.session.scalar(select(Village).where(Village.code == code))
        village.access, village.access_source, village.lodging = "both", "manual", "puskesmas"
        db.session.commit()
        recap = repository.villages_frame()[["code", "population", "obliged", "recorded"]]
        base = recap.set_index("code")["recorded"].to_dict()
        visit = dt.date.fromisoformat(day["date"])
        before_visit = repository.add_dataset(pd.DataFrame(recap.assign(
            recorded=lambda f: f["code"].map(base) - f["code"].eq(code) * 12)),
            name="rekap lama", snapshot_date=visit - dt.timedelta(days=3), recap_file="a.csv")
        assert recorded_of(code) == base[code]  # recap (without the visit) + the visit
        repository.add_dataset(recap, name="rekap baru", snapshot_date=visit + dt.timedelta(days=1),
                               recap_file="b.csv")
        assert recorded_of(code) == base[code]  # the office's count already has the visit
        assert repository.current_dataset().name == "rekap baru"
        village = db.session.scalar(select(Village).where(Village.code == code))
        assert (village.access, village.access_source, village.lodging) == ("both", "manual", "puskesmas")
        del before_visit


def test_impossible_and_unlikely_results_are_checked(app, client, planned):
    with app.app_context():
        v1 = plan_store.latest_version(planned)
        team, day = first_busy_day(v1.result)
        stop = day["stops"][0]
        frame = repository.villages_frame().set_index("code")
        unrecorded = int(frame.loc[stop["site_code"], "obliged"] - frame.loc[stop["site_code"], "recorded"])
    url = f"/rencana/{planned}/v1/hasil"
    base = {"team": team["name"], "day": day["date"]}
    for too_many in (unrecorded + 1, 10**15):
        r = client.post(url, data={**base, "actual-0": str(too_many), "outcome-0": "done"})
        html = r.get_data(as_text=True)
        assert r.status_code == 400, too_many
        assert stop["name"] in html.replace("&#39;", "'") or "Desa Uji" in html
        assert "batas" in html and f'value="{too_many}"' in html  # the input is kept
    with app.app_context():
        assert db.session.scalar(select(func.count(VisitResult.id))) == 0
    # far above the plan (but possible): saved only after a confirmation
    high = min(unrecorded, 2 * stop["expected"] + 1)
    if high > 2 * stop["expected"]:
        r = client.post(url, data={**base, "actual-0": str(high), "outcome-0": "done"})
        assert r.status_code == 409 and 'id="confirm-box"' in r.get_data(as_text=True)
        r = client.post(url, data={**base, "actual-0": str(high), "outcome-0": "done", "confirm": "y"})
        assert r.status_code == 302
    # a correction replaces the earlier report; both stay in the history
    client.post(url, data={**base, "actual-0": "2", "outcome-0": "done", "confirm": "y"})
    client.post(url, data={**base, "actual-0": "3", "outcome-0": "partly", "confirm": "y"})
    page = client.get(url + f"?team={team['name']}&day={day['date']}").get_data(as_text=True)
    assert page.count('class="history"') >= 2
    with app.app_context():
        latest = field.latest_results([plan_store.latest_version(planned).id])
        assert latest[(team["name"], day["date"], stop["site_code"])].actual_recorded == 3
