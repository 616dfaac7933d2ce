"""Shared fixtures (Flask tutorial style): ``app``, ``client``, ``runner``, ``demo_app``, plus
data paths and the ``table_counts`` helper.

Every test gets a fresh database with the schema of the real Alembic migrations:

* SQLite (the default): the migrations run once per session into a template file, and each
  app gets its own copy of it in its tmp dir. ``demo_app`` likewise copies a second template
  that already holds the fictional demo (loaded once per session through the importer).
* PostgreSQL (``PLANNER_TEST_DATABASE_URL`` set, ``make test-pg``): the first app of the
  session wipes the schema and migrates; each later one empties every table but
  ``alembic_version`` (``TRUNCATE ... RESTART IDENTITY CASCADE``). Should a test have changed
  the schema itself, the next app wipes and migrates again.

``make_app(tmp_path, **overrides)`` builds such an app with config overrides (browser tests
and module-scoped apps use it).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import weakref
from pathlib import Path

import pytest
from sqlalchemy import text

from planner import create_app
from planner.paths import DATA_DIR

# Plugins with fixtures shared by several areas (not imported from test files):
# every Plan JSON checked against the schema, the tiny planning regency, and test accounts
# (every test client is logged in as a test admin unless asked otherwise).
pytest_plugins = ["plan_contract", "fixtures_planning", "fixtures_auth"]

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
KOTIM_DIR = SHARED / "data" / "kotim"
BENCH_DIR = SHARED / "benchmarks"
PG_URL = os.environ.get("PLANNER_TEST_DATABASE_URL")
IN_CI = bool(os.environ.get("CI"))
IMPORT_TABLES = ("villages", "datasets", "village_stats")

# tests/browser/conftest.py (and ``from conftest import ...`` there) must reach this very
# module, not a second copy with its own templates: register it under a name of its own.
if __name__ in sys.modules:
    sys.modules.setdefault("_planner_tests_root_conftest", sys.modules[__name__])


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


# --------------------------------------------------------------------------- test databases
BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-only-not-secret",
    "WTF_CSRF_ENABLED": False,
    "PLAN_ASYNC": False,
    "PLAN_TIME_LIMIT_S": 3,
}

_templates: dict[str, Path] = {}   # "empty" / "demo" -> SQLite template file (this session)
_template_dir: list[Path] = []
_pg: dict[str, object] = {}        # "fingerprint": the schema as migrated this session
_demo_apps: weakref.WeakSet = weakref.WeakSet()  # apps whose database already holds the demo


def _dispose(app) -> None:
    with app.app_context():
        from planner.extensions import db

        db.session.remove()
        db.engine.dispose()


def _migrate(app) -> None:
    from planner.cli.db import upgrade_db

    with app.app_context():
        upgrade_db()


def _load_demo(app) -> None:
    from planner.demo import load_demo

    with app.app_context():
        load_demo()


def _new_template_dir() -> Path:
    if not _template_dir:
        path = Path(tempfile.mkdtemp(prefix="planner-test-db-"))
        atexit.register(shutil.rmtree, path, ignore_errors=True)
        _template_dir.append(path)
    return _template_dir[0]


def _sqlite_template(kind: str) -> Path:
    """The session's template database: "empty" (just migrated) or "demo" (plus the demo).

    Built on first use from the migrations present now, so a migration added since the last
    session is included."""
    path = _templates.get(kind)
    if path is not None:
        return path
    path = _new_template_dir() / f"{kind}.sqlite"
    if kind == "empty":
        app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
        _migrate(app)
    else:
        shutil.copyfile(_sqlite_template("empty"), path)
        app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
        _load_demo(app)
    _dispose(app)
    _templates[kind] = path
    return path


def _pg_unreachable(url: str, exc: Exception):
    msg = f"PostgreSQL at {url} is not reachable: {exc}"
    if IN_CI:
        pytest.fail(msg)
    pytest.skip(msg)


# Columns (type, NOT NULL, default), indexes and constraints of the schema, as one hash; read
# from pg_catalog (a few ms, where information_schema takes ~60 ms per test).
_PG_SCHEMA_HASH = """
SELECT md5(coalesce(string_agg(x, ';' ORDER BY x), '')) FROM (
  SELECT c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod)
         || ':' || a.attnotnull || ':' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS x
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
    AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  WHERE c.relnamespace = current_schema()::regnamespace
  UNION ALL
  SELECT conname || ':' || pg_get_constraintdef(oid) FROM pg_constraint
  WHERE connamespace = current_schema()::regnamespace
) s
"""


def _pg_fingerprint(conn) -> tuple:
    """The schema and the Alembic revision, to notice a test that changed either."""
    schema = conn.execute(text(_PG_SCHEMA_HASH)).scalar()
    has_version = conn.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL")).scalar()
    revision = (conn.execute(text("SELECT version_num FROM alembic_version ORDER BY 1")).all()
                if has_version else None)
    return schema, revision


def _pg_tables(conn) -> list[str]:
    return list(conn.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename <> 'alembic_version' ORDER BY 1")).scalars())


def _reset_postgres(app, url: str) -> None:
    """Empty the database the session migrated; wipe and migrate it if there is none yet (or
    its schema is no longer the one the migrations made)."""
    from planner.extensions import db

    with app.app_context():
        engine = db.engine
    try:
        if "fingerprint" in _pg:
            with engine.begin() as conn:
                if _pg_fingerprint(conn) == _pg["fingerprint"]:
                    tables = ", ".join(f'"{t}"' for t in _pg_tables(conn))
                    if tables:
                        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                    return
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # noqa: BLE001
        _dispose(app)
        _pg_unreachable(url, exc)
    _migrate(app)
    with engine.connect() as conn:
        seeded = any(conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{t}")')).scalar()
                     for t in _pg_tables(conn))
        if not seeded:  # rows a migration writes would not survive TRUNCATE: migrate each time
            _pg["fingerprint"] = _pg_fingerprint(conn)


def _make_app(tmp_path: Path, overrides: dict, demo: bool = False):
    """The app on a fresh database; with ``demo``, one that holds the fictional demo."""
    config = {**BASE_CONFIG}
    if PG_URL:
        config["SQLALCHEMY_DATABASE_URI"] = PG_URL
    else:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(tmp_path) / 'test.sqlite'}"
    config.update(overrides)
    url = config["SQLALCHEMY_DATABASE_URI"]
    target = Path(tmp_path) / "test.sqlite"
    copy = not PG_URL and url == f"sqlite:///{target}" and not target.exists()
    if copy:  # a copy of this session's migrated template: a fresh, independent database
        shutil.copyfile(_sqlite_template("demo" if demo else "empty"), target)
    app = create_app(config)
    if copy:
        if demo:
            _demo_apps.add(app)
    elif PG_URL and url == PG_URL:
        _reset_postgres(app, url)
    else:  # another database (an override, or a file already there): migrate as `init-db` does
        _migrate(app)
    return app


def make_app(tmp_path: Path, **overrides):
    """A test app (config ``overrides`` applied) on a fresh, migrated database: a copy of the
    session's template in ``tmp_path`` (SQLite) or the emptied test database (PostgreSQL)."""
    return _make_app(tmp_path, overrides)


@pytest.fixture
def app(request, tmp_path):
    # A test that asks for ``demo_app`` gets this same app, built on the demo template.
    app = _make_app(tmp_path, {}, demo="demo_app" in request.fixturenames)
    yield app
    _dispose(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo_app(app):
    """The app with the built-in fictional demo loaded (as `make run` does)."""
    if app not in _demo_apps:  # PostgreSQL, or an ``app`` overridden by a test module
        _load_demo(app)
        _demo_apps.add(app)
    return app


@pytest.fixture
def demo_data_dir() -> Path:
    return DATA_DIR


# --------------------------------------------------------------------------- helpers
def table_counts(app=None) -> dict[str, int]:
    """Rows per import table (in ``app``'s context when given, else the current one): the
    "database unchanged" check of the import tests."""
    from planner.extensions import db

    if app is None:
        return {t: db.session.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar()
                for t in IMPORT_TABLES}
    with app.app_context():
        out = table_counts()
        db.session.remove()
    return out


@pytest.fixture(name="table_counts")
def table_counts_fixture():
    """:func:`table_counts` as a fixture: ``def test_x(app, table_counts): table_counts(app)``."""
    return table_counts


def pytest_collection_modifyitems(config, items):
    """In the PostgreSQL leg (``make test-pg``) run only the tests that touch the database
    (through ``app`` and the fixtures built on it, or marked ``db``); the others already ran in
    the SQLite leg."""
    if not PG_URL:
        return
    keep, drop = [], []
    for item in items:
        uses_db = bool({"app", "demo_app", "client", "runner"} & set(getattr(item, "fixturenames", ())))
        (keep if uses_db or item.get_closest_marker("db") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
