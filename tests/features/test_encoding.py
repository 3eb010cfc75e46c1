"""CategoryEncoder: codes, unseen and missing values, the logged vocabulary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.encoding import CategoryEncoder, categorical_columns
from risk.exceptions import InvalidFrameError, NotFittedError


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "industry": ["C", "F", "C", None, "A", "C", "F"],
            "region": pd.Series(["341100"] * 6 + ["341102"], dtype="str"),
            "amount": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0],
            "flag": [True, False, True, True, False, True, True],
        }
    )


def test_codes_follow_the_sorted_vocabulary() -> None:
    encoder = CategoryEncoder().fit(frame())
    assert categorical_columns(frame()) == ["industry", "region"]
    assert encoder.vocabulary_ == {"industry": ("A", "C", "F"), "region": ("341100", "341102")}
    codes = encoder.transform(pd.DataFrame({"industry": ["F", "Z", None], "region": "341102"}))
    assert codes["industry"].tolist() == [2, -1, -1]  # unseen and missing → -1
    assert codes["region"].tolist() == [1, 1, 1]
    assert encoder.decode("industry", np.array([0, -1])).tolist() == ["A", None]


def test_min_count_and_max_categories() -> None:
    rare = CategoryEncoder(["industry"], min_count=2).fit(frame())
    assert rare.vocabulary_ == {"industry": ("C", "F")}
    top = CategoryEncoder(["industry"], max_categories=1).fit(frame())
    assert top.vocabulary_ == {"industry": ("C",)}


def test_round_trip_through_json() -> None:
    encoder = CategoryEncoder(min_count=1).fit(frame())
    again = CategoryEncoder.from_dict(encoder.to_dict())
    pd.testing.assert_frame_equal(again.transform(frame()), encoder.transform(frame()))


def test_validation_and_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="CategoryEncoder is not fitted"):
        CategoryEncoder().transform(frame())
    with pytest.raises(TypeError, match="X must be a pandas DataFrame; got list"):
        CategoryEncoder().fit([])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"min_count must be an int in \[1, inf\); got 0"):
        CategoryEncoder(min_count=0).fit(frame())
    with pytest.raises(TypeError, match="max_categories must be an int; got float"):
        CategoryEncoder(max_categories=2.5).fit(frame())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="columns must be a sequence of names or None; got str"):
        CategoryEncoder("industry").fit(frame())  # type: ignore[arg-type]
    with pytest.raises(InvalidFrameError, match="X must have column"):
        CategoryEncoder(["sector"]).fit(frame())
    with pytest.raises(InvalidFrameError, match="X must have column"):
        CategoryEncoder().fit(frame()).transform(frame()[["amount"]])
