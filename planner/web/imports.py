"""Blueprint: imports (filled in by its issue)."""

from flask import Blueprint

bp = Blueprint("imports", __name__, cli_group=None)
