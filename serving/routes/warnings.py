"""Warnings for the credit office (信用办): list, show, move along the lifecycle, 通报 export.

Reading is open to the credit office and analysts; moving and exporting to the credit office;
admins may do everything; banks never see warnings (403).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, Query, Response
from fastapi import Path as PathParam

from risk.contract import Domain
from risk.rules import Level, Rule
from risk.warnings import WarningStatus
from serving import crud
from serving.deps import EngineDep, StateDep, WarningEditorKey, WarningReaderKey
from serving.errors import ERROR_RESPONSES, responses
from serving.schemas import RegulatorName, WarningDetail, WarningPage, WarningTransition

__all__ = ["router"]

router = APIRouter(prefix="/v1/warnings", tags=["warnings"], responses=ERROR_RESPONSES)

WarningId = Annotated[
    int, PathParam(ge=1, le=2**31 - 1, description="The warning's id.", examples=[5])
]
StatusFilter = Annotated[
    list[WarningStatus] | None,
    Query(description="One or more statuses (repeat the parameter).", examples=[["new"]]),
]

_CSV_EXAMPLE = (
    '"企业名称","统一社会信用代码","预警规则","预警等级","涉及领域","主管部门","证据(决定书文号)",'
    '"预警日期","状态"\r\n'
    '"清源县利中贸易有限公司","913411006958188871","多个领域多次违法","橙色","税务、生态环境",'
    '"税务局、生态环境局","皖清税罚〔2025〕3号；皖清环罚〔2025〕7号","2026-06-30","待处理"\r\n'
)


@router.get("", summary="List warnings")
def list_warnings(
    _key: WarningReaderKey,
    engine: EngineDep,
    state: StateDep,
    level: Annotated[
        list[Level] | None, Query(description="预警等级 (repeatable).", examples=[["red"]])
    ] = None,
    rule: Annotated[
        list[Rule] | None,
        Query(description="Rule (repeatable).", examples=[["same_domain_frequent"]]),
    ] = None,
    domain: Annotated[
        Domain | None, Query(description="Warnings involving this domain.", examples=["taxation"])
    ] = None,
    regulator: Annotated[
        RegulatorName | None,
        Query(
            description="Warnings involving this regulator (税务局 or taxation).",
            examples=["税务局"],
        ),
    ] = None,
    status: StatusFilter = None,
    since: Annotated[
        datetime | None,
        Query(
            description="Created or changed at or after this time (a date means its midnight UTC).",
            examples=["2026-06-01"],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.", examples=[50])] = 50,
    offset: Annotated[
        int, Query(ge=0, le=2**31 - 1, description="Items to skip.", examples=[0])
    ] = 0,
    sort: Annotated[
        Literal["level", "learned"],
        Query(
            description="level: red first, then newest; learned: highest 再犯概率 (learned "
            "probability of a new violation) first, unscored last.",
            examples=["learned"],
        ),
    ] = "level",
) -> WarningPage:
    """Warnings matching every filter given, red first then newest first (or by learned
    probability), with the total; each carries its enterprise's learned probability."""
    return crud.warning_page(
        engine,
        level=level,
        rule=rule,
        domain=domain,
        regulator=regulator,
        status=status,
        since=since,
        limit=limit,
        offset=offset,
        sort=sort,
        served=state.scores.served(),
    )


@router.get(
    "/export",
    summary="The 通报 list of one regulator (CSV)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"example": _CSV_EXAMPLE}}}},
)
def export_notice(
    _key: WarningEditorKey,
    engine: EngineDep,
    regulator: Annotated[
        RegulatorName,
        Query(
            description="The regulator: Chinese name (税务局) or domain code (taxation).",
            examples=["税务局"],
        ),
    ],
    status: StatusFilter = None,
) -> Response:
    """The regulator's warnings (open ones by default) with Chinese headers, UTF-8 with BOM.

    Spreadsheet-safe: every field quoted, and a cell that a spreadsheet would evaluate
    (starting with = + - @, a tab or a carriage return) is prefixed with ``'``."""
    body = crud.notice_csv(engine, regulator, status)
    filename = f"通报-{regulator}.csv"
    disposition = f"attachment; filename=\"notice.csv\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )


@router.get(
    "/{warning_id}", summary="One warning with evidence and history", responses=responses(404)
)
def get_warning(
    _key: WarningReaderKey, engine: EngineDep, state: StateDep, warning_id: WarningId
) -> WarningDetail:
    """The warning, its evidence (records, paths, persons masked), its event history and its
    enterprise's learned probability (再犯概率)."""
    return crud.warning_detail(engine, warning_id, state.scores, state.scores.served())


@router.patch(
    "/{warning_id}",
    summary="Move a warning along its lifecycle",
    responses=responses(404, 409),
)
def move_warning(
    key: WarningEditorKey,
    engine: EngineDep,
    warning_id: WarningId,
    move: Annotated[
        WarningTransition,
        Body(
            openapi_examples={
                "dispatch": {
                    "summary": "通报 to the regulator",
                    "value": {"status": "dispatched", "note": "已通报市场监管局"},
                },
                "close": {
                    "summary": "Close (a note is required)",
                    "value": {"status": "closed", "note": "已约谈企业并完成整改"},
                },
            }
        ),
    ],
) -> WarningDetail:
    """new → dispatched → acknowledged → closed (or new → closed); the actor is the key's
    institution/name. An illegal move is 409; an unknown warning 404."""
    return crud.move_warning(engine, warning_id, move.status, move.note, key.actor)
