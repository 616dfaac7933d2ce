"""Pooled collection points: one stop at a host village serves its neighbours too.

The office did this at Pulau Hanaut in March 2020: Rawa Sari, Mekarti Jaya and Hanaut were
served together at the Balai Desa Rawa Sari (docs/reference/sources.md). Before routing, this module decides
which villages host a stop and which villages' residents come to which host.

Model
-----
* Distance ``d(v, h)``: straight-line (great-circle) km between the stop points. Residents of
  ``v`` come to ``h`` only when ``d <= radius_km``.
* People: a village's own people are its ``expected`` (``unrecorded × turnout`` as the
  engine computed it, with any per-village turnout override; ``unrecorded × turnout`` when
  ``expected`` is missing). Residents who have to travel come less:
  ``people(v, h) = expected_v × max(0, 1 - d/radius_km) ** decay`` (``decay=0``: everyone
  within the radius comes; ``decay=1``: linear fall-off; larger: steeper), never more than
  ``unrecorded_v``.
* Access: villages are pooled only when they share an access mode (road with road/both, river
  with river/both): residents of a river-only village are not asked to come to a road-only
  village or the other way round.
* Only ``kind == "village"`` sites are pooled; schools, prisons etc. pass through unchanged.
* Hosts: any village whose own ``expected >= min_host_expected``.
* Every village ends up exactly once: as a stop of its own (a host, possibly serving nobody)
  or pooled into one host. Each stop costs ``stop_cost`` people-equivalents (a stop takes
  setup time plus a local hop: (30 min + ~15 min) × 3 kits ÷ 3.5 min/person ≈ 40 people), and
  a stop at a village without signal costs ``no_signal_cost`` more (recording needs network;
  at Pulau Hanaut only Rawa Sari has a BTS). Pooling ``v`` into ``h`` therefore pays when the
  people lost on the way, ``expected_v - people(v, h)``, are fewer than the stop it saves.

``method="cpsat"`` solves it exactly with OR-Tools CP-SAT: binary ``x_h`` (village h is a
stop), ``y_vh`` (v pooled into h) with ``y_vh <= x_h`` and ``x_v + Σ_h y_vh = 1``, maximising
``Σ expected_v x_v + Σ people(v,h) y_vh - stop_cost Σ x_h - no_signal_cost Σ x_h[no signal]``
(people scaled ×100 to integers), one worker and a fixed seed so the answer is deterministic;
if it does not prove optimality within ``time_limit`` units of CP-SAT's *deterministic* time
(about seconds on an idle machine, but counted in work, so a busy machine gives the same
answer) the best solution found is used.
``method="greedy"`` is the documented heuristic: repeatedly open the host whose pooled
neighbours gain the most (``Σ stop_cost - (expected_v - people(v,h))`` over neighbours that
pay), ties by code, until nothing gains.

Input/output (duck typing, so this module does not depend on the engine's SiteSpec): a list
of objects with ``code, name, lat, lon, access, unrecorded, expected`` (optional ``kind``,
``no_signal``) -- dataclasses are copied with :func:`dataclasses.replace`, other objects with
:func:`copy.copy` -- or a DataFrame with those columns. The result has the same type: the
reduced list of sites in the input order, where a host carries
``pooled = ({"code", "name", "expected", "unrecorded", "km"}, ...)``, ``expected`` = own +
pooled people and ``unrecorded`` = own + pooled villages' unrecorded (so expected never
exceeds unrecorded).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from planner.travel import great_circle_km


@dataclass(frozen=True)
class PoolingParams:
    radius_km: float = 8.0
    decay: float = 1.0
    min_host_expected: float = 0.0
    stop_cost: float = 40.0
    no_signal_cost: float = 10.0
    method: str = "cpsat"
    time_limit: float = 5.0


class PoolingError(ValueError):
    pass


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _gc_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """All-pairs great-circle km (the travel model's haversine)."""
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    return great_circle_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])


def _compatible(a: str, b: str) -> bool:
    modes = {"road": {"road"}, "river": {"river"}, "both": {"road", "river"}}
    return bool(modes.get(a, {"road"}) & modes.get(b, {"road"}))


def choose_collection_points(sites, *, radius_km: float, decay: float = 1.0,
                             min_host_expected: float = 0.0, turnout: float = 0.6,
                             stop_cost: float = 40.0, no_signal_cost: float = 10.0,
                             method: str = "cpsat", time_limit: float = 5.0,
                             seed: int = 1, keep: Iterable[str] = ()):
    """Pick host villages and pool their neighbours into them (see module docstring).

    ``keep``: codes that must stay stops of their own (locked or must-visit sites); they may
    still host neighbours but are never pooled into another village.
    """
    if not (isinstance(radius_km, int | float) and math.isfinite(radius_km) and radius_km > 0):
        raise PoolingError(f"radius_km must be a positive number, got {radius_km!r}")
    if not (isinstance(decay, int | float) and math.isfinite(decay) and decay >= 0):
        raise PoolingError(f"decay must be >= 0, got {decay!r}")
    if method not in ("cpsat", "greedy"):
        raise PoolingError(f"method must be 'cpsat' or 'greedy', got {method!r}")
    is_frame = isinstance(sites, pd.DataFrame)
    records = sites.to_dict("records") if is_frame else list(sites)
    if not records:
        return sites.copy() if is_frame else []

    n = len(records)
    for col in ("code", "lat", "lon"):
        if _get(records[0], col) is None:
            raise PoolingError(f"sites need '{col}'")
    codes = [str(_get(r, "code")) for r in records]
    lat = np.array([float(_get(r, "lat")) for r in records])
    lon = np.array([float(_get(r, "lon")) for r in records])
    access = [str(_get(r, "access", "road") or "road") for r in records]
    kind = [str(_get(r, "kind", "village") or "village") for r in records]
    unrec = np.array([max(0, int(_get(r, "unrecorded", 0) or 0)) for r in records])
    exp_raw = [_get(r, "expected") for r in records]
    expected = np.array([float(e) if e is not None and not _isnan(e) else u * turnout
                         for e, u in zip(exp_raw, unrec, strict=True)])
    expected = np.minimum(np.maximum(expected, 0), unrec)
    no_signal = np.array([bool(_get(r, "no_signal", False)) for r in records])
    poolable = np.array([k == "village" and not _get(r, "pooled") for k, r in zip(kind, records, strict=True)])

    dist = _gc_km(lat, lon)
    # candidate pairs v -> h (v pooled into host h)
    w = np.clip(1.0 - dist / radius_km, 0.0, 1.0) ** decay if decay > 0 else (dist <= radius_km) * 1.0
    ok = (dist <= radius_km) & poolable[:, None] & poolable[None, :]
    ok &= (expected >= min_host_expected)[None, :]
    keep_set = {str(c) for c in keep}
    ok &= ~np.array([c in keep_set for c in codes])[:, None]
    np.fill_diagonal(ok, False)
    acc_ok = np.array([[_compatible(a, b) for b in access] for a in access])
    ok &= acc_ok
    people = np.minimum(expected[:, None] * w, unrec[:, None].astype(float))
    # only pairs where pooling can pay are worth offering to the model
    # (pooling v into h instead of a stop at v changes the objective by exactly this)
    stop_pen = stop_cost + no_signal_cost * no_signal
    gain = stop_pen[:, None] - (expected[:, None] - people)
    ok &= gain > 0
    pairs = [(int(v), int(h)) for v, h in zip(*np.nonzero(ok), strict=True)]

    if not pairs:
        assign = {}
    elif method == "greedy":
        assign = _greedy(n, pairs, gain, codes)
    else:
        assign = _cpsat(n, pairs, expected, people, stop_pen, time_limit, seed)

    return _apply(sites, records, is_frame, assign, codes, people, expected, unrec, dist)


def _isnan(x: Any) -> bool:
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def _greedy(n: int, pairs: list[tuple[int, int]], gain: np.ndarray, codes: list[str]) -> dict[int, int]:
    by_host: dict[int, list[int]] = {}
    for v, h in pairs:
        by_host.setdefault(h, []).append(v)
    assigned: dict[int, int] = {}
    hosts: set[int] = set()
    while True:
        best = None
        for h, vs in by_host.items():
            if h in hosts or h in assigned:
                continue
            members = [v for v in vs if v not in assigned and v not in hosts]
            g = sum(float(gain[v, h]) for v in members)
            if g > 0 and (best is None or g > best[0] + 1e-9 or
                          (abs(g - best[0]) <= 1e-9 and codes[h] < codes[best[1]])):
                best = (g, h, members)
        if best is None:
            return assigned
        _, h, members = best
        hosts.add(h)
        for v in members:
            assigned[v] = h


def _cpsat(n: int, pairs, expected, people, stop_pen, time_limit: float, seed: int) -> dict[int, int]:
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    x = [m.NewBoolVar(f"x{i}") for i in range(n)]
    y = {(v, h): m.NewBoolVar(f"y{v}_{h}") for v, h in pairs}
    into: dict[int, list] = {}
    for (v, h), var in y.items():
        m.AddImplication(var, x[h])
        into.setdefault(v, []).append(var)
    for v in range(n):
        m.AddExactlyOne([x[v], *into.get(v, [])])
    scale = 100
    obj = []
    for i in range(n):
        obj.append(int(round((expected[i] - stop_pen[i]) * scale)) * x[i])
    for (v, h), var in y.items():
        obj.append(int(round(people[v, h] * scale)) * var)
    m.Maximize(sum(obj))
    solver = cp_model.CpSolver()
    # the limit is CP-SAT's deterministic time (work done, not seconds on the clock), so the
    # same sites give the same pooling on a busy machine; the wall clock is only a cap
    solver.parameters.max_deterministic_time = float(time_limit)
    solver.parameters.max_time_in_seconds = 4.0 * float(time_limit) + 10.0
    solver.parameters.num_search_workers = 1
    solver.parameters.random_seed = int(seed)
    status = solver.Solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return {}  # cannot happen (all-standalone is feasible); be safe: no pooling
    return {v: h for (v, h), var in y.items() if solver.BooleanValue(var)}


def _apply(sites, records, is_frame, assign, codes, people, expected, unrec, dist):
    pooled_into: dict[int, list[int]] = {}
    for v, h in assign.items():
        pooled_into.setdefault(h, []).append(v)
    out_records = []
    updates: dict[int, dict] = {}
    for i, rec in enumerate(records):
        if i in assign:
            continue
        members = sorted(pooled_into.get(i, []), key=lambda v: codes[v])
        if not members:
            out_records.append((i, rec))
            continue
        pooled = []
        extra_people = 0
        extra_unrec = 0
        for v in members:
            pv = int(math.floor(people[v, i]))
            extra_people += pv
            extra_unrec += int(unrec[v])
            pooled.append({"code": codes[v], "name": str(_get(records[v], "name", codes[v])),
                           "expected": pv, "unrecorded": int(unrec[v]),
                           "km": round(float(dist[v, i]), 2)})
        own_exp = _get(rec, "expected")
        own = int(round(float(own_exp))) if own_exp is not None and not _isnan(own_exp) \
            else int(math.floor(expected[i]))
        own = min(own, int(unrec[i]))
        updates[i] = {"expected": own + extra_people, "unrecorded": int(unrec[i]) + extra_unrec,
                      "pooled": tuple(pooled)}
        out_records.append((i, rec))

    if is_frame:
        keep = [i for i, _ in out_records]
        df = sites.iloc[keep].copy()
        if "pooled" not in df.columns:
            df["pooled"] = [() for _ in range(len(df))]
        df["pooled"] = df["pooled"].astype(object)
        for pos, i in enumerate(keep):
            if i in updates:
                u = updates[i]
                label = df.index[pos]
                df.at[label, "expected"] = u["expected"]
                df.at[label, "unrecorded"] = u["unrecorded"]
                df.at[label, "pooled"] = [dict(p) for p in u["pooled"]]
        return df
    result = []
    for i, rec in out_records:
        if i not in updates:
            result.append(rec)
            continue
        u = updates[i]
        if dataclasses.is_dataclass(rec) and not isinstance(rec, type):
            result.append(dataclasses.replace(rec, **u))
        elif isinstance(rec, dict):
            result.append({**rec, **u})
        elif hasattr(rec, "_replace"):
            result.append(rec._replace(**u))
        else:
            obj = copy.copy(rec)
            for k, v in u.items():
                setattr(obj, k, v)
            result.append(obj)
    return result
