"""network layers: imported roads, rivers and piers for travel along the real network

Revision ID: a7c3e91b5d20
Revises: f3a8d2c61b07
Create Date: 2026-11-30 16:00:00

One new table, ``network_layers`` (``planner.models.NetworkLayer``); nothing else changes.
"""
import sqlalchemy as sa
from alembic import op

revision = "a7c3e91b5d20"
down_revision = "f3a8d2c61b07"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "network_layers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source_file", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=True),
        sa.Column("feature_count", sa.Integer(), nullable=False),
        sa.Column("km", sa.Float(), nullable=False),
        sa.Column("geometry_wkb", sa.Text(), nullable=False),
        sa.Column("part_classes", sa.Text(), nullable=False),
        sa.Column("part_names", sa.Text(), nullable=True),
        sa.Column("classes", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_network_layers_kind", "network_layers", ["kind"])


def downgrade():
    op.drop_index("ix_network_layers_kind", table_name="network_layers")
    op.drop_table("network_layers")
