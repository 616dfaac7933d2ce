"""Exports of a plan: CSV/XLSX rows, GPX and KML for phones, GeoJSON for QGIS, Google links.

Everything is read back with a real parser (csv, pandas/openpyxl, gpxpy, ElementTree,
geopandas, urllib) and compared with the Plan JSON fixture (tests/data/plan_daysheet.json,
fictional 99.01 codes, one village name full of markup).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import geopandas as gpd
import gpxpy
import pandas as pd
import pytest

from planner import exports, plan_json

DATA = Path(__file__).parent / "data"
MARKUP_NAME = '<b>Desa "X" & <script>alert(1)</script></b>'


@pytest.fixture
def plan() -> dict:
    return json.loads((DATA / "plan_daysheet.json").read_text(encoding="utf-8"))


def all_stops(plan):
    return [(n, t, d, s) for n, t in enumerate(plan["teams"], start=1)
            for d in t["days"] for s in d["stops"]]


def long_day_plan(plan: dict, n_stops: int) -> dict:
    """The fixture with team 1's first day replaced by ``n_stops`` distinct stops."""
    p = copy.deepcopy(plan)
    day = p["teams"][0]["days"][0]
    proto = day["stops"][0]
    day["stops"] = []
    for i in range(n_stops):
        s = dict(proto, site_code=f"99.01.09.{3000 + i}", name=f"Kampung-{i:02d}-Uji",
                 lat=round(-2.30 - 0.004 * i, 6), lon=round(112.70 + 0.003 * (i % 7), 6),
                 pooled=[])
        day["stops"].append(s)
    return p


# --------------------------------------------------------------------------- selection
def test_selection_by_number_name_and_date(plan):
    assert len(plan_json.team_days(plan)) == 4
    assert [td.team_no for td in plan_json.team_days(plan, team="2")] == [2, 2]
    assert [td.date for td in plan_json.team_days(plan, team="Tim 1")] == ["2026-12-01", "2026-12-02"]
    one = plan_json.team_days(plan, team=2, day="2026-12-02")
    assert len(one) == 1 and one[0].team["name"] == "Tim 2 <Sungai>"
    with pytest.raises(plan_json.SelectionError):
        plan_json.team_days(plan, team=3)
    with pytest.raises(plan_json.SelectionError):
        plan_json.team_days(plan, team="Tim 9")
    with pytest.raises(plan_json.SelectionError):
        plan_json.team_days(plan, day="2027-01-01")
    with pytest.raises(ValueError):
        plan_json.team_days(plan, day="1 Desember")


def test_empty_day_is_skipped_but_exists(plan):
    plan["teams"][0]["days"][1]["stops"] = []
    assert len(plan_json.team_days(plan, team=1)) == 1
    assert plan_json.team_days(plan, team=1, day="2026-12-02") == []
    assert exports.google_maps_links(plan, 1, "2026-12-02") == []


# --------------------------------------------------------------------------- tables
def test_plan_rows_one_per_stop_in_order(plan):
    rows = exports.plan_rows(plan)
    stops = all_stops(plan)
    assert len(rows) == len(stops)
    for row, (n, t, d, s) in zip(rows, stops, strict=True):
        assert (row["team_no"], row["team"], row["date"]) == (n, t["name"], d["date"])
        assert (row["site_code"], row["name"], row["arrive"], row["expected"]) == (
            s["site_code"], s["name"], s["arrive"], s["expected"])
    assert [r["order"] for r in rows if r["team_no"] == 1 and r["date"] == "2026-12-01"] == [1, 2, 3]
    assert "Tanjung Beta" in rows[1]["pooled"]


def test_csv_round_trip_and_formula_guard(plan):
    plan["teams"][1]["days"][0]["stops"][0]["name"] = "=HYPERLINK(\"http://evil\")"
    text = exports.to_csv(plan)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(all_stops(plan))
    assert list(rows[0]) == exports.ROW_COLUMNS
    assert rows[1]["name"] == MARKUP_NAME  # text stays text, nothing stripped
    assert rows[5]["name"] == "'=HYPERLINK(\"http://evil\")"
    assert float(rows[0]["lat"]) == plan["teams"][0]["days"][0]["stops"][0]["lat"]


def test_xlsx_has_all_rows_and_a_sheet_per_team(plan):
    data = exports.to_xlsx(plan)
    book = pd.read_excel(io.BytesIO(data), sheet_name=None)
    assert list(book) == ["Semua", "Tim 1", "Tim 2 <Sungai>"]
    assert len(book["Semua"]) == len(all_stops(plan))
    assert len(book["Tim 1"]) == sum(len(d["stops"]) for d in plan["teams"][0]["days"])
    assert MARKUP_NAME in set(book["Semua"]["name"])
    assert set(book["Tim 2 <Sungai>"]["team_no"]) == {2}


# --------------------------------------------------------------------------- GPX / KML / GeoJSON
def test_gpx_parses_back_to_the_same_points_in_order(plan):
    gpx = gpxpy.parse(exports.to_gpx(plan))
    team_days = plan_json.team_days(plan)
    assert len(gpx.routes) == len(team_days)
    for route, td in zip(gpx.routes, team_days, strict=True):
        want = [(p["lat"], p["lon"]) for p in td.points()]
        got = [(round(p.latitude, 6), round(p.longitude, 6)) for p in route.points]
        assert got == want
        assert route.name == f"{td.team['name']} {td.date}"
    stop_wpts = [w for w in gpx.waypoints if w.type not in ("base", "sleep")]
    assert [w.name.split(". ", 1)[1] for w in stop_wpts] == [s["name"] for *_x, s in all_stops(plan)]
    assert stop_wpts[0].time.isoformat() == "2026-12-01T08:23:00+07:00"
    kinds = {w.type for w in gpx.waypoints}
    assert {"base", "sleep"} <= kinds
    sleep = [w for w in gpx.waypoints if w.type == "sleep"]
    assert len(sleep) == 1 and "Karang Lambda" in sleep[0].name


def test_gpx_and_kml_words_default_to_indonesian(plan):
    gpx = gpxpy.parse(exports.to_gpx(plan, team=2, day="2026-12-02"))
    assert gpx.name == "Rencana demo-fixture v2"
    (route,) = gpx.routes
    assert route.description == "Lokasi: 2"
    assert route.points[0].name == "Mulai: Karang Lambda"
    assert route.points[-1].name == "Akhir: Kantor Disdukcapil (fiktif)"
    descs = [w.description for w in gpx.waypoints if w.type == "village"]
    assert descs == [
        "Tim 2 <Sungai> · 2026-12-02 · Kec. Kecamatan Dua · 08:26–11:20 · 124 orang",
        "Tim 2 <Sungai> · 2026-12-02 · Kec. Kecamatan Dua · 11:46–13:16 · 52 orang · tanpa sinyal"]
    assert {w.name for w in gpx.waypoints if w.type in ("base", "sleep")} == {
        "Basis tim: Kantor Disdukcapil (fiktif)", "Menginap: Karang Lambda"}
    kml = exports.to_kml(plan, team=1, day="2026-12-01")
    assert "juga melayani: Tanjung Beta (35)" in kml and "Rute Tim 1 2026-12-01" in kml
    assert "Mulai: Kantor Disdukcapil (fiktif)" in kml


def test_gpx_for_one_team_day(plan):
    gpx = gpxpy.parse(exports.to_gpx(plan, team=2, day="2026-12-02"))
    assert len(gpx.routes) == 1
    assert len(gpx.routes[0].points) == 2 + len(plan["teams"][1]["days"][1]["stops"])


def test_kml_parses_with_placemarks_and_literal_names(plan):
    root = ET.fromstring(exports.to_kml(plan).encode("utf-8"))
    ns = {"k": exports.KML_NS}
    folders = root.findall(".//k:Folder", ns)
    team_days = plan_json.team_days(plan)
    assert len(folders) == len(team_days)
    for folder, td in zip(folders, team_days, strict=True):
        marks = folder.findall("k:Placemark", ns)
        assert len(marks) == len(td.stops) + 3  # stops, start, end, the route line
        line = folder.find(".//k:LineString/k:coordinates", ns).text.split()
        assert len(line) == len(td.stops) + 2
        lon, lat, _z = (float(x) for x in line[1].split(","))
        assert (round(lat, 6), round(lon, 6)) == (td.stops[0]["lat"], td.stops[0]["lon"])
    names = [e.text for e in root.findall(".//k:Placemark/k:name", ns)]
    assert f"2. {MARKUP_NAME}" in names


def test_geojson_loads_with_geopandas(plan):
    data = exports.to_geojson_text(plan)
    frame = gpd.read_file(io.StringIO(data))
    stops = frame[frame["role"] == "stop"]
    legs = frame[frame["role"] == "leg"]
    assert len(stops) == len(all_stops(plan))
    assert len(legs) == sum(len(td.stops) + 1 for td in plan_json.team_days(plan))
    assert set(stops.geom_type) == {"Point"} and set(legs.geom_type) == {"LineString"}
    first = stops.iloc[0]
    assert (first["team"], str(first["date"])[:10], first["order"], str(first["arrive"])[:5], first["expected"]) == (
        "Tim 1", "2026-12-01", 1, "08:23", 53)
    assert MARKUP_NAME in set(stops["name"])


# --------------------------------------------------------------------------- Google Maps
def _parse_link(url: str):
    parsed = urlparse(url)
    assert (parsed.scheme, parsed.netloc, parsed.path) == ("https", "www.google.com", "/maps/dir/")
    q = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    assert q["api"] == "1" and q["travelmode"] == "driving"

    def pt(s):
        lat, lon = s.split(",")
        return (float(lat), float(lon))

    way = [pt(w) for w in q["waypoints"].split("|")] if "waypoints" in q else []
    return pt(q["origin"]), way, pt(q["destination"])


def test_google_link_has_the_stops_in_order(plan):
    td = plan_json.get_team_day(plan, 1, "2026-12-01")
    links = exports.google_maps_links(plan, 1, "2026-12-01")
    assert len(links) == 1
    origin, way, dest = _parse_link(links[0])
    pts = [(p["lat"], p["lon"]) for p in td.points()]
    assert origin == pts[0] and dest == pts[-1] and way == pts[1:-1]
    assert "Alpha" not in links[0] and "script" not in links[0]  # coordinates only


@pytest.mark.parametrize("n_stops", [9, 10, 25, 40])
def test_google_links_split_and_chain(plan, n_stops):
    p = long_day_plan(plan, n_stops)
    td = plan_json.get_team_day(p, 1, "2026-12-01")
    pts = [(p_["lat"], p_["lon"]) for p_ in td.points()]
    links = exports.google_maps_links(p, 1, "2026-12-01")
    parsed = [_parse_link(u) for u in links]
    assert all(len(way) <= exports.GOOGLE_MAX_WAYPOINTS for _o, way, _d in parsed)
    # chained: each link starts where the previous ended; together they are the whole day
    for (_o1, _w1, d1), (o2, _w2, _d2) in zip(parsed, parsed[1:], strict=False):
        assert o2 == d1
    walked = [parsed[0][0]]
    for _o, way, dest in parsed:
        walked += way + [dest]
    assert walked == pts
    expected_links = -(-(len(pts) - 1) // (exports.GOOGLE_MAX_WAYPOINTS + 1))
    assert len(links) == expected_links
    if n_stops <= exports.GOOGLE_MAX_WAYPOINTS:
        assert len(links) == 1


def test_links_text_and_dispatch(plan):
    text = exports.google_links_text(plan)
    assert text.count("https://www.google.com/maps/dir/") == 4
    assert "Tim 2 <Sungai> — 2026-12-02" in text
    data, mimetype = exports.export_bytes(plan, "gpx", 1)
    assert mimetype == "application/gpx+xml" and len(gpxpy.parse(data.decode()).routes) == 2
    with pytest.raises(ValueError):
        exports.export_bytes(plan, "docx")
