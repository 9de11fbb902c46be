"""Processing adapter: the public web atlas (a static HTML folder that works offline)."""
from qgis.core import (QgsProcessingOutputNumber, QgsProcessingParameterFolderDestination,
                       QgsProcessingParameterString)

from ...core.webatlas.writer import WebAtlasOptions, write_web_atlas
from ..base import KommunalmonitorAlgorithm, core_feedback
from .profile_atlas import ProfileInputs


class WebAtlas(ProfileInputs, KommunalmonitorAlgorithm):
    """Choropleth per indicator and period, search, one profile page per area, CSV download,
    imprint, German and English; no external files and no network access at view time."""

    ALGORITHM_ID = "webatlas"
    DISPLAY_NAME = "Public web atlas (static HTML)"
    GROUP_ID = "maps"
    TAGS = ("Web-Atlas", "web atlas", "HTML", "Karte", "map", "Veröffentlichung", "publish")

    PUBLISHER = "PUBLISHER"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Shared profile parameters, imprint text and the output folder."""
        self.add_profile_parameters()
        self.addParameter(QgsProcessingParameterString(
            self.PUBLISHER, self.tr("Publisher for the imprint (office, address, contact)"), optional=True))
        self.addParameter(QgsProcessingParameterFolderDestination(
            self.OUTPUT, self.tr("Web atlas folder")))
        self.addOutput(QgsProcessingOutputNumber("FILES", self.tr("Files written")))
        self.addOutput(QgsProcessingOutputNumber("BYTES", self.tr("Size in bytes")))

    def run_algorithm(self, parameters, context, feedback):
        """Build the profile content and write the folder."""
        folder = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        content, facilities = self.read_profiles(parameters, context, feedback)
        options = WebAtlasOptions(
            title=self.parameterAsString(parameters, self.TITLE, context) or "",
            publisher=self.parameterAsString(parameters, self.PUBLISHER, context) or "",
            period=self.parameterAsString(parameters, self.PERIOD, context) or "", facilities=facilities)
        info = write_web_atlas(content, folder, options, feedback=core_feedback(feedback))
        feedback.pushInfo(self.tr("{files} files written ({size} MB); open index.html in a browser.",
                                  files=info["files"], size=f"{info['bytes'] / 1e6:.1f}"))
        return {self.OUTPUT: folder, "FILES": info["files"], "BYTES": info["bytes"]}
