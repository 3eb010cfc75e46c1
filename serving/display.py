"""How people see times: Beijing time, everywhere a person reads one.

The store keeps UTC; the credit office's pages and the command line's tables show
:func:`display_time` in :data:`BEIJING` (UTC+8, no daylight saving). Machine-readable
outputs (``--json``, API bodies) keep ISO 8601 with their offset.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

__all__ = ["BEIJING", "display_time"]

BEIJING = timezone(timedelta(hours=8), "北京时间")
"""Asia/Shanghai as a fixed offset (China has no daylight saving)."""


def display_time(value: Any, *, seconds: bool = False) -> str:
    """A time as a person reads it: ``YYYY-MM-DD HH:MM`` Beijing time (naive = UTC, as the
    store keeps them); a date as ``YYYY-MM-DD``; ``—`` for none."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(BEIJING).strftime(
            "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
        )
    if isinstance(value, date):
        return value.isoformat()
    return "—" if value is None else str(value)
