"""external parties and BODS 0.4 roles: share ranges, indirect interests, foreign ids

``external_parties`` gives the parties outside the Chinese registers a home (foreign companies,
trusts, state bodies keyed ``{scheme}-{id}``; persons known without a resident ID number);
``roles`` gains ``share_range`` (a share known only as a range, interval notation in percent)
and ``directness`` (``direct``, or ``indirect`` for a declared end of a chain), and its
``uscc`` widens to 64 characters so an external party can be the enterprise a role is held in.

``directness`` joins the primary key of ``roles``: BODS declares a holder's direct and
indirect interest in one enterprise from the same day, and both must be kept. Existing rows are
kept, each ``direct``. SQLite cannot alter a primary key, so the table is recreated (rows and
index kept); on PostgreSQL the key constraint is replaced in place.

The downgrade is refused while ``roles`` holds what revision 0007 cannot represent — a role
of or held by an external party, or a declared indirect interest (it would turn into a direct
edge) — naming how many and how to remove them; otherwise it restores 0007's table.

Revision ID: 0008
Revises: 0007
Create Date: 2027-01-12 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from risk.exceptions import MigrationRefusedError

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_KEY = ("uscc", "holder_type", "holder_id", "role", "start")


def _roles(upgraded: bool) -> sa.Table:
    """The roles table after this revision (``upgraded``) or as revision 0007 left it."""
    extra = (
        [
            sa.Column("share_range", sa.String(length=32), nullable=True),
            sa.Column("directness", sa.String(length=32), nullable=False, server_default="direct"),
        ]
        if upgraded
        else []
    )
    return sa.Table(
        "roles",
        sa.MetaData(),
        sa.Column("uscc", sa.String(length=64 if upgraded else 18), nullable=False),
        sa.Column("holder_type", sa.String(length=32), nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("share", sa.Float(), nullable=True),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        *extra,
        sa.PrimaryKeyConstraint(*_KEY, *(("directness",) if upgraded else ())),
        sa.Index("ix_roles_holder", "holder_id"),
    )


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
        batch_op.add_column(
            sa.Column("directness", sa.String(length=32), nullable=True, server_default="direct")
        )
    op.execute("UPDATE roles SET directness = 'direct' WHERE directness IS NULL")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("roles", recreate="always", copy_from=_roles(upgraded=True)):
            pass
        return
    op.drop_constraint("roles_pkey", "roles", type_="primary")
    op.alter_column("roles", "directness", existing_type=sa.String(length=32), nullable=False)
    op.create_primary_key("roles_pkey", "roles", [*_KEY, "directness"])


def _refuse_what_0007_cannot_hold() -> None:
    conn = op.get_bind()
    parties = "SELECT party_id FROM external_parties"
    external = conn.execute(
        sa.text(
            "SELECT count(*) FROM roles WHERE length(uscc) > 18 "
            f"OR uscc IN ({parties}) OR holder_id IN ({parties})"
        )
    ).scalar_one()
    indirect = conn.execute(
        sa.text("SELECT count(*) FROM roles WHERE directness = 'indirect'")
    ).scalar_one()
    if external or indirect:
        raise MigrationRefusedError(
            "downgrade below 0008 refused: roles holds "
            f"{external:,} role(s) of or held by an external party and {indirect:,} declared "
            "indirect interest(s), which revision 0007 cannot represent (an indirect interest "
            "would become a direct edge); delete them first: DELETE FROM roles WHERE "
            "directness = 'indirect' OR length(uscc) > 18 OR uscc IN (SELECT party_id FROM "
            "external_parties) OR "
            "holder_id IN (SELECT party_id FROM external_parties)"
        )


def downgrade() -> None:
    _refuse_what_0007_cannot_hold()
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("roles", recreate="always", copy_from=_roles(upgraded=False)):
            pass
    else:
        op.drop_constraint("roles_pkey", "roles", type_="primary")
        op.drop_column("roles", "directness")
        op.drop_column("roles", "share_range")
        op.alter_column(
            "roles",
            "uscc",
            existing_type=sa.String(length=64),
            type_=sa.String(length=18),
            existing_nullable=False,
        )
        op.create_primary_key("roles_pkey", "roles", list(_KEY))
    op.drop_table("external_parties")
