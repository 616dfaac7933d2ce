"""The boundaries reader on good files: GeoJSON, zipped Shapefile (projected, BIG-style
property names, no CRS), GeoPackage, points, repairs and stop points."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon, box

from planner.importer import read_boundaries
from planner.importer.boundaries import OUT_COLUMNS

DATA = Path(__file__).parent / "data" / "import"


def zip_shapefile(gdf: gpd.GeoDataFrame, tmp_path: Path, name: str = "desa", drop_prj=False) -> Path:
    folder = tmp_path / f"{name}_shp"
    folder.mkdir()
    gdf.to_file(folder / f"{name}.shp", engine="pyogrio")
    out = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for f in folder.iterdir():
            if drop_prj and f.suffix == ".prj":
                continue
            zf.write(f, f"{name}/{f.name}")
    return out


def test_geojson_fixture():
    g = read_boundaries(DATA / "desa_fiktif.geojson")
    assert list(g.columns) == OUT_COLUMNS
    assert g.crs.to_epsg() == 4326
    assert len(g) == 8
    kel = g.set_index("code").loc["99.01.01.1001"]
    assert kel["type"] == "kelurahan" and kel["kecamatan_code"] == "99.01.01"
    assert g.set_index("code").loc["99.01.03.2002", "type"] == "desa"
    assert set(g["access"]) == {"road"} and not g["no_signal"].any()
    # stop point: the centroid of each square, inside it
    for row in g.itertuples():
        assert row.geometry.contains(Point(row.stop_lon, row.stop_lat))


def test_zipped_shapefile_projected_with_big_property_names(tmp_path):
    src = gpd.read_file(DATA / "desa_fiktif.geojson")
    big = gpd.GeoDataFrame({
        "KDEPUM": src["code"], "WADMKD": src["name"], "WADMKC": src["kecamatan"],
        "AKSES": ["darat", "sungai", "keduanya", "darat", "darat", "sungai", "sungai", "darat"],
        "SINYAL": ["ya", "tidak", "ya", "ya", "ya", "tidak", "tidak", "ya"],
    }, geometry=src.geometry, crs="EPSG:4326").to_crs("EPSG:32749")  # UTM 49S, metres
    path = zip_shapefile(big, tmp_path)
    g = read_boundaries(path)
    assert g.crs.to_epsg() == 4326
    assert list(g["code"]) == list(src["code"])
    assert list(g["access"][:3]) == ["road", "river", "both"]
    assert list(g["no_signal"][:3]) == [False, True, False]  # SINYAL = has signal
    # back in degrees, within a few cm of the source
    assert g.geometry.iloc[0].symmetric_difference(src.geometry.iloc[0]).area < 1e-9
    assert g["kecamatan_code"].iloc[0] == "99.01.01"


def test_shapefile_without_crs_in_lon_lat_is_taken_as_wgs84(tmp_path):
    src = gpd.read_file(DATA / "desa_fiktif.geojson")[["code", "name", "kecamatan", "geometry"]]
    path = zip_shapefile(src, tmp_path, drop_prj=True)
    g = read_boundaries(path)
    assert g.crs.to_epsg() == 4326 and len(g) == 8


def test_geopackage_with_points_inner_points_and_repair(tmp_path):
    bowtie = Polygon([(113.0, -2.0), (113.1, -2.1), (113.1, -2.0), (113.0, -2.1), (113.0, -2.0)])
    assert not bowtie.is_valid
    u_shape = box(113.2, -2.2, 113.5, -2.1).difference(box(113.25, -2.19, 113.45, -2.1))
    gdf = gpd.GeoDataFrame({
        "Kode_Desa": ["99.01.01.2001", "99.01.01.2002", "99.01.01.2003", "99.01.01.1004"],
        "Nama_Desa": ["Bowtie", "Huruf U", "Titik Saja", "Dengan Titik Henti"],
        "Kec": ["Uji", "Uji", "Uji", "Uji"],
        "tipe": ["desa", "Desa", None, "Kelurahan"],
        "inner_lat": [None, None, None, -2.305], "inner_lon": [None, None, None, 113.105],
    }, geometry=[bowtie, u_shape, Point(113.6, -2.3), box(113.0, -2.4, 113.2, -2.3)],
        crs="EPSG:4326")
    path = tmp_path / "desa.gpkg"
    gdf.to_file(path, engine="pyogrio")
    g = read_boundaries(path).set_index("code")
    assert g.attrs["repaired"] == 1
    assert g.loc["99.01.01.2001"].geometry.is_valid
    assert g.loc["99.01.01.2001"].geometry.geom_type in ("Polygon", "MultiPolygon")
    assert g.loc["99.01.01.2001"].geometry.area == pytest.approx(0.005, rel=1e-6)
    # the U's centroid lies in the gap: the stop point must still be inside the village
    u = g.loc["99.01.01.2002"]
    assert not u.geometry.contains(u.geometry.centroid)
    assert u.geometry.contains(Point(u.stop_lon, u.stop_lat))
    pt = g.loc["99.01.01.2003"]
    assert pt.geometry.geom_type == "Point" and (pt.stop_lat, pt.stop_lon) == (-2.3, 113.6)
    assert pt.type == "desa"  # from the code
    inner = g.loc["99.01.01.1004"]
    assert (inner.stop_lat, inner.stop_lon) == (-2.305, 113.105)
    assert inner.type == "kelurahan"


def test_villages_without_code_get_stand_in_codes(tmp_path):
    path = tmp_path / "tanpa_kode.geojson"
    gpd.GeoDataFrame({"nama": ["Satu", "Dua"], "kecamatan": ["A", "A"]},
                     geometry=[box(113, -2, 113.1, -1.9), box(113.1, -2, 113.2, -1.9)], crs="EPSG:4326").to_file(path)
    g = read_boundaries(path)
    assert all(re.fullmatch(r"NOKODE\.[0-9A-F]{8}", c) for c in g["code"])
    assert g["code"].is_unique
    assert list(g["name"]) == ["Satu", "Dua"] and g["kecamatan_code"].isna().all()
    # the same village keeps its stand-in code in another file and another order
    path2 = tmp_path / "urutan_lain.geojson"
    gpd.GeoDataFrame({"nama": ["Dua", "Satu"], "kecamatan": ["A", "A"]},
                     geometry=[box(113.1, -2, 113.2, -1.9), box(113, -2, 113.1, -1.9)], crs="EPSG:4326").to_file(path2)
    g2 = read_boundaries(path2)
    assert list(g2["code"]) == list(g["code"])[::-1]
