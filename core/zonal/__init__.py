"""Exact zonal statistics: raster values summarised per planning area with partial-pixel coverage.

A pixel that lies half inside an area counts half. QGIS's own zonal statistics count a pixel
by its centre only, which is badly off on small areas; exactextract (C++) does it exactly but
cannot be loaded inside QGIS 3.22. This module computes the same exact coverage fractions with
numpy alone (no shapely 2, numba or exactextract needed), so it runs on both stacks.

Method (coverage fractions)
---------------------------
The rings of all areas are turned into edges in the raster's cell coordinates
(``u`` = column, ``v`` = row). Every edge is split wherever it crosses a grid line, so each
piece lies inside one cell. A piece with vertical extent ``dv`` whose mean column position
inside cell ``c`` is ``f`` (0..1) covers ``dv * (1 - f)`` of cell ``c`` to its right and
``dv * f`` of each further cell of the row; we add the first to an accumulator at ``c`` and the
second at ``c + 1``. A running sum along each row then gives, for every cell, the exact signed
area of the ring inside it (interior cells get exactly 1). Outer rings count positively and
holes negatively whatever their orientation, so multipolygons and holes need no special case.
Everything is vectorised over all edges of a batch of areas at once; interior cells are
handled as runs of full cells and only expanded when values are looked up.

Statistics (weights ``c`` = coverage fraction of a cell by the area, cells with nodata left out)
------------------------------------------------------------------------------------------------
count = sum(c); sum = sum(c*v); mean = sum(c*v) / sum(c); min, max over cells with c > 0;
std = sqrt(sum(c*(v-mean)^2) / sum(c)) (population standard deviation);
median / pNN = weighted quantile (the definition exactextract uses, which is the ordinary
"type 7" quantile when all weights are equal); majority = value with the largest covered area
(smallest value on ties); share_above / share_below = sum(c[v > t]) / sum(c) (resp. v < t);
weighted_mean = sum(c*w*v) / sum(c*w) with ``w`` a population weight per cell.

Areas are transformed to the raster's CRS, so area weighting happens in the raster's grid.

One idea per module: ``raster`` (reading windows, the raster's CRS), ``coverage`` (exact
coverage fractions), ``statistics`` (the statistics and their accumulator), ``weights``
(population weights), ``fill_values`` (fill values without a nodata flag) and ``engine`` (the
public ``zonal_statistics``).
"""
from .coverage import coverage_fractions
from .engine import ZonalOptions, zonal_statistics
from .raster import RasterGrid
from .statistics import BASIC_STATS, DEFAULT_STATS

__all__ = ["BASIC_STATS", "DEFAULT_STATS", "RasterGrid", "ZonalOptions", "coverage_fractions",
           "zonal_statistics"]
