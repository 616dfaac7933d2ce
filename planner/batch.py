"""Batch planning: one plan request for many regencies (``planner batch``).

The request is a ``plan-params/1`` file used as a template. For each regency it is made
concrete within that regency (``planner.regencies``): its active dataset, and its default base
for every team whose base is missing or ``"default"``. Each regency's plan is one job of the
job queue (``planner.jobs``), so under ``PLANNER_JOBS=celery`` the regencies fan out over every
``planner worker`` (a group of independent tasks), and under ``local`` they run one after the
other in this process. Every plan goes through the same pipeline, validation and store as a
plan made on the **Rencana** page.

:func:`summary_rows` gives the province summary (people reached, km, cost, team-days per
regency); :func:`write_xlsx` writes it, and :func:`write_sheets` the day sheets of each
regency's plan as one PDF per regency.

No Flask import.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path

from . import jobs, pipeline, plan_store, regencies, repository
from .extensions import db
from .models import Dataset, Plan, PlanJob, PlanVersion, Regency, Village


class BatchError(ValueError):
    """A batch that cannot start (message for the user, as is)."""


@dataclass
class Item:
    regency: Regency
    job_id: int | None = None
    error: str | None = None


def choose(codes: tuple[str, ...] | list[str]) -> list[Regency]:
    """``all`` (every regency; the installation itself when it has no regencies) or codes.
    ``all`` leaves out an empty default regency beside others: the one the first
    ``regency add`` makes on an installation that held nothing yet."""
    every = regencies.all_regencies()
    if not codes or list(codes) == ["all"]:
        if not every:
            regencies.ensure_default()
            db.session.commit()
            every = regencies.all_regencies()
        if len(every) > 1:
            every = [r for r in every if not (r.is_default and _holds_nothing(r))]
        return every
    out, unknown = [], []
    for code in codes:
        r = regencies.by_code(code)
        (out.append(r) if r is not None else unknown.append(code))
    if unknown:
        raise BatchError("Kabupaten tidak dikenal: " + ", ".join(unknown)
                         + " (lihat planner regency list).")
    return out


def _holds_nothing(regency: Regency) -> bool:
    """No villages and no datasets in ``regency``."""
    from sqlalchemy import func, select

    with regencies.within(regency):
        return not db.session.scalar(select(func.count(Village.id))) and \
            not db.session.scalar(select(func.count(Dataset.id)))


def params_for(template: dict, regency: Regency):
    """The template made concrete for ``regency`` (call within it)."""
    dataset = repository.current_dataset()
    if dataset is None:
        raise pipeline.PlanningError(f"{regency.name}: belum ada data (rekap) untuk kabupaten ini.")
    base = repository.default_base()
    data = copy.deepcopy(template)
    data["dataset_id"] = dataset.id
    data["name"] = f"{template.get('name') or 'Rencana'} \u2014 {regency.name}"
    data.pop("replan", None)
    for team in data.get("teams") or []:
        if not team.get("base") or team.get("base") == "default":
            if base is None:
                raise pipeline.PlanningError(f"{regency.name}: belum ada pangkalan (kantor).")
            team["base"] = {"id": base.id, "name": base.name, "lat": base.lat, "lon": base.lon}
    return pipeline.load_params(data)


def submit(app, chosen: list[Regency], template: dict) -> list[Item]:
    """One job per regency (a regency whose request cannot be made gets its reason instead)."""
    items = []
    for r in chosen:
        item = Item(r)
        with regencies.within(r):
            try:
                item.job_id = jobs.submit_plan_job(app, params_for(template, r))
            except pipeline.PlanningError as exc:
                item.error = str(exc)
        items.append(item)
    return items


def wait(items: list[Item], *, timeout: float, poll: float = 1.0) -> bool:
    """Until every job is done or failed (True) or ``timeout`` seconds pass (False)."""
    ids = [i.job_id for i in items if i.job_id is not None]
    deadline = time.monotonic() + timeout
    while True:
        with regencies.within(None):
            open_ = db.session.query(PlanJob.id).filter(
                PlanJob.id.in_(ids), PlanJob.status.in_(("queued", "running"))).count()
            db.session.rollback()
        if not open_:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)


def summary_rows(items: list[Item]) -> list[dict]:
    """Per regency: status, reason, plan and version, people, km, cost (Rp), team-days."""
    rows = []
    with regencies.within(None):
        for item in items:
            row = {"code": item.regency.code, "regency": item.regency.name, "status": "failed",
                   "error": item.error, "plan_id": None, "version": None, "people": None,
                   "km": None, "cost_rp": None, "team_days": None, "villages": None}
            job = db.session.get(PlanJob, item.job_id) if item.job_id else None
            if job is not None:
                row["status"], row["error"] = job.status, job.error if job.error else item.error
                version = db.session.get(PlanVersion, job.version_id) if job.version_id else None
                if version is not None and version.result:
                    row.update(_totals(version.result), plan_id=job.plan_id,
                               version=version.version)
            rows.append(row)
    return rows


def latest_rows(chosen: list[Regency]) -> list[dict]:
    """The province summary of the newest plan of each regency (the province page)."""
    from sqlalchemy import select

    rows = []
    for r in chosen:
        row = {"code": r.code, "regency": r.name, "status": "none", "error": None,
               "plan_id": None, "plan_name": None, "version": None, "people": None, "km": None,
               "cost_rp": None, "team_days": None, "villages": None}
        with regencies.within(r):
            plan = db.session.scalars(select(Plan).where(Plan.archived.is_(False))
                                      .order_by(Plan.created_at.desc(), Plan.id.desc())).first()
            version = plan_store.latest_version(plan.id) if plan is not None else None
            if version is not None and version.result:
                row.update(_totals(version.result), status="done", plan_id=plan.id,
                           plan_name=plan.name, version=version.version)
        rows.append(row)
    return rows


def _totals(res: dict) -> dict:
    totals = res.get("totals") or {}
    days = [d for t in res.get("teams") or [] for d in t.get("days") or []]
    return {"people": totals.get("people"), "km": totals.get("km"),
            "cost_rp": totals.get("cost_rp"),
            "team_days": sum(1 for d in days if d.get("stops")),
            "villages": sum(len(d.get("stops") or []) for d in days)}


COLUMNS = (("code", "Kode"), ("regency", "Kabupaten"), ("status", "Status"),
           ("people", "Orang terencana"), ("km", "Km"), ("cost_rp", "Biaya (Rp)"),
           ("team_days", "Hari-tim"), ("villages", "Kunjungan desa"), ("plan_id", "Rencana"),
           ("version", "Versi"), ("error", "Alasan gagal"))


def write_xlsx(rows: list[dict], path):
    """The province summary as XLSX (one row per regency and a total row) into ``path`` (a
    file path or a binary file object); returns ``path`` (rewound when a file object)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Provinsi"
    ws.append([label for _k, label in COLUMNS])
    for row in rows:
        ws.append([row.get(k) for k, _label in COLUMNS])
    done = [r for r in rows if r["status"] == "done"]
    ws.append(["", "Jumlah", f"{len(done)}/{len(rows)} selesai",
               sum(r["people"] or 0 for r in done), round(sum(r["km"] or 0 for r in done), 1),
               sum(r["cost_rp"] or 0 for r in done), sum(r["team_days"] or 0 for r in done),
               sum(r["villages"] or 0 for r in done), None, None, None])
    if isinstance(path, Path):
        path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    if hasattr(path, "seek"):
        path.seek(0)
    return path


def write_sheets(rows: list[dict], out_dir: Path, *, base_url: str, link_maker=None) -> list[Path]:
    """The day sheets of each regency's plan, one PDF per regency (``<code>-lembar-harian.pdf``).
    ``link_maker(plan_id, version)`` gives the signed team-lead links for the QR codes."""
    written = []
    for row in rows:
        if row["status"] != "done" or row["plan_id"] is None:
            continue
        path = out_dir / sheet_filename(row)
        path.write_bytes(sheet_pdf(row, base_url=base_url, link_maker=link_maker))
        written.append(path)
    return written


def sheet_filename(row: dict) -> str:
    return f"{row['code']}-lembar-harian.pdf"


def sheet_pdf(row: dict, *, base_url: str, link_maker=None, **render) -> bytes:
    """The day sheets (every team, every day) of one summary row's plan, rendered within the
    plan's own regency (its villages). ``render``: more arguments for
    ``sheets.render_daysheets_pdf`` (the web page passes its language)."""
    from . import sheets

    with regencies.within(None):
        regency_id = db.session.get(Plan, row["plan_id"]).regency_id
    with regencies.within(regency_id):  # the villages of the plan's own regency
        plan, _dataset = plan_store.stored_plan(row["plan_id"], row["version"])
        villages = repository.villages_frame(with_stats=False)
        link = link_maker(row["plan_id"], row["version"]) if link_maker else None
        return sheets.render_daysheets_pdf(plan, villages, base_url=base_url, link=link,
                                           **render)
