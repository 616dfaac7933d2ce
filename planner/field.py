"""Closing the loop: what each visit achieved, progress against the plan, and re-planning.

* ``record_results`` stores what a team reports for its stops (actual people recorded and an
  outcome: ``done``, ``partly``, ``not_reached`` with a reason). Each report appends a
  ``VisitResult`` and a new ``VillageStat`` entry (``source='field'``) with the village's
  recorded figure raised by the newly reported people, so the gap view and the map reflect it;
  history is kept and nothing is overwritten. Correcting a report adds the difference only.
  People recorded at a pooled stop count for the host village (the stop's ``site_code``).
* ``progress_table`` compares planned and achieved people per team and day.
* ``replan_params`` keeps every stop before the re-plan date, and on or after it every stop that
  is already reported done/partly or that the user locked (as locks), for the remaining working
  days with the updated figures; ``replan`` runs them through ``planner.pipeline``, which stores
  the result as a NEW version of the same plan (the old version stays). Teams start the
  re-planned days from their base: a trip that was away overnight across the re-plan date is
  cut there (documented limitation).

Plain Python over the persistence layer; no Flask import.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict

from sqlalchemy import select

from . import audit, pipeline, plan_json, repository
from .extensions import db
from .models import PlanVersion, VillageStat, VisitResult
from .params import LockParams, PlanParams, ReplanParams

OUTCOMES = ("done", "partly", "not_reached")
REASONS = ("weather", "boat", "no_signal", "equipment", "absent", "other")


class FieldError(ValueError):
    """A report or re-plan request that cannot be accepted (message for the coordinator)."""


# --------------------------------------------------------------------------- plan helpers
def latest_results(version_ids: list[int]) -> dict[tuple[str, str, str], VisitResult]:
    """Newest report per (team, date, site) over the given plan versions."""
    rows = db.session.scalars(
        select(VisitResult).where(VisitResult.plan_version_id.in_(version_ids))
        .order_by(VisitResult.id)
    ).all()
    out: dict[tuple[str, str, str], VisitResult] = {}
    for r in rows:
        out[(r.team, r.date.isoformat(), r.site_code)] = r
    return out


def _version_chain(version: PlanVersion) -> list[int]:
    """All versions of the plan: reports stay valid across re-plans (same team/date/site)."""
    return [v.id for v in version.plan.versions]


# --------------------------------------------------------------------------- reporting
def record_results(version: PlanVersion, reports: list[dict], *, recorded_by: str | None = None,
                   dataset_id: int | None = None) -> list[VisitResult]:
    """Store reports ``{team, date, site_code, actual_recorded, outcome, reason?}`` in one
    transaction; raise ``FieldError`` (nothing stored) if any report is invalid."""
    result = version.result or {}
    dataset = repository.get_dataset(dataset_id or version.plan.dataset_id)
    if dataset is None:
        raise FieldError("Data rekap rencana ini tidak ditemukan.")
    previous = latest_results(_version_chain(version))
    current = repository.current_stats(dataset.id).set_index("village_code")
    stored: list[VisitResult] = []
    delta_by_village: dict[str, int] = defaultdict(int)
    problems = []
    for i, rep in enumerate(reports, start=1):
        team, date, code = str(rep.get("team", "")), str(rep.get("date", "")), str(rep.get("site_code", ""))
        stop = plan_json.find_stop(result, team, date, code)
        if stop is None:
            problems.append(f"laporan {i}: {code} tidak ada di rencana {team} tanggal {date}")
            continue
        outcome = rep.get("outcome")
        if outcome not in OUTCOMES:
            problems.append(f"laporan {i} ({stop.get('name', code)}): hasil harus salah satu dari {', '.join(OUTCOMES)}")
            continue
        reason = rep.get("reason") or None
        if reason is not None and reason not in REASONS:
            problems.append(f"laporan {i} ({stop.get('name', code)}): alasan tidak dikenal: {reason}")
            continue
        try:
            actual = int(rep.get("actual_recorded") or 0)
        except (TypeError, ValueError):
            problems.append(f"laporan {i} ({stop.get('name', code)}): jumlah direkam harus bilangan bulat")
            continue
        if actual < 0:
            problems.append(f"laporan {i} ({stop.get('name', code)}): jumlah direkam tidak boleh negatif")
            continue
        if outcome == "not_reached" and actual:
            problems.append(f"laporan {i} ({stop.get('name', code)}): tidak terjangkau tetapi ada {actual} orang direkam")
            continue
        prev = previous.get((team, date, code))
        delta = actual - (prev.actual_recorded if prev else 0)
        stored.append(VisitResult(
            plan_version_id=version.id, team=team, date=dt.date.fromisoformat(date), site_code=code,
            actual_recorded=actual, outcome=outcome, reason=reason,
            recorded_by=(rep.get("recorded_by") or recorded_by or None),
        ))
        if code in current.index:
            delta_by_village[code] += delta
    if problems:
        raise FieldError("Laporan tidak disimpan: " + "; ".join(problems) + ".")
    try:
        db.session.add_all(stored)
        audit.record(
            "results.record", f"plan {version.plan_id} v{version.version}",
            before={f"{r.team} {r.date} {r.site_code}": _report_dict(previous.get(
                (r.team, r.date.isoformat(), r.site_code))) for r in stored},
            after={f"{r.team} {r.date} {r.site_code}": _report_dict(r) for r in stored})
        for code, delta in delta_by_village.items():
            if delta == 0:
                continue
            row = current.loc[code]
            db.session.add(VillageStat(
                dataset_id=dataset.id, village_code=code, population=int(row["population"]),
                obliged=int(row["obliged"]), recorded=max(int(row["recorded"]) + delta, 0),
                source="field", note=f"plan {version.plan_id} v{version.version}",
            ))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return stored


def _report_dict(r: VisitResult | None) -> dict | None:
    if r is None:
        return None
    return {"recorded": r.actual_recorded, "outcome": r.outcome, "reason": r.reason}


def progress_table(version: PlanVersion) -> list[dict]:
    """Planned vs achieved people per team and day (rows in plan order)."""
    reports = latest_results(_version_chain(version))
    rows = []
    for td in plan_json.team_days(version.result or {}, with_empty=True):
        row = {"team": td.team_name, "date": td.date, "stops": len(td.stops),
               "planned": td.totals["people"], "achieved": 0,
               "done": 0, "partly": 0, "not_reached": 0, "pending": 0}
        for s in td.stops:
            r = reports.get((td.team_name, td.date, s["site_code"]))
            if r is None:
                row["pending"] += 1
            else:
                row[r.outcome] += 1
                row["achieved"] += r.actual_recorded
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- re-planning
def stored_params(version: PlanVersion) -> PlanParams:
    """The params a version was made from (``plan-params/1``)."""
    return pipeline.load_params(version.params or {})


def replan_params(version: PlanVersion, from_date: dt.date, *, time_limit: float | None = None,
                  seed: int | None = None) -> PlanParams:
    """Parameters for re-optimising ``version`` from ``from_date`` on: the remaining working
    days, with every stop already reported done/partly (or locked) kept as a lock."""
    from .engine import working_dates

    params = stored_params(version)
    cal = params.calendar
    dates = working_dates(dt.date.fromisoformat(cal.start_date), cal.days,
                          [dt.date.fromisoformat(h) for h in cal.holidays], cal.skip_weekends)
    remaining = [d for d in dates if d >= from_date]
    if not remaining:
        raise FieldError(f"Tidak ada hari kerja rencana pada atau setelah {from_date.isoformat()}.")
    cut = from_date.isoformat()
    reports = latest_results(_version_chain(version))
    locks = [lk for lk in params.locks if lk.date >= cut]
    for ref in plan_json.iter_stops(version.result or {}):
        if ref.date < cut:
            continue
        rep = reports.get(ref.key)
        if ref.stop.get("locked") or (rep is not None and rep.outcome in ("done", "partly")):
            lock = LockParams(site_code=ref.site_code, date=ref.date, team=ref.team)
            if lock not in locks:
                locks.append(lock)
    solver = params.solver
    if time_limit is not None:
        solver = dataclasses.replace(solver, time_limit=float(time_limit))
    if seed is not None:
        solver = dataclasses.replace(solver, seed=int(seed))
    return params.replace(
        calendar=dataclasses.replace(cal, start_date=remaining[0].isoformat(),
                                     days=len(remaining)),
        locks=tuple(locks), solver=solver,
        dataset_id=params.dataset_id or version.plan.dataset_id,
        replan=ReplanParams(plan_id=version.plan_id, from_date=cut,
                            from_version=version.version))


def replan(version: PlanVersion, from_date: dt.date, *, time_limit: float | None = None,
           seed: int | None = None, progress=None, workers: int = 2) -> PlanVersion:
    """Re-optimise from ``from_date`` and store a new version (all-or-nothing)."""
    params = replan_params(version, from_date, time_limit=time_limit, seed=seed)
    return pipeline.run(params, progress, workers=workers)
