"""Load test on loopback: N users (default 50) against ``planner serve`` for a fixed time.

    .venv/bin/python -m bench.load_test [--users 50] [--duration 60] [--warmup 10]
        [--workers N] [--threads N]                 # passed to `planner serve` (else its defaults)
        [--database-url URL --username U --password P]   # an existing database
        [--think 0] [--seed 1] [--json FILE] [--keep]

Without ``--database-url`` it builds a temporary SQLite database exactly as a newcomer does
(``planner init-db``, ``planner load-demo --if-empty``: the FICTIONAL demo and its sample plan)
and adds one coordinator account per user (``bench-user-01`` …). With ``--database-url`` every
user logs in with ``--username``/``--password`` and the newest plan of that database is used.

Then it starts ``planner serve --bind 127.0.0.1:<free port>`` (its own process group; a random
``SECRET_KEY`` unless one is in the environment; ``PLANNER_LOGIN_RATE_LIMIT`` raised, since all
users come from 127.0.0.1), and every user (a thread with one keep-alive HTTP/1.1 connection,
stdlib ``http.client``) logs in once through the login form and then loops, until the time is
up, over the office's reading mix, starting at a random point of it:

* ``gap``: the gap view ``/``;
* ``map``: the map page ``/peta`` and the map document it frames ``/peta/map.html``;
* ``plan``: the plan page ``/rencana/<id>/v<n>``;
* ``pdf``: one team-day sheet ``/rencana/<id>/v<n>/lembar.pdf?team=1&day=<date>`` (WeasyPrint;
  the days of team 1 in turn).

Requests of the first ``--warmup`` seconds are not in the figures (their errors are). Printed:
requests, requests/s, p50/p95/p99/max latency per kind and overall, errors (any status other
than 2xx/3xx, a wrong body, a connection error or a timeout: each one is listed), the machine's
load average before and after, and the CPU seconds used by the server and by this client (both
run on the same machine). A stale keep-alive connection (closed by the server while idle) is
reopened and the request sent again, as a browser does; those retries are counted.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KINDS = ("gap", "map", "plan", "pdf")
USER_PASSWORD = "bench-kata-sandi-123"


# --------------------------------------------------------------------------- setup
def planner_command() -> list[str]:
    script = Path(sys.executable).with_name("planner")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from planner.console import main; sys.exit(main())"]


def run_planner(args: list[str], env: dict) -> str:
    out = subprocess.run([*planner_command(), *args], env=env, capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise SystemExit(f"planner {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def build_demo_database(workdir: Path, users: int, env: dict) -> str:
    """A temporary SQLite database with the demo, its sample plan and ``users`` coordinators."""
    url = f"sqlite:///{workdir / 'load.sqlite'}"
    env = {**env, "DATABASE_URL": url}
    t0 = time.monotonic()
    run_planner(["init-db"], env)
    print(run_planner(["load-demo", "--if-empty"], env).strip().splitlines()[-1])
    os.environ["DATABASE_URL"] = url
    from planner import accounts, audit, create_app
    from planner.extensions import db

    app = create_app()
    with app.app_context(), audit.acting_as(None, "bench"):
        for i in range(1, users + 1):
            accounts.create(f"bench-user-{i:02d}", USER_PASSWORD, "coordinator", commit=False)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    print(f"database ready in {time.monotonic() - t0:.1f} s: {url}")
    return url


def newest_plan(url: str) -> tuple[int, int, list[str]]:
    """(plan id, version, the dates of team 1 that have stops) of the newest plan."""
    os.environ["DATABASE_URL"] = url
    from planner import create_app, plan_json, plan_store
    from planner.extensions import db

    app = create_app()
    with app.app_context():
        plans = plan_store.list_plans()
        if not plans:
            raise SystemExit("the database holds no plan (run `planner load-demo` or make one)")
        plan_id, version = plans[0]["id"], plans[0]["latest_version"]
        result = plan_store.get_version(plan_id, version).result
        dates = [td.date for td in plan_json.team_days(result, 1)]
        db.session.remove()
        db.engine.dispose()
    if not dates:
        raise SystemExit(f"team 1 of plan {plan_id} v{version} has no day with stops")
    return plan_id, version, dates


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_tree_cpu(root: int) -> float:
    """CPU seconds (user + system, own + reaped children) of ``root`` and its descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as fh:
                f = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(name)] = (int(f[1]), sum(int(x) for x in f[11:15]))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0))[1]
        todo.extend(p for p, (ppid, _c) in stats.items() if ppid == pid)
    return total / tick


def proc_tree_memory(root: int) -> tuple[float, float]:
    """(Pss, Rss) in MB summed over ``root`` and its descendants (Pss shares the pages the
    forked workers have in common; Rss counts them in each)."""
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as fh:
                    parents[int(name)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(p for p, ppid in parents.items() if ppid == pid)
    pss = rss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return pss / 1024, rss / 1024


class Server:
    def __init__(self, workdir: Path, url: str, args: argparse.Namespace):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [*planner_command(), "serve", "--bind", f"127.0.0.1:{self.port}"]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        env = {**os.environ, "DATABASE_URL": url,
               "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_hex(32),
               "PLANNER_LOGIN_RATE_LIMIT": f"{max(100, 4 * args.users)} per minute"}
        self.log_path = workdir / "serve.log"
        self.command = cmd
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         cwd=workdir, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"planner serve exited:\n{self.log()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/masuk")
                if c.getresponse().status == 200:
                    c.close()
                    break
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"planner serve did not answer within 60 s:\n{self.log()}")
            time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)


# --------------------------------------------------------------------------- users
@dataclass
class Sample:
    kind: str
    start: float
    latency: float
    ok: bool
    status: int | None = None
    error: str | None = None
    redirect: bool = False


@dataclass
class Shared:
    host: str
    port: int
    timeout: float
    plan_id: int
    version: int
    dates: list[str]
    think: float
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    samples: list[Sample] = field(default_factory=list)
    logins: list[Sample] = field(default_factory=list)
    reconnects: int = 0
    reconnect_idle: list[float] = field(default_factory=list)  # idle seconds before each


class User:
    def __init__(self, shared: Shared, index: int, username: str, password: str, seed: int):
        self.sh = shared
        self.index = index
        self.username = username
        self.password = password
        self.rng = random.Random(seed * 1000 + index)
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None
        self.last_used = 0.0

    # one HTTP exchange on the keep-alive connection (reopened once if it went stale)
    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (0, 1):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.sh.host, self.sh.port,
                                                       timeout=self.sh.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = None
                if reused and attempt == 0:  # the server closed an idle keep-alive connection
                    with self.sh.lock:
                        self.sh.reconnects += 1
                        self.sh.reconnect_idle.append(time.monotonic() - self.last_used)
                    continue
                raise
            except Exception:
                self.conn.close()
                self.conn = None
                raise
            self.last_used = time.monotonic()
            for key, value in resp.getheaders():
                if key.lower() == "set-cookie":
                    name, _sep, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            if resp.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return resp.status, dict(resp.getheaders()), data
        raise AssertionError("unreachable")

    def login(self) -> bool:
        t0 = time.monotonic()
        try:
            status, _h, page = self.request("GET", "/masuk")
            m = CSRF_RE.search(page.decode("utf-8", "replace"))
            if status != 200 or not m:
                raise RuntimeError(f"GET /masuk: {status}, no csrf_token")
            form = urllib.parse.urlencode({"csrf_token": m.group(1), "username": self.username,
                                           "password": self.password, "next": ""}).encode()
            status, headers, _b = self.request(
                "POST", "/masuk", form, {"Content-Type": "application/x-www-form-urlencoded"})
            location = headers.get("Location", "")
            ok = status == 302 and "/masuk" not in location
            err = None if ok else f"POST /masuk: {status} {location}"
        except Exception as exc:  # noqa: BLE001
            ok, status, err = False, None, f"{type(exc).__name__}: {exc}"
        sample = Sample("login", t0, time.monotonic() - t0, ok, status, err)
        with self.sh.lock:
            self.sh.logins.append(sample)
        return ok

    def paths(self, kind: str, n: int) -> list[str]:
        sh = self.sh
        if kind == "gap":
            return ["/"]
        if kind == "map":
            return ["/peta", "/peta/map.html"]
        if kind == "plan":
            return [f"/rencana/{sh.plan_id}/v{sh.version}"]
        day = sh.dates[(self.index + n) % len(sh.dates)]
        return [f"/rencana/{sh.plan_id}/v{sh.version}/lembar.pdf?team=1&day={day}"]

    def one(self, kind: str, path: str) -> Sample:
        t0 = time.monotonic()
        try:
            status, headers, body = self.request("GET", path)
        except Exception as exc:  # noqa: BLE001
            return Sample(kind, t0, time.monotonic() - t0, False, None,
                          f"{path}: {type(exc).__name__}: {exc}")
        latency = time.monotonic() - t0
        ok = 200 <= status < 400
        error = None if ok else f"{path}: HTTP {status}"
        redirect = 300 <= status < 400
        if status == 200 and kind == "pdf" and not body.startswith(b"%PDF"):
            ok, error = False, f"{path}: not a PDF ({headers.get('Content-Type')})"
        elif redirect and "/masuk" in headers.get("Location", ""):
            ok, error = False, f"{path}: sent to the login page"
        return Sample(kind, t0, latency, ok, status, error, redirect)

    def run(self, start: threading.Barrier) -> None:
        logged_in = self.login()
        if self.conn is not None:  # idle until every user has logged in: start afresh
            self.conn.close()
            self.conn = None
        start.wait()
        if not logged_in:
            return
        n = self.rng.randrange(len(KINDS))
        while not self.sh.stop.is_set():
            kind = KINDS[n % len(KINDS)]
            for path in self.paths(kind, n // len(KINDS)):
                sample = self.one(kind, path)
                with self.sh.lock:
                    self.sh.samples.append(sample)
                if self.sh.stop.is_set():
                    break
            n += 1
            if self.sh.think:
                self.sh.stop.wait(self.rng.uniform(0.5, 1.5) * self.sh.think)
        if self.conn is not None:
            self.conn.close()


# --------------------------------------------------------------------------- report
def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(-(-q * len(s) // 100)) - 1))]


def table(samples: list[Sample], elapsed: float) -> list[dict]:
    rows = []
    for kind in (*KINDS, "all"):
        mine = [s for s in samples if kind == "all" or s.kind == kind]
        lat = [s.latency for s in mine if s.ok]
        rows.append({
            "kind": kind, "requests": len(mine), "rps": len(mine) / elapsed if elapsed else 0,
            "p50": pct(lat, 50), "p95": pct(lat, 95), "p99": pct(lat, 99),
            "max": max(lat) if lat else float("nan"),
            "mean": statistics.fmean(lat) if lat else float("nan"),
            "errors": sum(not s.ok for s in mine), "redirects": sum(s.redirect for s in mine),
        })
    return rows


LABELS = {"gap": "gap view `/`", "map": "map page + map document", "plan": "plan page",
          "pdf": "day sheet PDF (1 team, 1 day)", "all": "**all**"}


def markdown(rows: list[dict]) -> str:
    out = ["| kind | requests | req/s | p50 | p95 | p99 | max | errors |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {LABELS[r['kind']]} | {r['requests']:,} | {r['rps']:.2f} | "
                   f"{r['p50']:.2f} s | {r['p95']:.2f} s | {r['p99']:.2f} s | {r['max']:.2f} s | "
                   f"{r['errors']} |")
    return "\n".join(out)


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "?"


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--duration", type=float, default=60, help="measured seconds")
    ap.add_argument("--warmup", type=float, default=10, help="seconds before the measurement")
    ap.add_argument("--think", type=float, default=0,
                    help="mean pause between a user's pages in seconds (0: none, the worst case)")
    ap.add_argument("--timeout", type=float, default=120, help="client timeout per request (s)")
    ap.add_argument("--workers", type=int, default=None, help="planner serve --workers")
    ap.add_argument("--threads", type=int, default=None, help="planner serve --threads")
    ap.add_argument("--database-url", default=None,
                    help="use this database (else a temporary SQLite with the demo)")
    ap.add_argument("--username", default=None, help="account for every user (--database-url)")
    ap.add_argument("--password", default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=None, help="write the figures and samples' errors here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)
    if args.database_url and not (args.username and args.password):
        ap.error("--database-url needs --username and --password")

    workdir = Path(tempfile.mkdtemp(prefix="planner-load-"))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    server = None
    try:
        if args.database_url:
            url = args.database_url
            accounts = [(args.username, args.password)] * args.users
        else:
            url = build_demo_database(workdir, args.users, env)
            accounts = [(f"bench-user-{i:02d}", USER_PASSWORD) for i in range(1, args.users + 1)]
        plan_id, version, dates = newest_plan(url)
        load_before = loadavg()
        server = Server(workdir, url, args)
        print(f"server: planner {' '.join(server.command[len(planner_command()):])} "
              f"(pid {server.proc.pid}); plan {plan_id} v{version}, team 1 days {dates}")
        shared = Shared("127.0.0.1", server.port, args.timeout, plan_id, version, dates,
                        args.think)
        barrier = threading.Barrier(args.users + 1)
        users = [User(shared, i, u, p, args.seed) for i, (u, p) in enumerate(accounts)]
        threads = [threading.Thread(target=u.run, args=(barrier,), daemon=True) for u in users]
        t_login = time.monotonic()
        for t in threads:
            t.start()
        barrier.wait(timeout=300)
        login_s = time.monotonic() - t_login
        cpu_server0, cpu_client0 = proc_tree_cpu(server.proc.pid), resource.getrusage(
            resource.RUSAGE_SELF)
        t0 = time.monotonic()
        loads = [loadavg()]
        memory = [proc_tree_memory(server.proc.pid)]
        while time.monotonic() < t0 + args.warmup + args.duration:
            time.sleep(min(5.0, t0 + args.warmup + args.duration - time.monotonic()))
            loads.append(loadavg())
            memory.append(proc_tree_memory(server.proc.pid))
        shared.stop.set()
        for t in threads:
            t.join(timeout=args.timeout + 10)
        t_end = time.monotonic()
        cpu_server = proc_tree_cpu(server.proc.pid) - cpu_server0
        ru = resource.getrusage(resource.RUSAGE_SELF)
        cpu_client = (ru.ru_utime + ru.ru_stime) - (cpu_client0.ru_utime + cpu_client0.ru_stime)
        load_after = loadavg()
        server_log = server.log()
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    warm_end = t0 + args.warmup
    measured = [s for s in shared.samples if s.start >= warm_end]
    warm = [s for s in shared.samples if s.start < warm_end]
    last = max((s.start + s.latency for s in measured), default=t_end)
    elapsed = max(last, warm_end + args.duration) - warm_end
    rows = table(measured, elapsed)
    errors = [s for s in shared.samples if not s.ok]
    login_errors = [s for s in shared.logins if not s.ok]
    login_lat = [s.latency for s in shared.logins]

    print()
    print(f"{args.users} users, {args.duration:.0f} s measured after {args.warmup:.0f} s warm-up, "
          f"think time {args.think:g} s; `planner serve` "
          f"{'--workers ' + str(args.workers) if args.workers else '(default workers)'} "
          f"{'--threads ' + str(args.threads) if args.threads else '(default threads)'}")
    print(f"logins: {len(shared.logins)} in {login_s:.1f} s (p50 {pct(login_lat, 50):.2f} s, "
          f"max {max(login_lat, default=float('nan')):.2f} s), {len(login_errors)} failed")
    print(markdown(rows))
    idle = (f"{min(shared.reconnect_idle):.1f}–{max(shared.reconnect_idle):.1f} s"
            if shared.reconnect_idle else "–")
    print(f"warm-up requests (not above): {len(warm)}, errors among them: "
          f"{sum(not s.ok for s in warm)}; stale keep-alive connections reopened: "
          f"{shared.reconnects} (idle before: {idle}); 3xx answers: {rows[-1]['redirects']}")
    print(f"CPU seconds over the run ({t_end - t0:.0f} s wall, {os.cpu_count()} cores = "
          f"{(t_end - t0) * (os.cpu_count() or 1):.0f} core-seconds): server {cpu_server:.1f}, "
          f"load client {cpu_client:.1f}")
    print(f"server memory (all its processes): Pss up to {max(m[0] for m in memory):.0f} MB "
          f"(Rss summed up to {max(m[1] for m in memory):.0f} MB)")
    print(f"/proc/loadavg before: {load_before}; after: {load_after}; "
          f"1-min load during: {min(float(x.split()[0]) for x in loads):.2f}–"
          f"{max(float(x.split()[0]) for x in loads):.2f}")
    for s in (errors + login_errors)[:30]:
        print(f"  ERROR {s.kind} at +{s.start - t0:.1f} s after {s.latency:.2f} s: {s.error}")
    if len(errors) > 30:
        print(f"  … {len(errors) - 30} more")
    if errors or login_errors:
        print("server log (end):\n" + server_log)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "users": args.users, "duration": args.duration, "warmup": args.warmup,
            "think": args.think, "workers": args.workers, "threads": args.threads,
            "rows": rows, "logins": len(shared.logins), "login_errors": len(login_errors),
            "errors": [s.error for s in errors], "reconnects": shared.reconnects,
            "cpu_server": cpu_server, "cpu_client": cpu_client, "loadavg_before": load_before,
            "loadavg_after": load_after, "loads": loads,
            "memory_pss_mb": max(m[0] for m in memory), "memory_rss_mb": max(m[1] for m in memory),
        }, indent=1))
    return 1 if errors or login_errors else 0


if __name__ == "__main__":
    sys.exit(main())
