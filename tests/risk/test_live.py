"""risk.live: a live update writes exactly what a full recompute of the set's date gives.

Every test runs on SQLite and PostgreSQL. The comparison (:func:`assert_equals_full_recompute`)
reads every kind of the current set with its deltas and a fresh
:func:`risk.batch.run_risk_batch` of the same date with the same frozen threshold, which must
also find nothing left to upsert into the warnings store.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from risk.config import RiskConfig
from risk.ingest import ingest_paths
from risk.live import LiveScope, load_groups, load_region
from risk.propagation import PropagationConfig
from risk.scoresets import (
    ScoreSetError,
    StaleScoreSetError,
    current,
    events_after,
    get_set,
    read_kind,
    write_delta,
)
from risk.store import quarantine, read_table, score_events
from risk.synth import SynthConfig, generate_county, write_county
from tests.risk.live_helpers import (
    AS_OF,
    apply,
    assert_equals_full_recompute,
    code,
    current_rows,
    enterprise,
    event_set,
    expected_events,
    ingest_county,
    person,
    publish_set,
    random_county,
    record,
    role,
)

CONFIG = RiskConfig()


def _event_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(score_events)).scalar_one())


# --------------------------------------------------------------------------- by hand


def _chain(engine: Engine) -> dict[str, str]:
    """A — P — B — Q — C: person P legal rep of A and B, person Q of B and C; no records."""
    a, b, c = code(1), code(2), code(3)
    ingest_county(
        engine,
        {
            "enterprises": [enterprise(1), enterprise(2), enterprise(3)],
            "persons": [person("P"), person("Q")],
            "roles": [
                role(a, "P", "legal_rep"),
                role(b, "P", "legal_rep"),
                role(b, "Q", "executive"),
                role(c, "Q", "legal_rep"),
            ],
        },
    )
    return {"A": a, "B": b, "C": c}


def test_a_record_moves_its_k_hop_ball_as_worked_out_by_hand(engine: Engine) -> None:
    ids = _chain(engine)
    threshold = publish_set(engine, CONFIG)
    before = current_rows(engine)
    assert set(before["grades"]["grade"]) == {"A"}

    # 失信被执行人, serious, decided on the set's date: s_A = 0.8 × 2 × 0.5^0 = 1.6.
    result = apply(
        engine,
        "records",
        [
            record(
                "(2026)皖1122执9号", ids["A"], "dishonest_debtor", "2026-06-30", severity="serious"
            )
        ],
    )
    assert result.summary.inserted == 1 and result.seq == 1 and result.attempts == 1
    risk = read_kind(engine, "risk")
    # α = 0.5, K = 3; P[P, A] = 0.8 (enterprise → legal rep), P[B, P] = 0.8,
    # P[Q, B] = 0.3 (enterprise → executive), P[C, Q] = 0.8.
    #   r_P = α·0.8·1.6 + α³·(0.8·0.8·0.8 + 0.8·0.8·0.8)·1.6 = 0.64 + 0.2048 = 0.8448
    #   r_B = α²·0.8·0.8·1.6 = 0.256;  r_Q = α³·0.3·0.8·0.8·1.6 = 0.0384
    #   r_A = α²·0.8·0.8·1.6 = 0.256, all of it its own echo (A → P → A): 0 without it.
    #   C is four hops from A: untouched.
    assert risk.loc["P", "linked_risk"] == pytest.approx(0.8448)
    assert risk.loc[ids["B"], "linked_risk"] == pytest.approx(0.256)
    assert risk.loc["Q", "linked_risk"] == pytest.approx(0.0384)
    assert risk.loc[ids["A"], "own_signal"] == pytest.approx(1.6)
    assert risk.loc[ids["A"], "linked_risk"] == pytest.approx(0.256)
    assert risk.loc[ids["A"], "linked_risk_excluding_self"] == pytest.approx(0.0)
    assert risk.loc[ids["C"], "linked_risk"] == 0.0
    assert result.recomputed["risk"] == 4  # A, P, B, Q: within three hops of A
    # A is on the serious-dishonesty list (D); B's linked risk 0.256 ≥ 0.1 (B, elevated).
    assert event_set(result.events) == {
        (ids["A"], "grade", "A", "D"),
        (ids["A"], "grade_bank", "A", "D"),
        (ids["B"], "grade", "A", "B"),
        (ids["B"], "grade_bank", "A", "B"),
        (ids["B"], "linked_risk_band", "none", "elevated"),
    }
    assert event_set(result.events) == expected_events(before, current_rows(engine))
    assert_equals_full_recompute(engine, CONFIG, threshold)


def test_the_events_name_the_cause_and_are_stored_once(engine: Engine) -> None:
    ids = _chain(engine)
    publish_set(engine, CONFIG)
    rows = [
        record("(2026)皖1122执9号", ids["A"], "dishonest_debtor", "2026-06-30", severity="serious")
    ]
    result = apply(engine, "records", rows, cause={"request_id": "r-1"})
    stored = events_after(engine)
    assert len(stored) == len(result.events) == 5
    for cause in stored["cause"]:
        assert cause == {
            "request_id": "r-1",
            "ingest_batch": result.summary.batch_id,
            "table": "records",
            "keys": ["(2026)皖1122执9号/来安县市场监督管理局"],  # the key: 文号 and authority
            "n_keys": 1,
        }
    assert set(stored["seq"]) == {1}
    # The same rows again: stored unchanged, nothing recomputed, no event.
    again = apply(engine, "records", rows)
    assert again.summary.unchanged == 1 and again.seq == 1 and again.events.empty
    assert _event_count(engine) == 5


def test_a_wholly_bad_record_is_quarantined_and_changes_nothing(engine: Engine) -> None:
    ids = _chain(engine)
    publish_set(engine, CONFIG)
    bad = record("BAD-1", ids["A"][:17] + "0", "dishonest_debtor", "2026-06-01")
    wrong_check = bad["subject_id"] != ids["A"]
    assert wrong_check
    result = apply(engine, "records", [bad])
    assert result.summary.quarantined == 1 and result.accepted == 0
    assert result.seq == 0 and result.events.empty and not result.changed
    assert result.notes == ["nothing stored: no row was accepted"]
    pointer = current(engine)
    assert pointer is not None and pointer.seq == 0
    assert _event_count(engine) == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(quarantine)).scalar_one() == 1


def test_a_refused_table_stores_nothing(engine: Engine) -> None:
    _chain(engine)
    publish_set(engine, CONFIG)
    result = apply(engine, "records", [{"record_id": "X-1"}])
    assert result.summary.status == "refused" and result.seq == 0
    assert result.notes[0].startswith("nothing stored: ")


def test_records_dated_after_the_set_are_stored_and_move_nothing(engine: Engine) -> None:
    ids = _chain(engine)
    publish_set(engine, CONFIG, as_of=date(2026, 3, 31))
    rows = [record("LATE-1", ids["A"], "dishonest_debtor", "2026-05-01", severity="serious")]
    result = apply(engine, "records", rows)
    assert result.summary.inserted == 1 and result.seq == 0 and result.events.empty
    assert "dated after the score set's date 2026-03-31" in result.notes[0]
    assert read_table(engine, "records")["record_id"].tolist() == ["LATE-1"]


def test_a_closed_enterprise_keeps_its_grade_row_and_says_so(engine: Engine) -> None:
    ids = _chain(engine)
    publish_set(engine, CONFIG)
    closed = {**enterprise(2), "status": "deregistered", "closed": "2026-06-01"}
    result = apply(engine, "enterprises", [closed])
    assert result.summary.updated == 1
    assert any("no longer exist on the set's date" in n for n in result.notes)
    assert ids["B"] in read_kind(engine, "grades").index  # a delta never deletes a row
    assert pd.isna(read_kind(engine, "risk").loc[ids["B"], "band"])  # not existing: no band


def test_without_a_current_set_nothing_is_stored(engine: Engine) -> None:
    ids = _chain(engine)
    with pytest.raises(ScoreSetError, match="no score set has been published"):
        apply(engine, "records", [record("R-1", ids["A"], "dishonest_debtor", "2026-06-01")])
    assert read_table(engine, "records").empty


def test_other_risk_settings_than_the_sets_are_refused(engine: Engine) -> None:
    ids = _chain(engine)
    publish_set(engine, CONFIG)
    other = RiskConfig(propagation=PropagationConfig(alpha=0.4))
    with pytest.raises(ScoreSetError, match="other risk settings"):
        apply(
            engine,
            "records",
            [record("R-1", ids["A"], "dishonest_debtor", "2026-06-01")],
            config=other,
        )
    assert read_table(engine, "records").empty


def test_a_set_switch_during_the_compute_is_retried_once(engine: Engine) -> None:
    ids = _chain(engine)
    publish_set(engine, CONFIG)
    switches: list[int] = []

    def switch_set(scope: LiveScope) -> pd.DataFrame:
        if not switches:  # another pipeline run publishes while the first compute runs
            publish_set(engine, CONFIG)
            switches.append(1)
        return pd.DataFrame(
            columns=["subject_id", "decision", "pd", "pd_band", "limit_amount", "body"]
        )

    rows = [record("R-1", ids["A"], "dishonest_debtor", "2026-06-30", severity="serious")]
    result = apply(engine, "records", rows, assess=switch_set)
    pointer = current(engine)
    assert pointer is not None and result.set_id == pointer.set_id and result.attempts == 2
    assert "recomputed on the new current set" in result.notes[0]
    # The new set was computed after the record was stored: it counts it already.
    assert result.seq == 0 and result.events.empty

    def always_switch(scope: LiveScope) -> pd.DataFrame:
        publish_set(engine, CONFIG)
        return pd.DataFrame(
            columns=["subject_id", "decision", "pd", "pd_band", "limit_amount", "body"]
        )

    rows = [record("R-2", ids["C"], "dishonest_debtor", "2026-06-30", severity="serious")]
    with pytest.raises(StaleScoreSetError):
        apply(engine, "records", rows, assess=always_switch)


def test_a_delta_written_meanwhile_makes_it_recompute(engine: Engine) -> None:
    ids = _chain(engine)
    threshold = publish_set(engine, CONFIG)
    interleaved: list[int] = []

    def other_delta(scope: LiveScope) -> pd.DataFrame:
        if not interleaved:  # another process writes its delta first
            pointer = current(engine)
            assert pointer is not None
            row = read_kind(engine, "risk").loc[[ids["C"]]].reset_index(names="subject_id")
            row["own_signal"] = 0.5
            write_delta(engine, pointer.set_id, {"risk": row}, {"test": "interleaved"})
            interleaved.append(1)
        return pd.DataFrame(
            columns=["subject_id", "decision", "pd", "pd_band", "limit_amount", "body"]
        )

    rows = [record("R-1", ids["A"], "dishonest_debtor", "2026-06-30", severity="serious")]
    result = apply(engine, "records", rows, assess=other_delta)
    assert result.attempts == 2 and result.seq == 2 and "recomputed" in result.notes[0]
    # The interleaved row (C's made-up signal) is outside this update's ball: put it back.
    pointer = current(engine)
    assert pointer is not None
    row = read_kind(engine, "risk").loc[[ids["C"]]].reset_index(names="subject_id")
    row["own_signal"] = 0.0
    write_delta(engine, pointer.set_id, {"risk": row}, {"test": "restore"})
    assert_equals_full_recompute(engine, CONFIG, threshold)


def test_concurrent_updates_each_land_and_add_up(engine: Engine) -> None:
    ids = _chain(engine)
    threshold = publish_set(engine, CONFIG)
    results: list[Any] = []
    errors: list[BaseException] = []

    def post(n: int, subject: str) -> None:
        try:
            rows = [
                record(
                    f"C-{n}",
                    subject,
                    "administrative_penalty",
                    "2026-06-2" + str(n),
                    severity="serious",
                )
            ]
            results.append(apply(engine, "records", rows))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [
        threading.Thread(target=post, args=(n, subject))
        for n, subject in enumerate([ids["A"], ids["B"], ids["C"], ids["A"]])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    seqs = sorted(r.seq for r in results)
    assert seqs == sorted(set(seqs)) and seqs[-1] == len(
        [r for r in results if not r.events.empty or r.seq]
    )
    pointer = current(engine)
    assert pointer is not None and pointer.seq == seqs[-1]
    assert_equals_full_recompute(engine, CONFIG, threshold)


# --------------------------------------------------------------------------- the region


def test_the_region_walks_present_and_begun_roles_apart(engine: Engine) -> None:
    a, b, c, d = code(1), code(2), code(3), code(4)
    ingest_county(
        engine,
        {
            "enterprises": [enterprise(n) for n in (1, 2, 3, 4)],
            "persons": [person("P"), person("Q")],
            "roles": [
                role(a, "P", "legal_rep"),
                role(b, "P", "legal_rep", end="2020-01-01"),  # ended: a begun edge only
                role(b, "Q", "legal_rep"),
                role(c, "Q", "legal_rep"),
                role(d, "Q", "legal_rep", start="2026-08-01"),  # begins after the date
            ],
            "records": [record("R-1", c, "administrative_penalty", "2026-01-01")],
        },
    )
    region = load_region(engine, [a], AS_OF, present_radius=3, begun_radius=2)
    assert dict(region.present) == {a: 0, "P": 1}
    assert dict(region.begun) == {a: 0, "P": 1, b: 2}
    region = load_region(engine, [a], AS_OF, present_radius=0, begun_radius=4)
    assert dict(region.begun) == {a: 0, "P": 1, b: 2, "Q": 3, c: 4}
    assert region.inputs.records["record_id"].tolist() == ["R-1"]
    assert d not in set(region.inputs.roles["uscc"])
    assert region.within(2, begun=True) == {a, "P", b}


def test_the_group_walk_follows_the_models_group_rule(engine: Engine) -> None:
    # P is A's legal rep and holds 10 % of B: no group under the control rule, one group
    # under the rule before issue 15 (what a PD trained before it is fed live, as in batch).
    a, b = code(1), code(2)
    ingest_county(
        engine,
        {
            "enterprises": [enterprise(1), enterprise(2)],
            "persons": [person("P")],
            "roles": [role(a, "P", "legal_rep"), role(b, "P", "shareholder", share=0.1)],
        },
    )
    control = load_groups(engine, [a], AS_OF, limit=10)
    assert control.enterprises == {a} and control.complete == {a}
    shared = load_groups(engine, [a], AS_OF, limit=10, control_only=False)
    assert shared.enterprises == {a, b} and shared.complete == {a}
    with pytest.raises(TypeError, match="control_only must be a bool; got str"):
        load_groups(engine, [a], AS_OF, limit=10, control_only="no")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- random graphs


def _stored_row(engine: Engine, table: str, key: str, value: str, pick: int) -> dict[str, Any]:
    frame = read_table(engine, table)
    frame = frame[frame[key] == value] if value else frame
    row = frame.iloc[pick % len(frame)].to_dict()
    out = {}
    for name, cell in row.items():
        if isinstance(cell, pd.Timestamp):
            out[name] = None if pd.isna(cell) else cell.date().isoformat()
        elif isinstance(cell, float) and np.isnan(cell):
            out[name] = None
        else:
            out[name] = cell
    return out


def _random_change(
    engine: Engine, rng: np.random.Generator, n: int
) -> tuple[str, list[dict[str, Any]]]:
    ents = read_table(engine, "enterprises")["uscc"].tolist()
    people = read_table(engine, "persons")["person_id"].tolist()
    day = (AS_OF - timedelta(days=int(rng.integers(0, 700)))).isoformat()
    choice = int(rng.integers(0, 6))
    if choice == 0:  # a new record on an enterprise
        kind = str(
            rng.choice(
                [
                    "administrative_penalty",
                    "serious_dishonesty_list",
                    "tax_violation",
                    "commitment_breach",
                ]
            )
        )
        return "records", [
            record(
                f"N{n}",
                str(rng.choice(ents)),
                kind,
                day,
                severity=str(rng.choice(["minor", "general", "serious"])),
            )
        ]
    if choice == 1:  # 失信被执行人 of a person
        return "records", [
            record(
                f"N{n}",
                str(rng.choice(people)),
                "dishonest_debtor",
                day,
                severity="serious",
                domain="court",
                subject_type="person",
            )
        ]
    if choice == 2:  # a new role
        target = str(rng.choice(ents))
        if rng.random() < 0.5:
            holder = str(rng.choice(ents))
            kind = "shareholder"
            return "roles", [
                role(target, holder, kind, day, holder_type="enterprise", share=0.5)
            ] if holder != target else [role(target, str(rng.choice(people)), "legal_rep", day)]
        kind = str(rng.choice(["legal_rep", "shareholder", "executive"]))
        share = 0.4 if kind == "shareholder" else None
        return "roles", [role(target, str(rng.choice(people)), kind, day, share=share)]
    if choice == 3:  # a role ends
        row = _stored_row(engine, "roles", "", "", int(rng.integers(0, 10_000)))
        begun = date.fromisoformat(row["start"])
        row["end"] = max(date.fromisoformat(day), begun + timedelta(days=1)).isoformat()
        return "roles", [row]
    if choice == 4:  # a record is repaired
        row = _stored_row(engine, "records", "", "", int(rng.integers(0, 10_000)))
        row["repaired"] = max(day, row["decided"])
        return "records", [row]
    # a new enterprise under an existing holder
    fresh = enterprise(9000 + n, founded=day)
    return "enterprises", [fresh]


@pytest.mark.parametrize("seed", range(6))
def test_random_small_graphs_equal_a_full_recompute(engine: Engine, seed: int) -> None:
    ingest_county(engine, random_county(seed))
    threshold = publish_set(engine, CONFIG)
    rng = np.random.default_rng(1000 + seed)
    for n in range(6):
        table, rows = _random_change(engine, rng, n)
        before = current_rows(engine)
        result = apply(engine, table, rows)
        assert result.summary.status == "ok" and result.summary.quarantined == 0, (table, rows)
        assert event_set(result.events) == expected_events(before, current_rows(engine))
        assert_equals_full_recompute(engine, CONFIG, threshold)


# --------------------------------------------------------------------------- the county


@pytest.fixture(scope="module")
def county_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    county = generate_county(SynthConfig(enterprises=1500, seed=11, id_salt=b"1" * 16))
    directory = tmp_path_factory.mktemp("county")
    write_county(county, directory)
    return directory


def test_the_county_after_three_live_updates_equals_a_full_recompute(
    engine: Engine, county_files: Path
) -> None:
    ingest_paths(engine, [county_files], id_salt=b"1" * 16)
    threshold = publish_set(engine, CONFIG)
    roles = read_table(engine, "roles")
    t = pd.Timestamp(AS_OF)
    present = roles[(roles["start"] <= t) & (roles["end"].isna() | (roles["end"] > t))]

    # 1. A penalty on an enterprise with linked parties (the one with most present roles).
    busiest = present.groupby("uscc").size().sort_values(kind="stable").index[-1]
    # 2. 失信被执行人 of a person who is the legal rep of the most enterprises.
    reps = present[(present["role"] == "legal_rep") & (present["holder_type"] == "person")]
    rep = reps.groupby("holder_id").size().sort_values(kind="stable").index[-1]
    # 3. A new shareholder: the enterprise with most records takes 45 % of a quiet one.
    records = read_table(engine, "records")
    worst = records[records["subject_type"] == "enterprise"].groupby("subject_id").size()
    worst_id = worst.sort_values(kind="stable").index[-1]
    quiet = sorted(set(present["uscc"]) - set(records["subject_id"]))[0]
    penalty = record(
        "皖来市监罚〔2026〕88号",
        busiest,
        "administrative_penalty",
        "2026-06-01",
        severity="serious",
    )
    listing = record(
        "(2026)皖1122执88号",
        rep,
        "dishonest_debtor",
        "2026-05-20",
        severity="serious",
        domain="court",
        subject_type="person",
    )
    holding = role(
        quiet, worst_id, "shareholder", "2026-03-01", holder_type="enterprise", share=0.45
    )
    updates = [("records", [penalty]), ("records", [listing]), ("roles", [holding])]
    seq = 0
    for table, rows in updates:
        before = current_rows(engine)
        result = apply(engine, table, rows, cause={"test": table})
        assert result.summary.inserted == 1
        if not result.events.empty:
            seq += 1
        assert result.seq == seq
        assert event_set(result.events) == expected_events(before, current_rows(engine))
        logged = events_after(engine)
        logged = logged[logged["seq"] == result.seq] if not result.events.empty else logged.iloc[:0]
        assert len(logged) == len(result.events)
        assert all(
            c["ingest_batch"] == result.summary.batch_id and c["test"] == table
            for c in logged["cause"]
        )
        assert_equals_full_recompute(engine, CONFIG, threshold)
    pointer = current(engine)
    assert pointer is not None and get_set(engine, pointer.set_id).seq == seq >= 2
