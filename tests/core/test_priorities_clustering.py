"""Typology clustering and profiles: planted clusters, k choice, stability, contiguity,
degenerate input, and the Berlin MSS 2021 indicators."""
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box
from sklearn.metrics import adjusted_rand_score

from kommunalmonitor.core.errors import InfeasibleError, InputError
from kommunalmonitor.core.i18n import tr
from kommunalmonitor.core.priorities import clustering as C
from kommunalmonitor.core.priorities import profiles as P
from kommunalmonitor.core.priorities import weights as W



def planted(seed=0, n_per=40):
    rng = np.random.default_rng(seed)
    centres = np.array([[2.0, 2.0, 0.0, 0.0], [-2.0, 0.0, 2.0, 0.0], [0.0, -2.0, -2.0, 1.0]])
    truth = np.repeat([0, 1, 2], n_per)
    X = centres[truth] + rng.normal(0, 0.6, (len(truth), 4))
    return pd.DataFrame(X, columns=["kinderarmut", "laerm", "gruen", "alter"]), truth


@pytest.mark.parametrize("method", ["kmeans", "ward", "gmm"])
def test_planted_clusters_are_recovered(method):
    frame, truth = planted()
    k_range = (2, 4) if method == "gmm" else (2, 6)
    options = C.TypologyOptions(method=method, k_range=k_range, n_boot=8)
    res = C.cluster_typology(frame, list(frame.columns), options, seed=4)
    assert res.k == 3
    assert adjusted_rand_score(truth, res.labels) > 0.9
    assert res.diagnostics["ari_median"] > 0.9 and np.nanmean(res.stability) > 0.9
    assert list(res.curve["k"]) == list(range(k_range[0], k_range[1] + 1))
    assert res.curve.loc[res.curve["silhouette"].idxmax(), "k"] == 3
    if method == "gmm":
        assert res.curve.loc[res.curve["bic"].idxmin(), "k"] == 3
    # canonical numbering: cluster 1 has the highest mean z over all indicators
    z = C.standardise(frame, list(frame.columns)).to_numpy().mean(axis=1)
    means = [z[res.labels == c].mean() for c in (1, 2, 3)]
    assert means == sorted(means, reverse=True)


def test_same_seed_same_typology():
    frame, _ = planted(1)
    a = C.cluster_typology(frame, list(frame.columns), C.TypologyOptions(k=3, n_boot=3), seed=9)
    b = C.cluster_typology(frame, list(frame.columns), C.TypologyOptions(k=3, n_boot=3), seed=9)
    assert np.array_equal(a.labels, b.labels) and np.allclose(a.stability, b.stability)
    assert np.allclose(a.ari, b.ari)


def test_contiguous_ward_gives_connected_clusters():
    n = 8
    cells = [box(c, r, c + 1, r + 1) for r in range(n) for c in range(n)]
    rng = np.random.default_rng(2)
    cols = np.tile(np.arange(n), n)
    v = np.where(cols < 4, 0.0, 3.0) + rng.normal(0, 0.3, n * n)
    g = gpd.GeoDataFrame({"v": v, "u": rng.normal(0, 0.3, n * n)}, geometry=cells, crs="EPSG:25833")
    w = W.build_weights(g, "rook")
    res = C.cluster_typology(g, ["v", "u"], C.TypologyOptions(k=4, method="ward", n_boot=3), weights=w)
    from scipy.sparse.csgraph import connected_components

    for c in range(1, 5):
        sel = np.flatnonzero(res.labels == c)
        ncomp, _ = connected_components(w.neighbours[sel][:, sel], directed=False)
        assert ncomp == 1
    assert adjusted_rand_score(cols < 4, np.isin(res.labels, [1, 2])) > 0.9


def test_degenerate_inputs():
    frame, _ = planted()
    with pytest.raises(InfeasibleError, match="at most"):
        C.cluster_typology(frame.iloc[:5], list(frame.columns), C.TypologyOptions(k=6, n_boot=0))
    with pytest.raises(InputError, match="at least 3 areas"):
        C.cluster_typology(frame.iloc[:1], list(frame.columns),
                           C.TypologyOptions(n_boot=0, standardise_fields=False))
    same = frame.assign(kinderarmut=1.0)
    with pytest.raises(InputError, match="same value in every area"):
        C.cluster_typology(same, list(frame.columns))
    with pytest.raises(InfeasibleError, match="different indicator profiles"):
        C.cluster_typology(pd.DataFrame({"a": [0.0, 0, 0, 1, 1, 1]}), ["a"], C.TypologyOptions(k=3, n_boot=0))


def test_profiles_r2_and_names():
    frame, truth = planted()
    labels = truth + 1
    labels_meta = {"kinderarmut": {"en": "child poverty", "de": "Kinderarmut", "genus": "f"},
                   "gruen": {"en": "green space", "de": "Grün", "low_en": "little green",
                             "low_de": "wenig Grün"}}
    profile, summary, r2 = P.cluster_profiles(frame, list(frame.columns), labels, labels=labels_meta)
    # R² by hand for one indicator
    x = frame["laerm"].to_numpy()
    ssb = sum((truth == c).sum() * (x[truth == c].mean() - x.mean()) ** 2 for c in range(3))
    assert r2["laerm"] == pytest.approx(ssb / ((x - x.mean()) ** 2).sum())
    row = profile[(profile.cluster == 1) & (profile.indicator == "kinderarmut")].iloc[0]
    assert row["mean"] == pytest.approx(x[truth == 0].mean() * 0 + frame["kinderarmut"][truth == 0].mean())
    assert row["sd"] == pytest.approx(frame["kinderarmut"][truth == 0].std(ddof=1))
    names = summary.set_index("cluster")
    assert "hohe Kinderarmut" in names.loc[1, "name_de"]
    assert "high child poverty" in names.loc[1, "name_en"]
    assert "wenig Grün" in names.loc[3, "name_de"] and "little green" in names.loc[3, "name_en"]
    assert names.loc[2, "name_en"].startswith("low child poverty")
    flat = pd.DataFrame({"a": [1.0, 1.2, 0.8, 1.4, 0.6, 1.0]})
    _, s, _ = P.cluster_profiles(flat, ["a"], [1, 1, 1, 2, 2, 2])
    assert s["name_en"].iloc[0] == "close to the city average"
    assert s["name_de"].iloc[0] == tr("close to the city average", lang="de")


def test_berlin_mss_typology(berlin_mss):
    frame = berlin_mss
    fields = ["S1", "S3", "S4", "D1", "D3", "D4", "KI_01", "KI_02", "KI_03", "KI_04", "KI_05"]
    res = C.cluster_typology(frame, fields, C.TypologyOptions(method="kmeans", k_range=(2, 5), n_boot=5),
                             seed=2021)
    assert res.diagnostics["n"] == 536 and res.diagnostics["n_incomplete"] == 6
    assert 2 <= res.k <= 6 and (res.labels[frame["KOM"] != "gültig"] == 0).all()
    profile, summary, r2 = P.cluster_profiles(frame, fields, res.labels)
    # status indicators separate the typology best, and cluster 1 is the most disadvantaged
    assert max(r2, key=r2.get) in ("S1", "S3", "S4")
    s4 = profile[profile.indicator == "S4"].set_index("cluster")["mean"]
    assert s4.idxmax() == 1
    assert res.diagnostics["ari_median"] > 0.5


def test_indicator_names_from_text():
    labels = P.parse_labels("S4 = Kinderarmut / child poverty : f; gruen = Grün")
    assert labels == {"S4": {"de": "Kinderarmut", "en": "child poverty", "genus": "f"},
                      "gruen": {"de": "Grün", "en": "Grün"}}
    assert P.indicator_phrase("S4", "high", labels, "de") == "hohe Kinderarmut"
    assert P.indicator_phrase("S4", "low", labels, "en") == "low child poverty"
    assert P.indicator_phrase("gruen", "low", labels, "de") == "Grün niedrig"
    assert P.parse_labels("") == {}
    with pytest.raises(InputError, match="Cannot read the indicator name"):
        P.parse_labels("S4 Kinderarmut")


def test_settings_come_as_one_options_object():
    """TypologyOptions() holds the defaults; the old separate keywords are gone, not silently ignored."""
    frame, _ = planted(2, n_per=10)
    a = C.cluster_typology(frame, list(frame.columns), seed=3)
    defaults = C.TypologyOptions(k=None, k_range=(2, 8), method="kmeans", criterion="silhouette",
                                 standardise_fields=True, n_boot=50)
    b = C.cluster_typology(frame, list(frame.columns), defaults, seed=3)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.stability, b.stability)
    with pytest.raises(TypeError, match="TypologyOptions"):
        C.cluster_typology(frame, list(frame.columns), 3)
    with pytest.raises(TypeError, match="n_boot"):
        C.cluster_typology(frame, list(frame.columns), n_boot=0)
