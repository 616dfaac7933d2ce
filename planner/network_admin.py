"""What the network pages (``planner.web.network``) do beyond ``planner.networks``: piers one
at a time (added by coordinates or a click on the map, accepted from the suggestions, removed),
river mouths one at a time, the small map of the layers, and known legs against the model with
the one-click fit (the same ``planner.network.calibrate`` as ``planner calibrate``).

Every change is audited: ``network.pier_add`` / ``network.pier_remove`` (piers live in the
pier layers, ``planner.models.NetworkLayer``; a pier added here goes to the layer
:data:`MANUAL_LAYER`), ``setting.network`` for mouths and fitted speeds (through
``planner.networks``). Problems the coordinator can fix come as :class:`NetworkEditError`
holding a :class:`planner.msg.Msg` (translated by the page).

Plain Python over the persistence layer (no Flask import).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import select

from . import audit, maps, networks, repository
from . import network as netmod
from .extensions import db
from .models import NetworkLayer, TeamBase, utcnow
from .msg import Msg, _
from .travel import INF_MIN, TravelParams

MANUAL_LAYER = "Dermaga (ditambahkan di peta)"
_SUGGESTED: dict[tuple, pd.DataFrame] = {}  # the last suggestions, keyed by the layers and settings
_LOCK = threading.Lock()
NAME_MAX = 120
SAME_PIER_M = 25.0  # a pier this close to another is the same landing
LAT_RANGE = (-11.5, 6.5)
LON_RANGE = (94.0, 142.0)
KIND_STYLE = {"road": {"color": "#8c510a", "weight": 2, "opacity": 0.85},
              "river": {"color": "#2b83ba", "weight": 3, "opacity": 0.9}}
MAP_LABELS = {
    "road": _("Jalan"), "river": _("Sungai"), "pier": _("Dermaga"),
    "suggested": _("Usulan dermaga"), "mouth": _("Muara sungai"),
}


class NetworkEditError(ValueError):
    """A change the coordinator asked for that cannot be made (``msg`` says why)."""

    def __init__(self, msg: Msg):
        super().__init__(str(msg))
        self.msg = msg


# --------------------------------------------------------------------------- coordinates
def coordinates(lat, lon) -> tuple[float, float]:
    """A point typed or clicked by a person (``-2,54`` and a Unicode minus are fine), inside
    Indonesia."""
    from .roster import parse_number

    a, b = parse_number(lat), parse_number(lon)
    if a is None or b is None:
        raise NetworkEditError(_("Isi lintang dan bujur (mis. -2,54 dan 112,95), atau klik peta."))
    if math.isnan(a) or math.isnan(b):
        raise NetworkEditError(_("Lintang dan bujur harus angka desimal (mis. -2,54 dan 112,95)."))
    if not (LAT_RANGE[0] <= a <= LAT_RANGE[1] and LON_RANGE[0] <= b <= LON_RANGE[1]):
        raise NetworkEditError(_("Titik %(lat)s, %(lon)s di luar Indonesia: periksa urutan lintang "
                                 "dan bujur.", lat=format(a, ".5f"), lon=format(b, ".5f")))
    return a, b


def _metres(lat1, lon1, lat2, lon2) -> np.ndarray:
    from .travel import great_circle_km

    return np.asarray(great_circle_km(lat1, lon1, lat2, lon2), float) * 1000.0


# --------------------------------------------------------------------------- piers
def _parts(layer: NetworkLayer):
    multi = shapely.from_wkb(layer.geometry_wkb)
    parts = list(shapely.get_parts(multi))
    names = json.loads(layer.part_names) if layer.part_names else [None] * len(parts)
    return parts, names


def piers() -> list[dict]:
    """Every stored pier: ``layer_id, layer, index, name, lat, lon`` (the index within its
    layer, for removing it)."""
    out = []
    for layer in db.session.scalars(select(NetworkLayer).where(NetworkLayer.kind == "pier")
                                    .order_by(NetworkLayer.id)).all():
        parts, names = _parts(layer)
        for i, (p, n) in enumerate(zip(parts, names, strict=False)):
            out.append({"layer_id": layer.id, "layer": layer.name, "index": i,
                        "name": n or f"Dermaga {i + 1} ({layer.name})",
                        "lat": float(p.y), "lon": float(p.x)})
    return out


def _write_points(layer: NetworkLayer, parts: list, names: list) -> None:
    layer.geometry_wkb = shapely.to_wkb(shapely.multipoints(parts), hex=True)
    layer.part_classes = json.dumps(["pier"] * len(parts))
    layer.part_names = json.dumps(names, ensure_ascii=False)
    layer.feature_count = len(parts)
    summary = dict(layer.classes or {})
    summary.update(kind="pier", parts=len(parts))
    layer.classes = summary
    # the routing graph's cache key holds the layers' times and counts: mark the change
    layer.created_at = utcnow()
    layer.created_by = audit.current_actor().name[:120]


def add_pier(lat, lon, name: str | None = None, *, suggested: bool = False) -> dict:
    """Add one pier (to :data:`MANUAL_LAYER`, made when missing). Audited ``network.pier_add``."""
    a, b = coordinates(lat, lon)
    name = " ".join(str(name or "").split())[:NAME_MAX]
    existing = piers()
    if existing:
        d = _metres(a, b, np.array([p["lat"] for p in existing]), np.array([p["lon"] for p in existing]))
        k = int(np.argmin(d))
        if d[k] < SAME_PIER_M:
            raise NetworkEditError(_("Sudah ada dermaga \"%(name)s\" %(m)s m dari titik itu.",
                                     name=existing[k]["name"], m=int(round(float(d[k])))))
    layer = db.session.scalars(select(NetworkLayer).where(
        NetworkLayer.kind == "pier", NetworkLayer.name == MANUAL_LAYER)
        .order_by(NetworkLayer.id)).first()
    try:
        if layer is None:
            parts, names = [], []
            layer = NetworkLayer(kind="pier", name=MANUAL_LAYER, source_file=None, km=0.0,
                                 classes={"kind": "pier", "parts": 0})
            db.session.add(layer)
        else:
            parts, names = _parts(layer)
            names = [n or f"Dermaga {i + 1}" for i, n in enumerate(names)]
        name = name or (f"Dermaga usulan {len(parts) + 1}" if suggested else f"Dermaga {len(parts) + 1}")
        parts.append(shapely.Point(b, a))
        names.append(name)
        _write_points(layer, parts, names)
        db.session.flush()
        audit.record("network.pier_add", f"pier:{name}"[:200],
                     after={"layer": layer.id, "name": name, "lat": round(a, 6), "lon": round(b, 6),
                            "suggested": suggested})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    networks.clear_cache()
    return {"layer_id": layer.id, "name": name, "lat": a, "lon": b}


def remove_pier(layer_id, index) -> dict:
    """Remove one pier from its layer (the layer goes with its last pier). Audited
    ``network.pier_remove``."""
    try:
        layer = db.session.get(NetworkLayer, int(layer_id))
        index = int(index)
    except (TypeError, ValueError, OverflowError):
        layer = None
    if layer is None or layer.kind != "pier":
        raise NetworkEditError(_("Dermaga itu tidak ada lagi (mungkin sudah dihapus)."))
    parts, names = _parts(layer)
    if not 0 <= index < len(parts):
        raise NetworkEditError(_("Dermaga itu tidak ada lagi (mungkin sudah dihapus)."))
    gone = {"layer": layer.id, "layer_name": layer.name,
            "name": names[index] or f"Dermaga {index + 1}",
            "lat": round(float(parts[index].y), 6), "lon": round(float(parts[index].x), 6)}
    try:
        del parts[index]
        del names[index]
        if parts:
            _write_points(layer, parts, [n or f"Dermaga {i + 1}" for i, n in enumerate(names)])
        else:
            db.session.delete(layer)
        audit.record("network.pier_remove", f"pier:{gone['name']}"[:200], before=gone)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    networks.clear_cache()
    return gone


def suggestions() -> tuple[pd.DataFrame, Msg | None]:
    """Road ends within the set distance (``network.auto_piers_km``, 2 km by default) of a
    river, without the ones a stored pier already covers; with the reason when there can be
    none."""
    value = networks.network_settings()
    max_km = float(value.get("auto_piers_km") or 0) or 2.0
    spacing = float(value.get("auto_piers_spacing_km") or 0)
    rows = db.session.execute(select(NetworkLayer.id, NetworkLayer.created_at,
                                     NetworkLayer.feature_count)
                              .where(NetworkLayer.kind.in_(("road", "river")))).all()
    key = (tuple(sorted((r.id, str(r.created_at), r.feature_count) for r in rows)), max_km, spacing)
    with _LOCK:  # the page and its map ask twice; a large network takes seconds to build
        sug = _SUGGESTED.get(key)
    if sug is None:
        try:
            sug = networks.suggest_piers(max_km, spacing)
        except netmod.NetworkError:
            return pd.DataFrame(columns=["lat", "lon", "river_lat", "river_lon", "km"]), _(
                "Usulan dermaga perlu lapisan jalan dan lapisan sungai.")
        with _LOCK:
            _SUGGESTED.clear()
            _SUGGESTED[key] = sug
    sug = sug.copy()
    have = piers()
    if len(sug) and have:
        plat = np.array([p["lat"] for p in have])
        plon = np.array([p["lon"] for p in have])
        keep = [float(_metres(r.lat, r.lon, plat, plon).min()) >= SAME_PIER_M * 4
                for r in sug.itertuples()]
        sug = sug[np.array(keep, bool)].reset_index(drop=True)
    return sug, None


def max_suggest_km() -> float:
    return float(networks.network_settings().get("auto_piers_km") or 0) or 2.0


# --------------------------------------------------------------------------- mouths
def mouths() -> list[tuple[float, float]]:
    return [(float(a), float(b)) for a, b in networks.network_settings().get("mouths") or []]


def add_mouth(lat, lon) -> tuple[float, float]:
    """Mark a river mouth (audited ``setting.network``, as ``planner network mouth``)."""
    a, b = coordinates(lat, lon)
    now = mouths()
    if any(_metres(a, b, x, y) < SAME_PIER_M for x, y in now):
        raise NetworkEditError(_("Muara itu sudah ditandai."))
    networks.set_mouths([*now, (a, b)])
    networks.clear_cache()
    return a, b


def remove_mouth(index) -> tuple[float, float]:
    now = mouths()
    try:
        index = int(index)
    except (TypeError, ValueError, OverflowError):
        index = -1
    if not 0 <= index < len(now):
        raise NetworkEditError(_("Muara itu tidak ada lagi (mungkin sudah dihapus)."))
    gone = now.pop(index)
    networks.set_mouths(now)
    networks.clear_cache()
    return gone


# --------------------------------------------------------------------------- the map
def _line_features(layer: NetworkLayer, tolerance: float) -> list[dict]:
    multi = shapely.from_wkb(layer.geometry_wkb)
    simple = shapely.simplify(multi, tolerance, preserve_topology=False)
    simple = shapely.set_precision(simple, 1e-5)
    if simple is None or simple.is_empty:
        return []
    return [{"type": "Feature", "properties": {},
             "geometry": shapely.geometry.mapping(simple)}]


def layers_map(*, asset_base: str = maps.DEFAULT_ASSET_BASE, labels: Mapping | None = None,
               locale: str = "id", tiles: bool | None = None, gettext=None,
               tolerance: float = 0.0002):
    """A small map of the network: one toggle per road/river layer, the piers, the suggested
    piers (dashed circles), the marked river mouths and the team bases. Lines are simplified
    for the screen (``tolerance`` degrees, about 20 m). Every name is escaped; the page adds
    the click handler (``window.plannerMap``)."""
    import folium

    from .roster import INDONESIA_BOUNDS, active_bases

    def t(msg: Msg) -> str:
        return msg.translate(gettext, locale) if gettext is not None else str(msg)

    m = maps.new_map(asset_base=asset_base, locale=locale)
    dataset = repository.current_dataset()
    if tiles is None:
        tiles = dataset is None or bool(dataset.basemap)
    if tiles:
        maps.add_basemap(m, on=True, labels=labels)
    layers = db.session.scalars(select(NetworkLayer).order_by(NetworkLayer.kind, NetworkLayer.id)).all()
    for layer in layers:
        if layer.kind not in KIND_STYLE:
            continue
        feats = _line_features(layer, tolerance)
        if not feats:
            continue
        style = KIND_STYLE[layer.kind]
        swatch = f'<span style="color:{style["color"]}">━</span> '
        group = folium.FeatureGroup(name=f"{swatch}{maps.esc(t(MAP_LABELS[layer.kind]))}: "
                                         f"{maps.esc(layer.name)}")
        folium.GeoJson({"type": "FeatureCollection", "features": feats},
                       style_function=lambda _f, s=style: s, interactive=False).add_to(group)
        group.add_to(m)
        b = shapely.bounds(shapely.from_wkb(layer.geometry_wkb))
        m._planner_bounds.append(tuple(float(x) for x in b))
        m._planner_layers[f"{layer.kind}-{layer.id}"] = group
    have = piers()
    group = folium.FeatureGroup(name=maps.esc(t(MAP_LABELS["pier"])))
    for p in have:
        mk = folium.CircleMarker([round(p["lat"], 5), round(p["lon"], 5)], radius=6,
                                 color="#000000", weight=2, fill=True, fill_color="#ffd92f",
                                 fill_opacity=1)
        maps.SafeTooltip(f"<b>{maps.esc(p['name'])}</b>").add_to(mk)
        mk.add_to(group)
    if have:
        lats, lons = [p["lat"] for p in have], [p["lon"] for p in have]
        m._planner_bounds.append((min(lons), min(lats), max(lons), max(lats)))
    group.add_to(m)
    m._planner_layers["piers"] = group
    sug, _why = suggestions()
    if len(sug):
        group = folium.FeatureGroup(name=maps.esc(t(MAP_LABELS["suggested"])))
        for i, r in enumerate(sug.itertuples(), start=1):
            mk = folium.CircleMarker([round(r.lat, 5), round(r.lon, 5)], radius=7, color="#e6550d",
                                     weight=2, dash_array="3 3", fill=False)
            maps.SafeTooltip(f"{maps.esc(t(MAP_LABELS['suggested']))} {i} "
                             f"({r.km:.2f} km)").add_to(mk)
            mk.add_to(group)
        group.add_to(m)
        m._planner_layers["suggested"] = group
    marks = mouths()
    if marks:
        group = folium.FeatureGroup(name=maps.esc(t(MAP_LABELS["mouth"])))
        for a, b in marks:
            mk = folium.Marker([round(a, 5), round(b, 5)], icon=folium.DivIcon(
                html='<div class="planner-base" style="color:#08519c">▼</div>',
                icon_size=(18, 18), icon_anchor=(9, 9), class_name="planner-mouth-icon"))
            maps.SafeTooltip(maps.esc(t(MAP_LABELS["mouth"]))).add_to(mk)
            mk.add_to(group)
        group.add_to(m)
        m._planner_layers["mouths"] = group
    maps.add_bases_layer([{"name": b.name, "lat": b.lat, "lon": b.lon} for b in active_bases()],
                         m, labels=labels)
    if not m._planner_bounds:
        m.fit_bounds(INDONESIA_BOUNDS)
    return maps.finish_map(m)


# --------------------------------------------------------------------------- known legs
FORM_HEADER = ["dari", "ke", "moda", "menit"]


def resolve_places(legs: pd.DataFrame) -> pd.DataFrame:
    """Known legs whose ends are written as a village *name* (unique, case-insensitive) or a
    base name get the code ``planner.network.calibrate`` looks up; codes pass through."""
    points = networks.known_points()
    codes = set(points["code"].astype(str))
    by_name: dict[str, list[str]] = {}
    for code, name in zip(points["code"].astype(str), points["name"].astype(str), strict=True):
        by_name.setdefault(" ".join(name.lower().split()), []).append(code)
    for b in db.session.scalars(select(TeamBase).where(TeamBase.archived.is_(False))).all():
        by_name.setdefault(" ".join(b.name.lower().split()), [b.name])

    def one(value: str) -> str:
        if value in codes:
            return value
        found = by_name.get(" ".join(value.lower().split()), [])
        return found[0] if len(found) == 1 else value

    out = legs.copy()
    out["from"] = [one(str(v)) for v in out["from"]]
    out["to"] = [one(str(v)) for v in out["to"]]
    return out


def _network_or_error(params: TravelParams) -> netmod.Network:
    net = networks.build_network(params)
    if net is None:
        raise NetworkEditError(_("Belum ada lapisan jalan atau sungai: unggah dulu di halaman "
                                 "jaringan."))
    return net


def compare(legs: pd.DataFrame, params: TravelParams | None = None) -> pd.DataFrame:
    """The model's minutes for each known leg with the current network speeds (nothing is
    fitted or saved): ``from, to, mode, known, model, error, on_network``."""
    params = params or TravelParams()
    net = _network_or_error(params)
    value = networks.network_settings()
    speeds = networks.speeds(value)
    snap_km = float(value.get("snap_km") or netmod.SNAP_KM)
    legs = resolve_places(legs).reset_index(drop=True)
    pts = networks.known_points()
    index = {str(c): i for i, c in enumerate(pts["code"].astype(str))}
    unknown = sorted({c for c in pd.concat([legs["from"], legs["to"]]).astype(str) if c not in index})
    if unknown:
        raise NetworkEditError(_("Kode atau nama tidak dikenal: %(codes)s (pakai kode desa, nama "
                                 "desa yang unik, atau nama pangkalan).",
                                 codes=", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else "")))
    model = np.zeros(len(legs))
    on = np.zeros(len(legs), bool)
    for mode in sorted(set(legs["mode"])):
        sel = np.flatnonzero(legs["mode"].to_numpy() == mode)
        used = sorted({index[str(c)] for c in legs.loc[sel, "from"]}
                      | {index[str(c)] for c in legs.loc[sel, "to"]})
        local = {g: k for k, g in enumerate(used)}
        nt = netmod.NetworkTravel(net, params, snap_km=snap_km, speeds=speeds)
        mat = nt.matrices(pts.iloc[used].reset_index(drop=True), mode)
        for i in sel:
            a, b = local[index[str(legs.at[i, "from"])]], local[index[str(legs.at[i, "to"])]]
            model[i] = mat.minutes[a, b]
            on[i] = (not nt.fallback_legs[a, b]) and mat.minutes[a, b] < INF_MIN
    known = legs["minutes"].to_numpy(float)
    reach = model < INF_MIN
    return pd.DataFrame({"from": legs["from"], "to": legs["to"], "mode": legs["mode"],
                         "known": known, "model": np.where(reach, model, np.nan),
                         "error": np.where(reach, model - known, np.nan), "on_network": on})


def rmse(errors) -> float | None:
    e = np.asarray([x for x in errors if x is not None and np.isfinite(x)], float)
    return float(np.sqrt(np.mean(e ** 2))) if e.size else None


def fit(legs: pd.DataFrame, *, file: str | None = None,
        params: TravelParams | None = None) -> tuple[netmod.Calibration, netmod.NetworkSpeeds]:
    """Fit the class speeds to the known legs (``planner.network.calibrate``, as ``planner
    calibrate --save``) and store them in the ``network`` setting (audited). Returns the
    calibration and the speeds before. Nothing is stored when no leg lies on the network."""
    params = params or TravelParams()
    net = _network_or_error(params)
    value = networks.network_settings()
    before = networks.speeds(value)
    legs = resolve_places(legs)
    try:
        cal = netmod.calibrate(net, networks.known_points(), legs, params=params, speeds=before,
                               snap_km=float(value.get("snap_km") or netmod.SNAP_KM))
    except netmod.NetworkError as exc:
        raise NetworkEditError(Msg(str(exc))) from None
    if not cal.factors:
        raise NetworkEditError(_("Tidak ada perjalanan yang seluruhnya di jaringan: kecepatan tidak "
                                 "diubah. Periksa kode tempat dan moda, atau lapisan jaringannya."))
    networks.save_calibration(cal, file=file)  # None: rows typed on the page
    networks.clear_cache()
    return cal, before


def speed_rows(before: netmod.NetworkSpeeds, after: netmod.NetworkSpeeds | None = None,
               keys=None) -> list[dict]:
    """The class speeds as rows ``kind, cls, before, after, current_before, current_after``
    (all classes, or ``keys`` ``road:<class>`` / ``river:<class>``)."""
    rows = []
    for kind, classes in (("road", netmod.ROAD_CLASSES), ("river", netmod.RIVER_CLASSES)):
        for cls in classes:
            if keys is not None and f"{kind}:{cls}" not in keys:
                continue
            table = "road_kmh" if kind == "road" else "river_kmh"
            row = {"kind": kind, "cls": cls, "before": getattr(before, table)[cls],
                   "after": getattr(after, table)[cls] if after is not None else None}
            if kind == "river":
                row["current_before"] = before.current_kmh[cls]
                row["current_after"] = after.current_kmh[cls] if after is not None else None
            rows.append(row)
    return rows
