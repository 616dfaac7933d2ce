"""Read the cell values of an XLSX workbook within limits, streaming, with the stdlib's expat.

Why not openpyxl: its read-only mode still scans a whole sheet for a missing ``<dimension>``,
builds an element tree per row and pads rows up to whatever a sheet claims; a hostile workbook
costs seconds before any limit could be checked. This reader keeps only what a recap needs:
the stored values (a formula's cached value, never the formula), shared and inline strings,
numbers, booleans, error texts, dates (cells with a date format) and merged ranges.

Before parsing, the archive is checked (``safety.open_zip``: members, sizes, compression ratio)
and must be a workbook (``xl/workbook.xml``), and every XML part's prolog is checked for a DTD
(``safety.check_xml_prolog``). The expat parsers also refuse any DTD or entity declaration and
never read external entities. External links (``xl/externalLinks``) are never opened, so
nothing a workbook points at is fetched.

Only cells that hold something are kept: formatting that makes a sheet claim a million rows,
or a stray empty cell at XFD1048576, costs nothing. A value beyond ``MAX_ROWS`` or
``MAX_COLUMNS``, more than ``MAX_CELLS`` values, a cell over ``MAX_CELL_CHARS`` characters,
more than ``MAX_RECORDS`` row elements, ``MAX_SHEETS`` sheets or ``MAX_MERGED_RANGES`` merged
ranges stop the reading with a message naming the sheet, the row and the limit. Merged ranges
give every cell the top-left value.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from pathlib import Path
from xml.parsers import expat

from . import limits, safety
from .errors import ImportProblem

XML_PARTS = (".xml", ".rels", ".vml")
CHUNK = 1024 * 1024
_REF = re.compile(r"^\$?([A-Za-z]{1,4})\$?(\d{1,9})$")
# built-in number formats that show a date or time
DATE_FORMAT_IDS = set(range(14, 23)) | set(range(27, 37)) | {45, 46, 47} | set(range(50, 59))
_DATE_CODE = re.compile(r"[dmyhs]", re.I)
_QUOTED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')


class _Stop(Exception):
    """Raised inside expat handlers; carries the ImportProblem out of ``Parse``."""

    def __init__(self, problem: ImportProblem):
        super().__init__(str(problem))
        self.problem = problem


def col_letter(n: int) -> str:
    s = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _split_ref(ref: str) -> tuple[int, int] | None:
    m = _REF.match(ref or "")
    if not m:
        return None
    return int(m.group(2)), _col_number(m.group(1))


def _local(name: str) -> str:
    return name.rpartition(":")[2]


# --------------------------------------------------------------------------- expat
def _parser(filename: str, part: str) -> expat.XMLParserType:
    p = expat.ParserCreate()
    p.buffer_text = True
    p.buffer_size = 65536
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def forbid(*_args):
        raise _Stop(ImportProblem(f'bagian XML "{part}" memuat DTD/entitas; berkas seperti ini '
                                  "dapat membaca berkas lain atau menghabiskan memori; simpan "
                                  "ulang dari Excel", file=filename))

    p.StartDoctypeDeclHandler = forbid
    p.EntityDeclHandler = forbid
    p.UnparsedEntityDeclHandler = forbid
    p.ExternalEntityRefHandler = forbid
    return p


def _parse(zf: zipfile.ZipFile, name: str, filename: str, p: expat.XMLParserType) -> None:
    try:
        with zf.open(name) as f:
            while chunk := f.read(CHUNK):
                p.Parse(chunk, False)
            p.Parse(b"", True)
    except _Stop as stop:
        raise stop.problem from None
    except expat.ExpatError as exc:
        if exc.code == expat.errors.codes[expat.errors.XML_ERROR_NO_MEMORY]:
            raise MemoryError from None  # under the child's memory limit
        raise ImportProblem(f'bagian XML "{name}" rusak ({expat.ErrorString(exc.code)}, baris '
                            f"{exc.lineno}); simpan ulang dari Excel sebagai .xlsx atau CSV",
                            file=filename) from None
    except (*safety.ZIP_ERRORS, OSError) as exc:
        raise ImportProblem(f'arsip rusak: "{name}" tidak dapat dibuka ({safety._reason(exc)})',
                            file=filename) from None


def _attrs_of(zf, name: str, filename: str, tags: set[str]) -> list[tuple[str, dict]]:
    """(tag, attributes) of the elements named ``tags`` in a small part."""
    out = []
    p = _parser(filename, name)

    def start(tag, attrs):
        tag = _local(tag)
        if tag in tags:
            out.append((tag, {_local(k): v for k, v in attrs.items()}))
            if len(out) > 100_000:
                raise _Stop(ImportProblem(f'bagian "{name}" terlalu besar', file=filename))

    p.StartElementHandler = start
    _parse(zf, name, filename, p)
    return out


# --------------------------------------------------------------------------- the workbook
def check_archive(path: Path, filename: str) -> zipfile.ZipFile:
    """The zip, checked: a workbook whose XML parts have no DTD."""
    broken = ("berkas .xlsx rusak atau bukan XLSX (bukan arsip zip yang utuh); simpan ulang dari "
              "Excel sebagai .xlsx atau CSV")
    zf = safety.open_zip(path, filename, broken)
    try:
        names = {i.filename.replace("\\", "/").lower(): i for i in zf.infolist()}
        if "xl/workbook.xml" not in names and "[content_types].xml" in names:
            raise ImportProblem("arsip ini dokumen Office lain (bukan buku kerja Excel); simpan "
                                "rekap sebagai .xlsx atau CSV", file=filename)
        if "xl/workbook.xml" not in names:
            raise ImportProblem("berkas adalah arsip zip, bukan XLSX (tidak ada xl/workbook.xml); "
                                "kirim rekap sebagai .xlsx atau CSV", file=filename)
        for name, info in names.items():
            if not info.is_dir() and name.endswith(XML_PARTS):
                safety.check_xml_prolog(zf, info, filename)
    except BaseException:
        zf.close()
        raise
    return zf


def _resolve(base_dir: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(base_dir, target))


def _member(zf: zipfile.ZipFile, name: str) -> str | None:
    """The archive's spelling of ``name`` (case-insensitive), or None."""
    want = name.lower()
    for info in zf.infolist():
        if info.filename.replace("\\", "/").lower() == want:
            return info.filename
    return None


def _shared_strings(zf, name: str, filename: str) -> list[str]:
    strings: list[str] = []
    buf: list[str] = []
    state = {"in_t": False, "rph": 0, "chars": 0}
    p = _parser(filename, name)

    def start(tag, _attrs):
        tag = _local(tag)
        if tag == "si":
            buf.clear()
        elif tag == "rPh":
            state["rph"] += 1
        elif tag == "t" and not state["rph"]:
            state["in_t"] = True

    def end(tag):
        tag = _local(tag)
        if tag == "si":
            strings.append("".join(buf))
            if len(strings) > limits.MAX_CELLS + 1000:
                raise _Stop(ImportProblem("tabel teks bersama (sharedStrings) berisi " + limits.over(
                    limits.MAX_CELLS, "teks"), file=filename))
        elif tag == "rPh":
            state["rph"] -= 1
        elif tag == "t":
            state["in_t"] = False

    def chars(text):
        if state["in_t"]:
            buf.append(text)

    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, chars
    _parse(zf, name, filename, p)
    return strings


def _date_styles(zf, name: str | None, filename: str) -> set[int]:
    """Indexes of cell styles (``s``) that show dates."""
    if name is None:
        return set()
    custom: dict[int, str] = {}
    xfs: list[int] = []
    depth = {"cellXfs": 0}
    p = _parser(filename, name)

    def start(tag, attrs):
        tag = _local(tag)
        if tag == "numFmt":
            try:
                custom[int(attrs.get("numFmtId", "-1"))] = attrs.get("formatCode", "")
            except ValueError:
                pass
        elif tag == "cellXfs":
            depth["cellXfs"] += 1
        elif tag == "xf" and depth["cellXfs"]:
            try:
                xfs.append(int(attrs.get("numFmtId", "0")))
            except ValueError:
                xfs.append(0)

    def end(tag):
        if _local(tag) == "cellXfs":
            depth["cellXfs"] -= 1

    p.StartElementHandler, p.EndElementHandler = start, end
    _parse(zf, name, filename, p)

    def is_date(fmt_id: int) -> bool:
        if fmt_id in custom:
            return bool(_DATE_CODE.search(_QUOTED.sub("", custom[fmt_id])))
        return fmt_id in DATE_FORMAT_IDS

    return {i for i, f in enumerate(xfs) if is_date(f)}


def _from_serial(value: float, epoch: dt.datetime):
    try:
        d = epoch + dt.timedelta(days=value)
    except (OverflowError, ValueError):
        return value
    return d.date() if d.time() == dt.time(0) else d


def read_xlsx(path: Path, filename: str) -> list[list[list]]:
    """One grid (list of rows of values) per worksheet, in the workbook's order."""
    with check_archive(path, filename) as zf:
        rels_name = _member(zf, "_rels/.rels")
        book = "xl/workbook.xml"
        if rels_name:
            for _tag, a in _attrs_of(zf, rels_name, filename, {"Relationship"}):
                if a.get("Type", "").endswith("/officeDocument") and a.get("TargetMode") != "External":
                    book = _resolve("", a.get("Target", book))
        book_name = _member(zf, book) or _member(zf, "xl/workbook.xml")
        book_dir = posixpath.dirname(book_name)
        entries = _attrs_of(zf, book_name, filename, {"sheet", "workbookPr"})
        sheets = [a for tag, a in entries if tag == "sheet"]
        date1904 = any(tag == "workbookPr" and a.get("date1904") in ("1", "true") for tag, a in entries)
        if len(sheets) > limits.MAX_SHEETS:
            raise ImportProblem("buku kerja berisi " + limits.over(limits.MAX_SHEETS, "lembar kerja"),
                                file=filename)
        targets: dict[str, str] = {}
        shared_name = styles_name = None
        book_rels = _member(zf, posixpath.join(book_dir, "_rels", posixpath.basename(book_name) + ".rels"))
        if book_rels:
            for _tag, a in _attrs_of(zf, book_rels, filename, {"Relationship"}):
                if a.get("TargetMode") == "External":
                    continue  # external links: never followed
                target = _resolve(book_dir, a.get("Target", ""))
                kind = a.get("Type", "").rsplit("/", 1)[-1]
                if kind == "worksheet":
                    targets[a.get("Id", "")] = target
                elif kind == "sharedStrings":
                    shared_name = _member(zf, target)
                elif kind == "styles":
                    styles_name = _member(zf, target)
        shared_name = shared_name or _member(zf, "xl/sharedStrings.xml")
        strings = _shared_strings(zf, shared_name, filename) if shared_name else []
        dates = _date_styles(zf, styles_name or _member(zf, "xl/styles.xml"), filename)
        epoch = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
        grids = []
        records = 0
        for i, a in enumerate(sheets):
            part = _member(zf, targets.get(a.get("id", ""), "")) or (
                _member(zf, f"xl/worksheets/sheet{i + 1}.xml") if not targets else None)
            if part is None:
                continue  # a chartsheet, or a sheet the workbook names without a part
            title = a.get("name") or f"Sheet{i + 1}"
            grid, n = _sheet_grid(zf, part, filename, title if len(sheets) > 1 else None,
                                  strings, dates, epoch, limits.MAX_RECORDS - records)
            records += n
            grids.append(grid)
        return grids


def _number(text: str):
    text = text.strip()
    if re.fullmatch(r"-?\d{1,18}", text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def _sheet_grid(zf, part: str, filename: str, title: str | None, strings: list[str],
                dates: set[int], epoch: dt.datetime, records_left: int) -> tuple[list[list], int]:
    where = f'lembar "{safety._shown(title, 40)}": ' if title else ""

    def stop(msg, row=None):
        return _Stop(ImportProblem(where + msg, file=filename, row=row))

    cells: dict[tuple[int, int], object] = {}
    merged: list[str] = []
    st = {"row": 0, "col": 0, "rows": 0, "max_r": 0, "max_c": 0,
          "t": "n", "s": 0, "in_cell": False, "text": None, "in_is": 0, "rph": 0, "len": 0}
    buf: list[str] = []

    def start(tag, attrs):
        tag = _local(tag)
        if tag == "c":
            ref = attrs.get("r")
            if ref:
                rc = _split_ref(ref)
                if rc is None:
                    raise stop(f"lembar kerja rusak: sel {safety._shown(ref, 20)} tidak sah; simpan "
                               "ulang dari Excel sebagai .xlsx atau CSV", st["row"] or None)
                st["row"], st["col"] = rc
            else:
                st["col"] += 1
            st["t"] = attrs.get("t", "n")
            try:
                st["s"] = int(attrs.get("s", 0))
            except ValueError:
                st["s"] = 0
            st["in_cell"], st["text"], st["in_is"], st["len"] = True, None, 0, 0
            buf.clear()
        elif not st["in_cell"]:
            if tag == "row":
                st["rows"] += 1
                if st["rows"] > records_left:
                    raise stop(limits.over(limits.MAX_RECORDS, "baris (termasuk baris kosong)"))
                r = attrs.get("r")
                if r is not None:
                    try:
                        st["row"] = int(r)
                    except ValueError:
                        raise stop(f"lembar kerja rusak: nomor baris {safety._shown(r, 20)} tidak "
                                   "sah") from None
                else:
                    st["row"] += 1
                st["col"] = 0
            elif tag == "mergeCell":
                merged.append(attrs.get("ref", ""))
                if len(merged) > limits.MAX_MERGED_RANGES:
                    raise stop(limits.over(limits.MAX_MERGED_RANGES, "rentang sel gabungan"))
        elif tag == "v":
            buf.clear()
            st["text"] = ""
        elif tag == "is":
            st["in_is"] = 1
            buf.clear()
        elif tag == "rPh":
            st["rph"] += 1

    def chars(text):
        if st["in_cell"] and not st["rph"]:
            buf.append(text)
            st["len"] += len(text)
            if st["len"] > limits.MAX_CELL_CHARS * 4:  # stop before gathering megabytes
                _too_long(st["len"])

    def _too_long(n):
        ref = f"{col_letter(st['col'])}{st['row']}"
        raise stop(f"sel {ref} berisi {limits.fmt(n)} karakter, "
                   + limits.over(limits.MAX_CELL_CHARS, "karakter"), st["row"])

    def end(tag):
        tag = _local(tag)
        if not st["in_cell"]:
            return
        if tag == "v":
            st["text"] = "".join(buf)
            buf.clear()
        elif tag == "f":
            buf.clear()  # the formula itself is not a value
        elif tag == "rPh":
            st["rph"] -= 1
        elif tag == "is":
            st["text"] = "".join(buf)
            buf.clear()
        elif tag == "c":
            st["in_cell"] = False
            _store(_value(st["t"], st["text"], st["s"]))

    def _value(t, text, s):
        if text is None:
            return None
        if t == "s":
            try:
                return strings[int(text)]
            except (ValueError, IndexError):
                raise stop(f"lembar kerja rusak: sel {col_letter(st['col'])}{st['row']} merujuk "
                           f"teks bersama nomor {safety._shown(text, 20)} yang tidak ada",
                           st["row"]) from None
        if t in ("inlineStr", "str", "e"):
            return text
        if t == "b":
            return text.strip() in ("1", "true")
        if t == "d":
            try:
                return dt.datetime.fromisoformat(text.strip())
            except ValueError:
                return text
        value = _number(text)
        if s in dates and isinstance(value, int | float):
            return _from_serial(value, epoch)
        return value

    def _store(value):
        if value is None or (isinstance(value, str) and not value.strip()):
            return
        r, c = st["row"], st["col"]
        ref = f"{col_letter(c)}{r}"
        if r < 1 or c < 1:
            raise stop(f"lembar kerja rusak: sel {ref} tidak sah; simpan ulang dari Excel sebagai "
                       ".xlsx atau CSV")
        if r > limits.MAX_ROWS:
            raise stop(f"sel {ref} berisi nilai: " + limits.over(limits.MAX_ROWS, "baris"), r)
        if c > limits.MAX_COLUMNS:
            raise stop(f"sel {ref} berisi nilai: " + limits.over(limits.MAX_COLUMNS, "kolom"), r)
        if isinstance(value, str) and len(value) > limits.MAX_CELL_CHARS:
            _too_long(len(value))
        cells[(r, c)] = value
        if len(cells) > limits.MAX_CELLS:
            raise stop(limits.over(limits.MAX_CELLS, "sel berisi"), r)
        if r > st["max_r"]:
            st["max_r"] = r
        if c > st["max_c"]:
            st["max_c"] = c

    p = _parser(filename, part)
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, chars
    _parse(zf, part, filename, p)

    max_r, max_c = st["max_r"], st["max_c"]
    grid = [[None] * max_c for _ in range(max_r)]
    for (r, c), value in cells.items():
        grid[r - 1][c - 1] = value
    # merged cells: every cell of the range gets the top-left value (clipped to the grid; at
    # most two passes over the grid in all, whatever the ranges say)
    budget = 2 * max_r * max_c
    for ref in merged:
        a, _sep, b = ref.partition(":")
        first, last = _split_ref(a), _split_ref(b or a)
        if first is None or last is None:
            continue
        (r0, c0), (r1, c1) = first, last
        if r0 < 1 or c0 < 1 or r0 > max_r or c0 > max_c:
            continue
        r1, c1 = min(r1, max_r), min(c1, max_c)
        if r1 < r0 or c1 < c0:
            continue
        budget -= (r1 - r0 + 1) * (c1 - c0 + 1)
        if budget < 0:
            raise stop("rentang sel gabungan saling menimpa terlalu banyak; hapus gabungan sel "
                       "(Merge) yang tidak perlu").problem
        value = grid[r0 - 1][c0 - 1]
        for r in range(r0 - 1, r1):
            row = grid[r]
            for c in range(c0 - 1, c1):
                row[c] = value
    return grid, st["rows"]
