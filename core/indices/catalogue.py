"""Indicator catalogues: a YAML file describing indicators and how to build an index from them.

The format is documented in ``docs/catalogue-format.md``. ``load_catalogue(path)`` reads and
checks a catalogue and raises ``InputError`` naming the file and the line of the problem;
``compute_indicators(catalogue, frame)`` turns counts into shares (numerator / denominator ·
per), differences of shares for dynamics indicators, or takes ready values;
``catalogue_index(catalogue, frame)`` computes the index the catalogue describes (status and,
if the catalogue has dynamics indicators, dynamics, SDI code and attention flag).
"""
import os
import re
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd
import yaml

from ..errors import InputError
from ..feedback import ensure_feedback
from ..i18n import get_language, normalise_language, tr
from ..yaml_lines import node_to_python
from ..validate import layer_name, numeric_field

DOMAINS = ("Arbeit", "Wohnen", "Integration", "Soziales", "Bildung", "Kultur", "Umwelt", "Gesundheit")
DIRECTIONS = {"need": False, "more_need": False, "less": True, "less_need": True}
ROLES = ("status", "dynamics", "context")
TOP_KEYS = {"format", "id", "name", "description", "year", "source", "area_id", "population",
            "min_population", "missing_values", "exclude", "index", "indicators"}
INDICATOR_KEYS = {"id", "label", "domain", "role", "value", "numerator", "denominator",
                  "baseline_numerator", "baseline_denominator", "per", "unit", "direction",
                  "min_base", "source", "year", "weight", "description"}
INDEX_KEYS = {"standardisation", "combine", "classification", "n_classes", "breaks", "bounds",
              "dynamics_bounds", "by_domain", "attention", "winsorise", "ddof"}
EXCLUDE_KEYS = {"field", "equals", "not_equals", "in"}
CATALOGUE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                             "resources", "catalogues")
_FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Indicator:
    """One indicator of a catalogue."""

    id: str
    label: dict
    domain: str
    role: str = "status"
    value: Optional[str] = None
    numerator: Optional[list] = None  # [(sign, field), ...]
    denominator: Optional[list] = None
    baseline_numerator: Optional[list] = None
    baseline_denominator: Optional[list] = None
    per: float = 100.0
    unit: str = "%"
    reversed: bool = False
    min_base: float = 0.0
    source: str = ""
    year: Optional[int] = None
    weight: float = 1.0
    line: int = 0
    key_lines: dict = field(default_factory=dict)

    def name(self, lang=None):
        """Label in the given or current language."""
        language = normalise_language(lang) if lang else get_language()
        return self.label.get(language) or self.label.get("en") or self.id

    def fields(self):
        """All layer fields this indicator reads."""
        return [f for _, f in self.field_keys()]

    def field_keys(self):
        """(catalogue key, field) pairs of every field this indicator reads."""
        out = [("value", self.value)] if self.value else []
        for key in ("numerator", "denominator", "baseline_numerator", "baseline_denominator"):
            out += [(key, f) for _, f in getattr(self, key) or []]
        return out


@dataclass
class Catalogue:
    """A loaded, checked catalogue."""

    id: str
    name: dict
    indicators: list
    population: Optional[str] = None
    area_id: Optional[str] = None
    min_population: float = 300.0
    missing_values: tuple = ()
    exclude: Optional[dict] = None
    index: dict = field(default_factory=dict)
    year: Optional[int] = None
    source: str = ""
    path: str = ""
    lines: dict = field(default_factory=dict)

    def by_role(self, role):
        """Indicators with the given role, in catalogue order."""
        return [i for i in self.indicators if i.role == role]

    def line_of(self, *path):
        """Line number of a key in the file (0 if unknown)."""
        return self.lines.get(tuple(path), 0)


def _error(source, line, message):
    """InputError prefixed with file and line (``message`` already translated)."""
    return InputError(tr("Catalogue '{file}', line {line}: ", file=source, line=line) + message)


def parse_terms(expression, source, line, key):
    """'a + b - c' (or a list of fields, summed) → [(+1, 'a'), (+1, 'b'), (-1, 'c')]."""
    if isinstance(expression, list):
        expression = " + ".join(str(e) for e in expression)
    if not isinstance(expression, str) or not expression.strip():
        raise _error(source, line, tr("'{key}' must be a field name or fields joined by + or -.", key=key))
    tokens = re.split(r"\s*([+-])\s*", expression.strip())
    terms, sign = [], 1
    if tokens and tokens[0] == "":
        tokens = tokens[1:]
    for token in tokens:
        if token in ("+", "-"):
            sign = 1 if token == "+" else -1
            continue
        if not _FIELD_RE.match(token):
            raise _error(source, line, tr("'{token}' in '{key}' is not a field name; only field names "
                         "joined by + or - are allowed (e.g. 'pop_0_5 + pop_6_14').", token=token, key=key))
        terms.append((sign, token))
        sign = 1
    return terms


def load_catalogue(path_or_text, name=None):
    """Read and check a catalogue from a file path, a preset id or YAML text.

    Parameters
    ----------
    path_or_text : str
        File path, the id of a shipped catalogue (``'musterstadt'``, ``'berlin_mss_2021'``)
        or YAML text (if it contains a newline).

    Returns
    -------
    Catalogue
    """
    if "\n" in str(path_or_text):
        text, source = path_or_text, name or "text"
    else:
        path = str(path_or_text)
        if not os.path.exists(path) and os.path.exists(os.path.join(CATALOGUE_DIR, path + ".yaml")):
            path = os.path.join(CATALOGUE_DIR, path + ".yaml")
        if not os.path.exists(path):
            raise InputError(tr("Catalogue file '{file}' not found. Shipped catalogues: {presets}.",
                                file=path, presets=", ".join(shipped_catalogues())))
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        source = name or os.path.basename(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = str(error.problem or error)
        if error.context_mark is not None and error.problem_mark is not None \
                and error.context_mark.line != error.problem_mark.line:
            problem += tr("; {context} on line {start}", context=error.context or "",
                          start=error.context_mark.line + 1)
        raise _error(source, (mark.line + 1) if mark else 0, tr("not valid YAML ({problem}).",
                     problem=problem)) from None
    if node is None or not isinstance(node, yaml.MappingNode):
        raise _error(source, 1, tr("the file must be a mapping with 'id', 'name' and 'indicators'."))
    lines = {}
    data = node_to_python(node, (), lines)
    return _check(data, lines, source)


def shipped_catalogues():
    """Ids of the catalogues shipped in resources/catalogues."""
    if not os.path.isdir(CATALOGUE_DIR):
        return []
    return sorted(n[:-5] for n in os.listdir(CATALOGUE_DIR) if n.endswith(".yaml"))


def _number(value, source, line, key, minimum=None):
    """Check a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _error(source, line, tr("'{key}' must be a number (got {value!r}).", key=key, value=value))
    if minimum is not None and value < minimum:
        raise _error(source, line, tr("'{key}' must be at least {minimum} (got {value}).",
                     key=key, minimum=minimum, value=value))
    return float(value)


def _unknown_keys(mapping, allowed, source, lines, path):
    """Reject misspelt keys, naming the line."""
    for key in mapping:
        if key not in allowed:
            raise _error(source, lines.get(path + (key,), 0), tr("unknown key '{key}'. Allowed: {allowed}.",
                         key=key, allowed=", ".join(sorted(allowed))))


def _label(value, source, line, key):
    """A {de:, en:} label (a plain string counts for both)."""
    if isinstance(value, str):
        return {"de": value, "en": value}
    if not isinstance(value, dict) or not value.get("de") or not value.get("en"):
        raise _error(source, line, tr("'{key}' needs a German and an English text ('de:' and 'en:').", key=key))
    return {"de": str(value["de"]), "en": str(value["en"])}


def _check(data, lines, source):
    """Validate the parsed mapping and build a Catalogue."""
    _unknown_keys(data, TOP_KEYS, source, lines, ())
    for key in ("id", "name", "indicators"):
        if key not in data:
            raise _error(source, 1, tr("the key '{key}' is missing.", key=key))
    indicators_raw = data["indicators"]
    if not isinstance(indicators_raw, list) or not indicators_raw:
        raise _error(source, lines.get(("indicators",), 1), tr("'indicators' must be a non-empty list."))
    catalogue = Catalogue(id=str(data["id"]), name=_label(data["name"], source, lines.get(("name",), 1), "name"),
                          indicators=[], source=str(data.get("source", "")), path=source, lines=lines)
    catalogue.year = data.get("year")
    catalogue.population = data.get("population")
    catalogue.area_id = data.get("area_id")
    if "min_population" in data:
        catalogue.min_population = _number(data["min_population"], source,
                                           lines.get(("min_population",), 0), "min_population", 0)
    missing = data.get("missing_values", [])
    if not isinstance(missing, list):
        missing = [missing]
    catalogue.missing_values = tuple(_number(v, source, lines.get(("missing_values",), 0), "missing_values")
                                     for v in missing)
    if "exclude" in data:
        exclude = data["exclude"]
        line = lines.get(("exclude",), 0)
        if not isinstance(exclude, dict) or "field" not in exclude or \
                len(set(exclude) & {"equals", "not_equals", "in"}) != 1:
            raise _error(source, line, tr("'exclude' needs 'field' and one of 'equals', 'not_equals', 'in'."))
        _unknown_keys(exclude, EXCLUDE_KEYS, source, lines, ("exclude",))
        catalogue.exclude = exclude
    index = data.get("index", {}) or {}
    if not isinstance(index, dict):
        raise _error(source, lines.get(("index",), 0), tr("'index' must be a mapping of settings."))
    _unknown_keys(index, INDEX_KEYS, source, lines, ("index",))
    from .classify import SCHEMES
    from .composite import COMBINATIONS
    from .standardise import METHODS
    for key, allowed in (("standardisation", METHODS), ("combine", COMBINATIONS), ("classification", SCHEMES)):
        if key in index and index[key] not in allowed:
            raise _error(source, lines.get(("index", key), 0), tr("'{key}' must be one of {allowed} (got {value!r}).",
                         key=key, allowed=", ".join(allowed), value=index[key]))
    catalogue.index = index

    seen = {}
    for i, raw in enumerate(indicators_raw):
        path = ("indicators", i)
        line = lines.get(path, 0)
        if not isinstance(raw, dict):
            raise _error(source, line, tr("each indicator must be a mapping with 'id', 'label', 'domain', ..."))
        _unknown_keys(raw, INDICATOR_KEYS, source, lines, path)
        if "id" not in raw:
            raise _error(source, line, tr("an indicator has no 'id'."))
        ident = str(raw["id"])
        if ident in seen:
            raise _error(source, lines.get(path + ("id",), line), tr("indicator id '{id}' is used twice "
                         "(first on line {first}).", id=ident, first=seen[ident]))
        seen[ident] = lines.get(path + ("id",), line)
        if "label" not in raw:
            raise _error(source, line, tr("indicator '{id}' has no 'label'.", id=ident))
        label = _label(raw["label"], source, lines.get(path + ("label",), line), "label")
        domain = raw.get("domain")
        if domain not in DOMAINS:
            raise _error(source, lines.get(path + ("domain",), line), tr("domain {value!r} of indicator '{id}' "
                         "is not one of {allowed}.", value=domain, id=ident, allowed=", ".join(DOMAINS)))
        role = raw.get("role", "status")
        if role not in ROLES:
            raise _error(source, lines.get(path + ("role",), line), tr("role {value!r} of indicator '{id}' is not "
                         "one of {allowed}.", value=role, id=ident, allowed=", ".join(ROLES)))
        direction = raw.get("direction", "need")
        if direction not in DIRECTIONS:
            raise _error(source, lines.get(path + ("direction",), line), tr("direction {value!r} of indicator "
                         "'{id}' must be 'need' (higher = more need) or 'less' (higher = less need).",
                         value=direction, id=ident))
        has_value = "value" in raw
        has_ratio = "numerator" in raw or "denominator" in raw
        if has_value == has_ratio or (has_ratio and not ("numerator" in raw and "denominator" in raw)):
            raise _error(source, line, tr("indicator '{id}' needs either 'value' (a field) or both 'numerator' "
                         "and 'denominator'.", id=ident))
        ind = Indicator(id=ident, label=label, domain=domain, role=role, reversed=DIRECTIONS[direction],
                        line=line, key_lines={k: lines.get(path + (k,), line) for k in raw})
        if has_value:
            terms = parse_terms(raw["value"], source, lines.get(path + ("value",), line), "value")
            if len(terms) != 1 or terms[0][0] != 1:
                raise _error(source, lines.get(path + ("value",), line),
                             tr("'value' must be a single field; use numerator/denominator for sums."))
            ind.value = terms[0][1]
        else:
            for key in ("numerator", "denominator", "baseline_numerator", "baseline_denominator"):
                if key in raw:
                    setattr(ind, key, parse_terms(raw[key], source, lines.get(path + (key,), line), key))
            if (ind.baseline_numerator is None) != (ind.baseline_denominator is None):
                raise _error(source, line, tr("indicator '{id}' needs both 'baseline_numerator' and "
                             "'baseline_denominator' (or neither).", id=ident))
        if "per" in raw:
            ind.per = _number(raw["per"], source, lines.get(path + ("per",), line), "per")
        if "weight" in raw:
            ind.weight = _number(raw["weight"], source, lines.get(path + ("weight",), line), "weight", 0)
        if "min_base" in raw:
            ind.min_base = _number(raw["min_base"], source, lines.get(path + ("min_base",), line), "min_base", 0)
        ind.unit = str(raw.get("unit", "%"))
        ind.source = str(raw.get("source", ""))
        ind.year = raw.get("year")
        catalogue.indicators.append(ind)
    if not catalogue.by_role("status"):
        raise _error(source, lines.get(("indicators",), 1), tr("no indicator has the role 'status'; an index "
                     "needs at least one."))
    return catalogue


def check_fields(catalogue, frame):
    """Every field the catalogue names exists in the layer; raise naming the catalogue line."""
    columns = set(frame.columns)
    for ind in catalogue.indicators:
        for key, name in ind.field_keys():
            if name not in columns:
                raise _error(catalogue.path, ind.key_lines.get(key, ind.line), tr("indicator '{id}' reads the field '{field}', which "
                             "layer '{layer}' does not have. Available fields: {available}.",
                             id=ind.id, field=name, layer=layer_name(frame),
                             available=", ".join(str(c) for c in frame.columns if c != "geometry")))
    for key in ("population", "area_id"):
        name = getattr(catalogue, key)
        if name and name not in columns:
            raise _error(catalogue.path, catalogue.line_of(key), tr("the {key} field '{field}' is not in layer "
                         "'{layer}'.", key=key, field=name, layer=layer_name(frame)))
    if catalogue.exclude and catalogue.exclude["field"] not in columns:
        raise _error(catalogue.path, catalogue.line_of("exclude"), tr("the exclude field '{field}' is not in "
                     "layer '{layer}'.", field=catalogue.exclude["field"], layer=layer_name(frame)))


def _sum_terms(frame, terms, missing_values, counts=False):
    """Sum of ± fields as float (NULL or a missing-value code → NaN).

    With ``counts`` (numerators and denominators: persons, households) a field is read as a
    count: never negative, and text such as ``1.234`` means 1234.
    """
    total = np.zeros(len(frame))
    for sign, name in terms:
        values = np.array(numeric_field(frame, name, missing_codes=missing_values, allow_negative=not counts),
                          dtype="float64")  # writable copy (pandas 3 CoW)
        for code in missing_values:
            values[values == code] = np.nan
        total = total + sign * values
    return total


@dataclass
class IndicatorValues:
    """Indicator values computed from a catalogue, with bases and notes."""

    values: pd.DataFrame
    bases: pd.DataFrame
    small_base: pd.DataFrame
    warnings: list


def compute_indicators(catalogue, frame):
    """Compute every indicator of the catalogue for each area.

    Shares are ``per · numerator / denominator`` (NaN where the denominator is 0 or NULL);
    dynamics with a baseline are the difference of the two shares (percentage points).
    """
    check_fields(catalogue, frame)
    values, bases, small, warnings = {}, {}, {}, []
    for ind in catalogue.indicators:
        if ind.value:
            v = _sum_terms(frame, [(1, ind.value)], catalogue.missing_values)
            base = np.full(len(frame), np.nan)
        else:
            num = _sum_terms(frame, ind.numerator, catalogue.missing_values, counts=True)
            den = _sum_terms(frame, ind.denominator, catalogue.missing_values, counts=True)
            zero = np.isfinite(den) & (den <= 0)
            if zero.any():
                warnings.append(tr("Indicator '{id}': {count} area(s) have a denominator of 0; their "
                                   "value is NULL and they are left out of the reference.",
                                   id=ind.id, count=int(zero.sum())))
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.where(den > 0, ind.per * num / np.where(den > 0, den, 1.0), np.nan)
            above = np.isfinite(v) & (v > ind.per * (1 + 1e-9))
            if above.any():  # a part larger than its whole: fields of different sources or years?
                first = int(np.flatnonzero(above)[0])
                warnings.append(tr("Indicator '{id}': {count} area(s) have a share above {per:g}, which "
                                   "is impossible (e.g. area {area}: {value:.1f}); the numerator exceeds "
                                   "the denominator. Check the fields (different sources or years?).",
                                   id=ind.id, count=int(above.sum()), per=ind.per,
                                   area=frame.index[first], value=float(v[first])))
            base = den
            if ind.baseline_numerator is not None:
                bnum = _sum_terms(frame, ind.baseline_numerator, catalogue.missing_values, counts=True)
                bden = _sum_terms(frame, ind.baseline_denominator, catalogue.missing_values, counts=True)
                with np.errstate(divide="ignore", invalid="ignore"):
                    before = np.where(bden > 0, ind.per * bnum / np.where(bden > 0, bden, 1.0), np.nan)
                v = v - before
                base = np.fmin(den, bden)
        values[ind.id] = v
        bases[ind.id] = base
        # a small base matters where there is a value; a missing value is reported as such
        small[ind.id] = (np.isfinite(base) & (base < ind.min_base) & np.isfinite(v)) if ind.min_base > 0 \
            else np.zeros(len(frame), bool)
    index = frame.index
    return IndicatorValues(pd.DataFrame(values, index=index), pd.DataFrame(bases, index=index),
                           pd.DataFrame(small, index=index), warnings)


def _same_as(column, wanted):
    """Which values of ``column`` equal one of ``wanted``: YAML reads ``1`` as a number, a layer
    may hold 1, 1.0 or '1'; all of them match (text compared trimmed, numbers as numbers)."""
    values = column.astype(object).to_numpy()
    present = np.array([v is not None and v == v for v in values], dtype=bool)
    text = np.array([str(v).strip() if p else "" for v, p in zip(values, present)], dtype=object)
    numbers = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(dtype=float)
    hit = np.zeros(len(values), dtype=bool)
    for item in wanted:
        hit |= present & (text == str(item).strip())
        number = pd.to_numeric(pd.Series([str(item).strip()]), errors="coerce").iloc[0]
        if number == number:
            hit |= present & (numbers == number)
    return hit


def exclusion_mask(catalogue, frame, feedback=None):
    """Areas the catalogue's 'exclude' rule flags (e.g. MSS outliers).

    A rule whose value no area has gets a warning naming value, field and the values found:
    a typo would otherwise silently exclude nothing (or, with ``not_equals``, everything), but
    a year or a district without outliers is legitimate, so it is not refused.
    """
    rule = catalogue.exclude
    if not rule:
        return np.zeros(len(frame), bool)
    column = frame[rule["field"]]
    if "equals" in rule:
        mask, value = _same_as(column, [rule["equals"]]), rule["equals"]
    elif "not_equals" in rule:
        mask, value = ~_same_as(column, [rule["not_equals"]]), rule["not_equals"]
    else:
        mask, value = _same_as(column, list(rule["in"])), ", ".join(str(v) for v in rule["in"])
    matched = mask if "not_equals" not in rule else ~mask
    if len(frame) and not matched.any():
        found = sorted({str(v) for v in column.dropna().astype(object)})
        shown = ", ".join(found[:8]) + (" …" if len(found) > 8 else "")
        ensure_feedback(feedback).warning(
            tr("Catalogue '{file}', line {line}: ", file=catalogue.path, line=catalogue.line_of("exclude"))
            + tr("the exclude rule names the value {value}, but no area of layer '{layer}' has it in field "
                 "'{field}' (values found: {found}). Check the value if areas should be excluded.",
                 value=value, layer=layer_name(frame), field=rule["field"], found=shown or "–"))
    return mask


@dataclass
class CatalogueResult:
    """Output of ``catalogue_index``."""

    catalogue: Catalogue
    indicators: IndicatorValues
    status: object
    dynamics: object = None
    table: pd.DataFrame = None
    diagnostics: dict = field(default_factory=dict)


def catalogue_index(catalogue, frame, lang=None, feedback=None, **overrides):
    """Compute the index a catalogue describes.

    Returns a ``CatalogueResult``; ``table`` holds per area the indicator values
    (``<id>``), their standardised values (``z_<id>``), ``index``/``index_class``/
    ``index_label`` (status) and, if the catalogue has dynamics indicators,
    ``dynamics_index``, ``dynamics_class``, ``sdi``, ``sdi_label``, ``attention``;
    plus ``included`` and ``excl_reason``. ``overrides`` replace ``index`` settings.
    """
    from .composite import REASON_FLAGGED, REASON_SMALL_BASE, composite_index
    from .mss import DEFAULT_ATTENTION, DYNAMICS_BOUNDS, StatusDynamicsOptions, status_dynamics

    if isinstance(catalogue, str):
        catalogue = load_catalogue(catalogue)
    settings = dict(catalogue.index)
    settings.update({k: v for k, v in overrides.items() if v is not None})
    values = compute_indicators(catalogue, frame)
    data = values.values.copy()
    flagged = exclusion_mask(catalogue, frame, feedback)
    small_base = values.small_base.any(axis=1).to_numpy()
    population = catalogue.population
    # a population is a count: never negative, and 1.234 in a text field means 1234
    pop_values = numeric_field(frame, population, allow_negative=False).to_numpy(dtype="float64") \
        if population else None
    status_ind = catalogue.by_role("status")
    dynamics_ind = catalogue.by_role("dynamics")
    reasons_given = np.where(flagged, REASON_FLAGGED, np.where(small_base, REASON_SMALL_BASE, "")).astype(object)
    data.attrs["layer_name"] = layer_name(frame)  # warnings name the planner's layer and field,
    pop_arg = pop_values                              # not 'population' of 'input layer'
    if population and population not in data.columns:
        data[population] = pop_values
        pop_arg = population
    common = dict(population=pop_arg, min_population=catalogue.min_population if population else 0.0,
                  exclude_reason=reasons_given,
                  missing_values=catalogue.missing_values,
                  method=settings.get("standardisation", "z"))
    if dynamics_ind:
        options = StatusDynamicsOptions(
            min_population=common["min_population"], missing_values=common["missing_values"],
            method=common["method"],
            status_reversed=[i.id for i in status_ind if i.reversed],
            dynamics_reversed=[i.id for i in dynamics_ind if i.reversed],
            status_weights=[i.weight for i in status_ind],
            dynamics_weights=[i.weight for i in dynamics_ind],
            status_bounds=tuple(settings.get("bounds", (-1.0, 1.0, 1.5))),
            dynamics_bounds=tuple(settings.get("dynamics_bounds", DYNAMICS_BOUNDS)),
            attention=settings.get("attention", DEFAULT_ATTENTION))
        sd = status_dynamics(
            data, [i.id for i in status_ind], [i.id for i in dynamics_ind], options,
            population=common["population"], exclude=flagged | small_base,
            exclude_reason=common["exclude_reason"], lang=lang, feedback=feedback)
        status, dynamics = sd.status, sd.dynamics
    else:
        by_domain = bool(settings.get("by_domain", False))
        status = composite_index(
            data, [i.id for i in status_ind], exclude=flagged | small_base,
            reversed=[i.id for i in status_ind if i.reversed],
            weights=[i.weight for i in status_ind],
            combine=settings.get("combine", "sum"),
            classification=settings.get("classification", "sd_bands"),
            n_classes=int(settings.get("n_classes", 4)),
            breaks=settings.get("breaks"), bounds=settings.get("bounds", (-1.0, 1.0, 1.5)),
            winsorise=settings.get("winsorise"), ddof=int(settings.get("ddof", 0)),
            domains={i.id: i.domain for i in status_ind} if by_domain else None,
            feedback=feedback, **common)
        dynamics, sd = None, None

    from .composite import result_frame
    table = result_frame(values.values, status, lang=lang,
                         labels={i.id: i.name(lang) for i in catalogue.indicators})
    for ind in catalogue.by_role("context"):
        table[ind.id] = values.values[ind.id].to_numpy()
    if sd is not None:
        for column in ("dynamics_index", "dynamics_class", "dynamics_label", "sdi", "sdi_label", "attention"):
            table[column] = sd.table[column].to_numpy()
        table["status_label"] = sd.table["status_label"].to_numpy()
        for ind in dynamics_ind:
            table["z_" + ind.id] = dynamics.scores[ind.id].to_numpy()
        table["included"] = sd.table["included"].to_numpy()
    diagnostics = dict(status.diagnostics)
    diagnostics["indicator_warnings"] = values.warnings
    if sd is not None:
        diagnostics.update({k: v for k, v in sd.diagnostics.items() if k != "warnings"})
    return CatalogueResult(catalogue=catalogue, indicators=values, status=status, dynamics=dynamics,
                           table=table, diagnostics=diagnostics)


def catalogue_output(frame, result):
    """Input layer (copy) plus the catalogue result columns.

    An indicator column whose name equals an input field that it was read from
    (``value: S1`` with ``id: S1``) keeps the input field; other name clashes get the prefix
    ``ind_``.
    """
    out = frame.copy()
    same_field = {i.id for i in result.catalogue.indicators if i.value == i.id}
    for column in result.table.columns:
        values = result.table[column].to_numpy()
        if column in frame.columns:
            if column in same_field:
                continue
            out["ind_" + column] = values
        else:
            out[column] = values
    return out
