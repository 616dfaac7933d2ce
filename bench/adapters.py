"""Adapters: a benchmark file (:class:`bench.readers.BenchInstance`) → a product plan request
(:class:`planner.engine.model.Instance`) for :func:`planner.engine.solve`, and the plan back
→ routes for :mod:`bench.checker`.

The benchmark's "engine" column is the product engine itself, with no separate core. The
mapping (every number stays the file's integer, in ``BenchInstance.scale`` units):

* **One day, fixed fleet**: one team per vehicle (``v1`` … ``vm``), each home every evening
  (``max_nights = 0``) and working one date: one trip per vehicle from the depot (the team's
  base, point 0) back to it.
* **Clock**: the day's working hours are ``[tw_open[depot], Tmax]`` in the file's units (the
  engine's "minutes"; a clock past 24:00 is fine: ``model.clock``). Travel minutes = the
  instance's own integer distance matrix (travel time = distance), km = distance ÷ scale, no
  rupiah, every leg by road.
* **Service**: each customer is a site with a fixed ``SiteSpec.service_min`` (its service
  duration; never cut short).
* **Time windows**: the file's windows bound the START of service; the engine's site hours bound
  the service (start ≥ open, end ≤ close), so close = due date + service (exact for a fixed
  service: end ≤ due + service ⇔ start ≤ due).
* **Prizes** (TOPTW): people = prize (at least 1), value = prize × K with
  K = 10 × m × Tmax + 1 solver units, larger than any total travel cost of m routes (10 units
  per minute), so the engine's objective is lexicographic like the references': most prize
  first, then least distance. The balance term is off (``PlanRequest.balance = False``).
* **Solomon VRPTW**: people = demand, ``TeamSpec.capacity`` = vehicle capacity, every customer
  ``must`` with value K (all customers before any distance); 25 vehicles (the file's fleet).
* Coordinates (only for the plan's places, not for travel): lat = y ÷ 1000, lon = x ÷ 1000.

:func:`routes_from_plan` reads the stops of each team's day back as node indices; the checker
re-simulates them on the file's data, so no number in the table is the engine's own claim.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bench.readers import BenchInstance

START_DATE = dt.date(2026, 1, 5)   # a Monday (the date is only a label here)


def prize_unit(inst: BenchInstance) -> int:
    """Solver units per prize point: more than any total travel cost of the fleet."""
    return 10 * inst.n_vehicles * inst.horizon + 1


def code_of(node: int) -> str:
    return f"n{node}"


def to_instance(inst: BenchInstance, dataset: str | None = None):
    """The benchmark instance as the engine's :class:`~planner.engine.model.Instance`."""
    from planner.engine.model import Instance, PlanRequest, SiteSpec, TeamSpec, Visit
    from planner.travel import Matrices

    depot = inst.depot
    n = inst.n
    K = prize_unit(inst)
    ws, we = int(inst.tw_open[depot]), int(inst.horizon)
    base = ("depot", float(inst.y[depot]) / 1000.0, float(inst.x[depot]) / 1000.0)
    teams = tuple(TeamSpec(name=f"v{k + 1}", base=base, kits=1, minutes_per_person=1.0,
                           setup_min=0, mode="road", max_nights=0,
                           capacity=inst.capacity if inst.mandatory else None)
                  for k in range(inst.n_vehicles))
    customers = [c for c in range(n) if c != depot]
    sites, visits = [], []
    for i, c in enumerate(customers):
        svc = int(inst.service[c])
        if inst.mandatory:
            people = max(1, int(inst.demand[c]) if inst.demand is not None else 1)
            value = K
        else:
            people = max(1, int(inst.prize[c]))
            value = max(1, int(inst.prize[c]) * K)
        sites.append(SiteSpec(
            code=code_of(c), name=f"{inst.name} {c}", kecamatan="",
            lat=float(inst.y[c]) / 1000.0, lon=float(inst.x[c]) / 1000.0, access="road",
            unrecorded=people, expected=people, kind="village",
            open_time=_clock(max(ws, int(inst.tw_open[c]))),
            close_time=_clock(int(inst.tw_close[c]) + svc), service_min=svc))
        visits.append(Visit(site=i, copy=0, n_copies=1, expected=people,
                            service=(svc,) * len(teams), value=value, must=inst.mandatory))
    req = PlanRequest(teams=teams, start_date=START_DATE, days=1, work_start="00:00",
                      work_end="23:59", skip_weekends=False, dataset=dataset or inst.name,
                      base_name="depot", balance=False)
    order = [depot] + customers
    pts = pd.DataFrame(
        [{"lat": base[1], "lon": base[2], "access": "both", "code": "__base0", "name": "depot",
          "kind": "base"}]
        + [{"lat": s.lat, "lon": s.lon, "access": "road", "code": s.code, "name": s.name,
            "kind": "village"} for s in sites],
        columns=["lat", "lon", "access", "code", "name", "kind"])
    d = np.asarray(inst.dist, dtype=np.int64)[np.ix_(order, order)]
    mats = {"road": Matrices(minutes=d.astype(np.int32), km=d.astype(float) / inst.scale,
                             cost_rp=np.zeros(d.shape), mode=np.zeros(d.shape, dtype=np.uint8),
                             vehicle_mode="road", source=f"bench:{inst.name}")}
    return Instance(request=req, teams=teams, sites=tuple(sites), visits=tuple(visits),
                    dates=(START_DATE,), team_dates=((START_DATE,),) * len(teams),
                    work_start=ws, work_end=we, points=pts, base_points=(0,) * len(teams),
                    site_points=tuple(range(1, len(sites) + 1)), matrices=mats, locks=(),
                    value_scale=10)


def routes_from_plan(plan, inst: BenchInstance) -> list[list[int]]:
    """Each team's stops (in order) as the file's node indices."""
    node = {code_of(c): c for c in range(inst.n) if c != inst.depot}
    routes = []
    for tp in plan.teams:
        r = [node[s.site_code] for day in tp.days for s in day.stops]
        if r:
            routes.append(r)
    return routes


def _clock(v: int) -> str:
    from planner.engine.model import clock

    return clock(v)
