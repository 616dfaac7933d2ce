"""The planning problem: teams, sites, calendar → an immutable ``Instance``.

``build_instance(villages_frame, request)`` is the only place where the village frame becomes
solver input. Choices (also the documentation of the model):

* **Selection**: villages with ``unrecorded > 0`` whose rate is below ``request.below`` (when
  given) and whose unrecorded count is ≥ ``min_unrecorded``; ``must_visit`` codes are added
  whatever their figures (and weigh ``MUST_VISIT_WEIGHT`` times more, so the solver drops them
  only when they cannot be reached); ``exclude`` codes are removed; locked sites are always in.
* **Expected people** = round(unrecorded × turnout) with a per-village override, at least 1 and
  never more than the unrecorded count. Extra sites (school, prison, hospital, social home)
  bring their own expected people and minutes per person.
* **Service minutes** for team t at a visit = setup + ceil(expected × minutes_per_person / kits)
  (the site's minutes per person when it has one, else the team's).
* **Large villages**: one team-day holds ``(work minutes − setup) × kits / minutes_per_person``
  people (the smallest over the teams, so every team can take any visit). A visit may hold at
  most ``split_fraction`` (0.75) of that, and no more than fits in the time left on the day of
  the visit after travel (there and back for day-trip teams, the way in for teams that may sleep
  out; at least a quarter of the day). A village above that is split into the fewest equal
  visits (sum = expected, never more than unrecorded); each visit is its own routing node, and a
  team may stay several days at a large village (visit after visit, sleeping there).
* **Calendar**: working dates from ``start_date`` skipping weekends (Sat/Sun when
  ``skip_weekends``) and holidays, ``days`` of them. A team works on the dates in its
  ``available_dates`` (all when None). Time in the solver is minutes from 00:00 of the start date.
* **Value** of a visit = expected × ``person_value_min`` × must-visit weight, in the same units
  as travel (see ``planner.engine.solver``).
* **Pooling** (``request.pooling`` = ``pooling.PoolingParams``): after selection,
  ``pooling.choose_collection_points`` merges neighbours into host villages (host ``expected``
  and ``unrecorded`` include the pooled villages', listed in ``pooled``); locked and
  must-visit villages stay stops of their own.
* **Travel**: one matrix set per vehicle mode used by the teams, from ``planner.travel`` (great
  circle by default, or the ``travel_source`` given). Points: the distinct team bases first
  (access 'both' so a boat can leave the office pier), then the sites.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

MUST_VISIT_WEIGHT = 20
SPLIT_FRACTION = 0.75
KINDS = ("village", "school", "prison", "hospital", "social_home")
MODES = ("road", "river", "both")


class PlanInputError(ValueError):
    """Bad planning input (clear message for a coordinator)."""


# --------------------------------------------------------------------------- specs
@dataclass(frozen=True)
class TeamSpec:
    name: str
    base: tuple  # (name, lat, lon)
    kits: int = 3
    minutes_per_person: float = 3.5
    setup_min: int = 30
    mode: str = "road"
    available_dates: tuple | None = None
    max_nights: int = 0
    # re-plan of a team on a trip: (code, name, lat, lon) of the village it slept at before its
    # first working day of this plan, after ``nights_used`` nights away in a row
    start_at: tuple | None = None
    nights_used: int = 0
    # a re-plan keeps the previous plan's trips that hold kept stops: ((first, last date), …)
    trips: tuple = ()
    # people one trip can record at most (None: no limit; a benchmark's vehicle capacity)
    capacity: int | None = None


@dataclass(frozen=True)
class SiteSpec:
    code: str
    name: str
    kecamatan: str
    lat: float
    lon: float
    access: str
    unrecorded: int
    expected: int
    kind: str = "village"
    minutes_per_person: float | None = None
    open_time: str | None = None
    close_time: str | None = None
    no_signal: bool = False
    pooled: tuple = ()  # ({"code","name","expected"[,"unrecorded"]}, ...)
    # fixed service minutes at this site, whatever the team and the people (None: setup +
    # people × minutes per person ÷ kits); a visit with a fixed service is never cut short
    service_min: int | None = None


@dataclass(frozen=True)
class Lock:
    site_code: str
    date: dt.date
    team: str               # "" = whichever team
    expected: int | None = None  # the people this visit keeps (a re-plan keeps its size)


def _travel_params_default():
    from planner.travel import TravelParams

    return TravelParams()


@dataclass(frozen=True)
class PlanRequest:
    teams: tuple
    start_date: dt.date
    days: int
    work_start: str = "08:00"
    work_end: str = "16:00"
    holidays: tuple = ()
    skip_weekends: bool = True
    turnout: float = 0.6
    turnout_overrides: dict = field(default_factory=dict)
    below: float | None = None
    min_unrecorded: int = 0
    must_visit: tuple = ()
    exclude: tuple = ()
    extra_sites: tuple = ()
    locks: tuple = ()
    # soft: where a stop was before a re-plan (site, date, team); moving it to another team or
    # day, or dropping it, costs ``churn_penalty_min`` minutes of travel in the objective
    prefer: tuple = ()
    churn_penalty_min: float = 240.0
    pooling: Any = None
    person_value_min: float = 30.0
    travel: Any = field(default_factory=_travel_params_default)
    split_fraction: float = SPLIT_FRACTION
    dataset: str = ""
    base_name: str | None = None
    # the soft balance bound (people per trip above fair share + 25 % cost 1 each); off for
    # benchmark instances whose objective is prize or distance alone
    balance: bool = True


# --------------------------------------------------------------------------- helpers
def hhmm_to_min(s: str) -> int:
    try:
        h, m = str(s).strip().split(":")
        v = int(h) * 60 + int(m)
    except (ValueError, AttributeError) as exc:
        raise PlanInputError(f"Jam tidak sah: {s!r} (pakai HH:MM)") from exc
    if not 0 <= v <= 24 * 60:
        raise PlanInputError(f"Jam tidak sah: {s!r}")
    return v


def min_to_hhmm(v: int) -> str:
    v = int(v) % 1440
    return f"{v // 60:02d}:{v % 60:02d}"


def clock(v: int) -> str:
    """Minutes → ``HH:MM`` without wrapping at midnight (a benchmark instance's clock runs in
    its file's units and may pass 24:00; ``planner.engine.validate`` reads it back)."""
    v = int(v)
    return f"{v // 60:02d}:{v % 60:02d}"


def working_dates(start: dt.date, days: int, holidays=(), skip_weekends=True) -> list[dt.date]:
    if days < 1:
        raise PlanInputError("Jumlah hari kerja minimal 1.")
    if days > 366:
        raise PlanInputError("Jumlah hari kerja paling banyak 366.")
    hol = {d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)) for d in holidays}
    out = []
    d = start
    while len(out) < days:
        if not (skip_weekends and d.weekday() >= 5) and d not in hol:
            out.append(d)
        d += dt.timedelta(days=1)
    return out


def _as_date(d) -> dt.date:
    return d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))


def _finite_list(a, digits: int) -> list:
    """Nested list with ``None`` for inf/nan (unreachable legs), JSON-safe."""
    arr = np.asarray(a, dtype=float)
    out = np.round(arr, digits).astype(object)
    out[~np.isfinite(arr)] = None
    return out.tolist()


# --------------------------------------------------------------------------- instance
@dataclass(frozen=True)
class Visit:
    site: int            # index into Instance.sites
    copy: int            # 0.. within the site
    n_copies: int
    expected: int
    service: tuple       # service minutes per team (same order as Instance.teams)
    value: int           # penalty when dropped (solver units)
    must: bool = False


@dataclass(frozen=True)
class Instance:
    """Everything the solver sees. Frozen; ``to_dict()`` is the export (JSON-able)."""

    request: PlanRequest
    teams: tuple          # TeamSpec
    sites: tuple          # SiteSpec
    visits: tuple         # Visit
    dates: tuple          # working dates (dt.date)
    team_dates: tuple     # per team: tuple of its working dates
    work_start: int       # minutes of day
    work_end: int
    points: pd.DataFrame  # lat, lon, access, code, name, kind (bases, trip starts, then sites)
    base_points: tuple    # per team: point index of its base
    site_points: tuple    # per site: point index
    matrices: dict        # mode -> Matrices
    locks: tuple          # Lock
    value_scale: int      # solver units per travel minute (for costs)
    prefer: tuple = ()    # Lock-shaped soft preferences (see PlanRequest.prefer)
    start_points: tuple = ()  # per team: point index where its first day starts (None = base)

    # ------------------------------------------------------------------ helpers
    def day_offset(self, d: dt.date) -> int:
        return (d - self.request.start_date).days

    def to_dict(self) -> dict:
        return self._as_dict(arrays=False)

    def check_view(self) -> dict:
        """``to_dict()`` with the matrices as numpy arrays (indexable the same way, no lists of
        millions of numbers): what the engine hands the validator for its own check."""
        return self._as_dict(arrays=True)

    def _as_dict(self, arrays: bool) -> dict:
        r = self.request
        mats = {}
        for mode, m in self.matrices.items():
            if arrays:
                mats[mode] = {
                    "minutes": np.asarray(m.minutes).astype(np.int64),
                    "km": np.where(np.isfinite(m.km), np.round(np.asarray(m.km, dtype=float), 3),
                                   0.0),
                    "cost_rp": np.where(np.isfinite(m.cost_rp),
                                        np.round(np.asarray(m.cost_rp, dtype=float), 0), 0.0),
                    "mode": np.asarray(m.mode).astype(np.int64),
                }
                continue
            mats[mode] = {
                "minutes": np.asarray(m.minutes).astype(int).tolist(),
                "km": _finite_list(m.km, 3),
                "cost_rp": _finite_list(m.cost_rp, 0),
                "mode": np.asarray(m.mode).astype(int).tolist(),
            }
        pts = []
        for i, row in enumerate(self.points.itertuples(index=False)):
            pts.append({"index": i, "code": row.code, "name": row.name, "kind": row.kind,
                        "lat": float(row.lat), "lon": float(row.lon), "access": row.access})
        travel_d = r.travel.to_dict()
        return {
            "format": "jemput-bola-instance/1",
            "dataset": r.dataset,
            "params": self.params_dict(),
            "calendar": {"dates": [d.isoformat() for d in self.dates],
                         "work_start": clock(self.work_start),
                         "work_end": clock(self.work_end)},
            "teams": [{"name": t.name, "mode": t.mode, "kits": t.kits,
                       "minutes_per_person": t.minutes_per_person, "setup_min": t.setup_min,
                       "max_nights": t.max_nights, "capacity": t.capacity,
                       "base": {"name": t.base[0], "lat": float(t.base[1]), "lon": float(t.base[2])},
                       "base_point": int(self.base_points[k]),
                       "start_point": (int(self.start_points[k])
                                       if self.start_points and self.start_points[k] is not None
                                       else None),
                       "nights_used": int(t.nights_used),
                       "trips": [[_as_date(a).isoformat(), _as_date(b).isoformat()]
                                 for a, b in t.trips],
                       "dates": [d.isoformat() for d in self.team_dates[k]]}
                      for k, t in enumerate(self.teams)],
            "sites": [{"code": s.code, "name": s.name, "kecamatan": s.kecamatan, "kind": s.kind,
                       "lat": s.lat, "lon": s.lon, "access": s.access,
                       "unrecorded": s.unrecorded, "expected": s.expected,
                       # a pooled host's unrecorded already includes its pooled neighbours'
                       "max_people": s.unrecorded,
                       "minutes_per_person": s.minutes_per_person, "open_time": s.open_time,
                       "close_time": s.close_time, "no_signal": s.no_signal,
                       "service_min": s.service_min,
                       "pooled": [dict(p) for p in s.pooled],
                       "point": int(self.site_points[k])}
                      for k, s in enumerate(self.sites)],
            "visits": [{"site_code": self.sites[v.site].code, "copy": v.copy,
                        "n_copies": v.n_copies, "expected": v.expected,
                        "service_min": {self.teams[k].name: int(m) for k, m in enumerate(v.service)},
                        "value": v.value, "must_visit": v.must}
                       for v in self.visits],
            "points": pts,
            "matrices": mats,
            "travel": travel_d,
            "locks": [{"site_code": lk.site_code, "date": lk.date.isoformat(), "team": lk.team}
                      for lk in self.locks],
        }

    def params_dict(self) -> dict:
        """The request as ``plan-params/1`` (``planner.params``) — the one parameter format."""
        return params_from_request(self.request).to_dict()

    def fingerprint(self) -> str:
        """Stable hash of what the solver sees (sites, expected, teams, calendar, travel)."""
        h = hashlib.sha256()
        h.update(json.dumps(self.params_dict(), sort_keys=True, default=str).encode())
        for s in self.sites:
            h.update(f"{s.code}|{s.expected}|{s.unrecorded}|{s.lat:.6f}|{s.lon:.6f}|{s.access}".encode())
        for m in self.matrices.values():
            h.update(np.ascontiguousarray(np.asarray(m.minutes, dtype=np.int64)).tobytes())
        return h.hexdigest()


# --------------------------------------------------------------------------- building
def _check_request(req: PlanRequest) -> None:
    if not req.teams:
        raise PlanInputError("Tidak ada tim: tambahkan minimal satu tim.")
    names = [t.name for t in req.teams]
    if len(set(names)) != len(names):
        raise PlanInputError("Nama tim harus berbeda satu sama lain.")
    for t in req.teams:
        if t.mode not in MODES:
            raise PlanInputError(f"Moda tim {t.name} tidak dikenal: {t.mode!r} (road/river/both).")
        if int(t.kits) < 1:
            raise PlanInputError(f"Tim {t.name}: jumlah alat rekam minimal 1.")
        if not t.minutes_per_person or float(t.minutes_per_person) <= 0:
            raise PlanInputError(f"Tim {t.name}: menit per orang harus positif.")
        if int(t.max_nights) < 0:
            raise PlanInputError(f"Tim {t.name}: jumlah malam tidak boleh negatif.")
        try:
            lat, lon = float(t.base[1]), float(t.base[2])
        except (TypeError, ValueError, IndexError) as exc:
            raise PlanInputError(f"Tim {t.name}: basis tidak sah.") from exc
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise PlanInputError(f"Tim {t.name}: koordinat basis di luar jangkauan.")
    if not 0 < float(req.turnout) <= 1:
        raise PlanInputError("Turnout harus di antara 0 dan 1.")
    ws, we = hhmm_to_min(req.work_start), hhmm_to_min(req.work_end)
    if we - ws < 60:
        raise PlanInputError("Jam kerja terlalu pendek (minimal satu jam).")


def select_sites(frame: pd.DataFrame, req: PlanRequest) -> list[SiteSpec]:
    from planner.ranking import add_measures

    locked = {lk.site_code for lk in req.locks}
    extra_codes = {s.code for s in req.extra_sites}
    sites: list[SiteSpec] = []
    if frame is not None and len(frame):
        m = add_measures(pd.DataFrame(frame.drop(columns=["geometry"], errors="ignore")))
        must = set(map(str, req.must_visit))
        excl = set(map(str, req.exclude))
        keep = m["unrecorded"] > 0
        if req.below is not None:
            keep &= m["rate"] < float(req.below)
        if req.min_unrecorded:
            keep &= m["unrecorded"] >= int(req.min_unrecorded)
        keep |= m["code"].astype(str).isin(must | locked) & (m["unrecorded"] > 0)
        keep &= ~m["code"].astype(str).isin(excl - locked)
        keep &= ~m["code"].astype(str).isin(extra_codes)
        m = m[keep].sort_values("code")
        for r in m.to_dict("records"):
            code = str(r["code"])
            unrec = int(r["unrecorded"])
            turnout = float(req.turnout_overrides.get(code, req.turnout))
            exp = max(1, min(unrec, int(round(unrec * turnout))))
            lat, lon = r.get("stop_lat"), r.get("stop_lon")
            if lat is None or lon is None or pd.isna(lat) or pd.isna(lon):
                raise PlanInputError(f"Desa {r.get('name')} ({code}) tidak punya titik singgah.")
            access = str(r.get("access") or "road")
            if access not in MODES:
                access = "road"
            sites.append(SiteSpec(code=code, name=str(r["name"]), kecamatan=str(r.get("kecamatan") or ""),
                                  lat=float(lat), lon=float(lon), access=access, unrecorded=unrec,
                                  expected=exp, no_signal=bool(r.get("no_signal") or False)))
    for s in req.extra_sites:
        if s.kind not in KINDS:
            raise PlanInputError(f"Jenis lokasi tidak dikenal: {s.kind!r}")
        if s.expected < 1:
            raise PlanInputError(f"Lokasi {s.name}: perkiraan orang minimal 1.")
        sites.append(s)
    codes = [s.code for s in sites]
    if len(set(codes)) != len(codes):
        raise PlanInputError("Kode lokasi ganda di antara desa dan lokasi tambahan.")
    missing = locked - set(codes)
    if missing:
        raise PlanInputError("Lokasi terkunci tidak ada di data (atau tidak punya warga belum rekam): "
                             + ", ".join(sorted(missing)))
    return sites


def _travel_source(req: PlanRequest, travel_source):
    if travel_source is not None:
        return travel_source
    from planner.travel import GreatCircleTravel

    return GreatCircleTravel(req.travel)


def build_instance(villages_frame: pd.DataFrame | None, request: PlanRequest,
                   travel_source=None) -> Instance:
    req = request
    _check_request(req)
    ws, we = hhmm_to_min(req.work_start), hhmm_to_min(req.work_end)
    dates = working_dates(req.start_date, int(req.days), req.holidays, req.skip_weekends)
    dset = set(dates)
    team_dates = []
    for t in req.teams:
        if t.available_dates is None:
            team_dates.append(tuple(dates))
        else:
            team_dates.append(tuple(sorted({_as_date(d) for d in t.available_dates} & dset)))

    sites = select_sites(villages_frame, req)
    if req.pooling is not None and sites:
        from .pooling import PoolingError, choose_collection_points

        p = req.pooling
        keep = {lk.site_code for lk in req.locks} | set(map(str, req.must_visit))
        try:
            sites = list(choose_collection_points(
                sites, radius_km=p.radius_km, decay=p.decay, turnout=float(req.turnout),
                keep=keep, min_host_expected=p.min_host_expected, stop_cost=p.stop_cost,
                no_signal_cost=p.no_signal_cost, method=p.method, time_limit=p.time_limit))
        except PoolingError as exc:
            raise PlanInputError(f"Titik kumpul: {exc}") from exc

    # points: bases then sites
    base_rows: list[dict] = []
    base_index: dict = {}
    base_points = []
    for t in req.teams:
        key = (round(float(t.base[1]), 6), round(float(t.base[2]), 6))
        if key not in base_index:
            base_index[key] = len(base_rows)
            base_rows.append({"lat": float(t.base[1]), "lon": float(t.base[2]), "access": "both",
                              "code": f"__base{len(base_rows)}", "name": str(t.base[0]),
                              "kind": "base"})
        base_points.append(base_index[key])
    # a team out on a trip wakes up at the village it slept at (kind "start", after the bases)
    start_points = []
    for t in req.teams:
        if t.start_at is None:
            start_points.append(None)
            continue
        code, name, lat, lon = t.start_at
        start_points.append(len(base_rows))
        base_rows.append({"lat": float(lat), "lon": float(lon), "access": "both",
                          "code": str(code), "name": str(name), "kind": "start"})
    rows = base_rows + [{"lat": s.lat, "lon": s.lon, "access": s.access, "code": s.code,
                         "name": s.name, "kind": s.kind} for s in sites]
    points = pd.DataFrame(rows, columns=["lat", "lon", "access", "code", "name", "kind"])
    site_points = tuple(range(len(base_rows), len(rows)))
    src = _travel_source(req, travel_source)
    matrices = {mode: src.matrices(points, mode) for mode in sorted({t.mode for t in req.teams})}

    # visits
    scale = 10  # solver units per travel minute
    work = we - ws
    must = set(map(str, req.must_visit))
    visits = []
    inf = 10**8
    for si, s in enumerate(sites):
        mpps = [float(s.minutes_per_person or t.minutes_per_person) for t in req.teams]
        p = site_points[si]
        # travel a team spends on the day of a visit: there and back for day trips, the way in
        # for teams that may sleep out; the smallest over the teams that can reach the site
        need = []
        for k, t in enumerate(req.teams):
            mm = matrices[t.mode].minutes
            to, back = int(mm[base_points[k], p]), int(mm[p, base_points[k]])
            if to >= inf or back >= inf:
                continue
            need.append(to + back if t.max_nights <= 0 else to)
        travel_day = min(need) if need else 0
        cap = min(max(1, int((work - t.setup_min) * t.kits / mpp)) for t, mpp in zip(req.teams, mpps, strict=True))
        avail = max(0.25 * work, work - travel_day)  # minutes left for recording that day
        cap_day = min(max(1, int((avail - t.setup_min) * t.kits / mpp)) for t, mpp in zip(req.teams, mpps, strict=True))
        chunk = max(1, min(int(cap * float(req.split_fraction)), int(cap_day * 0.95)))
        # locked visits with a size keep it (their own copies), and so do the stops of a
        # village a re-plan's previous plan split over several days (its preferences with a
        # size: the split is kept, so an unchanged re-plan changes nothing); the rest is split
        # as usual
        site_locks = [lk for lk in req.locks if lk.site_code == s.code]
        fixed = []
        for lk in site_locks + [pf for pf in req.prefer if pf.site_code == s.code]:
            if lk.expected and sum(fixed) < s.unrecorded:
                fixed.append(min(int(lk.expected), s.unrecorded - sum(fixed)))
        rest = max(0, s.expected - sum(fixed))
        n_locks = len(site_locks) - len(fixed)
        n = max(1, math.ceil(rest / chunk)) if rest else 0
        n = max(n, min(n_locks, rest))
        if not fixed and not n:
            n = 1
        sizes = list(fixed)
        if n:
            base_e, rem = divmod(rest, n)
            sizes += [base_e + (1 if k < rem else 0) for k in range(n)]
        sizes = [e for e in sizes if e > 0] or [max(1, s.expected)]
        n = len(sizes)
        for k, e in enumerate(sizes):
            service = tuple(int(s.service_min) if s.service_min is not None
                            else int(t.setup_min + math.ceil(e * mpp / t.kits))
                            for t, mpp in zip(req.teams, mpps, strict=True))
            weight = MUST_VISIT_WEIGHT if s.code in must else 1
            value = int(round(e * float(req.person_value_min) * scale * weight))
            visits.append(Visit(site=si, copy=k, n_copies=n, expected=e, service=service,
                                value=max(value, 1), must=s.code in must))

    locks = []
    names = {t.name for t in req.teams}
    for lk in req.locks:
        d = _as_date(lk.date)
        if lk.team and lk.team not in names:  # "" = whichever team
            raise PlanInputError(f"Kunci {lk.site_code}: tim {lk.team!r} tidak ada.")
        locks.append(Lock(site_code=str(lk.site_code), date=d, team=lk.team,
                          expected=int(lk.expected) if lk.expected else None))
    return Instance(request=req, teams=tuple(req.teams), sites=tuple(sites), visits=tuple(visits),
                    dates=tuple(dates), team_dates=tuple(team_dates), work_start=ws, work_end=we,
                    points=points, base_points=tuple(base_points), site_points=site_points,
                    matrices=matrices, locks=tuple(locks), value_scale=scale,
                    prefer=tuple(Lock(site_code=str(p.site_code), date=_as_date(p.date), team=p.team,
                                      expected=int(p.expected) if p.expected else None)
                                 for p in req.prefer if p.team in names),
                    start_points=tuple(start_points))


# --------------------------------------------------------------------------- params
def request_from_params(p, *, dataset: str = "") -> PlanRequest:
    """The engine's ``PlanRequest`` for checked ``planner.params.PlanParams``."""
    from planner.travel import TravelParams

    from .pooling import PoolingParams

    teams = tuple(TeamSpec(
        name=t.name, base=(t.base.name, float(t.base.lat), float(t.base.lon)), kits=int(t.kits),
        minutes_per_person=float(t.minutes_per_person), setup_min=int(t.setup_min),
        mode=t.mode, max_nights=int(t.max_nights),
        start_at=((t.start_at.code, t.start_at.name, float(t.start_at.lat), float(t.start_at.lon))
                  if t.start_at is not None else None),
        nights_used=int(t.nights_used),
        trips=tuple((_as_date(a), _as_date(b)) for a, b in t.trips),
        available_dates=(tuple(_as_date(d) for d in t.available_dates)
                         if t.available_dates is not None else None))
        for t in p.teams)
    c, s = p.calendar, p.selection
    pooling = None
    if p.pooling is not None:
        kw = {"radius_km": float(p.pooling.radius_km)}
        if p.pooling.decay is not None:
            kw["decay"] = float(p.pooling.decay)
        pooling = PoolingParams(**kw)
    extra = tuple(SiteSpec(**dict(site)) for site in p.extra_sites)
    return PlanRequest(
        teams=teams, start_date=_as_date(c.start_date), days=int(c.days),
        work_start=c.work_start, work_end=c.work_end,
        holidays=tuple(_as_date(h) for h in c.holidays), skip_weekends=bool(c.skip_weekends),
        turnout=float(s.turnout), turnout_overrides=dict(s.turnout_overrides), below=s.below,
        min_unrecorded=int(s.min_unrecorded), must_visit=tuple(s.must_visit),
        exclude=tuple(s.exclude), extra_sites=extra,
        locks=tuple(Lock(site_code=lk.site_code, date=_as_date(lk.date), team=lk.team,
                         expected=lk.expected) for lk in p.locks),
        prefer=tuple(Lock(site_code=lk.site_code, date=_as_date(lk.date), team=lk.team,
                          expected=lk.expected) for lk in p.prefer),
        churn_penalty_min=float(p.model.churn_penalty_min),
        pooling=pooling, person_value_min=float(p.model.person_value_min),
        travel=TravelParams(**dict(p.travel.settings)),
        split_fraction=float(p.model.split_fraction), dataset=dataset,
        base_name=teams[0].base[0] if teams else None)


def params_from_request(req: PlanRequest):
    """``planner.params.PlanParams`` describing an engine request (the reverse of
    :func:`request_from_params`; solver settings are the defaults until the solver sets them)."""
    from planner import params as P

    pooling = None
    if req.pooling is not None:
        pooling = {"radius_km": float(req.pooling.radius_km), "decay": float(req.pooling.decay)}
    travel = req.travel.to_dict()
    if not travel.get("piers"):
        travel.pop("piers", None)
    return P.build(
        teams=[P.team(t.name, {"name": str(t.base[0]), "lat": float(t.base[1]),
                               "lon": float(t.base[2])},
                      mode=t.mode, kits=int(t.kits), max_nights=int(t.max_nights),
                      minutes_per_person=float(t.minutes_per_person), setup_min=int(t.setup_min),
                      available_dates=([_as_date(d).isoformat() for d in t.available_dates]
                                       if t.available_dates is not None else None),
                      **({"start_at": {"code": str(t.start_at[0]), "name": str(t.start_at[1]),
                                       "lat": float(t.start_at[2]), "lon": float(t.start_at[3])},
                          "nights_used": int(t.nights_used)} if t.start_at is not None else {}),
                      **({"trips": [[_as_date(a).isoformat(), _as_date(b).isoformat()]
                                    for a, b in t.trips]} if t.trips else {}))
               for t in req.teams],
        start_date=_as_date(req.start_date), days=int(req.days), work_start=req.work_start,
        work_end=req.work_end, skip_weekends=bool(req.skip_weekends),
        holidays=[_as_date(h) for h in req.holidays], below=req.below,
        min_unrecorded=int(req.min_unrecorded), turnout=float(req.turnout),
        turnout_overrides={str(k): float(v) for k, v in dict(req.turnout_overrides).items()},
        must_visit=[str(c) for c in req.must_visit], exclude=[str(c) for c in req.exclude],
        locks=[{"site_code": str(lk.site_code), "date": _as_date(lk.date).isoformat(),
                "team": lk.team, **({"expected": int(lk.expected)} if lk.expected else {})}
               for lk in req.locks],
        prefer=[{"site_code": str(lk.site_code), "date": _as_date(lk.date).isoformat(),
                 "team": lk.team, **({"expected": int(lk.expected)} if lk.expected else {})}
                for lk in req.prefer],
        extra_sites=[_site_dict(s) for s in req.extra_sites], pooling=pooling,
        travel={"source": "builtin", "settings": travel},
        model={"person_value_min": float(req.person_value_min),
               "split_fraction": float(req.split_fraction),
               "churn_penalty_min": float(req.churn_penalty_min)})


def _site_dict(s: SiteSpec) -> dict:
    return {"code": s.code, "name": s.name, "kecamatan": s.kecamatan, "lat": float(s.lat),
            "lon": float(s.lon), "access": s.access, "kind": s.kind,
            "expected": int(s.expected), "unrecorded": int(s.unrecorded),
            "minutes_per_person": s.minutes_per_person, "open_time": s.open_time,
            "close_time": s.close_time, "no_signal": bool(s.no_signal)}
