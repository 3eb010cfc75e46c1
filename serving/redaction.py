"""What leaves credlink for people carries no raw resident ID number, whatever the store holds.

A store ingested before ingest refused them can hold ID numbers as person ids, in names, in
records' texts (决定书文号, 处罚机关), in the warnings' evidence built from those, and in
lifecycle notes. The read side is safe regardless, with two tools used by the API
(:mod:`serving.crud`), the pages (:mod:`serving.web`) and the CLI:

* :class:`PersonIds` / :func:`served_person_id`: a person id that holds an ID number is
  shown as :func:`person_pseudonym` — ``person-`` and 16 hex digits of a keyed hash, the
  same in every response, role, process and CLI run (the key is the store's ID salt), so
  networks and paths still join up, but opaque. Banks get per-response aliases instead.
* :func:`without_id_numbers`: the last step before anything is shown — every ID number in
  any text is masked (``340321********1234``), the text around it kept.

:func:`risk.identifiers.contains_id_number` and :func:`~risk.identifiers.mask_id_numbers` are
the one detector and masker; this module only decides where they apply.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from risk.graph import GraphSnapshot
from risk.identifiers import contains_id_number, mask_id_numbers

__all__ = [
    "IdNumberLogFilter",
    "PersonIds",
    "install_log_filters",
    "person_pseudonym",
    "served_person_id",
    "without_id_numbers",
]

T = TypeVar("T")
_ID_LENGTH = 18


def person_pseudonym(person_id: str, key: bytes) -> str:
    """The id served for a person whose stored id holds a resident ID number.

    ``person-`` and the first 16 hex digits of HMAC-SHA256(key, person_id). The key is the
    store's ID salt (:meth:`serving.settings.Settings.salt`), so the pseudonym is the same in
    every response, process and CLI run of one deployment; a plain hash would not do, because
    the ID numbers are few enough to hash them all.
    """
    digest = hmac.new(key, b"credlink person pseudonym\x00" + person_id.encode(), hashlib.sha256)
    return f"person-{digest.hexdigest()[:16]}"


def served_person_id(person_id: str, key: bytes | None = None) -> str:
    """A person's id as served: :func:`person_pseudonym` if it holds an ID number, else as is.

    Without a ``key``, pseudonyms use a random key of this process (:class:`PersonIds`).
    """
    if not contains_id_number(person_id):
        return person_id
    return person_pseudonym(person_id, key or _process_key())


@functools.cache
def _process_key() -> bytes:
    """A random pseudonym key for callers whose ids only need to agree within this process."""
    return secrets.token_bytes(32)


@dataclass
class PersonIds:
    """How node ids leave the service (module docstring).

    Enterprise ids (USCCs) pass unchanged. A person id becomes a per-response alias
    (``person-1``, … for banks, ``aliases=True``), else :func:`person_pseudonym` when it holds
    an ID number, else stays as stored. Without a ``key`` the pseudonyms are keyed by a random
    key of this process: opaque, but not stable across processes (the routes pass the store's
    ID salt; the pages, which never show person ids, need not).
    """

    snapshot: GraphSnapshot
    key: bytes | None = None
    aliases: bool = False
    served: dict[str, str] = field(default_factory=dict)
    n_aliases: int = 0

    def __call__(self, node_id: str) -> str:
        if node_id in self.served:
            return self.served[node_id]
        position = self.snapshot.node_ids.get_indexer([node_id])[0]
        person = position >= 0 and bool(self.snapshot.is_person[position])
        if position >= 0 and not person:
            return node_id
        if self.aliases and person:
            self.n_aliases += 1
            shown = f"person-{self.n_aliases}"
        else:
            shown = served_person_id(node_id, self.key)
        self.served[node_id] = shown
        return shown

    def explanation(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """An :meth:`risk.propagation.Explanation.to_dict` with its node ids served."""
        sources = [
            {
                **source,
                "subject_id": self(source["subject_id"]),
                "walks": [
                    {
                        **walk,
                        "hops": [
                            {**hop, "from_id": self(hop["from_id"]), "to_id": self(hop["to_id"])}
                            for hop in walk["hops"]
                        ],
                    }
                    for walk in source["walks"]
                ],
            }
            for source in payload["sources"]
        ]
        return {**payload, "node_id": self(payload["node_id"]), "sources": sources}


def _holds_id_number(value: Any) -> bool:
    if isinstance(value, str):
        # Most texts (names, codes, labels) are shorter than an ID number: no scan.
        return len(value) >= _ID_LENGTH and contains_id_number(value)
    if isinstance(value, dict):
        return any(_holds_id_number(k) or _holds_id_number(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_id_number(v) for v in value)
    return False


def without_id_numbers(value: T) -> T:
    """``value`` with every resident ID number in its text masked (``340321********1234``).

    Walks strings, dicts (keys too), lists and tuples; returns ``value`` itself when nothing
    needs masking (the common case: one read-only pass, no copy).
    """
    if not _holds_id_number(value):
        return value
    masked: Any
    if isinstance(value, str):
        masked = mask_id_numbers(value)
    elif isinstance(value, dict):
        masked = {without_id_numbers(k): without_id_numbers(v) for k, v in value.items()}
    else:
        assert isinstance(value, list | tuple)
        masked = type(value)(without_id_numbers(v) for v in value)
    return cast(T, masked)


class IdNumberLogFilter(logging.Filter):
    """Mask resident ID numbers in a log record's message and arguments before it is written.

    uvicorn's access log prints request paths and query strings, where a caller may have put
    an ID number (``GET /v1/entities/11010519491231002X/risk``); error logs print exception
    texts. The record is rewritten, never dropped.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_id_numbers(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                mask_id_numbers(a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.args, Mapping):
            record.args = {
                k: mask_id_numbers(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


#: The loggers whose records may carry what a caller sent.
_CALLER_LOGGERS = ("uvicorn.access", "uvicorn.error", "serving", "risk", "models", "features")


def install_log_filters() -> None:
    """Put one :class:`IdNumberLogFilter` on each logger that may print what a caller sent
    (idempotent)."""
    for name in _CALLER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, IdNumberLogFilter) for f in logger.filters):
            logger.addFilter(IdNumberLogFilter())
