"""Uncatalogued faint stars: a deterministic synthetic population below the catalogue's limit.

Counts follow Bahcall & Soneira (1980). Their regional structure is modulated by the real
catalogue's density just above its limit (over the ~11 deg wide cells of a coarse grid), so the
population follows the Milky Way where the fit alone would not (it is clamped at |b| = 20 deg).
The catalogue/fit ratio is normalised by its median over |b| >= 20 deg: the 1980 fit omits the
disc giants (Bahcall & Soneira 1981, ApJ 246, 122) and is about 2x low at V < 10, while at the
magnitudes generated here, dominated by dwarfs, its normalisation holds. Each (sky cell, 0.5 mag bin)
is generated from its own counter-based stream keyed by the sky seed: the same sky gives the
same stars in every frame, whatever the pointing, and no star lists are stored in advance.
"""

from collections import OrderedDict

import numpy as np
from numba import njit

from hil.camera.catalog import StarCatalog
from hil.camera.frames import galactic_lb_from_unit_vectors
from hil.camera.rng import NORMAL_QUANTILES, draw, mix64, poisson, uniform53
from hil.camera.skygrid import SkyGrid
from hil.camera.starcounts import cumulative_star_density_per_deg2

DEG2_PER_SR = (180.0 / np.pi) ** 2
_ANCHOR_BELOW_LIMIT_MAG = 0.5
_COARSE_GRID_N = 8
_CACHE_CELLS = 2048
_MAX_BINS = 4096  # per cell: (cell, bin) pairs map to distinct stream keys


class FaintStars:
    """Stars from the catalogue limit to faint_limit_v_mag, generated per sky cell on demand.

    sky_key: 64-bit key of this sky (draw it from the scenario's seeded Generator).
    """

    def __init__(self, catalog: StarCatalog, sky_key: int, faint_limit_v_mag: float = 17.0, bin_width_mag: float = 0.5):
        if not catalog.limit_v_mag < faint_limit_v_mag <= 22.0:
            raise ValueError("faint_limit_v_mag must lie between the catalogue limit and 22")
        if not 0.05 <= bin_width_mag <= 2.0:
            raise ValueError("bin_width_mag must lie in [0.05, 2]")
        self.grid = catalog.grid
        self.sky_key = np.uint64(sky_key)
        n_bins = int(np.ceil((faint_limit_v_mag - catalog.limit_v_mag) / bin_width_mag))
        if n_bins > _MAX_BINS:
            raise ValueError("too many magnitude bins: widen bin_width_mag")
        self.mag_edges = catalog.limit_v_mag + bin_width_mag * np.arange(n_bins + 1)
        self.density_scale = self._density_scale(catalog)
        l_rad, b_rad = galactic_lb_from_unit_vectors(self.grid.cell_centres)
        self._l_rad, self._b_rad = l_rad, b_rad
        cumulative = cumulative_star_density_per_deg2(self.mag_edges[None, :], l_rad[:, None], b_rad[:, None])
        area_deg2 = self.grid.cell_solid_angle_sr * DEG2_PER_SR
        self.expected_per_bin = np.diff(cumulative, axis=1) * (area_deg2 * self.density_scale)[:, None]
        mid = cumulative_star_density_per_deg2(
            0.5 * (self.mag_edges[None, :-1] + self.mag_edges[None, 1:]), l_rad[:, None], b_rad[:, None]
        )
        # log-slope of the differential counts inside each bin, from its two half-bin counts
        upper, lower = cumulative[:, 1:] - mid, mid - cumulative[:, :-1]
        self.bin_log_slope = 2.0 / bin_width_mag * np.log10(upper / lower)
        self._cache = OrderedDict()
        self._unresolved = {}

    def _density_scale(self, catalog):
        """Observed / Bahcall-Soneira count ratio above the catalogue limit per coarse region,
        over its median at |b| >= 20 deg."""
        anchor = catalog.limit_v_mag - _ANCHOR_BELOW_LIMIT_MAG
        coarse = SkyGrid(_COARSE_GRID_N)
        observed = np.bincount(coarse.cell_of(catalog.u_N[catalog.v_mag < anchor]), minlength=coarse.n_cells)
        l_rad, b_rad = galactic_lb_from_unit_vectors(self.grid.cell_centres)
        fine_expected = cumulative_star_density_per_deg2(anchor, l_rad, b_rad) * self.grid.cell_solid_angle_sr * DEG2_PER_SR
        coarse_of_fine = coarse.cell_of(self.grid.cell_centres)
        expected = np.bincount(coarse_of_fine, weights=fine_expected, minlength=coarse.n_cells)
        ratio = observed / expected
        _, b_coarse = galactic_lb_from_unit_vectors(coarse.cell_centres)
        ratio /= np.median(ratio[np.abs(b_coarse) >= np.radians(20.0)])
        return ratio[coarse_of_fine]

    def _cell_stars(self, cell, n_bins):
        """(u_N, v_mag) of a cell's stars in its first n_bins magnitude bins, brightest bin first."""
        cached = self._cache.get(cell)
        if cached is not None and cached[2] >= n_bins:
            self._cache.move_to_end(cell)
            return cached
        nrm, e1, e2 = self.grid.face_axes(cell)
        a0, a1, b0, b1 = self.grid.cell_bounds_ab[cell]
        u, m, ends = _generate_cell(
            self.sky_key, np.uint64(cell), nrm, e1, e2, a0, a1, b0, b1,
            self.expected_per_bin[cell, :n_bins], self.mag_edges[: n_bins + 1], self.bin_log_slope[cell, :n_bins],
            NORMAL_QUANTILES,
        )
        entry = (u, m, n_bins, ends)
        self._cache[cell] = entry
        if len(self._cache) > _CACHE_CELLS:
            self._cache.popitem(last=False)
        return entry

    def cone(self, axis_N, radius_rad, v_mag_max):
        """(u_N, v_mag) of the faint stars within radius_rad of axis_N brighter than v_mag_max."""
        n_bins = int(np.searchsorted(self.mag_edges, v_mag_max, side="left"))
        n_bins = min(n_bins, len(self.mag_edges) - 1)
        if n_bins <= 0:
            return np.empty((0, 3)), np.empty(0)
        axis = np.asarray(axis_N, dtype=float)
        us, ms = [], []
        for cell in self.grid.cells_in_cone(axis, radius_rad):
            u, m, _, ends = self._cell_stars(int(cell), n_bins)
            us.append(u[: ends[n_bins - 1]])
            ms.append(m[: ends[n_bins - 1]])
        return _select(np.concatenate(us), np.concatenate(ms), axis, np.cos(radius_rad), v_mag_max)

    def unresolved_flux_v0_units_per_deg2(self, axis_N, v_mag_min, v_mag_max=30.0):
        """Summed flux of stars between v_mag_min and v_mag_max per deg^2, in units of a V=0 star.

        Stars too faint to render one by one still add a diffuse glow: sum 10^(-0.4 m) over the
        (scaled) Bahcall-Soneira counts at the direction axis_N.
        """
        cell = int(self.grid.cell_of(np.asarray(axis_N, dtype=float)[None, :])[0])
        cached = self._unresolved.get((cell, v_mag_min, v_mag_max))
        if cached is not None:
            return cached
        edges = np.arange(v_mag_min, v_mag_max + 0.05, 0.1)
        counts = np.diff(cumulative_star_density_per_deg2(edges, self._l_rad[cell], self._b_rad[cell]))
        centres = 0.5 * (edges[1:] + edges[:-1])
        flux = float(self.density_scale[cell] * np.sum(counts * 10.0 ** (-0.4 * centres)))
        if len(self._unresolved) > _CACHE_CELLS:
            self._unresolved.clear()
        self._unresolved[(cell, v_mag_min, v_mag_max)] = flux
        return flux


@njit(cache=True)
def _select(u, m, axis, cos_radius, v_mag_max):
    keep = np.empty(len(m), dtype=np.bool_)
    for k in range(len(m)):
        keep[k] = m[k] < v_mag_max and u[k, 0] * axis[0] + u[k, 1] * axis[1] + u[k, 2] * axis[2] >= cos_radius
    return u[keep], m[keep]


@njit(cache=True)
def _generate_cell(sky_key, cell, nrm, e1, e2, a0, a1, b0, b1, expected, edges, log_slope, quantiles):
    """Stars of one cell, bin by bin; returns u (n, 3), v_mag (n,), and each bin's end index."""
    n_bins = len(expected)
    counts = np.empty(n_bins, dtype=np.int64)
    for k in range(n_bins):
        counts[k] = int(poisson(expected[k], mix64(sky_key ^ mix64(cell * np.uint64(_MAX_BINS) + np.uint64(k))), quantiles))
    total = counts.sum()
    u = np.empty((total, 3))
    m = np.empty(total)
    ends = np.cumsum(counts)
    # uniform on the sphere inside the gnomonic cell: density of (a, b) is (1 + a^2 + b^2)^-3/2,
    # sampled by rejection against its maximum at the cell point nearest the face centre
    a_near = 0.0 if a0 <= 0.0 <= a1 else min(abs(a0), abs(a1))
    b_near = 0.0 if b0 <= 0.0 <= b1 else min(abs(b0), abs(b1))
    jac_max = (1.0 + a_near * a_near + b_near * b_near) ** -1.5
    i = 0
    for k in range(n_bins):
        key = mix64(sky_key ^ mix64(cell * np.uint64(_MAX_BINS) + np.uint64(k) + np.uint64(1 << 40)))
        width = edges[k + 1] - edges[k]
        gamma = log_slope[k]
        d = 0
        for _ in range(counts[k]):
            while True:
                a = a0 + (a1 - a0) * uniform53(draw(key, d))
                b = b0 + (b1 - b0) * uniform53(draw(key, d + 1))
                accept = uniform53(draw(key, d + 2)) * jac_max <= (1.0 + a * a + b * b) ** -1.5
                d += 3
                if accept:
                    break
            x = nrm[0] + a * e1[0] + b * e2[0]
            y = nrm[1] + a * e1[1] + b * e2[1]
            z = nrm[2] + a * e1[2] + b * e2[2]
            norm = np.sqrt(x * x + y * y + z * z)
            u[i, 0], u[i, 1], u[i, 2] = x / norm, y / norm, z / norm
            # magnitude from n(m) ~ 10^(gamma m) inside the bin, by inversion
            v = uniform53(draw(key, d))
            d += 1
            if abs(gamma) > 1e-6:
                m[i] = edges[k] + np.log10(1.0 + v * (10.0 ** (gamma * width) - 1.0)) / gamma
            else:
                m[i] = edges[k] + v * width
            i += 1
    return u, m, ends
