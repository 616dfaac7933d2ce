"""Test data for the map tests (plain functions; imported by tests/test_maps.py and the browser
tests): a small FICTIONAL regency (codes 99.01.*) with hostile names, and the real Kotim
boundaries (read from ../shared at run time, never copied) with synthetic figures."""

from __future__ import annotations

import datetime as dt
import zlib
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, box

XSS_NAMES = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</script>",
)
XSS_KECAMATAN = "Kec </script><script>alert(2)</script>"


def fictional_villages(*, xss: bool = False) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """4 × 3 square villages in three kecamatan plus one village known only by a point.

    Figures give every legend class: rates 70 %, 85 %, 92 %, 97 %, 100 %, 104 %.
    """
    rows = []
    recap = []
    rates = [0.70, 0.85, 0.92, 0.97, 1.00, 1.04]
    names = ["Sungai Contoh", "Tanjung Uji", "Bukit Rekaan", "Desa Percobaan", "Muara Andaian",
             "Lubuk Khayalan", "Teluk Anggapan", "Pasir Misal", "Batu Tiruan", "Rantau Semu",
             "Padang Maya", "Kuala Umpama"]
    if xss:
        names[0], names[1], names[2] = XSS_NAMES
    for i in range(12):
        col, row = i % 4, i // 4
        kec_no = row + 1
        x0, y0 = 112.80 + col * 0.1, -2.60 + row * 0.1
        code = f"99.01.0{kec_no}.20{i + 1:02d}"
        kec = ["Kecamatan Satu", "Kecamatan Dua", "Kecamatan Tiga"][row]
        if xss and row == 2:
            kec = XSS_KECAMATAN
        rows.append({"code": code, "name": names[i], "kecamatan": kec,
                     "kecamatan_code": f"99.01.0{kec_no}", "type": "desa",
                     "access": "river" if col == 3 else "road", "no_signal": col == 3,
                     "stop_lat": y0 + 0.05, "stop_lon": x0 + 0.05,
                     "geometry": box(x0, y0, x0 + 0.1, y0 + 0.1)})
        obliged = 1000 + 137 * i
        recap.append({"code": code, "population": int(obliged * 1.4), "obliged": obliged,
                      "recorded": round(obliged * rates[i % len(rates)])})
    rows.append({"code": "99.01.03.2099", "name": "Kampung Titik", "kecamatan": "Kecamatan Tiga",
                 "kecamatan_code": "99.01.03", "type": "desa", "access": "river",
                 "no_signal": True, "stop_lat": -2.25, "stop_lon": 113.25,
                 "geometry": Point(113.25, -2.25)})
    recap.append({"code": "99.01.03.2099", "population": 900, "obliged": 640, "recorded": 400})
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    return gdf, pd.DataFrame(recap)


def kotim_villages(kotim_dir: Path) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The 185 real Kotim polygons with SYNTHETIC figures (planner.demo.kotim_recap when the
    demo helper provides it, else a deterministic formula from the code and area)."""
    gdf = gpd.read_file(kotim_dir / "villages.geojson")
    info = pd.read_csv(kotim_dir / "villages.csv", dtype={"code": str})
    gdf = gdf.merge(info[["code", "inner_lat", "inner_lon", "area_km2"]], on="code")
    gdf["stop_lat"], gdf["stop_lon"] = gdf["inner_lat"], gdf["inner_lon"]
    gdf["access"], gdf["no_signal"] = "road", False
    try:
        from planner.demo import kotim_recap

        recap = kotim_recap(kotim_dir / "villages.csv")
    except (ImportError, AttributeError, TypeError):
        recs = []
        for code, area in zip(gdf["code"], gdf["area_km2"], strict=True):
            h = zlib.crc32(code.encode())
            obliged = 400 + int(area * 3) + h % 1500
            rate = 0.72 + (h % 330) / 1000.0  # 72 % … 105 %
            recs.append({"code": code, "population": int(obliged * 1.45), "obliged": obliged,
                         "recorded": int(obliged * rate)})
        recap = pd.DataFrame(recs)
    for col in ("access", "no_signal"):
        if col in recap.columns:
            gdf[col] = gdf["code"].map(dict(zip(recap["code"], recap[col], strict=True)))
    recap = recap[["code", "population", "obliged", "recorded"]]
    cols = ["code", "name", "kecamatan", "kecamatan_code", "type", "access", "no_signal",
            "stop_lat", "stop_lon", "geometry"]
    return gpd.GeoDataFrame(gdf[cols], geometry="geometry", crs="EPSG:4326"), recap


def store(app, gdf: gpd.GeoDataFrame, recap: pd.DataFrame, *, name: str, fictional: bool,
          basemap: bool, synthetic: bool = False,
          base: tuple[str, float, float] | None = None) -> None:
    """Write villages + one dataset (+ the default base) through the repository functions."""
    from planner import repository

    with app.app_context():
        repository.replace_villages(gdf, source_file="test", fictional=fictional)
        repository.add_dataset(recap, name=name, snapshot_date=dt.date(2026, 11, 1),
                               recap_file="test", fictional=fictional, synthetic=synthetic,
                               basemap=basemap)
        if base:
            repository.set_default_base(*base)
