"""The checks of BODS 0.4 statements read from elsewhere: required fields, codelists, dates,
identifiers and interests, each problem named with its place (``statements[3].…``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from risk.bods.codes import (
    DATE_RE,
    DIRECTNESS,
    ENTITY_TYPES,
    INTEREST_TYPES,
    PERSON_TYPES,
    RECORD_STATUSES,
    RECORD_TYPES,
    UNSPECIFIED_REASONS,
)

__all__ = [
    "is_date",
    "validate_statement",
    "validate_statements",
]


def is_date(value: Any) -> bool:
    if not isinstance(value, str) or not DATE_RE.match(value):
        return False
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def _check_date(details: Mapping[str, Any], key: str, where: str, problems: list[str]) -> None:
    if key in details and not is_date(details[key]):
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


def _check_object(
    details: Mapping[str, Any], key: str, where: str, problems: list[str], text: Sequence[str] = ()
) -> None:
    """``details[key]``, when given, is an object whose ``text`` fields are strings."""
    value = details.get(key)
    if value is not None:
        _check_text_object(value, f"{where}.{key}", problems, text)


def _check_objects(
    details: Mapping[str, Any], key: str, where: str, problems: list[str], text: Sequence[str] = ()
) -> None:
    """``details[key]``, when given, is an array of objects whose ``text`` fields are strings."""
    values = details.get(key)
    if values is None:
        return
    if not isinstance(values, list):
        problems.append(f"{where}.{key} must be an array; got {values!r}")
        return
    for k, value in enumerate(values):
        _check_text_object(value, f"{where}.{key}[{k}]", problems, text)


def _check_text_object(value: Any, at: str, problems: list[str], text: Sequence[str]) -> None:
    """``value`` is an object whose ``text`` fields, when given, are strings."""
    if not isinstance(value, Mapping):
        problems.append(f"{at} must be an object; got {value!r}")
        return
    for field in text:
        if field in value and value[field] is not None and not isinstance(value[field], str):
            problems.append(f"{at}.{field} must be a string; got {value[field]!r}")


def _check_interest(interest: Any, where: str, problems: list[str]) -> None:
    if not isinstance(interest, Mapping):
        problems.append(f"{where} must be an object; got {interest!r}")
        return
    _check_enum(interest.get("type"), INTEREST_TYPES, f"{where}.type", problems, required=False)
    _check_enum(
        interest.get("directOrIndirect"),
        DIRECTNESS,
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


def validate_statement(statement: Any, where: str) -> list[str]:
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
    _check_enum(record_type, RECORD_TYPES, f"{where}.recordType", problems)
    _check_enum(
        statement.get("recordStatus"),
        RECORD_STATUSES,
        f"{where}.recordStatus",
        problems,
        required=False,
    )
    _check_date(statement, "statementDate", where, problems)
    _check_object(statement, "publicationDetails", where, problems)
    publication = statement.get("publicationDetails")
    if isinstance(publication, Mapping):
        _check_object(publication, "publisher", f"{where}.publicationDetails", problems, ("name",))
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
            _check_enum(entity_type.get("type"), ENTITY_TYPES, f"{at}.entityType.type", problems)
            _check_object(details, "entityType", at, problems, ("details",))
        _check_object(details, "jurisdiction", at, problems, ("name", "code"))
        if "name" in details and not isinstance(details["name"], str):
            problems.append(f"{at}.name must be a string; got {details['name']!r}")
        _check_identifiers(details, at, problems)
        for key in ("foundingDate", "dissolutionDate"):
            _check_date(details, key, at, problems)
    elif record_type == "person":
        _check_enum(details.get("personType"), PERSON_TYPES, f"{at}.personType", problems)
        _check_object(details, "unspecifiedPersonDetails", at, problems, ("reason",))
        _check_objects(details, "nationalities", at, problems, ("name", "code"))
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
        problems.extend(validate_statement(statement, f"statements[{index}]"))
    return problems
