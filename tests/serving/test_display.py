"""One display time zone: Beijing time wherever a person reads a time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from serving.display import BEIJING, display_time
from serving.web.templating import templates


def test_times_are_shown_in_beijing_time_on_the_pages_and_the_command_line() -> None:
    utc = datetime(2026, 6, 30, 17, 5, 9, tzinfo=UTC)
    assert display_time(utc) == "2026-07-01 01:05"  # the next day in Beijing
    assert display_time(utc, seconds=True) == "2026-07-01 01:05:09"
    assert display_time(utc.replace(tzinfo=None)) == "2026-07-01 01:05"  # naive = UTC (store)
    new_york = utc.astimezone(timezone(timedelta(hours=-4)))
    assert display_time(new_york) == "2026-07-01 01:05"
    assert display_time(date(2026, 6, 30)) == "2026-06-30" and display_time(None) == "—"
    assert BEIJING.utcoffset(None) == timedelta(hours=8)
    assert templates().env.filters["when"](utc) == display_time(utc)  # the pages' filter
