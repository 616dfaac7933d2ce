import pandas as pd
import pytest

from planner import ranking


@pytest.fixture
def frame():
    return pd.DataFrame(
        [
            # code, name, kecamatan, population, obliged, recorded
            ("99.01.01.2001", "A", "K1", 1000, 700, 690),   # 98.6 %, 10 unrecorded
            ("99.01.01.2002", "B", "K1", 2000, 1400, 1120),  # 80 %, 280 unrecorded
            ("99.01.02.2001", "C", "K2", 3000, 2000, 1800),  # 90 %, 200 unrecorded
            ("99.01.02.1001", "D", "K2", 5000, 3500, 3600),  # 102.9 %, 0 unrecorded
            ("99.01.02.2002", "E", "K2", 100, 0, 0),         # nobody obliged
        ],
        columns=["code", "name", "kecamatan", "population", "obliged", "recorded"],
    )


def test_measures(frame):
    m = ranking.add_measures(frame).set_index("name")
    assert m.loc["B", "unrecorded"] == 280
    assert m.loc["D", "unrecorded"] == 0  # floored at 0 above 100 %
    assert m.loc["D", "rate"] == pytest.approx(3600 / 3500, abs=1e-6)
    assert m.loc["E", "rate"] == 1.0
    # 80 % -> gap 0.2 -> unrecorded counted 1 + 2 = 3 times
    assert m.loc["B", "priority"] == pytest.approx(280 * 3)
    assert m.loc["C", "priority"] == pytest.approx(200 * 2)


def test_rank_orders_and_filters(frame):
    r = ranking.rank(frame)
    assert list(r["name"]) == ["B", "C", "A", "E", "D"]  # ties on 0 broken by the lower rate
    assert list(r["rank"]) == [1, 2, 3, 4, 5]
    assert list(ranking.rank(frame, below=0.95)["name"]) == ["B", "C"]
    assert list(ranking.rank(frame, kecamatan="K2")["name"])[0] == "C"
    assert list(ranking.rank(frame, min_unrecorded=100)["name"]) == ["B", "C"]


def test_totals_and_rollup(frame):
    t = ranking.totals(frame)
    assert t["population"] == 11100
    assert t["obliged"] == 7600
    assert t["recorded"] == 7210
    assert t["unrecorded"] == 490  # per-village floor: D's surplus does not offset others
    roll = ranking.rollup(frame).set_index("kecamatan")
    assert roll.loc["K1", "unrecorded"] == 290
    assert roll.loc["K2", "villages"] == 3


def test_records_have_stable_keys(frame):
    recs = ranking.to_records(ranking.rank(frame))
    assert set(recs[0]) >= {"code", "name", "kecamatan", "population", "obliged", "recorded",
                            "unrecorded", "rate", "priority"}
    assert isinstance(recs[0]["population"], int)
