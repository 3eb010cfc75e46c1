"""Reading warnings: one warning and its events, filtered pages for the CLI, the API and the web
pages, and the 通报 list sent to regulators (:func:`notice_frame`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, case, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from risk.contract import Domain, domain_for_regulator, zh_label
from risk.exceptions import UnknownWarningError
from risk.identifiers import mask_id_numbers
from risk.rules import LEVEL_LABELS, LEVEL_RANK, RULE_LABELS, Level, Rule
from risk.store import contract_table, score_tables, warning_events_table, warnings_table
from risk.validation import check_int
from risk.warnings.status import (
    CHUNK,
    OPEN_STATUSES,
    STATUS_LABELS,
    WarningEvent,
    WarningRecord,
    WarningStatus,
    enum_values,
    stored_time,
    to_event,
    to_record,
    utc,
)

__all__ = [
    "NOTICE_COLUMNS",
    "WarningPage",
    "get_warning",
    "list_warnings",
    "notice_frame",
    "warning_events",
]

NOTICE_COLUMNS: tuple[str, ...] = (
    "企业名称",
    "统一社会信用代码",
    "预警规则",
    "预警等级",
    "涉及领域",
    "主管部门",
    "证据(决定书文号)",
    "预警日期",
    "状态",
)
"""Headers of the 通报 list (:func:`notice_frame`)."""


@dataclass(frozen=True)
class WarningPage:
    """One page of :func:`list_warnings`: the items and the total matching the filters, and
    with a ``learned_set`` each item's learned probability (None: not scored)."""

    items: tuple[WarningRecord, ...]
    total: int
    limit: int
    offset: int
    learned: tuple[float | None, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "items": [
                w.to_dict()
                | ({} if self.learned is None else {"learned_probability": self.learned[i]})
                for i, w in enumerate(self.items)
            ],
        }


def _contains_domain(domain: Domain) -> ColumnElement[bool]:
    wrapped = literal(",") + warnings_table.c.domains + literal(",")
    return wrapped.contains(f",{domain.value},", autoescape=True)


def _level_order() -> ColumnElement[int]:
    return case(
        {level.value: rank for level, rank in LEVEL_RANK.items()},
        value=warnings_table.c.level,
        else_=len(LEVEL_RANK),
    )


def get_warning(engine: Engine, warning_id: int) -> WarningRecord:
    """Return one warning.

    Raises
    ------
    UnknownWarningError
        If no warning has that id.
    """
    with engine.connect() as conn:
        row = (
            conn.execute(select(warnings_table).where(warnings_table.c.id == warning_id))
            .mappings()
            .one_or_none()
        )
    if row is None:
        raise UnknownWarningError(f"warning_id must be a stored warning; got {warning_id}")
    return to_record(row)


def warning_events(engine: Engine, warning_id: int) -> list[WarningEvent]:
    """The history of a warning, oldest first.

    Raises
    ------
    UnknownWarningError
        If no warning has that id.
    """
    get_warning(engine, warning_id)
    ev = warning_events_table
    with engine.connect() as conn:
        rows = conn.execute(
            select(ev).where(ev.c.warning_id == warning_id).order_by(ev.c.id)
        ).mappings()
        return [to_event(r) for r in rows]


def _filters(
    dialect: str,
    *,
    level: Any,
    rule: Any,
    domain: Domain | str | None,
    regulator: str | None,
    status: Any,
    since: date | datetime | None,
    uscc: str | None,
) -> list[ColumnElement[bool]]:
    t = warnings_table
    where: list[ColumnElement[bool]] = []
    for name, value, enum, column in (
        ("level", level, Level, t.c.level),
        ("rule", rule, Rule, t.c.rule),
        ("status", status, WarningStatus, t.c.status),
    ):
        codes = enum_values(name, value, enum)
        if codes is not None:
            where.append(column.in_(codes))
    for name, value in (("domain", domain), ("regulator", regulator)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be a string; got {type(value).__name__}")
    if domain is not None:
        (code,) = enum_values("domain", domain, Domain) or [""]
        where.append(_contains_domain(Domain(code)))
    if regulator is not None:
        where.append(_contains_domain(domain_for_regulator(regulator)))
    if since is not None:
        if not isinstance(since, date):
            raise TypeError(f"since must be a date or datetime; got {type(since).__name__}")
        where.append(t.c.updated_at >= stored_time(dialect, utc(since)))
    if uscc is not None:
        where.append(t.c.uscc == uscc)
    return where


def list_warnings(
    engine: Engine,
    *,
    level: Level | str | Iterable[Level | str] | None = None,
    rule: Rule | str | Iterable[Rule | str] | None = None,
    domain: Domain | str | None = None,
    regulator: str | None = None,
    status: WarningStatus | str | Iterable[WarningStatus | str] | None = None,
    since: date | datetime | None = None,
    uscc: str | None = None,
    limit: int = 50,
    offset: int = 0,
    sort: str = "level",
    learned_set: int | None = None,
) -> WarningPage:
    """Warnings matching the filters, red first, then newest first (or by learned probability).

    Parameters
    ----------
    engine
        A migrated store.
    level, rule, status
        One code or several (any of them matches).
    domain
        A :class:`~risk.contract.Domain` code: warnings involving that domain.
    regulator
        A regulator by Chinese name (``税务局``) or domain code: warnings involving it.
    since
        Warnings created or changed (``updated_at``) at or after this time; a date means its
        midnight UTC.
    uscc
        One enterprise.
    limit, offset
        The page: 1 ≤ limit ≤ 1000, offset ≥ 0.
    sort
        ``level`` (red first, then newest) or ``learned``: the enterprise's learned
        probability of a new violation (再犯概率) in ``learned_set``, highest first, warnings
        of enterprises it did not score last, ties red first then newest. Sorted by the
        store (a join on the score set's ``score_learned`` rows), page by page.
    learned_set
        The score set whose learned probabilities are joined (its batch rows: the learned
        warning has no live deltas); the page then carries them
        (:attr:`WarningPage.learned`). Required by ``sort="learned"``.

    Returns
    -------
    WarningPage

    Raises
    ------
    ValueError
        On an unknown code or regulator, a bad page, an unknown ``sort``, or
        ``sort="learned"`` without a ``learned_set``.
    """
    check_int("limit", limit, 1, 1000)
    check_int("offset", offset, 0)
    where = _filters(
        engine.dialect.name,
        level=level,
        rule=rule,
        domain=domain,
        regulator=regulator,
        status=status,
        since=since,
        uscc=uscc,
    )
    if sort not in ("level", "learned"):
        raise ValueError(f"sort must be level or learned; got {sort!r}")
    if sort == "learned" and learned_set is None:
        raise ValueError("sort=learned needs a learned_set (a score set id); got None")
    if learned_set is not None:
        check_int("learned_set", learned_set, 1)
    t = warnings_table
    count = select(func.count()).select_from(t).where(*where)
    order: list[ColumnElement[Any]] = [_level_order(), t.c.id.desc()]
    if learned_set is None:
        query = select(t)
    else:
        scored = score_tables["learned"]
        probability = scored.c.probability.label("learned_probability")
        joined = t.outerjoin(
            scored,
            (scored.c.set_id == learned_set)
            & (scored.c.subject_id == t.c.uscc)
            & (scored.c.seq == 0),
        )
        query = select(t, probability).select_from(joined)
        if sort == "learned":
            # NULLS LAST written portably: SQLite sorts NULL first in descending order.
            order = [scored.c.probability.is_(None), scored.c.probability.desc(), *order]
    query = query.where(*where).order_by(*order).limit(limit).offset(offset)
    with engine.connect() as conn:
        total = int(conn.execute(count).scalar_one())
        rows = conn.execute(query).mappings().all()
    items = tuple(to_record(r) for r in rows)
    learned = (
        None
        if learned_set is None
        else tuple(
            None if r["learned_probability"] is None else float(r["learned_probability"])
            for r in rows
        )
    )
    return WarningPage(items=items, total=total, limit=limit, offset=offset, learned=learned)


def notice_frame(
    engine: Engine,
    regulator: str,
    *,
    status: WarningStatus | str | Iterable[WarningStatus | str] | None = None,
) -> pd.DataFrame:
    """The 通报 list of one regulator: its warnings with Chinese headers (:data:`NOTICE_COLUMNS`).

    Parameters
    ----------
    engine
        A migrated store.
    regulator
        Chinese name (``税务局``) or domain code (``taxation``).
    status
        Statuses to include (default: the open ones).

    Returns
    -------
    pandas.DataFrame
        One row per warning involving the regulator's domain, red first, then by USCC.
        企业名称 comes from the enterprises table (else the name at warning time);
        证据(决定书文号) lists the cited record ids; 预警日期 is the warning's as-of date.
        The list goes to people: a resident ID number in any text (a store ingested before
        ingest refused them) is masked (:func:`risk.identifiers.mask_id_numbers`). Write it
        with :func:`risk.spreadsheets.write_spreadsheet`, which keeps formulas out.

    Raises
    ------
    TypeError
        If ``regulator`` is not a string.
    ValueError
        If the regulator is unknown.
    """
    if not isinstance(regulator, str):
        raise TypeError(f"regulator must be a string; got {type(regulator).__name__}")
    domain = domain_for_regulator(regulator)
    statuses = status if status is not None else sorted(OPEN_STATUSES)
    where = _filters(
        engine.dialect.name,
        level=None,
        rule=None,
        domain=domain,
        regulator=None,
        status=statuses,
        since=None,
        uscc=None,
    )
    t = warnings_table
    with engine.connect() as conn:
        rows = [
            to_record(r)
            for r in conn.execute(
                select(t).where(*where).order_by(_level_order(), t.c.uscc, t.c.id)
            ).mappings()
        ]
        usccs = sorted({w.uscc for w in rows})
        names: dict[str, str] = {}
        ents = contract_table("enterprises")
        for start in range(0, len(usccs), CHUNK):
            chunk = usccs[start : start + CHUNK]
            query = select(ents.c.uscc, ents.c.name).where(ents.c.uscc.in_(chunk))
            names.update({r.uscc: r.name for r in conn.execute(query)})
    body = [
        (
            names.get(w.uscc) or w.evidence.get("enterprise_name") or "",
            w.uscc,
            RULE_LABELS[w.rule],
            LEVEL_LABELS[w.level],
            "、".join(zh_label(d) for d in w.domains),
            "、".join(w.regulators),
            "；".join(w.record_ids),
            w.as_of.isoformat(),
            STATUS_LABELS[w.status],
        )
        for w in rows
    ]
    frame = pd.DataFrame(body, columns=list(NOTICE_COLUMNS), dtype=object)
    return frame.map(lambda v: mask_id_numbers(v) if isinstance(v, str) else v)
