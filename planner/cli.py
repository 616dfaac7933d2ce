"""The ``planner`` command: a Flask CLI group (``planner run`` serves the app).

Commands that belong to an area live with that area's blueprint (``cli_group=None``);
this module holds the console-script entry point and the database/demo commands.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext


def _create_app():
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False,
             load_dotenv=False, set_debug_flag=False)
def main():
    """Jemput Bola Planner (Perencana Jemput Bola)."""


def upgrade_db() -> None:
    """Bring the database schema to the newest Alembic revision."""
    from flask_migrate import upgrade

    upgrade()


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or upgrade the database schema (Alembic migrations)."""
    from flask import current_app

    upgrade_db()
    click.echo(f"Database ready: {_safe_url(current_app.config['SQLALCHEMY_DATABASE_URI'])}")


@click.command("load-demo")
@click.option("--if-empty", is_flag=True, help="Only when the database holds no villages yet.")
@click.option("--with-plan/--no-plan", default=True, show_default=True,
              help="Also solve a sample plan (about 10 s) so the plan pages show routes.")
@with_appcontext
def load_demo_command(if_empty: bool, with_plan: bool):
    """Load the built-in FICTIONAL demo regency from data/."""
    from . import repository
    from .demo import load_demo

    if if_empty and not repository.is_empty():
        click.echo("Database already has villages; demo not loaded.")
        return
    summary = load_demo()
    click.echo(summary)
    if with_plan:
        # A newcomer sees routes at once: a sample plan on the demo (3 teams x 5 days).
        from .plan_store import PlanStoreError, create_sample_plan

        try:
            v = create_sample_plan(time_limit=10)
            people = v.result["totals"]["people"]
            click.echo(f"Sample plan: /rencana/{v.plan_id}/v{v.version} ({people} people planned)")
        except PlanStoreError as exc:
            click.echo(f"Sample plan not created: {exc}", err=True)


@click.command("generate-demo")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Folder to write to (default: the project's data/).")
@click.option("--seed", default=None, type=int, help="Random seed (default: the committed demo's).")
def generate_demo_command(out_dir: str | None, seed: int | None):
    """Regenerate the FICTIONAL demo files (byte-identical for the same seed)."""
    from . import DATA_DIR
    from .demo import DEFAULT_SEED, write_demo

    written = write_demo(out_dir or DATA_DIR, seed=DEFAULT_SEED if seed is None else seed)
    for path in written.values():
        click.echo(f"{path} ({path.stat().st_size:,} bytes)")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "(database)"


def init_app(app: Flask) -> None:
    app.cli.add_command(init_db_command)
    app.cli.add_command(load_demo_command)
    app.cli.add_command(generate_demo_command)
