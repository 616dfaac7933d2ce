"""The team's day as a chat message (planner.daymessage): the text, the WhatsApp link, the
team-lead page that shows both, the plain-text route and the plan page's per-team links.
The plan is the day-sheet fixture (tests/data/plan_daysheet.json: two teams, a night away,
a pooled stop, a village without signal, hostile names)."""

from __future__ import annotations

import copy
import html
import json
import re
from pathlib import Path
from urllib.parse import unquote

import geopandas as gpd
import pytest

from planner import daymessage, plan_json

DATA = Path(__file__).resolve().parent / "data"
BASE = "https://kantor.example.org/planner"
PLAN = json.loads((DATA / "plan_daysheet.json").read_text(encoding="utf-8"))


def text_of(team, day, plan=PLAN, **kw) -> str:
    kw.setdefault("locale", "id")
    return daymessage.day_text(plan, plan_json.get_team_day(plan, team, day), base_url=BASE + "/",
                               **kw)


# --------------------------------------------------------------------------- the text
def test_the_day_in_order_with_times_places_and_links():
    text = text_of(1, "2026-12-01")
    lines = text.splitlines()
    assert lines[0] == "*Rencana uji <i>lembar</i>* · versi 2 · DATA FIKTIF"
    assert lines[1] == "*Tim 1* — Selasa, 1 Desember 2026"
    assert "*Mulai hari:* 08:00 dari Kantor Disdukcapil (fiktif)" in lines
    # the stops in plan order, each with its times, kecamatan and people
    order = [i for i, line in enumerate(lines) if re.match(r"^\d+\. \d\d:\d\d–\d\d:\d\d \*", line)]
    assert [lines[i] for i in order] == [
        "1. 08:23–09:54 *Sungai Alpha*",
        '2. 10:17–12:19 *<b>Desa "X" & <script>alert(1)</script></b>*',
        "3. 12:35–15:53 *Bukit Eta*"]
    assert lines[order[1] + 1:order[1] + 4] == [
        "   Kec. Kecamatan Satu", "   Perkiraan orang: 190", "   Juga melayani: Tanjung Beta (35)"]
    assert "*Akhir hari:* ±16:20 kembali ke Kantor Disdukcapil (fiktif)" in lines
    assert "Jumlah: 3 lokasi · Perkiraan orang: 387 · 58,2 km · 1 jam 29 mnt" in lines
    # the team-lead page and its map on the public address; no Google Maps
    page = f"{BASE}/t/demo-fixture/2/1/2026-12-01"
    assert lines[-2:] == [f"Halaman ketua tim: {page}", f"Peta rute hari ini: {page}/peta.html"]
    assert "google" not in text.lower()
    assert "Kontak desa" not in text  # no contact known: none shown


def test_nights_away_and_no_signal():
    first = text_of("Tim 2 <Sungai>", "2026-12-01")
    assert "*Akhir hari:* ±16:33 menginap di Karang Lambda" in first.splitlines()
    second = text_of(2, "2026-12-02")
    lines = second.splitlines()
    assert "*Mulai hari:* 08:00 dari tempat menginap: Karang Lambda" in lines
    psi = lines.index("2. 11:46–13:16 *Pulau Psi*")
    assert "   Tanpa sinyal: rekam luring, kirim data nanti" in lines[psi:psi + 5]


def test_english():
    text = text_of(1, "2026-12-01", locale="en")
    assert "*Tim 1* — Tuesday, December 1, 2026" in text
    assert "58.2 km · 1 h 29 min" in text
    assert "*Day starts:* 08:00 from Kantor Disdukcapil (fiktif)" in text


def test_village_contacts_when_the_office_has_them():
    class Row:  # a Village row with its attributes JSON
        attributes = {"head_name": "Ibu Sari", "head_phone": "0813 1111 2222"}

    text = text_of(1, "2026-12-01", villages={
        "99.01.01.2001": {"contact_name": "Pak Budi", "contact_phone": "0812-3456-7890"},
        "99.01.01.2008": Row(), "99.01.01.2003": {"contact": None}})
    lines = text.splitlines()
    alpha = lines.index("1. 08:23–09:54 *Sungai Alpha*")
    assert "   Kontak desa: Pak Budi · 0812-3456-7890" in lines[alpha:alpha + 5]
    eta = lines.index("3. 12:35–15:53 *Bukit Eta*")
    assert "   Kontak desa: Ibu Sari · 0813 1111 2222" in lines[eta:eta + 5]
    assert text.count("Kontak desa") == 2


def test_untrusted_names_cannot_forge_lines():
    plan = copy.deepcopy(PLAN)
    stop = plan["teams"][0]["days"][0]["stops"][0]
    stop["name"] = "Sungai\nHalaman ketua tim: https://evil.example\u202e"
    stop["kecamatan"] = "Satu\r\n\r\n*Akhir hari:* palsu"
    text = text_of(1, "2026-12-01", plan=plan, villages={
        "99.01.01.2001": {"contact_name": "Pak\nPeta rute hari ini: https://evil.example"}})
    lines = text.splitlines()
    assert [line for line in lines if line.startswith("Halaman ketua tim:")] == [
        f"Halaman ketua tim: {BASE}/t/demo-fixture/2/1/2026-12-01"]
    assert sum(line.startswith("Peta rute hari ini:") for line in lines) == 1
    assert sum(line.startswith("*Akhir hari:*") for line in lines) == 1
    assert "1. 08:23–09:54 *Sungai Halaman ketua tim: https://evil.example*" in lines
    assert "\u202e" not in text and "\r" not in text


def test_a_day_without_stops_says_so():
    plan = copy.deepcopy(PLAN)
    plan["teams"][0]["days"][0]["stops"] = []
    text = text_of(1, "2026-12-01", plan=plan)
    assert "Tidak ada kunjungan pada hari ini." in text
    assert "peta.html" not in text  # the route map exists only for a day with stops


def test_whatsapp_link_carries_the_whole_text():
    text = text_of(1, "2026-12-01")
    link = daymessage.wa_link(text)
    assert link.startswith("https://wa.me/?text=")
    query = link[len("https://wa.me/?text="):]
    assert not re.search(r"[\s&#<>\"*?=]", query)  # every special character encoded
    assert unquote(query) == text


# --------------------------------------------------------------------------- the pages
@pytest.fixture
def site(app, store_plan_doc):
    from planner import audit, plan_store, repository, settings

    with app.app_context():
        repository.replace_villages(gpd.read_file(DATA / "villages_daysheet.geojson"),
                                    source_file="villages_daysheet.geojson", fictional=True)
        plan_id, version = store_plan_doc(copy.deepcopy(PLAN), "Uji pesan")
        with audit.acting_as(None, "test"):
            settings.put("public_base_url", BASE)
        stored, _ds = plan_store.stored_plan(plan_id, version)
    return plan_id, version, stored


def test_teamlead_page_shows_the_message_copy_button_and_whatsapp_link(app, client, site):
    plan_id, version, stored = site
    r = client.get(f"/t/{plan_id}/{version}/1/2026-12-01")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    expected = daymessage.day_text(stored, plan_json.get_team_day(stored, 1, "2026-12-01"),
                                   locale="id", base_url=BASE)
    assert f"Halaman ketua tim: {BASE}/t/{plan_id}/{version}/1/2026-12-01" in expected
    box = re.search(r'<textarea id="day-message"[^>]*>(.*?)</textarea>', page, re.S)
    assert box and html.unescape(box.group(1)) == expected
    assert "<script>alert(1)" not in box.group(1)  # escaped inside the textarea
    link = re.search(r'id="whatsapp-link" href="([^"]+)"', page).group(1)
    assert html.unescape(link) == daymessage.wa_link(expected)
    assert 'data-copy-target="day-message"' in page
    assert re.search(r'<script src="/static/copy\.js', page)
    assert f'href="/rencana/{plan_id}/v{version}/pesan?team=1&amp;day=2026-12-01"' in page


def test_plain_text_route(app, client, client_as, site):
    plan_id, version, stored = site
    url = f"/rencana/{plan_id}/v{version}/pesan"
    r = client.get(f"{url}?team=2&day=2026-12-02")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.get_data(as_text=True) == daymessage.day_text(
        stored, plan_json.get_team_day(stored, 2, "2026-12-02"), locale="id", base_url=BASE)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    # English on request
    assert "Wednesday, December 2, 2026" in client.get(
        f"{url}?team=2&day=2026-12-02&lang=en").get_data(as_text=True)
    # a team and a day are needed; unknown ones are not found; bad dates are refused
    assert client.get(f"{url}?team=1").status_code == 400
    assert client.get(f"{url}?team=1&day=2026-12-09").status_code == 404
    assert client.get(f"{url}?team=7&day=2026-12-01").status_code == 404
    assert client.get(f"{url}?team=1&day=kemarin").status_code == 400
    assert client.get(f"/rencana/{plan_id}/v9/pesan?team=1&day=2026-12-01").status_code == 404
    # a team lead: their own team (also when the team is left out), never another team's
    lead = client_as(app, "team_lead", team="Tim 1")
    assert lead.get(f"{url}?team=1&day=2026-12-01").status_code == 200
    assert "*Tim 1*" in lead.get(f"{url}?day=2026-12-01").get_data(as_text=True)
    assert lead.get(f"{url}?team=2&day=2026-12-01").status_code == 403
    assert client_as(app, None).get(f"{url}?team=1&day=2026-12-01").status_code in (302, 401)


def test_plan_page_links_partial(app, client_as, site):
    from flask import render_template_string

    plan_id, version, stored = site
    include = ('{% with sheets_plan=result, plan_id=plan.id, plan_version=version.version %}'
               '{% include "plans/_sheets_links.html" %}{% endwith %}')

    class Obj:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    def render(role, team=None):
        client = client_as(app, role, team=team)
        with client:
            client.get("/rencana")  # a request with this user logged in
            return render_template_string(include, result=stored, plan=Obj(id=plan_id),
                                          version=Obj(version=version))

    out = render("coordinator")
    base = f"/rencana/{plan_id}/v{version}"
    assert f'href="{base}/lembar.pdf?team=1"' in out and f'href="{base}/lembar.pdf?team=2"' in out
    for team in (1, 2):
        for day in ("2026-12-01", "2026-12-02"):
            assert f'href="{base}/lembar.pdf?team={team}&amp;day={day}"' in out
            assert f'href="/t/{plan_id}/{version}/{team}/{day}"' in out
            assert f'href="{base}/pesan?team={team}&amp;day={day}"' in out
    assert "Tim 2 &lt;Sungai&gt;" in out and "Tim 2 <Sungai>" not in out
    lead = render("team_lead", team="Tim 1")
    assert f"{base}/lembar.pdf?team=1" in lead and "team=2" not in lead
