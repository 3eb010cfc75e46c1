"""hardening: hash-chained audit_log, loans keyed by (bank, loan_id), outcome_reports

- ``audit_log`` gains ``prev_hash`` and ``row_hash`` (:mod:`risk.audit_chain`). The columns
  are added with a plain ``ADD COLUMN``: a batch
  (table-recreating) migration on SQLite would drop the append-only triggers of 0003. Rows
  already in the log are chained here, in id order, with the triggers lifted for the
  duration of this one transaction and put back before it commits.
- ``loans``: the primary key becomes (bank, loan_id): loan ids are each bank's own. SQLite
  cannot alter a primary key, so the table is recreated (its rows and index kept).
- ``outcome_reports``: for each loan row reported through the API, the call and the
  authorized query it relied on.

The downgrade restores the single-column key, which fails if two banks now share a loan id.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from risk.audit_chain import CHAINED_COLUMNS, GENESIS_HASH, link_rows

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_MESSAGE = "audit_log is append-only"
# The triggers of 0003, as 0003 creates them (SQLite has no "disable": drop and recreate).
_SQLITE_TRIGGERS = {
    "audit_log_no_update": f"""
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END
    """,
    "audit_log_no_delete": f"""
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END
    """,
}


def _loans(key: tuple[str, ...]) -> sa.Table:
    return sa.Table(
        "loans",
        sa.MetaData(),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("bank", sa.String(length=200), nullable=False),
        sa.Column("applied", sa.Date(), nullable=False),
        sa.Column("approved_amount", sa.Float(), nullable=False),
        sa.Column("drawn_amount", sa.Float(), nullable=True),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint(*key),
        sa.Index("ix_loans_uscc", "uscc"),
    )


def _rekey_loans(key: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("loans", recreate="always", copy_from=_loans(key)):
            pass
        return
    op.drop_constraint("loans_pkey", "loans", type_="primary")
    op.create_primary_key("loans_pkey", "loans", list(key))


def _chain_existing_rows() -> None:
    """Chain the rows written before this revision, in id order."""
    bind = op.get_bind()
    log = sa.table(
        "audit_log",
        *(sa.column(name) for name in (*CHAINED_COLUMNS, "prev_hash", "row_hash")),
    )
    # Read through typed columns so that times and dates hash as the service writes them.
    typed = sa.Table("audit_log", sa.MetaData(), autoload_with=bind)
    rows = [dict(r) for r in bind.execute(sa.select(typed).order_by(typed.c.id)).mappings()]
    if not rows:
        return
    linked = link_rows(rows, [int(r["id"]) for r in rows], GENESIS_HASH)
    dialect = bind.dialect.name
    if dialect == "sqlite":
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    else:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
    update = (
        sa.update(log)
        .where(log.c.id == sa.bindparam("row_id"))
        .values(prev_hash=sa.bindparam("new_prev"), row_hash=sa.bindparam("new_hash"))
    )
    bind.execute(
        update,
        [
            {"row_id": r["id"], "new_prev": r["prev_hash"], "new_hash": r["row_hash"]}
            for r in linked
        ],
    )
    if dialect == "sqlite":
        for statement in _SQLITE_TRIGGERS.values():
            op.execute(statement)
    else:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("row_hash", sa.String(length=64), nullable=True))
    _chain_existing_rows()

    _rekey_loans(("bank", "loan_id"))

    op.create_table(
        "outcome_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("bank", sa.String(length=200), nullable=False),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_date", sa.Date(), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("authority_audit_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["authority_audit_id"], ["audit_log.id"]),
        sa.ForeignKeyConstraint(["batch_id"], ["ingest_batches.id"]),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outcome_reports_loan", "outcome_reports", ["bank", "loan_id"])
    op.create_index("ix_outcome_reports_request_id", "outcome_reports", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_outcome_reports_request_id", table_name="outcome_reports")
    op.drop_index("ix_outcome_reports_loan", table_name="outcome_reports")
    op.drop_table("outcome_reports")
    _rekey_loans(("loan_id",))
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch recreate would lose the triggers.
    op.execute("ALTER TABLE audit_log DROP COLUMN row_hash")
    op.execute("ALTER TABLE audit_log DROP COLUMN prev_hash")
