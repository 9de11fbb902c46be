"""The 10 m rasters (road noise Lden, green cover, impervious share, surface heat) and the
pixel grid they share."""
import numpy as np
import pandas as pd
from scipy import ndimage

from .layout import _polar
from .model import LAND_USES, NODATA, PIXEL


def _line_distance(geoms, transform, shape):
    """Distance in metres from every pixel to the nearest of ``geoms``."""
    from rasterio.features import rasterize

    mask = rasterize([(g, 1) for g in geoms], out_shape=shape, transform=transform, fill=0,
                     dtype="uint8", all_touched=True)
    return ndimage.distance_transform_edt(mask == 0) * PIXEL


def _raster_grid(city):
    """Transform and shape of the 10 m grid covering the city (snapped to 100 m)."""
    from rasterio.transform import from_origin

    minx, miny, maxx, maxy = city["boundary"].bounds
    x0, y0 = np.floor(minx / 100) * 100 - 100, np.floor(miny / 100) * 100 - 100
    x1, y1 = np.ceil(maxx / 100) * 100 + 100, np.ceil(maxy / 100) * 100 + 100
    width, height = int(round((x1 - x0) / PIXEL)), int(round((y1 - y0) / PIXEL))
    return from_origin(x0, y1, PIXEL, PIXEL), (height, width)


def _barrier_distances(city, transform, shape):
    """Distance rasters (m) to the river, the railway, the arterial and the primary roads."""
    roads = city["roads"]
    return {
        "river": _line_distance(city["rivers"].geometry, transform, shape),
        "rail": _line_distance(city["railways"].geometry, transform, shape),
        "arterial": _line_distance(roads.geometry[roads["road_class"] == "arterial"], transform, shape),
        "primary": _line_distance(roads.geometry[roads["road_class"] == "primary"], transform, shape),
    }


def _piece_raster(pieces, transform, shape, feedback=None):
    """Position + 1 of the piece covering each pixel centre (0 outside every piece)."""
    from rasterio.features import rasterize

    from .blocks import _chunks

    # burnt chunk by chunk into one array, in the same order as one call: the same raster, with
    # progress and a cancel check between chunks
    out = np.zeros(shape, dtype="int32")
    geoms = pieces.geometry
    for part in _chunks(len(geoms), feedback):
        rasterize(((g, i + 1) for i, g in zip(range(part.start, part.stop), geoms.iloc[part])),
                  out=out, transform=transform)
    return out


def _make_rasters(rng, city, blocks, block_idx, transform, shape, distances):
    """Noise, green, impervious, heat at 10 m (``block_idx``: block position + 1 per pixel)."""
    from rasterio.features import rasterize

    height, width = shape
    inside = rasterize([(city["boundary"], 1)], out_shape=shape, transform=transform,
                       fill=0, dtype="uint8").astype(bool)

    d_art, d_pri = distances["arterial"], distances["primary"]
    d_rail, d_river = distances["rail"], distances["river"]

    cols = np.arange(width) * PIXEL + transform.c + PIXEL / 2
    rows = transform.f - (np.arange(height) * PIXEL + PIXEL / 2)
    px, py = np.meshgrid(cols, rows)
    rho, _ = _polar(px, py, city["phases"])

    def smooth_noise(sd, sigma):
        noise = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma)
        return noise / (noise.std() or 1.0) * sd

    level_bg = 42.0 - 7.0 * np.clip(rho, 0, 1.2)
    sources = [level_bg,
               75.0 - 20.0 * np.log10(1.0 + d_art / 15.0),
               68.0 - 20.0 * np.log10(1.0 + d_pri / 15.0),
               72.0 - 18.0 * np.log10(1.0 + d_rail / 15.0)]
    noise = 10.0 * np.log10(sum(10.0 ** (s / 10.0) for s in sources)) + smooth_noise(0.8, 4)

    lu = np.concatenate([[-1], pd.Categorical(blocks["land_use"], categories=LAND_USES).codes])
    lu_px = lu[block_idx]
    green_by_use = np.array([np.nan, 0.85, 0.93, 0.12, 0.8])
    green = np.where(lu_px == 0, 0.08 + 0.5 * np.clip(rho, 0, 1) ** 1.5,
                     green_by_use[np.clip(lu_px, 0, 4)])
    green = green + smooth_noise(0.08, 3)
    green = np.where(d_art < 15, green * 0.25, green)
    water = d_river < 25
    green = np.clip(np.where(water, 0.05, green), 0, 1)
    imperv = np.clip(np.where(water, 0.0, 0.95 - green + smooth_noise(0.05, 2)), 0, 1)
    imperv = np.where(d_art < 15, np.maximum(imperv, 0.8), imperv)
    heat = (26.0 + 13.0 * imperv - 3.0 * green - 4.0 * np.exp(-d_river / 150.0)
            + 1.5 * (1.0 - np.clip(rho, 0, 1)) + smooth_noise(0.5, 3))

    rasters = {}
    for key, arr in (("noise", noise), ("green", green), ("impervious", imperv), ("heat", heat)):
        rasters[key] = np.where(inside, arr, NODATA).astype(np.float32)
    return rasters, inside


class _Pixels:
    """Pixels of each block: ``order`` (flat pixel indices sorted by block), ``start``, ``count``
    (indexed by block position + 1, as in the block-id raster)."""

    def __init__(self, block_idx, n):
        flat = block_idx.ravel()
        self.shape = block_idx.shape
        self.order = np.argsort(flat, kind="stable")
        self.count = np.bincount(flat, minlength=n + 1)
        self.start = np.concatenate([[0], np.cumsum(self.count)])[:-1]
