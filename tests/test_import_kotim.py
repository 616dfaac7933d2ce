"""The real Kotawaringin Timur boundaries (../shared, read at run time, never copied) with a
recap generated here: the ranking's regency totals equal the recap's TOTAL row; and the
old-spelling table maps onto the real Kemendagri names."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from shapely.geometry import Point

from planner import ranking, repository
from planner.importer import (
    OLD_SPELLINGS,
    ImportProblem,
    import_recap,
    import_villages,
    join_recap,
    read_boundaries,
    read_recap,
)
from planner.importer.join import norm_name


def idn(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def generated_recap(villages: pd.DataFrame, seed: int = 7) -> tuple[list[str], dict]:
    """A semicolon recap with title rows, Indonesian numbers and a TOTAL row (figures random)."""
    rng = random.Random(seed)
    lines = ["REKAPITULASI PEREKAMAN KTP-EL (ANGKA UJI, BUKAN DATA RESMI)", "",
             "NO;KODE WILAYAH;DESA/KELURAHAN;KECAMATAN;JUMLAH PENDUDUK;WAJIB KTP-EL;SUDAH REKAM;BELUM REKAM;%"]
    total = {"population": 0, "obliged": 0, "recorded": 0, "unrecorded": 0}
    for i, v in enumerate(villages.itertuples(), start=1):
        pop = rng.randint(300, 4500)
        obl = int(pop * rng.uniform(0.65, 0.75))
        rec = int(obl * rng.uniform(0.6, 1.05))
        rec = min(rec, pop)
        unrec = max(obl - rec, 0)
        pct = f"{rec / obl * 100:.1f}".replace(".", ",")
        lines.append(f"{i};{v.code};{v.name};{v.kecamatan};{idn(pop)};{idn(obl)};{idn(rec)};{idn(unrec)};{pct} %")
        for k, x in (("population", pop), ("obliged", obl), ("recorded", rec), ("unrecorded", unrec)):
            total[k] += x
    lines.append(f";JUMLAH;;;{idn(total['population'])};{idn(total['obliged'])};{idn(total['recorded'])};"
                 f"{idn(total['unrecorded'])};")
    return lines, total


def test_real_kotim_boundaries_with_generated_recap(app, kotim_dir, tmp_path):
    villages_csv = pd.read_csv(kotim_dir / "villages.csv", dtype=str)
    assert len(villages_csv) == 185
    lines, total = generated_recap(villages_csv)
    path = tmp_path / "rekap_kotim_uji.csv"
    path.write_bytes("\r\n".join(lines).encode("cp1252"))
    with app.app_context():
        s = import_villages(kotim_dir / "villages.geojson")
        assert (s["villages"], s["kecamatan"], s["created"]) == (185, 17, 185)
        ds = import_recap(path, synthetic=True)
        assert ds.join_counts == {"code": 185} and ds.unmatched_villages == []
        frame = repository.villages_frame()
        t = ranking.totals(frame)
        v = repository.villages_frame(with_stats=False)
    recap = read_recap(path)
    assert recap.total["row"] == len(lines)
    assert t["villages"] == 185
    for k in ("population", "obliged", "recorded", "unrecorded"):
        assert t[k] == recap.total[k] == total[k]
    # geography kept: types from the file, every stop point inside its polygon
    assert (v["type"] == "kelurahan").sum() == (villages_csv["type"] == "kelurahan").sum()
    inside = [g.covers(Point(x, y)) for g, x, y in zip(v.geometry, v.stop_lon, v.stop_lat, strict=True)]
    assert all(inside)


def test_old_spellings_on_the_real_names(kotim_dir, tmp_path):
    villages = read_boundaries(kotim_dir / "villages.geojson")
    real = {norm_name(n) for n in villages["name"]}
    assert {norm_name(v) for v in OLD_SPELLINGS.values()} <= real  # every target exists
    old_by_new = {norm_name(v): k for k, v in OLD_SPELLINGS.items()}
    lines = ["DESA;KECAMATAN;PENDUDUK;WAJIB KTP-EL;SUDAH REKAM"]
    for v in villages.itertuples():
        name = old_by_new.get(norm_name(v.name), v.name)
        kec = "Perenggean" if v.kecamatan == "Parenggean" else v.kecamatan
        lines.append(f"{name};{kec};100;70;60")
    path = tmp_path / "nama_lama.csv"
    path.write_text("\n".join(lines))
    j = join_recap(read_recap(path), villages)
    assert len(j.frame) == 185 and sorted(j.frame["code"]) == sorted(villages["code"])
    assert j.counts() == {"name": 185 - len(OLD_SPELLINGS), "old_spelling": len(OLD_SPELLINGS)}


def test_similar_real_name_needs_confirmation(kotim_dir, tmp_path):
    villages = read_boundaries(kotim_dir / "villages.geojson")
    target = villages.set_index("name").loc["Tumbang Panyahuan"]
    path = tmp_path / "rekap_ejaan.csv"
    path.write_text("DESA;KECAMATAN;PENDUDUK;WAJIB KTP-EL;SUDAH REKAM\n"
                    f"Tumbang Penyahuwan;{target.kecamatan};812;590;421\n")
    recap = read_recap(path)
    with pytest.raises(ImportProblem) as ei:
        join_recap(recap, villages)
    text = str(ei.value)
    assert "baris 2" in text and "'Tumbang Penyahuwan'" in text
    assert f"mungkin 'Tumbang Panyahuan' (kecamatan {target.kecamatan}, kode {target.code}" in text
    assert f"--confirm 2={target.code}" in text
    j = join_recap(recap, villages, confirm={"2": target.code})
    assert list(j.frame["code"]) == [target.code] and list(j.frame["how"]) == ["confirmed"]
