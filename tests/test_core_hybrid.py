"""Hybrid core search (PyVRP HGS + OR-Tools GLS, then an OR-Tools polish) on real benchmark
instances, re-checked by the bench's independent checker."""

from __future__ import annotations

import time

import pytest

from bench.checker import evaluate
from bench.readers import read_solomon, read_toptw, solomon_path, toptw_path
from bench.references import run_plain_ortools
from planner.engine.core import pyvrp_available, solve_core

pytestmark = pytest.mark.skipif(not pyvrp_available(), reason="pyvrp is not installed")

LIMIT = 3.0


def test_toptw_hybrid_beats_plain_ortools_and_passes_checker(bench_dir):
    inst = read_toptw(toptw_path("pr01", bench_dir), teams=2)
    t = time.monotonic()
    res = solve_core(inst.to_core(), time_limit=LIMIT, seed=1, workers=2)
    elapsed = time.monotonic() - t
    ev = evaluate(inst, res.routes)
    assert ev.feasible, ev.errors
    assert ev.score == res.prize and ev.distance == res.distance
    assert elapsed <= LIMIT + 1.5
    plain = run_plain_ortools(inst, LIMIT)
    plain_ev = evaluate(inst, plain.routes)
    assert plain_ev.feasible, plain_ev.errors
    assert ev.score >= plain_ev.score, (ev.score, plain_ev.score)
    # the final answer is an OR-Tools assignment: plain GLS, or the polish of the better start
    assert res.source == "ortools" or res.source.endswith("+polish")


def test_vrptw_mandatory_serves_every_customer(bench_dir):
    inst = read_solomon(solomon_path("RC101", bench_dir))
    res = solve_core(inst.to_core(), time_limit=LIMIT, seed=1, workers=2)
    ev = evaluate(inst, res.routes)
    assert ev.feasible, ev.errors
    assert res.feasible and ev.served == inst.n - 1 == res.n_served
    assert ev.routes_used <= inst.n_vehicles


def test_same_seed_and_limits_give_the_same_routes(bench_dir):
    inst = read_toptw(toptw_path("c101", bench_dir), teams=2)
    pb = inst.to_core()
    kw = dict(time_limit=20, seed=3, workers=2, solution_limit=30, iteration_limit=300)
    a = solve_core(pb, **kw)
    b = solve_core(pb, **kw)
    assert a.routes == b.routes and a.prize == b.prize
    assert evaluate(inst, a.routes).feasible


def test_hybrid_off_is_ortools_only(bench_dir):
    inst = read_toptw(toptw_path("c101", bench_dir), teams=1)
    res = solve_core(inst.to_core(), time_limit=1, workers=1, hybrid=False)
    assert res.source == "ortools"
    assert evaluate(inst, res.routes).feasible


def test_unreachable_customer_is_dropped_not_fatal():
    from planner.engine.core import CoreProblem

    # depot 0, customers 1-2 near, 3 far beyond the horizon: served 1 and 2 only
    d = [[0, 5, 6, 500], [5, 0, 3, 500], [6, 3, 0, 500], [500, 500, 500, 0]]
    pb = CoreProblem(dist=d, time=d, service=[0, 10, 10, 10], prize=[0, 5, 7, 100],
                     tw_open=[0, 0, 0, 0], tw_close=[100, 100, 100, 100], n_vehicles=1,
                     horizon=100)
    res = solve_core(pb, time_limit=1, workers=2)
    assert sorted(c for r in res.routes for c in r) == [1, 2]
    assert res.prize == 12 and res.source.endswith("+polish")
