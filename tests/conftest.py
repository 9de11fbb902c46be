"""Fixtures for both stacks: the shared Berlin data pack and the language."""
import os

import pytest

from kommunalmonitor.core import i18n

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DIR = os.environ.get("KOMMUNALMONITOR_SHARED") or os.path.join(os.path.dirname(PLUGIN_DIR), "shared")
BERLIN_DIR = os.path.join(SHARED_DIR, "data", "berlin")


@pytest.fixture(scope="session")
def berlin_dir():
    """Path of ../shared/data/berlin; skips (with the reason) only where it is absent."""
    if not os.path.isdir(BERLIN_DIR):
        pytest.skip(f"Berlin data pack not found at {BERLIN_DIR} (../shared is absent outside our machines)")
    return BERLIN_DIR


@pytest.fixture(autouse=True)
def english_by_default():
    """Tests assert English messages unless they switch language themselves."""
    i18n.set_language("en")
    yield
    i18n.set_language("en")


@pytest.fixture
def berlin_mss(berlin_dir):
    """The 542 PLR shapes joined with the MSS 2021 index and context indicators; PLR that MSS
    does not rate (KOM != 'gültig') have NULL indicators. A fresh frame per test."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    shapes = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    ids = {"PLR_ID": str, "BEZ_ID": str}
    mss = pd.read_csv(os.path.join(berlin_dir, "mss_2021_index_indikatoren.csv"), dtype=ids)
    context = pd.read_csv(os.path.join(berlin_dir, "mss_2021_kontext_indikatoren.csv"), dtype=ids)
    keep = ["PLR_ID"] + [c for c in context.columns if c.startswith("KI_") and not c.endswith("_GR")]
    frame = shapes.merge(mss, on="PLR_ID", how="left").merge(context[keep], on="PLR_ID", how="left")
    valid = frame["KOM"] == "gültig"
    for column in ["S1", "S3", "S4", "D1", "D3", "D4"] + keep[1:]:
        frame.loc[~valid, column] = np.nan
    return frame
