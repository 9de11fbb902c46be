# Kommunalmonitor — one Makefile for set-up, tests, demo, package and benchmarks.
#   make demo     run the main workflow headless on the sample municipality "Musterstadt"
#   make test     all tests on both Python stacks (installs what is missing)
#   make package  dist/kommunalmonitor-<version>.zip for the QGIS plugin repository
#   make bench    benchmarks against peer tools, written to docs/benchmarks.md
SHELL := /bin/bash
.DEFAULT_GOAL := help

VERSION    := $(shell sed -n 's/^version=//p' metadata.txt)
QGIS_PY    := /usr/bin/python3
BUILD      := $(CURDIR)/.build
PKGROOT    := $(BUILD)/pkgroot
# The venv lives outside the tree (tools that grep the tree must not walk into site-packages);
# .venv/current links to it. It is reused across clones while requirements-current.txt is unchanged.
VENV_HOME  := $(HOME)/.cache/kommunalmonitor/venv-current
VENV       := $(CURDIR)/.venv/current
VENV_PY    := $(VENV)/bin/python
PROFILE    := $(BUILD)/qgis-profile
SHARED     := $(abspath $(CURDIR)/../shared)

# Debian 12 packages of the QGIS stack (see README "Supported platforms").
APT_PACKAGES := qgis python3-qgis qgis-providers xvfb python3-geopandas python3-rasterio \
  python3-sklearn python3-fiona python3-rtree python3-scipy python3-yaml python3-openpyxl \
  python3-pytest python3-hypothesis python3-venv poppler-utils fonts-dejavu-core zip unzip git \
  python3-distributed python3-pip python3-setuptools python3-matplotlib
# PostgreSQL + PostGIS for the tests of the PostGIS monitoring store (a throwaway cluster,
# scripts/pg_test_cluster.sh, started by test-qgis and stopped after it, also on failure).
POSTGIS_PACKAGES := postgresql-15 postgresql-15-postgis-3 python3-psycopg2
# Headless Chromium and its WebDriver for the web atlas test in a real browser
# (tests/qgis/test_webatlas_browser.py); installed with the QGIS stack when missing.
BROWSER_PACKAGES := chromium chromium-driver
# Build dependencies of GDAL's Python bindings in the current-stack venv (see setup-current).
GDAL_BUILD_PACKAGES := libgdal-dev g++ python3-dev
QGIS_CHECK := import qgis.core, geopandas, shapely, sklearn, rasterio, rtree, scipy, yaml, openpyxl, pytest, hypothesis, distributed, pip, setuptools, matplotlib

# Headless QGIS; -P keeps the current directory (the plugin root) off sys.path.
export QT_QPA_PLATFORM := offscreen
export KOMMUNALMONITOR_SHARED := $(SHARED)
# PROJ_DATA only for Debian's pyproj: the venv's wheels ship their own proj.db (another version).
QGIS_ENV  := PROJ_DATA=/usr/share/proj PYTHONPATH=$(PKGROOT):/usr/share/qgis/python/plugins:/usr/share/qgis/python
PYTEST_ARGS ?=

.PHONY: help setup setup-qgis setup-current setup-postgis pkgroot test test-qgis test-current demo package bench clean

help:
	@sed -n 's/^#   //p' Makefile

setup: setup-qgis setup-current

## QGIS stack: Debian's QGIS 3.22 and Python packages (never pip into /usr/bin/python3).
setup-qgis:
	@if ! $(QGIS_PY) -c "$(QGIS_CHECK)" 2>/dev/null || ! command -v qgis_process.bin >/dev/null || ! command -v pdftoppm >/dev/null || ! command -v chromedriver >/dev/null || ! command -v xvfb-run >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo ">> installing the QGIS stack from Debian packages"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) $(BROWSER_PACKAGES) >/dev/null; \
	  else \
	    echo "The QGIS stack is missing. On Debian/Ubuntu install it with:"; \
	    echo "  sudo apt-get install --no-install-recommends $(APT_PACKAGES) $(BROWSER_PACKAGES)"; \
	    echo "On Windows (OSGeo4W) install: qgis-ltr, python3-geopandas, python3-scikit-learn, python3-rasterio, python3-rtree, python3-pyyaml, python3-openpyxl"; \
	    exit 1; \
	  fi; \
	fi

## Current stack: newest PyPI releases in a virtualenv, re-created when requirements change.
## Plus GDAL's Python bindings (osgeo), for exactextract's GDAL feature reader in bench/bench_zonal.py:
## PyPI has no wheels, so they are built against the system libgdal, at its exact version, after
## numpy is in the venv (no build isolation, so gdal_array is built against that numpy).
setup-current:
	@want=$$(sha256sum requirements-current.txt | cut -c1-64); \
	if [ "$$(cat $(VENV_HOME)/.requirements 2>/dev/null)" != "$$want" ]; then \
	  if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null; \
	    else \
	      echo "$$(command -v python3) cannot create virtualenvs. On Debian/Ubuntu: sudo apt-get install python3-venv"; exit 1; \
	    fi; \
	  fi; \
	  echo ">> creating the current-stack virtualenv in $(VENV_HOME) with $$(command -v python3) ($$(python3 --version))"; \
	  rm -rf $(VENV_HOME) && mkdir -p $$(dirname $(VENV_HOME)) && python3 -m venv $(VENV_HOME) && \
	  $(VENV_HOME)/bin/python -m pip install -q --upgrade pip >/dev/null && \
	  $(VENV_HOME)/bin/python -m pip install -q -r requirements-current.txt && \
	  echo "$$want" > $(VENV_HOME)/.requirements || exit 1; \
	fi; \
	if ! $(VENV_HOME)/bin/python -P -c 'from osgeo import gdal_array' 2>/dev/null; then \
	  if ! command -v gdal-config >/dev/null || ! command -v g++ >/dev/null; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(GDAL_BUILD_PACKAGES) >/dev/null; \
	    else \
	      echo "Building GDAL's Python bindings needs gdal-config. On Debian/Ubuntu: sudo apt-get install $(GDAL_BUILD_PACKAGES)"; exit 1; \
	    fi; \
	  fi; \
	  echo ">> building GDAL $$(gdal-config --version) Python bindings (osgeo) into the virtualenv (about 1 min)"; \
	  $(VENV_HOME)/bin/python -m pip install -q setuptools wheel && \
	  $(VENV_HOME)/bin/python -m pip install -q --no-build-isolation "GDAL==$$(gdal-config --version)" || exit 1; \
	fi; \
	mkdir -p $(CURDIR)/.venv && ln -sfn $(VENV_HOME) $(VENV)

# The repository root is the plugin folder: expose it under its package name.
pkgroot:
	@mkdir -p $(PKGROOT) && ln -sfn $(CURDIR) $(PKGROOT)/kommunalmonitor

test: test-qgis test-current

## PostgreSQL 15 + PostGIS 3 server packages and psycopg2 for the QGIS stack, when missing.
setup-postgis:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 \
	    || ! $(QGIS_PY) -c "import psycopg2" 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo ">> installing PostgreSQL + PostGIS for the PostGIS store tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(POSTGIS_PACKAGES) >/dev/null; \
	  else \
	    echo "The PostGIS tests need: sudo apt-get install --no-install-recommends $(POSTGIS_PACKAGES)"; exit 1; \
	  fi; \
	fi

# The PostGIS store tests run against a throwaway cluster; the trap stops and removes it
# whatever pytest returns (and on Ctrl-C).
test-qgis: setup-qgis setup-postgis pkgroot
	@echo ">> QGIS stack: $$($(QGIS_PY) --version), QGIS $$($(QGIS_PY) -c 'from qgis.core import Qgis; print(Qgis.QGIS_VERSION)' 2>/dev/null)"
	@pg=$$(scripts/pg_test_cluster.sh start) || exit 1; \
	trap 'scripts/pg_test_cluster.sh stop "$${pg%% *}"' EXIT; trap 'exit 130' INT TERM; \
	echo ">> PostGIS test cluster: $${pg#* }"; \
	KOMMUNALMONITOR_PG_DSN="$${pg#* }" $(QGIS_ENV) $(QGIS_PY) -P -m pytest tests/core tests/qgis -m "not peers" $(PYTEST_ARGS)

test-current: setup-current pkgroot
	@echo ">> current stack: $$($(VENV_PY) -c 'import geopandas, shapely, numpy, pandas; print("geopandas", geopandas.__version__, "shapely", shapely.__version__, "numpy", numpy.__version__, "pandas", pandas.__version__)')"
	env -u PROJ_DATA PYTHONPATH=$(PKGROOT) $(VENV_PY) -P -m pytest tests/core $(PYTEST_ARGS)

demo: setup-qgis pkgroot
	@$(QGIS_ENV) $(QGIS_PY) -P scripts/demo.py --output $(CURDIR)/demo-output --profile $(PROFILE)-demo

package: pkgroot
	@$(QGIS_PY) -P scripts/package.py $(VERSION) $(CURDIR)/dist

bench: setup-qgis setup-current pkgroot
	@mkdir -p $(BUILD)/bench
	@for script in bench/bench_*.py; do \
	  name=$$(basename $$script .py); echo ">> $$name"; \
	  env -u PROJ_DATA PYTHONPATH=$(PKGROOT) $(VENV_PY) -P $$script --out $(BUILD)/bench/$${name#bench_}.md || exit 1; \
	done
	@$(VENV_PY) -P bench/report.py $(BUILD)/bench --out docs/benchmarks.md

clean:
	rm -rf $(BUILD) dist demo-output
