"""``planner serve``: the office server (gunicorn, several worker processes).

``make run`` stays the one-command local start (Flask's development server on the demo);
``planner serve`` is for a machine the office reaches over its network:

    SECRET_KEY=... planner serve --bind 0.0.0.0:8000 --workers 2 --threads 4

* It refuses to start without a secret key from the environment (``SECRET_KEY``) or a file
  (``--secret-key-file``): sessions, CSRF tokens and share links are signed with it, so every
  worker process and every restart must use the same one, and it must not be the
  development key kept in ``instance/``.
* Workers are gthread workers: ``--threads`` requests at once per process; the database pool of
  each process is sized for them (``pool_size`` = threads + 2 for PostgreSQL).
* Each worker process also runs queued plan solves (``planner.jobs``; at most
  ``PLANNER_PLAN_CONCURRENCY`` at once on the installation, default 1).
* SQLite runs in write-ahead-log mode here (``PLANNER_SQLITE_WAL``).
* The key, WAL mode and pool size go to ``create_app`` as config: ``planner.config`` read the
  environment when the ``planner`` command started, before this command could set anything.
* gunicorn's control socket (``gunicornc``) is off: it has one fixed path per user, which a
  second server on the machine (a test, a load test) would take over.

Put a reverse proxy that terminates HTTPS in front of it (docs/user/office.md) and set
``PLANNER_HTTPS=1`` and ``PLANNER_PROXY_HOPS=1``.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask.cli import ScriptInfo

WEAK_KEYS = {"", "dev", "secret", "changeme", "test-only-not-secret"}
_TRUE = ("1", "true", "yes", "on")


def _secret_key(secret_key_file: str | None) -> str:
    if secret_key_file:
        try:
            key = Path(secret_key_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise click.ClickException(f"Cannot read the secret key file {secret_key_file}: "
                                       f"{exc.strerror or exc}") from exc
    else:
        key = os.environ.get("SECRET_KEY", "").strip()
    if key.lower() in WEAK_KEYS or len(key) < 32:
        raise click.ClickException(
            "Refusing to start without a secret key: set SECRET_KEY (at least 32 random "
            "characters, e.g. `python3 -c \"import secrets; print(secrets.token_hex(32))\"`) or "
            "give --secret-key-file FILE. Every worker and every restart must use the same key.")
    return key


@click.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True,
              help="Address and port (0.0.0.0:8000 for the office network, behind a proxy).")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Worker processes.")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Requests at once per worker process.")
@click.option("--timeout", type=click.IntRange(10, 3600), default=120, show_default=True,
              help="Seconds a worker process may hang (not answer gunicorn's master) before it "
                   "is restarted; with gthread workers this is not a limit on one request.")
@click.option("--secret-key-file", default=None, type=click.Path(dir_okay=False),
              help="Read the secret key from this file instead of SECRET_KEY.")
@click.option("--access-log/--no-access-log", default=True, show_default=True)
def serve_command(bind, workers, threads, timeout, secret_key_file, access_log):
    """Serve the app for an office (gunicorn, several processes; needs a secret key)."""
    from gunicorn.app.base import BaseApplication

    key = _secret_key(secret_key_file)
    os.environ["SECRET_KEY"] = key
    os.environ.setdefault("PLANNER_SQLITE_WAL", "1")
    os.environ.setdefault("PLANNER_DB_POOL_SIZE", str(threads + 2))
    # ``planner.config`` read the environment when the ``planner`` command started, before
    # this command ran (and the workers are forked from this process): the key, WAL mode and
    # pool size set here would never reach the app through it. Hand them over directly.
    try:
        overrides = {
            "SECRET_KEY": key,
            "SQLITE_WAL": os.environ["PLANNER_SQLITE_WAL"].strip().lower() in _TRUE,
            "DB_POOL_SIZE": int(os.environ["PLANNER_DB_POOL_SIZE"]),
        }
    except ValueError as exc:
        raise click.ClickException(f"PLANNER_DB_POOL_SIZE must be a whole number: {exc}") from exc

    # the app factory the ``planner`` command was started with (planner.console), taking these
    # overrides: looked up at run time, so the CLI does not import the package that imports it
    info = click.get_current_context().find_object(ScriptInfo)
    factory = getattr(info, "create_app", None)
    if factory is None or getattr(factory, "__name__", "") != "_create_app":
        raise click.ClickException("planner serve runs from the `planner` command.")

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", timeout)
            self.cfg.set("graceful_timeout", 30)
            self.cfg.set("accesslog", "-" if access_log else None)
            self.cfg.set("errorlog", "-")
            self.cfg.set("proc_name", "jemput-bola-planner")
            # gunicorn >= 25 opens a control socket at one fixed path per user
            # (~/.gunicorn/gunicorn.ctl): a second server on the machine would take it over.
            self.cfg.set("control_socket_disable", True)

        def load(self):
            return factory(overrides)

    click.echo(f"Jemput Bola Planner on http://{bind} ({workers} workers × {threads} threads)")
    Server().run()


COMMANDS = (serve_command,)
