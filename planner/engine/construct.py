"""First solutions without OR-Tools: a fast greedy for large instances, and a re-plan's
previous routes.

* :func:`greedy_routes`: each trip in turn takes, from where it is, the visit with the most
  people per minute (travel + service) that fits its day and lets it get home (the same
  evening on the trip's last day, else within a day); when nothing fits it sleeps where it is
  and goes on the next day. Vectorised over the visits (numpy), so 2,000 sites × 160 trips
  take a few seconds. The exact schedule then re-times it (``planner.engine.schedule``).
* :func:`previous_routes`: per trip, the visits the previous version had on its team and days
  (re-plan preferences and locks), in the previous order: the re-plan's starting solution.
"""

from __future__ import annotations

import numpy as np

from .problem import INF, Problem
from .trips import VehicleSlot


def greedy_routes(P: Problem, slots: list[VehicleSlot]) -> list[list[int]]:
    W = P.work
    ws = P.ws
    vis = np.array([x for x in range(P.n_base_visits) if P.v_teams[x]], dtype=np.int64)
    routes: list[list[int]] = []
    if not len(vis):
        return [[] for _ in slots]
    pts = np.array([P.v_point[x] for x in vis], dtype=np.int64)
    people = np.array([P.v_expected[x] for x in vis], dtype=float)
    open_ = np.array([P.site_open[P.v_site[x]] - ws for x in vis], dtype=np.int64)
    close = np.array([P.site_close[P.v_site[x]] - ws for x in vis], dtype=np.int64)
    locked = np.array([x in P.lock_day for x in vis], dtype=bool)
    free = ~locked
    team_ok = {k: np.array([k in P.v_teams[x] for x in vis], dtype=bool)
               for k in range(len(P.teams))}
    placed_locks: set[int] = set()
    for slot in slots:
        T = P.teams[slot.team]
        mm = P.minutes_np[T.mode]
        base = T.base
        svc = np.array([P.v_service[slot.team][x] for x in vis], dtype=np.int64)
        back = mm[pts, base].astype(np.int64)
        ok_v = team_ok[slot.team]
        route: list[tuple[int, int]] = []    # (day index, visit)
        pos = slot.start if slot.start is not None else base
        day, t = 0, 0
        while True:
            cand = free & ok_v
            if not cand.any():
                break
            more = day + 1 < slot.n_days
            leg = mm[pos, pts].astype(np.int64)
            start = np.maximum(t + leg, open_)
            fin = start + svc
            home_ok = (fin + back <= W) if not more else (back <= W)
            fits = cand & (leg < INF) & (fin <= np.minimum(close, W)) & home_ok
            if not fits.any():
                if not more or (t == 0 and not route and pos == (slot.start or base)):
                    break
                day += 1
                t = 0
                continue
            score = np.where(fits, people / (fin - t + 1.0), -1.0)
            i = int(np.argmax(score))
            route.append((day, int(vis[i])))
            free[i] = False
            pos, t = int(pts[i]), int(fin[i])
        # locked visits of this trip: before the first stop the greedy put on a later day
        for x in sorted((int(x) for x in vis[locked]), key=lambda x: P.lock_day[x]):
            if x in placed_locks or not P.lock_allows(x, slot.team, slot.offsets):
                continue
            placed_locks.add(x)
            d = slot.offsets.index(P.lock_day[x])
            i = next((i for i, (dd, _y) in enumerate(route) if dd > d), len(route))
            route.insert(i, (d, x))
        routes.append([x for _d, x in route])
    return routes


def previous_routes(P: Problem, slots: list[VehicleSlot]) -> list[list[int]]:
    where: dict[int, tuple[int, int, int]] = {}
    for rank, (x, (team, off)) in enumerate(P.prefer.items()):
        where[x] = (team, off, rank)
    codes = {}
    for rank, pf in enumerate(P.inst.prefer):
        codes.setdefault(pf.site_code, rank)
    for x, off in P.lock_day.items():
        allowed = P.lock_team.get(x)
        team = min(allowed) if allowed else next(
            (sl.team for sl in slots if off in sl.offsets), 0)
        code = P.inst.sites[P.v_site[x]].code
        where[x] = (team, off, codes.get(code, len(P.inst.prefer)))
    routes: list[list[tuple]] = [[] for _ in slots]
    for x, (team, off, rank) in where.items():
        v = next((v for v, sl in enumerate(slots) if sl.team == team and off in sl.offsets),
                 None)
        if v is None and x in P.lock_day:
            v = next((v for v, sl in enumerate(slots) if P.lock_allows(x, sl.team, sl.offsets)),
                     None)
        if v is not None:
            routes[v].append((off, rank, x))
    return [[x for _off, _rank, x in sorted(r)] for r in routes]
