"""How much an import may read, and how much it may cost. One place, so the numbers are
documented together and a test can lower one (the sandboxed child gets the parent's values).

Sizes are chosen for the office of one regency, with a wide margin:

* Indonesia's largest regencies have fewer than 1,000 desa/kelurahan; the largest province
  (Jawa Tengah) about 8,600. ``MAX_ROWS`` and ``MAX_FEATURES`` (20,000) take a whole province
  in one file. A national recap (~84,000 villages) is refused; it could not be joined to one
  regency's boundaries anyway.
* A recap has 5 to 15 columns; ``MAX_COLUMNS`` (200) leaves room for any layout.
* Real village boundaries (BIG/RBI 1:50,000) have a few hundred to a few thousand vertices per
  village; ``MAX_VERTICES`` (5,000,000) is 5,000 per village for 1,000 villages, and more than
  the 32 MB upload limit (``PLANNER_MAX_UPLOAD_MB``) can carry as GeoJSON.
* ``MAX_FILE_MB`` (64) also bounds files given to the command line, which has no upload limit.

Cost: the file is read in a child process (``planner.importer.sandbox``) that is stopped after
``TIMEOUT_S`` seconds of wall-clock time or when it maps more than ``MEMORY_MB`` on top of
what the interpreter already holds; the child exits after each import, so its memory goes back
to the system. Every limit above stops a hostile file long before those backstops are reached
(bench/bench_hostile.py measures it).

Messages name the limit: ``Berkas "x.xlsx", baris 20001: lebih dari 20.000 baris (batas
20.000)``.
"""

from __future__ import annotations

import sys

# ---- files
MAX_FILE_MB = 64          # any file given to the importer (upload or command line)

# ---- recap tables (CSV and XLSX)
MAX_ROWS = 20_000         # rows holding anything (title, header, villages, subtotals, footer)
MAX_RECORDS = 100_000     # all rows, blank ones included (";;;;;" lines, formatted blank rows)
MAX_COLUMNS = 200         # the right-most column holding anything
MAX_CELLS = 300_000       # cells holding anything (20,000 rows x 15 columns)
MAX_CELL_CHARS = 10_000   # characters in one cell (a title or a note is a few hundred)
MAX_NAME_CHARS = 200      # a village or kecamatan name (as the boundaries reader)
MAX_CODE_CHARS = 30       # a Kemendagri code is 13 characters ("99.01.01.2001")
MAX_SHEETS = 50           # worksheets in an XLSX
MAX_MERGED_RANGES = 10_000

# ---- boundaries
MAX_FEATURES = 20_000     # villages (features) in a boundaries file
MAX_VERTICES = 5_000_000  # coordinate pairs in all geometries together
MAX_PROPERTIES = 200      # distinct property (attribute) names
MAX_LAYERS = 50           # layers of a GeoPackage

# ---- network layers (planner.importer.network): roads, rivers, piers
MAX_NETWORK_FEATURES = 200_000  # lines (or pier points) in one layer file: a regency's
                                # OpenStreetMap roads are tens of thousands of ways; vertices
                                # stay within MAX_VERTICES

# ---- zip archives (zipped shapefile, and XLSX, which is a zip)
ZIP_MAX_MEMBERS = 1_000
ZIP_MAX_UNZIPPED_MB = 256     # all members together, as stated by the archive (checked again
                              # while inflating: a member cannot inflate past its stated size)
ZIP_MAX_RATIO = 200           # uncompressed / compressed, for members larger than 1 MiB
ZIP_MAX_DIRECTORY_MB = 4      # central directory (about 20,000 names)

# ---- Indonesia (lon_min, lat_min, lon_max, lat_max): every village must lie inside
INDONESIA = (94.0, -11.5, 142.0, 6.5)

# ---- the child process that reads the file (planner.importer.sandbox)
SANDBOX = True            # False: read in this process (debugging only: no cost limits)
TIMEOUT_S = 20            # wall clock, enforced by the parent (the child is killed)
MEMORY_MB = 768           # address space the child may add to what it maps at start
CPU_S = TIMEOUT_S + 5     # backstop if the parent is gone (RLIMIT_CPU)

_NAMES = [n for n in dir(sys.modules[__name__]) if n.isupper()]


def snapshot() -> dict:
    """The limits in force (for the child process, which must use the parent's)."""
    mod = sys.modules[__name__]
    return {n: getattr(mod, n) for n in _NAMES}


def apply(values: dict) -> None:
    mod = sys.modules[__name__]
    for k, v in values.items():
        if k in _NAMES:
            setattr(mod, k, v)


def fmt(n: int | float) -> str:
    """20000 -> "20.000" (Indonesian thousands)."""
    if isinstance(n, float) and not n.is_integer():
        return f"{n:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{int(n):,}".replace(",", ".")


def over(limit: int, unit: str, hint: str = "") -> str:
    """The message for a limit: "lebih dari 20.000 baris (batas 20.000)" + hint."""
    return f"lebih dari {fmt(limit)} {unit} (batas {fmt(limit)}){hint}"
