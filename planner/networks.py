"""The regency's network layers in the database, and the routing graph built from them.

Services (call them inside an app context; the CLI ``planner import-network``, ``planner network
...`` and ``planner calibrate`` use them):

* :func:`import_layer` reads a file in the sandboxed child (``planner.importer.network``) and
  stores it as one :class:`~planner.models.NetworkLayer` in one transaction, audited
  (``network.import``); ``replace=True`` first removes the layers of the same kind and name.
  :func:`remove_layer` (``network.remove``), :func:`list_layers`.
* :func:`build_network` -- the :class:`planner.network.Network` of every road, river and pier
  layer, cached per process (keyed by the database, the layers' ids and import times and the
  network settings), so a plan pays the build (a few seconds for 100,000 edges) once.
* :func:`travel_source` -- a :class:`planner.network.NetworkTravel` for new plans (None when no
  road or river layer is imported): what ``planner.pipeline.travel_source`` returns for the
  travel source ``network``.
* :func:`suggest_piers` / :func:`save_piers`, :func:`set_mouths`, :func:`calibrate_file` /
  :func:`save_calibration`.

Settings (``settings`` table, key ``network``; :data:`SETTING_DEFAULTS`)::

    {"speeds": {"road_kmh": {...}, "river_kmh": {...}, "current_kmh": {...},
                "min_boat_kmh": 4, "access_kmh": 4.5},
     "snap_km": 5, "mouths": [[lat, lon], ...], "auto_piers_km": 2, "auto_piers_spacing_km": 5,
     "calibration": {"file", "at", "legs", "fitted_legs", "rmse_before_min",
                     "rmse_after_min", "factors": {"road:primary": 1.08, ...}}}

Piers: the imported pier layers; without any, the office's ``TravelParams.piers``; without
those, the suggested ones (road ends within ``auto_piers_km`` of a river, at most one per
``auto_piers_spacing_km``; ``auto_piers_km`` 0 turns this off).

Plain Python over the persistence layer (no Flask import).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import select

from . import audit
from . import network as netmod
from .extensions import db
from .models import NetworkLayer, TeamBase, Village, utcnow
from .travel import GreatCircleTravel, TravelParams

SETTING_KEY = "network"
SETTING_DEFAULTS: dict[str, Any] = {"speeds": {}, "snap_km": netmod.SNAP_KM, "mouths": [],
                                    "auto_piers_km": 2.0, "auto_piers_spacing_km": 5.0}
_CACHE: dict[tuple, netmod.Network] = {}
_LOCK = threading.Lock()


# --------------------------------------------------------------------------- settings
def network_settings() -> dict:
    """The ``network`` setting with the defaults filled in."""
    from . import settings

    value = settings.get(SETTING_KEY) or {}
    out = copy.deepcopy(SETTING_DEFAULTS)
    out.update({k: v for k, v in value.items() if v is not None})
    return out


def speeds(value: dict | None = None) -> netmod.NetworkSpeeds:
    return netmod.NetworkSpeeds.from_dict((value or network_settings()).get("speeds") or {})


def _put_settings(value: dict, *, commit: bool = True) -> None:
    from . import settings

    settings.put(SETTING_KEY, value, commit=commit)


def set_mouths(mouths: list[tuple[float, float]]) -> dict:
    """Mark the river mouths (``(lat, lon)``; empty: flow follows the lines' drawing
    direction). Audited as ``setting.network``."""
    for lat, lon in mouths:
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise netmod.NetworkError(f"koordinat muara {lat}, {lon} di luar rentang")
    value = network_settings()
    value["mouths"] = [[float(a), float(b)] for a, b in mouths]
    _put_settings(value)
    return value


# --------------------------------------------------------------------------- layers
def _wkb_hex(geoms) -> str:
    geoms = list(geoms)
    if all(g.geom_type == "Point" for g in geoms):
        multi = shapely.multipoints(geoms)
    else:
        multi = shapely.multilinestrings(geoms)
    return shapely.to_wkb(multi, hex=True)


def import_layer(path, *, kind: str, filename: str | None = None, name: str | None = None,
                 replace: bool = False) -> dict:
    """Read, check and store a network layer (all or nothing). Returns a summary:
    ``id, kind, name, file, parts, km, replaced, summary`` (the import summary of
    ``planner.importer.network``)."""
    from .importer import ImportProblem, sandbox

    filename = filename or Path(path).name
    if kind not in ("road", "river", "pier"):
        raise ImportProblem(f'jenis lapisan "{str(kind)[:30]}" tidak dikenal; pakai road (jalan), '
                            "river (sungai) atau pier (dermaga)", file=filename)
    frame = sandbox.run("network", (str(path), filename, kind), filename=filename)
    summary = dict(frame.attrs.get("summary") or {})
    name = (name or filename)[:200]
    who = audit.current_actor()
    try:
        replaced = []
        if replace:
            old = db.session.scalars(select(NetworkLayer).where(
                NetworkLayer.kind == kind, NetworkLayer.name == name)).all()
            for layer in old:
                replaced.append(layer.id)
                db.session.delete(layer)
        layer = NetworkLayer(
            kind=kind, name=name, source_file=filename[:300], created_by=who.name[:120],
            feature_count=int(len(frame)), km=float(summary.get("km") or 0.0),
            geometry_wkb=_wkb_hex(frame.geometry.values),
            part_classes=json.dumps([str(c) for c in frame["class"]]),
            part_names=json.dumps([n if isinstance(n, str) else None for n in frame["name"]],
                                  ensure_ascii=False) if frame["name"].notna().any() else None,
            classes=summary)
        db.session.add(layer)
        db.session.flush()
        audit.record("network.import", f"{kind}:{name}"[:200],
                     after={"id": layer.id, "kind": kind, "name": name, "file": filename,
                            "parts": int(len(frame)), "km": layer.km, "replaced": replaced})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    clear_cache()
    return {"id": layer.id, "kind": kind, "name": name, "file": filename, "parts": int(len(frame)),
            "km": layer.km, "replaced": replaced, "summary": summary}


def list_layers() -> list[dict]:
    rows = db.session.execute(select(
        NetworkLayer.id, NetworkLayer.kind, NetworkLayer.name, NetworkLayer.source_file,
        NetworkLayer.created_at, NetworkLayer.created_by, NetworkLayer.feature_count,
        NetworkLayer.km, NetworkLayer.classes).order_by(NetworkLayer.kind, NetworkLayer.id)).all()
    return [{"id": r.id, "kind": r.kind, "name": r.name, "file": r.source_file,
             "created_at": r.created_at, "created_by": r.created_by, "parts": r.feature_count,
             "km": r.km, "summary": r.classes or {}} for r in rows]


def remove_layer(layer_id: int) -> dict:
    layer = db.session.get(NetworkLayer, int(layer_id))
    if layer is None:
        raise LookupError(f"lapisan jaringan {layer_id} tidak ada")
    info = {"id": layer.id, "kind": layer.kind, "name": layer.name, "parts": layer.feature_count}
    try:
        db.session.delete(layer)
        audit.record("network.remove", f"{layer.kind}:{layer.name}"[:200], before=info)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    clear_cache()
    return info


def _layer_parts(layer: NetworkLayer):
    multi = shapely.from_wkb(layer.geometry_wkb)
    parts = np.asarray(shapely.get_parts(multi), dtype=object)
    classes = np.array(json.loads(layer.part_classes or "[]"), dtype=object)
    names = json.loads(layer.part_names) if layer.part_names else [None] * len(parts)
    if len(classes) != len(parts):  # pragma: no cover - a row written by hand
        classes = np.array([netmod.DEFAULT_CLASS] * len(parts), dtype=object)
    return parts, classes, names


def layer_lines(kind: str) -> netmod.Lines | None:
    """Every stored layer of ``kind`` (road or river) as one :class:`planner.network.Lines`."""
    layers = db.session.scalars(select(NetworkLayer).where(NetworkLayer.kind == kind)
                                .order_by(NetworkLayer.id)).all()
    geoms, classes = [], []
    for layer in layers:
        g, c, _ = _layer_parts(layer)
        geoms.append(g)
        classes.append(c)
    if not geoms:
        return None
    return netmod.Lines(kind, np.concatenate(geoms), np.concatenate(classes))


def pier_points() -> pd.DataFrame:
    """Every stored pier: ``name, lat, lon``."""
    rows = []
    for layer in db.session.scalars(select(NetworkLayer).where(NetworkLayer.kind == "pier")
                                    .order_by(NetworkLayer.id)).all():
        parts, _, names = _layer_parts(layer)
        for p, n in zip(parts, names, strict=True):
            rows.append({"name": n or f"Dermaga ({layer.name})", "lat": p.y, "lon": p.x})
    return pd.DataFrame(rows, columns=["name", "lat", "lon"])


# --------------------------------------------------------------------------- the graph
def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def _cache_key(value: dict, params: TravelParams) -> tuple:
    rows = db.session.execute(select(NetworkLayer.id, NetworkLayer.kind, NetworkLayer.created_at,
                                     NetworkLayer.feature_count)).all()
    layers = tuple(sorted((r.id, r.kind, str(r.created_at), r.feature_count) for r in rows))
    # the database is part of the key: one process may serve several (tests, tools)
    return (str(db.engine.url), layers, json.dumps(value.get("mouths") or []),
            float(value.get("auto_piers_km") or 0),
            float(value.get("auto_piers_spacing_km") or 0), tuple(params.piers))


def build_network(params: TravelParams | None = None) -> netmod.Network | None:
    """The graph of all stored layers (cached; None without a road or river layer). Notes on
    how piers were chosen are in ``Network.notes``."""
    params = params or TravelParams()
    value = network_settings()
    key = _cache_key(value, params)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    roads, rivers = layer_lines("road"), layer_lines("river")
    if roads is None and rivers is None:
        return None
    piers = pier_points()
    note = None
    if piers.empty and params.piers:
        piers = pd.DataFrame({"name": [f"Dermaga {i + 1}" for i in range(len(params.piers))],
                              "lat": [p[0] for p in params.piers],
                              "lon": [p[1] for p in params.piers]})
    auto_km = float(value.get("auto_piers_km") or 0)
    if piers.empty and roads is not None and rivers is not None and auto_km > 0:
        sug = netmod.suggest_piers(roads, rivers, auto_km,
                                   float(value.get("auto_piers_spacing_km") or 0))
        piers = pd.DataFrame({"name": [f"Usulan {i + 1}" for i in range(len(sug))],
                              "lat": sug["lat"], "lon": sug["lon"]})
        note = (f"{len(sug)} dermaga diusulkan otomatis (ujung jalan dalam {auto_km:g} km dari "
                "sungai); impor lapisan dermaga untuk memakai dermaga yang sebenarnya")
    net = netmod.Network.build(roads, rivers, piers=piers if not piers.empty else None,
                               mouths=[tuple(m) for m in value.get("mouths") or []])
    if note:
        net.notes.insert(0, note)
    with _LOCK:
        if len(_CACHE) >= 2:
            _CACHE.clear()
        _CACHE[key] = net
    return net


def travel_source(params: TravelParams | None = None, *,
                  fallback: GreatCircleTravel | None = None) -> netmod.NetworkTravel | None:
    """The travel source along the stored network with the office's network settings (speeds,
    snap distance), or None when no road or river layer is imported."""
    params = params or TravelParams()
    value = network_settings()
    net = build_network(params)
    if net is None:
        return None
    return netmod.NetworkTravel(net, params, fallback or GreatCircleTravel(params),
                                snap_km=float(value.get("snap_km") or netmod.SNAP_KM),
                                speeds=speeds(value))


# --------------------------------------------------------------------------- piers
def suggest_piers(max_km: float = 2.0, spacing_km: float = 0.0) -> pd.DataFrame:
    """Road ends within ``max_km`` of a river (see ``planner.network.suggest_piers``)."""
    roads, rivers = layer_lines("road"), layer_lines("river")
    if roads is None or rivers is None:
        raise netmod.NetworkError("usulan dermaga perlu lapisan jalan dan lapisan sungai; impor "
                                  "keduanya dulu (planner import-network BERKAS --kind road|river)")
    return netmod.suggest_piers(roads, rivers, max_km, spacing_km)


def save_piers(frame: pd.DataFrame, *, name: str = "Dermaga usulan", replace: bool = True) -> dict:
    """Store points (``lat, lon[, name]``) as a pier layer (audited ``network.import``)."""
    if frame.empty:
        raise netmod.NetworkError("tidak ada dermaga untuk disimpan")
    names = [str(n) for n in frame["name"]] if "name" in frame.columns else \
        [f"Dermaga {i + 1}" for i in range(len(frame))]
    geoms = shapely.points(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
    try:
        replaced = []
        if replace:
            for layer in db.session.scalars(select(NetworkLayer).where(
                    NetworkLayer.kind == "pier", NetworkLayer.name == name)).all():
                replaced.append(layer.id)
                db.session.delete(layer)
        layer = NetworkLayer(kind="pier", name=name[:200], source_file=None,
                             created_by=audit.current_actor().name[:120],
                             feature_count=len(frame), km=0.0, geometry_wkb=_wkb_hex(geoms),
                             part_classes=json.dumps(["pier"] * len(frame)),
                             part_names=json.dumps(names, ensure_ascii=False),
                             classes={"kind": "pier", "parts": len(frame), "suggested": True})
        db.session.add(layer)
        db.session.flush()
        audit.record("network.import", f"pier:{name}"[:200],
                     after={"id": layer.id, "kind": "pier", "name": name, "parts": len(frame),
                            "suggested": True, "replaced": replaced})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    clear_cache()
    return {"id": layer.id, "parts": len(frame), "replaced": replaced}


# --------------------------------------------------------------------------- calibration
def known_points() -> pd.DataFrame:
    """Villages (by code) and active team bases (by name), as points for known legs; bases
    are ``both`` (a boat may leave from the office's pier, as in the engine)."""
    rows = [{"code": v.code, "name": v.name, "lat": v.stop_lat, "lon": v.stop_lon,
             "access": v.access or "road"}
            for v in db.session.scalars(select(Village).order_by(Village.code)).all()]
    for b in db.session.scalars(select(TeamBase).where(TeamBase.archived.is_(False))).all():
        rows.append({"code": b.name, "name": b.name, "lat": b.lat, "lon": b.lon, "access": "both"})
    frame = pd.DataFrame(rows, columns=["code", "name", "lat", "lon", "access"])
    return frame.drop_duplicates("code", keep="first").reset_index(drop=True)


def calibrate_file(path, params: TravelParams | None = None) -> netmod.Calibration:
    """Known legs from ``path`` (``planner.network.read_known_legs``) against the stored
    network with the current settings; nothing is saved."""
    params = params or TravelParams()
    legs = netmod.read_known_legs(path)
    net = build_network(params)
    if net is None:
        raise netmod.NetworkError("belum ada lapisan jalan atau sungai; impor dulu "
                                  "(planner import-network BERKAS --kind road|river)")
    value = network_settings()
    return netmod.calibrate(net, known_points(), legs, params=params, speeds=speeds(value),
                            snap_km=float(value.get("snap_km") or netmod.SNAP_KM))


def save_calibration(cal: netmod.Calibration, *, file: str | None = None) -> dict:
    """Store the fitted speeds and the calibration summary in the ``network`` setting
    (audited ``setting.network``)."""
    value = network_settings()
    value["speeds"] = cal.speeds.to_dict()
    value["calibration"] = {**cal.summary(), "file": file,
                            "at": utcnow().replace(microsecond=0).isoformat()}
    _put_settings(value)
    return value


def iso(d: dt.datetime | None) -> str:
    return d.strftime("%Y-%m-%d %H:%M") if d else ""
