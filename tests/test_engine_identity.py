"""Plan identity and determinism (issue 13): ``plan_id`` hashes the plan's content, so two
different plans never share it; the same seed and solution limit give the same plan file,
byte for byte, apart from the solver diagnostics (timings)."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pandas as pd

from planner.engine import Plan, PlanRequest, TeamSpec, build_instance, solve, validate_plan

BASE = ("Kantor", -2.5336, 112.9497)
MONDAY = dt.date(2026, 11, 30)


def _frame(n=14):
    rows = []
    for i in range(n):
        rows.append({"code": f"V.{i}", "name": f"Desa {i}", "kecamatan": "Kec",
                     "kecamatan_code": "K", "type": "desa", "access": "road",
                     "no_signal": False,
                     "stop_lat": BASE[1] + ((i * 7) % 50 - 25) / 111.0,
                     "stop_lon": BASE[2] + ((i * 13) % 60 - 30) / 111.0,
                     "population": 3000, "obliged": 1500, "recorded": 1500 - 60 - 25 * i})
    return pd.DataFrame(rows)


def _instance(n=14):
    teams = (TeamSpec("Tim 1", BASE, max_nights=0), TeamSpec("Tim 2", BASE, max_nights=2),
             TeamSpec("Tim 3", BASE, mode="both", max_nights=1))
    return build_instance(_frame(n), PlanRequest(teams=teams, start_date=MONDAY, days=4))


def _file(plan: Plan) -> str:
    """The plan file without its solver diagnostics (the compared content)."""
    d = plan.to_dict()
    d.pop("solver")
    return json.dumps(d, sort_keys=True, ensure_ascii=False, indent=1)


def test_same_seed_and_solution_limit_give_the_same_plan_file():
    inst = _instance()
    kw = dict(time_limit=20, seed=4, workers=2, solution_limit=40)
    a, b = solve(inst, **kw), solve(inst, **kw)
    assert _file(a) == _file(b)
    assert a.plan_id == b.plan_id
    assert a.solver != () and "elapsed_s" in dict(a.solver)   # timings live in ``solver`` only
    assert validate_plan(a.to_dict(), inst.to_dict()) == []
    # every phase did its whole work budget: the plan says it is reproducible
    assert dict(a.solver)["reproducible"] is True and "clock_cut" not in dict(a.solver)
    # the OR-Tools construction ran in a fresh interpreter (planner.engine.fresh)
    assert dict(a.solver)["routing_process"] == "fresh"


def test_the_same_plan_in_a_process_whose_memory_state_has_changed():
    """OR-Tools' first solution with break intervals depends on the process's memory state
    (measured on this 40-village instance: 2 route sets in 40 solves in one process); a
    reproducible solve runs it in a fresh interpreter, so unrelated work between two solves
    changes nothing."""
    import random

    inst = _instance(40)
    kw = dict(time_limit=20, seed=3, workers=1, solution_limit=20)
    first = _file(solve(inst, **kw))
    rnd, keep = random.Random(5), []
    for _ in range(4):
        for _ in range(rnd.randint(1, 2000)):   # churn this process's heap
            keep.append(bytearray(rnd.randint(1, 5000)))
        rnd.shuffle(keep)
        del keep[: len(keep) // 2]
        assert _file(solve(inst, **kw)) == first


def test_a_time_limit_that_cuts_the_solution_limit_short_is_reported():
    """The time limit stays a cap; when it ends a phase before its work budget, the plan says
    so (it may then differ from another run with the same seed and solution limit)."""
    inst = _instance()
    plan = solve(inst, time_limit=0.5, seed=4, workers=1, solution_limit=100_000)
    info = dict(plan.solver)
    assert info["reproducible"] is False
    assert "lns" in info["clock_cut"]
    assert validate_plan(plan.to_dict(), inst.to_dict()) == []
    # without a solution limit nothing is promised, so nothing is reported
    info = dict(solve(inst, time_limit=0.5, seed=4, workers=1).solver)
    assert "reproducible" not in info and "clock_cut" not in info


def test_two_different_plans_never_share_a_plan_id():
    inst = _instance()
    plans = [solve(inst, time_limit=t, seed=1, workers=1) for t in (0.5, 2.0)]
    plans.append(solve(inst, time_limit=2.0, seed=2, workers=1))
    files = [_file(p) for p in plans]
    for i in range(len(plans)):
        for j in range(i + 1, len(plans)):
            assert (files[i] == files[j]) == (plans[i].plan_id == plans[j].plan_id)
    # any change a reader sees changes the id: one stop's people, one drop reason, the base
    d = plans[-1].to_dict()
    ids = {plans[-1].plan_id}
    edits = []
    e = copy.deepcopy(d)
    stop = next(s for t in e["teams"] for day in t["days"] for s in day["stops"])
    stop["expected"] -= 1
    edits.append(e)
    e = copy.deepcopy(d)
    e["base"]["name"] = "Kantor lain"
    edits.append(e)
    e = copy.deepcopy(d)
    e["teams"][0]["days"] = e["teams"][0]["days"][:-1]
    edits.append(e)
    for e in edits:
        ids.add(Plan.from_dict(e).content_id())
    assert len(ids) == 1 + len(edits)
    # … and the solver diagnostics do not
    e = copy.deepcopy(d)
    e["solver"]["elapsed_s"] = 99.0
    assert Plan.from_dict(e).content_id() == plans[-1].plan_id
