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

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from planner import jobs, plan_store, repository
from planner.extensions import db
from planner.models import Plan, PlanJob, PlanVersion

BASE = ("Kantor Uji (fiktif)", -2.54, 112.95)
HOSTILE = "<script>alert('x')</script> Desa"
TIME_LIMIT = 2


def tiny_regency() -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """10 square villages around the base: 8 by road, 2 river-only; 30–160 km away."""
    rows, recap = [], []
    spots = [(-2.40, 112.90), (-2.30, 113.05), (-2.20, 112.85), (-2.65, 113.10), (-2.10, 113.00),
             (-1.95, 112.80), (-1.80, 112.95), (-2.50, 113.30), (-2.85, 112.95), (-1.60, 113.10)]
    for i, (lat, lon) in enumerate(spots):
        code = f"99.01.0{i % 3 + 1}.20{i + 1:02d}"
        name = HOSTILE if i == 0 else f"Desa Uji {i + 1}"
        rows.append({"code": code, "name": name, "kecamatan": f"Kecamatan {i % 3 + 1}",
                     "kecamatan_code": f"99.01.0{i % 3 + 1}", "type": "desa",
                     "access": "river" if i in (3, 8) else "road", "no_signal": i == 9,
                     "stop_lat": lat, "stop_lon": lon,
                     "geometry": box(lon - 0.04, lat - 0.04, lon + 0.04, lat + 0.04)})
        obliged = 900 + 130 * i
        recap.append({"code": code, "population": int(obliged * 1.4), "obliged": obliged,
                      "recorded": obliged - (120 + 45 * i)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326"), pd.DataFrame(recap)


def load_tiny(app) -> None:
    with app.app_context():
        gdf, recap = tiny_regency()
        repository.replace_villages(gdf, source_file="uji.geojson", fictional=True)
        repository.add_dataset(recap, name="Data uji (fiktif)", snapshot_date=dt.date(2026, 10, 31),
                               recap_file="uji.csv", fictional=True, synthetic=True,
                               basemap=False)  # fictional: no OpenStreetMap tiles under it
        repository.set_default_base(*BASE)


@pytest.fixture
def tiny_app(app):
    load_tiny(app)
    return app


@pytest.fixture(scope="session")
def make_app(request):
    """``make_app`` of tests/conftest.py (looked up as a plugin: ``import conftest`` may give
    tests/browser/conftest.py when both directories are collected)."""
    root = Path(__file__).with_name("conftest.py").resolve()
    for plugin in request.config.pluginmanager.get_plugins():
        if Path(getattr(plugin, "__file__", "") or "").resolve() == root:
            return plugin.make_app
    raise RuntimeError("tests/conftest.py not loaded")


@pytest.fixture(scope="module")
def form_app(tmp_path_factory, make_app):
    """One app with the tiny regency for the (read-only) form validation cases."""
    app = make_app(tmp_path_factory.mktemp("plan_form"))
    load_tiny(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def next_monday() -> dt.date:
    today = dt.date.today()
    return today + dt.timedelta(days=(7 - today.weekday()) % 7 or 7)


def form_data(**overrides) -> dict:
    data = {
        "name": "Rencana uji", "n_teams": "", "start_date": next_monday().isoformat(), "days": "3",
        "work_start": "08:00", "work_end": "16:00", "skip_weekends": "y", "holidays": "",
        "below": "", "min_unrecorded": "0", "turnout": "60", "must_visit": "", "exclude": "",
        "pooling_radius": "5", "time_limit": str(TIME_LIMIT), "seed": "1",
        "teams-0-name": "Tim Darat", "teams-0-kits": "3", "teams-0-mode": "road",
        "teams-0-max_nights": "0",
        "teams-1-name": "Tim Perahu", "teams-1-kits": "3", "teams-1-mode": "both",
        "teams-1-max_nights": "2",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def validate_stored(version: PlanVersion) -> list[str]:
    """Re-check a stored plan against the instance rebuilt from its stored parameters."""
    from planner.engine import validate_plan

    _ds, instance = jobs.build_instance_for(version.params)
    return validate_plan(version.result, instance.to_dict())


def solve_via_form(client, **overrides):
    r = client.post("/rencana", data=form_data(**overrides))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    m = re.search(r"/rencana/job/(\d+)$", r.headers["Location"])
    assert m, r.headers["Location"]
    return int(m.group(1))


# --------------------------------------------------------------------------- form
def test_plan_page_without_data_explains(client):
    r = client.get("/rencana")
    assert r.status_code == 200
    assert "Belum ada data" in r.get_data(as_text=True)
    r = client.post("/rencana", data=form_data())
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
def test_form_errors_are_messages_not_500(form_app, overrides, message):
    tiny_app, client = form_app, form_app.test_client()
    r = client.post("/rencana", data=form_data(**overrides))
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert message in html
    assert "Traceback" not in html
    assert "Periksa isian" in html
    with tiny_app.app_context():
        assert db.session.query(PlanJob).count() == 0
        assert db.session.query(Plan).count() == 0


def test_csrf_is_enforced(tmp_path, make_app):
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    load_tiny(app)
    client = app.test_client()
    r = client.post("/rencana", data=form_data())
    assert r.status_code == 400
    assert "CSRF" in r.get_data(as_text=True)
    page = client.get("/rencana").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    # with the token the form gets past CSRF to the field checks (no solve needed to prove it)
    r = client.post("/rencana", data=form_data(csrf_token=token, name=""))
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "Nama rencana wajib diisi" in html and "CSRF" not in html
    with app.app_context():
        db.engine.dispose()


# --------------------------------------------------------------------------- solving
def test_solve_inline_shows_result_and_stores_valid_plan(tiny_app, client):
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

    html = client.get(result_url).get_data(as_text=True)
    assert "Tim Darat" in html and "Tim Perahu" in html
    for s in stops[:5]:
        assert f'data-code="{s["site_code"]}"' in html
    assert f'{result["totals"]["people"]:,}'.replace(",", ".") in html
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


def test_async_job_runs_in_a_thread_with_progress(tiny_app):
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


def test_failed_solve_keeps_previous_version(tiny_app, client, monkeypatch, caplog):
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
        failed_id = jobs.submit_plan_job(tiny_app, {**params, "plan_id": plan_id,
                                                    "replanned_from": params["start_date"]})
    state = client.get(f"/rencana/job/{failed_id}.json").get_json()
    assert state["status"] == "failed"
    assert "Rencana yang sudah tersimpan tidak berubah" in state["error"]
    assert "solver exploded" not in state["error"] and "Traceback" not in state["error"]
    assert "solver exploded" in caplog.text  # logged for the admin
    page = client.get(f"/rencana/job/{failed_id}").get_data(as_text=True)
    assert "Gagal" in page and "Kembali ke formulir rencana" in page
    assert "Traceback" not in page
    monkeypatch.undo()

    # 2) an input the engine refuses (a lock on a team that does not exist): its own message
    with tiny_app.app_context():
        bad_id = jobs.submit_plan_job(tiny_app, {
            **params, "plan_id": plan_id,
            "locks": [{"site_code": "99.01.02.2002", "date": params["start_date"], "team": "Tim Hantu"}]})
    state = client.get(f"/rencana/job/{bad_id}.json").get_json()
    assert state["status"] == "failed"
    assert "Tim Hantu" in state["error"]

    with tiny_app.app_context():
        assert [v.version for v in plan_store.list_versions(plan_id)] == [1]
        after = plan_store.latest_version(plan_id)
        assert json.dumps(after.result, sort_keys=True) == before_result
        assert db.session.query(Plan).count() == 1


def test_replan_adds_a_version_and_keeps_the_old_one(tiny_app, client):
    job_id = solve_via_form(client, days="2")
    with tiny_app.app_context():
        plan_id = db.session.get(PlanJob, job_id).plan_id
        v1 = plan_store.get_version(plan_id, 1)
        v1_result = json.dumps(v1.result, sort_keys=True)
        params = dict(v1.params)
        first = next(s for t in v1.result["teams"] for d in t["days"] for s in d["stops"])
        team = next(t["name"] for t in v1.result["teams"]
                    for d in t["days"] for s in d["stops"] if s is first or s == first)
        day = next(d["date"] for t in v1.result["teams"] for d in t["days"] if first in d["stops"])
        job2 = jobs.submit_plan_job(tiny_app, {
            **params, "plan_id": plan_id, "replanned_from": params["start_date"], "seed": 2,
            "locks": [{"site_code": first["site_code"], "date": day, "team": team}]})
        assert db.session.get(PlanJob, job2).status == "done"
        versions = plan_store.list_versions(plan_id)
        assert [v.version for v in versions] == [1, 2]
        assert json.dumps(plan_store.get_version(plan_id, 1).result, sort_keys=True) == v1_result
        v2 = plan_store.latest_version(plan_id)
        assert v2.replanned_from == params["start_date"]
        assert validate_stored(v2) == []
        locked_day = next(d for t in v2.result["teams"] if t["name"] == team
                          for d in t["days"] if d["date"] == day)
        assert first["site_code"] in {s["site_code"] for s in locked_day["stops"]}
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
    with tiny_app.app_context():
        ds = repository.current_dataset()
        plan = plan_store.create_plan("Uji simpan", ds.id, {})
        r1 = {"teams": [], "dropped": [], "totals": {"people": 10}}
        v1 = plan_store.save_version(plan, {"a": 1}, r1)
        v2 = plan_store.save_version(plan, {"a": 2}, {**r1, "totals": {"people": 20}},
                                     replanned_from=dt.date(2026, 12, 3))
        assert (v1.version, v2.version) == (1, 2)
        assert plan_store.get_version(plan.id, 1).result["totals"]["people"] == 10
        assert plan_store.latest_version(plan.id).result["totals"]["people"] == 20
        assert plan_store.latest_version(plan.id).replanned_from == "2026-12-03"
        assert r1.get("plan_id") is None  # the caller's dict is not modified
        rows = plan_store.list_plans()
        assert rows[0]["name"] == "Uji simpan" and rows[0]["versions"] == 2
        assert rows[0]["people"] == 20 and rows[0]["dataset"] == "Data uji (fiktif)"
        with pytest.raises(plan_store.PlanStoreError):
            plan_store.create_plan("   ", ds.id, {})


def test_sample_plan_on_the_demo(demo_app):
    """What `planner load-demo` adds: 3 teams × 5 days from the demo office, valid, shown."""
    with demo_app.app_context():
        version = plan_store.create_sample_plan(time_limit=3)
        assert version.version == 1
        assert [t["name"] for t in version.result["teams"]] == ["Tim 1", "Tim 2", "Tim 3 (perahu)"]
        assert version.params["days"] == 5 and version.params["seed"] == 1
        assert [t["max_nights"] for t in version.params["teams"]] == [0, 0, 3]
        assert {t["base"]["name"] for t in version.params["teams"]} == {repository.default_base().name}
        assert validate_stored(version) == []
        assert version.result["totals"]["people"] > 0
        plan_id = version.plan_id
    client = demo_app.test_client()
    html = client.get("/rencana").get_data(as_text=True)
    assert "Rencana contoh" in html and "3 × 5" in html
    assert client.get(f"/rencana/{plan_id}/v1").status_code == 200
    assert client.get(f"/rencana/{plan_id}/v1/map.html").status_code == 200


def test_sample_plan_without_data_is_a_clear_error(app):
    with app.app_context(), pytest.raises(plan_store.PlanStoreError, match="Belum ada"):
        plan_store.create_sample_plan(time_limit=1)


def test_a_lost_job_is_reported_as_failed(tiny_app, client):
    """A job left 'running' by a server restart does not spin forever on the progress page."""
    with tiny_app.app_context():
        old = jobs.utcnow() - dt.timedelta(seconds=TIME_LIMIT + jobs.STALE_MARGIN_S + 60)
        job = PlanJob(status="running", params={"name": "Hilang", "time_limit": TIME_LIMIT},
                      progress={"phase": "solving", "elapsed": 1.0}, created_at=old)
        fresh = PlanJob(status="queued", params={"name": "Baru", "time_limit": TIME_LIMIT})
        db.session.add_all([job, fresh])
        db.session.commit()
        lost_id, fresh_id = job.id, fresh.id
    state = client.get(f"/rencana/job/{lost_id}.json").get_json()
    assert state["status"] == "failed" and "dimulai ulang" in state["error"]
    assert client.get(f"/rencana/job/{fresh_id}.json").get_json()["status"] == "queued"
