"""Priorities: which villages need a visit most.

The priority of a village is documented here and in the README:

    unrecorded = max(obliged - recorded, 0)
    rate       = recorded / obliged                      (1.0 when obliged is 0)
    gap        = max(1 - rate, 0)
    priority   = unrecorded * (1 + gap / 0.10)

so the unrecorded count (people a team can actually record) carries the weight and a low rate
raises it: at a 90 % rate the count counts double, at 80 % triple. Villages above 100 % have
``gap = 0`` and priority equal to their (usually 0) unrecorded count. Ties are broken by the
lower rate, then by code, so the order is stable.
"""

from __future__ import annotations

import unicodedata

import pandas as pd

RATE_STEP = 0.10  # every 10 points below 100 % adds the unrecorded count once more


def add_measures(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with ``unrecorded``, ``rate`` and ``priority`` columns."""
    out = frame.copy()
    obliged = out["obliged"].astype("int64")
    recorded = out["recorded"].astype("int64")
    out["unrecorded"] = (obliged - recorded).clip(lower=0).astype("int64")
    rate = recorded.where(obliged > 0, 1).astype(float) / obliged.where(obliged > 0, 1).astype(float)
    out["rate"] = rate.round(6)
    gap = (1.0 - rate).clip(lower=0)
    out["priority"] = (out["unrecorded"] * (1.0 + gap / RATE_STEP)).round(2)
    return out


def fold(text) -> str:
    """Text for searching: no accents, no case, single spaces ("Tumbang  Sangai" ~ "tumbang
    sangai", "Désa" ~ "desa")."""
    norm = unicodedata.normalize("NFKD", str(text or ""))
    plain = "".join(ch for ch in norm if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())


def matches(frame: pd.DataFrame, query: str | None) -> pd.Series:
    """Rows whose village name or code contains ``query`` (accent- and case-insensitive)."""
    q = fold(query)
    if not q:
        return pd.Series(True, index=frame.index)
    names = frame["name"].map(fold)
    codes = frame["code"].astype(str).str.casefold()
    return names.str.contains(q, regex=False) | codes.str.contains(q.replace(" ", ""), regex=False)


def rank(frame: pd.DataFrame, *, below: float | None = None, kecamatan: str | None = None,
         min_unrecorded: int = 0, query: str | None = None) -> pd.DataFrame:
    """Villages ordered by priority (highest first), filtered, with a 1-based ``rank`` column.
    The rank is the village's place among every village that passes the other filters, so a
    search (``query``) shows each village with its real rank."""
    out = add_measures(frame)
    if kecamatan:
        out = out[out["kecamatan"] == kecamatan]
    if below is not None:
        out = out[out["rate"] < below]
    if min_unrecorded:
        out = out[out["unrecorded"] >= min_unrecorded]
    out = out.sort_values(["priority", "rate", "code"], ascending=[False, True, True])
    out = out.reset_index(drop=True)
    out.insert(0, "rank", range(1, len(out) + 1))
    if query:
        out = out[matches(out, query)].reset_index(drop=True)
    return out


def totals(frame: pd.DataFrame) -> dict:
    """Totals over the rows given (regency totals when given every village)."""
    population = int(frame["population"].sum()) if len(frame) else 0
    obliged = int(frame["obliged"].sum()) if len(frame) else 0
    recorded = int(frame["recorded"].sum()) if len(frame) else 0
    unrecorded = int(add_measures(frame)["unrecorded"].sum()) if len(frame) else 0
    return {
        "villages": int(len(frame)),
        "population": population,
        "obliged": obliged,
        "recorded": recorded,
        "unrecorded": unrecorded,
        "rate": round(recorded / obliged, 6) if obliged else 1.0,
    }


def rollup(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-kecamatan totals, lowest rate first."""
    m = add_measures(frame)
    g = m.groupby("kecamatan", as_index=False).agg(
        villages=("code", "count"), population=("population", "sum"), obliged=("obliged", "sum"),
        recorded=("recorded", "sum"), unrecorded=("unrecorded", "sum"),
    )
    g["rate"] = (g["recorded"] / g["obliged"].where(g["obliged"] > 0)).fillna(1.0).round(6)
    return g.sort_values(["rate", "kecamatan"]).reset_index(drop=True)


RANK_COLUMNS = ["rank", "code", "name", "kecamatan", "population", "obliged", "recorded",
                "unrecorded", "rate", "priority"]


def to_records(ranked: pd.DataFrame) -> list[dict]:
    """Plain JSON-able records with the stable ranking keys."""
    cols = [c for c in RANK_COLUMNS if c in ranked.columns]
    recs = []
    for r in ranked[cols].to_dict("records"):
        recs.append({k: (int(v) if k in {"rank", "population", "obliged", "recorded", "unrecorded"}
                         else float(v) if k in {"rate", "priority"} else str(v))
                     for k, v in r.items()})
    return recs
