"""PyVRP's hybrid genetic search (HGS) as a construction component, for day trips.

When every trip of the instance is a single day (every team home every evening: a plain
team-day problem, like the one-day benchmark files) and nothing ties a visit to a team or a day
(no locks, no re-plan preferences, no team starting away from base), the day's schedule is
exactly PyVRP's model, so PyVRP's solutions need no relaxation:

* one depot per team base; one vehicle type per team with one vehicle per working date,
  shift ``[work start, work end]`` (back at base by work end), the team's mode as the profile;
* clients = visits: service = the visit's service minutes (the same for every team, else the
  component is not used), window on the start of service ``[open, close − service]`` (the
  engine's site hours bound the whole service), prize = the visit's value, not required;
* distance = the engine's arc cost (10 × minutes + rupiah ÷ 1,000), duration = minutes
  (unreachable legs: longer than the day); capacity per trip when teams have one.

So PyVRP optimises the engine's objective (people first, then travel) except the soft balance
term. Its routes are then scheduled exactly (``planner.engine.schedule``) and improved by the
LNS like any first plan. A seed gives the same routes for the same number of iterations
(``solution_limit``); with a time limit only, the work depends on the machine's load.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from .problem import INF, Problem
from .trips import VehicleSlot

ITERS_PER_SOLUTION = 20   # solution_limit → HGS iterations (reproducible runs)


def applicable(P: Problem, slots: list[VehicleSlot]) -> bool:
    """Is the instance a plain team-day problem PyVRP's model expresses exactly?"""
    if not slots or any(sl.n_days != 1 or sl.start is not None or sl.fixed for sl in slots):
        return False
    if P.lock_day or P.prefer or any(s is not None for s in P.team_start):
        return False
    n = P.n_base_visits
    if n == 0:
        return False
    svc = P.v_service
    if any(svc[k][:n] != svc[0][:n] for k in range(1, len(P.teams))):
        return False
    caps = {t.capacity for t in P.teams}
    return len(caps) == 1
    # (mixed capacities could be vehicle types of their own; not needed so far)


def solve_hgs(P: Problem, slots: list[VehicleSlot], *, seed: int, budget: float,
              solution_limit: int | None) -> tuple[list[list[int]], dict]:
    """Routes per slot (visit indices) from PyVRP, and diagnostics."""
    import pyvrp
    from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

    t0 = time.monotonic()
    n = P.n_base_visits
    visits = [x for x in range(n) if P.v_teams[x]]
    ws, we, W = P.ws, P.we, P.work
    teams = sorted({sl.team for sl in slots})
    bases = sorted({P.teams[k].base for k in teams})
    pts = bases + sorted({P.v_point[x] for x in visits} - set(bases))
    loc = {p: i for i, p in enumerate(pts)}
    idx = np.asarray(pts, dtype=np.int64)
    modes = sorted({P.teams[k].mode for k in teams})
    big = 4 * (we + W + 1)
    dist_m, dur_m = [], []
    for m in modes:
        mm = P.minutes_np[m][np.ix_(idx, idx)].astype(np.int64)
        rp = np.nan_to_num(P.cost_rp_np[m][np.ix_(idx, idx)], nan=0.0, posinf=0.0, neginf=0.0)
        bad = (mm >= INF) | (mm > W)
        dur = np.where(bad, big, mm)
        cost = np.where(bad, 10 * big, 10 * mm + np.round(rp / 1000.0).astype(np.int64))
        np.fill_diagonal(dur, 0)
        np.fill_diagonal(cost, 0)
        dist_m.append(np.ascontiguousarray(cost))
        dur_m.append(np.ascontiguousarray(dur))
    locations = [pyvrp.Location(x=float(i), y=0.0) for i in range(len(pts))]
    depots = [pyvrp.Depot(location=loc[b], tw_early=ws, tw_late=we) for b in bases]
    cap = P.teams[teams[0]].capacity
    clients = []
    for x in visits:
        site = P.v_site[x]
        svc = int(P.v_service[0][x])
        o, c = P.site_open[site], P.site_close[site]
        clients.append(pyvrp.Client(
            location=loc[P.v_point[x]], delivery=[int(P.v_expected[x])] if cap else [],
            service_duration=svc, tw_early=o, tw_late=max(o, c - svc),
            prize=int(P.v_value[x]), required=False))
    by_team: dict[int, list[int]] = {}
    for v, sl in enumerate(slots):
        by_team.setdefault(sl.team, []).append(v)
    vtypes = []
    for k in teams:
        b = bases.index(P.teams[k].base)
        vtypes.append(pyvrp.VehicleType(
            num_available=len(by_team[k]), capacity=[int(cap)] if cap else [], start_depot=b,
            end_depot=b, tw_early=ws, tw_late=we, profile=modes.index(P.teams[k].mode)))
    data = pyvrp.ProblemData(locations, clients, depots, vtypes, dist_m, dur_m)
    left = max(0.05, budget - (time.monotonic() - t0))
    stop = MaxRuntime(left)
    if solution_limit:
        stop = MultipleCriteria([MaxIterations(int(solution_limit) * ITERS_PER_SOLUTION), stop])
    with warnings.catch_warnings():
        # PyVRP warns when a penalty reaches its bound (the day's hours are tight); an
        # infeasible best is not used (the caller falls back), so the warning is noise here
        warnings.simplefilter("ignore")
        res = pyvrp.solve(data, stop=stop, seed=int(seed), collect_stats=False, display=False)
    routes: list[list[int]] = [[] for _ in slots]
    diag = {"hgs_feasible": bool(res.best.is_feasible()), "hgs_s": round(time.monotonic() - t0, 3),
            "hgs_iterations": int(res.num_iterations)}
    if solution_limit and res.num_iterations < int(solution_limit) * ITERS_PER_SOLUTION:
        diag["clock_cut"] = ["hgs"]
    if not res.best.is_feasible():
        return routes, diag
    nxt = {k: 0 for k in teams}
    for r in res.best.routes():
        k = teams[r.vehicle_type()]
        v = by_team[k][nxt[k]]
        nxt[k] += 1
        routes[v] = [visits[int(a.idx)] for a in r if a.is_client()]
    return routes, diag
