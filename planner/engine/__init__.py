"""Planning engine: villages → sites → travel matrices → OR-Tools model → immutable Plan.

Modules: ``model`` (specs, selection, calendar, ``build_instance``), ``solver`` (routing model
with nights as breaks, ``solve``), ``core`` (one-day TOPTW/VRPTW search used by the benchmarks
and sharing the search parameters), ``plan`` (Plan dataclasses and JSON), ``validate``
(independent re-check), ``pooling`` (collection points, travel helper).
"""

from .core import CoreProblem, CoreResult, solve_core
from .model import (
    Instance,
    Lock,
    PlanInputError,
    PlanRequest,
    SiteSpec,
    TeamSpec,
    build_instance,
    params_from_request,
    request_from_params,
    working_dates,
)
from .plan import Plan
from .pooling import PoolingParams
from .solver import LockError, solve
from .validate import validate_plan

__all__ = [
    "CoreProblem", "CoreResult", "solve_core", "Instance", "Lock", "PlanInputError",
    "PlanRequest", "SiteSpec", "TeamSpec", "build_instance", "working_dates", "Plan",
    "params_from_request", "request_from_params",
    "LockError", "solve", "validate_plan", "PoolingParams",
]
