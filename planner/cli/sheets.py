"""``planner itinerary`` (day sheets as PDF/HTML/PNG) and ``planner export`` (CSV, XLSX, GPX,
KML, GeoJSON, map links) of a saved plan or a Plan JSON file.

``--lang id|en`` chooses the language of what people read (sheets; GPX/KML names and
descriptions); the commands' own messages are English, numbers in them formatted by
``planner.fmt`` for English."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app

from .. import fmt as numbers
from .common import needs_db


def load_plan(plan_id, version, plan_json_path) -> tuple[dict, object]:
    """(Plan JSON, dataset or None) from ``--plan ID [--version N]`` or ``--plan-json FILE``."""
    from .. import plan_json, plan_store

    if plan_json_path and plan_id is not None:
        raise click.ClickException("Use either --plan or --plan-json, not both.")
    if plan_json_path:
        try:
            return plan_json.load(plan_json_path), None
        except plan_json.PlanJsonError as exc:
            raise click.ClickException(str(exc)) from exc
    if plan_id is None:
        raise click.ClickException("Give --plan ID (a saved plan) or --plan-json FILE.")
    plan, dataset = plan_store.stored_plan(plan_id, version)
    if plan is None:
        which = f"version {version} of plan {plan_id}" if version else f"plan {plan_id}"
        raise click.ClickException(f"No finished {which} found (see the plan list in the app).")
    return plan, dataset


def _villages(path):
    from .. import repository

    if path:
        import geopandas as gpd

        try:
            frame = gpd.read_file(path)
        except Exception as exc:  # noqa: BLE001
            raise click.ClickException(f"Cannot read villages from {path}: {exc}") from exc
        if "code" not in frame.columns:
            raise click.ClickException(f"{path} has no 'code' column.")
        return frame
    return repository.villages_frame(with_stats=False)


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


@click.command("itinerary")
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
@needs_db
def itinerary_command(plan_id, version, plan_json, team, day, lang, pdf_out, html_out, png_out,
                      png_page, villages_path, context_path, base_url):
    """Write day sheets (one A4 page per team per day) as PDF and/or HTML."""
    from .. import coverage, sheets
    from .. import plan_json as pj

    if not (pdf_out or html_out or png_out):
        raise click.ClickException("Give --pdf FILE (and/or --html FILE, --png FILE).")
    plan, dataset = load_plan(plan_id, version, plan_json)
    try:
        n = len(pj.team_days(plan, team, day))
    except (pj.SelectionError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    villages = _villages(villages_path)
    if context_path:
        context = sheets.load_context(context_path)
    else:  # the demo's rivers/roads fit the demo's villages only
        context = None if villages_path else coverage.context_frame(dataset)
    from .. import settings

    base = base_url or settings.public_base_url(current_app.config["PUBLIC_BASE_URL"])
    link = None
    if plan_json is None:  # a saved plan: the QR codes carry signed share links
        from .. import sharing

        link = sharing.link_maker(current_app.secret_key, base, int(plan["plan_id"]),
                                  int(plan["version"]))
    kw = dict(team=team, day=day, context=context, base_url=base, link=link,
              gettext=sheets.translations_for(lang), locale=lang)
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
                click.echo(f"Wrote {pdf_out}: {n} day sheet(s), {numbers.integer(len(pdf) / 1024, 'en')} KiB "
                           f"in {numbers.decimal(elapsed, 'en')} s.")
            if png_out:
                sheets.pdf_page_to_png(pdf, png_out, page=png_page)
                click.echo(f"Wrote {png_out} (page {png_page}).")
    except FileNotFoundError as exc:
        raise click.ClickException(f"Not found: {exc.filename} (for --png install poppler-utils).") from exc
    except OSError as exc:
        raise click.ClickException(f"Cannot write: {exc.strerror or exc}") from exc


@click.command("export")
@_with_plan_options
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "gpx", "kml", "geojson", "links"]),
              required=True, help="links = Google Maps directions links per team-day, as text.")
@click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True,
              help="Language of GPX/KML names and descriptions (CSV/XLSX/GeoJSON are raw data).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: print text formats).")
@needs_db
def export_command(plan_id, version, plan_json, team, day, fmt, lang, out):
    """Export a plan: CSV/XLSX (one row per stop), GPX/KML (phones), GeoJSON (QGIS), links."""
    from .. import exports, sheets
    from .. import plan_json as pj

    plan, _dataset = load_plan(plan_id, version, plan_json)
    try:
        if fmt == "links":
            data = exports.google_links_text(plan, team, day).encode("utf-8")
        else:
            data, _mimetype = exports.export_bytes(plan, fmt, team, day,
                                                   gettext=sheets.translations_for(lang), locale=lang)
    except (pj.SelectionError, ValueError) as exc:
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
    n_stops = len(exports.plan_rows(plan, team, day))
    click.echo(f"Wrote {out} ({numbers.integer(len(data), 'en')} bytes, "
               f"{numbers.integer(n_stops, 'en')} stops).")


COMMANDS = (itinerary_command, export_command)
