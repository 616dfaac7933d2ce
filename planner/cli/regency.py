"""``planner regency``: the regencies of an installation and who may use them
(``planner.regencies``; docs/user/scaling.md).

Every other command works within one regency when ``PLANNER_REGENCY=CODE`` is set (see
``common.needs_db``); without it, and on an installation with one regency, they see everything
as before.
"""

from __future__ import annotations

import click

from .common import needs_db


@click.group("regency")
def regency_group():
    """Regencies of this installation and access per regency."""


@regency_group.command("list")
@needs_db
def regency_list():
    """Code, name, villages and plans of each regency."""
    from sqlalchemy import func, select

    from .. import regencies
    from ..extensions import db
    from ..models import Plan, Village

    rows = regencies.all_regencies()
    if not rows:
        click.echo("One regency (no regency added yet): everything belongs to it.")
        return
    with regencies.within(None):
        for r in rows:
            cond = (Village.regency_id == r.id) | (Village.regency_id.is_(None)) \
                if r.is_default else Village.regency_id == r.id
            n_v = db.session.scalar(select(func.count(Village.id)).where(cond))
            pcond = (Plan.regency_id == r.id) | (Plan.regency_id.is_(None)) \
                if r.is_default else Plan.regency_id == r.id
            n_p = db.session.scalar(select(func.count(Plan.id)).where(pcond))
            mark = " (default)" if r.is_default else ""
            click.echo(f"{r.code}\t{r.name}{mark}\t{n_v} villages\t{n_p} plans")


@regency_group.command("add")
@click.argument("code")
@click.argument("name")
@needs_db
def regency_add(code, name):
    """Add a regency CODE named NAME (the first time, what the installation already holds
    becomes the default regency "utama")."""
    from .. import regencies

    try:
        r = regencies.create(code, name)
    except regencies.RegencyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Regency {r.code} ({r.name}) added.")


def _user_and_regency(username: str, code: str):
    from .. import accounts, regencies

    user = accounts.by_username(username)
    if user is None:
        raise click.ClickException(f"No account named {username}.")
    r = regencies.by_code(code)
    if r is None:
        raise click.ClickException(f"No regency with code {code} (planner regency list).")
    return user, r


@regency_group.command("grant")
@click.argument("username")
@click.argument("code")
@needs_db
def regency_grant(username, code):
    """Let account USERNAME work in regency CODE (admins reach every regency)."""
    from .. import regencies

    user, r = _user_and_regency(username, code)
    regencies.grant(user, r)
    click.echo(f"{user.username} may now work in {r.code} ({r.name}).")


@regency_group.command("revoke")
@click.argument("username")
@click.argument("code")
@needs_db
def regency_revoke(username, code):
    """Take regency CODE away from account USERNAME."""
    from .. import regencies

    user, r = _user_and_regency(username, code)
    regencies.revoke(user, r)
    click.echo(f"{user.username} no longer works in {r.code}.")


COMMANDS = (regency_group,)
