"""Import: BODS statements back into contract-shaped frames (:class:`BodsImport`), with a report
of every statement or interest that could not be mapped; the frames go through the validated
ingest (:meth:`BodsImport.write_for_ingest`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from risk.bods.codes import PERSON_ID_SCHEME_NAME, USCC_SCHEME, USCC_SCHEMES, iso_date, text_or_none
from risk.bods.validate import is_date, validate_statement, validate_statements
from risk.contract import (
    ROLE_LABELS,
    TABLES,
    UNKNOWN_HOLDER,
    ColumnKind,
    EnterpriseKind,
    HolderType,
    Role,
    enum_lookup,
)
from risk.exceptions import BodsValidationError
from risk.frames import require_frame
from risk.identifiers import normalize_uscc
from risk.store import coerce_frame

__all__ = [
    "BodsImport",
    "import_bods",
]

_REPORT_COLUMNS = (
    "statement_index",
    "statement_id",
    "record_id",
    "record_type",
    "interest_index",
    "outcome",
    "reason",
)


@dataclass(frozen=True)
class BodsImport:
    """What :func:`import_bods` recovered from BODS statements.

    Attributes
    ----------
    enterprises, persons, roles : DataFrame
        Contract-shaped frames (all contract columns, contract dtypes). Cells BODS does not
        carry are missing: enterprises' ``status``, ``industry``, ``region``,
        ``registered_capital`` (and ``kind`` unless ``entityType.details`` names it);
        persons' ``id_hash`` and ``id_masked`` (BODS exports never carry ID numbers).
    report : DataFrame
        One row per statement or interest that did not map cleanly: ``statement_index``,
        ``statement_id``, ``record_id``, ``record_type``, ``interest_index`` (or missing),
        ``outcome`` and ``reason``. Outcomes: ``skipped`` (nothing of it was imported),
        ``partial`` (imported with a documented default or an empty field) and
        ``superseded`` (an older statement of a record that a later one replaces).
    """

    enterprises: pd.DataFrame
    persons: pd.DataFrame
    roles: pd.DataFrame
    report: pd.DataFrame

    @property
    def skipped(self) -> int:
        """Number of statements or interests that were not imported at all."""
        return int((self.report["outcome"] == "skipped").sum())

    def for_ingest(
        self,
        existing_enterprises: pd.DataFrame | None = None,
        existing_persons: pd.DataFrame | None = None,
    ) -> dict[str, pd.DataFrame]:
        """Complete the frames for the validated ingest, without clobbering the store.

        Ingest upserts whole rows, so a cell BODS does not carry must not overwrite what the
        store knows. Missing cells are first taken from the store's row with the same key
        (pass ``read_table(engine, "enterprises")`` / ``"persons"``); a person name that
        looks masked (contains ``*``) also yields to the store's. What is still missing then
        gets the documented defaults: ``kind`` company; ``status`` deregistered when
        ``closed`` is set, else active; ``region`` the USCC's positions 3–8 (the registering
        authority's GB/T 2260 code). New persons keep ``id_hash``/``id_masked`` empty: the
        ingest quarantines them with the reason (BODS carries no ID number to hash), and
        their roles are counted as orphans.

        Returns
        -------
        dict
            ``{"enterprises": …, "persons": …, "roles": …}`` in ingest order.
        """
        enterprises = self.enterprises.copy()
        if existing_enterprises is not None and len(enterprises):
            require_frame(existing_enterprises, "existing_enterprises", ("uscc",))
            enterprises = _fill_from(enterprises, existing_enterprises, "uscc")
        closed = enterprises["closed"].notna()
        enterprises["kind"] = enterprises["kind"].where(
            enterprises["kind"].notna(), EnterpriseKind.company.value
        )
        default_status = np.where(closed, "deregistered", "active")
        enterprises["status"] = enterprises["status"].where(
            enterprises["status"].notna(), pd.Series(default_status, index=enterprises.index)
        )
        uscc_region = enterprises["uscc"].astype(str).str.slice(2, 8)
        enterprises["region"] = enterprises["region"].where(
            enterprises["region"].notna(), uscc_region.where(uscc_region.str.fullmatch(r"\d{6}"))
        )
        persons = self.persons.copy()
        if existing_persons is not None and len(persons):
            require_frame(existing_persons, "existing_persons", ("person_id",))
            known = existing_persons.drop_duplicates("person_id").set_index("person_id")
            if "name" in known:
                masked = persons["name"].isna() | persons["name"].astype(str).str.contains(
                    "*", regex=False
                )
                stored = persons["person_id"].map(known["name"])
                persons["name"] = persons["name"].where(~(masked & stored.notna()), stored)
            persons = _fill_from(persons, existing_persons, "person_id")
        return {
            "enterprises": coerce_frame(enterprises, TABLES["enterprises"]),
            "persons": coerce_frame(persons, TABLES["persons"]),
            "roles": self.roles.copy(),
        }

    def write_for_ingest(
        self,
        directory: str | Path,
        existing_enterprises: pd.DataFrame | None = None,
        existing_persons: pd.DataFrame | None = None,
    ) -> dict[str, Path]:
        """Write :meth:`for_ingest` frames as CSV files for ``risk.ingest.ingest_file``.

        Files ``bods_enterprises.csv``, ``bods_persons.csv``, ``bods_roles.csv`` (English
        headers, ISO dates, UTF-8) in ``directory``; returned in ingest order, so a caller
        runs ``ingest_file(engine, path, table=name)`` for each item.
        """
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for name, frame in self.for_ingest(existing_enterprises, existing_persons).items():
            out = frame.copy()
            for column in TABLES[name].names:
                if TABLES[name].column(column).kind == ColumnKind.date:
                    out[column] = [iso_date(v) for v in out[column]]
            path = folder / f"bods_{name}.csv"
            out.to_csv(path, index=False, encoding="utf-8")
            paths[name] = path
        return paths


def _fill_from(frame: pd.DataFrame, existing: pd.DataFrame, key: str) -> pd.DataFrame:
    known = existing.drop_duplicates(key).set_index(key)
    out = frame.copy()
    for column in out.columns:
        if column == key or column not in known:
            continue
        stored = out[key].map(known[column])
        out[column] = out[column].astype(object).where(out[column].notna(), stored.astype(object))
    return out


def _uscc_of(details: Mapping[str, Any]) -> str | None:
    for identifier in details.get("identifiers") or ():
        scheme = str(identifier.get("scheme") or "").upper()
        scheme_name = str(identifier.get("schemeName") or "")
        named = "统一社会信用代码" in scheme_name or "unified social credit" in scheme_name.lower()
        if (scheme in USCC_SCHEMES or named) and text_or_none(identifier.get("id")):
            return normalize_uscc(str(identifier["id"]))
    return None


def _person_id_of(details: Mapping[str, Any]) -> str | None:
    for identifier in details.get("identifiers") or ():
        if identifier.get("schemeName") == PERSON_ID_SCHEME_NAME and text_or_none(
            identifier.get("id")
        ):
            return str(identifier["id"]).strip()
    return None


def _full_name(details: Mapping[str, Any]) -> str | None:
    names = [n for n in details.get("names") or () if text_or_none(n.get("fullName"))]
    legal = [n for n in names if n.get("type") == "legal"]
    chosen = (legal or names or [None])[0]
    return text_or_none(chosen["fullName"]) if chosen else None


def _date_or_none(value: Any) -> pd.Timestamp | None:
    return pd.Timestamp(value[:10]) if is_date(value) else None


class _Report:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        index: int,
        statement: Any,
        outcome: str,
        reason: str,
        interest: int | None = None,
    ) -> None:
        get = statement.get if isinstance(statement, Mapping) else (lambda _key: None)
        self.rows.append(
            {
                "statement_index": index,
                "statement_id": get("statementId"),
                "record_id": get("recordId"),
                "record_type": get("recordType"),
                "interest_index": interest,
                "outcome": outcome,
                "reason": reason,
            }
        )

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows, columns=list(_REPORT_COLUMNS))
        frame["statement_index"] = frame["statement_index"].astype("int64")
        frame["interest_index"] = frame["interest_index"].astype("Int64")
        for column in ("statement_id", "record_id", "record_type", "outcome", "reason"):
            frame[column] = frame[column].astype(object)
        return frame


def _role_of(interest: Mapping[str, Any]) -> tuple[Role | None, str | None]:
    """Map a BODS interest to a contract role; the second item explains a default."""
    kind = interest.get("type")
    details = str(interest.get("details") or "")
    if kind == "shareholding":
        return Role.shareholder, None
    if kind == "seniorManagingOfficial":
        if "法定代表人" in details or "legal representative" in details.lower():
            return Role.legal_rep, None
        if ROLE_LABELS[Role.executive] in details:
            return Role.executive, None
        return Role.executive, (
            f"seniorManagingOfficial with details {details!r} (not 法定代表人) "
            "imported as executive"
        )
    if kind in ("boardMember", "boardChair"):
        return Role.executive, f"{kind} imported as executive (董事 are 高管 in the contract)"
    if kind == "otherInfluenceOrControl" and (
        ROLE_LABELS[Role.branch_of] in details or "branch" in details.lower()
    ):
        return Role.branch_of, None
    return None, (
        f"interest type {kind!r} with details {details!r} has no role in the contract "
        "(legal_rep, shareholder, executive, branch_of)"
    )


def import_bods(statements: Sequence[Mapping[str, Any]], *, strict: bool = False) -> BodsImport:
    """Import BODS 0.4 statements into contract-shaped frames, reporting what did not map.

    Parameters
    ----------
    statements
        BODS 0.4 statements in any order (e.g. from :func:`read_bods`).
    strict
        Raise on the first structurally invalid statement set instead of reporting and
        skipping the invalid statements.

    Returns
    -------
    BodsImport
        Frames ``enterprises``, ``persons``, ``roles`` and the ``report``; every statement or
        interest that is not imported as-is has a report row with its reason — nothing is
        dropped silently.

    Raises
    ------
    TypeError
        If ``statements`` is not a list.
    BodsValidationError
        With ``strict=True``, listing every structural problem.

    Notes
    -----
    Mapping back (see :mod:`risk.bods` for the forward one):

    * entity → enterprise, keyed by the identifier with scheme CN-SAIC / CN-SAMR / CN-USCC or
      a schemeName naming 统一社会信用代码; without one it is skipped (and so are its
      relationships). ``entityType.details`` → ``kind`` when it is a kind's code or Chinese
      label. ``foundingDate`` → founded, ``dissolutionDate`` → closed.
    * person → ``person_id`` from the ``credlink person_id`` identifier, else the recordId
      (partial). unknownPerson / anonymousPerson → the declared-unknown holder.
    * relationship → one role per interest: shareholding → shareholder (``share.exact`` / 100;
      a range only → share left empty, partial), seniorManagingOfficial → legal_rep when the
      details say 法定代表人, else executive; boardMember / boardChair → executive (partial);
      otherInfluenceOrControl with details 分支机构 → branch_of; other types are skipped.
      Indirect interests are skipped: the roles table holds direct roles only.
      An unspecifiedRecord interested party → holder ``UNKNOWN`` (person), shareholdings only.
      Missing ``startDate`` → the statementDate (partial); ``recordStatus`` closed without
      ``endDate`` → ended on the statementDate (partial).
    * Several statements of one recordId: the latest statementDate (then the last in the
      list) wins; the others are reported ``superseded``.
    """
    problems_all = validate_statements(statements)  # raises TypeError for a non-list
    if strict and problems_all:
        raise BodsValidationError(problems_all)
    report = _Report()
    latest: dict[str, tuple[str, int]] = {}
    valid: dict[int, Mapping[str, Any]] = {}
    for index, statement in enumerate(statements):
        problems = validate_statement(statement, f"statements[{index}]")
        if problems:
            report.add(index, statement, "skipped", "; ".join(problems))
            continue
        valid[index] = statement
        rank = (str(statement.get("statementDate") or ""), index)
        record_id = statement["recordId"]
        if record_id in latest:
            older = min(latest[record_id], rank)
            report.add(
                older[1], valid[older[1]], "superseded", f"a later statement replaces {record_id}"
            )
            latest[record_id] = max(latest[record_id], rank)
        else:
            latest[record_id] = rank
    current = sorted((rank[1], record_id) for record_id, rank in latest.items())

    ent_rows: list[dict[str, Any]] = []
    entity_uscc: dict[str, str | None] = {}
    seen_uscc: set[str] = set()
    person_rows: list[dict[str, Any]] = []
    person_of: dict[str, str] = {}
    seen_person: set[str] = set()
    relationships: list[int] = []
    kinds = enum_lookup(EnterpriseKind)
    for index, record_id in current:
        statement = valid[index]
        details = statement["recordDetails"]
        if statement["recordType"] == "entity":
            uscc = _uscc_of(details)
            entity_uscc[record_id] = uscc
            if uscc is None:
                report.add(
                    index,
                    statement,
                    "skipped",
                    f"entity has no USCC identifier (scheme {USCC_SCHEME} or schemeName "
                    "统一社会信用代码); it cannot be an enterprise",
                )
                continue
            if uscc in seen_uscc:
                report.add(index, statement, "skipped", f"a second entity record for USCC {uscc}")
                continue
            seen_uscc.add(uscc)
            kind_text = text_or_none((details.get("entityType") or {}).get("details"))
            kind = kinds.get(kind_text or "")
            if kind_text and kind is None:
                report.add(
                    index,
                    statement,
                    "partial",
                    f"entityType.details {kind_text!r} is not an enterprise kind; kind left empty",
                )
            ent_rows.append(
                {
                    "uscc": uscc,
                    "name": text_or_none(details.get("name")),
                    "kind": kind,
                    "founded": _date_or_none(details.get("foundingDate")),
                    "closed": _date_or_none(details.get("dissolutionDate")),
                }
            )
        elif statement["recordType"] == "person":
            if details["personType"] != "knownPerson":
                person_of[record_id] = UNKNOWN_HOLDER
                report.add(
                    index,
                    statement,
                    "partial",
                    f"{details['personType']} is imported as the declared-unknown holder "
                    f"{UNKNOWN_HOLDER}",
                )
                continue
            person_id = _person_id_of(details)
            if person_id is None:
                person_id = record_id
                report.add(
                    index,
                    statement,
                    "partial",
                    f"no {PERSON_ID_SCHEME_NAME!r} identifier; the recordId is used as person_id",
                )
            person_of[record_id] = person_id
            if person_id in seen_person:
                report.add(
                    index,
                    statement,
                    "skipped",
                    f"a second person record for person_id {person_id!r}",
                )
                continue
            seen_person.add(person_id)
            person_rows.append({"person_id": person_id, "name": _full_name(details)})
        else:
            relationships.append(index)

    role_rows: list[dict[str, Any]] = []
    role_source: list[tuple[int, int]] = []
    for index in relationships:
        statement = valid[index]
        details = statement["recordDetails"]
        subject, party = details["subject"], details["interestedParty"]
        if not isinstance(subject, str):
            report.add(index, statement, "skipped", "subject is an unspecifiedRecord")
            continue
        if subject not in entity_uscc:
            report.add(
                index, statement, "skipped", f"subject {subject!r} is not an entity in the input"
            )
            continue
        uscc = entity_uscc[subject]
        if uscc is None:
            report.add(index, statement, "skipped", f"subject {subject!r} has no USCC identifier")
            continue
        if isinstance(party, Mapping):
            holder_type, holder_id = HolderType.person.value, UNKNOWN_HOLDER
        elif party in person_of:
            holder_type, holder_id = HolderType.person.value, person_of[party]
        elif party in entity_uscc and entity_uscc[party] is not None:
            holder_type, holder_id = HolderType.enterprise.value, str(entity_uscc[party])
        else:
            reason = (
                f"interestedParty {party!r} has no USCC identifier"
                if party in entity_uscc
                else f"interestedParty {party!r} is not a person or entity in the input"
            )
            report.add(index, statement, "skipped", reason)
            continue
        interests = details.get("interests") or []
        if not interests:
            report.add(index, statement, "skipped", "relationship has no interests")
            continue
        statement_date = _date_or_none(statement.get("statementDate"))
        closed = statement.get("recordStatus") == "closed"
        for k, interest in enumerate(interests):
            row = _role_row(
                interest,
                holder_type,
                holder_id,
                uscc,
                statement_date,
                closed,
                index,
                k,
                statement,
                report,
            )
            if row is not None:
                role_rows.append(row)
                role_source.append((index, k))

    roles = _dedupe_roles(role_rows, role_source, valid, report)
    enterprises = pd.DataFrame(ent_rows, columns=["uscc", "name", "kind", "founded", "closed"])
    for column in TABLES["enterprises"].names:
        if column not in enterprises:
            enterprises[column] = None
    persons = pd.DataFrame(person_rows, columns=["person_id", "name"])
    persons = persons.assign(id_hash=None, id_masked=None)
    return BodsImport(
        enterprises=coerce_frame(
            enterprises[list(TABLES["enterprises"].names)], TABLES["enterprises"]
        ),
        persons=coerce_frame(persons[list(TABLES["persons"].names)], TABLES["persons"]),
        roles=roles,
        report=report.frame(),
    )


def _role_row(
    interest: Mapping[str, Any],
    holder_type: str,
    holder_id: str,
    uscc: str,
    statement_date: pd.Timestamp | None,
    closed: bool,
    index: int,
    k: int,
    statement: Mapping[str, Any],
    report: _Report,
) -> dict[str, Any] | None:
    if interest.get("directOrIndirect") == "indirect":
        report.add(
            index,
            statement,
            "skipped",
            "indirect interest: the roles table holds direct roles only "
            "(chains are recomputed by risk.ownership)",
            k,
        )
        return None
    role, note = _role_of(interest)
    if role is None:
        report.add(index, statement, "skipped", str(note), k)
        return None
    if holder_id == UNKNOWN_HOLDER and role != Role.shareholder:
        report.add(
            index,
            statement,
            "skipped",
            f"an unspecified interested party can only be a shareholder; got {role.value}",
            k,
        )
        return None
    notes = [note] if note else []
    share = None
    if role == Role.shareholder:
        given = interest.get("share") or {}
        if "exact" in given:
            share = round(float(given["exact"]) / 100, 12)
        elif given:
            notes.append(f"share given only as a range {dict(given)!r}; share left empty")
    start = _date_or_none(interest.get("startDate"))
    if start is None:
        if statement_date is None:
            report.add(
                index, statement, "skipped", "interest has no startDate and no statementDate", k
            )
            return None
        start = statement_date
        notes.append("no startDate; the statementDate is used as start")
    end = _date_or_none(interest.get("endDate"))
    if end is None and closed and statement_date is not None:
        end = statement_date
        notes.append("recordStatus closed without endDate; ended on the statementDate")
    if notes:
        report.add(index, statement, "partial", "; ".join(notes), k)
    return {
        "uscc": uscc,
        "holder_type": holder_type,
        "holder_id": holder_id,
        "role": role.value,
        "share": share,
        "start": start,
        "end": end,
    }


def _dedupe_roles(
    rows: list[dict[str, Any]],
    sources: list[tuple[int, int]],
    valid: Mapping[int, Mapping[str, Any]],
    report: _Report,
) -> pd.DataFrame:
    """One row per contract key: unknown holders' shares add up; other repeats are reported."""
    spec = TABLES["roles"]
    frame = pd.DataFrame(rows, columns=list(spec.names))
    if frame.empty:
        return coerce_frame(frame, spec)
    frame["_source"] = sources
    key = list(spec.key)
    unknown = frame["holder_id"] == UNKNOWN_HOLDER
    merged_unknown = (
        frame.loc[unknown]
        .groupby(key, as_index=False, sort=False, dropna=False)
        .agg(
            share=("share", lambda s: min(s.sum(min_count=1), 1.0)),
            end=("end", "max"),
            _source=("_source", "first"),
        )
    )
    known = frame.loc[~unknown]
    repeated = known.duplicated(key, keep="first")
    for source in known.loc[repeated, "_source"]:
        index, k = source
        report.add(
            index,
            valid[index],
            "skipped",
            "the same role (key uscc, holder, role, start) appears twice",
            k,
        )
    out = pd.concat([known.loc[~repeated], merged_unknown], ignore_index=True)
    out = out.drop(columns="_source")[list(spec.names)]
    out = out.sort_values(["uscc", "holder_type", "holder_id", "role", "start"], kind="stable")
    return coerce_frame(out.reset_index(drop=True), spec)
