"""Processing adapter: create the synthetic sample municipality Musterstadt (``core.sample``)."""
import os
import shutil

from qgis.core import (QgsProcessing, QgsProcessingContext, QgsProcessingOutputFile,
                       QgsProcessingOutputRasterLayer, QgsProcessingParameterFolderDestination,
                       QgsProcessingParameterNumber)

from ...core.sample import (MAX_BLOCKS, MIN_BLOCKS, RASTER_FILES, generate_sample_municipality,
                            write_sample_municipality)
from ..base import KommunalmonitorAlgorithm, core_feedback


class SampleMunicipality(KommunalmonitorAlgorithm):
    """Write Musterstadt (blocks, planning areas, rasters, Zensus grid) into a folder."""

    ALGORITHM_ID = "samplemunicipality"
    DISPLAY_NAME = "Create sample municipality (Musterstadt)"
    GROUP_ID = "data"
    TAGS = ("Musterstadt", "Beispieldaten", "sample data", "Übung", "tutorial", "synthetisch", "synthetic")

    N_BLOCKS = "N_BLOCKS"
    SEED = "SEED"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    GPKG = "GPKG"
    NOISE = "NOISE"
    GREEN = "GREEN"
    IMPERVIOUS = "IMPERVIOUS"
    HEAT = "HEAT"
    ZENSUS = "ZENSUS"

    _RASTERS = (("NOISE", "noise"), ("GREEN", "green"), ("IMPERVIOUS", "impervious"),
                ("HEAT", "heat"))

    def initAlgorithm(self, config=None):  # noqa: N802
        """Parameters: number of blocks, seed, output folder; outputs: the written files."""
        self.addParameter(QgsProcessingParameterNumber(
            self.N_BLOCKS, self.tr("Number of statistical blocks (approximate)"),
            QgsProcessingParameterNumber.Integer, 3000, minValue=MIN_BLOCKS, maxValue=MAX_BLOCKS))
        self.addParameter(QgsProcessingParameterNumber(
            self.SEED, self.tr("Random seed (same seed = same city)"),
            QgsProcessingParameterNumber.Integer, 42, minValue=0))
        self.addParameter(QgsProcessingParameterFolderDestination(
            self.OUTPUT_FOLDER, self.tr("Output folder"),
            defaultValue=QgsProcessing.TEMPORARY_OUTPUT))
        self.addOutput(QgsProcessingOutputFile(self.GPKG, self.tr("GeoPackage (musterstadt.gpkg)")))
        self.addOutput(QgsProcessingOutputRasterLayer(self.NOISE, self.tr("Road noise Lden (10 m)")))
        self.addOutput(QgsProcessingOutputRasterLayer(self.GREEN, self.tr("Green cover (10 m)")))
        self.addOutput(QgsProcessingOutputRasterLayer(
            self.IMPERVIOUS, self.tr("Impervious surface (10 m)")))
        self.addOutput(QgsProcessingOutputRasterLayer(self.HEAT, self.tr("Surface heat (10 m)")))
        self.addOutput(QgsProcessingOutputFile(self.ZENSUS, self.tr("Zensus-style 100 m grid (CSV)")))

    @staticmethod
    def _store_styles(paths, layer_names):
        """Store the shipped Musterstadt styles (``resources/styles/sample_<name>.qml``) with the
        files core wrote (data only): default styles in the GeoPackage, a ``.qml`` beside each
        raster, so the files open styled where nothing styles them (qgis_process, File > Open)."""
        from ..styling import save_default_style, style_path

        for name in layer_names:
            save_default_style(f"{paths['gpkg']}|layername={name}", f"sample_{name}", name=name)
        for key in RASTER_FILES:
            shutil.copyfile(style_path(f"sample_{key}"), os.path.splitext(paths[key])[0] + ".qml")

    def run_algorithm(self, parameters, context, feedback):
        """Generate in the engine, write the files, store their styles, offer the main layers."""
        n_blocks = self.parameterAsInt(parameters, self.N_BLOCKS, context)
        seed = self.parameterAsInt(parameters, self.SEED, context)
        folder = self.parameterAsFileOutput(parameters, self.OUTPUT_FOLDER, context)
        core = core_feedback(feedback)
        # writing is about a quarter of the run (100,000 blocks: 85 s generating, 30 s writing)
        sample = generate_sample_municipality(n_blocks, seed, feedback=core.step(0.0, 0.75))
        paths = write_sample_municipality(sample, folder, feedback=core.step(0.75, 1.0))
        self._store_styles(paths, sample.layers)
        d = sample.diagnostics
        feedback.pushInfo(self.tr(
            "Musterstadt (synthetic): {blocks} blocks, {areas} planning areas, {districts} districts, "
            "{pop} residents (2022). Zensus grid: {suppressed} residents in cells with fewer than 3 "
            "persons left out, {secret} residents in secret cells (-1).",
            blocks=d["n_blocks"], areas=d["n_planning_areas"], districts=d["n_districts"],
            pop=d["population_2022"], suppressed=d["zensus_persons_suppressed"],
            secret=d["zensus_persons_secret"]))
        # desktop: load the layers when done, in one group: planning areas as outlines on top, the
        # blocks below, the raster at the bottom and switched off (qgis_process ignores this)
        from ..styling import group_on_loading

        group = self.tr("Musterstadt (synthetic)")
        loads = ((f"{paths['gpkg']}|layername=planning_areas", self.tr("Musterstadt planning areas (synthetic)"),
                  "planning_areas", 0, True),
                 (f"{paths['gpkg']}|layername=blocks", self.tr("Musterstadt blocks (synthetic)"), "blocks", 1, True),
                 (paths["noise"], self.tr("Musterstadt road noise Lden (synthetic)"), "noise", 2, False))
        for source, name, key, rank, visible in loads:
            context.addLayerToLoadOnCompletion(source, QgsProcessingContext.LayerDetails(name, context.project(), key))
            group_on_loading(context, source, group, rank, visible)
        results = {self.OUTPUT_FOLDER: folder, self.GPKG: paths["gpkg"], self.ZENSUS: paths["zensus"]}
        for out, key in self._RASTERS:
            results[out] = paths[key]
        return results
