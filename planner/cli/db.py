"""``planner init-db``, ``planner load-demo`` and ``planner generate-demo``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from .common import database_label, needs_db


def upgrade_db() -> None:
    """Bring the database schema to the newest Alembic revision."""
    from flask_migrate import upgrade

    upgrade()


@click.command("init-db")
@click.option("--admin", "admin_name", default="admin", show_default=True,
              help="Name of the first admin account (created only when there are no accounts).")
@with_appcontext
def init_db_command(admin_name: str):
    """Create or upgrade the database schema (Alembic migrations); on a database without
    accounts, create the first admin and print its generated password once."""
    from .. import accounts

    upgrade_db()
    click.echo(f"Database ready: {database_label()}")
    created = accounts.ensure_admin(admin_name)
    if created is not None:
        user, password = created
        click.echo("")
        click.echo("  First admin account created (the password is shown only this once):")
        click.echo(f"    user:     {user.username}")
        click.echo(f"    password: {password}")
        click.echo("  Log in at /masuk and change it at /akun/sandi; add accounts for the office")
        click.echo("  at /admin/pengguna or with `planner user create`.")
        click.echo("")


@click.command("load-demo")
@click.option("--if-empty", is_flag=True, help="Only when the database holds no villages yet.")
@click.option("--with-plan/--no-plan", default=True, show_default=True,
              help="Also solve a sample plan (about 10 s) so the plan pages show routes.")
@needs_db
def load_demo_command(if_empty: bool, with_plan: bool):
    """Load the built-in FICTIONAL demo regency from data/."""
    from .. import fmt, pipeline, repository
    from ..demo import load_demo

    if if_empty and not repository.is_empty():
        click.echo("Database already has villages; demo not loaded.")
        return
    click.echo(load_demo())
    if with_plan:
        # A newcomer sees routes at once: a sample plan on the demo (3 teams x 5 days).
        try:
            v = pipeline.create_sample_plan(time_limit=10)
            people = fmt.integer(v.result["totals"]["people"], "id")
            click.echo(f"Sample plan: /rencana/{v.plan_id}/v{v.version} ({people} people planned)")
        except pipeline.PlanningError as exc:
            click.echo(f"Sample plan not created: {exc}", err=True)


@click.command("generate-demo")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Folder to write to (default: the project's data/).")
@click.option("--seed", default=None, type=int, help="Random seed (default: the committed demo's).")
def generate_demo_command(out_dir: str | None, seed: int | None):
    """Regenerate the FICTIONAL demo files (byte-identical for the same seed)."""
    from ..demo import DEFAULT_SEED, write_demo
    from ..paths import DATA_DIR

    written = write_demo(out_dir or DATA_DIR, seed=DEFAULT_SEED if seed is None else seed)
    for path in written.values():
        click.echo(f"{path} ({path.stat().st_size:,} bytes)")


COMMANDS = (init_db_command, load_demo_command, generate_demo_command)
