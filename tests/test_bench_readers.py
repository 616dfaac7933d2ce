"""Benchmark readers, the independent checker and one tiny real solve (real files from
../shared/benchmarks via the ``bench_dir`` fixture, which fails in CI when they are missing)."""

from __future__ import annotations

import copy
import math

import pytest

from bench.checker import evaluate
from bench.readers import (
    read_solomon,
    read_solomon_bks,
    read_solomon_solution,
    read_toptw,
    read_toptw_bks,
    solomon_path,
    toptw_path,
)
from bench.references import engine_available, run_engine, run_plain_ortools


def _raw_toptw_rows(path):
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    return [ln for ln in lines if len(ln) >= 9]


def test_toptw_c101_parsed_with_the_format_conventions(bench_dir):
    path = toptw_path("c101", bench_dir)
    inst = read_toptw(path, teams=4)
    rows = _raw_toptw_rows(path)
    assert inst.n == len(rows) == 101 and inst.n_vehicles == 4 and inst.scale == 10
    # Tmax = closing time of node 0, in tenths
    assert inst.horizon == round(float(rows[0][-1]) * 10)
    for i in (1, 17, 100):
        f = rows[i]
        assert inst.prize[i] == round(float(f[4]))
        assert inst.service[i] == round(float(f[3]) * 10)
        assert (inst.tw_open[i], inst.tw_close[i]) == (round(float(f[-2]) * 10),
                                                      round(float(f[-1]) * 10))
        # distance truncated (not rounded) to 0.1
        d = math.hypot(float(f[1]) - float(rows[0][1]), float(f[2]) - float(rows[0][2]))
        assert inst.dist[0, i] == math.floor(d * 10 + 1e-9)
    assert (inst.dist == inst.dist.T).all() and (inst.dist.diagonal() == 0).all()


def test_toptw_pr01_uses_hundredths(bench_dir):
    path = toptw_path("pr01", bench_dir)
    inst = read_toptw(path, teams=2)
    rows = _raw_toptw_rows(path)
    assert inst.scale == 100 and inst.n == len(rows)
    x0, y0 = float(rows[0][1]), float(rows[0][2])
    for i in (1, 5, len(rows) - 1):
        d = math.hypot(float(rows[i][1]) - x0, float(rows[i][2]) - y0)
        assert inst.dist[0, i] == math.floor(d * 100 + 1e-9)
    bks = read_toptw_bks(bench_dir / "toptw" / "bks.csv")
    assert bks[("c101", 1)]["best_known"] == 320
    assert ("pr01", 2) in bks


def test_solomon_c101_parsed(bench_dir):
    inst = read_solomon(solomon_path("C101", bench_dir))
    assert inst.n == 101 and inst.kind == "vrptw" and inst.mandatory
    assert inst.capacity == 200 and inst.n_vehicles == 25
    assert inst.service[0] == 0 and inst.service[1] == 900
    assert inst.demand[0] == 0 and sum(inst.demand) == 1810
    assert inst.horizon == 12360
    # DIMACS: ×10 then truncated; node 1 is (40,50) → node 2 (45,68)
    assert inst.dist[0, 1] == math.floor(10 * math.hypot(5, 18))


@pytest.mark.parametrize("name", ["C101", "R101"])
def test_bks_solution_re_evaluates_to_the_bks_cost(bench_dir, name):
    inst = read_solomon(solomon_path(name, bench_dir))
    routes, stated = read_solomon_solution(solomon_path(name, bench_dir, ext="sol"))
    ev = evaluate(inst, routes)
    bks = read_solomon_bks(bench_dir / "solomon" / "bks.csv")[name]
    assert ev.feasible, ev.errors
    assert ev.served == 100
    assert ev.routes_used == bks["vehicles"]
    assert ev.distance == round(bks["best_known"] * 10) == round(stated * 10)


def test_checker_rejects_broken_routes(bench_dir):
    inst = read_solomon(solomon_path("C101", bench_dir))
    routes, _ = read_solomon_solution(solomon_path("C101", bench_dir, ext="sol"))
    # reversed route: time windows broken
    bad = copy.deepcopy(routes)
    bad[0] = bad[0][::-1]
    ev = evaluate(inst, bad)
    assert not ev.feasible and any("close" in e for e in ev.errors)
    # a customer left out: VRPTW requires all
    bad = copy.deepcopy(routes)
    bad[1] = bad[1][:-1]
    ev = evaluate(inst, bad)
    assert not ev.feasible and any("not served" in e for e in ev.errors)
    # a customer twice
    bad = copy.deepcopy(routes)
    bad[2] = bad[2] + [bad[3][0]]
    assert any("twice" in e for e in evaluate(inst, bad).errors)
    # too many vehicles
    few = inst.with_vehicles(len(routes) - 1)
    assert any("vehicles" in e for e in evaluate(few, routes).errors)
    # capacity: two routes merged (keep time windows out of the question: C101 horizon is
    # wide, but the merged load 2 routes > 200 is what must be reported)
    merged = [routes[0] + routes[1]] + routes[2:]
    assert any("capacity" in e for e in evaluate(inst, merged).errors)


def test_checker_rejects_a_toptw_route_past_tmax(bench_dir):
    inst = read_toptw(toptw_path("c101", bench_dir), teams=1)
    # the customer with the latest opening: start there, then one far away → past Tmax
    late = max(range(1, inst.n), key=lambda c: inst.tw_open[c])
    far = max(range(1, inst.n), key=lambda c: inst.dist[late, c])
    ev = evaluate(inst, [[late, far]])
    assert not ev.feasible
    assert any("back at depot" in e or "close" in e for e in ev.errors)
    ok = evaluate(inst, [[late]])
    assert ok.feasible and ok.score == inst.prize[late]


def test_tiny_real_solve_gives_a_checker_valid_solution(bench_dir):
    inst = read_toptw(toptw_path("c101", bench_dir), teams=1)
    run = run_plain_ortools(inst, time_limit=2)
    ev = evaluate(inst, run.routes)
    assert ev.feasible, ev.errors
    assert ev.score > 0
    if engine_available():  # the product engine (r101: its clock fits the plan's HH:MM)
        r101 = read_toptw(toptw_path("r101", bench_dir), teams=1)
        eng = run_engine(r101, time_limit=2, workers=1)
        ev2 = evaluate(r101, eng.routes)
        assert ev2.feasible, ev2.errors
        assert ev2.score > 0
        assert ev2.score == eng.extra["claimed_people"]  # the engine's claim matches the checker
        assert ev2.score <= read_toptw_bks(bench_dir / "toptw" / "bks.csv")[("r101", 1)][
            "best_known"]  # 198 is the proven optimum


def test_bench_run_prints_the_table(bench_dir, tmp_path, capsys):
    from bench.run import main

    out = tmp_path / "r.csv"
    solvers = "ortools,engine" if engine_available() else "ortools"
    rc = main(["--set", "ref", "--instances", "rc101", "--solvers", solvers,
               "--time-limit", "1", "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "rc101" in text and "BKS" in text
    rows = out.read_text().splitlines()
    assert len(rows) == 1 + len(solvers.split(","))
    assert all(",ok," in r for r in rows[1:])
