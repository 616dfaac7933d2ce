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

Backends (``app.config["PLAN_JOBS"]``, docs/user/scaling.md): ``local`` is the above, nothing
else to run. ``celery``: ``submit_plan_job`` writes the same row and sends a Celery task
(``planner.celery_backend``) that ``planner worker`` processes run — on any machine that reaches
the broker and the database — through :func:`run_task`: the same claim, ticker and
``pipeline.run``. A lost celery job (its worker died) is put back in the queue and sent again,
at most ``retries_left`` times (``PLAN_MAX_RETRIES``), then marked failed with the reason.
Every job remembers its backend, so the local runner never takes a celery job.

Results are written once: the claim is a conditional UPDATE, and ``pipeline.store`` marks the
job ``done`` only while it is still ``running`` under the process that claimed it (a cancelled
job, or one that another worker took over, writes nothing). :func:`cancel` marks the job and,
under celery, revokes its task (the pool process running the solve is terminated).

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

from . import audit, celery_backend, pipeline, regencies
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
WORKER_LOST_ERROR = (
    "Perhitungan ini terhenti {n} kali karena proses pekerja (planner worker) mati sebelum "
    "selesai, jadi tidak dicoba lagi otomatis. Rencana yang sudah tersimpan tidak berubah. "
    "Tekan \u201cCoba lagi\u201d untuk menghitungnya ulang, atau periksa log pekerja."
)
CANCELLED_ERROR = (
    "Perhitungan ini dibatalkan{by}. Rencana yang sudah tersimpan tidak berubah. Tekan "
    "\u201cCoba lagi\u201d untuk menghitungnya ulang."
)
BROKER_ERROR = (
    "Perhitungan tidak dapat dikirim ke antrean pekerja (broker {broker} tidak dapat "
    "dihubungi). Rencana yang sudah tersimpan tidak berubah. Tekan \u201cCoba lagi\u201d "
    "sebentar lagi, atau minta admin memeriksa broker dan planner worker."
)
BACKENDS = ("local", "celery")
STOPPED_ERROR = (
    "Perhitungan ini dihentikan karena server dimatikan. Rencana yang sudah tersimpan tidak "
    "berubah. Tekan \u201cCoba lagi\u201d untuk menghitungnya ulang."
)


class QueueFull(Exception):
    """The account already has as many plans waiting as it may (message for the user)."""


def backend(app) -> str:
    """``local`` or ``celery`` (``PLAN_JOBS``); anything else is a configuration error."""
    kind = str(app.config.get("PLAN_JOBS") or "local").strip().lower()
    if kind not in BACKENDS:
        raise RuntimeError(f"PLANNER_JOBS={kind!r} is not a job backend: use "
                           + " or ".join(BACKENDS) + ".")
    return kind


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
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return False
    # a zombie (killed, not reaped yet: its parent died too) is as dead as a missing process
    return len(fields) > 19 and fields[19] == start and fields[0] not in ("Z", "X")


# --------------------------------------------------------------------------- progress ticker
class ProgressTicker:
    """Writes ``PlanJob.progress`` and the heartbeat about once a second from its own thread
    and sessions."""

    def __init__(self, engine, job_id: int, time_limit: float, interval: float = 1.0, *,
                 worker: str | None = None):
        self.engine = engine
        self.job_id = job_id
        self.worker = worker  # write only while the job is this process's run
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
                q = update(PlanJob).where(PlanJob.id == self.job_id, PlanJob.status == "running")
                if self.worker is not None:
                    q = q.where(PlanJob.worker == self.worker)
                s.execute(q.values(progress=self.snapshot(), heartbeat_at=utcnow()))
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
    kind = backend(app)
    job = PlanJob(status="queued", params=params.to_dict(), submitted_by=submitted_by,
                  plan_id=params.replan.plan_id if params.replan else None,
                  progress={"phase": "queued", "elapsed": 0, "best": None, "solutions": 0,
                            "time_limit": params.solver.time_limit},
                  backend=kind, attempts=0,
                  retries_left=max(0, int(app.config.get("PLAN_MAX_RETRIES", 2)))
                  if kind == "celery" else 0)
    db.session.add(job)
    db.session.commit()
    job_id = job.id
    if kind == "celery":
        dispatch(app, job_id, fail=True)
    elif app.config.get("PLAN_ASYNC", True):
        runner(app).wake()
    else:
        if claim(app, job_id):
            run_claimed(app, job_id)
    return job_id


def retry(app, job: PlanJob, *, submitted_by: int | None = None) -> int:
    """A new job with the params of a failed one."""
    return submit_plan_job(app, pipeline.load_params(dict(job.params or {})),
                           submitted_by=submitted_by)


def claim(app, job_id: int | None = None, *, capped: bool = True) -> int | None:
    """Claim one queued job (``job_id``, or the oldest ``local`` one) for this process, while
    fewer than ``PLAN_CONCURRENCY`` jobs run (``capped``; a Celery worker's own concurrency is
    its cap). Returns the claimed id, or None. Atomic: never two claims."""
    cap = int(app.config.get("PLAN_CONCURRENCY", 1))
    if job_id is None:
        job_id = db.session.scalar(select(PlanJob.id).where(PlanJob.status == "queued",
                                                            PlanJob.backend == "local")
                                   .order_by(PlanJob.id).limit(1))
        if job_id is None:
            db.session.rollback()
            return None
    conditions = [PlanJob.id == job_id, PlanJob.status == "queued"]
    if capped:
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CLAIM_LOCK})
        running = select(func.count(PlanJob.id)).where(
            PlanJob.status == "running").scalar_subquery()
        conditions.append(running < cap)
    now = utcnow()
    result = db.session.execute(
        update(PlanJob).where(*conditions)
        .values(status="running", worker=worker_id(), started_at=now, heartbeat_at=now,
                attempts=PlanJob.attempts + 1)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return job_id if result.rowcount == 1 else None


def reap_lost() -> int:
    """Running jobs whose process is gone (at once on this machine, after ``STALE_S`` without a
    heartbeat elsewhere): a celery job with retries left goes back to the queue (a worker's
    sweeper sends it again), any other is marked failed. Returns how many."""
    lost = 0
    cutoff = utcnow() - dt.timedelta(seconds=STALE_S)
    for job in db.session.scalars(select(PlanJob).where(PlanJob.status == "running")).all():
        alive = worker_alive(job.worker)  # this machine: is its process still there?
        stale = job.heartbeat_at is None or job.heartbeat_at < cutoff
        if not (alive is False or (alive is None and stale)):
            continue
        if job.backend == "celery" and (job.retries_left or 0) > 0:
            if _requeue(job):
                lost += 1
            continue
        message = (WORKER_LOST_ERROR.format(n=job.attempts or 1) if job.backend == "celery"
                   else LOST_ERROR)
        if _mark_failed(job.id, message, job.progress, only_if_running=True,
                        worker=job.worker):
            lost += 1
    return lost


def _requeue(job: PlanJob) -> bool:
    """A lost celery job back to ``queued`` (one retry fewer), if nobody else did it first."""
    progress = dict(job.progress or {})
    progress.update(phase="queued", best=None, solutions=0, elapsed=0,
                    restarted=int(job.attempts or 0))
    result = db.session.execute(
        update(PlanJob).where(PlanJob.id == job.id, PlanJob.status == "running",
                              PlanJob.worker == job.worker)
        .values(status="queued", worker=None, task_id=None, started_at=None, heartbeat_at=None,
                retries_left=PlanJob.retries_left - 1, progress=progress)
        .execution_options(synchronize_session=False))
    db.session.commit()
    db.session.expire_all()
    if result.rowcount == 1:
        log.warning("Plan job %s lost its worker %s: queued again (%s retries left)",
                    job.id, job.worker, (job.retries_left or 1) - 1)
    return result.rowcount == 1


def run_claimed(app, job_id: int) -> None:
    """Run one claimed job to the end (``done`` or ``failed``); never raises."""
    try:
        with app.app_context():
            _run_job_in_context(job_id, workers=int(app.config.get("PLAN_WORKERS", 2)))
    except Exception:  # noqa: BLE001 - last resort: the job must not stay "running"
        log.exception("Plan job %s crashed", job_id)
        try:
            with app.app_context():
                _mark_failed(job_id, GENERIC_ERROR, None, worker=worker_id())
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
        ticker = ProgressTicker(db.engine, job_id, float(params.solver.time_limit),
                                worker=worker_id()).start()
        with audit.acting_as(submitter.id if submitter else None,
                             submitter.username if submitter else "system"), \
                regencies.within(job.regency_id):  # the plan belongs to the job's regency
            pipeline.run(params, ticker.update, job=job, workers=workers,
                         job_worker=worker_id())
    except pipeline.PlanningError as exc:
        log.info("Plan job %s failed: %s", job_id, exc)
        db.session.rollback()
        _mark_failed(job_id, str(exc), ticker.stop() if ticker else None, worker=worker_id())
        return
    except Exception:  # noqa: BLE001
        log.exception("Plan job %s failed with an unexpected error", job_id)
        db.session.rollback()
        _mark_failed(job_id, GENERIC_ERROR, ticker.stop() if ticker else None,
                     worker=worker_id())
        return
    final = ticker.stop()
    final["phase"] = "done"
    job = db.session.get(PlanJob, job_id)
    job.progress = final
    db.session.commit()


def _mark_failed(job_id: int, message: str, progress: dict | None, *,
                 only_if_running: bool = False, worker: str | None = None,
                 phase: str = "failed") -> bool:
    progress = dict(progress or {})
    progress["phase"] = phase
    q = update(PlanJob).where(PlanJob.id == job_id)
    q = q.where(PlanJob.status == "running") if only_if_running else \
        q.where(PlanJob.status.in_(("queued", "running")))
    if worker is not None:
        q = q.where(PlanJob.worker == worker)
    result = db.session.execute(
        q.values(status="failed", error=message, finished_at=utcnow(), progress=progress)
        .execution_options(synchronize_session=False))
    db.session.commit()
    db.session.expire_all()
    return result.rowcount == 1


# --------------------------------------------------------------------------- celery backend
def celery(app):
    """The Celery app of ``app`` (``planner.celery_backend``), able to run plan jobs."""
    return celery_backend.celery_app(app, run_task)


def dispatch(app, job_id: int, *, fail: bool = False) -> bool:
    """Send the Celery task of a queued celery job that has none (its ``task_id`` is set first,
    by a conditional UPDATE: two sweepers never send it twice). When the broker cannot be
    reached the job is marked failed with the reason (``fail``, a new job) or left for the next
    sweep. Returns True when sent."""
    job = db.session.get(PlanJob, job_id)
    if job is None or job.status != "queued" or job.backend != "celery" or job.task_id:
        db.session.rollback()
        return False
    tid = celery_backend.task_id(job_id, job.attempts or 0)
    result = db.session.execute(
        update(PlanJob).where(PlanJob.id == job_id, PlanJob.status == "queued",
                              PlanJob.task_id.is_(None))
        .values(task_id=tid).execution_options(synchronize_session=False))
    db.session.commit()
    if result.rowcount != 1:
        return False
    try:
        celery_backend.send(celery(app), job_id, tid)
    except Exception as exc:  # noqa: BLE001 - kombu/redis raise many kinds
        broker = celery_backend.redacted(app.config.get("CELERY_BROKER_URL"))
        log.warning("Could not send plan job %s to the broker %s: %s", job_id, broker, exc)
        if fail:
            _mark_failed(job_id, BROKER_ERROR.format(broker=broker), None)
        else:
            db.session.execute(update(PlanJob).where(PlanJob.id == job_id,
                                                     PlanJob.task_id == tid)
                               .values(task_id=None).execution_options(synchronize_session=False))
            db.session.commit()
        return False
    return True


def sweep(app) -> dict[str, int]:
    """One round of a worker's sweeper: reap lost jobs (celery ones go back to the queue),
    then send every queued celery job that has no task. Call inside an app context."""
    lost = reap_lost()
    sent = 0
    for job_id in db.session.scalars(select(PlanJob.id).where(
            PlanJob.status == "queued", PlanJob.backend == "celery",
            PlanJob.task_id.is_(None)).order_by(PlanJob.id)).all():
        sent += dispatch(app, job_id)
    db.session.remove()
    return {"lost": lost, "sent": sent}


def run_task(app, job_id: int) -> dict:
    """The Celery task's body: claim ``job_id`` (a job that is not queued — done, running
    elsewhere, cancelled — is left alone) and run it to the end. Never raises."""
    with app.app_context():
        claimed = claim(app, job_id, capped=False)
        db.session.remove()
    if claimed:
        run_claimed(app, job_id)
    with app.app_context():
        job = db.session.get(PlanJob, job_id)
        status = job.status if job is not None else None
        db.session.remove()
    return {"job": int(job_id), "ran": bool(claimed), "status": status}


def cancel(app, job_id: int, *, by: str | None = None) -> bool:
    """Cancel a queued or running job: it is marked failed ("dibatalkan"), so whatever its
    solve finds is never stored; under celery its task is revoked (the pool process running it
    is terminated). Returns False when the job had already finished. Call inside an app
    context."""
    job = db.session.get(PlanJob, job_id)
    if job is None or job.status not in ("queued", "running"):
        return False
    tid, kind = job.task_id, job.backend
    message = CANCELLED_ERROR.format(by=f" oleh {by}" if by else "")
    if not _mark_failed(job_id, message, job.progress, phase="cancelled"):
        return False
    audit.record("plan.job_cancel", f"job {job_id}", after={"backend": kind})
    db.session.commit()
    if kind == "celery" and tid:
        try:
            celery_backend.revoke(celery(app), tid)
        except Exception as exc:  # noqa: BLE001 - marked anyway: nothing will be stored
            log.warning("Could not revoke the task of plan job %s: %s", job_id, exc)
    return True


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
                _mark_failed(job_id, STOPPED_ERROR, None, only_if_running=True,
                             worker=worker_id())
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
        "cancelled": job.status == "failed" and progress.get("phase") == "cancelled",
        "backend": job.backend or "local",
        "attempts": job.attempts or 0,
        "plan_id": job.plan_id if version is not None else None,
        "version": version.version if version is not None else None,
    }
