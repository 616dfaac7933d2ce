"""Day sheets, exports and the team-lead page of a saved plan version, plus the
``planner itinerary`` and ``planner export`` commands.

Routes (``team`` = 1-based team number or exact name, ``day`` = ISO date):

* ``/rencana/<plan_id>/v<version>/lembar.pdf?team=&day=&lang=`` — day sheets as one PDF
* ``/rencana/<plan_id>/v<version>/lembar?team=&day=`` — the same as an HTML print view
* ``/rencana/<plan_id>/v<version>/ekspor.<fmt>?team=&day=`` — csv, xlsx, gpx, kml, geojson
* ``/t/<plan_id>/<version>/<team_index>/<date>`` — the team-lead page for one team's day (the short
  link and QR code printed on each sheet), and ``.../peta.html`` the map it frames.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import click
from flask import Blueprint, current_app, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from .. import exports, plan_store, repository, sheets
from ..extensions import db
from ..models import Plan

bp = Blueprint("sheets", __name__, cli_group=None)


# --------------------------------------------------------------------------- loading
def _plan_json(plan_row: Plan, version_row) -> dict:
    """The stored Plan JSON with the plan's name, id and version filled in."""
    plan = dict(version_row.result)
    plan["plan_id"] = str(plan_row.id)
    plan["version"] = version_row.version
    plan.setdefault("plan_name", plan_row.name)
    dataset = repository.get_dataset(plan_row.dataset_id) if plan_row.dataset_id else None
    if dataset is not None and (dataset.fictional or dataset.synthetic):
        plan.setdefault("fictional", bool(dataset.fictional))
    return plan


def load_plan(plan_id: int, version: int | None = None):
    """(Plan JSON, dataset) of a saved version (the newest when ``version`` is None), or
    (None, None) when the plan, the version or its result does not exist."""
    plan_row = db.session.get(Plan, plan_id)
    if plan_row is None:
        return None, None
    row = (plan_store.latest_version(plan_id) if version is None
           else plan_store.get_version(plan_id, version))
    if row is None or not row.result:
        return None, None
    dataset = repository.get_dataset(plan_row.dataset_id) if plan_row.dataset_id else None
    return _plan_json(plan_row, row), dataset


def villages_for_sketch():
    """Every village (outlines for the sketches); figures are not needed."""
    try:
        return repository.villages_frame(with_stats=False)
    except Exception:  # noqa: BLE001 - a sketch without outlines is still a sketch
        current_app.logger.exception("villages for sketch")
        return None


def context_for(dataset):
    from .maps import context_frame

    try:
        return context_frame(dataset or repository.current_dataset())
    except Exception:  # noqa: BLE001
        return None


def _bad_request(message: str):
    return render_template("error.html", code=400, message=message), 400


def _not_found(message: str | None = None):
    return render_template("error.html", code=404,
                           message=message or _("Halaman tidak ditemukan.")), 404


def _selection_args():
    """(team, day, error message) from the query string."""
    team = (request.args.get("team") or "").strip() or None
    day = (request.args.get("day") or "").strip() or None
    if team is not None and len(team) > 200:
        return None, None, _("Parameter tim terlalu panjang.")
    if day is not None:
        try:
            day = dt.date.fromisoformat(day).isoformat()
        except ValueError:
            return None, None, _("Tanggal tidak sah: gunakan format TTTT-BB-HH, misalnya 2026-12-01.")
    return team, day, None


def _check_selection(plan: dict, team, day):
    """None when the selection exists, else a 404 response."""
    try:
        exports.select_team_days(plan, team, day, with_empty=True)
    except exports.SelectionError:
        return _not_found(_("Tim atau tanggal tidak ada dalam rencana ini."))
    return None


def _filename(plan: dict, stem: str, team, day, ext: str) -> str:
    parts = [stem, f"rencana{plan['plan_id']}", f"v{plan['version']}"]
    if team is not None:
        n, _t = exports.find_team(plan, team)
        parts.append(f"tim{n}")
    if day:
        parts.append(day)
    return "-".join(parts) + "." + ext


def _locale() -> str:
    return str(get_locale() or current_app.config.get("BABEL_DEFAULT_LOCALE", "id"))


def _resolve_selection(plan_id: int, version: int):
    """``((plan, dataset, team, day), None)`` for the query's team/day, or ``(None, response)``
    with the 400/404 page."""
    team, day, error = _selection_args()
    if error:
        return None, _bad_request(error)
    plan, dataset = load_plan(plan_id, version)
    if plan is None:
        return None, _not_found(_("Rencana atau versi ini tidak ada."))
    missing = _check_selection(plan, team, day)
    if missing:
        return None, missing
    return (plan, dataset, team, day), None


# --------------------------------------------------------------------------- sheets
@bp.route("/rencana/<int:plan_id>/v<int:version>/lembar.pdf")
def sheets_pdf(plan_id: int, version: int):
    lang = request.args.get("lang")
    if lang and lang not in current_app.config["LANGUAGES"]:
        return _bad_request(_("Bahasa tidak dikenal: pilih id atau en."))
    resolved, error_page = _resolve_selection(plan_id, version)
    if error_page is not None:
        return error_page
    plan, dataset, team, day = resolved
    pdf = sheets.render_daysheets_pdf(
        plan, villages_for_sketch(), team=team, day=day, context=context_for(dataset),
        base_url=current_app.config["PUBLIC_BASE_URL"], gettext=_, locale=_locale())
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                     download_name=_filename(plan, "lembar", team, day, "pdf"))


@bp.route("/rencana/<int:plan_id>/v<int:version>/lembar")
def sheets_html(plan_id: int, version: int):
    resolved, error_page = _resolve_selection(plan_id, version)
    if error_page is not None:
        return error_page
    plan, dataset, team, day = resolved
    args = {k: v for k, v in (("team", team), ("day", day)) if v}
    links = [(_("Unduh PDF"), url_for("sheets.sheets_pdf", plan_id=plan_id, version=version, **args))]
    if "plans.show" in current_app.view_functions:
        links.insert(0, (_("Kembali ke rencana"), url_for("plans.show", plan_id=plan_id, version=version)))
    doc = sheets.render_daysheets_html(
        plan, villages_for_sketch(), team=team, day=day, context=context_for(dataset),
        base_url=current_app.config["PUBLIC_BASE_URL"], gettext=_, locale=_locale(),
        screen_links=links)
    return doc, 200, {"Content-Type": "text/html; charset=utf-8"}


# --------------------------------------------------------------------------- exports
@bp.route("/rencana/<int:plan_id>/v<int:version>/ekspor.<fmt>")
def export(plan_id: int, version: int, fmt: str):
    if fmt not in exports.FORMATS:
        return _not_found(_("Format ekspor tidak dikenal."))
    resolved, error_page = _resolve_selection(plan_id, version)
    if error_page is not None:
        return error_page
    plan, _dataset, team, day = resolved
    data, mimetype = exports.export_bytes(plan, fmt, team, day)
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                     download_name=_filename(plan, "rencana", team, day, exports.FORMATS[fmt][2]))


# --------------------------------------------------------------------------- team lead
def _team_day_or_none(plan_id: int, version: int, team_no: int, date: str):
    """(plan, dataset, TeamDay) or (None, None, None) when any part is missing."""
    try:
        date = dt.date.fromisoformat(date).isoformat()
    except ValueError:
        return None, None, None
    plan, dataset = load_plan(plan_id, version)
    if plan is None:
        return None, None, None
    try:
        td = exports.get_team_day(plan, team_no, date)
    except exports.SelectionError:
        return None, None, None
    return plan, dataset, td


@bp.route("/t/<int:plan_id>/<int:version>/<int:team_index>/<date>")
def teamlead(plan_id: int, version: int, team_index: int, date: str):
    """The team-lead page; ``team_index`` is 1-based (Tim 1 = 1), as printed on the sheets."""
    plan, dataset, td = _team_day_or_none(plan_id, version, team_index, date)
    if td is None:
        return _not_found(_("Rencana, versi, tim atau tanggal ini tidak ada."))
    model = sheets.sheet_model(plan, td, villages=None, base_url=current_app.config["PUBLIC_BASE_URL"],
                               gettext=_, locale=_locale(), with_sketch=False, with_qr=False)
    args = {"team": td.team_no, "day": td.date}
    downloads = [
        (_("Unduh GPX"), url_for("sheets.export", plan_id=plan_id, version=version, fmt="gpx", **args)),
        (_("Unduh KML"), url_for("sheets.export", plan_id=plan_id, version=version, fmt="kml", **args)),
        (_("Lembar kerja (PDF)"), url_for("sheets.sheets_pdf", plan_id=plan_id, version=version, **args)),
    ]
    return render_template(
        "sheets/teamlead.html", plan=plan, s=model, downloads=downloads, dataset=dataset,
        has_stops=bool(td.stops),
        map_url=url_for("sheets.teamlead_map", plan_id=plan_id, version=version,
                        team_index=td.team_no, date=td.date) if td.stops else None,
    )


@bp.route("/t/<int:plan_id>/<int:version>/<int:team_index>/<date>/peta.html")
def teamlead_map(plan_id: int, version: int, team_index: int, date: str):
    plan, dataset, td = _team_day_or_none(plan_id, version, team_index, date)
    if td is None or not td.stops:
        return _not_found()
    from .. import maps
    from .maps import map_labels

    one = dict(plan, teams=[dict(td.team, days=[td.day])])
    labels = map_labels()
    m = maps.new_map(asset_base=url_for("static", filename="vendor").rstrip("/"))
    if dataset is not None and dataset.basemap:
        maps.add_basemap(m, on=True, labels=labels)
    maps.add_context_layer(context_for(dataset), m, labels=labels)
    maps.add_route_layer(one, m, labels=labels)
    m = maps.finish_map(m)
    return maps.render_html(m), 200, {"Content-Type": "text/html; charset=utf-8",
                                      "X-Frame-Options": "SAMEORIGIN"}


# --------------------------------------------------------------------------- CLI
def _cli_plan(plan_id, version, plan_json) -> tuple[dict, object]:
    if plan_json and plan_id is not None:
        raise click.ClickException("Use either --plan or --plan-json, not both.")
    if plan_json:
        try:
            with open(plan_json, encoding="utf-8") as fh:
                plan = json.load(fh)
        except OSError as exc:
            raise click.ClickException(f"Cannot read {plan_json}: {exc.strerror or exc}") from exc
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{plan_json} is not valid JSON: {exc}") from exc
        if not isinstance(plan, dict) or not isinstance(plan.get("teams"), list):
            raise click.ClickException(f"{plan_json} is not a plan (no 'teams' list).")
        return plan, None
    if plan_id is None:
        raise click.ClickException("Give --plan ID (a saved plan) or --plan-json FILE.")
    plan, dataset = load_plan(plan_id, version)
    if plan is None:
        which = f"version {version} of plan {plan_id}" if version else f"plan {plan_id}"
        raise click.ClickException(f"No finished {which} found (see the plan list in the app).")
    return plan, dataset


def _cli_villages(path):
    if path:
        import geopandas as gpd

        try:
            frame = gpd.read_file(path)
        except Exception as exc:  # noqa: BLE001
            raise click.ClickException(f"Cannot read villages from {path}: {exc}") from exc
        if "code" not in frame.columns:
            raise click.ClickException(f"{path} has no 'code' column.")
        return frame
    try:
        return repository.villages_frame(with_stats=False)
    except Exception:  # noqa: BLE001 - no database yet: sketch without outlines
        return None


plan_options = [
    click.option("--plan", "plan_id", type=int, default=None, help="A saved plan (its id)."),
    click.option("--version", "version", type=int, default=None, help="Plan version (default: newest)."),
    click.option("--plan-json", type=click.Path(dir_okay=False), default=None,
                 help="A Plan JSON file instead of a saved plan (e.g. from `planner plan --out`)."),
    click.option("--team", default=None, help="Only this team (number, 1 = first, or name)."),
    click.option("--day", default=None, help="Only this day (YYYY-MM-DD)."),
]


def _with_plan_options(fn):
    for opt in reversed(plan_options):
        fn = opt(fn)
    return fn


@bp.cli.command("itinerary")
@_with_plan_options
@click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True)
@click.option("--pdf", "pdf_out", type=click.Path(dir_okay=False), default=None, help="PDF to write.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), default=None, help="HTML to write.")
@click.option("--png", "png_out", type=click.Path(dir_okay=False), default=None,
              help="Also render one page of the PDF to PNG (pdftoppm), e.g. docs/img/daysheet.png.")
@click.option("--png-page", type=int, default=1, show_default=True)
@click.option("--villages", "villages_path", type=click.Path(dir_okay=False), default=None,
              help="Village outlines for the sketches (GeoJSON with 'code'); default: the database.")
@click.option("--context", "context_path", type=click.Path(dir_okay=False), default=None,
              help="Rivers/roads GeoJSON for the sketches (default: the demo's, for the demo).")
@click.option("--base-url", default=None, help="Public base URL for the QR codes (default: PLANNER_PUBLIC_BASE_URL).")
def itinerary_command(plan_id, version, plan_json, team, day, lang, pdf_out, html_out, png_out,
                      png_page, villages_path, context_path, base_url):
    """Write day sheets (one A4 page per team per day) as PDF and/or HTML."""
    import time

    if not (pdf_out or html_out or png_out):
        raise click.ClickException("Give --pdf FILE (and/or --html FILE, --png FILE).")
    plan, dataset = _cli_plan(plan_id, version, plan_json)
    try:
        exports.select_team_days(plan, team, day, with_empty=True)
    except (exports.SelectionError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    villages = _cli_villages(villages_path)
    if context_path:
        context = sheets.load_context(context_path)
    else:  # the demo's rivers/roads fit the demo's villages only
        context = None if villages_path else context_for(dataset)
    kw = dict(team=team, day=day, context=context,
              base_url=base_url or current_app.config["PUBLIC_BASE_URL"],
              gettext=sheets.translations_for(lang), locale=lang)
    n = len(exports.select_team_days(plan, team, day))
    try:
        if html_out:
            Path(html_out).write_text(sheets.render_daysheets_html(plan, villages, **kw), encoding="utf-8")
            click.echo(f"Wrote {html_out}: {n} day sheet(s).")
        if pdf_out or png_out:
            t0 = time.perf_counter()
            pdf = sheets.render_daysheets_pdf(plan, villages, **kw)
            elapsed = time.perf_counter() - t0
            if pdf_out:
                Path(pdf_out).write_bytes(pdf)
                click.echo(f"Wrote {pdf_out}: {n} day sheet(s), {len(pdf) / 1024:.0f} KiB in {elapsed:.1f} s.")
            if png_out:
                sheets.pdf_page_to_png(pdf, png_out, page=png_page)
                click.echo(f"Wrote {png_out} (page {png_page}).")
    except FileNotFoundError as exc:
        raise click.ClickException(f"Not found: {exc.filename} (for --png install poppler-utils).") from exc
    except OSError as exc:
        raise click.ClickException(f"Cannot write: {exc.strerror or exc}") from exc


@bp.cli.command("export")
@_with_plan_options
@click.option("--format", "fmt", type=click.Choice([*exports.FORMATS, "links"]), required=True,
              help="links = Google Maps directions links per team-day, as text.")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: print text formats).")
def export_command(plan_id, version, plan_json, team, day, fmt, out):
    """Export a plan: CSV/XLSX (one row per stop), GPX/KML (phones), GeoJSON (QGIS), links."""
    plan, _dataset = _cli_plan(plan_id, version, plan_json)
    try:
        if fmt == "links":
            data = exports.google_links_text(plan, team, day).encode("utf-8")
        else:
            data, _mimetype = exports.export_bytes(plan, fmt, team, day)
    except (exports.SelectionError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if out is None:
        if fmt == "xlsx":
            raise click.ClickException("XLSX is binary: give --out FILE.")
        click.echo(data.decode("utf-8-sig"), nl=False)
        return
    try:
        Path(out).write_bytes(data)
    except OSError as exc:
        raise click.ClickException(f"Cannot write {out}: {exc.strerror or exc}") from exc
    click.echo(f"Wrote {out} ({len(data):,} bytes, {len(exports.plan_rows(plan, team, day))} stops).")
