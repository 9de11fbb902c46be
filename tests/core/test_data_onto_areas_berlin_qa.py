"""QA of bringing data onto planning areas with real Berlin files (both stacks)."""
import os

import geopandas as gpd
import pytest

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


def _zonal_warnings(array):
    """Mean per two 1 m areas of a 2 x 2 raster without nodata; returns (table, diagnostics, warnings)."""
    from shapely.geometry import box

    from kommunalmonitor.core.feedback import Feedback
    from kommunalmonitor.core.zonal import ZonalOptions, zonal_statistics

    warnings = []
    zones = gpd.GeoDataFrame({"PLR": ["a", "b"]}, geometry=[box(0, 0, 1, 2), box(1, 0, 2, 2)], crs="EPSG:25833")
    with language("en"):
        table, diag = zonal_statistics(zones, array, stats=["mean"], options=ZonalOptions(
            transform=(1.0, 0.0, 0.0, 0.0, -1.0, 2.0), crs="EPSG:25833", raster_name="Anteile"),
            id_field="PLR", feedback=Feedback(on_warning=warnings.append))
    return table, diag, warnings


def test_minus_one_fill_in_a_raster_of_shares_is_named():
    """A share raster without nodata flag whose gaps hold -1 (as Berlin's cover fractions do):
    area 'a' = mean(-1, 0.5) = -0.25, a negative share, before without a word."""
    import numpy as np

    table, diag, warnings = _zonal_warnings(np.array([[-1.0, 0.2], [0.5, 0.4]]))
    assert np.allclose(table["b1_mean"], [-0.25, 0.3])  # counted as data, as the raster says
    assert diag["fill_values"] == {1: {-1.0: 1}}
    assert len(warnings) == 1 and "band 1 holds -1 in 1 pixel(s)" in warnings[0] and "'Anteile'" in warnings[0]
    assert "(e.g. a)" in warnings[0] and "to -1." in warnings[0]


def test_minus_one_among_negative_values_is_data():
    """In an NDVI (-1 … 1) a -1 is a value: no warning."""
    import numpy as np

    _, diag, warnings = _zonal_warnings(np.array([[-1.0, 0.2], [-0.5, 0.4]]))
    assert diag["fill_values"] == {} and warnings == []


def test_berlin_cover_fractions_without_nodata_flag_warns(berlin_dir, tmp_path):
    """Berlin's cover fractions with their nodata flag removed (as after a careless export): the roof
    share of PLR 06200312 came out as -0.277 (38 % of its pixels are -1); with the flag it is 0.171."""
    import numpy as np
    import rasterio

    from kommunalmonitor.core.feedback import Feedback
    from kommunalmonitor.core.zonal import ZonalOptions, zonal_statistics

    src_path = os.path.join(berlin_dir, "berlin_cover_fractions_30m.tif")
    path = str(tmp_path / "cover.tif")
    with rasterio.open(src_path) as src:
        profile = dict(src.profile, nodata=None, count=1)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(src.read(1), 1)
    plr = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    plr = plr[plr["PLR_ID"].isin(["06200312", "07300516"])]
    warnings = []
    with language("en"):
        table, diag = zonal_statistics(plr, path, stats=["mean"], options=ZonalOptions(raster_name="cover"),
                                       id_field="PLR_ID", feedback=Feedback(on_warning=warnings.append))
        flagged, _ = zonal_statistics(plr, src_path, stats=["mean"], options=ZonalOptions(bands=[1]),
                                      id_field="PLR_ID")
    means = dict(zip(plr["PLR_ID"], table["b1_mean"]))
    assert means["06200312"] == pytest.approx(-0.2768, abs=1e-3)  # what the raster says, now named
    assert dict(zip(plr["PLR_ID"], flagged["b1_mean"]))["06200312"] == pytest.approx(0.1708, abs=1e-3)
    assert list(diag["fill_values"]) == [1] and -1.0 in diag["fill_values"][1]
    assert len(warnings) == 1 and "06200312" in warnings[0] and "-1" in warnings[0]
    assert np.isfinite(means["07300516"])


def test_zensus_points_reprojected_to_utm_give_the_same_sums(berlin_dir):
    """A planner reprojects the Zensus 2011 1 km cell centres to the city's EPSG:25833 first. Before:
    refused with 'the cell centres do not lie on a regular grid of 1.43e-05 m'. Now they are taken
    back to EPSG:3035 and every PLR gets the same residents as from the layer in EPSG:3035."""
    from kommunalmonitor.core.feedback import Feedback
    from kommunalmonitor.core.overlay.grid import grid_to_areas

    table = read_table(os.path.join(berlin_dir, "zensus2011_1km_einwohner_berlin.csv")).frame
    cells = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["x_mp_1km"], table["y_mp_1km"]),
                             crs="EPSG:3035")[["einwohner", "geometry"]]
    plr = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    infos = []
    with language("en"):
        native, _ = grid_to_areas(cells, plr, ["einwohner"], target_id="PLR_ID")
        moved, diag = grid_to_areas(cells.to_crs("EPSG:25833"), plr, ["einwohner"], target_id="PLR_ID",
                                    feedback=Feedback(on_info=infos.append))
    assert diag["cell_size"] == 1000
    assert moved["einwohner"].to_numpy() == pytest.approx(native["einwohner"].to_numpy(), rel=1e-9)
    assert 0.97 * 3292365 < moved["einwohner"].sum() < 3292365  # Zensus 2011: Berlin 3,292,365
    assert any("taken back to EPSG:3035 (1000 m cells)" in line for line in infos), infos


def test_points_off_any_lattice_are_still_refused():
    """Points that lie on no lattice in any CRS keep the refusal naming the layer."""
    from kommunalmonitor.core.errors import InputError
    from kommunalmonitor.core.overlay.grid import grid_to_areas
    from shapely.geometry import box

    cells = gpd.GeoDataFrame({"n": [5, 6, 7]}, geometry=gpd.points_from_xy([0, 100, 237], [0, 0, 13]),
                             crs="EPSG:25833")
    cells.attrs["layer_name"] = "Punkte"
    areas = gpd.GeoDataFrame({"id": ["a"]}, geometry=[box(-50, -50, 300, 50)], crs="EPSG:25833")
    with language("en"), pytest.raises(InputError, match="'Punkte'"):
        grid_to_areas(cells, areas, ["n"], target_id="id")


def test_null_counts_in_blocks_name_layer_and_areas(berlin_dir):
    """The 2022-H1 residents (PLR as blocks) summed to Berlin's districts: before, the planner read
    'Field 'unter6' has 4 NULL value(s) ... sums in the affected areas are too low' without the
    layer or which districts. The sums themselves equal the table's (with its 4 '–' as empty)."""
    from kommunalmonitor.core.aggregate import aggregate_to_areas
    from kommunalmonitor.core.feedback import Feedback

    table = read_table(os.path.join(berlin_dir, "einwohner_2022h1_plr.csv")).frame
    plr = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    blocks = plr.merge(table, left_on="PLR_ID", right_on="PLR-ID")
    blocks.attrs["layer_name"] = "PLR Einwohner"
    districts = plr.assign(BEZ=plr["PLR_ID"].str[:2]).dissolve("BEZ").reset_index()[["BEZ", "geometry"]]
    districts.attrs["layer_name"] = "Bezirke"
    warnings = []
    with language("en"):
        result = aggregate_to_areas(blocks, districts, "BEZ", count_fields=["unter6", "Gesamt"],
                                    feedback=Feedback(on_warning=warnings.append))
    sums = dict(zip(result.areas["BEZ"], result.areas["Gesamt"]))
    assert sum(sums.values()) == 3821881 and sums["01"] == 391831  # Mitte, by hand from the table
    assert dict(zip(result.areas["BEZ"], result.areas["unter6"]))["04"] == 16816
    line = [w for w in warnings if "'unter6'" in w][0]
    # the 4 PLR with '–' for under-6s lie in Pankow (03), Charlottenburg-Wilmersdorf (04),
    # Spandau (05) and Steglitz-Zehlendorf (06)
    for part in ("layer 'PLR Einwohner'", "4 NULL value(s)", "4 planning area(s) of 'Bezirke'",
                 "e.g. 03, 04, 05, 06"):
        assert part in line, line


def _german_export(berlin_dir, path):
    """The 2022-H1 table as a spreadsheet export: cp1252, title rows, '3.503', ids without zeros."""
    with open(os.path.join(berlin_dir, "einwohner_2022h1_plr.csv"), encoding="utf-8-sig") as f:
        lines = f.read().splitlines()
    out = ["Einwohnerinnen und Einwohner in Berlin am 30.06.2022", "Quelle: Amt für Statistik", "",
           lines[0].replace("ausländer", "Ausländer")]
    for line in lines[1:]:
        *counts, key = line.split(";")
        out.append(";".join(c if c == "–" else f"{int(c):,}".replace(",", ".") for c in counts)
                   + ";" + key.lstrip("0"))
    with open(path, "w", encoding="cp1252", newline="") as f:
        f.write("\r\n".join(out) + "\r\n")


def test_german_thousands_in_a_table_ask_for_the_notation_parameter(berlin_dir, tmp_path):
    """Before: '... Convert the field to a numeric field with the field calculator, e.g. to_real(...)',
    advice for a layer that the import dialog cannot follow; its own 'Number notation' parameter
    is the way. With it set to German, the export reads back to the published 3,821,881."""
    from kommunalmonitor.core.errors import InputError
    from kommunalmonitor.core.tables import ReadOptions

    path = str(tmp_path / "ew_export.csv")
    _german_export(berlin_dir, path)
    with language("en"), pytest.raises(InputError) as refused:
        read_table(path)
    message = str(refused.value)
    for part in ("Column 'Gesamt'", "'ew_export.csv'", "'3.503'", "'Number notation'"):
        assert part in message, message
    assert "field calculator" not in message
    table = read_table(path, ReadOptions(notation="german")).frame
    assert table["Gesamt"].sum() == 3821881 and "Ausländer" in table.columns
    plr = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    joined = join_table(plr, "PLR_ID", table, "PLR-ID")
    assert joined.matched == 542 and joined.leading_zeros_ignored
    assert joined.frame["Gesamt"].sum() == 3821881
