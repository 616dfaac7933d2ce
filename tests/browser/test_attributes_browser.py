"""Village attributes in headless Chromium: a coordinator drags a village's stop marker on the
map page (saved on release; a stop outside the village is saved only after confirming it), the
map popup links to the village page, and access is edited on the village page in Indonesian
and in English. The tiny fictional regency (10 square villages, one with a hostile name)."""

from __future__ import annotations

import pytest

from planner import attributes

pytestmark = pytest.mark.browser

HOSTILE_CODE = "99.01.01.2001"  # square around (-2.40, 112.90)
MOVED = "99.01.02.2002"          # square around (-2.30, 113.05), ±0.04°
EDITED = "99.01.03.2003"
MAP_READY = "() => window.plannerMap && window.plannerStops && document.querySelectorAll('.planner-stop-point').length === 10"


@pytest.fixture(scope="module")
def site(make_app, load_tiny, live_server, tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("attributes"))
    load_tiny(app)
    return app, live_server(app)


def stored(app, code: str) -> dict:
    from planner.extensions import db

    with app.app_context():
        out = attributes.snapshot(attributes.get(code))
        db.session.remove()
        return out


def open_map(page, base: str):
    page.goto(f"{base}/peta")
    page.frame_locator("#map-frame").locator(".leaflet-container").wait_for()
    fr = next(f for f in page.frames if "/peta/map.html" in f.url)
    fr.wait_for_function(MAP_READY)
    # the whole map in the window: clicking it focuses the map, which would scroll the page
    page.evaluate("window.scrollTo(0, document.getElementById('map-frame').getBoundingClientRect()"
                  ".top + window.scrollY - 8)")
    return fr


def screen_point(page, fr, lat: float, lon: float) -> tuple[float, float]:
    p = fr.evaluate("([lat, lon]) => { const p = window.plannerMap.latLngToContainerPoint([lat, lon]);"
                    " return [p.x, p.y]; }", [lat, lon])
    box = page.locator("#map-frame").bounding_box()
    return box["x"] + p[0], box["y"] + p[1]


def drag_stop(page, fr, code: str, lat: float, lon: float) -> None:
    box = fr.locator(f'.planner-stop-point[data-code="{code}"]').bounding_box()
    x0, y0 = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    x1, y1 = screen_point(page, fr, lat, lon)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=10)
    page.mouse.up()


def test_drag_a_stop_marker_on_the_map(site, page, browser_login, assert_clean):
    app, base = site
    browser_login(page, base, app, "coordinator")
    fr = open_map(page, base)
    # the hostile name reaches the marker's tooltip as text
    fr.evaluate("() => window.plannerMap.setView([-2.40, 112.90], 12, {animate: false})")
    fr.locator(f'.planner-stop-point[data-code="{HOSTILE_CODE}"]').hover()
    assert "<script>alert('x')</script> Desa" in fr.locator(".leaflet-tooltip").last.inner_text()
    # inside the village: saved when released
    fr.evaluate("() => window.plannerMap.setView([-2.31, 113.05], 12, {animate: false})")
    drag_stop(page, fr, MOVED, -2.315, 113.06)
    status = page.locator("#stop-status")
    status.filter(has_text="disimpan").wait_for()
    s = stored(app, MOVED)
    assert abs(s["stop_lat"] + 2.315) < 0.002 and abs(s["stop_lon"] - 113.06) < 0.002
    assert s["stop_manual"] and s["access_source"] == "manual"
    assert page.locator(f"tr[id='v-{MOVED}']").get_attribute("data-lat") == str(s["stop_lat"])
    # outside the village: the page asks first; "Batal" puts the marker back
    drag_stop(page, fr, MOVED, -2.37, 113.05)
    page.locator("#stop-question").wait_for()
    assert "di luar batas desa" in status.inner_text()
    page.click("#stop-cancel")
    assert stored(app, MOVED)["stop_lat"] == s["stop_lat"]
    # ... and confirming saves it
    drag_stop(page, fr, MOVED, -2.37, 113.05)
    page.locator("#stop-question").wait_for()
    page.click("#stop-confirm")
    status.filter(has_text="disimpan").wait_for()
    assert abs(stored(app, MOVED)["stop_lat"] + 2.37) < 0.002
    # the village popup links to the village page
    fr.evaluate(f"() => window.plannerFocus({MOVED!r})")
    link = fr.locator(".leaflet-popup-content a.planner-edit-link")
    assert link.inner_text() == "Ubah atribut"
    assert link.get_attribute("href").endswith(f"/desa/{MOVED}")
    assert_clean(page)


def test_edit_access_on_the_village_page_in_both_languages(site, page, browser_login,
                                                           assert_clean):
    app, base = site
    browser_login(page, base, app, "coordinator")
    page.goto(f"{base}/desa/{EDITED}?lang=id")
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.locator("#village-save").inner_text() == "Simpan"
    page.check("input[name=access][value=river]")
    page.check("input[name=signal][value=no]")
    page.select_option("#lodging", "kecamatan_office")
    page.fill("#note", "Perahu dari dermaga <pasar>")
    page.click("#village-save")
    page.locator(".flash-success", has_text="disimpan").wait_for()
    s = stored(app, EDITED)
    assert (s["access"], s["no_signal"], s["lodging"], s["note"], s["access_source"]) == (
        "river", True, "kecamatan_office", "Perahu dari dermaga <pasar>", "manual")
    assert page.locator("#note").input_value() == "Perahu dari dermaga <pasar>"

    page.goto(f"{base}/desa/{EDITED}?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#village-save").inner_text() == "Save"
    assert page.locator("input[name=access][value=river]").is_checked()
    page.check("input[name=access][value=both]")
    page.click("#village-save")
    page.locator(".flash-success").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"
    assert stored(app, EDITED)["access"] == "both"
    assert page.locator("input[name=access][value=both]").is_checked()
    assert_clean(page)
