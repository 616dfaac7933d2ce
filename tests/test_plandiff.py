import copy

from planner.plandiff import diff_plans


def _plan():
    def stop(code, arrive, depart, expected):
        return {"site_code": code, "name": code, "arrive": arrive, "depart": depart, "expected": expected}

    return {"teams": [
        {"name": "Tim 1", "days": [
            {"date": "2026-12-01", "stops": [stop("A", "09:00", "11:00", 100), stop("B", "12:00", "15:00", 200)]},
            {"date": "2026-12-02", "stops": [stop("C", "09:00", "15:00", 300)]},
        ]},
        {"name": "Tim 2", "days": [
            {"date": "2026-12-01", "stops": [stop("D", "09:00", "10:00", 50)]},
        ]},
    ]}


def test_identical_plans_have_no_changes():
    d = diff_plans(_plan(), _plan())
    assert [len(d[k]) for k in ("added", "dropped", "moved", "retimed")] == [0, 0, 0, 0]
    assert len(d["unchanged"]) == 4


def test_added_dropped_moved_retimed():
    old, new = _plan(), copy.deepcopy(_plan())
    # C moves to Tim 2 on 2026-12-02; D dropped; E added; A retimed
    new["teams"][0]["days"][1]["stops"] = []
    new["teams"][1]["days"] = [
        {"date": "2026-12-02", "stops": [{"site_code": "C", "name": "C", "arrive": "09:30",
                                          "depart": "15:00", "expected": 300},
                                         {"site_code": "E", "name": "E", "arrive": "15:10",
                                          "depart": "15:50", "expected": 20}]}]
    new["teams"][0]["days"][0]["stops"][0]["arrive"] = "09:15"
    d = diff_plans(old, new)
    assert [s["site_code"] for s in d["added"]] == ["E"]
    assert [s["site_code"] for s in d["dropped"]] == ["D"]
    assert [(m["site_code"], m["before"]["team"], m["after"]["team"]) for m in d["moved"]] == [
        ("C", "Tim 1", "Tim 2")]
    assert [s["site_code"] for s in d["retimed"]] == ["A"]
    assert [s["site_code"] for s in d["unchanged"]] == ["B"]


def test_split_visits_are_compared_per_visit():
    old = {"teams": [{"name": "T", "days": [
        {"date": "2026-12-01", "stops": [{"site_code": "X", "arrive": "08:30", "depart": "16:00", "expected": 400}]},
        {"date": "2026-12-02", "stops": [{"site_code": "X", "arrive": "08:30", "depart": "12:00", "expected": 150}]},
    ]}]}
    new = copy.deepcopy(old)
    new["teams"][0]["days"].pop()
    d = diff_plans(old, new)
    assert [(s["site_code"], s["date"]) for s in d["dropped"]] == [("X", "2026-12-02")]
    assert len(d["unchanged"]) == 1


def test_like_with_like_sessions_of_a_day_are_one_stop():
    """Two sessions of one village on one team-day (a split visit back to back) are one stop;
    the same village, team and date in both versions is the same stop."""
    day = {"date": "2026-12-01", "stops": [
        {"site_code": "X", "arrive": "08:30", "depart": "12:00", "expected": 150},
        {"site_code": "X", "arrive": "12:00", "depart": "16:00", "expected": 160}]}
    old = {"teams": [{"name": "T", "days": [day]}]}
    new = {"teams": [{"name": "T", "days": [{"date": "2026-12-01", "stops": [
        {"site_code": "X", "arrive": "08:30", "depart": "16:00", "expected": 310}]}]}]}
    d = diff_plans(old, new)
    assert [len(d[k]) for k in ("added", "dropped", "moved", "retimed")] == [0, 0, 0, 0]
    assert [s["site_code"] for s in d["unchanged"]] == ["X"]
    assert diff_plans(old, old)["unchanged"][0]["sessions"] == 2


def test_an_unchanged_replan_has_an_empty_diff():
    from planner import plan_json

    old = _plan()
    for t in old["teams"]:
        t.setdefault("mode", "road")
        for dd in t["days"]:
            dd.setdefault("totals", {})
    merged = plan_json.merge_replan(old, copy.deepcopy(old), "2026-12-02")
    d = diff_plans(old, merged)
    assert [len(d[k]) for k in ("added", "dropped", "moved", "retimed")] == [0, 0, 0, 0]
