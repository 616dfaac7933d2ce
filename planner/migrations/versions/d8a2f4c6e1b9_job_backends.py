"""job backends and regencies: plan jobs remember which backend runs them (local runner or
Celery), their attempts, how many retries are left and the Celery task id; regencies, access
per regency, and the regency of villages, datasets, bases, teams, plans, jobs and network layers

Revision ID: d8a2f4c6e1b9
Revises: b5e8f1c3a9d4
Create Date: 2026-11-30 14:20:00

Every existing job is a ``local`` job on its first attempt with no retries left (the behaviour
it had). A database that already holds rows gets one default regency ("utama") owning all of
them; an empty one gets none (the first regency is made when a second one is added:
planner.regencies).
"""
import sqlalchemy as sa
from alembic import op

revision = "d8a2f4c6e1b9"
down_revision = "b5e8f1c3a9d4"
branch_labels = None
depends_on = None


SCOPED = ("villages", "datasets", "team_bases", "teams", "plans", "plan_jobs", "network_layers")


def upgrade():
    with op.batch_alter_table("plan_jobs") as batch:
        batch.add_column(sa.Column("backend", sa.String(length=10), nullable=False,
                                   server_default="local"))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("retries_left", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("task_id", sa.String(length=155), nullable=True))
    op.create_index("ix_plan_jobs_status", "plan_jobs", ["status"])

    op.create_table(
        "regencies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("code", name="uq_regencies_code"),
    )
    op.create_table(
        "user_regencies",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("regency_id", sa.Integer(), sa.ForeignKey("regencies.id", ondelete="CASCADE"),
                  primary_key=True),
    )
    for table in SCOPED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("regency_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(f"fk_{table}_regency_id", "regencies", ["regency_id"], ["id"],
                                     ondelete="CASCADE")
        op.create_index(f"ix_{table}_regency_id", table, ["regency_id"])

    conn = op.get_bind()
    has_rows = any(conn.execute(sa.text(f"SELECT EXISTS (SELECT 1 FROM {t})")).scalar()
                   for t in SCOPED)
    if has_rows:  # everything the installation had belongs to its one regency
        regencies = sa.table("regencies", sa.column("id", sa.Integer), sa.column("code"),
                             sa.column("name"), sa.column("is_default", sa.Boolean),
                             sa.column("created_at", sa.DateTime))
        conn.execute(regencies.insert().values(code="utama", name="Kabupaten utama",
                                               is_default=True, created_at=sa.func.now()))
        rid = conn.execute(sa.text("SELECT id FROM regencies WHERE code = 'utama'")).scalar()
        for t in SCOPED:
            conn.execute(sa.text(f"UPDATE {t} SET regency_id = :r"), {"r": rid})


def downgrade():
    for table in reversed(SCOPED):
        op.drop_index(f"ix_{table}_regency_id", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_regency_id", type_="foreignkey")
            batch.drop_column("regency_id")
    op.drop_table("user_regencies")
    op.drop_table("regencies")
    op.drop_index("ix_plan_jobs_status", table_name="plan_jobs")
    with op.batch_alter_table("plan_jobs") as batch:
        batch.drop_column("task_id")
        batch.drop_column("retries_left")
        batch.drop_column("attempts")
        batch.drop_column("backend")
