"""``planner import-attributes`` and ``planner access-hints``: the village attributes file and
the access hints from the geography, through the same service as the pages
(``planner.attributes``)."""

from __future__ import annotations

from pathlib import Path

import click

from .common import needs_db

REASONS = {"island": "island: touches no other village",
           "island_water": "touches other villages only across water",
           "river_no_road": "on a river, touches no road"}


@click.command("import-attributes")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@needs_db
def import_attributes_command(file: Path):
    """Import village attributes (CSV or XLSX: code, akses, sinyal, menginap, catatan).

    Blank cells leave an attribute as it is; all or nothing."""
    from .. import attributes, importer

    try:
        s = attributes.import_attributes(file, filename=file.name)
    except importer.ImportProblem as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{s['file']}: {s['rows']} rows, {s['changed']} villages changed (access "
               f"{s['access']}, signal {s['no_signal']}, lodging {s['lodging']}, note {s['note']}).")


@click.command("access-hints")
@click.option("--apply", "apply_codes", multiple=True, metavar="CODE",
              help="Apply the suggestion for this village (access: river). Repeatable.")
@needs_db
def access_hints_command(apply_codes: tuple[str, ...]):
    """List villages the map suggests are reached by water only (islands; on a river with no
    road); apply the ones you confirm with --apply CODE. Nothing changes without --apply."""
    from .. import attributes

    lines = attributes.stored_line_layers()
    if apply_codes:
        try:
            applied = attributes.apply_hints(apply_codes, lines=lines)
        except attributes.AttributeProblem as exc:
            raise click.ClickException(
                "not a current suggestion: " + ", ".join(exc.params.get("codes", [])) +
                " (run planner access-hints to list them)") from None
        click.echo(f"{len(applied)} villages now have river access: {', '.join(applied) or '-'}.")
        return
    found = attributes.hints(lines)
    if not (lines["river"] or lines["road"]):
        click.echo("No river or road lines: only islands can be recognised.")
    if not found:
        click.echo("No suggestions.")
        return
    for h in found:
        reasons = "; ".join(REASONS.get(r, r) for r in h.reasons)
        click.echo(f"{h.code}\t{h.name}\t{h.kecamatan}\t{h.access} ({h.access_source}) -> "
                   f"{h.suggested}\t{reasons}")
    click.echo(f"{len(found)} suggestions; apply with: planner access-hints --apply CODE ...")


COMMANDS = (import_attributes_command, access_hints_command)
