"""Day one of a real regency: the set-up checklist on the home page (``planner.datasets.
readiness``), the data management page (``/data``: active dataset, rename, delete with its
plans), the plans' rename/archive/delete (versions, jobs, field results and share links go
with a deleted plan, on SQLite and PostgreSQL), and the village search of the gap view and
the plan page."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from sqlalchemy import func, select

from planner import datasets, plan_store, repository, settings, sharing
from planner.extensions import db
from planner.models import (
    AuditEvent,
    Dataset,
    Plan,
    PlanJob,
    PlanVersion,
    Team,
    Village,
    VillageStat,
    VisitResult,
)


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)))


def _items(html: str) -> dict[str, str]:
    """The checklist items on a page: key -> data-done."""
    return dict(re.findall(r'<li id="setup-(\w+)" data-done="(\d)"', html))


def _second_dataset(name: str = "Rekap Desember", day: int = 30) -> int:
    """Another recap of the tiny regency (becomes the active one)."""
    codes = list(db.session.scalars(select(Village.code).order_by(Village.code)))
    recap = pd.DataFrame([{"code": c, "population": 1000, "obliged": 700, "recorded": 600}
                          for c in codes])
    return repository.add_dataset(recap, name=name, snapshot_date=dt.date(2026, 11, day),
                                  recap_file="desember.csv", villages_file="uji.geojson",
                                  fictional=True).id


# --------------------------------------------------------------------------- checklist
def test_the_checklist_leads_an_empty_office_to_a_ready_one(app, client, load_tiny):
    with app.app_context():
        ready = datasets.readiness(link=lambda endpoint: f"/x/{endpoint}")
        assert [i.key for i in ready.items] == ["boundaries", "recap", "bases", "access",
                                                 "travel", "teams"]
        assert ready.empty and not ready.complete and not ready.can_plan
        assert [i.needed for i in ready.items] == [True, True, True, False, False, False]
        assert ready.item("bases").url == "/x/bases.index"
    html = client.get("/").get_data(as_text=True)
    assert "Belum ada data" in html and '<details id="setup" class="setup" open' in html
    assert set(_items(html).values()) == {"0"}
    assert 'href="/impor"' in html and 'href="/pengaturan/perjalanan"' in html

    load_tiny(app)  # boundaries, a recap and a base; its files set access for every village
    with app.app_context():
        ready = datasets.readiness()
        assert ready.can_plan and not ready.complete and not ready.empty
        assert ready.item("boundaries").detail == {"villages": 10, "kecamatan": 3}
        assert ready.item("recap").detail["name"] == "Data uji (fiktif)"
        access = ready.item("access")
        assert access.done and access.detail["river"] == 2 and access.detail["no_signal"] == 1
        assert access.detail["checked"] == 10
        db.session.execute(Village.__table__.update().values(access_source="default"))
        db.session.commit()
        assert not datasets.readiness().item("access").done
    html = client.get("/").get_data(as_text=True)
    assert _items(html) == {"boundaries": "1", "recap": "1", "bases": "1", "access": "0",
                            "travel": "0", "teams": "0"}
    assert "10 desa/kelurahan di 3 kecamatan" in html and "Data uji (fiktif)" in html
    assert 'id="ranking"' in html  # the gap view itself is below the checklist

    with app.app_context():
        db.session.execute(Village.__table__.update().where(Village.access == "river")
                           .values(access_source="manual"))
        settings.put("travel", settings.get("travel"))  # the defaults, kept explicitly
        db.session.add(Team(name="Tim A", vehicle="car", kits=3, max_nights=0, archived=False))
        db.session.commit()
        assert datasets.readiness().complete
    html = client.get("/").get_data(as_text=True)
    assert 'data-complete="1"' in html and "Persiapan selesai." in html
    assert '<details id="setup" class="setup" open' not in html  # folded away
    assert "2 desa hanya lewat sungai" in html  # the access counts


def test_viewers_read_the_checklist_without_action_links(tiny_app, client_as):
    viewer = client_as(tiny_app, "viewer").get("/").get_data(as_text=True)
    assert 'id="setup"' in viewer and 'class="setup-link' not in viewer
    assert 'href="/impor"' not in viewer and "Koordinator atau admin" in viewer
    coordinator = client_as(tiny_app, "coordinator").get("/").get_data(as_text=True)
    assert 'class="setup-link' in coordinator and 'href="/pengaturan/perjalanan"' in coordinator
    assert client_as(tiny_app, "team_lead", team="Tim 1").get("/").status_code == 403


# --------------------------------------------------------------------------- gap search
def test_gap_search_no_match_message_keeps_the_other_filters(tiny_app, client):
    html = client.get("/", query_string={"q": "désa UJI 2", "kecamatan": "Kecamatan 2"}
                      ).get_data(as_text=True)
    assert re.findall(r'data-code="([\d.]+)"', html) == ["99.01.02.2002"]
    r = client.get("/", query_string={"q": "<b>tidak ada</b>", "kecamatan": "Kecamatan 2",
                                      "below": "99"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="no-match"' in html and 'id="ranking"' not in html
    assert "&lt;b&gt;tidak ada&lt;/b&gt;" in html and "<b>tidak ada</b>" not in html
    assert '<option value="Kecamatan 2" selected>' in html  # the filters stay as they were
    clear = re.search(r'href="([^"]+)" id="clear-search"', html).group(1)
    assert "kecamatan=Kecamatan+2" in clear and "below=99" in clear and "q=" not in clear
    html = client.get("/?q=zzz").get_data(as_text=True)  # only a search: one way back
    assert 'id="clear-search"' in html and 'id="clear-filters"' not in html
    html = client.get("/?kecamatan=Tidak+Ada").get_data(as_text=True)
    assert "Tidak ada desa yang cocok dengan filter." in html


# --------------------------------------------------------------------------- datasets
def test_data_page_lists_imports_and_switches_the_active_one(tiny_app, client, client_as):
    with tiny_app.app_context():
        first = repository.current_dataset().id
        second = _second_dataset()
        assert repository.current_dataset().id == second  # a new import becomes active
    html = client.get("/data").get_data(as_text=True)
    rows = re.findall(r'<tr data-dataset-id="(\d+)"( class="highlight")?', html)
    assert rows == [(str(second), ' class="highlight"'), (str(first), "")]
    assert "desember.csv" in html and "uji.geojson" in html and "7.000" in html  # 10 × 700

    r = client.post("/data/aktifkan", data={"dataset": first})
    assert r.status_code == 302
    r = client.post("/data/ganti-nama", data={"dataset": first, "name": "  Rekap   Oktober "})
    assert r.status_code == 302
    assert client.post("/data/ganti-nama", data={"dataset": first, "name": " "}).status_code == 302
    assert "Nama data wajib diisi." in client.get("/data").get_data(as_text=True)
    with tiny_app.app_context():
        assert repository.current_dataset().id == first
        assert db.session.get(Dataset, first).name == "Rekap Oktober"
        [activate] = _events("dataset.activate")
        assert activate.before["active"] == second and activate.after["active"] == first
        [rename] = _events("dataset.rename")
        assert rename.before == {"name": "Data uji (fiktif)"}
        assert rename.after == {"name": "Rekap Oktober"}
    assert "Rekap Oktober" in client.get("/").get_data(as_text=True)  # the pages follow

    viewer = client_as(tiny_app, "viewer")
    html = viewer.get("/data").get_data(as_text=True)
    assert "Rekap Oktober" in html and "/data/aktifkan" not in html and "/data/hapus" not in html
    assert viewer.post("/data/aktifkan", data={"dataset": second}).status_code == 403


def test_a_dataset_in_use_is_not_deleted_unless_its_plans_are_archived(tiny_app, client):
    with tiny_app.app_context():
        old = repository.current_dataset().id
        new = _second_dataset()
        plan = plan_store.create_plan("Rencana <lama>", old).id
        gone = plan_store.create_plan("Arsip lama", old)
        gone.archived = True
        db.session.commit()
        gone = gone.id
        stats = db.session.scalar(select(func.count(VillageStat.id))
                                  .where(VillageStat.dataset_id == old))
        assert stats == 10
    page = client.get(f"/data/hapus?dataset={old}").get_data(as_text=True)
    assert 'id="plans-using"' in page and "Rencana &lt;lama&gt;" in page
    assert 'id="archive-plans"' in page and "Arsip lama" in page

    r = client.post("/data/hapus", data={"dataset": old})  # not confirmed: nothing happens
    assert r.status_code == 200 and "Centang konfirmasi" in r.get_data(as_text=True)
    r = client.post("/data/hapus", data={"dataset": old, "confirm": "yes"}, follow_redirects=True)
    assert "masih dipakai 1 rencana" in r.get_data(as_text=True)
    with tiny_app.app_context():
        assert db.session.get(Dataset, old) is not None
        with pytest.raises(datasets.DataError) as err:
            datasets.delete(old)
        assert [p.id for p in err.value.plans] == [plan]
        db.session.rollback()

    r = client.post("/data/hapus", data={"dataset": old, "confirm": "yes",
                                         "archive_plans": "yes"})
    assert r.status_code == 302
    with tiny_app.app_context():
        assert db.session.get(Dataset, old) is None
        assert db.session.scalar(select(func.count(VillageStat.id))
                                 .where(VillageStat.dataset_id == old)) == 0
        kept = db.session.get(Plan, plan)
        assert kept.archived and kept.dataset_id is None  # kept, no longer pointing at it
        [event] = _events("dataset.delete")
        assert event.before["name"] == "Data uji (fiktif)" and event.before["villages"] == 10
        assert sorted(event.before["plans"]) == sorted([plan, gone])
        assert [e.after["archived"] for e in _events("plan.archive")] == [True]
        assert repository.current_dataset().id == new
        # the active one goes: the newest remaining takes over
        datasets.delete(new)
        assert repository.current_dataset() is None
    html = client.get("/").get_data(as_text=True)
    assert 'id="setup-recap" data-done="0"' in html
    assert client.get("/data/hapus?dataset=999999").status_code == 404


# --------------------------------------------------------------------------- plans
def test_plans_are_renamed_archived_and_deleted_with_everything_they_own(
        tiny_app, client, client_as, solve_via_form):
    job_id = solve_via_form(client, days="1", time_limit="1", **{"teams-1-name": ""})
    with tiny_app.app_context():
        job = db.session.get(PlanJob, job_id)
        pid = job.plan_id
        version = plan_store.latest_version(pid)
        ds = repository.current_dataset()
        stop = version.result["teams"][0]["days"][0]["stops"][0]
        day = ds.snapshot_date + dt.timedelta(days=1)
        db.session.add_all([
            VisitResult(plan_version_id=version.id, team="Tim Darat", date=day,
                        site_code=stop["site_code"], actual_recorded=40, outcome="done"),
            VisitResult(plan_version_id=version.id, team="Tim Darat", date=day,
                        site_code=stop["site_code"], actual_recorded=45, outcome="done")])
        db.session.commit()
        before = repository.current_stats(ds.id).set_index("village_code")["recorded"]
        token = sharing.make_token(tiny_app.secret_key, plan_store.get_plan(pid), 1, 1,
                                   version.result["teams"][0]["days"][0]["date"])
        assert sharing.resolve(tiny_app.secret_key, token) is not None
    plan_list = client.get("/rencana").get_data(as_text=True)
    assert f'action="/rencana/{pid}/ganti-nama"' in plan_list
    assert "/ganti-nama" not in client_as(tiny_app, "viewer").get("/rencana").get_data(as_text=True)

    assert client.post(f"/rencana/{pid}/ganti-nama", data={"name": "Rencana Januari",
                                                           "next": "/rencana"}).status_code == 302
    assert client.post(f"/rencana/{pid}/arsip", data={"archived": "1"}).status_code == 302
    plan_list = client.get("/rencana").get_data(as_text=True)
    assert f'data-plan-id="{pid}"' not in plan_list and "?arsip=1" in plan_list
    shown = client.get("/rencana?arsip=1").get_data(as_text=True)
    assert f'data-plan-id="{pid}" class="archived"' in shown and "Rencana Januari" in shown
    assert client.get(f"/rencana/{pid}/v1").status_code == 200  # archived, not gone

    page = client.get(f"/rencana/{pid}/hapus").get_data(as_text=True)
    assert "2 hasil lapangan" in page and "1 versi" in page
    assert client.post(f"/rencana/{pid}/hapus", data={}).status_code == 200  # not confirmed
    with tiny_app.app_context():  # a re-plan waiting in the queue holds the plan
        db.session.add(PlanJob(status="queued", params={}, plan_id=pid))
        db.session.commit()
    r = client.post(f"/rencana/{pid}/hapus", data={"confirm": "yes"}, follow_redirects=True)
    assert "sedang berjalan atau menunggu" in r.get_data(as_text=True)
    with tiny_app.app_context():
        db.session.execute(PlanJob.__table__.update().where(PlanJob.status == "queued")
                           .values(status="failed"))
        db.session.commit()
    r = client.post(f"/rencana/{pid}/hapus", data={"confirm": "yes"})
    assert r.status_code == 302
    assert client.get(f"/rencana/{pid}/v1").status_code == 404
    assert client.get(f"/rencana/{pid}/hapus").status_code == 404
    with tiny_app.app_context():
        for model, column in ((Plan, Plan.id), (PlanVersion, PlanVersion.plan_id),
                              (PlanJob, PlanJob.plan_id)):
            assert db.session.scalar(select(func.count()).select_from(model)
                                     .where(column == pid)) == 0, model
        assert db.session.scalar(select(func.count(VisitResult.id))) == 0
        assert db.session.scalar(select(func.count(PlanJob.id))) == 0
        after = repository.current_stats(ds.id).set_index("village_code")["recorded"]
        assert before[stop["site_code"]] - after[stop["site_code"]] == 45  # the newest report
        assert sharing.resolve(tiny_app.secret_key, token) is None
        assert [e.after for e in _events("plan.rename")] == [{"name": "Rencana Januari"}]
        assert [e.after["archived"] for e in _events("plan.archive")] == [True]
        [deleted] = _events("plan.delete")
        assert deleted.target == f"plan {pid}" and deleted.before["versions"] == 1
        assert deleted.before["results"] == 2 and deleted.before["jobs"] == 2
        # SQLite may give the next plan the same id: the old share links still do not open it
        again = plan_store.create_plan("Rencana baru", ds.id)
        store_version = plan_store.add_version(again, 1, version.params, version.result)
        db.session.commit()
        assert store_version.id
        assert sharing.resolve(tiny_app.secret_key, token) is None


def test_plan_management_refuses_nonsense(tiny_app, client):
    with tiny_app.app_context():
        pid = plan_store.create_plan("Uji", repository.current_dataset().id).id
    assert client.post(f"/rencana/{pid}/arsip", data={}).status_code == 302
    assert client.post(f"/rencana/{pid}/ganti-nama", data={"name": "x" * 201}).status_code == 302
    assert client.post(f"/rencana/{pid}/ganti-nama", data={
        "name": "Uji 2", "next": "//evil.example/"}).headers["Location"] == "/rencana"
    with tiny_app.app_context():
        plan = db.session.get(Plan, pid)
        assert plan.name == "Uji 2" and not plan.archived
    assert client.post("/rencana/999999/arsip", data={"archived": "1"}).status_code == 404


# --------------------------------------------------------------------------- plan search
def test_plan_page_has_a_village_search(tiny_app, client, store_plan_doc):
    import json
    from pathlib import Path

    doc = json.loads((Path(__file__).parent / "data" / "plan_daysheet.json").read_text("utf-8"))
    with tiny_app.app_context():
        pid, ver = store_plan_doc(doc, "Uji cari")
    html = client.get(f"/rencana/{pid}/v{ver}?q=alpha").get_data(as_text=True)
    assert 'id="stop-search"' in html and 'value="alpha"' in html
    assert '<script src="/static/plan-search.js">' in html
    js = client.get("/static/plan-search.js")
    assert js.status_code == 200 and b"normalize(\"NFKD\")" in js.data
