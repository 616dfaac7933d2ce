"""Benchmarks for the planning engine's core search (TOPTW, Solomon VRPTW) and the full engine.

Instances are read at run time from ``../shared/benchmarks`` (never copied into the repo).
Run ``python -m bench.run --help`` (or ``make bench BENCH_ARGS="..."``).
"""
