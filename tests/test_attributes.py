"""Village attributes (issue 10, items 4 and 5): access, signal, lodging, note and the stop point
edited on the village page, on the map (the stop marker's JSON endpoint) and in bulk (CSV/XLSX
through the import page and ``planner import-attributes``); access hints from the geography,
applied only when confirmed; the set-up checklist's counts. Real database, real files, real
HTTP (Flask test client), the real sandbox."""

from __future__ import annotations

import html
import json
import re
from io import BytesIO

import geopandas as gpd
import pytest
from fixtures_planning import tiny_regency
from shapely.geometry import LineString, box

from planner import attributes, audit, importer
from planner.extensions import db
from planner.importer import sandbox
from planner.importer.attributes import CLEAR, read_attributes
from planner.models import AuditEvent, Village

A, C, T, V = "admin", "coordinator", "team_lead", "viewer"
HOSTILE_CODE = "99.01.01.2001"  # the tiny regency's village with a hostile name, at (-2.40, 112.90)
RIVER_CODE = "99.01.01.2004"    # river-only in the tiny regency
CODE2 = "99.01.02.2002"         # at (-2.30, 113.05)


def state(app, code: str) -> dict:
    with app.app_context():
        v = attributes.get(code)
        out = {**attributes.snapshot(v), "attributes_at": v.attributes_at,
               "attributes_by": v.attributes_by}
        db.session.remove()
        return out


def all_states(app) -> dict:
    with app.app_context():
        out = {v.code: attributes.snapshot(v) for v in db.session.query(Village).all()}
        db.session.remove()
        return out


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.query(AuditEvent).filter_by(action=action).order_by(AuditEvent.id).all()
        db.session.expunge_all()
        return rows


def write_xlsx(path, rows: list[list]) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)


# --------------------------------------------------------------------------- the reader
def test_reader_reads_an_indonesian_csv(tmp_path):
    path = tmp_path / "atribut.csv"
    path.write_text(
        "DAFTAR ATRIBUT DESA (UJI)\n"
        "No;Kode;Nama desa;Akses;Sinyal;Menginap;Catatan\n"
        "1;99.01.01.2001;Desa A;Sungai;tidak;Kantor Kecamatan;dermaga di hilir\n"
        "2;9901022002;Desa B;darat dan sungai;Ya;kosong;-\n"
        "3;99.01.03.2003;Desa C;;;penginapan;\n"
        ";;catatan kaki tanpa kode;;;;\n", encoding="utf-8")
    t = read_attributes(path)
    assert t.given == ["access", "no_signal", "lodging", "note"]
    a, b, c = t.rows
    assert a == {"row": 3, "code": "99.01.01.2001", "access": "river", "no_signal": True,
                 "lodging": "kecamatan_office", "note": "dermaga di hilir"}
    assert b["code"] == "99.01.02.2002" and b["access"] == "both" and b["no_signal"] is False
    assert b["lodging"] == CLEAR and b["note"] == CLEAR  # "kosong" and "-" clear
    assert c["access"] is None and c["no_signal"] is None and c["note"] is None  # blank: unchanged
    assert c["lodging"] == "guest_house"


def test_reader_reads_an_english_xlsx(tmp_path):
    path = tmp_path / "attributes.xlsx"
    write_xlsx(path, [["code", "village", "access", "signal", "lodging", "note"],
                      ["99.01.01.2001", "A", "river", "no", "health centre", "by boat only"],
                      ["99.01.02.2002", "B", "road", "yes", "other", None],
                      ["99.01.03.2003", "C", None, None, "none", None]])
    t = read_attributes(path)
    assert [(r["access"], r["no_signal"], r["lodging"]) for r in t.rows] == [
        ("river", True, "puskesmas"), ("road", False, "other"), (None, None, CLEAR)]
    assert t.rows[0]["note"] == "by boat only"
    # "tanpa sinyal" is the inverted column
    path = tmp_path / "tanpa.csv"
    path.write_text("kode,tanpa sinyal\n99.01.01.2001,ya\n99.01.02.2002,tidak\n")
    assert [r["no_signal"] for r in read_attributes(path).rows] == [True, False]


def test_reader_names_every_problem_with_row_and_column(tmp_path):
    path = tmp_path / "salah.csv"
    path.write_text("kode,akses,sinyal,menginap,catatan\n"
                    "99.01.01.2001,perahu motor,ya,,\n"
                    "99.01.02.2002,darat,mungkin,,\n"
                    "99.01.01.2001,darat,,,\n"
                    ",darat,,,\n"
                    "99.01.03.2003,,,hotel bintang,\n"
                    "99.01.09.9999,,,,x\n"
                    f"99.01.03.2006,,,,{'x' * 1001}\n")
    with pytest.raises(importer.ImportProblem) as err:
        read_attributes(path, known={"99.01.01.2001", "99.01.02.2002", "99.01.03.2003",
                                     "99.01.03.2006"})
    text = str(err.value)
    assert text.startswith('Berkas "salah.csv", baris 2, kolom "akses": akses "perahu motor" tidak dikenal')
    for piece in ('baris 3, kolom "sinyal"', 'baris 4, kolom "kode": kode 99.01.01.2001 ganda',
                  'baris 5, kolom "kode": kode desa kosong', 'baris 6, kolom "menginap"',
                  'baris 7, kolom "kode": kode 99.01.09.9999 tidak dikenal', "dan 1 lagi"):
        assert piece in text, piece
    last = err.value.problems[-1]
    assert (last.row, last.column, last.message) == (8, "catatan", "catatan terlalu panjang "
                                                     "(1.001 karakter, maks. 1.000)")
    assert len(err.value.problems) == 6


@pytest.mark.parametrize("name,content,expected", [
    ("a.csv", "nama,kecamatan\nDesa A,Kec A\n", "baris judul kolom tidak ditemukan"),
    ("a.csv", "kode,akses\n", "tidak ada baris desa"),
    ("a.csv", b"PK\x03\x04rusak", "nama berkas berakhiran .csv tetapi isinya arsip zip"),
    ("a.xlsx", "kode,akses\n1,darat\n", "bukan XLSX"),
    ("a.csv", b"%PDF-1.4", "bukan CSV atau XLSX"),
    ("a.csv", b"", "berkas kosong"),
])
def test_reader_refuses_what_is_not_an_attributes_table(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(importer.ImportProblem, match=re.escape(expected)):
        read_attributes(path)


# --------------------------------------------------------------------------- the service
def test_a_change_by_hand_is_manual_dated_and_audited(tiny_app):
    app = tiny_app
    with app.app_context(), audit.acting_as(None, "uji-koordinator"):
        changed = attributes.update(CODE2, access="both", no_signal=True, lodging="puskesmas",
                                    note="  lewat dermaga  ")
        assert changed == {"access": "both", "no_signal": True, "lodging": "puskesmas",
                           "note": "lewat dermaga", "access_source": "manual"}
        assert attributes.update(CODE2, access="both") == {}  # nothing changed: no event
        with pytest.raises(attributes.AttributeProblem) as err:
            attributes.update(CODE2, access="helikopter")
        assert err.value.reason == "access"
        with pytest.raises(attributes.AttributeProblem):
            attributes.update("99.99.99.9999", access="road")
    s = state(app, CODE2)
    assert s["access"] == "both" and s["access_source"] == "manual" and s["no_signal"] is True
    assert s["attributes_by"] == "uji-koordinator" and s["attributes_at"] is not None
    (event,) = events(app, "village.update")
    assert event.target == CODE2 and event.actor == "uji-koordinator"
    assert event.before == {"access": "road", "no_signal": False, "lodging": None, "note": None,
                            "access_source": "file"}
    assert event.after["access"] == "both" and event.after["access_source"] == "manual"


def test_a_stop_outside_the_village_needs_a_confirmation(tiny_app):
    app = tiny_app
    with app.app_context():
        with pytest.raises(attributes.StopOutside) as err:
            attributes.update(HOSTILE_CODE, stop=(-2.50, 112.90))  # ~7 km south of the square
        assert 6 < err.value.params["km"] < 8
        with pytest.raises(attributes.AttributeProblem) as err:  # never outside Indonesia
            attributes.update(HOSTILE_CODE, stop=(40.0, 112.9), confirm_outside=True)
        assert err.value.reason == "stop_outside_country"
        assert attributes.update(HOSTILE_CODE, stop=(-2.41, 112.91))["stop_manual"] is True
        attributes.update(HOSTILE_CODE, stop=(-2.50, 112.90), confirm_outside=True)
    s = state(app, HOSTILE_CODE)
    assert (s["stop_lat"], s["stop_lon"], s["stop_manual"]) == (-2.5, 112.9, True)
    assert len(events(app, "village.update")) == 2  # the refused ones left nothing


def test_summary_counts_for_the_checklist(tiny_app):
    app = tiny_app
    with app.app_context():
        assert attributes.summary() == {"villages": 10, "river_only": 2, "both": 0, "road": 8,
                                        "checked": 10, "no_signal": 1, "lodging": 0,
                                        "manual_stops": 0}
        db.session.query(Village).update({"access_source": "default"})
        db.session.commit()
        attributes.update(CODE2, access="both", lodging="other", stop=(-2.31, 113.06))
        assert attributes.summary() == {"villages": 10, "river_only": 2, "both": 1, "road": 7,
                                        "checked": 1, "no_signal": 1, "lodging": 1,
                                        "manual_stops": 1}


def test_bulk_file_is_all_or_nothing_and_audited_once(tiny_app, tmp_path, table_counts):
    app = tiny_app
    before, counts = all_states(app), table_counts(app)
    bad = tmp_path / "atribut.csv"
    bad.write_text("kode,akses,sinyal\n99.01.01.2001,sungai,tidak\n99.01.09.9999,darat,ya\n"
                   "99.01.02.2002,pesawat,ya\n")
    with app.app_context(), pytest.raises(importer.ImportProblem) as err:
        attributes.import_attributes(bad)
    assert "kode 99.01.09.9999 tidak dikenal" in str(err.value)
    assert 'baris 4, kolom "akses"' in str(err.value)
    assert sandbox.last_run["task"] == "attributes"  # read in the sandboxed child
    assert all_states(app) == before and table_counts(app) == counts
    assert events(app, "import.attributes") == []

    good = tmp_path / "attributes.xlsx"
    write_xlsx(good, [["code", "access", "signal", "lodging", "note"],
                      [HOSTILE_CODE, "river", "no", "guest house", "<b>dermaga</b>"],
                      [CODE2, None, None, "puskesmas", None],
                      [RIVER_CODE, "river", None, None, None]])  # already river: no change
    with app.app_context():
        s = attributes.import_attributes(good)
    assert s == {"file": "attributes.xlsx", "rows": 3, "changed": 2, "access": 1,
                 "no_signal": 1, "lodging": 2, "note": 1}
    assert sandbox.last_run["outcome"] == "ok"
    h, c2 = state(app, HOSTILE_CODE), state(app, CODE2)
    assert (h["access"], h["no_signal"], h["lodging"], h["note"], h["access_source"]) == (
        "river", True, "guest_house", "<b>dermaga</b>", "file")
    assert c2["lodging"] == "puskesmas" and c2["access"] == "road"  # blank cells: unchanged
    (event,) = events(app, "import.attributes")
    assert event.target == "attributes.xlsx"
    assert event.after == {"rows": 3, "changed": 2, "access": 1, "no_signal": 1, "lodging": 2,
                           "note": 1, "columns": ["access", "no_signal", "lodging", "note"]}


def test_attributes_survive_new_boundaries_and_a_new_recap(tiny_app, tmp_path):
    """Attributes belong to the village: a boundaries file without access/signal/stop columns
    and a new recap without them change none of them."""
    app = tiny_app
    with app.app_context():
        attributes.update(CODE2, access="both", no_signal=True, lodging="kecamatan_office",
                          note="dermaga", stop=(-2.32, 113.07))
        attributes.update(RIVER_CODE, access="road")
    kept = all_states(app)
    gdf, recap = tiny_regency()
    gdf = gdf.drop(columns=["access", "no_signal", "stop_lat", "stop_lon"])
    gdf["geometry"] = gdf.geometry.scale(1.01, 1.01)  # redrawn boundaries
    gdf.to_file(tmp_path / "batas.geojson", driver="GeoJSON")
    recap["name"] = [f"Desa {i}" for i in range(len(recap))]
    recap["kecamatan"] = "Kec"
    recap = recap.rename(columns={"code": "KODE", "name": "DESA", "kecamatan": "KECAMATAN",
                                  "population": "JUMLAH PENDUDUK", "obliged": "WAJIB KTP-EL",
                                  "recorded": "SUDAH REKAM"})
    recap.to_csv(tmp_path / "rekap.csv", index=False)
    with app.app_context():
        importer.import_villages(tmp_path / "batas.geojson", fictional=True)
        importer.import_recap(tmp_path / "rekap.csv", name="Rekap baru")
    now = all_states(app)
    for code, before in kept.items():
        if not before["stop_manual"]:  # a stop nobody placed follows the new boundaries
            for k in ("stop_lat", "stop_lon"):
                before.pop(k), now[code].pop(k)
    assert now == kept
    assert (now[CODE2]["stop_lat"], now[CODE2]["stop_lon"]) == (-2.32, 113.07)


def _square(x, y, size=1.0):
    return box(x, y, x + size, y + size)


def test_access_hints_read_islands_water_and_roads_from_the_geography():
    """Plain function over frames and line layers: islands, villages touching others only
    across a river, and villages on a river no road touches."""
    frame = gpd.GeoDataFrame({
        "code": ["a", "b", "c", "d", "e", "f"],
        "name": ["A", "B", "C", "D", "E", "F"],
        "kecamatan": ["K"] * 6,
        "access": ["road", "road", "both", "road", "road", "river"],
        "geometry": [_square(0, 0), _square(1, 0), _square(5, 5),           # a|b, c alone
                     _square(0, 2), _square(1.0004, 2), _square(10, 10)],  # d ~ e across water
    }, crs="EPSG:4326")
    river = LineString([(1.0002, 1.9), (1.0002, 3.1)])  # between d and e, along their edge
    road = LineString([(0.2, 0.5), (1.8, 0.5)])          # through a and b
    no_lines = {h.code: h.reasons for h in attributes.suggest_access(frame)}
    assert no_lines == {"c": ("island",)}  # f is an island too, but already river
    hints = {h.code: h for h in attributes.suggest_access(
        frame, rivers=gpd.GeoSeries([river]), roads=[road])}
    assert set(hints) == {"c", "d", "e"}
    assert hints["c"].reasons == ("island",) and hints["c"].access == "both"
    assert hints["d"].reasons == hints["e"].reasons == ("island_water", "river_no_road")
    assert all(h.suggested == "river" for h in hints.values())
    # a road reaching e: still across water from d, but no longer "no road"
    road_e = LineString([(1.5, 2.5), (3, 2.5)])
    hints = {h.code: h.reasons for h in attributes.suggest_access(frame, rivers=[river],
                                                                 roads=[road, road_e])}
    assert hints["e"] == ("island_water",)
    # the demo's context frame splits into line layers
    layers = attributes.line_layers(gpd.GeoDataFrame(
        {"kind": ["river", "road", "outline"], "geometry": [river, road, _square(0, 0)]},
        crs="EPSG:4326"))
    assert len(layers["river"]) == 1 and len(layers["road"]) == 1


def test_hints_page_applies_only_what_the_coordinator_ticks(demo_app, client_as):
    app = demo_app
    before = all_states(app)
    viewer = client_as(app, V)
    page = viewer.get("/desa/saran-akses")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="hints-apply"' not in text and 'name="code"' not in text  # read-only for viewers
    coord = client_as(app, C)
    text = coord.get("/desa/saran-akses").get_data(as_text=True)
    codes = re.findall(r'name="code" value="([^"]+)"', text)
    with app.app_context():
        expected = {h.code for h in attributes.hints()}
    assert set(codes) == expected and len(codes) >= 3
    assert "dilalui sungai, tidak tersentuh jalan" in text
    assert all_states(app) == before  # listing changes nothing
    r = coord.post("/desa/saran-akses", data={"code": codes[:2]})
    assert r.status_code == 302
    after = all_states(app)
    for code in codes[:2]:
        assert after[code]["access"] == "river" and after[code]["access_source"] == "manual"
    assert {k: v for k, v in after.items() if k not in codes[:2]} == {
        k: v for k, v in before.items() if k not in codes[:2]}
    changed = events(app, "village.update")
    assert [e.target for e in changed] == codes[:2]
    assert changed[0].after["hint"] == ["river_no_road"] and changed[0].actor == "uji-coordinator"
    # a code that is not (or no longer) a suggestion: nothing changes
    r = coord.post("/desa/saran-akses", data={"code": [codes[0], codes[2]]}, follow_redirects=True)
    assert "Saran akses sudah berubah" in r.get_data(as_text=True)
    assert all_states(app) == after
    assert coord.post("/desa/saran-akses", data={}).status_code == 302
    assert all_states(app) == after


# --------------------------------------------------------------------------- pages
def test_village_page_shows_and_saves(tiny_app, client_as):
    app = tiny_app
    url = f"/desa/{HOSTILE_CODE}"
    coord = client_as(app, C)
    page = coord.get(url)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<script>alert('x')</script>" not in text and "&lt;script&gt;" in text
    assert 'id="village-save"' in text
    assert re.search(r'<input checked[^>]*value="road"', text)
    form = {"access": "both", "signal": "no", "lodging": "puskesmas", "note": "<i>dermaga</i>",
            "stop_lat": "-2,41", "stop_lon": "112.905"}
    r = coord.post(url, data=form)
    assert r.status_code == 302 and r.headers["Location"].endswith(url)
    s = state(app, HOSTILE_CODE)
    assert (s["access"], s["no_signal"], s["lodging"], s["note"], s["access_source"]) == (
        "both", True, "puskesmas", "<i>dermaga</i>", "manual")
    assert (s["stop_lat"], s["stop_lon"], s["stop_manual"]) == (-2.41, 112.905, True)
    text = coord.get(url).get_data(as_text=True)
    assert "Atribut desa" in text and "&lt;i&gt;dermaga&lt;/i&gt;" in text
    # a stop outside the village: refused with the question, saved once confirmed
    r = coord.post(url, data={**form, "stop_lat": "-2.6"})
    text = r.get_data(as_text=True)
    assert r.status_code == 400 and 'id="confirm-outside-row"' in text
    assert re.search(r"Titik singgah berada \d+,\d km di luar batas desa", text)
    assert state(app, HOSTILE_CODE)["stop_lat"] == -2.41
    assert coord.post(url, data={**form, "stop_lat": "-2.6", "confirm_outside": "y"}).status_code == 302
    assert state(app, HOSTILE_CODE)["stop_lat"] == -2.6
    assert re.search(r'id="stop-outside">Titik singgah berada \d+,\d km di luar', coord.get(url).get_data(as_text=True))
    # bad input: the form says what is wrong, nothing is saved
    r = coord.post(url, data={**form, "access": "", "stop_lon": "timur"})
    assert r.status_code == 400 and "Pilih akses desa." in r.get_data(as_text=True)
    # English
    r = coord.get(url + "?lang=en")
    assert r.status_code == 200 and 'lang="en"' in r.get_data(as_text=True)
    # viewers read, do not save; unknown villages are not found
    viewer = client_as(app, V)
    text = viewer.get(url).get_data(as_text=True)
    assert 'id="village-save"' not in text and "<fieldset disabled>" in text
    assert viewer.post(url, data=form).status_code == 403
    assert client_as(app, T, team="Tim 1").get(url).status_code == 403
    assert coord.get("/desa/99.99.99.9999").status_code == 404


def test_stop_marker_endpoint_answers_json(tiny_app, client_as):
    app = tiny_app
    coord = client_as(app, C)
    url = f"/desa/{CODE2}/titik"
    r = coord.post(url, json={"lat": -2.31, "lon": 113.06})
    assert r.status_code == 200 and r.json["ok"] and (r.json["lat"], r.json["lon"]) == (-2.31, 113.06)
    r = coord.post(url, json={"lat": -2.0, "lon": 113.06})
    assert r.status_code == 200 and not r.json["ok"] and r.json["outside"] and "di luar batas desa" in r.json["message"]
    assert state(app, CODE2)["stop_lat"] == -2.31
    r = coord.post(url, json={"lat": -2.0, "lon": 113.06, "confirm": True})
    assert r.status_code == 200 and state(app, CODE2)["stop_lat"] == -2.0
    for bad in ({"lat": "utara", "lon": 1}, {"lat": 50, "lon": 113}, {"lat": float("nan")}, [1, 2]):
        r = coord.post(url, data=json.dumps(bad), content_type="application/json")
        assert r.status_code == 400 and r.is_json and not r.json["ok"], bad
    assert coord.post(url, data="x", content_type="text/plain").status_code == 400
    assert coord.post("/desa/99.99.99.9999/titik", json={"lat": 0, "lon": 0}).status_code == 404
    assert client_as(app, V).post(url, json={"lat": -2.3, "lon": 113.05}).status_code == 403
    s = state(app, CODE2)
    assert s["stop_manual"] and s["access_source"] == "manual"
    assert [e.after.get("stop_lat") for e in events(app, "village.update")] == [-2.31, -2.0]


def test_pages_pass_csrf_with_their_tokens(tmp_path, make_app, load_tiny, client_as):
    """Flask-WTF accepts the page's token in the X-CSRFToken header (what static/maps.js sends),
    and the forms' hidden tokens."""
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    load_tiny(app)
    coord = client_as(app, C)
    page = coord.get("/peta").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    url = f"/desa/{CODE2}/titik"
    assert coord.post(url, json={"lat": -2.31, "lon": 113.06}).status_code == 400
    r = coord.post(url, json={"lat": -2.31, "lon": 113.06}, headers={"X-CSRFToken": token})
    assert r.status_code == 200 and r.json["ok"]
    # the forms carry their token too: the village page, the hints page, the import page
    page = coord.get(f"/desa/{CODE2}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = {"access": "both", "signal": "yes", "lodging": "", "note": "", "stop_lat": "-2.31",
            "stop_lon": "113.06", "csrf_token": token}
    assert coord.post(f"/desa/{CODE2}", data=form).status_code == 302
    page = coord.get("/impor").get_data(as_text=True)
    section = page[page.index('id="import-attributes"'):]
    token = re.search(r'name="csrf_token" value="([^"]+)"', section).group(1)
    r = coord.post("/impor/atribut", content_type="multipart/form-data", data={
        "csrf_token": token, "attributes_file": (BytesIO(b"kode,menginap\n99.01.02.2002,puskesmas\n"),
                                                 "a.csv")})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert state(app, CODE2)["lodging"] == "puskesmas" and state(app, CODE2)["access"] == "both"


def test_map_page_links_villages_and_gives_coordinators_stop_markers(tiny_app, client_as):
    app = tiny_app
    coord = client_as(app, C).get("/peta").get_data(as_text=True)
    assert 'data-stop-url="/desa/__CODE__/titik"' in coord
    assert 'data-edit-url="/desa/__CODE__"' in coord and 'data-edit-label="Ubah atribut"' in coord
    assert f'href="/desa/{HOSTILE_CODE}"' in coord and 'id="stop-status"' in coord
    assert 'data-lat="-2.4" data-lon="112.9"' in coord
    viewer = client_as(app, V).get("/peta").get_data(as_text=True)
    assert "data-stop-url" not in viewer and 'data-edit-label="Atribut desa"' in viewer
    doc = client_as(app, V).get("/peta/map.html").get_data(as_text=True)
    assert "planner-edit-link" in doc and "window.parent.plannerEdit" in doc


def test_bulk_upload_on_the_import_page(tiny_app, client_as):
    app = tiny_app
    coord = client_as(app, C)
    page = coord.get("/impor").get_data(as_text=True)
    assert 'id="import-attributes"' in page and 'action="/impor/atribut"' in page
    before = all_states(app)
    bad = b"kode;akses\n99.01.01.2001;sungai\n99.01.09.9999;darat\n"
    r = coord.post("/impor/atribut", data={"attributes_file": (BytesIO(bad), "atribut.csv")},
                   content_type="multipart/form-data")
    text = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 400
    assert 'Berkas "atribut.csv", baris 3, kolom "kode": kode 99.01.09.9999 tidak dikenal' in text
    assert all_states(app) == before
    r = coord.post("/impor/atribut", data={}, content_type="multipart/form-data")
    assert r.status_code == 400 and "Pilih berkas atribut desa." in r.get_data(as_text=True)
    good = b"code,access,signal,lodging,note\n99.01.01.2001,river,no,other,\n"
    r = coord.post("/impor/atribut", data={"attributes_file": (BytesIO(good), "a.csv")},
                   content_type="multipart/form-data", follow_redirects=True)
    assert r.status_code == 200
    assert "Atribut desa dari a.csv diimpor: 1 baris, 1 desa berubah" in r.get_data(as_text=True)
    assert state(app, HOSTILE_CODE)["access"] == "river"
    assert [e.actor for e in events(app, "import.attributes")] == ["uji-coordinator"]


def test_commands_import_attributes_and_access_hints(tiny_app, tmp_path):
    app = tiny_app
    runner = app.test_cli_runner()
    path = tmp_path / "atribut.csv"
    path.write_text("kode,menginap\n99.01.09.9999,puskesmas\n")
    r = runner.invoke(args=["import-attributes", str(path)])
    assert r.exit_code == 1 and "kode 99.01.09.9999 tidak dikenal" in r.output
    path.write_text("kode,menginap\n99.01.02.2002,puskesmas\n")
    r = runner.invoke(args=["import-attributes", str(path)])
    assert r.exit_code == 0 and "1 rows, 1 villages changed" in r.output, r.output
    # the tiny regency's squares touch nothing: islands (the two river villages excepted)
    before = all_states(app)
    r = runner.invoke(args=["access-hints"])
    assert r.exit_code == 0 and "8 suggestions" in r.output and "island" in r.output
    assert all_states(app) == before
    r = runner.invoke(args=["access-hints", "--apply", CODE2])
    assert r.exit_code == 0 and f"1 villages now have river access: {CODE2}" in r.output
    assert state(app, CODE2)["access"] == "river"
    r = runner.invoke(args=["access-hints", "--apply", CODE2])  # no longer a suggestion
    assert r.exit_code == 1 and "not a current suggestion" in r.output
    (event,) = events(app, "import.attributes")
    assert event.actor.startswith("cli:")
