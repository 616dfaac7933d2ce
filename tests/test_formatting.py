"""Numbers, percentages, dates and durations in the reader's language (``planner.fmt``), and
that every output people read uses them: day-sheet PDFs (read back with pypdf), the team-lead
page and the field pages (Flask test client, ``?lang=``), GPX/KML exports (CLI and web).

English shows ``1,234`` / ``58.2 km`` / ``1 h 29 min``, Indonesian ``1.234`` / ``58,2 km`` /
``1 jam 29 mnt``; minutes are never written "m". CSV stays raw data in every language.

Fixture: tests/data/plan_daysheet.json with one stop raised to 1 234 people, so thousands
separators show (team 1, 2026-12-01: 1 431 people, 58.2 km, 89 travel minutes).
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import gpxpy
import pypdf
import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.support import Translations

from planner import exports, fmt, plan_json, sheets

DATA = Path(__file__).parent / "data"
PLAN_FILE = DATA / "plan_daysheet.json"
BASE_URL = "https://jb.example.id"
#: A duration written with a bare "m" (the old "23 m" / "1 j 29 m"): never again.
BARE_M = re.compile(r"\b\d+ m\b")
BIG = 1234  # expected people of team 1's second stop on 2026-12-01 in ``big_plan``
#: English of the msgids the exports and the sketch use (what the catalogue should say).
ENGLISH = {
    "orang": "people", "Kec.": "Kec.", "tanpa sinyal": "no signal",
    "juga melayani:": "also serves:", "Rencana %(id)s": "Plan %(id)s",
    "Basis tim: %(name)s": "Team base: %(name)s", "Menginap: %(name)s": "Overnight: %(name)s",
    "Mulai: %(name)s": "Start: %(name)s", "Akhir: %(name)s": "End: %(name)s",
    "Lokasi: %(n)s": "Stops: %(n)s", "Rute %(team)s %(date)s": "Route %(team)s %(date)s",
    "S": "S", "A": "E", "U": "N", "Sketsa rute": "Route sketch",
}


# --------------------------------------------------------------------------- helpers
def big_plan() -> dict:
    plan = json.loads(PLAN_FILE.read_text(encoding="utf-8"))
    plan["teams"][0]["days"][0]["stops"][1]["expected"] = BIG
    return plan


def gettext_of(messages: dict[str, str]):
    """A real Babel Translations object (compiled .mo in memory) for ``messages``."""
    cat = Catalog(locale="en")
    for msgid, msgstr in messages.items():
        cat.add(msgid, msgstr)
    buf = io.BytesIO()
    write_mo(buf, cat)
    buf.seek(0)
    return Translations(buf).gettext


def squash(text: str) -> str:
    return "".join(text.split())


def pdf_text(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def page_text(html: str) -> str:
    """What a reader sees of an HTML page: no style/script blocks, no tags or attributes."""
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return re.sub(r"<[^>]+>", " ", html)


# --------------------------------------------------------------------------- planner.fmt
@pytest.mark.parametrize("fn,args,id_text,en_text", [
    (fmt.integer, (12345,), "12.345", "12,345"),
    (fmt.integer, (1234567.4,), "1.234.567", "1,234,567"),
    (fmt.decimal, (12345.67,), "12.345,7", "12,345.7"),
    (fmt.decimal, (58.2, 2), "58,20", "58.20"),
    (fmt.decimal, (0.5, 0), "0", "0"),
    (fmt.percent, (0.954,), "95,4%", "95.4%"),
    (fmt.percent, (1,), "100,0%", "100.0%"),
    (fmt.km, (1234.56,), "1.234,6 km", "1,234.6 km"),
    (fmt.rupiah, (1234567,), "Rp 1.234.567", "Rp 1,234,567"),
    (fmt.duration, (80,), "1 jam 20 mnt", "1 h 20 min"),
    (fmt.duration, (45,), "45 mnt", "45 min"),
    (fmt.duration, (60,), "1 jam 0 mnt", "1 h 0 min"),
    (fmt.duration, (44.6,), "45 mnt", "45 min"),
    (fmt.duration, (0,), "0 mnt", "0 min"),
    (fmt.duration, (-80,), "-1 jam 20 mnt", "-1 h 20 min"),
    (fmt.duration, (60 * 1000 + 5,), "1.000 jam 5 mnt", "1,000 h 5 min"),
    (fmt.date_long, ("2026-12-01",), "Selasa, 1 Desember 2026", "Tuesday, December 1, 2026"),
    (fmt.date_long, (dt.date(2026, 12, 2),), "Rabu, 2 Desember 2026", "Wednesday, December 2, 2026"),
    (fmt.date_long, (dt.datetime(2026, 12, 1, 23, 59),), "Selasa, 1 Desember 2026",
     "Tuesday, December 1, 2026"),
    (fmt.date_medium, ("2026-12-01",), "1 Des 2026", "Dec 1, 2026"),
    (fmt.datetime_short, (dt.datetime(2026, 12, 1, 9, 5),), "1 Des 2026 09:05", "Dec 1, 2026 09:05"),
])
def test_formats_for_each_locale(fn, args, id_text, en_text):
    value, *rest = args
    assert fn(value, "id", *rest) == id_text
    assert fn(value, "en", *rest) == en_text


def test_minutes_are_mnt_or_min_never_m():
    assert fmt.minutes_unit("id") == "mnt" and fmt.minutes_unit("en") == "min"
    for minutes in (0, 1, 23, 59, 60, 89, 125, 600):
        for loc in ("id", "en"):
            assert not BARE_M.search(fmt.duration(minutes, loc)), (minutes, loc)


def test_locale_spellings_and_default():
    assert fmt.integer(1234, "en_US") == fmt.integer(1234, "en-GB") == "1,234"
    assert fmt.integer(1234, "id_ID") == fmt.integer(1234) == fmt.integer(1234, "") == "1.234"
    assert fmt.duration(80) == "1 jam 20 mnt"  # Indonesian unless told otherwise
    assert fmt.date_long("2026-12-01") == "Selasa, 1 Desember 2026"


@pytest.mark.parametrize("fn", [fmt.integer, fmt.decimal, fmt.percent, fmt.km, fmt.rupiah,
                                fmt.duration, fmt.date_long, fmt.date_medium])
@pytest.mark.parametrize("bad", [None, "", "abc", float("nan"), float("inf"), [], {}])
def test_invalid_input_gives_a_dash(fn, bad):
    for loc in ("id", "en"):
        assert fn(bad, loc) == fmt.MISSING == "–"


def test_invalid_dates_and_timestamps_give_a_dash():
    for bad in ("kemarin", "2026-13-01", "01/12/2026", "2026-02-30"):
        assert fmt.date_long(bad, "en") == fmt.date_medium(bad, "id") == "–"
    assert fmt.datetime_short(None, "id") == "–"


def test_numbers_given_as_text_are_formatted():
    assert fmt.integer("1234", "id") == "1.234"
    assert fmt.decimal("58.25", "en", 2) == "58.25"


# --------------------------------------------------------------------------- day sheets
@pytest.fixture(scope="module")
def sheet_pdfs() -> dict[str, str]:
    """The text of team 1's day sheet for 2026-12-01, per locale, with the real catalogue."""
    plan = big_plan()
    return {loc: pdf_text(sheets.render_daysheets_pdf(
        plan, None, team=1, day="2026-12-01", base_url=BASE_URL,
        gettext=sheets.translations_for(loc), locale=loc)) for loc in ("id", "en")}


def test_english_day_sheet_pdf_has_english_numbers(sheet_pdfs):
    text = squash(sheet_pdfs["en"])
    for wanted in ("1,234", "1,431", "58.2km", "1h29min", "14.9km", "23min",
                   "Road·14.9km·23min", "Tuesday,December1,2026"):  # 1,431 = 53 + 1,234 + 144
        assert wanted in text, wanted
    for indonesian in ("1.234", "1.431", "58,2", "14,9", "mnt", "1jam"):
        assert indonesian not in text, indonesian
    assert not BARE_M.search(sheet_pdfs["en"])


def test_indonesian_day_sheet_pdf_has_indonesian_numbers(sheet_pdfs):
    text = squash(sheet_pdfs["id"])
    for wanted in ("1.234", "1.431", "58,2km", "1jam29mnt", "14,9km", "23mnt",
                   "Jalan·14,9km·23mnt", "Selasa,1Desember2026", "Jumlah:3lokasi"):
        assert wanted in text, wanted
    for english in ("1,234", "1,431", "58.2km", "14.9km", "min", "1h29"):
        assert english not in text, english
    assert not BARE_M.search(sheet_pdfs["id"])


@pytest.mark.parametrize("loc", ["id", "en"])
def test_day_sheet_html_has_no_bare_m_durations(loc):
    plan = big_plan()
    html = sheets.render_daysheets_html(plan, None, base_url=BASE_URL,
                                        gettext=sheets.translations_for(loc), locale=loc)
    text = page_text(html)
    assert not BARE_M.search(text), BARE_M.search(text)
    assert ("mnt" in text) == (loc == "id") and (" min" in text) == (loc == "en")


def test_sheet_model_formats_every_number():
    plan = big_plan()
    td = plan_json.get_team_day(plan, 1, "2026-12-01")
    for loc, people, km, travel, expected, served in (
            ("id", "1.431", "58,2 km", "1 jam 29 mnt", "1.234", "Tanjung Beta (35)"),
            ("en", "1,431", "58.2 km", "1 h 29 min", "1,234", "Tanjung Beta (35)")):
        m = sheets.sheet_model(plan, td, base_url=BASE_URL, locale=loc, with_sketch=False,
                               with_qr=False, gettext=sheets.translations_for(loc))
        assert m["totals"] == {"stops": "3", "people": people, "km": km, "travel": travel}
        assert [r["expected"] for r in m["rows"]] == ["53", expected, "144"]
        assert m["kits"] == "3"
        assert any(served in n for n in m["rows"][1]["notes"])
        assert m["rows"][0]["leg"].endswith(("14,9 km · 23 mnt", "14.9 km · 23 min"))
        assert m["to_end"]["leg"].endswith(fmt.km(17.7, loc) + " · " + fmt.duration(27, loc))


def test_sketch_letters_and_scale_bar_in_english():
    plan = big_plan()
    texts = {}
    for loc, gettext in (("id", sheets.identity), ("en", gettext_of(ENGLISH))):
        for team in (1, 2):
            td = plan_json.get_team_day(plan, team, "2026-12-01")
            svg = sheets.route_sketch_svg(td, gettext=gettext, locale=loc)
            root = ET.fromstring(svg)
            texts[loc, team] = [e.text for e in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "S/A" in texts["id", 1] and "▲ U" in texts["id", 1]
    assert {"S", "A"} <= set(texts["id", 2])
    assert "S/E" in texts["en", 1] and "▲ N" in texts["en", 1] and "S/A" not in texts["en", 1]
    assert {"S", "E"} <= set(texts["en", 2]) and "A" not in texts["en", 2]
    assert all(t.endswith(" km") for t in texts["en", 1] if "km" in t)
    # the scale bar: as many decimals as the 1-2-5 number needs, in the locale's spelling
    assert [sheets._fmt_km(x, "id") for x in (0.05, 0.5, 2, 10, 200)] == [
        "0,05 km", "0,5 km", "2 km", "10 km", "200 km"]
    assert [sheets._fmt_km(x, "en") for x in (0.05, 0.5, 2, 1000)] == [
        "0.05 km", "0.5 km", "2 km", "1,000 km"]


def test_day_sheet_legend_letters_follow_the_language():
    html = sheets.render_daysheets_html(big_plan(), None, team=1, day="2026-12-01",
                                        base_url=BASE_URL, gettext=gettext_of(ENGLISH), locale="en")
    assert '<span class="lg-start">S</span>' in html and '<span class="lg-start">E</span>' in html
    assert '<span class="lg-start">A</span>' not in html


# --------------------------------------------------------------------------- exports
def test_gpx_and_kml_text_through_gettext_and_numbers_through_fmt():
    plan = big_plan()
    english = gettext_of(ENGLISH)
    gpx = exports.to_gpx(plan, gettext=english, locale="en")
    kml = exports.to_kml(plan, gettext=english, locale="en")
    for text in (gpx, kml):
        for indonesian in ("orang", "tanpa sinyal", "juga melayani", "Basis", "Menginap", "Mulai",
                           "Akhir", "Lokasi", "Rencana", "Rute", "1.234"):
            assert indonesian not in text, indonesian
        assert "1,234 people" in text and "Plan demo-fixture v2" in text
        assert "Start: Kantor Disdukcapil (fiktif)" in text and "End: Karang Lambda" in text
    parsed = gpxpy.parse(gpx)
    assert [r.description for r in parsed.routes] == ["Stops: 3", "Stops: 2", "Stops: 2", "Stops: 2"]
    assert {w.name for w in parsed.waypoints if w.type in ("base", "sleep")} == {
        "Team base: Kantor Disdukcapil (fiktif)", "Overnight: Karang Lambda"}
    assert "Route Tim 1 2026-12-01" in kml
    # the defaults are the Indonesian msgids with Indonesian numbers
    gpx_id = exports.to_gpx(plan)
    assert "1.234 orang" in gpx_id and "Mulai: Kantor Disdukcapil (fiktif)" in gpx_id
    assert "Rencana demo-fixture v2" in gpx_id and "1,234" not in gpx_id


def test_csv_and_geojson_keep_raw_numbers_in_every_language():
    plan = big_plan()
    for loc in ("id", "en"):
        data, _mime = exports.export_bytes(plan, "csv", gettext=sheets.translations_for(loc), locale=loc)
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        assert rows[1]["expected"] == str(BIG) and rows[0]["km_from_prev"] == "14.9"
        assert rows[1]["pooled"] == "99.01.01.2002 Tanjung Beta (35)"
        data, _mime = exports.export_bytes(plan, "geojson", locale=loc)
        feats = json.loads(data)["features"]
        assert BIG in [f["properties"].get("expected") for f in feats]


def test_cli_gpx_in_english_and_indonesian(runner, tmp_path):
    plan_file = tmp_path / "big.json"
    plan_file.write_text(json.dumps(big_plan()), encoding="utf-8")
    out = {}
    for lang in ("id", "en"):
        target = tmp_path / f"r-{lang}.gpx"
        r = runner.invoke(args=["export", "--plan-json", str(plan_file), "--format", "gpx",
                                "--lang", lang, "--out", str(target)])
        assert r.exit_code == 0, r.output
        out[lang] = target.read_text(encoding="utf-8")
    en = gpxpy.parse(out["en"])
    assert en.name == "Plan demo-fixture v2"
    descs = [w.description or "" for w in en.waypoints]
    assert any("1,234 people" in d and "also serves: Tanjung Beta (35)" in d for d in descs)
    assert any(d.endswith("no signal") for d in descs)
    for indonesian in ("orang", "tanpa sinyal", "juga melayani", "Rencana", "1.234"):
        assert indonesian not in out["en"], indonesian
    assert "1.234 orang" in out["id"] and "juga melayani: Tanjung Beta (35)" in out["id"]
    assert "tanpa sinyal" in out["id"] and "people" not in out["id"]
    r = runner.invoke(args=["export", "--plan-json", str(plan_file), "--format", "kml", "--lang", "en"])
    assert r.exit_code == 0 and "1,234 people" in r.output and "Plan demo-fixture v2" in r.output
    r = runner.invoke(args=["export", "--plan-json", str(plan_file), "--format", "gpx", "--lang", "fr"])
    assert r.exit_code != 0


# --------------------------------------------------------------------------- web pages
@pytest.fixture
def stored_big(app, store_plan_doc):
    """``big_plan`` stored as version 1, and version 2 without the 1 234-people stop."""
    from planner import plan_store
    from planner.extensions import db

    with app.app_context():
        pid, ver = store_plan_doc(big_plan(), "Uji format")
        v1 = plan_store.get_version(pid, ver)
        doc = copy.deepcopy(v1.result)
        del doc["teams"][0]["days"][0]["stops"][1]
        v2 = plan_json.finalise(doc, plan_id=pid, version=2, plan_name="Uji format",
                                dataset=doc.get("dataset", ""), dataset_id=None,
                                params=doc["params"], fictional=True)
        plan_store.add_version(v1.plan, 2, v2["params"], v2)
        db.session.commit()
        return pid, ver


def test_web_day_sheet_pdf_and_gpx_follow_the_request_language(client, stored_big):
    pid, ver = stored_big
    sel = "team=1&day=2026-12-01"
    en = squash(pdf_text(client.get(f"/rencana/{pid}/v{ver}/lembar.pdf?{sel}&lang=en").data))
    assert "1,431" in en and "58.2km" in en and "1h29min" in en and "mnt" not in en
    idn = squash(pdf_text(client.get(f"/rencana/{pid}/v{ver}/lembar.pdf?{sel}&lang=id").data))
    assert "1.431" in idn and "58,2km" in idn and "1jam29mnt" in idn and "1,431" not in idn
    r = client.get(f"/rencana/{pid}/v{ver}/ekspor.gpx?{sel}&lang=en")
    assert r.status_code == 200
    gpx = r.get_data(as_text=True)
    assert "1,234 people" in gpx and "also serves:" in gpx and f"Plan {pid} v{ver}" in gpx
    assert "orang" not in gpx and "Rencana" not in gpx
    gpx = client.get(f"/rencana/{pid}/v{ver}/ekspor.gpx?{sel}&lang=id").get_data(as_text=True)
    assert "1.234 orang" in gpx and f"Rencana {pid} v{ver}" in gpx
    csv_en = client.get(f"/rencana/{pid}/v{ver}/ekspor.csv?{sel}&lang=en").get_data(as_text=True)
    assert f",{BIG}," in csv_en and "1,234" not in csv_en


@pytest.mark.parametrize("loc,people,km,travel,total", [
    ("id", "1.234", "58,2 km", "1 jam 29 mnt", "1.431"),
    ("en", "1,234", "58.2 km", "1 h 29 min", "1,431")])
def test_teamlead_page_numbers(client, stored_big, loc, people, km, travel, total):
    pid, ver = stored_big
    r = client.get(f"/t/{pid}/{ver}/1/2026-12-01?lang={loc}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert f">{people}</td>" in html and f">{total}</td>" in html
    assert f"{km} · {travel}" in html
    assert f"{fmt.km(14.9, loc)} · {fmt.duration(23, loc)}" in html
    assert not BARE_M.search(page_text(html))


@pytest.mark.parametrize("loc", ["id", "en"])
def test_field_pages_numbers_and_dates(client, stored_big, loc):
    pid, ver = stored_big
    planned = fmt.integer(1073 - 190 + BIG, loc)
    day = fmt.date_medium("2026-12-01", loc)
    progress = client.get(f"/rencana/{pid}/v{ver}/kemajuan?lang={loc}").get_data(as_text=True)
    assert f'id="planned">{planned}<' in progress and 'id="achieved">0<' in progress
    assert fmt.integer(BIG + 53 + 144, loc) in progress
    assert f'<time datetime="2026-12-01">{day}</time>' in progress
    results = client.get(f"/rencana/{pid}/v{ver}/hasil?team=Tim 1&day=2026-12-01&lang={loc}")
    html = results.get_data(as_text=True)
    assert results.status_code == 200
    assert f'<option value="2026-12-01" selected>{day}</option>' in html
    assert re.search(rf'<td class="num"[^>]*>{re.escape(fmt.integer(BIG, loc))}</td>', html)
    diff = client.get(f"/rencana/{pid}/beda/1/2?lang={loc}")
    html_diff = diff.get_data(as_text=True)
    assert diff.status_code == 200 and 'id="n-dropped">1<' in html_diff
    assert f'<time datetime="2026-12-01">{day}</time>' in html_diff
    assert f'<td class="num">{fmt.integer(BIG, loc)}</td>' in html_diff
    for page in (progress, html, html_diff):
        assert not BARE_M.search(page_text(page))
    other = fmt.integer(BIG, "en" if loc == "id" else "id")
    assert other not in progress + html + html_diff
