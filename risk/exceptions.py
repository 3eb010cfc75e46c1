"""The one exception family of credlink's data and risk layers.

Every error subclasses :class:`RiskError` *and* the builtin it specialises, so callers that
only know Python's builtins (``ValueError``, ``KeyError``) still catch them. ``serving`` maps
the family to HTTP status codes in one place.
"""

from __future__ import annotations

__all__ = [
    "InvalidIdentifierError",
    "MissingColumnsError",
    "RiskError",
    "UnknownEntityError",
    "UnknownTableError",
]


class RiskError(Exception):
    """Base class of every credlink data or risk error."""


class InvalidIdentifierError(RiskError, ValueError):
    """An identifier (USCC, resident ID) failed a named check.

    Parameters
    ----------
    field : str
        The field that held the value, e.g. ``"uscc"``.
    check : str
        The check that failed: ``length``, ``alphabet``, ``region``, ``birth_date`` or
        ``check_character``.
    message : str
        A sentence for people, never containing a raw resident ID number.
    """

    def __init__(self, field: str, check: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.check = check


class MissingColumnsError(RiskError, ValueError):
    """An input file lacks a column the contract requires; the file is refused whole."""

    def __init__(self, table: str, missing: list[str], source: str) -> None:
        names = ", ".join(missing)
        super().__init__(f"{source}: table {table!r} requires column(s) {names}; file refused")
        self.table = table
        self.missing = missing
        self.source = source


class UnknownTableError(RiskError, ValueError):
    """An input file could not be matched to one of the contract's tables."""


class UnknownEntityError(RiskError, KeyError):
    """An enterprise or person is not in the store."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""
