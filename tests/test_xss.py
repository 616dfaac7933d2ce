"""Untrusted names (tests/xss_corpus.py: 15 payloads) as villages, a kecamatan and a team,
through a real plan: the gap view, the plan page, the map documents, the day-sheet PDF and every
export show them as text, and no spreadsheet cell made from them starts a formula."""

from __future__ import annotations

import csv
import io
import json
import re

import openpyxl
import pypdf
import pytest
from xss_corpus import FORMULAS, PAYLOADS, load_hostile_plan

from planner import plan_json

DANGEROUS = re.compile(r"<script>alert|<img src=x|<svg/onload|<iframe src|onmouseover='alert")


@pytest.fixture
def hostile_plan(app):
    return load_hostile_plan(app)


def no_live_payload(html: str) -> None:
    assert not DANGEROUS.search(html), DANGEROUS.search(html).group(0)


def test_pages_show_the_names_as_text(client, hostile_plan):
    pid, ver, _result = hostile_plan
    for url in ("/", "/peta", "/rencana", f"/rencana/{pid}/v{ver}", f"/rencana/{pid}/v{ver}/kemajuan",
                f"/rencana/{pid}/v{ver}/hasil", f"/rencana/{pid}/v{ver}/lembar"):
        r = client.get(url)
        assert r.status_code == 200, url
        html = r.get_data(as_text=True)
        no_live_payload(html)
    gap = client.get("/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in gap
    assert "=HYPERLINK(&#34;http://evil.example" in gap or "=HYPERLINK(&quot;http://evil.example" in gap


def test_map_documents_keep_payloads_in_escaped_json(client, hostile_plan):
    pid, ver, _result = hostile_plan
    for url in ("/peta/map.html", f"/rencana/{pid}/v{ver}/map.html", f"/t/{pid}/{ver}/1/2026-12-07/peta.html"):
        r = client.get(url)
        if r.status_code == 404:  # team 1 may have no stops that day
            continue
        html = r.get_data(as_text=True)
        assert html.count("</script>") == html.count("<script")  # no payload closes a script
        no_live_payload(html)


def test_day_sheets_print_the_names_literally(client, hostile_plan):
    pid, ver, result = hostile_plan
    pdf = client.get(f"/rencana/{pid}/v{ver}/lembar.pdf").data
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    flat = re.sub(r"\s+", "", text.replace("\x00", ""))
    printed = 0
    for ref in plan_json.iter_stops(result):
        name = re.sub(r"\s+", "", ref.stop["name"])
        if name[:12] in flat:
            printed += 1
    assert printed >= 8, (printed, flat[:3000])
    assert re.sub(r"\s+", "", "<script>alert(1)</script>") in flat


def _csv_cells(text: str):
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
        yield from row


def _xlsx_cells(data: bytes):
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            yield from (c for c in row if isinstance(c, str))


def test_exports_never_start_a_formula(client, hostile_plan):
    pid, ver, _result = hostile_plan
    cells = []
    cells += _csv_cells(client.get(f"/rencana/{pid}/v{ver}/ekspor.csv").get_data(as_text=True))
    cells += _xlsx_cells(client.get(f"/rencana/{pid}/v{ver}/ekspor.xlsx").data)
    cells += _csv_cells(client.get("/export.csv").get_data(as_text=True))
    cells += _xlsx_cells(client.get("/export.xlsx").data)
    cells += _csv_cells(client.get("/admin/audit.csv").get_data(as_text=True))
    def number(c):
        try:
            float(c)
            return True
        except ValueError:
            return False

    starts = [c for c in cells if c and c[0] in "=+-@" and not number(c)]
    assert not starts, starts[:5]
    for formula in FORMULAS:  # the names are there, made inert with a leading apostrophe
        assert any(c == "'" + formula for c in cells), formula
    # GPX/KML/GeoJSON: XML and JSON writers escape the text
    gpx = client.get(f"/rencana/{pid}/v{ver}/ekspor.gpx").get_data(as_text=True)
    assert "<script>" not in gpx and "&lt;script&gt;" in gpx
    kml = client.get(f"/rencana/{pid}/v{ver}/ekspor.kml").get_data(as_text=True)
    assert "<script>" not in kml
    geo = json.loads(client.get(f"/rencana/{pid}/v{ver}/ekspor.geojson").get_data(as_text=True))
    names = {f["properties"].get("name") for f in geo["features"]}
    assert names & set(PAYLOADS)
