"""Kommunalmonitor analysis engine.

Plain Python on geopandas, shapely, numpy, scikit-learn and rasterio: no QGIS or Qt
import anywhere below this package, so the engine runs and is tested on both the QGIS
stack (Debian's QGIS 3.22 packages) and the current PyPI stack.
"""
