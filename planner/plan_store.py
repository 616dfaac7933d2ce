"""Persistence of plans: a plan, its versions, and the sample plan of a fresh demo database.

The story: a coordinator fills in the plan form (``params``, a JSON-able dict, see
``planner.jobs.normalise_params``); the engine solves it into a Plan JSON (COMMON.md contract);
``save_version`` stores params + result as a new version of a plan. A re-plan (field loop) is
another ``save_version`` on the same plan with ``replanned_from`` set: version numbers grow,
old versions are never changed or deleted.

All-or-nothing: the background job (``planner.jobs``) calls these functions only after a solve
succeeded and its plan passed the validator, inside one transaction; a failed solve never
creates a plan row, a version, or touches an existing version.

Plain Python on top of the persistence layer (``db`` + models): no Flask import.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from sqlalchemy import func, select

from .extensions import db
from .models import Dataset, Plan, PlanVersion


class PlanStoreError(ValueError):
    """A plan operation that cannot be done (message is meant for the coordinator)."""


# --------------------------------------------------------------------------- writing
def create_plan(name: str, dataset_id: int | None, params: dict | None = None, *,
                commit: bool = True) -> Plan:
    """A new, empty plan (its versions are added by ``save_version``).

    ``params`` is accepted for symmetry with the versions; the parameters live on each version
    (a re-plan may change them), so they are not stored on the plan row itself.
    """
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


def save_version(plan: Plan, params: dict, result_dict: dict, replanned_from: str | dt.date | None = None,
                 *, commit: bool = True) -> PlanVersion:
    """Store a solved plan as the next version of ``plan`` (1, 2, 3, ...; old ones are kept).

    The stored Plan JSON gets ``plan_id`` (str), ``version`` and ``dataset`` (name) filled in so
    the exports and the map can name it without looking anything else up.
    """
    if result_dict is None:
        raise PlanStoreError("Tidak ada hasil rencana untuk disimpan.")
    if plan.id is None:
        db.session.add(plan)
        db.session.flush()
    number = next_version_number(plan.id)
    result = copy.deepcopy(result_dict)
    result["plan_id"] = str(plan.id)
    result["version"] = number
    if plan.dataset_id is not None and not result.get("dataset"):
        ds = db.session.get(Dataset, plan.dataset_id)
        if ds is not None:
            result["dataset"] = ds.name
    result.setdefault("plan_name", plan.name)
    if isinstance(replanned_from, dt.date):
        replanned_from = replanned_from.isoformat()
    version = PlanVersion(plan_id=plan.id, version=number, params=copy.deepcopy(params or {}),
                          result=result, replanned_from=replanned_from)
    db.session.add(version)
    db.session.flush()
    if commit:
        db.session.commit()
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


def list_versions(plan_id: int) -> list[PlanVersion]:
    return list(db.session.scalars(
        select(PlanVersion).where(PlanVersion.plan_id == plan_id).order_by(PlanVersion.version)
    ))


def result_summary(result: dict | None) -> dict[str, Any]:
    """People, km, teams and working days of a Plan JSON (for lists and headers)."""
    result = result or {}
    totals = result.get("totals") or {}
    teams = result.get("teams") or []
    dates = {d.get("date") for t in teams for d in (t.get("days") or []) if d.get("date")}
    days = (result.get("params") or {}).get("days") or len(dates)
    n_stops = sum(len(d.get("stops") or []) for t in teams for d in (t.get("days") or []))
    return {
        "people": int(round(totals.get("people") or 0)),
        "km": float(totals.get("km") or 0.0),
        "travel_hours": float(totals.get("travel_hours") or 0.0),
        "cost_rp": float(totals.get("cost_rp") or 0.0),
        "teams": len(teams),
        "days": int(days or 0),
        "stops": n_stops,
        "dropped": len(result.get("dropped") or []),
    }


def list_plans() -> list[dict[str, Any]]:
    """Saved plans, newest first, with what the plan list shows (from the latest version)."""
    plans = db.session.scalars(select(Plan).order_by(Plan.created_at.desc(), Plan.id.desc())).all()
    datasets = {d.id: d for d in db.session.scalars(select(Dataset)).all()}
    rows = []
    for p in plans:
        versions = list(p.versions)
        latest = versions[-1] if versions else None
        ds = datasets.get(p.dataset_id) if p.dataset_id is not None else None
        summary = result_summary(latest.result if latest else None)
        rows.append({
            "id": p.id,
            "name": p.name,
            "plan": p,
            "dataset": ds.name if ds else None,
            "dataset_fictional": bool(ds and ds.fictional),
            "created_at": p.created_at,
            "versions": len(versions),
            "latest_version": latest.version if latest else None,
            **summary,
        })
    return rows


# --------------------------------------------------------------------------- sample plan
def sample_plan_params(time_limit: float = 10, *, start_date: dt.date | None = None) -> dict:
    """Parameters of the sample plan: 3 teams × 5 working days from the default base; the third
    team has a car and a boat and may stay up to 3 nights away; seed 1."""
    from . import repository

    base = repository.default_base()
    if base is None:
        raise PlanStoreError("Belum ada pangkalan tim (kantor): rencana contoh tidak dapat dibuat.")
    if start_date is None:
        today = dt.date.today()
        start_date = today + dt.timedelta(days=(7 - today.weekday()) % 7 or 7)  # next Monday
    b = {"id": base.id, "name": base.name, "lat": base.lat, "lon": base.lon}
    from .jobs import normalise_params  # the form's defaults (working hours, turnout, ...)

    return normalise_params({
        "name": "Rencana contoh (3 tim × 5 hari)",
        "teams": [
            {"name": "Tim 1", "base": b, "kits": 3, "mode": "road", "max_nights": 0},
            {"name": "Tim 2", "base": b, "kits": 3, "mode": "road", "max_nights": 0},
            {"name": "Tim 3 (perahu)", "base": b, "kits": 3, "mode": "both", "max_nights": 3},
        ],
        "start_date": start_date.isoformat(),
        "days": 5,
        "time_limit": time_limit,
        "seed": 1,
    })


def create_sample_plan(time_limit: float = 10, *, start_date: dt.date | None = None) -> PlanVersion:
    """Solve and store the sample plan on the current dataset (used by ``planner load-demo``),
    so a newcomer sees routes at once. Raises ``PlanStoreError`` with a clear message when there
    is no data or the solve fails; nothing is stored then."""
    from . import jobs, repository

    dataset = repository.current_dataset()
    if dataset is None:
        raise PlanStoreError("Belum ada data: impor rekap dan batas desa dulu.")
    params = sample_plan_params(time_limit, start_date=start_date)
    params["dataset_id"] = dataset.id
    params = jobs.normalise_params(params)
    try:
        return jobs.solve_and_store(params)
    except jobs.PlanJobError as exc:
        raise PlanStoreError(str(exc)) from exc
