"""Pooled collection points (CP-SAT and greedy) on the Rawa Sari case and random villages."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pandas as pd
import pytest

from planner.engine.pooling import PoolingError, PoolingParams, choose_collection_points


@dataclasses.dataclass(frozen=True)
class Site:  # SiteSpec-like (duck typing: pooling must not need the engine's class)
    code: str
    name: str
    lat: float
    lon: float
    access: str
    unrecorded: int
    expected: int
    kind: str = "village"
    no_signal: bool = False
    pooled: tuple = ()


# Pulau Hanaut, 10 March 2020 (FIELD.md): Rawa Sari 164, Mekarti Jaya 230, Hanaut 50 jiwa,
# served together at the Balai Desa Rawa Sari. Stop points: village centroids (public
# Kemendagri boundaries); only Rawa Sari has a BTS.
RAWA_SARI = [
    Site("62.02.09.2006", "Rawa Sari", -2.72349, 112.960438, "river", 164, 98),
    Site("62.02.09.2005", "Makarti Jaya", -2.751068, 112.956184, "river", 230, 138, no_signal=True),
    Site("62.02.09.2007", "Hanaut", -2.746181, 113.00297, "river", 50, 30, no_signal=True),
]


def km(a, b):
    r = 6371.0088
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b.lon - a.lon) / 2) ** 2)
    return 2 * r * math.asin(math.sqrt(h))


def brute_force(sites, radius, decay, stop_cost, no_signal_cost):
    """Best objective over every host set, each non-host going to its best host (or alone)."""
    def people(v, h):
        d = km(v, h)
        return 0.0 if d > radius else min(v.unrecorded, v.expected * (1 - d / radius) ** decay)

    best = None
    n = len(sites)
    for mask in itertools.product([0, 1], repeat=n):
        hosts = [s for s, m in zip(sites, mask, strict=True) if m]
        if not hosts:
            continue
        val = sum(h.expected - stop_cost - no_signal_cost * h.no_signal for h in hosts)
        ok = True
        for s, m in zip(sites, mask, strict=True):
            if m:
                continue
            opts = [people(s, h) for h in hosts if km(s, h) <= radius]
            if not opts:
                ok = False
                break
            val += max(opts)
        if ok and (best is None or val > best[0] + 1e-9):
            best = (val, {h.code for h in hosts})
    return best


def objective(result, sites, stop_cost, no_signal_cost):
    by = {s.code: s for s in sites}
    total = 0.0
    for r in result:
        s = by[r.code]
        total += s.expected - stop_cost - no_signal_cost * s.no_signal
        total += sum(p["expected"] for p in r.pooled)
    return total


def check_partition(result, sites):
    seen = [r.code for r in result] + [p["code"] for r in result for p in r.pooled]
    assert sorted(seen) == sorted(s.code for s in sites)  # every village exactly once
    by = {s.code: s for s in sites}
    for r in result:
        served = [r.code] + [p["code"] for p in r.pooled]
        assert r.unrecorded == sum(by[c].unrecorded for c in served)
        assert r.expected <= r.unrecorded
        for p in r.pooled:
            assert p["expected"] <= by[p["code"]].unrecorded


@pytest.mark.parametrize("method", ["cpsat", "greedy"])
def test_rawa_sari_three_villages_one_host(method):
    res = choose_collection_points(RAWA_SARI, radius_km=8, decay=1.0, method=method,
                                   time_limit=2)
    assert len(res) == 1
    host = res[0]
    assert {p["name"] for p in host.pooled} | {host.name} == {"Rawa Sari", "Makarti Jaya", "Hanaut"}
    check_partition(res, RAWA_SARI)
    assert host.expected < sum(s.unrecorded for s in RAWA_SARI)
    own = next(s for s in RAWA_SARI if s.code == host.code).expected
    assert host.expected == own + sum(p["expected"] for p in host.pooled)
    assert isinstance(host, Site) and host.lat == next(s.lat for s in RAWA_SARI if s.code == host.code)


def test_cpsat_matches_brute_force_and_signal_decides_the_host():
    for nsc in (10.0, 150.0):
        res = choose_collection_points(RAWA_SARI, radius_km=8, decay=1.0, stop_cost=40,
                                       no_signal_cost=nsc, time_limit=2)
        best_val, best_hosts = brute_force(RAWA_SARI, 8, 1.0, 40, nsc)
        assert {r.code for r in res} == best_hosts
        assert objective(res, RAWA_SARI, 40, nsc) == pytest.approx(best_val, abs=len(RAWA_SARI))
    # with the signal weighing enough, the host is the village with the BTS: Rawa Sari
    assert [r.name for r in res] == ["Rawa Sari"]


def test_no_pooling_across_road_river_boundary_or_beyond_radius():
    a = Site("A", "Seberang", -2.60, 112.95, "road", 300, 180)
    b = Site("B", "Pulau", -2.61, 112.955, "river", 40, 24)  # 1.2 km away, river-only
    c = Site("C", "Dermaga", -2.605, 112.952, "both", 40, 24)  # shares road with A, river with B
    far = Site("D", "Jauh", -2.90, 113.2, "road", 40, 24)
    res = choose_collection_points([a, b, far], radius_km=5)
    assert {r.code for r in res} == {"A", "B", "D"} and all(not r.pooled for r in res)
    res = choose_collection_points([a, c], radius_km=5)
    assert len(res) == 1
    res = choose_collection_points([b, c], radius_km=5)
    assert len(res) == 1


def random_sites(n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        u = int(rng.integers(20, 600))
        out.append(Site(f"V{i:03d}", f"Desa {i}", float(rng.uniform(-2.8, -2.5)),
                        float(rng.uniform(112.8, 113.1)), str(rng.choice(["road", "both", "river"])),
                        u, int(u * 0.6), no_signal=bool(rng.random() < 0.3)))
    return out


def test_random_villages_cpsat_beats_greedy_deterministic_never_over_unrecorded():
    sites = random_sites(60, seed=11)
    kw = dict(radius_km=6, decay=1.5, stop_cost=40, no_signal_cost=10)
    a = choose_collection_points(sites, **kw, time_limit=3)
    b = choose_collection_points(sites, **kw, time_limit=3)
    g = choose_collection_points(sites, **kw, method="greedy")
    assert a == b  # same input, same answer
    assert any(r.pooled for r in a) and len(a) < len(sites)
    for res in (a, g):
        check_partition(res, sites)
        assert sum(r.expected for r in res) <= sum(s.unrecorded for s in sites)
    assert objective(a, sites, 40, 10) >= objective(g, sites, 40, 10) - 1e-6
    assert objective(a, sites, 40, 10) > sum(s.expected - 40 - 10 * s.no_signal for s in sites)


def test_dataframe_in_dataframe_out_and_non_villages_pass_through():
    df = pd.DataFrame([dataclasses.asdict(s) for s in RAWA_SARI])
    school = {"code": "SMA1", "name": "SMAN 1", "lat": -2.7236, "lon": 112.9605, "access": "river",
              "unrecorded": 80, "expected": 70, "kind": "school", "no_signal": False, "pooled": ()}
    df = pd.concat([df, pd.DataFrame([school])], ignore_index=True)
    out = choose_collection_points(df, radius_km=8)
    assert isinstance(out, pd.DataFrame) and len(out) == 2
    srow = out[out.code == "SMA1"].iloc[0]
    assert srow.expected == 70 and len(srow.pooled) == 0
    host = out[out.kind == "village"].iloc[0]
    assert len(host.pooled) == 2 and host.unrecorded == 164 + 230 + 50


def test_expected_missing_uses_turnout_and_bad_parameters():
    sites = [dict(code="A", name="A", lat=-2.5, lon=112.9, access="road", unrecorded=100,
                  expected=None),
             dict(code="B", name="B", lat=-2.51, lon=112.9, access="road", unrecorded=50,
                  expected=None)]
    out = choose_collection_points(sites, radius_km=5, turnout=0.5, decay=0)
    assert len(out) == 1 and out[0]["code"] == "A" and out[0]["expected"] == 50 + 25
    with pytest.raises(PoolingError, match="radius_km"):
        choose_collection_points(sites, radius_km=0)
    with pytest.raises(PoolingError, match="method"):
        choose_collection_points(sites, radius_km=5, method="magic")
    assert PoolingParams().radius_km > 0


def test_keep_codes_are_never_pooled_away():
    res = choose_collection_points(RAWA_SARI, radius_km=8, keep=["62.02.09.2007"])
    codes = {r.code for r in res}
    assert "62.02.09.2007" in codes  # Hanaut stays a stop of its own (e.g. a locked visit)
    check_partition(res, RAWA_SARI)


def test_real_kotim_pulau_hanaut_never_pools_with_the_road_bank(kotim_dir):
    v = pd.read_csv(kotim_dir / "villages.csv", dtype={"code": str})
    v = v[v.kecamatan.isin(["Pulau Hanaut", "Mentawa Baru Ketapang", "Mentaya Hilir Selatan"])]
    rng = np.random.default_rng(3)
    sites = [Site(r.code, r.name, r.inner_lat, r.inner_lon,
                  "river" if r.kecamatan == "Pulau Hanaut" else "road", int(u), int(u * 0.6))
             for r, u in zip(v.itertuples(), rng.integers(30, 400, len(v)), strict=True)]
    res = choose_collection_points(sites, radius_km=12, decay=0, time_limit=3)
    check_partition(res, sites)
    island = {s.code for s in sites if s.access == "river"}
    assert any(r.pooled for r in res)
    for r in res:
        group = {r.code} | {p["code"] for p in r.pooled}
        assert group <= island or not (group & island)  # never across the Mentaya
    # The closest pair across the river (Rawa Sari on the island, Bapanggang Raya on the road
    # bank, ~6 km apart) would be pooled if both had road access; with real access it is not.
    pair = [s for s in sites if s.name in ("Rawa Sari", "Bapanggang Raya")]
    assert len(pair) == 2
    as_road = [dataclasses.replace(s, access="road") for s in pair]
    assert len(choose_collection_points(as_road, radius_km=12, decay=0)) == 1
    assert len(choose_collection_points(pair, radius_km=12, decay=0)) == 2
