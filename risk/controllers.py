"""Actual controllers (实际控制人) and beneficial owners (受益所有人), with the justifying path.

An enterprise's actual controller is the natural person whose effective share
(:func:`risk.ownership.ultimate_holders`) reaches the control threshold (50 %), or, failing
one, the status that says why none is named (a tie, no natural person at the top, a declared
unknown holder, no shareholders). Each answer carries the strongest chain of shares that
justifies it, in Chinese, persons masked unless asked.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from typing import Any, Final

import numpy as np
import pandas as pd

from risk.contract import EXEMPT_HOLDER, HolderType
from risk.frames import require_frame
from risk.identifiers import mask_name
from risk.ownership import Ownership, object_frame, prepare, ultimate_holders
from risk.validation import check_real

__all__ = [
    "BENEFICIAL_OWNER_THRESHOLD",
    "CONTROL_THRESHOLD",
    "ControllerStatus",
    "actual_controllers",
    "beneficial_owners",
]

#: 实际控制人: effective share at or above this makes a person the actual controller.
CONTROL_THRESHOLD: Final = 0.5

#: 受益所有人 (PBOC 受益所有人信息管理办法, 2024): the beneficial-ownership share threshold.
BENEFICIAL_OWNER_THRESHOLD: Final = 0.25

_THRESHOLD_TOLERANCE = 1e-9


class ControllerStatus(StrEnum):
    """Outcome of the actual-controller search for one enterprise."""

    natural_person = "natural_person"
    no_natural_person_controller = "no_natural_person_controller"
    declared_unknown = "declared_unknown"
    declared_exempt = "declared_exempt"
    no_shareholders = "no_shareholders"


def beneficial_owners(
    roles: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    threshold: float = BENEFICIAL_OWNER_THRESHOLD,
    *,
    subjects: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Natural persons whose effective share reaches ``threshold`` (受益所有人, default 25 %).

    Returns the rows of :func:`ultimate_holders` with ``holder_type == "person"`` and
    ``effective_share ≥ threshold``; an enterprise may have several.

    Raises
    ------
    TypeError, ValueError
        If ``threshold`` is not a number in (0, 1].
    """
    limit = check_real("threshold", threshold, 0, 1, open_low=True)
    holders = ultimate_holders(roles, as_of, subjects=subjects)
    keep = (holders["holder_type"] == HolderType.person.value) & (
        holders["effective_share"] >= limit - _THRESHOLD_TOLERANCE
    )
    return holders.loc[keep.to_numpy()].reset_index(drop=True)


_CONTROLLER_COLUMNS = (
    "uscc",
    "status",
    "controller_id",
    "controller_type",
    "candidate_id",
    "candidate_type",
    "effective_share",
    "path",
    "unknown_share",
    "owners",
    "explanation",
)


def _pct(value: float) -> str:
    return f"{value * 100:.2f}".rstrip("0").rstrip(".") + "%"


class _Labels:
    """Readable names for explanations: persons masked (mask_name) unless told otherwise."""

    def __init__(
        self,
        own: Ownership,
        persons: pd.DataFrame | None,
        enterprises: pd.DataFrame | None,
        mask_persons: bool,
    ) -> None:
        self.own = own
        self.mask = mask_persons
        self.person_names: Mapping[str, str] = {}
        self.enterprise_names: Mapping[str, str] = {}
        if persons is not None:
            require_frame(persons, "persons", ("person_id", "name"))
            named = persons.dropna(subset=["person_id", "name"])
            self.person_names = dict(
                zip(named["person_id"].astype(str), named["name"].astype(str), strict=True)
            )
        if enterprises is not None:
            require_frame(enterprises, "enterprises", ("uscc", "name"))
            named = enterprises.dropna(subset=["uscc", "name"])
            self.enterprise_names = dict(
                zip(named["uscc"].astype(str), named["name"].astype(str), strict=True)
            )

    def node(self, node: int) -> str:
        own = self.own
        if node == own.unknown:
            return "不明持有人"
        ident = own.node_id(node)
        if node < own.n_ent:
            return self.enterprise_names.get(ident, ident)
        name = self.person_names.get(ident)
        if not name:
            return f"自然人[{ident}]"
        return mask_name(name) if self.mask else name

    def chain(self, path: list[int], total: float) -> str:
        """Describe a chain: ``通过 A公司(60%) → B公司(80%) 间接持股 48%``."""
        own = self.own
        steps: list[str] = []
        product = 1.0
        for holder, subject in itertools.pairwise(path):
            share, via_branch = own.edge(holder, subject)
            product *= share
            tag = "分支机构" if via_branch else _pct(share)
            steps.append(f"{self.node(subject)}({tag})")
        if len(path) == 2 and (path[0], path[1]) not in own.edge_map():
            text = f"申报间接持股 {_pct(product)}（BODS 间接权益，未列明全部中间环节）"
        elif len(path) == 2:
            share, via_branch = own.edge(path[0], path[1])
            text = "为其总公司（分支机构）" if via_branch else f"直接持股 {_pct(share)}"
        else:
            text = f"通过 {' → '.join(steps)} 间接持股 {_pct(product)}"
        if abs(total - product) > 1e-9:
            text = f"合计持股 {_pct(total)}（最强路径：{text}）"
        return text


def actual_controllers(
    roles: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    threshold: float = CONTROL_THRESHOLD,
    persons: pd.DataFrame | None = None,
    *,
    enterprises: pd.DataFrame | None = None,
    subjects: Iterable[str] | None = None,
    mask_persons: bool = True,
    branch_as_owned: bool = True,
) -> pd.DataFrame:
    """Find each enterprise's actual controller (实际控制人) through ownership chains.

    Parameters
    ----------
    roles
        Contract ``roles`` frame.
    as_of
        Snapshot date.
    threshold
        Effective share a natural person must reach: :data:`CONTROL_THRESHOLD` (0.5, default)
        or :data:`BENEFICIAL_OWNER_THRESHOLD` (0.25, 受益所有人).
    persons
        Optional contract ``persons`` frame, for names in the explanation.
    enterprises
        Optional contract ``enterprises`` frame: names in the explanation, and one row for
        every enterprise in it (default: every enterprise named in ``roles``).
    subjects
        Only these enterprises (e.g. one USCC for ``credlink graph controller``); only the
        ownership above them is traced.
    mask_persons
        Mask person names with :func:`risk.identifiers.mask_name` (``张*``). Default True:
        explanations may reach banks.
    branch_as_owned
        See :func:`ultimate_holders`.

    Returns
    -------
    DataFrame
        One row per enterprise, sorted by ``uscc``:

        ``status``
            A :class:`ControllerStatus` value, decided in this order:

            1. ``no_shareholders``: no shareholder (or branch) row is present on ``as_of``.
            2. ``natural_person``: one natural person has the largest effective share among
               persons and it is ≥ ``threshold``. A tie for the largest (two persons at 50 %)
               means there is no single controller and falls through.
            3. ``declared_exempt``: the enterprise's own register declares an owner exempt
               from disclosure (:data:`~risk.contract.EXEMPT_HOLDER`; a listed company, a
               protected beneficiary), and no person reaches ``threshold``.
            4. ``declared_unknown``: part of the ownership (directly or further up) was
               declared unknown, and that part together with the largest person's share
               reaches ``threshold`` — the undisclosed holder could be the controller; or
               the register declares its owner unknown without a share (BODS
               ``unspecifiedRecord``, e.g. subjectUnableToConfirmOrIdentifyBeneficialOwner).
            5. ``no_natural_person_controller``: otherwise — no person ultimate holder at all
               (only enterprises without shareholders, e.g. state or foreign owners, or a
               closed cross-holding cycle), or the largest person is below ``threshold``.
        ``controller_id``, ``controller_type``
            The controller (``person``) when the status is ``natural_person``, else None.
        ``candidate_id``, ``candidate_type``
            The largest natural-person ultimate holder if there is one, else the largest
            enterprise ultimate holder; None when there is none. Equal to the controller when
            the status is ``natural_person``.
        ``effective_share``
            The candidate's effective share (sum over all chains), NaN without a candidate.
        ``path``
            Node ids of the candidate's strongest chain, from the candidate down to the
            enterprise (None without a candidate).
        ``unknown_share``
            Effective share held by the declared holders (unknown or exempt).
        ``owners``
            Every natural person whose effective share reaches ``threshold``, largest first
            (ties by id): a list of ``{"person_id", "effective_share"}`` — the 受益所有人 at
            0.25, where two 50 % owners are both listed although neither alone controls.
        ``explanation``
            Readable Chinese, e.g. ``"实际控制人 张*：通过 A公司(60%) → B公司(80%) 间接持股 48%"``.

    Raises
    ------
    TypeError, ValueError, InvalidFrameError
        For a malformed frame, date or threshold.

    Notes
    -----
    Effective shares, cycle handling and strongest paths are those of
    :func:`ultimate_holders`; see its Notes for why results are exact, terminate on any
    cycle, and never exceed 100 %. Ties between candidates are broken by id, so the output is
    deterministic.
    """
    limit = check_real("threshold", threshold, 0, 1, open_low=True)
    if enterprises is not None:
        require_frame(enterprises, "enterprises", ("uscc",))
    own, wanted = prepare(roles, as_of, subjects, branch_as_owned)
    if subjects is None and enterprises is not None:
        wanted = sorted(set(wanted) | set(enterprises["uscc"].dropna().astype(str)))
    labels = _Labels(own, persons, enterprises, mask_persons)
    index = pd.Index(own.ent_ids)
    positions = index.get_indexer(wanted)
    rows = [
        _controller_row(own, labels, uscc, int(j), limit)
        for uscc, j in zip(wanted, positions, strict=True)
    ]
    frame = object_frame(rows, _CONTROLLER_COLUMNS, floats=("effective_share", "unknown_share"))
    return frame.sort_values("uscc", kind="stable").reset_index(drop=True)


def _largest(shares: list[tuple[int, float]]) -> tuple[int, float, list[int]]:
    """The largest (node, share), ties within tolerance broken by node index = by id."""
    if len(shares) == 1:
        u, e = shares[0]
        return u, min(e, 1.0), [u]
    top_share = max(shares, key=operator.itemgetter(1))[1]
    tied = sorted([u for u, e in shares if e >= top_share - _THRESHOLD_TOLERANCE])
    return tied[0], min(top_share, 1.0), tied


def _controller_row(
    own: Ownership, labels: _Labels, uscc: str, j: int, limit: float
) -> tuple[Any, ...]:
    """One output row of actual_controllers (columns in the frame's order)."""
    if j < 0 or not own.has_shareholders(j):
        status = ControllerStatus.no_shareholders.value
        return (
            uscc,
            status,
            None,
            None,
            None,
            None,
            np.nan,
            None,
            0.0,
            [],
            "无在册股东，无法追溯实际控制人",
        )
    holders = own.holders[j]
    n_ent, unknown = own.n_ent, own.unknown
    people = [(u, e[0]) for u, e in holders.items() if n_ent <= u < unknown and e[0] > 0]
    firms = [(u, e[0]) for u, e in holders.items() if u < n_ent and e[0] > 0]
    unknown_share = min(holders[unknown][0], 1.0) if unknown in holders else 0.0

    candidate: tuple[Any, ...] = (None, None, np.nan, None)
    person, person_share, tied = -1, 0.0, list[int]()
    top, top_share = -1, 0.0
    if people:
        person, person_share, tied = _largest(people)
        top, top_share = person, person_share
    elif firms:
        top, top_share, tied_firms = _largest(firms)
        # A declared indirect holder names the top of a chain the register knows: it wins a
        # tie with an enterprise the known links stop at (a ministry vs the state).
        declared_top = [u for u in tied_firms if (u, j) in own.declared_indirect]
        if declared_top:
            top = declared_top[0]
    top_path: list[int] = []
    if people or firms:
        top_path = own.path(j, top)
        path = [own.node_id(n) for n in top_path]
        candidate = (own.node_id(top), own.node_type(top), top_share, path)
    reaches = bool(people) and person_share >= limit - _THRESHOLD_TOLERANCE
    owners = [
        {"person_id": own.node_id(u), "effective_share": min(e, 1.0)}
        for u, e in sorted(people, key=lambda p: (-p[1], p[0]))
        if e >= limit - _THRESHOLD_TOLERANCE
    ]
    declared = own.declared.get(j, set())

    if reaches and len(tied) == 1:
        chain = labels.chain(top_path, person_share)
        explanation = f"实际控制人 {labels.node(person)}：{chain}"
        if unknown_share > 0:
            explanation += f"；另有 {_pct(unknown_share)} 股权申报为不明"
        status = ControllerStatus.natural_person.value
        return (
            uscc,
            status,
            candidate[0],
            "person",
            *candidate,
            unknown_share,
            owners,
            explanation,
        )

    status = ControllerStatus.no_natural_person_controller
    if reaches:  # several persons tie at the top: no single controller
        names = "、".join(labels.node(u) for u in tied)
        explanation = f"无单一实际控制人：{names} 并列最终持股 {_pct(person_share)}"
    elif EXEMPT_HOLDER in declared:
        status = ControllerStatus.declared_exempt
        explanation = "受益所有人申报为豁免披露（如上市公司或受保护的受益人），无法确认实际控制人"
    elif (unknown_share > 0 and person_share + unknown_share >= limit - _THRESHOLD_TOLERANCE) or (
        declared and not people and not firms
    ):
        status = ControllerStatus.declared_unknown
        explanation = (
            f"部分股权申报为不明（合计 {_pct(unknown_share)}），无法确认实际控制人"
            if unknown_share > 0
            else "受益所有人申报为不明，无法确认实际控制人"
        )
        if people:
            chain = labels.chain(top_path, person_share)
            explanation += (
                f"；已知最大自然人最终持有人 {labels.node(person)}（{chain}），未达 {_pct(limit)}"
            )
    elif people:
        chain = labels.chain(top_path, person_share)
        explanation = (
            f"无自然人实际控制人：最大自然人最终持有人 {labels.node(person)}"
            f"（{chain}），未达 {_pct(limit)}"
        )
    elif firms:
        chain = labels.chain(top_path, top_share)
        explanation = (
            f"无自然人实际控制人：最终持有人为无在册股东的企业 {labels.node(top)}（{chain}）"
        )
    elif own.closed[j]:
        where = "处于" if own.in_closed_cycle[j] else "其上层股东处于"
        explanation = f"无自然人实际控制人：{where}闭合的循环持股中，股权无法追溯到最终持有人"
    else:
        explanation = "无自然人实际控制人：股东持股比例缺失，无法计算最终持股"
    if unknown_share > 0 and status != ControllerStatus.declared_unknown:
        explanation += f"；另有 {_pct(unknown_share)} 股权申报为不明"
    return (uscc, status.value, None, None, *candidate, unknown_share, owners, explanation)
