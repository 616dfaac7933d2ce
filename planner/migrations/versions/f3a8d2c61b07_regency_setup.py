"""a real regency set up in the app: village attributes, bases with vehicles, the team roster,
office settings, the active dataset, archived plans and bases

Revision ID: f3a8d2c61b07
Revises: e2b7c4d9a1f0
Create Date: 2026-11-30 15:00:00

Existing villages keep their access and signal; ``access_source`` becomes "file" where an import
already set something other than the default "road" (the demo's river villages), so the set-up
checklist counts them as checked. The newest dataset becomes the active one.
"""
import sqlalchemy as sa
from alembic import op

revision = "f3a8d2c61b07"
down_revision = "e2b7c4d9a1f0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("villages") as batch:
        batch.add_column(sa.Column("access_source", sa.String(length=20), nullable=False,
                                   server_default="default"))
        batch.add_column(sa.Column("lodging", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("stop_manual", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("attributes_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("attributes_by", sa.String(length=120), nullable=True))
    op.execute("UPDATE villages SET access_source = 'file' WHERE access <> 'road' OR no_signal")
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.execute("UPDATE datasets SET active = (id = (SELECT MAX(id) FROM datasets))")
    with op.batch_alter_table("team_bases") as batch:
        batch.add_column(sa.Column("vehicles", sa.String(length=10), nullable=False,
                                   server_default="car"))
        batch.add_column(sa.Column("archived", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("archived", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("leader", sa.String(length=120), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("members", sa.Text(), nullable=True),
        sa.Column("vehicle", sa.String(length=10), nullable=False),
        sa.Column("kits", sa.Integer(), nullable=False),
        sa.Column("base_id", sa.Integer(), nullable=True),
        sa.Column("max_nights", sa.Integer(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["base_id"], ["team_bases.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_teams_name", "teams", ["name"])
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade():
    op.drop_table("settings")
    op.drop_index("ix_teams_name", table_name="teams")
    op.drop_table("teams")
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("archived")
    with op.batch_alter_table("team_bases") as batch:
        batch.drop_column("archived")
        batch.drop_column("vehicles")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("active")
    with op.batch_alter_table("villages") as batch:
        for column in ("attributes_by", "attributes_at", "stop_manual", "note", "lodging",
                       "access_source"):
            batch.drop_column(column)
