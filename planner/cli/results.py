"""``planner results import``: the teams' field results from a CSV or XLSX file, through the
same checks and the same all-or-nothing store as the results form (``planner.results_import``
over ``planner.field.record_results``)."""

from __future__ import annotations

from pathlib import Path

import click

from .common import cli_actor, needs_db


@click.group("results")
def results_group():
    """Field results of a saved plan (what each visit recorded)."""


@results_group.command("import")
@click.option("--plan", "plan_id", type=int, required=True, metavar="ID", help="The saved plan.")
@click.option("--version", type=int, default=None, metavar="N",
              help="The plan version the results belong to (default: the newest).")
@click.option("--confirm", is_flag=True,
              help="Store reports above twice the people planned (after checking them).")
@click.option("--recorded-by", default=None, metavar="NAME",
              help="Who reported (default: cli:<operating-system user>).")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@needs_db
def import_command(plan_id: int, version: int | None, confirm: bool, recorded_by: str | None,
                   file: Path):
    """Import field results (CSV or XLSX: tim, tanggal, kode, direkam[, hasil, alasan]).

    Every row is checked first; on any problem nothing is stored and the command exits 1."""
    from .. import plan_store
    from ..importer import ImportProblem
    from ..results_import import ConfirmationNeeded, import_results, summary_counts

    row = plan_store.find_version(plan_id, version)
    if row is None or not row.result:
        raise click.ClickException(f"Rencana {plan_id}"
                                   + (f" versi {version}" if version else "") + " tidak ditemukan.")
    who = (recorded_by or "").strip()[:100] or cli_actor()
    try:
        summary = import_results(row, file, filename=file.name, recorded_by=who, confirm=confirm)
    except ConfirmationNeeded as exc:
        raise click.ClickException(
            f"{exc} Tidak ada yang disimpan. Jika angka-angka ini benar, jalankan lagi dengan "
            "--confirm.") from None
    except ImportProblem as exc:
        text = str(exc)
        if "tidak disimpan" not in text.lower():
            text += " Tidak ada yang disimpan."
        raise click.ClickException(text) from None
    click.echo(f"{summary['file']}: {summary_counts(summary)} — rencana {plan_id} versi "
               f"{row.version}, tersimpan.")


COMMANDS = (results_group,)
