"""What every benchmark measures: a step's wall time and the peak RSS of this process.

Imported by the scripts beside it (``python bench/<script>.py`` puts ``bench/`` on the path).
Linux only: the peak is the kernel's VmHWM, reset before each step through ``clear_refs``.
"""

from __future__ import annotations

import gc
import os
import resource
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def rss_mb() -> float:
    """Current resident set size of this process (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """Peak RSS since the last :func:`reset_peak_rss` (VmHWM), else since the start."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux ≥ 4.0)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def measure(step: Callable[[], T]) -> tuple[T, float, float]:
    """Run ``step`` once: its result, seconds and peak RSS (MB) during it."""
    gc.collect()
    reset_peak_rss()
    started = time.perf_counter()
    result = step()
    return result, time.perf_counter() - started, peak_rss_mb()


__all__ = ["measure", "peak_rss_mb", "reset_peak_rss", "rss_mb"]
