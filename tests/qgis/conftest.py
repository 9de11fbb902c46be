"""QGIS-stack fixtures: one offscreen QgsApplication with the provider registered."""
import os
import sys
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


# QGIS 3.22 + GDAL: a session that ran algorithms while a QgsRasterLayer was alive can
# segfault during interpreter teardown (after exitQgis, GDAL objects are freed in the wrong
# order), after every result has been reported. qgis_process runs do not crash (see the
# demo and qgis_process tests), so this is the test process's teardown only. We keep
# pytest's own exit status by leaving the process right after pytest has finished.
_SESSION = {}


def pytest_sessionfinish(session, exitstatus):
    """Remember pytest's exit status for the clean exit below."""
    _SESSION["status"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Exit with pytest's status once the summary is written, before the QGIS/GDAL teardown."""
    if "status" in _SESSION and "qgis.core" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_SESSION["status"])
