"""The office's team bases and team roster: kept once, offered to every new plan.

* **Bases** (``TeamBase``): where teams start — a name, a position (checked: inside
  Indonesia's extent, lat −11.5…6.5, lon 94…142; swapped lat/lon are named as such) and the
  vehicles that start there (``car``, ``boat`` or ``both``: a pier town). One base may be the
  default (the plan form's first choice). A base that a stored plan (any version's
  ``params.teams[].base.id``) or a roster team uses is never deleted: :func:`remove_base`
  refuses with :class:`BaseInUse` (which names the plans and teams) and the caller may
  archive it instead. Archived bases are not offered for new plans; old plans keep their
  base (its name and position are copied into the plan's parameters).
* **Teams** (``Team``): name, leader and phone, members, vehicle (``car`` → plan mode
  ``road``, ``boat`` → ``river``, ``both`` → ``both``), recording kits, home base and the
  nights away it may take. :func:`team_request` turns one into a plan request's team (with
  ``roster_id``, ``leader`` and ``phone``, which travel into the Plan JSON and onto the day
  sheets).
* **The mode rule**: a team's vehicle must be able to start from its base — a boat team
  cannot start from a car-only base, a car team not from a boat-only one; a team with both
  starts anywhere (:func:`vehicle_problem`, also used by the plan form).

Every change is audited (``base.create``, ``base.update``, ``base.archive``,
``base.restore``, ``base.delete``, ``team.create``, ``team.update``, ``team.archive``,
``team.restore``) in the same transaction. :func:`summary` gives the set-up checklist its
counts.

Messages are Indonesian :class:`Msg` strings (``str(msg)`` is the Indonesian text the CLI
prints); the web translates them with ``msg.translate(gettext)``. ``_`` here only marks the
msgids for extraction. Plain Python over the persistence layer (no Flask import).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from . import audit, maps, repository
from .extensions import db
from .models import Plan, PlanVersion, Team, TeamBase
from .msg import Msg, _

VEHICLES = ("car", "boat", "both")
#: A roster team's vehicle → the plan request's mode (and back).
TEAM_MODE = {"car": "road", "boat": "river", "both": "both"}
MODE_VEHICLE = {mode: vehicle for vehicle, mode in TEAM_MODE.items()}
#: Indonesia's extent (degrees): what a base's position must lie in.
LAT_RANGE = (-11.5, 6.5)
LON_RANGE = (94.0, 142.0)
#: The map's view when nothing is drawn yet: all of Indonesia.
INDONESIA_BOUNDS = [[LAT_RANGE[0], LON_RANGE[0]], [LAT_RANGE[1], LON_RANGE[1]]]
LIMITS = {"kits": (1, 20), "max_nights": (0, 30)}
MAX_LEN = {"base_name": 200, "team_name": 100, "leader": 120, "phone": 40, "members": 2000}
_PHONE = re.compile(r"^\+?[0-9][0-9 ().\-/]{3,38}$")


# --------------------------------------------------------------------------- messages
# Msg and _ live in planner.msg (shared by every domain module)


def vehicle_label(vehicle: str | None) -> Msg:
    return {"car": _("mobil"), "boat": _("perahu"),
            "both": _("mobil dan perahu")}.get(vehicle or "", Msg(vehicle or "–"))


class RosterError(ValueError):
    """A change that cannot be made: ``problems`` is a list of (field or None, :class:`Msg`)."""

    def __init__(self, problems: Iterable[tuple[str | None, Msg]] | Msg):
        if isinstance(problems, str):
            problems = [(None, problems)]
        self.problems = list(problems)
        super().__init__("; ".join(str(m) for _f, m in self.problems))

    def messages(self, gettext: Callable[..., str] | None = None) -> list[str]:
        return [m.translate(gettext) if gettext else str(m) for _f, m in self.problems]


@dataclass
class Usage:
    """Who uses a base: stored plans (with the versions that do) and roster teams."""

    plans: list[dict] = field(default_factory=list)  # {"id", "name", "versions": [n, ...]}
    teams: list[Team] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.plans and not self.teams


class _Joined(Msg):
    """Several messages joined by "; " (translated one by one)."""

    parts: list[Msg]

    def __new__(cls, parts: list[Msg]):
        obj = super().__new__(cls, "; ".join(str(p) for p in parts))
        obj.parts = list(parts)
        return obj

    def translate(self, gettext: Callable[..., str], locale: str = "id") -> str:
        return "; ".join(p.translate(gettext, locale) for p in self.parts)


class BaseInUse(RosterError):
    """The base is used by stored plans or roster teams: archive it instead of deleting."""

    def __init__(self, base: TeamBase, usage: Usage):
        self.base = base
        self.usage = usage
        parts = []
        if usage.plans:
            parts.append(_("rencana %(plans)s", plans=", ".join(
                f"{p['name']} (#{p['id']})" for p in usage.plans)))
        if usage.teams:
            parts.append(_("tim %(teams)s", teams=", ".join(t.name for t in usage.teams)))
        super().__init__(_("Pangkalan %(base)s dipakai oleh %(users)s, jadi tidak dapat dihapus. "
                           "Arsipkan saja: tidak ditawarkan lagi untuk rencana baru, rencana "
                           "lama tetap tampil.", base=base.name, users=_Joined(parts)))


# --------------------------------------------------------------------------- checks
def parse_number(raw: Any) -> float | None:
    """A coordinate typed by a person: ``-2.54``, ``-2,54``, ``−2.54`` (Unicode minus)."""
    if raw is None:
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    text = str(raw).strip().replace("\u2212", "-").replace(",", ".").replace(" ", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return math.nan


def _deg(x: float) -> str:
    return f"{x:.5f}".rstrip("0").rstrip(".")


def check_coordinates(lat: float | None, lon: float | None) -> list[tuple[str, Msg]]:
    """Problems with a position, as (field, message): missing, not a number, out of range,
    outside Indonesia, or latitude and longitude swapped."""
    if lat is None or lon is None:
        out = []
        if lat is None:
            out.append(("lat", _("Lintang wajib diisi (klik peta atau ketik, mis. -2,54).")))
        if lon is None:
            out.append(("lon", _("Bujur wajib diisi (klik peta atau ketik, mis. 112,95).")))
        return out
    bad = [(f, _("Harus angka desimal, mis. -2,54.")) for f, v in (("lat", lat), ("lon", lon))
           if not math.isfinite(v)]
    if bad:
        return bad
    in_lat = LAT_RANGE[0] <= lat <= LAT_RANGE[1]
    in_lon = LON_RANGE[0] <= lon <= LON_RANGE[1]
    if in_lat and in_lon:
        return []
    if LAT_RANGE[0] <= lon <= LAT_RANGE[1] and LON_RANGE[0] <= lat <= LON_RANGE[1]:
        return [("lat", _("Lintang dan bujur tertukar: lintang %(lat)s adalah bujur dan bujur "
                          "%(lon)s adalah lintang. Isi lintang %(lon)s, bujur %(lat)s.",
                          lat=_deg(lat), lon=_deg(lon)))]
    out = []
    if not -90 <= lat <= 90:
        out.append(("lat", _("Lintang harus antara -90 dan 90.")))
    if not -180 <= lon <= 180:
        out.append(("lon", _("Bujur harus antara -180 dan 180.")))
    if out:
        return out
    return [("lat", _("Titik %(lat)s, %(lon)s di luar Indonesia (lintang -11,5 sampai 6,5; "
                      "bujur 94 sampai 142).", lat=_deg(lat), lon=_deg(lon)))]


def vehicle_problem(team_name: str, team_vehicle: str, base_name: str,
                    base_vehicles: str | None) -> Msg | None:
    """Why a team with ``team_vehicle`` cannot start from a base with ``base_vehicles``."""
    base_vehicles = base_vehicles or "car"
    if team_vehicle == "boat" and base_vehicles == "car":
        return _("%(team)s (perahu) tidak dapat berangkat dari pangkalan %(base)s: pangkalan "
                 "itu hanya untuk mobil. Pilih pangkalan dengan dermaga atau ubah kendaraan tim.",
                 team=team_name, base=base_name)
    if team_vehicle == "car" and base_vehicles == "boat":
        return _("%(team)s (mobil) tidak dapat berangkat dari pangkalan %(base)s: pangkalan "
                 "itu hanya untuk perahu. Pilih pangkalan lain atau ubah kendaraan tim.",
                 team=team_name, base=base_name)
    return None


def _text(value) -> str:
    return (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()


# --------------------------------------------------------------------------- bases: reading
def list_bases(*, include_archived: bool = True) -> list[TeamBase]:
    """Active bases first (the default first of all), then archived ones; by name."""
    q = select(TeamBase)
    if not include_archived:
        q = q.where(TeamBase.archived.is_(False))
    q = q.order_by(TeamBase.archived, TeamBase.is_default.desc(), func.lower(TeamBase.name),
                   TeamBase.id)
    return list(db.session.scalars(q))


def active_bases() -> list[TeamBase]:
    """The bases a new plan may use (the default first)."""
    return list_bases(include_archived=False)


def get_base(base_id) -> TeamBase | None:
    try:
        return db.session.get(TeamBase, int(base_id))
    except (TypeError, ValueError, OverflowError):
        return None


def find_base(key: str) -> TeamBase | None:
    """A base by id (digits) or by name (case-insensitive)."""
    key = _text(key)
    if key.isdigit():
        found = get_base(key)
        if found is not None:
            return found
    return db.session.scalars(select(TeamBase).where(func.lower(TeamBase.name) == key.lower())
                              .order_by(TeamBase.archived, TeamBase.id)).first()


def _plan_refs() -> dict[int, dict[int, dict]]:
    """base id → plan id → {"id", "name", "versions"} over every stored version's params."""
    rows = db.session.execute(
        select(PlanVersion.plan_id, PlanVersion.version, PlanVersion.params, Plan.name)
        .join(Plan, Plan.id == PlanVersion.plan_id).order_by(PlanVersion.plan_id,
                                                             PlanVersion.version)).all()
    out: dict[int, dict[int, dict]] = {}
    for plan_id, version, params, name in rows:
        ids = set()
        for t in (params or {}).get("teams") or []:
            base = t.get("base") if isinstance(t, Mapping) else None
            if isinstance(base, Mapping) and isinstance(base.get("id"), int):
                ids.add(base["id"])
        for base_id in ids:
            entry = out.setdefault(base_id, {}).setdefault(
                plan_id, {"id": plan_id, "name": name, "versions": []})
            entry["versions"].append(version)
    return out


def base_usage(base: TeamBase) -> Usage:
    """The stored plans (any version) and the roster teams (archived too) that use ``base``."""
    plans = list(_plan_refs().get(base.id, {}).values())
    teams = list(db.session.scalars(select(Team).where(Team.base_id == base.id)
                                    .order_by(Team.archived, Team.name)))
    return Usage(plans=plans, teams=teams)


def usage_counts() -> dict[int, tuple[int, int]]:
    """base id → (plans using it, roster teams using it), for the bases page."""
    refs = _plan_refs()
    teams = dict(db.session.execute(select(Team.base_id, func.count(Team.id))
                                    .where(Team.base_id.is_not(None))
                                    .group_by(Team.base_id)).all())
    ids = set(refs) | set(teams)
    return {i: (len(refs.get(i, {})), int(teams.get(i, 0))) for i in ids}


def base_dict(base: TeamBase) -> dict:
    """The base as a plan request's ``teams[].base``."""
    return {"id": base.id, "name": base.name, "lat": base.lat, "lon": base.lon}


def _base_snapshot(b: TeamBase) -> dict:
    return {"name": b.name, "lat": b.lat, "lon": b.lon, "vehicles": b.vehicles,
            "kind": b.kind, "is_default": bool(b.is_default), "archived": bool(b.archived)}


def _target(kind: str, obj) -> str:
    return f"{kind} {obj.id}: {obj.name}"[:200]


# --------------------------------------------------------------------------- bases: writing
def check_base(name: str | None, lat: float | None, lon: float | None, vehicles: str | None,
               *, base: TeamBase | None = None) -> list[tuple[str | None, Msg]]:
    """Every problem with these values for a new base (or for ``base`` when editing)."""
    problems: list[tuple[str | None, Msg]] = []
    name = _text(name)
    if not name:
        problems.append(("name", _("Nama pangkalan wajib diisi.")))
    elif len(name) > MAX_LEN["base_name"]:
        problems.append(("name", _("Nama pangkalan paling banyak %(n)s karakter.",
                                   n=MAX_LEN["base_name"])))
    else:
        same = db.session.scalars(select(TeamBase).where(
            func.lower(TeamBase.name) == name.lower())).all()
        same = [b for b in same if base is None or b.id != base.id]
        if same:
            problems.append(("name", _("Sudah ada pangkalan bernama %(name)s.", name=name)
                             if not same[0].archived else
                             _("Sudah ada pangkalan bernama %(name)s (diarsipkan): aktifkan "
                               "lagi pangkalan itu.", name=name)))
    problems.extend(check_coordinates(lat, lon))
    if vehicles not in VEHICLES:
        problems.append(("vehicles", _("Kendaraan pangkalan: pilih mobil, perahu, atau "
                                       "keduanya.")))
    elif base is not None:
        for team in db.session.scalars(select(Team).where(Team.base_id == base.id,
                                                          Team.archived.is_(False))):
            problem = vehicle_problem(team.name, team.vehicle, name or base.name, vehicles)
            if problem:
                problems.append(("vehicles", problem))
    return problems


def _clear_default() -> None:
    for b in db.session.scalars(select(TeamBase).where(TeamBase.is_default.is_(True))):
        b.is_default = False


def create_base(name: str, lat: float | None, lon: float | None, vehicles: str = "car", *,
                kind: str = "other", default: bool = False, commit: bool = True) -> TeamBase:
    """Add a base (checked; audited ``base.create``). The first base becomes the default."""
    problems = check_base(name, lat, lon, vehicles)
    if problems:
        raise RosterError(problems)
    first = not db.session.scalar(select(func.count(TeamBase.id))
                                  .where(TeamBase.archived.is_(False)))
    if default or first:
        _clear_default()
    base = TeamBase(name=_text(name), lat=float(lat), lon=float(lon), vehicles=vehicles,
                    kind=kind, is_default=bool(default or first), archived=False)
    db.session.add(base)
    db.session.flush()
    audit.record("base.create", _target("base", base), after=_base_snapshot(base))
    if commit:
        db.session.commit()
    return base


def update_base(base: TeamBase, *, name: str, lat: float | None, lon: float | None,
                vehicles: str, default: bool | None = None, commit: bool = True) -> TeamBase:
    """Change a base (checked; audited ``base.update`` with what changed). Plans already
    stored keep the name and position they were made with."""
    problems = check_base(name, lat, lon, vehicles, base=base)
    if problems:
        raise RosterError(problems)
    before = _base_snapshot(base)
    if default and not base.is_default:
        if base.archived:
            raise RosterError(_("Pangkalan yang diarsipkan tidak dapat menjadi pangkalan utama."))
        _clear_default()
        base.is_default = True
    elif default is False:
        base.is_default = False
    base.name, base.lat, base.lon, base.vehicles = _text(name), float(lat), float(lon), vehicles
    b, a = audit.changes(before, _base_snapshot(base))
    if a:
        audit.record("base.update", _target("base", base), before=b, after=a)
    if commit:
        db.session.commit()
    return base


def make_default(base: TeamBase, *, commit: bool = True) -> TeamBase:
    """Make ``base`` the plan form's first choice (audited ``base.update``)."""
    return update_base(base, name=base.name, lat=base.lat, lon=base.lon, vehicles=base.vehicles,
                       default=True, commit=commit)


def archive_base(base: TeamBase, *, commit: bool = True) -> TeamBase:
    """Stop offering ``base`` for new plans (audited ``base.archive``); plans keep it."""
    if not base.archived:
        before = _base_snapshot(base)
        base.archived, base.is_default = True, False
        b, a = audit.changes(before, _base_snapshot(base))
        audit.record("base.archive", _target("base", base), before=b, after=a)
    if commit:
        db.session.commit()
    return base


def restore_base(base: TeamBase, *, commit: bool = True) -> TeamBase:
    """Offer an archived base again (audited ``base.restore``)."""
    if base.archived:
        base.archived = False
        if not db.session.scalar(select(func.count(TeamBase.id)).where(
                TeamBase.is_default.is_(True), TeamBase.archived.is_(False))):
            base.is_default = True
        audit.record("base.restore", _target("base", base), before={"archived": True},
                     after={"archived": False})
    if commit:
        db.session.commit()
    return base


def remove_base(base: TeamBase, *, archive: bool = False, commit: bool = True) -> str:
    """Delete an unused base (audited ``base.delete``): "deleted". A base some stored plan or
    roster team uses raises :class:`BaseInUse` — unless ``archive``: then (as for any base
    with ``archive``) it is archived: "archived"."""
    if archive:
        archive_base(base, commit=commit)
        return "archived"
    usage = base_usage(base)
    if not usage.empty:
        raise BaseInUse(base, usage)
    was_default = base.is_default
    audit.record("base.delete", _target("base", base), before=_base_snapshot(base))
    db.session.delete(base)
    db.session.flush()
    if was_default:  # the next active base becomes the default
        nxt = db.session.scalars(select(TeamBase).where(TeamBase.archived.is_(False))
                                 .order_by(TeamBase.id).limit(1)).first()
        if nxt is not None:
            nxt.is_default = True
    if commit:
        db.session.commit()
    return "deleted"


def bases_map(*, asset_base: str = maps.DEFAULT_ASSET_BASE, labels: Mapping | None = None,
              locale: str = "id", tiles: bool | None = None):
    """A small map for placing bases: kecamatan outlines of the regency (if imported) and the
    active bases; the whole of Indonesia when there is nothing yet. The page adds the click
    handler (``window.plannerMap``). ``tiles``: the OpenStreetMap overlay (default: on unless
    the active dataset says otherwise, e.g. the fictional demo)."""
    m = maps.new_map(asset_base=asset_base, locale=locale)
    dataset = repository.current_dataset()
    if tiles is None:
        tiles = dataset is None or bool(dataset.basemap)
    if tiles:
        maps.add_basemap(m, on=True, labels=labels)
    villages = repository.villages_frame(with_stats=False)
    if len(villages):
        maps.add_kecamatan_layer(villages, m, labels=labels)
        m._planner_bounds.append(tuple(float(x) for x in villages.total_bounds))
    maps.add_bases_layer([{"name": b.name, "lat": b.lat, "lon": b.lon}
                          for b in active_bases()], m, labels=labels)
    if not m._planner_bounds:
        m.fit_bounds(INDONESIA_BOUNDS)
    return maps.finish_map(m)


# --------------------------------------------------------------------------- teams: reading
def list_teams(*, include_archived: bool = False) -> list[Team]:
    q = select(Team)
    if not include_archived:
        q = q.where(Team.archived.is_(False))
    return list(db.session.scalars(q.order_by(Team.archived, func.lower(Team.name), Team.id)))


def get_team(team_id) -> Team | None:
    try:
        return db.session.get(Team, int(team_id))
    except (TypeError, ValueError, OverflowError):
        return None


def find_team(key: str) -> Team | None:
    """A roster team by id (digits) or by name (case-insensitive; active ones first)."""
    key = _text(key)
    if key.isdigit():
        found = get_team(key)
        if found is not None:
            return found
    return db.session.scalars(select(Team).where(func.lower(Team.name) == key.lower())
                              .order_by(Team.archived, Team.id)).first()


def team_base(team: Team) -> TeamBase | None:
    return get_base(team.base_id) if team.base_id is not None else None


def _team_snapshot(t: Team) -> dict:
    return {"name": t.name, "leader": t.leader, "phone": t.phone, "members": t.members,
            "vehicle": t.vehicle, "kits": t.kits, "base_id": t.base_id,
            "max_nights": t.max_nights, "archived": bool(t.archived)}


def team_request(team: Team, default: TeamBase | None = None) -> dict:
    """A roster team as a plan request's team (``plan-params/1``): its base (or ``default``
    when its base is archived or gone), mode from its vehicle, and roster_id/leader/phone."""
    base = team_base(team)
    if base is None or base.archived:
        base = default
    out = {"name": team.name, "base": base_dict(base) if base is not None else None,
           "mode": TEAM_MODE.get(team.vehicle, "road"), "kits": team.kits,
           "max_nights": team.max_nights, "roster_id": team.id}
    if team.leader:
        out["leader"] = team.leader
    if team.phone:
        out["phone"] = team.phone
    return out


# --------------------------------------------------------------------------- teams: writing
TEAM_FIELDS = ("name", "leader", "phone", "members", "vehicle", "kits", "base_id", "max_nights")


def _int(value) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return int(f) if math.isfinite(f) and f == int(f) else None


def check_team(values: Mapping, *, team: Team | None = None) -> tuple[dict, list]:
    """Clean ``values`` (the :data:`TEAM_FIELDS`) and list every problem as (field, message)."""
    problems: list[tuple[str | None, Msg]] = []
    clean = {
        "name": _text(values.get("name")),
        "leader": _text(values.get("leader")) or None,
        "phone": _text(values.get("phone")) or None,
        "members": _text(values.get("members")) or None,
        "vehicle": values.get("vehicle") or "car",
        "kits": _int(values.get("kits", 3)),
        "base_id": _int(values.get("base_id")),
        "max_nights": _int(values.get("max_nights", 0)),
    }
    name = clean["name"]
    if not name:
        problems.append(("name", _("Nama tim wajib diisi.")))
    elif len(name) > MAX_LEN["team_name"]:
        problems.append(("name", _("Nama tim paling banyak %(n)s karakter.",
                                   n=MAX_LEN["team_name"])))
    else:
        same = [t for t in db.session.scalars(select(Team).where(
            func.lower(Team.name) == name.lower(), Team.archived.is_(False)))
            if team is None or t.id != team.id]
        if same:
            problems.append(("name", _("Sudah ada tim bernama %(name)s di daftar.", name=name)))
    if clean["leader"] and len(clean["leader"]) > MAX_LEN["leader"]:
        problems.append(("leader", _("Nama ketua tim paling banyak %(n)s karakter.",
                                     n=MAX_LEN["leader"])))
    if clean["phone"] and not _PHONE.match(clean["phone"]):
        problems.append(("phone", _("Nomor telepon: angka, spasi, tanda +, - atau kurung, "
                                    "mis. 0812-3456-7890.")))
    if clean["members"] and len(clean["members"]) > MAX_LEN["members"]:
        problems.append(("members", _("Anggota tim paling banyak %(n)s karakter.",
                                      n=MAX_LEN["members"])))
    if clean["vehicle"] not in VEHICLES:
        problems.append(("vehicle", _("Kendaraan tim: pilih mobil, perahu, atau keduanya.")))
    lo, hi = LIMITS["kits"]
    if clean["kits"] is None or not lo <= clean["kits"] <= hi:
        problems.append(("kits", _("Perangkat rekam %(lo)s–%(hi)s.", lo=lo, hi=hi)))
    lo, hi = LIMITS["max_nights"]
    if clean["max_nights"] is None or not lo <= clean["max_nights"] <= hi:
        problems.append(("max_nights", _("Malam menginap %(lo)s–%(hi)s.", lo=lo, hi=hi)))
    base = get_base(clean["base_id"]) if clean["base_id"] is not None else None
    if base is None:
        problems.append(("base_id", _("Pilih pangkalan tim.")))
    elif base.archived:
        problems.append(("base_id", _("Pangkalan %(base)s diarsipkan: pilih pangkalan lain.",
                                      base=base.name)))
    elif clean["vehicle"] in VEHICLES:
        problem = vehicle_problem(name or "?", clean["vehicle"], base.name, base.vehicles)
        if problem:
            problems.append(("vehicle", problem))
    return clean, problems


def create_team(*, commit: bool = True, **values) -> Team:
    """Add a team to the roster (checked; audited ``team.create``)."""
    clean, problems = check_team(values)
    if problems:
        raise RosterError(problems)
    team = Team(archived=False, **clean)
    db.session.add(team)
    db.session.flush()
    audit.record("team.create", _target("team", team), after=_team_snapshot(team))
    if commit:
        db.session.commit()
    return team


def update_team(team: Team, *, commit: bool = True, **values) -> Team:
    """Change a roster team (checked; audited ``team.update`` with what changed). Plans
    already stored keep the names and numbers they were made with."""
    merged = {k: getattr(team, k) for k in TEAM_FIELDS}
    merged.update(values)
    clean, problems = check_team(merged, team=team)
    if problems:
        raise RosterError(problems)
    before = _team_snapshot(team)
    for key, value in clean.items():
        setattr(team, key, value)
    b, a = audit.changes(before, _team_snapshot(team))
    if a:
        audit.record("team.update", _target("team", team), before=b, after=a)
    if commit:
        db.session.commit()
    return team


def archive_team(team: Team, *, commit: bool = True) -> Team:
    """Take a team off the roster (audited ``team.archive``); plans keep it."""
    if not team.archived:
        team.archived = True
        audit.record("team.archive", _target("team", team), before={"archived": False},
                     after={"archived": True})
    if commit:
        db.session.commit()
    return team


def restore_team(team: Team, *, commit: bool = True) -> Team:
    """Put an archived team back on the roster (audited ``team.restore``)."""
    if team.archived:
        same = db.session.scalars(select(Team).where(
            func.lower(Team.name) == team.name.lower(), Team.archived.is_(False))).first()
        if same is not None:
            raise RosterError([("name", _("Sudah ada tim bernama %(name)s di daftar.",
                                          name=team.name))])
        team.archived = False
        audit.record("team.restore", _target("team", team), before={"archived": True},
                     after={"archived": False})
    if commit:
        db.session.commit()
    return team


# --------------------------------------------------------------------------- checklist
def summary() -> dict:
    """Counts for the set-up checklist: active bases, active bases where boats start (boat or
    both), active roster teams, and active teams with a boat (boat or both)."""
    def count(model, *where):
        return int(db.session.scalar(select(func.count(model.id)).where(*where)) or 0)

    return {
        "bases": count(TeamBase, TeamBase.archived.is_(False)),
        "boat_bases": count(TeamBase, TeamBase.archived.is_(False),
                            TeamBase.vehicles.in_(("boat", "both"))),
        "teams": count(Team, Team.archived.is_(False)),
        "boat_teams": count(Team, Team.archived.is_(False), Team.vehicle.in_(("boat", "both"))),
    }
