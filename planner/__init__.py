"""Jemput Bola Planner: plan e-KTP recording outreach ("jemput bola") for a Disdukcapil office.

The package tells the story in order: ``importer`` (recap and boundaries, validated) →
``ranking`` (priorities) → ``travel`` (travel times) → ``params`` (the plan request) →
``engine`` (the OR-Tools model) → ``pipeline`` (params → instance → solve → validate → store)
→ ``plan_json`` (the plan contract) → ``maps`` and ``sheets``/``exports`` (what people look at
and print). Only ``web``, ``cli`` and this app factory import Flask; the rest is plain Python
you can call from a notebook. Layers and rules: docs/developing/architecture.md.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .paths import DATA_DIR, PACKAGE_DIR, STATIC_DIR, __version__

__all__ = ["DATA_DIR", "PACKAGE_DIR", "__version__", "create_app"]


def create_app(test_config: dict | None = None):
    """Application factory (Flask tutorial style)."""
    from flask import Flask

    from .config import Config

    app = Flask(
        __name__,
        instance_relative_config=True,
        static_folder=str(STATIC_DIR),
        static_url_path="/static",
    )
    app.config.from_object(Config)
    if test_config is not None:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        db_path = Path(app.instance_path) / "planner.sqlite"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_path}"
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
            "pool_size": int(app.config["DB_POOL_SIZE"]),
            "max_overflow": int(app.config["DB_MAX_OVERFLOW"]), "pool_timeout": 30}

    from .extensions import babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PACKAGE_DIR / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, default_translation_directories="translations")
    login_manager.init_app(app)
    limiter.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        from sqlalchemy import event

        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas(app.config.get("SQLITE_WAL")))
    if app.config.get("PROXY_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from . import models  # noqa: F401  (register tables)
    from .cli import init_app as init_cli
    from .web import init_app as init_web

    init_web(app)
    init_cli(app)
    return app


def _normalise_db_url(url: str) -> str:
    """Accept plain ``postgresql://`` / ``postgres://`` URLs and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _sqlite_pragmas(wal: bool):
    """Every SQLite connection waits for a busy database instead of failing at once (several
    server processes share the file); with ``wal`` (``planner serve``) readers never block
    the writer."""

    def on_connect(dbapi_connection, _record):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA busy_timeout = 15000")
        if wal:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    return on_connect


def _instance_secret(instance: Path) -> str:
    """A random secret kept in the instance folder (never in the repository)."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    try:
        path.chmod(0o600)
    except OSError:
        pass
    return key


def _select_locale():
    from flask import current_app, request, session

    lang = request.args.get("lang")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        return lang
    return session.get("lang") or current_app.config["BABEL_DEFAULT_LOCALE"]
