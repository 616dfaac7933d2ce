"""Core search: one day, a fixed fleet, prizes or mandatory visits (TOPTW / VRPTW).

The OR-Tools model and parameters below are the ones the full engine (``planner.engine.solver``)
uses, exposed on a plain integer problem for the benchmarks (``bench/``). ``solve_core`` adds a
HYBRID portfolio on top of that model (the full multi-day engine does NOT use it yet: it has
breaks/nights that PyVRP's model does not express — so core benchmark figures describe the
core search, not the multi-day plans):

* Phase 1 (``time_limit − polish``; polish = ``POLISH_SHARE`` of the limit, clamped to
  [``POLISH_MIN``, ``POLISH_MAX``] s, i.e. 2.1 s at 30 s): each worker (worker 0 in this
  process, the others forked by ``run_workers``: one per core) runs PyVRP's hybrid genetic
  search (``pyvrp.solve``, ``MaxRuntime``) with seed ``seed + 1000·k`` (k = 0, 1, …). With
  ``ORTOOLS_WORKER = True`` worker 0 runs the OR-Tools GLS described below instead (measured
  weaker: see the constant). PyVRP sees the same integer data: service folded into the duration
  matrix (``duration[a][b] = time[a][b] + service[a]``, exactly the OR-Tools transit), client
  windows = windows on the START of service, vehicle shift ``[tw_open[depot],
  min(tw_close[depot], horizon)]`` (Tmax), capacity as a delivery dimension; TOPTW clients
  ``required=False`` with ``prize × K``, ``K`` > any total distance (``m × Tmax + 1`` when
  distance ≤ duration), so PyVRP optimises the same lexicographic objective; VRPTW clients
  required. An infeasible PyVRP best is discarded.
* Phase 2 (the rest of the limit): the better phase-1 solution (prize / customers served, then
  distance) is loaded into the OR-Tools model with ``ReadAssignmentFromRoutes(routes, True)``
  (OR-Tools checks it against its own dimensions) and GLS continues from it
  (``SolveFromAssignmentWithParameters``); ``progress`` is called after phase 1 and on each
  polish improvement. The answer is the best OR-Tools assignment (the polished one, or an
  OR-Tools phase-1 result); a PyVRP solution OR-Tools would reject is never
  returned. ``CoreResult.source`` says where it came from (``"ortools"``, ``"pyvrp+polish"``,
  ``"ortools+polish"``).
* ``hybrid=False`` (or PyVRP not installed, or ``HYBRID = False``) = the OR-Tools-only portfolio.
* Determinism: PyVRP is seeded, OR-Tools is deterministic for the same work; with
  ``solution_limit`` (OR-Tools) and ``iteration_limit`` (PyVRP; default
  ``PYVRP_ITERS_PER_SOLUTION × solution_limit``) the result is reproducible as long as the time
  limit does not bind first. Total wall time ≈ ``time_limit`` + process/model set-up (< 1 s).

The OR-Tools model (phase 1 worker 0, the polish, and the full engine's search machinery):

* OR-Tools routing model; arc cost = ``dist``; a time dimension with transit
  ``service[i] + time[i][j]`` and windows ``[tw_open, tw_close]`` (arrival/start of service);
  optional capacity dimension.
* Prize collecting (TOPTW, ``mandatory=False``): every customer is a disjunction whose penalty
  is ``prize × PRIZE_SCALE`` where ``PRIZE_SCALE`` exceeds any possible total distance, so the
  objective is lexicographic: most prize first, then least distance.
* VRPTW (``mandatory=True``): customers also sit in disjunctions, with a penalty larger than
  any distance; the search therefore always has a solution (an empty plan is feasible) and
  pushes every customer in; ``feasible`` is True only when every customer is served.
* First solutions and metaheuristics (see ``CORE_STRATEGIES``, ``CORE_MANDATORY_STRATEGIES``;
  the full engine uses ``STRATEGIES``): prize collecting: PATH_CHEAPEST_ARC + guided local
  search, worker 1 the same on another node order; VRPTW: PARALLEL_CHEAPEST_INSERTION /
  LOCAL_CHEAPEST_INSERTION + guided local search. Without the hybrid, ``workers=2`` runs two
  such searches in parallel processes (fork) and keeps the better (ties → worker 0).
* Seeds: OR-Tools routing has no random seed. The search is deterministic for the same model and
  the same amount of work. ``seed`` (with the worker index) permutes the order in which
  customers are given to the model (``node_order``: seed 1, worker 0 keeps the input order),
  which changes the trajectory reproducibly. A time limit stops the search after a wall-clock
  budget, so results may differ with machine load; pass ``solution_limit`` for bit-identical
  results (the time limit stays a cap).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

FSS = routing_enums_pb2.FirstSolutionStrategy
LSM = routing_enums_pb2.LocalSearchMetaheuristic

# (first solution strategy, metaheuristic) per worker index.
# Core (one-day TOPTW / VRPTW, measured on c101/r101/rc101/pr01/r201): PATH_CHEAPEST_ARC gives
# GLS the best start (pr01: 486 vs 390 with the insertion heuristics at 10 s); worker 1 runs the
# same with another node order (seeds vary a lot on these instances: keeping the better of two
# orders is worth more than a second heuristic).
CORE_STRATEGIES: list[tuple[int, int]] = [
    (FSS.PATH_CHEAPEST_ARC, LSM.GUIDED_LOCAL_SEARCH),
    (FSS.PATH_CHEAPEST_ARC, LSM.GUIDED_LOCAL_SEARCH),
    (FSS.PARALLEL_CHEAPEST_INSERTION, LSM.GUIDED_LOCAL_SEARCH),
    (FSS.LOCAL_CHEAPEST_INSERTION, LSM.GUIDED_LOCAL_SEARCH),
]
# Core with every customer mandatory (VRPTW): the insertion heuristics start better (RC101 at
# 10 s: 1798 with PATH_CHEAPEST_ARC vs ~1700 with PARALLEL_CHEAPEST_INSERTION).
CORE_MANDATORY_STRATEGIES: list[tuple[int, int]] = [
    (FSS.PARALLEL_CHEAPEST_INSERTION, LSM.GUIDED_LOCAL_SEARCH),
    (FSS.LOCAL_CHEAPEST_INSERTION, LSM.GUIDED_LOCAL_SEARCH),
    (FSS.PATH_CHEAPEST_ARC, LSM.GUIDED_LOCAL_SEARCH),
    (FSS.SAVINGS, LSM.GUIDED_LOCAL_SEARCH),
]
# Full engine (multi-day, optional visits, breaks): PATH_CHEAPEST_ARC finds empty plans there;
# the insertion heuristics build a full first plan in < 1 s on Kotim.
STRATEGIES: list[tuple[int, int]] = [
    (FSS.PARALLEL_CHEAPEST_INSERTION, LSM.GUIDED_LOCAL_SEARCH),
    (FSS.LOCAL_CHEAPEST_INSERTION, LSM.GUIDED_LOCAL_SEARCH),
    (FSS.SAVINGS, LSM.GUIDED_LOCAL_SEARCH),
    (FSS.PATH_CHEAPEST_ARC, LSM.GUIDED_LOCAL_SEARCH),
]


def node_order(n_items: int, seed: int, worker: int) -> list[int]:
    """The order nodes are given to the model: identity for seed 1 / worker 0, else a seeded
    permutation (OR-Tools routing has no random seed: the order is what changes the search)."""
    order = list(range(n_items))
    key = (int(seed) - 1) * 16 + int(worker)
    if key:
        random.Random(key).shuffle(order)
    return order


def search_parameters(worker: int, time_limit: float, solution_limit: int | None = None,
                      log: bool = False, strategies: list | None = None
                      ) -> pywrapcp.DefaultRoutingSearchParameters:
    """The routing search parameters used by every engine solve (core and full)."""
    strategies = strategies or STRATEGIES
    fss, lsm = strategies[worker % len(strategies)]
    p = pywrapcp.DefaultRoutingSearchParameters()
    p.first_solution_strategy = fss
    p.local_search_metaheuristic = lsm
    secs = max(float(time_limit), 0.05)
    p.time_limit.seconds = int(secs)
    p.time_limit.nanos = int((secs - int(secs)) * 1e9)
    if solution_limit:
        p.solution_limit = int(solution_limit)
    p.log_search = log
    return p


def run_workers(fn: Callable[[int], object], workers: int) -> list[object]:
    """Run ``fn(worker_index)`` for each worker; in parallel processes when workers > 1.

    ``fn`` and its result must be picklable-free: with the fork start method the function is
    inherited, only the result is pickled back.
    """
    workers = max(1, int(workers))
    if workers == 1:
        return [fn(0)]
    ctx = mp.get_context("fork")
    results: list[object] = [None] * workers
    conns = []
    procs = []
    for w in range(1, workers):
        recv, send = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_child, args=(fn, w, send, os.getpid()), daemon=True)
        p.start()
        send.close()
        conns.append((w, recv))
        procs.append(p)
    results[0] = fn(0)  # the parent does worker 0 (progress callbacks stay in this process)
    for w, recv in conns:
        try:
            ok, value = recv.recv()
            results[w] = value if ok else None
        except EOFError:
            results[w] = None
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.kill()
    return results


def die_with_parent(parent_pid: int) -> None:
    """Linux: this process gets SIGKILL when its parent dies (no orphan solver outlives the
    server process that runs the job, even after ``kill -9``)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the daemon flag still ends it on a normal exit
        return
    if os.getppid() != parent_pid:  # the parent died before the prctl took effect
        os._exit(1)


def _child(fn, w, send, parent_pid):  # pragma: no cover - runs in a forked process
    die_with_parent(parent_pid)
    try:
        send.send((True, fn(w)))
    except BaseException as exc:  # noqa: BLE001
        send.send((False, repr(exc)))
    finally:
        send.close()


@dataclass
class CoreProblem:
    dist: Sequence[Sequence[int]]
    time: Sequence[Sequence[int]]
    service: Sequence[int]
    prize: Sequence[int]
    tw_open: Sequence[int]
    tw_close: Sequence[int]
    n_vehicles: int
    depot: int = 0
    horizon: int | None = None
    mandatory: bool = False
    capacity: int | None = None
    demand: Sequence[int] | None = None


@dataclass
class CoreResult:
    routes: list[list[int]]
    prize: int
    distance: int
    feasible: bool
    elapsed: float
    n_served: int = 0
    worker: int = 0
    history: list[tuple[float, int]] = field(default_factory=list)  # (elapsed, objective)
    source: str = "ortools"  # "ortools" | "pyvrp" | "<source>+polish" (the final polish)


# --------------------------------------------------------------------------------------------
# Hybrid core: PyVRP (HGS) + OR-Tools GLS in parallel, then an OR-Tools polish
# --------------------------------------------------------------------------------------------
HYBRID = True  # use PyVRP in the portfolio when it is installed (``hybrid=`` overrides)
POLISH_SHARE = 0.07  # share of the time limit kept for the final OR-Tools polish ...
POLISH_MIN = 0.3  # ... at least this many seconds ...
POLISH_MAX = 3.0  # ... and at most this many
PYVRP_ITERS_PER_SOLUTION = 20  # solution_limit → PyVRP iteration limit (reproducible runs)


def pyvrp_available() -> bool:
    try:
        import pyvrp  # noqa: F401
    except Exception:  # noqa: BLE001 - optional dependency
        return False
    return True


# Hybrid with ≥ 2 workers: True = worker 0 runs OR-Tools GLS and the others PyVRP; False = every
# worker runs PyVRP (distinct seeds). Measured (30 s and 10 s, checker-evaluated, first
# session; bench/RESULTS.md): the OR-Tools GLS result was never the better phase-1 start on
# c101/r101/rc101/pr01/r201/R101/RC101, and a second PyVRP seed was ≥ it on every case tried
# (r101(4) 602 vs 598 at 30 s; r105(3) 618 vs 615 at 10 s), so both cores run PyVRP.
ORTOOLS_WORKER = False


def worker_roles(workers: int, hybrid: bool) -> list[str]:
    """What each worker process runs in phase 1: ``"ortools"`` (GLS) or ``"pyvrp"`` (HGS).

    Hybrid: every worker runs PyVRP with its own seed (then the polish), unless
    ``ORTOOLS_WORKER``: then worker 0 (the parent, which reports progress) runs OR-Tools GLS."""
    workers = max(1, int(workers))
    if not hybrid:
        return ["ortools"] * workers
    if workers == 1 or not ORTOOLS_WORKER:
        return ["pyvrp"] * workers
    return ["ortools"] + ["pyvrp"] * (workers - 1)


def polish_budget(time_limit: float) -> float:
    return min(POLISH_MAX, max(POLISH_MIN, POLISH_SHARE * float(time_limit)))


def _key(pb: CoreProblem, r: CoreResult) -> tuple:
    """Lexicographic objective (larger is better): prize (TOPTW) or customers served (VRPTW),
    then least distance; ties → lower worker index (deterministic)."""
    return (r.n_served if pb.mandatory else r.prize, -r.distance, -r.worker)


def solve_core(problem: CoreProblem, *, time_limit: float = 30, seed: int = 1, workers: int = 2,
               solution_limit: int | None = None,
               progress: Callable[[float, int, int], None] | None = None,
               hybrid: bool | None = None, iteration_limit: int | None = None) -> CoreResult:
    """Solve a one-day TOPTW/VRPTW; see the module docstring. Routes list customer indices of
    the input (depot excluded), one list per vehicle (possibly empty).

    ``hybrid`` (default ``HYBRID``): PyVRP + OR-Tools portfolio then an OR-Tools polish; False
    = OR-Tools only. ``iteration_limit`` caps PyVRP's iterations (default
    ``PYVRP_ITERS_PER_SOLUTION × solution_limit`` when a solution limit is given)."""
    t0 = time.monotonic()
    n = len(problem.service)
    use_pyvrp = bool(HYBRID if hybrid is None else hybrid) and n > 1 \
        and problem.n_vehicles > 0 and pyvrp_available()
    roles = worker_roles(workers, use_pyvrp)
    phase1 = max(float(time_limit) - (polish_budget(time_limit) if use_pyvrp else 0.0), 0.05)
    if iteration_limit is None and solution_limit:
        iteration_limit = int(solution_limit) * PYVRP_ITERS_PER_SOLUTION

    def one(w: int) -> CoreResult | None:
        if roles[w] == "pyvrp":
            rank = sum(1 for k in range(w) if roles[k] == "pyvrp")
            try:
                return _solve_pyvrp(problem, w, t0 + phase1, int(seed) + 1000 * rank,
                                    iteration_limit, t0)
            except Exception:  # noqa: BLE001 - PyVRP refused the data: OR-Tools decides
                return None
        return _solve_one(problem, w, phase1, seed, solution_limit,
                          progress if w == 0 else None, t0)

    results = [r for r in run_workers(one, len(roles)) if isinstance(r, CoreResult)]
    if not use_pyvrp:
        best = max(results, key=lambda r: _key(problem, r))
        best.elapsed = time.monotonic() - t0
        return best

    ortools_results = [r for r in results if r.source == "ortools"]
    seed_result = max(results, key=lambda r: _key(problem, r)) if results else None
    if progress is not None and seed_result is not None:
        progress(time.monotonic() - t0,
                 seed_result.n_served if problem.mandatory else seed_result.prize, 0)
    final: list[CoreResult] = list(ortools_results)
    for start in sorted(results, key=lambda r: _key(problem, r), reverse=True):
        remaining = max(float(time_limit) - (time.monotonic() - t0), 0.1)
        polished = _polish(problem, start, remaining, seed, solution_limit, progress, t0)
        if polished is not None:  # else OR-Tools rejected these routes: try the next start
            final.append(polished)
            break
    if not final:  # no OR-Tools result and every start rejected: plain OR-Tools search
        remaining = max(float(time_limit) - (time.monotonic() - t0), 0.1)
        final.append(_solve_one(problem, 0, (time.monotonic() - t0) + remaining, seed,
                                solution_limit, progress, t0))
    best = max(final, key=lambda r: _key(problem, r))
    best.elapsed = time.monotonic() - t0
    return best


@dataclass
class _Model:
    routing: object
    manager: object
    order: list[int]  # model node -> input index
    dist: list[list[int]]
    dist_bound: int


def _build_model(pb: CoreProblem, worker: int, seed: int) -> _Model:
    n = len(pb.service)
    depot = pb.depot
    customers = [i for i in range(n) if i != depot]
    customers = [customers[k] for k in node_order(len(customers), seed, worker)]
    order = [depot] + customers  # model node -> input index
    dist = [[int(pb.dist[a][b]) for b in order] for a in order]
    tt = [[int(pb.time[a][b]) + int(pb.service[a]) for b in order] for a in order]
    horizon = int(pb.horizon if pb.horizon is not None else max(pb.tw_close))

    manager = pywrapcp.RoutingIndexManager(n, pb.n_vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    try:
        dist_cb = routing.RegisterTransitMatrix(dist)
        time_cb = routing.RegisterTransitMatrix(tt)
    except Exception:  # noqa: BLE001 - older OR-Tools: plain callbacks
        def _d(i, j):
            return dist[manager.IndexToNode(i)][manager.IndexToNode(j)]

        def _t(i, j):
            return tt[manager.IndexToNode(i)][manager.IndexToNode(j)]
        dist_cb = routing.RegisterTransitCallback(_d)
        time_cb = routing.RegisterTransitCallback(_t)
    routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
    routing.AddDimension(time_cb, horizon, horizon, False, "Time")
    tdim = routing.GetDimensionOrDie("Time")
    for node in range(1, n):
        src = order[node]
        idx = manager.NodeToIndex(node)
        tdim.CumulVar(idx).SetRange(int(pb.tw_open[src]), int(pb.tw_close[src]))
    for v in range(pb.n_vehicles):
        tdim.CumulVar(routing.Start(v)).SetRange(int(pb.tw_open[depot]), int(pb.tw_close[depot]))
        tdim.CumulVar(routing.End(v)).SetRange(int(pb.tw_open[depot]), int(pb.tw_close[depot]))
        routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(routing.End(v)))
    if pb.capacity is not None and pb.demand is not None:
        dem = [int(pb.demand[a]) for a in order]
        dem_cb = routing.RegisterUnaryTransitVector(dem)
        routing.AddDimensionWithVehicleCapacity(dem_cb, 0, [int(pb.capacity)] * pb.n_vehicles,
                                                True, "Load")
    max_arc = max((max(r) for r in dist), default=0)
    dist_bound = max_arc * (n + pb.n_vehicles) + 1  # > any total distance
    for node in range(1, n):
        src = order[node]
        pen = dist_bound * (1000 if pb.mandatory else max(int(pb.prize[src]), 0))
        routing.AddDisjunction([manager.NodeToIndex(node)], pen)
    return _Model(routing, manager, order, dist, dist_bound)


def _extract(pb: CoreProblem, m: _Model, sol, worker: int, t0: float, history,
             source: str) -> CoreResult:
    n = len(pb.service)
    routing, manager, order, dist = m.routing, m.manager, m.order, m.dist
    routes: list[list[int]] = []
    prize = distance = served = 0
    if sol is not None:
        for v in range(pb.n_vehicles):
            idx = routing.Start(v)
            route = []
            prev = None
            while not routing.IsEnd(idx):
                node = manager.IndexToNode(idx)
                if prev is not None:
                    distance += dist[prev][node]
                if node != 0:
                    route.append(order[node])
                    prize += int(pb.prize[order[node]])
                prev = node
                idx = sol.Value(routing.NextVar(idx))
            if prev is not None:
                distance += dist[prev][0]
            routes.append(route)
            served += len(route)
    else:  # never expected (all customers optional) but keep the contract
        routes = [[] for _ in range(pb.n_vehicles)]
    feasible = served == n - 1 if pb.mandatory else True
    return CoreResult(routes=routes, prize=prize, distance=distance, feasible=feasible,
                      elapsed=time.monotonic() - t0, n_served=served, worker=worker,
                      history=history, source=source)


def _callback(pb: CoreProblem, m: _Model, history: list, progress, t0: float):
    n = len(pb.service)
    total_prize = sum(int(pb.prize[m.order[k]]) for k in range(1, n))

    def on_solution():
        obj = m.routing.CostVar().Max()
        history.append((time.monotonic() - t0, obj))
        if progress is not None:
            dropped_pen = obj // m.dist_bound if not pb.mandatory else 0
            progress(time.monotonic() - t0, total_prize - dropped_pen, len(history))

    return on_solution


def _solve_one(pb: CoreProblem, worker: int, time_limit: float, seed: int,
               solution_limit: int | None, progress, t0: float) -> CoreResult:
    """OR-Tools GLS from a first-solution heuristic until ``t0 + time_limit``."""
    m = _build_model(pb, worker, seed)
    history: list[tuple[float, int]] = []
    m.routing.AddAtSolutionCallback(_callback(pb, m, history, progress, t0))
    params = search_parameters(worker, time_limit - (time.monotonic() - t0), solution_limit,
                               strategies=CORE_MANDATORY_STRATEGIES if pb.mandatory
                               else CORE_STRATEGIES)
    sol = m.routing.SolveWithParameters(params)
    return _extract(pb, m, sol, worker, t0, history, "ortools")


def _polish(pb: CoreProblem, start: CoreResult, time_limit: float, seed: int,
            solution_limit: int | None, progress, t0: float) -> CoreResult | None:
    """Load ``start.routes`` into the OR-Tools model (``ReadAssignmentFromRoutes``: OR-Tools
    checks them against its own dimensions) and run GLS from there for ``time_limit`` s.
    None when OR-Tools rejects the routes."""
    t_start = time.monotonic()
    m = _build_model(pb, 0, seed)
    routing, manager = m.routing, m.manager
    history: list[tuple[float, int]] = []
    routing.AddAtSolutionCallback(_callback(pb, m, history, progress, t0))
    budget = max(time_limit - (time.monotonic() - t_start), 0.05)
    params = search_parameters(0, budget, solution_limit,
                               strategies=CORE_MANDATORY_STRATEGIES if pb.mandatory
                               else CORE_STRATEGIES)
    routing.CloseModelWithParameters(params)
    node_of = {src: node for node, src in enumerate(m.order)}
    routes = [list(r) for r in start.routes if r]
    if len(routes) > pb.n_vehicles:
        return None
    routes += [[] for _ in range(pb.n_vehicles - len(routes))]
    try:
        assignment = routing.ReadAssignmentFromRoutes(
            [[manager.NodeToIndex(node_of[int(c)]) for c in r] for r in routes], True)
    except Exception:  # noqa: BLE001 - malformed routes: treat as rejected
        assignment = None
    if assignment is None:
        return None
    sol = routing.SolveFromAssignmentWithParameters(assignment, params)
    if sol is None:  # no time left for the search: the start itself is a checked solution
        sol = assignment
    return _extract(pb, m, sol, start.worker, t0, history, f"{start.source}+polish")


def _solve_pyvrp(pb: CoreProblem, worker: int, deadline: float, seed: int,
                 iteration_limit: int | None, t0: float) -> CoreResult | None:
    """PyVRP's hybrid genetic search on the same integer data until ``deadline``.

    Service times are folded into the duration matrix (``duration[a][b] = time[a][b] +
    service[a]``: exactly the OR-Tools transit); windows bound the start of service in both.
    TOPTW: optional clients with prize × K, K > any total distance (lexicographic). VRPTW:
    required clients. Returns None when PyVRP has no feasible solution."""
    import numpy as np
    import pyvrp
    from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

    n = len(pb.service)
    depot = pb.depot
    customers = [i for i in range(n) if i != depot]
    order = [depot] + customers  # PyVRP location -> input index
    ix = np.ix_(order, order)
    dist = np.ascontiguousarray(np.asarray(pb.dist, dtype=np.int64)[ix])
    dur = np.asarray(pb.time, dtype=np.int64)[ix] \
        + np.asarray(pb.service, dtype=np.int64)[order][:, None]
    np.fill_diagonal(dur, 0)
    dur = np.ascontiguousarray(dur)
    horizon = int(pb.horizon if pb.horizon is not None else max(pb.tw_close))
    early = int(pb.tw_open[depot])
    late = min(int(pb.tw_close[depot]), horizon)
    m = int(pb.n_vehicles)
    if np.all(dist <= dur):  # distance ≤ duration: a route's distance ≤ late - early
        k = m * max(late - early, 0) + 1
    else:
        k = int(dist.max(initial=0)) * (n + m) + 1
    has_load = pb.capacity is not None and pb.demand is not None
    clients = []
    for c in customers:
        kw = dict(service_duration=0, tw_early=int(pb.tw_open[c]),
                  tw_late=min(int(pb.tw_close[c]), horizon))
        if has_load:
            kw["delivery"] = [int(pb.demand[c])]
        if not pb.mandatory:
            kw.update(prize=max(int(pb.prize[c]), 0) * k, required=False)
        clients.append(pyvrp.Client(location=len(clients) + 1, **kw))
    vt = dict(num_available=m, tw_early=early, tw_late=late)
    if has_load:
        vt["capacity"] = [int(pb.capacity)]
    data = pyvrp.ProblemData([pyvrp.Location(x=0.0, y=0.0) for _ in order], clients,
                             [pyvrp.Depot(location=0, tw_early=early, tw_late=late)],
                             [pyvrp.VehicleType(**vt)], [dist], [dur])
    runtime = max(deadline - time.monotonic(), 0.01)
    stop = MaxRuntime(runtime)
    if iteration_limit:
        stop = MultipleCriteria([MaxIterations(int(iteration_limit)), stop])
    res = pyvrp.solve(data, stop=stop, seed=int(seed), collect_stats=False, display=False)
    best = res.best
    if not best.is_feasible():
        return None
    # client activity idx = position among the clients (0-based) → input index
    routes = [[customers[int(a.idx)] for a in r if a.is_client()] for r in best.routes()]
    routes += [[] for _ in range(m - len(routes))]
    prize = sum(int(pb.prize[c]) for r in routes for c in r)
    distance = 0
    for r in routes:
        if r:
            path = [depot] + r + [depot]
            distance += sum(int(pb.dist[a][b]) for a, b in zip(path, path[1:], strict=False))
    served = sum(len(r) for r in routes)
    return CoreResult(routes=routes, prize=prize, distance=distance,
                      feasible=served == n - 1 if pb.mandatory else True,
                      elapsed=time.monotonic() - t0, n_served=served, worker=worker,
                      history=[], source="pyvrp")
