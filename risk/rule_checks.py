"""The six warning rules checked over every enterprise at once (:func:`evaluate_rules`).

What each rule fires on, its levels, domains and evidence are documented with the rules
themselves in :mod:`risk.rules`; this module holds the checks: vectorised pandas over the
contract frames of :class:`~risk.rules.RuleInputs`, one :class:`~risk.rules.RuleHit` per
enterprise and rule. The linked-risk rule computes linked risk with the propagation settings of
the :class:`~risk.config.RiskConfig` it is given, the one the service and the models use.

Over 600 lines because it is one concept: the six checks read one ``_Context`` (the frames of a
run, indexed once) and share its helpers (windows, per-subject entries, frequency levels);
apart, each check would reach into the others' private details.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from risk.config import RiskConfig
from risk.contract import (
    NEGATIVE_KINDS,
    Domain,
    HolderType,
    RecordKind,
    Role,
    Severity,
    SubjectType,
    zh_label,
)
from risk.dates import as_of_timestamp
from risk.explain import explain
from risk.graph import GraphSnapshot, role_text
from risk.identifiers import mask_name
from risk.propagation import PropagationConfig, RiskPropagator
from risk.publicity import active_mask
from risk.rules import (
    DOMAIN_ORDER,
    Entry,
    Level,
    Rule,
    RuleConfig,
    RuleHit,
    RuleInputs,
    ThresholdMode,
    date_column,
    existing_on,
    make_hit,
)
from risk.snapshot import ScoredSnapshot

__all__ = ["cited_ids", "evaluate_rules", "linked_threshold"]

_SEVERITY_RANK: Mapping[str, int] = MappingProxyType(
    {Severity.minor.value: 0, Severity.general.value: 1, Severity.serious.value: 2}
)


class _Context:
    """Everything the rules share for one run: the date, the active mask, the names."""

    def __init__(
        self,
        data: RuleInputs,
        as_of: pd.Timestamp,
        config: RuleConfig,
        propagation: PropagationConfig,
        scored: ScoredSnapshot | None = None,
        linked_threshold: float | None = None,
    ) -> None:
        self.t = as_of
        self.config = config
        self.propagation = propagation
        self.scored = scored
        self.linked_threshold = linked_threshold
        ents = data.enterprises
        exists = existing_on(ents, as_of)
        ids = ents["uscc"].astype(str)
        self.enterprises = ents.assign(
            uscc=ids,
            founded=date_column(ents, "founded"),
            closed=date_column(ents, "closed"),
            exists=exists,
        )
        self.gone = frozenset(ids[~exists])
        records = data.records.copy()
        for column in ("decided", "publicity_end", "repaired", "removed"):
            records[column] = date_column(records, column)
        records["subject_id"] = records["subject_id"].astype(str)
        records = records[records["decided"] <= as_of]
        records["record_id"] = cited_ids(records)
        records["active"] = active_mask(
            records["decided"],
            records["publicity_end"],
            records["repaired"],
            records["removed"],
            as_of,
        )
        records["negative"] = records["kind"].isin([k.value for k in NEGATIVE_KINDS])
        self.all_records = records
        self.records = records[records["subject_type"] == SubjectType.enterprise.value]
        names = dict(zip(ids, ents["name"].astype(object), strict=True))
        if "subject_name" in records.columns:
            for subject, name in zip(
                self.records["subject_id"], self.records["subject_name"], strict=True
            ):
                if subject not in names and isinstance(name, str) and name.strip():
                    names[subject] = name
        self.names = names
        self.persons = dict(
            zip(
                data.persons["person_id"].astype(str),
                data.persons["name"].astype(object),
                strict=True,
            )
        )
        self.data = data

    def name(self, uscc: str) -> str:
        value = self.names.get(uscc)
        return value if isinstance(value, str) and value.strip() else uscc

    def holder_name(self, holder_type: str, holder_id: str) -> str:
        if holder_type == HolderType.person.value:
            value = self.persons.get(holder_id)
            if not isinstance(value, str) or not value.strip():
                return "未登记自然人"
            return mask_name(value)
        return self.name(holder_id)

    def active_enterprise_records(self) -> pd.DataFrame:
        recs = self.records
        return recs[recs["active"].to_numpy() & ~recs["subject_id"].isin(self.gone).to_numpy()]


def cited_ids(records: pd.DataFrame) -> pd.Series:
    """The id evidence cites each record by: its 文号, followed by its authority in full-width
    brackets (``罚〔2025〕1号（某县生态环境局）``) when the same subject has a record of the same
    文号 from another authority.

    Records are keyed by (record_id, authority); evidence names records by these ids, so two
    authorities' records of one subject numbered alike stay two records in a warning (its
    counts, the repaired record kept apart from a later violation, "new evidence"). The rule
    reads only the subject's own records, and the caller passes those decided by the date
    evaluated: a record's id never changes because an unrelated authority numbers a record of
    another subject alike, nor because of records decided later, so a closed warning does not
    reopen with false new evidence and an evaluation of a past date is stable. Every other
    record keeps the plain 文号 it always had (and its warnings their fingerprints).
    """
    ids = records["record_id"].astype(str)
    if "authority" not in records or records.empty:
        return ids
    authority = records["authority"].fillna("").astype(str)
    subject = [records["subject_id"].astype(str).to_numpy(), ids.to_numpy()]
    if "subject_type" in records:
        subject.insert(0, records["subject_type"].astype(str).to_numpy())
    issuers = authority.groupby(subject).transform("nunique")
    shared = (issuers > 1).to_numpy()
    return ids.where(~shared, ids + "（" + authority + "）")


def _iso(values: pd.Series) -> list[str]:
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d").tolist()


def _by_subject(frame: pd.DataFrame) -> dict[str, list[Entry]]:
    """The records of each subject as evidence entries, by decision date then id.

    Built once per frame with plain lists: per-hit pandas calls would cost seconds.
    """
    ordered = frame.sort_values(["subject_id", "decided", "record_id"], kind="stable")
    out: dict[str, list[Entry]] = {}
    for subject, record_id, kind, domain, severity, decided in zip(
        ordered["subject_id"].tolist(),
        ordered["record_id"].tolist(),
        ordered["kind"].astype(str).tolist(),
        ordered["domain"].astype(str).tolist(),
        ordered["severity"].astype(str).tolist(),
        _iso(ordered["decided"]),
        strict=True,
    ):
        out.setdefault(subject, []).append(
            {
                "record_id": record_id,
                "kind": kind,
                "domain": domain,
                "severity": severity,
                "decided": decided,
            }
        )
    return out


def _rank(entry: Entry) -> int:
    return _SEVERITY_RANK.get(entry["severity"], 1)


def _severity_rank(frame: pd.DataFrame) -> pd.Series:
    return frame["severity"].map(_SEVERITY_RANK).fillna(1).astype(int)


def _domain_counts(entries: Sequence[Entry]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry["domain"]] = counts.get(entry["domain"], 0) + 1
    return {d: counts[d] for d in sorted(counts, key=DOMAIN_ORDER.__getitem__)}


def _penalties(ctx: _Context) -> pd.DataFrame:
    config = ctx.config
    recs = ctx.active_enterprise_records()
    start = ctx.t - pd.DateOffset(months=config.window_months)
    keep = (
        recs["kind"].isin([k.value for k in config.penalty_kinds])
        & (recs["decided"] > start)
        & (_severity_rank(recs) >= _SEVERITY_RANK[config.penalty_min_severity.value])
    )
    return recs[keep.to_numpy()]


def _frequency_level(entries: Sequence[Entry], counted: int, config: RuleConfig) -> Level:
    top = max(_rank(e) for e in entries)
    if top >= 2 or counted >= config.escalate_count:
        return Level.red
    return Level.yellow if top == 0 else Level.orange


def _window(ctx: _Context) -> dict[str, str]:
    start = ctx.t - pd.DateOffset(months=ctx.config.window_months)
    return {"after": start.date().isoformat(), "until": ctx.t.date().isoformat()}


def _frequency_hit(
    ctx: _Context, rule: Rule, uscc: str, entries: list[Entry], summary: str, counted: int
) -> RuleHit:
    """The hit of a frequency rule: the penalties in the window, counted per domain."""
    per_domain = _domain_counts(entries)
    evidence = {
        "record_ids": [e["record_id"] for e in entries],
        "records": entries,
        "window": _window(ctx),
        "counts": per_domain,
        "summary": summary,
    }
    level = _frequency_level(entries, counted, ctx.config)
    return make_hit(uscc, rule, level, per_domain, evidence, ctx.t)


def _same_domain(ctx: _Context, penalties: pd.DataFrame) -> list[RuleHit]:
    config = ctx.config
    counts = penalties.groupby(["subject_id", "domain"]).size()
    frequent = counts[counts >= config.same_domain_min_count]
    if frequent.empty:
        return []
    keys = pd.MultiIndex.from_frame(penalties[["subject_id", "domain"]])
    hits = []
    for uscc, entries in sorted(_by_subject(penalties[keys.isin(frequent.index)]).items()):
        per_domain = _domain_counts(entries)
        summary = "；".join(f"{zh_label(Domain(d))}领域 {n} 次处罚" for d, n in per_domain.items())
        counted = max(per_domain.values())
        hits.append(_frequency_hit(ctx, Rule.same_domain_frequent, uscc, entries, summary, counted))
    return hits


def _multi_domain(ctx: _Context, penalties: pd.DataFrame) -> list[RuleHit]:
    config = ctx.config
    per = penalties.groupby("subject_id").agg(
        domains=("domain", "nunique"), total=("record_id", "size")
    )
    caught = per[
        (per["domains"] >= config.multi_domain_min_domains)
        & (per["total"] >= config.multi_domain_min_total)
    ].index
    hits = []
    for uscc, entries in sorted(
        _by_subject(penalties[penalties["subject_id"].isin(caught)]).items()
    ):
        summary = f"{len(_domain_counts(entries))} 个领域共 {len(entries)} 次处罚"
        counted = len(entries)
        hits.append(_frequency_hit(ctx, Rule.multi_domain_repeat, uscc, entries, summary, counted))
    return hits


def _reoffences(ctx: _Context) -> pd.DataFrame:
    recs = ctx.active_enterprise_records()
    kinds = [k.value for k in ctx.config.reoffence_kinds]
    chosen = recs[recs["kind"].isin(kinds).to_numpy()]
    return chosen[["record_id", "subject_id", "kind", "domain", "severity", "decided"]]


def _reoffence_hits(
    ctx: _Context,
    rule: Rule,
    pairs: pd.DataFrame,
    earlier: str,
    earlier_date: str,
    labels: tuple[str, str, str],
) -> list[RuleHit]:
    """Hits of 违诺 / 修复后再犯 from (earlier record, later violation) pairs."""
    list_name, earlier_key, date_key = labels
    violations = _by_subject(pairs.drop_duplicates("record_id"))
    ordered = pairs.sort_values(["subject_id", "decided", "record_id", earlier], kind="stable")
    pair_lists: dict[str, list[Entry]] = {}
    for subject, first, first_day, later in zip(
        ordered["subject_id"].tolist(),
        ordered[earlier].tolist(),
        _iso(ordered[earlier_date]),
        ordered["record_id"].tolist(),
        strict=True,
    ):
        pair_lists.setdefault(subject, []).append(
            {earlier_key: first, date_key: first_day, "violation": later}
        )
    what = "信用承诺" if rule == Rule.after_commitment else "信用修复"
    hits = []
    for uscc, entries in sorted(violations.items()):
        linked_pairs = pair_lists[uscc]
        firsts = sorted({p[earlier_key] for p in linked_pairs})
        evidence = {
            "record_ids": [*firsts, *(e["record_id"] for e in entries)],
            "records": entries,
            list_name: firsts,
            "pairs": linked_pairs,
            "summary": f"{what}后 {len(entries)} 条失信记录",
        }
        top = max(_rank(e) for e in entries)
        level = {2: Level.red, 1: Level.orange}.get(top, Level.yellow)
        hits.append(make_hit(uscc, rule, level, (e["domain"] for e in entries), evidence, ctx.t))
    return hits


def _after_commitment(ctx: _Context, later: pd.DataFrame) -> list[RuleHit]:
    months = ctx.config.reoffence_window_months
    recs = ctx.records
    commitments = recs[recs["kind"] == RecordKind.commitment.value]
    if commitments.empty or later.empty:
        return []
    pairs = commitments[
        ["record_id", "subject_id", "decided", "publicity_end", "repaired", "removed"]
    ].merge(later, on="subject_id", suffixes=("_c", ""))
    in_force = active_mask(
        pairs["decided_c"],
        pairs["publicity_end"],
        pairs["repaired"],
        pairs["removed"],
        pairs["decided"],
    )
    ends = pairs["decided_c"] + pd.DateOffset(months=months)
    keep = (pairs["decided"] > pairs["decided_c"]) & (pairs["decided"] < ends) & in_force
    return _reoffence_hits(
        ctx,
        Rule.after_commitment,
        pairs[keep.to_numpy()],
        "record_id_c",
        "decided_c",
        ("commitments", "commitment", "committed"),
    )


def _after_repair(ctx: _Context, later: pd.DataFrame) -> list[RuleHit]:
    months = ctx.config.reoffence_window_months
    recs = ctx.records
    repaired = recs[
        (recs["negative"] & recs["repaired"].notna() & (recs["repaired"] <= ctx.t)).to_numpy()
    ]
    if repaired.empty or later.empty:
        return []
    pairs = repaired[["record_id", "subject_id", "repaired"]].merge(
        later, on="subject_id", suffixes=("_r", "")
    )
    ends = pairs["repaired"] + pd.DateOffset(months=months)
    keep = (
        (pairs["decided"] > pairs["repaired"])
        & (pairs["decided"] < ends)
        & (pairs["record_id"] != pairs["record_id_r"])
    )
    return _reoffence_hits(
        ctx,
        Rule.after_repair,
        pairs[keep.to_numpy()],
        "record_id_r",
        "repaired",
        ("repaired_records", "repaired_record", "repaired"),
    )


def _linked(ctx: _Context) -> list[RuleHit]:
    config = ctx.config
    own = ctx.active_enterprise_records()
    own = own[own["negative"].to_numpy()]
    if own.empty:
        return []
    data = ctx.data
    records = ctx.all_records
    if ctx.scored is not None:
        snapshot, propagator, scores = ctx.scored.snapshot, ctx.scored.propagator, ctx.scored.scores
    else:
        snapshot = GraphSnapshot.from_frames(data.enterprises, data.persons, data.roles, ctx.t)
        propagator = RiskPropagator(ctx.propagation).fit(snapshot)
        scores = propagator.score(records)
    existing = ctx.enterprises.loc[ctx.enterprises["exists"].to_numpy(), "uscc"]
    if existing.empty:
        return []
    linked = scores.linked_risk[snapshot.indices_of(existing)]
    if ctx.linked_threshold is not None:
        threshold = ctx.linked_threshold
    else:
        threshold = linked_threshold(config, linked)
    with_own = existing.isin(own["subject_id"]).to_numpy()
    candidates = existing[with_own & (linked >= threshold) & (linked > 0)]
    if candidates.empty:
        return []
    others = propagator.linked_risk_excluding_self(scores, candidates)
    caught = others[(others >= threshold) & (others > 0)].sort_index()
    own_entries = _by_subject(own[own["subject_id"].isin(caught.index)])
    hits = []
    for uscc, value in caught.items():
        mine = own_entries[str(uscc)]
        explanation = explain(
            snapshot, scores, records, str(uscc), top=config.linked_top_sources + len(mine)
        )
        sources = [s for s in explanation.sources if not s.from_self]
        sources = sources[: config.linked_top_sources]
        evidence = {
            "record_ids": [*(e["record_id"] for e in mine), *(s.record_id for s in sources)],
            "records": mine,
            "linked_risk": round(float(value), 6),
            "threshold": round(threshold, 6),
            "threshold_mode": config.linked_threshold_mode.value,
            "sources": [
                {
                    "record_id": s.record_id,
                    "kind": s.kind.value,
                    "domain": s.domain.value,
                    "subject_name": s.subject_name,
                    "subject_type": s.subject_type,
                    "contribution": round(s.contribution, 6),
                    "path": s.sentence,
                }
                for s in sources
            ],
            "related": sorted(
                {s.subject_id for s in sources if s.subject_type == "enterprise"} - {uscc}
            ),
            "summary": (
                f"关联风险 {value:.3f} ≥ 阈值 {threshold:.3f}，且本企业有在公示期内的失信记录"
            ),
        }
        level = Level.orange if max(_rank(e) for e in mine) >= 2 else Level.yellow
        hits.append(
            make_hit(
                str(uscc), Rule.linked_risk, level, (e["domain"] for e in mine), evidence, ctx.t
            )
        )
    return hits


def _major(roles: pd.DataFrame, min_share: float) -> np.ndarray:
    share = pd.to_numeric(roles["share"]).to_numpy(dtype=np.float64)
    role = roles["role"].astype(str).to_numpy()
    with np.errstate(invalid="ignore"):
        big = share >= min_share - 1e-12
    return np.asarray(
        (role == Role.legal_rep.value) | ((role == Role.shareholder.value) & big), dtype=bool
    )


def _shell_ties(ctx: _Context, young: pd.Series, listed: pd.Index) -> pd.DataFrame:
    """Rows (young uscc, holder, role in it, listed uscc, role there, tie end) of 换壳 paths."""
    t = ctx.t
    roles = ctx.data.roles
    roles = pd.DataFrame(
        {
            "uscc": roles["uscc"].astype(str),
            "holder_type": roles["holder_type"].astype(str),
            "holder_id": roles["holder_id"].astype(str),
            "role": roles["role"].astype(str),
            "share": (pd.to_numeric(roles["share"]) if "share" in roles.columns else np.nan),
            "start": date_column(roles, "start"),
            "end": date_column(roles, "end"),
        }
    )
    begun = roles[(roles["start"] <= t).to_numpy() & _major(roles, ctx.config.shell_min_share)]
    present = begun[(begun["end"].isna() | (begun["end"] > t)).to_numpy()]
    holders = present.loc[
        present["uscc"].isin(young).to_numpy(),
        ["uscc", "holder_type", "holder_id", "role", "share"],
    ]
    ties = begun.loc[
        begun["uscc"].isin(listed).to_numpy(),
        ["uscc", "holder_type", "holder_id", "role", "share", "end"],
    ]
    via = holders.merge(ties, on=["holder_type", "holder_id"], suffixes=("", "_listed"))
    via = via[(via["uscc"] != via["uscc_listed"]).to_numpy()]
    direct = holders[
        (
            (holders["holder_type"] == HolderType.enterprise.value)
            & holders["holder_id"].isin(listed)
            & (holders["holder_id"] != holders["uscc"])
        ).to_numpy()
    ]
    direct = direct.assign(
        uscc_listed=direct["holder_id"],
        role_listed=None,
        share_listed=np.nan,
        end=pd.Series(pd.NaT, index=direct.index, dtype="datetime64[s]"),
    )
    frames = [f for f in (via, direct) if len(f)]
    if not frames:
        return via
    return pd.concat(frames, ignore_index=True).sort_values(
        ["uscc", "uscc_listed", "holder_type", "holder_id", "role", "role_listed"],
        kind="stable",
    )


def _shell(ctx: _Context) -> list[RuleHit]:
    config = ctx.config
    ents = ctx.enterprises
    young_from = ctx.t - pd.DateOffset(months=config.shell_age_months)
    young = ents.loc[(ents["exists"] & (ents["founded"] > young_from)).to_numpy(), "uscc"]
    recs = ctx.records
    listed_records = recs[
        (recs["active"] & recs["kind"].isin([k.value for k in config.shell_list_kinds])).to_numpy()
    ]
    if young.empty or listed_records.empty:
        return []
    ties = _shell_ties(ctx, young, pd.Index(listed_records["subject_id"].unique()))
    if ties.empty:
        return []
    by_listed = _by_subject(listed_records)
    own = ctx.active_enterprise_records()
    own_negative = set(own.loc[own["negative"].to_numpy(), "subject_id"])
    founded = dict(zip(ents["uscc"], _iso(ents["founded"]), strict=True))

    # One path per (young enterprise, holder, listed enterprise), its roles joined.
    paths: dict[str, dict[tuple[str, str, str], dict[str, Any]]] = {}
    for row in ties.itertuples(index=False):
        key = (row.holder_type, row.holder_id, row.uscc_listed)
        path = paths.setdefault(row.uscc, {}).setdefault(
            key, {"roles": [], "roles_listed": [], "current": False}
        )
        text = role_text(row.role, row.share)
        if text not in path["roles"]:
            path["roles"].append(text)
        if not pd.isna(row.role_listed):
            listed_text = role_text(row.role_listed, row.share_listed)
            if listed_text not in path["roles_listed"]:
                path["roles_listed"].append(listed_text)
        path["current"] |= pd.isna(row.end) or row.end > ctx.t

    hits = []
    for uscc in sorted(paths):
        # 换壳 is founding a new firm after the old one was listed: only list records decided
        # strictly before the founding day count (ISO dates compare as strings). The old rule
        # (``shell_founded_after_listing`` False) keeps every active list record.
        cited = {
            u: [
                e
                for e in by_listed[u]
                if e["decided"] < founded[uscc] or not config.shell_founded_after_listing
            ]
            for u in {key[2] for key in paths[uscc]}
        }
        tied = {key: path for key, path in paths[uscc].items() if cited[key[2]]}
        if not tied:
            continue
        listed_ids = sorted({key[2] for key in tied})
        sources = [e for u in listed_ids for e in cited[u]]
        described = [
            _shell_path(ctx, key, path, cited[key[2]])
            for key, path in list(tied.items())[: config.shell_max_paths]
        ]
        after_listing = founded[uscc] >= min(e["decided"] for e in sources)
        evidence = {
            "record_ids": [e["record_id"] for e in sources],
            "records": sources,
            "founded": founded[uscc],
            "founded_after_listing": after_listing,
            "paths": described,
            "n_paths": len(tied),
            "related": listed_ids,
            "summary": (
                f"成立于 {founded[uscc]} 的企业，其法定代表人或主要股东关联 {len(listed_ids)} "
                f"家严重失信主体" + ("（成立于其列入名单之后）" if after_listing else "")
            ),
        }
        if uscc in own_negative:
            level = Level.red
        else:
            level = Level.orange if after_listing else Level.yellow
        domains = [Domain.market_regulation.value, *(e["domain"] for e in sources)]
        hits.append(make_hit(uscc, Rule.suspected_shell, level, domains, evidence, ctx.t))
    return hits


def _shell_path(
    ctx: _Context, key: tuple[str, str, str], path: Mapping[str, Any], listed: Sequence[Entry]
) -> dict[str, Any]:
    holder_type, holder_id, listed_uscc = key
    holder = ctx.holder_name(holder_type, holder_id)
    listed_name = ctx.name(listed_uscc)
    roles = "、".join(path["roles"])
    kinds = "、".join(dict.fromkeys(zh_label(RecordKind(e["kind"])) for e in listed))
    listing = f"{listed_name} 被列入{kinds}（{listed[0]['decided']} 起）"
    if path["roles_listed"]:
        tense = "现任" if path["current"] else "曾任"
        sentence = (
            f"{roles} {holder} {tense} {listed_name} {'、'.join(path['roles_listed'])}；{listing}"
        )
    else:
        sentence = f"{roles} {holder}：{listing}"
    return {
        "holder": holder,
        "holder_type": holder_type,
        "roles": path["roles"],
        "listed_uscc": listed_uscc,
        "listed_name": listed_name,
        "roles_in_listed": path["roles_listed"],
        "current": bool(path["current"]) if path["roles_listed"] else None,
        "record_ids": [e["record_id"] for e in listed],
        "sentence": sentence,
    }


def linked_threshold(config: RuleConfig, linked: npt.ArrayLike) -> float:
    """The linked-risk rule's threshold over the linked risk of the existing enterprises:
    their ``config.linked_threshold`` quantile, or the absolute value (its mode)."""
    if config.linked_threshold_mode == ThresholdMode.quantile:
        values = np.asarray(linked, dtype=np.float64)
        return float(np.quantile(values, config.linked_threshold)) if values.size else 0.0
    return float(config.linked_threshold)


def evaluate_rules(
    data: RuleInputs,
    as_of: date | pd.Timestamp | str,
    config: RiskConfig | None = None,
    *,
    scored: ScoredSnapshot | None = None,
    linked_threshold: float | None = None,
) -> list[RuleHit]:
    """Run the warning rules over every enterprise on ``as_of``.

    Parameters
    ----------
    data
        The contract frames (:meth:`RuleInputs.from_store` reads them from the store).
    as_of
        The run date: records decided later are ignored, and only records active on it (by
        :func:`risk.publicity.active_mask`) trigger.
    config
        The risk settings: the rules' thresholds (``config.rules``) and the propagation of
        the ``linked_risk`` rule (``config.propagation``); ``None`` means ``RiskConfig()``.
    scored
        The graph of ``data`` on ``as_of`` already scored with ``config`` (a batch run scores
        it once for the rules, the grades and the score set); None scores it here.
    linked_threshold
        The linked-risk rule's threshold value, fixed (a live update keeps the one its score
        set was computed with: the quantile is over every enterprise); None computes it
        (:func:`linked_threshold`).

    Returns
    -------
    list of RuleHit
        At most one hit per (enterprise, rule), ordered by rule then USCC.

    Raises
    ------
    TypeError
        If ``data`` is not :class:`RuleInputs` or ``config`` not :class:`RiskConfig`.
    """
    if not isinstance(data, RuleInputs):
        raise TypeError(f"data must be RuleInputs; got {type(data).__name__}")
    config = RiskConfig() if config is None else config
    if not isinstance(config, RiskConfig):
        raise TypeError(f"config must be a RiskConfig; got {type(config).__name__}")
    rules = config.rules
    if scored is not None and scored.config.propagation != config.propagation:
        raise ValueError("scored was computed with another propagation than config's")
    ctx = _Context(
        data, as_of_timestamp(as_of), rules, config.propagation, scored, linked_threshold
    )
    hits: list[RuleHit] = []
    penalties = _penalties(ctx)
    later = _reoffences(ctx)
    if Rule.same_domain_frequent in rules.rules:
        hits += _same_domain(ctx, penalties)
    if Rule.multi_domain_repeat in rules.rules:
        hits += _multi_domain(ctx, penalties)
    if Rule.after_commitment in rules.rules:
        hits += _after_commitment(ctx, later)
    if Rule.after_repair in rules.rules:
        hits += _after_repair(ctx, later)
    if Rule.linked_risk in rules.rules:
        hits += _linked(ctx)
    if Rule.suspected_shell in rules.rules:
        hits += _shell(ctx)
    kept = [h for h in hits if h.uscc not in ctx.gone]
    for hit in kept:
        hit.evidence["enterprise_name"] = ctx.names.get(hit.uscc)
    return kept
