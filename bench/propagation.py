"""Linked-risk propagation at county and province scale: credlink vs a bare kernel vs networkx.

For each size (number of enterprises) the script draws a random province-like graph directly
as arrays (no store): persons = 0.8 × enterprises with heavy-tailed (Pareto) activity, about
3.5 edges per enterprise (one legal rep; ~1.5 shareholders, half of them the legal rep again,
so the pair has two edges; ~0.9 executives; 5% branches), shares missing on 5% of
shareholder edges, and own signals on 3% of enterprises and 1% of persons. Then, on that
graph:

(a) credlink: ``RiskPropagator(config).fit(snapshot).score_signal(s)`` — from the snapshot's
    arrays to scores: building P (weights per role and direction, max over a pair's edges)
    and the K = 3 sparse products. Also split into fit and propagate.
(b) bare kernel: the same K iterations ``v ← αPv, r += v`` with scipy's CSR product on the
    same matrix P, and nothing else.
(c) networkx: ``nx.DiGraph`` with the same weighted edges, then ``nx.pagerank`` with the
    signals as personalization, ``alpha = α``, ``tol=1e-10``, ``max_iter=1000``. networkx's
    default ``tol=1e-6`` is compared against ``N · tol`` and stops after about one iteration
    at province size, doing less than K iterations of work; ``tol=1e-10`` makes it iterate to
    convergence (~30 iterations at α = 0.5), what a networkx user gets for a converged
    personalized PageRank. Building the DiGraph dominates its time either way.
(d) incremental: ``propagator.update(scores, {uscc: s + 0.8})`` — one new 失信被执行人 record
    at one random enterprise, the whole K-hop recompute included; median and maximum over
    25 enterprises (after one warm-up lookup that builds the id hash table).

Each step runs in a fresh Python process that loads the arrays and builds the snapshot
(``GraphSnapshot.from_arrays``, timed and reported with its own peak RSS, not part of (a)).
The kernel's peak-RSS mark is then reset (``/proc/self/clear_refs``), so a step's peak RSS
covers holding the graph plus everything the step allocates, and not the random generator
or the snapshot build. (a) and (b) are timed alternately in the credlink process, so that
their ratio does not depend on what else the machine does at either moment; (b)'s peak RSS
comes from a process of its own. Times are the best of ``--repeats`` runs.

    PYTHONPATH=. .venv/bin/python bench/propagation.py [--sizes 100000 1000000] [--seed 0]
        [--skip-networkx-above 1000000] [--repeats 3]

networkx runs only for sizes below ``--skip-networkx-above`` (default 1,000,000, so at 100k
only: at 1M its DiGraph needs several GB and minutes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from measure import peak_rss_mb, reset_peak_rss, rss_mb  # bench/measure.py

from risk.contract import Role
from risk.graph import ROLE_CODES, GraphSnapshot
from risk.propagation import PropagationConfig, RiskPropagator

LEGAL_REP, SHAREHOLDER, EXECUTIVE, BRANCH_OF = (
    ROLE_CODES.index(r) for r in (Role.legal_rep, Role.shareholder, Role.executive, Role.branch_of)
)
STEPS = ("credlink", "bare", "incremental", "networkx")


def draw_province(n_ent: int, seed: int) -> dict[str, np.ndarray]:
    """Edge and signal arrays of a random province-like graph (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n_per = int(0.8 * n_ent)
    # Heavy-tailed person activity: Pareto weights, capped (nominee reps hold hundreds).
    activity = np.minimum(rng.pareto(1.3, n_per) + 1.0, 2_000.0)
    activity /= activity.sum()

    def persons(size: int) -> np.ndarray:
        return n_ent + rng.choice(n_per, size=size, p=activity)

    ent = np.arange(n_ent)
    legal_rep = persons(n_ent)
    also = ent[rng.random(n_ent) < 0.5]  # legal reps that are also shareholders
    n_more = n_ent
    corporate = rng.random(n_more) < 0.15
    more_holders = np.where(corporate, rng.integers(0, n_ent, n_more), persons(n_more))
    n_exec = int(0.95 * n_ent)
    branches = ent[rng.random(n_ent) < 0.05]
    holder = np.concatenate(
        [
            legal_rep,
            legal_rep[also],
            more_holders,
            persons(n_exec),
            rng.integers(0, n_ent, branches.size),
        ]
    )
    target = np.concatenate(
        [ent, also, rng.integers(0, n_ent, n_more), rng.integers(0, n_ent, n_exec), branches]
    )
    role = np.concatenate(
        [
            np.full(n_ent, LEGAL_REP),
            np.full(also.size + n_more, SHAREHOLDER),
            np.full(n_exec, EXECUTIVE),
            np.full(branches.size, BRANCH_OF),
        ]
    ).astype(np.int8)
    share = np.full(holder.size, np.nan)
    held = role == SHAREHOLDER
    share[held] = rng.uniform(0.05, 0.9, int(held.sum())).round(3)
    share[held & (rng.random(holder.size) < 0.05)] = np.nan
    n = n_ent + n_per
    signal = np.zeros(n)
    flagged = np.concatenate(
        [
            np.flatnonzero(rng.random(n_ent) < 0.03),
            n_ent + np.flatnonzero(rng.random(n_per) < 0.01),
        ]
    )
    signal[flagged] = rng.gamma(2.0, 0.4, flagged.size)
    return {
        "counts": np.array([n_ent, n_per]),
        "holder": holder.astype(np.int32),
        "target": target.astype(np.int32),
        "role": role,
        "share": share,
        "signal": signal,
    }


def load_snapshot(path: Path) -> tuple[GraphSnapshot, np.ndarray]:
    arrays = np.load(path)
    n_ent, n_per = (int(c) for c in arrays["counts"])
    # Ids as Arrow strings (E0…, P0…), built without a Python object per id.
    parts = [
        pc.binary_join_element_wise(
            pa.scalar(prefix), pc.cast(pa.array(np.arange(count)), pa.string()), ""
        )
        for prefix, count in (("E", n_ent), ("P", n_per))
    ]
    node_ids = pd.Index(
        pd.array(pa.concat_arrays(parts), dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    )
    snapshot = GraphSnapshot.from_arrays(
        node_ids,
        np.arange(n_ent + n_per) >= n_ent,
        arrays["holder"],
        arrays["target"],
        arrays["role"],
        arrays["share"],
        as_of="2025-06-30",
    )
    return snapshot, np.array(arrays["signal"])


def best_of(repeats: int, run: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def bare_kernel(matrix: Any, signal: np.ndarray, config: PropagationConfig) -> Callable[[], Any]:
    """(b): K products v ← αPv, r += v with scipy's CSR product, and nothing else."""

    def kernel() -> np.ndarray:
        walk, linked = signal, np.zeros_like(signal)
        for _ in range(config.hops):
            walk = matrix @ walk
            walk *= config.alpha
            linked += walk
        return linked

    return kernel


def worker(step: str, path: Path, repeats: int) -> dict[str, Any]:
    """One step in this (fresh) process; returns its timings and peak RSS."""
    config = PropagationConfig()
    started = time.perf_counter()
    snapshot, signal = load_snapshot(path)
    out: dict[str, Any] = {
        "snapshot_s": time.perf_counter() - started,
        "nodes": snapshot.n_nodes,
        "edges": snapshot.n_edges,
        "snapshot_peak_mb": peak_rss_mb(),
        "rss_with_graph_mb": rss_mb(),
    }
    reset_peak_rss()  # from here on, the peak of this step (graph held) alone
    if step == "credlink":

        def credlink() -> Any:
            return RiskPropagator(config).fit(snapshot).score_signal(signal)

        _, scores = best_of(repeats, credlink)
        out["fit_s"], propagator = best_of(repeats, lambda: RiskPropagator(config).fit(snapshot))
        out["propagate_s"], _ = best_of(repeats, lambda: propagator.score_signal(signal))
        out["nnz"] = int(propagator.transmission_.nnz)
        out["checksum"] = float(scores.linked_risk.sum())
        out["step_peak_mb"] = peak_rss_mb()  # before the extra matrix of the ratio timing
        # For the ratio, (a) and (b) alternate in this one process, so that it does not
        # depend on what else the machine is doing at either moment.
        kernel = bare_kernel(propagator.transmission_, signal, config)
        full, bare = [], []
        for _ in range(repeats):
            full.append(best_of(1, credlink)[0])
            bare.append(best_of(1, kernel)[0])
        out["full_s"], out["bare_s"] = min(full), min(bare)
    elif step == "bare":
        kernel = bare_kernel(RiskPropagator(config).fit(snapshot).transmission_, signal, config)
        out["full_s"], linked = best_of(repeats, kernel)
        out["checksum"] = float(linked.sum())
    elif step == "incremental":
        propagator = RiskPropagator(config).fit(snapshot)
        scores = propagator.score_signal(signal)
        rng = np.random.default_rng(1)
        enterprises = np.flatnonzero(~snapshot.is_person)
        snapshot.index_of(str(snapshot.node_ids[0]))  # warm-up: builds the id hash table
        times, balls = [], []
        for node in rng.choice(enterprises, 25, replace=False):
            changed = {str(snapshot.node_ids[node]): float(scores.own_signal[node]) + 0.8}
            started = time.perf_counter()
            updated = propagator.update(scores, changed)
            times.append(time.perf_counter() - started)
            balls.append(snapshot.neighborhood([node], config.hops)[0].size)
        new_signal = scores.own_signal.copy()
        new_signal[node] += 0.8
        full = propagator.score_signal(new_signal)
        out.update(
            median_ms=1e3 * statistics.median(times),
            max_ms=1e3 * max(times),
            median_ball=int(statistics.median(balls)),
            max_ball=int(max(balls)),
            max_abs_diff=float(np.abs(updated.linked_risk - full.linked_risk).max()),
        )
    elif step == "networkx":
        import networkx as nx

        matrix = RiskPropagator(config).fit(snapshot).transmission_.tocoo()
        ids = snapshot.node_ids.to_numpy(dtype=object)
        personalization = {ids[i]: float(signal[i]) for i in np.flatnonzero(signal)}
        started = time.perf_counter()
        graph = nx.DiGraph()
        graph.add_nodes_from(ids.tolist())
        # Edge j → i carries P[i, j], the influence of j on i.
        graph.add_weighted_edges_from(
            zip(
                ids[matrix.col].tolist(),
                ids[matrix.row].tolist(),
                matrix.data.tolist(),
                strict=True,
            )
        )
        out["build_s"] = time.perf_counter() - started
        started = time.perf_counter()
        nx.pagerank(
            graph, alpha=config.alpha, personalization=personalization, tol=1e-10, max_iter=1000
        )
        out["rank_s"] = time.perf_counter() - started
        out["full_s"] = out["build_s"] + out["rank_s"]
    else:
        raise ValueError(f"step must be one of {', '.join(STEPS)}; got {step!r}")
    out["peak_rss_mb"] = out.pop("step_peak_mb", None) or peak_rss_mb()
    return out


def run_step(step: str, path: Path, repeats: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", step, "--data", str(path)]
    command += ["--repeats", str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"step {step} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(rows: list[dict[str, Any]]) -> None:
    config = PropagationConfig()
    print(
        f"K = {config.hops} hops, α = {config.alpha}, float64; best of the repeats; a step's peak "
        "RSS includes the snapshot it holds"
    )
    print()
    header = f"{'enterprises':>12}  {'step':<40}{'seconds':>10}{'peak RSS MB':>13}"
    print(header)
    print("-" * len(header))
    for row in rows:
        cred, bare, inc = row["credlink"], row["bare"], row["incremental"]
        lines: list[tuple[str, float | None, float | None]] = [
            (
                f"graph: {cred['nodes']:,} nodes, {cred['edges']:,} edges, nnz(P) {cred['nnz']:,}",
                None,
                None,
            ),
            (
                "snapshot from arrays (CSR build, not in a)",
                cred["snapshot_s"],
                cred["snapshot_peak_mb"],
            ),
            ("  RSS holding the snapshot", None, cred["rss_with_graph_mb"]),
            ("(a) credlink fit + propagate", cred["full_s"], cred["peak_rss_mb"]),
            ("      fit (build P)", cred["fit_s"], None),
            ("      propagate (K products)", cred["propagate_s"], None),
            ("(b) bare scipy CSR kernel, K products", cred["bare_s"], bare["peak_rss_mb"]),
        ]
        if "networkx" in row:
            nxr = row["networkx"]
            lines += [
                ("(c) networkx DiGraph + pagerank", nxr["full_s"], nxr["peak_rss_mb"]),
                ("      DiGraph build", nxr["build_s"], None),
                ("      pagerank (tol=1e-10)", nxr["rank_s"], None),
            ]
        else:
            lines.append(("(c) networkx: skipped (--skip-networkx-above)", None, None))
        lines.append(
            ("(d) incremental update, median of 25", inc["median_ms"] / 1e3, inc["peak_rss_mb"])
        )
        for i, (label, seconds, peak) in enumerate(lines):
            lead = f"{row['size']:>12,}" if i == 0 else " " * 12
            sec = f"{seconds:>10.4f}" if seconds is not None else " " * 10
            mb = f"{peak:>13,.0f}" if peak is not None else ""
            print(f"{lead}  {label:<40}{sec}{mb}")
        print()

    print("ratios and targets")
    for row in rows:
        cred, bare, inc = row["credlink"], row["bare"], row["incremental"]
        size = f"{row['size']:,}"
        print(
            f"{size:>12}  credlink/bare {cred['full_s'] / cred['bare_s']:.2f} (fit + propagate), "
            f"{cred['propagate_s'] / cred['bare_s']:.2f} (propagate only); target ≤ 1.5"
        )
        if "networkx" in row:
            ratio = row["networkx"]["full_s"] / cred["full_s"]
            print(f"{'':>12}  networkx/credlink {ratio:,.0f}; target ≥ 20")
        print(
            f"{'':>12}  incremental: median {inc['median_ms']:.1f} ms, max {inc['max_ms']:.1f} ms "
            f"(K-hop ball median {inc['median_ball']:,}, max {inc['max_ball']:,} nodes); "
            "target ≤ 50 ms at 1M"
        )
        print(f"{'':>12}  peak RSS credlink {cred['peak_rss_mb']:,.0f} MB; target ≤ 1024 MB at 1M")
        print(
            f"{'':>12}  checks: Σ linked credlink − bare "
            f"{cred['checksum'] - bare['checksum']:.1e}, "
            f"max |update − full recompute| {inc['max_abs_diff']:.1e}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--skip-networkx-above",
        type=int,
        default=1_000_000,
        help="run networkx only for sizes below N (default 1,000,000: at 100k only)",
    )
    parser.add_argument("--worker", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(worker(args.worker, args.data, args.repeats)))
        return

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"province-{size}.npz"
            np.savez(path, **draw_province(size, args.seed))
            row: dict[str, Any] = {"size": size}
            steps = ["credlink", "bare", "incremental"]
            if size < args.skip_networkx_above:
                steps.append("networkx")
            for step in steps:
                row[step] = run_step(step, path, args.repeats)
            rows.append(row)
    report(rows)


if __name__ == "__main__":
    main()
