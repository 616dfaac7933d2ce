"""The search: construct, then improve on the exact schedule, in parallel workers.

Each worker (``run_workers``: worker 0 in the calling process, the others forked, one per
core) does:

1. **Construct** a first plan:

   * a re-plan (``PlanRequest.prefer``): the previous version's routes (``construct``);
   * a plain team-day problem (every trip one day; no locks or preferences): the greedy's plan
     at once (reported as the first valid plan), then PyVRP's hybrid genetic search
     (``planner.engine.hgs``, exact for day trips) for ``HGS_SHARE`` of the time left;
   * up to ``ROUTING_MAX_VISITS`` visits: the OR-Tools routing model
     (``planner.engine.routing``) on the trips of the worker's initial cut (worker 0: the
     fewest near-equal trips, 3 + 2; worker 1: longest first, 4 + 1), first solution + guided
     local search for ``ROUTING_SHARE`` of the time;
   * larger instances, or when OR-Tools finds no first solution in its budget: the greedy of
     ``construct.greedy_routes`` (seconds at 2,000 sites).

   The first plan is scheduled exactly (``planner.engine.schedule``); what the relaxed model
   planned and the schedule could not keep is measured (``model_people`` − ``scheduled_people``).
2. **Improve** with the exact-schedule LNS (``planner.engine.lns``): destroy/repair, trip
   re-cuts, simulated annealing; the best solution seen is kept.
3. **Finish**: re-offer every unplanned visit and the people of visits cut short until nothing
   fits.

The better worker's plan wins (ties: the lower worker). With ``solution_limit`` every phase
has a fixed amount of work (OR-Tools solutions, HGS and LNS iterations, the finish until
nothing fits), and the OR-Tools construction runs in a fresh interpreter
(``planner.engine.fresh``: its result otherwise depends on the process's memory state), so
the same seed gives the same plan in any process; the time limit is then only a cap, and a
phase it ends early is named in the plan's ``solver.clock_cut`` (``solver.reproducible`` is
false then).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from . import fresh, hgs
from .construct import greedy_routes, previous_routes
from .lns import LNS, Outcome
from .problem import Problem
from .routing import solve_routing
from .schedule import TripScheduler
from .trips import initial_cut, slots_for, to_units

ROUTING_MAX_VISITS = 600   # above: the greedy first plan (OR-Tools is too slow and too big)
ROUTING_SHARE = 0.45       # share of the search time for the OR-Tools phase
HGS_SHARE = 0.95           # share of the time left for PyVRP's HGS (day-trip instances)
FINISH_SHARE = 0.03        # share kept for the finish
LNS_ITERS_PER_SOLUTION = 8  # solution_limit → LNS iterations (reproducible runs)


@dataclass
class SearchOptions:
    """Components of the search (all on in the product; the ablation runs switch them)."""

    hgs: bool = True           # PyVRP's HGS constructs day-trip instances (``hgs``)
    routing: bool = True       # OR-Tools first solution (else the greedy)
    routing_gls: bool = True   # … then OR-Tools guided local search for ROUTING_SHARE
    lns: bool = True           # exact-schedule LNS
    shapes: bool = True        # trip-shape moves (HOME marks) inside the LNS
    finish: bool = True        # the final re-offer
    cut_policies: tuple = ("equal", "long")   # initial cut per worker (cycled)


@dataclass
class WorkerResult:
    worker: int
    outcome: Outcome
    diag: dict = field(default_factory=dict)


def _routing(P: Problem, slots, worker: int, seed: int, budget: float,
             solution_limit: int | None, t0: float, report, *, fresh_process: bool,
             diag: dict):
    """The OR-Tools construction; with ``fresh_process`` (a solution limit: a reproducible
    plan) in a fresh interpreter (``planner.engine.fresh`` says why), within the phase's own
    budget (the time limit stays a cap: a budget shorter than the interpreter's start-up runs
    the step here, and the plan says it is not reproducible)."""
    if fresh_process:
        try:
            rr, fixed = fresh.call("planner.engine.routing:solve_routing", P, slots,
                                   worker=worker, seed=seed, budget=budget,
                                   solution_limit=solution_limit, t0=t0,
                                   timeout=max(budget, 0.5))
        except fresh.FreshProcessError as exc:
            diag["routing_process"] = f"this process ({exc})"
        else:
            diag["routing_process"] = "fresh" if fixed else "fresh (address randomisation on)"
            if rr.history:
                report(rr.history[-1][1])
            return rr
    return solve_routing(P, slots, worker=worker, seed=seed, budget=budget,
                         solution_limit=solution_limit, t0=t0, on_improve=report)


def run_search(P: Problem, worker: int, *, seed: int, deadline: float, t0: float,
               solution_limit: int | None, progress=None,
               options: SearchOptions | None = None) -> WorkerResult:
    opt = options or SearchOptions()
    rng = random.Random((int(seed) * 1_000_003 + worker * 7919) & 0xFFFFFFFF)
    tp = P.trips
    policy = opt.cut_policies[worker % len(opt.cut_policies)]
    if P.prefer:
        policy = "whole"  # a re-plan: no trip ends but where the nights run out
    cuts = [initial_cut(r, policy) for r in tp.runs]
    slots = slots_for(tp, cuts)
    diag: dict = {"cut": policy}
    best_seen = {"people": 0}

    def report(people: int) -> None:
        if progress is not None and people > best_seen["people"]:
            best_seen["people"] = people
            progress(time.monotonic() - t0, float(people), 0)

    now = time.monotonic()
    span = max(0.05, deadline - now)
    if P.prefer:
        routes = previous_routes(P, slots)
        diag["construct"] = "previous"
    elif opt.hgs and hgs.applicable(P, slots):
        # a valid plan at once (the greedy, scheduled exactly), then HGS for most of the time
        greedy = greedy_routes(P, slots)
        g_units, g_seqs = to_units(tp, slots, greedy)
        sched = TripScheduler(P)
        report(sum(sched.schedule(u, q).people for u, q in zip(g_units, g_seqs, strict=True)))
        diag["first_solution_s"] = round(time.monotonic() - t0, 3)
        budget = max(0.05, deadline - time.monotonic()) * (HGS_SHARE if opt.lns
                                                           else 1.0 - FINISH_SHARE)
        routes, d = hgs.solve_hgs(P, slots, seed=int(seed) * 1000 + worker, budget=budget,
                                  solution_limit=solution_limit)
        diag.update(d, construct="hgs",
                    model_people=sum(P.v_expected[x] for r in routes for x in r))
        if not d["hgs_feasible"]:
            routes = greedy
            diag["construct"] = "greedy (hgs found none)"
    elif opt.routing and P.n_base_visits <= ROUTING_MAX_VISITS:
        gls = opt.routing_gls and not solution_limit
        budget = span * (ROUTING_SHARE if opt.lns else 1.0 - FINISH_SHARE)
        # with a solution limit only the first solution: OR-Tools' local search gave
        # different routes for the same seed in a forked worker (measured, OR-Tools 9.15)
        rr = _routing(P, slots, worker, seed, budget, None if gls else 1, t0, report,
                      fresh_process=bool(solution_limit), diag=diag)
        if not rr.found:
            diag.setdefault("clock_cut", []).append("routing")
        routes = rr.routes
        diag.update(construct="routing", model_people=rr.model_people,
                    routing_solutions=len(rr.history),
                    first_solution_s=rr.history[0][0] if rr.history else None)
        if not rr.found or (rr.model_people == 0 and any(P.v_teams)):
            # no OR-Tools solution in its budget, or only the empty one (a short limit on a
            # loaded machine): the greedy's plan instead
            routes = greedy_routes(P, slots)
            diag["construct"] = "greedy (routing found none)"
    else:
        routes = greedy_routes(P, slots)
        diag["construct"] = "greedy"
    diag["construct_s"] = round(time.monotonic() - t0, 3)
    units, seqs = to_units(tp, slots, routes)
    lns = LNS(P, rng)
    lns.shapes_enabled = opt.shapes
    lns.load(units, seqs)
    first = lns.outcome()
    diag["scheduled_people"] = first.people
    if "first_solution_s" not in diag or diag["first_solution_s"] is None:
        diag["first_solution_s"] = round(time.monotonic() - t0, 3)
    report(first.people)

    def on_best(out: Outcome) -> None:
        report(out.people)

    finish_at = deadline - (span * FINISH_SHARE if opt.finish else 0.0)
    if opt.lns:
        iters = solution_limit * LNS_ITERS_PER_SOLUTION if solution_limit else None
        lns.run(finish_at, max_iters=iters, on_best=on_best)
    else:
        lns.repair(noise=0.0)
    diag["lns_people"] = lns.outcome().people
    out = lns.finish(deadline) if opt.finish else lns.outcome()
    report(out.people)
    if solution_limit:
        # a phase the time limit ended before its work budget, or the OR-Tools construction
        # run in this process: this plan may differ from another run with the same seed and
        # solution limit (reported in the plan)
        diag["clock_cut"] = diag.get("clock_cut", []) + lns.clock_cut
    else:
        diag.pop("clock_cut", None)
    diag["final_people"] = out.people
    diag["stats"] = out.stats
    return WorkerResult(worker, out, diag)
