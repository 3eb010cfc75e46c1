"""What an ingest reports: one :class:`FileSummary` per file (or sheet, or in-memory batch),
:class:`IngestSummary` over several with the 重错码 report on USCCs, and the ingest day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

__all__ = [
    "INGEST_ORDER",
    "USCC_ERROR_TARGET",
    "FileSummary",
    "IngestSummary",
    "ProgressCallback",
    "ingest_day",
]

#: Tables in dependency order: ingesting in this order reports only true orphans.
INGEST_ORDER = ("enterprises", "persons", "roles", "records", "financials", "loans")

#: 重错码率 target of the county plans: at most 0.01 % invalid or duplicate codes.
USCC_ERROR_TARGET = 0.0001

ProgressCallback = Callable[[str, int, int], None]

#: 北京时间 (UTC+8, no daylight saving time): the platforms' dates are Chinese calendar days.
_CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


def ingest_day() -> date:
    """Today in China Standard Time: the default day after which event dates are refused."""
    return datetime.now(_CHINA_STANDARD_TIME).date()


@dataclass
class FileSummary:
    """What happened to one file. ``read`` always equals the sum of the four outcomes."""

    source: str
    table: str
    status: str = "ok"  # ok | refused | failed
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    orphans: int = 0
    orphan_examples: list[str] = field(default_factory=list)
    uscc_read: int = 0
    uscc_invalid: int = 0
    uscc_duplicate: int = 0
    pilot_codes: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    blank_rows: int = 0  # fully empty lines: no data, not counted in read
    encoding: str | None = None
    message: str | None = None
    batch_id: int | None = None
    seconds: float = 0.0

    @property
    def reconciled(self) -> bool:
        return self.read == self.inserted + self.updated + self.unchanged + self.quarantined


@dataclass
class IngestSummary:
    """Totals over several files, and the 重错码 report on USCCs."""

    files: list[FileSummary]

    def total(self, name: str) -> int:
        return sum(int(getattr(f, name)) for f in self.files)

    @property
    def uscc_error_rate(self) -> float:
        read = self.total("uscc_read")
        bad = self.total("uscc_invalid") + self.total("uscc_duplicate")
        return bad / read if read else 0.0

    @property
    def ok(self) -> bool:
        return all(f.status == "ok" for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        counts = ("read", "inserted", "updated", "unchanged", "quarantined", "orphans")
        return {
            "files": [asdict(f) | {"reconciled": f.reconciled} for f in self.files],
            "totals": {name: self.total(name) for name in counts},
            "uscc_report": {
                "read": self.total("uscc_read"),
                "invalid": self.total("uscc_invalid"),
                "duplicate": self.total("uscc_duplicate"),
                "pilot_codes": self.total("pilot_codes"),
                "error_rate": self.uscc_error_rate,
                "target": USCC_ERROR_TARGET,
                "meets_target": self.uscc_error_rate <= USCC_ERROR_TARGET,
            },
            "ok": self.ok,
        }
