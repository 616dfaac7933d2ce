"""Trip shapes: how each team's working days are grouped into trips.

A *trip* leaves the team's base (or, for a team re-planned while out, the village it slept at)
and ends at the base; its days are consecutive calendar days, so the nights away on a trip are
at most its number of days − 1. The plan's nights rule is therefore kept by construction when
every trip has at most ``max_nights + 1`` days.

* A team that is home every evening (``max_nights = 0``) has one trip per working date.
* Otherwise its working dates fall into **runs** of consecutive calendar days (a weekend or a
  holiday ends a run: teams are home then). A run is cut into trips of at most
  ``max_nights + 1`` days; which cut (5 days with 3 nights: 4 + 1, 3 + 2, 2 + 3, 1 + 4,
  2 + 2 + 1, …) is chosen by the search (``planner.engine.lns``: the *re-cut* move), starting
  from :func:`initial_cut`.
* **Fixed trips** are never re-cut: the trips a re-plan keeps (``TeamSpec.trips``: the previous
  plan's trips that hold kept stops). A team on a trip across the re-plan date
  (``TeamSpec.start_at``) starts its first run at the village it slept at; that first trip may
  last at most ``max_nights − nights_used + 1`` days (the nights it has left), and its length
  is part of the cut like any other.

:func:`trip_slots` gives the trips of the initial cut (the vehicles of the OR-Tools model).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .model import Instance, _as_date

HOME = -1  # in a run's visit sequence: the team goes home tonight (a trip ends here)


@dataclass(frozen=True)
class VehicleSlot:
    """A trip, or a run of trips: a team and its calendar day offsets (consecutive).

    As a search unit (:func:`search_units`) a slot is a whole *run*: the schedule sends the
    team home whenever another night away would exceed ``max_nights`` (``away0`` nights are
    already behind it when the slot starts away from base), and wherever the sequence says
    ``HOME``; so the trips of a run, and their lengths, follow from the sequence."""

    team: int
    offsets: tuple
    start: int | None = None   # point the slot starts at (None: the team's base)
    fixed: bool = False        # a kept trip: the search does not change its days
    run: int = -1              # index of the run it belongs to (-1: none)
    max_nights: int = 0        # nights away in a row allowed
    away0: int = 0             # nights away already behind the team at the start

    @property
    def n_days(self) -> int:
        return len(self.offsets)

    @property
    def trip_days(self) -> int:
        """The longest trip this slot can hold."""
        return min(self.n_days, self.max_nights + 1 - self.away0 if self.start is not None
                   else self.max_nights + 1) if self.max_nights > 0 else 1


@dataclass(frozen=True)
class Run:
    """A team's block of consecutive working days that the search cuts into trips."""

    team: int
    offsets: tuple
    part_max: int              # max days of a trip (max_nights + 1)
    first_max: int             # max days of the first trip (a trip in progress: fewer)
    start: int | None = None   # where the first trip starts (None: base)

    def valid(self, parts: tuple) -> bool:
        return (sum(parts) == len(self.offsets) and all(p >= 1 for p in parts)
                and all(p <= self.part_max for p in parts) and parts[0] <= self.first_max)

    max_nights: int = 0
    away0: int = 0

    def slots(self, parts: tuple, run_index: int) -> list[VehicleSlot]:
        out, i = [], 0
        for j, p in enumerate(parts):
            out.append(VehicleSlot(self.team, tuple(self.offsets[i:i + p]),
                                   start=self.start if j == 0 else None, run=run_index,
                                   max_nights=self.max_nights,
                                   away0=self.away0 if j == 0 else 0))
            i += p
        return out

    def unit(self, run_index: int) -> VehicleSlot:
        """The whole run as one search unit."""
        return VehicleSlot(self.team, self.offsets, start=self.start, run=run_index,
                           max_nights=self.max_nights, away0=self.away0)


@dataclass(frozen=True)
class TripPlan:
    """The trip structure of an instance: fixed trips and the runs the search cuts."""

    fixed: tuple               # VehicleSlot (fixed=True)
    runs: tuple                # Run
    day_trips: tuple           # VehicleSlot of teams home every evening (one per date)


def trip_structure(inst: Instance) -> TripPlan:
    """Fixed trips, free runs and single-day trips of every team (see the module docstring)."""
    fixed: list[VehicleSlot] = []
    runs: list[Run] = []
    day_trips: list[VehicleSlot] = []
    for k, t in enumerate(inst.teams):
        offs = [inst.day_offset(d) for d in inst.team_dates[k]]
        if not offs:
            continue
        start = (inst.start_points[k] if inst.start_points and inst.start_points[k] is not None
                 else None)
        size = int(t.max_nights) + 1
        used: set = set()
        kept = [(inst.day_offset(_as_date(a)), inst.day_offset(_as_date(b)))
                for a, b in sorted(t.trips or ())]
        first_max = size
        first_len_cap = None
        if start is not None:
            first_max = max(1, int(t.max_nights) - int(t.nights_used) + 1)
            # the trip in progress ends before a kept trip that starts later
            n = 1
            for o in offs[1:first_max]:
                if o != offs[n - 1] + 1 or any(lo <= o <= hi and not lo <= offs[0] <= hi
                                               for lo, hi in kept):
                    break
                n += 1
            first_len_cap = n
        for lo, hi in kept:
            days = [o for o in offs if lo <= o <= hi and o not in used]
            if start is not None and days and days[0] == offs[0]:
                continue  # the kept trip is the one in progress: handled as the first run
            run: list = []
            for o in days:  # consecutive days only, at most max_nights + 1 of them
                if run and (o != run[-1] + 1 or len(run) >= size):
                    break
                run.append(o)
            if len(run) > 1:
                fixed.append(VehicleSlot(k, tuple(run), fixed=True,
                                         max_nights=int(t.max_nights)))
                used.update(run)
        free = [o for o in offs if o not in used]
        k_n = int(t.max_nights)
        used0 = int(t.nights_used) if start is not None else 0
        if k_n <= 0 and start is None:
            day_trips.extend(VehicleSlot(k, (o,)) for o in free)
            continue
        blocks: list[list[int]] = []
        for o in free:
            if blocks and o == blocks[-1][-1] + 1:
                blocks[-1].append(o)
            else:
                blocks.append([o])
        for b, block in enumerate(blocks):
            first = start is not None and b == 0 and block[0] == offs[0]
            if k_n <= 0 and not first:
                day_trips.extend(VehicleSlot(k, (o,)) for o in block)
                continue
            if first and first_len_cap is not None and first_len_cap < len(block) \
                    and first_len_cap < first_max:
                # a kept trip cuts the trip in progress short: it is a run of its own
                runs.append(Run(k, tuple(block[:first_len_cap]), size,
                                first_len_cap, start, k_n, used0))
                block = block[first_len_cap:]
                first = False
                if not block:
                    continue
            runs.append(Run(k, tuple(block), size, first_max if first else size,
                            start if first else None, k_n, used0 if first else 0))
    return TripPlan(tuple(fixed), tuple(runs), tuple(day_trips))


def equal_cut(n: int, first_max: int, part_max: int) -> tuple:
    """The fewest near-equal parts (5 days, parts ≤ 4 → 3 + 2); the first part ≤ first_max."""
    if first_max < part_max:
        first = min(first_max, n)
        return (first,) + (equal_cut(n - first, part_max, part_max) if n > first else ())
    k = -(-n // part_max)
    q, r = divmod(n, k)
    return tuple(q + (1 if j < r else 0) for j in range(k))


def long_cut(n: int, first_max: int, part_max: int) -> tuple:
    """Longest trips first (5 days, parts ≤ 4 → 4 + 1)."""
    parts = []
    cap = first_max
    while n > 0:
        p = min(cap, n)
        parts.append(p)
        n -= p
        cap = part_max
    return tuple(parts)


def whole_cut(n: int, first_max: int, part_max: int) -> tuple:
    """One part (as a search unit: the schedule sends the team home where nights run out)."""
    return (n,)


CUTS = {"equal": equal_cut, "long": long_cut, "whole": whole_cut}


def initial_cut(run: Run, policy: str = "equal") -> tuple:
    return CUTS[policy](len(run.offsets), run.first_max, run.part_max)


def slots_for(tp: TripPlan, cuts: list[tuple]) -> list[VehicleSlot]:
    """All trips (date order per team) for the given parts of every run."""
    out = list(tp.fixed) + list(tp.day_trips)
    for r, (run, parts) in enumerate(zip(tp.runs, cuts, strict=True)):
        out.extend(run.slots(parts, r))
    return sorted(out, key=lambda s: (s.team, s.offsets[0]))


def trip_slots(inst: Instance, policy: str = "equal") -> list[VehicleSlot]:
    """The trips of the initial cut (``policy``: ``equal`` or ``long``), per team in date
    order: the vehicles of the OR-Tools model."""
    tp = trip_structure(inst)
    return slots_for(tp, [initial_cut(r, policy) for r in tp.runs])


def neighbour_cuts(run: Run, parts: tuple) -> list[tuple]:
    """Cuts one step away from ``parts``: a boundary moved by one day, two adjacent trips
    merged, or one trip split in two. Only legal cuts (see :meth:`Run.valid`)."""
    out = set()
    n = len(parts)
    for i in range(n - 1):
        for d in (-1, 1):
            q = list(parts)
            q[i] += d
            q[i + 1] -= d
            out.add(tuple(q))
        q = list(parts[:i]) + [parts[i] + parts[i + 1]] + list(parts[i + 2:])
        out.add(tuple(q))
    for i, p in enumerate(parts):
        for a in range(1, p):
            out.add(tuple(list(parts[:i]) + [a, p - a] + list(parts[i + 1:])))
    return sorted(q for q in out if q != parts and run.valid(q))


def random_neighbour_cut(run: Run, parts: tuple, rng: random.Random) -> tuple | None:
    cands = neighbour_cuts(run, parts)
    return rng.choice(cands) if cands else None


def search_units(tp: TripPlan) -> list[VehicleSlot]:
    """The units the exact search works on: fixed trips, single-day trips and whole runs."""
    out = list(tp.fixed) + list(tp.day_trips) + [r.unit(i) for i, r in enumerate(tp.runs)]
    return sorted(out, key=lambda s: (s.team, s.offsets[0]))


def to_units(tp: TripPlan, slots: list[VehicleSlot],
             routes: list[list[int]]) -> tuple[list[VehicleSlot], list[list[int]]]:
    """Trips (e.g. the OR-Tools vehicles of a cut) and their routes → search units and
    sequences: a run's trips in date order, joined by ``HOME``."""
    units = search_units(tp)
    seqs: dict[tuple, list[int]] = {}
    key = {}
    for u in units:
        key[(u.team, u.run if u.run >= 0 else None, u.offsets[0])] = u
    by_run: dict[int, list] = {}
    for sl, r in zip(slots, routes, strict=True):
        if sl.run >= 0:
            by_run.setdefault(sl.run, []).append((sl.offsets[0], list(r)))
        else:
            seqs[(sl.team, sl.offsets[0])] = list(r)
    out_seqs = []
    for u in units:
        if u.run >= 0:
            parts = sorted(by_run.get(u.run, []))
            seq: list[int] = []
            for i, (_o, r) in enumerate(parts):
                if i:
                    seq.append(HOME)
                seq.extend(r)
            out_seqs.append(seq)
        else:
            out_seqs.append(seqs.get((u.team, u.offsets[0]), []))
    return units, out_seqs
