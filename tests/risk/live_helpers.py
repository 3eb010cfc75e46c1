"""Helpers of the live-update tests: tiny counties by hand or at random, a published score
set, and the comparison of the current set (with its deltas) against a full recompute."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from risk.batch import run_risk_batch
from risk.config import RiskConfig
from risk.identifiers import make_uscc
from risk.ingest import ingest_frame
from risk.live import LiveResult, apply_records
from risk.scoresets import EVENT_FIELDS, begin_set, publish, read_kind, write_kind

AS_OF = date(2026, 6, 30)
SALT = b"live-update-tests-salt"
TABLE_ORDER = ("enterprises", "persons", "roles", "records")


def code(n: int) -> str:
    """A valid USCC of a company of 来安县 (341122)."""
    return make_uscc("9", "1", "341122", f"MA{n:07d}")


def enterprise(n: int, founded: str = "2015-03-01", **extra: Any) -> dict[str, Any]:
    return {
        "uscc": code(n),
        "name": f"来安县测试{n}有限公司",
        "kind": "company",
        "status": "active",
        "industry": "C",
        "region": "341122",
        "registered_capital": 100.0,
        "founded": founded,
        **extra,
    }


def person(pid: str) -> dict[str, Any]:
    return {
        "person_id": pid,
        "name": f"张{pid}",
        "id_hash": hashlib.sha256(pid.encode()).hexdigest(),
        "id_masked": "341122********0011",
    }


def role(
    uscc: str,
    holder: str,
    kind: str,
    start: str = "2016-01-01",
    *,
    holder_type: str = "person",
    share: float | None = None,
    end: str | None = None,
) -> dict[str, Any]:
    return {
        "uscc": uscc,
        "holder_type": holder_type,
        "holder_id": holder,
        "role": kind,
        "share": share,
        "start": start,
        "end": end,
    }


def record(
    record_id: str,
    subject: str,
    kind: str,
    decided: str,
    *,
    severity: str = "general",
    domain: str = "market_regulation",
    subject_type: str = "enterprise",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "subject_type": subject_type,
        "subject_id": subject,
        "kind": kind,
        "domain": domain,
        "severity": severity,
        "authority": "来安县市场监督管理局",
        "decided": decided,
        **extra,
    }


def ingest_county(engine: Engine, tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Ingest hand-made tables in dependency order; every row must be accepted."""
    for name in TABLE_ORDER:
        rows = list(tables.get(name, ()))
        if not rows:
            continue
        summary = ingest_frame(engine, rows, name, source=f"test {name}", id_salt=SALT)
        assert summary.status == "ok" and summary.quarantined == 0, summary.message


def publish_set(engine: Engine, config: RiskConfig, as_of: date = AS_OF) -> float:
    """A full batch published as the current set (as ``credlink pipeline run`` without
    models); returns the linked-risk threshold it froze."""
    batch = run_risk_batch(engine, as_of, config)
    set_id = begin_set(
        engine,
        as_of,
        config_digest=config.digest(),
        config={**config.flat_params(), "linked_threshold_value": batch.linked_threshold},
    )
    for kind, frame in batch.frames(engine).items():
        write_kind(engine, set_id, kind, frame)
    publish(engine, set_id)
    return batch.linked_threshold


def _same(a: Any, b: Any) -> bool:
    a_missing = a is None or (isinstance(a, float) and math.isnan(a))
    b_missing = b is None or (isinstance(b, float) and math.isnan(b))
    if a_missing or b_missing:
        return a_missing and b_missing
    if isinstance(a, float | np.floating) or isinstance(b, float | np.floating):
        return bool(np.isclose(float(a), float(b), rtol=1e-9, atol=1e-12))
    return bool(a == b)


def differences(expected: pd.DataFrame, actual: pd.DataFrame) -> list[str]:
    """Where two frames indexed by subject differ (their index, or a cell)."""
    out = []
    if set(expected.index) != set(actual.index):
        extra = sorted(set(actual.index) - set(expected.index))[:3]
        missing = sorted(set(expected.index) - set(actual.index))[:3]
        out.append(f"subjects differ: extra {extra}, missing {missing}")
    common = expected.index.intersection(actual.index)
    for column in expected.columns:
        a = expected.loc[common, column].to_numpy(dtype=object)
        b = actual.loc[common, column].to_numpy(dtype=object)
        wrong = [i for i in range(len(common)) if not _same(a[i], b[i])]
        if wrong:
            i = wrong[0]
            out.append(f"{column}: {len(wrong)} differ, e.g. {common[i]} {a[i]!r} ≠ {b[i]!r}")
    return out


def assert_equals_full_recompute(engine: Engine, config: RiskConfig, threshold: float) -> None:
    """Every kind of the current set (deltas applied) equals a fresh batch of its date with
    the frozen threshold, and that batch's upsert finds nothing left to write."""
    full = run_risk_batch(engine, AS_OF, config, linked_threshold=threshold)
    summary = full.warnings
    assert (summary.created, summary.updated, summary.reopened) == (0, 0, 0), summary
    for kind, frame in full.frames(engine).items():
        stored = read_kind(engine, kind)
        expected = frame.set_index("subject_id")
        problems = differences(expected, stored[expected.columns])
        assert not problems, f"{kind}: {problems}"


def current_rows(engine: Engine) -> dict[str, pd.DataFrame]:
    """The risk, grades and warnings rows of the current set (deltas applied)."""
    return {kind: read_kind(engine, kind) for kind in ("risk", "grades", "warnings")}


def expected_events(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> set[Any]:
    """(subject, event kind, before, after) of every change between two views of a set."""
    out = set()
    for event, (kind, column) in EVENT_FIELDS.items():
        if kind not in before:
            continue
        old, new = before[kind][column], after[kind][column]
        for subject in old.index.union(new.index):
            a = old.get(subject)
            b = new.get(subject)
            if not _same(a, b):
                out.add((subject, event, _plain(a), _plain(b)))
    return out


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def event_set(events: pd.DataFrame) -> set[Any]:
    return {
        (r.subject_id, r.kind, _plain(r.before), _plain(r.after))
        for r in events.itertuples(index=False)
    }


def apply(engine: Engine, table: str, rows: list[dict[str, Any]], **kwargs: Any) -> LiveResult:
    """A live update of the tests' county (their salt and as-of)."""
    return apply_records(
        engine, table, rows, kwargs.pop("config", RiskConfig()), id_salt=SALT, **kwargs
    )


def random_county(
    seed: int, enterprises: int = 14, persons: int = 9
) -> dict[str, list[dict[str, Any]]]:
    """A small random county: legal reps, shareholders (persons and enterprises), executives,
    branches, ended roles, young enterprises, records of every kind on enterprises and persons,
    some repaired — dates spread so that each record weighs differently."""
    rng = np.random.default_rng(seed)
    start = AS_OF - timedelta(days=900)

    def day(low: date = start, high: date = AS_OF) -> str:
        return (low + timedelta(days=int(rng.integers(0, (high - low).days + 1)))).isoformat()

    ents = []
    for i in range(enterprises):
        young = rng.random() < 0.3
        founded = (
            day(AS_OF - timedelta(days=600), AS_OF - timedelta(days=30)) if young else "2012-05-01"
        )
        ents.append(enterprise(100 * seed + i, founded=founded))
    ids = [e["uscc"] for e in ents]
    people = [person(f"S{seed}P{j:02d}") for j in range(persons)]
    pids = [p["person_id"] for p in people]
    roles: dict[tuple[Any, ...], dict[str, Any]] = {}

    def add(r: dict[str, Any]) -> None:
        roles.setdefault((r["uscc"], r["holder_type"], r["holder_id"], r["role"], r["start"]), r)

    for e in ents:
        begin = e["founded"]
        rep = str(rng.choice(pids))
        if rng.random() < 0.25:  # the legal rep changed once
            old = str(rng.choice(pids))
            add(
                role(
                    e["uscc"],
                    old,
                    "legal_rep",
                    begin,
                    end="2025-01-01" if begin < "2025-01-01" else None,
                )
            )
            if begin < "2025-01-01":
                begin = "2025-01-01"
        add(role(e["uscc"], rep, "legal_rep", begin))
        for _ in range(int(rng.integers(1, 3))):
            if rng.random() < 0.35:
                holder = str(rng.choice(ids))
                if holder != e["uscc"]:
                    add(
                        role(
                            e["uscc"],
                            holder,
                            "shareholder",
                            begin,
                            holder_type="enterprise",
                            share=round(float(rng.uniform(0.1, 0.7)), 2),
                        )
                    )
            else:
                add(
                    role(
                        e["uscc"],
                        str(rng.choice(pids)),
                        "shareholder",
                        begin,
                        share=round(float(rng.uniform(0.1, 0.9)), 2),
                    )
                )
        if rng.random() < 0.3:
            add(role(e["uscc"], str(rng.choice(pids)), "executive", begin))
        if rng.random() < 0.1:
            parent = str(rng.choice(ids))
            if parent != e["uscc"]:
                add(role(e["uscc"], parent, "branch_of", begin, holder_type="enterprise"))
    kinds = [
        "administrative_penalty", "administrative_penalty", "administrative_penalty",
        "dishonest_debtor", "serious_dishonesty_list", "tax_violation", "abnormal_operation",
        "judgment_debtor", "commitment", "commitment_breach", "wage_arrears",
    ]  # fmt: skip
    domains = ["market_regulation", "taxation", "ecology_environment", "work_safety"]
    records = []
    for k in range(int(enterprises * 2.2)):
        on_person = rng.random() < 0.2
        kind = "dishonest_debtor" if on_person else str(rng.choice(kinds))
        decided = day()
        extra: dict[str, Any] = {}
        if rng.random() < 0.1:
            extra["repaired"] = day(date.fromisoformat(decided), AS_OF)
        records.append(
            record(
                f"S{seed}R{k:03d}",
                str(rng.choice(pids)) if on_person else str(rng.choice(ids)),
                kind,
                decided,
                severity=str(rng.choice(["minor", "general", "serious"])),
                domain="court"
                if kind in ("dishonest_debtor", "judgment_debtor")
                else str(rng.choice(domains)),
                subject_type="person" if on_person else "enterprise",
                **extra,
            )
        )
    return {
        "enterprises": ents,
        "persons": people,
        "roles": list(roles.values()),
        "records": records,
    }
