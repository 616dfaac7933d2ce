"""Shared fixtures (Flask tutorial style): ``app``, ``client``, ``runner``, plus data paths.

Every test gets a fresh database built by the real Alembic migrations: an SQLite file in the
test's tmp dir, or, when ``PLANNER_TEST_DATABASE_URL`` is set (``make test-pg``), the
PostgreSQL database it names, wiped and migrated for each test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from planner import DATA_DIR, create_app

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
KOTIM_DIR = SHARED / "data" / "kotim"
BENCH_DIR = SHARED / "benchmarks"
PG_URL = os.environ.get("PLANNER_TEST_DATABASE_URL")
IN_CI = bool(os.environ.get("CI"))


def need(path: Path, what: str) -> Path:
    """Return ``path``; when it is missing fail in CI (never silently skip there), else skip."""
    if path.exists():
        return path
    msg = f"{what} not found at {path}"
    if IN_CI:
        pytest.fail(msg + " (CI is set: ../shared must be present)")
    pytest.skip(msg)


@pytest.fixture(scope="session")
def kotim_dir() -> Path:
    return need(KOTIM_DIR, "Kotim geography (../shared/data/kotim)")


@pytest.fixture(scope="session")
def bench_dir() -> Path:
    return need(BENCH_DIR, "benchmark instances (../shared/benchmarks)")


def _reset_postgres(url: str) -> None:
    from planner import _normalise_db_url

    try:
        engine = create_engine(_normalise_db_url(url))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        msg = f"PostgreSQL at {url} is not reachable: {exc}"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)


def make_app(tmp_path: Path, **overrides):
    if PG_URL:
        _reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path / 'test.sqlite'}"
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-only-not-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "PLAN_ASYNC": False,
        "PLAN_TIME_LIMIT_S": 3,
    }
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        from planner.cli import upgrade_db

        upgrade_db()
    return app


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    yield app
    with app.app_context():
        from planner.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo_app(app):
    """The app with the built-in fictional demo loaded (as `make run` does)."""
    from planner.demo import load_demo

    with app.app_context():
        load_demo()
    return app


@pytest.fixture
def demo_data_dir() -> Path:
    return DATA_DIR


def pytest_collection_modifyitems(config, items):
    """In the PostgreSQL leg (``make test-pg``) run only the tests that touch the database;
    the others already ran in the SQLite leg."""
    if not PG_URL:
        return
    keep, drop = [], []
    for item in items:
        uses_db = bool({"app", "demo_app", "client", "runner"} & set(getattr(item, "fixturenames", ())))
        (keep if uses_db else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
