"""The travel settings page: preview before saving, saving (audited), and every new plan uses
the office's travel settings (the form, ``planner plan`` and the sample plan)."""

from __future__ import annotations

import re

from planner import settings
from planner.extensions import db
from planner.models import AuditEvent, PlanVersion


def form(**values) -> dict:
    data = {"source": "builtin", "road_speed_kmh": "40", "road_circuity": "1.35",
            "road_cost_per_km": "4000", "river_speed_kmh": "18", "river_circuity": "1.6",
            "river_cost_per_km": "45000", "dry_season_factor": "1", "pier_transfer_min": "20"}
    data.update(values)
    return data


def legs(html: str) -> list[str]:
    return re.findall(r'<td class="new-leg">([^<]+)</td>', html)


def test_preview_shows_the_change_before_saving(demo_app, client):
    page = client.get("/pengaturan/perjalanan").get_data(as_text=True)
    assert page.count("<tr><td>") >= 3  # three sample legs from the office
    r = client.post("/pengaturan/perjalanan", data=form(road_speed_kmh="20", action="preview"))
    assert r.status_code == 200
    new = legs(r.get_data(as_text=True))
    assert len(new) == 3
    with demo_app.app_context():
        assert not settings.is_set("travel")  # a preview saves nothing
    r = client.post("/pengaturan/perjalanan", data=form(road_speed_kmh="20", action="save"))
    assert r.status_code == 302
    with demo_app.app_context():
        assert settings.travel_choice() == {"source": "builtin", "settings": {"road_speed_kmh": 20.0}}
        event = db.session.query(AuditEvent).filter_by(action="setting.travel").one()
        assert event.after == {"value": {"source": "builtin", "settings": {"road_speed_kmh": 20.0}}}


def test_bad_values_are_messages(demo_app, client):
    r = client.post("/pengaturan/perjalanan", data=form(road_speed_kmh="-3", action="save"))
    assert r.status_code == 400 and "Isi angka antara 5 dan 120." in r.get_data(as_text=True)
    r = client.post("/pengaturan/perjalanan", data=form(source="osrm", url="ftp://x", action="save"))
    assert r.status_code == 400 and "travel.url" in r.get_data(as_text=True)
    with demo_app.app_context():
        assert not settings.is_set("travel")


def test_new_plans_use_the_office_travel_settings(demo_app, client, plan_form_data):
    client.post("/pengaturan/perjalanan", data=form(river_speed_kmh="12", dry_season_factor="1.5",
                                                     action="save"))
    r = client.post("/rencana", data=plan_form_data(days="1", time_limit="1"))
    assert r.status_code == 302
    res = demo_app.test_cli_runner().invoke(args=[
        "plan", "--teams", "1", "--days", "1", "--time-limit", "1", "--workers", "1", "--save",
        "--quiet"])
    assert res.exit_code == 0, res.output
    with demo_app.app_context():
        stored = [v.params["travel"] for v in db.session.query(PlanVersion).all()]
    assert stored == [{"source": "builtin",
                       "settings": {"river_speed_kmh": 12.0, "dry_season_factor": 1.5}}] * 2


def test_public_base_url_warns_while_loopback_and_feeds_share_links(demo_app, client):
    page = client.get("/pengaturan/umum").get_data(as_text=True)
    assert 'id="loopback-warning"' in page  # the default 127.0.0.1 cannot be opened on a phone
    r = client.post("/pengaturan/umum", data={"public_base_url": "bukan alamat"})
    assert r.status_code == 400
    r = client.post("/pengaturan/umum", data={"public_base_url": "https://jb.example.go.id/"})
    assert r.status_code == 302
    assert 'id="loopback-warning"' not in client.get("/pengaturan/umum").get_data(as_text=True)
    with demo_app.app_context():
        from planner import pipeline

        v = pipeline.create_sample_plan(time_limit=1, workers=1)
        plan_id = v.plan_id
    html = client.get(f"/rencana/{plan_id}/v1/lembar?team=1").get_data(as_text=True)
    assert "https://jb.example.go.id/s/" in html and "127.0.0.1" not in html
