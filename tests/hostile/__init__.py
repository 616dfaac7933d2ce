"""Hostile and malformed import files, generated at test time (nothing binary is committed):
``corpus.CASES`` for tests/test_hostile_files.py, ``corpus.WORST`` for bench/bench_hostile.py."""
