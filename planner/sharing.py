"""Share links: a team-day of a plan, read-only, for a phone without an account.

A link is ``{PUBLIC_BASE_URL}/s/<token>`` where the token is the (plan, version, team number,
date, generation) signed with the app's secret key (itsdangerous). Nothing can be changed
through it, and it shows one team-day only. Every link of a plan is revoked at once by bumping
``Plan.share_generation`` (``revoke``); new sheets then carry new links.

Plain Python over the persistence layer (no Flask import).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from . import audit
from .extensions import db
from .models import Plan

SALT = "planner-share-v1"


@dataclass(frozen=True)
class Shared:
    plan_id: int
    version: int
    team_no: int
    date: str


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def make_token(secret: str, plan: Plan, version: int, team_no: int, date: str) -> str:
    return _serializer(secret).dumps([plan.id, int(version), int(team_no), str(date),
                                      int(plan.share_generation or 0)])


def resolve(secret: str, token: str) -> Shared | None:
    """What a token shares, or None when it is forged, malformed or revoked."""
    if not token or len(token) > 400:
        return None
    try:
        plan_id, version, team_no, date, generation = _serializer(secret).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    plan = db.session.get(Plan, int(plan_id))
    if plan is None or int(plan.share_generation or 0) != int(generation):
        return None
    return Shared(int(plan_id), int(version), int(team_no), str(date))


def link_maker(secret: str, base_url: str, plan_id: int, version: int) -> Callable:
    """``link(team_day) -> URL`` for the day sheets' QR codes and links."""
    plan = db.session.get(Plan, int(plan_id))
    base = str(base_url).rstrip("/")

    def link(td) -> str:
        return f"{base}/s/{make_token(secret, plan, version, td.team_no, td.date)}"

    return link


def revoke(plan: Plan) -> None:
    """Every share link of ``plan`` stops working (new ones can be printed)."""
    plan.share_generation = int(plan.share_generation or 0) + 1
    audit.record("plan.share_revoke", f"plan {plan.id}",
                 after={"generation": plan.share_generation})
    db.session.commit()
