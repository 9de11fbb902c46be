"""Residents and social counts per block: land use, population by age and year, social
counts and housing, all integer and consistent."""
import numpy as np
import pandas as pd

from ..feedback import ensure_feedback
from .layout import _polar
from .model import AGE_GROUPS, LAND_USES, PIXEL, YEARS


def _residential_density(rho, dep):
    """Residents per km2 of residential land: dense centre, high-rise estates in deprived quarters."""
    return (9_500.0 * np.exp(-rho / 0.3) + 1_250.0) * (1.0 + 0.35 * np.clip(dep, 0, 2))


def _land_use_class(x, y, rho, d_river, d_rail, fields):
    """Index into ``LAND_USES`` from smooth scores (river parks, rail industry, green edge)."""
    park = 0.75 * np.exp(-d_river / 120.0) + fields["parks"](x, y)
    forest = fields["green"](x, y) * np.clip((rho - 0.6) / 0.25, 0, 1)
    industry = 0.7 * np.exp(-d_rail / 200.0) * (rho > 0.12) + fields["industry"](x, y)
    open_land = 2.2 * np.clip((rho - 0.9) / 0.1, 0, 1) * (0.6 + fields["green"](x + 3e3, y))
    scores = np.column_stack([np.full(len(x), 0.62), park, forest, industry, open_land])
    return scores.argmax(axis=1)


def _pixel_summary(block_idx, transform, n, fields, city, distances):
    """Per block: density integrated over its 10 m pixels (residents, NaN without pixels)
    and the majority land use of its pixels (-1 without pixels)."""
    height, width = block_idx.shape
    flat = block_idx.ravel()
    inside = np.flatnonzero(flat > 0)
    rows, cols = np.divmod(inside, width)
    px = transform.c + (cols + 0.5) * PIXEL
    py = transform.f - (rows + 0.5) * PIXEL
    rho, _ = _polar(px, py, city["phases"])
    d_river = distances["river"].ravel()[inside]
    d_rail = distances["rail"].ravel()[inside]
    cls = _land_use_class(px, py, rho, d_river, d_rail, fields)
    owner = flat[inside] - 1
    dens = _residential_density(rho, fields["deprivation"](px, py))
    total = np.bincount(owner, weights=dens * PIXEL * PIXEL / 1e6, minlength=n)
    count = np.bincount(owner, minlength=n)
    votes = np.bincount(owner * len(LAND_USES) + cls, minlength=n * len(LAND_USES))
    majority = votes.reshape(n, len(LAND_USES)).argmax(axis=1)
    return np.where(count > 0, total, np.nan), np.where(count > 0, majority, -1)


def _block_statistics(rng, blocks, fields, city, pixel_summary=None, feedback=None, points=None):
    """Land use, population by age and year, social counts and housing per block.

    ``pixel_summary`` (from ``_pixel_summary``: density integrated over the block's pixels,
    majority land use of its pixels) avoids judging a large block by one point, so the
    city has about the same residents and land use at every block size. ``points`` are the
    x and y of the blocks' representative points, when already known.
    """
    from .blocks import _in_chunks, _representative_xy

    feedback = ensure_feedback(feedback)
    if points is None:
        points = _representative_xy(blocks.geometry, feedback.step(0.0, 0.4))
        feedback = feedback.step(0.4, 1.0)
    x, y = points
    area = blocks.area.to_numpy()
    rho, _ = _polar(x, y, city["phases"])
    river, rail = city["rivers"].geometry.iloc[0], city["railways"].geometry.iloc[0]
    d_river = _in_chunks(len(blocks), lambda part: blocks.geometry.iloc[part].distance(river).to_numpy(),
                         feedback.step(0.0, 0.5))
    d_rail = _in_chunks(len(blocks), lambda part: blocks.geometry.iloc[part].distance(rail).to_numpy(),
                        feedback.step(0.5, 1.0))
    n = len(blocks)
    dep, aff, chg = fields["deprivation"](x, y), fields["affluence"](x, y), fields["change"](x, y)

    # land use: the majority of the block's pixels (same patterns at every block size)
    land_use = _land_use_class(x, y, rho, d_river, d_rail, fields)
    if pixel_summary is not None:
        land_use = np.where(pixel_summary[1] >= 0, pixel_summary[1], land_use)
    residential = land_use == 0

    # population 2020: density per km^2 (dense centre, high-rise estates in deprived quarters)
    at_point = _residential_density(rho, dep) * area / 1e6
    if pixel_summary is not None:
        at_point = np.where(np.isnan(pixel_summary[0]), at_point, pixel_summary[0])
    expected = np.where(residential, at_point * np.exp(rng.normal(0.0, 0.25, n)), 0.0)
    pop20 = rng.poisson(expected)

    z = dep - 0.6 * aff + rng.normal(0.0, 0.06, n)
    base = np.array([0.055, 0.08, 0.027, 0.63, 0.208])
    mult = np.column_stack([
        1 + 0.30 * z + 0.25 * rho, 1 + 0.30 * z + 0.25 * rho, 1 + 0.2 * z + 0.2 * rho,
        1.15 - 0.35 * rho, 0.8 + 0.35 * rho + 0.3 * np.clip(aff, 0, 2)])
    shares20 = base * np.clip(mult, 0.3, 3.0)
    shares20 /= shares20.sum(axis=1, keepdims=True)
    ages20 = rng.multinomial(pop20, shares20)

    growth = 1.01 + 0.05 * chg + rng.normal(0.0, 0.02, n)
    pop22 = np.where(pop20 > 0, np.maximum(0, np.round(pop20 * growth
                                                      + rng.normal(0.0, 1.0, n) * np.sqrt(pop20) * 0.3)),
                     0).astype(np.int64)
    shares22 = shares20 * np.array([1.0, 1.01, 1.0, 0.99, 1.03])
    shares22[:, :2] *= np.clip(1 + 0.08 * chg, 0.7, 1.3)[:, None]
    shares22 /= shares22.sum(axis=1, keepdims=True)
    ages22 = rng.multinomial(pop22, shares22)

    data = {}
    for year, ages in ((2020, ages20), (2022, ages22)):
        for k, g in enumerate(AGE_GROUPS):
            data[f"pop_{g}_{year}"] = ages[:, k].astype(np.int64)
        data[f"pop_{year}"] = ages.sum(axis=1).astype(np.int64)

    hh_size = np.clip(1.7 + 0.55 * rho + 0.12 * aff - 0.05 * z, 1.4, 2.6)
    for year in YEARS:
        zy = z if year == 2020 else z - 0.3 * chg + rng.normal(0.0, 0.05, n) - 0.03
        pop = data[f"pop_{year}"]
        working = data[f"pop_15_17_{year}"] + data[f"pop_18_64_{year}"]
        kids = data[f"pop_0_5_{year}"] + data[f"pop_6_14_{year}"]
        minors = kids + data[f"pop_15_17_{year}"]
        u = np.clip(0.055 * np.exp(1.05 * zy), 0.01, 0.3)
        t = np.clip(0.11 * np.exp(0.9 * zy), 0.01, 0.5)
        tc = np.clip(1.6 * t, 0.02, 0.8)
        m = np.clip(0.27 * np.exp(0.5 * zy + 0.4 * (1 - rho)), 0.05, 0.85)
        sp = np.clip(0.06 * np.exp(0.5 * zy), 0.01, 0.2)
        households = np.where(pop > 0, np.maximum(1, np.round(pop / hh_size)), 0).astype(np.int64)
        households = np.minimum(households, pop)
        data[f"unemployed_{year}"] = rng.binomial(working, u)
        data[f"transfer_recipients_{year}"] = rng.binomial(pop, t)
        data[f"children_transfer_{year}"] = rng.binomial(kids, tc)
        data[f"single_parent_households_{year}"] = rng.binomial(np.minimum(households, minors), sp)
        data[f"households_{year}"] = households
        data[f"migration_background_{year}"] = rng.binomial(pop, m)

    hh = data["households_2022"]
    dwellings = np.where(hh > 0, np.round(hh * rng.uniform(1.01, 1.07, n)), 0).astype(np.int64)
    size = np.clip(62 + 22 * aff + 18 * rho - 8 * dep + rng.normal(0, 5, n), 38, 140)
    rent = np.clip(8.4 + 2.4 * aff - 1.1 * dep + 2.2 * (1 - rho) + rng.normal(0, 0.4, n), 5.2, 19.0)
    social = np.clip(0.05 * np.exp(1.0 * dep), 0.0, 0.6)
    data["dwellings"] = dwellings
    data["living_space_m2"] = np.round(dwellings * size)
    data["rent_per_m2"] = np.where(dwellings > 0, np.round(rent, 2), np.nan)
    data["social_housing_dwellings"] = rng.binomial(dwellings, social)
    for key, value in data.items():
        if key not in ("living_space_m2", "rent_per_m2"):
            data[key] = np.asarray(value, dtype=np.int64)
    frame = pd.DataFrame(data)
    frame.insert(0, "land_use", np.array(LAND_USES, dtype=object)[land_use])
    return frame, {"x": x, "y": y, "rho": rho, "dep": dep, "aff": aff}
