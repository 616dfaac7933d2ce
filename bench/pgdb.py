"""A throw-away PostgreSQL database (the province bench and the suite's PostgreSQL tests)."""

from __future__ import annotations

import contextlib
import os
import secrets


@contextlib.contextmanager
def scratch_database(admin_url: str, prefix: str = "planner_scratch"):
    """Create a database of its own on ``admin_url``'s server, yield its SQLAlchemy URL, drop it
    afterwards. Raises ``psycopg.Error`` at once when the server cannot be reached."""
    import psycopg

    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = admin_url.rsplit("/", 1)[0]
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with contextlib.suppress(psycopg.Error):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
