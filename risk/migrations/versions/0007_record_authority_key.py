"""records keyed by (record_id, authority): two authorities may issue the same 文号

A 文号 is unique within the authority that issued it, not across authorities: two county
bureaus' penalties numbered alike were one key before, and both were quarantined. The primary
key of ``records`` becomes (record_id, authority), record_id first so that lookups by 文号
keep their index; ``authority`` becomes NOT NULL. Every row is kept: a row stored without an
authority (the contract allowed an empty 处罚机关 cell before this revision) gets the empty
authority ``''``. Should its 文号 later arrive with the authority filled in, that is a row of
its own; the old one can be deleted then.

SQLite cannot alter a primary key, so the table is recreated (its rows and index kept); on
PostgreSQL the key constraint is replaced in place.

The downgrade restores the single-column key and the nullable authority (``''`` back to
NULL). It is refused (:class:`risk.exceptions.MigrationRefusedError`, nothing changed) while
two authorities share a 文号, naming how many 文号 collide: the old key cannot hold both
records, and choosing one to delete is the operator's decision.

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-11 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from risk.exceptions import MigrationRefusedError

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _records(key: tuple[str, ...], authority_nullable: bool) -> sa.Table:
    return sa.Table(
        "records",
        sa.MetaData(),
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("subject_name", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=32), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=authority_nullable),
        sa.Column("decided", sa.Date(), nullable=False),
        sa.Column("publicity_end", sa.Date(), nullable=True),
        sa.Column("repaired", sa.Date(), nullable=True),
        sa.Column("removed", sa.Date(), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("regime", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint(*key),
        sa.Index("ix_records_subject", "subject_id"),
    )


def _rekey(key: tuple[str, ...], authority_nullable: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        copy = _records(key, authority_nullable)
        with op.batch_alter_table("records", recreate="always", copy_from=copy):
            pass
        return
    op.drop_constraint("records_pkey", "records", type_="primary")
    op.alter_column(
        "records", "authority", existing_type=sa.String(length=200), nullable=authority_nullable
    )
    op.create_primary_key("records_pkey", "records", list(key))


def upgrade() -> None:
    op.execute("UPDATE records SET authority = '' WHERE authority IS NULL")
    _rekey(("record_id", "authority"), authority_nullable=False)


def downgrade() -> None:
    shared = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM records "
                "GROUP BY record_id HAVING count(*) > 1) AS shared"
            )
        )
        .one()
    )
    if shared[0]:
        raise MigrationRefusedError(
            f"downgrade below revision 0007 refused: {shared[0]} 文号 (record_id) are shared by "
            f"two or more authorities ({shared[1]} records), which the single-column key of "
            "revision 0006 cannot hold; delete or renumber those records first (SELECT "
            "record_id FROM records GROUP BY record_id HAVING count(*) > 1). Nothing was changed."
        )
    _rekey(("record_id",), authority_nullable=True)
    op.execute("UPDATE records SET authority = NULL WHERE authority = ''")
