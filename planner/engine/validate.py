"""Independent re-check of a plan against its instance (both as plain dicts).

Does NOT import the solver: it reads only ``instance.to_dict()`` (the export) and the Plan JSON,
so it also checks plans edited by hand or produced elsewhere. ``validate_plan`` returns a list
of human-readable problems (empty = valid). Checks:

* teams and dates: every team of the plan exists, days in date order, each date a working date
  of that team;
* positions: each day starts where the previous one ended (base, or the village slept at, which
  may be reached in the evening after the last stop: ``min_to_end`` then is that leg); a
  team away for the night must work the next calendar day (teams are home on non-working days);
  the last day ends at base (trips start and end at base; a team re-planned while out on a
  trip wakes up at its ``start_point`` with ``nights_used`` nights already slept away);
  nights away in a row ≤ max_nights;
* times (±1 min): travel minutes equal the team's matrix; arrive = previous depart + minutes
  (the first leg of a day leaves at or after work start); service start ≥ arrive; everything
  inside working hours (no leg crosses a night, no work at night) and inside site opening hours;
* capacity: service long enough for the people (setup + people × minutes per person / kits, or
  the site's fixed ``service_min``); people per trip ≤ the team's ``capacity`` when it has one;
* people: per village, the people planned over all its visits ≤ unrecorded (plus pooled
  neighbours' unrecorded for collection points);
* modes: no leg the team's mode cannot make (river-only villages only by boat-capable teams),
  stop ``mode`` equals the matrix' leg mode;
* locks honoured; dropped entries carry a known reason; totals match the stops.
"""

from __future__ import annotations

import datetime as dt
import math

from planner import plan_json

REASONS = {"unreachable", "capacity", "not_worth"}
INF_THRESHOLD = 10**8
TOL = 1


def _m(s: str) -> int:
    h, m = str(s).split(":")
    return int(h) * 60 + int(m)


def validate_plan(plan: dict, instance: dict) -> list[str]:  # noqa: C901 - a list of checks
    errors: list[str] = []
    err = errors.append
    cal = instance["calendar"]
    ws, we = _m(cal["work_start"]), _m(cal["work_end"])
    sites = {s["code"]: s for s in instance["sites"]}
    teams = {t["name"]: t for t in instance["teams"]}
    mats = instance["matrices"]
    pcode = [p.get("code") for p in instance.get("points", [])]
    start_pts = {pcode[int(t["start_point"])]: int(t["start_point"])
                 for t in instance["teams"] if t.get("start_point") is not None}

    def point_of(code):
        if code in sites:
            return int(sites[code]["point"])
        return start_pts.get(code)

    def at(pos, code) -> bool:
        """Is the team (at point ``pos``) at the place with this code?"""
        return 0 <= pos < len(pcode) and pcode[pos] == code

    people_by_site: dict[str, int] = {}
    visited: dict[tuple, bool] = {}
    total_people = 0

    for tp in plan.get("teams", []):
        name = tp.get("name")
        t = teams.get(name)
        if t is None:
            err(f"Tim {name!r} tidak ada di instance.")
            continue
        mode = t["mode"]
        mat = mats.get(mode)
        if mat is None:
            err(f"Tidak ada matriks perjalanan untuk moda {mode!r}.")
            continue
        minutes, kms, legmode = mat["minutes"], mat["km"], mat["mode"]
        costs = mat.get("cost_rp")
        base = int(t["base_point"])
        tdates = set(t["dates"])
        pos = base
        nights = 0
        away = False
        if t.get("start_point") is not None:
            pos = int(t["start_point"])
            nights = int(t.get("nights_used") or 0)
            away = True
        prev_date = None
        trip_people = 0   # people recorded since the team left base (capacity per trip)
        for day in tp.get("days", []):
            date = day.get("date")
            where = f"{name} {date}"
            try:
                d = dt.date.fromisoformat(date)
            except (TypeError, ValueError):
                err(f"{where}: tanggal tidak sah.")
                continue
            if date not in tdates:
                err(f"{where}: bukan hari kerja tim.")
            if prev_date is not None and d <= prev_date:
                err(f"{where}: hari tidak berurutan.")
            if away and prev_date is not None and d != prev_date + dt.timedelta(days=1):
                err(f"{where}: tim menginap di luar basis melewati hari tidak kerja.")
            start_code = (day.get("start") or {}).get("code")
            start_pt = base if not start_code else point_of(start_code)
            if not (pos == base and not start_code) and not (start_code and at(pos, start_code)):
                err(f"{where}: hari dimulai di {start_code or 'basis'}, padahal tim ada di "
                    f"{'basis' if pos == base else 'titik ' + str(pos)}.")
                pos = start_pt if start_pt is not None else pos
            t_now = ws
            first = True
            legs = _Legs(kms, costs)

            for s in day.get("stops", []):
                code = s.get("site_code")
                site = sites.get(code)
                sw = f"{where} {code}"
                if site is None:
                    err(f"{sw}: lokasi tidak ada di instance.")
                    continue
                p = int(site["point"])
                leg = int(minutes[pos][p])
                if leg >= INF_THRESHOLD:
                    err(f"{sw}: moda {mode} tidak bisa mencapai lokasi ini"
                        + (" (hanya lewat sungai)" if site["access"] == "river" else "") + ".")
                    pos = p
                    continue
                try:
                    arrive, depart = _m(s["arrive"]), _m(s["depart"])
                    start = _m(s.get("start") or s["arrive"])
                except (KeyError, ValueError):
                    err(f"{sw}: jam tidak sah.")
                    continue
                if abs(int(s.get("min_from_prev", -99)) - leg) > TOL:
                    err(f"{sw}: menit perjalanan {s.get('min_from_prev')} ≠ matriks {leg}.")
                if abs(float(s.get("km_from_prev", 0)) - float(kms[pos][p])) > 0.5 + 0.01 * float(kms[pos][p]):
                    err(f"{sw}: km perjalanan {s.get('km_from_prev')} ≠ matriks {kms[pos][p]:.1f}.")
                want_mode = "river" if int(legmode[pos][p]) == 1 else "road"
                if s.get("mode") != want_mode:
                    err(f"{sw}: moda perjalanan {s.get('mode')} ≠ {want_mode}.")
                if first:
                    if arrive - leg < ws - TOL:
                        err(f"{sw}: berangkat sebelum jam kerja (perjalanan melewati malam).")
                elif abs(arrive - (t_now + leg)) > TOL:
                    err(f"{sw}: tiba {s['arrive']} tidak sama dengan berangkat sebelumnya "
                        f"+ {leg} menit.")
                if start < arrive - TOL:
                    err(f"{sw}: mulai sebelum tiba.")
                if arrive > we + TOL or depart > we + TOL or start < ws - TOL:
                    err(f"{sw}: di luar jam kerja ({s['arrive']}–{s['depart']}).")
                o = _m(site["open_time"]) if site.get("open_time") else ws
                c = _m(site["close_time"]) if site.get("close_time") else we
                if start < o - TOL or depart > c + TOL:
                    err(f"{sw}: di luar jam buka lokasi.")
                exp = int(s.get("expected", 0))
                mpp = float(site.get("minutes_per_person") or t["minutes_per_person"])
                if site.get("service_min") is not None:  # a fixed service (benchmark sites)
                    need = int(site["service_min"])
                else:
                    need = int(t["setup_min"]) + math.ceil(exp * mpp / int(t["kits"]))
                if depart - start < need - TOL:
                    err(f"{sw}: {exp} orang butuh {need} menit, hanya {depart - start} menit "
                        "(kapasitas alat terlampaui).")
                if exp < 0:
                    err(f"{sw}: jumlah orang negatif.")
                people_by_site[code] = people_by_site.get(code, 0) + exp
                total_people += exp
                trip_people += exp
                if t.get("capacity") is not None and trip_people > int(t["capacity"]):
                    err(f"{sw}: {trip_people} orang dalam satu perjalanan, batas tim "
                        f"{t['capacity']}.")
                legs.add(pos, p, leg, exp)
                visited[(code, date, name)] = True
                t_now = depart
                pos = p
                first = False
            end_code = (day.get("end") or {}).get("code")
            if not end_code:
                leg = int(minutes[pos][base])
                if leg >= INF_THRESHOLD:
                    err(f"{where}: tidak bisa kembali ke basis dengan moda {mode}.")
                else:
                    if abs(int(day.get("min_to_end", -99)) - leg) > TOL:
                        err(f"{where}: menit ke basis {day.get('min_to_end')} ≠ matriks {leg}.")
                    legs.add(pos, base, leg)
                    if t_now + leg > we + TOL:
                        err(f"{where}: tiba di basis {(t_now + leg) // 60:02d}:{(t_now + leg) % 60:02d} "
                            "setelah jam kerja (perjalanan melewati malam).")
                pos = base
                nights = 0
                away = False
                trip_people = 0
            else:
                end_pt = point_of(end_code)
                if at(pos, end_code):
                    pass  # sleeps where the day ended
                elif end_pt is None:
                    err(f"{where}: tempat menginap {end_code} tidak ada di instance.")
                else:
                    # the team moves on in the evening to sleep at the next village
                    leg = int(minutes[pos][end_pt])
                    if leg >= INF_THRESHOLD:
                        err(f"{where}: moda {mode} tidak bisa mencapai tempat menginap {end_code}.")
                    else:
                        if abs(int(day.get("min_to_end", -99)) - leg) > TOL:
                            err(f"{where}: menit ke tempat menginap {day.get('min_to_end')} ≠ "
                                f"matriks {leg}.")
                        legs.add(pos, end_pt, leg)
                        if t_now + leg > we + TOL:
                            err(f"{where}: tiba di tempat menginap setelah jam kerja "
                                "(perjalanan melewati malam).")
                    pos = end_pt
                nights += 1
                away = True
                if nights > int(t.get("max_nights", 0)):
                    err(f"{where}: {nights} malam berturut-turut di luar basis, batas "
                        f"{t.get('max_nights', 0)}.")
            _check_day_totals(err, where, day.get("totals") or {}, legs.sums, costs is not None)
            prev_date = d
        if pos != base:
            err(f"{name}: perjalanan tidak kembali ke basis di hari terakhir.")

    for code, n in people_by_site.items():
        s = sites[code]
        limit = int(s.get("max_people", s["unrecorded"]))
        if n > limit:
            err(f"{code}: {n} orang direncanakan, lebih dari {limit} yang belum rekam.")
    for lk in instance.get("locks", []):
        if not lk["team"]:  # a village locked to a date, whichever team
            if not any(k[0] == lk["site_code"] and k[1] == lk["date"] for k in visited):
                err(f"Kunci tidak dipenuhi: {lk['site_code']} {lk['date']} (tim mana pun).")
        elif not visited.get((lk["site_code"], lk["date"], lk["team"])):
            err(f"Kunci tidak dipenuhi: {lk['site_code']} {lk['date']} {lk['team']}.")
    for dr in plan.get("dropped", []):
        if dr.get("reason") not in REASONS:
            err(f"Alasan tidak dikenal untuk {dr.get('site_code')}: {dr.get('reason')!r}.")
        if dr.get("site_code") not in sites:
            err(f"Lokasi yang dilewati {dr.get('site_code')} tidak ada di instance.")
    dropped_codes = {dr.get("site_code") for dr in plan.get("dropped", [])}
    for code in sites:
        if code not in people_by_site and code not in dropped_codes:
            err(f"{code}: tidak dikunjungi dan tidak ada di daftar yang dilewati.")
    tot = (plan.get("totals") or {}).get("people")
    if tot is not None and int(tot) != total_people:
        err(f"Total orang {tot} ≠ jumlah per stop {total_people}.")
    want = plan_json.totals(plan)
    have = plan.get("totals") or {}
    for key, tol in (("km", 0.15), ("travel_hours", 0.011), ("cost_rp", 1)):
        if key in have and abs(float(have[key]) - float(want[key])) > tol:
            err(f"Total {key} {have[key]} ≠ jumlah per hari {want[key]}.")
    return errors


class _Legs:
    """Sums a day's legs from the instance matrices (km, minutes, cost) and its people."""

    def __init__(self, kms, costs):
        self.kms, self.costs = kms, costs
        self.sums = {"people": 0, "km": 0.0, "travel_min": 0, "cost_rp": 0.0, "legs": 0}

    def add(self, a: int, b: int, minutes: int, people: int = 0) -> None:
        self.sums["people"] += people
        self.sums["legs"] += 1
        self.sums["travel_min"] += minutes
        self.sums["km"] += float(self.kms[a][b] or 0)
        if self.costs is not None:
            self.sums["cost_rp"] += float(self.costs[a][b] or 0)


def _check_day_totals(err, where: str, totals: dict, legs: dict, with_cost: bool) -> None:
    """A day's ``totals`` are the sums of its legs (matrix km, minutes and cost) and stops."""
    if int(totals.get("people", -1)) != legs["people"]:
        err(f"{where}: total orang hari ini {totals.get('people')} ≠ {legs['people']}.")
    if abs(int(totals.get("travel_min", -1)) - legs["travel_min"]) > TOL:
        err(f"{where}: total menit perjalanan {totals.get('travel_min')} ≠ {legs['travel_min']}.")
    if abs(float(totals.get("km", -1)) - legs["km"]) > 0.15:
        err(f"{where}: total km {totals.get('km')} ≠ {legs['km']:.1f}.")
    # the instance export rounds each leg's cost to whole rupiah: allow that rounding per leg
    if with_cost and abs(float(totals.get("cost_rp", -1)) - legs["cost_rp"]) > 1 + 0.5 * legs["legs"]:
        err(f"{where}: total biaya Rp {totals.get('cost_rp')} ≠ {legs['cost_rp']:.0f}.")
