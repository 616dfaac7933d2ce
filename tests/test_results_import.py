"""``planner results import``: the teams' results from CSV and XLSX files, through the real
command, the sandboxed upload readers and ``planner.field.record_results`` (the web form's
checks) on a real database. The plan is the day-sheet fixture (tests/data/plan_daysheet.json,
two teams, hostile names) stored over its villages and a fictional recap — no solve needed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from sqlalchemy import func, select

from planner import field, plan_store, repository, results_import
from planner.extensions import db
from planner.importer import ImportProblem
from planner.models import VillageStat, VisitResult

DATA = Path(__file__).resolve().parent / "data"
ALPHA = "99.01.01.2001"   # Tim 1, 2026-12-01, stop 1: 53 planned; 80 unrecorded (the limit)
HOSTILE = "99.01.01.2003"  # Tim 1, 2026-12-01, stop 2: 190 planned, pools Tanjung Beta
ETA = "99.01.01.2008"     # Tim 1, 2026-12-01, stop 3: 144 planned; 400 unrecorded
RANTAU = "99.01.02.2010"  # "Tim 2 <Sungai>", 2026-12-01: 170 planned
MUARA = "99.01.02.2006"   # "Tim 2 <Sungai>", 2026-12-01: 118 planned
ALPHA_UNRECORDED = 80


@pytest.fixture
def planned(app, store_plan_doc):
    """The fixture plan stored as version 1 of a new plan, over its villages and a fictional
    recap (400 unrecorded everywhere, 80 at Sungai Alpha); returns the plan id."""
    with app.app_context():
        villages = gpd.read_file(DATA / "villages_daysheet.geojson")
        repository.replace_villages(villages, source_file="villages_daysheet.geojson",
                                    fictional=True)
        recap = pd.DataFrame([{"code": c, "population": 1300, "obliged": 900,
                               "recorded": 900 - (ALPHA_UNRECORDED if c == ALPHA else 400)}
                              for c in villages["code"]])
        ds = repository.add_dataset(recap, name="Uji hasil (fiktif)",
                                    snapshot_date=dt.date(2026, 10, 31), recap_file="uji.csv",
                                    fictional=True, synthetic=True, basemap=False)
        doc = json.loads((DATA / "plan_daysheet.json").read_text(encoding="utf-8"))
        plan_id, version = store_plan_doc(doc, "Uji impor hasil", dataset_id=ds.id)
        assert version == 1
        return plan_id


def write_csv(tmp_path: Path, text: str, name: str = "hasil.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(runner, plan_id, path: Path, *extra: str):
    return runner.invoke(args=["results", "import", "--plan", str(plan_id), *extra, str(path)])


def stored(app) -> list[VisitResult]:
    with app.app_context():
        rows = db.session.scalars(select(VisitResult).order_by(VisitResult.id)).all()
        db.session.expunge_all()
        return rows


def recorded_now(app, code: str) -> int:
    with app.app_context():
        frame = repository.villages_frame()
        return int(frame.loc[frame["code"] == code, "recorded"].iloc[0])


def assert_nothing_stored(app, n_stats: int | None = None) -> None:
    with app.app_context():
        assert db.session.scalar(select(func.count(VisitResult.id))) == 0
        if n_stats is not None:
            assert db.session.scalar(select(func.count(VillageStat.id))) == n_stats


def stat_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(VillageStat.id)))


# --------------------------------------------------------------------------- good files
def test_csv_with_indonesian_headers(app, runner, planned, tmp_path):
    before = recorded_now(app, ALPHA)
    # header case and spaces do not matter; semicolons; the team by number, day-first dates;
    # a name column is ignored; outcome empty -> done (53 >= 53 planned) / partly (20 < 190)
    path = write_csv(tmp_path, (
        " TIM ;Tanggal; kode ;Desa;DIREKAM;hasil;Alasan\n"
        f"1;01/12/2026;{ALPHA};Sungai Alpha;53;;\n"
        f"Tim 1;2026-12-01;{HOSTILE};Desa X;20;;warga tidak hadir\n"
        f"Tim 1;1-12-2026;{ETA};Bukit Eta;;Tidak terjangkau;Cuaca\n"))
    r = run(runner, planned, path, "--recorded-by", "Ketua Tim 1")
    assert r.exit_code == 0, r.output
    assert "hasil.csv: 3 laporan: 1 selesai, 1 sebagian, 1 tidak terjangkau" in r.output
    got = {(v.site_code, v.actual_recorded, v.outcome, v.reason, v.recorded_by, v.team,
            v.date.isoformat()) for v in stored(app)}
    assert got == {
        (ALPHA, 53, "done", None, "Ketua Tim 1", "Tim 1", "2026-12-01"),
        (HOSTILE, 20, "partly", "absent", "Ketua Tim 1", "Tim 1", "2026-12-01"),
        (ETA, 0, "not_reached", "weather", "Ketua Tim 1", "Tim 1", "2026-12-01"),
    }
    assert recorded_now(app, ALPHA) == before + 53  # the figures the gap view shows


def test_xlsx_with_english_headers(app, runner, planned, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Results of Tim 2 (typed in at the office)"])  # a title row above the header
    ws.append(["Team", "Date", "Code", "Recorded", "Outcome", "Reason"])
    ws.append(["Tim 2 <Sungai>", dt.datetime(2026, 12, 1), RANTAU, 170, None, None])
    ws.append(["Tim 2 <Sungai>", "2026-12-01", MUARA, 10, "partly", "boat"])
    path = tmp_path / "results.xlsx"
    wb.save(path)
    r = run(runner, planned, path)
    assert r.exit_code == 0, r.output
    got = {(v.site_code, v.actual_recorded, v.outcome, v.reason) for v in stored(app)}
    assert got == {(RANTAU, 170, "done", None), (MUARA, 10, "partly", "boat")}
    # the default reporter is the operating-system user of the command
    assert all((v.recorded_by or "").startswith("cli:") for v in stored(app))


def test_a_correction_replaces_the_earlier_report(app, runner, planned, tmp_path):
    before = recorded_now(app, ALPHA)
    header = "tim,tanggal,kode,direkam\n"
    assert run(runner, planned, write_csv(tmp_path, header + f"Tim 1,2026-12-01,{ALPHA},40\n")
               ).exit_code == 0
    assert recorded_now(app, ALPHA) == before + 40
    r = run(runner, planned, write_csv(tmp_path, header + f"Tim 1,2026-12-01,{ALPHA},30\n",
                                       "koreksi.csv"))
    assert r.exit_code == 0, r.output
    assert recorded_now(app, ALPHA) == before + 30  # replaced, not 70 added
    assert [v.actual_recorded for v in stored(app)] == [40, 30]  # the history is kept
    with app.app_context():
        rows = field.progress_table(plan_store.latest_version(planned))
        assert sum(row["achieved"] for row in rows) == 30


# --------------------------------------------------------------------------- bad files
def test_bad_rows_name_file_row_and_column(app, runner, planned, tmp_path):
    n_stats = stat_count(app)
    path = write_csv(tmp_path, (
        "tim,tanggal,kode,direkam,hasil,alasan\n"
        f"Tim 1,2026-12-01,{ALPHA},10,,\n"            # row 2: fine
        f"Tim 1,31/13/2026,{HOSTILE},10,,\n"           # row 3: no such date
        f"Tim 1,2026-12-01,{ETA},-5,,\n"              # row 4: negative
        f"Tim 1,2026-12-01,{ETA},12,meledak,\n"       # row 5: unknown outcome
        f"Tim 1,2026-12-01,{ETA},dua puluh,,\n"       # row 6: not a number
        f"Tim 1,2026-12-01,{ETA},7,tidak terjangkau,\n"  # row 7: not reached but recorded
        f"Tim 1,2026-12-01,{ETA},,,\n"                # row 8: empty count
    ))
    r = run(runner, planned, path)
    assert r.exit_code == 1
    out = " ".join(r.output.split())
    assert 'Berkas "hasil.csv", baris 3, kolom "tanggal": tanggal "31/13/2026" tidak sah' in out
    for row, column in ((4, "direkam"), (5, "hasil"), (6, "direkam"), (7, "direkam"),
                        (8, "direkam")):
        assert f'baris {row}, kolom "{column}"' in out, (row, out)
    assert "negatif" in out and "meledak" in out and "tidak terjangkau tetapi 7" in out
    assert "Tidak ada yang disimpan" in out and "Traceback" not in out
    assert_nothing_stored(app, n_stats)


def test_rows_that_do_not_fit_the_plan(app, runner, planned, tmp_path):
    path = write_csv(tmp_path, (
        "team,date,code,recorded\n"
        f"Tim 9,2026-12-01,{ALPHA},1\n"            # row 2: no such team
        f"Tim 1,2026-12-07,{ALPHA},1\n"            # row 3: not a day of the team
        f"Tim 1,2026-12-01,{RANTAU},1\n"           # row 4: another team's stop
        f"Tim 1,2026-12-01,{ALPHA},1\n"            # row 5: fine ...
        f"Tim 1,2026-12-01,{ALPHA},2\n"            # row 6: ... and again
    ))
    r = run(runner, planned, path)
    assert r.exit_code == 1
    out = " ".join(r.output.split())
    assert 'Berkas "hasil.csv", baris 2, kolom "team": tim "Tim 9" tidak ada dalam rencana' in out
    assert 'baris 3, kolom "date": Tim 1 tidak punya kunjungan pada 2026-12-07' in out
    assert f'baris 4, kolom "code": kode {RANTAU} tidak ada di jadwal Tim 1' in out
    assert 'baris 6, kolom "code"' in out and "sudah dilaporkan di baris 5" in out
    assert_nothing_stored(app)


def test_over_the_limit_is_refused_naming_village_and_limit(app, runner, planned, tmp_path):
    n_stats = stat_count(app)
    path = write_csv(tmp_path, (
        "tim,tanggal,kode,direkam\n"
        f"Tim 1,2026-12-01,{ETA},100\n"
        f"Tim 1,2026-12-01,{ALPHA},{ALPHA_UNRECORDED + 10}\n"))
    r = run(runner, planned, path)
    assert r.exit_code == 1
    out = " ".join(r.output.split())
    assert f"Sungai Alpha: {ALPHA_UNRECORDED + 10} orang direkam melebihi {ALPHA_UNRECORDED}" in out
    assert "(batas)" in out and "baris 3 (Sungai Alpha)" in out and "tidak disimpan" in out
    assert 'Berkas "hasil.csv"' in out and "Traceback" not in out
    assert_nothing_stored(app, n_stats)  # the good row is not stored either


def test_more_than_twice_the_plan_needs_confirm(app, runner, planned, tmp_path):
    before = recorded_now(app, ETA)
    path = write_csv(tmp_path, (
        "tim,tanggal,kode,direkam\n"
        f"Tim 1,2026-12-01,{ALPHA},50\n"
        f"Tim 1,2026-12-01,{ETA},290\n"))  # 144 planned: 290 > 2 x 144
    r = run(runner, planned, path)
    assert r.exit_code == 1
    out = " ".join(r.output.split())
    assert ('Berkas "hasil.csv", baris 3, kolom "direkam": Bukit Eta: 290 orang direkam, lebih '
            'dari dua kali 144 yang direncanakan') in out
    assert "--confirm" in out
    assert_nothing_stored(app)
    r = run(runner, planned, path, "--confirm")
    assert r.exit_code == 0, r.output
    assert {(v.site_code, v.actual_recorded, v.outcome) for v in stored(app)} == {
        (ALPHA, 50, "partly"), (ETA, 290, "done")}
    assert recorded_now(app, ETA) == before + 290


@pytest.mark.parametrize("content,name,expected", [
    ("tim,tanggal,kode,jumlah\nTim 1,2026-12-01,99.01.01.2001,5\n", "hasil.csv",
     'Berkas "hasil.csv": baris judul kolom tidak ditemukan'),
    ("", "kosong.csv", 'Berkas "kosong.csv": berkas kosong'),
    ("tim,tanggal,kode,direkam\n", "judul.csv", "tidak ada baris hasil"),
    ("tim,tanggal,kode,direkam\nTim 1,2026-12-01,99.01.01.2001,5\n", "hasil.xlsx",
     "bukan XLSX"),
])
def test_unreadable_files(app, runner, planned, tmp_path, content, name, expected):
    r = run(runner, planned, write_csv(tmp_path, content, name))
    assert r.exit_code == 1
    out = " ".join(r.output.split())
    assert expected in out and "Traceback" not in out
    if name == "hasil.csv":
        assert "tidak ada: direkam" in out
    assert_nothing_stored(app)


def test_missing_file_and_unknown_plan(app, runner, planned, tmp_path):
    r = run(runner, planned, tmp_path / "tidak-ada.csv")
    assert r.exit_code == 1 and "berkas tidak ditemukan" in r.output
    path = write_csv(tmp_path, f"tim,tanggal,kode,direkam\nTim 1,2026-12-01,{ALPHA},5\n")
    r = run(runner, planned + 99, path)
    assert r.exit_code == 1 and f"Rencana {planned + 99} tidak ditemukan" in r.output
    r = run(runner, planned, path, "--version", "7")
    assert r.exit_code == 1 and "versi 7 tidak ditemukan" in r.output
    assert_nothing_stored(app)


# --------------------------------------------------------------------------- the pieces
def test_default_outcome_and_the_words_it_knows():
    assert results_import.default_outcome(53, 53) == "done"
    assert results_import.default_outcome(60, 53) == "done"
    assert results_import.default_outcome(52, 53) == "partly"
    assert results_import.default_outcome(0, 53) == "partly"
    # every written word maps to an outcome / reason the field service accepts, and all of
    # them are reachable from a file
    assert set(results_import.OUTCOME_VALUES.values()) == set(field.OUTCOMES)
    assert set(results_import.REASON_VALUES.values()) == set(field.REASONS)
    assert results_import.parse_date("01/12/2026") == "2026-12-01"
    assert results_import.parse_date(dt.datetime(2026, 12, 1)) == "2026-12-01"
    with pytest.raises(ValueError):
        results_import.parse_date("12/31/2026")  # month first is not a date here


def test_reader_alone_reports_every_problem_at_once(tmp_path):
    path = write_csv(tmp_path, "TEAM;DATE;CODE;RECORDED\n;2026-12-01;;5\n")
    with pytest.raises(ImportProblem) as info:
        results_import.read_results(path)
    problem = info.value
    assert (problem.row, problem.column) == (2, "TEAM")
    assert [(p.row, p.column) for p in problem.problems] == [(2, "CODE")]
