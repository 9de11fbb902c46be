"""Raster access: windows of a file, an open rasterio dataset or an array, and moving areas
into the raster's CRS."""
import math

import numpy as np

from ..errors import InputError
from ..geometry_arrays import reproject
from ..i18n import tr


class RasterGrid:
    """A raster to read windows from: a file path, an open rasterio dataset or an array.

    Parameters
    ----------
    source : str, rasterio dataset or numpy array
        Path / dataset, or an array of shape (rows, cols) or (bands, rows, cols).
    transform : affine.Affine or 6-tuple, optional
        Needed for arrays: (a, b, c, d, e, f) as in rasterio (x = a*col + c, y = e*row + f).
    crs : anything pyproj accepts, optional
        Needed for arrays.
    nodata : float, optional
        Value marking missing cells (NaN always counts as missing).
    name : str, optional
        Name for messages.
    """

    def __init__(self, source, transform=None, crs=None, nodata=None, name=None):
        self._dataset = None
        self._owned = False
        self._array = None
        if isinstance(source, RasterGrid):
            self.__dict__.update(source.__dict__)
            self._owned = False
            return
        if isinstance(source, np.ndarray) or isinstance(source, np.ma.MaskedArray):
            array = source
            if array.ndim == 2:
                array = array[np.newaxis]
            if array.ndim != 3:
                raise InputError(tr("Raster '{layer}' must be a 2-D or 3-D array (bands, rows, "
                                    "columns).", layer=name or "array"))
            if isinstance(array, np.ma.MaskedArray):
                mask = np.ma.getmaskarray(array)
                array = np.where(mask, np.nan, array.filled(0).astype("float64"))
            self._array = array
            self.count, self.height, self.width = array.shape
            self.transform = tuple(transform)[:6] if transform is not None else None
            self.crs = crs
            self.nodatavals = [nodata] * self.count
            self.dtypes = [array.dtype.name] * self.count
            self.name = name or "array"
        else:
            import rasterio

            if isinstance(source, str):
                try:
                    self._dataset = rasterio.open(source)
                except Exception as error:  # rasterio raises its own error types
                    raise InputError(tr("Raster '{layer}' could not be opened ({error}).",
                                        layer=source, error=error)) from None
                self._owned = True
            else:
                self._dataset = source
            ds = self._dataset
            self.count, self.height, self.width = ds.count, ds.height, ds.width
            self.transform = tuple(ds.transform)[:6]
            self.crs = ds.crs.to_wkt() if ds.crs else crs
            self.nodatavals = [nodata if nodata is not None else v for v in ds.nodatavals]
            self.dtypes = list(ds.dtypes)
            self.name = name or getattr(ds, "name", "raster")
        if self.transform is None:
            raise InputError(tr("Raster '{layer}' has no georeference (geotransform). Assign one "
                                "first.", layer=self.name))
        a, b, _, d, e, _ = self.transform
        if b != 0 or d != 0:
            raise InputError(tr("Raster '{layer}' is rotated or sheared; warp it to a north-up "
                                "grid first (Raster > Projections > Warp).", layer=self.name))
        if a == 0 or e == 0:
            raise InputError(tr("Raster '{layer}' has a pixel size of zero.", layer=self.name))

    def close(self):
        """Close the dataset if this object opened it."""
        if self._owned and self._dataset is not None:
            self._dataset.close()
            self._dataset = None

    @property
    def cell_area(self):
        """Area of one cell in the raster's CRS units."""
        return abs(self.transform[0] * self.transform[4])

    @property
    def bounds(self):
        """(minx, miny, maxx, maxy) of the raster."""
        a, _, c, _, e, f = self.transform
        xs = (c, c + a * self.width)
        ys = (f, f + e * self.height)
        return min(xs), min(ys), max(xs), max(ys)

    def read(self, bands, r0, r1, c0, c1):
        """Read a window: (values float64 (len(bands), r1-r0, c1-c0), valid mask)."""
        if self._array is not None:
            data = np.asarray(self._array[[b - 1 for b in bands], r0:r1, c0:c1], dtype="float64")
        else:
            from rasterio.windows import Window

            data = self._dataset.read(list(bands), window=Window(c0, r0, c1 - c0, r1 - r0),
                                      out_dtype="float64")
        valid = np.isfinite(data)
        for i, band in enumerate(bands):
            nodata = self.nodatavals[band - 1]
            if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
                valid[i] &= data[i] != nodata
        return data, valid


def _affine(transform):
    """6-tuple → affine.Affine (rasterio's dependency)."""
    from affine import Affine

    return Affine(*transform[:6])


def _to_grid_crs(geometry, grid, flag=False):
    """A GeoSeries transformed to the raster's CRS when it differs (and whether it was)."""
    from pyproj import CRS

    target = CRS.from_user_input(grid.crs)
    changed = CRS.from_user_input(geometry.crs) != target
    if changed:
        geometry = reproject(geometry, target)
    return (geometry, changed) if flag else geometry
