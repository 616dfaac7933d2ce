"""A corpus of malformed recap and boundary files. Each one must fail with ONE paragraph
naming the file, the row (or feature) and the column, and leave the database exactly as it was
(row counts and village attributes compared before and after)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest
from conftest import table_counts
from sqlalchemy import text

from planner.extensions import db
from planner.importer import ImportProblem, import_recap, import_villages

DATA = Path(__file__).parent / "data" / "import"

HEADER = ["KODE", "DESA", "KECAMATAN", "JUMLAH PENDUDUK", "WAJIB KTP-EL", "SUDAH REKAM"]
BASE = [  # matches tests/data/import/desa_fiktif.geojson (fictional)
    ["99.01.01.1001", "Kuala Fiktif", "Hilir Fiktif", "12.450", "9.120", "9.310"],
    ["99.01.01.1002", "Pasar Lama", "Hilir Fiktif", "8.300", "6.010", "5.700"],
    ["99.01.01.2003", "Sungai Jernih", "Hilir Fiktif", "2.150", "1.540", "1.320"],
    ["99.01.02.2001", "Tanjung Harapan", "Tengah Raya", "1.830", "1.300", "1.150"],
    ["99.01.02.2002", "Bukit Sari", "Tengah Raya", "950", "690", "610"],
    ["99.01.02.2003", "Tumbang Manggis", "Tengah Raya", "1.210", "860", "700"],
    ["99.01.03.2001", "Tumbang Rasau", "Hulu Jauh", "640", "450", "300"],
    ["99.01.03.2002", "Batu Panahan", "Hulu Jauh", "480", "350", "245"],
]
TOTAL = ["", "TOTAL", "", "28.010", "20.320", "19.335"]


def csv_text(rows, sep=","):
    def q(v):
        v = str(v)
        return f'"{v}"' if sep in v or '"' in v else v
    return "\n".join(sep.join(q(v) for v in r) for r in rows) + "\n"


def table(*, header=HEADER, rows=None, edit=None, extra=(), total=False, drop=None):
    """HEADER + BASE (copied), ``edit`` = {(row_index, col_index): value}; row numbers in the
    file are index + 2 (the header is line 1)."""
    body = [list(r) for r in (BASE if rows is None else rows)]
    for (i, j), v in (edit or {}).items():
        body[i][j] = v
    out = [list(header)] + body + [list(r) for r in extra]
    if total:
        out.append(list(TOTAL))
    if drop is not None:
        out = [[v for k, v in enumerate(r) if k != drop] for r in out]
    return out


@dataclass
class Case:
    id: str
    filename: str
    content: object  # bytes, str, list of rows (CSV) or callable(path)
    row: int | None
    column: str | None
    phrase: str
    confirm: dict | None = None
    sep: str = ","
    encoding: str = "utf-8"
    kind: str = "recap"
    extra_phrases: list = field(default_factory=list)

    def write(self, folder: Path) -> Path:
        path = folder / self.filename
        c = self.content
        if callable(c):
            c(path)
        elif isinstance(c, bytes):
            path.write_bytes(c)
        elif isinstance(c, str):
            path.write_bytes(c.encode(self.encoding))
        else:
            path.write_bytes(csv_text(c, self.sep).encode(self.encoding))
        return path


def xlsx_title_rows_negative(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["REKAP PEREKAMAN KTP-EL (FIKTIF)"])
    ws.merge_cells("A1:F1")
    ws.append([])
    ws.append(["KODE", "DESA", "KECAMATAN", "JUMLAH", None, None])
    ws.append([None, None, None, "PENDUDUK", "WAJIB KTP-EL", "SUDAH REKAM"])
    for rng in ("A3:A4", "B3:B4", "C3:C4", "D3:F3"):
        ws.merge_cells(rng)
    for r in BASE:
        ws.append([r[0], r[1], r[2], int(r[3].replace(".", "")), int(r[4].replace(".", "")),
                   int(r[5].replace(".", ""))])
    ws["F9"] = -12  # Excel row 9 = the 5th village
    wb.save(path)


def xlsx_text_in_number_cell(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in BASE:
        ws.append([r[0], r[1], r[2], int(r[3].replace(".", "")), int(r[4].replace(".", "")),
                   int(r[5].replace(".", ""))])
    ws["E4"] = "seribu"
    wb.save(path)


def xlsx_formula_without_value(path):
    """Written by a program, never opened in Excel: the formula has no stored value."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in BASE:
        ws.append([r[0], r[1], r[2], int(r[3].replace(".", "")), int(r[4].replace(".", "")),
                   int(r[5].replace(".", ""))])
    ws["F3"] = "=E3-310"
    wb.save(path)


NO_CODE_HEADER = HEADER[1:]
NO_CODE_ROWS = [r[1:] for r in BASE]

RECAP_CASES = [
    Case("negative_recorded", "negatif.csv", table(edit={(1, 5): "-5"}), 3, "SUDAH REKAM",
         "nilai -5 negatif; jumlah tidak boleh negatif"),
    Case("negative_population", "negatif_penduduk.csv", table(edit={(0, 3): "-1"}), 2,
         "JUMLAH PENDUDUK", "negatif"),
    Case("non_numeric", "huruf.csv", table(edit={(2, 3): "dua ribu"}), 4, "JUMLAH PENDUDUK",
         'nilai "dua ribu" bukan angka'),
    Case("fraction", "pecahan.csv", table(edit={(3, 4): "12,5"}), 5, "WAJIB KTP-EL",
         "bukan bilangan bulat"),
    Case("empty_count", "kosong_sel.csv", table(edit={(4, 5): ""}), 6, "SUDAH REKAM", "sel kosong"),
    Case("recorded_gt_population", "rekam_lebih.csv", table(edit={(6, 5): "5.000"}), 8,
         "SUDAH REKAM", "sudah rekam 5.000 lebih besar dari jumlah penduduk 640"),
    Case("obliged_gt_population", "wajib_lebih.csv", table(edit={(7, 4): "900"}), 9,
         "WAJIB KTP-EL", "wajib KTP-el 900 lebih besar dari jumlah penduduk 480"),
    Case("duplicate_code", "kode_ganda.csv", table(edit={(7, 0): "99.01.01.1001"}), 9, "KODE",
         "kode 99.01.01.1001 ganda: sudah dipakai di baris 2"),
    Case("duplicate_name_without_codes", "nama_ganda.csv",
         table(header=NO_CODE_HEADER, rows=[*NO_CODE_ROWS, ["Bukit Sari", "Tengah Raya", "10", "8", "7"]]),
         10, "DESA", 'desa "Bukit Sari" di kecamatan "Tengah Raya" ganda: sudah ada di baris 6'),
    Case("missing_column", "tanpa_rekam.csv", table(drop=5), 1, "SUDAH REKAM",
         'kolom yang ada: "KODE", "DESA", "KECAMATAN", "JUMLAH PENDUDUK", "WAJIB KTP-EL"'),
    Case("unknown_code", "kode_asing.csv", table(edit={(2, 0): "99.01.09.2001"}), 4, "KODE",
         "kode 99.01.09.2001 (\"Sungai Jernih\") tidak ada di data batas desa"),
    Case("unknown_name", "desa_asing.csv",
         table(header=NO_CODE_HEADER, rows=[*NO_CODE_ROWS[:7], ["Kampung Antah", "Hulu Jauh", "10", "8", "7"]]),
         9, "DESA", "desa 'Kampung Antah' di kecamatan \"Hulu Jauh\" tidak ditemukan"),
    Case("similar_name_unconfirmed", "mirip.csv",
         table(header=NO_CODE_HEADER, rows=NO_CODE_ROWS, edit={(5, 0): "Tumbang Mangis"}), 7,
         "DESA", "mungkin 'Tumbang Manggis'", extra_phrases=["--confirm 7=99.01.02.2003"]),
    Case("confirm_unknown_code", "konfirmasi_salah.csv",
         table(header=NO_CODE_HEADER, rows=NO_CODE_ROWS, edit={(5, 0): "Tumbang Mangis"}), 7,
         "DESA", "kode 99.01.02.9999 tidak ada", confirm={"7": "99.01.02.9999"}),
    Case("two_rows_one_village", "dua_baris_satu_desa.csv",
         table(header=NO_CODE_HEADER, rows=[*NO_CODE_ROWS, ["Desa Batu Panahan", "Hulu Jauh", "10", "8", "7"]]),
         10, "DESA", "sama-sama menunjuk desa Batu Panahan"),
    Case("total_mismatch", "total_salah.csv", table(total=True, edit={}) [:-1] + [["", "TOTAL", "", "28.011", "20.320", "19.335"]],
         10, "JUMLAH PENDUDUK", "TOTAL 28.011 tidak sama dengan jumlah 8 baris desanya 28.010 (selisih 1)"),
    Case("subtotal_mismatch", "subtotal_salah.csv",
         table(rows=[*BASE[:3], ["", "JUMLAH KEC. HILIR FIKTIF", "", "22.900", "16.670", "16.300"], *BASE[3:]]),
         5, "SUDAH REKAM", "subtotal kecamatan Hilir Fiktif 16.300 tidak sama dengan jumlah 3 baris"),
    Case("unrecorded_mismatch", "belum_rekam_salah.csv",
         [HEADER + ["BELUM REKAM"]] + [r + [str(max(int(r[4].replace(".", "")) - int(r[5].replace(".", "")), 0))] for r in BASE[:3]]
         + [BASE[3] + ["99"]], 5, "BELUM REKAM", "belum rekam 99 tidak sama dengan wajib KTP-el − sudah rekam = 150"),
    Case("percent_mismatch", "persen_salah.csv",
         [HEADER + ["%"], BASE[0] + ["102,1 %"], BASE[1] + ["50,0 %"]], 3, "%",
         "persentase 50,0 % tidak cocok dengan sudah rekam / wajib KTP-el = 94,8 %"),
    Case("access_invalid", "akses_salah.csv",
         [HEADER + ["AKSES"], BASE[0] + ["darat"], BASE[1] + ["helikopter"]], 3, "AKSES",
         'akses "helikopter" tidak dikenal'),
    Case("signal_invalid", "sinyal_salah.csv",
         [HEADER + ["TANPA SINYAL"], BASE[0] + ["ya"], BASE[1] + ["mungkin"]], 3, "TANPA SINYAL",
         'nilai "mungkin" tidak dikenal; isi ya atau tidak'),
    Case("xlsx_title_rows_negative", "rekap_judul.xlsx", xlsx_title_rows_negative, 9, "SUDAH REKAM",
         "nilai -12 negatif"),
    Case("xlsx_text_in_number_cell", "rekap_teks.xlsx", xlsx_text_in_number_cell, 4, "WAJIB KTP-EL",
         'nilai "seribu" bukan angka'),
    Case("xlsx_formula_without_value", "rekap_rumus.xlsx", xlsx_formula_without_value, 3,
         "SUDAH REKAM", "sel kosong", extra_phrases=["jika sel berisi rumus"]),
    Case("count_too_large", "terlalu_besar.csv", table(edit={(0, 3): "99.999.999.999"}), 2,
         "JUMLAH PENDUDUK", "nilai 99.999.999.999 terlalu besar untuk satu desa/kelurahan"),
    Case("semicolon_cp1252_recorded_gt_population", "r\u00e9kap_cp1252.csv",
         table(edit={(0, 1): "Kuala Fikti\u00e9", (0, 5): "99.999"}), 2, "SUDAH REKAM",
         "lebih besar dari jumlah penduduk", sep=";", encoding="cp1252"),
    Case("figures_after_total", "sesudah_total.csv",
         table(total=True) + [["99.01.04.2001", "Desa Lain", "Hilir Fiktif", "10", "8", "7"]], 11, "DESA",
         "ada baris berangka sesudah baris TOTAL"),
    Case("empty_name", "nama_kosong.csv", table(edit={(3, 0): "", (3, 1): "", (3, 2): ""}), 5,
         "DESA", "nama desa/kelurahan kosong"),
    # a row with a kecamatan and figures but no name or code is read as that kecamatan's
    # subtotal (offices write them so), and then it does not add up
    Case("nameless_row_read_as_subtotal", "tanpa_nama.csv",
         table(header=NO_CODE_HEADER, rows=NO_CODE_ROWS, edit={(3, 0): ""}), 5, "JUMLAH PENDUDUK",
         "subtotal kecamatan Tengah Raya 1.830 tidak sama dengan jumlah 2 baris desanya 2.160",
         extra_phrases=["baris tanpa nama desa dan kode dianggap subtotal"]),
    Case("empty_kecamatan_without_code", "kecamatan_kosong.csv",
         table(header=NO_CODE_HEADER, rows=NO_CODE_ROWS, edit={(2, 1): ""}), 4, "KECAMATAN",
         "kecamatan kosong"),
    Case("row_without_figures", "tanpa_angka.csv",
         table(edit={(4, 3): "", (4, 4): "", (4, 5): ""}), 6, "JUMLAH PENDUDUK", "baris tanpa angka"),
    Case("no_data_rows", "judul_saja.csv", [HEADER], 1, None, "tidak ada baris data desa"),
]

# file-level problems: there is no row or column to name, only the file and what is wrong
FILE_CASES = [
    Case("empty_file", "kosong.csv", b"", None, None, "berkas kosong"),
    Case("blank_lines_only", "spasi.csv", "\n\n  \n", None, None, "berkas kosong"),
    Case("binary_not_csv", "gambar.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), None, None,
         "bukan CSV atau XLSX"),
    Case("corrupt_xlsx", "rusak.xlsx", b"PK\x03\x04" + b"not really a zip" * 10, None, None,
         "rusak atau bukan XLSX"),
    Case("old_xls", "lama.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), None, None, "(.xls)"),
    Case("no_header", "tanpa_judul.csv", "a,b,c\n1,2,3\n", None, None, "baris judul kolom tidak ditemukan"),
]


def boundary(features, name="batas.geojson"):
    def write(path: Path):
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return write


def feat(code, name, kec="Hilir Fiktif", geom="square", **props):
    if geom == "square":
        geom = {"type": "Polygon", "coordinates": [[[113, -2], [113.1, -2], [113.1, -1.9], [113, -1.9], [113, -2]]]}
    return {"type": "Feature", "properties": {"code": code, "name": name, "kecamatan": kec, **props},
            "geometry": geom}


GOOD = [feat("99.01.01.1001", "Kuala Fiktif"), feat("99.01.01.1002", "Pasar Lama")]
BOUNDARY_CASES = [
    Case("duplicate_code", "batas_ganda.geojson",
         boundary([*GOOD, feat("99.01.01.1001", "Kuala Lain")]), 3, "code",
         "kode 99.01.01.1001 ganda: sudah dipakai fitur 1", kind="villages"),
    Case("null_geometry", "batas_tanpa_geometri.geojson",
         boundary([GOOD[0], feat("99.01.01.1002", "Pasar Lama", geom=None)]), 2, "geometry",
         "geometri kosong", kind="villages"),
    Case("no_code_no_name", "batas_tanpa_nama.geojson",
         boundary([*GOOD, feat("", "")]), 3, "code", "kode dan nama desa sama-sama kosong",
         kind="villages"),
    Case("line_geometry", "batas_garis.geojson",
         boundary([GOOD[0], feat("99.01.01.1002", "Pasar Lama",
                                 geom={"type": "LineString", "coordinates": [[113, -2], [113.1, -2]]})]),
         2, "geometry", "geometri LineString tidak didukung", kind="villages"),
    Case("bad_type", "batas_jenis.geojson",
         boundary([GOOD[0], feat("99.01.01.1002", "Pasar Lama", type="kota")]), 2, "type",
         'jenis "kota" tidak dikenal', kind="villages"),
    Case("bad_access", "batas_akses.geojson",
         boundary([feat("99.01.01.1001", "Kuala Fiktif", access="darat"),
                   feat("99.01.01.1002", "Pasar Lama", access="terbang")]), 2, "access",
         'akses "terbang" tidak dikenal', kind="villages"),
    Case("bad_stop_point", "batas_titik.geojson",
         boundary([feat("99.01.01.1001", "Kuala Fiktif", stop_lat=-1.95, stop_lon=113.05),
                   feat("99.01.01.1002", "Pasar Lama", stop_lat=-95.0, stop_lon=113.05)]), 2,
         "stop_lat", "di luar rentang", kind="villages"),
    Case("empty_kecamatan", "batas_kec.geojson",
         boundary([GOOD[0], feat("99.01.01.1002", "Pasar Lama", kec="")]), 2, "kecamatan",
         "kecamatan kosong", kind="villages"),
]
BOUNDARY_FILE_CASES = [
    Case("garbage", "rusak.geojson", "{ this is not json", None, None, "bukan data peta", kind="villages"),
    Case("no_features", "kosong.geojson", '{"type": "FeatureCollection", "features": []}', None, None,
         "tidak berisi fitur", kind="villages"),
    Case("zip_without_shapefile", "arsip.zip", b"PK\x05\x06" + bytes(18), None, None,
         "tidak berisi shapefile", kind="villages"),
    Case("missing_kecamatan_property", "batas_tanpa_kec.geojson",
         boundary([{"type": "Feature", "properties": {"code": "99.01.01.1001", "name": "X"},
                    "geometry": GOOD[0]["geometry"]}]), None, "kecamatan",
         'kolom yang ada: "code", "name"', kind="villages"),
]


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The fictional villages and one recap in the database, shared by the corpus: every case
    must leave it unchanged, which ``run_case`` asserts (so a leak would show in the case that
    caused it)."""
    from conftest import make_app

    app = make_app(tmp_path_factory.mktemp("malformed_db"))
    with app.app_context():
        import_villages(DATA / "desa_fiktif.geojson", fictional=True)
        import_recap(DATA / "rekap_fiktif.csv")
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def runner(loaded):
    """The ``planner`` CLI on the shared database (replaces conftest's per-test app here)."""
    return loaded.test_cli_runner()


def db_state(app):
    with app.app_context():
        counts = table_counts()
        villages = db.session.execute(text(
            "SELECT code, name, kecamatan, access, no_signal, geometry FROM villages ORDER BY code")).all()
        db.session.remove()
    return counts, [tuple(v) for v in villages]


def run_case(app, tmp_path, case: Case) -> ImportProblem:
    path = case.write(tmp_path)
    before = db_state(app)
    assert before[0]["villages"] == 8 and before[0]["datasets"] == 1
    with app.app_context():
        with pytest.raises(ImportProblem) as ei:
            if case.kind == "recap":
                import_recap(path, confirm=case.confirm)
            else:
                import_villages(path)
        db.session.remove()
    assert db_state(app) == before, "a failed import changed the database"
    err = ei.value
    msg = str(err)
    assert err.file == case.filename
    assert msg.startswith(f'Berkas "{case.filename}"')
    assert case.phrase in msg, msg
    for p in case.extra_phrases:
        assert p in msg, msg
    assert "\n" not in msg and "Traceback" not in msg
    return err


def test_corpus_is_large_enough():
    assert len(RECAP_CASES) + len(BOUNDARY_CASES) >= 20
    assert len({c.filename for c in RECAP_CASES + BOUNDARY_CASES}) == len(RECAP_CASES + BOUNDARY_CASES)


def run_cli(app, runner, path: Path, case: Case, expected: str) -> None:
    """The same file through ``planner import-…``: exit code 1, the same paragraph."""
    before = db_state(app)
    args = ["import-recap" if case.kind == "recap" else "import-villages", str(path)]
    for row, code in (case.confirm or {}).items():
        args += ["--confirm", f"{row}={code}"]
    r = runner.invoke(args=args)
    assert r.exit_code == 1, r.output
    assert r.output == f"Error: {expected}\n"
    assert db_state(app) == before


@pytest.mark.parametrize("case", RECAP_CASES + BOUNDARY_CASES, ids=lambda c: f"{c.kind}-{c.id}")
def test_malformed_file_names_file_row_and_column(loaded, runner, tmp_path, case):
    err = run_case(loaded, tmp_path, case)
    msg = str(err)
    run_cli(loaded, runner, tmp_path / case.filename, case, msg)
    unit = "baris" if case.kind == "recap" else "fitur"
    assert err.row == case.row, msg
    assert f'Berkas "{case.filename}", {unit} {case.row}' in msg
    if case.column is None:
        assert err.column is None
    else:
        assert err.column == case.column, msg
        assert f'{unit} {case.row}, kolom "{case.column}": ' in msg


@pytest.mark.parametrize("case", FILE_CASES + BOUNDARY_FILE_CASES, ids=lambda c: f"{c.kind}-{c.id}")
def test_unreadable_file_names_the_file(loaded, runner, tmp_path, case):
    err = run_case(loaded, tmp_path, case)
    run_cli(loaded, runner, tmp_path / case.filename, case, str(err))
    assert err.row is None
    assert err.column == case.column


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_projected_shapefile_without_crs_is_refused(loaded, runner, tmp_path):
    import zipfile

    import geopandas as gpd
    from shapely.geometry import box

    folder = tmp_path / "shp"
    folder.mkdir()
    gpd.GeoDataFrame({"code": ["99.01.01.1001"], "name": ["X"], "kecamatan": ["Y"]},
                     geometry=[box(500000, 9700000, 510000, 9710000)]).to_file(folder / "desa.shp")
    path = tmp_path / "utm_tanpa_prj.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f.name)
    case = Case("no_crs", "utm_tanpa_prj.zip", lambda p: None, None, "geometry",
                "tidak menyebut sistem koordinat", kind="villages")
    err = run_case(loaded, tmp_path, case)
    assert err.column == "geometry"
    run_cli(loaded, runner, path, case, str(err))
