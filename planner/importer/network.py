"""Read a network layer: roads or rivers (lines) or piers (points), from GeoJSON, a Shapefile in a
.zip, or a GeoPackage, and nothing else -- the same safe reading as village boundaries
(``planner.importer.boundaries``): the format is told by the content, GeoJSON is parsed by the
planner itself, GDAL only opens a shapefile extracted from a checked zip or a GeoPackage
checked with sqlite3 first, and the file is read in the sandboxed child process
(``planner.importer.sandbox``, task ``"network"``).

The result (EPSG:4326) has one row per line (multi-lines are split into their parts) or per
pier point: ``class`` (a class of ``planner.network.ROAD_CLASSES``/``RIVER_CLASSES``; piers:
``pier``), ``raw`` (the value the class came from), ``name`` and ``geometry``; ``attrs["summary"]``
tells what was read:

* ``column``: the attribute the classes came from -- the one that recognises most values among
  ``highway``/``waterway`` (OpenStreetMap), ``fclass`` (Geofabrik), ``REMARK``/``KLSJLN`` (BIG/RBI),
  ``kelas``, ``jenis``, ``type``, ``role`` (``planner.network.CLASS_COLUMNS``);
* ``classes``: lines and km per class; ``unknown``: values not recognised (those lines take the
  kind's ``default`` speed) with their counts; ``skipped``: features left out on purpose, with
  why -- a value that is no usable way (``construction``, ``proposed``, ``dam``, ``weir``...),
  a feature of the other kind (an OpenStreetMap export holding ``highway`` and ``waterway``;
  a file with a ``kind``/``jenis`` column of road/river/pier, as the demo's map context),
  a line of zero length;
* ``crs`` (the CRS it was converted from, or None), ``features``, ``parts``, ``km``.

All or nothing: a feature with a geometry of the wrong type (a polygon in a road layer, a line in
a pier layer), an empty geometry, or coordinates outside Indonesia refuses the whole file, each
problem named by feature number and column (``ImportProblem``). Limits
(``planner.importer.limits``): ``MAX_NETWORK_FEATURES`` features (a regency's OpenStreetMap roads
are tens of thousands of ways; the boundaries' 20,000 is too few), ``MAX_VERTICES`` coordinate
pairs, the file size and zip limits of every import.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from .. import network as netmod
from . import limits, safety
from .boundaries import (
    PROMISED,
    SHAPEFILE_EXTRAS,
    SHAPEFILE_PARTS,
    UNREADABLE,
    _read_ogr,
    _to_wgs84,
    _where,
)
from .errors import ImportProblem

KINDS = ("road", "river", "pier")
KIND_LABEL = {"road": "jalan", "river": "sungai", "pier": "dermaga"}
#: Values of a ``kind``/``jenis`` column that name each kind (a mixed file, e.g. the demo's
#: map context, holds several kinds and other features).
KIND_WORDS = {
    "road": {"road", "roads", "jalan", "highway", "ruas jalan"},
    "river": {"river", "rivers", "sungai", "waterway", "perairan", "kanal", "canal"},
    "pier": {"pier", "piers", "dermaga", "pelabuhan", "landing", "jetty", "tambatan"},
}
KIND_COLUMNS = ("kind", "jenis_data", "layer", "lapisan")
#: GeoPackage layer / zipped shapefile names that suggest a kind (when a file holds several).
NAME_HINTS = {
    "road": r"jalan|road|highway|ruas|jln",
    "river": r"sungai|river|waterway|perairan|kanal|canal|water",
    "pier": r"dermaga|pier|pelabuhan|jetty|landing|tambat",
}
NAME_COLUMNS = ("name", "nama", "namobj", "namrjl", "nama_jalan", "nama_sungai", "nama_dermaga",
                "label")
LINE_TYPES = ("LineString", "MultiLineString")
POINT_TYPES = ("Point", "MultiPoint")


def _unit(kind: str) -> str:
    return "fitur (dermaga)" if kind == "pier" else "fitur (garis)"


@contextlib.contextmanager
def _network_limits(kind: str):
    """The shared readers count features against ``MAX_FEATURES`` (villages); a network layer
    may hold up to ``MAX_NETWORK_FEATURES``. Set for the read only (the child process exits
    afterwards; without the sandbox, restored here), and the readers' word "desa" replaced."""
    saved = limits.MAX_FEATURES
    limits.MAX_FEATURES = limits.MAX_NETWORK_FEATURES
    try:
        yield
    except ImportProblem as exc:
        exc.message = exc.message.replace("fitur (desa)", _unit(kind))
        raise
    finally:
        limits.MAX_FEATURES = saved


def _pick(names: list[str], kind: str) -> list[str]:
    return [n for n in names if re.search(NAME_HINTS[kind], n, re.I)]


def _open(path: Path, filename: str, kind: str) -> tuple[gpd.GeoDataFrame, list[ImportProblem]]:
    safety.check_file(path, filename)
    sniffed = safety.sniff(path, filename)
    if sniffed.kind == "xml":
        raise ImportProblem(f"berkas berisi {sniffed.what}, bukan GeoJSON, Shapefile dalam zip atau "
                            "GeoPackage; berkas XML (VRT, KML, GML, OSM XML) dapat merujuk berkas "
                            "atau alamat lain dan tidak dibuka; ekspor dari QGIS sebagai GeoJSON "
                            "atau GeoPackage", file=filename)
    if sniffed.kind == "shp":
        raise ImportProblem("berkas .shp saja tidak cukup: kirim shapefile sebagai .zip yang memuat "
                            ".shp, .shx, .dbf dan .prj", file=filename)
    if sniffed.kind not in ("json", "zip", "sqlite"):
        raise ImportProblem(f"{UNREADABLE}; isi berkas: {sniffed.what}", file=filename)
    safety.check_name(sniffed, filename, PROMISED, "; kirim GeoJSON (.geojson), Shapefile dalam "
                      ".zip, atau GeoPackage (.gpkg) dengan nama yang sesuai")
    from .geojson import read_geojson

    if sniffed.kind == "json":
        return read_geojson(path.read_bytes(), filename)
    with tempfile.TemporaryDirectory(prefix="planner-import-") as tmp:
        if sniffed.kind == "sqlite":
            copy = Path(tmp) / "jaringan.gpkg"
            shutil.copyfile(path, copy)
            return _read_geopackage(copy, filename, kind), []
        return _read_zip(path, Path(tmp), filename, kind)


def _read_geopackage(path: Path, filename: str, kind: str) -> gpd.GeoDataFrame:
    layers, counts = safety.check_geopackage(path, filename)
    if not layers:
        raise ImportProblem("GeoPackage tidak berisi lapisan fitur", file=filename)
    layer = layers[0]
    if len(layers) > 1:
        hits = _pick(layers, kind)
        if len(hits) != 1:
            shown = ", ".join(f'"{safety._shown(n, 40)}"' for n in layers[:10])
            raise ImportProblem(f"GeoPackage berisi {len(layers)} lapisan ({shown}); sisakan satu "
                                f"lapisan {KIND_LABEL[kind]}, atau beri nama lapisannya "
                                f"mengandung \"{KIND_LABEL[kind]}\"", file=filename)
        layer = hits[0]
    if counts[layer] > limits.MAX_NETWORK_FEATURES:
        raise ImportProblem(f'lapisan "{safety._shown(layer)}" berisi {limits.fmt(counts[layer])} '
                            "fitur, " + limits.over(limits.MAX_NETWORK_FEATURES, _unit(kind)),
                            file=filename)
    return _read_ogr(path, layer, filename)


def _read_zip(path: Path, tmp: Path, filename: str, kind: str):
    from .geojson import read_geojson

    with safety.open_zip(path, filename) as zf:
        files = safety.member_files(zf)
        shps = [i for i in files if i.filename.lower().endswith(".shp")]
        others = [i for i in files if i.filename.lower().endswith((".geojson", ".json", ".gpkg"))]
        if not shps and not others:
            raise ImportProblem("arsip zip tidak berisi shapefile (.shp), GeoJSON atau GeoPackage",
                                file=filename)
        if len(shps) > 1:
            hits = [i for i in shps if re.search(NAME_HINTS[kind], Path(i.filename).stem, re.I)]
            if len(hits) != 1:
                names = ", ".join(safety._shown(i.filename) for i in shps[:6])
                raise ImportProblem(f"arsip zip berisi {len(shps)} shapefile ({names}); sisakan satu "
                                    f"shapefile {KIND_LABEL[kind]}, atau satu yang namanya "
                                    f"mengandung \"{KIND_LABEL[kind]}\"", file=filename)
            shps = hits
        if shps:
            shp = shps[0]
            base = shp.filename[:-4].lower()
            parts = {}
            for info in files:
                low = info.filename.lower()
                if low.startswith(base) and low[len(base):] in SHAPEFILE_PARTS:
                    parts[low[len(base):]] = info
            for info in files:
                low = info.filename.lower()
                if not low.endswith(SHAPEFILE_PARTS + SHAPEFILE_EXTRAS):
                    raise ImportProblem(f'arsip zip berisi "{safety._shown(info.filename)}": '
                                        "shapefile hanya boleh berisi .shp, .shx, .dbf, .prj dan "
                                        ".cpg (serta berkas indeks/metadata shapefile); hapus "
                                        "berkas lain dari arsip", file=filename)
            inner = safety._shown(shp.filename)
            missing = [ext for ext in (".shx", ".dbf") if ext not in parts]
            if missing:
                raise ImportProblem(f"shapefile {inner} tidak lengkap: berkas {', '.join(missing)} "
                                    "tidak ada di dalam zip", file=filename)
            for ext, cap in ((".prj", 64 * 1024), (".cpg", 1024)):
                if ext in parts and parts[ext].file_size > cap:
                    raise ImportProblem(f"berkas {ext} shapefile {inner} " + limits.over(
                        cap // 1024, "KiB"), file=filename)
            paths = {ext: safety.extract(zf, info, tmp, filename, as_name="jaringan" + ext)
                     for ext, info in parts.items()}
            safety.check_shapefile(paths[".shp"], paths[".shx"], paths[".dbf"], filename, inner)
            return _read_ogr(paths[".shp"], None, filename), []
        if len(others) != 1:
            raise ImportProblem(f"arsip zip berisi {len(others)} berkas peta; sisakan satu",
                                file=filename)
        inner_info = others[0]
        out = safety.extract(zf, inner_info, tmp, filename,
                             as_name="inner" + Path(inner_info.filename).suffix.lower())
    sniffed = safety.sniff(out, filename)
    if sniffed.kind == "json" and out.suffix != ".gpkg":
        return read_geojson(out.read_bytes(), filename)
    if sniffed.kind == "sqlite" and out.suffix == ".gpkg":
        return _read_geopackage(out, filename, kind), []
    raise ImportProblem(f'"{safety._shown(inner_info.filename)}" di dalam arsip berisi '
                        f"{sniffed.what}, bukan GeoJSON atau GeoPackage", file=filename)


def _text(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return " ".join(str(v).split())


def _columns(gdf: gpd.GeoDataFrame) -> dict[str, str]:
    return {str(c).lower().strip(): c for c in gdf.columns if c != gdf.geometry.name}


def _kind_filter(gdf: gpd.GeoDataFrame, kind: str, filename: str) -> tuple[np.ndarray, int]:
    """Rows to keep, and how many were left out as another kind."""
    n = len(gdf)
    keep = np.ones(n, bool)
    cols = _columns(gdf)
    for name in KIND_COLUMNS:
        col = cols.get(name)
        if col is None:
            continue
        vals = gdf[col].map(lambda v: _text(v).lower())
        known = vals.isin(set().union(*KIND_WORDS.values()))
        if not known.any():
            continue
        mine = vals.isin(KIND_WORDS[kind]).to_numpy()
        if not mine.any():
            found = ", ".join(sorted(set(vals[known]))[:8])
            raise ImportProblem(f'kolom "{col}" menandai jenis fitur ({found}) tetapi tidak ada yang '
                                f"berjenis {kind}/{KIND_LABEL[kind]}", file=filename, column=str(col))
        return mine, int(n - mine.sum())
    if kind in netmod.OTHER_KIND_TAG:
        own = cols.get("highway" if kind == "road" else "waterway")
        other = cols.get(netmod.OTHER_KIND_TAG[kind])
        if other is not None:
            has_other = gdf[other].map(_text).astype(bool).to_numpy()
            has_own = gdf[own].map(_text).astype(bool).to_numpy() if own is not None else np.zeros(n, bool)
            keep = ~(has_other & ~has_own)
            return keep, int((~keep).sum())
    return keep, 0


def read_network(path, *, kind: str, filename: str | None = None) -> gpd.GeoDataFrame:
    """Read and check one network layer (module docstring). Raises ``ImportProblem``."""
    path = Path(path)
    filename = filename or path.name
    if kind not in KINDS:
        raise ImportProblem(f'jenis lapisan "{safety._shown(kind, 30)}" tidak dikenal; pakai road '
                            "(jalan), river (sungai) atau pier (dermaga)", file=filename)
    with _network_limits(kind):
        gdf, parse_problems = _open(path, filename, kind)
    if len(gdf) == 0:
        raise ImportProblem("berkas tidak berisi fitur sama sekali", file=filename)
    n_vertices = int(shapely.get_num_coordinates(gdf.geometry.values).sum())
    if n_vertices > limits.MAX_VERTICES:
        raise ImportProblem(f"berkas berisi {limits.fmt(n_vertices)} titik koordinat, " + limits.over(
            limits.MAX_VERTICES, "titik koordinat", "; sederhanakan garisnya (mis. QGIS: Simplify) "
            "atau pisahkan berkasnya"), file=filename, column="geometry")
    keep, other_kind = _kind_filter(gdf, kind, filename)
    rows = np.flatnonzero(keep)  # positions in the file (feature number = position + 1)
    gdf = gdf.iloc[rows]
    if len(gdf) == 0:
        raise ImportProblem(f"berkas tidak berisi fitur {KIND_LABEL[kind]} ({kind}): semua "
                            f"{other_kind} fitur berjenis lain", file=filename)
    gdf, source_crs = _to_wgs84(gdf, filename)
    bad_rows = {p.row for p in parse_problems}
    kept = set((rows + 1).tolist())
    problems = [p for p in parse_problems if p.row is None or p.row in kept]
    for p in problems:
        p.unit = "fitur"
    cols = _columns(gdf)
    name_col = next((cols[c] for c in NAME_COLUMNS if c in cols), None)
    class_col = netmod.class_column(gdf, kind) if kind != "pier" else None
    want = POINT_TYPES if kind == "pier" else LINE_TYPES
    label = "titik" if kind == "pier" else "garis"

    def problem(msg, n, column="geometry"):
        problems.append(ImportProblem(msg, file=filename, row=n, column=column, unit="fitur"))

    out_geoms, out_cls, out_raw, out_name = [], [], [], []
    unknown: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    zero = 0
    names = gdf[name_col].tolist() if name_col is not None else [None] * len(gdf)
    raws = gdf[class_col].tolist() if class_col is not None else [None] * len(gdf)
    for pos, geom, nm, raw in zip(rows, gdf.geometry, names, raws, strict=True):
        n = int(pos) + 1
        if n in bad_rows:
            continue
        if geom is None or geom.is_empty:
            problem(f"geometri kosong; lapisan {KIND_LABEL[kind]} perlu {label}", n)
            continue
        gtype = geom.geom_type
        if gtype == "GeometryCollection":
            parts = [g for g in geom.geoms if g.geom_type in want and not g.is_empty]
            if not parts:
                problem(f"geometri {gtype} tanpa {label}; lapisan {KIND_LABEL[kind]} perlu {label}", n)
                continue
        elif gtype in want:
            parts = list(geom.geoms) if gtype.startswith("Multi") else [geom]
        else:
            problem(f"geometri {gtype} bukan {label}; lapisan {KIND_LABEL[kind]} ({kind}) perlu "
                    f"{'titik (Point)' if kind == 'pier' else 'garis (LineString)'}", n)
            continue
        why = _where(*geom.bounds, source_crs)
        if why:
            problem(why, n)
            continue
        if kind == "pier":
            cls, status = "pier", "known"
        else:
            cls, status = netmod.classify(kind, raw)
            if status == "skip":
                skipped[_text(raw).lower()[:40]] += 1
                continue
            if status == "unknown":
                unknown[_text(raw)[:40] or "(kosong)"] += 1
        for part in parts:
            part = shapely.force_2d(part)
            if kind != "pier" and part.length == 0:
                zero += 1
                continue
            out_geoms.append(part)
            out_cls.append(cls)
            out_raw.append(_text(raw)[:60])
            out_name.append(_text(nm)[:200] or None)
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise ImportProblem.collect(problems)
    if not out_geoms:
        raise ImportProblem(f"berkas tidak berisi {label} {KIND_LABEL[kind]} yang dapat dipakai "
                            f"(dilewati: {sum(skipped.values()) + zero + other_kind})", file=filename)
    result = gpd.GeoDataFrame({"class": out_cls, "raw": out_raw, "name": out_name},
                              geometry=out_geoms, crs="EPSG:4326")
    summary: dict = {"kind": kind, "features": int(len(rows)), "parts": int(len(result)),
                     "crs": source_crs, "column": str(class_col) if class_col is not None else None}
    if kind != "pier":
        km = netmod.line_lengths_km(result.geometry.values)
        result_cls = result["class"].to_numpy()
        summary["classes"] = {
            c: {"lines": int((result_cls == c).sum()), "km": round(float(km[result_cls == c].sum()), 2)}
            for c in netmod.CLASSES[kind] if (result_cls == c).any()}
        summary["km"] = round(float(km.sum()), 2)
        summary["unknown"] = dict(unknown.most_common(20))
        summary["unknown_lines"] = int(sum(unknown.values()))
    summary["skipped"] = {"values": dict(skipped.most_common(20)), "other_kind": other_kind,
                          "zero_length": zero}
    result.attrs["summary"] = summary
    result.attrs["filename"] = filename
    return result


def frame_summary_line(summary: dict) -> str:
    """One line for the CLI and the pages: '1.234 garis, 456,7 km; kelas: primary 12, ...'."""
    if summary.get("kind") == "pier":
        return f"{limits.fmt(summary.get('parts', 0))} dermaga"
    cls = ", ".join(f"{c} {limits.fmt(v['lines'])}" for c, v in summary.get("classes", {}).items())
    text = (f"{limits.fmt(summary.get('parts', 0))} garis, {limits.fmt(float(summary.get('km', 0)))} km"
            f"; kelas: {cls}")
    if summary.get("unknown_lines"):
        text += f"; {limits.fmt(summary['unknown_lines'])} kelas tak dikenal (kecepatan bawaan)"
    sk = summary.get("skipped", {})
    n_skip = sum(sk.get("values", {}).values()) + sk.get("other_kind", 0) + sk.get("zero_length", 0)
    if n_skip:
        text += f"; {limits.fmt(n_skip)} dilewati"
    return text
