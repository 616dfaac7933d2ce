"""A stop's life in the field, and what the office pins down before a re-plan.

Lifecycle of a stop (matched by team, date and village across the versions of a plan)::

    planned → locked (kept on its team and date by re-plans)
            → announced (the village head has been told the date; also kept)
            → done / partly / not reached   (field reports: ``planner.field``)
            → cancelled, with a reason (flood, no fuel, village not ready, …)

Marks are :class:`planner.models.StopMark` rows per plan; "planned" is the absence of a mark.
A mark with ``team == ""`` keeps a village on a date for whichever team goes. Re-plans
(``planner.field.replan_params``) turn locked and announced marks from the re-plan date on into
locks, and never prefer a cancelled stop where it was. :func:`stop_states` joins the marks with
the field reports for the plan page.

Village flags (:class:`planner.models.VillageFlag`): villages the office wants in every new plan
(``must``) or in none (``exclude``); the plan form starts from them.

Every change is audited (``stop.lock``, ``stop.announce``, ``stop.cancel``, ``stop.reset``,
``village.flag``) in the same transaction. Messages are :class:`planner.msg.Msg`. Plain Python
over the persistence layer (no Flask).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select

from . import audit, msg, plan_json
from .extensions import db
from .models import PlanVersion, StopMark, VillageFlag
from .msg import Msg, _
from .params import LockParams

STATES = ("locked", "announced", "cancelled")
CANCEL_REASONS = ("flood", "no_fuel", "not_ready", "weather", "boat", "other")
FLAGS = ("must", "exclude")
# a stop already reported done or partly cannot be announced, locked or cancelled any more
REPORTED = ("done", "partly")

Key = tuple[str, str, str]  # (team, ISO date, site code); team "" = any team


class LifecycleError(ValueError):
    """A change that cannot be made (a :class:`Msg` for the coordinator)."""

    def translate(self, gettext, locale: str = "id") -> str:
        m = self.args[0] if self.args else ""
        return m.translate(gettext, locale) if isinstance(m, Msg) else str(m)


@dataclass(frozen=True)
class StopState:
    state: str          # planned | locked | announced | cancelled | done | partly | not_reached
    mark: str | None    # the office's mark (locked | announced | cancelled) or None
    reason: str | None
    by: str | None
    at: dt.datetime | None

    @property
    def kept(self) -> bool:
        """Re-plans keep this stop on its team and date."""
        return self.mark in ("locked", "announced") or self.state in REPORTED


# --------------------------------------------------------------------------- reading
def marks(plan_id: int) -> dict[Key, StopMark]:
    rows = db.session.scalars(select(StopMark).where(StopMark.plan_id == plan_id)
                              .order_by(StopMark.id)).all()
    return {(m.team, m.date.isoformat(), m.site_code): m for m in rows}


def stop_states(version: PlanVersion, reports: dict) -> dict[Key, StopState]:
    """Every stop of ``version`` with its state; ``reports`` are the newest field reports per
    (team, date, site) (``planner.field.latest_results``)."""
    mk = marks(version.plan_id)
    out: dict[Key, StopState] = {}
    for ref in plan_json.iter_stops(version.result or {}):
        m = mk.get(ref.key) or mk.get(("", ref.date, ref.site_code))
        rep = reports.get(ref.key)
        mark = m.state if m is not None else ("locked" if ref.stop.get("locked") else None)
        if rep is not None:
            state = rep.outcome
        else:
            state = mark or "planned"
        out[ref.key] = StopState(state=state, mark=mark,
                                 reason=(m.reason if m is not None and m.state == "cancelled"
                                         else (rep.reason if rep is not None else None)),
                                 by=m.updated_by if m is not None else None,
                                 at=m.updated_at if m is not None else None)
    return out


def counts(states: dict[Key, StopState]) -> dict[str, int]:
    out = {s: 0 for s in ("planned", "locked", "announced", "cancelled", "done", "partly",
                          "not_reached")}
    for st in states.values():
        out[st.state] = out.get(st.state, 0) + 1
    return out


# --------------------------------------------------------------------------- choosing stops
def keys_for(version: PlanVersion, *, team: str | None = None, date: str | None = None,
             week_of: str | None = None, code: str | None = None) -> list[Key]:
    """The stops of ``version`` picked by team, date, the Monday–Sunday week of ``week_of``,
    and/or village code (all given filters apply)."""
    lo = hi = None
    if week_of:
        d = dt.date.fromisoformat(week_of)
        lo = d - dt.timedelta(days=d.weekday())
        hi = lo + dt.timedelta(days=6)
    out = []
    for ref in plan_json.iter_stops(version.result or {}):
        if team is not None and ref.team != team:
            continue
        if date is not None and ref.date != date:
            continue
        if lo is not None and not lo.isoformat() <= ref.date <= hi.isoformat():
            continue
        if code is not None and ref.site_code != code:
            continue
        if ref.key not in out:
            out.append(ref.key)
    return out


# --------------------------------------------------------------------------- changing
def set_state(version: PlanVersion, keys: Iterable[Key], state: str, *, reports: dict,
              reason: str | None = None, note: str | None = None, by: str | None = None,
              commit: bool = True) -> int:
    """Mark the given stops of ``version`` ``locked``, ``announced`` or ``cancelled`` (with a
    reason), or back to ``planned`` (the mark is removed). All or nothing; returns how many
    stops changed. Stops already reported done/partly keep their report: they are refused."""
    keys = list(dict.fromkeys(keys))
    if state not in STATES + ("planned",):
        raise LifecycleError(_("Status tidak dikenal: %(state)s.", state=state))
    if state == "cancelled" and reason not in CANCEL_REASONS:
        raise LifecycleError(_("Pilih alasan pembatalan."))
    if not keys:
        raise LifecycleError(_("Tidak ada stop yang dipilih."))
    stops = {ref.key: ref for ref in plan_json.iter_stops(version.result or {})}
    problems = []
    for key in keys:
        ref = stops.get(key)
        if ref is None:
            problems.append(_("%(code)s tidak ada di rencana %(team)s tanggal %(date)s",
                              code=key[2], team=key[0], date=key[1]))
            continue
        rep = reports.get(key)
        if rep is not None and rep.outcome in REPORTED and state != "planned":
            problems.append(_("%(name)s (%(date)s) sudah dilaporkan selesai",
                              name=str(ref.stop.get("name") or key[2]), date=key[1]))
    if problems:
        raise LifecycleError(_("Tidak diubah: %(problems)s.", problems=msg.join("; ", problems)))
    existing = marks(version.plan_id)
    changed = 0
    before, after = {}, {}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for key in keys:
        m = existing.get(key)
        label = " ".join(key)
        old = _mark_dict(m)
        if state == "planned":
            if m is None:
                continue
            db.session.delete(m)
        else:
            if m is None:
                m = StopMark(plan_id=version.plan_id, team=key[0],
                             date=dt.date.fromisoformat(key[1]), site_code=key[2])
                db.session.add(m)
            if m.state == state and m.reason == reason:
                continue
            m.state, m.reason, m.note = state, reason if state == "cancelled" else None, note
            m.updated_by, m.updated_at = by, now
        changed += 1
        before[label] = old
        after[label] = None if state == "planned" else _mark_dict(m)
    if changed:
        action = {"locked": "stop.lock", "announced": "stop.announce",
                  "cancelled": "stop.cancel", "planned": "stop.reset"}[state]
        audit.record(action, f"plan {version.plan_id}", before=before, after=after)
    if commit:
        db.session.commit()
    return changed


def lock_village_date(version: PlanVersion, code: str, date: str, *, team: str = "",
                      by: str | None = None, commit: bool = True) -> None:
    """Keep a village on a date (for ``team``, or whichever team when ""): the next re-plan
    visits it then, or refuses with the reason."""
    try:
        day = dt.date.fromisoformat(date)
    except (TypeError, ValueError):
        raise LifecycleError(_("Tanggal tidak sah: %(date)s.", date=str(date))) from None
    dates = set(plan_json.dates(version.result or {}))
    params_dates = _working_dates(version)
    if date not in dates and date not in params_dates:
        raise LifecycleError(_("%(date)s bukan hari kerja rencana ini.", date=date))
    names = {t.get("name") for t in plan_json.teams(version.result or {})}
    if team and team not in names:
        raise LifecycleError(_("Tim %(team)s tidak ada dalam rencana.", team=team))
    key = (team, date, code)
    m = marks(version.plan_id).get(key)
    old = _mark_dict(m)
    if m is None:
        m = StopMark(plan_id=version.plan_id, team=team, date=day, site_code=code)
        db.session.add(m)
    m.state, m.reason, m.updated_by = "locked", None, by
    m.updated_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    audit.record("stop.lock", f"plan {version.plan_id}", before={" ".join(key): old},
                 after={" ".join(key): _mark_dict(m)})
    if commit:
        db.session.commit()


def village_date_locks(plan_id: int) -> list[StopMark]:
    return [m for m in marks(plan_id).values() if m.team == "" and m.state == "locked"]


def unlock_village_date(version: PlanVersion, code: str, date: str, *, by: str | None = None,
                        commit: bool = True) -> bool:
    m = marks(version.plan_id).get(("", date, code))
    if m is None:
        return False
    audit.record("stop.reset", f"plan {version.plan_id}",
                 before={f" {date} {code}": _mark_dict(m)}, after={f" {date} {code}": None})
    db.session.delete(m)
    if commit:
        db.session.commit()
    return True


def _working_dates(version: PlanVersion) -> set[str]:
    from .engine import working_dates

    cal = (version.params or {}).get("calendar") or {}
    try:
        start = dt.date.fromisoformat(cal["start_date"])
        days = working_dates(start, int(cal["days"]),
                             [dt.date.fromisoformat(h) for h in cal.get("holidays") or []],
                             bool(cal.get("skip_weekends", True)))
    except (KeyError, TypeError, ValueError):
        return set()
    return {d.isoformat() for d in days}


def _mark_dict(m: StopMark | None) -> dict | None:
    if m is None:
        return None
    return {"state": m.state, "reason": m.reason, "note": m.note, "by": m.updated_by}


# --------------------------------------------------------------------------- re-plans
def replan_marks(plan_id: int, cut: str) -> tuple[list[LockParams], set[Key]]:
    """(locks, cancelled stops) from the plan's marks on or after ``cut``: locked and announced
    stops (and villages locked to a date) become locks; cancelled stops are not preferred
    where they were."""
    locks, cancelled = [], set()
    for key, m in marks(plan_id).items():
        if key[1] < cut:
            continue
        if m.state in ("locked", "announced"):
            lk = LockParams(site_code=key[2], date=key[1], team=key[0])
            if lk not in locks:
                locks.append(lk)
        elif m.state == "cancelled":
            cancelled.add(key)
    return locks, cancelled


# --------------------------------------------------------------------------- village flags
def village_flags() -> dict[str, str]:
    return {f.village_code: f.flag for f in db.session.scalars(select(VillageFlag)).all()}


def set_village_flag(code: str, flag: str | None, *, by: str | None = None,
                     commit: bool = True) -> None:
    """``must``, ``exclude`` or None (neither) for the village with this code."""
    if flag not in FLAGS + (None,):
        raise LifecycleError(_("Tanda desa tidak dikenal: %(flag)s.", flag=str(flag)))
    code = str(code).strip()
    if not code:
        raise LifecycleError(_("Kode desa wajib diisi."))
    row = db.session.get(VillageFlag, code)
    old = row.flag if row is not None else None
    if old == flag:
        return
    if flag is None:
        db.session.execute(delete(VillageFlag).where(VillageFlag.village_code == code))
    else:
        if row is None:
            row = VillageFlag(village_code=code, flag=flag)
            db.session.add(row)
        row.flag, row.updated_by = flag, by
        row.updated_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    audit.record("village.flag", f"village {code}", before={"flag": old}, after={"flag": flag})
    if commit:
        db.session.commit()


def selection_from_flags(must_visit=(), exclude=()) -> tuple[list[str], list[str]]:
    """The plan form's must-visit and exclude lists: the given ones plus the village flags (a
    code the caller lists explicitly wins over a flag)."""
    must, excl = list(must_visit), list(exclude)
    for code, flag in sorted(village_flags().items()):
        if code in must or code in excl:
            continue
        (must if flag == "must" else excl).append(code)
    return must, excl
