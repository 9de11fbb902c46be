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
"""
import os
import sqlite3
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import geopandas as gpd
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box
from shapely.ops import polygonize, unary_union, voronoi_diagram

from .errors import InputError
from .feedback import ensure_feedback
from .i18n import tr

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


# --------------------------------------------------------------------------- helpers

def _sindex_query(tree_frame, geometries, predicate="intersects"):
    """(input index, tree index) pairs; geopandas 0.12 ``query_bulk`` / 1.x ``query``."""
    sindex = tree_frame.sindex
    bulk = getattr(sindex, "query_bulk", None)
    if bulk is not None:
        result = bulk(geometries, predicate=predicate)
    else:
        result = sindex.query(geometries, predicate=predicate)
    return np.asarray(result[0], dtype=np.int64), np.asarray(result[1], dtype=np.int64)


def _shape(theta, phases):
    """Boundary radius factor of the city at parameter angle ``theta``."""
    return (1.0 + 0.06 * np.sin(3 * theta + phases[0]) + 0.04 * np.sin(5 * theta + phases[1])
            + 0.025 * np.sin(8 * theta + phases[2]))


def _polar(x, y, phases):
    """Normalised radius (1 at the city boundary) and angle of points."""
    u = (np.asarray(x, dtype=float) - CENTER[0]) / SEMI_AXES[0]
    v = (np.asarray(y, dtype=float) - CENTER[1]) / SEMI_AXES[1]
    theta = np.arctan2(v, u)
    return np.hypot(u, v) / _shape(theta, phases), theta


def _point_at(rho, theta, phases):
    """Coordinates of normalised radius ``rho`` at angle ``theta``."""
    f = _shape(theta, phases) * rho
    return (CENTER[0] + SEMI_AXES[0] * f * np.cos(theta),
            CENTER[1] + SEMI_AXES[1] * f * np.sin(theta))


class _Field:
    """A smooth random field: Gaussian bumps plus low-frequency noise, evaluated anywhere."""

    def __init__(self, rng, bumps, noise_sd, noise_scale=900.0, cell=200.0):
        self.bumps = bumps  # list of (x, y, amplitude, sigma)
        x0, y0 = CENTER[0] - 8_000.0, CENTER[1] - 7_000.0
        nx, ny = int(16_000 / cell) + 1, int(14_000 / cell) + 1
        white = rng.standard_normal((ny, nx))
        smooth = ndimage.gaussian_filter(white, noise_scale / cell, mode="reflect")
        smooth = smooth / (smooth.std() or 1.0) * noise_sd
        self.noise, self.x0, self.y0, self.cell = smooth, x0, y0, cell

    def __call__(self, x, y):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        value = np.zeros(np.broadcast(x, y).shape)
        for bx, by, amp, sigma in self.bumps:
            value += amp * np.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2 * sigma ** 2))
        cols = (x - self.x0) / self.cell
        rows = (y - self.y0) / self.cell
        value += ndimage.map_coordinates(self.noise, [rows.ravel(), cols.ravel()], order=1,
                                         mode="nearest").reshape(value.shape)
        return value


def _ring_vertices(rho, thetas, phases, wobble):
    """Closed ring road through ``thetas`` (sorted) at normalised radius ``rho``."""
    r = rho * (1.0 + wobble[0] * np.sin(2 * thetas + wobble[1]))
    x, y = _point_at(r, thetas, phases)
    return np.column_stack([np.append(x, x[0]), np.append(y, y[0])])


def _line_layer(rows, crs=CRS):
    return gpd.GeoDataFrame(pd.DataFrame([r[0] for r in rows]),
                            geometry=[r[1] for r in rows], crs=crs)


# --------------------------------------------------------------------------- geometry

def _make_city(rng):
    """Boundary, barrier lines and the barrier-bounded faces that tile the city."""
    phases = rng.uniform(0, 2 * np.pi, 3)
    n_theta = 720
    theta = np.linspace(-np.pi, np.pi, n_theta, endpoint=False)
    bx, by = _point_at(1.0, theta, phases)
    boundary = Polygon(np.column_stack([bx, by]))

    # River: meanders west -> east a little south of the centre.
    t = np.linspace(0.0, 1.0, 500)
    rp = rng.uniform(0, 2 * np.pi, 2)
    rx = CENTER[0] + SEMI_AXES[0] * (-1.35 + 2.7 * t)
    ry = CENTER[1] + SEMI_AXES[1] * (-0.16 + 0.10 * np.sin(2 * np.pi * 1.3 * t + rp[0])
                                     + 0.04 * np.sin(2 * np.pi * 3.1 * t + rp[1]))
    river = LineString(np.column_stack([rx, ry]))

    # Railway: SW -> NE through the main station just north of the centre, gently curved.
    angle = np.deg2rad(38.0 + rng.uniform(-6, 6))
    station = (CENTER[0] + 150.0, CENTER[1] + 450.0)
    s = np.linspace(-9_000.0, 9_000.0, 200)
    bend = 350.0 * np.sin(s / 6_000.0 + rng.uniform(-0.3, 0.3))
    lx = station[0] + s * np.cos(angle) - bend * np.sin(angle)
    ly = station[1] + s * np.sin(angle) + bend * np.cos(angle)
    railway = LineString(np.column_stack([lx, ly]))

    # Ring roads and radials. Radials start exactly at ring vertices (shared coordinates),
    # so the road network is noded without dangles.
    base = rng.uniform(0, np.pi / 3)
    art_angles = np.sort((base + np.arange(6) * np.pi / 3 + rng.uniform(-0.12, 0.12, 6)
                          + np.pi) % (2 * np.pi) - np.pi)
    mid = art_angles + np.diff(np.append(art_angles, art_angles[0] + 2 * np.pi)) / 2
    prim_angles = np.sort((mid[:5] + rng.uniform(-0.1, 0.1, 5) + np.pi) % (2 * np.pi) - np.pi)
    ring_theta = np.unique(np.concatenate([np.linspace(-np.pi, np.pi, 240, endpoint=False),
                                           art_angles, prim_angles]))
    inner_w = (0.05, rng.uniform(0, 2 * np.pi))
    outer_w = (0.04, rng.uniform(0, 2 * np.pi))
    inner = _ring_vertices(0.17, ring_theta, phases, inner_w)
    outer = _ring_vertices(0.55, ring_theta, phases, outer_w)

    def radial(th, start_rho, ring):
        # first vertex: the very ring vertex at this angle (bit-identical coordinates)
        start = ring[int(np.flatnonzero(ring_theta == th)[0])]
        rr = np.linspace(start_rho, 1.3, 80)[2:]
        thetas = th + 0.03 * np.sin((rr - start_rho) * 6.0 + th * 3.0)
        return np.vstack([start[None, :], np.column_stack(_point_at(rr, thetas, phases))])

    road_rows = [({"name": "Altstadtring", "road_class": "arterial"}, LineString(inner)),
                 ({"name": "Stadtring", "road_class": "arterial"}, LineString(outer))]
    street_names = ["Berliner Straße", "Hamburger Allee", "Kasseler Straße", "Frankfurter Straße",
                    "Leipziger Straße", "Hannoversche Straße"]
    for k, th in enumerate(art_angles):
        road_rows.append(({"name": street_names[k], "road_class": "arterial"},
                          LineString(radial(th, 0.17, inner))))
    primary_names = ["Lindenallee", "Parkstraße", "Am Mühlgraben", "Feldweg", "Schützenstraße"]
    for k, th in enumerate(prim_angles):
        road_rows.append(({"name": primary_names[k], "road_class": "primary"},
                          LineString(radial(th, 0.55, outer))))
    roads = _line_layer(road_rows)
    rivers = _line_layer([({"name": "Muster", "waterway": "river"}, river)])
    railways = _line_layer([({"name": "Hauptbahn Nord-Süd", "railway": "rail"}, railway)])

    lines = [boundary.exterior, river, railway] + list(roads.geometry)
    faces = [f for f in polygonize(unary_union(lines)) if boundary.contains(f.representative_point())]
    faces = _absorb_tiny_faces(faces)
    faces = gpd.GeoDataFrame({"face": np.arange(len(faces))}, geometry=faces, crs=CRS)
    city = unary_union(list(faces.geometry))
    return {"phases": phases, "boundary": city, "rivers": rivers, "railways": railways,
            "roads": roads, "faces": faces, "station": station}


def _absorb_tiny_faces(faces, min_area=1.0):
    """Merge the sub-square-metre triangles left where three barrier lines almost meet
    into the neighbouring face with the longest shared edge (they would be blocks
    without neighbours)."""
    big = [f for f in faces if f.area >= min_area]
    for tiny in (f for f in faces if f.area < min_area):
        shared = [tiny.boundary.intersection(f.buffer(1e-6)).length for f in big]
        k = int(np.argmax(shared))
        merged = unary_union([big[k], tiny])
        if shared[k] > 0 and merged.geom_type == "Polygon":
            big[k] = merged
        else:  # keep it: the faces must tile the city
            big.append(tiny)
    return big


def _seed_points(rng, n_blocks, phases):
    """Jittered grid in the unit disc, warped radially so density peaks in the centre."""
    n_grid = int(n_blocks * 1.0)
    spacing = np.sqrt(np.pi / n_grid)
    g = np.arange(-1.0 + spacing / 2, 1.0, spacing)
    gx, gy = np.meshgrid(g, g)
    gx = gx.ravel() + rng.uniform(-0.4, 0.4, gx.size) * spacing
    gy = gy.ravel() + rng.uniform(-0.4, 0.4, gy.size) * spacing
    u = np.hypot(gx, gy)
    inside = u < 1.0
    gx, gy, u = gx[inside], gy[inside], u[inside]
    theta = np.arctan2(gy, gx)
    # radial density rho(r) ~ exp(-r/0.3) + 0.35; cumulative count within r matches u^2
    r = np.linspace(0.0, 1.0, 2001)
    dens = np.exp(-r / 0.3) + 0.35
    cum = np.concatenate([[0.0], np.cumsum((dens[1:] * r[1:] + dens[:-1] * r[:-1]) / 2 * np.diff(r))])
    cum /= cum[-1]
    rho = np.interp(u ** 2, cum, r) * 0.999
    x, y = _point_at(rho, theta, phases)
    return np.column_stack([x, y])


def _voronoi_blocks(points, city, faces):
    """Voronoi cells of ``points`` cut by the barrier faces, as single polygons."""
    minx, miny, maxx, maxy = city.bounds
    envelope = box(minx - 500, miny - 500, maxx + 500, maxy + 500)
    cells = voronoi_diagram(MultiPoint([tuple(p) for p in points]), envelope=envelope)
    cells = gpd.GeoDataFrame(geometry=[c for c in cells.geoms], crs=CRS)
    # faces as the (few, prepared) query geometries: fast on both stacks
    fi, ci = _sindex_query(cells, faces.geometry, "intersects")
    fc, cc = _sindex_query(cells, faces.geometry, "contains")
    inside = np.isin(fi * len(cells) + ci, fc * len(cells) + cc)
    cut_f, cut_c = fi[~inside], ci[~inside]
    pieces = cells.geometry.iloc[cut_c].reset_index(drop=True).intersection(
        faces.geometry.iloc[cut_f].reset_index(drop=True))
    face_ids = faces["face"].to_numpy()
    out = gpd.GeoDataFrame(
        {"face": np.concatenate([face_ids[fc], face_ids[cut_f]])},
        geometry=list(cells.geometry.iloc[cc]) + list(pieces), crs=CRS)
    out = out.explode(index_parts=False).reset_index(drop=True)
    out = out[(out.geom_type == "Polygon") & (out.area > 1e-6)].reset_index(drop=True)
    return out


def _polygon_rings(geom):
    """Coordinate arrays of a 2-D polygon's rings, parsed from WKB (fast on shapely 1.8 and 2)."""
    data = geom.wkb
    order = "<" if data[0] == 1 else ">"
    n_rings = int(np.frombuffer(data, dtype=order + "u4", count=1, offset=5)[0])
    offset, rings = 9, []
    for _ in range(n_rings):
        n_pts = int(np.frombuffer(data, dtype=order + "u4", count=1, offset=offset)[0])
        offset += 4
        rings.append(np.frombuffer(data, dtype=order + "f8", count=2 * n_pts,
                                   offset=offset).reshape(n_pts, 2))
        offset += 16 * n_pts
    return rings


def _rook_pairs(frame, min_shared=0.5):
    """Pairs (i < j) of polygons sharing more than ``min_shared`` m of boundary.

    Most neighbours share bit-identical edges (cells of one Voronoi diagram), found by
    hashing the segments; polygons with any unmatched segment (along barriers, the city
    edge) are checked geometrically.
    """
    geoms = frame.geometry.reset_index(drop=True)
    owners, segs = [], []
    for i, g in enumerate(geoms):
        for ring in _polygon_rings(g):
            segs.append(np.hstack([ring[:-1], ring[1:]]))
            owners.append(np.full(len(ring) - 1, i, dtype=np.int64))
    owner = np.concatenate(owners)
    seg = np.concatenate(segs)
    swap = (seg[:, 0] > seg[:, 2]) | ((seg[:, 0] == seg[:, 2]) & (seg[:, 1] > seg[:, 3]))
    seg[swap] = seg[swap][:, [2, 3, 0, 1]]
    length = np.hypot(seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1])
    _, inverse, counts = np.unique(seg, axis=0, return_inverse=True, return_counts=True)
    inverse = np.asarray(inverse).ravel()
    order = np.argsort(inverse, kind="stable")
    inv_sorted = inverse[order]
    twice = counts[inv_sorted] == 2
    firsts = order[twice][0::2]
    seconds = order[twice][1::2]
    a = np.minimum(owner[firsts], owner[seconds])
    b = np.maximum(owner[firsts], owner[seconds])
    n = len(geoms)
    hashed = pd.DataFrame({"key": a * n + b, "len": length[firsts]})
    hashed = hashed[a != b].groupby("key")["len"].sum()
    unmatched = np.zeros(n, dtype=bool)
    unmatched[owner[counts[inverse] != 2]] = True
    fallback = np.flatnonzero(unmatched)
    fa = fb = np.zeros(0, dtype=np.int64)
    flen = np.zeros(0)
    if len(fallback):
        loc, other = _sindex_query(frame, geoms.iloc[fallback], "intersects")
        fa = fallback[loc]
        keep = fa != other
        fa, fb = fa[keep], other[keep]
        fa, fb = np.minimum(fa, fb), np.maximum(fa, fb)
        key = np.unique(fa * n + fb)
        fa, fb = key // n, key % n
        flen = geoms.iloc[fa].reset_index(drop=True).boundary.intersection(
            geoms.iloc[fb].reset_index(drop=True).buffer(0.05, resolution=1)).length.to_numpy()
    geometric = pd.Series(flen, index=fa * n + fb, dtype=float)
    combined = pd.concat([hashed[~hashed.index.isin(geometric.index)], geometric]).sort_index()
    combined = combined[combined > min_shared]
    keys = combined.index.to_numpy().astype(np.int64)
    return keys // n, keys % n, combined.to_numpy()


def _merge_slivers(blocks, target_area):
    """Merge pieces much smaller than a typical block into their same-face neighbour."""
    areas = blocks.area.to_numpy()
    small = areas < 0.2 * target_area
    if not small.any():
        return blocks
    small_idx = np.flatnonzero(small)
    geoms = blocks.geometry.reset_index(drop=True)
    s_local, nb = _sindex_query(blocks, geoms.iloc[small_idx], "intersects")
    src = small_idx[s_local]
    faces = blocks["face"].to_numpy()
    ok = (src != nb) & ~small[nb] & (faces[src] == faces[nb])
    src, nb = src[ok], nb[ok]
    if len(src) == 0:
        return blocks
    length = geoms.iloc[src].reset_index(drop=True).boundary.intersection(
        geoms.iloc[nb].reset_index(drop=True).buffer(0.05, resolution=1)).length.to_numpy()
    ok = length > 0
    src, nb, length = src[ok], nb[ok], length[ok]
    # each small piece joins the neighbour with the longest shared boundary
    order = np.lexsort((-length, src))
    src, nb = src[order], nb[order]
    first = np.concatenate([[True], src[1:] != src[:-1]]) if len(src) else np.zeros(0, bool)
    target = np.arange(len(blocks))
    target[src[first]] = nb[first]
    changed = np.flatnonzero(target != np.arange(len(blocks)))
    if len(changed) == 0:
        return blocks
    groups = {}
    for i in changed:
        groups.setdefault(int(target[i]), [int(target[i])]).append(int(i))
    new_geoms = list(geoms)
    drop = np.zeros(len(blocks), dtype=bool)
    for dst, members in groups.items():
        merged = unary_union([geoms.iloc[m] for m in members])
        if merged.geom_type != "Polygon":  # not one piece: keep them apart
            continue
        new_geoms[dst] = merged
        drop[members[1:]] = True
    keep = ~drop
    return gpd.GeoDataFrame({"face": faces[keep]},
                            geometry=[g for g, k in zip(new_geoms, keep) if k], crs=CRS)


def _sort_geometric(frame):
    """Stable, stack-independent order: north to south, then west to east (1 m rows)."""
    rp = frame.geometry.representative_point()
    key_y = -np.round(rp.y.to_numpy(), 3)
    key_x = np.round(rp.x.to_numpy(), 3)
    order = np.lexsort((key_x, key_y))
    return frame.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- regions

def _weighted_kmeans(rng, xy, weights, k, iterations=40):
    """Weighted Lloyd k-means with k-means++ start (hand-written: identical on both stacks)."""
    n = len(xy)
    w = np.asarray(weights, dtype=float) + 1e-9
    centres = np.empty((k, 2))
    centres[0] = xy[rng.choice(n, p=w / w.sum())]
    d2 = ((xy - centres[0]) ** 2).sum(axis=1)
    for c in range(1, k):
        p = w * d2
        centres[c] = xy[rng.choice(n, p=p / p.sum())]
        d2 = np.minimum(d2, ((xy - centres[c]) ** 2).sum(axis=1))
    for _ in range(iterations):
        dist = ((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        label = dist.argmin(axis=1)
        sw = np.bincount(label, weights=w, minlength=k)
        for dim in range(2):
            s = np.bincount(label, weights=w * xy[:, dim], minlength=k)
            centres[:, dim] = np.where(sw > 0, s / np.maximum(sw, 1e-12), centres[:, dim])
    return centres


def _grow_regions(n, a, b, weight, seeds, xy):
    """Assign every node to the seed with the shortest path: contiguous regions."""
    graph = coo_matrix((np.concatenate([weight, weight]),
                        (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n)).tocsr()
    _, _, sources = dijkstra(graph, directed=True, indices=seeds, min_only=True,
                             return_predecessors=True)
    label = np.full(n, -1, dtype=np.int64)
    lookup = {int(s): i for i, s in enumerate(seeds)}
    valid = sources >= 0
    label[valid] = [lookup[int(s)] for s in sources[valid]]
    if (~valid).any():  # isolated pieces: nearest seed
        d = ((xy[~valid, None, :] - xy[seeds][None, :, :]) ** 2).sum(axis=2)
        label[~valid] = d.argmin(axis=1)
    return label


def _face_seeds(rng, xy, weight, faces, k, population):
    """``k`` seed blocks spread over the barrier faces in proportion to their weight.

    Faces too light for a planning area of their own (fewer than a quarter of the
    residents of an average planning area) get no seed and join a neighbour.
    """
    face_ids, inverse = np.unique(faces, return_inverse=True)
    fw = np.bincount(inverse, weights=weight)
    fpop = np.bincount(inverse, weights=population)
    fw = np.where(fpop >= 0.25 * population.sum() / k, fw, 0.0)
    quota = fw / fw.sum() * k
    count = np.floor(quota).astype(np.int64)
    rest = k - count.sum()
    if rest > 0:
        count[np.argsort(-(quota - count), kind="stable")[:rest]] += 1
    seeds = []
    for f in np.flatnonzero(count):
        members = np.flatnonzero(inverse == f)
        kf = min(int(count[f]), len(members))
        if kf == 1:
            centres = (np.average(xy[members], axis=0, weights=weight[members] + 1e-9))[None, :]
        else:
            centres = _weighted_kmeans(rng, xy[members], weight[members], kf)
        seeds.extend(members[_seeds_near(xy[members], centres)])
    return np.array(sorted(set(int(s) for s in seeds)), dtype=np.int64)


def _seeds_near(xy, centres):
    """Distinct nodes nearest to each centre."""
    seeds, taken = [], set()
    for c in centres:
        order = np.argsort(((xy - c) ** 2).sum(axis=1), kind="stable")
        for idx in order:
            if int(idx) not in taken:
                taken.add(int(idx))
                seeds.append(int(idx))
                break
    return np.array(seeds, dtype=np.int64)


PLR_NAMES = [
    "Nordviertel", "Südviertel", "Ostviertel", "Westviertel", "Lindenhof", "Eichenau",
    "Birkenfeld", "Rosenhöhe", "Schlossberg", "Kirchberg", "Mühlenviertel", "Gartenstadt",
    "Neustadt", "Sonnenhang", "Am Rathaus", "Domviertel", "Marktviertel", "Universitätsviertel",
    "Kasernenviertel", "Weinberg", "Feldmark", "Auenviertel", "Wiesengrund", "Tannenbusch",
    "Heideweg", "Ahornhain", "Brunnenviertel", "Am Wasserturm", "Ziegelei", "Hüttenviertel",
    "Alt-Mustern", "Oberdorf", "Unterdorf", "Steinfeld", "Buchholz", "Kastanienhof",
    "Hofgarten", "Friedrichstadt", "Luisenviertel", "Am Stadtpark", "Am Stadtwald",
    "Kolonie Glückauf", "Vogelsang", "Rotdornweg", "Fliederhof", "Kornblumenfeld",
    "Bergfried", "Talaue", "Hohe Warte", "Holzmarkt", "Gerberviertel", "Am Kanal",
    "Sandberg", "Lerchenfeld", "Mönchshof", "Klostergarten", "Wilhelmshöhe", "Am Anger",
    "Ulmenviertel", "Amselgrund", "Falkenhorst", "Kranichsee", "Morgenland", "Abendrot",
    "Sternwarte", "Am Sportpark", "Messeviertel", "Karlsviertel", "Helenenhof", "Drosselweg",
    "Pappelallee", "Weidenufer", "Erlenbruch", "Hasenheide", "Fuchsbau", "Storchennest",
    "Am Friedhof", "Quellenviertel", "Salzwiese", "Hammerwerk", "Spinnerei", "Glashütte",
]
DIRECTIONS = ["Ost", "Nordost", "Nord", "Nordwest", "West", "Südwest", "Süd", "Südost"]


def _direction(dx, dy):
    """German compass name of a direction (east = 0 degrees, counter-clockwise)."""
    k = int(np.round(np.arctan2(dy, dx) / (np.pi / 4))) % 8
    return DIRECTIONS[k]


# --------------------------------------------------------------------------- statistics

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


def _line_distance(geoms, transform, shape):
    """Distance in metres from every pixel to the nearest of ``geoms``."""
    from rasterio.features import rasterize

    mask = rasterize([(g, 1) for g in geoms], out_shape=shape, transform=transform, fill=0,
                     dtype="uint8", all_touched=True)
    return ndimage.distance_transform_edt(mask == 0) * PIXEL


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


def _block_statistics(rng, blocks, fields, city, pixel_summary=None):
    """Land use, population by age and year, social counts and housing per block.

    ``pixel_summary`` (from ``_pixel_summary``: density integrated over the block's pixels,
    majority land use of its pixels) avoids judging a large block by one point, so the
    city has about the same residents and land use at every block size.
    """
    rp = blocks.geometry.representative_point()
    x, y = rp.x.to_numpy(), rp.y.to_numpy()
    area = blocks.area.to_numpy()
    rho, _ = _polar(x, y, city["phases"])
    d_river = blocks.geometry.distance(city["rivers"].geometry.iloc[0]).to_numpy()
    d_rail = blocks.geometry.distance(city["railways"].geometry.iloc[0]).to_numpy()
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


def _latent_fields(rng, city):
    """Deprivation, affluence, change, green, parks, industry: smooth fields."""
    ph = city["phases"]

    def at(rho, angle):
        return _point_at(rho, angle, ph)

    a = rng.uniform(-np.pi, np.pi, 8)
    sx, sy = city["station"]
    dep_bumps = [(*at(0.78, a[0]), 1.2, 750.0),              # large housing estate at the edge
                 (sx + 900 * np.cos(a[1]), sy + 900 * np.sin(a[1]), 0.9, 600.0),  # near the tracks
                 (*at(0.35, a[2]), 0.8, 500.0)]                # old working-class quarter
    aff_bumps = [(*at(0.75, a[0] + np.pi), 1.1, 900.0),      # villa quarter on the green side
                 (*at(0.25, a[2] + 2.2), 0.7, 500.0)]          # gentrified old town edge
    chg_bumps = [(dep_bumps[2][0], dep_bumps[2][1], 1.0, 700.0),   # improving (urban renewal)
                 (*at(0.6, a[3]), -1.0, 800.0)]                     # declining
    grn_bumps = [(*at(0.85, a[0] + np.pi + 0.5), 1.3, 1500.0), (*at(0.9, a[4]), 1.0, 1000.0)]
    park_bumps = [(*at(rng.uniform(0.15, 0.8), a[5] + k * 2.1), 0.55, 230.0) for k in range(4)]
    ind_bumps = [(*at(0.62, a[6]), 1.0, 600.0), (*at(0.85, a[7]), 0.9, 500.0)]
    return {
        "deprivation": _Field(rng, dep_bumps, 0.35),
        "affluence": _Field(rng, aff_bumps, 0.3),
        "change": _Field(rng, chg_bumps, 0.35, noise_scale=1200.0),
        "green": _Field(rng, grn_bumps, 0.15),
        "parks": _Field(rng, park_bumps, 0.12, noise_scale=400.0),
        "industry": _Field(rng, ind_bumps, 0.08, noise_scale=500.0),
    }


# --------------------------------------------------------------------------- rasters

def _raster_grid(city):
    """Transform and shape of the 10 m grid covering the city (snapped to 100 m)."""
    from rasterio.transform import from_origin

    minx, miny, maxx, maxy = city["boundary"].bounds
    x0, y0 = np.floor(minx / 100) * 100 - 100, np.floor(miny / 100) * 100 - 100
    x1, y1 = np.ceil(maxx / 100) * 100 + 100, np.ceil(maxy / 100) * 100 + 100
    width, height = int(round((x1 - x0) / PIXEL)), int(round((y1 - y0) / PIXEL))
    return from_origin(x0, y1, PIXEL, PIXEL), (height, width)


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


# --------------------------------------------------------------------------- Zensus grid

class _Pixels:
    """Pixels of each block: ``order`` (flat pixel indices sorted by block), ``start``, ``count``
    (indexed by block position + 1, as in the block-id raster)."""

    def __init__(self, block_idx, n):
        flat = block_idx.ravel()
        self.shape = block_idx.shape
        self.order = np.argsort(flat, kind="stable")
        self.count = np.bincount(flat, minlength=n + 1)
        self.start = np.concatenate([[0], np.cumsum(self.count)])[:-1]


def _zensus_grid(rng, blocks, pixels, transform):
    """Distribute 2022 residents over 10 m pixels of their block and count 100 m cells."""
    from pyproj import Transformer

    pop = blocks["pop_2022"].to_numpy()
    under10 = blocks["pop_0_5_2022"].to_numpy() + rng.binomial(blocks["pop_6_14_2022"].to_numpy(), 4 / 9)
    order, counts, start = pixels.order, pixels.count[1:], pixels.start[1:]
    # blocks too small for a pixel centre: use the pixel of their representative point
    rp = blocks.geometry.representative_point()
    col = ((rp.x.to_numpy() - transform.c) / PIXEL).astype(np.int64)
    row = ((transform.f - rp.y.to_numpy()) / PIXEL).astype(np.int64)
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


# --------------------------------------------------------------------------- facilities

def _random_points_in_blocks(rng, chosen, pixels, transform):
    """One random point per entry of ``chosen`` (block positions, blocks with pixels)."""
    ids = chosen + 1
    offset = np.floor(rng.random(len(ids)) * np.maximum(pixels.count[ids], 1)).astype(np.int64)
    pixel = pixels.order[pixels.start[ids] + offset]
    prow, pcol = np.divmod(pixel, pixels.shape[1])
    x = transform.c + (pcol + 0.5) * PIXEL + rng.uniform(-3, 3, len(ids))
    y = transform.f - (prow + 0.5) * PIXEL + rng.uniform(-3, 3, len(ids))
    return x, y


KITA_NAMES = ["Sonnenschein", "Regenbogen", "Pusteblume", "Löwenzahn", "Spatzennest",
              "Kunterbunt", "Wirbelwind", "Sternschnuppe", "Märchenland", "Abenteuerland",
              "Zwergenburg", "Villa Kunterbunt", "Schatzkiste", "Entdeckerland", "Farbklecks"]
SCHOOL_PEOPLE = ["Goethe", "Schiller", "Humboldt", "Lessing", "Käthe-Kollwitz", "Anne-Frank",
                 "Sophie-Scholl", "Heinrich-Heine", "Bertha-von-Suttner", "Albert-Einstein",
                 "Marie-Curie", "Lise-Meitner", "Theodor-Fontane", "Gebrüder-Grimm",
                 "Hannah-Arendt", "Kepler", "Leibniz", "Carl-von-Ossietzky"]


def _unique_names(names):
    seen = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return out


def _facilities(rng, blocks, pixels, transform):
    """Kitas where small children live, schools where school children live."""
    has_pixels = pixels.count[1:] > 0
    plr_names = blocks["plr_name"].to_numpy()

    def pick(weights, n):
        w = np.where(has_pixels, weights, 0).astype(float)
        return np.sort(rng.choice(len(blocks), size=n, replace=True, p=w / w.sum()))

    kids = blocks["pop_0_5_2022"].to_numpy()
    n_kita = max(3, int(np.ceil(0.9 * kids.sum() / 75)))
    chosen = pick(kids, n_kita)
    x, y = _random_points_in_blocks(rng, chosen, pixels, transform)
    kitas = gpd.GeoDataFrame({
        "kita_id": [f"K{i + 1:04d}" for i in range(n_kita)],
        "name": _unique_names([f"Kita {KITA_NAMES[i % len(KITA_NAMES)]} ({plr_names[b]})"
                               for i, b in enumerate(chosen)]),
        "places": rng.integers(4, 31, n_kita).astype(np.int64) * 5,
    }, geometry=gpd.points_from_xy(x, y), crs=CRS)

    school = blocks["pop_6_14_2022"].to_numpy() + blocks["pop_15_17_2022"].to_numpy()
    primary = blocks["pop_6_14_2022"].to_numpy() * 4 / 9
    n_gs = max(2, int(np.round(primary.sum() / 360)))
    secondary = school.sum() - primary.sum()
    n_gy = max(1, int(np.round(0.45 * secondary / 850)))
    n_iss = max(1, int(np.round(0.45 * secondary / 700)))
    rows = []
    for stype, n, weights, caps in (("Grundschule", n_gs, primary, (250, 500)),
                                     ("Gymnasium", n_gy, school, (600, 1100)),
                                     ("ISS", n_iss, school, (500, 900))):
        chosen = pick(weights, n)
        x, y = _random_points_in_blocks(rng, chosen, pixels, transform)
        capacity = rng.integers(caps[0] // 25, caps[1] // 25 + 1, n) * 25
        for k, b in enumerate(chosen):
            if stype == "Grundschule":
                name = f"Grundschule {plr_names[b]}"
            elif stype == "Gymnasium":
                name = f"{SCHOOL_PEOPLE[k % len(SCHOOL_PEOPLE)]}-Gymnasium"
            else:
                name = f"{SCHOOL_PEOPLE[(k + 7) % len(SCHOOL_PEOPLE)]}-Schule (ISS)"
            rows.append((stype, name, int(capacity[k]), x[k], y[k]))
    schools = gpd.GeoDataFrame({
        "school_id": [f"S{i + 1:03d}" for i in range(len(rows))],
        "name": _unique_names([r[1] for r in rows]),
        "school_type": [r[0] for r in rows],
        "capacity": np.array([r[2] for r in rows], dtype=np.int64),
    }, geometry=gpd.points_from_xy([r[3] for r in rows], [r[4] for r in rows]), crs=CRS)
    return schools, kitas


# --------------------------------------------------------------------------- main API

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
    feedback.progress(0.05)
    feedback.check()

    feedback.info(tr("Cutting {n} statistical blocks along the barriers...", n=n_blocks))
    # a few more seeds than asked: the barrier cuts add pieces, sliver merging removes some
    points = _seed_points(rng, int(n_blocks - 5.2 * np.sqrt(n_blocks)), city["phases"])
    pieces = _voronoi_blocks(points, city["boundary"], city["faces"])
    feedback.progress(0.25)
    feedback.check()
    pieces = _merge_slivers(pieces, city["boundary"].area / n_blocks)
    pieces = _sort_geometric(pieces)
    feedback.progress(0.35)
    feedback.check()

    from rasterio.features import rasterize

    transform, shape = _raster_grid(city)
    roads = city["roads"]
    distances = {
        "river": _line_distance(city["rivers"].geometry, transform, shape),
        "rail": _line_distance(city["railways"].geometry, transform, shape),
        "arterial": _line_distance(roads.geometry[roads["road_class"] == "arterial"], transform, shape),
        "primary": _line_distance(roads.geometry[roads["road_class"] == "primary"], transform, shape),
    }
    piece_idx = rasterize(((g, i + 1) for i, g in enumerate(pieces.geometry)), out_shape=shape,
                          transform=transform, fill=0, dtype="int32")
    stats, latent = _block_statistics(
        rng, pieces, fields, city, _pixel_summary(piece_idx, transform, len(pieces), fields, city, distances))
    n = len(pieces)
    xy = np.column_stack([latent["x"], latent["y"]])

    feedback.info(tr("Forming planning areas and districts..."))
    a, b, shared = _rook_pairs(pieces)
    faces = pieces["face"].to_numpy()
    dist = np.hypot(*(xy[a] - xy[b]).T) + 1.0
    penalty = np.where(faces[a] == faces[b], 1.0, 25.0)
    n_plr = max(8, int(round(40 * (n_blocks / 3000.0) ** 0.2)))
    weight = stats["pop_2022"].to_numpy() + pieces.area.to_numpy() / 1e6 * 300.0
    seeds = _face_seeds(rng, xy, weight, faces, n_plr, stats["pop_2022"].to_numpy().astype(float))
    n_plr = len(seeds)
    plr_label = _grow_regions(n, a, b, dist * penalty, seeds, xy)
    feedback.progress(0.5)
    feedback.check()

    # districts: grow over the planning-area graph
    plr_w = np.bincount(plr_label, weights=weight, minlength=n_plr)
    plr_xy = np.column_stack([np.bincount(plr_label, weights=weight * xy[:, d], minlength=n_plr)
                              for d in range(2)]) / plr_w[:, None]
    cross = plr_label[a] != plr_label[b]
    pa, pb = plr_label[a][cross], plr_label[b][cross]
    pair = np.unique(np.column_stack([np.minimum(pa, pb), np.maximum(pa, pb)]), axis=0)
    n_dist = 6
    dcentres = _weighted_kmeans(rng, plr_xy, plr_w, n_dist)
    dseeds = _seeds_near(plr_xy, dcentres)
    pd_dist = np.hypot(*(plr_xy[pair[:, 0]] - plr_xy[pair[:, 1]]).T) + 1.0
    dist_label = _grow_regions(n_plr, pair[:, 0], pair[:, 1], pd_dist, dseeds, plr_xy)

    # district ids and names: 01 Mitte (the one holding the centre), then by direction
    centre_plr = int(np.argmin(((plr_xy - np.array(CENTER)) ** 2).sum(axis=1)))
    d_w = np.bincount(dist_label, weights=plr_w, minlength=n_dist)
    d_xy = np.column_stack([np.bincount(dist_label, weights=plr_w * plr_xy[:, k], minlength=n_dist)
                            for k in range(2)]) / d_w[:, None]
    ang = np.arctan2(d_xy[:, 1] - CENTER[1], d_xy[:, 0] - CENTER[0])
    compass = (np.pi / 2 - ang) % (2 * np.pi)  # clockwise from north
    d_order = sorted(range(n_dist), key=lambda d: (d != dist_label[centre_plr], compass[d]))
    d_rank = np.empty(n_dist, dtype=np.int64)
    d_rank[d_order] = np.arange(n_dist)
    d_names, used = {}, set()
    spare = iter(["Am Fluss", "Hafen", "Höhen", "Auen", "Feldmark", "Wald"])
    for d in d_order:
        if d == dist_label[centre_plr]:
            name = "Mitte"
        else:
            name = _direction(d_xy[d, 0] - CENTER[0], d_xy[d, 1] - CENTER[1])
            if name in used:
                name = next(spare)
        used.add(name)
        d_names[d] = name
    district_ids = [f"{d_rank[d] + 1:02d}" for d in range(n_dist)]

    # planning-area ids: district id + number by distance from the centre
    plr_ids = [""] * n_plr
    plr_dist = np.hypot(plr_xy[:, 0] - CENTER[0], plr_xy[:, 1] - CENTER[1])
    for d in range(n_dist):
        members = sorted(np.flatnonzero(dist_label == d), key=lambda p: plr_dist[p])
        for k, p in enumerate(members):
            plr_ids[p] = f"{district_ids[d]}{k + 1:02d}"
    # names: the centre is Altstadt, the station quarter Bahnhofsviertel, the rest from the pool
    station_plr = int(np.argmin(((plr_xy - np.array(city["station"])) ** 2).sum(axis=1)))
    river = city["rivers"].geometry.iloc[0]
    pool = list(PLR_NAMES)
    rng.shuffle(pool)
    plr_names = [""] * n_plr
    plr_names[centre_plr] = "Altstadt"
    if station_plr != centre_plr:
        plr_names[station_plr] = "Bahnhofsviertel"
    d_river_plr = np.array([river.distance(Point(p)) for p in plr_xy])
    rest = [p for p in np.argsort(d_river_plr, kind="stable") if not plr_names[p]]
    if rest:
        plr_names[rest[0]] = "Am Hafen"
    k = 0
    for p in sorted(range(n_plr), key=lambda p: plr_ids[p]):
        if not plr_names[p]:
            base = pool[k % len(pool)]
            plr_names[p] = base if k < len(pool) else f"{base} {k // len(pool) + 1}"
            k += 1
    feedback.progress(0.55)
    feedback.check()

    # blocks: final order by planning area, then north-west to south-east
    plr_id_arr = np.array(plr_ids, dtype=object)[plr_label]
    order = np.lexsort((np.arange(n), plr_id_arr.astype(str)))
    width = max(5, len(str(n)))
    block_ids = np.array([f"B{i + 1:0{width}d}" for i in range(n)], dtype=object)
    blocks = pd.DataFrame({
        "block_id": block_ids,
        "plr_id": plr_id_arr[order],
        "district_id": np.array(district_ids, dtype=object)[dist_label[plr_label]][order],
    })
    blocks["land_use"] = stats["land_use"].to_numpy()[order]
    blocks["area_m2"] = np.round(pieces.area.to_numpy()[order], 2)
    for col in block_columns()[5:]:
        blocks[col] = stats[col].to_numpy()[order]
    blocks = gpd.GeoDataFrame(blocks, geometry=pieces.geometry.values[order], crs=CRS)
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    adjacency = pd.DataFrame({"block_id_a": block_ids[inverse[a]], "block_id_b": block_ids[inverse[b]],
                              "shared_m": np.round(shared, 3)})

    feedback.info(tr("Dissolving planning areas and districts..."))
    plr_gdf = blocks[["plr_id", "district_id", "geometry"]].dissolve(by="plr_id", aggfunc="first")
    plr_gdf = plr_gdf.reset_index()
    name_of = dict(zip(plr_ids, plr_names))
    plr_gdf.insert(1, "plr_name", [name_of[p] for p in plr_gdf["plr_id"]])
    plr_gdf = gpd.GeoDataFrame(plr_gdf[["plr_id", "plr_name", "district_id"]],
                               geometry=plr_gdf.geometry.values, crs=CRS)
    dist_gdf = plr_gdf[["district_id", "geometry"]].dissolve(by="district_id").reset_index()
    dname = {district_ids[d]: d_names[d] for d in range(n_dist)}
    dist_gdf = gpd.GeoDataFrame({"district_id": dist_gdf["district_id"].to_numpy(),
                                 "district_name": [dname[d] for d in dist_gdf["district_id"]]},
                                geometry=dist_gdf.geometry.values, crs=CRS)
    feedback.progress(0.65)
    feedback.check()

    feedback.info(tr("Computing the 10 m rasters (noise, green, impervious, heat)..."))
    lookup = np.concatenate([[0], inverse + 1]).astype(np.int32)
    block_idx = lookup[piece_idx]
    rasters, _ = _make_rasters(rng, city, blocks, block_idx, transform, shape, distances)
    feedback.progress(0.85)
    feedback.check()

    blocks_named = blocks.assign(plr_name=blocks["plr_id"].map(name_of))
    pixels = _Pixels(block_idx, len(blocks))
    schools, kitas = _facilities(rng, blocks_named, pixels, transform)
    feedback.info(tr("Counting residents in the 100 m Zensus grid..."))
    grid = _zensus_grid(rng, blocks, pixels, transform)
    feedback.progress(0.97)

    boundary = gpd.GeoDataFrame({"name": ["Musterstadt"], "source": [SOURCE_NOTE]},
                                geometry=[city["boundary"]], crs=CRS)
    layers = {"blocks": blocks, "planning_areas": plr_gdf, "districts": dist_gdf,
              "rivers": city["rivers"], "railways": city["railways"], "roads": city["roads"],
              "city_boundary": boundary, "schools": schools, "kitas": kitas}
    for name, frame in layers.items():  # names for messages (core.validate) and the note
        frame.attrs["layer_name"] = name
        frame.attrs["source"] = SOURCE_NOTE
    pub = grid["status"] == "published"
    diagnostics = {
        "n_blocks": int(n), "n_planning_areas": int(n_plr), "n_districts": int(n_dist),
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
    feedback.progress(1.0)
    return SampleMunicipality(layers=layers, rasters=rasters, transform=transform, grid=grid,
                              block_adjacency=adjacency, seed=seed, n_blocks_requested=n_blocks,
                              diagnostics=diagnostics)


# --------------------------------------------------------------------------- default styles
# Minimal QGIS styles (QML) so the files open readable in QGIS even when nothing styles
# them (qgis_process loads nothing): stored in the GeoPackage's ``layer_styles`` table and
# as ``.qml`` beside the rasters. Plain text: core stays free of QGIS.

_QML_HEAD = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis version=\"3.22.0\" styleCategories=\"Symbology\">\n"


def _opts(**values):
    return "".join(f'<Option type="QString" name="{k}" value="{v}"/>' for k, v in values.items())


def _symbol(kind, symbol_name, **values):
    cls = {"fill": "SimpleFill", "line": "SimpleLine", "marker": "SimpleMarker"}[kind]
    return (f'<symbol type="{kind}" name="{symbol_name}" alpha="1" clip_to_extent="1" force_rhr="0">'
            f'<layer class="{cls}" enabled="1" pass="0" locked="0"><Option type="Map">{_opts(**values)}'
            f'</Option></layer></symbol>')


def _qml_single(kind, **values):
    return (_QML_HEAD + '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" '
            f'forceraster="0"><symbols>{_symbol(kind, "0", **values)}</symbols></renderer-v2></qgis>\n')


def _qml_roads():
    cats = (("arterial", "230,120,20,255", "1.2"), ("primary", "245,180,60,255", "0.7"))
    categories = "".join(f'<category render="true" symbol="{i}" value="{v}" label="{v}"/>'
                         for i, (v, _, _) in enumerate(cats))
    symbols = "".join(_symbol("line", str(i), line_color=c, line_width=w, line_width_unit="MM",
                              line_style="solid", capstyle="round", joinstyle="round")
                      for i, (_, c, w) in enumerate(cats))
    return (_QML_HEAD + '<renderer-v2 type="categorizedSymbol" attr="road_class" symbollevels="0" '
            f'enableorderby="0" forceraster="0"><categories>{categories}</categories>'
            f'<symbols>{symbols}</symbols></renderer-v2></qgis>\n')


def _qml_raster(stops, unit):
    items = "".join(f'<item alpha="255" value="{v}" label="{v} {unit}" color="{c}"/>' for v, c in stops)
    lo, hi = stops[0][0], stops[-1][0]
    return (_QML_HEAD + '<pipe><rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" '
            f'alphaBand="-1" classificationMin="{lo}" classificationMax="{hi}"><rastershader>'
            '<colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0">'
            f'{items}</colorrampshader></rastershader></rasterrenderer></pipe></qgis>\n')


VECTOR_STYLES = {
    "blocks": lambda: _qml_single("fill", color="235,232,224,255", outline_color="150,150,150,255",
                                  outline_width="0.1", outline_width_unit="MM", style="solid",
                                  outline_style="solid"),
    "planning_areas": lambda: _qml_single("fill", color="0,0,0,0", outline_color="60,60,60,255",
                                          outline_width="0.5", outline_width_unit="MM", style="no",
                                          outline_style="solid"),
    "districts": lambda: _qml_single("fill", color="0,0,0,0", outline_color="20,20,20,255",
                                     outline_width="1.2", outline_width_unit="MM", style="no",
                                     outline_style="solid"),
    "city_boundary": lambda: _qml_single("fill", color="0,0,0,0", outline_color="20,20,20,255",
                                         outline_width="1.6", outline_width_unit="MM", style="no",
                                         outline_style="dash"),
    "rivers": lambda: _qml_single("line", line_color="60,130,200,255", line_width="2.0",
                                  line_width_unit="MM", line_style="solid"),
    "railways": lambda: _qml_single("line", line_color="70,70,70,255", line_width="0.8",
                                    line_width_unit="MM", line_style="dash"),
    "roads": _qml_roads,
    "schools": lambda: _qml_single("marker", name="square", color="40,80,160,255", size="2.6",
                                   size_unit="MM", outline_color="255,255,255,255"),
    "kitas": lambda: _qml_single("marker", name="circle", color="230,90,120,255", size="2.0",
                                 size_unit="MM", outline_color="255,255,255,255"),
}
RASTER_STYLES = {
    "noise": (((40, "#1a9850"), (55, "#fee08b"), (65, "#f46d43"), (75, "#a50026")), "dB"),
    "green": (((0, "#f7fcf5"), (0.5, "#74c476"), (1, "#00441b")), ""),
    "impervious": (((0, "#ffffff"), (0.5, "#969696"), (1, "#252525")), ""),
    "heat": (((22, "#313695"), (30, "#ffffbf"), (38, "#a50026")), "\u00b0C"),
}


def _write_styles(gpkg_path):
    """Store the default vector styles in the GeoPackage (QGIS reads ``layer_styles``)."""
    with sqlite3.connect(gpkg_path) as con:
        geom_cols = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
        con.execute(
            "CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256), "
            "f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, "
            "useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), "
            "update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))")
        con.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
                    "description) VALUES ('layer_styles', 'attributes', 'layer_styles', ?)",
                    (SOURCE_NOTE,))
        for name, make in VECTOR_STYLES.items():
            if name in geom_cols:
                con.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                            "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, "
                            "description, owner, ui) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', '')",
                            (name, geom_cols[name], name, make(), SOURCE_NOTE))


README_TEXT = """Musterstadt - synthetic sample data / synthetische Beispieldaten
================================================================

EN: Everything in this folder is INVENTED by the Kommunalmonitor sample generator
(seed {seed}, {n} blocks). It describes no real place or person. Use it to learn, test
and demonstrate the workflow; never as evidence about a real city.

DE: Alle Daten in diesem Ordner sind ERFUNDEN (Kommunalmonitor-Beispielgenerator,
Startwert {seed}, {n} Blöcke). Sie beschreiben keinen realen Ort und keine reale Person.

Files / Dateien
- musterstadt.gpkg: blocks, planning_areas, districts, rivers, railways, roads,
  city_boundary, schools, kitas (EPSG:25832)
- noise_lden_10m.tif (dB), green_cover_10m.tif (0-1), impervious_10m.tif (0-1),
  surface_heat_10m.tif (deg C): float32, 10 m, EPSG:25832, nodata -9999 outside the city
- zensus_100m.csv: Zensus-style 100 m grid, EPSG:3035 cell centres, semicolon separated;
  residents 2022 ('einwohner') and under 10 ('alter_unter10'). Cells with fewer than
  3 persons are absent, -1 = secret, '\u2013' = value 1 or 2 suppressed (as in the real Zensus).
  Residents 2022: {pop}; published in cells: {published}; in absent cells: {suppressed};
  in secret cells: {secret}.
"""


def write_sample_municipality(sample, output_dir, feedback=None):
    """Write the sample city to ``output_dir``; returns a dict of the written paths.

    Keys: ``gpkg``, ``noise``, ``green``, ``impervious``, ``heat``, ``zensus``, ``readme``.
    """
    import rasterio

    feedback = ensure_feedback(feedback)
    os.makedirs(output_dir, exist_ok=True)
    paths = {"gpkg": os.path.join(output_dir, "musterstadt.gpkg")}
    if os.path.exists(paths["gpkg"]):
        os.remove(paths["gpkg"])
    layers = list(sample.layers.items())
    for k, (name, frame) in enumerate(layers):
        frame.to_file(paths["gpkg"], layer=name, driver="GPKG")
        feedback.progress(0.7 * (k + 1) / len(layers))
        feedback.check()
    with sqlite3.connect(paths["gpkg"]) as con:
        con.execute("UPDATE gpkg_contents SET description = ?", (SOURCE_NOTE,))
    _write_styles(paths["gpkg"])
    height, width = next(iter(sample.rasters.values())).shape
    descriptions = {"noise": "Road and rail noise Lden (dB)", "green": "Green cover fraction (0-1)",
                    "impervious": "Impervious surface fraction (0-1)",
                    "heat": "Surface temperature on a hot summer afternoon (deg C)"}
    for key, filename in RASTER_FILES.items():
        path = os.path.join(output_dir, filename)
        with rasterio.open(path, "w", driver="GTiff", height=height, width=width, count=1,
                           dtype="float32", crs=CRS, transform=sample.transform, nodata=NODATA,
                           compress="deflate", tiled=True, blockxsize=256, blockysize=256) as dst:
            dst.write(sample.rasters[key], 1)
            dst.update_tags(source=SOURCE_NOTE, seed=str(sample.seed))
            dst.set_band_description(1, descriptions[key])
        paths[key] = path
        with open(os.path.splitext(path)[0] + ".qml", "w", encoding="utf-8") as fh:
            fh.write(_qml_raster(*RASTER_STYLES[key]))
    feedback.progress(0.9)
    paths["zensus"] = os.path.join(output_dir, "zensus_100m.csv")
    zensus_csv_frame(sample.grid).to_csv(paths["zensus"], sep=";", index=False, encoding="utf-8")
    paths["readme"] = os.path.join(output_dir, "README.txt")
    d = sample.diagnostics
    with open(paths["readme"], "w", encoding="utf-8") as fh:
        fh.write(README_TEXT.format(seed=sample.seed, n=d["n_blocks"], pop=d["population_2022"],
                                    published=d["zensus_persons_published"],
                                    suppressed=d["zensus_persons_suppressed"],
                                    secret=d["zensus_persons_secret"]))
    feedback.progress(1.0)
    return paths
