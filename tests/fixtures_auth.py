"""A pytest plugin (loaded by tests/conftest.py): accounts for the tests.

Every Flask test client of the suite is logged in as a test admin unless it is made with
``app.test_client(login_as=None)`` (anonymous) or ``login_as=<role>`` / a ``User``: the login
is a real Flask-Login session for a real account in the test database (the login form itself
is tested in tests/test_accounts.py). Browser tests log in through the login page with
``browser_login(page, base_url, app, role)``.

Fixtures: ``make_user(app, role, team=None)``, ``client_as(app, role, team=None)``,
``browser_login``.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

PASSWORD = "kata-sandi-uji-123"


def ensure_user(app, role: str, *, team: str | None = None, username: str | None = None):
    """The test account for ``role`` (created on first use in this database)."""
    from planner import accounts, audit

    username = username or f"uji-{role}" + (f"-{team}".replace(" ", "-").lower() if team else "")
    with app.app_context():
        user = accounts.by_username(username)
        if user is None:
            with audit.acting_as(None, "test"):
                user = accounts.create(username, PASSWORD, role, team=team)
        return user.id, f"{user.id}.{user.session_version}", user.username


class PlannerClient(FlaskClient):
    """A test client that starts logged in (``login_as``: a role, or None for anonymous)."""

    def __init__(self, *args, login_as: str | None = "admin", team: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = None
        if login_as:
            self.login(login_as, team=team)

    def login(self, role: str, *, team: str | None = None) -> None:
        user_id, session_id, username = ensure_user(self.application, role, team=team)
        with self.session_transaction() as s:
            s["_user_id"] = session_id
            s["_fresh"] = True
        self.user = username


Flask.test_client_class = PlannerClient


@pytest.fixture(scope="session")
def make_user():
    return ensure_user


@pytest.fixture(scope="session")
def client_as():
    def make(app, role: str | None, team: str | None = None) -> PlannerClient:
        return app.test_client(login_as=role, team=team)

    return make


def _browser_login(page, base_url: str, app, role: str = "admin", team: str | None = None) -> None:
    """Log ``page`` in through the real login form (the account is created if needed)."""
    _id, _sid, username = ensure_user(app, role, team=team)
    page.goto(f"{base_url}/masuk")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_load_state()
    assert "/masuk" not in page.url, f"login as {username} failed: {page.url}"


@pytest.fixture(scope="session")
def browser_login():
    return _browser_login
