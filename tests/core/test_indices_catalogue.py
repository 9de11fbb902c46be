"""Indicator catalogues: shipped presets, line-precise errors, indicator arithmetic, Berlin MSS 2021."""
import os

import numpy as np
import pandas as pd
import pytest

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.indices.catalogue import (catalogue_index, compute_indicators,
                                                    load_catalogue, shipped_catalogues)

MINI = """\
id: mini
name: {de: Mini, en: Mini}
min_population: 10
population: pop
indicators:
  - id: kids_poor
    label: {de: Kinderarmut, en: Child poverty}
    domain: Soziales
    numerator: poor_kids
    denominator: kids_a + kids_b
  - id: green
    label: {de: Grün, en: Green}
    domain: Umwelt
    value: green_m2
    direction: less
  - id: d_kids
    label: {de: Veränderung, en: Change}
    domain: Soziales
    role: dynamics
    numerator: poor_kids
    denominator: kids_a + kids_b
    baseline_numerator: poor_kids_old
    baseline_denominator: kids_old
"""


def _mini_frame():
    return pd.DataFrame({
        "pop": [100, 200, 300, 400, 5],
        "poor_kids": [5, 10, 0, 8, 1],
        "kids_a": [10, 20, 0, 10, 1],
        "kids_b": [10, 20, 0, 30, 1],
        "green_m2": [5.0, 3.0, 8.0, 1.0, 2.0],
        "poor_kids_old": [4, 10, 1, 2, 1],
        "kids_old": [20, 50, 10, 40, 2],
    })


def test_shipped_catalogues_load():
    assert {"berlin_mss_2021", "musterstadt"} <= set(shipped_catalogues())
    berlin = load_catalogue("berlin_mss_2021")
    assert [i.id for i in berlin.by_role("status")] == ["S1", "S3", "S4"]
    assert [i.id for i in berlin.by_role("dynamics")] == ["D1", "D3", "D4"]
    assert berlin.min_population == 300 and berlin.missing_values == (-9999.0,)
    muster = load_catalogue("musterstadt")
    kids = [i for i in muster.indicators if i.id == "child_poverty"][0]
    assert kids.denominator == [(1, "pop_0_5_2022"), (1, "pop_6_14_2022")]
    assert kids.name("de") == "Kinderarmut" and kids.name("en") == "Child poverty"


def test_indicator_arithmetic_by_hand():
    catalogue = load_catalogue(MINI)
    values = compute_indicators(catalogue, _mini_frame())
    np.testing.assert_allclose(values.values["kids_poor"], [25.0, 25.0, np.nan, 20.0, 50.0])
    np.testing.assert_allclose(values.values["d_kids"], [5.0, 5.0, np.nan, 15.0, 0.0])
    assert any("denominator of 0" in w for w in values.warnings)


def test_catalogue_index_mini():
    result = catalogue_index(load_catalogue(MINI), _mini_frame())
    table = result.table
    # area 3 has no children (denominator 0), area 5 too few residents
    assert table["included"].tolist() == [True, True, False, True, False]
    assert table["excl_reason"].iloc[4] == "population below minimum"
    # green is reversed: the least green area has the highest z
    assert table["z_green"].iloc[3] == table["z_green"].max()
    assert "sdi_label" in table.columns


@pytest.mark.parametrize("text, line, fragment", [
    (MINI.replace("    domain: Umwelt", "    domain: Verkehr"), 13, "domain 'Verkehr'"),
    (MINI.replace("    value: green_m2", "    valeu: green_m2"), 14, "unknown key 'valeu'"),
    (MINI.replace("label: {de: Grün, en: Green}", "label: {de: Grün}"), 12, "German and an English"),
    (MINI.replace("    value: green_m2", "    value: green_m2\n    numerator: x"), 11, "either 'value'"),
    (MINI.replace("  - id: green", "  - id: kids_poor"), 11, "used twice (first on line 6)"),
    (MINI.replace("    direction: less", "    direction: down"), 15, "direction 'down'"),
    (MINI.replace("denominator: kids_a + kids_b\n  - id: green", "denominator: kids_a * 2\n  - id: green"),
     10, "'kids_a * 2'"),
    (MINI.replace("name: {de: Mini, en: Mini}", "name: {de: Mini, en: Mini"), 3, "flow mapping on line 2"),
    (MINI.replace("    role: dynamics", "    role: trend"), 19, "role 'trend'"),
])
def test_invalid_catalogue_line_precise(text, line, fragment):
    with pytest.raises(InputError) as error:
        load_catalogue(text, name="mini.yaml")
    message = str(error.value)
    assert f"line {line}:" in message and fragment in message, message
    assert message.startswith("Catalogue 'mini.yaml'")


def test_missing_field_names_catalogue_line():
    frame = _mini_frame().drop(columns=["kids_b"])
    with pytest.raises(InputError) as error:
        catalogue_index(load_catalogue(MINI, name="mini.yaml"), frame)
    assert "line 10:" in str(error.value) and "'kids_b'" in str(error.value)


def test_berlin_mss_2021_reproduced(berlin_dir):
    """The MSS 2021 preset reproduces every published class; the 6 excluded PLR match."""
    raw = pd.read_csv(os.path.join(berlin_dir, "mss_2021_index_indikatoren.csv"),
                      dtype={"PLR_ID": str, "BEZ_ID": str}, encoding="utf-8")
    published = pd.read_csv(os.path.join(berlin_dir, "mss_2021_indizes.csv"),
                            dtype={"PLR_ID": str, "BEZ_ID": str}, encoding="utf-8")
    assert raw["PLR_ID"].tolist() == published["PLR_ID"].tolist()
    table = catalogue_index("berlin_mss_2021", raw).table
    valid = (published["KOM"] == "gültig").to_numpy()
    assert table["included"].to_numpy().tolist() == valid.tolist()
    assert int(valid.sum()) == 536
    for ours, theirs in (("index_class", "SI_N"), ("dynamics_class", "DI_N"), ("sdi", "SDI_N")):
        mismatches = int((table[ours].to_numpy()[valid].astype(int)
                          != published[theirs].to_numpy()[valid].astype(int)).sum())
        assert mismatches == 0, f"{ours}: {mismatches} mismatches"
    assert table["sdi_label"][valid].tolist() == published["SDI"][valid].tolist()
    # the excluded PLR are excluded by the same rules: 5 under 300 residents, 1 flagged outlier
    reasons = table["excl_reason"][~valid]
    kom = published["KOM"][~valid]
    assert (reasons[kom == "ungültig (EW unter 300)"] == "population below minimum").all()
    assert (reasons[kom == "ungültig (Ausreißer)"] == "flagged as excluded").all()
    assert table["index_class"][valid].value_counts().sort_index().tolist() == [75, 366, 46, 49]
    assert table["dynamics_class"][valid].value_counts().sort_index().tolist() == [48, 436, 52]
    # population-weighted z-scores change 33 status classes (domain reference)
    weighted = catalogue_index("berlin_mss_2021", raw, standardisation="z_weighted").table
    assert int((weighted["index_class"].to_numpy()[valid].astype(int)
                != published["SI_N"].to_numpy()[valid]).sum()) == 33
    # German labels, MSS terms
    de = catalogue_index("berlin_mss_2021", raw, lang="de").table
    assert de["status_label"].iloc[0] == published["SI_V"].iloc[0]
    assert de["reasons"].iloc[0].startswith("Transferbezug 0,4 SD unter dem Stadtmittel")


def test_musterstadt_catalogue_matches_sample_fields():
    from kommunalmonitor.core.sample import block_columns

    catalogue = load_catalogue("musterstadt")
    columns = set(block_columns())
    needed = {f for i in catalogue.indicators for f in i.fields()} | {catalogue.population}
    assert needed <= columns, needed - columns


def test_catalogue_output_keeps_input_fields():
    from kommunalmonitor.core.indices.catalogue import catalogue_output

    frame = _mini_frame().assign(green=1.0)  # 'green' clashes with the indicator id
    result = catalogue_index(load_catalogue(MINI), frame)
    out = catalogue_output(frame, result)
    assert out["green"].tolist() == [1.0] * 5          # input field untouched
    np.testing.assert_allclose(out["ind_green"], frame["green_m2"])
    assert {"kids_poor", "z_kids_poor", "index", "index_class", "reasons", "sdi"} <= set(out.columns)


def test_exclusion_reasons_small_base_and_missing_dynamics():
    text = MINI.replace("    denominator: kids_a + kids_b\n  - id: green",
                        "    denominator: kids_a + kids_b\n    min_base: 25\n  - id: green")
    frame = pd.DataFrame({
        "pop": [500] * 7,
        "poor_kids": [5, 10, 0, 8, 6, 7, 9],
        "kids_a": [10, 20, 0, 10, 20, 15, 30],
        "kids_b": [10, 20, 0, 30, 20, 15, 30],
        "green_m2": [5.0, 3.0, 8.0, 1.0, 2.0, 4.0, 6.0],
        "poor_kids_old": [4, 10, 1, 2, None, 5, 6],
        "kids_old": [20, 50, 10, 40, 40, 30, 50],
    })
    table = catalogue_index(load_catalogue(text), frame).table
    # area 0: 20 children < 25 → small base; area 2: no children; area 4: missing baseline value
    reasons = [r if isinstance(r, str) else None for r in table["excl_reason"]]  # pandas 3: NaN
    assert reasons == ["base below the indicator's minimum", None,
                                             "missing indicator value", None, "missing indicator value",
                                             None, None]
    assert np.isfinite(table["index"].iloc[0])  # still scored with the reference statistics


def test_status_dynamics_settings_come_as_one_options_object():
    """StatusDynamicsOptions() holds the MSS defaults; an old keyword is refused by name."""
    from kommunalmonitor.core.indices.mss import StatusDynamicsOptions, status_dynamics

    rng = np.random.default_rng(4)
    frame = pd.DataFrame({k: rng.normal(size=30) for k in ("s1", "s2", "d1")})
    plain = status_dynamics(frame, ["s1", "s2"], ["d1"])
    mss = StatusDynamicsOptions(min_population=300.0, method="z", status_bounds=(-1.0, 1.0, 1.5),
                                dynamics_bounds=(-1.0, 1.0), attention="3*, 4*, 25")
    pd.testing.assert_frame_equal(plain.table, status_dynamics(frame, ["s1", "s2"], ["d1"], mss).table)
    with pytest.raises(TypeError, match="attention"):
        status_dynamics(frame, ["s1", "s2"], ["d1"], attention="4*")
    with pytest.raises(TypeError, match="StatusDynamicsOptions"):
        status_dynamics(frame, ["s1", "s2"], ["d1"], "pop")
