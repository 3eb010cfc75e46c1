"""Plain-text rendering of result tables for model cards and the command line."""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["format_number", "markdown_table"]


def format_number(value: float) -> str:
    """A number for people: thousands separated from 100 up, three significant digits below.

    NaN renders as an empty string.
    """
    if math.isnan(value):
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table of ``frame`` (floats by :func:`format_number`)."""
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = [
        "| " + " | ".join(format_number(v) if isinstance(v, float) else str(v) for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *body])
