"""Stable re-plans: after two field days whose results match the plan, a re-plan from day three
keeps most of the remaining stops where they were, and records at least as many people.

    .venv/bin/python -m bench.bench_churn [--teams 3] [--days 10] [--time-limit 10] [--runs 3]
        [--kotim]

Runs the product path end to end on a temporary SQLite database: the fictional demo (or, with
``--kotim``, the real Kotawaringin Timur villages from ../shared with a synthetic recap), a plan
through ``planner.pipeline``, field results for the first two working days entered through
``planner.field.record_results`` (every stop done, recorded = expected), then
``planner.field.replan`` from day three — once as the product does it (the remaining stops are
soft preferences: moving or dropping one costs ``model.churn_penalty_min`` minutes) and once
with the preference switched off (``churn_penalty_min = 0``) for comparison.

Churn counts the stops of the remaining days: *kept* = same village, team and date in the new
version; *moved* = the village is still planned but on another team or date; *dropped* /
*added*. People = expected people of the remaining days. Prints one line per run and the median.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def churn(old: dict, new: dict, cut: str) -> dict:
    from planner import plan_json

    def stops(plan):
        return {(r.site_code, r.team, r.date) for r in plan_json.iter_stops(plan) if r.date >= cut}

    def sites(plan):
        return {r.site_code for r in plan_json.iter_stops(plan) if r.date >= cut}

    def people(plan):
        return sum(int(r.stop["expected"]) for r in plan_json.iter_stops(plan) if r.date >= cut)

    a, b = stops(old), stops(new)
    kept = a & b
    moved = {s for s in a - b if s[0] in sites(new)}
    dropped = {s for s in a - b if s[0] not in sites(new)}
    return {"before": len(a), "kept": len(kept), "moved": len(moved), "dropped": len(dropped),
            "added": len({s for s in b - a if s[0] not in sites(old)}),
            "kept_pct": 100.0 * len(kept) / max(len(a), 1),
            "people_before": people(old), "people_after": people(new)}


def run(args, tmp: Path, seed: int) -> dict:
    from planner import create_app, field, pipeline, plan_json
    from planner import params as P
    from planner.cli.db import upgrade_db

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "PLAN_ASYNC": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / f'churn{seed}.sqlite'}"})
    with app.app_context():
        upgrade_db()
        if args.kotim:
            _load_kotim(args.kotim_dir)
        else:
            from planner.demo import load_demo

            load_demo()
        from planner import repository

        ds = repository.current_dataset()
        b = repository.default_base()
        base = {"id": b.id, "name": b.name, "lat": b.lat, "lon": b.lon}
        teams = [P.team(f"Tim {k + 1}", base, mode="both" if k == args.teams - 1 else "road",
                        max_nights=0) for k in range(args.teams)]
        params = P.build(name="churn", dataset_id=ds.id, teams=teams, start_date="2026-12-07",
                         days=args.days, time_limit=args.time_limit, seed=seed)
        v1 = pipeline.run(params, workers=args.workers)
        dates = plan_json.dates(v1.result)
        reports = [{"team": r.team, "date": r.date, "site_code": r.site_code, "outcome": "done",
                    "actual_recorded": int(r.stop["expected"])}
                   for r in plan_json.iter_stops(v1.result) if r.date in dates[:2]]
        field.record_results(v1, reports)
        cut = dates[2]
        out = {}
        for label in ("product", "no-preference"):
            p = field.replan_params(v1, dt.date.fromisoformat(cut))
            if args.churn is not None:
                p = p.replace(model=dataclasses.replace(p.model, churn_penalty_min=args.churn))
            if label == "no-preference":  # as before this change: no preferences, no warm start
                p = p.replace(prefer=(), replan=None, name="no-pref")
            t0 = time.perf_counter()
            outcome = pipeline.solve(p, workers=args.workers)
            new = plan_json.merge_replan(v1.result, outcome.plan, cut)
            out[label] = dict(churn(v1.result, new, cut), seconds=time.perf_counter() - t0)
        return out


def _load_kotim(kotim_dir: Path) -> None:
    import tempfile as tf

    from bench.kotim import kotim_frame
    from planner import repository
    from planner.demo import kotim_recap, write_recap_csv
    from planner.importer import import_recap, import_villages

    del kotim_frame
    recap = kotim_recap(kotim_dir / "villages.csv")
    with tf.TemporaryDirectory() as d:
        path = Path(d) / "rekap_sintetis.csv"
        write_recap_csv(recap, path, title="REKAP SINTETIS (BUKAN DATA NYATA)")
        import_villages(kotim_dir / "villages.geojson")
        import_recap(path, synthetic=True)
    repository.set_default_base("Kantor Disdukcapil Kotim", -2.5336, 112.9497)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teams", type=int, default=3)
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--time-limit", type=float, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--churn", type=float, default=None,
                    help="churn_penalty_min for the re-plan (default: the product's)")
    ap.add_argument("--kotim", action="store_true")
    ap.add_argument("--kotim-dir", type=Path, default=ROOT.parent / "shared" / "data" / "kotim")
    args = ap.parse_args(argv)
    rows = {"product": [], "no-preference": []}
    with tempfile.TemporaryDirectory() as d:
        for seed in range(1, args.runs + 1):
            res = run(args, Path(d), seed)
            for label, r in res.items():
                rows[label].append(r)
                print(f"seed {seed} {label:>13}: kept {r['kept']}/{r['before']} "
                      f"({r['kept_pct']:.1f} %), moved {r['moved']}, dropped {r['dropped']}, "
                      f"added {r['added']}; people {r['people_before']} -> {r['people_after']} "
                      f"({r['seconds']:.1f} s)", flush=True)
    for label, rs in rows.items():
        print(f"median {label:>13}: kept {statistics.median(r['kept_pct'] for r in rs):.1f} %, "
              f"people after/before {statistics.median(r['people_after'] - r['people_before'] for r in rs):+.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
