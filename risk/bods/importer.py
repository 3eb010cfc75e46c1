"""Import: BODS statements back into contract-shaped frames (:class:`BodsImport`), with a report
of every statement or interest that could not be mapped; :func:`risk.bods.store_bods` puts the
frames through the validated ingest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from risk.bods.codes import (
    EXEMPT_REASONS,
    PERSON_ID_SCHEME_NAME,
    USCC_SCHEME,
    USCC_SCHEMES,
    share_of,
    text_or_none,
)
from risk.bods.validate import is_date, validate_statement, validate_statements
from risk.contract import (
    DECLARED_HOLDERS,
    EXEMPT_HOLDER,
    ROLE_LABELS,
    TABLES,
    UNKNOWN_HOLDER,
    Directness,
    EnterpriseKind,
    HolderType,
    Role,
    enum_lookup,
)
from risk.exceptions import BodsValidationError, InvalidIdentifierError
from risk.frames import require_frame
from risk.identifiers import (
    ORG_ID_SCHEME_RE,
    check_uscc,
    contains_id_number,
    external_party_id,
    hash_identifier,
    hash_resident_id,
    mask_id_numbers,
    mask_resident_id,
    normalize_uscc,
)
from risk.store import coerce_frame, external_parties

__all__ = [
    "EXTERNAL_COLUMNS",
    "BodsImport",
    "import_bods",
]

#: Columns of :attr:`BodsImport.external` (the store's ``external_parties`` less bookkeeping).
EXTERNAL_COLUMNS = (
    "party_id",
    "party_type",
    "name",
    "entity_type",
    "scheme",
    "identifier",
    "identifier_hash",
    "jurisdiction",
    "founded",
    "closed",
)


def _external_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[list(EXTERNAL_COLUMNS)].copy()
    for column in EXTERNAL_COLUMNS:
        if column in ("founded", "closed"):
            out[column] = pd.to_datetime(out[column]).astype("datetime64[s]")
        else:
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out.reset_index(drop=True)


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
        persons' ``id_hash`` and ``id_masked`` unless a resident ID number came with an
        ``id_salt`` (BODS exports never carry ID numbers).
    external : DataFrame
        Entities outside the Chinese registers (:data:`EXTERNAL_COLUMNS`): foreign companies,
        trusts, state bodies, keyed ``{scheme}-{id}``.
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
    external: pd.DataFrame
    report: pd.DataFrame
    #: person_id, scheme, identifier_hash, jurisdiction of each person (foreign ids hashed).
    person_identifiers: pd.DataFrame
    #: record_id → node_type (enterprise / person) and node_id (USCC, external party id,
    #: person_id, or a declared holder) of every entity and person record imported.
    nodes: pd.DataFrame

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
        authority's GB/T 2260 code). A person still without ``id_hash`` (BODS carries no ID
        number, and the store does not know the person) is an external party: it leaves
        ``persons`` for ``external_parties``, flagged, never quarantined.

        Returns
        -------
        dict
            ``{"enterprises": …, "persons": …, "roles": …}`` in ingest order, then
            ``"external_parties"`` (:data:`EXTERNAL_COLUMNS`).
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
                stored = pd.Series(
                    known["name"]
                    .astype(object)
                    .reindex(persons["person_id"].to_numpy(dtype=object))
                    .to_numpy(dtype=object),
                    index=persons.index,
                )
                persons["name"] = persons["name"].where(~(masked & stored.notna()), stored)
            persons = _fill_from(persons, existing_persons, "person_id")
        unidentified = persons["id_hash"].isna().to_numpy()
        ids = self.person_identifiers.set_index("person_id")
        away = persons.loc[unidentified, ["person_id", "name"]]
        external_persons = pd.DataFrame(
            {
                "party_id": away["person_id"].to_numpy(),
                "party_type": HolderType.person.value,
                "name": away["name"].to_numpy(),
                "entity_type": None,
                "scheme": away["person_id"].map(ids["scheme"]).to_numpy(),
                "identifier": None,
                "identifier_hash": away["person_id"].map(ids["identifier_hash"]).to_numpy(),
                "jurisdiction": away["person_id"].map(ids["jurisdiction"]).to_numpy(),
                "founded": pd.NaT,
                "closed": pd.NaT,
            },
            columns=list(EXTERNAL_COLUMNS),
        )
        external = pd.concat(
            [frame for frame in (self.external, external_persons) if len(frame)] or [self.external],
            ignore_index=True,
        )
        return {
            "enterprises": coerce_frame(enterprises, TABLES["enterprises"]),
            "persons": coerce_frame(
                persons.loc[~unidentified].reset_index(drop=True), TABLES["persons"]
            ),
            "roles": self.roles.copy(),
            "external_parties": _external_frame(external),
        }


def _fill_from(frame: pd.DataFrame, existing: pd.DataFrame, key: str) -> pd.DataFrame:
    """Missing cells of ``frame`` from the store's row with the same key.

    Looked up as object values by reindexing: ``Series.map`` through an empty datetime column
    (an empty store) casts it to float64, which pandas 3 refuses.
    """
    known = existing.drop_duplicates(key).set_index(key)
    out = frame.copy()
    keys = out[key].to_numpy(dtype=object)
    for column in out.columns:
        if column == key or column not in known:
            continue
        stored = known[column].astype(object).reindex(keys).to_numpy(dtype=object)
        current = out[column].astype(object)
        out[column] = current.where(current.notna(), pd.Series(stored, index=out.index))
    return out


_PERSON_ID_SCHEME_WORDS = ("IDCARD", "身份证", "RESIDENT", "居民身份", "PASSPORT", "护照")


def _uscc_of(
    details: Mapping[str, Any],
) -> tuple[str | None, str | None]:
    """The entity's USCC and, when it came under a non-standard scheme, a note saying so."""
    for identifier in details.get("identifiers") or ():
        ident = text_or_none(identifier.get("id"))
        if ident is None:
            continue
        scheme = str(identifier.get("scheme") or "").strip().upper()
        scheme_name = str(identifier.get("schemeName") or "")
        if scheme in USCC_SCHEMES:
            return normalize_uscc(ident), None
        named = "统一社会信用代码" in scheme_name or "unified social credit" in scheme_name.lower()
        if (scheme.startswith("CN-") or named) and check_uscc(ident).ok:
            shown = scheme or scheme_name
            return normalize_uscc(ident), (
                f"identifier scheme {shown!r} is not org-id.guide's {USCC_SCHEME}; "
                "its id is a valid USCC and was taken as one"
            )
    return None, None


def _personal_scheme(scheme: str | None) -> bool:
    """Whether a scheme names a personal identifier (a resident ID, a passport)."""
    return any(w in (scheme or "").upper() for w in _PERSON_ID_SCHEME_WORDS)


def _fit_columns(row: dict[str, Any]) -> list[str]:
    """Empty the cells longer than their ``external_parties`` column, one note each: the store
    would refuse them (PostgreSQL) or keep them past the limit (SQLite)."""
    notes = []
    for column in ("scheme", "identifier", "jurisdiction", "entity_type", "name"):
        value = row.get(column)
        limit = int(getattr(external_parties.c[column].type, "length", 0) or 0)
        if isinstance(value, str) and len(value) > limit:
            notes.append(
                f"{column} has {len(value):,} characters, more than the {limit} kept; left empty"
            )
            row[column] = None
    return notes


def _external_entity(
    details: Mapping[str, Any], declared_at: str
) -> tuple[dict[str, Any] | None, str | None]:
    """An entity outside the Chinese registers as an external party row, with a note.

    An entity identified by a personal identifier (a resident ID number in any scheme, or a
    scheme naming a personal ID) is no row: ``(None, reason)``, the number never quoted.
    """
    scheme: str | None = None
    ident: str | None = None
    notes = []
    for identifier in details.get("identifiers") or ():
        value = text_or_none(identifier.get("id"))
        code = text_or_none(identifier.get("scheme"))
        named = text_or_none(identifier.get("schemeName"))
        if value and (
            contains_id_number(f"{value} {code} {named}")
            or _personal_scheme(code)
            or _personal_scheme(named)
        ):
            shown = mask_id_numbers(code or named or "")
            return None, (
                f"entity identified by a personal identifier (scheme {shown!r}): not stored, "
                "ID numbers are never kept raw; its relationships are skipped"
            )
        if value and code:
            scheme, ident = code.upper(), value
            break
        if value and ident is None:
            scheme, ident = named, value
    code = scheme if scheme and ORG_ID_SCHEME_RE.match(scheme) else None
    party_id = external_party_id(code, ident, declared_at)
    if ident is None:
        notes.append("entity has no identifier; keyed by its statement (BODS-REC-…)")
    elif not party_id.startswith(f"{scheme}-"):
        notes.append(
            f"identifier scheme {scheme!r} is not an org-id.guide code or its id does not fit; "
            "keyed BODS-REC-…"
        )
    jurisdiction = details.get("jurisdiction") or {}
    entity_type = (details.get("entityType") or {}).get("type")
    row = {
        "party_id": party_id,
        "party_type": HolderType.enterprise.value,
        "name": text_or_none(details.get("name")),
        "entity_type": entity_type,
        "scheme": scheme,
        "identifier": ident,
        "identifier_hash": None,
        "jurisdiction": text_or_none(jurisdiction.get("code")),
        "founded": _date_or_none(details.get("foundingDate")),
        "closed": _date_or_none(details.get("dissolutionDate")),
    }
    notes.extend(_fit_columns(row))
    return row, "; ".join(notes) or None


def _person_id_of(details: Mapping[str, Any]) -> str | None:
    for identifier in details.get("identifiers") or ():
        if identifier.get("schemeName") == PERSON_ID_SCHEME_NAME and text_or_none(
            identifier.get("id")
        ):
            return str(identifier["id"]).strip()
    return None


def _personal_ids(
    details: Mapping[str, Any], id_salt: bytes | None
) -> tuple[dict[str, Any], list[str]]:
    """A person's ID number (hashed and masked) or foreign identifier (hashed); never raw."""
    found: dict[str, Any] = {}
    notes: list[str] = []
    for identifier in details.get("identifiers") or ():
        value = text_or_none(identifier.get("id"))
        scheme = text_or_none(identifier.get("scheme")) or text_or_none(
            identifier.get("schemeName")
        )
        if value is None or identifier.get("schemeName") == PERSON_ID_SCHEME_NAME:
            continue
        resident = contains_id_number(value) or _personal_scheme(scheme)
        if id_salt is None:
            notes.append(
                f"identifier of scheme {scheme!r} not kept: no id_salt to hash it "
                "(ID numbers are never stored raw)"
            )
            continue
        if resident and "id_hash" not in found:
            try:
                found["id_hash"] = hash_resident_id(value, id_salt)
                found["id_masked"] = mask_resident_id(value)
            except InvalidIdentifierError as exc:
                notes.append(f"identifier of scheme {scheme!r} is not a resident ID: {exc}")
            continue
        if "identifier_hash" not in found:
            found["identifier_hash"] = hash_identifier(scheme or "", value, id_salt)
            found["scheme"] = scheme
    return found, notes


def _full_name(details: Mapping[str, Any]) -> str | None:
    names = [n for n in details.get("names") or () if text_or_none(n.get("fullName"))]
    legal = [n for n in names if n.get("type") == "legal"]
    chosen = (legal or names or [None])[0]
    return text_or_none(chosen["fullName"]) if chosen else None


def _date_or_none(value: Any) -> pd.Timestamp | None:
    return pd.Timestamp(value[:10]) if is_date(value) else None


def _declared(party: Mapping[str, Any]) -> str:
    """The reserved holder an unspecifiedRecord stands for: exempt, or unknown."""
    return EXEMPT_HOLDER if party.get("reason") in EXEMPT_REASONS else UNKNOWN_HOLDER


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

        def shown(value: Any) -> Any:  # a recordId may be an ID number: never shown raw
            return mask_id_numbers(value) if isinstance(value, str) else value

        self.rows.append(
            {
                "statement_index": index,
                "statement_id": shown(get("statementId")),
                "record_id": shown(get("recordId")),
                "record_type": shown(get("recordType")),
                "interest_index": interest,
                "outcome": outcome,
                "reason": mask_id_numbers(reason),
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
    if kind in (None, "unknownInterest"):
        return Role.shareholder, (
            f"interest type {kind!r}: imported as a shareholder without a share (it links the "
            "holder and adds nothing to effective shares)"
        )
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


def _versions(
    indices: list[int], valid: Mapping[int, Mapping[str, Any]]
) -> list[tuple[int, pd.Timestamp | None]]:
    """The statements of one relationship record in time order, each with the date from which
    it holds (None for the first: its interests' own dates apply).

    A later statement holds from its statementDate, or from an interest startDate it
    introduces between the two statements (registers often state the change's own date).
    """
    ordered = sorted(indices, key=lambda i: (str(valid[i].get("statementDate") or ""), i))
    out: list[tuple[int, pd.Timestamp | None]] = []
    previous_starts: list[pd.Timestamp] = []
    bound: pd.Timestamp | None = None
    for k, index in enumerate(ordered):
        statement = valid[index]
        starts = [
            s
            for i in statement["recordDetails"].get("interests") or []
            if isinstance(i, Mapping) and (s := _date_or_none(i.get("startDate"))) is not None
        ]
        if k > 0:
            day = _date_or_none(statement.get("statementDate"))
            latest_before = max(previous_starts, default=None)
            new = [
                s
                for s in starts
                if (latest_before is None or s > latest_before) and (bound is None or s > bound)
            ]
            candidates = [d for d in (min(new, default=None), day) if d is not None]
            bound = min(candidates) if candidates else bound
        out.append((index, bound))
        previous_starts = starts
    return out


def import_bods(
    statements: Sequence[Mapping[str, Any]],
    *,
    strict: bool = False,
    id_salt: bytes | None = None,
) -> BodsImport:
    """Import BODS 0.4 statements into contract-shaped frames, reporting what did not map.

    Parameters
    ----------
    statements
        BODS 0.4 statements in any order (e.g. from :func:`read_bods`).
    strict
        Raise on the first structurally invalid statement set instead of reporting and
        skipping the invalid statements.
    id_salt
        The store's ID salt: a person's resident ID number becomes ``id_hash`` / ``id_masked``
        (a domestic person), a foreign personal identifier an ``identifier_hash``. Without it
        personal identifiers are not kept (reported). Never stored raw either way.

    Returns
    -------
    BodsImport
        Frames ``enterprises``, ``persons``, ``roles``, ``external`` and the ``report``; every
        statement or interest that is not imported as-is has a report row with its reason —
        nothing is dropped silently.

    Raises
    ------
    TypeError
        If ``statements`` is not a list.
    BodsValidationError
        With ``strict=True``, listing every structural problem.

    Notes
    -----
    Mapping back (see :mod:`risk.bods` for the forward one):

    * entity → enterprise when an identifier has scheme CN-USCI or CN-SAIC (org-id.guide), or
      another CN- scheme / a schemeName naming 统一社会信用代码 with a valid USCC (partial).
      Any other entity — a foreign company (GB-COH, FI-PRO …), a trust, a state body — is an
      external party keyed ``{scheme}-{id}`` (:func:`risk.identifiers.external_party_id`).
      ``foundingDate`` → founded; an enterprise without one gets the earliest date the
      statements show it existing (partial); external parties may have none. An entity
      identified by a personal identifier (a resident ID number under any scheme, a scheme
      naming an ID card or passport) is skipped: no ID number is ever stored raw.
      Cells longer than their ``external_parties`` column are left empty (partial).
    * person → ``person_id`` from the ``credlink person_id`` identifier, else ``BODS-REC-``
      and a digest of publisher and recordId (partial), so it never merges with a platform
      person or another publisher's. A resident ID number is hashed and masked
      (``id_salt``); a person without one becomes an external party unless the store
      already knows the person_id (:meth:`for_ingest`).
      unknownPerson / anonymousPerson → the declared holder: :data:`EXEMPT_HOLDER` when its
      reason is an exemption, else :data:`UNKNOWN_HOLDER`.
    * relationship → one role per interest: shareholding → shareholder (``share.exact`` / 100;
      a range is kept in ``share_range`` and its lower bound is the share), an interest of
      unknown type → shareholder without a share, seniorManagingOfficial → legal_rep when the
      details say 法定代表人, else executive; boardMember / boardChair → executive (partial);
      otherInfluenceOrControl with details 分支机构 → branch_of; other types are skipped.
      An indirect shareholding is kept with ``directness`` indirect: a declared end of a
      chain, a row of its own beside a direct one of the same day (directness is in the key).
      An unspecifiedRecord interested party → the declared holder (exempt or unknown), one
      shareholder row per interest, or one without a share when no interest is given.
    * History: every statement of a relationship record is kept. Each holds from its
      statementDate (or the change date its interests state) until the next one, so a past
      date answers with the shares declared then; ``recordStatus`` closed without
      ``endDate`` ends on the statementDate (partial). Of an entity or person record the
      latest statement wins; the others are reported ``superseded``.
    """
    problems_all = validate_statements(statements)  # raises TypeError for a non-list
    if strict and problems_all:
        raise BodsValidationError(problems_all)
    report = _Report()
    by_record: dict[str, list[int]] = {}
    valid: dict[int, Mapping[str, Any]] = {}
    for index, statement in enumerate(statements):
        problems = validate_statement(statement, f"statements[{index}]")
        if problems:
            report.add(index, statement, "skipped", "; ".join(problems))
            continue
        valid[index] = statement
        by_record.setdefault(statement["recordId"], []).append(index)

    latest: dict[str, int] = {}
    for record_id, indices in by_record.items():
        ranked = sorted(indices, key=lambda i: (str(valid[i].get("statementDate") or ""), i))
        latest[record_id] = ranked[-1]
        if valid[ranked[-1]]["recordType"] != "relationship":
            for older in ranked[:-1]:
                report.add(
                    older, valid[older], "superseded", f"a later statement replaces {record_id}"
                )

    ent_rows: list[dict[str, Any]] = []
    node_of: dict[str, tuple[str, str]] = {}  # recordId → (holder_type, id)
    seen_uscc: set[str] = set()
    external_rows: dict[str, dict[str, Any]] = {}
    person_rows: list[dict[str, Any]] = []
    seen_person: set[str] = set()
    relationships: list[str] = []
    refused: dict[str, str] = {}  # recordId → why its party was not imported
    first_seen: dict[str, pd.Timestamp] = {}
    kinds = enum_lookup(EnterpriseKind)
    for record_id, index in sorted(latest.items(), key=lambda item: item[1]):
        statement = valid[index]
        details = statement["recordDetails"]
        publisher = ((statement.get("publicationDetails") or {}).get("publisher") or {}).get("name")
        declared_at = f"{publisher or ''}|{record_id}"
        dates = [
            d for i in by_record[record_id] if (d := _date_or_none(valid[i].get("statementDate")))
        ]
        if statement["recordType"] == "entity":
            uscc, note = _uscc_of(details)
            if uscc is None:
                row, note = _external_entity(details, declared_at)
                if row is None:
                    report.add(index, statement, "skipped", str(note))
                    refused[record_id] = str(note)
                    continue
                node_of[record_id] = (HolderType.enterprise.value, row["party_id"])
                external_rows.setdefault(row["party_id"], row)
                if note:
                    report.add(index, statement, "partial", note)
                continue
            node_of[record_id] = (HolderType.enterprise.value, uscc)
            if note:
                report.add(index, statement, "partial", note)
            if uscc in seen_uscc:
                report.add(index, statement, "skipped", f"a second entity record for USCC {uscc}")
                continue
            seen_uscc.add(uscc)
            if dates:
                first_seen[uscc] = min(dates)
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
                    "_index": index,
                }
            )
        elif statement["recordType"] == "person":
            if details["personType"] != "knownPerson":
                reason = (details.get("unspecifiedPersonDetails") or {}).get("reason")
                holder = _declared({"reason": reason})
                node_of[record_id] = (HolderType.person.value, holder)
                report.add(
                    index,
                    statement,
                    "partial",
                    f"{details['personType']} (reason {reason!r}) is imported as the declared "
                    f"holder {holder}",
                )
                continue
            person_id = _person_id_of(details)
            if person_id is None:
                # Namespaced like an entity without identifier: a bare recordId ("1") would
                # merge with a platform person or another publisher's person of that id.
                person_id = external_party_id(None, None, declared_at)
                report.add(
                    index,
                    statement,
                    "partial",
                    f"no {PERSON_ID_SCHEME_NAME!r} identifier; keyed by its statement "
                    f"({person_id})",
                )
            elif contains_id_number(person_id):
                report.add(
                    index,
                    statement,
                    "skipped",
                    f"{PERSON_ID_SCHEME_NAME!r} identifier holds a resident ID number: not "
                    "stored, ID numbers are never kept raw; its relationships are skipped",
                )
                refused[record_id] = "its person_id holds a resident ID number"
                continue
            node_of[record_id] = (HolderType.person.value, person_id)
            if person_id in seen_person:
                report.add(
                    index,
                    statement,
                    "skipped",
                    f"a second person record for person_id {person_id!r}",
                )
                continue
            seen_person.add(person_id)
            ids, notes = _personal_ids(details, id_salt)
            if notes:
                report.add(index, statement, "partial", "; ".join(notes))
            nationality: Mapping[str, Any] = next(iter(details.get("nationalities") or []), {})
            kept = {
                "scheme": ids.get("scheme"),
                "jurisdiction": text_or_none(nationality.get("code")),
            }
            too_long = _fit_columns(kept)
            if too_long:
                report.add(index, statement, "partial", "; ".join(too_long))
            person_rows.append(
                {
                    "person_id": person_id,
                    "name": _full_name(details),
                    "id_hash": ids.get("id_hash"),
                    "id_masked": ids.get("id_masked"),
                    "_scheme": kept["scheme"],
                    "_identifier_hash": ids.get("identifier_hash"),
                    "_jurisdiction": kept["jurisdiction"],
                }
            )
        else:
            relationships.append(record_id)

    role_rows: list[dict[str, Any]] = []
    role_source: list[tuple[int, int]] = []
    for record_id in relationships:
        versions = _versions(by_record[record_id], valid)
        bounds = [b for _, b in versions[1:]] + [None]
        spans: list[list[tuple[dict[str, Any], tuple[int, int]]]] = []
        for (index, since), until in zip(versions, bounds, strict=True):
            span = _relationship_rows(index, valid[index], node_of, report, refused)
            for row, _ in span:
                if since is not None and row["start"] < since:
                    row["start"] = since
                if until is not None and (row["end"] is None or row["end"] > until):
                    row["end"] = until
            spans.append(span)
        # A later statement's endDate (a death, a sale) ends the earlier statements' spans of
        # the same role too: it may lie before the later statement was made.
        for k, span in enumerate(spans):
            for later in spans[k + 1 :]:
                for row, _ in span:
                    for other, _ in later:
                        ended = other["_declared_end"]
                        if (
                            other["role"] == row["role"]
                            and ended is not None
                            and (row["end"] is None or row["end"] > ended)
                        ):
                            row["end"] = ended
        rows = [
            (row, source)
            for span in spans
            for row, source in span
            # an end on or before the start: replaced before it began
            if row["end"] is None or row["end"] > row["start"]
        ]
        for row, source in _merge_history(rows):
            del row["_declared_end"]
            role_rows.append(row)
            role_source.append(source)

    roles = _dedupe_roles(role_rows, role_source, valid, report)
    for row in ent_rows:
        if row["founded"] is None:
            evidence = [
                d
                for d in (
                    first_seen.get(row["uscc"]),
                    _earliest(roles, row["uscc"]),
                )
                if d is not None
            ]
            if evidence:
                row["founded"] = min(evidence)
                report.add(
                    row["_index"],
                    valid[row["_index"]],
                    "partial",
                    "no foundingDate; founded set to the earliest date the statements show the "
                    f"enterprise existing ({row['founded']:%Y-%m-%d}) unless the store knows it",
                )
    enterprises = pd.DataFrame(ent_rows, columns=["uscc", "name", "kind", "founded", "closed"])
    for column in TABLES["enterprises"].names:
        if column not in enterprises:
            enterprises[column] = None
    persons = pd.DataFrame(
        person_rows,
        columns=[
            "person_id",
            "name",
            "id_hash",
            "id_masked",
            "_scheme",
            "_identifier_hash",
            "_jurisdiction",
        ],
    )
    external = pd.DataFrame(list(external_rows.values()), columns=list(EXTERNAL_COLUMNS))
    return BodsImport(
        enterprises=coerce_frame(
            enterprises[list(TABLES["enterprises"].names)], TABLES["enterprises"]
        ),
        persons=coerce_frame(persons[list(TABLES["persons"].names)], TABLES["persons"]),
        roles=roles,
        external=_external_frame(external),
        report=report.frame(),
        person_identifiers=persons[
            ["person_id", "_scheme", "_identifier_hash", "_jurisdiction"]
        ].rename(columns=lambda c: c.lstrip("_")),
        nodes=pd.DataFrame(
            [(r, t, n) for r, (t, n) in node_of.items()],
            columns=["record_id", "node_type", "node_id"],
            dtype=object,
        ),
    )


def _earliest(roles: pd.DataFrame, uscc: str) -> pd.Timestamp | None:
    mine = roles.loc[
        (roles["uscc"].astype(str) == uscc).to_numpy()
        | (
            (roles["holder_type"].astype(str) == HolderType.enterprise.value)
            & (roles["holder_id"].astype(str) == uscc)
        ).to_numpy(),
        "start",
    ]
    return pd.Timestamp(mine.min()) if len(mine) and pd.notna(mine.min()) else None


def _merge_history(
    rows: list[tuple[dict[str, Any], tuple[int, int]]],
) -> list[tuple[dict[str, Any], tuple[int, int]]]:
    """Join a role's consecutive statements that say the same (one row per unchanged span)."""
    merged: list[tuple[dict[str, Any], tuple[int, int]]] = []
    same = ("uscc", "holder_type", "holder_id", "role", "share", "share_range", "directness")
    for row, source in rows:
        for earlier, _ in merged:
            if (
                all(_same(earlier[k], row[k]) for k in same)
                and earlier["end"] is not None
                and earlier["end"] == row["start"]
            ):
                earlier["end"] = row["end"]
                break
        else:
            merged.append((row, source))
    return merged


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(a == b)


def _relationship_rows(
    index: int,
    statement: Mapping[str, Any],
    node_of: Mapping[str, tuple[str, str]],
    report: _Report,
    refused: Mapping[str, str],
) -> list[tuple[dict[str, Any], tuple[int, int]]]:
    details = statement["recordDetails"]
    for end in ("subject", "interestedParty"):
        if isinstance(details[end], str) and details[end] in refused:
            report.add(
                index, statement, "skipped", f"{end} was not imported: {refused[details[end]]}"
            )
            return []
    subject, party = details["subject"], details["interestedParty"]
    if not isinstance(subject, str):
        report.add(index, statement, "skipped", "subject is an unspecifiedRecord")
        return []
    target = node_of.get(subject)
    if target is None or target[0] != HolderType.enterprise.value:
        report.add(
            index, statement, "skipped", f"subject {subject!r} is not an entity in the input"
        )
        return []
    uscc = target[1]
    if isinstance(party, Mapping):
        holder_type, holder_id = HolderType.person.value, _declared(party)
    elif party in node_of:
        holder_type, holder_id = node_of[party]
    else:
        report.add(
            index,
            statement,
            "skipped",
            f"interestedParty {party!r} is not a person or entity in the input",
        )
        return []
    statement_date = _date_or_none(statement.get("statementDate"))
    closed = statement.get("recordStatus") == "closed"
    interests = details.get("interests") or []
    if not interests:
        interests = [{}]
        report.add(
            index,
            statement,
            "partial",
            "relationship declares no interests; imported as a shareholder without a share",
        )
    out = []
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
            out.append((row, (index, k)))
    return out


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
    declared = holder_id in DECLARED_HOLDERS
    if declared:
        role: Role | None = Role.shareholder
        note = None
    elif interest:
        role, note = _role_of(interest)
    else:  # a relationship without interests, reported by the caller
        role, note = Role.shareholder, None
    if role is None:
        report.add(index, statement, "skipped", str(note), k)
        return None
    notes = [note] if note else []
    indirect = interest.get("directOrIndirect") == "indirect"
    if indirect and role != Role.shareholder:
        report.add(
            index,
            statement,
            "skipped",
            f"indirect {interest.get('type')!r} interest: only indirect shareholdings are kept "
            "(as declared ends of a chain)",
            k,
        )
        return None
    share, share_range = None, None
    if declared or (role == Role.shareholder and interest.get("type") == "shareholding"):
        share, share_range = share_of(interest.get("share"))
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
        "share_range": share_range,
        "directness": (Directness.indirect if indirect else Directness.direct).value,
        "_declared_end": _date_or_none(interest.get("endDate")),
    }


def _dedupe_roles(
    rows: list[dict[str, Any]],
    sources: list[tuple[int, int]],
    valid: Mapping[int, Mapping[str, Any]],
    report: _Report,
) -> pd.DataFrame:
    """One row per contract key: declared holders' shares add up; other repeats are reported."""
    spec = TABLES["roles"]
    frame = pd.DataFrame(rows, columns=list(spec.names))
    if frame.empty:
        return coerce_frame(frame, spec)
    frame["_source"] = sources
    key = list(spec.key)
    unknown = frame["holder_id"].isin(DECLARED_HOLDERS)
    merged_unknown = (
        frame.loc[unknown]
        .groupby(key, as_index=False, sort=False, dropna=False)
        .agg(
            share=("share", lambda s: min(s.sum(min_count=1), 1.0)),
            end=("end", "max"),
            share_range=("share_range", "first"),
            directness=("directness", "first"),
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
            "the same role (key uscc, holder, role, start, directness) appears twice",
            k,
        )
    out = pd.concat([known.loc[~repeated], merged_unknown], ignore_index=True)
    out = out.drop(columns="_source")[list(spec.names)]
    out = out.sort_values(key, kind="stable")
    return coerce_frame(out.reset_index(drop=True), spec)
