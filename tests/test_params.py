"""The plan request (``plan-params/1``): checked at the door with messages naming the field,
serialised one way, and described by ``planner/schemas/plan-params.schema.json``."""

from __future__ import annotations

import copy

import pytest

from planner import params as P
from planner import plan_json

BASE = {"id": 1, "name": "Kantor (fiktif)", "lat": -2.54, "lon": 112.95}


def good() -> dict:
    return P.build(name="Uji", dataset_id=1, teams=[P.team("Tim 1", BASE),
                                                     P.team("Tim 2", BASE, mode="both", max_nights=2)],
                   start_date="2026-12-07", days=5, holidays=["2026-12-25"],
                   must_visit=["99.01.01.2001"], pooling={"radius_km": 4},
                   locks=[{"site_code": "99.01.01.2002", "date": "2026-12-08", "team": "Tim 2"}],
                   time_limit=10, seed=3).to_dict()


def test_round_trip_is_exact_and_matches_the_schema():
    d = good()
    assert P.PlanParams.from_dict(d).to_dict() == d
    assert plan_json.params_schema_errors(d) == []
    assert d["format"] == "plan-params/1"
    assert d["teams"][1] == {"name": "Tim 2", "base": BASE, "mode": "both", "kits": 3,
                             "max_nights": 2, "minutes_per_person": 3.5, "setup_min": 30,
                             "available_dates": None}
    assert d["calendar"] == {"start_date": "2026-12-07", "days": 5, "work_start": "08:00",
                             "work_end": "16:00", "skip_weekends": True,
                             "holidays": ["2026-12-25"]}
    assert d["solver"] == {"time_limit": 10.0, "seed": 3, "solution_limit": None}
    assert d["travel"] == {"source": "builtin", "settings": {}}
    assert d["replan"] is None


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("format"), "format harus 'plan-params/1'"),
    (lambda d: d.update(teams=[]), "teams: paling sedikit satu tim"),
    (lambda d: d["teams"][0].update(kits=0), "tim 1 (Tim 1).kits: harus paling sedikit 1"),
    (lambda d: d["teams"][0].update(kits=2.5), "tim 1 (Tim 1).kits: harus bilangan bulat"),
    (lambda d: d["teams"][1].update(mode="plane"), "tim 2 (Tim 2).mode: harus road, river atau both"),
    (lambda d: d["teams"][0]["base"].update(lat=212.9), "base.lat: paling banyak 90"),
    (lambda d: d["teams"][0]["base"].pop("lon"), "base.lon: wajib diisi"),
    (lambda d: d["teams"][1].update(name="Tim 1"), "nama tim harus berbeda: Tim 1"),
    (lambda d: d["calendar"].update(start_date="1-12-2026"), "calendar.start_date: tanggal tidak sah"),
    (lambda d: d["calendar"].update(days=0), "calendar.days: harus paling sedikit 1"),
    (lambda d: d["calendar"].update(work_end="08:30"), "jam kerja minimal satu jam"),
    (lambda d: d["calendar"].update(work_start="25:99"), "calendar.work_start: jam tidak sah"),
    (lambda d: d["selection"].update(turnout=0), "selection.turnout: harus di atas 0"),
    (lambda d: d["selection"].update(exclude=["99.01.01.2001"]), "sekaligus wajib dan dikecualikan"),
    (lambda d: d["locks"][0].update(team="Tim Hantu"), "tim 'Tim Hantu' tidak ada dalam rencana"),
    (lambda d: d.update(pooling={"radius_km": 80}), "pooling.radius_km: paling banyak 50"),
    (lambda d: d.update(travel={"source": "osrm", "settings": {}}), "travel.url: wajib diisi"),
    (lambda d: d.update(travel={"source": "builtin", "settings": {"road_speed": 40}}),
     "travel.settings: tidak dikenal: road_speed"),
    (lambda d: d["solver"].update(time_limit=0), "solver.time_limit: harus paling sedikit 0.5"),
    (lambda d: d.update(extra=1), "kunci tidak dikenal: extra"),
    (lambda d: d.update(replan={"plan_id": 3, "from_date": "kemarin", "from_version": 1}),
     "replan.from_date: tanggal tidak sah"),
])
def test_bad_requests_are_refused_naming_the_field(change, message):
    d = good()
    change(d)
    with pytest.raises(P.ParamsError) as exc:
        P.PlanParams.from_dict(d)
    assert message in str(exc.value)
    assert str(exc.value).startswith("Parameter rencana tidak sah: ")


def test_every_problem_is_listed_at_once():
    d = good()
    d["teams"][0]["kits"] = -1
    d["calendar"]["days"] = 0
    d["selection"]["turnout"] = 7
    with pytest.raises(P.ParamsError) as exc:
        P.PlanParams.from_dict(d)
    assert len(exc.value.problems) == 3


def test_the_schema_refuses_what_the_reader_refuses():
    """The written contract and the check at the door agree on a few representative cases."""
    for change in (lambda d: d["teams"][0].update(mode="plane"),
                   lambda d: d["calendar"].update(days=0),
                   lambda d: d.update(extra=1),
                   lambda d: d["solver"].pop("seed")):
        d = good()
        change(d)
        assert plan_json.params_schema_errors(d), d
        if "seed" in d["solver"]:  # a missing solver key gets its default at the door
            with pytest.raises(P.ParamsError):
                P.PlanParams.from_dict(d)


def test_params_are_immutable_and_replace_makes_a_copy():
    p = P.PlanParams.from_dict(good())
    with pytest.raises(AttributeError):
        p.name = "x"
    q = p.replace(name="Lain")
    assert (p.name, q.name) == ("Uji", "Lain")
    assert copy.deepcopy(p) == p


def test_engine_request_round_trip():
    """The engine's request made from the params describes the same request."""
    from planner.engine import params_from_request, request_from_params

    d = good()
    p = P.PlanParams.from_dict(d)
    back = params_from_request(request_from_params(p)).to_dict()
    for key in ("teams", "calendar", "selection", "locks", "pooling", "model"):
        want = copy.deepcopy(d[key])
        if key == "teams":
            for t in want:
                t["base"].pop("id")  # the engine knows a base by its place, not its row
        if key == "pooling":
            want["decay"] = 1.0  # the engine's default, now written out
        assert back[key] == want, key
