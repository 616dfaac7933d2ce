"""``PLANNER_JOBS=celery`` end to end, against the real services: Redis on 127.0.0.1:6379 (the
broker), PostgreSQL on 127.0.0.1:5432 (a throw-away database per test) or a SQLite file, and
real ``planner worker`` subprocesses (``planner serve`` too where the web side matters).

* submit → progress (elapsed, best people so far) → result, on PostgreSQL and on SQLite;
* cancel a running solve: the job says "dibatalkan", its pool process is terminated, nothing
  is stored, and the worker takes the next job;
* kill -9 a worker in the middle of a solve: its solver processes die with it, ``planner
  serve`` keeps answering, and the job is run again by a fresh worker to ``done`` with exactly
  one stored plan (retries left) — or, with no retries, shows failed with the reason;
* the same request, seed and solution limit give the same plan through ``local`` and
  ``celery``;
* ``planner batch --regencies all`` fans the regencies out over two workers;
* cancel from the progress page, a broker that cannot be reached, ``planner worker`` refusing
  the ``local`` backend (no services needed).

Each test has its own queue name (no message of another test or run reaches its workers).
Without Redis or PostgreSQL the tests skip with a message, and fail when CI is set.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import IN_CI
from test_faults import (
    PASSWORD,
    Browser,
    build_database,
    database,
    descendants,
    job_id_from,
    planner_command,
    serving,
    wait_gone,
)

REDIS_URL = os.environ.get("PLANNER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
#: The PostgreSQL cases use a throw-away database of their own on the local server (not
#: PLANNER_TEST_DATABASE_URL), so they run once, in the SQLite leg of CI (``make test``).
KINDS = ["sqlite", "postgresql"]


# --------------------------------------------------------------------------- services
@pytest.fixture
def short_tmp():
    """TMPDIR of the subprocesses: short (unix sockets under it have at most 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="jbp-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def broker():
    """Redis (fails in CI when unreachable); yields (url, queue) and empties the queue after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        msg = f"Redis at {REDIS_URL} is not reachable: {exc}"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    queue = f"planner-test-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        yield REDIS_URL, queue
    finally:
        with contextlib.suppress(redis.RedisError):
            client.delete(queue)
        client.close()


class Worker:
    """``planner worker`` in its own process group, logging to a file."""

    def __init__(self, workdir: Path, database_url: str, broker: tuple[str, str], tmpdir: Path,
                 name: str = "worker", **env):
        self.workdir, self.database_url, self.tmpdir = workdir, database_url, tmpdir
        self.broker_url, self.queue = broker
        self.log_path = workdir / f"{name}.log"
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> Worker:
        return self.launch().wait_ready(timeout)

    def launch(self) -> Worker:
        env = {**os.environ, "DATABASE_URL": self.database_url, "TMPDIR": str(self.tmpdir),
               "PLANNER_JOBS": "celery", "CELERY_BROKER_URL": self.broker_url,
               "PLANNER_CELERY_QUEUE": self.queue, "PLANNER_PLAN_WORKERS": "1", **self.env}
        env.pop("PLANNER_TEST_DATABASE_URL", None)
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed by the child's exit
        self.proc = subprocess.Popen(
            [*planner_command(), "worker", "--concurrency", "1", "--loglevel", "info"],
            cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        return self

    def wait_ready(self, timeout: float = 60) -> Worker:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"planner worker exited ({self.proc.returncode}):\n{self.log()}")
            if " ready." in self.log():
                return self
            time.sleep(0.2)
        raise AssertionError(f"planner worker not ready within {timeout} s:\n{self.log()}")

    def log(self, tail: int = 8000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def kill_group(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)


@contextlib.contextmanager
def working(workdir, url, broker, tmpdir, name="worker", **env):
    w = Worker(workdir, url, broker, tmpdir, name, **env)
    try:
        yield w.start()
    finally:
        w.kill_group()


def celery_app(make_app, tmp_path, url, broker, **config):
    """The web side in this process: an app with PLAN_JOBS=celery on ``url``."""
    broker_url, queue = broker
    return make_app(tmp_path, SQLALCHEMY_DATABASE_URI=url, PLAN_JOBS="celery",
                    CELERY_BROKER_URL=broker_url, CELERY_QUEUE=queue, **config)


def tiny_params(name: str, time_limit: float, *, seed: int = 1, solution_limit=None):
    from planner import pipeline, repository
    from planner.params import build, team

    base = repository.default_base()
    b = {"id": base.id, "name": base.name, "lat": base.lat, "lon": base.lon}
    return build(name=name, dataset_id=repository.current_dataset().id,
                 teams=[team("Tim Darat", b), team("Tim Perahu", b, mode="both", max_nights=2)],
                 start_date=pipeline.next_monday(), days=3, time_limit=time_limit, seed=seed,
                 solution_limit=solution_limit)


def state_of(app, job_id: int) -> dict:
    from planner import jobs
    from planner.extensions import db

    with app.app_context():
        db.session.expire_all()
        state = jobs.job_state(jobs.get_job(job_id))
        db.session.remove()
    return state


def wait_state(app, job_id: int, until, timeout: float, *logs) -> dict:
    deadline = time.monotonic() + timeout
    state = state_of(app, job_id)
    while not until(state):
        assert time.monotonic() < deadline, \
            f"job {job_id} stuck: {state}\n" + "\n".join(w.log() for w in logs)
        time.sleep(0.2)
        state = state_of(app, job_id)
    return state


def rows(app, sql: str) -> list[tuple]:
    from sqlalchemy import text

    from planner.extensions import db

    with app.app_context():
        out = [tuple(r) for r in db.session.execute(text(sql)).all()]
        db.session.remove()
    return out


def submit(app, params) -> int:
    from planner import jobs

    with app.app_context():
        return jobs.submit_plan_job(app, params)


LOCAL_SUBMIT = """
import json, sys
from planner import create_app, jobs
from planner.params import PlanParams
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "PLAN_JOBS": "local",
                  "PLAN_ASYNC": False, "PLAN_WORKERS": 1, "SECRET_KEY": "local-submit"})
with open(sys.argv[2], encoding="utf-8") as f:
    params = PlanParams.from_dict(json.load(f))
with app.app_context():
    print(jobs.submit_plan_job(app, params))
"""


def submit_locally(workdir, url: str, params) -> int:
    """Submit ``params`` with ``PLANNER_JOBS=local`` (solved inline) in a fresh process."""
    path = workdir / "local-params.json"
    path.write_text(json.dumps(params.to_dict()), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PLANNER_TEST_DATABASE_URL"}
    r = subprocess.run([sys.executable, "-c", LOCAL_SUBMIT, url, str(path)], env=env,
                       cwd=workdir, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-4000:]
    return int(r.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("kind", KINDS)
def test_submit_progress_and_result(kind, make_app, load_tiny, tmp_path, short_tmp, broker):
    with database(kind, tmp_path) as url:
        build_database(make_app, load_tiny, tmp_path, url, plan=False)
        app = celery_app(make_app, tmp_path, url, broker)
        with app.app_context():
            params = tiny_params("Rencana lewat Celery", time_limit=5)
        with working(tmp_path, url, broker, short_tmp) as worker:
            job_id = submit(app, params)
            seen = wait_state(app, job_id, lambda s: s["status"] != "queued", 60, worker)
            assert seen["backend"] == "celery"
            running = wait_state(app, job_id, lambda s: s["status"] != "running"
                                 or (s["best"] is not None and s["elapsed"] > 0), 60, worker)
            done = wait_state(app, job_id, lambda s: s["status"] in ("done", "failed"), 60, worker)
        assert done["status"] == "done", (done, worker.log())
        if running["status"] == "running":  # progress seen while it ran
            assert running["best"] > 0 and running["elapsed"] > 0
        assert done["version"] == 1 and done["attempts"] == 1 and done["error"] is None
        assert rows(app, "SELECT COUNT(*) FROM plans") == [(1,)]
        assert rows(app, "SELECT COUNT(*) FROM plan_versions") == [(1,)]
        (task_id,), = rows(app, f"SELECT task_id FROM plan_jobs WHERE id = {job_id}")
        assert task_id == f"planner-job-{job_id}-0"


def test_cancel_a_running_solve(make_app, load_tiny, tmp_path, short_tmp, broker):
    with database("postgresql", tmp_path) as url:
        build_database(make_app, load_tiny, tmp_path, url, plan=False)
        app = celery_app(make_app, tmp_path, url, broker)
        with app.app_context():
            long = tiny_params("Dibatalkan", time_limit=40)
            short = tiny_params("Sesudahnya", time_limit=2)
        with working(tmp_path, url, broker, short_tmp) as worker:
            job_id = submit(app, long)
            wait_state(app, job_id, lambda s: s["status"] == "running" and s["solutions"] >= 1,
                       60, worker)
            (owner,), = rows(app, f"SELECT worker FROM plan_jobs WHERE id = {job_id}")
            pool_pid = int(owner.rsplit(":", 2)[1])
            solvers = {pool_pid: owner.rsplit(":", 1)[1], **descendants(pool_pid)}
            from planner import jobs

            t0 = time.monotonic()
            with app.app_context():
                assert jobs.cancel(app, job_id, by="uji")
                assert not jobs.cancel(app, job_id)  # once only
            state = state_of(app, job_id)
            assert state["status"] == "failed" and state["cancelled"], state
            assert "dibatalkan oleh uji" in state["error"]
            # the pool process running the solve is terminated (revoke), not left to finish
            left = wait_gone(solvers, timeout=15)
            assert not left, f"the cancelled solve still runs: {left}\n{worker.log()}"
            assert time.monotonic() - t0 < 20
            # the worker goes on with the next job
            next_id = submit(app, short)
            done = wait_state(app, next_id, lambda s: s["status"] in ("done", "failed"), 60,
                              worker)
        assert done["status"] == "done", (done, worker.log())
        assert state_of(app, job_id)["status"] == "failed"
        assert rows(app, "SELECT COUNT(*) FROM plans") == [(1,)]
        assert rows(app, f"SELECT plan_id, version_id FROM plan_jobs WHERE id = {job_id}") == \
            [(None, None)]


def _owner(app, job_id: int, workers: list[Worker]) -> Worker:
    """The worker whose process tree runs ``job_id`` now."""
    (owner,), = rows(app, f"SELECT worker FROM plan_jobs WHERE id = {job_id}")
    pid = int(owner.rsplit(":", 2)[1])
    found = [w for w in workers if pid == w.proc.pid or pid in descendants(w.proc.pid)]
    assert len(found) == 1, (owner, [w.proc.pid for w in workers])
    return found[0]


def _kill(worker: Worker) -> None:
    """kill -9 the whole worker (main process, pool process, solver processes)."""
    pids = descendants(worker.proc.pid)
    os.killpg(worker.proc.pid, signal.SIGKILL)
    worker.proc.wait(timeout=10)
    left = wait_gone(pids, timeout=10)
    assert not left, f"worker processes outlived the kill: {sorted(left)}"


@pytest.mark.parametrize("kind", KINDS)
def test_worker_killed_mid_solve_is_run_again(kind, make_app, load_tiny, plan_form_data, tmp_path,
                                              short_tmp, broker):
    """Two workers; the one solving the job is killed with SIGKILL; the other one's sweeper
    notices the dead process, queues the job again and solves it: one plan, one version."""
    with database(kind, tmp_path) as url:
        build_database(make_app, load_tiny, tmp_path, url, plan=False)
        app = celery_app(make_app, tmp_path, url, broker)
        env = {"PLANNER_JOBS": "celery", "CELERY_BROKER_URL": broker[0],
               "PLANNER_CELERY_QUEUE": broker[1], "PLANNER_JOB_RETRIES": "2"}
        workers = [Worker(tmp_path, url, broker, short_tmp, f"worker-{i}") for i in (1, 2)]
        try:
            with serving(tmp_path, url, secrets.token_hex(32), short_tmp, **env) as server:
                for w in workers:
                    w.launch()
                a = Browser(server).login("koordinator-a", PASSWORD)
                for w in workers:
                    w.wait_ready()
                job_id = job_id_from(a.post("/rencana", plan_form_data(
                    name="Pekerja dibunuh", time_limit="4"), "/rencana"))
                state = a.wait_job(job_id, lambda s: s["status"] == "running"
                                   and s["solutions"] >= 1, timeout=60)
                assert state["backend"] == "celery" and state["attempts"] == 1, state
                victim = _owner(app, job_id, workers)
                other = next(w for w in workers if w is not victim)
                _kill(victim)
                # the web keeps serving; the job runs again on the other worker
                assert a.get("/rencana").status_code == 200
                done = a.wait_job(job_id, lambda s: s["status"] in ("done", "failed"),
                                  timeout=60)
                assert done["status"] == "done", (done, other.log())
                assert done["attempts"] == 2 and done["version"] == 1 and done["error"] is None
                assert _owner(app, job_id, [other]) is other
                assert a.get(done["result_url"]).status_code == 200
        finally:
            for w in workers:
                w.kill_group()
        # exactly one plan and one version, written by the second run
        assert rows(app, "SELECT COUNT(*) FROM plans") == [(1,)]
        assert rows(app, "SELECT COUNT(*) FROM plan_versions") == [(1,)]
        assert rows(app, f"SELECT retries_left, status FROM plan_jobs WHERE id = {job_id}") == \
            [(1, "done")]


def test_worker_killed_without_retries_fails_with_reason(make_app, load_tiny, tmp_path,
                                                         short_tmp, broker):
    with database("postgresql", tmp_path) as url:
        build_database(make_app, load_tiny, tmp_path, url, plan=False)
        app = celery_app(make_app, tmp_path, url, broker, PLAN_MAX_RETRIES=0)
        with app.app_context():
            params = tiny_params("Tanpa ulang", time_limit=4)
        worker = Worker(tmp_path, url, broker, short_tmp)
        try:
            worker.start()
            job_id = submit(app, params)
            wait_state(app, job_id, lambda s: s["status"] == "running" and s["solutions"] >= 1,
                       60, worker)
            _kill(worker)
        finally:
            worker.kill_group()
        # the progress page sees at once that the process is gone (same machine)
        state = state_of(app, job_id)
        assert state["status"] == "failed", state
        assert "terhenti 1 kali" in state["error"] and "planner worker" in state["error"]
        assert "Coba lagi" in state["error"]
        page = app.test_client(login_as="coordinator").get(f"/rencana/job/{job_id}")
        assert page.status_code == 200 and 'id="job-retry"' in page.get_data(as_text=True)
        assert rows(app, "SELECT COUNT(*) FROM plans") == [(0,)]


def test_same_plan_through_local_and_celery(make_app, load_tiny, tmp_path, short_tmp, broker):
    """Same request, seed and solution limit → the same plan, whichever backend solves it."""
    with database("postgresql", tmp_path) as url:
        build_database(make_app, load_tiny, tmp_path, url, plan=False)
        local = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=url, PLAN_JOBS="local",
                         PLAN_ASYNC=False, PLAN_WORKERS=1)
        with local.app_context():
            params = tiny_params("Sama", time_limit=60, seed=7, solution_limit=30)
        # the local backend in a process of its own, as a server's runner has it (this test
        # process has run many other tests; the worker side is a fresh process too)
        local_id = submit_locally(tmp_path, url, params)
        local_state = state_of(local, local_id)
        assert local_state["status"] == "done", local_state
        app = celery_app(make_app, tmp_path, url, broker)
        with working(tmp_path, url, broker, short_tmp) as worker:
            celery_id = submit(app, params)
            done = wait_state(app, celery_id, lambda s: s["status"] in ("done", "failed"), 90,
                              worker)
        assert done["status"] == "done", (done, worker.log())
        from planner import plan_store

        with app.app_context():
            a = plan_store.get_version(local_state["plan_id"], 1).result
            b = plan_store.get_version(done["plan_id"], 1).result
        for key in ("teams", "dropped", "totals"):
            assert a[key] == b[key], (key, json.dumps(a["solver"]), json.dumps(b["solver"]))
        assert a["params"] == b["params"]
        # every phase did its whole work, the OR-Tools step in a fresh interpreter
        for plan in (a, b):
            assert plan["solver"]["reproducible"] is True, plan["solver"]
            assert plan["solver"]["routing_process"] == "fresh", plan["solver"]


def test_worker_refuses_the_local_backend(app, tmp_path):
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "PLANNER_JOBS": "local"}
    env.pop("PLANNER_TEST_DATABASE_URL", None)
    r = subprocess.run([*planner_command(), "worker"], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "PLANNER_JOBS=celery" in r.stderr, r.stderr


def test_a_broker_that_cannot_be_reached_fails_the_job_with_the_reason(app, tiny_app):
    from planner import jobs

    port = _closed_port()
    app.config.update(PLAN_JOBS="celery", CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0")
    with app.app_context():
        job_id = jobs.submit_plan_job(app, tiny_params("Tanpa broker", time_limit=2))
        state = jobs.job_state(jobs.get_job(job_id))
    assert state["status"] == "failed"
    assert f"127.0.0.1:{port}" in state["error"] and "tidak dapat dihubungi" in state["error"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cancel_from_the_progress_page(client, tiny_app):
    """The progress page's "Batalkan perhitungan" (any backend): a queued job is marked
    cancelled and never runs; cancelling again says it has finished."""
    from planner import jobs
    from planner.extensions import db
    from planner.models import PlanJob

    with tiny_app.app_context():
        params = tiny_params("Menunggu", time_limit=2)
        job = PlanJob(status="queued", params=params.to_dict(), backend="local",
                      progress={"phase": "queued", "time_limit": 2})
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    page = client.get(f"/rencana/job/{job_id}")
    assert page.status_code == 200 and 'id="job-cancel"' in page.get_data(as_text=True)
    r = client.post(f"/rencana/job/{job_id}/batal")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/rencana/job/{job_id}?stay=1")
    state = client.get(f"/rencana/job/{job_id}.json").get_json()
    assert state["status"] == "failed" and state["cancelled"], state
    assert "dibatalkan oleh" in state["error"]
    page = client.get(f"/rencana/job/{job_id}?stay=1").get_data(as_text=True)
    assert 'id="job-cancel"' not in page and 'id="job-retry"' in page
    with tiny_app.app_context():
        assert jobs.claim(tiny_app, job_id) is None  # a cancelled job never runs
    client.post(f"/rencana/job/{job_id}/batal")
    assert "sudah selesai" in client.get(f"/rencana/job/{job_id}?stay=1").get_data(as_text=True)
    assert client.post("/rencana/job/999999/batal").status_code == 404


def test_batch_fans_out_over_celery_workers(make_app, load_tiny, tmp_path, short_tmp, broker):
    """``planner batch --regencies all`` under PLANNER_JOBS=celery: one task per regency, run by
    two workers, each plan stored within its own regency; the province XLSX is written."""
    import json

    from openpyxl import load_workbook
    from test_regencies import _load_b

    from planner import pipeline, regencies
    from planner.params import build, team

    with database("postgresql", tmp_path) as url:
        build_database(make_app, load_tiny, tmp_path, url, plan=False)
        app = celery_app(make_app, tmp_path, url, broker)
        with app.app_context():
            b = regencies.create("99.02", "Kabupaten Seberang (fiktif)")
            with regencies.within(b):
                _load_b(app)
        template = build(name="Serentak", teams=[team("Tim 1", {"name": "x", "lat": 0, "lon": 0})],
                         start_date=pipeline.next_monday(), days=2, time_limit=3,
                         seed=1).to_dict()
        template.pop("dataset_id", None)
        template["teams"][0]["base"] = "default"
        (tmp_path / "params.json").write_text(json.dumps(template))
        env = {**os.environ, "DATABASE_URL": url, "PLANNER_JOBS": "celery",
               "CELERY_BROKER_URL": broker[0], "PLANNER_CELERY_QUEUE": broker[1],
               "TMPDIR": str(short_tmp)}
        env.pop("PLANNER_TEST_DATABASE_URL", None)
        workers = [Worker(tmp_path, url, broker, short_tmp, f"worker-{i}") for i in (1, 2)]
        try:
            for w in workers:
                w.launch()
            for w in workers:
                w.wait_ready()
            r = subprocess.run([*planner_command(), "batch", "--regencies", "all", "--params",
                                str(tmp_path / "params.json"), "--out", str(tmp_path / "out"),
                                "--no-sheets", "--timeout", "90"],
                               env=env, cwd=tmp_path, capture_output=True, text=True, timeout=150)
        finally:
            for w in workers:
                w.kill_group()
        assert r.returncode == 0, r.stdout + r.stderr + workers[0].log() + workers[1].log()
        assert "jobs: celery" in r.stdout
        sheet = list(load_workbook(tmp_path / "out" / "provinsi.xlsx").active.iter_rows(
            values_only=True))
        assert [(row[0], row[2]) for row in sheet[1:3]] == [("utama", "done"), ("99.02", "done")]
        made = rows(app, "SELECT r.code, j.backend, j.attempts FROM plans p "
                              "JOIN regencies r ON r.id = p.regency_id "
                              "JOIN plan_jobs j ON j.plan_id = p.id ORDER BY r.code")
        assert made == [("99.02", "celery", 1), ("utama", "celery", 1)], made
