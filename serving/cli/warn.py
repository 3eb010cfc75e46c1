"""``credlink warn``: repeat-violator warnings, their lifecycle, the 通报 list and grades.

Registered in :mod:`serving.cli` as the ``warn`` group (with ``warn train`` from
:mod:`serving.cli.warn_model`). Every command
takes ``--database-url`` / ``--work-dir`` like the others and migrates the store first.
Usage errors (an unknown regulator, status, level or file type) exit 2; an illegal lifecycle
move or an unknown warning id exits 1. What the commands print and write never holds a raw
resident ID number, whatever the store holds (:func:`serving.redaction.without_id_numbers`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from serving.cli.common import (
    AsOfOpt,
    DatabaseOpt,
    JsonOpt,
    WorkDirOpt,
    err,
    open_store,
    out,
    parse_date,
    print_json,
    scoring_store,
    settings_for,
)
from serving.display import display_time

if TYPE_CHECKING:
    from risk.warnings import RunSummary

__all__ = ["summary_tables", "warn_app"]

warn_app = typer.Typer(
    help="Repeat-violator warnings (屡禁不止、屡罚不改 预警), 通报 lists and risk grades.",
    no_args_is_help=True,
)

_LEVEL_STYLE = {"red": "red", "orange": "dark_orange", "yellow": "yellow"}


def _cells(*cells: RenderableType) -> list[RenderableType]:
    """A table row as printed: resident ID numbers in its texts masked."""
    from serving.redaction import without_id_numbers

    return without_id_numbers(list(cells))


def _level_text(level: str) -> Text:
    from risk.rules import LEVEL_LABELS, Level

    return Text(LEVEL_LABELS[Level(level)], style=_LEVEL_STYLE.get(level, ""))


def summary_tables(summary: RunSummary) -> list[RenderableType]:
    """Tables of a run: hits by rule, by regulator and by level, and what was written."""
    from risk.contract import Domain, regulator_for
    from risk.rules import RULE_LABELS, Level, Rule

    by_rule = Table(title=f"预警 by rule (as of {summary.as_of})")
    by_rule.add_column("rule")
    by_rule.add_column("规则")
    by_rule.add_column("hits", justify="right")
    for rule in Rule:
        by_rule.add_row(rule.value, RULE_LABELS[rule], f"{summary.by_rule.get(rule.value, 0):,}")
    by_rule.add_row("all rules", "合计", f"{summary.hits:,}")

    by_regulator = Table(title="预警 by regulator")
    by_regulator.add_column("主管部门")
    by_regulator.add_column("domain")
    by_regulator.add_column("hits", justify="right")
    for domain in Domain:
        name = regulator_for(domain)
        if name in summary.by_regulator:
            by_regulator.add_row(name, domain.value, f"{summary.by_regulator[name]:,}")

    by_level = Table(title="预警 by level")
    by_level.add_column("level")
    by_level.add_column("hits", justify="right")
    for level in Level:
        by_level.add_row(_level_text(level.value), f"{summary.by_level.get(level.value, 0):,}")

    actions = Text(
        "A warning with several regulators counts once for each. Written: "
        f"created {summary.created:,}, updated {summary.updated:,}, unchanged "
        f"{summary.unchanged:,}, reopened {summary.reopened:,}, suppressed (closed, no new "
        f"evidence) {summary.suppressed:,}; {len(summary.stale):,} open warnings no longer "
        f"triggered; {summary.seconds:.1f} s"
    )
    return [by_rule, by_regulator, by_level, actions]


@warn_app.command("run")
def warn_run(
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Evaluate the rules on a date and upsert the warnings (reruns never duplicate)."""
    from risk.warnings import run_warnings

    day = parse_date("as-of", as_of)
    engine, risk = scoring_store(work_dir, database_url)
    with err.status(f"evaluating the warning rules as of {day} …"):
        summary = run_warnings(engine, day, risk)
    if as_json:
        print_json(summary.to_dict())
        return
    for renderable in summary_tables(summary):
        out.print(renderable)


def _bad(exc: ValueError) -> typer.BadParameter:
    return typer.BadParameter(str(exc))


@warn_app.command("list")
def warn_list(
    level: Annotated[str | None, typer.Option(help="red, orange or yellow.")] = None,
    rule: Annotated[
        str | None, typer.Option(help="A rule code, e.g. same_domain_frequent.")
    ] = None,
    domain: Annotated[str | None, typer.Option(help="A domain code, e.g. taxation.")] = None,
    regulator: Annotated[
        str | None, typer.Option(help="A regulator: Chinese name (税务局) or domain code.")
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="new, dispatched, acknowledged or closed.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Created or changed on or after YYYY-MM-DD (UTC).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonOpt = False,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """List warnings, red first then newest, with filters and pagination."""
    from risk.rules import RULE_LABELS
    from risk.warnings import STATUS_LABELS, list_warnings
    from serving.redaction import without_id_numbers

    since_day = parse_date("since", since) if since is not None else None
    engine = open_store(settings_for(work_dir, database_url))
    try:
        page = list_warnings(
            engine,
            level=level,
            rule=rule,
            domain=domain,
            regulator=regulator,
            status=status,
            since=since_day,
            limit=limit,
            offset=offset,
        )
    except ValueError as exc:
        raise _bad(exc) from None
    if as_json:
        print_json(without_id_numbers(page.to_dict()))
        return
    table = Table(title=f"warnings {offset + 1}–{offset + len(page.items)} of {page.total:,}")
    for name in ("id", "等级", "规则", "企业", "统一社会信用代码", "主管部门", "状态", "预警日期"):
        table.add_column(name, justify="right" if name == "id" else "left")
    for w in page.items:
        table.add_row(
            *_cells(
                str(w.id),
                _level_text(w.level.value),
                RULE_LABELS[w.rule],
                str(w.evidence.get("enterprise_name") or ""),
                w.uscc,
                "、".join(w.regulators),
                STATUS_LABELS[w.status],
                w.as_of.isoformat(),
            )
        )
    out.print(table)


@warn_app.command("show")
def warn_show(
    warning_id: Annotated[int, typer.Argument(help="The warning id.")],
    as_json: JsonOpt = False,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Show one warning: its evidence and its history."""
    from risk.contract import zh_label
    from risk.exceptions import UnknownWarningError
    from risk.rules import RULE_LABELS
    from risk.warnings import STATUS_LABELS, get_warning, warning_events
    from serving.redaction import without_id_numbers

    engine = open_store(settings_for(work_dir, database_url))
    try:
        warning = get_warning(engine, warning_id)
    except UnknownWarningError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    events = warning_events(engine, warning_id)
    if as_json:
        print_json(
            without_id_numbers({**warning.to_dict(), "events": [e.to_dict() for e in events]})
        )
        return
    evidence = without_id_numbers(warning.evidence)
    out.print(
        without_id_numbers(
            f"#{warning.id} {evidence.get('enterprise_name') or ''}（{warning.uscc}） "
            f"{RULE_LABELS[warning.rule]} "
        ),
        _level_text(warning.level.value),
        f" {STATUS_LABELS[warning.status]}，预警日期 {warning.as_of}",
    )
    out.print(
        f"涉及领域：{'、'.join(zh_label(d) for d in warning.domains)}；"
        f"主管部门：{'、'.join(warning.regulators)}"
    )
    if evidence.get("summary"):
        out.print(f"摘要：{evidence['summary']}")
    out.print(without_id_numbers(f"证据(决定书文号)：{'；'.join(warning.record_ids)}"))
    for path in [*evidence.get("sources", ()), *evidence.get("paths", ())]:
        out.print(f"  · {path.get('path') or path.get('sentence')}")
    history = Table(title="history")
    for name in ("at", "from", "to", "actor", "note"):
        history.add_column(name)
    for e in events:
        history.add_row(
            *_cells(
                display_time(e.at, seconds=True),
                e.from_status.value if e.from_status else "",
                e.to_status.value,
                e.actor,
                e.note or "",
            )
        )
    out.print(history)


@warn_app.command("export")
def warn_export(
    regulator: Annotated[
        str, typer.Option(help="Chinese name (税务局) or domain code (taxation).")
    ],
    out_file: Annotated[Path, typer.Option("--out", help="File to write: .csv or .xlsx.")],
    status: Annotated[
        list[str] | None,
        typer.Option(help="Statuses to include (repeatable; default: the open ones)."),
    ] = None,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Write one regulator's 通报 list with Chinese headers (CSV for Excel, or XLSX).

    Spreadsheet-safe (:mod:`risk.spreadsheets`): no cell is ever evaluated as a formula.
    """
    from risk.spreadsheets import write_spreadsheet
    from risk.warnings import notice_frame

    suffix = out_file.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise typer.BadParameter(f"out must end in .csv or .xlsx; got {str(out_file)!r}")
    engine = open_store(settings_for(work_dir, database_url))
    try:
        frame = notice_frame(engine, regulator, status=status or None)
    except ValueError as exc:
        raise _bad(exc) from None
    write_spreadsheet(frame, out_file, sheet_name="预警通报")
    out.print(f"wrote {len(frame):,} warnings for {regulator} to {out_file}")


@warn_app.command("transition")
def warn_transition(
    warning_id: Annotated[int, typer.Argument(help="The warning id.")],
    status: Annotated[str, typer.Argument(help="dispatched, acknowledged or closed.")],
    actor: Annotated[str, typer.Option(help="Who makes the move.")],
    note: Annotated[str | None, typer.Option(help="Why (required to close).")] = None,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Move a warning along new → dispatched → acknowledged → closed (new → closed dismisses)."""
    from risk.exceptions import IllegalTransitionError, UnknownWarningError
    from risk.warnings import STATUS_LABELS, WarningStatus, transition

    if status not in WarningStatus.__members__:
        raise typer.BadParameter(
            f"status must be one of {', '.join(WarningStatus)}; got {status!r}"
        )
    engine = open_store(settings_for(work_dir, database_url))
    try:
        warning = transition(engine, warning_id, status, actor, note)
    except (IllegalTransitionError, UnknownWarningError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    except ValueError as exc:
        raise _bad(exc) from None
    out.print(
        f"warning {warning.id} is now {warning.status.value} ({STATUS_LABELS[warning.status]})"
    )


@warn_app.command("grades")
def warn_grades(
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Grade distribution (企业信用风险分类 A–D) and the 双随机 inspection plan."""
    from risk.grades import GRADE_LABELS, Grade, grade_enterprises, grade_summary

    day = parse_date("as-of", as_of)
    engine, risk = scoring_store(work_dir, database_url)
    with err.status(f"grading enterprises as of {day} …"):
        summary = grade_summary(grade_enterprises(engine, day, risk))
    if as_json:
        print_json({"as_of": day.isoformat(), "grades": summary.to_dict(orient="records")})
        return
    table = Table(title=f"企业信用风险分类 as of {day} (open warnings as stored)")
    for name in ("grade", "分类", "enterprises", "share", "双随机 ratio", "band", "to inspect"):
        table.add_column(name, justify="left" if name in ("grade", "分类", "band") else "right")
    for row in summary.itertuples(index=False):
        table.add_row(
            row.grade,
            GRADE_LABELS[Grade(row.grade)],
            f"{row.enterprises:,}",
            f"{row.share:.1%}",
            f"{row.inspection_ratio:.0%}",
            row.band,
            f"{row.to_inspect:,}",
        )
    out.print(table)


@warn_app.command("watchlist")
def warn_watchlist(
    as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """重点关注对象名单: enterprises with an open red or orange warning."""
    from risk.grades import watchlist
    from serving.redaction import without_id_numbers

    engine = open_store(settings_for(work_dir, database_url))
    frame = watchlist(engine)
    if as_json:
        print_json(without_id_numbers(frame.to_dict(orient="records")))
        return
    table = Table(title=f"重点关注对象名单: {len(frame):,} enterprises (first {limit})")
    for name in ("统一社会信用代码", "企业名称", "等级", "规则", "主管部门", "预警", "since"):
        table.add_column(name)
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(
            *_cells(
                row.uscc,
                row.name,
                _level_text(row.level),
                row.rule_labels,
                row.regulators,
                ", ".join(f"#{i}" for i in row.warning_ids),
                str(row.since),
            )
        )
    out.print(table)
