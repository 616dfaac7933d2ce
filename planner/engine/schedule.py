"""The schedule of one trip on real days: the only place where times are decided.

:class:`TripScheduler` turns a trip (team, consecutive day offsets, where it starts) and a
sequence of visits into a :class:`TripSchedule`: every stop with its clock times, where the
team sleeps each night, the evening legs, the people recorded, and the trip's value and cost in
objective units. The search (``planner.engine.lns``) only ever keeps what this class schedules,
so a plan is valid by construction: the rules below are the validator's
(``planner.engine.validate``).

A slot is a trip, or a whole *run* of a team's consecutive working days (see
``planner.engine.trips``); its sequence holds visits and ``HOME`` marks ("the team goes home
tonight"). Nights away in a row never exceed the team's ``max_nights``: on a day after which
another night away would exceed it (and on the slot's last day) the team must be home
tonight — such a day is a *home day*. So the trips of a run follow from the sequence: where it
says ``HOME``, and where the nights run out.

Rules, element by element in the given order, each stop as early as possible:

* **Today** when it fits: arrival = previous departure (or work start) + the team's travel
  minutes; service starts at arrival or at the site's opening, ends by the site's closing and
  by work end. On a home day the way home must also fit before work end; on the other days
  the team must be able to get home from the site within one working day (it sleeps there,
  or moves on).
* **Else the next day**: on a home day the team drives home this evening; otherwise it drives
  to the stop this evening when the leg fits before work end (it sleeps at that village: the
  day's ``evening`` leg), or sleeps where it is and drives in the morning. A stop that does
  not fit even on a fresh day from where the team is (a leg or a service longer than the
  day) is left out.
* **On the slot's last day** a stop that does not fit is cut short when at least
  ``MIN_PARTIAL`` of its people can still be recorded (then ``short``), otherwise left out
  (``left_out``).
* **HOME**: the team drives home this evening (or, when the leg no longer fits and it may
  sleep out once more, the next morning); the next stop is on the next day.
* **Locks**: a locked visit is kept on its date: the team waits for that date (sleeping where
  it is; the evening before, it drives to the locked village when it may sleep out), and when the locked visit does not fit on its day, the day's latest unlocked stops
  are left out until it does. A locked visit that still cannot be kept makes the schedule
  ``infeasible`` (the search never keeps such a schedule).
* **End**: after the last stop the team drives home the same evening, or the next morning
  when the slot has another day and the nights allow it. A slot never ends away from base.

Objective of a trip (same units as the OR-Tools model: 10 per travel minute):
``value`` = Σ visit value × people recorded ÷ people expected (+ the churn penalty of a
re-plan's preferred stop when it is planned), ``cost`` = Σ arc costs (10 × minutes + rupiah ÷
1,000) of every leg, + the churn penalty for a preferred stop on another team and per day
moved, + 1 per person above the trip's fair share (balance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from .problem import INF, Problem
from .trips import HOME, VehicleSlot


class ScheduledStop(NamedTuple):
    visit: int
    origin: int      # point the leg comes from
    point: int
    arrive: int      # minutes of the day
    start: int
    depart: int
    people: int


@dataclass
class ScheduledDay:
    offset: int                  # calendar day offset from the plan's start date
    start: int                   # point the team wakes up at
    stops: list = field(default_factory=list)
    end: int = -1                # point it sleeps at
    evening: int | None = None   # the evening leg goes to this point (home or the next village)
    evening_from: int | None = None


@dataclass
class TripSchedule:
    slot: VehicleSlot
    days: list
    people: int = 0
    value: int = 0
    cost: int = 0
    left_out: list = field(default_factory=list)
    short: dict = field(default_factory=dict)     # visit -> people recorded (cut short)
    infeasible: bool = False                      # a lock not kept (never accepted)
    seq: list = field(default_factory=list)       # what was kept: visits and HOME marks
    path: list | None = None                      # points of seq, start and end (a cache)

    @property
    def score(self) -> int:
        return -10**15 if self.infeasible else self.value - self.cost

    @property
    def visits(self) -> list[int]:
        return [s.visit for d in self.days for s in d.stops]

    def stops(self):
        for d in self.days:
            yield from d.stops


class TripScheduler:
    """Schedules trips and runs of one problem (see the module docstring)."""

    def __init__(self, problem: Problem):
        self.P = problem

    def empty(self, slot: VehicleSlot) -> TripSchedule:
        return self.schedule(slot, ())

    def schedule(self, slot: VehicleSlot, seq) -> TripSchedule:
        return _Walk(self.P, slot).run(seq)


class _Walk:
    """One scheduling pass over a slot's sequence.

    State: the day index ``di`` (and ``day``, its :class:`ScheduledDay`), the team's position
    ``pos`` and time ``t`` (minutes of the day), and ``away`` (nights away in a row so far)."""

    def __init__(self, P: Problem, slot: VehicleSlot):
        self.P = P
        self.slot = slot
        T = P.teams[slot.team]
        self.mm = P.minutes[T.mode]
        self.n = P.n_points
        self.base = T.base
        self.offs = slot.offsets
        self.last = len(slot.offsets) - 1
        self.k_n = slot.max_nights if slot.n_days > 1 else 0

    def run(self, seq) -> TripSchedule:
        P = self.P
        slot = self.slot
        k = slot.team
        mm, n, base = self.mm, self.n, self.base
        offs, last, k_n = self.offs, self.last, self.k_n
        ws, we, W = P.ws, P.we, P.work
        svc_k = P.v_service[k]
        vpt, vsite, vexp = P.v_point, P.v_site, P.v_expected
        sopen, sclose = P.site_open, P.site_close
        lock_day = P.lock_day
        cap = P.teams[k].capacity
        left: list[int] = []
        short: dict[int, int] = {}
        kept: list[int] = []
        people = 0
        pos = slot.start if slot.start is not None else base
        away = slot.away0 if pos != base else 0
        t = ws
        di = 0
        day = ScheduledDay(offs[0], pos)
        days = [day]
        bad = False

        def next_day(evening_to=None):
            """End today (driving to ``evening_to`` tonight when given); start tomorrow."""
            nonlocal pos, away, di, t, day
            if evening_to is not None and evening_to != pos:
                day.evening_from, day.evening = pos, evening_to
                pos = evening_to
            day.end = pos
            away = away + 1 if pos != base else 0
            di += 1
            t = ws
            day = ScheduledDay(offs[di], pos)
            days.append(day)

        def go_home():
            """Home tonight, or tomorrow morning when the leg no longer fits and nights
            allow. False when neither is possible (home days prevent that)."""
            nonlocal pos
            if pos == base:
                if di < last and (day.stops or day.evening is not None):
                    next_day()
                return True
            leg = mm[pos * n + base]
            if t + leg <= we:
                day.evening_from, day.evening = pos, base
                pos = base
                if di < last:
                    next_day()
                return True
            if di < last and away < k_n and leg <= W:
                next_day()            # sleep here, drive home in the morning
                day.evening_from, day.evening = pos, base
                pos = base
                if di < last:
                    next_day()
                return True
            return False

        for x in seq:
            if x == HOME:
                if pos != base:
                    if not go_home():
                        bad = True
                        break
                    if not kept or kept[-1] != HOME:
                        kept.append(x)
                continue
            e = vexp[x]
            ld = lock_day.get(x, -1)
            if cap is not None and people + e > cap:
                if ld >= 0:
                    bad = True
                    break
                left.append(x)
                continue
            p = vpt[x]
            site = vsite[x]
            svc = svc_k[x]
            o, c = sopen[site], sclose[site]
            back = mm[p * n + base]
            while True:
                if day.evening is not None:  # the team has left for the night
                    if di < last:
                        next_day()
                        continue
                    if ld >= 0:
                        bad = True
                    else:
                        left.append(x)
                    break
                off = offs[di]
                if ld >= 0 and off != ld:
                    if off < ld and di < last:
                        if away >= k_n:
                            if not go_home():
                                bad = True
                                break
                            if day.offset == off:
                                next_day()
                        elif offs[di + 1] == ld and pos != p and t + mm[pos * n + p] <= we \
                                and back <= W:
                            next_day(p)   # tomorrow is its day: drive there tonight
                        else:
                            next_day()
                        continue
                    bad = True
                    break
                leg = mm[pos * n + p]
                if leg >= INF:
                    if ld >= 0:
                        bad = True
                    else:
                        left.append(x)
                    break
                home = di == last or away >= k_n
                arrive = t + leg
                start = arrive if arrive > o else o
                depart = start + svc
                if depart <= c and (depart + back <= we if home else back <= W):
                    day.stops.append(ScheduledStop(x, pos, p, arrive, start, depart, e))
                    people += e
                    pos, t = p, depart
                    kept.append(x)
                    break
                if ld >= 0:
                    got = _make_room(P, k, mm, n, day, left, kept)
                    if got is None and depart > start and P.can_shrink(x):
                        # nothing left to make room with: a lock without an announced size
                        # records what its day holds
                        got = P.shrink(k, x, start, min(c, we - back) if home else min(c, we))
                        if got is not None:
                            day.stops.append(ScheduledStop(x, pos, p, arrive, start, got[1],
                                                           got[0]))
                            short[x] = got[0]
                            people += got[0]
                            pos, t = p, got[1]
                            kept.append(x)
                            break
                    if got is None:
                        bad = True
                        break
                    pos, t = got[0], got[1]
                    people -= got[2]
                    continue
                if di < last:
                    fresh = not day.stops and pos == day.start and t == ws
                    if home:
                        if not go_home():
                            bad = True
                            break
                        if day.offset == off:  # home already: the day ends here
                            next_day()
                        continue
                    if fresh:
                        left.append(x)  # not even a fresh day from here holds it
                        break
                    next_day(p if t + leg <= we and back <= W else None)
                    continue
                if depart > start and P.can_shrink(x):
                    got = P.shrink(k, x, start, min(c, we - back))
                    if got is not None:
                        day.stops.append(ScheduledStop(x, pos, p, arrive, start, got[1], got[0]))
                        short[x] = got[0]
                        people += got[0]
                        pos, t = p, got[1]
                        kept.append(x)
                        break
                left.append(x)
                break
            if bad:
                break
        if not bad and pos != base and not go_home():
            bad = True
        if pos != base:
            bad = True
        day.end = pos
        while kept and kept[-1] == HOME:
            kept.pop()
        out = TripSchedule(slot, days, left_out=left, short=short, infeasible=bad, seq=kept)
        _score(P, out)
        return out


def _make_room(P: Problem, k: int, mm, n: int, day: ScheduledDay, left: list, kept: list):
    """Leave out the day's latest unlocked stop and re-time the day (for a locked stop that
    must keep this day). Returns (position, time, people removed), or None."""
    idx = [i for i, s in enumerate(day.stops) if s.visit not in P.lock_day]
    if not idx:
        return None
    gone = day.stops.pop(idx[-1])
    left.append(gone.visit)
    kept.remove(gone.visit)
    pos, t = day.start, P.ws
    for i, s in enumerate(day.stops):
        site = P.v_site[s.visit]
        arrive = t + mm[pos * n + s.point]
        start = max(arrive, P.site_open[site])
        depart = start + P.service(k, s.visit, s.people)
        day.stops[i] = ScheduledStop(s.visit, pos, s.point, arrive, start, depart, s.people)
        pos, t = s.point, depart
    return pos, t, gone.people


def _score(P: Problem, ts: TripSchedule) -> None:
    slot = ts.slot
    k = slot.team
    arc = P.arc[P.teams[k].mode]
    n = P.n_points
    cost = 0
    value = 0
    people = 0
    churn = P.churn
    prefer = P.prefer
    vval, vexp = P.v_value, P.v_expected
    for d in ts.days:
        for s in d.stops:
            cost += arc[s.origin * n + s.point]
            x = s.visit
            e = s.people
            people += e
            value += vval[x] if e >= vexp[x] else vval[x] * e // vexp[x]
            pf = prefer.get(x)
            if pf is not None and churn:
                value += churn
                if pf[0] != k:
                    cost += churn
                cost += churn * abs(d.offset - pf[1])
        if d.evening is not None:
            cost += arc[d.evening_from * n + d.evening]
    fair = int(P.fair_per_day * len(slot.offsets)) + 1
    if people > fair:
        cost += people - fair
    ts.people, ts.value, ts.cost = people, value, cost
