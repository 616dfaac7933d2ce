"""Team bases (``/pangkalan``): the list, a map to place a base by clicking (``peta.html``,
hooked by the page's script), and the add/edit form (``?ubah=<id>``). Removing a base that a
stored plan or a roster team uses shows who uses it and offers to archive it instead.

Thin views over ``planner.roster`` (the same service as ``planner base ...``).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectChoice, StringField

from .. import roster
from . import access
from .common import asset_base, locale, map_labels, map_response

bp = Blueprint("bases", __name__)

VEHICLE_CHOICES = [SelectChoice("car", _l("Mobil")), SelectChoice("boat", _l("Perahu")),
                   SelectChoice("both", _l("Mobil dan perahu (kota dermaga)"))]


class BaseForm(FlaskForm):
    """Checked by ``planner.roster.check_base`` (one set of rules for the page and the CLI)."""

    base_id = HiddenField()
    name = StringField(_l("Nama pangkalan"))
    lat = StringField(_l("Lintang"))
    lon = StringField(_l("Bujur"))
    vehicles = RadioField(_l("Kendaraan yang berangkat dari sini"), choices=VEHICLE_CHOICES,
                          default="car", validate_choice=False)
    default = BooleanField(_l("Pangkalan utama (pilihan pertama di formulir rencana)"))


def add_errors(form, exc: roster.RosterError) -> list[str]:
    """Put the service's problems on the form's fields; the rest are returned."""
    general = []
    for name, msg in exc.problems:
        text = msg.translate(_)
        field = getattr(form, name, None) if name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, text]
        else:
            general.append(text)
    return general


def _posted_base():
    base = roster.get_base(request.form.get("base_id"))
    if base is None:
        abort(404)
    return base


def _page(form: BaseForm | None = None, *, editing=None, in_use=None, problems=(), status=200):
    can_change = access.can("bases.index", "POST")
    if form is None and can_change:
        form = BaseForm()
    return render_template(
        "bases/index.html", form=form if can_change else None, editing=editing,
        bases=roster.list_bases(), usage=roster.usage_counts(), in_use=in_use,
        problems=list(problems), vehicle_label=lambda v: roster.vehicle_label(v).translate(_),
        in_use_message=in_use.messages(_)[0] if in_use is not None else None,
    ), status


@bp.route("/pangkalan", methods=["GET", "POST"])
def index():
    if request.method == "GET":
        editing = roster.get_base(request.args.get("ubah")) if request.args.get("ubah") else None
        form = None
        if editing is not None and access.can("bases.index", "POST"):
            form = BaseForm(data={"base_id": editing.id, "name": editing.name,
                                  "lat": f"{editing.lat:.6f}".rstrip("0").rstrip("."),
                                  "lon": f"{editing.lon:.6f}".rstrip("0").rstrip("."),
                                  "vehicles": editing.vehicles, "default": editing.is_default})
        return _page(form, editing=editing)
    form = BaseForm()
    editing = None
    if form.base_id.data:
        editing = roster.get_base(form.base_id.data)
        if editing is None:
            abort(404)
    if not form.validate_on_submit():
        return _page(form, editing=editing, status=400)
    lat, lon = roster.parse_number(form.lat.data), roster.parse_number(form.lon.data)
    try:
        if editing is None:
            base = roster.create_base(form.name.data, lat, lon, form.vehicles.data,
                                      default=bool(form.default.data))
            flash(_("Pangkalan %(name)s ditambahkan.", name=base.name), "success")
        else:
            base = roster.update_base(editing, name=form.name.data, lat=lat, lon=lon,
                                      vehicles=form.vehicles.data,
                                      default=True if form.default.data else None)
            flash(_("Pangkalan %(name)s disimpan.", name=base.name), "success")
    except roster.RosterError as exc:
        problems = add_errors(form, exc)
        return _page(form, editing=editing, problems=problems, status=400)
    return redirect(url_for("bases.index"))


@bp.route("/pangkalan/hapus", methods=["POST"])
def remove():
    base = _posted_base()
    name = base.name
    try:
        roster.remove_base(base)
    except roster.BaseInUse as exc:
        return _page(in_use=exc, status=409)
    flash(_("Pangkalan %(name)s dihapus.", name=name), "success")
    return redirect(url_for("bases.index"))


@bp.route("/pangkalan/arsip", methods=["POST"])
def archive():
    base = _posted_base()
    roster.archive_base(base)
    flash(_("Pangkalan %(name)s diarsipkan: tidak ditawarkan lagi untuk rencana baru.",
            name=base.name), "success")
    return redirect(url_for("bases.index"))


@bp.route("/pangkalan/aktifkan", methods=["POST"])
def restore():
    base = _posted_base()
    roster.restore_base(base)
    flash(_("Pangkalan %(name)s aktif lagi.", name=base.name), "success")
    return redirect(url_for("bases.index"))


@bp.route("/pangkalan/utama", methods=["POST"])
def make_default():
    base = _posted_base()
    try:
        roster.make_default(base)
    except roster.RosterError as exc:
        return _page(problems=exc.messages(_), status=400)
    flash(_("Pangkalan %(name)s kini pangkalan utama.", name=base.name), "success")
    return redirect(url_for("bases.index"))


@bp.route("/pangkalan/peta.html")
def map_document():
    """The map of the bases page (an iframe; the page's script adds the click handler)."""
    return map_response(roster.bases_map(asset_base=asset_base(), labels=map_labels(),
                                         locale=locale()))
