"""The BODS 0.4 vocabulary credlink writes and reads: codelists, identifier schemes, the role →
interest map, and the deterministic ids of records (UUID5 of their keys).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import pandas as pd

from risk.contract import (
    ROLE_LABELS,
    SHARE_RANGE_RE,
    Role,
)
from risk.identifiers import ORG_ID_SCHEME_RE  # one pattern: external party ids use it too

__all__ = [
    "BODS_VERSION",
    "DATE_RE",
    "DIRECTNESS",
    "ENTITY_TYPES",
    "EXEMPT_REASONS",
    "INTEREST_TYPES",
    "JURISDICTION",
    "ORG_ID_SCHEME_RE",
    "PERSON_ID_SCHEME_NAME",
    "PERSON_TYPES",
    "RECORD_STATUSES",
    "RECORD_TYPES",
    "RESIDENT_ID_RE",
    "ROLE_INTERESTS",
    "ROLE_ORDER",
    "SOURCE",
    "UNKNOWN_DESCRIPTION",
    "UNSPECIFIED_REASONS",
    "USCC_SCHEME",
    "USCC_SCHEMES",
    "USCC_SCHEME_NAME",
    "bods_share",
    "entity_record_id",
    "iso_date",
    "person_record_id",
    "record_uuid",
    "relationship_record_id",
    "share_of",
    "text_or_none",
]

BODS_VERSION: Final = "0.4"
#: org-id.guide code of the 统一社会信用代码 (Unified Social Credit Identifier).
USCC_SCHEME: Final = "CN-USCI"
USCC_SCHEME_NAME: Final = "统一社会信用代码 (Unified Social Credit Identifier, GB 32100-2015)"
#: org-id.guide schemes accepted as a USCC on import: CN-USCI, and CN-SAIC (the registry's
#: older list entry, which credlink wrote before). Another ``CN-`` scheme or a schemeName
#: naming 统一社会信用代码 is accepted only when its id is a valid USCC, and reported.
USCC_SCHEMES: Final = frozenset({"CN-USCI", "CN-SAIC"})
#: The unspecifiedReason codes that declare an owner exempt from disclosure; the others
#: declare it unknown.
EXEMPT_REASONS: Final = frozenset(
    {"subjectExemptFromDisclosure", "interestedPartyExemptFromDisclosure"}
)
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
RECORD_TYPES = ("entity", "person", "relationship")
RECORD_STATUSES = ("new", "updated", "closed")
ENTITY_TYPES = (
    "registeredEntity",
    "legalEntity",
    "arrangement",
    "anonymousEntity",
    "unknownEntity",
    "state",
    "stateBody",
)
PERSON_TYPES = ("anonymousPerson", "unknownPerson", "knownPerson")
DIRECTNESS = ("direct", "indirect", "unknown")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# 18-digit resident ID (GB 11643) or the old 15-digit form: never exported as an identifier.
RESIDENT_ID_RE = re.compile(r"^(\d{17}[\dXx]|\d{15})$")
JURISDICTION: Final = {"name": "中国", "code": "CN"}
SOURCE: Final[dict[str, Any]] = {
    "type": ["officialRegister"],
    "description": "公共信用信息共享平台：企业登记、任职与出资信息",
}
UNKNOWN_DESCRIPTION = "持有人申报为不明（credlink 保留持有人 UNKNOWN）"
ROLE_ORDER = {r.value: i for i, r in enumerate(Role)}


def record_uuid(text: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, text))


def entity_record_id(uscc: str) -> str:
    """The BODS ``recordId`` of an enterprise (its USCC is public)."""
    return f"credlink-entity-{uscc}"


def person_record_id(person_id: str) -> str:
    """The opaque BODS ``recordId`` of a person (UUID5 of the person_id)."""
    return f"credlink-person-{record_uuid('person:' + person_id)}"


def relationship_record_id(uscc: str, holder_type: str, holder_id: str) -> str:
    return f"credlink-relationship-{record_uuid(f'relationship:{uscc}|{holder_type}|{holder_id}')}"


def iso_date(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def text_or_none(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def _number(value: float) -> str:
    """A percent bound in plain decimal notation, to 10 decimals (``33.33333333``, ``0.00001``,
    ``75``): never rounded to 6 digits or written with an exponent, so the range's lower bound
    and the share agree and the contract's interval notation reads it."""
    return format(Decimal(repr(round(float(value), 10))).normalize(), "f")


def share_of(share: Mapping[str, Any] | None) -> tuple[float | None, str | None]:
    """A BODS ``share`` object as credlink keeps it: (share in [0, 1], range or None).

    ``exact`` gives the share itself. A range (``minimum`` / ``exclusiveMinimum``,
    ``maximum`` / ``exclusiveMaximum``, in percent) is kept whole in interval notation —
    ``{"minimum": 75, "exclusiveMaximum": 100}`` → ``"[75,100)"`` — and its lower bound is the
    share every product uses: an "at least" answer, so a holder is never credited with more
    than was declared (a range without a lower bound counts 0). Returns ``(None, None)`` when
    the object gives neither.
    """
    if not share:
        return None, None
    if share.get("exact") is not None:
        return round(float(share["exact"]) / 100, 12), None
    low = share.get("minimum", share.get("exclusiveMinimum"))
    high = share.get("maximum", share.get("exclusiveMaximum"))
    if low is None and high is None:
        return None, None
    opening = "(" if "minimum" not in share and "exclusiveMinimum" in share else "["
    closing = ")" if "maximum" not in share and "exclusiveMaximum" in share else "]"
    text = f"{opening}{_number(low or 0)},{_number(100 if high is None else high)}{closing}"
    return round(float(low or 0) / 100, 12), text


def bods_share(share: Any, share_range: Any) -> dict[str, float] | None:
    """The BODS ``share`` object of a role: its range when it has one, else ``exact``."""
    text = text_or_none(share_range)
    if text is not None:
        match = SHARE_RANGE_RE.match(text)
        if match is None:
            raise ValueError(f"share_range must be like [25,50); got {text!r}")
        opening, low, high, closing = match.groups()
        return {
            ("minimum" if opening == "[" else "exclusiveMinimum"): float(low),
            ("maximum" if closing == "]" else "exclusiveMaximum"): float(high),
        }
    if share is None or pd.isna(share):
        return None
    # round(…, 10): register shares (a few decimals) survive ×100 / ÷100 exactly.
    return {"exact": round(float(share) * 100, 10)}
