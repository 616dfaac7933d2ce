"""Benchmark runner: ``python -m bench.run --set toptw|ref|solomon|kotim|scaling|all``.

Runs the product engine (``planner.engine.solve`` on the instance adapted by
:mod:`bench.adapters`: the "engine" column) and the reference solvers side by side at the same time limit,
re-evaluates every returned solution with :mod:`bench.checker` and prints a table (and writes a
CSV, one row per instance × teams × solver, flushed as it goes so a background run can be
followed). Runs are sequential by default (``--jobs 1``) to keep timings honest on 2 cores; the
engine itself uses ``--workers`` processes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bench import references as refs
from bench.checker import evaluate
from bench.readers import (
    read_solomon,
    read_solomon_bks,
    read_toptw,
    read_toptw_bks,
    solomon_path,
    toptw_names,
    toptw_path,
)

# The five reference TOPTW cases quoted in the issue (instance, teams).
REFERENCE_CASES = [("c101", 4), ("r101", 4), ("rc101", 4), ("pr01", 2), ("r201", 2)]
SOLOMON_DEFAULT = ([f"C1{k:02d}" for k in range(1, 10)] + [f"R1{k:02d}" for k in range(1, 13)]
                   + [f"RC1{k:02d}" for k in range(1, 9)])
ALL_SOLVERS = ["engine", "pyvrp", "vroom", "ortools"]

FIELDS = ["set", "instance", "teams", "solver", "best_known", "status", "score", "distance",
          "routes", "elapsed_s", "first_solution_s", "time_limit", "seed", "loadavg", "note",
          "errors", "timestamp"]


def load_instance(kind: str, name: str, teams: int):
    if kind == "toptw":
        return read_toptw(toptw_path(name), teams)
    return read_solomon(solomon_path(name))


def run_case(kind: str, name: str, teams: int, solver: str, time_limit: float, seed: int,
             workers: int) -> dict:
    """Solve one case with one solver and re-check it; returns a CSV row (dict)."""
    inst = load_instance(kind, name, teams)
    try:
        if solver == "engine":
            run = refs.run_engine(inst, time_limit, seed=seed, workers=workers)
        elif solver == "pyvrp":
            run = refs.run_pyvrp(inst, time_limit, seed=seed)
        elif solver == "vroom":
            run = refs.run_vroom(inst)
        elif solver == "ortools":
            run = refs.run_plain_ortools(inst, time_limit)
        elif solver == "vroom+ortools":
            run = refs.run_vroom_seeded_ortools(inst, time_limit)
        else:
            raise ValueError(f"unknown solver {solver}")
    except Exception as exc:  # noqa: BLE001 - a crashing solver is a table entry, not a crash
        run = refs.Run(solver, None, 0.0, note=f"error: {exc!r}"[:200])
    row = {"set": kind, "instance": name, "teams": teams if kind == "toptw" else "",
           "solver": solver, "time_limit": time_limit, "seed": seed,
           "elapsed_s": round(run.elapsed, 2),
           "first_solution_s": (round(run.extra["first_solution_s"], 3)
                                if run.extra.get("first_solution_s") is not None else ""),
           "loadavg": round(os.getloadavg()[0], 2), "note": run.note,
           "timestamp": datetime.now(UTC).isoformat(timespec="seconds")}
    if run.routes is None:
        row.update(status="none", score="", distance="", routes="", errors="")
        return row
    ev = evaluate(inst, run.routes)
    row.update(status="ok" if ev.feasible else "INVALID", score=ev.score,
               distance=ev.distance / inst.scale, routes=ev.routes_used,
               errors="; ".join(ev.errors[:3]))
    row["_routes"] = run.routes
    return row


def build_cases(args) -> list[tuple[str, str, int]]:
    cases: list[tuple[str, str, int]] = []
    sets = ["ref", "toptw", "solomon"] if args.set == "all" else [args.set]
    teams = [int(t) for t in args.teams.split(",")] if args.teams else None
    names = [s.strip() for s in args.instances.split(",")] if args.instances else None
    for s in sets:
        if s == "ref":
            cases += [("toptw", n, m) for n, m in REFERENCE_CASES
                      if (names is None or n in [x.lower() for x in names])
                      and (teams is None or m in teams)]
        elif s == "toptw":
            for n in [x.lower() for x in names] if names else toptw_names(args.groups):
                for m in teams or [1, 2, 3, 4]:
                    cases.append(("toptw", n, m))
        elif s == "solomon":
            for n in [x.upper() for x in names] if names else SOLOMON_DEFAULT:
                cases.append(("vrptw", n, 0))
    return cases


def best_known(kind: str, name: str, teams: int):
    try:
        if kind == "toptw":
            return read_toptw_bks().get((name.lower(), teams), {}).get("best_known")
        return read_solomon_bks().get(name.upper(), {}).get("best_known")
    except FileNotFoundError:
        return None


def _value(row: dict | None, kind: str):
    if row is None:
        return None
    if row["status"] != "ok":
        return None
    return row["score"] if kind == "toptw" else row["distance"]


def _cell(row: dict | None, kind: str) -> str:
    if row is None:
        return "-"
    if row["status"] == "none":
        return "none"
    if row["status"] != "ok":
        return "INVALID"
    if kind == "toptw":
        return f"{row['score']}"
    return f"{row['distance']:.1f}"  # status ok ⇒ every customer served (checker)


def _line(vals, markdown: bool) -> str:
    if markdown:
        return "| " + " | ".join(str(v) for v in vals) + " |"
    return " ".join(f"{v:>10}" for v in vals)


def print_table(rows: list[dict], solvers: list[str], out=sys.stdout,
                markdown: bool = False) -> dict:
    """Print the side-by-side table; returns the summary (also printed)."""
    by_case: dict[tuple, dict[str, dict]] = {}
    for r in rows:
        key = (r["set"], r["instance"], r["teams"])
        by_case.setdefault(key, {})[r["solver"]] = r
    summary = {}
    for kind in ("toptw", "vrptw"):
        keys = [k for k in by_case if k[0] == kind]
        if not keys:
            continue
        head = "score (max)" if kind == "toptw" else "distance (min, all served)"
        print(f"\n== {'TOPTW' if kind == 'toptw' else 'Solomon VRPTW'}: {head} ==", file=out)
        cols = ["instance", "m", "BKS"] + [s for s in solvers] + ["eng/BKS", "eng/PyVRP",
                                                                  "t_eng", "t_vroom"]
        print(_line(cols, markdown), file=out)
        if markdown:
            print("|" + "---|" * len(cols), file=out)
        ratios_bks, ratios_pyvrp, ge = [], [], 0
        compared = 0
        for k in keys:
            cs = by_case[k]
            bks = best_known(kind, k[1], k[2] or 0)
            eng = _value(cs.get("engine"), kind)
            pv = _value(cs.get("pyvrp"), kind)
            rb = rp = ""
            if eng is not None and bks:
                x = eng / bks
                ratios_bks.append(x)
                rb = f"{x:.4f}"
            if eng is not None and pv:
                x = eng / pv
                ratios_pyvrp.append(x)
                rp = f"{x:.4f}"
            if "engine" in cs and "pyvrp" in cs and pv is not None:
                compared += 1
                if eng is not None and ((eng >= pv) if kind == "toptw" else (eng <= pv + 1e-9)):
                    ge += 1
            vals = [k[1], str(k[2] or ""), "" if bks is None else f"{bks:g}"]
            vals += [_cell(cs.get(s), kind) for s in solvers]
            vals += [rb, rp, str(cs.get("engine", {}).get("elapsed_s", "")),
                     str(cs.get("vroom", {}).get("elapsed_s", ""))]
            print(_line(vals, markdown), file=out)
        s = {}
        if ratios_bks:
            worst = min(ratios_bks) if kind == "toptw" else max(ratios_bks)
            s["mean_eng_bks"] = statistics.mean(ratios_bks)
            s["worst_eng_bks"] = worst
            print(f"mean engine/BKS = {s['mean_eng_bks']:.4f}, worst = {worst:.4f} "
                  f"({len(ratios_bks)} cases)", file=out)
        if ratios_pyvrp:
            worst = min(ratios_pyvrp) if kind == "toptw" else max(ratios_pyvrp)
            s["mean_eng_pyvrp"] = statistics.mean(ratios_pyvrp)
            s["worst_eng_pyvrp"] = worst
            print(f"mean engine/PyVRP = {s['mean_eng_pyvrp']:.4f}, worst = {worst:.4f}", file=out)
        if compared:
            word = "≥" if kind == "toptw" else "≤ (distance)"
            print(f"engine {word} PyVRP in {ge} of {compared} cases", file=out)
            s["engine_ge_pyvrp"] = (ge, compared)
        summary[kind] = s
    return summary


def _job(args_tuple):
    return run_case(*args_tuple)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="ref",
                    choices=["ref", "toptw", "solomon", "kotim", "kotim-seeds", "kotim-ref", "scaling",
                             "all"],
                    help="ref = the five TOPTW cases of the issue; toptw = c1/r1/rc1 (see "
                         "--groups) × --teams; solomon = C1/R1/RC1; kotim/scaling = full engine")
    ap.add_argument("--instances", default="", help="comma list, e.g. c101,r101 or C101")
    ap.add_argument("--groups", default="c1,r1,rc1", help="TOPTW groups for --set toptw")
    ap.add_argument("--teams", default="", help="comma list of team counts (TOPTW), e.g. 1,2,3,4")
    ap.add_argument("--solvers", default=",".join(ALL_SOLVERS))
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2, help="engine worker processes")
    ap.add_argument("--jobs", type=int, default=1, help="cases run in parallel (default 1)")
    ap.add_argument("--out", default="bench/out/results.csv")
    ap.add_argument("--seeds", type=int, default=50, help="kotim-seeds: seeds 1..N")
    ap.add_argument("--sizes", default="100,250,500,1000,2000", help="scaling: site counts")
    ap.add_argument("--from-csv", default="", help="only print the table of existing CSV(s), "
                    "comma-separated")
    ap.add_argument("--markdown", action="store_true", help="print tables as Markdown")
    args = ap.parse_args(argv)

    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    if args.from_csv:
        rows = []
        for path in args.from_csv.split(","):
            with open(path, newline="") as fh:
                rows += list(csv.DictReader(fh))
        for r in rows:
            r["score"] = int(r["score"]) if r["score"] else ""
            r["distance"] = float(r["distance"]) if r["distance"] else ""
            r["teams"] = int(r["teams"]) if r["teams"] else ""
        print_table(rows, solvers, markdown=args.markdown)
        return 0

    if args.set == "kotim-seeds":
        from bench import kotim

        res = kotim.run_seeds(args.seeds, time_limit=args.time_limit, workers=args.workers,
                              out=Path(args.out).with_name("kotim_seeds.json"))
        return 0 if res["invalid"] == 0 else 1
    if args.set == "kotim-ref":
        from bench import kotim

        kotim.run_reference(time_limit=args.time_limit, seed=args.seed, workers=args.workers,
                            out=Path(args.out).with_name("kotim_ref.json"))
        return 0
    if args.set in ("kotim", "scaling", "all"):
        from bench import kotim

        if args.set in ("kotim", "all"):
            kotim.run_kotim(time_limit=args.time_limit, seed=args.seed, workers=args.workers,
                            out=Path(args.out).with_name("kotim.json"))
        if args.set in ("scaling", "all"):
            kotim.run_scaling([int(s) for s in args.sizes.split(",")], seed=args.seed,
                              workers=args.workers,
                              out=Path(args.out).with_name("scaling.csv"))
        if args.set != "all":
            return 0

    if "engine" in solvers and not refs.engine_available():
        print("planner.engine.solve is not available: engine column skipped",
              file=sys.stderr)
        solvers.remove("engine")
    cases = build_cases(args)
    if not cases:
        print("no cases selected", file=sys.stderr)
        return 2
    tasks = [(kind, name, m, s, args.time_limit, args.seed, args.workers)
             for kind, name, m in cases for s in solvers]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    routes_path = out.with_suffix(".routes.jsonl")
    print(f"{len(cases)} cases × {len(solvers)} solvers, time limit {args.time_limit:g} s "
          f"(engine workers={args.workers}, jobs={args.jobs}); writing {out}", file=sys.stderr)
    rows: list[dict] = []
    new = not out.exists()
    with open(out, "a", newline="") as fh, open(routes_path, "a") as rfh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
        if new:
            w.writeheader()

        def record(row):
            row["best_known"] = best_known(row["set"], row["instance"], row["teams"] or 0)
            w.writerow(row)
            fh.flush()
            rfh.write(json.dumps({k: row.get(k) for k in ("set", "instance", "teams", "solver",
                                                          "timestamp")}
                                 | {"routes": row.get("_routes")}) + "\n")
            rfh.flush()
            rows.append(row)
            print(f"  {row['instance']:>6} m={row['teams'] or '-':<2} {row['solver']:<8} "
                  f"{row['status']:<7} score={row['score']} dist={row['distance']} "
                  f"t={row['elapsed_s']}s {row['note']}", file=sys.stderr, flush=True)

        t0 = time.perf_counter()
        if args.jobs <= 1:
            for t in tasks:
                record(run_case(*t))
        else:
            with ProcessPoolExecutor(max_workers=args.jobs) as ex:
                for row in ex.map(_job, tasks):
                    record(row)
        print(f"total wall time {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print_table(rows, solvers, markdown=args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
