"""The real star sky: Gaia DR3 (G < 10) merged with Hipparcos 2, at a chosen epoch.

Positions come from Gaia where it has the star (J2016.0), from Hipparcos otherwise (J1991.25),
each moved by its proper motion to the epoch. V magnitudes come from Hipparcos Hp and B-V
(Bessell 2000) for stars in both catalogues, and from Gaia G plus the median V - G of the
cross-matched faint Hipparcos stars for the rest. The result is complete to about V = 10.2.

``onboard_catalog`` is the flight software's view: plain arrays, to be shipped as data.
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit

from hil.camera.frames import propagate_proper_motion, unit_vectors_from_radec
from hil.camera.gaia import GAIA_DR3_EPOCH_JYEAR, GAIA_LIMIT_G_MAG, load_gaia
from hil.camera.hipparcos import HIPPARCOS_EPOCH_JYEAR, load_hipparcos
from hil.camera.skygrid import SkyGrid

CROSS_MATCH_RADIUS_RAD = np.radians(2.0 / 3600.0)
J2000_JYEAR = 2000.0


@dataclass(frozen=True)
class StarCatalog:
    """Stars sorted by sky cell, with a cone search. Arrays are read-only.

    u_N: ICRS unit vectors at epoch_jyear, v_mag: Johnson V, hip: Hipparcos number (0 if none),
    gaia_source_id (0 if none), limit_v_mag: the magnitude the catalogue is complete to.
    """

    u_N: np.ndarray
    v_mag: np.ndarray
    hip: np.ndarray
    gaia_source_id: np.ndarray
    epoch_jyear: float
    limit_v_mag: float
    grid: SkyGrid
    cell_start: np.ndarray

    @classmethod
    def from_arrays(cls, u_N, v_mag, epoch_jyear=J2000_JYEAR, limit_v_mag=None, grid_n=32):
        """A catalogue of given stars (e.g. a test field); limit_v_mag defaults to the faintest."""
        u_N = np.asarray(u_N, dtype=float).reshape(-1, 3)
        v_mag = np.asarray(v_mag, dtype=float).ravel()
        if len(u_N) != len(v_mag) or not np.allclose(np.linalg.norm(u_N, axis=1), 1.0, atol=1e-9):
            raise ValueError("u_N must be unit vectors, one per magnitude")
        zeros = np.zeros(len(v_mag), dtype=np.int64)
        limit = float(np.max(v_mag)) if limit_v_mag is None else float(limit_v_mag)
        return _sorted_catalog(u_N, v_mag, zeros, zeros, float(epoch_jyear), limit, SkyGrid(grid_n))

    def __len__(self):
        return len(self.v_mag)

    def cone(self, axis_N, radius_rad):
        """Indices of the stars within radius_rad of the unit vector axis_N."""
        axis = np.asarray(axis_N, dtype=float)
        cells = self.grid.cells_in_cone(axis, radius_rad)
        return _stars_in_cells_within(cells, self.cell_start, self.u_N, axis, np.cos(radius_rad))


@njit(cache=True)
def _stars_in_cells_within(cells, cell_start, u_N, axis, cos_radius):
    total = 0
    for c in cells:
        total += cell_start[c + 1] - cell_start[c]
    out = np.empty(total, dtype=np.int64)
    count = 0
    for c in cells:
        for k in range(cell_start[c], cell_start[c + 1]):
            if u_N[k, 0] * axis[0] + u_N[k, 1] * axis[1] + u_N[k, 2] * axis[2] >= cos_radius:
                out[count] = k
                count += 1
    return out[:count]


@njit(cache=True)
def _nearest_within(dec_sorted, u_sorted, u_query, dec_query, radius_rad):
    """For each query, the index into the dec-sorted set of its nearest star within radius, or -1."""
    cos_radius = np.cos(radius_rad)
    match = np.full(len(dec_query), -1, dtype=np.int64)
    for q in range(len(dec_query)):
        lo = np.searchsorted(dec_sorted, dec_query[q] - radius_rad)
        best = cos_radius
        for k in range(lo, len(dec_sorted)):
            if dec_sorted[k] > dec_query[q] + radius_rad:
                break
            dot = u_sorted[k, 0] * u_query[q, 0] + u_sorted[k, 1] * u_query[q, 1] + u_sorted[k, 2] * u_query[q, 2]
            if dot >= best:
                best = dot
                match[q] = k
    return match


def _at_epoch(stars, catalogue_epoch_jyear, epoch_jyear):
    u0 = unit_vectors_from_radec(stars["ra_rad"], stars["dec_rad"])
    return propagate_proper_motion(
        u0, stars["pm_ra_cosdec_rad_per_yr"], stars["pm_dec_rad_per_yr"], epoch_jyear - catalogue_epoch_jyear
    )


def _cross_match(u_gaia, u_hip):
    """Index into the Gaia arrays of the counterpart of each Hipparcos star, or -1."""
    dec_gaia = np.arcsin(np.clip(u_gaia[:, 2], -1, 1))
    order = np.argsort(dec_gaia)
    dec_hip = np.arcsin(np.clip(u_hip[:, 2], -1, 1))
    match = _nearest_within(dec_gaia[order], u_gaia[order], u_hip, dec_hip, CROSS_MATCH_RADIUS_RAD)
    return np.where(match >= 0, order[np.maximum(match, 0)], -1)


@lru_cache(maxsize=4)
def sky_catalog(epoch_jyear: float = J2000_JYEAR, grid_n: int = 32) -> StarCatalog:
    """The merged Gaia + Hipparcos sky at epoch_jyear (Julian years, e.g. 2026.5), cached.

    Loading takes about a second the first time for a given epoch.
    """
    if not 1900.0 <= epoch_jyear <= 2100.0:
        raise ValueError(f"epoch_jyear {epoch_jyear} outside 1900-2100")
    hip, gaia = load_hipparcos(), load_gaia()
    u_hip = _at_epoch(hip, HIPPARCOS_EPOCH_JYEAR, epoch_jyear)
    u_gaia = _at_epoch(gaia, GAIA_DR3_EPOCH_JYEAR, epoch_jyear)
    match = _cross_match(u_gaia, u_hip)
    matched = match >= 0
    # V - G of the stars near the Gaia limit that both catalogues hold: the colour term of an
    # average field star, applied to the Gaia stars without Hipparcos photometry.
    near_limit = matched & (gaia["g_mag"][np.maximum(match, 0)] > GAIA_LIMIT_G_MAG - 1.5)
    v_minus_g = float(np.median(hip["v_mag"][near_limit] - gaia["g_mag"][match[near_limit]]))
    limit_v_mag = GAIA_LIMIT_G_MAG + v_minus_g

    v_gaia = gaia["g_mag"] + v_minus_g
    v_gaia[match[matched]] = hip["v_mag"][matched]
    hip_of_gaia = np.zeros(len(v_gaia), dtype=np.int64)
    hip_of_gaia[match[matched]] = hip["hip"][matched]
    # Hipparcos stars Gaia lacks: the brightest (saturated in Gaia) and a few others; fainter
    # than the Gaia limit they belong to the (statistical) faint population instead.
    hip_only = ~matched & (hip["v_mag"] < limit_v_mag)

    u_N = np.concatenate([u_gaia, u_hip[hip_only]])
    v_mag = np.concatenate([v_gaia, hip["v_mag"][hip_only]])
    hip_ids = np.concatenate([hip_of_gaia, hip["hip"][hip_only]])
    gaia_ids = np.concatenate([gaia["source_id"], np.zeros(int(hip_only.sum()), dtype=np.int64)])

    return _sorted_catalog(u_N, v_mag, hip_ids, gaia_ids, float(epoch_jyear), float(limit_v_mag), SkyGrid(grid_n))


def _sorted_catalog(u_N, v_mag, hip_ids, gaia_ids, epoch_jyear, limit_v_mag, grid):
    cell = grid.cell_of(u_N)
    order = np.lexsort((v_mag, cell))
    cell_start = np.searchsorted(cell[order], np.arange(grid.n_cells + 1))
    arrays = [np.ascontiguousarray(a[order]) for a in (u_N, v_mag, hip_ids, gaia_ids)]
    for a in arrays:
        a.setflags(write=False)
    return StarCatalog(*arrays, epoch_jyear, limit_v_mag, grid, cell_start)


def onboard_catalog(mag_limit: float, epoch_jyear: float = J2000_JYEAR):
    """The star catalogue the flight software carries: (u_N (n, 3) ICRS unit vectors at epoch, V).

    Every catalogued star brighter than mag_limit, sorted by magnitude (brightest first). The
    flight side receives these arrays as data; it never imports this module.
    """
    catalog = sky_catalog(epoch_jyear)
    if not -2.0 < mag_limit <= catalog.limit_v_mag:
        raise ValueError(
            f"mag_limit {mag_limit} outside (-2, {catalog.limit_v_mag:.2f}]: the catalogue is complete only to "
            f"V = {catalog.limit_v_mag:.2f}"
        )
    keep = np.flatnonzero(catalog.v_mag <= mag_limit)
    keep = keep[np.argsort(catalog.v_mag[keep], kind="stable")]
    return catalog.u_N[keep].copy(), catalog.v_mag[keep].copy()
