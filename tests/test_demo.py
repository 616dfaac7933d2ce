"""The built-in FICTIONAL demo regency (planner.demo) and the calibrated synthetic recaps."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import LineString, Point

from planner import DATA_DIR, demo
from planner.importer import read_boundaries, read_recap

CODE_RE = re.compile(r"^99\.01\.(\d{2})\.([12])\d{3}$")


@pytest.fixture(scope="module")
def gen() -> demo.Demo:
    return demo.generate()


@pytest.fixture(scope="module")
def figures(gen) -> pd.DataFrame:
    """Villages with their figures, rate and distance from the capital (km)."""
    v = gen.villages.drop(columns="geometry").merge(
        gen.recap[["code", "population", "obliged", "recorded"]], on="code", validate="1:1")
    cap = gen.meta["capital"]
    v["dist"] = demo._haversine_km(v["stop_lat"], v["stop_lon"], cap["lat"], cap["lon"])
    v["rate"] = v["recorded"] / v["obliged"]
    return v


def _by_kind(gen, kind):
    return gen.context[gen.context["kind"] == kind]


# --------------------------------------------------------------------------- files
def test_files_are_byte_identical_for_the_seed_and_match_the_committed_data(tmp_path):
    from planner.cli.db import generate_demo_command

    first = demo.write_demo(tmp_path / "a")
    result = CliRunner().invoke(generate_demo_command,
                                ["--out", str(tmp_path / "b"), "--seed", str(demo.DEFAULT_SEED)])
    assert result.exit_code == 0, result.output
    assert sorted(first) == sorted(demo.FILES.values())
    for name in first:
        data = (tmp_path / "a" / name).read_bytes()
        assert data == (tmp_path / "b" / name).read_bytes(), name
        committed = (DATA_DIR / name).read_bytes()
        if data != committed:  # a newer GEOS/numpy may move a vertex in the last decimal
            _assert_same_content(name, data, committed)


def _assert_same_content(name, fresh: bytes, committed: bytes):
    """The committed demo equals a fresh generation up to 1e-4 degrees in coordinates."""
    import json

    from shapely.geometry import shape

    if not name.endswith(".geojson"):
        assert fresh == committed, f"data/{name} is stale: run make demo"
        return
    a, b = json.loads(fresh), json.loads(committed)
    assert len(a["features"]) == len(b["features"]), f"data/{name} is stale: run make demo"
    for fa, fb in zip(a["features"], b["features"], strict=True):
        assert fa["properties"] == fb["properties"], f"data/{name} is stale: run make demo"
        ga, gb = shape(fa["geometry"]), shape(fb["geometry"])
        assert ga.equals_exact(gb, 1e-4) or ga.symmetric_difference(gb).area < 1e-6, name


def test_another_seed_gives_another_regency(gen):
    other = demo.generate(seed=7)
    assert list(other.villages["name"]) != list(gen.villages["name"])
    assert len(other.villages) == 185
    assert other.recap["population"].sum() == demo.TOTAL_POPULATION
    assert other.recap["obliged"].sum() == demo.TOTAL_OBLIGED


def test_committed_files_are_small_and_labelled_fictional():
    assert (DATA_DIR / "demo_villages.geojson").stat().st_size < 400_000
    meta = json.loads((DATA_DIR / "demo.json").read_text(encoding="utf-8"))
    assert meta["fictional"] is True and meta["basemap"] is False
    assert "fiktif" in meta["region"]
    assert meta["seed"] == demo.DEFAULT_SEED and meta["snapshot_date"] == "2026-10-31"
    assert "fiktif" in meta["base"]["name"]
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    assert "FICTIONAL" in readme and "fiktif" in readme
    assert f"planner generate-demo --out data --seed {demo.DEFAULT_SEED}" in readme
    for name in ("demo_villages.geojson", "demo_context.geojson"):
        head = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
        assert head["fictional"] is True and "FIKTIF" in head["description"]
    title = (DATA_DIR / "demo_recap.csv").read_bytes().decode("utf-8-sig").splitlines()[0]
    assert "(FIKTIF)" in title


def test_real_importer_reads_the_committed_files():
    gdf = read_boundaries(DATA_DIR / "demo_villages.geojson")
    assert len(gdf) == 185 and gdf.crs.to_epsg() == 4326
    table = read_recap(DATA_DIR / "demo_recap.csv")
    frame = table.frame
    assert len(frame) == 185
    assert table.total["population"] == frame["population"].sum() == demo.TOTAL_POPULATION
    assert table.total["obliged"] == frame["obliged"].sum() == demo.TOTAL_OBLIGED
    assert set(frame["code"]) == set(gdf["code"])
    merged = frame.merge(gdf[["code", "access", "no_signal"]], on="code", suffixes=("_csv", ""))
    assert (merged["access_csv"] == merged["access"]).all()
    assert (merged["no_signal_csv"] == merged["no_signal"]).all()


# --------------------------------------------------------------------------- geography
def test_counts_codes_and_names(gen):
    v = gen.villages
    assert len(v) == 185
    assert v["kecamatan_code"].nunique() == 17 and v["kecamatan"].nunique() == 17
    assert (v["type"] == "kelurahan").sum() == 17 and (v["type"] == "desa").sum() == 168
    assert v["code"].is_unique and v["name"].is_unique
    for row in v.itertuples():
        m = CODE_RE.match(row.code)
        assert m, row.code
        assert row.code.startswith(row.kecamatan_code + ".")
        assert (m.group(2) == "1") == (row.type == "kelurahan")
    assert sorted(v["kecamatan_code"].unique()) == [f"99.01.{k:02d}" for k in range(1, 18)]
    # all kelurahan sit in the capital's kecamatan, which contains the capital
    capital = _by_kind(gen, "capital").geometry.iloc[0]
    kel_kec = v.loc[v["type"] == "kelurahan", "kecamatan_code"].unique()
    assert len(kel_kec) == 1
    kec = _by_kind(gen, "kecamatan")
    assert kec.loc[kec["code"] == kel_kec[0]].geometry.iloc[0].covers(capital)
    # clean invented names, unique kecamatan names
    assert all(re.fullmatch(r"[A-Z][a-z]+( [A-Z][a-z]+)*", n) for n in v["name"])
    assert kec["name"].is_unique


def test_names_are_not_those_of_the_real_regency(gen, kotim_dir):
    kotim = pd.read_csv(kotim_dir / "villages.csv", dtype=str)
    assert not set(gen.villages["name"]) & set(kotim["name"])
    assert not set(gen.villages["kecamatan"]) & set(kotim["kecamatan"])


def test_size_and_shape(gen):
    outline = _by_kind(gen, "outline").to_crs("EPSG:6933")
    area_km2 = outline.area.iloc[0] / 1e6
    assert 14_000 <= area_km2 <= 18_000
    minx, miny, maxx, maxy = _by_kind(gen, "outline").total_bounds
    mid = (miny + maxy) / 2
    width_km = (maxx - minx) * 111.32 * np.cos(np.radians(mid))
    height_km = (maxy - miny) * 110.57
    assert height_km > 1.6 * width_km  # elongated north–south
    assert 1.9 < maxy - miny < 2.3 and 0.8 < maxx - minx < 1.4
    # the villages tile the outline
    villages_area = gen.villages.to_crs("EPSG:6933").area.sum() / 1e6
    assert villages_area == pytest.approx(area_km2, rel=1e-3)


def test_polygons_valid_non_overlapping_and_contain_their_stop(gen):
    v = gen.villages
    assert (v.geometry.geom_type == "Polygon").all() and v.is_valid.all()
    eq = v.to_crs("EPSG:6933")
    geoms = list(eq.geometry)
    tree = shapely.STRtree(geoms)
    overlap = sum(geoms[i].intersection(geoms[j]).area
                  for i in range(len(geoms)) for j in tree.query(geoms[i]) if j > i)
    assert overlap / 1e6 < 0.01  # km²: only rounding slivers at 5 decimals
    for row in v.itertuples():
        assert row.geometry.contains(Point(row.stop_lon, row.stop_lat)), row.code
    kec = _by_kind(gen, "kecamatan")
    assert len(kec) == 17 and (kec.geometry.geom_type == "Polygon").all()  # contiguous
    assert kec.is_valid.all()


def test_rivers_roads_capital_and_base(gen):
    ctx = gen.context
    rivers = ctx[ctx["kind"] == "river"]
    assert (rivers["role"] == "main").sum() == 1 and 3 <= (rivers["role"] == "tributary").sum() <= 5
    main = rivers[rivers["role"] == "main"].geometry.iloc[0]
    outline = _by_kind(gen, "outline").geometry.iloc[0]
    ys = [c[1] for c in main.coords]
    lat0, lat1 = outline.bounds[1], outline.bounds[3]
    assert min(ys) - lat0 < 0.02  # reaches the coast in the south
    assert max(ys) > lat0 + 0.85 * (lat1 - lat0)  # comes from the far north
    capital = _by_kind(gen, "capital").geometry.iloc[0]
    assert capital.y < lat0 + 0.15 * (lat1 - lat0) and capital.distance(main) < 0.03
    trunk = ctx[(ctx["kind"] == "road") & (ctx["role"] == "trunk")].geometry.iloc[0]
    road_top = max(c[1] for c in trunk.coords)
    assert 0.5 < (road_top - lat0) / (lat1 - lat0) < 0.7
    assert gen.meta["road_end"]["lat"] == pytest.approx(road_top, abs=1e-4)
    base = _by_kind(gen, "base")
    assert base["name"].iloc[0] == "Kantor Disdukcapil (fiktif)"
    assert base.geometry.iloc[0].distance(capital) < 0.02
    assert gen.meta["base"]["lat"] == pytest.approx(base.geometry.iloc[0].y)


def test_access_modes(gen):
    v = gen.villages
    road_end = gen.meta["road_end"]["lat"]
    estuary = set(gen.meta["river_kecamatan"])
    river = v[v["access"] == "river"]
    upriver = river[~river["kecamatan_code"].isin(estuary)]
    assert len(upriver) >= 20
    assert (upriver["stop_lat"] > road_end).all()  # beyond the end of the road
    # everything far beyond the road end is river-only
    assert (v.loc[v["stop_lat"] > road_end + 0.1, "access"] == "river").all()
    # the estuary kecamatan across the river from the capital is river-only
    est = v[v["kecamatan_code"].isin(estuary)]
    assert len(est) >= 5 and (est["access"] == "river").all()
    main = gen.context[(gen.context["kind"] == "river") & (gen.context["role"] == "main")]
    capital = _by_kind(gen, "capital").geometry.iloc[0]
    for row in est.itertuples():
        assert LineString([capital, Point(row.stop_lon, row.stop_lat)]).crosses(main.geometry.iloc[0])
    # "both" villages near the road end
    both = v[v["access"] == "both"]
    assert len(both) >= 3 and ((both["stop_lat"] - road_end).abs() < 0.15).all()
    assert (v["access"] == "road").sum() > 100
    # no signal: most river-only villages upriver, never in the capital
    assert upriver["no_signal"].mean() > 0.6
    assert not v.loc[v["type"] == "kelurahan", "no_signal"].any()


# --------------------------------------------------------------------------- figures
def test_totals_are_exact_and_figures_consistent(gen, figures):
    r = gen.recap
    assert r["population"].sum() == 443_033 and r["obliged"].sum() == 316_474
    assert (r["obliged"] <= r["population"]).all() and (r["recorded"] <= r["population"]).all()
    assert (r[["population", "obliged", "recorded"]] > 0).all().all()
    share = r["obliged"] / r["population"]
    assert share.between(0.6, 0.8).all()
    assert gen.meta["totals"] == {"population": 443_033, "obliged": 316_474,
                                  "recorded": int(r["recorded"].sum())}
    # bigger towns near the capital
    kel = figures[figures["type"] == "kelurahan"]["population"].mean()
    assert kel > 2.5 * figures[figures["type"] == "desa"]["population"].mean()


def test_rates_fall_with_remoteness(figures):
    f = figures.sort_values("dist")
    third = len(f) // 3
    near, far = f.head(third)["rate"], f.tail(third)["rate"]
    assert far.mean() < near.mean() - 0.08
    assert f["dist"].rank().corr(f["rate"].rank()) < -0.5  # Spearman
    upriver = f[(f["access"] == "river") & (f["dist"] > f["dist"].quantile(0.75))]
    assert len(upriver) >= 10 and upriver["rate"].between(0.60, 0.86).all()
    assert upriver["rate"].min() < 0.7
    over = f[f["rate"] > 1.0]
    assert len(over) >= 3 and (over["type"] == "kelurahan").all()
    typical = f.iloc[third: 2 * third]["rate"]
    assert typical.median() > 0.9


# --------------------------------------------------------------------------- synthetic recap
@pytest.fixture(scope="module")
def kotim(kotim_dir):
    return demo.kotim_recap(kotim_dir / "villages.csv")


def test_kotim_synthetic_recap_is_calibrated(kotim, kotim_dir):
    villages = pd.read_csv(kotim_dir / "villages.csv", dtype=str)
    assert len(kotim) == len(villages) == 185 and set(kotim["code"]) == set(villages["code"])
    assert list(kotim.columns) == ["code", "name", "kecamatan", "population", "obliged",
                                   "recorded", "access", "no_signal"]
    assert kotim["population"].sum() == 443_033 and kotim["obliged"].sum() == 316_474
    assert (kotim["obliged"] <= kotim["population"]).all()
    assert (kotim["recorded"] <= kotim["population"]).all()
    assert (kotim.loc[kotim["kecamatan"] == "Pulau Hanaut", "access"] == "river").all()
    both = kotim["kecamatan"].isin(["Antang Kalang", "Telaga Antang", "Bukit Santuai"])
    assert (kotim.loc[both, "access"] == "both").all()
    assert (kotim.loc[~both & (kotim["kecamatan"] != "Pulau Hanaut"), "access"] == "road").all()
    v = villages.set_index("code").loc[kotim["code"]]
    dist = demo._haversine_km(v["inner_lat"].astype(float).to_numpy(),
                              v["inner_lon"].astype(float).to_numpy(), *demo.KOTIM_CAPITAL)
    rate = (kotim["recorded"] / kotim["obliged"]).to_numpy()
    order = np.argsort(dist)
    assert rate[order[-60:]].mean() < rate[order[:60]].mean() - 0.08
    assert rate[order[-20:]].max() <= 0.86 and rate.min() >= 0.6
    assert (rate > 1.0).sum() >= 3
    # towns (Sampit's kelurahan) weigh more
    kel = v["type"].to_numpy() == "kelurahan"
    assert kotim["population"][kel].mean() > 2 * kotim["population"][~kel].mean()


def test_synthetic_recap_is_deterministic_and_order_independent(kotim, kotim_dir):
    villages = pd.read_csv(kotim_dir / "villages.csv", dtype=str)
    again = demo.kotim_recap(kotim_dir / "villages.csv")
    pd.testing.assert_frame_equal(kotim, again)
    shuffled = villages.sample(frac=1.0, random_state=3)
    s = demo.synthetic_recap(shuffled, capital=demo.KOTIM_CAPITAL,
                             river_kecamatan=["Pulau Hanaut"],
                             both_kecamatan=["Antang Kalang", "Telaga Antang", "Bukit Santuai"])
    pd.testing.assert_frame_equal(kotim, s)
    other = demo.kotim_recap(kotim_dir / "villages.csv", seed=5)
    assert other["population"].sum() == 443_033
    assert not other["recorded"].equals(kotim["recorded"])


def test_synthetic_recap_options_and_errors(kotim_dir):
    geo = demo.kotim_recap(kotim_dir / "villages.geojson", target_rate=0.97,
                           total_population=100_000, total_obliged=70_000)
    assert geo["population"].sum() == 100_000 and geo["obliged"].sum() == 70_000
    assert geo["recorded"].sum() / 70_000 == pytest.approx(0.97, abs=0.002)
    villages = pd.read_csv(kotim_dir / "villages.csv", dtype=str)
    with pytest.raises(ValueError, match="duplicate"):
        demo.synthetic_recap(pd.concat([villages, villages.head(1)]), capital=(0, 0))
    with pytest.raises(ValueError, match="exceed"):
        demo.synthetic_recap(villages, capital=(0, 0), total_population=10, total_obliged=11)
    with pytest.raises(ValueError, match="target_rate"):
        demo.synthetic_recap(villages, capital=(0, 0), target_rate=2.0)


def test_write_recap_csv_round_trips_through_the_importer(kotim, tmp_path):
    path = demo.write_recap_csv(kotim, tmp_path / "rekap.csv",
                                title="REKAP SINTETIS KOTAWARINGIN TIMUR (BUKAN DATA NYATA)")
    text = path.read_bytes().decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0].startswith("REKAP SINTETIS") and lines[1] == "Keadaan: 31 Oktober 2026;;;;;;;;;"
    assert lines[2] == ";".join(demo.RECAP_HEADER)
    assert lines[-2].startswith(";TOTAL;;443.033;316.474;")
    table = read_recap(path)
    got = table.frame.set_index("code").loc[kotim["code"]]
    assert (got["population"].to_numpy() == kotim["population"].to_numpy()).all()
    assert (got["recorded"].to_numpy() == kotim["recorded"].to_numpy()).all()
    assert (got["access"].to_numpy() == kotim["access"].to_numpy()).all()
    assert table.total["recorded"] == kotim["recorded"].sum()


# --------------------------------------------------------------------------- loading
def test_load_demo_through_the_importer(app):
    from planner import repository
    from planner.models import Dataset, Village

    with app.app_context():
        summary = demo.load_demo()
        assert "FIKTIF" in summary and "443.033" in summary and "\n" not in summary
        frame = repository.villages_frame()
        assert len(frame) == 185
        assert frame["population"].sum() == 443_033 and frame["obliged"].sum() == 316_474
        ds = repository.current_dataset()
        assert isinstance(ds, Dataset)
        assert ds.fictional and ds.synthetic and not ds.basemap
        assert ds.name == "Demo Kabupaten Contoh (fiktif)" and str(ds.snapshot_date) == "2026-10-31"
        assert all(v.fictional for v in Village.query.all())
        base = repository.default_base()
        assert base.name == "Kantor Disdukcapil (fiktif)"
        committed = pd.read_csv(DATA_DIR / "demo_recap.csv", sep=";", skiprows=2, dtype=str,
                                encoding="utf-8-sig")
        assert set(frame["code"]) == set(committed["KODE"].dropna())
        meta = json.loads((DATA_DIR / "demo.json").read_text(encoding="utf-8"))
        river_kec = frame["kecamatan_code"].isin(meta["river_kecamatan"])
        assert river_kec.sum() >= 5 and (frame.loc[river_kec, "access"] == "river").all()
        # the office's set-up: a car base (default) and a pier, the roster with a boat team,
        # lodging villages from the bulk attributes file
        from planner import roster

        bases = {b.name: b for b in roster.list_bases()}
        assert {b["name"] for b in meta["bases"]} == set(bases)
        assert bases[base.name].vehicles == "car" and base.is_default
        pier = next(b for b in bases.values() if b.name.startswith("Dermaga"))
        assert pier.vehicles == "both" and not pier.is_default
        teams = {t.name: t for t in roster.list_teams()}
        assert set(teams) == {"Tim 1", "Tim 2", "Tim 3 (perahu)"}
        assert teams["Tim 3 (perahu)"].vehicle == "boat" and teams["Tim 3 (perahu)"].base_id == pier.id
        assert all(t.leader and t.phone for t in teams.values())
        lodging = {v.code: v.lodging for v in Village.query.all() if v.lodging}
        assert len(lodging) >= 16 and set(lodging.values()) <= {"kecamatan_office", "puskesmas"}


def test_load_demo_cli_if_empty(runner):
    first = runner.invoke(args=["load-demo", "--if-empty", "--no-plan"])
    assert first.exit_code == 0 and "FIKTIF" in first.output
    second = runner.invoke(args=["load-demo", "--if-empty", "--no-plan"])
    assert second.exit_code == 0 and "not loaded" in second.output
