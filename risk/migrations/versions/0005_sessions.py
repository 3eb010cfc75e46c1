"""ui_sessions and login_failures: server-side web sessions and the login lockout

``ui_sessions`` records each login of the credit-office web pages (the SHA-256 of its session
id), so that logout and key revocation end it at once; ``login_failures`` the failed logins by
client address and key prefix, which every worker reads before it checks another key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ui_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ui_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ui_sessions_key_id"), ["key_id"], unique=False)
        batch_op.create_index("ux_ui_sessions_session_hash", ["session_hash"], unique=True)

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_login_failures_client_at", ["client", "at"], unique=False)
        batch_op.create_index("ix_login_failures_key_prefix_at", ["key_prefix", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_key_prefix_at")
        batch_op.drop_index("ix_login_failures_client_at")
    op.drop_table("login_failures")

    with op.batch_alter_table("ui_sessions", schema=None) as batch_op:
        batch_op.drop_index("ux_ui_sessions_session_hash")
        batch_op.drop_index(batch_op.f("ix_ui_sessions_key_id"))
    op.drop_table("ui_sessions")
