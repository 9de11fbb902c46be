"""Musterstadt: a synthetic, seeded sample municipality for demos, tests and benchmarks.

Everything here is invented (synthetic sample data / synthetische Beispieldaten). The
generator builds a city of about 12 x 10 km in EPSG:25832 with

* barriers: a river, a railway, two ring roads and radial arterial/primary roads;
* statistical blocks: a Voronoi tessellation of jittered seed points (dense in the
  centre), cut by every barrier so that no block crosses one, tiling the city exactly;
* smooth latent fields (deprivation, affluence, change 2020->2022, green) that give the
  block statistics realistic spatial autocorrelation;
* block statistics for 2020 and 2022 (population by age, social counts, housing),
  integer and consistent (no part above its whole);
* planning areas (contiguous unions of blocks that follow barriers where possible) and
  districts (contiguous unions of planning areas);
* schools and kitas where the children live;
* 10 m rasters (road noise Lden, green cover, impervious share, surface heat) and a
  Zensus-style 100 m grid in EPSG:3035 with the statistical suppression of the real one.

Same ``seed`` and ``n_blocks`` give identical data (also across the QGIS and the current
Python stack). Public API: ``generate_sample_municipality`` and ``write_sample_municipality``.

Block fields (``block_columns()``): ``block_id``, ``plr_id``, ``district_id`` (text),
``land_use`` (residential/park/forest/industry/open_land; only residential blocks have
residents), ``area_m2``; per year Y in 2020, 2022: ``pop_0_5_Y``, ``pop_6_14_Y``,
``pop_15_17_Y``, ``pop_18_64_Y``, ``pop_65plus_Y``, ``pop_Y`` (their sum), ``unemployed_Y``
(among 15-64), ``transfer_recipients_Y``, ``children_transfer_Y`` (under 15),
``single_parent_households_Y``, ``households_Y``, ``migration_background_Y``; for 2022
``dwellings``, ``living_space_m2``, ``rent_per_m2`` (NaN without dwellings),
``social_housing_dwellings``. All counts are int64. ``SampleMunicipality.block_adjacency``
lists rook neighbours (shared edge > 0.5 m).

One idea per module: ``model`` (constants, block fields, the in-memory city), ``layout``
(boundary, river, railway, roads), ``fields`` (smooth latent fields), ``blocks`` (cutting
blocks along the barriers, neighbours), ``population`` (residents and social counts),
``areas`` (planning areas and districts), ``rasters`` (the 10 m rasters), ``zensus`` (the
100 m grid), ``facilities`` (schools and kitas), ``generate`` (the generator) and ``writing``
(the files). The files carry no QGIS styles: the Processing algorithm stores those
(``resources/styles/sample_*.qml``).
"""
from .generate import generate_sample_municipality
from .model import (AGE_GROUPS, CENTER, CRS, HOUSING, LAND_USES, MAX_BLOCKS, MIN_BLOCKS, NODATA,
                    PIXEL, RASTER_FILES, SEMI_AXES, SOCIAL, SOURCE_NOTE, YEARS, ZENSUS_CRS,
                    SampleMunicipality, block_columns)
from .writing import README_TEXT, write_sample_municipality
from .zensus import zensus_csv_frame

__all__ = [
    "AGE_GROUPS", "CENTER", "CRS", "HOUSING", "LAND_USES", "MAX_BLOCKS", "MIN_BLOCKS", "NODATA",
    "PIXEL", "RASTER_FILES", "README_TEXT", "SEMI_AXES", "SOCIAL", "SOURCE_NOTE", "YEARS",
    "ZENSUS_CRS", "SampleMunicipality", "block_columns", "generate_sample_municipality",
    "write_sample_municipality", "zensus_csv_frame",
]
