"""The regency chooser and the per-request regency scope (``planner.regencies``).

With one regency (every office install) nothing happens here: no scope, no chooser. With
several, each request of a logged-in account runs within the regency chosen in its session
(``session["regency_id"]``), if the account may use it (admins: every regency; others: those
given to them, ``planner regency grant``). An account with exactly one regency gets it without
asking; one with several is sent to **Pilih kabupaten** first; one with none is refused.
"""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    abort,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from .. import batch, regencies
from .common import locale
from .share import base_url, link_for

bp = Blueprint("regency", __name__)

#: Endpoints that work without a chosen regency (the chooser itself, logging in and out).
FREE = {"regency.choose", "static", "auth.login", "auth.logout", "auth.password"}


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("plans.index")


def scope_request():
    """``before_request`` (after the access table): enter the request's regency."""
    g.regencies = None
    if request.endpoint is None or not current_user.is_authenticated:
        return None
    if not regencies.is_multi():
        return None
    allowed = regencies.allowed(current_user)
    g.regencies = allowed
    by_id = {r.id: r for r in allowed}
    chosen = by_id.get(session.get("regency_id"))
    if chosen is None and len(allowed) == 1:
        chosen = allowed[0]
        session["regency_id"] = chosen.id
    if chosen is not None:
        g.regency = chosen
        g.regency_token = regencies.enter(chosen)
        return None
    if request.endpoint in FREE or request.endpoint.startswith("share."):
        return None
    if not allowed:
        abort(403)
    return redirect(url_for("regency.choose", next=request.full_path.rstrip("?")))


def leave_request(_exc=None):
    token = g.pop("regency_token", None)
    if token is not None:
        regencies.leave(token)


@bp.route("/kabupaten", methods=["GET", "POST"])
def choose():
    """Pick the regency to work in (only offered when the installation has several)."""
    allowed = g.get("regencies") or []
    form = FlaskForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            wanted = int(request.form.get("regency_id", ""))
        except ValueError:
            abort(400)
        if wanted not in {r.id for r in allowed}:
            abort(403)
        session["regency_id"] = wanted
        return redirect(_safe_next(request.form.get("next")))
    if not allowed:
        return render_template("regency/choose.html", regencies=[], current=None,
                               next=_safe_next(request.args.get("next")),
                               message=_("Hanya ada satu kabupaten di sini.")), 200
    return render_template("regency/choose.html", regencies=allowed, current=g.get("regency"),
                           next=_safe_next(request.args.get("next")), message=None)


def _province_rows() -> list[dict]:
    chosen = regencies.allowed(current_user) if regencies.is_multi() else []
    return batch.latest_rows(chosen)


@bp.route("/provinsi")
def province():
    """Every regency the account may use, with the newest plan's totals (people, km, cost,
    team-days)."""
    rows = _province_rows()
    done = [r for r in rows if r["status"] == "done"]
    total = {k: sum(r[k] or 0 for r in done) for k in ("people", "km", "cost_rp", "team_days",
                                                       "villages")}
    return render_template("regency/province.html", rows=rows, total=total)


@bp.route("/provinsi/<code>/lembar.pdf")
def province_sheets(code: str):
    """The day sheets of one regency's newest plan (every team), from the province page: the
    same PDF ``planner batch`` writes for that regency."""
    row = next((r for r in _province_rows() if r["code"] == code), None)
    if row is None or row["plan_id"] is None:  # not a regency of this account, or no plan
        abort(404)
    pdf = batch.sheet_pdf(row, base_url=base_url(), link_maker=link_for, gettext=_,
                          locale=locale())
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                     download_name=batch.sheet_filename(row))


@bp.route("/provinsi.xlsx")
def province_xlsx():
    buf = io.BytesIO()
    path = batch.write_xlsx(_province_rows(), buf)
    return send_file(path, mimetype="application/vnd.openxmlformats-officedocument."
                     "spreadsheetml.sheet", as_attachment=True, download_name="provinsi.xlsx")
