"""Smooth latent fields (deprivation, affluence, change, green, parks, industry) that give the
block statistics realistic spatial autocorrelation."""
import numpy as np
from scipy import ndimage

from .layout import _point_at
from .model import CENTER


class _Field:
    """A smooth random field: Gaussian bumps plus low-frequency noise, evaluated anywhere."""

    def __init__(self, rng, bumps, noise_sd, noise_scale=900.0, cell=200.0):
        self.bumps = bumps  # list of (x, y, amplitude, sigma)
        x0, y0 = CENTER[0] - 8_000.0, CENTER[1] - 7_000.0
        nx, ny = int(16_000 / cell) + 1, int(14_000 / cell) + 1
        white = rng.standard_normal((ny, nx))
        smooth = ndimage.gaussian_filter(white, noise_scale / cell, mode="reflect")
        smooth = smooth / (smooth.std() or 1.0) * noise_sd
        self.noise, self.x0, self.y0, self.cell = smooth, x0, y0, cell

    def __call__(self, x, y):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        value = np.zeros(np.broadcast(x, y).shape)
        for bx, by, amp, sigma in self.bumps:
            value += amp * np.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2 * sigma ** 2))
        cols = (x - self.x0) / self.cell
        rows = (y - self.y0) / self.cell
        value += ndimage.map_coordinates(self.noise, [rows.ravel(), cols.ravel()], order=1,
                                         mode="nearest").reshape(value.shape)
        return value


def _latent_fields(rng, city):
    """Deprivation, affluence, change, green, parks, industry: smooth fields."""
    ph = city["phases"]

    def at(rho, angle):
        return _point_at(rho, angle, ph)

    a = rng.uniform(-np.pi, np.pi, 8)
    sx, sy = city["station"]
    dep_bumps = [(*at(0.78, a[0]), 1.2, 750.0),              # large housing estate at the edge
                 (sx + 900 * np.cos(a[1]), sy + 900 * np.sin(a[1]), 0.9, 600.0),  # near the tracks
                 (*at(0.35, a[2]), 0.8, 500.0)]                # old working-class quarter
    aff_bumps = [(*at(0.75, a[0] + np.pi), 1.1, 900.0),      # villa quarter on the green side
                 (*at(0.25, a[2] + 2.2), 0.7, 500.0)]          # gentrified old town edge
    chg_bumps = [(dep_bumps[2][0], dep_bumps[2][1], 1.0, 700.0),   # improving (urban renewal)
                 (*at(0.6, a[3]), -1.0, 800.0)]                     # declining
    grn_bumps = [(*at(0.85, a[0] + np.pi + 0.5), 1.3, 1500.0), (*at(0.9, a[4]), 1.0, 1000.0)]
    park_bumps = [(*at(rng.uniform(0.15, 0.8), a[5] + k * 2.1), 0.55, 230.0) for k in range(4)]
    ind_bumps = [(*at(0.62, a[6]), 1.0, 600.0), (*at(0.85, a[7]), 0.9, 500.0)]
    return {
        "deprivation": _Field(rng, dep_bumps, 0.35),
        "affluence": _Field(rng, aff_bumps, 0.3),
        "change": _Field(rng, chg_bumps, 0.35, noise_scale=1200.0),
        "green": _Field(rng, grn_bumps, 0.15),
        "parks": _Field(rng, park_bumps, 0.12, noise_scale=400.0),
        "industry": _Field(rng, ind_bumps, 0.08, noise_scale=500.0),
    }
