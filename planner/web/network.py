"""The road and river network (``/jaringan``): the layers travel follows (upload, replace,
delete), a small map of them, the piers (add by coordinates or a click on the map, accept a
suggestion, remove), the river mouths; and the calibration page (``/jaringan/kalibrasi``:
known legs beside the model's minutes, one click fits the class speeds).

Thin views over ``planner.networks`` (the same service as ``planner import-network``, ``planner
network ...``, ``planner calibrate``) and ``planner.network_admin``. Uploads go through the
import page's machinery (``planner.web.imports``: the uploads folder and its cap, the sandboxed
readers with their size, memory and time limits); every file is checked completely before
anything is written.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, HiddenField, RadioField, SelectChoice, StringField
from wtforms.validators import Length, Optional

from .. import importer, networks
from .. import network as netmod
from .. import network_admin as admin
from ..importer import sandbox
from ..importer.legs import MAX_LEGS, legs_from_rows
from ..importer.network import frame_summary_line
from ..msg import text as msg_text
from ..travel import INF_MIN
from . import access
from .common import asset_base, locale, map_labels, map_response
from .imports import BOUNDARY_EXTENSIONS, _discard, _form_errors, _save_upload

bp = Blueprint("network", __name__, url_prefix="/jaringan")

LEG_EXTENSIONS = ["csv", "xlsx"]
BLANK_ROWS = 3


class LayerForm(FlaskForm):
    file = FileField(_l("Berkas lapisan"), validators=[
        FileRequired(_l("Pilih berkas lapisan.")),
        FileAllowed(BOUNDARY_EXTENSIONS, _l("Format lapisan: GeoJSON, Shapefile dalam .zip, atau "
                                            "GeoPackage (.gpkg).")),
    ])
    kind = RadioField(_l("Jenis lapisan"), default="road", choices=[
        SelectChoice("road", _l("Jalan (garis)")), SelectChoice("river", _l("Sungai (garis)")),
        SelectChoice("pier", _l("Dermaga (titik)"))])
    name = StringField(_l("Nama lapisan (opsional)"), validators=[Optional(), Length(max=200)])
    replace = HiddenField()
    confirm_replace = BooleanField(_l("Ya, ganti lapisan ini (lapisan lama dihapus setelah berkas "
                                      "baru lolos pemeriksaan)"))


class LegsFileForm(FlaskForm):
    legs_file = FileField(_l("Berkas waktu tempuh (CSV atau XLSX)"), validators=[
        FileRequired(_l("Pilih berkas waktu tempuh.")),
        FileAllowed(LEG_EXTENSIONS, _l("Format waktu tempuh: CSV atau XLSX.")),
    ])


def _kind_labels() -> dict[str, str]:
    return {"road": _("Jalan"), "river": _("Sungai"), "pier": _("Dermaga")}


def _mode_labels() -> dict[str, str]:
    return {"road": _("mobil"), "river": _("perahu"), "both": _("mobil dan perahu")}


def _t(message) -> str:
    return msg_text(message, _, locale())


def _replacing(value):
    """The layer a replace form names (None: a new layer)."""
    if not value:
        return None
    try:
        layer_id = int(value)
    except (TypeError, ValueError):
        return None
    return next((r for r in networks.list_layers() if r["id"] == layer_id), None)


def _page(form: LayerForm | None = None, *, error: str | None = None, pier_error: str | None = None,
          mouth_error: str | None = None, pier_values: dict | None = None, status: int = 200):
    can_change = access.can("network.upload", "POST")
    replacing = None
    if can_change:
        if form is None:
            form = LayerForm(formdata=None)
            replacing = _replacing(request.args.get("ganti"))
            if replacing is not None:
                form.replace.data = str(replacing["id"])
                form.kind.data = replacing["kind"]
                form.name.data = replacing["name"]
        else:
            replacing = _replacing(form.replace.data)
    sug, why = admin.suggestions()
    value = networks.network_settings()
    return render_template(
        "network/index.html", form=form if can_change else None, can_change=can_change,
        layers=networks.list_layers(), replacing=replacing, error=error,
        piers=admin.piers(), suggestions=sug.to_dict("records"),
        suggest_reason=_t(why) if why is not None else None, suggest_km=admin.max_suggest_km(),
        mouths=admin.mouths(), settings=value, calibration=value.get("calibration"),
        pier_error=pier_error, mouth_error=mouth_error, pier_values=pier_values or {},
        kind_labels=_kind_labels(), summary_line=frame_summary_line, iso=networks.iso,
        manual_layer=admin.MANUAL_LAYER,
    ), status


# --------------------------------------------------------------------------- layers
@bp.route("", methods=["GET"])
def index():
    return _page()


@bp.route("/unggah", methods=["POST"])
def upload():
    form = LayerForm()
    if not form.validate_on_submit():
        return _page(form, error=_form_errors(form), status=400)
    replacing = None
    if form.replace.data:
        replacing = _replacing(form.replace.data)
        if replacing is None:
            return _page(form, error=_("Lapisan yang akan diganti tidak ada lagi (mungkin sudah "
                                       "dihapus). Unggah sebagai lapisan baru."), status=400)
        if not form.confirm_replace.data:
            return _page(form, error=_("Centang \"Ya, ganti lapisan ini\" untuk mengganti lapisan "
                                       "%(name)s.", name=replacing["name"]), status=400)
    kind = replacing["kind"] if replacing else form.kind.data
    try:
        _token, path, original = _save_upload(form.file.data)
    except importer.ImportProblem as exc:
        return _page(form, error=str(exc), status=503)
    try:
        s = networks.import_layer(
            path, kind=kind, filename=original,
            name=replacing["name"] if replacing else ((form.name.data or "").strip() or None),
            replace=replacing is not None)
    except importer.ImportProblem as exc:
        return _page(form, error=_("Berkas tidak diimpor; tidak ada yang disimpan. %(why)s",
                                   why=str(exc)), status=400)
    finally:
        _discard(path)  # whatever happened: success, a problem or a crash
    flash(_("Lapisan %(kind)s \"%(name)s\" dari %(file)s diimpor: %(what)s.",
            kind=_kind_labels()[kind].lower(), name=s["name"], file=original,
            what=frame_summary_line(s["summary"])), "success")
    if s["replaced"]:
        flash(_("Lapisan lama diganti."), "success")
    return redirect(url_for("network.index"))


@bp.route("/hapus", methods=["POST"])
def remove():
    layer = _replacing(request.form.get("layer_id"))
    if layer is None:
        flash(_("Lapisan itu tidak ada lagi (mungkin sudah dihapus)."), "error")
        return redirect(url_for("network.index"))
    if request.form.get("confirm") != "1":
        return render_template("network/remove.html", layer=layer, kind_labels=_kind_labels(),
                               summary_line=frame_summary_line)
    try:
        info = networks.remove_layer(layer["id"])
    except LookupError:
        flash(_("Lapisan itu tidak ada lagi (mungkin sudah dihapus)."), "error")
        return redirect(url_for("network.index"))
    flash(_("Lapisan \"%(name)s\" dihapus.", name=info["name"]), "success")
    return redirect(url_for("network.index"))


@bp.route("/peta.html")
def map_document():
    """The network map (an iframe; the page's script adds the click handler)."""
    return map_response(admin.layers_map(asset_base=asset_base(), labels=map_labels(),
                                         locale=locale(), gettext=_))


# --------------------------------------------------------------------------- piers and mouths
@bp.route("/dermaga", methods=["POST"])
def pier_add():
    values = {k: request.form.get(k, "")[:200] for k in ("lat", "lon", "name")}
    try:
        p = admin.add_pier(values["lat"], values["lon"], values["name"] or None)
    except admin.NetworkEditError as exc:
        return _page(pier_error=_t(exc.msg), pier_values=values, status=400)
    flash(_("Dermaga \"%(name)s\" ditambahkan.", name=p["name"]), "success")
    return redirect(url_for("network.index", _anchor="piers"))


@bp.route("/dermaga/terima", methods=["POST"])
def pier_accept():
    """Accept one suggestion (``lat``, ``lon``) or all of them (``all=1``)."""
    if request.form.get("all") == "1":
        sug, why = admin.suggestions()
        if why is not None or not len(sug):
            return _page(pier_error=_t(why) if why is not None else _("Tidak ada usulan dermaga."),
                         status=400)
        added = 0
        for r in sug.itertuples():
            try:
                admin.add_pier(r.lat, r.lon, suggested=True)
                added += 1
            except admin.NetworkEditError:
                continue  # two suggestions at one landing: the first one stands
        flash(_("%(n)s usulan dermaga diterima.", n=added), "success")
        return redirect(url_for("network.index", _anchor="piers"))
    try:
        p = admin.add_pier(request.form.get("lat", "")[:40], request.form.get("lon", "")[:40],
                           suggested=True)
    except admin.NetworkEditError as exc:
        return _page(pier_error=_t(exc.msg), status=400)
    flash(_("Usulan dermaga diterima sebagai \"%(name)s\".", name=p["name"]), "success")
    return redirect(url_for("network.index", _anchor="piers"))


@bp.route("/dermaga/hapus", methods=["POST"])
def pier_remove():
    try:
        gone = admin.remove_pier(request.form.get("layer_id"), request.form.get("index"))
    except admin.NetworkEditError as exc:
        return _page(pier_error=_t(exc.msg), status=400)
    flash(_("Dermaga \"%(name)s\" dihapus.", name=gone["name"]), "success")
    return redirect(url_for("network.index", _anchor="piers"))


@bp.route("/muara", methods=["POST"])
def mouth():
    """Mark a river mouth (``lat``, ``lon``), forget one (``remove=<index>``) or all
    (``clear=1``): downstream runs towards the marked mouths."""
    try:
        if request.form.get("clear") == "1":
            networks.set_mouths([])
            networks.clear_cache()
            flash(_("Tanda muara dihapus: arah arus mengikuti arah gambar garis sungai."), "success")
        elif request.form.get("remove") is not None:
            admin.remove_mouth(request.form.get("remove"))
            flash(_("Tanda muara dihapus."), "success")
        else:
            a, b = admin.add_mouth(request.form.get("lat", "")[:40], request.form.get("lon", "")[:40])
            flash(_("Muara ditandai di %(lat)s, %(lon)s: hilir mengarah ke sana.",
                    lat=format(a, ".5f"), lon=format(b, ".5f")), "success")
    except admin.NetworkEditError as exc:
        return _page(mouth_error=_t(exc.msg), status=400)
    return redirect(url_for("network.index", _anchor="mouths"))


# --------------------------------------------------------------------------- calibration
def _typed_rows() -> list[list[str]]:
    cols = [request.form.getlist(k)[:MAX_LEGS + 1] for k in admin.FORM_HEADER]
    n = max((len(c) for c in cols), default=0)
    rows = []
    for i in range(n):
        row = [(c[i] if i < len(c) else "")[:100].strip() for c in cols]
        if not (row[0] or row[1] or row[3]):  # an empty line (its mode select always has a value)
            row = ["", "", "", ""]
        rows.append(row)
    return rows


def _rows_of(legs) -> list[dict]:
    return [{"from": r["from"], "to": r["to"], "mode": r["mode"],
             "minutes": f"{r['minutes']:g}"} for r in legs.to_dict("records")]


def _calibration_page(*, rows=None, table=None, error=None, fitted=None, source="", status=200):
    value = networks.network_settings()
    speeds = networks.speeds(value)
    rows = list(rows or [])
    points = networks.known_points()
    shown = rows + [{"from": "", "to": "", "mode": "road", "minutes": ""}] * BLANK_ROWS
    return render_template(
        "network/calibration.html", rows=shown, table=table, error=error, fitted=fitted,
        source=source, file_form=LegsFileForm(formdata=None) if access.can(
            "network.calibration", "POST") else None,
        has_network=any(r["kind"] in ("road", "river") for r in networks.list_layers()),
        speed_rows=admin.speed_rows(speeds), calibration=value.get("calibration"),
        mode_labels=_mode_labels(), kind_labels=_kind_labels(),
        places=points.to_dict("records")[:3000], max_legs=MAX_LEGS,
        rmse=admin.rmse(table["error"][table["on_network"]]) if table is not None else None,
    ), status


@bp.route("/kalibrasi", methods=["GET", "POST"])
def calibration():
    if request.method == "GET":
        return _calibration_page()
    action = request.form.get("action") or "compare"
    source = request.form.get("source", "")[:200]
    if action == "upload":
        form = LegsFileForm()
        if not form.validate_on_submit():
            return _calibration_page(error=_form_errors(form), status=400)
        try:
            _token, path, original = _save_upload(form.legs_file.data)
        except importer.ImportProblem as exc:
            return _calibration_page(error=str(exc), status=503)
        try:
            legs = sandbox.run("legs", (str(path), original), filename=original)
        except importer.ImportProblem as exc:
            return _calibration_page(error=_("Berkas tidak dibaca. %(why)s", why=str(exc)),
                                     status=400)
        finally:
            _discard(path)
        source = original
    else:
        rows = _typed_rows()
        if not any(any(c for c in r) for r in rows):
            return _calibration_page(error=_("Isi paling sedikit satu perjalanan (dari, ke, moda, "
                                             "menit) atau unggah berkas."), status=400)
        try:
            legs = legs_from_rows(rows, filename=None, header=admin.FORM_HEADER)
        except importer.ImportProblem as exc:
            typed = [dict(zip(("from", "to", "mode", "minutes"), r, strict=True)) for r in rows
                     if any(r)]
            return _calibration_page(rows=typed, error=_("Tabel perlu diperbaiki: %(why)s",
                                                         why=str(exc)), source=source, status=400)
    rows = _rows_of(legs)
    try:
        if action == "fit":
            cal, before = admin.fit(legs, file=source or None)
            t = cal.table.copy()
            for col, ref in (("before", "before"), ("error_before", "before"),
                             ("after", "after"), ("error_after", "after")):
                t[col] = t[col].where(cal.table[ref] < INF_MIN)
            table = t.assign(model=t["after"], error=t["error_after"])
            fitted = {"before": before, "after": cal.speeds, "rmse_before": cal.rmse_before,
                      "rmse_after": cal.rmse_after, "rows": admin.speed_rows(
                          before, cal.speeds, keys=set(cal.factors)), "legs": int(t["on_network"].sum())}
            flash(_("Kecepatan per kelas disesuaikan dan disimpan: rencana baru memakainya."),
                  "success")
            return _calibration_page(rows=rows, table=table, fitted=fitted, source=source)
        table = admin.compare(legs)
    except admin.NetworkEditError as exc:
        return _calibration_page(rows=rows, error=_t(exc.msg), source=source, status=400)
    except netmod.NetworkError as exc:
        return _calibration_page(rows=rows, error=str(exc), source=source, status=400)
    return _calibration_page(rows=rows, table=table, source=source)
