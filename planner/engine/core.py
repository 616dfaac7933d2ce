"""Core search: one day, a fixed fleet, prizes or mandatory visits (TOPTW / VRPTW).

This is the search machinery the full engine (``planner.engine.solver``) uses, exposed on a
plain integer problem so the benchmarks (``bench/``) measure exactly what the product runs:

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
  LOCAL_CHEAPEST_INSERTION + guided local search. With ``workers=2`` the two run in parallel processes (fork) and the better result is
  kept (ties → worker 0), so both cores are used.
* Seeds: OR-Tools routing has no random seed. The search is deterministic for the same model and
  the same amount of work. ``seed`` (with the worker index) permutes the order in which
  customers are given to the model (``node_order``: seed 1, worker 0 keeps the input order),
  which changes the trajectory reproducibly. A time limit stops the search after a wall-clock
  budget, so results may differ with machine load; pass ``solution_limit`` for bit-identical
  results (the time limit stays a cap).
"""

from __future__ import annotations

import multiprocessing as mp
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
        p = ctx.Process(target=_child, args=(fn, w, send), daemon=True)
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


def _child(fn, w, send):  # pragma: no cover - runs in a forked process
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


def solve_core(problem: CoreProblem, *, time_limit: float = 30, seed: int = 1, workers: int = 2,
               solution_limit: int | None = None,
               progress: Callable[[float, int, int], None] | None = None) -> CoreResult:
    """Solve a one-day TOPTW/VRPTW; see the module docstring. Routes list customer indices of
    the input (depot excluded), one list per vehicle (possibly empty)."""
    t0 = time.monotonic()

    def one(w: int) -> CoreResult:
        return _solve_one(problem, w, time_limit, seed, solution_limit,
                          progress if w == 0 else None, t0)

    results = [r for r in run_workers(one, workers) if isinstance(r, CoreResult)]
    best = max(results, key=lambda r: (r.n_served if problem.mandatory else r.prize,
                                       -r.distance, -r.worker))
    best.elapsed = time.monotonic() - t0
    return best


def _solve_one(pb: CoreProblem, worker: int, time_limit: float, seed: int,
               solution_limit: int | None, progress, t0: float) -> CoreResult:
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
        if pen == 0:
            pen = 0
        routing.AddDisjunction([manager.NodeToIndex(node)], pen)

    history: list[tuple[float, int]] = []

    def on_solution():
        obj = routing.CostVar().Max()
        history.append((time.monotonic() - t0, obj))
        if progress is not None:
            total_prize = sum(int(pb.prize[order[k]]) for k in range(1, n))
            dropped_pen = obj // dist_bound if not pb.mandatory else 0
            progress(time.monotonic() - t0, total_prize - dropped_pen, len(history))

    routing.AddAtSolutionCallback(on_solution)
    params = search_parameters(worker, time_limit - (time.monotonic() - t0), solution_limit,
                               strategies=CORE_MANDATORY_STRATEGIES if pb.mandatory
                               else CORE_STRATEGIES)
    sol = routing.SolveWithParameters(params)
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
                      history=history)
