"""What every ``credlink`` sub-command shares: consoles, common options, settings."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import Engine

from risk.store import migrate, open_engine
from serving.settings import Settings

__all__ = [
    "AsOfOpt",
    "DatabaseOpt",
    "JsonOpt",
    "WorkDirOpt",
    "err",
    "open_store",
    "out",
    "parse_date",
    "print_json",
    "settings_for",
]

out = Console()
if not out.is_terminal:  # piped or captured: wide enough for the summary tables
    out = Console(width=160)
err = Console(stderr=True)

DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL (default: CREDLINK_DATABASE_URL or "
        "the SQLite file in the work directory).",
    ),
]
WorkDirOpt = Annotated[
    Path | None, typer.Option("--work-dir", help="Work directory (default: CREDLINK_WORK_DIR).")
]


def settings_for(work_dir: Path | None = None, database_url: str | None = None) -> Settings:
    """Settings from the environment, with the command's --work-dir / --database-url on top."""
    overrides: dict[str, object] = {}
    if work_dir is not None:
        overrides["work_dir"] = work_dir
    if database_url is not None:
        overrides["database_url"] = database_url
    return Settings(**overrides)  # type: ignore[arg-type]


AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Date YYYY-MM-DD (default: today, UTC).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def parse_date(option: str, text: str | None) -> date:
    """Parse a date option (default: today, UTC) or fail with a usage error (exit 2)."""
    if text is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{option} must be a date YYYY-MM-DD; got {text!r}") from None


def open_store(settings: Settings) -> Engine:
    """The store's engine, migrated to the newest schema."""
    engine = open_engine(settings.store_url)
    migrate(engine)
    return engine


def print_json(payload: Any) -> None:
    """Write JSON (UTF-8, not ASCII-escaped) to standard output."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")
