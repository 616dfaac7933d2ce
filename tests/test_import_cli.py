"""``planner import-villages`` and ``planner import-recap``: summaries on success, one
paragraph on stderr and exit code 1 on bad input (never a traceback)."""

from __future__ import annotations

from pathlib import Path

from conftest import table_counts

DATA = Path(__file__).parent / "data" / "import"


counts = table_counts


def test_import_villages_and_recap(app, runner):
    r = runner.invoke(args=["import-villages", str(DATA / "desa_fiktif.geojson"), "--fictional"])
    assert r.exit_code == 0, r.output
    assert "8 villages in 3 kecamatan (8 new, 0 updated" in r.output
    r = runner.invoke(args=["import-recap", str(DATA / "rekap_fiktif.csv"), "--name", "Rekap CLI",
                            "--date", "2026-11-30", "--synthetic"])
    assert r.exit_code == 0, r.output
    assert 'dataset "Rekap CLI" (2026-11-30) with 8 villages; population 28,010' in r.output
    assert counts(app) == {"villages": 8, "datasets": 1, "village_stats": 8}
    r = runner.invoke(args=["rank", "--format", "json"])
    assert r.exit_code == 0 and '"code": "99.01.03.2001"' in r.output


def test_bad_recap_prints_one_paragraph_and_exits_1(app, runner, tmp_path):
    runner.invoke(args=["import-villages", str(DATA / "desa_fiktif.geojson")])
    bad = tmp_path / "rekap_buruk.csv"
    bad.write_text((DATA / "rekap_fiktif.csv").read_text().replace('"1.540"', '"abc"'))
    before = counts(app)
    r = runner.invoke(args=["import-recap", str(bad)])
    assert r.exit_code == 1
    assert 'Error: Berkas "rekap_buruk.csv", baris 7, kolom "WAJIB KTP-EL": nilai "abc" bukan angka' in r.output
    assert "Traceback" not in r.output and isinstance(r.exception, SystemExit)
    assert counts(app) == before


def test_recap_without_villages_and_missing_file(app, runner, tmp_path):
    r = runner.invoke(args=["import-recap", str(DATA / "rekap_fiktif.csv")])
    assert r.exit_code == 1 and "impor batas desa dulu" in r.output
    r = runner.invoke(args=["import-villages", str(tmp_path / "tidak_ada.geojson")])
    assert r.exit_code == 1 and 'Berkas "tidak_ada.geojson": berkas tidak ditemukan' in r.output


def test_confirm_option(app, runner, tmp_path):
    runner.invoke(args=["import-villages", str(DATA / "desa_fiktif.geojson")])
    path = tmp_path / "mirip.csv"
    path.write_text("DESA;KECAMATAN;PENDUDUK;WAJIB KTP-EL;SUDAH REKAM\n"
                    "Tumbang Mangis;Tengah Raya;1.210;860;700\n")
    r = runner.invoke(args=["import-recap", str(path)])
    assert r.exit_code == 1 and "--confirm 2=99.01.02.2003" in r.output
    assert counts(app)["datasets"] == 0
    r = runner.invoke(args=["import-recap", str(path), "--confirm", "nonsense"])
    assert r.exit_code == 2 and "ROW=CODE" in r.output
    r = runner.invoke(args=["import-recap", str(path), "--confirm", "2=99.01.02.2003"])
    assert r.exit_code == 0, r.output
    assert "Matched by: confirmed 1." in r.output
    r = runner.invoke(args=["import-recap", str(path), "--date", "30-11-2026"])
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output
