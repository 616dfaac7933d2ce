"""The map page (``/peta``: the coverage map beside the ranked table, same filters as the gap
view) and the bare map document it frames (``/peta/map.html``)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for

from .. import coverage
from .common import asset_base, locale, map_labels, map_response
from .gap import request_filters

bp = Blueprint("maps", __name__)

FILTER_ARGS = ("kecamatan", "below", "min_unrecorded", "q")


def _filter_args() -> dict:
    return {k: request.args[k] for k in FILTER_ARGS if request.args.get(k)}


@bp.route("/peta", endpoint="coverage")
def coverage_page():
    filters = request_filters()
    cov = coverage.coverage(filters)
    code = (request.args.get("code") or "").strip() or None
    args = _filter_args()
    map_args = dict(args, code=code) if code else args
    return render_template(
        "maps/coverage.html", dataset=cov.dataset if cov else None,
        ranked=cov.ranked if cov else None, totals=cov.totals if cov else None,
        shown=cov.shown if cov else None, filters=filters.as_kwargs(),
        kecamatan_list=cov.kecamatan_list if cov else [], highlight=code, filter_args=args,
        map_url=url_for("maps.map_document", **map_args),
    )


@bp.route("/peta/map.html")
def map_document():
    cov = coverage.coverage(request_filters())
    if cov is None or not len(cov.frame):
        abort(404)
    args = _filter_args()

    def row_link(code: str) -> str:
        return url_for("maps.coverage", **args, code=code, _anchor=f"v-{code}")

    code = (request.args.get("code") or "").strip() or None
    m = coverage.build_map(cov, labels=map_labels(), row_link=row_link, focus=code,
                           asset_base=asset_base(), locale=locale())
    return map_response(m)
