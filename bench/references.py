"""Reference solvers on a :class:`BenchInstance`: the engine core, PyVRP, VROOM, plain OR-Tools.

Every runner returns a :class:`Run` with the ROUTES (customer node indices, depot excluded) and
the wall-clock time; the score/distance in the table come from :func:`bench.checker.evaluate`,
never from the solver.

Mappings (all on the same integer matrix, travel time = distance):

* TOPTW objective = maximise total prize. Solvers that minimise a cost get a lexicographic
  cost: each unvisited customer costs ``prize × PRIZE_SCALE`` with ``PRIZE_SCALE = m × Tmax + 1``
  — larger than any total distance of m routes that each last at most Tmax — so one prize
  point always outweighs all the distance (PyVRP: ``Client(prize=…, required=False)``;
  plain OR-Tools: ``AddDisjunction(penalty=…)``).
* VROOM has no prizes: a job's ``priority`` (integer 0–100) is maximised first (sum of the
  priorities of assigned jobs), then cost. Priority = prize when every prize ≤ 100 (true for all
  TOPTW files here: c/r/rc and pr prizes are ≤ 100), otherwise round(100 × prize / max prize)
  (lossy; flagged in the run's note). So VROOM optimises the same lexicographic objective.
* VRPTW (Solomon): all customers required, up to 25 vehicles, capacity, minimise distance.
  Plain OR-Tools gets no disjunctions there (so "no solution" is a possible outcome, as the
  issue reports), VROOM/PyVRP their natural VRPTW models.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from bench.readers import BenchInstance


@dataclass
class Run:
    solver: str
    routes: list[list[int]] | None  # None = no solution returned
    elapsed: float
    note: str = ""
    extra: dict = field(default_factory=dict)


def prize_scale(inst: BenchInstance) -> int:
    return inst.n_vehicles * inst.horizon + 1


# --------------------------------------------------------------------------------------------
# Engine core (planner.engine.core.solve_core)
# --------------------------------------------------------------------------------------------
def engine_available() -> bool:
    try:
        from planner.engine.core import solve_core  # noqa: F401
    except Exception:  # noqa: BLE001
        return False
    engine_fingerprint()
    return True


_FINGERPRINT: list[str] = []


def engine_fingerprint() -> str:
    """First 8 hex digits of the md5 of core.py, taken once, when this process first imports
    it (later edits of the file on disk do not change the code already imported)."""
    if not _FINGERPRINT:
        import hashlib

        try:
            import planner.engine.core as core

            with open(core.__file__, "rb") as fh:
                _FINGERPRINT.append(hashlib.md5(fh.read()).hexdigest()[:8])
        except Exception:  # noqa: BLE001
            return "-"
    return _FINGERPRINT[0]


def run_engine(inst: BenchInstance, time_limit: float, seed: int = 1, workers: int = 2) -> Run:
    from planner.engine.core import solve_core

    t0 = time.perf_counter()
    res = solve_core(inst.to_core(), time_limit=time_limit, seed=seed, workers=workers)
    elapsed = time.perf_counter() - t0
    first = res.history[0][0] if getattr(res, "history", None) else None
    return Run("engine", [list(r) for r in res.routes], elapsed,
               note=f"workers={workers} core={engine_fingerprint()}",
               extra={"claimed_prize": res.prize, "claimed_distance": res.distance,
                      "claimed_feasible": res.feasible, "first_solution_s": first})


# --------------------------------------------------------------------------------------------
# Plain OR-Tools: default PATH_CHEAPEST_ARC + GUIDED_LOCAL_SEARCH, one process
# --------------------------------------------------------------------------------------------
def run_plain_ortools(inst: BenchInstance, time_limit: float,
                      initial_routes: list[list[int]] | None = None,
                      name: str = "ortools") -> Run:
    """Plain OR-Tools; with ``initial_routes`` the GLS starts from them (diagnostic only)."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    t0 = time.perf_counter()
    n = inst.n
    dist = inst.dist
    manager = pywrapcp.RoutingIndexManager(n, inst.n_vehicles, inst.depot)
    routing = pywrapcp.RoutingModel(manager)

    def d_cb(i, j):
        return int(dist[manager.IndexToNode(i), manager.IndexToNode(j)])

    def t_cb(i, j):
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return int(inst.service[a]) + int(dist[a, b])

    dcb = routing.RegisterTransitCallback(d_cb)
    tcb = routing.RegisterTransitCallback(t_cb)
    routing.SetArcCostEvaluatorOfAllVehicles(dcb)
    H = inst.horizon
    routing.AddDimension(tcb, H, H, False, "Time")
    td = routing.GetDimensionOrDie("Time")
    for c in range(n):
        if c == inst.depot:
            continue
        td.CumulVar(manager.NodeToIndex(c)).SetRange(int(inst.tw_open[c]), int(inst.tw_close[c]))
    for v in range(inst.n_vehicles):
        td.CumulVar(routing.Start(v)).SetRange(int(inst.tw_open[inst.depot]), H)
        td.CumulVar(routing.End(v)).SetRange(int(inst.tw_open[inst.depot]), H)
    if inst.capacity is not None and inst.demand is not None:
        dem = [int(v) for v in inst.demand]
        ccb = routing.RegisterUnaryTransitCallback(lambda i: dem[manager.IndexToNode(i)])
        routing.AddDimensionWithVehicleCapacity(ccb, 0, [inst.capacity] * inst.n_vehicles, True,
                                                "Load")
    if not inst.mandatory:
        k = prize_scale(inst)
        for c in range(n):
            if c != inst.depot:
                routing.AddDisjunction([manager.NodeToIndex(c)], int(inst.prize[c]) * k)
    p = pywrapcp.DefaultRoutingSearchParameters()
    p.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    p.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    p.time_limit.FromMilliseconds(int(time_limit * 1000))
    if initial_routes is not None:
        routing.CloseModelWithParameters(p)
        start = routing.ReadAssignmentFromRoutes(
            [[manager.NodeToIndex(c) for c in r] for r in initial_routes], True)
        sol = routing.SolveFromAssignmentWithParameters(start, p) if start else None
    else:
        sol = routing.SolveWithParameters(p)
    elapsed = time.perf_counter() - t0
    if sol is None:
        return Run(name, None, elapsed, note="no solution")
    routes = []
    for v in range(inst.n_vehicles):
        idx = sol.Value(routing.NextVar(routing.Start(v)))
        r = []
        while not routing.IsEnd(idx):
            r.append(manager.IndexToNode(idx))
            idx = sol.Value(routing.NextVar(idx))
        routes.append(r)
    return Run(name, routes, elapsed)


def run_vroom_seeded_ortools(inst: BenchInstance, time_limit: float) -> Run:
    """DIAGNOSTIC (not a product solver): VROOM's routes as the start of plain OR-Tools GLS for
    the rest of the time limit — measures how much a better construction would give the
    OR-Tools search that the engine uses."""
    t0 = time.perf_counter()
    v = run_vroom(inst)
    rest = max(0.5, time_limit - (time.perf_counter() - t0))
    r = run_plain_ortools(inst, rest, initial_routes=[x for x in v.routes if x],
                          name="vroom+ortools")
    r.elapsed = time.perf_counter() - t0
    r.note = f"vroom {v.elapsed:.2f}s then GLS"
    return r


# --------------------------------------------------------------------------------------------
# PyVRP
# --------------------------------------------------------------------------------------------
def pyvrp_data(inst: BenchInstance):
    import pyvrp

    n = inst.n
    if inst.depot != 0:
        raise ValueError("PyVRP mapping assumes the depot is node 0")
    locations = [pyvrp.Location(x=float(inst.x[i]), y=float(inst.y[i])) for i in range(n)]
    k = prize_scale(inst)
    clients = []
    for c in range(1, n):
        kw = dict(service_duration=int(inst.service[c]), tw_early=int(inst.tw_open[c]),
                  tw_late=int(inst.tw_close[c]))
        if inst.demand is not None:
            kw["delivery"] = [int(inst.demand[c])]
        if not inst.mandatory:
            kw.update(prize=int(inst.prize[c]) * k, required=False)
        clients.append(pyvrp.Client(location=c, **kw))
    depots = [pyvrp.Depot(location=0, tw_early=int(inst.tw_open[0]), tw_late=inst.horizon)]
    vt = dict(num_available=inst.n_vehicles, tw_early=int(inst.tw_open[0]), tw_late=inst.horizon)
    if inst.capacity is not None:
        vt["capacity"] = [int(inst.capacity)]
    vehicle_types = [pyvrp.VehicleType(**vt)]
    mat = np.ascontiguousarray(inst.dist, dtype=np.int64)
    return pyvrp.ProblemData(locations, clients, depots, vehicle_types, [mat], [mat])


def run_pyvrp(inst: BenchInstance, time_limit: float, seed: int = 1) -> Run:
    import pyvrp
    from pyvrp.stop import MaxRuntime

    t0 = time.perf_counter()
    data = pyvrp_data(inst)
    res = pyvrp.solve(data, stop=MaxRuntime(time_limit), seed=seed, collect_stats=False,
                      display=False)
    elapsed = time.perf_counter() - t0
    best = res.best
    note = "" if best.is_feasible() else "PyVRP best is infeasible"
    # Activities: client visit idx = client number among the clients (0-based); node = idx + 1.
    routes = [[int(a.idx) + 1 for a in r if a.is_client()] for r in best.routes()]
    return Run("pyvrp", routes, elapsed, note=note,
               extra={"iterations": getattr(res, "num_iterations", None)})


# --------------------------------------------------------------------------------------------
# VROOM (pyvroom)
# --------------------------------------------------------------------------------------------
def run_vroom(inst: BenchInstance, threads: int = 2, exploration: int = 5) -> Run:
    import vroom

    t0 = time.perf_counter()
    n = inst.n
    prob = vroom.Input()
    mat = np.ascontiguousarray(inst.dist, dtype=np.uint32)
    prob.set_durations_matrix(profile="car", matrix_input=mat)
    note = ""
    pmax = max(inst.prize[1:]) if n > 1 else 0
    cap = [int(inst.capacity)] if inst.capacity is not None else None
    for v in range(inst.n_vehicles):
        kw = dict(start=inst.depot, end=inst.depot,
                  time_window=vroom.TimeWindow(int(inst.tw_open[inst.depot]), inst.horizon))
        if cap:
            kw["capacity"] = vroom.Amount(cap)
        prob.add_vehicle(vroom.Vehicle(v + 1, **kw))
    for c in range(n):
        if c == inst.depot:
            continue
        kw = dict(location=c, default_service=int(inst.service[c]),
                  time_windows=[vroom.TimeWindow(int(inst.tw_open[c]), int(inst.tw_close[c]))])
        if inst.demand is not None:
            kw["delivery"] = vroom.Amount([int(inst.demand[c])])
        if not inst.mandatory:
            p = int(inst.prize[c])
            if pmax > 100:
                p = round(100 * p / pmax)
                note = "priority = prize scaled to 0..100 (lossy)"
            kw["priority"] = p
        prob.add_job(vroom.Job(c, **kw))
    sol = prob.solve(exploration_level=exploration, nb_threads=threads)
    elapsed = time.perf_counter() - t0
    routes_df = sol.routes
    routes: list[list[int]] = []
    for _vid, grp in routes_df.groupby("vehicle_id", sort=True):
        jobs = grp[grp["type"] == "job"]
        routes.append([int(j) for j in jobs["id"]])
    return Run("vroom", routes, elapsed,
               note=(note + f" threads={threads} x={exploration}").strip())


SOLVERS = {
    "engine": run_engine,
    "pyvrp": run_pyvrp,
    "vroom": None,  # no time limit: see run_vroom
    "ortools": run_plain_ortools,
}
