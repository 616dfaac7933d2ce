"""Time the great-circle travel matrix for many sites (target: 10,000 sites < 2 s).

    .venv/bin/python bench/bench_travel.py [--n 10000] [--runs 5] [--vehicle both]

Random points inside Kotawaringin Timur's bounding box (no shared data needed), 80 % road,
10 % both, 10 % river-only, so every code path (road legs, river legs, transfers) runs.
Prints the median of ``--runs`` full computations for float64 and float32 km/cost matrices,
the matrices' memory and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.travel import GreatCircleTravel, TravelParams  # noqa: E402


def make_points(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "code": [f"S{i:05d}" for i in range(n)],
        "lat": rng.uniform(-3.2, -1.0, n),
        "lon": rng.uniform(112.2, 113.4, n),
        "access": rng.choice(["road", "both", "river"], size=n, p=[0.8, 0.1, 0.1]),
    })


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--vehicle", default="both", choices=["road", "river", "both"])
    ap.add_argument("--piers", type=int, default=0, help="number of random piers (default 0)")
    args = ap.parse_args(argv)
    pts = make_points(args.n)
    rng = np.random.default_rng(2)
    piers = tuple(zip(rng.uniform(-3.2, -1.0, args.piers), rng.uniform(112.2, 113.4, args.piers),
                      strict=True))
    params = TravelParams(piers=piers)
    print(f"{args.n} sites, vehicle {args.vehicle}, {args.piers} piers, {args.runs} runs each")
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores; other jobs slow the wall clock)")
    print(f"{'km/cost dtype':<14} {'median s':>9} {'min s':>7} {'max s':>7} {'CPU s (med)':>12} "
          f"{'matrices MB':>12}")
    for dtype in (np.float64, np.float32):
        src = GreatCircleTravel(params, float_dtype=dtype)
        times = []
        cpu = []
        nbytes = 0
        for _ in range(args.runs):
            t0 = time.perf_counter()
            c0 = time.process_time()
            m = src.matrices(pts, args.vehicle)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            nbytes = m.nbytes
            del m
        print(f"{np.dtype(dtype).name:<14} {statistics.median(times):>9.3f} {min(times):>7.3f} "
              f"{max(times):>7.3f} {statistics.median(cpu):>12.3f} {nbytes / 1e6:>12.0f}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak_mb:.0f} MB")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
