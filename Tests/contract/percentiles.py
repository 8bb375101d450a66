"""Percentiles of latencies: shared by the contract tests and Tests/bench, so both report the same p99."""
import math


def percentile(values, fraction):
    """Nearest rank: the smallest value with at least `fraction` of the values at or below it; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]
