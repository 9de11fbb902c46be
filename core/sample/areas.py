"""Planning areas and districts: contiguous unions of blocks grown from seeds, with ids and names."""
import numpy as np
import pandas as pd
import geopandas as gpd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import Point

from ..feedback import ensure_feedback
from .model import CENTER, CRS

N_DISTRICTS = 6


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


# --------------------------------------------------------------------------- growing and naming

def _grow_planning_areas(rng, pieces, stats, xy, n_blocks, neighbours):
    """Planning area of every block: grown from seeds spread over the barrier faces; crossing a
    barrier costs 25 times a step inside a face, so areas follow barriers where they can.

    Returns the label per block, the block weights (residents plus area) and the number of areas.
    """
    a, b = neighbours
    faces = pieces["face"].to_numpy()
    dist = np.hypot(*(xy[a] - xy[b]).T) + 1.0
    penalty = np.where(faces[a] == faces[b], 1.0, 25.0)
    n_plr = max(8, int(round(40 * (n_blocks / 3000.0) ** 0.2)))
    weight = stats["pop_2022"].to_numpy() + pieces.area.to_numpy() / 1e6 * 300.0
    seeds = _face_seeds(rng, xy, weight, faces, n_plr, stats["pop_2022"].to_numpy().astype(float))
    n_plr = len(seeds)
    plr_label = _grow_regions(len(pieces), a, b, dist * penalty, seeds, xy)
    return plr_label, weight, n_plr


def _grow_districts(rng, plr_label, weight, xy, neighbours, n_plr, n_dist=N_DISTRICTS):
    """District of every planning area, grown over the planning-area graph.

    Returns the label per planning area, the weight and the weighted centre of each area.
    """
    a, b = neighbours
    plr_w = np.bincount(plr_label, weights=weight, minlength=n_plr)
    plr_xy = np.column_stack([np.bincount(plr_label, weights=weight * xy[:, d], minlength=n_plr)
                              for d in range(2)]) / plr_w[:, None]
    cross = plr_label[a] != plr_label[b]
    pa, pb = plr_label[a][cross], plr_label[b][cross]
    pair = np.unique(np.column_stack([np.minimum(pa, pb), np.maximum(pa, pb)]), axis=0)
    dcentres = _weighted_kmeans(rng, plr_xy, plr_w, n_dist)
    dseeds = _seeds_near(plr_xy, dcentres)
    pd_dist = np.hypot(*(plr_xy[pair[:, 0]] - plr_xy[pair[:, 1]]).T) + 1.0
    dist_label = _grow_regions(n_plr, pair[:, 0], pair[:, 1], pd_dist, dseeds, plr_xy)
    return dist_label, plr_w, plr_xy


def _name_districts(dist_label, plr_w, plr_xy, centre_plr, n_dist=N_DISTRICTS):
    """District ids and names: 01 Mitte (the one holding the centre), then clockwise from north
    with compass names; returns (ids by district label, names by district label)."""
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
    return district_ids, d_names


def _name_planning_areas(rng, city, plr_xy, dist_label, district_ids, centre_plr):
    """Planning-area ids (district id + number by distance from the centre) and names (the centre
    is Altstadt, the station quarter Bahnhofsviertel, the one nearest the river Am Hafen, the
    rest from the shuffled pool)."""
    n_plr, n_dist = len(plr_xy), len(district_ids)
    plr_ids = [""] * n_plr
    plr_dist = np.hypot(plr_xy[:, 0] - CENTER[0], plr_xy[:, 1] - CENTER[1])
    for d in range(n_dist):
        members = sorted(np.flatnonzero(dist_label == d), key=lambda p: plr_dist[p])
        for k, p in enumerate(members):
            plr_ids[p] = f"{district_ids[d]}{k + 1:02d}"
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
    return plr_ids, plr_names


def _centre_area(plr_xy):
    """The planning area whose weighted centre is nearest the city centre."""
    return int(np.argmin(((plr_xy - np.array(CENTER)) ** 2).sum(axis=1)))


def _dissolve_areas(blocks, plr_names_by_id, district_names_by_id, feedback=None):
    """The planning-area and district layers, dissolved from the final blocks."""
    feedback = ensure_feedback(feedback)
    # planning areas in batches (progress and a cancel check between them): each area is the
    # union of the same blocks in the same order, and the batches follow dissolve's sorted ids
    ids = np.sort(blocks["plr_id"].unique())
    batches = np.array_split(ids, max(1, min(len(ids), 8)))
    parts = []
    for k, batch in enumerate(batches):
        feedback.check()
        members = blocks[blocks["plr_id"].isin(batch).to_numpy()]
        parts.append(members[["plr_id", "district_id", "geometry"]].dissolve(by="plr_id", aggfunc="first"))
        feedback.progress(0.9 * (k + 1) / len(batches))
    plr_gdf = pd.concat(parts).reset_index()
    plr_gdf.insert(1, "plr_name", [plr_names_by_id[p] for p in plr_gdf["plr_id"]])
    plr_gdf = gpd.GeoDataFrame(plr_gdf[["plr_id", "plr_name", "district_id"]],
                               geometry=plr_gdf.geometry.values, crs=CRS)
    dist_gdf = plr_gdf[["district_id", "geometry"]].dissolve(by="district_id").reset_index()
    dist_gdf = gpd.GeoDataFrame({"district_id": dist_gdf["district_id"].to_numpy(),
                                 "district_name": [district_names_by_id[d]
                                                   for d in dist_gdf["district_id"]]},
                                geometry=dist_gdf.geometry.values, crs=CRS)
    return plr_gdf, dist_gdf
