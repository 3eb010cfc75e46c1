"""Integer codes for categorical columns, with a vocabulary that is learned once and logged.

LightGBM reads categorical features as non-negative integer codes and treats negative codes
as missing. :class:`CategoryEncoder` learns, per column, the vocabulary seen in training (the
``max_categories`` most frequent values seen at least ``min_count`` times, sorted), and maps
values to their position in it; missing values and values outside it become ``-1``. The
vocabulary is plain JSON (:meth:`CategoryEncoder.to_dict`), logged with every model, so that a
pandas ``category`` dtype never has to travel through MLflow's pyfunc path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype, is_bool_dtype, is_numeric_dtype, is_string_dtype

from risk.exceptions import NotFittedError
from risk.frames import require_frame
from risk.validation import check_int

__all__ = ["MISSING_CODE", "CategoryEncoder", "categorical_columns"]

MISSING_CODE = -1
"""Code of a missing or unseen value (LightGBM treats negative categorical codes as missing)."""


def categorical_columns(frame: pd.DataFrame) -> list[str]:
    """Columns of ``frame`` that are neither numeric nor boolean (strings, objects, categories)."""
    return [
        str(c) for c in frame.columns if not (is_numeric_dtype(frame[c]) or is_bool_dtype(frame[c]))
    ]


class CategoryEncoder:
    """Learn a vocabulary per categorical column and encode values as integer codes.

    Parameters
    ----------
    columns
        The columns to encode; ``None`` means every non-numeric column of the frame given to
        :meth:`fit` (:func:`categorical_columns`).
    min_count
        A value must occur at least this often in training to get a code, ≥ 1.
    max_categories
        At most this many codes per column (the most frequent values), ≥ 1.

    Attributes
    ----------
    vocabulary_ : dict of str to tuple of str
        Per column, the values that have a code; code = position.

    Raises
    ------
    TypeError, ValueError
        From :meth:`fit`, on invalid parameters.
    """

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        *,
        min_count: int = 1,
        max_categories: int = 1000,
    ) -> None:
        self.columns = columns
        self.min_count = min_count
        self.max_categories = max_categories

    def fit(self, X: pd.DataFrame) -> CategoryEncoder:
        """Learn the vocabulary of each column from ``X``.

        Returns
        -------
        CategoryEncoder
            ``self``.

        Raises
        ------
        TypeError
            If ``X`` is not a DataFrame or a parameter has the wrong type.
        ValueError
            If a parameter is out of range.
        InvalidFrameError
            If a column is missing.
        """
        require_frame(X, "X", ())
        min_count = check_int("min_count", self.min_count, 1)
        max_categories = check_int("max_categories", self.max_categories, 1)
        if self.columns is None:
            columns = categorical_columns(X)
        elif isinstance(self.columns, str) or not isinstance(self.columns, Sequence):
            raise TypeError(
                f"columns must be a sequence of names or None; got {type(self.columns).__name__}"
            )
        else:
            columns = [str(c) for c in self.columns]
        require_frame(X, "X", columns)
        vocabulary: dict[str, tuple[str, ...]] = {}
        for column in columns:
            counts = _as_text(X[column]).value_counts(dropna=True)
            counts = counts[counts >= min_count]
            # Most frequent first (ties by value, for determinism), then sorted by value.
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            vocabulary[column] = tuple(sorted(str(v) for v, _ in ranked[:max_categories]))
        self.vocabulary_ = vocabulary
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "vocabulary_"):
            raise NotFittedError("CategoryEncoder is not fitted; call fit(X) first")

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Replace each encoded column by its ``int64`` codes (``-1``: missing or unseen).

        Other columns are returned unchanged.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        InvalidFrameError
            If an encoded column is missing from ``X``.
        """
        self._check_fitted()
        require_frame(X, "X", self.vocabulary_)
        out = X.copy()
        for column in self.vocabulary_:
            out[column] = self.encode(column, X[column])
        return out

    def encode(self, column: str, values: pd.Series | Sequence[Any]) -> np.ndarray:
        """Codes of ``values`` in ``column``'s vocabulary (``int64``, ``-1`` if not in it)."""
        self._check_fitted()
        index = pd.Index(self.vocabulary_[column], dtype=object)
        text = _as_text(pd.Series(values)).to_numpy(dtype=object)
        return np.asarray(index.get_indexer(text), dtype=np.int64)

    def decode(self, column: str, codes: np.ndarray) -> np.ndarray:
        """Values of ``codes`` in ``column`` (``None`` for ``-1``)."""
        self._check_fitted()
        vocabulary = np.array([*self.vocabulary_[column], None], dtype=object)
        codes = np.asarray(codes, dtype=np.int64)
        return vocabulary[np.where(codes < 0, len(vocabulary) - 1, codes)]

    def to_dict(self) -> dict[str, Any]:
        """The parameters and vocabulary as plain JSON-ready data."""
        self._check_fitted()
        return {
            "min_count": self.min_count,
            "max_categories": self.max_categories,
            "vocabulary": {c: list(v) for c, v in self.vocabulary_.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoryEncoder:
        """Rebuild a fitted encoder from :meth:`to_dict` output."""
        vocabulary = {
            str(c): tuple(str(v) for v in values) for c, values in data["vocabulary"].items()
        }
        encoder = cls(
            list(vocabulary),
            min_count=int(data["min_count"]),
            max_categories=int(data["max_categories"]),
        )
        encoder.vocabulary_ = vocabulary
        return encoder


def _as_text(values: pd.Series) -> pd.Series:
    """Values as Python strings, missing as ``None``."""
    series = values.astype(object)
    present = series.notna()
    if not (is_string_dtype(values) or infer_dtype(series, skipna=True) in ("string", "empty")):
        series = series.map(lambda v: v if isinstance(v, str) else str(v), na_action="ignore")
    return series.where(present, None)
