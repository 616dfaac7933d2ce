"""Background solving: plan requests queue in the database and run through ``planner.pipeline``.

The queue is the ``plan_jobs`` table, so it holds under several server processes
(``planner serve`` runs gunicorn workers) and across restarts:

1. ``submit_plan_job(app, params, submitted_by=…)`` writes a ``queued`` row with the
   ``plan-params/1`` dict — refused with :class:`QueueFull` when that account already has
   ``PLAN_QUEUE_PER_USER`` jobs waiting or running — and wakes this process's runner. With
   ``app.config["PLAN_ASYNC"]`` False (tests) the job runs inline instead.
2. Each server process has one runner thread (:class:`Runner`). About once a second it reaps
   lost jobs, then **claims** the oldest queued job with one conditional UPDATE (status
   ``queued`` → ``running``, only while fewer than ``PLAN_CONCURRENCY`` jobs run anywhere;
   under PostgreSQL inside an advisory lock): a job is never run twice, whichever process
   claims it. The claimed job runs ``pipeline.run`` — the same path as every other caller —
   which solves, checks and, only then, stores plan + version + job status in ONE transaction.
   A failure marks the job ``failed`` with a paragraph for the coordinator; the traceback
   goes to the log only. A failed job never creates a plan or touches an existing version.
3. While the job runs, a ticker thread writes ``PlanJob.progress`` and ``heartbeat_at`` about
   once a second. A ``running`` job whose process is gone (same machine: its pid is dead) or
   whose heartbeat is older than ``STALE_S`` is **lost**: it is marked failed at once, with a
   message that nothing changed, and the coordinator can retry it (``retry``). The solver's
   worker processes die with their parent (``planner.engine.core``), so no orphan solver
   outlives its job. Queued jobs wait for a slot however long that takes.

No Flask import: ``app`` is only used for ``app.app_context()``, ``app.config`` and
``app.extensions``.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import socket
import threading
import time
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from . import audit, pipeline
from .extensions import db
from .models import PlanJob, PlanVersion, User
from .params import PlanParams

log = logging.getLogger(__name__)

EXTENSION_KEY = "planner_jobs"
#: A running job without a heartbeat for this long is lost (its process is gone).
STALE_S = 20
#: The advisory lock id that serialises claims under PostgreSQL.
CLAIM_LOCK = 740_117

GENERIC_ERROR = (
    "Perhitungan rencana gagal karena kesalahan di dalam program. Rencana yang sudah tersimpan "
    "tidak berubah. Coba lagi dengan batas waktu lain atau laporkan ke admin (rincian ada di log "
    "server)."
)
LOST_ERROR = (
    "Perhitungan ini terhenti sebelum selesai (server dimulai ulang atau prosesnya mati). Rencana "
    "yang sudah tersimpan tidak berubah. Tekan \u201cCoba lagi\u201d untuk menghitungnya ulang."
)
STOPPED_ERROR = (
    "Perhitungan ini dihentikan karena server dimatikan. Rencana yang sudah tersimpan tidak "
    "berubah. Tekan \u201cCoba lagi\u201d untuk menghitungnya ulang."
)


class QueueFull(Exception):
    """The account already has as many plans waiting as it may (message for the user)."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _process_start() -> str:
    try:
        with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def worker_id() -> str:
    """``host:pid:start`` of this process (the start time tells a reused pid apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_process_start()}"


def worker_alive(worker: str | None) -> bool | None:
    """True/False for a worker on this machine; None when it runs elsewhere (unknown)."""
    try:
        host, pid, start = (worker or "").rsplit(":", 2)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    try:
        with open(f"/proc/{int(pid)}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19] == start
    except (OSError, ValueError, IndexError):
        return False


# --------------------------------------------------------------------------- progress ticker
class ProgressTicker:
    """Writes ``PlanJob.progress`` and the heartbeat about once a second from its own thread
    and sessions."""

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
                          .values(progress=self.snapshot(), heartbeat_at=utcnow()))
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


# --------------------------------------------------------------------------- the queue
def _active_jobs_of(user_id: int) -> int:
    return db.session.scalar(select(func.count(PlanJob.id)).where(
        PlanJob.submitted_by == user_id, PlanJob.status.in_(("queued", "running")))) or 0


def submit_plan_job(app, params: PlanParams, *, submitted_by: int | None = None) -> int:
    """Queue a solve of ``params`` for the account ``submitted_by``; returns the job id.
    Raises :class:`QueueFull` when the account already has its share of the queue. Call
    inside an app context."""
    limit = int(app.config.get("PLAN_QUEUE_PER_USER", 3))
    if submitted_by is not None and _active_jobs_of(submitted_by) >= limit:
        raise QueueFull(
            f"Anda sudah punya {limit} perhitungan yang menunggu atau berjalan. Tunggu salah "
            "satunya selesai, lalu kirim lagi.")
    job = PlanJob(status="queued", params=params.to_dict(), submitted_by=submitted_by,
                  plan_id=params.replan.plan_id if params.replan else None,
                  progress={"phase": "queued", "elapsed": 0, "best": None, "solutions": 0,
                            "time_limit": params.solver.time_limit})
    db.session.add(job)
    db.session.commit()
    job_id = job.id
    if app.config.get("PLAN_ASYNC", True):
        runner(app).wake()
    else:
        if claim(app, job_id):
            run_claimed(app, job_id)
    return job_id


def retry(app, job: PlanJob, *, submitted_by: int | None = None) -> int:
    """A new job with the params of a failed one."""
    return submit_plan_job(app, pipeline.load_params(dict(job.params or {})),
                           submitted_by=submitted_by)


def claim(app, job_id: int | None = None) -> int | None:
    """Claim one queued job (``job_id``, or the oldest) for this process, while fewer than
    ``PLAN_CONCURRENCY`` jobs run. Returns the claimed id, or None. Atomic: never two claims."""
    cap = int(app.config.get("PLAN_CONCURRENCY", 1))
    if job_id is None:
        job_id = db.session.scalar(select(PlanJob.id).where(PlanJob.status == "queued")
                                   .order_by(PlanJob.id).limit(1))
        if job_id is None:
            db.session.rollback()
            return None
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CLAIM_LOCK})
    running = select(func.count(PlanJob.id)).where(PlanJob.status == "running").scalar_subquery()
    now = utcnow()
    result = db.session.execute(
        update(PlanJob).where(PlanJob.id == job_id, PlanJob.status == "queued", running < cap)
        .values(status="running", worker=worker_id(), started_at=now, heartbeat_at=now)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return job_id if result.rowcount == 1 else None


def reap_lost() -> int:
    """Mark running jobs whose process is gone as failed (at once on this machine, after
    ``STALE_S`` without a heartbeat elsewhere). Returns how many."""
    lost = 0
    cutoff = utcnow() - dt.timedelta(seconds=STALE_S)
    for job in db.session.scalars(select(PlanJob).where(PlanJob.status == "running")).all():
        alive = worker_alive(job.worker)  # this machine: is its process still there?
        stale = job.heartbeat_at is None or job.heartbeat_at < cutoff
        if alive is False or (alive is None and stale):
            if _mark_failed(job.id, LOST_ERROR, job.progress, only_if_running=True):
                lost += 1
    return lost


def run_claimed(app, job_id: int) -> None:
    """Run one claimed job to the end (``done`` or ``failed``); never raises."""
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


def run_job(app, job_id: int) -> None:
    """Claim and run ``job_id`` now, in this thread (a job another process has claimed, or
    that is not queued, is left alone)."""
    with app.app_context():
        claimed = claim(app, job_id)
    if claimed:
        run_claimed(app, job_id)


def _run_job_in_context(job_id: int, *, workers: int) -> None:
    job = db.session.get(PlanJob, job_id)
    if job is None or job.status != "running" or job.worker != worker_id():
        return
    ticker = None
    submitter = db.session.get(User, job.submitted_by) if job.submitted_by else None
    try:
        params = pipeline.load_params(dict(job.params or {}))
        ticker = ProgressTicker(db.engine, job_id, float(params.solver.time_limit)).start()
        with audit.acting_as(submitter.id if submitter else None,
                             submitter.username if submitter else "system"):
            pipeline.run(params, ticker.update, job=job, workers=workers)
    except pipeline.PlanningError as exc:
        log.info("Plan job %s failed: %s", job_id, exc)
        db.session.rollback()
        _mark_failed(job_id, str(exc), ticker.stop() if ticker else None)
        return
    except Exception:  # noqa: BLE001
        log.exception("Plan job %s failed with an unexpected error", job_id)
        db.session.rollback()
        _mark_failed(job_id, GENERIC_ERROR, ticker.stop() if ticker else None)
        return
    final = ticker.stop()
    final["phase"] = "done"
    job = db.session.get(PlanJob, job_id)
    job.progress = final
    db.session.commit()


def _mark_failed(job_id: int, message: str, progress: dict | None, *,
                 only_if_running: bool = False) -> bool:
    progress = dict(progress or {})
    progress["phase"] = "failed"
    q = update(PlanJob).where(PlanJob.id == job_id)
    q = q.where(PlanJob.status == "running") if only_if_running else \
        q.where(PlanJob.status.in_(("queued", "running")))
    result = db.session.execute(
        q.values(status="failed", error=message, finished_at=utcnow(), progress=progress)
        .execution_options(synchronize_session=False))
    db.session.commit()
    db.session.expire_all()
    return result.rowcount == 1


# --------------------------------------------------------------------------- the runner
class Runner:
    """This process's queue runner: one thread that reaps lost jobs and runs claimed ones,
    one at a time (a solve already uses the machine's cores)."""

    def __init__(self, app):
        self.app = app
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._current: int | None = None
        self._thread = threading.Thread(target=self._loop, name="plan-runner", daemon=True)
        self._thread.start()
        atexit.register(self._on_exit)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=float(self.app.config.get("PLAN_POLL_S", 1.0)))
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                with self.app.app_context():
                    reap_lost()
                    job_id = claim(self.app)
                    db.session.remove()
                if job_id:
                    self._current = job_id
                    run_claimed(self.app, job_id)
                    self._current = None
                    self._wake.set()  # look for the next one at once
            except Exception:  # noqa: BLE001 - the runner keeps running
                log.exception("Plan runner error")
                time.sleep(1)

    def shutdown(self, wait: bool = True) -> None:
        """Stop after the current job (tests, and a server that stops gracefully)."""
        self._stop.set()
        self._wake.set()
        if wait and self._thread.is_alive():
            self._thread.join(timeout=600)

    def _on_exit(self) -> None:
        """The process is exiting: a job it is still running can no longer finish."""
        job_id = self._current
        if job_id is None:
            return
        try:
            with self.app.app_context():
                _mark_failed(job_id, STOPPED_ERROR, None, only_if_running=True)
        except Exception:  # noqa: BLE001
            pass


_runner_lock = threading.Lock()


def runner(app) -> Runner:
    """This process's runner for ``app`` (started on first use; again after a fork)."""
    with _runner_lock:
        current = app.extensions.get(EXTENSION_KEY)
        if current is None or not current._thread.is_alive() or \
                getattr(current, "pid", None) != os.getpid():
            current = Runner(app)
            current.pid = os.getpid()
            app.extensions[EXTENSION_KEY] = current
        return current


# --------------------------------------------------------------------------- reading
def get_job(job_id: int) -> PlanJob | None:
    return db.session.get(PlanJob, job_id)


def queue_position(job: PlanJob) -> int:
    """How many jobs are ahead of a queued job (0: it starts next)."""
    return db.session.scalar(select(func.count(PlanJob.id)).where(
        PlanJob.status == "queued", PlanJob.id < job.id)) or 0


def job_state(job: PlanJob) -> dict[str, Any]:
    """What the progress page shows (the ``.json`` endpoint); a lost job shows as failed."""
    if job.status == "running":
        reap_lost()
        job = db.session.get(PlanJob, job.id)
    progress = dict(job.progress or {})
    elapsed = progress.get("elapsed") or 0
    if job.status == "running" and job.started_at:
        elapsed = max(float(elapsed), (utcnow() - job.started_at).total_seconds())
    version = db.session.get(PlanVersion, job.version_id) if job.version_id else None
    return {
        "id": job.id,
        "status": job.status,
        "phase": progress.get("phase") or job.status,
        "elapsed": round(float(elapsed), 1),
        "best": progress.get("best"),
        "solutions": progress.get("solutions") or 0,
        "time_limit": progress.get("time_limit")
        or ((job.params or {}).get("solver") or {}).get("time_limit"),
        "queue_position": queue_position(job) if job.status == "queued" else None,
        "error": job.error if job.status == "failed" else None,
        "plan_id": job.plan_id if version is not None else None,
        "version": version.version if version is not None else None,
    }
