"""Tests for risk.publicity: regimes, publicity terms and the one "is this record active" rule.

Expected terms come from DESIGN.md §2 ("When a record counts") and the module docstring's
table; every end date below is worked out by hand on the calendar.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from risk.contract import POSITIVE_KINDS, Domain, RecordKind, Regime, Severity
from risk.publicity import (
    NDRC_2026_IN_FORCE,
    active_mask,
    choose_regime,
    is_active,
    resolve_publicity,
    term_months,
)

NEGATIVE_NON_DEBTOR = sorted(set(RecordKind) - set(POSITIVE_KINDS) - {RecordKind.dishonest_debtor})

# --------------------------------------------------------------------------- choose_regime


def test_ndrc_2026_in_force_date():
    assert date(2026, 4, 1) == NDRC_2026_IN_FORCE


@pytest.mark.parametrize("kind", ["red_list", "license", "commitment"])
@pytest.mark.parametrize("domain", ["market_regulation", "taxation", "other"])
@pytest.mark.parametrize("decided", [date(2020, 1, 1), date(2027, 1, 1)])
def test_positive_kinds_are_open_ended(kind, domain, decided):
    assert choose_regime(kind, domain, decided) == Regime.open_ended


@pytest.mark.parametrize("domain", ["court", "market_regulation", "taxation"])
@pytest.mark.parametrize("decided", [date(2024, 1, 1), date(2026, 4, 1), date(2027, 1, 1)])
def test_dishonest_debtor_beats_domain_and_date(domain, decided):
    assert choose_regime("dishonest_debtor", domain, decided) == Regime.dishonest_debtor


@pytest.mark.parametrize("kind", NEGATIVE_NON_DEBTOR)
@pytest.mark.parametrize("decided", [date(2023, 6, 1), date(2026, 3, 31), date(2026, 4, 1)])
def test_market_regulation_domain_beats_date(kind, decided):
    assert choose_regime(kind, "market_regulation", decided) == Regime.market_regulation


@pytest.mark.parametrize(
    ("decided", "regime"),
    [
        (date(2023, 1, 1), Regime.order_58),
        (date(2026, 3, 31), Regime.order_58),  # the day before
        (pd.Timestamp("2026-03-31 23:59:59"), Regime.order_58),
        (date(2026, 4, 1), Regime.ndrc_2026),  # in force that day
        (pd.Timestamp("2026-04-01"), Regime.ndrc_2026),
        (date(2026, 4, 2), Regime.ndrc_2026),
        (date(2030, 1, 1), Regime.ndrc_2026),
    ],
)
@pytest.mark.parametrize("kind", ["administrative_penalty", "tax_arrears", "wage_arrears"])
def test_date_decides_between_order_58_and_ndrc_2026(decided, regime, kind):
    assert choose_regime(kind, "taxation", decided) == regime


def test_choose_regime_accepts_enums():
    assert (
        choose_regime(RecordKind.administrative_penalty, Domain.work_safety, date(2025, 1, 1))
        == Regime.order_58
    )
    assert (
        choose_regime(RecordKind.dishonest_debtor, Domain.court, date(2025, 1, 1))
        == Regime.dishonest_debtor
    )


def test_choose_regime_unknown_kind():
    with pytest.raises(ValueError, match="'bogus' is not a valid RecordKind"):
        choose_regime("bogus", "taxation", date(2025, 1, 1))


# --------------------------------------------------------------------------- term_months

# Hand table from DESIGN.md §2 / the module docstring; order_58 minor depends on the domain.
TERMS = {
    "open_ended": {"minor": None, "general": None, "serious": None},
    "dishonest_debtor": {"minor": 24, "general": 24, "serious": 24},
    "market_regulation": {"minor": 3, "general": 36, "serious": 36},
    "ndrc_2026": {"minor": 0, "general": 12, "serious": 36},
    "order_58": {"minor": 3, "general": 36, "serious": 36},
}
ONE_YEAR_MINOR_DOMAINS = {"work_safety", "health"}


def _expected_term(regime: str, domain: str, severity: str) -> int | None:
    if regime == "order_58" and severity == "minor" and domain in ONE_YEAR_MINOR_DOMAINS:
        return 12
    return TERMS[regime][severity]


@pytest.mark.parametrize("regime", sorted(TERMS))
@pytest.mark.parametrize("severity", ["minor", "general", "serious"])
@pytest.mark.parametrize("domain", [d.value for d in Domain])
def test_term_months_every_regime_severity_domain(regime, severity, domain):
    assert term_months(regime, domain, severity) == _expected_term(regime, domain, severity)


@pytest.mark.parametrize(
    ("domain", "months"),
    [
        ("work_safety", 12),
        ("health", 12),
        ("taxation", 3),
        ("ecology_environment", 3),
        ("market_regulation", 3),
        ("other", 3),
    ],
)
def test_order_58_minor_term_by_domain(domain, months):
    assert term_months("order_58", domain, "minor") == months
    assert term_months(Regime.order_58, Domain(domain), Severity.minor) == months


def test_ndrc_2026_minor_is_never_published():
    assert term_months("ndrc_2026", "taxation", "minor") == 0


@pytest.mark.parametrize("regime", ["explicit", Regime.explicit])
def test_term_months_explicit_has_no_term(regime):
    with pytest.raises(ValueError, match="regime 'explicit' needs a publicity_end"):
        term_months(regime, "taxation", "general")


def test_term_months_unknown_regime_and_severity():
    with pytest.raises(ValueError, match="'bogus' is not a valid Regime"):
        term_months("bogus", "taxation", "general")
    with pytest.raises(ValueError, match="'bogus' is not a valid Severity"):
        term_months("ndrc_2026", "taxation", "bogus")


@pytest.mark.parametrize("regime", ["order_58", "market_regulation"])
def test_term_months_rejects_unknown_severity_in_every_regime(regime):
    with pytest.raises(ValueError, match="Severity"):
        term_months(regime, "taxation", "轻微")


# --------------------------------------------------------------------------- resolve_publicity


def _frame(rows: list[tuple], index=None) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["kind", "domain", "severity", "decided", "publicity_end"], index=index
    ).assign(decided=lambda f: pd.to_datetime(f["decided"]))


def test_resolve_publicity_derives_ends_by_hand():
    pen = "administrative_penalty"
    records = _frame(
        [
            # market_regulation minor: 3 months; Jan 31 + 3 months → Apr 30 (2024 is leap)
            (pen, "market_regulation", "minor", "2024-01-31", None),
            # market_regulation general: 3 years
            (pen, "market_regulation", "general", "2024-02-29", None),
            # dishonest_debtor: 2 years; Feb 29 2024 + 24 months → Feb 28 2026
            ("dishonest_debtor", "court", "serious", "2024-02-29", None),
            # order_58 minor in health: 1 year
            (pen, "health", "minor", "2023-08-31", None),
            # order_58 minor in taxation: 3 months; Nov 30 + 3 → Feb 28
            (pen, "taxation", "minor", "2025-11-30", None),
            # order_58 general, the day before NDRC is in force: 3 years
            (pen, "taxation", "general", "2026-03-31", None),
            # ndrc_2026 general from 2026-04-01: 1 year
            (pen, "taxation", "general", "2026-04-01", None),
            # ndrc_2026 serious: 3 years; May 31 + 36 → May 31
            (pen, "ecology_environment", "serious", "2026-05-31", None),
            # ndrc_2026 minor: not published, end == decided
            (pen, "taxation", "minor", "2026-06-15", None),
            # positive: open-ended
            ("red_list", "taxation", "general", "2024-01-01", None),
            # order_58 minor in work_safety: 1 year; Feb 29 2024 + 12 → Feb 28 2025
            (pen, "work_safety", "minor", "2024-02-29", None),
        ],
        index=list("abcdefghijk"),
    )
    out = resolve_publicity(records)
    assert list(out.index) == list("abcdefghijk")
    assert list(out.columns) == ["publicity_end", "regime"]
    expected_end = [
        "2024-04-30",
        "2027-02-28",
        "2026-02-28",
        "2024-08-31",
        "2026-02-28",
        "2029-03-31",
        "2027-04-01",
        "2029-05-31",
        "2026-06-15",
        None,
        "2025-02-28",
    ]
    expected_regime = [
        "market_regulation",
        "market_regulation",
        "dishonest_debtor",
        "order_58",
        "order_58",
        "order_58",
        "ndrc_2026",
        "ndrc_2026",
        "ndrc_2026",
        "open_ended",
        "order_58",
    ]
    assert out["publicity_end"].tolist() == [
        pd.NaT if e is None else pd.Timestamp(e) for e in expected_end
    ]
    assert out["publicity_end"].isna().tolist() == [e is None for e in expected_end]
    assert out["regime"].tolist() == expected_regime


def test_resolve_publicity_keeps_an_explicit_end():
    records = _frame(
        [
            ("administrative_penalty", "taxation", "general", "2024-01-10", "2024-07-10"),
            ("administrative_penalty", "taxation", "general", "2024-01-10", None),
        ]
    )
    out = resolve_publicity(records)
    assert out["publicity_end"].tolist() == [pd.Timestamp("2024-07-10"), pd.Timestamp("2027-01-10")]
    assert out["regime"].tolist() == ["explicit", "order_58"]


def test_resolve_publicity_explicit_end_with_named_regime_keeps_both():
    records = _frame(
        [("administrative_penalty", "taxation", "general", "2024-01-10", "2024-07-10")]
    ).assign(regime=["order_58"])
    out = resolve_publicity(records)
    assert out["publicity_end"].iat[0] == pd.Timestamp("2024-07-10")
    assert out["regime"].iat[0] == "order_58"


def test_resolve_publicity_honours_a_named_regime_when_end_missing():
    pen = "administrative_penalty"
    records = _frame(
        [
            # would be order_58 (36 months); named ndrc_2026 → 12 months
            (pen, "taxation", "general", "2024-01-31", None),
            # would be order_58; named dishonest_debtor → 24 months
            (pen, "taxation", "general", "2024-01-31", None),
            # named explicit without an end: derived from choose_regime instead
            (pen, "taxation", "general", "2024-01-31", None),
            # missing regime value: derived
            (pen, "market_regulation", "minor", "2024-01-31", None),
            # named open_ended
            (pen, "taxation", "serious", "2024-01-31", None),
        ]
    ).assign(regime=["ndrc_2026", "dishonest_debtor", "explicit", None, "open_ended"])
    out = resolve_publicity(records)
    assert out["regime"].tolist() == [
        "ndrc_2026",
        "dishonest_debtor",
        "order_58",
        "market_regulation",
        "open_ended",
    ]
    assert out["publicity_end"].tolist()[:4] == [
        pd.Timestamp("2025-01-31"),
        pd.Timestamp("2026-01-31"),
        pd.Timestamp("2027-01-31"),
        pd.Timestamp("2024-04-30"),
    ]
    assert pd.isna(out["publicity_end"].iat[4])


def test_resolve_publicity_without_publicity_end_column():
    records = pd.DataFrame(
        {
            "kind": ["administrative_penalty", "license"],
            "domain": ["market_regulation", "market_regulation"],
            "severity": ["minor", "general"],
            "decided": pd.to_datetime(["2024-05-31", "2024-05-31"]),
        }
    )
    out = resolve_publicity(records)
    # May 31 + 3 months → Aug 31
    assert out["publicity_end"].iat[0] == pd.Timestamp("2024-08-31")
    assert pd.isna(out["publicity_end"].iat[1])
    assert out["regime"].tolist() == ["market_regulation", "open_ended"]


def test_resolve_publicity_accepts_date_objects():
    records = pd.DataFrame(
        {
            "kind": ["administrative_penalty"],
            "domain": ["taxation"],
            "severity": ["minor"],
            "decided": [date(2024, 11, 30)],
            "publicity_end": [None],
        }
    )
    out = resolve_publicity(records)
    assert out["publicity_end"].iat[0] == pd.Timestamp("2025-02-28")


def test_resolve_publicity_unknown_named_regime():
    records = _frame([("administrative_penalty", "taxation", "general", "2024-01-31", None)])
    with pytest.raises(ValueError, match="'bogus' is not a valid Regime"):
        resolve_publicity(records.assign(regime=["bogus"]))


def test_resolve_publicity_agrees_with_choose_regime_and_term_months_row_by_row():
    # Every kind × domain × severity on both sides of the NDRC date, with no regime, a named
    # one (each), or an explicit end: the vectorised frame against the scalar rules.
    decided = [pd.Timestamp("2025-01-31"), pd.Timestamp("2026-03-31"), pd.Timestamp("2026-04-01")]
    named: list[str | None] = [None, *(r.value for r in Regime)]
    rows = [
        (k.value, d.value, s.value, t, None, n)
        for k in RecordKind
        for d in Domain
        for s in Severity
        for t in decided
        for n in named
    ]
    rows += [(k, d, s, t, t + pd.DateOffset(days=40), n) for k, d, s, t, _, n in rows[::7]]
    records = pd.DataFrame(
        rows, columns=["kind", "domain", "severity", "decided", "publicity_end", "regime"]
    )
    out = resolve_publicity(records)

    for (kind, domain, severity, on, end, name), got_end, got_regime in zip(
        rows, out["publicity_end"], out["regime"], strict=True
    ):
        if end is not None:
            assert (got_end, got_regime) == (end, name or "explicit")
            continue
        regime = Regime(name) if name and name != "explicit" else choose_regime(kind, domain, on)
        months = term_months(regime, domain, severity)
        want = pd.NaT if months is None else on + pd.DateOffset(months=months)
        assert got_regime == regime.value
        assert (pd.isna(got_end) and pd.isna(want)) or got_end == want


def test_resolve_publicity_refuses_unknown_codes_of_derived_rows_only():
    base = _frame([("administrative_penalty", "taxation", "general", "2024-01-31", None)])
    with pytest.raises(ValueError, match="'nowhere' is not a valid Domain"):
        resolve_publicity(base.assign(domain=["nowhere"]))
    with pytest.raises(ValueError, match="'huge' is not a valid Severity"):
        resolve_publicity(base.assign(severity=["huge"]))
    with pytest.raises(ValueError, match="'gossip' is not a valid RecordKind"):
        resolve_publicity(base.assign(kind=["gossip"]))
    explicit = base.assign(publicity_end=[pd.Timestamp("2024-06-30")], severity=["huge"])
    assert resolve_publicity(explicit)["regime"].tolist() == ["explicit"]


def test_ndrc_minor_record_is_never_active():
    records = _frame([("administrative_penalty", "taxation", "minor", "2026-06-15", None)])
    out = resolve_publicity(records)
    for day in ["2026-06-14", "2026-06-15", "2026-06-16", "2027-01-01"]:
        assert not active_mask(records["decided"], out["publicity_end"], None, None, day).any()


# --------------------------------------------------------------------------- active_mask

DECIDED = date(2024, 3, 1)
END = date(2024, 6, 1)


@pytest.mark.parametrize(
    ("on", "active"),
    [
        (date(2024, 2, 29), False),  # the day before the decision
        (date(2024, 3, 1), True),  # the decision day
        (date(2024, 5, 31), True),  # the last public day
        (date(2024, 6, 1), False),  # ON publicity_end: t < end is strict
        (date(2025, 1, 1), False),
    ],
)
def test_active_boundaries(on, active):
    record = {"decided": DECIDED, "publicity_end": END, "repaired": None, "removed": None}
    assert is_active(record, on) is active
    assert active_mask(DECIDED, END, None, None, on).item() is active
    assert active_mask([DECIDED], [END], [None], [None], on).tolist() == [active]


@pytest.mark.parametrize("field", ["repaired", "removed"])
def test_repaired_or_removed_ends_activity_on_that_day(field):
    cut = date(2024, 4, 10)
    record = {"decided": DECIDED, "publicity_end": END, field: cut}
    assert is_active(record, date(2024, 4, 9))
    assert not is_active(record, cut)
    assert not is_active(record, date(2024, 4, 11))
    assert not is_active(record, date(2024, 5, 31))  # before the end, but repaired/removed


@pytest.mark.parametrize("field", ["repaired", "removed"])
def test_active_days_counted_by_hand(field):
    # Active on [Mar 1, Apr 10): 31 days of March + 9 days of April = 40 days.
    record = {"decided": DECIDED, "publicity_end": END, field: date(2024, 4, 10)}
    days = [date(2024, 2, 1) + timedelta(days=i) for i in range(200)]
    active_days = [d for d in days if is_active(record, d)]
    assert len(active_days) == 40
    assert active_days[0] == date(2024, 3, 1)
    assert active_days[-1] == date(2024, 4, 9)
    # Same on the vectorised path with one `on` per row.
    n = len(days)
    if field == "repaired":
        mask = active_mask([DECIDED] * n, [END] * n, [date(2024, 4, 10)] * n, None, days)
    else:
        mask = active_mask([DECIDED] * n, [END] * n, None, [date(2024, 4, 10)] * n, days)
    assert int(mask.sum()) == 40


def test_active_days_without_repair_counted_by_hand():
    # [Mar 1, Jun 1): 31 + 30 + 31 = 92 days.
    record = {"decided": DECIDED, "publicity_end": END}
    days = [date(2024, 2, 1) + timedelta(days=i) for i in range(200)]
    assert sum(is_active(record, d) for d in days) == 92


def test_repaired_record_never_counts_afterwards():
    # Open-ended publicity, repaired: never active again, however far ahead.
    record = {"decided": DECIDED, "publicity_end": None, "repaired": date(2024, 4, 10)}
    for on in [date(2024, 4, 10), date(2025, 1, 1), date(2030, 1, 1), date(2100, 1, 1)]:
        assert not is_active(record, on)


def test_repair_before_decision_means_never_active():
    record = {"decided": DECIDED, "publicity_end": END, "removed": date(2024, 2, 1)}
    assert not any(is_active(record, DECIDED + timedelta(days=i)) for i in range(100))


def test_missing_end_is_open_ended():
    for end in (None, pd.NaT, np.nan, np.datetime64("NaT")):
        record = {"decided": DECIDED, "publicity_end": end}
        assert is_active(record, date(2099, 12, 31))
        assert not is_active(record, date(2024, 2, 29))


def test_missing_keys_default_to_not_repaired_not_removed_open_ended():
    assert is_active({"decided": DECIDED}, date(2030, 1, 1))


def test_active_mask_array_with_one_on_per_record():
    decided = pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-01", "2024-01-01"])
    end = pd.to_datetime(["2024-12-31", None, "2024-06-01", "2025-01-01"])
    repaired = pd.to_datetime([None, None, None, "2024-03-01"])
    removed = pd.Series([None, "2024-09-01", None, None])
    on = pd.to_datetime(["2024-12-30", "2024-09-01", "2024-05-31", "2024-02-29"])
    # r0: Dec 30 < Dec 31 → active; r1: removed on Sep 1 → inactive;
    # r2: May 31 < Jun 1 → active; r3: Feb 29 before the Mar 1 repair → active.
    assert active_mask(decided, end, repaired, removed, on).tolist() == [True, False, True, True]
    on_later = pd.to_datetime(["2024-12-31", "2024-08-31", "2024-06-01", "2024-03-01"])
    assert active_mask(decided, end, repaired, removed, on_later).tolist() == [
        False,
        True,
        False,
        False,
    ]


def test_active_mask_scalar_on_over_an_array():
    decided = [date(2024, 1, 1), date(2024, 7, 1), date(2023, 1, 1)]
    end = [date(2025, 1, 1), None, date(2024, 1, 1)]
    mask = active_mask(decided, end, None, None, date(2024, 6, 30))
    assert mask.dtype == bool
    assert mask.tolist() == [True, False, False]


@pytest.mark.parametrize(
    "on",
    [
        date(2024, 3, 1),
        pd.Timestamp("2024-03-01"),
        np.datetime64("2024-03-01"),
        "2024-03-01",
    ],
)
def test_active_mask_accepts_date_types(on):
    assert active_mask(pd.Timestamp(DECIDED), np.datetime64(END), None, None, on).item()
    assert active_mask(str(DECIDED), str(END), None, None, on).item()


def test_active_mask_agrees_with_is_active_row_by_row():
    frame = pd.DataFrame(
        {
            "decided": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]),
            "publicity_end": pd.to_datetime(["2024-04-01", None, "2024-03-02", "2027-04-01"]),
            "repaired": pd.to_datetime([None, "2024-03-15", None, None]),
            "removed": pd.to_datetime([None, None, None, "2024-04-01"]),
        }
    )
    for on in pd.date_range("2023-12-30", "2024-05-01", freq="D"):
        mask = active_mask(
            frame["decided"], frame["publicity_end"], frame["repaired"], frame["removed"], on
        )
        rows = [is_active(frame.iloc[i].to_dict(), on) for i in range(len(frame))]
        assert mask.tolist() == rows


def test_far_future_publicity_end_is_still_active():
    record = {"decided": date(2024, 1, 1), "publicity_end": date(9999, 12, 31)}
    assert is_active(record, date(2025, 1, 1))
    mask = active_mask([date(2024, 1, 1)], [date(9999, 12, 31)], None, None, date(2025, 1, 1))
    assert mask.tolist() == [True]
