"""``planner import-villages``, ``planner import-recap``, ``planner rank`` and ``planner map``:
the same services as the import page, the gap view and the map page."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from .common import needs_db


def _parse_confirm(values) -> dict[str, str]:
    confirm = {}
    for item in values:
        key, sep, code = item.partition("=")
        if not sep or not key.strip() or not code.strip():
            raise click.BadParameter(f"'{item}' is not ROW=CODE (e.g. 12=99.01.15.2004)",
                                     param_hint="--confirm")
        confirm[key.strip()] = code.strip()
    return confirm


@click.command("import-villages")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--fictional", is_flag=True, help="Mark these villages as fictional (demo/training data).")
@needs_db
def import_villages_command(file: Path, fictional: bool):
    """Import village boundaries (GeoJSON, zipped Shapefile or GeoPackage)."""
    from .. import importer

    try:
        s = importer.import_villages(file, filename=file.name, fictional=fictional)
    except importer.ImportProblem as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{s['file']}: {s['villages']} villages in {s['kecamatan']} kecamatan "
               f"({s['created']} new, {s['updated']} updated; {s['points']} as points, "
               f"{s['repaired']} geometries repaired).")


@click.command("import-recap")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="Dataset name (default: the file name).")
@click.option("--date", "date_", default=None, help="Snapshot date YYYY-MM-DD (default: today).")
@click.option("--confirm", multiple=True, metavar="ROW=CODE",
              help="Accept a suggested match: recap row (or name) = village code. Repeatable.")
@click.option("--synthetic", is_flag=True, help="The figures are generated, not official.")
@click.option("--fictional", is_flag=True, help="The data is fictional (demo/training).")
@needs_db
def import_recap_command(file: Path, name, date_, confirm, synthetic: bool, fictional: bool):
    """Import a recording recap (CSV or XLSX) as a new dataset."""
    from .. import fmt, importer, ranking, repository

    snapshot = None
    if date_:
        try:
            snapshot = dt.date.fromisoformat(date_)
        except ValueError:
            raise click.BadParameter(f"'{date_}' is not a date YYYY-MM-DD", param_hint="--date") from None
    try:
        ds = importer.import_recap(file, filename=file.name, name=name, snapshot_date=snapshot,
                                   synthetic=synthetic, fictional=fictional,
                                   confirm=_parse_confirm(confirm) or None)
    except importer.ImportProblem as exc:
        raise click.ClickException(str(exc)) from None
    t = ranking.totals(repository.villages_frame(ds))
    click.echo(f"{file.name}: dataset \"{ds.name}\" ({ds.snapshot_date}) with {t['villages']} "
               f"villages; population {fmt.integer(t['population'], 'en')}, obliged "
               f"{fmt.integer(t['obliged'], 'en')}, recorded {fmt.integer(t['recorded'], 'en')}. "
               "Matched by: " + ", ".join(f"{k} {v}" for k, v in sorted(ds.join_counts.items())) + ".")
    if ds.unmatched_villages:
        click.echo(f"Note: {len(ds.unmatched_villages)} villages are not in this recap "
                   "and have no figures in this dataset.")


def _coverage(below, kecamatan, min_unrecorded):
    from .. import coverage

    if below is not None and below > 1.5:
        below = below / 100.0
    cov = coverage.coverage(coverage.Filters(below=below, kecamatan=kecamatan,
                                             min_unrecorded=min_unrecorded))
    if cov is None:
        raise click.ClickException("No data yet: run `planner import-villages` and "
                                   "`planner import-recap` (or `planner load-demo`).")
    if kecamatan and kecamatan not in set(cov.frame["kecamatan"]):
        raise click.ClickException(f"Unknown kecamatan {kecamatan!r}. Known: "
                                   + ", ".join(cov.kecamatan_list))
    return cov


filter_options = [
    click.option("--below", type=float, default=None,
                 help="Only villages with a rate below this (0.95 or 95 = 95 %)."),
    click.option("--kecamatan", default=None, help="Only this kecamatan."),
    click.option("--min-unrecorded", type=click.IntRange(0), default=0,
                 help="Only villages with at least this many unrecorded."),
]


def _with_filters(fn):
    for opt in reversed(filter_options):
        fn = opt(fn)
    return fn


@click.command("rank")
@_with_filters
@click.option("--format", "fmt_", type=click.Choice(["table", "json", "csv"]), default="table")
@click.option("--limit", type=click.IntRange(1), default=None, help="Print only the first N villages.")
@click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True,
              help="Number format of the table.")
@needs_db
def rank_command(below, kecamatan, min_unrecorded, fmt_, limit, lang):
    """Print villages ranked by priority (the gap view)."""
    from .. import fmt, ranking
    from ..exports import safe_cell

    cov = _coverage(below, kecamatan, min_unrecorded)
    ranked = cov.ranked.head(limit) if limit else cov.ranked
    table = ranked[ranking.RANK_COLUMNS]
    if fmt_ == "json":
        click.echo(json.dumps(ranking.to_records(table), ensure_ascii=False, indent=1))
    elif fmt_ == "csv":
        click.echo(table.map(safe_cell).to_csv(index=False), nl=False)
    else:
        t = cov.totals
        ds = cov.dataset
        label = " (FIKTIF)" if ds.fictional else (" (SINTETIS)" if ds.synthetic else "")
        click.echo(f"{ds.name}{label} — {ds.snapshot_date}")
        click.echo(f"Total: {t['villages']} villages, population {fmt.integer(t['population'], lang)}, "
                   f"obliged {fmt.integer(t['obliged'], lang)}, recorded "
                   f"{fmt.integer(t['recorded'], lang)}, unrecorded "
                   f"{fmt.integer(t['unrecorded'], lang)}, rate {fmt.percent(t['rate'], lang, 2)}")
        numbers = {c: (lambda v: fmt.integer(v, lang))
                   for c in ("population", "obliged", "recorded", "unrecorded", "priority")}
        numbers["rate"] = lambda v: fmt.percent(v, lang)
        click.echo(table.to_string(index=False, formatters=numbers))


@click.command("map")
@click.option("--out", "out", default="maps/coverage.html", show_default=True,
              type=click.Path(dir_okay=False), help="HTML file to write (self-contained).")
@_with_filters
@click.option("--plan", "plan_id", type=int, default=None, help="Draw the routes of this saved plan.")
@click.option("--plan-json", type=click.Path(dir_okay=False), default=None,
              help="Draw the routes of a Plan JSON file.")
@click.option("--tiles/--no-tiles", default=None,
              help="OpenStreetMap basemap layer (default: on for real data, off for the demo).")
@click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True)
@needs_db
def map_command(out, below, kecamatan, min_unrecorded, plan_id, plan_json, tiles, lang):
    """Write the coverage map as one HTML file that opens from disk, offline."""
    from .. import coverage, maps
    from .sheets import load_plan

    cov = _coverage(below, kecamatan, min_unrecorded)
    plan = load_plan(plan_id, None, plan_json)[0] if (plan_id is not None or plan_json) else None
    from ..sheets import translations_for

    labels = maps.translated_labels(translations_for(lang))
    m = coverage.build_map(cov, plan=plan, tiles=tiles, labels=labels, locale=lang)
    try:
        size = maps.save_standalone(m, out)
    except OSError as exc:
        raise click.ClickException(f"Cannot write {out}: {exc.strerror or exc}") from exc
    basemap = cov.dataset.basemap if tiles is None else tiles
    click.echo(f"Wrote {out}: {len(cov.ranked)} villages, {size / 1024:.0f} KiB ({size:,} bytes). "
               "Open it in a browser; it needs no server or internet"
               + (" (only the optional basemap tiles do)." if basemap else "."))


COMMANDS = (import_villages_command, import_recap_command, rank_command, map_command)
