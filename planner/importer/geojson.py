"""GeoJSON read by the planner itself (json + shapely), so GDAL never sees it: GDAL's GeoJSON
driver would follow a URL or a path given as the document, and its siblings (ESRIJSON, TopoJSON,
GeoJSONSeq) read more than the office needs.

Accepted: a ``FeatureCollection`` (or one ``Feature``) as in RFC 7946, UTF-8 with or without
BOM. Coordinates are longitude/latitude (WGS84) unless the document has the 2008-style
``"crs": {"type": "name", ...}`` member (QGIS still writes it for projected layers); a ``"link"``
CRS (a reference to another document) is refused. ``NaN``/``Infinity`` are refused. Limits:
``MAX_FEATURES``, ``MAX_VERTICES``, ``MAX_PROPERTIES``, ``MAX_CELL_CHARS`` per property value,
and JSON nesting within Python's recursion limit.

Returns a GeoDataFrame with one column per property, the geometry, and ``crs`` None when the
document names none (the boundaries reader then checks the coordinates), plus problems per
feature (feature number, property) for the boundaries reader to report with its own.
"""

from __future__ import annotations

import json
import math
import re

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import shape

from . import limits
from .errors import ImportProblem

# geometry type -> nesting depth of its "coordinates" (0 = one position)
GEOMETRY_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2,
                  "Polygon": 2, "MultiPolygon": 3}


def _reject_constant(name: str):
    raise ValueError(f"nilai {name} tidak sah dalam GeoJSON")


def crs_from_member(crs, filename: str):
    """The CRS named by a 2008-style ``crs`` member, or None."""
    if crs is None:
        return None
    if not isinstance(crs, dict):
        raise ImportProblem("anggota \"crs\" GeoJSON tidak sah", file=filename, column="geometry")
    if crs.get("type") != "name":
        raise ImportProblem(
            f'CRS GeoJSON jenis "{str(crs.get("type"))[:20]}" (merujuk dokumen lain) tidak didukung; '
            "simpan ulang sebagai WGS84 (EPSG:4326) tanpa rujukan", file=filename, column="geometry")
    name = str((crs.get("properties") or {}).get("name", ""))[:200]
    if re.search(r"CRS84$|CRS:84$", name, re.I):
        return "EPSG:4326"
    m = re.search(r"EPSG(?::[\d.]*)?:+(\d{4,6})$", name, re.I)
    if not m:
        raise ImportProblem(f'CRS "{name}" tidak dikenal; simpan ulang sebagai WGS84 (EPSG:4326)',
                            file=filename, column="geometry")
    return f"EPSG:{m.group(1)}"


class _Geometry:
    """Checks a GeoJSON geometry object and counts its positions, without recursion."""

    def __init__(self, budget: int):
        self.budget = budget  # positions still allowed in the file

    def check(self, g) -> str | None:
        if g is None:
            return None
        if not isinstance(g, dict):
            return "geometri bukan objek GeoJSON"
        typ = g.get("type")
        if typ == "GeometryCollection":
            parts = g.get("geometries")
            if not isinstance(parts, list):
                return "GeometryCollection tanpa daftar geometries"
            for p in parts:
                if isinstance(p, dict) and p.get("type") == "GeometryCollection":
                    return "GeometryCollection bersarang tidak didukung"
                err = self.check(p)
                if err:
                    return err
            return None
        if typ not in GEOMETRY_DEPTH:
            return f'jenis geometri "{str(typ)[:40]}" tidak dikenal'
        depth = GEOMETRY_DEPTH[typ]
        stack = [(g.get("coordinates"), depth)]
        while stack:
            node, d = stack.pop()
            if not isinstance(node, list):
                return f"koordinat {typ} tidak sah (bukan daftar)"
            if d == 0:
                if not 2 <= len(node) <= 3 or not all(
                        isinstance(v, int | float) and not isinstance(v, bool) for v in node):
                    return f"posisi {str(node)[:60]} bukan pasangan angka bujur, lintang"
                if not all(math.isfinite(v) for v in node):
                    return f"posisi {str(node)[:60]} tidak terhingga"
                self.budget -= 1
                if self.budget < 0:
                    raise ImportProblem(limits.over(limits.MAX_VERTICES, "titik koordinat",
                                                    "; sederhanakan poligonnya (mis. QGIS: "
                                                    "Simplify) atau pisahkan berkasnya"),
                                        column="geometry")
            else:
                stack.extend((child, d - 1) for child in node)
        return None


def read_geojson(data: bytes, filename: str) -> tuple[gpd.GeoDataFrame, list[ImportProblem]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportProblem("berkas bukan data peta yang dapat dibaca (GeoJSON, Shapefile dalam zip, "
                            f"atau GeoPackage): GeoJSON harus berkode UTF-8 (byte {exc.start})",
                            file=filename) from None
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ImportProblem("berkas bukan data peta yang dapat dibaca (GeoJSON, Shapefile dalam zip, "
                            f"atau GeoPackage): JSON tidak sah di baris {exc.lineno}, kolom "
                            f"{exc.colno} ({exc.msg})", file=filename) from None
    except RecursionError:
        raise ImportProblem("berkas bukan data peta yang dapat dibaca: struktur JSON terlalu "
                            "dalam (bersarang ribuan tingkat)", file=filename) from None
    except ValueError as exc:
        raise ImportProblem("berkas bukan data peta yang dapat dibaca (GeoJSON, Shapefile dalam zip, "
                            f"atau GeoPackage): {str(exc)[:120]}", file=filename) from None
    del text
    if not isinstance(doc, dict):
        raise ImportProblem("berkas bukan data peta yang dapat dibaca (GeoJSON, Shapefile dalam zip, "
                            "atau GeoPackage): JSON bukan objek GeoJSON", file=filename)
    typ = doc.get("type")
    if typ == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise ImportProblem('FeatureCollection tanpa daftar "features"', file=filename)
    elif typ == "Feature":
        features = [doc]
    elif typ in GEOMETRY_DEPTH or typ == "GeometryCollection":
        features = [{"type": "Feature", "properties": {}, "geometry": doc}]
    else:
        raise ImportProblem("berkas bukan data peta yang dapat dibaca (GeoJSON, Shapefile dalam zip, "
                            f'atau GeoPackage): JSON dengan "type" {str(typ)[:40]!r}, bukan '
                            "FeatureCollection", file=filename)
    if len(features) > limits.MAX_FEATURES:
        raise ImportProblem(f"berkas berisi {limits.fmt(len(features))} fitur, "
                            + limits.over(limits.MAX_FEATURES, "fitur (desa)"), file=filename)
    crs = crs_from_member(doc.get("crs"), filename)

    problems: list[ImportProblem] = []
    checker = _Geometry(limits.MAX_VERTICES)
    names: dict[str, None] = {}
    records, geoms = [], []
    for i, feat in enumerate(features):
        n = i + 1
        if not isinstance(feat, dict) or feat.get("type", "Feature") != "Feature":
            problems.append(ImportProblem("bukan objek Feature GeoJSON", file=filename, row=n,
                                          unit="fitur"))
            records.append({})
            geoms.append(None)
            continue
        props = feat.get("properties") or {}
        if not isinstance(props, dict):
            problems.append(ImportProblem('"properties" bukan objek', file=filename, row=n, unit="fitur"))
            props = {}
        rec = {}
        for k, v in props.items():
            if k not in names:
                if len(names) >= limits.MAX_PROPERTIES:
                    raise ImportProblem("berkas memakai " + limits.over(
                        limits.MAX_PROPERTIES, "nama atribut berbeda"), file=filename, row=n,
                        unit="fitur")
                names[k] = None
            if isinstance(v, dict | list):
                v = json.dumps(v, ensure_ascii=False)
            if isinstance(v, str) and len(v) > limits.MAX_CELL_CHARS:
                problems.append(ImportProblem(
                    f"nilai berisi {limits.fmt(len(v))} karakter, "
                    + limits.over(limits.MAX_CELL_CHARS, "karakter"), file=filename, row=n,
                    column=str(k)[:80], unit="fitur"))
                v = None
            rec[k] = v
        records.append(rec)
        try:
            err = checker.check(feat.get("geometry"))
        except ImportProblem as exc:
            exc.file, exc.row, exc.unit = filename, n, "fitur"
            raise
        geom = None
        if err:
            problems.append(ImportProblem(f"geometri tidak sah: {err}", file=filename, row=n,
                                          column="geometry", unit="fitur"))
        elif feat.get("geometry") is not None:
            try:
                geom = shape(feat["geometry"])
            except (ValueError, TypeError, AttributeError, IndexError, KeyError,
                    shapely.errors.GEOSException) as exc:
                problems.append(ImportProblem(f"geometri tidak sah: {str(exc)[:120]}",
                                              file=filename, row=n, column="geometry", unit="fitur"))
        geoms.append(geom)
    frame = pd.DataFrame(records, index=pd.RangeIndex(len(records))).reindex(columns=list(names))
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs=crs)
    return gdf, problems
