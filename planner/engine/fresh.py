"""Run one engine step in a fresh Python process (reproducible plans).

OR-Tools' routing search with break intervals (the nights of a trip, ``planner.engine.routing``)
does not always give the same first solution for the same model: it depends on the memory
state of the process (measured: the same model solved 40 times in one process, with unrelated
allocations in between, gave two different route sets, 32 and 8 times; without the break
intervals always one). A long-lived process (the web server's job runner, a Celery worker
that has solved other regencies) therefore planned differently from a fresh one. Even two
fresh interpreters can differ (measured: the same model in a job runner's child and in a
Celery worker's child gave 1,102 and 1,098 model people in five runs of six): address-space
layout randomisation and the environment move where memory lands. With a solution limit the
engine promises the same plan for the same request and seed, so it runs that step here: a
new interpreter with a fixed environment (``CHILD_ENV``), a fixed working directory and
address-space randomisation switched off for it (``personality(ADDR_NO_RANDOMIZE)``, then a
re-exec), so its memory state is the same every time. The rest of the search (the greedy,
PyVRP's HGS, the LNS) does not depend on memory addresses (measured the same way).

The payload is pickled between this process and its own child only (never read from
anywhere else). No Flask import.
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys

from planner.paths import PACKAGE_DIR

ADDR_NO_RANDOMIZE = 0x0040000
# the child's whole environment: the same wherever the engine runs (web, CLI, Celery)
CHILD_ENV = {"PATH": os.defpath, "PYTHONHASHSEED": "0", "LC_ALL": "C.UTF-8",
             "OMP_NUM_THREADS": "1"}
# switch address-space randomisation off (Linux), re-exec once, then run ``main``
CHILD = (
    "import ctypes, os, sys\n"
    "if os.environ.get('PLANNER_FRESH') != '1':\n"
    "    os.environ['PLANNER_FRESH'] = '1'\n"
    "    try:\n"
    "        libc = ctypes.CDLL(None, use_errno=True)\n"
    "        p = libc.personality(0xffffffff)\n"
    "        if p != -1 and libc.personality(p | 0x0040000) != -1:  # ADDR_NO_RANDOMIZE\n"
    "            os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])\n"
    "    except (OSError, AttributeError):\n"
    "        pass\n"
    "from planner.engine.fresh import main\n"
    "main()\n")


class FreshProcessError(RuntimeError):
    """The fresh process could not run the step (the caller falls back to this process)."""


def call(target: str, *args, timeout: float, **kwargs) -> tuple[object, bool]:
    """``module:function(*args, **kwargs)`` in a fresh interpreter: (its result, whether the
    interpreter ran with address-space randomisation off)."""
    payload = pickle.dumps((target, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    try:
        proc = subprocess.run([sys.executable, "-s", "-c", CHILD, str(os.getpid())],
                              input=payload, capture_output=True, timeout=timeout,
                              env=dict(CHILD_ENV), cwd=str(PACKAGE_DIR.parent), check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FreshProcessError(f"{type(exc).__name__}: {exc}") from exc
    if proc.returncode != 0 or not proc.stdout:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise FreshProcessError(f"exit {proc.returncode}: {tail[0][:300]}")
    return pickle.loads(proc.stdout)  # noqa: S301 - our own child's answer


def main() -> None:  # pragma: no cover - runs in the child process
    from .core import die_with_parent

    if len(sys.argv) > 1:
        die_with_parent(int(sys.argv[1]))
    target, args, kwargs = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 - from our parent
    module, name = target.split(":")
    result = getattr(importlib.import_module(module), name)(*args, **kwargs)
    try:
        with open("/proc/self/personality", encoding="ascii") as f:
            fixed = bool(int(f.read(), 16) & ADDR_NO_RANDOMIZE)
    except (OSError, ValueError):
        fixed = False
    sys.stdout.buffer.write(pickle.dumps((result, fixed), protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


if __name__ == "__main__":  # pragma: no cover
    main()
