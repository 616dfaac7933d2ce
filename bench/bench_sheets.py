"""Day-sheet PDF time at Kotim size: 6 teams × 10 days = 60 A4 pages over the REAL Kotawaringin
Timur villages (from ../shared/data/kotim; read there, never copied).

    .venv/bin/python -m bench.bench_sheets [--teams 6] [--days 10] [--runs 3]

Every team works every day (3–5 stops), the worst case for the PDF: each page has a route
sketch with the village outlines. Prints the median wall and CPU time of ``--runs`` renders
through ``planner.sheets.render_daysheets_pdf`` (what the web and ``planner itinerary`` call).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import geopandas as gpd

ROOT = Path(__file__).resolve().parents[1]
KOTIM_DIR = ROOT.parent / "shared" / "data" / "kotim"


def kotim_shaped_plan(kotim_dir: Path, teams: int = 6, days: int = 10) -> tuple[dict, object]:
    """A plan-shaped dict over the REAL Kotim villages: every team works every day (3–5
    stops), so the bundle has teams × days pages — the worst case for the PDF time."""
    import datetime as dt
    import math

    vil = gpd.read_file(kotim_dir / "villages.geojson")
    order = vil.sort_values(["kecamatan", "lat"]).reset_index(drop=True)
    base = {"name": "Kantor Disdukcapil Kotim", "lat": -2.5336, "lon": 112.9497}
    dates, d = [], dt.date(2026, 12, 1)
    while len(dates) < days:
        if d.weekday() < 5:
            dates.append(d.isoformat())
        d += dt.timedelta(days=1)

    def km(a, b):
        dy = (a[0] - b[0]) * 111.32
        dx = (a[1] - b[1]) * 111.32 * math.cos(math.radians(a[0]))
        return round(math.hypot(dx, dy) * 1.35, 1)

    k, out = 0, []
    for t in range(teams):
        tdays = []
        for di, date in enumerate(dates):
            prev, clock, stops = (base["lat"], base["lon"]), 8 * 60, []
            for _ in range(3 + (t + di) % 3):
                r = order.iloc[k % len(order)]
                k += 1
                p = (float(r["lat"]), float(r["lon"]))
                leg = km(prev, p)
                mins = int(leg / 40 * 60) + 1
                clock += mins
                expected = 30 + (k * 37) % 170
                stops.append({
                    "site_code": r["code"], "name": r["name"], "kecamatan": r["kecamatan"],
                    "kind": "village", "lat": p[0], "lon": p[1],
                    "arrive": f"{clock // 60 % 24:02d}:{clock % 60:02d}",
                    "depart": f"{(clock + 30 + expected) // 60 % 24:02d}:{(clock + 30 + expected) % 60:02d}",
                    "expected": expected, "km_from_prev": leg, "min_from_prev": mins,
                    "mode": "road", "no_signal": k % 7 == 0, "pooled": [], "locked": False})
                clock += 30 + expected
                prev = p
            back = km(prev, (base["lat"], base["lon"]))
            tdays.append({"date": date, "start": dict(base, code=None), "end": dict(base, code=None),
                          "stops": stops, "km_to_end": back, "min_to_end": int(back / 40 * 60) + 1,
                          "mode_to_end": "road"})
        out.append({"name": f"Tim {t + 1}", "mode": "road", "kits": 3, "base": base, "days": tdays})
    plan = {"plan_id": "kotim", "version": 1, "dataset": "Kotim", "params": {"work_start": "08:00"},
            "base": base, "teams": out, "dropped": [], "totals": {}}
    return plan, vil



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teams", type=int, default=6)
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--kotim", type=Path, default=KOTIM_DIR)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from planner import sheets

    plan, vil = kotim_shaped_plan(args.kotim, args.teams, args.days)
    walls, cpus, size = [], [], 0
    for _ in range(args.runs):
        t0, c0 = time.perf_counter(), time.process_time()
        pdf = sheets.render_daysheets_pdf(plan, vil, base_url="https://jb.example.id")
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        size = len(pdf)
    print(f"{args.teams} teams x {args.days} days = {args.teams * args.days} pages: "
          f"median {statistics.median(walls):.1f} s wall, {statistics.median(cpus):.1f} s CPU "
          f"of {args.runs} runs ({', '.join(f'{w:.1f}' for w in walls)}), {size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
