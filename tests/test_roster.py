"""Team bases (``/pangkalan``, ``planner base``) and the team roster (``/tim``, ``planner
team``): coordinates checked (Indonesia's extent, swapped lat/lon named), the mode rule, a
used base archived instead of deleted (page and CLI, same message), every change audited,
the plan form picking teams from the roster (leader and phone into the request, the Plan
JSON, the day sheet and the team-lead page), and the set-up checklist's counts.

Real database (migrated), real HTTP through the test client, one real solve (1 s)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from planner import audit, plan_store, repository, roster
from planner.extensions import db
from planner.models import AuditEvent, PlanJob, Team, TeamBase

DATA = Path(__file__).parent / "data"
LEADER = "Budi <b>Santoso</b>"
PHONE = "+62 812-3456-7890"


def events(app, prefix: str) -> list[AuditEvent]:
    with app.app_context():
        rows = audit.events(audit.Filters(action=prefix), limit=None)
        db.session.expunge_all()
        return list(reversed(rows))


def errors(html: str) -> list[str]:
    return re.findall(r'class="field-error">([^<]*)<', html) + re.findall(
        r'class="flash flash-error"[^>]*>\s*(?:<p>)?([^<]*)', html)


# --------------------------------------------------------------------------- pure checks
@pytest.mark.parametrize("lat, lon, field, words", [
    (112.95, -2.54, "lat", ["tertukar", "lintang -2.54, bujur 112.95"]),
    (-2.54, 150.0, "lat", ["di luar Indonesia"]),
    (48.85, 2.35, "lat", ["di luar Indonesia"]),
    (-95.0, 112.0, "lat", ["-90 dan 90"]),
    (None, 112.0, "lat", ["Lintang wajib"]),
    (float("nan"), 112.0, "lat", ["angka desimal"]),
])
def test_coordinates_are_checked(lat, lon, field, words):
    problems = roster.check_coordinates(lat, lon)
    assert problems and problems[0][0] == field
    for w in words:
        assert w in problems[0][1], problems
    assert roster.check_coordinates(-2.54, 112.95) == []
    assert roster.check_coordinates(6.5, 94.0) == [] and roster.check_coordinates(-11.5, 142) == []
    assert roster.parse_number("\u22122,54") == -2.54 and roster.parse_number(" ") is None


def test_vehicle_rule_and_translation():
    msg = roster.vehicle_problem("Tim Sungai", "boat", "Kantor", "car")
    assert "Tim Sungai" in msg and "Kantor" in msg and "hanya untuk mobil" in msg
    assert roster.vehicle_problem("Tim Darat", "car", "Dermaga", "boat") is not None
    assert roster.vehicle_problem("Tim Darat", "car", "Dermaga", "both") is None
    assert roster.vehicle_problem("Tim Campur", "both", "Kantor", "car") is None
    assert roster.vehicle_problem("Tim Campur", "both", "Dermaga", "boat") is None
    # the web translates the msgid, parameters kept (and translated when they are messages)
    seen = []
    assert msg.translate(lambda s, **kw: seen.append((s, kw)) or "EN") == "EN"
    assert seen[0][1] == {"team": "Tim Sungai", "base": "Kantor"}


# --------------------------------------------------------------------------- bases page
def test_bases_page_add_edit_default_with_audit(app, client, client_as):
    r = client.get("/pangkalan")
    assert r.status_code == 200 and 'id="no-bases"' in r.get_data(as_text=True)
    assert 'src="/pangkalan/peta.html"' in r.get_data(as_text=True)
    # typed coordinates, checked; swapped ones are named as such; nothing is stored
    bad = client.post("/pangkalan", data={"name": "Kantor", "lat": "112,95", "lon": "-2,54",
                                          "vehicles": "car"})
    assert bad.status_code == 400 and "tertukar" in bad.get_data(as_text=True)
    bad = client.post("/pangkalan", data={"name": "", "lat": "-2,5", "lon": "160", "vehicles": "x"})
    text = " ".join(errors(bad.get_data(as_text=True)))
    assert "Nama pangkalan wajib" in text and "di luar Indonesia" in text and "Kendaraan" in text
    with app.app_context():
        assert db.session.query(TeamBase).count() == 0
    # Indonesian decimal commas and a Unicode minus are fine; the first base is the default
    r = client.post("/pangkalan", data={"name": "Kantor <Dinas>", "lat": "\u22122,54",
                                        "lon": "112,95", "vehicles": "car"})
    assert r.status_code == 302
    r = client.post("/pangkalan", data={"name": "Dermaga Samuda", "lat": "-3.01",
                                        "lon": "113.1", "vehicles": "both"})
    assert r.status_code == 302
    dup = client.post("/pangkalan", data={"name": "dermaga samuda", "lat": "-3", "lon": "113",
                                          "vehicles": "boat"})
    assert dup.status_code == 400 and "Sudah ada pangkalan" in dup.get_data(as_text=True)
    with app.app_context():
        office = roster.find_base("Kantor <Dinas>")
        pier = roster.find_base("dermaga samuda")
        assert (office.lat, office.lon, office.is_default) == (-2.54, 112.95, True)
        assert pier.vehicles == "both" and not pier.is_default
        office_id, pier_id = office.id, pier.id
    page = client.get("/pangkalan").get_data(as_text=True)
    assert "Kantor &lt;Dinas&gt;" in page and "<Dinas>" not in page
    # the map document draws the bases (escaped) and loads Leaflet from this server
    doc = client.get("/pangkalan/peta.html").get_data(as_text=True)
    assert "/static/vendor/leaflet-1.9.4/leaflet.js" in doc and "<Dinas>" not in doc
    assert "window.plannerMap" in doc
    # edit (the form is filled), then make the pier the default
    form = client.get(f"/pangkalan?ubah={pier_id}").get_data(as_text=True)
    assert 'value="Dermaga Samuda"' in form and 'value="-3.01"' in form
    r = client.post("/pangkalan", data={"base_id": pier_id, "name": "Dermaga Samuda",
                                        "lat": "-3.02", "lon": "113.1", "vehicles": "both"})
    assert r.status_code == 302
    assert client.post("/pangkalan/utama", data={"base_id": pier_id}).status_code == 302
    with app.app_context():
        assert repository.default_base().id == pier_id
        assert db.session.get(TeamBase, office_id).is_default is False
    # every change is in the audit log, with before/after
    created = events(app, "base.create")
    assert [e.after["name"] for e in created] == ["Kantor <Dinas>", "Dermaga Samuda"]
    updates = events(app, "base.update")
    assert updates[0].before == {"lat": -3.01} and updates[0].after == {"lat": -3.02}
    assert updates[-1].after == {"is_default": True} and updates[-1].actor == client.user
    # viewers read the page (no form); team leads do not see it
    viewer = client_as(app, "viewer").get("/pangkalan").get_data(as_text=True)
    assert "Dermaga Samuda" in viewer and 'id="base-form"' not in viewer
    assert client_as(app, "viewer").post("/pangkalan", data={}).status_code == 403
    assert client_as(app, "team_lead", team="Tim 1").get("/pangkalan").status_code == 403
    assert client_as(app, "team_lead", team="Tim 1").get("/tim").status_code == 403


def test_unused_base_is_deleted_and_unknown_ids_are_404(app, client):
    with app.app_context():
        base = roster.create_base("Sementara", -2.0, 113.0, "car")
        other = roster.create_base("Kantor", -2.5, 112.9, "car")
        base_id, other_id = base.id, other.id
        assert base.is_default  # the first one
    r = client.post("/pangkalan/hapus", data={"base_id": base_id})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(TeamBase, base_id) is None
        assert db.session.get(TeamBase, other_id).is_default  # the next one takes over
    assert events(app, "base.delete")[0].before["name"] == "Sementara"
    for url in ("/pangkalan/hapus", "/pangkalan/arsip", "/pangkalan/utama", "/tim/arsip"):
        assert client.post(url, data={"base_id": "999", "team_id": "999"}).status_code == 404
    assert client.get("/pangkalan?ubah=abc").status_code == 200


# --------------------------------------------------------------------------- roster page
def test_roster_page_add_edit_archive_and_mode_rule(tiny_app, client):
    app = tiny_app
    with app.app_context():
        office = repository.default_base()  # "Kantor Uji (fiktif)": cars only
        pier = roster.create_base("Dermaga Uji", -2.62, 113.08, "both")
        office_id, pier_id = office.id, pier.id
    row = {"name": "Tim Sungai", "leader": LEADER, "phone": PHONE, "members": "Ani\nDedi",
           "vehicle": "boat", "kits": "2", "base_id": str(office_id), "max_nights": "2"}
    # a boat team cannot start from a car-only base: the message names team and base
    r = client.post("/tim", data=row)
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "Tim Sungai (perahu) tidak dapat berangkat dari pangkalan Kantor Uji (fiktif)" in html
    bad = client.post("/tim", data=dict(row, name="", kits="0", max_nights="99", phone="call me"))
    text = " ".join(errors(bad.get_data(as_text=True)))
    assert all(w in text for w in ("Nama tim wajib", "Perangkat rekam 1–20", "Malam menginap 0–30",
                                   "Nomor telepon"))
    assert client.post("/tim", data=dict(row, base_id=str(pier_id))).status_code == 302
    dup = client.post("/tim", data=dict(row, base_id=str(pier_id), name="tim sungai"))
    assert dup.status_code == 400 and "Sudah ada tim bernama" in dup.get_data(as_text=True)
    page = client.get("/tim").get_data(as_text=True)
    assert "Budi &lt;b&gt;Santoso&lt;/b&gt;" in page and LEADER not in page
    assert 'href="tel:+62812-3456-7890"' in page
    with app.app_context():
        team = roster.find_team("Tim Sungai")
        assert (team.vehicle, team.kits, team.max_nights, team.base_id) == ("boat", 2, 2, pier_id)
        team_id = team.id
        assert roster.team_request(team) == {
            "name": "Tim Sungai", "mode": "river", "kits": 2, "max_nights": 2,
            "roster_id": team_id, "leader": LEADER, "phone": PHONE,
            "base": {"id": pier_id, "name": "Dermaga Uji", "lat": -2.62, "lon": 113.08}}
        # the pier cannot become car-only while a boat team starts there
        with pytest.raises(roster.RosterError, match="Tim Sungai"):
            roster.update_base(db.session.get(TeamBase, pier_id), name="Dermaga Uji",
                               lat=-2.62, lon=113.08, vehicles="car")
    # edit, archive, restore
    form = client.get(f"/tim?ubah={team_id}").get_data(as_text=True)
    assert 'value="Tim Sungai"' in form and "Ani\nDedi" in form
    r = client.post("/tim", data=dict(row, team_id=str(team_id), base_id=str(pier_id), kits="4"))
    assert r.status_code == 302
    assert client.post("/tim/arsip", data={"team_id": team_id}).status_code == 302
    assert 'name="roster_ids"' not in client.get("/rencana").get_data(as_text=True)
    assert client.post("/tim/aktifkan", data={"team_id": team_id}).status_code == 302
    actions = [e.action for e in events(app, "team")]
    assert actions == ["team.create", "team.update", "team.archive", "team.restore"]
    assert events(app, "team.update")[0].after == {"kits": 4}
    with app.app_context():
        assert roster.summary() == {"bases": 2, "boat_bases": 1, "teams": 1, "boat_teams": 1}


# --------------------------------------------------------------------------- plans
def test_plan_from_the_roster_carries_leader_and_phone(tiny_app, client, plan_form_data):
    app = tiny_app
    with app.app_context():
        office = repository.default_base()
        pier = roster.create_base("Dermaga Uji", -2.62, 113.08, "both")
        team = roster.create_team(name="Tim Sungai", leader=LEADER, phone=PHONE, vehicle="boat",
                                  kits=3, base_id=pier.id, max_nights=1)
        gone = roster.create_base("Lama", -2.3, 112.8, "car")
        roster.archive_base(gone)
        office_id, pier_id, team_id, gone_id = office.id, pier.id, team.id, gone.id
    page = client.get("/rencana").get_data(as_text=True)
    assert f'name="roster_ids" value="{team_id}"' in page and 'data-mode="river"' in page
    assert "Budi &lt;b&gt;" in page and LEADER not in page
    options = re.findall(r'<option[^>]*value="(\d+)"', page)
    assert str(gone_id) not in options and str(pier_id) in options  # archived: not offered
    # the mode rule on the form: a river row from the car-only office is refused
    r = client.post("/rencana", data=plan_form_data(**{"teams-1-mode": "river"}))
    assert r.status_code == 400
    assert "Tim Perahu (perahu) tidak dapat berangkat dari pangkalan Kantor Uji" in r.get_data(
        as_text=True)
    # a roster name clashing with a one-off row is a duplicate
    r = client.post("/rencana", data=plan_form_data(roster_ids=str(team_id),
                                                    **{"teams-1-name": "Tim Sungai"}))
    assert r.status_code == 400 and "Nama tim harus berbeda" in r.get_data(as_text=True)
    # ticked without a filled row (no script): the roster's values; plus one-off rows
    r = client.post("/rencana", data=plan_form_data(roster_ids=[str(team_id), "x"], days="1",
                                                    time_limit="1"))
    assert r.status_code == 302, errors(r.get_data(as_text=True))
    job_id = int(r.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        job = db.session.get(PlanJob, job_id)
        version = plan_store.latest_version(job.plan_id)
        teams = version.params["teams"]
        assert [t["name"] for t in teams] == ["Tim Darat", "Tim Perahu", "Tim Sungai"]
        assert "roster_id" not in teams[0] and teams[0]["base"]["id"] == office_id
        assert teams[2] == dict(teams[2], roster_id=team_id, leader=LEADER, phone=PHONE,
                                mode="river", max_nights=1)
        assert teams[2]["base"] == {"id": pier_id, "name": "Dermaga Uji", "lat": -2.62,
                                    "lon": 113.08}
        stored = version.result["teams"][2]
        assert (stored["leader"], stored["phone"], stored["roster_id"]) == (LEADER, PHONE, team_id)
        plan_id, day = job.plan_id, version.params["calendar"]["start_date"]
    # the team-lead page shows the leader (escaped) and a tel: link
    lead = client.get(f"/t/{plan_id}/1/3/{day}").get_data(as_text=True)
    assert "Budi &lt;b&gt;Santoso&lt;/b&gt;" in lead and LEADER not in lead
    assert 'href="tel:+6281234567890"' in lead
    # the base is now used by the plan and by the roster team: not deleted, archived instead
    r = client.post("/pangkalan/hapus", data={"base_id": pier_id})
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and 'id="archive-instead"' in html
    assert "Pangkalan Dermaga Uji dipakai oleh rencana Rencana uji" in html
    assert "tim Tim Sungai" in html and f'href="/rencana/{plan_id}"' in html
    # the CLI says the same and refuses, unless --archive
    runner = app.test_cli_runner()
    out = runner.invoke(args=["base", "remove", "Dermaga Uji"])
    assert out.exit_code == 1 and "dipakai oleh rencana Rencana uji" in out.output
    assert "--archive" in out.output
    out = runner.invoke(args=["base", "remove", str(pier_id), "--archive"])
    assert out.exit_code == 0 and "diarsipkan" in out.output
    with app.app_context():
        assert db.session.get(TeamBase, pier_id).archived
        assert [b.id for b in roster.active_bases()] == [office_id]
        event = events(app, "base.archive")[-1]
        assert event.actor.startswith("cli:") and event.after == {"archived": True}
    # the old plan still shows; the archived base is not offered any more
    assert client.get(f"/rencana/{plan_id}/v1").status_code == 200
    page = client.get("/rencana").get_data(as_text=True)
    assert str(pier_id) not in re.findall(r'<option[^>]*value="(\d+)"', page)
    assert "Dermaga Uji" in client.get("/pangkalan").get_data(as_text=True)


def test_day_sheet_prints_leader_and_phone(app, client, store_plan_doc):
    doc = json.loads((DATA / "plan_daysheet.json").read_text(encoding="utf-8"))
    doc["params"]["teams"][0].update(roster_id=7, leader=LEADER, phone=PHONE)
    with app.app_context():
        plan_id, version = store_plan_doc(doc, "Uji ketua")
    html = client.get(f"/rencana/{plan_id}/v{version}/lembar?team=1").get_data(as_text=True)
    assert html.count("Budi &lt;b&gt;Santoso&lt;/b&gt;") == 2 and LEADER not in html
    assert html.count(PHONE) == 2
    other = client.get(f"/rencana/{plan_id}/v{version}/lembar?team=2").get_data(as_text=True)
    assert 'class="leader"' not in other  # a one-off team: no leader row


# --------------------------------------------------------------------------- CLI
def test_cli_bases_and_teams(app):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["base", "add", "--name", "Kantor", "--lat", "112.95",
                              "--lon", "-2.54"])
    assert out.exit_code == 1 and "tertukar" in out.output
    out = runner.invoke(args=["base", "add", "--name", "Kantor", "--lat", "-2.54",
                              "--lon", "112.95"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(args=["base", "add", "--name", "Dermaga", "--lat", "-3,1", "--lon",
                              "113,2", "--vehicles", "boat"])
    assert out.exit_code == 0, out.output
    listing = runner.invoke(args=["base", "list"]).output
    assert "Kantor" in listing and "utama" in listing and "Dermaga" in listing
    out = runner.invoke(args=["team", "add", "--name", "Tim Darat", "--base", "Dermaga"])
    assert out.exit_code == 1 and "hanya untuk perahu" in out.output
    out = runner.invoke(args=["team", "add", "--name", "Tim Darat", "--leader", "Sri",
                              "--phone", "0812 1111 2222", "--kits", "4"])
    assert out.exit_code == 0, out.output  # the default base (cars)
    out = runner.invoke(args=["team", "add", "--name", "Tim Air", "--vehicle", "boat",
                              "--base", "dermaga", "--max-nights", "3"])
    assert out.exit_code == 0, out.output
    listing = runner.invoke(args=["team", "list"]).output
    assert "Tim Darat" in listing and "ketua=Sri" in listing and "pangkalan=Dermaga" in listing
    out = runner.invoke(args=["base", "remove", "Dermaga"])
    assert out.exit_code == 1 and "tim Tim Air" in out.output
    assert runner.invoke(args=["team", "archive", "Tim Air"]).exit_code == 0
    assert "Tim Air" not in runner.invoke(args=["team", "list"]).output
    assert "Tim Air" in runner.invoke(args=["team", "list", "--all"]).output
    assert runner.invoke(args=["base", "remove", "Nowhere"]).exit_code == 1
    with app.app_context():
        assert roster.summary() == {"bases": 2, "boat_bases": 1, "teams": 1, "boat_teams": 0}
        assert db.session.query(Team).count() == 2
        actors = {e.actor for e in audit.events(audit.Filters(action="team"))}
        assert len(actors) == 1 and actors.pop().startswith("cli:")
    # set_default_base (the demo loader, the fixtures) keeps working and un-archives
    with app.app_context():
        roster.archive_base(roster.find_base("Kantor"))
        assert repository.default_base().name == "Dermaga"
        repository.set_default_base("Kantor", -2.5, 112.9)
        assert repository.default_base().name == "Kantor"
        assert not roster.find_base("Kantor").archived
