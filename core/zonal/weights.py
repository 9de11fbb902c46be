"""Population weights per cell for the weighted mean: from a population raster (any grid and
CRS) or from population blocks spread evenly over their area."""
import numpy as np

from ..errors import InputError
from ..i18n import tr
from ..overlay._spatial import same_crs
from ..validate import layer_name, numeric_field, require_crs, require_not_empty
from ..values import fill_value_mask, is_fill_outlier
from .coverage import _coverage_window, _Rings
from .raster import RasterGrid, _affine, _to_grid_crs


class _Weights:
    """Population weight per cell of a window: from a raster or from block polygons."""

    def __init__(self, weights, weights_field, grid, name=None):
        self.grid = grid
        self.blocks = None
        self.raster = None
        if hasattr(weights, "geometry"):
            blocks_name = layer_name(weights, name)
            require_not_empty(weights, blocks_name)
            require_crs(weights, blocks_name)
            if not weights_field:
                raise InputError(tr("Choose the population field of the blocks layer '{layer}'.",
                                    layer=blocks_name))
            population = numeric_field(weights, weights_field, blocks_name, allow_negative=False)
            self.name = blocks_name
            geometry = _to_grid_crs(weights.geometry, grid)
            self.blocks = _Rings(list(geometry.values))
            self.bounds = self.blocks.zone_bounds()
            area = self.blocks.zone_areas()
            with np.errstate(invalid="ignore", divide="ignore"):
                density = population.fillna(0).to_numpy(dtype="float64") / area
            self.density = np.where(area > 0, density, 0.0)
        else:
            self.raster = RasterGrid(weights, name=name)
            if self.raster.name == "array":  # an array has no name of its own
                self.raster.name = tr("population raster")
            if self.raster.crs is None:
                raise InputError(tr("Raster '{layer}' has no coordinate reference system (CRS). "
                                    "Assign the correct CRS first.", layer=self.raster.name))
            self.name = self.raster.name
            self.ignored = {}  # negative or fill values (no nodata flag) → pixels counted as 0
            self.aligned = (same_crs(self.raster.crs, grid.crs)
                            and np.allclose(self.raster.transform, grid.transform, rtol=0, atol=1e-9)
                            and (self.raster.height, self.raster.width) == (grid.height, grid.width))

    def close(self):
        """Close an opened weight raster."""
        if self.raster is not None:
            self.raster.close()

    def window(self, r0, r1, c0, c1):
        """Weights (rows, cols) for the window of the value raster; missing counts as 0."""
        grid = self.grid
        a, _, c, _, e, f = grid.transform
        local = (a, 0.0, c + a * c0, 0.0, e, f + e * r0)
        if self.blocks is not None:
            minx, maxx = sorted((local[2], local[2] + a * (c1 - c0)))
            miny, maxy = sorted((local[5], local[5] + e * (r1 - r0)))
            b = self.bounds
            with np.errstate(invalid="ignore"):
                hit = (b[:, 0] < maxx) & (b[:, 2] > minx) & (b[:, 1] < maxy) & (b[:, 3] > miny)
            rings = np.flatnonzero(hit[self.blocks.ring_zone])
            out = np.zeros((r1 - r0) * (c1 - c0))
            if len(rings):
                edges = self.blocks.edges(rings, local)
                zone_c, row, col, frac = _coverage_window(*edges, r1 - r0, c1 - c0)
                out = np.bincount(row * (c1 - c0) + col, frac * self.density[zone_c] * grid.cell_area,
                                  minlength=(r1 - r0) * (c1 - c0))
            return out.reshape(r1 - r0, c1 - c0)
        if self.aligned:
            data, valid = self.raster.read([1], r0, r1, c0, c1)
            return self._population(np.where(valid[0], data[0], 0.0))
        from rasterio.warp import Resampling, reproject

        if getattr(self, "_source", None) is None:  # read the other grid once
            full, valid = self.raster.read([1], 0, self.raster.height, 0, self.raster.width)
            self._source = self._population(np.where(valid[0], full[0], 0.0))
        source = self._source
        out = np.zeros((r1 - r0, c1 - c0))
        reproject(source, out, src_transform=_affine(self.raster.transform), src_crs=self.raster.crs,
                  dst_transform=_affine(local), dst_crs=grid.crs, resampling=Resampling.average,
                  src_nodata=None, dst_nodata=None)
        return np.where(np.isfinite(out), out, 0.0)

    def _population(self, data):
        """Population cells as weights: a negative value or a fill value far above the others
        (a raster without nodata flag: -9999, 65535, 3.4e38) is no population; tallied by value."""
        bad = data < 0
        fill = fill_value_mask(data) & ~bad
        if fill.any():
            rest = data[~bad & ~fill]
            for value in np.unique(data[fill]):
                if is_fill_outlier(value, rest):
                    bad |= data == value
        if bad.any():
            values, counts = np.unique(data[bad], return_counts=True)
            for value, count in zip(values.tolist(), counts.tolist()):
                self.ignored[value] = self.ignored.get(value, 0) + int(count)
            data = np.where(bad, 0.0, data)
        return data
