"""Rates that carry their base: numerator, denominator and a small-base flag.

Used wherever counts become shares (aggregation, overlay, indicators), so a rate is always
recomputed from summed numerators and denominators, never averaged.
"""
import numpy as np

DEFAULT_MIN_BASE = 300  # residents; MSS and Hamburg Sozialmonitoring use 300


def rate(numerator, denominator, per=100.0):
    """Return ``per * numerator / denominator`` as float array; NaN where the base is 0 or missing."""
    num = np.asarray(numerator, dtype="float64")
    den = np.asarray(denominator, dtype="float64")
    out = np.full(np.broadcast(num, den).shape, np.nan)
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    np.divide(num, den, out=out, where=ok)
    return out * per


def small_base(denominator, min_base=DEFAULT_MIN_BASE):
    """True where the base is below ``min_base`` (or missing): the rate is too unstable to use."""
    den = np.asarray(denominator, dtype="float64")
    return ~(np.isfinite(den) & (den >= min_base))


def suppress_small_counts(values, min_count=3):
    """Return a float copy with counts below ``min_count`` (but above 0) set to NaN, as
    statistical offices publish them; zeros stay zero."""
    arr = np.array(values, dtype="float64", copy=True)
    arr[(arr > 0) & (arr < min_count)] = np.nan
    return arr
