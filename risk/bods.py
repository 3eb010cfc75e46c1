"""Interchange of the ownership graph as Open Ownership BODS 0.4 statements.

:func:`export_bods` turns the contract tables (enterprises, persons, roles) into BODS 0.4
entity, person and relationship statements; :func:`import_bods` turns statements back into
contract-shaped frames plus a report of everything it could not map; :func:`write_bods` and
:func:`read_bods` store statements as a JSON array (``.json``) or JSON Lines (``.jsonl``,
``.ndjson``).

Mapping (contract → BODS 0.4)
    ============================  ===================================================
    enterprise                    entity statement, ``entityType.type`` registeredEntity,
                                  ``entityType.details`` the Chinese kind (公司, 分支机构, …);
                                  identifier ``{"id": USCC, "scheme": "CN-SAIC"}``
                                  (org-id.guide's code for the registry that issues the
                                  统一社会信用代码, now SAMR); jurisdiction CN; founded →
                                  foundingDate; closed → dissolutionDate
    person                        person statement, knownPerson, ``names[0].fullName`` as
                                  given; identifier ``{"id": person_id, "schemeName":
                                  "credlink person_id"}`` (the platform's internal id). No ID
                                  number, hash or masked ID ever leaves: the persons table's
                                  ``id_hash`` / ``id_masked`` are not read.
    shareholder                   interest ``shareholding``, ``share.exact`` = share × 100
    legal_rep                     interest ``seniorManagingOfficial``, details 法定代表人
    executive                     interest ``seniorManagingOfficial``, details 高管
    branch_of                     interest ``otherInfluenceOrControl``, details 分支机构
    holder ``UNKNOWN``            ``interestedParty`` = unspecifiedRecord
                                  ``{"reason": "unknown", "description": …}``
    ============================  ===================================================

    One relationship statement per (enterprise, holder) carries all of that holder's roles as
    interests; every interest is ``directOrIndirect: "direct"`` (the roles table holds direct
    roles; chains are computed by :mod:`risk.ownership`).

Privacy
    Exports are meant for the credit office (信用办) and peer registries, so names are given
    in full by default; ``mask_persons=True`` masks names with
    :func:`risk.identifiers.mask_name` and drops the person_id identifier (for bank-facing
    use). Person ``recordId`` values are opaque (a UUID derived from person_id), and a
    person_id that looks like or holds a resident ID number is never exported. A store
    ingested before ingest refused ID numbers may hold them in names: they are masked
    (:func:`risk.identifiers.mask_id_numbers`), the rest of the name kept.

Determinism
    ``statementId`` is a UUID5 of the statement's content (everything but the id and the
    publication details), record ids are derived from keys, and statements are sorted, so
    the same data on the same ``as_of`` always gives byte-identical output.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from risk.contract import (
    ROLE_LABELS,
    TABLES,
    UNKNOWN_HOLDER,
    ColumnKind,
    EnterpriseKind,
    HolderType,
    Role,
    enum_lookup,
    zh_label,
)
from risk.dates import roles_present_on
from risk.exceptions import BodsValidationError
from risk.frames import require_frame
from risk.identifiers import contains_id_number, mask_id_numbers, mask_name, normalize_uscc
from risk.store import coerce_frame

__all__ = [
    "BODS_VERSION",
    "INTEREST_TYPES",
    "PERSON_ID_SCHEME_NAME",
    "ROLE_INTERESTS",
    "UNSPECIFIED_REASONS",
    "USCC_SCHEME",
    "USCC_SCHEMES",
    "BodsImport",
    "entity_record_id",
    "export_bods",
    "import_bods",
    "person_record_id",
    "read_bods",
    "validate_statements",
    "write_bods",
]

BODS_VERSION: Final = "0.4"
#: org-id.guide code of the registry issuing the 统一社会信用代码 (SAIC, since 2018 SAMR).
USCC_SCHEME: Final = "CN-SAIC"
USCC_SCHEME_NAME: Final = "统一社会信用代码 (Unified Social Credit Identifier, GB 32100-2015)"
#: Schemes accepted as a USCC on import.
USCC_SCHEMES: Final = frozenset({"CN-SAIC", "CN-SAMR", "CN-USCC"})
#: ``schemeName`` of the internal person id; not a national ID scheme ({ISO}-IDCARD etc.).
PERSON_ID_SCHEME_NAME: Final = "credlink person_id"
#: BODS 0.4 ``interestType`` codelist.
INTEREST_TYPES: Final = (
    "shareholding",
    "votingRights",
    "appointmentOfBoard",
    "otherInfluenceOrControl",
    "seniorManagingOfficial",
    "settlor",
    "trustee",
    "protector",
    "beneficiaryOfLegalArrangement",
    "rightsToSurplusAssetsOnDissolution",
    "rightsToProfitOrIncome",
    "rightsGrantedByContract",
    "conditionalRightsGrantedByContract",
    "controlViaCompanyRulesOrArticles",
    "controlByLegalFramework",
    "boardMember",
    "boardChair",
    "unknownInterest",
    "unpublishedInterest",
    "enjoymentAndUseOfAssets",
    "rightToProfitOrIncomeFromAssets",
    "nominee",
    "nominator",
)
#: BODS 0.4 ``unspecifiedReason`` codelist.
UNSPECIFIED_REASONS: Final = (
    "noBeneficialOwners",
    "subjectUnableToConfirmOrIdentifyBeneficialOwner",
    "interestedPartyHasNotProvidedInformation",
    "subjectExemptFromDisclosure",
    "interestedPartyExemptFromDisclosure",
    "unknown",
    "informationUnknownToPublisher",
)
#: role → (BODS interest type, interest details).
ROLE_INTERESTS: Final[Mapping[Role, tuple[str, str]]] = {
    Role.shareholder: ("shareholding", ROLE_LABELS[Role.shareholder]),
    Role.legal_rep: ("seniorManagingOfficial", ROLE_LABELS[Role.legal_rep]),
    Role.executive: ("seniorManagingOfficial", ROLE_LABELS[Role.executive]),
    Role.branch_of: ("otherInfluenceOrControl", ROLE_LABELS[Role.branch_of]),
}

_NAMESPACE: Final = uuid.UUID(
    "32a109a8-d045-5b22-8e14-128053f87f01"
)  # uuid5(URL, urn:credlink:bods:0.4)
_RECORD_TYPES = ("entity", "person", "relationship")
_RECORD_STATUSES = ("new", "updated", "closed")
_ENTITY_TYPES = (
    "registeredEntity",
    "legalEntity",
    "arrangement",
    "anonymousEntity",
    "unknownEntity",
    "state",
    "stateBody",
)
_PERSON_TYPES = ("anonymousPerson", "unknownPerson", "knownPerson")
_DIRECTNESS = ("direct", "indirect", "unknown")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# 18-digit resident ID (GB 11643) or the old 15-digit form: never exported as an identifier.
_RESIDENT_ID_RE = re.compile(r"^(\d{17}[\dXx]|\d{15})$")
_JURISDICTION: Final = {"name": "中国", "code": "CN"}
_SOURCE: Final[dict[str, Any]] = {
    "type": ["officialRegister"],
    "description": "公共信用信息共享平台：企业登记、任职与出资信息",
}
_UNKNOWN_DESCRIPTION = "持有人申报为不明（credlink 保留持有人 UNKNOWN）"
_ROLE_ORDER = {r.value: i for i, r in enumerate(Role)}
_REPORT_COLUMNS = (
    "statement_index",
    "statement_id",
    "record_id",
    "record_type",
    "interest_index",
    "outcome",
    "reason",
)


# --------------------------------------------------------------------------- export


def _iso(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def _uuid(text: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, text))


def entity_record_id(uscc: str) -> str:
    """The BODS ``recordId`` of an enterprise (its USCC is public)."""
    return f"credlink-entity-{uscc}"


def person_record_id(person_id: str) -> str:
    """The opaque BODS ``recordId`` of a person (UUID5 of the person_id)."""
    return f"credlink-person-{_uuid('person:' + person_id)}"


def _relationship_record_id(uscc: str, holder_type: str, holder_id: str) -> str:
    return f"credlink-relationship-{_uuid(f'relationship:{uscc}|{holder_type}|{holder_id}')}"


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
        "source": {"type": list(_SOURCE["type"]), "description": _SOURCE["description"]},
    }
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    publication_copy = {**publication, "publisher": dict(publication["publisher"])}
    return {"statementId": _uuid(canonical), **body, "publicationDetails": publication_copy}


def _interest(row: Mapping[str, Any]) -> dict[str, Any]:
    kind, details = ROLE_INTERESTS[Role(str(row["role"]))]
    interest: dict[str, Any] = {"type": kind, "details": details, "directOrIndirect": "direct"}
    share = row.get("share")
    if kind == "shareholding" and share is not None and not pd.isna(share):
        # round(…, 10): register shares (a few decimals) survive ×100 / ÷100 exactly.
        interest["share"] = {"exact": round(float(share) * 100, 10)}
    interest["startDate"] = _iso(row["start"])
    end = _iso(row.get("end"))
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
    statement (identifier only) so every relationship resolves. See the module docstring for
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
    by_uscc = {str(r["uscc"]): r for r in ents.to_dict("records") if _text(r["uscc"])}
    holder_type = present["holder_type"].astype(str)
    holder_id = present["holder_id"].astype(str)
    referenced = set(present["uscc"].astype(str)) | set(
        holder_id[(holder_type == HolderType.enterprise.value).to_numpy()]
    )
    referenced.discard(UNKNOWN_HOLDER)

    statements: list[dict[str, Any]] = []
    for uscc in sorted(set(by_uscc) | referenced):
        row = by_uscc.get(uscc, {})
        details: dict[str, Any] = {"isComponent": False, "entityType": {"type": "registeredEntity"}}
        kind = _text(row.get("kind"))
        if kind is not None and kind in EnterpriseKind.__members__:
            details["entityType"]["details"] = zh_label(EnterpriseKind(kind))
        name = _text(row.get("name"))
        if name:
            details["name"] = mask_id_numbers(name)
        details["jurisdiction"] = dict(_JURISDICTION)
        details["identifiers"] = [
            {"id": uscc, "scheme": USCC_SCHEME, "schemeName": USCC_SCHEME_NAME}
        ]
        for column, field in (("founded", "foundingDate"), ("closed", "dissolutionDate")):
            value = _iso(row.get(column))
            if value:
                details[field] = value
        record_id = entity_record_id(uscc)
        statements.append(
            _statement("entity", record_id, record_id, details, statement_date, publication)
        )

    # A store ingested before ingest refused them may hold ID numbers in names: masked.
    names = {
        str(r["person_id"]): mask_id_numbers(text) if (text := _text(r["name"])) else None
        for r in persons[["person_id", "name"]].to_dict("records")
    }
    person_holders = set(holder_id[(holder_type == HolderType.person.value).to_numpy()])
    person_holders.discard(UNKNOWN_HOLDER)
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
        if not (mask_persons or _RESIDENT_ID_RE.match(person_id) or contains_id_number(person_id)):
            details["identifiers"] = [{"id": person_id, "schemeName": PERSON_ID_SCHEME_NAME}]
        record_id = person_record_id(person_id)
        person_statements.append(
            _statement("person", record_id, record_id, details, statement_date, publication)
        )
    statements.extend(sorted(person_statements, key=lambda s: s["recordId"]))

    present = present.assign(
        _holder_type=np.where(holder_id == UNKNOWN_HOLDER, "unknown", holder_type),
        _holder_id=holder_id.to_numpy(),
        _uscc=present["uscc"].astype(str).to_numpy(),
        _order=present["role"].astype(str).map(_ROLE_ORDER).to_numpy(),
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
            party: Any = {"reason": "unknown", "description": _UNKNOWN_DESCRIPTION}
        elif kind_of_holder == HolderType.enterprise.value:
            party = entity_record_id(holder)
        else:
            party = person_record_id(holder)
        interests = [_interest(r) for r in rows]
        details = {
            "isComponent": False,
            "subject": entity_record_id(uscc),
            "interestedParty": party,
            "interests": interests,
        }
        ended = all("endDate" in i and i["endDate"] <= statement_date for i in interests)
        statements.append(
            _statement(
                "relationship",
                _relationship_record_id(uscc, kind_of_holder, holder),
                entity_record_id(uscc),
                details,
                statement_date,
                publication,
                status="closed" if ended else "new",
            )
        )
    return statements


# --------------------------------------------------------------------------- files


def write_bods(statements: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write statements as a JSON array (``.json``) or JSON Lines (``.jsonl``/``.ndjson``).

    UTF-8, ``ensure_ascii=False`` (Chinese stays readable). Returns the path.

    Raises
    ------
    ValueError
        If the extension is none of .json, .jsonl, .ndjson.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".json":
        text = json.dumps(list(statements), ensure_ascii=False, indent=2) + "\n"
    elif suffix in (".jsonl", ".ndjson"):
        text = "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in statements)
    else:
        raise ValueError(f"path must end in .json, .jsonl or .ndjson; got {target.name!r}")
    target.write_text(text, encoding="utf-8")
    return target


def read_bods(path: str | Path) -> list[dict[str, Any]]:
    """Read statements written by :func:`write_bods` (or any BODS JSON / JSON Lines file).

    Raises
    ------
    ValueError
        For an unknown extension.
    BodsValidationError
        If the file is not valid JSON or a ``.json`` file does not hold an array.
    """
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix not in (".json", ".jsonl", ".ndjson"):
        raise ValueError(f"path must end in .json, .jsonl or .ndjson; got {source.name!r}")
    text = source.read_text(encoding="utf-8-sig")
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BodsValidationError(
                [f"{source.name} must be valid JSON; line {exc.lineno}: {exc.msg}"]
            ) from None
        if not isinstance(data, list):
            raise BodsValidationError(
                [f"{source.name} must hold a JSON array of statements; got {type(data).__name__}"]
            )
        return data
    statements = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            statements.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise BodsValidationError(
                [f"{source.name} line {number} must be one JSON statement; {exc.msg}"]
            ) from None
    return statements


# --------------------------------------------------------------------------- validation


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        return False
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def _check_date(details: Mapping[str, Any], key: str, where: str, problems: list[str]) -> None:
    if key in details and not _is_date(details[key]):
        problems.append(f"{where}.{key} must be a date YYYY-MM-DD; got {details[key]!r}")


def _check_enum(
    value: Any, allowed: Sequence[str], where: str, problems: list[str], required: bool = True
) -> None:
    if value is None and not required:
        return
    if value not in allowed:
        problems.append(f"{where} must be one of {', '.join(allowed)}; got {value!r}")


def _check_party(value: Any, where: str, problems: list[str]) -> None:
    if isinstance(value, str):
        if not value:
            problems.append(f"{where} must be a non-empty recordId; got ''")
        return
    if isinstance(value, Mapping):
        _check_enum(value.get("reason"), UNSPECIFIED_REASONS, f"{where}.reason", problems)
        return
    problems.append(
        f"{where} must be a recordId string or an unspecifiedRecord object; got {value!r}"
    )


def _check_identifiers(details: Mapping[str, Any], where: str, problems: list[str]) -> None:
    identifiers = details.get("identifiers")
    if identifiers is None:
        return
    if not isinstance(identifiers, list):
        problems.append(f"{where}.identifiers must be an array; got {identifiers!r}")
        return
    for k, identifier in enumerate(identifiers):
        at = f"{where}.identifiers[{k}]"
        if not isinstance(identifier, Mapping):
            problems.append(f"{at} must be an object; got {identifier!r}")
        elif not (identifier.get("scheme") or identifier.get("schemeName")):
            problems.append(f"{at} must have a scheme or a schemeName; got {dict(identifier)!r}")
        elif "id" in identifier and not isinstance(identifier["id"], str):
            problems.append(f"{at}.id must be a string; got {identifier['id']!r}")


def _check_interest(interest: Any, where: str, problems: list[str]) -> None:
    if not isinstance(interest, Mapping):
        problems.append(f"{where} must be an object; got {interest!r}")
        return
    _check_enum(interest.get("type"), INTEREST_TYPES, f"{where}.type", problems, required=False)
    _check_enum(
        interest.get("directOrIndirect"),
        _DIRECTNESS,
        f"{where}.directOrIndirect",
        problems,
        required=False,
    )
    share = interest.get("share")
    if share is not None:
        if not isinstance(share, Mapping):
            problems.append(f"{where}.share must be an object; got {share!r}")
        else:
            for key, value in share.items():
                number = isinstance(value, int | float) and not isinstance(value, bool)
                if not number or not 0 <= value <= 100:
                    problems.append(
                        f"{where}.share.{key} must be a number between 0 and 100; got {value!r}"
                    )
    for key in ("startDate", "endDate"):
        _check_date(interest, key, where, problems)


def _validate_statement(statement: Any, where: str) -> list[str]:
    if not isinstance(statement, Mapping):
        return [f"{where} must be an object; got {type(statement).__name__}"]
    if "statementType" in statement and "recordType" not in statement:
        return [
            f"{where}.statementType {statement['statementType']!r} is BODS 0.2/0.3; "
            "only BODS 0.4 statements (recordType, recordDetails) are supported"
        ]
    problems: list[str] = []
    sid = statement.get("statementId")
    if not isinstance(sid, str) or not 32 <= len(sid) <= 64:
        problems.append(f"{where}.statementId must be a string of 32-64 characters; got {sid!r}")
    for key in ("recordId", "declarationSubject"):
        value = statement.get(key)
        if not isinstance(value, str) or not value:
            problems.append(f"{where}.{key} must be a non-empty string; got {value!r}")
    record_type = statement.get("recordType")
    _check_enum(record_type, _RECORD_TYPES, f"{where}.recordType", problems)
    _check_enum(
        statement.get("recordStatus"),
        _RECORD_STATUSES,
        f"{where}.recordStatus",
        problems,
        required=False,
    )
    _check_date(statement, "statementDate", where, problems)
    details = statement.get("recordDetails")
    if not isinstance(details, Mapping):
        problems.append(f"{where}.recordDetails must be an object; got {details!r}")
        return problems
    at = f"{where}.recordDetails"
    if not isinstance(details.get("isComponent"), bool):
        problems.append(
            f"{at}.isComponent must be true or false; got {details.get('isComponent')!r}"
        )
    if record_type == "entity":
        entity_type = details.get("entityType")
        if not isinstance(entity_type, Mapping):
            problems.append(f"{at}.entityType must be an object; got {entity_type!r}")
        else:
            _check_enum(entity_type.get("type"), _ENTITY_TYPES, f"{at}.entityType.type", problems)
        if "name" in details and not isinstance(details["name"], str):
            problems.append(f"{at}.name must be a string; got {details['name']!r}")
        _check_identifiers(details, at, problems)
        for key in ("foundingDate", "dissolutionDate"):
            _check_date(details, key, at, problems)
    elif record_type == "person":
        _check_enum(details.get("personType"), _PERSON_TYPES, f"{at}.personType", problems)
        person_names = details.get("names", [])
        if not isinstance(person_names, list):
            problems.append(f"{at}.names must be an array; got {person_names!r}")
        else:
            for k, name in enumerate(person_names):
                if not isinstance(name, Mapping) or not isinstance(name.get("fullName"), str):
                    problems.append(f"{at}.names[{k}].fullName must be a string; got {name!r}")
        _check_identifiers(details, at, problems)
    elif record_type == "relationship":
        for key in ("subject", "interestedParty"):
            if key not in details:
                problems.append(f"{at}.{key} is required; got nothing")
            else:
                _check_party(details[key], f"{at}.{key}", problems)
        interests = details.get("interests", [])
        if not isinstance(interests, list):
            problems.append(f"{at}.interests must be an array; got {interests!r}")
        else:
            for k, interest in enumerate(interests):
                _check_interest(interest, f"{at}.interests[{k}]", problems)
    return problems


def validate_statements(statements: Any) -> list[str]:
    """Check BODS 0.4 statement structure; return every problem found (empty when valid).

    Checks the required fields and codelists of the statement and of entity, person and
    relationship record details (types, enums, dates, shares in [0, 100]), not the whole
    JSON schema. Problems name the JSON path: ``statements[3].recordDetails.interests[0]…``.

    Raises
    ------
    TypeError
        If ``statements`` is not a list of statements.
    """
    if isinstance(statements, str | bytes | Mapping) or not isinstance(statements, Sequence):
        raise TypeError(
            f"statements must be a list of BODS statements; got {type(statements).__name__}"
        )
    problems: list[str] = []
    for index, statement in enumerate(statements):
        problems.extend(_validate_statement(statement, f"statements[{index}]"))
    return problems


# --------------------------------------------------------------------------- import


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
                    out[column] = [_iso(v) for v in out[column]]
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
        if (scheme in USCC_SCHEMES or named) and _text(identifier.get("id")):
            return normalize_uscc(str(identifier["id"]))
    return None


def _person_id_of(details: Mapping[str, Any]) -> str | None:
    for identifier in details.get("identifiers") or ():
        if identifier.get("schemeName") == PERSON_ID_SCHEME_NAME and _text(identifier.get("id")):
            return str(identifier["id"]).strip()
    return None


def _full_name(details: Mapping[str, Any]) -> str | None:
    names = [n for n in details.get("names") or () if _text(n.get("fullName"))]
    legal = [n for n in names if n.get("type") == "legal"]
    chosen = (legal or names or [None])[0]
    return _text(chosen["fullName"]) if chosen else None


def _date_or_none(value: Any) -> pd.Timestamp | None:
    return pd.Timestamp(value[:10]) if _is_date(value) else None


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
    Mapping back (see the module docstring for the forward one):

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
        problems = _validate_statement(statement, f"statements[{index}]")
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
            kind_text = _text((details.get("entityType") or {}).get("details"))
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
                    "name": _text(details.get("name")),
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
