"""The OR-Tools routing model for multi-team, multi-day outreach with nights away.

Model (documented choices):

* **Time axis (solver)**: working minutes only. Calendar day offset o (from the start date) is
  ``[o·S, o·S + W]`` with W = work_end − work_start and S = W + 1: the night between two
  consecutive days is one minute on the axis, so long nights cost nothing in the search (no
  slack of 16 h, no holes in the time windows — holes made OR-Tools' insertion heuristics ~50×
  slower in measurements on Kotim).
* **Vehicles**: with ``max_nights = 0`` a team gets one routing vehicle per working date (start
  and end at its base inside that day). With ``max_nights = k > 0`` its working dates are cut
  into runs of consecutive calendar days (weekends and holidays end a run: teams are home then)
  and each run into the fewest near-equal *trip slots* of at most k+1 days; one vehicle per slot,
  leaving and returning to base inside the slot, so nights away never exceed k. Optional
  "sleep at base" copies of the base node (penalty 0, one per night, bound to the vehicle) let a
  slot come home for a night and go out again.
* **Nights**: each one-minute night of a slot is a fixed, mandatory break
  (``SetBreakIntervalsOfVehicle``) with pre-travel = the service at the node before (the only
  form the Python API exposes: node visit transits). A night therefore never falls inside a
  recording session: every visit starts and ends on one working day. OR-Tools cannot be told (in
  Python) that the *travel* after the night must come after it (post-travel), so the model may let
  a leg straddle a night (part in the evening, part in the morning). Three measures keep plans
  exact: (1) the plan writer (``_walk``) schedules the solver's *sequence* of each vehicle as
  early as possible on real days — a stop that no longer fits today goes to the next day of the
  slot, its leg driven this evening when it fits before work end (the team then sleeps at that
  village: ``end`` of the day is that village, ``min_to_end`` the leg), else tomorrow morning
  after sleeping where the team is; on the last day a stop that does not fit is cut short
  (recording fewer people, ≥ ``MIN_PARTIAL``) or left out (``capacity``); (2) lazy cuts: when
  the model was too optimistic the solver is re-run (up to ``MAX_ROUNDS``, while time is left)
  with those nodes held to the day windows ("holes", only for them) and to an earliest time of
  day = the leg into them, and the best plan *after* scheduling over the rounds is kept; (3) a
  final polish (``_insert_left_out``, ``POLISH_SHARE`` of the time limit, a fixed number of
  evaluations) re-inserts left-out visits wherever the exact schedule then records more people
  for less than their value in travel. The validator re-checks the final schedule independently.
* **Plan times** are clock times: day o of the plan is the date start_date + o.
* **Modes**: each team has a travel matrix set for its mode (road, river, both); a vehicle that
  cannot reach a visit (mode) or cannot fit it in its slot even alone (time) is removed from the
  visit's ``VehicleVar``; visits no vehicle can take are not put in the model (reason
  ``unreachable``).
* **Objective**: arc cost = 10 × travel minutes + travel cost in Rp / 1,000 (per vehicle mode);
  every visit is a disjunction whose penalty is its value = expected people × person_value_min ×
  10 (× ``MUST_VISIT_WEIGHT`` for must-visit villages). Planning one more person is worth
  ``person_value_min`` minutes of travel (default 30), so people dominate and travel/cost break
  ties. Balance: a soft upper bound on the people a vehicle records (its fair share of the
  expected people, by working days, + 25 %), with a small coefficient (1 unit per person above):
  among plans recording the same people, the one with the work spread over the teams wins.
* **Locks** ``(site, date, team)``: the visit's ``VehicleVar`` is restricted to the team's vehicle
  containing that date and its time window to that date; locked visits are mandatory (no
  disjunction). Impossible locks raise ``LockError`` with the reason.
* **Search**: see ``planner.engine.core`` (same parameters: PARALLEL_CHEAPEST_INSERTION (worker 0)
  / LOCAL_CHEAPEST_INSERTION (worker 1) first solutions, guided local search; with ``workers=2``
  two processes, the better plan is kept). Every site is optional, so the empty plan is always
  feasible; if no first solution is found (only possible with locks), the solve is retried with
  the other strategies, then fails with ``LockError``. Without locks an empty plan is returned
  rather than "no solution".
* **Seed / determinism**: OR-Tools routing has no random seed; ``seed`` permutes the order of the
  visit nodes (``core.node_order``; seed 1 = input order). The search is deterministic for the
  same model and the same amount of work: with ``solution_limit`` set, two solves with the same seed give identical plans;
  with only a time limit the amount of work depends on the machine load.
* **Dropped reasons**: ``unreachable`` (no team can get there and back within a day or within a
  trip slot, or its mode cannot reach it), ``capacity`` (reachable, but every team that could go
  has less idle working time left than the visit needs: service + the cheapest detour from its
  route), ``not_worth`` (some team had the time, but the people do not pay for the travel given
  the rest of the plan).
* Alternatives tried and rejected (measured on Kotim 6 teams × 10 days, 3 nights): real clock
  axis with 16-hour break intervals and holes (first solution 7–20 s); element constraints
  ``tod(next) ≥ work_start + travel`` on NextVar (exact, but first solution > 20 s).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp

from .core import STRATEGIES, node_order, run_workers, search_parameters
from .model import Instance, PlanInputError, _as_date, min_to_hhmm
from .plan import Day, Dropped, Place, Plan, Stop, TeamPlan, _freeze_json

BIG = 10**9
INF_THRESHOLD = 10**8


class LockError(PlanInputError):
    """Locked stops that cannot all be kept."""


@dataclass(frozen=True)
class VehicleSlot:
    team: int
    offsets: tuple  # calendar day offsets (consecutive)

    @property
    def n_days(self) -> int:
        return len(self.offsets)


def trip_slots(inst: Instance) -> list[VehicleSlot]:
    """Per team, its working days cut into trips (vehicles of the routing model): single days
    for day-trip teams, runs of consecutive days of at most ``max_nights + 1`` days otherwise.
    A team already out on a trip (``start_at``) first finishes that trip: its first slot has
    at most ``max_nights - nights_used + 1`` days and starts at the village it slept at. Trips
    a re-plan keeps (``TeamSpec.trips``: the previous plan's trips with kept stops) are slots
    of their own, so a locked stop keeps the trip that made it reachable."""
    slots = []
    for k, t in enumerate(inst.teams):
        offs = [inst.day_offset(d) for d in inst.team_dates[k]]
        if not offs:
            continue
        mine: list[tuple] = []
        used: set = set()
        kept = [(inst.day_offset(_as_date(a)), inst.day_offset(_as_date(b)))
                 for a, b in sorted(t.trips or ())]
        if t.start_at is not None:
            left = max(0, int(t.max_nights) - int(t.nights_used))
            first = [offs[0]]
            for o in offs[1:left + 1]:
                # the trip in progress ends before a kept trip that starts later
                if o != first[-1] + 1 or any(lo <= o <= hi and not lo <= offs[0] <= hi
                                             for lo, hi in kept):
                    break
                first.append(o)
            mine.append(tuple(first))
            used.update(first)
        for lo, hi in kept:
            days = [o for o in offs if lo <= o <= hi and o not in used]
            run: list = []
            for o in days:  # consecutive days only, at most max_nights + 1 of them
                if run and (o != run[-1] + 1 or len(run) > int(t.max_nights)):
                    break
                run.append(o)
            if len(run) > 1:
                mine.append(tuple(run))
                used.update(run)
        offs = [o for o in offs if o not in used]
        if t.max_nights <= 0:
            mine.extend((o,) for o in offs)
        elif offs:
            runs, cur = [], [offs[0]]
            for o in offs[1:]:
                if o == cur[-1] + 1:
                    cur.append(o)
                else:
                    runs.append(cur)
                    cur = [o]
            runs.append(cur)
            size = t.max_nights + 1
            for run in runs:
                n = math.ceil(len(run) / size)
                q, r = divmod(len(run), n)
                i = 0
                for j in range(n):
                    L = q + (1 if j < r else 0)
                    mine.append(tuple(run[i:i + L]))
                    i += L
        # the team's slots in date order: the first one is where a trip in progress goes on
        slots.extend(VehicleSlot(k, o) for o in sorted(mine))
    return slots


class _Model:
    """Arrays shared by the model builder, the unreachable analysis and the plan writer."""

    def __init__(self, inst: Instance, seed: int):
        self.inst = inst
        self.ws, self.we = inst.work_start, inst.work_end
        self.work = self.we - self.ws
        self.stride = self.work + 1  # solver axis: day o = [o·stride, o·stride + work]
        self.slots = trip_slots(inst)
        # depot nodes: bases, then the villages teams on a trip wake up at
        nb = int(inst.points["kind"].isin(("base", "start")).sum())
        self.n_bases = nb
        # where each vehicle starts: its team's first slot starts where the team slept
        self.slot_start = []
        seen = set()
        for sl in self.slots:
            sp = inst.start_points[sl.team] if inst.start_points else None
            first = sl.team not in seen
            seen.add(sl.team)
            self.slot_start.append(int(sp) if first and sp is not None
                                   else int(inst.base_points[sl.team]))
        self.minutes = {m: np.asarray(x.minutes, dtype=np.int64) for m, x in inst.matrices.items()}
        self.km = {m: np.asarray(x.km, dtype=float) for m, x in inst.matrices.items()}
        self.cost = {m: np.asarray(x.cost_rp, dtype=float) for m, x in inst.matrices.items()}
        self.legmode = {m: np.asarray(x.mode, dtype=np.int64) for m, x in inst.matrices.items()}
        self.visit_order = node_order(len(inst.visits), seed, 0)
        # site opening windows (minutes of day)
        self.open = []
        for s in inst.sites:
            o = _hm(s.open_time, self.ws)
            c = _hm(s.close_time, self.we)
            self.open.append((max(self.ws, o), min(self.we, c)))

    def visit_point(self, vi: int) -> int:
        return self.inst.site_points[self.inst.visits[vi].site]

    def alone_ok(self, v: int, vi: int) -> tuple[bool, str]:
        """Can vehicle ``v`` do this visit alone (start → site → base) inside its slot?"""
        inst = self.inst
        slot = self.slots[v]
        team = inst.teams[slot.team]
        mm = self.minutes[team.mode]
        p = self.visit_point(vi)
        a, b = self.slot_start[v], inst.base_points[slot.team]
        to, back = int(mm[a, p]), int(mm[p, b])
        if to >= INF_THRESHOLD or back >= INF_THRESHOLD:
            return False, "mode"
        svc = inst.visits[vi].service[slot.team]
        o, c = self.open[inst.visits[vi].site]
        latest_start = c - svc
        earliest = max(self.ws + to, o)
        if earliest > latest_start:
            # cannot arrive and finish on the day it leaves; with a night before (slept at a
            # neighbour on the way) only when the slot has ≥ 3 days
            if slot.n_days < 3 or to > self.work or max(o, self.ws) > latest_start:
                return False, "time"
            earliest = max(self.ws, o)
        end = earliest + svc + back
        if end <= self.we:
            return True, ""
        if slot.n_days >= 2 and back <= self.work:
            return True, ""
        return False, "time"


def _hm(s, default):
    if not s:
        return default
    h, m = str(s).split(":")
    return int(h) * 60 + int(m)


def solve(instance: Instance, *, time_limit: float = 30, seed: int = 1,
          progress: Callable[[float, float, int], None] | None = None, workers: int = 2,
          solution_limit: int | None = None) -> Plan:
    """Solve the instance; see the module docstring. Returns an immutable ``Plan``.

    ``progress(elapsed_s, people_planned, n_improvements)`` is called on each improvement of the
    search in the main process (worker 0); the figure is the model's (the final schedule may
    record a few percent fewer, see "Nights"). 90 % of ``time_limit`` goes to the search, the
    rest to the final polish, so the plan comes back at about ``time_limit`` (large models: the
    first local-search steps may overrun). ``solution_limit`` bounds each search round by a
    number of solutions for bit-identical results with the same seed.
    """
    t0 = time.monotonic()
    inst = instance
    M = _Model(inst, seed)
    built = _prepare(M)
    if not M.slots or not built["n_visit_nodes"]:
        return _make_plan(M, built, None, seed=seed, time_limit=time_limit,
                          solution_limit=solution_limit, elapsed=time.monotonic() - t0)

    def one(w: int) -> _RawResult:
        return _solve_worker(M, built, w, time_limit, solution_limit,
                             progress if w == 0 else None, t0)

    raw = [r for r in run_workers(one, workers) if isinstance(r, _RawResult)]
    found = [r for r in raw if r.found]
    if not found and inst.locks:
        for w in range(2, len(STRATEGIES)):  # other first-solution strategies
            r = _solve_worker(M, built, w, max(2.0, time_limit / 2), solution_limit, None,
                              time.monotonic())
            if r.found:
                found = [r]
                break
        if not found:
            raise LockError("Stop yang dikunci tidak bisa dipenuhi bersama-sama (jam kerja, jarak, "
                            "atau kapasitas). Periksa kunci: " + ", ".join(
                                f"{lk.site_code} {lk.date.isoformat()} {lk.team}" for lk in inst.locks))
    best = max(found, key=lambda r: (r.people, -r.objective, -r.worker)) if found else None
    if best is not None:
        _insert_left_out(M, built, best, t0 + time_limit)  # the polish ends at the limit
    return _make_plan(M, built, best, seed=seed, time_limit=time_limit,
                      solution_limit=solution_limit, elapsed=time.monotonic() - t0)


# --------------------------------------------------------------------------- model
def _prepare(M: _Model) -> dict:
    """Everything about the nodes that does not need the OR-Tools objects (picklable)."""
    inst = M.inst
    slots = M.slots
    nb = M.n_bases
    allowed: dict[int, list[int]] = {}
    why: dict[int, set] = {}
    for vi in range(len(inst.visits)):
        ok = []
        reasons = set()
        for v in range(len(slots)):
            good, reason = M.alone_ok(v, vi)
            if good:
                ok.append(v)
            else:
                reasons.add(reason)
        allowed[vi] = ok
        why[vi] = reasons
    lock_of: dict[int, tuple] = {}
    by_site: dict[str, list[int]] = {}
    for vi, v in enumerate(inst.visits):
        by_site.setdefault(inst.sites[v.site].code, []).append(vi)
    team_idx = {t.name: k for k, t in enumerate(inst.teams)}
    for lk in inst.locks:
        free = [vi for vi in by_site.get(lk.site_code, []) if vi not in lock_of]
        if lk.expected:  # its own copy, sized as announced
            same = [vi for vi in free if inst.visits[vi].expected == lk.expected]
            free = same + [vi for vi in free if vi not in same]
        if not free:
            raise LockError(f"Terlalu banyak kunci untuk {lk.site_code}.")
        vi = free[0]
        off = inst.day_offset(lk.date)
        tk = team_idx[lk.team] if lk.team else None  # no team: whichever team works that day
        vehicles = [v for v, sl in enumerate(slots)
                    if (tk is None or sl.team == tk) and off in sl.offsets]
        if not vehicles:
            raise LockError(f"Kunci {lk.site_code}: {lk.team or 'tidak ada tim yang'} tidak "
                            f"bekerja pada {lk.date.isoformat()} (bukan hari kerja tim).")
        lock_of[vi] = (vehicles, off)
    # re-plan preferences: the team and day a visit had before (soft, see _build)
    prefer_of: dict[int, tuple[int, int, int]] = {}  # visit -> (team, day offset, rank)
    for rank, pf in enumerate(inst.prefer):
        free = [vi for vi in by_site.get(pf.site_code, [])
                if vi not in lock_of and vi not in prefer_of]
        if free and pf.team in team_idx:
            prefer_of[free[0]] = (team_idx[pf.team], inst.day_offset(pf.date), rank)
    visit_nodes = [vi for vi in M.visit_order if allowed[vi] or vi in lock_of]
    node_pt = list(range(nb))
    node_visit = [-1] * nb
    for vi in visit_nodes:
        node_pt.append(M.visit_point(vi))
        node_visit.append(vi)
    sleep_nodes = []  # (node, vehicle)
    for v, sl in enumerate(slots):
        for _ in range(sl.n_days - 1):
            sleep_nodes.append((len(node_pt), v))
            node_pt.append(inst.base_points[sl.team])
            node_visit.append(-2)
    return {"allowed": allowed, "why": why, "lock_of": lock_of, "prefer_of": prefer_of,
            "node_pt": node_pt, "node_visit": node_visit, "sleep_nodes": sleep_nodes,
            "n_visit_nodes": len(visit_nodes)}


@dataclass
class _Built:
    routing: object
    manager: object
    tdim: object
    visit_idx: list
    expected_idx: list
    nights: list


def _build(M: _Model, built: dict, learned: dict, end_learned: dict, breaks: bool = True) -> _Built:
    """The routing model on the working-minute axis (day o = [o·W, (o+1)·W), W = work minutes)."""
    inst = M.inst
    slots = M.slots
    ws, W, S = M.ws, M.work, M.stride
    node_pt = built["node_pt"]
    node_visit = built["node_visit"]
    n = len(node_pt)
    nv = len(slots)
    starts = list(M.slot_start)
    ends = [inst.base_points[sl.team] for sl in slots]
    manager = pywrapcp.RoutingIndexManager(n, nv, starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    pts = np.asarray(node_pt, dtype=np.int64)
    cls_key: dict = {}
    team_cls = []
    for t in inst.teams:
        key = (t.mode, t.kits, float(t.minutes_per_person), t.setup_min)
        cls_key.setdefault(key, len(cls_key))
        team_cls.append(cls_key[key])
    rep_team: dict = {}
    for k, c in enumerate(team_cls):
        rep_team.setdefault(c, k)
    svc_cls = {}
    for c, k in rep_team.items():
        arr = np.zeros(n, dtype=np.int64)
        for node, vi in enumerate(node_visit):
            if vi >= 0:
                arr[node] = inst.visits[vi].service[k]
        svc_cls[c] = arr
    mode_min = {}
    cost_cb = {}
    time_cb = {}
    for m in sorted({t.mode for t in inst.teams}):
        mm = M.minutes[m][np.ix_(pts, pts)].astype(np.int64)
        mm = np.where(mm > W, BIG, mm)  # a leg longer than a working day is impossible
        mode_min[m] = mm
        rp = np.nan_to_num(M.cost[m][np.ix_(pts, pts)], nan=0.0, posinf=0.0, neginf=0.0)
        cost = 10 * mm + np.round(rp / 1000.0).astype(np.int64)
        cost = np.where(mm >= BIG, BIG, cost)
        cost_cb[m] = routing.RegisterTransitMatrix(cost.tolist())
    for c, k in rep_team.items():
        tm = np.minimum(mode_min[inst.teams[k].mode] + svc_cls[c][:, None], BIG)
        time_cb[c] = routing.RegisterTransitMatrix(tm.tolist())
    vcls = [team_cls[sl.team] for sl in slots]
    prefer_of = built.get("prefer_of") or {}
    churn = int(round(float(inst.request.churn_penalty_min) * inst.value_scale))
    if prefer_of and churn > 0:
        # a visit that had a team before costs `churn` more when another team enters it
        node_of_visit = {vi: node for node, vi in enumerate(node_visit) if vi >= 0}
        team_cost_cb = {}
        for k, t in enumerate(inst.teams):
            base_cost = (10 * mode_min[t.mode]
                         + np.round(np.nan_to_num(M.cost[t.mode][np.ix_(pts, pts)], nan=0.0,
                                                  posinf=0.0, neginf=0.0) / 1000.0).astype(np.int64))
            extra = np.zeros(n, dtype=np.int64)
            for vi, (pk, _off, _rank) in prefer_of.items():
                if pk != k and vi in node_of_visit:
                    extra[node_of_visit[vi]] = churn
            cost = np.where(mode_min[t.mode] >= BIG, BIG, base_cost + extra[None, :])
            team_cost_cb[k] = routing.RegisterTransitMatrix(cost.tolist())
        for v, sl in enumerate(slots):
            routing.SetArcCostEvaluatorOfVehicle(team_cost_cb[sl.team], v)
    else:
        for v, sl in enumerate(slots):
            routing.SetArcCostEvaluatorOfVehicle(cost_cb[inst.teams[sl.team].mode], v)
    last_off = max(o for sl in slots for o in sl.offsets)
    horizon = (last_off + 1) * S
    routing.AddDimensionWithVehicleTransits([time_cb[c] for c in vcls], horizon, horizon, False, "Time")
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
    all_nights = []
    for v, sl in enumerate(slots):
        if sl.n_days >= 2 and breaks:
            # one-minute "nights" between the days of a slot: a night may not fall inside a
            # service (pre-travel = service), so a visit starts and ends on one day
            nights = [solver.FixedDurationIntervalVar(a * S + W, a * S + W, S - W, False, f"n{v}_{a}")
                      for a in sl.offsets[:-1]]
            tdim.SetBreakIntervalsOfVehicle(nights, v, svc_cls[vcls[v]].tolist())
            all_nights.extend(nights)
        restrict(tdim.CumulVar(routing.Start(v)), sl.offsets)
        restrict(tdim.CumulVar(routing.End(v)), sl.offsets, end_learned.get(v, 0),
                 holes=v in end_learned)
        routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(routing.End(v)))
        routing.AddVariableMaximizedByFinalizer(tdim.CumulVar(routing.Start(v)))
    # earliest time of day a service can start: the shortest leg into the point (a leg never
    # starts before work start) — a valid tightening of the windows
    min_in = None
    for m in mode_min:
        mm = M.minutes[m].astype(np.int64).copy()
        np.fill_diagonal(mm, BIG)
        col = mm.min(axis=0)
        min_in = col if min_in is None else np.minimum(min_in, col)
    min_in = np.where(min_in >= INF_THRESHOLD, 0, min_in)
    lock_of = built["lock_of"]
    allowed = built["allowed"]
    people = [0] * n
    for node in range(M.n_bases, n):
        vi = node_visit[node]
        if vi < 0:
            continue
        idx = manager.NodeToIndex(node)
        visit = inst.visits[vi]
        o, c = M.open[visit.site]
        offs = all_offs
        if vi in lock_of:
            vehicles, off = lock_of[vi]
            routing.VehicleVar(idx).SetValues(vehicles)
            offs = [off]
        else:
            ok = set(allowed[vi])
            bad = [v for v in range(nv) if v not in ok]
            if bad:
                routing.VehicleVar(idx).RemoveValues(bad)
            pref = prefer_of.get(vi)
            routing.AddDisjunction([idx], int(visit.value) + (churn if pref else 0))
            if pref and churn > 0:
                # another day costs about `churn` per day moved (soft window on that day)
                coef = max(1, churn // S)
                tdim.SetCumulVarSoftLowerBound(idx, pref[1] * S, coef)
                tdim.SetCumulVarSoftUpperBound(idx, pref[1] * S + W, coef)
        lo = max(o - ws, 0 if visit.n_copies > 1 else int(min_in[node_pt[node]]),
                 learned.get(node, 0))
        restrict(tdim.CumulVar(idx), offs, lo, c - ws - min(visit.service),
                 holes=node in learned or len(offs) == 1)
        people[node] = int(visit.expected)
    for node, v in built["sleep_nodes"]:
        idx = manager.NodeToIndex(node)
        routing.VehicleVar(idx).SetValues([-1, v])
        restrict(tdim.CumulVar(idx), slots[v].offsets, learned.get(node, 0),
                 holes=node in learned)
        routing.AddDisjunction([idx], 0)
    total_people = sum(people)
    if total_people and nv > 1:
        pcb = routing.RegisterUnaryTransitVector(people)
        routing.AddDimension(pcb, 0, total_people + 1, True, "People")
        pdim = routing.GetDimensionOrDie("People")
        vdays = sum(sl.n_days for sl in slots)
        for v, sl in enumerate(slots):
            fair = int(math.ceil(1.25 * total_people * sl.n_days / vdays))
            pdim.SetCumulVarSoftUpperBound(routing.End(v), fair, 1)
    visit_idx = [manager.NodeToIndex(node) for node in range(M.n_bases, n) if node_visit[node] >= 0]
    expected_idx = [people[manager.IndexToNode(i)] for i in visit_idx]
    return _Built(routing, manager, tdim, visit_idx, expected_idx, all_nights)


@dataclass
class _RawResult:
    worker: int
    objective: int
    routes: list          # per vehicle: list of (node, cumul)
    ends: list            # per vehicle: end cumul
    history: list
    found: bool
    people: int = 0
    rounds: int = 0


MAX_ROUNDS = 4


def _solve_worker(M: _Model, built: dict, worker: int, time_limit: float,
                  solution_limit: int | None, progress, t0: float) -> _RawResult:
    """Solve, then re-solve (warm start) while the earliest schedule finds legs the model let
    straddle a night, each time raising those nodes' earliest time of day (lazy cuts)."""
    learned: dict = {}
    end_learned: dict = {}
    history: list = []
    state = {"best": -1}
    initial = None
    if built.get("prefer_of"):
        # a re-plan starts from the previous plan's routes (the search then moves only what
        # pays more than the churn penalty)
        initial = _previous_routes(M, built)
    elif built["n_visit_nodes"] > GREEDY_MIN_NODES and not M.inst.locks:
        # large instances: OR-Tools' insertion heuristics are quadratic × vehicles; start the
        # local search from a fast greedy construction instead
        initial = _greedy_routes(M, built)
    result: _RawResult | None = None
    deadline = t0 + time_limit * (1 - POLISH_SHARE)
    for rnd in range(MAX_ROUNDS):
        left = deadline - time.monotonic()
        if rnd and left < 0.5:
            break
        # warm starts do not restore break intervals (ROUTING_FAIL in OR-Tools 9.15): a model
        # started from routes has no night breaks; the walk repairs and cuts what straddles
        B = _build(M, built, learned, end_learned, breaks=initial is None)
        routing, manager, tdim = B.routing, B.manager, B.tdim
        left = deadline - time.monotonic()  # building the model counts against the limit
        budget = max(0.5, left * (0.75 if rnd == 0 else 0.6 if rnd < MAX_ROUNDS - 1 else 1.0))

        def on_solution(B=B):
            planned = 0
            for i, e in zip(B.visit_idx, B.expected_idx, strict=True):
                if B.routing.NextVar(i).Value() != i:
                    planned += e
            if planned > state["best"]:
                state["best"] = planned
                history.append((round(time.monotonic() - t0, 3), planned))
                if progress is not None:
                    progress(time.monotonic() - t0, float(planned), len(history))

        routing.AddAtSolutionCallback(on_solution)
        params = search_parameters(worker, budget, solution_limit)
        sol = None
        if initial is not None:
            routing.CloseModelWithParameters(params)
            init = routing.ReadAssignmentFromRoutes(
                [[manager.NodeToIndex(nd) for nd in r] for r in initial], True)
            if init is None and built.get("prefer_of") and rnd == 0:
                # the previous plan may not fit the new figures exactly (a visit cut short in
                # the field, a longer service): start from the part of it that fits
                initial = _feasible_parts(routing, manager, initial)
                init = routing.ReadAssignmentFromRoutes(
                    [[manager.NodeToIndex(nd) for nd in r] for r in initial], True)
            if os.environ.get("PLANNER_ENGINE_DEBUG"):
                print(f"[engine w{worker}] round {rnd + 1}: initial routes "
                      f"{'accepted' if init is not None else 'REFUSED'} "
                      f"({sum(len(r) for r in initial)} visits)")
            if init is not None:
                sol = routing.SolveFromAssignmentWithParameters(init, params)
        if sol is None:
            sol = routing.SolveWithParameters(params)
        if sol is None:
            break
        routes, ends = [], []
        for v in range(len(M.slots)):
            idx = sol.Value(routing.NextVar(routing.Start(v)))
            r = []
            while not routing.IsEnd(idx):
                r.append((manager.IndexToNode(idx), sol.Value(tdim.CumulVar(idx))))
                idx = sol.Value(routing.NextVar(idx))
            routes.append(r)
            ends.append(sol.Value(tdim.CumulVar(routing.End(v))))
        cand = _RawResult(worker, sol.ObjectiveValue(), routes, ends, history, True, rounds=rnd + 1)
        walks = [_walk(M, built, v, routes[v], ends[v]) for v in range(len(M.slots))]
        cand.people = sum(w.people for w in walks)
        if os.environ.get("PLANNER_ENGINE_DEBUG"):
            print(f"[engine w{worker}] round {rnd + 1}: {time.monotonic() - t0:.1f}s model people "
                  f"{state['best']}, after repair {cand.people}, repaired "
                  f"{sum(len(w.repaired) for w in walks)}, cuts {sum(len(w.cuts) for w in walks)}")
        if result is None or cand.people > result.people or (
                cand.people == result.people and cand.objective < result.objective):
            result = cand
        cuts = {}
        end_cuts = {}
        for v, w in enumerate(walks):
            for node, need in w.cuts.items():
                if node is None:
                    end_cuts[v] = max(end_cuts.get(v, 0), need)
                else:
                    cuts[node] = max(cuts.get(node, 0), need)
        new = {k: x for k, x in cuts.items() if k not in learned or x > learned[k]}
        new_end = {k: x for k, x in end_cuts.items() if k not in end_learned or x > end_learned[k]}
        if not new and not new_end:
            break
        learned.update(new)
        end_learned.update(new_end)
        initial = [w.kept for w in walks]
    if result is None:
        return _RawResult(worker, BIG, [], [], history, False)
    result.history = history
    return result


def _feasible_parts(routing, manager, routes: list[list[int]]) -> list[list[int]]:
    """Each route alone as far as the model accepts it: visits are left out from the end of a
    route until the route fits (an empty route always does)."""
    out = []
    for v, r in enumerate(routes):
        r = list(r)
        while r:
            one = [r if k == v else [] for k in range(len(routes))]
            if routing.ReadAssignmentFromRoutes(
                    [[manager.NodeToIndex(nd) for nd in x] for x in one], True) is not None:
                break
            r.pop()
        out.append(r)
    return out


def _previous_routes(M: _Model, built: dict) -> list[list[int]]:
    """Per vehicle, the visits the previous version had on its team and days (preferences and
    locks), in the previous order: the re-plan's starting solution."""
    node_of_visit = {vi: node for node, vi in enumerate(built["node_visit"]) if vi >= 0}
    where: dict[int, tuple[int, int, int]] = dict(built["prefer_of"])
    locks = M.inst.locks
    for vi, (vehicles, off) in built["lock_of"].items():
        team = M.slots[vehicles[0]].team
        code = M.inst.sites[M.inst.visits[vi].site].code
        rank = next((r for r, pf in enumerate(M.inst.prefer) if pf.site_code == code), len(locks))
        where[vi] = (team, off, rank)
    routes: list[list[tuple]] = [[] for _ in M.slots]
    for vi, (team, off, rank) in where.items():
        if vi not in node_of_visit:
            continue
        v = next((v for v, sl in enumerate(M.slots) if sl.team == team and off in sl.offsets), None)
        if v is not None:
            routes[v].append((off, rank, node_of_visit[vi]))
    return [[node for _off, _rank, node in sorted(r)] for r in routes]


GREEDY_MIN_NODES = 400
POLISH_SHARE = 0.1       # share of the time limit kept for re-inserting left-out visits
POLISH_MAX_EVALS = 20000  # schedule evaluations (a count, so the result does not depend on speed)


def _travel_min(M: _Model, v: int, w) -> int:
    mm = M.minutes[M.inst.teams[M.slots[v].team].mode]
    total = 0
    for d in w.days.values():
        total += sum(int(mm[s[1], s[2]]) for s in d["stops"])
        if d["to_end"] is not None:
            total += int(mm[d["to_end"][0], d["to_end"][1]])
    return total


def _insert_left_out(M: _Model, built: dict, raw: _RawResult, deadline: float) -> None:
    """Final polish on the exact schedule: try every left-out (or repaired) visit, most
    valuable first, at every position of every route that may take it; keep an insertion when
    the schedule (``_walk``) then records more people. Changes ``raw.routes`` in place."""
    inst = M.inst
    node_visit = built["node_visit"]
    allowed = built["allowed"]
    lock_of = built["lock_of"]
    walks = [_walk(M, built, v, raw.routes[v], raw.ends[v]) for v in range(len(M.slots))]
    placed = {s[0] for w in walks for d in w.days.values() for s in d["stops"]}
    todo = [nd for nd in range(M.n_bases, len(node_visit))
            if node_visit[nd] >= 0 and node_visit[nd] not in placed and node_visit[nd] not in lock_of]
    todo.sort(key=lambda nd: (-inst.visits[node_visit[nd]].value, nd))
    evals = 0
    for nd in todo:
        vi = node_visit[nd]
        per_person = inst.visits[vi].value / max(1, inst.visits[vi].expected)
        best = None
        for v in allowed[vi]:
            route = raw.routes[v]
            base_route = [x for x in route if x[0] != nd]
            for pos in range(len(base_route) + 1):
                if evals >= POLISH_MAX_EVALS or time.monotonic() > deadline:
                    break
                evals += 1
                ref = base_route[pos - 1][1] if pos else (base_route[0][1] if base_route else
                                                          M.slots[v].offsets[0] * M.stride)
                cand = base_route[:pos] + [(nd, ref)] + base_route[pos:]
                w = _walk(M, built, v, cand, raw.ends[v])
                # same units as the objective: people × value per person − 10 × travel minutes
                gain = ((w.people - walks[v].people) * per_person
                        - 10 * (_travel_min(M, v, w) - _travel_min(M, v, walks[v])))
                if w.people > walks[v].people and gain > 0 and (best is None or gain > best[0]):
                    best = (gain, v, cand, w)
        if best is not None:
            _gain, v, cand, w = best
            raw.routes[v] = cand
            walks[v] = w
            for u in range(len(raw.routes)):  # it was left out there: drop it from that route
                if u != v and any(x == nd for x, _c in raw.routes[u]):
                    raw.routes[u] = [x for x in raw.routes[u] if x[0] != nd]
                    walks[u] = _walk(M, built, u, raw.routes[u], raw.ends[u])
    raw.people = sum(w.people for w in walks)


def _greedy_routes(M: _Model, built: dict) -> list[list[int]]:
    """A quick feasible start: each vehicle in turn takes, from where it is, the visit with the
    best people per minute (travel + service) that fits its day and lets it get home in time
    (same day for day trips; next morning when the slot has another day). Realistic schedule
    (no leg across a night), so it is feasible in the looser solver model too."""
    inst = M.inst
    ws, W = M.ws, M.work
    node_visit = built["node_visit"]
    nodes = [nd for nd in range(M.n_bases, len(node_visit)) if node_visit[nd] >= 0]
    vis = np.array([node_visit[nd] for nd in nodes], dtype=np.int64)
    pts = np.array([inst.site_points[inst.visits[vi].site] for vi in vis], dtype=np.int64)
    people = np.array([inst.visits[vi].expected for vi in vis], dtype=float)
    open_ = np.array([M.open[inst.visits[vi].site][0] - ws for vi in vis], dtype=np.int64)
    close = np.array([M.open[inst.visits[vi].site][1] - ws for vi in vis], dtype=np.int64)
    allowed_sets = [set(built["allowed"][vi]) for vi in vis]
    free = np.ones(len(nodes), dtype=bool)
    routes = []
    for v, sl in enumerate(M.slots):
        team = inst.teams[sl.team]
        mm = M.minutes[team.mode]
        base = inst.base_points[sl.team]
        svc = np.array([inst.visits[vi].service[sl.team] for vi in vis], dtype=np.int64)
        ok_v = np.array([v in a for a in allowed_sets], dtype=bool)
        back = mm[pts, base].astype(np.int64)
        route = []
        pos, day, t = M.slot_start[v], 0, 0  # t: minutes after work start on slot day ``day``
        while True:
            cand = free & ok_v
            if not cand.any():
                break
            leg = mm[pos, pts].astype(np.int64)
            start = np.maximum(t + leg, open_)
            fin = start + svc
            more_days = day + 1 < sl.n_days
            home_ok = (fin + back <= W) | (more_days & (back <= W))
            fits = cand & (leg < INF_THRESHOLD) & (fin <= np.minimum(close, W)) & home_ok
            if not fits.any():
                if not more_days:
                    break
                # sleep here (or at base when already there) and go on tomorrow
                if pos != base and t == 0 and not route:
                    break
                day += 1
                t = 0
                leg = mm[pos, pts].astype(np.int64)
                start = np.maximum(leg, open_)
                fin = start + svc
                more_days = day + 1 < sl.n_days
                home_ok = (fin + back <= W) | (more_days & (back <= W))
                fits = cand & (leg < INF_THRESHOLD) & (fin <= np.minimum(close, W)) & home_ok
                if not fits.any():
                    break
            score = np.where(fits, people / (fin - t + 1.0), -1.0)
            k = int(np.argmax(score))
            route.append(nodes[k])
            free[k] = False
            pos, t = int(pts[k]), int(fin[k])
        # going home must fit: today, or tomorrow morning when the slot has another day
        routes.append(route)
    return routes


@dataclass
class _Walk:
    days: dict        # offset -> {"start", "stops": [(vi, a, b, arrive, start, depart, people)], "end", "to_end"}
    repaired: list    # visits left out because they no longer fit their day
    cuts: dict        # node (None = end) -> earliest minutes after work start the model must use
    kept: list        # nodes of the repaired route (for a warm start)
    people: int


def _walk(M: _Model, built: dict, v: int, route: list, end_cumul: int) -> _Walk:
    """Earliest realistic schedule (clock minutes) of the solver's sequence for one vehicle.

    Stops are taken in the solver's order, each as early as possible: on the current day when it
    fits (travel, opening hours, service before work end), else on the next day of the slot —
    the leg is driven this evening when it fits before work end (the team sleeps at the next
    village), otherwise tomorrow morning after sleeping where the team is. A "sleep at base" node
    sends the team home for the night. On the last day a stop that does not fit is cut short
    (≥ ``MIN_PARTIAL`` of its people) or left out, and the way home must fit: stops are cut
    short/left out from the end of the day until it does (or the team drives home the next
    morning when the slot has another day). ``cuts`` tell the next solver round where the model
    was too optimistic.
    """
    inst = M.inst
    sl = M.slots[v]
    ws, we, S = M.ws, M.we, M.stride
    node_visit = built["node_visit"]
    lock_of = built["lock_of"]
    team = inst.teams[sl.team]
    mm = M.minutes[team.mode]
    base = inst.base_points[sl.team]
    offs = sl.offsets
    days: dict = {}
    repaired: list = []
    cuts: dict = {}
    kept: list = []
    di = 0
    pos = M.slot_start[v]
    days[offs[0]] = {"start": pos, "stops": [], "end": pos, "to_end": None}
    t = offs[0] * 1440 + ws

    def next_day():
        nonlocal di, t
        di += 1
        days[offs[di]] = {"start": pos, "stops": [], "end": pos, "to_end": None}
        t = offs[di] * 1440 + ws

    def svc_for(vi, e):
        visit = inst.visits[vi]
        if e >= visit.expected:
            return visit.service[sl.team]
        mpp = float(inst.sites[visit.site].minutes_per_person or team.minutes_per_person)
        return team.setup_min + math.ceil(e * mpp / team.kits)

    def drop_before_lock(cur, off):
        """Leave out the latest non-locked stop of the day and re-time the day; False if none."""
        nonlocal pos, t
        idx = [i for i, st in enumerate(cur["stops"]) if st[0] not in lock_of]
        if not idx:
            return False
        vi_out = cur["stops"].pop(idx[-1])[0]
        repaired.append(vi_out)
        nd_out = next(nd for nd in reversed(kept) if node_visit[nd] == vi_out)
        kept.remove(nd_out)
        cuts.setdefault(nd_out, 0)
        pos, t = cur["start"], off * 1440 + ws
        for i, (vj, _a, b, _ar, _st, _de, e) in enumerate(cur["stops"]):
            o_j = M.open[inst.visits[vj].site][0]
            arrive = t + int(mm[pos, b])
            start = max(arrive, off * 1440 + o_j)
            cur["stops"][i] = (vj, pos, b, arrive, start, start + svc_for(vj, e), e)
            pos, t = b, start + svc_for(vj, e)
        return True

    def go_home(node):
        """Return to base tonight (or tomorrow morning); cut the day short when needed."""
        nonlocal pos, t
        if pos == base:
            return
        cur = days[offs[di]]
        while True:
            leg = int(mm[pos, base])
            if t + leg <= offs[di] * 1440 + we:
                break
            if di + 1 < len(offs) and leg <= M.work:
                next_day()          # sleep here, drive home in the morning
                cur = days[offs[di]]
                continue
            if not cur["stops"]:
                break
            if cur["stops"][-1][0] in lock_of:
                if drop_before_lock(cur, offs[di]):  # never cut a locked stop
                    continue
                break               # nothing else to leave out: the validator reports it
            last = cur["stops"][-1]
            got = _shrink(M, sl.team, last[0], last[4], offs[di] * 1440 + we - leg)
            if got is not None:
                cur["stops"][-1] = (*last[:5], got[1], got[0])
                t = got[1]
                continue
            vi_out = cur["stops"].pop()[0]
            repaired.append(vi_out)
            nd_out = next(nd for nd in reversed(kept) if node_visit[nd] == vi_out)
            kept.remove(nd_out)
            cuts.setdefault(nd_out, 0)
            if cur["stops"]:
                pos, t = cur["stops"][-1][2], cur["stops"][-1][5]
            else:
                pos, t = cur["start"], offs[di] * 1440 + ws
            if pos == base:
                break
        if pos != base:
            cur["to_end"] = (pos, base)
            cur["end"] = base
            t += int(mm[pos, base])
            pos = base
            if node is not None:
                kept.append(node)

    for k, (node, cumul) in enumerate(route):
        vi = node_visit[node]
        if vi < 0:  # sleep at base tonight (nothing to do when the team is at base already)
            nxt = next((c // S for nd, c in route[k + 1:] if node_visit[nd] >= 0), None)
            if nxt is not None and nxt <= cumul // S:
                continue  # the model only passes by the base during the day: ignore
            if pos != base:
                go_home(node)
                if di + 1 < len(offs):
                    next_day()
            continue
        visit = inst.visits[vi]
        p = inst.site_points[visit.site]
        o, c = M.open[visit.site]
        svc = visit.service[sl.team]
        model_day, model_tod = cumul // S, cumul % S
        lock_off = lock_of[vi][1] if vi in lock_of else None
        while True:
            off = offs[di]
            cur = days[off]
            if lock_off is not None and off < lock_off and di + 1 < len(offs):
                next_day()  # a locked stop keeps its date: wait for it
                continue
            leg = int(mm[pos, p])
            start = max(t + leg, off * 1440 + o)
            depart = start + svc
            if lock_off == off and depart > off * 1440 + c and drop_before_lock(cur, off):
                continue  # a locked stop keeps its day: room made by leaving out another stop
            if leg < INF_THRESHOLD and (depart <= off * 1440 + c or lock_off is not None):
                first = not cur["stops"]
                if first and (off > model_day or (off == model_day and leg > model_tod)):
                    cuts[node] = leg
                elif off > model_day:
                    cuts[node] = 0
                cur["stops"].append((vi, pos, p, t + leg, start, depart, visit.expected))
                kept.append(node)
                pos, t = p, depart
                break
            if di + 1 < len(offs) and leg < INF_THRESHOLD:
                if pos != p and t + leg <= off * 1440 + we:
                    cur["to_end"] = (pos, p)      # drive this evening, sleep there
                    cur["end"] = p
                    pos = p
                next_day()
                continue
            got = None
            if leg < INF_THRESHOLD:
                got = _shrink(M, sl.team, vi, start, off * 1440 + c)
            if got is not None:
                cur["stops"].append((vi, pos, p, t + leg, start, got[1], got[0]))
                kept.append(node)
                pos, t = p, got[1]
            else:
                repaired.append(vi)
            cuts.setdefault(node, 0)
            break
        days[offs[di]]["end"] = pos
    go_home(None)
    for d in days.values():
        if d["end"] is None:
            d["end"] = d["start"]
    # days at home with nothing to do are not part of the plan
    days = {off: d for off, d in days.items()
            if d["stops"] or d["to_end"] or d["start"] != base or d["end"] != base}
    people = sum(s[6] for d in days.values() for s in d["stops"])
    return _Walk(days, repaired, cuts, kept, people)


MIN_PARTIAL = 0.4  # a visit cut short by the repair keeps at least 40 % of its people


def _shrink(M: _Model, team_k: int, vi: int, start: int, latest_depart: int):
    """(people, depart) for a visit cut short to end by ``latest_depart``, or None."""
    inst = M.inst
    t = inst.teams[team_k]
    visit = inst.visits[vi]
    mpp = float(inst.sites[visit.site].minutes_per_person or t.minutes_per_person)
    avail = latest_depart - start - t.setup_min
    if avail <= 0:
        return None
    e = min(visit.expected, int(avail * t.kits / mpp))
    if e < max(1, MIN_PARTIAL * visit.expected):
        return None
    return e, start + t.setup_min + math.ceil(e * mpp / t.kits)


# --------------------------------------------------------------------------- plan
def _make_plan(M: _Model, built: dict, raw: _RawResult | None, *, seed, time_limit,
               solution_limit, elapsed) -> Plan:
    inst = M.inst
    start_date = inst.request.start_date
    lock_vis = set(built["lock_of"])
    served: dict[int, int] = {}
    served_people: dict[int, int] = {}
    busy = [0] * len(M.slots)
    route_pts: list[set] = [set() for _ in M.slots]
    team_days: dict[int, dict[int, Day]] = {k: {} for k in range(len(inst.teams))}
    tot_km = 0.0
    tot_min = 0
    tot_cost = 0.0
    tot_people = 0
    repaired: list[int] = []

    def pdict(p: int) -> Place:
        row = inst.points.iloc[p]
        code = None if row["kind"] == "base" else str(row["code"])
        return Place(lat=float(row["lat"]), lon=float(row["lon"]), code=code, name=str(row["name"]))

    for v, sl in enumerate(M.slots):
        mode = inst.teams[sl.team].mode
        mm, km, cost, lm = M.minutes[mode], M.km[mode], M.cost[mode], M.legmode[mode]
        base = inst.base_points[sl.team]
        route_pts[v].add(base)
        route_pts[v].add(M.slot_start[v])
        route = raw.routes[v] if raw is not None and raw.routes else []
        if not route and M.slot_start[v] == base:
            continue
        # (a team waking up away from base has at least the way home to do)
        w = _walk(M, built, v, route, raw.ends[v] if raw is not None and raw.ends else 0)
        repaired.extend(w.repaired)
        for d, info in sorted(w.days.items()):
            stops = []
            dkm = 0.0
            dmin = 0
            dcost = 0.0
            for vi, a, b, arrive, start, depart, e in info["stops"]:
                visit = inst.visits[vi]
                site = inst.sites[visit.site]
                leg = int(mm[a, b])
                stops.append(Stop(
                    site_code=site.code, name=site.name, kecamatan=site.kecamatan, kind=site.kind,
                    lat=float(site.lat), lon=float(site.lon), arrive=min_to_hhmm(arrive),
                    start=min_to_hhmm(start), depart=min_to_hhmm(depart),
                    expected=int(e), km_from_prev=round(float(km[a, b]), 1),
                    min_from_prev=leg, mode="river" if int(lm[a, b]) == 1 else "road",
                    no_signal=bool(site.no_signal), pooled=tuple(dict(x) for x in site.pooled),
                    locked=vi in lock_vis, visit=f"{visit.copy + 1}/{visit.n_copies}",
                    service_min=int(depart - start)))
                served[vi] = v
                served_people[vi] = int(e)
                busy[v] += leg + int(depart - start)
                route_pts[v].add(b)
                dkm += float(km[a, b])
                dmin += leg
                dcost += float(cost[a, b])
                tot_people += int(e)
            to_end = None
            if info["to_end"] is not None:
                q, z = info["to_end"]
                to_end = (int(mm[q, z]), round(float(km[q, z]), 1),
                          "river" if int(lm[q, z]) == 1 else "road")
                busy[v] += to_end[0]
                dkm += float(km[q, z])
                dmin += to_end[0]
                dcost += float(cost[q, z])
                route_pts[v].add(z)
            tot_km += round(dkm, 1)
            tot_min += dmin
            tot_cost += int(round(dcost))
            stops = tuple(stops)
            team_days[sl.team][d] = Day(
                date=(start_date + dt.timedelta(days=int(d))).isoformat(),
                start=pdict(info["start"]), end=pdict(info["end"]), stops=stops,
                km_to_end=to_end[1] if to_end else 0.0, min_to_end=to_end[0] if to_end else 0,
                mode_to_end=to_end[2] if to_end else None,
                people=sum(s.expected for s in stops), km=round(dkm, 1), travel_min=int(dmin),
                cost_rp=int(round(dcost)), sleep_away=info["end"] != base)
    teams = []
    for k, t in enumerate(inst.teams):
        teams.append(TeamPlan(name=t.name, mode=t.mode, kits=int(t.kits),
                              base=Place(lat=float(t.base[1]), lon=float(t.base[2]), name=str(t.base[0])),
                              days=tuple(team_days[k][d] for d in sorted(team_days[k])),
                              max_nights=int(t.max_nights)))
    dropped = _dropped(M, built, served, busy, route_pts, set(repaired), served_people)
    params = inst.params_dict()
    params["solver"] = {"time_limit": float(time_limit), "seed": int(seed),
                        "solution_limit": solution_limit}
    r = inst.request
    base0 = inst.teams[0].base
    solver_info = {"elapsed_s": round(elapsed, 2), "objective": raw.objective if raw else None,
                   "worker": raw.worker if raw else None,
                   "first_solution_s": raw.history[0][0] if raw and raw.history else None,
                   "improvements": len(raw.history) if raw else 0,
                   "rounds": raw.rounds if raw else 0,
                   "vehicles": len(M.slots), "visit_nodes": built["n_visit_nodes"],
                   "repaired": len(repaired)}
    plan = Plan(plan_id="", dataset=r.dataset or "", params=_freeze_json(params),
                base=Place(lat=float(base0[1]), lon=float(base0[2]), name=str(r.base_name or base0[0])),
                teams=tuple(teams), dropped=tuple(dropped), people=int(tot_people),
                km=round(tot_km, 1), travel_hours=round(tot_min / 60.0, 2),
                cost_rp=int(tot_cost), solver=_freeze_json(solver_info))
    return dataclasses.replace(plan, plan_id=plan.content_id())


def _dropped(M: _Model, built: dict, served: dict, busy: list, route_pts: list,
             repaired: set, served_people: dict) -> list[Dropped]:
    inst = M.inst
    allowed = built["allowed"]
    why = built["why"]
    avail = [sl.n_days * M.work for sl in M.slots]
    idle = [a - b for a, b in zip(avail, busy, strict=True)]
    out = []
    by_site: dict[int, list[int]] = {}
    for vi, v in enumerate(inst.visits):
        by_site.setdefault(v.site, []).append(vi)
    for si, vis in by_site.items():
        site = inst.sites[si]
        missing = [vi for vi in vis if vi not in served]
        short = [vi for vi in vis if vi in served and served_people.get(vi, 0) < inst.visits[vi].expected]
        if not missing and not short:
            continue
        partial = len(missing) < len(vis)
        exp = sum(inst.visits[vi].expected for vi in missing)
        exp += sum(inst.visits[vi].expected - served_people[vi] for vi in short)
        vi = missing[0] if missing else short[0]
        if not missing:
            reason = "capacity"
            detail = (f"Sebagian ({exp} orang) tidak terlayani: waktu kerja hari itu habis "
                      "(kunjungan dipersingkat).")
        elif not allowed[vi]:
            reason = "unreachable"
            if why[vi] == {"mode"}:
                detail = ("Hanya bisa dicapai lewat sungai; tidak ada tim dengan perahu."
                          if site.access == "river" else
                          "Moda tim tidak bisa mencapai lokasi ini.")
            else:
                bp = inst.base_points
                mins = [int(M.minutes[t.mode][bp[k], inst.site_points[si]]) for k, t in enumerate(inst.teams)]
                mins = [m for m in mins if m < INF_THRESHOLD]
                one_way = min(mins) if mins else 0
                detail = (f"Perjalanan sekali jalan ±{one_way / 60:.1f} jam: tidak muat dalam satu hari "
                          f"kerja pergi-pulang, dan tidak ada tim/slot perjalanan yang boleh menginap cukup lama.")
        else:
            best_gap = None
            for v in allowed[vi]:
                sl = M.slots[v]
                team = inst.teams[sl.team]
                mm = M.minutes[team.mode]
                p = inst.site_points[si]
                detour = min(int(mm[q, p]) + int(mm[p, q]) for q in route_pts[v])
                need = inst.visits[vi].service[sl.team] + detour
                gap = idle[v] - need
                if best_gap is None or gap > best_gap[0]:
                    best_gap = (gap, v, need)
            gap, v, need = best_gap
            sl = M.slots[v]
            if vi in repaired:
                reason = "capacity"
                detail = ("Jadwal hari itu tidak muat setelah waktu perjalanan dihitung ulang "
                          "(perjalanan tidak boleh melewati malam).")
            elif gap < 0:
                reason = "capacity"
                detail = (f"Waktu tim habis: sisa waktu terbesar {max(idle[v], 0)} menit "
                          f"({inst.teams[sl.team].name}), kunjungan butuh ±{need} menit "
                          "(layanan + perjalanan).")
            else:
                reason = "not_worth"
                detail = (f"{exp} orang tidak sebanding dengan perjalanan ±{need - inst.visits[vi].service[sl.team]} "
                          "menit dibanding lokasi lain yang dipilih.")
        if partial and missing:
            detail = f"Sebagian ({len(vis) - len(missing)}/{len(vis)} kunjungan) terjadwal. " + detail
        out.append(Dropped(site_code=site.code, name=site.name, kecamatan=site.kecamatan,
                           expected=int(exp), reason=reason, detail=detail, partial=partial))
    return out
