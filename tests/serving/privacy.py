"""Find raw resident ID numbers where they must never be: responses, stores, outputs, logs.

The one detector is :func:`risk.identifiers.contains_id_number`; this module only decides
*where* to look and reports each place found as a :class:`Leak`, whose excerpt is itself
masked (a failing test must not print the number it found).

Usage
-----
Record every response a client receives, then scan them::

    log = ResponseLog().attach(client)          # a TestClient or any httpx.Client
    ...                                         # the test session's calls
    assert log.leaks() == []

Responses from elsewhere (schemathesis' ``case.call()`` returns ``requests`` responses) are
added with :meth:`ResponseLog.add`. A store is scanned with :func:`scan_store` (every column
of every table, JSON and numbers included), CLI output or files with :func:`scan_texts`, log
records (pytest's ``caplog.records``) with :func:`scan_log_records`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine, MetaData, select

from risk.identifiers import contains_id_number, mask_id_numbers

__all__ = [
    "Leak",
    "ResponseLog",
    "scan_log_records",
    "scan_response",
    "scan_store",
    "scan_texts",
]

_EXCERPT = 60


@dataclass(frozen=True)
class Leak:
    """A place holding a resident ID number, and the text around it (masked)."""

    where: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.where}: {self.excerpt}"


def _excerpt(text: str) -> str:
    """The text around the first ID number, masked (the number itself never leaves here)."""
    masked = mask_id_numbers(text)
    position = next((i for i, (a, b) in enumerate(zip(text, masked, strict=True)) if a != b), 0)
    start = max(0, position - _EXCERPT)
    return masked[start : position + _EXCERPT]


def _found(where: str, text: str) -> Leak | None:
    return Leak(mask_id_numbers(where), _excerpt(text)) if contains_id_number(text) else None


class _Client(Protocol):
    """An httpx-style client (a TestClient, an ``httpx.Client``): it has event hooks."""

    @property
    def event_hooks(self) -> dict[str, list[Any]]: ...

    @event_hooks.setter
    def event_hooks(self, hooks: dict[str, list[Any]]) -> None: ...


class _Response(Protocol):
    """What httpx and requests responses have in common."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes


def _label(response: Any) -> str:
    request = getattr(response, "request", None)
    method = getattr(request, "method", "?") if request is not None else "?"
    url = str(getattr(request, "url", "?")) if request is not None else "?"
    return f"{method} {url} → {response.status_code}"


def scan_response(response: _Response) -> list[Leak]:
    """Every header (name and value) and the body of one response."""
    label = _label(response)
    leaks = [
        _found(f"{label} header {name}", f"{name}: {value}")
        for name, value in response.headers.items()
    ]
    body = response.content.decode("utf-8", errors="replace")
    leaks.append(_found(f"{label} body", body))
    # JSON may escape non-ASCII text; the parsed strings are what a reader sees.
    if "json" in response.headers.get("content-type", ""):
        try:
            parsed = json.dumps(json.loads(body), ensure_ascii=False)
        except ValueError:
            parsed = ""
        leaks.append(_found(f"{label} body (parsed JSON)", parsed))
    return [leak for leak in leaks if leak is not None]


@dataclass
class ResponseLog:
    """Every response a test session received (:meth:`attach` to a client, or :meth:`add`)."""

    responses: list[Any] = field(default_factory=list)

    def attach(self, client: _Client) -> ResponseLog:
        """Record every response of ``client`` (a TestClient or an ``httpx.Client``)."""
        client.event_hooks["response"] = [*client.event_hooks["response"], self._hook]
        return self

    def _hook(self, response: Any) -> None:
        response.read()  # event hooks run before the body is read
        self.responses.append(response)

    def add(self, response: Any) -> None:
        """Record a response from elsewhere (e.g. schemathesis' ``requests`` responses)."""
        self.responses.append(response)

    def leaks(self) -> list[Leak]:
        """The places in the recorded responses that hold an ID number."""
        return [leak for response in self.responses for leak in scan_response(response)]


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def scan_store(engine: Engine, *, skip: Iterable[str] = ()) -> list[Leak]:
    """Every value of every column of every table in the store (reflected, so nothing is missed).

    Parameters
    ----------
    engine
        The store.
    skip
        ``table`` or ``table.column`` names to leave out (e.g. what a test planted on purpose).
    """
    skipped = set(skip)
    metadata = MetaData()
    metadata.reflect(engine)
    leaks: list[Leak] = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in skipped:
                continue
            columns = [c for c in table.columns if f"{table.name}.{c.name}" not in skipped]
            if not columns:
                continue
            key = list(table.primary_key.columns) or columns[:1]
            for row in conn.execute(select(*key, *columns)):
                at = ",".join(str(v) for v in row[: len(key)])
                for column, value in zip(columns, row[len(key) :], strict=True):
                    if value is None:
                        continue
                    leak = _found(f"{table.name}.{column.name} [{at}]", _text(value))
                    if leak is not None:
                        leaks.append(leak)
    return leaks


def scan_texts(texts: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[Leak]:
    """Named texts (CLI output, files written, rendered pages)."""
    items = texts.items() if isinstance(texts, Mapping) else texts
    return [leak for name, text in items if (leak := _found(name, text)) is not None]


def scan_log_records(records: Iterable[Any]) -> list[Leak]:
    """Log records (``caplog.records``): the formatted message and any exception text."""
    found = []
    for record in records:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f"\n{record.exc_info[1]!r}"
        if record.exc_text:
            text += f"\n{record.exc_text}"
        leak = _found(f"log {record.name} {record.levelname}", text)
        if leak is not None:
            found.append(leak)
    return found
