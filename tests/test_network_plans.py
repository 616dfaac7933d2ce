"""Plans along the road and river network, on the fictional demo, through the real pipeline
(real network import, real OR-Tools solves, real database): the demo ships its network and the
sample plan uses it; a boat team's river legs follow the demo river; upstream takes longer than
downstream; a river-only village beyond the end of the road is reached through the pier; plans
with the network on and off; legs that fall back to the built-in estimate are reported; maps,
day sheets and exports follow the paths.

Distances to the river lines are measured in UTM zone 49S (EPSG:32749), the metric CRS of the
demo's longitudes (about 111.4-111.8 E).
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import geopandas as gpd
import gpxpy
import numpy as np
import pytest
import shapely

from planner import exports, maps, networks, pipeline, plan_json, repository, settings, sheets
from planner.params import build, team
from planner.paths import DATA_DIR
from planner.travel import INF_MIN

NETWORK_FILE = DATA_DIR / "demo_network.geojson"
META = json.loads((DATA_DIR / "demo.json").read_text(encoding="utf-8"))
METRIC = 32749
MONDAY = dt.date(2026, 12, 7)


# --------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def demo_lines():
    frame = gpd.read_file(NETWORK_FILE)
    rivers = frame[frame["kind"] == "river"].to_crs(METRIC)
    main = rivers[rivers["role"] == "main"]
    return {"rivers": shapely.union_all(rivers.geometry.values),
            "main": shapely.union_all(main.geometry.values),
            "main_ll": shapely.union_all(frame[(frame["kind"] == "river")
                                               & (frame["role"] == "main")].geometry.values)}


def metres_to(coords, geom) -> np.ndarray:
    """Distances (m) from ``[(lat, lon), ...]`` to ``geom`` (already in EPSG:32749)."""
    pts = gpd.GeoSeries(shapely.points([(lo, la) for la, lo in coords]), crs=4326).to_crs(METRIC)
    return shapely.distance(pts.values, geom)


def base(i: int) -> dict:
    b = META["bases"][i]
    return {"name": b["name"], "lat": b["lat"], "lon": b["lon"]}


def params(teams, *, days=3, time_limit=2, travel=None, **kw):
    return build(teams=teams, dataset_id=repository.current_dataset().id, start_date=MONDAY,
                 days=days, time_limit=time_limit, seed=1,
                 travel=travel if travel is not None else settings.travel_choice(), **kw)


def villages():
    frame = repository.villages_frame(with_stats=False)
    return frame.rename(columns={"stop_lat": "lat", "stop_lon": "lon"})


def beyond_road_end(frame):
    return frame[(frame["access"] == "river") & (frame["lat"] > META["road_end"]["lat"] + 0.1)]


def moving_legs(plan, team_name=None):
    return [leg for leg in plan_json.iter_legs(plan, team_name) if leg.moves]


# --------------------------------------------------------------------------- the demo
def test_the_demo_ships_its_network_and_new_plans_use_it(demo_app):
    doc = json.loads(NETWORK_FILE.read_text(encoding="utf-8"))
    assert doc["fictional"] is True and "FIKTIF" in doc["description"]
    kinds = {f["properties"]["kind"] for f in doc["features"]}
    assert kinds == {"road", "river", "pier"}
    pier = META["network"]["piers"][0]
    assert (pier["name"], pier["lat"], pier["lon"]) == (
        META["bases"][1]["name"], META["bases"][1]["lat"], META["bases"][1]["lon"])
    with demo_app.app_context():
        layers = networks.list_layers()
        assert sorted(layer["kind"] for layer in layers) == ["pier", "river", "road"]
        assert all("fiktif" in layer["name"] for layer in layers)
        assert not settings.is_set("travel")
        assert settings.travel_choice()["source"] == "network"  # layers imported: plans use them
        # an explicit choice of the office wins
        settings.put("travel", {"source": "builtin", "settings": {}})
        assert settings.travel_choice()["source"] == "builtin"


def test_the_settings_page_offers_the_network_once_layers_exist(app, client):
    page = client.get("/pengaturan/perjalanan").get_data(as_text=True)
    assert 'value="network"' not in page and "planner import-network" in page
    from planner.demo import load_demo

    with app.app_context():
        load_demo()
    page = client.get("/pengaturan/perjalanan").get_data(as_text=True)
    assert 'value="network"' in page and 'id="network-note"' in page
    r = client.post("/pengaturan/perjalanan", data={
        "source": "network", "road_speed_kmh": "40", "road_circuity": "1.35",
        "road_cost_per_km": "4000", "river_speed_kmh": "18", "river_circuity": "1.6",
        "river_cost_per_km": "45000", "dry_season_factor": "1", "pier_transfer_min": "20",
        "action": "save"})
    assert r.status_code == 302
    with app.app_context():
        assert settings.travel_choice() == {"source": "network", "settings": {}}
        from planner.web.settings import sample_legs

        # the preview's sample legs: the same network a plan uses, vs the built-in model
        builtin = {"source": "builtin", "settings": {}}
        on_net = sample_legs(builtin)  # "now" = the stored choice (network)
        assert len(on_net) == 3
        assert any(r["now"] != r["new"] for r in on_net)
        src = networks.travel_source()
        base = repository.default_base()
        frame = repository.villages_frame(with_stats=False)
        far = frame.set_index("name").loc[on_net[1]["name"]]
        pts = [{"lat": base.lat, "lon": base.lon, "access": "both"},
               {"lat": far["stop_lat"], "lon": far["stop_lon"], "access": far["access"]}]
        import pandas as pd

        m = src.matrices(pd.DataFrame(pts), "road")
        assert on_net[1]["now"]["minutes"] == int(m.minutes[0, 1])


def test_a_boat_teams_river_legs_follow_the_demo_river(demo_app, client, demo_lines):
    with demo_app.app_context():
        version = pipeline.create_sample_plan(time_limit=3, start_date=MONDAY, workers=1)
        plan = version.result
        url = f"/rencana/{version.plan_id}/v{version.version}"
    page = client.get(url).get_data(as_text=True)
    assert 'id="plan-travel"' in page and "jaringan jalan dan sungai" in page
    full = client.get(url + "/map.html").get_data(as_text=True)  # the full-screen map
    assert maps.RIVER_COLOR in full
    assert plan["params"]["travel"]["source"] == "network"
    assert plan["travel"]["used"] == "network"
    boat = next(t for t in plan["teams"] if t["mode"] == "river")
    legs = [leg for leg in moving_legs(plan, boat["name"]) if leg.mode == "river"]
    assert len(legs) >= 2
    checked = 0
    for leg in legs:
        assert leg.path is not None and leg.path["fallback"] is False
        modes = [p["mode"] for p in leg.path["parts"]]
        assert "river" in modes and set(modes) <= {"river", "access"}
        for part in leg.path["parts"]:
            d = metres_to(part["coords"], demo_lines["rivers"])
            if part["mode"] == "river":
                assert d.max() < 50, (leg.date, leg.dest.get("name"), d.max())
                checked += len(d)
            else:  # the walk from the village to the river and back
                assert part is leg.path["parts"][0] or part is leg.path["parts"][-1]
        # the path starts and ends at the leg's two places
        first, last = leg.path["parts"][0]["coords"][0], leg.path["parts"][-1]["coords"][-1]
        assert first == [round(leg.origin["lat"], 5), round(leg.origin["lon"], 5)]
        assert last == [round(leg.dest["lat"], 5), round(leg.dest["lon"], 5)]
    assert checked > 20


def test_upstream_takes_longer_than_the_same_leg_downstream(demo_app, demo_lines):
    with demo_app.app_context():
        frame = beyond_road_end(villages())
        near_main = [shapely.distance(shapely.Point(lo, la), demo_lines["main_ll"]) * 111 < 1.0
                     for la, lo in zip(frame["lat"], frame["lon"], strict=True)]
        on_main = frame[near_main].sort_values("lat")
        south, north = on_main.iloc[0], on_main.iloc[-1]
        assert north["lat"] - south["lat"] > 0.2
        p = params([team("Perahu", base(1), mode="river", max_nights=3)],
                   must_visit=[south["code"], north["code"]])
        _ds, instance, src = pipeline._build(p)
    m = instance.matrices["river"]
    codes = list(instance.points["code"])
    a, b = codes.index(south["code"]), codes.index(north["code"])
    up, down = int(m.minutes[a, b]), int(m.minutes[b, a])
    assert down < up < INF_MIN
    assert up > 1.2 * down  # main river: 17 km/h up, 23 km/h down
    assert m.km[a, b] == pytest.approx(m.km[b, a], abs=0.1)
    assert not src.fallback_legs[a, b] and not src.fallback_legs[b, a]


def test_a_river_only_village_beyond_the_road_end_is_reached_through_the_pier(demo_app):
    pier = META["network"]["piers"][0]
    with demo_app.app_context():
        frame = beyond_road_end(villages())
        d = (frame["lat"] - pier["lat"]) ** 2 + (frame["lon"] - pier["lon"]) ** 2
        target = frame.loc[d.idxmin()]
        # a car alone cannot get there
        p_car = params([team("Mobil", base(0), mode="road")])
        _ds, inst_car, _src = pipeline._build(p_car)
        codes = list(inst_car.points["code"])
        assert inst_car.matrices["road"].minutes[0, codes.index(target["code"])] >= INF_MIN
        # a car-and-boat team from the office in the capital drives to the pier, takes the boat
        p = params([team("Mobil+perahu", base(0), mode="both", max_nights=3)], days=3,
                   time_limit=3, must_visit=[target["code"]])
        _ds, instance, src = pipeline._build(p)
        outcome = pipeline.solve(p, workers=1)
    codes = list(instance.points["code"])
    office, village = 0, codes.index(target["code"])
    route = src.route(office, village, "both")
    assert not route.fallback and instance.matrices["both"].minutes[office, village] < INF_MIN
    modes = [m for m, _c in route.parts if m != "access"]
    assert modes == ["road", "pier", "river"]
    for _m, coords in (p for p in route.parts if p[0] == "pier"):
        for la, lo in coords:  # the change happens at the demo's pier where the road ends
            assert abs(la - pier["lat"]) < 0.02 and abs(lo - pier["lon"]) < 0.02
    # ... 20 min of transfer included: the river part alone is shorter than the leg
    assert instance.matrices["both"].minutes[office, village] > 20
    # in the plan the village is visited, its leg on the river (never a straight fallback)
    plan = outcome.plan
    legs = moving_legs(plan)
    into = next(leg for leg in legs if leg.dest.get("site_code") == target["code"])
    assert into.mode == "river" and into.path and not into.path["fallback"]
    trip = [part["mode"] for leg in legs[: legs.index(into) + 1] for part in leg.path["parts"]]
    assert "road" in trip and "river" in trip


# --------------------------------------------------------------------------- on and off
def test_plans_with_the_network_on_and_off_through_the_pipeline(demo_app):
    teams = [team("Tim darat", base(0), mode="road", max_nights=1),
             team("Tim perahu", base(1), mode="river", max_nights=2)]
    with demo_app.app_context():
        off = pipeline.run(params(teams, travel={"source": "builtin", "settings": {}}), workers=1)
        on = pipeline.run(params(teams, travel={"source": "network", "settings": {}}), workers=1)
        plan_off, plan_on = off.result, on.result
    assert plan_json.schema_errors(plan_off) == [] and plan_json.schema_errors(plan_on) == []
    assert plan_off["travel"] == {"source": "builtin", "used": "builtin", "notes": []}
    assert all(leg.path is None for leg in plan_json.iter_legs(plan_off))
    t = plan_on["travel"]
    assert (t["source"], t["used"], t["fallback_legs"]) == ("network", "network", 0)
    legs = moving_legs(plan_on)
    assert t["legs"] == len(legs) > 0 and all(leg.path for leg in legs)
    # the network's figures differ from the straight-line estimate (same source of truth:
    # the leg's minutes are those of the network)
    assert plan_on["totals"] != plan_off["totals"]
    # bounded plan files: about 20 m simplification, 5 decimals
    n_coords = sum(len(p["coords"]) for leg in legs for p in leg.path["parts"])
    assert n_coords < 80 * len(legs)
    size_on = len(json.dumps(plan_on, separators=(",", ":")))
    assert size_on < 2.5 * len(json.dumps(plan_off, separators=(",", ":"))) + 60_000

    # drawn as travelled: the route map, the day sheet sketch, GPX, KML, GeoJSON
    html = maps.render_html(maps.finish_map(maps.add_route_layer(plan_on)))
    assert maps.RIVER_COLOR in html and '"dashArray": "8 6"' in html
    boat_day = plan_json.team_days(plan_on, "Tim perahu")[0]
    svg = sheets.route_sketch_svg(boat_day)
    assert svg.count("<polyline") >= len(plan_json.point_legs(boat_day)) - 1
    assert 'stroke-dasharray="9 5"' in svg
    gpx = gpxpy.parse(exports.to_gpx(plan_on, team="Tim perahu"))
    assert any(tr.type == "river" for tr in gpx.tracks)
    kml = ET.fromstring(exports.to_kml(plan_on, team="Tim perahu").encode("utf-8"))
    assert kml.findall(f".//{{{exports.KML_NS}}}MultiGeometry")
    gj = exports.to_geojson(plan_on)
    net_legs = [f for f in gj["features"] if f["properties"].get("path") == "network"]
    assert net_legs and max(len(f["geometry"]["coordinates"]) for f in net_legs) > 2
    # a straight plan's exports keep their straight lines
    gj_off = exports.to_geojson(plan_off)
    assert all(len(f["geometry"]["coordinates"]) == 2 for f in gj_off["features"]
               if f["properties"]["role"] == "leg")


def test_legs_without_a_network_fall_back_and_the_plan_says_which(demo_app):
    """Without a river layer the boat team's legs come from the built-in estimate, the car
    team's still follow the roads: per leg, and reported."""
    teams = [team("Tim darat", base(0), mode="road"),
             team("Tim perahu", base(1), mode="river", max_nights=2)]
    with demo_app.app_context():
        for layer in networks.list_layers():
            if layer["kind"] == "river":
                networks.remove_layer(layer["id"])
        plan = pipeline.solve(params(teams, travel={"source": "network", "settings": {}}),
                              workers=1).plan
    t = plan["travel"]
    boat, car = moving_legs(plan, "Tim perahu"), moving_legs(plan, "Tim darat")
    assert t["used"] == "network"
    assert boat and car
    assert all(leg.path["fallback"] and [p["mode"] for p in leg.path["parts"]] == ["fallback"]
               for leg in boat)
    assert all(len(leg.path["parts"][0]["coords"]) == 2 for leg in boat)
    assert not any(leg.path["fallback"] for leg in car)
    assert t["fallback_legs"] == len(boat) and t["legs"] == len(boat) + len(car)
    assert t["off_network"] and any("tidak ada lapisan sungai" in n for n in t["notes"])
    # the map draws a fallback leg straight, in the leg's mode
    parts = plan_json.leg_parts(boat[0])
    assert parts == [("river", [(boat[0].origin["lat"], boat[0].origin["lon"]),
                                (boat[0].dest["lat"], boat[0].dest["lon"])])]


def test_network_asked_but_no_layers_uses_the_builtin_estimate(tiny_app):
    with tiny_app.app_context():
        b = repository.default_base()
        home = {"name": b.name, "lat": b.lat, "lon": b.lon}
        assert settings.travel_choice()["source"] == "builtin"  # nothing imported
        plan = pipeline.solve(params([team("Tim 1", home)], days=1, time_limit=1,
                                     travel={"source": "network", "settings": {}}),
                              workers=1).plan
    assert plan["travel"]["source"] == "network" and plan["travel"]["used"] == "builtin"
    assert "Belum ada lapisan" in plan["travel"]["notes"][0]
    assert all(leg.path is None for leg in plan_json.iter_legs(plan))
