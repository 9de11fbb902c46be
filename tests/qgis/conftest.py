"""QGIS-stack fixtures: one offscreen QgsApplication with the provider registered."""
import os
import tempfile

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QGIS_CUSTOM_CONFIG_PATH", tempfile.mkdtemp(prefix="km-qgis-profile-"))


@pytest.fixture(scope="session")
def qgis_app():
    """Start QGIS once per test session and register the Kommunalmonitor provider."""
    from qgis.core import QgsApplication
    from qgis.testing import start_app

    app = start_app()
    from qgis.analysis import QgsNativeAlgorithms

    registry = QgsApplication.processingRegistry()
    if registry.providerById("native") is None:
        registry.addProvider(QgsNativeAlgorithms())
    from kommunalmonitor.processing.provider import KommunalmonitorProvider

    if registry.providerById("kommunalmonitor") is None:
        registry.addProvider(KommunalmonitorProvider())
    yield app


@pytest.fixture
def run_alg(qgis_app):
    """Run a Processing algorithm by id: ``results = run_alg('kommunalmonitor:x', {...})``.

    Raises ``QgsProcessingException`` like qgis_process would report it.
    """
    from qgis.core import (QgsApplication, QgsProcessingContext, QgsProcessingException,
                           QgsProcessingFeedback)

    def run(algorithm_id, parameters, feedback=None, context=None):
        algorithm = QgsApplication.processingRegistry().createAlgorithmById(algorithm_id)
        assert algorithm is not None, f"algorithm {algorithm_id} not registered"
        context = context or QgsProcessingContext()
        feedback = feedback or QgsProcessingFeedback()
        ok, message = algorithm.checkParameterValues(parameters, context)
        if not ok:
            raise QgsProcessingException(message)
        results, ok = algorithm.run(parameters, context, feedback)
        if not ok:
            raise QgsProcessingException(feedback.textLog() if hasattr(feedback, "textLog") else "failed")
        return results

    return run
