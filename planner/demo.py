"""The built-in FICTIONAL demo regency and calibrated synthetic recaps.

"Kabupaten Contoh (fiktif)" is invented from scratch by a seeded generator (numpy ``Generator``,
shapely, geopandas): nothing in it comes from a real map or a real recap. It is shaped like a
Kalimantan regency such as Kotawaringin Timur so the planner has something realistic to work
on out of the box:

* an outline of about 16,000 km², elongated north–south (≈1.1° × 2.1°);
* one main river from the north down to the coast in the south, with four tributaries;
* a capital town near the river mouth and a trunk road running north from it that ends about
  60 % of the way up (plus feeder roads to kecamatan seats);
* 17 kecamatan and 185 villages (17 kelurahan, all in the capital's kecamatan, and 168 desa),
  village polygons being Voronoi cells of the settlements, clipped to the outline and split by
  the main river; kecamatan are groups of cells;
* Kemendagri-style codes under the prefix ``99.01`` (no real regency uses province 99);
* access modes (villages upriver beyond the road end and an estuary kecamatan across the river
  from the capital are river-only; those near the road end on a river are ``both``), and
  ``no_signal`` flags;
* a road and river network for travel (``demo_network.geojson``: village roads and creeks
  joining every village to it, rivers drawn from source to mouth, a pier where the road ends
  and one at the capital), imported by ``load_demo`` so plans follow it;
* figures totalling exactly 443,033 people and 316,474 obliged (the published Kotim totals),
  with recording rates that fall with remoteness.

``synthetic_recap`` produces the same kind of calibrated, clearly synthetic figures for ANY
village set (e.g. the real Kotim geography in tests and benchmarks; never committed).

Story: ``generate(seed)`` → ``Demo`` (villages, recap, context, meta) → ``write_demo(dir)`` writes
the committed files in ``data/`` byte-identically for the same seed → ``load_demo()`` imports them
through the importer (needs a Flask app context, like every database write).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon, mapping
from shapely.ops import split

from . import fmt

DEFAULT_SEED = 20261127
TOTAL_POPULATION = 443_033  # published Kotim figure (used as the demo's calibration target)
TOTAL_OBLIGED = 316_474  # published Kotim "wajib KTP-el"
SNAPSHOT_DATE = dt.date(2026, 10, 31)
REGION = "Kabupaten Contoh (fiktif)"
DATASET_NAME = "Demo Kabupaten Contoh (fiktif)"
BASE_NAME = "Kantor Disdukcapil (fiktif)"
PREFIX = "99.01"
RECAP_TITLE = "REKAP PEREKAMAN KTP-EL KABUPATEN CONTOH (FIKTIF)"
RECAP_HEADER = [
    "KODE", "DESA/KELURAHAN", "KECAMATAN", "JUMLAH PENDUDUK", "WAJIB KTP-EL", "SUDAH REKAM",
    "BELUM REKAM", "%", "AKSES", "TANPA SINYAL",
]
ACCESS_LABELS = {"road": "darat", "river": "sungai", "both": "darat+sungai"}
MONTHS_ID = [
    "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
    "Oktober", "November", "Desember",
]

FILES = {
    "villages": "demo_villages.geojson",
    "recap": "demo_recap.csv",
    "attributes": "demo_attributes.csv",
    "context": "demo_context.geojson",
    "network": "demo_network.geojson",
    "meta": "demo.json",
    "readme": "README.md",
}

# Kotawaringin Timur choices for ``kotim_recap`` (real geography, synthetic figures).
KOTIM_CAPITAL = (-2.5336, 112.9497)  # Sampit
KOTIM_RIVER_KECAMATAN = ("Pulau Hanaut",)
KOTIM_BOTH_KECAMATAN = ("Antang Kalang", "Telaga Antang", "Bukit Santuai")

# --------------------------------------------------------------------------- local frame
# The generator works in kilometres (x east, y north from the coast) and converts to lon/lat
# with a local equirectangular projection at the regency's mid-latitude.
LON0 = 111.60
LAT_COAST = -3.05
LAT_MID = -2.0
KX = 111.320 * math.cos(math.radians(LAT_MID))  # km per degree of longitude
KY = 110.574  # km per degree of latitude
HEIGHT_KM = 232.0  # ≈ 2.1° of latitude
TARGET_AREA_KM2 = 16_000.0
ROAD_END_FRACTION = 0.60
CAPITAL_Y = 20.0  # km upriver from the coast
ESTUARY_Y = 44.0  # the west bank below this is the river-only estuary kecamatan
N_KECAMATAN = 17
N_KELURAHAN = 17
N_VILLAGES = 185
GRID = 1e-5  # degrees; coordinates are rounded to 5 decimals (≈1 m)


@dataclass
class Demo:
    """One generated fictional regency."""

    villages: gpd.GeoDataFrame  # code, name, kecamatan_code, kecamatan, type, access, no_signal, stop_lat, stop_lon, geometry
    recap: pd.DataFrame  # code, name, kecamatan, population, obliged, recorded, access, no_signal
    context: gpd.GeoDataFrame  # kind, name, code, role, geometry
    meta: dict
    attributes: list = field(default_factory=list)  # rows of demo_attributes.csv
    network: gpd.GeoDataFrame | None = None  # kind (road/river/pier), name, role, geometry


def _to_lonlat(geom):
    return shapely.transform(
        geom, lambda xy: np.column_stack([LON0 + xy[:, 0] / KX, LAT_COAST + xy[:, 1] / KY])
    )


def _lonlat(x: float, y: float) -> tuple[float, float]:
    return LON0 + x / KX, LAT_COAST + y / KY


def _wiggle(rng: np.random.Generator, s: np.ndarray, terms: Sequence[tuple[float, float]]) -> np.ndarray:
    """Smooth noise: a sum of sines (amplitude, wavelength in km) with random phases."""
    out = np.zeros_like(s, dtype=float)
    for amp, wavelength in terms:
        out += amp * np.sin(2 * np.pi * s / wavelength + rng.uniform(0, 2 * np.pi))
    return out


# --------------------------------------------------------------------------- names
_ONSETS = ["b", "d", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "ny", "w"]
_ONSET_P = np.array([8, 5, 3, 5, 3, 9, 6, 7, 5, 6, 7, 7, 9, 2, 2], dtype=float)
_VOWELS = ["a", "i", "u", "e", "o"]
_VOWEL_P = np.array([10, 5, 5, 1.5, 2], dtype=float)
# a closed medial syllable is followed by a matching consonant: "Tumbang", "Sampit", "Kandan"
_MEDIAL = {"m": ["b", "p"], "n": ["d", "t", "j"], "ng": ["k", "g"], "r": ["b", "d", "k", "t", "s"]}
_FINALS = ["n", "ng", "h", "k", "t", "s", "r", "l", "i", "u"]
_FINAL_P = np.array([7, 7, 6, 4, 1.5, 1.5, 2.5, 1.5, 1.5, 1], dtype=float)

_STRIP_PREFIXES = {"Tumbang", "Riam", "Lubuk", "Rantau", "Batu", "Sungai", "Tanjung", "Teluk",
                   "Pondok", "Muara", "Pulau", "Handil", "Kuala", "Parit", "Bukit", "Pasir",
                   "Simpang", "Padang", "Pasar"}
_JAVA_A = ["Sido", "Tri", "Bina", "Suka", "Sri", "Tunas", "Marga", "Tirta", "Purwo", "Rejo",
           "Budi", "Sumber", "Bangun", "Wira", "Catur", "Panca", "Sapta", "Karta"]
_JAVA_B = ["Mulyo", "Rejo", "Bakti", "Mukti", "Maju", "Asri", "Raharjo", "Utomo", "Harjo",
           "Kencana", "Subur", "Wangi", "Sentosa", "Luhur", "Makmur", "Lestari", "Widodo",
           "Karya", "Tentrem", "Santoso"]


def _pick(rng: np.random.Generator, items: Sequence[str], p: Sequence[float] | None = None) -> str:
    if p is None:
        return items[int(rng.integers(len(items)))]
    w = np.asarray(p, dtype=float)
    return items[int(rng.choice(len(items), p=w / w.sum()))]


class _Namer:
    """Invented Dayak/Malay/Banjar/Javanese-transmigration style names, unique in the regency."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.roots: set[str] = set()
        self.names: set[str] = set()

    def root(self) -> str:
        rng = self.rng
        for _ in range(1000):
            n = 2 if rng.random() < 0.75 else 3
            word, medial = "", ""
            for i in range(n):
                if medial:
                    onset = _pick(rng, _MEDIAL[medial])
                else:
                    onset = _pick(rng, _ONSETS, _ONSET_P)
                vowel = _pick(rng, _VOWELS, _VOWEL_P)
                if i == 0 and vowel == "e":
                    vowel = "a"
                word += onset + vowel
                medial = ""
                if i < n - 1 and rng.random() < 0.22:
                    medial = _pick(rng, sorted(_MEDIAL))
                    word += medial
                elif i == n - 1 and rng.random() < 0.7:
                    final = _pick(rng, _FINALS, _FINAL_P)
                    if final in ("i", "u") and vowel not in ("a", "e", "o"):
                        final = "n"
                    word += final
            word = word[0].upper() + word[1:]
            if 4 <= len(word) <= 8 and word not in self.roots:
                self.roots.add(word)
                return word
        raise RuntimeError("name generator exhausted")  # pragma: no cover

    def claim(self, name: str) -> bool:
        if name in self.names:
            return False
        self.names.add(name)
        return True

    def village(self, style: str) -> str:
        rng = self.rng
        prefixes = {
            "upriver": (["Tumbang", "Riam", "Lubuk", "Rantau", "Batu", "Sungai", ""],
                        [38, 8, 10, 12, 10, 10, 12]),
            "river": (["Sungai", "Tanjung", "Teluk", "Pondok", "Muara", "Lubuk", ""],
                      [25, 15, 10, 10, 8, 7, 25]),
            "estuary": (["Pulau", "Handil", "Kuala", "Parit", "Tanjung", "Teluk", "Sungai"],
                        [20, 18, 12, 14, 12, 12, 12]),
            "road": (["Pondok", "Bukit", "Pasir", "Batu", "Simpang", "Padang", ""],
                     [12, 15, 8, 10, 10, 5, 40]),
        }
        for _ in range(1000):
            if style == "transmigration":
                if rng.random() < 0.7:
                    a, b = _pick(rng, _JAVA_A), _pick(rng, _JAVA_B)
                    if a == b:
                        continue
                    name = f"{a} {b}"
                else:
                    name = f"{_pick(rng, ['Sumber', 'Bukit', 'Karya', 'Tunas'])} {self.root()}"
            elif style == "kelurahan":
                pattern = _pick(rng, ["{r} Hilir", "{r} Hulu", "{r} Seberang", "Pasar {r}",
                                      "{r} Baru", "{r} Raya", "{r} Tengah", "{r} Timur", "{r}"])
                name = pattern.format(r=self.root())
            else:
                items, weights = prefixes[style]
                prefix = _pick(rng, items, weights)
                name = f"{prefix} {self.root()}".strip()
            if self.claim(name):
                return name
        raise RuntimeError("name generator exhausted")  # pragma: no cover


# --------------------------------------------------------------------------- geography
@dataclass
class _Geo:
    outline: Polygon
    west: Polygon
    east: Polygon
    river_y: np.ndarray
    river_x: np.ndarray
    river: LineString  # main river inside the outline (source → mouth)
    tribs: list[LineString]  # source → junction
    trib_junctions: list[tuple[float, float]]
    road: LineString  # trunk road, capital → road end
    capital: tuple[float, float]
    centre: np.ndarray
    half_left: np.ndarray
    half_right: np.ndarray
    ys: np.ndarray

    def rx(self, y):
        return np.interp(y, self.river_y, self.river_x)

    def cx(self, y):
        return np.interp(y, self.ys, self.centre)

    def hl(self, y):
        return np.interp(y, self.ys, self.half_left)

    def hr(self, y):
        return np.interp(y, self.ys, self.half_right)


def _make_geography(rng: np.random.Generator) -> _Geo:
    H = HEIGHT_KM
    ys = np.linspace(0.0, H, 233)
    t = ys / H
    centre = _wiggle(rng, ys, [(16.0, 420.0), (5.0, 150.0), (2.0, 60.0)])
    centre -= centre[0]
    profile = 0.55 + 0.95 * np.sin(np.pi * (0.85 * t + 0.1)) ** 2 - 0.15 * t
    hl = profile * (1 + _wiggle(rng, ys, [(0.10, 90.0), (0.05, 31.0), (0.02, 11.0)]))
    hr = profile * (1 + _wiggle(rng, ys, [(0.10, 90.0), (0.05, 31.0), (0.02, 11.0)]))
    top = ys > H - 25
    close = np.ones_like(ys)
    close[top] = np.sqrt(np.clip(1 - ((ys[top] - (H - 25)) / 25) ** 2, 0, 1))
    hl, hr = hl * close, hr * close
    # scale the widths so the (planar, local) area is the target
    left = np.column_stack([centre - hl, ys])
    right = np.column_stack([centre + hr, ys])[::-1][1:]  # skip the duplicate top point
    area1 = Polygon(np.vstack([left, right])).area
    scale = TARGET_AREA_KM2 / area1
    hl, hr = hl * scale, hr * scale
    # coast: a gently irregular line between the two bottom corners
    xs_coast = np.linspace(centre[0] + hr[0], centre[0] - hl[0], 30)[1:-1]
    coast_y = _wiggle(rng, xs_coast, [(0.6, 23.0), (0.3, 7.0)]) - 0.3
    ring = np.vstack([
        np.column_stack([centre - hl, ys]),
        np.column_stack([centre + hr, ys])[::-1][1:],
        np.column_stack([xs_coast, coast_y]),
    ])
    outline = shapely.make_valid(Polygon(ring))
    if outline.geom_type != "Polygon":  # pragma: no cover - defensive
        outline = max(outline.geoms, key=lambda g: g.area)
    outline = outline.simplify(0.05)

    # main river (y-monotonic so it never loops), clamped well inside the outline
    ry = np.arange(-6.0, H - 8.0 + 1e-9, 0.5)
    meander = _wiggle(rng, ry, [(6.5, 55.0), (3.0, 21.0), (1.2, 8.5), (0.4, 3.3)])
    lim = 0.5 * np.minimum(np.interp(ry, ys, hl), np.interp(ry, ys, hr))
    rx = np.interp(ry, ys, centre) + np.clip(meander, -lim, lim)
    ext = LineString(np.vstack([np.column_stack([rx, ry])[::-1], [[rx[0], -40.0]]]))
    ext = LineString(np.vstack([[[rx[-1], H + 40.0]], np.asarray(ext.coords)]))
    pieces = split(outline, ext)
    polys = sorted(pieces.geoms, key=lambda g: g.area, reverse=True)
    if len(polys) != 2:  # pragma: no cover - defensive
        raise RuntimeError("river does not split the outline in two")
    a, b = polys
    west, east = (a, b) if a.centroid.x < b.centroid.x else (b, a)
    river = ext.intersection(outline)
    if river.geom_type != "LineString":
        river = shapely.line_merge(river)
        if river.geom_type != "LineString":  # pragma: no cover - defensive
            river = max(river.geoms, key=lambda g: g.length)

    geo = _Geo(outline=outline, west=west, east=east, river_y=ry, river_x=rx, river=river,
               tribs=[], trib_junctions=[], road=LineString([(0, 0), (0, 1)]),
               capital=(0.0, 0.0), centre=centre, half_left=hl, half_right=hr, ys=ys)

    # tributaries: junction on the main river, running outwards and upstream
    inner = outline.buffer(-1.5)
    side = 1 if rng.random() < 0.5 else -1
    for frac in (0.33, 0.50, 0.66, 0.82):
        yj = (frac + rng.uniform(-0.03, 0.03)) * H
        xj = float(geo.rx(yj))
        ye = min(yj + rng.uniform(25, 45), H - 15)
        edge = geo.hr(ye) if side > 0 else geo.hl(ye)
        xe = float(geo.cx(ye) + side * edge * rng.uniform(0.72, 0.88))
        length = math.hypot(xe - xj, ye - yj)
        u = np.linspace(0, 1, max(int(length / 0.5), 10))
        s = u * length
        perp = np.sin(np.pi * u) * _wiggle(rng, s, [(3.0, 27.0), (1.0, 7.5), (0.3, 2.6)])
        nx, ny = -(ye - yj) / length, (xe - xj) / length
        px = xj + u * (xe - xj) + perp * nx
        py = yj + u * (ye - yj) + perp * ny
        line = LineString(np.column_stack([px, py])[::-1])  # source → junction
        clipped = line.intersection(inner.union(Point(xj, yj).buffer(2.0)))
        if clipped.geom_type != "LineString":
            junction = Point(xj, yj)
            clipped = min(getattr(clipped, "geoms", [clipped]), key=lambda g: g.distance(junction))
        geo.tribs.append(clipped)
        geo.trib_junctions.append((xj, yj))
        side = -side

    # capital on the east bank near the mouth; trunk road north to ~60 % of the height
    geo.capital = (float(geo.rx(CAPITAL_Y) + 1.2), CAPITAL_Y)
    y_end = ROAD_END_FRACTION * H
    road_y = np.arange(CAPITAL_Y, y_end + 1e-9, 0.5)
    tt = (road_y - CAPITAL_Y) / (y_end - CAPITAL_Y)
    window = 31
    grid = np.arange(0.0, H + 1.0)
    padded = np.pad(geo.rx(grid), window // 2, mode="edge")
    smooth = np.convolve(padded, np.ones(window) / window, mode="valid")
    smooth_rx = np.interp(road_y, grid, smooth)
    offset = 1.2 + 11.0 * np.sin(np.pi * tt) + np.sin(np.pi * tt) * _wiggle(rng, road_y, [(1.5, 17.0)])
    road_x = np.minimum(smooth_rx + offset, geo.cx(road_y) + 0.85 * geo.hr(road_y))
    # stay on the east bank: clear of the river's meanders within 4 km up- and downstream
    fine_y = np.arange(CAPITAL_Y - 5.0, y_end + 5.0, 0.25)
    fine_x = geo.rx(fine_y)
    bank = np.array([fine_x[np.abs(fine_y - y) <= 4.0].max() for y in road_y])
    road_x = np.maximum(road_x, bank + 1.0)
    road_x[0] = geo.capital[0]
    geo.road = LineString(np.column_stack([road_x, road_y]))
    return geo


# --------------------------------------------------------------------------- settlements
@dataclass
class _Site:
    x: float
    y: float
    style: str  # kelurahan | outskirts | estuary | upriver | river | road | transmigration
    type: str = "desa"
    trib: int | None = None


def _place_settlements(rng: np.random.Generator, geo: _Geo) -> list[_Site]:
    H = HEIGHT_KM
    y_end = ROAD_END_FRACTION * H
    inner = shapely.prepared.prep(geo.outline.buffer(-1.0))
    sites: list[_Site] = []
    pts = np.empty((0, 2))

    def ok(x: float, y: float, spacing: float, west: bool | None) -> bool:
        if not inner.contains(Point(x, y)):
            return False
        rxy = float(geo.rx(y))
        if west is True and x > rxy - 0.3:
            return False
        if west is False and x < rxy + 0.3:
            return False
        if abs(x - rxy) < 0.3:
            return False
        if west is None and y < ESTUARY_Y and x < rxy:  # lower west bank is the estuary's
            return False
        if len(pts) and np.min(np.hypot(pts[:, 0] - x, pts[:, 1] - y)) < spacing:
            return False
        return True

    def add(n: int, sampler, style: str, spacing: float, west: bool | None = None,
            type_: str = "desa") -> int:
        nonlocal pts
        placed, tries = 0, 0
        while placed < n and tries < 20000:
            tries += 1
            cand = sampler()
            if cand is None:
                continue
            x, y, trib = cand
            if ok(x, y, spacing, west):
                sites.append(_Site(x, y, style, type_, trib))
                pts = np.vstack([pts, [x, y]])
                placed += 1
        return placed

    cx, cy = geo.capital
    road_xy = np.asarray(geo.road.coords)
    road_x, road_y = road_xy[:, 0], road_xy[:, 1]

    def near_capital(r0: float, r1: float):
        def sample():
            r = r0 + (r1 - r0) * math.sqrt(rng.random())
            a = rng.uniform(0, 2 * np.pi)
            return cx + r * math.cos(a), cy + r * math.sin(a), None
        return sample

    def bank(y0: float, y1: float, skew: float, d0: float = 0.4, d1: float = 1.8):
        def sample():
            y = y0 + (y1 - y0) * rng.random() ** skew
            s = 1 if rng.random() < 0.5 else -1
            return float(geo.rx(y)) + s * rng.uniform(d0, d1), y, None
        return sample

    def along_trib(upper: bool):
        def sample():
            i = int(rng.integers(len(geo.tribs)))
            line = geo.tribs[i]
            p = line.interpolate(rng.uniform(0.0, 0.95), normalized=True)
            if upper != (p.y > y_end + 3):
                return None
            q = line.interpolate(min(line.project(p) + 0.3, line.length))
            dx, dy = q.x - p.x, q.y - p.y
            n = math.hypot(dx, dy) or 1.0
            s = (1 if rng.random() < 0.5 else -1) * rng.uniform(0.4, 1.5)
            return p.x - dy / n * s, p.y + dx / n * s, i
        return sample

    def along_road():
        y = CAPITAL_Y + 8 + (y_end - CAPITAL_Y - 8) * rng.random() ** 1.3
        x = float(np.interp(y, road_y, road_x))
        s = (1 if rng.random() < 0.5 else -1) * rng.uniform(0.3, 2.0)
        return x + s, y, None

    minx, miny, maxx, maxy = geo.outline.bounds
    road_prep = geo.road

    def scattered():
        x, y = rng.uniform(minx, maxx), rng.uniform(30.0, y_end - 5)
        d_road = road_prep.distance(Point(x, y))
        if d_road < 4 or d_road > 28 or abs(x - float(geo.rx(y))) < 2.0:
            return None
        return x, y, None

    # the capital: first kelurahan sits at the town centre, the rest around it (east bank)
    sites.append(_Site(cx, cy, "kelurahan", "kelurahan"))
    pts = np.array([[cx, cy]])
    add(N_KELURAHAN - 1, near_capital(0.8, 6.5), "kelurahan", 1.3, west=False, type_="kelurahan")
    add(3, near_capital(7.5, 13.0), "outskirts", 2.5, west=False)
    # the estuary across the river: the west bank and the coast west of the mouth
    add(6, bank(3.0, ESTUARY_Y - 3, 1.0), "estuary", 3.0, west=True)

    def coast_west():
        y = rng.uniform(1.5, 7.0)
        return rng.uniform(geo.cx(y) - geo.hl(y) + 3, geo.rx(y) - 3), y, None

    add(3, coast_west, "estuary", 3.0, west=True)
    # far upriver beyond the road end
    add(26, bank(y_end + 3, H - 12, 1.0), "upriver", 3.0)
    got = add(14, along_trib(True), "upriver", 3.0)
    if got < 14:
        add(14 - got, bank(y_end + 3, H - 12, 1.0), "upriver", 2.5)
    # the settled south: along the river (denser near the capital), the road, the tributaries
    add(36, bank(CAPITAL_Y + 8, y_end + 2, 1.35), "river", 3.0)
    add(34, along_road, "road", 3.0)
    got = add(12, along_trib(False), "river", 3.0)
    if got < 12:
        add(12 - got, bank(CAPITAL_Y + 8, y_end + 2, 1.2), "river", 2.5)
    add(34, scattered, "transmigration", 4.0)
    if len(sites) != N_VILLAGES:  # pragma: no cover - depends on the seed
        raise RuntimeError(f"placed {len(sites)} settlements instead of {N_VILLAGES}; try another seed")
    return sites


# --------------------------------------------------------------------------- cells
def _voronoi_cells(geo: _Geo, xy: np.ndarray) -> list:
    """Voronoi cells of the settlements, per river bank, clipped; orphan slivers merged."""
    cells: list = [None] * len(xy)
    orphans: list[tuple[object, list[int]]] = []
    west_prep = shapely.prepared.prep(geo.west)
    for side_poly, is_west in ((geo.west, True), (geo.east, False)):
        idx = [i for i in range(len(xy)) if west_prep.contains(Point(xy[i])) == is_west]
        pts = shapely.points(xy[idx])
        diagram = shapely.voronoi_polygons(MultiPoint(xy[idx]), extend_to=side_poly)
        raw = list(diagram.geoms)
        for cell in raw:
            clipped = cell.intersection(side_poly)
            inside = [j for j, p in enumerate(pts) if cell.contains(p)]
            if len(inside) != 1:  # pragma: no cover - defensive
                raise RuntimeError("Voronoi cell without exactly one settlement")
            owner = idx[inside[0]]
            parts = [g for g in getattr(clipped, "geoms", [clipped]) if g.geom_type == "Polygon" and g.area > 0]
            main = next(g for g in parts if g.covers(Point(xy[owner])))
            cells[owner] = main
            for g in parts:
                if g is not main:
                    orphans.append((g, idx))
    for _ in range(20):
        if not orphans:
            break
        left = []
        for piece, idx in orphans:
            best, best_len = None, 1e-6
            for i in idx:
                shared = piece.boundary.intersection(cells[i].boundary).length
                if shared > best_len:
                    best, best_len = i, shared
            if best is None:
                left.append((piece, idx))
            else:
                cells[best] = shapely.union(cells[best], piece)
        orphans = left
    if orphans:  # pragma: no cover - defensive
        raise RuntimeError("could not merge Voronoi slivers")
    return cells


def _kmeans(rng: np.random.Generator, xy: np.ndarray, k: int, iters: int = 100) -> np.ndarray:
    """Plain Lloyd's k-means with k-means++ seeding (deterministic for a given rng state)."""
    centres = [xy[int(rng.integers(len(xy)))]]
    for _ in range(k - 1):
        d2 = np.min(((xy[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        centres.append(xy[int(rng.choice(len(xy), p=d2 / d2.sum()))])
    c = np.array(centres)
    labels = np.zeros(len(xy), dtype=int)
    for _ in range(iters):
        new = np.argmin(((xy[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        if np.array_equal(new, labels) and _ > 0:
            break
        labels = new
        for j in range(k):
            if np.any(labels == j):
                c[j] = xy[labels == j].mean(axis=0)
    return labels


def _make_contiguous(cells: list, kec: np.ndarray, frozen: set[int]) -> np.ndarray:
    """Move villages in detached pieces of a kecamatan to the neighbour they share most border with."""
    kec = kec.copy()
    for _ in range(30):
        changed = False
        for k in sorted(set(kec.tolist())):
            members = np.flatnonzero(kec == k)
            union = shapely.union_all([cells[i] for i in members])
            if union.geom_type == "Polygon":
                continue
            parts = sorted(union.geoms, key=lambda g: g.area, reverse=True)
            for part in parts[1:]:
                movers = [i for i in members if cells[i].representative_point().within(part)]
                if not movers:
                    continue
                shared: dict[int, float] = {}
                for j in range(len(cells)):
                    if kec[j] == k or kec[j] in frozen:
                        continue
                    length = part.boundary.intersection(cells[j].boundary).length
                    if length > 1e-6:
                        shared[int(kec[j])] = shared.get(int(kec[j]), 0.0) + length
                if not shared:
                    continue
                target = max(sorted(shared), key=lambda t: shared[t])
                for i in movers:
                    kec[i] = target
                changed = True
        if not changed:
            break
    return kec


# --------------------------------------------------------------------------- generate
def generate(seed: int = DEFAULT_SEED) -> Demo:
    """Generate the fictional regency for ``seed`` (same seed → identical output)."""
    rng = np.random.default_rng([seed, 1])
    geo = _make_geography(rng)
    sites = _place_settlements(rng, geo)
    xy = np.array([[s.x, s.y] for s in sites])
    cells = _voronoi_cells(geo, xy)
    H = HEIGHT_KM
    y_end = ROAD_END_FRACTION * H

    # --- kecamatan: 0 = the capital (kelurahan + outskirts), 1 = the estuary, 2.. = k-means
    kec = np.full(len(sites), -1)
    for i, s in enumerate(sites):
        if s.style in ("kelurahan", "outskirts"):
            kec[i] = 0
        elif s.style == "estuary":
            kec[i] = 1
    rest = np.flatnonzero(kec < 0)
    k_rest = N_KECAMATAN - 2
    labels, best = None, None
    for _ in range(40):  # the most balanced of several k-means runs
        cand = _kmeans(rng, xy[rest], k_rest)
        sizes = np.bincount(cand, minlength=k_rest)
        score = (int(sizes.min()), -int(sizes.max()))
        if best is None or score > best:
            labels, best = cand, score
    kec[rest] = labels + 2
    kec = _make_contiguous(cells, kec, frozen={1})
    if len(set(kec.tolist())) != N_KECAMATAN:  # pragma: no cover - defensive
        raise RuntimeError("a kecamatan vanished while making them contiguous")

    # --- access and signal
    river_lines = [geo.river, *geo.tribs]
    access, no_signal = [], []
    for i, s in enumerate(sites):
        p = Point(s.x, s.y)
        d_river = min(line.distance(p) for line in river_lines)
        if kec[i] == 1:
            a = "river"
        elif s.y > y_end + 8:
            a = "river"
        elif s.y > y_end - 12 and d_river <= 2.5:
            a = "both"
        else:
            a = "road"
        access.append(a)
        d_road = geo.road.distance(p)
        if a == "river":
            prob = 0.85 if kec[i] != 1 else 0.5
        elif a == "both":
            prob = 0.4
        elif s.type == "kelurahan" or kec[i] == 0:
            prob = 0.0
        elif d_road > 15 and s.y > 0.35 * H:
            prob = 0.3
        else:
            prob = 0.02
        no_signal.append(bool(rng.random() < prob))

    # --- names: rivers, capital, villages (confluence villages are "Tumbang <tributary>")
    namer = _Namer(rng)
    main_root = namer.root()
    trib_roots = [namer.root() for _ in geo.tribs]
    capital_name = f"Muara {main_root}"
    namer.claim(capital_name)
    names: list[str | None] = [None] * len(sites)
    for j, (xj, yj) in enumerate(geo.trib_junctions):
        d = np.hypot(xy[:, 0] - xj, xy[:, 1] - yj)
        for i in np.argsort(d, kind="stable"):
            if d[i] > 6:
                break
            if names[i] is None and sites[i].type == "desa" and kec[i] != 0:
                names[i] = f"Tumbang {trib_roots[j]}"
                namer.claim(names[i])
                break
    names[0] = capital_name  # the town-centre kelurahan carries the town's name
    for i, s in enumerate(sites):
        if names[i] is not None:
            continue
        style = {"outskirts": "road"}.get(s.style, s.style)
        names[i] = namer.village(style)

    # --- kecamatan order, seats, names, codes
    kec_ids = sorted(set(kec.tolist()))
    seats: dict[int, int] = {}
    for k in kec_ids:
        members = np.flatnonzero(kec == k)
        if k == 0:
            seats[k] = 0
            continue
        m = xy[members].mean(axis=0)
        seats[k] = int(members[np.argmin(np.hypot(*(xy[members] - m).T))])
    order = [0] + sorted((k for k in kec_ids if k != 0), key=lambda k: (xy[seats[k], 1], k))
    kec_code = {k: f"{PREFIX}.{n + 1:02d}" for n, k in enumerate(order)}
    kec_name: dict[int, str] = {0: capital_name}
    used = {capital_name}

    def near_line(i: int, line) -> bool:
        return line.distance(Point(xy[i])) <= 3.0

    main_kecs = [k for k in order[1:] if k != 1 and near_line(seats[k], geo.river)]
    for k in order[1:]:
        seat_name = names[seats[k]]
        first, _, rest_name = seat_name.partition(" ")
        base = rest_name if first in _STRIP_PREFIXES and rest_name else seat_name
        if k == 1:
            cand = f"Pulau {namer.root()}"
        elif main_kecs and k == main_kecs[0]:
            cand = f"{main_root} Hilir"
        elif main_kecs and k == main_kecs[-1]:
            cand = f"{main_root} Hulu"
        elif len(main_kecs) > 2 and k == main_kecs[len(main_kecs) // 2]:
            cand = f"{main_root} Tengah"
        else:
            tj = [j for j, t in enumerate(geo.tribs) if near_line(seats[k], t)]
            cand = f"{trib_roots[tj[0]]} Hulu" if tj and xy[seats[k], 1] > geo.trib_junctions[tj[0]][1] + 15 \
                else (f"{trib_roots[tj[0]]}" if tj else base)
        if cand in used:
            cand = base if base not in used else f"{base} Raya"
        used.add(cand)
        kec_name[k] = cand

    # --- village codes: kelurahan 1xxx, desa 2xxx, north to south within a kecamatan
    codes = [""] * len(sites)
    for k in order:
        members = np.flatnonzero(kec == k)
        members = sorted(members, key=lambda i: (-round(xy[i, 1], 6), round(xy[i, 0], 6)))
        n_kel = n_desa = 0
        for i in members:
            if sites[i].type == "kelurahan":
                n_kel += 1
                codes[i] = f"{kec_code[k]}.{1000 + n_kel}"
            else:
                n_desa += 1
                codes[i] = f"{kec_code[k]}.{2000 + n_desa}"

    # --- to lon/lat, rounded to 5 decimals
    geoms = [shapely.set_precision(_to_lonlat(c), GRID) for c in cells]
    stops = [_lonlat(*xy[i]) for i in range(len(sites))]
    villages = gpd.GeoDataFrame(
        {
            "code": codes,
            "name": names,
            "kecamatan_code": [kec_code[k] for k in kec],
            "kecamatan": [kec_name[k] for k in kec],
            "type": [s.type for s in sites],
            "access": access,
            "no_signal": no_signal,
            "stop_lat": [round(lat, 5) for _, lat in stops],
            "stop_lon": [round(lon, 5) for lon, _ in stops],
        },
        geometry=geoms, crs="EPSG:4326",
    ).sort_values("code", kind="stable").reset_index(drop=True)

    cap_lon, cap_lat = _lonlat(*geo.capital)
    base_lon, base_lat = _lonlat(geo.capital[0] + 0.35, geo.capital[1] + 0.25)
    capital = (round(cap_lat, 5), round(cap_lon, 5))
    recap = synthetic_recap(villages, seed=seed, capital=capital)

    # --- context layers
    rows: list[dict] = []
    outline_ll = shapely.union_all(list(villages.geometry), grid_size=GRID)
    rows.append({"kind": "outline", "name": REGION, "code": PREFIX, "role": None, "geometry": outline_ll})
    for k in order:
        members = villages[villages["kecamatan_code"] == kec_code[k]]
        poly = shapely.union_all(list(members.geometry), grid_size=GRID)
        rows.append({"kind": "kecamatan", "name": kec_name[k], "code": kec_code[k], "role": None,
                     "geometry": poly})
    rows.append({"kind": "river", "name": f"Sungai {main_root}", "code": None, "role": "main",
                 "geometry": shapely.set_precision(_to_lonlat(geo.river.simplify(0.05)), GRID)})
    for root, line in zip(trib_roots, geo.tribs, strict=True):
        rows.append({"kind": "river", "name": f"Sungai {root}", "code": None, "role": "tributary",
                     "geometry": shapely.set_precision(_to_lonlat(line.simplify(0.05)), GRID)})
    rows.append({"kind": "road", "name": "Jalan Poros (fiktif)", "code": None, "role": "trunk",
                 "geometry": shapely.set_precision(_to_lonlat(geo.road), GRID)})
    feeders: list[tuple[str, LineString]] = []
    for k in order[1:]:
        i = seats[k]
        if access[i] == "river" or kec[i] == 1:
            continue
        seat = Point(xy[i])
        if geo.road.distance(seat) <= 4.0:
            continue
        start = geo.road.interpolate(geo.road.project(seat))
        n = 12
        u = np.linspace(0, 1, n)
        bend = np.sin(np.pi * u) * rng.uniform(-1.5, 1.5)
        dx, dy = seat.x - start.x, seat.y - start.y
        length = math.hypot(dx, dy)
        fx = start.x + u * dx - bend * dy / length
        fy = start.y + u * dy + bend * dx / length
        feeder = LineString(np.column_stack([fx, fy])).intersection(geo.outline)
        if feeder.geom_type != "LineString":
            continue
        rows.append({"kind": "road", "name": f"Jalan {kec_name[k]} (fiktif)", "code": None,
                     "role": "feeder",
                     "geometry": shapely.set_precision(_to_lonlat(feeder), GRID)})
        feeders.append((f"Jalan {kec_name[k]} (fiktif)", feeder))
    rows.append({"kind": "capital", "name": capital_name, "code": None, "role": None,
                 "geometry": Point(capital[1], capital[0])})
    rows.append({"kind": "base", "name": BASE_NAME, "code": None, "role": None,
                 "geometry": Point(round(base_lon, 5), round(base_lat, 5))})
    context = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")

    road_end_lon, road_end_lat = _lonlat(*geo.road.coords[-1])

    # --- the office's set-up (deterministic, no random draws): a car base at the office and a
    # pier where the road ends (cars and boats start there), a team roster with a boat team,
    # and the villages where a team can sleep (kecamatan offices and puskesmas)
    end_x, end_y = geo.road.coords[-1]
    pier_i = int(np.argmin(np.hypot(xy[:, 0] - end_x, xy[:, 1] - end_y)))
    pier_lon, pier_lat = stops[pier_i]
    pier_name = f"Dermaga {names[pier_i]} (fiktif)"
    bases = [
        {"name": BASE_NAME, "lat": round(base_lat, 5), "lon": round(base_lon, 5),
         "vehicles": "car", "default": True},
        {"name": pier_name, "lat": round(pier_lat, 5), "lon": round(pier_lon, 5),
         "vehicles": "both", "default": False},
    ]
    roster = [
        {"name": "Tim 1", "leader": "Rahmat (fiktif)", "phone": "0812-0000-0101",
         "members": "3 petugas rekam (fiktif)", "vehicle": "car", "kits": 3, "base": BASE_NAME,
         "max_nights": 0},
        {"name": "Tim 2", "leader": "Siti (fiktif)", "phone": "0812-0000-0102",
         "members": "3 petugas rekam (fiktif)", "vehicle": "car", "kits": 3, "base": BASE_NAME,
         "max_nights": 1},
        {"name": "Tim 3 (perahu)", "leader": "Yohanes (fiktif)", "phone": "0812-0000-0103",
         "members": "3 petugas rekam dan juru mudi (fiktif)", "vehicle": "boat", "kits": 2,
         "base": pier_name, "max_nights": 3},
    ]
    lodging = {}
    for k in order[1:]:
        lodging[codes[seats[k]]] = "kantor kecamatan"
    for i, name in enumerate(names):
        if name.startswith("Tumbang ") and codes[i] not in lodging:
            lodging[codes[i]] = "puskesmas"
    notes = {codes[pier_i]: "Dermaga: perahu tim berangkat dari sini (fiktif)."}
    attributes = [{"kode": c, "menginap": lodging.get(c, ""), "catatan": notes.get(c, "")}
                  for c in sorted(set(lodging) | set(notes))]

    network = _network(geo, xy, access, names, feeders, main_root, trib_roots,
                       pier=(pier_name, xy[pier_i]), capital=(capital_name, geo.capital))

    meta = {
        "region": REGION,
        "fictional": True,
        "note": "FIKTIF: wilayah, nama, kode dan angka ini rekaan (fictional), bukan data nyata.",
        "seed": int(seed),
        "generator": "planner generate-demo",
        "base": {"name": BASE_NAME, "lat": round(base_lat, 5), "lon": round(base_lon, 5)},
        "capital": {"name": capital_name, "lat": capital[0], "lon": capital[1]},
        "road_end": {"lat": round(road_end_lat, 5), "lon": round(road_end_lon, 5)},
        "river_kecamatan": [kec_code[1]],
        "snapshot_date": SNAPSHOT_DATE.isoformat(),
        "basemap": False,
        "dataset_name": DATASET_NAME,
        "counts": {
            "kecamatan": N_KECAMATAN,
            "villages": int(len(villages)),
            "kelurahan": int((villages["type"] == "kelurahan").sum()),
            "desa": int((villages["type"] == "desa").sum()),
        },
        "totals": {
            "population": int(recap["population"].sum()),
            "obliged": int(recap["obliged"].sum()),
            "recorded": int(recap["recorded"].sum()),
        },
        "bases": bases,
        "teams": roster,
        "files": {k: v for k, v in FILES.items() if k != "meta"},
    }
    meta["network"] = {
        "piers": [{"name": n, "lat": round(g.y, 5), "lon": round(g.x, 5)}
                  for n, g in zip(network.loc[network["kind"] == "pier", "name"],
                                  network.loc[network["kind"] == "pier", "geometry"], strict=True)],
        "roads_km": round(float(_network_km(network, "road")), 1),
        "rivers_km": round(float(_network_km(network, "river")), 1),
    }
    return Demo(villages=villages, recap=recap, context=context, meta=meta,
                attributes=attributes, network=network)


# --------------------------------------------------------------------------- network
#: Villages farther than this (km) from a road get a village road (``jalan desa``) to the
#: nearest road; river villages farther than this from a river get a creek to the nearest river.
NETWORK_LINK_KM = 0.3


def _bent(a: Point, b: Point, bend: float) -> LineString:
    """A gentle curve from ``a`` to ``b`` (deterministic; ``bend`` × length sideways)."""
    u = np.linspace(0.0, 1.0, 9)
    dx, dy = b.x - a.x, b.y - a.y
    off = np.sin(np.pi * u) * bend
    return LineString(np.column_stack([a.x + u * dx - off * dy, a.y + u * dy + off * dx]))


def _network(geo: _Geo, xy: np.ndarray, access: list[str], names: list[str],
             feeders: list[tuple[str, LineString]], main_root: str, trib_roots: list[str], *,
             pier: tuple[str, np.ndarray], capital: tuple[str, tuple[float, float]]
             ) -> gpd.GeoDataFrame:
    """The demo's road and river network (``demo_network.geojson``), in km coordinates then
    EPSG:4326: the trunk road and the feeders of the map context, a village road from every
    road village farther than ``NETWORK_LINK_KM`` from the roads to the nearest road (nearest
    first, so village roads branch off each other), the main river and its tributaries drawn in
    the direction of flow (source → mouth), a creek from every river village farther than that
    from a river down to the nearest river, and two piers: at the pier town where the road ends
    (the boat team's base, with a creek down to the river when it lies off it) and at the
    capital's river bank. No random draws: the other files do not change with it."""
    rows: list[dict] = []
    roads = [geo.road, *[f for _n, f in feeders]]
    rows.append({"kind": "road", "name": "Jalan Poros (fiktif)", "role": "trunk", "geometry": geo.road})
    for name, f in feeders:
        rows.append({"kind": "road", "name": name, "role": "feeder", "geometry": f})
    todo = [i for i, a in enumerate(access) if a in ("road", "both")]
    pts = shapely.points(xy[todo])
    best = np.min([shapely.distance(pts, r) for r in roads], axis=0)
    near = [roads[int(k)] for k in np.argmin([shapely.distance(pts, r) for r in roads], axis=0)]
    left = list(range(len(todo)))
    while left:
        j = min(left, key=lambda k: (best[k], todo[k]))
        left.remove(j)
        i = todo[j]
        if best[j] <= NETWORK_LINK_KM:
            continue
        p = Point(xy[i])
        q = shapely.shortest_line(near[j], p).coords[0]
        line = _bent(Point(q), p, 0.06 if i % 2 else -0.06)
        rows.append({"kind": "road", "name": f"Jalan Desa {names[i]} (fiktif)", "role": "jalan desa",
                     "geometry": line})
        if left:
            rest = shapely.points(xy[[todo[k] for k in left]])
            d = shapely.distance(rest, line)
            for k, dk in zip(list(left), d, strict=True):
                if dk < best[k]:
                    best[k], near[k] = dk, line
    rivers = [geo.river.simplify(0.05), *[t.simplify(0.05) for t in geo.tribs]]
    rows.append({"kind": "river", "name": f"Sungai {main_root}", "role": "main", "geometry": rivers[0]})
    for root, line in zip(trib_roots, rivers[1:], strict=True):
        rows.append({"kind": "river", "name": f"Sungai {root}", "role": "tributary", "geometry": line})
    water = shapely.union_all(rivers)
    for i, a in enumerate(access):
        if a not in ("river", "both"):
            continue
        p = Point(xy[i])
        if water.distance(p) <= NETWORK_LINK_KM:
            continue
        q = shapely.shortest_line(p, water).coords[-1]
        rows.append({"kind": "river", "name": f"Anak Sungai {names[i]} (fiktif)", "role": "stream",
                     "geometry": _bent(p, Point(q), 0.05 if i % 2 else -0.05)})  # flows down to the river
    landing = Point(pier[1])  # the pier town's creek, down to the nearest river
    if water.distance(landing) > NETWORK_LINK_KM:
        q = shapely.shortest_line(landing, water).coords[-1]
        rows.append({"kind": "river", "name": f"Anak Sungai {pier[0].removeprefix('Dermaga ')}",
                     "role": "stream", "geometry": _bent(landing, Point(q), 0.04)})
    cap = Point(capital[1])
    bank = Point(shapely.shortest_line(cap, rivers[0]).coords[-1])
    rows.append({"kind": "pier", "name": pier[0], "role": "pier", "geometry": Point(pier[1])})
    rows.append({"kind": "pier", "name": f"Dermaga {capital[0]} (fiktif)", "role": "pier",
                 "geometry": Point((cap.x + bank.x) / 2, (cap.y + bank.y) / 2)})
    for r in rows:
        r["geometry"] = shapely.set_precision(_to_lonlat(r["geometry"]), GRID)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def _network_km(network: gpd.GeoDataFrame, kind: str) -> float:
    from .travel import great_circle_km

    total = 0.0
    for g in network.loc[network["kind"] == kind, "geometry"]:
        c = np.asarray(g.coords)
        total += float(great_circle_km(c[:-1, 1], c[:-1, 0], c[1:, 1], c[1:, 0]).sum())
    return total


# --------------------------------------------------------------------------- synthetic recap
def _largest_remainder(weights: np.ndarray, total: int, minimum: int = 0) -> np.ndarray:
    """Integers proportional to ``weights`` (each >= ``minimum``) summing exactly to ``total``."""
    n = len(weights)
    spare = total - minimum * n
    if spare < 0:
        raise ValueError("total too small for the minimum per village")
    w = np.asarray(weights, dtype=float)
    raw = spare * w / w.sum()
    base = np.floor(raw).astype(np.int64)
    short = int(spare - base.sum())
    order = np.lexsort((np.arange(n), -(raw - base)))
    base[order[:short]] += 1
    return base + minimum


def _haversine_km(lat1, lon1, lat2, lon2):
    from .travel import great_circle_km

    return great_circle_km(np.asarray(lat1, dtype=float), np.asarray(lon1, dtype=float),
                           np.asarray(lat2, dtype=float), np.asarray(lon2, dtype=float))


def _village_points(villages: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    for lat, lon in (("stop_lat", "stop_lon"), ("inner_lat", "inner_lon"), ("lat", "lon")):
        if lat in villages.columns and lon in villages.columns:
            return villages[lat].astype(float).to_numpy(), villages[lon].astype(float).to_numpy()
    if isinstance(villages, gpd.GeoDataFrame):
        pts = villages.geometry.to_crs("EPSG:4326").representative_point()
        return pts.y.to_numpy(), pts.x.to_numpy()
    raise ValueError("villages need stop_lat/stop_lon, inner_lat/inner_lon, lat/lon or a geometry")


def synthetic_recap(villages: pd.DataFrame, *, seed: int = DEFAULT_SEED,
                    capital: tuple[float, float],
                    total_population: int = TOTAL_POPULATION, total_obliged: int = TOTAL_OBLIGED,
                    target_rate: float | None = None,
                    river_kecamatan: Iterable[str] = (), both_kecamatan: Iterable[str] = ()) -> pd.DataFrame:
    """A calibrated, clearly SYNTHETIC recap for any village set.

    ``villages`` needs ``code``, ``name``, ``kecamatan`` and a location (``stop_lat/stop_lon``,
    ``inner_lat/inner_lon``, ``lat/lon`` or a geometry); ``type`` (desa/kelurahan), ``access``
    and ``no_signal`` are used when present. ``capital`` is ``(lat, lon)``.

    Population is weighted toward the capital and kelurahan and sums exactly to
    ``total_population``; obliged ("wajib KTP-el") is ~71 % of it and sums exactly to
    ``total_obliged``. Recording rates fall with remoteness (distance from the capital, river
    access counting as farther): about 90–99 % for most, 60–85 % for the farthest, a few towns
    near the capital above 100 %. ``target_rate`` shifts all rates so the regency rate is that
    value. Villages of ``river_kecamatan`` get access ``river``, of ``both_kecamatan`` ``both``
    (else the ``access`` column, else ``road``).

    Returns columns ``code, name, kecamatan, population, obliged, recorded, access, no_signal``
    sorted by code. The result depends only on the villages' content and ``seed``.
    """
    if len(villages) == 0:
        raise ValueError("no villages")
    df = villages.copy()
    df["code"] = df["code"].astype(str)
    if df["code"].duplicated().any():
        raise ValueError("duplicate village codes")
    df = df.sort_values("code", kind="stable").reset_index(drop=True)
    n = len(df)
    if total_obliged > total_population:
        raise ValueError("total_obliged cannot exceed total_population")
    rng = np.random.default_rng([seed, 2])
    lat, lon = _village_points(df)
    dist = _haversine_km(lat, lon, capital[0], capital[1])

    river_k, both_k = set(river_kecamatan), set(both_kecamatan)
    if "access" in df.columns:
        access = df["access"].fillna("road").astype(str).to_numpy(dtype=object)
    else:
        access = np.array(["road"] * n, dtype=object)
    kecs = df["kecamatan"].astype(str).to_numpy()
    access = np.where(np.isin(kecs, list(both_k)), "both", access)
    access = np.where(np.isin(kecs, list(river_k)), "river", access)
    is_kel = (df["type"].astype(str).str.lower() == "kelurahan").to_numpy() if "type" in df.columns \
        else np.zeros(n, dtype=bool)

    # remoteness: distance, with water access counting as farther
    factor = np.select([access == "river", access == "both"], [1.5, 1.25], 1.0)
    remote = dist * factor
    q = np.empty(n)
    q[np.lexsort((np.arange(n), remote))] = np.linspace(0.0, 1.0, n) if n > 1 else [0.0]

    # population: heavier near the capital and in kelurahan
    weight = rng.lognormal(0.0, 0.5, n)
    weight *= np.where(is_kel, 2.8, 1.0) * (1.0 + 3.0 * np.exp(-dist / 25.0))
    weight *= np.select([access == "river", access == "both"], [0.7, 0.85], 1.0)
    minimum = min(150, total_population // (2 * n))
    population = _largest_remainder(weight, total_population, minimum)

    # obliged: about 71 % of the population (a bit higher in towns, lower upriver)
    share = 0.714 + rng.normal(0.0, 0.02, n) + np.where(is_kel, 0.01, 0.0) \
        - np.where(access == "river", 0.01, 0.0)
    share = np.clip(share, 0.60, 0.80)
    obliged = _largest_remainder(population * share, total_obliged, 0)
    for _ in range(n):  # keep obliged <= population while keeping the exact total
        over = obliged - population
        if (over <= 0).all():
            break
        i = int(np.argmax(over))
        room = np.flatnonzero(obliged < population)
        j = int(room[np.argmax((population - obliged)[room])])
        obliged[i] -= over[i]
        obliged[j] += over[i]

    # recording rate: falls with remoteness
    base = np.where(q <= 0.72, 0.985 - 0.075 * q / 0.72, 0.875 - 0.25 * (q - 0.72) / 0.28)
    rate = base + rng.normal(0.0, 0.012, n)
    rate -= np.select([access == "river", access == "both"], [0.03, 0.015], 0.0)
    rate += np.where(is_kel, 0.01, 0.0)
    rate = np.clip(rate, 0.605, 0.995)
    # a few towns near the capital record more than their obliged (people from elsewhere)
    near = np.flatnonzero(q <= 0.15)
    pool = near[is_kel[near]] if is_kel[near].any() else near
    k_over = max(3, int(round(0.3 * len(pool)))) if len(pool) else 0
    if k_over:
        top = pool[np.lexsort((pool, -population[pool]))][: min(k_over, len(pool))]
        rate[top] = rng.uniform(1.005, 1.05, len(top))

    def recorded_for(r):
        return np.minimum(np.round(obliged * r).astype(np.int64), population)

    if target_rate is not None:
        if not 0.3 <= target_rate <= 1.1:
            raise ValueError("target_rate must be between 0.3 and 1.1")
        lo, hi = -0.7, 0.7
        for _ in range(60):
            mid = (lo + hi) / 2
            got = recorded_for(np.clip(rate + mid, 0.3, 1.1)).sum() / max(obliged.sum(), 1)
            lo, hi = (mid, hi) if got < target_rate else (lo, mid)
        rate = np.clip(rate + (lo + hi) / 2, 0.3, 1.1)
    recorded = recorded_for(rate)

    if "no_signal" in df.columns:
        no_signal = df["no_signal"].fillna(False).astype(bool).to_numpy()
    else:
        prob = np.select([access == "river", access == "both", q > 0.75], [0.7, 0.5, 0.3], 0.02)
        prob = np.where(is_kel, 0.0, prob)
        no_signal = rng.random(n) < prob

    return pd.DataFrame({
        "code": df["code"].to_numpy(),
        "name": df["name"].astype(str).to_numpy(),
        "kecamatan": kecs,
        "population": population.astype(int),
        "obliged": obliged.astype(int),
        "recorded": recorded.astype(int),
        "access": access.astype(str),
        "no_signal": no_signal.astype(bool),
    })


def kotim_recap(villages_path: str | Path, *, seed: int = DEFAULT_SEED, **kwargs) -> pd.DataFrame:
    """Synthetic recap for the real Kotawaringin Timur villages (``villages.csv`` or ``.geojson``).

    Pulau Hanaut (across the Mentaya) is river-only; Antang Kalang, Telaga Antang and Bukit
    Santuai are ``both``; Sampit is the capital. The figures are SYNTHETIC (never commit them).
    """
    path = Path(villages_path)
    if path.suffix.lower() == ".csv":
        villages = pd.read_csv(path, dtype={"code": str, "kecamatan_code": str})
    else:
        villages = gpd.read_file(path)
    kwargs.setdefault("capital", KOTIM_CAPITAL)
    kwargs.setdefault("river_kecamatan", KOTIM_RIVER_KECAMATAN)
    kwargs.setdefault("both_kecamatan", KOTIM_BOTH_KECAMATAN)
    return synthetic_recap(villages, seed=seed, **kwargs)


# --------------------------------------------------------------------------- office CSV
def _id_int(n: int) -> str:
    """An office recap writes Indonesian numbers: 1.234."""
    return fmt.integer(n, "id")


def _id_pct(recorded: int, obliged: int) -> str:
    """... and percentages without the sign: 95,4."""
    return fmt.decimal(100.0 * recorded / obliged if obliged else 100.0, "id", 1)


def _id_date(d: dt.date) -> str:
    return f"{d.day} {MONTHS_ID[d.month - 1]} {d.year}"


def recap_csv_bytes(df: pd.DataFrame, *, title: str = RECAP_TITLE,
                    snapshot_date: dt.date = SNAPSHOT_DATE) -> bytes:
    """The recap as an office-style CSV (Excel "CSV UTF-8": BOM, ``;``, CRLF, "1.234", "95,4")."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    pad = [""] * (len(RECAP_HEADER) - 1)
    w.writerow([title, *pad])
    w.writerow([f"Keadaan: {_id_date(snapshot_date)}", *pad])
    w.writerow(RECAP_HEADER)
    tot = {"population": 0, "obliged": 0, "recorded": 0, "belum": 0}
    for r in df.sort_values("code", kind="stable").itertuples(index=False):
        belum = max(int(r.obliged) - int(r.recorded), 0)
        w.writerow([
            r.code, r.name, r.kecamatan, _id_int(r.population), _id_int(r.obliged),
            _id_int(r.recorded), _id_int(belum), _id_pct(r.recorded, r.obliged),
            ACCESS_LABELS.get(str(getattr(r, "access", "road")), "darat"),
            "ya" if bool(getattr(r, "no_signal", False)) else "tidak",
        ])
        tot["population"] += int(r.population)
        tot["obliged"] += int(r.obliged)
        tot["recorded"] += int(r.recorded)
        tot["belum"] += belum
    w.writerow(["", "TOTAL", "", _id_int(tot["population"]), _id_int(tot["obliged"]),
                _id_int(tot["recorded"]), _id_int(tot["belum"]),
                _id_pct(tot["recorded"], tot["obliged"]), "", ""])
    return buf.getvalue().encode("utf-8-sig")


def write_recap_csv(df: pd.DataFrame, path: str | Path, *, title: str = RECAP_TITLE,
                    snapshot_date: dt.date = SNAPSHOT_DATE) -> Path:
    """Write ``df`` (code, name, kecamatan, population, obliged, recorded[, access, no_signal])
    in the same office format as ``data/demo_recap.csv`` (title rows, header, rows, TOTAL)."""
    path = Path(path)
    path.write_bytes(recap_csv_bytes(df, title=title, snapshot_date=snapshot_date))
    return path


# --------------------------------------------------------------------------- files
def _coords(obj):
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), 5) for v in obj[:2]]
        return [_coords(o) for o in obj]
    return obj


def _feature_json(props: dict, geom) -> str:
    g = mapping(geom)
    feat = {"type": "Feature", "properties": props,
            "geometry": {"type": g["type"], "coordinates": _coords(g["coordinates"])}}
    return json.dumps(feat, ensure_ascii=False, separators=(",", ":"))


def _collection(name: str, description: str, features: list[str]) -> bytes:
    head = json.dumps({"type": "FeatureCollection", "name": name, "fictional": True,
                       "description": description}, ensure_ascii=False, separators=(",", ":"))
    text = head[:-1] + ',"features":[\n' + ",\n".join(features) + "\n]}\n"
    return text.encode("utf-8")


def _clean(v):
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v


def demo_files(demo: Demo) -> dict[str, bytes]:
    """The bytes of every file in ``data/`` for a generated demo."""
    vcols = ["code", "name", "kecamatan_code", "kecamatan", "type", "access", "no_signal",
             "stop_lat", "stop_lon"]
    vfeats = [
        _feature_json({c: _clean(r[c]) for c in vcols}, r["geometry"])
        for _, r in demo.villages.iterrows()
    ]
    desc = (f"FIKTIF / FICTIONAL: desa dan kelurahan {REGION}, dibuat oleh "
            f"`planner generate-demo --seed {demo.meta['seed']}`. Bukan data nyata.")
    cfeats = []
    for _, r in demo.context.iterrows():
        props = {"kind": r["kind"], "name": r["name"]}
        if isinstance(r["code"], str):
            props["code"] = r["code"]
        if isinstance(r["role"], str):
            props["role"] = r["role"]
        cfeats.append(_feature_json(props, r["geometry"]))
    cdesc = (f"FIKTIF / FICTIONAL: batas, kecamatan, sungai, jalan, ibu kota dan kantor {REGION}, "
             f"`planner generate-demo --seed {demo.meta['seed']}`.")
    out = {
        FILES["villages"]: _collection("demo_villages", desc, vfeats),
        FILES["recap"]: recap_csv_bytes(demo.recap),
        FILES["attributes"]: _attributes_csv(demo.attributes),
        FILES["context"]: _collection("demo_context", cdesc, cfeats),
        FILES["meta"]: (json.dumps(demo.meta, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
        FILES["readme"]: _readme(demo).encode("utf-8"),
    }
    if demo.network is not None:
        nfeats = [_feature_json({"kind": r["kind"], "name": r["name"], "role": r["role"]},
                                r["geometry"]) for _, r in demo.network.iterrows()]
        ndesc = (f"FIKTIF / FICTIONAL: jaringan jalan, sungai dan dermaga {REGION} untuk "
                 "perhitungan waktu tempuh (planner import-network --kind road|river|pier), "
                 f"`planner generate-demo --seed {demo.meta['seed']}`. Bukan data nyata.")
        out[FILES["network"]] = _collection("demo_network", ndesc, nfeats)
    return out


def _attributes_csv(rows: list[dict]) -> bytes:
    """The demo's village attributes file (the bulk format of ``planner import-attributes``)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["kode", "menginap", "catatan"], lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def write_demo(out_dir: str | Path, seed: int = DEFAULT_SEED) -> dict[str, Path]:
    """Generate the demo for ``seed`` and write its files to ``out_dir`` (byte-identical per seed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, data in demo_files(generate(seed)).items():
        (out / name).write_bytes(data)
        written[name] = out / name
    return written


def _readme(demo: Demo) -> str:
    m = demo.meta
    t, c = m["totals"], m["counts"]
    ctx = demo.context
    river = ctx.loc[(ctx["kind"] == "river") & (ctx["role"] == "main"), "name"].iloc[0]
    n_trib = int((ctx["role"] == "tributary").sum())
    kec = dict(zip(ctx.loc[ctx["kind"] == "kecamatan", "code"],
                   ctx.loc[ctx["kind"] == "kecamatan", "name"], strict=True))
    estuary = ", ".join(f"{kec[k]} ({k})" for k in m["river_kecamatan"])
    access = demo.villages["access"].value_counts()
    rate = 100.0 * t["recorded"] / t["obliged"]
    return f"""# Built-in demo data: FICTIONAL ("fiktif")

**Everything in this folder is invented.** "{REGION}" does not exist. Its outline, rivers,
roads, kecamatan, village names, Kemendagri-style codes (prefix `{PREFIX}`, which no real
regency uses) and all figures were made up by a seeded generator (`planner/demo.py`). Do not
use them for real planning. Only the two regency totals (population {t['population']:,},
wajib KTP-el {t['obliged']:,}) were set to the published figures of Kotawaringin Timur, so the
demo has a realistic size. How these totals are spread over the villages is synthetic.

Regenerate (byte-identical for the same seed):

    planner generate-demo --out data --seed {m['seed']}

`make demo` does the same with the default seed. `make run` loads these files into an empty
database (`planner load-demo --if-empty`).

## The fictional regency

- About 16,000 km², elongated north–south (≈1° × 2.1°). {river} flows from the far north to
  the coast in the south and has {n_trib} tributaries.
- Capital: {m['capital']['name']}, on the east bank near the river mouth. The team base
  "{m['base']['name']}" is in the capital. The trunk road runs north from the capital and ends
  about 60 % of the way up (latitude {m['road_end']['lat']}). Feeder roads go to kecamatan seats.
- {c['kecamatan']} kecamatan and {c['villages']} villages: {c['kelurahan']} kelurahan, all in the
  capital's kecamatan, and {c['desa']} desa. Village polygons are Voronoi cells of the
  settlements, clipped to the outline and split by the main river. `stop_lat`/`stop_lon` is the
  settlement.
- Access: {int(access.get('river', 0))} villages are river-only: those upriver beyond the end of
  the road, and the estuary kecamatan {estuary} across the river from the capital.
  {int(access.get('both', 0))} villages near the road end on a river are `both`. The other
  {int(access.get('road', 0))} are `road`. Most river-only villages have no mobile signal.
- Recording rates fall with remoteness: 90–99 % for most villages, 60–85 % far upriver, and a
  few kelurahan in the capital above 100 %. Regency rate {rate:.1f} %.

## The office's set-up (what `planner load-demo` adds)

- Team bases: "{m['bases'][0]['name']}" (cars; the default) and "{m['bases'][1]['name']}"
  where the road ends (cars and boats: a pier town).
- Team roster: {', '.join(f"{x['name']} ({x['vehicle']}, {x['base']}, up to {x['max_nights']} nights away)" for x in m['teams'])};
  leaders and phones are made up. The sample plan uses these three teams.
- `{FILES['attributes']}`: {len(demo.attributes)} villages where a team can sleep (kecamatan offices, puskesmas) and
  a note, loaded through the bulk village-attributes import.
- `{FILES['network']}`: the road and river network travel follows (`planner import-network`,
  kinds `road`, `river`, `pier`): the trunk road and feeders, a village road (`jalan desa`) to
  every road village off them, {river} and its tributaries drawn in the direction of flow, a
  creek down to the river from every river village off it, and two piers:
  {' and '.join('"' + p['name'] + '"' for p in m['network']['piers'])}. About
  {m['network']['roads_km']:,.0f} km of road and {m['network']['rivers_km']:,.0f} km of river;
  all invented. The river-only villages beyond the end of the road are reached by boat from the
  pier where the road ends. New plans follow this network (travel source `network`).

## Files

| file | what it holds |
|---|---|
| `{FILES['villages']}` | the villages: polygons in EPSG:4326, 5 decimals, with `code`, `name`, `kecamatan_code`, `kecamatan`, `type` (desa/kelurahan), `access` (road/river/both), `no_signal`, `stop_lat`, `stop_lon` |
| `{FILES['recap']}` | the recording recap in an office-like CSV: UTF-8 with BOM, `;`, CRLF, two title rows, Indonesian numbers ("1.234", "95,4"), a TOTAL row. Columns: `{';'.join(RECAP_HEADER)}`. Snapshot {_id_date(SNAPSHOT_DATE)}. |
| `{FILES['context']}` | map context, by property `kind`: `outline` (the regency), `kecamatan` (`name`, `code`), `river` (`name`, `role` main/tributary), `road` (`role` trunk/feeder), `capital`, `base` |
| `{FILES['attributes']}` | village attributes in the bulk format of `planner import-attributes`: `kode`, `menginap` (lodging), `catatan` (note) |
| `{FILES['network']}` | the network, by property `kind`: `road` (`role` trunk/feeder/jalan desa), `river` (`role` main/tributary/stream, lines drawn from source to mouth), `pier` (points); `name` |
| `{FILES['meta']}` | metadata: region, `"fictional": true`, seed, team base, capital, road end, river-only kecamatan, snapshot date, `"basemap": false` (no OpenStreetMap tiles under a fictional map), counts and totals, the team bases and the team roster, the piers and the network's km |
"""


# --------------------------------------------------------------------------- loading
def load_demo(data_dir: str | Path | None = None) -> str:
    """Import the committed demo files (needs an app context); returns a one-line summary."""
    from . import repository, roster
    from .extensions import db
    from .importer import import_recap, import_villages
    from .paths import DATA_DIR

    data = Path(data_dir) if data_dir is not None else DATA_DIR
    meta = json.loads((data / FILES["meta"]).read_text(encoding="utf-8"))
    villages_path, recap_path = data / FILES["villages"], data / FILES["recap"]
    snapshot = dt.date.fromisoformat(meta.get("snapshot_date", SNAPSHOT_DATE.isoformat()))
    name = meta.get("dataset_name", DATASET_NAME)
    import_villages(villages_path, filename=villages_path.name, fictional=True)
    import_recap(recap_path, filename=recap_path.name, name=name, snapshot_date=snapshot,
                 fictional=True, synthetic=True, basemap=bool(meta.get("basemap", False)))
    base = meta["base"]
    # the office's set-up: bases (a car base, a pier), the roster, lodging villages — through
    # the same services the pages use (older demo files without them get the office base only)
    bases = meta.get("bases") or [dict(base, vehicles="car", default=True)]
    by_name = {}
    for b in bases:
        by_name[b["name"]] = repository.set_default_base(
            b["name"], float(b["lat"]), float(b["lon"]), vehicles=b.get("vehicles", "car"),
            commit=False)
    office = by_name[next((b["name"] for b in bases if b.get("default")), bases[0]["name"])]
    for b in by_name.values():
        b.is_default = b is office
    db.session.commit()
    for t in meta.get("teams") or []:
        if roster.find_team(t["name"]) is None:
            roster.create_team(name=t["name"], leader=t.get("leader"), phone=t.get("phone"),
                               members=t.get("members"), vehicle=t.get("vehicle", "car"),
                               kits=t.get("kits", 3), base_id=by_name[t["base"]].id,
                               max_nights=t.get("max_nights", 0))
    attributes_path = data / FILES["attributes"]
    if attributes_path.exists():
        from .attributes import import_attributes

        import_attributes(attributes_path, filename=attributes_path.name)
    network_path = data / FILES["network"]
    if network_path.exists():  # roads, rivers and piers: plans follow them (travel "network")
        from . import networks

        for kind, label in (("road", "Jalan"), ("river", "Sungai"), ("pier", "Dermaga")):
            networks.import_layer(network_path, kind=kind, filename=network_path.name,
                                  name=f"{label} demo (fiktif)", replace=True)
    frame = repository.villages_frame()
    obliged, recorded = int(frame["obliged"].sum()), int(frame["recorded"].sum())
    return (f"Demo FIKTIF dimuat: {meta['region']}, {len(frame)} desa/kelurahan, "
            f"{frame['kecamatan'].nunique()} kecamatan, penduduk {_id_int(frame['population'].sum())}, "
            f"wajib KTP-el {_id_int(obliged)}, sudah rekam {_id_int(recorded)} "
            f"({_id_pct(recorded, obliged)} %); basis tim: {base['name']}.")
