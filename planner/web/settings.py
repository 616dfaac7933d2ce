"""Office settings: the travel model (``/pengaturan/perjalanan``) — speeds, circuity, cost per
km per mode, dry-season factor, pier transfer minutes and the travel source (built-in model,
the imported road and river network -- offered once a road or river layer is imported, and
the default then until the office chooses --, the office's matrix CSV, an OSRM server). "Pratinjau" shows, before saving, how three sample
legs from the office change; "Simpan" stores them (``planner.settings``, audited) for every new
plan (the plan form, ``planner plan`` and the sample plan read them).
"""

from __future__ import annotations

import pandas as pd
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, RadioField, SelectChoice, StringField
from wtforms.validators import NumberRange, Optional

from .. import networks, repository, settings, travel
from ..params import ParamsError, PlanParams
from ..params import build as build_params
from ..params import team as team_params
from .common import locale

bp = Blueprint("settings", __name__, url_prefix="/pengaturan")

FIELDS = [  # (key, label, min, max)
    ("road_speed_kmh", _l("Kecepatan mobil (km/jam)"), 5, 120),
    ("road_circuity", _l("Faktor kelokan jalan"), 1, 3),
    ("road_cost_per_km", _l("Biaya mobil per km (Rp)"), 0, 1_000_000),
    ("river_speed_kmh", _l("Kecepatan perahu (km/jam)"), 2, 80),
    ("river_circuity", _l("Faktor kelokan sungai"), 1, 3),
    ("river_cost_per_km", _l("Biaya perahu per km (Rp)"), 0, 1_000_000),
    ("dry_season_factor", _l("Faktor musim kemarau (perahu)"), 1, 5),
    ("pier_transfer_min", _l("Waktu pindah mobil–perahu (menit)"), 0, 240),
]


class TravelForm(FlaskForm):
    source = RadioField(_l("Sumber waktu tempuh"), default="builtin", choices=[
        SelectChoice("builtin", _l("Model bawaan (jarak garis lurus × kelokan ÷ kecepatan)")),
        SelectChoice("network", _l("Jaringan jalan dan sungai yang diimpor (perkiraan bawaan untuk perjalanan di luar jaringan)")),
        SelectChoice("matrix", _l("Matriks waktu tempuh kantor (CSV di server)")),
        SelectChoice("osrm", _l("Server OSRM (jalan darat)"))])
    file = StringField(_l("Berkas matriks CSV (jalur di server)"), validators=[Optional()])
    url = StringField(_l("Alamat server OSRM"), validators=[Optional()])


for _key, _label, _lo, _hi in FIELDS:
    setattr(TravelForm, _key, DecimalField(_label, places=None, validators=[
        Optional(), NumberRange(min=_lo, max=_hi,
                                message=_l("Isi angka antara %(min)s dan %(max)s."))]))


def _defaults() -> dict:
    return travel.TravelParams().to_dict()


def _form_choice(form: TravelForm) -> dict:
    """The form as the ``travel`` part of a plan request (only values that differ from the
    built-in defaults are stored)."""
    defaults = _defaults()
    values = {}
    for key, *_rest in FIELDS:
        raw = getattr(form, key).data
        if raw is not None and float(raw) != float(defaults[key]):
            values[key] = float(raw)
    out = {"source": form.source.data or "builtin", "settings": values}
    if out["source"] == "matrix":
        out["file"] = (form.file.data or "").strip()
    if out["source"] == "osrm":
        out["url"] = (form.url.data or "").strip()
    return out


def _checked(choice: dict) -> PlanParams:
    """A throw-away request with ``choice``: ``planner.params`` checks it at the door."""
    base = {"name": "x", "lat": -2.5, "lon": 112.9}
    return build_params(teams=[team_params("x", base)], start_date="2026-12-07", days=1,
                        travel=choice)


def sample_legs(choice: dict) -> list[dict]:
    """Three legs from the default base: to the nearest village, to the farthest, and to a
    river-only village (or the farthest by boat) — minutes, km and cost now and with
    ``choice``: the built-in model, or the imported road and river network when that is the
    source (a matrix or OSRM is checked when a plan is made)."""
    base = repository.default_base()
    frame = repository.villages_frame(with_stats=False)
    if base is None or not len(frame):
        return []
    b = {"lat": base.lat, "lon": base.lon, "access": "both"}
    d = (frame["stop_lat"] - base.lat) ** 2 + (frame["stop_lon"] - base.lon) ** 2
    picks = [("road", frame.loc[d.idxmin()]), ("road", frame.loc[d.idxmax()])]
    river = frame[frame["access"] == "river"]
    if len(river):
        dr = (river["stop_lat"] - base.lat) ** 2 + (river["stop_lon"] - base.lon) ** 2
        picks.append(("both", river.loc[dr.idxmax()]))
    else:
        picks.append(("river", frame.loc[d.idxmax()]))
    current = settings.travel_choice()
    targets = [{"lat": float(v["stop_lat"]), "lon": float(v["stop_lon"]), "access": v["access"]}
               for _vehicle, v in picks]
    vehicles = [vehicle for vehicle, _v in picks]
    now = _legs(current, b, targets, vehicles)
    new = _legs(choice, b, targets, vehicles)
    return [{"name": v["name"], "vehicle": vehicle, "now": now[i], "new": new[i]}
            for i, (vehicle, v) in enumerate(picks)]


def _legs(choice: dict, b: dict, targets: list[dict], vehicles: list[str]) -> list[dict]:
    """Base → each target with ``choice``'s source: along the network (the same
    ``NetworkTravel`` a plan uses, built-in model per leg off it) or the built-in model."""
    params = travel.TravelParams(**choice.get("settings", {}))
    src = networks.travel_source(params) if choice.get("source") == "network" else None
    if src is None:
        return [travel.leg(b, p, vehicle, params)._asdict()
                for p, vehicle in zip(targets, vehicles, strict=True)]
    points = pd.DataFrame([b, *targets])
    out = []
    mats: dict = {}
    for i, vehicle in enumerate(vehicles, start=1):
        if vehicle not in mats:
            mats[vehicle] = src.matrices(points, vehicle)
        m = mats[vehicle]
        code = int(m.mode[0, i])
        out.append({"minutes": int(m.minutes[0, i]), "km": float(m.km[0, i]),
                    "cost_rp": float(m.cost_rp[0, i]),
                    "mode": {0: "road", 1: "river"}.get(code, "unreachable")})
    return out


def _offer_network(form: TravelForm, current: dict, has_network: bool) -> None:
    """The network source is offered when a road or river layer is imported (or already
    chosen, so the page shows the choice that is stored)."""
    if not has_network and current["source"] != "network":
        form.source.choices = [c for c in form.source.choices if c.value != "network"]


@bp.route("/perjalanan", methods=["GET", "POST"], endpoint="travel")
def travel_page():
    current = settings.travel_choice()
    has_network = settings.has_network()
    form = TravelForm()
    _offer_network(form, current, has_network)
    preview, status = None, 200
    if request.method == "GET":
        defaults = _defaults()
        form.source.data = current["source"]
        form.file.data = current.get("file", "")
        form.url.data = current.get("url", "")
        for key, *_rest in FIELDS:
            getattr(form, key).data = current["settings"].get(key, defaults[key])
    elif form.validate_on_submit():
        choice = _form_choice(form)
        try:
            _checked(choice)
        except ParamsError as exc:
            flash(str(exc), "error")
            status = 400
        else:
            if request.form.get("action") == "save":
                settings.put("travel", choice)
                flash(_("Pengaturan perjalanan disimpan; rencana baru memakainya."), "success")
                return redirect(url_for("settings.travel"))
            preview = sample_legs(choice)
    else:
        status = 400
    return render_template("settings/travel.html", form=form, fields=FIELDS, preview=preview,
                           legs=sample_legs(current), defaults=_defaults(), current=current,
                           has_network=has_network, chosen=settings.is_set("travel"),
                           locale=locale(), config=current_app.config), status


class GeneralForm(FlaskForm):
    public_base_url = StringField(_l("Alamat publik planner (untuk kode QR dan tautan bagikan)"),
                                  validators=[Optional()])


@bp.route("/umum", methods=["GET", "POST"], endpoint="general")
def general_page():
    """The public address printed on day sheets (QR codes) and share links."""
    current = settings.public_base_url(current_app.config["PUBLIC_BASE_URL"])
    form = GeneralForm()
    status = 200
    if request.method == "GET":
        form.public_base_url.data = current
    elif form.validate_on_submit():
        url = (form.public_base_url.data or "").strip().rstrip("/")
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 300:
            flash(_("Alamat harus lengkap, mis. https://jemputbola.disdukcapil.example.go.id"),
                  "error")
            status = 400
        else:
            settings.put("public_base_url", url)
            flash(_("Alamat publik disimpan. Cetak ulang lembar kerja agar kode QR memakainya."),
                  "success")
            return redirect(url_for("settings.general"))
    else:
        status = 400
    return render_template("settings/general.html", form=form, current=current,
                           loopback=settings.is_loopback(current)), status
