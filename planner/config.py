"""Configuration classes (microblog style). The environment overrides the defaults.

``DATABASE_URL`` selects the database for the app and the CLI alike; without it the planner
uses an embedded SQLite file under the Flask instance folder. Every variable is described in
docs/reference/configuration.md.
"""

import datetime as dt
import os


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in ("1", "true", "yes", "on")


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")  # generated per instance when unset (see create_app)
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")  # None -> instance/planner.sqlite
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # PostgreSQL connections per server process: at least its threads (``planner serve`` sets
    # the size from its --threads); SQLite needs no pool settings.
    DB_POOL_SIZE = int(os.environ.get("PLANNER_DB_POOL_SIZE", "5"))
    DB_MAX_OVERFLOW = int(os.environ.get("PLANNER_DB_MAX_OVERFLOW", "10"))
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

    # How many plans may wait or run per account, and run at once on this installation (a solve
    # uses both cores of the server: more at once only on a bigger machine).
    PLAN_QUEUE_PER_USER = int(os.environ.get("PLANNER_QUEUE_PER_USER", "3"))
    PLAN_CONCURRENCY = int(os.environ.get("PLANNER_PLAN_CONCURRENCY", "1"))
    # Who runs the plan jobs (docs/user/scaling.md): ``local`` (a runner thread in each web
    # process, no other server) or ``celery`` (``planner worker`` processes on any machine that
    # reaches the broker and the database; PLAN_CONCURRENCY does not apply, the workers'
    # --concurrency does). A job whose worker died is started again at most
    # PLAN_MAX_RETRIES times (celery), then marked failed with the reason.
    PLAN_JOBS = os.environ.get("PLANNER_JOBS", "local").strip().lower() or "local"
    PLAN_MAX_RETRIES = int(os.environ.get("PLANNER_JOB_RETRIES", "2"))
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND")  # None: results not kept
    CELERY_QUEUE = os.environ.get("PLANNER_CELERY_QUEUE", "planner")
    # The broker hands an unacknowledged task (its worker died) to another worker after this
    # long (Redis); the database reaper usually restarts the job much sooner.
    CELERY_VISIBILITY_TIMEOUT = int(os.environ.get("PLANNER_CELERY_VISIBILITY_TIMEOUT", "3600"))
    # SQLite in write-ahead-log mode (``planner serve`` turns it on: several processes).
    SQLITE_WAL = _flag("PLANNER_SQLITE_WAL")

    # Sessions: a login lasts PLANNER_SESSION_HOURS (default 10: one working day); cookies are
    # HttpOnly and SameSite=Lax, and Secure when the app is served over HTTPS (PLANNER_HTTPS=1,
    # e.g. behind a reverse proxy that terminates TLS).
    PERMANENT_SESSION_LIFETIME = dt.timedelta(hours=float(os.environ.get("PLANNER_SESSION_HOURS", "10")))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _flag("PLANNER_HTTPS")
    REMEMBER_COOKIE_SECURE = _flag("PLANNER_HTTPS")
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    PROXY_HOPS = int(os.environ.get("PLANNER_PROXY_HOPS", "0"))
    # Login attempts per address (Flask-Limiter); memory:// is per process.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = os.environ.get("PLANNER_RATELIMIT_STORAGE", "memory://")
    LOGIN_RATE_LIMIT = os.environ.get("PLANNER_LOGIN_RATE_LIMIT", "10 per minute")
