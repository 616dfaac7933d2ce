"""The search's view of an instance: flat, picklable arrays shared by every part of the search.

``Problem(instance)`` reads the frozen :class:`planner.engine.model.Instance` once:

* clock: ``ws``/``we`` (work start/end, minutes of the day), ``work`` (W);
* per visit: its point, people, value (solver units), opening hours (minutes of the day),
  service minutes per team, must-visit flag, lock (allowed teams and day offset) and re-plan
  preference (team, day offset);
* per team: mode, base point, kits, minutes per person, setup, people capacity per trip (None);
* travel per mode: minutes and arc cost (10 × minutes + rupiah / 1,000: the objective's unit) as
  flat ``array('q')`` (row-major, fast scalar reads), and the numpy matrices for km and leg mode;
* the trip structure (:mod:`planner.engine.trips`).

Visits may be added while solving (:meth:`Problem.add_remainder`: the people a visit cut short
could not record, offered again as a visit of their own by the finish).
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

import numpy as np

from .model import Instance
from .trips import trip_structure

INF = 10**8          # travel minutes at or above this: unreachable
ARC_UNITS = 10       # objective units per travel minute (``Instance.value_scale``)
MIN_PARTIAL = 0.4    # a visit cut short keeps at least 40 % of its people


def _hm(s, default: int) -> int:
    if s is None or s == "":
        return default
    if isinstance(s, int):
        return s
    h, m = str(s).split(":")
    return int(h) * 60 + int(m)


@dataclass(frozen=True)
class TeamInfo:
    mode: str
    base: int
    kits: int
    minutes_per_person: float
    setup: int
    capacity: int | None


class Problem:
    """Arrays for the search (see the module docstring)."""

    def __init__(self, inst: Instance):
        self.inst = inst
        req = inst.request
        self.ws, self.we = int(inst.work_start), int(inst.work_end)
        self.work = self.we - self.ws
        self.n_points = len(inst.points)
        self.teams = [TeamInfo(t.mode, int(inst.base_points[k]), int(t.kits),
                               float(t.minutes_per_person), int(t.setup_min),
                               None if t.capacity is None else int(t.capacity))
                      for k, t in enumerate(inst.teams)]
        self.team_start = [None if not inst.start_points or inst.start_points[k] is None
                           else int(inst.start_points[k]) for k in range(len(inst.teams))]
        # travel
        self.minutes_np: dict[str, np.ndarray] = {}
        self.km_np: dict[str, np.ndarray] = {}
        self.cost_rp_np: dict[str, np.ndarray] = {}
        self.legmode_np: dict[str, np.ndarray] = {}
        self.minutes: dict[str, array] = {}
        self.arc: dict[str, array] = {}
        for mode, m in inst.matrices.items():
            mm = np.asarray(m.minutes, dtype=np.int64)
            mm = np.where(mm >= INF, INF, mm)
            rp = np.nan_to_num(np.asarray(m.cost_rp, dtype=float), nan=0.0, posinf=0.0,
                               neginf=0.0)
            arc = ARC_UNITS * mm + np.round(rp / 1000.0).astype(np.int64)
            self.minutes_np[mode] = mm
            self.km_np[mode] = np.asarray(m.km, dtype=float)
            self.cost_rp_np[mode] = np.asarray(m.cost_rp, dtype=float)
            self.legmode_np[mode] = np.asarray(m.mode, dtype=np.int64)
            self.minutes[mode] = array("q", mm.ravel().tolist())
            self.arc[mode] = array("q", arc.ravel().tolist())
        # sites
        self.site_open = [max(self.ws, _hm(s.open_time, self.ws)) for s in inst.sites]
        self.site_close = [min(self.we, _hm(s.close_time, self.we)) for s in inst.sites]
        self.site_mpp = [s.minutes_per_person for s in inst.sites]
        self.site_service = [None if s.service_min is None else int(s.service_min)
                             for s in inst.sites]
        # visits
        self.v_site: list[int] = []
        self.v_point: list[int] = []
        self.v_expected: list[int] = []
        self.v_value: list[int] = []
        self.v_must: list[bool] = []
        self.v_copy: list[int] = []
        self.v_ncopies: list[int] = []
        self.v_service: list[list[int]] = [[] for _ in inst.teams]
        for v in inst.visits:
            self._append_visit(v.site, v.copy, v.n_copies, int(v.expected), int(v.value),
                               bool(v.must), [int(x) for x in v.service])
        self.n_base_visits = len(inst.visits)
        self.remainder_of: dict[int, int] = {}   # added visit -> the visit it continues
        # locks and preferences
        self.lock_team: dict[int, frozenset | None] = {}   # visit -> allowed teams (None: any)
        self.lock_day: dict[int, int] = {}                   # visit -> day offset
        self.lock_sized: set[int] = set()                    # locked with an announced size
        self.prefer: dict[int, tuple[int, int]] = {}         # visit -> (team, day offset)
        self._locks_and_preferences()
        self.churn = int(round(float(req.churn_penalty_min) * inst.value_scale))
        self.trips = trip_structure(inst)
        # which teams can reach a visit at all (mode): the rest never consider it
        self.v_teams: list[list[int]] = [self._reaching_teams(x) for x in range(len(self.v_site))]
        total = sum(self.v_expected)
        days = sum(len(d) for d in inst.team_dates) or 1
        # balance: soft bound of people per trip day (off: a bound no trip reaches)
        self.fair_per_day = 1.25 * total / days if req.balance else float(total + 1)

    # ------------------------------------------------------------------ visits
    def _append_visit(self, site, copy, n_copies, expected, value, must, service) -> int:
        self.v_site.append(site)
        self.v_point.append(int(self.inst.site_points[site]))
        self.v_expected.append(expected)
        self.v_value.append(value)
        self.v_must.append(must)
        self.v_copy.append(copy)
        self.v_ncopies.append(n_copies)
        for k, s in enumerate(service):
            self.v_service[k].append(s)
        return len(self.v_site) - 1

    def reset_visits(self) -> None:
        """Forget the visits added while solving (back to the instance's visits)."""
        n = self.n_base_visits
        for a in (self.v_site, self.v_point, self.v_expected, self.v_value, self.v_must,
                  self.v_copy, self.v_ncopies, self.v_teams):
            del a[n:]
        for a in self.v_service:
            del a[n:]
        self.remainder_of = {}

    @property
    def n_visits(self) -> int:
        return len(self.v_site)

    def service(self, team: int, x: int, people: int | None = None) -> int:
        """Service minutes of ``team`` at visit ``x`` recording ``people`` (default: all)."""
        if people is None or people >= self.v_expected[x]:
            return self.v_service[team][x]
        fixed = self.site_service[self.v_site[x]]
        if fixed is not None:
            return int(fixed)
        t = self.teams[team]
        mpp = float(self.site_mpp[self.v_site[x]] or t.minutes_per_person)
        return t.setup + math.ceil(people * mpp / t.kits)

    def can_shrink(self, x: int) -> bool:
        """A visit may be cut short unless its site has a fixed service time or it is locked
        with an announced size (a lock without a size may record fewer people on its day)."""
        return self.site_service[self.v_site[x]] is None and x not in self.lock_sized

    def shrink(self, team: int, x: int, start: int, latest_depart: int) -> tuple[int, int] | None:
        """(people, depart) for visit ``x`` cut short to end by ``latest_depart``, or None when
        fewer than ``MIN_PARTIAL`` of its people would be left."""
        t = self.teams[team]
        mpp = float(self.site_mpp[self.v_site[x]] or t.minutes_per_person)
        avail = latest_depart - start - t.setup
        if avail <= 0:
            return None
        e = min(self.v_expected[x], int(avail * t.kits / mpp))
        if e < max(1, MIN_PARTIAL * self.v_expected[x]):
            return None
        return e, start + t.setup + math.ceil(e * mpp / t.kits)

    def add_remainder(self, x: int, people: int) -> int:
        """A new visit for the ``people`` visit ``x`` could not record (same site)."""
        teams = self.inst.teams
        site = self.v_site[x]
        service = [self.service(k, x, people) if people < self.v_expected[x]
                   else self.v_service[k][x] for k in range(len(teams))]
        value = max(1, self.v_value[x] * people // max(1, self.v_expected[x]))
        y = self._append_visit(site, self.v_copy[x], self.v_ncopies[x], people, value,
                               self.v_must[x], service)
        self.remainder_of[y] = x
        self.v_teams.append(self._reaching_teams(y))
        return y

    def _reaching_teams(self, x: int) -> list[int]:
        p = self.v_point[x]
        out = []
        n = self.n_points
        for k, t in enumerate(self.teams):
            mm = self.minutes[t.mode]
            start = self.team_start[k]
            if mm[t.base * n + p] < INF and mm[p * n + t.base] < INF:
                out.append(k)
            elif start is not None and mm[start * n + p] < INF and mm[p * n + t.base] < INF:
                out.append(k)
        if x in self.lock_team and self.lock_team[x] is not None:
            out = [k for k in out if k in self.lock_team[x]] or sorted(self.lock_team[x])
        return out

    def _locks_and_preferences(self) -> None:
        inst = self.inst
        by_site: dict[str, list[int]] = {}
        for x, v in enumerate(inst.visits):
            by_site.setdefault(inst.sites[v.site].code, []).append(x)
        team_idx = {t.name: k for k, t in enumerate(inst.teams)}
        for lk in inst.locks:
            free = [x for x in by_site.get(lk.site_code, []) if x not in self.lock_day]
            if lk.expected:  # its own copy, sized as announced
                same = [x for x in free if inst.visits[x].expected == lk.expected]
                free = same + [x for x in free if x not in same]
            if not free:
                from .errors import LockError

                raise LockError(f"Terlalu banyak kunci untuk {lk.site_code}.")
            x = free[0]
            if lk.expected:
                self.lock_sized.add(x)
            self.lock_day[x] = inst.day_offset(lk.date)
            self.lock_team[x] = frozenset([team_idx[lk.team]]) if lk.team else None
        for pf in inst.prefer:
            free = [x for x in by_site.get(pf.site_code, [])
                    if x not in self.lock_day and x not in self.prefer]
            if pf.expected:  # the copy sized as that stop was
                same = [x for x in free if inst.visits[x].expected == pf.expected]
                free = same + [x for x in free if x not in same]
            if free and pf.team in team_idx:
                self.prefer[free[0]] = (team_idx[pf.team], inst.day_offset(pf.date))

    # ------------------------------------------------------------------ helpers
    def leg(self, mode: str, a: int, b: int) -> int:
        return self.minutes[mode][a * self.n_points + b]

    def lock_allows(self, x: int, team: int, offsets: tuple) -> bool:
        """Can a trip of ``team`` over ``offsets`` hold visit ``x`` as far as its lock goes?"""
        if x not in self.lock_day:
            return True
        allowed = self.lock_team.get(x)
        return (allowed is None or team in allowed) and self.lock_day[x] in offsets
