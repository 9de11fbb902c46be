"""Class schemes for index values, always on unrounded values.

Class numbers run from 1 (lowest index = least need) to k (highest index = most need),
the same order as the Berlin MSS status codes (1 "hoch" = high social status = least
disadvantage … 4 "sehr niedrig" = most disadvantage). Breaks are computed on the
reference (included) areas and applied to all areas.

Schemes (``SCHEMES``): ``sd_bands`` (MSS: x < −1 | −1 ≤ x ≤ 1 | 1 < x ≤ 1.5 | x > 1.5),
``quantiles``, ``jenks`` (Fisher–Jenks exact optimum), ``equal_interval``, ``fixed``
(given upper bounds; an area exactly on a break belongs to the lower class).
"""
import numpy as np

from ..errors import InputError
from ..i18n import format_number, tr

SCHEMES = ("sd_bands", "quantiles", "jenks", "equal_interval", "fixed")
MSS_STATUS_BOUNDS = (-1.0, 1.0, 1.5)
MSS_DYNAMICS_BOUNDS = (-1.0, 1.0)


def sd_band_classes(values, bounds=MSS_STATUS_BOUNDS):
    """MSS rule: class 1 below the first bound (strict), then upper-closed bands."""
    values = np.asarray(values, dtype="float64")
    classes = 1 + (values >= bounds[0]).astype(int)
    for bound in bounds[1:]:
        classes += (values > bound).astype(int)
    return np.where(np.isfinite(values), classes, 0)


def upper_bound_classes(values, inner_breaks):
    """Class 1 + number of breaks strictly below the value (value on a break → lower class)."""
    values = np.asarray(values, dtype="float64")
    classes = 1 + np.searchsorted(np.asarray(inner_breaks, dtype="float64"), values, side="left")
    return np.where(np.isfinite(values), classes, 0)


def quantile_breaks(values, k):
    """Upper bounds of k quantile classes (linear interpolation), duplicates removed."""
    width = 100.0 / k
    percentiles = width + width * np.arange(k)  # same grid as mapclassify.Quantiles
    percentiles[-1] = 100.0
    return np.unique(np.percentile(values, percentiles))


def equal_interval_breaks(values, k):
    """Upper bounds of k classes of equal width between min and max."""
    lo, hi = float(np.min(values)), float(np.max(values))
    breaks = lo + (hi - lo) / k * np.arange(1, k + 1)
    breaks[-1] = hi
    return breaks


def fisher_jenks_breaks(values, k):
    """Upper bounds of the k classes with the smallest total within-class sum of squares.

    Exact dynamic programme (Fisher 1958) over the sorted values with divide-and-conquer
    layers (as Ckmeans.1d.dp), vectorised over the candidate class starts. Hand-written
    because mapclassify is not available on the QGIS stack;
    ``tests/core/test_indices_classify.py`` checks it against mapclassify and a plain O(n²) DP.
    """
    x = np.sort(np.asarray(values, dtype="float64"))
    n = x.size
    k = int(min(k, np.unique(x).size))
    if k <= 1:
        return np.array([x[-1]])
    s1 = np.concatenate([[0.0], np.cumsum(x)])
    s2 = np.concatenate([[0.0], np.cumsum(x * x)])
    # cost[c][j]: best SSD of x[0..j] in c+1 classes; start[c][j]: first index of the last class
    cost = np.empty((k, n))
    start = np.zeros((k, n), dtype=int)
    ends = np.arange(1, n + 1)
    cost[0] = s2[ends] - s1[ends] ** 2 / ends
    for c in range(1, k):
        cost[c, :c] = np.inf
        previous = cost[c - 1]
        # The best start of the last class never moves left when the class end moves right
        # (the within-class sum of squares satisfies the quadrangle inequality), so each
        # layer is solved by divide and conquer: O(n log n) instead of O(n²) per class.
        stack = [(c, n - 1, c, n - 1)]
        while stack:
            j_lo, j_hi, i_lo, i_hi = stack.pop()
            if j_lo > j_hi:
                continue
            j = (j_lo + j_hi) // 2
            i = np.arange(i_lo, min(i_hi, j) + 1)  # last class is x[i..j]
            count = j + 1 - i
            total = previous[i - 1] + (s2[j + 1] - s2[i]) - (s1[j + 1] - s1[i]) ** 2 / count
            best = int(np.argmin(total))  # first minimum: the smallest start
            cost[c, j] = total[best]
            start[c, j] = i[best]
            stack.append((j_lo, j - 1, i_lo, i[best]))
            stack.append((j + 1, j_hi, i[best], i_hi))
    bounds = []
    j = n - 1
    for c in range(k - 1, -1, -1):
        bounds.append(x[j])
        j = start[c, j] - 1
    return np.array(bounds[::-1])


def classify(values, reference, scheme="sd_bands", k=4, breaks=None, bounds=None):
    """Classify values; breaks from the reference areas.

    Parameters
    ----------
    values : array-like of float
    reference : array-like of bool
        Areas whose values define quantiles, natural breaks and equal intervals.
    scheme : str
        One of ``SCHEMES``.
    k : int
        Number of classes (ignored for ``sd_bands`` and ``fixed``).
    breaks : sequence of float, optional
        Inner upper bounds for ``fixed``.
    bounds : sequence of float, optional
        SD band bounds (default MSS status bounds −1, 1, 1.5).

    Returns
    -------
    (numpy.ndarray of int, numpy.ndarray of float)
        Class per area (1 … k, 0 where the value is NULL) and the upper bounds of the
        classes (for ``sd_bands`` the bounds themselves).
    """
    values = np.asarray(values, dtype="float64")
    reference = np.asarray(reference, dtype=bool) & np.isfinite(values)
    if scheme == "sd_bands":
        bounds = np.asarray(bounds if bounds is not None else MSS_STATUS_BOUNDS, dtype="float64")
        return sd_band_classes(values, bounds), bounds
    if scheme == "fixed":
        if breaks is None or len(breaks) == 0:
            raise InputError(tr("Fixed class breaks are missing: give the upper bounds of the "
                                "classes, e.g. '-1, 1, 1.5'."))
        inner = np.sort(np.asarray(breaks, dtype="float64"))
        return upper_bound_classes(values, inner), inner
    k = int(k)
    if k < 2:
        raise InputError(tr("The number of classes must be at least 2 (got {k}).", k=k))
    ref = values[reference]
    if ref.size < k:
        raise InputError(tr("Only {count} valid areas for {k} classes; choose fewer classes.",
                            count=int(ref.size), k=k))
    if scheme == "quantiles":
        upper = quantile_breaks(ref, k)
    elif scheme == "jenks":
        upper = fisher_jenks_breaks(ref, k)
    elif scheme == "equal_interval":
        upper = equal_interval_breaks(ref, k)
    else:
        raise InputError(tr("Unknown class scheme '{scheme}'. Use one of: {schemes}.",
                            scheme=scheme, schemes=", ".join(SCHEMES)))
    return upper_bound_classes(values, upper[:-1]), upper


def class_labels(scheme, upper, lang=None):
    """Label per class number (dict), in the current or given language."""
    if scheme == "sd_bands" and len(upper) == 3:
        b = [format_number(v, 1, lang) for v in upper]
        return {
            1: tr("low need (index below {a})", lang=lang, a=b[0]),
            2: tr("average ({a} to {b})", lang=lang, a=b[0], b=b[1]),
            3: tr("elevated need ({b} to {c})", lang=lang, b=b[1], c=b[2]),
            4: tr("very high need (above {c})", lang=lang, c=b[2]),
        }
    if scheme in ("sd_bands", "fixed"):
        inner = list(upper)
    else:
        inner = list(upper[:-1])
    k = len(inner) + 1
    labels = {}
    for c in range(1, k + 1):
        if c == 1:
            text = tr("class 1 of {k}: lowest need (up to {hi})", lang=lang, k=k,
                      hi=format_number(inner[0], 2, lang))
        elif c == k:
            text = tr("class {c} of {k}: highest need (above {lo})", lang=lang, c=c, k=k,
                      lo=format_number(inner[-1], 2, lang))
        else:
            text = tr("class {c} of {k} ({lo} to {hi})", lang=lang, c=c, k=k,
                      lo=format_number(inner[c - 2], 2, lang),
                      hi=format_number(inner[c - 1], 2, lang))
        labels[c] = text
    return labels
