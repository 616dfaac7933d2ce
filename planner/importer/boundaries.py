"""Read village boundaries: GeoJSON, a Shapefile in a .zip, or a GeoPackage, and nothing else.

The result is the village frame without statistics (EPSG:4326):
``code, name, kecamatan, kecamatan_code, type, access, no_signal, stop_lat, stop_lon, geometry``.

* The format is told by the content (``planner.importer.safety.sniff``), never by the name; a
  name that contradicts the content is refused. GeoJSON is parsed by the planner itself
  (``planner.importer.geojson``): GDAL only ever sees a shapefile the planner extracted from the
  zip (members checked, .shp/.shx/.dbf headers checked) or a GeoPackage checked with sqlite3
  first. XML (a GDAL VRT, KML, GML) is refused: such files may point at other files or URLs.
* Limits (``planner.importer.limits``): ``MAX_FEATURES`` villages, ``MAX_VERTICES`` coordinate
  pairs, ``MAX_PROPERTIES`` attributes, ``MAX_LAYERS`` GeoPackage layers, zip limits.
* Property names are matched like recap headers (``PROPERTY_ALIASES``, case-insensitive), so
  the BIG/RBI administrative shapefiles (KDEPUM, WADMKD, WADMKC, KDCPUM) load as they are.
* Reprojected to EPSG:4326. A file without a CRS is taken as lon/lat when its coordinates are
  degrees; coordinates in metres (UTM) without a CRS are refused with a hint.
* Every village must lie in Indonesia (``limits.INDONESIA``: lon 94..142, lat -11.5..6.5);
  swapped latitude/longitude is recognised and named, as are coordinates out of range.
* Invalid polygons are repaired (``shapely.make_valid``, keeping the polygonal parts). Points are
  accepted for villages that have no polygon.
* ``type`` comes from a ``type`` property or from the Kemendagri code (village part starting
  with 1 = kelurahan, 2 = desa).
* The stop point (where a team parks) is ``stop_lat/stop_lon`` or ``inner_lat/inner_lon`` when
  given, else the centroid when it lies inside the polygon, else a point surely inside it.
* Villages without a code get a stable stand-in (``NOKODE.`` + 8 hex digits of a hash of
  kecamatan and name) so a recap can still be joined to them by name.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from . import limits, safety
from .errors import ImportProblem
from .geojson import read_geojson
from .recap import ACCESS_VALUES, NO, YES

PROPERTY_ALIASES: dict[str, list[str]] = {
    "code": ["code", "kode", "kode_desa", "kd_desa", "kode_wilayah", "kode_kemendagri",
             "kdepum", "kdebps", "village_code", "id_desa"],
    "name": ["name", "nama", "desa", "nama_desa", "desa_kel", "nama_desa_kel", "namobj", "wadmkd",
             "village", "village_name", "kelurahan"],
    "kecamatan": ["kecamatan", "kec", "nama_kec", "nama_kecamatan", "wadmkc", "district",
                  "subdistrict"],
    "kecamatan_code": ["kecamatan_code", "kode_kec", "kode_kecamatan", "kd_kec", "kdcpum",
                       "district_code"],
    "type": ["type", "tipe", "jenis", "status"],
    "access": ["access", "akses", "moda"],
    "no_signal": ["no_signal", "tanpa_sinyal", "blank_spot", "blankspot"],
    "signal": ["signal", "sinyal", "ada_sinyal"],
    "stop_lat": ["stop_lat"], "stop_lon": ["stop_lon"],
    "inner_lat": ["inner_lat"], "inner_lon": ["inner_lon"],
}
OUT_COLUMNS = ["code", "name", "kecamatan", "kecamatan_code", "type", "access", "no_signal",
               "stop_lat", "stop_lon", "geometry"]
TYPE_VALUES = {"desa": "desa", "village": "desa", "kelurahan": "kelurahan", "kel": "kelurahan",
               "urban": "kelurahan", "urban village": "kelurahan"}


def _is_polygonal(g: BaseGeometry) -> bool:
    return isinstance(g, Polygon | MultiPolygon)


def _polygonal_part(g: BaseGeometry) -> BaseGeometry | None:
    if _is_polygonal(g):
        return g
    if hasattr(g, "geoms"):
        polys = []
        for part in g.geoms:
            p = _polygonal_part(part)
            if p is not None:
                polys.extend(p.geoms if isinstance(p, MultiPolygon) else [p])
        if polys:
            return polys[0] if len(polys) == 1 else MultiPolygon(polys)
    return None


# extension -> content the name promises (the content must agree)
PROMISED = {".geojson": "json", ".json": "json", ".zip": "zip", ".gpkg": "sqlite"}
# members a zipped shapefile may hold; only .shp/.shx/.dbf/.prj/.cpg are extracted for GDAL
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
SHAPEFILE_EXTRAS = (".qpj", ".sbn", ".sbx", ".qix", ".fix", ".xml", ".qmd", ".atx", ".ain",
                    ".aih", ".ixs", ".mxs", ".txt")
UNREADABLE = "berkas bukan data peta yang dapat dibaca (GeoJSON, Shapefile dalam zip, atau GeoPackage)"


def _open(path: Path, filename: str) -> tuple[gpd.GeoDataFrame, list[ImportProblem]]:
    """The file's features (a GeoDataFrame in the file's CRS, None when it names none) and the
    problems found per feature while parsing. Refuses anything that is not one of the three
    formats by content."""
    safety.check_file(path, filename)
    sniffed = safety.sniff(path, filename)
    if sniffed.kind == "xml":
        raise ImportProblem(f"berkas berisi {sniffed.what}, bukan GeoJSON, Shapefile dalam zip atau "
                            "GeoPackage; berkas XML (VRT, KML, GML) dapat merujuk berkas atau alamat "
                            "lain dan tidak dibuka", file=filename)
    if sniffed.kind == "shp":
        raise ImportProblem("berkas .shp saja tidak cukup: kirim shapefile sebagai .zip yang memuat "
                            ".shp, .shx, .dbf dan .prj", file=filename)
    if sniffed.kind not in ("json", "zip", "sqlite"):
        raise ImportProblem(f"{UNREADABLE}; isi berkas: {sniffed.what}", file=filename)
    safety.check_name(sniffed, filename, PROMISED, "; kirim GeoJSON (.geojson), Shapefile dalam "
                      ".zip, atau GeoPackage (.gpkg) dengan nama yang sesuai")
    if sniffed.kind == "json":
        return read_geojson(path.read_bytes(), filename)
    with tempfile.TemporaryDirectory(prefix="planner-import-") as tmp:
        if sniffed.kind == "sqlite":
            copy = Path(tmp) / "desa.gpkg"
            shutil.copyfile(path, copy)
            return _read_geopackage(copy, filename), []
        return _read_zip(path, Path(tmp), filename)


def _read_zip(path: Path, tmp: Path, filename: str) -> tuple[gpd.GeoDataFrame, list[ImportProblem]]:
    with safety.open_zip(path, filename) as zf:
        files = safety.member_files(zf)
        if not files:
            raise ImportProblem("arsip zip tidak berisi shapefile (.shp), GeoJSON atau GeoPackage",
                                file=filename)
        shps = [i for i in files if i.filename.lower().endswith(".shp")]
        others = [i for i in files if i.filename.lower().endswith((".geojson", ".json", ".gpkg"))]
        if len(shps) > 1:
            names = ", ".join(safety._shown(i.filename) for i in shps[:5])
            raise ImportProblem(f"arsip zip berisi {len(shps)} shapefile ({names}); "
                                "sisakan satu shapefile batas desa", file=filename)
        allowed = SHAPEFILE_PARTS + SHAPEFILE_EXTRAS if shps else (".geojson", ".json", ".gpkg",
                                                                   ".txt")
        for info in files:
            if not info.filename.lower().endswith(allowed):
                what = "shapefile hanya boleh berisi .shp, .shx, .dbf, .prj dan .cpg (serta " \
                       "berkas indeks/metadata shapefile)" if shps else \
                       "arsip hanya boleh berisi satu shapefile, GeoJSON atau GeoPackage"
                raise ImportProblem(f'arsip zip berisi "{safety._shown(info.filename)}": {what}; '
                                    "hapus berkas lain dari arsip", file=filename)
        if shps:
            return _read_zipped_shapefile(zf, files, shps[0], tmp, filename), []
        if len(others) != 1:
            raise ImportProblem(
                "arsip zip tidak berisi shapefile (.shp), GeoJSON atau GeoPackage" if not others else
                f"arsip zip berisi {len(others)} berkas peta; sisakan satu", file=filename)
        inner = others[0]
        out = safety.extract(zf, inner, tmp, filename, as_name="inner" + Path(inner.filename).suffix.lower())
    label = f"{filename}/{safety._shown(inner.filename)}"
    sniffed = safety.sniff(out, label)
    if sniffed.kind == "json" and out.suffix != ".gpkg":
        return read_geojson(out.read_bytes(), filename)
    if sniffed.kind == "sqlite" and out.suffix == ".gpkg":
        return _read_geopackage(out, filename), []
    raise ImportProblem(f'"{safety._shown(inner.filename)}" di dalam arsip berisi {sniffed.what}, '
                        "bukan GeoJSON atau GeoPackage", file=filename)


def _read_zipped_shapefile(zf, files, shp, tmp: Path, filename: str) -> gpd.GeoDataFrame:
    inner = safety._shown(shp.filename)
    base = shp.filename[:-4].lower()
    parts = {}
    for info in files:
        low = info.filename.lower()
        if low.startswith(base) and low[len(base):] in SHAPEFILE_PARTS:
            parts[low[len(base):]] = info
    missing = [ext for ext in (".shx", ".dbf") if ext not in parts]
    if missing:
        raise ImportProblem(f"shapefile {inner} tidak lengkap: berkas {', '.join(missing)} "
                            "tidak ada di dalam zip", file=filename)
    for ext, cap in ((".prj", 64 * 1024), (".cpg", 1024)):
        if ext in parts and parts[ext].file_size > cap:
            raise ImportProblem(f"berkas {ext} shapefile {inner} " + limits.over(
                cap // 1024, "KiB"), file=filename)
    paths = {ext: safety.extract(zf, info, tmp, filename, as_name="desa" + ext)
             for ext, info in parts.items()}
    safety.check_shapefile(paths[".shp"], paths[".shx"], paths[".dbf"], filename, inner)
    return _read_ogr(paths[".shp"], None, filename)


def _read_geopackage(path: Path, filename: str) -> gpd.GeoDataFrame:
    layers, counts = safety.check_geopackage(path, filename)
    if not layers:
        raise ImportProblem("GeoPackage tidak berisi lapisan fitur (desa)", file=filename)
    layer = layers[0]
    if len(layers) > 1:
        layer = next((n for n in layers if re.search(r"desa|village|kel", n, re.I)), layers[0])
    if counts[layer] > limits.MAX_FEATURES:
        raise ImportProblem(f'lapisan "{safety._shown(layer)}" berisi {limits.fmt(counts[layer])} '
                            "fitur, " + limits.over(limits.MAX_FEATURES, "fitur (desa)"),
                            file=filename)
    return _read_ogr(path, layer, filename)


def _read_ogr(source: Path, layer: str | None, filename: str) -> gpd.GeoDataFrame:
    """A shapefile or GeoPackage layer through pyogrio (GDAL), within the limits."""
    import pyogrio

    try:
        info = pyogrio.read_info(source, layer=layer)
        if int(info.get("features") or 0) > limits.MAX_FEATURES:
            raise ImportProblem(f"berkas berisi {limits.fmt(int(info['features']))} fitur, "
                                + limits.over(limits.MAX_FEATURES, "fitur (desa)"), file=filename)
        if len(info.get("fields", ())) > limits.MAX_PROPERTIES:
            raise ImportProblem("berkas memakai " + limits.over(limits.MAX_PROPERTIES, "atribut"),
                                file=filename)
        gdf = gpd.read_file(source, layer=layer, engine="pyogrio")
    except ImportProblem:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001  (pyogrio DataSourceError, bad geometry, ...)
        detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        detail = detail.replace(str(source), filename).replace(str(source.parent), "")
        raise ImportProblem(f"{UNREADABLE}: {detail}", file=filename) from None
    if len(gdf) > limits.MAX_FEATURES:
        raise ImportProblem(f"berkas berisi {limits.fmt(len(gdf))} fitur, "
                            + limits.over(limits.MAX_FEATURES, "fitur (desa)"), file=filename)
    for col in gdf.columns:
        if gdf[col].dtype == object and col != gdf.geometry.name:
            too_long = gdf[col].map(lambda v: isinstance(v, str) and len(v) > limits.MAX_CELL_CHARS)
            if too_long.any():
                n = int(too_long.to_numpy().argmax()) + 1
                raise ImportProblem(limits.over(limits.MAX_CELL_CHARS, "karakter"), file=filename,
                                    row=n, column=str(col), unit="fitur")
    return gdf


def _check_vertices(gdf: gpd.GeoDataFrame, filename: str) -> None:
    n = int(shapely.get_num_coordinates(gdf.geometry.values).sum())
    if n > limits.MAX_VERTICES:
        raise ImportProblem(f"berkas berisi {limits.fmt(n)} titik koordinat, " + limits.over(
            limits.MAX_VERTICES, "titik koordinat", "; sederhanakan poligonnya (mis. QGIS: "
            "Simplify) atau pisahkan berkasnya"), file=filename, column="geometry")


def _find_columns(gdf: gpd.GeoDataFrame) -> tuple[dict[str, str], bool]:
    lower = {c.lower().strip(): c for c in gdf.columns if c != gdf.geometry.name}
    found: dict[str, str] = {}
    for fld, aliases in PROPERTY_ALIASES.items():
        for a in aliases:
            if a in lower:
                found[fld] = lower[a]
                break
    inverted = False
    if "signal" in found and "no_signal" not in found:
        found["no_signal"] = found["signal"]
        inverted = True
    found.pop("signal", None)
    return found, inverted


def _text(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return " ".join(str(v).split())


def _code(v) -> str:
    s = _text(v).replace(" ", "")
    if re.fullmatch(r"\d{10}", s):
        return f"{s[:2]}.{s[2:4]}.{s[4:6]}.{s[6:]}"
    return s


def stand_in_code(kecamatan: str, name: str) -> str:
    """A stable code for a village the file gives no code: the same village (kecamatan and
    name) always gets the same one, whatever file or order it comes in."""
    key = f"{' '.join(kecamatan.lower().split())}|{' '.join(name.lower().split())}"
    return "NOKODE." + hashlib.sha1(key.encode("utf-8")).hexdigest()[:8].upper()


def _type_from_code(code: str) -> str | None:
    parts = code.split(".")
    if len(parts) == 4 and parts[3][:1] in ("1", "2"):
        return "kelurahan" if parts[3][0] == "1" else "desa"
    return None


def _to_wgs84(gdf: gpd.GeoDataFrame, filename: str) -> tuple[gpd.GeoDataFrame, str | None]:
    """The frame in EPSG:4326, and the CRS it was converted from (None: it was lon/lat)."""
    if gdf.crs is None:
        b = gdf.geometry.bounds.to_numpy()
        b = b[~pd.isna(b).any(axis=1)]
        if len(b) and float(abs(b).max()) > 1000:
            # metres, not degrees: UTM (e.g. 500000, 9700000) or another projection
            x, y = b[0][0], b[0][1]
            raise ImportProblem(
                "berkas tidak menyebut sistem koordinat (CRS) dan koordinatnya bukan bujur/lintang "
                f"(contoh {x:.0f}, {y:.0f}: tampaknya meter, mis. UTM); simpan ulang dengan CRS "
                "(shapefile beserta .prj-nya) atau ekspor sebagai WGS84 (EPSG:4326)",
                file=filename, column="geometry")
        return gdf.set_crs("EPSG:4326"), None
    if gdf.crs.equals("EPSG:4326"):
        return gdf, None
    declared = str(gdf.crs.to_string())[:80]
    try:
        return gdf.to_crs("EPSG:4326"), declared
    except Exception as exc:  # noqa: BLE001
        raise ImportProblem(f"tidak dapat mengubah koordinat dari {declared} ke EPSG:4326: "
                            f"{str(exc)[:160]}", file=filename, column="geometry") from None


def _in_box(minx, miny, maxx, maxy, box) -> bool:
    x0, y0, x1, y1 = box
    return x0 <= minx and maxx <= x1 and y0 <= miny and maxy <= y1


def _where(minx, miny, maxx, maxy, source_crs: str | None) -> str | None:
    """Why a feature with these bounds (lon/lat) cannot be a village in Indonesia, or None."""
    lon0, lat0, lon1, lat1 = limits.INDONESIA
    if _in_box(minx, miny, maxx, maxy, limits.INDONESIA):
        return None
    example = f"{minx:.4f}, {miny:.4f}".replace(".", ",") if abs(minx) < 1e6 else f"{minx:.3g}, {miny:.3g}"
    if _in_box(miny, minx, maxy, maxx, limits.INDONESIA):
        return (f"koordinat lintang dan bujur tertukar (x = {example}); simpan ulang dengan urutan "
                "bujur, lintang (x = bujur 94..142, y = lintang -11,5..6,5)")
    if not (-180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90):
        return (f"koordinat {example} di luar rentang bujur (-180..180) / lintang (-90..90)"
                + (f"; periksa CRS berkas ({source_crs})" if source_crs else ""))
    return (f"koordinat {example} di luar wilayah Indonesia (bujur {lon0:g}..{lon1:g}, lintang "
            f"{lat0:g}..{lat1:g})".replace(".5", ",5")
            + (f"; periksa CRS berkas ({source_crs})" if source_crs else ""))


def _check_all_swapped(gdf: gpd.GeoDataFrame, filename: str) -> None:
    """One message for a file whose every feature has latitude and longitude swapped."""
    b = gdf.geometry.bounds.to_numpy()
    b = b[~pd.isna(b).any(axis=1)]
    if len(b) == 0:
        return
    lon0, lat0, lon1, lat1 = limits.INDONESIA
    swapped = ((b[:, 1] >= lon0) & (b[:, 3] <= lon1) & (b[:, 0] >= lat0) & (b[:, 2] <= lat1))
    if swapped.all():
        raise ImportProblem(
            f"koordinat lintang dan bujur tertukar di semua {len(b)} fitur (x berisi lintang "
            f"{b[0][0]:.4f}, y berisi bujur {b[0][1]:.4f}); simpan ulang dengan urutan bujur, "
            "lintang (GeoJSON: [bujur, lintang])", file=filename, column="geometry")


def read_boundaries(path, *, filename: str | None = None) -> gpd.GeoDataFrame:
    """Read, repair and validate a boundaries file. Raises ``ImportProblem``."""
    path = Path(path)
    filename = filename or path.name
    gdf, parse_problems = _open(path, filename)
    if len(gdf) == 0:
        raise ImportProblem("berkas tidak berisi fitur (desa) sama sekali", file=filename)
    _check_vertices(gdf, filename)
    cols, signal_inverted = _find_columns(gdf)
    props = [c for c in gdf.columns if c != gdf.geometry.name]
    listed = ", ".join(f'"{safety._shown(c, 40)}"' for c in props[:40]) or "(tidak ada)"
    if "code" not in cols and "name" not in cols:
        raise ImportProblem(
            "tidak ada kolom kode desa (code/kode/kode_desa/KDEPUM) maupun nama desa "
            f"(name/nama/desa/WADMKD); kolom yang ada: {listed}", file=filename, row=None,
            column="code", unit="fitur")
    if "kecamatan" not in cols:
        raise ImportProblem(
            f"tidak ada kolom kecamatan (kecamatan/kec/nama_kec/WADMKC); kolom yang ada: {listed}",
            file=filename, column="kecamatan", unit="fitur")
    gdf, source_crs = _to_wgs84(gdf, filename)
    _check_all_swapped(gdf, filename)
    bad_rows = {p.row for p in parse_problems}

    problems: list[ImportProblem] = list(parse_problems)

    def problem(msg, n, column):
        problems.append(ImportProblem(msg, file=filename, row=n, column=column, unit="fitur"))

    records = []
    geoms = []
    seen: dict[str, int] = {}
    repaired = 0
    geom_col = gdf.geometry.name
    for i, (rec, geom) in enumerate(zip(gdf.drop(columns=geom_col).to_dict("records"),
                                        gdf.geometry, strict=True)):
        n = i + 1
        if n in bad_rows:
            continue
        code = _code(rec.get(cols["code"])) if "code" in cols else ""
        name = _text(rec.get(cols["name"])) if "name" in cols else ""
        if not code and not name:
            problem("kode dan nama desa sama-sama kosong", n, cols.get("code") or cols.get("name"))
            continue
        generated = not code
        if generated:
            code = stand_in_code(_text(rec.get(cols["kecamatan"])), name)
        if len(code) > 20:
            problem(f'kode "{code}" terlalu panjang (maks. 20 karakter)', n, cols.get("code"))
            continue
        if code in seen:
            if generated:
                problem(f"desa {name} tanpa kode ganda di kecamatan yang sama: sudah ada di fitur "
                        f"{seen[code]}", n, cols.get("name"))
            else:
                problem(f"kode {code} ganda: sudah dipakai fitur {seen[code]}", n, cols.get("code"))
            continue
        seen[code] = n
        kec = _text(rec.get(cols["kecamatan"]))
        if not kec:
            problem(f"kecamatan kosong untuk desa {name or code}", n, cols["kecamatan"])
            continue
        if len(name) > 200 or len(kec) > 200:
            problem("nama desa atau kecamatan terlalu panjang (maks. 200 karakter)", n,
                    cols.get("name") if len(name) > 200 else cols["kecamatan"])
            continue
        # ---- geometry
        if geom is None or geom.is_empty:
            problem(f"geometri kosong untuk desa {name or code}", n, "geometry")
            continue
        why = _where(*geom.bounds, source_crs)
        if why:
            problem(why, n, "geometry")
            continue
        if not isinstance(geom, Point) and not _is_polygonal(geom):
            if hasattr(geom, "geoms") and all(isinstance(g, Point) for g in geom.geoms):
                geom = geom.geoms[0]
            else:
                fixed = _polygonal_part(geom)
                if fixed is None:
                    problem(f"geometri {geom.geom_type} tidak didukung (perlu poligon atau titik)",
                            n, "geometry")
                    continue
                geom = fixed
        if geom.has_z:
            geom = shapely.force_2d(geom)
        if _is_polygonal(geom) and not geom.is_valid:
            fixed = _polygonal_part(shapely.make_valid(geom))
            if fixed is None or fixed.is_empty:
                problem("poligon rusak dan tidak dapat diperbaiki", n, "geometry")
                continue
            geom = fixed
            repaired += 1
        # ---- stop point
        stop = None
        for la, lo in (("stop_lat", "stop_lon"), ("inner_lat", "inner_lon")):
            if la in cols and lo in cols:
                lat, lon = rec.get(cols[la]), rec.get(cols[lo])
                if _text(lat) and _text(lon):
                    try:
                        lat, lon = float(lat), float(lon)
                    except (TypeError, ValueError):
                        problem(f'titik henti "{safety._shown(lat, 30)}, {safety._shown(lon, 30)}" bukan angka', n, cols[la])
                        stop = False
                        break
                    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                        problem(f"titik henti {lat}, {lon} di luar rentang lintang/bujur", n, cols[la])
                        stop = False
                        break
                    why = _where(lon, lat, lon, lat, None)
                    if why:
                        problem(f"titik henti {lat}, {lon} ({la}, {lo}): {why}", n, cols[la])
                        stop = False
                        break
                    stop = (lat, lon)
                    break
        if stop is False:
            continue
        if stop is None:
            if isinstance(geom, Point):
                stop = (geom.y, geom.x)
            else:
                c = geom.centroid
                if not geom.contains(c):
                    c = geom.representative_point()
                stop = (c.y, c.x)
        # ---- attributes
        typ = None
        if "type" in cols and _text(rec.get(cols["type"])):
            raw = _text(rec.get(cols["type"]))
            typ = TYPE_VALUES.get(raw.lower())
            if typ is None:
                problem(f'jenis "{raw}" tidak dikenal; isi desa atau kelurahan', n, cols["type"])
                continue
        typ = typ or _type_from_code(code) or "desa"
        access = "road"
        if "access" in cols and _text(rec.get(cols["access"])):
            raw = _text(rec.get(cols["access"]))
            key = " ".join(re.sub(r"[^a-z]+", " ", raw.lower()).replace(" dan ", " ").split())
            if key not in ACCESS_VALUES:
                problem(f'akses "{raw}" tidak dikenal; isi darat/road, sungai/river atau keduanya/both',
                        n, cols["access"])
                continue
            access = ACCESS_VALUES[key]
        no_signal = False
        if "no_signal" in cols:
            raw = rec.get(cols["no_signal"])
            if isinstance(raw, bool):
                yes = raw
            else:
                txt = _text(raw).lower()
                if txt and txt not in YES and txt not in NO:
                    problem(f'nilai "{_text(raw)}" tidak dikenal; isi ya/tidak', n, cols["no_signal"])
                    continue
                yes = txt in YES
            no_signal = (not yes) if signal_inverted else yes
            if signal_inverted and not _text(raw):
                no_signal = False
        kcode = _code(rec.get(cols["kecamatan_code"])) if "kecamatan_code" in cols else ""
        if not kcode and code.count(".") == 3 and not code.startswith("NOKODE"):
            kcode = code.rsplit(".", 1)[0]
        records.append({"code": code, "name": name or code, "kecamatan": kec,
                        "kecamatan_code": kcode or None, "type": typ, "access": access,
                        "no_signal": bool(no_signal), "stop_lat": float(stop[0]),
                        "stop_lon": float(stop[1])})
        geoms.append(geom)

    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise ImportProblem.collect(problems)
    out = gpd.GeoDataFrame(pd.DataFrame(records, columns=OUT_COLUMNS[:-1]), geometry=geoms,
                           crs="EPSG:4326")
    out.attrs["repaired"] = repaired
    out.attrs["filename"] = filename
    # which village attributes the file itself carries (the others are left as they are)
    out.attrs["given"] = sorted({"access", "no_signal"} & set(cols)
                                | ({"stop"} if {"stop_lat", "inner_lat"} & set(cols) else set()))
    result = out[OUT_COLUMNS]
    result.attrs.update(out.attrs)
    return result
