"""Kommunalmonitor QGIS plugin: QGIS calls ``classFactory``; everything else loads lazily."""


def classFactory(iface):  # noqa: N802 (QGIS's name)
    """Create the plugin instance; ``iface`` is None under qgis_process."""
    from .plugin.main import KommunalmonitorPlugin

    return KommunalmonitorPlugin(iface)
