"""The stop lifecycle from the plan page: lock, announce (a stop, a team-day, a week), cancel
with a reason, villages locked to a date, must-visit / exclude flags from the gap view — and
what re-plans do with them. Real solves (2 s), real database, the real web routes."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from planner import field, lifecycle, plan_json, plan_store
from planner.extensions import db
from planner.models import AuditEvent, StopMark


@pytest.fixture
def planned(app, client, load_tiny, solve_via_form):
    load_tiny(app)
    job_id = solve_via_form(client, days="4")
    assert client.get(f"/rencana/job/{job_id}").status_code in (200, 302)
    with app.app_context():
        return plan_store.latest_version(plan_store.list_plans()[0]["id"]).plan_id


def busy_days(result):
    return [(t["name"], d) for t in result["teams"] for d in t["days"] if d.get("stops")]


def token(client, path):
    html = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return m.group(1) if m else ""


def post_state(client, plan_id, **data):
    return client.post(f"/rencana/{plan_id}/v1/status", data=data)


def test_announce_a_day_then_replan_keeps_those_stops(app, client, planned, validate_stored):
    with app.app_context():
        v1 = plan_store.latest_version(planned)
        days = busy_days(v1.result)
        team, day = days[-1]  # a late day: it is re-planned
        announced = {(team, day["date"], s["site_code"]) for s in day["stops"]}
        first_date = plan_json.dates(v1.result)[0]
    r = post_state(client, planned, scope="day", state="announced", team=team, date=day["date"])
    assert r.status_code == 302
    html = client.get(f"/rencana/{planned}/v1").get_data(as_text=True)
    assert re.search(rf'data-state="announced">[^<]*<span class="n">{len(announced)}<', html)
    with app.app_context():
        marks = lifecycle.marks(planned)
        assert set(marks) == announced and {m.state for m in marks.values()} == {"announced"}
        assert db.session.scalar(select(func.count(AuditEvent.id))
                                 .where(AuditEvent.action == "stop.announce")) == 1
        v1 = plan_store.latest_version(planned)
        cut = dt.date.fromisoformat(first_date) + dt.timedelta(days=1)
        params = field.replan_params(v1, cut, time_limit=2)
        locks = {(lk.team, lk.date, lk.site_code) for lk in params.locks}
        assert announced <= locks
        v2 = field.replan(v1, cut, time_limit=2, workers=1)
        kept = {ref.key for ref in plan_json.iter_stops(v2.result)}
        assert announced <= kept, "announced stops stay on their team and date"
        assert validate_stored(v2) == []


def test_cancel_needs_a_reason_and_frees_the_stop(app, client, planned):
    with app.app_context():
        v1 = plan_store.latest_version(planned)
        team, day = busy_days(v1.result)[-1]
        stop = day["stops"][0]
    key = dict(team=team, date=day["date"], code=stop["site_code"])
    r = post_state(client, planned, scope="stop", state="cancelled", **key)
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Pilih alasan pembatalan" in page
    with app.app_context():
        assert lifecycle.marks(planned) == {}
    r = post_state(client, planned, scope="stop", state="cancelled", reason="flood", **key)
    assert r.status_code == 302
    html = client.get(f"/rencana/{planned}/v1").get_data(as_text=True)
    assert "banjir" in html and 'data-state="cancelled"' in html
    html_en = client.get(f"/rencana/{planned}/v1?lang=en").get_data(as_text=True)
    assert "flood" in html_en and "cancelled" in html_en
    with app.app_context():
        v1 = plan_store.latest_version(planned)
        first = plan_json.dates(v1.result)[0]
        params = field.replan_params(v1, dt.date.fromisoformat(first), time_limit=2)
        here = (team, day["date"], stop["site_code"])
        assert here not in {(p.team, p.date, p.site_code) for p in params.prefer}
        assert here not in {(p.team, p.date, p.site_code) for p in params.locks}
    # back to planned: the mark goes, the change is audited
    post_state(client, planned, scope="stop", state="planned", **key)
    with app.app_context():
        assert lifecycle.marks(planned) == {}
        actions = db.session.scalars(select(AuditEvent.action)
                                     .where(AuditEvent.action.like("stop.%"))).all()
        assert actions == ["stop.cancel", "stop.reset"]


def test_a_reported_stop_cannot_be_announced(app, client, planned):
    with app.app_context():
        v1 = plan_store.latest_version(planned)
        team, day = busy_days(v1.result)[0]
        stop = day["stops"][0]
        field.record_results(v1, [{"team": team, "date": day["date"], "site_code": stop["site_code"],
                                   "actual_recorded": 1, "outcome": "done"}], recorded_by="uji")
        name = stop["name"]
    r = post_state(client, planned, scope="stop", state="announced", team=team, date=day["date"],
                   code=stop["site_code"])
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "sudah dilaporkan selesai" in page
    assert plan_json_escape(name) in page
    with app.app_context():
        assert lifecycle.marks(planned) == {}
    # a whole day skips the reported stop and announces the rest
    post_state(client, planned, scope="day", state="announced", team=team, date=day["date"])
    with app.app_context():
        assert (team, day["date"], stop["site_code"]) not in lifecycle.marks(planned)
        assert len(lifecycle.marks(planned)) == len({s["site_code"] for s in day["stops"]}) - 1


def plan_json_escape(name: str) -> str:
    from markupsafe import escape

    return str(escape(name))


def test_announce_a_week_and_lock_a_village_to_a_date(app, client, planned, validate_stored):
    with app.app_context():
        v1 = plan_store.latest_version(planned)
        dates = plan_json.dates(v1.result)
        all_keys = {ref.key for ref in plan_json.iter_stops(v1.result)}
        dropped = [d["site_code"] for d in v1.result["dropped"] if not d.get("partial")]
    r = post_state(client, planned, scope="week", state="announced", date=dates[0])
    assert r.status_code == 302
    with app.app_context():
        week = {k for k in all_keys
                if dt.date.fromisoformat(k[1]).isocalendar()[1]
                == dt.date.fromisoformat(dates[0]).isocalendar()[1]}
        assert set(lifecycle.marks(planned)) == week
        post_state(client, planned, scope="week", state="planned", date=dates[0])
        assert lifecycle.marks(planned) == {}
    if not dropped:
        pytest.skip("every village is planned: nothing to lock from the dropped list")


def test_village_locked_to_a_date_is_planned_then(app, client, planned, validate_stored):
    with app.app_context():
        v1 = plan_store.latest_version(planned)
        dates = plan_json.dates(v1.result)
        # a village planned on the first day, locked to the last day (whichever team)
        ref = next(iter(plan_json.iter_stops(v1.result)))
        code, last = ref.site_code, dates[-1]
    r = client.post(f"/rencana/{planned}/v1/kunci-desa", data={"code": code, "date": last, "team": ""})
    assert r.status_code == 302
    html = client.get(f"/rencana/{planned}/v1").get_data(as_text=True)
    assert re.search(rf'id="village-lock-list".*data-code="{re.escape(code)}"', html, re.S)
    # a date that is not a working day of the plan is refused, nothing stored
    r = client.post(f"/rencana/{planned}/v1/kunci-desa", data={"code": code, "date": "2001-01-01"})
    assert "bukan hari kerja" in client.get(r.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(StopMark.id))) == 1
        v1 = plan_store.latest_version(planned)
        cut = dt.date.fromisoformat(dates[1])
        v2 = field.replan(v1, cut, time_limit=2, workers=1)
        on_last = {r.site_code for r in plan_json.iter_stops(v2.result) if r.date == last}
        assert code in on_last
        assert validate_stored(v2) == []


def test_flags_from_the_gap_view_fill_the_plan_form(app, client, load_tiny):
    load_tiny(app)
    from planner import repository

    with app.app_context():
        codes = list(repository.villages_frame()["code"])[:2]
    r = client.post("/desa/tanda", data={"code": codes[0], "flag": "must", "next": "/?q=x"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/?q=x")
    client.post("/desa/tanda", data={"code": codes[1], "flag": "exclude",
                                     "next": "https://evil.example/"})
    gap = client.get("/").get_data(as_text=True)
    assert re.search(rf'data-code="{re.escape(codes[0])}".*?data-flag="must"', gap, re.S)
    form = client.get("/rencana").get_data(as_text=True)
    must = re.search(r'<textarea[^>]*name="must_visit"[^>]*>([^<]*)<', form).group(1)
    excl = re.search(r'<textarea[^>]*name="exclude"[^>]*>([^<]*)<', form).group(1)
    assert codes[0] in must and codes[1] in excl
    client.post("/desa/tanda", data={"code": codes[0], "flag": "none"})
    with app.app_context():
        assert lifecycle.village_flags() == {codes[1]: "exclude"}
    r = client.post("/desa/tanda", data={"code": codes[0], "flag": "bogus"})
    assert r.status_code == 302
    with app.app_context():
        assert lifecycle.village_flags() == {codes[1]: "exclude"}


def test_split_visits_show_as_one_stop_with_sessions():
    day = {"stops": [
        {"site_code": "A", "name": "A", "arrive": "08:30", "start": "08:30", "depart": "12:00",
         "expected": 50, "km_from_prev": 12.0, "service_min": 210},
        {"site_code": "A", "name": "A", "arrive": "12:00", "start": "12:00", "depart": "15:00",
         "expected": 40, "km_from_prev": 0.0, "service_min": 180},
        {"site_code": "B", "name": "B", "arrive": "15:20", "depart": "15:50", "expected": 5,
         "km_from_prev": 8.0}]}
    merged = plan_json.merged_stops(day)
    assert [m["site_code"] for m in merged] == ["A", "B"]
    assert merged[0]["expected"] == 90 and merged[0]["depart"] == "15:00"
    assert len(merged[0]["sessions"]) == 2 and merged[0]["service_min"] == 390
    assert day["stops"][0]["expected"] == 50  # the stored stops are untouched
    summary = plan_json.summary({"teams": [{"name": "T", "days": [dict(day, date="2026-12-07")]}],
                                 "dropped": [{"site_code": "C", "partial": False},
                                             {"site_code": "A", "partial": True}]})
    assert summary["stops"] == 2 and summary["villages"] == 2
    assert summary["dropped"] == 1 and summary["partly"] == 1
