"""Export: the contract tables (enterprises, persons, roles) on a date as BODS 0.4 entity,
person and relationship statements (the mapping, privacy and determinism of :mod:`risk.bods`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from risk.bods.codes import (
    BODS_VERSION,
    JURISDICTION,
    ORG_ID_SCHEME_RE,
    PERSON_ID_SCHEME_NAME,
    RESIDENT_ID_RE,
    ROLE_INTERESTS,
    ROLE_ORDER,
    SOURCE,
    UNKNOWN_DESCRIPTION,
    USCC_SCHEME,
    USCC_SCHEME_NAME,
    bods_share,
    entity_record_id,
    iso_date,
    person_record_id,
    record_uuid,
    relationship_record_id,
    text_or_none,
)
from risk.contract import (
    DECLARED_HOLDERS,
    EXEMPT_HOLDER,
    UNKNOWN_HOLDER,
    EnterpriseKind,
    HolderType,
    Role,
    zh_label,
)
from risk.dates import roles_present_on
from risk.frames import require_frame
from risk.identifiers import (
    check_uscc,
    contains_id_number,
    is_external_party_id,
    mask_id_numbers,
    mask_name,
)

__all__ = [
    "export_bods",
]


def _statement(
    record_type: str,
    record_id: str,
    subject: str,
    details: dict[str, Any],
    statement_date: str,
    publication: dict[str, Any],
    status: str = "new",
) -> dict[str, Any]:
    body = {
        "declarationSubject": subject,
        "statementDate": statement_date,
        "recordId": record_id,
        "recordType": record_type,
        "recordStatus": status,
        "recordDetails": details,
        "source": {"type": list(SOURCE["type"]), "description": SOURCE["description"]},
    }
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    publication_copy = {**publication, "publisher": dict(publication["publisher"])}
    return {"statementId": record_uuid(canonical), **body, "publicationDetails": publication_copy}


#: The unspecifiedRecord of each declared holder.
_DECLARED_PARTIES: dict[str, dict[str, str]] = {
    UNKNOWN_HOLDER: {"reason": "unknown", "description": UNKNOWN_DESCRIPTION},
    EXEMPT_HOLDER: {
        "reason": "interestedPartyExemptFromDisclosure",
        "description": "持有人申报为豁免披露（credlink 保留持有人 EXEMPT）",
    },
}


def _interest(row: Mapping[str, Any]) -> dict[str, Any]:
    kind, details = ROLE_INTERESTS[Role(str(row["role"]))]
    indirect = text_or_none(row.get("directness")) == "indirect"
    interest: dict[str, Any] = {
        "type": kind,
        "details": details,
        "directOrIndirect": "indirect" if indirect else "direct",
    }
    if kind == "shareholding":
        share = bods_share(row.get("share"), row.get("share_range"))
        if share is not None:
            interest["share"] = share
    interest["startDate"] = iso_date(row["start"])
    end = iso_date(row.get("end"))
    if end:
        interest["endDate"] = end
    return interest


def export_bods(
    enterprises: pd.DataFrame,
    persons: pd.DataFrame,
    roles: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    publication_date: date | str | None = None,
    *,
    mask_persons: bool = False,
    include_ended: bool = False,
    publisher: str = "credlink 公共信用信息共享平台",
    external: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Export the ownership-and-control graph on ``as_of`` as BODS 0.4 statements.

    Parameters
    ----------
    enterprises, persons, roles
        Contract frames. ``enterprises`` needs ``uscc`` and ``name`` (``kind``, ``founded``,
        ``closed`` used when present); ``persons`` needs ``person_id`` and ``name`` (its
        ``id_hash`` / ``id_masked`` are never read).
    as_of
        Snapshot date: roles present on it (``start ≤ as_of < end``) and enterprises founded
        by it are exported; it is also every statement's ``statementDate``.
    publication_date
        ``publicationDetails.publicationDate``; default ``as_of`` (keeps output reproducible).
    mask_persons
        Mask person names (``张*``) and leave out the person_id identifier. Default False:
        exports go to the credit office, which sees full names.
    include_ended
        Also export roles that started by ``as_of`` but have ended (with ``endDate``).
    publisher
        ``publicationDetails.publisher.name``.
    external
        The store's ``external_parties`` (:func:`risk.bods.read_external_parties`): the name,
        register, type and jurisdiction of each party outside the Chinese registers that a
        role names. Without it such a party gets a minimal statement (its scheme and id read
        from its key). A person's hashed foreign identifier is never exported.

    Returns
    -------
    list of dict
        Entity statements (by USCC), then person statements (by recordId), then relationship
        statements (by enterprise, holder), each a JSON-ready dict.

    Raises
    ------
    TypeError, ValueError, InvalidFrameError
        For a malformed frame or date.

    Notes
    -----
    Persons are exported only when they hold an exported role (data minimisation); an
    enterprise named in a role but missing from ``enterprises`` gets a minimal entity
    statement (identifier only) so every relationship resolves. See :mod:`risk.bods` for
    the full mapping.
    """
    require_frame(enterprises, "enterprises", ("uscc", "name"))
    require_frame(persons, "persons", ("person_id", "name"))
    present = roles_present_on(roles, as_of)  # validates roles and as_of
    t = pd.Timestamp(as_of).normalize()
    if include_ended:
        start = pd.to_datetime(roles["start"])
        present = roles.loc[(start.notna() & (start <= t)).to_numpy()].reset_index(drop=True)
    statement_date = t.strftime("%Y-%m-%d")
    published = statement_date
    if publication_date is not None:
        try:
            published = pd.Timestamp(publication_date).strftime("%Y-%m-%d")
        except (TypeError, ValueError):
            raise ValueError(
                f"publication_date must be a date like 2024-05-31; got {publication_date!r}"
            ) from None
    publication = {
        "publicationDate": published,
        "bodsVersion": BODS_VERSION,
        "publisher": {"name": publisher},
    }

    ents = enterprises
    if "founded" in ents:
        founded = pd.to_datetime(ents["founded"])
        ents = ents.loc[(founded.isna() | (founded <= t)).to_numpy()]
    by_uscc = {str(r["uscc"]): r for r in ents.to_dict("records") if text_or_none(r["uscc"])}
    parties: dict[str, dict[str, Any]] = {}
    if external is not None:
        require_frame(external, "external", ("party_id", "party_type", "name"))
        parties = {str(r["party_id"]): r for r in external.to_dict("records")}
    holder_type = present["holder_type"].astype(str)
    holder_id = present["holder_id"].astype(str)
    referenced = set(present["uscc"].astype(str)) | set(
        holder_id[(holder_type == HolderType.enterprise.value).to_numpy()]
    )
    referenced -= DECLARED_HOLDERS

    statements: list[dict[str, Any]] = []
    for uscc in sorted(set(by_uscc) | referenced):
        if uscc not in by_uscc and is_external_party_id(uscc):
            details = _external_entity(uscc, parties.get(uscc, {}))
        else:
            details = _enterprise(uscc, by_uscc.get(uscc, {}))
        record_id = _entity_record_id(uscc)
        statements.append(
            _statement("entity", record_id, record_id, details, statement_date, publication)
        )

    # A store ingested before ingest refused them may hold ID numbers in names: masked.
    names = {
        str(r["person_id"]): mask_id_numbers(text) if (text := text_or_none(r["name"])) else None
        for r in persons[["person_id", "name"]].to_dict("records")
    }
    for party_id, info in parties.items():  # persons known without an ID number
        if info.get("party_type") == HolderType.person.value and party_id not in names:
            text = text_or_none(info["name"])
            names[party_id] = mask_id_numbers(text) if text else None
    person_holders = set(holder_id[(holder_type == HolderType.person.value).to_numpy()])
    person_holders -= DECLARED_HOLDERS
    person_statements = []
    for person_id in person_holders:
        details = {"isComponent": False, "personType": "knownPerson"}
        name = names.get(person_id)
        if name:
            details["names"] = (
                [{"fullName": mask_name(name)}]
                if mask_persons
                else [{"type": "legal", "fullName": name}]
            )
        if not (mask_persons or RESIDENT_ID_RE.match(person_id) or contains_id_number(person_id)):
            details["identifiers"] = [{"id": person_id, "schemeName": PERSON_ID_SCHEME_NAME}]
        record_id = person_record_id(person_id)
        person_statements.append(
            _statement("person", record_id, record_id, details, statement_date, publication)
        )
    statements.extend(sorted(person_statements, key=lambda s: s["recordId"]))

    present = present.assign(
        _holder_type=np.where(holder_id.isin(DECLARED_HOLDERS), "unknown", holder_type),
        _holder_id=holder_id.to_numpy(),
        _uscc=present["uscc"].astype(str).to_numpy(),
        _order=present["role"].astype(str).map(ROLE_ORDER).to_numpy(),
        _start=pd.to_datetime(present["start"]),
    )
    present = present.sort_values(["_uscc", "_holder_type", "_holder_id", "_order", "_start"])
    # One pass over plain dicts: per-group DataFrame.to_dict is ~100x slower at county scale.
    grouped: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in present.to_dict("records"):
        key = (row["_uscc"], row["_holder_type"], row["_holder_id"])
        grouped.setdefault(key, []).append(row)
    for (uscc, kind_of_holder, holder), rows in grouped.items():
        if kind_of_holder == "unknown":
            party: Any = dict(_DECLARED_PARTIES[holder])
        elif kind_of_holder == HolderType.enterprise.value:
            party = _entity_record_id(holder)
        else:
            party = person_record_id(holder)
        interests = [_interest(r) for r in rows]
        details = {
            "isComponent": False,
            "subject": _entity_record_id(uscc),
            "interestedParty": party,
            "interests": interests,
        }
        ended = all("endDate" in i and i["endDate"] <= statement_date for i in interests)
        statements.append(
            _statement(
                "relationship",
                relationship_record_id(uscc, kind_of_holder, holder),
                _entity_record_id(uscc),
                details,
                statement_date,
                publication,
                status="closed" if ended else "new",
            )
        )
    return statements


def _enterprise(uscc: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The entity record details of an enterprise (identified by its USCC)."""
    details: dict[str, Any] = {"isComponent": False, "entityType": {"type": "registeredEntity"}}
    kind = text_or_none(row.get("kind"))
    if kind is not None and kind in EnterpriseKind.__members__:
        details["entityType"]["details"] = zh_label(EnterpriseKind(kind))
    name = text_or_none(row.get("name"))
    if name:
        details["name"] = mask_id_numbers(name)
    details["jurisdiction"] = dict(JURISDICTION)
    details["identifiers"] = [{"id": uscc, "scheme": USCC_SCHEME, "schemeName": USCC_SCHEME_NAME}]
    for column, field in (("founded", "foundingDate"), ("closed", "dissolutionDate")):
        value = iso_date(row.get(column))
        if value:
            details[field] = value
    return details


def _entity_record_id(node_id: str) -> str:
    """An entity's recordId; opaque when its id holds a resident ID number (a store written
    before import refused such parties), so the number is never published."""
    if contains_id_number(node_id) and not check_uscc(node_id).ok:
        return f"credlink-entity-{record_uuid('entity:' + node_id)}"
    return entity_record_id(node_id)


def _external_entity(party_id: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The entity record details of a party outside the Chinese registers."""
    entity_type = text_or_none(row.get("entity_type"))
    scheme = text_or_none(row.get("scheme"))
    ident = text_or_none(row.get("identifier"))
    if not row and not party_id.startswith("BODS-REC-"):
        # No stored row: the key is {scheme}-{id} (risk.identifiers.external_party_id).
        first, second, rest = party_id.split("-", 2)
        scheme, ident = f"{first}-{second}", rest
    details: dict[str, Any] = {
        "isComponent": False,
        "entityType": {"type": entity_type or ("registeredEntity" if ident else "unknownEntity")},
    }
    name = text_or_none(row.get("name"))
    if name:
        details["name"] = mask_id_numbers(name)
    jurisdiction = text_or_none(row.get("jurisdiction"))
    if jurisdiction:
        details["jurisdiction"] = {"name": jurisdiction, "code": jurisdiction}
    if ident and scheme and not contains_id_number(f"{scheme} {ident}"):
        key = "scheme" if ORG_ID_SCHEME_RE.match(scheme) else "schemeName"
        details["identifiers"] = [{"id": ident, key: scheme}]
    for column, field in (("founded", "foundingDate"), ("closed", "dissolutionDate")):
        value = iso_date(row.get(column))
        if value:
            details[field] = value
    return details
