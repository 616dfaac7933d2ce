"""Is the database ready? Compares its Alembic revision with the newest one in the package.

Commands and pages call :func:`problem` before touching tables, so a database that was never
initialised (or has an older schema) gives one line saying what to run — never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from .paths import PACKAGE_DIR

MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
INIT_HINT = "planner init-db"


@dataclass(frozen=True)
class SchemaState:
    status: str            # "current" | "missing" | "old" | "unknown" | "unreachable"
    revision: str | None   # the database's revision
    head: str              # the newest revision in this version of the planner
    detail: str = ""


@lru_cache(maxsize=1)
def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}


def state(engine: Engine) -> SchemaState:
    head = head_revision()
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return SchemaState("missing", None, head)
            from alembic.runtime.migration import MigrationContext

            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        return SchemaState("unreachable", None, head, str(exc).splitlines()[0][:200])
    if current is None:
        return SchemaState("missing", None, head)
    if current == head:
        return SchemaState("current", current, head)
    if current in _known_revisions():
        return SchemaState("old", current, head)
    return SchemaState("unknown", current, head)


def problem(engine: Engine) -> str | None:
    """One line for a coordinator when the database is not ready, else None."""
    s = state(engine)
    if s.status == "current":
        return None
    if s.status == "missing":
        return f"Basis data belum disiapkan. Jalankan dulu: {INIT_HINT}"
    if s.status == "old":
        return (f"Basis data memakai skema lama ({s.revision}, terbaru {s.head}). "
                f"Jalankan: {INIT_HINT}")
    if s.status == "unknown":
        return (f"Basis data memakai skema {s.revision} yang tidak dikenal versi planner ini "
                f"(terbaru {s.head}); perbarui planner.")
    return f"Basis data tidak dapat dibuka: {s.detail}"
