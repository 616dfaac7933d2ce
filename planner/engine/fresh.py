"""Run one engine step in a fresh Python process (reproducible plans).

OR-Tools' routing search with break intervals (the nights of a trip, ``planner.engine.routing``)
does not always give the same first solution for the same model: it depends on the memory
state of the process (measured: the same model solved 40 times in one process, with unrelated
allocations in between, gave two different route sets, 32 and 8 times; without the break
intervals always one). A long-lived process (the web server's job runner, a Celery worker
that has solved other regencies) therefore planned differently from a fresh one. With a
solution limit the engine promises the same plan for the same request and seed, so it runs
that step here: in a new interpreter (``python -m planner.engine.fresh``), whose memory
state is the same every time. The rest of the search (the greedy, PyVRP's HGS, the LNS) does
not depend on it (measured the same way).

The payload is pickled between this process and its own child only (never read from
anywhere else). No Flask import.
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys


class FreshProcessError(RuntimeError):
    """The fresh process could not run the step (the caller falls back to this process)."""


def call(target: str, *args, timeout: float, **kwargs):
    """``module:function(*args, **kwargs)`` in a fresh interpreter; returns its result."""
    payload = pickle.dumps((target, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    try:
        proc = subprocess.run([sys.executable, "-m", "planner.engine.fresh", str(os.getpid())],
                              input=payload, capture_output=True, timeout=timeout, env=env,
                              check=False)
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
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


if __name__ == "__main__":  # pragma: no cover
    main()
