"""The campaign at a glance (issue 11): the office's whole outreach, planned against recorded.

The campaign is every plan that is not archived (the newest version of each) measured against
the active dataset (recap snapshot):

* ``days``: per date, the people planned (the stops' ``expected``, walked with
  :mod:`planner.plan_json`) and the people recorded: the newest report of each stop counts (a
  correction replaces, it never adds: :func:`planner.field.latest_results` over all versions
  of the plan). Reports of stops no newer version has any more still count as recorded (the
  people were recorded) but not as planned.
* ``rate_series``: the regency's recording rate (recorded / obliged) over time: one point per
  recap snapshot (every dataset, its snapshot date and the totals of its recap as imported,
  :func:`planner.datasets.totals`), then, after the active snapshot, one point per day with
  field results: the active recap plus the people recorded in the field since its snapshot
  date, cumulated (the rule of :func:`planner.repository.field_recorded_since`: the newest
  report of each stop of any plan, archived ones included, dated after the snapshot, for the
  villages of the recap). The last point is therefore the figure the gap view shows.
* ``by_team`` (team name across plans) and ``by_kecamatan`` (the stop's kecamatan, else its
  village's): planned, recorded and % of planned; per kecamatan also its current figures and
  rate (recap plus field results, as the gap view's roll-up, :func:`planner.ranking.rollup`).
  A pooled stop counts for its host village's kecamatan.

:func:`plot_png` draws the two curves (matplotlib, Agg backend) and :func:`to_xlsx` writes the
four tables (pandas + openpyxl; text cells that would start a formula are prefixed,
:func:`planner.exports.safe_cell`). Labels go through the ``gettext`` the caller passes (the
web passes Flask-Babel's; default: the compiled catalogue of ``locale``), numbers and dates
through :mod:`planner.fmt`.

A service over the persistence layer (no Flask import); it runs inside an app context.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select

from . import datasets, fmt, plan_json, plan_store, ranking, repository
from .exports import safe_cell
from .extensions import db
from .field import latest_results
from .models import Dataset, PlanVersion, Village, VisitResult

Gettext = Callable[[str], str]


def N_(message: str) -> str:
    """Mark a label for translation; it is translated when used (``gettext(label)``)."""
    return message


#: Indonesian labels (the msgids) of the figure and the workbook.
LABELS: dict[str, str] = {
    "date": N_("Tanggal"),
    "team": N_("Tim"),
    "kecamatan": N_("Kecamatan"),
    "planned": N_("Rencana orang"),
    "recorded": N_("Sudah direkam"),
    "pct": N_("Capaian rencana"),
    "stops": N_("Lokasi"),
    "reported": N_("Lokasi dilaporkan"),
    "obliged": N_("Wajib KTP-el"),
    "recorded_now": N_("Sudah rekam"),
    "rate": N_("Persentase rekam"),
    "kind": N_("Sumber"),
    "dataset": N_("Data"),
    "kind_recap": N_("Rekap"),
    "kind_field": N_("Rekap + hasil lapangan"),
    "sheet_days": N_("Per hari"),
    "sheet_rate": N_("Persentase rekam"),
    "sheet_teams": N_("Per tim"),
    "sheet_kecamatan": N_("Per kecamatan"),
    "title_days": N_("Rencana dan hasil per hari"),
    "title_rate": N_("Persentase rekam kabupaten"),
    "no_plan": N_("Belum ada rencana"),
    "no_data": N_("Belum ada rekap."),
    "fictional": N_("Data demo FIKTIF: wilayah, desa dan angka rekaman ini rekaan, "
                    "bukan data Disdukcapil."),
    "synthetic": N_("Angka rekaman SINTETIS (dibangkitkan), bukan data resmi."),
}


@dataclass(frozen=True)
class Campaign:
    """The campaign's figures (see the module docstring). Rows are plain dicts:

    * ``days``: ``date`` (``datetime.date``), ``planned``, ``recorded``, ``pct``, ``stops``,
      ``reported`` (stops with a report), in date order;
    * ``rate_series``: ``date``, ``kind`` ("recap" | "field"), ``label`` (the dataset's name
      for a recap point), ``active``, ``obliged``, ``recorded``, ``rate``, in date order;
    * ``by_team``: ``team``, ``planned``, ``recorded``, ``pct``, ``stops``, ``reported``;
    * ``by_kecamatan``: ``kecamatan``, ``planned``, ``recorded``, ``pct``, ``obliged``,
      ``recorded_now``, ``rate`` (lowest current rate first, as the gap view's roll-up).

    ``pct`` is recorded / planned (None when nothing is planned); ``rate`` recorded / obliged
    (None when the obliged count is 0 in a series point)."""

    dataset: Dataset | None
    plans: list[dict] = field(default_factory=list)
    days: list[dict] = field(default_factory=list)
    rate_series: list[dict] = field(default_factory=list)
    by_team: list[dict] = field(default_factory=list)
    by_kecamatan: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    now: dict | None = None

    @property
    def has_plans(self) -> bool:
        return bool(self.plans)

    @property
    def empty(self) -> bool:
        """Nothing to show yet: no dataset, or no plan."""
        return self.dataset is None or not self.plans


# --------------------------------------------------------------------------- figures
def _pct(recorded: int, planned: int) -> float | None:
    return recorded / planned if planned else None


def _row(**extra) -> dict:
    return {"planned": 0, "recorded": 0, "stops": 0, "reported": 0, **extra}


def _add(row: dict, planned: int, recorded: int, stops: int, reported: int) -> None:
    row["planned"] += planned
    row["recorded"] += recorded
    row["stops"] += stops
    row["reported"] += reported


def _natural(text: str) -> list:
    """"Tim 2" before "Tim 10"."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p.casefold())
            for p in re.split(r"(\d+)", str(text)) if p]


def _campaign_plans() -> list[tuple[dict, PlanVersion]]:
    """(plan row, newest version) of every plan that is not archived and has a result."""
    out = []
    for row in sorted(plan_store.list_plans(include_archived=False), key=lambda r: r["id"]):
        versions = list(row["plan"].versions)
        if versions and versions[-1].result:
            out.append((row, versions[-1]))
    return out


def _field_by_date(snapshot: dt.date, codes: set[str]) -> dict[dt.date, int]:
    """People recorded in the field per date after ``snapshot`` for the villages ``codes``:
    the rule of ``repository.field_recorded_since`` (newest report per plan, team, date and
    stop), split by the visit's date."""
    rows = db.session.execute(
        select(PlanVersion.plan_id, VisitResult.team, VisitResult.date, VisitResult.site_code,
               VisitResult.actual_recorded)
        .join(PlanVersion, PlanVersion.id == VisitResult.plan_version_id)
        .where(VisitResult.date > snapshot).order_by(VisitResult.id)).all()
    latest: dict[tuple, int] = {}
    for plan_id, team, date, code, actual in rows:
        latest[(plan_id, team, date, code)] = int(actual or 0)
    out: dict[dt.date, int] = {}
    for (_plan, _team, date, code), actual in latest.items():
        if code in codes:
            out[date] = out.get(date, 0) + actual
    return out


def _rate_series(ds: Dataset, codes: set[str]) -> list[dict]:
    sums = datasets.totals()
    zero = {"obliged": 0, "recorded": 0}
    points = []
    for d in db.session.scalars(select(Dataset).order_by(Dataset.snapshot_date, Dataset.id)):
        t = sums.get(d.id, zero)
        points.append({"date": d.snapshot_date, "kind": "recap", "label": d.name,
                       "active": d.id == ds.id, "obliged": t["obliged"],
                       "recorded": t["recorded"], "rate": _pct(t["recorded"], t["obliged"])})
    base = sums.get(ds.id, zero)
    recorded = base["recorded"]
    for date, people in sorted(_field_by_date(ds.snapshot_date, codes).items()):
        recorded += people
        points.append({"date": date, "kind": "field", "label": None, "active": False,
                       "obliged": base["obliged"], "recorded": recorded,
                       "rate": _pct(recorded, base["obliged"])})
    points.sort(key=lambda p: (p["date"], p["kind"] == "field"))
    return points


def campaign(dataset: Dataset | int | None = None) -> Campaign:
    """The campaign against ``dataset`` (default: the active one); empty figures, never an
    error, when there is no dataset or no plan."""
    ds = dataset if isinstance(dataset, Dataset) else repository.get_dataset(dataset)
    if ds is None:
        return Campaign(dataset=None, totals={"planned": 0, "recorded": 0, "pct": None,
                                              "stops": 0, "reported": 0})
    villages = db.session.execute(select(Village.code, Village.kecamatan)).all()
    village_kec = {str(code): kec for code, kec in villages}

    plans, days, teams, kecs = [], {}, {}, {}

    def count(date: str, team: str, kec: str, planned: int, recorded: int, stops: int,
              reported: int) -> None:
        day = dt.date.fromisoformat(date)
        _add(days.setdefault(day, _row(date=day)), planned, recorded, stops, reported)
        _add(teams.setdefault(team, _row(team=team)), planned, recorded, stops, reported)
        _add(kecs.setdefault(kec, _row(kecamatan=kec)), planned, recorded, stops, reported)

    for row, version in _campaign_plans():
        plans.append({"id": row["id"], "name": row["name"], "version": version.version})
        reports = latest_results([v.id for v in row["plan"].versions])
        for ref in plan_json.iter_stops(version.result):
            rep = reports.pop(ref.key, None)
            kec = str(ref.stop.get("kecamatan") or village_kec.get(ref.site_code) or "")
            count(ref.date, ref.team, kec, int(ref.stop.get("expected") or 0),
                  rep.actual_recorded if rep is not None else 0, 1, int(rep is not None))
        for (team, date, code), rep in reports.items():  # stops the newest version dropped
            if rep.actual_recorded:
                count(date, team, str(village_kec.get(code) or ""), 0, rep.actual_recorded, 0, 0)

    # current figures (recap + field results since its snapshot), as the gap view shows them
    stats = repository.current_stats(ds.id)
    frame = pd.DataFrame(villages, columns=["code", "kecamatan"]).merge(
        stats, left_on="code", right_on="village_code", how="inner")
    now = ranking.totals(frame) if len(frame) else None
    by_kecamatan = []
    for r in ranking.rollup(frame).to_dict("records") if len(frame) else []:
        k = kecs.pop(str(r["kecamatan"]), _row(kecamatan=str(r["kecamatan"])))
        by_kecamatan.append({**k, "obliged": int(r["obliged"]), "recorded_now": int(r["recorded"]),
                             "rate": float(r["rate"])})
    for k in sorted(kecs.values(), key=lambda x: _natural(x["kecamatan"])):
        by_kecamatan.append({**k, "obliged": None, "recorded_now": None, "rate": None})

    def finish(rows):
        return [{**r, "pct": _pct(r["recorded"], r["planned"])} for r in rows]

    total = _row()
    for d in days.values():
        _add(total, d["planned"], d["recorded"], d["stops"], d["reported"])
    return Campaign(
        dataset=ds, plans=plans,
        days=finish(days[k] for k in sorted(days)),
        rate_series=_rate_series(ds, set(stats["village_code"].astype(str))),
        by_team=finish(sorted(teams.values(), key=lambda r: _natural(r["team"]))),
        by_kecamatan=finish(by_kecamatan),
        totals={**total, "pct": _pct(total["recorded"], total["planned"])},
        now=now,
    )


# --------------------------------------------------------------------------- outputs
def _gettext(locale: str, gettext: Gettext | None) -> Gettext:
    if gettext is not None:
        return gettext
    from .sheets import translations_for

    return translations_for(locale)


def _ticks(values: list, most: int = 10) -> list:
    """At most ``most`` of ``values``, evenly spread, the first and last included."""
    if len(values) <= most:
        return list(values)
    step = (len(values) - 1) / (most - 1)
    return [values[round(i * step)] for i in range(most)]


def plot_png(c: Campaign, locale: str = "id", gettext: Gettext | None = None) -> bytes:
    """A PNG with two panels: people planned and recorded per day (bars), and the regency's
    recording rate over time (recap snapshots, then the recap plus field results)."""
    from matplotlib import dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    _ = _gettext(locale, gettext)
    fig = Figure(figsize=(10, 7.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1)

    def date_axis(ax, dates: list[dt.date]) -> None:
        shown = _ticks(sorted(set(dates)))
        ax.set_xticks([mdates.date2num(d) for d in shown])
        ax.set_xticklabels([fmt.date_medium(d, locale) for d in shown], rotation=30, ha="right")

    def empty(ax, message: str) -> None:
        ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes,
                fontsize=13, color="#666666")
        ax.set_xticks([])
        ax.set_yticks([])

    top.set_title(_(LABELS["title_days"]))
    if c.days:
        xs = [mdates.date2num(d["date"]) for d in c.days]
        top.bar([x - 0.2 for x in xs], [d["planned"] for d in c.days], width=0.4,
                color="#9dbbdb", label=_(LABELS["planned"]))
        top.bar([x + 0.2 for x in xs], [d["recorded"] for d in c.days], width=0.4,
                color="#1d5a94", label=_(LABELS["recorded"]))
        top.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt.integer(v, locale)))
        date_axis(top, [d["date"] for d in c.days])
        top.legend(loc="upper left")
        top.grid(axis="y", color="#dddddd")
    else:
        empty(top, _(LABELS["no_plan"]))

    bottom.set_title(_(LABELS["title_rate"]))
    recap = [p for p in c.rate_series if p["kind"] == "recap" and p["rate"] is not None]
    if recap:
        bottom.plot([mdates.date2num(p["date"]) for p in recap], [p["rate"] for p in recap],
                    marker="o", color="#1d5a94", label=_(LABELS["kind_recap"]))
        active = next((p for p in recap if p["active"]), None)
        extra = [p for p in c.rate_series if p["kind"] == "field" and p["rate"] is not None]
        if active is not None and extra:
            line = [active, *extra]
            bottom.plot([mdates.date2num(p["date"]) for p in line], [p["rate"] for p in line],
                        drawstyle="steps-post", linestyle="--", marker=".", color="#d2691e",
                        label=_(LABELS["kind_field"]))
        bottom.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt.percent(v, locale)))
        date_axis(bottom, [p["date"] for p in c.rate_series])
        bottom.legend(loc="upper left")
        bottom.grid(axis="y", color="#dddddd")
    else:
        empty(bottom, _(LABELS["no_data"]))

    if c.dataset is not None and (c.dataset.fictional or c.dataset.synthetic):
        fig.suptitle(_(LABELS["fictional" if c.dataset.fictional else "synthetic"]),
                     fontsize=9, color="#8a1c1c")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _sheet_name(text: str) -> str:
    clean = "".join("_" if ch in '[]:*?/\\' else ch for ch in str(text)).strip("' ")
    return (clean or "Sheet")[:31]


def to_xlsx(c: Campaign, locale: str = "id", gettext: Gettext | None = None) -> bytes:
    """An XLSX workbook with four sheets: per day, the rate over time, per team and per
    kecamatan. Numbers stay numbers (rates and % as fractions shown as percentages, dates as
    dates); headings and sheet names in the reader's language; text from imported files or
    plans (team, kecamatan and dataset names) cannot start a formula."""
    _ = _gettext(locale, gettext)
    kinds = {"recap": _(LABELS["kind_recap"]), "field": _(LABELS["kind_field"])}
    rate_rows = [{**p, "kind": kinds[p["kind"]], "dataset": p["label"] or ""}
                 for p in c.rate_series]
    # (sheet, rows, [(row key, heading label, cell kind)])
    tables = [
        ("sheet_days", c.days, [
            ("date", "date", "date"), ("planned", "planned", "int"),
            ("recorded", "recorded", "int"), ("pct", "pct", "pct"), ("stops", "stops", "int"),
            ("reported", "reported", "int")]),
        ("sheet_rate", rate_rows, [
            ("date", "date", "date"), ("kind", "kind", "text"), ("dataset", "dataset", "text"),
            ("obliged", "obliged", "int"), ("recorded", "recorded_now", "int"),
            ("rate", "rate", "pct")]),
        ("sheet_teams", c.by_team, [
            ("team", "team", "text"), ("planned", "planned", "int"),
            ("recorded", "recorded", "int"), ("pct", "pct", "pct"), ("stops", "stops", "int"),
            ("reported", "reported", "int")]),
        ("sheet_kecamatan", c.by_kecamatan, [
            ("kecamatan", "kecamatan", "text"), ("planned", "planned", "int"),
            ("recorded", "recorded", "int"), ("pct", "pct", "pct"),
            ("obliged", "obliged", "int"), ("recorded_now", "recorded_now", "int"),
            ("rate", "rate", "pct")]),
    ]
    formats = {"date": "yyyy-mm-dd", "int": "#,##0", "pct": "0.0%"}
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for sheet, rows, columns in tables:
            frame = pd.DataFrame(
                [[safe_cell(r.get(key)) if kind == "text" else r.get(key)
                  for key, _label, kind in columns] for r in rows],
                columns=[_(LABELS[label]) for _key, label, _kind in columns])
            name = _sheet_name(_(LABELS[sheet]))
            frame.to_excel(xw, sheet_name=name, index=False)
            ws = xw.sheets[name]
            for i, (_key, _label, kind) in enumerate(columns, start=1):
                letter = ws.cell(row=1, column=i).column_letter
                ws.column_dimensions[letter].width = 28 if kind == "text" else 16
                if kind in formats:
                    for cell in ws[letter][1:]:
                        cell.number_format = formats[kind]
    return buf.getvalue()
