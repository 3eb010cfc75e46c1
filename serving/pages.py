"""What the credit-office web pages show, assembled from :mod:`serving.crud` and :mod:`risk`.

The pages' "crud" layer: plain values in, frozen view objects out, no HTTP. The route module
(:mod:`serving.routes.ui`) renders them with the templates; :mod:`serving.ui` draws the
network picture.

Persons on the pages
--------------------
The pages show persons masked (``张*``) to every role, the credit office included: names
appear on screens and in screenshots that travel further than an API answer. The risk
explanations use per-page aliases (``person-1``) for person ids; the network picture keeps
person ids out of the page (:func:`serving.ui.network_svg`). Whatever the store holds, no
page shows a raw resident ID number: the view objects come from :mod:`serving.crud` (person
ids that are ID numbers pseudonymised, texts masked) and the templates mask whatever they
print (:func:`serving.ui.templates`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from sqlalchemy import Engine

from risk.contract import (
    POSITIVE_KINDS,
    REGULATORS,
    Domain,
    RecordKind,
    Role,
    Severity,
    regulator_for,
    zh_label,
)
from risk.controllers import ControllerStatus, actual_controllers
from risk.exceptions import IllegalTransitionError
from risk.grades import GradeConfig
from risk.publicity import active_mask
from risk.rules import LEVEL_LABELS, RULE_LABELS, Level, Rule
from risk.store import contract_table, read_table
from risk.warnings import STATUS_LABELS, TRANSITIONS, WarningStatus, transition
from serving import crud
from serving.crud import Audience
from serving.redaction import PersonIds
from serving.schemas import (
    EntityNetwork,
    EntityRisk,
    RegulatorName,
    WarningDetail,
    WarningSummary,
    WarningTransition,
)
from serving.sessions import Flash
from serving.settings import Settings
from serving.state import LoadedSnapshot

__all__ = [
    "ACTION_LABELS",
    "LINKED_RISK_NOTABLE",
    "PAGE_AUDIENCE",
    "PAGE_SIZE",
    "ControllerView",
    "EntityPage",
    "EvidenceView",
    "FilterOption",
    "ModelRow",
    "ModelsView",
    "RecordRow",
    "WarningFilters",
    "WarningListView",
    "WarningView",
    "entity_page",
    "filter_options",
    "move_warning",
    "registered_models",
    "warning_list",
    "warning_view",
]

logger = logging.getLogger("credlink.serving")

PAGE_SIZE = 50
"""Warnings per list page."""

PAGE_AUDIENCE = Audience(unmasked_persons=False, person_aliases=True, warnings=True)
"""What the pages show (module docstring)."""

LINKED_RISK_NOTABLE = GradeConfig().linked_risk_b
"""Linked risk from which the picture colours a node as linked-risky (grade B's threshold)."""

ACTION_LABELS: Mapping[WarningStatus, str] = {
    WarningStatus.dispatched: "通报主管部门",
    WarningStatus.acknowledged: "确认签收",
    WarningStatus.closed: "办结",
}
"""The button that moves a warning *to* each status."""

NETWORK_DEPTH = 2
_ENTITY_SOURCES = 5
_HEADLINE_METRICS = (
    "test_auc",
    "test_ks",
    "test_gini",
    "test_brier",
    "cv_auc_mean",
    "psi_score_train_test",
    "psi_limit_train_test",
    "monotonicity_violations",
)


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


def warning_list(engine: Engine, filters: WarningFilters) -> WarningListView:
    """The warnings matching the filters (red first, then newest), one page of them."""
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
    )
    return WarningListView(
        items=result.items,
        actions={w.id: _actions(w.status) for w in result.items},
        total=result.total,
        page=filters.page,
        pages=max(1, -(-result.total // PAGE_SIZE)),
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


def _names(loaded: LoadedSnapshot | None, usccs: Sequence[str]) -> dict[str, str]:
    if loaded is None or not usccs:
        return {}
    snapshot = loaded.run.snapshot
    positions = snapshot.node_ids.get_indexer(list(usccs))
    return {
        u: snapshot.display_name(int(p))
        for u, p in zip(usccs, positions.tolist(), strict=True)
        if p >= 0
    }


def warning_view(engine: Engine, loaded: LoadedSnapshot | None, warning_id: int) -> WarningView:
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
        evidence=_evidence(detail.evidence, _names(loaded, related)),
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


# --------------------------------------------------------------------------- entity page

RecordStatus = Literal["active", "removed", "repaired", "expired", "unpublished"]


@dataclass(frozen=True)
class RecordRow:
    """One of the enterprise's own records, with its publicity status on the snapshot date."""

    record_id: str
    kind_label: str
    negative: bool
    domain_label: str
    regulator: str
    severity_label: str
    authority: str | None
    decided: date
    publicity_end: date | None
    status: RecordStatus
    status_label: str


@dataclass(frozen=True)
class ControllerStep:
    """One node of the actual controller's chain, from the controller down."""

    name: str
    share_label: str | None = None


@dataclass(frozen=True)
class ControllerView:
    """The actual controller (实际控制人) and the chain that justifies it."""

    status: str
    found: bool
    explanation: str
    path_ids: tuple[str, ...] = ()
    steps: tuple[ControllerStep, ...] = ()


@dataclass(frozen=True)
class EntityPage:
    """Everything the entity page shows."""

    risk: EntityRisk
    network: EntityNetwork
    records: list[RecordRow]
    controller: ControllerView
    open_warnings: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def _day(value: Any) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _publicity(row: Any, active: bool, on: date) -> tuple[RecordStatus, str]:
    """Why a record counts or not on ``on`` (the decision itself is :func:`active_mask`)."""
    end, repaired, removed = _day(row.publicity_end), _day(row.repaired), _day(row.removed)
    if active:
        return "active", f"公示中至{end}" if end else "公示中（长期）"
    if removed is not None and removed <= on:
        return "removed", f"已移出（{removed}）"
    if repaired is not None and repaired <= on:
        return "repaired", f"已修复（{repaired}）"
    decided = _day(row.decided)
    if end is not None and decided is not None and end <= decided:
        return "unpublished", "不予公示（轻微）"
    return "expired", f"已过期（{end}）"


def entity_records(engine: Engine, uscc: str, on: date) -> list[RecordRow]:
    """The enterprise's own records decided on or before ``on``, active ones first."""
    table = contract_table("records")
    where = [table.c.subject_id == uscc, table.c.decided <= on]
    records = read_table(engine, "records", where=where)
    if records.empty:
        return []
    active = active_mask(
        records["decided"], records["publicity_end"], records["repaired"], records["removed"], on
    )
    rows = []
    for row, is_active in zip(records.itertuples(index=False), active.tolist(), strict=True):
        status, label = _publicity(row, bool(is_active), on)
        kind = RecordKind(row.kind)
        rows.append(
            RecordRow(
                record_id=str(row.record_id),
                kind_label=zh_label(kind),
                negative=kind not in POSITIVE_KINDS,
                domain_label=zh_label(Domain(row.domain)),
                regulator=regulator_for(row.domain),
                severity_label=zh_label(Severity(row.severity)),
                authority=None if pd.isna(row.authority) else str(row.authority),
                decided=pd.Timestamp(row.decided).date(),
                publicity_end=_day(row.publicity_end),
                status=status,
                status_label=label,
            )
        )
    rows.sort(key=lambda r: (r.status != "active", -r.decided.toordinal(), r.record_id))
    return rows


def _ownership_above(loaded: LoadedSnapshot, uscc: str) -> pd.DataFrame:
    """The snapshot's shareholder and branch roles above ``uscc``, as a contract roles frame.

    Walks up the chains breadth-first (cycle-safe: each holder once), so that
    :func:`risk.ownership.actual_controllers` sees every chain and nothing else.
    """
    snapshot = loaded.run.snapshot
    edges = snapshot.edges
    owning = edges[edges["role"].isin([Role.shareholder.value, Role.branch_of.value])]
    parts, seen, frontier = [], {uscc}, {uscc}
    while frontier:
        above = owning[owning["target_id"].isin(frontier)]
        parts.append(above)
        frontier = set(above["holder_id"].astype(str)) - seen
        seen |= frontier
    found = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(
        {
            "uscc": found["target_id"].astype(str),
            "holder_type": np.where(snapshot.is_person[found["holder"]], "person", "enterprise"),
            "holder_id": found["holder_id"].astype(str),
            "role": found["role"],
            "share": found["share"],
            "start": loaded.run.snapshot.as_of,  # present on the snapshot date by construction
        }
    )


def entity_controller(loaded: LoadedSnapshot, uscc: str) -> ControllerView:
    """The actual controller through ownership chains, persons masked, with its chain."""
    snapshot = loaded.run.snapshot
    roles = _ownership_above(loaded, uscc)
    nodes = snapshot.nodes
    ids = sorted({uscc, *roles["holder_id"]})
    named = nodes[nodes["node_id"].isin(ids) & nodes["known"] & nodes["name"].notna()]
    persons = named[named["node_type"] == "person"].rename(columns={"node_id": "person_id"})
    enterprises = named[named["node_type"] == "enterprise"].rename(columns={"node_id": "uscc"})
    result = actual_controllers(
        roles,
        snapshot.as_of,
        persons=persons[["person_id", "name"]],
        enterprises=enterprises[["uscc", "name"]],
        subjects=[uscc],
        mask_persons=True,
    )
    row = result.loc[result["uscc"] == uscc].iloc[0]
    path = [str(n) for n in row["path"]] if isinstance(row["path"], list) else []
    served = PersonIds(snapshot)  # the ids of crud.entity_network, for the highlight
    shares = {
        (h, t): s for h, t, s in zip(roles["holder_id"], roles["uscc"], roles["share"], strict=True)
    }
    steps = []
    for position, node_id in enumerate(path):
        share = shares.get((node_id, path[position + 1])) if position + 1 < len(path) else None
        index = snapshot.node_ids.get_indexer([node_id])[0]
        name = snapshot.display_name(int(index)) if index >= 0 else node_id
        steps.append(
            ControllerStep(
                name=name,
                share_label=None if share is None or pd.isna(share) else f"{share:.2%}",
            )
        )
    return ControllerView(
        status=str(row["status"]),
        found=row["status"] == ControllerStatus.natural_person.value,
        explanation=str(row["explanation"]),
        path_ids=tuple(served(n) for n in path),
        steps=tuple(steps),
    )


def entity_page(loaded: LoadedSnapshot, engine: Engine, uscc: str, *, max_nodes: int) -> EntityPage:
    """The entity page: risk, grade, records, actual controller and the 2-hop network.

    Raises
    ------
    UnknownEntityError
        If the USCC is not an enterprise in the store.
    """
    risk = crud.entity_risk(loaded, engine, uscc, PAGE_AUDIENCE, top=_ENTITY_SOURCES)
    network = crud.entity_network(
        loaded,
        uscc,
        NETWORK_DEPTH,
        Audience(unmasked_persons=False, person_aliases=False, warnings=True),
        max_nodes=max_nodes,
    )
    records = entity_records(engine, uscc, loaded.as_of)
    open_warnings = sum(1 for w in risk.warnings or () if w.status != WarningStatus.closed)
    counts = {
        status: sum(1 for r in records if r.status == status)
        for status in ("active", "repaired", "expired", "removed", "unpublished")
    }
    return EntityPage(
        risk=risk,
        network=network,
        records=records,
        controller=entity_controller(loaded, uscc),
        open_warnings=open_warnings,
        counts=counts,
    )


# --------------------------------------------------------------------------- models page


@dataclass(frozen=True)
class ModelRow:
    """One registered model version with its aliases and its run's metrics."""

    name: str
    version: str
    aliases: list[str]
    run_id: str | None
    created: datetime | None
    headline: list[tuple[str, float]]
    metrics: list[tuple[str, float]]

    @property
    def champion(self) -> bool:
        """Whether the ``champion`` alias points here."""
        return "champion" in self.aliases


@dataclass(frozen=True)
class ModelsView:
    """The models page: the registry's versions, or why there are none to show."""

    tracking_uri: str | None
    rows: list[ModelRow]
    problem: str | None = None


def _metrics(client: Any, run_id: str | None) -> dict[str, float]:
    if not run_id:
        return {}
    try:
        return {str(k): float(v) for k, v in client.get_run(run_id).data.metrics.items()}
    except Exception:  # a deleted run: the version is still worth listing
        logger.warning("metrics of MLflow run %s unavailable", run_id, exc_info=True)
        return {}


def registered_models(settings: Settings) -> ModelsView:
    """Registered models of the service's MLflow store (``<work_dir>/mlflow.db``).

    Never raises: no ``models`` package, no store yet or an unreadable one are shown as a
    sentence on the page (an empty registry is not an error).
    """
    try:
        from mlflow import MlflowClient

        from models.registry import ModelRegistry
        from models.tracking import tracking_uris
    except ImportError as exc:  # the models package is optional for the warning pages
        return ModelsView(None, [], problem=f"模型模块不可用：{exc}")
    tracking_uri, _ = tracking_uris(settings.work_dir)
    database = Path(tracking_uri.removeprefix("sqlite:///"))
    if tracking_uri.startswith("sqlite:///") and not database.exists():
        return ModelsView(tracking_uri, [])  # opening it would create an empty store
    try:
        versions = ModelRegistry(tracking_uri).list_models()
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        rows = []
        for item in versions.itertuples(index=False):
            run_id = str(item.run_id) if item.run_id else None
            metrics = _metrics(client, run_id)
            rows.append(
                ModelRow(
                    name=str(item.name),
                    version=str(item.version),
                    aliases=[a for a in str(item.aliases).split(", ") if a],
                    run_id=run_id,
                    created=item.created if isinstance(item.created, datetime) else None,
                    headline=[(k, metrics[k]) for k in _HEADLINE_METRICS if k in metrics],
                    metrics=sorted(metrics.items()),
                )
            )
    except Exception as exc:  # the registry is another service's store: report, don't fail
        logger.warning("MLflow registry at %s unreadable", tracking_uri, exc_info=True)
        return ModelsView(tracking_uri, [], problem=f"模型登记库暂不可读：{type(exc).__name__}")
    rows.sort(key=lambda r: (r.name, not r.champion, -int(r.version)))
    return ModelsView(tracking_uri, rows)
