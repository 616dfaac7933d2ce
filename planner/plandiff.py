"""What moved between two versions of a plan (the re-plan diff page).

Stops are compared by site code and visit number (a large village split over several days has
several visits): a stop is *added* when only the new version has it, *dropped* when only the
old one has it, *moved* when its team or date changed, *retimed* when only its times or
expected people changed, and *unchanged* otherwise.
"""

from __future__ import annotations

from collections import defaultdict

from . import plan_json


def _stop_index(plan: dict) -> dict[tuple[str, int], dict]:
    seen: dict[str, int] = defaultdict(int)
    out: dict[tuple[str, int], dict] = {}
    for ref in plan_json.iter_stops(plan):
        stop = ref.stop
        code = ref.site_code
        seen[code] += 1
        out[(code, seen[code])] = {
            "site_code": code, "name": stop.get("name", code), "team": ref.team,
            "date": ref.date, "order": ref.order, "arrive": stop.get("arrive"),
            "depart": stop.get("depart"), "expected": stop.get("expected", 0),
        }
    return out


def diff_plans(old: dict, new: dict) -> dict:
    """Return ``{"added", "dropped", "moved", "retimed", "unchanged"}`` lists of stop dicts.

    ``moved`` and ``retimed`` items carry ``before`` and ``after``.
    """
    a, b = _stop_index(old), _stop_index(new)
    result: dict[str, list] = {k: [] for k in ("added", "dropped", "moved", "retimed", "unchanged")}
    for key in sorted(b.keys() - a.keys()):
        result["added"].append(b[key])
    for key in sorted(a.keys() - b.keys()):
        result["dropped"].append(a[key])
    for key in sorted(a.keys() & b.keys()):
        before, after = a[key], b[key]
        if (before["team"], before["date"]) != (after["team"], after["date"]):
            result["moved"].append({**after, "before": before, "after": after})
        elif (before["arrive"], before["depart"], before["expected"], before["order"]) != (
            after["arrive"], after["depart"], after["expected"], after["order"]
        ):
            result["retimed"].append({**after, "before": before, "after": after})
        else:
            result["unchanged"].append(after)
    return result
