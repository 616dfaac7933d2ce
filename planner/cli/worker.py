"""``planner worker``: a Celery worker that runs plan jobs (``PLANNER_JOBS=celery``).

Start it on any machine that reaches the broker (``CELERY_BROKER_URL``) and the database
(``DATABASE_URL``, the same one the web processes use)::

    PLANNER_JOBS=celery CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \\
    DATABASE_URL=postgresql+psycopg://planner@db/planner planner worker --concurrency 2

Each of the ``--concurrency`` pool processes runs one solve at a time with
``PLANNER_PLAN_WORKERS`` solver processes, so a machine with C cores takes about
C / PLANNER_PLAN_WORKERS. A thread of the main process reaps jobs whose worker died and sends
them again (``planner.jobs.sweep``). Stop it with SIGTERM (warm: the running solves finish).
A SQLite database (web and workers on one machine) is switched to write-ahead-log mode, as
``planner serve`` does.
"""

from __future__ import annotations

import click
from flask import current_app

from .common import needs_db


@click.command("worker")
@click.option("--concurrency", "-c", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Solves at once in this worker (pool processes).")
@click.option("--loglevel", "-l", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
              help="Celery log level.")
@click.option("--pool", type=click.Choice(["prefork", "solo"]), default="prefork",
              show_default=True,
              help="prefork: cancel stops a running solve; solo: one solve in this process.")
@needs_db
def worker_command(concurrency, loglevel, pool):
    """Run plan jobs from the broker (PLANNER_JOBS=celery)."""
    from .. import celery_backend, jobs, regencies
    from ..extensions import db

    app = current_app._get_current_object()
    if jobs.backend(app) != "celery":
        raise click.ClickException(
            "planner worker runs plan jobs for PLANNER_JOBS=celery; this installation uses "
            "PLANNER_JOBS=local (the web processes run the jobs). Set PLANNER_JOBS=celery and "
            "CELERY_BROKER_URL on the web processes and the workers.")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and \
            ":memory:" in app.config["SQLALCHEMY_DATABASE_URI"]:
        raise click.ClickException("planner worker needs a database file or server.")
    if db.engine.dialect.name == "sqlite":  # web and workers share the file: as planner serve
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    try:
        celery = jobs.celery(app)
    except ImportError as exc:
        raise click.ClickException(
            f"Celery is not installed ({exc}): install the extra with `.venv/bin/uv pip install "
            "--python .venv/bin/python -c constraints.txt -e '.[celery]'`.") from exc

    def after_fork():
        with app.app_context():
            db.engine.dispose(close=False)  # connections of the parent stay the parent's

    def sweep():
        with app.app_context():
            jobs.sweep(app)

    click.echo(f"planner worker: broker {celery_backend.redacted(app.config['CELERY_BROKER_URL'])}"
               f", queue {celery.conf.task_default_queue}, concurrency {concurrency}")
    # a worker serves every regency: each job runs within its own (planner.jobs)
    with regencies.within(None):
        celery_backend.start_worker(celery, concurrency=concurrency, loglevel=loglevel.upper(),
                                    after_fork=after_fork, sweep=sweep, pool=pool)


COMMANDS = (worker_command,)
