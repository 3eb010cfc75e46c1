"""The BODS 0.4 vocabulary credlink writes and reads: codelists, identifier schemes, the role →
interest map, and the deterministic ids of records (UUID5 of their keys).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, Final

import pandas as pd

from risk.contract import (
    ROLE_LABELS,
    Role,
)

__all__ = [
    "BODS_VERSION",
    "DATE_RE",
    "DIRECTNESS",
    "ENTITY_TYPES",
    "INTEREST_TYPES",
    "JURISDICTION",
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
    "entity_record_id",
    "iso_date",
    "person_record_id",
    "record_uuid",
    "relationship_record_id",
    "text_or_none",
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
