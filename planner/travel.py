"""Travel model: minutes, kilometres, rupiah and mode between every pair of sites.

One interface, three sources (docs/reference/travel.md):

* :class:`GreatCircleTravel` -- the default. Great-circle (haversine-equivalent) distance ×
  a circuity factor per mode ÷ a speed per mode. Vectorised with numpy in row blocks on two
  threads: a 10,000-site matrix takes well under 2 s (``bench/bench_travel.py``).
* :class:`MatrixCsvTravel` -- a matrix the office supplies as CSV (``from,to,minutes,km`` and
  optional ``cost,mode``; Indonesian headers ``dari,ke,menit,km,biaya,moda`` accepted).
* :class:`OsrmTravel` -- road legs from an OSRM ``table`` server the office runs; river legs
  from the great-circle model.

Rules for which legs are possible (``vehicle_mode``):

* ``'road'`` (car only): points with access ``river`` (river-only) are unreachable; every
  other leg is a road leg.
* ``'river'`` (boat only): points with access ``road`` (road-only) are unreachable; every other
  leg is a river leg. Mark the base ``both`` when a boat team starts from a pier town.
* ``'both'`` (car + boat): every leg is possible. A leg is a river leg when either end is
  river-only, else a road leg. A river leg between a road-capable point (``road``/``both``)
  and a river-only point changes vehicle (car to boat at the pier, or back), so
  ``pier_transfer_min`` is added to it. When ``TravelParams.piers`` lists pier locations, such
  a leg may instead drive to a pier and take the boat from there (whichever is faster).

Unreachable legs have ``minutes == INF_MIN``, ``km == cost_rp == inf`` and ``mode == 255``.
The diagonal is 0 for reachable points (and INF for points the vehicle cannot reach).
Matrices are symmetric: the model has no upstream/downstream difference (a user matrix CSV
may be asymmetric).

Defaults (sources: the public reports listed in docs/reference/sources.md;
how they were chosen: docs/reference/travel.md):

* Road 40 km/h over 1.35 × the straight-line distance. Sampit -> Samuda pier is "1 h drive"
  (42.6 km straight: the model gives 86 min, conservative on the good coastal road); the
  Antang Kalang landing -> Sampit by public transport is "5-6 h" (~120 km straight: the model
  gives 4.1 h by car). 40 km/h sits between the two.
* River 18 km/h over 1.6 × the straight-line distance. Tumbang Gagu is "4 h by ces motorboat"
  down to Tumbang Kalang (40.7 km straight -> 65 km of river -> 3.6 h in the model).
* River cost Rp 45,000 per km: "Rp 3 juta one way" for that ~65 km boat leg (Rp 46,000/km);
  Bintan's "BBM Rp 7-8 juta per trip" (3.5 h each way by boat) gives a similar Rp 40-55,000/km.
* Road cost Rp 4,000 per km: an assumption (fuel + vehicle for a double-cabin, no public
  source); change it per office.
* Dry season: ``dry_season_factor`` multiplies river minutes only (shallow rivers, boats pushed:
  Hantipan canal reports). Road legs are unchanged.
* Pier transfer 20 min: loading the kits from car to boat; the Mentaya crossing itself is
  "7-10 min" by klotok.
"""

from __future__ import annotations

import csv
import json
import math
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
import pandas as pd

EARTH_RADIUS_KM = 6371.0088
INF_MIN: int = int(np.iinfo(np.int32).max // 4)
ROAD: int = 0
RIVER: int = 1
UNREACHABLE: int = 255
MODE_NAMES = {ROAD: "road", RIVER: "river", UNREACHABLE: "unreachable"}
ACCESS_VALUES = ("road", "river", "both")
VEHICLE_MODES = ("road", "river", "both")

# access codes used internally
_A_ROAD, _A_RIVER, _A_BOTH = 0, 1, 2
_ACCESS_CODE = {"road": _A_ROAD, "river": _A_RIVER, "both": _A_BOTH}


class TravelError(ValueError):
    """A travel source cannot produce matrices; the message is meant for the coordinator."""


@dataclass(frozen=True)
class TravelParams:
    """Speeds, circuity and costs per mode (defaults and sources: module docstring)."""

    road_speed_kmh: float = 40.0
    road_circuity: float = 1.35
    road_cost_per_km: float = 4000
    river_speed_kmh: float = 18.0
    river_circuity: float = 1.6
    river_cost_per_km: float = 45000
    dry_season_factor: float = 1.0  # >1 slows river legs (shallow water, boats pushed)
    pier_transfer_min: float = 20.0  # added to a leg that changes road<->river (car to boat)
    # Optional piers ((lat, lon), ...): a car+boat leg between a road point and a river-only
    # point may drive to a pier and take the boat from there, whichever is fastest.
    piers: tuple[tuple[float, float], ...] = ()

    def __post_init__(self):
        for name in ("road_speed_kmh", "river_speed_kmh", "road_circuity", "river_circuity",
                     "dry_season_factor"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise TravelError(f"Travel parameter {name} must be a positive number, got {v!r}")
        for name in ("road_cost_per_km", "river_cost_per_km", "pier_transfer_min"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise TravelError(f"Travel parameter {name} must be >= 0, got {v!r}")
        piers = tuple((float(p[0]), float(p[1])) for p in self.piers)
        for lat, lon in piers:
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise TravelError(f"Pier coordinates out of range: {lat}, {lon}")
        object.__setattr__(self, "piers", piers)

    # minutes per straight-line km, per mode
    @property
    def road_min_per_gc_km(self) -> float:
        return self.road_circuity * 60.0 / self.road_speed_kmh

    @property
    def river_min_per_gc_km(self) -> float:
        return self.river_circuity * 60.0 / self.river_speed_kmh * self.dry_season_factor

    def to_dict(self) -> dict:
        return {
            "road_speed_kmh": self.road_speed_kmh, "road_circuity": self.road_circuity,
            "road_cost_per_km": self.road_cost_per_km, "river_speed_kmh": self.river_speed_kmh,
            "river_circuity": self.river_circuity, "river_cost_per_km": self.river_cost_per_km,
            "dry_season_factor": self.dry_season_factor,
            "pier_transfer_min": self.pier_transfer_min,
            "piers": [list(p) for p in self.piers],
        }


@dataclass(frozen=True, eq=False)
class Matrices:
    """Square travel matrices over the points given to ``TravelSource.matrices``.

    ``minutes`` int32 (``INF_MIN`` = unreachable), ``km`` and ``cost_rp`` floating point
    (float64 by default; ``inf`` = unreachable), ``mode`` uint8 (0 road, 1 river, 255
    unreachable).
    """

    minutes: np.ndarray
    km: np.ndarray
    cost_rp: np.ndarray
    mode: np.ndarray
    vehicle_mode: str = "both"
    source: str = "greatcircle"
    notes: tuple[str, ...] = field(default=())

    @property
    def n(self) -> int:
        return int(self.minutes.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.minutes.nbytes + self.km.nbytes + self.cost_rp.nbytes + self.mode.nbytes)

    def reachable(self) -> np.ndarray:
        return self.minutes < INF_MIN


class TravelSource(Protocol):
    def matrices(self, points: pd.DataFrame, vehicle_mode: str) -> Matrices: ...


class Leg(NamedTuple):
    minutes: int
    km: float
    cost_rp: float
    mode: str  # 'road' | 'river' | 'unreachable'


# --------------------------------------------------------------------------- input checks
def _prepare(points: pd.DataFrame | Sequence, vehicle_mode: str):
    if vehicle_mode not in VEHICLE_MODES:
        raise TravelError(f"Unknown vehicle mode {vehicle_mode!r}; use one of {', '.join(VEHICLE_MODES)}")
    if not isinstance(points, pd.DataFrame):
        points = pd.DataFrame([_point_dict(p) for p in points])
    for col in ("lat", "lon"):
        if col not in points.columns:
            raise TravelError(f"Points need a '{col}' column")
    n = len(points)
    try:
        lat = points["lat"].to_numpy(dtype=np.float64)
        lon = points["lon"].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TravelError(f"Point coordinates must be numbers: {exc}") from None
    bad = ~(np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TravelError(f"Point {_label(points, i)} has invalid coordinates ({lat[i]}, {lon[i]})")
    if "access" in points.columns:
        acc_raw = points["access"].fillna("road").astype(str).str.strip().str.lower()
        unknown = ~acc_raw.isin(ACCESS_VALUES)
        if unknown.any():
            i = int(np.flatnonzero(unknown.to_numpy())[0])
            raise TravelError(
                f"Point {_label(points, i)} has access {points['access'].iloc[i]!r}; "
                "use road, river or both")
        access = acc_raw.map(_ACCESS_CODE).to_numpy(dtype=np.int8)
    else:
        access = np.zeros(n, dtype=np.int8)
    return points, lat, lon, access


def _point_dict(p: Any) -> dict:
    if isinstance(p, dict):
        return p
    if isinstance(p, tuple | list) and len(p) in (2, 3) and not hasattr(p, "_fields"):
        return {"lat": p[0], "lon": p[1], "access": p[2] if len(p) == 3 else "road"}
    out = {k: getattr(p, k) for k in ("lat", "lon") if hasattr(p, k)}
    out["access"] = getattr(p, "access", "road")
    if hasattr(p, "code"):
        out["code"] = p.code
    return out


def _label(points: pd.DataFrame, i: int) -> str:
    if "code" in points.columns:
        return f"{points['code'].iloc[i]!s} (row {i})"
    return f"row {i}"


def unit_vectors(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    la = np.radians(lat_deg)
    lo = np.radians(lon_deg)
    c = np.cos(la)
    return np.stack([c * np.cos(lo), c * np.sin(lo), np.sin(la)], axis=1)


def great_circle_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Haversine distance in km (broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _half_angle(u_rows: np.ndarray, u_half_all: np.ndarray) -> np.ndarray:
    """arcsin(chord/2) for rows × all (distance = 2R × this); float64 for precision."""
    s = u_rows @ u_half_all.T  # = cos(theta)/2
    np.subtract(0.5, s, out=s)  # = (1 - cos)/2 = sin^2(theta/2)
    np.clip(s, 0.0, 1.0, out=s)  # rounding can leave it a hair outside [0, 1]
    np.sqrt(s, out=s)
    np.arcsin(s, out=s)
    return s


# --------------------------------------------------------------------------- great circle
class GreatCircleTravel:
    """Great-circle distance × circuity ÷ speed per mode (see module docstring).

    ``float_dtype=np.float32`` halves the memory of ``km`` and ``cost_rp`` (10,000 sites:
    1.3 GB instead of 2.1 GB in total); minutes are always computed in float64 then rounded.
    """

    name = "greatcircle"

    def __init__(self, params: TravelParams | None = None, *, float_dtype=np.float64,
                 threads: int | None = None, block_elems: int = 160_000,
                 prefault: bool = True):
        self.params = params or TravelParams()
        self.float_dtype = np.dtype(float_dtype)
        self.threads = threads or min(2, os.cpu_count() or 1)
        self.block_elems = block_elems
        self.prefault = prefault

    def matrices(self, points: pd.DataFrame, vehicle_mode: str) -> Matrices:
        points, lat, lon, access = _prepare(points, vehicle_mode)
        return self._compute(lat, lon, access, vehicle_mode)

    # -- core
    def _compute(self, lat, lon, access, vehicle_mode) -> Matrices:
        p = self.params
        n = len(lat)
        fdt = self.float_dtype
        minutes = np.empty((n, n), dtype=np.int32)
        km = np.empty((n, n), dtype=fdt)
        cost = np.empty((n, n), dtype=fdt)
        mode = np.empty((n, n), dtype=np.uint8)
        if n == 0:
            return Matrices(minutes, km, cost, mode, vehicle_mode, self.name)
        if self.prefault and n * n >= 4_000_000:
            # Touch the fresh output pages once, sequentially and in parallel: on this VM
            # faulting them in while the blocks interleave writes to four arrays costs more.
            halves = [(a, r0, r1) for a in (minutes, km, cost, mode)
                      for r0, r1 in ((0, n // 2), (n // 2, n))]
            with ThreadPoolExecutor(self.threads) as ex:
                list(ex.map(lambda t: t[0][t[1]:t[2]].fill(0), halves))
        U = unit_vectors(lat, lon)
        Uh = 0.5 * U
        two_r = 2.0 * EARTH_RADIUS_KM
        is_river_only = access == _A_RIVER
        is_road_only = access == _A_ROAD

        # Column vectors for the "ordinary" rows and, when needed, the special rows.
        road = (two_r * p.road_circuity, two_r * p.road_circuity * p.road_cost_per_km,
                two_r * p.road_min_per_gc_km)
        river = (two_r * p.river_circuity, two_r * p.river_circuity * p.river_cost_per_km,
                 two_r * p.river_min_per_gc_km)

        def vectors(col_is_river: np.ndarray, transfer_cols: np.ndarray | None):
            k = np.where(col_is_river, river[0], road[0])
            c = np.where(col_is_river, river[1], road[1])
            m = np.where(col_is_river, river[2], road[2])
            t = np.full(n, 0.5)  # +0.5 then truncation = rounding to whole minutes
            if transfer_cols is not None:
                t[transfer_cols] += p.pier_transfer_min
            md = np.where(col_is_river, RIVER, ROAD).astype(np.uint8)
            return k, c, m, t, md

        if vehicle_mode == "road":
            main = vectors(np.zeros(n, bool), None)
            special_rows = np.zeros(n, bool)
            special = None
            bad = is_river_only
        elif vehicle_mode == "river":
            main = vectors(np.ones(n, bool), None)
            special_rows = np.zeros(n, bool)
            special = None
            bad = is_road_only
        else:  # both
            main = vectors(is_river_only, is_river_only)  # rows that are road-capable
            special_rows = is_river_only  # river-only rows: all legs river, transfer to road pts
            special = vectors(np.ones(n, bool), ~is_river_only)
            bad = np.zeros(n, bool)
        bad_idx = np.flatnonzero(bad)

        block = max(1, self.block_elems // n)
        starts = list(range(0, n, block))

        def fill(r0: int) -> None:
            r1 = min(n, r0 + block)
            s = _half_angle(U[r0:r1], Uh)
            sp = np.flatnonzero(special_rows[r0:r1])
            s_sp = s[sp].copy() if (special is not None and sp.size) else None
            k, c, m, t, md = main
            np.multiply(s, c, out=cost[r0:r1], casting="same_kind")
            np.multiply(s, k, out=km[r0:r1], casting="same_kind")
            mode[r0:r1] = md
            np.multiply(s, m, out=s)
            np.add(s, t, out=s)
            np.copyto(minutes[r0:r1], s, casting="unsafe")
            if s_sp is not None:
                k, c, m, t, md = special
                rows = sp + r0
                cost[rows] = s_sp * c
                km[rows] = s_sp * k
                mode[rows] = md
                minutes[rows] = (s_sp * m + t).astype(np.int32)
            if bad_idx.size:
                minutes[r0:r1, bad_idx] = INF_MIN
                km[r0:r1, bad_idx] = np.inf
                cost[r0:r1, bad_idx] = np.inf
                mode[r0:r1, bad_idx] = UNREACHABLE

        if self.threads > 1 and len(starts) > 1:
            with ThreadPoolExecutor(self.threads) as ex:
                list(ex.map(fill, starts))
        else:
            for r0 in starts:
                fill(r0)

        if bad_idx.size:
            minutes[bad_idx, :] = INF_MIN
            km[bad_idx, :] = np.inf
            cost[bad_idx, :] = np.inf
            mode[bad_idx, :] = UNREACHABLE
        ok = ~bad
        diag = np.flatnonzero(ok)
        minutes[diag, diag] = 0
        km[diag, diag] = 0
        cost[diag, diag] = 0
        notes: tuple[str, ...] = ()
        if vehicle_mode == "both" and p.piers and is_river_only.any() and (~is_river_only).any():
            notes = self._via_piers(lat, lon, is_river_only, minutes, km, cost)
        return Matrices(minutes, km, cost, mode, vehicle_mode, self.name, notes)

    def _via_piers(self, lat, lon, is_river_only, minutes, km, cost) -> tuple[str, ...]:
        """Car to a pier + boat from it, for legs between road-capable and river-only points."""
        p = self.params
        plat = np.array([q[0] for q in p.piers])
        plon = np.array([q[1] for q in p.piers])
        land = np.flatnonzero(~is_river_only)
        water = np.flatnonzero(is_river_only)
        g_land = great_circle_km(lat[land][:, None], lon[land][:, None], plat[None, :], plon[None, :])
        g_water = great_circle_km(plat[:, None], plon[:, None], lat[water][None, :], lon[water][None, :])
        rk_all = g_land * p.road_circuity  # [land, P] road km to each pier
        wk_all = g_water * p.river_circuity  # [P, water] river km from each pier
        rmin_all = rk_all * (60.0 / p.road_speed_kmh)
        wmin_all = wk_all * (60.0 / p.river_speed_kmh * p.dry_season_factor)
        cols = np.arange(water.size)[None, :]
        step = max(1, (6 * self.block_elems) // max(1, water.size))
        counts: list[int] = []

        def chunk(a: int) -> None:
            rows = land[a:a + step]
            best = rmin_all[a:a + step, 0:1] + wmin_all[0:1, :]  # [r, w]
            q_best = np.zeros(best.shape, dtype=np.intp)
            for q in range(1, len(plat)):
                cand = rmin_all[a:a + step, q:q + 1] + wmin_all[q:q + 1, :]
                better = cand < best
                np.copyto(best, cand, where=better)
                q_best[better] = q
            rk = rk_all[a:a + step][np.arange(rows.size)[:, None], q_best]
            wk = wk_all[q_best, cols]
            best += p.pier_transfer_min + 0.5
            cand_min = best.astype(np.int64)
            ix = np.ix_(rows, water)
            cur = minutes[ix]
            use = cand_min < cur
            if not use.any():
                return
            counts.append(int(use.sum()))
            new_min = np.where(use, cand_min, cur).astype(np.int32)
            new_km = np.where(use, rk + wk, km[ix])
            new_cost = np.where(use, rk * p.road_cost_per_km + wk * p.river_cost_per_km, cost[ix])
            minutes[ix] = new_min
            km[ix] = new_km
            cost[ix] = new_cost
            ixt = np.ix_(water, rows)  # mirror: the model is symmetric
            minutes[ixt] = new_min.T
            km[ixt] = new_km.T
            cost[ixt] = new_cost.T

        starts = range(0, land.size, step)
        if self.threads > 1 and len(starts) > 1:
            with ThreadPoolExecutor(self.threads) as ex:
                list(ex.map(chunk, starts))
        else:
            for a in starts:
                chunk(a)
        improved = sum(counts)
        return (f"{improved} road-river legs go through a pier",) if improved else ()


# --------------------------------------------------------------------------- single leg
def leg(a: Any, b: Any, vehicle_mode: str = "both", params: TravelParams | None = None) -> Leg:
    """One leg with the same rules (and the same numbers) as ``GreatCircleTravel``.

    ``a`` and ``b``: dicts/objects with ``lat``, ``lon`` and ``access`` (default ``road``),
    or ``(lat, lon[, access])`` tuples.
    """
    if vehicle_mode not in VEHICLE_MODES:
        raise TravelError(f"Unknown vehicle mode {vehicle_mode!r}; use one of {', '.join(VEHICLE_MODES)}")
    pa, pb = _point_dict(a), _point_dict(b)
    acc = []
    for q in (pa, pb):
        v = str(q.get("access") or "road").strip().lower()
        if v not in _ACCESS_CODE:
            raise TravelError(f"access {q.get('access')!r} unknown; use road, river or both")
        acc.append(_ACCESS_CODE[v])
    try:
        lat = np.array([float(pa["lat"]), float(pb["lat"])])
        lon = np.array([float(pa["lon"]), float(pb["lon"])])
    except (KeyError, TypeError, ValueError):
        raise TravelError("a leg needs two points with numeric lat and lon") from None
    m = GreatCircleTravel(params, threads=1)._compute(lat, lon, np.array(acc, dtype=np.int8),
                                                      vehicle_mode)
    code = int(m.mode[0, 1])
    return Leg(int(m.minutes[0, 1]), float(m.km[0, 1]), float(m.cost_rp[0, 1]), MODE_NAMES[code])


# --------------------------------------------------------------------------- matrix CSV
_CSV_ALIASES = {
    "from": ("from", "dari", "asal", "kode_asal", "from_code"),
    "to": ("to", "ke", "tujuan", "kode_tujuan", "to_code"),
    "minutes": ("minutes", "menit", "waktu_menit", "durasi_menit", "minute", "min"),
    "km": ("km", "jarak_km", "jarak", "distance_km"),
    "cost": ("cost", "biaya", "biaya_rp", "cost_rp", "rp"),
    "mode": ("mode", "moda", "moda_transportasi"),
}
_MODE_WORDS = {
    "road": ROAD, "jalan": ROAD, "darat": ROAD, "mobil": ROAD, "car": ROAD,
    "river": RIVER, "sungai": RIVER, "air": RIVER, "perahu": RIVER, "kapal": RIVER,
    "boat": RIVER, "klotok": RIVER, "speedboat": RIVER,
}


class MatrixCsvError(TravelError):
    def __init__(self, message: str, *, file: str, row: int | None = None,
                 column: str | None = None):
        where = [f"file {file}"]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}")
        self.file, self.row, self.column = file, row, column


class MatrixCsvTravel:
    """Travel times the office supplies as a CSV matrix keyed by site code.

    Columns (header names case-insensitive, English or Indonesian): ``from``/``dari``,
    ``to``/``ke``, ``minutes``/``menit``, ``km``, optional ``cost``/``biaya`` (rupiah; default
    km × cost per km of the leg's mode) and ``mode``/``moda`` (``road``/``jalan``/``darat`` or
    ``river``/``sungai``/``air``/``perahu``; default by the access rules). Delimiter ``,``,
    ``;`` or tab; with ``;`` or tab, decimal commas (``12,5``) are accepted.

    A pair given in one direction only is used for both. Pairs missing from the file
    (``missing``): ``"greatcircle"`` (default) takes them from :class:`GreatCircleTravel`
    with the same params; ``"error"`` raises a :class:`MatrixCsvError` naming the pairs.
    A road vehicle cannot use a leg the file marks ``river`` (unreachable), and the access
    rules of the module docstring still apply. Row numbers in errors are file lines (the
    header is row 1).
    """

    name = "matrix_csv"

    def __init__(self, path: str | Path, params: TravelParams | None = None, *,
                 missing: str = "greatcircle"):
        if missing not in ("greatcircle", "error"):
            raise TravelError("missing must be 'greatcircle' or 'error'")
        self.path = Path(path)
        self.params = params or TravelParams()
        self.missing = missing
        self.table = self._read()

    def _read(self) -> dict[tuple[str, str], tuple[float, float, float | None, int | None]]:
        fname = self.path.name
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise MatrixCsvError(f"cannot read the file ({exc.strerror or exc})", file=fname) from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        lines = text.splitlines()
        if not lines or not lines[0].strip():
            raise MatrixCsvError("the file is empty (expected a header row)", file=fname, row=1)
        head = lines[0]
        delim = max((";", "\t", ","), key=head.count) if any(d in head for d in ";\t,") else ","
        reader = csv.reader(lines, delimiter=delim)
        header = [h.strip().lower().replace(" ", "_") for h in next(reader)]
        col: dict[str, int] = {}
        for key, names in _CSV_ALIASES.items():
            for i, h in enumerate(header):
                if h in names:
                    col[key] = i
                    break
        for key in ("from", "to", "minutes", "km"):
            if key not in col:
                raise MatrixCsvError(
                    f"missing column '{key}' (or {'/'.join(_CSV_ALIASES[key][1:3])}); "
                    f"found: {', '.join(header)}", file=fname, row=1, column=key)

        def number(val: str, rowno: int, key: str, *, allow_empty=False) -> float | None:
            v = val.strip()
            if v == "" and allow_empty:
                return None
            if delim != ",":
                v = v.replace(".", "").replace(",", ".") if v.count(",") == 1 and v.count(".") >= 1 \
                    else v.replace(",", ".")
            try:
                x = float(v)
            except ValueError:
                raise MatrixCsvError(f"'{val}' is not a number", file=fname, row=rowno,
                                     column=header[col[key]]) from None
            if not math.isfinite(x) or x < 0:
                raise MatrixCsvError(f"'{val}' must be a number >= 0", file=fname, row=rowno,
                                     column=header[col[key]])
            return x

        table: dict[tuple[str, str], tuple[float, float, float | None, int | None]] = {}
        first_row: dict[tuple[str, str], int] = {}
        for rowno, rec in enumerate(reader, start=2):
            if not rec or all(not c.strip() for c in rec):
                continue
            if len(rec) < len(header):
                rec = rec + [""] * (len(header) - len(rec))
            a = rec[col["from"]].strip()
            b = rec[col["to"]].strip()
            if not a:
                raise MatrixCsvError("empty site code", file=fname, row=rowno, column=header[col["from"]])
            if not b:
                raise MatrixCsvError("empty site code", file=fname, row=rowno, column=header[col["to"]])
            minutes = number(rec[col["minutes"]], rowno, "minutes")
            dist = number(rec[col["km"]], rowno, "km")
            cost = number(rec[col["cost"]], rowno, "cost", allow_empty=True) if "cost" in col else None
            mode = None
            if "mode" in col and rec[col["mode"]].strip():
                word = rec[col["mode"]].strip().lower()
                if word not in _MODE_WORDS:
                    raise MatrixCsvError(f"unknown mode '{rec[col['mode']].strip()}' (use road/jalan or river/sungai)",
                                         file=fname, row=rowno, column=header[col["mode"]])
                mode = _MODE_WORDS[word]
            if (a, b) in table:
                raise MatrixCsvError(f"pair {a} -> {b} appears twice (first at row {first_row[(a, b)]})",
                                     file=fname, row=rowno, column=header[col["from"]])
            table[(a, b)] = (minutes, dist, cost, mode)
            first_row[(a, b)] = rowno
        if not table:
            raise MatrixCsvError("no data rows", file=fname, row=2)
        return table

    def matrices(self, points: pd.DataFrame, vehicle_mode: str) -> Matrices:
        points, lat, lon, access = _prepare(points, vehicle_mode)
        if "code" not in points.columns:
            raise TravelError("A matrix CSV is keyed by site code: the points need a 'code' column")
        codes = [str(c) for c in points["code"]]
        base = GreatCircleTravel(self.params)._compute(lat, lon, access, vehicle_mode)
        minutes, km, cost, mode = (base.minutes.copy(), base.km.copy(), base.cost_rp.copy(),
                                   base.mode.copy())
        idx = {c: i for i, c in enumerate(codes)}
        p = self.params
        given = np.zeros(minutes.shape, dtype=bool)
        np.fill_diagonal(given, True)
        eff = dict(self.table)
        for (a, b), v in self.table.items():
            eff.setdefault((b, a), v)  # one direction given: used for both
        for (a, b), (mi, dk, cr, md) in eff.items():
            i, j = idx.get(a), idx.get(b)
            if i is None or j is None or i == j:
                continue
            given[i, j] = True
            if base.mode[i, j] == UNREACHABLE:
                continue  # access rules: the vehicle cannot reach an end point
            leg_mode = md if md is not None else int(base.mode[i, j])
            if (vehicle_mode == "road" and leg_mode == RIVER) or \
                    (vehicle_mode == "river" and leg_mode == ROAD):
                minutes[i, j], km[i, j], cost[i, j], mode[i, j] = INF_MIN, np.inf, np.inf, UNREACHABLE
                continue
            per_km = p.river_cost_per_km if leg_mode == RIVER else p.road_cost_per_km
            minutes[i, j] = min(INF_MIN, int(round(mi)))
            km[i, j] = dk
            cost[i, j] = cr if cr is not None else dk * per_km
            mode[i, j] = leg_mode
        notes: tuple[str, ...] = ()
        gaps = np.argwhere(~given)
        if gaps.size:
            if self.missing == "error":
                shown = ", ".join(f"{codes[i]} -> {codes[j]}" for i, j in gaps[:5])
                more = f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""
                raise MatrixCsvError(f"{len(gaps)} pairs are missing: {shown}{more}", file=self.path.name)
            notes = (f"{len(gaps)} pairs not in {self.path.name}: great-circle estimate used",)
        return Matrices(minutes, km, cost, mode, vehicle_mode, self.name, notes)


# --------------------------------------------------------------------------- OSRM
class OsrmError(TravelError):
    pass


class OsrmTravel:
    """Road legs from an OSRM ``table`` service, everything else from ``fallback``.

    ``GET {base_url}/table/v1/{profile}/{lon,lat;...}?sources=..&destinations=..
    &annotations=duration,distance``; requests carry at most ``max_coords`` coordinates
    (sources and destinations are split into chunks of ``max_coords // 2``). Only legs the
    fallback model marks as road legs are replaced (durations in s -> minutes, distances
    in m -> km, cost = km × road cost per km); river and car-to-boat legs keep the fallback's
    figures. Pairs OSRM cannot route (``null``) keep the fallback's figures too (noted in
    ``Matrices.notes``). An unreachable server or a timeout raises :class:`OsrmError` with
    a plain message, or, with ``on_error="fallback"``, uses the fallback and says so in
    ``Matrices.notes``.
    """

    name = "osrm"

    def __init__(self, base_url: str, params: TravelParams | None = None,
                 fallback: Callable[[TravelParams], TravelSource] = GreatCircleTravel, *,
                 profile: str = "driving", timeout: float = 20.0, max_coords: int = 100,
                 on_error: str = "raise"):
        parsed = urllib.parse.urlparse(base_url or "")
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise OsrmError(f"OSRM URL must look like http://host:5000, got {base_url!r}")
        if on_error not in ("raise", "fallback"):
            raise TravelError("on_error must be 'raise' or 'fallback'")
        if max_coords < 2:
            raise TravelError("max_coords must be at least 2")
        self.base_url = base_url.rstrip("/")
        self.params = params or TravelParams()
        self.fallback = fallback(self.params)
        self.profile = profile
        self.timeout = timeout
        self.max_coords = max_coords
        self.on_error = on_error
        self.requests_made = 0

    def matrices(self, points: pd.DataFrame, vehicle_mode: str) -> Matrices:
        points, lat, lon, access = _prepare(points, vehicle_mode)
        pts = pd.DataFrame({"lat": lat, "lon": lon,
                            "access": [ACCESS_VALUES[a] for a in access]})
        if "code" in points.columns:
            pts["code"] = points["code"].to_numpy()
        base = self.fallback.matrices(pts, vehicle_mode)
        minutes, km, cost, mode = (base.minutes.copy(), base.km.copy(), base.cost_rp.copy(),
                                   base.mode.copy())
        road_pts = np.flatnonzero(access != _A_RIVER) if vehicle_mode != "river" else np.array([], int)
        notes = list(base.notes)
        if road_pts.size >= 2:
            try:
                dur, dist = self.table(lat[road_pts], lon[road_pts])
            except OsrmError as exc:
                if self.on_error == "raise":
                    raise
                notes.append(f"{exc} -- straight-line estimates used for road legs")
                return Matrices(minutes, km, cost, mode, vehicle_mode, "greatcircle", tuple(notes))
            ix = np.ix_(road_pts, road_pts)
            sub_mode = mode[ix]
            use = (sub_mode == ROAD) & np.isfinite(dur) & np.isfinite(dist)
            np.fill_diagonal(use, False)
            new_min = np.where(use, np.rint(np.nan_to_num(dur, posinf=0) / 60.0), minutes[ix])
            new_km = np.where(use, np.nan_to_num(dist, posinf=0) / 1000.0, km[ix])
            minutes[ix] = new_min.astype(np.int32)
            km[ix] = new_km
            cost[ix] = np.where(use, new_km * self.params.road_cost_per_km, cost[ix])
            off = ~np.eye(len(road_pts), dtype=bool)
            nulls = int(((sub_mode == ROAD) & off & ~use).sum())
            if nulls:
                notes.append(f"OSRM could not route {nulls} road pairs: straight-line estimate used")
        return Matrices(minutes, km, cost, mode, vehicle_mode, self.name, tuple(notes))

    # -- HTTP
    def table(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Full duration (s) and distance (m) matrices among the points, chunked requests."""
        n = len(lat)
        dur = np.full((n, n), np.nan)
        dist = np.full((n, n), np.nan)
        if n <= self.max_coords:
            d, m = self._request(lat, lon, None, None)
            return d, m
        half = self.max_coords // 2
        chunks = [np.arange(a, min(n, a + half)) for a in range(0, n, half)]
        for ci in chunks:
            for cj in chunks:
                if ci[0] == cj[0]:
                    idx = ci
                    src = dst = list(range(len(ci)))
                else:
                    idx = np.concatenate([ci, cj])
                    src = list(range(len(ci)))
                    dst = list(range(len(ci), len(idx)))
                d, m = self._request(lat[idx], lon[idx], src, dst)
                dur[np.ix_(ci, cj)] = d
                dist[np.ix_(ci, cj)] = m
        return dur, dist

    def _request(self, lat, lon, sources: list[int] | None, destinations: list[int] | None):
        coords = ";".join(f"{lo:.6f},{la:.6f}" for la, lo in zip(lat, lon, strict=True))
        query = {"annotations": "duration,distance"}
        if sources is not None:
            query["sources"] = ";".join(map(str, sources))
            query["destinations"] = ";".join(map(str, destinations or []))
        url = f"{self.base_url}/table/v1/{self.profile}/{coords}?{urllib.parse.urlencode(query, safe=';,')}"
        self.requests_made += 1
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp:  # noqa: S310
                body = resp.read()
        except urllib.error.HTTPError as exc:
            detail = ""
            try:
                payload = json.loads(exc.read() or b"{}")
                detail = f": {payload.get('code', '')} {payload.get('message', '')}".rstrip()
            except (ValueError, OSError):
                pass
            raise OsrmError(f"OSRM server at {self.base_url} answered HTTP {exc.code}{detail}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise OsrmError(f"OSRM server at {self.base_url} did not answer within "
                                f"{self.timeout:g} s") from None
            raise OsrmError(f"OSRM server at {self.base_url} is unreachable ({reason})") from None
        except TimeoutError:
            raise OsrmError(f"OSRM server at {self.base_url} did not answer within "
                            f"{self.timeout:g} s") from None
        except (OSError, ValueError) as exc:
            raise OsrmError(f"OSRM server at {self.base_url} failed: {exc}") from None
        try:
            data = json.loads(body)
        except ValueError:
            raise OsrmError(f"OSRM server at {self.base_url} did not return JSON") from None
        if not isinstance(data, dict) or data.get("code") != "Ok":
            code = data.get("code") if isinstance(data, dict) else None
            msg = data.get("message", "") if isinstance(data, dict) else ""
            raise OsrmError(f"OSRM server at {self.base_url} refused the request: {code} {msg}".rstrip())
        n_src = len(sources) if sources is not None else len(lat)
        n_dst = len(destinations) if destinations is not None else len(lat)
        try:
            d = _nullable(data["durations"], n_src, n_dst)
            m = _nullable(data["distances"], n_src, n_dst)
        except (KeyError, TypeError, ValueError):
            raise OsrmError(f"OSRM server at {self.base_url} returned no durations/distances "
                            "(is annotations=duration,distance supported? OSRM >= 5.x)") from None
        return d, m


def _nullable(rows: Iterable, n_rows: int, n_cols: int) -> np.ndarray:
    arr = np.array([[np.nan if v is None else float(v) for v in r] for r in rows], dtype=float)
    if arr.shape != (n_rows, n_cols):
        raise ValueError("shape")
    return arr
