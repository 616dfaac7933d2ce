"""Closing the loop: what each visit achieved, progress against the plan, and re-planning.

* ``record_results`` stores what a team reports for its stops (actual people recorded and an
  outcome: ``done``, ``partly``, ``not_reached`` with a reason). Each report appends a
  ``VisitResult`` and a new ``VillageStat`` entry (``source='field'``) with the village's
  recorded figure raised by the newly reported people, so the gap view and the map reflect it;
  history is kept and nothing is overwritten. Correcting a report adds the difference only.
  People recorded at a pooled stop count for the host village (the stop's ``site_code``).
* ``progress_table`` compares planned and achieved people per team and day.
* ``replan`` keeps every stop before the re-plan date, and on or after it every stop that is
  already reported done/partly or that the user locked (as engine ``Lock``s), re-optimises the
  remaining working days with the updated figures, and stores the result as a NEW version of the
  same plan (the old version stays). Teams start the re-planned days from their base: a trip
  that was away overnight across the re-plan date is cut there (documented limitation).

Plain Python over the persistence layer; no Flask import.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections import defaultdict

from sqlalchemy import select

from .extensions import db
from .models import PlanVersion, VillageStat, VisitResult

OUTCOMES = ("done", "partly", "not_reached")
REASONS = ("weather", "boat", "no_signal", "equipment", "absent", "other")


class FieldError(ValueError):
    """A report or re-plan request that cannot be accepted (message for the coordinator)."""


# --------------------------------------------------------------------------- plan helpers
def iter_stops(result: dict):
    """Yield ``(team_index, team_name, date, order, stop)`` for every stop of a Plan JSON."""
    for ti, team in enumerate(result.get("teams", [])):
        for day in team.get("days", []):
            for order, stop in enumerate(day.get("stops", []), start=1):
                yield ti, team["name"], day["date"], order, stop


def find_stop(result: dict, team: str, date: str, site_code: str) -> dict | None:
    for _ti, tname, d, _o, stop in iter_stops(result):
        if tname == team and d == date and stop["site_code"] == site_code:
            return stop
    return None


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
    from . import repository

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
        stop = find_stop(result, team, date, code)
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


def progress_table(version: PlanVersion) -> list[dict]:
    """Planned vs achieved people per team and day (rows in plan order)."""
    reports = latest_results(_version_chain(version))
    rows = []
    for team in (version.result or {}).get("teams", []):
        for day in team.get("days", []):
            stops = day.get("stops", [])
            row = {"team": team["name"], "date": day["date"], "stops": len(stops),
                   "planned": sum(int(s.get("expected", 0)) for s in stops), "achieved": 0,
                   "done": 0, "partly": 0, "not_reached": 0, "pending": 0}
            for s in stops:
                r = reports.get((team["name"], day["date"], s["site_code"]))
                if r is None:
                    row["pending"] += 1
                else:
                    row[r.outcome] += 1
                    row["achieved"] += r.actual_recorded
            rows.append(row)
    return rows


# --------------------------------------------------------------------------- re-planning
def replan_params(version: PlanVersion, from_date: dt.date, *, time_limit: float | None = None,
                  seed: int | None = None) -> dict:
    """Parameters for re-optimising ``version`` from ``from_date`` on (engine locks included)."""
    from .engine import working_dates

    params = copy.deepcopy(version.params or {})
    result = version.result or {}
    start = dt.date.fromisoformat(str(params.get("start_date") or result["params"]["start_date"]))
    holidays = [dt.date.fromisoformat(str(h)) for h in params.get("holidays") or []]
    dates = working_dates(start, int(params.get("days") or result["params"].get("days") or 1),
                          holidays, bool(params.get("skip_weekends", True)))
    remaining = [d for d in dates if d >= from_date]
    if not remaining:
        raise FieldError(f"Tidak ada hari kerja rencana pada atau setelah {from_date.isoformat()}.")
    reports = latest_results(_version_chain(version))
    locks = [lk for lk in params.get("locks") or [] if str(lk["date"]) >= from_date.isoformat()]
    for _ti, team, date, _o, stop in iter_stops(result):
        if date < from_date.isoformat():
            continue
        rep = reports.get((team, date, stop["site_code"]))
        if stop.get("locked") or (rep is not None and rep.outcome in ("done", "partly")):
            lock = {"site_code": stop["site_code"], "date": date, "team": team}
            if lock not in locks:
                locks.append(lock)
    params.update({
        "plan_id": version.plan_id, "replanned_from": from_date.isoformat(),
        "start_date": remaining[0].isoformat(),
        "days": len(remaining),
        "locks": locks,
    })
    if time_limit is not None:
        params["time_limit"] = time_limit
    if seed is not None:
        params["seed"] = seed
    return params


def merge_replan(old_result: dict, new_result: dict, from_date: dt.date) -> dict:
    """The old plan's days before ``from_date`` followed by the re-optimised days."""
    cut = from_date.isoformat()
    merged = copy.deepcopy(new_result)
    old_teams = {t["name"]: t for t in old_result.get("teams", [])}
    for team in merged.get("teams", []):
        kept = [d for d in old_teams.get(team["name"], {}).get("days", []) if d["date"] < cut]
        team["days"] = copy.deepcopy(kept) + [d for d in team.get("days", []) if d["date"] >= cut]
    new_names = {t["name"] for t in merged.get("teams", [])}
    for name, team in old_teams.items():
        if name not in new_names:
            kept = [d for d in team.get("days", []) if d["date"] < cut]
            if kept:
                merged.setdefault("teams", []).append({**copy.deepcopy(team), "days": copy.deepcopy(kept)})
    merged["params"] = {**old_result.get("params", {}), **merged.get("params", {}),
                        "start_date": old_result.get("params", {}).get("start_date"),
                        "replanned_from": cut}
    merged["totals"] = _totals(merged)
    return merged


def _totals(result: dict) -> dict:
    people = km = minutes = 0.0
    for team in result.get("teams", []):
        for day in team.get("days", []):
            for s in day.get("stops", []):
                people += s.get("expected", 0)
                km += s.get("km_from_prev", 0) or 0
                minutes += s.get("min_from_prev", 0) or 0
            km += day.get("km_to_end", 0) or 0
            minutes += day.get("min_to_end", 0) or 0
    old = result.get("totals", {})
    return {**old, "people": int(people), "km": round(km, 1), "travel_hours": round(minutes / 60, 2)}


def replan(version: PlanVersion, from_date: dt.date, *, time_limit: float | None = None,
           seed: int | None = None, progress=None, workers: int = 2) -> PlanVersion:
    """Re-optimise from ``from_date`` and store a new version (all-or-nothing)."""
    from . import jobs, plan_store

    params = replan_params(version, from_date, time_limit=time_limit, seed=seed)
    _dataset, new_result, _instance = jobs.solve_params(params, progress, workers=workers)
    merged = merge_replan(version.result or {}, new_result, from_date)
    try:
        return plan_store.save_version(version.plan, params, merged, from_date)
    except Exception:
        db.session.rollback()
        raise
