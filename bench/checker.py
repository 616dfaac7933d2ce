"""Independent checker: re-evaluates any solver's routes on a :class:`BenchInstance`.

A number in the benchmark table is never a solver's own claim: routes are re-simulated here
(arrival = max(previous departure + travel, opening); arrival ≤ closing; back at the depot by
its closing time (Tmax); load ≤ capacity; each customer at most once; at most ``n_vehicles``
non-empty routes) and the score / distance recomputed from the instance's integer matrix.
This module imports nothing from the solvers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.readers import BenchInstance


@dataclass
class Evaluation:
    feasible: bool
    score: int  # total prize collected (TOPTW) / customers served (VRPTW)
    distance: int  # integer units (÷ instance.scale for the source unit)
    served: int
    routes_used: int
    errors: list[str] = field(default_factory=list)


def evaluate(inst: BenchInstance, routes: list[list[int]]) -> Evaluation:
    errors: list[str] = []
    n = inst.n
    depot = inst.depot
    seen: set[int] = set()
    score = distance = served = used = 0
    dist = inst.dist
    for r, route in enumerate(routes):
        route = [int(c) for c in route]
        if not route:
            continue
        used += 1
        t = int(inst.tw_open[depot])
        load = 0
        prev = depot
        for c in route:
            if not (0 <= c < n) or c == depot:
                errors.append(f"route {r}: invalid node {c}")
                break
            if c in seen:
                errors.append(f"route {r}: customer {c} visited twice")
            seen.add(c)
            arrive = t + int(inst.service[prev]) + int(dist[prev, c])
            start = max(arrive, int(inst.tw_open[c]))
            if start > int(inst.tw_close[c]):
                errors.append(f"route {r}: customer {c} starts at {start} > close "
                              f"{inst.tw_close[c]}")
            distance += int(dist[prev, c])
            score += int(inst.prize[c])
            load += int(inst.demand[c]) if inst.demand is not None else 0
            served += 1
            t = start
            prev = c
        back = t + int(inst.service[prev]) + int(dist[prev, depot])
        distance += int(dist[prev, depot])
        if back > inst.horizon:
            errors.append(f"route {r}: back at depot at {back} > {inst.horizon}")
        if inst.capacity is not None and load > inst.capacity:
            errors.append(f"route {r}: load {load} > capacity {inst.capacity}")
    if used > inst.n_vehicles:
        errors.append(f"{used} routes used, only {inst.n_vehicles} vehicles")
    if inst.mandatory:
        missing = [c for c in range(n) if c != depot and c not in seen]
        if missing:
            errors.append(f"customer(s) not served: {len(missing)} (e.g. {missing[:5]})")
    return Evaluation(feasible=not errors, score=score, distance=distance, served=served,
                      routes_used=used, errors=errors)
