"""Known travel times for the calibration page: a CSV or XLSX table of legs the office knows
(``dari, ke, moda, menit`` or ``from_code, to_code, mode, minutes``), or rows typed on the page.

Files are read like a recap (``planner.importer.recap._grids``: the content decides between CSV
and XLSX, size and cell limits, the planner's own XLSX reader) in the sandboxed child
(``planner.importer.sandbox``, task ``"legs"``). The first worksheet whose first non-empty row
names the four columns is used; every problem names the file, the row and the column
(``ImportProblem``), and the whole table is refused. The result is the frame of
``planner.network.read_known_legs`` (``from, to, mode, minutes, row``), so the page fits with the
same code as ``planner calibrate``.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd

from ..network import LEG_ALIASES, VEHICLE_WORDS
from .errors import ImportProblem

MAX_LEGS = 2_000  # known legs in one table (an office knows tens; a route survey a few hundred)
COLUMN_HELP = "dari, ke, moda, menit (atau from_code, to_code, mode, minutes)"


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return " ".join(str(value).split())


def _key(value) -> str:
    return _text(value).lower().replace(" ", "_")


def _header(row: list) -> dict[str, int] | None:
    """Column index per field when ``row`` names all four (else None)."""
    names = [_key(v) for v in row]
    col = {}
    for key, aliases in LEG_ALIASES.items():
        for i, h in enumerate(names):
            if h in aliases:
                col[key] = i
                break
    return col if len(col) == len(LEG_ALIASES) else None


def _minutes(value, where: dict) -> float:
    if isinstance(value, bool):
        raise ImportProblem(f"'{_text(value)}' bukan angka menit", **where)
    if isinstance(value, int | float):
        minutes = float(value)
    else:
        text = _text(value).replace(" ", "")
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")  # decimal comma (Indonesian spreadsheets)
        try:
            minutes = float(text)
        except ValueError:
            raise ImportProblem(f"'{_text(value)[:40]}' bukan angka menit", **where) from None
    if not (math.isfinite(minutes) and 0 < minutes <= 7 * 24 * 60):
        raise ImportProblem("menit harus lebih dari 0 dan paling banyak 10.080 (seminggu)", **where)
    return minutes


def legs_from_rows(rows: list[list], *, filename: str | None, header: list | None = None,
                   first_row: int = 1) -> pd.DataFrame:
    """Known legs from table rows. Without ``header`` the first non-empty row is the header;
    ``first_row`` is the number the user sees for ``rows[0]``. Every problem is collected (the
    first is the headline) and nothing is returned unless all rows are good."""
    rows = list(rows)
    start = 0
    if header is None:
        while start < len(rows) and not any(_text(v) for v in rows[start]):
            start += 1
        if start == len(rows):
            raise ImportProblem(f"tabel kosong: perlu baris judul {COLUMN_HELP}", file=filename)
        header = rows[start]
        col = _header(header)
        if col is None:
            seen = ", ".join(f'"{_text(v)[:40]}"' for v in header if _text(v))[:300]
            raise ImportProblem(f"baris judul perlu kolom {COLUMN_HELP}; yang ada: {seen}",
                                file=filename, row=first_row + start)
        start += 1
    else:
        col = _header(header)
        if col is None:  # pragma: no cover - the page passes the right header
            raise ImportProblem(f"baris judul perlu kolom {COLUMN_HELP}", file=filename)
    titles = {k: _text(header[i]) for k, i in col.items()}
    problems: list[ImportProblem] = []
    out = []
    for offset, rec in enumerate(rows[start:], start=start):
        rowno = first_row + offset
        rec = list(rec) + [None] * (len(header) - len(rec))
        if not any(_text(v) for v in rec):
            continue
        a, b = _text(rec[col["from"]]), _text(rec[col["to"]])
        word = _text(rec[col["mode"]]).lower().replace(" ", "")
        try:
            if not a:
                raise ImportProblem("kode asal kosong", file=filename, row=rowno, column=titles["from"])
            if not b:
                raise ImportProblem("kode tujuan kosong", file=filename, row=rowno, column=titles["to"])
            if word not in VEHICLE_WORDS:
                raise ImportProblem(f"moda '{word[:30]}' tidak dikenal (mobil/jalan, perahu/sungai, "
                                    "keduanya)", file=filename, row=rowno, column=titles["mode"])
            if a == b:
                raise ImportProblem("asal dan tujuan sama", file=filename, row=rowno,
                                    column=titles["to"])
            minutes = _minutes(rec[col["minutes"]],
                               {"file": filename, "row": rowno, "column": titles["minutes"]})
        except ImportProblem as exc:
            problems.append(exc)
            continue
        out.append({"from": a[:100], "to": b[:100], "mode": VEHICLE_WORDS[word],
                    "minutes": minutes, "row": rowno})
        if len(out) > MAX_LEGS:
            raise ImportProblem(f"lebih dari {MAX_LEGS:,} perjalanan".replace(",", ".")
                                + "; pisahkan tabelnya", file=filename, row=rowno)
    if problems:
        raise ImportProblem.collect(problems)
    if not out:
        raise ImportProblem("tidak ada baris perjalanan di bawah baris judul", file=filename)
    return pd.DataFrame(out, columns=["from", "to", "mode", "minutes", "row"])


def read_legs(path, *, filename: str | None = None) -> pd.DataFrame:
    """Known legs from a CSV or XLSX file (checked like a recap file)."""
    from .recap import _grids

    path = Path(path)
    filename = filename or path.name
    grids, _is_xlsx = _grids(path, filename)
    first_problem = None
    for grid in grids:
        try:
            return legs_from_rows(grid, filename=filename)
        except ImportProblem as exc:
            if first_problem is None:
                first_problem = exc
            if "baris judul" not in exc.message and "tabel kosong" not in exc.message:
                raise  # the header was found: this sheet's rows are wrong
    raise first_problem or ImportProblem("berkas kosong", file=filename)
