"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 08:35:52.227897
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enterprises",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("industry", sa.String(length=1), nullable=True),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("registered_capital", sa.Float(), nullable=True),
        sa.Column("founded", sa.Date(), nullable=False),
        sa.Column("closed", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("uscc"),
    )
    op.create_table(
        "financials",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("period", sa.String(length=6), nullable=False),
        sa.Column("tax_paid", sa.Float(), nullable=True),
        sa.Column("tax_grade", sa.String(length=32), nullable=True),
        sa.Column("insured_employees", sa.Integer(), nullable=True),
        sa.Column("utility_on_time", sa.Float(), nullable=True),
        sa.Column("procurement_amount", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("uscc", "period"),
    )
    op.create_table(
        "ingest_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("orphans", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "loans",
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("bank", sa.String(length=200), nullable=False),
        sa.Column("applied", sa.Date(), nullable=False),
        sa.Column("approved_amount", sa.Float(), nullable=False),
        sa.Column("drawn_amount", sa.Float(), nullable=True),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("loan_id"),
    )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index("ix_loans_uscc", ["uscc"], unique=False)

    op.create_table(
        "persons",
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("id_masked", sa.String(length=18), nullable=False),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "records",
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("subject_name", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=32), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=True),
        sa.Column("decided", sa.Date(), nullable=False),
        sa.Column("publicity_end", sa.Date(), nullable=True),
        sa.Column("repaired", sa.Date(), nullable=True),
        sa.Column("removed", sa.Date(), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("regime", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("record_id"),
    )
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index("ix_records_subject", ["subject_id"], unique=False)

    op.create_table(
        "roles",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("holder_type", sa.String(length=32), nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("share", sa.Float(), nullable=True),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("uscc", "holder_type", "holder_id", "role", "start"),
    )
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.create_index("ix_roles_holder", ["holder_id"], unique=False)

    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("column_name", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["ingest_batches.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantine_batch_id"), ["batch_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_batch_id"))

    op.drop_table("quarantine")
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.drop_index("ix_roles_holder")

    op.drop_table("roles")
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_subject")

    op.drop_table("records")
    op.drop_table("persons")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index("ix_loans_uscc")

    op.drop_table("loans")
    op.drop_table("ingest_batches")
    op.drop_table("financials")
    op.drop_table("enterprises")
