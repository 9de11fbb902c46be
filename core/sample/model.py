"""What Musterstadt is: its constants, the block fields and the in-memory city."""
from dataclasses import dataclass, field

import pandas as pd

CRS = "EPSG:25832"
ZENSUS_CRS = "EPSG:3035"
SOURCE_NOTE = "Musterstadt (synthetic sample data / synthetische Beispieldaten)"
PIXEL = 10.0
NODATA = -9999.0
MIN_BLOCKS, MAX_BLOCKS = 500, 100_000

CENTER = (520_000.0, 5_710_000.0)
SEMI_AXES = (5_800.0, 4_800.0)

AGE_GROUPS = ("0_5", "6_14", "15_17", "18_64", "65plus")
YEARS = (2020, 2022)
SOCIAL = ("unemployed", "transfer_recipients", "children_transfer",
          "single_parent_households", "households", "migration_background")
HOUSING = ("dwellings", "living_space_m2", "rent_per_m2", "social_housing_dwellings")
LAND_USES = ("residential", "park", "forest", "industry", "open_land")

RASTER_FILES = {
    "noise": "noise_lden_10m.tif",
    "green": "green_cover_10m.tif",
    "impervious": "impervious_10m.tif",
    "heat": "surface_heat_10m.tif",
}


def block_columns():
    """The attribute columns of the ``blocks`` layer, in order (geometry excluded)."""
    cols = ["block_id", "plr_id", "district_id", "land_use", "area_m2"]
    for year in YEARS:
        cols += [f"pop_{g}_{year}" for g in AGE_GROUPS] + [f"pop_{year}"]
    for year in YEARS:
        cols += [f"{s}_{year}" for s in SOCIAL]
    cols += list(HOUSING)
    return cols


@dataclass
class SampleMunicipality:
    """The generated city in memory.

    Attributes
    ----------
    layers : dict of str -> GeoDataFrame
        ``blocks``, ``planning_areas``, ``districts``, ``rivers``, ``railways``, ``roads``,
        ``city_boundary``, ``schools``, ``kitas`` (all EPSG:25832).
    rasters : dict of str -> numpy.ndarray
        ``noise``, ``green``, ``impervious``, ``heat``: float32, ``NODATA`` outside the city.
    transform : affine.Affine
        The 10 m raster transform (north-up, shared by all rasters).
    grid : pandas.DataFrame
        Zensus-style 100 m grid in EPSG:3035: ``x_mp_100m``, ``y_mp_100m`` (cell centres),
        ``einwohner``, ``alter_unter10`` (true counts, 2022) and ``status``
        (``published``, ``suppressed`` = fewer than 3 persons, ``secret`` = published as -1).
    block_adjacency : pandas.DataFrame
        Rook neighbours of blocks: ``block_id_a``, ``block_id_b``, ``shared_m``.
    diagnostics : dict
        Counts and totals (population, suppressed Zensus cells, ...).
    """

    layers: dict
    rasters: dict
    transform: object
    grid: pd.DataFrame
    block_adjacency: pd.DataFrame
    seed: int
    n_blocks_requested: int
    crs: str = CRS
    source: str = SOURCE_NOTE
    diagnostics: dict = field(default_factory=dict)

    @property
    def transforms(self):
        """The transform of each raster (all share the same 10 m grid)."""
        return {key: self.transform for key in self.rasters}

    @property
    def blocks(self):
        """The statistical blocks."""
        return self.layers["blocks"]

    @property
    def planning_areas(self):
        """The planning areas."""
        return self.layers["planning_areas"]

    @property
    def districts(self):
        """The districts."""
        return self.layers["districts"]
