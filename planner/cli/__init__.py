"""The ``planner`` commands, by area, each calling the same services as the pages do:

* ``db``: ``init-db``, ``load-demo``, ``generate-demo``;
* ``data``: ``import-villages``, ``import-recap``, ``rank``, ``map``;
* ``plans``: ``plan``, ``replan`` (through ``planner.pipeline``);
* ``sheets``: ``itinerary``, ``export``;
* ``users``: ``user create|list|disable|enable|set-password|set-role``;
* ``serve``: the office server (gunicorn);
* ``worker``: a Celery worker for plan jobs (``PLANNER_JOBS=celery``);
* ``regency``: ``regency list|add|grant|revoke`` (several regencies in one installation);
* ``batch``: one plan request for many regencies (``planner.batch``).

``init_app`` adds them to the app's CLI; the console script is ``planner.console:main`` (a
Flask CLI group, so ``planner run`` serves the app). Commands that read or write the database
are wrapped in ``common.needs_db``: on a database that was never initialised (or has an older
schema) they print one line saying what to run.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import (
        bases,
        batch,
        data,
        db,
        network,
        plans,
        regency,
        serve,
        sheets,
        users,
        villages,
        worker,
    )

    for module in (db, data, plans, sheets, users, serve, bases, villages, network, worker,
                   regency, batch):
        for command in module.COMMANDS:
            app.cli.add_command(command)
    from .results import results_group  # planner results import (issue 11)
    app.cli.add_command(results_group)
