"""Read an uploaded file in a child process with a bounded cost.

The risky part of an import (opening the file with GDAL, expat or csv, validating it and,
for a recap, matching it to the villages) runs in a child process; the parent only writes the
result, in one transaction, as before. The child:

* sets ``RLIMIT_AS`` to what it maps at start plus ``limits.MEMORY_MB`` (Linux), ``RLIMIT_CPU``
  to ``limits.CPU_S``, ``RLIMIT_FSIZE`` (files it may write: the members it extracts) and no
  core dumps;
* locks GDAL down (no network, only the Shapefile and GPKG drivers: ``safety.lock_down_gdal``);
* sends back the result, or the ``ImportProblem``, and exits, so its memory goes back to the
  system whatever the file did; its temporary files live in a folder the parent removes.

The parent waits at most ``limits.TIMEOUT_S`` seconds (wall clock) and kills the child after
that. A stop for time or memory becomes an ``ImportProblem`` ("terlalu besar/rumit untuk
diimpor: batas 20 detik"); a child that dies otherwise, one that says the reader broke.

Processes come from multiprocessing's "forkserver" (a clean single-threaded server that has
already imported pandas, geopandas, pyproj and pyogrio, so a child starts in a few tens of
milliseconds), never "fork" from the caller (a threaded Flask server, open database
connections); "spawn" where forkserver does not exist. The first import of a process pays the
server's start (about a second). ``last_run`` holds the figures of the latest run (for
bench/bench_hostile.py).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import shutil
import signal
import sys
import tempfile
import time
from multiprocessing.connection import wait
from pathlib import Path

from . import limits
from .errors import ImportProblem

log = logging.getLogger(__name__)

PRELOAD = ["planner.importer.tasks"]
last_run: dict = {}
_ctx = None


def _without_main() -> None:
    """Children of this module must not re-run the caller's ``__main__`` (multiprocessing
    would, for "forkserver" and "spawn": a script without a ``__name__`` guard would run again,
    and pytest's or Flask's entry point would be imported in every child, ~0.3 s each). The
    children need nothing from it: strip it from the preparation data of THESE processes only
    (their names start with "planner-import-")."""
    from multiprocessing import spawn

    original = spawn.get_preparation_data
    if getattr(original, "_planner_import", False):
        return

    def get_preparation_data(name):
        data = original(name)
        if str(name).startswith("planner-import-"):
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data

    get_preparation_data._planner_import = True
    spawn.get_preparation_data = get_preparation_data


def _context():
    global _ctx
    if _ctx is None:
        _without_main()
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(PRELOAD)
        _ctx = ctx
    return _ctx


def _proc_status(pid: int | str = "self") -> dict[str, int]:
    """VmSize/VmRSS/VmHWM in bytes from /proc (Linux), {} elsewhere."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _sep, rest = line.partition(":")
                if key in ("VmSize", "VmRSS", "VmHWM"):
                    out[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return out


class _CpuLimit(Exception):
    pass


def _on_xcpu(_signum, _frame):
    raise _CpuLimit()


def _apply_limits(snapshot: dict) -> dict:
    limits.apply(snapshot)
    try:
        import resource
    except ImportError:  # Windows: only the parent's wall-clock timeout applies
        return {}
    start = _proc_status()
    if "VmSize" in start:
        cap = start["VmSize"] + limits.MEMORY_MB * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.CPU_S, limits.CPU_S + 5))
    signal.signal(signal.SIGXCPU, _on_xcpu)
    fsize = (limits.ZIP_MAX_UNZIPPED_MB + limits.MAX_FILE_MB) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past it fail with EFBIG instead
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return start


def _child(conn, task: str, args: tuple, snapshot: dict, tmpdir: str) -> None:
    """Runs in the child process. Its temporary files (extracted zip members) go to ``tmpdir``,
    which the parent removes whatever happens to the child."""
    tempfile.tempdir = tmpdir
    start: dict = {}
    try:
        start = _apply_limits(snapshot)
        from . import safety, tasks

        safety.lock_down_gdal()
        out = ("ok", tasks.TASKS[task](*args))
    except ImportProblem as exc:
        out = ("problem", exc)
    except MemoryError:
        out = ("memory", None)
    except _CpuLimit:
        out = ("cpu", None)
    except BaseException:  # noqa: BLE001  (a reader bug: reported to the parent, logged there)
        import traceback

        out = ("crash", traceback.format_exc()[-4000:])
    stats = {"start_rss": start.get("VmRSS", 0), "peak_rss": _proc_status().get("VmHWM", 0)}
    try:
        conn.send((*out, stats))
    except MemoryError:
        out = None
        conn.send(("memory", None, stats))
    except Exception as exc:  # noqa: BLE001  (a result that does not pickle)
        conn.send(("crash", f"result not sent: {type(exc).__name__}: {exc}", stats))
    conn.close()


def _limit_problem(what: str, filename: str) -> ImportProblem:
    if what == "memory":
        limit = f"batas memori {limits.MEMORY_MB} MB"
    elif what == "cpu":
        limit = f"batas {limits.CPU_S} detik waktu prosesor"
    else:
        limit = f"batas {limits.TIMEOUT_S} detik"
    return ImportProblem(
        f"berkas terlalu besar/rumit untuk diimpor: pembacaan dihentikan ({limit}); perkecil "
        "berkasnya (mis. hapus lembar, kolom dan baris yang tidak perlu, sederhanakan poligon, "
        "atau pisahkan per kecamatan) lalu coba lagi", file=filename)


def sweep_temp() -> None:
    """Remove the temp folders of readers whose server process is gone (killed mid-import:
    its ``finally`` never ran). Folders are named ``planner-import-<server pid>-…``."""
    root = Path(tempfile.gettempdir())
    try:
        entries = list(root.glob("planner-import-*"))
    except OSError:
        return
    for d in entries:
        parts = d.name.split("-")
        if len(parts) < 4 or not parts[2].isdigit() or int(parts[2]) == os.getpid():
            continue
        if not os.path.exists(f"/proc/{parts[2]}"):
            shutil.rmtree(d, ignore_errors=True)


def run(task: str, args: tuple, *, filename: str):
    """``tasks.TASKS[task](*args)`` in a child process within the limits; returns its result or
    raises its ``ImportProblem`` (or one for a stop)."""
    if not limits.SANDBOX:
        from . import tasks

        return tasks.TASKS[task](*args)
    ctx = _context()
    sweep_temp()
    recv, send = ctx.Pipe(duplex=False)
    tmpdir = tempfile.mkdtemp(prefix=f"planner-import-{os.getpid()}-")
    proc = ctx.Process(target=_child, args=(send, task, args, limits.snapshot(), tmpdir),
                       name=f"planner-import-{task}")
    t0 = time.monotonic()
    stats = {"task": task, "file": filename, "peak_rss": 0, "tmpdir": tmpdir}
    message = None
    timed_out = False
    started = False
    try:
        proc.start()
        started = True
        send.close()
        deadline = t0 + limits.TIMEOUT_S
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            ready = wait([recv, proc.sentinel], timeout=min(remaining, 0.1))
            hwm = _proc_status(proc.pid).get("VmHWM", 0)
            stats["peak_rss"] = max(stats["peak_rss"], hwm)
            if recv in ready or (ready and recv.poll()):
                try:
                    message = recv.recv()
                except (EOFError, OSError):
                    message = None
                break
            if ready:  # the child exited without a word
                break
    finally:
        if not started:
            pass  # the child never ran (e.g. the forkserver could not start): nothing to join
        elif proc.is_alive():
            if message is None:
                proc.kill()
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        else:
            proc.join()
        recv.close()
        shutil.rmtree(tmpdir, ignore_errors=True)
        stats["wall_s"] = time.monotonic() - t0
        stats["exitcode"] = proc.exitcode
        last_run.clear()
        last_run.update(stats)
    if message is not None:
        kind, value, child_stats = message
        stats["peak_rss"] = max(stats["peak_rss"], child_stats.get("peak_rss", 0))
        stats["start_rss"] = child_stats.get("start_rss", 0)
        stats["outcome"] = kind
        last_run.update(stats)
        if kind == "ok":
            return value
        if kind == "problem":
            raise value
        if kind in ("memory", "cpu"):
            raise _limit_problem(kind, filename)
        log.error("import of %s: the reader failed in the child process:\n%s", filename, value)
        raise ImportProblem("berkas tidak dapat dibaca: pembaca berkas gagal karena isi yang tidak "
                            "terduga; periksa berkasnya atau simpan ulang dari aplikasi aslinya",
                            file=filename)
    code = proc.exitcode
    if timed_out:
        last_run["outcome"] = "timeout"
        raise _limit_problem("time", filename)
    if code == -getattr(signal, "SIGXCPU", 24):
        last_run["outcome"] = "cpu"
        raise _limit_problem("cpu", filename)
    last_run["outcome"] = f"died ({code})"
    log.error("import of %s: the reader process died (exit code %s)", filename, code)
    if code is not None and code < 0 and -code in {getattr(signal, n, 0) for n in (
            "SIGKILL", "SIGABRT", "SIGSEGV", "SIGBUS")}:
        # the kernel's OOM killer, or a C library that could not allocate under RLIMIT_AS
        raise _limit_problem("memory", filename)
    raise ImportProblem(f"berkas tidak dapat dibaca: pembaca berkas berhenti (kode {code})",
                        file=filename)


def warm_up() -> None:
    """Start the process server now (it imports the readers once), not at the first upload."""
    if limits.SANDBOX and sys.platform != "win32":
        ctx = _context()
        if ctx.get_start_method() == "forkserver":
            from multiprocessing import forkserver

            forkserver.ensure_running()

