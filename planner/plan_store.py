"""Persistence of plans: a plan, its versions, and the plan list.

A plan row holds a name and its dataset; each solve adds a ``PlanVersion`` (1, 2, 3, …) with the
params it was made from (``plan-params/1``) and its Plan JSON (``jemput-bola-plan/1``). A re-plan
is another version of the same plan; old versions are never changed or deleted.

Only ``planner.pipeline`` writes versions (after the plan passed every check, inside its one
transaction); this module does not solve, build params or change a Plan JSON.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from . import plan_json
from .extensions import db
from .models import Dataset, Plan, PlanVersion


class PlanStoreError(ValueError):
    """A plan operation that cannot be done (message is meant for the coordinator)."""


# --------------------------------------------------------------------------- writing
def create_plan(name: str, dataset_id: int | None, *, commit: bool = True) -> Plan:
    """A new, empty plan (its versions are added by the pipeline)."""
    name = (name or "").strip()
    if not name:
        raise PlanStoreError("Nama rencana wajib diisi.")
    plan = Plan(name=name[:200], dataset_id=dataset_id)
    db.session.add(plan)
    db.session.flush()
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


def list_plans() -> list[dict[str, Any]]:
    """Saved plans, newest first, with what the plan list shows (from the latest version)."""
    plans = db.session.scalars(select(Plan).order_by(Plan.created_at.desc(), Plan.id.desc())).all()
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
