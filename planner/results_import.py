"""Field results from a file: what the teams report for their stops, typed into a CSV or XLSX
and loaded with ``planner results import`` — the same reports, and the same checks, as the
results form (``/rencana/<id>/v<n>/hasil``).

Columns (a header row; Indonesian or English; case, spaces and punctuation do not matter;
other columns, such as the village name, are ignored)::

    tim   | tanggal    | kode          | direkam  | hasil (optional)  | alasan (optional)
    team  | date       | code          | recorded | outcome           | reason
    Tim 1 | 2026-12-01 | 99.01.01.2001 | 48       | selesai           | cuaca

* *tim*: the team's exact name in the plan, or its number (1 = the first team);
* *kode*: the stop's village code (for a pooled stop, the host village, as on the day sheet);
* *tanggal*: ``2026-12-01``, day first ``01/12/2026``, or an Excel date;
* *direkam*: people recorded at the visit (may be empty only when *hasil* is "tidak
  terjangkau");
* *hasil*: selesai / sebagian / tidak terjangkau (done, partly, not reached);
* *alasan*: cuaca, perahu, sinyal, peralatan, warga, lainnya (weather, boat, no signal,
  equipment, absent, other);
* *hasil* empty: ``done`` when *direkam* reaches the people planned for that stop, else
  ``partly`` (:func:`default_outcome`).

Reading (:func:`read_results`, plain Python, no database) goes through the upload readers of
``planner.importer``: the content decides CSV or XLSX (``safety``), the XLSX reader and the
limits are the importer's, and it runs in the sandboxed child process (``sandbox``, task
``"results"``). Every problem of the file is collected into one ``ImportProblem`` naming the
file, the row, the column and why.

Storing (:func:`import_results`) checks every row against the plan version (team, date, stop,
one row per stop) and then hands all reports to :func:`planner.field.record_results` at once:
the web form's checks (no more than the village's unrecorded people or its population; more
than twice the plan needs ``confirm``), one transaction, all or nothing. A correction is a new
report that replaces the earlier one (the newest report of a stop counts).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import plan_json
from .importer import limits, sandbox, tasks
from .importer.errors import ImportProblem
from .importer.recap import (
    _blank,
    _cell_text,
    csv_by_header,
    norm_header,
    normalise_code,
    open_table,
    parse_count,
    shown,
)

HEADER_SEARCH_ROWS = 30
MAX_TEAM_CHARS = 200

# canonical field -> accepted header spellings (compared after ``norm_header``)
COLUMN_ALIASES: dict[str, list[str]] = {
    "team": ["TIM", "TEAM", "NAMA TIM", "TEAM NAME"],
    "date": ["TANGGAL", "TGL", "DATE", "DAY"],
    "code": ["KODE", "KODE DESA", "KODE WILAYAH", "KODE KEMENDAGRI", "KODE LOKASI", "CODE",
             "VILLAGE CODE", "SITE CODE"],
    "recorded": ["DIREKAM", "JUMLAH DIREKAM", "TEREKAM", "JUMLAH TEREKAM", "RECORDED",
                 "PEOPLE RECORDED", "ACTUAL RECORDED"],
    "outcome": ["HASIL", "OUTCOME", "STATUS"],
    "reason": ["ALASAN", "REASON"],
}
REQUIRED = ("team", "date", "code", "recorded")
#: How a column is named in a message when the file does not have it.
DISPLAY = {"team": "tim", "date": "tanggal", "code": "kode", "recorded": "direkam",
           "outcome": "hasil", "reason": "alasan"}
_ALIAS_INDEX = {norm_header(a): f for f, names in COLUMN_ALIASES.items() for a in names}

#: Written outcome (lower case, letters only) -> ``planner.field.OUTCOMES``.
OUTCOME_VALUES = {
    "done": "done", "selesai": "done", "tuntas": "done",
    "partly": "partly", "partial": "partly", "sebagian": "partly",
    "not reached": "not_reached", "tidak terjangkau": "not_reached",
    "tidak tercapai": "not_reached", "tidak sampai": "not_reached",
    "tidak dikunjungi": "not_reached",
}
#: Written reason -> ``planner.field.REASONS``.
REASON_VALUES = {
    "weather": "weather", "cuaca": "weather",
    "boat": "boat", "perahu": "boat", "kapal": "boat", "perahu kapal": "boat",
    "no signal": "no_signal", "tidak ada sinyal": "no_signal", "tanpa sinyal": "no_signal",
    "sinyal": "no_signal",
    "equipment": "equipment", "peralatan": "equipment", "alat": "equipment",
    "absent": "absent", "warga tidak ada": "absent", "warga tidak hadir": "absent",
    "warga": "absent",
    "other": "other", "lainnya": "other", "lain lain": "other", "lain": "other",
}
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def _key(text: str) -> str:
    """ "Tidak_Terjangkau ", "tidak-terjangkau" -> "tidak terjangkau"."""
    return " ".join(re.sub(r"[^a-z]+", " ", str(text).lower()).split())


def default_outcome(recorded: int, planned: int) -> str:
    """The outcome of a report that does not say: ``done`` when the people recorded reach the
    people planned for the stop, else ``partly``."""
    return "done" if int(recorded) >= int(planned) else "partly"


# --------------------------------------------------------------------------- the file
@dataclass
class ResultRow:
    """One report as written in the file (``row``: its row number there, 1-based)."""

    row: int
    team: str
    date: str
    code: str
    recorded: int
    outcome: str | None  # None: not given (see default_outcome)
    reason: str | None


@dataclass
class ResultsTable:
    """A checked results file: ``rows`` in file order; ``headers``: field -> header text as
    written (for messages)."""

    rows: list[ResultRow]
    filename: str
    headers: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> str:
        return self.headers.get(name, DISPLAY.get(name, name))


def _header_at(cells: list) -> tuple[dict[str, int], dict[str, str]]:
    columns: dict[str, int] = {}
    texts: dict[str, str] = {}
    for c, value in enumerate(cells):
        text = _cell_text(value)
        f = _ALIAS_INDEX.get(norm_header(text)) if text else None
        if f and f not in columns:
            columns[f] = c
            texts[f] = text
    return columns, texts


def _find_header(grid: list[list]) -> tuple[int, dict[str, int], dict[str, str]] | None:
    for r in range(min(len(grid), HEADER_SEARCH_ROWS)):
        columns, texts = _header_at(grid[r])
        if all(f in columns for f in REQUIRED):
            return r, columns, texts
    return None


def _grids(path: Path, filename: str) -> list[list[list]]:
    """The file's grids (one per CSV, one per worksheet), checked as every upload is."""
    grids, text = open_table(path, filename, "; simpan hasil lapangan sebagai .csv atau .xlsx sesuai isinya")
    return grids if grids is not None else [csv_by_header(text, filename, _find_header)]


def parse_date(value) -> str:
    """A report's date as ``YYYY-MM-DD``: an Excel date, ``2026-12-01``, or day first
    ``1/12/2026``, ``01-12-2026``, ``1.12.2026``. Raises ValueError with an Indonesian reason."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = _cell_text(value)
    if not text:
        raise ValueError("tanggal kosong")
    iso = text[:10] if re.match(r"^\d{4}-\d{2}-\d{2}(T00:00(:00)?)?$", text) else text
    try:
        return dt.date.fromisoformat(iso).isoformat()
    except ValueError:
        pass
    m = _DMY.match(text)
    if m:
        try:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1))).isoformat()
        except ValueError:
            pass
    raise ValueError(f'tanggal "{shown(text)}" tidak sah; tulis TTTT-BB-HH (mis. 2026-12-01) '
                     "atau HH/BB/TTTT (mis. 01/12/2026)")


def read_results(path, *, filename: str | None = None) -> ResultsTable:
    """Read and check a results file (CSV or XLSX); raises one ``ImportProblem`` listing every
    problem (file, row, column, why)."""
    path = Path(path)
    filename = filename or path.name
    grids = _grids(path, filename)
    found = [(g, h) for g in grids for h in [_find_header(g)] if h is not None]
    if not found:
        first = next((row for g in grids for row in g if any(not _blank(v) for v in row)), None)
        if first is None:
            raise ImportProblem("berkas kosong (tidak ada baris berisi)", file=filename)
        columns, _texts = _header_at(first)
        missing = ", ".join(DISPLAY[f] for f in REQUIRED if f not in columns)
        seen = ", ".join(f'"{shown(_cell_text(v))}"' for v in first[:12] if not _blank(v))
        raise ImportProblem(
            f"baris judul kolom tidak ditemukan: perlu kolom tim, tanggal, kode dan direkam "
            f"(atau team, date, code, recorded); tidak ada: {missing}; baris pertama berisi "
            f"{seen}", file=filename)
    grid, (header_row, cols, texts) = found[0]
    return _parse_rows(grid, header_row, cols, texts, filename)


def _parse_rows(grid, header_row: int, cols: dict[str, int], texts: dict[str, str],
                filename: str) -> ResultsTable:
    problems: list[ImportProblem] = []
    rows: list[ResultRow] = []

    def problem(msg: str, rownum: int, fld: str) -> None:
        problems.append(ImportProblem(msg, file=filename, row=rownum,
                                      column=texts.get(fld, DISPLAY[fld])))

    def cell(row, fld):
        c = cols.get(fld)
        return None if c is None or c >= len(row) else row[c]

    for i in range(header_row + 1, len(grid)):
        row = grid[i]
        rownum = i + 1
        if all(_blank(v) for v in row):
            continue
        n_before = len(problems)
        team = _cell_text(cell(row, "team"))
        if not team:
            problem("tim kosong; tulis nama tim seperti di rencana (mis. Tim 1) atau nomornya",
                    rownum, "team")
        elif len(team) > MAX_TEAM_CHARS:
            problem(f"nama tim terlalu panjang (maks. {MAX_TEAM_CHARS} karakter)", rownum, "team")
        date = ""
        try:
            date = parse_date(cell(row, "date"))
        except ValueError as exc:
            problem(str(exc), rownum, "date")
        code = normalise_code(cell(row, "code")) or ""
        if not code:
            problem("kode desa kosong; tulis kode desa/kelurahan seperti di lembar kerja "
                    "(mis. 99.01.01.2001)", rownum, "code")
        elif len(code) > limits.MAX_CODE_CHARS:
            problem(f'kode "{shown(code)}" terlalu panjang (maks. {limits.MAX_CODE_CHARS} '
                    "karakter)", rownum, "code")
        outcome = None
        written = _cell_text(cell(row, "outcome"))
        if written:
            outcome = OUTCOME_VALUES.get(_key(written))
            if outcome is None:
                problem(f'hasil "{shown(written)}" tidak dikenal; tulis selesai, sebagian atau '
                        "tidak terjangkau (done, partly, not reached), atau kosongkan",
                        rownum, "outcome")
        reason = None
        raw = _cell_text(cell(row, "reason"))
        if raw:
            reason = REASON_VALUES.get(_key(raw))
            if reason is None:
                problem(f'alasan "{shown(raw)}" tidak dikenal; tulis cuaca, perahu, sinyal, '
                        "peralatan, warga atau lainnya (weather, boat, no signal, equipment, "
                        "absent, other), atau kosongkan", rownum, "reason")
        recorded = 0
        value = cell(row, "recorded")
        if _blank(value):
            if outcome != "not_reached" and not (written and outcome is None):
                problem("jumlah direkam kosong; tulis 0 bila tidak ada yang direkam, atau isi "
                        "hasil \"tidak terjangkau\"", rownum, "recorded")
        else:
            try:
                recorded = parse_count(value)
            except ValueError as exc:
                problem(f"jumlah direkam: {exc}", rownum, "recorded")
            else:
                if recorded < 0:
                    problem(f"jumlah direkam {recorded} negatif; jumlah tidak boleh negatif",
                            rownum, "recorded")
                elif outcome == "not_reached" and recorded > 0:
                    problem(f"hasil tidak terjangkau tetapi {recorded} orang direkam; tulis 0 "
                            "atau ubah hasilnya", rownum, "recorded")
        if len(problems) == n_before:
            rows.append(ResultRow(row=rownum, team=team, date=date, code=code, recorded=recorded,
                                  outcome=outcome, reason=reason))
    if problems:
        raise ImportProblem.collect(problems)
    if not rows:
        raise ImportProblem("tidak ada baris hasil di bawah baris judul kolom", file=filename,
                            row=header_row + 1)
    return ResultsTable(rows=rows, filename=filename, headers=dict(texts))


# --------------------------------------------------------------------------- sandbox task
def _task(_anchor, path: str, filename: str) -> ResultsTable:
    """The child's task. ``_anchor`` is :func:`read_results` itself: unpickling it in the
    child process imports this module, which registers the task there (see below)."""
    return read_results(path, filename=filename)


def sandbox_args(path, filename: str) -> tuple:
    """The arguments of ``sandbox.run("results", ...)``."""
    return (read_results, str(path), filename)


tasks.TASKS.setdefault("results", _task)


def read_results_sandboxed(path, *, filename: str | None = None) -> ResultsTable:
    """:func:`read_results` in the importer's child process (bounded time and memory)."""
    filename = filename or Path(path).name
    return sandbox.run("results", sandbox_args(path, filename), filename=filename)


# --------------------------------------------------------------------------- against the plan
def reports_from(plan: dict, table: ResultsTable) -> tuple[list[dict], list[ResultRow]]:
    """The reports ``planner.field.record_results`` takes, one per row of ``table``, checked
    against ``plan`` (team, date, stop; one row per stop), and the rows in the same order.
    Raises one ``ImportProblem`` for every row that does not fit."""
    problems: list[ImportProblem] = []
    reports: list[dict] = []
    used: list[ResultRow] = []
    seen: dict[tuple[str, str, str], int] = {}
    team_names = ", ".join(str(t.get("name")) for t in plan_json.teams(plan))

    def problem(msg: str, r: ResultRow, fld: str) -> None:
        problems.append(ImportProblem(msg, file=table.filename, row=r.row,
                                      column=table.column(fld)))

    for r in table.rows:
        try:
            _n, team = plan_json.find_team(plan, r.team)
        except plan_json.SelectionError:
            problem(f'tim "{shown(r.team)}" tidak ada dalam rencana ini (tim: {team_names})',
                    r, "team")
            continue
        name = str(team.get("name"))
        days = plan_json.team_days(plan, name)
        td = next((d for d in days if d.date == r.date), None)
        if td is None:
            listed = ", ".join(d.date for d in days) or "-"
            problem(f"{name} tidak punya kunjungan pada {r.date} (hari kerjanya: {listed})",
                    r, "date")
            continue
        stop = next((s for s in td.stops if str(s.get("site_code")) == r.code), None)
        if stop is None:
            listed = ", ".join(str(s.get("site_code")) for s in td.stops)
            problem(f"kode {r.code} tidak ada di jadwal {name} tanggal {r.date} (kode hari itu: "
                    f"{listed})", r, "code")
            continue
        key = (name, r.date, r.code)
        if key in seen:
            problem(f"{stop.get('name', r.code)} ({name}, {r.date}) sudah dilaporkan di baris "
                    f"{seen[key]}; satu baris per kunjungan", r, "code")
            continue
        seen[key] = r.row
        planned = int(stop.get("expected") or 0)
        reports.append({"team": name, "date": r.date, "site_code": r.code,
                        "actual_recorded": r.recorded,
                        "outcome": r.outcome or default_outcome(r.recorded, planned),
                        "reason": r.reason})
        used.append(r)
    if problems:
        raise ImportProblem.collect(problems)
    return reports, used


class ConfirmationNeeded(ImportProblem):
    """Reports above twice the people planned: stored only with ``confirm`` (``items``: the
    rows, as ``planner.field.NeedsConfirmation`` gives them, with ``row``)."""

    def __init__(self, message: str, *, items: list[dict], **kwargs):
        super().__init__(message, **kwargs)
        self.items = items


def import_results(version, path, *, filename: str | None = None,
                   recorded_by: str | None = None, confirm: bool = False) -> dict:
    """Read ``path`` (sandboxed), check it against ``version`` (a ``PlanVersion``) and store
    every report through :func:`planner.field.record_results` in one transaction. Raises
    ``ImportProblem`` (nothing stored); :class:`ConfirmationNeeded` when reports exceed twice
    the plan and ``confirm`` is not set. Returns a summary: ``file, rows, done, partly,
    not_reached, recorded``."""
    from . import field as field_service

    filename = filename or Path(path).name
    table = read_results_sandboxed(path, filename=filename)
    reports, rows = reports_from(version.result or {}, table)
    by_key = {(rep["team"], rep["date"], rep["site_code"]): r
              for rep, r in zip(reports, rows, strict=True)}
    try:
        field_service.record_results(version, reports, recorded_by=recorded_by, confirm=confirm)
    except field_service.NeedsConfirmation as exc:
        items = [dict(item, row=by_key[(item["team"], item["date"], item["site_code"])].row)
                 for item in exc.items]
        found = [ImportProblem(f"{item['name']}: {limits.fmt(item['actual'])} orang direkam, "
                               f"lebih dari dua kali {limits.fmt(item['planned'])} yang "
                               "direncanakan; periksa lagi", file=filename, row=item["row"],
                               column=table.column("recorded")) for item in items]
        first = ImportProblem.collect(found)
        raise ConfirmationNeeded(first.message, items=items, file=filename, row=first.row,
                                 column=first.column, problems=first.problems) from None
    except field_service.FieldError as exc:
        raise ImportProblem(_with_rows(str(exc), reports, rows, version.result or {}),
                            file=filename) from None
    counts = {k: sum(1 for rep in reports if rep["outcome"] == k)
              for k in ("done", "partly", "not_reached")}
    return {"file": filename, "rows": len(reports), **counts,
            "recorded": sum(int(rep["actual_recorded"]) for rep in reports)}


def _with_rows(message: str, reports: list[dict], rows: list[ResultRow], plan: dict) -> str:
    """``message`` (the form's check, naming villages) with the rows of the villages it names."""
    named = []
    for rep, r in zip(reports, rows, strict=True):
        stop = plan_json.find_stop(plan, rep["team"], rep["date"], rep["site_code"]) or {}
        name = str(stop.get("name") or rep["site_code"])
        if name and f"{name}:" in message:
            named.append(f"baris {r.row} ({name})")
    return message + (f" Di berkas: {'; '.join(named)}." if named else "")


def summary_counts(summary: Mapping) -> str:
    """One line for the command: "3 laporan: 2 selesai, 1 sebagian, 0 tidak terjangkau"."""
    return (f"{summary['rows']} laporan: {summary['done']} selesai, {summary['partly']} sebagian, "
            f"{summary['not_reached']} tidak terjangkau; {summary['recorded']} orang direkam")
