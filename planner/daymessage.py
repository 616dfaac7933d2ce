"""One team's day as a message for the team's chat group (WhatsApp, SMS, any messenger).

:func:`day_text` is the day sheet in plain text: the plan and team, the date in the reader's
language, where and when the day starts, every stop (arrive–depart, village, kecamatan, people
expected, the villages it also serves, no signal, the village contact when the office has one),
where the team sleeps or returns, the totals, and two links: the team-lead page and its route
map (this server's own map, no Google Maps). :func:`wa_link` is the ``https://wa.me/?text=``
link that opens WhatsApp with that text.

Everything comes from the same model as the printed sheet and the team-lead page
(:func:`planner.sheets.sheet_model` over a :class:`planner.plan_json.TeamDay`), so the three
never disagree about a time or a total. WhatsApp's ``*bold*`` marks the headings.

Village, kecamatan, team and contact names are untrusted (they come from the office's files):
:func:`clean` makes each one a single line of printable text (no line breaks that could forge a
line of the message, no bidirectional-override characters, at most ``MAX_FIELD_CHARS``
characters). The result is plain text: pages escape it (Jinja autoescape, a ``<textarea>``), the
``/pesan`` route serves it as ``text/plain``, and :func:`wa_link` percent-encodes all of it.

Plain Python (no Flask, no database): the caller passes the village contacts it knows.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from urllib.parse import quote

from . import plan_json, sheets
from .exports import translator
from .plan_json import TeamDay

Gettext = Callable[[str], str]
WHATSAPP = "https://wa.me/?text="
MAX_FIELD_CHARS = 200
#: Where a village's contact may be kept (a column of the village, or a key of its attributes
#: JSON): the first non-empty name and the first non-empty phone are shown.
CONTACT_NAME_KEYS = ("contact_name", "contact_person", "head_name", "kepala_desa", "contact")
CONTACT_PHONE_KEYS = ("contact_phone", "head_phone", "phone", "telepon")
#: Characters that reorder text on screen (a name could make a link or a number read wrongly).
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F,
                          0x061C)}


def clean(value, limit: int = MAX_FIELD_CHARS) -> str:
    """``value`` as one line of printable text: control characters and bidirectional
    overrides removed, any run of white space (line breaks included) made one space, cut at
    ``limit`` characters (with "…")."""
    text = "" if value is None else str(value)
    text = "".join(" " if ch.isspace() else ch for ch in text
                   if ch not in _BIDI and (ch.isspace() or unicodedata.category(ch) != "Cc"))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field(source, key: str):
    if isinstance(source, Mapping):
        return source.get(key)
    return getattr(source, key, None)


def village_contact(village) -> str:
    """"Name · phone" of a village's contact (a mapping or an object such as a ``Village``
    row; its ``attributes`` mapping is looked into too), or "" when there is none."""
    if village is None:
        return ""
    sources = [village]
    extra = _field(village, "attributes")
    if isinstance(extra, Mapping):
        sources.append(extra)
    name = phone = ""
    for src in sources:
        for key in CONTACT_NAME_KEYS:
            value = _field(src, key)
            if isinstance(value, Mapping):  # {"name": ..., "phone": ...}
                name = name or clean(value.get("name"))
                phone = phone or clean(value.get("phone"), 40)
            elif value not in (None, "") and not name:
                name = clean(value)
        for key in CONTACT_PHONE_KEYS:
            value = _field(src, key)
            if value not in (None, "") and not isinstance(value, Mapping) and not phone:
                phone = clean(value, 40)
    return " · ".join(p for p in (name, phone) if p)


def _team_day(plan: dict, team_day) -> TeamDay:
    if isinstance(team_day, TeamDay):
        return team_day
    team, day = team_day
    return plan_json.get_team_day(plan, team, day)


def map_url(page_url: str) -> str:
    """The route map of a team-lead page (``/t/...`` or a share link ``/s/...``): its
    ``peta.html`` (this server's map, no Google Maps)."""
    return page_url.rstrip("/") + "/peta.html"


def day_text(plan: dict, team_day, *, locale: str, base_url: str, villages=None,
             gettext: Gettext | None = None,
             link: Callable[[TeamDay], str] | None = None) -> str:
    """The message for one team-day of ``plan`` (``team_day``: a :class:`TeamDay`, or
    ``(team, date)`` with the team's number or exact name).

    ``locale`` formats dates and numbers (``planner.fmt``); ``gettext`` translates the labels
    (default: the compiled catalogue of ``locale``). ``base_url`` is the planner's public
    address (the settings page), used for the team-lead page link
    (:func:`planner.sheets.teamlead_url`) unless ``link`` makes another (e.g. a share link).
    ``villages`` maps a village code to what the office knows of it (a mapping or a
    ``Village``; see :func:`village_contact`); stops without a known contact show none.
    """
    gettext = gettext or sheets.translations_for(locale)
    _ = translator(gettext)
    td = _team_day(plan, team_day)
    s = sheets.sheet_model(plan, td, villages=None, base_url=base_url, link=link,
                           gettext=gettext, locale=locale, with_sketch=False, with_qr=False)
    villages = villages or {}
    # the labels (each a msgid of its own: ``make translations`` finds them here)
    version = _("versi %(v)s", v=s["version"])
    fictional = _("DATA FIKTIF")
    leader_label = _("Ketua tim")
    start_label = _("Mulai hari")
    no_stops = _("Tidak ada kunjungan pada hari ini.")
    kec = _("Kec.")
    people = _("Perkiraan orang")
    contact_label = _("Kontak desa")
    end_label = _("Akhir hari")
    page_label = _("Halaman ketua tim")
    map_label = _("Peta rute hari ini")

    lines = []
    title = f"*{clean(s['plan_name'])}* · {version}"
    if s["fictional"]:
        title += f" · {fictional}"
    lines.append(title)
    lines.append(f"*{clean(s['team'])}* — {s['date_long']}")
    if s["leader"] or s["phone"]:
        leader = " · ".join(p for p in (clean(s["leader"]), clean(s["phone"], 40)) if p)
        lines.append(f"{leader_label}: {leader}")
    lines.append("")
    start = " ".join(p for p in (s["start_time"], clean(s["start_label"])) if p)
    lines.append(f"*{start_label}:* {start}")
    if not s["rows"]:
        lines.append(no_stops)
    for row in s["rows"]:
        lines.append("")
        lines.append(f"{row['order']}. {row['arrive']}–{row['depart']} *{clean(row['name'])}*")
        lines.append(f"   {kec} {clean(row['kecamatan'])}")
        lines.append(f"   {people}: {row['expected']}")
        for note in row["notes"]:  # kind, no signal, the pooled villages, fixed schedule
            lines.append(f"   {clean(note, 1000)}")
        contact = village_contact(villages.get(str(row["code"])))
        if contact:
            lines.append(f"   {contact_label}: {contact}")
    lines.append("")
    end = " ".join(p for p in (f"±{s['end_time']}" if s["end_time"] else "",
                               clean(s["end_label"])) if p)
    lines.append(f"*{end_label}:* {end}")
    if s["rows"]:
        t = s["totals"]
        stops = _("Jumlah: %(n)s lokasi", n=t["stops"])
        lines.append(f"{stops} · {people}: {t['people']} · {t['km']} · {t['travel']}")
    lines.append("")
    lines.append(f"{page_label}: {s['url']}")
    if s["rows"]:
        lines.append(f"{map_label}: {map_url(s['url'])}")
    return "\n".join(lines)


def wa_link(text: str) -> str:
    """The WhatsApp link that opens a chat with ``text`` typed in (the user picks the chat)."""
    return WHATSAPP + quote(text, safe="")
