"""A neighbourhood read from the store: the nodes within some hops of a few nodes, every edge
among them, as a :class:`~risk.graph.GraphSnapshot` of its own (:func:`read_ball`), and the
ownership chains above one enterprise (:func:`read_owners`).

An answer about one enterprise — its linked risk explained, its network — needs its
neighbourhood only, never the county: the service reads these with indexed queries (the roles
by enterprise and by holder, the enterprises and persons by id: :mod:`risk.store`), in time and
memory that do not grow with the county.

Why a K-ball gives exact answers
    ``P``'s entries are per edge — the role's weight in its direction × the share, never
    normalised over a node's degree (:mod:`risk.propagation.transmission`) — so ``P``
    restricted to the ball holds the same numbers as on the whole graph. A walk of at most K
    hops that ends at the centre never leaves the centre's K-ball, so the centre's
    ``(Σ_{k=1..K} α^k P^k s)`` on the ball equals its value on the whole graph, and so do
    :func:`risk.explain.explain`'s contributions and walks (they are sums over those walks).
    The values of the ball's other nodes are not exact (their own balls reach further out):
    read them from a score set.

The ball's node indices are its own: enterprises by USCC, then persons by id, then holders
known only from roles (:meth:`GraphSnapshot.from_frames`), so a ball is the same whichever
process reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Engine, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from risk.contract import TABLES, Role
from risk.dates import as_of_timestamp
from risk.graph.snapshot import GraphSnapshot
from risk.store import coerce_frame, contract_table, read_table

__all__ = ["CHUNK", "Ball", "read_ball", "read_in", "read_owners"]

CHUNK = 500
"""Ids per ``IN (…)`` list (SQLite's older builds allow 999 bound parameters a statement)."""

_ROLE_KEY = list(TABLES["roles"].key)
_ROLE_COLUMNS = [*_ROLE_KEY, *(n for n in TABLES["roles"].names if n not in _ROLE_KEY)]
_KEY_LENGTH = len(_ROLE_KEY)
_OWNING = (Role.shareholder.value, Role.branch_of.value)


@dataclass(frozen=True, eq=False)
class Ball:
    """The nodes within ``radius`` hops of ``sources`` as of a date, with every edge among them.

    Attributes
    ----------
    snapshot : GraphSnapshot
        The ball as a graph of its own (node indices its own, module docstring).
    sources : tuple of str
        The ids it was read around (those in the store).
    radius : int
    hops : numpy.ndarray of int64
        Per node index of ``snapshot``: hops from the nearest source.
    """

    snapshot: GraphSnapshot
    sources: tuple[str, ...]
    radius: int
    hops: npt.NDArray[np.int64]

    @property
    def node_ids(self) -> list[str]:
        """The ball's node ids, in its node order."""
        return [str(n) for n in self.snapshot.node_ids]


def _present(day: date) -> list[Any]:
    """The one rule of :func:`risk.dates.present_on`, as SQL: ``start ≤ t < end``."""
    roles = contract_table("roles")
    return [roles.c.start <= day, or_(roles.c.end.is_(None), roles.c.end > day)]


def read_in(
    conn: Connection | Engine,
    table: str,
    column: str,
    ids: Iterable[str],
    where: Sequence[Any] = (),
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rows of a contract table whose ``column`` is one of ``ids``, in chunks of :data:`CHUNK`
    (:func:`risk.store.read_table` with ``where`` besides)."""
    keys = sorted(set(ids))
    target = contract_table(table).c[column]
    parts = [
        read_table(conn, table, columns=columns, where=[*where, target.in_(keys[i : i + CHUNK])])
        for i in range(0, len(keys), CHUNK)
    ]
    return _concat(parts) if parts else _empty(table, columns)


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Row-bind frames of one table; empty ones are left out (their dtypes are not the
    others')."""
    full = [p for p in parts if len(p)]
    if not full:
        return parts[0]
    return pd.concat(full, ignore_index=True) if len(full) > 1 else full[0]


def _empty(table: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    spec = TABLES[table]
    names = list(columns) if columns is not None else list(spec.names)
    return coerce_frame(pd.DataFrame({name: [] for name in names}), spec)


def _roles_touching(
    conn: Connection, ids: Sequence[str], present: Sequence[Any], *, both_ends: bool
) -> Iterator[tuple[Any, ...]]:
    """Raw rows (:data:`_ROLE_COLUMNS`) of the roles whose enterprise — or, with
    ``both_ends``, holder — is one of ``ids``: one indexed query per chunk (the roles' key
    leads with the enterprise, ``ix_roles_holder`` serves the holder)."""
    roles = contract_table("roles")
    columns = [roles.c[name] for name in _ROLE_COLUMNS]
    for i in range(0, len(ids), CHUNK):
        chunk = list(ids[i : i + CHUNK])
        touching: ColumnElement[bool] = roles.c.uscc.in_(chunk)
        if both_ends:
            touching = or_(touching, roles.c.holder_id.in_(chunk))
        yield from (tuple(row) for row in conn.execute(select(*columns).where(*present, touching)))


def read_ball(
    engine: Engine, as_of: date | pd.Timestamp | str, sources: Iterable[str], radius: int
) -> Ball:
    """Read the nodes within ``radius`` hops of ``sources`` and every edge among them.

    Breadth-first, one ring at a time: the roles present on ``as_of`` whose enterprise or
    holder is on the ring (one query per ring, through two indexes), then the roles among the
    last ring's nodes; then the enterprises and persons of the ball.

    Parameters
    ----------
    engine
        A migrated store.
    as_of
        The date the edges are present on.
    sources
        Node ids (USCCs or person ids); ids unknown to the store are left out (with radius 0,
        so are holders known only from roles: no role is read).
    radius
        Hops, ≥ 0.

    Returns
    -------
    Ball

    Raises
    ------
    ValueError
        If ``radius`` is negative or not an integer.
    """
    if isinstance(radius, bool) or not isinstance(radius, int | np.integer) or radius < 0:
        raise ValueError(f"radius must be a non-negative integer; got {radius!r}")
    t = as_of_timestamp(as_of)
    present = _present(t.date())
    start = list(dict.fromkeys(str(s) for s in sources))
    hops: dict[str, int] = dict.fromkeys(start, 0)
    frontier = start
    found: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # role key → row: each role once
    with engine.connect() as conn:
        for hop in range(1, int(radius) + 1):
            if not frontier:
                break
            reached: dict[str, None] = {}
            for row in _roles_touching(conn, frontier, present, both_ends=True):
                found[row[:_KEY_LENGTH]] = row
                reached.update(dict.fromkeys((str(row[0]), str(row[2]))))
            frontier = sorted(n for n in reached if n not in hops)
            hops.update(dict.fromkeys(frontier, hop))
        if frontier:
            # Edges between two nodes of the last ring: their enterprise is on it.
            for row in _roles_touching(conn, frontier, present, both_ends=False):
                if str(row[2]) in hops:
                    found[row[:_KEY_LENGTH]] = row
        ids = list(hops)
        enterprises = read_in(conn, "enterprises", "uscc", ids)
        persons = read_in(conn, "persons", "person_id", ids, columns=["person_id", "name"])
    roles = coerce_frame(
        pd.DataFrame.from_records(list(found.values()), columns=_ROLE_COLUMNS), TABLES["roles"]
    )
    snapshot = GraphSnapshot.from_frames(
        enterprises.sort_values("uscc", ignore_index=True),
        persons.sort_values("person_id", ignore_index=True),
        roles,
        t,
    )
    # Ids that are neither in the store nor on a role (a USCC nobody registered) drop out.
    in_store = [s for s in start if snapshot.node_ids.get_indexer([s])[0] >= 0]
    distance = np.array([hops[str(n)] for n in snapshot.node_ids], dtype=np.int64)
    return Ball(snapshot=snapshot, sources=tuple(in_store), radius=int(radius), hops=distance)


def read_owners(
    engine: Engine, as_of: date | pd.Timestamp | str, uscc: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The shareholder and branch roles above ``uscc`` on ``as_of``, up every chain.

    Breadth-first up the chains, each holder once (cycle-safe), so that
    :func:`risk.controllers.actual_controllers` sees every chain above the enterprise and
    nothing else.

    Returns
    -------
    roles, enterprises, persons : pandas.DataFrame
        Contract frames: the roles found, and the enterprises (all columns) and persons
        (``person_id``, ``name``) they name, ``uscc`` included.
    """
    t = as_of_timestamp(as_of)
    owning = [*_present(t.date()), contract_table("roles").c.role.in_(_OWNING)]
    parts: list[pd.DataFrame] = []
    seen, frontier = {uscc}, [uscc]
    with engine.connect() as conn:
        while frontier:
            above = read_in(conn, "roles", "uscc", frontier, owning)
            parts.append(above)
            holders = set(above["holder_id"].astype(str))
            frontier = sorted(holders - seen)
            seen |= holders
        enterprises = read_in(conn, "enterprises", "uscc", seen)
        persons = read_in(conn, "persons", "person_id", seen, columns=["person_id", "name"])
    roles = _concat(parts).drop_duplicates(_ROLE_KEY, ignore_index=True)
    return roles, enterprises, persons
