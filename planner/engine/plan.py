"""The plan: an immutable result object and its JSON form.

``Plan`` and its parts are frozen dataclasses; ``Plan.to_dict()`` gives the Plan JSON
(``jemput-bola-plan/1``: docs/reference/plan-json.md, ``planner/schemas/plan.schema.json``) and
``Plan.from_dict()`` reads it back (round trip: ``Plan.from_dict(p.to_dict()).to_dict() ==
p.to_dict()``). ``plan_id`` of a fresh engine plan is :meth:`Plan.content_id`, a hash of what
the plan says (teams, stops, dropped, totals): two different plans never share it, solver
timings do not change it. A stored plan gets its database id instead (``planner.pipeline``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from planner.plan_json import FORMAT


def _freeze(v):
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return v


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    code: str | None = None
    name: str = ""

    def to_dict(self) -> dict:
        return {"lat": self.lat, "lon": self.lon, "code": self.code, "name": self.name}

    @classmethod
    def from_dict(cls, d: dict) -> Place:
        return cls(lat=float(d["lat"]), lon=float(d["lon"]), code=d.get("code"), name=d.get("name", ""))


@dataclass(frozen=True)
class Stop:
    site_code: str
    name: str
    kecamatan: str
    kind: str
    lat: float
    lon: float
    arrive: str
    start: str
    depart: str
    expected: int
    km_from_prev: float
    min_from_prev: int
    mode: str
    no_signal: bool = False
    pooled: tuple = ()
    locked: bool = False
    visit: str = "1/1"
    service_min: int = 0

    def to_dict(self) -> dict:
        return {"site_code": self.site_code, "name": self.name, "kecamatan": self.kecamatan,
                "kind": self.kind, "lat": self.lat, "lon": self.lon, "arrive": self.arrive,
                "start": self.start, "depart": self.depart, "expected": self.expected,
                "km_from_prev": self.km_from_prev, "min_from_prev": self.min_from_prev,
                "mode": self.mode, "no_signal": self.no_signal,
                "pooled": [dict(p) for p in self.pooled], "locked": self.locked,
                "visit": self.visit, "service_min": self.service_min}

    @classmethod
    def from_dict(cls, d: dict) -> Stop:
        return cls(site_code=d["site_code"], name=d.get("name", ""), kecamatan=d.get("kecamatan", ""),
                   kind=d.get("kind", "village"), lat=float(d["lat"]), lon=float(d["lon"]),
                   arrive=d["arrive"], start=d.get("start", d["arrive"]), depart=d["depart"],
                   expected=int(d["expected"]), km_from_prev=float(d.get("km_from_prev", 0)),
                   min_from_prev=int(d.get("min_from_prev", 0)), mode=d.get("mode", "road"),
                   no_signal=bool(d.get("no_signal", False)),
                   pooled=tuple(_FrozenDict(p) for p in d.get("pooled", [])),
                   locked=bool(d.get("locked", False)), visit=d.get("visit", "1/1"),
                   service_min=int(d.get("service_min", 0)))


class _FrozenDict(dict):
    """A dict that can live inside a frozen dataclass (hashable, read-only by convention)."""

    def __hash__(self):  # type: ignore[override]
        return hash(_freeze(dict(self)))


@dataclass(frozen=True)
class Day:
    date: str
    start: Place
    end: Place
    stops: tuple
    km_to_end: float = 0.0
    min_to_end: int = 0
    mode_to_end: str | None = None
    people: int = 0
    km: float = 0.0
    travel_min: int = 0
    cost_rp: int = 0
    sleep_away: bool = False

    def to_dict(self) -> dict:
        return {"date": self.date, "start": self.start.to_dict(), "end": self.end.to_dict(),
                "stops": [s.to_dict() for s in self.stops], "km_to_end": self.km_to_end,
                "min_to_end": self.min_to_end, "mode_to_end": self.mode_to_end,
                "sleep_away": self.sleep_away,
                "totals": {"people": self.people, "km": self.km, "travel_min": self.travel_min,
                           "cost_rp": self.cost_rp}}

    @classmethod
    def from_dict(cls, d: dict) -> Day:
        t = d.get("totals", {})
        return cls(date=d["date"], start=Place.from_dict(d["start"]), end=Place.from_dict(d["end"]),
                   stops=tuple(Stop.from_dict(s) for s in d.get("stops", [])),
                   km_to_end=float(d.get("km_to_end", 0)), min_to_end=int(d.get("min_to_end", 0)),
                   mode_to_end=d.get("mode_to_end"), people=int(t.get("people", 0)),
                   km=float(t.get("km", 0)), travel_min=int(t.get("travel_min", 0)),
                   cost_rp=int(t.get("cost_rp", 0)), sleep_away=bool(d.get("sleep_away", False)))


@dataclass(frozen=True)
class TeamPlan:
    name: str
    mode: str
    kits: int
    base: Place
    days: tuple
    max_nights: int = 0

    def to_dict(self) -> dict:
        return {"name": self.name, "mode": self.mode, "kits": self.kits,
                "max_nights": self.max_nights,
                "base": {"name": self.base.name, "lat": self.base.lat, "lon": self.base.lon},
                "days": [d.to_dict() for d in self.days]}

    @classmethod
    def from_dict(cls, d: dict) -> TeamPlan:
        b = d["base"]
        return cls(name=d["name"], mode=d.get("mode", "road"), kits=int(d.get("kits", 3)),
                   base=Place(lat=float(b["lat"]), lon=float(b["lon"]), code=None, name=b.get("name", "")),
                   days=tuple(Day.from_dict(x) for x in d.get("days", [])),
                   max_nights=int(d.get("max_nights", 0)))


@dataclass(frozen=True)
class Dropped:
    site_code: str
    name: str
    kecamatan: str
    expected: int
    reason: str
    detail: str
    partial: bool = False

    def to_dict(self) -> dict:
        return {"site_code": self.site_code, "name": self.name, "kecamatan": self.kecamatan,
                "expected": self.expected, "reason": self.reason, "detail": self.detail,
                "partial": self.partial}

    @classmethod
    def from_dict(cls, d: dict) -> Dropped:
        return cls(site_code=d["site_code"], name=d.get("name", ""), kecamatan=d.get("kecamatan", ""),
                   expected=int(d.get("expected", 0)), reason=d["reason"], detail=d.get("detail", ""),
                   partial=bool(d.get("partial", False)))


@dataclass(frozen=True)
class Plan:
    plan_id: str
    dataset: str
    params: Any            # frozen params (see to_dict)
    base: Place
    teams: tuple
    dropped: tuple
    people: int
    km: float
    travel_hours: float
    cost_rp: int
    version: int = 1
    solver: Any = field(default=())

    def to_dict(self) -> dict:
        return self._as_dict()

    def _as_dict(self) -> dict:
        return {
            "format": FORMAT,
            "plan_id": self.plan_id, "dataset": self.dataset, "version": self.version,
            "params": _thaw(self.params),
            "base": {"name": self.base.name, "lat": self.base.lat, "lon": self.base.lon},
            "teams": [t.to_dict() for t in self.teams],
            "dropped": [d.to_dict() for d in self.dropped],
            "totals": {"people": self.people, "km": self.km, "travel_hours": self.travel_hours,
                       "cost_rp": self.cost_rp},
            "solver": _thaw(self.solver) if self.solver else {},
        }

    @classmethod
    def from_dict(cls, d: dict) -> Plan:
        t = d.get("totals", {})
        b = d.get("base") or {"lat": 0.0, "lon": 0.0, "name": ""}
        return cls(plan_id=d["plan_id"], dataset=d.get("dataset", ""), params=_freeze_json(d.get("params", {})),
                   base=Place(lat=float(b["lat"]), lon=float(b["lon"]), name=b.get("name", "")),
                   teams=tuple(TeamPlan.from_dict(x) for x in d.get("teams", [])),
                   dropped=tuple(Dropped.from_dict(x) for x in d.get("dropped", [])),
                   people=int(t.get("people", 0)), km=float(t.get("km", 0)),
                   travel_hours=float(t.get("travel_hours", 0)), cost_rp=int(t.get("cost_rp", 0)),
                   version=int(d.get("version", 1)), solver=_freeze_json(d.get("solver") or {}))

    def content_id(self) -> str:
        """A hash of everything the plan file says except its ``plan_id`` and the ``solver``
        diagnostics (timings): every stop, day, drop reason, total and the request. Two plans
        that differ in anything a reader sees get different ids; the same plan (same seed and
        solution limit) gets the same id."""
        d = self._as_dict()
        body = {k: v for k, v in d.items() if k not in ("plan_id", "solver")}
        raw = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    # convenience
    @property
    def stops(self) -> list[tuple[str, str, Stop]]:
        """(team, date, stop) for every stop in the plan."""
        return [(t.name, day.date, s) for t in self.teams for day in t.days for s in day.stops]


class _JsonObj(tuple):
    """Marker for a frozen JSON object (tuple of (key, value) pairs)."""


class _JsonArr(tuple):
    """Marker for a frozen JSON array."""


def _freeze_json(v):
    if isinstance(v, dict):
        return _JsonObj((k, _freeze_json(x)) for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return _JsonArr(_freeze_json(x) for x in v)
    return v


def _thaw(v):
    if isinstance(v, _JsonObj):
        return {k: _thaw(x) for k, x in v}
    if isinstance(v, _JsonArr):
        return [_thaw(x) for x in v]
    if isinstance(v, dict):
        return {k: _thaw(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)) and not isinstance(v, str):
        return [_thaw(x) for x in v]
    return v


__all__ = ["Plan", "TeamPlan", "Day", "Stop", "Place", "Dropped"]
