"""The exact-schedule search: large-neighbourhood search over trips, re-cut moves, the finish.

A solution is a sequence of visits and ``HOME`` marks for every search unit (a single-day
trip, a kept trip, or a whole run of a team's days: :func:`planner.engine.trips.search_units`);
every unit is scheduled by :class:`planner.engine.schedule.TripScheduler`, and only what it
schedules is kept (a visit it leaves out goes back to the pool of unplanned visits). The objective is the sum of the trips' scores (value of the people recorded − travel
cost − re-plan churn − balance), the same units as the OR-Tools model, but computed on the real
days, so the search never optimises a schedule the plan cannot keep.

One iteration of :meth:`LNS.run` removes a few visits (random, related = near one another, a
whole day, or the worst by value per minute), or changes the shape of a run's trips
(:meth:`LNS.shape_move`: a ``HOME`` mark added — a trip split — or removed — two trips joined;
where the nights run out the schedule sends the team home anyway), then re-inserts the pool
greedily (each visit at its best exact position, most valuable first, with noise) and accepts
the result by simulated annealing; the best solution seen is kept.

:meth:`LNS.finish` re-offers every unplanned visit, and the people a visit cut short could not
record (as a visit of their own: ``Problem.add_remainder``), until a whole pass inserts
nothing.

Locked visits are never removed; a schedule that cannot keep a lock is never accepted.
Randomness comes from one seeded ``random.Random``; with an iteration budget the search is
reproducible (the time limit is then only a cap).
"""

from __future__ import annotations

import heapq
import math
import random
import time
from dataclasses import dataclass, field

from .problem import Problem
from .schedule import TripSchedule, TripScheduler
from .trips import HOME, VehicleSlot

EVAL_TOP = 8            # exact schedules tried per inserted visit (best detour estimates)
NEAR = 30               # nearest points that make a trip a candidate on large instances
ALL_TRIPS_MAX = 80      # up to this many trips every trip is a candidate for every visit
SHAPE_SHARE = 0.12      # share of iterations that change a run's trip shapes
REPAIR_POOL_MAX = 150   # a larger pool is not re-offered whole in every iteration: ...
REPAIR_NEAR_MAX = 40    # ... the freed visits, the most valuable pool visits near them ...
REPAIR_SAMPLE = 20      # ... and a random sample (the finish re-offers the whole pool)


@dataclass
class Outcome:
    """A solution in a picklable form (sent back from a worker process)."""

    slots: list                  # VehicleSlot (search units), in order
    seqs: list                   # sequences of visits and HOME marks (same order)
    remainders: list             # (visit, people) in the order ``add_remainder`` was called
    score: int
    people: int
    stats: dict = field(default_factory=dict)


class LNS:
    def __init__(self, problem: Problem, rng: random.Random):
        self.P = problem
        self.S = TripScheduler(problem)
        self.rng = rng
        self.slots: dict[int, VehicleSlot] = {}
        self.sched: dict[int, TripSchedule] = {}
        self.where: dict[int, int] = {}
        self.pool: set[int] = set()
        self.total = 0
        self.next_tid = 0
        self.remainders: list[tuple[int, int]] = []
        self.remainder_done: set[int] = set()
        self.point_trips: dict[int, set] = {}
        self.near: list[set] | None = None
        self._near_pts: list[set] | None = None
        self.shapes_enabled = True
        self.clock_cut: list[str] = []   # phases the deadline (not their work budget) ended
        self._undo: list | None = None
        self.team_tids: dict[int, list[int]] = {}
        self.stats = {"iterations": 0, "accepted": 0, "improved": 0, "shape_moves": 0,
                      "shape_kept": 0, "finish_inserted": 0, "remainders": 0}

    # ------------------------------------------------------------------ loading
    def load(self, slots: list[VehicleSlot], seqs: list[list[int]]) -> None:
        """Start from these units and sequences (a visit not placed goes to the pool)."""
        P = self.P
        placed: set[int] = set()
        for slot, seq in zip(slots, seqs, strict=True):
            tid = self._new_trip(slot)
            ts = self.S.schedule(slot, [x for x in seq if x == HOME or x not in placed])
            if ts.infeasible:  # keep the locks: schedule only them, in date order
                locked = sorted((x for x in seq if x in P.lock_day), key=lambda x: P.lock_day[x])
                ts = self.S.schedule(slot, locked)
                if ts.infeasible:
                    ts = self.S.schedule(slot, [])
            self._set(tid, ts)
            placed.update(ts.visits)
        self.pool = {x for x in range(P.n_visits) if x not in self.where and P.v_teams[x]}
        self.total = sum(ts.score for ts in self.sched.values())
        if len(self.slots) > ALL_TRIPS_MAX:
            self._build_near()
        self.place_locks()

    def place_locks(self) -> None:
        """Every locked visit not planned yet goes where it fits best, even when that leaves
        other (unlocked) visits out (they go back to the pool): at any position of a unit that
        may hold it, also with the unit's ``HOME`` marks dropped, or with only the unit's locks
        kept."""
        P = self.P
        for x in sorted((x for x in P.lock_day if x not in self.where),
                        key=lambda x: P.lock_day[x]):
            best = None
            for tid in self.candidates(x):
                slot = self.slots[tid]
                old = self.sched[tid]
                locks = sorted([y for y in old.seq if y in P.lock_day] + [x],
                               key=lambda y: P.lock_day[y])
                seqs = [old.seq, [y for y in old.seq if y != HOME], locks, [HOME] + locks]
                for j, seq in enumerate(seqs):
                    positions = range(len(seq) + 1) if j < 2 else [None]
                    for i in positions:
                        cand = self.S.schedule(slot, seq if i is None else
                                               seq[:i] + [x] + seq[i:])
                        if cand.infeasible or x in cand.left_out or x not in cand.visits:
                            continue
                        gain = cand.score - old.score
                        if best is None or gain > best[0]:
                            best = (gain, tid, cand)
            if best is None:
                continue
            gain, tid, ts = best
            gone = set(self.sched[tid].visits) - set(ts.visits)
            self._set(tid, ts)
            self.pool.discard(x)
            self.pool.update(y for y in gone if P.v_teams[y])
            self.total += gain

    def _new_trip(self, slot: VehicleSlot) -> int:
        tid = self.next_tid
        self.next_tid += 1
        self.slots[tid] = slot
        self.team_tids.setdefault(slot.team, []).append(tid)
        return tid

    def _set(self, tid: int, ts: TripSchedule) -> None:
        old = self.sched.get(tid)
        if self._undo is not None:
            self._undo.append((tid, old))
        P = self.P
        if old is not None:
            for x in old.visits:
                if self.where.get(x) == tid:
                    del self.where[x]
                s = self.point_trips.get(P.v_point[x])
                if s is not None:
                    s.discard(tid)
        self.sched[tid] = ts
        for x in ts.visits:
            self.where[x] = tid
            self.point_trips.setdefault(P.v_point[x], set()).add(tid)

    def _build_near(self) -> None:
        import numpy as np

        P = self.P
        mode = P.teams[0].mode
        mm = P.minutes_np[mode]
        pts = sorted(set(P.v_point))
        sub = mm[np.ix_(pts, pts)]
        k = min(NEAR, len(pts))
        idx = np.argpartition(sub, k - 1, axis=1)[:, :k]
        self.near = [set() for _ in range(P.n_points)]
        for i, p in enumerate(pts):
            self.near[p] = {pts[j] for j in idx[i]}

    def _near_points(self) -> list[set]:
        """Per point: its ``NEAR`` nearest visit points (cached; for the focused repair)."""
        if self._near_pts is None:
            if self.near is None:
                saved = self.near
                self._build_near()
                self._near_pts, self.near = self.near, saved
            else:
                self._near_pts = self.near
        return self._near_pts

    # ------------------------------------------------------------------ moves
    def seq(self, tid: int) -> list[int]:
        return self.sched[tid].seq

    def candidates(self, x: int) -> list[int]:
        P = self.P
        teams = P.v_teams[x]
        if not teams:
            return []
        locked = x in P.lock_day
        if self.near is None or locked:
            out = []
            for k in teams:
                for tid in self.team_tids.get(k, ()):
                    if not locked or P.lock_allows(x, k, self.slots[tid].offsets):
                        out.append(tid)
            return out
        tids = set()
        for q in self.near[P.v_point[x]]:
            tids |= self.point_trips.get(q, set())
        teams_set = set(teams)
        out = [tid for tid in tids if self.slots[tid].team in teams_set]
        empties = [tid for k in teams for tid in self.team_tids.get(k, ())
                   if not self.sched[tid].days[0].stops and len(self.sched[tid].days) == 1]
        if empties:
            out += self.rng.sample(empties, min(4, len(empties)))
        return out

    def best_insertion(self, x: int, tids: list[int] | None = None):
        """(gain, trip, schedule) of the best exact insertion of visit ``x`` that leaves every
        other stop planned, or None."""
        P = self.P
        n = P.n_points
        p = P.v_point[x]
        val = P.v_value[x]
        ests = []
        for tid in (self.candidates(x) if tids is None else tids):
            slot = self.slots[tid]
            T = P.teams[slot.team]
            arc = P.arc[T.mode]
            ts = self.sched[tid]
            path = ts.path
            if path is None:
                base = T.base
                path = [slot.start if slot.start is not None else base]
                path += [base if y == HOME else P.v_point[y] for y in ts.seq]
                path.append(base)
                ts.path = path
            pn = p * n
            for i in range(len(path) - 1):
                a, b = path[i], path[i + 1]
                d = arc[a * n + p] + arc[pn + b] - arc[a * n + b]
                if d < val:
                    ests.append((d, tid, i))
        if not ests:
            return None
        ests = heapq.nsmallest(EVAL_TOP, ests)
        best = None
        for _d, tid, i in ests:
            old = self.sched[tid]
            seq = old.seq
            cand = self.S.schedule(self.slots[tid], seq[:i] + [x] + seq[i:])
            if cand.infeasible or cand.left_out:
                continue
            gain = cand.score - old.score
            if best is None or gain > best[0]:
                best = (gain, tid, cand)
        return best

    def insert(self, x: int, min_gain: int = 1) -> bool:
        got = self.best_insertion(x)
        if got is None or got[0] < min_gain:
            return False
        gain, tid, ts = got
        self._set(tid, ts)
        self.pool.discard(x)
        self.total += gain
        return True

    def remove(self, xs) -> None:
        """Take these visits out of their trips (locked visits stay)."""
        P = self.P
        by_trip: dict[int, set] = {}
        for x in xs:
            tid = self.where.get(x)
            if tid is not None and x not in P.lock_day:
                by_trip.setdefault(tid, set()).add(x)
        for tid, gone in by_trip.items():
            old = self.sched[tid]
            ts = self.S.schedule(self.slots[tid], [y for y in old.seq if y not in gone])
            self._set(tid, ts)
            self.total += ts.score - old.score
            self.pool |= gone
            self.pool.update(ts.left_out)

    def repair(self, noise: float = 0.2, focus: set | None = None) -> None:
        """Re-insert the pool greedily (most valuable first, with noise). With ``focus`` (the
        visits this iteration freed) and a large pool, only the focus, the pool visits near
        it and a random sample are offered: at 2,000 sites the whole pool made one iteration
        take seconds."""
        P = self.P
        rng = self.rng
        cand = self.pool
        if focus is not None and len(self.pool) > REPAIR_POOL_MAX:
            near = self._near_points()
            pts: set = set()
            for x in focus:
                pts |= near[P.v_point[x]]
            cand = set(focus) & self.pool
            others = sorted((x for x in self.pool if x not in cand and P.v_point[x] in pts),
                            key=lambda x: -P.v_value[x])
            cand.update(others[:REPAIR_NEAR_MAX])
            rest = sorted(self.pool - cand)
            cand.update(rng.sample(rest, min(REPAIR_SAMPLE, len(rest))))
        order = sorted(cand, key=lambda x: -(P.v_value[x] * (1.0 + noise * rng.random())))
        for x in order:
            if x in self.pool:
                self.insert(x)

    # ------------------------------------------------------------------ destroy operators
    def _placed(self) -> list[int]:
        P = self.P
        return [x for x in self.where if x not in P.lock_day]

    def destroy(self, q: int) -> str:
        rng = self.rng
        placed = self._placed()
        if not placed:
            return "none"
        op = rng.random()
        if op < 0.35:
            self.remove(rng.sample(placed, min(q, len(placed))))
            return "random"
        if op < 0.70:
            P = self.P
            seed = rng.choice(placed)
            mode = P.teams[self.slots[self.where[seed]].team].mode
            mm = P.minutes[mode]
            n = P.n_points
            ps = P.v_point[seed]
            near = sorted(placed, key=lambda y: mm[ps * n + P.v_point[y]])
            self.remove(near[:q])
            return "related"
        if op < 0.85:
            tids = [tid for tid, ts in self.sched.items() if ts.visits]
            if not tids:
                return "none"
            tid = rng.choice(tids)
            days = [d for d in self.sched[tid].days if d.stops]
            d = rng.choice(days)
            self.remove([s.visit for s in d.stops])
            return "day"
        # worst: least value per minute spent (service + the travel saved without it)
        P = self.P
        scored = []
        for tid, ts in self.sched.items():
            arc = P.arc[P.teams[self.slots[tid].team].mode]
            n = P.n_points
            stops = list(ts.stops())
            for i, s in enumerate(stops):
                if s.visit in P.lock_day:
                    continue
                nxt = stops[i + 1].point if i + 1 < len(stops) else P.teams[self.slots[tid].team].base
                saved = arc[s.origin * n + s.point] + arc[s.point * n + nxt] - arc[s.origin * n + nxt]
                v = P.v_value[s.visit] * s.people // max(1, P.v_expected[s.visit])
                scored.append(((v - saved) / (s.depart - s.start + saved / 10 + 1)
                               * (0.7 + 0.6 * rng.random()), s.visit))
        scored.sort()
        self.remove([x for _, x in scored[:q]])
        return "worst"

    def shape_move(self) -> bool:
        """Split a trip of a run (add a ``HOME`` mark) or join two (remove one)."""
        rng = self.rng
        P = self.P
        tids = [tid for tid, sl in self.slots.items()
                if sl.run >= 0 and sl.max_nights > 0 and sl.n_days > 1 and self.sched[tid].visits]
        if not tids:
            return False
        tid = rng.choice(tids)
        old = self.sched[tid]
        seq = list(old.seq)
        marks = [i for i, y in enumerate(seq) if y == HOME]
        if marks and rng.random() < 0.5:
            del seq[rng.choice(marks)]
        else:
            # after a stop whose next stop is on another day (where a night falls)
            day_of = {s.visit: d.offset for d in old.days for s in d.stops}
            cuts = [i + 1 for i in range(len(seq) - 1)
                    if seq[i] != HOME and seq[i + 1] != HOME
                    and day_of.get(seq[i]) != day_of.get(seq[i + 1])]
            if not cuts:
                cuts = [i + 1 for i in range(len(seq) - 1) if seq[i] != HOME and seq[i + 1] != HOME]
            if not cuts:
                return False
            seq.insert(rng.choice(cuts), HOME)
        ts = self.S.schedule(self.slots[tid], seq)
        if ts.infeasible:
            return False
        self._set(tid, ts)
        self.total += ts.score - old.score
        self.pool.update(x for x in ts.left_out if P.v_teams[x])
        return True

    # ------------------------------------------------------------------ state
    def snapshot(self):
        """Start an undo log (trips changed from now on) and keep the pool and total."""
        self._undo = []
        return (set(self.pool), self.total)

    def restore(self, snap) -> None:
        log, self._undo = self._undo, None
        for tid, old in reversed(log):
            self._set(tid, old)
        self.pool, self.total = set(snap[0]), snap[1]

    def commit(self) -> None:
        self._undo = None

    def outcome(self) -> Outcome:
        tids = sorted(self.slots, key=lambda t: (self.slots[t].team, self.slots[t].offsets[0]))
        people = sum(self.sched[t].people for t in tids)
        return Outcome([self.slots[t] for t in tids], [list(self.sched[t].seq) for t in tids],
                       list(self.remainders), self.total, people, dict(self.stats))

    # ------------------------------------------------------------------ search
    def run(self, deadline: float, max_iters: int | None = None, on_best=None) -> Outcome:
        """Iterate until the deadline (or ``max_iters``); returns the best solution seen."""
        rng = self.rng
        self.repair(noise=0.0)
        best = self.outcome()
        best_total = self.total
        cur = self.total
        n_placed = max(1, len(self.where))
        start = time.monotonic()
        span = max(1e-3, deadline - start)
        temp0 = max(50.0, 0.0005 * abs(cur))
        it = 0
        while True:
            if max_iters is not None and it >= max_iters:
                break
            now = time.monotonic()
            if now >= deadline:
                self.clock_cut.append("lns")
                break
            it += 1
            frac = (it / max_iters) if max_iters else (now - start) / span
            temp = temp0 * (0.01 ** min(1.0, frac))
            snap = self.snapshot()
            before = self.total
            pool0 = set(self.pool)
            if self.shapes_enabled and rng.random() < SHAPE_SHARE:
                self.stats["shape_moves"] += 1
                if not self.shape_move():
                    self.restore(snap)
                    continue
                self.repair(focus=self.pool - pool0)
                kind = "shape"
            else:
                hi = max(3, min(40, int(0.12 * n_placed)))
                q = rng.randint(min(2, hi), hi)
                kind = self.destroy(q)
                self.repair(focus=self.pool - pool0)
            delta = self.total - before
            if delta >= 0 or rng.random() < math.exp(delta / temp):
                self.commit()
                self.stats["accepted"] += 1
                if kind == "shape":
                    self.stats["shape_kept"] += 1
                cur = self.total
                if self.total > best_total:
                    best_total = self.total
                    best = self.outcome()
                    self.stats["improved"] += 1
                    if on_best is not None:
                        on_best(best)
            else:
                self.restore(snap)
            n_placed = max(1, len(self.where))
        self.stats["iterations"] += it
        self._reload(best)
        del cur
        return best

    def _reload(self, out: Outcome) -> None:
        """Make ``out`` the current solution again."""
        P = self.P
        self.slots, self.sched, self.where = {}, {}, {}
        self.point_trips, self.team_tids = {}, {}
        for slot, seq in zip(out.slots, out.seqs, strict=True):
            tid = self._new_trip(slot)
            self._set(tid, self.S.schedule(slot, seq))
        self.pool = {x for x in range(P.n_visits) if x not in self.where and P.v_teams[x]}
        self.total = sum(ts.score for ts in self.sched.values())

    def finish(self, deadline: float) -> Outcome:
        """Re-offer every unplanned visit, and the people of visits cut short, until a whole
        pass inserts nothing (or the deadline)."""
        P = self.P
        while True:
            inserted = 0
            for x in sorted(self.pool, key=lambda y: -P.v_value[y]):
                if time.monotonic() >= deadline:
                    break
                if x in self.pool and self.insert(x):
                    inserted += 1
            for tid in list(self.sched):
                for x, e in list(self.sched[tid].short.items()):
                    if x in self.remainder_done or time.monotonic() >= deadline:
                        continue
                    self.remainder_done.add(x)
                    rest = P.v_expected[x] - e
                    if rest <= 0:
                        continue
                    y = P.add_remainder(x, rest)
                    self.remainders.append((x, rest))
                    self.remainder_done.add(y)
                    self.stats["remainders"] += 1
                    if self.insert(y):
                        inserted += 1
            self.stats["finish_inserted"] += inserted
            if time.monotonic() >= deadline:  # the pass may have stopped early
                self.clock_cut.append("finish")
                break
            if not inserted:
                break
        return self.outcome()
