"""The team roster (``/tim``): the office's teams, kept rather than retyped for every plan —
name, leader and phone, members, vehicle, recording kits, home base and the nights away it
may take. List, add, edit (``?ubah=<id>``), archive and restore; the plan form picks from it.

Thin views over ``planner.roster`` (the same service as ``planner team ...``).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField

from .. import roster
from . import access
from .bases import add_errors

bp = Blueprint("teams", __name__)

VEHICLE_CHOICES = [SelectChoice("car", _l("Mobil (jalan darat)")),
                   SelectChoice("boat", _l("Perahu (sungai)")),
                   SelectChoice("both", _l("Mobil dan perahu"))]


class TeamForm(FlaskForm):
    """Checked by ``planner.roster.check_team`` (one set of rules for the page and the CLI)."""

    team_id = HiddenField()
    name = StringField(_l("Nama tim"))
    leader = StringField(_l("Ketua tim"))
    phone = StringField(_l("Telepon ketua"))
    members = TextAreaField(_l("Anggota"))
    vehicle = SelectField(_l("Kendaraan"), choices=VEHICLE_CHOICES, default="car",
                          validate_choice=False)
    kits = StringField(_l("Perangkat rekam"), default="3")
    base_id = SelectField(_l("Pangkalan"), validate_choice=False)
    max_nights = StringField(_l("Maks. malam"), default="0")


def _form(formdata=True, **data) -> TeamForm:
    form = TeamForm(**data) if formdata else TeamForm(formdata=None, **data)
    bases = roster.active_bases()
    form.base_id.choices = [SelectChoice(str(b.id), b.name) for b in bases]
    if not form.base_id.data and bases:
        form.base_id.data = str(bases[0].id)
    return form


def _page(form: TeamForm | None = None, *, editing=None, problems=(), status=200):
    can_change = access.can("teams.index", "POST")
    if form is None and can_change:
        form = _form()
    bases = {b.id: b for b in roster.list_bases()}
    return render_template(
        "teams/index.html", form=form if can_change else None, editing=editing,
        teams=roster.list_teams(include_archived=True), bases=bases, problems=list(problems),
        vehicle_label=lambda v: roster.vehicle_label(v).translate(_),
    ), status


def _posted_team():
    team = roster.get_team(request.form.get("team_id"))
    if team is None:
        abort(404)
    return team


@bp.route("/tim", methods=["GET", "POST"])
def index():
    if request.method == "GET":
        editing = roster.get_team(request.args.get("ubah")) if request.args.get("ubah") else None
        form = None
        if editing is not None and access.can("teams.index", "POST"):
            form = _form(formdata=False, data={
                "team_id": editing.id, "name": editing.name, "leader": editing.leader or "",
                "phone": editing.phone or "", "members": editing.members or "",
                "vehicle": editing.vehicle, "kits": str(editing.kits),
                "base_id": str(editing.base_id or ""), "max_nights": str(editing.max_nights)})
        return _page(form, editing=editing)
    form = _form()
    editing = None
    if form.team_id.data:
        editing = roster.get_team(form.team_id.data)
        if editing is None:
            abort(404)
    if not form.validate_on_submit():
        return _page(form, editing=editing, status=400)
    values = {k: getattr(form, k).data for k in roster.TEAM_FIELDS}
    try:
        if editing is None:
            team = roster.create_team(**values)
            flash(_("%(name)s ditambahkan ke daftar tim.", name=team.name), "success")
        else:
            team = roster.update_team(editing, **values)
            flash(_("%(name)s disimpan.", name=team.name), "success")
    except roster.RosterError as exc:
        return _page(form, editing=editing, problems=add_errors(form, exc), status=400)
    return redirect(url_for("teams.index"))


@bp.route("/tim/arsip", methods=["POST"])
def archive():
    team = _posted_team()
    roster.archive_team(team)
    flash(_("%(name)s diarsipkan: tidak ditawarkan lagi untuk rencana baru.",
            name=team.name), "success")
    return redirect(url_for("teams.index"))


@bp.route("/tim/aktifkan", methods=["POST"])
def restore():
    team = _posted_team()
    try:
        roster.restore_team(team)
    except roster.RosterError as exc:
        return _page(problems=exc.messages(_), status=409)
    flash(_("%(name)s aktif lagi.", name=team.name), "success")
    return redirect(url_for("teams.index"))
