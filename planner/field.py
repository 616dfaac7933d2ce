"""Closing the loop: what each visit achieved, progress against the plan, and re-planning.

* ``record_results`` stores what a team reports for its stops (actual people recorded and an
  outcome: ``done``, ``partly``, ``not_reached`` with a reason) as ``VisitResult`` rows; every
  report is kept (history), and the newest report of a stop counts (a correction replaces, it
  never adds). The figures of every dataset whose snapshot is older than the visit add them
  (``repository.current_stats``), so the gap view, the map and a new recap reflect them. People
  recorded at a pooled stop count for the host village (the stop's ``site_code``).
* ``progress_table`` compares planned and achieved people per team and day.
* ``replan_params`` keeps every stop before the re-plan date, and on or after it every stop that
  is already reported done/partly or that the user locked (as locks), for the remaining working
  days with the updated figures; ``replan`` runs them through ``planner.pipeline``, which stores
  the result as a NEW version of the same plan (the old version stays). The other remaining
  stops are soft preferences (moving them costs ``model.churn_penalty_min``). A team out on a
  trip across the re-plan date continues from the village it slept at, with the nights it has
  left (``TeamParams.start_at`` / ``nights_used``).

Plain Python over the persistence layer; no Flask import.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from . import audit, lifecycle, msg, pipeline, plan_json, repository
from .extensions import db
from .models import PlanVersion, VisitResult
from .msg import _
from .params import LockParams, PlanParams, ReplanParams, StartParams

OUTCOMES = ("done", "partly", "not_reached")
REASONS = ("weather", "boat", "no_signal", "equipment", "absent", "other")


class FieldError(ValueError):
    """A report or re-plan request that cannot be accepted (message for the coordinator: a
    :class:`planner.msg.Msg`, Indonesian as ``str``, translated by the web)."""

    def translate(self, gettext, locale: str = "id") -> str:
        return msg.text(self.args[0] if self.args else "", gettext, locale)


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


def report_history(version: PlanVersion, team: str, date: str) -> dict[str, list[VisitResult]]:
    """Every report of one team-day's stops (oldest first), over all versions of the plan:
    who entered what and when (a correction is a newer report; nothing is overwritten)."""
    rows = db.session.scalars(
        select(VisitResult).where(VisitResult.plan_version_id.in_(_version_chain(version)),
                                  VisitResult.team == team,
                                  VisitResult.date == dt.date.fromisoformat(date))
        .order_by(VisitResult.id)).all()
    out: dict[str, list[VisitResult]] = {}
    for r in rows:
        out.setdefault(r.site_code, []).append(r)
    return out


def _version_chain(version: PlanVersion) -> list[int]:
    """All versions of the plan: reports stay valid across re-plans (same team/date/site)."""
    return [v.id for v in version.plan.versions]


# --------------------------------------------------------------------------- reporting
MAX_RECORDED = 100_000  # no single visit records more people than this (a typo guard)


class NeedsConfirmation(FieldError):
    """Reports far above the plan: saved only when the coordinator confirms (``items``)."""

    def __init__(self, message: str, items: list[dict]):
        super().__init__(message)
        self.items = items


def _limits(version: PlanVersion, dataset, previous) -> dict[str, dict]:
    """Per village: population, obliged and recorded now (the dataset's figures, which include
    every field report after its snapshot)."""
    frame = repository.villages_frame(dataset).drop(columns="geometry")
    return {str(r["code"]): {"name": r["name"], "population": int(r["population"]),
                             "obliged": int(r["obliged"]), "recorded": int(r["recorded"])}
            for r in frame.to_dict("records")}


def _village_limit(stop: dict, limits: dict, earlier: int) -> tuple[int, int]:
    """(unrecorded before this visit, population) of the stop's village — with the villages a
    pooled stop serves — not counting this stop's own earlier report."""
    codes = [stop["site_code"]] + [p.get("code") for p in stop.get("pooled") or []]
    unrecorded = population = 0
    for code in codes:
        fig = limits.get(str(code))
        if fig is None:
            continue
        unrecorded += max(fig["obliged"] - fig["recorded"], 0)
        population += fig["population"]
    return unrecorded + earlier, population


def record_results(version: PlanVersion, reports: list[dict], *, recorded_by: str | None = None,
                   dataset_id: int | None = None, confirm: bool = False) -> list[VisitResult]:
    """Store reports ``{team, date, site_code, actual_recorded, outcome, reason?}`` in one
    transaction; raise ``FieldError`` (nothing stored) if any report is invalid.

    Checks: people recorded at a visit ≤ the village's unrecorded count before it (the villages
    a pooled stop serves included) and ≤ its population, and ≤ ``MAX_RECORDED``; a report above
    twice the planned people raises :class:`NeedsConfirmation` unless ``confirm``."""
    result = version.result or {}
    dataset = repository.get_dataset(dataset_id or version.plan.dataset_id)
    if dataset is None:
        raise FieldError(_("Data rekap rencana ini tidak ditemukan."))
    previous = latest_results(_version_chain(version))
    limits = _limits(version, dataset, previous)
    stored: list[VisitResult] = []
    problems = []
    high: list[dict] = []
    for i, rep in enumerate(reports, start=1):
        team, date, code = str(rep.get("team", "")), str(rep.get("date", "")), str(rep.get("site_code", ""))
        stop = plan_json.find_stop(result, team, date, code)
        if stop is None:
            problems.append(_("laporan %(i)s: %(code)s tidak ada di rencana %(team)s tanggal %(date)s",
                              i=str(i), code=code, team=team, date=date))
            continue
        outcome = rep.get("outcome")
        if outcome not in OUTCOMES:
            problems.append(_("laporan %(i)s (%(name)s): hasil harus salah satu dari %(allowed)s",
                              i=str(i), name=stop.get("name", code), allowed=", ".join(OUTCOMES)))
            continue
        reason = rep.get("reason") or None
        if reason is not None and reason not in REASONS:
            problems.append(_("laporan %(i)s (%(name)s): alasan tidak dikenal: %(reason)s",
                              i=str(i), name=stop.get("name", code), reason=reason))
            continue
        try:
            actual = int(rep.get("actual_recorded") or 0)
        except (TypeError, ValueError):
            problems.append(_("laporan %(i)s (%(name)s): jumlah direkam harus bilangan bulat",
                              i=str(i), name=stop.get("name", code)))
            continue
        if actual < 0:
            problems.append(_("laporan %(i)s (%(name)s): jumlah direkam tidak boleh negatif",
                              i=str(i), name=stop.get("name", code)))
            continue
        if outcome == "not_reached" and actual:
            problems.append(_("laporan %(i)s (%(name)s): tidak terjangkau tetapi ada %(n)s orang "
                              "direkam", i=str(i), name=stop.get("name", code), n=actual))
            continue
        name = stop.get("name", code)
        if actual > MAX_RECORDED:
            problems.append(_("%(name)s: %(n)s orang direkam dalam satu kunjungan tidak masuk akal "
                              "(batas %(limit)s)", name=name, n=actual, limit=MAX_RECORDED))
            continue
        prev = previous.get((team, date, code))
        earlier = prev.actual_recorded if prev is not None else 0
        unrecorded, population = _village_limit(stop, limits, earlier)
        if actual > unrecorded:
            problems.append(_("%(name)s: %(n)s orang direkam melebihi %(limit)s warga wajib KTP-el "
                              "yang belum rekam sebelum kunjungan ini (batas)", name=name,
                              n=actual, limit=unrecorded))
            continue
        if actual > population:
            problems.append(_("%(name)s: %(n)s orang direkam melebihi jumlah penduduknya %(limit)s "
                              "(batas)", name=name, n=actual, limit=population))
            continue
        planned = int(stop.get("expected") or 0)
        if actual > 2 * max(planned, 1) and not confirm:
            high.append({"team": team, "date": date, "site_code": code, "name": name,
                         "actual": actual, "planned": planned})
        stored.append(VisitResult(
            plan_version_id=version.id, team=team, date=dt.date.fromisoformat(date), site_code=code,
            actual_recorded=actual, outcome=outcome, reason=reason,
            recorded_by=(rep.get("recorded_by") or recorded_by or None),
        ))
    if problems:
        raise FieldError(_("Laporan tidak disimpan: %(problems)s.",
                           problems=msg.join("; ", problems)))
    if high:
        items = [_("%(name)s: %(n)s orang direkam, lebih dari dua kali %(planned)s yang "
                   "direncanakan", name=h["name"], n=h["actual"], planned=h["planned"])
                 for h in high]
        raise NeedsConfirmation(_(
            "Periksa lagi sebelum disimpan: %(items)s. Jika benar, centang konfirmasi lalu simpan "
            "lagi.", items=msg.join("; ", items)), high)
    try:
        db.session.add_all(stored)
        audit.record(
            "results.record", f"plan {version.plan_id} v{version.version}",
            before={f"{r.team} {r.date} {r.site_code}": _report_dict(previous.get(
                (r.team, r.date.isoformat(), r.site_code))) for r in stored},
            after={f"{r.team} {r.date} {r.site_code}": _report_dict(r) for r in stored})
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
        raise FieldError(_("Tidak ada hari kerja rencana pada atau setelah %(date)s.",
                           date=from_date.isoformat()))
    cut = from_date.isoformat()
    reports = latest_results(_version_chain(version))
    locks = [lk for lk in params.locks if lk.date >= cut]
    # locked and announced on the plan page (and villages locked to a date) are kept too
    marked, cancelled = lifecycle.replan_marks(version.plan_id, cut)
    locks += [lk for lk in marked if lk not in locks]
    prefer: list[LockParams] = []
    for ref in plan_json.iter_stops(version.result or {}):
        if ref.date < cut:
            continue
        rep = reports.get(ref.key)
        here = LockParams(site_code=ref.site_code, date=ref.date, team=ref.team)
        if ref.stop.get("locked") or (rep is not None and rep.outcome in ("done", "partly")):
            if here not in locks:
                locks.append(here)
        elif ref.key in cancelled:
            continue  # cancelled there: free to go elsewhere, no reason to keep it
        elif here in locks:
            continue
        elif here not in prefer:
            prefer.append(here)  # the rest stays where it was unless moving it pays
    # a kept visit keeps its size (the people announced for it; split sessions summed)
    size: dict = {}
    for ref in plan_json.iter_stops(version.result or {}):
        if ref.date >= cut:
            size[ref.key] = size.get(ref.key, 0) + int(ref.stop.get("expected") or 0)
    by_key: dict = {}
    for lk in locks:
        if lk.key not in by_key:
            by_key[lk.key] = dataclasses.replace(lk, expected=size.get(lk.key) or lk.expected)
    locks = list(by_key.values())
    # a village the plan split over several stops keeps that split (each stop its size)
    per_site: dict = {}
    for pf in prefer:
        per_site[pf.site_code] = per_site.get(pf.site_code, 0) + 1
    prefer = [dataclasses.replace(pf, expected=size.get(pf.key) or None)
              if per_site[pf.site_code] > 1 or any(lk.site_code == pf.site_code for lk in locks)
              else pf for pf in prefer]
    # a team out on a trip across the re-plan date continues from where it sleeps
    teams = []
    for t in params.teams:
        away = plan_json.away_before(version.result or {}, t.name, remaining[0])
        works = t.available_dates is None or remaining[0].isoformat() in t.available_dates
        if away is not None and t.max_nights > 0 and works:
            place, nights = away
            t = dataclasses.replace(t, start_at=StartParams(
                code=str(place["code"]), name=str(place.get("name") or place["code"]),
                lat=float(place["lat"]), lon=float(place["lon"])), nights_used=int(nights))
        elif t.start_at is not None:
            t = dataclasses.replace(t, start_at=None, nights_used=0)
        # the previous plan's trips stay trips (the nights that made kept stops reachable,
        # lodging already arranged): the previous schedule stays possible, so a re-plan only
        # changes what pays more than the churn penalty
        kept_trips = []
        for a, b in plan_json.trips(version.result or {}, t.name):
            a = max(a, cut)
            if a < b:
                kept_trips.append((a, b))
        t = dataclasses.replace(t, trips=tuple(kept_trips))
        teams.append(t)
    solver = params.solver
    if time_limit is not None:
        solver = dataclasses.replace(solver, time_limit=float(time_limit))
    if seed is not None:
        solver = dataclasses.replace(solver, seed=int(seed))
    return params.replace(
        calendar=dataclasses.replace(cal, start_date=remaining[0].isoformat(),
                                     days=len(remaining)),
        teams=tuple(teams), locks=tuple(locks), prefer=tuple(prefer), solver=solver,
        dataset_id=params.dataset_id or version.plan.dataset_id,
        replan=ReplanParams(plan_id=version.plan_id, from_date=cut,
                            from_version=version.version))


def replan(version: PlanVersion, from_date: dt.date, *, time_limit: float | None = None,
           seed: int | None = None, progress=None, workers: int = 2) -> PlanVersion:
    """Re-optimise from ``from_date`` and store a new version (all-or-nothing)."""
    params = replan_params(version, from_date, time_limit=time_limit, seed=seed)
    return pipeline.run(params, progress, workers=workers)
