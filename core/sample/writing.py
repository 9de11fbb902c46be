"""Writing Musterstadt to files: a GeoPackage, GeoTIFFs, the Zensus CSV and a README."""
import os
import sqlite3

from ..feedback import ensure_feedback
from .model import CRS, NODATA, RASTER_FILES, SOURCE_NOTE
from .zensus import zensus_csv_frame


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


def _writes_per_record():
    """True where geopandas writes through fiona, record by record (geopandas < 1 or no pyogrio)."""
    import importlib.util

    import geopandas

    return int(geopandas.__version__.split(".")[0]) < 1 or importlib.util.find_spec("pyogrio") is None


def _write_layer(frame, path, name, feedback):
    """Write one layer into the GeoPackage; a large one in chunks of blocks, appended in order.

    Through fiona (the QGIS stack) 100,000 blocks take half a minute: appended chunk by chunk
    they give progress and a cancel check per chunk, with the same features, order (fids
    1…n), fields and geometry type as one write (only the layout of the GeoPackage's
    spatial-index tree differs, and GDAL stores the layer extent in its metadata to 15
    digits, a difference below a micrometre). pyogrio writes them in
    about two seconds, at once, which appending would slow down. A layer of mixed geometry
    types is always written at once, so its declared type stays the one geopandas gives the
    whole layer.
    """
    from . import blocks

    if (len(frame) <= blocks.BLOCKS_PER_STEP or not _writes_per_record()
            or frame.geom_type.nunique(dropna=False) > 1):
        frame.to_file(path, layer=name, driver="GPKG")
        return
    for part in blocks._chunks(len(frame), feedback):
        frame.iloc[part].to_file(path, layer=name, driver="GPKG", **({"mode": "a"} if part.start else {}))


def write_sample_municipality(sample, output_dir, feedback=None):
    """Write the sample city to ``output_dir``; returns a dict of the written paths.

    Keys: ``gpkg``, ``noise``, ``green``, ``impervious``, ``heat``, ``zensus``, ``readme``.
    Data only: QGIS styles are stored by the Processing algorithm
    (``processing/algorithms/sample_municipality.py``), since core holds no QGIS formats.
    """
    import rasterio

    feedback = ensure_feedback(feedback)
    os.makedirs(output_dir, exist_ok=True)
    paths = {"gpkg": os.path.join(output_dir, "musterstadt.gpkg")}
    if os.path.exists(paths["gpkg"]):
        os.remove(paths["gpkg"])
    layers = list(sample.layers.items())
    # the bar follows the features written: the blocks are most of them
    total, done = sum(len(frame) + 1 for _, frame in layers), 0
    for name, frame in layers:
        share = feedback.step(0.7 * done / total, 0.7 * (done + len(frame) + 1) / total)
        _write_layer(frame, paths["gpkg"], name, share)
        done += len(frame) + 1
        feedback.progress(0.7 * done / total)
        feedback.check()
    with sqlite3.connect(paths["gpkg"]) as con:
        con.execute("UPDATE gpkg_contents SET description = ?", (SOURCE_NOTE,))
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
