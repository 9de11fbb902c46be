"""The steps a workflow can run: each calls the same engine function as its Processing algorithm.

A step takes named datasets (GeoDataFrames, tables, raster paths) and options, and returns
one GeoDataFrame/DataFrame plus log lines. ``STEPS`` says which options each step takes,
which of them name datasets, and which are required, so a workflow file is checked before
anything runs.
"""
from dataclasses import dataclass, field

from ..aggregate import aggregate_to_areas
from ..errors import InputError
from ..i18n import tr
from ..indices.catalogue import catalogue_index, catalogue_output, load_catalogue
from ..indices.composite import composite_index, parse_weights, result_frame
from ..priorities.ranking import RankingOptions, rank_priorities
from ..zonal import ZonalOptions, zonal_statistics


@dataclass(frozen=True)
class StepKind:
    """What a step needs: ``datasets`` name inputs, ``required``/``optional`` are options."""

    function: object
    algorithm: str
    datasets: tuple = ()
    required: tuple = ()
    optional: tuple = ()
    raster_datasets: tuple = field(default=())

    def options(self):
        """Every key the step accepts (besides ``output``)."""
        return set(self.datasets) | set(self.required) | set(self.optional) | set(self.raster_datasets)


def _as_list(value):
    """A YAML scalar or list as a list of strings."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def aggregate_step(data, options, feedback):
    """Blocks → planning areas: summed counts and rates from the sums (``aggregatetoareas``)."""
    result = aggregate_to_areas(
        data["blocks"], data["areas"], options["area_id"], count_fields=_as_list(options.get("counts")),
        rates=options.get("rates") or None, min_base=float(options.get("min_base", 300)), feedback=feedback)
    return result.areas, [tr("{blocks} block(s) assigned, {areas} planning area(s) written.",
                             blocks=len(result.assignment), areas=len(result.areas))]


def zonal_step(data, options, feedback):
    """Raster statistics per area with exact pixel coverage (``zonalstatistics``)."""
    zones = data["zones"]
    threshold = options.get("threshold")
    settings = ZonalOptions(bands=[int(b) for b in _as_list(options.get("bands"))] or None,
                            threshold=float(threshold) if threshold is not None else None,
                            raster_name=options.get("raster_name"))
    table, diagnostics = zonal_statistics(
        zones, data["raster"], stats=_as_list(options.get("stats", "mean")),
        prefix=str(options.get("prefix", "")), options=settings, id_field=options.get("id_field"),
        feedback=feedback)
    clash = [c for c in table.columns if c in zones.columns]
    if clash:
        raise InputError(tr("The areas already have field(s) {fields}; choose a prefix for the new fields.",
                            fields=", ".join(clash)))
    out = zones.join(table)
    return out, [tr("{n} area(s) written; {cells} covered pixels read; {empty} area(s) without raster data.",
                    n=len(out), cells=diagnostics["n_cells"], empty=len(diagnostics["empty_zones"]))]


_INDEX_OPTIONS = ("method", "classification", "n_classes", "min_population", "combine", "restandardise",
                  "ddof", "winsorise", "id_field")


def index_step(data, options, feedback):
    """Standardise, combine, re-standardise and classify (``compositeindex``, MSS method by default)."""
    frame = data["input"]
    kwargs = {k: options[k] for k in _INDEX_OPTIONS if k in options}
    if "weights" in options:
        kwargs["weights"] = parse_weights(options["weights"]) if isinstance(options["weights"], str) \
            else [float(w) for w in options["weights"]]
    if "reversed" in options:
        kwargs["reversed"] = _as_list(options["reversed"])
    if "breaks" in options:
        kwargs["breaks"] = parse_weights(options["breaks"]) if isinstance(options["breaks"], str) \
            else [float(b) for b in options["breaks"]]
    if "missing_values" in options:
        kwargs["missing_values"] = [float(v) for v in _as_list(options["missing_values"])]
    result = composite_index(frame, _as_list(options["indicators"]), population=options.get("population"),
                             feedback=feedback, **kwargs)
    d = result.diagnostics
    lines = [tr("{included} of {total} areas define the reference statistics; {small} below the minimum "
                "population, {missing} with missing values.", included=d["n_included"], total=d["n_areas"],
                small=d["n_population_below_minimum"], missing=d["n_missing"])]
    lines += list(d["warnings"])
    return result_frame(frame, result), lines


def catalogue_step(data, options, feedback):
    """An indicator catalogue (preset id or YAML file) computed on a layer (``catalogueindex``)."""
    catalogue = load_catalogue(str(options["catalogue"]))
    result = catalogue_index(catalogue, data["input"], feedback=feedback)
    return catalogue_output(data["input"], result), list(result.diagnostics.get("warnings", []))


def priorities_step(data, options, feedback):
    """Priority levels 1–4 with reasons in words and robustness (``planningpriorities``)."""
    frame = data["input"]
    ranking = RankingOptions(
        index_field=options.get("index_field", "index"), class_field=options.get("class_field"),
        population_field=options.get("population"), children_field=options.get("children"),
        min_population=float(options.get("min_population", 0)),
        robustness_field=options.get("robustness_field"), seed=int(options.get("seed", 12345)),
        n_classes=options.get("n_classes"))
    result, diagnostics = rank_priorities(frame, options.get("rule", "index_class"), ranking,
                                          feedback=feedback)
    out = frame.copy()
    for column in ("priority", "priority_label", "reasons_en", "reasons_de", "robustness"):
        out[column] = result[column].to_numpy()
    return out, [diagnostics["note"]]


STEPS = {
    "aggregate": StepKind(aggregate_step, "kommunalmonitor:aggregatetoareas", datasets=("blocks", "areas"),
                          required=("area_id",), optional=("counts", "rates", "min_base")),
    "zonal": StepKind(zonal_step, "kommunalmonitor:zonalstatistics", datasets=("zones",),
                      raster_datasets=("raster",),
                      optional=("stats", "bands", "prefix", "threshold", "id_field", "raster_name")),
    "index": StepKind(index_step, "kommunalmonitor:compositeindex", datasets=("input",),
                      required=("indicators",),
                      optional=("population", "weights", "reversed", "breaks", "missing_values") + _INDEX_OPTIONS),
    "catalogue": StepKind(catalogue_step, "kommunalmonitor:catalogueindex", datasets=("input",),
                          required=("catalogue",)),
    "priorities": StepKind(priorities_step, "kommunalmonitor:planningpriorities", datasets=("input",),
                           optional=("rule", "index_field", "class_field", "population", "children",
                                     "min_population", "robustness_field", "seed", "n_classes")),
}
