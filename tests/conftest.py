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
