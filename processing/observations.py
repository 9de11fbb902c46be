"""Observation tables in long form (area, period, indicator, value…) read the same way in every
monitoring algorithm: the chosen fields renamed to the store's columns, numbers read with the
shared rules (German notation, suppression marks), and implausible values refused per indicator.

A long table mixes indicators of different scales in one value column (residents next to rates),
so the check for codes such as -9999 and extreme values runs within each indicator, where
"far outside the rest" means something.
"""
import pandas as pd

from ..core import validate
from ..core import values as value_reading
from ..core.errors import InputError
from ..core.i18n import tr

NUMBER_COLUMNS = ("value", "numerator", "denominator")


def observation_columns(algorithm, parameters, context, frame, roles):
    """The long-form columns of ``frame`` chosen by ``roles`` = ``(field parameter, column, optional)``.

    A field left empty defaults to the column's own name; an optional one that is absent is
    skipped. Number columns are read with ``core.validate.numeric_field`` and checked for
    implausible values within each indicator (when there is an indicator column).
    """
    layer = frame.attrs.get("layer_name", "?")
    out = pd.DataFrame(index=frame.index)
    for name, column, optional in roles:
        chosen = algorithm.chosen_field(parameters, name, context)
        field = chosen or column
        if field not in frame.columns:
            if optional and chosen in (None, column):  # the default name, absent: not used
                continue
            raise InputError(tr("Table '{layer}' has no field '{field}'. Choose the field holding "
                                "'{role}' (fields: {fields}).", layer=layer, field=field, role=column,
                                fields=", ".join(map(str, frame.columns))))
        if column in NUMBER_COLUMNS:
            out[column] = validate.numeric_field(frame, field, layer, plausible=False).to_numpy()
        else:
            out[column] = frame[field].to_numpy()
    check_plausible_per_indicator(out, layer)
    return out


def check_plausible_per_indicator(observations, layer):
    """Refuse codes such as -9999 and extreme values, judged within each indicator's values."""
    groups = observations.groupby("indicator", sort=False).indices if "indicator" in observations.columns \
        else {None: range(len(observations))}
    areas = observations["area_id"].tolist() if "area_id" in observations.columns else None
    for indicator, rows in groups.items():
        rows = list(rows)
        for column in NUMBER_COLUMNS:
            if column not in observations.columns:
                continue
            values = observations[column].to_numpy(dtype="float64")[rows]
            suspects = value_reading.suspicious_values(values, "any")
            label = column if indicator is None else f"{column} ({indicator})"
            message = value_reading.describe_suspects(
                suspects, label, layer, labels=[areas[r] for r in rows] if areas is not None else None)
            if message:
                raise InputError(message)
