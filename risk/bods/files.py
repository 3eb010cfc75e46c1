"""BODS statements on disk: a JSON array (``.json``) or JSON Lines (``.jsonl``, ``.ndjson``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from risk.exceptions import BodsValidationError

__all__ = [
    "read_bods",
    "write_bods",
]


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
