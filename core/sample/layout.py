"""The city layout: boundary, river, railway, ring and radial roads, and the faces between them."""
import numpy as np
import pandas as pd
import geopandas as gpd
from shapely.geometry import LineString, Polygon
from shapely.ops import polygonize, unary_union

from .model import CENTER, CRS, SEMI_AXES


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
