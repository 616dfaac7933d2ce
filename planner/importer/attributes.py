"""Read the village attributes file: a small CSV or XLSX with one row per village.

Columns (header row; Indonesian or English; other columns, such as the village name, are
ignored)::

    kode | akses                    | sinyal   | menginap                                  | catatan
    code | access                   | signal   | lodging                                   | note
         | darat / sungai / keduanya| ya/tidak | kantor kecamatan / puskesmas / penginapan |
         | road / river / both      | yes/no   | / lainnya / kosong (none: no lodging)     |

A blank cell leaves that attribute of the village as it is; ``kosong`` (none) in *menginap*
and ``-`` in *catatan* clear them. ``tanpa sinyal`` / ``no signal`` is accepted as an inverted
signal column.

The file is read like a recap (``planner.importer.recap``: by its content, never its name,
within ``planner.importer.limits``; XLSX through ``planner.importer.xlsx``) and validated
completely before anything is returned: every problem (unknown values, missing or duplicate
codes, over-long notes) is collected into one ``ImportProblem`` naming file, row and column.
Given the codes of the villages in the database (``known``), every code must be one of them
(unknown codes are named, with their rows, among the other problems).

Plain Python (no Flask, no database). It runs in the sandboxed child process
(``planner.importer.sandbox``) as the task ``"attributes"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import limits, tasks
from .errors import ImportProblem
from .recap import (
    ACCESS_VALUES,
    NO,
    YES,
    _blank,
    _cell_text,
    csv_by_header,
    norm_header,
    normalise_code,
    open_table,
    shown,
)

NOTE_MAX_CHARS = 1000
HEADER_SEARCH_ROWS = 30

# canonical field -> accepted header spellings (compared after ``norm_header``)
COLUMN_ALIASES: dict[str, list[str]] = {
    "code": ["KODE", "KODE DESA", "KODE WILAYAH", "KODE KEMENDAGRI", "KODE DESA/KELURAHAN",
             "CODE", "VILLAGE CODE"],
    "access": ["AKSES", "AKSES WILAYAH", "MODA", "ACCESS"],
    "signal": ["SINYAL", "ADA SINYAL", "SINYAL HP", "SIGNAL", "HAS SIGNAL", "MOBILE SIGNAL"],
    "no_signal": ["TANPA SINYAL", "BLANK SPOT", "BLANKSPOT", "NO SIGNAL"],
    "lodging": ["MENGINAP", "TEMPAT MENGINAP", "BISA MENGINAP", "LODGING", "NIGHT STAY"],
    "note": ["CATATAN", "KETERANGAN", "KET", "NOTE", "NOTES", "REMARKS"],
}
ATTRIBUTE_FIELDS = ("access", "no_signal", "lodging", "note")
DISPLAY = {"code": "KODE", "access": "AKSES", "no_signal": "SINYAL", "lodging": "MENGINAP",
           "note": "CATATAN"}

CLEAR = ""  # lodging/note: "clear this attribute" (None: leave it as it is)
LODGING_VALUES = {
    "kantor kecamatan": "kecamatan_office", "kecamatan": "kecamatan_office",
    "kantor camat": "kecamatan_office", "kecamatan office": "kecamatan_office",
    "district office": "kecamatan_office",
    "puskesmas": "puskesmas", "health centre": "puskesmas", "health center": "puskesmas",
    "penginapan": "guest_house", "losmen": "guest_house", "wisma": "guest_house",
    "homestay": "guest_house", "hotel": "guest_house", "guest house": "guest_house",
    "guesthouse": "guest_house",
    "lainnya": "other", "lain lain": "other", "lain": "other", "other": "other",
    "kosong": CLEAR, "tidak": CLEAR, "tidak ada": CLEAR, "tidak bisa": CLEAR, "none": CLEAR,
    "no": CLEAR,
}
_ALIAS_INDEX = {norm_header(a): f for f, names in COLUMN_ALIASES.items() for a in names}


def _key(text: str) -> str:
    """ "Kantor  Kecamatan", "kantor_kecamatan" -> "kantor kecamatan"."""
    return " ".join(re.sub(r"[^a-z]+", " ", text.lower()).split())


@dataclass
class AttributeTable:
    """A validated attributes file. ``rows``: one dict per village: ``row`` (as in the file),
    ``code``, and for each attribute the new value or None (leave as it is): ``access``
    (road/river/both), ``no_signal`` (bool), ``lodging`` (a ``LODGING`` key, or ``CLEAR``),
    ``note`` (text, or ``CLEAR``). ``given``: the attribute columns the file has;
    ``headers``: field -> header text as written (for messages)."""

    rows: list[dict]
    filename: str
    given: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Header:
    row: int  # 0-based index of the header row
    columns: dict[str, int]
    texts: dict[str, str]
    inverted: bool  # the signal column says "no signal"


def _header_at(cells: list) -> _Header | None:
    columns: dict[str, int] = {}
    texts: dict[str, str] = {}
    for c, value in enumerate(cells):
        text = _cell_text(value)
        f = _ALIAS_INDEX.get(norm_header(text)) if text else None
        if f and f not in columns:
            columns[f] = c
            texts[f] = text
    inverted = "no_signal" in columns and "signal" not in columns
    if "signal" in columns:
        columns.pop("no_signal", None)
        texts.pop("no_signal", None)
        columns["no_signal"] = columns.pop("signal")
        texts["no_signal"] = texts.pop("signal")
    if "code" not in columns or not set(ATTRIBUTE_FIELDS) & set(columns):
        return None
    return _Header(row=-1, columns=columns, texts=texts, inverted=inverted)


def _find_header(grid: list[list]) -> _Header | None:
    for r in range(min(len(grid), HEADER_SEARCH_ROWS)):
        h = _header_at(grid[r])
        if h is not None:
            h.row = r
            return h
    return None


def _grids(path: Path, filename: str) -> list[list[list]]:
    """The file's grids (one per CSV, one per worksheet), checked as every upload is."""
    grids, text = open_table(path, filename, "; simpan berkas atribut desa sebagai .csv atau .xlsx sesuai isinya")
    return grids if grids is not None else [csv_by_header(text, filename, _find_header)]


def read_attributes(path, *, filename: str | None = None,
                    known: set[str] | frozenset[str] | None = None) -> AttributeTable:
    """Read and validate an attributes file (CSV or XLSX); with ``known`` (the village codes
    in the database), every code must be one of them. Raises ``ImportProblem``."""
    path = Path(path)
    filename = filename or path.name
    grids = _grids(path, filename)
    found = [(g, h) for g in grids for h in [_find_header(g)] if h is not None]
    if not found:
        first = next((row for g in grids for row in g if any(not _blank(v) for v in row)), None)
        if first is None:
            raise ImportProblem("berkas kosong (tidak ada baris berisi)", file=filename)
        seen = ", ".join(f'"{shown(_cell_text(v))}"' for v in first[:12] if not _blank(v))
        raise ImportProblem(
            "baris judul kolom tidak ditemukan: perlu kolom KODE dan sedikitnya satu dari AKSES, "
            "SINYAL, MENGINAP, CATATAN (atau code, access, signal, lodging, note); baris "
            f"pertama berisi {seen}", file=filename)
    grid, header = found[0]
    return _parse_rows(grid, header, filename, known)


def _parse_rows(grid: list[list], h: _Header, filename: str, known=None) -> AttributeTable:
    cols, texts = h.columns, h.texts
    problems: list[ImportProblem] = []
    rows: list[dict] = []
    seen: dict[str, int] = {}

    def problem(msg: str, rownum: int, fld: str) -> None:
        problems.append(ImportProblem(msg, file=filename, row=rownum,
                                      column=texts.get(fld, DISPLAY.get(fld))))

    def cell(row, fld) -> str:
        c = cols.get(fld)
        if c is None or c >= len(row):
            return ""
        return _cell_text(row[c])

    for i in range(h.row + 1, len(grid)):
        row = grid[i]
        rownum = i + 1
        if all(_blank(v) for v in row):
            continue
        code = normalise_code(cell(row, "code"))
        values = {f: cell(row, f) for f in ATTRIBUTE_FIELDS if f in cols}
        if not code:
            if any(values.values()):
                problem("kode desa kosong; isi kode Kemendagri desa/kelurahan (mis. 99.01.01.2001)",
                        rownum, "code")
            continue  # a row with only a name or a remark: nothing to change
        if len(code) > limits.MAX_CODE_CHARS:
            problem(f'kode "{shown(code)}" terlalu panjang (maks. {limits.MAX_CODE_CHARS} karakter)',
                    rownum, "code")
            continue
        if code in seen:
            problem(f"kode {code} ganda: sudah dipakai di baris {seen[code]}", rownum, "code")
            continue
        seen[code] = rownum
        if known is not None and code not in known:
            problem(f"kode {code} tidak dikenal: tidak ada desa/kelurahan dengan kode ini di basis "
                    "data", rownum, "code")
        rec: dict = {"row": rownum, "code": code, "access": None, "no_signal": None,
                     "lodging": None, "note": None}
        raw = values.get("access", "")
        if raw:
            key = " ".join(_key(raw).replace(" dan ", " ").replace(" and ", " ").split())
            if key in ACCESS_VALUES:
                rec["access"] = ACCESS_VALUES[key]
            else:
                problem(f'akses "{shown(raw)}" tidak dikenal; isi darat, sungai atau keduanya '
                        "(road, river, both)", rownum, "access")
        raw = values.get("no_signal", "")
        if raw:
            v = raw.strip().lower()
            if v in YES or v in NO:
                yes = v in YES
                rec["no_signal"] = yes if h.inverted else not yes
            else:
                problem(f'nilai "{shown(raw)}" tidak dikenal; isi ya atau tidak (yes, no)',
                        rownum, "no_signal")
        raw = values.get("lodging", "")
        if raw:
            key = _key(raw)
            if raw.strip() == "-":
                rec["lodging"] = CLEAR
            elif key in LODGING_VALUES:
                rec["lodging"] = LODGING_VALUES[key]
            else:
                problem(f'tempat menginap "{shown(raw)}" tidak dikenal; isi kantor kecamatan, '
                        "puskesmas, penginapan, lainnya atau kosong", rownum, "lodging")
        raw = values.get("note", "")
        if raw:
            if raw.strip() == "-":
                rec["note"] = CLEAR
            elif len(raw) > NOTE_MAX_CHARS:
                problem(f"catatan terlalu panjang ({limits.fmt(len(raw))} karakter, maks. "
                        f"{limits.fmt(NOTE_MAX_CHARS)})", rownum, "note")
            else:
                rec["note"] = raw.strip()
        rows.append(rec)

    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise ImportProblem.collect(problems)
    if not rows:
        raise ImportProblem("tidak ada baris desa (dengan kode) di bawah baris judul kolom",
                            file=filename, row=h.row + 1)
    return AttributeTable(rows=rows, filename=filename,
                          given=[f for f in ATTRIBUTE_FIELDS if f in cols], headers=dict(texts))


# --------------------------------------------------------------------------- sandbox task
def _task(_anchor, path: str, filename: str, known: frozenset[str] | None) -> AttributeTable:
    """The child's task. ``_anchor`` is :func:`read_attributes` itself: unpickling it in the
    child process imports this module, which registers the task there (see below)."""
    return read_attributes(path, filename=filename, known=known)


def sandbox_args(path, filename: str, known=None) -> tuple:
    """The arguments of ``sandbox.run("attributes", ...)``."""
    return (read_attributes, str(path), filename,
            frozenset(known) if known is not None else None)


# ``planner.importer.tasks`` lists the readers of the recap and boundaries; this reader adds
# itself wherever it is imported (in the parent, and in the child when the task's arguments
# are unpickled), so the sandbox runs it like the others.
tasks.TASKS.setdefault("attributes", _task)
