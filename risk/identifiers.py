"""Identifiers: 统一社会信用代码 (USCC, GB 32100-2015) and resident ID numbers (GB 11643).

USCC
    18 characters over ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (values 0–30; no I, O, S, V, Z).
    Position 1 is the registering authority, 2 the organisation category, 3–8 the GB/T 2260
    region, 9–17 the organisation code and 18 the check character
    ``alphabet[(31 − Σ value(cᵢ)·wᵢ mod 31) mod 31]`` with weights
    1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28. Input is normalised first (full-width →
    half-width, spaces removed, upper case). A few early pilot codes in Fujian fail the checksum
    legally: codes on the allow-list are accepted with a warning instead of rejected.

Resident ID
    17 digits and a check character (mod 11-2; ``X`` stands for 10), a valid birth date in
    positions 7–14. credlink stores only a salted HMAC-SHA256 hash and a masked form
    (``340321********1234``); the raw number never reaches a log, a response or a model, and
    no error message here repeats it.

External parties
    A holder (or held entity) outside the Chinese registers — a foreign company, a trust, a
    state body — is a node of its own, keyed ``{scheme}-{id}`` after org-id.guide
    (``GB-COH-06292597``); one without a register identifier is keyed ``BODS-REC-`` and a
    digest of where it was declared (:func:`external_party_id`). Such ids never look like a
    USCC, so the two never meet. A person's foreign identifier (a tax or passport number) is
    kept only as a salted hash (:func:`hash_identifier`), like a resident ID.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from risk.exceptions import InvalidIdentifierError

__all__ = [
    "ORG_ID_SCHEME_RE",
    "PROVINCE_CODES",
    "USCC_ALPHABET",
    "USCC_WEIGHTS",
    "PilotCodeWarning",
    "USCCCheck",
    "check_uscc",
    "check_uscc_array",
    "contains_id_number",
    "external_party_id",
    "hash_identifier",
    "hash_resident_id",
    "is_external_party_id",
    "make_uscc",
    "mask_id_numbers",
    "mask_name",
    "mask_resident_id",
    "normalize_uscc",
    "uscc_check_character",
    "validate_resident_id",
    "validate_uscc",
]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# First two digits of GB/T 2260 codes: provinces, autonomous regions, municipalities, HK, MO, TW.
PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# byte → alphabet value (or -1) for the vectorised checks; character → value for one code.
_VALUE = np.full(256, -1, dtype=np.int16)
for _i, _ch in enumerate(USCC_ALPHABET):
    _VALUE[ord(_ch)] = _i
_ALPHABET_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}


class PilotCodeWarning(UserWarning):
    """A USCC failed its check character but is on the early-pilot allow-list."""


@dataclass(frozen=True)
class USCCCheck:
    """The outcome of checking one USCC.

    ``check`` names the failed check (``length``, ``alphabet``, ``region``,
    ``check_character``) or is ``None`` when the code is valid; ``pilot`` marks an
    allow-listed pilot code that failed its check character.
    """

    code: str
    check: str | None
    reason: str | None
    pilot: bool = False

    @property
    def ok(self) -> bool:
        return self.check is None


def normalize_uscc(value: str) -> str:
    """Normalise a USCC: full-width → half-width (NFKC), drop all whitespace, upper case."""
    text = unicodedata.normalize("NFKC", value)
    return "".join(text.split()).upper()


def uscc_check_character(first17: str) -> str:
    """Return the check character for the first 17 characters of a USCC.

    Raises
    ------
    ValueError
        If ``first17`` is not 17 characters of the USCC alphabet.
    """
    if len(first17) != 17 or any(c not in USCC_ALPHABET for c in first17):
        raise ValueError(f"first17 must be 17 characters of {USCC_ALPHABET}; got {first17!r}")
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc_array(
    values: Iterable[str] | pd.Series, allowlist: Iterable[str] = ()
) -> pd.DataFrame:
    """Normalise and check many USCCs at once (the ingest path).

    Parameters
    ----------
    values
        Raw codes as read from a file.
    allowlist
        Early-pilot codes accepted despite a failed check character.

    Returns
    -------
    DataFrame
        One row per input, in order, with columns ``code`` (normalised), ``check`` (the failed
        check or ``None``), ``reason`` (a sentence or ``None``) and ``pilot`` (bool).
    """
    raw = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    codes = _normalize_uscc_array(raw)
    n = len(codes)
    check = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)
    pilot = np.zeros(n, dtype=bool)

    array = pa.array(codes, type=pa.large_string())
    lengths = pc.utf8_length(array).to_numpy(zero_copy_only=False).astype(np.int64)
    bad_len = lengths != 18
    check[bad_len] = "length"
    reason[bad_len] = [f"uscc must be 18 characters; got {len(c)} ({c!r})" for c in codes[bad_len]]

    ok18 = np.flatnonzero(~bad_len)
    if ok18.size:
        chars = _code_bytes(array, codes, ok18)
        vals = _VALUE[chars]
        bad_alpha = (vals < 0).any(axis=1)
        idx = ok18[bad_alpha]
        check[idx] = "alphabet"
        reason[idx] = [
            f"uscc must use only {USCC_ALPHABET} (no I, O, S, V, Z); got {c!r}" for c in codes[idx]
        ]

        region_digits = chars[:, 2:8]
        is_digit = ((region_digits >= ord("0")) & (region_digits <= ord("9"))).all(axis=1)
        province = (region_digits[:, 0].astype(np.int64) - 48) * 10 + (region_digits[:, 1] - 48)
        province_ok = np.isin(province, list(PROVINCE_CODES))
        bad_region = ~bad_alpha & ~(is_digit & province_ok)
        idx = ok18[bad_region]
        check[idx] = "region"
        reason[idx] = [
            f"uscc positions 3-8 must be a GB/T 2260 region code; got {c[2:8]!r} in {c!r}"
            for c in codes[idx]
        ]

        live = ~bad_alpha & ~bad_region
        weighted = (vals[:, :17].astype(np.int64) * np.array(USCC_WEIGHTS)).sum(axis=1)
        expected = (31 - weighted % 31) % 31
        bad_check = live & (expected != vals[:, 17])
        if bad_check.any():
            allowed = {normalize_uscc(a) for a in allowlist}
            for j in np.flatnonzero(bad_check):
                i = ok18[j]
                code = codes[i]
                if code in allowed:
                    pilot[i] = True
                    continue
                check[i] = "check_character"
                reason[i] = (
                    f"uscc check character must be {USCC_ALPHABET[expected[j]]!r}; "
                    f"got {code[17]!r} in {code!r}"
                )
    return pd.DataFrame(
        {"code": codes, "check": check, "reason": reason, "pilot": pilot}, index=raw.index
    )


def _code_bytes(array: pa.Array, codes: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The 18-character codes at ``rows`` as an ``(n, 18)`` array of bytes.

    ASCII codes are read straight from Arrow's data buffer; a non-ASCII character (Chinese
    survives NFKC) is encoded as ``?``, which is outside the alphabet.
    """
    chosen = array.take(pa.array(rows))
    if pc.all(pc.string_is_ascii(chosen)).as_py():
        offsets = np.frombuffer(chosen.buffers()[1], dtype=np.int64)
        offsets = offsets[chosen.offset : chosen.offset + len(chosen) + 1]
        data = np.frombuffer(chosen.buffers()[2], dtype=np.uint8)
        return data[offsets[0] : offsets[-1]].reshape(-1, 18)
    buf = b"".join(c.encode("ascii", "replace") for c in codes[rows])
    return np.frombuffer(buf, dtype=np.uint8).reshape(-1, 18)


def _normalize_uscc_array(raw: pd.Series) -> np.ndarray:
    """:func:`normalize_uscc` of every value, as an object array of str.

    NFKC leaves ASCII alone: a code of ASCII characters without whitespace only needs upper
    case, which Arrow applies to the whole column; the others go through
    :func:`normalize_uscc` one by one.
    """
    cells = raw.to_numpy(dtype=object)
    try:
        array = pa.array(cells, type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text
        array = None
    if array is None or array.null_count:  # str(v) of whatever it is, as one by one
        return np.array([normalize_uscc(str(v)) for v in cells], dtype=object)
    plain = pc.and_(
        pc.string_is_ascii(array),
        pc.invert(pc.match_substring_regex(array, "[\t\n\x0b\x0c\r\x1c-\x1f ]")),
    ).to_numpy(zero_copy_only=False)
    codes = pc.ascii_upper(array).to_numpy(zero_copy_only=False).astype(object)
    for i in np.flatnonzero(~plain).tolist():
        codes[i] = normalize_uscc(cells[i])
    return codes


def check_uscc(value: str, allowlist: Iterable[str] = ()) -> USCCCheck:
    """Normalise and check one USCC without raising (the request path).

    The same checks, order and messages as :func:`check_uscc_array` (a test compares the
    two on random and edge-case input), in plain Python: ~100× faster for one code.
    """
    if not isinstance(value, str):
        raise TypeError(f"uscc must be a str; got {type(value).__name__}")
    code = normalize_uscc(value)
    if len(code) != 18:
        return USCCCheck(code, "length", f"uscc must be 18 characters; got {len(code)} ({code!r})")
    values = [_ALPHABET_VALUE.get(c, -1) for c in code]
    if min(values) < 0:
        return USCCCheck(
            code,
            "alphabet",
            f"uscc must use only {USCC_ALPHABET} (no I, O, S, V, Z); got {code!r}",
        )
    region = code[2:8]
    if not (region.isascii() and region.isdigit() and int(region[:2]) in PROVINCE_CODES):
        return USCCCheck(
            code,
            "region",
            f"uscc positions 3-8 must be a GB/T 2260 region code; got {region!r} in {code!r}",
        )
    expected = (31 - sum(v * w for v, w in zip(values, USCC_WEIGHTS, strict=False)) % 31) % 31
    if expected == values[17]:
        return USCCCheck(code, None, None)
    if code in {normalize_uscc(a) for a in allowlist}:
        return USCCCheck(code, None, None, pilot=True)
    return USCCCheck(
        code,
        "check_character",
        f"uscc check character must be {USCC_ALPHABET[expected]!r}; got {code[17]!r} in {code!r}",
    )


def validate_uscc(value: str, allowlist: Iterable[str] = ()) -> str:
    """Return the normalised USCC, or raise :class:`InvalidIdentifierError`.

    An allow-listed pilot code with a wrong check character is returned with a
    :class:`PilotCodeWarning`.
    """
    result = check_uscc(value, allowlist)
    if result.check is not None:
        raise InvalidIdentifierError("uscc", result.check, str(result.reason))
    if result.pilot:
        warnings.warn(
            f"uscc {result.code} fails its check character but is an allow-listed pilot code",
            PilotCodeWarning,
            stacklevel=2,
        )
    return result.code


def make_uscc(authority: str, category: str, region: str, org_code: str) -> str:
    """Build a valid USCC from its parts (used by the synthetic county and tests).

    Parameters
    ----------
    authority, category : str
        One character each (e.g. ``"9"`` 工商, ``"1"`` 企业).
    region : str
        Six GB/T 2260 digits.
    org_code : str
        Nine characters of the USCC alphabet.
    """
    first17 = f"{authority}{category}{region}{org_code}"
    return first17 + uscc_check_character(first17)


def _id_failure(value: str) -> tuple[str, str] | None:
    if len(value) != 18:
        return "length", f"resident ID must be 18 characters; got {len(value)}"
    if (
        not value.isascii()
        or not value[:17].isdigit()
        or not (value[17].isdigit() or value[17] == "X")
    ):
        return "alphabet", "resident ID must be 17 digits followed by a digit or X"
    if int(value[:2]) not in PROVINCE_CODES:
        return "region", "resident ID must start with a GB/T 2260 province code"
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "birth_date", "resident ID positions 7-14 must be a real birth date"
    if born.year < 1900:
        return "birth_date", "resident ID birth year must be 1900 or later"
    total = sum(int(c) * w for c, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != value[17]:
        return "check_character", "resident ID check character does not match (GB 11643 mod 11-2)"
    return None


def validate_resident_id(value: str) -> str:
    """Normalise (NFKC, strip, upper ``x``) and validate an 18-digit resident ID.

    Returns the normalised number. Error messages never repeat the number.

    Raises
    ------
    InvalidIdentifierError
        Naming the failed check: ``length``, ``alphabet``, ``region``, ``birth_date`` or
        ``check_character``.
    """
    if not isinstance(value, str):
        raise TypeError(f"id_number must be a str; got {type(value).__name__}")
    text = "".join(unicodedata.normalize("NFKC", value).split()).upper()
    failure = _id_failure(text)
    if failure:
        raise InvalidIdentifierError("id_number", *failure)
    return text


def hash_resident_id(value: str, salt: bytes) -> str:
    """Return the salted hash (HMAC-SHA256, hex) of a validated resident ID.

    Raises
    ------
    ValueError
        If ``salt`` is shorter than 16 bytes.
    """
    if len(salt) < 16:
        raise ValueError(f"salt must be at least 16 bytes; got {len(salt)}")
    number = validate_resident_id(value)
    return hmac.new(salt, number.encode("ascii"), hashlib.sha256).hexdigest()


def mask_resident_id(value: str) -> str:
    """Mask a resident ID: region (6 digits), 8 stars, last 4 (``340321********1234``)."""
    number = validate_resident_id(value)
    return f"{number[:6]}{'*' * 8}{number[-4:]}"


#: 17 digits and a digit or X, not inside a longer run of digits (letters around it may be
#: typing slips such as "ID11010519491231002X", so they do not protect it).
_ID_LIKE = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)")


def _is_resident_id(candidate: str) -> bool:
    return _id_failure(candidate.upper()) is None


def contains_id_number(text: str) -> bool:
    """Whether ``text`` holds a resident ID number anywhere (a run passing every GB 11643 check).

    The one test of "is there a raw ID number in here" used by ingest, the audit log and the
    privacy tests. Runs that fail the check character are not ID numbers (an all-digit USCC or
    注册号 can look alike); 15-digit first-generation numbers are not detected, because a
    15-digit 工商注册号 has the same shape.
    """
    return any(_is_resident_id(m.group(0)) for m in _ID_LIKE.finditer(text))


def mask_id_numbers(text: str) -> str:
    """Mask every resident ID number in ``text`` (``340321********1234``); the rest is kept."""

    def mask(match: re.Match[str]) -> str:
        if not _is_resident_id(match.group(0)):
            return match.group(0)
        return f"{match.group(1)}********{match.group(3)[-4:].upper()}"

    return _ID_LIKE.sub(mask, text)


def mask_name(name: str) -> str:
    """Mask a person's name for banks: keep the family name (``张三丰`` → ``张**``)."""
    text = name.strip()
    if not text:
        return text
    return text[0] + "*" * max(len(text) - 1, 1)


#: An org-id.guide-style scheme code: a country (2 letters, or XI / XM; some publishers write
#: 3, e.g. IRL-BAU) and a register code (``GB-COH``, ``CN-USCI``).
_ORG_ID_SCHEME = r"[A-Z]{2,4}-[A-Z0-9]{2,16}"
ORG_ID_SCHEME_RE = re.compile(rf"^{_ORG_ID_SCHEME}$")
#: ``{scheme}-{id}``: an org-id.guide-style scheme or ``BODS-REC``, then the register's id; at
#: most 64 characters, no spaces.
_EXTERNAL_PARTY = re.compile(rf"^(?:{_ORG_ID_SCHEME}|BODS-REC)-[^\s]{{1,44}}$")


def is_external_party_id(value: object) -> bool:
    """Whether ``value`` is an external party's id (``GB-COH-06292597``), never a USCC."""
    return isinstance(value, str) and len(value) <= 64 and bool(_EXTERNAL_PARTY.match(value))


def external_party_id(scheme: str | None, identifier: str | None, declared_at: str) -> str:
    """The node id of a party outside the Chinese registers.

    Parameters
    ----------
    scheme, identifier
        The register's scheme code (org-id.guide, e.g. ``GB-COH``) and the party's id in it.
    declared_at
        Where the party was declared (e.g. the BODS publisher and recordId): the id of a party
        without a usable scheme code is ``BODS-REC-`` and its digest.

    Returns
    -------
    str
        ``GB-COH-06292597`` when the scheme is a code and the id fits, else
        ``BODS-REC-<16 hex>``.
    """
    code = (scheme or "").strip().upper()
    ident = "".join((identifier or "").split()).upper()
    if code and ident:
        candidate = f"{code}-{ident}"
        if is_external_party_id(candidate) and not code.startswith("BODS"):
            return candidate
    digest = hashlib.sha256(f"{code}|{ident}|{declared_at}".encode()).hexdigest()[:16]
    return f"BODS-REC-{digest.upper()}"


def hash_identifier(scheme: str, value: str, salt: bytes) -> str:
    """Salted hash (HMAC-SHA256, hex) of a personal identifier of any scheme.

    The form credlink keeps of a foreign tax, passport or ID number: the raw value is never
    stored. Resident ID numbers go through :func:`hash_resident_id` instead.

    Raises
    ------
    ValueError
        If ``salt`` is shorter than 16 bytes or ``value`` is blank.
    """
    if len(salt) < 16:
        raise ValueError(f"salt must be at least 16 bytes; got {len(salt)}")
    text = "".join(unicodedata.normalize("NFKC", value).split()).upper()
    if not text:
        raise ValueError("value must be a non-empty identifier; got a blank one")
    return hmac.new(salt, f"{scheme.strip().upper()}|{text}".encode(), hashlib.sha256).hexdigest()
