"""score sets: versioned, immutable scores, the current pointer, deltas and the event log

``score_sets`` describes each set the batch pipeline wrote (as-of date, config digest, model
versions, counts, status); ``score_pointer`` names the current one and how far into its live
deltas readers go; ``score_risk``, ``score_grades``, ``score_warnings``, ``score_learned`` and
``score_assessments`` hold one row per enterprise, set and delta (``seq`` 0 for the batch
rows); ``score_events`` every change an enterprise underwent (DESIGN.md §6).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_KINDS: dict[str, list[sa.Column]] = {
    "risk": [
        sa.Column("own_signal", sa.Float(), nullable=False),
        sa.Column("linked_risk", sa.Float(), nullable=False),
        sa.Column("linked_risk_excluding_self", sa.Float(), nullable=False),
        sa.Column("band", sa.String(length=8), nullable=True),
    ],
    "grades": [
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("grade_bank", sa.String(length=1), nullable=False),
        sa.Column("reason_bank", sa.Text(), nullable=False),
        sa.Column("serious_listed", sa.Boolean(), nullable=False),
        sa.Column("warning_level", sa.String(length=8), nullable=True),
    ],
    "warnings": [
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("warning_ids", sa.JSON(), nullable=False),
    ],
    "learned": [sa.Column("probability", sa.Float(), nullable=False)],
    "assessments": [
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("pd", sa.Float(), nullable=True),
        sa.Column("pd_band", sa.String(length=8), nullable=True),
        sa.Column("limit_amount", sa.Float(), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
    ],
}


def upgrade() -> None:
    op.create_table(
        "score_sets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("config_digest", sa.String(length=64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("model_versions", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("source_batch", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_score_sets_status", "score_sets", ["status"], unique=False)
    op.create_table(
        "score_pointer",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("switched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["set_id"], ["score_sets.id"]),
        sa.PrimaryKeyConstraint("name"),
    )
    for kind, columns in _KINDS.items():
        op.create_table(
            f"score_{kind}",
            sa.Column("set_id", sa.Integer(), nullable=False),
            sa.Column("subject_id", sa.String(length=64), nullable=False),
            sa.Column("seq", sa.Integer(), nullable=False),
            *columns,
            sa.ForeignKeyConstraint(["set_id"], ["score_sets.id"]),
            sa.PrimaryKeyConstraint("set_id", "subject_id", "seq"),
        )
    op.create_table(
        "score_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("cause", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_score_events_subject_id_id", "score_events", ["subject_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_score_events_subject_id_id", table_name="score_events")
    op.drop_table("score_events")
    for kind in reversed(list(_KINDS)):
        op.drop_table(f"score_{kind}")
    op.drop_table("score_pointer")
    op.drop_index("ix_score_sets_status", table_name="score_sets")
    op.drop_table("score_sets")
