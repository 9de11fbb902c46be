"""Reasons a planner reads name indicators by their label, not their field name."""
import pandas as pd


def test_reasons_name_known_indicators_by_label_not_field_name():
    # planner-facing reasons use the indicator's name ('Kinderarmut'), never the field 'child_poverty'
    from kommunalmonitor.core.indices.composite import composite_index
    from kommunalmonitor.core.indices.reasons import reasons
    from kommunalmonitor.core.priorities.profiles import _label

    frame = pd.DataFrame({"child_poverty": [9.0, 1.0, 2.0, 2.0], "S1": [1.0, 2.0, 2.0, 9.0]})
    result = composite_index(frame, ["child_poverty", "S1"], min_population=0)
    german = reasons(result, top=1, lang="de")["reasons"]
    assert german.iloc[0].startswith("Kinderarmut ") and "child_poverty" not in " ".join(german.dropna())
    assert reasons(result, top=1, lang="en")["reasons"].iloc[3].startswith("S1 ")  # unknown: the field
    assert _label("unemployment_rate", None, "de") == "Arbeitslosenquote"
