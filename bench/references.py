"""Reference solvers on a :class:`BenchInstance`: the product engine, PyVRP, VROOM, plain OR-Tools.

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
# The product engine (planner.engine.solve through bench.adapters)
# --------------------------------------------------------------------------------------------
def engine_available() -> bool:
    try:
        from planner.engine import solve  # noqa: F401
    except Exception:  # noqa: BLE001
        return False
    engine_fingerprint()
    return True


_FINGERPRINT: list[str] = []


def engine_fingerprint() -> str:
    """First 8 hex digits of the md5 of the engine package's modules, taken once, when this
    process first imports it (later edits on disk do not change the code already imported)."""
    if not _FINGERPRINT:
        import hashlib
        from pathlib import Path

        try:
            import planner.engine as engine

            h = hashlib.md5()
            for f in sorted(Path(engine.__file__).parent.glob("*.py")):
                h.update(f.read_bytes())
            _FINGERPRINT.append(h.hexdigest()[:8])
        except Exception:  # noqa: BLE001
            return "-"
    return _FINGERPRINT[0]


def run_engine(inst: BenchInstance, time_limit: float, seed: int = 1, workers: int = 2,
               options=None) -> Run:
    """The product engine (``planner.engine.solve``) on the adapted instance; the routes are
    read from the returned Plan (``bench.adapters``)."""
    from bench.adapters import routes_from_plan, to_instance
    from planner.engine import solve

    t0 = time.perf_counter()
    plan = solve(to_instance(inst), time_limit=time_limit, seed=seed, workers=workers,
                 options=options)
    elapsed = time.perf_counter() - t0
    info = dict(plan.solver)
    return Run("engine", routes_from_plan(plan, inst), elapsed,
               note=f"workers={workers} engine={engine_fingerprint()} check={info.get('check')}",
               extra={"claimed_people": plan.people, "claimed_km": plan.km,
                      "check": info.get("check"),
                      "first_solution_s": info.get("first_solution_s")})


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


# --------------------------------------------------------------------------------------------
# Plan-level reference on an exported engine instance (``Instance.to_dict()``): PyVRP
# --------------------------------------------------------------------------------------------
# Reads ONLY the export (what ``planner plan --export-instance`` writes) and writes a Plan JSON
# of its own (``schedule_routes``), which the caller checks with the product's independent
# validator. Nothing here imports the engine's search.
INF_MIN = 10**8


def _hm(s) -> int:
    h, m = str(s).split(":")
    return int(h) * 60 + int(m)


def export_slots(inst: dict, cut: str = "equal") -> list[tuple[int, list[str]]]:
    """Trips (team index, its dates) from the export: single days for day-trip teams; runs of
    consecutive calendar days cut into trips of at most ``max_nights + 1`` days, either into
    the fewest near-equal parts (``cut="equal"``: 5 days, 3 nights → 3 + 2) or longest first
    (``cut="long"``: 4 + 1)."""
    import datetime as dt

    out = []
    for k, t in enumerate(inst["teams"]):
        dates = sorted(t["dates"])
        if int(t["max_nights"]) <= 0:
            out += [(k, [d]) for d in dates]
            continue
        runs: list[list[str]] = []
        for d in dates:
            if runs and dt.date.fromisoformat(d) == dt.date.fromisoformat(runs[-1][-1]) + dt.timedelta(days=1):
                runs[-1].append(d)
            else:
                runs.append([d])
        size = int(t["max_nights"]) + 1
        for run in runs:
            if cut == "long":
                out += [(k, run[i:i + size]) for i in range(0, len(run), size)]
                continue
            n = -(-len(run) // size)
            q, r = divmod(len(run), n)
            i = 0
            for j in range(n):
                L = q + (1 if j < r else 0)
                out.append((k, run[i:i + L]))
                i += L
    return out


def run_pyvrp_plan(inst: dict, time_limit: float, seed: int = 1, cut: str = "equal") -> Run:
    """PyVRP (HGS, one thread) on the trips of an exported instance, then the plain schedule of
    :func:`schedule_routes`. The time axis is the engine's: working minutes only, day o of the
    plan = [o·S, o·S + W] with S = W + 1 (PyVRP has no breaks: a route may put a leg or a
    service across a night; the scheduler then moves the stop to the next morning, or leaves it
    out on a trip's last day). Objective = the engine's: prize = visit value, arc cost =
    10 × minutes + rupiah / 1,000 of the team's mode. Service = the largest over the teams."""
    import datetime as dt

    import pyvrp
    from pyvrp.stop import MaxRuntime

    t0 = time.perf_counter()
    cal = inst["calendar"]
    ws, we = _hm(cal["work_start"]), _hm(cal["work_end"])
    W = we - ws
    S = W + 1
    start = dt.date.fromisoformat(cal["dates"][0])
    slots = export_slots(inst, cut)
    pts = inst["points"]
    n_pts = len(pts)
    teams = inst["teams"]
    modes = sorted({t["mode"] for t in teams})
    sites = {s["code"]: s for s in inst["sites"]}
    visits = inst["visits"]
    horizon = max((dt.date.fromisoformat(d) - start).days for d in cal["dates"]) * S + W + 1
    big = 4 * horizon
    dist_m, dur_m = [], []
    for m in modes:
        mm = np.asarray(inst["matrices"][m]["minutes"], dtype=np.int64)
        rp = np.asarray([[0 if x is None else x for x in row]
                         for row in inst["matrices"][m]["cost_rp"]], dtype=float)
        bad = (mm >= INF_MIN) | (mm > W)
        dur = np.where(bad, big, mm)
        cost = np.where(bad, 10 * big, 10 * mm + np.round(rp / 1000.0).astype(np.int64))
        np.fill_diagonal(dur, 0)
        np.fill_diagonal(cost, 0)
        dist_m.append(np.ascontiguousarray(cost, dtype=np.int64))
        dur_m.append(np.ascontiguousarray(dur, dtype=np.int64))
    locations = [pyvrp.Location(x=float(p["lon"]), y=float(p["lat"])) for p in pts]
    depot_pts = sorted({int(t["base_point"]) for t in teams})
    depots = [pyvrp.Depot(location=p) for p in depot_pts]
    clients = []
    for v in visits:
        site = sites[v["site_code"]]
        svc = max(int(x) for x in v["service_min"].values())
        o = _hm(site["open_time"]) - ws if site.get("open_time") else 0
        clients.append(pyvrp.Client(location=int(site["point"]), service_duration=svc,
                                    tw_early=max(0, o), tw_late=horizon,
                                    prize=int(v["value"]), required=False))
    vts = []
    for k, dates in slots:
        t = teams[k]
        offs = [(dt.date.fromisoformat(d) - start).days for d in dates]
        dep = depot_pts.index(int(t["base_point"]))
        vts.append(pyvrp.VehicleType(num_available=1, start_depot=dep, end_depot=dep,
                                     tw_early=offs[0] * S, tw_late=offs[-1] * S + W,
                                     profile=modes.index(t["mode"])))
    data = pyvrp.ProblemData(locations, clients, depots, vts, dist_m, dur_m)
    res = pyvrp.solve(data, stop=MaxRuntime(max(0.1, time_limit - (time.perf_counter() - t0))),
                      seed=seed, collect_stats=False, display=False)
    routes: list[list[int]] = [[] for _ in slots]
    for r in res.best.routes():
        routes[r.vehicle_type()] = [int(a.idx) for a in r if a.is_client()]
    plan = schedule_routes(inst, slots, routes)
    assert n_pts == len(pts)
    return Run("pyvrp", None, time.perf_counter() - t0, note=f"cut={cut}",
               extra={"plan": plan, "feasible": res.best.is_feasible(),
                      "model_prize": int(res.best.prizes())})


def schedule_routes(inst: dict, slots: list[tuple[int, list[str]]],
                    routes: list[list[int]]) -> dict:
    """A Plan JSON from visit sequences per trip (indices into ``inst["visits"]``): each stop as
    early as possible on the current day; when it does not fit (travel, service and, on a trip's
    last day, the way home before work end) the team sleeps where it is and goes on the next
    morning; on the last day it is left out. A plain scheduler of its own (no evening drives,
    no cut-short visits), so the reference does not borrow the engine's."""
    cal = inst["calendar"]
    ws, we = _hm(cal["work_start"]), _hm(cal["work_end"])
    sites = {s["code"]: s for s in inst["sites"]}
    pts = inst["points"]
    visits = inst["visits"]
    teams_out = [{"name": t["name"], "mode": t["mode"], "kits": t["kits"],
                  "max_nights": t["max_nights"],
                  "base": dict(t["base"]), "days": []} for t in inst["teams"]]
    planned_people: dict[str, int] = {}

    def place(p: int, base: int) -> dict:
        q = pts[p]
        return {"lat": q["lat"], "lon": q["lon"], "code": None if p == base else q["code"],
                "name": q["name"]}

    for (k, dates), seq in sorted(zip(slots, routes, strict=True), key=lambda x: x[0][1][0]):
        t = inst["teams"][k]
        mat = inst["matrices"][t["mode"]]
        mm, km, cost, lm = mat["minutes"], mat["km"], mat["cost_rp"], mat["mode"]
        base = int(t["base_point"])
        days = [{"date": d, "start": base, "stops": [], "end": base} for d in dates]
        di, pos, now = 0, base, ws
        for vi in seq:
            v = visits[vi]
            site = sites[v["site_code"]]
            p = int(site["point"])
            svc = int(v["service_min"][t["name"]])
            o = _hm(site["open_time"]) if site.get("open_time") else ws
            c = _hm(site["close_time"]) if site.get("close_time") else we
            while True:
                leg = int(mm[pos][p])
                st = max(now + leg, o)
                dep = st + svc
                last = di == len(days) - 1
                home = int(mm[p][base])
                if leg < INF_MIN and dep <= c and (not last or dep + home <= we):
                    days[di]["stops"].append((vi, pos, p, now + leg, st, dep))
                    pos, now = p, dep
                    break
                if not last and (days[di]["stops"] or pos != days[di]["start"]):
                    days[di]["end"] = pos
                    di += 1
                    days[di]["start"] = pos
                    now = ws
                    continue
                if not last and not days[di]["stops"]:  # nothing fits today even from here
                    days[di]["end"] = pos
                    di += 1
                    days[di]["start"] = pos
                    now = ws
                    continue
                break  # left out
        days[di]["end"] = pos
        for j in range(di + 1, len(days)):
            days[j]["start"] = days[j]["end"] = pos
        # the last day ends at base (every stop was accepted only with the way home in time)
        days[-1]["end"] = base
        out_days = []
        for j, d in enumerate(days):
            stops, dkm, dmin, dcost = [], 0.0, 0, 0.0
            for vi, a, b, arr, st, dep in d["stops"]:
                v = visits[vi]
                site = sites[v["site_code"]]
                stops.append({"site_code": site["code"], "name": site["name"],
                              "kecamatan": site["kecamatan"], "kind": site["kind"],
                              "lat": site["lat"], "lon": site["lon"],
                              "arrive": f"{arr // 60:02d}:{arr % 60:02d}",
                              "start": f"{st // 60:02d}:{st % 60:02d}",
                              "depart": f"{dep // 60:02d}:{dep % 60:02d}",
                              "expected": int(v["expected"]),
                              "km_from_prev": round(float(km[a][b]), 1),
                              "min_from_prev": int(mm[a][b]),
                              "mode": "river" if int(lm[a][b]) == 1 else "road"})
                planned_people[site["code"]] = planned_people.get(site["code"], 0) + int(v["expected"])
                dkm += float(km[a][b])
                dmin += int(mm[a][b])
                dcost += float(cost[a][b] or 0)
            last_pt = d["stops"][-1][2] if d["stops"] else d["start"]
            to_end = 0
            mode_end = None
            if j == len(days) - 1 and last_pt != base:
                to_end = int(mm[last_pt][base])
                dkm += float(km[last_pt][base])
                dmin += to_end
                dcost += float(cost[last_pt][base] or 0)
                mode_end = "river" if int(lm[last_pt][base]) == 1 else "road"
            if not stops and d["start"] == base and d["end"] == base:
                continue
            out_days.append({"date": d["date"], "start": place(d["start"], base),
                             "end": place(d["end"], base), "stops": stops,
                             "km_to_end": round(float(km[last_pt][base]), 1) if to_end else 0.0,
                             "min_to_end": to_end, "mode_to_end": mode_end,
                             "sleep_away": d["end"] != base,
                             "totals": {"people": sum(s["expected"] for s in stops),
                                        "km": round(dkm, 1), "travel_min": dmin,
                                        "cost_rp": int(round(dcost))}})
        teams_out[k]["days"] += out_days
    for tm in teams_out:
        tm["days"].sort(key=lambda d: d["date"])
    dropped = [{"site_code": c, "name": s["name"], "kecamatan": s["kecamatan"],
                "expected": int(s["expected"]), "reason": "not_worth", "detail": "",
                "partial": False}
               for c, s in sites.items() if c not in planned_people]
    people = sum(d["totals"]["people"] for tm in teams_out for d in tm["days"])
    km_tot = round(sum(d["totals"]["km"] for tm in teams_out for d in tm["days"]), 1)
    minutes = sum(d["totals"]["travel_min"] for tm in teams_out for d in tm["days"])
    cost_tot = sum(d["totals"]["cost_rp"] for tm in teams_out for d in tm["days"])
    return {"format": "jemput-bola-plan/1", "plan_id": "reference", "version": 1,
            "dataset": inst.get("dataset", ""), "params": inst.get("params", {}),
            "base": {}, "teams": teams_out, "dropped": dropped,
            "totals": {"people": people, "km": km_tot, "travel_hours": round(minutes / 60, 2),
                       "cost_rp": cost_tot}, "solver": {"name": "pyvrp"}}
