"""The web layer: one blueprint per area (microblog style), thin views over the services.

Only this package, ``planner.cli`` and the app factory import Flask. Views parse the request,
call a service (``pipeline``, ``jobs``, ``field``, ``coverage``, ``importer``…) and render;
numbers, dates and durations are formatted by ``planner.fmt`` through the template filters
registered here (``|num``, ``|dec``, ``|pct``, ``|km``, ``|rp``, ``|dur``, ``|date_long``…),
in the request's language.

Every request passes, in order: the database check (a clear page when it is not initialised),
the access table (``access.POLICY``: login, role, fail closed), and the audit actor (the
logged-in account, for ``planner.audit``). Every response gets the security headers below.
"""

from __future__ import annotations

import uuid

from flask import Flask, g, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from .. import audit, dbstate, fmt
from ..paths import __version__
from . import access
from .common import locale

#: Content security policy: everything from this server; inline scripts and styles are needed
#: by the folium map documents; map tiles (optional basemap) from OpenStreetMap; pages may be
#: framed only by this site (the map documents are iframes of the map and plan pages).
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: https://tile.openstreetmap.org https://*.tile.openstreetmap.org; "
       "connect-src 'self'; "
       "font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(), camera=(), microphone=()",
}
#: Largest id a URL may carry (a database integer); anything larger is simply not found.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:…>`` bounded to database integers: a huge id is a 404, not a 500."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _filter(fn):
    def apply(value, *args, **kwargs):
        return fn(value, locale(), *args, **kwargs)

    apply.__name__ = fn.__name__
    return apply


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    from . import (
        admin,
        auth,
        bases,
        campaign,
        datasets,
        field,
        gap,
        imports,
        maps,
        network,
        plans,
        regency,
        settings,
        share,
        sheets,
        stops,
        teams,
        villages,
    )

    for module in (auth, admin, share, gap, imports, maps, plans, sheets, field, settings,
                   bases, teams, villages, datasets, stops):
        app.register_blueprint(module.bp)
    app.register_blueprint(campaign.bp)  # campaign progress (issue 11)
    app.register_blueprint(network.bp)  # road and river network pages (issue 12)
    app.register_blueprint(regency.bp)  # the regency chooser (issue 14)

    from ..extensions import login_manager

    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"

    for name, fn in fmt.FILTERS.items():
        app.add_template_filter(_filter(fn), name)

    @app.context_processor
    def inject_globals():
        return {
            "app_version": __version__,
            "current_locale": locale(),
            "minutes_unit": fmt.minutes_unit(locale()),
            "can": access.can,
        }

    @app.before_request
    def database_ready():
        """A database that is not initialised (or has an older schema) gets one clear page."""
        if request.endpoint == "static" or app.extensions.get("planner_db_ready"):
            return None
        from ..extensions import db

        problem = dbstate.problem(db.engine)
        if problem is None:
            app.extensions["planner_db_ready"] = True
            return None
        return render_template("error.html", code=503, message=problem), 503

    app.before_request(access.enforce)
    # several regencies: the request runs within the chosen one (planner.regencies)
    app.before_request(regency.scope_request)
    app.teardown_request(regency.leave_request)

    @app.before_request
    def job_runner():
        """A process that serves pages also runs queued plans (not the CLI, not tests; not
        under ``PLANNER_JOBS=celery``, where ``planner worker`` runs them)."""
        if app.config.get("PLAN_ASYNC", True) and not app.testing and \
                str(app.config.get("PLAN_JOBS") or "local").lower() == "local":
            from .. import jobs

            jobs.runner(app)

    @app.before_request
    def audit_actor():
        if current_user.is_authenticated:
            g.audit_token = audit.set_actor(current_user.id, current_user.username)

    @app.teardown_request
    def audit_reset(_exc=None):
        token = g.pop("audit_token", None)
        if token is not None:
            audit._actor.reset(token)

    @app.after_request
    def security_headers(response):
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if current_user.is_authenticated:
            response.headers.setdefault("Cache-Control", "private, no-cache")
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        msg = _("Formulir kedaluwarsa atau tidak sah (CSRF). Muat ulang halaman lalu coba lagi.")
        return render_template("error.html", code=400, message=msg), 400

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(e):
        limit_mb = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        msg = _("Berkas terlalu besar: batasnya %(mb)s MB.", mb=limit_mb)
        return render_template("error.html", code=413, message=msg), 413

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        if request.path.startswith("/static/"):
            return e
        messages = {
            404: _("Halaman tidak ditemukan."),
            405: _("Metode tidak diizinkan."),
            400: _("Permintaan tidak sah."),
            403: _("Akun Anda tidak berhak membuka halaman ini."),
            429: _("Terlalu banyak percobaan. Tunggu sebentar lalu coba lagi."),
        }
        msg = messages.get(e.code, _("Terjadi kesalahan (%(code)s).", code=e.code))
        return render_template("error.html", code=e.code, message=msg), e.code

    @app.errorhandler(Exception)
    def server_error(e: Exception):
        error_id = uuid.uuid4().hex[:10]
        app.logger.exception("Unhandled error %s on %s %s", error_id, request.method, request.path)
        msg = _("Terjadi kesalahan pada server. Data Anda tidak berubah; laporkan ke admin "
                "dengan kode %(id)s.", id=error_id)
        return render_template("error.html", code=500, message=msg, error_id=error_id), 500
