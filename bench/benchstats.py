"""Shared by the benchmarks: order statistics of timings (ms)."""

from __future__ import annotations

import statistics


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def summary_header(width: int) -> str:
    return f"{'':{width}}{'median':>9}{'p90':>9}{'min':>9}{'max':>9}"


def summary_row(label: str, values: list[float], width: int) -> str:
    """median, p90, min and max of ``values``, aligned under ``summary_header``."""
    return (f"{label:{width}}{statistics.median(values):9.1f}{p90(values):9.1f}{min(values):9.1f}"
            f"{max(values):9.1f}")
