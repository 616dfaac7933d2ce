"""Readers for the benchmark instances in ``../shared/benchmarks`` and their best-known values.

Everything is turned into INTEGERS in a common scale so that every solver (the product
engine, PyVRP, VROOM, plain OR-Tools) and the independent checker see exactly the same numbers:

* TOPTW (Righini–Salani / Montemanni–Gambardella / Cordeau ``pr``; see ``TOPTW_format.txt``):
  Euclidean distance truncated to 0.1 (Solomon-based) or 0.01 (``pr``) → integer distance in
  units of 0.1 (scale 10) or 0.01 (scale 100); travel time = distance; service durations and
  time windows multiplied by the same scale (all source values are exact at that scale — the
  reader refuses a value that is not). ``O``/``C`` bound the START of service;
  Tmax = the closing time of node 0 (the route must be back at the depot by then).
* Solomon VRPTW (VRPLIB ``.vrp`` from PyVRP/Instances): DIMACS convention — Euclidean distance
  ×10 truncated to an integer (i.e. truncated to one decimal), travel time = distance; time
  windows and service ×10; up to ``VEHICLES`` (25) vehicles of ``CAPACITY``; every customer
  must be served; the objective is total distance (reported ÷10).
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(os.environ.get("JB_BENCH_DIR", ROOT.parent / "shared" / "benchmarks"))

COORD_UNIT = 1000  # coordinates are read exactly in units of 0.001


@dataclass(frozen=True)
class BenchInstance:
    """One benchmark instance in integer units (``scale`` units per source unit)."""

    name: str
    kind: str  # "toptw" | "vrptw"
    scale: int
    x: tuple[float, ...]
    y: tuple[float, ...]
    dist: np.ndarray  # int64 [n, n]; travel time = distance
    service: tuple[int, ...]
    prize: tuple[int, ...]
    tw_open: tuple[int, ...]
    tw_close: tuple[int, ...]
    n_vehicles: int
    demand: tuple[int, ...] | None = None
    capacity: int | None = None
    depot: int = 0

    @property
    def n(self) -> int:
        return len(self.service)

    @property
    def horizon(self) -> int:
        """Tmax (TOPTW) / depot due date (VRPTW): the latest return to the depot."""
        return int(self.tw_close[self.depot])

    @property
    def mandatory(self) -> bool:
        return self.kind == "vrptw"

    def with_vehicles(self, m: int) -> BenchInstance:
        return replace(self, n_vehicles=int(m))

    def to_instance(self):
        """The instance as a product plan request (``bench.adapters.to_instance``)."""
        from bench.adapters import to_instance

        return to_instance(self)


def _exact(value: str, scale: int, what: str) -> int:
    d = Decimal(value) * scale
    if d != d.to_integral_value():
        raise ValueError(f"{what}={value} is not exact at scale {scale}")
    return int(d)


def truncated_distances(xu: list[int], yu: list[int], unit: int, scale: int) -> np.ndarray:
    """floor(scale × Euclidean distance) computed exactly with integer square roots.

    ``xu``/``yu`` are coordinates in units of 1/``unit``; ``unit`` must be a multiple of
    ``scale``."""
    if unit % scale:
        raise ValueError("coordinate unit must be a multiple of the distance scale")
    div = unit // scale
    n = len(xu)
    out = np.zeros((n, n), dtype=np.int64)
    for i in range(n):
        for j in range(i + 1, n):
            sq = (xu[i] - xu[j]) ** 2 + (yu[i] - yu[j]) ** 2
            out[i, j] = out[j, i] = math.isqrt(sq) // div
    return out


# --------------------------------------------------------------------------------------------
# TOPTW
# --------------------------------------------------------------------------------------------
def toptw_path(name: str, base: Path | None = None) -> Path:
    base = Path(base or BENCH_DIR) / "toptw"
    name = name.lower()
    sub = "cordeau_pr" if name.startswith("pr") else "solomon_100"
    return base / sub / f"{name}.txt"


def read_toptw(path: str | Path, teams: int = 1) -> BenchInstance:
    """Read a TOPTW text file (format in ``TOPTW_format.txt``) for ``teams`` paths."""
    path = Path(path)
    name = path.stem.lower()
    scale = 100 if name.startswith("pr") else 10
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    # Header lines ("k v N t" and "D Q") have at most 5 tokens; vertex lines at least 9. One
    # file (c204) wraps its header differently, so the header is read as a token stream.
    first = next(k for k, ln in enumerate(lines) if len(ln) >= 9)
    header = [t for ln in lines[:first] for t in ln]
    n_declared = int(header[2]) if len(header) >= 3 else None
    rows = lines[first:]
    xu, yu, xs, ys, service, prize, o, c = [], [], [], [], [], [], [], []
    for k, f in enumerate(rows):
        if int(f[0]) != k:
            raise ValueError(f"{path}: vertex {f[0]} out of order (expected {k})")
        xs.append(float(f[1]))
        ys.append(float(f[2]))
        xu.append(_exact(f[1], COORD_UNIT, "x"))
        yu.append(_exact(f[2], COORD_UNIT, "y"))
        service.append(_exact(f[3], scale, "service"))
        prize.append(_exact(f[4], 1, "profit"))
        o.append(_exact(f[-2], scale, "open"))
        c.append(_exact(f[-1], scale, "close"))
    # The header's N counts the customers (Solomon-based) or all vertices; accept both.
    if n_declared is not None and len(rows) not in (n_declared, n_declared + 1):
        raise ValueError(f"{path}: {len(rows)} vertices, header says {n_declared}")
    dist = truncated_distances(xu, yu, COORD_UNIT, scale)
    return BenchInstance(
        name=name, kind="toptw", scale=scale, x=tuple(xs), y=tuple(ys), dist=dist,
        service=tuple(service), prize=tuple(prize), tw_open=tuple(o), tw_close=tuple(c),
        n_vehicles=int(teams),
    )


def read_toptw_bks(path: str | Path | None = None) -> dict[tuple[str, int], dict]:
    """``{(instance, m): {"best_known": int, "objective_type": str, "source": str}}``."""
    path = Path(path or BENCH_DIR / "toptw" / "bks.csv")
    out = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            out[(row["instance"].lower(), int(row["teams_m"]))] = {
                "best_known": int(float(row["best_known"])),
                "objective_type": row["objective_type"], "source": row["source"]}
    return out


# --------------------------------------------------------------------------------------------
# Solomon VRPTW (VRPLIB)
# --------------------------------------------------------------------------------------------
SOLOMON_SCALE = 10


def solomon_path(name: str, base: Path | None = None, ext: str = "vrp") -> Path:
    return Path(base or BENCH_DIR) / "solomon" / f"{name.upper()}.{ext}"


def read_solomon(path: str | Path) -> BenchInstance:
    """Read a Solomon VRPLIB ``.vrp`` file (DIMACS ×10 truncated distances)."""
    import vrplib

    path = Path(path)
    d = vrplib.read_instance(str(path), compute_edge_weights=False)
    coords = np.asarray(d["node_coord"])
    if not np.all(coords == np.round(coords)):
        raise ValueError(f"{path}: Solomon coordinates are expected to be integers")
    n = int(d["dimension"])
    depot = int(np.asarray(d["depot"]).ravel()[0])
    if depot != 0:
        raise ValueError(f"{path}: depot must be the first node")
    xu = [int(v) for v in coords[:, 0]]
    yu = [int(v) for v in coords[:, 1]]
    # integer coordinates: floor(10 d) = isqrt(100 (dx²+dy²))
    dist = np.zeros((n, n), dtype=np.int64)
    for i in range(n):
        for j in range(i + 1, n):
            sq = (xu[i] - xu[j]) ** 2 + (yu[i] - yu[j]) ** 2
            dist[i, j] = dist[j, i] = math.isqrt(sq * SOLOMON_SCALE ** 2)
    st = d["service_time"]
    service = np.full(n, int(st)) if np.ndim(st) == 0 else np.asarray(st, dtype=int)
    service = service.copy()
    service[depot] = 0
    tw = np.asarray(d["time_window"], dtype=np.int64) * SOLOMON_SCALE
    demand = np.asarray(d["demand"], dtype=int)
    prize = [0] + [1] * (n - 1)  # VRPTW: every customer is mandatory; prize = served count
    return BenchInstance(
        name=str(d.get("name", path.stem)).upper(), kind="vrptw", scale=SOLOMON_SCALE,
        x=tuple(float(v) for v in coords[:, 0]), y=tuple(float(v) for v in coords[:, 1]),
        dist=dist, service=tuple(int(v) * SOLOMON_SCALE for v in service),
        prize=tuple(prize), tw_open=tuple(int(v) for v in tw[:, 0]),
        tw_close=tuple(int(v) for v in tw[:, 1]), n_vehicles=int(d.get("vehicles", 25)),
        demand=tuple(int(v) for v in demand), capacity=int(d["capacity"]),
    )


def read_solomon_solution(path: str | Path) -> tuple[list[list[int]], float]:
    """Routes (customer node indices, depot = 0 excluded) and the cost stated in a ``.sol``."""
    routes, cost = [], None
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line.lower().startswith("route"):
            routes.append([int(t) for t in line.split(":", 1)[1].split()])
        elif line.lower().startswith("cost"):
            cost = float(line.split()[1])
    if cost is None:
        raise ValueError(f"{path}: no Cost line")
    return routes, cost


def read_solomon_bks(path: str | Path | None = None) -> dict[str, dict]:
    """``{instance: {"best_known": float, "vehicles": int, ...}}`` from ``solomon/bks.csv``."""
    path = Path(path or BENCH_DIR / "solomon" / "bks.csv")
    out = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            out[row["instance"].upper()] = {
                "best_known": float(row["best_known"]),
                "vehicles": int(row["bks_vehicles"]),
                "objective_type": row["objective_type"], "source": row["source"]}
    return out


def toptw_names(groups: str = "c1,r1,rc1") -> list[str]:
    """Instance names of the classic TOPTW groups present in the shared folder."""
    names = []
    for g in groups.split(","):
        g = g.strip().lower()
        if g == "pr":
            names += [f"pr{k:02d}" for k in range(1, 21)]
            continue
        folder = BENCH_DIR / "toptw" / "solomon_100"
        for p in sorted(folder.glob(f"{g}[0-9][0-9].txt")):
            names.append(p.stem)
    return names
