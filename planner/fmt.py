"""Numbers, percentages, dates and durations in the reader's language, through Babel.

Every page, day sheet, map popup, export and CLI line formats through these functions, so
Indonesian shows ``12.345`` / ``95,4%`` / ``1 jam 20 mnt`` and English ``12,345`` / ``95.4%`` /
``1 h 20 min``. Minutes are always "mnt" / "min", never "m".

Outside Flask pass ``locale`` ("id", "en"); the web layer registers template filters that pass
the request's locale (``planner.web``). A value that is not a number gives "–".

Plain Python (Babel only).
"""

from __future__ import annotations

import datetime as dt
import math

from babel.dates import format_date
from babel.numbers import format_decimal

DEFAULT_LOCALE = "id"
MISSING = "–"
#: Hour and minute words per language (short forms for tables and sheets).
DURATION_WORDS = {"id": ("jam", "mnt"), "en": ("h", "min")}


def _locale(locale) -> str:
    text = str(locale or DEFAULT_LOCALE)
    return text.split("_")[0].split("-")[0] or DEFAULT_LOCALE


def _number(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def integer(value, locale=None) -> str:
    """12.345 (id) / 12,345 (en)."""
    v = _number(value)
    if v is None:
        return MISSING
    return format_decimal(round(v), "#,##0", locale=_locale(locale))


def decimal(value, locale=None, digits: int = 1) -> str:
    """12.345,7 (id) / 12,345.7 (en) with exactly ``digits`` decimals."""
    v = _number(value)
    if v is None:
        return MISSING
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(round(v, digits), pattern, locale=_locale(locale))


def percent(ratio, locale=None, digits: int = 1) -> str:
    """A ratio (0.954) as 95,4% (id) / 95.4% (en)."""
    v = _number(ratio)
    if v is None:
        return MISSING
    return decimal(v * 100, locale, digits) + "%"


def km(value, locale=None, digits: int = 1) -> str:
    v = _number(value)
    return MISSING if v is None else f"{decimal(v, locale, digits)} km"


def rupiah(value, locale=None) -> str:
    """Rp 1.234.567 (id) / Rp 1,234,567 (en)."""
    v = _number(value)
    return MISSING if v is None else f"Rp {integer(v, locale)}"


def duration(minutes, locale=None) -> str:
    """80 minutes as "1 jam 20 mnt" (id) / "1 h 20 min" (en); under an hour "45 mnt"."""
    v = _number(minutes)
    if v is None:
        return MISSING
    h_word, m_word = DURATION_WORDS.get(_locale(locale), DURATION_WORDS["en"])
    total = int(round(v))
    h, m = divmod(abs(total), 60)
    sign = "-" if total < 0 else ""
    if h:
        return f"{sign}{integer(h, locale)} {h_word} {m} {m_word}"
    return f"{sign}{m} {m_word}"


def minutes_unit(locale=None) -> str:
    """The short word for minutes ("mnt" / "min"), for column headings."""
    return DURATION_WORDS.get(_locale(locale), DURATION_WORDS["en"])[1]


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def date_long(value, locale=None) -> str:
    """"Selasa, 1 Desember 2026" (id) / "Tuesday, December 1, 2026" (en)."""
    d = _as_date(value)
    if d is None:
        return MISSING
    loc = _locale(locale)
    if loc == "id":
        return format_date(d, "EEEE, d MMMM y", locale="id")
    return format_date(d, "full", locale=loc)


def date_medium(value, locale=None) -> str:
    """"1 Des 2026" (id) / "Dec 1, 2026" (en)."""
    d = _as_date(value)
    return MISSING if d is None else format_date(d, "medium", locale=_locale(locale))


def datetime_short(value: dt.datetime | None, locale=None) -> str:
    """A timestamp as date and HH:MM (the office's clock)."""
    if value is None:
        return MISSING
    return f"{date_medium(value, locale)} {value:%H:%M}"


#: Jinja filter names → functions (registered by ``planner.web`` with the request's locale).
FILTERS = {
    "num": integer, "dec": decimal, "pct": percent, "km": km, "rp": rupiah, "dur": duration,
    "date_long": date_long, "date_medium": date_medium, "datetime_short": datetime_short,
}
