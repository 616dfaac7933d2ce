"""Blueprint: sheets (filled in by its issue)."""

from flask import Blueprint

bp = Blueprint("sheets", __name__, cli_group=None)
