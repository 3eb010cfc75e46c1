"""warnings and warning_events: repeat-violator warnings and their lifecycle history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 09:00:31.496518
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "warnings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("domains", sa.Text(), nullable=False),
        sa.Column("regulators", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["warnings.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("warnings", schema=None) as batch_op:
        batch_op.create_index("ix_warnings_updated_at", ["updated_at"], unique=False)
        batch_op.create_index("ix_warnings_uscc_rule", ["uscc", "rule"], unique=False)
        batch_op.create_index(
            "ux_warnings_open",
            ["uscc", "rule"],
            unique=True,
            sqlite_where=sa.text("status != 'closed'"),
            postgresql_where=sa.text("status != 'closed'"),
        )

    op.create_table(
        "warning_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("warning_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["warning_id"],
            ["warnings.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("warning_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_warning_events_warning_id"), ["warning_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("warning_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warning_events_warning_id"))

    op.drop_table("warning_events")
    with op.batch_alter_table("warnings", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_warnings_open",
            sqlite_where=sa.text("status != 'closed'"),
            postgresql_where=sa.text("status != 'closed'"),
        )
        batch_op.drop_index("ix_warnings_uscc_rule")
        batch_op.drop_index("ix_warnings_updated_at")

    op.drop_table("warnings")
