"""risk.validation: the argument checks every frozen config uses (STYLE.md §3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from risk.validation import check_bool, check_choice, check_int, check_real, check_str


def test_valid_values_come_back_in_their_canonical_type() -> None:
    assert check_bool("flag", True) is True
    assert check_int("n", np.int64(3), 1, 5) == 3 and type(check_int("n", np.int64(3))) is int
    assert check_real("x", 2) == 2.0 and type(check_real("x", np.float32(0.5))) is float
    assert check_real("x", 1.0, 0, 1, open_low=True) == 1.0
    assert check_choice("mode", "a", ("a", "b")) == "a"
    assert check_str("name", " x ") == " x "


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: check_bool("flag", 1), TypeError, "flag must be a bool; got int"),
        (lambda: check_int("n", True), TypeError, "n must be an int; got bool"),
        (lambda: check_int("n", 2.0), TypeError, "n must be an int; got float"),
        (lambda: check_int("n", 0, 1, 5), ValueError, r"n must be an int in \[1, 5\]; got 0"),
        (lambda: check_int("n", -1, 0), ValueError, r"n must be an int in \[0, inf\); got -1"),
        (lambda: check_int("n", 9, None, 5), ValueError, r"n must be an int in \(-inf, 5\]"),
        (lambda: check_real("x", "1"), TypeError, "x must be a real number; got str"),
        (lambda: check_real("x", False), TypeError, "x must be a real number; got bool"),
        (lambda: check_real("x", math.nan), ValueError, "x must be finite; got nan"),
        (lambda: check_real("x", math.inf, 0), ValueError, "x must be finite; got inf"),
        (lambda: check_real("x", 0, 0, open_low=True), ValueError, r"x must be in \(0, inf\)"),
        (lambda: check_real("x", 1, 0, 1, open_high=True), ValueError, r"x must be in \[0, 1\)"),
        (lambda: check_real("x", -0.5, 0, 1), ValueError, r"x must be in \[0, 1\]; got -0.5"),
        (lambda: check_choice("mode", 1, ("a",)), TypeError, "mode must be a str; got int"),
        (lambda: check_choice("mode", "c", "ab"), ValueError, "mode must be one of a, b; got 'c'"),
        (lambda: check_str("name", None), TypeError, "name must be a str; got NoneType"),
        (lambda: check_str("name", "  "), ValueError, "name must be a non-empty string"),
    ],
)
def test_every_refusal_names_the_field_and_the_rule(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()
