"""``planner batch``: one plan request for many regencies (``planner.batch``)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import click
from flask import current_app

from .common import needs_db


@click.command("batch")
@click.option("--regencies", "codes", multiple=True, default=("all",), show_default=True,
              help="`all` (every regency but an empty default one), or regency codes (repeat "
                   "the option or separate with commas).")
@click.option("--params", "params_file", required=True,
              type=click.Path(exists=True, dir_okay=False),
              help="plan-params/1 JSON used for every regency (dataset and default base are "
                   "each regency's own).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for the province summary and the day sheets (default "
                   "batch-YYYYMMDD-HHMM).")
@click.option("--sheets/--no-sheets", default=True, show_default=True,
              help="Write the day sheets of each regency (one PDF per regency).")
@click.option("--timeout", type=click.FloatRange(1), default=6 * 3600, show_default=True,
              help="Seconds to wait for all plans.")
@needs_db
def batch_command(codes, params_file, out_dir, sheets, timeout):
    """Plan many regencies with one request (Celery workers, or one after the other here)."""
    from .. import batch, jobs, regencies, settings, sharing

    app = current_app._get_current_object()
    wanted = [c for value in codes for c in re.split(r"[\s,]+", value.strip()) if c]
    try:
        template = json.loads(Path(params_file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise click.ClickException(f"Cannot read {params_file} as JSON: {exc}") from exc
    if not isinstance(template, dict):
        raise click.ClickException(f"{params_file}: expected a plan-params/1 object.")
    with regencies.within(None):
        try:
            chosen = batch.choose(wanted)
        except batch.BatchError as exc:
            raise click.ClickException(str(exc)) from exc
        kind = jobs.backend(app)
        if kind == "local":
            app.config["PLAN_ASYNC"] = False  # one after the other, in this process
        click.echo(f"{len(chosen)} regencies, jobs: {kind}")
        items = batch.submit(app, chosen, template)
        for item in items:
            click.echo(f"  {item.regency.code}: " + (f"job {item.job_id}" if item.job_id
                                                   else f"not planned: {item.error}"))
        finished = batch.wait(items, timeout=timeout)
        rows = batch.summary_rows(items)
    out = Path(out_dir or f"batch-{dt.datetime.now():%Y%m%d-%H%M}")
    out.mkdir(parents=True, exist_ok=True)
    xlsx = batch.write_xlsx(rows, out / "provinsi.xlsx")
    click.echo(f"Wrote {xlsx}")
    if sheets:
        base = settings.public_base_url(app.config["PUBLIC_BASE_URL"])

        def link_maker(plan_id, version):
            return sharing.link_maker(app.secret_key, base, plan_id, version)

        for path in batch.write_sheets(rows, out, base_url=base, link_maker=link_maker):
            click.echo(f"Wrote {path}")
    click.echo("code\tstatus\tpeople\tkm\tcost_rp\tteam_days")
    for r in rows:
        click.echo(f"{r['code']}\t{r['status']}\t{r['people']}\t{r['km']}\t{r['cost_rp']}\t"
                   f"{r['team_days']}" + (f"\t{r['error']}" if r["status"] != "done" else ""))
    if not finished:
        raise click.ClickException(f"Not all plans finished within {timeout:g} s; the summary "
                                   "shows where they were.")
    if any(r["status"] != "done" for r in rows):
        raise click.ClickException("Some regencies were not planned (reasons above).")


COMMANDS = (batch_command,)
