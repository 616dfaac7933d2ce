"""Database tables (SQLAlchemy 2 style, through Flask-SQLAlchemy).

The story of the data:

* ``Village``: the geography (one row per desa/kelurahan, keyed by Kemendagri code), replaced
  or updated by a boundaries import. Geometry is stored as GeoJSON text so SQLite and
  PostgreSQL behave alike.
* ``Dataset``: one recap import = one snapshot (its date and source file names).
* ``VillageStat``: the figures of a village in a dataset. Field results append new rows
  (``source='field'``); the newest row per village is the current figure; nothing is overwritten.
* ``TeamBase``: places teams start from (the office, kecamatan offices).
* ``Plan`` / ``PlanVersion``: a plan and its versions (a re-plan is a new version).
* ``PlanJob``: a solve running off the request thread, with its progress.
* ``VisitResult``: what a stop achieved in the field.
* ``User``: an account with one role (admin, coordinator, team_lead, viewer).
* ``AuditEvent``: who changed what, when (before/after for edits); append-only.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Village(db.Model):
    __tablename__ = "villages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    kecamatan: Mapped[str] = mapped_column(String(200), index=True)
    kecamatan_code: Mapped[str | None] = mapped_column(String(20))
    type: Mapped[str] = mapped_column(String(20), default="desa")  # desa | kelurahan
    geometry: Mapped[str | None] = mapped_column(Text)  # GeoJSON geometry, EPSG:4326
    stop_lat: Mapped[float] = mapped_column(Float)
    stop_lon: Mapped[float] = mapped_column(Float)
    access: Mapped[str] = mapped_column(String(10), default="road")  # road | river | both
    no_signal: Mapped[bool] = mapped_column(Boolean, default=False)
    # Village attributes (set by hand, by an attributes file or confirmed hints; a boundaries or
    # recap import never resets them once set): where access/signal came from, whether a team
    # can sleep there, a note, and whether the stop point was placed by hand.
    access_source: Mapped[str] = mapped_column(String(20), default="default",
                                               server_default="default")  # default|file|manual
    lodging: Mapped[str | None] = mapped_column(String(30))  # kecamatan_office|puskesmas|guest_house|other
    note: Mapped[str | None] = mapped_column(Text)
    stop_manual: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    attributes_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    attributes_by: Mapped[str | None] = mapped_column(String(120))
    source_file: Mapped[str | None] = mapped_column(String(300))
    fictional: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # The regency the row belongs to (planner.regencies; NULL: the default regency).
    regency_id: Mapped[int | None] = mapped_column(ForeignKey("regencies.id", ondelete="CASCADE"),
                                                   index=True)


class Dataset(db.Model):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    snapshot_date: Mapped[dt.date] = mapped_column(Date)
    recap_file: Mapped[str | None] = mapped_column(String(300))
    villages_file: Mapped[str | None] = mapped_column(String(300))
    fictional: Mapped[bool] = mapped_column(Boolean, default=False)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    basemap: Mapped[bool] = mapped_column(Boolean, default=True)  # OSM tiles layer on by default
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # The dataset the pages and new plans use (one at a time; the newest import by default).
    active: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The regency the row belongs to (planner.regencies; NULL: the default regency).
    regency_id: Mapped[int | None] = mapped_column(ForeignKey("regencies.id", ondelete="CASCADE"),
                                                   index=True)
    stats: Mapped[list[VillageStat]] = relationship(
        back_populates="dataset", cascade="all, delete-orphan"
    )


class VillageStat(db.Model):
    __tablename__ = "village_stats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    village_code: Mapped[str] = mapped_column(String(20), index=True)
    population: Mapped[int] = mapped_column(Integer)
    obliged: Mapped[int] = mapped_column(Integer)
    recorded: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20), default="recap")  # recap | field
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    dataset: Mapped[Dataset] = relationship(back_populates="stats")


class TeamBase(db.Model):
    __tablename__ = "team_bases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(20), default="office")  # office | kecamatan | other
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # Which vehicles start here: car, boat, or both (a pier town).
    vehicles: Mapped[str] = mapped_column(String(10), default="car", server_default="car")
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The regency the row belongs to (planner.regencies; NULL: the default regency).
    regency_id: Mapped[int | None] = mapped_column(ForeignKey("regencies.id", ondelete="CASCADE"),
                                                   index=True)


class Team(db.Model):
    """A team of the office's roster (kept, not retyped for every plan)."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    leader: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(40))
    members: Mapped[str | None] = mapped_column(Text)
    vehicle: Mapped[str] = mapped_column(String(10), default="car")  # car | boat | both
    kits: Mapped[int] = mapped_column(Integer, default=3)
    base_id: Mapped[int | None] = mapped_column(ForeignKey("team_bases.id", ondelete="SET NULL"))
    max_nights: Mapped[int] = mapped_column(Integer, default=0)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # The regency the row belongs to (planner.regencies; NULL: the default regency).
    regency_id: Mapped[int | None] = mapped_column(ForeignKey("regencies.id", ondelete="CASCADE"),
                                                   index=True)


class Setting(db.Model):
    """Office settings (travel model, public base URL…): one JSON value per key."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[dict | None] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(120))


class Plan(db.Model):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Bumped to revoke every share link of the plan (planner.web.share).
    share_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The regency the row belongs to (planner.regencies; NULL: the default regency).
    regency_id: Mapped[int | None] = mapped_column(ForeignKey("regencies.id", ondelete="CASCADE"),
                                                   index=True)
    versions: Mapped[list[PlanVersion]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PlanVersion.version"
    )


class PlanVersion(db.Model):
    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    params: Mapped[dict] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON)  # the plan JSON (see planner.engine.plan)
    replanned_from: Mapped[str | None] = mapped_column(String(10))  # date "YYYY-MM-DD"
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    plan: Mapped[Plan] = relationship(back_populates="versions")


class PlanJob(db.Model):
    __tablename__ = "plan_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)  # queued|running|done|failed
    params: Mapped[dict] = mapped_column(JSON)
    progress: Mapped[dict | None] = mapped_column(JSON)  # {"elapsed": s, "best": value, ...}
    error: Mapped[str | None] = mapped_column(Text)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("plan_versions.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The process running the job ("host:pid:start") and its last sign of life.
    worker: Mapped[str | None] = mapped_column(String(120))
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Who runs it (``local``: the web processes' runner; ``celery``: ``planner worker``), how
    # often it was started, how many more times a lost run is started again, and the Celery
    # task id of its current attempt (planner.jobs).
    backend: Mapped[str] = mapped_column(String(10), default="local", server_default="local")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retries_left: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    task_id: Mapped[str | None] = mapped_column(String(155))
    # The regency the row belongs to (planner.regencies; NULL: the default regency).
    regency_id: Mapped[int | None] = mapped_column(ForeignKey("regencies.id", ondelete="CASCADE"),
                                                   index=True)


class VisitResult(db.Model):
    __tablename__ = "visit_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_version_id: Mapped[int] = mapped_column(
        ForeignKey("plan_versions.id", ondelete="CASCADE"), index=True
    )
    team: Mapped[str] = mapped_column(String(100))
    date: Mapped[dt.date] = mapped_column(Date)
    site_code: Mapped[str] = mapped_column(String(40))
    actual_recorded: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(20))  # done | partly | not_reached
    reason: Mapped[str | None] = mapped_column(String(30))  # weather|boat|no_signal|equipment|absent
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class StopMark(db.Model):
    """What the office decided about one stop of a plan (any version: stops are matched by team,
    date and village): ``locked`` (keep it there on re-plans), ``announced`` (the village head
    has been told the date; also kept), ``cancelled`` (with a reason). ``team`` "" locks a
    village to a date for whichever team. Done/partly come from ``VisitResult`` reports."""

    __tablename__ = "stop_marks"
    __table_args__ = (UniqueConstraint("plan_id", "team", "date", "site_code",
                                       name="uq_stop_marks_stop"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    team: Mapped[str] = mapped_column(String(100), default="")
    date: Mapped[dt.date] = mapped_column(Date)
    site_code: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20))  # locked | announced | cancelled
    reason: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class VillageFlag(db.Model):
    """A village the office wants in every new plan (``must``) or in none (``exclude``); by
    Kemendagri code, so it survives a new boundary or recap import."""

    __tablename__ = "village_flags"

    village_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    flag: Mapped[str] = mapped_column(String(10))  # must | exclude
    updated_by: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


ROLES = ("admin", "coordinator", "team_lead", "viewer")


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="viewer")
    team: Mapped[str | None] = mapped_column(String(100))  # a team lead's team name
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change, role change or disabling: every older session ends.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(120))  # username, "cli:<os user>" or "system"
    action: Mapped[str] = mapped_column(String(60), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


class NetworkLayer(db.Model):
    """One imported network layer (``planner import-network``, ``planner.networks``): roads or
    rivers (lines) or piers (points), EPSG:4326. A regency may hold several layers of each kind;
    the routing graph is built from all of them together (``planner.network``).

    ``geometry_wkb``: the parts as hex WKB of one MultiLineString (roads, rivers) or MultiPoint
    (piers); ``part_classes``: JSON list with the class of each part (``ROAD_CLASSES`` /
    ``RIVER_CLASSES``; piers: ``pier``); ``part_names``: JSON list of names (or null);
    ``classes``: the import summary (lines and km per class, unrecognised values, what was
    skipped and why; ``planner.importer.network``)."""

    __tablename__ = "network_layers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), index=True)  # road | river | pier
    name: Mapped[str] = mapped_column(String(200))
    source_file: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(120))
    feature_count: Mapped[int] = mapped_column(Integer, default=0)
    km: Mapped[float] = mapped_column(Float, default=0.0)
    geometry_wkb: Mapped[str] = mapped_column(Text)
    part_classes: Mapped[str] = mapped_column(Text)
    # The regency the row belongs to (planner.regencies; NULL: the default regency).
    regency_id: Mapped[int | None] = mapped_column(ForeignKey("regencies.id", ondelete="CASCADE"),
                                                   index=True)
    part_names: Mapped[str | None] = mapped_column(Text)
    classes: Mapped[dict | None] = mapped_column(JSON)


class Regency(db.Model):
    """One regency of the installation (planner.regencies). ``is_default``: the one that owns
    the rows without a regency (what a single-regency office always had)."""

    __tablename__ = "regencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class UserRegency(db.Model):
    """Access of one (non-admin) account to one regency."""

    __tablename__ = "user_regencies"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    regency_id: Mapped[int] = mapped_column(ForeignKey("regencies.id", ondelete="CASCADE"),
                                            primary_key=True)
