"""The gap view (home page): villages ranked by priority, with filters, roll-up and exports; on
top, the set-up checklist of an office that is not ready yet (``planner.datasets.readiness``),
folded away once everything is done."""

from __future__ import annotations

import io
import json

from flask import Blueprint, abort, render_template, request, send_file, url_for
from werkzeug.routing import BuildError

from .. import coverage, datasets, lifecycle, ranking
from ..exports import safe_cell
from . import access
from . import stops as stops_web

bp = Blueprint("gap", __name__)


def _float_arg(name: str) -> float | None:
    raw = (request.args.get(name) or "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value / 100.0 if value > 1.5 else value  # "95" and "0.95" both mean 95 %


def request_filters() -> coverage.Filters:
    """The gap view's filters from the query string (bad values are ignored)."""
    try:
        min_unrecorded = max(int(request.args.get("min_unrecorded") or 0), 0)
    except ValueError:
        min_unrecorded = 0
    return coverage.Filters(below=_float_arg("below"),
                            kecamatan=(request.args.get("kecamatan") or "").strip() or None,
                            min_unrecorded=min_unrecorded,
                            query=(request.args.get("q") or "").strip()[:100] or None)


def setup_link(endpoint: str) -> str | None:
    """The checklist's link to the page that fixes an item: only for users who change data
    (viewers read the checklist), and only to a page they may open that exists."""
    if not access.can("datasets.activate", "POST") or not access.can(endpoint):
        return None
    try:
        return url_for(endpoint)
    except BuildError:
        return None


def _args_without(*names: str) -> dict:
    return {k: v for k, v in request.args.items() if k not in names and v}


@bp.route("/")
def index():
    filters = request_filters()
    cov = coverage.coverage(filters)
    return render_template(
        "gap.html", dataset=cov.dataset if cov else None, ranked=cov.ranked if cov else None,
        totals=cov.totals if cov else None, shown=cov.shown if cov else None,
        rollup=cov.rollup if cov else None, filters=filters.as_kwargs(),
        kecamatan_list=cov.kecamatan_list if cov else [], highlight=request.args.get("code"),
        ready=datasets.readiness(link=setup_link), editor=access.can("datasets.activate", "POST"),
        clear_search=url_for("gap.index", **_args_without("q", "code")),
        clear_filters=url_for("gap.index"),
        flags=lifecycle.village_flags(), can_flag=access.can("stops.village_flag", "POST"),
        flag_label=lambda f: str(stops_web.FLAG_LABELS.get(f, f)),
    )


@bp.route("/export.<fmt>")
def export(fmt: str):
    if fmt not in {"csv", "xlsx", "json"}:
        abort(404)
    cov = coverage.coverage(request_filters())
    if cov is None:
        abort(404)
    table = cov.ranked[ranking.RANK_COLUMNS]
    if fmt == "json":
        return json.dumps(ranking.to_records(table), ensure_ascii=False), 200, {
            "Content-Type": "application/json; charset=utf-8"}
    table = table.map(safe_cell)
    buf = io.BytesIO()
    if fmt == "csv":
        buf.write(table.to_csv(index=False).encode("utf-8-sig"))
        mimetype = "text/csv"
    else:
        table.to_excel(buf, index=False, sheet_name="prioritas")
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    buf.seek(0)
    return send_file(buf, mimetype=mimetype, as_attachment=True, download_name=f"prioritas.{fmt}")
