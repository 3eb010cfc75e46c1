"""Tiny hand-made platforms: a few enterprises, persons, roles and records per test."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from features.data import PlatformData
from risk.contract import TABLES
from risk.identifiers import make_uscc

# Valid USCCs for hand-made enterprises A, B, C, … (company prefix, county 341100).
USCC = {
    letter: make_uscc("9", "1", "341100", f"MA00000{i:02d}")
    for i, letter in enumerate("ABCDEFGHIJ")
}


def enterprise(letter: str, **values: Any) -> dict[str, Any]:
    """An active company founded 2015-01-01 unless ``values`` say otherwise."""
    row = {
        "uscc": USCC[letter],
        "name": f"{letter}公司",
        "kind": "company",
        "status": "active",
        "industry": "C",
        "region": "341100",
        "registered_capital": 100.0,
        "founded": "2015-01-01",
        "closed": None,
    }
    row.update(values)
    return row


def record(record_id: str, subject: str, kind: str, decided: str, **values: Any) -> dict[str, Any]:
    """A general-severity record of an enterprise (by letter) or a person (by id)."""
    is_person = subject.startswith("P")
    row = {
        "record_id": record_id,
        "subject_type": "person" if is_person else "enterprise",
        "subject_id": subject if is_person else USCC[subject],
        "kind": kind,
        "domain": "court"
        if kind in ("dishonest_debtor", "judgment_debtor")
        else "market_regulation",
        "severity": "general",
        "decided": decided,
    }
    row.update(values)
    return row


def role(
    letter: str, holder: str, kind: str = "legal_rep", start: str = "2015-01-01", **values: Any
) -> dict[str, Any]:
    """A role of a person (``P…``) or an enterprise (by letter) in enterprise ``letter``."""
    is_person = holder.startswith("P")
    row = {
        "uscc": USCC[letter],
        "holder_type": "person" if is_person else "enterprise",
        "holder_id": holder if is_person else USCC[holder],
        "role": kind,
        "share": None,
        "start": start,
        "end": None,
    }
    row.update(values)
    return row


def platform(
    enterprises: Iterable[Mapping[str, Any]],
    *,
    persons: Iterable[str] = (),
    roles: Iterable[Mapping[str, Any]] = (),
    records: Iterable[Mapping[str, Any]] = (),
    financials: Iterable[Mapping[str, Any]] = (),
    loans: Iterable[Mapping[str, Any]] = (),
) -> PlatformData:
    """A :class:`PlatformData` from row dicts (absent columns are empty)."""

    def frame(name: str, rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
        data = pd.DataFrame(list(rows))
        for column in TABLES[name].names:
            if column not in data:
                data[column] = None
        return data[list(TABLES[name].names)]

    person_rows = [
        {"person_id": p, "name": f"张{p[-1]}明", "id_hash": "h" * 64, "id_masked": "3****"}
        for p in persons
    ]
    return PlatformData.from_frames(
        {
            "enterprises": frame("enterprises", enterprises),
            "persons": frame("persons", person_rows),
            "roles": frame("roles", roles),
            "records": frame("records", records),
            "financials": frame("financials", financials),
            "loans": frame("loans", loans),
        }
    )


def apps(*pairs: tuple[str, str]) -> pd.DataFrame:
    """Applications ``(letter, date)``."""
    return pd.DataFrame({"uscc": [USCC[p[0]] for p in pairs], "as_of": [p[1] for p in pairs]})


def roles_rewritten_after(
    roles: pd.DataFrame, t0: pd.Timestamp, person: str, uscc: Iterable[str], role: str
) -> pd.DataFrame:
    """The roles with every fact after ``t0`` rewritten (for leakage tests): ends after t0
    moved to the next day, roles starting after t0 handed to ``person``, and a new ``role``
    of ``person`` in each enterprise of ``uscc`` from two days after t0."""
    day = pd.Timedelta(days=1)
    roles = roles.copy()
    roles.loc[roles["end"] > t0, "end"] = t0 + day
    starting_later = roles["start"] > t0
    roles.loc[starting_later, "holder_id"] = person
    roles.loc[starting_later, "holder_type"] = "person"
    new_roles = pd.DataFrame(
        {
            "uscc": list(uscc),
            "holder_type": "person",
            "holder_id": person,
            "role": role,
            "start": t0 + 2 * day,
        }
    )
    return pd.concat([roles, new_roles], ignore_index=True).drop_duplicates(
        ["uscc", "holder_type", "holder_id", "role", "start"]
    )
