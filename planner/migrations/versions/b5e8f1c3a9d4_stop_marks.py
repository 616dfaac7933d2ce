"""field operations that hold: stop marks (locked, announced, cancelled) and village flags
(must-visit, exclude)

Revision ID: b5e8f1c3a9d4
Revises: a7c3e91b5d20
Create Date: 2026-11-30 16:00:00

New tables only; existing plans have no marks (their ``locked`` stops stay locks in their
parameters).
"""
import sqlalchemy as sa
from alembic import op

revision = "b5e8f1c3a9d4"
down_revision = "a7c3e91b5d20"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stop_marks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("plan_id", sa.Integer(), sa.ForeignKey("plans.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("site_code", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.String(length=120), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("plan_id", "team", "date", "site_code", name="uq_stop_marks_stop"),
    )
    op.create_index("ix_stop_marks_plan_id", "stop_marks", ["plan_id"])
    op.create_table(
        "village_flags",
        sa.Column("village_code", sa.String(length=40), primary_key=True),
        sa.Column("flag", sa.String(length=10), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade():
    op.drop_table("village_flags")
    op.drop_index("ix_stop_marks_plan_id", table_name="stop_marks")
    op.drop_table("stop_marks")
