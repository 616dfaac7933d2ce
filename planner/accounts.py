"""Accounts and roles.

Roles (one per account):

* ``admin``: everything, and the accounts, settings and the audit log;
* ``coordinator``: import data, plan and re-plan, enter results, share links;
* ``team_lead``: the plans of their team (``User.team``): its day sheets, map and exports, and
  entering its results;
* ``viewer``: reads everything a coordinator sees; changes nothing.

Passwords are hashed with scrypt (Werkzeug's ``generate_password_hash``); no password is ever
stored or logged in clear text. Changing a password, a role or disabling an account bumps
``session_version`` and so ends every session of that account. There is no default password:
``ensure_admin`` creates the first admin with a generated password that is shown once.

Plain Python over the persistence layer (no Flask import).
"""

from __future__ import annotations

import re
import secrets
import string

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit
from .extensions import db
from .models import ROLES, User, utcnow

MIN_PASSWORD = 10
USERNAME_RE = re.compile(r"^[A-Za-z0-9._-]{3,80}$")
# A hash to compare against when the user does not exist (same cost as a real check).
_DUMMY_HASH = generate_password_hash("not-a-password-" + secrets.token_hex(8))


class AccountError(ValueError):
    """An account change that cannot be made (message for the admin, Indonesian)."""


def generate_password(length: int = 16) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AccountError(f"Kata sandi minimal {MIN_PASSWORD} karakter.")
    if len(password) > 200:
        raise AccountError("Kata sandi paling banyak 200 karakter.")


def _check_role(role: str, team: str | None) -> None:
    if role not in ROLES:
        raise AccountError(f"Peran tidak dikenal: {role!r} (pilih {', '.join(ROLES)}).")
    if role == "team_lead" and not (team or "").strip():
        raise AccountError("Ketua tim perlu nama timnya (sama dengan nama tim di rencana).")


def _public(user: User) -> dict:
    return {"username": user.username, "role": user.role, "team": user.team,
            "active": user.active}


# --------------------------------------------------------------------------- reading
def get(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def by_username(username: str) -> User | None:
    return db.session.scalars(
        select(User).where(func.lower(User.username) == (username or "").strip().lower())
    ).first()


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username)))


def count() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


def authenticate(username: str, password: str) -> User | None:
    """The active account with this username and password, else None (same cost either way)."""
    user = by_username(username)
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    return user


# --------------------------------------------------------------------------- writing
def create(username: str, password: str, role: str, *, team: str | None = None,
           commit: bool = True) -> User:
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise AccountError("Nama pengguna 3–80 karakter: huruf, angka, titik, garis bawah, "
                           "tanda hubung.")
    if by_username(username) is not None:
        raise AccountError(f"Nama pengguna {username!r} sudah dipakai.")
    _check_password(password)
    _check_role(role, team)
    user = User(username=username, password_hash=generate_password_hash(password), role=role,
                team=(team or "").strip() or None, active=True, session_version=1)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", f"user {username}", after=_public(user))
    if commit:
        db.session.commit()
    return user


def update(user: User, *, role: str | None = None, team: str | None = None,
           active: bool | None = None, commit: bool = True) -> User:
    """Change role, team or active; a change that lowers access ends the user's sessions."""
    before = _public(user)
    new_role = role if role is not None else user.role
    new_team = (team.strip() or None) if team is not None else user.team
    _check_role(new_role, new_team)
    if user.role == "admin" and (new_role != "admin" or active is False) and _admins_left(user) == 0:
        raise AccountError("Ini admin terakhir yang aktif: tambahkan admin lain dulu.")
    user.role, user.team = new_role, new_team
    if active is not None:
        user.active = bool(active)
    after = _public(user)
    if before != after:
        user.session_version += 1
        b, a = audit.changes(before, after)
        audit.record("user.update", f"user {user.username}", before=b, after=a)
    if commit:
        db.session.commit()
    return user


def set_password(user: User, password: str, *, commit: bool = True) -> None:
    _check_password(password)
    user.password_hash = generate_password_hash(password)
    user.session_version += 1
    audit.record("user.password", f"user {user.username}")
    if commit:
        db.session.commit()


def _admins_left(excluding: User) -> int:
    return db.session.scalar(select(func.count(User.id)).where(
        User.role == "admin", User.active.is_(True), User.id != excluding.id)) or 0


def note_login(user: User) -> None:
    user.last_login_at = utcnow()
    audit.record("login.ok", f"user {user.username}",
                 actor=audit.Actor(user.id, user.username))
    db.session.commit()


def ensure_admin(username: str = "admin") -> tuple[User, str] | None:
    """On a database without accounts, create an admin with a generated password and return
    (user, password) — the only time the password is shown. None when accounts exist."""
    if count() > 0:
        return None
    password = generate_password()
    with audit.acting_as(None, "system"):
        user = create(username, password, "admin")
    return user, password
