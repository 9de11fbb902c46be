"""Input checks shared by all core functions; each raises ``InputError`` naming the problem.

A layer's name for messages comes from ``gdf.attrs['layer_name']`` (set by the QGIS
bridge) or the ``name`` argument.
"""
import numpy as np
import pandas as pd

from .crs_checks import crs_label
from .errors import InputError
from .i18n import tr

EXAMPLES = 5  # ids or features named in a message before "…"


def layer_name(frame, name=None, fallback=None):
    """Return the name to use for ``frame`` in messages.

    ``name`` overrides the layer's own name (``frame.attrs['layer_name']``, set when QGIS
    layers are read); ``fallback`` is used only where the frame has no name of its own.
    """
    if name:
        return name
    attrs = getattr(frame, "attrs", None) or {}
    return attrs.get("layer_name") or fallback or tr("input layer")


def require_not_empty(frame, name=None):
    """The layer has at least one feature."""
    if frame is None or len(frame) == 0:
        raise InputError(tr("Layer '{layer}' has no features. Choose a layer with data "
                            "(or check the 'selected features only' option).",
                            layer=layer_name(frame, name)))


def require_crs(frame, name=None):
    """The layer has a coordinate reference system (a GeoPackage's undefined srs_id 0 is none)."""
    from .crs_checks import is_undefined

    if getattr(frame, "crs", None) is None:
        raise InputError(tr("Layer '{layer}' has no coordinate reference system (CRS). "
                            "Assign the correct CRS in the layer properties first.",
                            layer=layer_name(frame, name)))
    if is_undefined(frame.crs):
        raise InputError(tr("Layer '{layer}' has no coordinate reference system (CRS): its CRS is "
                            "'undefined' (e.g. srs_id 0 in a GeoPackage). Assign the correct CRS in "
                            "the layer properties first (do not reproject).",
                            layer=layer_name(frame, name)))


def require_projected(frame, name=None):
    """The layer's CRS is projected (areas and distances in metres)."""
    require_crs(frame, name)
    if frame.crs.is_geographic:
        raise InputError(tr("Layer '{layer}' uses the geographic CRS {crs} (degrees); areas "
                            "and distances need a projected CRS in metres such as "
                            "EPSG:25832 or EPSG:25833. Reproject the layer first.",
                            layer=layer_name(frame, name), crs=crs_label(frame.crs)))


def require_fields(frame, fields, name=None):
    """All ``fields`` exist in the layer."""
    missing = [f for f in fields if f not in frame.columns]
    if missing:
        available = ", ".join(str(c) for c in frame.columns if c != getattr(frame, "_geometry_column_name", "geometry"))
        raise InputError(tr("Layer '{layer}' has no field {fields}. Available fields: {available}.",
                            layer=layer_name(frame, name),
                            fields=", ".join(repr(f) for f in missing),
                            available=available or "–"))


def numeric_field(frame, field, name=None, allow_null=True, allow_negative=True, plausible=True,
                  missing_codes=()):
    """Return ``frame[field]`` as float64 (NULL → NaN) or raise naming the offending value.

    Text fields are read with ``core.values.to_numbers``: the notation (German ``1.234,5``,
    English ``1,234.5``) is decided per field, suppression marks (``.``, ``–``, ``x``…)
    become NaN, and the conversion is reported to the run's log (``core.values.reporting``).
    With ``plausible`` (default) values that are most likely codes or errors are refused by
    name: inf or beyond 1e15, ``-9999``/``99999``… far outside the rest, and for counts
    (``allow_negative=False``) a negative value (see ``core.values.suspicious_values``).
    Values equal to one of the declared ``missing_codes`` (e.g. ``-9999``) become NaN first.
    """
    from . import values as value_reading  # values imports validate's siblings only

    require_fields(frame, [field], name)
    # a never-negative field holds counts: 1.234 persons can only be 1234
    values, report = value_reading.to_numbers(frame[field], field, layer_name(frame, name),
                                              whole_numbers=not allow_negative)
    value_reading.announce(report)
    if len(missing_codes):
        values = pd.Series(value_reading.replace_missing_codes(values.to_numpy(), missing_codes)[0],
                           index=values.index, name=values.name)
    if plausible:
        # kind "any": a negative count (also -1) keeps its own message below
        suspects = value_reading.suspicious_values(values.to_numpy(), "any")
        message = value_reading.describe_suspects(suspects, field, layer_name(frame, name),
                                                  labels=list(frame.index))
        if message:
            raise InputError(message)
    if not allow_null and values.isna().any():
        raise InputError(tr("Field '{field}' in layer '{layer}' has {count} NULL value(s); "
                            "fill them or exclude those features.",
                            field=field, layer=layer_name(frame, name),
                            count=int(values.isna().sum())))
    if not allow_negative and (values < 0).any():
        negative = values < 0
        first = values[negative].iloc[0]
        same = negative & (values == first)
        raise InputError(tr("Field '{field}' in layer '{layer}' has negative values (e.g. {value} in "
                            "{count} feature(s): {features}); counts cannot be negative. If it is a "
                            "code such as -1 for 'secret', enter it under 'Missing value codes' or set "
                            "it to NULL.",
                            field=field, layer=layer_name(frame, name),
                            value=value_reading.format_value(first), count=int(same.sum()),
                            features=", ".join(str(_plain(i)) for i in frame.index[same.to_numpy()][:5])))
    return values


def require_unique(frame, field, name=None):
    """Values of ``field`` (or the index when None) are unique."""
    values = frame.index.to_series() if field is None else frame[field]
    if values.isna().any():  # NULL ids are missing, not 'duplicates of None'
        raise InputError(tr("Layer '{layer}' has {count} feature(s) without an id in field "
                            "'{field}'. Give every planning area an id.", layer=layer_name(frame, name),
                            count=int(values.isna().sum()), field=field or "index"))
    duplicated = values[values.duplicated(keep=False)]
    if len(duplicated):
        repeated = list(dict.fromkeys(_plain(v) for v in duplicated))  # distinct ids, in layer order
        shown = ", ".join(repr(v) for v in repeated[:EXAMPLES])
        shown += ", …" if len(repeated) > EXAMPLES else ""
        if _different_places(frame, values, duplicated):
            # Berlin's old PLR file gives two Schloßstraße areas 5 km apart one id: removing
            # one 'copy' would lose an area
            raise InputError(tr("Layer '{layer}' has duplicate ids in field '{field}': {ids} ({count} "
                                "features affected) on different areas: their geometries differ, so they "
                                "are not copies. Correct the id of the wrong one in the attribute table, "
                                "or choose a field that identifies each area.",
                                layer=layer_name(frame, name), field=field or "index",
                                ids=shown, count=len(duplicated)))
        raise InputError(tr("Layer '{layer}' has duplicate ids in field '{field}': {ids} ({count} features "
                            "affected). Every area needs its own id: remove the repeated features (was "
                            "the layer appended or copied twice?) or choose a field that identifies "
                            "each area.",
                            layer=layer_name(frame, name), field=field or "index",
                            ids=shown, count=len(duplicated)))


def _different_places(frame, values, duplicated):
    """True when some repeated id is carried by features whose geometries differ (not copies)."""
    geometry = getattr(frame, "geometry", None) if hasattr(frame, "_geometry_column_name") else None
    if geometry is None:
        return False
    positions = np.flatnonzero(values.duplicated(keep=False).to_numpy())
    groups = {}
    for position in positions:
        groups.setdefault(_plain(values.iloc[position]), []).append(position)
    for members in groups.values():
        shapes = [geometry.iloc[p] for p in members]
        first = shapes[0]
        for other in shapes[1:]:
            if first is None or other is None or first.is_empty or other.is_empty:
                continue
            if not first.equals(other):
                return True
    return False


def overlapping_areas(frame, first, second, name=None, id_field=None):
    """The error for two overlapping areas (positions ``first``, ``second`` in ``frame``)."""
    labels = frame.index if id_field is None else frame[id_field]
    return InputError(tr("Areas {first} and {second} of layer '{layer}' overlap, so what lies in "
                         "both would be counted twice. Planning areas must not overlap: remove "
                         "duplicate features or fix the boundaries first.",
                         first=repr(_plain(np.asarray(labels)[int(first)])),
                         second=repr(_plain(np.asarray(labels)[int(second)])),
                         layer=layer_name(frame, name)))


def overlap_guard(frame, name=None, id_field=None):
    """A callback ``(first, second)`` that raises :func:`overlapping_areas`' error."""
    def guard(first, second):
        raise overlapping_areas(frame, first, second, name, id_field)
    return guard


def _plain(value):
    """A numpy scalar as its Python value (so messages show 7, not np.int64(7))."""
    return value.item() if hasattr(value, "item") else value


def require_valid_geometries(frame, name=None, repair=False, feedback=None, id_field=None):
    """Geometries are present and valid; with ``repair`` return a repaired copy instead of raising.

    Repair is the one shared repair (``core.geometry_repair.repair_geometries``): GEOS's
    MakeValid keeping the polygonal parts, so both lobes of a self-intersecting polygon
    ("bow tie") survive, unlike ``buffer(0)`` which silently drops one; ``feedback`` gets a
    warning naming the features (``id_field`` or the feature ids) and their area before and
    after. The input is not modified.
    """
    geoms = frame.geometry
    missing = geoms.isna() | geoms.is_empty
    if len(frame) and missing.all():
        raise InputError(tr("Layer '{layer}' has no geometries.", layer=layer_name(frame, name)))
    # infinite coordinates (e.g. from a failed reprojection) cannot be repaired: name them
    bounds = geoms.bounds.to_numpy(dtype="float64")
    not_finite = ~missing.to_numpy() & ~np.isfinite(bounds).all(axis=1)
    if not_finite.any():
        raise InputError(tr("Layer '{layer}' has {count} geometry(ies) with infinite or undefined "
                            "coordinates (first: feature {feature}), often the result of a "
                            "reprojection outside the CRS's area of use. Check the layer's CRS "
                            "or remove these features.",
                            layer=layer_name(frame, name), count=int(not_finite.sum()),
                            feature=frame.index[not_finite][0]))
    invalid = ~missing & ~geoms.is_valid
    if invalid.any():
        if not repair:
            first = frame.index[invalid.values][0]
            raise InputError(tr("Layer '{layer}' has {count} invalid geometry(ies) (first: feature "
                                "{feature}). Run 'Fix geometries' on the layer first.",
                                layer=layer_name(frame, name), count=int(invalid.sum()),
                                feature=first))
        from .geometry_repair import repair_geometries

        frame = repair_geometries(frame, name, id_field, feedback)  # a copy: the input stays as it was
    return frame


def require_geometry_type(frame, kinds, name=None):
    """All present geometries are of the given base kinds, e.g. ``("Polygon",)``.

    ``kinds`` are base names (``Point``, ``LineString``, ``Polygon``); multi-part variants
    are accepted too.
    """
    present = frame.geometry[~(frame.geometry.isna() | frame.geometry.is_empty)]
    types = set(t.replace("Multi", "") for t in present.geom_type.unique())
    wrong = sorted(types - set(kinds))
    if wrong:
        raise InputError(tr("Layer '{layer}' contains {found} geometries, but {expected} are needed. "
                            "Choose a layer of the right type.",
                            layer=layer_name(frame, name), found=", ".join(wrong),
                            expected=" / ".join(kinds)))


def require_same_crs(a, b, name_a=None, name_b=None):
    """Both layers share a CRS (core never reprojects silently unless a function says so)."""
    require_crs(a, name_a)
    require_crs(b, name_b)
    if a.crs != b.crs:
        raise InputError(tr("Layers '{a}' ({crs_a}) and '{b}' ({crs_b}) use different coordinate "
                            "reference systems. Reproject one of them first.",
                            a=layer_name(a, name_a), b=layer_name(b, name_b),
                            crs_a=crs_label(a.crs), crs_b=crs_label(b.crs)))


def finite_or_nan(values):
    """Return values as float array with inf replaced by NaN."""
    arr = np.asarray(values, dtype="float64")
    arr[~np.isfinite(arr)] = np.nan
    return arr


def warn_duplicate_features(frame, name=None, feedback=None, with_values=True, id_field=None):
    """Warn when features are exact copies of another (same geometry and, with ``with_values``,
    same values): a layer appended twice or copied features are otherwise summed twice.

    Without ``with_values`` only the geometry is compared: the same area drawn twice under
    different ids. Features are named by ``id_field`` when given, else by the feature ids.
    Returns the number of copies (features beyond the first of each group).
    """
    if len(frame) < 2 or frame.geometry.isna().all():
        return 0
    key = pd.DataFrame({"__geometry": frame.geometry.to_wkb()}, index=frame.index)
    if with_values:
        for column in frame.columns:
            if column != frame.geometry.name:
                key[column] = frame[column].astype(str).to_numpy()
    copies = key.duplicated(keep="first").to_numpy() & frame.geometry.notna().to_numpy()
    count = int(copies.sum())
    if not count or feedback is None:
        return count
    labels = np.asarray(frame.index if id_field is None else frame[id_field], dtype=object)
    rows = list(key.itertuples(index=False, name=None))
    first = {}
    for position, row in enumerate(rows):
        first.setdefault(row, position)
    pairs = [(int(c), first[rows[c]]) for c in np.flatnonzero(copies)]
    if with_values:
        copy, original = pairs[0]
        feedback.warning(tr("{count} feature(s) of layer '{layer}' are exact copies of another feature "
                            "(e.g. feature {copy} repeats feature {original}); each copy is counted "
                            "again. Remove the duplicates if the layer was appended or copied twice.",
                            count=count, layer=layer_name(frame, name),
                            copy=_plain(labels[copy]), original=_plain(labels[original])))
    else:
        shown = "; ".join(tr("{copy} repeats {original}", copy=repr(_plain(labels[c])),
                             original=repr(_plain(labels[o]))) for c, o in pairs[:EXAMPLES])
        feedback.warning(tr("{count} area(s) of layer '{layer}' have the same geometry as another area "
                            "({pairs}{more}); an area that appears twice distorts z-scores, ranks, "
                            "neighbours and clusters. Remove the repeated features, or check that the "
                            "areas really are distinct.", count=count, layer=layer_name(frame, name),
                            pairs=shown, more="; …" if count > EXAMPLES else ""))
    return count


def require_distinct_areas(frame, id_field=None, name=None, feedback=None):
    """Refuse repeated area ids and warn about areas drawn twice.

    A planning area that appears twice silently distorts everything computed across areas:
    z-scores and ranks, neighbour weights, clusters. With ``id_field`` its values must be
    unique (:func:`require_unique`); features with the same geometry under different ids
    are warned about (:func:`warn_duplicate_features` on the geometry alone), named by
    ``id_field`` or the feature ids. Frames without geometry get the id check only.
    Returns the number of repeated geometries.
    """
    if id_field:
        require_fields(frame, [id_field], name)
        require_unique(frame, id_field, name)
    if getattr(frame, "_geometry_column_name", None) not in getattr(frame, "columns", ()):
        return 0  # a plain table: no geometry to compare
    return warn_duplicate_features(frame, name, feedback, with_values=False, id_field=id_field or None)
