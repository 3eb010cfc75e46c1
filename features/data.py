"""The platform's six tables, normalised once, for point-in-time features.

:class:`PlatformData` is what every feature, eligibility and training function reads. It is
built from the store (:meth:`PlatformData.from_store`), from contract frames such as
:func:`risk.synth.generate_county` returns (:meth:`PlatformData.from_frames`), or from either
(:meth:`PlatformData.from_source`, the ``engine_or_frames`` edge of the training entry points).

Normalisation, done once here and nowhere else:

- every table gets the contract's dtypes (:func:`risk.store.coerce_frame`); a table that is
  absent becomes an empty frame with the contract's columns;
- records without a 公示截止期 get the one :func:`risk.publicity.resolve_publicity` derives
  (ingest stores it; generator frames leave it empty), so :func:`risk.publicity.active_mask`
  answers "is this record active on t" the same way for frames and for the store;
- financial periods (``YYYY`` or ``YYYYQn``) get their first and last day
  (``period_start``, ``period_end``) and length (``period_months``).

Nothing here looks at dates: the point-in-time cut is made by the consumers, per application.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Engine

from risk.contract import TABLES, EnterpriseStatus, HolderType
from risk.dates import as_of_timestamp
from risk.frames import require_frame
from risk.graph import ROLE_CODES
from risk.publicity import resolve_publicity
from risk.rules import existing_on
from risk.store import coerce_frame, read_table

__all__ = ["GraphArrays", "PlatformData"]

_REQUIRED: Mapping[str, tuple[str, ...]] = {
    "enterprises": ("uscc", "kind", "status", "founded"),
    "persons": ("person_id",),
    "roles": ("uscc", "holder_type", "holder_id", "role", "start"),
    "records": ("record_id", "subject_type", "subject_id", "kind", "domain", "severity", "decided"),
    "financials": ("uscc", "period"),
    "loans": ("loan_id", "uscc", "applied", "status", "status_date"),
}


@dataclass(frozen=True, eq=False)
class GraphArrays:
    """The roles table as integer arrays, for :meth:`risk.graph.GraphSnapshot.from_arrays`.

    Built once per :class:`PlatformData`; a snapshot on any date is then cut from these arrays
    without touching a string again.

    Attributes
    ----------
    node_ids : pandas.Index
        Enterprises (table order), then persons, then holders known only from roles.
    is_person : numpy.ndarray of bool
    holder, target, role : numpy.ndarray of int
        Node indices and role codes (:data:`risk.graph.ROLE_CODES`) per role row.
    share : numpy.ndarray of float64
    start, end : numpy.ndarray of datetime64[s]
    n_enterprises : int
        Nodes ``0 .. n_enterprises - 1`` are the registered enterprises.
    """

    node_ids: pd.Index
    is_person: np.ndarray
    holder: np.ndarray
    target: np.ndarray
    role: np.ndarray
    share: np.ndarray
    start: np.ndarray
    end: np.ndarray
    n_enterprises: int


@dataclass(frozen=True, eq=False)
class PlatformData:
    """The six contract tables with contract dtypes and derived publicity ends.

    Construct with :meth:`from_frames`, :meth:`from_store` or :meth:`from_source`.

    Attributes
    ----------
    enterprises, persons, roles, records, financials, loans : pandas.DataFrame
        Contract columns (``financials`` also ``period_start``, ``period_end``,
        ``period_months``).
    """

    enterprises: pd.DataFrame
    persons: pd.DataFrame
    roles: pd.DataFrame
    records: pd.DataFrame
    financials: pd.DataFrame
    loans: pd.DataFrame

    @classmethod
    def from_frames(cls, tables: Mapping[str, pd.DataFrame]) -> PlatformData:
        """Normalise contract frames (e.g. ``generate_county(...).tables``).

        Parameters
        ----------
        tables
            Table name → frame. ``enterprises`` is required; the other tables may be absent
            (they become empty).

        Returns
        -------
        PlatformData

        Raises
        ------
        TypeError
            If ``tables`` is not a mapping of DataFrames.
        ValueError
            If a table name is unknown or ``enterprises`` is missing.
        InvalidFrameError
            If a frame lacks a column the features need.
        """
        if not isinstance(tables, Mapping):
            raise TypeError(f"tables must be a mapping of DataFrames; got {type(tables).__name__}")
        unknown = sorted(set(tables) - set(TABLES))
        if unknown:
            raise ValueError(f"tables keys must be among {', '.join(TABLES)}; got {unknown[0]!r}")
        if "enterprises" not in tables:
            raise ValueError("tables must include 'enterprises'; got none")
        frames: dict[str, pd.DataFrame] = {}
        for name, spec in TABLES.items():
            frame = tables.get(name)
            if frame is None:
                frame = pd.DataFrame({column: [] for column in spec.names})
            frame = require_frame(frame, f"tables[{name!r}]", _REQUIRED[name]).copy()
            for column in spec.names:  # optional contract columns absent from the frame
                if column not in frame.columns:
                    frame[column] = None
            frames[name] = coerce_frame(frame[list(spec.names)], spec).reset_index(drop=True)
        return cls(
            enterprises=frames["enterprises"],
            persons=frames["persons"],
            roles=frames["roles"],
            records=_with_publicity(frames["records"]),
            financials=_with_periods(frames["financials"]),
            loans=frames["loans"],
        )

    @classmethod
    def from_store(cls, engine: Engine) -> PlatformData:
        """Read the six tables from a migrated store.

        Parameters
        ----------
        engine
            From :func:`risk.store.open_engine`.

        Returns
        -------
        PlatformData
        """
        return cls.from_frames({name: read_table(engine, name) for name in TABLES})

    @classmethod
    def from_source(
        cls, source: PlatformData | Engine | Mapping[str, pd.DataFrame]
    ) -> PlatformData:
        """Accept a :class:`PlatformData`, a store engine or a mapping of contract frames.

        Raises
        ------
        TypeError
            For any other type.
        """
        if isinstance(source, PlatformData):
            return source
        if isinstance(source, Engine):
            return cls.from_store(source)
        if isinstance(source, Mapping):
            return cls.from_frames(source)
        raise TypeError(
            "source must be a PlatformData, a SQLAlchemy Engine or a mapping of contract "
            f"frames; got {type(source).__name__}"
        )

    # ------------------------------------------------------------------ derived, cached

    @cached_property
    def graph_arrays(self) -> GraphArrays:
        """The roles as integer arrays over one node index (built on first use)."""
        ent_ids = self.enterprises["uscc"].astype(str).to_numpy()
        per_ids = self.persons["person_id"].astype(str).to_numpy()
        roles = self.roles
        holder_ids = roles["holder_id"].astype(str).to_numpy()
        target_ids = roles["uscc"].astype(str).to_numpy()
        holder_is_person = (roles["holder_type"] == HolderType.person.value).to_numpy()
        known = pd.Index(np.concatenate([ent_ids, per_ids]))
        extra_ent = pd.Index(
            np.concatenate([target_ids, holder_ids[~holder_is_person]])
        ).difference(known)
        extra_per = pd.Index(holder_ids[holder_is_person]).difference(known)
        node_ids = pd.Index(
            np.concatenate([ent_ids, per_ids, extra_ent.to_numpy(), extra_per.to_numpy()]),
            dtype="str",
        )
        is_person = np.zeros(len(node_ids), dtype=bool)
        is_person[len(ent_ids) : len(ent_ids) + len(per_ids)] = True
        is_person[len(ent_ids) + len(per_ids) + len(extra_ent) :] = True
        codes = {role.value: code for code, role in enumerate(ROLE_CODES)}
        return GraphArrays(
            node_ids=node_ids,
            is_person=is_person,
            holder=node_ids.get_indexer(holder_ids),
            target=node_ids.get_indexer(target_ids),
            role=roles["role"].map(codes).to_numpy(dtype=np.int8),
            share=roles["share"].to_numpy(dtype=np.float64),
            start=roles["start"].to_numpy(dtype="datetime64[s]"),
            end=roles["end"].to_numpy(dtype="datetime64[s]"),
            n_enterprises=len(ent_ids),
        )

    @cached_property
    def record_nodes(self) -> np.ndarray:
        """Node index (in :attr:`graph_arrays`) of each record's subject; -1 when unknown."""
        ids = self.records["subject_id"].astype(str).to_numpy()
        return np.asarray(self.graph_arrays.node_ids.get_indexer(ids), dtype=np.int64)

    def active_on(
        self, uscc: npt.ArrayLike, on: npt.ArrayLike | date | pd.Timestamp | str
    ) -> npt.NDArray[np.bool_]:
        """Whether each enterprise was active (存续) on its date.

        Active on t: registered here, existing on t (:func:`risk.rules.existing_on`: founded
        on or before t and not closed by t), and either its status is ``active`` or it has a
        closing date — a deregistered or revoked enterprise without a date counts as closed
        already.

        Parameters
        ----------
        uscc
            Enterprise ids.
        on
            One date, or one date per id.

        Returns
        -------
        numpy.ndarray of bool
        """
        ids = np.asarray(uscc, dtype=object).astype(str)
        ents = self.enterprises
        position = pd.Index(ents["uscc"].astype(str)).get_indexer(ids)
        found = position >= 0
        rows = ents.iloc[np.where(found, position, 0)].reset_index(drop=True)
        t = _as_dates(on, len(ids))
        exists = np.zeros(len(ids), dtype=bool)
        for day in np.unique(t):
            same = t == day
            exists[same] = existing_on(rows.loc[same], pd.Timestamp(day))
        dated_or_active = (rows["status"] == EnterpriseStatus.active.value).to_numpy() | rows[
            "closed"
        ].notna().to_numpy()
        return np.asarray(found & exists & dated_or_active, dtype=bool)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(getattr(self, name)):,}" for name in TABLES)
        return f"PlatformData({sizes})"


def _as_dates(on: Any, n: int) -> npt.NDArray[np.datetime64]:
    if isinstance(on, date | pd.Timestamp | str | np.datetime64):
        return np.full(n, as_of_timestamp(on).to_datetime64(), dtype="datetime64[s]")
    return np.asarray(pd.to_datetime(pd.Series(on)).to_numpy(), dtype="datetime64[s]")


def _with_publicity(records: pd.DataFrame) -> pd.DataFrame:
    """Fill missing regimes and publicity ends (:func:`risk.publicity.resolve_publicity`).

    Rows of the store already carry both; generator frames carry neither (or only the end).
    """
    todo = records["regime"].isna().to_numpy()
    if not todo.any():
        return records
    out = records.copy()
    resolved = resolve_publicity(out.loc[todo])
    out.loc[todo, "publicity_end"] = resolved["publicity_end"].to_numpy(dtype="datetime64[s]")
    out.loc[todo, "regime"] = resolved["regime"].to_numpy(dtype=object)
    return out


def _with_periods(financials: pd.DataFrame) -> pd.DataFrame:
    """Add each period's first and last day and its length in months (YYYY or YYYYQn)."""
    period = financials["period"].astype(str)
    year = pd.to_numeric(period.str.slice(0, 4), errors="coerce")
    quarter = pd.to_numeric(period.str.slice(5, 6), errors="coerce")
    is_quarter = (period.str.len() == 6).to_numpy() & quarter.notna().to_numpy()
    first_month = np.where(is_quarter, 3 * (quarter.fillna(1).to_numpy() - 1) + 1, 1)
    months = np.where(is_quarter, 3, 12)
    start = pd.Series(
        pd.to_datetime({"year": year.fillna(1970).to_numpy(), "month": first_month, "day": 1}),
        dtype="datetime64[s]",
    )
    end = start.copy()
    for length in (3, 12):
        rows = months == length
        end[rows] = start[rows] + pd.DateOffset(months=length)
    out = financials.copy()
    out["period_start"] = start.to_numpy()
    out["period_end"] = (end - pd.Timedelta(days=1)).to_numpy(dtype="datetime64[s]")
    out["period_months"] = months.astype(np.int64)
    return out
