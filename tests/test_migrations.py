"""Stored plans written before the one-pipeline change are migrated by Alembic.

``tests/data/legacy/db_before_plan_contract.json.gz`` is a database made by the code as it was
at revision ``bde7ceaa4b4c`` (the fictional demo, its sample plan in the web format, a re-plan
of it, and a plan saved with ``planner plan --save`` in the engine's format, which could not be
re-planned). The test writes those rows into a database at that revision, upgrades it to the
newest revision, and checks that every stored request and plan follows today's formats and
that the CLI plan re-plans from the web and from ``planner replan``. It runs on SQLite, and on
PostgreSQL in the ``make test-pg`` leg.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from planner import create_app, plan_json
from planner.extensions import db
from planner.params import PlanParams

pytestmark = pytest.mark.db  # the PostgreSQL leg runs it too

LEGACY = Path(__file__).parent / "data" / "legacy" / "db_before_plan_contract.json.gz"
OLD_REVISION = "bde7ceaa4b4c"
TABLE_ORDER = ("datasets", "team_bases", "villages", "plans", "village_stats", "plan_versions",
               "plan_jobs", "visit_results")
PG_URL = os.environ.get("PLANNER_TEST_DATABASE_URL")


def _value(column: sa.Column, value):
    if value is None:
        return None
    if isinstance(column.type, sa.DateTime) and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    if isinstance(column.type, sa.Date) and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if isinstance(column.type, sa.Boolean):
        return bool(value)
    return value


@pytest.fixture
def legacy_app(tmp_path):
    """An app whose database holds the legacy rows, upgraded to the newest revision."""
    from flask_migrate import upgrade

    url = PG_URL or f"sqlite:///{tmp_path / 'legacy.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": url,
                      "WTF_CSRF_ENABLED": False, "PLAN_ASYNC": False, "PLAN_WORKERS": 1})
    dump = json.loads(gzip.decompress(LEGACY.read_bytes()))
    assert dump["alembic_revision"] == OLD_REVISION
    with app.app_context():
        if PG_URL:
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        upgrade(revision=OLD_REVISION)
        md = sa.MetaData()
        md.reflect(bind=db.engine)
        with db.engine.begin() as conn:
            for name in TABLE_ORDER:
                table = md.tables[name]
                rows = [{c: _value(table.c[c], v) for c, v in row.items()}
                        for row in dump["tables"].get(name, [])]
                if rows:
                    conn.execute(table.insert(), rows)
                if PG_URL:
                    conn.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"))
            # a queued job in the web format, as a server restart may leave one
            plan1 = dump["tables"]["plan_versions"][0]
            conn.execute(md.tables["plan_jobs"].insert(), [{
                "plan_id": plan1["plan_id"], "status": "failed", "params": plan1["params"],
                "created_at": dt.datetime(2026, 11, 30, 10, 0)}])
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        if PG_URL:  # leave the shared test database for the next test's app to rebuild
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        db.engine.dispose()


def test_legacy_requests_and_plans_follow_the_contract_after_the_migration(legacy_app):
    from planner.models import PlanJob, PlanVersion

    with legacy_app.app_context():
        versions = db.session.scalars(sa.select(PlanVersion).order_by(PlanVersion.id)).all()
        assert len(versions) == 3
        for v in versions:
            params = PlanParams.from_dict(v.params)  # the one format, checked at the door
            assert params.dataset_id == v.plan.dataset_id
            assert plan_json.schema_errors(v.result) == [], (v.plan_id, v.version)
            assert v.result["params"] == v.params
            assert v.result["totals"] == plan_json.contract_totals(v.result)
            assert v.result["plan_id"] == str(v.plan_id) and v.result["version"] == v.version
            assert v.result["fictional"] is True
        cli_plan = next(v for v in versions if v.plan.name == "CLI lama")
        from planner.models import TeamBase

        office = db.session.scalars(sa.select(TeamBase)).one()
        # the engine's ["name", lat, lon] list became the one base object
        assert cli_plan.params["teams"][0]["base"] == {"name": office.name, "lat": office.lat,
                                                       "lon": office.lon}
        replanned = next(v for v in versions if v.version == 2)
        assert replanned.params["replan"] == {"plan_id": replanned.plan_id,
                                              "from_date": replanned.replanned_from,
                                              "from_version": 1}
        assert replanned.result["replanned_from"] == replanned.replanned_from
        # the merged version's cost now covers the kept days too (it held the new days only)
        kept = [td for td in plan_json.team_days(replanned.result)
                if td.date < replanned.replanned_from]
        assert kept and sum(td.totals["cost_rp"] for td in kept) > 0
        assert replanned.result["totals"]["cost_rp"] == sum(
            td.totals["cost_rp"] for td in plan_json.team_days(replanned.result, with_empty=True))
        job = db.session.scalars(sa.select(PlanJob)).one()
        PlanParams.from_dict(job.params)


def test_the_legacy_cli_plan_replans_from_the_web_and_the_cli(legacy_app):
    from planner import plan_store
    from planner.models import Plan

    with legacy_app.app_context():
        plan = db.session.scalars(sa.select(Plan).where(Plan.name == "CLI lama")).one()
        plan_id = plan.id
        dates = plan_json.dates(plan_store.get_version(plan_id, 1).result)
    client = legacy_app.test_client()
    r = client.post(f"/rencana/{plan_id}/v1/replan", data={"from_date": dates[1], "time_limit": "2"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    job_id = int(re.search(r"/rencana/job/(\d+)$", r.headers["Location"]).group(1))
    state = client.get(f"/rencana/job/{job_id}.json").get_json()
    assert state["status"] == "done", state
    res = legacy_app.test_cli_runner().invoke(args=[
        "replan", "--plan", str(plan_id), "--from", dates[2], "--time-limit", "2", "--workers", "1",
        "--quiet"])
    assert res.exit_code == 0, res.output
    with legacy_app.app_context():
        assert [v.version for v in plan_store.list_versions(plan_id)] == [1, 2, 3]
        assert client.get(f"/rencana/{plan_id}/v3").status_code == 200
