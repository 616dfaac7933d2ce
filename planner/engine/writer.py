"""The plan writer: scheduled trips → the immutable :class:`planner.engine.plan.Plan`.

It copies what :class:`planner.engine.schedule.TripScheduler` decided (no timing is computed
here): every stop's clock times and people, the leg figures from the team's matrices (minutes,
km, rupiah, road/river), where each day starts and ends, and the day and plan totals. Days a
team spends at home with nothing to do are not part of the plan. The plan's ``plan_id`` is its
content hash (:meth:`Plan.content_id`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from .dropped import dropped_sites
from .plan import Day, Place, Plan, Stop, TeamPlan, _freeze_json
from .problem import Problem
from .schedule import TripSchedule


def _clock(v: int) -> str:
    return f"{v // 60:02d}:{v % 60:02d}"


def write_plan(P: Problem, trips: list[TripSchedule], *, seed: int, time_limit: float,
               solution_limit: int | None, solver_info: dict) -> Plan:
    inst = P.inst
    start_date = inst.request.start_date
    points = inst.points
    lat = points["lat"].to_numpy()
    lon = points["lon"].to_numpy()
    kind = points["kind"].to_numpy()
    code = points["code"].to_numpy()
    name = points["name"].to_numpy()

    def place(p: int) -> Place:
        return Place(lat=float(lat[p]), lon=float(lon[p]),
                     code=None if kind[p] == "base" else str(code[p]), name=str(name[p]))

    team_days: dict[int, dict[int, Day]] = {k: {} for k in range(len(inst.teams))}
    tot_km = 0.0
    tot_min = 0
    tot_cost = 0
    tot_people = 0
    for ts in trips:
        k = ts.slot.team
        T = P.teams[k]
        mm, km = P.minutes_np[T.mode], P.km_np[T.mode]
        cost, lm = P.cost_rp_np[T.mode], P.legmode_np[T.mode]
        base = T.base
        for d in ts.days:
            if not d.stops and d.evening is None and d.start == base and d.end == base:
                continue  # a day at home with nothing to do
            stops = []
            dkm, dmin, dcost = 0.0, 0, 0.0
            for s in d.stops:
                x = s.visit
                site = inst.sites[P.v_site[x]]
                a, b = s.origin, s.point
                leg = int(mm[a, b])
                stops.append(Stop(
                    site_code=site.code, name=site.name, kecamatan=site.kecamatan,
                    kind=site.kind, lat=float(site.lat), lon=float(site.lon),
                    arrive=_clock(s.arrive), start=_clock(s.start), depart=_clock(s.depart),
                    expected=int(s.people), km_from_prev=round(float(km[a, b]), 1),
                    min_from_prev=leg, mode="river" if int(lm[a, b]) == 1 else "road",
                    no_signal=bool(site.no_signal), pooled=tuple(dict(q) for q in site.pooled),
                    locked=x in P.lock_day, visit=f"{P.v_copy[x] + 1}/{P.v_ncopies[x]}",
                    service_min=int(s.depart - s.start)))
                dkm += float(km[a, b])
                dmin += leg
                dcost += float(cost[a, b])
                tot_people += int(s.people)
            to_end = None
            if d.evening is not None:
                q, z = d.evening_from, d.evening
                to_end = (int(mm[q, z]), round(float(km[q, z]), 1),
                          "river" if int(lm[q, z]) == 1 else "road")
                dkm += float(km[q, z])
                dmin += to_end[0]
                dcost += float(cost[q, z])
            tot_km += round(dkm, 1)
            tot_min += dmin
            tot_cost += int(round(dcost))
            stops = tuple(stops)
            team_days[k][d.offset] = Day(
                date=(start_date + dt.timedelta(days=int(d.offset))).isoformat(),
                start=place(d.start), end=place(d.end), stops=stops,
                km_to_end=to_end[1] if to_end else 0.0, min_to_end=to_end[0] if to_end else 0,
                mode_to_end=to_end[2] if to_end else None,
                people=sum(s.expected for s in stops), km=round(dkm, 1), travel_min=int(dmin),
                cost_rp=int(round(dcost)), sleep_away=d.end != base)
    teams = []
    for k, t in enumerate(inst.teams):
        teams.append(TeamPlan(name=t.name, mode=t.mode, kits=int(t.kits),
                              base=Place(lat=float(t.base[1]), lon=float(t.base[2]),
                                         name=str(t.base[0])),
                              days=tuple(team_days[k][o] for o in sorted(team_days[k])),
                              max_nights=int(t.max_nights)))
    dropped = dropped_sites(P, trips)
    params = inst.params_dict()
    params["solver"] = {"time_limit": float(time_limit), "seed": int(seed),
                        "solution_limit": solution_limit}
    r = inst.request
    base0 = inst.teams[0].base
    plan = Plan(plan_id="", dataset=r.dataset or "", params=_freeze_json(params),
                base=Place(lat=float(base0[1]), lon=float(base0[2]),
                           name=str(r.base_name or base0[0])),
                teams=tuple(teams), dropped=tuple(dropped), people=int(tot_people),
                km=round(tot_km, 1), travel_hours=round(tot_min / 60.0, 2),
                cost_rp=int(tot_cost), solver=_freeze_json(solver_info))
    return dataclasses.replace(plan, plan_id=plan.content_id())
