"""Several regencies in one installation (``planner.regencies``): a user of regency A never sees
regency B's villages, datasets, bases, plans, versions or jobs — on the pages, in the JSON, by
guessing ids — and a single-regency install notices nothing.

The installation: the tiny FICTIONAL regency (tests/fixtures_planning.py, codes 99.01.*) loaded
first, as an office would have it, then ``regencies.create`` adds regency B (the same villages
moved east, codes 99.02.*): the first rows become the default regency "utama". Each regency
gets a plan solved through the pipeline within it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from fixtures_auth import ensure_user
from fixtures_planning import tiny_regency

B_NAME = "Kabupaten Seberang (fiktif)"


def _load_b(app) -> None:
    from planner import repository

    gdf, recap = tiny_regency()
    gdf = gdf.copy()
    gdf["code"] = gdf["code"].str.replace("99.01.", "99.02.", regex=False)
    gdf["name"] = [f"Desa Seberang {i + 1}" for i in range(len(gdf))]
    gdf["stop_lon"] = gdf["stop_lon"] + 1.5
    gdf["geometry"] = gdf.geometry.translate(xoff=1.5)
    recap = recap.copy()
    recap["code"] = recap["code"].str.replace("99.01.", "99.02.", regex=False)
    repository.replace_villages(gdf, source_file="seberang.geojson", fictional=True)
    repository.add_dataset(recap, name="Data Seberang (fiktif)", snapshot_date=dt.date(2026, 10, 31),
                           recap_file="seberang.csv", fictional=True, synthetic=True,
                           basemap=False)
    repository.set_default_base("Kantor Seberang (fiktif)", -2.54, 114.45)


def _client(app, user):
    """A test client logged in as ``user`` (``ensure_user``'s (id, session id, name))."""
    client = app.test_client(login_as=None)
    with client.session_transaction() as s:
        s["_user_id"] = user[1]
        s["_fresh"] = True
    return client


def _plan(name: str) -> tuple[int, int]:
    from planner import pipeline

    params = pipeline.sample_params(time_limit=1).replace(name=name)
    version = pipeline.run(params, workers=1)
    return version.plan_id, version.id


@pytest.fixture
def province(app, load_tiny):
    from planner import audit, jobs, regencies
    from planner.extensions import db
    from planner.models import PlanJob, User

    load_tiny(app)
    out = {}
    with app.app_context():
        with audit.acting_as(None, "test"):
            out["plan_a"] = _plan("Rencana Kabupaten A")
            b = regencies.create("99.02", B_NAME)
            a = regencies.default()
            out["a"], out["b"] = a.id, b.id
            with regencies.within(b):
                _load_b(app)
                out["plan_b"] = _plan("Rencana Kabupaten B")
                job = PlanJob(status="failed", params={}, error="uji", backend="local")
                db.session.add(job)
                db.session.commit()
                out["job_b"] = job.id
                assert jobs.get_job(job.id).regency_id == b.id
        users = {"a": ensure_user(app, "coordinator", username="koordinator-a"),
                 "b": ensure_user(app, "coordinator", username="koordinator-b"),
                 "ab": ensure_user(app, "coordinator", username="koordinator-ab"),
                 "none": ensure_user(app, "viewer", username="tamu")}
        for key, regs in (("a", [a]), ("b", [b]), ("ab", [a, b])):
            for r in regs:
                regencies.grant(db.session.get(User, users[key][0]), r)
        out["users"] = users
        db.session.remove()
    return out


def test_the_first_rows_become_the_default_regency(app, province):
    from sqlalchemy import text

    from planner.extensions import db

    with app.app_context():
        rows = db.session.execute(text(
            "SELECT r.code, COUNT(v.id) FROM villages v JOIN regencies r ON r.id = v.regency_id "
            "GROUP BY r.code ORDER BY r.code")).all()
        assert [tuple(r) for r in rows] == [("99.02", 10), ("utama", 10)]
        assert db.session.execute(text(
            "SELECT COUNT(*) FROM plans WHERE regency_id IS NULL")).scalar() == 0


def test_a_user_of_regency_a_never_sees_regency_b(app, province):
    client = _client(app, province["users"]["a"])
    plan_b, version_b = province["plan_b"]
    plan_a, _ = province["plan_a"]
    page = client.get("/rencana").get_data(as_text=True)
    assert "Rencana Kabupaten A" in page and "Rencana Kabupaten B" not in page
    assert "Data Seberang" not in page and "Kantor Seberang" not in page
    # B's plan, its version, its map, its sheets and B's job: as if they did not exist
    for url in (f"/rencana/{plan_b}", f"/rencana/{plan_b}/v1", f"/rencana/job/{province['job_b']}",
                f"/rencana/job/{province['job_b']}.json"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/rencana/{plan_a}/v1").status_code == 200
    gap = client.get("/").get_data(as_text=True)
    assert "99.01.01.2001" in gap and "99.02." not in gap and "Desa Seberang" not in gap
    # the chooser offers only A (nothing to choose: one regency)
    assert "Seberang" not in client.get("/kabupaten").get_data(as_text=True)
    assert client.post("/kabupaten", data={"regency_id": province["b"]}).status_code == 403
    assert client.get(f"/rencana/{plan_b}").status_code == 404


def test_a_user_of_regency_b_sees_only_b(app, province):
    client = _client(app, province["users"]["b"])
    page = client.get("/rencana").get_data(as_text=True)
    assert "Rencana Kabupaten B" in page and "Rencana Kabupaten A" not in page
    assert client.get(f"/rencana/{province['plan_a'][0]}").status_code == 404
    assert client.get(f"/rencana/job/{province['job_b']}.json").status_code == 200
    gap = client.get("/").get_data(as_text=True)
    assert "Desa Seberang" in gap and "99.01.01.2001" not in gap
    assert B_NAME in client.get("/rencana").get_data(as_text=True)  # the header names it


def test_a_user_of_both_chooses_first_and_switches(app, province):
    client = _client(app, province["users"]["ab"])
    r = client.get("/rencana")
    assert r.status_code == 302 and "/kabupaten" in r.headers["Location"]
    chooser = client.get(r.headers["Location"]).get_data(as_text=True)
    assert B_NAME in chooser and "Kabupaten utama" in chooser
    r = client.post("/kabupaten", data={"regency_id": province["b"], "next": "/rencana"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/rencana")
    page = client.get("/rencana").get_data(as_text=True)
    assert "Rencana Kabupaten B" in page and "Rencana Kabupaten A" not in page
    client.post("/kabupaten", data={"regency_id": province["a"], "next": "//evil.example/"})
    page = client.get("/rencana").get_data(as_text=True)
    assert "Rencana Kabupaten A" in page and "Rencana Kabupaten B" not in page
    assert client.post("/kabupaten", data={"regency_id": "x"}).status_code == 400


def test_a_user_without_a_regency_is_refused(app, province):
    client = _client(app, province["users"]["none"])
    assert client.get("/rencana").status_code == 403
    assert client.get("/").status_code == 403


def test_admins_reach_every_regency(app, province):
    client = app.test_client()  # the test admin
    r = client.get("/rencana")
    assert r.status_code == 302 and "/kabupaten" in r.headers["Location"]
    client.post("/kabupaten", data={"regency_id": province["b"]})
    assert client.get(f"/rencana/{province['plan_b'][0]}/v1").status_code == 200
    assert client.get(f"/rencana/{province['plan_a'][0]}/v1").status_code == 404


def test_commands_work_within_planner_regency(app, province, monkeypatch):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["regency", "list"]).output
    assert "utama" in out and "99.02" in out and "10 villages" in out
    monkeypatch.setenv("PLANNER_REGENCY", "99.02")
    out = runner.invoke(args=["rank", "--limit", "20"]).output
    assert "Desa Seberang" in out and "Desa Uji" not in out
    monkeypatch.setenv("PLANNER_REGENCY", "nope")
    r = runner.invoke(args=["rank"])
    assert r.exit_code != 0 and "no such regency" in r.output


def test_one_regency_notices_nothing(app, tiny_app, client):
    """No regency added: no chooser, no scope, everything as before."""
    from planner import regencies

    with app.app_context():
        assert regencies.count() == 0 and not regencies.is_multi()
    assert client.get("/rencana").status_code == 200
    assert "regency-name" not in client.get("/rencana").get_data(as_text=True)
    assert "Hanya ada satu kabupaten" in client.get("/kabupaten").get_data(as_text=True)
    assert client.post("/kabupaten", data={"regency_id": 1}).status_code == 403


def test_regency_codes_are_checked(app):
    from planner import regencies

    with app.app_context():
        with pytest.raises(regencies.RegencyError):
            regencies.create("bad code!", "X")
        regencies.create("62.02", "Kabupaten Uji")
        with pytest.raises(regencies.RegencyError, match="sudah dipakai"):
            regencies.create("62.02", "Lagi")
        assert [r.code for r in regencies.all_regencies()] == ["utama", "62.02"]


def test_batch_all_leaves_out_an_empty_default_regency(app):
    """A province set up from nothing: the first ``regency add`` makes the default regency
    with nothing in it; ``--regencies all`` plans the regencies added, not that empty one
    (named, it is still chosen)."""
    from planner import batch, regencies

    with app.app_context():
        regencies.create("62.02", "Kabupaten Uji")
        regencies.create("62.03", "Kabupaten Uji Dua")
        with regencies.within(None):
            assert [r.code for r in batch.choose(["all"])] == ["62.02", "62.03"]
            assert [r.code for r in batch.choose(["utama"])] == ["utama"]


def test_batch_plans_every_regency_and_writes_the_summary_and_sheets(app, province, tmp_path):
    """``planner batch --regencies all`` (local jobs): one plan per regency, each within its
    own regency, the province XLSX and one day-sheet PDF per regency."""
    import json

    from openpyxl import load_workbook
    from sqlalchemy import text

    from planner import pipeline
    from planner.extensions import db
    from planner.params import build, team

    template = build(name="Minggu depan", teams=[team("Tim 1", {"name": "x", "lat": 0, "lon": 0})],
                     start_date=pipeline.next_monday(), days=2, time_limit=1, seed=1).to_dict()
    template.pop("dataset_id", None)
    template["teams"][0]["base"] = "default"
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps(template))
    out = tmp_path / "batch"
    r = app.test_cli_runner().invoke(args=["batch", "--regencies", "all", "--params",
                                           str(params_file), "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = list(load_workbook(out / "provinsi.xlsx").active.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:3]] == ["utama", "99.02"] and rows[3][1] == "Jumlah"
    assert all(row[2] == "done" and row[3] > 0 and row[6] > 0 for row in rows[1:3]), rows
    for code in ("utama", "99.02"):
        pdf = (out / f"{code}-lembar-harian.pdf").read_bytes()
        assert pdf.startswith(b"%PDF")
    with app.app_context():
        made = db.session.execute(text(
            "SELECT r.code, p.name FROM plans p JOIN regencies r ON r.id = p.regency_id "
            "WHERE p.name LIKE 'Minggu depan%' ORDER BY r.code")).all()
    assert [tuple(m) for m in made] == [("99.02", f"Minggu depan \u2014 {B_NAME}"),
                                        ("utama", "Minggu depan \u2014 Kabupaten utama")]
    # B's plan was solved on B's villages only
    with app.app_context():
        res = db.session.execute(text(
            "SELECT v.result FROM plan_versions v JOIN plans p ON p.id = v.plan_id "
            f"WHERE p.name = 'Minggu depan \u2014 {B_NAME}'")).scalar()
    doc = json.loads(res) if isinstance(res, str) else res
    codes = {s["site_code"] for t in doc["teams"] for d in t["days"] for s in d["stops"]}
    assert codes and all(c.startswith("99.02.") for c in codes), codes
    r = app.test_cli_runner().invoke(args=["batch", "--regencies", "nope", "--params",
                                           str(params_file), "--out", str(out)])
    assert r.exit_code != 0 and "tidak dikenal" in r.output


def test_the_province_page_shows_the_regencies_of_the_account(app, province):
    from io import BytesIO

    import pypdf
    from openpyxl import load_workbook

    admin = app.test_client()
    admin.post("/kabupaten", data={"regency_id": province["a"]})
    page = admin.get("/provinsi").get_data(as_text=True)
    assert "Rencana Kabupaten A" in page and "Rencana Kabupaten B" in page and B_NAME in page
    r = admin.get("/provinsi.xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(BytesIO(r.data)).active.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:3]] == ["utama", "99.02"] and rows[1][3] > 0
    # each regency's day sheets from the province page: B's plan, on B's villages
    assert "/provinsi/99.02/lembar.pdf" in page
    r = admin.get("/provinsi/99.02/lembar.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf", r.status_code
    assert r.headers["Content-Disposition"].endswith("99.02-lembar-harian.pdf")
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(BytesIO(r.data)).pages)
    assert "Rencana Kabupaten B" in text
    assert admin.get("/provinsi/99.99/lembar.pdf").status_code == 404
    user_a = _client(app, province["users"]["a"])
    page = user_a.get("/provinsi").get_data(as_text=True)
    assert "Rencana Kabupaten A" in page and "Rencana Kabupaten B" not in page
    assert B_NAME not in page
    # … and another regency's sheets stay out of reach
    assert user_a.get("/provinsi/99.02/lembar.pdf").status_code == 404


def test_settings_belong_to_their_regency(app, province):
    """The travel model and the network settings (speeds, river mouths) are a regency's own;
    the public address is the installation's. The default regency keeps the plain keys, so a
    single-regency office's stored settings are untouched."""
    from planner import regencies, settings
    from planner.extensions import db
    from planner.models import Setting

    with app.app_context():
        b = db.session.get(regencies.Regency, province["b"])
        a = db.session.get(regencies.Regency, province["a"])
        with regencies.within(b):
            settings.put("travel", {"source": "builtin", "settings": {"road_speed_kmh": 30.0}})
            settings.put("public_base_url", "https://planner.example.org")
            assert settings.get("travel")["settings"] == {"road_speed_kmh": 30.0}
        with regencies.within(a):
            assert settings.get("travel") == settings.DEFAULTS["travel"]
            assert not settings.is_set("travel")
            assert settings.get("public_base_url") == "https://planner.example.org"
            settings.put("travel", {"source": "builtin", "settings": {"road_speed_kmh": 50.0}})
        with regencies.within(b):
            assert settings.get("travel")["settings"] == {"road_speed_kmh": 30.0}
        keys = {row.key for row in db.session.query(Setting).all()}
        assert {"travel", f"travel@{b.id}", "public_base_url"} <= keys
        assert f"public_base_url@{b.id}" not in keys


def test_every_page_of_regency_a_shows_nothing_of_b(app, province):
    """Every GET page and download of the app (the route table of tests/test_access.py), as a
    coordinator of regency A with A's plan: B's villages, office, dataset and plan never show
    (text answers: HTML, JSON, CSV, GeoJSON, GPX, KML; XLSX read back with openpyxl)."""
    import io
    import zipfile

    from test_access import url_for_rule

    from planner import plan_json, plan_store
    from planner.extensions import db
    from planner.models import PlanJob

    client = _client(app, province["users"]["a"])
    plan_a, _ = province["plan_a"]
    with app.app_context():
        from planner import regencies

        with regencies.within(db.session.get(regencies.Regency, province["a"])):
            v = plan_store.get_version(plan_a, 1)
            td = plan_json.team_days(v.result)[0]
            job = db.session.query(PlanJob).filter_by(plan_id=plan_a).first()
    values = {"plan_id": plan_a, "version": 1, "job_id": job.id if job else 1,
              "team_index": td.team_no, "date": td.date, "a": 1, "b": 1, "fmt": "gpx",
              "user_id": 1, "token": "x", "code": "99.01.01.2001", "filename": "app.css",
              "team_name": td.team_name}
    foreign = ("Seberang", "99.02.", "Rencana Kabupaten B")
    seen = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("auth.logout", "static"):
            continue
        url = url_for_rule(app, rule, values)
        r = client.get(url)
        assert r.status_code < 500, (url, r.status_code)
        body = r.get_data()
        if body[:2] == b"PK":  # XLSX: the shared strings and sheets
            with zipfile.ZipFile(io.BytesIO(body)) as z:
                text = " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist()
                                if n.endswith(".xml"))
        elif body[:4] == b"%PDF" or body[:4] == b"\x89PNG":
            continue
        else:
            text = body.decode("utf-8", "replace")
        for word in foreign:
            assert word not in text, (url, word)
        seen += 1
    assert seen > 40


def test_admins_add_regencies_and_give_access_on_the_users_page(app, tiny_app):
    """The users page: an admin adds a regency (the first one also makes the default regency
    that holds what the office had), gives an account access by ticking it, and takes it back;
    every change is in the audit log; a bad code is refused with the reason, nothing stored."""
    from planner import accounts, regencies
    from planner.extensions import db
    from planner.models import AuditEvent

    admin = app.test_client()  # the test admin
    page = admin.get("/admin/pengguna").get_data(as_text=True)
    assert 'id="new-regency"' in page and 'id="user-regencies"' not in page
    r = admin.post("/admin/kabupaten", data={"code": "bad code!", "name": "X"})
    assert r.status_code == 400 and "Kode kabupaten" in r.get_data(as_text=True)
    with app.app_context():
        assert regencies.count() == 0
    r = admin.post("/admin/kabupaten", data={"code": "99.02", "name": "Kabupaten <b>Seberang</b>"})
    assert r.status_code == 302
    user = ensure_user(app, "coordinator", username="koordinator-seberang")
    with app.app_context():
        assert [x.code for x in regencies.all_regencies()] == ["utama", "99.02"]
        b = regencies.by_code("99.02")
        main = regencies.default()
        b_id, main_id = b.id, main.id
    admin.post("/kabupaten", data={"regency_id": main_id})  # several now: the admin picks one
    page = admin.get("/admin/pengguna").get_data(as_text=True)
    assert 'id="user-regencies"' in page
    assert "Kabupaten &lt;b&gt;Seberang&lt;/b&gt;" in page and "<b>Seberang" not in page
    r = admin.post(f"/admin/pengguna/{user[0]}/kabupaten", data={"regency": [str(b_id)]})
    assert r.status_code == 302
    with app.app_context():
        u = accounts.get(user[0])
        assert [x.code for x in regencies.allowed(u)] == ["99.02"]
    coordinator = _client(app, user)
    assert "Desa Uji" not in coordinator.get("/").get_data(as_text=True)  # B is empty
    admin.post(f"/admin/pengguna/{user[0]}/kabupaten", data={"regency": [str(main_id)]})
    with app.app_context():
        assert [x.code for x in regencies.allowed(accounts.get(user[0]))] == ["utama"]
        actions = [e.action for e in db.session.query(AuditEvent).order_by(AuditEvent.id)]
        assert actions.count("regency.add") == 1
        assert actions.count("regency.grant") == 2 and actions.count("regency.revoke") == 1
    assert "Desa Uji" in coordinator.get("/").get_data(as_text=True)
