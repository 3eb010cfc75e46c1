"""Request and response bodies of the HTTP API (pydantic), each with an OpenAPI example.

Codes are English (enums of :mod:`risk`), with the Chinese label beside them (``*_label``).
Persons appear masked (``周**``) unless the caller's role may see full names; for banks their
ids are replaced by per-response aliases (``person-1``), see :mod:`serving.crud`.
The error body is :class:`serving.errors.ErrorResponse`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from risk.contract import Domain, RecordKind, Severity, domain_for_regulator, regulator_for
from risk.contract import Role as RelationRole
from risk.grades import Grade
from risk.rules import Level, Rule
from risk.warnings import WarningStatus

__all__ = [
    "ActiveRecord",
    "EntityGrade",
    "EntityNetwork",
    "EntityRisk",
    "GraphInfo",
    "Health",
    "ModelInfo",
    "NetworkEdge",
    "NetworkNode",
    "PathHop",
    "Readiness",
    "RegulatorName",
    "RiskPath",
    "RiskSource",
    "ScoreSetInfo",
    "WarningDetail",
    "WarningEventOut",
    "WarningPage",
    "WarningSummary",
    "WarningTransition",
]

USCC_EXAMPLE = "91341100708502022E"
_NOTE_MAX = 2000


def _regulator(value: str) -> str:
    try:
        return regulator_for(domain_for_regulator(value))
    except ValueError as exc:
        raise PydanticCustomError("regulator", str(exc)) from None


RegulatorName = Annotated[str, AfterValidator(_regulator)]
"""A regulator (行业主管部门) by Chinese name (``税务局``) or domain code (``taxation``),
normalised to the Chinese name; anything else fails validation naming the known ones."""


# --------------------------------------------------------------------------- health


class Health(BaseModel):
    """Liveness: the process answers."""

    status: Literal["ok"] = "ok"

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})


class GraphInfo(BaseModel):
    """The graph the current score set was computed on."""

    as_of: date = Field(description="The score set's date (`credlink pipeline run --as-of`).")
    loaded_at: datetime = Field(description="When this process first answered from it (UTC).")
    load_seconds: float = Field(description="Reading its description (the rows are read by key).")
    nodes: int
    enterprises: int
    persons: int
    edges: int
    signal_records: int = Field(description="Negative records decided on or before as_of.")


class ModelInfo(BaseModel):
    """A loaded model (a pre-credit champion)."""

    name: str
    version: str
    alias: str
    loaded_at: datetime


class ScoreSetInfo(BaseModel):
    """The score set the API answers from (``credlink pipeline run`` publishes them)."""

    id: int
    seq: int = Field(description="Live deltas applied on top of its batch rows (0: none).")
    as_of: date
    completed_at: datetime | None
    config_digest: str = Field(description="SHA-256 of the risk settings it was scored with.")
    config_matches: bool = Field(description="Whether those are the deployment's settings.")
    model_versions: dict[str, str] = Field(
        description="Model name → version its learned scores and assessments come from."
    )
    counts: dict[str, int] = Field(description="Rows per kind of score.")
    problems: list[str] = Field(
        description="Where the set and the service disagree (other risk settings, other "
        "champions than the ones loaded, no assessments): answers still come from the set; "
        "the next `credlink pipeline run` scores with the service's."
    )


class Readiness(BaseModel):
    """Readiness: a score set is current and the required champions are loaded."""

    status: Literal["ready"] = "ready"
    graph: GraphInfo
    models: list[ModelInfo]
    score_set: ScoreSetInfo

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "graph": {
                        "as_of": "2026-06-30",
                        "loaded_at": "2026-07-01T00:00:05Z",
                        "load_seconds": 0.004,
                        "nodes": 33912,
                        "enterprises": 20000,
                        "persons": 13912,
                        "edges": 61766,
                        "signal_records": 9120,
                    },
                    "models": [],
                    "score_set": {
                        "id": 7,
                        "seq": 0,
                        "as_of": "2026-06-30",
                        "completed_at": "2026-07-01T00:00:02Z",
                        "config_digest": "3f1c…",
                        "config_matches": True,
                        "model_versions": {},
                        "counts": {"risk": 33912, "grades": 19870, "warnings": 412},
                        "problems": [],
                    },
                }
            ]
        }
    )


# --------------------------------------------------------------------------- warnings

_WARNING_EXAMPLE: dict[str, Any] = {
    "id": 5,
    "uscc": "91341100MATYQB8J1P",
    "enterprise_name": "清源县豪跃医药有限公司",
    "rule": "suspected_shell",
    "rule_label": "疑似换壳",
    "level": "orange",
    "level_label": "橙色",
    "domains": ["market_regulation", "court"],
    "regulators": ["市场监管局", "法院"],
    "status": "new",
    "status_label": "待处理",
    "as_of": "2026-06-30",
    "created_at": "2026-07-01T01:00:00Z",
    "updated_at": "2026-07-01T01:00:00Z",
    "previous_id": None,
    "record_ids": ["（2024）皖1100执10号之一"],
}


class WarningSummary(BaseModel):
    """One warning without its evidence (lists)."""

    id: int
    uscc: str
    enterprise_name: str | None
    rule: Rule
    rule_label: str
    level: Level
    level_label: str
    domains: list[Domain]
    regulators: list[str]
    status: WarningStatus
    status_label: str
    as_of: date = Field(description="Run date that created or last changed the evidence.")
    created_at: datetime
    updated_at: datetime
    previous_id: int | None = Field(description="The closed warning this one reopens.")
    record_ids: list[str] = Field(description="决定书文号 / 案号 the evidence cites.")
    learned_probability: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="再犯概率: the learned warning's probability that the enterprise gets a new "
        "violation within 12 months, from the current score set; null when no learned warning "
        "is champion or the enterprise was not scored.",
    )

    model_config = ConfigDict(json_schema_extra={"examples": [_WARNING_EXAMPLE]})


class WarningEventOut(BaseModel):
    """One line of a warning's append-only history."""

    id: int
    from_status: WarningStatus | None = Field(description="None when the warning was created.")
    to_status: WarningStatus
    actor: str
    note: str | None
    at: datetime


_EVENT_EXAMPLE: dict[str, Any] = {
    "id": 5,
    "from_status": None,
    "to_status": "new",
    "actor": "credlink",
    "note": "规则触发：疑似换壳",
    "at": "2026-07-01T01:00:00Z",
}


class WarningDetail(WarningSummary):
    """One warning with its evidence (records, paths) and its event history."""

    fingerprint: str
    evidence: dict[str, Any] = Field(
        description="As the rule produced it: record_ids, records, paths (persons masked), "
        "summary, enterprise_name, rule-specific fields."
    )
    events: list[WarningEventOut]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_WARNING_EXAMPLE,
                    "fingerprint": "a05261c80009e2dc98bbb07ca33189db"
                    "4025f77a597dc0b381a4488f0935815c",
                    "evidence": {
                        "record_ids": ["（2024）皖1100执10号之一"],
                        "paths": [
                            {
                                "holder": "秦*",
                                "holder_type": "person",
                                "roles": ["法定代表人", "股东 100%"],
                                "listed_uscc": "92341100MA4XBK2XRJ",
                                "listed_name": "清源县城关镇汇鑫商行",
                                "sentence": "法定代表人、股东 100% 秦* 现任 "
                                "清源县城关镇汇鑫商行 法定代表人；清源县城关镇汇鑫商行 "
                                "被列入失信被执行人（2024-07-21 起）",
                            }
                        ],
                        "summary": "成立于 2025-07-04 的企业，其法定代表人或主要股东关联 1 家"
                        "严重失信主体（成立于其列入名单之后）",
                        "enterprise_name": "清源县豪跃医药有限公司",
                    },
                    "events": [_EVENT_EXAMPLE],
                }
            ]
        }
    )


class WarningPage(BaseModel):
    """One page of warnings, red first, then newest first; ``total`` matches the filters."""

    total: int
    limit: int
    offset: int
    items: list[WarningSummary]
    sort_applied: Literal["level", "learned"] = Field(
        default="level",
        description="The order the items are in: the one asked for, or ``level`` when "
        "``learned`` was asked for but the current score set holds no learned probability "
        "(then ``sort_note`` says why).",
    )
    sort_note: str | None = Field(
        default=None, description="Why the asked-for order was not applied; null when it was."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "total": 1,
                    "limit": 50,
                    "offset": 0,
                    "items": [_WARNING_EXAMPLE],
                    "sort_applied": "level",
                    "sort_note": None,
                }
            ]
        }
    )


def _check_note(value: str | None) -> str | None:
    if value is None:
        return None
    if any(not (c.isprintable() or c in "\n\t") for c in value):
        raise PydanticCustomError(
            "printable", "note must be printable text (line breaks and tabs allowed)"
        )
    return value.strip() or None


class WarningTransition(BaseModel):
    """Move a warning along its lifecycle: new → dispatched → acknowledged → closed.

    ``new → closed`` (dismissed) is allowed too; closing needs a note.
    """

    status: WarningStatus = Field(description="The status to move to.")
    note: str | None = Field(
        default=None,
        max_length=_NOTE_MAX,
        validate_default=True,
        description="Why; required when closing.",
    )

    @field_validator("note")
    @classmethod
    def _note_when_closing(cls, value: str | None, info: Any) -> str | None:
        note = _check_note(value)
        if info.data.get("status") == WarningStatus.closed and not note:
            raise PydanticCustomError(
                "required_when_closing", "note must say why the warning is closed; got no note"
            )
        return note

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"status": "dispatched", "note": "已通报市场监管局"},
                {"status": "closed", "note": "已约谈企业并完成整改"},
            ]
        },
    )


# --------------------------------------------------------------------------- entities


class EntityGrade(BaseModel):
    """企业信用风险分类 A/B/C/D with its reason and the 双随机 inspection ratio."""

    grade: Grade
    label: str
    reason: str
    inspection_ratio: float
    basis: Literal["signals", "signals_and_warnings"] = Field(
        description="signals: own signal, linked risk and the serious-dishonesty list only "
        "(the bank view); signals_and_warnings: also the open warnings."
    )


class _RecordFacts(BaseModel):
    """What identifies and classifies a negative record (the fields every record view opens
    with; a base of :class:`ActiveRecord` and :class:`RiskSource`, not a response itself)."""

    record_id: str
    kind: RecordKind
    kind_label: str
    domain: Domain
    domain_label: str
    regulator: str
    severity: Severity


class ActiveRecord(_RecordFacts):
    """An own negative record active on the score set's date (it drives the own signal)."""

    authority: str | None
    decided: date
    publicity_end: date | None
    signal: float = Field(description="weight(kind) · multiplier(severity) · decay(age).")


class PathHop(BaseModel):
    """One step of a path, in the direction the signal travels."""

    from_id: str
    from_name: str
    to_id: str
    to_name: str
    role: RelationRole
    role_label: str
    share: float | None
    direction: Literal["down", "up"]
    direction_label: str
    weight: float


class RiskPath(BaseModel):
    """A simple path from a source record's subject to the enterprise, its near-duplicates
    (the same relations through another intermediate of the same kind) merged into it."""

    sentence: str
    weight: float
    contribution: float
    hops: list[PathHop]
    similar_paths: int = Field(0, description="Near-duplicate paths merged into this one.")
    similar_via: list[str] = Field(
        default_factory=list, description="Their intermediates (the first ten, masked)."
    )


class RiskSource(_RecordFacts):
    """A source record and the exact part of the linked risk it causes, with its top paths."""

    decided: date
    publicity_end: date | None
    publicity_status: str
    subject_id: str
    subject_name: str
    subject_type: Literal["enterprise", "person"]
    record_signal: float
    contribution: float
    share_of_linked_risk: float
    from_self: bool
    n_walks: int
    walks_truncated: bool
    paths: list[RiskPath]


_HOP_EXAMPLE: dict[str, Any] = {
    "from_id": "person-1",
    "from_name": "周**",
    "to_id": USCC_EXAMPLE,
    "to_name": "清源县凯立房地产开发股份有限公司",
    "role": "shareholder",
    "role_label": "股东 100%",
    "share": 1.0,
    "direction": "down",
    "direction_label": "股东→被投资企业",
    "weight": 1.0,
}


class EntityRisk(BaseModel):
    """An enterprise's own and linked risk, grade, active records and top risk sources."""

    uscc: str
    name: str
    kind: str | None
    status: str | None
    industry: str | None
    region: str | None
    as_of: date
    own_signal: float = Field(description="s: its own active negative records.")
    linked_risk: float = Field(description="r = Σ αᵏ Pᵏ s, walks returning to it included.")
    linked_risk_excluding_self: float = Field(description="r caused by other parties only.")
    grade: EntityGrade | None = Field(description="None if it did not exist on as_of.")
    active_records: list[ActiveRecord]
    n_sources: int = Field(description="Source records behind the linked risk, in all.")
    top_sources: list[RiskSource]
    persons_masked: bool
    warnings: list[WarningSummary] | None = Field(
        description="Its warnings, all statuses; null for banks (they see no warnings)."
    )
    learned_probability: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="再犯概率: the learned warning's probability of a new violation within 12 "
        "months; null for banks (they see no warnings) and when it was not scored.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "uscc": USCC_EXAMPLE,
                    "name": "清源县凯立房地产开发股份有限公司",
                    "kind": "company",
                    "status": "active",
                    "industry": "K",
                    "region": "341100",
                    "as_of": "2026-06-30",
                    "own_signal": 0.0,
                    "linked_risk": 1.3514,
                    "linked_risk_excluding_self": 1.3514,
                    "grade": {
                        "grade": "C",
                        "label": "信用风险较高",
                        "reason": "关联风险 ≥ 0.6",
                        "inspection_ratio": 0.4,
                        "basis": "signals",
                    },
                    "active_records": [],
                    "n_sources": 5,
                    "top_sources": [
                        {
                            "record_id": "（2026）皖1100执8号之三",
                            "kind": "consumption_restriction",
                            "kind_label": "限制高消费",
                            "domain": "court",
                            "domain_label": "司法",
                            "regulator": "法院",
                            "severity": "general",
                            "decided": "2026-06-13",
                            "publicity_end": "2027-06-13",
                            "publicity_status": "公示中至2027-06-13",
                            "subject_id": "person-1",
                            "subject_name": "周**",
                            "subject_type": "person",
                            "record_signal": 0.5809,
                            "contribution": 1.1426,
                            "share_of_linked_risk": 0.8455,
                            "from_self": False,
                            "n_walks": 28,
                            "walks_truncated": False,
                            "paths": [
                                {
                                    "sentence": "股东 周**（持股 100%），"
                                    "周** 限制高消费（2026-06-13 起）",
                                    "weight": 0.5,
                                    "contribution": 0.2905,
                                    "hops": [_HOP_EXAMPLE],
                                }
                            ],
                        }
                    ],
                    "persons_masked": True,
                    "warnings": None,
                }
            ]
        }
    )


class NetworkNode(BaseModel):
    """An enterprise or person of the ego network."""

    id: str = Field(description="USCC, person id, or a per-response alias for banks.")
    node_type: Literal["enterprise", "person"]
    name: str
    known: bool = Field(description="False for holders that are not in the store.")
    hops: int
    kind: str | None = None
    status: str | None = None
    industry: str | None = None
    region: str | None = None
    own_signal: float
    linked_risk: float


class NetworkEdge(BaseModel):
    """A role, holder → enterprise (for branch_of: parent → branch)."""

    id: int
    source: str
    target: str
    role: RelationRole
    role_label: str
    label: str
    share: float | None
    start: date | None
    end: date | None


class EntityNetwork(BaseModel):
    """The neighbourhood of an enterprise (关联关系图谱), nearest nodes first."""

    center: str
    as_of: date
    depth: int
    truncated: bool = Field(
        description="True when nodes were left out (CREDLINK_NETWORK_MAX_NODES)."
    )
    persons_masked: bool
    nodes: list[NetworkNode]
    edges: list[NetworkEdge]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "center": USCC_EXAMPLE,
                    "as_of": "2026-06-30",
                    "depth": 1,
                    "truncated": False,
                    "persons_masked": True,
                    "nodes": [
                        {
                            "id": USCC_EXAMPLE,
                            "node_type": "enterprise",
                            "name": "清源县凯立房地产开发股份有限公司",
                            "known": True,
                            "hops": 0,
                            "kind": "company",
                            "status": "active",
                            "industry": "K",
                            "region": "341100",
                            "own_signal": 0.0,
                            "linked_risk": 1.3514,
                        },
                        {
                            "id": "person-1",
                            "node_type": "person",
                            "name": "周**",
                            "known": True,
                            "hops": 1,
                            "own_signal": 0.5809,
                            "linked_risk": 0.9,
                        },
                    ],
                    "edges": [
                        {
                            "id": 1091,
                            "source": "person-1",
                            "target": USCC_EXAMPLE,
                            "role": "shareholder",
                            "role_label": "股东",
                            "label": "股东 100%",
                            "share": 1.0,
                            "start": "2014-04-02",
                            "end": None,
                        }
                    ],
                }
            ]
        }
    )
