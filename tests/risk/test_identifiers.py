"""Tests for risk.identifiers: USCC (GB 32100-2015) and resident ID (GB 11643).

Every expected check character below is worked out by hand in a comment, or by the slow
reference in this file (`_reference_check`), never by the function under test.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import unicodedata
import warnings

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk.exceptions import InvalidIdentifierError, RiskError
from risk.identifiers import (
    USCC_ALPHABET,
    USCC_WEIGHTS,
    PilotCodeWarning,
    USCCCheck,
    check_uscc,
    check_uscc_array,
    hash_resident_id,
    make_uscc,
    mask_name,
    mask_resident_id,
    normalize_uscc,
    uscc_check_character,
    validate_resident_id,
    validate_uscc,
)

# From DESIGN.md §2, written out independently of the module.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB/T 2260 first two digits (provinces, municipalities, autonomous regions, TW, HK, MO).
PROVINCES = {
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
    50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
}  # fmt: skip

# 91110000600037341L, values and weights:
#   9·1 + 1·3 + 1·9 + 1·27 + 0·19 + 0·26 + 0·16 + 0·17 + 6·20 + 0·29 + 0·25 + 0·13
#   + 3·8 + 7·24 + 3·10 + 4·30 + 1·28
#   = 9 + 3 + 9 + 27 + 120 + 24 + 168 + 30 + 120 + 28 = 538
#   538 mod 31 = 538 − 17·31 = 538 − 527 = 11;  (31 − 11) mod 31 = 20 → ALPHABET[20] = "L".
VALID_USCC = "91110000600037341L"
# 914403001922038216 (a real company's code):
#   9·1 + 1·3 + 4·9 + 4·27 + 0·19 + 3·26 + 0·16 + 0·17 + 1·20 + 9·29 + 2·25 + 2·13
#   + 0·8 + 3·24 + 8·10 + 2·30 + 1·28
#   = 9 + 3 + 36 + 108 + 78 + 20 + 261 + 50 + 26 + 72 + 80 + 60 + 28 = 831
#   831 mod 31 = 831 − 26·31 = 25;  31 − 25 = 6 → "6".
VALID_USCC_2 = "914403001922038216"
# A Fujian (35…) pilot-style code: 9·1 + 1·3 + 3·9 + 5·27 + 1·26 + 1·28 = 228,
# 228 mod 31 = 11, 31 − 11 = 20 → the right check character is "L"; "A" is wrong.
PILOT_CODE = "91350100000000001A"
PILOT_EXPECTED = "L"

# 11010519491231002X (the GB 11643 standard's own example), weights 7 9 10 5 8 4 2 1 6 3 7 9 10
# 5 8 4 2:  1·7 + 1·9 + 0·10 + 1·5 + 0·8 + 5·4 + 1·2 + 9·1 + 4·6 + 9·3 + 1·7 + 2·9 + 3·10
#           + 1·5 + 0·8 + 0·4 + 2·2 = 7+9+5+20+2+9+24+27+7+18+30+5+4 = 167
#   167 mod 11 = 2 → "10X98765432"[2] = "X".
VALID_ID = "11010519491231002X"
# 34032119900101123?:  3·7 + 4·9 + 0·10 + 3·5 + 2·8 + 1·4 + 1·2 + 9·1 + 9·6 + 0·3 + 0·7 + 1·9
#           + 0·10 + 1·5 + 1·8 + 2·4 + 3·2 = 21+36+15+16+4+2+9+54+9+5+8+8+6 = 193
#   193 mod 11 = 193 − 187 = 6 → "10X98765432"[6] = "6".
VALID_ID_2 = "340321199001011236"

SALT = b"county-salt-0123456789"
OTHER_SALT = b"another-salt-abcdefgh"


def _reference_check(raw: str, allowlist: frozenset[str] = frozenset()) -> str | None:
    """Slow, obviously-correct USCC check straight from DESIGN.md §2."""
    code = "".join(unicodedata.normalize("NFKC", raw).split()).upper()
    if len(code) != 18:
        return "length"
    if any(c not in ALPHABET for c in code):
        return "alphabet"
    region = code[2:8]
    if not (region.isascii() and region.isdigit()) or int(region[:2]) not in PROVINCES:
        return "region"
    total = sum(ALPHABET.index(c) * w for c, w in zip(code[:17], WEIGHTS, strict=True))
    if ALPHABET[(31 - total % 31) % 31] != code[17] and code not in allowlist:
        return "check_character"
    return None


# --------------------------------------------------------------------------- USCC constants


def test_constants_match_the_standard():
    assert USCC_ALPHABET == ALPHABET
    assert len(USCC_ALPHABET) == 31
    assert not set("IOSVZ") & set(USCC_ALPHABET)
    assert USCC_WEIGHTS == WEIGHTS
    # GB 32100 weights are 3^i mod 31.
    assert tuple(pow(3, i, 31) for i in range(17)) == USCC_WEIGHTS


def test_reference_agrees_with_hand_computed_vectors():
    assert _reference_check(VALID_USCC) is None
    assert _reference_check(VALID_USCC_2) is None
    assert _reference_check(PILOT_CODE) == "check_character"


# --------------------------------------------------------------------------- valid codes


@pytest.mark.parametrize("code", [VALID_USCC, VALID_USCC_2])
def test_hand_checked_codes_are_valid(code):
    result = check_uscc(code)
    assert result.ok
    assert result.check is None
    assert result.reason is None
    assert result.pilot is False
    assert result.code == code
    assert validate_uscc(code) == code


def test_check_character_of_hand_checked_codes():
    assert uscc_check_character(VALID_USCC[:17]) == "L"
    assert uscc_check_character(VALID_USCC_2[:17]) == "6"
    assert uscc_check_character(PILOT_CODE[:17]) == PILOT_EXPECTED


@pytest.mark.parametrize(
    "raw",
    [
        "９１１１００００６０００３７３４１Ｌ",  # full-width
        "91110000600037341l",  # lower case
        "9111 0000 6000 3734 1L",  # embedded spaces
        "  91110000600037341L\t\n",  # surrounding whitespace
        "９１１１\u3000００００ ６０００３７３４１ｌ",  # full-width, ideographic space, lower case
        "9111\xa00000600037341L",  # no-break space
    ],
)
def test_normalisation_then_accepted(raw):
    assert normalize_uscc(raw) == VALID_USCC
    result = check_uscc(raw)
    assert result.ok
    assert result.code == VALID_USCC
    assert validate_uscc(raw) == VALID_USCC


# --------------------------------------------------------------------------- each failed check


@pytest.mark.parametrize(
    ("raw", "length"),
    [
        (VALID_USCC[:17], 17),
        (VALID_USCC + "0", 19),
        ("", 0),
        ("   ", 0),
    ],
)
def test_wrong_length(raw, length):
    result = check_uscc(raw)
    assert result.check == "length"
    assert not result.ok
    assert f"got {length}" in result.reason
    with pytest.raises(InvalidIdentifierError, match=rf"uscc must be 18 characters; got {length}"):
        validate_uscc(raw)


@pytest.mark.parametrize("letter", list("IOSVZ"))
@pytest.mark.parametrize("position", [0, 9, 17])
def test_forbidden_letters(letter, position):
    raw = VALID_USCC[:position] + letter + VALID_USCC[position + 1 :]
    assert len(raw) == 18
    result = check_uscc(raw)
    assert result.check == "alphabet"
    with pytest.raises(InvalidIdentifierError, match=r"uscc must use only .*no I, O, S, V, Z"):
        validate_uscc(raw)
    # Lower case is upper-cased first, then still refused.
    assert check_uscc(raw.lower()).check == "alphabet"


@pytest.mark.parametrize(
    "raw", ["91110000600037341中", "中1110000600037341L", "911100006000373é1L"]
)
def test_non_ascii_character(raw):
    assert len(raw) == 18
    result = check_uscc(raw)
    assert result.check == "alphabet"
    with pytest.raises(InvalidIdentifierError, match="uscc must use only") as info:
        validate_uscc(raw)
    assert info.value.check == "alphabet"


@pytest.mark.parametrize(
    "region",
    [
        "990000",  # no province 99
        "000000",  # no province 00
        "100000",  # no province 10
        "A10000",  # letter in the province digits
        "11000A",  # letter in the county digits
        "1100Y0",
    ],
)
def test_region_check(region):
    # A correct check character, so region is the only failed check.
    raw = make_uscc("9", "1", region, "600037341")
    assert _reference_check(raw) == "region"
    result = check_uscc(raw)
    assert result.check == "region"
    with pytest.raises(InvalidIdentifierError, match=rf"positions 3-8 .*got '{region}'") as info:
        validate_uscc(raw)
    assert info.value.field == "uscc"
    assert info.value.check == "region"


def test_wrong_check_character_names_the_expected_one():
    raw = VALID_USCC[:17] + "A"
    result = check_uscc(raw)
    assert result.check == "check_character"
    assert "'L'" in result.reason
    with pytest.raises(
        InvalidIdentifierError, match=r"uscc check character must be 'L'; got 'A'"
    ) as info:
        validate_uscc(raw)
    assert info.value.check == "check_character"


def test_invalid_identifier_error_family():
    with pytest.raises(InvalidIdentifierError) as info:
        validate_uscc(VALID_USCC[:17] + "0")
    error = info.value
    assert isinstance(error, ValueError)
    assert isinstance(error, RiskError)
    assert error.field == "uscc"
    assert error.check == "check_character"


# --------------------------------------------------------------------------- pilot allow-list


def test_pilot_code_allow_listed_is_accepted_with_warning():
    result = check_uscc(PILOT_CODE, allowlist=[PILOT_CODE])
    assert result.ok
    assert result.pilot is True
    assert result.check is None
    with pytest.warns(PilotCodeWarning, match="allow-listed pilot code"):
        code = validate_uscc(PILOT_CODE, allowlist=[PILOT_CODE])
    assert code == PILOT_CODE


def test_pilot_allowlist_is_normalised_too():
    lower_full_width = "９１３５０１００００００００００１ａ"
    assert normalize_uscc(lower_full_width) == PILOT_CODE
    result = check_uscc(PILOT_CODE.lower(), allowlist=[lower_full_width])
    assert result.ok
    assert result.pilot


def test_pilot_code_not_allow_listed_is_rejected():
    result = check_uscc(PILOT_CODE)
    assert result.check == "check_character"
    assert not result.pilot
    with pytest.raises(InvalidIdentifierError, match=r"must be 'L'; got 'A'") as info:
        validate_uscc(PILOT_CODE, allowlist=[VALID_USCC])
    assert info.value.field == "uscc"
    assert info.value.check == "check_character"


def test_valid_code_on_allowlist_is_not_a_pilot():
    result = check_uscc(VALID_USCC, allowlist=[VALID_USCC])
    assert result.ok
    assert not result.pilot
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert validate_uscc(VALID_USCC, allowlist=[VALID_USCC]) == VALID_USCC


def test_allowlist_does_not_rescue_other_failures():
    # The allow-list only excuses the check character.
    bad_region = make_uscc("9", "1", "990000", "000000001")
    assert check_uscc(bad_region, allowlist=[bad_region]).check == "region"
    short = PILOT_CODE[:17]
    assert check_uscc(short, allowlist=[short]).check == "length"


# --------------------------------------------------------------------------- array path


MIXED = [
    VALID_USCC,
    "９１１１００００６０００３７３４１Ｌ",
    "9111 0000 6000 3734 1l",
    VALID_USCC_2,
    VALID_USCC[:17],
    "",
    "91110000600037341I",
    "91110000600037341中",
    "91990000600037341L",
    "91A10000600037341L",
    VALID_USCC[:17] + "A",
    PILOT_CODE,
]
MIXED_EXPECTED = [
    None,
    None,
    None,
    None,
    "length",
    "length",
    "alphabet",
    "alphabet",
    "region",
    "region",
    "check_character",
    None,  # allow-listed below
]


def test_array_matches_scalar_and_reference_on_mixed_list():
    allow = [PILOT_CODE]
    frame = check_uscc_array(MIXED, allowlist=allow)
    assert list(frame.columns) == ["code", "check", "reason", "pilot"]
    assert len(frame) == len(MIXED)
    checks = [None if pd.isna(c) else c for c in frame["check"]]
    assert checks == MIXED_EXPECTED
    assert checks == [_reference_check(v, frozenset(allow)) for v in MIXED]
    assert frame["pilot"].tolist() == [False] * 11 + [True]
    for i, raw in enumerate(MIXED):
        scalar = check_uscc(raw, allowlist=allow)
        row = frame.iloc[i]
        assert scalar.code == row["code"]
        assert scalar.check == (None if pd.isna(row["check"]) else row["check"])
        assert scalar.reason == (None if pd.isna(row["reason"]) else row["reason"])
        assert scalar.pilot == bool(row["pilot"])
        assert (scalar.reason is None) == (scalar.check is None)


def test_array_accepts_series_and_keeps_input_order():
    series = pd.Series(MIXED[::-1], index=range(100, 100 + len(MIXED)))
    frame = check_uscc_array(series, allowlist=[PILOT_CODE])
    checks = [None if pd.isna(c) else c for c in frame["check"]]
    assert checks == MIXED_EXPECTED[::-1]


def test_array_on_empty_input():
    frame = check_uscc_array([])
    assert len(frame) == 0
    assert list(frame.columns) == ["code", "check", "reason", "pilot"]


def test_single_substitution_always_breaks_the_mod_31_check():
    # 31 is prime and no weight is a multiple of 31, so w·d ≢ 0 (mod 31) for d in 1..30:
    # changing one value changes the weighted sum mod 31, and the check character with it.
    assert all(w % 31 != 0 for w in USCC_WEIGHTS)
    assert all((w * d) % 31 != 0 for w in USCC_WEIGHTS for d in range(1, 31))


def _random_codes(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    provinces = sorted(PROVINCES)
    codes = []
    for _ in range(n):
        region = f"{rng.choice(provinces):02d}" + "".join(rng.choices("0123456789", k=4))
        org = "".join(rng.choices(ALPHABET, k=9))
        codes.append(make_uscc(rng.choice("1589ANY"), rng.choice("123459"), region, org))
    return codes


def test_array_on_random_valid_codes_and_single_mutations():
    codes = _random_codes(2000, seed=20240531)
    assert all(len(c) == 18 for c in codes)
    assert all(_reference_check(c) is None for c in codes)
    frame = check_uscc_array(codes)
    assert frame["check"].isna().all()
    assert frame["code"].tolist() == codes
    assert not frame["pilot"].any()

    rng = random.Random(7)
    mutated, expected = [], []
    for code in codes:
        position = rng.randrange(18)
        new = rng.choice([c for c in ALPHABET if c != code[position]])
        bad = code[:position] + new + code[position + 1 :]
        mutated.append(bad)
        if 2 <= position <= 7:
            region = bad[2:8]
            region_ok = region.isdigit() and int(region[:2]) in PROVINCES
            expected.append("check_character" if region_ok else "region")
        else:
            expected.append("check_character")
    frame = check_uscc_array(mutated)
    assert frame["check"].notna().all()  # every single substitution is caught
    assert frame["check"].tolist() == expected
    assert [_reference_check(m) for m in mutated] == expected
    # The scalar path agrees on a sample.
    for raw, check in list(zip(mutated, expected, strict=True))[:50]:
        assert check_uscc(raw).check == check


def test_make_uscc_builds_hand_checked_codes():
    assert make_uscc("9", "1", "110000", "600037341") == VALID_USCC
    assert make_uscc("9", "1", "440300", "192203821") == VALID_USCC_2


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "first17",
    [
        VALID_USCC[:16],  # too short
        VALID_USCC,  # 18
        "",
        "9111000060003734I",  # forbidden letter
        "9111000060003734a",  # lower case is not normalised here
        "9111000060003734中",
    ],
)
def test_uscc_check_character_bad_input(first17):
    with pytest.raises(ValueError, match="first17 must be 17 characters of"):
        uscc_check_character(first17)


def test_make_uscc_bad_parts():
    with pytest.raises(ValueError, match="first17 must be 17 characters"):
        make_uscc("9", "1", "110000", "60003734")  # org code too short
    with pytest.raises(ValueError, match="first17 must be 17 characters"):
        make_uscc("9", "1", "110000", "60003734O")


@pytest.mark.parametrize(
    ("value", "type_name"), [(None, "NoneType"), (123, "int"), (b"9", "bytes")]
)
def test_check_uscc_non_str(value, type_name):
    with pytest.raises(TypeError, match=rf"uscc must be a str; got {type_name}"):
        check_uscc(value)
    with pytest.raises(TypeError, match=rf"uscc must be a str; got {type_name}"):
        validate_uscc(value)


# =========================================================================== resident ID


def _assert_no_number_leak(message: str) -> None:
    # No run of 6+ digits: neither the number, its region, its birth date nor its tail.
    assert not re.search(r"\d{6,}", message), message


def test_resident_id_hand_checked_vectors():
    assert validate_resident_id(VALID_ID) == VALID_ID
    assert validate_resident_id(VALID_ID_2) == VALID_ID_2


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002x",  # lower-case x
        " 110105 19491231 002x ",  # spaces
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width
        "１１０１０５１９４９１２３１００２ｘ",
    ],
)
def test_resident_id_normalisation(raw):
    assert validate_resident_id(raw) == VALID_ID


@pytest.mark.parametrize(
    ("raw", "check", "pattern"),
    [
        ("11010519491231002", "length", r"must be 18 characters; got 17"),
        ("11010519491231002X0", "length", r"must be 18 characters; got 19"),
        ("110105491231002", "length", r"got 15"),  # the old 15-digit form
        ("", "length", r"got 0"),
        ("11010519491231002A", "alphabet", r"17 digits followed by a digit or X"),
        ("1101051949123100X2", "alphabet", r"17 digits followed by a digit or X"),
        ("X10105194912310021", "alphabet", r"17 digits"),
        ("99010519491231002X", "region", r"GB/T 2260 province code"),
        ("00010519491231002X", "region", r"province code"),
        ("110105202302300011", "birth_date", r"positions 7-14 must be a real birth date"),
        ("110105199013010011", "birth_date", r"real birth date"),  # month 13
        ("110105199000100011", "birth_date", r"real birth date"),  # month 00
        ("110105190002290011", "birth_date", r"real birth date"),  # 1900 not a leap year
        ("110105189912310011", "birth_date", r"birth year must be 1900 or later"),
        ("110105194912310021", "check_character", r"check character does not match"),
        ("340321199001011235", "check_character", r"mod 11-2"),
    ],
)
def test_resident_id_failures(raw, check, pattern):
    with pytest.raises(InvalidIdentifierError, match=pattern) as info:
        validate_resident_id(raw)
    error = info.value
    assert error.field == "id_number"
    assert error.check == check
    assert isinstance(error, ValueError)
    message = str(error)
    if raw:
        assert raw not in message
        assert raw[:17] not in message
    _assert_no_number_leak(message)


def test_resident_id_leap_day_is_a_real_birth_date():
    # 2000-02-29 exists; 11 01 05 2000 02 29 001 → weights give
    # 1·7+1·9+0+1·5+0+5·4+2·2+0·1+0·6+0·3+0·7+2·9+2·10+9·5+0·8+0·4+1·2 = 130, 130 mod 11 = 9
    # → "10X98765432"[9] = "3".
    assert validate_resident_id("110105200002290013") == "110105200002290013"


def test_resident_id_non_str():
    with pytest.raises(TypeError, match="id_number must be a str; got int"):
        validate_resident_id(110105194912310021)


def test_resident_id_rejects_non_ascii_digits():
    arabic_indic = VALID_ID[:17].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) + "X"
    with pytest.raises(InvalidIdentifierError, match="17 digits"):
        validate_resident_id(arabic_indic)


# --------------------------------------------------------------------------- hash and mask


def test_hash_is_hmac_sha256_of_the_normalised_number():
    expected = hmac.new(SALT, VALID_ID.encode("ascii"), hashlib.sha256).hexdigest()
    assert hash_resident_id(VALID_ID, SALT) == expected
    assert hash_resident_id("11010519491231002x", SALT) == expected  # normalised first


def test_hash_deterministic_per_salt_and_differs_across_salts():
    first = hash_resident_id(VALID_ID, SALT)
    assert hash_resident_id(VALID_ID, SALT) == first
    assert hash_resident_id(VALID_ID, OTHER_SALT) != first
    assert hash_resident_id(VALID_ID_2, SALT) != first
    for digest in (first, hash_resident_id(VALID_ID_2, OTHER_SALT)):
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert VALID_ID not in digest.upper()
        assert VALID_ID[:17] not in digest
        assert VALID_ID_2[:17] not in digest


def test_hash_salt_length():
    assert len(hash_resident_id(VALID_ID, b"0" * 16)) == 64  # exactly 16 is enough
    with pytest.raises(ValueError, match="salt must be at least 16 bytes; got 15"):
        hash_resident_id(VALID_ID, b"0" * 15)
    with pytest.raises(ValueError, match="salt must be at least 16 bytes; got 0"):
        hash_resident_id(VALID_ID, b"")


def test_hash_refuses_invalid_numbers_without_leaking_them():
    raw = "110105194912310021"
    with pytest.raises(InvalidIdentifierError, match="check character") as info:
        hash_resident_id(raw, SALT)
    assert raw not in str(info.value)


def test_mask_resident_id():
    assert mask_resident_id(VALID_ID) == "110105********002X"
    assert mask_resident_id("11010519491231002x") == "110105********002X"
    assert mask_resident_id(VALID_ID_2) == "340321********1236"
    masked = mask_resident_id(VALID_ID_2)
    assert len(masked) == 18
    assert masked[:6] == VALID_ID_2[:6]
    assert masked[6:14] == "*" * 8
    assert masked[14:] == VALID_ID_2[14:]
    with pytest.raises(InvalidIdentifierError, match="check character") as info:
        mask_resident_id("110105194912310021")
    assert "110105194912310021" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三丰", "张**"),
        ("李四", "李*"),
        ("王", "王*"),  # a single character is still masked
        (" 张三丰 ", "张**"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


_USCC_PIECES = st.sampled_from(
    [*ALPHABET, *"iosvz", "I", "O", " ", "\u3000", "中", "Ａ", "１", "²", "١", "\x00"]
)


def _disguised(code: str, check: str, spaces: bool, lower: bool, wide: bool) -> str:
    """A code with its check character replaced, written the way people type it."""
    text = code[:17] + check
    text = text.lower() if lower else text
    text = unicodedata.normalize("NFKC", text)
    if wide:  # half-width → full-width (what NFKC undoes)
        text = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
    return f" {text[:6]} {text[6:]} " if spaces else text


_NEAR_VALID = st.builds(
    _disguised,
    st.sampled_from(_random_codes(50, seed=11)),
    st.sampled_from(ALPHABET),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        _NEAR_VALID,
        st.lists(_USCC_PIECES, min_size=16, max_size=20).map("".join),
        st.sampled_from(MIXED),
        st.text(max_size=24),
    )
)
def test_scalar_check_equals_the_array_path(raw: str) -> None:
    """The request path (plain Python) gives exactly what the ingest path gives."""
    allow = [PILOT_CODE, raw]  # also exercises the allow-list for whatever was drawn
    row = check_uscc_array([raw], allowlist=allow).iloc[0]
    scalar = check_uscc(raw, allowlist=allow)
    assert scalar == USCCCheck(
        code=row["code"],
        check=None if pd.isna(row["check"]) else row["check"],
        reason=None if pd.isna(row["reason"]) else row["reason"],
        pilot=bool(row["pilot"]),
    )


def test_id_numbers_are_found_and_masked_inside_any_text():
    from risk.identifiers import contains_id_number, mask_id_numbers

    text = "法人张三，身份证11010519491231002X；代码91110000600037341L"
    assert contains_id_number(text)
    assert contains_id_number("ID11010519491231002x")
    masked = mask_id_numbers(text)
    assert "11010519491231002X" not in masked
    assert "110105********002X" in masked
    assert "91110000600037341L" in masked
    # wrong check character, or part of a longer run of digits: not an ID number
    assert not contains_id_number("110105194912310021")
    assert not contains_id_number("911101051949123100270")
    assert mask_id_numbers("110105194912310021") == "110105194912310021"
