"""The ``planner`` console script: a Flask CLI group around ``planner.create_app``
(``planner run`` serves the app; ``planner --help`` lists every command)."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup


def _create_app(overrides: dict | None = None):
    """The app (``planner serve`` passes config overrides for its workers)."""
    from planner import create_app

    return create_app(overrides)


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False,
             load_dotenv=False, set_debug_flag=False)
def main():
    """Jemput Bola Planner (Perencana Jemput Bola)."""
