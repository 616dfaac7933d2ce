"""Route audit: every rule of ``app.url_map``, for an anonymous visitor and for each role, is
allowed or refused exactly as written HERE (independently of ``planner.web.access.POLICY``).
A new route fails this test until someone decides who may use it. Also: CSRF on every
state-changing request, security headers, team leads limited to their own team, share links,
unknown and huge ids."""

from __future__ import annotations

import re

import pytest

from planner import jobs, pipeline, plan_json, plan_store, sharing
from planner.extensions import db
from planner.models import PlanJob

A, C, T, V = "admin", "coordinator", "team_lead", "viewer"
ALL = {A, C, T, V}
OFFICE = {A, C, V}
COORD = {A, C}
PUBLIC = "public"

#: endpoint -> {method: roles allowed} (PUBLIC: anyone, no login)
EXPECTED: dict[str, dict[str, set | str]] = {
    "static": {"GET": PUBLIC},
    "auth.login": {"GET": PUBLIC, "POST": PUBLIC},
    "auth.logout": {"POST": ALL},
    "auth.password": {"GET": ALL, "POST": ALL},
    "share.teamlead": {"GET": PUBLIC},
    "share.teamlead_map": {"GET": PUBLIC},
    "share.sheets_pdf": {"GET": PUBLIC},
    "share.export": {"GET": PUBLIC},
    "share.revoke": {"POST": COORD},
    "gap.index": {"GET": OFFICE},
    "gap.export": {"GET": OFFICE},
    "maps.coverage": {"GET": OFFICE},
    "maps.map_document": {"GET": OFFICE},
    "imports.index": {"GET": COORD},
    "imports.villages": {"POST": COORD},
    "imports.recap": {"POST": COORD},
    "plans.index": {"GET": ALL, "POST": COORD},
    "plans.job": {"GET": OFFICE},
    "plans.job_json": {"GET": OFFICE},
    "plans.job_retry": {"POST": COORD},
    "plans.job_cancel": {"POST": COORD},
    "plans.latest": {"GET": ALL},
    "plans.show": {"GET": ALL},
    "plans.download": {"GET": ALL},
    "plans.map_document": {"GET": ALL},
    "sheets.sheets_pdf": {"GET": ALL},
    "sheets.sheets_html": {"GET": ALL},
    "sheets.export": {"GET": ALL},
    "sheets.teamlead": {"GET": ALL},
    "sheets.teamlead_map": {"GET": ALL},
    "field.results": {"GET": {A, C, T}, "POST": {A, C, T}},
    "field.progress": {"GET": ALL},
    "field.replan": {"POST": COORD},
    "field.diff": {"GET": ALL},
    "admin.users": {"GET": {A}, "POST": {A}},
    "admin.user_update": {"POST": {A}},
    "admin.user_regencies": {"POST": {A}},
    "admin.regency_add": {"POST": {A}},
    "admin.user_password": {"POST": {A}},
    "admin.audit": {"GET": {A}},
    "admin.audit_csv": {"GET": {A}},
    # --- set-up checklist and settings (issue 10)
    "settings.travel": {"GET": OFFICE, "POST": COORD},
    "settings.general": {"GET": OFFICE, "POST": COORD},
    # --- bases and teams (issue 10)
    "bases.index": {"GET": OFFICE, "POST": COORD},
    "bases.map_document": {"GET": OFFICE},
    "bases.remove": {"POST": COORD},
    "bases.archive": {"POST": COORD},
    "bases.restore": {"POST": COORD},
    "bases.make_default": {"POST": COORD},
    "teams.index": {"GET": OFFICE, "POST": COORD},
    "teams.archive": {"POST": COORD},
    "teams.restore": {"POST": COORD},
    # --- village attributes (issue 10)
    "villages.edit": {"GET": OFFICE, "POST": COORD},
    "villages.stop": {"POST": COORD},
    "villages.hints": {"GET": OFFICE, "POST": COORD},
    "villages.import_attributes": {"POST": COORD},
    # --- data management (issue 10)
    "datasets.index": {"GET": OFFICE},
    "datasets.activate": {"POST": COORD},
    "datasets.rename": {"POST": COORD},
    "datasets.delete": {"GET": COORD, "POST": COORD},
    "datasets.plan_rename": {"POST": COORD},
    "datasets.plan_archive": {"POST": COORD},
    "datasets.plan_delete": {"GET": COORD, "POST": COORD},
    # --- campaign progress (issue 11)
    "campaign.index": {"GET": OFFICE},
    "campaign.png": {"GET": OFFICE},
    "campaign.xlsx": {"GET": OFFICE},
    # --- team-day messages and results import (issue 11)
    "sheets.day_message": {"GET": ALL},
    # --- stop lifecycle and locks (issue 11)
    "stops.set_state": {"POST": COORD},
    "stops.lock_village": {"POST": COORD},
    "stops.unlock_village": {"POST": COORD},
    "stops.village_flag": {"POST": COORD},
    # --- road and river network, piers, calibration (issue 12)
    "network.index": {"GET": OFFICE},
    "network.map_document": {"GET": OFFICE},
    "network.upload": {"POST": COORD},
    "network.remove": {"POST": COORD},
    "network.pier_add": {"POST": COORD},
    "network.pier_accept": {"POST": COORD},
    "network.pier_remove": {"POST": COORD},
    "network.mouth": {"POST": COORD},
    "network.calibration": {"GET": OFFICE, "POST": COORD},
    # --- regencies, the province summary (issue 14)
    "regency.choose": {"GET": ALL, "POST": ALL},
    "regency.province": {"GET": OFFICE},
    "regency.province_xlsx": {"GET": OFFICE},
    "regency.province_sheets": {"GET": OFFICE},
}


@pytest.fixture(scope="module")
def site(tmp_path_factory, make_app, load_tiny):
    """The tiny regency with a stored plan (teams "Tim 1", "Tim 2"), a job and a victim account."""
    app = make_app(tmp_path_factory.mktemp("access"), PLAN_WORKERS=1)
    load_tiny(app)
    with app.app_context():
        params = pipeline.sample_params(time_limit=1)
        params = params.replace(name="Akses", teams=params.teams[:2])
        version = pipeline.run(params, workers=1)
        td = plan_json.team_days(version.result)[0]
        job = PlanJob(status="done", params=params.to_dict(), plan_id=version.plan_id,
                      version_id=version.id)
        db.session.add(job)
        db.session.commit()
        from planner import accounts

        victim = accounts.create("korban", "kata-sandi-korban-1", "viewer")
        token = sharing.make_token(app.secret_key, plan_store.get_plan(version.plan_id),
                                   version.version, td.team_no, td.date)
        values = {"plan_id": version.plan_id, "version": version.version, "job_id": job.id,
                  "team_index": td.team_no, "date": td.date, "a": 1, "b": version.version,
                  "fmt": "gpx", "user_id": victim.id, "token": token, "code": "99.01.01.2001",
                  "filename": "app.css", "team_name": td.team_name}
    yield app, values


def url_for_rule(app, rule, values) -> str:
    args = {k: values[k] for k in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **args)


def test_every_route_is_classified(site):
    app, _values = site
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert endpoints == set(EXPECTED), (
        f"unclassified routes: {sorted(endpoints - set(EXPECTED))}; "
        f"gone: {sorted(set(EXPECTED) - endpoints)}")
    for rule in app.url_map.iter_rules():
        methods = rule.methods - {"HEAD", "OPTIONS"}
        assert methods == set(EXPECTED[rule.endpoint]), rule.endpoint


def _cases(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


@pytest.mark.parametrize("who", [None, A, C, T, V])
def test_route_audit(site, client_as, who):
    """Anonymous visitors reach only the login page, static files and share links; each role
    exactly its pages (allowed: anything but a login redirect / 401 / 403)."""
    app, values = site
    refused, allowed = [], []
    for rule, method in _cases(app):
        url = url_for_rule(app, rule, values)
        # a fresh client per request: logging out or resetting a password harms nothing
        client = client_as(app, who, team="Tim 1" if who == T else None)
        r = client.open(url, method=method, data={})
        expected = EXPECTED[rule.endpoint][method]
        may = expected == PUBLIC or (who is not None and who in expected)
        to_login = r.status_code in (301, 302, 303) and "/masuk" in r.headers.get("Location", "")
        # logging out ends at the login page: that is its job, not a refusal
        denied = r.status_code in (401, 403) or (
            to_login and rule.endpoint not in ("auth.login", "auth.logout"))
        if may:
            assert not denied, f"{who} {method} {url} refused ({r.status_code})"
            assert r.status_code < 500, f"{who} {method} {url} → {r.status_code}"
            allowed.append(rule.endpoint)
        else:
            if who is None:
                assert to_login or r.status_code == 401, f"anonymous {method} {url} → {r.status_code}"
            else:
                assert r.status_code == 403, f"{who} {method} {url} → {r.status_code}"
            refused.append(rule.endpoint)
    if who is None:
        assert set(allowed) == {e for e, m in EXPECTED.items()
                                if any(v == PUBLIC for v in m.values())}


def test_json_endpoints_answer_401_not_a_redirect(site, client_as):
    app, values = site
    r = client_as(app, None).get(f"/rencana/job/{values['job_id']}.json")
    assert r.status_code == 401 and r.is_json


def test_post_without_csrf_token_is_refused_everywhere(tmp_path, make_app, client_as):
    """Every state-changing route refuses a request without the CSRF token (the login form
    included), for a logged-in admin: the token, not the role, is what is missing."""
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    values = {"plan_id": 1, "version": 1, "user_id": 1, "job_id": 1, "code": "99.01.01.2001"}
    posted = 0
    for rule, method in _cases(app):
        if method != "POST":
            continue
        url = url_for_rule(app, rule, values)
        r = client_as(app, A).post(url, data={"x": "1"})
        assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True), (url, r.status_code)
        r = client_as(app, A).post(url, json={"x": 1})
        assert r.status_code == 400, (url, "json", r.status_code)
        posted += 1
    assert posted >= 10


def test_security_headers_and_error_pages(site, client_as, monkeypatch, caplog):
    app, values = site
    client = client_as(app, A)
    r = client.get("/")
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and "default-src 'self'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "SAMEORIGIN"
    # map pages live with the CSP: their scripts come from this server only
    doc = client.get(f"/rencana/{values['plan_id']}/v{values['version']}/map.html")
    assert doc.status_code == 200 and "Content-Security-Policy" in doc.headers
    assert not re.search(r"""<script[^>]+src=["']https?://""", doc.get_data(as_text=True))
    # ids beyond a database integer are simply not found
    for url in ("/rencana/99999999999999999999/v1", "/rencana/1/v99999999999999999999",
                "/rencana/job/18446744073709551617.json", "/t/1/1/99999999999/2026-12-01",
                "/admin/pengguna/99999999999999"):
        resp = client.get(url) if "pengguna" not in url else client.post(url)
        assert resp.status_code == 404, url
    # an unexpected error: a page with an id, the same id in the log, no trace
    import planner.web.gap as gap

    def boom(*a, **k):
        raise RuntimeError("rahasia internal")

    monkeypatch.setattr(gap.coverage, "coverage", boom)
    r = client.get("/")
    text = r.get_data(as_text=True)
    assert r.status_code == 500 and "rahasia internal" not in text and "Traceback" not in text
    error_id = re.search(r"kode ([0-9a-f]{10})", text).group(1)
    assert error_id in caplog.text and "rahasia internal" in caplog.text


# --------------------------------------------------------------------------- team leads
def test_team_lead_sees_only_their_team(site, client_as):
    app, v = site
    lead = client_as(app, T, team=v["team_name"])
    other = client_as(app, T, team="Tim Lain")
    pid, ver = v["plan_id"], v["version"]
    with app.app_context():
        result = plan_store.get_version(pid, ver).result
    mine = plan_json.find_team(result, v["team_name"])[0]
    theirs = 2 if mine == 1 else 1
    day = v["date"]
    assert lead.get(f"/t/{pid}/{ver}/{mine}/{day}").status_code == 200
    assert lead.get(f"/t/{pid}/{ver}/{theirs}/{day}").status_code in (403, 404)
    assert lead.get(f"/rencana/{pid}/v{ver}/lembar.pdf?team={theirs}").status_code == 403
    r = lead.get(f"/rencana/{pid}/v{ver}/ekspor.csv")  # no team given: their own team only
    assert r.status_code == 200
    assert {row.split(",")[1] for row in r.get_data(as_text=True).splitlines()[1:]} <= {v["team_name"]}
    assert lead.get(f"/rencana/{pid}/v{ver}/hasil?team={v['team_name']}&day={day}").status_code == 200
    assert lead.post(f"/rencana/{pid}/v{ver}/hasil?team=Tim%20{theirs}&day={day}",
                     data={"outcome-0": "done", "actual-0": "1"}).status_code in (403, 404)
    assert "Akses" in lead.get("/rencana").get_data(as_text=True)
    # a team lead of a team that is not in the plan sees neither the plan nor its pages
    assert "Akses" not in other.get("/rencana").get_data(as_text=True)
    assert other.get(f"/rencana/{pid}/v{ver}").status_code == 403
    # and no one's home page: the gap view is for the office
    assert lead.get("/").status_code == 403


# --------------------------------------------------------------------------- share links
def test_share_links_work_without_an_account_and_can_be_revoked(site, client_as):
    app, v = site
    anon = client_as(app, None)
    with app.app_context():  # (the route audit may have revoked the fixture's token)
        token = sharing.make_token(app.secret_key, plan_store.get_plan(v["plan_id"]),
                                   v["version"], v["team_index"], v["date"])
    page = anon.get(f"/s/{token}")
    assert page.status_code == 200 and page.headers["Cache-Control"].startswith("private")
    text = page.get_data(as_text=True)
    assert f"/s/{token}/ekspor.gpx" in text and f"/s/{token}/lembar.pdf" in text
    assert "/rencana/" not in text  # nothing behind the login is linked
    assert anon.get(f"/s/{token}/ekspor.gpx").status_code == 200
    assert anon.get(f"/s/{token}/ekspor.csv").status_code == 404  # phones: GPX/KML only
    pdf = anon.get(f"/s/{token}/lembar.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert anon.get(f"/s/{token}/peta.html").status_code == 200
    # forged and tampered tokens are simply not found
    assert anon.get(f"/s/{token[:-2]}xx").status_code == 404
    assert anon.get("/s/bukan-token").status_code == 404
    with app.app_context():
        plan = plan_store.get_plan(v["plan_id"])
        forged = sharing.URLSafeSerializer("kunci-lain", salt=sharing.SALT).dumps(
            [plan.id, v["version"], v["team_index"], v["date"], plan.share_generation])
    assert anon.get(f"/s/{forged}").status_code == 404
    # revoke (coordinator): the old link stops working, a new one works
    r = client_as(app, C).post(f"/rencana/{v['plan_id']}/bagikan/cabut")
    assert r.status_code == 302
    assert anon.get(f"/s/{token}").status_code == 404
    with app.app_context():
        plan = plan_store.get_plan(v["plan_id"])
        fresh = sharing.make_token(app.secret_key, plan, v["version"], v["team_index"], v["date"])
        from planner.models import AuditEvent

        assert db.session.query(AuditEvent).filter_by(action="plan.share_revoke").count() >= 1
    assert anon.get(f"/s/{fresh}").status_code == 200


def test_plan_page_offers_share_links_to_coordinators_only(site, client_as):
    app, v = site
    url = f"/rencana/{v['plan_id']}/v{v['version']}"
    assert 'id="share-links"' in client_as(app, C).get(url).get_data(as_text=True)
    assert 'id="share-links"' not in client_as(app, V).get(url).get_data(as_text=True)


def test_jobs_remember_who_submitted_them(site, client_as, plan_form_data):
    app, _v = site
    client = client_as(app, C)
    r = client.post("/rencana", data=plan_form_data(days="1", time_limit="1"))
    job_id = int(r.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        from planner import accounts
        from planner.models import AuditEvent

        job = db.session.get(PlanJob, job_id)
        assert job.submitted_by == accounts.by_username(client.user).id
        event = db.session.query(AuditEvent).filter_by(action="plan.create").order_by(
            AuditEvent.id.desc()).first()
        assert event.actor == client.user and event.target == f"plan {job.plan_id} v1"
    assert jobs.EXTENSION_KEY not in app.extensions  # inline in tests: no thread left behind
