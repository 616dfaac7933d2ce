"""Kotim geography + simple generated statistics for engine tests (data read at run time).

The recap figures are synthetic: ``planner.demo.kotim_recap`` when available, else made up
here (seeded). The real geography comes from ``../shared/data/kotim/villages.geojson`` at run
time; nothing is copied into the repository.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np

SAMPIT = (-2.5336, 112.9497)
FAR_KECAMATAN = ("Antang Kalang", "Bukit Santuai", "Telaga Antang")
RIVER_KECAMATAN = ("Pulau Hanaut",)


def kotim_frame(kotim_dir: Path, seed: int = 7) -> gpd.GeoDataFrame:
    g = gpd.read_file(kotim_dir / "villages.geojson")
    if g.crs is not None and g.crs.to_epsg() != 4326:
        g = g.to_crs(4326)
    try:  # the demo module's synthetic recap for the real villages, when it is there
        from planner.demo import kotim_recap

        recap = kotim_recap(kotim_dir / "villages.geojson")
    except ImportError:
        recap = None
    rng = np.random.default_rng(seed)
    n = len(g)
    lat = g["inner_lat"] if "inner_lat" in g else g.geometry.representative_point().y
    lon = g["inner_lon"] if "inner_lon" in g else g.geometry.representative_point().x
    obliged = rng.integers(400, 2500, n)
    rate = rng.uniform(0.80, 0.985, n)
    far = g["kecamatan"].isin(FAR_KECAMATAN).to_numpy()
    rate = np.where(far, rng.uniform(0.70, 0.85, n), rate)
    recorded = np.floor(obliged * rate).astype(int)
    out = gpd.GeoDataFrame({
        "code": g["code"].astype(str), "name": g["name"], "kecamatan": g["kecamatan"],
        "kecamatan_code": g.get("kecamatan_code", g["kecamatan"]), "type": g.get("type", "desa"),
        "access": np.where(g["kecamatan"].isin(RIVER_KECAMATAN), "river", "road"),
        "no_signal": False, "stop_lat": lat.astype(float), "stop_lon": lon.astype(float),
        "population": (obliged * 1.4).astype(int), "obliged": obliged, "recorded": recorded,
    }, geometry=g.geometry, crs="EPSG:4326")
    if recap is not None:
        cols = [c for c in ("population", "obliged", "recorded", "access", "no_signal") if c in recap]
        out = out.drop(columns=cols).merge(recap[["code", *cols]].astype({"code": str}), on="code")
        out = gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")
    return out


def kotim_request(n_teams: int = 6, days: int = 10, nights: int = 3):
    from planner.engine import PlanRequest, TeamSpec

    teams = []
    for k in range(n_teams):
        mode = "both" if k >= n_teams - 2 else "road"
        teams.append(TeamSpec(name=f"Tim {k + 1}", base=("Kantor Disdukcapil", *SAMPIT),
                              mode=mode, kits=3, max_nights=nights))
    return PlanRequest(teams=tuple(teams), start_date=dt.date(2026, 12, 1), days=days,
                       below=0.95, min_unrecorded=20, dataset="Kotim (uji)")
