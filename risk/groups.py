"""Related-enterprise groups (关联企业群) on control and ownership, and the weaker
shared-person links beside them.

A group is a connected component of the graph whose nodes are enterprises and persons and
whose edges are the *control* roles (:func:`control_mask`) of the chosen types present on
``as_of`` (:func:`risk.dates.roles_present_on`): a legal representative, a branch's head
office, or a shareholder of at least :data:`CONTROL_SHARE`. A person joins the enterprises
they control or represent; a person who only holds a minority stake or an executive post in
two firms does not merge them: that is a shared-person link (:func:`shared_person_links`),
shown beside the group as a weaker relation (弱关联). Linking every shared person, the rule
before issue 15, made one group of 1,719 of a 20,000-enterprise county (one component through
minority shareholders); on control, the largest holds 77 (``bench/groups.py``).

Computed with :func:`scipy.sparse.csgraph.connected_components` on integer indices, so a
province (10⁶ enterprises) takes seconds. A shareholder declared but not identified
(:data:`risk.contract.UNKNOWN_HOLDER`) never links enterprises into a group.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from risk.contract import UNKNOWN_HOLDER, HolderType, Role
from risk.controllers import CONTROL_THRESHOLD
from risk.dates import roles_present_on
from risk.exceptions import InvalidFrameError
from risk.frames import require_frame
from risk.graph.codes import role_text
from risk.validation import check_bool

__all__ = [
    "CONTROL_ROLES",
    "CONTROL_SHARE",
    "GROUP_EDGES",
    "SHARE_TOLERANCE",
    "control_mask",
    "group_statistics",
    "related_groups",
    "shared_person_links",
]

GROUP_EDGES: tuple[Role, ...] = (Role.shareholder, Role.legal_rep, Role.branch_of)
"""The roles that join enterprises into a related group by default (executives do not)."""
_DEFAULT_GROUP_EDGES = GROUP_EDGES

CONTROL_SHARE: Final = CONTROL_THRESHOLD
"""A shareholder holding at least this share (50 %, the 实际控制人 threshold of
:mod:`risk.controllers`) controls the enterprise: its shareholder role joins a group. A smaller
stake is a shared-person link at most."""

SHARE_TOLERANCE: Final = 1e-9
"""Shares are stored as floats: 0.5 parsed from "50%" may sit a rounding error below it."""
CONTROL_ROLES: Final = (Role.legal_rep.value, Role.branch_of.value)
"""The roles that control their enterprise whatever the share (the rest of control is a
shareholding of at least :data:`CONTROL_SHARE`)."""


def control_mask(role: npt.ArrayLike, share: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Which roles are control or ownership: the one rule of what joins a related group.

    A role controls its enterprise when it is the legal representative (法定代表人), the
    head office of a branch (``branch_of``), or a shareholding of at least
    :data:`CONTROL_SHARE`. A shareholding of unknown size and an executive post do not.

    Parameters
    ----------
    role
        Role codes (:class:`risk.contract.Role` values), one per role.
    share
        The shares (NaN or None where unknown), aligned with ``role``.

    Returns
    -------
    ndarray of bool

    Raises
    ------
    ValueError
        If ``role`` and ``share`` differ in length.
    """
    codes = np.asarray(role, dtype=object).astype(str)
    shares = pd.to_numeric(pd.Series(np.asarray(share, dtype=object)), errors="coerce")
    if codes.shape != shares.shape:
        raise ValueError(f"share must have one value per role ({codes.size}); got {shares.size}")
    big = shares.to_numpy(dtype=np.float64, na_value=np.nan) >= CONTROL_SHARE - SHARE_TOLERANCE
    return np.isin(codes, CONTROL_ROLES) | ((codes == Role.shareholder.value) & big)


def _role_set(edge_types: Iterable[Role | str]) -> set[str]:
    if isinstance(edge_types, str):
        raise TypeError("edge_types must be a sequence of roles; got a single str")
    codes = set()
    for value in edge_types:
        try:
            codes.add(Role(value).value)
        except ValueError:
            raise ValueError(
                f"edge_types must contain only {', '.join(Role)}; got {value!r}"
            ) from None
    if not codes:
        raise ValueError("edge_types must name at least one role; got none")
    return codes


def _shares(roles: pd.DataFrame) -> pd.Series:
    if "share" in roles.columns:
        return roles["share"]
    return pd.Series(np.nan, index=roles.index)


def related_groups(
    roles: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    edge_types: Sequence[Role | str] = _DEFAULT_GROUP_EDGES,
    enterprises: pd.DataFrame | None = None,
    *,
    control_only: bool = True,
) -> pd.DataFrame:
    """Find the related-enterprise groups (关联企业群) present on ``as_of``.

    Two enterprises are in one group when a chain of present control roles
    (:func:`control_mask`) of the chosen types joins them: an enterprise controlling another,
    or a person controlling or representing both (same legal representative, same majority
    shareholder, …). The declared-unknown holder :data:`UNKNOWN_HOLDER` links nothing.

    Parameters
    ----------
    roles
        Contract ``roles`` frame.
    as_of
        Snapshot date.
    edge_types
        Role types that link (default: shareholder, legal_rep, branch_of; executive is left
        out because 高管 often serve many unrelated firms of one family office). With
        ``control_only``, only their control roles link (an executive post never does).
    enterprises
        Optional contract ``enterprises`` frame. When given, every enterprise in it gets a row
        (singletons form groups of size 1); otherwise only enterprises touched by a present
        role of the chosen types appear.
    control_only
        True (default): only control roles link. False links every role of the chosen types,
        minority stakes included: the rule before issue 15, kept to measure the change.

    Returns
    -------
    DataFrame
        One row per enterprise, sorted by ``group_id`` then ``uscc``: ``uscc``, ``group_id``
        (``"G"`` + the smallest USCC of the group: stable under reordering of the input and
        under additions elsewhere in the graph) and ``group_size`` (number of enterprises;
        persons are not counted).

    Raises
    ------
    TypeError, ValueError, InvalidFrameError
        For a malformed frame, date, edge type or ``control_only``.

    Notes
    -----
    Nodes are integer indices: enterprises ``0..E-1`` in sorted USCC order (hash-factorised,
    then one sort of the distinct ids), persons after them. The undirected adjacency is one
    COO matrix and the components come from
    :func:`scipy.sparse.csgraph.connected_components`; the group id is found without a Python
    loop because the first enterprise index of each component is its smallest USCC. No Python
    loop anywhere: 10⁶ enterprises with 1.5·10⁶ roles take about 4 s of CPU.
    """
    wanted = _role_set(edge_types)
    check_bool("control_only", control_only)
    present = roles_present_on(roles, as_of)
    present = present.loc[present["role"].astype(str).isin(wanted).to_numpy()]
    # Fixed-width numpy strings: sorting and searching them runs in C, not on Python objects.
    # UNKNOWN holders and minority stakes link nothing, but their enterprises still get a row.
    touched = present["uscc"].to_numpy().astype(str)
    links = (present["holder_id"].astype(str) != UNKNOWN_HOLDER).to_numpy()
    if control_only:
        links = links & control_mask(present["role"], _shares(present))
    present = present.loc[links]
    subject = present["uscc"].to_numpy().astype(str)
    holder = present["holder_id"].to_numpy().astype(str)
    holder_is_ent = (present["holder_type"].astype(str) == HolderType.enterprise.value).to_numpy()

    pieces = [subject, holder[holder_is_ent], touched]
    if enterprises is not None:
        require_frame(enterprises, "enterprises", ("uscc",))
        pieces.append(enterprises["uscc"].dropna().to_numpy().astype(str))
    # Hash-factorise every enterprise id occurrence at once, then rank the distinct ids by
    # sorting them once: index order = USCC order, which makes the group id cheap below.
    codes, uniques = pd.factorize(np.concatenate(pieces))
    sorted_order = np.argsort(np.asarray(uniques, dtype=str), kind="stable")
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[sorted_order] = np.arange(len(uniques))
    ent_ids = np.asarray(uniques, dtype=str)[sorted_order]
    n_ent = len(ent_ids)
    out_cols = ["uscc", "group_id", "group_size"]
    if n_ent == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in out_cols}).astype(
            {"group_size": "int64"}
        )
    n_edges, n_holder_ent = len(subject), int(holder_is_ent.sum())
    person_codes, _ = pd.factorize(holder[~holder_is_ent])
    n_nodes = n_ent + (int(person_codes.max()) + 1 if person_codes.size else 0)

    rows = rank[codes[:n_edges]]
    cols = np.empty(len(holder), dtype=np.int64)
    cols[holder_is_ent] = rank[codes[n_edges : n_edges + n_holder_ent]]
    cols[~holder_is_ent] = n_ent + person_codes
    adjacency = sparse.coo_matrix(
        (np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n_nodes, n_nodes)
    ).tocsr()
    _, labels = connected_components(adjacency, directed=False)
    ent_labels = labels[:n_ent]
    # np.unique's return_index gives the first (= smallest-USCC) enterprise of each component.
    uniq, first = np.unique(ent_labels, return_index=True)
    smallest = np.empty(int(labels.max()) + 1, dtype=ent_ids.dtype)
    smallest[uniq] = ent_ids[first]
    sizes = np.bincount(ent_labels, minlength=int(labels.max()) + 1)
    group_ids = np.char.add("G", smallest[ent_labels])
    # ent_ids is sorted, so a stable sort on group_id keeps uscc order within a group.
    order = np.argsort(group_ids, kind="stable")
    return pd.DataFrame(
        {
            "uscc": pd.Series(ent_ids[order].astype(object), dtype=object),
            "group_id": pd.Series(group_ids[order].astype(object), dtype=object),
            "group_size": sizes[ent_labels][order].astype(np.int64),
        }
    )


def group_statistics(
    groups: pd.DataFrame,
    per_enterprise_values: pd.DataFrame,
    *,
    count: Sequence[str] | None = None,
    total: Sequence[str] | None = None,
    maximum: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Summarise per-enterprise values over related-enterprise groups.

    Parameters
    ----------
    groups
        Output of :func:`related_groups` (``uscc``, ``group_id``, ``group_size``).
    per_enterprise_values
        A frame with ``uscc`` and value columns, e.g. ``is_dishonest`` (bool) and
        ``linked_risk`` (float). Enterprises absent from it count as False / missing.
    count
        Columns whose truthy (non-missing, non-zero) values are counted → ``n_<column>``.
    total
        Numeric columns summed (missing skipped) → ``sum_<column>``.
    maximum
        Numeric columns maximised (missing skipped) → ``max_<column>``.
        When ``count``, ``total`` and ``maximum`` are all None, bool columns are counted and
        the other numeric columns are summed and maximised.

    Returns
    -------
    DataFrame
        One row per group, sorted by ``group_id``: ``group_id``, ``group_size`` and the
        requested statistics.

    Raises
    ------
    InvalidFrameError
        If a frame lacks a required column or a named column.
    """
    require_frame(groups, "groups", ("uscc", "group_id", "group_size"))
    require_frame(per_enterprise_values, "per_enterprise_values", ("uscc",))
    value_cols = [c for c in per_enterprise_values.columns if c != "uscc"]
    if count is None and total is None and maximum is None:
        kinds = per_enterprise_values[value_cols].dtypes
        count = [c for c in value_cols if pd.api.types.is_bool_dtype(kinds[c])]
        numeric = [
            c
            for c in value_cols
            if pd.api.types.is_numeric_dtype(kinds[c]) and not pd.api.types.is_bool_dtype(kinds[c])
        ]
        total, maximum = numeric, numeric
    count, total, maximum = list(count or ()), list(total or ()), list(maximum or ())
    for col in (*count, *total, *maximum):
        if col not in value_cols:
            raise InvalidFrameError(
                f"per_enterprise_values must have column {col!r}; got {', '.join(value_cols)}"
            )
    values = per_enterprise_values.drop_duplicates("uscc", keep="last")
    merged = groups[["uscc", "group_id", "group_size"]].merge(values, on="uscc", how="left")
    by_group = merged.groupby("group_id", sort=True)
    result = by_group["group_size"].first().astype("int64").to_frame()
    for col in count:
        truthy = merged[col].fillna(0).astype(bool)
        result[f"n_{col}"] = truthy.groupby(merged["group_id"]).sum().astype("int64")
    for col in total:
        numbers = pd.to_numeric(merged[col], errors="raise").astype("float64")
        result[f"sum_{col}"] = numbers.groupby(merged["group_id"]).sum(min_count=1)
    for col in maximum:
        numbers = pd.to_numeric(merged[col], errors="raise").astype("float64")
        result[f"max_{col}"] = numbers.groupby(merged["group_id"]).max()
    return result.reset_index()


_LINK_COLUMNS = ("uscc", "other_uscc", "person_id", "roles", "other_roles")


def shared_person_links(
    roles: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    *,
    of: Collection[str] | None = None,
) -> pd.DataFrame:
    """Shared-person links (弱关联): two enterprises in which one person holds present roles,
    not both of them control roles.

    The weaker relation beside the related groups (:func:`related_groups`): the same person as
    a minority shareholder or an executive of two firms, or in control of one and a minority
    holder of the other. When the person controls both, the two firms are in one group and
    the pair is not a weak link. Executives count here (groups leave them out); the
    declared-unknown holder :data:`UNKNOWN_HOLDER` links nothing.

    Parameters
    ----------
    roles
        Contract ``roles`` frame.
    as_of
        Snapshot date.
    of
        Only the links of these enterprises (``uscc`` among them); None: every link.

    Returns
    -------
    DataFrame
        One row per (enterprise, other enterprise, person), both directions, sorted:
        ``uscc``, ``other_uscc``, ``person_id`` (the person's id as stored: mask it before
        showing it to a bank), ``roles`` and ``other_roles`` (the person's roles in each, in
        Chinese: ``股东 10%``, ``高管``).

    Raises
    ------
    TypeError, InvalidFrameError
        For a malformed frame or date.

    Notes
    -----
    A person in n enterprises gives n(n − 1) rows; ``of`` restricts the persons first, so the
    links of one enterprise cost the roles of its persons only.
    """
    present = roles_present_on(roles, as_of)
    person = (present["holder_type"].astype(str) == HolderType.person.value) & (
        present["holder_id"].astype(str) != UNKNOWN_HOLDER
    )
    present = present.loc[person.to_numpy()]
    shares = _shares(present)
    held = pd.DataFrame(
        {
            "uscc": present["uscc"].astype(str).to_numpy(),
            "person_id": present["holder_id"].astype(str).to_numpy(),
            "control": control_mask(present["role"], shares),
            "text": [
                role_text(r, None if pd.isna(v) else float(v))
                for r, v in zip(present["role"], shares, strict=True)
            ],
        }
    )
    if of is not None:
        wanted = {str(u) for u in of}
        mine = held.loc[held["uscc"].isin(wanted), "person_id"].unique()
        held = held.loc[held["person_id"].isin(mine).to_numpy()]
    per_firm = held.groupby(["person_id", "uscc"], sort=True).agg(
        control=("control", "any"), roles=("text", lambda t: "、".join(dict.fromkeys(t)))
    )
    per_firm = per_firm.reset_index()
    left = per_firm if of is None else per_firm.loc[per_firm["uscc"].isin(wanted)]
    pairs = left.merge(per_firm, on="person_id", suffixes=("", "_other"))
    weak = (pairs["uscc"] != pairs["uscc_other"]) & ~(pairs["control"] & pairs["control_other"])
    pairs = pairs.loc[weak.to_numpy()]
    out = pd.DataFrame(
        {
            "uscc": pairs["uscc"].astype(object),
            "other_uscc": pairs["uscc_other"].astype(object),
            "person_id": pairs["person_id"].astype(object),
            "roles": pairs["roles"].astype(object),
            "other_roles": pairs["roles_other"].astype(object),
        },
        columns=list(_LINK_COLUMNS),
    )
    return out.sort_values(["uscc", "other_uscc", "person_id"], kind="stable").reset_index(
        drop=True
    )
