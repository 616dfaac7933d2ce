"""Read village boundaries (GeoJSON, zipped Shapefile, GeoPackage, anything pyogrio reads).

The result is the village frame without statistics (EPSG:4326):
``code, name, kecamatan, kecamatan_code, type, access, no_signal, stop_lat, stop_lon, geometry``.

* Property names are matched like recap headers (``PROPERTY_ALIASES``, case-insensitive), so
  the BIG/RBI administrative shapefiles (KDEPUM, WADMKD, WADMKC, KDCPUM) load as they are.
* Reprojected to EPSG:4326. A file without a CRS is taken as lon/lat when its coordinates fit,
  otherwise refused.
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
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from .errors import ImportProblem
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


def _open(path: Path, filename: str) -> gpd.GeoDataFrame:
    import pyogrio

    if not path.exists():
        raise ImportProblem("berkas tidak ditemukan", file=filename)
    if path.stat().st_size == 0:
        raise ImportProblem("berkas kosong (0 byte)", file=filename)
    source = str(path)
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except zipfile.BadZipFile:
            raise ImportProblem("arsip zip rusak", file=filename) from None
        shps = [n for n in names if n.lower().endswith(".shp")]
        others = [n for n in names if n.lower().endswith((".geojson", ".json", ".gpkg"))]
        if len(shps) > 1:
            raise ImportProblem(f"arsip zip berisi {len(shps)} shapefile ({', '.join(shps)}); "
                                "sisakan satu shapefile batas desa", file=filename)
        inner = shps[0] if shps else (others[0] if others else None)
        if inner is None:
            raise ImportProblem("arsip zip tidak berisi shapefile (.shp), GeoJSON atau GeoPackage",
                                file=filename)
        if shps:
            base = inner[:-4]
            missing = [ext for ext in (".shx", ".dbf")
                       if not any(n.lower() == (base + ext).lower() for n in names)]
            if missing:
                raise ImportProblem(f"shapefile {inner} tidak lengkap: berkas {', '.join(missing)} "
                                    "tidak ada di dalam zip", file=filename)
        source = f"/vsizip/{path}/{inner}"
    try:
        layers = pyogrio.list_layers(source)
        layer = None
        if len(layers) > 1:
            names = [str(n) for n in layers[:, 0]]
            layer = next((n for n in names if re.search(r"desa|village|kel", n, re.I)), names[0])
        return gpd.read_file(source, layer=layer, engine="pyogrio")
    except ImportProblem:
        raise
    except Exception as exc:  # noqa: BLE001  (pyogrio DataSourceError, bad JSON, ...)
        detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        detail = detail.replace(str(path), filename)
        raise ImportProblem("berkas bukan data peta yang dapat dibaca (GeoJSON, Shapefile dalam "
                            f"zip, atau GeoPackage): {detail}", file=filename) from None


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


def read_boundaries(path, *, filename: str | None = None) -> gpd.GeoDataFrame:
    """Read, repair and validate a boundaries file. Raises ``ImportProblem``."""
    path = Path(path)
    filename = filename or path.name
    gdf = _open(path, filename)
    if len(gdf) == 0:
        raise ImportProblem("berkas tidak berisi fitur (desa) sama sekali", file=filename)
    cols, signal_inverted = _find_columns(gdf)
    props = [c for c in gdf.columns if c != gdf.geometry.name]
    listed = ", ".join(f'"{c}"' for c in props) or "(tidak ada)"
    if "code" not in cols and "name" not in cols:
        raise ImportProblem(
            "tidak ada kolom kode desa (code/kode/kode_desa/KDEPUM) maupun nama desa "
            f"(name/nama/desa/WADMKD); kolom yang ada: {listed}", file=filename, row=None,
            column="code", unit="fitur")
    if "kecamatan" not in cols:
        raise ImportProblem(
            f"tidak ada kolom kecamatan (kecamatan/kec/nama_kec/WADMKC); kolom yang ada: {listed}",
            file=filename, column="kecamatan", unit="fitur")

    # ---- CRS
    if gdf.crs is None:
        minx, miny, maxx, maxy = gdf.total_bounds
        if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
            raise ImportProblem(
                "berkas tidak menyebut sistem koordinat (CRS) dan koordinatnya bukan bujur/lintang "
                f"(contoh {minx:.0f}, {miny:.0f}); simpan ulang dengan CRS (mis. EPSG:4326)",
                file=filename, column="geometry")
        gdf = gdf.set_crs("EPSG:4326")
    elif not gdf.crs.equals("EPSG:4326"):
        try:
            gdf = gdf.to_crs("EPSG:4326")
        except Exception as exc:  # noqa: BLE001
            raise ImportProblem(f"tidak dapat mengubah koordinat dari {gdf.crs} ke EPSG:4326: {exc}",
                                file=filename, column="geometry") from None

    problems: list[ImportProblem] = []

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
                        problem(f'titik henti "{lat}, {lon}" bukan angka', n, cols[la])
                        stop = False
                        break
                    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                        problem(f"titik henti {lat}, {lon} di luar rentang lintang/bujur", n, cols[la])
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
        raise ImportProblem.collect(problems)
    out = gpd.GeoDataFrame(pd.DataFrame(records, columns=OUT_COLUMNS[:-1]), geometry=geoms,
                           crs="EPSG:4326")
    out.attrs["repaired"] = repaired
    out.attrs["filename"] = filename
    return out[OUT_COLUMNS]
