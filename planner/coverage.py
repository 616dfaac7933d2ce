"""The coverage of a dataset as people look at it: the ranked table (gap view, ``planner rank``)
and the map (``/peta``, a plan's route map, ``planner map``). One place for both the pages and
the commands, so they always show the same villages with the same filters.

Plain Python over the persistence layer (no Flask): labels and links come from the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
from sqlalchemy import select

from . import maps, ranking, repository
from .extensions import db
from .models import Dataset, TeamBase
from .paths import DATA_DIR

CONTEXT_FILE = "demo_context.geojson"


@dataclass(frozen=True)
class Filters:
    """The gap view's filters (all optional)."""

    below: float | None = None
    kecamatan: str | None = None
    min_unrecorded: int = 0
    query: str | None = None  # village name or code, accent- and case-insensitive

    def as_kwargs(self) -> dict:
        return {"below": self.below, "kecamatan": self.kecamatan,
                "min_unrecorded": self.min_unrecorded, "query": self.query}


@dataclass(frozen=True)
class Coverage:
    """A dataset's villages, the ranked (filtered) table, totals and the kecamatan roll-up."""

    dataset: Dataset
    frame: gpd.GeoDataFrame
    ranked: pd.DataFrame
    totals: dict
    shown: dict
    rollup: pd.DataFrame

    @property
    def kecamatan_list(self) -> list[str]:
        return sorted(self.frame["kecamatan"].unique())


def coverage(filters: Filters = Filters(), dataset: Dataset | None = None) -> Coverage | None:
    """The coverage of ``dataset`` (default: the newest), or None when there is no data."""
    dataset = dataset or repository.current_dataset()
    if dataset is None:
        return None
    frame = repository.villages_frame(dataset)
    table = frame.drop(columns="geometry")
    ranked = ranking.rank(table, **filters.as_kwargs())
    return Coverage(dataset=dataset, frame=frame, ranked=ranked, totals=ranking.totals(frame),
                    shown=ranking.totals(ranked), rollup=ranking.rollup(table))


def village_outlines() -> gpd.GeoDataFrame:
    """Every village's outline (the day sheets' route sketches); figures are not needed."""
    return repository.villages_frame(with_stats=False)


def all_bases() -> list[dict]:
    return [{"name": b.name, "lat": b.lat, "lon": b.lon, "kind": b.kind}
            for b in db.session.scalars(select(TeamBase).order_by(TeamBase.id)).all()]


def context_frame(dataset: Dataset | None) -> gpd.GeoDataFrame | None:
    """Rivers/roads of the fictional demo (``data/demo_context.geojson``); None otherwise."""
    path = DATA_DIR / CONTEXT_FILE
    if dataset is None or not dataset.fictional or not path.exists():
        return None
    try:
        return gpd.read_file(path)
    except Exception:  # noqa: BLE001  (a broken context file must not break the map)
        return None


def build_map(cov: Coverage, *, labels=None, row_link=None, focus=None, plan=None,
              tiles: bool | None = None, asset_base: str = maps.DEFAULT_ASSET_BASE,
              locale: str = "id"):
    """The coverage map of the ranked (filtered) villages; outlines from every village;
    the routes of ``plan`` (a Plan JSON) when given."""
    frame, dataset = cov.frame, cov.dataset
    shown = frame[frame["code"].isin(set(cov.ranked["code"]))]
    m = maps.new_map(asset_base=asset_base, locale=locale)
    if dataset.basemap if tiles is None else tiles:
        maps.add_basemap(m, on=True, labels=labels)
    maps.add_coverage_layer(ranking.add_measures(shown) if len(shown) else shown, m,
                            labels=labels, row_link=row_link)
    maps.add_context_layer(context_frame(dataset), m, labels=labels)
    maps.add_kecamatan_layer(frame, m, labels=labels)
    maps.add_bases_layer(all_bases(), m, labels=labels)
    if plan is not None:
        maps.add_route_layer(plan, m, labels=labels)
    if not len(shown):  # nothing matches the filters: still show the regency
        m._planner_bounds.append(tuple(frame.total_bounds))
    return maps.finish_map(m, focus=focus)


def team_day_map(plan: dict, team_day, dataset: Dataset | None, *, labels=None,
                 asset_base: str = maps.DEFAULT_ASSET_BASE, locale: str = "id"):
    """The map of one team-day (team-lead page): context and that day's route only."""
    one = dict(plan, teams=[dict(team_day.team, days=[team_day.day])])
    m = maps.new_map(asset_base=asset_base, locale=locale)
    if dataset is not None and dataset.basemap:
        maps.add_basemap(m, on=True, labels=labels)
    maps.add_context_layer(context_frame(dataset), m, labels=labels)
    maps.add_route_layer(one, m, labels=labels)
    return maps.finish_map(m)
