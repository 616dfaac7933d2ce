"""The one error an import raises: ``ImportProblem``.

Every problem names the file, the row as the user sees it in Excel or a text editor (1-based;
for boundary files the feature number), the column header as written in the file, and what is
wrong. ``str(problem)`` is ONE paragraph a coordinator can act on, e.g.::

    Berkas "rekap.xlsx", baris 14, kolom "SUDAH REKAM": nilai -5 negatif; jumlah tidak boleh
    negatif. (dan 2 masalah lain: baris 20, kolom "WAJIB KTP-EL": ...; baris 31 ...)

Validation collects every problem it finds in a file; the first is the headline and the rest
ride along in ``problems`` so the user can fix the file in one go.
"""

from __future__ import annotations

MAX_LISTED = 5  # further problems spelled out in the paragraph; the rest are only counted


class ImportProblem(Exception):
    """A file could not be imported. Nothing was written."""

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None, problems: list[ImportProblem] | None = None,
                 suggestions: list[dict] | None = None, unit: str = "baris"):
        super().__init__(message)
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        self.unit = unit  # "baris" (row) for tables, "fitur" (feature) for boundary files
        self.problems: list[ImportProblem] = list(problems or [])
        # similarity matches waiting for the user's confirmation (see planner.importer.join)
        self.suggestions: list[dict] = list(suggestions or [])

    # ------------------------------------------------------------------ text
    def location(self, *, with_file: bool = True) -> str:
        parts = []
        if with_file and self.file:
            parts.append(f'Berkas "{self.file}"')
        if self.row is not None:
            parts.append(f"{self.unit} {self.row}")
        if self.column:
            parts.append(f'kolom "{self.column}"')
        return ", ".join(parts)

    def short(self, *, with_file: bool = False) -> str:
        loc = self.location(with_file=with_file)
        msg = self.message.rstrip(". ")
        return f"{loc}: {msg}" if loc else msg

    def __str__(self) -> str:
        head = self.short(with_file=True)
        text = head if head.endswith((".", "?", "!")) else head + "."
        if self.problems:
            listed = [p.short(with_file=p.file not in (None, self.file)) for p in self.problems[:MAX_LISTED]]
            extra = len(self.problems) - len(listed)
            tail = "; ".join(listed)
            if extra > 0:
                tail += f"; dan {extra} lagi"
            text += f" (dan {len(self.problems)} masalah lain: {tail})"
        return " ".join(text.split())  # one paragraph, whatever the file's cells held

    @classmethod
    def collect(cls, problems: list[ImportProblem]) -> ImportProblem:
        """One exception for a list of problems (the first is the headline)."""
        first, rest = problems[0], problems[1:]
        first.problems = rest + first.problems
        for p in rest:
            first.suggestions.extend(p.suggestions)
        return first

    def to_dict(self) -> dict:
        return {
            "file": self.file, "row": self.row, "column": self.column, "message": self.message,
            "text": str(self), "suggestions": self.suggestions,
            "problems": [{"row": p.row, "column": p.column, "message": p.message} for p in self.problems],
        }
