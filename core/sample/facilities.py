"""Schools and kitas, placed where the children live."""
import numpy as np
import geopandas as gpd

from .model import CRS, PIXEL


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
