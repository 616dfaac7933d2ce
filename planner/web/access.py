"""Who may open what: one table for every route, enforced before every request (fail closed).

``POLICY`` maps each endpoint to the roles allowed, per HTTP method where it differs. An
endpoint missing from the table is refused for everyone (and logged), so a new route is
closed until someone decides who may use it. Public by design: the login page, static files
and share links (which check their own signed token).

Team leads see only their own team (``User.team``): views narrow plans, sheets, exports and
results to it with :func:`team_scope` / :func:`require_team`.
"""

from __future__ import annotations

from flask import abort, current_app, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

PUBLIC = frozenset({"*public*"})
EVERYONE = frozenset({"admin", "coordinator", "team_lead", "viewer"})
READERS = frozenset({"admin", "coordinator", "viewer"})            # the whole office, read-only
PLAN_READERS = EVERYONE                                             # team leads: their plans
FIELD = frozenset({"admin", "coordinator", "team_lead"})            # enter results
COORDINATORS = frozenset({"admin", "coordinator"})                  # change data and plans
ADMINS = frozenset({"admin"})

POLICY: dict[str, frozenset | dict[str, frozenset]] = {
    "static": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": EVERYONE,
    "auth.password": EVERYONE,
    "share.teamlead": PUBLIC,
    "share.teamlead_map": PUBLIC,
    "share.sheets_pdf": PUBLIC,
    "share.export": PUBLIC,
    "share.revoke": COORDINATORS,
    "gap.index": READERS,
    "gap.export": READERS,
    "maps.coverage": READERS,
    "maps.map_document": READERS,
    "imports.index": COORDINATORS,
    "imports.villages": COORDINATORS,
    "imports.recap": COORDINATORS,
    "plans.index": {"GET": PLAN_READERS, "POST": COORDINATORS},
    "plans.job": COORDINATORS | {"viewer"},
    "plans.job_json": COORDINATORS | {"viewer"},
    "plans.job_retry": COORDINATORS,
    "plans.job_cancel": COORDINATORS,
    "regency.choose": EVERYONE,
    "regency.province": READERS,
    "regency.province_xlsx": READERS,
    "regency.province_sheets": READERS,
    "plans.latest": PLAN_READERS,
    "plans.show": PLAN_READERS,
    "plans.download": PLAN_READERS,
    "plans.map_document": PLAN_READERS,
    "sheets.sheets_pdf": PLAN_READERS,
    "sheets.sheets_html": PLAN_READERS,
    "sheets.export": PLAN_READERS,
    "sheets.teamlead": PLAN_READERS,
    "sheets.teamlead_map": PLAN_READERS,
    "field.results": {"GET": FIELD, "POST": FIELD},
    "field.progress": PLAN_READERS,
    "field.replan": COORDINATORS,
    "field.diff": PLAN_READERS,
    "admin.users": ADMINS,
    "admin.user_update": ADMINS,
    "admin.user_regencies": ADMINS,
    "admin.regency_add": ADMINS,
    "admin.user_password": ADMINS,
    "admin.audit": ADMINS,
    "admin.audit_csv": ADMINS,
    # --- set-up checklist and settings (issue 10)
    "settings.travel": {"GET": READERS, "POST": COORDINATORS},
    "settings.general": {"GET": READERS, "POST": COORDINATORS},
    # --- bases and teams (issue 10)
    "bases.index": {"GET": READERS, "POST": COORDINATORS},
    "bases.map_document": READERS,
    "bases.remove": COORDINATORS,
    "bases.archive": COORDINATORS,
    "bases.restore": COORDINATORS,
    "bases.make_default": COORDINATORS,
    "teams.index": {"GET": READERS, "POST": COORDINATORS},
    "teams.archive": COORDINATORS,
    "teams.restore": COORDINATORS,
    # --- village attributes (issue 10)
    "villages.edit": {"GET": READERS, "POST": COORDINATORS},
    "villages.stop": COORDINATORS,
    "villages.hints": {"GET": READERS, "POST": COORDINATORS},
    "villages.import_attributes": COORDINATORS,
    # --- data management (issue 10)
    "datasets.index": READERS,
    "datasets.activate": COORDINATORS,
    "datasets.rename": COORDINATORS,
    "datasets.delete": COORDINATORS,
    "datasets.plan_rename": COORDINATORS,
    "datasets.plan_archive": COORDINATORS,
    "datasets.plan_delete": COORDINATORS,
    # --- campaign progress (issue 11)
    "campaign.index": READERS,
    "campaign.png": READERS,
    "campaign.xlsx": READERS,
    # --- team-day messages and results import (issue 11)
    "sheets.day_message": PLAN_READERS,
    # --- stop lifecycle and locks (issue 11)
    "stops.set_state": COORDINATORS,
    "stops.lock_village": COORDINATORS,
    "stops.unlock_village": COORDINATORS,
    "stops.village_flag": COORDINATORS,
    # --- road and river network, piers, calibration (issue 12)
    "network.index": READERS,
    "network.map_document": READERS,
    "network.upload": COORDINATORS,
    "network.remove": COORDINATORS,
    "network.pier_add": COORDINATORS,
    "network.pier_accept": COORDINATORS,
    "network.pier_remove": COORDINATORS,
    "network.mouth": COORDINATORS,
    "network.calibration": {"GET": READERS, "POST": COORDINATORS},
}


def roles_for(endpoint: str | None, method: str) -> frozenset | None:
    """The roles allowed for ``endpoint`` and ``method`` (None: not in the table)."""
    rule = POLICY.get(endpoint or "")
    if rule is None:
        return None
    if isinstance(rule, dict):
        method = "GET" if method in ("HEAD", "OPTIONS") else method
        return rule.get(method, frozenset())
    return rule


def can(endpoint: str, method: str = "GET") -> bool:
    """May the current user use this endpoint (for links and buttons in templates)?"""
    roles = roles_for(endpoint, method)
    if roles is None:
        return False
    if roles is PUBLIC:
        return True
    return bool(current_user.is_authenticated and current_user.role in roles)


def home_endpoint() -> str:
    """Where a user lands after logging in."""
    return "gap.index" if can("gap.index") else "plans.index"


def _wants_json() -> bool:
    return request.path.endswith(".json") or request.accept_mimetypes.best == "application/json"


def enforce():
    """``before_request``: refuse what the table does not allow (login first when anonymous)."""
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: the 404/405 handlers answer
        return None
    roles = roles_for(endpoint, request.method)
    if roles is None:
        current_app.logger.error("Route %s is not in the access table: refused", endpoint)
        abort(403)
    if roles is PUBLIC:
        return None
    if not current_user.is_authenticated:
        if _wants_json():
            return jsonify(error=_("Masuk dulu.")), 401
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.role not in roles:
        abort(403)
    return None


# --------------------------------------------------------------------------- team leads
def team_scope() -> str | None:
    """The team a team lead is limited to; None for the other roles (they see every team)."""
    if current_user.is_authenticated and current_user.role == "team_lead":
        return current_user.team or ""
    return None


def plan_visible(plan_json: dict) -> bool:
    """Team leads see a plan only when their team is in it."""
    scope = team_scope()
    if scope is None:
        return True
    return any(t.get("name") == scope for t in plan_json.get("teams") or [])


def require_plan_visible(plan_json: dict) -> None:
    if not plan_visible(plan_json):
        abort(403)


def require_team(team_name: str | None) -> None:
    """403 unless the current user may act for this team."""
    scope = team_scope()
    if scope is not None and team_name != scope:
        abort(403)
