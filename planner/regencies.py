"""Regencies: one installation may hold several regencies (a province, a directorate).

Each regency has its own villages, datasets, bases, teams, network layers, plans and plan jobs
(``regency_id`` on those tables: :data:`SCOPED`). Users are given access per regency
(``user_regencies``; admins reach every regency).

**Scope.** :func:`within` sets the regency of the current context (a web request, a ``planner``
command run with ``PLANNER_REGENCY``, a plan job of that regency). While it is set, every ORM
SELECT, UPDATE and DELETE of the scoped tables is narrowed to that regency by one session hook
(``do_orm_execute`` + ``with_loader_criteria``), and new rows get that regency
(``before_flush``). So a query that forgets the regency cannot leak another regency's rows:
there is nothing to forget. Rows without a regency (``NULL``: made by an installation that
never had a second regency) belong to the **default** regency.

**A single-regency install notices nothing**: with at most one regency no scope is ever set
(:func:`is_multi` is False) and no query changes. The migration puts the existing rows into
one default regency; :func:`create` makes the default regency (owning every row without one)
before it adds a second one.

Not covered by the hook (by design): raw SQL text, and lookups by primary key of an object
already loaded in the session (``Session.get`` returns it from the identity map). The web
opens a fresh session per request, so the latter does not arise there.

No Flask import.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import Iterator

from sqlalchemy import event, func, or_, select, update
from sqlalchemy.orm import Session, with_loader_criteria

from . import audit
from .extensions import db
from .models import (
    Dataset,
    NetworkLayer,
    Plan,
    PlanJob,
    PlanVersion,
    Regency,
    StopMark,
    Team,
    TeamBase,
    User,
    UserRegency,
    Village,
    VillageFlag,
    VillageStat,
    VisitResult,
)

log = logging.getLogger(__name__)

#: The tables that belong to one regency (their ``regency_id``).
SCOPED = (Village, Dataset, TeamBase, Team, Plan, PlanJob, NetworkLayer)
#: Tables narrowed through the row they hang from: a plan's versions, marks and field results,
#: a dataset's figures, a village's flags.
DEPENDENT = (PlanVersion, StopMark, VisitResult, VillageStat, VillageFlag)
DEFAULT_CODE = "utama"
CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,19}$")

#: (regency id, whether rows without a regency belong to it) of the current context.
_current: contextvars.ContextVar[tuple[int, bool] | None] = contextvars.ContextVar(
    "planner_regency", default=None)


class RegencyError(ValueError):
    """A regency request that cannot be done (message for the user, as is)."""


# --------------------------------------------------------------------------- the scope
@contextlib.contextmanager
def within(regency: Regency | int | None) -> Iterator[None]:
    """Run the block within ``regency`` (None: no scope, every row visible)."""
    if regency is None:
        token = _current.set(None)
    else:
        r = regency if isinstance(regency, Regency) else _unscoped_get(int(regency))
        if r is None:
            raise RegencyError(f"Kabupaten {regency} tidak ada.")
        token = _current.set((r.id, bool(r.is_default)))
    try:
        yield
    finally:
        _current.reset(token)


def enter(regency: Regency | None) -> contextvars.Token:
    """Set the scope until :func:`leave` (a web request: before/teardown hooks)."""
    return _current.set((regency.id, bool(regency.is_default)) if regency is not None else None)


def leave(token: contextvars.Token) -> None:
    _current.reset(token)


def current_id() -> int | None:
    cur = _current.get()
    return cur[0] if cur else None


def current_is_default() -> bool:
    """Whether the current scope is the default regency (or there is no scope)."""
    cur = _current.get()
    return cur is None or cur[1]


def _unscoped_get(regency_id: int) -> Regency | None:
    return db.session.get(Regency, regency_id)


@event.listens_for(Session, "do_orm_execute")
def _narrow(state) -> None:
    cur = _current.get()
    if cur is None or state.is_column_load or state.is_relationship_load:
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("all_regencies"):
        return
    state.statement = state.statement.options(*_criteria(*cur))


def _own(model, rid: int, with_null: bool):
    """The rows of ``model`` in regency ``rid`` (plain expressions: the statement cache keys
    them with their bound values)."""
    if with_null:
        return or_(model.regency_id == rid, model.regency_id.is_(None))
    return model.regency_id == rid


def _criteria(rid: int, with_null: bool) -> list:
    plans = select(Plan.id).where(_own(Plan, rid, with_null))
    opts = [with_loader_criteria(m, _own(m, rid, with_null), include_aliases=True)
            for m in SCOPED]
    opts += [
        with_loader_criteria(PlanVersion, PlanVersion.plan_id.in_(plans), include_aliases=True),
        with_loader_criteria(StopMark, StopMark.plan_id.in_(plans), include_aliases=True),
        with_loader_criteria(VisitResult, VisitResult.plan_version_id.in_(
            select(PlanVersion.id).where(PlanVersion.plan_id.in_(plans))),
            include_aliases=True),
        with_loader_criteria(VillageStat, VillageStat.dataset_id.in_(
            select(Dataset.id).where(_own(Dataset, rid, with_null))), include_aliases=True),
        with_loader_criteria(VillageFlag, VillageFlag.village_code.in_(
            select(Village.code).where(_own(Village, rid, with_null))), include_aliases=True),
    ]
    return opts


@event.listens_for(Session, "before_flush")
def _stamp(session, _flush_context, _instances) -> None:
    cur = _current.get()
    if cur is None:
        return
    for obj in session.new:
        if isinstance(obj, SCOPED) and obj.regency_id is None:
            obj.regency_id = cur[0]


# --------------------------------------------------------------------------- regencies
def all_regencies() -> list[Regency]:
    return list(db.session.scalars(select(Regency).order_by(Regency.is_default.desc(),
                                                           Regency.code)).all())


def count() -> int:
    return db.session.scalar(select(func.count(Regency.id))) or 0


def is_multi() -> bool:
    """More than one regency: only then is anything scoped."""
    return count() > 1


def by_code(code: str) -> Regency | None:
    return db.session.scalar(select(Regency).where(Regency.code == str(code).strip()))


def default() -> Regency | None:
    return db.session.scalar(select(Regency).where(Regency.is_default.is_(True)))


def ensure_default(name: str = "Kabupaten utama") -> Regency:
    """The default regency (made on first need); it owns every row without a regency."""
    r = default()
    if r is None:
        r = Regency(code=DEFAULT_CODE, name=name, is_default=True)
        db.session.add(r)
        db.session.flush()
        for model in SCOPED:
            db.session.execute(update(model).where(model.regency_id.is_(None))
                               .values(regency_id=r.id)
                               .execution_options(synchronize_session=False,
                                                  all_regencies=True))
    return r


def create(code: str, name: str) -> Regency:
    """Add a regency (the default one first, holding what the installation had). Commits."""
    code, name = str(code or "").strip(), str(name or "").strip()
    if not CODE_RE.match(code):
        raise RegencyError("Kode kabupaten: 1–20 huruf, angka, titik, garis bawah atau tanda "
                           "hubung (mis. 62.02).")
    if not name or len(name) > 200:
        raise RegencyError("Nama kabupaten wajib diisi (paling banyak 200 huruf).")
    if by_code(code) is not None:
        raise RegencyError(f"Kode kabupaten {code} sudah dipakai.")
    ensure_default()
    r = Regency(code=code, name=name, is_default=False)
    db.session.add(r)
    audit.record("regency.add", f"regency:{code}", after={"code": code, "name": name})
    db.session.commit()
    return r


def grant(user: User, regency: Regency) -> None:
    """Give ``user`` access to ``regency`` (idempotent). Commits."""
    if db.session.get(UserRegency, (user.id, regency.id)) is None:
        db.session.add(UserRegency(user_id=user.id, regency_id=regency.id))
        audit.record("regency.grant", f"user:{user.username}",
                     after={"regency": regency.code})
    db.session.commit()


def revoke(user: User, regency: Regency) -> None:
    row = db.session.get(UserRegency, (user.id, regency.id))
    if row is not None:
        db.session.delete(row)
        audit.record("regency.revoke", f"user:{user.username}",
                     before={"regency": regency.code})
    db.session.commit()


def allowed(user: User) -> list[Regency]:
    """The regencies ``user`` may work in (an admin: all)."""
    if user.role == "admin":
        return all_regencies()
    return list(db.session.scalars(
        select(Regency).join(UserRegency, UserRegency.regency_id == Regency.id)
        .where(UserRegency.user_id == user.id)
        .order_by(Regency.is_default.desc(), Regency.code)).all())
