"""Tests for risk.ownership: effective shares along ownership chains (ultimate holders).

Every expected share below is worked out by hand in a comment. A slow, obviously-correct
reference lives here too: the plain power series E = H·(I + S + S² + …) (iterated to
convergence, dense numpy). The helpers at the top build the roles frames of test_groups.py
and test_controllers.py as well.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from risk.contract import UNKNOWN_HOLDER
from risk.controllers import actual_controllers
from risk.ownership import OwnershipDataWarning, ultimate_holders

AS_OF = "2024-06-30"


def role(
    uscc: str,
    holder_id: str,
    kind: str = "shareholder",
    share: float | None = None,
    *,
    holder_type: str | None = None,
    start: str = "2020-01-01",
    end: str | None = None,
) -> dict[str, object]:
    """One roles row; holders named P… are persons, anything else an enterprise."""
    if holder_type is None:
        holder_type = (
            "person" if holder_id.startswith("P") or holder_id == UNKNOWN_HOLDER else "enterprise"
        )
    return {
        "uscc": uscc,
        "holder_type": holder_type,
        "holder_id": holder_id,
        "role": kind,
        "share": share,
        "start": pd.Timestamp(start),
        "end": pd.Timestamp(end) if end else pd.NaT,
    }


def frame(*rows: dict[str, object]) -> pd.DataFrame:
    out = pd.DataFrame(list(rows))
    out["start"] = out["start"].astype("datetime64[s]")
    out["end"] = out["end"].astype("datetime64[s]")
    return out


def by_uscc(result: pd.DataFrame) -> dict[str, pd.Series]:
    return {row["uscc"]: row for _, row in result.iterrows()}


PERSONS = pd.DataFrame(
    {
        "person_id": ["P1", "P2", "P3", "P4"],
        "name": ["张三", "李四", "王五", "赵六"],
        "id_hash": ["a" * 64, "b" * 64, "c" * 64, "d" * 64],
        "id_masked": ["340321********1234"] * 4,
    }
)
NAMES = pd.DataFrame({"uscc": ["A", "B", "C", "D"], "name": ["A公司", "B公司", "C公司", "D公司"]})


def _reference_shares(rows: list[dict[str, object]]) -> dict[tuple[str, str], float]:
    """E = H + E·S iterated to convergence (dense): the plain power series."""
    ents = sorted(
        {str(r["uscc"]) for r in rows}
        | {str(r["holder_id"]) for r in rows if r["holder_type"] == "enterprise"}
    )
    people = sorted({str(r["holder_id"]) for r in rows if r["holder_type"] == "person"})
    e_index = {e: i for i, e in enumerate(ents)}
    p_index = {p: i for i, p in enumerate(people)}
    held = {str(r["uscc"]) for r in rows}
    roots = [e for e in ents if e not in held]
    r_index = {e: i for i, e in enumerate(roots)}
    s = np.zeros((len(ents), len(ents)))  # s[i, j]: share of j held by enterprise i
    h = np.zeros((len(people) + len(roots), len(ents)))
    for r in rows:
        j = e_index[str(r["uscc"])]
        if r["holder_type"] == "person":
            h[p_index[str(r["holder_id"])], j] += float(r["share"])  # type: ignore[arg-type]
        elif str(r["holder_id"]) in r_index:
            h[len(people) + r_index[str(r["holder_id"])], j] += float(r["share"])  # type: ignore[arg-type]
        else:
            s[e_index[str(r["holder_id"])], j] += float(r["share"])  # type: ignore[arg-type]
    e = h.copy()
    for _ in range(5000):
        nxt = h + e @ s
        if np.abs(nxt - e).max() < 1e-13:
            break
        e = nxt
    names = people + roots
    return {
        (ents[j], names[u]): float(e[u, j])
        for u in range(len(names))
        for j in range(len(ents))
        if e[u, j] > 1e-12
    }


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_effective_shares_match_power_series_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for j in range(12):
        holders = rng.choice(12 + 6, size=rng.integers(1, 4), replace=False)
        shares = rng.dirichlet(np.ones(len(holders))) * rng.uniform(0.6, 1.0)
        for k, s in zip(holders, shares, strict=True):
            name = f"E{k:02d}" if k < 12 else f"P{k:02d}"
            rows.append(role(f"E{j:02d}", name, share=float(s)))
    holders = ultimate_holders(frame(*rows), AS_OF)
    got = {
        (u, h): s
        for u, h, s in holders[["uscc", "holder_id", "effective_share"]].itertuples(index=False)
    }
    expected = _reference_shares(rows)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key
    totals = holders.groupby("uscc")["effective_share"].sum()
    assert (totals <= 1 + 1e-9).all()


def test_over_declared_shares_warn_and_rescale() -> None:
    # 70 % + 60 % = 130 %: rescaled to 7/13 and 6/13.
    roles = frame(role("A", "P1", share=0.7), role("A", "P2", share=0.6))
    with pytest.warns(OwnershipDataWarning, match="summing above 100 %"):
        holders = ultimate_holders(roles, AS_OF)
    shares = dict(zip(holders["holder_id"], holders["effective_share"], strict=True))
    assert shares == {"P1": pytest.approx(7 / 13), "P2": pytest.approx(6 / 13)}
    # Rounding in registers (33.34 + 33.33 + 33.34) is rescaled without a warning.
    rounded = frame(*(role("B", f"P{i}", share=s) for i, s in enumerate((0.3334, 0.3333, 0.3334))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = ultimate_holders(rounded, AS_OF)["effective_share"].sum()
    assert total == pytest.approx(1.0)


def test_a_declared_indirect_interest_passes_down_the_chain() -> None:
    # B holds 100 % of A (B's own owners are not in the register); P declares 60 % of A
    # indirectly, through B; A holds 100 % of C. P ends up with 60 % of A and so 60 % of C —
    # C cannot answer "B" while A answers "P".
    roles = frame(
        role("A", "B", share=1.0),
        {**role("A", "P", share=0.6), "directness": "indirect"},
        role("C", "A", share=1.0),
    )
    result = ultimate_holders(roles, "2021-01-01")
    of = {(r.uscc, r.holder_id): r for r in result.itertuples()}
    assert of["A", "P"].effective_share == pytest.approx(0.6)
    assert of["C", "P"].effective_share == pytest.approx(0.6)
    assert of["C", "P"].path == ["P", "A", "C"]
    assert of["C", "B"].effective_share == pytest.approx(1.0)  # the known chain still counts
    answers = actual_controllers(roles, "2021-01-01", threshold=0.25).set_index("uscc")
    assert answers.loc["A", "controller_id"] == answers.loc["C", "controller_id"] == "P"
