"""Standardisation of indicator values against a reference set of areas.

Every method takes the raw values of one indicator for all areas and a boolean mask
``reference`` of the areas that define the reference statistics (areas under their
minimum base, flagged outliers and areas with missing values are left out, as the Berlin
MSS does). Areas outside the reference are still scored, with the reference statistics.

Methods (``METHODS``):

``z``           (x − mean) / SD, unweighted mean, population SD (ddof = 0) — Berlin MSS.
``z_weighted``  the same with population-weighted mean and SD.
``minmax``      (x − min) / (max − min), 0 … 1 on the reference.
``percentile``  percentile rank (rank − 1) / (n − 1), ties get their average rank (CDC SVI).
``rank_exp``    rank with the exponential transform of the English IMD:
                X = −23 · ln(1 − R · (1 − e^(−100/23))), R = rank / n (1/n = least need),
                0 … 100; one good domain can no longer cancel a bad one fully.

All return ``(values, reference_stats)``; higher always means "higher raw value" here,
the direction is applied by the caller.
"""
import numpy as np

from ..errors import InfeasibleError, InputError
from ..i18n import tr

METHODS = ("z", "z_weighted", "minmax", "percentile", "rank_exp")
IMD_CONSTANT = 23.0


def _check_reference(values, reference, name):
    """Return reference values; fewer than 3 is an input error."""
    ref = values[reference]
    if ref.size < 3:
        raise InputError(tr("Indicator '{indicator}' has only {count} valid area(s) for the "
                            "reference statistics; at least 3 are needed. Check the minimum "
                            "population, NULL values and excluded areas.",
                            indicator=name, count=int(ref.size)))
    return ref


def _zero_spread(name, value):
    """Error for an indicator that is the same in every reference area."""
    return InfeasibleError(tr("Indicator '{indicator}' has the same value ({value}) in every valid "
                              "area, so it cannot be standardised (standard deviation 0). Leave it "
                              "out of the index.", indicator=name, value=f"{value:g}"))


def winsorise(values, reference, limits=(0.01, 0.99)):
    """Clip values at the given quantiles of the reference areas (returns a copy)."""
    values = np.asarray(values, dtype="float64")
    lower, upper = limits
    ref = values[reference & np.isfinite(values)]
    if ref.size == 0:
        return values.copy()
    lo, hi = np.quantile(ref, [lower, upper])
    return np.clip(values, lo, hi)


def weighted_mean_sd(values, weights):
    """Weighted mean and population SD (ddof = 0)."""
    weights = np.asarray(weights, dtype="float64")
    mean = float(np.sum(weights * values) / np.sum(weights))
    sd = float(np.sqrt(np.sum(weights * (values - mean) ** 2) / np.sum(weights)))
    return mean, sd


def _average_ranks(reference_values, values):
    """Average rank (1-based) each value would take among the sorted reference values."""
    ordered = np.sort(reference_values)
    less = np.searchsorted(ordered, values, side="left")
    less_equal = np.searchsorted(ordered, values, side="right")
    equal = less_equal - less
    # a reference value counts itself among the equals; an outside value is inserted
    return less + (equal + 1) / 2.0, equal


def standardise(values, reference, method="z", weights=None, name="indicator", ddof=0):
    """Standardise one indicator.

    Parameters
    ----------
    values : array-like of float
        Raw values for all areas (NaN allowed outside the reference).
    reference : array-like of bool
        Areas that define mean/SD, min/max or ranks.
    method : str
        One of ``METHODS``.
    weights : array-like, optional
        Population per area (only for ``z_weighted``).
    name : str
        Indicator name for messages.
    ddof : int
        0 = population SD (MSS), 1 = sample SD.

    Returns
    -------
    (numpy.ndarray, dict)
        Standardised values (NaN where the raw value is NaN) and the reference statistics
        (``mean``, ``sd`` or ``min``, ``max`` or ``n``).
    """
    values = np.asarray(values, dtype="float64")
    reference = np.asarray(reference, dtype=bool) & np.isfinite(values)
    ref = _check_reference(values, reference, name)
    out = np.full(values.shape, np.nan)
    finite = np.isfinite(values)
    if method == "z":
        mean, sd = float(np.mean(ref)), float(np.std(ref, ddof=ddof))
        if not sd > 0:
            raise _zero_spread(name, mean)
        out[finite] = (values[finite] - mean) / sd
        return out, {"mean": mean, "sd": sd, "n": int(ref.size)}
    if method == "z_weighted":
        if weights is None:
            raise InputError(tr("Population-weighted z-scores need a population field."))
        w = np.asarray(weights, dtype="float64")[reference]
        if not np.all(np.isfinite(w)) or np.sum(w) <= 0:
            raise InputError(tr("The population field has missing or zero values in the valid "
                                "areas; population-weighted z-scores need a positive population."))
        mean, sd = weighted_mean_sd(ref, w)
        if not sd > 0:
            raise _zero_spread(name, mean)
        out[finite] = (values[finite] - mean) / sd
        return out, {"mean": mean, "sd": sd, "n": int(ref.size)}
    if method == "minmax":
        lo, hi = float(np.min(ref)), float(np.max(ref))
        if not hi > lo:
            raise _zero_spread(name, lo)
        out[finite] = (values[finite] - lo) / (hi - lo)
        return out, {"min": lo, "max": hi, "n": int(ref.size)}
    if method in ("percentile", "rank_exp"):
        n = ref.size
        if np.all(ref == ref[0]):
            raise _zero_spread(name, float(ref[0]))
        ranks, _ = _average_ranks(ref, values[finite])
        if method == "percentile":
            out[finite] = np.clip((ranks - 1.0) / (n - 1.0), 0.0, 1.0)
        else:
            share = np.clip(ranks / n, 0.0, 1.0)
            out[finite] = imd_exponential(share)
        return out, {"n": int(n)}
    raise InputError(tr("Unknown standardisation '{method}'. Use one of: {methods}.",
                        method=method, methods=", ".join(METHODS)))


def imd_exponential(share):
    """IMD exponential transform of a rank share R in (0, 1]: 0 (least need) … 100 (most)."""
    share = np.asarray(share, dtype="float64")
    return -IMD_CONSTANT * np.log(1.0 - share * (1.0 - np.exp(-100.0 / IMD_CONSTANT)))
