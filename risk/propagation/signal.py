"""The own signal: what each record weighs on a date (:func:`record_signal`), and the records
that can carry one read from the store (:func:`read_signal_records`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Engine

from risk.contract import NEGATIVE_KINDS, RecordKind, Severity
from risk.dates import as_of_timestamp
from risk.exceptions import MissingColumnsError
from risk.graph.ball import read_in
from risk.propagation.config import PropagationConfig
from risk.publicity import active_mask
from risk.store import contract_table, read_table

__all__ = ["read_signal_records", "record_signal"]

_SIGNAL_COLUMNS = ("subject_id", "kind", "severity", "decided")


def record_signal(
    records: pd.DataFrame, as_of: date | pd.Timestamp | str, config: PropagationConfig
) -> npt.NDArray[np.float64]:
    """Signal of each record on ``as_of``: weight(kind) · mult(severity) · 0.5^(age/half-life).

    Parameters
    ----------
    records
        Contract records with ``kind``, ``severity``, ``decided`` and optionally
        ``publicity_end``, ``repaired``, ``removed`` (datetime64).
    as_of
        The date the signal is computed on.
    config
        The weights and half-life.

    Returns
    -------
    numpy.ndarray of float64
        One value per record, 0 for records that are not active on ``as_of`` (decided by
        :func:`risk.publicity.active_mask`) and for positive kinds.

    Raises
    ------
    MissingColumnsError
        If a required column is missing.
    ValueError
        On an unknown kind, or an unknown severity on an active negative record.
    """
    if not isinstance(records, pd.DataFrame):
        raise TypeError(f"records must be a pandas DataFrame; got {type(records).__name__}")
    missing = [c for c in _SIGNAL_COLUMNS[1:] if c not in records.columns]
    if missing:
        raise MissingColumnsError("records", missing, "record_signal")
    t = as_of_timestamp(as_of)
    n = len(records)
    if n == 0:
        return np.zeros(0, dtype=np.float64)

    kinds = records["kind"].astype(object).to_numpy()
    kind_weight = pd.Series(kinds).map(
        {
            **{k.value: 0.0 for k in RecordKind},
            **{k.value: w for k, w in config.kind_weights.items()},
        }
    )
    if kind_weight.isna().any():
        bad = kinds[kind_weight.isna().to_numpy()][0]
        raise ValueError(f"records.kind must be one of {', '.join(RecordKind)}; got {bad!r}")
    weight = kind_weight.to_numpy(dtype=np.float64)

    active = active_mask(
        records["decided"],
        records.get("publicity_end"),
        records.get("repaired"),
        records.get("removed"),
        t,
    )
    counts = active & (weight > 0)
    severities = records["severity"].astype(object).to_numpy()
    multiplier = (
        pd.Series(severities)
        .map({s.value: m for s, m in config.severity_multipliers.items()})
        .to_numpy(dtype=np.float64)
    )
    unknown = counts & np.isnan(multiplier)
    if unknown.any():
        bad = severities[unknown][0]
        raise ValueError(f"records.severity must be one of {', '.join(Severity)}; got {bad!r}")

    decided = np.asarray(pd.to_datetime(records["decided"]).to_numpy(), dtype="datetime64[s]")
    age_days = (t.to_datetime64() - decided) / np.timedelta64(1, "D")
    with np.errstate(invalid="ignore", over="ignore"):
        decay = np.exp2(-age_days / config.half_life_days)
        signal = np.where(counts, weight * multiplier * decay, 0.0)
    return np.asarray(signal, dtype=np.float64)


def read_signal_records(
    engine: Engine,
    as_of: date | pd.Timestamp | str,
    subject_ids: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Read the records that can carry a signal on ``as_of`` from the store.

    The query keeps negative kinds decided on or before ``as_of`` (a superset of the active
    records); :func:`record_signal` then applies :func:`risk.publicity.active_mask`, the one
    rule for whether a record counts.

    Parameters
    ----------
    engine
        A migrated store.
    as_of
        The date.
    subject_ids
        Restrict to these subjects (e.g. the K-hop ball of a node to explain).

    Returns
    -------
    pandas.DataFrame
        Contract records.
    """
    t = as_of_timestamp(as_of)
    table = contract_table("records")
    where: list[Any] = [
        table.c.decided <= t.date(),
        table.c.kind.in_(sorted(k.value for k in NEGATIVE_KINDS)),
    ]
    if subject_ids is None:
        return read_table(engine, "records", where=where)
    return read_in(engine, "records", "subject_id", subject_ids, where)
