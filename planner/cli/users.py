"""``planner user create|list|disable|enable|set-password|set-role``: accounts from the
terminal (the same service as the admin page, ``planner.accounts``; every change is in the
audit log as done by ``cli:<operating-system user>``)."""

from __future__ import annotations

import click

from ..models import ROLES
from .common import needs_db


@click.group("user")
def user_group():
    """Accounts: create, list, disable/enable, set a password or a role."""


def _get(username: str):
    from .. import accounts

    user = accounts.by_username(username)
    if user is None:
        raise click.ClickException(f"No account named {username!r}.")
    return user


def _password(generate: bool) -> tuple[str, bool]:
    from .. import accounts

    if generate:
        return accounts.generate_password(), True
    return click.prompt("Password", hide_input=True, confirmation_prompt=True), False


@user_group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--team", default=None, help="The team a team lead belongs to (its name in plans).")
@click.option("--generate-password", "generate", is_flag=True,
              help="Generate a password and print it once (instead of asking for one).")
@needs_db
def create_command(username, role, team, generate):
    """Create an account."""
    from .. import accounts

    password, show = _password(generate)
    try:
        user = accounts.create(username, password, role, team=team)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Account {user.username} ({user.role}) created.")
    if show:
        click.echo(f"Password (shown only this once): {password}")


@user_group.command("list")
@needs_db
def list_command():
    """List the accounts."""
    from .. import accounts

    for u in accounts.list_users():
        state = "active" if u.active else "disabled"
        last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
        team = f" team={u.team}" if u.team else ""
        click.echo(f"{u.username:<24} {u.role:<12} {state:<9} last login {last}{team}")


@user_group.command("disable")
@click.argument("username")
@needs_db
def disable_command(username):
    """Disable an account (its sessions end at once)."""
    from .. import accounts

    try:
        accounts.update(_get(username), active=False)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Account {username} disabled.")


@user_group.command("enable")
@click.argument("username")
@needs_db
def enable_command(username):
    """Enable a disabled account again."""
    from .. import accounts

    accounts.update(_get(username), active=True)
    click.echo(f"Account {username} enabled.")


@user_group.command("set-password")
@click.argument("username")
@click.option("--generate-password", "generate", is_flag=True,
              help="Generate a password and print it once (instead of asking for one).")
@needs_db
def set_password_command(username, generate):
    """Set an account's password (an admin's password reset); its sessions end."""
    from .. import accounts

    password, show = _password(generate)
    try:
        accounts.set_password(_get(username), password)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Password of {username} changed.")
    if show:
        click.echo(f"Password (shown only this once): {password}")


@user_group.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--team", default=None, help="The team of a team lead.")
@needs_db
def set_role_command(username, role, team):
    """Change an account's role (its sessions end)."""
    from .. import accounts

    try:
        accounts.update(_get(username), role=role, team=team)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Account {username} is now {role}.")


COMMANDS = (user_group,)
