"""Persistence: turn validated domain frames into rows and rows back into frames.

Write functions take data that has already been validated (``planner.importer``) and write it
in one transaction: either everything lands or nothing does. Read functions return plain
pandas/geopandas frames for the domain modules (ranking, travel, engine, maps, sheets).

The village frame (``villages_frame``) is the contract between the layers. Columns:
``code, name, kecamatan, kecamatan_code, type, access, no_signal, stop_lat, stop_lon,
population, obliged, recorded, geometry`` (EPSG:4326; figures are the newest statistics entry
per village in the dataset; villages without figures are left out unless ``with_stats=False``).
"""

from __future__ import annotations

import datetime as dt
import json

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, mapping, shape
from sqlalchemy import func, select

from .extensions import db
from .models import Dataset, PlanVersion, TeamBase, Village, VillageStat, VisitResult

VILLAGE_COLUMNS = [
    "code", "name", "kecamatan", "kecamatan_code", "type", "access", "no_signal",
    "stop_lat", "stop_lon",
]
STAT_COLUMNS = ["population", "obliged", "recorded"]


# --------------------------------------------------------------------------- reading
def current_dataset() -> Dataset | None:
    """The active dataset (recap snapshot): the newest import unless the office chose another."""
    return db.session.scalars(
        select(Dataset).order_by(Dataset.active.desc(), Dataset.id.desc()).limit(1)).first()


def get_dataset(dataset_id: int | None) -> Dataset | None:
    if dataset_id is None:
        return current_dataset()
    return db.session.get(Dataset, dataset_id)


def villages_frame(dataset: Dataset | int | None = None, *, with_stats: bool = True) -> gpd.GeoDataFrame:
    """All villages with their current figures in ``dataset`` (default: the newest)."""
    villages = db.session.scalars(select(Village).order_by(Village.code)).all()
    rows = []
    geoms = []
    for v in villages:
        rows.append({c: getattr(v, c) for c in VILLAGE_COLUMNS})
        geoms.append(shape(json.loads(v.geometry)) if v.geometry else Point(v.stop_lon, v.stop_lat))
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326") if rows else gpd.GeoDataFrame(
        columns=VILLAGE_COLUMNS + ["geometry"], geometry="geometry", crs="EPSG:4326"
    )
    if not with_stats:
        return gdf
    ds = dataset if isinstance(dataset, Dataset) or dataset is None else get_dataset(dataset)
    if ds is None:
        ds = current_dataset()
    stats = current_stats(ds.id) if ds is not None else pd.DataFrame(columns=["village_code", *STAT_COLUMNS])
    merged = gdf.merge(stats, left_on="code", right_on="village_code", how="inner")
    merged = merged.drop(columns=["village_code"])
    for c in STAT_COLUMNS:
        merged[c] = merged[c].astype(int)
    return gpd.GeoDataFrame(merged, geometry="geometry", crs="EPSG:4326")


def current_stats(dataset_id: int) -> pd.DataFrame:
    """A dataset's figures per village: its recap, plus the people recorded in the field since
    the recap's snapshot date (``field_recorded_since``). A new recap therefore never hides
    field results: visits after its date are added to it, visits before it are in it."""
    newest = (
        select(VillageStat.village_code, func.max(VillageStat.id).label("max_id"))
        .where(VillageStat.dataset_id == dataset_id, VillageStat.source == "recap")
        .group_by(VillageStat.village_code)
        .subquery()
    )
    q = select(
        VillageStat.village_code, VillageStat.population, VillageStat.obliged, VillageStat.recorded
    ).join(newest, VillageStat.id == newest.c.max_id)
    rows = db.session.execute(q).all()
    frame = pd.DataFrame(rows, columns=["village_code", *STAT_COLUMNS])
    ds = db.session.get(Dataset, dataset_id)
    extra = field_recorded_since(ds.snapshot_date) if ds is not None else {}
    if extra and len(frame):
        frame["recorded"] = frame["recorded"] + frame["village_code"].map(extra).fillna(0).astype(int)
    return frame


def field_recorded_since(snapshot: dt.date) -> dict[str, int]:
    """People recorded per village by field visits dated after ``snapshot``: the newest report
    of each stop (a correction replaces the earlier report), counted for the stop's village."""
    rows = db.session.execute(
        select(PlanVersion.plan_id, VisitResult.team, VisitResult.date, VisitResult.site_code,
               VisitResult.actual_recorded)
        .join(PlanVersion, PlanVersion.id == VisitResult.plan_version_id)
        .where(VisitResult.date > snapshot).order_by(VisitResult.id)).all()
    latest: dict[tuple, tuple[str, int]] = {}
    for plan_id, team, date, code, actual in rows:
        latest[(plan_id, team, date, code)] = (code, int(actual or 0))
    out: dict[str, int] = {}
    for code, actual in latest.values():
        out[code] = out.get(code, 0) + actual
    return out


def default_base() -> TeamBase | None:
    """The base new plans start from unless told otherwise: the one marked default, else the
    oldest active base. Archived bases are never offered (``planner.roster``)."""
    return db.session.scalars(
        select(TeamBase).where(TeamBase.archived.is_(False))
        .order_by(TeamBase.is_default.desc(), TeamBase.id).limit(1)
    ).first()


def is_empty() -> bool:
    return db.session.scalar(select(func.count(Village.id))) == 0


# --------------------------------------------------------------------------- writing
def replace_villages(gdf: gpd.GeoDataFrame, *, source_file: str | None, fictional: bool = False,
                     commit: bool = True) -> int:
    """Insert or update villages by code from a validated boundaries frame (EPSG:4326).

    Villages not in the frame are kept (a partial boundaries file updates what it has). The
    village attributes (access, signal, lodging, note, a stop point placed by hand) belong to
    the village: a file changes access and signal only when it has those columns
    (``gdf.attrs["given"]``) and never touches the others.
    """
    existing = {v.code: v for v in db.session.scalars(select(Village)).all()}
    given = set(gdf.attrs.get("given", ("access", "no_signal", "stop")))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for rec in gdf.to_dict("records"):
        geom = rec["geometry"]
        v = existing.get(rec["code"])
        new = v is None
        if new:
            v = Village(code=rec["code"], access_source="default", stop_manual=False)
        v.name = rec["name"]
        v.kecamatan = rec["kecamatan"]
        v.kecamatan_code = rec.get("kecamatan_code")
        v.type = rec.get("type") or "desa"
        v.geometry = json.dumps(mapping(geom)) if geom is not None else None
        if new or not v.stop_manual or "stop" in given:
            v.stop_lat = float(rec["stop_lat"])
            v.stop_lon = float(rec["stop_lon"])
            v.stop_manual = False if new else (v.stop_manual and "stop" not in given)
        if new or "access" in given:
            v.access = rec.get("access") or "road"
        if new or "no_signal" in given:
            v.no_signal = bool(rec.get("no_signal") or False)
        if {"access", "no_signal"} & given:
            v.access_source = "file"
        v.source_file = source_file
        v.fictional = fictional
        v.imported_at = now
        db.session.add(v)
    if commit:
        db.session.commit()
    return len(gdf)


def add_dataset(recap: pd.DataFrame, *, name: str, snapshot_date: dt.date, recap_file: str | None,
                villages_file: str | None = None, fictional: bool = False, synthetic: bool = False,
                basemap: bool = True, commit: bool = True) -> Dataset:
    """Store one recap snapshot: ``recap`` has ``code, population, obliged, recorded``."""
    for other in db.session.scalars(select(Dataset).where(Dataset.active.is_(True))).all():
        other.active = False  # a new import becomes the active dataset
    ds = Dataset(name=name, snapshot_date=snapshot_date, recap_file=recap_file,
                 villages_file=villages_file, fictional=fictional, synthetic=synthetic,
                 basemap=basemap, active=True)
    db.session.add(ds)
    db.session.flush()
    db.session.add_all(
        VillageStat(dataset_id=ds.id, village_code=str(r.code), population=int(r.population),
                    obliged=int(r.obliged), recorded=int(r.recorded), source="recap")
        for r in recap.itertuples()
    )
    if commit:
        db.session.commit()
    return ds


def set_default_base(name: str, lat: float, lon: float, kind: str = "office", commit: bool = True,
                     *, vehicles: str | None = None) -> TeamBase:
    """Make the base ``name`` (added, or moved to ``lat``/``lon``, and taken out of the
    archive) the default one; ``vehicles`` (car|boat|both) when given. Not audited: the demo
    loader and the tests seed with it; the bases page goes through ``planner.roster``."""
    for b in db.session.scalars(select(TeamBase)).all():
        b.is_default = False
    base = db.session.scalars(select(TeamBase).where(TeamBase.name == name)
                              .order_by(TeamBase.id)).first()
    if base is None:
        base = TeamBase(name=name, lat=lat, lon=lon, kind=kind, vehicles=vehicles or "car",
                        archived=False)
        db.session.add(base)
    base.lat, base.lon, base.kind, base.is_default = lat, lon, kind, True
    base.archived = False
    if vehicles is not None:
        base.vehicles = vehicles
    if commit:
        db.session.commit()
    return base
