"""Travel along the real roads and rivers (planner.network, planner.importer.network,
planner.networks, planner.cli.network).

Small hand-built networks with values computed by hand (speeds from planner.network: primary
55 km/h, track 15, main river 20 km/h still water with a 3 km/h current, canal 10 km/h, walk
4.5 km/h, pier transfer 20 min), then the fictional demo's rivers and roads, then the import
and the commands on a database. Real computations only.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, Point, Polygon

from planner import network as N
from planner.importer.errors import ImportProblem
from planner.importer.network import read_network
from planner.travel import INF_MIN, RIVER, ROAD, UNREACHABLE, GreatCircleTravel, TravelParams

DATA = Path(__file__).resolve().parents[1] / "data"
LAT0, LON0 = -2.5, 112.5
KX = N.KM_PER_DEG_LON * math.cos(math.radians(LAT0))


def ll(x: float, y: float) -> tuple[float, float]:
    """(lon, lat) of a point x km east and y km north of the origin."""
    return LON0 + x / KX, LAT0 + y / N.KM_PER_DEG_LAT


def line(*xy) -> LineString:
    return LineString([ll(x, y) for x, y in xy])


def km(a, b) -> float:
    """Great-circle km between two local points (what the network measures)."""
    (lo1, la1), (lo2, la2) = ll(*a), ll(*b)
    return float(N.great_circle_km(la1, lo1, la2, lo2))


def points(*rows) -> pd.DataFrame:
    out = []
    for code, (x, y), access in rows:
        lon, lat = ll(x, y)
        out.append({"code": code, "lat": lat, "lon": lon, "access": access})
    return pd.DataFrame(out)


def lines(kind, *items) -> N.Lines:
    geoms = np.empty(len(items), dtype=object)
    geoms[:] = [g for g, _ in items]
    return N.Lines(kind, geoms, np.array([c for _, c in items], dtype=object))


# --------------------------------------------------------------------------- shortest times
def test_a_fast_detour_beats_a_slow_direct_road():
    roads = lines("road", (line((0, 0), (10, 0)), "track"),
                  (line((0, 0), (5, 5)), "primary"), (line((5, 5), (10, 0)), "primary"))
    nt = N.NetworkTravel(N.Network.build(roads))
    m = nt.matrices(points(("A", (0, 0), "road"), ("B", (10, 0), "road")), "road")
    detour_km = km((0, 0), (5, 5)) + km((5, 5), (10, 0))
    assert km((0, 0), (10, 0)) / 15 * 60 == pytest.approx(40, abs=0.1)  # the direct track
    assert m.minutes[0, 1] == pytest.approx(detour_km / 55 * 60, abs=0.51)  # 15.4 min
    assert m.minutes[0, 1] == m.minutes[1, 0] == 15
    assert m.km[0, 1] == pytest.approx(detour_km, abs=0.03)
    assert m.cost_rp[0, 1] == pytest.approx(m.km[0, 1] * 4000)
    assert m.mode[0, 1] == ROAD and m.source == "network" and m.notes == ()
    route = nt.route(0, 1)
    assert not route.fallback and [p for p, _ in route.parts] == ["road"]
    lat_top = ll(5, 5)[1]
    assert max(la for la, _ in route.points()) == pytest.approx(lat_top)  # went over (5, 5)


def test_crossing_lines_are_joined_at_the_crossing():
    roads = lines("road", (line((0, 0), (10, 0)), "primary"), (line((5, -5), (5, 5)), "primary"))
    net = N.Network.build(roads)
    assert net.stats["edges"] == 4 and net.stats["nodes"] == 5
    nt = N.NetworkTravel(net)
    m = nt.matrices(points(("W", (0, 0), "road"), ("N", (5, 5), "road")), "road")
    assert m.minutes[0, 1] == round((km((0, 0), (5, 0)) + km((5, 0), (5, 5))) / 55 * 60)  # 11
    cross = ll(5, 0)
    assert any(abs(lo - cross[0]) < 1e-9 and abs(la - cross[1]) < 1e-9
               for la, lo in nt.path(0, 1))


def test_a_loose_end_a_few_metres_short_is_joined():
    # the side road stops 10 m before the main road (a digitising gap)
    roads = lines("road", (line((0, 0), (10, 0)), "primary"), (line((5, 5), (5, 0.01)), "primary"))
    net = N.Network.build(roads)
    assert net.stats["joined"] == 1
    m = N.NetworkTravel(net).matrices(points(("W", (0, 0), "road"), ("N", (5, 5), "road")), "road")
    assert m.minutes[0, 1] == 11
    apart = N.Network.build(roads, join_m=0)
    m = N.NetworkTravel(apart).matrices(points(("W", (0, 0), "road"), ("N", (5, 5), "road")), "road")
    assert m.minutes[0, 1] == GreatCircleTravel().matrices(
        points(("W", (0, 0), "road"), ("N", (5, 5), "road")), "road").minutes[0, 1]


# --------------------------------------------------------------------------- rivers
def river_points():
    return points(("HULU", (0, 0), "river"), ("HILIR", (20, 0), "river"))


def test_upstream_is_slower_than_downstream_towards_the_marked_mouth():
    rivers = lines("river", (line((0, 0), (20, 0)), "main"))
    down, up = 20 / 23 * 60, 20 / 17 * 60  # 52.2 and 70.6 min
    for drawn in (line((0, 0), (20, 0)), line((20, 0), (0, 0))):  # drawing direction is ignored
        rivers = lines("river", (drawn, "main"))
        net = N.Network.build(rivers=rivers, mouths=[ll(20.3, 0)[::-1]])
        m = N.NetworkTravel(net).matrices(river_points(), "river")
        assert m.minutes[0, 1] == pytest.approx(down, abs=0.51)  # HULU -> HILIR, downstream
        assert m.minutes[1, 0] == pytest.approx(up, abs=0.51)
        assert m.mode[0, 1] == m.mode[1, 0] == RIVER
        assert m.km[0, 1] == m.km[1, 0] == pytest.approx(km((0, 0), (20, 0)), abs=0.03)
        assert m.cost_rp[0, 1] == pytest.approx(m.km[0, 1] * 45000)


def test_without_a_mouth_the_river_flows_the_way_its_line_is_drawn():
    rivers = lines("river", (line((20, 0), (0, 0)), "main"))  # drawn from HILIR's end westwards
    m = N.NetworkTravel(N.Network.build(rivers=rivers)).matrices(river_points(), "river")
    assert m.minutes[1, 0] == round(20 / 23 * 60) and m.minutes[0, 1] == round(20 / 17 * 60)
    dry = N.NetworkTravel(N.Network.build(rivers=rivers), TravelParams(dry_season_factor=1.5))
    assert dry.matrices(river_points(), "river").minutes[1, 0] == round(20 / 23 * 60 * 1.5)


# --------------------------------------------------------------------------- piers
def pier_world():
    """A road (0,0)-(20,0) crossing a canal at (10,0) on a bridge, a spur up to (20, 9.5) where
    the pier is; the canal runs (20,10) -> (10,10) -> (10,-10)."""
    roads = lines("road", (line((0, 0), (20, 0)), "primary"), (line((20, 0), (20, 9.5)), "primary"))
    rivers = lines("river", (line((20, 10), (10, 10), (10, -10)), "canal"))
    pier = pd.DataFrame({"lat": [ll(20, 9.5)[1]], "lon": [ll(20, 9.5)[0]], "name": ["Dermaga"]})
    return roads, rivers, pier


def test_car_and_boat_change_only_at_a_pier_with_the_transfer_minutes():
    roads, rivers, pier = pier_world()
    net = N.Network.build(roads, rivers, piers=pier)
    assert len(net.piers) == 1
    pts = points(("DARAT", (0, 0), "road"), ("SUNGAI", (10, -10), "river"))
    road_km = km((0, 0), (20, 0)) + km((20, 0), (20, 9.5))
    river_km = km((20, 10), (10, 10)) + km((10, 10), (10, -10))
    walk = km((20, 9.5), (20, 10)) / 4.5 * 60  # pier point to the canal, on foot
    expect = road_km / 55 * 60 + 20 + walk + river_km / 10 * 60  # 238.9 min, not the bridge
    for transfer, extra in ((20.0, 0), (35.0, 15)):
        nt = N.NetworkTravel(net, TravelParams(pier_transfer_min=transfer))
        m = nt.matrices(pts, "both")
        # within a minute: the sum lies near x.5, where the 1/64-minute steps decide the rounding
        assert m.minutes[0, 1] == pytest.approx(expect + extra, abs=1)
        assert m.minutes[1, 0] == m.minutes[0, 1]  # a canal has no current
        assert m.mode[0, 1] == RIVER
        assert m.km[0, 1] == pytest.approx(road_km + river_km, abs=0.05)
        assert m.cost_rp[0, 1] == pytest.approx(
            m.km[0, 1] * 0 + round(road_km / 0.025) * 0.025 * 4000
            + round(river_km / 0.025) * 0.025 * 45000, rel=1e-3)
    kinds = [k for k, _ in nt.route(0, 1).parts]
    assert kinds == ["road", "pier", "river"]
    # a car alone cannot reach the river village; a boat alone not the road village
    assert N.NetworkTravel(net).matrices(pts, "road").mode[0, 1] == UNREACHABLE
    assert N.NetworkTravel(net).matrices(pts, "river").minutes[0, 1] == INF_MIN


def test_suggested_piers_are_road_ends_near_a_river():
    roads, rivers, _ = pier_world()
    sug = N.suggest_piers(roads, rivers, max_km=2.0)
    assert len(sug) == 1  # the spur's end; the road's west end (0,0) is 10 km from the canal
    assert sug.loc[0, "lat"] == pytest.approx(ll(20, 9.5)[1])
    assert sug.loc[0, "km"] == pytest.approx(0.5, abs=0.01)
    assert len(N.suggest_piers(roads, rivers, max_km=0.4)) == 0


# --------------------------------------------------------------------------- snapping, fallback
def test_sites_off_the_road_walk_and_far_ones_use_the_built_in_model():
    roads = lines("road", (line((0, 0), (10, 0)), "primary"))
    pts = points(("UJUNG", (0, 0), "road"), ("DEKAT", (5, 1), "road"), ("JAUH", (5, 8), "road"))
    nt = N.NetworkTravel(N.Network.build(roads), snap_km=5)
    m = nt.matrices(pts, "road")
    walk = km((5, 1), (5, 0))
    assert m.minutes[0, 1] == pytest.approx(km((0, 0), (5, 0)) / 55 * 60 + walk / 4.5 * 60, abs=0.51)
    assert m.km[0, 1] == pytest.approx(5 + walk, abs=0.03)
    assert m.cost_rp[0, 1] == pytest.approx(round(km((0, 0), (5, 0)) / 0.025) * 0.025 * 4000)
    assert [p for p, _ in nt.route(0, 1).parts] == ["road", "access"]
    gc = GreatCircleTravel().matrices(pts, "road")
    assert nt.off_network == [2]
    assert (m.minutes[2] == gc.minutes[2]).all() and (m.minutes[:, 2] == gc.minutes[:, 2]).all()
    assert nt.fallback_legs[2, :2].all() and nt.fallback_legs[:2, 2].all()
    assert not nt.fallback_legs[:2, :2].any()
    assert any("JAUH" in n and "5 km" in n for n in m.notes)
    assert nt.route(0, 2).fallback
    # with a wider snap distance JAUH walks 8 km to the road instead
    wide = N.NetworkTravel(N.Network.build(roads), snap_km=10).matrices(pts, "road")
    assert wide.minutes[0, 2] == pytest.approx(km((0, 0), (5, 0)) / 55 * 60 + km((5, 8), (5, 0)) / 4.5 * 60,
                                               abs=0.51)


def test_a_boat_team_without_a_river_layer_gets_the_built_in_model():
    roads = lines("road", (line((0, 0), (10, 0)), "primary"))
    pts = points(("A", (0, 0), "both"), ("B", (10, 0), "river"), ("C", (5, 0), "road"))
    nt = N.NetworkTravel(N.Network.build(roads))
    m = nt.matrices(pts, "river")
    gc = GreatCircleTravel().matrices(pts, "river")
    for name in ("minutes", "km", "cost_rp", "mode"):
        assert np.array_equal(getattr(m, name), getattr(gc, name)), name
    assert any("tidak ada lapisan sungai" in n for n in m.notes)
    assert nt.fallback_legs[0, 1] and not nt.fallback_legs[0, 2]  # C is unreachable, not a fallback
    # the car team still drives on the road between A and C
    assert not N.NetworkTravel(N.Network.build(roads)).matrices(pts, "road").notes


def test_the_reduced_graph_keeps_every_distance_exactly():
    rng = np.random.default_rng(3)
    for trial in range(15):
        n = 300
        m = int(rng.integers(280, 520))
        u, v = rng.integers(0, n, m), rng.integers(0, n, m)
        tf = rng.uniform(0.5, 30, m)
        tb = tf * rng.uniform(0.8, 1.5, m)
        dist, kind = rng.uniform(0.1, 5, m), rng.integers(0, 2, m)
        a, b, f, r = N._undirected(u, v, N._pack(tf, dist, kind), N._pack(tb, dist, kind))
        keep = np.zeros(n, bool)
        terminals = rng.choice(n, 20, replace=False)
        keep[terminals] = True
        full = csr_matrix((np.r_[f, r], (np.r_[a, b], np.r_[b, a])), shape=(n, n))
        a2, b2, f2, r2 = N._reduce(n, a, b, f, r, keep, seed=trial)
        assert len(a2) < len(a)
        red = csr_matrix((np.r_[f2, r2], (np.r_[a2, b2], np.r_[b2, a2])), shape=(n, n))
        d1 = dijkstra(full, indices=terminals)[:, terminals]
        d2 = dijkstra(red, indices=terminals)[:, terminals]
        assert np.array_equal(d1, d2)


def test_packed_weights_carry_minutes_and_kilometres():
    w = N._pack(np.array([12.5, 30.0]), np.array([3.2, 7.0]), np.array([0, 1]))
    t, road, river = N._unpack(np.array([w.sum(), np.inf]))
    assert t[0] == pytest.approx(42.5) and road[0] == pytest.approx(3.2) and river[0] == pytest.approx(7.0)
    assert np.isinf(t[1]) and np.isinf(road[1])


def test_classes_from_osm_and_indonesian_words():
    assert N.classify("road", "primary_link") == ("primary", "known")
    assert N.classify("road", "Jalan Kolektor") == ("secondary", "known")
    assert N.classify("road", "jalan desa") == ("local", "known")
    assert N.classify("road", "track_grade3") == ("track", "known")
    assert N.classify("road", "Jalan Setapak") == ("path", "known")
    assert N.classify("road", "construction") == (None, "skip")
    assert N.classify("road", "jalan berlubang") == ("default", "unknown")
    assert N.classify("river", "stream") == ("tributary", "known")
    assert N.classify("river", "Anak Sungai") == ("tributary", "known")
    assert N.classify("river", "Sungai") == ("main", "known")
    assert N.classify("river", "handil") == ("canal", "known")
    assert N.classify("river", "weir") == (None, "skip")
    with pytest.raises(N.NetworkError):
        N.classify("rail", "x")


# --------------------------------------------------------------------------- the demo
@pytest.fixture(scope="module")
def demo():
    path = DATA / "demo_context.geojson"
    roads = N.Lines.from_frame(read_network(path, kind="road"), "road")
    rivers = N.Lines.from_frame(read_network(path, kind="river"), "river")
    piers = N.suggest_piers(roads, rivers, 2.0)
    net = N.Network.build(roads, rivers, piers=piers)
    v = gpd.read_file(DATA / "demo_villages.geojson")
    pts = pd.DataFrame({"code": v["code"], "lat": v["stop_lat"], "lon": v["stop_lon"],
                        "access": v["access"]})
    river_geom = shapely.union_all(rivers.geoms)
    return {"net": net, "pts": pts, "rivers": river_geom, "roads": roads,
            "road_end_lat": json.loads((DATA / "demo.json").read_text())["road_end"]["lat"]}


def _main_river_villages(demo):
    """River-only villages beyond the road end within 1 km of the main river, south to north."""
    net, pts = demo["net"], demo["pts"]
    main = np.flatnonzero((net.kind == N.RIVER_KIND) & (net.cls == N.RIVER_CLASSES.index("main")))
    sel = pts[(pts["access"] == "river") & (pts["lat"] > demo["road_end_lat"] + 0.1)]
    e, _f, d = net.snap(sel["lat"].to_numpy(), sel["lon"].to_numpy(), N.RIVER_KIND, 1.0)
    on_main = np.isin(e, main)
    return sel[on_main].sort_values("lat")


def test_demo_a_boat_leg_follows_the_river(demo):
    sel = _main_river_villages(demo)
    assert len(sel) >= 2
    pts = pd.concat([sel.iloc[[0]], sel.iloc[[-1]]], ignore_index=True)
    nt = N.NetworkTravel(demo["net"])
    m = nt.matrices(pts, "river")
    assert not nt.fallback_legs[0, 1] and m.mode[0, 1] == RIVER
    route = nt.route(1, 0)
    proj = N._Proj(LAT0, LON0)
    rivers_km = proj.geoms(np.array([demo["rivers"]], dtype=object))[0]
    for part, coords in route.parts:
        if part != "river":
            continue
        xy = np.column_stack(proj.fwd([lo for _, lo in coords], [la for la, _ in coords]))
        d_m = shapely.distance(shapely.points(xy), rivers_km) * 1000
        assert d_m.max() < 50, part
    river_km = sum(shapely.length(shapely.linestrings(
        np.column_stack(proj.fwd([lo for _, lo in c], [la for la, _ in c])))) for p, c in route.parts
        if p == "river")
    assert river_km == pytest.approx(m.km[1, 0] - nt._last["walk_km"][:, 0].sum(), rel=0.02)


def test_demo_upstream_takes_longer_than_downstream(demo):
    sel = _main_river_villages(demo)
    pts = pd.concat([sel.iloc[[0]], sel.iloc[[-1]]], ignore_index=True)  # 0 downstream (south)
    m = N.NetworkTravel(demo["net"]).matrices(pts, "river")
    down, up = m.minutes[1, 0], m.minutes[0, 1]
    assert up > down * 1.2  # 17 vs 23 km/h on the main river
    assert m.km[0, 1] == pytest.approx(m.km[1, 0], abs=0.01)


def test_demo_a_river_village_beyond_the_road_end_is_reached_through_a_pier(demo):
    net, pts = demo["net"], demo["pts"]
    far = pts[(pts["access"] == "river") & (pts["lat"] > demo["road_end_lat"] + 0.1)].iloc[[0]]
    road = pts[pts["access"] == "road"]
    e, _f, d = net.snap(road["lat"].to_numpy(), road["lon"].to_numpy(), N.ROAD_KIND, 1.0)
    start = road[e >= 0].sort_values("lat").iloc[[-1]]  # the northernmost village on a road
    two = pd.concat([start, far], ignore_index=True)
    nt = N.NetworkTravel(net)
    m = nt.matrices(two, "both")
    assert not nt.fallback_legs[0, 1] and m.mode[0, 1] == RIVER
    kinds = [k for k, _ in nt.route(0, 1).parts]
    assert "road" in kinds and "pier" in kinds and "river" in kinds
    assert kinds.index("road") < kinds.index("pier") < kinds.index("river")
    # the car alone cannot get there
    assert N.NetworkTravel(net).matrices(two, "road").mode[0, 1] == UNREACHABLE


def test_demo_matrices_for_all_villages(demo):
    nt = N.NetworkTravel(demo["net"])
    m = nt.matrices(demo["pts"], "both")
    assert m.minutes.shape == (185, 185) and (np.diag(m.minutes) == 0).all()
    on = ~nt.fallback_legs
    np.fill_diagonal(on, False)
    k = 185 - len(nt.off_network)  # every leg between villages on the network is on it
    assert k > 120 and on.sum() == k * (k - 1)
    assert (m.minutes[on] > 0).all() and (m.minutes[on] < INF_MIN).all()
    assert nt.off_network and any("di luar jaringan" in n for n in m.notes)


# --------------------------------------------------------------------------- import
def write(tmp_path, name, doc) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


def fc(*features, crs=None):
    doc = {"type": "FeatureCollection", "features": list(features)}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return doc


def feat(geom, **props):
    return {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}


def test_import_reads_osm_tags_and_counts_what_it_skips(tmp_path):
    doc = fc(feat(line((0, 0), (5, 0)), highway="primary", name="Jalan A"),
             feat(shapely.MultiLineString([line((5, 0), (6, 0)), line((6, 0), (7, 0))]), highway="track"),
             feat(line((0, 1), (5, 1)), highway="construction"),
             feat(line((0, 2), (5, 2)), highway="jalan aneh"),
             feat(line((0, 3), (5, 3)), waterway="river"))
    g = read_network(write(tmp_path, "osm.geojson", doc), kind="road")
    assert list(g["class"]) == ["primary", "track", "track", "default"]
    s = g.attrs["summary"]
    assert s["column"] == "highway" and s["features"] == 4 and s["parts"] == 4
    assert s["unknown"] == {"jalan aneh": 1} and s["skipped"]["values"] == {"construction": 1}
    assert s["skipped"]["other_kind"] == 1
    assert s["classes"]["primary"]["km"] == pytest.approx(km((0, 0), (5, 0)), abs=0.01)
    river = read_network(write(tmp_path, "osm.geojson", doc), kind="river")
    assert list(river["class"]) == ["main"]


def test_import_refuses_a_polygon_in_a_road_layer_naming_the_feature(tmp_path):
    doc = fc(feat(line((0, 0), (5, 0)), highway="primary"),
             feat(Polygon([ll(0, 0), ll(1, 0), ll(1, 1)]), highway="primary"),
             feat(Point(ll(3, 3)), highway="primary"))
    with pytest.raises(ImportProblem) as exc:
        read_network(write(tmp_path, "jalan.geojson", doc), kind="road")
    p = exc.value
    assert (p.row, p.column, p.unit) == (2, "geometry", "fitur") and "Polygon" in p.message
    assert len(p.problems) == 1 and p.problems[0].row == 3 and "Point" in p.problems[0].message
    with pytest.raises(ImportProblem, match="bukan titik"):
        read_network(write(tmp_path, "dermaga.geojson", doc), kind="pier")


def test_import_refuses_metres_without_a_crs_and_converts_a_declared_one(tmp_path):
    utm = fc(feat(LineString([(500000, 9700000), (505000, 9700000)]), highway="primary"))
    with pytest.raises(ImportProblem, match="tidak menyebut sistem koordinat"):
        read_network(write(tmp_path, "utm.geojson", utm), kind="road")
    ok = read_network(write(tmp_path, "utm.geojson", {**utm, "crs": {
        "type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32749"}}}), kind="road")
    assert ok.attrs["summary"]["crs"] == "EPSG:32749"
    assert ok.attrs["summary"]["km"] == pytest.approx(5.0, abs=0.05)


def test_import_refuses_empty_files_and_unknown_kinds(tmp_path):
    with pytest.raises(ImportProblem, match="tidak berisi fitur"):
        read_network(write(tmp_path, "kosong.geojson", fc()), kind="river")
    (tmp_path / "nol.geojson").write_bytes(b"")
    with pytest.raises(ImportProblem, match="kosong"):
        read_network(tmp_path / "nol.geojson", kind="river")
    with pytest.raises(ImportProblem, match="tidak dikenal"):
        read_network(write(tmp_path, "a.geojson", fc(feat(line((0, 0), (1, 0))))), kind="rel")
    outside = fc(feat(LineString([(10.0, 50.0), (10.1, 50.0)]), waterway="river"))
    with pytest.raises(ImportProblem, match="di luar wilayah Indonesia"):
        read_network(write(tmp_path, "eropa.geojson", outside), kind="river")


def test_import_reads_a_zipped_shapefile_in_utm_with_bigs_class_names(tmp_path):
    g = gpd.GeoDataFrame({"REMARK": ["Jalan Kolektor", "Jalan Setapak"], "NAMRJL": ["Poros", "x"]},
                         geometry=[line((0, 0), (5, 0)), line((5, 0), (5, 4))], crs="EPSG:4326")
    g.to_crs(32749).to_file(tmp_path / "JALAN_LN_50K.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in tmp_path.glob("JALAN_LN_50K.*"):
            zf.write(f, f.name)
    (tmp_path / "jalan.zip").write_bytes(buf.getvalue())
    out = read_network(tmp_path / "jalan.zip", kind="road")
    assert list(out["class"]) == ["secondary", "path"] and list(out["name"]) == ["Poros", "x"]
    assert out.attrs["summary"]["crs"].startswith("EPSG:32749")
    assert out.geometry.iloc[0].coords[0] == pytest.approx(ll(0, 0), abs=1e-6)


# --------------------------------------------------------------------------- service and commands
def test_layers_commands_travel_source_and_calibration(app, tmp_path):
    from planner import networks, settings
    from planner.cli.network import (
        calibrate_command,
        import_network_command,
        network_group,
    )
    from planner.extensions import db
    from planner.models import AuditEvent, NetworkLayer, TeamBase, Village

    runner = app.test_cli_runner()
    ctx = DATA / "demo_context.geojson"
    res = runner.invoke(import_network_command, [str(ctx), "--kind", "road", "--name", "Jalan demo"])
    assert res.exit_code == 0, res.output
    assert "10 garis" in res.output and "trunk 1" in res.output
    res = runner.invoke(import_network_command, [str(ctx), "--kind", "river"])
    assert res.exit_code == 0, res.output
    bad = write(tmp_path, "rusak.geojson", fc(feat(line((0, 0), (5, 0)), waterway="river"),
                                              feat(Polygon([ll(0, 0), ll(1, 0), ll(1, 1)]))))
    res = runner.invoke(import_network_command, [str(bad), "--kind", "river"])
    assert res.exit_code == 1 and "fitur 2" in res.output and "Polygon" in res.output
    with app.app_context():
        assert db.session.query(NetworkLayer).count() == 2  # nothing of the bad file
        assert {e.action for e in db.session.query(AuditEvent)} >= {"network.import"}
    res = runner.invoke(import_network_command, [str(ctx), "--kind", "road", "--name", "Jalan demo",
                                                 "--replace"])
    assert res.exit_code == 0 and "Replaced layer(s) 1" in res.output
    res = runner.invoke(network_group, ["list"])
    assert res.exit_code == 0 and "road   Jalan demo" in res.output and "river  demo_context" in res.output
    res = runner.invoke(network_group, ["piers", "--suggest", "--max-km", "2", "--save"])
    assert res.exit_code == 0 and "6 road ends" in res.output and "Saved 6 piers" in res.output

    # the demo regency in the database: villages and the base, as `planner load-demo` leaves it
    with app.app_context():
        v = gpd.read_file(DATA / "demo_villages.geojson")
        for r in v.itertuples():
            db.session.add(Village(code=r.code, name=r.name, kecamatan=r.kecamatan, stop_lat=r.stop_lat,
                                   stop_lon=r.stop_lon, access=r.access))
        db.session.add(TeamBase(name="Kantor", lat=-2.86686, lon=111.58228))
        db.session.commit()
        src = networks.travel_source(TravelParams())
        assert isinstance(src, N.NetworkTravel) and len(src.network.piers) == 6
        assert networks.build_network(TravelParams()) is src.network  # cached
        road_villages = [c for c, a, la in zip(v["code"], v["access"], v["stop_lat"], strict=True)
                         if a == "road" and la > -2.4]
        pts = networks.known_points().set_index("code").loc[["Kantor", *road_villages[:3]]].reset_index()
        m = src.matrices(pts, "road")
        on = [j for j in range(1, 4) if not src.fallback_legs[0, j]]
        assert on
        first = road_villages[on[0] - 1]
        model = int(m.minutes[0, on[0]])

    legs = tmp_path / "waktu.csv"
    legs.write_text("dari;ke;moda;menit\n"
                    f"Kantor;{first};mobil;{round(model * 1.3)}\n"
                    f"{first};Kantor;jalan;{round(model * 1.3)}\n", encoding="utf-8")
    res = runner.invoke(calibrate_command, [str(legs)])
    assert res.exit_code == 0, res.output
    assert "Not saved" in res.output and "road  trunk" in res.output
    with app.app_context():
        assert not settings.is_set("network") and settings.get("network") == {}
    res = runner.invoke(calibrate_command, [str(legs), "--save"])
    assert res.exit_code == 0, res.output
    with app.app_context():
        value = settings.get("network")
        assert value["calibration"]["legs"] == 2 and value["calibration"]["file"] == "waktu.csv"
        assert value["speeds"]["road_kmh"]["trunk"] < 60  # slower: the office knows it takes longer
        assert value["calibration"]["rmse_after_min"] < value["calibration"]["rmse_before_min"]
        src = networks.travel_source(TravelParams())
        m2 = src.matrices(pts, "road")
        assert m2.minutes[0, on[0]] > model

    res = runner.invoke(network_group, ["remove", "1"])
    assert res.exit_code == 1  # replaced earlier
    layer_id = next(r["id"] for r in networks_list(app) if r["kind"] == "river")
    res = runner.invoke(network_group, ["remove", str(layer_id)])
    assert res.exit_code == 0 and "Removed layer" in res.output
    res = runner.invoke(network_group, ["mouth", "--at", "-3.05,111.56"])
    assert res.exit_code == 0
    with app.app_context():
        assert settings.get("network")["mouths"] == [[-3.05, 111.56]]
        assert networks.travel_source(TravelParams()).network.stats["river_edges"] == 0


def networks_list(app):
    from planner import networks

    with app.app_context():
        return networks.list_layers()


def test_calibration_fits_a_class_speed_to_known_minutes():
    roads = lines("road", (line((0, 0), (30, 0)), "primary"), (line((30, 0), (30, 10)), "track"))
    pts = points(("A", (0, 0), "road"), ("B", (30, 0), "road"), ("C", (30, 10), "road"))
    legs = pd.DataFrame({"from": ["A", "B"], "to": ["B", "C"], "mode": ["road", "road"],
                         "minutes": [45.0, 60.0]})  # primary at 40 km/h, track at 10 km/h
    cal = N.calibrate(N.Network.build(roads), pts, legs, prior_min=0.01)
    assert cal.factors["road:primary"] == pytest.approx(40 / 55, rel=0.02)
    assert cal.factors["road:track"] == pytest.approx(10 / 15, rel=0.02)
    assert cal.speeds.road_kmh["primary"] == pytest.approx(40, rel=0.02)
    t = cal.table
    assert list(t["before"]) == [round(km((0, 0), (30, 0)) / 55 * 60), round(km((30, 0), (30, 10)) / 15 * 60)]
    assert np.abs(t["error_after"]).max() <= 1 and cal.rmse_after < cal.rmse_before


def test_known_legs_file_with_indonesian_headers(tmp_path):
    p = tmp_path / "legs.csv"
    p.write_text("dari;ke;moda;menit\nA;B;perahu;90,5\nB;A;Mobil;60\n", encoding="utf-8")
    t = N.read_known_legs(p)
    assert list(t["mode"]) == ["river", "road"] and list(t["minutes"]) == [90.5, 60.0]
    p.write_text("from_code,to_code,mode,minutes\nA,B,kereta,5\n", encoding="utf-8")
    with pytest.raises(N.NetworkError, match="baris 2.*kereta"):
        N.read_known_legs(p)


def test_a_large_search_is_shared_with_a_second_process(monkeypatch):
    """The same rows whether one process searches or two (the second claims chunks from the
    end and writes into a shared result)."""
    rng = np.random.default_rng(5)
    n = 3000
    u, v = rng.integers(0, n, 9000), rng.integers(0, n, 9000)
    w = rng.uniform(1, 10, 9000)
    g = csr_matrix((np.r_[w, w * 1.3], (np.r_[u, v], np.r_[v, u])), shape=(n, n))
    src = rng.choice(n, 400, replace=False)
    monkeypatch.setattr(N, "PARALLEL_MIN_WORK", 1)
    two, used = N._search(g, src, src[:50], workers=2)
    one, used_one = N._search(g, src, src[:50], workers=1)
    assert (used, used_one) == (2, 1)
    assert np.array_equal(one, two)


def test_import_limits_features_with_the_network_limit(tmp_path, monkeypatch):
    from planner.importer import limits

    doc = fc(*[feat(line((0, i), (5, i)), highway="primary") for i in range(3)])
    path = write(tmp_path, "jalan.geojson", doc)
    monkeypatch.setattr(limits, "MAX_FEATURES", 2)  # the villages' limit does not apply
    assert len(read_network(path, kind="road")) == 3
    monkeypatch.setattr(limits, "MAX_NETWORK_FEATURES", 2)
    with pytest.raises(ImportProblem, match=r"lebih dari 2 fitur \(garis\)"):
        read_network(path, kind="road")
    assert limits.MAX_FEATURES == 2  # restored after the read


def test_import_picks_the_layer_of_its_kind_from_a_geopackage(tmp_path):
    import pyogrio

    path = tmp_path / "osm.gpkg"
    roads = gpd.GeoDataFrame({"fclass": ["primary", "residential"]},
                             geometry=[line((0, 0), (5, 0)), line((5, 0), (5, 2))], crs="EPSG:4326")
    rivers = gpd.GeoDataFrame({"fclass": ["river"]}, geometry=[line((0, 3), (9, 3))], crs="EPSG:4326")
    pyogrio.write_dataframe(roads, path, layer="gis_osm_roads_free_1")
    pyogrio.write_dataframe(rivers, path, layer="gis_osm_waterways_free_1", append=False)
    assert list(read_network(path, kind="road")["class"]) == ["primary", "local"]
    assert list(read_network(path, kind="river")["class"]) == ["main"]
    with pytest.raises(ImportProblem, match="2 lapisan"):
        read_network(path, kind="pier")


def test_import_reads_a_pier_layer(tmp_path):
    doc = fc(feat(Point(ll(1, 1)), nama="Dermaga Samuda"),
             feat(shapely.MultiPoint([ll(2, 2), ll(3, 3)]), nama="Dermaga Baru"))
    g = read_network(write(tmp_path, "dermaga.geojson", doc), kind="pier")
    assert list(g["class"]) == ["pier"] * 3
    assert list(g["name"]) == ["Dermaga Samuda", "Dermaga Baru", "Dermaga Baru"]
    assert g.attrs["summary"]["parts"] == 3
