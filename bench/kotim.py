"""Full-engine benchmarks: the real Kotawaringin Timur geography and a synthetic scaling curve.

* ``run_kotim``: the 185 real villages (``../shared/data/kotim/villages.geojson``, read with
  geopandas at run time, never copied) with the SYNTHETIC recap of ``planner.demo.kotim_recap``
  (or a simple seeded stand-in when the demo module is missing); 6 teams × 10 working days from
  Sampit with nights allowed. Reports build time, time to the first solution (progress
  callback), a short solve that must already give a VALID plan (``validate_plan``), and the
  value at the full time limit (validated too).
* ``run_scaling``: random sites in a Kotim-sized box (seeded), teams × days growing with the
  number of sites up to 2,000 sites × 40 teams × 20 days. Each size runs in a FRESH
  subprocess so its peak RSS (self + forked solver workers, ``getrusage``) is its own.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
KOTIM_DIR = ROOT.parent / "shared" / "data" / "kotim"
SAMPIT = ("Sampit", -2.5336, 112.9497)
KOTIM_BOX = (-3.30, -1.19, 112.07, 113.27)  # lat min, lat max, lon min, lon max
START = dt.date(2026, 12, 1)

# scaling steps: sites -> (teams, working days)
SCALING_STEPS = {100: (4, 5), 250: (8, 8), 500: (12, 10), 1000: (24, 15), 2000: (40, 20)}


def engine_api():
    """(build_instance, solve, validate_plan, TeamSpec, PlanRequest) or raise ImportError."""
    from planner.engine import PlanRequest, TeamSpec, build_instance, solve, validate_plan

    return build_instance, solve, validate_plan, TeamSpec, PlanRequest


def kotim_frame(kotim_dir: Path = KOTIM_DIR, seed: int | None = None):
    """Village frame (``planner.repository.villages_frame`` columns) of the real Kotim villages +
    synthetic recap."""
    import geopandas as gpd

    g = gpd.read_file(kotim_dir / "villages.geojson")
    g["code"] = g["code"].astype(str)
    # stop point: the published centroid when it lies inside the polygon, else a point inside
    pts = gpd.points_from_xy(g["lon"], g["lat"], crs=g.crs)
    inside = np.array([geom.covers(p) for geom, p in zip(g.geometry, pts, strict=True)])
    rep = g.geometry.representative_point()
    g["stop_lat"] = np.where(inside, g["lat"], rep.y)
    g["stop_lon"] = np.where(inside, g["lon"], rep.x)
    try:
        from planner.demo import DEFAULT_SEED, kotim_recap

        recap = kotim_recap(kotim_dir / "villages.geojson",
                            seed=DEFAULT_SEED if seed is None else seed)
        source = "planner.demo.kotim_recap"
    except ImportError:
        recap = simple_recap(g, seed=seed or 1)
        source = "bench.kotim.simple_recap"
    cols = ["code", "population", "obliged", "recorded", "access", "no_signal"]
    g = g.drop(columns=[c for c in cols[1:] if c in g.columns]).merge(recap[cols], on="code")
    g.attrs["recap_source"] = source
    return g


def simple_recap(g, seed: int = 1) -> pd.DataFrame:
    """Seeded stand-in recap (only if planner.demo is missing): SYNTHETIC numbers."""
    rng = np.random.default_rng(seed)
    n = len(g)
    pop = rng.integers(800, 6000, n)
    obliged = (pop * 0.71).astype(int)
    recorded = (obliged * rng.uniform(0.6, 0.98, n)).astype(int)
    access = np.where(g["kecamatan"].astype(str) == "Pulau Hanaut", "river", "road")
    return pd.DataFrame({"code": g["code"], "population": pop, "obliged": obliged,
                         "recorded": recorded, "access": access, "no_signal": False})


def synthetic_frame(n_sites: int, seed: int = 1) -> pd.DataFrame:
    """``n_sites`` random villages in a Kotim-sized box (all road access), seeded."""
    import geopandas as gpd

    rng = np.random.default_rng([seed, n_sites])
    lat = rng.uniform(KOTIM_BOX[0], KOTIM_BOX[1], n_sites)
    lon = rng.uniform(KOTIM_BOX[2], KOTIM_BOX[3], n_sites)
    pop = rng.integers(500, 6000, n_sites)
    obliged = (pop * 0.71).astype(int)
    recorded = (obliged * rng.uniform(0.6, 0.98, n_sites)).astype(int)
    codes = [f"99.{k // 1000:02d}.{k % 1000:04d}" for k in range(n_sites)]
    df = pd.DataFrame({
        "code": codes, "name": [f"Situs {k}" for k in range(n_sites)],
        "kecamatan": [f"K{k % 17:02d}" for k in range(n_sites)],
        "kecamatan_code": [f"99.{k % 17:02d}" for k in range(n_sites)],
        "type": "desa", "access": "road", "no_signal": False,
        "stop_lat": lat, "stop_lon": lon, "population": pop, "obliged": obliged,
        "recorded": recorded})
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def _teams(TeamSpec, n: int, max_nights: int, mode: str = "both"):
    return tuple(TeamSpec(name=f"Tim {k + 1}", base=SAMPIT, kits=3, mode=mode,
                          max_nights=max_nights) for k in range(n))


def _people(plan_dict: dict) -> int:
    return int(plan_dict.get("totals", {}).get("people", 0))


def _peak_rss_mb() -> tuple[float, float]:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return self_kb / 1024, child_kb / 1024


def solve_and_check(frame, teams: int, days: int, max_nights: int, time_limit: float, seed: int,
                    workers: int, mode: str = "both") -> dict:
    """Build + solve + validate; returns timings and figures (numbers are measured here)."""
    build_instance, solve, validate_plan, TeamSpec, PlanRequest = engine_api()
    req = PlanRequest(teams=_teams(TeamSpec, teams, max_nights, mode), start_date=START,
                      days=days)
    t0 = time.perf_counter()
    inst = build_instance(frame, req)
    t_build = time.perf_counter() - t0
    events: list[tuple[float, float, int]] = []

    def progress(elapsed, best, n_sol):
        events.append((time.perf_counter() - t0, float(best), int(n_sol)))

    t1 = time.perf_counter()
    plan = solve(inst, time_limit=time_limit, seed=seed, progress=progress, workers=workers)
    t_solve = time.perf_counter() - t1
    pd_ = plan.to_dict()
    t2 = time.perf_counter()
    errors = validate_plan(pd_, inst.to_dict())
    t_validate = time.perf_counter() - t2
    n_sites = len(getattr(inst, "sites", ()))
    rss_self, rss_child = _peak_rss_mb()
    stops = sum(len(d.get("stops", [])) for t in pd_.get("teams", []) for d in t.get("days", []))
    nights = sum(1 for t in pd_.get("teams", []) for d in t.get("days", [])
                 if (d.get("end") or {}).get("code"))
    return {
        "sites": n_sites, "teams": teams, "days": days, "max_nights": max_nights,
        "time_limit": time_limit, "build_s": round(t_build, 3), "solve_s": round(t_solve, 2),
        "first_solution_s": round(events[0][0], 3) if events else None,
        "n_improvements": len(events), "validate_s": round(t_validate, 2),
        "valid": not errors, "errors": errors[:5], "people": _people(pd_),
        "stops": stops, "nights_away": nights, "dropped": len(pd_.get("dropped", [])),
        "km": pd_.get("totals", {}).get("km"),
        "peak_rss_mb_self": round(rss_self, 1), "peak_rss_mb_children": round(rss_child, 1),
    }


def run_kotim(time_limit: float = 30, seed: int = 1, workers: int = 2, teams: int = 6,
              days: int = 10, max_nights: int = 4, quick: float = 1.0,
              out: Path | None = None) -> dict:
    try:
        engine_api()
    except ImportError as exc:
        print(f"kotim: NOT RUN — planner.engine API missing ({exc})", file=sys.stderr)
        return {"status": "not run", "reason": str(exc)}
    frame = kotim_frame()
    unrec = int((frame["obliged"] - frame["recorded"]).clip(lower=0).sum())
    res = {"villages": len(frame), "recap_source": frame.attrs.get("recap_source"),
           "unrecorded_total": unrec, "base": SAMPIT, "start": START.isoformat()}
    # 1) a short solve: is a VALID plan there within `quick` seconds (build included)?
    t0 = time.perf_counter()
    q = solve_and_check(frame, teams, days, max_nights, quick, seed, workers)
    q["wall_to_valid_plan_s"] = round(time.perf_counter() - t0 - q["validate_s"], 2)
    res["quick"] = q
    # 2) the full time limit
    res["full"] = solve_and_check(frame, teams, days, max_nights, time_limit, seed, workers)
    print(json.dumps(res, indent=1, default=str))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(res, indent=1, default=str))
    return res


def run_seeds(n_seeds: int = 50, time_limit: float = 1.0, workers: int = 2, teams: int = 6,
              days: int = 10, max_nights: int = 4, out: Path | None = None) -> dict:
    """Seeds 1..n at a short limit on the Kotim setting: how many plans fail the independent
    validator (goal 0). The instance is built once; every plan is re-checked here on the
    instance export, whatever the engine's own check said."""
    build_instance, solve, validate_plan, TeamSpec, PlanRequest = engine_api()
    frame = kotim_frame()
    req = PlanRequest(teams=_teams(TeamSpec, teams, max_nights), start_date=START, days=days)
    inst = build_instance(frame, req)
    export = inst.to_dict()
    rows = []
    for seed in range(1, n_seeds + 1):
        t0 = time.perf_counter()
        plan = solve(inst, time_limit=time_limit, seed=seed, workers=workers)
        wall = time.perf_counter() - t0
        pd_ = plan.to_dict()
        errors = validate_plan(pd_, export)
        info = dict(plan.solver)
        rows.append({"seed": seed, "valid": not errors, "engine_check": info.get("check"),
                     "people": _people(pd_), "km": pd_.get("totals", {}).get("km"),
                     "wall_s": round(wall, 2), "errors": errors[:3],
                     "cut_short_visits": info.get("cut_short_visits"),
                     "relaxation_lost_people": info.get("relaxation_lost_people")})
        print(json.dumps(rows[-1], default=str), file=sys.stderr, flush=True)
    people = [r["people"] for r in rows]
    res = {"setting": {"teams": teams, "days": days, "max_nights": max_nights,
                       "time_limit": time_limit, "workers": workers, "seeds": n_seeds},
           "invalid": sum(1 for r in rows if not r["valid"]),
           "engine_check_not_ok": sum(1 for r in rows if r["engine_check"] != "ok"),
           "people_min": min(people), "people_median": sorted(people)[len(people) // 2],
           "people_max": max(people), "wall_max_s": max(r["wall_s"] for r in rows),
           "rows": rows}
    print(json.dumps({k: v for k, v in res.items() if k != "rows"}, default=str))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(res, indent=1, default=str))
    return res


REFERENCE_SETTINGS = ((6, 0), (6, 3), (3, 3))   # (teams, max nights), 10 working days


def run_reference(time_limit: float = 30, seed: int = 1, workers: int = 2, days: int = 10,
                  settings=REFERENCE_SETTINGS, out: Path | None = None) -> list[dict]:
    """The product engine vs the PyVRP plan-level reference (``references.run_pyvrp_plan``,
    on the engine's own instance export; trips cut 3 + 2 and 4 + 1 when nights allow, the
    better kept) at the same time limit. Both plans are checked by the product's validator."""
    from bench import references as refs

    build_instance, solve, validate_plan, TeamSpec, PlanRequest = engine_api()
    frame = kotim_frame()
    rows = []
    for teams, nights in settings:
        req = PlanRequest(teams=_teams(TeamSpec, teams, nights), start_date=START, days=days)
        inst = build_instance(frame, req)
        export = inst.to_dict()
        t0 = time.perf_counter()
        plan = solve(inst, time_limit=time_limit, seed=seed, workers=workers)
        wall = time.perf_counter() - t0
        pd_ = plan.to_dict()
        row = {"teams": teams, "days": days, "max_nights": nights, "time_limit": time_limit,
               "seed": seed, "bound_people": int(sum(v.expected for v in inst.visits)),
               "engine_people": _people(pd_), "engine_km": pd_["totals"]["km"],
               "engine_valid": not validate_plan(pd_, export), "engine_wall_s": round(wall, 1),
               "engine_cut_short": dict(plan.solver).get("cut_short_visits"),
               "loadavg": round(os.getloadavg()[0], 2)}
        best = None
        for cut in (("equal", "long") if nights > 0 else ("equal",)):
            r = refs.run_pyvrp_plan(export, time_limit, seed=seed, cut=cut)
            rp = r.extra["plan"]
            errs = validate_plan(rp, export)
            cand = {"cut": cut, "people": _people(rp), "km": rp["totals"]["km"],
                    "valid": not errs, "wall_s": round(r.elapsed, 1), "errors": errs[:2]}
            row[f"pyvrp_{cut}"] = cand
            if cand["valid"] and (best is None or cand["people"] > best["people"]):
                best = cand
        if best is not None:
            row.update(pyvrp_people=best["people"], pyvrp_km=best["km"], pyvrp_cut=best["cut"],
                       people_vs_ref=round(row["engine_people"] / best["people"] - 1, 4),
                       km_vs_ref=round(float(row["engine_km"]) / float(best["km"]) - 1, 4))
        rows.append(row)
        print(json.dumps(row, default=str), flush=True)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(rows, indent=1, default=str))
    return rows


SCALING_FIELDS = ["sites", "teams", "days", "max_nights", "time_limit", "build_s", "solve_s",
                  "first_solution_s", "n_improvements", "validate_s", "valid", "people", "stops",
                  "nights_away", "dropped", "peak_rss_mb_self", "peak_rss_mb_children",
                  "wall_s", "errors"]


def run_scaling(sizes: list[int], seed: int = 1, workers: int = 2, time_limit: float | None = None,
                max_nights: int = 4, out: Path | None = None) -> list[dict]:
    rows = []
    print(" ".join(f"{c:>10}" for c in SCALING_FIELDS[:-1]), flush=True)
    for n in sizes:
        teams, days = SCALING_STEPS.get(n, (max(1, n // 50), 20))
        tl = time_limit if time_limit is not None else (60 if n <= 500 else 120)
        cmd = [sys.executable, "-m", "bench.kotim", "--one", str(n), "--teams", str(teams),
               "--days", str(days), "--time-limit", str(tl), "--seed", str(seed),
               "--workers", str(workers), "--max-nights", str(max_nights)]
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                               timeout=max(900, 4 * tl))
            out_text, err_text = p.stdout, p.stderr
        except subprocess.TimeoutExpired as exc:
            out_text, err_text = "", f"timed out after {exc.timeout} s"
        wall = time.perf_counter() - t0
        try:
            row = json.loads(out_text.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            row = {"sites": n, "teams": teams, "days": days, "valid": False,
                   "errors": [(err_text or "no output")[-300:]]}
        row["wall_s"] = round(wall, 1)
        rows.append(row)
        print(" ".join(f"{str(row.get(c, '')):>10}" for c in SCALING_FIELDS[:-1]), flush=True)
        if row.get("errors"):
            print(f"   errors: {row['errors']}", flush=True)
        if out:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            new = not Path(out).exists()
            with open(out, "a", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=SCALING_FIELDS, extrasaction="ignore")
                if new:
                    w.writeheader()
                w.writerow(row)
    return rows


def _one(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--one", type=int, required=True)
    ap.add_argument("--teams", type=int, required=True)
    ap.add_argument("--days", type=int, required=True)
    ap.add_argument("--time-limit", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-nights", type=int, default=4)
    a = ap.parse_args(argv)
    frame = synthetic_frame(a.one, seed=a.seed)
    row = solve_and_check(frame, a.teams, a.days, a.max_nights, a.time_limit, a.seed, a.workers,
                          mode="road")
    print(json.dumps(row, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(_one(sys.argv[1:]))
