"""Travel along the real roads and rivers: a graph from line layers, shortest paths by time.

The office imports line layers (``planner import-network``): roads (OpenStreetMap
``highway=*``, BIG/RBI road lines, its own tracks), rivers (``waterway=*``, RBI rivers and
canals) and piers (points). This module turns them into a graph and answers the same question as
:class:`planner.travel.GreatCircleTravel` -- minutes, km, rupiah and mode between every pair of
sites -- along the lines instead of along straight lines. Plain Python (numpy, scipy, shapely):
no Flask, no database.

The graph (:class:`Network`)
    Lines of one kind are *noded*: split wherever they cross or touch (``shapely.node``), so
    two crossing roads connect. Roads and rivers never connect to each other except at piers
    (a bridge is not a landing). A loose end within ``join_m`` of another line of its kind is
    joined to it: 20 m for roads (digitising gaps in office or BIG lines), 50 m for rivers (a
    tributary drawn to the bank of a wide river; the demo's end 22-29 m from the main river).
    Nodes are the line ends and crossings; an edge keeps its geometry, class and length
    (great-circle km along its vertices). One-way streets (OSM ``oneway``) and ferries are not
    modelled: every road is driven both ways at its class's speed.

Speeds (:class:`NetworkSpeeds`, km/h; defaults and where each number comes from)
    Road classes (``ROAD_CLASSES``):

    * ``primary`` 55: Sampit -> Samuda pier is "1 h drive" (docs/reference/sources.md);
      42.6 km straight, about 53 km of provincial road, so 53-55 km/h;
    * ``trunk`` 60 (national roads, a little faster than primary; assumption);
    * ``secondary`` 45, ``tertiary`` 35, ``local`` 25 (village streets, unclassified,
      residential): assumptions stepped down from primary;
    * ``track`` 15: dirt and plantation tracks (the issue's figure for a track);
    * ``path`` 8: footpaths, by motorbike or on foot (the field notes: village officials'
      motorbikes where cars cannot pass);
    * ``default`` 30: a road whose class the import did not recognise (counted in the layer's
      summary).

    River classes (``RIVER_CLASSES``), the boat's speed in still water and the current:

    * ``tributary`` 14 km/h, current 2 km/h (16 downstream, 12 upstream): Tumbang Gagu ->
      Tumbang Kalang is "4 h by ces motorboat" in the field notes, about 65 km of river (1.6 x
      40.7 km straight), i.e. 16 km/h downstream;
    * ``main`` 20 km/h, current 3 km/h (23 down, 17 up): a klotok/longboat on the wide main river;
      the average (about 20 km/h) is the built-in model's 18 km/h river speed rounded up for
      open water; the current is an assumption (lowland Kalimantan rivers, about 1 m/s);
    * ``canal`` 10 km/h, no current: narrow, shallow canals (the field notes: Hantipan canal,
      kelotok pushed in the dry season); assumption;
    * ``default`` 16 km/h, current 2 km/h.

    Upstream speed never drops below ``min_boat_kmh`` (4 km/h). ``TravelParams.dry_season_factor``
    multiplies every river minute, as in the built-in model.

Rivers are asymmetric
    Downstream is told by the river mouth the office marks (``mouths``: the graph distance
    along the rivers to the nearest mouth falls downstream), or, for river lines not connected to
    a marked mouth, by the direction the line is drawn in (OpenStreetMap draws waterways in the
    direction of flow; so does the demo). An edge with no known direction is still water.

Piers
    A pier joins the road and the river graphs: the pier point is snapped to the nearest road
    and the nearest river within ``pier_km`` (2 km); changing between car and boat there takes
    ``TravelParams.pier_transfer_min`` (20 min: loading the kits; the field notes' Mentaya
    crossing by klotok is 7-10 min) plus the walk between the two snapped points at
    ``access_kmh``. A car-and-boat team may also board or leave the boat at a site both
    vehicles reach (a base, a village with access ``both``): that costs the same transfer
    minutes, added to the leg (as in the built-in model). :func:`suggest_piers` proposes piers where a road ends (a road node of degree
    one) within a set distance of a river.

Sites on the network (:class:`NetworkTravel`)
    Each site (village stop point, base) is snapped to the nearest point of a usable edge
    (roads for a car, rivers for a boat, both for a 'both' point of a car+boat team); the
    straight part from the site to that point is walked at ``access_kmh`` (4.5 km/h, on foot;
    set 15 for a motorbike track), and costs nothing. A site farther than ``snap_km`` (5 km) from
    any usable edge is *off the network*: its legs come from the fallback (the built-in
    great-circle model), and ``Matrices.notes`` names it. So do legs whose two ends lie on parts
    of the network that do not connect, and every leg of a vehicle whose network is missing (no
    river layer for a boat team).

Shortest paths
    By time, with ``scipy.sparse.csgraph.dijkstra`` from each site's snapped node only (the rows
    needed), on the graph reduced to what can lie between sites (exactly: every distance between
    sites is kept): dead-end branches without a site are dropped and nodes of degree two or
    three are replaced by direct edges between their neighbours (a few tenths of a second for
    100,000 edges; a river tree shrinks to its sites, a grid of estate roads stays). Large
    searches are shared with a second process (:func:`_search`). The kilometres of the fastest
    path come with it: each arc's weight packs time (units of 1/64 min), road km and river km
    (units of 25 m, at most 1,638 km of each per path) into one exact float64 integer, ordered by
    time first, so one search gives all three. Minutes are whole (rounded); a leg's minutes can
    differ by one from the sum of its exact parts. Cost is road km x ``road_cost_per_km`` +
    river km x ``river_cost_per_km`` (the walk costs nothing). A leg is a river leg when its
    path uses a river edge, else a road leg. Speed (bench/bench_network.py, 2 cores, about
    100,000 edges): 185 sites in about 1.5 s, 2,000 sites in about 20 s.

Calibration (:func:`calibrate`)
    Legs the office knows ("Sampit - Samuda by car 60 min") beside the model's minutes; the
    speed of each class the known legs use is scaled by a factor fitted by bounded least squares
    (``scipy.optimize.least_squares``), with the paths recomputed until they no longer change.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .travel import (
    _A_BOTH,
    EARTH_RADIUS_KM,
    INF_MIN,
    RIVER,
    ROAD,
    UNREACHABLE,
    GreatCircleTravel,
    Matrices,
    TravelError,
    TravelParams,
    _prepare,
    great_circle_km,
)

KINDS = ("road", "river")
PIER = "pier"
ROAD_KIND, RIVER_KIND, TRANSFER_KIND = 0, 1, 2
ROAD_CLASSES = ("trunk", "primary", "secondary", "tertiary", "local", "track", "path", "default")
RIVER_CLASSES = ("main", "tributary", "canal", "default")
CLASSES = {"road": ROAD_CLASSES, "river": RIVER_CLASSES}
DEFAULT_CLASS = "default"

ROAD_KMH = {"trunk": 60.0, "primary": 55.0, "secondary": 45.0, "tertiary": 35.0, "local": 25.0,
            "track": 15.0, "path": 8.0, "default": 30.0}
RIVER_KMH = {"main": 20.0, "tributary": 14.0, "canal": 10.0, "default": 16.0}
CURRENT_KMH = {"main": 3.0, "tributary": 2.0, "canal": 0.0, "default": 2.0}
MIN_BOAT_KMH = 4.0
ACCESS_KMH = 4.5
SNAP_KM = 5.0
PIER_KM = 2.0
JOIN_M = {"road": 20.0, "river": 50.0}

# local equirectangular projection (km) on the sphere the great-circle lengths use, so a snap
# distance and an edge length agree; good to 0.1 % over a regency
KM_PER_DEG_LAT = math.pi * EARTH_RADIUS_KM / 180.0
KM_PER_DEG_LON = KM_PER_DEG_LAT  # x cos(latitude of the network's centre)

# exact packing of (time, road km, river km) into one float64 integer (see module docstring)
T_UNIT_MIN = 1.0 / 64.0
K_UNIT_KM = 0.025
_SHIFT_T = float(2 ** 32)
_SHIFT_R = float(2 ** 16)
_K_MAX = 2 ** 16 - 1


class NetworkError(TravelError):
    """The network cannot be built or used; the message is meant for the coordinator."""


# --------------------------------------------------------------------------- classes
def _norm(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value).strip().lower()
    text = re.sub(r"[_\-/.,;:()]+", " ", text)
    return " ".join(text.split())


_ROAD_WORDS: dict[str, tuple[str, ...]] = {
    "trunk": ("trunk", "trunk link", "motorway", "motorway link", "tol", "jalan tol", "nasional",
              "jalan nasional", "arteri primer", "jalan arteri primer", "jalan negara", "negara"),
    "primary": ("primary", "primary link", "arteri", "jalan arteri", "arteri sekunder",
                "provinsi", "jalan provinsi", "jalan propinsi", "propinsi", "main road"),
    "secondary": ("secondary", "secondary link", "kolektor", "jalan kolektor", "kolektor primer",
                  "kolektor sekunder", "kabupaten", "jalan kabupaten", "feeder", "collector",
                  "jalan poros", "poros"),
    "tertiary": ("tertiary", "tertiary link", "lokal", "jalan lokal", "lokal primer",
                 "lokal sekunder", "kota", "jalan kota"),
    "local": ("unclassified", "residential", "service", "living street", "lingkungan",
              "jalan lingkungan", "desa", "jalan desa", "jalan lain", "lain", "local", "minor",
              "jalan kecil", "gang"),
    "track": ("track", "track grade1", "track grade2", "track grade3", "track grade4",
              "track grade5", "grade1", "grade2", "grade3", "grade4", "grade5", "jalan tanah",
              "tanah", "jalan kebun", "jalan perkebunan", "kebun", "jalan sirtu", "sirtu",
              "jalan batu", "jalan tanah diperkeras", "dirt", "unpaved", "logging road",
              "jalan logging", "jalan hauling", "hauling"),
    "path": ("path", "footway", "bridleway", "cycleway", "steps", "pedestrian", "setapak",
             "jalan setapak", "pematang", "titian", "footpath", "jalan setapak motor"),
}
_RIVER_WORDS: dict[str, tuple[str, ...]] = {
    "main": ("river", "main", "main river", "sungai", "sungai besar", "sungai utama",
             "sungai induk", "induk", "riverbank line"),
    "tributary": ("tributary", "stream", "brook", "creek", "anak sungai", "cabang",
                  "cabang sungai", "sungai kecil", "tidal channel", "rapids", "riam"),
    "canal": ("canal", "kanal", "saluran", "saluran irigasi", "saluran primer",
              "saluran sekunder", "saluran tersier", "drain", "ditch", "handil", "anjir",
              "terusan", "irigasi", "parit"),
}
_SKIP_WORDS: dict[str, tuple[str, ...]] = {
    "road": ("proposed", "construction", "abandoned", "disused", "razed", "platform",
             "bus stop", "elevator", "corridor", "raceway", "rencana", "rencana jalan",
             "jalan rencana", "rel", "rel kereta", "jalan kereta api", "railway", "rail",
             "no", "none"),
    "river": ("dam", "weir", "waterfall", "lock gate", "dock", "boatyard", "fuel", "riverbank",
              "bendungan", "bendung", "air terjun", "pintu air", "fish pass", "no", "none"),
}
_LOOKUP: dict[str, dict[str, str]] = {}
for _kind, _table in (("road", _ROAD_WORDS), ("river", _RIVER_WORDS)):
    _LOOKUP[_kind] = {w: c for c, words in _table.items() for w in words}
    _LOOKUP[_kind].update({c: c for c in CLASSES[_kind]})

#: Columns that may hold a line's class, most specific first (OSM tags, Geofabrik's fclass,
#: BIG/RBI's REMARK/KLSJLN, office words, the demo's role).
CLASS_COLUMNS = {
    "road": ("highway", "fclass", "class", "kelas", "kelas_jalan", "klsjln", "fungsi",
             "fungsi_jalan", "fgsjln", "status", "status_jalan", "jenis", "jenis_jalan", "type",
             "tipe", "remark", "kategori", "role", "kind"),
    "river": ("waterway", "fclass", "class", "kelas", "jenis", "jenis_sungai", "type", "tipe",
              "remark", "kategori", "role", "kind"),
}
#: The tag of the *other* kind in an OpenStreetMap export holding both.
OTHER_KIND_TAG = {"road": "waterway", "river": "highway"}


def classify(kind: str, value: Any) -> tuple[str | None, str]:
    """The class of one value: ``(class, status)`` with status ``known``, ``unknown`` (class
    ``default``) or ``skip`` (class None: not usable, e.g. a road under construction, a dam).

    Words of OpenStreetMap (``primary``, ``track``, ``stream``), of Geofabrik's ``fclass``, of
    BIG/RBI and Indonesian road and river classes (``Jalan Kolektor``, ``jalan desa``,
    ``anak sungai``, ``kanal``, ``handil``) and English names are recognised."""
    if kind not in CLASSES:
        raise NetworkError(f"jenis jaringan {kind!r} tidak dikenal; pakai road atau river")
    text = _norm(value)
    if not text:
        return DEFAULT_CLASS, "unknown"
    table = _LOOKUP[kind]
    candidates = [text]
    for prefix in ("jalan ", "jln ", "jl ", "sungai "):
        if text.startswith(prefix) and len(text) > len(prefix):
            candidates.append(text[len(prefix):])
    for cand in candidates:
        if cand in _SKIP_WORDS[kind]:
            return None, "skip"
        if cand in table and not (cand == "sungai" and text != "sungai"):
            return table[cand], "known"
    if re.fullmatch(r"track grade ?\d", text):
        return "track", "known"
    return DEFAULT_CLASS, "unknown"


def class_column(frame: pd.DataFrame, kind: str) -> str | None:
    """The column of ``frame`` that recognises most values as classes of ``kind`` (None when
    none recognises any)."""
    lower = {str(c).lower().strip(): c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)}
    best, best_n = None, 0
    for name in CLASS_COLUMNS[kind]:
        col = lower.get(name)
        if col is None:
            continue
        values = frame[col].dropna().astype(str)
        if values.empty:
            continue
        uniq = values.value_counts()
        n = sum(int(cnt) for val, cnt in uniq.items() if classify(kind, val)[1] != "unknown")
        if n > best_n:
            best, best_n = col, n
    return best


# --------------------------------------------------------------------------- speeds
def _positive(name: str, v: Any) -> float:
    if not (isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0):
        raise NetworkError(f"kecepatan jaringan {name} harus angka positif, bukan {v!r}")
    return float(v)


@dataclass(frozen=True)
class NetworkSpeeds:
    """Speeds per class (km/h) and the off-network walk; defaults and sources: module docstring.

    ``road_kmh``: car speed per road class; ``river_kmh``: boat speed in still water per river
    class; ``current_kmh``: the current per river class (added downstream, subtracted
    upstream, never below ``min_boat_kmh``); ``access_kmh``: the straight part between a site
    and the network. Missing classes take the defaults."""

    road_kmh: Mapping[str, float] = field(default_factory=lambda: dict(ROAD_KMH))
    river_kmh: Mapping[str, float] = field(default_factory=lambda: dict(RIVER_KMH))
    current_kmh: Mapping[str, float] = field(default_factory=lambda: dict(CURRENT_KMH))
    min_boat_kmh: float = MIN_BOAT_KMH
    access_kmh: float = ACCESS_KMH

    def __post_init__(self):
        road = {**ROAD_KMH, **{str(k): _positive(f"road.{k}", v) for k, v in dict(self.road_kmh).items()}}
        river = {**RIVER_KMH, **{str(k): _positive(f"river.{k}", v) for k, v in dict(self.river_kmh).items()}}
        current = dict(CURRENT_KMH)
        for k, v in dict(self.current_kmh).items():
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise NetworkError(f"arus sungai current.{k} harus angka >= 0, bukan {v!r}")
            current[str(k)] = float(v)
        for name, table, allowed in (("road", road, ROAD_CLASSES), ("river", river, RIVER_CLASSES),
                                     ("current", current, RIVER_CLASSES)):
            unknown = sorted(set(table) - set(allowed))
            if unknown:
                raise NetworkError(f"kelas {name} tidak dikenal: {', '.join(unknown)}; pakai "
                                   + ", ".join(allowed))
        object.__setattr__(self, "road_kmh", road)
        object.__setattr__(self, "river_kmh", river)
        object.__setattr__(self, "current_kmh", current)
        object.__setattr__(self, "min_boat_kmh", _positive("min_boat_kmh", self.min_boat_kmh))
        object.__setattr__(self, "access_kmh", _positive("access_kmh", self.access_kmh))

    def road_vector(self) -> np.ndarray:
        return np.array([self.road_kmh[c] for c in ROAD_CLASSES])

    def river_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.array([self.river_kmh[c] for c in RIVER_CLASSES]),
                np.array([self.current_kmh[c] for c in RIVER_CLASSES]))

    def scaled(self, factors: Mapping[str, float]) -> NetworkSpeeds:
        """Speeds with ``factors`` applied: keys ``road:<class>`` / ``river:<class>`` (a river
        factor scales the still-water speed and the current alike)."""
        road, river, current = dict(self.road_kmh), dict(self.river_kmh), dict(self.current_kmh)
        for key, f in factors.items():
            kind, _, cls = key.partition(":")
            if kind == "road":
                road[cls] = road[cls] * f
            elif kind == "river":
                river[cls] = river[cls] * f
                current[cls] = current[cls] * f
            else:
                raise NetworkError(f"kunci kecepatan {key!r} tidak dikenal (road:KELAS atau river:KELAS)")
        return NetworkSpeeds(road, river, current, self.min_boat_kmh, self.access_kmh)

    def to_dict(self) -> dict:
        return {"road_kmh": {k: round(v, 3) for k, v in self.road_kmh.items()},
                "river_kmh": {k: round(v, 3) for k, v in self.river_kmh.items()},
                "current_kmh": {k: round(v, 3) for k, v in self.current_kmh.items()},
                "min_boat_kmh": self.min_boat_kmh, "access_kmh": self.access_kmh}

    @classmethod
    def from_dict(cls, data: Mapping | None) -> NetworkSpeeds:
        data = dict(data or {})
        unknown = sorted(set(data) - {"road_kmh", "river_kmh", "current_kmh", "min_boat_kmh",
                                      "access_kmh"})
        if unknown:
            raise NetworkError("pengaturan kecepatan jaringan tidak dikenal: " + ", ".join(unknown))
        for key in ("road_kmh", "river_kmh", "current_kmh"):
            if key in data and not isinstance(data[key], Mapping):
                raise NetworkError(f"pengaturan kecepatan jaringan {key} harus objek")
        return cls(**{k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()})


# --------------------------------------------------------------------------- lines
@dataclass
class Lines:
    """One kind's lines, ready for :meth:`Network.build`: LineStrings in lon/lat (EPSG:4326)
    and a class per line (a name of ``ROAD_CLASSES`` / ``RIVER_CLASSES``)."""

    kind: str
    geoms: np.ndarray
    classes: np.ndarray

    def __post_init__(self):
        if self.kind not in KINDS:
            raise NetworkError(f"jenis jaringan {self.kind!r} tidak dikenal; pakai road atau river")
        geoms = np.asarray(self.geoms, dtype=object)
        classes = np.asarray(self.classes, dtype=object)
        if geoms.shape != classes.shape:
            raise NetworkError("perlu satu kelas per garis")
        parts, cls = [], []
        allowed = set(CLASSES[self.kind])
        for g, c in zip(geoms, classes, strict=True):
            if g is None or g.is_empty:
                continue
            c = c if c in allowed else DEFAULT_CLASS
            if g.geom_type == "LineString":
                parts.append(g)
                cls.append(c)
            elif g.geom_type in ("MultiLineString", "GeometryCollection"):
                for p in g.geoms:
                    if p.geom_type == "LineString" and not p.is_empty:
                        parts.append(p)
                        cls.append(c)
            else:
                raise NetworkError(f"lapisan {self.kind} berisi {g.geom_type}; perlu garis")
        arr = np.empty(len(parts), dtype=object)
        arr[:] = parts
        self.geoms = shapely.force_2d(arr) if len(parts) else arr
        self.classes = np.array(cls, dtype=object)

    def __len__(self) -> int:
        return len(self.geoms)

    @classmethod
    def from_frame(cls, frame, kind: str, column: str | None = None) -> Lines:
        """Lines from a GeoDataFrame; classes from ``column`` (default: the ``class`` column, or
        the column :func:`class_column` finds), unknown values -> ``default``; features whose
        class is not usable (``skip``) are left out."""
        if column is None:
            column = "class" if "class" in frame.columns and set(
                frame["class"].dropna()) <= set(CLASSES[kind]) else class_column(frame, kind)
        geoms, classes = [], []
        values = frame[column] if column is not None else [None] * len(frame)
        for g, v in zip(frame.geometry, values, strict=True):
            c, status = classify(kind, v)
            if status == "skip":
                continue
            geoms.append(g)
            classes.append(c)
        arr = np.empty(len(geoms), dtype=object)
        arr[:] = geoms
        return cls(kind, arr, np.array(classes, dtype=object))


# --------------------------------------------------------------------------- geometry helpers
@dataclass(frozen=True)
class _Proj:
    lat0: float
    lon0: float

    @property
    def kx(self) -> float:
        return KM_PER_DEG_LON * math.cos(math.radians(self.lat0))

    def fwd(self, lon, lat):
        return (np.asarray(lon) - self.lon0) * self.kx, (np.asarray(lat) - self.lat0) * KM_PER_DEG_LAT

    def inv(self, x, y):
        return np.asarray(x) / self.kx + self.lon0, np.asarray(y) / KM_PER_DEG_LAT + self.lat0

    def geoms(self, geoms: np.ndarray) -> np.ndarray:
        kx, lon0, lat0 = self.kx, self.lon0, self.lat0
        return shapely.transform(geoms, lambda c: np.column_stack(
            [(c[:, 0] - lon0) * kx, (c[:, 1] - lat0) * KM_PER_DEG_LAT]))


def line_lengths_km(geoms: np.ndarray) -> np.ndarray:
    """Great-circle length of each lon/lat line (sum over its segments)."""
    if len(geoms) == 0:
        return np.zeros(0)
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    same = idx[1:] == idx[:-1]
    seg = great_circle_km(coords[:-1, 1], coords[:-1, 0], coords[1:, 1], coords[1:, 0])
    return np.bincount(idx[1:][same], weights=seg[same], minlength=len(geoms))


def _sub_coords(coords: np.ndarray, f0: float, f1: float) -> np.ndarray:
    """The part of a polyline (N x 2, planar enough) between length fractions f0 < f1."""
    d = np.r_[0.0, np.cumsum(np.hypot(*np.diff(coords, axis=0).T))]
    total = d[-1]
    if total <= 0:
        return coords[[0, -1]]
    a, b = f0 * total, f1 * total

    def at(s):
        i = int(np.clip(np.searchsorted(d, s, side="right") - 1, 0, len(d) - 2))
        seg = d[i + 1] - d[i]
        t = 0.0 if seg <= 0 else (s - d[i]) / seg
        return coords[i] + t * (coords[i + 1] - coords[i])

    inner = coords[(d > a) & (d < b)]
    return np.vstack([at(a), inner, at(b)])


# --------------------------------------------------------------------------- the graph
class Network:
    """Road and river lines as one graph (see the module docstring). Build with
    :meth:`build`; then hand it to :class:`NetworkTravel` (it can serve many calls; it is
    never changed after building).

    Edge arrays (``E`` edges): ``u``, ``v`` (node ids), ``kind`` (0 road, 1 river), ``cls``
    (index into ``ROAD_CLASSES``/``RIVER_CLASSES``), ``flow`` (river: +1 downstream is u -> v,
    -1 downstream is v -> u, 0 unknown), ``km``; ``geoms``: lon/lat LineStrings from u to v.
    """

    def __init__(self):
        self.proj = _Proj(0.0, 0.0)
        self.node_lonlat = np.zeros((0, 2))
        self.u = np.zeros(0, np.int64)
        self.v = np.zeros(0, np.int64)
        self.kind = np.zeros(0, np.int8)
        self.cls = np.zeros(0, np.int16)
        self.flow = np.zeros(0, np.int8)
        self.km = np.zeros(0)
        self.geoms = np.zeros(0, dtype=object)
        self.geoms_km = np.zeros(0, dtype=object)
        self._trees: dict[int, tuple[Any, np.ndarray]] = {}
        self.piers: pd.DataFrame = pd.DataFrame(columns=["name", "lat", "lon", "road_edge",
                                                         "road_f", "road_km", "river_edge",
                                                         "river_f", "river_km"])
        self.notes: list[str] = []
        self.stats: dict[str, Any] = {}

    # ---------------------------------------------------------------- building
    @classmethod
    def build(cls, roads: Lines | None = None, rivers: Lines | None = None, *,
              piers: Any = None, mouths: Sequence[tuple[float, float]] = (),
              join_m: float | Mapping[str, float] | None = None, pier_km: float = PIER_KM,
              mouth_km: float = 20.0) -> Network:
        """The graph of ``roads`` and ``rivers`` (:class:`Lines`, either may be None).

        ``piers``: points where car and boat meet (a DataFrame with ``lat``, ``lon`` and
        optional ``name``, or ``(lat, lon)`` pairs); ``mouths``: river mouths ``(lat, lon)``
        that tell downstream (module docstring); ``join_m``: loose line ends this close to
        another line of their kind are joined to it (metres; one number or per kind; default
        ``JOIN_M``; 0 joins nothing)."""
        net = cls()
        layers = [x for x in (roads, rivers) if x is not None and len(x)]
        if not layers:
            raise NetworkError("tidak ada garis jalan atau sungai untuk membangun jaringan")
        for lines, want in ((roads, "road"), (rivers, "river")):
            if lines is not None and lines.kind != want:
                raise NetworkError(f"garis {want} yang diberikan berjenis {lines.kind}")
        b = shapely.total_bounds(np.concatenate([x.geoms for x in layers]))
        net.proj = _Proj((b[1] + b[3]) / 2.0, (b[0] + b[2]) / 2.0)

        parts = []  # per kind: (geoms lon/lat, class index)
        for k, lines in ((ROAD_KIND, roads), (RIVER_KIND, rivers)):
            if lines is None or not len(lines):
                continue
            geoms, cidx = _node_lines(lines)
            parts.append((k, geoms, cidx))
        # node ids per kind from the piece end points (roads and rivers never share a node)
        all_geoms, all_kind, all_cls = [], [], []
        for k, geoms, cidx in parts:
            all_geoms.append(geoms)
            all_kind.append(np.full(len(geoms), k, np.int8))
            all_cls.append(cidx)
        geoms = np.concatenate(all_geoms)
        kind = np.concatenate(all_kind)
        cidx = np.concatenate(all_cls).astype(np.int16)
        u, v, node_lonlat = _node_ids(geoms, kind)
        net.node_lonlat = node_lonlat
        net.u, net.v, net.kind, net.cls, net.geoms = u, v, kind, cidx, geoms
        if join_m is None:
            join_m = JOIN_M
        if not isinstance(join_m, Mapping):
            join_m = dict.fromkeys(KINDS, float(join_m))
        join_km = np.array([float(join_m.get(k, 0.0)) / 1000.0 for k in KINDS])
        joined = net._join_gaps(join_km) if (join_km > 0).any() else 0
        net.km = line_lengths_km(net.geoms)
        keep = net.km > 0
        if not keep.all():
            net._select(keep)
        net.geoms_km = net.proj.geoms(net.geoms)
        net.flow = np.where(net.kind == RIVER_KIND, 1, 0).astype(np.int8)
        if len(mouths):
            net._flow_from_mouths(mouths, mouth_km)
        if piers is not None:
            net._add_piers(piers, pier_km)
        for k in (ROAD_KIND, RIVER_KIND):  # built now: a cached network is shared by threads
            if net.has(k):
                net._tree(k)
        net.stats = {
            "edges": int(len(net.u)), "nodes": int(len(net.node_lonlat)),
            "road_edges": int((net.kind == ROAD_KIND).sum()),
            "river_edges": int((net.kind == RIVER_KIND).sum()),
            "road_km": float(net.km[net.kind == ROAD_KIND].sum()),
            "river_km": float(net.km[net.kind == RIVER_KIND].sum()),
            "piers": int(len(net.piers)),
            "joined": joined,
        }
        return net

    def _select(self, keep: np.ndarray) -> None:
        self.u, self.v, self.kind, self.cls = self.u[keep], self.v[keep], self.kind[keep], self.cls[keep]
        self.geoms = self.geoms[keep]
        if len(self.km) == len(keep):
            self.km = self.km[keep]
        if len(self.geoms_km) == len(keep):
            self.geoms_km = self.geoms_km[keep]
        if len(self.flow) == len(keep):
            self.flow = self.flow[keep]

    def has(self, kind: int) -> bool:
        return bool((self.kind == kind).any())

    def _tree(self, kind: int):
        if kind not in self._trees:
            idx = np.flatnonzero(self.kind == kind)
            self._trees[kind] = (shapely.STRtree(self.geoms_km[idx]), idx)
        return self._trees[kind]

    def snap(self, lat: np.ndarray, lon: np.ndarray, kind: int, max_km: float):
        """Nearest edge of ``kind`` for each point: ``(edge, fraction along it, km)``; edge -1
        (km inf) when none lies within ``max_km``."""
        n = len(lat)
        edge = np.full(n, -1, np.int64)
        frac = np.zeros(n)
        dist = np.full(n, np.inf)
        if n == 0 or not self.has(kind):
            return edge, frac, dist
        tree, idx = self._tree(kind)
        x, y = self.proj.fwd(lon, lat)
        pts = shapely.points(x, y)
        (pi, ti), d = tree.query_nearest(pts, max_distance=max_km, return_distance=True,
                                        all_matches=False)
        edge[pi] = idx[ti]
        dist[pi] = d
        if len(pi):
            frac[pi] = shapely.line_locate_point(self.geoms_km[idx[ti]], pts[pi], normalized=True)
        return edge, np.clip(frac, 0.0, 1.0), dist

    def _join_gaps(self, join_km: np.ndarray) -> int:
        """Join a loose end (a node of degree one) to the nearest other line of its kind within
        ``join_km[kind]``: the line is split there and a short edge of the end's class added."""
        n_nodes = len(self.node_lonlat)
        deg = np.bincount(self.u, minlength=n_nodes) + np.bincount(self.v, minlength=n_nodes)
        loose = np.flatnonzero(deg == 1)
        if loose.size == 0:
            return 0
        proj = self.proj
        gk = proj.geoms(self.geoms)
        # the edge each loose node hangs on, and its kind
        own = np.full(n_nodes, -1, np.int64)
        own[self.u] = np.arange(len(self.u))
        own[self.v] = np.arange(len(self.v))
        lx, ly = proj.fwd(self.node_lonlat[loose, 0], self.node_lonlat[loose, 1])
        pts = shapely.points(lx, ly)
        tree = shapely.STRtree(gk)
        pi, ei = tree.query(pts, predicate="dwithin", distance=float(join_km.max()))
        ok = (ei != own[loose[pi]]) & (self.kind[ei] == self.kind[own[loose[pi]]])
        # not an edge that already ends at the loose node
        ok &= (self.u[ei] != loose[pi]) & (self.v[ei] != loose[pi])
        pi, ei = pi[ok], ei[ok]
        if pi.size == 0:
            return 0
        d = shapely.distance(pts[pi], gk[ei])
        near = d <= join_km[self.kind[ei]]
        pi, ei, d = pi[near], ei[near], d[near]
        if pi.size == 0:
            return 0
        order = np.lexsort((d, pi))
        pi, ei, d = pi[order], ei[order], d[order]
        first = np.r_[True, pi[1:] != pi[:-1]]
        pi, ei, d = pi[first], ei[first], d[first]
        f = shapely.line_locate_point(gk[ei], pts[pi], normalized=True)
        new_u, new_v, new_kind, new_cls, new_geoms = [], [], [], [], []
        new_nodes: list[tuple[float, float]] = []
        replaced: dict[int, list[tuple[float, int]]] = {}
        for p, e, fr in zip(pi, ei, f, strict=True):
            node = int(loose[p])
            lonlat = self.node_lonlat[node]
            if fr <= 1e-9 or fr >= 1 - 1e-9:
                target = int(self.u[e] if fr <= 1e-9 else self.v[e])
            else:
                target = n_nodes + len(new_nodes)
                pt = shapely.line_interpolate_point(gk[e], fr, normalized=True)
                x, y = proj.inv(pt.x, pt.y)
                new_nodes.append((float(x), float(y)))
                replaced.setdefault(int(e), []).append((float(fr), target))
            tgt = self.node_lonlat[target] if target < n_nodes else np.array(new_nodes[target - n_nodes])
            if target == node:
                continue
            new_u.append(node)
            new_v.append(target)
            new_kind.append(self.kind[own[node]])
            new_cls.append(self.cls[own[node]])
            new_geoms.append(shapely.linestrings([lonlat, tgt]))
        # split the lines the loose ends join
        keep = np.ones(len(self.u), bool)
        for e, cuts in replaced.items():
            keep[e] = False
            cuts.sort()
            coords = shapely.get_coordinates(gk[e])
            bounds = [0.0] + [c for c, _ in cuts] + [1.0]
            nodes = [int(self.u[e])] + [t for _, t in cuts] + [int(self.v[e])]
            for i in range(len(bounds) - 1):
                piece = _sub_coords(coords, bounds[i], bounds[i + 1])
                piece = np.column_stack(proj.inv(piece[:, 0], piece[:, 1]))
                new_u.append(nodes[i])
                new_v.append(nodes[i + 1])
                new_kind.append(self.kind[e])
                new_cls.append(self.cls[e])
                new_geoms.append(shapely.linestrings(piece))
        self._select(keep)
        if new_nodes:
            self.node_lonlat = np.vstack([self.node_lonlat, np.array(new_nodes)])
        g = np.empty(len(new_geoms), dtype=object)
        g[:] = new_geoms
        self.u = np.concatenate([self.u, np.array(new_u, np.int64)])
        self.v = np.concatenate([self.v, np.array(new_v, np.int64)])
        self.kind = np.concatenate([self.kind, np.array(new_kind, np.int8)])
        self.cls = np.concatenate([self.cls, np.array(new_cls, np.int16)])
        self.geoms = np.concatenate([self.geoms, g])
        return int(len(pi))

    def _flow_from_mouths(self, mouths, mouth_km: float) -> None:
        """Downstream = towards the nearest marked mouth along the rivers."""
        riv = np.flatnonzero(self.kind == RIVER_KIND)
        if riv.size == 0:
            return
        mouths = np.asarray(mouths, dtype=float).reshape(-1, 2)
        e, f, d = self.snap(mouths[:, 0], mouths[:, 1], RIVER_KIND, mouth_km)
        if (e < 0).all():
            self.notes.append("muara sungai yang ditandai tidak dekat garis sungai mana pun: arah "
                              "arus menurut arah garis digambar")
            return
        n = len(self.node_lonlat)
        # nearest end node of the snapped edge
        starts = np.where(f[e >= 0] < 0.5, self.u[e[e >= 0]], self.v[e[e >= 0]])
        a, b, w, _ = _undirected(self.u[riv], self.v[riv], self.km[riv], self.km[riv])
        g = csr_matrix((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(n, n))
        dist = dijkstra(g, directed=False, indices=np.unique(starts), min_only=True)
        du, dv = dist[self.u[riv]], dist[self.v[riv]]
        known = np.isfinite(du) & np.isfinite(dv)
        flow = self.flow.copy()
        flow[riv[known & (du > dv)]] = 1
        flow[riv[known & (du < dv)]] = -1
        flow[riv[known & (du == dv)]] = 0
        self.flow = flow
        self.stats["flow_from_mouth"] = int(known.sum())

    def _add_piers(self, piers, pier_km: float) -> None:
        frame = _points_frame(piers)
        if frame.empty:
            return
        lat, lon = frame["lat"].to_numpy(float), frame["lon"].to_numpy(float)
        re_, rf, rd = self.snap(lat, lon, ROAD_KIND, pier_km)
        ve, vf, vd = self.snap(lat, lon, RIVER_KIND, pier_km)
        ok = (re_ >= 0) & (ve >= 0)
        dropped = int((~ok).sum())
        if dropped:
            self.notes.append(f"{dropped} dermaga tidak dipakai: tidak ada jalan dan sungai dalam "
                              f"{pier_km:g} km")
        self.piers = pd.DataFrame({
            "name": frame["name"].to_numpy()[ok], "lat": lat[ok], "lon": lon[ok],
            "road_edge": re_[ok], "road_f": rf[ok], "road_km": rd[ok],
            "river_edge": ve[ok], "river_f": vf[ok], "river_km": vd[ok]})

    # ---------------------------------------------------------------- piers
    def suggest_piers(self, max_km: float = 2.0, spacing_km: float = 0.0) -> pd.DataFrame:
        """Road ends (road nodes of degree one) within ``max_km`` of a river: ``lat, lon`` (the
        road end), ``river_lat, river_lon`` (nearest river point), ``km`` between them, nearest
        first. ``spacing_km`` > 0 keeps one suggestion per that distance (the nearest to its
        river first), so a dense road map does not turn every lane's end into a landing."""
        cols = ["lat", "lon", "river_lat", "river_lon", "km"]
        road = self.kind == ROAD_KIND
        if not road.any() or not self.has(RIVER_KIND):
            return pd.DataFrame(columns=cols)
        n = len(self.node_lonlat)
        deg = np.bincount(self.u[road], minlength=n) + np.bincount(self.v[road], minlength=n)
        ends = np.flatnonzero(deg == 1)
        lon, lat = self.node_lonlat[ends, 0], self.node_lonlat[ends, 1]
        e, f, d = self.snap(lat, lon, RIVER_KIND, max_km)
        hit = e >= 0
        pts = shapely.line_interpolate_point(self.geoms_km[e[hit]], f[hit], normalized=True)
        rlon, rlat = self.proj.inv(shapely.get_x(pts), shapely.get_y(pts))
        out = pd.DataFrame({"lat": lat[hit], "lon": lon[hit], "river_lat": rlat, "river_lon": rlon,
                            "km": d[hit]})
        out = out.sort_values("km", kind="stable").reset_index(drop=True)
        if spacing_km > 0 and len(out) > 1:
            x, y = self.proj.fwd(out["lon"].to_numpy(), out["lat"].to_numpy())
            cell = np.floor(np.column_stack([x, y]) / spacing_km).astype(np.int64)
            taken: dict[tuple[int, int], list[int]] = {}
            keep = []
            for i, (cx, cy) in enumerate(cell):
                near = [j for dx in (-1, 0, 1) for dy in (-1, 0, 1)
                        for j in taken.get((cx + dx, cy + dy), ())]
                if any(math.hypot(x[i] - x[j], y[i] - y[j]) < spacing_km for j in near):
                    continue
                keep.append(i)
                taken.setdefault((cx, cy), []).append(i)
            out = out.iloc[keep].reset_index(drop=True)
        return out


def _complex_key(xy: np.ndarray) -> np.ndarray:
    """Exact coordinates as one sortable value per point."""
    return np.ascontiguousarray(xy, dtype=np.float64).view(np.complex128).ravel()


def _node_lines(lines: Lines) -> tuple[np.ndarray, np.ndarray]:
    """Split the lines where they cross or touch (``shapely.node``); each piece keeps its
    source line's class and the direction it was drawn in.

    A piece is matched to its source line by one of its inner vertices (an original vertex of
    exactly that line), or, for a piece of only two points, by its midpoint (spatial index).
    A piece on several lines (duplicates) takes the fastest class."""
    src = lines.geoms
    cls_names = CLASSES[lines.kind]
    cidx = np.array([cls_names.index(c) for c in lines.classes], dtype=np.int16)
    noded = shapely.node(shapely.multilinestrings(src))
    pieces = np.asarray(shapely.get_parts(noded), dtype=object)
    if len(pieces) == 0:
        raise NetworkError(f"garis {lines.kind} tidak memiliki panjang")
    m = len(pieces)
    source = np.full(m, -1, np.int64)
    flip = np.zeros(m, bool)
    # original vertices: key -> (line, vertex index); a vertex of several lines -> fastest class
    scoords, sline = shapely.get_coordinates(src, return_index=True)
    svert = np.arange(len(sline)) - np.searchsorted(sline, sline)
    skey = _complex_key(scoords)
    order = np.lexsort((cidx[sline], skey.imag, skey.real))
    skey, sline, svert = skey[order], sline[order], svert[order]
    firstk = np.r_[True, skey[1:] != skey[:-1]]
    skey, sline, svert = skey[firstk], sline[firstk], svert[firstk]
    pcoords, pidx = shapely.get_coordinates(pieces, return_index=True)
    npts = np.bincount(pidx, minlength=m)
    start = np.r_[0, np.cumsum(npts)[:-1]]
    inner = npts >= 3
    if inner.any():
        k1 = _complex_key(pcoords[start[inner] + 1])
        k2 = _complex_key(pcoords[start[inner] + npts[inner] - 2])
        i1 = np.clip(np.searchsorted(skey, k1), 0, len(skey) - 1)
        i2 = np.clip(np.searchsorted(skey, k2), 0, len(skey) - 1)
        hit = (skey[i1] == k1) & (skey[i2] == k2) & (sline[i1] == sline[i2])
        rows = np.flatnonzero(inner)[hit]
        source[rows] = sline[i1[hit]]
        flip[rows] = svert[i1[hit]] > svert[i2[hit]]
    rest = np.flatnonzero(source < 0)
    if rest.size:
        tree = shapely.STRtree(src)
        mid = shapely.line_interpolate_point(pieces[rest], 0.5, normalized=True)
        pi, si = tree.query(mid, predicate="dwithin", distance=1e-9)
        order = np.lexsort((cidx[si], pi))
        pi, si = pi[order], si[order]
        first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, bool)
        pi, si = pi[first], si[first]
        rows = rest[pi]
        source[rows] = si
        if lines.kind == "river" and len(rows):
            a = shapely.line_locate_point(src[si], shapely.get_point(pieces[rows], 0))
            b = shapely.line_locate_point(src[si], shapely.get_point(pieces[rows], -1))
            flip[rows] = a > b
    piece_cls = np.full(m, cls_names.index(DEFAULT_CLASS), np.int16)
    piece_cls[source >= 0] = cidx[source[source >= 0]]
    if flip.any():
        pieces[flip] = shapely.reverse(pieces[flip])
    return pieces, piece_cls


def _node_ids(geoms: np.ndarray, kind: np.ndarray):
    """Node ids from piece end points (same kind and same coordinates = same node)."""
    m = len(geoms)
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    n = np.bincount(idx, minlength=m)
    first = np.r_[0, np.cumsum(n)[:-1]]
    pts = np.round(np.vstack([coords[first], coords[first + n - 1]]), 9)
    k = np.r_[kind, kind]
    u = np.empty(m, np.int64)
    v = np.empty(m, np.int64)
    out_xy = []
    offset = 0
    for kk in np.unique(k):
        sel = np.flatnonzero(k == kk)
        uniq, inv = np.unique(_complex_key(pts[sel]), return_inverse=True)
        ids = inv.ravel() + offset
        ends = sel >= m
        u[sel[~ends]] = ids[~ends]
        v[sel[ends] - m] = ids[ends]
        out_xy.append(np.column_stack([uniq.real, uniq.imag]))
        offset += len(uniq)
    return u, v, np.vstack(out_xy)


def _points_frame(points) -> pd.DataFrame:
    if points is None:
        return pd.DataFrame(columns=["lat", "lon", "name"])
    if isinstance(points, pd.DataFrame):
        frame = points.copy()
        if "lat" not in frame.columns and hasattr(frame, "geometry"):
            frame["lat"] = frame.geometry.y
            frame["lon"] = frame.geometry.x
    else:
        rows = [tuple(p) for p in points]
        frame = pd.DataFrame({"lat": [float(r[0]) for r in rows], "lon": [float(r[1]) for r in rows],
                              "name": [r[2] if len(r) > 2 else None for r in rows]})
    if "name" not in frame.columns:
        frame["name"] = None
    frame = frame[["lat", "lon", "name"]].reset_index(drop=True)
    frame["name"] = [n if n is not None and not (isinstance(n, float) and math.isnan(n))
                     else f"Dermaga {i + 1}" for i, n in enumerate(frame["name"])]
    return frame


def suggest_piers(roads: Lines, rivers: Lines, max_km: float = 2.0,
                  spacing_km: float = 0.0) -> pd.DataFrame:
    """Where a road ends (a degree-one road node) within ``max_km`` of a river line: a place a
    car team probably meets its boat. Returns ``lat, lon`` (the road end), ``river_lat,
    river_lon`` (the nearest river point) and ``km``, nearest first; ``spacing_km`` > 0 keeps
    one per that distance."""
    return Network.build(roads, rivers).suggest_piers(max_km, spacing_km)


# --------------------------------------------------------------------------- per-call graph
class _Graph:
    """The network for one vehicle mode with the sites inserted (edges split at the snapped
    points), as packed arcs; also used to recover paths."""

    def __init__(self, net: Network, kinds: tuple[int, ...], splits: list[tuple[np.ndarray, np.ndarray]],
                 speeds: NetworkSpeeds, params: TravelParams, with_piers: bool):
        sel = np.flatnonzero(np.isin(net.kind, kinds))
        # split points: (edge, fraction) -> node id
        se = np.concatenate([s[0] for s in splits]) if splits else np.zeros(0, np.int64)
        sf = np.concatenate([s[1] for s in splits]) if splits else np.zeros(0)
        n0 = len(net.node_lonlat)
        point_node = np.empty(len(se), np.int64)
        at_u = sf <= 1e-9
        at_v = sf >= 1 - 1e-9
        point_node[at_u] = net.u[se[at_u]]
        point_node[at_v] = net.v[se[at_v]]
        mid = ~(at_u | at_v)
        new_lonlat = np.zeros((0, 2))
        if mid.any():
            key = np.column_stack([se[mid].astype(float), np.round(sf[mid], 12)])
            uk, inv = np.unique(key, axis=0, return_inverse=True)
            inv = inv.ravel()
            point_node[mid] = n0 + inv
            ue, uf = uk[:, 0].astype(np.int64), uk[:, 1]
            pts = shapely.line_interpolate_point(net.geoms_km[ue], uf, normalized=True)
            new_lonlat = np.column_stack(net.proj.inv(shapely.get_x(pts), shapely.get_y(pts)))
            # pieces of the split edges (sorted by edge, then fraction)
            first = np.r_[True, ue[1:] != ue[:-1]]
            last = np.r_[ue[1:] != ue[:-1], True]
            nodes = n0 + np.arange(len(ue))
            prev_f = np.where(first, 0.0, np.r_[0.0, uf[:-1]])
            prev_n = np.where(first, net.u[ue], np.r_[0, nodes[:-1]])
            p_base = np.r_[ue, ue[last]]
            p_f0 = np.r_[prev_f, uf[last]]
            p_f1 = np.r_[uf, np.ones(int(last.sum()))]
            p_u = np.r_[prev_n, nodes[last]]
            p_v = np.r_[nodes, net.v[ue[last]]]
            split_edges = np.unique(ue)
            whole = sel[~np.isin(sel, split_edges)]
            inside = np.isin(p_base, sel)
            p_base, p_f0, p_f1, p_u, p_v = (x[inside] for x in (p_base, p_f0, p_f1, p_u, p_v))
        else:
            whole = sel
            p_base = p_u = p_v = np.zeros(0, np.int64)
            p_f0 = p_f1 = np.zeros(0)
        self.n_nodes = n0 + len(new_lonlat)
        self.node_lonlat = np.vstack([net.node_lonlat, new_lonlat]) if len(new_lonlat) else net.node_lonlat
        self.point_node = point_node
        self.base = np.r_[whole, p_base].astype(np.int64)
        self.f0 = np.r_[np.zeros(len(whole)), p_f0]
        self.f1 = np.r_[np.ones(len(whole)), p_f1]
        self.eu = np.r_[net.u[whole], p_u].astype(np.int64)
        self.ev = np.r_[net.v[whole], p_v].astype(np.int64)
        b = self.base
        self.ekind = net.kind[b].astype(np.int8)
        self.ecls = net.cls[b].astype(np.int16)
        self.ekm = net.km[b] * (self.f1 - self.f0)
        tf, tb = _edge_minutes(self.ekind, self.ecls, net.flow[b], self.ekm, speeds, params)
        # pier transfers (car+boat only): between the two snapped points of each pier
        if with_piers and len(net.piers):
            npier = len(net.piers)
            pr = point_node[len(se) - 2 * npier:len(se) - npier]
            pv = point_node[len(se) - npier:]
            walk = net.piers["road_km"].to_numpy() + net.piers["river_km"].to_numpy()
            tmin = params.pier_transfer_min + walk / speeds.access_kmh * 60.0
            self.base = np.r_[self.base, -1 - np.arange(npier)]
            self.f0 = np.r_[self.f0, np.zeros(npier)]
            self.f1 = np.r_[self.f1, np.ones(npier)]
            self.eu = np.r_[self.eu, pr]
            self.ev = np.r_[self.ev, pv]
            self.ekind = np.r_[self.ekind, np.full(npier, TRANSFER_KIND, np.int8)]
            self.ecls = np.r_[self.ecls, np.zeros(npier, np.int16)]
            self.ekm = np.r_[self.ekm, np.zeros(npier)]
            tf = np.r_[tf, tmin]
            tb = np.r_[tb, tmin]
        self.tf, self.tb = tf, tb
        self.wf = _pack(tf, self.ekm, self.ekind)
        self.wb = _pack(tb, self.ekm, self.ekind)
        self._arcs = None
        self._pred_cache: dict[int, np.ndarray] = {}

    # ---------------------------------------------------------------- distances
    def distances(self, sources: np.ndarray, targets: np.ndarray, *, workers: int = 1,
                  chunk_elems: int = 4_000_000):
        """Packed shortest-path weights from each source node to each target node (on the
        reduced graph; see :func:`_search`)."""
        keep = np.zeros(self.n_nodes, bool)
        keep[sources] = True
        keep[targets] = True
        a, b, wf, wb = _undirected(self.eu, self.ev, self.wf, self.wb)
        a, b, wf, wb = _reduce(self.n_nodes, a, b, wf, wb, keep)
        alive = keep.copy()
        alive[a] = True
        alive[b] = True
        ids = np.cumsum(alive) - 1
        m = int(alive.sum())
        g = csr_matrix((np.r_[wf, wb], (ids[np.r_[a, b]], ids[np.r_[b, a]])), shape=(m, m))
        self.reduced = {"nodes": m, "edges": int(len(a)), "sources": int(len(sources)),
                        "processes": 1}
        out, procs = _search(g, ids[sources], ids[targets], workers=workers, chunk_elems=chunk_elems)
        self.reduced["processes"] = procs
        return out

    # ---------------------------------------------------------------- paths
    def _arc_table(self):
        if self._arcs is None:
            src = np.r_[self.eu, self.ev]
            dst = np.r_[self.ev, self.eu]
            w = np.r_[self.wf, self.wb]
            row = np.r_[np.arange(len(self.eu)), np.arange(len(self.eu))]
            fwd = np.r_[np.ones(len(self.eu), bool), np.zeros(len(self.eu), bool)]
            ok = src != dst
            src, dst, w, row, fwd = src[ok], dst[ok], w[ok], row[ok], fwd[ok]
            key = src * self.n_nodes + dst
            order = np.lexsort((w, key))
            key, w, row, fwd, src, dst = key[order], w[order], row[order], fwd[order], src[order], dst[order]
            first = np.r_[True, key[1:] != key[:-1]]
            g = csr_matrix((w[first], (src[first], dst[first])), shape=(self.n_nodes, self.n_nodes))
            self._arcs = (key[first], row[first], fwd[first], g)
        return self._arcs

    def route(self, s: int, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Edge rows and directions (True = u -> v) of the fastest path from node s to t."""
        keys, rows, fwd, g = self._arc_table()
        if s == t:
            return np.zeros(0, np.int64), np.zeros(0, bool)
        pred = self._pred_cache.get(s)
        if pred is None:
            _, pred = dijkstra(g, directed=True, indices=s, return_predecessors=True)
            if len(self._pred_cache) > 64:
                self._pred_cache.clear()
            self._pred_cache[s] = pred
        if pred[t] < 0:
            return np.full(1, -1, np.int64), np.zeros(1, bool)
        seq = [t]
        while seq[-1] != s:
            seq.append(int(pred[seq[-1]]))
        seq = np.array(seq[::-1], np.int64)
        k = seq[:-1] * self.n_nodes + seq[1:]
        i = np.searchsorted(keys, k)
        return rows[i], fwd[i]


#: Searches (sources x reduced nodes) above which a second process helps: starting it costs
#: about a second (a fresh interpreter imports numpy, scipy and this module), a search of this
#: size takes several on this machine (bench/bench_network.py).
PARALLEL_MIN_WORK = 15_000_000
PROCESS_PREFIX = "planner-network-"


def _without_main() -> None:
    """A "spawn" child re-imports the caller's ``__main__`` (a script without a ``__name__``
    guard would run again in it, and start children of its own). The search needs nothing from
    it: strip it from the preparation data of THESE processes only (named ``PROCESS_PREFIX``),
    as ``planner.importer.sandbox`` does for its readers."""
    from multiprocessing import spawn

    original = spawn.get_preparation_data
    if getattr(original, "_planner_network", False):
        return

    def get_preparation_data(name):
        data = original(name)
        if str(name).startswith(PROCESS_PREFIX):
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data

    get_preparation_data._planner_network = True
    spawn.get_preparation_data = get_preparation_data


def _claim(claimed, lock, order) -> int | None:
    with lock:
        for i in order:
            if not claimed[i]:
                claimed[i] = 1
                return i
    return None


def _search_child(data, indices, indptr, m, src, tgt, bounds, claimed, done, lock, shared) -> None:
    """Runs in the search process: claims chunks from the end and writes their rows into the
    shared result; ``done[i]`` once chunk i is written."""
    g = csr_matrix((data, indices, indptr), shape=(m, m))
    out = np.frombuffer(shared, dtype=np.float64).reshape(len(src), len(tgt))
    order = range(len(bounds) - 1, -1, -1)
    while (i := _claim(claimed, lock, order)) is not None:
        a, b = bounds[i]
        out[a:b] = dijkstra(g, directed=True, indices=src[a:b])[:, tgt]
        done[i] = 1


def _search(g, src: np.ndarray, tgt: np.ndarray, *, workers: int = 1,
            chunk_elems: int = 4_000_000) -> tuple[np.ndarray, int]:
    """Rows of ``dijkstra`` from ``src`` restricted to the columns ``tgt``, in chunks of sources
    (at most ``chunk_elems`` distances in memory at once).

    scipy's search holds the GIL, so threads do not help. With ``workers`` > 1 and a search of
    at least ``PARALLEL_MIN_WORK``, one more process ("spawn": nothing of this process --
    threads, locks, database connections -- is copied; named ``planner-network-search``)
    takes chunks from the end while this process takes them from the start, both writing into
    one shared result, so the second process's start-up (about a second) is not waited for.
    Chunks it claimed but did not finish (it failed) are done here. Returns the rows and the
    number of processes used."""
    m = g.shape[0]
    step = max(1, min(chunk_elems // max(1, m), max(1, len(src) // 16)))
    bounds = [(a, min(len(src), a + step)) for a in range(0, len(src), step)]
    if workers <= 1 or len(bounds) < 4 or len(src) * m < PARALLEL_MIN_WORK:
        out = np.empty((len(src), len(tgt)))
        for a, b in bounds:
            out[a:b] = dijkstra(g, directed=True, indices=src[a:b])[:, tgt]
        return out, 1
    import multiprocessing as mp

    _without_main()
    ctx = mp.get_context("spawn")
    claimed = ctx.RawArray("b", len(bounds))
    done = ctx.RawArray("b", len(bounds))
    shared = ctx.RawArray("d", len(src) * len(tgt))
    lock = ctx.Lock()
    out = np.frombuffer(shared, dtype=np.float64).reshape(len(src), len(tgt))
    proc = ctx.Process(target=_search_child, name=PROCESS_PREFIX + "search",
                       args=(g.data, g.indices, g.indptr, m, src, tgt, bounds, claimed, done,
                             lock, shared))
    used = 2
    try:
        proc.start()
    except (OSError, ValueError):  # pragma: no cover - no processes here: search alone
        used = 1
    order = range(len(bounds))
    while (i := _claim(claimed, lock, order)) is not None:
        a, b = bounds[i]
        out[a:b] = dijkstra(g, directed=True, indices=src[a:b])[:, tgt]
        done[i] = 1
    if used == 2:
        proc.join()
    for i in range(len(bounds)):
        if not done[i]:  # claimed by the other process, which failed
            a, b = bounds[i]
            out[a:b] = dijkstra(g, directed=True, indices=src[a:b])[:, tgt]
    return out.copy(), used


def _edge_minutes(kind, cls, flow, km, speeds: NetworkSpeeds, params: TravelParams):
    """Minutes u -> v and v -> u of each edge (module docstring: speeds, current, dry season)."""
    tf = np.zeros(len(kind))
    tb = np.zeros(len(kind))
    road = kind == ROAD_KIND
    if road.any():
        t = km[road] / speeds.road_vector()[cls[road]] * 60.0
        tf[road] = t
        tb[road] = t
    river = kind == RIVER_KIND
    if river.any():
        still, cur = speeds.river_vectors()
        c = cls[river]
        v, cc = still[c], cur[c]
        down = v + cc
        up = np.maximum(v - cc, speeds.min_boat_kmh)
        k = km[river] * 60.0 * params.dry_season_factor
        f = flow[river]
        tf[river] = np.where(f > 0, k / down, np.where(f < 0, k / up, k / v))
        tb[river] = np.where(f > 0, k / up, np.where(f < 0, k / down, k / v))
    return tf, tb


def _pack(minutes: np.ndarray, km: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """(minutes, road km, river km) -> one exact float64 integer, time first."""
    tq = np.maximum(1.0, np.rint(minutes / T_UNIT_MIN))
    kq = np.minimum(np.rint(km / K_UNIT_KM), _K_MAX)
    road = np.where(kind == ROAD_KIND, kq, 0.0)
    river = np.where(kind == RIVER_KIND, kq, 0.0)
    return tq * _SHIFT_T + road * _SHIFT_R + river


def _unpack(w: np.ndarray):
    """Packed weights -> (minutes, road km, river km); inf stays inf."""
    finite = np.isfinite(w)
    ww = np.where(finite, w, 0.0)
    tq = np.floor(ww / _SHIFT_T)
    rest = ww - tq * _SHIFT_T
    kr = np.floor(rest / _SHIFT_R)
    kv = rest - kr * _SHIFT_R
    inf = np.where(finite, 0.0, np.inf)
    return tq * T_UNIT_MIN + inf, kr * K_UNIT_KM + inf, kv * K_UNIT_KM + inf


def _undirected(u, v, wf, wb):
    """Edges as (a < b) with the weights a -> b and b -> a; parallel edges merged (the lower
    weight per direction) and loops dropped."""
    swap = u > v
    a = np.where(swap, v, u)
    b = np.where(swap, u, v)
    f = np.where(swap, wb, wf)
    r = np.where(swap, wf, wb)
    return _merge_parallel(a, b, f, r)


def _merge_parallel(a, b, f, r):
    ok = a != b
    a, b, f, r = a[ok], b[ok], f[ok], r[ok]
    if len(a) == 0:
        return a, b, f, r
    key = a * (int(max(a.max(), b.max())) + 1) + b
    order = np.argsort(key, kind="stable")
    key, a, b, f, r = key[order], a[order], b[order], f[order], r[order]
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    if len(start) == len(key):
        return a, b, f, r
    return a[start], b[start], np.minimum.reduceat(f, start), np.minimum.reduceat(r, start)


def _reduce(n: int, a, b, wf, wb, keep: np.ndarray, seed: int = 0, max_degree: int = 3):
    """Drop what cannot lie on a shortest path between kept nodes, keeping every distance
    between them exactly: dead-end branches without a kept node, and plain nodes of degree two
    or three, replaced by direct edges between their neighbours (p -> x -> q becomes p -> q
    with the summed weight; parallel edges keep the lower weight). Eliminating a node of
    degree three or less never adds edges, so a river tree or a chain of road pieces shrinks to
    its kept nodes, while a grid of crossing roads (degree four) stays. Rounds of independent
    nodes (random priorities), so long chains go in a few rounds."""
    prio = np.random.default_rng(seed).permutation(n)
    for _ in range(10_000):
        if len(a) == 0:
            break
        deg = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
        leaf = (deg == 1) & ~keep
        if leaf.any():
            ok = ~(leaf[a] | leaf[b])
            a, b, wf, wb = a[ok], b[ok], wf[ok], wb[ok]
            continue
        cand = (deg >= 2) & (deg <= max_degree) & ~keep
        if not cand.any():
            break
        both = cand[a] & cand[b]
        blocked = np.zeros(n, bool)
        blocked[np.where(prio[a[both]] > prio[b[both]], a[both], b[both])] = True
        pick = cand & ~blocked
        ea, eb = pick[a], pick[b]
        inc = ea | eb
        x = np.where(ea, a, b)[inc]
        other = np.where(ea, b, a)[inc]
        w_out = np.where(ea, wf, wb)[inc]  # x -> other
        w_in = np.where(ea, wb, wf)[inc]   # other -> x
        order = np.lexsort((x, deg[x]))
        x, other, w_out, w_in = x[order], other[order], w_out[order], w_in[order]
        dx = deg[x]
        new_a, new_b, new_f, new_r = [], [], [], []
        for d in range(2, max_degree + 1):
            sel = dx == d
            if not sel.any():
                continue
            o, wo, wi = other[sel], w_out[sel], w_in[sel]
            for i in range(d):
                for j in range(i + 1, d):
                    p, q = o[i::d], o[j::d]
                    w_pq = wi[i::d] + wo[j::d]  # p -> x -> q
                    w_qp = wi[j::d] + wo[i::d]
                    lo = p < q
                    new_a.append(np.where(lo, p, q))
                    new_b.append(np.where(lo, q, p))
                    new_f.append(np.where(lo, w_pq, w_qp))
                    new_r.append(np.where(lo, w_qp, w_pq))
        rest = ~inc
        a, b, wf, wb = _merge_parallel(np.concatenate([a[rest], *new_a]),
                                       np.concatenate([b[rest], *new_b]),
                                       np.concatenate([wf[rest], *new_f]),
                                       np.concatenate([wb[rest], *new_r]))
    return a, b, wf, wb


# --------------------------------------------------------------------------- travel source
@dataclass
class Route:
    """The way of one leg: ``parts`` as (mode, [(lat, lon), ...]) in travel order, mode
    ``road``, ``river``, ``pier`` (the change between car and boat) or ``access`` (the straight
    part between the site and the network); ``fallback`` when the leg is not on the network
    (then ``parts`` is the straight line)."""

    parts: list[tuple[str, list[tuple[float, float]]]]
    fallback: bool
    minutes: int
    km: float

    def points(self) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for _mode, coords in self.parts:
            for c in coords:
                if not out or out[-1] != c:
                    out.append(c)
        return out


class NetworkTravel:
    """A travel source (``planner.travel.TravelSource``) along the network's roads and rivers.

    ``NetworkTravel(network, params, fallback, snap_km=5)``: ``network`` a :class:`Network`
    (or ``(roads, rivers)`` / ``(roads, rivers, piers)`` to build one); ``params`` the office's
    :class:`~planner.travel.TravelParams` (costs per km, pier transfer minutes, dry-season
    factor); ``fallback`` the source for legs off the network (default: the built-in
    great-circle model with the same params); ``speeds`` a :class:`NetworkSpeeds`;
    ``workers``: processes for a large search (default: 2 cores at most; see :func:`_search`).

    After :meth:`matrices`: ``fallback_legs`` (n x n, True where the fallback gave the leg),
    ``off_network`` (indices of points off the network for that vehicle), :meth:`route` /
    :meth:`path` for the way of a leg between two of its points.
    """

    name = "network"

    def __init__(self, network: Network | Sequence, params: TravelParams | None = None,
                 fallback: GreatCircleTravel | None = None, *, snap_km: float = SNAP_KM,
                 speeds: NetworkSpeeds | None = None, workers: int | None = None):
        if not isinstance(network, Network):
            parts = list(network)
            network = Network.build(*parts[:2], piers=parts[2] if len(parts) > 2 else None)
        if not (isinstance(snap_km, int | float) and snap_km >= 0):
            raise NetworkError(f"snap_km harus angka >= 0, bukan {snap_km!r}")
        self.network = network
        self.params = params or TravelParams()
        self.fallback = fallback or GreatCircleTravel(self.params)
        self.snap_km = float(snap_km)
        self.speeds = speeds or NetworkSpeeds()
        self.workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        self.fallback_legs = np.zeros((0, 0), bool)
        self.off_network: list[int] = []
        self._last: dict[str, Any] | None = None
        self._by_mode: dict[str, dict[str, Any]] = {}

    # ---------------------------------------------------------------- snapping
    def _snaps(self, lat, lon, access, vehicle_mode):
        """Per point up to two (kind, edge, fraction, km) snaps the vehicle may use."""
        n = len(lat)
        net = self.network
        kinds: list[tuple[int, np.ndarray]] = []
        if vehicle_mode == "road":
            kinds.append((ROAD_KIND, access != 1))
        elif vehicle_mode == "river":
            kinds.append((RIVER_KIND, access != 0))
        else:
            kinds.append((ROAD_KIND, access != 1))
            kinds.append((RIVER_KIND, access != 0))
        edge = np.full((n, 2), -1, np.int64)
        frac = np.zeros((n, 2))
        dist = np.full((n, 2), np.inf)
        for slot, (k, want) in enumerate(kinds):
            idx = np.flatnonzero(want)
            if idx.size == 0 or not net.has(k):
                continue
            e, f, d = net.snap(lat[idx], lon[idx], k, self.snap_km)
            edge[idx, slot], frac[idx, slot], dist[idx, slot] = e, f, d
        return edge, frac, dist, tuple(k for k, _ in kinds)

    # ---------------------------------------------------------------- matrices
    def matrices(self, points: pd.DataFrame, vehicle_mode: str) -> Matrices:
        points, lat, lon, access = _prepare(points, vehicle_mode)
        n = len(lat)
        p = self.params
        base = self.fallback.matrices(
            pd.DataFrame({"lat": lat, "lon": lon, "access": [("road", "river", "both")[a] for a in access]}),
            vehicle_mode)
        minutes, km, cost, mode = (base.minutes.copy(), base.km.copy(), base.cost_rp.copy(),
                                   base.mode.copy())
        fallback = np.ones((n, n), bool)
        np.fill_diagonal(fallback, False)
        edge, frac, dist, kinds = self._snaps(lat, lon, access, vehicle_mode)
        on = (edge >= 0).any(axis=1)
        wanted = np.where(vehicle_mode == "road", access != 1,
                          np.where(vehicle_mode == "river", access != 0, True))
        off = np.flatnonzero(~on & wanted)
        notes = list(base.notes)
        if vehicle_mode != "road":
            notes.extend(self.network.notes)  # piers and river flow
        self._last = None
        graph = None
        if on.sum() >= 1:
            slots = np.argwhere(edge >= 0)  # (point, slot)
            se, sf = edge[slots[:, 0], slots[:, 1]], frac[slots[:, 0], slots[:, 1]]
            splits = [(se, sf)]
            with_piers = vehicle_mode == "both" and len(self.network.piers) > 0
            if with_piers:
                pz = self.network.piers
                splits.append((pz["road_edge"].to_numpy(np.int64), pz["road_f"].to_numpy(float)))
                splits.append((pz["river_edge"].to_numpy(np.int64), pz["river_f"].to_numpy(float)))
            graph = _Graph(self.network, kinds, splits, self.speeds, p, with_piers)
            snap_node = graph.point_node[:len(se)]
            uniq, inv = np.unique(snap_node, return_inverse=True)
            packed = graph.distances(uniq, uniq, workers=self.workers)
            t_min, r_km, v_km = _unpack(packed)
            # per point and slot: terminal index and the walk to the network
            term = np.full((n, 2), -1, np.int64)
            term[slots[:, 0], slots[:, 1]] = inv.ravel()
            walk_km = np.where(edge >= 0, dist, np.inf)
            walk_min = walk_km / self.speeds.access_kmh * 60.0
            if vehicle_mode == "both" and RIVER_KIND in kinds:
                # a car-and-boat team boarding or leaving the boat at a site cars reach too (a
                # base, a 'both' village) changes vehicle there, as at a pier
                r = kinds.index(RIVER_KIND)
                walk_min[:, r] += np.where(access == _A_BOTH, p.pier_transfer_min, 0.0)
            best = np.full((n, n), np.inf)
            b_r = np.zeros((n, n))
            b_v = np.zeros((n, n))
            b_walk = np.zeros((n, n))
            combo = np.full((n, n), -1, np.int8)
            for sa in range(2):
                for sb in range(2):
                    ia = np.flatnonzero(term[:, sa] >= 0)
                    ib = np.flatnonzero(term[:, sb] >= 0)
                    if ia.size == 0 or ib.size == 0:
                        continue
                    ta, tb = term[ia, sa], term[ib, sb]
                    sub = np.ix_(ta, tb)
                    cand = walk_min[ia, sa][:, None] + t_min[sub] + walk_min[ib, sb][None, :]
                    ix = np.ix_(ia, ib)
                    better = cand < best[ix]
                    if not better.any():
                        continue
                    cur = best[ix]
                    best[ix] = np.where(better, cand, cur)
                    b_r[ix] = np.where(better, r_km[sub], b_r[ix])
                    b_v[ix] = np.where(better, v_km[sub], b_v[ix])
                    b_walk[ix] = np.where(better, walk_km[ia, sa][:, None] + walk_km[ib, sb][None, :],
                                          b_walk[ix])
                    combo[ix] = np.where(better, sa * 2 + sb, combo[ix])
            use = np.isfinite(best)
            np.fill_diagonal(use, False)
            use &= base.mode != UNREACHABLE
            minutes[use] = np.minimum(np.rint(best[use]), INF_MIN - 1).astype(np.int32)
            km[use] = (b_r + b_v + b_walk)[use]
            cost[use] = (b_r * p.road_cost_per_km + b_v * p.river_cost_per_km)[use]
            mode[use] = np.where(b_v[use] > 0, RIVER, ROAD).astype(np.uint8)
            if vehicle_mode == "road":
                mode[use] = ROAD
            elif vehicle_mode == "river":
                mode[use] = RIVER
            fallback[use] = False
            both_on = on[:, None] & on[None, :]
            np.fill_diagonal(both_on, False)
            apart = int((both_on & ~np.isfinite(best) & (base.mode != UNREACHABLE)).sum())
            if apart:
                notes.append(f"{apart} perjalanan antara titik di jaringan yang tidak tersambung: "
                             "perkiraan garis lurus dipakai")
            self._last = {"graph": graph, "term_node": np.where(term >= 0, uniq[np.maximum(term, 0)], -1),
                          "edge": edge, "frac": frac, "walk_km": walk_km, "combo": combo,
                          "lat": lat, "lon": lon, "minutes": minutes, "km": km}
        if self._last is None:
            self._last = {"graph": None, "combo": np.full((n, n), -1, np.int8), "lat": lat,
                          "lon": lon, "minutes": minutes, "km": km}
        unreachable = base.mode == UNREACHABLE
        fallback &= ~unreachable
        self.fallback_legs = fallback
        self.off_network = [int(i) for i in off]
        self._last["fallback"] = fallback
        self._last["off"] = self.off_network
        self._by_mode[vehicle_mode] = self._last
        if off.size:
            # why: no layer for any way this point may travel, or too far from the network
            can_road = (vehicle_mode != "river") & (access[off] != 1)
            can_river = (vehicle_mode != "road") & (access[off] != 0)
            no_layer = ~((can_road & self.network.has(ROAD_KIND))
                         | (can_river & self.network.has(RIVER_KIND)))
            for group, why in ((off[no_layer], "tidak ada lapisan "
                                + _missing_kinds(self.network, vehicle_mode)),
                               (off[~no_layer], f"lebih dari {self.snap_km:g} km dari jaringan")):
                if group.size == 0:
                    continue
                shown = ", ".join(_point_label(points, int(i)) for i in group[:8])
                more = f" dan {group.size - 8} lagi" if group.size > 8 else ""
                notes.append(f"{group.size} titik di luar jaringan ({why}): {shown}{more}; "
                             "perjalanannya memakai perkiraan garis lurus")
        return Matrices(minutes, km, cost, mode, vehicle_mode, self.name, tuple(notes))

    # ---------------------------------------------------------------- paths
    def route(self, a: int, b: int, vehicle_mode: str | None = None) -> Route:
        """The way of the leg from point ``a`` to point ``b`` of the last :meth:`matrices`
        call (for ``vehicle_mode``: of the last call for that vehicle)."""
        last = self._last if vehicle_mode is None else self._by_mode.get(vehicle_mode)
        if last is None:
            raise NetworkError("jalur perjalanan baru ada setelah matriks dihitung (matrices())")
        lat, lon = last["lat"], last["lon"]
        n = len(lat)
        if not (0 <= a < n and 0 <= b < n):
            raise NetworkError(f"nomor titik di luar rentang (0..{n - 1})")
        minutes = int(last["minutes"][a, b])
        km = float(last["km"][a, b])
        pa, pb = (float(lat[a]), float(lon[a])), (float(lat[b]), float(lon[b]))
        if a == b:
            return Route([], False, 0, 0.0)
        if last["fallback"][a, b] or last["graph"] is None or last["combo"][a, b] < 0:
            return Route([("fallback", [pa, pb])], True, minutes, km)
        g: _Graph = last["graph"]
        c = int(last["combo"][a, b])
        sa, sb = c // 2, c % 2
        s, t = int(last["term_node"][a, sa]), int(last["term_node"][b, sb])
        rows, fwd = g.route(s, t)
        parts: list[tuple[str, list[tuple[float, float]]]] = []
        start = (float(g.node_lonlat[s, 1]), float(g.node_lonlat[s, 0]))
        end = (float(g.node_lonlat[t, 1]), float(g.node_lonlat[t, 0]))
        if last["walk_km"][a, sa] > 0:
            parts.append(("access", [pa, start]))
        net = self.network
        for r, f in zip(rows, fwd, strict=True):
            if r < 0:
                return Route([("fallback", [pa, pb])], True, minutes, km)
            kind = int(g.ekind[r])
            if kind == TRANSFER_KIND:
                u, v = (g.eu[r], g.ev[r]) if f else (g.ev[r], g.eu[r])
                coords = [(float(g.node_lonlat[u, 1]), float(g.node_lonlat[u, 0])),
                          (float(g.node_lonlat[v, 1]), float(g.node_lonlat[v, 0]))]
                name = "pier"
            elif g.f0[r] <= 0 and g.f1[r] >= 1:
                piece = shapely.get_coordinates(net.geoms[g.base[r]])
            else:
                sub = _sub_coords(shapely.get_coordinates(net.geoms_km[g.base[r]]), g.f0[r], g.f1[r])
                piece = np.column_stack(net.proj.inv(sub[:, 0], sub[:, 1]))
            if kind != TRANSFER_KIND:
                if not f:
                    piece = piece[::-1]
                coords = [(float(y), float(x)) for x, y in piece]
                name = "road" if kind == ROAD_KIND else "river"
            if parts and parts[-1][0] == name:
                parts[-1][1].extend(coords[1:])
            else:
                parts.append((name, coords))
        if last["walk_km"][b, sb] > 0:
            parts.append(("access", [end, pb]))
        return Route(parts, False, minutes, km)

    def path(self, a: int, b: int, vehicle_mode: str | None = None, *,
             simplify_m: float = 0.0) -> list[tuple[float, float]]:
        """The leg's way as ``(lat, lon)`` points (the straight line for a fallback leg);
        ``simplify_m`` > 0 simplifies it (Douglas-Peucker, metres)."""
        return _simplified(self.route(a, b, vehicle_mode).points(), simplify_m)

    def paths(self, points: pd.DataFrame, pairs: Iterable[tuple[int, int]], vehicle_mode: str,
              *, simplify_m: float = 0.0) -> list[Route]:
        """The ways of several legs between ``points`` (row indices), e.g. a saved plan's
        legs for its map: one :meth:`matrices` call over the points the pairs use, then one
        search per distinct start. ``simplify_m`` > 0 simplifies each part."""
        pairs = [(int(a), int(b)) for a, b in pairs]
        used = sorted({i for pair in pairs for i in pair})
        local = {g: k for k, g in enumerate(used)}
        sub = points.iloc[used].reset_index(drop=True)
        self.matrices(sub, vehicle_mode)
        out = []
        for a, b in pairs:
            r = self.route(local[a], local[b], vehicle_mode)
            if simplify_m > 0:
                r.parts = [(m, _simplified(c, simplify_m)) for m, c in r.parts]
            out.append(r)
        return out


def _simplified(pts: list[tuple[float, float]], simplify_m: float) -> list[tuple[float, float]]:
    if simplify_m <= 0 or len(pts) <= 2:
        return pts
    line = shapely.linestrings([(lo, la) for la, lo in pts])
    line = shapely.simplify(line, simplify_m / 1000.0 / KM_PER_DEG_LAT)
    return [(float(y), float(x)) for x, y in shapely.get_coordinates(line)]


def _missing_kinds(net: Network, vehicle_mode: str) -> str:
    need = {"road": [ROAD_KIND], "river": [RIVER_KIND], "both": [ROAD_KIND, RIVER_KIND]}[vehicle_mode]
    names = [("jalan" if k == ROAD_KIND else "sungai") for k in need if not net.has(k)]
    return " dan ".join(names)


def _point_label(points: pd.DataFrame, i: int) -> str:
    if "code" in points.columns:
        return str(points["code"].iloc[i])
    if "name" in points.columns:
        return str(points["name"].iloc[i])
    return f"titik {i + 1}"


# --------------------------------------------------------------------------- calibration
VEHICLE_WORDS = {
    "road": "road", "jalan": "road", "darat": "road", "mobil": "road", "car": "road",
    "river": "river", "sungai": "river", "air": "river", "perahu": "river", "kapal": "river",
    "boat": "river", "klotok": "river", "speedboat": "river", "ces": "river",
    "both": "both", "keduanya": "both", "campuran": "both", "mobil+perahu": "both",
    "car+boat": "both", "darat+sungai": "both", "jalan+sungai": "both",
}
LEG_ALIASES = {
    "from": ("from_code", "from", "dari", "asal", "kode_asal"),
    "to": ("to_code", "to", "ke", "tujuan", "kode_tujuan"),
    "mode": ("mode", "moda", "kendaraan", "vehicle"),
    "minutes": ("minutes", "menit", "waktu_menit", "durasi_menit", "min"),
}


def read_known_legs(path: str | Path) -> pd.DataFrame:
    """Known travel times: CSV ``from_code,to_code,mode,minutes`` (Indonesian headers
    ``dari,ke,moda,menit`` too; ``;`` or tab also; decimal comma with ``;``). Mode: road/jalan/
    mobil, river/sungai/perahu, both/keduanya. Raises :class:`NetworkError` naming the row."""
    path = Path(path)
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NetworkError(f"berkas {name}: tidak dapat dibaca ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise NetworkError(f"berkas {name}: kosong (perlu baris judul from_code,to_code,mode,minutes)")
    head = lines[0]
    delim = max((";", "\t", ","), key=head.count) if any(d in head for d in ";\t,") else ","
    reader = csv.reader(lines, delimiter=delim)
    header = [h.strip().lower().replace(" ", "_") for h in next(reader)]
    col = {}
    for key, names in LEG_ALIASES.items():
        for i, h in enumerate(header):
            if h in names:
                col[key] = i
                break
        if key not in col:
            raise NetworkError(f"berkas {name}, baris 1: kolom '{key}' ({'/'.join(names[:3])}) tidak "
                               f"ada; kolom yang ada: {', '.join(header)}")
    rows = []
    for rowno, rec in enumerate(reader, start=2):
        if not rec or all(not c.strip() for c in rec):
            continue
        rec = rec + [""] * (len(header) - len(rec))
        a, b = rec[col["from"]].strip(), rec[col["to"]].strip()
        word = rec[col["mode"]].strip().lower().replace(" ", "")
        val = rec[col["minutes"]].strip()
        where = f"berkas {name}, baris {rowno}"
        if not a or not b:
            raise NetworkError(f"{where}: kode asal/tujuan kosong")
        if word not in VEHICLE_WORDS:
            raise NetworkError(f"{where}, kolom '{header[col['mode']]}': moda '{word}' tidak dikenal "
                               "(road/jalan/mobil, river/sungai/perahu, both/keduanya)")
        if delim != ",":
            val = val.replace(",", ".")
        try:
            minutes = float(val)
        except ValueError:
            raise NetworkError(f"{where}, kolom '{header[col['minutes']]}': '{val}' bukan angka") from None
        if not (math.isfinite(minutes) and minutes > 0):
            raise NetworkError(f"{where}, kolom '{header[col['minutes']]}': menit harus > 0")
        rows.append({"from": a, "to": b, "mode": VEHICLE_WORDS[word], "minutes": minutes, "row": rowno})
    if not rows:
        raise NetworkError(f"berkas {name}: tidak ada baris data")
    return pd.DataFrame(rows)


@dataclass
class Calibration:
    """What :func:`calibrate` found: the fitted ``speeds``, the ``factors`` per class
    (``road:<class>``/``river:<class>``; only classes a known leg uses), the ``table`` (one
    row per known leg: from, to, mode, known, before, after, error_before, error_after, on
    network), root-mean-square errors and notes."""

    speeds: NetworkSpeeds
    factors: dict[str, float]
    table: pd.DataFrame
    rmse_before: float
    rmse_after: float
    notes: list[str]

    def summary(self) -> dict:
        return {"legs": int(len(self.table)), "fitted_legs": int(self.table["on_network"].sum()),
                "rmse_before_min": round(self.rmse_before, 1),
                "rmse_after_min": round(self.rmse_after, 1),
                "factors": {k: round(v, 3) for k, v in self.factors.items()}}


def _leg_parts(nt: NetworkTravel, a: int, b: int, speeds: NetworkSpeeds, keys: list[str]):
    """The leg's minutes split into: minutes per class at ``speeds`` (dict key -> minutes),
    and the constant part (walk, pier transfers)."""
    last = nt._last
    g: _Graph = last["graph"]
    c = int(last["combo"][a, b])
    sa, sb = c // 2, c % 2
    s, t = int(last["term_node"][a, sa]), int(last["term_node"][b, sb])
    rows, fwd = g.route(s, t)
    const = (last["walk_km"][a, sa] + last["walk_km"][b, sb]) / speeds.access_kmh * 60.0
    per = dict.fromkeys(keys, 0.0)
    for r, f in zip(rows, fwd, strict=True):
        k = int(g.ekind[r])
        t_min = g.tf[r] if f else g.tb[r]
        if k == TRANSFER_KIND:
            const += t_min
            continue
        key = ("road:" + ROAD_CLASSES[g.ecls[r]]) if k == ROAD_KIND else ("river:" + RIVER_CLASSES[g.ecls[r]])
        per[key] = per.get(key, 0.0) + t_min
    return per, const, tuple(rows.tolist())


def calibrate(network: Network, points: pd.DataFrame, known_legs: pd.DataFrame, *,
              params: TravelParams | None = None, speeds: NetworkSpeeds | None = None,
              snap_km: float = SNAP_KM, prior_min: float = 5.0,
              bounds: tuple[float, float] = (0.25, 4.0), rounds: int = 6) -> Calibration:
    """Fit the class speeds to travel times the office knows.

    ``points``: ``code, lat, lon, access`` (villages and bases); ``known_legs``: ``from, to,
    mode, minutes`` (:func:`read_known_legs`). For the paths the model takes now, a leg's
    minutes are ``sum over classes of minutes_c / factor_c`` + walk and transfers; the factors
    of the classes the legs use are fitted by bounded least squares
    (``scipy.optimize.least_squares``, factors within ``bounds``), with a weak pull towards 1
    (``prior_min``: a residual of that many minutes per unit of log-factor, so a class few legs
    use stays near its default), then the paths are recomputed with the new speeds and the fit
    repeated until the paths stay the same (at most ``rounds`` times). Legs off the network are
    shown but not fitted."""
    from scipy.optimize import least_squares

    params = params or TravelParams()
    speeds0 = speeds or NetworkSpeeds()
    pts, lat, lon, access = _prepare(points, "both")
    if "code" not in pts.columns:
        raise NetworkError("titik perlu kolom 'code'")
    codes = [str(c) for c in pts["code"]]
    index = {c: i for i, c in enumerate(codes)}
    legs = known_legs.reset_index(drop=True)
    unknown = sorted({c for c in pd.concat([legs["from"], legs["to"]]).astype(str) if c not in index})
    if unknown:
        raise NetworkError("kode tidak dikenal: " + ", ".join(unknown[:10])
                           + (f" dan {len(unknown) - 10} lagi" if len(unknown) > 10 else "")
                           + " (kode desa atau nama basis tim)")
    modes = sorted(set(legs["mode"]))
    notes: list[str] = []

    def evaluate(sp: NetworkSpeeds):
        """minutes per leg, on-network flags, per-class parts (paths) under ``sp``."""
        out_min = np.zeros(len(legs))
        on = np.zeros(len(legs), bool)
        parts: list[tuple[dict, float, tuple] | None] = [None] * len(legs)
        for mode in modes:
            sel = np.flatnonzero(legs["mode"].to_numpy() == mode)
            used = sorted({index[str(c)] for c in legs.loc[sel, "from"]} | {index[str(c)] for c in legs.loc[sel, "to"]})
            local = {g: k for k, g in enumerate(used)}
            sub = pts.iloc[used].reset_index(drop=True)
            nt = NetworkTravel(network, params, snap_km=snap_km, speeds=sp)
            m = nt.matrices(sub, mode)
            for i in sel:
                a, b = local[index[str(legs.at[i, "from"])]], local[index[str(legs.at[i, "to"])]]
                out_min[i] = m.minutes[a, b]
                on[i] = not nt.fallback_legs[a, b] and m.minutes[a, b] < INF_MIN
                if on[i]:
                    parts[i] = _leg_parts(nt, a, b, sp, [])
        return out_min, on, parts

    before, on0, parts = evaluate(speeds0)
    known = legs["minutes"].to_numpy(float)
    factors: dict[str, float] = {}
    current = speeds0
    after, on = before, on0
    fit_idx = np.flatnonzero(on0)
    if fit_idx.size == 0:
        notes.append("tidak ada perjalanan yang seluruhnya di jaringan: kecepatan tidak diubah")
    else:
        seen_paths = None
        for _ in range(max(1, rounds)):
            keys = sorted({k for i in fit_idx for k, v in parts[i][0].items() if v > 0})
            if not keys:
                break
            base_f = np.array([factors.get(k, 1.0) for k in keys])
            # minutes at the *default* speeds per class = minutes now x current factor
            A = np.array([[parts[i][0].get(k, 0.0) * factors.get(k, 1.0) for k in keys] for i in fit_idx])
            const = np.array([parts[i][1] for i in fit_idx])
            y = known[fit_idx]

            def resid(logf, A=A, const=const, y=y):
                f = np.exp(logf)
                return np.r_[A @ (1.0 / f) + const - y, prior_min * logf]

            lo, hi = math.log(bounds[0]), math.log(bounds[1])
            x0 = np.clip(np.log(base_f), lo + 1e-9, hi - 1e-9)
            sol = least_squares(resid, x0, bounds=(lo, hi), method="trf")
            factors.update({k: float(math.exp(v)) for k, v in zip(keys, sol.x, strict=True)})
            current = speeds0.scaled(factors)
            after, on, parts = evaluate(current)
            fit_idx = np.flatnonzero(on)
            paths = tuple(parts[i][2] if parts[i] else () for i in range(len(legs)))
            if paths == seen_paths:
                break
            seen_paths = paths
    table = pd.DataFrame({
        "from": legs["from"].astype(str), "to": legs["to"].astype(str), "mode": legs["mode"],
        "known": known, "before": before, "error_before": before - known,
        "after": after, "error_after": after - known, "on_network": on})
    fitted = table["on_network"].to_numpy()

    def rmse(col):
        e = table.loc[fitted, col].to_numpy(float)
        return float(np.sqrt(np.mean(e ** 2))) if e.size else float("nan")

    return Calibration(current, dict(sorted(factors.items())), table, rmse("error_before"),
                       rmse("error_after"), notes)


def frame_points(rows: Iterable[Mapping]) -> pd.DataFrame:
    """Points (``code, lat, lon, access``) from dicts, for callers building them by hand."""
    return pd.DataFrame([{"code": r["code"], "lat": float(r["lat"]), "lon": float(r["lon"]),
                          "access": r.get("access", "road")} for r in rows])
