"""Every user-facing text exists in English and German."""
import ast
import os
import re

from kommunalmonitor.core import i18n

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE_DIRS = ("core", "processing", "plugin")


def _tr_literals():
    """(file, line, text) of every tr("literal") call in the plugin code."""
    for folder in SOURCE_DIRS:
        for root, _, files in os.walk(os.path.join(PLUGIN_DIR, folder)):
            for name in files:
                if not name.endswith(".py"):
                    continue
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as fh:
                    tree = ast.parse(fh.read(), path)
                for node in ast.walk(tree):
                    # class constants shown to users through self.tr(self.DISPLAY_NAME)
                    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                            and isinstance(node.value.value, str) \
                            and any(getattr(t, "id", None) == "DISPLAY_NAME" for t in node.targets):
                        yield os.path.relpath(path, PLUGIN_DIR), node.lineno, node.value.value
                    # toolbox group names (dict GROUPS in processing/base.py)
                    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) \
                            and any(getattr(t, "id", None) == "GROUPS" for t in node.targets):
                        for value in node.value.values:
                            if isinstance(value, ast.Constant):
                                yield os.path.relpath(path, PLUGIN_DIR), value.lineno, value.value
                    if isinstance(node, ast.Call) and node.args:
                        func = node.func
                        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                        arg = node.args[0]
                        if called == "tr" and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                            yield os.path.relpath(path, PLUGIN_DIR), node.lineno, arg.value


def test_every_tr_text_has_a_german_translation():
    german = i18n._catalogue("de")
    missing = [f"{path}:{line}: {text!r}" for path, line, text in _tr_literals() if text not in german]
    assert not missing, "texts without German translation:\n" + "\n".join(missing)


def test_translations_keep_placeholders():
    german = i18n._catalogue("de")
    wrong = [en for en, de in german.items()
             if sorted(re.findall(r"\{(\w+)", en)) != sorted(re.findall(r"\{(\w+)", de))]
    assert not wrong, f"placeholders differ in: {wrong}"


def test_language_switch_and_number_format():
    text = "The run was cancelled."
    assert i18n.tr(text, lang="de") == "Der Lauf wurde abgebrochen."
    with i18n.language("de"):
        assert i18n.tr(text) == "Der Lauf wurde abgebrochen."
        assert i18n.format_number(1234.56, 1) == "1.234,6"
    assert i18n.tr(text) == text
    assert i18n.normalise_language("en_GB") == "en"
    assert i18n.normalise_language(None) == "de"
    assert i18n.normalise_language("fr_FR") == "de"


def test_numbers_in_german_messages_use_decimal_comma_and_thousands_dot():
    import numpy as np

    text = "{share:.1f} % of {total:,} residents; ratio {ratio}; {count} areas; code {code!r}; {flag}"
    values = dict(share=12.345, total=1234567, ratio=np.float64(0.25), count=5000.0, code=-9999.5, flag=True)
    assert i18n.tr(text, lang="de", **values) == "12,3 % of 1.234.567 residents; ratio 0,25; 5000 areas; code -9999,5; True"
    assert i18n.tr(text, lang="en", **values) == "12.3 % of 1,234,567 residents; ratio 0.25; 5000.0 areas; code -9999.5; True"
