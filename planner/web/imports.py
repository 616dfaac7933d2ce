"""Data import: the upload page (/impor). Like ``planner import-villages`` / ``planner
import-recap`` (``planner.cli.data``) it goes through ``planner.importer``: the file is validated
completely, then written in one transaction; any problem comes back as one paragraph naming
file, row and column, and nothing is written."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from pathlib import Path

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

from .. import importer, jobs, repository

bp = Blueprint("imports", __name__)

BOUNDARY_EXTENSIONS = ["geojson", "json", "zip", "gpkg"]
RECAP_EXTENSIONS = ["csv", "xlsx"]
PENDING_MAX_AGE_S = 24 * 3600      # an upload kept for a confirmation is forgotten after a day
PENDING_MAX_MB = 256               # instance/uploads in all (uploads being imported + kept ones)
PENDING_EVICT_AFTER_S = 3600       # over the cap, kept uploads older than this make room first
PARTIAL_MAX_AGE_S = 600            # a folder without meta.json (a save that broke off)
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
# An upload lives in instance/uploads/<token>/ only while it is imported; it stays there after
# the import only when the recap needs the user's confirmation (similar names). Every other
# outcome (success, a problem, a crash) removes it. The folder is capped at PENDING_MAX_MB:
# when a new upload would not fit, kept uploads older than PENDING_EVICT_AFTER_S make room,
# and if that is not enough the upload is refused with a message (503), never a 500.
def _folder_bytes(folder: Path) -> int:
    total = 0
    try:
        for entry in os.scandir(folder):
            if entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
    except OSError:
        pass
    return total


def _upload_root() -> Path:
    root = Path(current_app.instance_path) / "uploads"
    root.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for d in root.iterdir():  # forget abandoned uploads, and saves that broke off
        try:
            if not d.is_dir() or d.is_symlink():
                continue
            age = now - d.stat().st_mtime
            if age > PENDING_MAX_AGE_S or (age > PARTIAL_MAX_AGE_S and not (d / "meta.json").exists()):
                shutil.rmtree(d, ignore_errors=True)
            elif _orphaned(d):
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass
    return root


def _orphaned(folder: Path) -> bool:
    """An upload being imported by a process that is gone (killed mid-import): nobody will
    discard it. Uploads kept for a confirmation belong to no process and stay (a day)."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    owner = meta.get("owner")
    return bool(owner) and not meta.get("kept") and jobs.worker_alive(owner) is False


def _keep(path: Path) -> None:
    """Hand an upload over to a later request (a confirmation): no process owns it now."""
    meta_path = path.parent / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
        meta.update(kept=True, owner=None)
        meta_path.write_text(json.dumps(meta))
    except (OSError, ValueError):
        pass


def _make_room(root: Path, incoming: int, original: str) -> None:
    """Room for ``incoming`` bytes under the cap, or an ImportProblem saying why not."""
    cap = PENDING_MAX_MB * 1024 * 1024
    now = time.time()
    folders = []
    for d in root.iterdir():
        try:
            if d.is_dir() and not d.is_symlink():
                folders.append((d.stat().st_mtime, _folder_bytes(d), d))
        except OSError:
            pass
    used = sum(size for _m, size, _d in folders)
    for mtime, size, d in sorted(folders, key=lambda f: f[0]):
        if used + incoming <= cap or now - mtime < PENDING_EVICT_AFTER_S:
            break
        shutil.rmtree(d, ignore_errors=True)
        used -= size
    if used + incoming > cap:
        raise importer.ImportProblem(
            f"folder unggahan sementara di server penuh ({used / 1048576:.0f} MB dari batas "
            f"{PENDING_MAX_MB} MB dipakai unggahan yang sedang diimpor atau menunggu konfirmasi); "
            "coba lagi beberapa saat lagi, atau minta admin mengosongkan instance/uploads",
            file=original)


def _save_upload(storage) -> tuple[str, Path, str]:
    """Save an upload under instance/uploads/<token>/; returns (token, path, original name).
    Raises ImportProblem when the uploads folder is full or the disk refuses the file."""
    original = Path(storage.filename or "upload").name or "upload"
    ext = Path(original).suffix.lower()
    safe = secure_filename(original) or f"upload{ext}"
    if not safe.lower().endswith(ext):
        safe += ext
    token = secrets.token_hex(16)
    root = _upload_root()
    _make_room(root, int(request.content_length or 0), original)
    folder = root / token
    folder.mkdir()
    path = folder / safe
    try:
        storage.save(path)
        (folder / "meta.json").write_text(json.dumps({"original": original, "file": safe,
                                                      "owner": jobs.worker_id()}))
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise importer.ImportProblem(
            f"berkas tidak dapat disimpan di server ({exc.strerror or type(exc).__name__}); coba "
            "lagi nanti atau hubungi admin", file=original) from None
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


_swept = False


@bp.before_app_request
def _sweep_once():
    """Once per process: forget uploads and reader temp folders of a server killed mid-import
    (their process is gone, nobody else removes them)."""
    global _swept
    if _swept:
        return
    _swept = True
    try:
        _upload_root()
        from ..importer import sandbox

        sandbox.sweep_temp()
    except OSError:
        pass


# --------------------------------------------------------------------------- pages
@bp.route("/impor", methods=["GET"])
def index():
    return _page(VillagesForm(prefix="v"), RecapForm(prefix="r"))


@bp.route("/impor/batas", methods=["POST"])
def villages():
    vform, rform = VillagesForm(prefix="v"), RecapForm(formdata=None, prefix="r")
    if not vform.validate_on_submit():
        return _page(vform, rform, error=_form_errors(vform), status=400)
    try:
        _token, path, original = _save_upload(vform.file.data)
    except importer.ImportProblem as exc:
        return _page(vform, rform, error=str(exc), status=503)
    try:
        summary = importer.import_villages(path, filename=original, fictional=vform.fictional.data)
    except importer.ImportProblem as exc:
        return _page(vform, rform, error=str(exc), status=400)
    finally:
        _discard(path)  # whatever happened: success, a problem or a crash
    flash(_("Batas desa dari %(file)s diimpor: %(n)s desa/kelurahan (%(new)s baru, %(upd)s diperbarui) di %(k)s kecamatan.",
            file=original, n=summary["villages"], new=summary["created"], upd=summary["updated"],
            k=summary["kecamatan"]), "success")
    return redirect(url_for("gap.index"))


@bp.route("/impor/rekap", methods=["POST"])
def recap():
    vform, rform = VillagesForm(formdata=None, prefix="v"), RecapForm(prefix="r")
    if not rform.validate_on_submit():
        return _page(vform, rform, error=_form_errors(rform), status=400)
    pending = _pending(rform.pending.data)
    if rform.file.data:
        try:
            _token, path, original = _save_upload(rform.file.data)
        except importer.ImportProblem as exc:
            return _page(vform, rform, error=str(exc), status=503)
        if pending:  # a new file replaces the one kept for a confirmation
            _discard(pending[0])
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
            _keep(path)
            return _page(vform, rform, error=str(exc), suggestions=exc.suggestions, status=400)
        _discard(path)
        return _page(vform, rform, error=str(exc), status=400)
    except BaseException:
        _discard(path)  # a crash must not leave the upload behind
        raise
    _discard(path)
    flash(_("Rekap %(file)s diimpor sebagai data \"%(name)s\" per %(date)s.",
            file=original, name=ds.name, date=ds.snapshot_date.isoformat()), "success")
    return redirect(url_for("gap.index"))
