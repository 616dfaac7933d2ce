"""Planning engine on small synthetic instances: every solve is re-checked by the validator."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pandas as pd
import pytest

from planner.engine import (
    Lock,
    Plan,
    PlanInputError,
    PlanRequest,
    SiteSpec,
    TeamSpec,
    build_instance,
    solve,
    validate_plan,
)
from planner.engine.solver import trip_slots

BASE = ("Kantor", -2.5336, 112.9497)
MONDAY = dt.date(2026, 11, 30)


def at(km_north: float, km_east: float) -> tuple[float, float]:
    return BASE[1] + km_north / 111.0, BASE[2] + km_east / 111.0


def village(code, name, km_n, km_e, unrecorded, access="road", obliged=None, kecamatan="Kec"):
    lat, lon = at(km_n, km_e)
    obliged = obliged if obliged is not None else unrecorded * 10
    return {"code": code, "name": name, "kecamatan": kecamatan, "kecamatan_code": "K",
            "type": "desa", "access": access, "no_signal": False, "stop_lat": lat, "stop_lon": lon,
            "population": obliged * 2, "obliged": obliged, "recorded": obliged - unrecorded}


def frame(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def team(name="Tim 1", mode="road", nights=0, kits=3, dates=None):
    return TeamSpec(name=name, base=BASE, kits=kits, mode=mode, max_nights=nights,
                    available_dates=dates)


def run(fr, teams, days=3, *, time_limit=2, seed=1, workers=1, solution_limit=None, **kw):
    req = PlanRequest(teams=tuple(teams), start_date=MONDAY, days=days, **kw)
    inst = build_instance(fr, req)
    plan = solve(inst, time_limit=time_limit, seed=seed, workers=workers,
                 solution_limit=solution_limit)
    d = plan.to_dict()
    errors = validate_plan(d, inst.to_dict())
    assert errors == [], errors
    return inst, plan, d


def stops(d, team_name=None):
    return [(t["name"], day["date"], s) for t in d["teams"] for day in t["days"]
            for s in day["stops"] if team_name in (None, t["name"])]


def test_small_plan_visits_everything_and_is_valid():
    fr = frame(village("V.1", "Satu", 10, 0, 100), village("V.2", "Dua", -12, 5, 80),
               village("V.3", "Tiga", 5, -15, 60), village("V.4", "Empat", 20, 20, 90))
    inst, plan, d = run(fr, [team("Tim 1"), team("Tim 2")], days=2)
    seen = {s["site_code"] for _, _, s in stops(d)}
    assert seen == {"V.1", "V.2", "V.3", "V.4"}
    assert d["totals"]["people"] == sum(v.expected for v in inst.visits)
    assert d["dropped"] == []
    s = stops(d)[0][2]
    for key in ("site_code", "name", "lat", "lon", "arrive", "depart", "expected",
                "km_from_prev", "min_from_prev", "mode", "no_signal", "locked", "kind", "pooled"):
        assert key in s
    cal = d["params"]["calendar"]
    assert cal["work_start"] == "08:00" and cal["work_end"] == "16:00"
    # expected = unrecorded × turnout
    assert {v.expected for v in inst.visits if inst.sites[v.site].code == "V.1"} == {60}


def test_selection_below_must_visit_exclude_and_overrides():
    fr = frame(village("V.1", "Rendah", 10, 0, 300, obliged=1000),      # rate 0.70
               village("V.2", "Tinggi", -10, 0, 20, obliged=1000),      # rate 0.98
               village("V.3", "Dikecualikan", 5, 5, 400, obliged=1000),
               village("V.4", "Nol", 3, 3, 0, obliged=1000))
    req = PlanRequest(teams=(team(),), start_date=MONDAY, days=2, below=0.95,
                      must_visit=("V.2",), exclude=("V.3",), turnout_overrides={"V.1": 0.5})
    inst = build_instance(fr, req)
    codes = {s.code for s in inst.sites}
    assert codes == {"V.1", "V.2"}
    assert next(s for s in inst.sites if s.code == "V.1").expected == 150
    must = [v for v in inst.visits if inst.sites[v.site].code == "V.2"]
    assert must[0].must and must[0].value > 20 * 12 * 30 * 10 / 12


def test_extra_sites_school_and_prison():
    fr = frame(village("V.1", "Satu", 8, 0, 100))
    lat, lon = at(-6, 4)
    school = SiteSpec(code="SMA-1", name="SMAN 1", kecamatan="Kec", lat=lat, lon=lon,
                      access="road", unrecorded=120, expected=120, kind="school",
                      minutes_per_person=2.0, open_time="08:00", close_time="13:00")
    inst, plan, d = run(fr, [team()], days=2, extra_sites=(school,))
    st = [s for _, _, s in stops(d) if s["site_code"] == "SMA-1"]
    assert st and st[0]["kind"] == "school" and st[0]["depart"] <= "13:00"
    # service uses the site's 2 minutes per person: 30 + 120*2/3 = 110 minutes
    assert st[0]["service_min"] == 110


def test_large_village_is_split_over_days_never_more_than_unrecorded():
    fr = frame(village("V.BIG", "Besar", 6, 0, 1500))
    inst, plan, d = run(fr, [team("Tim 1", nights=0)], days=5, time_limit=3)
    visits = [v for v in inst.visits if inst.sites[v.site].code == "V.BIG"]
    assert len(visits) >= 3
    assert sum(v.expected for v in visits) == 900          # 1500 × 0.6
    got = [(date, s) for _, date, s in stops(d)]
    assert len({date for date, _ in got}) >= 3              # several days
    assert sum(s["expected"] for _, s in got) <= 1500
    assert {s["visit"].split("/")[1] for _, s in got} == {str(len(visits))}


def test_river_only_village_needs_a_boat_team():
    fr = frame(village("V.R", "Sungai", 8, 8, 100, access="river"), village("V.1", "Darat", 5, 0, 50))
    inst, plan, d = run(fr, [team("Tim Darat", mode="road")], days=1)
    dropped = {x["site_code"]: x for x in d["dropped"]}
    assert dropped["V.R"]["reason"] == "unreachable"
    assert "sungai" in dropped["V.R"]["detail"].lower()
    inst, plan, d = run(fr, [team("Tim Darat", mode="road"), team("Tim Perahu", mode="both")], days=1)
    river = [(t, s) for t, _, s in stops(d) if s["site_code"] == "V.R"]
    assert river and river[0][0] == "Tim Perahu" and river[0][1]["mode"] == "river"


def test_far_village_reached_with_a_night_away():
    # ~190 km east: more than four hours each way, no day trip possible
    fr = frame(village("V.FAR", "Jauh", 0, 190, 200), village("V.1", "Dekat", 5, 0, 40))
    inst, plan, d = run(fr, [team("Tim 1", nights=0)], days=3)
    assert {x["site_code"]: x["reason"] for x in d["dropped"]}["V.FAR"] == "unreachable"
    assert all(day["end"]["code"] is None for t in d["teams"] for day in t["days"])

    inst, plan, d = run(fr, [team("Tim 1", nights=2)], days=3, time_limit=3)
    minutes = inst.to_dict()["matrices"]["road"]["minutes"]
    assert minutes[0][inst.site_points[[s.code for s in inst.sites].index("V.FAR")]] > 240
    far = [(date, s) for _, date, s in stops(d) if s["site_code"] == "V.FAR"]
    assert far, d["dropped"]
    days = d["teams"][0]["days"]
    away = [day for day in days if day["end"]["code"]]
    assert 1 <= len(away) <= 2
    assert days[-1]["end"]["code"] is None                     # back at base


def test_max_nights_zero_never_sleeps_away_and_slots():
    fr = frame(*[village(f"V.{i}", f"Desa {i}", 10 * i - 30, 15, 70) for i in range(7)])
    req = PlanRequest(teams=(team("Tim 1", nights=0), team("Tim 2", nights=3)),
                      start_date=MONDAY, days=7)
    inst = build_instance(fr, req)
    slots = trip_slots(inst)
    # 7 working days from a Monday: Mon–Fri + Mon–Tue; a 3-night team gets runs of ≤ 4 days,
    # never across the weekend
    t2 = [s.offsets for s in slots if s.team == 1]
    assert all(len(o) <= 4 for o in t2)
    assert all(b - a == 1 for o in t2 for a, b in zip(o, o[1:], strict=False))
    assert sum(len(o) for o in t2) == 7
    assert sum(1 for s in slots if s.team == 0) == 7
    plan = solve(inst, time_limit=2, workers=1)
    d = plan.to_dict()
    assert validate_plan(d, inst.to_dict()) == []
    t1 = next(t for t in d["teams"] if t["name"] == "Tim 1")
    assert all(day["end"]["code"] is None and day["start"]["code"] is None for day in t1["days"])


def test_locks_are_honoured():
    fr = frame(village("V.1", "Satu", 10, 0, 100), village("V.2", "Dua", -12, 5, 80),
               village("V.3", "Tiga", 5, -15, 60))
    wed = MONDAY + dt.timedelta(days=2)
    locks = (Lock("V.3", wed, "Tim 2"), Lock("V.1", MONDAY, "Tim 1"))
    inst, plan, d = run(fr, [team("Tim 1"), team("Tim 2")], days=3, locks=locks)
    by_code = {(s["site_code"], date, t): s for t, date, s in stops(d)}
    assert by_code[("V.3", wed.isoformat(), "Tim 2")]["locked"] is True
    assert by_code[("V.1", MONDAY.isoformat(), "Tim 1")]["locked"] is True
    # the validator notices a missing lock
    broken = copy.deepcopy(d)
    for t in broken["teams"]:
        for day in t["days"]:
            day["stops"] = [s for s in day["stops"] if s["site_code"] != "V.3"]
    assert any("Kunci" in e for e in validate_plan(broken, inst.to_dict()))


def test_lock_on_a_day_off_is_a_clear_error():
    fr = frame(village("V.1", "Satu", 10, 0, 100))
    saturday = MONDAY + dt.timedelta(days=5)
    req = PlanRequest(teams=(team(),), start_date=MONDAY, days=3, locks=(Lock("V.1", saturday, "Tim 1"),))
    with pytest.raises(PlanInputError, match="tidak bekerja"):
        solve(build_instance(fr, req), time_limit=1, workers=1)
    req = PlanRequest(teams=(team(),), start_date=MONDAY, days=3, locks=(Lock("V.9", MONDAY, "Tim 1"),))
    with pytest.raises(PlanInputError, match="V.9"):
        build_instance(fr, req)


def test_dropped_reasons_unreachable_and_capacity():
    rows = [village("V.FAR", "Jauh", 0, 200, 300)]
    rows += [village(f"V.{i}", f"Besar {i}", 3 + i, 0, 600) for i in range(4)]
    inst, plan, d = run(frame(*rows), [team("Tim 1", nights=0)], days=1, time_limit=2)
    reasons = {x["site_code"]: x["reason"] for x in d["dropped"]}
    assert reasons["V.FAR"] == "unreachable"
    assert "capacity" in reasons.values()
    assert all(x["detail"] for x in d["dropped"])
    assert d["totals"]["people"] > 0


def test_not_worth_small_far_village():
    # one person 3 hours away on an otherwise idle team: not worth the trip
    fr = frame(village("V.1", "Dekat", 5, 0, 100), village("V.T", "Kecil Jauh", 0, 95, 1))
    inst, plan, d = run(fr, [team("Tim 1", nights=0)], days=2, person_value_min=30)
    assert {x["site_code"]: x["reason"] for x in d["dropped"]} == {"V.T": "not_worth"}


def test_same_seed_same_plan_and_json_round_trip():
    fr = frame(*[village(f"V.{i}", f"Desa {i}", (i * 7) % 40 - 20, (i * 13) % 50 - 25, 60 + 10 * i)
                 for i in range(12)])
    teams = [team("Tim 1"), team("Tim 2", nights=2)]
    kw = dict(days=4, time_limit=10, solution_limit=60)
    _, p1, d1 = run(fr, teams, seed=3, **kw)
    _, p2, d2 = run(fr, teams, seed=3, **kw)
    d1.pop("solver"), d2.pop("solver")
    assert json.dumps(d1, sort_keys=True) == json.dumps(d2, sort_keys=True)
    assert p1.plan_id == p2.plan_id
    full = p1.to_dict()
    text = json.dumps(full, allow_nan=False)
    back = Plan.from_dict(json.loads(text))
    assert back.to_dict() == full
    assert back == Plan.from_dict(json.loads(text))
    with pytest.raises(AttributeError):
        back.people = 0  # frozen


def test_two_workers_and_progress():
    fr = frame(*[village(f"V.{i}", f"Desa {i}", (i * 9) % 30 - 15, (i * 5) % 30 - 15, 80)
                 for i in range(10)])
    req = PlanRequest(teams=(team("Tim 1"), team("Tim 2")), start_date=MONDAY, days=2)
    inst = build_instance(fr, req)
    seen = []
    plan = solve(inst, time_limit=2, workers=2, progress=lambda e, b, n: seen.append((e, b, n)))
    assert seen and seen[-1][1] > 0 and all(e >= 0 for e, _, _ in seen)
    assert validate_plan(plan.to_dict(), inst.to_dict()) == []


def test_empty_selection_gives_an_empty_valid_plan():
    fr = frame(village("V.1", "Satu", 10, 0, 0))
    inst, plan, d = run(fr, [team()], days=1)
    assert d["totals"]["people"] == 0 and d["dropped"] == [] and stops(d) == []


def test_bad_input_is_a_clear_error():
    fr = frame(village("V.1", "Satu", 10, 0, 10))
    with pytest.raises(PlanInputError):
        build_instance(fr, PlanRequest(teams=(), start_date=MONDAY, days=1))
    with pytest.raises(PlanInputError):
        build_instance(fr, PlanRequest(teams=(team(mode="plane"),), start_date=MONDAY, days=1))
    with pytest.raises(PlanInputError):
        build_instance(fr, PlanRequest(teams=(team(),), start_date=MONDAY, days=1, work_start="25:00"))
    with pytest.raises(PlanInputError):
        build_instance(fr, PlanRequest(teams=(team(), team()), start_date=MONDAY, days=1))


def test_instance_export_is_plain_json():
    fr = frame(village("V.R", "Sungai", 8, 8, 100, access="river"), village("V.1", "Darat", 5, 0, 50))
    req = PlanRequest(teams=(team(mode="road"), team("Tim 2", mode="both")), start_date=MONDAY, days=2,
                      holidays=(MONDAY + dt.timedelta(days=1),))
    inst = build_instance(fr, req)
    d = json.loads(json.dumps(inst.to_dict(), allow_nan=False))
    assert d["calendar"]["dates"] == ["2026-11-30", "2026-12-02"]
    assert set(d["matrices"]) == {"road", "both"}
    assert {s["code"] for s in d["sites"]} == {"V.R", "V.1"}
    assert all("service_min" in v and "value" in v for v in d["visits"])


def test_pooled_collection_point_is_planned_and_valid():
    from planner.engine.pooling import PoolingParams

    fr = frame(village("V.H", "Tuan Rumah", 10, 0, 200), village("V.N1", "Tetangga 1", 11, 1, 40),
               village("V.N2", "Tetangga 2", 9, -1, 30), village("V.X", "Jauh Sendiri", -20, 10, 100))
    inst, plan, d = run(fr, [team()], days=2, pooling=PoolingParams(radius_km=5, decay=0.0,
                                                                     method="greedy"))
    hosts = [s for s in inst.sites if s.pooled]
    assert len(hosts) == 1 and len(inst.sites) == 2
    st = [s for _, _, s in stops(d) if s["pooled"]]
    assert st and {p["code"] for p in st[0]["pooled"]} == {x["code"] for x in hosts[0].pooled}
    assert sum(s["expected"] for _, _, s in stops(d) if s["site_code"] == hosts[0].code) <= \
        hosts[0].unrecorded


def test_replan_keeps_the_done_stops_as_locks():
    fr = frame(*[village(f"V.{i}", f"Desa {i}", (i * 11) % 40 - 20, (i * 7) % 40 - 20, 90 + 15 * i)
                 for i in range(10)])
    teams = [team("Tim 1", nights=1), team("Tim 2")]
    _, _, first = run(fr, teams, days=3, time_limit=2)
    day1 = MONDAY.isoformat()
    done = [(t, s["site_code"]) for t, date, s in stops(first) if date == day1]
    assert done
    locks = tuple(Lock(code, MONDAY, t) for t, code in done)
    # a new village appears for the re-plan; the first day's stops stay where they were
    fr2 = pd.concat([fr, frame(village("V.NEW", "Baru", 3, 3, 300))], ignore_index=True)
    inst, plan, d = run(fr2, teams, days=3, time_limit=2, locks=locks)
    kept = {(t, s["site_code"]) for t, date, s in stops(d) if date == day1 and s["locked"]}
    assert kept == set(done)


def _far_frame():
    return frame(village("V.FAR", "Jauh", 0, 190, 200), village("V.F2", "Jauh Dua", 8, 185, 60),
                 village("V.1", "Dekat", 5, 0, 40))


def test_team_on_a_trip_continues_from_where_it_sleeps():
    """A re-plan of a team that slept at V.FAR last night: it wakes up there, may sleep away
    only the nights it has left, and the trip ends at base."""
    lat, lon = at(0, 190)
    t = TeamSpec(name="Tim 1", base=BASE, kits=3, mode="road", max_nights=2,
                 start_at=("V.FAR", "Jauh", lat, lon), nights_used=1)
    inst, plan, d = run(_far_frame(), [t], days=3, time_limit=3)
    slots = trip_slots(inst)
    assert slots[0].offsets == (0, 1)          # one night left: a two-day first trip
    days = d["teams"][0]["days"]
    assert days[0]["date"] == MONDAY.isoformat()
    assert days[0]["start"]["code"] == "V.FAR"  # wakes up at the village, not at base
    assert sum(1 for day in days[:2] if day["end"]["code"]) <= 1  # only the night it has left
    assert days[-1]["end"]["code"] is None
    # the instance export carries it, so the independent validator checks it
    td = inst.to_dict()["teams"][0]
    assert td["nights_used"] == 1 and td["start_point"] is not None
    # the same plan read as if the team had woken up at base is wrong: the validator says so
    wrong = copy.deepcopy(inst.to_dict())
    wrong["teams"][0]["start_point"] = None
    assert any("dimulai" in e for e in validate_plan(d, wrong))


def test_team_out_of_nights_goes_home_on_the_first_day():
    lat, lon = at(0, 190)
    t = TeamSpec(name="Tim 1", base=BASE, kits=3, mode="road", max_nights=2,
                 start_at=("V.FAR", "Jauh", lat, lon), nights_used=2)
    inst, plan, d = run(_far_frame(), [t], days=2, time_limit=3)
    assert trip_slots(inst)[0].offsets == (0,)
    first = d["teams"][0]["days"][0]
    assert first["start"]["code"] == "V.FAR" and first["end"]["code"] is None
    assert first["min_to_end"] > 0 or first["stops"]


def test_team_on_a_trip_with_nothing_to_do_still_comes_home():
    lat, lon = at(0, 190)
    t = TeamSpec(name="Tim 1", base=BASE, kits=3, mode="road", max_nights=2,
                 start_at=("V.FAR", "Jauh", lat, lon), nights_used=1)
    inst, plan, d = run(frame(), [t], days=2, time_limit=1)
    days = d["teams"][0]["days"]
    assert days and days[0]["start"]["code"] == "V.FAR" and days[-1]["end"]["code"] is None
