"""The import services: what lands in the database, and that a failure lands nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import table_counts
from sqlalchemy import text

from planner import ranking, repository
from planner.extensions import db
from planner.importer import ImportProblem, import_recap, import_villages

DATA = Path(__file__).parent / "data" / "import"


counts = table_counts


def test_import_villages_then_recap(app):
    with app.app_context():
        s = import_villages(DATA / "desa_fiktif.geojson", fictional=True)
        assert s == {"file": "desa_fiktif.geojson", "villages": 8, "created": 8, "updated": 0,
                     "kecamatan": 3, "points": 0, "repaired": 0}
        ds = import_recap(DATA / "rekap_fiktif.csv", snapshot_date=dt.date(2026, 11, 30))
        assert (ds.name, ds.recap_file, ds.villages_file) == (
            "rekap_fiktif.csv", "rekap_fiktif.csv", "desa_fiktif.geojson")
        assert ds.snapshot_date == dt.date(2026, 11, 30)
        assert ds.fictional and not ds.basemap  # joined to fictional villages
        assert ds.join_counts == {"code": 8}
        frame = repository.villages_frame()
        t = ranking.totals(frame)
        assert (t["population"], t["obliged"], t["recorded"]) == (28010, 20320, 19335)
        assert counts() == {"villages": 8, "datasets": 1, "village_stats": 8}
        # a second boundaries import updates by code, a second recap is a new snapshot
        s2 = import_villages(DATA / "desa_fiktif.geojson")
        assert (s2["created"], s2["updated"]) == (0, 8)
        ds2 = import_recap(DATA / "rekap_fiktif.csv", name="Rekap Desember")
        assert ds2.name == "Rekap Desember" and ds2.snapshot_date == dt.date.today()
        assert counts() == {"villages": 8, "datasets": 2, "village_stats": 16}


def test_recap_access_columns_update_villages(app, tmp_path):
    path = tmp_path / "akses.csv"
    path.write_text("KODE,DESA,KECAMATAN,PENDUDUK,WAJIB KTP-EL,SUDAH REKAM,AKSES,TANPA SINYAL\n"
                    "99.01.03.2001,Tumbang Rasau,Hulu Jauh,640,450,300,sungai,ya\n"
                    "99.01.03.2002,Batu Panahan,Hulu Jauh,480,350,245,,\n")
    with app.app_context():
        import_villages(DATA / "desa_fiktif.geojson")
        ds = import_recap(path, synthetic=True)
        assert ds.synthetic and not ds.fictional and ds.basemap
        v = repository.villages_frame(with_stats=False).set_index("code")
        assert (v.loc["99.01.03.2001", "access"], bool(v.loc["99.01.03.2001", "no_signal"])) == ("river", True)
        # empty cells leave the village as it was
        assert (v.loc["99.01.03.2002", "access"], bool(v.loc["99.01.03.2002", "no_signal"])) == ("road", False)
        assert len(repository.villages_frame(ds)) == 2


def test_recap_before_any_villages_is_refused(app):
    with app.app_context():
        with pytest.raises(ImportProblem) as ei:
            import_recap(DATA / "rekap_fiktif.csv")
        assert "impor batas desa dulu" in str(ei.value)
        assert counts() == {"villages": 0, "datasets": 0, "village_stats": 0}


def test_failure_while_writing_rolls_everything_back(app, tmp_path, monkeypatch):
    """Validation passes, the access columns update villages, then the commit fails: nothing
    of the dataset, its figures or the village updates may remain."""
    path = tmp_path / "akses.csv"
    lines = ["KODE,DESA,KECAMATAN,PENDUDUK,WAJIB KTP-EL,SUDAH REKAM,AKSES,TANPA SINYAL"]
    lines += [f"{c},x,Hilir Fiktif,100,80,70,sungai,ya" for c in
              ("99.01.01.1001", "99.01.01.1002", "99.01.03.2002")]
    path.write_text("\n".join(lines))

    def state():
        rows = db.session.execute(text("SELECT code, access, no_signal FROM villages ORDER BY code")).all()
        return counts(), [tuple(r) for r in rows]

    with app.app_context():
        import_villages(DATA / "desa_fiktif.geojson")
        import_recap(DATA / "rekap_fiktif.csv")
        before = state()

        def boom():
            raise RuntimeError("disk full")

        monkeypatch.setattr(db.session, "commit", boom)
        with pytest.raises(RuntimeError):
            import_recap(path)
        monkeypatch.undo()
        db.session.remove()
        assert state() == before
        # and the same file goes in when the database behaves
        import_recap(path)
        changed = db.session.execute(text(
            "SELECT COUNT(*) FROM villages WHERE access = 'river' AND no_signal")).scalar()
        assert changed == 3
        assert counts()["datasets"] == 2


def test_failed_boundaries_write_rolls_back(app, monkeypatch):
    with app.app_context():
        def boom():
            raise RuntimeError("connection lost")

        monkeypatch.setattr(db.session, "commit", boom)
        with pytest.raises(RuntimeError):
            import_villages(DATA / "desa_fiktif.geojson")
        monkeypatch.undo()
        db.session.remove()
        assert counts() == {"villages": 0, "datasets": 0, "village_stats": 0}
