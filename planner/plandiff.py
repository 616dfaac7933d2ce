"""What moved between two versions of a plan (the re-plan diff page and the churn figures).

Like is compared with like: a stop is *unchanged* when the same village is visited by the same
team on the same date with the same times and people; *retimed* when village, team and date are
the same but the times or the people changed; *moved* when the village is visited on another
team or date instead; *added* / *dropped* when only one version visits the village on that
team-day and the other has no visit of it left to match. A village visited in several sessions
on one team-day (a split visit) is one stop with its sessions.
"""

from __future__ import annotations

from collections import defaultdict

from . import plan_json


def _stops(plan: dict, since: str | None = None) -> dict[tuple[str, str, str], dict]:
    """(site code, team, date) → the stop (sessions of one team-day merged); only dates on or
    after ``since`` when given."""
    out: dict[tuple[str, str, str], dict] = {}
    for ref in plan_json.iter_stops(plan):
        if since is not None and ref.date < since:
            continue
        key = (ref.site_code, ref.team, ref.date)
        s = ref.stop
        if key in out:
            cur = out[key]
            cur["sessions"] += 1
            cur["expected"] += int(s.get("expected") or 0)
            cur["depart"] = s.get("depart")
            continue
        out[key] = {"site_code": ref.site_code, "name": s.get("name", ref.site_code),
                    "team": ref.team, "date": ref.date, "order": ref.order,
                    "arrive": s.get("arrive"), "depart": s.get("depart"),
                    "expected": int(s.get("expected") or 0), "sessions": 1}
    return out


def diff_plans(old: dict, new: dict, since: str | None = None) -> dict:
    """Return ``{"added", "dropped", "moved", "retimed", "unchanged"}`` lists of stop dicts
    (only the stops on or after ``since`` when given: a re-plan's churn).

    ``moved`` and ``retimed`` items carry ``before`` and ``after``."""
    a, b = _stops(old, since), _stops(new, since)
    result: dict[str, list] = {k: [] for k in ("added", "dropped", "moved", "retimed", "unchanged")}
    for key in sorted(a.keys() & b.keys()):
        before, after = a[key], b[key]
        same = (before["arrive"], before["depart"], before["expected"]) == (
            after["arrive"], after["depart"], after["expected"])
        if same:
            result["unchanged"].append(after)
        else:
            result["retimed"].append({**after, "before": before, "after": after})
    gone = defaultdict(list)
    for key in sorted(a.keys() - b.keys()):
        gone[key[0]].append(a[key])
    for key in sorted(b.keys() - a.keys()):
        after = b[key]
        if gone.get(key[0]):
            before = gone[key[0]].pop(0)
            result["moved"].append({**after, "before": before, "after": after})
        else:
            result["added"].append(after)
    for left in gone.values():
        result["dropped"].extend(left)
    return result


def churn(d: dict) -> dict:
    """Counts of a diff: kept (unchanged + retimed), moved, added, dropped."""
    return {"kept": len(d["unchanged"]) + len(d["retimed"]), "moved": len(d["moved"]),
            "added": len(d["added"]), "dropped": len(d["dropped"])}
