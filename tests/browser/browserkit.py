"""Browser test helpers (import them in tests: ``from browserkit import stub_tiles, ...``;
the fixtures live in conftest.py)."""

from __future__ import annotations

import base64
import os
from urllib.parse import urlparse

CHROMIUM = os.environ.get("PLANNER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
LOCAL_SCHEMES = {"file", "data", "blob", "about", "chrome-error"}
TILE_URL_GLOB = "**/tile.openstreetmap.org/**"
# 1×1 fully transparent PNG
BLANK_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR4nGNgAAIAAAUAAXpeqz8AAAAASUVORK5CYII="
)

def stub_tiles(page, url_glob: str = TILE_URL_GLOB) -> None:
    """Answer basemap tile requests locally with a blank PNG (they never leave the machine)."""

    def handle(route):
        page.stubbed_requests.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=BLANK_PNG)

    page.context.route(url_glob, handle)


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in LOCAL_SCHEMES:
        return True
    return parsed.scheme in {"http", "https", "ws"} and parsed.hostname in LOCAL_HOSTS


def external_requests(page) -> list[str]:
    stubbed = set(page.stubbed_requests)
    return [u for u in page.requests if not is_local(u) and u not in stubbed]


def assert_no_external_requests(page) -> None:
    ext = external_requests(page)
    assert not ext, f"{len(ext)} request(s) left localhost: {ext[:10]}"


def assert_no_console_errors(page) -> None:
    assert not page.console_errors, "console errors:\n" + "\n".join(page.console_errors)


