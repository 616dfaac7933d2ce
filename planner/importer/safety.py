"""What runs before a reader sees a file: the file's size, what it IS (by its bytes, never by
its name), zip archives, the XML parts of an XLSX and GeoPackage databases.

* ``sniff`` tells the content from its first bytes: text, JSON, XML, zip, SQLite, an old
  Office (OLE2) file, a bare ``.shp``, or another binary. The readers take a file only when the
  content is theirs, and refuse a name that contradicts the content (a ``.geojson`` that is a
  GDAL VRT, a ``.csv`` that is a zip): the name never chooses a different reader.
* ``open_zip`` refuses archives with too many members, absolute or ``..`` paths, symbolic links,
  encrypted or duplicate members, more than ``ZIP_MAX_UNZIPPED_MB`` in all or a member that
  inflates more than ``ZIP_MAX_RATIO`` times; ``extract`` inflates one member by streaming
  (a member cannot inflate past the size the archive states; zipfile checks it and the CRC).
* ``check_xml_prolog`` refuses XML parts with a DTD (``<!DOCTYPE``: entity expansion, external
  entities) or not in UTF-8; the XLSX reader's expat parsers refuse them a second time.
* ``check_geopackage`` opens the database read-only (Python's sqlite3, ``immutable``), and
  refuses one that is not a GeoPackage, lists views as layers, or holds virtual tables other than
  the R-tree spatial index (GDAL's VirtualOGR/VirtualShape would read other files).
* ``lock_down_gdal`` (in the child process only) forbids GDAL network access and deregisters
  every GDAL driver but "ESRI Shapefile" and "GPKG", so no VRT, no remote GeoJSON, no WFS can be
  opened whatever a file says.
"""

from __future__ import annotations

import lzma
import os
import re
import sqlite3
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from . import limits
from .errors import ImportProblem

SNIFF_BYTES = 64 * 1024
MiB = 1024 * 1024
# what reading a damaged member can raise (zipfile, zlib, bz2, lzma)
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError,
              RuntimeError, zlib.error, lzma.LZMAError, struct.error)

_MAGIC: list[tuple[bytes, str, str]] = [
    (b"PK\x03\x04", "zip", "arsip zip"),
    (b"PK\x05\x06", "zip", "arsip zip (kosong)"),
    (b"PK\x07\x08", "zip", "arsip zip"),
    (b"SQLite format 3\x00", "sqlite", "basis data SQLite"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole",
     "dokumen Office lama (.xls) atau berkas Excel berpassword"),
    (b"\x00\x00\x27\x0a", "shp", "berkas .shp saja"),
    (b"\x1f\x8b", "binary", "arsip gzip"),
    (b"7z\xbc\xaf\x27\x1c", "binary", "arsip 7-Zip"),
    (b"Rar!", "binary", "arsip RAR"),
    (b"\xfd7zXZ", "binary", "arsip xz"),
    (b"BZh", "binary", "arsip bzip2"),
    (b"%PDF", "binary", "dokumen PDF"),
    (b"\x89PNG", "binary", "gambar PNG"),
    (b"\xff\xd8\xff", "binary", "gambar JPEG"),
    (b"GIF8", "binary", "gambar GIF"),
    (b"MZ", "binary", "program Windows"),
    (b"\x7fELF", "binary", "program"),
    (b"fgb\x03", "binary", "FlatGeobuf"),
]


@dataclass
class Sniffed:
    kind: str        # text | json | xml | zip | sqlite | ole | shp | binary
    what: str        # for messages ("arsip zip", "XML: VRT GDAL", ...)
    encoding: str | None = None  # text: "utf-16" when it has a UTF-16 byte-order mark


def check_file(path: Path, filename: str) -> int:
    """The file exists, is a regular file, is not empty and not over ``MAX_FILE_MB``."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImportProblem("berkas tidak ditemukan", file=filename) from None
    except OSError as exc:
        raise ImportProblem(f"berkas tidak dapat dibaca ({exc.strerror or exc})", file=filename) from None
    if not stat.S_ISREG(st.st_mode):
        raise ImportProblem("bukan berkas biasa (folder, perangkat atau pipa)", file=filename)
    if st.st_size == 0:
        raise ImportProblem("berkas kosong (0 byte)", file=filename)
    if st.st_size > limits.MAX_FILE_MB * MiB:
        raise ImportProblem(
            f"berkas berukuran {limits.fmt(st.st_size / MiB)} MB, "
            + limits.over(limits.MAX_FILE_MB, "MB", "; pisahkan atau perkecil berkasnya"),
            file=filename)
    return st.st_size


def _xml_what(head: str) -> str:
    low = head[:4096].lower()
    if "ogrvrtdatasource" in low or "vrtdataset" in low:
        return "XML: VRT GDAL (merujuk berkas atau alamat lain)"
    for tag, what in (("<kml", "XML: KML"), ("<gml", "XML: GML"), (":featurecollection", "XML: GML"),
                      ("<html", "HTML"), ("<!doctype html", "HTML"), ("<workbook", "XML: Excel 2003"),
                      ("<svg", "XML: SVG")):
        if tag in low:
            return what
    return "XML"


def sniff(path: Path, filename: str) -> Sniffed:
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as exc:
        raise ImportProblem(f"berkas tidak dapat dibaca ({exc.strerror or exc})", file=filename) from None
    for magic, kind, what in _MAGIC:
        if head.startswith(magic):
            return Sniffed(kind, what)
    encoding = None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
        text = head[2:len(head) - (len(head) % 2)].decode(
            "utf-16-le" if head.startswith(b"\xff\xfe") else "utf-16-be", "replace")
    else:
        if b"\x00" in head[:4096]:
            return Sniffed("binary", "isi biner")
        text = head.decode("utf-8", "replace").lstrip("\ufeff")
    first = text.lstrip()[:1]
    if first == "<":
        return Sniffed("xml", _xml_what(text), encoding)
    if first in ("{", "["):
        return Sniffed("json", "JSON", encoding)
    return Sniffed("text", "teks", encoding)


def check_name(sniffed: Sniffed, filename: str, promised: dict[str, str], hint: str) -> None:
    """Refuse a file whose name promises another content than it has (``promised``: extension
    -> kind). The content chooses the reader; the name can only make the file refused."""
    ext = Path(filename).suffix.lower()
    want = promised.get(ext)
    if want is not None and want != sniffed.kind:
        raise ImportProblem(f"nama berkas berakhiran {ext} tetapi isinya {sniffed.what}; berkas "
                            f"diperiksa menurut isinya, bukan namanya{hint}", file=filename)


# --------------------------------------------------------------------------- zip
def _unsafe_name(name: str) -> str | None:
    if "\x00" in name:
        return "nama berisi byte NUL"
    n = name.replace("\\", "/")
    if n.startswith("/") or re.match(r"^[A-Za-z]:", n):
        return "jalur absolut"
    if ".." in n.split("/"):
        return 'jalur dengan ".."'
    return None


def _zip_directory(path: Path) -> tuple[int, int] | None:
    """(entries, central directory bytes) from the end record, read without zipfile (which
    would build every entry first)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - (65535 + 22)))
        tail = f.read()
        i = tail.rfind(b"PK\x05\x06")
        if i < 0 or len(tail) - i < 22:
            return None
        _sig, _d, _cd, _n, entries, cd_size, _off, _c = struct.unpack("<4s4H2LH", tail[i:i + 22])
        if entries == 0xFFFF or cd_size == 0xFFFFFFFF:  # zip64: the real numbers are elsewhere
            loc = tail[i - 20:i] if i >= 20 else b""
            if not loc.startswith(b"PK\x06\x07"):
                return entries, cd_size
            (off64,) = struct.unpack("<Q", loc[8:16])
            if off64 > size - 56:
                return None
            f.seek(off64)
            rec = f.read(56)
            if not rec.startswith(b"PK\x06\x06"):
                return None
            entries, cd_size = struct.unpack("<QQ", rec[32:48])
        return entries, cd_size


def open_zip(path: Path, filename: str, broken: str = "arsip zip rusak") -> zipfile.ZipFile:
    """The archive, after checking every member (see the module text). Raises ImportProblem;
    ``broken`` starts the message for an archive that cannot be read at all."""
    directory = _zip_directory(path)
    if directory is not None:
        entries, cd_size = directory
        if entries > limits.ZIP_MAX_MEMBERS:
            raise ImportProblem(f"arsip zip berisi {limits.fmt(entries)} berkas, "
                                + limits.over(limits.ZIP_MAX_MEMBERS, "berkas"), file=filename)
        if cd_size > limits.ZIP_MAX_DIRECTORY_MB * MiB:
            raise ImportProblem("daftar isi arsip zip " + limits.over(
                limits.ZIP_MAX_DIRECTORY_MB, "MB"), file=filename)
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except (*ZIP_ERRORS, OSError) as exc:
        raise ImportProblem(f"{broken} ({_reason(exc)})", file=filename) from None
    try:
        _check_members(infos, filename)
    except BaseException:
        zf.close()
        raise
    return zf


def _check_members(infos: list[zipfile.ZipInfo], filename: str) -> None:
    if len(infos) > limits.ZIP_MAX_MEMBERS:
        raise ImportProblem(f"arsip zip berisi {limits.fmt(len(infos))} berkas, "
                            + limits.over(limits.ZIP_MAX_MEMBERS, "berkas"), file=filename)
    total = 0
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        shown = _shown(name)
        bad = _unsafe_name(name)
        if bad:
            raise ImportProblem(f'arsip zip berisi "{shown}" ({bad}); arsip tidak boleh menulis '
                                "di luar foldernya", file=filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ImportProblem(f'arsip zip berisi tautan simbolik "{shown}"; kirim berkas aslinya',
                                file=filename)
        if info.flag_bits & 0x1:
            raise ImportProblem(f'arsip zip berisi berkas terenkripsi (berpassword) "{shown}"; '
                                "kirim arsip tanpa password", file=filename)
        key = name.replace("\\", "/").rstrip("/").lower()
        if key in seen:
            raise ImportProblem(f'arsip zip berisi "{shown}" dua kali', file=filename)
        seen.add(key)
        if info.is_dir():
            continue
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                                      zipfile.ZIP_LZMA):
            raise ImportProblem(f'metode kompresi {info.compress_type} untuk "{shown}" tidak '
                                "didukung; buat ulang arsip dengan zip biasa (deflate)", file=filename)
        total += info.file_size
        if info.file_size > MiB and info.file_size > limits.ZIP_MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise ImportProblem(
                f'"{shown}" di dalam arsip mengembang {limits.fmt(round(ratio))} kali saat '
                f"dibuka, {limits.over(limits.ZIP_MAX_RATIO, 'kali')} (bom dekompresi?)",
                file=filename)
    if total > limits.ZIP_MAX_UNZIPPED_MB * MiB:
        raise ImportProblem(f"isi arsip zip {limits.fmt(total / MiB)} MB setelah dibuka, "
                            + limits.over(limits.ZIP_MAX_UNZIPPED_MB, "MB"), file=filename)


def member_files(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Members that are files, without macOS resource forks (``__MACOSX/``, ``._x``)."""
    out = []
    for info in zf.infolist():
        if info.is_dir():
            continue
        parts = info.filename.replace("\\", "/").split("/")
        if parts[0] == "__MACOSX" or parts[-1].startswith("._"):
            continue
        out.append(info)
    return out


def extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, filename: str,
            as_name: str | None = None) -> Path:
    """Inflate one member into ``dest`` (flat: only the base name is used)."""
    base = as_name or re.sub(r"[^\w.\-]+", "_", info.filename.replace("\\", "/").rsplit("/", 1)[-1])
    out = dest / (base or "member")
    try:
        with zf.open(info) as src, open(out, "wb") as dst:
            while chunk := src.read(MiB):
                dst.write(chunk)
    except ZIP_ERRORS as exc:
        raise ImportProblem(f'arsip zip rusak: "{_shown(info.filename)}" tidak dapat dibuka '
                            f"({_reason(exc)})", file=filename) from None
    except OSError as exc:
        raise ImportProblem(f'"{_shown(info.filename)}" tidak dapat dibuka dari arsip '
                            f"({exc.strerror or exc})", file=filename) from None
    return out


def check_xml_prolog(zf: zipfile.ZipFile, info: zipfile.ZipInfo, filename: str) -> None:
    """Refuse an XML part with a DTD (``<!DOCTYPE``/``<!ENTITY``) or not in UTF-8. Only the prolog
    is read: a DTD cannot come after the root element."""
    name = _shown(info.filename)
    try:
        with zf.open(info) as f:
            head = f.read(64 * 1024)
    except (*ZIP_ERRORS, OSError) as exc:
        raise ImportProblem(f'arsip rusak: "{name}" tidak dapat dibuka ({_reason(exc)})',
                            file=filename) from None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:64]:
        raise ImportProblem(f'bagian XML "{name}" tidak berkode UTF-8; simpan ulang dari Excel',
                            file=filename)
    i = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    n = len(head)
    while i < n:
        if head[i:i + 1].isspace():
            i += 1
        elif head.startswith(b"<?", i):
            j = head.find(b"?>", i + 2)
            if j < 0:
                break
            i = j + 2
        elif head.startswith(b"<!--", i):
            j = head.find(b"-->", i + 4)
            if j < 0:
                break
            i = j + 3
        elif head.startswith(b"<!", i):
            raise ImportProblem(f'bagian XML "{name}" memuat DTD/entitas (<!DOCTYPE); berkas '
                                "seperti ini dapat membaca berkas lain atau menghabiskan memori; "
                                "simpan ulang dari Excel", file=filename)
        else:
            return  # the root element: no DTD can follow
    if n >= 64 * 1024:
        raise ImportProblem(f'bagian XML "{name}" diawali lebih dari 64 KiB komentar/instruksi; '
                            "bukan XLSX dari Excel", file=filename)


# --------------------------------------------------------------------------- GeoPackage
def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check_geopackage(path: Path, filename: str) -> tuple[list[str], dict[str, int]]:
    """Feature layers of a GeoPackage and their row counts, read with Python's sqlite3 (read-only,
    immutable) before GDAL opens the file."""
    uri = path.resolve().as_uri() + "?mode=ro&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise ImportProblem(f"GeoPackage tidak dapat dibuka ({_reason(exc)})", file=filename) from None
    try:
        try:
            con.execute("PRAGMA trusted_schema = OFF")
        except sqlite3.Error:
            pass
        try:
            objects = con.execute("SELECT type, name, sql FROM sqlite_master LIMIT 100001").fetchall()
        except sqlite3.Error as exc:
            raise ImportProblem(f"GeoPackage rusak ({_reason(exc)})", file=filename) from None
        if len(objects) > 100_000:
            raise ImportProblem("GeoPackage " + limits.over(100_000, "objek basis data"), file=filename)
        kinds = {name: typ for typ, name, _sql in objects}
        for typ, name, sql in objects:
            m = re.match(r"\s*create\s+virtual\s+table\s+.*?\busing\s+(\w+)", sql or "", re.I | re.S)
            if typ == "table" and m and m.group(1).lower() != "rtree":
                raise ImportProblem(
                    f'GeoPackage memuat tabel virtual "{_shown(name)}" (modul {m.group(1)}) yang '
                    "dapat membaca berkas lain; ekspor ulang sebagai GeoPackage biasa", file=filename)
        if kinds.get("gpkg_contents") != "table":
            raise ImportProblem("basis data SQLite ini bukan GeoPackage (tidak ada tabel "
                                "gpkg_contents); ekspor ulang sebagai GeoPackage", file=filename)
        try:
            layers = [str(r[0]) for r in con.execute(
                "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' LIMIT ?",
                (limits.MAX_LAYERS + 1,))]
        except sqlite3.Error as exc:
            raise ImportProblem(f"GeoPackage rusak ({_reason(exc)})", file=filename) from None
        if len(layers) > limits.MAX_LAYERS:
            raise ImportProblem("GeoPackage berisi " + limits.over(limits.MAX_LAYERS, "lapisan"),
                                file=filename)
        counts = {}
        for layer in layers:
            if kinds.get(layer) != "table":
                raise ImportProblem(f'lapisan "{_shown(layer)}" bukan tabel biasa (VIEW atau tidak '
                                    "ada); ekspor ulang sebagai GeoPackage biasa", file=filename)
            try:
                counts[layer] = int(con.execute(f"SELECT COUNT(*) FROM {_quote(layer)}").fetchone()[0])
            except sqlite3.Error as exc:
                raise ImportProblem(f'lapisan "{_shown(layer)}" rusak ({_reason(exc)})',
                                    file=filename) from None
        return layers, counts
    finally:
        con.close()


# --------------------------------------------------------------------------- shapefile
def check_shapefile(shp: Path, shx: Path, dbf: Path, filename: str, inner: str) -> int:
    """Headers of the three files; the feature count (from .shx) within ``MAX_FEATURES`` and the
    .shp small enough for ``MAX_VERTICES``. Returns the feature count."""
    def head(p: Path, n: int) -> bytes:
        with open(p, "rb") as f:
            return f.read(n)

    if head(shp, 4) != b"\x00\x00\x27\x0a" or head(shx, 4) != b"\x00\x00\x27\x0a":
        raise ImportProblem(f"shapefile {inner} rusak: .shp/.shx tidak berkepala shapefile",
                            file=filename)
    n = max(0, (shx.stat().st_size - 100) // 8)
    dbf_head = head(dbf, 32)
    n_dbf = struct.unpack("<L", dbf_head[4:8])[0] if len(dbf_head) >= 8 else 0
    count = max(n, n_dbf)
    if count > limits.MAX_FEATURES:
        raise ImportProblem(f"shapefile {inner} berisi {limits.fmt(count)} fitur, "
                            + limits.over(limits.MAX_FEATURES, "fitur (desa)"), file=filename)
    # bytes per vertex by shape type (XY 16, XYM 24, XYZM 32); the exact count is checked
    # after reading
    shape_type = struct.unpack("<i", head(shp, 36)[32:36])[0]
    per_vertex = 32 if 11 <= shape_type <= 18 else 24 if 21 <= shape_type <= 28 else 16
    if shp.stat().st_size > 100 + count * 64 + limits.MAX_VERTICES * per_vertex:
        raise ImportProblem(f"shapefile {inner} " + limits.over(limits.MAX_VERTICES, "titik koordinat"),
                            file=filename)
    return count


# --------------------------------------------------------------------------- GDAL (child only)
KEEP_DRIVERS = ("ESRI Shapefile", "GPKG")
GDAL_OPTIONS = {
    # no network: a dead proxy, no retries, 1 s timeouts, /vsicurl/ only for a made-up extension
    "GDAL_HTTP_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".planner-no-network",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    # SQLite/GPKG: no VirtualOGR or other tables that read files outside the database
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "GDAL_NUM_THREADS": "1",
}


def _libgdal() -> str | None:
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.rsplit(None, 1)[-1]
                if "/libgdal" in path and ".so" in path:
                    return path
    except OSError:
        pass
    return None


def lock_down_gdal() -> list[str]:
    """Forbid network access and drop every GDAL driver but Shapefile and GPKG (this process
    only). Returns the drivers left (empty when GDAL could not be reached)."""
    os.environ.update({"PROJ_NETWORK": "OFF", "http_proxy": "http://127.0.0.1:9",
                       "https_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
                       "HTTPS_PROXY": "http://127.0.0.1:9", "ALL_PROXY": "http://127.0.0.1:9",
                       "no_proxy": "", "NO_PROXY": ""})
    import pyogrio

    pyogrio.set_gdal_config_options(GDAL_OPTIONS)
    lib_path = _libgdal()
    if lib_path:
        import ctypes

        lib = ctypes.CDLL(lib_path)
        lib.GDALGetDriverCount.restype = ctypes.c_int
        lib.GDALGetDriver.restype = ctypes.c_void_p
        lib.GDALGetDriver.argtypes = [ctypes.c_int]
        lib.GDALGetDriverShortName.restype = ctypes.c_char_p
        lib.GDALGetDriverShortName.argtypes = [ctypes.c_void_p]
        lib.GDALDeregisterDriver.argtypes = [ctypes.c_void_p]
        for i in reversed(range(lib.GDALGetDriverCount())):
            drv = lib.GDALGetDriver(i)
            if drv and (lib.GDALGetDriverShortName(drv) or b"").decode() not in KEEP_DRIVERS:
                lib.GDALDeregisterDriver(drv)
    return sorted(pyogrio.list_drivers())


# --------------------------------------------------------------------------- helpers
def _shown(name: str, limit: int = 80) -> str:
    s = " ".join(str(name).split())
    return s if len(s) <= limit else s[:limit - 1] + "…"


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:160] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
