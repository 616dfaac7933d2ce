"""Joining a recap to villages: codes, normalised names, old spellings, similarity
suggestions that fail until confirmed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from planner.importer import OLD_SPELLINGS, ImportProblem, join_recap, read_boundaries, read_recap
from planner.importer.join import norm_name

DATA = Path(__file__).parent / "data" / "import"
HEAD = "DESA,KECAMATAN,JUMLAH PENDUDUK,WAJIB KTP-EL,SUDAH REKAM"


@pytest.fixture(scope="module")
def villages():
    return read_boundaries(DATA / "desa_fiktif.geojson")


def recap_file(tmp_path, rows, head=HEAD, name="rekap.csv"):
    path = tmp_path / name
    path.write_text("\n".join([head, *rows]))
    return read_recap(path)


def test_join_by_code(villages):
    j = join_recap(read_recap(DATA / "rekap_fiktif.csv"), villages)
    assert j.counts() == {"code": 8}
    assert list(j.frame["code"]) == list(villages["code"])
    assert j.unmatched_villages == []


def test_join_by_normalised_name_within_kecamatan(tmp_path, villages):
    t = recap_file(tmp_path, [
        "DESA  KUALA-FIKTIF,kec. hilir fiktif,100,80,70",
        "Kel. Pasar Lama,Hilir Fiktif,100,80,70",
        "tumbang  rasau,KECAMATAN HULU JAUH,100,80,70",
    ])
    j = join_recap(t, villages)
    assert list(j.frame["code"]) == ["99.01.01.1001", "99.01.01.1002", "99.01.03.2001"]
    assert set(j.frame["how"]) == {"name"}
    assert len(j.unmatched_villages) == 5


def test_norm_name():
    assert norm_name("Desa  Tumbang-Panyahuan.") == "tumbang panyahuan"
    assert norm_name("KEL. Baamang Hulu") == "baamang hulu"
    assert norm_name("Kelurahan Désa Baru") == "baru"


def test_old_spellings_map_to_the_kemendagri_names(tmp_path):
    # villages named with the current spellings (fictional codes and squares)
    new = list(OLD_SPELLINGS.values())
    villages = pd.DataFrame({
        "code": [f"99.02.01.{2001 + i}" for i in range(len(new))], "name": new,
        "kecamatan": ["Parenggean"] * len(new)})
    rows = [f"{old},Perenggean,100,80,70" for old in OLD_SPELLINGS]  # old kecamatan spelling too
    j = join_recap(recap_file(tmp_path, rows), villages)
    assert list(j.frame["village_name"]) == new
    assert set(j.frame["how"]) == {"old_spelling"}


def test_similar_name_is_a_suggestion_that_fails_until_confirmed(tmp_path, villages):
    rows = ["Kuala Fiktif,Hilir Fiktif,100,80,70", "Tumbang Manggiss,Tengah Raya,100,80,70"]
    t = recap_file(tmp_path, rows)
    with pytest.raises(ImportProblem) as ei:
        join_recap(t, villages)
    err = ei.value
    assert (err.file, err.row, err.column) == ("rekap.csv", 3, "DESA")
    text = str(err)
    assert "'Tumbang Manggiss'" in text and "mungkin 'Tumbang Manggis'" in text
    assert "--confirm 3=99.01.02.2003" in text
    assert err.suggestions == [{
        "row": 3, "name": "Tumbang Manggiss", "kecamatan": "Tengah Raya", "code": "99.01.02.2003",
        "candidate_name": "Tumbang Manggis", "candidate_kecamatan": "Tengah Raya",
        "ratio": pytest.approx(0.968, abs=0.001)}]
    # confirmed by row number, or by the name as written
    for confirm in ({"3": "99.01.02.2003"}, {"Tumbang Manggiss": "99.01.02.2003"}):
        j = join_recap(t, villages, confirm=confirm)
        assert j.frame.set_index("row").loc[3, "code"] == "99.01.02.2003"
        assert j.frame.set_index("row").loc[3, "how"] == "confirmed"


def test_unknown_kecamatan_is_only_a_suggestion_even_for_an_exact_name(tmp_path, villages):
    t = recap_file(tmp_path, ["Batu Panahan,Hulu Dekat,100,80,70"])
    with pytest.raises(ImportProblem) as ei:
        join_recap(t, villages)
    assert "tidak dikenal" in str(ei.value) and "--confirm 2=99.01.03.2002" in str(ei.value)


def test_unknown_village_and_unknown_code(tmp_path, villages):
    t = recap_file(tmp_path, ["Kampung Antah Berantah,Tengah Raya,100,80,70"])
    with pytest.raises(ImportProblem) as ei:
        join_recap(t, villages)
    assert (ei.value.row, ei.value.column) == (2, "DESA")
    assert "tidak ditemukan" in str(ei.value) and not ei.value.suggestions
    t = recap_file(tmp_path, ["99.01.09.2001,Kuala Fiktif,Hilir Fiktif,100,80,70"],
                   head="KODE," + HEAD)
    with pytest.raises(ImportProblem) as ei:
        join_recap(t, villages)
    assert (ei.value.row, ei.value.column) == (2, "KODE")
    assert "99.01.09.2001" in str(ei.value)


def test_confirm_to_a_code_that_does_not_exist(tmp_path, villages):
    t = recap_file(tmp_path, ["Tumbang Manggiss,Tengah Raya,100,80,70"])
    with pytest.raises(ImportProblem) as ei:
        join_recap(t, villages, confirm={"2": "99.09.09.9999"})
    assert ei.value.row == 2 and "99.09.09.9999" in str(ei.value)
