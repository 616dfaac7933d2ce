"""The network pages (``planner.web.network``, ``planner.network_admin``): upload, replace and
delete road/river/pier layers through the safe upload machinery, the layers map, piers (typed,
accepted from the suggestions, removed), river mouths, and the calibration page (known legs
from a CSV/XLSX or typed, the model's minutes beside them, the one-click fit that changes the
stored speeds). Real files, the real demo regency, real routing; errors are pages, never 500s.
"""

from __future__ import annotations

import io
import json
import re

import geopandas as gpd
import openpyxl
import pandas as pd
from hostile import corpus
from sqlalchemy import select

from planner import network_admin, networks, settings
from planner.extensions import db
from planner.models import AuditEvent, NetworkLayer, TeamBase
from planner.paths import DATA_DIR
from planner.travel import TravelParams

CONTEXT = DATA_DIR / "demo_context.geojson"
XSS = '<img src=x onerror="alert(1)">{{7*7}}'


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _upload(client, data: bytes, filename: str, kind: str, name: str = "", **extra):
    form = {"file": (io.BytesIO(data), filename), "kind": kind, "name": name, **extra}
    return client.post("/jaringan/unggah", data=form, content_type="multipart/form-data")


def _layers(app) -> list[dict]:
    with app.app_context():
        return networks.list_layers()


def _clear_network(app) -> None:
    """The demo regency without network layers (the demo may ship its own: these tests import
    the committed demo_context.geojson themselves)."""
    with app.app_context():
        for layer in networks.list_layers():
            networks.remove_layer(layer["id"])
        db.session.execute(AuditEvent.__table__.delete().where(AuditEvent.action.like("network.%")))
        db.session.commit()


def _import_demo_network(app) -> None:
    _clear_network(app)
    with app.app_context():
        networks.import_layer(CONTEXT, kind="road", name="Jalan demo")
        networks.import_layer(CONTEXT, kind="river", name="Sungai demo")


def _polygon_in_a_river_layer() -> bytes:
    line = {"type": "LineString", "coordinates": [[111.6, -2.8], [111.62, -2.78]]}
    poly = {"type": "Polygon", "coordinates": [[[111.6, -2.8], [111.61, -2.8], [111.61, -2.79],
                                                [111.6, -2.8]]]}
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"waterway": "river"}, "geometry": line},
        {"type": "Feature", "properties": {"waterway": "river"}, "geometry": poly}]}).encode()


# --------------------------------------------------------------------------- layers
def test_upload_list_replace_and_delete_layers(demo_app, client):
    app = demo_app
    _clear_network(app)
    page = client.get("/jaringan")
    assert page.status_code == 200 and 'id="no-layers"' in page.get_data(as_text=True)
    data = CONTEXT.read_bytes()

    r = _upload(client, data, "konteks.geojson", "road", name=XSS)
    assert r.status_code == 302, r.get_data(as_text=True)
    r = _upload(client, data, "konteks.geojson", "river", name="Sungai demo")
    assert r.status_code == 302
    html = client.get("/jaringan").get_data(as_text=True)
    assert "10 garis" in html  # the flash: the import summary
    rows = re.findall(r'<tr data-layer-id="(\d+)" data-kind="(\w+)"', html)
    assert [k for _i, k in rows] == ["river", "road"]
    assert XSS not in html and "&lt;img src=x" in html  # the name, escaped
    assert "trunk 1" in html and "main" in html  # classes summary
    assert "uji-admin" in html  # who
    with app.app_context():
        assert len(_events("network.import")) == 2

    # the map: local Leaflet, both layers, the name escaped
    doc = client.get("/jaringan/peta.html")
    text = doc.get_data(as_text=True)
    assert doc.status_code == 200 and "/static/vendor/leaflet-" in text
    assert not re.search(r"""<script[^>]+src=["']https?://""", text)
    assert "<img src=x" not in text and "window.plannerMap" in text
    assert text.count('"LineString"') + text.count('"MultiLineString"') >= 2

    # a bad file: all or nothing, the feature and the reason named, translated lead
    before = _layers(app)
    r = _upload(client, _polygon_in_a_river_layer(), "sungai.geojson", "river")
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and 'id="network-error"' in body
    assert "fitur 2" in body and "Polygon" in body and "tidak ada yang disimpan" in body
    assert _layers(app) == before
    # a hostile one: a GDAL VRT reading a server file, named like GeoJSON
    r = _upload(client, corpus.VRT_PASSWD, "jalan.geojson", "road")
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and "VRT" in body and "root:" not in body
    # not a layer file at all, a wrong kind, no file
    assert _upload(client, b"a,b\n1,2\n", "jalan.csv", "road").status_code == 400
    assert _upload(client, data, "jalan.geojson", "rail").status_code == 400
    r = client.post("/jaringan/unggah", data={"kind": "road"})
    assert r.status_code == 400 and "Pilih berkas lapisan" in r.get_data(as_text=True)
    assert _layers(app) == before
    assert not list((app.instance_path and __import__("pathlib").Path(app.instance_path)
                     / "uploads").glob("*"))  # nothing left behind

    # replace: the page asks for the confirmation, then swaps the layer in one go
    road = next(r for r in before if r["kind"] == "road")
    html = client.get(f"/jaringan?ganti={road['id']}").get_data(as_text=True)
    assert "confirm_replace" in html and f'value="{road["id"]}"' in html
    assert 'name="kind" value="road"' in html  # the kind of the layer replaced
    r = _upload(client, data, "jalan-baru.geojson", "road", replace=str(road["id"]))
    assert r.status_code == 400 and "Ya, ganti lapisan ini" in r.get_data(as_text=True)
    r = _upload(client, data, "jalan-baru.geojson", "river", replace=str(road["id"]),
                confirm_replace="y")
    assert r.status_code == 302
    after = _layers(app)
    new_road = next(r for r in after if r["kind"] == "road")  # the kind of the replaced layer
    assert new_road["id"] != road["id"] and new_road["name"] == road["name"]
    assert new_road["file"] == "jalan-baru.geojson" and len(after) == 2

    # delete: a confirmation page first
    r = client.post("/jaringan/hapus", data={"layer_id": new_road["id"]})
    assert r.status_code == 200 and 'id="remove-layer"' in r.get_data(as_text=True)
    assert len(_layers(app)) == 2
    r = client.post("/jaringan/hapus", data={"layer_id": new_road["id"], "confirm": "1"})
    assert r.status_code == 302 and [x["kind"] for x in _layers(app)] == ["river"]
    r = client.post("/jaringan/hapus", data={"layer_id": new_road["id"], "confirm": "1"},
                    follow_redirects=True)
    assert r.status_code == 200 and "tidak ada lagi" in r.get_data(as_text=True)
    with app.app_context():
        assert len(_events("network.remove")) == 1
        assert _events("network.import")[-1].after["replaced"] == [road["id"]]


# --------------------------------------------------------------------------- piers and mouths
def test_piers_typed_accepted_removed_and_river_mouths(demo_app, client):
    app = demo_app
    _clear_network(app)
    html = client.get("/jaringan").get_data(as_text=True)
    assert "perlu lapisan jalan dan lapisan sungai" in html
    _import_demo_network(app)
    html = client.get("/jaringan").get_data(as_text=True)
    sug = re.findall(r'name="lat" value="(-?[\d.]+)"><input type="hidden" name="lon" value="(-?[\d.]+)"', html)
    assert len(sug) >= 2, html[-3000:]
    assert 'id="no-piers"' in html

    # accept one suggestion: a stored pier; the routing graph now uses the stored piers only
    r = client.post("/jaringan/dermaga/terima", data={"lat": sug[0][0], "lon": sug[0][1]})
    assert r.status_code == 302
    with app.app_context():
        piers = network_admin.piers()
        assert len(piers) == 1 and piers[0]["layer"] == network_admin.MANUAL_LAYER
        assert len(networks.build_network(TravelParams()).piers) == 1
    html = client.get("/jaringan").get_data(as_text=True)
    left = re.findall(r'class="accept-suggestion"', html)
    assert len(left) == len(sug) - 1  # the accepted one is no longer suggested

    # type one (decimal commas), then the same place again, bad and foreign coordinates
    lat, lon = float(sug[1][0]) + 0.01, float(sug[1][1])
    r = client.post("/jaringan/dermaga", data={"lat": f"{lat:.5f}".replace(".", ","),
                                               "lon": f"{lon:.5f}".replace(".", ","), "name": XSS})
    assert r.status_code == 302
    r = client.post("/jaringan/dermaga", data={"lat": f"{lat:.5f}", "lon": f"{lon:.5f}"})
    assert r.status_code == 400 and "Sudah ada dermaga" in r.get_data(as_text=True)
    r = client.post("/jaringan/dermaga", data={"lat": "utara", "lon": "112"})
    assert r.status_code == 400 and 'id="pier-error"' in r.get_data(as_text=True)
    r = client.post("/jaringan/dermaga", data={"lat": "111.6", "lon": "-2.8"})
    assert r.status_code == 400 and "di luar Indonesia" in r.get_data(as_text=True)
    assert 'value="111.6"' in r.get_data(as_text=True)  # what was typed stays in the form
    html = client.get("/jaringan").get_data(as_text=True)
    assert XSS not in html and "&lt;img src=x" in html
    assert XSS not in client.get("/jaringan/peta.html").get_data(as_text=True)

    # accept all that are left, then remove one
    client.post("/jaringan/dermaga/terima", data={"all": "1"})
    with app.app_context():
        n = len(network_admin.piers())
        assert n >= len(sug)
    r = client.post("/jaringan/dermaga/hapus", data={"layer_id": piers[0]["layer_id"], "index": "0"})
    assert r.status_code == 302
    r = client.post("/jaringan/dermaga/hapus", data={"layer_id": "99999", "index": "0"})
    assert r.status_code == 400 and "tidak ada lagi" in r.get_data(as_text=True)
    with app.app_context():
        assert len(network_admin.piers()) == n - 1
        assert len(networks.build_network(TravelParams()).piers) == n - 1
        assert len(_events("network.pier_add")) == n
        assert len(_events("network.pier_remove")) == 1

    # river mouths, as `planner network mouth`
    r = client.post("/jaringan/muara", data={"lat": "-3,05", "lon": "111,56"})
    assert r.status_code == 302
    with app.app_context():
        assert settings.get("network")["mouths"] == [[-3.05, 111.56]]
    assert client.post("/jaringan/muara", data={"lat": "-3.05", "lon": "111.56"}).status_code == 400
    assert client.post("/jaringan/muara", data={"remove": "7"}).status_code == 400
    assert client.post("/jaringan/muara", data={"remove": "0"}).status_code == 302
    client.post("/jaringan/muara", data={"lat": "-3.05", "lon": "111.56"})
    assert client.post("/jaringan/muara", data={"clear": "1"}).status_code == 302
    with app.app_context():
        assert settings.get("network")["mouths"] == []
        assert len(_events("setting.network")) == 4


# --------------------------------------------------------------------------- calibration
def _a_known_leg(app) -> tuple[str, str, int]:
    """The office and a road village with an on-network leg by car, and the model's minutes."""
    with app.app_context():
        base = db.session.scalars(select(TeamBase).where(TeamBase.archived.is_(False))
                                  .order_by(TeamBase.id)).first().name
        src = networks.travel_source(TravelParams())
        pts = networks.known_points()
        roads = pts[(pts["access"] == "road") & (pts["lat"] > -2.4)]
        sel = pts[pts["code"] == base]
        for code in roads["code"][:20]:
            two = pd.concat([sel, pts[pts["code"] == code]], ignore_index=True)
            m = src.matrices(two, "road")
            if not src.fallback_legs[0, 1]:
                return base, code, int(m.minutes[0, 1])
    raise AssertionError("no on-network road leg in the demo")


def test_calibration_upload_compare_and_fit(demo_app, client):
    app = demo_app
    _clear_network(app)
    r = client.post("/jaringan/kalibrasi", data={"action": "fit", "dari": ["a"], "ke": ["b"],
                                                 "moda": ["road"], "menit": ["10"]})
    assert r.status_code == 400 and "Belum ada lapisan" in r.get_data(as_text=True)
    _import_demo_network(app)
    base, code, model = _a_known_leg(app)
    known = round(model * 1.3)
    with app.app_context():
        village_name = networks.known_points().set_index("code").loc[code, "name"]

    # an XLSX with a title-free header; names instead of codes are fine when unique
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Dari", "Ke", "Moda", "Menit"])
    ws.append([base, code, "mobil", known])
    ws.append([code, base, "jalan", known])
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post("/jaringan/kalibrasi", content_type="multipart/form-data", data={
        "action": "upload", "legs_file": (io.BytesIO(buf.getvalue()), "waktu.xlsx")})
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html[:2000]
    assert html.count('class="leg-row"') == 2 and 'value="waktu.xlsx"' in html
    assert f">{model}</td>" in html.replace(".", "")  # the model's minutes beside the known ones
    # the same legs typed on the page (a village name for the village), then fitted
    typed = {"dari": [base, village_name, ""], "ke": [code, base, ""],
             "moda": ["road", "road", "road"], "menit": [str(known), f"{known},0", ""],
             "source": "waktu.xlsx"}
    r = client.post("/jaringan/kalibrasi", data={**typed, "action": "compare"})
    assert r.status_code == 200 and r.get_data(as_text=True).count('class="leg-row"') == 2
    with app.app_context():
        before = networks.speeds()
    r = client.post("/jaringan/kalibrasi", data={**typed, "action": "fit"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="fit-result"' in html, html[:3000]
    with app.app_context():
        value = settings.get("network")
        cal = value["calibration"]
        assert cal["file"] == "waktu.xlsx" and cal["fitted_legs"] == 2
        assert cal["rmse_after_min"] < cal["rmse_before_min"]
        after = networks.speeds()
        slower = [c for c in after.road_kmh if after.road_kmh[c] < before.road_kmh[c] - 0.5]
        assert slower  # the office knows it takes longer
        assert _events("setting.network")
        src = networks.travel_source(TravelParams())
        pts = networks.known_points().set_index("code").loc[[base, code]].reset_index()
        assert src.matrices(pts, "road").minutes[0, 1] > model
    assert f"{cal['rmse_before_min']:.1f}".replace(".", ",") in html

    # mistakes: a page naming the row and the column, nothing saved, never a 500
    r = client.post("/jaringan/kalibrasi", data={"action": "fit", "dari": [base, base],
                                                 "ke": [code, code], "moda": ["road", "kuda"],
                                                 "menit": ["abc", "10"]})
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and "baris 1" in html and "menit" in html and "kuda" in html
    assert 'value="abc"' in html  # the typed rows come back to be fixed
    r = client.post("/jaringan/kalibrasi", data={"action": "compare", "dari": ["99.99.99.9999"],
                                                 "ke": [code], "moda": ["road"], "menit": ["5"]})
    assert r.status_code == 400 and "tidak dikenal" in r.get_data(as_text=True)
    assert client.post("/jaringan/kalibrasi", data={"action": "compare"}).status_code == 400
    bad = [(b"dari,ke\nx,y\n", "waktu.csv"), (corpus.xlsx_xxe(), "waktu.xlsx"),
           (b"PK\x03\x04rusak", "waktu.xlsx"), (b"", "kosong.csv")]
    for data, name in bad:
        r = client.post("/jaringan/kalibrasi", content_type="multipart/form-data", data={
            "action": "upload", "legs_file": (io.BytesIO(data), name)})
        text = r.get_data(as_text=True)
        assert r.status_code == 400 and 'id="calibration-error"' in text, (name, r.status_code)
        assert "root:" not in text
    with app.app_context():
        assert settings.get("network")["calibration"] == cal  # nothing changed


# --------------------------------------------------------------------------- roles, language, errors
def test_roles_links_language_and_no_500s(demo_app, client, client_as):
    app = demo_app
    _import_demo_network(app)
    viewer = client_as(app, "viewer")
    html = viewer.get("/jaringan").get_data(as_text=True)
    assert 'id="layers"' in html and 'id="layer-form"' not in html and "remove-layer" not in html
    assert viewer.get("/jaringan/kalibrasi").status_code == 200
    assert 'id="legs-form"' not in viewer.get("/jaringan/kalibrasi").get_data(as_text=True)
    for url in ("/jaringan/unggah", "/jaringan/hapus", "/jaringan/dermaga", "/jaringan/muara",
                "/jaringan/kalibrasi"):
        assert viewer.post(url, data={}).status_code == 403, url
    lead = client_as(app, "team_lead", team="Tim 1")
    assert lead.get("/jaringan").status_code == 403
    # linked from the set-up checklist and the travel settings
    coordinator = client_as(app, "coordinator")
    assert 'class="setup-network"' in coordinator.get("/").get_data(as_text=True)
    assert 'href="/jaringan"' in coordinator.get("/pengaturan/perjalanan").get_data(as_text=True)
    # English second
    en = client.get("/jaringan?lang=en").get_data(as_text=True)
    assert "Road and river network" in en and "River mouths" in en
    en = client.get("/jaringan/kalibrasi?lang=en").get_data(as_text=True)
    assert "Speed calibration" in en
    # garbage everywhere: pages with a message, never a server error
    garbage = {"layer_id": "x" * 50, "index": "-1", "lat": "1e999", "lon": "nan", "remove": "abc",
               "kind": "<b>", "replace": "99999999999999999999", "action": "??",
               "dari": ["x"] * 3, "ke": ["y"], "moda": ["z"], "menit": ["-5"]}
    for url in ("/jaringan/unggah", "/jaringan/hapus", "/jaringan/dermaga",
                "/jaringan/dermaga/terima", "/jaringan/dermaga/hapus", "/jaringan/muara",
                "/jaringan/kalibrasi"):
        r = client.post(url, data=garbage)
        assert r.status_code < 500, (url, r.status_code)
    with app.app_context():
        assert db.session.query(NetworkLayer).count() == 2
    assert gpd  # (geopandas reads the demo file in the service)
