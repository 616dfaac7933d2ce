"""Data management (``/data``): the imports (datasets) with their date, files, totals and plans;
choose the active one, rename, delete (with a confirmation page). And the plans' own
management, reached from the plan list: rename, archive (or bring back), delete (with a
confirmation page naming what goes with it).

Thin views over ``planner.datasets`` and ``planner.plan_store`` (which check and audit).
Coordinators change, viewers read; team leads have no data pages (``access.POLICY``).
Ids of datasets travel in the form or the query string (``dataset``).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import datasets, plan_store
from ..extensions import db

bp = Blueprint("datasets", __name__)


def _dataset_arg() -> int | None:
    raw = (request.values.get("dataset") or "").strip()
    if not raw.isdigit() or len(raw) > 9:
        return None
    return int(raw)


def _back(default: str = "datasets.index", **values):
    """Where to go after a change: the page the form came from (same site only)."""
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return redirect(target)
    return redirect(url_for(default, **values))


# --------------------------------------------------------------------------- datasets
@bp.route("/data")
def index():
    return render_template("datasets/index.html", rows=datasets.list_datasets(),
                           dataset=None)


@bp.route("/data/aktifkan", methods=["POST"])
def activate():
    try:
        ds = datasets.activate(_dataset_arg())
    except datasets.DataError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("Data \"%(name)s\" sekarang dipakai halaman dan rencana baru.", name=ds.name),
              "success")
    return _back()


@bp.route("/data/ganti-nama", methods=["POST"])
def rename():
    try:
        ds = datasets.rename(_dataset_arg(), request.form.get("name", ""))
    except datasets.DataError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("Nama data diubah menjadi \"%(name)s\".", name=ds.name), "success")
    return _back()


@bp.route("/data/hapus", methods=["GET", "POST"])
def delete():
    dataset_id = _dataset_arg()
    ds = datasets.get(dataset_id)
    if ds is None:
        if request.method == "POST":
            flash(_("Data tersebut tidak ditemukan (mungkin sudah dihapus)."), "error")
            return redirect(url_for("datasets.index"))
        abort(404)
    if request.method == "POST" and request.form.get("confirm") == "yes":
        archive = request.form.get("archive_plans") == "yes"
        try:
            done = datasets.delete(ds.id, archive_plans=archive)
        except datasets.DataError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("datasets.delete", dataset=dataset_id))
        flash(_("Data \"%(name)s\" dihapus beserta angkanya.", name=done["name"]), "success")
        if done["archived"]:
            flash(_("Diarsipkan lebih dulu: %(plans)s.", plans=", ".join(done["archived"])),
                  "success")
        return redirect(url_for("datasets.index"))
    if request.method == "POST":
        flash(_("Centang konfirmasi untuk menghapus."), "error")
    row = next((r for r in datasets.list_datasets() if r["dataset"].id == ds.id), None)
    live = [p for p in row["plans"] if not p.archived] if row else []
    archived = [p for p in row["plans"] if p.archived] if row else []
    return render_template("datasets/delete.html", row=row, ds=ds, live=live,
                           archived_plans=archived, dataset=None)


# --------------------------------------------------------------------------- plans
def _plan_or_404(plan_id: int):
    plan = plan_store.get_plan(plan_id)
    if plan is None:
        abort(404)
    return plan


@bp.route("/rencana/<int:plan_id>/ganti-nama", methods=["POST"])
def plan_rename(plan_id: int):
    _plan_or_404(plan_id)
    try:
        plan = plan_store.rename_plan(plan_id, request.form.get("name", ""))
    except plan_store.PlanStoreError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("Nama rencana diubah menjadi \"%(name)s\".", name=plan.name), "success")
    return _back("plans.index")


@bp.route("/rencana/<int:plan_id>/arsip", methods=["POST"])
def plan_archive(plan_id: int):
    _plan_or_404(plan_id)
    choice = request.form.get("archived")
    if choice not in ("1", "0"):
        flash(_("Permintaan tidak sah."), "error")
        return _back("plans.index")
    plan = plan_store.set_archived(plan_id, choice == "1")
    if plan.archived:
        flash(_("Rencana \"%(name)s\" diarsipkan (disembunyikan dari daftar).", name=plan.name),
              "success")
    else:
        flash(_("Rencana \"%(name)s\" dikembalikan dari arsip.", name=plan.name), "success")
    return _back("plans.index")


@bp.route("/rencana/<int:plan_id>/hapus", methods=["GET", "POST"])
def plan_delete(plan_id: int):
    plan = _plan_or_404(plan_id)
    if request.method == "POST" and request.form.get("confirm") == "yes":
        try:
            done = plan_store.delete_plan(plan_id)
        except plan_store.PlanStoreError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("datasets.plan_delete", plan_id=plan_id))
        flash(_("Rencana \"%(name)s\" dihapus beserta %(v)s versi dan %(r)s hasil lapangan.",
                name=done["name"], v=done["versions"], r=done["results"]), "success")
        return redirect(url_for("plans.index"))
    if request.method == "POST":
        flash(_("Centang konfirmasi untuk menghapus."), "error")
    return render_template("datasets/plan_delete.html", plan=plan,
                           counts=plan_store.deletion_counts(plan_id),
                           running=plan_store.running_jobs(plan_id),
                           dataset=datasets.get(plan.dataset_id))
