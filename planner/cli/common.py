"""Shared pieces of the ``planner`` commands: the database check and labels."""

from __future__ import annotations

import functools
import getpass

import click
from flask import current_app
from flask.cli import with_appcontext


def cli_actor() -> str:
    """Who runs a command, for the audit log: ``cli:<operating-system user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def needs_db(fn):
    """``with_appcontext`` + a check that the schema is current (one line, exit 1, if not);
    what the command changes is recorded in the audit log as done by :func:`cli_actor`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .. import audit, dbstate
        from ..extensions import db

        problem = dbstate.problem(db.engine)
        if problem:
            raise click.ClickException(problem)
        with audit.acting_as(None, cli_actor()), _regency_scope():
            return fn(*args, **kwargs)

    return with_appcontext(wrapper)


def _regency_scope():
    """``PLANNER_REGENCY=CODE``: the command works within that regency (planner.regencies)."""
    import contextlib
    import os

    from .. import regencies

    code = os.environ.get("PLANNER_REGENCY", "").strip()
    if not code:
        return contextlib.nullcontext()
    r = regencies.by_code(code)
    if r is None:
        raise click.ClickException(f"PLANNER_REGENCY={code}: no such regency "
                                   "(planner regency list).")
    return regencies.within(r)


def database_label() -> str:
    from sqlalchemy.engine import make_url

    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "(database)"
