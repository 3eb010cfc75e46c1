"""Eligibility (准入): the hard rules of 失信联合惩戒 applied before any score.

An application by enterprise E on date t is declined, with reasons in Chinese and English,
when (each rule configurable in :class:`EligibilityPolicy`):

``inactive``
    E is not active (存续) on t: not registered on the platform, not yet founded, or closed
    (注销 / 吊销) by t (:meth:`features.data.PlatformData.active_on`);
``enterprise_<kind>``
    E has an active record of a blocking kind on t — by default on the 严重失信主体名单
    (``serious_dishonesty_list``) or a 失信被执行人 (``dishonest_debtor``);
``legal_rep_<kind>``
    E's legal representative (法定代表人) on t has an active record of a blocking kind — by
    default a 失信被执行人 or on the 严重失信主体名单.

"Active" is :func:`risk.publicity.active_mask` on t, the one rule of DESIGN.md §2: repaired
(信用修复), removed and expired records never decline. Each reason names its record (文号 /
案号) and decision date; legal representatives who are persons are shown masked (``张*``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.data import PlatformData
from features.precredit import validate_applications
from risk.contract import (
    NEGATIVE_KINDS,
    EnterpriseStatus,
    HolderType,
    RecordKind,
    Role,
    SubjectType,
    zh_label,
)
from risk.identifiers import mask_name
from risk.publicity import active_mask
from risk.validation import check_bool

__all__ = ["ELIGIBILITY_COLUMNS", "EligibilityPolicy", "assess_eligibility"]

ELIGIBILITY_COLUMNS = ("eligible", "decline_codes", "decline_reasons_zh", "decline_reasons_en")


def _kinds(name: str, value: object) -> frozenset[RecordKind]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a collection of record kinds; got {type(value).__name__}")
    kinds = set()
    for item in value:
        try:
            kind = RecordKind(item)
        except ValueError:
            raise ValueError(
                f"{name} must hold negative record kinds ({', '.join(sorted(NEGATIVE_KINDS))}); "
                f"got {item!r}"
            ) from None
        if kind not in NEGATIVE_KINDS:
            raise ValueError(
                f"{name} must hold negative record kinds ({', '.join(sorted(NEGATIVE_KINDS))}); "
                f"got {item!r}"
            )
        kinds.add(kind)
    return frozenset(kinds)


@dataclass(frozen=True)
class EligibilityPolicy:
    """The hard decline rules (frozen, validated).

    Parameters
    ----------
    require_active
        Decline enterprises that are not active on the date (default on).
    enterprise_kinds
        Record kinds that decline when the enterprise has an active one (default 严重失信主体名单
        and 失信被执行人).
    legal_rep_kinds
        Record kinds that decline when the legal representative has an active one (default
        失信被执行人 and 严重失信主体名单).

    Raises
    ------
    TypeError
        If a field has the wrong type.
    ValueError
        If a kind is unknown or positive (红名单, 许可, 承诺 never decline).
    """

    require_active: bool = True
    enterprise_kinds: frozenset[RecordKind] = field(
        default_factory=lambda: frozenset(
            {RecordKind.serious_dishonesty_list, RecordKind.dishonest_debtor}
        )
    )
    legal_rep_kinds: frozenset[RecordKind] = field(
        default_factory=lambda: frozenset(
            {RecordKind.dishonest_debtor, RecordKind.serious_dishonesty_list}
        )
    )

    def __post_init__(self) -> None:
        check_bool("require_active", self.require_active)
        object.__setattr__(
            self, "enterprise_kinds", _kinds("enterprise_kinds", self.enterprise_kinds)
        )
        object.__setattr__(self, "legal_rep_kinds", _kinds("legal_rep_kinds", self.legal_rep_kinds))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return {
            "require_active": self.require_active,
            "enterprise_kinds": sorted(k.value for k in self.enterprise_kinds),
            "legal_rep_kinds": sorted(k.value for k in self.legal_rep_kinds),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EligibilityPolicy:
        """Rebuild a policy from :meth:`to_dict` output."""
        return cls(
            require_active=bool(data["require_active"]),
            enterprise_kinds=frozenset(RecordKind(k) for k in data["enterprise_kinds"]),
            legal_rep_kinds=frozenset(RecordKind(k) for k in data["legal_rep_kinds"]),
        )


def _kind_en(kind: str) -> str:
    return kind.replace("_", " ")


def _day(value: object) -> str:
    return pd.Timestamp(value).date().isoformat()


def _active_records(
    records: pd.DataFrame, pairs: pd.DataFrame, kinds: frozenset[RecordKind]
) -> pd.DataFrame:
    """Rows of ``pairs`` (row, subject_id, t, …) joined to their active records of ``kinds``."""
    recs = records[records["kind"].isin([k.value for k in kinds]).to_numpy()]
    joined = pairs.merge(
        recs[
            ["subject_id", "record_id", "kind", "decided", "publicity_end", "repaired", "removed"]
        ],
        on="subject_id",
    )
    if not len(joined):
        return joined
    active = active_mask(
        joined["decided"],
        joined["publicity_end"],
        joined["repaired"],
        joined["removed"],
        joined["t"].to_numpy(dtype="datetime64[s]"),
    )
    return joined[active].sort_values(["row", "decided", "record_id"], kind="stable")


def assess_eligibility(
    data: PlatformData, applications: pd.DataFrame, policy: EligibilityPolicy | None = None
) -> pd.DataFrame:
    """Apply the decline rules to each application on its date.

    Parameters
    ----------
    data
        The platform's tables.
    applications
        Columns ``uscc`` and ``as_of``.
    policy
        Default ``EligibilityPolicy()``.

    Returns
    -------
    pandas.DataFrame
        Same index: ``eligible`` (bool) and, per row, lists ``decline_codes``,
        ``decline_reasons_zh`` and ``decline_reasons_en`` (empty when eligible).

    Raises
    ------
    TypeError
        If ``data`` or ``policy`` has the wrong type.
    """
    if not isinstance(data, PlatformData):
        raise TypeError(f"data must be a PlatformData; got {type(data).__name__}")
    policy = EligibilityPolicy() if policy is None else policy
    if not isinstance(policy, EligibilityPolicy):
        raise TypeError(f"policy must be an EligibilityPolicy; got {type(policy).__name__}")
    apps = validate_applications(applications)
    n = len(apps)
    uscc = apps["uscc"].to_numpy(dtype=object)
    t = apps["as_of"].to_numpy(dtype="datetime64[s]")
    codes: dict[int, list[str]] = defaultdict(list)
    zh: dict[int, list[str]] = defaultdict(list)
    en: dict[int, list[str]] = defaultdict(list)

    if policy.require_active:
        _inactive(data, uscc, t, codes, zh, en)

    base = pd.DataFrame({"row": np.arange(n), "subject_id": uscc, "t": t})
    if policy.enterprise_kinds:
        recs = data.records
        about_enterprises = recs[(recs["subject_type"] == SubjectType.enterprise.value).to_numpy()]
        hits = _active_records(about_enterprises, base, policy.enterprise_kinds)
        for r in hits.itertuples(index=False):
            code = f"enterprise_{r.kind}"
            label = zh_label(RecordKind(r.kind))
            codes[r.row].append(code)
            zh[r.row].append(f"企业有有效的{label}记录（{r.record_id}，{_day(r.decided)} 起）")
            en[r.row].append(
                f"The enterprise has an active {_kind_en(r.kind)} record ({r.record_id}, "
                f"since {_day(r.decided)})"
            )
    if policy.legal_rep_kinds:
        _legal_reps(data, base, policy.legal_rep_kinds, codes, zh, en)

    eligible = np.ones(n, dtype=bool)
    eligible[list(codes)] = False
    return pd.DataFrame(
        {
            "eligible": eligible,
            "decline_codes": [codes.get(i, []) for i in range(n)],
            "decline_reasons_zh": [zh.get(i, []) for i in range(n)],
            "decline_reasons_en": [en.get(i, []) for i in range(n)],
        },
        index=apps.index,
    )


def _inactive(
    data: PlatformData,
    uscc: np.ndarray,
    t: np.ndarray,
    codes: dict[int, list[str]],
    zh: dict[int, list[str]],
    en: dict[int, list[str]],
) -> None:
    inactive = np.flatnonzero(~data.active_on(uscc, t))
    if not inactive.size:
        return
    ents = data.enterprises.set_index(data.enterprises["uscc"].astype(str))
    for row in inactive.tolist():
        day = _day(t[row])
        codes[row].append("inactive")
        if uscc[row] not in ents.index:
            zh[row].append("平台无该企业的登记信息")
            en[row].append("The enterprise is not registered on the platform")
            continue
        ent = ents.loc[uscc[row]]
        if pd.Timestamp(ent["founded"]) > pd.Timestamp(t[row]):
            zh[row].append(f"企业于 {_day(ent['founded'])} 成立，{day} 尚未成立")
            en[row].append(f"The enterprise was founded on {_day(ent['founded'])}, after {day}")
            continue
        status = EnterpriseStatus(ent["status"])
        since = "" if pd.isna(ent["closed"]) else _day(ent["closed"])
        zh[row].append(
            f"企业在 {day} 不处于存续状态（{zh_label(status)} {since}）".replace(" ）", "）")
        )
        en[row].append(
            f"The enterprise was not active on {day} ({status.value} {since})".replace(" )", ")")
        )


def _legal_reps(
    data: PlatformData,
    base: pd.DataFrame,
    kinds: frozenset[RecordKind],
    codes: dict[int, list[str]],
    zh: dict[int, list[str]],
    en: dict[int, list[str]],
) -> None:
    roles = data.roles[(data.roles["role"] == Role.legal_rep.value).to_numpy()]
    reps = base.rename(columns={"subject_id": "uscc"}).merge(
        roles[["uscc", "holder_type", "holder_id", "start", "end"]], on="uscc"
    )
    # Present on each row's own date: start ≤ t < end (the rule of
    # risk.ownership.roles_present_on, which takes one date for all rows).
    t = reps["t"].to_numpy(dtype="datetime64[s]")
    start = reps["start"].to_numpy(dtype="datetime64[s]")
    end = reps["end"].to_numpy(dtype="datetime64[s]")
    present = (start <= t) & (np.isnat(end) | (t < end))
    reps = reps[present].rename(columns={"holder_id": "subject_id"})
    hits = _active_records(data.records, reps[["row", "subject_id", "t", "holder_type"]], kinds)
    if not len(hits):
        return
    names = dict(zip(data.persons["person_id"].astype(str), data.persons["name"], strict=True))
    ent_names = dict(
        zip(data.enterprises["uscc"].astype(str), data.enterprises["name"], strict=True)
    )
    for r in hits.itertuples(index=False):
        if r.holder_type == HolderType.person.value:
            raw = names.get(str(r.subject_id))
            who = mask_name(str(raw)) if isinstance(raw, str) and raw.strip() else "未登记自然人"
        else:
            who = str(ent_names.get(str(r.subject_id), r.subject_id))
        label = zh_label(RecordKind(r.kind))
        codes[r.row].append(f"legal_rep_{r.kind}")
        zh[r.row].append(
            f"法定代表人 {who} 有有效的{label}记录（{r.record_id}，{_day(r.decided)} 起）"
        )
        en[r.row].append(
            f"The legal representative {who} has an active {_kind_en(r.kind)} record "
            f"({r.record_id}, since {_day(r.decided)})"
        )
