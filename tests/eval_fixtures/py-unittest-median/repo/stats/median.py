"""The median of a sample; None for an empty one (a quiet minute has no latency)."""

from __future__ import annotations


def median(values: list[float]) -> float | None:
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2
