"""QA of bringing data onto planning areas with real Berlin files (both stacks)."""
import os

import geopandas as gpd

from kommunalmonitor.core.i18n import language
from kommunalmonitor.core.tables import join_table, read_table


def test_old_plr_key_twice_is_named_with_layer_field_and_what_it_does_to_sums(berlin_dir):
    """Berlin's old PLR layer (448 areas) carries '06010102' twice; the feature in Charlottenburg
    is really 04030417. Joining the 2020-H2 residents gave the planner 'each of those features
    received the same values', with no layer, field or consequence: the joined residents then
    sum to 3,767,984 instead of the table's 3,769,962 (+8,808 twice, -10,786 missing)."""
    areas = gpd.read_file(os.path.join(berlin_dir, "plr_bis_2020_448.geojson"))
    areas.attrs["layer_name"] = "PLR alt"
    table = read_table(os.path.join(berlin_dir, "einwohner_plr_zeitreihe",
                                    "berlin-lor-population-2020-02-t1-planning-areas.csv")).frame
    joined = join_table(areas, "id", table, "id")
    assert joined.duplicate_area_keys == ["06010102"] and joined.unmatched_table == ["04030417"]
    assert table["inhabitants"].sum() == 3769962
    assert joined.frame["inhabitants"].sum() == 3769962 - 10786 + 8808
    with language("en"):
        line = [x for x in joined.summary_lines() if "06010102" in x][0]
    for part in ("field 'id'", "layer 'PLR alt'", "more than once", "own key"):
        assert part in line, line
