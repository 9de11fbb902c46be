"""The Zensus-style 100 m grid in EPSG:3035, with the statistical suppression of the real one."""
import numpy as np
import pandas as pd

from .model import CRS, PIXEL, ZENSUS_CRS


def _zensus_grid(rng, blocks, pixels, transform, feedback=None, points=None):
    """Distribute 2022 residents over 10 m pixels of their block and count 100 m cells.

    ``points``: x and y of the blocks' representative points, when already known.
    """
    from pyproj import Transformer

    from .blocks import _representative_xy

    pop = blocks["pop_2022"].to_numpy()
    under10 = blocks["pop_0_5_2022"].to_numpy() + rng.binomial(blocks["pop_6_14_2022"].to_numpy(), 4 / 9)
    order, counts, start = pixels.order, pixels.count[1:], pixels.start[1:]
    # blocks too small for a pixel centre: use the pixel of their representative point
    rp_x, rp_y = points if points is not None else _representative_xy(blocks.geometry, feedback)
    col = ((rp_x - transform.c) / PIXEL).astype(np.int64)
    row = ((transform.f - rp_y) / PIXEL).astype(np.int64)
    fallback = row * pixels.shape[1] + col

    person_block = np.repeat(np.arange(len(blocks)), pop)
    person_first = np.concatenate([[0], np.cumsum(pop)])[:-1]
    rank = np.arange(len(person_block)) - person_first[person_block]
    is_u10 = rank < under10[person_block]
    npix = counts[person_block]
    offset = np.floor(rng.random(len(person_block)) * np.maximum(npix, 1)).astype(np.int64)
    pixel = np.where(npix > 0, order[np.minimum(start[person_block] + offset, len(order) - 1)],
                     fallback[person_block])
    prow, pcol = np.divmod(pixel, pixels.shape[1])
    px = transform.c + (pcol + rng.random(len(pixel))) * PIXEL
    py = transform.f - (prow + rng.random(len(pixel))) * PIXEL
    ex, ey = Transformer.from_crs(CRS, ZENSUS_CRS, always_xy=True).transform(px, py)
    cx = (np.floor(np.asarray(ex) / 100.0) * 100 + 50).astype(np.int64)
    cy = (np.floor(np.asarray(ey) / 100.0) * 100 + 50).astype(np.int64)
    key = np.column_stack([cy, cx])
    cells, inverse = np.unique(key, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    einw = np.bincount(inverse, minlength=len(cells))
    u10 = np.bincount(inverse, weights=is_u10, minlength=len(cells)).astype(np.int64)
    status = np.where(einw < 3, "suppressed", "published").astype(object)
    secret = (einw >= 3) & (rng.random(len(cells)) < 0.015)
    status[secret] = "secret"
    # Zensus order: south to north rows, west to east
    grid = pd.DataFrame({"x_mp_100m": cells[:, 1], "y_mp_100m": cells[:, 0],
                         "einwohner": einw.astype(np.int64), "alter_unter10": u10,
                         "status": status})
    return grid


def zensus_csv_frame(grid):
    """The grid as published: cells < 3 persons absent, secret cells -1, small values '–'."""
    shown = grid[grid["status"] != "suppressed"]
    einw = shown["einwohner"].astype(str).to_numpy(dtype=object)
    u10 = shown["alter_unter10"].to_numpy()
    u10_text = np.where((u10 > 0) & (u10 < 3), "\u2013", u10.astype(str)).astype(object)
    secret = (shown["status"] == "secret").to_numpy()
    einw[secret] = "-1"
    u10_text[secret] = "-1"
    return pd.DataFrame({"x_mp_100m": shown["x_mp_100m"].to_numpy(),
                         "y_mp_100m": shown["y_mp_100m"].to_numpy(),
                         "einwohner": einw, "alter_unter10": u10_text})
