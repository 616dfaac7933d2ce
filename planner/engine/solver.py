"""``solve``: an :class:`~planner.engine.model.Instance` → an immutable, valid
:class:`~planner.engine.plan.Plan`.

The engine in modules (each module's docstring is the detailed description):

* ``problem``: the search's arrays (clock, visits, teams, travel, locks, preferences);
* ``trips``: trip shapes — how a team's working days are grouped into trips (chosen by the
  search within the nights limit, weekends and holidays; kept trips and a trip in progress
  honoured);
* ``schedule``: :class:`TripScheduler`, the schedule of a trip on real days (the only place
  where times are decided: a plan is valid by construction);
* ``routing``: the OR-Tools model (a relaxation used to construct; nights as breaks);
* ``hgs``: PyVRP's hybrid genetic search, the constructor of day-trip instances (exact there);
* ``construct``: the greedy first plan for large instances and a re-plan's previous routes;
* ``lns``: the exact-schedule large-neighbourhood search, trip re-cuts and the finish;
* ``search``: one worker's construct → improve → finish;
* ``dropped``: why a village is left out; ``writer``: the Plan.

``solve`` runs ``workers`` searches in parallel processes (different first-solution strategies,
initial trip cuts and random seeds), keeps the best, writes the plan and checks it with the
independent validator (``validate.validate_plan``) before returning it. Diagnostics (timings,
what the relaxed model planned vs what the exact schedule kept, LNS statistics, the check) go
to the plan's ``solver`` object; everything else in the plan depends only on the instance, the
seed and, with ``solution_limit``, not on the machine's speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .core import run_workers
from .errors import LockError
from .model import Instance
from .plan import Plan
from .problem import Problem
from .schedule import TripScheduler
from .search import SearchOptions, WorkerResult, run_search
from .trips import VehicleSlot, initial_cut, slots_for, trip_slots
from .writer import write_plan

__all__ = ["solve", "LockError", "trip_slots", "VehicleSlot"]

CHECK_MAX_POINTS = 6000   # the independent check runs on instances up to this many points


def _reserve(time_limit: float, n_visits: int) -> float:
    """Seconds kept after the search for writing and checking the plan."""
    return min(0.15 * float(time_limit), 0.1 + 0.0015 * n_visits)


def _check_locks(P: Problem) -> None:
    inst = P.inst
    slots = trip_slots(inst)
    names = {t.name: k for k, t in enumerate(inst.teams)}
    for lk in inst.locks:
        off = inst.day_offset(lk.date)
        tk = names.get(lk.team) if lk.team else None
        if not any((tk is None or sl.team == tk) and off in sl.offsets for sl in slots):
            raise LockError(f"Kunci {lk.site_code}: {lk.team or 'tidak ada tim yang'} tidak "
                            f"bekerja pada {lk.date.isoformat()} (bukan hari kerja tim).")


def solve(instance: Instance, *, time_limit: float = 30, seed: int = 1,
          progress: Callable[[float, float, int], None] | None = None, workers: int = 2,
          solution_limit: int | None = None, options: SearchOptions | None = None) -> Plan:
    """Solve the instance (see the module docstring). Returns an immutable ``Plan``.

    ``progress(elapsed_s, people_planned, n)`` is called in the calling process (worker 0)
    whenever its best plan records more people. The plan comes back at about ``time_limit``
    (the search stops early enough to write and check the plan). ``solution_limit`` fixes the
    amount of search work for reproducible plans (the time limit is then a cap).
    """
    t0 = time.monotonic()
    P = Problem(instance)
    _check_locks(P)
    deadline = t0 + float(time_limit) - _reserve(time_limit, P.n_visits)
    n_improve = {"n": 0}

    def report(elapsed, people, _n):
        n_improve["n"] += 1
        if progress is not None:
            progress(elapsed, people, n_improve["n"])

    results: list[WorkerResult] = []
    has_work = any(P.v_teams[x] for x in range(P.n_visits))
    if has_work:
        def one(w: int) -> WorkerResult:
            return run_search(P, w, seed=seed, deadline=deadline, t0=t0,
                              solution_limit=solution_limit,
                              progress=report if w == 0 else None, options=options)

        results = [r for r in run_workers(one, workers) if isinstance(r, WorkerResult)]
    results.sort(key=lambda r: (-r.outcome.score, r.worker))
    S = TripScheduler(P)
    if not results:
        tp = P.trips
        slots = slots_for(tp, [initial_cut(r) for r in tp.runs])
        trips = [S.schedule(sl, []) for sl in slots]
        return _plan(P, trips, None, [], seed, time_limit, solution_limit, t0)
    first_error: list[str] = []
    for r in results:
        P.reset_visits()
        for x, people in r.outcome.remainders:
            P.add_remainder(x, people)
        trips = [S.schedule(sl, seq) for sl, seq in zip(r.outcome.slots, r.outcome.seqs,
                                                         strict=True)]
        planned = {x for ts in trips for x in ts.visits}
        missing = [x for x in P.lock_day if x not in planned]
        if missing or any(ts.infeasible for ts in trips):
            continue
        plan = _plan(P, trips, r, results, seed, time_limit, solution_limit, t0)
        errors = _check(plan, instance)
        if not errors:
            return plan
        first_error = first_error or errors
    if not any(not _lock_missing(P, r) for r in results):
        raise LockError("Stop yang dikunci tidak bisa dipenuhi bersama-sama (jam kerja, jarak, "
                        "atau kapasitas). Periksa kunci: " + ", ".join(
                            f"{lk.site_code} {lk.date.isoformat()} {lk.team}"
                            for lk in instance.locks))
    # every candidate failed the check (an engine bug): return the best with its problems;
    # the pipeline refuses to store or write it
    r = results[0]
    P.reset_visits()
    for x, people in r.outcome.remainders:
        P.add_remainder(x, people)
    trips = [S.schedule(sl, seq) for sl, seq in zip(r.outcome.slots, r.outcome.seqs, strict=True)]
    return _plan(P, trips, r, results, seed, time_limit, solution_limit, t0,
                 check_errors=first_error)


def _lock_missing(P: Problem, r: WorkerResult) -> bool:
    planned = {x for seq in r.outcome.seqs for x in seq}
    return any(x not in planned for x in P.lock_day)


def _check(plan: Plan, instance: Instance) -> list[str]:
    if len(instance.points) > CHECK_MAX_POINTS:
        return []
    from .validate import validate_plan

    return validate_plan(plan.to_dict(), instance.check_view())


def _plan(P: Problem, trips, best: WorkerResult | None, results: list, seed, time_limit,
          solution_limit, t0, check_errors: list | None = None) -> Plan:
    info: dict = {"elapsed_s": round(time.monotonic() - t0, 2),
                  "trips": len(trips), "visits": P.n_base_visits,
                  "worker": best.worker if best else None,
                  "objective": best.outcome.score if best else None}
    if best is not None:
        d = best.diag
        info.update(first_solution_s=d.get("first_solution_s"), construct=d.get("construct"),
                    initial_cut=d.get("cut"), model_people=d.get("model_people"),
                    scheduled_people=d.get("scheduled_people"),
                    lns_people=d.get("lns_people"), final_people=d.get("final_people"),
                    lns=d.get("stats"))
        if d.get("model_people") is not None:
            info["relaxation_lost_people"] = d["model_people"] - d["scheduled_people"]
        info["workers"] = [{"worker": r.worker, "people": r.outcome.people,
                            "objective": r.outcome.score, "construct": r.diag.get("construct"),
                            "cut": r.diag.get("cut")} for r in results]
    if solution_limit:
        cut = sorted({c for r in results for c in r.diag.get("clock_cut", [])})
        where = sorted({r.diag["routing_process"] for r in results
                        if "routing_process" in r.diag})
        # every phase did its whole work, and OR-Tools (if used) ran in a fixed fresh process
        info["reproducible"] = not cut and set(where) <= {"fresh"}
        if cut:
            info["clock_cut"] = cut
        if where:
            info["routing_process"] = ", ".join(where)
    info["cut_short_visits"] = sum(len(ts.short) for ts in trips)
    info["check"] = "ok" if not check_errors else f"{len(check_errors)} problems"
    if check_errors:
        info["check_errors"] = list(check_errors[:5])
    return write_plan(P, trips, seed=seed, time_limit=time_limit,
                      solution_limit=solution_limit, solver_info=info)
