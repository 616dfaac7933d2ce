"""Travel model: great-circle matrices, modes, matrix CSV, OSRM over real HTTP, calibration."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest

from planner.travel import (
    INF_MIN,
    RIVER,
    ROAD,
    UNREACHABLE,
    GreatCircleTravel,
    MatrixCsvError,
    MatrixCsvTravel,
    OsrmError,
    OsrmTravel,
    TravelError,
    TravelParams,
    leg,
)


def hav_km(lat1, lon1, lat2, lon2):
    """Independent haversine (math module) for checking the vectorised code."""
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def random_points(n, seed=0, access=None):
    rng = np.random.default_rng(seed)
    acc = access if access is not None else rng.choice(["road", "both", "river"], n, p=[.6, .2, .2])
    return pd.DataFrame({"code": [f"P{i:03d}" for i in range(n)],
                         "lat": rng.uniform(-3.1, -1.2, n), "lon": rng.uniform(112.3, 113.3, n),
                         "access": acc})


# --------------------------------------------------------------------------- great circle
def test_road_matrix_matches_haversine_symmetric_and_triangle():
    pts = random_points(60, access=["road"] * 60)
    p = TravelParams()
    m = GreatCircleTravel(p).matrices(pts, "road")
    assert m.minutes.dtype == np.int32 and m.mode.dtype == np.uint8 and m.minutes.shape == (60, 60)
    assert (np.diag(m.minutes) == 0).all() and (np.diag(m.km) == 0).all()
    assert (m.minutes == m.minutes.T).all() and np.allclose(m.km, m.km.T)
    assert (m.mode == ROAD).all()
    for i, j in [(0, 1), (5, 40), (59, 2), (17, 33)]:
        a, b = pts.iloc[i], pts.iloc[j]
        km = hav_km(a.lat, a.lon, b.lat, b.lon) * p.road_circuity
        assert m.km[i, j] == pytest.approx(km, rel=1e-9)
        assert m.minutes[i, j] == round(km / p.road_speed_kmh * 60)
        assert m.cost_rp[i, j] == pytest.approx(km * p.road_cost_per_km, rel=1e-9)
    # triangle inequality (km exactly; minutes up to rounding of the three legs)
    k, t = m.km, m.minutes.astype(np.int64)
    via = k[:, :, None] + k[None, :, :]  # via[i, j, l] = k[i, j] + k[j, l]
    assert (k[:, None, :] <= via + 1e-6).all()  # direct i->l never longer than i->j->l
    viat = t[:, :, None] + t[None, :, :]
    assert (t[:, None, :] <= viat + 1).all()
    assert (k[:, None, :] < via - 1).any()  # the check has teeth: many detours are longer


def test_vehicle_modes_reachability_river_speed_and_transfer():
    pts = pd.DataFrame({"code": ["base", "roadv", "riverv", "bothv"],
                        "lat": [-2.53, -2.70, -2.75, -2.91], "lon": [112.95, 112.90, 112.96, 112.93],
                        "access": ["both", "road", "river", "both"]})
    p = TravelParams()
    road = GreatCircleTravel(p).matrices(pts, "road")
    # the river-only village is unreachable by car, everything else by road
    assert (road.minutes[2, :] == INF_MIN).all() and (road.minutes[:, 2] == INF_MIN).all()
    assert (road.mode[2, :] == UNREACHABLE).all() and np.isinf(road.km[0, 2])
    assert road.mode[0, 1] == ROAD and road.minutes[0, 1] < INF_MIN

    river = GreatCircleTravel(p).matrices(pts, "river")
    assert (river.minutes[1, :] == INF_MIN).all() and (river.minutes[:, 1] == INF_MIN).all()
    gc = hav_km(-2.53, 112.95, -2.75, 112.96)
    assert river.mode[0, 2] == RIVER
    assert river.minutes[0, 2] == round(gc * p.river_circuity / p.river_speed_kmh * 60)  # no transfer
    assert river.mode[0, 3] == RIVER and river.minutes[0, 3] < INF_MIN

    both = GreatCircleTravel(p).matrices(pts, "both")
    assert (both.minutes < INF_MIN).all()
    assert both.mode[0, 1] == ROAD and both.mode[0, 3] == ROAD  # no river-only end: road leg
    assert both.mode[0, 2] == RIVER and both.mode[2, 1] == RIVER
    # road point -> river-only point: river speed plus the car-to-boat transfer
    expected = gc * p.river_circuity / p.river_speed_kmh * 60 + p.pier_transfer_min
    assert both.minutes[0, 2] == round(expected) == both.minutes[2, 0]
    assert both.cost_rp[0, 2] == pytest.approx(gc * p.river_circuity * p.river_cost_per_km)
    assert both.minutes[0, 1] == road.minutes[0, 1]


def test_dry_season_slows_river_legs_only():
    pts = random_points(40, seed=3)
    wet = GreatCircleTravel(TravelParams()).matrices(pts, "both")
    dry = GreatCircleTravel(TravelParams(dry_season_factor=1.5)).matrices(pts, "both")
    road = wet.mode == ROAD
    river = (wet.mode == RIVER) & ~np.eye(40, dtype=bool)
    assert road.any() and river.any()
    assert (dry.minutes[road] == wet.minutes[road]).all()
    p = TravelParams()
    riv_only = (pts.access == "river").to_numpy()
    transfer = np.where(riv_only[:, None] ^ riv_only[None, :], p.pier_transfer_min, 0)
    moving = wet.minutes - transfer
    assert (np.abs((dry.minutes - transfer)[river] - 1.5 * moving[river]) <= 1.5).all()
    assert (dry.minutes[river] > wet.minutes[river]).all()
    assert np.allclose(dry.km, wet.km) and np.allclose(dry.cost_rp, wet.cost_rp)


def test_cost_per_mode():
    p = TravelParams(road_cost_per_km=5000, river_cost_per_km=50000)
    pts = random_points(30, seed=4)
    m = GreatCircleTravel(p).matrices(pts, "both")
    road, river = m.mode == ROAD, m.mode == RIVER
    assert np.allclose(m.cost_rp[road], m.km[road] * 5000)
    assert np.allclose(m.cost_rp[river], m.km[river] * 50000)


def test_leg_matches_matrix():
    pts = random_points(25, seed=5)
    p = TravelParams(dry_season_factor=1.2)
    for vm in ("road", "river", "both"):
        m = GreatCircleTravel(p).matrices(pts, vm)
        for i, j in [(0, 1), (3, 7), (10, 24), (4, 4)]:
            a, b = pts.iloc[i].to_dict(), pts.iloc[j].to_dict()
            lg = leg(a, b, vm, p)
            assert lg.minutes == m.minutes[i, j]
            assert lg.km == pytest.approx(m.km[i, j], rel=1e-9, abs=1e-3)  # same point: < 1 m
            assert lg.mode == {0: "road", 1: "river", 255: "unreachable"}[int(m.mode[i, j])]


def test_piers_make_car_then_boat_legs_faster():
    samuda = (-2.913, 112.925)
    pts = pd.DataFrame({"code": ["sampit", "satiruk"], "lat": [-2.53, -3.0389],
                        "lon": [112.95, 113.1606], "access": ["both", "river"]})
    p = TravelParams(piers=(samuda, (-1.5, 112.7)))
    direct = GreatCircleTravel(TravelParams()).matrices(pts, "both")
    via = GreatCircleTravel(p).matrices(pts, "both")
    drive = hav_km(-2.53, 112.95, *samuda) * p.road_circuity
    boat = hav_km(*samuda, -3.0389, 113.1606) * p.river_circuity
    want = drive / p.road_speed_kmh * 60 + boat / p.river_speed_kmh * 60 + p.pier_transfer_min
    assert via.minutes[0, 1] == round(want) == via.minutes[1, 0]
    assert via.minutes[0, 1] < direct.minutes[0, 1]
    assert via.km[0, 1] == pytest.approx(drive + boat)
    assert via.cost_rp[0, 1] == pytest.approx(drive * p.road_cost_per_km + boat * p.river_cost_per_km)
    assert via.mode[0, 1] == RIVER and via.notes


def test_float32_option_and_bad_input():
    pts = random_points(50, seed=6)
    a = GreatCircleTravel().matrices(pts, "both")
    b = GreatCircleTravel(float_dtype=np.float32, threads=1).matrices(pts, "both")
    assert b.km.dtype == np.float32 and np.allclose(a.km, b.km, rtol=1e-6)
    assert (a.minutes == b.minutes).all()
    bad = pts.copy()
    bad.loc[3, "access"] = "helicopter"
    with pytest.raises(TravelError, match="P003.*helicopter"):
        GreatCircleTravel().matrices(bad, "both")
    with pytest.raises(TravelError, match="vehicle mode"):
        GreatCircleTravel().matrices(pts, "plane")
    with pytest.raises(TravelError, match="river_speed_kmh"):
        TravelParams(river_speed_kmh=0)


def test_blocked_threaded_matches_single_block():
    """Row blocks on two threads give the single block's matrices.

    ``km`` and ``cost_rp`` are compared to rounding, not bit for bit: each block's dot products
    u·v/2 go through BLAS, whose kernel (and so its rounding) depends on the block's shape, and
    3-row blocks and one 300-row block differ by half an ulp of 0.5 in some entries (numpy 2.4's
    OpenBLAS 0.3.31 does). Both are C·arcsin(√h) with h = 0.5 − u·v/2 = sin²(θ/2), so that is a
    relative change of about δh/2h: 6e-11 for the entries that differ here, 7e-8 if it hit the
    closest pair (253 m). rtol 1e-6 leaves room for that; a block or row-offset bug is off by
    far more. ``minutes`` (whole minutes) and ``mode`` (a category) must be equal: a change of
    at most ~1e-7 minutes flips a rounding only for a value that close to x.5.
    """

    def assert_same(one, many):
        for f in ("minutes", "mode"):
            assert np.array_equal(getattr(one, f), getattr(many, f)), f
        for f in ("km", "cost_rp"):
            np.testing.assert_allclose(getattr(many, f), getattr(one, f), rtol=1e-6, atol=1e-9,
                                       err_msg=f)

    pts = random_points(300, seed=7)
    one = GreatCircleTravel(threads=1, block_elems=10**9).matrices(pts, "both")
    many = GreatCircleTravel(threads=2, block_elems=900).matrices(pts, "both")  # 3-row blocks
    assert_same(one, many)
    piers = TravelParams(piers=((-2.9, 112.9), (-2.0, 112.6), (-1.5, 113.0)))
    one = GreatCircleTravel(piers, threads=1, block_elems=10**9).matrices(pts, "both")
    many = GreatCircleTravel(piers, threads=2, block_elems=900).matrices(pts, "both")
    assert many.notes and (one.minutes <= GreatCircleTravel().matrices(pts, "both").minutes).all()
    assert_same(one, many)
    assert np.array_equal(many.minutes, many.minutes.T)


def test_calibration_on_real_kotim_villages(kotim_dir):
    """FIELD.md: Tumbang Gagu ~4 h by motorboat; Sampit -> Samuda pier ~1 h drive."""
    v = pd.read_csv(kotim_dir / "villages.csv", dtype={"code": str})
    pick = v[v.name.isin(["Tumbang Kalang", "Tumbang Gagu", "Samuda Besar", "Baamang Hilir"])]
    pts = pd.DataFrame({"code": pick.name, "lat": pick.inner_lat, "lon": pick.inner_lon,
                        "access": ["river" if n == "Tumbang Gagu" else "both" for n in pick.name]})
    m = GreatCircleTravel().matrices(pts.reset_index(drop=True), "both")
    ix = {n: i for i, n in enumerate(pts.code)}
    boat = m.minutes[ix["Tumbang Kalang"], ix["Tumbang Gagu"]]
    assert 180 <= boat <= 300 and m.mode[ix["Tumbang Kalang"], ix["Tumbang Gagu"]] == RIVER
    assert 2_000_000 <= m.cost_rp[ix["Tumbang Kalang"], ix["Tumbang Gagu"]] <= 4_000_000  # Rp 3 juta
    drive = m.minutes[ix["Baamang Hilir"], ix["Samuda Besar"]]
    assert 45 <= drive <= 120 and m.mode[ix["Baamang Hilir"], ix["Samuda Besar"]] == ROAD


# --------------------------------------------------------------------------- matrix CSV
def _pts3():
    return pd.DataFrame({"code": ["A", "B", "C"], "lat": [-2.5, -2.6, -2.7],
                         "lon": [112.9, 113.0, 112.95], "access": ["road", "road", "river"]})


def test_matrix_csv_english(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("from,to,minutes,km,cost,mode\nA,B,33,21.5,90000,road\nB,A,35,21.5,,road\n"
                 "A,C,70,30,,river\n")
    src = MatrixCsvTravel(f)
    m = src.matrices(_pts3(), "both")
    assert m.minutes[0, 1] == 33 and m.minutes[1, 0] == 35  # asymmetric allowed
    assert m.cost_rp[0, 1] == 90000 and m.cost_rp[1, 0] == pytest.approx(21.5 * 4000)
    assert m.minutes[0, 2] == m.minutes[2, 0] == 70  # one direction used for both
    assert m.mode[0, 2] == RIVER and m.cost_rp[0, 2] == pytest.approx(30 * 45000)
    # B-C is missing: great-circle fallback, noted
    gc = GreatCircleTravel().matrices(_pts3(), "both")
    assert m.minutes[1, 2] == gc.minutes[1, 2] and "great-circle" in m.notes[0]
    # a road vehicle cannot use the river leg nor reach the river-only village
    r = src.matrices(_pts3(), "road")
    assert r.minutes[0, 2] == INF_MIN and r.minutes[0, 1] == 33


def test_matrix_csv_indonesian_semicolon_decimal_comma(tmp_path):
    f = tmp_path / "matriks.csv"
    f.write_text("Dari;Ke;Menit;KM;Biaya;Moda\nA;B;33;21,5;90.000,5;jalan\n"
                 "A;C;70;30,25;;sungai\nB;C;80;40;;perahu\n", encoding="utf-8")
    src = MatrixCsvTravel(f, missing="error")
    m = src.matrices(_pts3(), "both")
    assert m.km[0, 1] == pytest.approx(21.5) and m.cost_rp[0, 1] == pytest.approx(90000.5)
    assert m.km[0, 2] == pytest.approx(30.25) and m.mode[1, 2] == RIVER and m.minutes[2, 1] == 80


def test_matrix_csv_errors_name_file_row_column(tmp_path):
    f = tmp_path / "jarak.csv"
    f.write_text("dari,ke,menit,km\nA,B,33,21\nA,C,satu jam,30\n")
    with pytest.raises(MatrixCsvError) as e:
        MatrixCsvTravel(f)
    assert "jarak.csv" in str(e.value) and "row 3" in str(e.value) and "'menit'" in str(e.value)
    assert e.value.row == 3 and e.value.column == "menit"

    f.write_text("dari,ke,km\nA,B,21\n")
    with pytest.raises(MatrixCsvError, match="row 1.*missing column 'minutes'"):
        MatrixCsvTravel(f)
    f.write_text("dari,ke,menit,km\nA,B,33,21\nA,B,34,21\n")
    with pytest.raises(MatrixCsvError, match="row 3.*appears twice"):
        MatrixCsvTravel(f)
    f.write_text("dari,ke,menit,km,moda\nA,B,33,21,pesawat\n")
    with pytest.raises(MatrixCsvError, match="row 2.*'moda'.*pesawat"):
        MatrixCsvTravel(f)
    f.write_text("dari,ke,menit,km\nA,B,-5,21\n")
    with pytest.raises(MatrixCsvError, match="row 2.*'menit'"):
        MatrixCsvTravel(f)
    f.write_text("dari,ke,menit,km\nA,B,33,21\n")
    with pytest.raises(MatrixCsvError, match="jarak.csv: 4 pairs are missing: A -> C"):
        MatrixCsvTravel(f, missing="error").matrices(_pts3(), "both")
    with pytest.raises(MatrixCsvError, match="cannot read"):
        MatrixCsvTravel(tmp_path / "none.csv")


# --------------------------------------------------------------------------- OSRM
class _Osrm:
    """A tiny OSRM ``/table`` look-alike: durations from its own haversine at 50 km/h × 1.25."""

    def __init__(self, delay=0.0, max_coords=100):
        self.requests = []
        self.delay = delay
        self.max_coords = max_coords
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                time.sleep(outer.delay)
                u = urllib.parse.urlsplit(self.path)
                parts = u.path.split("/")
                # /table/v1/driving/<coords>
                if parts[1:4] != ["table", "v1", "driving"]:
                    return self._send(400, {"code": "InvalidUrl", "message": "bad path"})
                coords = [tuple(map(float, c.split(","))) for c in parts[4].split(";")]
                q = urllib.parse.parse_qs(u.query)
                outer.requests.append(len(coords))
                if len(coords) > outer.max_coords:
                    return self._send(400, {"code": "TooBig", "message": "Too many table coordinates"})
                if q.get("annotations") != ["duration,distance"]:
                    return self._send(400, {"code": "InvalidOptions", "message": "annotations"})
                src = [int(i) for i in q["sources"][0].split(";")] if "sources" in q else range(len(coords))
                dst = [int(i) for i in q["destinations"][0].split(";")] if "destinations" in q else range(len(coords))
                dur, dist = [], []
                for i in src:
                    drow, mrow = [], []
                    for j in dst:
                        (lo1, la1), (lo2, la2) = coords[i], coords[j]
                        m = hav_km(la1, lo1, la2, lo2) * 1.25 * 1000
                        unroutable = abs(la2 + 2.0) < 1e-9 and i != j  # a point OSRM can't snap
                        mrow.append(None if unroutable else m)
                        drow.append(None if unroutable else m / (50 / 3.6))
                    dur.append(drow)
                    dist.append(mrow)
                self._send(200, {"code": "Ok", "durations": dur, "distances": dist})

            def _send(self, status, payload):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_osrm_road_legs_chunked_river_legs_from_great_circle():
    pts = random_points(125, seed=8, access=["road"] * 110 + ["both"] * 5 + ["river"] * 10)
    with _Osrm() as srv:
        src = OsrmTravel(srv.url, max_coords=100, timeout=5)
        m = src.matrices(pts, "both")
    assert len(srv.requests) == 9 and max(srv.requests) <= 100  # 115 road points, chunks of 50
    gc = GreatCircleTravel().matrices(pts, "both")
    road = np.arange(115)
    for i, j in [(0, 1), (3, 99), (60, 114), (114, 2), (49, 50)]:
        km = hav_km(pts.lat[i], pts.lon[i], pts.lat[j], pts.lon[j]) * 1.25
        assert m.km[i, j] == pytest.approx(km, rel=1e-6)
        assert m.minutes[i, j] == round(km / 50 * 60)
        assert m.cost_rp[i, j] == pytest.approx(km * 4000, rel=1e-6)
        assert m.mode[i, j] == ROAD
    river = np.arange(115, 125)
    assert np.array_equal(m.minutes[np.ix_(road, river)], gc.minutes[np.ix_(road, river)])
    assert np.array_equal(m.minutes[np.ix_(river, river)], gc.minutes[np.ix_(river, river)])
    assert (np.diag(m.minutes) == 0).all()


def test_osrm_small_request_and_unroutable_pairs_keep_estimate():
    pts = pd.DataFrame({"lat": [-2.5, -2.6, -2.0], "lon": [112.9, 113.0, 112.8],
                        "access": ["road"] * 3})
    with _Osrm() as srv:
        m = OsrmTravel(srv.url).matrices(pts, "road")
    assert srv.requests == [3]
    gc = GreatCircleTravel().matrices(pts, "road")
    assert m.minutes[0, 2] == gc.minutes[0, 2] and "could not route" in " ".join(m.notes)
    assert m.minutes[0, 1] != gc.minutes[0, 1]


def test_osrm_server_down_timeout_and_refusal_give_clear_errors():
    pts = random_points(4, seed=9, access=["road"] * 4)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here now
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(OsrmError, match=f"OSRM server at {url} is unreachable"):
        OsrmTravel(url, timeout=2).matrices(pts, "road")
    m = OsrmTravel(url, timeout=2, on_error="fallback").matrices(pts, "road")
    assert "unreachable" in m.notes[-1]
    assert np.array_equal(m.minutes, GreatCircleTravel().matrices(pts, "road").minutes)
    with _Osrm(delay=1.5) as srv, pytest.raises(OsrmError, match="did not answer within 0.3 s"):
        OsrmTravel(srv.url, timeout=0.3).matrices(pts, "road")
    with _Osrm(max_coords=3) as srv, pytest.raises(OsrmError, match="HTTP 400: TooBig"):
        OsrmTravel(srv.url, max_coords=10).matrices(pts, "road")
    with pytest.raises(OsrmError, match="http://host:5000"):
        OsrmTravel("localhost:5000")


def test_large_matrix_prefault_path_matches_and_stays_symmetric():
    pts = random_points(2050, seed=10)  # 4.2 M cells: the prefault path runs
    a = GreatCircleTravel(prefault=True).matrices(pts, "both")
    b = GreatCircleTravel(prefault=False, threads=1).matrices(pts, "both")
    assert np.array_equal(a.minutes, b.minutes) and np.array_equal(a.km, b.km)
    assert np.array_equal(a.minutes, a.minutes.T) and np.array_equal(a.mode, a.mode.T)
