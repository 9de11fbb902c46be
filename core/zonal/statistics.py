"""Statistics from (zone, cell, coverage) triplets: the requested names, weighted quantiles,
majority and the per-band accumulator over batches of areas."""
import re

import numpy as np

from ..errors import InputError
from ..i18n import tr
from .coverage import _EPS, _expand

BASIC_STATS = ("count", "sum", "mean", "min", "max", "std", "median", "majority",
               "share_above", "share_below", "weighted_mean")
DEFAULT_STATS = ("count", "sum", "mean", "min", "max")
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


def _parse_stats(stats):
    """Normalise the requested statistics; return (list of names, list of quantiles)."""
    if isinstance(stats, str):
        stats = [s.strip() for s in stats.split(",") if s.strip()]
    names, quantiles = [], []
    for stat in stats:
        stat = str(stat).strip().lower()
        match = _PERCENTILE.match(stat)
        if stat == "median":
            quantiles.append(("median", 0.5))
        elif match:
            q = float(match.group(1))
            if q > 100:
                raise InputError(tr("Percentile '{stat}' is above 100.", stat=stat))
            quantiles.append((stat, q / 100.0))
        elif stat not in BASIC_STATS:
            raise InputError(tr("Unknown statistic '{stat}'. Choose from: {choices}, or pNN for "
                                "a percentile (e.g. p90).", stat=stat,
                                choices=", ".join(BASIC_STATS)))
        if stat not in names:
            names.append(stat)
    if not names:
        raise InputError(tr("No statistic was chosen."))
    return names, quantiles


def _weighted_quantiles(zone, values, weights, n_zones, qs):
    """Weighted quantiles per zone (exactextract's definition); inputs sorted by (zone, value)."""
    out = np.full((len(qs), n_zones), np.nan)
    if len(zone) == 0:
        return out
    n = np.bincount(zone, minlength=n_zones)
    total = np.bincount(zone, weights, minlength=n_zones)
    start = np.cumsum(n) - n
    pos = np.arange(len(zone)) - start[zone]  # 0-based k-1
    cum = np.cumsum(weights)
    base = np.zeros(n_zones)
    filled = n > 0
    base[filled] = cum[start[filled]] - weights[start[filled]]
    cum_excl = cum - weights - base[zone]
    s = pos * weights + (n[zone] - 1) * cum_excl
    s_n = (n - 1) * total
    for i, q in enumerate(qs):
        target = q * s_n
        m = np.bincount(zone, s <= target[zone] * (1 + 1e-15) + 1e-300, minlength=n_zones).astype("int64")
        has = n > 0
        m = np.clip(m, 1, np.maximum(n, 1))
        lo = start + m - 1
        hi = np.minimum(lo + 1, start + n - 1)
        lo_h, hi_h = lo[has], hi[has]
        x_lo, x_hi = values[lo_h], values[hi_h]
        s_lo, s_hi = s[lo_h], s[hi_h]
        with np.errstate(invalid="ignore", divide="ignore"):
            step = np.where(s_hi > s_lo, (target[has] - s_lo) / (s_hi - s_lo), 0.0)
        step = np.clip(step, 0.0, 1.0)
        out[i, has] = np.where(m[has] >= n[has], x_lo, x_lo + (x_hi - x_lo) * step)
    return out


def _value_runs(zone, values, weights):
    """Merge equal values of a zone (input sorted by zone, value): zone, value, summed weight."""
    start = np.flatnonzero(np.r_[True, (zone[1:] != zone[:-1]) | (values[1:] != values[:-1])])
    return zone[start], values[start], np.add.reduceat(weights, start)


def _majority(run_zone, run_value, run_weight, n_zones):
    """Value with the largest weight per zone (smallest value on ties), from value runs."""
    out = np.full(n_zones, np.nan)
    if len(run_zone) == 0:
        return out
    # areas equal to 1e-9 cells count as ties, so rounding noise never decides
    order = np.lexsort((run_value, -np.round(run_weight, 9), run_zone))
    first = order[np.r_[True, run_zone[order][1:] != run_zone[order][:-1]]]
    out[run_zone[first]] = run_value[first]
    return out


class _Accumulator:
    """Collects per-zone statistics of one band over batches."""

    def __init__(self, n_zones, names, quantiles, threshold):
        self.n = n_zones
        self.names = names
        self.quantiles = quantiles
        self.threshold = threshold
        self.result = {}
        self.nodata_cover = np.zeros(n_zones)
        self.total_cover = np.zeros(n_zones)

    VALUE_STATS = ("median", "majority")

    def add_window(self, zone_ids, part, runs, data, valid, pop):
        """Statistics of the zones ``zone_ids`` from partly covered cells and runs of whole
        cells of a window (``data``/``valid``/``pop`` 2-D arrays of the window)."""
        if self.quantiles or any(s in self.names for s in self.VALUE_STATS):
            zone, row, col, frac = _expand(part, runs)
            flat = row * data.shape[1] + col
            self.add(zone, zone_ids, data.ravel()[flat], valid.ravel()[flat], frac,
                     None if pop is None else pop.ravel()[flat])
            return
        # only sums and extremes are needed: whole-cell runs are reduced straight on the
        # window (np.ufunc.reduceat over [start, end) pairs), interior cells need no lookup
        n = len(zone_ids)
        pz, pr, pc, pf = part
        rz, rr, rc, rl = runs
        height, width = data.shape
        flat = pr * width + pc
        pv, pok = data.ravel()[flat], valid.ravel()[flat]
        pw = np.where(pok, pf, 0.0)
        pv0 = np.where(pok, pv, 0.0)
        # reduceat also reduces the gaps between consecutive runs: visit the runs in window
        # order so that the gaps add up to at most one pass over the window
        size = height * width
        run_start = rr * width + rc
        in_window_order = np.argsort(run_start, kind="stable")
        bounds = np.empty(2 * len(run_start), dtype="int64")
        bounds[0::2] = run_start[in_window_order]
        bounds[1::2] = (run_start + rl)[in_window_order]
        if len(bounds) and bounds[-1] == size:
            bounds = bounds[:-1]  # the last segment of reduceat runs to the end anyway
        to_end = np.flatnonzero(bounds >= size) // 2  # rare: other runs ending at the very end
        bounds = np.minimum(bounds, size - 1)
        no_gaps = not (~valid).any()

        def padded(values, where=None, fill=0.0):
            """Window values with cells outside ``where`` set to ``fill`` (flat copy)."""
            out = np.full(size, fill)
            np.copyto(out.reshape(height, width), values, where=True if where is None else where)
            return out

        def run_reduce(ufunc, window):
            values = np.zeros(len(run_start))
            if len(run_start):
                dtype = "int64" if window.dtype == np.uint8 else None  # counts of valid cells
                reduced = ufunc.reduceat(window, bounds, dtype=dtype)[0::2].astype("float64")
                for j in to_end:
                    reduced[j] = ufunc.reduce(window[bounds[2 * j]:], dtype=dtype)
                values[in_window_order] = reduced
            return values

        def total(part_values, window):
            return (np.bincount(pz, part_values, minlength=n)
                    + np.bincount(rz, run_reduce(np.add, window), minlength=n))

        flat_data = data.ravel()
        if no_gaps:  # no nodata in the window: no masked copies needed
            valid_w, v0_w = None, flat_data
            count = (np.bincount(pz, pw, minlength=n)
                     + np.bincount(rz, rl.astype("float64"), minlength=n))
        else:
            # the window is this band's own fresh copy: blank nodata cells in place
            invalid = np.flatnonzero(~valid.ravel())
            flat_data[invalid] = 0.0
            valid_w, v0_w = valid.ravel().view(np.uint8), flat_data
            count = total(pw, valid_w)
        sums = total(pw * pv0, v0_w)
        cover = np.bincount(pz, pf, minlength=n) + np.bincount(rz, rl.astype("float64"), minlength=n)
        self.total_cover[zone_ids] = cover
        self.nodata_cover[zone_ids] = np.maximum(cover - count, 0.0)
        has = count > _EPS
        safe = np.where(has, count, 1.0)
        out = {}
        if "count" in self.names:
            out["count"] = count
        if "sum" in self.names:
            out["sum"] = np.where(has, sums, np.nan)
        if "mean" in self.names:
            out["mean"] = np.where(has, sums / safe, np.nan)
        t = self.threshold
        if "share_above" in self.names:
            hit = total(pw * (pv > t), padded(valid & (data > t)))
            out["share_above"] = np.where(has, hit / safe, np.nan)
        if "share_below" in self.names:
            hit = total(pw * (pv < t), padded(valid & (data < t)))
            out["share_below"] = np.where(has, hit / safe, np.nan)
        if "weighted_mean" in self.names:
            pp = pop.ravel()[flat]
            pop_w = padded(pop, valid)
            den = total(pw * pp, pop_w)
            num = total(pw * pp * pv0, pop_w * v0_w)
            with np.errstate(invalid="ignore", divide="ignore"):
                out["weighted_mean"] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        if "std" in self.names:
            # shift by a reference value first (variance is shift-invariant) to keep
            # cancellation in S2/C - (S1/C)^2 small
            shift = float(sums.sum() / count.sum()) if count.sum() > 0 else 0.0
            d_w = v0_w - shift * (valid_w if valid_w is not None else 1.0)
            pd_ = pv0 - shift * pok
            s1 = total(pw * pd_, d_w) / safe
            s2 = total(pw * pd_ * pd_, d_w * d_w) / safe
            out["std"] = np.where(has, np.sqrt(np.maximum(s2 - s1 * s1, 0.0)), np.nan)
        for name, ufunc, fill in (("min", np.minimum, np.inf), ("max", np.maximum, -np.inf)):
            if name in self.names:
                result = np.full(n, fill)
                keep = pok & (pf > 0)
                if keep.any():
                    z = pz[keep]
                    first = np.flatnonzero(np.r_[True, z[1:] != z[:-1]])
                    result[z[first]] = ufunc.reduceat(pv[keep], first)
                if len(rz):
                    if not no_gaps:
                        flat_data[invalid] = fill
                    run_value = run_reduce(ufunc, flat_data)
                    first = np.flatnonzero(np.r_[True, rz[1:] != rz[:-1]])
                    result[rz[first]] = ufunc(result[rz[first]], ufunc.reduceat(run_value, first))
                out[name] = np.where(np.isfinite(result), result, np.nan)
        self._store(zone_ids, out)

    def _store(self, zone_ids, out):
        """Put the columns of this batch into the result arrays."""
        for name, column in out.items():
            if name not in self.result:
                self.result[name] = np.full(self.n, np.nan)
            self.result[name][zone_ids] = column

    def add(self, zones, zone_ids, values, valid, frac, pop):
        """Statistics of the zones ``zone_ids`` (all cells of these zones are in this batch)."""
        names = self.names
        w = np.where(valid, frac, 0.0)
        v = np.where(valid, values, 0.0)
        count = np.bincount(zones, w, minlength=len(zone_ids))
        sums = np.bincount(zones, w * v, minlength=len(zone_ids))
        self.total_cover[zone_ids] = np.bincount(zones, frac, minlength=len(zone_ids))
        self.nodata_cover[zone_ids] = np.bincount(zones, frac - w, minlength=len(zone_ids))
        has = count > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(has, sums / np.where(has, count, 1), np.nan)
        out = {}
        if "count" in names:
            out["count"] = count
        if "sum" in names:
            out["sum"] = np.where(has, sums, np.nan)
        if "mean" in names:
            out["mean"] = mean
        if "std" in names:
            dev = np.where(valid, values - mean[zones], 0.0)
            var = np.bincount(zones, w * dev * dev, minlength=len(zone_ids))
            out["std"] = np.where(has, np.sqrt(var / np.where(has, count, 1)), np.nan)
        if "share_above" in names or "share_below" in names:
            t = self.threshold
            if t is None:
                raise InputError(tr("The statistics share_above / share_below need a threshold "
                                    "value (e.g. 65 for Lden > 65 dB)."))
            for name, hit in (("share_above", v > t), ("share_below", v < t)):
                if name in names:
                    part = np.bincount(zones, w * hit, minlength=len(zone_ids))
                    out[name] = np.where(has, part / np.where(has, count, 1), np.nan)
        if "weighted_mean" in names:
            if pop is None:
                raise InputError(tr("The statistic weighted_mean needs population weights "
                                    "(a population raster or blocks with a population field)."))
            pw = w * pop
            den = np.bincount(zones, pw, minlength=len(zone_ids))
            num = np.bincount(zones, pw * v, minlength=len(zone_ids))
            with np.errstate(invalid="ignore", divide="ignore"):
                out["weighted_mean"] = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
        if any(s in names for s in ("min", "max", "majority")) or self.quantiles:
            # cells arrive sorted by zone, so per-zone extremes need no sort
            positive = valid & (frac > 0)
            zs, vs, ws = zones[positive], values[positive], frac[positive]
            if len(zs):
                first = np.flatnonzero(np.r_[True, zs[1:] != zs[:-1]])
                present = zs[first]
            else:
                first = present = np.zeros(0, dtype="int64")
            for name, ufunc in (("min", np.minimum), ("max", np.maximum)):
                if name in names:
                    column = np.full(len(zone_ids), np.nan)
                    if len(zs):
                        column[present] = ufunc.reduceat(vs, first)
                    out[name] = column
            if "majority" in names or self.quantiles:
                order = np.lexsort((vs, zs))
                # equal values of a zone are merged first (as exactextract does), so the
                # quantiles work on distinct values weighted by their covered area
                rz, rv, rw = _value_runs(zs[order], vs[order], ws[order])
                if "majority" in names:
                    out["majority"] = _majority(rz, rv, rw, len(zone_ids))
                if self.quantiles:
                    qs = _weighted_quantiles(rz, rv, rw, len(zone_ids),
                                             [q for _, q in self.quantiles])
                    for (name, _), row in zip(self.quantiles, qs):
                        out[name] = row
        self._store(zone_ids, out)
