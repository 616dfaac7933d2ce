"""Admin pages: accounts (``/admin/pengguna``) and the audit log (``/admin/audit``)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from .. import accounts, audit, regencies
from ..models import ROLES

bp = Blueprint("admin", __name__, url_prefix="/admin")

ROLE_LABELS = {"admin": _l("Admin"), "coordinator": _l("Koordinator"),
               "team_lead": _l("Ketua tim"), "viewer": _l("Pembaca")}


def role_choices():
    return [SelectChoice(r, str(ROLE_LABELS[r])) for r in ROLES]


class NewUserForm(FlaskForm):
    username = StringField(_l("Nama pengguna"), validators=[InputRequired(), Length(max=80)])
    role = SelectField(_l("Peran"), default="viewer")
    team = StringField(_l("Tim (untuk ketua tim)"), validators=[Optional(), Length(max=100)])


class RegencyForm(FlaskForm):
    code = StringField(_l("Kode kabupaten"), validators=[InputRequired(), Length(max=20)])
    name = StringField(_l("Nama kabupaten"), validators=[InputRequired(), Length(max=200)])


class UpdateUserForm(FlaskForm):
    role = SelectField(_l("Peran"))
    team = StringField(_l("Tim (untuk ketua tim)"), validators=[Optional(), Length(max=100)])
    active = BooleanField(_l("Aktif"))


def _user_or_404(user_id: int):
    user = accounts.get(user_id)
    if user is None:
        abort(404)
    return user


def _page(form=None, *, secret=None, error=None, status=200, regency_form=None):
    """The accounts page. A new password (``secret``) is rendered into this one response,
    never put in the session cookie or a redirect. With several regencies (issue 14) each
    account gets the regencies it may work in (admins: all of them)."""
    if form is None:
        form = NewUserForm(formdata=None)
        form.role.choices = role_choices()
    forms = {}
    for u in accounts.list_users():
        f = UpdateUserForm(prefix=f"u{u.id}", formdata=None, obj=u)
        f.role.choices = role_choices()
        forms[u.id] = f
    all_regencies = regencies.all_regencies()
    granted = {u.id: {r.id for r in regencies.allowed(u)} for u in accounts.list_users()} \
        if len(all_regencies) > 1 else {}
    body = render_template("admin/users.html", form=form, users=accounts.list_users(),
                           forms=forms, role_labels=ROLE_LABELS, secret=secret, error=error,
                           regency_list=all_regencies, granted=granted,
                           regency_form=regency_form or RegencyForm(formdata=None))
    return body, status, {"Cache-Control": "no-store"}


@bp.route("/pengguna", methods=["GET", "POST"])
def users():
    if request.method == "GET":
        return _page()
    form = NewUserForm()
    form.role.choices = role_choices()
    if not form.validate_on_submit():
        return _page(form, error=_("Isian tidak sah."), status=400)
    password = accounts.generate_password()
    try:
        user = accounts.create(form.username.data, password, form.role.data, team=form.team.data)
    except accounts.AccountError as exc:
        return _page(form, error=str(exc), status=400)
    return _page(secret=(_("Akun %(name)s dibuat.", name=user.username), password))


@bp.route("/pengguna/<int:user_id>", methods=["POST"])
def user_update(user_id: int):
    user = _user_or_404(user_id)
    form = UpdateUserForm(prefix=f"u{user.id}")
    form.role.choices = role_choices()
    if not form.validate_on_submit():
        flash(_("Isian tidak sah."), "error")
        return redirect(url_for("admin.users")), 303
    try:
        accounts.update(user, role=form.role.data, team=form.team.data, active=form.active.data)
    except accounts.AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Akun %(name)s disimpan.", name=user.username), "success")
    return redirect(url_for("admin.users"))


@bp.route("/pengguna/<int:user_id>/kabupaten", methods=["POST"])
def user_regencies(user_id: int):
    """The regencies an account may work in: the ticked ones are granted, the others revoked
    (audited ``regency.grant`` / ``regency.revoke``)."""
    user = _user_or_404(user_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    wanted = set(request.form.getlist("regency"))
    for r in regencies.all_regencies():
        if str(r.id) in wanted:
            regencies.grant(user, r)
        else:
            regencies.revoke(user, r)
    flash(_("Kabupaten untuk %(name)s disimpan.", name=user.username), "success")
    return redirect(url_for("admin.users"))


@bp.route("/kabupaten", methods=["POST"])
def regency_add():
    """Add a regency (the first one added also makes the default regency that holds what the
    installation already had; ``planner regency add`` does the same)."""
    form = RegencyForm()
    if not form.validate_on_submit():
        return _page(error=_("Isian tidak sah."), status=400, regency_form=form)
    try:
        r = regencies.create(form.code.data, form.name.data)
    except regencies.RegencyError as exc:
        return _page(error=str(exc), status=400, regency_form=form)
    flash(_("Kabupaten %(name)s ditambahkan. Beri akses kepada akun yang bekerja di sana.",
            name=r.name), "success")
    return redirect(url_for("admin.users"))


@bp.route("/pengguna/<int:user_id>/sandi", methods=["POST"])
def user_password(user_id: int):
    user = _user_or_404(user_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    password = accounts.generate_password()
    accounts.set_password(user, password)
    return _page(secret=(_("Kata sandi baru untuk %(name)s.", name=user.username), password))


def _filters() -> audit.Filters:
    def day(name):
        try:
            return dt.date.fromisoformat((request.args.get(name) or "").strip())
        except ValueError:
            return None

    return audit.Filters(actor=(request.args.get("actor") or "").strip() or None,
                         action=(request.args.get("action") or "").strip() or None,
                         since=day("since"), until=day("until"))


@bp.route("/audit", endpoint="audit")
def audit_page():
    filters = _filters()
    return render_template("admin/audit.html", events=audit.events(filters), filters=filters,
                           actions=audit.actions(), args=request.args)


@bp.route("/audit.csv")
def audit_csv():
    body = audit.to_csv(audit.events(_filters(), limit=None))
    return ("\ufeff" + body).encode("utf-8"), 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="log-audit.csv"'}
