"""The map page (``/peta``: the coverage map beside the ranked table, same filters as the gap
view), the bare map document it frames (``/peta/map.html``) and ``planner map --out FILE``,
which writes a self-contained map file that opens from disk with no server or internet."""

from __future__ import annotations

from pathlib import Path

import click
import geopandas as gpd
from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from .. import DATA_DIR, maps, ranking, repository
from ..extensions import db
from ..models import Plan, PlanVersion, TeamBase
from .gap import _filters, gap_data

bp = Blueprint("maps", __name__, cli_group=None)

CONTEXT_FILE = "demo_context.geojson"
FILTER_ARGS = ("kecamatan", "below", "min_unrecorded")


def map_labels() -> dict[str, str]:
    """The map's labels in the user's language (msgids are the Indonesian defaults)."""
    return {
        "coverage": _("Cakupan perekaman KTP-el"),
        "kecamatan_layer": _("Batas kecamatan"),
        "bases": _("Basis tim"),
        "context": _("Sungai dan jalan"),
        "basemap": _("Peta dasar OpenStreetMap"),
        "legend_title": _("Persentase rekam KTP-el"),
        "legend_points": _("Lingkaran: desa tanpa batas wilayah, besar = jumlah belum rekam"),
        "name": _("Desa/Kelurahan"),
        "kecamatan": _("Kecamatan"),
        "obliged": _("Wajib KTP-el"),
        "recorded": _("Sudah rekam"),
        "unrecorded": _("Belum rekam"),
        "rate": _("Persentase rekam"),
        "open_row": _("Lihat di tabel"),
        "team": _("Tim"),
        "date": _("Tanggal"),
        "arrive": _("Tiba"),
        "depart": _("Berangkat"),
        "expected": _("Perkiraan orang"),
        "pooled": _("Warga dari desa lain"),
        "no_signal": _("Tanpa sinyal: bawa formulir offline"),
        "start": _("Berangkat dari"),
        "end": _("Bermalam/kembali di"),
    }


def all_bases() -> list[dict]:
    return [{"name": b.name, "lat": b.lat, "lon": b.lon, "kind": b.kind}
            for b in db.session.scalars(select(TeamBase).order_by(TeamBase.id)).all()]


def context_frame(dataset) -> gpd.GeoDataFrame | None:
    """Rivers/roads of the fictional demo (``data/demo_context.geojson``); None otherwise."""
    path = Path(DATA_DIR) / CONTEXT_FILE
    if dataset is None or not dataset.fictional or not path.exists():
        return None
    try:
        return gpd.read_file(path)
    except Exception:  # noqa: BLE001  (a broken context file must not break the map)
        return None


def build_map(dataset, frame, ranked, *, labels=None, row_link=None, focus=None, plan=None,
              tiles: bool | None = None, asset_base: str = maps.DEFAULT_ASSET_BASE):
    """The coverage map of the ranked (filtered) villages; outlines from every village."""
    shown = frame[frame["code"].isin(set(ranked["code"]))] if ranked is not None else frame.iloc[:0]
    m = maps.new_map(asset_base=asset_base)
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


def _filter_args() -> dict:
    return {k: request.args[k] for k in FILTER_ARGS if request.args.get(k)}


@bp.route("/peta")
def coverage():
    filters = _filters()
    dataset, frame, ranked, totals, _rollup = gap_data(filters)
    code = (request.args.get("code") or "").strip() or None
    kecamatan_list = sorted(frame["kecamatan"].unique()) if frame is not None else []
    args = _filter_args()
    map_args = dict(args, code=code) if code else args
    return render_template(
        "maps/coverage.html", dataset=dataset, ranked=ranked, totals=totals,
        shown=ranking.totals(ranked) if ranked is not None else None, filters=filters,
        kecamatan_list=kecamatan_list, highlight=code, filter_args=args,
        map_url=url_for("maps.map_document", **map_args),
    )


@bp.route("/peta/map.html")
def map_document():
    filters = _filters()
    dataset, frame, ranked, _t, _r = gap_data(filters)
    if dataset is None or frame is None or not len(frame):
        abort(404)
    args = _filter_args()

    def row_link(code: str) -> str:
        return url_for("maps.coverage", **args, code=code, _anchor=f"v-{code}")

    code = (request.args.get("code") or "").strip() or None
    m = build_map(dataset, frame, ranked, labels=map_labels(), row_link=row_link, focus=code,
                  asset_base=url_for("static", filename="vendor").rstrip("/"))
    return maps.render_html(m), 200, {"Content-Type": "text/html; charset=utf-8",
                                      "X-Frame-Options": "SAMEORIGIN"}


def plan_result(plan_id: int) -> dict:
    """The newest version's Plan JSON of a saved plan (ClickException when missing)."""
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise click.ClickException(f"Plan {plan_id} not found.")
    version = db.session.scalars(
        select(PlanVersion).where(PlanVersion.plan_id == plan_id, PlanVersion.result.is_not(None))
        .order_by(PlanVersion.version.desc()).limit(1)).first()
    if version is None:
        raise click.ClickException(f"Plan {plan_id} has no finished version yet.")
    return version.result


@bp.cli.command("map")
@click.option("--out", "out", default="maps/coverage.html", show_default=True,
              type=click.Path(dir_okay=False), help="HTML file to write (self-contained).")
@click.option("--below", type=float, default=None, help="Only villages with a rate below this (0.95 = 95 %).")
@click.option("--kecamatan", default=None, help="Only this kecamatan.")
@click.option("--min-unrecorded", type=int, default=0, help="Only villages with at least this many unrecorded.")
@click.option("--plan", "plan_id", type=int, default=None, help="Draw the routes of this saved plan.")
@click.option("--plan-json", type=click.Path(dir_okay=False), default=None,
              help="Draw the routes of a Plan JSON file.")
@click.option("--tiles/--no-tiles", default=None,
              help="OpenStreetMap basemap layer (default: on for real data, off for the demo).")
def map_command(out, below, kecamatan, min_unrecorded, plan_id, plan_json, tiles):
    """Write the coverage map as one HTML file that opens from disk, offline."""
    dataset = repository.current_dataset()
    if dataset is None:
        raise click.ClickException("No data yet: run `planner import-villages` and `planner import-recap` (or `planner load-demo`).")
    if below is not None and below > 1.5:
        below = below / 100.0
    frame = repository.villages_frame(dataset)
    if kecamatan and kecamatan not in set(frame["kecamatan"]):
        raise click.ClickException(f"Unknown kecamatan {kecamatan!r}. Known: {', '.join(sorted(frame['kecamatan'].unique()))}")
    ranked = ranking.rank(frame.drop(columns="geometry"), below=below, kecamatan=kecamatan,
                          min_unrecorded=min_unrecorded)
    plan = None
    if plan_json and plan_id is not None:
        raise click.ClickException("Use either --plan or --plan-json, not both.")
    if plan_json:
        try:
            plan = maps.load_plan_json(plan_json)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    elif plan_id is not None:
        plan = plan_result(plan_id)
    m = build_map(dataset, frame, ranked, plan=plan, tiles=tiles)
    try:
        size = maps.save_standalone(m, out)
    except OSError as exc:
        raise click.ClickException(f"Cannot write {out}: {exc.strerror or exc}") from exc
    click.echo(f"Wrote {out}: {len(ranked)} villages, {size / 1024:.0f} KiB ({size:,} bytes). "
               "Open it in a browser; it needs no server or internet"
               + (" (only the optional basemap tiles do)." if (dataset.basemap if tiles is None else tiles) else "."))
