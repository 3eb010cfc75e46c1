"""The one model-card layout (the cards' texts are checked through their trainings)."""

from __future__ import annotations

import pandas as pd
import pytest

from models.cards import LOADING_LIMITATION, ModelCard, gain_shares


def test_layout_title_facts_sections_and_limitations() -> None:
    card = ModelCard(
        title="Model card: x",
        facts=["**Label**: 1 = bad", "**Test**: AUC 0.7"],
        sections=[("## Sample", ["n = 10", "| a |\n|---|\n| 1 |"]), ("", ["untitled"])],
        limitations=[LOADING_LIMITATION],
    ).to_markdown()
    assert card == (
        "# Model card: x\n\n- **Label**: 1 = bad\n- **Test**: AUC 0.7\n\n## Sample\n\nn = 10\n\n"
        "| a |\n|---|\n| 1 |\n\nuntitled\n\n## Limitations\n\n- " + LOADING_LIMITATION + "\n"
    )


def test_no_limitations_no_section() -> None:
    card = ModelCard(title="t", facts=["f"]).to_markdown()
    assert card == "# t\n\n- f\n" and "Limitations" not in card


def test_gain_shares_by_hand() -> None:
    """Gains 30 (two dishonesty features), 20 (linked risk), 10 (network), 40 (tax):
    public credit 30 %, graph 30 %, every concept its share of 100."""
    importance = pd.DataFrame(
        {
            "feature": [
                "own_dishonest_12m",
                "own_dishonest_all",
                "linked_risk",
                "group_size",
                "tax_paid_12m",
            ],
            "gain": [20.0, 10.0, 20.0, 10.0, 40.0],
            "concept": [
                "dishonest_lists",
                "dishonest_lists",
                "linked_risk",
                "network",
                "tax_paid",
            ],
        }
    )
    shares = gain_shares(importance)
    assert shares["public_credit"] == pytest.approx(0.3)
    assert shares["graph"] == pytest.approx(0.3)
    concepts = {k: v for k, v in shares.items() if k.startswith("concept:")}
    assert list(concepts) == [
        "concept:tax_paid",
        "concept:dishonest_lists",
        "concept:linked_risk",
        "concept:network",
    ]
    assert sum(concepts.values()) == pytest.approx(1.0)
    no_gain = gain_shares(importance.assign(gain=0.0))  # a single-leaf model: no division by 0
    assert no_gain["public_credit"] == 0.0 and no_gain["graph"] == 0.0
