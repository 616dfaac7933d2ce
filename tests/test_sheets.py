"""Day sheets: real PDFs from WeasyPrint, read back with pypdf; the web routes, the team-lead
page and the CLI commands on a stored plan; a Kotim-sized bundle under 60 s.

Fixture: tests/data/plan_daysheet.json (2 teams × 2 days, fictional 99.01 codes, one name full
of markup) and tests/data/villages_daysheet.geojson (its fictional village squares).
"""

from __future__ import annotations

import copy
import io
import json
import re
import time
from pathlib import Path

import geopandas as gpd
import pypdf
import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.support import Translations

from planner import exports, fmt, plan_json, sheets

DATA = Path(__file__).parent / "data"
PLAN_FILE = DATA / "plan_daysheet.json"
VILLAGES_FILE = DATA / "villages_daysheet.geojson"
MARKUP_NAME = '<b>Desa "X" & <script>alert(1)</script></b>'
BASE_URL = "https://jb.example.id"
A4 = (595.28, 841.89)


# --------------------------------------------------------------------------- helpers
def load_plan() -> dict:
    return json.loads(PLAN_FILE.read_text(encoding="utf-8"))


def squash(text: str) -> str:
    """Text without any whitespace (table cells wrap names over lines)."""
    return "".join(text.split())


def has(text: str, wanted: str) -> bool:
    return squash(wanted) in squash(text)


def pdf_pages(pdf: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    for page in reader.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(w - A4[0]) <= 1 and abs(h - A4[1]) <= 1, (w, h)
    return [p.extract_text() for p in reader.pages]


def text_positions(pdf: bytes, page_no: int) -> list[tuple[float, float, str]]:
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[page_no]
    out = []

    def visit(text, cm, tm, _font, _size):
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            out.append((x, y, text))

    page.extract_text(visitor_text=visit)
    return out


def long_day_plan(n_stops: int) -> dict:
    """The fixture with team 1's first day replaced by ``n_stops`` distinct villages."""
    p = load_plan()
    day = p["teams"][0]["days"][0]
    proto = day["stops"][0]
    day["stops"] = [
        dict(proto, site_code=f"99.01.09.{3000 + i}", name=f"Kampung-{i:02d}-Uji",
             lat=round(-2.30 - 0.004 * i, 6), lon=round(112.70 + 0.003 * (i % 7), 6),
             arrive=f"{8 + i // 6:02d}:{(i % 6) * 10:02d}", depart=f"{8 + i // 6:02d}:{(i % 6) * 10 + 8:02d}",
             pooled=[], no_signal=i % 5 == 0)
        for i in range(n_stops)
    ]
    return p


def english_gettext():
    """A real Babel Translations object (compiled .mo in memory) for the sheet's headings."""
    cat = Catalog(locale="en")
    for msgid, msgstr in {
        "Lembar kerja harian — jemput bola perekaman KTP-el": "Daily work sheet — e-KTP outreach",
        "Ketua tim": "Team leader", "Koordinator": "Coordinator", "Kendaraan": "Vehicle",
        "Alat rekam": "Recording kits", "Desa/kelurahan": "Village", "Tiba": "Arrive",
        "Jumlah direkam": "Recorded", "Keterangan": "Remarks", "Mobil (jalan darat)": "Car (road)",
        "Jumlah: %(n)s lokasi": "Total: %(n)s stops", "Nama dan tanda tangan": "Name and signature",
        "Mulai hari": "Day starts", "Akhir hari": "Day ends", "Jalan": "Road",
        "perjalanan %(t)s": "travel %(t)s", "S": "S", "A": "E", "U": "N",
    }.items():
        cat.add(msgid, msgstr)
    buf = io.BytesIO()
    write_mo(buf, cat)
    buf.seek(0)
    return Translations(buf).gettext


@pytest.fixture(scope="module")
def villages():
    return gpd.read_file(VILLAGES_FILE)


@pytest.fixture(scope="module")
def fixture_pdf(villages):
    return sheets.render_daysheets_pdf(load_plan(), villages, base_url=BASE_URL)


# --------------------------------------------------------------------------- PDF
def test_pdf_one_a4_page_per_team_day_with_selectable_text(fixture_pdf):
    plan = load_plan()
    team_days = plan_json.team_days(plan)
    pages = pdf_pages(fixture_pdf)
    assert len(pages) == len(team_days) == 4
    for text, td in zip(pages, team_days, strict=True):
        flat = squash(text)
        assert squash(f"{td.team['name']} — {fmt.date_long(td.date, 'id')}") in flat
        for s in td.stops:
            assert squash(s["name"]) in flat
            assert has(text, s["arrive"]) and has(text, s["depart"])
        assert has(text, "Ketua tim") and has(text, "Koordinator")
        assert has(text, "Jumlah direkam") and has(text, "Keterangan")
        assert squash(f"{BASE_URL}/t/{plan['plan_id']}/{plan['version']}/{td.team_no}/{td.date}") in flat
    assert has(pages[0], "Selasa, 1 Desember 2026")
    assert has(pages[1], "Rabu, 2 Desember 2026")
    # the name with markup prints literally, once, on its day's page
    assert "<script>alert(1)</script>" in squash(pages[0])
    assert sum(squash(p).count(squash(MARKUP_NAME)) for p in pages) == 1
    # header facts: vehicle, kits, where the day ends (sleeping in a village)
    assert has(pages[0], "Mobil (jalan darat)") and has(pages[2], "Mobil dan perahu")
    assert has(pages[2], "menginap di Karang Lambda")
    assert has(pages[3], "dari tempat menginap: Karang Lambda")
    assert has(pages[0], "Juga melayani: Tanjung Beta (35)")
    assert has(pages[1], "Sekolah") and not has(pages[0], "Tanpa sinyal")
    # numbers and durations in Indonesian (planner.fmt): "58,2 km", "1 jam 29 mnt", "23 mnt"
    assert has(pages[0], "58,2 km · perjalanan 1 jam 29 mnt")
    assert has(pages[0], "Jalan · 14,9 km · 23 mnt")
    assert not any(re.search(r"\b\d+ m\b", p) for p in pages)


def test_html_escapes_untrusted_names(villages):
    html = sheets.render_daysheets_html(load_plan(), villages, base_url=BASE_URL)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<i>lembar</i>" not in html and "<Sungai>" not in html
    assert html.count("<section class=\"sheet\"") == 4
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000') == 4


def test_route_sketch_svg_is_escaped_and_numbered(villages):
    plan = load_plan()
    td = plan_json.get_team_day(plan, 1, "2026-12-01")
    svg = sheets.route_sketch_svg(td, villages)
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)  # well-formed XML
    texts = [e.text for e in root.iter("{http://www.w3.org/2000/svg}text")]
    assert [t for t in texts if t and t.isdigit()][:4] == ["1", "2", "3", "4"]  # 4 legs
    assert "S/A" in texts  # starts and ends at the base
    assert "script" not in svg
    paths = root.findall("{http://www.w3.org/2000/svg}path")
    assert any(p.get("fill") == "#fff2c2" for p in paths)  # route villages filled
    td2 = plan_json.get_team_day(plan, 2, "2026-12-01")
    texts2 = [e.text for e in ET.fromstring(sheets.route_sketch_svg(td2, villages)).iter(
        "{http://www.w3.org/2000/svg}text")]
    assert "S" in texts2 and "A" in texts2  # sleeps elsewhere: separate start and end
    ctx = gpd.GeoDataFrame({"kind": ["river", "road"]}, geometry=gpd.GeoSeries.from_wkt([
        "LINESTRING (112.70 -2.35, 112.90 -2.36)", "LINESTRING (112.70 -2.45, 112.90 -2.40)"]),
        crs="EPSG:4326")
    svg3 = sheets.route_sketch_svg(td, villages, ctx)
    assert 'stroke="#5b8fc7"' in svg3 and 'stroke="#a0785a"' in svg3


def test_long_day_spills_over_pages_without_losing_rows(villages):
    n = 40
    plan = long_day_plan(n)
    pdf = sheets.render_daysheets_pdf(plan, villages, base_url=BASE_URL)
    pages = pdf_pages(pdf)
    team_days = plan_json.team_days(plan)
    assert len(pages) > len(team_days)
    extra = len(pages) - len(team_days) + 1  # pages of the long day
    long_pages, rest = pages[:extra], pages[extra:]
    flat = [squash(p) for p in pages]
    for i in range(n):
        name = f"Kampung-{i:02d}-Uji"
        assert sum(f.count(name) for f in flat) == 1, name
    # the table header repeats on every page of the long day; the totals, QR link and
    # signature lines come once, on its last page
    for p in long_pages:
        assert has(p, "Jumlah direkam")
    assert [has(p, "Ketua tim") for p in long_pages] == [False] * (extra - 1) + [True]
    assert [has(p, "Jumlah: 40 lokasi") for p in long_pages] == [False] * (extra - 1) + [True]
    assert all(has(p, "Ketua tim") for p in rest)
    # rows sit inside the page's content box (12 mm margins), none in the footer area
    margin = 12 / 25.4 * 72
    for k in range(extra):
        for x, y, text in text_positions(pdf, k):
            if has(text, "Kampung-"):
                assert margin - 1 <= y <= A4[1] - margin + 1, (k, y, text)
                assert margin - 1 <= x <= A4[0] - margin, (k, x, text)
    # the running header names the team-day on the continuation pages too
    assert has(long_pages[1], "Tim 1 — Selasa, 1 Desember 2026")


def test_english_headings_with_a_translations_object(villages):
    plan = load_plan()
    pdf = sheets.render_daysheets_pdf(plan, villages, team=1, day="2026-12-01", base_url=BASE_URL,
                                      gettext=english_gettext(), locale="en")
    (text,) = pdf_pages(pdf)
    for heading in ("Team leader", "Coordinator", "Vehicle", "Recorded", "Remarks",
                    "Tuesday, December 1, 2026", "Total: 3 stops", "Car (road)",
                    # numbers and durations in English too (planner.fmt, locale "en")
                    "58.2 km · travel 1 h 29 min", "Road · 14.9 km · 23 min", "S/E", "▲ N"):
        assert has(text, heading), heading
    for indonesian in ("Ketua tim", "Jumlah direkam", "Selasa", "mnt", "58,2", "S/A", "▲ U"):
        assert not has(text, indonesian), indonesian
    assert sheets.translations_for("id") is sheets.identity
    assert callable(sheets.translations_for("en"))


def test_bundles_one_team_or_one_day(villages):
    plan = load_plan()
    team2 = pdf_pages(sheets.render_daysheets_pdf(plan, villages, team="2", base_url=BASE_URL))
    assert len(team2) == 2 and all(has(p, "Tim 2 <Sungai>") for p in team2)
    day2 = pdf_pages(sheets.render_daysheets_pdf(plan, villages, day="2026-12-02", base_url=BASE_URL))
    assert len(day2) == 2 and all(has(p, "Rabu, 2 Desember 2026") for p in day2)
    with pytest.raises(plan_json.SelectionError):
        sheets.render_daysheets_html(plan, villages, team=7, base_url=BASE_URL)


def test_sheet_without_village_outlines(tmp_path):
    plan = load_plan()
    pages = pdf_pages(sheets.render_daysheets_pdf(plan, None, team=1, day="2026-12-02",
                                                  base_url=BASE_URL))
    assert len(pages) == 1 and has(pages[0], "SMAN 1 Padang Tau") and has(pages[0], "Jadwal tetap")


def test_png_of_a_page(fixture_pdf, tmp_path):
    out = sheets.pdf_page_to_png(fixture_pdf, tmp_path / "img" / "daysheet.png", page=1, dpi=40)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert abs(height / width - A4[1] / A4[0]) < 0.01


# --------------------------------------------------------------------------- Kotim size
def test_kotim_shaped_plan_prints_one_a4_page_per_team_day(kotim_dir):
    """The real Kotim villages in a plan-shaped bundle (the PDF time of the full 6 × 10 bundle
    is a benchmark: bench/bench_sheets.py)."""
    from bench.bench_sheets import kotim_shaped_plan

    plan, vil = kotim_shaped_plan(kotim_dir, teams=2, days=3)
    pdf = sheets.render_daysheets_pdf(plan, vil, base_url=BASE_URL)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    team_days = plan_json.team_days(plan)
    assert len(reader.pages) == len(team_days) == 6
    for page, td in zip(reader.pages, team_days, strict=True):
        assert abs(float(page.mediabox.width) - A4[0]) <= 1
        assert abs(float(page.mediabox.height) - A4[1]) <= 1
        text = page.extract_text()
        assert all(has(text, s["name"]) for s in td.stops)
        assert has(text, td.team["name"]) and has(text, "Ketua tim")


def test_kotim_engine_plan_sheets(kotim_dir):
    """A real plan from the engine (validated) prints: one page per team-day with stops
    (all teams on the first day, and every day of the last team, which has a boat)."""
    engine = pytest.importorskip("planner.engine")
    from engine_kotim import kotim_frame, kotim_request

    frame = kotim_frame(kotim_dir)
    inst = engine.build_instance(frame, kotim_request(n_teams=6, days=10))
    plan = engine.solve(inst, time_limit=3, seed=1, workers=1).to_dict()
    assert engine.validate_plan(plan, inst.to_dict()) == []
    first_day = min(td.date for td in plan_json.team_days(plan))
    for selection in ({"day": first_day}, {"team": len(plan["teams"])}):
        team_days = plan_json.team_days(plan, **selection)
        assert team_days
        t0 = time.perf_counter()
        pdf = sheets.render_daysheets_pdf(plan, frame, base_url=BASE_URL, **selection)
        print(f"\nengine plan {selection}: {len(team_days)} team-days → PDF in "
              f"{time.perf_counter() - t0:.1f} s")
        pages = pdf_pages(pdf)
        assert len(pages) == len(team_days)
        for text, td in zip(pages, team_days, strict=True):
            assert all(has(text, s["name"]) for s in td.stops)
            assert has(text, td.team["name"]) and has(text, "Ketua tim")


# --------------------------------------------------------------------------- web + CLI
@pytest.fixture
def stored(app, store_plan_doc):
    """The fixture plan saved as plan 1, version 1, with its villages in the database."""
    from planner import repository

    with app.app_context():
        vil = gpd.read_file(VILLAGES_FILE)
        repository.replace_villages(vil, source_file=VILLAGES_FILE.name, fictional=True)
        return store_plan_doc(load_plan(), "Uji <lembar>")


def test_web_pdf_and_print_view(client, stored):
    pid, ver = stored
    r = client.get(f"/rencana/{pid}/v{ver}/lembar.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert "attachment" in r.headers["Content-Disposition"]
    pages = pdf_pages(r.data)
    assert len(pages) == 4
    # the sheet's link is a signed share link to this team-day on the public base URL
    import re as _re

    from planner import sharing

    html = client.get(f"/rencana/{pid}/v{ver}/lembar?team=1&day=2026-12-01").get_data(as_text=True)
    token = _re.search(r'<div class="url">http://127\.0\.0\.1:5000/s/([^<\s]+)</div>', html).group(1)
    assert squash(f"/s/{token}") in squash(pages[0])
    with client.application.app_context():
        shared = sharing.resolve(client.application.secret_key, token)
    assert (shared.plan_id, shared.version, shared.team_no, shared.date) == (pid, ver, 1, "2026-12-01")
    r = client.get(f"/rencana/{pid}/v{ver}/lembar.pdf?team=2&day=2026-12-02&lang=en")
    (text,) = pdf_pages(r.data)
    assert has(text, "Wednesday, December 2, 2026") and has(text, "Tim 2 <Sungai>")
    r = client.get(f"/rencana/{pid}/v{ver}/lembar?team=1")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.count('<section class="sheet"') == 2
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert "Uji &lt;lembar&gt;" in html


@pytest.mark.parametrize("fmt,mimetype", [
    ("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("gpx", "application/gpx+xml"), ("kml", "application/vnd.google-earth.kml+xml"),
    ("geojson", "application/geo+json")])
def test_web_exports(client, stored, fmt, mimetype):
    pid, ver = stored
    r = client.get(f"/rencana/{pid}/v{ver}/ekspor.{fmt}?team=1&day=2026-12-01")
    assert r.status_code == 200 and r.mimetype == mimetype
    assert f"rencana-rencana{pid}-v{ver}-tim1-2026-12-01.{fmt}" in r.headers["Content-Disposition"]
    if fmt == "gpx":
        import gpxpy

        assert len(gpxpy.parse(r.get_data(as_text=True)).routes) == 1


@pytest.mark.parametrize("url,code", [
    ("/rencana/{pid}/v9/lembar.pdf", 404),
    ("/rencana/99/v1/lembar", 404),
    ("/rencana/{pid}/v{ver}/lembar.pdf?team=5", 404),
    ("/rencana/{pid}/v{ver}/lembar?day=2027-01-04", 404),
    ("/rencana/{pid}/v{ver}/ekspor.docx", 404),
    ("/t/{pid}/{ver}/3/2026-12-01", 404),
    ("/t/{pid}/{ver}/1/2026-12-09", 404),
    ("/t/{pid}/{ver}/1/kemarin", 404),
    ("/t/{pid}/7/1/2026-12-01", 404),
    ("/t/{pid}/{ver}/1/2026-12-09/peta.html", 404),
    ("/rencana/{pid}/v{ver}/lembar?day=2026-13-01", 400),
    ("/rencana/{pid}/v{ver}/lembar.pdf?lang=fr", 400),
    ("/rencana/{pid}/v{ver}/ekspor.csv?day=besok", 400),
])
def test_web_errors_are_pages_not_traces(client, stored, url, code):
    pid, ver = stored
    r = client.get(url.format(pid=pid, ver=ver))
    assert r.status_code == code
    body = r.get_data(as_text=True)
    assert "Traceback" not in body and "Kesalahan" in body


def test_teamlead_page(client, stored):
    pid, ver = stored
    r = client.get(f"/t/{pid}/{ver}/1/2026-12-01")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert '<meta name="viewport"' in html
    assert "Sungai Alpha" in html and "Bukit Eta" in html and "08:23–09:54" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert html.count('class="tl-stop"') == 3
    assert "58,2 km · 1 jam 29 mnt" in html and "Jalan · 14,9 km · 23 mnt" in html
    en = client.get(f"/t/{pid}/{ver}/1/2026-12-01?lang=en").get_data(as_text=True)
    assert "58.2 km · 1 h 29 min" in en and "Road · 14.9 km · 23 min" in en
    links = re.findall(r'href="(https://www\.google\.com/maps/dir/[^"]+)"', html)
    assert len(links) == 1 and "%7C" in links[0]
    assert f"/rencana/{pid}/v{ver}/ekspor.gpx?team=1&amp;day=2026-12-01" in html
    assert f"/rencana/{pid}/v{ver}/ekspor.kml?team=1&amp;day=2026-12-01" in html
    assert f'src="/t/{pid}/{ver}/1/2026-12-01/peta.html"' in html
    m = client.get(f"/t/{pid}/{ver}/1/2026-12-01/peta.html")
    assert m.status_code == 200 and "leaflet" in m.get_data(as_text=True)
    assert "<script>alert(1)" not in m.get_data(as_text=True)


def test_cli_itinerary_and_export(app, runner, stored, tmp_path):
    pid, _ver = stored
    out = tmp_path / "lembar.pdf"
    png = tmp_path / "lembar.png"
    r = runner.invoke(args=["itinerary", "--plan", str(pid), "--team", "2", "--pdf", str(out),
                            "--png", str(png)])
    assert r.exit_code == 0, r.output
    assert len(pdf_pages(out.read_bytes())) == 2 and png.read_bytes()[:4] == b"\x89PNG"
    out_en = tmp_path / "en.pdf"
    r = runner.invoke(args=["itinerary", "--plan-json", str(PLAN_FILE), "--day", "2026-12-01",
                            "--lang", "en", "--pdf", str(out_en)])
    assert r.exit_code == 0, r.output
    texts = pdf_pages(out_en.read_bytes())
    assert len(texts) == 2 and has(texts[0], "Tuesday, December 1, 2026")
    gpx = tmp_path / "r.gpx"
    r = runner.invoke(args=["export", "--plan", str(pid), "--format", "gpx", "--out", str(gpx)])
    assert r.exit_code == 0, r.output
    import gpxpy

    assert len(gpxpy.parse(gpx.read_text()).routes) == 4
    r = runner.invoke(args=["export", "--plan-json", str(PLAN_FILE), "--format", "links"])
    assert r.exit_code == 0 and r.output.count("https://www.google.com/maps/dir/") == 4
    r = runner.invoke(args=["export", "--plan-json", str(PLAN_FILE), "--format", "csv", "--team", "1"])
    assert r.exit_code == 0 and len(r.output.strip().splitlines()) == 1 + 5


@pytest.mark.parametrize("args,message", [
    (["itinerary", "--plan", "42", "--pdf", "x.pdf"], "No finished plan 42"),
    (["itinerary", "--plan", "1", "--version", "3", "--pdf", "x.pdf"], "version 3 of plan 1"),
    (["itinerary", "--plan", "1", "--team", "9", "--pdf", "x.pdf"], "Tim nomor 9"),
    (["itinerary", "--plan", "1", "--day", "2026-02-30", "--pdf", "x.pdf"], "Tanggal tidak sah"),
    (["itinerary", "--plan", "1"], "--pdf"),
    (["export", "--format", "csv"], "--plan"),
    (["export", "--plan", "1", "--format", "xlsx"], "--out"),
])
def test_cli_errors_are_clear(runner, stored, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(args=args)
    assert r.exit_code != 0
    assert message in r.output
    assert "Traceback" not in r.output


def test_cli_bad_plan_json(runner, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = runner.invoke(args=["export", "--plan-json", str(bad), "--format", "csv"])
    assert r.exit_code != 0 and "bukan berkas Plan JSON yang sah" in r.output
    bad.write_text(json.dumps({"hello": 1}))
    r = runner.invoke(args=["export", "--plan-json", str(bad), "--format", "csv"])
    assert r.exit_code != 0 and "Bukan Plan JSON yang sah" in r.output


def test_plan_fixture_is_untouched_by_rendering(villages):
    plan = load_plan()
    before = copy.deepcopy(plan)
    sheets.render_daysheets_html(plan, villages, base_url=BASE_URL)
    exports.to_gpx(plan)
    assert plan == before
