"""Time network travel (planner.network) on a synthetic regency of about 100,000 edges.

    .venv/bin/python bench/bench_network.py [--sites 185 2000] [--vehicle both] [--runs 3]

The regency is made up, seeded and needs no shared data: a box the size of Kotawaringin Timur
(1.2 x 2.2 degrees) with

* a dendritic river system: a meandering main river north to south and tributaries branching
  off it and off each other, four levels deep (every line drawn downstream, as OpenStreetMap
  draws waterways);
* roads: a trunk road along the river, feeder roads branching off it towards the rivers and
  ending near them (where the piers are), village spurs off the feeders, and plantation
  grids (long straight roads that cross, as company estates are drawn) that the build has to
  split at every crossing.

Sites: 80 % road villages within 3 km of a road, 10 % 'both' and 10 % river-only villages
within 2 km of a river, plus one base ('both'). Piers: the suggested ones (road ends within
1 km of a river, at most one per 5 km, as the app's automatic piers). For each site count the script measures the network build (cached in the
app), then ``NetworkTravel.matrices`` for the vehicle, side by side with the built-in
great-circle model on the same points, and the process's peak memory.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.network import Lines, Network, NetworkTravel  # noqa: E402
from planner.travel import GreatCircleTravel, TravelParams  # noqa: E402

LON0, LON1, LAT0, LAT1 = 112.2, 113.4, -3.2, -1.0
KX = 111.32 * math.cos(math.radians(-2.1))  # km per degree of longitude here
KY = 110.574
TREE_EDGES_PER_SPUR = 0.6  # tuned so the build's edge counts meet the shares (spurs cross)
GRID_EDGES_PER_EDGE = 0.45  # grids overlap each other and the trees


def _to_lonlat(xy: np.ndarray) -> np.ndarray:
    return np.column_stack([LON0 + xy[:, 0] / KX, LAT0 + xy[:, 1] / KY])


def _meander(rng, start, heading, length_km, step_km=0.25, wiggle=0.25):
    """A wandering polyline (km coordinates) from ``start`` along ``heading`` (radians): the
    heading's deviation is a mean-reverting random walk, so the line meanders but keeps its
    general direction."""
    n = max(2, int(length_km / step_km))
    noise = rng.normal(0.0, wiggle * 0.35, n)
    dev = np.zeros(n)
    for k in range(1, n):
        dev[k] = 0.93 * dev[k - 1] + noise[k]
    ang = heading + np.clip(dev, -1.2, 1.2)
    steps = np.column_stack([np.cos(ang), np.sin(ang)]) * step_km
    return np.vstack([start, start + np.cumsum(steps, axis=0)])


def make_regency(seed: int = 7, target_edges: int = 100_000, grid_share: float = 0.25):
    """(roads, rivers) as :class:`Lines`, lon/lat; ``grid_share``: about that share of the
    road edges lie in grids (estates, the capital), the rest in trees."""
    rng = np.random.default_rng(seed)
    W, H = (LON1 - LON0) * KX, (LAT1 - LAT0) * KY
    inside = shapely.box(0, 0, W, H)
    rivers, river_cls = [], []
    # main river: north to south (drawn downstream)
    main = _meander(rng, np.array([W * 0.45, H - 1.0]), -math.pi / 2, H * 1.05, wiggle=0.35)
    rivers.append(main)
    river_cls.append("main")
    # tributaries: recursively, drawn from their source down to the junction
    frontier = [(main, 0)]
    budget = int(target_edges * 0.035)  # tributaries (each splits its parent)
    while frontier and budget > 0:
        parent, level = frontier.pop(0)
        if level >= 4:
            continue
        spacing = (6.0, 3.0, 1.6, 1.0)[level]
        length = (40.0, 14.0, 5.0, 2.0)[level]
        idx = np.arange(int(rng.integers(2, 8)), len(parent) - 2, max(2, int(spacing / 0.25)))
        for i in idx:
            if budget <= 0:
                break
            j = parent[i]
            d = parent[min(i + 1, len(parent) - 1)] - parent[i]
            down = math.atan2(d[1], d[0])
            side = 1 if rng.random() < 0.5 else -1
            up = down + math.pi - side * rng.uniform(0.5, 1.1)  # upstream, off to one side
            line = _meander(rng, j, up, length * rng.uniform(0.6, 1.3), wiggle=0.3)
            line = line[::-1]  # source -> junction
            g = shapely.linestrings(line).intersection(inside)
            if g.is_empty or g.geom_type != "LineString" or g.length < 0.5:
                continue
            coords = shapely.get_coordinates(g)
            rivers.append(coords)
            river_cls.append("tributary" if level < 2 else ("canal" if rng.random() < 0.1 else "tributary"))
            frontier.append((coords[::-1], level + 1))
            budget -= 1

    roads, road_cls = [], []
    # trunk road: east of the main river, south to 70 % of the height
    ry = np.arange(2.0, H * 0.7, 0.5)
    rx = np.interp(ry, main[::-1, 1], main[::-1, 0]) + 8.0 + 3.0 * np.sin(ry / 17.0)
    trunk = np.column_stack([rx, ry])
    roads.append(trunk)
    road_cls.append("trunk")
    # feeders towards the river (west) and east; village roads branch off them as trees
    # (spurs off spurs), as rural roads in Kalimantan are mapped
    tree_need = int(target_edges * 0.58 * (1 - grid_share) * TREE_EDGES_PER_SPUR)
    tree_edges = 0
    feeders = []
    for k in range(8, len(trunk) - 4, 14):
        for side in (-1, 1):
            f = _meander(rng, trunk[k], math.pi if side < 0 else 0.0, rng.uniform(10, 35),
                         step_km=0.4, wiggle=0.15)
            g = shapely.linestrings(f).intersection(inside)
            if g.is_empty or g.geom_type != "LineString":
                continue
            fc = shapely.get_coordinates(g)
            roads.append(fc)
            road_cls.append("secondary")
            feeders.append(fc)
    queue = [(fc, 0) for fc in feeders]
    while queue and tree_edges < tree_need:
        parent, level = queue.pop(0)
        step = (3, 3, 3, 4)[min(level, 3)]
        for m in range(2, len(parent) - 1, step):
            if tree_edges >= tree_need:
                break
            d = parent[m + 1] - parent[m]
            heading = math.atan2(d[1], d[0]) + (1 if rng.random() < 0.5 else -1) * rng.uniform(1.2, 1.9)
            length = (2.0, 1.0, 0.6, 0.4)[min(level, 3)] * rng.uniform(0.6, 1.4)
            sp = _meander(rng, parent[m], heading, length, step_km=0.1, wiggle=0.1)
            roads.append(sp)
            road_cls.append(("tertiary", "local", "local", "track")[min(level, 3)])
            tree_edges += 2
            if level < 4:
                queue.append((sp, level + 1))
    # plantation estates and the capital's streets: grids of long straight roads that cross
    # (the build splits them at every crossing)
    grid_edges = 0
    need = int(target_edges * 0.58 * grid_share * GRID_EDGES_PER_EDGE)
    first = True
    while grid_edges < need:
        if first:  # the capital's grid, at the trunk road's start
            cx, cy, n, sp = trunk[0, 0], trunk[0, 1] + 3.0, 16, 0.35
            first = False
        else:
            cx, cy = rng.uniform(10, W - 10), rng.uniform(10, H * 0.75)
            n, sp = int(rng.integers(8, 22)), rng.uniform(0.8, 1.2)
        rot = rng.uniform(-0.3, 0.3)
        c, s = math.cos(rot), math.sin(rot)
        half = n * sp / 2
        for i in range(n + 1):
            off = -half + i * sp
            for a, b in (((off, -half), (off, half)), ((-half, off), (half, off))):
                pts = np.array([[a[0], a[1]], [b[0], b[1]]]) @ np.array([[c, s], [-s, c]]) + [cx, cy]
                roads.append(pts)
                road_cls.append("local" if sp < 0.5 else "track")
        grid_edges += 2 * n * (n + 1)
        # the estate's road to the trunk road
        roads.append(np.array([[cx, cy], trunk[np.argmin(np.hypot(*(trunk - [cx, cy]).T))]]))
        road_cls.append("tertiary")

    def lines(kind, coords, classes):
        geoms = np.empty(len(coords), dtype=object)
        geoms[:] = [shapely.linestrings(_to_lonlat(np.asarray(c))) for c in coords]
        return Lines(kind, geoms, np.array(classes, dtype=object))

    return lines("road", roads, road_cls), lines("river", rivers, river_cls)


def make_sites(net: Network, n: int, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    kinds = rng.choice(["road", "both", "river"], size=n, p=[0.8, 0.1, 0.1])
    out = []
    road_e = np.flatnonzero(net.kind == 0)
    river_e = np.flatnonzero(net.kind == 1)
    for i, k in enumerate(kinds):
        e = rng.choice(road_e if k == "road" else river_e)
        p = shapely.line_interpolate_point(net.geoms_km[e], rng.random(), normalized=True)
        r = rng.uniform(0, 3.0 if k == "road" else 2.0)
        a = rng.uniform(0, 2 * math.pi)
        x, y = p.x + r * math.cos(a), p.y + r * math.sin(a)
        lon, lat = net.proj.inv(x, y)
        out.append({"code": f"S{i:05d}", "lat": float(lat), "lon": float(lon), "access": k})
    base = {"code": "BASE", "lat": float(net.node_lonlat[net.u[0], 1]),
            "lon": float(net.node_lonlat[net.u[0], 0]), "access": "both"}
    return pd.DataFrame([base] + out)


def peak_mb() -> float:
    """Peak resident memory of this process (a search process has its own, smaller)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the search processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, nargs="+", default=[185, 2000])
    ap.add_argument("--vehicle", default="both", choices=["road", "river", "both"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--edges", type=int, default=100_000, help="target edge count")
    ap.add_argument("--workers", type=int, default=2, help="processes for a large search")
    ap.add_argument("--grid-share", type=float, default=0.25,
                    help="share of road edges in grids (estates, town streets); the rest are trees")
    args = ap.parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)")
    t0 = time.perf_counter()
    roads, rivers = make_regency(target_edges=args.edges, grid_share=args.grid_share)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    probe = Network.build(roads, rivers)
    piers = probe.suggest_piers(1.0, spacing_km=5.0)
    t_probe = time.perf_counter() - t0
    t0 = time.perf_counter()
    net = Network.build(roads, rivers, piers=piers[["lat", "lon"]])
    t_build = time.perf_counter() - t0
    s = net.stats
    print(f"synthetic regency (grid share {args.grid_share:g}): {len(roads)} road lines, "
          f"{len(rivers)} river lines "
          f"(generated in {t_gen:.1f} s)")
    print(f"network: {s['edges']:,} edges ({s['road_edges']:,} road, {s['river_edges']:,} river), "
          f"{s['nodes']:,} nodes, {s['road_km']:,.0f} km road, {s['river_km']:,.0f} km river, "
          f"{s['piers']} piers, {s['joined']} gaps joined")
    print(f"build: {t_build:.2f} s (with piers; the app caches it); pier suggestion pass "
          f"{t_probe:.2f} s; peak RSS so far {peak_mb():.0f} MB")
    print(f"{'sites':>6} {'vehicle':>8} {'network med s':>14} {'min s':>7} {'max s':>7} "
          f"{'CPU s':>7} {'procs':>5} {'great-circle s':>15} {'reduced graph':>17} {'off net':>8} "
          f"{'peak MB':>8}")
    params = TravelParams()
    for n in args.sites:
        pts = make_sites(net, n)
        times, gc_times, cpu = [], [], []
        reduced, off = {}, 0
        for _ in range(args.runs):
            nt = NetworkTravel(net, params, workers=args.workers)
            t0 = time.perf_counter()
            c0 = _cpu()
            nt.matrices(pts, args.vehicle)
            times.append(time.perf_counter() - t0)
            cpu.append(_cpu() - c0)
            reduced = nt._last["graph"].reduced if nt._last and nt._last.get("graph") else {}
            off = len(nt.off_network)
            t0 = time.perf_counter()
            GreatCircleTravel(params).matrices(pts, args.vehicle)
            gc_times.append(time.perf_counter() - t0)
        red = f"{reduced.get('nodes', 0):,}n/{reduced.get('edges', 0):,}e"
        print(f"{len(pts):>6} {args.vehicle:>8} {statistics.median(times):>14.2f} {min(times):>7.2f} "
              f"{max(times):>7.2f} {statistics.median(cpu):>7.1f} {reduced.get('processes', 1):>5} "
              f"{statistics.median(gc_times):>15.3f} {red:>17} {off:>8} {peak_mb():>8.0f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
