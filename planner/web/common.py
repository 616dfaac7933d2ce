"""Small helpers every blueprint uses: the request's language, map labels and map responses."""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from .. import maps


def locale() -> str:
    """The request's language ("id" or "en")."""
    return str(get_locale() or current_app.config.get("BABEL_DEFAULT_LOCALE", "id"))


def map_labels() -> dict[str, str]:
    """The map's labels in the user's language (msgids are the Indonesian defaults)."""
    return maps.translated_labels(_)


def asset_base() -> str:
    """Where map pages load Leaflet from (this server's static files, never a CDN)."""
    return url_for("static", filename="vendor").rstrip("/")


def map_response(m):
    return maps.render_html(m), 200, {"Content-Type": "text/html; charset=utf-8",
                                      "X-Frame-Options": "SAMEORIGIN"}
