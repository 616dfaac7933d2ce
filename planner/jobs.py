"""Background solving of plans: the form's parameters → the engine → a stored plan version.

The story of a job:

1. ``submit_plan_job(app, params)`` writes a ``PlanJob`` row (status ``queued``) and hands it to
   one worker thread owned by the app (``app.extensions["planner_jobs"]``, one solve at a time:
   the solver already uses both cores). With ``app.config["PLAN_ASYNC"]`` False (tests) the job
   runs inline, before the function returns.
2. ``run_job`` (worker thread, its own app context and so its own database session) marks the
   job ``running``, builds the engine instance from the dataset, solves it, checks the plan with
   the independent validator and, only then, stores plan + version + job status in ONE
   transaction (``solve_and_store``). Anything that goes wrong marks the job ``failed`` with a
   paragraph for the coordinator in ``PlanJob.error``; the traceback goes to the log only.
   A failed job never creates a plan or touches an existing version.
3. While the solver runs, a small ticker thread writes ``PlanJob.progress`` about once a
   second: ``{"phase", "started_at", "elapsed", "best", "solutions", "time_limit"}``, where
   ``best`` is the expected people of the best plan found so far (as reported by the engine's
   ``progress`` callback). The ticker uses its own short sessions on the same engine, so it is
   safe whichever thread the solver calls back from.

Parameters (``params``, JSON, stored on the job and on the version) — see ``normalise_params``:
``name, dataset_id, plan_id? (re-plan: add a version to this plan), replanned_from?, teams[]
{name, base{name,lat,lon}, kits, mode, max_nights, minutes_per_person?, setup_min?}, start_date,
days, work_start, work_end, holidays[], skip_weekends, below (0–1 or None), min_unrecorded,
turnout (0–1), turnout_overrides{}, must_visit[], exclude[], locks[] {site_code, date, team},
pooling None|{radius_km, decay?}, time_limit, seed``.

No Flask import: ``app`` is only used for ``app.app_context()``, ``app.config`` and
``app.extensions``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from . import plan_store
from .extensions import db
from .models import Plan, PlanJob, PlanVersion

log = logging.getLogger(__name__)

EXTENSION_KEY = "planner_jobs"
_executor_lock = threading.Lock()
# A job still queued/running this long after its time limit is considered lost (server restart).
STALE_MARGIN_S = 600

GENERIC_ERROR = (
    "Perhitungan rencana gagal karena kesalahan di dalam program. Rencana yang sudah tersimpan "
    "tidak berubah. Coba lagi dengan batas waktu lain atau laporkan ke admin (rincian ada di log "
    "server)."
)
LOST_ERROR = (
    "Perhitungan ini terhenti sebelum selesai (server mungkin dimulai ulang). Rencana yang sudah "
    "tersimpan tidak berubah. Silakan kirim ulang formulir."
)


class PlanJobError(Exception):
    """A solve that cannot be done; the message is shown to the coordinator as is."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --------------------------------------------------------------------------- parameters
DEFAULTS: dict[str, Any] = {
    "work_start": "08:00",
    "work_end": "16:00",
    "holidays": [],
    "skip_weekends": True,
    "below": None,
    "min_unrecorded": 0,
    "turnout": 0.6,
    "turnout_overrides": {},
    "must_visit": [],
    "exclude": [],
    "locks": [],
    "pooling": None,
    "seed": 1,
}


def normalise_params(params: dict, *, default_time_limit: float = 30) -> dict:
    """A copy of ``params`` with defaults filled in (what is stored with the job/version)."""
    out = {k: (list(v) if isinstance(v, list) else (dict(v) if isinstance(v, dict) else v))
           for k, v in DEFAULTS.items()}
    out.update({k: v for k, v in (params or {}).items() if v is not None or k in ("below", "pooling")})
    out.setdefault("time_limit", default_time_limit)
    return out


def _date(value, what: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise PlanJobError(f"Tanggal tidak sah untuk {what}: {value!r}.") from exc


def build_request(params: dict, *, dataset_name: str = ""):
    """The engine's ``PlanRequest`` for stored ``params``."""
    import dataclasses

    from . import engine

    teams = []
    for i, t in enumerate(params.get("teams") or []):
        base = t.get("base") or {}
        try:
            base_tuple = (str(base["name"]), float(base["lat"]), float(base["lon"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanJobError(f"Pangkalan tim {t.get('name') or i + 1} tidak lengkap.") from exc
        kwargs: dict[str, Any] = {
            "name": str(t.get("name") or f"Tim {i + 1}"),
            "base": base_tuple,
            "kits": int(t.get("kits") or 3),
            "mode": t.get("mode") or "road",
            "max_nights": int(t.get("max_nights") or 0),
        }
        for key in ("minutes_per_person", "setup_min"):
            if t.get(key) is not None:
                kwargs[key] = float(t[key])
        if t.get("available_dates"):
            kwargs["available_dates"] = tuple(_date(d, "tanggal tim") for d in t["available_dates"])
        teams.append(engine.TeamSpec(**kwargs))
    if not teams:
        raise PlanJobError("Rencana membutuhkan paling sedikit satu tim.")

    pooling = None
    if params.get("pooling"):
        p = params["pooling"]
        pkw = {"radius_km": float(p.get("radius_km") or 5.0)}
        if p.get("decay") is not None:
            pkw["decay"] = float(p["decay"])
        pooling_cls = getattr(engine, "PoolingParams", None)
        if pooling_cls is None:
            from .engine.pooling import PoolingParams as pooling_cls
        pooling = pooling_cls(**pkw)

    locks = tuple(
        engine.Lock(site_code=str(lk["site_code"]), date=_date(lk["date"], "kunci"), team=str(lk["team"]))
        for lk in (params.get("locks") or [])
    )
    extra = tuple(engine.SiteSpec(**s) for s in (params.get("extra_sites") or []))
    kwargs = {
        "teams": tuple(teams),
        "start_date": _date(params.get("start_date"), "tanggal mulai"),
        "days": int(params.get("days") or 1),
        "work_start": params.get("work_start") or "08:00",
        "work_end": params.get("work_end") or "16:00",
        "holidays": tuple(_date(d, "hari libur") for d in params.get("holidays") or []),
        "skip_weekends": bool(params.get("skip_weekends", True)),
        "turnout": float(params.get("turnout") if params.get("turnout") is not None else 0.6),
        "turnout_overrides": {str(k): float(v) for k, v in (params.get("turnout_overrides") or {}).items()},
        "below": params.get("below"),
        "min_unrecorded": int(params.get("min_unrecorded") or 0),
        "must_visit": tuple(params.get("must_visit") or ()),
        "exclude": tuple(params.get("exclude") or ()),
        "extra_sites": extra,
        "locks": locks,
        "pooling": pooling,
        "dataset": dataset_name,
        "base_name": teams[0].base[0],
    }
    known = {f.name for f in dataclasses.fields(engine.PlanRequest)}
    return engine.PlanRequest(**{k: v for k, v in kwargs.items() if k in known})


def build_instance_for(params: dict):
    """The engine instance (what the solver sees) for stored ``params`` on their dataset."""
    from . import engine, repository

    dataset = repository.get_dataset(params.get("dataset_id"))
    if dataset is None:
        raise PlanJobError("Data (rekap) untuk rencana ini tidak ditemukan. Impor data dulu.")
    frame = repository.villages_frame(dataset)
    if len(frame) == 0:
        raise PlanJobError("Data ini belum berisi desa dengan angka rekaman.")
    try:
        request = build_request(params, dataset_name=dataset.name)
        return dataset, engine.build_instance(frame, request)
    except PlanJobError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise PlanJobError(f"Parameter rencana tidak dapat dipakai: {exc}") from exc


def solve_params(params: dict, progress=None, *, workers: int = 2) -> tuple[Any, dict, dict]:
    """Build, solve and validate: returns ``(dataset, plan_dict, instance_dict)``.

    Raises ``PlanJobError`` when the plan cannot be made or fails the validator."""
    from . import engine

    dataset, instance = build_instance_for(params)
    db.session.commit()  # end the read transaction before a long solve
    if progress is not None:
        progress("solving", None, None, None)
    cb = (lambda e, b, n: progress("solving", e, b, n)) if progress is not None else None
    try:
        plan = engine.solve(instance, time_limit=float(params.get("time_limit") or 30),
                            seed=int(params.get("seed") or 0), progress=cb, workers=workers)
    except engine.PlanInputError as exc:  # e.g. locks that cannot be met together
        raise PlanJobError(f"Rencana tidak dapat dihitung: {exc}") from exc
    if progress is not None:
        progress("checking", None, None, None)
    result = plan.to_dict()
    instance_dict = instance.to_dict()
    problems = engine.validate_plan(result, instance_dict)
    if problems:
        log.error("Plan failed validation (%d problems): %s", len(problems), problems[:20])
        shown = "; ".join(problems[:3])
        raise PlanJobError(
            "Rencana hasil perhitungan tidak lolos pemeriksaan ulang, jadi tidak disimpan. "
            f"Coba lagi dengan batas waktu atau seed lain. Masalah: {shown}"
        )
    result["dataset"] = dataset.name
    rparams = result.setdefault("params", {})
    for key in ("name", "dataset_id", "below", "min_unrecorded", "must_visit", "exclude",
                "pooling", "holidays", "time_limit", "seed", "turnout", "days", "start_date",
                "work_start", "work_end"):
        if key in params:
            rparams.setdefault(key, params[key])
    return dataset, result, instance_dict


def solve_and_store(params: dict, progress=None, *, job: PlanJob | None = None,
                    workers: int = 2) -> PlanVersion:
    """Solve ``params`` and store the result as a new version (of ``params["plan_id"]`` when set,
    else of a new plan named ``params["name"]``), all in one transaction with the job update."""
    plan_id = params.get("plan_id")
    if plan_id is not None and plan_store.get_plan(int(plan_id)) is None:
        raise PlanJobError("Rencana yang akan dihitung ulang tidak ditemukan.")
    dataset, result, _instance = solve_params(params, progress, workers=workers)
    if plan_id is not None and params.get("replanned_from"):
        result = _merge_replan(int(plan_id), result, params)
    try:
        if plan_id is not None:
            plan = db.session.get(Plan, int(plan_id))
        else:
            plan = plan_store.create_plan(params.get("name") or "Rencana", dataset.id, params,
                                          commit=False)
        version = plan_store.save_version(plan, params, result, params.get("replanned_from"),
                                          commit=False)
        if job is not None:
            job.plan_id = plan.id
            job.version_id = version.id
            job.status = "done"
            job.error = None
            job.finished_at = utcnow()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return version


def _merge_replan(plan_id: int, result: dict, params: dict) -> dict:
    """A re-plan solves only the remaining days: keep the earlier days of the version it
    starts from (``params["from_version"]``, default the latest) — ``planner.field``'s rule."""
    try:
        from .field import merge_replan
    except ImportError:  # pragma: no cover - field loop not installed
        return result
    base = (plan_store.get_version(plan_id, int(params["from_version"]))
            if params.get("from_version") else plan_store.latest_version(plan_id))
    if base is None or not base.result:
        return result
    return merge_replan(base.result, result, _date(params["replanned_from"], "hitung ulang"))


# --------------------------------------------------------------------------- progress ticker
class ProgressTicker:
    """Writes ``PlanJob.progress`` about once a second from its own thread and sessions."""

    def __init__(self, engine, job_id: int, time_limit: float, interval: float = 1.0):
        self.engine = engine
        self.job_id = job_id
        self.interval = interval
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        self.state: dict[str, Any] = {
            "phase": "preparing", "started_at": utcnow().isoformat(timespec="seconds") + "Z",
            "elapsed": 0.0, "best": None, "solutions": 0, "time_limit": time_limit,
        }
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"plan-job-{job_id}-progress",
                                        daemon=True)

    def start(self) -> ProgressTicker:
        self._write()
        self._thread.start()
        return self

    def update(self, phase: str, elapsed=None, best=None, solutions=None) -> None:
        with self.lock:
            self.state["phase"] = phase
            if best is not None:
                self.state["best"] = round(float(best), 1)
            if solutions is not None:
                self.state["solutions"] = int(solutions)

    def snapshot(self) -> dict:
        with self.lock:
            state = dict(self.state)
        state["elapsed"] = round(time.monotonic() - self.t0, 1)
        return state

    def _write(self) -> None:
        try:
            with Session(self.engine) as s:
                s.execute(update(PlanJob).where(PlanJob.id == self.job_id,
                                                PlanJob.status == "running")
                          .values(progress=self.snapshot()))
                s.commit()
        except Exception:  # noqa: BLE001 - progress is best effort, never kills the solve
            log.warning("Could not write progress of plan job %s", self.job_id, exc_info=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._write()

    def stop(self) -> dict:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        return self.snapshot()


# --------------------------------------------------------------------------- jobs
def _executor(app) -> ThreadPoolExecutor:
    with _executor_lock:
        ex = app.extensions.get(EXTENSION_KEY)
        if ex is None:
            ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plan-job")
            app.extensions[EXTENSION_KEY] = ex
        return ex


def submit_plan_job(app, params: dict) -> int:
    """Queue a solve of ``params``; returns the job id. Call inside an app context."""
    params = normalise_params(params, default_time_limit=app.config.get("PLAN_TIME_LIMIT_S", 30))
    job = PlanJob(status="queued", params=params, plan_id=params.get("plan_id"),
                  progress={"phase": "queued", "elapsed": 0, "best": None, "solutions": 0,
                            "time_limit": params.get("time_limit")})
    db.session.add(job)
    db.session.commit()
    job_id = job.id
    if app.config.get("PLAN_ASYNC", True):
        _executor(app).submit(run_job, app, job_id)
    else:
        run_job(app, job_id)
    return job_id


def run_job(app, job_id: int) -> None:
    """Run one job to the end (``done`` or ``failed``); never raises."""
    try:
        with app.app_context():
            _run_job_in_context(job_id, workers=int(app.config.get("PLAN_WORKERS", 2)))
    except Exception:  # noqa: BLE001 - last resort: the job must not stay "running"
        log.exception("Plan job %s crashed", job_id)
        try:
            with app.app_context():
                _mark_failed(job_id, GENERIC_ERROR, None)
        except Exception:  # noqa: BLE001
            log.exception("Could not mark plan job %s as failed", job_id)


def _run_job_in_context(job_id: int, *, workers: int) -> None:
    job = db.session.get(PlanJob, job_id)
    if job is None or job.status not in ("queued", "running"):
        return
    params = dict(job.params or {})
    job.status = "running"
    db.session.commit()
    ticker = ProgressTicker(db.engine, job_id, float(params.get("time_limit") or 30)).start()
    try:
        solve_and_store(params, ticker.update, job=job, workers=workers)
    except PlanJobError as exc:
        log.info("Plan job %s failed: %s", job_id, exc)
        db.session.rollback()
        _mark_failed(job_id, str(exc), ticker.stop())
        return
    except Exception:  # noqa: BLE001
        log.exception("Plan job %s failed with an unexpected error", job_id)
        db.session.rollback()
        _mark_failed(job_id, GENERIC_ERROR, ticker.stop())
        return
    final = ticker.stop()
    final["phase"] = "done"
    job = db.session.get(PlanJob, job_id)
    job.progress = final
    db.session.commit()


def _mark_failed(job_id: int, message: str, progress: dict | None) -> None:
    job = db.session.get(PlanJob, job_id)
    if job is None:
        return
    job.status = "failed"
    job.error = message
    job.finished_at = utcnow()
    if progress is not None:
        progress = dict(progress)
        progress["phase"] = "failed"
        job.progress = progress
    db.session.commit()


def get_job(job_id: int) -> PlanJob | None:
    return db.session.get(PlanJob, job_id)


def job_state(job: PlanJob) -> dict[str, Any]:
    """What the progress page shows (the ``.json`` endpoint); marks a lost job as failed."""
    progress = dict(job.progress or {})
    if job.status in ("queued", "running"):
        limit = float((job.params or {}).get("time_limit") or 30)
        age = (utcnow() - job.created_at).total_seconds() if job.created_at else 0
        if age > limit + STALE_MARGIN_S:
            _mark_failed(job.id, LOST_ERROR, progress)
            db.session.refresh(job)
            progress = dict(job.progress or {})
    elapsed = progress.get("elapsed") or 0
    if job.status == "running" and progress.get("started_at"):
        try:
            started = dt.datetime.fromisoformat(progress["started_at"].rstrip("Z"))
            elapsed = max(float(elapsed), (utcnow() - started).total_seconds())
        except (ValueError, TypeError):
            pass
    version = db.session.get(PlanVersion, job.version_id) if job.version_id else None
    return {
        "id": job.id,
        "status": job.status,
        "phase": progress.get("phase") or job.status,
        "elapsed": round(float(elapsed), 1),
        "best": progress.get("best"),
        "solutions": progress.get("solutions") or 0,
        "time_limit": progress.get("time_limit") or (job.params or {}).get("time_limit"),
        "error": job.error if job.status == "failed" else None,
        "plan_id": job.plan_id if version is not None else None,
        "version": version.version if version is not None else None,
    }
