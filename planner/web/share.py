"""Share links (``/s/<token>``): one team-day of a plan, read-only, no account needed — what
the QR code on a day sheet opens on a team member's phone. The token is signed and revocable
(``planner.sharing``); a forged, malformed or revoked token gives the same 404 as a missing page.
"""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from .. import coverage, exports, plan_json, plan_store, settings, sharing, sheets
from .common import asset_base, locale, map_labels, map_response

bp = Blueprint("share", __name__)


def link_for(plan_id: int, version: int):
    """The share-link maker the day sheets and the plan page use."""
    return sharing.link_maker(current_app.secret_key, base_url(), plan_id, version)


def base_url() -> str:
    """The public address of the planner (settings page; else ``PLANNER_PUBLIC_BASE_URL``)."""
    return settings.public_base_url(current_app.config["PUBLIC_BASE_URL"])


def _shared(token: str):
    """(plan JSON, dataset, TeamDay) for a valid token, else 404."""
    shared = sharing.resolve(current_app.secret_key, token)
    if shared is None:
        abort(404)
    plan, dataset = plan_store.stored_plan(shared.plan_id, shared.version)
    if plan is None:
        abort(404)
    try:
        td = plan_json.get_team_day(plan, shared.team_no, shared.date)
    except plan_json.SelectionError:
        abort(404)
    return plan, dataset, td


@bp.route("/s/<token>")
def teamlead(token: str):
    plan, dataset, td = _shared(token)
    model = sheets.sheet_model(plan, td, villages=None,
                               base_url=base_url(),
                               link=lambda _td: url_for("share.teamlead", token=token, _external=True),
                               gettext=_, locale=locale(), with_sketch=False, with_qr=False)
    downloads = [
        (_("Unduh GPX"), url_for("share.export", token=token, fmt="gpx")),
        (_("Unduh KML"), url_for("share.export", token=token, fmt="kml")),
        (_("Lembar kerja (PDF)"), url_for("share.sheets_pdf", token=token)),
    ]
    return render_template(
        "sheets/teamlead.html", plan=plan, s=model, downloads=downloads, dataset=dataset,
        has_stops=bool(td.stops), shared=True,
        map_url=url_for("share.teamlead_map", token=token) if td.stops else None,
    ), 200, {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


@bp.route("/s/<token>/peta.html")
def teamlead_map(token: str):
    plan, dataset, td = _shared(token)
    if not td.stops:
        abort(404)
    return map_response(coverage.team_day_map(plan, td, dataset, labels=map_labels(),
                                              asset_base=asset_base(), locale=locale()))


@bp.route("/s/<token>/lembar.pdf")
def sheets_pdf(token: str):
    plan, dataset, td = _shared(token)
    pdf = sheets.render_daysheets_pdf(
        plan, coverage.village_outlines(), team=td.team_no, day=td.date,
        context=coverage.context_frame(dataset), base_url=base_url(),
        link=lambda _td: url_for("share.teamlead", token=token, _external=True),
        gettext=_, locale=locale())
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                     download_name=f"lembar-tim{td.team_no}-{td.date}.pdf")


@bp.route("/s/<token>/ekspor.<fmt>")
def export(token: str, fmt: str):
    if fmt not in ("gpx", "kml"):
        abort(404)
    plan, _dataset, td = _shared(token)
    data, mimetype = exports.export_bytes(plan, fmt, td.team_no, td.date, gettext=_,
                                          locale=locale())
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                     download_name=f"rute-tim{td.team_no}-{td.date}.{fmt}")


@bp.route("/rencana/<int:plan_id>/bagikan/cabut", methods=["POST"])
def revoke(plan_id: int):
    plan = plan_store.get_plan(plan_id)
    if plan is None:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    sharing.revoke(plan)
    flash(_("Semua tautan bagikan rencana ini dicabut. Cetak ulang lembar kerja untuk tautan baru."),
          "success")
    return redirect(url_for("plans.latest", plan_id=plan_id))
