"""Office settings kept in the database (``settings`` table, one JSON value per key), changed
on the settings pages and read by the services:

* ``travel``: the travel model new plans use — ``{"source": builtin|network|matrix|osrm, "file"?,
  "url"?, "settings": {road_speed_kmh, road_circuity, road_cost_per_km, river_speed_kmh,
  river_circuity, river_cost_per_km, dry_season_factor, pier_transfer_min}}`` (the
  ``travel`` part of ``plan-params/1``; checked by ``planner.params``). Until the office
  chooses, new plans use ``network`` as soon as a road or river layer is imported (a regency
  that imported its roads and rivers expects plans to follow them), else ``builtin``;
* ``network``: the network's speeds, snap distance, river mouths, suggested piers and
  calibration (``planner.networks.network_settings``);
* ``public_base_url``: the address printed on day sheets and share links (default: the
  ``PLANNER_PUBLIC_BASE_URL`` configuration).

Every change is in the audit log (``setting.<key>``, before/after). Plain Python over the
persistence layer (no Flask import).
"""

from __future__ import annotations

import copy
from typing import Any

from . import audit
from .extensions import db
from .models import Setting, utcnow

DEFAULTS: dict[str, Any] = {
    "travel": {"source": "builtin", "settings": {}},
    "network": {},
}


#: Settings of the whole installation; the others belong to a regency (several regencies:
#: ``planner.regencies``).
INSTALLATION_KEYS = frozenset({"public_base_url"})


def stored_key(key: str) -> str:
    """The row a setting lives in: ``key`` for the installation's settings and for the default
    regency (a single-regency office sees plain keys), ``key@<regency id>`` for another regency
    chosen (its travel model, network speeds and river mouths are its own, starting from the
    defaults)."""
    from . import regencies

    rid = regencies.current_id()
    if key in INSTALLATION_KEYS or rid is None or regencies.current_is_default():
        return key
    return f"{key}@{rid}"


def get(key: str, default: Any = None) -> Any:
    row = db.session.get(Setting, stored_key(key))
    if row is None or row.value is None:
        return copy.deepcopy(DEFAULTS.get(key, default))
    return copy.deepcopy(row.value)


def is_set(key: str) -> bool:
    return db.session.get(Setting, stored_key(key)) is not None


def put(key: str, value: Any, *, commit: bool = True) -> None:
    """Store ``value`` under ``key`` (audited, before/after) — for the chosen regency unless it
    is an installation setting (:func:`stored_key`)."""
    row_key = stored_key(key)
    row = db.session.get(Setting, row_key)
    before = copy.deepcopy(row.value) if row is not None else None
    who = audit.current_actor()
    if row is None:
        row = Setting(key=row_key)
        db.session.add(row)
    row.value = copy.deepcopy(value)
    row.updated_at = utcnow()
    row.updated_by = who.name
    audit.record(f"setting.{key}", row_key, before={"value": before}, after={"value": value})
    if commit:
        db.session.commit()


def has_network() -> bool:
    """A road or river layer is imported (``planner import-network``)."""
    from sqlalchemy import select

    from .models import NetworkLayer

    return db.session.execute(select(NetworkLayer.id).where(
        NetworkLayer.kind.in_(("road", "river"))).limit(1)).first() is not None


def travel_choice() -> dict:
    """The office's travel model as the ``travel`` part of a plan request. Not chosen yet:
    ``network`` when a road or river layer is imported, else ``builtin``."""
    value = get("travel")
    source = value.get("source", "builtin")
    if not is_set("travel") and has_network():
        source = "network"
    out = {"source": source, "settings": dict(value.get("settings") or {})}
    for key in ("file", "url"):
        if value.get(key):
            out[key] = value[key]
    return out


def public_base_url(default: str) -> str:
    """Where phones reach the planner (QR codes, share links); ``default`` is the configuration."""
    value = get("public_base_url")
    return str(value).rstrip("/") if value else str(default).rstrip("/")


def is_loopback(url: str) -> bool:
    """A base URL that only this machine can open (phones in the field cannot)."""
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.") or host == "0.0.0.0"
