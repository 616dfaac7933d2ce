"""Hostile and malformed uploads (the corpus of tests/hostile/corpus.py, generated here): each
gives ONE clear ``ImportProblem`` naming the file (and the row/column where there is one), no
traceback, and leaves the database as it was; through the import services for every file, and
through the upload page and the ``planner`` commands for a representative subset.

Also: a file that references a URL or another file makes no request and reads nothing; a stop
for time or memory is a message; the uploads folder keeps no failed upload and has a size cap.
"""

from __future__ import annotations

import html
import http.server
import io
import re
import threading
import time
from pathlib import Path

import pytest
from conftest import make_app, table_counts
from hostile import corpus
from hostile.corpus import CASES, UNSET
from sqlalchemy import text

from planner.extensions import db
from planner.importer import (
    ImportProblem,
    import_recap,
    import_villages,
    limits,
    read_boundaries,
    read_recap,
    sandbox,
)

DATA = Path(__file__).parent / "data" / "import"
pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")  # zips made so on purpose
WEB = [c for c in CASES if c.web]
CLI = [c for c in CASES if c.cli]


def param(case):
    return pytest.param(case, id=f"{case.kind}-{case.id}",
                        marks=[pytest.mark.slow] if case.slow else [])


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The fictional villages and one recap in a database of this module, an instance folder
    of its own (uploads land there): every hostile file must leave both as they are."""
    app = make_app(tmp_path_factory.mktemp("hostile_db"))
    app.instance_path = str(tmp_path_factory.mktemp("hostile_instance"))
    with app.app_context():
        import_villages(DATA / "desa_fiktif.geojson", fictional=True)
        import_recap(DATA / "rekap_fiktif.csv")
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def state(app):
    """Row counts and the content of the import tables."""
    with app.app_context():
        counts = table_counts()
        villages = db.session.execute(text(
            "SELECT code, name, kecamatan, access, no_signal, geometry FROM villages ORDER BY code")).all()
        datasets = db.session.execute(text("SELECT id, name FROM datasets ORDER BY id")).all()
        db.session.remove()
    return counts, [tuple(v) for v in villages], [tuple(d) for d in datasets]


def service(case, path):
    if case.kind == "recap":
        return import_recap(path, filename=case.filename)
    return import_villages(path, filename=case.filename)


def check_message(err: ImportProblem, case, folder: Path) -> str:
    """One clear paragraph: the file, the reason, the row/column where there is one."""
    assert isinstance(err, ImportProblem)
    msg = str(err)
    assert err.file == case.filename, msg
    assert msg.startswith(f'Berkas "{case.filename}"'), msg
    for phrase in case.phrases:
        assert phrase in msg, f"{phrase!r} not in: {msg}"
    assert "\n" not in msg and "Traceback" not in msg and len(msg) < 3000, msg
    assert str(folder) not in msg, "a server path in the message"
    assert "root:x:0" not in msg
    if case.row is not UNSET:
        assert err.row == case.row, msg
    if case.column is not UNSET:
        assert err.column == case.column, msg
    return msg


# --------------------------------------------------------------------------- the corpus
def test_corpus_is_large_and_varied():
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES)
    assert len({c.filename for c in CASES}) == len(CASES)
    suffixes = {Path(c.filename).suffix for c in CASES}
    assert {".csv", ".xlsx", ".geojson", ".json", ".zip", ".gpkg"} <= suffixes
    assert sum(c.kind == "recap" for c in CASES) >= 50 and sum(c.kind == "villages" for c in CASES) >= 50
    assert len(WEB) >= 8 and len(CLI) >= 8


@pytest.mark.parametrize("case", [param(c) for c in CASES])
def test_hostile_file_is_one_clear_problem_and_changes_nothing(loaded, tmp_path, case):
    path = case.write(tmp_path)
    before = state(loaded)
    t0 = time.monotonic()
    with loaded.app_context():
        with pytest.raises(ImportProblem) as ei:
            service(case, path)
        db.session.remove()
    elapsed = time.monotonic() - t0
    assert state(loaded) == before, "a failed import changed the database"
    check_message(ei.value, case, tmp_path)
    assert elapsed < limits.TIMEOUT_S, f"{case.id} took {elapsed:.1f} s"


@pytest.mark.parametrize("case", [param(c) for c in WEB])
def test_hostile_upload_is_a_400_paragraph(loaded, tmp_path, case):
    path = case.write(tmp_path)
    uploads = Path(loaded.instance_path) / "uploads"
    url, field = ("/impor/rekap", "r-file") if case.kind == "recap" else ("/impor/batas", "v-file")
    before = state(loaded)
    r = loaded.test_client().post(url, data={field: (io.BytesIO(path.read_bytes()), case.filename)},
                                  content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert r.status_code == 400, page[:500]
    assert "Traceback" not in page
    m = re.search(r'id="import-error" role="alert">(.*?)</div>', page, re.S)
    assert m, page[:2000]
    shown = html.unescape(m.group(1)).strip()
    assert shown.startswith(f'Berkas "{case.filename}"'), shown
    for phrase in case.phrases:
        assert phrase in shown, shown
    if "script" in case.tags:  # the name is shown as text, never as markup
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    assert state(loaded) == before
    assert not uploads.exists() or list(uploads.iterdir()) == [], "a failed upload was kept"


@pytest.mark.parametrize("case", [param(c) for c in CLI])
def test_hostile_file_on_the_command_line(loaded, tmp_path, case):
    path = case.write(tmp_path)
    before = state(loaded)
    command = "import-recap" if case.kind == "recap" else "import-villages"
    r = loaded.test_cli_runner().invoke(args=[command, str(path)])
    assert r.exit_code == 1, r.output
    assert r.output.startswith(f'Error: Berkas "{case.filename}"'), r.output
    assert r.output.count("\n") == 1 and "Traceback" not in r.output
    for phrase in case.phrases:
        assert phrase in r.output
    assert isinstance(r.exception, SystemExit)
    assert state(loaded) == before


# --------------------------------------------------------------------------- references
class _Recorder(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.server.hits.append(self.path)
        body = b"code,name,kecamatan\n99.01.01.1001,BOCOR,BOCOR\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *_args):
        pass


@pytest.fixture
def http_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    srv.hits = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def referencing_files(url: str, secret: Path) -> list[tuple[str, str, bytes]]:
    """(kind, file name, content): files that point at ``url`` or at files on the server."""
    vrt_secret = corpus.vrt_reading(str(secret))
    good = corpus.good_features()
    return [
        ("villages", "vrt_passwd.geojson", corpus.VRT_PASSWD),
        ("villages", "vrt_secret.geojson", vrt_secret),
        ("villages", "vrt_url.geojson", corpus.vrt_url(f"{url}/desa.csv")),
        ("villages", "vrt_url.zip", corpus.zip_bytes([("desa.vrt", corpus.vrt_url(f"{url}/d.csv"))])),
        ("villages", "url.geojson", f"{url}/desa.geojson".encode()),
        ("villages", "vsicurl.geojson", f"/vsicurl/{url}/desa.geojson".encode()),
        ("villages", "crs_link.geojson", corpus.fc(good, crs={"type": "link", "properties": {
            "href": f"{url}/crs.wkt"}})),
        ("villages", "geojson_in_zip_url.zip", corpus.zip_bytes([("desa.geojson", f"{url}/x".encode())])),
        ("recap", "xxe_url.xlsx", corpus.xlsx_xxe(f"{url}/entity.xml")),
        ("recap", "xxe_secret.xlsx", corpus.xlsx_xxe(secret.as_uri())),
        ("recap", "vrt_url.csv", corpus.vrt_url(f"{url}/desa.csv")),
        ("recap", "external_link.xlsx", corpus.xlsx_external_link(f"{url}/rahasia.xlsx")),
    ]


def test_references_to_urls_and_files_are_never_followed(loaded, tmp_path, http_server):
    srv, url = http_server
    secret = tmp_path / "secret_key"
    secret.write_text("code,name,kecamatan\nSUPERSECRET,SUPERSECRET,SUPERSECRET\n")
    before = state(loaded)
    for kind, name, data in referencing_files(url, secret):
        path = tmp_path / name
        path.write_bytes(data)
        reader = read_recap if kind == "recap" else read_boundaries  # in this process
        importer = import_recap if kind == "recap" else import_villages  # in the child
        with loaded.app_context():
            for run in (reader, importer):
                with pytest.raises(ImportProblem) as ei:
                    run(path, filename=name)
                msg = str(ei.value)
                assert "SUPERSECRET" not in msg and "root:x:0" not in msg and "BOCOR" not in msg, msg
            db.session.remove()
    time.sleep(0.2)
    assert srv.hits == [], f"the import fetched {srv.hits}"
    assert state(loaded) == before
    names = " ".join(v[1] + v[2] for v in state(loaded)[1])
    assert "SUPERSECRET" not in names and "root" not in names and "BOCOR" not in names


def test_a_workbook_with_an_external_link_imports_its_stored_values_without_fetching(
        app, tmp_path, http_server):
    srv, url = http_server
    path = tmp_path / "rekap_tautan.xlsx"
    path.write_bytes(corpus.xlsx_external_link(f"{url}/sumber.xlsx", negative=False))
    with app.app_context():
        import_villages(DATA / "desa_fiktif.geojson")
        ds = import_recap(path)
        assert ds.join_counts == {"code": 8}
        assert table_counts() == {"villages": 8, "datasets": 1, "village_stats": 8}
    assert srv.hits == []


# --------------------------------------------------------------------------- good files stay good
def test_stray_formatting_at_xfd1048576_costs_nothing(tmp_path):
    """A sheet that claims A1:XFD1048576 and has an empty formatted cell there is a normal recap."""
    data = corpus.xlsx_with_sheet(corpus.sheet(
        corpus.recap_sheet_rows('<row r="1048576"><c r="XFD1048576" s="0"/></row>'),
        before='<dimension ref="A1:XFD1048576"/>'))
    path = tmp_path / "rekap_format.xlsx"
    path.write_bytes(data)
    t0 = time.monotonic()
    table = read_recap(path)
    assert time.monotonic() - t0 < 1.0
    assert len(table.frame) == 8 and table.frame["population"].sum() == 28010


def test_utf16_csv_from_excel_unicode_text(tmp_path):
    path = tmp_path / "rekap_unicode.txt"
    path.write_bytes(corpus.csv_text(corpus.recap_rows(), "\t").encode("utf-16"))
    assert len(read_recap(path).frame) == 8


def test_projected_geojson_with_a_crs_member_is_reprojected(tmp_path):
    import geopandas as gpd

    src = gpd.read_file(DATA / "desa_fiktif.geojson").to_crs("EPSG:32749")
    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {
        "name": "urn:ogc:def:crs:EPSG::32749"}}, "features": [
        {"type": "Feature", "properties": {k: r[k] for k in ("code", "name", "kecamatan")},
         "geometry": r.geometry.__geo_interface__} for _i, r in src.iterrows()]}
    path = tmp_path / "desa_utm.geojson"
    path.write_text(__import__("json").dumps(doc))
    g = read_boundaries(path)
    assert len(g) == 8 and g.crs.to_epsg() == 4326
    assert 112.9 < g.total_bounds[0] < 113.1


def test_shapefile_zip_with_metadata_and_macos_folders(tmp_path):
    parts = corpus.shapefile_real()
    data = corpus.shp_zip(parts, base="batas/desa", extra=[
        ("batas/desa.shp.xml", b"<metadata/>"), ("__MACOSX/batas/._desa.shp", b"\x00\x05\x16\x07"),
        ("batas/BACA.txt", b"sumber: fiktif")])
    path = tmp_path / "desa.zip"
    path.write_bytes(data)
    assert list(read_boundaries(path)["code"]) == ["99.01.01.1001", "99.01.01.1002"]


# --------------------------------------------------------------------------- cost
@pytest.fixture
def small_limits(monkeypatch):
    def set_(**kw):
        for k, v in kw.items():
            monkeypatch.setattr(limits, k, v)
    return set_


def test_a_reader_over_time_is_stopped_with_a_message(loaded, tmp_path, small_limits):
    path = tmp_path / "rekap_lambat.csv"
    path.write_bytes(corpus.csv_cells(60_000, 30))  # seconds of work once the limits allow it
    small_limits(TIMEOUT_S=1, MAX_ROWS=100_000, MAX_RECORDS=200_000, MAX_CELLS=3_000_000)
    t0 = time.monotonic()
    with loaded.app_context(), pytest.raises(ImportProblem) as ei:
        import_recap(path)
    assert time.monotonic() - t0 < 3
    assert "terlalu besar/rumit untuk diimpor" in str(ei.value) and "batas 1 detik" in str(ei.value)
    assert sandbox.last_run["outcome"] == "timeout"
    assert not Path(sandbox.last_run["tmpdir"]).exists()


def test_a_reader_over_memory_is_stopped_with_a_message(loaded, tmp_path, small_limits):
    path = tmp_path / "rekap_besar.csv"
    path.write_bytes(corpus.csv_cells(9_000, 30))
    small_limits(MEMORY_MB=10)
    with loaded.app_context(), pytest.raises(ImportProblem) as ei:
        import_recap(path)
    assert "terlalu besar/rumit untuk diimpor" in str(ei.value) and "batas memori 10 MB" in str(ei.value)


def test_memory_of_a_hostile_import_is_given_back(loaded, tmp_path):
    path = tmp_path / "rekap_bom.xlsx"
    path.write_bytes(corpus.xlsx_rows_bomb(100_000))
    rss = sandbox._proc_status().get("VmRSS", 0)
    with loaded.app_context():
        for _ in range(3):
            with pytest.raises(ImportProblem):
                import_recap(path)
    assert sandbox.last_run["peak_rss"] > 0
    assert sandbox._proc_status().get("VmRSS", 0) - rss < 50 * 1024 * 1024


def test_a_crash_in_the_reader_is_an_import_problem_and_logged(caplog):
    with pytest.raises(ImportProblem) as ei:
        sandbox.run("no-such-task", (), filename="x.csv")
    assert str(ei.value).startswith('Berkas "x.csv": berkas tidak dapat dibaca')
    assert "KeyError" in caplog.text


def test_a_normal_import_stays_fast(loaded):
    sandbox.run("recap", (str(DATA / "rekap_fiktif.csv"), "r.csv", None, None), filename="r.csv")
    t0 = time.monotonic()
    sandbox.run("boundaries", (str(DATA / "desa_fiktif.geojson"), "d.geojson"), filename="d.geojson")
    assert time.monotonic() - t0 < 1.0


# --------------------------------------------------------------------------- uploads folder
def upload(client, url, field, data: bytes, filename: str):
    return client.post(url, data={field: (io.BytesIO(data), filename)}, content_type="multipart/form-data")


@pytest.fixture
def own_instance(app, tmp_path):
    app.instance_path = str(tmp_path / "instance")
    Path(app.instance_path).mkdir()
    return Path(app.instance_path) / "uploads"


def test_failed_and_crashed_uploads_are_removed(app, client, own_instance, monkeypatch):
    r = upload(client, "/impor/batas", "v-file", corpus.VRT_PASSWD, "batas.geojson")
    assert r.status_code == 400
    r = upload(client, "/impor/rekap", "r-file", b"KODE,DESA\n" + b"x" * 200_000, "rekap.csv")
    assert r.status_code == 400
    assert list(own_instance.iterdir()) == []

    from planner import importer

    def boom(*_a, **_k):
        raise RuntimeError("importer crashed")

    monkeypatch.setattr(importer, "import_recap", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    r = upload(client, "/impor/rekap", "r-file", (DATA / "rekap_fiktif.csv").read_bytes(), "rekap.csv")
    assert r.status_code == 500
    assert list(own_instance.iterdir()) == [], "a crashed upload was kept"


def test_full_uploads_folder_is_a_message_not_a_500(app, client, own_instance, monkeypatch):
    from planner.web import imports

    monkeypatch.setattr(imports, "PENDING_MAX_MB", 1)
    own_instance.mkdir()
    kept = own_instance / ("a" * 32)  # a recent upload waiting for its confirmation
    kept.mkdir()
    (kept / "meta.json").write_text('{"original": "r.csv", "file": "r.csv"}')
    (kept / "r.csv").write_bytes(b"x" * (1024 * 1024))
    r = upload(client, "/impor/batas", "v-file", (DATA / "desa_fiktif.geojson").read_bytes(),
               "desa_fiktif.geojson")
    assert r.status_code == 503
    page = html.unescape(r.get_data(as_text=True))
    assert "folder unggahan sementara di server penuh" in page and "batas 1 MB" in page
    assert kept.exists() and len(list(own_instance.iterdir())) == 1
    # once it is older than an hour, it makes room for the new upload
    old = time.time() - 2 * 3600
    import os

    os.utime(kept, (old, old))
    r = upload(client, "/impor/batas", "v-file", (DATA / "desa_fiktif.geojson").read_bytes(),
               "desa_fiktif.geojson")
    assert r.status_code == 302
    assert list(own_instance.iterdir()) == []


def test_a_new_file_replaces_the_upload_kept_for_confirmation(app, client, own_instance):
    upload(client, "/impor/batas", "v-file", (DATA / "desa_fiktif.geojson").read_bytes(), "d.geojson")
    similar = b"DESA,KECAMATAN,JUMLAH PENDUDUK,WAJIB KTP-EL,SUDAH REKAM\nTumbang Mangis,Tengah Raya,100,80,60\n"
    r = upload(client, "/impor/rekap", "r-file", similar, "mirip.csv")
    token = re.search(r'name="r-pending" type="hidden" value="([0-9a-f]{32})"', r.get_data(as_text=True)).group(1)
    assert (own_instance / token).exists()
    r = client.post("/impor/rekap", data={"r-pending": token, "r-file": (io.BytesIO(b"x"), "lain.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 400
    assert list(own_instance.iterdir()) == []


def test_imports_from_threads_as_under_a_threaded_server(tmp_path):
    """The Flask dev server runs each request in a thread: children are never forked from it."""
    bad = tmp_path / "rekap_sel_besar.csv"
    bad.write_bytes(corpus.csv_text(corpus.recap_rows({(3, 1): corpus.BIG})).encode())
    results = {}

    def work(i):
        try:
            sandbox.run("recap", (str(bad), f"r{i}.csv", None, None), filename=f"r{i}.csv")
        except ImportProblem as exc:
            results[i] = str(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == [0, 1, 2, 3]
    assert all("131.072 karakter" in results[i] and f'"r{i}.csv"' in results[i] for i in results)
