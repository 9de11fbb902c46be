"""Bilingual user-facing texts (English source strings, German catalogue).

Every text a planner reads is written in English in the code and wrapped in ``tr``;
the German translation lives in ``i18n/de/*.json`` (one file per part of the code,
mapping the English text to the German one). ``tests/core/test_i18n.py`` checks that
every ``tr("...")`` literal in the code base has a German entry.

We do not use Qt's translator here because ``core`` must stay free of Qt, and the
same catalogue then serves core error messages, reasons sentences and the Processing
algorithms alike.
"""
import json
import os
import threading
from contextlib import contextmanager

SUPPORTED_LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"  # planners work in German

_CATALOGUE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "i18n")
_state = threading.local()
_default = {"language": DEFAULT_LANGUAGE}
_catalogues = {}
_lock = threading.Lock()


def _catalogue(language):
    """Return the merged English→language mapping, loaded once."""
    if language == "en":
        return {}
    with _lock:
        if language not in _catalogues:
            merged = {}
            folder = os.path.join(_CATALOGUE_DIR, language)
            if os.path.isdir(folder):
                for name in sorted(os.listdir(folder)):
                    if name.endswith(".json"):
                        with open(os.path.join(folder, name), encoding="utf-8") as fh:
                            merged.update(json.load(fh))
            _catalogues[language] = merged
        return _catalogues[language]


def normalise_language(value):
    """Map a locale name such as ``de_DE``, ``en-GB`` or ``None`` to ``'de'`` or ``'en'``."""
    if not value:
        return DEFAULT_LANGUAGE
    code = str(value).strip().lower().replace("-", "_").split("_")[0]
    return code if code in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def set_language(language):
    """Set the process-wide default language (``'de'`` or ``'en'``)."""
    _default["language"] = normalise_language(language)


def get_language():
    """Return the language in force for this thread."""
    return getattr(_state, "language", None) or _default["language"]


@contextmanager
def language(lang):
    """Temporarily use ``lang`` in this thread (e.g. to render a map in English)."""
    previous = getattr(_state, "language", None)
    _state.language = normalise_language(lang)
    try:
        yield
    finally:
        _state.language = previous


def tr(text, lang=None, **kwargs):
    """Translate an English text into the current language and fill ``{placeholders}``.

    Parameters
    ----------
    text : str
        The English source text; it is also the catalogue key.
    lang : str, optional
        Force a language instead of the current one.
    **kwargs
        Values for ``str.format`` placeholders in the text.
    """
    target = normalise_language(lang) if lang else get_language()
    translated = _catalogue(target).get(text, text)
    if not kwargs:
        return translated
    if target == "de":  # numbers in German texts with decimal comma and thousands dot
        kwargs = {k: _GermanNumber(v) if _is_number(v) else v for k, v in kwargs.items()}
    try:
        return translated.format(**kwargs)
    except (KeyError, IndexError, ValueError):
        # a broken translation must never hide the message itself: fall back to English
        return text.format(**kwargs)


def _is_number(value):
    """True for int/float values, numpy's included (not bool, which prints as a word)."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return False
    if isinstance(value, (int, float)):
        return True
    return type(value).__module__ == "numpy" and hasattr(value, "dtype") and value.dtype.kind in "iuf"


def _swap_separators(text):
    """'1,234.5' → '1.234,5' (German grouping and decimal marks)."""
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


class _GermanNumber:
    """A number placeholder that formats with German separators, whatever the format spec."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __format__(self, spec):
        if not spec:
            return str(self)
        return _swap_separators(format(self.value, spec))

    def __str__(self):
        value = self.value.item() if hasattr(self.value, "item") else self.value
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            value = int(value)  # a whole count stored as float reads 5000, not 5000,0
        return _swap_separators(str(value))

    __repr__ = __str__


def both(text, **kwargs):
    """Return ``{'en': ..., 'de': ...}`` for a text, e.g. for outputs carrying both languages."""
    return {lang: tr(text, lang=lang, **kwargs) for lang in SUPPORTED_LANGUAGES}


def format_number(value, decimals=1, lang=None):
    """Format a number the way a reader of the language expects (``2,1`` in German)."""
    text = f"{value:,.{decimals}f}"
    if (normalise_language(lang) if lang else get_language()) == "de":
        text = _swap_separators(text)
    return text
