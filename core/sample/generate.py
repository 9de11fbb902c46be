"""The public generator: builds Musterstadt step by step from one seed."""
import numpy as np
import geopandas as gpd

from ..errors import InputError
from ..feedback import ensure_feedback
from ..i18n import tr
from .areas import (N_DISTRICTS, _centre_area, _dissolve_areas, _grow_districts, _grow_planning_areas,
                    _name_districts, _name_planning_areas)
from .blocks import (_adjacency_table, _final_blocks, _merge_slivers, _rook_pairs, _seed_points,
                     _sort_geometric, _voronoi_blocks)
from .facilities import _facilities
from .fields import _latent_fields
from .layout import _make_city
from .model import CRS, MAX_BLOCKS, MIN_BLOCKS, SOURCE_NOTE, SampleMunicipality
from .population import _block_statistics, _pixel_summary
from .rasters import _Pixels, _barrier_distances, _make_rasters, _piece_raster, _raster_grid
from .zensus import _zensus_grid


def generate_sample_municipality(n_blocks=3000, seed=42, feedback=None):
    """Generate the synthetic sample city Musterstadt in memory.

    Parameters
    ----------
    n_blocks : int
        Approximate number of statistical blocks (500 ... 100,000). The city, its
        population and the 10 m rasters stay the same size; blocks get finer.
    seed : int
        Random seed; the same seed and ``n_blocks`` give identical data.
    feedback : core.feedback.Feedback, optional
        Progress and cancellation.

    Returns
    -------
    SampleMunicipality
    """
    feedback = ensure_feedback(feedback)
    try:
        n_blocks = int(n_blocks)
        seed = int(seed)
    except (TypeError, ValueError):
        raise InputError(tr("The number of blocks and the seed must be whole numbers "
                            "(got {n_blocks!r} and {seed!r}).", n_blocks=n_blocks, seed=seed)) from None
    if not MIN_BLOCKS <= n_blocks <= MAX_BLOCKS:
        raise InputError(tr("The number of blocks must be between {low} and {high} (got {value}).",
                            low=MIN_BLOCKS, high=MAX_BLOCKS, value=n_blocks))
    if seed < 0:
        raise InputError(tr("The seed must be zero or a positive whole number (got {value}).",
                            value=seed))
    rng = np.random.default_rng(seed)

    feedback.info(tr("Building the city boundary, river, railway and roads..."))
    city = _make_city(rng)
    fields = _latent_fields(rng, city)
    feedback.progress(0.02)
    feedback.check()

    feedback.info(tr("Cutting {n} statistical blocks along the barriers...", n=n_blocks))
    # a few more seeds than asked: the barrier cuts add pieces, sliver merging removes some
    points = _seed_points(rng, int(n_blocks - 5.2 * np.sqrt(n_blocks)), city["phases"])
    # the block steps report per chunk of blocks (core.sample.blocks.BLOCKS_PER_STEP); the
    # shares of the bar follow their time at 100,000 blocks on the QGIS stack
    pieces = _voronoi_blocks(points, city["boundary"], city["faces"], feedback.step(0.02, 0.16))
    feedback.check()
    pieces = _merge_slivers(pieces, city["boundary"].area / n_blocks, feedback.step(0.16, 0.25))
    pieces, piece_x, piece_y = _sort_geometric(pieces, feedback.step(0.25, 0.35))
    feedback.progress(0.35)
    feedback.check()

    transform, shape = _raster_grid(city)
    distances = _barrier_distances(city, transform, shape)
    feedback.progress(0.37)
    feedback.check()
    piece_idx = _piece_raster(pieces, transform, shape, feedback.step(0.37, 0.46))
    summary = _pixel_summary(piece_idx, transform, len(pieces), fields, city, distances)
    feedback.progress(0.48)
    stats, latent = _block_statistics(rng, pieces, fields, city, summary, feedback.step(0.48, 0.68),
                                      points=(piece_x, piece_y))
    xy = np.column_stack([latent["x"], latent["y"]])

    feedback.info(tr("Forming planning areas and districts..."))
    a, b, shared = _rook_pairs(pieces, feedback=feedback.step(0.68, 0.8))
    feedback.check()
    plr_label, weight, n_plr = _grow_planning_areas(rng, pieces, stats, xy, n_blocks, (a, b))
    feedback.progress(0.82)
    feedback.check()
    dist_label, plr_w, plr_xy = _grow_districts(rng, plr_label, weight, xy, (a, b), n_plr)
    n_dist = N_DISTRICTS
    centre_plr = _centre_area(plr_xy)
    district_ids, district_names = _name_districts(dist_label, plr_w, plr_xy, centre_plr)
    plr_ids, plr_names = _name_planning_areas(rng, city, plr_xy, dist_label, district_ids, centre_plr)
    feedback.progress(0.83)
    feedback.check()

    blocks, block_ids, inverse = _final_blocks(
        pieces, stats, np.array(plr_ids, dtype=object)[plr_label],
        np.array(district_ids, dtype=object)[dist_label[plr_label]])
    adjacency = _adjacency_table(block_ids, inverse, a, b, shared)

    feedback.info(tr("Dissolving planning areas and districts..."))
    name_of = dict(zip(plr_ids, plr_names))
    plr_gdf, dist_gdf = _dissolve_areas(blocks, name_of, {district_ids[d]: district_names[d]
                                                          for d in range(n_dist)}, feedback.step(0.83, 0.9))
    feedback.progress(0.9)
    feedback.check()

    feedback.info(tr("Computing the 10 m rasters (noise, green, impervious, heat)..."))
    lookup = np.concatenate([[0], inverse + 1]).astype(np.int32)
    block_idx = lookup[piece_idx]
    rasters, _ = _make_rasters(rng, city, blocks, block_idx, transform, shape, distances)
    feedback.progress(0.92)
    feedback.check()

    blocks_named = blocks.assign(plr_name=blocks["plr_id"].map(name_of))
    pixels = _Pixels(block_idx, len(blocks))
    schools, kitas = _facilities(rng, blocks_named, pixels, transform)
    feedback.progress(0.93)
    feedback.check()
    feedback.info(tr("Counting residents in the 100 m Zensus grid..."))
    block_x, block_y = np.empty_like(piece_x), np.empty_like(piece_y)
    block_x[inverse], block_y[inverse] = piece_x, piece_y  # the blocks are the pieces reordered
    grid = _zensus_grid(rng, blocks, pixels, transform, feedback.step(0.93, 0.99), points=(block_x, block_y))
    feedback.progress(0.99)

    boundary = gpd.GeoDataFrame({"name": ["Musterstadt"], "source": [SOURCE_NOTE]},
                                geometry=[city["boundary"]], crs=CRS)
    layers = {"blocks": blocks, "planning_areas": plr_gdf, "districts": dist_gdf,
              "rivers": city["rivers"], "railways": city["railways"], "roads": city["roads"],
              "city_boundary": boundary, "schools": schools, "kitas": kitas}
    for name, frame in layers.items():  # names for messages (core.validate) and the note
        frame.attrs["layer_name"] = name
        frame.attrs["source"] = SOURCE_NOTE
    diagnostics = _diagnostics(blocks, grid, n_plr, n_dist)
    feedback.progress(1.0)
    return SampleMunicipality(layers=layers, rasters=rasters, transform=transform, grid=grid,
                              block_adjacency=adjacency, seed=seed, n_blocks_requested=n_blocks,
                              diagnostics=diagnostics)


def _diagnostics(blocks, grid, n_plr, n_dist):
    """Counts and totals of the city (blocks, areas, residents, suppressed Zensus cells)."""
    pub = grid["status"] == "published"
    diagnostics = {
        "n_blocks": int(len(blocks)), "n_planning_areas": int(n_plr), "n_districts": int(n_dist),
        "population_2020": int(blocks["pop_2020"].sum()),
        "population_2022": int(blocks["pop_2022"].sum()),
        "residential_blocks": int((blocks["land_use"] == "residential").sum()),
        "zensus_cells": int(len(grid)),
        "zensus_cells_published": int(pub.sum()),
        "zensus_persons_published": int(grid.loc[pub, "einwohner"].sum()),
        "zensus_cells_suppressed": int((grid["status"] == "suppressed").sum()),
        "zensus_persons_suppressed": int(grid.loc[grid["status"] == "suppressed", "einwohner"].sum()),
        "zensus_cells_secret": int((grid["status"] == "secret").sum()),
        "zensus_persons_secret": int(grid.loc[grid["status"] == "secret", "einwohner"].sum()),
    }
    return diagnostics
