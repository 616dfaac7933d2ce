"""plans: one parameter format (plan-params/1) and the Plan JSON contract (jemput-bola-plan/1)

Revision ID: c4f1a9e2d7b3
Revises: bde7ceaa4b4c
Create Date: 2026-11-30 12:00:00

Before this revision three parameter formats were stored: the web form's and the sample plan's
(flat keys, ``base`` as an object with ``id``), ``planner plan --save``'s (the engine's format:
``base`` as a ``[name, lat, lon]`` list, no ``dataset_id``) and a re-plan's (the form's plus
``plan_id``/``replanned_from``). Plan JSON results lacked ``format``, per-day ``cost_rp``,
``dataset_id``/``fictional``, and merged re-plans kept the new days' cost only in ``totals``.

This data migration rewrites every stored ``plan_versions.params``, ``plan_versions.result`` and
``plan_jobs.params`` into the current formats (docs/reference/plan-params.md,
docs/reference/plan-json.md). The conversion is written out here, frozen, so that later changes
to the application cannot change what this migration does. Per-day costs of old results are
recomputed as leg km × the default cost per km of the leg's mode (road Rp 4,000, river
Rp 45,000: the travel model's defaults at the time); totals are then summed over the days.
Downgrade leaves the data as it is (the old code reads only the keys it knew).
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "c4f1a9e2d7b3"
down_revision = "bde7ceaa4b4c"
branch_labels = None
depends_on = None

PARAMS_FORMAT = "plan-params/1"
PLAN_FORMAT = "jemput-bola-plan/1"
ROAD_RP_PER_KM = 4000.0
RIVER_RP_PER_KM = 45000.0


def _load(value):
    if value is None or isinstance(value, dict):
        return value
    return json.loads(value)


def _num(value, default):
    return default if value is None else value


def convert_params(p: dict, *, plan_name: str, dataset_id, plan_id: int, number: int) -> dict:
    """Any of the old flat formats → plan-params/1."""
    if p.get("format") == PARAMS_FORMAT:
        return p
    teams = []
    for i, t in enumerate(p.get("teams") or [], start=1):
        b = t.get("base") or {}
        if isinstance(b, list | tuple):
            base = {"name": str(b[0]), "lat": float(b[1]), "lon": float(b[2])}
        else:
            base = {"name": str(b.get("name") or ""), "lat": float(b["lat"]),
                    "lon": float(b["lon"])}
            if b.get("id") is not None:
                base["id"] = int(b["id"])
        teams.append({
            "name": str(t.get("name") or f"Tim {i}"), "base": base,
            "mode": t.get("mode") or "road", "kits": int(t.get("kits") or 3),
            "max_nights": int(t.get("max_nights") or 0),
            "minutes_per_person": float(_num(t.get("minutes_per_person"), 3.5)),
            "setup_min": int(_num(t.get("setup_min"), 30)),
            "available_dates": t.get("available_dates"),
        })
    pooling = p.get("pooling")
    if pooling:
        pooling = {"radius_km": float(pooling.get("radius_km") or 5.0),
                   **({"decay": float(pooling["decay"])} if pooling.get("decay") else {})}
    else:
        pooling = None
    replan = None
    if p.get("replanned_from") and p.get("plan_id"):
        replan = {"plan_id": int(p["plan_id"]), "from_date": str(p["replanned_from"]),
                  "from_version": int(p.get("from_version") or max(number - 1, 1))}
    return {
        "format": PARAMS_FORMAT,
        "name": str(p.get("name") or plan_name or ""),
        "dataset_id": p.get("dataset_id") if p.get("dataset_id") is not None else dataset_id,
        "teams": teams,
        "calendar": {"start_date": str(p.get("start_date")), "days": int(p.get("days") or 1),
                     "work_start": p.get("work_start") or "08:00",
                     "work_end": p.get("work_end") or "16:00",
                     "skip_weekends": bool(p.get("skip_weekends", True)),
                     "holidays": [str(h) for h in p.get("holidays") or []]},
        "selection": {"below": p.get("below"), "min_unrecorded": int(p.get("min_unrecorded") or 0),
                      "turnout": float(_num(p.get("turnout"), 0.6)),
                      "turnout_overrides": dict(p.get("turnout_overrides") or {}),
                      "must_visit": [str(c) for c in p.get("must_visit") or []],
                      "exclude": [str(c) for c in p.get("exclude") or []]},
        "locks": [{"site_code": str(lk["site_code"]), "date": str(lk["date"]),
                   "team": str(lk["team"])} for lk in p.get("locks") or []],
        "extra_sites": [],
        "pooling": pooling,
        "travel": {"source": "builtin", "settings": {}},
        "model": {"person_value_min": float(_num(p.get("person_value_min"), 30.0)),
                  "split_fraction": float(_num(p.get("split_fraction"), 0.75))},
        "solver": {"time_limit": float(_num(p.get("time_limit"), 30)),
                   "seed": int(_num(p.get("seed"), 1)),
                   "solution_limit": p.get("solution_limit")},
        "replan": replan,
    }


def _leg_cost(km, mode) -> float:
    return float(km or 0) * (RIVER_RP_PER_KM if mode == "river" else ROAD_RP_PER_KM)


def convert_result(r: dict, *, params: dict, plan_id: int, number: int, plan_name: str,
                   dataset: dict | None, replanned_from) -> dict:
    """An old Plan JSON → jemput-bola-plan/1 (days carry cost; totals summed over days)."""
    people = minutes = cost = 0
    km = 0.0
    for team in r.get("teams") or []:
        for day in team.get("days") or []:
            stops = day.get("stops") or []
            t = day.setdefault("totals", {})
            if "cost_rp" not in t:
                c = sum(_leg_cost(s.get("km_from_prev"), s.get("mode")) for s in stops)
                c += _leg_cost(day.get("km_to_end"), day.get("mode_to_end"))
                t["cost_rp"] = int(round(c))
            t["people"] = sum(int(s.get("expected") or 0) for s in stops)
            t.setdefault("km", round(sum(float(s.get("km_from_prev") or 0) for s in stops)
                                     + float(day.get("km_to_end") or 0), 1))
            t.setdefault("travel_min", sum(int(s.get("min_from_prev") or 0) for s in stops)
                         + int(day.get("min_to_end") or 0))
            people += t["people"]
            km += float(t["km"])
            minutes += int(t["travel_min"])
            cost += int(t["cost_rp"])
    r["format"] = PLAN_FORMAT
    r["plan_id"] = str(plan_id)
    r["version"] = int(number)
    r["plan_name"] = plan_name
    r["dataset"] = r.get("dataset") or (dataset or {}).get("name") or ""
    r["dataset_id"] = (dataset or {}).get("id")
    r["fictional"] = bool((dataset or {}).get("fictional"))
    r["synthetic"] = bool((dataset or {}).get("synthetic"))
    r["replanned_from"] = str(replanned_from) if replanned_from else None
    r["params"] = params
    r["totals"] = {"people": int(people), "km": round(km, 1),
                   "travel_hours": round(minutes / 60.0, 2), "cost_rp": int(cost)}
    r.setdefault("solver", {})
    r.setdefault("dropped", [])
    return r


def upgrade():
    conn = op.get_bind()
    md = sa.MetaData()
    plans = sa.Table("plans", md, autoload_with=conn)
    versions = sa.Table("plan_versions", md, autoload_with=conn)
    jobs = sa.Table("plan_jobs", md, autoload_with=conn)
    datasets = sa.Table("datasets", md, autoload_with=conn)
    ds_rows = {d.id: {"id": d.id, "name": d.name, "fictional": bool(d.fictional),
                      "synthetic": bool(d.synthetic)}
               for d in conn.execute(sa.select(datasets)).fetchall()}
    plan_rows = {p.id: p for p in conn.execute(sa.select(plans)).fetchall()}
    for v in conn.execute(sa.select(versions)).fetchall():
        plan = plan_rows.get(v.plan_id)
        if plan is None:
            continue
        params = convert_params(_load(v.params) or {}, plan_name=plan.name,
                                dataset_id=plan.dataset_id, plan_id=plan.id, number=v.version)
        result = _load(v.result)
        if result is not None:
            result = convert_result(result, params=params, plan_id=plan.id, number=v.version,
                                    plan_name=plan.name, dataset=ds_rows.get(plan.dataset_id),
                                    replanned_from=v.replanned_from)
        conn.execute(versions.update().where(versions.c.id == v.id)
                     .values(params=params, result=result))
    for j in conn.execute(sa.select(jobs)).fetchall():
        p = _load(j.params) or {}
        plan = plan_rows.get(j.plan_id) if j.plan_id else None
        params = convert_params(p, plan_name=plan.name if plan else "",
                                dataset_id=plan.dataset_id if plan else None,
                                plan_id=j.plan_id or 0, number=2)
        conn.execute(jobs.update().where(jobs.c.id == j.id).values(params=params))


def downgrade():
    pass
