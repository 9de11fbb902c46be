"""Fill values (-9999, -3.4e38…) counted as data in bands without a nodata flag: found and
reported by value, band and area."""
import numpy as np

from ..i18n import tr
from ..values import SMALL_CODES, fill_value_mask, is_fill_outlier
from .coverage import _expand


class _FillWatch:
    """Typical fill values (-9999, -3.4e38…) in the covered cells of bands without a nodata flag.

    Such a value counted as data drags a mean or sum far off; the scan costs two comparisons
    per window unless a candidate occurs (``core.values.fill_value_mask``).
    """

    SAMPLE = 20000  # other values kept per band to judge "far outside the data"

    def __init__(self, bands):
        self.bands = list(bands)
        self.hits = {b: {} for b in self.bands}  # band → value → [cells, set of zone positions]
        self.rest = {b: [] for b in self.bands}

    def add(self, zone_ids, part, runs, data, valid, bands):
        """Tally the candidate cells covered by the zones of one window."""
        for i, band in enumerate(bands):
            if band not in self.hits:
                continue
            # -1 / -99 too: real rasters of shares or counts (e.g. land-cover fractions) fill with -1
            candidate = valid[i] & (fill_value_mask(data[i]) | np.isin(data[i], SMALL_CODES))
            if not candidate.any():
                continue
            others = data[i][valid[i] & ~candidate]
            if len(others) and sum(len(r) for r in self.rest[band]) < self.SAMPLE:
                self.rest[band].append(others[:: max(1, len(others) // self.SAMPLE)])
            zone, row, col, frac = _expand(part, runs)
            flat = row * data.shape[2] + col
            hit = candidate.ravel()[flat] & (frac > 0)
            values = data[i].ravel()[flat][hit]
            for value in np.unique(values):
                entry = self.hits[band].setdefault(float(value), [0, set()])
                same = values == value
                entry[0] += int(same.sum())
                entry[1].update(np.asarray(zone_ids)[zone[hit][same]].tolist())

    def report(self, labels, raster_name, feedback):
        """Warn per band and fill value far outside the data; return ``{band: {value: cells}}``."""
        found = {}
        for band in self.bands:
            rest = np.concatenate(self.rest[band]) if self.rest[band] else np.empty(0)
            for value, (cells, zones) in sorted(self.hits[band].items()):
                small = value in SMALL_CODES
                # a small code is a fill value only in a band whose other values are all 0 or more
                # (fractions, counts): in an NDVI or a temperature, -1 is data
                if small and not (len(rest) and np.nanmin(rest) >= 0):
                    continue
                if not small and not is_fill_outlier(value, rest):
                    continue
                found.setdefault(band, {})[value] = cells
                example = ", ".join(str(labels[z]) for z in sorted(zones)[:5])
                if small:
                    feedback.warning(tr(
                        "Raster '{raster}' has no nodata value, but band {band} holds {value} in {cells} "
                        "pixel(s) under {areas} area(s) (e.g. {example}), while all its other values are 0 "
                        "or more: most likely a fill value for 'no data'. It is counted as data, so the "
                        "statistics of these areas are wrong (e.g. a negative mean of shares). Set the "
                        "nodata value (parameter 'Nodata value of the raster', or the raster's own "
                        "nodata) to {value}.", raster=raster_name, band=band, value=_fill_text(value),
                        cells=cells, areas=len(zones), example=example))
                    continue
                feedback.warning(tr(
                    "Raster '{raster}' has no nodata value, but band {band} holds {value} in {cells} "
                    "pixel(s) under {areas} area(s) (e.g. {example}), far outside its other values: "
                    "most likely a fill value for 'no data'. It is counted as data, so the statistics "
                    "of these areas are wrong. Set the nodata value (parameter 'Nodata value of the "
                    "raster', or the raster's own nodata) to {value}.",
                    raster=raster_name, band=band, value=_fill_text(value), cells=cells,
                    areas=len(zones), example=example))
        return found


def _fill_text(value):
    """A fill value as a planner would type it: -9999, -3.4028235e+38."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.8g}"
