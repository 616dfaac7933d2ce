"""Persistence of plans: a plan, its versions, and the plan list.

A plan row holds a name and its dataset; each solve adds a ``PlanVersion`` (1, 2, 3, …) with the
params it was made from (``plan-params/1``) and its Plan JSON (``jemput-bola-plan/1``). A re-plan
is another version of the same plan; old versions are never changed.

A plan can be renamed, archived (hidden from the plan list unless asked for) and deleted as a
whole: its versions, jobs and field results go with it, and its share links stop working (also
when SQLite later gives a new plan the same id). These changes are audited (``plan.rename``,
``plan.archive``, ``plan.delete``).

Only ``planner.pipeline`` writes versions (after the plan passed every check, inside its one
transaction); this module does not solve, build params or change a Plan JSON.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, or_, select

from . import audit, plan_json
from .extensions import db
from .models import AuditEvent, Dataset, Plan, PlanJob, PlanVersion, StopMark, VisitResult

NAME_MAX = 200


class PlanStoreError(ValueError):
    """A plan operation that cannot be done (message is meant for the coordinator)."""


# --------------------------------------------------------------------------- writing
def create_plan(name: str, dataset_id: int | None, *, commit: bool = True) -> Plan:
    """A new, empty plan (its versions are added by the pipeline)."""
    name = (name or "").strip()
    if not name:
        raise PlanStoreError("Nama rencana wajib diisi.")
    plan = Plan(name=name[:NAME_MAX], dataset_id=dataset_id)
    db.session.add(plan)
    db.session.flush()
    # SQLite hands the id of a deleted newest plan out again: links shared for the deleted
    # plan must not open this one, so its share links start past the deleted plan's.
    old = _deleted_generation(plan.id)
    if old is not None:
        plan.share_generation = old + 1
    if commit:
        db.session.commit()
    return plan


def next_version_number(plan_id: int) -> int:
    current = db.session.scalar(
        select(func.max(PlanVersion.version)).where(PlanVersion.plan_id == plan_id)
    )
    return int(current or 0) + 1


def add_version(plan: Plan, number: int, params: dict, result: dict,
                replanned_from: str | None = None) -> PlanVersion:
    """Add version ``number`` (flushed, not committed: the caller owns the transaction)."""
    version = PlanVersion(plan_id=plan.id, version=number, params=params, result=result,
                          replanned_from=replanned_from)
    db.session.add(version)
    db.session.flush()
    return version


def _deleted_generation(plan_id: int) -> int | None:
    """The highest share-link generation of a deleted plan that had this id (None: none)."""
    events = db.session.scalars(select(AuditEvent.before).where(
        AuditEvent.action == "plan.delete", AuditEvent.target == f"plan {plan_id}")).all()
    gens = [int(b.get("share_generation") or 0) for b in events if isinstance(b, dict)]
    return max(gens) if gens else None


def _plan(plan_id: int) -> Plan:
    plan = get_plan(plan_id)
    if plan is None:
        raise PlanStoreError("Rencana tersebut tidak ditemukan (mungkin sudah dihapus).")
    return plan


def rename_plan(plan_id: int, name: str, *, commit: bool = True) -> Plan:
    """Give a plan another name (audited). Stored versions keep the name they were made with."""
    plan = _plan(plan_id)
    name = " ".join((name or "").split())
    if not name:
        raise PlanStoreError("Nama rencana wajib diisi.")
    if len(name) > NAME_MAX:
        raise PlanStoreError(f"Nama rencana paling panjang {NAME_MAX} karakter.")
    if name != plan.name:
        audit.record("plan.rename", f"plan {plan.id}", before={"name": plan.name},
                     after={"name": name})
        plan.name = name
    if commit:
        db.session.commit()
    return plan


def set_archived(plan_id: int, archived: bool, *, commit: bool = True) -> Plan:
    """Archive a plan (hidden from the plan list by default) or bring it back (audited)."""
    plan = _plan(plan_id)
    archived = bool(archived)
    if bool(plan.archived) != archived:
        audit.record("plan.archive", f"plan {plan.id}", before={"archived": bool(plan.archived)},
                     after={"archived": archived, "name": plan.name})
        plan.archived = archived
    if commit:
        db.session.commit()
    return plan


def running_jobs(plan_id: int) -> int:
    """Queued or running re-plans of this plan."""
    return db.session.scalar(select(func.count(PlanJob.id)).where(
        PlanJob.plan_id == plan_id, PlanJob.status.in_(("queued", "running")))) or 0


def deletion_counts(plan_id: int) -> dict[str, int]:
    """What deleting the plan takes with it: versions, field results, jobs."""
    versions = select(PlanVersion.id).where(PlanVersion.plan_id == plan_id)
    return {
        "versions": db.session.scalar(
            select(func.count(PlanVersion.id)).where(PlanVersion.plan_id == plan_id)) or 0,
        "results": db.session.scalar(select(func.count(VisitResult.id)).where(
            VisitResult.plan_version_id.in_(versions))) or 0,
        "jobs": db.session.scalar(select(func.count(PlanJob.id)).where(or_(
            PlanJob.plan_id == plan_id, PlanJob.version_id.in_(versions)))) or 0,
    }


def delete_plan(plan_id: int, *, commit: bool = True) -> dict:
    """Delete a plan with its versions, jobs and field results (audited, one transaction):
    explicit deletes, so nothing is left behind whether or not the database enforces its
    foreign keys (SQLite does not by default). Its share links die with it. Refused while a
    re-plan of it is queued or running. Returns what was deleted."""
    plan = _plan(plan_id)
    if running_jobs(plan.id):
        raise PlanStoreError("Perhitungan ulang rencana ini sedang berjalan atau menunggu; "
                             "hapus setelah perhitungan selesai.")
    counts = deletion_counts(plan.id)
    before = {"name": plan.name, "dataset_id": plan.dataset_id, "archived": bool(plan.archived),
              "share_generation": int(plan.share_generation or 0), **counts}
    versions = select(PlanVersion.id).where(PlanVersion.plan_id == plan.id)
    db.session.execute(sql_delete(VisitResult).where(VisitResult.plan_version_id.in_(versions)),
                       execution_options={"synchronize_session": False})
    db.session.execute(sql_delete(StopMark).where(StopMark.plan_id == plan.id),
                       execution_options={"synchronize_session": False})
    db.session.execute(sql_delete(PlanJob).where(or_(PlanJob.plan_id == plan.id,
                                                     PlanJob.version_id.in_(versions))),
                       execution_options={"synchronize_session": False})
    db.session.execute(sql_delete(PlanVersion).where(PlanVersion.plan_id == plan.id),
                       execution_options={"synchronize_session": False})
    db.session.execute(sql_delete(Plan).where(Plan.id == plan.id),
                       execution_options={"synchronize_session": False})
    db.session.expunge(plan)
    audit.record("plan.delete", f"plan {plan_id}", before=before)
    if commit:
        db.session.commit()
    return before


# --------------------------------------------------------------------------- reading
def get_plan(plan_id: int) -> Plan | None:
    return db.session.get(Plan, plan_id)


def latest_version(plan_id: int) -> PlanVersion | None:
    return db.session.scalars(
        select(PlanVersion).where(PlanVersion.plan_id == plan_id)
        .order_by(PlanVersion.version.desc()).limit(1)
    ).first()


def get_version(plan_id: int, version: int) -> PlanVersion | None:
    return db.session.scalars(
        select(PlanVersion).where(PlanVersion.plan_id == plan_id, PlanVersion.version == version)
    ).first()


def find_version(plan_id: int, version: int | None = None) -> PlanVersion | None:
    """Version ``version`` of the plan, or its newest when ``version`` is None."""
    return latest_version(plan_id) if version is None else get_version(plan_id, version)


def stored_plan(plan_id: int, version: int | None = None) -> tuple[dict | None, Dataset | None]:
    """(Plan JSON, dataset) of a saved version (the newest when ``version`` is None), or
    (None, None) when the plan, the version or its result does not exist."""
    row = find_version(plan_id, version)
    if row is None or not row.result:
        return None, None
    dataset = db.session.get(Dataset, row.plan.dataset_id) if row.plan.dataset_id else None
    return row.result, dataset


def list_versions(plan_id: int) -> list[PlanVersion]:
    return list(db.session.scalars(
        select(PlanVersion).where(PlanVersion.plan_id == plan_id).order_by(PlanVersion.version)
    ))


def list_plans(*, include_archived: bool = True) -> list[dict[str, Any]]:
    """Saved plans, newest first, with what the plan list shows (from the latest version);
    ``archived`` says whether a plan is archived (the list hides those unless asked)."""
    q = select(Plan).order_by(Plan.created_at.desc(), Plan.id.desc())
    if not include_archived:
        q = q.where(Plan.archived.is_(False))
    plans = db.session.scalars(q).all()
    datasets = {d.id: d for d in db.session.scalars(select(Dataset)).all()}
    rows = []
    for p in plans:
        versions = list(p.versions)
        latest = versions[-1] if versions else None
        ds = datasets.get(p.dataset_id) if p.dataset_id is not None else None
        rows.append({
            "id": p.id,
            "name": p.name,
            "plan": p,
            "archived": bool(p.archived),
            "dataset": ds.name if ds else None,
            "dataset_fictional": bool(ds and ds.fictional),
            "created_at": p.created_at,
            "versions": len(versions),
            "latest_version": latest.version if latest else None,
            "team_names": [t.get("name") for t in plan_json.teams(latest.result or {})]
            if latest else [],
            **plan_json.summary(latest.result if latest else None),
        })
    return rows
