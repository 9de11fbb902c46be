"""pip install . — the analysis engine as the Python package ``kommunalmonitor`` (no QGIS needed).

The repository root is the QGIS plugin folder and at the same time the package
``kommunalmonitor``; the package holds ``core/`` (the engine, with the ``kommunalmonitor``
command) and the resources it reads (German texts, indicator catalogues). ``processing/`` and
``plugin/`` need QGIS and stay out. Metadata is in pyproject.toml.
"""
import os

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
    """The plugin's version from metadata.txt (one version for the plugin and the package)."""
    with open(os.path.join(HERE, "metadata.txt"), encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("version="):
                return line.split("=", 1)[1].strip()
    raise RuntimeError("metadata.txt has no version")


class BuildPy(build_py):
    """Leave this setup.py out of the package (the root is both the plugin folder and the package)."""

    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if not (package == "kommunalmonitor" and m[1] == "setup")]


setup(
    version=_version(),
    cmdclass={"build_py": BuildPy},
    packages=["kommunalmonitor"] + ["kommunalmonitor." + p for p in find_packages(HERE, include=["core", "core.*"])],
    package_dir={"kommunalmonitor": "."},
    package_data={"kommunalmonitor": ["metadata.txt", "LICENSE", "i18n/de/*.json", "resources/catalogues/*.yaml"]},
    include_package_data=False,
)
