"""Blueprint: field (filled in by its issue)."""

from flask import Blueprint

bp = Blueprint("field", __name__, cli_group=None)
