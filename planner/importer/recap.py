"""Read the office's recording recap (one row per desa/kelurahan) from CSV or XLSX.

What the reader copes with, because real recaps look like this:

* CSV with comma or semicolon (or tab) separators, UTF-8 with or without BOM, Windows cp1252,
  or UTF-16 with BOM (Excel's "Unicode Text"); XLSX (Excel 2007+; old ``.xls`` must be saved as
  XLSX first), read by ``planner.importer.xlsx``. The content decides which (a name that
  contradicts it is refused), and the limits of ``planner.importer.limits`` apply (rows,
  columns, cells, characters per cell; a CSV field of any length gives a message, never a
  ``_csv.Error``).
* Title rows above the header ("REKAPITULASI PEREKAMAN KTP-EL ..."): the header row is found
  by matching known column names. Two-row headers with merged cells ("JUMLAH" spanning
  "PENDUDUK | WAJIB KTP-EL | SUDAH REKAM") are combined.
* Indonesian or English column names (see ``COLUMN_ALIASES``), Indonesian number formats
  ("1.234", "1.234.567", "95,4 %"), plain numbers, Excel numbers; "-" in a count means 0.
* Subtotal rows ("JUMLAH KEC. KOTA BESI", "SUBTOTAL", or a row with only a kecamatan and sums)
  and a TOTAL/JUMLAH row are recognised, checked against the sum of their villages, and left out.
  Kecamatan heading rows ("KECAMATAN KOTA BESI" with no figures) set the kecamatan of the rows
  below them when the table has no kecamatan column. Rows after the TOTAL row without figures
  (signatures, "Sumber: ...") are ignored.

Validation is complete before anything is returned: every problem (negative or non-numeric
counts, recorded > population, obliged > population, BELUM REKAM or % not matching, duplicate
codes, duplicate names within a kecamatan, subtotal/TOTAL mismatches) is collected and raised as
one ``ImportProblem`` naming file, row and column. Recorded above obliged is allowed: towns with
many newcomers record more than 100 %.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import limits, safety
from .errors import ImportProblem
from .xlsx import read_xlsx

# --------------------------------------------------------------------------- columns
# canonical field -> accepted header spellings (compared after ``norm_header``)
COLUMN_ALIASES: dict[str, list[str]] = {
    "code": ["KODE", "KODE WILAYAH", "KODE DESA", "KODE DESA/KELURAHAN", "KODE KEMENDAGRI",
             "KODE WIL", "CODE", "VILLAGE CODE"],
    "name": ["DESA/KELURAHAN", "DESA", "KELURAHAN", "NAMA DESA", "NAMA DESA/KELURAHAN",
             "NAMA KELURAHAN", "NAMA WILAYAH", "VILLAGE", "VILLAGE NAME", "NAME", "NAMA"],
    "kecamatan": ["KECAMATAN", "NAMA KECAMATAN", "KEC.", "DISTRICT", "SUBDISTRICT", "SUB-DISTRICT"],
    "population": ["JUMLAH PENDUDUK", "PENDUDUK", "JML PENDUDUK", "TOTAL PENDUDUK", "POPULATION"],
    "obliged": ["WAJIB KTP-EL", "WAJIB KTP", "WAJIB REKAM", "WAJIB E-KTP", "WAJIB KTP ELEKTRONIK",
                "WAJIB KTPEL", "OBLIGED"],
    "recorded": ["SUDAH REKAM", "REKAM", "SUDAH PEREKAMAN", "SUDAH MEREKAM", "RECORDED"],
    "unrecorded": ["BELUM REKAM", "BELUM PEREKAMAN", "BELUM MEREKAM", "UNRECORDED"],
    "percent": ["%", "PERSENTASE", "PERSEN", "% REKAM", "PERSENTASE REKAM", "PERSENTASE PEREKAMAN",
                "PERCENT", "PERCENTAGE", "RATE"],
    "access": ["AKSES", "ACCESS", "MODA", "AKSES WILAYAH"],
    "signal": ["SINYAL", "ADA SINYAL", "SIGNAL"],
    "no_signal": ["TANPA SINYAL", "NO SIGNAL", "BLANK SPOT", "BLANKSPOT"],
}
REQUIRED = ["name", "population", "obliged", "recorded"]
COUNT_FIELDS = ["population", "obliged", "recorded"]
# how a missing column is named in messages
DISPLAY = {"code": "KODE", "name": "DESA/KELURAHAN", "kecamatan": "KECAMATAN",
           "population": "JUMLAH PENDUDUK", "obliged": "WAJIB KTP-EL", "recorded": "SUDAH REKAM",
           "unrecorded": "BELUM REKAM", "percent": "%", "access": "AKSES", "signal": "SINYAL",
           "no_signal": "TANPA SINYAL"}
PERCENT_TOLERANCE = 0.6  # percentage points
MAX_COUNT = 10_000_000  # no desa/kelurahan has more people; larger values are typing errors
HEADER_SEARCH_ROWS = 30
ACCESS_VALUES = {
    "darat": "road", "road": "road", "jalan": "road", "jalan darat": "road",
    "sungai": "river", "river": "river", "air": "river", "perahu": "river", "kapal": "river",
    "keduanya": "both", "both": "both", "darat sungai": "both", "darat dan sungai": "both",
    "sungai darat": "both", "road river": "both", "road and river": "both",
}
YES = {"ya", "y", "yes", "ada", "true", "1", "x", "v"}
NO = {"tidak", "tdk", "t", "no", "n", "tidak ada", "false", "0", "-"}

_HEADER_TRANSLATE = str.maketrans({c: " " for c in "-_/.,:;()[]'\"\n\r\t*#"})
_TOTAL_RE = re.compile(r"^(GRAND TOTAL|JUMLAH TOTAL|TOTAL|JUMLAH|JML|SUB TOTAL|SUBTOTAL|SUB JUMLAH)\b\s*(.*)$")
_KEC_PREFIX_RE = re.compile(r"^(KECAMATAN|KEC)\b\s*")


def norm_header(text) -> str:
    s = unicodedata.normalize("NFKC", str(text or "")).upper().translate(_HEADER_TRANSLATE)
    return " ".join(s.split())


_ALIAS_INDEX = {norm_header(a): f for f, names in COLUMN_ALIASES.items() for a in names}


def match_header(text) -> str | None:
    """Canonical field for a header text, or None."""
    h = norm_header(text)
    if not h:
        return None
    if h in _ALIAS_INDEX:
        return _ALIAS_INDEX[h]
    for prefix in ("JUMLAH ", "JML ", "TOTAL ", "NAMA "):
        if h.startswith(prefix) and h[len(prefix):] in _ALIAS_INDEX:
            return _ALIAS_INDEX[h[len(prefix):]]
    if h.endswith(" %") and h[:-2] in ("REKAM", "PERSENTASE"):
        return "percent"
    return None


# --------------------------------------------------------------------------- the result
@dataclass
class RecapTable:
    """A validated recap. ``frame`` has one row per village: ``code`` (str or None), ``name``,
    ``kecamatan``, ``population``, ``obliged``, ``recorded``, ``row`` (row number in the file)
    and, when the file has them, ``access`` (road/river/both or None) and ``no_signal``
    (bool or None). ``total`` is the TOTAL row's figures (``population``, ``obliged``,
    ``recorded``, ``row``) when the file has one. ``headers`` maps each field to its header
    text as written in the file (for messages)."""

    frame: pd.DataFrame
    total: dict | None
    filename: str
    headers: dict[str, str] = field(default_factory=dict)
    subtotals: list[dict] = field(default_factory=list)

    @property
    def has_codes(self) -> bool:
        return bool(self.frame["code"].notna().any())


# --------------------------------------------------------------------------- numbers
def _blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN
        return True
    return isinstance(value, str) and not value.strip()


def _cell_text(value) -> str:
    if _blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return " ".join(str(value).split())


def shown(value, limit: int = 40) -> str:
    """A cell value for a message: one line, at most ``limit`` characters."""
    s = " ".join(str(value).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def parse_count(value) -> int:
    """An Indonesian or plain count: 1234, "1.234", "1.234.567", "1,234", "1 234", "-" (0).

    Raises ValueError with an Indonesian reason."""
    if value is None:
        raise ValueError("sel kosong")
    if isinstance(value, bool):
        raise ValueError(f"nilai {value!r} bukan angka")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value:
            raise ValueError("sel kosong")
        if not value.is_integer():
            raise ValueError(f"nilai {value:g} bukan bilangan bulat")
        return int(value)
    s = str(value).strip().replace("\u00a0", "").replace(" ", "").replace("\u2212", "-")
    if s in ("-", "–", "—"):
        return 0
    if not s:
        raise ValueError("sel kosong")
    if len(s) > 30:
        raise ValueError(f'nilai "{shown(value)}" bukan angka (terlalu panjang)')
    if re.fullmatch(r"-?\d+", s):
        return int(s)
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+", s):
        return int(s.replace(".", ""))
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+", s):
        return int(s.replace(",", ""))
    if re.fullmatch(r"-?\d+[.,]0+", s):
        return int(re.split(r"[.,]", s)[0])
    if re.fullmatch(r"-?[\d.]*\d,\d+|-?\d+\.\d+", s):
        raise ValueError(f'nilai "{shown(value)}" bukan bilangan bulat')
    raise ValueError(f'nilai "{shown(value)}" bukan angka')


def parse_percent(value) -> float:
    """ "95,4 %", "95,4%", "95.4", 95.4 or an Excel percent cell (0.954)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value != value:
            raise ValueError("sel kosong")
        return float(value)
    s = str(value).strip().replace("\u00a0", "").replace(" ", "").rstrip("%")
    if not s:
        raise ValueError("sel kosong")
    if "," in s and "." in s:
        s = s.replace(".", "").replace(",", ".")
    else:
        s = s.replace(",", ".")
    try:
        return float(s)
    except ValueError:
        raise ValueError(f'nilai "{shown(value)}" bukan persentase') from None


def normalise_code(value) -> str | None:
    """Kemendagri code as text: "99.01.01.2003"; 10 digits without dots get their dots back."""
    s = _cell_text(value).replace(" ", "")
    if not s:
        return None
    if re.fullmatch(r"\d{10}", s):
        return f"{s[:2]}.{s[2:4]}.{s[4:6]}.{s[6:]}"
    return s


def _fmt(n: int) -> str:
    return f"{n:,}".replace(",", ".")


# --------------------------------------------------------------------------- raw grids
# extension -> content the name promises (the content must agree; it chooses the reader)
PROMISED = {".csv": "text", ".txt": "text", ".tsv": "text", ".xlsx": "zip", ".xlsm": "zip",
            ".xls": "ole"}
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")


def _read_bytes(path: Path, filename: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImportProblem(f"berkas tidak dapat dibaca ({exc.strerror or exc})", file=filename) from None


def _decode(data: bytes, encoding: str | None = None, filename: str | None = None) -> str:
    if encoding == "utf-16":
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportProblem("berkas bertanda UTF-16 tetapi isinya bukan teks UTF-16 yang sah; "
                                "simpan ulang sebagai CSV UTF-8", file=filename) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for enc in ("utf-8", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _csv_rows(text: str, delim: str, filename: str, max_records: int | None = None) -> list[list[str]]:
    """Rows of the text split at ``delim`` within the limits (``planner.importer.limits``);
    trailing empty cells are dropped. Raises ImportProblem naming the row."""
    reader = csv.reader((m.group() for m in _LINE.finditer(text)), delimiter=delim)
    rows: list[list[str]] = []
    nonblank = cells = 0
    try:
        for row in reader:
            n = len(rows) + 1
            if len(rows) >= limits.MAX_RECORDS:
                raise ImportProblem(limits.over(limits.MAX_RECORDS, "baris (termasuk baris kosong)"),
                                    file=filename, row=n)
            while row and not row[-1].strip():
                row.pop()
            if row:
                nonblank += 1
                if nonblank > limits.MAX_ROWS:
                    raise ImportProblem(limits.over(limits.MAX_ROWS, "baris"), file=filename, row=n)
                if len(row) > limits.MAX_COLUMNS:
                    raise ImportProblem(f"baris berisi {limits.fmt(len(row))} kolom, "
                                        + limits.over(limits.MAX_COLUMNS, "kolom"), file=filename, row=n)
                for j, v in enumerate(row):
                    if len(v) > limits.MAX_CELL_CHARS:
                        raise ImportProblem(
                            f"sel di kolom ke-{j + 1} berisi {limits.fmt(len(v))} karakter, "
                            + limits.over(limits.MAX_CELL_CHARS, "karakter"), file=filename, row=n)
                cells += sum(1 for v in row if v.strip())
                if cells > limits.MAX_CELLS:
                    raise ImportProblem(limits.over(limits.MAX_CELLS, "sel berisi"), file=filename, row=n)
            rows.append(row)
            if max_records is not None and len(rows) >= max_records:
                break
    except csv.Error as exc:
        n = len(rows) + 1
        msg = str(exc)
        if "field larger than field limit" in msg:
            raise ImportProblem(
                f"sel berisi lebih dari {limits.fmt(csv.field_size_limit())} karakter, "
                + limits.over(limits.MAX_CELL_CHARS, "karakter")
                + " (tanda kutip yang tidak ditutup?)", file=filename, row=n) from None
        if "NUL" in msg:
            raise ImportProblem("berkas berisi byte NUL: bukan teks CSV", file=filename, row=n) from None
        raise ImportProblem(f"CSV tidak sah ({shown(msg, 80)})", file=filename, row=n) from None
    return rows


def _csv_grids(text: str, filename: str) -> list[list[list]]:
    """The text split at the separator (``;``, ``,`` or tab) whose first rows hold the best
    header; only that one is read in full."""
    delims = [d for d in (";", ",", "\t") if d in text] or [","]
    if len(delims) > 1:
        heads = []
        for d in delims:
            try:
                head = _csv_rows(text, d, filename, max_records=HEADER_SEARCH_ROWS + 1)
            except ImportProblem as exc:
                heads.append((d, None, exc))
                continue
            heads.append((d, _find_header(head), None))
        found = [(d, h) for d, h, _e in heads if h is not None]
        if found:
            delims = [max(found, key=lambda dh: _score(dh[1]))[0]]
        else:
            readable = [d for d, _h, e in heads if e is None]
            if not readable:
                raise heads[0][2]
            delims = readable[:1]
    return [_csv_rows(text, delims[0], filename)]


def open_table(path: Path, filename: str, hint: str) -> tuple[list[list[list]] | None, str]:
    """The checks every CSV/XLSX upload gets (recap, village attributes, field results, known
    legs): the content decides the reader and a name that contradicts it is refused (``hint``
    ends that message). Returns ``(grids, "")`` for an XLSX (one grid per worksheet) or
    ``(None, text)`` for a CSV (decoded, not yet split)."""
    safety.check_file(path, filename)
    sniffed = safety.sniff(path, filename)
    if sniffed.kind == "ole":
        raise ImportProblem("format Excel lama (.xls) atau berkas Excel berpassword tidak didukung; "
                            "buka di Excel lalu simpan sebagai .xlsx (tanpa password) atau CSV",
                            file=filename)
    if sniffed.kind in ("xml", "sqlite", "shp", "binary"):
        raise ImportProblem(f"berkas bukan CSV atau XLSX (isi berkas: {sniffed.what})", file=filename)
    if sniffed.kind == "json":  # a table whose first cell starts with "[" or "{" is still text
        sniffed = safety.Sniffed("text", "teks", sniffed.encoding)
    ext = Path(filename).suffix.lower()
    if sniffed.kind != "zip" and ext in (".xlsx", ".xlsm"):
        raise ImportProblem("berkas .xlsx rusak atau bukan XLSX (bukan arsip zip yang utuh); "
                            "simpan ulang dari Excel sebagai .xlsx atau CSV", file=filename)
    safety.check_name(sniffed, filename, PROMISED, hint)
    if sniffed.kind == "zip":
        return read_xlsx(path, filename), ""
    data = _read_bytes(path, filename)
    if not data.strip():
        raise ImportProblem("berkas kosong (0 baris)", file=filename)
    if sniffed.encoding is None and b"\x00" in data:
        at = data.index(b"\x00")
        raise ImportProblem(f"berkas berisi byte NUL (byte ke-{at + 1}): bukan teks CSV",
                            file=filename, row=data.count(b"\n", 0, at) + 1)
    return None, _decode(data, sniffed.encoding, filename)


def csv_by_header(text: str, filename: str, find_header) -> list[list]:
    """The CSV rows split at the separator (``;``, ``,`` or tab) whose first rows hold the
    header ``find_header(rows)`` recognises (else the first separator found)."""
    delims = [d for d in (";", ",", "\t") if d in text] or [","]
    first_problem = None
    for d in delims:
        try:
            head = _csv_rows(text, d, filename, max_records=HEADER_SEARCH_ROWS + 1)
        except ImportProblem as exc:
            first_problem = first_problem or exc
            continue
        if find_header(head) is not None:
            return _csv_rows(text, d, filename)
    if first_problem is not None and len(delims) == 1:
        raise first_problem
    return _csv_rows(text, delims[0], filename)


def _grids(path: Path, filename: str) -> tuple[list[list[list]], bool]:
    """The file's grids (one per CSV, one per worksheet) and whether it is an XLSX."""
    grids, text = open_table(path, filename, "; simpan rekap sebagai .csv atau .xlsx sesuai isinya")
    if grids is not None:
        return grids, True
    return _csv_grids(text, filename), False


# --------------------------------------------------------------------------- header
@dataclass
class _Header:
    row: int  # 0-based index of the LAST header row
    nrows: int
    columns: dict[str, int]  # field -> column index
    texts: dict[str, str]  # field -> header text as in the file
    found: list[str]  # all non-empty header texts (for messages)
    signal_inverted: bool = False
    xlsx: bool = False


def _header_at(grid: list[list], r: int, two_rows: bool) -> _Header | None:
    upper = [_cell_text(v) for v in grid[r]]
    if two_rows:
        if r + 1 >= len(grid):
            return None
        lower = [_cell_text(v) for v in grid[r + 1]]
        width = max(len(upper), len(lower))
        upper += [""] * (width - len(upper))
        lower += [""] * (width - len(lower))
        # CSV exports of merged cells leave the spanned cells empty: fill the upper row to the
        # right under which the lower row has text
        last = ""
        for c in range(width):
            if upper[c]:
                last = upper[c]
            elif lower[c] and last:
                upper[c] = last
    else:
        lower = [""] * len(upper)
    columns: dict[str, int] = {}
    texts: dict[str, str] = {}
    found = []
    for c, (u, lo) in enumerate(zip(upper, lower, strict=True)):
        if lo and u and norm_header(u) != norm_header(lo):
            candidates = [f"{u} {lo}", lo, u]
            shown = f"{u} {lo}"
        else:
            candidates = [lo or u]
            shown = lo or u
        if not shown:
            continue
        found.append(shown)
        for cand in candidates:
            f = match_header(cand)
            if f and f not in columns:
                columns[f] = c
                # name the column by its own cell ("SUDAH REKAM" under a merged "JUMLAH")
                texts[f] = lo if lo and match_header(lo) == f else cand
                break
    if len(columns) < 2:
        return None
    inverted = "signal" in columns and "no_signal" not in columns
    if "signal" in columns and "no_signal" not in columns:
        columns["no_signal"] = columns.pop("signal")
        texts["no_signal"] = texts.pop("signal")
    columns.pop("signal", None)
    texts.pop("signal", None)
    return _Header(row=r + (1 if two_rows else 0), nrows=2 if two_rows else 1, columns=columns,
                   texts=texts, found=found, signal_inverted=inverted)


def _score(h: _Header) -> tuple:
    return (sum(f in h.columns for f in REQUIRED + ["kecamatan", "code"]), len(h.columns))


def _find_header(grid: list[list]) -> _Header | None:
    best = None
    for r in range(min(len(grid), HEADER_SEARCH_ROWS)):
        for two in (False, True):
            h = _header_at(grid, r, two)
            if h is None:
                continue
            if best is None or _score(h) > _score(best):
                best = h
    return best


# --------------------------------------------------------------------------- rows
def _norm_text(s: str) -> str:
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return " ".join(s.upper().translate(_HEADER_TRANSLATE).split())


def _kec_key(s: str) -> str:
    return _KEC_PREFIX_RE.sub("", _norm_text(s)).strip()


def read_recap(path, *, filename: str | None = None) -> RecapTable:
    """Read and validate a recap file (CSV or XLSX). Raises ``ImportProblem``."""
    path = Path(path)
    filename = filename or path.name
    grids, is_xlsx = _grids(path, filename)
    candidates = [(g, _find_header(g)) for g in grids]
    found = [(g, h) for g, h in candidates if h is not None]
    if not found:
        first = next((row for g in grids for row in g if any(not _blank(v) for v in row)), None)
        if first is None:
            raise ImportProblem("berkas kosong (tidak ada baris berisi)", file=filename)
        seen = ", ".join(f'"{_cell_text(v)}"' for v in first if not _blank(v))
        raise ImportProblem(
            "baris judul kolom tidak ditemukan: perlu kolom DESA/KELURAHAN, KECAMATAN, JUMLAH "
            f"PENDUDUK, WAJIB KTP-EL dan SUDAH REKAM; baris pertama berisi {seen}", file=filename)
    grid, header = max(found, key=lambda gh: _score(gh[1]))
    header.xlsx = is_xlsx
    missing = [f for f in REQUIRED if f not in header.columns]
    if missing:
        cols = ", ".join(f'"{t}"' for t in header.found)
        names = ", ".join(f'"{DISPLAY[m]}"' for m in missing)
        raise ImportProblem(
            f"kolom wajib {names} tidak ditemukan (ejaan yang diterima untuk "
            f"{DISPLAY[missing[0]]}: {', '.join(COLUMN_ALIASES[missing[0]][:4])}); kolom yang ada: {cols}",
            file=filename, row=header.row + 1, column=DISPLAY[missing[0]])
    return _parse_rows(grid, header, filename)


_NUMBERING_RE = re.compile(r"\(?(\d{1,2})\)?")


def _is_numbering(row: list) -> bool:
    return _is_numbering_texts([_cell_text(v) for v in row if not _blank(v)])


def _is_numbering_texts(texts: list[str]) -> bool:
    """The non-blank cell texts of a row are "(1) (2) (3) ..." (a column-numbering row)."""
    if len(texts) < 4:
        return False
    nums = []
    for t in texts:
        m = _NUMBERING_RE.fullmatch(t)
        if not m:
            return False
        nums.append(int(m.group(1)))
    return nums == list(range(nums[0], nums[0] + len(nums)))


def _header_cells(texts: list[str]) -> int:
    """How many of these cell texts are known column headers (3 or more: a repeated header);
    stops counting at 3. Texts with digits only (figures) are skipped cheaply."""
    n = 0
    for t in texts:
        if t.isdigit() or t.replace(".", "").isdigit():
            continue
        if match_header(t) is not None:
            n += 1
            if n >= 3:
                break
    return n


def _parse_rows(grid: list[list], h: _Header, filename: str) -> RecapTable:
    cols, texts = h.columns, h.texts
    problems: list[ImportProblem] = []

    def problem(msg, rownum, fld=None):
        problems.append(ImportProblem(msg, file=filename, row=rownum,
                                      column=texts.get(fld, DISPLAY.get(fld)) if fld else None))

    def cell(row, fld):
        c = cols.get(fld)
        if c is None or c >= len(row):
            return None
        return row[c]

    records: list[dict] = []
    subtotals: list[dict] = []
    total: dict | None = None
    heading_kec: str | None = None
    block_start = 0  # index into records where the current kecamatan block starts
    identity_cols = sorted({cols[f] for f in ("code", "name", "kecamatan") if f in cols}
                           | set(range(min(cols.values()))))

    for i in range(h.row + 1, len(grid)):
        row = grid[i]
        rownum = i + 1
        # the texts of the non-blank cells, once per row (rows may be 200 cells wide)
        filled = [_cell_text(v) for v in row if not _blank(v)]
        if not filled:
            continue
        raw_counts = {f: cell(row, f) for f in COUNT_FIELDS}
        has_counts = any(not _blank(v) for v in raw_counts.values())
        texts_in_row = [_cell_text(row[c]) for c in identity_cols if c < len(row)]
        label = next((t for t in texts_in_row if t and _TOTAL_RE.match(_norm_text(t))), None)
        # a column-numbering row ("(1) (2) (3) ...") or the header repeated after a page
        # break is not data
        if _is_numbering_texts(filled) or _header_cells(filled) >= 3:
            continue
        if total is not None:
            if has_counts:
                problem("ada baris berangka sesudah baris TOTAL; baris TOTAL harus yang terakhir",
                        rownum, "name")
            continue
        name = _cell_text(cell(row, "name"))
        code = normalise_code(cell(row, "code"))
        kec = _cell_text(cell(row, "kecamatan"))
        nonblank = set(filled)
        if len(nonblank) == 1 and len(filled) > 1 and label is None:
            # one text merged across the row (a kecamatan heading or a note), not figures
            only = nonblank.pop()
            if not re.fullmatch(r"[\d.,\s%-]+", only):
                has_counts, name, code, kec = False, only, None, ""

        if not has_counts:
            heading = name or kec or next((t for t in texts_in_row if t), "")
            if heading and not code and _KEC_PREFIX_RE.match(_norm_text(heading)):
                heading_kec = re.sub(r"^(?i:kecamatan|kec)\.?\s*", "", heading).strip()
                block_start = len(records)
                continue
            if label is None:
                problem("baris tanpa angka: JUMLAH PENDUDUK, WAJIB KTP-EL dan SUDAH REKAM kosong",
                        rownum, "population")
                continue

        counts = {}
        bad = False
        for f in COUNT_FIELDS:
            try:
                counts[f] = parse_count(raw_counts[f])
            except ValueError as exc:
                hint = ("; jika sel berisi rumus, buka berkas di Excel lalu simpan lagi agar "
                        "nilainya tersimpan" if h.xlsx and str(exc) == "sel kosong" else "")
                problem(f"{exc}; isi dengan bilangan bulat (mis. 1.234){hint}", rownum, f)
                bad = True
        unrecorded = None
        if "unrecorded" in cols and not _blank(cell(row, "unrecorded")):
            try:
                unrecorded = parse_count(cell(row, "unrecorded"))
            except ValueError as exc:
                problem(f"{exc}", rownum, "unrecorded")
                bad = True

        if label is not None:
            if bad:
                continue
            keyword, rest = _TOTAL_RE.match(_norm_text(label)).groups()
            rest = rest.strip()
            if keyword.startswith("SUB"):
                is_sub = True
            elif not rest or re.match(r"^(KAB|KABUPATEN|KOTA$|SELURUH|KESELURUHAN|SEMUA|ALL|AKHIR|"
                                      r"TOTAL|UMUM)", rest):
                # "JUMLAH" with a kecamatan in its own column is that kecamatan's subtotal
                is_sub = bool(kec and _norm_text(kec) != _norm_text(label) and not rest)
                rest = kec if is_sub else rest
            else:
                is_sub = True
            if not is_sub:
                total = {**counts, "row": rownum, "unrecorded": unrecorded}
                continue
            sub_kec = _KEC_PREFIX_RE.sub("", rest).strip() or None
            subtotals.append({**counts, "row": rownum, "unrecorded": unrecorded,
                              "kecamatan": sub_kec, "start": block_start, "end": len(records)})
            block_start = len(records)
            continue

        if not name and not code and kec and not bad:
            # only a kecamatan and sums: a subtotal row
            subtotals.append({**counts, "row": rownum, "unrecorded": unrecorded, "implicit": True,
                              "kecamatan": _kec_key(kec), "start": block_start, "end": len(records)})
            block_start = len(records)
            continue
        if not name and not code:
            problem("nama desa/kelurahan kosong (dan tidak ada kode)", rownum, "name")
            continue
        if not kec:
            kec = heading_kec or ""
        if not kec and not code:
            if "kecamatan" in cols:
                problem("kecamatan kosong; tanpa kode desa, kecamatan diperlukan untuk mencocokkan "
                        "nama", rownum, "kecamatan")
            else:
                problem("tidak ada kolom KECAMATAN atau KODE, dan tidak ada baris judul kecamatan "
                        "(mis. \"KECAMATAN KOTA BESI\") di atas baris ini; desa tanpa kode perlu "
                        "kecamatannya", rownum, "kecamatan")
        if len(name) > limits.MAX_NAME_CHARS or len(kec) > limits.MAX_NAME_CHARS:
            long_fld = "name" if len(name) > limits.MAX_NAME_CHARS else "kecamatan"
            problem(f"nama terlalu panjang ({limits.fmt(len(name if long_fld == 'name' else kec))} "
                    f"karakter, maks. {limits.MAX_NAME_CHARS})", rownum, long_fld)
            continue
        if code and len(code) > limits.MAX_CODE_CHARS:
            problem(f'kode "{shown(code)}" terlalu panjang (maks. {limits.MAX_CODE_CHARS} karakter)',
                    rownum, "code")
            continue
        rec = {"code": code, "name": name or code, "kecamatan": kec, "row": rownum, **counts}
        if bad:
            records.append({**rec, "_bad": True})
            continue
        if any(counts[f] > MAX_COUNT for f in COUNT_FIELDS):
            for f in COUNT_FIELDS:
                if counts[f] > MAX_COUNT:
                    problem(f"nilai {_fmt(counts[f])} terlalu besar untuk satu desa/kelurahan", rownum, f)
        elif any(counts[f] < 0 for f in COUNT_FIELDS):
            for f in COUNT_FIELDS:
                if counts[f] < 0:
                    problem(f"nilai {counts[f]} negatif; jumlah tidak boleh negatif", rownum, f)
        else:
            if counts["recorded"] > counts["population"]:
                problem(f"sudah rekam {_fmt(counts['recorded'])} lebih besar dari jumlah penduduk "
                        f"{_fmt(counts['population'])}", rownum, "recorded")
            if counts["obliged"] > counts["population"]:
                problem(f"wajib KTP-el {_fmt(counts['obliged'])} lebih besar dari jumlah penduduk "
                        f"{_fmt(counts['population'])}", rownum, "obliged")
            if unrecorded is not None:
                expected = max(counts["obliged"] - counts["recorded"], 0)
                if unrecorded != expected:
                    problem(f"belum rekam {_fmt(unrecorded)} tidak sama dengan wajib KTP-el − sudah "
                            f"rekam = {_fmt(expected)}", rownum, "unrecorded")
            if "percent" in cols and not _blank(cell(row, "percent")) and counts["obliged"] > 0:
                try:
                    pct = parse_percent(cell(row, "percent"))
                    computed = counts["recorded"] / counts["obliged"] * 100
                    if min(abs(pct - computed), abs(pct * 100 - computed)) > PERCENT_TOLERANCE:
                        computed_text = f"{computed:.1f}".replace(".", ",")
                        problem(f"persentase {_cell_text(cell(row, 'percent'))} tidak cocok dengan "
                                f"sudah rekam / wajib KTP-el = {computed_text} %", rownum, "percent")
                except ValueError as exc:
                    problem(str(exc), rownum, "percent")
        if "access" in cols:
            raw = _cell_text(cell(row, "access"))
            key = " ".join(re.sub(r"[^a-z]+", " ", raw.lower()).replace(" dan ", " ").split())
            if raw and key not in ACCESS_VALUES:
                problem(f'akses "{shown(raw)}" tidak dikenal; isi darat, sungai atau keduanya', rownum, "access")
            rec["access"] = ACCESS_VALUES.get(key) if raw else None
        if "no_signal" in cols:
            raw = _cell_text(cell(row, "no_signal"))
            v = raw.lower()
            if raw and v not in YES and v not in NO:
                problem(f'nilai "{shown(raw)}" tidak dikenal; isi ya atau tidak', rownum, "no_signal")
                rec["no_signal"] = None
            elif not raw:
                rec["no_signal"] = None
            else:
                yes = v in YES
                rec["no_signal"] = (not yes) if h.signal_inverted else yes
        records.append(rec)

    if not records and not problems:
        raise ImportProblem("tidak ada baris data desa di bawah baris judul kolom",
                            file=filename, row=h.row + 1)

    good = [r for r in records if not r.get("_bad")]
    _check_duplicates(good, problems, filename, texts)
    if not problems:
        _check_sums(records, subtotals, total, problems, filename, texts)
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise ImportProblem.collect(problems)

    columns = ["code", "name", "kecamatan", "population", "obliged", "recorded", "row"]
    if "access" in cols:
        columns.append("access")
    if "no_signal" in cols:
        columns.append("no_signal")
    frame = pd.DataFrame(records, columns=columns)
    for c in ("code", "access", "no_signal"):
        if c in frame.columns:
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    for f in COUNT_FIELDS + ["row"]:
        frame[f] = frame[f].astype("int64")
    if total is not None:
        total = {k: v for k, v in total.items() if k != "unrecorded" or v is not None}
    return RecapTable(frame=frame, total=total, filename=filename, headers=dict(texts),
                      subtotals=[{k: v for k, v in s.items() if k not in ("start", "end", "implicit")}
                                 for s in subtotals])


def _check_duplicates(records, problems, filename, texts):
    seen_codes: dict[str, int] = {}
    seen_names: dict[tuple, int] = {}
    for r in records:
        if r["code"]:
            if r["code"] in seen_codes:
                problems.append(ImportProblem(
                    f"kode {r['code']} ganda: sudah dipakai di baris {seen_codes[r['code']]}",
                    file=filename, row=r["row"], column=texts.get("code")))
            else:
                seen_codes[r["code"]] = r["row"]
        else:
            key = (_kec_key(r["kecamatan"]), _norm_text(r["name"]))
            if key in seen_names:
                problems.append(ImportProblem(
                    f'desa "{r["name"]}" di kecamatan "{r["kecamatan"]}" ganda: sudah ada di baris '
                    f"{seen_names[key]}; beri kode desa atau hapus salah satu",
                    file=filename, row=r["row"], column=texts.get("name")))
            else:
                seen_names[key] = r["row"]


def _check_sums(records, subtotals, total, problems, filename, texts):
    def compare(label, row, given, rows, extra_fields=(), hint=""):
        for f in list(COUNT_FIELDS) + list(extra_fields):
            if f == "unrecorded":
                if given.get("unrecorded") is None:
                    continue
                s = sum(max(r["obliged"] - r["recorded"], 0) for r in rows)
            else:
                s = sum(r[f] for r in rows)
            if given[f] != s:
                problems.append(ImportProblem(
                    f"{label} {_fmt(given[f])} tidak sama dengan jumlah {len(rows)} baris desanya "
                    f"{_fmt(s)} (selisih {_fmt(given[f] - s)}){hint}",
                    file=filename, row=row, column=texts.get(f)))
                hint = ""  # explained once per row

    by_kec: dict[str, list[dict]] = {}
    if subtotals:
        for r in records:
            by_kec.setdefault(_kec_key(r["kecamatan"]), []).append(r)
    for s in subtotals:
        rows = records[s["start"]:s["end"]]
        if s["kecamatan"]:
            named = by_kec.get(_kec_key(s["kecamatan"]), [])
            if named:
                rows = named
        label = f"subtotal kecamatan {s['kecamatan'].title()}" if s["kecamatan"] else "subtotal"
        hint = ("; baris tanpa nama desa dan kode dianggap subtotal kecamatan"
                if s.get("implicit") else "")
        compare(label, s["row"], s, rows, ("unrecorded",), hint)
    if total is not None:
        compare("TOTAL", total["row"], total, records, ("unrecorded",))
