"""Score sets on SQLite and PostgreSQL: write, publish, pointer, deltas, events, diff, prune."""

from __future__ import annotations

import threading
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from risk.scoresets import (
    KINDS,
    ConcurrentDeltaError,
    ScoreSetError,
    StaleScoreSetError,
    annotate,
    begin_set,
    current,
    diff_sets,
    discard,
    events_after,
    get_set,
    list_sets,
    lookup,
    lookup_many,
    publish,
    read_kind,
    write_delta,
    write_kind,
)
from risk.store import score_tables

A, B, C = "91330100000000001A", "91330100000000002B", "91330100000000003C"


def _risk(values: dict[str, tuple[float, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "subject_id": u,
                "own_signal": o,
                "linked_risk": r,
                "linked_risk_excluding_self": r,
                "band": b,
            }
            for u, (o, r, b) in values.items()
        ]
    )


def _grades(values: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "subject_id": u,
                "grade": g,
                "reason": f"理由{g}",
                "grade_bank": g,
                "reason_bank": f"理由{g}",
                "serious_listed": g == "D",
                "warning_level": None,
            }
            for u, g in values.items()
        ]
    )


def _warnings(values: dict[str, str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "subject_id": u,
                "level": lv,
                "rules": "" if lv is None else "same_domain",
                "warning_ids": [],
            }
            for u, lv in values.items()
        ]
    )


def _set(engine: Engine, grades: dict[str, str], *, publish_it: bool = True, day: int = 1) -> int:
    set_id = begin_set(
        engine,
        date(2026, 6, day),
        config_digest="d" * 64,
        config={"alpha": 0.5},
        model_versions={"credlink-pd": "1"},
    )
    write_kind(engine, set_id, "grades", _grades(grades))
    write_kind(
        engine,
        set_id,
        "risk",
        _risk(
            {
                u: (1.0 if g != "A" else 0.0, 0.5, "high" if g in "CD" else "none")
                for u, g in grades.items()
            }
        ),
    )
    if publish_it:
        publish(engine, set_id)
    return set_id


def test_a_published_set_is_current_and_read_by_key(engine: Engine) -> None:
    assert current(engine) is None
    with pytest.raises(ScoreSetError, match="no score set has been published"):
        read_kind(engine, "grades")
    set_id = _set(engine, {A: "A", B: "C"})
    pointer = current(engine)
    assert pointer is not None and (pointer.set_id, pointer.seq) == (set_id, 0)
    described = get_set(engine, set_id)
    assert described.status == "complete" and described.counts == {"grades": 2, "risk": 2}
    assert described.model_versions == {"credlink-pd": "1"} and described.as_of == date(2026, 6, 1)
    assert lookup(engine, "grades", B, pointer) == {
        "grade": "C",
        "reason": "理由C",
        "grade_bank": "C",
        "reason_bank": "理由C",
        "serious_listed": False,
        "warning_level": None,
    }
    assert lookup(engine, "grades", C, pointer) is None
    with engine.connect() as conn:
        many = lookup_many(conn, "risk", [A, B, C], pointer)
    assert sorted(many.index) == [A, B] and many.loc[B, "band"] == "high"
    assert list(read_kind(engine, "grades")["grade"]) == ["A", "C"]


def test_a_set_being_built_is_invisible_and_a_set_is_written_once(engine: Engine) -> None:
    first = _set(engine, {A: "A"})
    building = _set(engine, {A: "D"}, publish_it=False)
    pointer = current(engine)
    assert pointer is not None and pointer.set_id == first
    assert lookup(engine, "grades", A, pointer)["grade"] == "A"  # type: ignore[index]
    publish(engine, building)
    with pytest.raises(ScoreSetError, match="complete: it cannot be written"):
        write_kind(engine, building, "grades", _grades({B: "B"}))
    with pytest.raises(ScoreSetError, match="cannot be published"):
        publish(engine, building)


def test_a_set_being_built_is_annotated_once_per_key_then_never(engine: Engine) -> None:
    building = _set(engine, {A: "A"}, publish_it=False)
    report = {"status": "watch", "features": [{"feature": "age_years", "psi": 0.12}]}
    annotated = annotate(engine, building, {"drift_report.credlink-warning": report})
    assert annotated.config["drift_report.credlink-warning"] == report
    assert get_set(engine, building).config["drift_report.credlink-warning"] == report
    with pytest.raises(ScoreSetError, match=r"already records drift_report\.credlink-warning"):
        annotate(engine, building, {"drift_report.credlink-warning": {}})
    publish(engine, building)
    with pytest.raises(ScoreSetError, match="complete: it cannot be annotated"):
        annotate(engine, building, {"drift_report.credlink-pd": {}})
    assert get_set(engine, building).config["drift_report.credlink-warning"] == report


def test_bad_rows_are_refused_whole(engine: Engine) -> None:
    set_id = begin_set(engine, date(2026, 6, 1), config_digest="d" * 64, config={})
    with pytest.raises(ScoreSetError, match="kind must be one of"):
        write_kind(engine, set_id, "ratings", _grades({A: "A"}))
    with pytest.raises(ScoreSetError, match="need columns grade_bank"):
        write_kind(engine, set_id, "grades", _grades({A: "A"}).drop(columns="grade_bank"))
    with pytest.raises(ScoreSetError, match=f"list enterprise {A} twice"):
        write_kind(engine, set_id, "grades", pd.concat([_grades({A: "A"})] * 2))
    with pytest.raises(ScoreSetError, match="does not exist"):
        get_set(engine, 999)
    with pytest.raises(ScoreSetError, match="keep must be ≥ 2"):
        publish(engine, set_id, keep=1)
    assert get_set(engine, set_id).counts == {}


def test_a_failed_build_is_discarded_and_the_current_set_stays(engine: Engine) -> None:
    good = _set(engine, {A: "A"})
    bad = _set(engine, {A: "D"}, publish_it=False)
    discard(engine, bad, "资产负债表读取失败")
    assert (
        get_set(engine, bad).status == "failed"
        and get_set(engine, bad).note == "资产负债表读取失败"
    )
    with engine.connect() as conn:
        left = conn.execute(
            select(func.count())
            .select_from(score_tables["grades"])
            .where(score_tables["grades"].c.set_id == bad)
        ).scalar_one()
    assert left == 0
    assert current(engine).set_id == good  # type: ignore[union-attr]
    with pytest.raises(ScoreSetError, match="only a set being built"):
        discard(engine, good, "no")


def test_publishing_logs_each_change_as_an_event_and_diff_names_them(engine: Engine) -> None:
    first = _set(engine, {A: "A", B: "B", C: "C"})
    second = begin_set(engine, date(2026, 7, 1), config_digest="d" * 64, config={})
    write_kind(engine, second, "grades", _grades({A: "A", B: "D"}))
    write_kind(engine, second, "risk", _risk({A: (0.0, 0.5, "none"), B: (1.0, 0.5, "high")}))
    write_kind(engine, second, "warnings", _warnings({B: "red"}))
    publish(engine, second)
    diff = diff_sets(engine, first, second)
    changes = diff.changes
    grade = changes[changes["kind"] == "grade"].set_index("subject_id")
    assert grade.loc[B, "before"] == "B" and grade.loc[B, "after"] == "D"
    assert (
        grade.loc[C, "before"] == "C" and grade.loc[C, "after"] is None
    )  # closed, not in the new set
    assert A not in grade.index
    assert list(diff.entered_watchlist()["subject_id"]) == [B]
    events = events_after(engine)
    assert set(events["subject_id"]) == {B, C}
    assert (events["set_id"] == second).all() and (events["seq"] == 0).all()
    assert events.iloc[0]["cause"] == {"score_set": second}
    assert len(events_after(engine, int(events["id"].max()))) == 0


def test_a_delta_moves_only_what_changed_and_logs_before_and_after(engine: Engine) -> None:
    set_id = _set(engine, {A: "A", B: "B"})
    seq, events = write_delta(
        engine,
        set_id,
        {
            "grades": _grades({A: "A", B: "C"}),
            "risk": _risk({A: (0.0, 0.5, "none"), B: (2.0, 0.5, "high")}),
        },
        {"batch": 7, "records": ["r-1"]},
    )
    assert seq == 1
    assert sorted(zip(events["kind"], events["before"], events["after"], strict=True)) == [
        ("grade", "B", "C"),
        ("grade_bank", "B", "C"),
        ("linked_risk_band", "none", "high"),
    ]
    pointer = current(engine)
    assert pointer is not None and pointer.seq == 1 and get_set(engine, set_id).seq == 1
    assert lookup(engine, "grades", B, pointer)["grade"] == "C"  # type: ignore[index]
    with engine.connect() as conn:
        written = conn.execute(
            select(func.count())
            .select_from(score_tables["grades"])
            .where(score_tables["grades"].c.seq == 1)
        ).scalar_one()
    assert written == 1  # A did not change: no row
    # The batch row stays: a reader still on seq 0 sees it.
    before = pointer.__class__(set_id, 0, pointer.switched_at)
    assert lookup(engine, "grades", B, before)["grade"] == "B"  # type: ignore[index]
    logged = events_after(engine)
    assert set(logged["seq"]) == {1} and logged.iloc[0]["cause"] == {"batch": 7, "records": ["r-1"]}
    # Nothing different: no new seq, no event.
    again, none = write_delta(engine, set_id, {"grades": _grades({B: "C"})}, {"batch": 8})
    assert again == 1 and none.empty


def test_a_delta_on_a_replaced_set_is_refused(engine: Engine) -> None:
    old = _set(engine, {A: "A"})
    _set(engine, {A: "B"}, day=2)
    with pytest.raises(StaleScoreSetError, match=f"score set {old} is no longer current"):
        write_delta(engine, old, {"grades": _grades({A: "D"})}, {"batch": 1})


def test_a_delta_computed_before_another_delta_is_refused(engine: Engine) -> None:
    set_id = _set(engine, {A: "A", B: "B"})
    write_delta(engine, set_id, {"grades": _grades({A: "C"})}, {"batch": 1}, expected_seq=0)
    with pytest.raises(ConcurrentDeltaError, match="moved from delta 0 to 1"):
        write_delta(engine, set_id, {"grades": _grades({B: "D"})}, {"batch": 2}, expected_seq=0)
    seq, _ = write_delta(
        engine, set_id, {"grades": _grades({B: "D"})}, {"batch": 2}, expected_seq=1
    )
    assert seq == 2


def test_only_the_newest_sets_keep_their_rows(engine: Engine) -> None:
    ids = [_set(engine, {A: g}, day=i + 1) for i, g in enumerate("ABCD")]
    statuses = [get_set(engine, i).status for i in ids]
    assert statuses == ["pruned", "complete", "complete", "complete"]
    with pytest.raises(ScoreSetError, match="pruned: its rows are gone"):
        read_kind(engine, "grades", ids[0])
    assert [s.id for s in list_sets(engine, 2)] == ids[:1:-1]
    assert list(read_kind(engine, "grades", ids[1])["grade"]) == ["B"]


def test_a_reader_during_switches_sees_one_set_never_a_mix(engine: Engine) -> None:
    """Each set gives every enterprise the same grade; a reader reads the pointer once and
    then all three enterprises: the three grades must agree while sets are published."""
    subject_ids = [A, B, C]
    _set(engine, dict.fromkeys(subject_ids, "A"))
    stop = threading.Event()
    mixes: list[set[str]] = []
    reads = [0]

    def reader() -> None:
        while not stop.is_set():
            with engine.connect() as conn:
                pointer = current(conn)
                assert pointer is not None
                grades = {lookup(conn, "grades", u, pointer)["grade"] for u in subject_ids}  # type: ignore[index]
            if len(grades) != 1:
                mixes.append(grades)
            reads[0] += 1

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for i, grade in enumerate("BCDABCDA"):
            _set(engine, dict.fromkeys(subject_ids, grade), day=i + 2)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert mixes == [] and reads[0] > 0


def test_every_kind_round_trips(engine: Engine) -> None:
    set_id = begin_set(engine, date(2026, 6, 1), config_digest="d" * 64, config={})
    frames = {
        "risk": _risk({A: (0.25, 1.5, "elevated")}),
        "grades": _grades({A: "B"}),
        "warnings": pd.DataFrame(
            [
                {
                    "subject_id": A,
                    "level": "orange",
                    "rules": "multi_domain,same_domain",
                    "warning_ids": [3, 9],
                }
            ]
        ),
        "learned": pd.DataFrame([{"subject_id": A, "probability": 0.125}]),
        "assessments": pd.DataFrame(
            [
                {
                    "subject_id": A,
                    "decision": "declined",
                    "pd": float("nan"),
                    "pd_band": None,
                    "limit_amount": None,
                    "body": {"reasons": ["失信被执行人"], "n": 1},
                }
            ]
        ),
    }
    assert set(frames) == set(KINDS)
    for kind, frame in frames.items():
        assert write_kind(engine, set_id, kind, frame) == 1
    publish(engine, set_id)
    pointer = current(engine)
    assert pointer is not None
    assert lookup(engine, "warnings", A, pointer) == {
        "level": "orange",
        "rules": "multi_domain,same_domain",
        "warning_ids": [3, 9],
    }
    assert lookup(engine, "assessments", A, pointer) == {
        "decision": "declined",
        "pd": None,
        "pd_band": None,
        "limit_amount": None,
        "body": {"reasons": ["失信被执行人"], "n": 1},
    }
    assert lookup(engine, "learned", A, pointer) == {"probability": 0.125}
