"""The one exception family of credlink's data and risk layers.

Every error subclasses :class:`RiskError` *and* the builtin it specialises, so callers that
only know Python's builtins (``ValueError``, ``KeyError``) still catch them. ``serving`` maps
the family to HTTP status codes in one place.
"""

from __future__ import annotations

__all__ = [
    "BodsValidationError",
    "IllegalTransitionError",
    "InconsistentScoresError",
    "InvalidFrameError",
    "InvalidIdentifierError",
    "MigrationRefusedError",
    "MissingColumnsError",
    "NotFittedError",
    "RiskError",
    "UnknownEntityError",
    "UnknownTableError",
    "UnknownWarningError",
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


class MigrationRefusedError(RiskError, RuntimeError):
    """A store migration refused to run because the rows stored cannot be carried over (the
    message says which, how many, and what to do); nothing was changed."""


class MissingColumnsError(RiskError, ValueError):
    """An input file lacks a column the contract requires; the file is refused whole.

    Parameters
    ----------
    table : str
        The contract table.
    missing : list of str
        The contract columns missing.
    source : str
        The file (or call) refused.
    headers : list of str, optional
        Each missing column as the file's own language would name it, e.g.
        ``"行政相对人代码_1(统一社会信用代码) or 统一社会信用代码"``; the message then names
        these instead of the contract's English names.
    """

    def __init__(
        self, table: str, missing: list[str], source: str, headers: list[str] | None = None
    ) -> None:
        if headers:
            named = "; ".join(f"missing column {h}" for h in dict.fromkeys(headers))
            message = f"{source}: {named}; file refused (table {table!r})"
        else:
            names = ", ".join(missing)
            message = f"{source}: table {table!r} requires column(s) {names}; file refused"
        super().__init__(message)
        self.table = table
        self.missing = missing
        self.source = source


class UnknownTableError(RiskError, ValueError):
    """An input file could not be matched to one of the contract's tables."""


class UnknownEntityError(RiskError, KeyError):
    """An enterprise or person is not in the store."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class InvalidFrameError(RiskError, ValueError):
    """An input frame lacks a column or holds a value outside the data contract."""


class BodsValidationError(RiskError, ValueError):
    """BODS statements are structurally invalid (BODS 0.4 schema rules).

    Parameters
    ----------
    problems : list of str
        One sentence per problem, each naming the JSON path, e.g.
        ``"statements[3].recordType must be one of entity, person, relationship; got 'x'"``.
    """

    def __init__(self, problems: list[str]) -> None:
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{len(problems)} BODS problem(s): {shown}{more}")
        self.problems = problems


class NotFittedError(RiskError, ValueError, AttributeError):
    """An estimator was used before ``fit`` (as scikit-learn's ``NotFittedError``)."""


class InconsistentScoresError(RiskError, ValueError):
    """Scores, snapshot and records do not belong together (another snapshot, config or data).

    Raised, for example, when the records given to an explanation do not reproduce the own
    signals the scores were computed from, so the explanation would cite the wrong records.
    """


class UnknownWarningError(RiskError, KeyError):
    """A warning id is not in the store."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class IllegalTransitionError(RiskError, ValueError):
    """A warning was asked to move along an edge its lifecycle does not have.

    Parameters
    ----------
    warning_id : int
        The warning.
    from_status, to_status : str
        Its current status and the status asked for.
    message : str
        A sentence for people naming the allowed next statuses.
    """

    def __init__(self, warning_id: int, from_status: str, to_status: str, message: str) -> None:
        super().__init__(message)
        self.warning_id = warning_id
        self.from_status = from_status
        self.to_status = to_status
