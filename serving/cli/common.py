"""What every ``credlink`` sub-command shares: consoles, common options, settings.

Importing the command line must stay cheap (``credlink --help`` in well under a second): this
module and every command module import only the standard library, typer and rich at module
level. The settings (which read the risk configuration), the store, pandas, the models and the
web stack are imported inside the functions that use them; type annotations that name them are
strings (``from __future__ import annotations``) resolved only by the type checker.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from risk.config import RiskConfig
    from serving.settings import Settings

__all__ = [
    "AsOfOpt",
    "DatabaseOpt",
    "JsonOpt",
    "WorkDirOpt",
    "cannot_train",
    "err",
    "mlflow_hint",
    "open_store",
    "or_exit",
    "out",
    "parse_date",
    "print_json",
    "risk_config_of",
    "scoring_store",
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
    from serving.settings import Settings

    overrides: dict[str, object] = {}
    if work_dir is not None:
        overrides["work_dir"] = work_dir
    if database_url is not None:
        overrides["database_url"] = database_url
    return Settings(**overrides)  # type: ignore[arg-type]


def risk_config_of(settings: Settings) -> RiskConfig:
    """The command's one :class:`~risk.config.RiskConfig` (``CREDLINK_RISK_CONFIG_FILE``).

    Raises
    ------
    typer.BadParameter
        If the file does not parse or holds settings the config refuses (exit 2).
    """
    try:
        return settings.risk_config()
    except (OSError, TypeError, ValueError) as exc:
        raise typer.BadParameter(f"CREDLINK_RISK_CONFIG_FILE: {exc}") from None


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
    from risk.store import migrate, open_engine

    engine = open_engine(settings.store_url)
    migrate(engine)
    return engine


def scoring_store(work_dir: Path | None, database_url: str | None) -> tuple[Engine, RiskConfig]:
    """A scoring command's migrated store and its one risk configuration (read first: a bad
    ``CREDLINK_RISK_CONFIG_FILE`` is a usage error before the store is touched)."""
    settings = settings_for(work_dir, database_url)
    risk = risk_config_of(settings)
    return open_store(settings), risk


def mlflow_hint(settings: Settings) -> str:
    """Where to look at the runs: the server's address, or how to open the work directory's
    store in MLflow's UI."""
    uri, _ = settings.mlflow_uris()
    if uri.startswith("sqlite:///"):
        return f"MLflow UI: mlflow ui --backend-store-uri {uri}  (then open http://127.0.0.1:5000)"
    return f"MLflow: {uri}"


def cannot_train(message: str) -> NoReturn:
    """One line on standard error saying why and what to do; exit 2 (bad input)."""
    from risk.identifiers import mask_id_numbers

    err.print(f"[red]cannot train:[/red] {mask_id_numbers(message)}", soft_wrap=True)
    raise typer.Exit(2)


def or_exit(train: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``train(*args, **kwargs)``, or one line when the data cannot train a model (too few
    loans or bads in a slice, a target that is not 0/1, unreadable dates) instead of a
    traceback."""
    from models.exceptions import TrainingDataError

    try:
        return train(*args, **kwargs)
    except TrainingDataError as error:
        text = str(error)
        if "must hold" in text and ("slice" in text or "sample" in text):
            text += (
                ": too few loans or bads to train and evaluate — train later, with more "
                "outcomes reported, or on a larger table"
            )
        cannot_train(text)


def print_json(payload: Any) -> None:
    """Write JSON (UTF-8, not ASCII-escaped) to standard output."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")
