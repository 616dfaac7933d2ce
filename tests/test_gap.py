"""The gap view (home page), its exports and `planner rank` on the fictional demo."""

import io
import json

import pandas as pd

from planner import ranking, repository


def test_home_shows_demo_totals_and_ranking(demo_app, client):
    html = client.get("/").get_data(as_text=True)
    assert 'id="total-population">443.033<' in html  # the published Kotim totals
    assert 'id="total-obliged">316.474<' in html
    assert "FIKTIF" in html
    with demo_app.app_context():
        ranked = ranking.rank(repository.villages_frame().drop(columns="geometry"))
    first = ranked.iloc[0]
    rows = html.split('<tbody>')[1]
    assert rows.index(f'id="v-{first.code}"') < rows.index(f'id="v-{ranked.iloc[1].code}"')


def test_filters(demo_app, client):
    with demo_app.app_context():
        frame = repository.villages_frame().drop(columns="geometry")
    kec = sorted(frame["kecamatan"].unique())[0]
    html = client.get("/", query_string={"kecamatan": kec, "below": "95"}).get_data(as_text=True)
    expected = ranking.rank(frame, kecamatan=kec, below=0.95)
    assert html.count('data-code="') == len(expected)
    # "0.95" and "95" mean the same; nonsense is ignored, not a 500
    assert client.get("/?below=0.95").status_code == 200
    assert client.get("/?below=abc&min_unrecorded=-3").status_code == 200


def test_exports(demo_app, client):
    r = client.get("/export.csv?below=90")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    df = pd.read_csv(io.BytesIO(r.data))
    assert list(df.columns) == ranking.RANK_COLUMNS
    assert (df["rate"] < 0.90).all() and len(df) > 0
    r = client.get("/export.xlsx")
    x = pd.read_excel(io.BytesIO(r.data))
    assert len(x) == 185 and x["population"].sum() == 443033


def test_rank_cli_json_csv_and_table(demo_app, runner):
    r = runner.invoke(args=["rank", "--below", "0.95", "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data and all(v["rate"] < 0.95 for v in data)
    assert set(data[0]) >= {"code", "name", "kecamatan", "population", "obliged", "recorded",
                            "unrecorded", "rate", "priority"}
    assert [v["priority"] for v in data] == sorted((v["priority"] for v in data), reverse=True)
    r = runner.invoke(args=["rank", "--format", "csv", "--limit", "5"])
    assert r.exit_code == 0 and len(r.output.strip().splitlines()) == 6
    r = runner.invoke(args=["rank", "--limit", "3"])
    assert "FIKTIF" in r.output and "443.033" in r.output  # Indonesian by default
    r = runner.invoke(args=["rank", "--limit", "3", "--lang", "en"])
    assert "443,033" in r.output and "443.033" not in r.output


def test_rank_without_data_is_a_message(runner):
    r = runner.invoke(args=["rank"])
    assert r.exit_code != 0
    assert "No data yet" in r.output and "Traceback" not in r.output
