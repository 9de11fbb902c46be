"""Typology of planning areas by clustering standardised indicators.

Methods (scikit-learn, on both stacks): k-means (Lloyd, k-means++ starts), Ward
hierarchical clustering — optionally *spatially contiguous* by passing a contiguity
matrix as connectivity, so a cluster only merges neighbouring groups — and Gaussian
mixtures (full covariance).

Choice of k: over a range, the silhouette (higher is better; above 3,000 areas on a
seeded sample of 3,000), Calinski–Harabasz pseudo-F
(higher is better) and, for mixtures, BIC (lower is better) are computed and returned as a
curve; the chosen k maximises the selected criterion.

Stability: ``bootstrap`` resamples areas with replacement, refits, assigns every area to
its nearest resample cluster (mixtures: most probable component), and compares with the
full-data clusters by the adjusted Rand index (ARI). Resample clusters are matched to the
full-data clusters by the Hungarian method on their overlap; the per-area stability is the
share of resamples in which the area keeps its cluster.

Cluster numbers are canonical: 1 is the cluster with the highest mean of the (oriented)
standardised indicators, i.e. the most burdened one when higher = more burden. So labels do
not depend on arbitrary solver numbering, and the same seed gives the same result.
"""
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from ..errors import InfeasibleError, InputError
from ..feedback import ensure_feedback
from ..i18n import tr
from ..options import options_or_default
from ..validate import layer_name, numeric_field, require_distinct_areas

METHODS = ("kmeans", "ward", "gmm")
CRITERIA = ("silhouette", "calinski_harabasz", "bic")


@dataclass
class ClusterResult:
    """Labels (1..k), the k-selection curve, stability and diagnostics."""

    labels: np.ndarray
    k: int
    method: str
    curve: pd.DataFrame
    stability: np.ndarray = None
    ari: np.ndarray = None
    centres: np.ndarray = None
    diagnostics: dict = field(default_factory=dict)


@dataclass
class TypologyOptions:
    """Settings of ``cluster_typology``; every one has a default.

    Attributes
    ----------
    k : int, optional
        Number of clusters; when None (default) chosen over ``k_range`` by ``criterion``.
    k_range : tuple of int
        Smallest and largest number of clusters to try when ``k`` is None (default 2 to 8;
        at most one less than the number of areas is tried).
    method : {'kmeans', 'ward', 'gmm'}
        k-means (default), Ward (the only one for spatially contiguous clusters) or Gaussian
        mixtures.
    criterion : {'silhouette', 'calinski_harabasz', 'bic'}
        What chooses k (default silhouette; BIC for mixtures only).
    standardise_fields : bool
        z-standardise the fields first (population sd, default); switch off for ready z-scores.
    n_boot : int
        Bootstrap resamples for stability (default 50; 0 = skip).
    """

    k: Optional[int] = None
    k_range: tuple = (2, 8)
    method: str = "kmeans"
    criterion: str = "silhouette"
    standardise_fields: bool = True
    n_boot: int = 50


def standardise(frame, fields, name=None):
    """z-scores (population sd, as the MSS) of ``fields``; raises on constant or missing fields."""
    data = {}
    for f in fields:
        x = numeric_field(frame, f, name=name).to_numpy()
        sd = np.nanstd(x)
        if not sd > 0:
            raise InputError(tr("Indicator '{field}' has the same value in every area of layer '{layer}'; "
                                "it cannot separate clusters. Leave it out.",
                                field=f, layer=layer_name(frame, name)))
        data[f] = (x - np.nanmean(x)) / sd
    return pd.DataFrame(data, index=frame.index)


def _check(X, k, name="input layer"):
    n = X.shape[0]
    if n < 3:
        raise InputError(tr("Clustering needs at least 3 areas with complete indicator values; "
                            "layer '{layer}' has {n}.", layer=name, n=n))
    if k < 2:
        raise InputError(tr("The number of clusters must be at least 2 (got {k}).", k=k))
    if k >= n:
        raise InfeasibleError(tr("{k} clusters were asked for, but only {n} areas have complete values; "
                                 "choose fewer clusters (at most {most}).", k=k, n=n, most=n - 1))
    if np.unique(X, axis=0).shape[0] < k:
        raise InfeasibleError(tr("Only {m} different indicator profiles exist, fewer than the {k} "
                                 "clusters asked for; choose fewer clusters.",
                                 m=int(np.unique(X, axis=0).shape[0]), k=k))


def _fit(X, k, method, seed, connectivity=None, quick=False):
    """Labels 0..k-1 and a predict function for new rows."""
    if method == "kmeans":
        from sklearn.cluster import KMeans

        model = KMeans(n_clusters=k, n_init=3 if quick else 10, random_state=seed, algorithm="lloyd").fit(X)
        return model.labels_, model.cluster_centers_, model
    if method == "ward":
        from sklearn.cluster import AgglomerativeClustering

        model = AgglomerativeClustering(n_clusters=k, linkage="ward", connectivity=connectivity)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 'completing connectivity' for islands is reported by us
            labels = model.fit_predict(_separate_components(X, connectivity))
        centres = np.vstack([X[labels == c].mean(axis=0) for c in range(k)])
        return labels, centres, None
    if method == "gmm":
        from sklearn.mixture import GaussianMixture

        model = GaussianMixture(n_components=k, covariance_type="full", n_init=1 if quick else 2,
                                random_state=seed, reg_covar=1e-6).fit(X)
        labels = model.predict(X)
        return labels, model.means_, model
    raise InputError(tr("Unknown clustering method '{method}'; use one of {methods}.",
                        method=method, methods=", ".join(METHODS)))


def _canonical(labels, X, k):
    """Relabel so cluster 0 has the highest mean of all indicators, then descending."""
    present = np.unique(labels)
    means = np.array([X[labels == c].mean() if (labels == c).any() else -np.inf for c in range(k)])
    order = np.lexsort((np.arange(k), -means))  # ties broken by solver number
    mapping = np.empty(k, dtype=int)
    mapping[order] = np.arange(k)
    del present
    return mapping[labels], mapping


def _separate_components(X, connectivity):
    """``X`` with a column that keeps Ward from merging across separate groups of areas.

    scikit-learn completes a connectivity graph of several components by linking them in
    feature space, so a "contiguous" type could span an island. A constant far offset per
    component makes every merge across components cost more than any merge within one, so
    components are only joined when fewer types than components are asked for (the
    caller then names the broken type). Within a component the offset is constant and
    changes nothing; a connected graph gets X unchanged.
    """
    if connectivity is None:
        return X
    from scipy.sparse.csgraph import connected_components

    ncomp, component = connected_components(connectivity, directed=False)
    if ncomp < 2:
        return X
    spread = float(np.sqrt(np.sum((np.nanmax(X, axis=0) - np.nanmin(X, axis=0)) ** 2))) or 1.0
    # a within-component Ward merge costs at most n/4 · spread²; across, at least offset²/2
    offset = 10.0 * spread * np.sqrt(X.shape[0])
    return np.column_stack([X, component * offset])


def _id_list(ids, most=10):
    """Up to ``most`` area ids for a message."""
    shown = [str(v.item() if hasattr(v, "item") else v) for v in list(ids)[:most]]
    return ", ".join(shown) + (", …" if len(ids) > most else "")


def _broken_types(connectivity, labels, ids):
    """Types (1..k) that are not one connected region: ``(type, parts, ids apart from the largest part)``.

    Ward's method with a connectivity graph of several components completes the graph
    itself (scikit-learn), so a type can then span an island; this checks the promise on
    the graph as the planner gave it.
    """
    from scipy.sparse.csgraph import connected_components

    broken = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        parts, part = connected_components(connectivity[members][:, members], directed=False)
        if parts > 1:
            largest = np.argmax(np.bincount(part))
            broken.append((int(c) + 1, int(parts), list(ids[members[part != largest]])))
    return broken


def select_k(X, k_range=(2, 8), method="kmeans", seed=12345, connectivity=None, feedback=None):
    """The k-selection curve: silhouette, Calinski–Harabasz and (mixtures) BIC per k."""
    from sklearn.metrics import calinski_harabasz_score, silhouette_score

    feedback = ensure_feedback(feedback)
    k_min, k_max = int(k_range[0]), int(k_range[1])
    n = X.shape[0]
    k_max = min(k_max, n - 1)
    if k_max < max(k_min, 2):
        raise InfeasibleError(tr("No number of clusters between {a} and {b} fits {n} areas; "
                                 "choose a smaller range.", a=k_range[0], b=k_range[1], n=n))
    rows = []
    ks = list(range(max(k_min, 2), k_max + 1))
    for idx, k in enumerate(ks):
        feedback.check()
        labels, _, model = _fit(X, k, method, seed, connectivity)
        row = {"k": k, "silhouette": np.nan, "calinski_harabasz": np.nan, "bic": np.nan}
        if len(np.unique(labels)) > 1:
            # exact up to 3,000 areas; above, on a seeded sample of 3,000 (the full score needs
            # n² distances: 10,000 areas = 800 MB)
            sample = None if n <= 3000 else 3000
            row["silhouette"] = float(silhouette_score(X, labels, sample_size=sample, random_state=seed))
            row["calinski_harabasz"] = float(calinski_harabasz_score(X, labels))
        if method == "gmm":
            row["bic"] = float(model.bic(X))
        rows.append(row)
        feedback.progress((idx + 1) / len(ks))
    return pd.DataFrame(rows)


def _best_k(curve, criterion):
    if criterion == "bic":
        if curve["bic"].isna().all():
            raise InputError(tr("BIC is only defined for Gaussian mixtures; choose the silhouette or "
                                "Calinski–Harabasz criterion."))
        return int(curve.loc[curve["bic"].idxmin(), "k"])
    if criterion not in CRITERIA:
        raise InputError(tr("Unknown criterion '{value}'; use one of {values}.",
                            value=criterion, values=", ".join(CRITERIA)))
    return int(curve.loc[curve[criterion].idxmax(), "k"])


def _assign(X, centres):
    """Nearest centre (squared Euclidean)."""
    d = ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return d.argmin(axis=1)


def bootstrap_stability(X, labels, k, method="kmeans", n_boot=50, seed=12345, connectivity=None,
                        feedback=None):
    """ARI per resample and per-area share of resamples keeping the cluster.

    Contiguity-constrained Ward refits on the distinct resampled areas with their
    connectivity sub-matrix (duplicates would have no neighbours of their own).
    """
    from sklearn.metrics import adjusted_rand_score

    feedback = ensure_feedback(feedback)
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    aris = np.full(n_boot, np.nan)
    kept = np.zeros(n)
    done = 0
    for b in range(n_boot):
        feedback.check()
        sample = rng.choice(n, size=n, replace=True)
        conn = None
        if connectivity is not None:
            sample = np.unique(sample)
            conn = connectivity[sample][:, sample]
        Xs = X[sample]
        if np.unique(Xs, axis=0).shape[0] <= k:
            continue
        sub_seed = int(rng.integers(0, 2**31 - 1))
        lab_s, centres, model = _fit(Xs, k, method, sub_seed, conn, quick=True)
        if method == "gmm":
            full = model.predict(X)
        else:
            full = _assign(X, centres)
        aris[b] = adjusted_rand_score(labels, full)
        table = np.zeros((k, k))
        np.add.at(table, (full, labels), 1)
        rows, cols = linear_sum_assignment(-table)
        mapping = np.arange(k)
        mapping[rows] = cols
        kept += mapping[full] == labels
        done += 1
        feedback.progress((b + 1) / n_boot)
    stability = kept / done if done else np.full(n, np.nan)
    return aris, stability


def _single_thread():
    """Limit BLAS/OpenMP to one thread: planning-area data are small, and on busy machines
    OpenMP threads of scikit-learn spin (measured 0.5 s vs 0.1 s for the Berlin typology)."""
    import sklearn.cluster  # noqa: F401 -- load the OpenMP/BLAS libraries first: threadpoolctl
    import sklearn.metrics  # noqa: F401 -- only limits libraries that are already loaded
    import sklearn.mixture  # noqa: F401

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn depends on it, but stay usable without
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1)


def cluster_typology(frame, fields, options=None, weights=None, seed=12345, feedback=None, id_field=None):
    """Cluster planning areas into a typology.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame
        One row per planning area.
    fields : list of str
        Indicators (or their z-scores ``z_<indicator>`` from the index engine).
    options : TypologyOptions, optional
        Number of clusters or the range to choose it from, method, criterion,
        standardisation and bootstrap resamples (defaults: ``TypologyOptions()``).
    weights : SpatialWeights, optional
        Contiguity weights for spatially contiguous clusters (Ward only).
    seed : int
        Seed of the solvers and resamples; the same seed gives the same typology.
    feedback : core.feedback.Feedback, optional
        Progress and cancellation.
    id_field : str, optional
        Area id field: repeated ids are refused (a repeated area pulls a cluster centre
        towards itself twice). Areas drawn twice are warned about either way. Build
        ``weights`` with the same ``id_field`` so that islands are named by it.

    Returns
    -------
    ClusterResult
        ``labels`` 1..k (NaN-free areas; areas with missing values get 0), the k curve,
        per-area ``stability``, bootstrap ``ari`` and diagnostics.
    """
    feedback = ensure_feedback(feedback)
    options = options_or_default(options, TypologyOptions, "cluster_typology")
    require_distinct_areas(frame, id_field, layer_name(frame), feedback)
    with _single_thread():
        return _cluster_typology(frame, fields, options, weights, seed, feedback)


def _cluster_typology(frame, fields, options, weights, seed, feedback):
    """Implementation of ``cluster_typology``."""
    feedback = ensure_feedback(feedback)
    k, k_range, method, criterion = options.k, options.k_range, options.method, options.criterion
    standardise_fields, n_boot = options.standardise_fields, options.n_boot
    if not fields:
        raise InputError(tr("Choose at least one indicator field for the clustering."))
    if method not in METHODS:
        raise InputError(tr("Unknown clustering method '{method}'; use one of {methods}.",
                            method=method, methods=", ".join(METHODS)))
    data = standardise(frame, fields) if standardise_fields else \
        pd.DataFrame({f: numeric_field(frame, f).to_numpy() for f in fields}, index=frame.index)
    complete = data.notna().all(axis=1).to_numpy()
    X = data.to_numpy()[complete]
    name = layer_name(frame)
    connectivity = None
    diag = {"method": method, "fields": list(fields), "n": int(complete.sum()),
            "n_incomplete": int((~complete).sum()), "seed": seed, "warnings": []}
    if weights is not None:
        if method != "ward":
            raise InputError(tr("Spatially contiguous clusters are built with Ward's method; "
                                "choose the method 'ward'."))
        if weights.n != len(frame):
            raise InputError(tr("The weights have {m} areas but the field '{field}' has {n} values.",
                                m=weights.n, field=fields[0], n=len(frame)))
        connectivity = weights.neighbours[complete][:, complete].tocsr()
        from scipy.sparse.csgraph import connected_components

        ncomp, component = connected_components(connectivity, directed=False)
        diag["components"] = int(ncomp)
        if ncomp > 1:
            # name the areas apart from the largest group (by id, never by row number)
            ids = np.asarray(weights.ids, dtype=object)[complete]
            apart = ids[component != np.argmax(np.bincount(component))]
            diag["warnings"].append(tr(
                "The areas form {count} separate groups without shared borders (islands); a cluster "
                "cannot be contiguous across them, so at least {count} clusters result. Areas apart "
                "from the largest group: {ids}.", count=ncomp, ids=_id_list(apart)))
    if k is None:
        if X.shape[0] < 3:
            _check(X, 2, name)
        curve = select_k(X, k_range, method, seed, connectivity, feedback.step(0.0, 0.5))
        k = _best_k(curve, criterion)
    else:
        k = int(k)
        _check(X, k, name)
        curve = select_k(X, (k, k), method, seed, connectivity, feedback.step(0.0, 0.1))
    _check(X, k, name)
    raw, centres, model = _fit(X, k, method, seed, connectivity)
    labels, mapping = _canonical(raw, X, k)
    centres_c = np.empty_like(centres)
    centres_c[mapping] = centres
    aris, stab = (None, None)
    if n_boot:
        aris, stab = bootstrap_stability(X, labels, k, method, n_boot, seed, connectivity,
                                         feedback.step(0.5, 1.0))
    full_labels = np.zeros(len(frame), dtype=int)
    full_labels[complete] = labels + 1
    full_stab = np.full(len(frame), np.nan)
    if stab is not None:
        full_stab[complete] = stab
    diag.update({"k": int(k), "criterion": criterion,
                 "ari_median": float(np.nanmedian(aris)) if aris is not None else None,
                 "ari_mean": float(np.nanmean(aris)) if aris is not None else None,
                 "n_boot": int(n_boot), "sizes": np.bincount(labels, minlength=k).tolist()})
    if (~complete).any():
        diag["warnings"].append(tr("{count} area(s) have missing indicator values and get no cluster (0).",
                                   count=int((~complete).sum())))
    if connectivity is not None:
        diag["broken_types"] = _broken_types(connectivity, labels, np.asarray(weights.ids, dtype=object)[complete])
        for cluster, parts, ids in diag["broken_types"]:
            diag["warnings"].append(tr(
                "Type {cluster} is not one connected region: it falls into {parts} parts without shared "
                "borders. Areas apart from its largest part: {ids}. Islands or areas cut off by missing "
                "values cause this; choose at least as many types as there are separate groups, or join "
                "the island to a neighbour.", cluster=cluster, parts=parts, ids=_id_list(ids)))
    feedback.progress(1.0)
    return ClusterResult(full_labels, int(k), method, curve, full_stab, aris, centres_c, diag)
