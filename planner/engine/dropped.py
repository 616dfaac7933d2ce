"""Why a village is not (fully) in the plan: one reason per village left out.

* ``unreachable``: no trip of any team can do the visit even alone (its mode cannot reach the
  village, or the way there and back does not fit a day and no trip may sleep out long
  enough).
* ``capacity``: reachable, but every trip that could take it has less idle working time than
  the visit needs (service + the cheapest detour from its route); also the people of a visit
  cut short at the end of a day.
* ``not_worth``: some trip had the time, but the people do not pay for the travel given the
  rest of the plan.

``partial`` marks a village of which some visits (or some people) are planned.
"""

from __future__ import annotations

from .plan import Dropped
from .problem import INF, Problem
from .routing import alone_ok
from .schedule import TripSchedule


def dropped_sites(P: Problem, trips: list[TripSchedule]) -> list[Dropped]:
    inst = P.inst
    served: dict[int, int] = {}        # site -> people planned
    placed: set[int] = set()
    short: set[int] = set()
    busy = []
    route_pts = []
    for ts in trips:
        T = P.teams[ts.slot.team]
        mm = P.minutes[T.mode]
        n = P.n_points
        b = 0
        pts = {T.base, ts.slot.start if ts.slot.start is not None else T.base}
        for d in ts.days:
            for s in d.stops:
                b += mm[s.origin * n + s.point] + (s.depart - s.start)
                pts.add(s.point)
                site = P.v_site[s.visit]
                served[site] = served.get(site, 0) + s.people
                placed.add(s.visit)
                if s.people < P.v_expected[s.visit]:
                    short.add(s.visit)
            if d.evening is not None:
                b += mm[d.evening_from * n + d.evening]
        busy.append(b)
        route_pts.append(pts)
    idle = [len(ts.slot.offsets) * P.work - b for ts, b in zip(trips, busy, strict=True)]
    by_site: dict[int, list[int]] = {}
    for x in range(P.n_base_visits):
        by_site.setdefault(P.v_site[x], []).append(x)
    out = []
    for si, vis in by_site.items():
        site = inst.sites[si]
        expected = sum(P.v_expected[x] for x in vis)
        got = served.get(si, 0)
        if got >= expected:
            continue
        missing = [x for x in vis if x not in placed]
        exp = expected - got
        partial = got > 0
        if not missing:
            reason = "capacity"
            detail = (f"Sebagian ({exp} orang) tidak terlayani: waktu kerja hari itu habis "
                      "(kunjungan dipersingkat).")
        else:
            x = missing[0]
            ok = [k for k, ts in enumerate(trips) if alone_ok(P, ts.slot, x)[0]]
            if not ok:
                reason = "unreachable"
                reasons = {alone_ok(P, ts.slot, x)[1] for ts in trips}
                if reasons == {"mode"} or not trips:
                    detail = ("Hanya bisa dicapai lewat sungai; tidak ada tim dengan perahu."
                              if site.access == "river" else
                              "Moda tim tidak bisa mencapai lokasi ini.")
                else:
                    mins = [P.leg(t.mode, t.base, P.v_point[x]) for t in P.teams]
                    mins = [m for m in mins if m < INF]
                    one_way = min(mins) if mins else 0
                    detail = (f"Perjalanan sekali jalan ±{one_way / 60:.1f} jam: tidak muat dalam "
                              "satu hari kerja pergi-pulang, dan tidak ada tim/slot perjalanan "
                              "yang boleh menginap cukup lama.")
            else:
                best = None
                for k in ok:
                    ts = trips[k]
                    T = P.teams[ts.slot.team]
                    mm = P.minutes[T.mode]
                    n = P.n_points
                    p = P.v_point[x]
                    detour = min(mm[q * n + p] + mm[p * n + q] for q in route_pts[k])
                    need = P.v_service[ts.slot.team][x] + detour
                    gap = idle[k] - need
                    if best is None or gap > best[0]:
                        best = (gap, k, need)
                gap, k, need = best
                team = inst.teams[trips[k].slot.team]
                if gap < 0:
                    reason = "capacity"
                    detail = (f"Waktu tim habis: sisa waktu terbesar {max(idle[k], 0)} menit "
                              f"({team.name}), kunjungan butuh ±{need} menit "
                              "(layanan + perjalanan).")
                else:
                    reason = "not_worth"
                    travel = need - P.v_service[trips[k].slot.team][x]
                    detail = (f"{exp} orang tidak sebanding dengan perjalanan ±{travel} "
                              "menit dibanding lokasi lain yang dipilih.")
        if partial and missing:
            detail = (f"Sebagian ({len(vis) - len(missing)}/{len(vis)} kunjungan) terjadwal. "
                      + detail)
        out.append(Dropped(site_code=site.code, name=site.name, kecamatan=site.kecamatan,
                           expected=int(exp), reason=reason, detail=detail, partial=partial))
    return out
