"""The city (and district) reference of the profiles: what "city average" means.

A council member reads "city average" of a rate as the city's own rate, so the reference is,
best first:

``rate``
    the indicator has numerator and base fields and its values are ``scale × numerator / base``:
    Σ numerator / Σ base × scale over all areas with both counts (PHE Fingertips spine
    charts centre on the national value in the same way);
``weighted``
    no counts, but a residents field: the mean of the published area values weighted by
    residents (the residents of the profile's reference date, for every period);
``mean``
    neither: the unweighted mean of the published area values, labelled "mean of the areas",
    never "city average".

Range and quartiles stay distributions of the published area values (``content._reference``).

Suppression: an area's hidden counts still belong to the city total (suppression hides a
figure, it does not change the city), but a city rate together with the published counts of
all other areas gives away the total of the hidden counts. That is harmless only when every
hidden count can still take each value from 1 to min_count − 1 given that total
(:func:`hidden_total_safe`); otherwise the city rate is taken over the areas with published
counts only (it then differs from the full city rate by fewer than min_count cases per hidden
area) and the diagnostics say so. District references always use the published counts only:
a district rate with hidden counts next to a city rate with them would let a reader subtract
one from the other.
"""
import numpy as np
import pandas as pd

from ..i18n import tr
# the monitoring store infers the scale of its rates the same way: one rule, one place
from ..monitoring.rebase import _infer_scale

RATE, WEIGHTED, MEAN = "rate", "weighted", "mean"
# share of areas whose value must equal scale × numerator / base for the indicator to count as
# that rate (a few source errors or differently rounded values do not change what it is)
RATE_AGREEMENT = 0.75
RATE_TOLERANCE = 0.02  # relative, or one unit of the last shown decimal, whichever is larger
MEAN_MARK = "°"


def infer_rate_scale(values, numerators, bases, decimals=1):
    """Scale of a rate (1, 100, 1000 …) from its areas, or NaN when the values are not one.

    Returns
    -------
    (float, int, int)
        Scale (NaN when fewer than ``RATE_AGREEMENT`` of the comparable areas fit it), the
        number of areas that fit and the number compared.
    """
    v, n, d = (np.asarray(a, dtype="float64") for a in (values, numerators, bases))
    usable = np.isfinite(v) & np.isfinite(n) & np.isfinite(d) & (d > 0) & (n >= 0)
    if not usable.any():
        return np.nan, 0, 0
    table = pd.DataFrame({"indicator": np.zeros(int(usable.sum()), dtype="int64"), "value": v[usable],
                          "numerator": n[usable], "denominator": d[usable]})
    scale = _infer_scale(table).get(0, np.nan) if (n[usable] > 0).any() else 1.0
    expected = scale * n[usable] / d[usable]
    tolerance = np.maximum(RATE_TOLERANCE * np.abs(expected), 10.0 ** -int(decimals))
    fits = int((np.abs(v[usable] - expected) <= tolerance).sum())
    compared = int(usable.sum())
    return (float(scale) if fits >= RATE_AGREEMENT * compared else np.nan), fits, compared


def hidden_total_safe(hidden_counts, min_count):
    """True when publishing the total of the hidden counts pins none of them.

    Each hidden count lies in 1 … h (h = the largest count below ``min_count``). Given their
    total T over k areas, one count lies in max(1, T − (k−1)h) … min(h, T − (k−1)); it is
    still unknown (the whole 1 … h) when T ≤ (k−1)h + 1 and T ≥ (k−1) + h. With a single
    hidden count this never holds (T is the count itself).
    """
    counts = np.asarray(hidden_counts, dtype="float64")
    counts = counts[np.isfinite(counts) & (counts > 0)]
    k = len(counts)
    if k == 0 or not min_count:
        return True
    h = float(np.ceil(min_count) - 1)
    total = float(counts.sum())
    return total <= (k - 1) * h + 1 and total >= (k - 1) + h


def rate_reference(numerators, bases, scale, hidden_num=None, hidden_den=None, hidden=None, min_count=0):
    """Σ numerator / Σ base × scale and whether the hidden areas' counts are in it.

    Parameters
    ----------
    numerators, bases : array
        The counts before suppression (never shown; only their totals enter).
    scale : float
    hidden_num, hidden_den : bool array, optional
        Counts suppressed for publication.
    hidden : bool array, optional
        Areas whose value is suppressed.
    min_count : float
        The publication minimum.

    Returns
    -------
    (float, int, bool)
        The city rate (NaN without any base), the number of areas summed, and whether the
        areas with hidden values are among them.
    """
    n = np.asarray(numerators, dtype="float64")
    d = np.asarray(bases, dtype="float64")
    both = np.isfinite(n) & np.isfinite(d)
    no = np.zeros(len(n), dtype=bool)
    hidden_num = no if hidden_num is None else np.asarray(hidden_num, dtype=bool)
    hidden_den = no if hidden_den is None else np.asarray(hidden_den, dtype=bool)
    hidden = (hidden_num | hidden_den) if hidden is None else (np.asarray(hidden, dtype=bool) | hidden_num | hidden_den)
    include_hidden = hidden_total_safe(n[hidden_num & both], min_count) and \
        hidden_total_safe(d[hidden_den & both], min_count)
    use = both if include_hidden else both & ~hidden
    total = float(d[use].sum())
    value = scale * float(n[use].sum()) / total if total > 0 else np.nan
    return value, int(use.sum()), bool(include_hidden and (hidden & both).any())


def weighted_reference(values, weights):
    """Mean of the finite values weighted by the positive weights (NaN without any)."""
    v = np.asarray(values, dtype="float64")
    w = np.asarray(weights, dtype="float64")
    use = np.isfinite(v) & np.isfinite(w) & (w > 0)
    return float(np.sum(v[use] * w[use]) / np.sum(w[use])) if use.any() else np.nan


def mean_reference(values):
    """Unweighted mean of the finite values (NaN without any)."""
    v = np.asarray(values, dtype="float64")
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else np.nan


def reference_label(methods, lang="en"):
    """'city average', or 'mean of the areas' when every reference is an unweighted mean."""
    methods = [m for m in methods if isinstance(m, str)]
    if methods and all(m == MEAN for m in methods):
        return tr("mean of the areas", lang=lang)
    return tr("city average", lang=lang)


def reference_mark(method, methods):
    """'°' after a city value that is a mean of the areas among city averages, else ''."""
    mixed = any(m != MEAN for m in methods) and any(m == MEAN for m in methods)
    return MEAN_MARK if mixed and method == MEAN else ""


def reference_notes(methods, lang="en", marked=True):
    """Sentences saying how the references shown were computed (one per method in use; with
    ``marked`` the mean of the areas among city averages is explained by its mark '°')."""
    used = set(m for m in methods if isinstance(m, str))
    notes = []
    if RATE in used:
        notes.append(tr("City average of a rate: all counts of the city over all bases (the city's own rate).",
                        lang=lang))
    if WEIGHTED in used:
        notes.append(tr("City average without counts: mean of the areas weighted by residents.", lang=lang))
    if MEAN in used:
        if used == {MEAN} or not marked:
            notes.append(tr("Mean of the areas: every area counts the same (no counts or residents given), "
                            "so it is not the city's own rate.", lang=lang))
        else:
            notes.append(tr("° mean of the areas: every area counts the same (no counts or residents given).",
                            lang=lang))
    return notes


def spine_note(methods, lang):
    """How to read the spine chart, naming the reference line as what it is."""
    if methods and all(m == MEAN for m in methods):
        return tr("Grey bar: range of all areas (darker: middle half). Dotted line: mean of the district's "
                  "areas. Black line: mean of the areas.", lang=lang)
    return tr("Grey bar: range of all areas (darker: middle half). Dotted line: district "
              "average. Black line: city average.", lang=lang)


def series_heading(methods, lang):
    """Heading of the time series, naming the dashed line as what it is."""
    if methods and all(m == MEAN for m in methods):
        return tr("Development over time (dashed: mean of the areas)", lang=lang)
    return tr("Development over time (dashed: city average)", lang=lang)


def reference_messages(content):
    """What the log should say about the city references of ``content`` (a ProfileContent).

    Returns
    -------
    (list, list)
        Warnings (an indicator with counts whose values are not their rate, so its city
        average is not the city's rate) and notes (a city rate taken without hidden counts).
    """
    warnings, notes = [], []
    if content.references is None or not len(content.references):
        return warnings, notes
    specs = {ind.field: ind for ind in content.indicators}
    hidden = content.values.groupby("indicator")["suppressed"].sum()
    for rec in content.references.to_dict("records"):
        ind = specs[rec["indicator"]]
        if ind.numerator and ind.base and rec["method"] != RATE and rec["compared"]:
            facts = dict(field=ind.field, numerator=ind.numerator, base=ind.base,
                         misfit=int(rec["compared"] - rec["fits"]), compared=int(rec["compared"]))
            if rec["method"] == WEIGHTED:
                warnings.append(tr("The values of '{field}' are not {numerator} / {base} times 100 (or another "
                                   "power of ten) in {misfit} of {compared} areas, so its city average is the mean "
                                   "weighted by residents, not the rate of the counts. Check the counts given for "
                                   "it.", **facts))
            else:
                warnings.append(tr("The values of '{field}' are not {numerator} / {base} times 100 (or another "
                                   "power of ten) in {misfit} of {compared} areas, so it is compared with the mean "
                                   "of the areas, not with the rate of the counts. Check the counts given for it.",
                                   **facts))
        elif rec["method"] == RATE and int(hidden.get(ind.field, 0)) and not rec["hidden_included"]:
            notes.append(tr("City average of '{field}': the rate of the {n} areas with published counts; the "
                            "hidden counts are left out, because with them the city figure would give their "
                            "total away.", field=ind.field, n=int(rec["n_areas"])))
    return warnings, notes
