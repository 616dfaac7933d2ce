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
    source_file: Mapped[str | None] = mapped_column(String(300))
    fictional: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


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


class Plan(db.Model):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Bumped to revoke every share link of the plan (planner.web.share).
    share_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
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
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|done|failed
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
