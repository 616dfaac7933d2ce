"""Planning engine: villages → sites → travel matrices → search → immutable, valid Plan.

Modules: ``model`` (specs, selection, calendar, ``build_instance``), ``solver`` (``solve``; the
overview of the search modules: ``problem``, ``trips``, ``schedule``, ``routing``, ``hgs``,
``construct``, ``lns``, ``search``, ``dropped``, ``writer``), ``core`` (worker processes and
OR-Tools search parameters), ``plan`` (Plan dataclasses and JSON), ``validate`` (independent
re-check), ``pooling`` (collection points). Benchmark files become plan requests in
``bench.adapters`` (the benchmarks run this engine).
"""

from .errors import LockError
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
from .solver import solve
from .validate import validate_plan

__all__ = [
    "Instance", "Lock", "PlanInputError",
    "PlanRequest", "SiteSpec", "TeamSpec", "build_instance", "working_dates", "Plan",
    "params_from_request", "request_from_params",
    "LockError", "solve", "validate_plan", "PoolingParams",
]
