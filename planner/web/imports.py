"""Data import: the upload page (/impor) and the ``planner import-villages`` /
``planner import-recap`` commands. Both go through ``planner.importer``: the file is validated
completely, then written in one transaction; any problem comes back as one paragraph naming
file, row and column, and nothing is written."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import shutil
import time
from pathlib import Path

import click
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.utils import secure_filename
from wtforms import BooleanField, DateField, HiddenField, StringField
from wtforms.validators import Optional

from .. import importer, repository

bp = Blueprint("imports", __name__, cli_group=None)

BOUNDARY_EXTENSIONS = ["geojson", "json", "zip", "gpkg"]
RECAP_EXTENSIONS = ["csv", "xlsx"]
PENDING_MAX_AGE_S = 24 * 3600
_TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")


class VillagesForm(FlaskForm):
    file = FileField(_l("Berkas batas desa"), validators=[
        FileRequired(_l("Pilih berkas batas desa.")),
        FileAllowed(BOUNDARY_EXTENSIONS, _l("Format batas desa: GeoJSON, Shapefile dalam .zip, atau GeoPackage (.gpkg).")),
    ])
    fictional = BooleanField(_l("Data fiktif (contoh/latihan)"))


class RecapForm(FlaskForm):
    file = FileField(_l("Berkas rekap"), validators=[
        FileAllowed(RECAP_EXTENSIONS, _l("Format rekap: CSV atau XLSX.")),
    ])
    name = StringField(_l("Nama data (opsional)"), validators=[Optional()])
    snapshot_date = DateField(_l("Per tanggal (opsional)"), validators=[Optional()])
    synthetic = BooleanField(_l("Angka sintetis (bukan data resmi)"))
    pending = HiddenField()


# --------------------------------------------------------------------------- uploads
def _upload_root() -> Path:
    root = Path(current_app.instance_path) / "uploads"
    root.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for d in root.iterdir():  # forget abandoned uploads
        try:
            if d.is_dir() and now - d.stat().st_mtime > PENDING_MAX_AGE_S:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass
    return root


def _save_upload(storage) -> tuple[str, Path, str]:
    """Save an upload under instance/uploads/<token>/; returns (token, path, original name)."""
    original = Path(storage.filename or "upload").name or "upload"
    ext = Path(original).suffix.lower()
    safe = secure_filename(original) or f"upload{ext}"
    if not safe.lower().endswith(ext):
        safe += ext
    token = secrets.token_hex(16)
    folder = _upload_root() / token
    folder.mkdir()
    path = folder / safe
    storage.save(path)
    (folder / "meta.json").write_text(json.dumps({"original": original, "file": safe}))
    return token, path, original


def _pending(token: str) -> tuple[Path, str] | None:
    if not token or not _TOKEN_RE.match(token):
        return None
    folder = _upload_root() / token
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    path = folder / secure_filename(meta.get("file", ""))
    return (path, meta.get("original") or path.name) if path.is_file() else None


def _discard(path: Path | None) -> None:
    if path is not None:
        shutil.rmtree(path.parent, ignore_errors=True)


def _status() -> dict:
    from sqlalchemy import func, select

    from ..extensions import db
    from ..models import Village

    return {"villages": db.session.scalar(select(func.count(Village.id))) or 0,
            "dataset": repository.current_dataset()}


def _page(vform, rform, *, error=None, suggestions=None, status=200):
    return render_template(
        "imports/index.html", vform=vform, rform=rform, error=error, suggestions=suggestions or [],
        status=_status(), aliases=importer.COLUMN_ALIASES, old_spellings=importer.OLD_SPELLINGS,
    ), status


def _form_errors(form) -> str:
    return " ".join(str(e) for errs in form.errors.values() for e in errs)


# --------------------------------------------------------------------------- pages
@bp.route("/impor", methods=["GET"])
def index():
    return _page(VillagesForm(prefix="v"), RecapForm(prefix="r"))


@bp.route("/impor/batas", methods=["POST"])
def villages():
    vform, rform = VillagesForm(prefix="v"), RecapForm(formdata=None, prefix="r")
    if not vform.validate_on_submit():
        return _page(vform, rform, error=_form_errors(vform), status=400)
    _token, path, original = _save_upload(vform.file.data)
    try:
        summary = importer.import_villages(path, filename=original, fictional=vform.fictional.data)
    except importer.ImportProblem as exc:
        return _page(vform, rform, error=str(exc), status=400)
    finally:
        _discard(path)
    flash(_("Batas desa dari %(file)s diimpor: %(n)s desa/kelurahan (%(new)s baru, %(upd)s diperbarui) di %(k)s kecamatan.",
            file=original, n=summary["villages"], new=summary["created"], upd=summary["updated"],
            k=summary["kecamatan"]), "success")
    return redirect(url_for("gap.index"))


@bp.route("/impor/rekap", methods=["POST"])
def recap():
    vform, rform = VillagesForm(formdata=None, prefix="v"), RecapForm(prefix="r")
    if not rform.validate_on_submit():
        return _page(vform, rform, error=_form_errors(rform), status=400)
    pending = _pending(rform.pending.data) if not rform.file.data else None
    if rform.file.data:
        _token, path, original = _save_upload(rform.file.data)
    elif pending:
        path, original = pending
    else:
        return _page(vform, rform, error=_("Pilih berkas rekap."), status=400)
    confirm = {}
    for item in request.form.getlist("confirm"):
        row, _sep, code = item.partition("=")
        if row.strip().isdigit() and code.strip():
            confirm[row.strip()] = code.strip()
    try:
        ds = importer.import_recap(
            path, filename=original, name=(rform.name.data or "").strip() or None,
            snapshot_date=rform.snapshot_date.data, synthetic=rform.synthetic.data,
            confirm=confirm or None)
    except importer.ImportProblem as exc:
        if exc.suggestions:
            rform.pending.data = path.parent.name  # keep the file for the confirmation
            return _page(vform, rform, error=str(exc), suggestions=exc.suggestions, status=400)
        _discard(path)
        return _page(vform, rform, error=str(exc), status=400)
    _discard(path)
    flash(_("Rekap %(file)s diimpor sebagai data \"%(name)s\" per %(date)s.",
            file=original, name=ds.name, date=ds.snapshot_date.isoformat()), "success")
    return redirect(url_for("gap.index"))


# --------------------------------------------------------------------------- CLI
def _parse_confirm(values) -> dict[str, str]:
    confirm = {}
    for item in values:
        key, sep, code = item.partition("=")
        if not sep or not key.strip() or not code.strip():
            raise click.BadParameter(f"'{item}' is not ROW=CODE (e.g. 12=99.01.15.2004)",
                                     param_hint="--confirm")
        confirm[key.strip()] = code.strip()
    return confirm


@bp.cli.command("import-villages")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--fictional", is_flag=True, help="Mark these villages as fictional (demo/training data).")
def import_villages_command(file: Path, fictional: bool):
    """Import village boundaries (GeoJSON, zipped Shapefile or GeoPackage)."""
    try:
        s = importer.import_villages(file, filename=file.name, fictional=fictional)
    except importer.ImportProblem as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{s['file']}: {s['villages']} villages in {s['kecamatan']} kecamatan "
               f"({s['created']} new, {s['updated']} updated; {s['points']} as points, "
               f"{s['repaired']} geometries repaired).")


@bp.cli.command("import-recap")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="Dataset name (default: the file name).")
@click.option("--date", "date_", default=None, help="Snapshot date YYYY-MM-DD (default: today).")
@click.option("--confirm", multiple=True, metavar="ROW=CODE",
              help="Accept a suggested match: recap row (or name) = village code. Repeatable.")
@click.option("--synthetic", is_flag=True, help="The figures are generated, not official.")
@click.option("--fictional", is_flag=True, help="The data is fictional (demo/training).")
def import_recap_command(file: Path, name, date_, confirm, synthetic: bool, fictional: bool):
    """Import a recording recap (CSV or XLSX) as a new dataset."""
    snapshot = None
    if date_:
        try:
            snapshot = dt.date.fromisoformat(date_)
        except ValueError:
            raise click.BadParameter(f"'{date_}' is not a date YYYY-MM-DD", param_hint="--date") from None
    try:
        ds = importer.import_recap(file, filename=file.name, name=name, snapshot_date=snapshot,
                                   synthetic=synthetic, fictional=fictional,
                                   confirm=_parse_confirm(confirm) or None)
    except importer.ImportProblem as exc:
        raise click.ClickException(str(exc)) from None
    t = repository.villages_frame(ds)
    click.echo(f"{file.name}: dataset \"{ds.name}\" ({ds.snapshot_date}) with {len(t)} villages; "
               f"population {int(t['population'].sum()):,}, obliged {int(t['obliged'].sum()):,}, "
               f"recorded {int(t['recorded'].sum()):,}. Matched by: "
               + ", ".join(f"{k} {v}" for k, v in sorted(ds.join_counts.items())) + ".")
    if ds.unmatched_villages:
        click.echo(f"Note: {len(ds.unmatched_villages)} villages are not in this recap "
                   "and have no figures in this dataset.")
