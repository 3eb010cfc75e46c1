"""external parties and BODS 0.4 roles: share ranges, indirect interests, foreign ids

``external_parties`` gives the parties outside the Chinese registers a home (foreign companies,
trusts, state bodies keyed ``{scheme}-{id}``; persons known without a resident ID number);
``roles`` gains ``share_range`` (a share known only as a range, interval notation in percent)
and ``directness`` (a declared indirect interest), and its ``uscc`` widens to 64 characters so
an external party can be the enterprise a role is held in. Existing rows are kept as they are.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "external_parties",
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("party_type", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("entity_type", sa.String(length=32), nullable=True),
        sa.Column("scheme", sa.String(length=200), nullable=True),
        sa.Column("identifier", sa.String(length=64), nullable=True),
        sa.Column("identifier_hash", sa.String(length=64), nullable=True),
        sa.Column("jurisdiction", sa.String(length=8), nullable=True),
        sa.Column("founded", sa.Date(), nullable=True),
        sa.Column("closed", sa.Date(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("party_id"),
    )
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.alter_column(
            "uscc",
            existing_type=sa.String(length=18),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
        batch_op.add_column(sa.Column("share_range", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("directness", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.drop_column("directness")
        batch_op.drop_column("share_range")
        batch_op.alter_column(
            "uscc",
            existing_type=sa.String(length=64),
            type_=sa.String(length=18),
            existing_nullable=False,
        )
    op.drop_table("external_parties")
