"""A pytest plugin (loaded by tests/conftest.py) with the planning fixtures several areas share:
a tiny FICTIONAL regency (10 square villages, codes 99.01.*, one hostile name), the plan form's
data, solving through the form, and re-checking a stored plan with the engine's validator.

Fixtures: ``tiny_app``, ``load_tiny``, ``plan_form_data``, ``solve_via_form``,
``validate_stored``, ``next_monday``, ``hostile_name``.
"""

from __future__ import annotations

import datetime as dt
import re

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

BASE = ("Kantor Uji (fiktif)", -2.54, 112.95)
HOSTILE = "<script>alert('x')</script> Desa"
TIME_LIMIT = 2


def tiny_regency() -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """10 square villages around the base: 8 by road, 2 river-only; 30–160 km away."""
    rows, recap = [], []
    spots = [(-2.40, 112.90), (-2.30, 113.05), (-2.20, 112.85), (-2.65, 113.10), (-2.10, 113.00),
             (-1.95, 112.80), (-1.80, 112.95), (-2.50, 113.30), (-2.85, 112.95), (-1.60, 113.10)]
    for i, (lat, lon) in enumerate(spots):
        code = f"99.01.0{i % 3 + 1}.20{i + 1:02d}"
        name = HOSTILE if i == 0 else f"Desa Uji {i + 1}"
        rows.append({"code": code, "name": name, "kecamatan": f"Kecamatan {i % 3 + 1}",
                     "kecamatan_code": f"99.01.0{i % 3 + 1}", "type": "desa",
                     "access": "river" if i in (3, 8) else "road", "no_signal": i == 9,
                     "stop_lat": lat, "stop_lon": lon,
                     "geometry": box(lon - 0.04, lat - 0.04, lon + 0.04, lat + 0.04)})
        obliged = 900 + 130 * i
        recap.append({"code": code, "population": int(obliged * 1.4), "obliged": obliged,
                      "recorded": obliged - (120 + 45 * i)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326"), pd.DataFrame(recap)


def _load_tiny(app) -> None:
    from planner import repository

    with app.app_context():
        gdf, recap = tiny_regency()
        repository.replace_villages(gdf, source_file="uji.geojson", fictional=True)
        repository.add_dataset(recap, name="Data uji (fiktif)", snapshot_date=dt.date(2026, 10, 31),
                               recap_file="uji.csv", fictional=True, synthetic=True,
                               basemap=False)  # fictional: no OpenStreetMap tiles under it
        repository.set_default_base(*BASE)


def _next_monday() -> dt.date:
    today = dt.date.today()
    return today + dt.timedelta(days=(7 - today.weekday()) % 7 or 7)


def _form_data(**overrides) -> dict:
    data = {
        "name": "Rencana uji", "n_teams": "", "start_date": _next_monday().isoformat(), "days": "3",
        "work_start": "08:00", "work_end": "16:00", "skip_weekends": "y", "holidays": "",
        "below": "", "min_unrecorded": "0", "turnout": "60", "must_visit": "", "exclude": "",
        "pooling_radius": "5", "time_limit": str(TIME_LIMIT), "seed": "1",
        "teams-0-name": "Tim Darat", "teams-0-kits": "3", "teams-0-mode": "road",
        "teams-0-max_nights": "0",
        "teams-1-name": "Tim Perahu", "teams-1-kits": "3", "teams-1-mode": "both",
        "teams-1-max_nights": "2",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _solve_via_form(client, **overrides) -> int:
    r = client.post("/rencana", data=_form_data(**overrides))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    m = re.search(r"/rencana/job/(\d+)$", r.headers["Location"])
    assert m, r.headers["Location"]
    return int(m.group(1))


def _validate_stored(version) -> list[str]:
    """Re-check the re-planned part of a stored plan against the instance rebuilt from its
    stored parameters (the days the params cover: all of them for a first version)."""
    from planner import pipeline
    from planner.engine import validate_plan

    params = pipeline.load_params(version.params)
    _ds, instance = pipeline.build_instance(params)
    doc = dict(version.result)
    if params.replan is not None:
        cut = params.replan.from_date
        doc["teams"] = [dict(t, days=[d for d in t["days"] if d["date"] >= cut])
                        for t in doc["teams"]]
        doc.pop("totals", None)
    return validate_plan(doc, instance.to_dict())


@pytest.fixture(scope="session")
def load_tiny():
    return _load_tiny


@pytest.fixture
def tiny_app(app):
    _load_tiny(app)
    return app


@pytest.fixture(scope="session")
def plan_form_data():
    return _form_data


@pytest.fixture(scope="session")
def solve_via_form():
    return _solve_via_form


@pytest.fixture(scope="session")
def validate_stored():
    return _validate_stored


@pytest.fixture(scope="session")
def next_monday():
    return _next_monday()


@pytest.fixture(scope="session")
def hostile_name():
    return HOSTILE


def _store_plan_doc(doc: dict, name: str, *, dataset_id: int | None = None) -> tuple[int, int]:
    """Store a hand-made Plan JSON (a test fixture, not solved here) as version 1 of a new plan,
    with the keys the pipeline's ``finalise`` sets; returns (plan id, version). Call inside an
    app context."""
    from planner import plan_json, plan_store
    from planner.extensions import db

    plan = plan_store.create_plan(name, dataset_id, commit=False)
    stored = plan_json.finalise(doc, plan_id=plan.id, version=1, plan_name=plan.name,
                                dataset=doc.get("dataset", ""), dataset_id=dataset_id,
                                params=doc["params"], fictional=True)
    version = plan_store.add_version(plan, 1, stored["params"], stored)
    db.session.commit()
    return plan.id, version.version


@pytest.fixture(scope="session")
def store_plan_doc():
    return _store_plan_doc


@pytest.fixture(scope="session")
def make_app(request):
    """``make_app(tmp_path, **config)`` of tests/conftest.py, for module-scoped apps (looked up
    as the loaded plugin: ``import conftest`` may give tests/browser/conftest.py)."""
    from pathlib import Path

    root = Path(__file__).with_name("conftest.py").resolve()
    for plugin in request.config.pluginmanager.get_plugins():
        if Path(getattr(plugin, "__file__", "") or "").resolve() == root:
            return plugin.make_app
    raise RuntimeError("tests/conftest.py not loaded")
