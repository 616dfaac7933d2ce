"""The audit log: who changed what, and when (before/after for edits). Append-only.

Services record their own events, inside the transaction of the change they describe, so an
event exists exactly when the change does (``record`` adds to the session; the caller
commits). *Who* comes from the acting user of the current context: the web layer sets it per
request (the logged-in account), a background job sets it to the account that submitted the
job, the CLI to ``cli:<operating-system user>``; otherwise it is ``system``.

Actions (``action`` column): ``login.ok``, ``login.failed``, ``logout``, ``user.create``,
``user.update``, ``user.password``, ``import.villages``, ``import.recap``, ``plan.create``,
``plan.replan``, ``plan.share_revoke``, ``results.record``.

Plain Python over the persistence layer (no Flask import).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import select

from .extensions import db
from .models import AuditEvent


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    name: str


SYSTEM = Actor(None, "system")
_actor: ContextVar[Actor] = ContextVar("planner_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _actor.get()


@contextlib.contextmanager
def acting_as(user_id: int | None, name: str) -> Iterator[Actor]:
    """Everything recorded inside the block is done by this actor."""
    token = _actor.set(Actor(user_id, name))
    try:
        yield _actor.get()
    finally:
        _actor.reset(token)


def set_actor(user_id: int | None, name: str):
    """Set the actor for the rest of this context (a request); returns the reset token."""
    return _actor.set(Actor(user_id, name))


def _jsonable(value):
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))


def record(action: str, target: str | None = None, *, before: dict | None = None,
           after: dict | None = None, actor: Actor | None = None) -> AuditEvent:
    """Add one event to the session (the caller's transaction commits it)."""
    who = actor or current_actor()
    event = AuditEvent(user_id=who.user_id, actor=who.name[:120], action=action[:60],
                       target=(target or "")[:200] or None, before=_jsonable(before),
                       after=_jsonable(after))
    db.session.add(event)
    return event


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys that changed, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


# --------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class Filters:
    actor: str | None = None
    action: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None


def events(filters: Filters = Filters(), *, limit: int | None = 500) -> list[AuditEvent]:
    """Newest first, filtered (action matches a prefix: ``plan`` finds ``plan.create``...)."""
    q = select(AuditEvent).order_by(AuditEvent.id.desc())
    if filters.actor:
        q = q.where(AuditEvent.actor == filters.actor)
    if filters.action:
        q = q.where(AuditEvent.action.startswith(filters.action))
    if filters.since:
        q = q.where(AuditEvent.at >= dt.datetime.combine(filters.since, dt.time()))
    if filters.until:
        q = q.where(AuditEvent.at < dt.datetime.combine(filters.until + dt.timedelta(days=1),
                                                         dt.time()))
    if limit:
        q = q.limit(limit)
    return list(db.session.scalars(q))


def actions() -> list[str]:
    return sorted(set(db.session.scalars(select(AuditEvent.action).distinct())))


def to_csv(rows: list[AuditEvent]) -> str:
    """The events as CSV (UTC times; text that a spreadsheet would run is made inert)."""
    from .exports import safe_cell

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "at_utc", "actor", "action", "target", "before", "after"])
    for e in rows:
        w.writerow([safe_cell(v) for v in (
            e.id, e.at.isoformat(timespec="seconds"), e.actor, e.action, e.target or "",
            json.dumps(e.before, ensure_ascii=False) if e.before is not None else "",
            json.dumps(e.after, ensure_ascii=False) if e.after is not None else "")])
    return buf.getvalue()
