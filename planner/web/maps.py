"""Blueprint: maps (filled in by its issue)."""

from flask import Blueprint

bp = Blueprint("maps", __name__, cli_group=None)
