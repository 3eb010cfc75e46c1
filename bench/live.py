"""Latency of a live update: one record through :func:`risk.live.apply_records` on a county.

Builds (or reuses, with ``--work-dir``) a synthetic county in a SQLite store (or PostgreSQL
with ``--database-url``), publishes a full score set as of the county's end date, then posts
``--records`` single records one after the other — in turn a serious 行政处罚 on an enterprise
with linked parties, a 失信被执行人 listing of a person who is a legal representative, and a
new shareholder role — and prints, per step and in total, p50 / p99 / max of the wall time,
with the rows recomputed and the events written. ``visible`` is the time from the record's
ingest commit to the delta's commit (when answers reflect it); ``total`` adds the ingest.

    PYTHONPATH=. .venv/bin/python bench/live.py [--enterprises 100000] [--records 20]
        [--work-dir DIR] [--database-url URL] [--check]

``--check`` ends with a full recompute of the same date and frozen threshold, and compares
every kind of the current set with it (minutes at 10⁶ enterprises).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from measure import measure, peak_rss_mb

from risk.batch import run_risk_batch
from risk.config import RiskConfig
from risk.ingest import ingest_paths
from risk.live import LiveResult, apply_records
from risk.scoresets import begin_set, current, get_set, publish, read_kind, write_kind
from risk.store import migrate, open_engine, read_table
from risk.synth import SynthConfig, generate_county, write_county

SALT = b"bench-live-salt-0123456789"


def _build(work: Path, enterprises: int, seed: int, url: str | None) -> tuple[Any, date]:
    """The county's store with a published set (reused when it exists)."""
    work.mkdir(parents=True, exist_ok=True)
    url = url or f"sqlite:///{work / 'store.db'}"
    engine = open_engine(url)
    config = RiskConfig()
    end = SynthConfig().end
    if _migrated(engine) and current(engine) is not None:
        print(f"reusing {url}")
        return engine, end
    migrate(engine)
    files = work / "county"
    started = time.perf_counter()
    county = generate_county(SynthConfig(enterprises=enterprises, seed=seed, id_salt=SALT))
    write_county(county, files)
    print(f"{enterprises:,} enterprises generated in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    summary = ingest_paths(engine, [files], id_salt=SALT)
    print(f"ingested {summary.total('read'):,} rows in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    batch = run_risk_batch(engine, end, config)
    set_id = begin_set(
        engine,
        end,
        config_digest=config.digest(),
        config={**config.flat_params(), "linked_threshold_value": batch.linked_threshold},
    )
    for kind, frame in batch.frames(engine).items():
        write_kind(engine, set_id, kind, frame)
    publish(engine, set_id)
    print(f"score set {set_id} published in {time.perf_counter() - started:.0f} s")
    return engine, end


def _migrated(engine: Any) -> bool:
    from sqlalchemy import inspect

    return inspect(engine).has_table("score_pointer")


def live_updates(
    engine: Any, end: date, n: int, seed: int
) -> list[tuple[str, str, dict[str, Any]]]:
    """``n`` single-record updates, three kinds in turn, on enterprises and persons with links."""
    rng = np.random.default_rng(seed)
    roles = read_table(engine, "roles")
    t = pd.Timestamp(end)
    present = roles[(roles["start"] <= t) & (roles["end"].isna() | (roles["end"] > t))]
    linked = present.groupby("uscc").size()
    linked = linked[linked >= 2].index.to_numpy(dtype=object)
    reps = present[(present["role"] == "legal_rep") & (present["holder_type"] == "person")]
    people = reps["holder_id"].unique()
    day = (end - timedelta(days=10)).isoformat()
    out = []
    for i in range(n):
        what = ("penalty", "dishonest person", "new shareholder")[i % 3]
        if what == "penalty":
            row = {
                "record_id": f"BENCH-P-{seed}-{i}",
                "subject_type": "enterprise",
                "subject_id": str(rng.choice(linked)),
                "kind": "administrative_penalty",
                "domain": "market_regulation",
                "severity": "serious",
                "authority": "清源县市场监督管理局",
                "decided": day,
            }
            out.append((what, "records", row))
        elif what == "dishonest person":
            row = {
                "record_id": f"BENCH-D-{seed}-{i}",
                "subject_type": "person",
                "subject_id": str(rng.choice(people)),
                "kind": "dishonest_debtor",
                "domain": "court",
                "severity": "serious",
                "authority": "清源县人民法院",
                "decided": day,
            }
            out.append((what, "records", row))
        else:
            target, holder = rng.choice(linked, 2, replace=False)
            row = {
                "uscc": str(target),
                "holder_type": "enterprise",
                "holder_id": str(holder),
                "role": "shareholder",
                "share": 0.3,
                "start": day,
                "end": None,
            }
            out.append((what, "roles", row))
    return out


def _hub(engine: Any, end: date) -> tuple[str, int]:
    """The person holding the most roles present on ``end`` (the widest neighbourhood)."""
    roles = read_table(engine, "roles")
    t = pd.Timestamp(end)
    present = roles[(roles["start"] <= t) & (roles["end"].isna() | (roles["end"] > t))]
    people = present[present["holder_type"] == "person"].groupby("holder_id").size()
    top = people.sort_values(kind="stable").index[-1]
    return str(top), int(people[top])


def _same(a: Any, b: Any) -> bool:
    missing = [v is None or (isinstance(v, float) and np.isnan(v)) for v in (a, b)]
    return all(missing) if any(missing) else bool(a == b)


def _quantiles(values: list[float]) -> str:
    a = np.asarray(values) * 1000
    return f"{np.percentile(a, 50):8.0f} {np.percentile(a, 99):8.0f} {a.max():8.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    work = args.work_dir or Path(f"/tmp/credlink-bench-live-{args.enterprises}")
    engine, end = _build(work, args.enterprises, args.seed, args.database_url)
    config = RiskConfig()
    updates = live_updates(engine, end, args.records, args.seed + int(time.time()) % 1000)
    results: list[tuple[str, LiveResult, float, float]] = []
    for what, table, row in updates:
        result, seconds, peak = measure(
            lambda t=table, r=row: apply_records(engine, t, [r], config, id_salt=SALT)
        )
        results.append((what, result, seconds, peak))
        assert result.summary.inserted == 1, result.summary

    print()
    print(f"{args.enterprises:,} enterprises, {engine.dialect.name}, {len(results)} records")
    print(f"{'step':<16} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    steps = ["check", "ingest", "region", "recompute", "warnings", "write"]
    for step in steps:
        values = [r.seconds.get(step, 0.0) for _, r, _, _ in results]
        print(f"{step:<16} {_quantiles(values)}")
    visible = [s - r.seconds["check"] - r.seconds["ingest"] for _, r, s, _ in results]
    print(f"{'visible':<16} {_quantiles(visible)}")
    print(f"{'total':<16} {_quantiles([s for _, _, s, _ in results])}")
    print()
    print(f"{'update':<18} {'ms':>7} {'risk':>6} {'grades':>6} {'events':>6} {'peak MB':>8}")
    for what, result, seconds, peak in results:
        rec = result.recomputed
        print(
            f"{what:<18} {seconds * 1000:7.0f} {rec.get('risk', 0):6d} {rec.get('grades', 0):6d} "
            f"{len(result.events):6d} {peak:8.0f}"
        )
    hub, degree = _hub(engine, end)
    row = {
        "record_id": f"BENCH-HUB-{int(time.time())}",
        "subject_type": "person",
        "subject_id": hub,
        "kind": "dishonest_debtor",
        "domain": "court",
        "severity": "serious",
        "authority": "清源县人民法院",
        "decided": (end - timedelta(days=10)).isoformat(),
    }
    result, seconds, _ = measure(
        lambda: apply_records(engine, "records", [row], config, id_salt=SALT)
    )
    rec = result.recomputed
    print(
        f"worst case: 失信被执行人 of the person with most present roles ({degree}): "
        f"{seconds * 1000:.0f} ms, {rec.get('risk', 0):,} risk and {rec.get('grades', 0):,} "
        f"grade rows recomputed, {len(result.events)} events; steps "
        + ", ".join(f"{k} {v * 1000:.0f}" for k, v in result.seconds.items())
    )
    pointer = current(engine)
    assert pointer is not None
    print(f"current set {pointer.set_id}, seq {pointer.seq}; peak RSS {peak_rss_mb():.0f} MB")
    if args.check:
        started = time.perf_counter()
        threshold = float(get_set(engine, pointer.set_id).config["linked_threshold_value"])
        full = run_risk_batch(engine, end, config, linked_threshold=threshold)
        assert (full.warnings.created, full.warnings.updated, full.warnings.reopened) == (0, 0, 0)
        for kind, frame in full.frames(engine).items():
            stored = read_kind(engine, kind)
            expected = frame.set_index("subject_id")
            assert set(stored.index) == set(expected.index), kind
            for column in expected.columns:
                a = expected[column].to_numpy(dtype=object)
                b = stored.loc[expected.index, column].to_numpy(dtype=object)
                if expected[column].dtype.kind == "f":
                    np.testing.assert_allclose(
                        a.astype(float), b.astype(float), rtol=1e-9, atol=1e-12
                    )
                else:
                    assert all(_same(x, y) for x, y in zip(a, b, strict=True)), (kind, column)
        print(f"equal to a full recompute ({time.perf_counter() - started:.0f} s to check)")


if __name__ == "__main__":
    sys.exit(main())
