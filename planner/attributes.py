"""Village attributes: how a team gets there (access: road, river or both), whether there is
mobile signal, where the team stops (the stop point), whether a team can sleep there (lodging)
and a note. They belong to the village, not to a recap: a new recap or boundaries import never
resets them (``planner.repository.replace_villages`` keeps them unless the file itself carries
access/signal or a stop point).

* ``update(code, ...)``: one village changed by hand (the village page, the map's stop marker,
  ``planner access-hints --apply``). A stop outside the village polygon is refused
  (``StopOutside``) unless ``confirm_outside``. Every change sets ``access_source="manual"``
  and ``attributes_at``/``attributes_by``, and is audited (``village.update``, before/after).
* ``import_attributes(path)``: the bulk file (``planner.importer.attributes``, read in the
  sandbox): all or nothing, every code must be a known village, blank cells change nothing;
  one ``import.attributes`` event with the counts.
* ``suggest_access(villages, rivers=..., roads=...)``: access hints from the geography (plain
  function over frames and line layers); ``hints()`` runs it on the database and the line
  layers there are (today: the fictional demo's context lines); ``apply_hints(codes)`` applies
  the ones the coordinator confirmed. Nothing is changed without that confirmation.
* ``summary()``: counts for the set-up checklist.

Plain Python over the persistence layer (no Flask). Messages are Indonesian (for coordinators);
``AttributeProblem.reason`` lets the web layer say them in the user's language.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import Point, shape
from shapely.ops import nearest_points
from sqlalchemy import func, select

from . import audit, coverage, repository
from .extensions import db
from .importer import ImportProblem, limits, sandbox
from .importer import attributes as reader
from .models import Village, utcnow

ACCESS = ("road", "river", "both")
LODGING = ("kecamatan_office", "puskesmas", "guest_house", "other")
SOURCES = ("default", "file", "manual")
NOTE_MAX_CHARS = reader.NOTE_MAX_CHARS
KM_PER_DEGREE = 111.32
#: A stop this close to the polygon (degrees, ~1 m) counts as inside (rounding, simplification).
INSIDE_TOLERANCE = 1e-5

#: Geography hints (degrees; ~111 m per 0.001° here near the equator).
TOUCH_TOLERANCE = 0.0005   # polygons closer than ~55 m touch (gaps and slivers of real data)
WATER_BUFFER = 0.002       # a shared edge within ~220 m of a river line runs along the water
MIN_LAND_EDGE = 0.002      # a neighbour shares at least ~220 m of dry edge to count as by land
REASONS = ("island", "island_water", "river_no_road")


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()  # "leave this attribute as it is"


class AttributeProblem(ValueError):
    """A change that cannot be made (nothing was written). ``reason``: unknown_village, access,
    lodging, note, stop_invalid, stop_outside_country, stop_outside; ``params`` for messages."""

    def __init__(self, reason: str, message: str, **params):
        super().__init__(message)
        self.reason = reason
        self.params = params


class StopOutside(AttributeProblem):
    """The stop point lies outside the village polygon (``params``: name, km)."""


# --------------------------------------------------------------------------- reading
def get(code: str) -> Village | None:
    if not code:
        return None
    return db.session.scalars(select(Village).where(Village.code == str(code)[:40])).first()


def snapshot(v: Village) -> dict:
    """The attributes of a village (what the audit log shows before/after)."""
    return {"access": v.access, "no_signal": bool(v.no_signal), "lodging": v.lodging,
            "note": v.note, "stop_lat": v.stop_lat, "stop_lon": v.stop_lon,
            "stop_manual": bool(v.stop_manual), "access_source": v.access_source}


def polygon(v: Village):
    """The village's polygon (shapely), or None when it has only a point."""
    if not v.geometry:
        return None
    try:
        geom = shape(json.loads(v.geometry))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return _polygonal(geom)


def km_outside(v: Village, lat: float, lon: float) -> float | None:
    """How far (km, roughly) the point lies outside the village polygon; None when inside, or
    when the village has no polygon (a point village: any stop is accepted)."""
    poly = polygon(v)
    if poly is None:
        return None
    pt = Point(lon, lat)
    if poly.covers(pt) or poly.distance(pt) <= INSIDE_TOLERANCE:
        return None
    near = nearest_points(poly, pt)[0]
    dx = (near.x - lon) * KM_PER_DEGREE * math.cos(math.radians(lat))
    dy = (near.y - lat) * KM_PER_DEGREE
    return round(math.hypot(dx, dy), 2)


def summary() -> dict:
    """Counts for the set-up checklist."""
    def count(*where) -> int:
        return int(db.session.scalar(select(func.count(Village.id)).where(*where)) or 0)

    return {
        "villages": count(),
        "river_only": count(Village.access == "river"),
        "both": count(Village.access == "both"),
        "road": count(Village.access == "road"),
        "checked": count(Village.access_source != "default"),
        "no_signal": count(Village.no_signal.is_(True)),
        "lodging": count(Village.lodging.is_not(None)),
        "manual_stops": count(Village.stop_manual.is_(True)),
    }


# --------------------------------------------------------------------------- changing
def _check_stop(v: Village, stop, confirm_outside: bool) -> tuple[float, float]:
    try:
        lat, lon = (float(stop[0]), float(stop[1]))
    except (TypeError, ValueError, IndexError):
        raise AttributeProblem("stop_invalid", "titik singgah harus berupa lintang dan bujur "
                               "(angka desimal)") from None
    if not (math.isfinite(lat) and math.isfinite(lon)) or not (-90 <= lat <= 90) \
            or not (-180 <= lon <= 180):
        raise AttributeProblem("stop_invalid", "titik singgah harus berupa lintang (-90..90) dan "
                               "bujur (-180..180)")
    lon_min, lat_min, lon_max, lat_max = limits.INDONESIA
    if not (lat_min <= lat <= lat_max and lon_min <= lon <= lon_max):
        raise AttributeProblem("stop_outside_country",
                               f"titik singgah {lat:.5f}, {lon:.5f} berada di luar Indonesia")
    km = km_outside(v, lat, lon)
    if km is not None and not confirm_outside:
        raise StopOutside("stop_outside",
                          f"titik singgah berada {km:.1f} km di luar batas desa {v.name}; "
                          "konfirmasi jika memang benar", name=v.name, km=km)
    return round(lat, 6), round(lon, 6)


def _apply(v: Village, *, access=KEEP, no_signal=KEEP, lodging=KEEP, note=KEEP, stop=KEEP,
           confirm_outside: bool = False, source: str = "manual") -> tuple[dict, dict]:
    """Validate and set the given attributes on ``v``; returns the audit's (before, after) of
    what changed (empty when nothing did). Nothing is set when a value is refused."""
    if access is not KEEP and access not in ACCESS:
        raise AttributeProblem("access", f'akses "{access}" tidak dikenal (road, river, both)')
    if lodging is not KEEP:
        lodging = lodging or None
        if lodging is not None and lodging not in LODGING:
            raise AttributeProblem("lodging", f'tempat menginap "{lodging}" tidak dikenal')
    if note is not KEEP:
        note = (note or "").strip() or None
        if note is not None and len(note) > NOTE_MAX_CHARS:
            raise AttributeProblem("note", f"catatan terlalu panjang (maks. {NOTE_MAX_CHARS} "
                                   "karakter)", max=NOTE_MAX_CHARS)
    point = _check_stop(v, stop, confirm_outside) if stop is not KEEP else None
    before = snapshot(v)
    if access is not KEEP:
        v.access = access
    if no_signal is not KEEP:
        v.no_signal = bool(no_signal)
    if lodging is not KEEP:
        v.lodging = lodging
    if note is not KEEP:
        v.note = note
    if point is not None and (point[0] != v.stop_lat or point[1] != v.stop_lon):
        v.stop_lat, v.stop_lon = point
        v.stop_manual = True
    after = snapshot(v)
    changed = audit.changes(before, after)
    if changed[1] and source and v.access_source != source:
        v.access_source = source
        after = snapshot(v)
        changed = audit.changes(before, after)
    if changed[1]:
        v.attributes_at = utcnow()
        v.attributes_by = audit.current_actor().name[:120]
    return changed


def update(code: str, *, access=KEEP, no_signal=KEEP, lodging=KEEP, note=KEEP, stop=KEEP,
           confirm_outside: bool = False, reviewed: bool = False, commit: bool = True) -> dict:
    """Change one village's attributes by hand (only the ones given). ``stop`` is
    ``(lat, lon)``. ``reviewed``: the coordinator looked at access and signal (the village
    form), so a village whose access was never checked counts as checked even when nothing
    else changed. Returns the changed attributes (new values; empty: nothing changed).
    Raises ``AttributeProblem`` (``StopOutside`` for a stop outside the polygon)."""
    v = get(code)
    if v is None:
        raise AttributeProblem("unknown_village", f"desa/kelurahan dengan kode {code} tidak ada",
                               code=code)
    try:
        before, after = _apply(v, access=access, no_signal=no_signal, lodging=lodging, note=note,
                               stop=stop, confirm_outside=confirm_outside)
        if not after and reviewed and v.access_source != "manual":
            before = {"access_source": v.access_source}
            v.access_source = "manual"
            v.attributes_at = utcnow()
            v.attributes_by = audit.current_actor().name[:120]
            after = {"access_source": "manual"}
        if after:
            audit.record("village.update", v.code, before=before, after=after)
        if commit:
            db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return after


# --------------------------------------------------------------------------- the bulk file
def import_attributes(path, *, filename: str | None = None) -> dict:
    """Apply an attributes file (CSV/XLSX) in one transaction: every row is checked (and every
    code must be a known village) before anything is written. Returns a summary: ``file,
    rows, changed`` (villages whose attributes changed) and per attribute how many villages it
    changed (``access, no_signal, lodging, note``)."""
    filename = filename or Path(path).name
    known = frozenset(db.session.scalars(select(Village.code)).all())
    # the file is read and checked in the child; problems with the file come first
    table = sandbox.run("attributes", reader.sandbox_args(path, filename, known or None),
                        filename=filename)
    if not known:
        raise ImportProblem("belum ada data batas desa di basis data; impor batas desa dulu "
                            "(planner import-villages BERKAS atau halaman Impor data)", file=filename)
    villages = {v.code: v for v in db.session.scalars(select(Village)).all()}
    counts = {"access": 0, "no_signal": 0, "lodging": 0, "note": 0}
    changed = 0
    try:
        for r in table.rows:
            v = villages[r["code"]]
            given = {k: r[k] for k in counts if r[k] is not None}
            source = "file" if {"access", "no_signal"} & set(given) else None
            _before, after = _apply(v, **given, source=source)
            for k in counts:
                counts[k] += k in after
            changed += bool(after)
        audit.record("import.attributes", filename[:200],
                     after={"rows": len(table.rows), "changed": changed, **counts,
                            "columns": list(table.given)})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return {"file": filename, "rows": len(table.rows), "changed": changed, **counts}


# --------------------------------------------------------------------------- access hints
@dataclass(frozen=True)
class Hint:
    """A suggested access for a village, with the reasons (``REASONS``) read from the map."""

    code: str
    name: str
    kecamatan: str
    access: str
    access_source: str
    suggested: str
    reasons: tuple[str, ...]


def _geoms(layer) -> list:
    if layer is None:
        return []
    if isinstance(layer, gpd.GeoDataFrame):
        layer = layer.to_crs(4326).geometry if layer.crs is not None else layer.geometry
    return [g for g in layer if g is not None and not g.is_empty]


def _polygonal(geom):
    """The polygon part of a village geometry (repaired when invalid), or None."""
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        return None
    if geom.is_valid:
        return geom
    parts = [p for p in shapely.get_parts(shapely.make_valid(geom))
             if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def line_layers(frame: gpd.GeoDataFrame | None) -> dict[str, list]:
    """Split a frame of lines with a ``kind`` column (river, road; as ``coverage.context_frame``)
    into the line layers :func:`suggest_access` takes."""
    out: dict[str, list] = {"river": [], "road": []}
    if frame is None or not len(frame) or "kind" not in frame.columns:
        return out
    if frame.crs is not None:
        frame = frame.to_crs(4326)
    for kind, geom in zip(frame["kind"], frame.geometry, strict=True):
        if kind in out and geom is not None and not geom.is_empty \
                and geom.geom_type in ("LineString", "MultiLineString"):
            out[kind].append(geom)
    return out


def suggest_access(villages: gpd.GeoDataFrame, *, rivers: Iterable | None = None,
                   roads: Iterable | None = None) -> list[Hint]:
    """Villages the geography says are reached by water, and are not marked "river" yet:

    * ``island``: the polygon touches no other village polygon of the regency;
    * ``island_water``: it touches others only across water (every shared edge runs along a
      river line);
    * ``river_no_road``: (when line layers are given) it lies on a river line and touches no
      road line (lines within ``TOUCH_TOLERANCE`` of the polygon count).

    ``villages``: ``code, name, kecamatan, access[, access_source], geometry`` (EPSG:4326);
    ``rivers``/``roads``: line geometries (a GeoSeries, a GeoDataFrame or a list). Villages
    with only a point are skipped. Plain function: nothing is read or written."""
    if villages is None or not len(villages):
        return []
    if villages.crs is not None:
        villages = villages.to_crs(4326)
    river_lines, road_lines = _geoms(rivers), _geoms(roads)
    water = shapely.union_all(river_lines).buffer(WATER_BUFFER) if river_lines else None
    river_union = shapely.union_all(river_lines) if river_lines else None
    road_union = shapely.union_all(road_lines) if road_lines else None
    recs = villages.to_dict("records")
    polys = [_polygonal(rec.get("geometry")) for rec in recs]
    idx = [i for i, g in enumerate(polys) if g is not None]
    tree = shapely.STRtree([polys[i] for i in idx])
    out = []
    for k, i in enumerate(idx):
        g, rec = polys[i], recs[i]
        if str(rec.get("access")) == "river":
            continue
        reasons = []
        if len(idx) > 1:
            near = [idx[j] for j in tree.query(g.buffer(TOUCH_TOLERANCE), predicate="intersects")
                    if j != k]
            if not near:
                reasons.append("island")
            elif water is not None:
                edge = g.boundary
                by_land = False
                for j in near:
                    shared = edge.intersection(polys[j].buffer(TOUCH_TOLERANCE))
                    if shared.is_empty:
                        continue
                    if shared.difference(water).length >= MIN_LAND_EDGE:
                        by_land = True
                        break
                if not by_land:
                    reasons.append("island_water")
        reach = g.buffer(TOUCH_TOLERANCE)
        if river_union is not None and reach.intersects(river_union) and (
                road_union is None or not reach.intersects(road_union)):
            reasons.append("river_no_road")
        if reasons:
            out.append(Hint(code=str(rec["code"]), name=str(rec.get("name") or ""),
                            kecamatan=str(rec.get("kecamatan") or ""),
                            access=str(rec.get("access") or "road"),
                            access_source=str(rec.get("access_source") or "default"),
                            suggested="river", reasons=tuple(reasons)))
    return sorted(out, key=lambda h: (h.kecamatan, h.name, h.code))


def stored_line_layers() -> dict[str, list]:
    """The river and road lines the database has: today the fictional demo's context lines
    (``coverage.context_frame``); imported networks will be added here."""
    return line_layers(coverage.context_frame(repository.current_dataset()))


def hints(lines: Mapping[str, Iterable] | None = None) -> list[Hint]:
    """:func:`suggest_access` over every village (``lines``: ``{"river": [...], "road":
    [...]}``; default: :func:`stored_line_layers`)."""
    frame = repository.villages_frame(with_stats=False)
    if not len(frame):
        return []
    sources = dict(db.session.execute(select(Village.code, Village.access_source)).all())
    frame["access_source"] = frame["code"].map(sources).fillna("default")
    lines = stored_line_layers() if lines is None else lines
    return suggest_access(frame, rivers=lines.get("river"), roads=lines.get("road"))


def apply_hints(codes: Iterable[str], *, lines: Mapping[str, Iterable] | None = None) -> list[str]:
    """Apply the confirmed suggestions (``codes``; each must be a current suggestion): access
    "river", set by hand, audited per village, in one transaction. Returns the codes applied."""
    wanted = [str(c) for c in codes if str(c).strip()]
    current = {h.code: h for h in hints(lines)}
    stale = [c for c in wanted if c not in current]
    if stale:
        raise AttributeProblem("not_suggested", "bukan saran akses saat ini: " + ", ".join(stale[:10]),
                               codes=stale)
    applied = []
    try:
        for code in dict.fromkeys(wanted):
            h = current[code]
            v = get(code)
            before, after = _apply(v, access=h.suggested)
            if after:
                audit.record("village.update", code, before={**before, "hint": None},
                             after={**after, "hint": list(h.reasons)})
                applied.append(code)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return applied
