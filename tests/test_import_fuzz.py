"""Fuzzed recaps (hypothesis): random mutations of valid recaps never raise anything but
``ImportProblem``, and through the import service never write partially.

Bases: the committed fictional recap (tests/data/import/rekap_fiktif.csv: title rows,
subtotals, TOTAL, footer) and a calibrated synthetic recap of the same villages made by
``planner.demo.recap_csv_bytes`` (BOM, ``;``, CRLF, Indonesian numbers). Mutations: bytes
flipped, inserted or cut; lines dropped, repeated or swapped; cells replaced by any text,
huge numbers, separators and quotes. The runs are derandomized (the same examples every time).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")

from conftest import make_app, table_counts  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from planner.extensions import db  # noqa: E402
from planner.importer import (  # noqa: E402
    ImportProblem,
    import_recap,
    import_villages,
    join_recap,
    read_boundaries,
    read_recap,
)

sys.path.insert(0, str(Path(__file__).parent))
from hostile import corpus  # noqa: E402

DATA = Path(__file__).parent / "data" / "import"
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FUZZ_SERVICE = settings(FUZZ, max_examples=20)


def _synthetic_recap() -> bytes:
    from planner.demo import recap_csv_bytes, synthetic_recap

    villages = read_boundaries(DATA / "desa_fiktif.geojson")
    return recap_csv_bytes(synthetic_recap(villages, seed=11, capital=(-2.55, 113.05),
                                           total_population=28_010, total_obliged=20_320))


BASES = [(DATA / "rekap_fiktif.csv").read_bytes(), _synthetic_recap()]
VILLAGES = read_boundaries(DATA / "desa_fiktif.geojson")
WEIRD = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "-", "−1", "1e309", "NaN", "9" * 40, "9" * 5000, '"', '""', ";", ",", "\t",
                     "\r", "\n", "\x00", "\ufeff", "TOTAL", "JUMLAH", "SUBTOTAL", "KECAMATAN X",
                     "DESA", "JUMLAH PENDUDUK", "(1)", "1.234.567", "12,5 %", "=1+1", "<b>x</b>",
                     "x" * 200_000]),
    st.integers(min_value=-10**20, max_value=10**20).map(str),
)


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "cut", "line", "cell"]))
        n = len(data)
        if op == "flip" and n:
            i = draw(st.integers(0, n - 1))
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            i = draw(st.integers(0, n))
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "cut" and n:
            i = draw(st.integers(0, n - 1))
            del data[i:i + draw(st.integers(1, 200))]
        elif op == "line":
            lines = bytes(data).split(b"\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            how = draw(st.sampled_from(["drop", "repeat", "swap"]))
            if how == "drop":
                del lines[i]
            elif how == "repeat":
                lines.insert(j, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
        elif op == "cell":
            text = bytes(data).decode("utf-8", "replace")
            sep = ";" if text.count(";") > text.count(",") else ","
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            cells = lines[i].split(sep)
            j = draw(st.integers(0, len(cells) - 1))
            cells[j] = draw(WEIRD)
            lines[i] = sep.join(cells)
            data = bytearray("\n".join(lines).encode("utf-8", "surrogatepass"))
    return bytes(data)


def _read(data: bytes, name: str = "rekap.csv"):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            table = read_recap(path)
        except ImportProblem as exc:
            msg = str(exc)
            assert msg.startswith(f'Berkas "{name}"') and "\n" not in msg and "Traceback" not in msg
            return None
        try:
            join_recap(table, VILLAGES)
        except ImportProblem as exc:
            assert "\n" not in str(exc)
        return table


def test_the_bases_are_valid():
    for data in BASES:
        assert _read(data) is not None


@FUZZ
@given(mutated())
def test_mutated_csv_recaps_raise_only_import_problems(data):
    _read(data)


@FUZZ
@given(st.lists(st.lists(WEIRD, min_size=1, max_size=8), min_size=1, max_size=12),
       st.sampled_from([",", ";", "\t"]))
def test_random_tables_raise_only_import_problems(rows, sep):
    _read(corpus.csv_text([corpus.HEADER, *rows], sep).encode("utf-8", "surrogatepass"))


@settings(FUZZ, max_examples=60)
@given(st.dictionaries(st.tuples(st.integers(0, 8), st.integers(0, 5)),
                       st.one_of(WEIRD, st.integers(-10**12, 10**12), st.floats(allow_nan=True)),
                       max_size=5))
def test_mutated_xlsx_recaps_raise_only_import_problems(edits):
    rows = corpus.recap_rows()
    for (i, j), v in edits.items():
        rows[i][j] = v if not isinstance(v, str) else v.replace("\x00", "")[:32_000]
    try:
        data = corpus.xlsx_base(rows)
    except Exception:  # noqa: BLE001  (openpyxl refuses to write some values: not our concern)
        return
    _read(data, "rekap.xlsx")


@settings(FUZZ, max_examples=40)
@given(st.integers(0, 10_000), st.binary(min_size=1, max_size=16))
def test_corrupted_xlsx_bytes_raise_only_import_problems(at, junk):
    data = bytearray(corpus.xlsx_base())
    at = at % len(data)
    data[at:at + len(junk)] = junk
    _read(bytes(data), "rekap.xlsx")


# --------------------------------------------------------------------------- through the service
@pytest.fixture(scope="module")
def villages_app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("fuzz_db"))
    with app.app_context():
        import_villages(DATA / "desa_fiktif.geojson", fictional=True)
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@FUZZ_SERVICE
@given(mutated())
def test_mutated_recaps_through_the_service_never_write_partially(villages_app, data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rekap.csv"
        path.write_bytes(data)
        with villages_app.app_context():
            before = table_counts()
            try:
                ds = import_recap(path)
            except ImportProblem:
                assert table_counts() == before
            else:
                after = table_counts()
                assert after["villages"] == before["villages"]
                assert after["datasets"] == before["datasets"] + 1
                assert after["village_stats"] == before["village_stats"] + sum(ds.join_counts.values())
            db.session.remove()
