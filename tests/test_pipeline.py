"""One planning pipeline for every caller: the web form, ``planner plan``, ``planner replan``,
the re-plan button and the sample plan all store the same ``plan-params/1`` request, and an
invalid plan is never stored by any of them. Real solves (OR-Tools, 2–3 s), real database.

The first three tests are the bugs of the "one pipeline" issue:

* a plan saved with ``planner plan --save`` could not be re-planned ("Pangkalan tim Tim 1
  tidak lengkap": the CLI stored the engine's parameter format);
* the CLI stored a plan that failed validation (and exited 1 afterwards);
* after a re-plan the plan page showed ``cost_rp`` of the new days only.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from planner import fmt, pipeline, plan_json, plan_store, repository
from planner import params as P
from planner.extensions import db
from planner.models import Plan, PlanJob, PlanVersion
from planner.params import PlanParams

START = "2026-12-07"  # a Monday


def cli(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def cli_plan(app, *extra):
    res = cli(app, "plan", "--teams", "2", "--days", "3", "--start", START, "--nights", "1",
              "--mode", "both", "--time-limit", "2", "--workers", "1", "--quiet", *extra)
    return res


# --------------------------------------------------------------------------- bug 1
def test_a_plan_saved_from_the_cli_replans_from_the_web_and_the_cli(demo_app, validate_stored):
    res = cli_plan(demo_app, "--save", "--name", "Dari terminal")
    assert res.exit_code == 0, res.output
    plan_id = int(re.search(r"rencana #(\d+) versi 1", res.output).group(1))
    with demo_app.app_context():
        v1 = plan_store.get_version(plan_id, 1)
        assert v1.params["format"] == "plan-params/1"
        assert v1.params["dataset_id"] == v1.plan.dataset_id
        assert v1.params["teams"][0]["base"]["name"] == "Kantor Disdukcapil (fiktif)"
        assert v1.params == v1.result["params"]
        dates = plan_json.dates(v1.result)
    assert len(dates) == 3

    # the re-plan button (web): a job, a new version 2
    client = demo_app.test_client()
    r = client.post(f"/rencana/{plan_id}/v1/replan", data={"from_date": dates[1], "time_limit": "2"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    job_id = int(re.search(r"/rencana/job/(\d+)$", r.headers["Location"]).group(1))
    state = client.get(f"/rencana/job/{job_id}.json").get_json()
    assert state["status"] == "done", state
    assert state["version"] == 2

    # the CLI: planner replan --plan ID --from DATE → version 3
    res = cli(demo_app, "replan", "--plan", plan_id, "--from", dates[2], "--time-limit", "2",
              "--workers", "1", "--quiet")
    assert res.exit_code == 0, res.output
    assert f"rencana #{plan_id} versi 3" in res.output

    with demo_app.app_context():
        versions = plan_store.list_versions(plan_id)
        assert [v.version for v in versions] == [1, 2, 3]
        v2, v3 = versions[1], versions[2]
        assert v2.params["replan"] == {"plan_id": plan_id, "from_date": dates[1], "from_version": 1}
        assert v3.params["replan"] == {"plan_id": plan_id, "from_date": dates[2], "from_version": 2}
        for v in versions:
            assert validate_stored(v) == []
            PlanParams.from_dict(v.params)  # every stored request reads back at the door
        # earlier days are kept as they were
        for t in plan_json.teams(v3.result):
            old = next(x for x in plan_json.teams(v2.result) if x["name"] == t["name"])
            assert [d for d in t["days"] if d["date"] < dates[2]] == \
                [d for d in old["days"] if d["date"] < dates[2]]


def test_every_caller_writes_the_same_request(demo_app, plan_form_data):
    """The web form and ``planner plan`` with the same choices store equal params."""
    client = demo_app.test_client()
    r = client.post("/rencana", data=plan_form_data(
        name="Sama", start_date=START, days="2", time_limit="2", **{
            "teams-0-name": "Tim 1", "teams-0-mode": "road", "teams-0-max_nights": "0",
            "teams-1-name": "Tim 2", "teams-1-mode": "road", "teams-1-max_nights": "0"}))
    assert r.status_code == 302
    res = cli(demo_app, "plan", "--teams", "2", "--days", "2", "--start", START,
              "--time-limit", "2", "--workers", "1", "--save", "--name", "Sama", "--quiet")
    assert res.exit_code == 0, res.output
    with demo_app.app_context():
        web, terminal = (v.params for v in db.session.scalars(
            select(PlanVersion).order_by(PlanVersion.id)))
    assert web == terminal


# --------------------------------------------------------------------------- bug 2
def test_an_invalid_plan_is_never_stored_or_written(demo_app, tmp_path, monkeypatch):
    """The validator finds a problem: the CLI stores nothing and writes no file, the web job
    fails with the reason and stores nothing, the sample plan is not created."""
    import planner.engine

    real = planner.engine.validate_plan
    calls = []

    def finds_a_problem(plan, instance):
        calls.append(real(plan, instance))  # the real check still runs (and passes)
        return ["Tim 1 2026-12-07 99.01.01.2001: menit perjalanan 42 ≠ matriks 116."]

    monkeypatch.setattr(planner.engine, "validate_plan", finds_a_problem)
    out = tmp_path / "plan.json"
    res = cli_plan(demo_app, "--save", "--out", out)
    assert res.exit_code == 1
    assert "tidak lolos pemeriksaan ulang" in res.output and "menit perjalanan 42" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()

    client = demo_app.test_client()
    r = client.post("/rencana", data={
        "name": "Web", "start_date": START, "days": "1", "work_start": "08:00",
        "work_end": "16:00", "turnout": "60", "time_limit": "2", "n_teams": "1"})
    job_id = int(re.search(r"/rencana/job/(\d+)$", r.headers["Location"]).group(1))
    state = client.get(f"/rencana/job/{job_id}.json").get_json()
    assert state["status"] == "failed" and "menit perjalanan 42" in state["error"]

    with demo_app.app_context():
        with pytest.raises(pipeline.PlanningError, match="tidak lolos"):
            pipeline.create_sample_plan(time_limit=2, workers=1)
        assert count(Plan) == 0 and count(PlanVersion) == 0
    assert len(calls) == 3 and all(c == [] for c in calls)


def test_a_plan_that_breaks_the_contract_is_not_stored(demo_app, monkeypatch):
    """The schema check is part of the pipeline: a Plan JSON the contract does not allow
    (here a stop without its arrival time) is refused before it is stored."""
    import planner.engine

    real_solve = planner.engine.solve

    def broken(*args, **kwargs):
        plan = real_solve(*args, **kwargs)

        class Broken:
            def to_dict(self):
                d = plan.to_dict()
                for td in plan_json.team_days(d):
                    td.stops[0].pop("arrive")
                    break
                return d

        return Broken()

    monkeypatch.setattr(planner.engine, "solve", broken)
    with demo_app.app_context():
        params = pipeline.sample_params(time_limit=2)
        with pytest.raises(pipeline.PlanningError):
            pipeline.run(params, workers=1)
        assert count(PlanVersion) == 0


# --------------------------------------------------------------------------- bug 3
def test_totals_of_a_replanned_version_cover_every_day(demo_app):
    with demo_app.app_context():
        v1 = pipeline.create_sample_plan(time_limit=2, workers=1)
        dates = plan_json.dates(v1.result)
        from planner import field

        v2 = field.replan(v1, __import__("datetime").date.fromisoformat(dates[2]),
                          time_limit=2, workers=1)
        plan_id = v2.plan_id
        result = v2.result
        days = plan_json.team_days(result, with_empty=True)
        assert {td.date for td in days if td.stops} & set(dates[:2]), "earlier days are kept"
        assert result["totals"]["cost_rp"] == sum(td.totals["cost_rp"] for td in days)
        assert result["totals"]["people"] == sum(td.totals["people"] for td in days)
        assert result["totals"]["km"] == pytest.approx(sum(td.totals["km"] for td in days), abs=0.05)
        assert result["totals"]["travel_hours"] == pytest.approx(
            sum(td.totals["travel_min"] for td in days) / 60, abs=0.01)
        kept_cost = sum(td.totals["cost_rp"] for td in days if td.date < dates[2])
        assert kept_cost > 0 and result["totals"]["cost_rp"] > kept_cost
        summary = plan_json.summary(result)
    for lang in ("id", "en"):
        html = demo_app.test_client().get(f"/rencana/{plan_id}/v2?lang={lang}").get_data(as_text=True)
        assert f'id="total-cost">{fmt.integer(summary["cost_rp"], lang)}<' in html
        assert f'id="total-people">{fmt.integer(summary["people"], lang)}<' in html
        assert f'id="total-km">{fmt.decimal(summary["km"], lang)}<' in html


# --------------------------------------------------------------------------- the contract
def test_the_contract_hook_checked_the_plans_of_this_run(demo_app, plan_contract):
    before = dict(plan_contract)
    with demo_app.app_context():
        pipeline.create_sample_plan(time_limit=1, workers=1)
    assert plan_contract["engine"] > before["engine"]
    assert plan_contract["stored"] == before["stored"] + 1


def test_committed_plan_files_follow_the_contract():
    from pathlib import Path

    for path in sorted((Path(__file__).parent / "data").glob("plan_*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert plan_json.schema_errors(doc) == [], path.name
        assert doc["totals"] == plan_json.contract_totals(doc), path.name
        PlanParams.from_dict(doc["params"])


def test_schema_check_can_fail():
    from pathlib import Path

    doc = json.loads((Path(__file__).parent / "data" / "plan_sample.json").read_text())
    assert plan_json.schema_errors(doc) == []
    doc["teams"][0]["days"][0]["stops"][0]["mode"] = "helicopter"
    del doc["totals"]["cost_rp"]
    problems = plan_json.schema_errors(doc)
    assert any("helicopter" in p for p in problems) and any("cost_rp" in p for p in problems)


# --------------------------------------------------------------------------- uninitialised
@pytest.fixture
def bare_app(tmp_path):
    """An app on a database file that nobody has initialised."""
    from planner import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "test",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.sqlite'}"})
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("args", [
    ["rank"], ["map", "--out", "x.html"], ["plan", "--teams", "1"],
    ["replan", "--plan", "1", "--from", "2026-12-08"], ["import-recap", "data/demo_recap.csv"],
    ["import-villages", "data/demo_villages.geojson"], ["load-demo"],
    ["itinerary", "--plan", "1", "--pdf", "x.pdf"], ["export", "--plan", "1", "--format", "csv"],
])
def test_commands_on_an_uninitialised_database_say_what_to_run(bare_app, args):
    res = cli(bare_app, *args)
    assert res.exit_code == 1, res.output
    lines = res.output.strip().splitlines()
    assert lines == ["Error: Basis data belum disiapkan. Jalankan dulu: planner init-db"], lines
    assert "Traceback" not in res.output and "no such table" not in res.output


def test_pages_on_an_uninitialised_database_say_what_to_run(bare_app):
    client = bare_app.test_client(login_as=None)
    for url in ("/", "/peta", "/rencana", "/impor"):
        r = client.get(url)
        assert r.status_code == 503, url
        text = r.get_data(as_text=True)
        assert "planner init-db" in text and "Traceback" not in text
    res = cli(bare_app, "init-db")
    assert res.exit_code == 0, res.output
    assert client.get("/").status_code == 302  # ready: the login page now
    assert bare_app.test_client().get("/").status_code == 200


def test_an_old_schema_is_named_with_the_command_to_run(bare_app):
    from flask_migrate import upgrade

    with bare_app.app_context():
        upgrade(revision="bde7ceaa4b4c")
    res = cli(bare_app, "rank")
    assert res.exit_code == 1
    assert "skema lama (bde7ceaa4b4c" in res.output and "planner init-db" in res.output
    assert cli(bare_app, "init-db").exit_code == 0
    assert cli(bare_app, "rank").exit_code == 1  # no data yet: a plain message, not the schema
    assert "No data yet" in cli(bare_app, "rank").output


def test_jobs_table_holds_only_the_one_format(demo_app, plan_form_data, solve_via_form):
    client = demo_app.test_client()
    solve_via_form(client, start_date=START, days="1")
    with demo_app.app_context():
        job = db.session.scalars(select(PlanJob)).one()
        assert job.params["format"] == "plan-params/1"
        assert PlanParams.from_dict(job.params).to_dict() == job.params


def test_a_must_visit_village_is_planned_or_the_plan_is_refused(tiny_app, client, plan_form_data):
    """A river-only village (99.01.01.2004) can never be reached by car-only teams: the plan is
    refused with the village and the reason, nothing stored; with a boat team it is planned."""
    r = client.post("/rencana", data=plan_form_data(**{
        "days": "2", "must_visit": "99.01.01.2004", "teams-1-mode": "road", "teams-1-max_nights": "0"}))
    state = client.get(r.headers["Location"] + ".json").get_json()
    assert state["status"] == "failed"
    assert "99.01.01.2004" in state["error"] and "wajib dikunjungi" in state["error"]
    with tiny_app.app_context():
        assert count(PlanVersion) == 0
        b = repository.default_base()
        base = {"name": b.name, "lat": b.lat, "lon": b.lon}
        params = P.build(dataset_id=repository.current_dataset().id, name="wajib",
                         must_visit=["99.01.01.2004"], start_date=START, days=3,
                         teams=[P.team("Darat", base), P.team("Perahu", base, mode="both")],
                         time_limit=10, solution_limit=60)
        version = pipeline.run(params, workers=1)
        assert "99.01.01.2004" in {ref.site_code for ref in plan_json.iter_stops(version.result)}


# --------------------------------------------------------------------------- trips across a re-plan
def test_a_team_out_on_a_trip_continues_from_where_it_sleeps(demo_app, validate_stored):
    """Re-planning from the morning after a night away: the team wakes up at that village (it
    does not teleport to base), with only the nights it has left, and the new days validate."""
    import datetime as dt

    from planner import field

    res = cli(demo_app, "plan", "--teams", "1", "--days", "4", "--start", START, "--nights", "2",
              "--mode", "both", "--time-limit", "3", "--workers", "1", "--quiet", "--save",
              "--name", "Perjalanan")
    assert res.exit_code == 0, res.output
    plan_id = int(re.search(r"rencana #(\d+) versi 1", res.output).group(1))
    with demo_app.app_context():
        v1 = plan_store.get_version(plan_id, 1)
        days = v1.result["teams"][0]["days"]
        away = [i for i, d in enumerate(days[:-1]) if d["end"].get("code")]
        assert away, "the demo's far villages need a night away"
        night = days[away[0]]
        cut = dt.date.fromisoformat(night["date"]) + dt.timedelta(days=1)
        params = field.replan_params(v1, cut, time_limit=2)
        team = params.teams[0]
        assert team.start_at is not None and team.start_at.code == night["end"]["code"]
        assert team.nights_used >= 1
        v2 = field.replan(v1, cut, time_limit=2, workers=1)
        first = next(d for d in v2.result["teams"][0]["days"] if d["date"] >= cut.isoformat())
        assert first["date"] == cut.isoformat()
        assert first["start"]["code"] == night["end"]["code"]
        assert validate_stored(v2) == []
        assert v2.params["teams"][0]["start_at"]["code"] == night["end"]["code"]
