"""What the credit office's warning pages show: the list with its filters, one warning with
its evidence made readable, and the moves along the lifecycle.

The pages' "crud" layer (:mod:`serving.web.routes` renders it): plain values in, frozen view
objects out, no HTTP. Whatever the store holds, no page shows a raw resident ID number: the
view objects come from :mod:`serving.crud` (person ids that are ID numbers pseudonymised, texts
masked) and the templates mask whatever they print (:func:`serving.web.templating.templates`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from sqlalchemy import Engine

from risk.contract import (
    REGULATORS,
    Domain,
    RecordKind,
    Severity,
    regulator_for,
    zh_label,
)
from risk.exceptions import IllegalTransitionError
from risk.graph.ball import read_in
from risk.rules import LEVEL_LABELS, RULE_LABELS, Level, Rule
from risk.warnings import STATUS_LABELS, TRANSITIONS, WarningStatus, transition
from serving import crud
from serving.schemas import (
    RegulatorName,
    WarningDetail,
    WarningSummary,
    WarningTransition,
)
from serving.scores import ServedSet
from serving.web.sessions import Flash

__all__ = [
    "ACTION_LABELS",
    "LEVEL_ORDER_NOTE",
    "PAGE_SIZE",
    "EvidenceView",
    "FilterOption",
    "WarningFilters",
    "WarningListView",
    "WarningView",
    "filter_options",
    "move_warning",
    "warning_list",
    "warning_view",
]

PAGE_SIZE = 50
"""Warnings per list page."""

ACTION_LABELS: Mapping[WarningStatus, str] = {
    WarningStatus.dispatched: "通报主管部门",
    WarningStatus.acknowledged: "确认签收",
    WarningStatus.closed: "办结",
}
"""The button that moves a warning *to* each status."""


# --------------------------------------------------------------------------- warnings list


def _blank_to_none(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {k: v for k, v in data.items() if v not in ("", None)}
    return data


class WarningFilters(BaseModel):
    """The list page's filters (query string); an empty select means "all"."""

    level: Level | None = None
    rule: Rule | None = None
    regulator: RegulatorName | None = None
    status: WarningStatus | None = None
    sort: Literal["level", "learned"] = "level"
    page: int = 1

    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_blanks(cls, data: Any) -> Any:
        return _blank_to_none(data)

    @model_validator(mode="after")
    def _check_page(self) -> WarningFilters:
        if not 1 <= self.page <= 100_000:
            raise ValueError(f"page must be in [1, 100000]; got {self.page}")
        return self

    def query(self, **changes: Any) -> dict[str, str]:
        """The filters as query parameters (blank ones left out), with ``changes`` applied."""
        values = {**self.model_dump(mode="json"), **changes}
        if values["page"] == 1:
            del values["page"]
        if values["sort"] == "level":
            del values["sort"]
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


@dataclass(frozen=True)
class FilterOption:
    """One choice of a filter menu."""

    value: str
    label: str


def filter_options() -> dict[str, list[FilterOption]]:
    """The choices of each filter menu, with their Chinese labels."""
    return {
        "level": [FilterOption(lv.value, LEVEL_LABELS[lv]) for lv in Level],
        "rule": [FilterOption(r.value, RULE_LABELS[r]) for r in Rule],
        "regulator": [FilterOption(name, name) for name in dict.fromkeys(REGULATORS.values())],
        "status": [FilterOption(s.value, STATUS_LABELS[s]) for s in WarningStatus],
    }


def _actions(status: WarningStatus) -> list[FilterOption]:
    return [
        FilterOption(target.value, ACTION_LABELS[target])
        for target in WarningStatus
        if target in TRANSITIONS[status]
    ]


@dataclass(frozen=True)
class WarningListView:
    """One page of the warnings list."""

    items: list[WarningSummary]
    actions: dict[int, list[FilterOption]]
    total: int
    page: int
    pages: int
    sort_note: str | None = None
    """Why the learned order was asked for and not applied (:func:`serving.crud.warning_page`)."""


LEVEL_ORDER_NOTE = (
    "当前评分集没有再犯概率（尚未发布评分集，或计算时没有在用的学习型预警模型），已按预警等级排序。"
)
"""The page's note when the learned order falls back to the level order."""


def warning_list(
    engine: Engine, filters: WarningFilters, served: ServedSet | None = None
) -> WarningListView:
    """The warnings matching the filters (red first, then newest; or highest learned
    probability first), one page of them, each with its learned probability in ``served``."""
    result = crud.warning_page(
        engine,
        level=[filters.level] if filters.level else None,
        rule=[filters.rule] if filters.rule else None,
        domain=None,
        regulator=filters.regulator,
        status=[filters.status] if filters.status else None,
        since=None,
        limit=PAGE_SIZE,
        offset=(filters.page - 1) * PAGE_SIZE,
        sort=filters.sort,
        served=served,
    )
    return WarningListView(
        items=result.items,
        actions={w.id: _actions(w.status) for w in result.items},
        total=result.total,
        page=filters.page,
        pages=max(1, -(-result.total // PAGE_SIZE)),
        sort_note=None if result.sort_note is None else LEVEL_ORDER_NOTE,
    )


# --------------------------------------------------------------------------- one warning

_FACT_LABELS = {
    "founded": "成立日期",
    "founded_after_listing": "列入名单后成立",
    "n_paths": "关联路径数",
    "linked_risk": "关联风险",
    "threshold": "阈值",
    "threshold_mode": "阈值方式",
    "window": "统计窗口",
    "counts": "各领域次数",
    "commitments": "信用承诺",
    "repaired_records": "已修复记录",
}
_SHOWN_ELSEWHERE = frozenset(
    {"record_ids", "records", "paths", "sources", "pairs", "related", "summary", "enterprise_name"}
)


@dataclass(frozen=True)
class EvidenceRecord:
    """A record the evidence cites."""

    record_id: str
    kind_label: str
    domain_label: str
    regulator: str
    severity_label: str
    decided: str


@dataclass(frozen=True)
class EvidenceView:
    """A warning's evidence, readable: records, path sentences, related enterprises, facts."""

    summary: str | None
    record_ids: list[str]
    records: list[EvidenceRecord]
    sentences: list[str]
    related: list[tuple[str, str]]
    facts: list[tuple[str, str]]


@dataclass(frozen=True)
class WarningView:
    """The warning detail page."""

    warning: WarningDetail
    evidence: EvidenceView
    actions: list[FilterOption]


def _label(enum: type[Any], value: Any) -> str:
    try:
        return zh_label(enum(value))
    except ValueError:
        return str(value)


def _fact(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.3f}"
    if key == "window" and isinstance(value, Mapping):
        return f"{value.get('after', '')} 至 {value.get('until', '')}"
    if key == "counts" and isinstance(value, Mapping):
        return "、".join(f"{_label(Domain, d)} {n} 次" for d, n in value.items())
    if key == "threshold_mode":
        return {"quantile": "分位数", "absolute": "绝对值"}.get(str(value), str(value))
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    return str(value)


def _sentences(evidence: Mapping[str, Any]) -> list[str]:
    sentences = [str(p["sentence"]) for p in evidence.get("paths", ()) if p.get("sentence")]
    for source in evidence.get("sources", ()):
        if source.get("path"):
            share = source.get("contribution")
            tail = f"（贡献 {share:.3f}）" if isinstance(share, int | float) else ""
            sentences.append(f"{source['path']}{tail}")
    for pair in evidence.get("pairs", ()):
        if "repaired_record" in pair:
            sentences.append(
                f"{pair['repaired_record']} 于 {pair.get('repaired', '')} 信用修复后，"
                f"又有 {pair.get('violation', '')}"
            )
        elif "commitment" in pair:
            sentences.append(
                f"{pair['commitment']} 于 {pair.get('committed', '')} 作出信用承诺后，"
                f"又有 {pair.get('violation', '')}"
            )
    return sentences


def _evidence(evidence: Mapping[str, Any], names: Mapping[str, str]) -> EvidenceView:
    records = [
        EvidenceRecord(
            record_id=str(r.get("record_id", "")),
            kind_label=_label(RecordKind, r.get("kind")),
            domain_label=_label(Domain, r.get("domain")),
            regulator=regulator_for(r["domain"]) if r.get("domain") in set(Domain) else "",
            severity_label=_label(Severity, r.get("severity")),
            decided=str(r.get("decided", "")),
        )
        for r in evidence.get("records", ())
        if isinstance(r, Mapping)
    ]
    facts = [
        (_FACT_LABELS.get(key, key), _fact(key, value))
        for key, value in evidence.items()
        if key not in _SHOWN_ELSEWHERE
    ]
    related = [str(u) for u in evidence.get("related", ())]
    summary = evidence.get("summary")
    return EvidenceView(
        summary=str(summary) if summary else None,
        record_ids=[str(r) for r in evidence.get("record_ids", ())],
        records=records,
        sentences=_sentences(evidence),
        related=[(u, names.get(u, u)) for u in related],
        facts=facts,
    )


def _names(engine: Engine, usccs: Sequence[str]) -> dict[str, str]:
    """The registered names of some enterprises (read by key from the store)."""
    if not usccs:
        return {}
    found = read_in(engine, "enterprises", "uscc", usccs, columns=["uscc", "name"])
    return {
        str(u): str(n)
        for u, n in zip(found["uscc"], found["name"], strict=True)
        if n and str(n).strip()
    }


def warning_view(engine: Engine, warning_id: int) -> WarningView:
    """One warning with its evidence made readable, its history and its possible moves.

    Raises
    ------
    UnknownWarningError
        If no warning has that id.
    """
    detail = crud.warning_detail(engine, warning_id)
    related = [str(u) for u in detail.evidence.get("related", ())]
    return WarningView(
        warning=detail,
        evidence=_evidence(detail.evidence, _names(engine, related)),
        actions=_actions(detail.status),
    )


_TRANSITION_PROBLEMS = {
    "enum": "目标状态无效",
    "required_when_closing": "办结预警须填写处置说明",
    "printable": "处置说明含有不可打印的字符",
    "string_too_long": "处置说明不能超过 2000 字",
}


def move_warning(
    engine: Engine, warning_id: int, to_status: str, note: str | None, actor: str
) -> Flash:
    """Move a warning from a page's form; say in Chinese what happened.

    A refused move (unknown status, closing without a note, a move the lifecycle does not
    allow, e.g. because someone else moved the warning first) is a message, not an error.

    Raises
    ------
    UnknownWarningError
        If no warning has that id.
    """
    try:
        move = WarningTransition.model_validate({"status": to_status, "note": note})
    except ValidationError as exc:
        kind = str(exc.errors()[0].get("type", ""))
        problem = _TRANSITION_PROBLEMS.get(kind, "表单内容无效")
        return Flash("error", f"预警 {warning_id} 未变更：{problem}")
    try:
        moved = transition(engine, warning_id, move.status, actor, move.note)
    except IllegalTransitionError as exc:
        current = WarningStatus(exc.from_status)
        allowed = "、".join(o.label for o in _actions(current)) or "无（已办结的预警不再变更）"
        return Flash(
            "error",
            f"预警 {warning_id} 当前状态为「{STATUS_LABELS[current]}」，不能改为"
            f"「{STATUS_LABELS[move.status]}」；可执行的操作：{allowed}",
        )
    return Flash("ok", f"预警 {warning_id} 已改为「{STATUS_LABELS[moved.status]}」")
