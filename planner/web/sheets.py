"""Day sheets, exports and the team-lead page of a saved plan version (the commands
``planner itinerary`` and ``planner export`` are in ``planner.cli.sheets``).

Routes (``team`` = 1-based team number or exact name, ``day`` = ISO date):

* ``/rencana/<plan_id>/v<version>/lembar.pdf?team=&day=&lang=`` — day sheets as one PDF
* ``/rencana/<plan_id>/v<version>/lembar?team=&day=`` — the same as an HTML print view
* ``/rencana/<plan_id>/v<version>/ekspor.<fmt>?team=&day=`` — csv, xlsx, gpx, kml, geojson
  (GPX/KML names and descriptions in the request's language; CSV/XLSX/GeoJSON raw data)
* ``/t/<plan_id>/<version>/<team_index>/<date>`` — the team-lead page for one team's day (the short
  link and QR code printed on each sheet), and ``.../peta.html`` the map it frames; the page also
  shows the day as a message for the team's chat (``planner.daymessage``: copy, WhatsApp link)
* ``/rencana/<plan_id>/v<version>/pesan?team=&day=`` — that message as ``text/plain``
"""

from __future__ import annotations

import datetime as dt
import io

from flask import Blueprint, current_app, render_template, request, send_file, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from .. import coverage, daymessage, exports, plan_json, plan_store, sheets
from ..extensions import db
from ..models import Village
from . import access
from .common import asset_base, map_labels, map_response
from .common import locale as _locale
from .share import base_url, link_for

bp = Blueprint("sheets", __name__)


def _bad_request(message: str):
    return render_template("error.html", code=400, message=message), 400


def _not_found(message: str | None = None):
    return render_template("error.html", code=404,
                           message=message or _("Halaman tidak ditemukan.")), 404


def _selection_args():
    """(team, day, error message) from the query string."""
    team = (request.args.get("team") or "").strip() or None
    day = (request.args.get("day") or "").strip() or None
    if team is not None and len(team) > 200:
        return None, None, _("Parameter tim terlalu panjang.")
    if day is not None:
        try:
            day = dt.date.fromisoformat(day).isoformat()
        except ValueError:
            return None, None, _("Tanggal tidak sah: gunakan format TTTT-BB-HH, misalnya 2026-12-01.")
    return team, day, None


def _check_selection(plan: dict, team, day):
    """None when the selection exists, else a 404 response."""
    try:
        plan_json.team_days(plan, team, day, with_empty=True)
    except plan_json.SelectionError:
        return _not_found(_("Tim atau tanggal tidak ada dalam rencana ini."))
    return None


def _filename(plan: dict, stem: str, team, day, ext: str) -> str:
    parts = [stem, f"rencana{plan['plan_id']}", f"v{plan['version']}"]
    if team is not None:
        n, _t = plan_json.find_team(plan, team)
        parts.append(f"tim{n}")
    if day:
        parts.append(day)
    return "-".join(parts) + "." + ext


def _resolve_selection(plan_id: int, version: int):
    """``((plan, dataset, team, day), None)`` for the query's team/day, or ``(None, response)``
    with the 400/404 page."""
    team, day, error = _selection_args()
    if error:
        return None, _bad_request(error)
    plan, dataset = plan_store.stored_plan(plan_id, version)
    if plan is None:
        return None, _not_found(_("Rencana atau versi ini tidak ada."))
    access.require_plan_visible(plan)
    missing = _check_selection(plan, team, day)
    if missing:
        return None, missing
    scope = access.team_scope()
    if scope is not None:  # a team lead gets their own team's sheets only
        if team is None:
            team = scope
        access.require_team(plan_json.find_team(plan, team)[1].get("name"))
    return (plan, dataset, team, day), None


# --------------------------------------------------------------------------- sheets
@bp.route("/rencana/<int:plan_id>/v<int:version>/lembar.pdf")
def sheets_pdf(plan_id: int, version: int):
    lang = request.args.get("lang")
    if lang and lang not in current_app.config["LANGUAGES"]:
        return _bad_request(_("Bahasa tidak dikenal: pilih id atau en."))
    resolved, error_page = _resolve_selection(plan_id, version)
    if error_page is not None:
        return error_page
    plan, dataset, team, day = resolved
    pdf = sheets.render_daysheets_pdf(
        plan, coverage.village_outlines(), team=team, day=day, context=coverage.context_frame(dataset),
        base_url=base_url(), gettext=_, locale=_locale(),
        link=link_for(plan_id, version))
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                     download_name=_filename(plan, "lembar", team, day, "pdf"))


@bp.route("/rencana/<int:plan_id>/v<int:version>/lembar")
def sheets_html(plan_id: int, version: int):
    resolved, error_page = _resolve_selection(plan_id, version)
    if error_page is not None:
        return error_page
    plan, dataset, team, day = resolved
    args = {k: v for k, v in (("team", team), ("day", day)) if v}
    links = [(_("Unduh PDF"), url_for("sheets.sheets_pdf", plan_id=plan_id, version=version, **args))]
    if "plans.show" in current_app.view_functions:
        links.insert(0, (_("Kembali ke rencana"), url_for("plans.show", plan_id=plan_id, version=version)))
    doc = sheets.render_daysheets_html(
        plan, coverage.village_outlines(), team=team, day=day, context=coverage.context_frame(dataset),
        base_url=base_url(), gettext=_, locale=_locale(),
        link=link_for(plan_id, version), screen_links=links)
    return doc, 200, {"Content-Type": "text/html; charset=utf-8"}


# --------------------------------------------------------------------------- exports
@bp.route("/rencana/<int:plan_id>/v<int:version>/ekspor.<fmt>")
def export(plan_id: int, version: int, fmt: str):
    if fmt not in exports.FORMATS:
        return _not_found(_("Format ekspor tidak dikenal."))
    resolved, error_page = _resolve_selection(plan_id, version)
    if error_page is not None:
        return error_page
    plan, _dataset, team, day = resolved
    data, mimetype = exports.export_bytes(plan, fmt, team, day, gettext=_, locale=_locale())
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                     download_name=_filename(plan, "rencana", team, day, exports.FORMATS[fmt][2]))


# --------------------------------------------------------------------------- team lead
def _team_day_or_none(plan_id: int, version: int, team_no: int, date: str):
    """(plan, dataset, TeamDay) or (None, None, None) when any part is missing."""
    try:
        date = dt.date.fromisoformat(date).isoformat()
    except ValueError:
        return None, None, None
    plan, dataset = plan_store.stored_plan(plan_id, version)
    if plan is None:
        return None, None, None
    try:
        td = plan_json.get_team_day(plan, team_no, date)
    except plan_json.SelectionError:
        return None, None, None
    access.require_team(td.team_name)
    return plan, dataset, td


@bp.route("/t/<int:plan_id>/<int:version>/<int:team_index>/<date>")
def teamlead(plan_id: int, version: int, team_index: int, date: str):
    """The team-lead page; ``team_index`` is 1-based (Tim 1 = 1), as printed on the sheets."""
    plan, dataset, td = _team_day_or_none(plan_id, version, team_index, date)
    if td is None:
        return _not_found(_("Rencana, versi, tim atau tanggal ini tidak ada."))
    model = sheets.sheet_model(plan, td, villages=None, base_url=base_url(),
                               gettext=_, locale=_locale(), with_sketch=False, with_qr=False)
    args = {"team": td.team_no, "day": td.date}
    downloads = [
        (_("Unduh GPX"), url_for("sheets.export", plan_id=plan_id, version=version, fmt="gpx", **args)),
        (_("Unduh KML"), url_for("sheets.export", plan_id=plan_id, version=version, fmt="kml", **args)),
        (_("Lembar kerja (PDF)"), url_for("sheets.sheets_pdf", plan_id=plan_id, version=version, **args)),
    ]
    text = _day_text(plan, td)
    return render_template(
        "sheets/teamlead.html", plan=plan, s=model, downloads=downloads, dataset=dataset,
        has_stops=bool(td.stops),
        map_url=url_for("sheets.teamlead_map", plan_id=plan_id, version=version,
                        team_index=td.team_no, date=td.date) if td.stops else None,
        day_text=text, wa_url=daymessage.wa_link(text),
        message_url=url_for("sheets.day_message", plan_id=plan_id, version=version, **args),
    )


@bp.route("/t/<int:plan_id>/<int:version>/<int:team_index>/<date>/peta.html")
def teamlead_map(plan_id: int, version: int, team_index: int, date: str):
    plan, dataset, td = _team_day_or_none(plan_id, version, team_index, date)
    if td is None or not td.stops:
        return _not_found()
    m = coverage.team_day_map(plan, td, dataset, labels=map_labels(), asset_base=asset_base(),
                              locale=_locale())
    return map_response(m)



# --------------------------------------------------------------------------- team-day message
def _village_contacts(td: plan_json.TeamDay) -> dict[str, Village]:
    """The villages of a team-day's stops, by code (``daymessage.village_contact`` reads their
    contact, when the office keeps one)."""
    codes = sorted({str(s.get("site_code")) for s in td.stops})
    if not codes:
        return {}
    return {v.code: v for v in db.session.scalars(select(Village).where(Village.code.in_(codes)))}


def _day_text(plan: dict, td: plan_json.TeamDay) -> str:
    return daymessage.day_text(plan, td, locale=_locale(), base_url=base_url(),
                               villages=_village_contacts(td), gettext=_)


@bp.route("/rencana/<int:plan_id>/v<int:version>/pesan")
def day_message(plan_id: int, version: int):
    """One team-day as the plain-text message for the team's chat (``?team=N&day=YYYY-MM-DD``;
    a team lead gets their own team when ``team`` is left out)."""
    resolved, error_page = _resolve_selection(plan_id, version)
    if error_page is not None:
        return error_page
    plan, _dataset, team, day = resolved
    if team is None or day is None:
        return _bad_request(_("Pilih satu tim dan satu tanggal (team=…&day=TTTT-BB-HH)."))
    try:
        td = plan_json.get_team_day(plan, team, day)
    except plan_json.SelectionError:
        return _not_found(_("Tim atau tanggal tidak ada dalam rencana ini."))
    return _day_text(plan, td), 200, {"Content-Type": "text/plain; charset=utf-8",
                                      "Cache-Control": "private, no-store"}
