"""Plans in the app: the form (validation, CSRF), the job (inline and in a thread), the result
page, JSON download and map, versions, and a failed solve that leaves the previous plan intact.

Solves are real (OR-Tools, 2 s limits) and every stored plan is re-checked with the engine's
independent validator. The data is a tiny FICTIONAL regency built here through the repository
(codes 99.01.*), with one hostile village name to check escaping.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from planner import fmt, jobs, pipeline, plan_json, plan_store, repository
from planner.extensions import db
from planner.models import Plan, PlanJob
from planner.params import LockParams, ParamsError, PlanParams, ReplanParams, SolverParams

TIME_LIMIT = 2


@pytest.fixture(scope="module")
def form_app(tmp_path_factory, make_app, load_tiny):
    """One app with the tiny regency for the (read-only) form validation cases."""
    app = make_app(tmp_path_factory.mktemp("plan_form"))
    load_tiny(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def replan_of(params: dict, plan_id: int, **changes) -> PlanParams:
    """The stored params as a re-plan of version 1 from its first day (plus ``changes``)."""
    p = PlanParams.from_dict(params)
    return p.replace(replan=ReplanParams(plan_id=plan_id, from_date=p.calendar.start_date,
                                         from_version=1), **changes)


# --------------------------------------------------------------------------- form
def test_plan_page_without_data_explains(client, plan_form_data):
    r = client.get("/rencana")
    assert r.status_code == 200
    assert "Belum ada data" in r.get_data(as_text=True)
    r = client.post("/rencana", data=plan_form_data())
    assert r.status_code == 400
    assert "Belum ada data" in r.get_data(as_text=True)


def test_plan_form_lists_bases_and_default_time_limit(tiny_app, client):
    html = client.get("/rencana").get_data(as_text=True)
    assert "Rencana baru" in html
    assert "Kantor Uji (fiktif)" in html
    assert re.search(r'name="time_limit"[^>]*value="3"', html)  # app.config["PLAN_TIME_LIMIT_S"]


@pytest.mark.parametrize("overrides, message", [
    ({"start_date": "2026-13-40"}, "Tanggal tidak sah"),
    ({"start_date": "besok"}, "Tanggal tidak sah"),
    ({"teams-0-name": "", "teams-1-name": "", "n_teams": "0"}, "Jumlah tim harus 1–40"),
    ({"teams-0-name": "", "teams-1-name": ""}, "Isi jumlah tim"),
    ({"min_unrecorded": "-5"}, "Tidak boleh negatif"),
    ({"days": "-1"}, "Jumlah hari kerja harus 1–60"),
    ({"days": "abc"}, "Isi bilangan bulat"),
    ({"turnout": "0"}, "Perkiraan kehadiran harus 1–100"),
    ({"teams-0-kits": "-2"}, "Perangkat 1–20"),
    ({"teams-1-max_nights": "-1"}, "Malam 0–30"),
    ({"teams-1-name": "Tim Darat"}, "Nama tim harus berbeda"),
    ({"holidays": "2026-12-25, natal"}, "Tanggal libur tidak dikenal: natal"),
    ({"work_start": "16:00", "work_end": "08:00"}, "Jam selesai harus sesudah jam mulai"),
    ({"work_start": "25:99"}, "Jam tidak sah"),
    ({"below": "150"}, "paling banyak 100"),
    ({"must_visit": "99.01.01.2001, 12.34.56.7890"}, "Kode desa tidak dikenal: 12.34.56.7890"),
    ({"must_visit": "99.01.01.2001", "exclude": "99.01.01.2001"}, "sekaligus wajib dan dikecualikan"),
    ({"pooling": "y", "pooling_radius": "-3"}, "Radius harus di atas 0"),
    ({"time_limit": "0"}, "Batas waktu harus 1–3600"),
    ({"name": ""}, "Nama rencana wajib diisi"),
])
def test_form_errors_are_messages_not_500(form_app, plan_form_data, overrides, message):
    tiny_app, client = form_app, form_app.test_client()
    r = client.post("/rencana", data=plan_form_data(**overrides))
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert message in html
    assert "Traceback" not in html
    assert "Periksa isian" in html
    with tiny_app.app_context():
        assert db.session.query(PlanJob).count() == 0
        assert db.session.query(Plan).count() == 0


def test_csrf_is_enforced(tmp_path, make_app, load_tiny, plan_form_data):
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    load_tiny(app)
    client = app.test_client()
    r = client.post("/rencana", data=plan_form_data())
    assert r.status_code == 400
    assert "CSRF" in r.get_data(as_text=True)
    page = client.get("/rencana").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    # with the token the form gets past CSRF to the field checks (no solve needed to prove it)
    r = client.post("/rencana", data=plan_form_data(csrf_token=token, name=""))
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "Nama rencana wajib diisi" in html and "CSRF" not in html
    with app.app_context():
        db.engine.dispose()


# --------------------------------------------------------------------------- solving
def test_solve_inline_shows_result_and_stores_valid_plan(tiny_app, client, solve_via_form,
                                                         validate_stored):
    job_id = solve_via_form(client)
    r = client.get(f"/rencana/job/{job_id}")
    assert r.status_code == 302  # done: the progress page forwards to the result
    result_url = r.headers["Location"]
    assert re.search(r"/rencana/\d+/v1$", result_url)
    state = client.get(f"/rencana/job/{job_id}.json").get_json()
    assert state["status"] == "done" and state["version"] == 1
    assert state["result_url"] == result_url
    assert state["solutions"] >= 1 and state["elapsed"] > 0

    with tiny_app.app_context():
        version = plan_store.latest_version(state["plan_id"])
        assert validate_stored(version) == []
        result = version.result
        assert result["plan_id"] == str(state["plan_id"]) and result["version"] == 1
        assert result["dataset"] == "Data uji (fiktif)"
        stops = [s for t in result["teams"] for d in t["days"] for s in d["stops"]]
        assert stops, "a 2-team, 3-day plan over 10 villages visits some"
        assert version.params["teams"][1]["mode"] == "both"
        assert version.params["format"] == "plan-params/1" and version.params == result["params"]
        assert plan_json.schema_errors(result) == []

    html = client.get(result_url).get_data(as_text=True)
    assert "Tim Darat" in html and "Tim Perahu" in html
    for s in stops[:5]:
        assert f'data-code="{s["site_code"]}"' in html
    assert f'id="total-people">{fmt.integer(result["totals"]["people"], "id")}<' in html
    english = client.get(result_url + "?lang=en").get_data(as_text=True)
    assert f'id="total-cost">{fmt.integer(result["totals"]["cost_rp"], "en")}<' in english
    assert "<script>alert('x')</script>" not in html  # hostile name escaped
    assert "Parameter yang dipakai" in html
    # one table per team-day with stops or travel (a trip's way back has no stops but is shown)
    shown_days = [d for t in result["teams"] for d in t["days"]
                  if d["stops"] or d["start"].get("code") or d["end"].get("code")]
    assert html.count('class="team-day"') == len(shown_days)
    assert 'id="plan-map"' in html
    # every dropped village shows a translated reason
    for d in result["dropped"]:
        assert d["reason"] in ("unreachable", "capacity", "not_worth")
    assert html.count('data-reason="') == len(result["dropped"])

    # the plan list shows it
    listing = client.get("/rencana").get_data(as_text=True)
    assert "Rencana uji" in listing and "2 × 3" in listing

    # JSON download = the stored plan
    r = client.get(result_url + ".json")
    assert r.status_code == 200
    assert "attachment" in r.headers["Content-Disposition"]
    assert json.loads(r.get_data(as_text=True)) == result

    # the route map document draws the stops, offline
    r = client.get(result_url + "/map.html")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert page.count('class=\\"planner-stop\\"') + page.count('class="planner-stop"') >= len(stops)
    assert not re.search(r"""<(?:script|link)[^>]+(?:src|href)=["']https?://""", page)
    assert "<script>alert('x')</script>" not in page


def test_async_job_runs_in_a_thread_with_progress(tiny_app, solve_via_form, validate_stored):
    app = tiny_app
    app.config["PLAN_ASYNC"] = True  # read per submit: this job goes to the worker thread
    client = app.test_client()
    job_id = solve_via_form(client, time_limit="2", days="2")
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.get(f"/rencana/job/{job_id}.json").get_json()
        seen.append(state)
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.3)
    assert state["status"] == "done", state
    assert any(s["status"] == "running" for s in seen)
    running = [s["elapsed"] for s in seen if s["status"] == "running"]
    assert running == sorted(running)
    with app.app_context():
        job = db.session.get(PlanJob, job_id)
        assert job.progress["solutions"] >= 1 and job.progress["phase"] == "done"
        assert job.finished_at is not None
        assert validate_stored(plan_store.latest_version(job.plan_id)) == []
        app.extensions[jobs.EXTENSION_KEY].shutdown(wait=True)


def test_failed_solve_keeps_previous_version(tiny_app, client, monkeypatch, caplog,
                                             solve_via_form):
    job_id = solve_via_form(client, days="2")
    with tiny_app.app_context():
        job = db.session.get(PlanJob, job_id)
        plan_id = job.plan_id
        before = plan_store.latest_version(plan_id)
        before_result = json.dumps(before.result, sort_keys=True)
        params = dict(before.params)

    # 1) the engine crashes (failure injection): generic paragraph, traceback only in the log
    import planner.engine

    def boom(*a, **k):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(planner.engine, "solve", boom)
    with tiny_app.app_context():
        failed_id = jobs.submit_plan_job(tiny_app, replan_of(params, plan_id))
    state = client.get(f"/rencana/job/{failed_id}.json").get_json()
    assert state["status"] == "failed"
    assert "Rencana yang sudah tersimpan tidak berubah" in state["error"]
    assert "solver exploded" not in state["error"] and "Traceback" not in state["error"]
    assert "solver exploded" in caplog.text  # logged for the admin
    page = client.get(f"/rencana/job/{failed_id}").get_data(as_text=True)
    assert "Gagal" in page and "Kembali ke formulir rencana" in page
    assert "Traceback" not in page
    monkeypatch.undo()

    # 2) a lock on a team that does not exist is refused at the door, naming the team
    bad = dict(params, locks=[{"site_code": "99.01.02.2002", "date": params["calendar"]["start_date"],
                               "team": "Tim Hantu"}])
    with pytest.raises(ParamsError, match="Tim Hantu"):
        PlanParams.from_dict(bad)
    # ... and a job whose stored params are unusable fails with that message, nothing stored
    with tiny_app.app_context():
        stale = PlanJob(status="queued", params=bad, plan_id=plan_id)
        db.session.add(stale)
        db.session.commit()
        jobs.run_job(tiny_app, stale.id)
    state = client.get(f"/rencana/job/{stale.id}.json").get_json()
    assert state["status"] == "failed" and "Tim Hantu" in state["error"]

    # 3) an input the engine refuses (a lock on a village with nobody left to record)
    with tiny_app.app_context():
        refused = jobs.submit_plan_job(tiny_app, replan_of(params, plan_id, locks=(
            LockParams(site_code="99.01.09.9999",
                                      date=params["calendar"]["start_date"], team="Tim Darat"),)))
    state = client.get(f"/rencana/job/{refused}.json").get_json()
    assert state["status"] == "failed" and "99.01.09.9999" in state["error"]

    with tiny_app.app_context():
        assert [v.version for v in plan_store.list_versions(plan_id)] == [1]
        after = plan_store.latest_version(plan_id)
        assert json.dumps(after.result, sort_keys=True) == before_result
        assert db.session.query(Plan).count() == 1


def test_replan_adds_a_version_and_keeps_the_old_one(tiny_app, client, solve_via_form,
                                                      validate_stored):
    job_id = solve_via_form(client, days="2")
    with tiny_app.app_context():
        plan_id = db.session.get(PlanJob, job_id).plan_id
        v1 = plan_store.get_version(plan_id, 1)
        v1_result = json.dumps(v1.result, sort_keys=True)
        first = next(plan_json.iter_stops(v1.result))
        lock = LockParams(site_code=first.site_code, date=first.date, team=first.team)
        new = replan_of(v1.params, plan_id, locks=(lock,))
        job2 = jobs.submit_plan_job(tiny_app, new.replace(
            solver=SolverParams(time_limit=TIME_LIMIT, seed=2)))
        assert db.session.get(PlanJob, job2).status == "done"
        versions = plan_store.list_versions(plan_id)
        assert [v.version for v in versions] == [1, 2]
        assert json.dumps(plan_store.get_version(plan_id, 1).result, sort_keys=True) == v1_result
        v2 = plan_store.latest_version(plan_id)
        assert v2.replanned_from == v1.params["calendar"]["start_date"]
        assert v2.result["replanned_from"] == v2.replanned_from
        assert validate_stored(v2) == []
        locked_day = plan_json.get_team_day(v2.result, first.team, first.date)
        assert first.site_code in {s["site_code"] for s in locked_day.stops}
    html = client.get(f"/rencana/{plan_id}/v2").get_data(as_text=True)
    assert f'href="/rencana/{plan_id}/v1"' in html
    assert client.get(f"/rencana/{plan_id}").headers["Location"].endswith(f"/rencana/{plan_id}/v2")


def test_unknown_pages_are_404_pages(tiny_app, client):
    for url in ("/rencana/999/v1", "/rencana/999/v1.json", "/rencana/999/v1/map.html",
                "/rencana/job/999", "/rencana/job/999.json", "/rencana/999"):
        r = client.get(url)
        assert r.status_code == 404, url
        assert "Traceback" not in r.get_data(as_text=True)


# --------------------------------------------------------------------------- store
def test_plan_store_versions_increment_and_are_kept(tiny_app):
    fixture = json.loads((Path(__file__).parent / "data" / "plan_sample.json").read_text())
    with tiny_app.app_context():
        ds = repository.current_dataset()
        plan = plan_store.create_plan("Uji simpan", ds.id)
        for number in (1, 2):
            doc = plan_json.finalise(fixture, plan_id=plan.id, version=number,
                                     plan_name=plan.name, dataset=ds.name, dataset_id=ds.id,
                                     params=fixture["params"])
            plan_store.add_version(plan, number, doc["params"], doc,
                                   replanned_from="2026-12-03" if number == 2 else None)
        db.session.commit()
        assert plan_store.next_version_number(plan.id) == 3
        assert plan_store.get_version(plan.id, 1).result["version"] == 1
        assert plan_store.latest_version(plan.id).replanned_from == "2026-12-03"
        assert fixture["plan_id"] == "sample-1"  # the caller's dict is not modified
        rows = plan_store.list_plans()
        assert rows[0]["name"] == "Uji simpan" and rows[0]["versions"] == 2
        assert rows[0]["people"] == plan_json.totals(fixture)["people"]
        assert rows[0]["dataset"] == "Data uji (fiktif)"
        with pytest.raises(plan_store.PlanStoreError):
            plan_store.create_plan("   ", ds.id)


def test_sample_plan_on_the_demo(demo_app, validate_stored):
    """What `planner load-demo` adds: the demo's roster (two car teams from the office, a boat
    team from the pier) × 5 days, valid, shown; the boat team gets river villages."""
    with demo_app.app_context():
        version = pipeline.create_sample_plan(time_limit=3)
        assert version.version == 1
        assert [t["name"] for t in version.result["teams"]] == ["Tim 1", "Tim 2", "Tim 3 (perahu)"]
        params = version.params
        assert params["calendar"]["days"] == 5 and params["solver"]["seed"] == 1
        assert [t["max_nights"] for t in params["teams"]] == [0, 1, 3]
        assert [t["mode"] for t in params["teams"]] == ["road", "road", "river"]
        office = repository.default_base().name
        assert [t["base"]["name"] for t in params["teams"]][:2] == [office, office]
        assert params["teams"][2]["base"]["name"].startswith("Dermaga")
        assert all(t.get("leader") and t.get("phone") for t in params["teams"])
        access = repository.villages_frame().set_index("code")["access"]
        boat = [s["site_code"] for d in version.result["teams"][2]["days"] for s in d["stops"]]
        assert boat and {access.get(c, "river") for c in boat} <= {"river", "both"}
        assert "river" in {access.get(c) for c in boat}
        assert validate_stored(version) == []
        assert version.result["totals"]["people"] > 0
        assert version.result["fictional"] is True
        plan_id = version.plan_id
    client = demo_app.test_client()
    html = client.get("/rencana").get_data(as_text=True)
    assert "Rencana contoh" in html and "3 × 5" in html
    assert client.get(f"/rencana/{plan_id}/v1").status_code == 200
    assert client.get(f"/rencana/{plan_id}/v1/map.html").status_code == 200


def test_sample_plan_without_data_is_a_clear_error(app):
    with app.app_context(), pytest.raises(pipeline.PlanningError, match="Belum ada"):
        pipeline.create_sample_plan(time_limit=1)


def test_lost_jobs_fail_at_once_and_can_be_retried(tiny_app, client, solve_via_form):
    """A job left 'running' by a process that died shows as failed at once (same machine: its
    pid is gone) or after STALE_S without a heartbeat (elsewhere); a queued job waits however
    long it takes; "Coba lagi" runs the same request again."""
    import socket

    job_id = solve_via_form(client, days="1")
    with tiny_app.app_context():
        params = db.session.get(PlanJob, job_id).params
        now = jobs.utcnow()
        dead_here = PlanJob(status="running", params=params, worker=f"{socket.gethostname()}:999999:1",
                            heartbeat_at=now, started_at=now)
        far_stale = PlanJob(status="running", params=params, worker="lain:12:3",
                            heartbeat_at=now - dt.timedelta(seconds=jobs.STALE_S + 5), started_at=now)
        far_alive = PlanJob(status="running", params=params, worker="lain:13:4",
                            heartbeat_at=now, started_at=now)
        waiting = PlanJob(status="queued", params=params,
                          created_at=now - dt.timedelta(days=2))
        db.session.add_all([dead_here, far_stale, far_alive, waiting])
        db.session.commit()
        ids = dead_here.id, far_stale.id, far_alive.id, waiting.id
    states = [client.get(f"/rencana/job/{i}.json").get_json() for i in ids]
    assert [s["status"] for s in states] == ["failed", "failed", "running", "queued"]
    assert "Coba lagi" in states[0]["error"] and "tidak berubah" in states[0]["error"]
    assert states[3]["queue_position"] == 0
    page = client.get(f"/rencana/job/{ids[0]}").get_data(as_text=True)
    assert 'id="job-retry"' in page
    with tiny_app.app_context():  # a job still running elsewhere holds the only slot
        assert jobs.claim(tiny_app, ids[3]) is None
        db.session.execute(update(PlanJob).where(PlanJob.id == ids[2]).values(status="done"))
        db.session.commit()
    r = client.post(f"/rencana/job/{ids[0]}/ulang")
    assert r.status_code == 302
    new_id = int(r.headers["Location"].rsplit("/", 1)[1])
    assert client.get(f"/rencana/job/{new_id}.json").get_json()["status"] == "done"
    with tiny_app.app_context():  # the old queued one: claimed once, never twice
        assert jobs.claim(tiny_app, ids[3]) == ids[3]
        assert jobs.claim(tiny_app, ids[3]) is None


def test_each_account_has_a_bounded_queue(tiny_app, client, plan_form_data):
    tiny_app.config["PLAN_QUEUE_PER_USER"] = 2
    with tiny_app.app_context():
        from planner import accounts

        me = accounts.by_username(client.user)
        for _ in range(2):
            db.session.add(PlanJob(status="queued", params={}, submitted_by=me.id))
        db.session.commit()
    r = client.post("/rencana", data=plan_form_data(days="1"))
    assert r.status_code == 429
    assert "sudah punya 2 perhitungan" in r.get_data(as_text=True)
    with tiny_app.app_context():
        assert db.session.query(PlanJob).count() == 2


def test_two_replans_of_the_same_version_do_not_mix(tiny_app, client, solve_via_form):
    job_id = solve_via_form(client, days="2")
    with tiny_app.app_context():
        plan_id = db.session.get(PlanJob, job_id).plan_id
        v1 = plan_store.get_version(plan_id, 1)
        first = replan_of(v1.params, plan_id)
        second = replan_of(v1.params, plan_id, name="kedua")
        pipeline.run(first, workers=1)
        with pytest.raises(pipeline.PlanningError, match="sudah punya versi 2"):
            pipeline.run(second, workers=1)
        assert [v.version for v in plan_store.list_versions(plan_id)] == [1, 2]
