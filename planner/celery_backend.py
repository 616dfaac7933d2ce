"""Celery as the plan-job backend (``PLANNER_JOBS=celery``): the broker carries hints, the
database keeps the job.

The ``plan_jobs`` row stays the single record of a job (status, progress, heartbeat, error):
the web pages read it exactly as under the ``local`` backend. A Celery message only says "job
*N* may be run now"; the task (:data:`TASK_NAME`) hands the id to ``planner.jobs``, which
claims the job with the same conditional UPDATE as the local runner and runs
``pipeline.run``. So a message delivered twice (a redelivery after a worker died, a late
duplicate) finds the job running or finished and does nothing; a result is never written twice.

* ``acks_late`` + ``reject_on_worker_lost`` + prefetch 1: a message a dead worker had taken
  goes back to the broker (Redis: after ``CELERY_VISIBILITY_TIMEOUT``); the database reaper
  (``planner.jobs.reap_lost``, run every few seconds by each worker's sweeper thread and by
  the progress page) usually restarts the job much sooner, with a new task id
  (:func:`task_id`).
* Cancel = mark the row, then ``revoke(terminate=True)``: the pool process running the solve
  gets SIGKILL and its solver processes die with it (``PR_SET_PDEATHSIG``).
* Results live in the database; the result backend (``CELERY_RESULT_BACKEND``) is optional and
  only keeps the task's small summary.

This module builds the Celery app from the Flask app's config but imports neither Flask nor
``planner.jobs`` (the job functions are handed in: no import cycle).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

TASK_NAME = "planner.run_plan_job"
EXTENSION_KEY = "planner_celery"
#: How often (s) each worker's sweeper reaps lost jobs and sends queued jobs without a task.
SWEEP_S = 2.0


def task_id(job_id: int, attempt: int) -> str:
    """The Celery task id of one attempt of a job (the same job id and attempt: the same id)."""
    return f"planner-job-{int(job_id)}-{int(attempt)}"


def redacted(url: str | None) -> str:
    """A broker URL without its password (for messages and logs)."""
    if not url:
        return "(none)"
    try:
        from kombu.utils.url import maybe_sanitize_url

        return maybe_sanitize_url(url)
    except Exception:  # noqa: BLE001
        return "(broker)"


def celery_app(app, run_task: Callable[[Any, int], dict] | None = None):
    """The Celery app for the Flask ``app`` (made once per app; ``run_task(app, job_id)`` is the
    task body, needed only where tasks run)."""
    current = app.extensions.get(EXTENSION_KEY)
    if current is not None:
        if run_task is not None:
            current.conf.planner_run_task = run_task
        return current
    from celery import Celery

    cfg = app.config
    backend = cfg.get("CELERY_RESULT_BACKEND") or None
    celery = Celery("planner", broker=cfg.get("CELERY_BROKER_URL"), backend=backend,
                    set_as_current=False)
    queue = cfg.get("CELERY_QUEUE") or "planner"
    celery.conf.update(
        task_default_queue=queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=backend is None,
        result_expires=86400,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        broker_transport_options={
            "visibility_timeout": int(cfg.get("CELERY_VISIBILITY_TIMEOUT", 3600)),
            "socket_connect_timeout": 5, "socket_timeout": 10},
        worker_send_task_events=False,
        worker_max_tasks_per_child=int(cfg.get("CELERY_MAX_TASKS_PER_CHILD", 50)),
    )
    celery.conf.planner_run_task = run_task

    @celery.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True)
    def run_plan_job(self, job_id: int) -> dict:  # noqa: ARG001 - bound for the request id
        body = celery.conf.planner_run_task
        if body is None:
            raise RuntimeError("planner worker started without a job runner")
        return body(app, int(job_id))

    app.extensions[EXTENSION_KEY] = celery
    return celery


def send(celery, job_id: int, tid: str) -> None:
    """Publish the hint for ``job_id`` (raises when the broker cannot be reached)."""
    celery.send_task(TASK_NAME, args=[int(job_id)], task_id=tid,
                     queue=celery.conf.task_default_queue, retry=True,
                     retry_policy={"max_retries": 2, "interval_start": 0,
                                   "interval_step": 0.5, "interval_max": 1})


def revoke(celery, tid: str) -> None:
    """Stop the task ``tid`` wherever it runs or before it starts. Its pool process gets
    SIGKILL: a solve spends its time in native code, where a Python SIGTERM handler never
    runs; the job row is already marked, and the pool starts a fresh process."""
    celery.control.revoke(tid, terminate=True, signal="SIGKILL")


def node_name() -> str:
    """A worker name unique on this machine (several ``planner worker`` may run side by side)."""
    return f"planner-{os.getpid()}@{socket.gethostname()}"


def start_worker(celery, *, concurrency: int, loglevel: str, after_fork: Callable[[], None],
                 sweep: Callable[[], None], sweep_s: float = SWEEP_S,
                 pool: str = "prefork") -> None:
    """Run a Celery worker in this process until it is stopped.

    ``after_fork`` runs in each new pool process (drop the database connections inherited from
    the parent); ``sweep`` runs every ``sweep_s`` in a thread of the main process once the
    worker is ready (reap lost jobs, send queued jobs that have no task)."""
    from celery import signals

    stop = threading.Event()

    def _after_fork(**_kw):
        after_fork()

    def _sweeper():
        while not stop.wait(sweep_s):
            try:
                sweep()
            except Exception:  # noqa: BLE001 - the sweeper keeps sweeping
                log.exception("Job sweeper error")

    def _ready(**_kw):
        try:
            sweep()  # at once: jobs a dead worker left behind start again now
        except Exception:  # noqa: BLE001
            log.exception("Job sweeper error")
        threading.Thread(target=_sweeper, name="planner-job-sweeper", daemon=True).start()

    def _shutdown(**_kw):
        stop.set()

    signals.worker_process_init.connect(_after_fork, weak=False)
    signals.worker_ready.connect(_ready, weak=False)
    signals.worker_shutdown.connect(_shutdown, weak=False)
    argv = ["worker", f"--concurrency={int(concurrency)}", f"--loglevel={loglevel}",
            f"--pool={pool}", "-n", node_name(), "-Q", celery.conf.task_default_queue,
            "--without-gossip", "--without-mingle"]
    celery.worker_main(argv)
