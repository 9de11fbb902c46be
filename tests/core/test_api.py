"""The public API names a working engine function for every Processing algorithm."""
import ast
import os

from kommunalmonitor.core import api

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _algorithm_ids():
    """ALGORITHM_IDs declared in processing/algorithms/*.py (read as text: no QGIS needed)."""
    folder = os.path.join(PLUGIN_DIR, "processing", "algorithms")
    ids = set()
    for name in os.listdir(folder):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                for node in ast.walk(ast.parse(fh.read())):
                    if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "ALGORITHM_ID"
                                                            for t in node.targets):
                        ids.add(node.value.value)
    return ids


def test_every_algorithm_has_its_engine_functions_in_the_api():
    missing = sorted(_algorithm_ids() - set(api.ALGORITHMS))
    assert not missing, f"algorithms without an API entry: {missing}"


def test_every_api_name_resolves_to_a_documented_callable():
    for name in api.__all__:
        if name == "ALGORITHMS":
            continue
        value = getattr(api, name)
        assert callable(value), name
        assert (value.__doc__ or "").strip(), f"{name} has no docstring"
    for names in api.ALGORITHMS.values():
        assert set(names) <= set(api.__all__)


def test_every_options_class_an_api_function_takes_is_in_the_api():
    """A script calling api.hot_spots(..., options) finds api.HotSpotOptions beside it."""
    import re

    for name in api.__all__:
        if name == "ALGORITHMS":
            continue
        value = getattr(api, name)
        for options in re.findall(r"\b([A-Z][A-Za-z]*Options)\b", value.__doc__ or ""):
            assert options in api.__all__, f"{name} takes {options}, which is not in the API"
            assert getattr(api, options).__name__ == options
    assert "HotSpotOptions" in api.__all__ and "TypologyOptions" in api.__all__


def test_api_result_equals_the_module_function():
    from kommunalmonitor.core.aggregate import aggregate_to_areas

    assert api.aggregate_to_areas is aggregate_to_areas


def test_the_walk_through_in_the_docs_runs(tmp_path, monkeypatch):
    """docs/python-package.md's notebook-style example runs as written."""
    import re

    with open(os.path.join(PLUGIN_DIR, "docs", "python-package.md"), encoding="utf-8") as fh:
        code = re.findall(r"```python\n(.*?)```", fh.read(), flags=re.S)[0]
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "python-package.md", "exec"), namespace)  # noqa: S102 - our own documentation
    index, ranking = namespace["index"], namespace["ranking"]
    assert len(index) == len(ranking) > 10
    assert set(ranking["priority"]) <= {0, 1, 2, 3, 4}
    assert abs(index["index"].mean()) < 1e-9
