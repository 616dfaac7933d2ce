"""The schedule of one trip on real days (``planner.engine.schedule.TripScheduler``): the only
place where the engine decides times. Each case checks the rule and that the plan written from
the schedule passes the independent validator."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from planner.engine import PlanRequest, TeamSpec, build_instance, validate_plan
from planner.engine.problem import Problem
from planner.engine.schedule import TripScheduler
from planner.engine.trips import HOME, VehicleSlot
from planner.engine.writer import write_plan

BASE = ("Kantor", -2.5336, 112.9497)
MONDAY = dt.date(2026, 11, 30)


def village(code, km_n, km_e, unrecorded, close=None):
    return {"code": code, "name": code, "kecamatan": "Kec", "kecamatan_code": "K",
            "type": "desa", "access": "road", "no_signal": False,
            "stop_lat": BASE[1] + km_n / 111.0, "stop_lon": BASE[2] + km_e / 111.0,
            "population": 20 * unrecorded, "obliged": 10 * unrecorded,
            "recorded": 9 * unrecorded}


def setup(rows, nights=3, days=5, **kw):
    team = TeamSpec("Tim 1", BASE, kits=3, mode="road", max_nights=nights)
    inst = build_instance(pd.DataFrame(rows), PlanRequest(teams=(team,), start_date=MONDAY,
                                                          days=days, turnout=1.0, **kw))
    P = Problem(inst)
    return inst, P, TripScheduler(P)


def visit(P, code, copy=0):
    return next(x for x in range(P.n_visits)
                if P.inst.sites[P.v_site[x]].code == code and P.v_copy[x] == copy)


def valid(inst, P, schedules):
    plan = write_plan(P, schedules, seed=1, time_limit=1, solution_limit=None, solver_info={})
    errors = validate_plan(plan.to_dict(), inst.to_dict())
    assert errors == [], errors
    return plan.to_dict()


def minutes(P, a, b):
    return P.leg("road", a, b)


def test_stops_as_early_as_possible_and_home_the_same_evening():
    inst, P, S = setup([village("A", 10, 0, 60), village("B", 15, 5, 60)], nights=0, days=1)
    a, b = visit(P, "A"), visit(P, "B")
    ts = S.schedule(VehicleSlot(0, (0,)), [a, b])
    s1, s2 = ts.days[0].stops
    base = P.teams[0].base
    assert s1.arrive == P.ws + minutes(P, base, P.v_point[a])
    assert s1.depart == s1.start + P.v_service[0][a]
    assert s2.arrive == s1.depart + minutes(P, P.v_point[a], P.v_point[b])
    assert ts.days[0].evening == base and ts.days[0].end == base
    assert ts.people == P.v_expected[a] + P.v_expected[b] and not ts.left_out
    valid(inst, P, [ts])


def test_a_stop_that_does_not_fit_today_goes_to_the_next_day_driven_the_evening_before():
    # two big villages far apart: the second does not fit after the first on one day
    inst, P, S = setup([village("A", 60, 0, 120), village("B", 60, 60, 120)], nights=2, days=3)
    a, b = visit(P, "A"), visit(P, "B")
    ts = S.schedule(VehicleSlot(0, (0, 1, 2), max_nights=2), [a, b])
    assert [len(d.stops) for d in ts.days[:2]] == [1, 1]
    d0, d1 = ts.days[0], ts.days[1]
    # the leg A → B fits before work end: the team drives there tonight and sleeps at B
    assert d0.evening == P.v_point[b] and d0.end == P.v_point[b]
    assert d1.start == P.v_point[b] and d1.stops[0].arrive == P.ws  # no leg in the morning
    plan = valid(inst, P, [ts])
    assert plan["teams"][0]["days"][0]["end"]["code"] == "B"


def test_nights_run_out_the_team_goes_home():
    # five days, one night away allowed: never two nights away in a row
    rows = [village(f"V{i}", 70, 15 * i, 110) for i in range(6)]
    inst, P, S = setup(rows, nights=1, days=5)
    seq = [visit(P, f"V{i}") for i in range(6)]
    ts = S.schedule(VehicleSlot(0, (0, 1, 2, 3, 4), max_nights=1), seq)
    away = [d.end != P.teams[0].base for d in ts.days]
    assert not any(x and y for x, y in zip(away, away[1:], strict=False))
    assert ts.days[-1].end == P.teams[0].base
    valid(inst, P, [ts])


def test_home_mark_ends_the_day_and_nothing_follows_on_the_last_day():
    """Issue 13: a mid-day return to base on a trip's last day dropped out of the plan and the
    next leg was written from the base (42 min where the matrix said 116)."""
    inst, P, S = setup([village("A", 10, 0, 30), village("B", 12, 3, 30)], nights=1, days=1)
    a, b = visit(P, "A"), visit(P, "B")
    ts = S.schedule(VehicleSlot(0, (0,), max_nights=1), [a, HOME, b])
    day = ts.days[0]
    assert [s.visit for s in day.stops] == [a] and day.evening == P.teams[0].base
    assert ts.left_out == [b]
    valid(inst, P, [ts])
    # on a longer trip the mark ends the day: the next stop is tomorrow, from base
    inst, P, S = setup([village("A", 10, 0, 30), village("B", 12, 3, 30)], nights=1, days=2)
    a, b = visit(P, "A"), visit(P, "B")
    ts = S.schedule(VehicleSlot(0, (0, 1), max_nights=1), [a, HOME, b])
    assert [len(d.stops) for d in ts.days] == [1, 1]
    assert ts.days[1].start == P.teams[0].base
    assert ts.days[1].stops[0].origin == P.teams[0].base
    valid(inst, P, [ts])


def test_last_day_cuts_short_or_leaves_out():
    # a village too big for what is left of the last day: cut short (≥ 40 %), home in time
    inst, P, S = setup([village("A", 20, 0, 150), village("BIG", 25, 5, 200)], nights=0,
                       days=1)
    a, big = visit(P, "A"), visit(P, "BIG")
    assert P.v_ncopies[big] == 1
    ts = S.schedule(VehicleSlot(0, (0,)), [a, big])
    assert big in ts.short
    assert 0.4 * P.v_expected[big] <= ts.short[big] < P.v_expected[big]
    last = ts.days[0].stops[-1]
    assert last.depart + minutes(P, last.point, P.teams[0].base) <= P.we
    valid(inst, P, [ts])


@pytest.mark.parametrize("nights", [0, 2])
def test_a_locked_visit_keeps_its_date(nights):
    from planner.engine import Lock

    wed = MONDAY + dt.timedelta(days=2)
    inst, P, S = setup([village("A", 10, 0, 60), village("L", 40, 20, 60)], nights=nights,
                       days=3, locks=(Lock("L", wed, "Tim 1"),))
    a, lk = visit(P, "A"), visit(P, "L")
    if nights:
        ts = S.schedule(VehicleSlot(0, (0, 1, 2), max_nights=nights), [lk, a])
    else:
        ts = S.schedule(VehicleSlot(0, (2,)), [lk, a])
    assert not ts.infeasible
    day = next(d for d in ts.days if any(s.visit == lk for s in d.stops))
    assert day.offset == 2
    valid(inst, P, [ts])
