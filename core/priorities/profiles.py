"""Cluster profiles: what each cluster is, on the original indicators and in z-scores.

For every cluster and indicator: number of areas, mean, standard deviation (ddof = 1, the
spread a planner computes in a spreadsheet), minimum and maximum in original units, and
the mean and sd of the z-scores (population sd over all areas with values, as the MSS).
R² per indicator = between-cluster sum of squares / total sum of squares (as ArcGIS's
Multivariate Clustering reports): how much of an indicator's variation the typology
explains. Distinguishing indicators of a cluster: those whose mean z-score is at least
``threshold`` SD from the city average, strongest first. The generated name lists up to
``max_terms`` of them, in German and English ("hohe Kinderarmut, hohe Lärmbelastung,
wenig Grün").
"""
import numpy as np
import pandas as pd

from ..errors import InputError
from ..i18n import format_number, tr
from ..validate import numeric_field

# German adjective endings by grammatical gender for generated names.
_DE_ADJ = {"high": {"f": "hohe", "m": "hoher", "n": "hohes", "pl": "hohe"},
           "low": {"f": "niedrige", "m": "niedriger", "n": "niedriges", "pl": "niedrige"}}


def parse_labels(text):
    """'S4 = Kinderarmut / child poverty : f; S1 = Arbeitslosigkeit' → labels for names and reasons.

    Each entry is ``field = German name [/ English name] [: genus]`` with genus ``f``, ``m``,
    ``n`` or ``pl`` for the German adjective ("hohe Kinderarmut"); without an English name the
    German one is used in both languages.
    """
    from ..errors import InputError

    labels = {}
    for part in (text or "").split(";"):
        if not part.strip():
            continue
        field, sep, rest = part.partition("=")
        if not sep or not field.strip() or not rest.strip():
            raise InputError(tr("Cannot read the indicator name '{part}'; write for example "
                                "'S4 = Kinderarmut / child poverty : f'.", part=part.strip()))
        rest, _, genus = rest.partition(":")
        de, _, en = rest.partition("/")
        entry = {"de": de.strip(), "en": (en.strip() or de.strip())}
        if genus.strip():
            entry["genus"] = genus.strip().lower()
        labels[field.strip()] = entry
    return labels


def _label(field, labels, lang):
    """Indicator label in a language (falls back to the field name)."""
    entry = (labels or {}).get(field)
    if isinstance(entry, dict):
        return entry.get(lang) or entry.get("en") or entry.get("de") or field
    if isinstance(entry, str):
        return entry
    from ..mapping import INDICATOR_NAMES  # known indicators read by name, not by field name

    return tr(INDICATOR_NAMES[field], lang=lang) if field in INDICATOR_NAMES else field


def indicator_phrase(field, direction, labels=None, lang="en"):
    """'high child poverty' / 'hohe Kinderarmut' for an indicator and a direction ('high'/'low').

    ``labels[field]`` may be a string or a dict with ``en``, ``de``, optional ``genus``
    (``f``, ``m``, ``n``, ``pl``) for the German adjective, or explicit phrases
    ``high_en``, ``low_de`` … (e.g. ``low_de = 'wenig Grün'``).
    """
    entry = (labels or {}).get(field)
    if isinstance(entry, dict) and entry.get(f"{direction}_{lang}"):
        return entry[f"{direction}_{lang}"]
    label = _label(field, labels, lang)
    if lang == "de" and isinstance(entry, dict) and entry.get("genus") in _DE_ADJ[direction]:
        return f"{_DE_ADJ[direction][entry['genus']]} {label}"
    if direction == "high":
        return tr("high {label}", lang=lang, label=label)
    return tr("low {label}", lang=lang, label=label)


def cluster_profiles(frame, fields, labels_col, labels=None, threshold=0.5, max_terms=3,
                     directions=None):
    """Profiles, R² and bilingual names of the clusters.

    Parameters
    ----------
    frame : DataFrame
        Areas with the indicator fields.
    fields : list of str
        Indicators in original units.
    labels_col : array-like
        Cluster per area (1..k; 0 or NaN = no cluster, ignored).
    labels : dict, optional
        Indicator labels (see ``indicator_phrase``).
    threshold : float
        Minimum |mean z| for an indicator to distinguish a cluster.
    directions : dict, optional
        ``{field: -1}`` for indicators where high values are good (for ordering only; the
        names always say high/low).

    Returns
    -------
    profile : DataFrame
        Long table: cluster, indicator, n, mean, sd, min, max, mean_z, sd_z.
    summary : DataFrame
        One row per cluster: n, name_en, name_de, distinguishing (list), and mean_z per field.
    r2 : dict
        R² per indicator.
    """
    cl = pd.to_numeric(pd.Series(np.asarray(labels_col)), errors="coerce").to_numpy()
    if len(cl) != len(frame):
        raise InputError(tr("The cluster labels ({m}) do not match the number of areas ({n}).",
                            m=len(cl), n=len(frame)))
    member = ~np.isnan(cl) & (cl > 0)
    clusters = sorted(int(c) for c in np.unique(cl[member]))
    rows, summary, r2 = [], [], {}
    zs = {}
    for f in fields:
        x = numeric_field(frame, f).to_numpy()
        ok = ~np.isnan(x)
        sd = x[ok].std()
        z = (x - x[ok].mean()) / sd if sd > 0 else np.zeros_like(x)
        zs[f] = z
        use = ok & member
        grand = x[use].mean() if use.any() else np.nan
        sst = ((x[use] - grand) ** 2).sum()
        ssb = 0.0
        for c in clusters:
            sel = use & (cl == c)
            v, vz = x[sel], z[sel]
            if len(v):
                ssb += len(v) * (v.mean() - grand) ** 2
            rows.append({"cluster": c, "indicator": f, "n": int(len(v)),
                         "mean": float(v.mean()) if len(v) else np.nan,
                         "sd": float(v.std(ddof=1)) if len(v) > 1 else np.nan,
                         "min": float(v.min()) if len(v) else np.nan,
                         "max": float(v.max()) if len(v) else np.nan,
                         "mean_z": float(vz.mean()) if len(v) else np.nan,
                         "sd_z": float(vz.std(ddof=1)) if len(v) > 1 else np.nan})
        r2[f] = float(ssb / sst) if sst > 0 else np.nan
    profile = pd.DataFrame(rows, columns=["cluster", "indicator", "n", "mean", "sd", "min", "max",
                                          "mean_z", "sd_z"])
    for c in clusters:
        part = profile[profile["cluster"] == c].set_index("indicator")["mean_z"]
        strong = part[part.abs() >= threshold]
        strong = strong.reindex(strong.abs().sort_values(ascending=False, kind="mergesort").index)
        terms = list(strong.index[:max_terms])
        names = {}
        for lang in ("en", "de"):
            if terms:
                names[lang] = ", ".join(indicator_phrase(f, "high" if strong[f] > 0 else "low", labels, lang)
                                        for f in terms)
            else:
                names[lang] = tr("close to the city average", lang=lang)
        detail = {lang: "; ".join(
            f"{_label(f, labels, lang)} {'+' if strong[f] > 0 else '−'}"
            f"{format_number(abs(strong[f]), 1, lang)} SD" for f in terms) for lang in ("en", "de")}
        summary.append({"cluster": c, "n": int((cl == c).sum()), "name_en": names["en"],
                        "name_de": names["de"], "distinguishing": terms,
                        "detail_en": detail["en"], "detail_de": detail["de"],
                        **{f"mean_z_{f}": float(part[f]) for f in fields}})
    return profile, pd.DataFrame(summary), r2
