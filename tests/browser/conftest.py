"""Browser test fixtures (headless Debian Chromium driven by Playwright for Python).

For every area's browser tests:

* ``live_server(app) -> base_url``: serve a Flask app on 127.0.0.1 (free port) in a thread
  for the rest of the session (shut down at the end). Build the app with ``make_app`` (the
  helper of tests/conftest.py, also a fixture here) and load its data first.
* ``browser``: one Chromium for the session (``/usr/bin/chromium``, no downloads, no
  background networking).
* ``page``: a fresh context + page per test that records console errors, page errors, every
  request URL (``page.requests``) and requests answered by a local stub
  (``page.stubbed_requests``, see ``stub_tiles``), and dismisses and records any dialog (``page.dialogs``).
* ``assert_clean(page)`` (fixture): no console errors, no request left localhost, no dialog.

Helpers to import in tests (``from browserkit import ...``, tests/browser/browserkit.py):
``assert_no_console_errors(page)``, ``assert_no_external_requests(page)``, and
``stub_tiles(page)``, which answers OpenStreetMap tile requests with a local blank PNG so a
page with the basemap on (real data: ``dataset.basemap``) never talks to the internet.

Run only these: ``pytest -m browser``; skip them: ``pytest -m "not browser"``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from pathlib import Path

import pytest
from browserkit import (  # noqa: F401  (re-exported for other areas' tests)
    BLANK_PNG,
    CHROMIUM,
    CHROMIUM_ARGS,
    assert_no_console_errors,
    assert_no_external_requests,
    external_requests,
    is_local,
    stub_tiles,
)
from werkzeug.serving import make_server

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _root_conftest():
    """tests/conftest.py as a module. ``import conftest`` is ambiguous once this directory is
    collected (both files are named conftest.py); tests/conftest.py registers itself as
    ``_planner_tests_root_conftest`` (one module, so one set of session database templates),
    and is loaded by path only if that did not happen."""
    mod = sys.modules.get("_planner_tests_root_conftest")
    if mod is None:
        spec = importlib.util.spec_from_file_location("_planner_tests_root_conftest", ROOT_CONFTEST)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
    return mod


def make_app(tmp_path, **overrides):
    """``make_app`` of tests/conftest.py, so ``from conftest import make_app`` works even when
    it resolves to this file."""
    return _root_conftest().make_app(tmp_path, **overrides)


def table_counts(app=None) -> dict[str, int]:
    """``table_counts`` of tests/conftest.py (rows per import table), for the same reason."""
    return _root_conftest().table_counts(app)


# the same, for the constants tests import from conftest
PG_URL = _root_conftest().PG_URL
IN_CI = _root_conftest().IN_CI


@pytest.fixture(scope="session", name="make_app")
def make_app_fixture():
    """The ``make_app(tmp_path, **overrides)`` helper as a fixture (for session-scoped apps)."""
    return make_app


@pytest.fixture(scope="session")
def live_server():
    """Factory: ``base_url = live_server(app)`` serves ``app`` until the session ends."""
    servers = []

    def start(app) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name=f"live-{server.port}",
                                  daemon=True)
        thread.start()
        servers.append((server, thread, app))
        return f"http://127.0.0.1:{server.port}"

    yield start
    for server, thread, app in servers:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            from planner.extensions import db

            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        msg = f"Chromium not found at {CHROMIUM} (apt-get install chromium chromium-driver; `make test` does it)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _watch(page, context) -> None:
    page.console_errors = []
    page.requests = []
    page.stubbed_requests = []
    page.dialogs = []
    page.on("console", lambda msg: page.console_errors.append(f"{msg.type}: {msg.text} @ {msg.location}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.console_errors.append(f"pageerror: {exc}"))
    context.on("request", lambda req: page.requests.append(req.url))

    def on_dialog(dialog):
        page.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)


@pytest.fixture
def page(browser):
    """A fresh page (own context, 1280×800, id locale) that records what it did."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="id-ID")
    pg = context.new_page()
    _watch(pg, context)
    pg.set_default_timeout(30000)
    yield pg
    context.close()


@pytest.fixture
def offline_page(browser):
    """Like ``page`` but the browser context is OFFLINE (for files opened from disk)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, offline=True)
    pg = context.new_page()
    _watch(pg, context)
    pg.set_default_timeout(30000)
    yield pg
    context.close()


@pytest.fixture(name="assert_clean")
def _assert_clean():
    """Both checks plus no dialogs, as one call: ``assert_clean(page)``."""

    def check(pg):
        assert_no_console_errors(pg)
        assert_no_external_requests(pg)
        assert not pg.dialogs, f"dialogs fired: {pg.dialogs}"

    return check
