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
                                  identifier ``{"id": USCC, "scheme": "CN-USCI"}``
                                  (org-id.guide's code for 统一社会信用代码; CN-SAIC is read
                                  too); jurisdiction CN; founded → foundingDate; closed →
                                  dissolutionDate
    external party                entity statement with its own register (``GB-COH`` …),
                                  type and jurisdiction (``external_parties``: a foreign
                                  company, trust or state body keyed ``{scheme}-{id}``)
    person                        person statement, knownPerson, ``names[0].fullName`` as
                                  given; identifier ``{"id": person_id, "schemeName":
                                  "credlink person_id"}`` (the platform's internal id). No ID
                                  number, hash or masked ID ever leaves: the persons table's
                                  ``id_hash`` / ``id_masked`` are not read.
    shareholder                   interest ``shareholding``, ``share.exact`` = share × 100,
                                  or the range of ``share_range`` (``[75,100)`` →
                                  ``minimum`` 75, ``exclusiveMaximum`` 100)
    directness indirect           ``directOrIndirect: "indirect"`` (a declared end of a chain)
    legal_rep                     interest ``seniorManagingOfficial``, details 法定代表人
    executive                     interest ``seniorManagingOfficial``, details 高管
    branch_of                     interest ``otherInfluenceOrControl``, details 分支机构
    holder ``UNKNOWN``            ``interestedParty`` = unspecifiedRecord
                                  ``{"reason": "unknown", "description": …}``
    holder ``EXEMPT``             unspecifiedRecord ``interestedPartyExemptFromDisclosure``
    ============================  ===================================================

    One relationship statement per (enterprise, holder) carries all of that holder's roles as
    interests. The way back (:func:`import_bods`) keeps every statement of a relationship as
    history, share ranges, indirect interests and declarations; :func:`store_bods` stores an
    import without temporary files. See README "BODS support".

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

Modules
-------
:mod:`~risk.bods.codes` the codelists, schemes, shares and record ids;
:mod:`~risk.bods.export`, :mod:`~risk.bods.importer`, :mod:`~risk.bods.validate` (the checks
of statements read from elsewhere), :mod:`~risk.bods.files` and :mod:`~risk.bods.store`.
"""

from risk.bods.codes import (
    BODS_VERSION,
    INTEREST_TYPES,
    PERSON_ID_SCHEME_NAME,
    ROLE_INTERESTS,
    UNSPECIFIED_REASONS,
    USCC_SCHEME,
    USCC_SCHEMES,
    entity_record_id,
    person_record_id,
)
from risk.bods.export import export_bods
from risk.bods.files import read_bods, write_bods
from risk.bods.importer import EXTERNAL_COLUMNS, BodsImport, import_bods
from risk.bods.store import read_external_parties, store_bods
from risk.bods.validate import validate_statements

__all__ = [
    "BODS_VERSION",
    "EXTERNAL_COLUMNS",
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
    "read_external_parties",
    "store_bods",
    "validate_statements",
    "write_bods",
]
