"""What every ``credlink`` sub-command shares: consoles, common options, settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from serving.settings import Settings

__all__ = ["DatabaseOpt", "WorkDirOpt", "err", "out", "settings_for"]

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
