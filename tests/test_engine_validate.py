"""The validator catches hand-broken plans (it re-checks times, capacity, nights, modes)."""

from __future__ import annotations

import copy
import datetime as dt

import pandas as pd
import pytest

from planner.engine import PlanRequest, TeamSpec, build_instance, solve, validate_plan
from planner.engine.validate import _m

BASE = ("Kantor", -2.5336, 112.9497)
MONDAY = dt.date(2026, 11, 30)


def _v(code, km_n, km_e, unrecorded, access="road"):
    return {"code": code, "name": code, "kecamatan": "Kec", "kecamatan_code": "K", "type": "desa",
            "access": access, "no_signal": False, "stop_lat": BASE[1] + km_n / 111.0,
            "stop_lon": BASE[2] + km_e / 111.0, "population": 5000, "obliged": 2000,
            "recorded": 2000 - unrecorded}


@pytest.fixture(scope="module")
def solved():
    fr = pd.DataFrame([_v("V.1", 10, 0, 200), _v("V.2", -15, 8, 150), _v("V.3", 4, -20, 120),
                       _v("V.R", 6, 6, 90, access="river"), _v("V.FAR", 0, 170, 250)])
    teams = (TeamSpec("Tim 1", BASE, mode="road", max_nights=2),
             TeamSpec("Tim 2", BASE, mode="both", max_nights=0))
    inst = build_instance(fr, PlanRequest(teams=teams, start_date=MONDAY, days=3))
    plan = solve(inst, time_limit=3, workers=1).to_dict()
    idict = inst.to_dict()
    assert validate_plan(plan, idict) == []
    return plan, idict


def _hm(v):
    return f"{v // 60:02d}:{v % 60:02d}"


def _first(plan, pred=lambda t, day, i, s: True):
    for t in plan["teams"]:
        for day in t["days"]:
            for i, s in enumerate(day["stops"]):
                if pred(t, day, i, s):
                    return t, day, i, s
    raise AssertionError("no such stop")


def test_shifted_arrival_is_caught(solved):
    plan, inst = solved
    p = copy.deepcopy(plan)
    _, _, _, s = _first(p)
    s["arrive"] = _hm(_m(s["arrive"]) - 30)
    assert any("tiba" in e or "berangkat" in e for e in validate_plan(p, inst))


def test_capacity_exceeded_is_caught(solved):
    plan, inst = solved
    p = copy.deepcopy(plan)
    _, _, _, s = _first(p)
    s["expected"] = s["expected"] * 3
    errs = validate_plan(p, inst)
    assert any("kapasitas" in e for e in errs)
    assert any("Total orang" in e for e in errs)


def test_leg_across_the_night_is_caught(solved):
    plan, inst = solved
    p = copy.deepcopy(plan)
    t, day, i, s = _first(p)
    # push the stop to the end of the day: its service runs past work end
    late = _m(inst["calendar"]["work_end"]) - 10
    s["arrive"] = s["start"] = _hm(late)
    s["depart"] = _hm(late + s["service_min"])
    assert any("jam kerja" in e or "malam" in e for e in validate_plan(p, inst))


def test_more_people_than_unrecorded_is_caught(solved):
    plan, inst = solved
    p = copy.deepcopy(plan)
    t, day, i, s = _first(p)
    extra = copy.deepcopy(s)
    day["stops"].insert(i + 1, extra)
    inst2 = copy.deepcopy(inst)
    for site in inst2["sites"]:
        if site["code"] == s["site_code"]:
            site["unrecorded"] = site["max_people"] = s["expected"]
    assert any("belum rekam" in e for e in validate_plan(p, inst2))


def test_river_village_by_road_team_is_caught(solved):
    plan, inst = solved
    p = copy.deepcopy(plan)
    # move the river stop (done by the boat team) to the road team
    t, day, i, s = _first(p, lambda t, day, i, s: s["site_code"] == "V.R")
    road = next(x for x in p["teams"] if x["mode"] == "road")
    road["days"][0]["stops"].insert(0, copy.deepcopy(s))
    assert any("sungai" in e for e in validate_plan(p, inst))


def test_too_many_nights_and_not_back_at_base_are_caught(solved):
    plan, inst = solved
    p = copy.deepcopy(plan)
    day_team = next(x for x in p["teams"] if x["max_nights"] == 0)
    assert day_team["days"], "the day-trip team has work"
    d0 = day_team["days"][-1]
    last = d0["stops"][-1]
    d0["end"] = {"lat": last["lat"], "lon": last["lon"], "code": last["site_code"], "name": last["name"]}
    errs = validate_plan(p, inst)
    assert any("malam" in e for e in errs)
    assert any("kembali ke basis" in e for e in errs)


def test_unknown_reason_and_missing_site_are_caught(solved):
    plan, inst = solved
    p = copy.deepcopy(plan)
    p["dropped"].append({"site_code": "V.1", "name": "x", "reason": "lazy"})
    assert any("Alasan" in e for e in validate_plan(p, inst))
    p = copy.deepcopy(plan)
    for t in p["teams"]:
        for day in t["days"]:
            day["stops"] = [s for s in day["stops"] if s["site_code"] != "V.1"]
    p["dropped"] = [x for x in p["dropped"] if x["site_code"] != "V.1"]
    assert any("V.1" in e for e in validate_plan(p, inst))
