"""A pytest plugin (loaded by tests/conftest.py): every Plan JSON the suite makes is checked
against ``planner/schemas/plan.schema.json``.

It wraps the two places plans come from — the engine (``Plan.to_dict``) and the store
(``plan_store.add_version``, which only the pipeline calls) — so engine tests, CLI plans, web
plans, sample plans, re-plans and merged versions are all checked, and counts them so a test
can show the hook ran.
"""

from __future__ import annotations

import pytest

from planner import plan_json, plan_store
from planner.engine import plan as engine_plan

CHECKED = {"engine": 0, "stored": 0}


def _check(doc: dict, where: str) -> None:
    problems = plan_json.schema_errors(doc)
    assert not problems, f"{where} does not conform to plan.schema.json: {problems[:5]}"


@pytest.fixture(autouse=True)
def plan_contract(monkeypatch):
    to_dict = engine_plan.Plan.to_dict
    add_version = plan_store.add_version

    def checked_to_dict(self):
        doc = to_dict(self)
        _check(doc, "engine plan")
        CHECKED["engine"] += 1
        return doc

    def checked_add_version(plan, number, params, result, replanned_from=None):
        _check(result, f"stored plan {plan.id} v{number}")
        assert params == result["params"], "stored params differ from the plan's params"
        CHECKED["stored"] += 1
        return add_version(plan, number, params, result, replanned_from=replanned_from)

    monkeypatch.setattr(engine_plan.Plan, "to_dict", checked_to_dict)
    monkeypatch.setattr(plan_store, "add_version", checked_add_version)
    yield CHECKED
