"""The office's data, managed: the set-up checklist of a new office (``readiness``) and the
imports (datasets, one per recap import): which one is active, renaming, deleting.

* ``readiness()``: what an office still has to do before its first real plan — boundaries,
  recap, a team base (needed), access checked, travel settings, a team roster (recommended) —
  each item with the endpoint of the page that fixes it. The home page and the tests read it.
* ``list_datasets()``, ``activate``, ``rename``, ``delete``: the data management page
  (``/data``). A dataset that plans still use is not deleted (``DataError`` names the plans)
  unless those plans are archived first (``archive_plans=True``); its figures go with it.

Every change is in the audit log (``dataset.activate``, ``dataset.rename``,
``dataset.delete``; ``plan.archive`` for plans archived on the way). Plain Python over the
persistence layer (no Flask import); labels and links come from the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select, update

from . import audit, plan_store, repository, settings
from .extensions import db
from .models import Dataset, NetworkLayer, Plan, PlanJob, Team, TeamBase, Village, VillageStat

NAME_MAX = 200


class DataError(ValueError):
    """A data operation that cannot be done (the message is meant for the coordinator)."""

    def __init__(self, message: str, *, plans: list[Plan] | None = None):
        super().__init__(message)
        self.plans = plans or []


# --------------------------------------------------------------------------- readiness
@dataclass(frozen=True)
class Item:
    """One line of the set-up checklist.

    ``key``: boundaries | recap | bases | access | travel | teams; ``needed``: a plan cannot
    be made without it (the others are recommended); ``endpoint``: the page that fixes it;
    ``url``: that page's address when the caller's ``link`` gave one (None: no link, e.g. the
    user may not change it or the page does not exist); ``detail``: the numbers to show (the
    travel item also counts the road and river layers, ``network_layers``: its line links to
    the network page)."""

    key: str
    done: bool
    needed: bool
    endpoint: str
    detail: dict = field(default_factory=dict)
    url: str | None = None


@dataclass(frozen=True)
class Readiness:
    items: list[Item]

    @property
    def complete(self) -> bool:
        """Every item done: the checklist folds away."""
        return all(i.done for i in self.items)

    @property
    def can_plan(self) -> bool:
        """Everything a plan needs is there."""
        return all(i.done for i in self.items if i.needed)

    @property
    def empty(self) -> bool:
        """No data at all (no villages, no recap)."""
        return not any(i.done for i in self.items if i.key in ("boundaries", "recap"))

    @property
    def done_count(self) -> int:
        return sum(1 for i in self.items if i.done)

    def item(self, key: str) -> Item:
        return next(i for i in self.items if i.key == key)


ENDPOINTS = {
    "boundaries": "imports.index",
    "recap": "imports.index",
    "bases": "bases.index",
    "access": "villages.hints",
    "travel": "settings.travel",
    "teams": "teams.index",
}


def _pick(summary: Any, key: str) -> Any:
    if isinstance(summary, Mapping):
        return summary.get(key)
    return getattr(summary, key, None)


def _merge_counts(counts: dict[str, int], summary: Any) -> dict[str, int]:
    """``counts`` updated with the whole-number values ``summary`` has for the same keys."""
    if summary is None:
        return counts
    for key in counts:
        value = _pick(summary, key)
        if isinstance(value, int) and not isinstance(value, bool):
            counts[key] = value
    return counts


def _attributes_summary() -> Any:
    """``planner.attributes.summary()`` when that module exists (else None)."""
    try:
        import planner.attributes as attributes
    except ImportError:
        return None
    fn = getattr(attributes, "summary", None)
    return fn() if callable(fn) else None


def _roster_summary() -> Any:
    """``planner.roster.summary()`` when that module exists (else None)."""
    try:
        import planner.roster as roster
    except ImportError:
        return None
    fn = getattr(roster, "summary", None)
    return fn() if callable(fn) else None


def access_summary() -> dict[str, int]:
    """How far the villages' access has been checked: ``villages``, ``checked`` (access or
    signal set by a file, by hand or a confirmed hint), ``river`` (river-only), ``both``
    (road and river), ``road``, ``no_signal``. From ``planner.attributes.summary()`` where it
    gives these keys, counted here otherwise."""
    counts = {"villages": 0, "checked": 0, "river": 0, "both": 0, "road": 0, "no_signal": 0}
    rows = db.session.execute(
        select(Village.access, Village.access_source, Village.no_signal, func.count(Village.id))
        .group_by(Village.access, Village.access_source, Village.no_signal)).all()
    for access, source, no_signal, n in rows:
        counts["villages"] += n
        if (source or "default") != "default":
            counts["checked"] += n
        if access in ("river", "both", "road"):
            counts[access] += n
        if no_signal:
            counts["no_signal"] += n
    return _merge_counts(counts, _attributes_summary())


def roster_summary() -> dict[str, int]:
    """The team roster: ``teams`` (not archived). From ``planner.roster.summary()`` where it
    gives that key, counted here otherwise."""
    counts = {"teams": db.session.scalar(
        select(func.count(Team.id)).where(Team.archived.is_(False))) or 0}
    return _merge_counts(counts, _roster_summary())


def readiness(link: Callable[[str], str | None] | None = None) -> Readiness:
    """The set-up checklist, in the order an office works through it. ``link(endpoint)`` gives
    the address of the page that fixes an item (or None for no link)."""
    villages = db.session.scalar(select(func.count(Village.id))) or 0
    kecamatan = db.session.scalar(select(func.count(func.distinct(Village.kecamatan)))) or 0
    dataset = repository.current_dataset()
    bases = db.session.scalar(
        select(func.count(TeamBase.id)).where(TeamBase.archived.is_(False))) or 0
    access = access_summary()
    teams = roster_summary()["teams"]
    travel = settings.get("travel") or {}
    network_layers = db.session.scalar(  # road and river layers (the network page, issue 12)
        select(func.count(NetworkLayer.id)).where(NetworkLayer.kind.in_(("road", "river")))) or 0
    raw = [
        ("boundaries", villages > 0, True, {"villages": villages, "kecamatan": kecamatan}),
        ("recap", dataset is not None, True,
         {"name": dataset.name, "date": dataset.snapshot_date, "file": dataset.recap_file}
         if dataset is not None else {}),
        ("bases", bases > 0, True, {"bases": bases}),
        ("access", access["checked"] > 0, False, access),
        ("travel", settings.is_set("travel"), False, {"source": travel.get("source", "builtin"),
                                                      "network_layers": network_layers}),
        ("teams", teams > 0, False, {"teams": teams}),
    ]
    items = []
    for key, done, needed, detail in raw:
        endpoint = ENDPOINTS[key]
        items.append(Item(key=key, done=bool(done), needed=needed, endpoint=endpoint,
                          detail=detail, url=link(endpoint) if link is not None else None))
    return Readiness(items)


# --------------------------------------------------------------------------- datasets
def get(dataset_id: int | None) -> Dataset | None:
    return db.session.get(Dataset, dataset_id) if dataset_id is not None else None


def totals() -> dict[int, dict[str, int]]:
    """Per dataset, the figures of its recap as imported: villages, population, obliged,
    recorded (the newest recap row per village; field results are not added here)."""
    newest = (
        select(func.max(VillageStat.id).label("max_id"))
        .where(VillageStat.source == "recap")
        .group_by(VillageStat.dataset_id, VillageStat.village_code)
        .subquery())
    rows = db.session.execute(
        select(VillageStat.dataset_id, func.count(VillageStat.id),
               func.sum(VillageStat.population), func.sum(VillageStat.obliged),
               func.sum(VillageStat.recorded))
        .join(newest, VillageStat.id == newest.c.max_id)
        .group_by(VillageStat.dataset_id)).all()
    return {ds: {"villages": int(n or 0), "population": int(p or 0), "obliged": int(o or 0),
                 "recorded": int(r or 0)} for ds, n, p, o, r in rows}


def plans_using(dataset_id: int, *, include_archived: bool = True) -> list[Plan]:
    q = select(Plan).where(Plan.dataset_id == dataset_id)
    if not include_archived:
        q = q.where(Plan.archived.is_(False))
    return list(db.session.scalars(q.order_by(Plan.created_at.desc(), Plan.id.desc())))


def list_datasets() -> list[dict[str, Any]]:
    """Every import, newest first, with its totals, its plans and whether it is the active
    one (the one the pages and new plans use)."""
    active = repository.current_dataset()
    sums = totals()
    plans: dict[int, list[Plan]] = {}
    for p in db.session.scalars(select(Plan).where(Plan.dataset_id.is_not(None))
                                .order_by(Plan.created_at.desc(), Plan.id.desc())):
        plans.setdefault(p.dataset_id, []).append(p)
    rows = []
    for ds in db.session.scalars(select(Dataset).order_by(Dataset.id.desc())):
        rows.append({
            "dataset": ds,
            "active": active is not None and ds.id == active.id,
            **sums.get(ds.id, {"villages": 0, "population": 0, "obliged": 0, "recorded": 0}),
            "plans": plans.get(ds.id, []),
        })
    return rows


def _dataset(dataset_id: int) -> Dataset:
    ds = get(dataset_id)
    if ds is None:
        raise DataError("Data tersebut tidak ditemukan (mungkin sudah dihapus).")
    return ds


def activate(dataset_id: int, *, commit: bool = True) -> Dataset:
    """Make ``dataset_id`` the one the pages and new plans use (audited)."""
    ds = _dataset(dataset_id)
    previous = repository.current_dataset()
    db.session.execute(update(Dataset).where(Dataset.id != ds.id).values(active=False))
    ds.active = True
    if previous is None or previous.id != ds.id:
        audit.record("dataset.activate", f"dataset {ds.id}",
                     before={"active": previous.id if previous else None,
                             "name": previous.name if previous else None},
                     after={"active": ds.id, "name": ds.name})
    if commit:
        db.session.commit()
    return ds


def rename(dataset_id: int, name: str, *, commit: bool = True) -> Dataset:
    """Give an import another name (audited). Plans keep the name they were made with."""
    ds = _dataset(dataset_id)
    name = " ".join((name or "").split())
    if not name:
        raise DataError("Nama data wajib diisi.")
    if len(name) > NAME_MAX:
        raise DataError(f"Nama data paling panjang {NAME_MAX} karakter.")
    if name != ds.name:
        audit.record("dataset.rename", f"dataset {ds.id}", before={"name": ds.name},
                     after={"name": name})
        ds.name = name
    if commit:
        db.session.commit()
    return ds


def _running_jobs_for(dataset_id: int) -> int:
    """Queued or running solves that will read this dataset."""
    n = 0
    for params in db.session.scalars(
            select(PlanJob.params).where(PlanJob.status.in_(("queued", "running")))):
        if isinstance(params, Mapping) and params.get("dataset_id") == dataset_id:
            n += 1
    return n


def delete(dataset_id: int, *, archive_plans: bool = False, commit: bool = True) -> dict:
    """Delete an import and its figures (audited). Refused (``DataError`` with ``plans``)
    while plans that are not archived use it, unless ``archive_plans``: then those plans are
    archived first (audited). Archived plans keep their stored versions; they no longer point
    to the deleted data. When the active dataset goes, the newest remaining becomes active.
    Returns what was deleted (for the message)."""
    ds = _dataset(dataset_id)
    if _running_jobs_for(ds.id):
        raise DataError("Sebuah perhitungan rencana dengan data ini sedang berjalan atau "
                        "menunggu; hapus setelah perhitungan selesai.")
    live = plans_using(ds.id, include_archived=False)
    if live and not archive_plans:
        names = ", ".join(f"\"{p.name}\"" for p in live[:10]) + (" …" if len(live) > 10 else "")
        raise DataError(
            f"Data \"{ds.name}\" masih dipakai {len(live)} rencana: {names}. Arsipkan rencana "
            "itu dulu (atau pilih \"arsipkan rencana lalu hapus\"), atau hapus rencananya.",
            plans=live)
    for plan in live:
        plan_store.set_archived(plan.id, True, commit=False)
    attached = plans_using(ds.id)
    was_active = repository.current_dataset()
    sums = totals().get(ds.id, {})
    before = {"name": ds.name, "snapshot_date": ds.snapshot_date.isoformat(),
              "recap_file": ds.recap_file, "villages_file": ds.villages_file,
              "active": bool(was_active is not None and was_active.id == ds.id),
              "plans": [p.id for p in attached], **sums}
    db.session.execute(update(Plan).where(Plan.dataset_id == ds.id).values(dataset_id=None))
    db.session.execute(sql_delete(VillageStat).where(VillageStat.dataset_id == ds.id))
    db.session.execute(sql_delete(Dataset).where(Dataset.id == ds.id))
    if before["active"]:
        newest = db.session.scalars(select(Dataset).order_by(Dataset.id.desc()).limit(1)).first()
        if newest is not None:
            newest.active = True
    audit.record("dataset.delete", f"dataset {dataset_id}", before=before)
    if commit:
        db.session.commit()
    return {"name": before["name"], "archived": [p.name for p in live],
            "stats": sums.get("villages", 0)}

