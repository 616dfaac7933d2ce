"""The web layer: one blueprint per area (microblog style). Only this package and ``cli``
import Flask. Blueprints use ``cli_group=None`` so their commands sit at the top of the
``planner`` command (``planner rank``, ``planner map``, ``planner plan``...)."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import __version__


def init_app(app: Flask) -> None:
    from . import (
        field,
        gap,
        imports,
        maps,
        plans,
        plans_cli,  # noqa: F401  (``planner plan``; must precede register_blueprint)
        sheets,
    )

    for module in (gap, imports, maps, plans, sheets, field):
        app.register_blueprint(module.bp)

    from .. import cli

    cli.init_app(app)

    @app.context_processor
    def inject_globals():
        from flask_babel import get_locale

        endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
        return {
            "app_version": __version__,
            "current_locale": str(get_locale()),
            "url_map_endpoints": endpoints,
        }

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
        }
        msg = messages.get(e.code, _("Terjadi kesalahan (%(code)s).", code=e.code))
        return render_template("error.html", code=e.code, message=msg), e.code

    @app.errorhandler(Exception)
    def server_error(e: Exception):
        app.logger.exception("Unhandled error")
        msg = _("Terjadi kesalahan pada server. Data Anda tidak berubah; laporkan ke admin.")
        return render_template("error.html", code=500, message=msg), 500
