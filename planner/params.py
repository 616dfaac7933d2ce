"""The plan request: one parameter schema for every caller.

The web form, ``planner plan``, a re-plan, the sample plan and background workers all build a
:class:`PlanParams` and store ``PlanParams.to_dict()`` (format ``plan-params/1``, documented in
``docs/reference/plan-params.md`` and ``planner/schemas/plan-params.schema.json``). Anything
coming from outside goes through :meth:`PlanParams.from_dict`, which checks every field at the
door and raises :class:`ParamsError` with one line per problem, naming the field.

Shape (``to_dict``)::

    {"format": "plan-params/1", "name": str, "dataset_id": int | null,
     "teams": [{"name", "base": {"id"?, "name", "lat", "lon"}, "mode": road|river|both,
                "kits", "max_nights", "minutes_per_person", "setup_min",
                "available_dates": [date] | null, "start_at"?: {"code", "name", "lat", "lon"},
                "nights_used"?}],
     "calendar": {"start_date", "days", "work_start", "work_end", "skip_weekends", "holidays"},
     "selection": {"below": 0-1.5 | null, "min_unrecorded", "turnout", "turnout_overrides",
                   "must_visit": [code], "exclude": [code]},
     "locks": [{"site_code", "date", "team"}],
     "extra_sites": [{"code", "name", "kecamatan", "lat", "lon", "kind", "expected", ...}],
     "pooling": null | {"radius_km", "decay"?},
     "travel": {"source": "builtin" | "network" | "matrix" | "osrm", "file"?, "url"?,
                "settings": {...}},
     "model": {"person_value_min", "split_fraction"},
     "solver": {"time_limit", "seed", "solution_limit"},
     "replan": null | {"plan_id", "from_date", "from_version"}}

Plain Python: no Flask, no database, no engine import (the engine converts these into its own
``PlanRequest``: ``planner.engine.model.request_from_params``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FORMAT = "plan-params/1"
MODES = ("road", "river", "both")
SITE_KINDS = ("village", "school", "prison", "hospital", "social_home")
TRAVEL_SOURCES = ("builtin", "network", "matrix", "osrm")
#: Travel settings a request may override (``planner.travel.TravelParams`` fields).
TRAVEL_SETTINGS = ("road_speed_kmh", "road_circuity", "road_cost_per_km", "river_speed_kmh",
                   "river_circuity", "river_cost_per_km", "dry_season_factor",
                   "pier_transfer_min", "piers")

LIMITS = {
    "teams": (1, 200), "kits": (1, 20), "max_nights": (0, 30), "days": (1, 366),
    "time_limit": (0.5, 3600.0), "seed": (0, 1_000_000_000), "radius_km": (0.0, 50.0),
    "minutes_per_person": (0.5, 60.0), "setup_min": (0, 480),
}


class ParamsError(ValueError):
    """Parameters that cannot be used; ``problems`` holds one line per field."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("Parameter rencana tidak sah: " + "; ".join(self.problems))


# --------------------------------------------------------------------------- parts
@dataclass(frozen=True)
class BaseParams:
    name: str
    lat: float
    lon: float
    id: int | None = None

    def to_dict(self) -> dict:
        d = {"name": self.name, "lat": self.lat, "lon": self.lon}
        if self.id is not None:
            d["id"] = self.id
        return d


@dataclass(frozen=True)
class TeamParams:
    name: str
    base: BaseParams
    mode: str = "road"
    kits: int = 3
    max_nights: int = 0
    minutes_per_person: float = 3.5
    setup_min: int = 30
    available_dates: tuple[str, ...] | None = None
    # from the office's roster (optional): printed on day sheets, shown on the team-lead page
    roster_id: int | None = None
    leader: str | None = None
    phone: str | None = None
    # a re-plan of a team out on a trip: it wakes up at ``start_at`` (a village) on its first
    # working day of this plan, having slept ``nights_used`` nights away in a row already
    start_at: StartParams | None = None
    nights_used: int = 0
    # a re-plan keeps the previous plan's trips that hold kept stops: ((first, last date), …)
    trips: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict:
        d = {"name": self.name, "base": self.base.to_dict(), "mode": self.mode,
             "kits": self.kits, "max_nights": self.max_nights,
             "minutes_per_person": self.minutes_per_person, "setup_min": self.setup_min,
             "available_dates": (list(self.available_dates)
                                 if self.available_dates is not None else None)}
        for key in ("roster_id", "leader", "phone"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        if self.start_at is not None:
            d["start_at"] = self.start_at.to_dict()
            d["nights_used"] = self.nights_used
        if self.trips:
            d["trips"] = [list(t) for t in self.trips]
        return d


@dataclass(frozen=True)
class StartParams:
    """Where a team on a trip sleeps the night before the plan starts (a village)."""
    code: str
    name: str
    lat: float
    lon: float

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "lat": self.lat, "lon": self.lon}


@dataclass(frozen=True)
class CalendarParams:
    start_date: str
    days: int
    work_start: str = "08:00"
    work_end: str = "16:00"
    skip_weekends: bool = True
    holidays: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"start_date": self.start_date, "days": self.days, "work_start": self.work_start,
                "work_end": self.work_end, "skip_weekends": self.skip_weekends,
                "holidays": list(self.holidays)}


@dataclass(frozen=True)
class SelectionParams:
    below: float | None = None
    min_unrecorded: int = 0
    turnout: float = 0.6
    turnout_overrides: tuple[tuple[str, float], ...] = ()
    must_visit: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"below": self.below, "min_unrecorded": self.min_unrecorded,
                "turnout": self.turnout, "turnout_overrides": dict(self.turnout_overrides),
                "must_visit": list(self.must_visit), "exclude": list(self.exclude)}


@dataclass(frozen=True)
class LockParams:
    site_code: str
    date: str
    team: str
    # the people that visit was announced/planned for (a re-plan keeps the size); on a
    # preference only when the village was split over several stops (the split is kept)
    expected: int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.team, self.date, self.site_code)

    def to_dict(self) -> dict:
        d = {"site_code": self.site_code, "date": self.date, "team": self.team}
        if self.expected is not None:
            d["expected"] = self.expected
        return d


@dataclass(frozen=True)
class PoolingParams:
    radius_km: float = 5.0
    decay: float | None = None

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"radius_km": self.radius_km}
        if self.decay is not None:
            d["decay"] = self.decay
        return d


@dataclass(frozen=True)
class TravelChoice:
    source: str = "builtin"
    file: str | None = None
    url: str | None = None
    settings: tuple[tuple[str, Any], ...] = ()

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"source": self.source, "settings": _thaw(dict(self.settings))}
        if self.file is not None:
            d["file"] = self.file
        if self.url is not None:
            d["url"] = self.url
        return d


@dataclass(frozen=True)
class ModelParams:
    person_value_min: float = 30.0
    split_fraction: float = 0.75
    churn_penalty_min: float = 240.0  # a re-plan moving or dropping a stop costs this much travel

    def to_dict(self) -> dict:
        return {"person_value_min": self.person_value_min, "split_fraction": self.split_fraction,
                "churn_penalty_min": self.churn_penalty_min}


@dataclass(frozen=True)
class SolverParams:
    time_limit: float = 30.0
    seed: int = 1
    solution_limit: int | None = None

    def to_dict(self) -> dict:
        return {"time_limit": self.time_limit, "seed": self.seed,
                "solution_limit": self.solution_limit}


@dataclass(frozen=True)
class ReplanParams:
    plan_id: int
    from_date: str
    from_version: int

    def to_dict(self) -> dict:
        return {"plan_id": self.plan_id, "from_date": self.from_date,
                "from_version": self.from_version}


@dataclass(frozen=True)
class PlanParams:
    """A whole plan request (see the module docstring). Immutable; ``replace`` to change."""

    teams: tuple[TeamParams, ...]
    calendar: CalendarParams
    selection: SelectionParams = field(default_factory=SelectionParams)
    locks: tuple[LockParams, ...] = ()
    prefer: tuple[LockParams, ...] = ()   # soft: where stops were before a re-plan
    extra_sites: tuple[tuple[tuple[str, Any], ...], ...] = ()
    pooling: PoolingParams | None = None
    travel: TravelChoice = field(default_factory=TravelChoice)
    model: ModelParams = field(default_factory=ModelParams)
    solver: SolverParams = field(default_factory=SolverParams)
    name: str = ""
    dataset_id: int | None = None
    replan: ReplanParams | None = None

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "name": self.name,
            "dataset_id": self.dataset_id,
            "teams": [t.to_dict() for t in self.teams],
            "calendar": self.calendar.to_dict(),
            "selection": self.selection.to_dict(),
            "locks": [lk.to_dict() for lk in self.locks],
            "prefer": [lk.to_dict() for lk in self.prefer],
            "extra_sites": [dict(s) for s in self.extra_sites],
            "pooling": self.pooling.to_dict() if self.pooling is not None else None,
            "travel": self.travel.to_dict(),
            "model": self.model.to_dict(),
            "solver": self.solver.to_dict(),
            "replan": self.replan.to_dict() if self.replan is not None else None,
        }

    def replace(self, **changes) -> PlanParams:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: Mapping) -> PlanParams:
        """Check and read a ``plan-params/1`` dict; :class:`ParamsError` lists every problem."""
        return _Reader(data).read()

    @property
    def team_names(self) -> list[str]:
        return [t.name for t in self.teams]


def _thaw(v):
    if isinstance(v, tuple):
        return [_thaw(x) for x in v]
    if isinstance(v, dict):
        return {k: _thaw(x) for k, x in v.items()}
    return v


def _freeze(v):
    if isinstance(v, list | tuple):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return tuple((k, _freeze(x)) for k, x in v.items())
    return v


# --------------------------------------------------------------------------- reading
class _Reader:
    """Reads a params dict field by field, collecting every problem before raising."""

    def __init__(self, data: Mapping):
        self.data = data
        self.problems: list[str] = []

    def bad(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    # ---- scalars
    def num(self, obj: Mapping, key: str, where: str, default=None, *, lo=None, hi=None,
            integer=False, open_lo=False, optional=False):
        value = obj.get(key, default) if isinstance(obj, Mapping) else default
        if value is None:
            if optional:
                return None
            self.bad(where, "wajib diisi")
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.bad(where, f"harus angka, bukan {value!r}")
            return default
        if not math.isfinite(float(value)):
            self.bad(where, "harus angka terhingga")
            return default
        if integer and float(value) != int(value):
            self.bad(where, f"harus bilangan bulat, bukan {value!r}")
            return default
        value = int(value) if integer else float(value)
        if lo is not None and (value <= lo if open_lo else value < lo):
            self.bad(where, f"harus {'di atas' if open_lo else 'paling sedikit'} {lo:g}")
        if hi is not None and value > hi:
            self.bad(where, f"paling banyak {hi:g}")
        return value

    def text(self, obj: Mapping, key: str, where: str, default=None, *, max_len=200,
             optional=False) -> str | None:
        value = obj.get(key, default) if isinstance(obj, Mapping) else default
        if value is None:
            if not optional:
                self.bad(where, "wajib diisi")
            return default
        if not isinstance(value, str):
            self.bad(where, f"harus teks, bukan {value!r}")
            return default
        value = value.strip()
        if not value and not optional:
            self.bad(where, "wajib diisi")
        if len(value) > max_len:
            self.bad(where, f"terlalu panjang (paling banyak {max_len} karakter)")
        return value

    def flag(self, obj: Mapping, key: str, where: str, default: bool) -> bool:
        value = obj.get(key, default) if isinstance(obj, Mapping) else default
        if not isinstance(value, bool):
            self.bad(where, f"harus true atau false, bukan {value!r}")
            return default
        return value

    def date(self, value, where: str) -> str | None:
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except (TypeError, ValueError):
            self.bad(where, f"tanggal tidak sah {value!r} (pakai TTTT-BB-HH)")
            return None

    def clock(self, obj: Mapping, key: str, where: str, default: str) -> str:
        value = obj.get(key, default) if isinstance(obj, Mapping) else default
        try:
            h, m = str(value).strip().split(":")
            if not (0 <= int(h) <= 24 and 0 <= int(m) < 60 and int(h) * 60 + int(m) <= 1440):
                raise ValueError
            return f"{int(h):02d}:{int(m):02d}"
        except (ValueError, AttributeError):
            self.bad(where, f"jam tidak sah {value!r} (pakai JJ:MM)")
            return default

    def codes(self, obj: Mapping, key: str, where: str) -> tuple[str, ...]:
        value = obj.get(key) or [] if isinstance(obj, Mapping) else []
        if not isinstance(value, list | tuple):
            self.bad(where, "harus daftar kode desa")
            return ()
        out = []
        for c in value:
            if not isinstance(c, str | int) or isinstance(c, bool) or not str(c).strip():
                self.bad(where, f"kode desa tidak sah {c!r}")
                continue
            out.append(str(c).strip())
        return tuple(dict.fromkeys(out))

    def section(self, key: str) -> Mapping:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.bad(key, "harus objek")
            return {}
        return value

    # ---- parts
    def base(self, b, where: str) -> BaseParams:
        if not isinstance(b, Mapping):
            self.bad(where, "pangkalan harus objek {name, lat, lon}")
            return BaseParams("", 0.0, 0.0)
        name = self.text(b, "name", f"{where}.name") or ""
        lat = self.num(b, "lat", f"{where}.lat", None, lo=-90, hi=90)
        lon = self.num(b, "lon", f"{where}.lon", None, lo=-180, hi=180)
        bid = self.num(b, "id", f"{where}.id", None, integer=True, lo=1, optional=True)
        return BaseParams(name=name, lat=lat if lat is not None else 0.0,
                          lon=lon if lon is not None else 0.0, id=bid)

    def start_at(self, b, where: str) -> StartParams | None:
        if b is None:
            return None
        if not isinstance(b, Mapping):
            self.bad(where, "harus objek {code, name, lat, lon}")
            return None
        code = self.text(b, "code", f"{where}.code", max_len=40) or ""
        name = self.text(b, "name", f"{where}.name", max_len=200) or code
        lat = self.num(b, "lat", f"{where}.lat", None, lo=-90, hi=90)
        lon = self.num(b, "lon", f"{where}.lon", None, lo=-180, hi=180)
        if lat is None or lon is None:
            return None
        return StartParams(code=code, name=name, lat=lat, lon=lon)

    def trips(self, raw, where: str) -> tuple[tuple[str, str], ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list | tuple) or len(raw) > 366:
            self.bad(where, "harus daftar [tanggal awal, tanggal akhir]")
            return ()
        out = []
        for i, pair in enumerate(raw, start=1):
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                self.bad(f"{where}[{i}]", "harus [tanggal awal, tanggal akhir]")
                continue
            a, b = (self.date(x, f"{where}[{i}]") for x in pair)
            if a and b:
                if b < a:
                    self.bad(f"{where}[{i}]", "tanggal akhir sebelum tanggal awal")
                    continue
                out.append((a, b))
        return tuple(out)

    def teams(self) -> tuple[TeamParams, ...]:
        raw = self.data.get("teams")
        lo, hi = LIMITS["teams"]
        if not isinstance(raw, list | tuple) or not raw:
            self.bad("teams", "paling sedikit satu tim")
            return ()
        if len(raw) > hi:
            self.bad("teams", f"paling banyak {hi} tim")
        out = []
        for i, t in enumerate(raw, start=1):
            w = f"teams[{i}]"
            if not isinstance(t, Mapping):
                self.bad(w, "harus objek")
                continue
            name = self.text(t, "name", f"{w}.name", max_len=100) or f"Tim {i}"
            w = f"tim {i} ({name})"
            mode = t.get("mode", "road")
            if mode not in MODES:
                self.bad(f"{w}.mode", f"harus road, river atau both, bukan {mode!r}")
                mode = "road"
            avail = t.get("available_dates")
            dates = None
            if avail is not None:
                if not isinstance(avail, list | tuple):
                    self.bad(f"{w}.available_dates", "harus daftar tanggal")
                else:
                    dates = tuple(d for d in (self.date(x, f"{w}.available_dates") for x in avail)
                                  if d)
            out.append(TeamParams(
                name=name, base=self.base(t.get("base"), f"{w}.base"), mode=mode,
                kits=self.num(t, "kits", f"{w}.kits", 3, integer=True, lo=LIMITS["kits"][0],
                              hi=LIMITS["kits"][1]),
                max_nights=self.num(t, "max_nights", f"{w}.max_nights", 0, integer=True,
                                    lo=LIMITS["max_nights"][0], hi=LIMITS["max_nights"][1]),
                minutes_per_person=self.num(t, "minutes_per_person", f"{w}.minutes_per_person",
                                            3.5, lo=LIMITS["minutes_per_person"][0],
                                            hi=LIMITS["minutes_per_person"][1]),
                setup_min=self.num(t, "setup_min", f"{w}.setup_min", 30, integer=True,
                                   lo=LIMITS["setup_min"][0], hi=LIMITS["setup_min"][1]),
                available_dates=dates,
                roster_id=self.num(t, "roster_id", f"{w}.roster_id", None, integer=True, lo=1,
                                   optional=True),
                leader=self.text(t, "leader", f"{w}.leader", None, max_len=120,
                                 optional=True) or None,
                phone=self.text(t, "phone", f"{w}.phone", None, max_len=40, optional=True) or None,
                start_at=self.start_at(t.get("start_at"), f"{w}.start_at"),
                nights_used=self.num(t, "nights_used", f"{w}.nights_used", 0, integer=True,
                                     lo=0, hi=LIMITS["max_nights"][1]),
                trips=self.trips(t.get("trips"), f"{w}.trips"),
            ))
        names = [t.name for t in out]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            self.bad("teams", "nama tim harus berbeda: " + ", ".join(dup))
        return tuple(out)

    def calendar(self) -> CalendarParams:
        c = self.section("calendar")
        start = self.date(c.get("start_date"), "calendar.start_date") if c.get("start_date") \
            else None
        if start is None and not c.get("start_date"):
            self.bad("calendar.start_date", "wajib diisi")
        days = self.num(c, "days", "calendar.days", 1, integer=True, lo=LIMITS["days"][0],
                        hi=LIMITS["days"][1])
        ws = self.clock(c, "work_start", "calendar.work_start", "08:00")
        we = self.clock(c, "work_end", "calendar.work_end", "16:00")
        if _minutes(we) - _minutes(ws) < 60:
            self.bad("calendar.work_end", "jam kerja minimal satu jam sesudah jam mulai")
        hol = c.get("holidays") or []
        if not isinstance(hol, list | tuple):
            self.bad("calendar.holidays", "harus daftar tanggal")
            hol = []
        holidays = tuple(sorted({d for d in (self.date(h, "calendar.holidays") for h in hol) if d}))
        return CalendarParams(start_date=start or "1970-01-01", days=days, work_start=ws,
                              work_end=we,
                              skip_weekends=self.flag(c, "skip_weekends", "calendar.skip_weekends",
                                                      True),
                              holidays=holidays)

    def selection(self) -> SelectionParams:
        s = self.section("selection")
        below = self.num(s, "below", "selection.below", None, lo=0, hi=1.5, open_lo=True,
                         optional=True)
        overrides = s.get("turnout_overrides") or {}
        if not isinstance(overrides, Mapping):
            self.bad("selection.turnout_overrides", "harus objek {kode: 0–1}")
            overrides = {}
        ov = tuple(sorted((str(k), self.num(overrides, k, f"selection.turnout_overrides.{k}", 0.6,
                                            lo=0, hi=1, open_lo=True))
                          for k in overrides))
        must = self.codes(s, "must_visit", "selection.must_visit")
        exclude = self.codes(s, "exclude", "selection.exclude")
        both = sorted(set(must) & set(exclude))
        if both:
            self.bad("selection", "kode sekaligus wajib dan dikecualikan: " + ", ".join(both[:8]))
        return SelectionParams(
            below=below,
            min_unrecorded=self.num(s, "min_unrecorded", "selection.min_unrecorded", 0,
                                    integer=True, lo=0),
            turnout=self.num(s, "turnout", "selection.turnout", 0.6, lo=0, hi=1, open_lo=True),
            turnout_overrides=ov, must_visit=must, exclude=exclude)

    def locks(self, team_names: set[str], key: str = "locks") -> tuple[LockParams, ...]:
        raw = self.data.get(key) or []
        if not isinstance(raw, list | tuple):
            self.bad(key, "harus daftar")
            return ()
        out = []
        for i, lk in enumerate(raw, start=1):
            w = f"{key}[{i}]"
            if not isinstance(lk, Mapping):
                self.bad(w, "harus objek {site_code, date, team}")
                continue
            code = self.text(lk, "site_code", f"{w}.site_code", max_len=40) or ""
            date = self.date(lk.get("date"), f"{w}.date") or ""
            # a lock without a team (locks only) keeps the village on that date, any team
            team = self.text(lk, "team", f"{w}.team", max_len=100,
                             optional=key == "locks") or ""
            if team and team_names and team not in team_names:
                self.bad(f"{w}.team", f"tim {team!r} tidak ada dalam rencana")
            expected = None
            if key in ("locks", "prefer"):
                expected = self.num(lk, "expected", f"{w}.expected", None, integer=True, lo=1,
                                    hi=10_000_000, optional=True)
            item = LockParams(site_code=code, date=date, team=team, expected=expected)
            if item not in out:
                out.append(item)
        return tuple(out)

    def extra_sites(self) -> tuple:
        raw = self.data.get("extra_sites") or []
        if not isinstance(raw, list | tuple):
            self.bad("extra_sites", "harus daftar lokasi")
            return ()
        out = []
        for i, s in enumerate(raw, start=1):
            w = f"extra_sites[{i}]"
            if not isinstance(s, Mapping):
                self.bad(w, "harus objek")
                continue
            item = {
                "code": self.text(s, "code", f"{w}.code", max_len=40) or "",
                "name": self.text(s, "name", f"{w}.name") or "",
                "kecamatan": self.text(s, "kecamatan", f"{w}.kecamatan", "", optional=True) or "",
                "lat": self.num(s, "lat", f"{w}.lat", None, lo=-90, hi=90),
                "lon": self.num(s, "lon", f"{w}.lon", None, lo=-180, hi=180),
                "access": s.get("access", "road") if s.get("access", "road") in MODES else "road",
                "kind": s.get("kind", "school"),
                "expected": self.num(s, "expected", f"{w}.expected", 1, integer=True, lo=1),
                "unrecorded": self.num(s, "unrecorded", f"{w}.unrecorded",
                                       s.get("expected", 1), integer=True, lo=1),
                "minutes_per_person": self.num(s, "minutes_per_person",
                                               f"{w}.minutes_per_person", None, lo=0.5, hi=60,
                                               optional=True),
                "open_time": s.get("open_time"),
                "close_time": s.get("close_time"),
                "no_signal": bool(s.get("no_signal", False)),
            }
            if item["kind"] not in SITE_KINDS:
                self.bad(f"{w}.kind", f"jenis lokasi tidak dikenal {item['kind']!r}")
            out.append(_freeze(item))
        return tuple(out)

    def pooling(self) -> PoolingParams | None:
        p = self.data.get("pooling")
        if p is None or p is False:
            return None
        if not isinstance(p, Mapping):
            self.bad("pooling", "harus null atau objek {radius_km}")
            return None
        return PoolingParams(
            radius_km=self.num(p, "radius_km", "pooling.radius_km", 5.0, lo=0,
                               hi=LIMITS["radius_km"][1], open_lo=True),
            decay=self.num(p, "decay", "pooling.decay", None, lo=0, optional=True))

    def travel(self) -> TravelChoice:
        t = self.section("travel")
        source = t.get("source", "builtin")
        if source not in TRAVEL_SOURCES:
            self.bad("travel.source", f"harus builtin, network, matrix atau osrm, bukan {source!r}")
            source = "builtin"
        settings = t.get("settings") or {}
        if not isinstance(settings, Mapping):
            self.bad("travel.settings", "harus objek")
            settings = {}
        unknown = sorted(set(settings) - set(TRAVEL_SETTINGS))
        if unknown:
            self.bad("travel.settings", "tidak dikenal: " + ", ".join(unknown))
        for k, v in settings.items():
            if k == "piers":
                if not isinstance(v, list | tuple) or not all(
                        isinstance(p, list | tuple) and len(p) == 2 for p in v):
                    self.bad("travel.settings.piers", "harus daftar [lat, lon]")
            elif isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) \
                    or v < 0:
                self.bad(f"travel.settings.{k}", f"harus angka ≥ 0, bukan {v!r}")
        file = url = None
        if source == "matrix":
            file = self.text(t, "file", "travel.file", max_len=1000)
        if source == "osrm":
            url = self.text(t, "url", "travel.url", max_len=1000)
            if url and not url.startswith(("http://", "https://")):
                self.bad("travel.url", "harus alamat http(s)://")
        return TravelChoice(source=source, file=file, url=url,
                            settings=_freeze({k: settings[k] for k in TRAVEL_SETTINGS
                                              if k in settings}))

    def model(self) -> ModelParams:
        m = self.section("model")
        return ModelParams(
            person_value_min=self.num(m, "person_value_min", "model.person_value_min", 30.0,
                                      lo=0, open_lo=True, hi=10_000),
            split_fraction=self.num(m, "split_fraction", "model.split_fraction", 0.75, lo=0.1,
                                    hi=1.0),
            churn_penalty_min=self.num(m, "churn_penalty_min", "model.churn_penalty_min", 240.0,
                                       lo=0, hi=10_000))

    def solver(self) -> SolverParams:
        s = self.section("solver")
        lo, hi = LIMITS["time_limit"]
        return SolverParams(
            time_limit=self.num(s, "time_limit", "solver.time_limit", 30.0, lo=lo, hi=hi),
            seed=self.num(s, "seed", "solver.seed", 1, integer=True, lo=LIMITS["seed"][0],
                          hi=LIMITS["seed"][1]),
            solution_limit=self.num(s, "solution_limit", "solver.solution_limit", None,
                                    integer=True, lo=1, optional=True))

    def replan(self) -> ReplanParams | None:
        r = self.data.get("replan")
        if r is None:
            return None
        if not isinstance(r, Mapping):
            self.bad("replan", "harus null atau objek")
            return None
        return ReplanParams(
            plan_id=self.num(r, "plan_id", "replan.plan_id", 0, integer=True, lo=1),
            from_date=self.date(r.get("from_date"), "replan.from_date") or "",
            from_version=self.num(r, "from_version", "replan.from_version", 1, integer=True,
                                  lo=1))

    def read(self) -> PlanParams:
        if not isinstance(self.data, Mapping):
            raise ParamsError(["parameter harus objek JSON"])
        fmt = self.data.get("format")
        if fmt != FORMAT:
            raise ParamsError([f"format harus {FORMAT!r}, bukan {fmt!r}"])
        known = {f.name for f in dataclasses.fields(PlanParams)} | {"format"}
        unknown = sorted(set(self.data) - known)
        if unknown:
            self.bad("parameter", "kunci tidak dikenal: " + ", ".join(unknown))
        teams = self.teams()
        dataset_id = self.num(self.data, "dataset_id", "dataset_id", None, integer=True, lo=1,
                              optional=True)
        params = PlanParams(
            teams=teams, calendar=self.calendar(), selection=self.selection(),
            locks=self.locks({t.name for t in teams}),
            prefer=self.locks({t.name for t in teams}, "prefer"), extra_sites=self.extra_sites(),
            pooling=self.pooling(), travel=self.travel(), model=self.model(),
            solver=self.solver(),
            name=self.text(self.data, "name", "name", "", optional=True) or "",
            dataset_id=dataset_id, replan=self.replan())
        if self.problems:
            raise ParamsError(self.problems)
        return params


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


# --------------------------------------------------------------------------- building
def team(name: str, base: Mapping | BaseParams, *, mode: str = "road", kits: int = 3,
         max_nights: int = 0, **extra) -> dict:
    """A team entry for :func:`build` (a plain dict, checked by ``from_dict``)."""
    b = base.to_dict() if isinstance(base, BaseParams) else dict(base)
    return {"name": name, "base": b, "mode": mode, "kits": kits, "max_nights": max_nights,
            **extra}


def build(*, teams: list[dict], start_date: str | dt.date, days: int, name: str = "",
          dataset_id: int | None = None, work_start: str = "08:00", work_end: str = "16:00",
          skip_weekends: bool = True, holidays=(), below: float | None = None,
          min_unrecorded: int = 0, turnout: float = 0.6, turnout_overrides=None,
          must_visit=(), exclude=(), locks=(), prefer=(), pooling: Mapping | None = None,
          travel: Mapping | None = None, time_limit: float = 30, seed: int = 1,
          solution_limit: int | None = None, replan: Mapping | None = None,
          extra_sites=(), model: Mapping | None = None) -> PlanParams:
    """Keyword arguments → checked :class:`PlanParams` (what the form and the CLI call)."""
    data = {
        "format": FORMAT, "name": name, "dataset_id": dataset_id, "teams": list(teams),
        "calendar": {"start_date": (start_date.isoformat() if isinstance(start_date, dt.date)
                                    else start_date),
                     "days": days, "work_start": work_start, "work_end": work_end,
                     "skip_weekends": skip_weekends,
                     "holidays": [h.isoformat() if isinstance(h, dt.date) else h
                                  for h in holidays]},
        "selection": {"below": below, "min_unrecorded": min_unrecorded, "turnout": turnout,
                      "turnout_overrides": dict(turnout_overrides or {}),
                      "must_visit": list(must_visit), "exclude": list(exclude)},
        "locks": [dict(lk) for lk in locks],
        "prefer": [dict(lk) for lk in prefer],
        "extra_sites": [dict(s) for s in extra_sites],
        "pooling": dict(pooling) if pooling else None,
        "travel": dict(travel) if travel else {"source": "builtin"},
        "model": dict(model) if model else {},
        "solver": {"time_limit": time_limit, "seed": seed, "solution_limit": solution_limit},
        "replan": dict(replan) if replan else None,
    }
    return PlanParams.from_dict(data)
