"""Logging in and out, and changing one's own password (``/masuk``, ``/keluar``,
``/akun/sandi``). Accounts themselves are managed by admins (``planner.web.admin``) and the
``planner user`` commands; both go through ``planner.accounts``."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

from .. import accounts, audit
from ..extensions import db, limiter, login_manager
from .access import home_endpoint

bp = Blueprint("auth", __name__)


class SessionUser(UserMixin):
    """The logged-in account as the request sees it (a copy of the row's public fields)."""

    def __init__(self, row):
        self.id = row.id
        self.username = row.username
        self.role = row.role
        self.team = row.team
        self.session_version = row.session_version

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"


@login_manager.user_loader
def load_user(session_id: str):
    try:
        user_id, version = (int(x) for x in str(session_id).split("."))
    except ValueError:
        return None
    row = accounts.get(user_id)
    if row is None or not row.active or row.session_version != version:
        return None  # disabled, or password/role changed since: the session ends
    return SessionUser(row)


class LoginForm(FlaskForm):
    username = StringField(_l("Nama pengguna"), validators=[InputRequired(), Length(max=80)])
    password = PasswordField(_l("Kata sandi"), validators=[InputRequired(), Length(max=200)])
    next = HiddenField()


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Kata sandi sekarang"), validators=[InputRequired()])
    new = PasswordField(_l("Kata sandi baru"), validators=[
        InputRequired(), Length(min=accounts.MIN_PASSWORD, max=200,
                                message=_l("Kata sandi minimal %(n)s karakter.", n=accounts.MIN_PASSWORD))])
    confirm = PasswordField(_l("Ulangi kata sandi baru"), validators=[
        InputRequired(), EqualTo("new", message=_l("Kedua kata sandi baru tidak sama."))])


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no host): never an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_limit() -> str:
    return current_app.config.get("LOGIN_RATE_LIMIT", "10 per minute")


@bp.route("/masuk", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint()))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status = 200
    if form.validate_on_submit():
        row = accounts.authenticate(form.username.data, form.password.data)
        if row is not None:
            session.clear()
            session.permanent = True
            login_user(SessionUser(row))
            accounts.note_login(row)
            return redirect(_safe_next(form.next.data) or url_for(home_endpoint()))
        audit.record("login.failed", f"user {form.username.data[:80]}",
                     actor=audit.Actor(None, "anonymous"))
        db.session.commit()
        flash(_("Nama pengguna atau kata sandi salah."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/keluar", methods=["POST"])
def logout():
    audit.record("logout", f"user {current_user.username}")
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("Anda sudah keluar."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/akun/sandi", methods=["GET", "POST"])
def password():
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        row = accounts.get(current_user.id)
        if accounts.authenticate(row.username, form.current.data) is None:
            form.current.errors.append(_("Kata sandi sekarang salah."))
            status = 400
        else:
            try:
                accounts.set_password(row, form.new.data)
            except accounts.AccountError as exc:
                form.new.errors.append(str(exc))
                status = 400
            else:
                login_user(SessionUser(row))  # this session continues; the others end
                flash(_("Kata sandi diganti. Sesi lain akun ini sudah berakhir."), "success")
                return redirect(url_for(home_endpoint()))
    elif request.method == "POST":
        status = 400
    return render_template("auth/password.html", form=form), status
