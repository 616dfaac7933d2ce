"""The planning pipeline: params → instance → solve → validate → store. One path for everyone.

The web form, ``planner plan``, ``planner replan``, the re-plan button, the sample plan and the
background jobs all call :func:`run` (or :func:`solve` when nothing is to be stored) with a
checked :class:`planner.params.PlanParams`:

1. **instance**: the dataset's villages (``repository.villages_frame``) and the request
   (``engine.request_from_params``) become the engine ``Instance``; the travel source is the
   one the params name (built-in model, the office's matrix CSV, or an OSRM server);
2. **solve**: ``engine.solve`` with the params' time limit, seed and solution limit;
3. **validate**: the independent validator (``engine.validate_plan``) re-checks the plan
   against the instance, and the Plan JSON is checked against ``plan.schema.json``. A plan
   with any problem raises :class:`PlanningError` and is **never stored or written**;
4. **store** (``run`` only): a re-plan keeps the earlier days of the version it starts from
   (``plan_json.merge_replan``); ``plan_json.finalise`` sets the stored keys; plan, version and
   job status are written in ONE transaction (``plan_store``). Nothing is written on failure.

Plain Python over the persistence layer: no Flask import.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from . import audit, engine, plan_json, plan_store, repository, roster, settings
from .extensions import db
from .models import Dataset, PlanJob, PlanVersion
from .params import ParamsError, PlanParams
from .params import build as build_params
from .params import team as team_params

log = logging.getLogger(__name__)

#: ``progress(phase, elapsed_s, best_people, n_solutions)``; phase is ``preparing``,
#: ``solving``, ``checking`` or ``storing``.
Progress = Callable[[str, float | None, float | None, int | None], None]


class PlanningError(Exception):
    """A plan that cannot be made or stored; the message is for the coordinator, as is."""


class JobGone(PlanningError):
    """The job was cancelled, or another process took it over, while this run solved it:
    nothing of this run is stored (the job row already says what happened)."""


@dataclass(frozen=True)
class Outcome:
    """A solved and validated plan (not stored yet)."""

    params: PlanParams
    dataset: Dataset
    plan: dict          # Plan JSON as the engine wrote it (validated)
    instance: dict      # what the solver saw (``Instance.to_dict``)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --------------------------------------------------------------------------- steps
def load_params(data: dict) -> PlanParams:
    """Stored or submitted params → :class:`PlanParams` (``PlanningError`` when unusable)."""
    try:
        return PlanParams.from_dict(data)
    except ParamsError as exc:
        raise PlanningError(str(exc)) from exc


def travel_source(params: PlanParams):
    """The travel source the params name (``planner.travel``). ``network``: the regency's
    imported roads and rivers (``planner.networks.travel_source``), with the built-in estimate
    for every leg off the network; without any road or river layer, the built-in estimate for
    every leg (the plan's ``travel`` block says so)."""
    from . import travel

    settings = travel.TravelParams(**dict(params.travel.settings))
    if params.travel.source == "network":
        from . import networks

        src = networks.travel_source(settings, fallback=travel.GreatCircleTravel(settings))
        return src if src is not None else travel.GreatCircleTravel(settings)
    if params.travel.source == "matrix":
        return travel.MatrixCsvTravel(params.travel.file, settings)
    if params.travel.source == "osrm":
        return travel.OsrmTravel(params.travel.url, settings)
    return travel.GreatCircleTravel(settings)


def _build(params: PlanParams) -> tuple[Dataset, Any, Any]:
    """The dataset, the engine instance and the travel source that built its matrices."""
    from . import travel

    dataset = repository.get_dataset(params.dataset_id)
    if dataset is None:
        raise PlanningError("Data (rekap) untuk rencana ini tidak ditemukan. Impor data dulu.")
    frame = repository.villages_frame(dataset)
    if len(frame) == 0:
        raise PlanningError("Data ini belum berisi desa dengan angka rekaman.")
    try:
        request = engine.request_from_params(params, dataset=dataset.name)
        src = travel_source(params)
        return dataset, engine.build_instance(frame, request, src), src
    except (engine.PlanInputError, travel.TravelError) as exc:
        raise PlanningError(f"Rencana tidak dapat disusun: {exc}") from exc


def build_instance(params: PlanParams) -> tuple[Dataset, Any]:
    """The dataset and the engine instance for ``params``."""
    dataset, instance, _src = _build(params)
    return dataset, instance


#: Leg paths are simplified to this many metres (Douglas-Peucker) and rounded to 5 decimals
#: (about 1 m), which keeps a plan file small (docs/reference/plan-json.md#leg-paths).
PATH_SIMPLIFY_M = 20.0


def _point_index(points) -> tuple[dict, dict]:
    by_code, by_xy = {}, {}
    for i, (lat, lon, code, kind) in enumerate(zip(points["lat"], points["lon"], points["code"],
                                                   points["kind"], strict=True)):
        if kind not in ("base", "start"):
            by_code.setdefault(str(code), i)
        by_xy.setdefault((round(float(lat), 5), round(float(lon), 5)), i)
    return by_code, by_xy


def _where(place: dict, by_code: dict, by_xy: dict) -> int | None:
    code = place.get("site_code") or place.get("code")
    if code is not None and str(code) in by_code:
        return by_code[str(code)]
    return by_xy.get((round(float(place["lat"]), 5), round(float(place["lon"]), 5)))


def _rounded_parts(parts) -> list[dict]:
    out = []
    for mode, coords in parts:
        pts = []
        for la, lo in coords:
            c = [round(float(la), 5), round(float(lo), 5)]
            if not pts or pts[-1] != c:
                pts.append(c)
        if len(pts) == 1:
            pts.append(list(pts[0]))
        if pts:
            out.append({"mode": mode, "coords": pts})
    return out


def add_leg_paths(plan: dict, instance, src, source: str) -> dict:
    """Each leg's path from the travel source that built the instance (network legs follow the
    roads and rivers; a leg the network could not give is the straight line, marked
    ``fallback``), and the plan's ``travel`` block: the source asked for, the source used, the
    legs, the fallback legs, the sites off the network and the matrices' notes."""
    from . import network as netmod

    notes: list[str] = []
    for m in (instance.matrices or {}).values():
        for n in m.notes:
            if n not in notes:
                notes.append(n)
    used = {"greatcircle": "builtin", "matrix_csv": "matrix", "osrm": "osrm",
            "network": "network"}.get(getattr(src, "name", ""), source)
    travel: dict[str, Any] = {"source": source, "used": used}
    if source == "network" and used != "network":
        notes.insert(0, "Belum ada lapisan jalan atau sungai yang diimpor: semua perjalanan "
                        "memakai perkiraan bawaan (garis lurus × kelokan ÷ kecepatan).")
    if not isinstance(src, netmod.NetworkTravel):
        travel["notes"] = notes
        return plan_json.attach_paths(plan, lambda leg: None, travel)
    by_code, by_xy = _point_index(instance.points)
    cache: dict[tuple, dict | None] = {}
    counts = {"legs": 0, "fallback": 0}
    off_codes: set[str] = set()
    points = instance.points
    for last in src._by_mode.values():  # per vehicle mode of the plan's teams
        for i in last.get("off") or []:
            if points["kind"].iloc[i] not in ("base", "start"):
                off_codes.add(str(points["code"].iloc[i]))

    def path_of(leg) -> dict | None:
        a, b = _where(leg.origin, by_code, by_xy), _where(leg.dest, by_code, by_xy)
        if a is None or b is None or a == b:
            return None
        vehicle = str(leg.team.get("mode") or "road")
        key = (vehicle, a, b)
        if key not in cache:
            try:
                route = src.route(a, b, vehicle)
            except netmod.NetworkError:
                cache[key] = None
            else:
                parts = [(m, netmod._simplified(list(c), PATH_SIMPLIFY_M)) for m, c in route.parts]
                cache[key] = {"fallback": bool(route.fallback), "parts": _rounded_parts(parts)}
        path = cache[key]
        counts["legs"] += 1
        if path is None or path["fallback"]:
            counts["fallback"] += 1
        return path

    plan_json.attach_paths(plan, path_of)
    travel.update({"legs": counts["legs"], "fallback_legs": counts["fallback"],
                   "off_network": sorted(off_codes), "notes": notes})
    plan["travel"] = travel
    return plan


def solve(params: PlanParams, progress: Progress | None = None, *, workers: int = 2) -> Outcome:
    """Build, solve and validate ``params``. Raises :class:`PlanningError` when the plan cannot
    be made or fails a check (nothing is returned then, so nothing can be stored)."""
    if progress is not None:
        progress("preparing", None, None, None)
    dataset, instance, src = _build(params)
    db.session.commit()  # end the read transaction before a long solve
    if progress is not None:
        progress("solving", None, None, None)
    cb = (lambda e, b, n: progress("solving", e, b, n)) if progress is not None else None
    s = params.solver
    try:
        plan = engine.solve(instance, time_limit=float(s.time_limit), seed=int(s.seed),
                            progress=cb, workers=workers, solution_limit=s.solution_limit)
    except engine.PlanInputError as exc:  # e.g. locks that cannot be met together
        raise PlanningError(f"Rencana tidak dapat dihitung: {exc}") from exc
    if progress is not None:
        progress("checking", None, None, None)
    result = add_leg_paths(plan.to_dict(), instance, src, params.travel.source)
    instance_dict = instance.to_dict()
    problems = engine.validate_plan(result, instance_dict) + plan_json.schema_errors(result)
    if problems:
        log.error("Plan failed validation (%d problems): %s", len(problems), problems[:20])
        raise PlanningError(
            "Rencana hasil perhitungan tidak lolos pemeriksaan ulang, jadi tidak disimpan. "
            "Coba lagi dengan batas waktu atau seed lain. Masalah: " + "; ".join(problems[:3]))
    _check_must_visit(params, result)
    return Outcome(params=params, dataset=dataset, plan=result, instance=instance_dict)


def _check_must_visit(params: PlanParams, result: dict) -> None:
    """A must-visit village is planned, or the plan is refused naming what prevents it."""
    must = set(params.selection.must_visit)
    if not must:
        return
    planned = {r.site_code for r in plan_json.iter_stops(result)}
    planned |= {p.get("code") for r in plan_json.iter_stops(result) for p in r.stop.get("pooled") or []}
    dropped = {d["site_code"]: d for d in result.get("dropped") or [] if not d.get("partial")}
    missing = sorted(c for c in must if c not in planned and c in dropped)
    if missing:
        reasons = "; ".join(f"{dropped[c]['name']} ({c}): {dropped[c]['detail'] or dropped[c]['reason']}"
                            for c in missing[:5])
        raise PlanningError(
            "Desa yang wajib dikunjungi tidak dapat masuk rencana, jadi rencana tidak disimpan. "
            f"{reasons}. Ubah tim, hari, kunci atau daftar wajib dikunjungi lalu hitung lagi.")


def finalise(outcome: Outcome, *, plan_id: int, version: int, plan_name: str) -> dict:
    """The Plan JSON as stored: merged with the earlier days on a re-plan, store keys set,
    schema-checked (``PlanningError`` if it does not conform)."""
    params = outcome.params
    result = outcome.plan
    if params.replan is not None:
        base = plan_store.get_version(params.replan.plan_id, params.replan.from_version)
        if base is None or not base.result:
            raise PlanningError("Versi rencana yang dihitung ulang tidak ditemukan.")
        result = plan_json.merge_replan(base.result, result, params.replan.from_date)
    ds = outcome.dataset
    result = plan_json.finalise(
        result, plan_id=plan_id, version=version, plan_name=plan_name, dataset=ds.name,
        dataset_id=ds.id, params=params.to_dict(), fictional=bool(ds.fictional),
        synthetic=bool(ds.synthetic))
    problems = plan_json.schema_errors(result)
    if problems:
        log.error("Stored plan does not conform to the schema: %s", problems[:20])
        raise PlanningError("Rencana tidak sesuai format Plan JSON, jadi tidak disimpan: "
                            + "; ".join(problems[:3]))
    return result


def _finish_job(job: PlanJob, job_worker: str | None, plan_id: int, version_id: int) -> None:
    """Mark ``job`` done in the plan's transaction, only while it is still ``running`` under
    ``job_worker`` (the process that claimed it): a cancelled job, or one a reaper gave to
    another worker, raises :class:`JobGone` and the whole transaction is rolled back. Under
    PostgreSQL a concurrent cancel and this UPDATE lock the same row: one of them wins."""
    q = update(PlanJob).where(PlanJob.id == job.id, PlanJob.status == "running")
    if job_worker is not None:
        q = q.where(PlanJob.worker == job_worker)
    result = db.session.execute(
        q.values(plan_id=plan_id, version_id=version_id, status="done", error=None,
                 finished_at=utcnow()).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise JobGone("Perhitungan ini sudah dibatalkan atau diambil alih proses lain; hasilnya "
                      "tidak disimpan.")


def store(outcome: Outcome, *, job: PlanJob | None = None,
          job_worker: str | None = None) -> PlanVersion:
    """Write the plan (a new plan, or a new version of ``params.replan.plan_id``) and the job
    status in one transaction (the job only while ``job_worker`` still runs it)."""
    params = outcome.params
    try:
        if params.replan is not None:
            plan = plan_store.get_plan(params.replan.plan_id)
            if plan is None:
                raise PlanningError("Rencana yang akan dihitung ulang tidak ditemukan.")
            newest = plan_store.next_version_number(plan.id) - 1
            if newest != params.replan.from_version:
                # someone else re-planned this plan meanwhile: never mix two re-plans
                raise PlanningError(
                    f"Rencana ini sudah punya versi {newest} yang lebih baru dari versi "
                    f"{params.replan.from_version} yang Anda hitung ulang (dibuat orang lain "
                    "sementara perhitungan ini berjalan). Tidak ada yang disimpan: buka versi "
                    f"{newest} lalu hitung ulang dari sana.")
        else:
            plan = plan_store.create_plan(params.name or "Rencana", outcome.dataset.id,
                                          commit=False)
        number = plan_store.next_version_number(plan.id)
        result = finalise(outcome, plan_id=plan.id, version=number, plan_name=plan.name)
        version = plan_store.add_version(
            plan, number, params.to_dict(), result,
            replanned_from=params.replan.from_date if params.replan else None)
        audit.record("plan.replan" if params.replan else "plan.create",
                     f"plan {plan.id} v{number}",
                     after={"name": plan.name, **result["totals"],
                            "replanned_from": result.get("replanned_from")})
        if job is not None:
            _finish_job(job, job_worker, plan.id, version.id)
        db.session.commit()
    except IntegrityError as exc:  # the same version number written twice at once
        db.session.rollback()
        raise PlanningError("Rencana ini baru saja disimpan dengan nomor versi yang sama oleh "
                            "perhitungan lain. Tidak ada yang disimpan: buka versi terbaru lalu "
                            "hitung ulang dari sana.") from exc
    except Exception:
        db.session.rollback()
        raise
    return version


def run(params: PlanParams, progress: Progress | None = None, *, job: PlanJob | None = None,
        workers: int = 2, job_worker: str | None = None) -> PlanVersion:
    """Solve, validate and store ``params`` (see the module docstring)."""
    if params.replan is not None and plan_store.get_plan(params.replan.plan_id) is None:
        raise PlanningError("Rencana yang akan dihitung ulang tidak ditemukan.")
    outcome = solve(params, progress, workers=workers)
    if progress is not None:
        progress("storing", None, None, None)
    return store(outcome, job=job, job_worker=job_worker)


# --------------------------------------------------------------------------- sample plan
def next_monday(today: dt.date | None = None) -> dt.date:
    today = today or dt.date.today()
    return today + dt.timedelta(days=(7 - today.weekday()) % 7 or 7)


def sample_params(time_limit: float = 10, *, start_date: dt.date | None = None) -> PlanParams:
    """The sample plan: the office's roster (its first three teams; without a roster three
    teams from the default base, the third with a car and a boat, up to 3 nights away) × 5
    working days; seed 1; the form's other defaults."""
    base = repository.default_base()
    if base is None:
        raise PlanningError("Belum ada pangkalan tim (kantor): rencana contoh tidak dapat dibuat.")
    dataset = repository.current_dataset()
    if dataset is None:
        raise PlanningError("Belum ada data: impor rekap dan batas desa dulu.")
    b = {"id": base.id, "name": base.name, "lat": base.lat, "lon": base.lon}
    # the office's roster when it has one (the demo's: two car teams and a boat team from the
    # pier), else three teams from the default base, the third with a car and a boat
    teams = [roster.team_request(t, base) for t in roster.list_teams()[:3]]
    if not teams:
        teams = [team_params("Tim 1", b), team_params("Tim 2", b),
                 team_params("Tim 3 (perahu)", b, mode="both", max_nights=3)]
    return build_params(
        name=f"Rencana contoh ({len(teams)} tim × 5 hari)", dataset_id=dataset.id,
        teams=teams,
        start_date=start_date or next_monday(), days=5, time_limit=time_limit, seed=1,
        travel=settings.travel_choice())


def create_sample_plan(time_limit: float = 10, *, start_date: dt.date | None = None,
                       workers: int = 2) -> PlanVersion:
    """Solve and store the sample plan on the current dataset (``planner load-demo``), so a
    newcomer sees routes at once. Raises :class:`PlanningError`; nothing is stored then."""
    return run(sample_params(time_limit, start_date=start_date), workers=workers)
