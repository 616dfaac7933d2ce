"""A province on Celery workers: ``planner batch`` on 14 fictional regencies over 1, 2 and 4
worker processes.

    python -m bench.bench_province [--workers 1 2 4] [--regencies 14] [--solution-limit 400]
        [--pg-admin postgresql://postgres@127.0.0.1:5432/postgres | --database-url URL]
        [--broker redis://127.0.0.1:6379/0] [--out bench/out/province]

What it does:

1. generates a FICTIONAL province (own code, seeded; nothing from ../shared): 14 regencies of
   100–250 villages each, codes ``99.<10+k>.*``, scattered around their own regency seat in a
   Kalimantan-sized box, 20 % of the villages reachable by river only, recap figures drawn per
   village;
2. creates a PostgreSQL database of its own on ``--pg-admin``'s server (dropped at the end; or
   uses ``--database-url`` as it is), migrates it and loads the province as the product holds
   one: each regency is a real regency (``regencies.create(code, name)``) and its villages,
   recap and office (the default base, at its seat) are loaded within it
   (``regencies.within``), so the default regency the first ``create`` makes stays empty;
3. writes one ``plan-params/1`` request (3 teams from ``"base": "default"`` × 5 days, seed 1,
   a **solution limit**: fixed work per plan, with a time limit that is not reached);
4. for each worker count N: starts N ``planner worker --concurrency 1`` processes
   (``PLANNER_JOBS=celery``, one solver process per plan) and runs the real command
   ``planner batch --regencies all --params FILE --out DIR`` as a subprocess (the code users
   run: one job per regency within it, a Celery fan-out, then ``provinsi.xlsx`` and one
   day-sheet PDF per regency). Measured: the command's wall time, the plans' wall time (first
   job queued to last plan stored, from the job records), speed-up against N = 1, the peak
   resident memory of each worker's process tree and of the batch command (sampled every
   0.2 s), ``/proc/loadavg`` before and after. Checked: the command exits 0, ``provinsi.xlsx``
   has one ``done`` row per regency and a total row, and the folder holds one PDF per regency.

Writes ``<out>.json`` (every run, every regency), ``<out>-N<n>/`` (the batch folders) and the
logs beside them, and prints the tables for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from bench.pgdb import scratch_database

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
    """Migrate ``url`` and load the province, each regency a real regency; returns one entry
    per regency."""
    from planner import create_app, regencies, repository
    from planner.cli.db import upgrade_db
    from planner.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_hex(16)})
    out = []
    with app.app_context():
        upgrade_db()
        for k in range(n_regencies):
            name, seat, gdf, recap = regency(k)
            code = f"99.{10 + k:02d}"
            r = regencies.create(code, name)
            with regencies.within(r):
                repository.replace_villages(gdf, source_file=f"regency-{k}.geojson",
                                            fictional=True)
                repository.add_dataset(recap, name=f"Rekap {name}",
                                       snapshot_date=dt.date(2026, 11, 1),
                                       recap_file=f"regency-{k}.csv", fictional=True,
                                       synthetic=True, basemap=False)
                repository.set_default_base(f"Kantor {name}", *seat)
            out.append({"k": k, "code": code, "name": name, "villages": len(gdf)})
        db.session.remove()
        db.engine.dispose()
    return out


def write_params(path: Path, *, solution_limit: int, time_limit: float) -> dict:
    """The batch request: every team from its regency's own office (``"base": "default"``)."""
    from planner import pipeline
    from planner.params import build, team

    somewhere = {"name": "x", "lat": 0.0, "lon": 0.0}  # replaced by "default" below
    teams = [team("Tim 1", somewhere), team("Tim 2", somewhere, max_nights=2),
             team("Tim 3 (perahu)", somewhere, mode="both", max_nights=3)]
    data = build(name="Rencana provinsi", teams=teams,
                 start_date=pipeline.next_monday(dt.date(2026, 11, 30)), days=5,
                 time_limit=time_limit, seed=1, solution_limit=solution_limit).to_dict()
    data.pop("dataset_id", None)
    for t in data["teams"]:
        t["base"] = "default"
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return data


# --------------------------------------------------------------------------- processes
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


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def planner_env(url: str, broker: str, queue: str, secret: str) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "PLANNER_JOBS": "celery",
           "CELERY_BROKER_URL": broker, "PLANNER_CELERY_QUEUE": queue,
           "PLANNER_PLAN_WORKERS": "1", "SECRET_KEY": secret}
    for name in ("PLANNER_REGENCY", "PLANNER_TEST_DATABASE_URL"):
        env.pop(name, None)
    return env


def planner_exe() -> str:
    return str(Path(sys.executable).with_name("planner"))


def start_workers(n: int, env: dict, logdir: Path) -> list:
    procs = []
    for i in range(n):
        log = open(logdir / f"worker-{n}-{i}.log", "wb")  # noqa: SIM115 - closed below
        procs.append((subprocess.Popen([planner_exe(), "worker", "--concurrency", "1",
                                        "--loglevel", "info"], env=env, cwd=ROOT,
                                       stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True), log))
    deadline = time.monotonic() + 120
    for i, (p, _log) in enumerate(procs):  # every worker ready before the clock starts
        path = logdir / f"worker-{n}-{i}.log"
        while " ready." not in path.read_text(errors="replace"):
            if p.poll() is not None or time.monotonic() > deadline:
                stop_workers(procs)
                raise SystemExit(f"worker {i} not ready:\n{path.read_text(errors='replace')}")
            time.sleep(0.2)
    return procs


def stop_workers(procs) -> None:
    for p, _log in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    for p, log in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        log.close()


# --------------------------------------------------------------------------- one row
def run_batch(n: int, regs: list[dict], url: str, args, params_file: Path) -> dict:
    """N workers, then ``planner batch --regencies all``; measured and checked."""
    out_root = Path(args.out)
    out_dir = out_root.parent / f"{out_root.name}-N{n}"
    if out_dir.exists():
        for f in out_dir.iterdir():
            f.unlink()
    env = planner_env(url, args.broker, f"planner-bench-{os.getpid()}-{n}", args.secret)
    procs = start_workers(n, env, out_root.parent)
    peak = {p.pid: 0 for p, _ in procs}
    peak_batch = 0
    load0 = loadavg()
    log_path = out_root.parent / f"batch-{n}.log"
    cmd = [planner_exe(), "batch", "--regencies", "all", "--params", str(params_file),
           "--out", str(out_dir), "--timeout", str(int(args.timeout))]
    lines: list[tuple[float, str]] = []  # (seconds since start, line) of the command's output
    try:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, env={**env, "PYTHONUNBUFFERED": "1"}, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        reader = threading.Thread(target=lambda: lines.extend(
            (time.monotonic() - t0, line) for line in proc.stdout), daemon=True)
        reader.start()
        while proc.poll() is None:
            for p, _ in procs:
                peak[p.pid] = max(peak[p.pid], sum(rss_kb(q) for q in tree(p.pid)))
            peak_batch = max(peak_batch, sum(rss_kb(q) for q in tree(proc.pid)))
            time.sleep(0.2)
        wall = time.monotonic() - t0
        reader.join(10)
        load1 = loadavg()
    finally:
        stop_workers(procs)
    log_path.write_text("".join(f"{t:7.1f}  {line}" for t, line in lines))
    output = "".join(line for _t, line in lines)
    if proc.returncode != 0:
        raise SystemExit(f"N={n}: planner batch exited {proc.returncode}:\n{output}")
    job_ids = {m[1]: int(m[2]) for m in re.finditer(r"^  (\S+): job (\d+)$", output, re.M)}

    def at(pattern: str, last: bool = False) -> float | None:
        hits = [t for t, line in lines if re.search(pattern, line)]
        return round(hits[-1] if last else hits[0], 1) if hits else None

    phases = {"started_s": at(r"regencies, jobs:"), "submitted_s": at(r": job \d+$", last=True),
              "xlsx_s": at(r"provinsi\.xlsx$"), "sheets_s": at(r"lembar-harian\.pdf$", last=True)}
    return {"workers": n, "command": cmd, "wall_s": round(wall, 1), "phases": phases,
            "load_before": load0,
            "load_after": load1, "peak_rss_mb_per_worker": [round(v / 1024) for v in peak.values()],
            "peak_rss_mb_batch": round(peak_batch / 1024), "out_dir": str(out_dir),
            **check_output(out_dir, regs), **job_figures(url, regs, job_ids)}


def check_output(out_dir: Path, regs: list[dict]) -> dict:
    """provinsi.xlsx: one ``done`` row per regency and the total row; one PDF per regency."""
    from openpyxl import load_workbook

    rows = list(load_workbook(out_dir / "provinsi.xlsx").active.iter_rows(values_only=True))
    body, total = rows[1:-1], rows[-1]
    codes = sorted(r["code"] for r in regs)
    problems = []
    if sorted(row[0] for row in body) != codes:
        problems.append(f"xlsx rows {[row[0] for row in body]} != {codes}")
    if not all(row[2] == "done" and (row[3] or 0) > 0 for row in body):
        problems.append(f"not all done with people: {[row[:4] for row in body]}")
    if total[1] != "Jumlah":
        problems.append(f"no total row: {total}")
    pdfs = sorted(out_dir.glob("*-lembar-harian.pdf"))
    if sorted(p.name.split("-lembar")[0] for p in pdfs) != codes or \
            not all(p.read_bytes()[:4] == b"%PDF" for p in pdfs):
        problems.append(f"PDFs: {[p.name for p in pdfs]}")
    if problems:
        raise SystemExit(f"{out_dir}: " + "; ".join(problems))
    return {"xlsx_rows": len(body), "pdfs": len(pdfs),
            "pdf_kb": [round(p.stat().st_size / 1024) for p in pdfs],
            "summary": {row[0]: {"people": row[3], "km": row[4], "cost_rp": row[5],
                                 "team_days": row[6], "villages_visited": row[7]}
                        for row in body},
            "total": {"people": total[3], "km": total[4], "cost_rp": total[5],
                      "team_days": total[6]}}


def job_figures(url: str, regs: list[dict], job_ids: dict[str, int]) -> dict:
    """From the job records: the plans' wall time and each plan's claim-to-stored time."""
    from planner import create_app, regencies
    from planner.extensions import db
    from planner.models import PlanJob

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_hex(16)})
    per = {}
    with app.app_context(), regencies.within(None):
        jobs = {code: db.session.get(PlanJob, jid) for code, jid in job_ids.items()}
        for code, job in jobs.items():
            per[code] = {"job": job.id, "status": job.status, "attempts": job.attempts,
                         "worker": job.worker, "solve_s": round(
                             (job.finished_at - job.started_at).total_seconds(), 1)
                         if job.finished_at and job.started_at else None}
        first = min(j.created_at for j in jobs.values())
        last = max(j.finished_at for j in jobs.values() if j.finished_at)
        db.session.remove()
        db.engine.dispose()
    if sorted(per) != sorted(r["code"] for r in regs):
        raise SystemExit(f"jobs in the batch output: {sorted(per)}")
    return {"plans_wall_s": round((last - first).total_seconds(), 1), "jobs": per}


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--regencies", type=int, default=14)
    ap.add_argument("--solution-limit", type=int, default=400)
    ap.add_argument("--time-limit", type=float, default=600)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres",
                    help="server (and a database to connect to) where the bench creates and "
                         "drops a database of its own")
    ap.add_argument("--database-url", default=None,
                    help="use this (empty) database instead, and leave it")
    ap.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "province"))
    args = ap.parse_args(argv)
    args.secret = secrets.token_hex(16)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with (contextlib.nullcontext(args.database_url) if args.database_url
          else scratch_database(args.pg_admin, "planner_bench_province")) as url:
        t = time.monotonic()
        regs = build_database(url, args.regencies)
        print(f"province: {len(regs)} regencies, {sum(r['villages'] for r in regs)} villages "
              f"({min(r['villages'] for r in regs)}–{max(r['villages'] for r in regs)} each), "
              f"loaded in {time.monotonic() - t:.0f} s", flush=True)
        params_file = out.parent / f"{out.name}-params.json"
        write_params(params_file, solution_limit=args.solution_limit, time_limit=args.time_limit)
        runs = []
        for n in args.workers:
            run = run_batch(n, regs, url, args, params_file)
            runs.append(run)
            print(f"N={n}: command {run['wall_s']} s {run['phases']}, plans "
                  f"{run['plans_wall_s']} s, peak MB "
                  f"per worker {run['peak_rss_mb_per_worker']}, batch {run['peak_rss_mb_batch']}"
                  f" MB; loadavg {run['load_before']} -> {run['load_after']}", flush=True)
    base = runs[0]
    result = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
              "database": "postgresql" if not args.database_url
              else args.database_url.split(":", 1)[0],
              "solution_limit": args.solution_limit, "regencies": regs, "runs": runs}
    out.with_suffix(".json").write_text(json.dumps(result, indent=2, default=str))
    print("\n| worker processes | `planner batch` wall (s) | speed-up | plans wall (s) | speed-up "
          "| peak RSS per worker (MB) | peak RSS batch (MB) | /proc/loadavg before → after |")
    print("|---:|---:|---:|---:|---:|---|---:|---|")
    for run in runs:
        print(f"| {run['workers']} | {run['wall_s']} | {base['wall_s'] / run['wall_s']:.2f} | "
              f"{run['plans_wall_s']} | {base['plans_wall_s'] / run['plans_wall_s']:.2f} | "
              f"{', '.join(map(str, run['peak_rss_mb_per_worker']))} | "
              f"{run['peak_rss_mb_batch']} | {run['load_before']} → {run['load_after']} |")
    last = runs[-1]
    print("\n| code | regency | villages | solve (s) | people | km | cost (Rp) | team-days |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in regs:
        s, j = last["summary"][r["code"]], last["jobs"][r["code"]]
        print(f"| {r['code']} | {r['name']} | {r['villages']} | {j['solve_s']} | "
              f"{s['people']:,} | {s['km']} | {s['cost_rp']:,} | {s['team_days']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
