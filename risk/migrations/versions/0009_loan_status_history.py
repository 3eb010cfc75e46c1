"""loans keep their status history: the first date 90+ days overdue and the first default date

Only a loan's latest status was stored, so a loan 90+ days overdue in month 11 and recorded in
default in month 14 looked good at a 12-month horizon, and a cured loan looked as if it had
never been bad. ``loans`` gains ``overdue_90_date`` and ``default_date``, the *first* dates the
loan was reported in each state (an update never moves them later: :func:`risk.store.
earliest_date`). Existing rows are back-filled from what they show: a loan whose latest status
is ``overdue_90`` (or ``default``) was so on its ``status_date`` at the latest.

The downgrade is refused (:class:`risk.exceptions.MigrationRefusedError`, nothing changed)
while a loan holds a bad date its latest status does not show — a loan that went bad and was
cured, or went 90+ days overdue before its default: revision 0008 keeps the latest status
only, and the loan would silently count as good (or bad later) in every label.

Revision ID: 0009
Revises: 0008
Create Date: 2027-01-20 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from risk.exceptions import MigrationRefusedError

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("loans", sa.Column("overdue_90_date", sa.Date(), nullable=True))
    op.add_column("loans", sa.Column("default_date", sa.Date(), nullable=True))
    op.execute("UPDATE loans SET overdue_90_date = status_date WHERE status = 'overdue_90'")
    op.execute("UPDATE loans SET default_date = status_date WHERE status = 'default'")


def _refuse_what_0008_cannot_hold() -> None:
    lost = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT count(*) FROM loans WHERE "
                "(overdue_90_date IS NOT NULL AND NOT (status = 'overdue_90' "
                "AND overdue_90_date = status_date)) "
                "OR (default_date IS NOT NULL AND NOT (status = 'default' "
                "AND default_date = status_date))"
            )
        )
        .scalar_one()
    )
    if lost:
        raise MigrationRefusedError(
            f"downgrade below 0009 refused: {lost:,} loan(s) hold a first 90+-days-overdue or "
            "default date their latest status does not show (cured, or overdue before "
            "default); revision 0008 keeps the latest status only and would label them by it. "
            "Export the loans first, then clear the dates: UPDATE loans SET overdue_90_date = "
            "NULL, default_date = NULL"
        )


def downgrade() -> None:
    _refuse_what_0008_cannot_hold()
    # ALTER TABLE … DROP COLUMN in place (SQLite ≥ 3.35 and PostgreSQL): no table rebuild,
    # so a later revision's refused downgrade in the same run leaves nothing half done.
    for column in ("default_date", "overdue_90_date"):
        op.execute(f"ALTER TABLE loans DROP COLUMN {column}")
