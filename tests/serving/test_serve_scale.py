"""A worker's memory and start time do not grow with the county (DESIGN.md §6, §8).

A real worker (``credlink serve``, one uvicorn process) serves two counties ten times apart —
1,000 and 10,000 enterprises, each with its score set (the pipeline without models) — and its
resident memory is measured once it is ready and again after the same mix of requests on
each: the two stay within 20 % of each other, because start-up reads a pointer and each
answer reads rows by key and the enterprise's neighbourhood, never the county.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from risk.scoresets import read_kind
from serving.roles import KeyRole
from tests.serving.conftest import ApiCounty, build_county, copy_county, server_process

pytestmark = pytest.mark.slow

LARGE = 10_000
TOLERANCE = 0.20
REQUESTS = 40  # enterprises asked about, each on three routes


def _rss_kib(pid: int) -> int:
    """Resident set size of a process (``VmRSS`` of ``/proc/<pid>/status``), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


@pytest.fixture(scope="module")
def counties(
    tmp_path_factory: pytest.TempPathFactory, api_template: Path
) -> Iterator[dict[str, ApiCounty]]:
    small = copy_county(api_template, tmp_path_factory.mktemp("scale-small"))
    large = build_county(tmp_path_factory.mktemp("scale-large"), n_enterprises=LARGE)
    yield {"small": small, "large": large}
    small.engine.dispose()
    large.engine.dispose()


def _asked(county: ApiCounty) -> list[str]:
    """The enterprises with the highest linked risk, then others in USCC order."""
    grades = read_kind(county.engine, "grades")
    risk = read_kind(county.engine, "risk").loc[grades.index]
    top = risk.sort_values("linked_risk", ascending=False).index[: REQUESTS // 2]
    rest = [u for u in sorted(grades.index) if u not in set(top)]
    return [str(u) for u in [*top, *rest[: REQUESTS - len(top)]]]


def _serve_and_measure(county: ApiCounty, log_path: Path) -> dict[str, float]:
    started = time.monotonic()
    with server_process(county, log_path, workers=1) as (base, process):
        ready_seconds = time.monotonic() - started
        ready_kib = _rss_kib(process.pid)
        bank = county.headers(KeyRole.bank)
        office = county.headers(KeyRole.credit_office)
        with httpx.Client(base_url=base, timeout=60) as http:
            for uscc in _asked(county):
                for path, headers in (
                    (f"/v1/entities/{uscc}/risk", office),
                    (f"/v1/entities/{uscc}/risk", bank),
                    (f"/v1/entities/{uscc}/network?depth=2", office),
                ):
                    response = http.get(path, headers=headers)
                    assert response.status_code == 200, response.text
            assert http.get("/readyz").status_code == 200
        served_kib = _rss_kib(process.pid)
    return {"ready_seconds": ready_seconds, "ready_kib": ready_kib, "served_kib": served_kib}


def test_worker_memory_does_not_grow_with_the_county(
    counties: dict[str, ApiCounty],
    tmp_path: Path,
    record_property: pytest.RecordProperty,
) -> None:
    figures = {
        name: _serve_and_measure(county, tmp_path / f"{name}.log")
        for name, county in counties.items()
    }
    for name, values in figures.items():
        record_property(name, values)
        ready, served = values["ready_kib"] / 1024, values["served_kib"] / 1024
        print(
            f"{name}: ready in {values['ready_seconds']:.1f} s, RSS {ready:.0f} MiB when ready, "
            f"{served:.0f} MiB after {3 * REQUESTS} requests"
        )
    small, large = figures["small"], figures["large"]
    for key in ("ready_kib", "served_kib"):
        assert large[key] <= (1 + TOLERANCE) * small[key], figures
        assert small[key] <= (1 + TOLERANCE) * large[key], figures
