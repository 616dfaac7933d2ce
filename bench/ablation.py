"""Ablation: each component of the product engine's search switched off in turn
(``planner.engine.search.SearchOptions``), on Kotim and the five reference TOPTW cases.

``python -m bench.ablation --kotim-limit 10 --toptw-limit 5 [--seeds 1,2,3] [--kotim 6:3,6:0]
[--no-toptw] [--out bench/out/ablation.json]`` (Kotim figures: the mean over the seeds).

Every plan is checked (Kotim: the product validator on the instance export; TOPTW: the bench
checker on the routes); an invalid plan counts as INVALID, not as a number.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

CONFIGS = {
    "all on (product)": {},
    "no PyVRP HGS construct (day trips)": {"hgs": False},
    "no OR-Tools construct (greedy)": {"routing": False},
    "no OR-Tools GLS": {"routing_gls": False},
    "no LNS": {"lns": False},
    "no trip-shape moves": {"shapes": False},
    "no finish": {"finish": False},
    "one initial cut (equal)": {"cut_policies": ("equal",)},
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ablation", description=__doc__)
    ap.add_argument("--kotim-limit", type=float, default=10.0)
    ap.add_argument("--toptw-limit", type=float, default=5.0)
    ap.add_argument("--seeds", default="1", help="comma list; Kotim figures are their mean")
    ap.add_argument("--kotim", default="6:3,6:0", help="Kotim settings teams:nights, comma list")
    ap.add_argument("--no-toptw", action="store_true", help="Kotim only")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="bench/out/ablation.json")
    a = ap.parse_args(argv)

    from bench import kotim
    from bench.checker import evaluate
    from bench.readers import read_toptw, toptw_path
    from bench.references import run_engine
    from bench.run import REFERENCE_CASES
    from planner.engine import PlanRequest, TeamSpec, build_instance, solve, validate_plan
    from planner.engine.search import SearchOptions

    frame = kotim.kotim_frame()
    seeds = [int(x) for x in a.seeds.split(",") if x]
    settings = [tuple(int(v) for v in x.split(":")) for x in a.kotim.split(",") if x]
    kinst = {}
    for teams, nights in settings:
        req = PlanRequest(teams=kotim._teams(TeamSpec, teams, nights), start_date=kotim.START,
                          days=10)
        inst = build_instance(frame, req)
        kinst[(teams, nights)] = (inst, inst.to_dict())
    toptw = {(n, m): read_toptw(toptw_path(n), m) for n, m in REFERENCE_CASES}
    rows = []
    for name, kw in CONFIGS.items():
        opt = dataclasses.replace(SearchOptions(), **kw)
        row = {"config": name, "loadavg": round(os.getloadavg()[0], 2)}
        for (teams, nights), (inst, export) in kinst.items():
            key = f"kotim_{teams}x10_n{nights}"
            people, kms, walls = [], [], []
            for seed in seeds:
                t0 = time.perf_counter()
                plan = solve(inst, time_limit=a.kotim_limit, seed=seed, workers=a.workers,
                             options=opt)
                pd_ = plan.to_dict()
                if validate_plan(pd_, export):
                    people.append("INVALID")
                else:
                    people.append(pd_["totals"]["people"])
                kms.append(pd_["totals"]["km"])
                walls.append(round(time.perf_counter() - t0, 1))
            ok = [p for p in people if p != "INVALID"]
            row[key] = round(sum(ok) / len(ok)) if len(ok) == len(people) else "INVALID"
            row[key + "_seeds"] = people
            row[key + "_km"] = round(sum(kms) / len(kms), 1)
            row[key + "_wall_max"] = max(walls)
        total = 0
        for (n, m), binst in ({} if a.no_toptw else toptw).items():
            run = run_engine(binst, a.toptw_limit, seed=seeds[0], workers=a.workers,
                             options=opt)
            ev = evaluate(binst, run.routes)
            row[f"{n}_m{m}"] = ev.score if ev.feasible else "INVALID"
            total += ev.score if ev.feasible else 0
        row["toptw_sum"] = total
        rows.append(row)
        print(json.dumps(row), flush=True)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
