"""``credlink audit``: check the audit log of bank calls.

verify [--anchor ID:HASH] [--json]

Registered in :mod:`serving.cli` as the ``audit`` group. ``verify`` walks
the hash chain of ``audit_log`` (:mod:`risk.audit_chain`) and checks that its append-only
triggers are in place; it prints the first broken link (the row and what differs) and exits
with status 1 when anything is wrong, 0 when the log is whole. It reads only: the store is
not migrated.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

import typer

from serving.cli.common import DatabaseOpt, JsonOpt, WorkDirOpt, err, out, print_json, settings_for

if TYPE_CHECKING:
    from risk.audit_chain import ChainReport

__all__ = ["audit_app", "parse_anchor"]

audit_app = typer.Typer(
    help="The append-only, hash-chained audit log of bank calls.", no_args_is_help=True
)

_ANCHOR = re.compile(r"^(\d+):([0-9a-f]{64})$")


def parse_anchor(text: str | None) -> tuple[int, str] | None:
    """``ID:HASH`` (a head printed by an earlier ``verify``) as ``(id, hash)``.

    Raises
    ------
    typer.BadParameter
        If ``text`` is not a row id, a colon and 64 hex digits.
    """
    if text is None:
        return None
    match = _ANCHOR.fullmatch(text.strip().lower())
    if match is None:
        raise typer.BadParameter(f"anchor must be ID:HASH (64 hex digits); got {text!r}")
    return int(match.group(1)), match.group(2)


@audit_app.command("verify")
def verify(
    anchor: Annotated[
        str | None,
        typer.Option(
            help="ID:HASH of a head kept from an earlier verify: that row must still be there "
            "with that hash (detects removed newest rows)."
        ),
    ] = None,
    as_json: JsonOpt = False,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Check every link of the audit chain and the append-only triggers; exit 1 if broken."""
    from sqlalchemy import inspect

    from risk.audit_chain import verify_chain
    from risk.store import open_engine

    expected = parse_anchor(anchor)
    engine = open_engine(settings_for(work_dir, database_url).store_url)
    try:
        found = inspect(engine)
        chained = found.has_table("audit_log") and "row_hash" in {
            c["name"] for c in found.get_columns("audit_log")
        }
        if not chained:
            err.print("audit_log has no hash chain: run `credlink db upgrade` first")
            raise typer.Exit(2)
        with engine.connect() as conn:
            report = verify_chain(conn, expected)
    finally:
        engine.dispose()
    if as_json:
        print_json(report.to_dict())
    else:
        _print(report)
    if not report.ok:
        raise typer.Exit(1)


def _print(report: ChainReport) -> None:
    head = (
        f"head: row {report.head_id} {report.head_hash}"
        if report.head_id is not None
        else "the log is empty"
    )
    if report.first_break is not None:
        err.print(
            f"[red]broken link at row {report.first_break.id}[/red]: {report.first_break.problem}"
            f" ({report.broken} of {report.rows} rows do not link)"
        )
    for problem in report.trigger_problems:
        err.print(f"[red]append-only trigger[/red]: {problem}")
    if report.anchor_problem is not None:
        err.print(f"[red]anchor[/red]: {report.anchor_problem}")
    if report.ok:
        out.print(f"audit log whole: {report.rows} rows chained, triggers in place; {head}")
    else:
        out.print(f"audit log NOT whole ({report.rows} rows read); {head}")
