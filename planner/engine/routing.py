"""The OR-Tools routing model: a fast first plan and guided local search on trip vehicles.

The model is a relaxation of the real schedule, used to *construct*; every route it returns is
scheduled exactly (``planner.engine.schedule``) before anything is kept, and the difference
is measured (``model_people`` vs ``scheduled_people`` in the plan's ``solver`` diagnostics).

* **Vehicles**: one per trip of the initial cut (``planner.engine.trips``), from the trip's
  start (the base, or the village a team on a trip slept at) to the team's base.
* **Time axis**: working minutes only. Calendar day o is ``[o·S, o·S + W]`` with W the working
  minutes and S = W + 1, so a night is one minute on the axis (long idle nights made OR-Tools'
  insertion heuristics about 50 times slower, measured on Kotim).
* **Nights** are fixed one-minute breaks (``SetBreakIntervalsOfVehicle``, pre-travel = the
  service before), so no service spans a night. A *leg* may still span one in the model
  (OR-Tools' Python API has no post-travel): that is the relaxation the exact schedule fixes.
* **Objective**: arc cost = 10 × travel minutes + rupiah ÷ 1,000 (per vehicle mode); every visit
  is a disjunction with penalty = its value; a re-plan's preferred visit costs the churn penalty
  more when another team takes it and per day moved (soft window); balance: a soft upper bound
  of people per vehicle (fair share + 25 %, coefficient 1).
* **Locks**: the visit's vehicles are the trips of the allowed team(s) holding its date, and its
  window that date; no disjunction (mandatory).
* **Reachability**: a vehicle that cannot reach a visit (mode) or cannot fit it in its trip even
  alone (:func:`alone_ok`) is removed from the visit's vehicles.
* **Search**: first solution PARALLEL_CHEAPEST_INSERTION (worker 0) / LOCAL_CHEAPEST_INSERTION
  (worker 1), then guided local search (``planner.engine.core``). OR-Tools routing has no
  random seed; ``seed`` permutes the order the visits are given to the model.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from ortools.constraint_solver import pywrapcp

from .core import STRATEGIES, node_order, search_parameters
from .problem import INF, Problem
from .trips import VehicleSlot

BIG = 10**9


def alone_ok(P: Problem, slot: VehicleSlot, x: int) -> tuple[bool, str]:
    """Can this trip do visit ``x`` alone (start → site → base)? (ok, reason: mode/time)."""
    T = P.teams[slot.team]
    mm = P.minutes[T.mode]
    n = P.n_points
    p = P.v_point[x]
    a = slot.start if slot.start is not None else T.base
    to, back = mm[a * n + p], mm[p * n + T.base]
    if to >= INF or back >= INF:
        return False, "mode"
    if x in P.lock_day and not P.lock_allows(x, slot.team, slot.offsets):
        return False, "lock"
    svc = P.v_service[slot.team][x]
    site = P.v_site[x]
    o, c = P.site_open[site], P.site_close[site]
    ws, we, W = P.ws, P.we, P.work
    latest_start = c - svc
    earliest = max(ws + to, o)
    if earliest > latest_start:
        # not on the day it leaves; with a night before (on the way) only on a trip of ≥ 3 days
        if slot.n_days < 3 or to > W or max(o, ws) > latest_start:
            return False, "time"
        earliest = max(ws, o)
    if earliest + svc + back <= we:
        return True, ""
    if slot.n_days >= 2 and back <= W:
        return True, ""
    return False, "time"


@dataclass
class RoutingResult:
    routes: list              # per slot: visit sequence
    model_people: int
    objective: int
    found: bool
    history: list = field(default_factory=list)   # (elapsed s, model people)


def solve_routing(P: Problem, slots: list[VehicleSlot], *, worker: int, seed: int,
                  budget: float, solution_limit: int | None, t0: float,
                  on_improve=None) -> RoutingResult:
    """Build the model on these trips and run the search for ``budget`` seconds."""
    order = node_order(P.n_base_visits, seed, worker)
    allowed: dict[int, list[int]] = {}
    for x in range(P.n_base_visits):
        allowed[x] = [v for v, sl in enumerate(slots) if alone_ok(P, sl, x)[0]]
    visits = [x for x in order if allowed[x]]
    if not visits or not slots:
        return RoutingResult([[] for _ in slots], 0, 0, True)
    m = _build(P, slots, visits, allowed)
    routing, manager, tdim = m["routing"], m["manager"], m["tdim"]
    history: list = []
    best = {"people": -1}
    visit_idx = m["visit_idx"]
    exp = [P.v_expected[x] for x in visits]

    def on_solution():
        planned = 0
        for i, e in zip(visit_idx, exp, strict=True):
            if routing.NextVar(i).Value() != i:
                planned += e
        if planned > best["people"]:
            best["people"] = planned
            history.append((round(time.monotonic() - t0, 3), planned))
            if on_improve is not None:
                on_improve(planned)

    routing.AddAtSolutionCallback(on_solution)
    left = max(0.2, budget - (time.monotonic() - m["t_start"]))
    params = search_parameters(worker, left, solution_limit)
    sol = routing.SolveWithParameters(params)
    if sol is None and P.lock_day:
        for w in range(2, len(STRATEGIES)):  # other first-solution strategies
            params = search_parameters(w, max(1.0, left), solution_limit)
            sol = routing.SolveWithParameters(params)
            if sol is not None:
                break
    if sol is None:
        return RoutingResult([[] for _ in slots], 0, 0, False, history)
    routes = []
    people = 0
    node_visit = m["node_visit"]
    for v in range(len(slots)):
        idx = sol.Value(routing.NextVar(routing.Start(v)))
        r = []
        while not routing.IsEnd(idx):
            x = node_visit[manager.IndexToNode(idx)]
            if x >= 0:
                r.append(x)
                people += P.v_expected[x]
            idx = sol.Value(routing.NextVar(idx))
        routes.append(r)
    del tdim
    return RoutingResult(routes, people, sol.ObjectiveValue(), True, history)


def _build(P: Problem, slots: list[VehicleSlot], visits: list[int], allowed: dict) -> dict:
    t_start = time.monotonic()
    W = P.work
    S = W + 1
    ws = P.ws
    nb_pts = sorted({sl.start if sl.start is not None else P.teams[sl.team].base for sl in slots}
                    | {P.teams[sl.team].base for sl in slots})
    depot_node = {pt: i for i, pt in enumerate(nb_pts)}
    node_pt = list(nb_pts) + [P.v_point[x] for x in visits]
    node_visit = [-1] * len(nb_pts) + list(visits)
    n = len(node_pt)
    nv = len(slots)
    starts = [depot_node[sl.start if sl.start is not None else P.teams[sl.team].base]
              for sl in slots]
    ends = [depot_node[P.teams[sl.team].base] for sl in slots]
    manager = pywrapcp.RoutingIndexManager(n, nv, starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    pts = np.asarray(node_pt, dtype=np.int64)
    # team classes: same mode and service
    cls_key: dict = {}
    team_cls = []
    for k, t in enumerate(P.teams):
        key = (t.mode, tuple(P.v_service[k][x] for x in visits))
        cls_key.setdefault(key, len(cls_key))
        team_cls.append(cls_key[key])
    rep: dict = {}
    for k, c in enumerate(team_cls):
        rep.setdefault(c, k)
    svc_cls = {}
    for c, k in rep.items():
        arr = np.zeros(n, dtype=np.int64)
        arr[len(nb_pts):] = [P.v_service[k][x] for x in visits]
        svc_cls[c] = arr
    mode_min: dict = {}
    mode_cost: dict = {}
    cost_cb: dict = {}
    for mode in sorted({t.mode for t in P.teams}):
        mm = P.minutes_np[mode][np.ix_(pts, pts)].astype(np.int64)
        mm = np.where(mm > W, BIG, mm)  # a leg longer than a working day is impossible
        rp = np.nan_to_num(P.cost_rp_np[mode][np.ix_(pts, pts)], nan=0.0, posinf=0.0, neginf=0.0)
        cost = np.where(mm >= BIG, BIG, 10 * mm + np.round(rp / 1000.0).astype(np.int64))
        mode_min[mode], mode_cost[mode] = mm, cost
        cost_cb[mode] = routing.RegisterTransitMatrix(cost.tolist())
    time_cb = {}
    for c, k in rep.items():
        tm = np.minimum(mode_min[P.teams[k].mode] + svc_cls[c][:, None], BIG)
        time_cb[c] = routing.RegisterTransitMatrix(tm.tolist())
    churn = P.churn
    node_of = {x: len(nb_pts) + i for i, x in enumerate(visits)}
    if P.prefer and churn > 0:
        team_cb = {}
        for k, t in enumerate(P.teams):
            extra = np.zeros(n, dtype=np.int64)
            for x, (pk, _off) in P.prefer.items():
                if pk != k and x in node_of:
                    extra[node_of[x]] = churn
            cost = np.where(mode_min[t.mode] >= BIG, BIG, mode_cost[t.mode] + extra[None, :])
            team_cb[k] = routing.RegisterTransitMatrix(cost.tolist())
        for v, sl in enumerate(slots):
            routing.SetArcCostEvaluatorOfVehicle(team_cb[sl.team], v)
    else:
        for v, sl in enumerate(slots):
            routing.SetArcCostEvaluatorOfVehicle(cost_cb[P.teams[sl.team].mode], v)
    vcls = [team_cls[sl.team] for sl in slots]
    last_off = max(o for sl in slots for o in sl.offsets)
    horizon = (last_off + 1) * S
    routing.AddDimensionWithVehicleTransits([time_cb[c] for c in vcls], horizon, horizon, False,
                                            "Time")
    tdim = routing.GetDimensionOrDie("Time")
    all_offs = sorted({o for sl in slots for o in sl.offsets})

    def restrict(var, offs, lo=0, hi=W, holes=True):
        hi = max(lo, hi)
        var.SetRange(offs[0] * S + lo, offs[-1] * S + hi)
        if not holes:
            return
        for a, b in zip(offs, offs[1:], strict=False):
            if b * S + lo - 1 >= a * S + hi + 1:
                var.RemoveInterval(a * S + hi + 1, b * S + lo - 1)

    solver = routing.solver()
    for v, sl in enumerate(slots):
        if sl.n_days >= 2:
            nights = [solver.FixedDurationIntervalVar(a * S + W, a * S + W, S - W, False,
                                                      f"n{v}_{a}") for a in sl.offsets[:-1]]
            tdim.SetBreakIntervalsOfVehicle(nights, v, svc_cls[vcls[v]].tolist())
        restrict(tdim.CumulVar(routing.Start(v)), sl.offsets, holes=False)
        restrict(tdim.CumulVar(routing.End(v)), sl.offsets, holes=False)
        routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(routing.End(v)))
        routing.AddVariableMaximizedByFinalizer(tdim.CumulVar(routing.Start(v)))
    # earliest time of day a service can start: the shortest leg into the point
    min_in = None
    for mode in mode_min:
        mm = P.minutes_np[mode].astype(np.int64).copy()
        np.fill_diagonal(mm, BIG)
        col = mm.min(axis=0)
        min_in = col if min_in is None else np.minimum(min_in, col)
    min_in = np.where(min_in >= INF, 0, min_in)
    people = [0] * n
    for x in visits:
        node = node_of[x]
        idx = manager.NodeToIndex(node)
        site = P.v_site[x]
        o, c = P.site_open[site], P.site_close[site]
        offs = all_offs
        if x in P.lock_day:
            vehicles = [v for v in allowed[x]]
            routing.VehicleVar(idx).SetValues(vehicles)
            offs = [P.lock_day[x]]
        else:
            ok = set(allowed[x])
            bad = [v for v in range(nv) if v not in ok]
            if bad:
                routing.VehicleVar(idx).RemoveValues(bad)
            pref = P.prefer.get(x)
            routing.AddDisjunction([idx], int(P.v_value[x]) + (churn if pref else 0))
            if pref and churn > 0:
                coef = max(1, churn // S)
                tdim.SetCumulVarSoftLowerBound(idx, pref[1] * S, coef)
                tdim.SetCumulVarSoftUpperBound(idx, pref[1] * S + W, coef)
        lo = max(o - ws, 0 if P.v_ncopies[x] > 1 else int(min_in[P.v_point[x]]))
        restrict(tdim.CumulVar(idx), offs, lo, c - ws - min(P.v_service[k][x] for k in
                                                              range(len(P.teams))),
                 holes=len(offs) == 1)
        people[node] = int(P.v_expected[x])
    total = sum(people)
    caps = [P.teams[sl.team].capacity for sl in slots]
    if total and (nv > 1 or any(c is not None for c in caps)):
        pcb = routing.RegisterUnaryTransitVector(people)
        cap = [int(c) if c is not None else total + 1 for c in caps]
        routing.AddDimensionWithVehicleCapacity(pcb, 0, cap, True, "People")
        pdim = routing.GetDimensionOrDie("People")
        if nv > 1:
            for v, sl in enumerate(slots):
                fair = int(P.fair_per_day * sl.n_days) + 1
                pdim.SetCumulVarSoftUpperBound(routing.End(v), fair, 1)
    visit_idx = [manager.NodeToIndex(node_of[x]) for x in visits]
    return {"routing": routing, "manager": manager, "tdim": tdim, "visit_idx": visit_idx,
            "node_visit": node_visit, "t_start": t_start}


def people_of(P: Problem, routes: list[list[int]]) -> int:
    return sum(P.v_expected[x] for r in routes for x in r)


def fair_share(P: Problem, slot: VehicleSlot) -> int:
    return int(math.ceil(P.fair_per_day * slot.n_days))
