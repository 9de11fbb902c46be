"""Reasons: which indicators drive an area's index, said in planners' words.

``reasons(result, top=3, lang=None, labels=None)`` takes an ``IndexResult`` and returns one
row per area with the top drivers (``driver_1`` …, their standardised deviation
``driver_1_sd`` … on the indicator's own scale, and their share of the index) and a
sentence such as "Kinderarmut 2,1 SD über dem Stadtmittel; Arbeitslosigkeit 1,8 SD über
dem Stadtmittel; Transferbezug 1,5 SD über dem Stadtmittel".

Drivers are ranked by their contribution to the index in the direction of the area's
index (for an area above average: what pushes it up). The deviation is reported on the
indicator's own scale: a reversed indicator (higher = less need, e.g. green space) with
a high need score is "below the city average". For z-scores the unit is the standard
deviation; for other standardisations the score itself is reported.
"""
import numpy as np
import pandas as pd

from ..i18n import format_number, tr


def _phrase(label, value, method, lang):
    """One driver as text."""
    if method in ("z", "z_weighted"):
        amount = format_number(abs(value), 1, lang)
        if value >= 0:
            return tr("{indicator} {sd} SD above the city average", lang=lang, indicator=label, sd=amount)
        return tr("{indicator} {sd} SD below the city average", lang=lang, indicator=label, sd=amount)
    return tr("{indicator} score {score}", lang=lang, indicator=label, score=format_number(value, 2, lang))


def _known_label(indicator, lang):
    """A known indicator's readable name (``child_poverty`` → 'Child poverty'), else the field."""
    from ..mapping import INDICATOR_NAMES

    return tr(INDICATOR_NAMES[indicator], lang=lang) if indicator in INDICATOR_NAMES else indicator


def reasons(result, top=3, lang=None, labels=None, min_share=0.0):
    """Top drivers of each area's index and a sentence.

    Parameters
    ----------
    result : IndexResult
        From ``composite_index``.
    top : int
        Number of drivers per area.
    lang : str, optional
        'de' or 'en' (default: current language).
    labels : dict, optional
        Indicator id → readable name (e.g. from a catalogue: ``{i.id: i.name(lang)}``).
    min_share : float
        Leave out drivers whose share of the index is below this (0..1).

    Returns
    -------
    pandas.DataFrame
        ``driver_1..top`` (ids), ``driver_1_sd..`` (deviation on the indicator's scale),
        ``driver_1_share..`` (share of the index), ``reasons`` (sentence).
    """
    spec = result.spec
    labels = labels or {}
    scores = result.scores.to_numpy(dtype="float64")
    contributions = result.contributions.to_numpy(dtype="float64")
    if not np.isfinite(contributions).any():  # geometric mean: rank by the scores themselves
        contributions = scores - np.nanmean(scores[result.included.to_numpy()], axis=0)
    index = result.index.to_numpy(dtype="float64")
    sign = np.where(index >= 0, 1.0, -1.0)
    directed = contributions * sign[:, None]
    directed_filled = np.where(np.isfinite(directed), directed, -np.inf)
    order = np.argsort(-directed_filled, axis=1, kind="stable")[:, :top]
    total = np.nansum(np.where(directed > 0, directed, 0.0), axis=1)
    flip = np.array([-1.0 if ind in spec.reversed else 1.0 for ind in spec.indicators])
    raw_scale = scores * flip  # deviation on the indicator's own scale
    ids = list(spec.indicators)
    n = len(index)
    k = min(top, len(ids))
    data = {}
    rows = np.arange(n)
    for j in range(k):
        col = order[:, j]
        data[f"driver_{j + 1}"] = [ids[c] for c in col]
        data[f"driver_{j + 1}_sd"] = raw_scale[rows, col]
        with np.errstate(invalid="ignore", divide="ignore"):
            data[f"driver_{j + 1}_share"] = np.where(total > 0, directed[rows, col] / total, np.nan)
    sentences = []
    for i in range(n):
        if not np.isfinite(index[i]):
            sentences.append(None)
            continue
        parts = []
        for j in range(k):
            share = data[f"driver_{j + 1}_share"][i]
            if directed[i, order[i, j]] <= 0 or (np.isfinite(share) and share < min_share):
                continue
            ind = ids[order[i, j]]
            parts.append(_phrase(labels.get(ind) or _known_label(ind, lang), data[f"driver_{j + 1}_sd"][i],
                                 spec.method, lang))
        sentences.append("; ".join(parts) if parts else tr("close to the city average in all indicators",
                                                            lang=lang))
    frame = pd.DataFrame(data, index=result.index.index)
    frame["reasons"] = sentences
    return frame
