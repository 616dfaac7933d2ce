"""Jemput Bola Planner: plan e-KTP recording outreach ("jemput bola") for a Disdukcapil office.

The package tells the story in order: ``importer`` (recap and boundaries, validated) →
``ranking`` (priorities) → ``travel`` (travel times) → ``engine`` (the OR-Tools model and the
plan) → ``maps`` and ``sheets``/``exports`` (what people look at and print). Only ``web`` and
``cli`` import Flask; the rest is plain Python you can call from a notebook.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__version__ = "0.1.0"

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
STATIC_DIR = PROJECT_DIR / "static"
DATA_DIR = PROJECT_DIR / "data"


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

    from .extensions import babel, csrf, db, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PACKAGE_DIR / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, default_translation_directories="translations")

    from . import models  # noqa: F401  (register tables)
    from .web import init_app as init_web

    init_web(app)
    return app


def _normalise_db_url(url: str) -> str:
    """Accept plain ``postgresql://`` / ``postgres://`` URLs and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


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
