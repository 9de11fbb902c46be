"""Hot spots: local Moran's I (LISA) and Getis-Ord Gi* with conditional permutation
inference, Benjamini–Hochberg false-discovery-rate correction and confidence bins.

Statistics (``y`` the values, ``W`` the weights, row-standardised by default)
---------------------------------------------------------------------------
* Local Moran: ``z = (y − mean) / sd`` (population sd), ``I_i = (n − 1) · z_i · (W z)_i / Σ z²``
  — exactly esda's ``Moran_Local``. Quadrant from the signs of ``z_i`` and the spatial
  lag ``(W z)_i``: high–high, low–high, low–low, high–low.
* Gi*: the area itself counts as its own neighbour (``W* = W + I``, then row-standardised).
  ``G*_i = (W* y)_i / Σ y`` as esda's ``G_Local(star=True)``. The analytic z-score is the
  exact standardisation under randomisation (Getis & Ord 1995; what ArcGIS reports):
  ``z_i = (Σ_j w_ij y_j − ȳ W_i) / (s · sqrt((n S1_i − W_i²)/(n − 1)))`` with
  ``W_i = Σ_j w_ij``, ``S1_i = Σ_j w_ij²`` and ``s`` the population sd. For binary
  weights this equals esda's ``Zs``; for row-standardised weights esda uses ``W_i`` in
  place of ``S1_i`` (exact only for binary weights), so analytic z-scores differ there.

Conditional permutation inference (as esda/GeoDa): for area ``i`` the value ``y_i`` stays,
its ``k_i`` neighbours' values are drawn without replacement from the other ``n − 1``
values, ``permutations`` times. As in esda, one random draw of ``k_max`` positions per
permutation is shared by all areas (position ``≥ i`` shifted by one to skip ``i``); the
random numbers differ from esda's, so pseudo p-values agree with esda's only within
permutation tolerance. The pseudo p-value is esda's folded one:
``(min(#sim ≥ obs, #sim < obs) + 1) / (permutations + 1)`` — one-sided in the direction of
the observed value (esda's ``alternative='directed'``, its default up to 2.9 and GeoDa's;
esda announces 'two-sided' as the future default, which roughly doubles the p-values).

False discovery rate: Benjamini–Hochberg. With sorted p-values ``p_(1) ≤ … ≤ p_(m)`` the
adjusted ``q_(i) = min_{j ≥ i} m · p_(j) / j``; an area is significant at level ``α`` when
``q ≤ α`` (equivalently ``p ≤ p_(k)`` with ``k`` the largest ``i`` with
``p_(i) ≤ i α / m``). esda's ``fdr`` returns the same cut-off but compares with ``<``.

Confidence bins as planners know them from ArcGIS: 3 = 99 %, 2 = 95 %, 1 = 90 %, 0 = not
significant, signed by direction for Gi* (+ hot, − cold).
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from ..feedback import ensure_feedback
from ..i18n import tr
from ..options import options_or_default
from ..validate import layer_name, numeric_field, require_distinct_areas
from .weights import SpatialWeights

LEVELS = (0.99, 0.95, 0.90)

LISA_LABELS = {
    "HH": "High–high (hot spot)",
    "LL": "Low–low (cold spot)",
    "HL": "High–low (outlier)",
    "LH": "Low–high (outlier)",
    "ns": "Not significant",
    "none": "No neighbours",
    "null": "No value",
}


def _lisa_label(code):
    """Translated LISA category label."""
    texts = {
        "HH": tr("High–high (hot spot)"),
        "LL": tr("Low–low (cold spot)"),
        "HL": tr("High–low (outlier)"),
        "LH": tr("Low–high (outlier)"),
        "ns": tr("Not significant"),
        "none": tr("No neighbours"),
        "null": tr("No value"),
    }
    return texts[code]


def _gi_label(bin_value):
    """Translated Gi* bin label."""
    if bin_value is None or (isinstance(bin_value, float) and np.isnan(bin_value)):
        return tr("No neighbours")
    b = int(bin_value)
    if b == 0:
        return tr("Not significant")
    level = {3: 99, 2: 95, 1: 90}[abs(b)]
    if b > 0:
        return tr("Hot spot – {level} % confidence", level=level)
    return tr("Cold spot – {level} % confidence", level=level)


def fdr_adjust(pvalues):
    """Benjamini–Hochberg adjusted p-values (q-values); NaN stays NaN.

    Parameters
    ----------
    pvalues : array-like
        Raw p-values.

    Returns
    -------
    numpy.ndarray
        ``q_(i) = min_{j ≥ i} m p_(j) / j`` capped at 1, in the input order.
    """
    p = np.asarray(pvalues, dtype=float)
    q = np.full(p.shape, np.nan)
    valid = ~np.isnan(p)
    m = int(valid.sum())
    if m == 0:
        return q
    pv = p[valid]
    order = np.argsort(pv, kind="mergesort")
    ranked = pv[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    q[valid] = out
    return q


def fdr_cutoff(pvalues, alpha=0.05):
    """The largest raw p-value still significant under Benjamini–Hochberg at ``alpha`` (0 if none)."""
    p = np.sort(np.asarray(pvalues, dtype=float)[~np.isnan(np.asarray(pvalues, dtype=float))])
    m = len(p)
    if m == 0:
        return 0.0
    ok = np.flatnonzero(p <= alpha * np.arange(1, m + 1) / m)
    return float(p[ok[-1]]) if len(ok) else 0.0


def confidence_bins(p, direction=None):
    """3/2/1/0 for p ≤ 0.01/0.05/0.10/else, signed by ``direction`` when given; NaN stays NaN."""
    p = np.asarray(p, dtype=float)
    bins = np.where(p <= 0.01, 3, np.where(p <= 0.05, 2, np.where(p <= 0.10, 1, 0))).astype(float)
    if direction is not None:
        bins = bins * np.where(np.asarray(direction) >= 0, 1.0, -1.0) + 0.0
    bins[np.isnan(p)] = np.nan
    return bins


def _padded(wmatrix):
    """Neighbour positions and weights padded to ``k_max`` columns (weight 0 beyond ``k_i``)."""
    m = wmatrix.tocsr()
    n = m.shape[0]
    card = np.diff(m.indptr)
    kmax = int(card.max()) if n else 0
    cols = np.zeros((n, max(kmax, 1)), dtype=np.int64)
    vals = np.zeros((n, max(kmax, 1)))
    rows = np.repeat(np.arange(n), card)
    slot = np.arange(len(m.indices)) - np.repeat(m.indptr[:-1], card)
    cols[rows, slot] = m.indices
    vals[rows, slot] = m.data
    return cols, vals, card, kmax


def conditional_lags(y, wmatrix, permutations, seed, feedback=None, chunk_bytes=40_000_000):
    """Yield ``(positions, lag_sims)`` blocks of simulated spatial lags under conditional randomisation.

    ``lag_sims[c, p] = Σ_m w_{i,m} · y[draw_p,m (skipping i)]`` for the areas ``positions``.
    """
    feedback = ensure_feedback(feedback)
    y = np.asarray(y, dtype=float)
    n = len(y)
    _, weights, card, kmax = _padded(wmatrix)
    rng = np.random.default_rng(seed)
    kmax = max(kmax, 1)
    draws = np.empty((permutations, kmax), dtype=np.int32 if n < 2**31 - 1 else np.int64)
    for p in range(permutations):
        draws[p] = rng.choice(n - 1, size=kmax, replace=False)
    per_area = permutations * kmax * 8 * 2
    step = max(1, int(chunk_bytes // max(per_area, 1)))
    for start in range(0, n, step):
        feedback.check()
        pos = np.arange(start, min(n, start + step))
        idx = draws[None, :, :] + (draws[None, :, :] >= pos[:, None, None])
        sims = np.einsum("cpk,ck->cp", y[idx], weights[pos])
        feedback.progress(min(1.0, (start + step) / n))
        yield pos, sims


def _fold(sims, observed, permutations):
    """esda's folded pseudo p-value and the simulation mean/sd per area."""
    larger = (sims >= observed[:, None]).sum(axis=1)
    low = (permutations - larger) < larger
    larger = np.where(low, permutations - larger, larger)
    return (larger + 1.0) / (permutations + 1.0), sims.mean(axis=1), sims.std(axis=1)


def _check_values(y, name, n_min=3):
    """One clear message for degenerate value sets."""
    n = len(y)
    if n < n_min:
        raise InputError(tr("Hot spots need at least {minimum} areas with a value of '{field}'; "
                            "there are {n}.", minimum=n_min, field=name, n=n))
    if np.nanstd(y) == 0:
        raise InputError(tr("All areas have the same value of '{field}' ({value}); there are no "
                            "hot or cold spots to find. Choose another indicator.",
                            field=name, value=float(y[0])))


def _prepare(values, weights, name):
    """Valid (non-NaN) subset of values and weights; islands after removing NULL areas."""
    y = np.asarray(values, dtype=float)
    if not isinstance(weights, SpatialWeights):
        raise InputError(tr("Spatial weights are missing; build them with the weights functions."))
    if len(y) != weights.n:
        raise InputError(tr("The weights have {m} areas but the field '{field}' has {n} values.",
                            m=weights.n, field=name, n=len(y)))
    valid = ~np.isnan(y)
    binary = weights.neighbours[valid][:, valid].tocsr().astype(float)
    return y, valid, binary


def _transform(binary, transform):
    """Row-standardise ('r') or keep binary ('b')."""
    if transform == "b":
        return binary.tocsr()
    if transform != "r":
        raise InputError(tr("Unknown weights transformation '{value}'; use 'r' (row-standardised) "
                            "or 'b' (binary).", value=transform))
    card = np.asarray(binary.sum(axis=1)).ravel()
    scale = np.divide(1.0, card, out=np.zeros_like(card), where=card > 0)
    from scipy import sparse

    return (sparse.diags(scale) @ binary).tocsr()


def local_moran(values, weights, permutations=999, seed=12345, transform="r", alpha=0.05,
                fdr=True, name="value", feedback=None):
    """Local Moran's I with conditional permutation inference.

    Parameters
    ----------
    values : array-like
        One value per area in the weights' row order; NaN areas are left out.
    weights : SpatialWeights
    permutations : int
        Conditional permutations (999 by default; 0 = analytic quadrants only, no p-values).
    seed : int
        Seed of the random generator; the same seed gives the same p-values.
    transform : {'r', 'b'}
        Row-standardised (default) or binary weights.
    alpha : float
        Significance level for the category column.
    fdr : bool
        Judge significance on Benjamini–Hochberg q-values (default) instead of raw p.

    Returns
    -------
    (pandas.DataFrame, dict)
        Columns ``lisa_z, lisa_lag, lisa_i, lisa_p, lisa_q, lisa_zsim, lisa_quad, lisa_sig,
        lisa_bin, lisa_code, lisa_label`` and diagnostics (global Moran's I, counts).
    """
    feedback = ensure_feedback(feedback)
    y, valid, binary = _prepare(values, weights, name)
    yv = y[valid]
    _check_values(yv, name)
    w = _transform(binary, transform)
    n = len(yv)
    z = (yv - yv.mean()) / yv.std()
    lag = w @ z
    den = (z * z).sum()
    stat = (n - 1) * z * lag / den
    card = np.diff(w.indptr)
    island = card == 0
    p = np.full(n, np.nan)
    zsim = np.full(n, np.nan)
    if permutations:
        for pos, sims in conditional_lags(z, w, permutations, seed, feedback.step(0.0, 0.9)):
            isim = (n - 1) * z[pos, None] * sims / den
            pp, mean, sd = _fold(isim, stat[pos], permutations)
            p[pos] = pp
            with np.errstate(divide="ignore", invalid="ignore"):
                zsim[pos] = (stat[pos] - mean) / sd
    stat[island] = np.nan
    p[island] = np.nan
    zsim[island] = np.nan
    q = fdr_adjust(p) if fdr else p.copy()
    judge = q if fdr else p
    quad = np.where(z > 0, np.where(lag > 0, "HH", "HL"), np.where(lag > 0, "LH", "LL"))
    sig = judge <= alpha
    code = np.where(island, "none", np.where(sig, quad, "ns"))
    bins = confidence_bins(judge)
    out = pd.DataFrame(index=np.arange(len(y)))
    cols = {"lisa_z": z, "lisa_lag": lag, "lisa_i": stat, "lisa_p": p, "lisa_q": q,
            "lisa_zsim": zsim, "lisa_quad": quad, "lisa_sig": sig, "lisa_bin": bins,
            "lisa_code": code}
    for key, arr in cols.items():
        full = np.full(len(y), np.nan if arr.dtype.kind == "f" else None, dtype=arr.dtype if arr.dtype.kind == "f" else object)
        full[valid] = arr
        out[key] = full
    out.loc[~valid, "lisa_code"] = "null"
    out["lisa_sig"] = out["lisa_sig"].fillna(False).astype(bool)
    texts = {c: _lisa_label(c) for c in set(out["lisa_code"])}
    out["lisa_label"] = [texts[c] for c in out["lisa_code"]]
    # global Moran's I with a simple (total) permutation test for the diagnostics
    s0 = w.sum()
    global_i = float(n / s0 * (z * lag).sum() / den) if s0 > 0 else float("nan")
    diag = {"n": int(n), "n_null": int((~valid).sum()), "islands": int(island.sum()),
            "permutations": int(permutations), "seed": seed, "alpha": alpha, "fdr": bool(fdr),
            "transform": transform, "global_moran_i": global_i,
            "counts": {c: int((out["lisa_code"] == c).sum()) for c in ("HH", "LL", "HL", "LH", "ns", "none", "null")}}
    if permutations and s0 > 0:
        rng = np.random.default_rng(None if seed is None else seed + 1)
        sims = np.empty(permutations)
        for start in range(0, permutations, 64):
            feedback.check()
            zp = np.column_stack([rng.permutation(z) for _ in range(min(64, permutations - start))])
            sims[start:start + zp.shape[1]] = n / s0 * (zp * (w @ zp)).sum(axis=0) / den
        larger = (sims >= global_i).sum()
        larger = min(larger, permutations - larger)
        diag["global_moran_p"] = float((larger + 1) / (permutations + 1))
    if fdr and permutations:
        diag["fdr_cutoff"] = fdr_cutoff(p[~island], alpha)
    feedback.progress(1.0)
    return out, diag


def gi_star(values, weights, permutations=999, seed=12345, transform="r", alpha=0.05, fdr=True,
            use="permutation", name="value", feedback=None):
    """Getis-Ord Gi* (the area counts as its own neighbour) with permutation inference.

    Parameters
    ----------
    use : {'permutation', 'normal'}
        Which p-value decides significance and bins: the conditional permutation pseudo
        p-value (default, as esda) or the two-sided normal p-value of the analytic z-score
        (as ArcGIS's Hot Spot Analysis).

    Returns
    -------
    (pandas.DataFrame, dict)
        Columns ``gi, gi_z, gi_pnorm, gi_p, gi_q, gi_zsim, gi_bin, gi_label``.
    """
    from scipy import sparse
    from scipy.stats import norm

    feedback = ensure_feedback(feedback)
    y, valid, binary = _prepare(values, weights, name)
    yv = y[valid]
    _check_values(yv, name)
    n = len(yv)
    card = np.asarray(binary.sum(axis=1)).ravel()
    island = card == 0
    star = (binary + sparse.identity(n, format="csr")).tocsr()
    if transform == "r":
        wstar = (sparse.diags(1.0 / (card + 1.0)) @ star).tocsr()
        wneigh = (sparse.diags(1.0 / (card + 1.0)) @ binary).tocsr()
        self_w = 1.0 / (card + 1.0)
    elif transform == "b":
        wstar, wneigh, self_w = star, binary.tocsr(), np.ones(n)
    else:
        _transform(binary, transform)  # raises the message
    num = wstar @ yv
    total = yv.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        g = num / total
    wi = np.asarray(wstar.sum(axis=1)).ravel()
    s1 = np.asarray(wstar.multiply(wstar).sum(axis=1)).ravel()
    mean, sd = yv.mean(), yv.std()
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = (num - mean * wi) / (sd * np.sqrt((n * s1 - wi ** 2) / (n - 1)))
    pnorm = 2 * norm.sf(np.abs(zval))
    p = np.full(n, np.nan)
    zsim = np.full(n, np.nan)
    if permutations:
        for pos, sims in conditional_lags(yv, wneigh, permutations, seed, feedback.step(0.0, 0.95)):
            numsim = sims + self_w[pos, None] * yv[pos, None]
            pp, m_, s_ = _fold(numsim, num[pos], permutations)
            p[pos] = pp
            with np.errstate(divide="ignore", invalid="ignore"):
                zsim[pos] = (num[pos] - m_) / s_
    for arr in (g, zval, pnorm, p, zsim):
        arr[island] = np.nan
    if use not in ("permutation", "normal"):
        raise InputError(tr("Unknown p-value choice '{value}'; use 'permutation' or 'normal'.", value=use))
    if use == "permutation" and not permutations:
        use = "normal"
    raw = p if use == "permutation" else pnorm
    q = fdr_adjust(raw) if fdr else raw.copy()
    judge = q if fdr else raw
    bins = confidence_bins(judge, direction=zval)
    out = pd.DataFrame(index=np.arange(len(y)))
    for key, arr in {"gi": g, "gi_z": zval, "gi_pnorm": pnorm, "gi_p": p, "gi_q": q,
                     "gi_zsim": zsim, "gi_bin": bins}.items():
        full = np.full(len(y), np.nan)
        full[valid] = arr
        out[key] = full
    texts = {b: _gi_label(b) for b in set(out["gi_bin"].dropna())}
    none_text, null_text = tr("No neighbours"), tr("No value")
    out["gi_label"] = [(null_text if not v else none_text if np.isnan(b) else texts[b])
                       for b, v in zip(out["gi_bin"], valid)]
    sig = np.zeros(len(y), dtype=bool)
    sig[valid] = np.nan_to_num(judge, nan=1.0) <= alpha
    out["gi_sig"] = sig
    diag = {"n": int(n), "n_null": int((~valid).sum()), "islands": int(island.sum()),
            "permutations": int(permutations), "seed": seed, "alpha": alpha, "fdr": bool(fdr),
            "transform": transform, "p_value": use,
            "counts": {int(b): int((out["gi_bin"] == b).sum()) for b in (3, 2, 1, 0, -1, -2, -3)}}
    feedback.progress(1.0)
    return out, diag


def _alternative_weights(frame, weights):
    """Other common neighbour definitions than ``weights`` for the sensitivity check."""
    from .weights import build_weights

    polygons = frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    candidates = [("queen", {}), ("rook", {}), ("knn", {"k": 6}), ("knn", {"k": 8})] if polygons \
        else [("knn", {"k": 4}), ("knn", {"k": 6}), ("knn", {"k": 8})]
    out = []
    for kind, params in candidates:
        if kind == weights.kind and params.get("k", None) == weights.parameters.get("k", None):
            continue
        if kind == "knn" and params["k"] >= len(frame):
            continue
        out.append(build_weights(frame, kind, **params))
    return out


@dataclass
class HotSpotOptions:
    """Settings of ``hot_spots``; every one has a default.

    Attributes
    ----------
    method : {'both', 'lisa', 'gi'}
        Local Moran's I (LISA), Getis-Ord Gi* or both (default).
    permutations : int
        Conditional permutations (999 by default; 0 = no permutation p-values: LISA then
        finds nothing significant, Gi* needs ``gi_pvalue='normal'``).
    transform : {'r', 'b'}
        Row-standardised (default) or binary weights.
    alpha : float
        Significance level of the categories and confidence bins (default 0.05).
    fdr : bool
        Judge significance on Benjamini–Hochberg q-values (default) instead of raw p.
    gi_pvalue : {'permutation', 'normal'}
        Gi*: the p-value that decides significance and bins: the conditional permutation
        pseudo p-value (default, as esda) or the normal p-value of the analytic z-score (as
        ArcGIS's Hot Spot Analysis).
    sensitivity : bool
        Also run the analysis with other common neighbour definitions (queen, rook, 6 and 8
        nearest; points: 4, 6, 8 nearest) and report per area the share of definitions
        (including the chosen one) that give the same result: ``lisa_robust``, ``gi_robust``
        (default False).
    """

    method: str = "both"
    permutations: int = 999
    transform: str = "r"
    alpha: float = 0.05
    fdr: bool = True
    gi_pvalue: str = "permutation"
    sensitivity: bool = False


def hot_spots(frame, field, weights, options=None, seed=12345, feedback=None, id_field=None):
    """Hot spots of one indicator of a layer: LISA and/or Gi* columns joined to a copy.

    Parameters
    ----------
    frame : GeoDataFrame
        The planning areas (row order = weights row order).
    field : str
        Numeric indicator; NULL areas are left out of the analysis (label 'No value').
    weights : SpatialWeights
        Built from the same frame (``weights.build_weights``).
    options : HotSpotOptions, optional
        Method, permutations, significance and sensitivity check (defaults:
        ``HotSpotOptions()``).
    seed : int
        Seed of the permutations; the same seed gives the same p-values.
    feedback : core.feedback.Feedback, optional
        Progress and cancellation.
    id_field : str, optional
        Area id field: repeated ids are refused (a repeated area is its own neighbour and
        counts twice in every local mean). Areas drawn twice are warned about either way.
        Build ``weights`` with the same ``id_field`` so that islands are named by it.

    Returns
    -------
    (GeoDataFrame, dict)
        The copy with the result columns, and diagnostics per method plus warnings
        (islands, NULL values) in planner language.
    """
    feedback = ensure_feedback(feedback)
    options = options_or_default(options, HotSpotOptions, "hot_spots")
    method, permutations, transform = options.method, options.permutations, options.transform
    alpha, fdr, gi_pvalue = options.alpha, options.fdr, options.gi_pvalue
    require_distinct_areas(frame, id_field, layer_name(frame), feedback)
    values = numeric_field(frame, field).to_numpy()
    if method not in ("both", "lisa", "gi"):
        raise InputError(tr("Unknown hot-spot method '{value}'; use 'both', 'lisa' or 'gi'.", value=method))
    _check_values(values[~np.isnan(values)], field)
    out = frame.copy()
    diag = {"field": field, "weights": weights.diagnostics(), "warnings": []}
    isl = weights.islands
    if len(isl):
        names = ", ".join(str(weights.ids[i]) for i in isl[:10])
        text = tr("{count} area(s) of layer '{layer}' have no neighbours with these weights ({ids}); "
                  "they get no hot-spot result. Use k nearest neighbours, a larger distance band "
                  "or link islands to their nearest area.", count=len(isl),
                  layer=layer_name(frame), ids=names)
        diag["warnings"].append(text)
        feedback.warning(text)
    if len(isl) == weights.n:
        raise InputError(tr("No area of layer '{layer}' has a neighbour with these weights; hot spots "
                            "cannot be computed. Use k nearest neighbours or a larger distance band.",
                            layer=layer_name(frame)))
    nnull = int(np.isnan(values).sum())
    if nnull:
        text = tr("{count} area(s) have no value in '{field}' and are left out.", count=nnull, field=field)
        diag["warnings"].append(text)
        feedback.warning(text)
    steps = [m for m in ("lisa", "gi") if method in (m, "both")]
    for k, m in enumerate(steps):
        sub = feedback.step(k / len(steps), (k + 1) / len(steps))
        if m == "lisa":
            res, d = local_moran(values, weights, permutations, seed, transform, alpha, fdr, field, sub)
        else:
            res, d = gi_star(values, weights, permutations, seed, transform, alpha, fdr, gi_pvalue, field, sub)
        for c in res.columns:
            out[c] = res[c].to_numpy()
        diag[m] = d
    if options.sensitivity:
        alternatives = _alternative_weights(frame, weights)
        column = {"lisa": "lisa_code", "gi": "gi_bin"}
        agree = {m: np.ones(len(frame)) for m in steps}
        for a, alt in enumerate(alternatives):
            sub = feedback.step(a / len(alternatives), (a + 1) / len(alternatives))
            for m in steps:
                if m == "lisa":
                    res, _ = local_moran(values, alt, permutations, seed, transform, alpha, fdr, field, sub)
                else:
                    res, _ = gi_star(values, alt, permutations, seed, transform, alpha, fdr, gi_pvalue, field, sub)
                same = res[column[m]].to_numpy() == out[column[m]].to_numpy()
                if m == "gi":  # 'no neighbours' / 'no value' (NaN) agree with themselves
                    same = same | (res["gi_bin"].isna().to_numpy() & out["gi_bin"].isna().to_numpy())
                agree[m] += same
        for m in steps:
            out[f"{m}_robust"] = agree[m] / (1 + len(alternatives))
        diag["sensitivity"] = [f"{w.kind}{w.parameters.get('k', '')}" for w in alternatives]
    return out, diag
