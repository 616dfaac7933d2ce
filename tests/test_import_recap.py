"""The recap reader on good files: CSV dialects and encodings, XLSX with title rows and merged
headers, English headers, Indonesian numbers, subtotal and TOTAL rows."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from planner.importer import ImportProblem, read_recap
from planner.importer.recap import match_header, normalise_code, parse_count, parse_percent

DATA = Path(__file__).parent / "data" / "import"

# (code, name, kecamatan, population, obliged, recorded) — fictional
ROWS = [
    ("99.01.01.1001", "Kuala Fiktif", "Hilir Fiktif", 12450, 9120, 9310),
    ("99.01.01.1002", "Pasar Lama", "Hilir Fiktif", 8300, 6010, 5700),
    ("99.01.02.2001", "Tanjung Harapan", "Tengah Raya", 1830, 1300, 1150),
    ("99.01.03.2001", "Tumbang Rasau", "Hulu Jauh", 640, 450, 300),
]


def idn(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def test_committed_csv_with_title_subtotals_total_and_footer():
    t = read_recap(DATA / "rekap_fiktif.csv")
    assert t.filename == "rekap_fiktif.csv"
    assert len(t.frame) == 8
    assert list(t.frame["row"]) == [5, 6, 7, 9, 10, 11, 13, 14]  # file line numbers
    first = t.frame.iloc[0]
    assert (first["code"], first["population"], first["obliged"], first["recorded"]) == (
        "99.01.01.1001", 12450, 9120, 9310)  # recorded > obliged is allowed
    assert t.total == {"population": 28010, "obliged": 20320, "recorded": 19335, "row": 16,
                       "unrecorded": 1175}
    assert int(t.frame["population"].sum()) == t.total["population"]
    assert [s["row"] for s in t.subtotals] == [8, 12, 15]
    assert t.headers["recorded"] == "SUDAH REKAM"
    assert "access" not in t.frame.columns


def test_semicolon_cp1252(tmp_path):
    lines = ["KODE;DESA/KELURAHAN;KECAMATAN;JUMLAH PENDUDUK;WAJIB KTP-EL;SUDAH REKAM"]
    lines += [f"{c};{n};{k};{idn(p)};{idn(o)};{idn(r)}" for c, n, k, p, o, r in ROWS]
    lines[1] = lines[1].replace("Kuala Fiktif", "Kuala Fikti\u00e9\u2019s")  # é and ’ in cp1252
    path = tmp_path / "rekap_cp1252.csv"
    path.write_bytes("\r\n".join(lines).encode("cp1252"))
    t = read_recap(path)
    assert t.frame["name"].iloc[0] == "Kuala Fikti\u00e9\u2019s"
    assert list(t.frame["population"]) == [r[3] for r in ROWS]
    assert list(t.frame["row"]) == [2, 3, 4, 5]
    assert t.total is None


def test_utf8_bom_comma_and_quoted_indonesian_numbers(tmp_path):
    lines = ["Kode Wilayah,Nama Desa,Kecamatan,Penduduk,Wajib KTP,Rekam,Belum Rekam,Persentase"]
    for c, n, k, p, o, r in ROWS:
        pct = f"{r / o * 100:.1f}".replace(".", ",")
        lines.append(f'{c},{n},{k},"{idn(p)}","{idn(o)}","{idn(r)}",{max(o - r, 0)},"{pct} %"')
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode("utf-8"))
    t = read_recap(path)
    assert t.headers["code"] == "Kode Wilayah"  # BOM stripped: the first header still matches
    assert list(t.frame["recorded"]) == [r[5] for r in ROWS]


def test_english_headers_and_plain_numbers(tmp_path):
    lines = ["code,village,district,population,obliged,recorded,unrecorded,%"]
    for c, n, k, p, o, r in ROWS:
        lines.append(f"{c},{n},{k},{p},{o},{r},{max(o - r, 0)},{r / o * 100:.2f}%")
    lines.append(f",TOTAL,,{sum(r[3] for r in ROWS)},{sum(r[4] for r in ROWS)},{sum(r[5] for r in ROWS)},,")
    path = tmp_path / "english.csv"
    path.write_text("\n".join(lines))
    t = read_recap(path)
    assert len(t.frame) == 4
    assert t.total["obliged"] == sum(r[4] for r in ROWS)


def _merged_xlsx(path: Path, *, percent_as_fraction=True) -> None:
    """The shape offices send: two title rows, a two-row header where JUMLAH spans three
    columns and KODE/DESA/KECAMATAN span both header rows, Excel numbers, subtotal and a TOTAL
    row whose label is merged over the first columns."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["REKAPITULASI PEREKAMAN KTP-EL KABUPATEN FIKTIF"])
    ws.append(["Keadaan s.d. 30 November 2026"])
    ws.append([])
    ws.append(["NO", "KODE", "DESA/KELURAHAN", "KECAMATAN", "JUMLAH", None, None, "BELUM REKAM", "%"])
    ws.append([None, None, None, None, "PENDUDUK", "WAJIB KTP-EL", "SUDAH REKAM", None, None])
    for rng in ("A1:I1", "A2:I2", "A4:A5", "B4:B5", "C4:C5", "D4:D5", "E4:G4", "H4:H5", "I4:I5"):
        ws.merge_cells(rng)
    by_kec: dict[str, list] = {}
    for row in ROWS:
        by_kec.setdefault(row[2], []).append(row)
    n = 0
    for kec, rows in by_kec.items():
        for c, name, k, p, o, r in rows:
            n += 1
            pct = r / o if percent_as_fraction else round(r / o * 100, 1)
            ws.append([n, c, name, k, p, o, r, max(o - r, 0), pct])
        ws.append([None, None, f"JUMLAH KEC. {kec.upper()}", None, sum(x[3] for x in rows),
                   sum(x[4] for x in rows), sum(x[5] for x in rows), None, None])
    ws.append(["JUMLAH", None, None, None, sum(x[3] for x in ROWS), sum(x[4] for x in ROWS),
               sum(x[5] for x in ROWS), sum(max(x[4] - x[5], 0) for x in ROWS), None])
    ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=4)
    ws.append([])
    ws.append(["Sumber: data fiktif untuk pengujian"])
    wb.save(path)


def test_xlsx_title_rows_merged_two_row_header(tmp_path):
    path = tmp_path / "rekap.xlsx"
    _merged_xlsx(path)
    t = read_recap(path)
    # columns are named by their own cell under the merged "JUMLAH"
    assert t.headers["population"] == "PENDUDUK"
    assert t.headers["recorded"] == "SUDAH REKAM"
    assert list(t.frame["code"]) == [r[0] for r in ROWS]
    assert list(t.frame["row"]) == [6, 7, 9, 11]  # Excel row numbers
    assert [s["row"] for s in t.subtotals] == [8, 10, 12]
    assert t.total["row"] == 13 and t.total["recorded"] == sum(r[5] for r in ROWS)


def test_xlsx_percent_as_number(tmp_path):
    path = tmp_path / "rekap_pct.xlsx"
    _merged_xlsx(path, percent_as_fraction=False)
    assert len(read_recap(path).frame) == 4


def test_kecamatan_headings_and_subtotal_rows_without_codes(tmp_path):
    lines = ["NO;NAMA DESA;JUMLAH PENDUDUK;WAJIB KTP-EL;SUDAH REKAM",
             "(1);(2);(3);(4);(5)",
             ";KECAMATAN HILIR FIKTIF;;;",
             "1;Desa Kuala Fiktif;12.450;9.120;9.310",
             "2;Pasar Lama;8.300;6.010;5.700",
             ";SUBTOTAL;20.750;15.130;15.010",
             ";KEC. TENGAH RAYA;;;",
             "3;Tanjung Harapan;1.830;1.300;1.150",
             ";JUMLAH KECAMATAN TENGAH RAYA;1.830;1.300;1.150",
             ";JUMLAH TOTAL;22.580;16.430;16.160"]
    path = tmp_path / "headings.csv"
    path.write_text("\n".join(lines))
    t = read_recap(path)
    assert list(t.frame["kecamatan"]) == ["HILIR FIKTIF", "HILIR FIKTIF", "TENGAH RAYA"]
    assert t.frame["code"].isna().all()
    assert t.total["population"] == 22580
    assert [s["row"] for s in t.subtotals] == [6, 9]


def test_row_with_only_kecamatan_and_sums_is_a_subtotal(tmp_path):
    lines = ["KODE,DESA,KECAMATAN,PENDUDUK,WAJIB KTP-EL,SUDAH REKAM"]
    lines += [f"{c},{n},{k},{p},{o},{r}" for c, n, k, p, o, r in ROWS[:2]]
    lines.append(",,Hilir Fiktif,20750,15130,15010")
    path = tmp_path / "sub.csv"
    path.write_text("\n".join(lines))
    t = read_recap(path)
    assert len(t.frame) == 2 and t.subtotals[0]["row"] == 4


def test_access_and_signal_columns(tmp_path):
    lines = ["KODE,DESA,KECAMATAN,PENDUDUK,WAJIB KTP-EL,SUDAH REKAM,AKSES,SINYAL",
             "99.01.01.1001,Kuala Fiktif,Hilir Fiktif,100,80,70,Darat,ya",
             "99.01.01.1002,Pasar Lama,Hilir Fiktif,100,80,70,sungai,tidak",
             "99.01.02.2001,Tanjung Harapan,Tengah Raya,100,80,70,Darat & Sungai,",
             "6202012003,Tumbang Rasau,Hulu Jauh,100,80,70,,Tidak Ada"]
    path = tmp_path / "akses.csv"
    path.write_text("\n".join(lines))
    t = read_recap(path)
    assert list(t.frame["access"]) == ["road", "river", "both", None]
    # the column says "SINYAL" (has signal), so "tidak" means no signal
    assert list(t.frame["no_signal"]) == [False, True, None, True]
    assert t.frame["code"].iloc[3] == "62.02.01.2003"


@pytest.mark.parametrize("raw,expected", [
    (1234, 1234), (1234.0, 1234), ("1234", 1234), ("1.234", 1234), ("1.234.567", 1234567),
    ("1,234", 1234), (" 12 345 ", 12345), ("-", 0), ("-5", -5), ("1.000", 1000), ("980,0", 980),
])
def test_parse_count(raw, expected):
    assert parse_count(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "12,5", "1.5", 12.5, "", None, "12a"])
def test_parse_count_rejects(raw):
    with pytest.raises(ValueError):
        parse_count(raw)


@pytest.mark.parametrize("raw,expected", [
    ("95,4 %", 95.4), ("95,4%", 95.4), ("95.4", 95.4), (0.954, 0.954), ("100", 100.0),
])
def test_parse_percent(raw, expected):
    assert parse_percent(raw) == pytest.approx(expected)


@pytest.mark.parametrize("header,field", [
    ("KODE", "code"), ("Kode Desa", "code"), ("CODE", "code"), ("DESA/KELURAHAN", "name"),
    ("Kelurahan", "name"), ("VILLAGE", "name"), ("District", "kecamatan"),
    ("JUMLAH PENDUDUK", "population"), ("Wajib KTP-el", "obliged"), ("WAJIB REKAM", "obliged"),
    ("JUMLAH SUDAH REKAM", "recorded"), ("Belum Rekam", "unrecorded"), ("(%)", "percent"),
    ("Tanpa Sinyal", "no_signal"), ("JUMLAH", None), ("NO", None),
])
def test_header_names(header, field):
    assert match_header(header) == field


def test_ten_digit_codes_get_dots():
    assert normalise_code("6202012003") == "62.02.01.2003"
    assert normalise_code(" 62.02.01.2003 ") == "62.02.01.2003"
    assert normalise_code("") is None


def test_error_paragraph_lists_further_problems(tmp_path):
    lines = ["KODE,DESA,KECAMATAN,PENDUDUK,WAJIB KTP-EL,SUDAH REKAM"]
    lines += [f"99.01.01.{i:04d},Desa {i},Hilir Fiktif,100,80,-{i}" for i in range(1, 10)]
    path = tmp_path / "banyak.csv"
    path.write_text("\n".join(lines))
    with pytest.raises(ImportProblem) as ei:
        read_recap(path)
    text = str(ei.value)
    assert text.startswith('Berkas "banyak.csv", baris 2, kolom "SUDAH REKAM": nilai -1 negatif')
    assert "(dan 8 masalah lain: baris 3" in text and "dan 3 lagi" in text
    assert "\n" not in text


def test_repeated_header_after_page_break_and_numbering_rows(tmp_path):
    head = "KODE;DESA;KECAMATAN;JUMLAH PENDUDUK;WAJIB KTP-EL;SUDAH REKAM"
    lines = [head, "1;2;3;4;5;6"]
    lines += [f"{c};{n};{k};{idn(p)};{idn(o)};{idn(r)}" for c, n, k, p, o, r in ROWS[:2]]
    lines += ["", head, "(1);(2);(3);(4);(5);(6)"]
    lines += [f"{c};{n};{k};{idn(p)};{idn(o)};{idn(r)}" for c, n, k, p, o, r in ROWS[2:]]
    path = tmp_path / "halaman.csv"
    path.write_text("\n".join(lines))
    t = read_recap(path)
    assert list(t.frame["code"]) == [r[0] for r in ROWS]
    assert list(t.frame["row"]) == [3, 4, 8, 9]


def test_mangled_files_fail_with_one_paragraph_never_a_crash(tmp_path):
    """Seeded random damage to a good recap: every outcome is a clean result or an
    ImportProblem whose text is one paragraph naming the file."""
    import random

    base = (DATA / "rekap_fiktif.csv").read_text().splitlines()
    junk = ["", "-", "abc", "1.2.3", "%", ";", '"', "JUMLAH", "TOTAL", "SUBTOTAL", "KEC. Hulu Jauh",
            "99.01.01.1001", "1e5", "NaN", "-0", "\u0663", "\uff11\uff12", "1.000,5", "KODE", "DESA",
            "SUDAH REKAM", "Pasar Lama", "JUMLAH KEC. HULU JAUH", "a\nb"]
    rng = random.Random(20261127)
    outcomes = {"ok": 0, "problem": 0}
    for i in range(150):
        lines = list(base)
        for _ in range(rng.randint(1, 4)):
            li = rng.randrange(len(lines))
            op = rng.random()
            if op < 0.5:
                cells = lines[li].split(",")
                cells[rng.randrange(len(cells))] = rng.choice(junk)
                lines[li] = ",".join(cells)
            elif op < 0.7:
                del lines[li]
            elif op < 0.85:
                lines.insert(li, lines[rng.randrange(len(lines))])
            else:
                lines[li] = lines[li][: rng.randrange(len(lines[li]) + 1)]
        path = tmp_path / f"rusak_{i}.csv"
        path.write_text("\n".join(lines))
        try:
            read_recap(path)
            outcomes["ok"] += 1
        except ImportProblem as exc:
            outcomes["problem"] += 1
            text = str(exc)
            assert text.startswith(f'Berkas "rusak_{i}.csv"') and "\n" not in text
    assert outcomes["problem"] > 75  # most damage is caught


def test_xlsx_kecamatan_heading_rows_merged_across_the_table(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["NO", "KODE", "DESA/KELURAHAN", "JUMLAH PENDUDUK", "WAJIB KTP-EL", "SUDAH REKAM"])
    r = 1
    for kec in ("Hilir Fiktif", "Tengah Raya", "Hulu Jauh"):
        ws.append([f"KECAMATAN {kec.upper()}"] + [None] * 5)
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=6)
        for _c, n, k, p, o, rec in ROWS:
            if k == kec:
                ws.append([r, None, n, p, o, rec])  # names only: kecamatan from the heading
                r += 1
    path = tmp_path / "judul_kecamatan.xlsx"
    wb.save(path)
    t = read_recap(path)
    assert list(t.frame["name"]) == [x[1] for x in ROWS]
    assert list(t.frame["kecamatan"]) == [x[2].upper() for x in ROWS]
    assert list(t.frame["row"]) == [3, 4, 6, 8]
