"""Errors of the engine (messages for the coordinator, in Indonesian)."""

from __future__ import annotations

from .model import PlanInputError


class LockError(PlanInputError):
    """Locked stops that cannot all be kept."""
