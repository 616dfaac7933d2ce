"""The Plan JSON contract (``jemput-bola-plan/1``) and the one place that walks it.

The contract is written down in ``docs/reference/plan-json.md`` and, for machines, in
``planner/schemas/plan.schema.json``. Everything that reads or changes a Plan JSON does it
through this module:

* walking: :func:`team_days` (:class:`TeamDay`), :func:`iter_stops` (:class:`StopRef`),
  :func:`find_team`, :func:`get_team_day`, :func:`find_stop`, :func:`dates`;
* legs and their way: :func:`iter_legs` / :func:`day_legs` / :func:`point_legs` (:class:`Leg`:
  start → stops → end of every day),
  :func:`leg_parts` (the way as drawn: the stored path, else the straight line),
  :func:`attach_paths` (the pipeline stores each leg's path and the plan's ``travel`` block);
* totals: :func:`day_totals` (one day, from its legs and stops), :func:`totals` (the plan,
  from its days — people, km, travel minutes/hours, cost; consistent over merged versions),
  :func:`summary` (what lists and headers show);
* versions: :func:`merge_replan` (earlier days of the old version + the re-planned days),
  :func:`finalise` (the keys a stored plan carries: id, version, names, flags);
* checking: :func:`schema_errors` / :func:`check` (JSON Schema), :func:`load` (a file).

Plain Python (no Flask, no database).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .paths import SCHEMA_DIR

FORMAT = "jemput-bola-plan/1"
SCHEMA_FILE = SCHEMA_DIR / "plan.schema.json"
PARAMS_SCHEMA_FILE = SCHEMA_DIR / "plan-params.schema.json"
#: The keys ``finalise`` sets on a stored plan (and nobody else).
STORE_KEYS = ("plan_id", "version", "plan_name", "dataset", "dataset_id", "fictional",
              "synthetic", "params", "replanned_from")


class PlanJsonError(ValueError):
    """A document that is not a valid Plan JSON (message names the first problems)."""


class SelectionError(LookupError):
    """The requested team or day is not in the plan (message is meant for the coordinator)."""


# --------------------------------------------------------------------------- walking
@dataclass(frozen=True)
class TeamDay:
    """One team's day in a plan. ``team_no`` is 1-based (``Tim 1`` → 1)."""

    team_no: int
    team: dict
    day: dict

    @property
    def date(self) -> str:
        return str(self.day.get("date"))

    @property
    def team_name(self) -> str:
        return str(self.team.get("name", ""))

    @property
    def stops(self) -> list[dict]:
        return list(self.day.get("stops") or [])

    @property
    def totals(self) -> dict:
        return day_totals(self.day)

    def points(self) -> list[dict]:
        """Start, every stop, end — each a dict with lat, lon, name, role ('start'|'stop'|'end')."""
        pts = [dict(self.day["start"], role="start")]
        for i, s in enumerate(self.stops, start=1):
            pts.append(dict(s, role="stop", order=i))
        pts.append(dict(self.day["end"], role="end"))
        return pts


@dataclass(frozen=True)
class StopRef:
    """A stop with where it sits in the plan (``order`` is 1-based within its day)."""

    team_no: int
    team: str
    date: str
    order: int
    stop: dict

    @property
    def site_code(self) -> str:
        return str(self.stop.get("site_code"))

    @property
    def key(self) -> tuple[str, str, str]:
        """(team, date, site code): how field results name a stop."""
        return (self.team, self.date, self.site_code)


def teams(plan: dict) -> list[dict]:
    return list(plan.get("teams") or [])


def find_team(plan: dict, team) -> tuple[int, dict]:
    """(1-based number, team dict) for ``team`` given as number or exact name."""
    all_teams = teams(plan)
    if isinstance(team, int) or (isinstance(team, str) and team.strip().isdigit()):
        n = int(team)
        if 1 <= n <= len(all_teams):
            return n, all_teams[n - 1]
        raise SelectionError(f"Tim nomor {n} tidak ada dalam rencana (ada {len(all_teams)} tim).")
    for n, t in enumerate(all_teams, start=1):
        if str(t.get("name")) == str(team):
            return n, t
    raise SelectionError(f"Tim {team!r} tidak ada dalam rencana.")


def normalise_day(day) -> str | None:
    """ISO date string for ``day`` (str or date); raises ValueError when it is not a date."""
    if day is None or day == "":
        return None
    if isinstance(day, dt.date):
        return day.isoformat()
    try:
        return dt.date.fromisoformat(str(day).strip()).isoformat()
    except ValueError:
        raise ValueError(f"Tanggal tidak sah: {day!r} (format YYYY-MM-DD).") from None


def team_days(plan: dict, team=None, day=None, *, with_empty: bool = False) -> list[TeamDay]:
    """The team-days of ``plan`` (optionally one team and/or one day), in plan order.

    Days without stops are left out unless ``with_empty``. Raises :class:`SelectionError` when
    a requested team or day is not in the plan, ``ValueError`` for a malformed date.
    """
    date = normalise_day(day)
    if team is not None and team != "":
        chosen = [find_team(plan, team)]
    else:
        chosen = list(enumerate(teams(plan), start=1))
    out = []
    for n, t in chosen:
        for d in t.get("days") or []:
            if date is not None and str(d.get("date")) != date:
                continue
            if not with_empty and not d.get("stops"):
                continue
            out.append(TeamDay(n, t, d))
    if date is not None and not out and not any(
            str(d.get("date")) == date for _n, t in chosen for d in t.get("days") or []):
        raise SelectionError(f"Tanggal {date} tidak ada dalam rencana untuk tim yang dipilih.")
    return out


def get_team_day(plan: dict, team, day) -> TeamDay:
    """Exactly one team-day (may have no stops). Raises SelectionError when missing."""
    n, t = find_team(plan, team)
    date = normalise_day(day)
    for d in t.get("days") or []:
        if str(d.get("date")) == date:
            return TeamDay(n, t, d)
    raise SelectionError(f"{t.get('name')} tidak punya jadwal pada {date}.")


def iter_stops(plan: dict) -> Iterator[StopRef]:
    """Every stop of the plan in plan order (team by team, day by day)."""
    for n, t in enumerate(teams(plan), start=1):
        for d in t.get("days") or []:
            for order, stop in enumerate(d.get("stops") or [], start=1):
                yield StopRef(n, str(t.get("name")), str(d.get("date")), order, stop)


def find_stop(plan: dict, team: str, date: str, site_code: str) -> dict | None:
    for ref in iter_stops(plan):
        if ref.key == (team, date, site_code):
            return ref.stop
    return None


def dates(plan: dict) -> list[str]:
    """The plan's dates (sorted, each once)."""
    return sorted({str(d.get("date")) for t in teams(plan) for d in t.get("days") or []})


# --------------------------------------------------------------------------- legs
#: Modes of the parts of a leg's path: along a road or a river, the change between car and
#: boat at a pier, the straight walk between a site and the network, or the straight line of a
#: leg the network could not give (the built-in estimate was used for it).
PATH_MODES = ("road", "river", "pier", "access", "fallback")


@dataclass(frozen=True)
class Leg:
    """One leg of a team-day: from ``origin`` to ``dest`` (place or stop dicts with lat, lon).
    Its figures and path live in ``holder`` (the stop it leads to, or the day for the last leg
    back to the day's end) under ``*_from_prev`` / ``*_to_end``."""

    team_no: int
    team: dict
    date: str
    origin: dict
    dest: dict
    holder: dict
    last: bool

    @property
    def mode(self) -> str | None:
        return self.holder.get("mode_to_end" if self.last else "mode")

    @property
    def km(self) -> float:
        return float(self.holder.get("km_to_end" if self.last else "km_from_prev") or 0)

    @property
    def minutes(self) -> int:
        return int(self.holder.get("min_to_end" if self.last else "min_from_prev") or 0)

    @property
    def path_key(self) -> str:
        return "path_to_end" if self.last else "path_from_prev"

    @property
    def path(self) -> dict | None:
        return self.holder.get(self.path_key)

    @property
    def moves(self) -> bool:
        """The leg goes somewhere (not the next session at the same village)."""
        a, b = self.origin, self.dest
        return (round(float(a["lat"]), 6), round(float(a["lon"]), 6)) != \
            (round(float(b["lat"]), 6), round(float(b["lon"]), 6))


def day_legs(td: TeamDay) -> list[Leg]:
    """The legs of one team-day in travel order: start → first stop → … → end (the last leg
    only when the day has one: ``mode_to_end`` set or ``km_to_end`` > 0)."""
    day = td.day
    out = []
    prev = day.get("start")
    for s in td.stops:
        if prev is not None and prev.get("lat") is not None:
            out.append(Leg(td.team_no, td.team, td.date, prev, s, s, False))
        prev = s
    end = day.get("end")
    if prev is not None and end is not None and prev.get("lat") is not None \
            and (day.get("mode_to_end") is not None or float(day.get("km_to_end") or 0) > 0):
        out.append(Leg(td.team_no, td.team, td.date, prev, end, day, True))
    return out


def point_legs(td: TeamDay) -> list[Leg]:
    """One leg per pair of successive :meth:`TeamDay.points` (start, every stop, end; the last
    one even when the day has no last leg, e.g. the team sleeps at its last stop): how the day
    sheets and the exports number legs."""
    pts = td.points()
    stops = td.stops
    return [Leg(td.team_no, td.team, td.date, pts[i - 1], pts[i],
                stops[i - 1] if i <= len(stops) else td.day, i > len(stops))
            for i in range(1, len(pts))]


def iter_legs(plan: dict, team=None, day=None) -> Iterator[Leg]:
    """Every leg of ``plan`` (optionally one team and/or one day), in plan order."""
    for td in team_days(plan, team, day, with_empty=True):
        yield from day_legs(td)


def leg_parts(leg: Leg) -> list[tuple[str, list[tuple[float, float]]]]:
    """How to draw the leg: ``[(mode, [(lat, lon), ...]), ...]`` in travel order -- the parts of
    its stored path (a ``fallback`` part takes the leg's mode), else the straight line in the
    leg's mode. ``mode`` is one of :data:`PATH_MODES` but ``fallback``."""
    a = (float(leg.origin["lat"]), float(leg.origin["lon"]))
    b = (float(leg.dest["lat"]), float(leg.dest["lon"]))
    leg_mode = leg.mode if leg.mode in ("road", "river") else "road"
    path = leg.path
    if not path or not path.get("parts"):
        return [(leg_mode, [a, b])]
    out = []
    for part in path["parts"]:
        coords = [(float(c[0]), float(c[1])) for c in part.get("coords") or []]
        if len(coords) < 2:
            continue
        mode = part.get("mode")
        out.append((leg_mode if mode == "fallback" or mode not in PATH_MODES else mode, coords))
    return out or [(leg_mode, [a, b])]


def leg_points(leg: Leg) -> list[tuple[float, float]]:
    """The leg's way as one list of ``(lat, lon)`` (see :func:`leg_parts`); at least two points
    (a leg that does not move: its place twice)."""
    out: list[tuple[float, float]] = []
    for _mode, coords in leg_parts(leg):
        for c in coords:
            if not out or out[-1] != c:
                out.append(c)
    return out if len(out) >= 2 else out * 2


def attach_paths(plan: dict, path_of, travel: dict | None = None) -> dict:
    """Store each moving leg's path (``path_from_prev`` on the stop it leads to,
    ``path_to_end`` on the day): ``path_of(leg)`` returns ``{"fallback": bool, "parts":
    [{"mode", "coords": [[lat, lon], ...]}]}`` or None (no path: the leg is drawn straight).
    ``travel`` (the travel source, its notes and the fallback count) becomes ``plan["travel"]``.
    Changes ``plan`` in place and returns it."""
    for leg in iter_legs(plan):
        if not leg.moves:
            continue
        path = path_of(leg)
        if path is not None:
            leg.holder[leg.path_key] = path
        else:
            leg.holder.pop(leg.path_key, None)
    if travel is not None:
        plan["travel"] = travel
    return plan


# --------------------------------------------------------------------------- totals
def day_totals(day: dict) -> dict:
    """A day's totals: people from its stops; km, travel minutes and cost as the engine summed
    them over the day's legs (``days[].totals``), km and minutes recomputed from the legs when
    a day carries no totals."""
    stops = day.get("stops") or []
    stored = day.get("totals") or {}
    people = sum(int(s.get("expected") or 0) for s in stops)
    km = stored.get("km")
    if km is None:
        km = sum(float(s.get("km_from_prev") or 0) for s in stops) + float(day.get("km_to_end") or 0)
    minutes = stored.get("travel_min")
    if minutes is None:
        minutes = sum(int(s.get("min_from_prev") or 0) for s in stops) + int(day.get("min_to_end") or 0)
    return {"people": people, "km": round(float(km), 1), "travel_min": int(minutes),
            "cost_rp": int(stored.get("cost_rp") or 0)}


def totals(plan: dict) -> dict:
    """The plan's totals, summed over every team-day: the contract's ``totals``
    (``people, km, travel_hours, cost_rp``) plus ``travel_min``, ``stops`` and ``team_days``."""
    people = minutes = cost = stops = n_days = 0
    km = 0.0
    for td in team_days(plan, with_empty=True):
        t = day_totals(td.day)
        people += t["people"]
        km += t["km"]
        minutes += t["travel_min"]
        cost += t["cost_rp"]
        stops += len(td.stops)
        n_days += 1 if td.stops else 0
    return {"people": int(people), "km": round(km, 1), "travel_hours": round(minutes / 60.0, 2),
            "cost_rp": int(cost), "travel_min": int(minutes), "stops": int(stops),
            "team_days": int(n_days)}


def merged_stops(day: dict) -> list[dict]:
    """The day's stops as a person reads them: back-to-back visits of the same site (a large
    village split into sessions) become one stop with ``sessions`` (the original stops, in
    order), the first arrival, the last departure and the people summed. A single visit has
    ``sessions == [stop]``. Copies, never the stored dicts."""
    out: list[dict] = []
    for s in day.get("stops") or []:
        prev = out[-1] if out else None
        if prev is not None and prev.get("site_code") == s.get("site_code") \
                and not s.get("km_from_prev"):
            prev["sessions"].append(copy.deepcopy(s))
            prev["expected"] = int(prev.get("expected") or 0) + int(s.get("expected") or 0)
            prev["depart"] = s.get("depart")
            prev["locked"] = bool(prev.get("locked")) or bool(s.get("locked"))
            if s.get("service_min") is not None:
                prev["service_min"] = int(prev.get("service_min") or 0) + int(s["service_min"])
            continue
        item = copy.deepcopy(s)
        item["sessions"] = [copy.deepcopy(s)]
        out.append(item)
    return out


def summary(plan: dict | None) -> dict:
    """What plan lists and page headers show (always recomputed from the days)."""
    plan = plan or {}
    t = totals(plan)
    days = ((plan.get("params") or {}).get("calendar") or {}).get("days") or len(dates(plan))
    dropped = plan.get("dropped") or []
    return {
        "people": t["people"], "km": t["km"], "travel_hours": t["travel_hours"],
        "travel_min": t["travel_min"], "cost_rp": t["cost_rp"], "teams": len(teams(plan)),
        "days": int(days or 0), "team_days": t["team_days"],
        # what a reader counts: split sessions of one village on one day are one stop
        "stops": sum(len(merged_stops(td.day)) for td in team_days(plan)),
        "villages": len({ref.site_code for ref in iter_stops(plan)}),
        "dropped": sum(1 for d in dropped if not d.get("partial")),
        "partly": sum(1 for d in dropped if d.get("partial")),
    }


# --------------------------------------------------------------------------- versions
def trips(plan: dict, team: str) -> list[tuple[str, str]]:
    """The team's trips as (first date, last date): runs of days joined by nights away (a day
    trip is a trip of one day)."""
    t = next((x for x in teams(plan) if str(x.get("name")) == str(team)), None)
    out: list[list[str]] = []
    away = False
    for d in (t or {}).get("days", []):
        if not d.get("date"):
            continue
        if away and out:
            out[-1][1] = d["date"]
        else:
            out.append([d["date"], d["date"]])
        away = bool((d.get("end") or {}).get("code"))
    return [(a, b) for a, b in out]


def away_before(plan: dict, team: str, day) -> tuple[dict, int] | None:
    """Where ``team`` sleeps the night before ``day`` when it is out on a trip then:
    ``(place, nights away in a row)``, else None. Only a trip that goes on the next calendar
    day counts (a team away for the night works the next day, see the validator)."""
    cut = normalise_day(day)
    t = next((x for x in teams(plan) if str(x.get("name")) == str(team)), None)
    if t is None:
        return None
    before = [d for d in t.get("days", []) if d.get("date") and d["date"] < cut]
    if not before or not (before[-1].get("end") or {}).get("code"):
        return None
    last = dt.date.fromisoformat(before[-1]["date"])
    if (last + dt.timedelta(days=1)).isoformat() != cut:
        return None
    nights = 0
    for d in reversed(before):
        if not (d.get("end") or {}).get("code"):
            break
        nights += 1
    return dict(before[-1]["end"]), nights


def merge_replan(old: dict, new: dict, from_date: str | dt.date) -> dict:
    """The old plan's days before ``from_date`` followed by the re-optimised days of ``new``.

    Teams are matched by name; a team only in the old plan keeps its earlier days. ``params``
    and ``dropped`` are the new plan's; ``totals`` are recomputed over every day.
    """
    cut = normalise_day(from_date)
    merged = copy.deepcopy(new)
    old_teams = {t["name"]: t for t in teams(old)}
    for team in merged.get("teams", []):
        kept = [d for d in old_teams.get(team["name"], {}).get("days", []) if d["date"] < cut]
        team["days"] = copy.deepcopy(kept) + [d for d in team.get("days", []) if d["date"] >= cut]
    new_names = {t["name"] for t in merged.get("teams", [])}
    for name, team in old_teams.items():
        if name not in new_names:
            kept = [d for d in team.get("days", []) if d["date"] < cut]
            if kept:
                merged.setdefault("teams", []).append({**copy.deepcopy(team),
                                                       "days": copy.deepcopy(kept)})
    merged["replanned_from"] = cut
    merged["totals"] = contract_totals(merged)
    return merged


def contract_totals(plan: dict) -> dict:
    """The ``totals`` object the contract stores (see :func:`totals`)."""
    t = totals(plan)
    return {k: t[k] for k in ("people", "km", "travel_hours", "cost_rp")}


def finalise(plan: dict, *, plan_id: int | str, version: int, plan_name: str, dataset: str,
             dataset_id: int | None, params: dict, fictional: bool = False,
             synthetic: bool = False) -> dict:
    """A copy of ``plan`` with the keys a stored plan carries (:data:`STORE_KEYS`)."""
    out = copy.deepcopy(plan)
    out.update({
        "format": FORMAT, "plan_id": str(plan_id), "version": int(version),
        "plan_name": str(plan_name), "dataset": str(dataset or ""),
        "dataset_id": dataset_id, "fictional": bool(fictional), "synthetic": bool(synthetic),
        "params": copy.deepcopy(params),
    })
    out.setdefault("replanned_from", None)
    contacts = {t.get("name"): t for t in params.get("teams") or []}
    for team in out.get("teams") or []:  # the roster's leader and phone travel with the team
        source = contacts.get(team.get("name")) or {}
        for key in ("roster_id", "leader", "phone"):
            if source.get(key) is not None:
                team[key] = source[key]
    out["totals"] = contract_totals(out)
    return out


# --------------------------------------------------------------------------- checking
@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    plan_schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    params_schema = json.loads(PARAMS_SCHEMA_FILE.read_text(encoding="utf-8"))
    registry = Registry().with_resources([
        (params_schema["$id"], Resource.from_contents(params_schema)),
        (plan_schema["$id"], Resource.from_contents(plan_schema)),
    ])
    Draft202012Validator.check_schema(plan_schema)
    return Draft202012Validator(plan_schema, registry=registry)


@lru_cache(maxsize=1)
def _params_validator():
    from jsonschema import Draft202012Validator

    schema = json.loads(PARAMS_SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _errors(validator, doc) -> list[str]:
    out = []
    for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        out.append(f"{where}: {e.message}")
    return out


def schema_errors(plan) -> list[str]:
    """Problems of ``plan`` against ``plan.schema.json`` (empty list = conforms)."""
    return _errors(_validator(), plan)


def params_schema_errors(params) -> list[str]:
    """Problems of a params dict against ``plan-params.schema.json``."""
    return _errors(_params_validator(), params)


def check(plan) -> dict:
    """``plan`` itself when it conforms to the schema, else :class:`PlanJsonError`."""
    problems = schema_errors(plan)
    if problems:
        more = f" (dan {len(problems) - 3} lagi)" if len(problems) > 3 else ""
        raise PlanJsonError("Bukan Plan JSON yang sah: " + "; ".join(problems[:3]) + more)
    return plan


def load(path: str | Path) -> dict:
    """Read a Plan JSON file, with clear errors (:class:`PlanJsonError`) for coordinators."""
    try:
        plan = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PlanJsonError(f"Berkas rencana tidak ditemukan: {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanJsonError(f"{path} bukan berkas Plan JSON yang sah: {exc}") from exc
    try:
        return check(plan)
    except PlanJsonError as exc:
        raise PlanJsonError(f"{path}: {exc}") from exc
