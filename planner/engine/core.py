"""Worker processes and OR-Tools search parameters shared by the engine's search.

* ``run_workers``: runs one search per worker; worker 0 in the calling process (progress
  callbacks stay there), the others forked, one per core; each child dies with its parent
  (``die_with_parent``: ``PR_SET_PDEATHSIG``), so no orphan solver outlives a killed server.
* ``STRATEGIES`` / ``search_parameters``: the OR-Tools routing first-solution strategy and
  metaheuristic per worker, the time and solution limits (``planner.engine.routing``).
* ``node_order``: OR-Tools routing has no random seed; the seed (with the worker index)
  permutes the order visits are given to the model, which changes the search reproducibly.

The benchmarks (``bench/``) run the product engine itself (``planner.engine.solve`` through
``bench.adapters``); the former one-day benchmark core (PyVRP HGS + OR-Tools polish,
``solve_core``) is gone.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
from collections.abc import Callable

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

FSS = routing_enums_pb2.FirstSolutionStrategy
LSM = routing_enums_pb2.LocalSearchMetaheuristic

# Full engine (multi-day, optional visits, breaks): PATH_CHEAPEST_ARC finds empty plans there;
# the insertion heuristics build a full first plan in < 1 s on Kotim. Both workers use
# PARALLEL_CHEAPEST_INSERTION (on their own node order and trip cut): LOCAL_CHEAPEST_INSERTION
# and SAVINGS gave different routes for the same seed and solution limit in a forked worker
# (measured, OR-Tools 9.15), so they are only the fallbacks when no first solution is found.
STRATEGIES: list[tuple[int, int]] = [
    (FSS.PARALLEL_CHEAPEST_INSERTION, LSM.GUIDED_LOCAL_SEARCH),
    (FSS.PARALLEL_CHEAPEST_INSERTION, LSM.GUIDED_LOCAL_SEARCH),
    (FSS.LOCAL_CHEAPEST_INSERTION, LSM.GUIDED_LOCAL_SEARCH),
    (FSS.SAVINGS, LSM.GUIDED_LOCAL_SEARCH),
    (FSS.PATH_CHEAPEST_ARC, LSM.GUIDED_LOCAL_SEARCH),
]


def node_order(n_items: int, seed: int, worker: int) -> list[int]:
    """The order nodes are given to the model: identity for seed 1 / worker 0, else a seeded
    permutation (OR-Tools routing has no random seed: the order is what changes the search)."""
    order = list(range(n_items))
    key = (int(seed) - 1) * 16 + int(worker)
    if key:
        random.Random(key).shuffle(order)
    return order


def search_parameters(worker: int, time_limit: float, solution_limit: int | None = None,
                      log: bool = False, strategies: list | None = None
                      ) -> pywrapcp.DefaultRoutingSearchParameters:
    """The routing search parameters used by every engine solve (core and full)."""
    strategies = strategies or STRATEGIES
    fss, lsm = strategies[worker % len(strategies)]
    p = pywrapcp.DefaultRoutingSearchParameters()
    p.first_solution_strategy = fss
    p.local_search_metaheuristic = lsm
    secs = max(float(time_limit), 0.05)
    p.time_limit.seconds = int(secs)
    p.time_limit.nanos = int((secs - int(secs)) * 1e9)
    if solution_limit:
        p.solution_limit = int(solution_limit)
        # the large-neighbourhood operators of the local search stop after a wall-clock
        # budget (100 ms by default): with a solution limit they get as long as they need,
        # so the result does not depend on the machine's load
        p.lns_time_limit.seconds = 3600
        p.lns_time_limit.nanos = 0
    p.log_search = log
    return p


def run_workers(fn: Callable[[int], object], workers: int) -> list[object]:
    """Run ``fn(worker_index)`` for each worker; in parallel processes when workers > 1.

    ``fn`` and its result must be picklable-free: with the fork start method the function is
    inherited, only the result is pickled back.
    """
    workers = max(1, int(workers))
    if workers == 1:
        return [fn(0)]
    ctx = mp.get_context("fork")
    results: list[object] = [None] * workers
    conns = []
    procs = []
    for w in range(1, workers):
        recv, send = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_child, args=(fn, w, send, os.getpid()), daemon=True)
        p.start()
        send.close()
        conns.append((w, recv))
        procs.append(p)
    results[0] = fn(0)  # the parent does worker 0 (progress callbacks stay in this process)
    for w, recv in conns:
        try:
            ok, value = recv.recv()
            results[w] = value if ok else None
        except EOFError:
            results[w] = None
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.kill()
    return results


def die_with_parent(parent_pid: int) -> None:
    """Linux: this process gets SIGKILL when its parent dies (no orphan solver outlives the
    server process that runs the job, even after ``kill -9``)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the daemon flag still ends it on a normal exit
        return
    if os.getppid() != parent_pid:  # the parent died before the prctl took effect
        os._exit(1)


def _child(fn, w, send, parent_pid):  # pragma: no cover - runs in a forked process
    die_with_parent(parent_pid)
    try:
        send.send((True, fn(w)))
    except BaseException as exc:  # noqa: BLE001
        send.send((False, repr(exc)))
    finally:
        send.close()
