"""Village attributes where people look at them (``planner.attributes``):

* ``/desa/<code>``: the village page: access, mobile signal, lodging, a note and the stop point
  (GET for the office, POST for coordinators). A stop outside the village polygon is refused
  until the coordinator confirms it.
* ``/desa/<code>/titik``: the map page's draggable stop marker saves here (JSON in, JSON out;
  the page sends its CSRF token in the ``X-CSRFToken`` header). Outside the polygon it answers
  ``{"ok": false, "outside": true, "message": ...}``; the page asks and sends ``confirm: true``.
* ``/desa/saran-akses``: access hints from the geography (islands, villages on a river with no
  road); the coordinator ticks the ones to apply. Nothing changes without that.
* ``/impor/atribut``: the bulk attributes file (CSV/XLSX) from the import page.
"""

from __future__ import annotations

import math

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from .. import attributes, fmt, importer, lifecycle
from . import stops as stops_web
from .common import locale
from .imports import _discard, _save_upload

bp = Blueprint("villages", __name__)

ACCESS_LABELS = {"road": _l("Darat (mobil)"), "river": _l("Sungai (perahu)"),
                 "both": _l("Darat dan sungai")}
ACCESS_SHORT = {"road": _l("darat"), "river": _l("sungai"), "both": _l("darat dan sungai")}
LODGING_LABELS = {"kecamatan_office": _l("Kantor kecamatan"), "puskesmas": _l("Puskesmas"),
                  "guest_house": _l("Penginapan"), "other": _l("Lainnya")}
SOURCE_LABELS = {"default": _l("belum diperiksa (nilai bawaan)"), "file": _l("dari berkas"),
                 "manual": _l("diatur koordinator")}
REASON_LABELS = {
    "island": _l("pulau: batas desanya tidak bersentuhan dengan desa lain"),
    "island_water": _l("hanya bersebelahan dengan desa lain di seberang sungai"),
    "river_no_road": _l("dilalui sungai, tidak tersentuh jalan"),
}


def labels() -> dict:
    return {"access": ACCESS_LABELS, "access_short": ACCESS_SHORT, "lodging": LODGING_LABELS,
            "source": SOURCE_LABELS, "reason": REASON_LABELS}


def _coordinate(low: float, high: float):
    def check(form, field):
        raw = (field.data or "").strip().replace(",", ".").replace("\u2212", "-")
        try:
            value = float(raw)
        except ValueError:
            raise ValidationError(_("Isi angka desimal, mis. -2,5412.")) from None
        if not math.isfinite(value) or not low <= value <= high:
            raise ValidationError(_("Isi angka antara %(min)s dan %(max)s.", min=low, max=high))
        field.parsed = value

    return check


class VillageForm(FlaskForm):
    access = RadioField(_l("Akses"), choices=[SelectChoice(k, v) for k, v in ACCESS_LABELS.items()],
                        validators=[InputRequired(_l("Pilih akses desa."))])
    signal = RadioField(_l("Sinyal seluler"), choices=[SelectChoice("yes", _l("Ada sinyal")),
                                                        SelectChoice("no", _l("Tidak ada sinyal"))],
                        validators=[InputRequired(_l("Pilih ada atau tidak ada sinyal."))])
    lodging = SelectField(_l("Tim dapat menginap di"), choices=[
        SelectChoice(k, v) for k, v in (("", _l("Tidak ada tempat menginap")),
                                        *LODGING_LABELS.items())], validators=[Optional()])
    note = TextAreaField(_l("Catatan"), validators=[
        Optional(), Length(max=attributes.NOTE_MAX_CHARS,
                           message=_l("Catatan paling panjang %(max)d karakter."))])
    stop_lat = StringField(_l("Lintang titik singgah"), validators=[InputRequired(),
                                                                     _coordinate(-90, 90)])
    stop_lon = StringField(_l("Bujur titik singgah"), validators=[InputRequired(),
                                                                   _coordinate(-180, 180)])
    confirm_outside = BooleanField(_l("Ya, titik singgah memang di luar batas desa"))


class AttributesImportForm(FlaskForm):
    attributes_file = FileField(_l("Berkas atribut desa"), validators=[
        FileRequired(_l("Pilih berkas atribut desa.")),
        FileAllowed(["csv", "xlsx"], _l("Format berkas atribut: CSV atau XLSX."))])


def _village_or_404(code: str):
    v = attributes.get(code)
    if v is None:
        abort(404)
    return v


def _problem_text(exc: attributes.AttributeProblem, name: str) -> str:
    if isinstance(exc, attributes.StopOutside):
        return _("Titik singgah berada %(km)s km di luar batas desa %(name)s. Simpan di luar "
                 "batas desa hanya jika memang benar.",
                 km=fmt.decimal(exc.params.get("km", 0), locale(), 1),
                 name=name)
    if exc.reason == "stop_outside_country":
        return _("Titik singgah berada di luar Indonesia.")
    if exc.reason == "stop_invalid":
        return _("Titik singgah harus berupa lintang dan bujur (angka desimal).")
    if exc.reason == "note":
        return _("Catatan paling panjang %(max)d karakter.", max=attributes.NOTE_MAX_CHARS)
    if exc.reason == "unknown_village":
        return _("Desa/kelurahan ini tidak ada.")
    return _("Nilai atribut tidak sah.")


def _fmt_coord(value) -> str:
    return f"{float(value):.6f}".rstrip("0").rstrip(".") if value is not None else ""


# --------------------------------------------------------------------------- the village page
@bp.route("/desa/<code>", methods=["GET", "POST"], endpoint="edit")
def edit(code: str):
    v = _village_or_404(code)
    form = VillageForm()
    error, outside, status = None, False, 200
    if request.method == "GET":
        form.access.data = v.access
        form.signal.data = "no" if v.no_signal else "yes"
        form.lodging.data = v.lodging or ""
        form.note.data = v.note or ""
        form.stop_lat.data = _fmt_coord(v.stop_lat)
        form.stop_lon.data = _fmt_coord(v.stop_lon)
    elif form.validate_on_submit():
        lat, lon = form.stop_lat.parsed, form.stop_lon.parsed
        same = (round(lat, 6) == round(v.stop_lat, 6) and round(lon, 6) == round(v.stop_lon, 6))
        try:
            changed = attributes.update(
                v.code, access=form.access.data, no_signal=form.signal.data == "no",
                lodging=form.lodging.data or None, note=form.note.data,
                stop=attributes.KEEP if same else (lat, lon),
                confirm_outside=bool(form.confirm_outside.data), reviewed=True)
        except attributes.AttributeProblem as exc:
            error, status = _problem_text(exc, v.name), 400
            outside = isinstance(exc, attributes.StopOutside)
        else:
            if changed:
                flash(_("Atribut desa %(name)s disimpan.", name=v.name), "success")
            else:
                flash(_("Tidak ada yang berubah."), "success")
            return redirect(url_for("villages.edit", code=v.code))
    else:
        status = 400
    km = attributes.km_outside(v, v.stop_lat, v.stop_lon)
    return render_template("villages/edit.html", village=v, form=form, error=error,
                           outside=outside or bool(form.confirm_outside.data), labels=labels(),
                           stop_outside_km=km, flag=lifecycle.village_flags().get(v.code),
                           flag_labels={k: str(x) for k, x in stops_web.FLAG_LABELS.items()}), status


@bp.route("/desa/<code>/titik", methods=["POST"], endpoint="stop")
def stop(code: str):
    """The map's stop marker: ``{"lat": .., "lon": .., "confirm": false}`` -> JSON."""
    v = attributes.get(code)
    if v is None:
        return jsonify(ok=False, error=_("Desa/kelurahan ini tidak ada.")), 404
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(ok=False, error=_("Permintaan tidak sah: kirim lintang dan bujur.")), 400
    try:
        lat, lon = float(data.get("lat")), float(data.get("lon"))
    except (TypeError, ValueError):
        return jsonify(ok=False, error=_("Titik singgah harus berupa lintang dan bujur (angka desimal).")), 400
    try:
        attributes.update(v.code, stop=(lat, lon), confirm_outside=data.get("confirm") is True)
    except attributes.StopOutside as exc:
        # a question, not an error: the page asks and sends the stop again with "confirm"
        return jsonify(ok=False, outside=True, km=exc.params.get("km"),
                       message=_problem_text(exc, v.name))
    except attributes.AttributeProblem as exc:
        return jsonify(ok=False, error=_problem_text(exc, v.name)), 400
    return jsonify(ok=True, code=v.code, lat=v.stop_lat, lon=v.stop_lon,
                   message=_("Titik singgah %(name)s disimpan.", name=v.name))


# --------------------------------------------------------------------------- access hints
@bp.route("/desa/saran-akses", methods=["GET", "POST"], endpoint="hints")
def hints():
    lines = attributes.stored_line_layers()
    if request.method == "POST":
        codes = request.form.getlist("code")
        if not codes:
            flash(_("Tidak ada desa yang dipilih; tidak ada yang berubah."), "error")
            return redirect(url_for("villages.hints"))
        try:
            applied = attributes.apply_hints(codes, lines=lines)
        except attributes.AttributeProblem:
            flash(_("Saran akses sudah berubah sejak halaman dibuka; periksa lagi lalu kirim ulang."),
                  "error")
            return redirect(url_for("villages.hints"))
        flash(_("%(n)s desa sekarang berakses sungai.", n=len(applied)), "success")
        return redirect(url_for("villages.hints"))
    return render_template("villages/hints.html", hints=attributes.hints(lines),
                           has_lines=bool(lines["river"] or lines["road"]), labels=labels(),
                           summary=attributes.summary())


# --------------------------------------------------------------------------- the bulk file
@bp.route("/impor/atribut", methods=["POST"], endpoint="import_attributes")
def import_attributes():
    form = AttributesImportForm()
    if not form.validate_on_submit():
        error = " ".join(str(e) for errs in form.errors.values() for e in errs)
        return render_template("villages/import.html", error=error), 400
    try:
        _token, path, original = _save_upload(form.attributes_file.data)
    except importer.ImportProblem as exc:
        return render_template("villages/import.html", error=str(exc)), 503
    try:
        s = attributes.import_attributes(path, filename=original)
    except importer.ImportProblem as exc:
        return render_template("villages/import.html", error=str(exc)), 400
    finally:
        _discard(path)  # whatever happened: success, a problem or a crash
    flash(_("Atribut desa dari %(file)s diimpor: %(rows)s baris, %(n)s desa berubah (akses "
            "%(a)s, sinyal %(s)s, tempat menginap %(l)s, catatan %(c)s).", file=original,
            rows=s["rows"], n=s["changed"], a=s["access"], s=s["no_signal"], l=s["lodging"],
            c=s["note"]), "success")
    return redirect(url_for("imports.index", _anchor="import-attributes"))
