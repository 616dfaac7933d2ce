"""Faults with real processes: ``planner serve`` (gunicorn) killed with SIGKILL during a solve
and during an import, and two coordinators re-planning the same version at once.

Each test builds its own database (the tiny FICTIONAL regency of tests/fixtures_planning.py, a
coordinator account and, where needed, a stored plan), starts ``planner serve`` on a free
loopback port in a process group of its own, talks to it over HTTP like a browser (login form,
CSRF tokens from the pages) and kills everything it started in ``finally``.

* ``test_kill_during_solve``: every server process (master and workers) gets SIGKILL while a
  20-second solve runs and has a solution. The solver's worker processes are NOT killed by the
  test: they must die by themselves (``PR_SET_PDEATHSIG``, ``planner.engine.core``). Then the
  database passes ``PRAGMA integrity_check``, the plan stored before is byte-for-byte the same,
  and a restarted server shows the job ``failed`` at once with "Coba lagi", which runs it again
  to ``done``.
* ``test_kill_during_import``: the whole process group gets SIGKILL while a boundaries file
  with a million vertices is being read (a few seconds); the database is unchanged and, once
  a restarted server has handled a request, no upload folder or reader temp folder is left.
* ``test_two_replans_of_one_version``: two clients re-plan v1 at once; exactly one v2 appears
  and the other job fails naming version 2 (``pipeline.store``). Also on PostgreSQL (its own
  throw-away database on 127.0.0.1:5432; fails instead of skipping when CI is set).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
from conftest import IN_CI, PG_URL

ROOT = Path(__file__).resolve().parents[1]
#: The PostgreSQL server of ``make test-pg`` (its test database is only used to create and drop
#: a throw-away database for the test).
PG_ADMIN_URL = (PG_URL or "postgresql://postgres@127.0.0.1:5432/test").replace(
    "postgresql+psycopg://", "postgresql://", 1)
PASSWORD = "kata-sandi-gangguan-123"
KILL_TIME_LIMIT = 10  # the killed solve (s): it is killed ~1 s in; the retry runs it in full


# --------------------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(state, ppid, start time) of a process from /proc, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1]), fields[19]


def process_table() -> dict[int, tuple[str, int, str]]:
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st is not None:
                out[int(name)] = st
    return out


def descendants(root: int) -> dict[int, str]:
    """Living descendants of ``root``: pid -> start time (to tell a reused pid apart)."""
    table = process_table()
    children: dict[int, list[int]] = {}
    for pid, (_state, ppid, _start) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            state, _ppid, start = table[child]
            if state != "Z":
                out[child] = start
                todo.append(child)
    return out


def alive(pid: int, start: str) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X") and st[2] == start


def planner_command() -> list[str]:
    script = Path(sys.executable).with_name("planner")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from planner.console import main; sys.exit(main())"]


class Server:
    """``planner serve`` in its own process group (session), logging to a file."""

    def __init__(self, workdir: Path, database_url: str, secret_key: str, tmpdir: Path, *,
                 key_file: Path | None = None, **env):
        self.workdir = workdir
        self.key_file = key_file
        self.database_url = database_url
        self.secret_key = secret_key
        self.extra_env = env
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / "serve.log"
        # TMPDIR of the server: short, since multiprocessing's forkserver (the import sandbox)
        # binds a unix socket under it (at most 107 bytes; pytest's tmp_path can be longer)
        self.tmpdir = tmpdir
        self.url = ""

    def start(self, timeout: float = 60) -> Server:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "DATABASE_URL": self.database_url, "TMPDIR": str(self.tmpdir),
               "PLANNER_LOGIN_RATE_LIMIT": "1000 per minute", **self.extra_env}
        for name in ("PLANNER_TEST_DATABASE_URL", "SECRET_KEY", "PLANNER_SQLITE_WAL",
                     "PLANNER_DB_POOL_SIZE"):
            env.pop(name, None)
        key_args = []
        if self.key_file:  # the key from a file (as a systemd unit would give it)
            self.key_file.write_text(self.secret_key + "\n")
            key_args = ["--secret-key-file", str(self.key_file)]
        else:
            env["SECRET_KEY"] = self.secret_key
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed by the child's exit
        self.proc = subprocess.Popen(
            [*planner_command(), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "--threads", "4", "--no-access-log", *key_args],
            cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"planner serve exited ({self.proc.returncode}):\n{self.log()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/masuk", timeout=5).status_code == 200:
                    return self
            time.sleep(0.2)
        raise AssertionError(f"planner serve did not answer within {timeout} s:\n{self.log()}")

    def log(self, tail: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def workers(self) -> list[int]:
        """The gunicorn worker processes (children of the master)."""
        return [pid for pid, (state, ppid, _s) in process_table().items()
                if ppid == self.proc.pid and state != "Z"]

    def kill_group(self) -> None:
        """SIGKILL to the whole process group; reap the master."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)


@contextlib.contextmanager
def serving(workdir: Path, database_url: str, secret_key: str, tmpdir: Path, **env):
    server = Server(workdir, database_url, secret_key, tmpdir, **env)
    try:
        yield server.start()
    finally:
        server.kill_group()


@pytest.fixture
def short_tmp():
    path = Path(tempfile.mkdtemp(prefix="jbp-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- HTTP
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """A logged-in HTTP client (cookies, CSRF tokens scraped from the pages)."""

    def __init__(self, server: Server):
        self.server = server
        self.s = requests.Session()

    def get(self, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 60)
        return self.s.get(self.server.url + path, allow_redirects=False, **kw)

    def csrf(self, path: str) -> str:
        r = self.get(path)
        m = CSRF_RE.search(r.text)
        assert m, f"no csrf_token on {path} ({r.status_code})"
        return m.group(1)

    def post(self, path: str, data: dict, token_from: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 60)
        data = {**data, "csrf_token": self.csrf(token_from)}
        return self.s.post(self.server.url + path, data=data, allow_redirects=False, **kw)

    def login(self, username: str, password: str = PASSWORD) -> Browser:
        r = self.post("/masuk", {"username": username, "password": password}, "/masuk")
        assert r.status_code == 302, f"login of {username} failed: {r.status_code}"
        return self

    def job(self, job_id: int) -> dict:
        r = self.get(f"/rencana/job/{job_id}.json")
        assert r.status_code == 200, r.text[:500]
        return r.json()

    def wait_job(self, job_id: int, until, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        state = self.job(job_id)
        while not until(state):
            assert time.monotonic() < deadline, f"job {job_id} stuck: {state}\n{self.server.log()}"
            time.sleep(0.2)
            state = self.job(job_id)
        return state


def job_id_from(r: requests.Response) -> int:
    assert r.status_code == 302, f"{r.status_code}: {r.text[:1500]}"
    m = re.search(r"/rencana/job/(\d+)$", r.headers["Location"])
    assert m, r.headers["Location"]
    return int(m.group(1))


# --------------------------------------------------------------------------- databases
def build_database(make_app, load_tiny, tmp_path: Path, url: str, *, plan: bool) -> dict:
    """Migrate ``url``, load the tiny regency, add two coordinators and (``plan``) store a plan
    solved with a 1-second limit. Returns {"plan_id", "dates"}."""
    from planner import accounts, audit, pipeline
    from planner.extensions import db

    app = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=url)
    load_tiny(app)
    out: dict = {}
    with app.app_context():
        with audit.acting_as(None, "test"):
            for name in ("koordinator-a", "koordinator-b"):
                accounts.create(name, PASSWORD, "coordinator")
        if plan:
            params = pipeline.sample_params(time_limit=1)
            version = pipeline.run(params, workers=1)
            out["plan_id"] = version.plan_id
            out["dates"] = sorted({d["date"] for t in version.result["teams"] for d in t["days"]})
        db.session.remove()
        db.engine.dispose()
    return out


def sqlite_rows(path: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as con:
        return con.execute(sql).fetchall()


def integrity(path: Path) -> str:
    return sqlite_rows(path, "PRAGMA integrity_check")[0][0]


def table_digest(path: Path, tables: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    """Rows and a hash of every row of each table (a change anywhere changes the hash)."""
    out = {}
    for t in tables:
        rows = sqlite_rows(path, f"SELECT * FROM {t} ORDER BY rowid")
        out[t] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return out


def wait_gone(pids: dict[int, str], timeout: float) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    left = dict(pids)
    while left and time.monotonic() < deadline:
        left = {p: s for p, s in left.items() if alive(p, s)}
        if left:
            time.sleep(0.1)
    return left


# --------------------------------------------------------------------------- (a) solve
def test_kill_during_solve(make_app, load_tiny, plan_form_data, tmp_path, short_tmp):
    db_path = tmp_path / "test.sqlite"  # the name make_app copies its template to
    made = build_database(make_app, load_tiny, tmp_path, f"sqlite:///{db_path}", plan=True)
    plan_id = made["plan_id"]
    before = sqlite_rows(db_path, f"SELECT * FROM plan_versions WHERE plan_id = {plan_id}")
    plans_before = sqlite_rows(db_path, "SELECT COUNT(*) FROM plans")[0][0]
    key = secrets.token_hex(32)
    server = Server(tmp_path, f"sqlite:///{db_path}", key, short_tmp)
    solver_pids: dict[int, str] = {}
    try:
        server.start()
        assert sqlite_rows(db_path, "PRAGMA journal_mode")[0][0] == "wal"  # planner serve sets it
        a = Browser(server).login("koordinator-a")
        job_id = job_id_from(a.post("/rencana", plan_form_data(
            name="Rencana yang dibunuh", time_limit=str(KILL_TIME_LIMIT)), "/rencana"))
        state = a.wait_job(job_id, lambda s: s["status"] != "queued" and s["solutions"] >= 1,
                           timeout=40)
        assert state["status"] == "running", state
        worker = sqlite_rows(db_path, f"SELECT worker FROM plan_jobs WHERE id = {job_id}")[0][0]
        worker_pid = int(worker.rsplit(":", 2)[1])
        solver_pids = descendants(worker_pid)
        assert solver_pids, f"no solver process under the job's worker {worker}"
        # kill -9 every server process (master first: nothing is restarted); the solver's
        # worker processes are left to die with their parent
        server_pids = [server.proc.pid, *server.workers()]
        assert worker_pid in server_pids
        for pid in server_pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        server.proc.wait(timeout=10)
        left = wait_gone(solver_pids, timeout=5)
        assert not left, f"solver processes outlived the server: {sorted(left)}"
    finally:
        server.kill_group()
        for pid, start in solver_pids.items():  # never leave one behind, even on failure
            if alive(pid, start):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    assert integrity(db_path) == "ok"
    after = sqlite_rows(db_path, f"SELECT * FROM plan_versions WHERE plan_id = {plan_id}")
    assert after == before, "the plan stored before the kill changed"
    assert sqlite_rows(db_path, "SELECT COUNT(*) FROM plans")[0][0] == plans_before

    # the same key, now from a file: the session cookie of before the kill is still valid
    server = Server(tmp_path, f"sqlite:///{db_path}", key, short_tmp,
                    key_file=tmp_path / "secret_key")
    try:
        server.start()
        a.server = server
        assert a.get("/rencana").status_code == 200, "the login did not survive the restart"
        t0 = time.monotonic()
        state = a.job(job_id)
        assert state["status"] == "failed", state
        assert time.monotonic() - t0 < 5
        assert "Coba lagi" in state["error"] and "tidak berubah" in state["error"]
        page = a.get(f"/rencana/job/{job_id}")
        assert page.status_code == 200 and 'id="job-retry"' in page.text
        new_id = job_id_from(a.post(f"/rencana/job/{job_id}/ulang", {},
                                    f"/rencana/job/{job_id}"))
        assert new_id != job_id
        done = a.wait_job(new_id, lambda s: s["status"] in ("done", "failed"),
                          timeout=KILL_TIME_LIMIT + 60)
        assert done["status"] == "done", done
        assert done["plan_id"] != plan_id and done["version"] == 1
        assert a.get(done["result_url"]).status_code == 200
    finally:
        server.kill_group()
    assert integrity(db_path) == "ok"
    assert sqlite_rows(db_path, f"SELECT * FROM plan_versions WHERE plan_id = {plan_id}") == before


# --------------------------------------------------------------------------- (b) import
def slow_boundaries(vertices_per_village: int = 60_000) -> bytes:
    """The tiny regency's boundaries as a GeoJSON of ~14 MB (600,000 vertices): valid, and
    slow enough to read (about 4 s here) to be killed in the middle."""
    import numpy as np
    from fixtures_planning import tiny_regency

    gdf, _recap = tiny_regency()
    a = np.linspace(0, 2 * np.pi, vertices_per_village, endpoint=False)
    rad = 0.04 * (1 + 0.05 * np.sin(37 * a))
    features = []
    for r in gdf.itertuples():
        xs = (r.stop_lon + rad * np.cos(a)).round(6).tolist()
        ys = (r.stop_lat + rad * np.sin(a)).round(6).tolist()
        ring = ",".join([f"[{x},{y}]" for x, y in zip(xs + xs[:1], ys + ys[:1], strict=True)])
        props = json.dumps({"kode": r.code, "nama": r.name, "kecamatan": r.kecamatan})
        features.append(f'{{"type":"Feature","properties":{props},'
                        f'"geometry":{{"type":"Polygon","coordinates":[[{ring}]]}}}}')
    return ('{"type":"FeatureCollection","features":[' + ",".join(features) + "]}").encode()


def upload_folders(root: Path, original: str) -> list[Path]:
    """Folders under instance/uploads holding the upload named ``original``."""
    found = []
    with contextlib.suppress(OSError):
        for d in root.iterdir():
            try:
                meta = json.loads((d / "meta.json").read_text())
            except (OSError, ValueError):
                continue
            if meta.get("original") == original:
                found.append(d)
    return found


IMPORT_TABLES = ("villages", "datasets", "village_stats", "team_bases")


def test_kill_during_import(make_app, load_tiny, tmp_path, short_tmp):
    db_path = tmp_path / "test.sqlite"  # the name make_app copies its template to
    build_database(make_app, load_tiny, tmp_path, f"sqlite:///{db_path}", plan=False)
    before = table_digest(db_path, IMPORT_TABLES)
    body = slow_boundaries()
    original = f"batas-lambat-{secrets.token_hex(6)}.geojson"  # finds its upload folder
    uploads = ROOT / "instance" / "uploads"  # the app's instance folder (Flask default)
    key = secrets.token_hex(32)
    server = Server(tmp_path, f"sqlite:///{db_path}", key, short_tmp)
    outcome: dict = {}
    try:
        server.start()
        a = Browser(server).login("koordinator-a")
        token = a.csrf("/impor")

        def upload():
            try:
                outcome["response"] = a.s.post(
                    server.url + "/impor/batas", files={"v-file": (original, body)},
                    data={"csrf_token": token, "v-fictional": "y"}, allow_redirects=False,
                    timeout=120)
            except requests.RequestException as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=upload, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not upload_folders(uploads, original):  # saved: the reader starts now
            assert time.monotonic() < deadline and thread.is_alive(), \
                f"the upload did not arrive: {outcome}\n{server.log()}"
            time.sleep(0.05)
        time.sleep(1.0)  # well inside the reading (several seconds for this file)
        assert thread.is_alive(), f"the import finished before the kill: {outcome}"
        server.kill_group()
        thread.join(timeout=30)
        assert "error" in outcome, f"the import answered although the server was killed: {outcome}"
    finally:
        server.kill_group()

    assert integrity(db_path) == "ok"
    assert table_digest(db_path, IMPORT_TABLES) == before, "the killed import changed the database"

    server = Server(tmp_path, f"sqlite:///{db_path}", key, short_tmp)
    try:
        server.start()
        a.server = server
        assert a.get("/impor").status_code == 200  # one request after the restart
        left = upload_folders(uploads, original)
        temp_left = sorted(p.name for p in server.tmpdir.glob("planner-import-*"))
    finally:
        server.kill_group()
        for d in upload_folders(uploads, original):  # never leave it in the repository
            shutil.rmtree(d, ignore_errors=True)
    assert table_digest(db_path, IMPORT_TABLES) == before
    # the restarted server forgets the upload of the killed import (its process is gone) and
    # the killed reader's temp folder
    assert not left, f"upload folders left after a kill -9 and a restart: {[d.name for d in left]}"
    assert not temp_left, f"reader temp folders left after a kill -9 and a restart: {temp_left}"


# --------------------------------------------------------------------------- (c) re-plans
@contextlib.contextmanager
def postgres_database():
    """A throw-away database on the local PostgreSQL server (fails in CI when unreachable)."""
    import psycopg

    from bench.pgdb import scratch_database

    with contextlib.ExitStack() as stack:
        try:  # connecting and creating: only this may skip (or fail in CI)
            url = stack.enter_context(scratch_database(PG_ADMIN_URL, "planner_faults"))
        except psycopg.Error as exc:
            msg = f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}"
            if IN_CI:
                pytest.fail(msg)
            pytest.skip(msg)
        yield url


@contextlib.contextmanager
def database(kind: str, tmp_path: Path):
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.db)])
def test_two_replans_of_one_version(kind, make_app, load_tiny, tmp_path, short_tmp):
    with database(kind, tmp_path) as url:
        made = build_database(make_app, load_tiny, tmp_path, url, plan=True)
        plan_id, dates = made["plan_id"], made["dates"]
        with serving(tmp_path, url, secrets.token_hex(32), short_tmp) as server:
            clients = [Browser(server).login(u) for u in ("koordinator-a", "koordinator-b")]
            progress = f"/rencana/{plan_id}/v1/kemajuan"
            tokens = [c.csrf(progress) for c in clients]
            barrier = threading.Barrier(2)
            responses: list = [None, None]

            def replan(i: int) -> None:
                barrier.wait(timeout=10)
                responses[i] = clients[i].s.post(
                    f"{server.url}/rencana/{plan_id}/v1/replan",
                    data={"csrf_token": tokens[i], "from_date": dates[1], "time_limit": "1"},
                    allow_redirects=False, timeout=60)

            threads = [threading.Thread(target=replan, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            job_ids = [job_id_from(r) for r in responses]
            states = [c.wait_job(j, lambda s: s["status"] in ("done", "failed"), timeout=90)
                      for c, j in zip(clients, job_ids, strict=True)]
            done = [s for s in states if s["status"] == "done"]
            failed = [s for s in states if s["status"] == "failed"]
            assert len(done) == 1 and len(failed) == 1, states
            assert done[0]["plan_id"] == plan_id and done[0]["version"] == 2
            assert "versi 2" in failed[0]["error"], failed[0]["error"]
            assert "Tidak ada yang disimpan" in failed[0]["error"]
            # exactly one new version: v2 exists, v3 does not
            assert clients[0].get(f"/rencana/{plan_id}/v2").status_code == 200
            assert clients[0].get(f"/rencana/{plan_id}/v3").status_code == 404
            latest = clients[1].get(f"/rencana/{plan_id}")
            assert latest.headers["Location"].endswith(f"/rencana/{plan_id}/v2")
