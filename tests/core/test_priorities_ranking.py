"""Priority ranking: rules by hand, reasons and robustness for every area, min population,
determinism, decision table export; Berlin MSS 2021 status classes as the index class."""
import numpy as np
import pandas as pd
import pytest

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.priorities import ranking as R
from kommunalmonitor.core.priorities import table as T


def areas():
    return pd.DataFrame({
        "plr": ["A", "B", "C", "D", "E"],
        "z_S4": [2.1, 1.2, 0.2, -1.0, 1.6],
        "z_S1": [1.5, 1.1, 0.0, -0.5, -0.2],
        "z_S3": [1.2, 0.3, 0.1, -1.2, 0.4],
        "index": [1.9, 1.2, 0.1, -1.3, 0.8],
        "index_class": [4, 3, 2, 1, 2],
        "EW": [5000.0, 3000.0, 250.0, 8000.0, 4000.0],
        "kinder": [900.0, 400.0, 20.0, 1000.0, 500.0],
        "gi_bin": [3, 2, 0, -2, 1],
    })


def test_rules_by_hand():
    f = areas()
    out, _ = R.rank_priorities(f, "index_class", R.RankingOptions(class_field="index_class"))
    assert out["priority"].tolist() == [1, 2, 3, 4, 3]
    out, _ = R.rank_priorities(f, "index_class")  # index bands > 1.5, > 1, >= -1
    assert out["priority"].tolist() == [1, 2, 3, 4, 3]
    out, _ = R.rank_priorities(f, "burden_count")  # counts of z >= 1: 3, 2, 0, 0, 1
    assert out["priority"].tolist() == [1, 2, 4, 4, 3]
    out, _ = R.rank_priorities(f, "hotspot", R.RankingOptions(hotspot_field="gi_bin"))
    assert out["priority"].tolist() == [1, 2, 4, 4, 3]
    # weighted mean of (index class, burden): E: (3 + 3)/2 = 3; B: 2; rounding halves up-priority
    out, _ = R.rank_priorities(f, "weighted",
                               R.RankingOptions(combination={"index_class": 1, "hotspot": 1},
                                                class_field="index_class", hotspot_field="gi_bin"))
    assert out["priority"].tolist() == [1, 2, 3, 4, 3]
    out, _ = R.rank_priorities(f.assign(h=[3, 0, 0, 0, 0]), "weighted",
                               R.RankingOptions(combination={"index_class": 1, "hotspot": 1},
                                                class_field="index_class", hotspot_field="h"))
    assert out["priority"].tolist()[1] == 3  # (2 + 4)/2 = 3
    assert out["score"].tolist()[4] == 3.5 and out["priority"].tolist()[4] == 3


def test_reasons_robustness_and_people():
    f = areas()
    out, diag = R.rank_priorities(f, "index_class",
                                  R.RankingOptions(population_field="EW", children_field="kinder",
                                                   min_population=300, seed=3, n_runs=100))
    assert out["priority"].tolist() == [1, 2, 0, 4, 3]
    assert out.loc[0, "reasons_en"].startswith("Priority 1 (highest): index 1.90 SD")
    assert "z_S4" not in out.loc[0, "reasons_en"] and "S4 +2.1 SD above the city average" in out.loc[0, "reasons_en"]
    assert "S4 +2,1 SD" in out.loc[0, "reasons_de"] and "Priorität 1" in out.loc[0, "reasons_de"]
    assert "fewer than 250" not in out.loc[2, "reasons_en"] and "fewer than 300 residents" in out.loc[2, "reasons_en"]
    valid = out["priority"] > 0
    assert out.loc[valid, "robustness"].between(0, 1).all() and out.loc[valid, "robustness"].notna().all()
    assert diag["levels"][1] == {"areas": 1, "residents": 5000.0, "children": 900.0,
                                 "mean_robustness": out.loc[0, "robustness"]}
    again, _ = R.rank_priorities(f, "index_class",
                                 R.RankingOptions(population_field="EW", min_population=300, seed=3,
                                                  n_runs=100))
    assert np.array_equal(again["robustness"].to_numpy(), out["robustness"].to_numpy(), equal_nan=True)
    # an area far beyond its class bounds is robust, one near a bound is not
    assert out.loc[3, "robustness"] >= out.loc[1, "robustness"]
    given, d = R.rank_priorities(f.assign(p=[95, 60, 99, 80, 70]), "index_class",
                                 R.RankingOptions(class_field="index_class", robustness_field="p"))
    assert given["robustness"].tolist() == [0.95, 0.6, 0.99, 0.8, 0.7] and d["robustness_source"] == "field"


def test_cluster_rule_with_names_and_bad_rules():
    f = areas().assign(cl=[1, 1, 3, 4, 2], stab=[0.9, 0.8, 0.7, 1.0, 0.5])
    names = {1: {"en": "high child poverty", "de": "hohe Kinderarmut"}}
    out, _ = R.rank_priorities(f, "cluster",
                               R.RankingOptions(cluster_field="cl", cluster_names=names,
                                                robustness_field="stab"))
    assert out["priority"].tolist() == [1, 1, 3, 4, 2]
    assert "cluster 1 (high child poverty)" in out.loc[0, "reasons_en"]
    assert "(hohe Kinderarmut)" in out.loc[0, "reasons_de"]
    with pytest.raises(InputError, match="Unknown priority rule"):
        R.rank_priorities(f, "magic")
    with pytest.raises(InputError, match="positive weights"):
        R.rank_priorities(f, "weighted", R.RankingOptions(combination={"index_class": -1}))
    with pytest.raises(InputError, match="no features"):
        R.rank_priorities(f.iloc[:0], "index_class")
    with pytest.raises(InputError, match="z-score fields"):
        R.rank_priorities(f[["plr", "index"]], "burden_count")


def test_decision_table_csv_and_xlsx(tmp_path):
    f = areas()
    out, diag = R.rank_priorities(f, "index_class",
                                  R.RankingOptions(class_field="index_class", population_field="EW",
                                                   children_field="kinder", robustness_field=None))
    table = T.decision_table(f, out, id_field="plr", extra_fields={"index": "index", "index_class": "index_class"})
    assert list(table.columns)[:6] == ["Planungsraum", "Priorität", "Priorität (Text)", "Gründe",
                                       "Robustheit (%)", "Einwohner"]
    assert table["Planungsraum"].tolist() == ["A", "B", "C", "E", "D"]
    csv = T.write_decision_table(table, str(tmp_path / "p.csv"))
    raw = open(csv, encoding="utf-8-sig").read()
    assert raw.splitlines()[0].startswith("Planungsraum;Priorität;") and "1,9" in raw
    back = pd.read_csv(csv, sep=";", decimal=",", encoding="utf-8-sig")
    assert back["Einwohner"].tolist() == [5000.0, 3000.0, 250.0, 4000.0, 8000.0]
    xlsx = T.write_decision_table(table, str(tmp_path / "p.xlsx"), T.summary_table(out), diag["note"])
    sheets = pd.read_excel(xlsx, sheet_name=None)
    assert set(sheets) == {"Prioritaeten", "Uebersicht", "Hinweis"}
    assert sheets["Prioritaeten"]["Gründe"].iloc[0] == table["Gründe"].iloc[0]
    assert sheets["Uebersicht"]["Einwohner"].sum() == 20250.0
    with pytest.raises(InputError, match=".csv or .xlsx"):
        T.write_decision_table(table, str(tmp_path / "p.ods"))


def test_berlin_mss_status_classes_as_priorities(berlin_dir):
    idx = pd.read_csv(f"{berlin_dir}/mss_2021_indizes.csv", dtype={"PLR_ID": str})
    ind = pd.read_csv(f"{berlin_dir}/mss_2021_index_indikatoren.csv", dtype={"PLR_ID": str})
    frame = ind.merge(idx[["PLR_ID", "SI_N"]], on="PLR_ID")
    frame = frame[frame["KOM"] == "gültig"].reset_index(drop=True)
    for c in ("S1", "S3", "S4"):
        frame[f"z_{c}"] = (frame[c] - frame[c].mean()) / frame[c].std(ddof=0)
    s = frame[["z_S1", "z_S3", "z_S4"]].sum(axis=1)
    frame["index"] = (s - s.mean()) / s.std(ddof=0)
    out, diag = R.rank_priorities(frame, "index_class",
                                  R.RankingOptions(z_fields=["z_S1", "z_S3", "z_S4"], population_field="EW",
                                                   n_runs=60, seed=2021))
    # the MSS status classes reproduced: sehr niedrig (4) -> 1 ... hoch (1) -> 4; 49/46/366/75
    expected = frame["SI_N"].map({4: 1, 3: 2, 2: 3, 1: 4}).to_numpy()
    assert (out["priority"].to_numpy() == expected).all()
    assert [diag["levels"][k]["areas"] for k in (1, 2, 3, 4)] == [49, 46, 366, 75]
    assert out["robustness"].between(0, 1).all()
    assert diag["levels"][1]["mean_robustness"] > diag["levels"][2]["mean_robustness"]


def test_missing_values_get_no_priority_with_a_reason():
    f = areas().assign(index_class=[4, 3, None, 1, 2], gi_bin=[3, 2, np.nan, -2, 1])
    out, _ = R.rank_priorities(f, "index_class", R.RankingOptions(class_field="index_class", n_classes=4))
    assert out["priority"].tolist() == [1, 2, 0, 4, 3]
    assert out.loc[2, "reasons_en"] == "No priority: no value for this rule (missing data)"
    assert np.isnan(out.loc[2, "robustness"])
    out, _ = R.rank_priorities(f.assign(index_class=[3, 3, 2, 2, 2]), "index_class",
                               R.RankingOptions(class_field="index_class", n_classes=4))
    assert out["priority"].tolist() == [2, 2, 3, 3, 3]  # class 3 of 4 is level 2 even without class 4
    out, _ = R.rank_priorities(f.assign(code=["HH", "none", "null", "LL", "HL"]), "hotspot",
                               R.RankingOptions(hotspot_field="code"))
    assert out["priority"].tolist() == [1, 0, 0, 4, 2]


def test_priorities_from_the_index_engine_on_berlin(berlin_dir):
    """Index engine end to end: MSS status index → classes → levels, the engine's reasons and
    Monte-Carlo class probability as robustness."""
    idx = pd.read_csv(f"{berlin_dir}/mss_2021_indizes.csv", dtype={"PLR_ID": str})
    ind = pd.read_csv(f"{berlin_dir}/mss_2021_index_indikatoren.csv", dtype={"PLR_ID": str})
    frame = ind.merge(idx[["PLR_ID", "SI_N"]], on="PLR_ID")
    frame = frame[frame["KOM"] == "gültig"].reset_index(drop=True)
    labels = {"S1": "unemployment", "S3": "transfer receipt", "S4": "child poverty"}
    out, diag = R.priorities_from_index(frame, ["S1", "S3", "S4"], population="EW",
                                        options=R.IndexPriorityOptions(n_runs=100, labels=labels), seed=1)
    expected = frame["SI_N"].map({4: 1, 3: 2, 2: 3, 1: 4}).to_numpy()
    assert (out["priority"].to_numpy() == expected).all()
    assert out["robustness"].between(0, 1).all() and diag["robustness_source"] == "index_monte_carlo"
    top = out["index"].idxmax()
    assert out.loc[top, "reasons_en"].startswith("Priority 1 (highest): index class 4 — ")
    assert "SD above the city average" in out.loc[top, "reasons_en"]
    assert any(name in out.loc[top, "reasons_en"] for name in labels.values())
    # deep inside a class is robust, on a class boundary it is not
    margin = np.abs(out["index"] - 1.5)
    assert out.loc[margin.idxmin(), "robustness"] < out.loc[top, "robustness"] == 1.0


def test_ready_burden_count_field():
    f = areas().assign(burden_count=[4, 2, None, 0, 1])
    out, diag = R.rank_priorities(f, "burden_count", R.RankingOptions(burden_field="burden_count"))
    assert out["priority"].tolist() == [1, 2, 0, 4, 3]
    assert out.loc[0, "reasons_en"].startswith("Priority 1 (highest): 4 high burden(s)")
    assert "4 hohe Belastung(en)" in out.loc[0, "reasons_de"]


@pytest.mark.parametrize("rule, settings", [
    ("index_class", {"population_field": "EW", "children_field": "kinder", "min_population": 300,
                     "seed": 3, "n_runs": 50, "labels": {"S4": "child poverty"}, "top": 2}),
    ("index_class", {"class_field": "index_class", "n_classes": 4, "higher_is_worse": False}),
    ("burden_count", {"z_fields": ["z_S1", "z_S4"], "burden_threshold": 0.5, "seed": 7, "n_runs": 30}),
    ("hotspot", {"hotspot_field": "gi_bin", "hotspot_q_field": "q"}),
    ("cluster", {"cluster_field": "cl", "cluster_levels": {1: 1, 2: 3, 3: 2}, "robustness_field": "stab",
                 "cluster_names": {1: {"en": "high child poverty", "de": "hohe Kinderarmut"}}}),
    ("weighted", {"combination": {"index_class": 2, "burden_count": 1, "hotspot": 1}, "seed": 5,
                  "n_runs": 40, "hotspot_field": "gi_bin"}),
])
def test_old_keywords_and_options_object_give_identical_results(rule, settings):
    """The keyword arguments of the previous release map onto RankingOptions one to one."""
    f = areas().assign(cl=[1, 1, 3, 4, 2], stab=[0.9, 0.8, 0.7, 0.95, 0.6], q=[0.01, 0.04, 0.5, 0.9, 0.2])
    new, new_diag = R.rank_priorities(f, rule, R.RankingOptions(**settings))
    with pytest.warns(DeprecationWarning, match="RankingOptions"):
        old, old_diag = R.rank_priorities(f, rule, **settings)
    pd.testing.assert_frame_equal(new, old)
    assert new_diag == old_diag
    assert set(new.columns) >= {"priority", "reasons_en", "reasons_de", "robustness"}


def test_old_keywords_override_options_and_unknown_ones_are_refused():
    f = areas()
    by_options, _ = R.rank_priorities(f, "index_class", R.RankingOptions(class_field="index_class"))
    with pytest.warns(DeprecationWarning):
        mixed, _ = R.rank_priorities(f, "index_class", R.RankingOptions(class_field="nope"),
                                     class_field="index_class")
    pd.testing.assert_frame_equal(by_options, mixed)
    with pytest.warns(DeprecationWarning):  # the old third positional argument: index_field
        positional, _ = R.rank_priorities(f, "index_class", "index")
    pd.testing.assert_frame_equal(positional, R.rank_priorities(f, "index_class")[0])
    with pytest.raises(TypeError, match="class_fields"):
        R.rank_priorities(f, "index_class", class_fields="index_class")


def test_priorities_from_index_settings_come_as_one_options_object():
    """IndexPriorityOptions() holds the defaults; an old keyword next to a spec is refused, not dropped."""
    from kommunalmonitor.core.indices.composite import make_spec

    rng = np.random.default_rng(6)
    frame = pd.DataFrame({k: rng.normal(size=25) for k in ("a", "b")})
    plain, _ = R.priorities_from_index(frame, ["a", "b"], options=R.IndexPriorityOptions(n_runs=30), seed=2)
    spec = make_spec(["a", "b"])
    same, _ = R.priorities_from_index(frame, spec=spec, options=R.IndexPriorityOptions(n_runs=30), seed=2)
    pd.testing.assert_frame_equal(plain, same)
    with pytest.raises(TypeError, match="n_runs"):
        R.priorities_from_index(frame, spec=spec, n_runs=30)
    with pytest.raises(TypeError, match="IndexPriorityOptions"):
        R.priorities_from_index(frame, spec=spec, options=R.RankingOptions())
