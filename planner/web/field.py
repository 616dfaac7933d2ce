"""Field results, progress against the plan, re-planning and the version diff (issue 5)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from .. import field, jobs, msg, pipeline, plan_json, plan_store
from ..plandiff import churn, diff_plans
from . import access, common

bp = Blueprint("field", __name__)

OUTCOME_LABELS = {
    "done": _l("Selesai"),
    "partly": _l("Sebagian"),
    "not_reached": _l("Tidak terjangkau"),
}
REASON_LABELS = {
    "weather": _l("Cuaca"),
    "boat": _l("Perahu/kapal"),
    "no_signal": _l("Tidak ada sinyal"),
    "equipment": _l("Peralatan"),
    "absent": _l("Warga tidak ada"),
    "other": _l("Lainnya"),
}


def _labels():
    # lazy strings, resolved at request time so the chosen locale applies
    return ({k: str(v) for k, v in OUTCOME_LABELS.items()}, {k: str(v) for k, v in REASON_LABELS.items()})


def _version_or_404(plan_id: int, version: int):
    v = plan_store.get_version(plan_id, version)
    if v is None or not v.result:
        abort(404)
    access.require_plan_visible(v.result)
    return v


@bp.route("/rencana/<int:plan_id>/v<int:version>/hasil", methods=["GET", "POST"])
def results(plan_id: int, version: int):
    """Enter what each stop of one team-day achieved."""
    v = _version_or_404(plan_id, version)
    teams = plan_json.teams(v.result)
    team_name = (request.values.get("team") or access.team_scope()
                 or (teams[0]["name"] if teams else None))
    try:
        team_no, team = plan_json.find_team(v.result, str(team_name))
        dates = [td.date for td in plan_json.team_days(v.result, team_no)]
        day_date = request.values.get("day") or (dates[0] if dates else None)
        day = plan_json.get_team_day(v.result, team_no, day_date).day
    except (plan_json.SelectionError, ValueError):
        abort(404)
    access.require_team(team["name"])  # a team lead reports for their own team only
    form = FlaskForm()
    status = 200
    submitted: dict[int, dict] = {}
    needs_confirm = False
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        reports = []
        for i, stop in enumerate(day.get("stops", [])):
            outcome = request.form.get(f"outcome-{i}") or ""
            submitted[i] = {"actual": request.form.get(f"actual-{i}") or "", "outcome": outcome,
                            "reason": request.form.get(f"reason-{i}") or ""}
            if not outcome:
                continue  # not reported yet
            reports.append({
                "team": team["name"], "date": day["date"], "site_code": stop["site_code"],
                "actual_recorded": (request.form.get(f"actual-{i}") or "0").strip(),
                "outcome": outcome, "reason": request.form.get(f"reason-{i}") or None,
            })
        who = (request.form.get("recorded_by") or "").strip()[:100] or current_user.username
        try:
            if not reports:
                raise field.FieldError(_("Belum ada hasil yang diisi."))
            field.record_results(v, reports, recorded_by=who,
                                 confirm=request.form.get("confirm") == "y")
        except field.NeedsConfirmation as exc:
            flash(exc.translate(_, common.locale()), "error")
            needs_confirm = True
            status = 409
        except field.FieldError as exc:
            flash(exc.translate(_, common.locale()), "error")
            status = 400
        else:
            flash(_("%(n)s laporan tersimpan. Angka rekaman desa sudah diperbarui.", n=len(reports)), "success")
            return redirect(url_for("field.progress", plan_id=plan_id, version=version))
    reports = field.latest_results([x.id for x in v.plan.versions])
    history = field.report_history(v, team["name"], day["date"])
    outcome_labels, reason_labels = _labels()
    return render_template(
        "field/results.html", v=v, plan=v.plan, team=team, day=day, dates=dates, teams=teams,
        reports=reports, history=history, submitted=submitted, needs_confirm=needs_confirm,
        form=form, outcome_labels=outcome_labels, reason_labels=reason_labels,
    ), status


@bp.route("/rencana/<int:plan_id>/v<int:version>/kemajuan")
def progress(plan_id: int, version: int):
    """Planned vs achieved per team and day, and the re-plan form."""
    v = _version_or_404(plan_id, version)
    rows = field.progress_table(v)
    totals = {k: sum(r[k] for r in rows) for k in ("planned", "achieved", "stops", "done", "partly",
                                                      "not_reached", "pending")}
    return render_template("field/progress.html", v=v, plan=v.plan, rows=rows, totals=totals,
                           form=FlaskForm(), today=dt.date.today().isoformat(),
                           versions=plan_store.list_versions(plan_id))


@bp.route("/rencana/<int:plan_id>/v<int:version>/replan", methods=["POST"])
def replan(plan_id: int, version: int):
    """Re-optimise the remaining days from a date: a new version of the same plan."""
    v = _version_or_404(plan_id, version)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        from_date = dt.date.fromisoformat((request.form.get("from_date") or "").strip())
        time_limit = float(request.form.get("time_limit") or current_app.config["PLAN_TIME_LIMIT_S"])
        if not 1 <= time_limit <= 600:
            raise ValueError
    except ValueError:
        flash(_("Tanggal mulai hitung ulang atau batas waktu tidak sah."), "error")
        return redirect(url_for("field.progress", plan_id=plan_id, version=version))
    try:
        params = field.replan_params(v, from_date, time_limit=time_limit)
    except (field.FieldError, pipeline.PlanningError) as exc:
        flash(msg.text(exc.args[0] if exc.args else exc, _, common.locale()), "error")
        return redirect(url_for("field.progress", plan_id=plan_id, version=version))
    try:
        job_id = jobs.submit_plan_job(current_app._get_current_object(), params,
                                      submitted_by=current_user.id)
    except jobs.QueueFull as exc:
        flash(str(exc), "error")
        return redirect(url_for("field.progress", plan_id=plan_id, version=version))
    return redirect(url_for("plans.job", job_id=job_id))


@bp.route("/rencana/<int:plan_id>/beda/<int:a>/<int:b>")
def diff(plan_id: int, a: int, b: int):
    """What moved between two versions."""
    va, vb = _version_or_404(plan_id, a), _version_or_404(plan_id, b)
    d = diff_plans(va.result, vb.result)
    # a re-plan's churn: the stops from its re-plan date on (the earlier days are kept as-is)
    since = vb.replanned_from if vb.replanned_from and b > a else None
    c = churn(diff_plans(va.result, vb.result, since)) if since else churn(d)
    total = sum(c.values())
    return render_template("field/diff.html", plan=va.plan, va=va, vb=vb, d=d, churn=c,
                           since=since, kept_share=(c["kept"] / total) if total else None)
