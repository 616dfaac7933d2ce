"""The upload page /impor: good uploads land and redirect to the gap view, bad ones re-render
the page with one paragraph (400, no traceback), similar names get tick boxes, CSRF holds."""

from __future__ import annotations

import io
import re
from pathlib import Path

from conftest import table_counts

from planner.extensions import db

DATA = Path(__file__).parent / "data" / "import"


def upload(client, url, field, path_or_bytes, filename, **extra):
    data = path_or_bytes.read_bytes() if isinstance(path_or_bytes, Path) else path_or_bytes
    form = {field: (io.BytesIO(data), filename), **extra}
    return client.post(url, data=form, content_type="multipart/form-data")


counts = table_counts


def load_villages(client):
    r = upload(client, "/impor/batas", "v-file", DATA / "desa_fiktif.geojson", "desa_fiktif.geojson")
    assert r.status_code == 302 and r.headers["Location"].endswith("/")
    return r


def test_page_has_three_upload_forms(client):
    r = client.get("/impor")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'action="/impor/batas"' in html and 'action="/impor/rekap"' in html
    assert 'action="/impor/atribut"' in html  # village attributes (access, signal, lodging)
    assert html.count('enctype="multipart/form-data"') == 3
    assert "WAJIB KTP-EL" in html and "Tumbang Penyahuan → Tumbang Panyahuan" in html


def test_upload_good_files_then_gap_view_shows_totals(app, client):
    load_villages(client)
    r = upload(client, "/impor/rekap", "r-file", DATA / "rekap_fiktif.csv", "rekap_fiktif.csv",
               **{"r-name": "Rekap uji", "r-snapshot_date": "2026-11-30"})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Rekap uji" in page and "2026-11-30" in page
    assert re.search(r'id="total-population">28\.010<', page)
    assert re.search(r'id="total-recorded">19\.335<', page)
    assert "rekap_fiktif.csv diimpor" in page  # the flash message
    assert counts(app) == {"villages": 8, "datasets": 1, "village_stats": 8}


def test_bad_recap_is_a_400_paragraph_and_nothing_changes(app, client):
    load_villages(client)
    bad = (DATA / "rekap_fiktif.csv").read_text().replace('"9.310"', '"-9.310"')
    before = counts(app)
    r = upload(client, "/impor/rekap", "r-file", bad.encode(), "rekap <salah>.csv")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "Traceback" not in html
    m = re.search(r'<div class="flash flash-error" id="import-error" role="alert">(.*?)</div>', html, re.S)
    assert m, html
    # the original file name (escaped), the row, the column and the reason
    assert m.group(1).startswith("Berkas &#34;rekap &lt;salah&gt;.csv&#34;, baris 5, kolom &#34;SUDAH REKAM&#34;: nilai -9310 negatif")
    assert counts(app) == before


def test_bad_boundaries_and_wrong_extension(app, client):
    r = upload(client, "/impor/batas", "v-file", b"{ not json", "batas.geojson")
    assert r.status_code == 400
    assert "Berkas &#34;batas.geojson&#34;" in r.get_data(as_text=True)
    r = upload(client, "/impor/batas", "v-file", b"x", "batas.exe")
    assert r.status_code == 400
    assert "GeoPackage" in r.get_data(as_text=True)
    r = client.post("/impor/batas", data={}, content_type="multipart/form-data")
    assert r.status_code == 400 and "Pilih berkas batas desa" in r.get_data(as_text=True)
    assert counts(app)["villages"] == 0


def test_similar_name_shows_tick_boxes_and_confirming_imports(app, client):
    load_villages(client)
    rows = ["DESA,KECAMATAN,JUMLAH PENDUDUK,WAJIB KTP-EL,SUDAH REKAM",
            "Kuala Fiktif,Hilir Fiktif,100,80,70", "Tumbang Mangis,Tengah Raya,100,80,60"]
    r = upload(client, "/impor/rekap", "r-file", "\n".join(rows).encode(), "mirip.csv")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'name="confirm" value="3=99.01.02.2003"' in html
    token = re.search(r'name="r-pending" type="hidden" value="([0-9a-f]{32})"', html).group(1)
    assert counts(app)["datasets"] == 0
    # re-submit without the file, ticking the suggestion
    r = client.post("/impor/rekap", data={"r-pending": token, "confirm": "3=99.01.02.2003"},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    assert counts(app) == {"villages": 8, "datasets": 1, "village_stats": 2}
    # the kept upload is gone once imported
    assert not (Path(app.instance_path) / "uploads" / token).exists()


def test_pending_token_is_not_a_path(app, client):
    r = client.post("/impor/rekap", data={"r-pending": "../../etc/passwd"},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and "Pilih berkas rekap" in r.get_data(as_text=True)


def test_csrf_protected_post_without_token_is_rejected(tmp_path):
    from conftest import make_app

    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    r = upload(client, "/impor/batas", "v-file", DATA / "desa_fiktif.geojson", "desa_fiktif.geojson")
    assert r.status_code == 400
    assert "CSRF" in r.get_data(as_text=True)
    assert counts(app)["villages"] == 0
    # with the page's token the same upload goes in
    page = client.get("/impor").get_data(as_text=True)
    token = re.search(r'name="v-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = upload(client, "/impor/batas", "v-file", DATA / "desa_fiktif.geojson", "desa_fiktif.geojson",
               **{"v-csrf_token": token})
    assert r.status_code == 302
    assert counts(app)["villages"] == 8
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
