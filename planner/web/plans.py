"""Plans in the app: the plan list and form (``/rencana``), the progress page of a solve
(``/rencana/job/<id>`` polling ``.json``), the result page (``/rencana/<id>/v<n>``) with its
route map document and JSON download.

The form becomes a ``plan-params/1`` request (``planner.params``) that runs through
``planner.pipeline`` off the request thread (``planner.jobs``) — the same path as
``planner plan`` (``planner.cli.plans``).
"""

from __future__ import annotations

import datetime as dt
import json
import re

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from .. import (
    coverage,
    field,
    fmt,
    jobs,
    lifecycle,
    pipeline,
    plan_json,
    plan_store,
    plandiff,
    repository,
    roster,
    settings,
)
from .. import params as P
from ..extensions import db
from ..models import Team, TeamBase, Village
from . import access
from . import stops as stops_web
from .common import asset_base, locale, map_labels, map_response
from .share import link_for

bp = Blueprint("plans", __name__)

TEAM_ROWS = 6


def choice(value, label):
    return SelectChoice(value, label)


MODE_CHOICES = [choice("road", _l("Darat (mobil)")), choice("river", _l("Sungai (perahu)")),
                choice("both", _l("Darat dan sungai"))]


def mode_label(mode: str | None) -> str:
    return {"road": _("darat"), "river": _("sungai"), "both": _("darat + sungai")}.get(
        mode or "", mode or "")


def reason_label(reason: str | None) -> str:
    return {
        "unreachable": _("Tidak terjangkau"),
        "capacity": _("Kapasitas tim/hari habis"),
        "not_worth": _("Tidak sebanding dengan perjalanan"),
    }.get(reason or "", reason or "")


# --------------------------------------------------------------------------- form
class _Msg:
    """Replace WTForms' English parse error with an Indonesian message (``bad_message``)."""

    bad_message = _l("Nilai tidak sah.")

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(str(self.bad_message)) from exc


class IntField(_Msg, IntegerField):
    bad_message = _l("Isi bilangan bulat (mis. 3).")


class DayField(_Msg, DateField):
    bad_message = _l("Tanggal tidak sah: pakai format TTTT-BB-HH (mis. 2026-12-01).")


class ClockField(_Msg, TimeField):
    bad_message = _l("Jam tidak sah: pakai format JJ:MM (mis. 08:00).")


class TeamRowForm(Form):
    """One row of the team table (a plain WTForms form: the page's CSRF token covers it)."""

    name = StringField(_l("Nama tim"), validators=[Optional(), Length(max=100)])
    base = SelectField(_l("Pangkalan"), coerce=int, validate_choice=False)
    kits = IntField(_l("Perangkat"), default=3,
                        validators=[Optional(), NumberRange(min=1, max=20, message=_l("Perangkat 1–20."))])
    mode = SelectField(_l("Moda"), choices=MODE_CHOICES, default="road")
    max_nights = IntField(_l("Maks. malam"), default=0,
                              validators=[Optional(), NumberRange(min=0, max=30, message=_l("Malam 0–30."))])
    # the roster team this row came from (filled by the page's script); empty: a one-off team
    roster_id = HiddenField()


class IdListField(Field):
    """Ids posted under one name (the roster checkboxes); anything that is not an id is
    ignored (rendered by the template, not by a widget)."""

    def process_formdata(self, valuelist):
        out: list[int] = []
        for raw in valuelist:
            try:
                value = int(raw)
            except (TypeError, ValueError):
                continue
            if 0 < value <= 2**31 - 1 and value not in out:
                out.append(value)
        self.data = out


def _row_roster_id(raw) -> int | None:
    try:
        value = int(str(raw or "").strip())
    except ValueError:
        return None
    return value if value > 0 else None


_CODE_SPLIT = re.compile(r"[\s,;]+")
_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y")


def parse_codes(raw: str | None) -> list[str]:
    return [c for c in _CODE_SPLIT.split(raw or "") if c]


def parse_dates(raw: str | None) -> tuple[list[dt.date], list[str]]:
    """Comma/space-separated dates (YYYY-MM-DD or DD-MM-YYYY): (dates, bad items)."""
    good, bad = [], []
    for item in [x for x in re.split(r"[\s,;]+", raw or "") if x]:
        for pattern in _DATE_FORMATS:
            try:
                good.append(dt.datetime.strptime(item, pattern).date())
                break
            except ValueError:
                continue
        else:
            bad.append(item)
    return sorted(set(good)), bad


class PlanForm(FlaskForm):
    name = StringField(_l("Nama rencana"), validators=[
        InputRequired(message=_l("Nama rencana wajib diisi.")), Length(max=200)])
    n_teams = IntField(_l("Jumlah tim"), validators=[
        Optional(), NumberRange(min=1, max=40, message=_l("Jumlah tim harus 1–40."))])
    roster_ids = IdListField(_l("Tim dari daftar"), default=list)
    teams = FieldList(FormField(TeamRowForm), min_entries=TEAM_ROWS, max_entries=20)
    start_date = DayField(_l("Tanggal mulai"), validators=[
        InputRequired(message=_l("Tanggal mulai wajib diisi (format TTTT-BB-HH)."))])
    days = IntField(_l("Jumlah hari kerja"), default=5, validators=[
        InputRequired(message=_l("Jumlah hari kerja wajib diisi.")),
        NumberRange(min=1, max=60, message=_l("Jumlah hari kerja harus 1–60."))])
    work_start = ClockField(_l("Jam mulai kerja"), default=dt.time(8, 0), validators=[
        InputRequired(message=_l("Jam mulai wajib diisi (JJ:MM)."))])
    work_end = ClockField(_l("Jam selesai kerja"), default=dt.time(16, 0), validators=[
        InputRequired(message=_l("Jam selesai wajib diisi (JJ:MM)."))])
    skip_weekends = BooleanField(_l("Lewati Sabtu dan Minggu"), default=True)
    holidays = StringField(_l("Hari libur"), validators=[Optional(), Length(max=2000)])
    below = StringField(_l("Hanya desa dengan rekam di bawah (%)"), validators=[Optional()])
    min_unrecorded = IntField(_l("Belum rekam minimal"), default=0, validators=[
        Optional(), NumberRange(min=0, message=_l("Tidak boleh negatif."))])
    turnout = IntField(_l("Perkiraan kehadiran (%)"), default=60, validators=[
        InputRequired(message=_l("Perkiraan kehadiran wajib diisi.")),
        NumberRange(min=1, max=100, message=_l("Perkiraan kehadiran harus 1–100 %%."))])
    must_visit = TextAreaField(_l("Wajib dikunjungi (kode desa)"), validators=[Optional(), Length(max=5000)])
    exclude = TextAreaField(_l("Dikecualikan (kode desa)"), validators=[Optional(), Length(max=5000)])
    pooling = BooleanField(_l("Titik kumpul gabungan (pooling)"), default=False)
    pooling_radius = StringField(_l("Radius titik kumpul (km)"), default="5")
    time_limit = IntField(_l("Batas waktu hitung (detik)"), validators=[
        InputRequired(message=_l("Batas waktu wajib diisi.")),
        NumberRange(min=1, max=3600, message=_l("Batas waktu harus 1–3600 detik."))])
    seed = IntField(_l("Benih acak (seed)"), default=1, validators=[
        Optional(), NumberRange(min=0, max=1_000_000, message=_l("Seed harus 0–1.000.000."))])

    # Filled in by the view (``_prepare_form``): the village codes of the dataset, the active
    # bases (the default first) and the active roster teams.
    known_codes: set[str] = set()
    bases_by_id: dict[int, TeamBase] = {}
    default_base: TeamBase | None = None
    roster_teams: list[Team] = []

    def team_rows(self) -> list[dict]:
        """The teams this form asks for: every table row with a name (a roster row keeps its
        roster team: leader, phone), then every ticked roster team no row holds (the rows are
        filled by the page's script; without it the roster's values are used)."""
        by_id = {t.id: t for t in self.roster_teams}
        rows, held = [], set()
        for e in self.teams.entries:
            f = e.form
            name = (f.name.data or "").strip()
            if not name:
                continue
            team = by_id.get(_row_roster_id(f.roster_id.data))
            if team is not None:
                held.add(team.id)
            rows.append({"name": name, "base": self.bases_by_id.get(f.base.data) or self.default_base,
                         "mode": f.mode.data or "road", "kits": f.kits.data or 3,
                         "max_nights": f.max_nights.data or 0, "team": team})
        for team_id in self.roster_ids.data or []:
            team = by_id.get(team_id)
            if team is None or team.id in held:
                continue
            rows.append({"name": team.name,
                         "base": self.bases_by_id.get(team.base_id) or self.default_base,
                         "mode": roster.TEAM_MODE.get(team.vehicle, "road"), "kits": team.kits,
                         "max_nights": team.max_nights, "team": team})
        return rows

    def validate_work_end(self, field):
        if self.work_start.data and field.data and field.data <= self.work_start.data:
            raise ValidationError(_("Jam selesai harus sesudah jam mulai."))

    def validate_holidays(self, field):
        _dates, bad = parse_dates(field.data)
        if bad:
            raise ValidationError(_("Tanggal libur tidak dikenal: %(bad)s (pakai TTTT-BB-HH, pisahkan dengan koma).",
                                    bad=", ".join(bad[:5])))

    def validate_below(self, field):
        raw = (field.data or "").strip().replace(",", ".").rstrip("%").strip()
        if not raw:
            return
        try:
            value = float(raw)
        except ValueError as exc:
            raise ValidationError(_("Isi angka persen, mis. 90.")) from exc
        if not 0 < value <= 100:
            raise ValidationError(_("Persen harus di atas 0 dan paling banyak 100."))

    def validate_pooling_radius(self, field):
        if not self.pooling.data:
            return
        try:
            value = float((field.data or "").strip().replace(",", "."))
        except ValueError as exc:
            raise ValidationError(_("Radius harus angka (km).")) from exc
        if not 0 < value <= 50:
            raise ValidationError(_("Radius harus di atas 0 dan paling banyak 50 km."))

    def _check_codes(self, field):
        unknown = [c for c in parse_codes(field.data) if c not in self.known_codes]
        if unknown:
            raise ValidationError(_("Kode desa tidak dikenal: %(codes)s.",
                                    codes=", ".join(unknown[:8]) + (" …" if len(unknown) > 8 else "")))

    def validate_must_visit(self, field):
        self._check_codes(field)

    def validate_exclude(self, field):
        self._check_codes(field)
        both = set(parse_codes(field.data)) & set(parse_codes(self.must_visit.data))
        if both:
            raise ValidationError(_("Kode ini sekaligus wajib dan dikecualikan: %(codes)s.",
                                    codes=", ".join(sorted(both)[:8])))

    def validate_teams(self, field):
        rows = self.team_rows()
        if not rows and not self.n_teams.data:
            raise ValidationError(_("Isi jumlah tim (paling sedikit 1) atau tabel tim."))
        names = [r["name"] for r in rows]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValidationError(_("Nama tim harus berbeda: %(names)s.", names=", ".join(dup)))
        if not rows and self.default_base is not None:  # "n teams by road from the first base"
            rows = [{"name": _("Tim %(n)s", n=1), "base": self.default_base, "mode": "road"}]
        problems = []
        for r in rows:  # the mode rule: the team's vehicle must start from its base
            if r["base"] is None:
                continue
            problem = roster.vehicle_problem(r["name"], roster.MODE_VEHICLE.get(r["mode"], "car"),
                                             r["base"].name, r["base"].vehicles)
            if problem:
                problems.append(problem.translate(_))
        if problems:
            raise ValidationError(" ".join(problems))


def _bases() -> list[TeamBase]:
    """The bases a new plan may use: the active ones, the default first (archived bases are
    not offered; old plans keep theirs)."""
    return roster.active_bases()


def _prepare_form(form: PlanForm, bases: list[TeamBase], known_codes: set[str]) -> None:
    choices = [choice(b.id, b.name) for b in bases]
    for entry in form.teams.entries:
        entry.form.base.choices = choices
        if entry.form.base.data is None and bases:
            entry.form.base.data = bases[0].id
    form.known_codes = known_codes
    form.bases_by_id = {b.id: b for b in bases}
    form.default_base = bases[0] if bases else None
    form.roster_teams = roster.list_teams()
    if not form.is_submitted():
        if form.time_limit.data is None:
            form.time_limit.data = current_app.config.get("PLAN_TIME_LIMIT_S", 30)
        if form.start_date.data is None:  # next Monday
            today = dt.date.today()
            form.start_date.data = today + dt.timedelta(days=(7 - today.weekday()) % 7 or 7)


def _base_dict(b: TeamBase) -> dict:
    return {"id": b.id, "name": b.name, "lat": b.lat, "lon": b.lon}


def form_to_params(form: PlanForm, dataset, bases: list[TeamBase]) -> P.PlanParams:
    """The checked form as a ``plan-params/1`` request."""
    default = bases[0]
    if not form.bases_by_id:
        form.bases_by_id, form.default_base = {b.id: b for b in bases}, default
    teams = []
    for r in form.team_rows():
        extra = {}
        if r["team"] is not None:  # from the roster: its leader and phone go with it
            extra["roster_id"] = r["team"].id
            if r["team"].leader:
                extra["leader"] = r["team"].leader
            if r["team"].phone:
                extra["phone"] = r["team"].phone
        teams.append(P.team(r["name"], _base_dict(r["base"] or default), mode=r["mode"],
                            kits=r["kits"], max_nights=r["max_nights"], **extra))
    if not teams:
        teams = [P.team(_("Tim %(n)s", n=i + 1), _base_dict(default))
                 for i in range(form.n_teams.data or 0)]
    below_raw = (form.below.data or "").strip().replace(",", ".").rstrip("%").strip()
    holidays, _bad = parse_dates(form.holidays.data)
    pooling = None
    if form.pooling.data:
        pooling = {"radius_km": float(form.pooling_radius.data.strip().replace(",", "."))}
    return P.build(
        name=form.name.data.strip(), dataset_id=dataset.id, teams=teams,
        start_date=form.start_date.data, days=form.days.data,
        work_start=form.work_start.data.strftime("%H:%M"),
        work_end=form.work_end.data.strftime("%H:%M"),
        skip_weekends=bool(form.skip_weekends.data), holidays=holidays,
        below=float(below_raw) / 100.0 if below_raw else None,
        min_unrecorded=form.min_unrecorded.data or 0, turnout=form.turnout.data / 100.0,
        must_visit=parse_codes(form.must_visit.data), exclude=parse_codes(form.exclude.data),
        pooling=pooling, time_limit=form.time_limit.data, travel=settings.travel_choice(),
        seed=form.seed.data if form.seed.data is not None else 1)


# --------------------------------------------------------------------------- views
@bp.route("/rencana", methods=["GET", "POST"])
def index():
    dataset = repository.current_dataset()
    bases = _bases()
    known = set(db.session.scalars(select(Village.code)).all()) if dataset else set()
    form = PlanForm()
    _prepare_form(form, bases, known)
    if not form.is_submitted():
        # villages marked must-visit / exclude on the gap view or the map start the lists
        must, excl = lifecycle.selection_from_flags()
        form.must_visit.data = form.must_visit.data or "\n".join(c for c in must if c in known)
        form.exclude.data = form.exclude.data or "\n".join(c for c in excl if c in known)
    status = 200
    problems: list[str] = []
    if dataset is None:
        problems.append(_("Belum ada data. Impor rekap dan batas desa dulu (atau jalankan planner load-demo)."))
    if not bases:
        problems.append(_("Belum ada pangkalan tim aktif. Tambahkan pangkalan (kantor) di halaman Pangkalan."))
    if form.is_submitted():
        if form.validate() and not problems:
            try:
                params = form_to_params(form, dataset, bases)
            except P.ParamsError as exc:
                problems.append(str(exc))
            else:
                try:
                    job_id = jobs.submit_plan_job(current_app._get_current_object(), params,
                                                  submitted_by=current_user.id)
                except jobs.QueueFull as exc:
                    problems.append(str(exc))
                    status = 429
                else:
                    return redirect(url_for("plans.job", job_id=job_id))
        status = status if status != 200 else 400
    plans = [p for p in plan_store.list_plans()
             if access.team_scope() is None or access.team_scope() in p["team_names"]]
    return render_template("plans/index.html", form=form, plans=plans,
                           dataset=dataset, bases=bases, problems=problems,
                           mode_label=mode_label, team_mode=roster.TEAM_MODE,
                           vehicle_label=lambda v: roster.vehicle_label(v).translate(_)), status


@bp.route("/rencana/job/<int:job_id>")
def job(job_id: int):
    j = jobs.get_job(job_id)
    if j is None:
        abort(404)
    state = jobs.job_state(j)
    if state["status"] == "done" and state["version"] is not None and request.args.get("stay") is None:
        return redirect(url_for("plans.show", plan_id=state["plan_id"], version=state["version"]))
    return render_template("plans/job.html", job=j, state=state,
                           name=(j.params or {}).get("name") or "")


@bp.route("/rencana/job/<int:job_id>/ulang", methods=["POST"])
def job_retry(job_id: int):
    """Run a failed job again (a new job with the same request)."""
    j = jobs.get_job(job_id)
    if j is None:
        abort(404)
    if j.status != "failed" or not FlaskForm().validate_on_submit():
        abort(400)
    try:
        new_id = jobs.retry(current_app._get_current_object(), j, submitted_by=current_user.id)
    except (jobs.QueueFull, pipeline.PlanningError) as exc:
        flash(str(exc), "error")
        return redirect(url_for("plans.job", job_id=job_id))
    return redirect(url_for("plans.job", job_id=new_id))


@bp.route("/rencana/job/<int:job_id>/batal", methods=["POST"])
def job_cancel(job_id: int):
    """Stop a queued or running job (nothing of it is stored; a Celery worker's solve stops)."""
    j = jobs.get_job(job_id)
    if j is None:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if not jobs.cancel(current_app._get_current_object(), job_id, by=current_user.username):
        flash(_("Perhitungan ini sudah selesai; tidak ada yang dibatalkan."), "error")
    return redirect(url_for("plans.job", job_id=job_id, stay=1))


@bp.route("/rencana/job/<int:job_id>.json")
def job_json(job_id: int):
    j = jobs.get_job(job_id)
    if j is None:
        abort(404)
    state = jobs.job_state(j)
    if state["version"] is not None:
        state["result_url"] = url_for("plans.show", plan_id=state["plan_id"], version=state["version"])
    resp = jsonify(state)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _version_or_404(plan_id: int, version: int):
    plan = plan_store.get_plan(plan_id)
    v = plan_store.get_version(plan_id, version) if plan is not None else None
    if v is None or v.result is None:
        abort(404)
    access.require_plan_visible(v.result)
    return plan, v


@bp.route("/rencana/<int:plan_id>")
def latest(plan_id: int):
    v = plan_store.latest_version(plan_id)
    if v is None or not v.result:
        abort(404)
    access.require_plan_visible(v.result)
    return redirect(url_for("plans.show", plan_id=plan_id, version=v.version))


def params_rows(data: dict) -> list[tuple[str, str]]:
    """What a version was made from, as (label, value) rows for the plan page."""
    try:
        p = P.PlanParams.from_dict(data)
    except P.ParamsError:
        return []
    loc = locale()
    yes, no = _("ya"), _("tidak")
    cal, sel = p.calendar, p.selection
    rows = [
        (_("Tanggal mulai"), fmt.date_medium(cal.start_date, loc)),
        (_("Jumlah hari kerja"), fmt.integer(cal.days, loc)),
        (_("Jam kerja"), f"{cal.work_start}–{cal.work_end}"),
        (_("Lewati Sabtu dan Minggu"), yes if cal.skip_weekends else no),
        (_("Hari libur"), ", ".join(fmt.date_medium(h, loc) for h in cal.holidays) or "–"),
        (_("Hanya desa dengan rekam di bawah"), "–" if sel.below is None
         else fmt.percent(sel.below, loc, 0)),
        (_("Belum rekam minimal"), fmt.integer(sel.min_unrecorded, loc)),
        (_("Perkiraan kehadiran"), fmt.percent(sel.turnout, loc, 0)),
        (_("Wajib dikunjungi (kode desa)"), ", ".join(sel.must_visit) or "–"),
        (_("Dikecualikan (kode desa)"), ", ".join(sel.exclude) or "–"),
        (_("Titik kumpul gabungan (pooling)"), no if p.pooling is None else
         _("ya, radius %(km)s", km=fmt.km(p.pooling.radius_km, loc))),
        (_("Batas waktu hitung (detik)"), fmt.integer(p.solver.time_limit, loc)),
        (_("Benih acak (seed)"), str(p.solver.seed)),
    ]
    if p.replan is not None:
        rows.append((_("Dihitung ulang mulai"), fmt.date_medium(p.replan.from_date, loc)))
    return rows


@bp.route("/rencana/<int:plan_id>/v<int:version>")
def show(plan_id: int, version: int):
    plan, v = _version_or_404(plan_id, version)
    result = v.result
    dataset = repository.get_dataset(plan.dataset_id) if plan.dataset_id else None
    share_links = []
    if access.can("share.revoke", "POST"):
        link = link_for(plan_id, version)
        share_links = [(f"{td.team_name} — {fmt.date_medium(td.date, locale())}", link(td))
                       for td in plan_json.team_days(result)]
    replan_churn = None
    if v.replanned_from and v.version > 1:
        prev = plan_store.get_version(plan_id, v.version - 1)
        if prev is not None and prev.result:
            replan_churn = plandiff.churn(plandiff.diff_plans(prev.result, result,
                                                              v.replanned_from))
    reports = field.latest_results([x.id for x in plan.versions])
    states = lifecycle.stop_states(v, reports)
    dates = plan_json.dates(result)
    weeks = sorted({(dt.date.fromisoformat(d) - dt.timedelta(days=dt.date.fromisoformat(d).weekday()))
                    .isoformat() for d in dates})
    village_options = sorted({(ref.site_code, ref.stop.get("name") or ref.site_code)
                              for ref in plan_json.iter_stops(result)}
                             | {(d.get("site_code"), d.get("name") or d.get("site_code"))
                                for d in result.get("dropped") or []}, key=lambda x: (x[1], x[0]))
    return render_template(
        "plans/show.html", plan=plan, version=v, result=result,
        summary=plan_json.summary(result), versions=plan_store.list_versions(plan_id),
        params=v.params or {}, param_rows=params_rows(v.params or {}), dataset=dataset,
        share_links=share_links,
        mode_label=mode_label, reason_label=reason_label,
        states=states, state_counts=lifecycle.counts(states), merged_stops=plan_json.merged_stops,
        state_label=stops_web.state_label, cancel_label=stops_web.cancel_label,
        cancel_reasons=lifecycle.CANCEL_REASONS, weeks=weeks, dates=dates,
        village_locks=lifecycle.village_date_locks(plan_id), village_options=village_options,
        can_mark=access.can("stops.set_state", "POST"), replan_churn=replan_churn,
    )


@bp.route("/rencana/<int:plan_id>/v<int:version>.json")
def download(plan_id: int, version: int):
    plan, v = _version_or_404(plan_id, version)
    body = json.dumps(v.result, ensure_ascii=False, indent=1)
    return body, 200, {
        "Content-Type": "application/json; charset=utf-8",
        "Content-Disposition": f'attachment; filename="rencana-{plan_id}-v{version}.json"',
    }


@bp.route("/rencana/<int:plan_id>/v<int:version>/map.html")
def map_document(plan_id: int, version: int):
    plan, v = _version_or_404(plan_id, version)
    dataset = repository.get_dataset(plan.dataset_id) if plan.dataset_id else None
    cov = coverage.coverage(dataset=dataset)
    if cov is None or not len(cov.frame):
        abort(404)
    m = coverage.build_map(cov, labels=map_labels(), plan=v.result, asset_base=asset_base(),
                           locale=locale())
    return map_response(m)
