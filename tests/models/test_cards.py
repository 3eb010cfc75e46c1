"""The one model-card layout (the cards' texts are checked through their trainings)."""

from __future__ import annotations

from models.cards import LOADING_LIMITATION, ModelCard


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
