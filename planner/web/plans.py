"""Blueprint: plans (filled in by its issue)."""

from flask import Blueprint

bp = Blueprint("plans", __name__, cli_group=None)
