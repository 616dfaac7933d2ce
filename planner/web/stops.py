"""The stop lifecycle and locks from the plan page and the map; must-visit / exclude flags
from the gap view and the village page (issue 11). Coordinators only; every change is audited
(``planner.lifecycle``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from .. import field, lifecycle, plan_store
from . import access
from .common import locale

bp = Blueprint("stops", __name__)

STATE_LABELS = {
    "planned": _l("direncanakan"),
    "locked": _l("dikunci"),
    "announced": _l("sudah diumumkan"),
    "cancelled": _l("dibatalkan"),
    "done": _l("selesai"),
    "partly": _l("sebagian"),
    "not_reached": _l("tidak terjangkau"),
}
CANCEL_LABELS = {
    "flood": _l("banjir"),
    "no_fuel": _l("tidak ada BBM"),
    "not_ready": _l("desa belum siap"),
    "weather": _l("cuaca"),
    "boat": _l("perahu/kapal"),
    "other": _l("lainnya"),
}
FLAG_LABELS = {"must": _l("wajib dikunjungi"), "exclude": _l("dikecualikan")}


def state_label(state: str | None) -> str:
    return str(STATE_LABELS.get(state or "planned", state or ""))


def cancel_label(reason: str | None) -> str:
    return str(CANCEL_LABELS.get(reason or "", reason or ""))


def _back(default: str) -> str:
    """Where to go after a change: a local path from the form, else ``default``."""
    target = (request.form.get("next") or "").strip()
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.scheme \
            and not parts.netloc and "\\" not in target:
        return target
    return default


def _version(plan_id: int, version: int):
    v = plan_store.get_version(plan_id, version)
    if v is None or not v.result:
        abort(404)
    access.require_plan_visible(v.result)
    return v


def _check_csrf():
    if not FlaskForm().validate_on_submit():
        abort(400)


@bp.route("/rencana/<int:plan_id>/v<int:version>/status", methods=["POST"])
def set_state(plan_id: int, version: int):
    """Lock, announce, cancel (with a reason) or reset one stop, a team-day, or a week."""
    _check_csrf()
    v = _version(plan_id, version)
    page = url_for("plans.show", plan_id=plan_id, version=version)
    f = request.form
    state = f.get("state") or ""
    scope = f.get("scope") or "stop"
    team = f.get("team") or None
    date = f.get("date") or None
    try:
        if scope == "stop":
            if not (team and date and f.get("code")):
                abort(400)
            keys = [(team, date, f.get("code"))]
        elif scope == "day":
            if not (team and date):
                abort(400)
            keys = lifecycle.keys_for(v, team=team, date=date)
        elif scope == "week":
            if not date:
                abort(400)
            keys = lifecycle.keys_for(v, team=team, week_of=date)
        else:
            abort(400)
    except ValueError:
        abort(400)
    reports = field.latest_results([x.id for x in v.plan.versions])
    if state in ("locked", "announced") and scope != "stop":
        # a whole day or week: stops already reported keep their report
        keys = [k for k in keys if not (k in reports and reports[k].outcome in lifecycle.REPORTED)]
    try:
        n = lifecycle.set_state(v, keys, state, reports=reports, reason=f.get("reason") or None,
                                note=(f.get("note") or "").strip()[:500] or None,
                                by=current_user.username)
    except lifecycle.LifecycleError as exc:
        flash(exc.translate(_, locale()), "error")
        return redirect(_back(page))
    flash(_("%(n)s stop kini %(state)s.", n=n, state=state_label(state)), "success")
    return redirect(_back(page))


@bp.route("/rencana/<int:plan_id>/v<int:version>/kunci-desa", methods=["POST"])
def lock_village(plan_id: int, version: int):
    """Keep a village on a date (a team, or whichever team) for the next re-plan."""
    _check_csrf()
    v = _version(plan_id, version)
    page = url_for("plans.show", plan_id=plan_id, version=version) + "#village-locks"
    code = (request.form.get("code") or "").strip()[:40]
    date = (request.form.get("date") or "").strip()[:10]
    team = (request.form.get("team") or "").strip()[:100]
    if not code:
        flash(_("Pilih desa."), "error")
        return redirect(_back(page))
    try:
        lifecycle.lock_village_date(v, code, date, team=team, by=current_user.username)
    except lifecycle.LifecycleError as exc:
        flash(exc.translate(_, locale()), "error")
        return redirect(_back(page))
    flash(_("%(code)s dikunci ke tanggal %(date)s. Berlaku pada hitung ulang berikutnya.",
            code=code, date=date), "success")
    return redirect(_back(page))


@bp.route("/rencana/<int:plan_id>/v<int:version>/buka-kunci-desa", methods=["POST"])
def unlock_village(plan_id: int, version: int):
    _check_csrf()
    v = _version(plan_id, version)
    page = url_for("plans.show", plan_id=plan_id, version=version) + "#village-locks"
    code = (request.form.get("code") or "").strip()[:40]
    date = (request.form.get("date") or "").strip()[:10]
    if lifecycle.unlock_village_date(v, code, date, by=current_user.username):
        flash(_("Kunci %(code)s pada %(date)s dibuka.", code=code, date=date), "success")
    return redirect(_back(page))


@bp.route("/desa/tanda", methods=["POST"])
def village_flag(code: str | None = None):
    """Must-visit / exclude / neither for a village (the plan form starts from these)."""
    _check_csrf()
    code = (request.form.get("code") or "").strip()[:40]
    flag = request.form.get("flag") or None
    if flag == "none":
        flag = None
    try:
        lifecycle.set_village_flag(code, flag, by=current_user.username)
    except lifecycle.LifecycleError as exc:
        flash(exc.translate(_, locale()), "error")
        return redirect(_back(url_for("gap.index")))
    if flag is None:
        flash(_("%(code)s: tanda dihapus.", code=code), "success")
    else:
        flash(_("%(code)s: %(flag)s pada rencana baru.", code=code,
                flag=str(FLAG_LABELS[flag])), "success")
    return redirect(_back(url_for("gap.index")))
