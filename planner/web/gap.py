"""The gap view (home page): villages ranked by priority, with filters, roll-up and exports.
Also the ``planner rank`` command, which prints the same ranking."""

from __future__ import annotations

import io
import json

import click
from flask import Blueprint, abort, render_template, request, send_file

from .. import ranking, repository

bp = Blueprint("gap", __name__, cli_group=None)


def _float_arg(name: str) -> float | None:
    raw = (request.args.get(name) or "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value / 100.0 if value > 1.5 else value  # "95" and "0.95" both mean 95 %


def _filters() -> dict:
    try:
        min_unrecorded = max(int(request.args.get("min_unrecorded") or 0), 0)
    except ValueError:
        min_unrecorded = 0
    return {
        "below": _float_arg("below"),
        "kecamatan": (request.args.get("kecamatan") or "").strip() or None,
        "min_unrecorded": min_unrecorded,
    }


def gap_data(filters: dict):
    dataset = repository.current_dataset()
    if dataset is None:
        return None, None, None, None, None
    frame = repository.villages_frame(dataset)
    ranked = ranking.rank(frame.drop(columns="geometry"), **filters)
    return dataset, frame, ranked, ranking.totals(frame), ranking.rollup(frame.drop(columns="geometry"))


@bp.route("/")
def index():
    filters = _filters()
    dataset, frame, ranked, totals, rollup = gap_data(filters)
    kecamatan_list = sorted(frame["kecamatan"].unique()) if frame is not None else []
    shown = ranking.totals(ranked) if ranked is not None else None
    return render_template(
        "gap.html", dataset=dataset, ranked=ranked, totals=totals, shown=shown, rollup=rollup,
        filters=filters, kecamatan_list=kecamatan_list, highlight=request.args.get("code"),
    )


@bp.route("/export.<fmt>")
def export(fmt: str):
    if fmt not in {"csv", "xlsx", "json"}:
        abort(404)
    dataset, _frame, ranked, _t, _r = gap_data(_filters())
    if dataset is None:
        abort(404)
    table = ranked[ranking.RANK_COLUMNS]
    if fmt == "json":
        return json.dumps(ranking.to_records(table), ensure_ascii=False), 200, {
            "Content-Type": "application/json; charset=utf-8"}
    buf = io.BytesIO()
    if fmt == "csv":
        buf.write(table.to_csv(index=False).encode("utf-8-sig"))
        mimetype = "text/csv"
    else:
        table.to_excel(buf, index=False, sheet_name="prioritas")
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    buf.seek(0)
    return send_file(buf, mimetype=mimetype, as_attachment=True, download_name=f"prioritas.{fmt}")


@bp.cli.command("rank")
@click.option("--below", type=float, default=None, help="Only villages with a rate below this (0.95 = 95 %).")
@click.option("--kecamatan", default=None, help="Only this kecamatan.")
@click.option("--min-unrecorded", type=int, default=0, help="Only villages with at least this many unrecorded.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@click.option("--limit", type=int, default=None, help="Print only the first N villages.")
def rank_command(below, kecamatan, min_unrecorded, fmt, limit):
    """Print villages ranked by priority (the gap view)."""
    dataset = repository.current_dataset()
    if dataset is None:
        raise click.ClickException("No data yet: run `planner import-villages` and `planner import-recap` (or `planner load-demo`).")
    frame = repository.villages_frame(dataset).drop(columns="geometry")
    ranked = ranking.rank(frame, below=below, kecamatan=kecamatan, min_unrecorded=min_unrecorded)
    if limit:
        ranked = ranked.head(limit)
    table = ranked[ranking.RANK_COLUMNS]
    if fmt == "json":
        click.echo(json.dumps(ranking.to_records(table), ensure_ascii=False, indent=1))
    elif fmt == "csv":
        click.echo(table.to_csv(index=False), nl=False)
    else:
        t = ranking.totals(frame)
        label = " (FIKTIF)" if dataset.fictional else (" (SINTETIS)" if dataset.synthetic else "")
        click.echo(f"{dataset.name}{label} — {dataset.snapshot_date}")
        click.echo(f"Total: {t['villages']} villages, population {t['population']:,}, obliged "
                   f"{t['obliged']:,}, recorded {t['recorded']:,}, unrecorded {t['unrecorded']:,}, "
                   f"rate {t['rate']:.2%}")
        click.echo(table.to_string(index=False, formatters={"rate": "{:.1%}".format}))
