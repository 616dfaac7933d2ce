"""A province on Celery workers: 14 fictional regencies fanned out over 1, 2 and 4 workers.

    python -m bench.bench_province [--workers 1 2 4] [--regencies 14] [--solution-limit 150]
        [--database-url URL] [--broker redis://127.0.0.1:6379/0] [--out bench/out/province]

What it does:

1. generates a FICTIONAL province (own code, seeded; nothing from ../shared): 14 regencies of
   100–250 villages each, codes ``99.<10+k>.*``, scattered around their own regency seat in a
   Kalimantan-sized box, 20 % of the villages reachable by river only, recap figures drawn per
   village;
2. loads them into one database (a SQLite file by default, or ``--database-url``) as 14
   datasets (one per regency: the planner's regencies are not first-class yet, a dataset is
   one regency's recap), each planned from its own seat;
3. for each worker count N: starts N ``planner worker --concurrency 1`` processes
   (``PLANNER_JOBS=celery``, one solver process per plan), submits the 14 plans at once
   through ``planner.jobs.submit_plan_job`` (the same path as the web form) and waits until all
   are done. Wall time from the first submit to the last result, speed-up against N = 1, and
   the peak resident memory of each worker's process tree (sampled every 0.2 s) are recorded.

Every plan has the same seed and a **solution limit** (fixed work per plan, with a generous
time limit that is not reached): the figures then show how the work spreads over the
workers; with a time limit alone every plan would take its limit whatever the load.

Writes ``<out>.json`` (every run, every regency) and prints the table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEATS = [(-2.54, 112.95), (-1.35, 113.9), (-2.2, 114.4), (-3.0, 114.1), (-1.0, 112.2),
         (-2.9, 111.6), (-0.9, 114.9), (-1.9, 111.4), (-3.4, 113.4), (-0.6, 113.3),
         (-1.6, 115.1), (-2.6, 115.3), (-3.1, 112.3), (-1.2, 110.9)]
REGENCY_NAMES = ["Sungai Kaca", "Bukit Lima", "Danau Tujuh", "Muara Benang", "Tanjung Ilalang",
                 "Rantau Kecil", "Teluk Embun", "Padang Ruai", "Lubuk Damar", "Kuala Rotan",
                 "Batu Merah", "Hulu Jernih", "Pasir Putih", "Tebing Tinggi Baru"]


# --------------------------------------------------------------------------- the province
def regency(k: int, seed: int = 14):
    """Regency ``k`` (0-based): (name, seat, villages GeoDataFrame, recap DataFrame)."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import box

    rng = np.random.default_rng(seed * 1000 + k)
    n = int(rng.integers(100, 251))
    lat0, lon0 = SEATS[k % len(SEATS)]
    code = f"99.{10 + k:02d}"
    rows, recap = [], []
    n_kec = int(rng.integers(6, 13))
    for i in range(n):
        r = 0.08 + abs(rng.normal(0, 0.45))  # degrees: most villages within ~50 km
        a = rng.uniform(0, 2 * np.pi)
        lat, lon = lat0 + r * np.sin(a) * 0.8, lon0 + r * np.cos(a)
        kec = i % n_kec + 1
        vcode = f"{code}.{kec:02d}.{2001 + i:04d}"
        rows.append({"code": vcode, "name": f"Desa {REGENCY_NAMES[k % 14].split()[0]} {i + 1}",
                     "kecamatan": f"Kecamatan {kec}", "kecamatan_code": f"{code}.{kec:02d}",
                     "type": "desa", "access": "river" if rng.random() < 0.2 else "road",
                     "no_signal": bool(rng.random() < 0.1), "stop_lat": lat, "stop_lon": lon,
                     "geometry": box(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)})
        obliged = int(rng.integers(300, 2500))
        recorded = int(obliged * rng.uniform(0.6, 0.95))
        recap.append({"code": vcode, "population": int(obliged * 1.4), "obliged": obliged,
                      "recorded": recorded})
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    return f"Kabupaten {REGENCY_NAMES[k % 14]} (fiktif)", (lat0, lon0), gdf, pd.DataFrame(recap)


def build_database(url: str, n_regencies: int) -> list[dict]:
    """Migrate ``url`` and load the province; returns one entry per regency."""
    from planner import create_app, repository
    from planner.cli.db import upgrade_db
    from planner.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_hex(16)})
    out = []
    with app.app_context():
        upgrade_db()
        for k in range(n_regencies):
            name, seat, gdf, recap = regency(k)
            repository.replace_villages(gdf, source_file=f"regency-{k}.geojson", fictional=True)
            ds = repository.add_dataset(recap, name=name, snapshot_date=dt.date(2026, 11, 1),
                                        recap_file=f"regency-{k}.csv", fictional=True,
                                        synthetic=True, basemap=False)
            out.append({"k": k, "name": name, "seat": seat, "dataset_id": ds.id,
                        "villages": len(gdf)})
        repository.set_default_base("Kantor provinsi (fiktif)", *SEATS[0])
        db.session.remove()
        db.engine.dispose()
    return out


def plan_params(reg: dict, *, solution_limit: int, time_limit: float):
    from planner import pipeline
    from planner.params import build, team

    lat, lon = reg["seat"]
    base = {"name": f"Kantor {reg['name']}", "lat": lat, "lon": lon}
    teams = [team("Tim 1", base), team("Tim 2", base, max_nights=2),
             team("Tim 3 (perahu)", base, mode="both", max_nights=3)]
    return build(name=f"Rencana {reg['name']}", dataset_id=reg["dataset_id"], teams=teams,
                 start_date=pipeline.next_monday(dt.date(2026, 11, 30)), days=5,
                 time_limit=time_limit, seed=1, solution_limit=solution_limit)


# --------------------------------------------------------------------------- workers
def tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def start_workers(n: int, url: str, broker: str, queue: str, logdir: Path) -> list:
    env = {**os.environ, "DATABASE_URL": url, "PLANNER_JOBS": "celery",
           "CELERY_BROKER_URL": broker, "PLANNER_CELERY_QUEUE": queue,
           "PLANNER_PLAN_WORKERS": "1", "PLANNER_SQLITE_WAL": "1"}
    exe = Path(sys.executable).with_name("planner")
    procs = []
    for i in range(n):
        log = open(logdir / f"worker-{n}-{i}.log", "wb")  # noqa: SIM115 - closed below
        procs.append((subprocess.Popen([str(exe), "worker", "--concurrency", "1",
                                        "--loglevel", "info"], env=env, cwd=ROOT,
                                       stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True), log))
    deadline = time.monotonic() + 120
    for i in range(n):  # every worker connected and ready before the clock starts
        path = logdir / f"worker-{n}-{i}.log"
        while " ready." not in path.read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise SystemExit(f"worker {i} not ready:\n{path.read_text(errors='replace')}")
            time.sleep(0.2)
    return procs


def stop_workers(procs) -> None:
    for p, _log in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    for p, log in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        log.close()


def fan_out(n: int, regs: list[dict], url: str, broker: str, args) -> dict:
    from planner import create_app, jobs
    from planner.extensions import db
    from planner.models import PlanJob, PlanVersion

    queue = f"planner-bench-{os.getpid()}-{n}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_hex(16),
                      "PLAN_JOBS": "celery", "CELERY_BROKER_URL": broker,
                      "CELERY_QUEUE": queue, "PLAN_QUEUE_PER_USER": 1000})
    logdir = Path(args.out).parent
    procs = start_workers(n, url, broker, queue, logdir)
    peak = {p.pid: 0 for p, _ in procs}
    load0 = os.getloadavg()[0]
    try:
        with app.app_context():
            params = [plan_params(r, solution_limit=args.solution_limit,
                                  time_limit=args.time_limit) for r in regs]
            t0 = time.monotonic()
            ids = [jobs.submit_plan_job(app, p) for p in params]
            db.session.remove()
        while True:
            for p, _ in procs:
                peak[p.pid] = max(peak[p.pid], sum(rss_kb(q) for q in tree(p.pid)))
            with app.app_context():
                states = dict(db.session.query(PlanJob.id, PlanJob.status)
                              .filter(PlanJob.id.in_(ids)).all())
                db.session.remove()
            if all(s in ("done", "failed") for s in states.values()):
                break
            if time.monotonic() - t0 > args.timeout:
                raise SystemExit(f"N={n}: not finished after {args.timeout} s: {states}")
            time.sleep(0.2)
        wall = time.monotonic() - t0
        load1 = os.getloadavg()[0]
        rows = []
        with app.app_context():
            for reg, job_id in zip(regs, ids, strict=True):
                job = db.session.get(PlanJob, job_id)
                version = db.session.get(PlanVersion, job.version_id) if job.version_id else None
                res = version.result if version is not None else {}
                totals = res.get("totals") or {}
                team_days = sum(1 for t in res.get("teams", []) for d in t.get("days", [])
                                if d.get("stops"))
                elapsed = (job.finished_at - job.started_at).total_seconds() \
                    if job.finished_at and job.started_at else None
                rows.append({"regency": reg["name"], "villages": reg["villages"],
                             "status": job.status, "error": job.error, "solve_s": elapsed,
                             "worker": job.worker, "people": totals.get("people"),
                             "km": totals.get("km"), "cost_rp": totals.get("cost_rp"),
                             "team_days": team_days})
            db.session.remove()
    finally:
        stop_workers(procs)
    return {"workers": n, "wall_s": round(wall, 1), "load_before": round(load0, 2),
            "load_after": round(load1, 2),
            "peak_rss_mb_per_worker": [round(v / 1024) for v in peak.values()],
            "regencies": rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--regencies", type=int, default=14)
    ap.add_argument("--solution-limit", type=int, default=150)
    ap.add_argument("--time-limit", type=float, default=600)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "province"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    url = args.database_url
    if url is None:
        db_file = out.with_suffix(".sqlite")
        db_file.unlink(missing_ok=True)
        url = f"sqlite:///{db_file}"
    regs = build_database(url, args.regencies)
    print(f"province: {len(regs)} regencies, {sum(r['villages'] for r in regs)} villages "
          f"({min(r['villages'] for r in regs)}–{max(r['villages'] for r in regs)} each)",
          flush=True)
    runs = []
    for n in args.workers:
        run = fan_out(n, regs, url, args.broker, args)
        runs.append(run)
        print(f"N={n}: wall {run['wall_s']} s, peak MB per worker "
              f"{run['peak_rss_mb_per_worker']}, load {run['load_before']}→{run['load_after']}",
              flush=True)
    base = runs[0]["wall_s"] if runs else None
    result = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
              "database": url.split(":", 1)[0], "solution_limit": args.solution_limit,
              "regencies": [{k: v for k, v in r.items() if k != "seat"} for r in regs],
              "runs": runs}
    out.with_suffix(".json").write_text(json.dumps(result, indent=2, default=str))
    print("\n| workers | wall (s) | speed-up | peak RSS per worker (MB) | load avg before → after |")
    print("|---|---|---|---|---|")
    for run in runs:
        print(f"| {run['workers']} | {run['wall_s']} | {base / run['wall_s']:.2f} | "
              f"{', '.join(map(str, run['peak_rss_mb_per_worker']))} | "
              f"{run['load_before']} → {run['load_after']} |")
    last = runs[-1]
    print("\n| regency | villages | status | solve (s) | people | km | cost (Rp) | team-days |")
    print("|---|---|---|---|---|---|---|---|")
    for r in last["regencies"]:
        print(f"| {r['regency']} | {r['villages']} | {r['status']} | {r['solve_s']} | "
              f"{r['people']} | {r['km']} | {r['cost_rp']} | {r['team_days']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
