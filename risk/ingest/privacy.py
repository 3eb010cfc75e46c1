"""Text fit for the store, a log or a terminal: resident ID numbers masked wherever they are.

Ingest writes file names, reasons, messages and quarantined cells; any of them may carry an ID
number typed where it does not belong (a name column, a file name, a shifted CSV line), also in
full-width digits or spaced out. Everything ingest stores or says passes through here.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from risk.identifiers import contains_id_number, mask_id_numbers

__all__ = [
    "describe",
    "id_number_cells",
    "looks_like_id_number",
    "safe_text",
    "show",
]


def _masked(text: str) -> str:
    """``text`` with every resident ID number masked, also one typed in full-width digits or
    spaced out (``110105 19491231 002X``), which :func:`mask_id_numbers` alone would miss."""
    masked = mask_id_numbers(text)
    if not masked.isascii() or " " in masked:
        squeezed = unicodedata.normalize("NFKC", masked).replace(" ", "")
        if contains_id_number(squeezed):
            return mask_id_numbers(squeezed)
    return masked


def _holds_id_number(text: str) -> bool:
    if contains_id_number(text):
        return True
    if text.isascii() and " " not in text:
        return False
    return contains_id_number(unicodedata.normalize("NFKC", text).replace(" ", ""))


def safe_text(text: str, limit: int) -> str:
    """Text fit for the store, a log or a terminal: ID numbers masked, NUL bytes and lone
    surrogates (from undecodable file names) made visible, at most ``limit`` characters."""
    text = _masked(text).replace("\x00", "\\x00")
    text = text.encode("utf-8", "replace").decode("utf-8")
    if len(text) > limit:
        text = f"{text[: limit - 30]}… ({len(text):,} characters)"
    return text


def show(value: str) -> str:
    """A cell quoted in a reason: masked, NUL-safe, and cut when long."""
    return repr(safe_text(value, 80))


def describe(exc: BaseException) -> str:
    """An exception as its class and the first line of its reason.

    SQLAlchemy's text of a failed statement carries the SQL and rows of parameters (names, ID
    numbers); the driver's own first line (``duplicate key value violates …``) does not.
    """
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return safe_text(f"{type(cause).__name__}: {lines[0] if lines else ''}".rstrip(), 300)


#: A loose outline of an ID number as typed (17 digits, maybe spaced, then a digit or X; ASCII
#: or full-width, as Chinese input methods produce): only cells matching it reach the detector.
#: It never decides anything; :func:`contains_id_number` does.
_ID_OUTLINE = "[0-9０-９](?:[ \u3000\u00a0]*[0-9０-９]){16}[ \u3000\u00a0]*[0-9０-９XxＸｘ]"


def id_number_cells(values: pd.Series) -> np.ndarray:
    """Which cells hold a resident ID number, as typed or spaced out or in full-width digits.

    The outline is matched in pyarrow's C++ kernels over the cells of 18 characters or more;
    the few cells it lets through are decided one by one by :func:`contains_id_number`.
    """
    cells = values.to_numpy(dtype=object)
    array = pa.array(cells, type=pa.large_string(), from_pandas=True)
    hits = np.zeros(len(cells), dtype=bool)
    # The outline needs 18 characters: shorter cells (most codes, dates, names) skip the regex.
    long_enough = np.flatnonzero(
        pc.fill_null(pc.greater_equal(pc.utf8_length(array), 18), False).to_numpy(
            zero_copy_only=False
        )
    )
    if not long_enough.size:
        return hits
    candidates = array.take(pa.array(long_enough))
    outline = pc.match_substring_regex(candidates, _ID_OUTLINE).to_numpy(zero_copy_only=False)
    for i in long_enough[outline].tolist():
        hits[i] = _holds_id_number(cells[i])
    return hits


#: The shape of a resident ID number as a person's own column holds it, the check character
#: not verified: 18 characters (region, a birth date 18xx–20xx, sequence, a digit or X), the
#: published half-masked form (``3411221985****0012``), or the 15-digit first generation
#: (region, a YYMMDD birth date, sequence). The region's first digit is 1–8: the 工商 USCCs
#: (91…, 92…, 93…) never match.
_ID_SHAPE = re.compile(
    r"[1-8]\d{5}(?:"
    r"(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dX]"
    r"|(?=[\d*]{11}[\dX*]$)[\d*]*\*[\d*]*[\dX*]"
    r"|\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}"
    r")"
)


def looks_like_id_number(text: str) -> bool:
    """Whether a cell is shaped like a person's resident ID number, valid or not.

    :func:`risk.identifiers.contains_id_number` accepts only numbers passing every check; a
    column that holds persons' ID numbers by definition (the 失信被执行人 list's
    身份证号码/组织机构代码) also holds mistyped and half-masked ones, which are no USCC either.
    Full-width characters and spaces are normalised first.
    """
    squeezed = "".join(unicodedata.normalize("NFKC", text).split()).upper()
    return _ID_SHAPE.fullmatch(squeezed) is not None
