"""Import the two files a Disdukcapil office has: village boundaries and the recording recap.

Readers (plain Python, no Flask): ``read_boundaries`` → village GeoDataFrame, ``read_recap`` →
``RecapTable``, ``join_recap`` → recap rows matched to village codes. Any problem raises one
``ImportProblem`` whose text names file, row and column.

Services (write through ``planner.repository``; call them inside an app context):
``import_villages`` and ``import_recap`` validate the whole file first and then write in ONE
transaction, so a failed import leaves the database exactly as it was. They read the file in a
child process with bounded time and memory (``planner.importer.sandbox``); the readers check
the content, not the name, and never follow a reference to another file or URL
(``planner.importer.safety``); the limits are in ``planner.importer.limits``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from . import sandbox
from .boundaries import read_boundaries
from .errors import ImportProblem
from .join import OLD_SPELLINGS, SIMILARITY_THRESHOLD, JoinResult, join_recap
from .recap import COLUMN_ALIASES, RecapTable, read_recap

__all__ = [
    "COLUMN_ALIASES", "ImportProblem", "JoinResult", "OLD_SPELLINGS", "RecapTable",
    "SIMILARITY_THRESHOLD", "import_recap", "import_villages", "join_recap", "read_boundaries",
    "read_recap",
]


def _given(value) -> bool:
    """A cell the recap filled in (pandas may hold a blank as None or NaN)."""
    import pandas as pd

    return value is not None and not (isinstance(value, float) and pd.isna(value))


def import_villages(path, *, filename: str | None = None, fictional: bool = False) -> dict:
    """Load a boundaries file into the villages table (insert or update by code).

    Returns a summary: ``file, villages, created, updated, kecamatan, points, repaired``."""
    from sqlalchemy import select

    from .. import audit, repository
    from ..extensions import db
    from ..models import Village

    filename = filename or Path(path).name
    gdf = sandbox.run("boundaries", (str(path), filename), filename=filename)
    try:
        existing = set(db.session.scalars(select(Village.code)).all())
        repository.replace_villages(gdf, source_file=filename[:300], fictional=fictional, commit=False)
        created = sum(c not in existing for c in gdf["code"])
        audit.record("import.villages", filename[:200],
                     after={"villages": int(len(gdf)), "created": int(created),
                            "updated": int(len(gdf) - created), "fictional": bool(fictional)})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return {
        "file": filename,
        "villages": int(len(gdf)),
        "created": int(created),
        "updated": int(len(gdf) - created),
        "kecamatan": int(gdf["kecamatan"].nunique()),
        "points": int((gdf.geometry.geom_type == "Point").sum()),
        "repaired": int(gdf.attrs.get("repaired", 0)),
    }


def import_recap(path, *, filename: str | None = None, name: str | None = None,
                 snapshot_date: dt.date | None = None, fictional: bool = False,
                 synthetic: bool = False, basemap: bool | None = None,
                 confirm: dict[str, str] | None = None):
    """Load a recap as a new dataset (snapshot). Villages must have been imported first.

    ``confirm`` maps a recap row number (or a village name as written in the recap) to a
    village code, accepting a similarity suggestion. Access/no-signal columns in the recap
    update the villages in the same transaction. A recap joined to fictional villages is
    marked fictional. Returns the new ``Dataset`` (with plain attributes ``join_counts`` and
    ``unmatched_villages`` for the caller's summary)."""
    import pandas as pd
    from sqlalchemy import select

    from .. import audit, repository
    from ..extensions import db
    from ..models import Village

    filename = filename or Path(path).name
    villages = pd.DataFrame(db.session.execute(
        select(Village.code, Village.name, Village.kecamatan).order_by(Village.code)).all(),
        columns=["code", "name", "kecamatan"])
    # the file is read, checked and joined in the child; problems with the file come first
    joined = sandbox.run("recap", (str(path), filename, villages if len(villages) else None,
                                   confirm), filename=filename)
    if joined is None:
        raise ImportProblem("belum ada data batas desa di basis data; impor batas desa dulu "
                            "(planner import-villages BERKAS atau halaman Impor data)", file=filename)
    # figures joined to fictional villages are fictional too, whatever the caller said
    fictional = bool(fictional) or bool(db.session.scalar(
        select(Village.id).where(Village.code.in_(list(joined.frame["code"])),
                                 Village.fictional.is_(True)).limit(1)))
    if isinstance(snapshot_date, str):
        try:
            snapshot_date = dt.date.fromisoformat(snapshot_date)
        except ValueError:
            raise ImportProblem(f'tanggal "{snapshot_date}" bukan tanggal YYYY-MM-DD',
                                file=filename) from None
    try:
        sources = db.session.scalars(select(Village.source_file)).all()
        villages_file = Counter(s for s in sources if s).most_common(1)
        ds = repository.add_dataset(
            joined.frame, name=(name or filename)[:200], snapshot_date=snapshot_date or dt.date.today(),
            recap_file=filename[:300], villages_file=villages_file[0][0] if villages_file else None,
            fictional=fictional, synthetic=synthetic,
            basemap=(not fictional) if basemap is None else basemap, commit=False)
        updates = [c for c in ("access", "no_signal") if c in joined.frame.columns]
        if updates:
            rows = {v.code: v for v in db.session.scalars(
                select(Village).where(Village.code.in_(list(joined.frame["code"])))).all()}
            for rec in joined.frame.to_dict("records"):
                v = rows[rec["code"]]
                if "access" in updates and _given(rec["access"]):
                    v.access = str(rec["access"])
                    v.access_source = "file"
                if "no_signal" in updates and _given(rec["no_signal"]):
                    v.no_signal = bool(rec["no_signal"])
                    v.access_source = "file"
        db.session.flush()
        audit.record("import.recap", filename[:200],
                     after={"dataset_id": ds.id, "name": ds.name,
                            "snapshot_date": ds.snapshot_date.isoformat(),
                            "villages": int(len(joined.frame)),
                            "population": int(joined.frame["population"].sum()),
                            "obliged": int(joined.frame["obliged"].sum()),
                            "recorded": int(joined.frame["recorded"].sum()),
                            "synthetic": bool(synthetic), "fictional": bool(fictional)})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    ds.join_counts = joined.counts()  # plain attribute for callers (not stored)
    ds.unmatched_villages = joined.unmatched_villages
    return ds
