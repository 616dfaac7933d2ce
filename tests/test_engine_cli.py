"""``planner plan`` on the demo dataset: writes a valid Plan JSON and the instance export."""

from __future__ import annotations

import json

from planner.engine.validate import validate_plan


def test_plan_command_on_demo(demo_app, tmp_path):
    out = tmp_path / "plan.json"
    inst = tmp_path / "instance.json"
    runner = demo_app.test_cli_runner()
    res = runner.invoke(args=["plan", "--teams", "2", "--days", "2", "--start", "2026-12-01",
                              "--nights", "1", "--time-limit", "3", "--seed", "1", "--workers", "1",
                              "--out", str(out), "--export-instance", str(inst)])
    assert res.exit_code == 0, res.output
    plan = json.loads(out.read_text(encoding="utf-8"))
    instance = json.loads(inst.read_text(encoding="utf-8"))
    assert validate_plan(plan, instance) == []
    assert plan["totals"]["people"] > 0
    assert "orang" in res.output
    assert {t["name"] for t in plan["teams"]} == {"Tim 1", "Tim 2"}
    assert instance["calendar"]["dates"] == ["2026-12-01", "2026-12-02"]


def test_plan_command_save_and_team_specs(demo_app, tmp_path):
    runner = demo_app.test_cli_runner()
    res = runner.invoke(args=["plan", "--team", "Tim Darat:road:3", "--team", "Tim Sungai:both:2:1",
                              "--days", "1", "--start", "2026-12-01", "--base", "-2.5336,112.9497",
                              "--time-limit", "2", "--workers", "1", "--save", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "Disimpan" in res.output
    with demo_app.app_context():
        from planner.extensions import db
        from planner.models import PlanVersion

        v = db.session.query(PlanVersion).one()
        assert v.result["teams"][1]["name"] == "Tim Sungai"
        assert v.params["calendar"]["days"] == 1 and v.params["format"] == "plan-params/1"


def test_plan_command_bad_input_is_a_message(demo_app):
    runner = demo_app.test_cli_runner()
    for args in (["plan"], ["plan", "--teams", "2", "--start", "1-12-2026"],
                 ["plan", "--team", "X:plane:3"], ["plan", "--teams", "1", "--base", "abc"]):
        res = runner.invoke(args=args)
        assert res.exit_code != 0
        assert "Traceback" not in res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)


def test_plan_command_without_data(app):
    res = app.test_cli_runner().invoke(args=["plan", "--teams", "1"])
    assert res.exit_code != 0 and "Belum ada data" in res.output
