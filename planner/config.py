"""Configuration classes (microblog style). The environment overrides the defaults.

``DATABASE_URL`` selects the database for the app and the CLI alike; without it the planner
uses an embedded SQLite file under the Flask instance folder.
"""

import os


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")  # generated per instance when unset (see create_app)
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")  # None -> instance/planner.sqlite
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    MAX_CONTENT_LENGTH = int(os.environ.get("PLANNER_MAX_UPLOAD_MB", "32")) * 1024 * 1024
    BABEL_DEFAULT_LOCALE = "id"
    BABEL_DEFAULT_TIMEZONE = "Asia/Jakarta"
    LANGUAGES = ["id", "en"]
    # Public base URL printed on day sheets (QR codes and short links to the online map).
    PUBLIC_BASE_URL = os.environ.get("PLANNER_PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # Solver defaults for the web form and the CLI.
    PLAN_TIME_LIMIT_S = int(os.environ.get("PLANNER_PLAN_TIME_LIMIT", "30"))
    WTF_CSRF_ENABLED = True
    # Run plan solves in a background thread (False: inline, for tests that want determinism).
    PLAN_ASYNC = True
    # Solver worker processes for a web job (2 uses both cores; 1 avoids forking in the server).
    PLAN_WORKERS = int(os.environ.get("PLANNER_PLAN_WORKERS", "2"))


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-only-not-secret"
    PLAN_TIME_LIMIT_S = 3
