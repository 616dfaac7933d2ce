"""The gap view (home page): villages ranked by priority, with filters, roll-up and exports."""

from __future__ import annotations

import io
import json

from flask import Blueprint, abort, render_template, request, send_file

from .. import coverage, ranking
from ..exports import safe_cell

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
                            min_unrecorded=min_unrecorded)


@bp.route("/")
def index():
    filters = request_filters()
    cov = coverage.coverage(filters)
    return render_template(
        "gap.html", dataset=cov.dataset if cov else None, ranked=cov.ranked if cov else None,
        totals=cov.totals if cov else None, shown=cov.shown if cov else None,
        rollup=cov.rollup if cov else None, filters=filters.as_kwargs(),
        kecamatan_list=cov.kecamatan_list if cov else [], highlight=request.args.get("code"),
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
