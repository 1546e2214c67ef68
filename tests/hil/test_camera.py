"""Specification of the plant's camera model (hil.camera).

Every expectation is computed here independently of the model: the CCD equation by hand, the
pinhole projection from the test's own camera axes, numpy/scipy samplers and exact erf
integrals as references, published star positions and star counts.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from hil.camera import Camera, CameraParams, Scene, StarSky, Target, onboard_catalog, sky_catalog
from hil.camera import rng as crng
from hil.camera.catalog import StarCatalog
from hil.camera.defects import cosmic_rays, hot_pixels
from hil.camera.faint_stars import FaintStars
from hil.camera.frames import dcm_from_quaternion, galactic_lb_from_unit_vectors
from hil.camera.photometry import lambert_phase_function, lambert_sphere_vmag
from hil.camera.projection import project_reference, project_substeps
from hil.camera.psf import GaussianPsf, add_point_sources_reference
from hil.camera.readout import PlanarBackground, flat_field_variance_dn2, read_out, read_out_reference
from hil.camera.resolved import add_lambert_sphere, lambert_radiance_e_per_sr
from hil.camera.scenes import camera_axes, dark_scene
from hil.camera.starcounts import cumulative_star_density_per_deg2

AU_M = 1.495978707e11
EPOCH = 2026.0
ARCSEC = math.pi / 180 / 3600
# V = 0: 3.631e-9 erg/s/cm^2/A at 0.545 um (Bessell, Castelli & Plez 1998) over 0.088 um, in photons/s/m^2
V0_PHOTONS = 3.631e-9 * 1e-7 * 1e4 * 1e4 * 0.088 / (6.62607015e-34 * 299792458.0 / 0.545e-6)


# ---- helpers (scenes come from hil.camera.scenes; the quaternion is the test's own) -----------


def unit(ra_deg, dec_deg):
    ra, dec = math.radians(ra_deg), math.radians(dec_deg)
    return np.array([math.cos(dec) * math.cos(ra), math.cos(dec) * math.sin(ra), math.sin(dec)])


def quaternion_from_dcm(C):
    """Euler parameters (scalar first) of C_BN, Sheppard's method (Schaub & Junkins eq. 3.96)."""
    tr = np.trace(C)
    b2 = np.array([1 + tr, 1 + 2 * C[0, 0] - tr, 1 + 2 * C[1, 1] - tr, 1 + 2 * C[2, 2] - tr]) / 4
    i = int(np.argmax(b2))
    b = np.empty(4)
    b[i] = math.sqrt(b2[i])
    pairs = {
        0: (C[1, 2] - C[2, 1], C[2, 0] - C[0, 2], C[0, 1] - C[1, 0]),
        1: (C[1, 2] - C[2, 1], C[0, 1] + C[1, 0], C[2, 0] + C[0, 2]),
        2: (C[2, 0] - C[0, 2], C[0, 1] + C[1, 0], C[1, 2] + C[2, 1]),
        3: (C[0, 1] - C[1, 0], C[2, 0] + C[0, 2], C[1, 2] + C[2, 1]),
    }
    others = [k for k in range(4) if k != i]
    for k, v in zip(others, pairs[i]):
        b[k] = v / (4 * b[i])
    return b if b[0] >= 0 else -b


def quiet_params(**kw):
    """A camera without hot pixels or cosmic rays, for tests that look at the sources."""
    kw.setdefault("hot_pixel_fraction", 0.0)
    kw.setdefault("cosmic_ray_rate_per_cm2_s", 0.0)
    return CameraParams(**kw)


@pytest.fixture(scope="module")
def catalog():
    return sky_catalog(EPOCH)


@pytest.fixture(scope="module")
def sky(catalog):
    return StarSky(catalog, FaintStars(catalog, sky_key=20260101))


def one_star_sky(u_N, v_mag):
    return StarSky(StarCatalog.from_arrays(np.atleast_2d(u_N), np.atleast_1d(v_mag)), None)


# ---- photometry: the CCD equation ----------------------------------------------------------------


def test_point_source_electrons_match_ccd_equation():
    # N = F0 10^(-0.4 V) * pi (D/2)^2 * throughput * QE * t
    p = CameraParams(hot_pixel_fraction=0.0, cosmic_ray_rate_per_cm2_s=0.0)
    v_mag = 4.0
    expected = V0_PHOTONS * 10 ** (-0.4 * v_mag) * math.pi * 0.02**2 * 0.8 * 0.6 * 0.1
    C = camera_axes(unit(120.0, -30.0))
    star = C[2] + 0.01 * C[0] + 0.02 * C[1]
    cam = Camera(p, one_star_sky(star / np.linalg.norm(star), v_mag))
    frame, truth = cam.render(dark_scene(C), np.random.default_rng(5))
    x, y = truth["sources"]["x_px"][0], truth["sources"]["y_px"][0]
    r, c = int(round(y)), int(round(x))
    box = frame[r - 15 : r + 16, c - 15 : c + 16].astype(float)
    background = frame[r - 60 : r - 30, c - 60 : c + 60].mean()  # the mean: DN are integers
    measured = (box - background).sum() * p.gain_e_per_dn
    noise = math.sqrt(expected + box.size * (p.read_noise_e**2 + 2 * truth["background"].level_e))
    assert abs(truth["sources"]["electrons"][0] - expected) < 1e-6 * expected
    assert abs(measured - expected) < 0.05 * expected
    assert abs(measured - expected) < 5 * noise


# ---- geometry: catalogue stars land where the pinhole says ----------------------------------------


def test_catalogue_stars_land_on_their_pinhole_projection_within_005_px(catalog):
    p = quiet_params(read_noise_e=0.0)
    C = camera_axes(unit(84.0, -5.0), roll_rad=0.4)  # Orion: bright, isolated stars
    cam = Camera(p, StarSky(catalog, None))
    signal, _, truth = cam.expected_electrons(dark_scene(C))
    image = signal.copy()
    # the test's own projection of every catalogue star in the field
    idx = catalog.cone(C[2], math.radians(8.0))
    u_C = catalog.u_N[idx] @ C.T
    f = (1024 / 2) / math.tan(math.radians(5.0))
    x = 511.5 + f * u_C[:, 0] / u_C[:, 2]
    y = 511.5 + f * u_C[:, 1] / u_C[:, 2]
    e = truth["sources"]["electrons"]
    checked = 0
    for xi, yi, vi in zip(x, y, catalog.v_mag[idx]):
        if not (10 < xi < 1013 and 10 < yi < 1013) or vi > 8.0:
            continue
        near = np.hypot(truth["sources"]["x_px"] - xi, truth["sources"]["y_px"] - yi)
        own = np.argmin(near)
        if np.sum((near < 12) & (e > 1e-3 * e[own])) > 1:
            continue  # a neighbour would bias the centroid
        r0, c0 = int(round(yi)), int(round(xi))
        win = image[r0 - 6 : r0 + 7, c0 - 6 : c0 + 7].astype(float)
        rows, cols = np.mgrid[r0 - 6 : r0 + 7, c0 - 6 : c0 + 7]
        cx, cy = (win * cols).sum() / win.sum(), (win * rows).sum() / win.sum()
        assert math.hypot(cx - xi, cy - yi) < 0.05
        checked += 1
    assert checked >= 10


@settings(max_examples=25, deadline=None)
@given(
    st.floats(0, 360), st.floats(-89, 89), st.floats(0, 2 * math.pi),
    st.lists(st.tuples(st.floats(-0.08, 0.08), st.floats(-0.08, 0.08)), min_size=1, max_size=20),
)
def test_projection_kernel_matches_numpy_pinhole(ra, dec, roll, offsets):
    C = camera_axes(unit(ra, dec), roll)
    u = np.array([C[2] + a * C[0] + b * C[1] for a, b in offsets])
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    keep, xs, ys = project_substeps(C[None], u, 5000.0, 511.5, 511.5, -1e9, 1e9, -1e9, 1e9)
    x_ref, y_ref = project_reference(C, u, 5000.0, (511.5, 511.5))
    assert np.array_equal(keep, np.arange(len(u)))
    np.testing.assert_allclose(xs[:, 0], x_ref, atol=1e-9)
    np.testing.assert_allclose(ys[:, 0], y_ref, atol=1e-9)


def test_dcm_from_quaternion_is_basilisk_ep2c_and_inverse_of_test_sheppard():
    rng = np.random.default_rng(3)
    for _ in range(20):
        C = camera_axes(rng.normal(size=3), rng.uniform(0, 6.28))
        np.testing.assert_allclose(dcm_from_quaternion(quaternion_from_dcm(C)), C, atol=1e-12)
    # 90 deg about z: C maps N x-axis to -y in B (frame rotation, passive)
    q = [math.cos(math.pi / 4), 0, 0, math.sin(math.pi / 4)]
    np.testing.assert_allclose(dcm_from_quaternion(q) @ [1, 0, 0], [0, -1, 0], atol=1e-12)


def test_motion_smear_spreads_a_star_along_its_apparent_path_about_its_mid_exposure_position():
    p = quiet_params(exposure_s=0.5)
    C = camera_axes(unit(200.0, 10.0))
    cam = Camera(p, one_star_sky(C[2], 5.0))
    rate = 2e-3  # rad/s about the camera y axis: stars move along -x... by f * rate * t
    signal, _, truth = cam.expected_electrons(dark_scene(C, omega_BN_B=np.array([0.0, rate, 0.0])))
    image = signal.astype(float)
    length_px = p.focal_length_px * rate * p.exposure_s
    assert truth["n_substeps"] >= 2 * length_px
    rows, cols = np.mgrid[0 : p.n_rows, 0 : p.n_cols]
    total = image.sum()
    cx, cy = (image * cols).sum() / total, (image * rows).sum() / total
    assert math.hypot(cx - truth["sources"]["x_px"][0], cy - truth["sources"]["y_px"][0]) < 0.05
    var_x = (image * (cols - cx) ** 2).sum() / total
    var_y = (image * (rows - cy) ** 2).sum() / total
    # a uniform streak of length L convolved with the PSF: L^2 / 12 + sigma^2 (+ pixel 1/12)
    sub = length_px / truth["n_substeps"]
    assert abs(var_x - (length_px**2 - sub**2) / 12 - p.psf_sigma_px**2 - 1 / 12) < 0.05 * var_x
    assert abs(var_y - p.psf_sigma_px**2 - 1 / 12) < 0.02


# ---- PSF and noise kernels against their references ------------------------------------------


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.floats(-4, 36), st.floats(-4, 36), st.floats(0.1, 1e6)), min_size=1, max_size=12),
       st.floats(0.4, 2.0))
def test_psf_kernel_matches_exact_erf_integral(sources, sigma):
    psf = GaussianPsf(sigma)
    x, y, e = (np.array(v) for v in zip(*sources))
    image = np.zeros((32, 32), np.float32)
    psf.add_point_sources(image, x, y, e)
    reference = add_point_sources_reference((32, 32), psf, x, y, e)
    assert np.abs(image - reference).max() <= 2e-6 * e.sum() + 0.01 * len(e)


def test_psf_stamp_holds_all_flux_of_an_interior_source():
    psf = GaussianPsf(0.8)
    rng = np.random.default_rng(1)
    for e in (3.0, 300.0, 3e5):
        image = np.zeros((64, 64), np.float32)
        psf.add_point_sources(image, [rng.uniform(20, 44)], [rng.uniform(20, 44)], [e])
        assert abs(image.sum(dtype=float) - e) <= 0.01 + 1e-6 * e


def test_normal_deviates_are_standard_normal():
    z = crng.normals(np.uint64(99), 400_000, crng.NORMAL_QUANTILES)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    for k in (2.0, 3.0, 3.5):  # tail fractions, beyond the table (exact tail sampler)
        observed = np.mean(np.abs(z) > k)
        expected = 2 * stats.norm.sf(k)
        assert abs(observed - expected) < 5 * math.sqrt(expected / len(z))


@pytest.mark.parametrize("mean", [0.05, 0.9, 7.0, 11.99, 12.0, 40.0, 900.0])
def test_poisson_deviates_match_scipy_poisson(mean):
    n = 200_000
    draws = crng.poissons(np.uint64(7), np.full(n, mean), crng.NORMAL_QUANTILES)
    lo, hi = stats.poisson.ppf(1e-4, mean), stats.poisson.ppf(1 - 1e-4, mean)
    edges = np.arange(lo, hi + 2) - 0.5
    observed, _ = np.histogram(np.clip(draws, lo, hi), edges)
    expected = np.diff(stats.poisson.cdf(edges, mean)) * n
    expected[0] += stats.poisson.cdf(lo - 1, mean) * n
    expected[-1] += stats.poisson.sf(hi, mean) * n
    keep = expected > 5
    chi2 = ((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-4


def test_counter_rng_is_splitmix64():
    k = np.arange(10, dtype=np.uint64)
    assert [int(crng.draw(np.uint64(42), i)) for i in range(10)] == [int(v) for v in crng.splitmix64_reference(42, k)]


@pytest.mark.parametrize("mean_e", [0.0, 0.7, 6.0, 150.0, 4000.0])
def test_flat_field_variance_is_shot_plus_dark_plus_read_noise(mean_e):
    p = CameraParams(n_rows=512, n_cols=512)
    frame = read_out(np.zeros((512, 512), np.float32), PlanarBackground(mean_e), p, key=11).astype(float)
    assert abs(frame.mean() - (mean_e / p.gain_e_per_dn + p.bias_dn)) < 4 * math.sqrt(frame.var() / frame.size) + 1e-3
    assert abs(frame.var() / flat_field_variance_dn2(mean_e, p) - 1) < 0.03


def test_dark_current_and_sky_add_shot_noise_in_a_rendered_frame():
    # an empty sky: the variance follows the background level that the camera reports
    p = quiet_params(exposure_s=2.0, dark_current_e_per_s=20.0)
    C = camera_axes(unit(10.0, -70.0))
    cam = Camera(p, one_star_sky(-C[2], 3.0))
    frame, truth = cam.render(dark_scene(C), np.random.default_rng(2))
    level = truth["background"].level_e
    assert level > 40.0
    centre = frame[300:700, 300:700].astype(float)
    assert abs(centre.var() / flat_field_variance_dn2(level, p) - 1) < 0.04


def test_readout_kernel_matches_numpy_reference_over_a_star_and_a_sloped_background():
    p = CameraParams(n_rows=64, n_cols=64, read_noise_e=2.0, gain_e_per_dn=1.3)
    psf = GaussianPsf(1.0)
    signal = np.zeros((64, 64), np.float32)
    psf.add_point_sources(signal, [31.3], [30.8], [800.0])
    background = PlanarBackground(3.0, 0.02, -0.01)
    mean = signal.astype(float) + background.image(p)
    rng = np.random.default_rng(0)
    kernel = np.stack([read_out(signal, background, p, key=k).astype(float) for k in range(400)])
    reference = np.stack([read_out_reference(mean, np.zeros_like(mean), p, rng).astype(float) for _ in range(400)])
    for pixel in [(31, 31), (30, 33), (28, 31), (5, 5), (60, 60)]:
        a, b = kernel[:, pixel[0], pixel[1]], reference[:, pixel[0], pixel[1]]
        assert stats.ks_2samp(a, b).pvalue > 1e-4
    assert abs(kernel.mean() - reference.mean()) < 0.01


def test_pixels_under_stars_read_out_with_the_exact_poisson_read_noise_distribution():
    # pixels with a source of at least one electron are drawn apart, below a mean of 64 from the
    # Poisson grid tables and above by the explicit sampler: each block's DN histogram against the
    # exact DN distribution of its mean (dn_cdf_tables, checked against scipy below)
    from hil.camera.readout import dn_cdf_tables

    p = CameraParams(n_rows=512, n_cols=768)
    background_e = 1.2
    # means 12.624 and 41.26: 0.124 e above a grid mean, the remainder at its largest
    source_e = [1.0, 2.7, 11.424, 40.06, 62.7, 150.0]
    signal = np.zeros((512, 768), np.float32)
    for i, e in enumerate(source_e):
        signal[:, 128 * i : 128 * (i + 1)] = e
    frame = read_out(signal, PlanarBackground(background_e), p, key=5).astype(np.int64)
    for i, e in enumerate(source_e):
        dn = frame[:, 128 * i : 128 * (i + 1)].ravel()
        d_lo, cdf = dn_cdf_tables(np.array([background_e + float(np.float32(e))]), p)
        expected = np.diff(cdf[0], prepend=0.0) * dn.size
        observed = np.bincount(dn - d_lo, minlength=len(expected))
        assert dn.min() >= d_lo and len(observed) == len(expected)
        keep = expected > 5
        chi2 = ((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum()
        assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-4
        mean_dn = (d_lo + np.arange(len(expected))) @ expected / dn.size
        assert abs(dn.mean() - mean_dn) < 4 * dn.std() / math.sqrt(dn.size)


def test_saturation_clips_at_full_well_and_adc_maximum():
    p = CameraParams(n_rows=32, n_cols=32, full_well_e=1000.0, gain_e_per_dn=0.05, adc_bits=14)
    frame = read_out(np.full((32, 32), 5e4, np.float32), PlanarBackground(0.0), p, key=1)
    assert frame.max() == p.adc_max_dn  # 1000 e / 0.05 = 20000 DN > 16383
    p2 = CameraParams(n_rows=32, n_cols=32, full_well_e=1000.0, read_noise_e=0.0)
    frame2 = read_out(np.full((32, 32), 5e4, np.float32), PlanarBackground(0.0), p2, key=1)
    assert np.all(frame2 == round(1000.0 / p2.gain_e_per_dn + p2.bias_dn))


# ---- defects ------------------------------------------------------------------------------------


def test_hot_pixel_count_matches_its_rate_and_is_fixed_per_camera():
    counts = [len(hot_pixels(CameraParams(camera_seed=s)).flat_index) for s in range(40)]
    n, f = 1024 * 1024, 1e-4
    assert abs(np.mean(counts) - n * f) < 4 * math.sqrt(n * f * (1 - f) / 40)
    a, b = hot_pixels(CameraParams(camera_seed=3)), hot_pixels(CameraParams(camera_seed=3))
    assert np.array_equal(a.flat_index, b.flat_index)
    rates = np.concatenate([hot_pixels(CameraParams(camera_seed=s)).extra_dark_e_per_s for s in range(40)])
    assert abs(rates.mean() / 2000.0 - 1) < 5 / math.sqrt(len(rates))


def test_hot_pixels_show_their_dark_charge_in_the_frame():
    p = CameraParams(cosmic_ray_rate_per_cm2_s=0.0, exposure_s=0.5)
    C = camera_axes(unit(10.0, -70.0))
    cam = Camera(p, one_star_sky(-C[2], 3.0))
    frame, truth = cam.render(dark_scene(C), np.random.default_rng(4))
    hot = truth["hot_pixels"]
    values = frame.ravel()[hot.flat_index].astype(float)
    expected = np.minimum(hot.extra_dark_e_per_s * p.exposure_s + truth["background"].level_e, p.full_well_e)
    expected = expected / p.gain_e_per_dn + p.bias_dn
    assert abs(np.mean(values - expected)) < 4 * math.sqrt(np.mean(expected)) / math.sqrt(len(values)) + 1


def test_cosmic_ray_count_and_charge_match_their_rates():
    p = CameraParams()
    rng = np.random.default_rng(8)
    draws = [cosmic_rays(p, rng) for _ in range(3000)]
    expected = 2.0 * (1024 * 10e-4) ** 2 * 0.1
    counts = np.array([len(d.charge_e) for d in draws])
    assert abs(counts.mean() - expected) < 4 * math.sqrt(expected / len(counts))
    tracks = [d for d in draws if len(d.charge_e)]
    charge = np.concatenate([d.charge_e for d in tracks])
    length_px = np.concatenate([np.hypot(d.x1_px - d.x0_px, d.y1_px - d.y0_px) for d in tracks])
    path_um = np.hypot(10.0, length_px * 10.0)
    np.testing.assert_allclose(charge, 80.0 * path_um, rtol=1e-9)
    # isotropic incidence: the projected length d tan(theta) has median d (cos^2 theta = 1/2)
    assert abs(np.median(length_px) - 1.0) < 0.15


def test_cosmic_ray_charge_reaches_the_frame():
    p = quiet_params(cosmic_ray_rate_per_cm2_s=200.0)
    C = camera_axes(unit(10.0, -70.0))
    cam = Camera(p, one_star_sky(-C[2], 3.0))
    frame, truth = cam.render(dark_scene(C), np.random.default_rng(6))
    rays = truth["cosmic_rays"]
    assert len(rays.charge_e) > 5
    lit = frame.ravel()[rays.flat_index[rays.deposit_e > 100]].astype(float)
    assert np.all(lit > p.bias_dn + 30)


# ---- target photometry and resolved bodies -------------------------------------------------------


def test_lambert_phase_function_known_values():
    assert lambert_phase_function(0.0) == pytest.approx(1.0)
    assert lambert_phase_function(math.pi / 2) == pytest.approx(1 / math.pi)
    assert lambert_phase_function(math.pi) == pytest.approx(0.0, abs=1e-15)
    phi = np.linspace(0, math.pi, 50)
    assert np.all(np.diff(lambert_phase_function(phi)) < 0)
    with pytest.raises(ValueError):
        lambert_phase_function(-0.1)


def test_lambert_sphere_magnitude_matches_formula_and_one_square_metre_at_2000_km_is_about_9():
    r, d, a = 1.0 / math.sqrt(math.pi), 2.0e6, 0.2  # 1 m^2 cross-section
    at_zero_phase = -26.74 - 2.5 * math.log10(2 / 3 * a * r**2 / d**2)
    assert lambert_sphere_vmag(r, d, a, 0.0) == pytest.approx(at_zero_phase, abs=1e-12)
    m60 = float(lambert_sphere_vmag(r, d, a, math.radians(60.0)))
    assert m60 == pytest.approx(at_zero_phase - 2.5 * math.log10(((2 * math.pi / 3) * 0.5 + math.sqrt(3) / 2) / math.pi))
    print(f"1 m^2 sphere, albedo 0.2, 2000 km, 60 deg phase: V = {m60:.2f}")
    assert 8.0 < m60 < 10.0


def sphere_flux_by_surface_quadrature(centre, radius, sun_dir, n=400):
    """Integral of cos(i) cos(e) / r^2 dA over the sunlit surface seen from the origin [sr]."""
    theta = (np.arange(n) + 0.5) * math.pi / n
    phi = (np.arange(2 * n) + 0.5) * math.pi / n
    th, ph = np.meshgrid(theta, phi, indexing="ij")
    normal = np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], axis=-1)
    point = centre + radius * normal
    dist = np.linalg.norm(point, axis=-1)
    cos_e = -np.sum(normal * point, axis=-1) / dist
    cos_i = normal @ sun_dir
    d_area = radius**2 * np.sin(th) * (math.pi / n) ** 2
    return float(np.sum(np.clip(cos_i, 0, None) * np.clip(cos_e, 0, None) / dist**2 * d_area))


@pytest.mark.parametrize("phase_deg", [0.0, 45.0, 90.0, 135.0, 160.0])
def test_resolved_target_flux_equals_the_integral_of_lambertian_radiance_over_its_sunlit_face(phase_deg):
    p = quiet_params()
    radius, range_m, albedo = 2.0, 300.0, 0.25
    image = np.zeros((p.n_rows, p.n_cols), np.float32)
    centre = np.array([0.0, 0.0, range_m])
    phase = math.radians(phase_deg)
    sun_C = np.array([math.sin(phase), 0.0, -math.cos(phase)])  # from the target towards the Sun
    e_sun = V0_PHOTONS * 10 ** (0.4 * 26.74)
    info = add_lambert_sphere(image, p, centre, radius, sun_C, lambert_radiance_e_per_sr(p, albedo, e_sun))
    collect = math.pi * 0.02**2 * 0.8 * 0.6 * 0.1
    expected = albedo * e_sun / math.pi * sphere_flux_by_surface_quadrature(centre, radius, sun_C) * collect
    assert info["electrons"] == pytest.approx(expected, rel=0.005)
    assert image.sum(dtype=float) == pytest.approx(expected, rel=0.005)


@pytest.mark.parametrize("phase_deg", [0.0, 60.0, 120.0])
def test_lambert_sphere_magnitude_is_the_far_field_limit_of_the_surface_integral(phase_deg):
    radius, range_m, albedo = 1.0, 1.0e5, 0.3
    phase = math.radians(phase_deg)
    sun = np.array([math.sin(phase), 0.0, -math.cos(phase)])
    integral = sphere_flux_by_surface_quadrature(np.array([0.0, 0.0, range_m]), radius, sun)
    flux_ratio = albedo / math.pi * integral  # irradiance at the camera over the Sun's
    magnitude = -26.74 - 2.5 * math.log10(flux_ratio)
    assert magnitude == pytest.approx(float(lambert_sphere_vmag(radius, range_m, albedo, phase)), abs=0.002)


def test_resolved_target_apparent_size_gives_its_range(sky):
    p = quiet_params(read_noise_e=0.0)
    C = camera_axes(unit(30.0, 60.0))
    radius = 1.5
    for range_m in (150.0, 400.0, 1000.0):
        target = Target(r_TC_N=range_m * C[2], radius_m=radius, albedo=0.3)
        cam = Camera(p, one_star_sky(-C[2], 5.0))  # nothing else in the field
        signal, _, truth = cam.expected_electrons(dark_scene(C, r_sun_N=AU_M * -C[2], target=target))
        assert truth["target"]["resolved"]
        # full phase: brightness ~ sqrt(1 - (r/R)^2) over a disk of radius R = f tan(asin(R_m/d)),
        # whose <r^2> is 2 R^2 / 5; the PSF and the pixels add 2 (sigma^2 + 1/12)
        image = signal.astype(float)
        rows, cols = np.mgrid[0 : p.n_rows, 0 : p.n_cols]
        total = image.sum()
        cx, cy = (image * cols).sum() / total, (image * rows).sum() / total
        r2 = (image * ((cols - cx) ** 2 + (rows - cy) ** 2)).sum() / total - 2 * (p.psf_sigma_px**2 + 1 / 12)
        radius_px = math.sqrt(2.5 * r2)
        recovered_range = radius / math.sin(math.atan(radius_px / p.focal_length_px))
        assert recovered_range == pytest.approx(range_m, rel=0.02)


def test_target_is_a_point_source_of_its_magnitude_at_long_range(sky):
    p = quiet_params()
    C = camera_axes(unit(300.0, -20.0))
    r_T = 2.0e6 * (C[2] + 0.02 * C[0])
    sun = AU_M * (-C[2] + C[1])  # phase about 45 deg
    target = Target(r_TC_N=r_T, v_TC_N=3000.0 * C[1], radius_m=0.6, albedo=0.2)
    cam = Camera(p, StarSky(sky.catalog, None))
    _, _, truth = cam.expected_electrons(dark_scene(C, r_sun_N=sun, target=target))
    t = truth["target"]
    assert not t["resolved"] and t["sunlit"]
    assert t["electrons"] == pytest.approx(float(p.electrons_from_vmag(t["v_mag"])))
    src = truth["sources"]
    assert src["kind"][-1] == 2 and src["x_px"][-1] == pytest.approx(511.5 + p.focal_length_px * 0.02, abs=1e-6)
    assert truth["n_substeps_target"] > 1  # 3 km/s across the line of sight at 2000 km smears the target
    assert truth["n_substeps"] == 1  # but not the stars: the camera holds still


def test_target_in_earth_shadow_is_not_drawn(sky):
    p = quiet_params()
    C = camera_axes(unit(90.0, 0.0))  # looking along +y
    earth = np.array([7.0e6, 0.0, 0.0])  # Earth's centre 7000 km along +x, the Sun far beyond it
    target = Target(r_TC_N=1.0e5 * C[2], radius_m=1.0)
    cam = Camera(p, StarSky(sky.catalog, None))
    _, _, truth = cam.expected_electrons(
        Scene(q_BN=quaternion_from_dcm(C), r_sun_N=np.array([AU_M, 0, 0]), r_earth_N=earth, target=target)
    )
    assert not truth["target"]["sunlit"] and truth["target"]["electrons"] == 0.0


# ---- Earth, Sun, Moon -----------------------------------------------------------------------------


def test_sun_near_the_boresight_blinds_the_camera_and_far_from_it_does_not(sky):
    p = quiet_params()
    C = camera_axes(unit(45.0, 10.0))
    cam = Camera(p, StarSky(sky.catalog, None))
    for angle_deg, blinded in ((5.0, True), (12.0, True), (40.0, False), (120.0, False)):
        a = math.radians(angle_deg)
        sun = AU_M * (math.cos(a) * C[2] + math.sin(a) * C[0])
        frame, truth = cam.render(dark_scene(C, r_sun_N=sun), np.random.default_rng(1))
        assert truth["blinded"] == blinded
        if blinded:
            assert np.median(frame) >= (p.full_well_e / p.gain_e_per_dn + p.bias_dn) - 5
    # stray light grows towards the Sun and falls with its off-axis angle
    levels = []
    for angle_deg in (25.0, 35.0, 60.0):
        a = math.radians(angle_deg)
        sun = AU_M * (math.cos(a) * C[2] + math.sin(a) * C[0])
        _, _, truth = cam.expected_electrons(dark_scene(C, r_sun_N=sun))
        levels.append(truth["background_parts_e_per_px"]["stray_sun"])
        assert truth["background"].slope_x_e > 0
    assert levels[0] > levels[1] > levels[2] > 0


def test_earth_in_the_field_is_drawn_sunlit_and_hides_the_stars_behind_it(sky):
    p = quiet_params()
    C = camera_axes(unit(100.0, 0.0))
    # the Earth's limb crosses the field: centre 7000 km away (angular radius 65.7 deg), 70 deg
    # off the boresight towards +x, so the limb runs down the field near x = 950
    off = math.radians(70.0)
    earth = 7.0e6 * (math.cos(off) * C[2] + math.sin(off) * C[0])
    sun = AU_M * (C[2] - 2 * C[0]) / math.sqrt(5)  # lights the side of the Earth facing the camera
    cam = Camera(p, StarSky(sky.catalog, None))
    signal, _, truth = cam.expected_electrons(dark_scene(C, r_sun_N=sun, r_earth_N=earth))
    assert "earth" in truth["bodies_in_field"]
    behind = truth["sources"]["x_px"] > 1000
    assert not np.any(behind)  # no star drawn on the Earth's disk side (x > limb)
    assert signal[:, -1].min() > p.full_well_e  # the sunlit disk saturates
    assert signal[:, 0].max() < 1e5


def test_moon_in_the_field_is_a_disk_of_its_angular_size(sky):
    p = quiet_params()
    C = camera_axes(unit(200.0, -10.0))
    moon = 3.844e8 * C[2]
    sun = -AU_M * C[2]  # full Moon
    cam = Camera(p, StarSky(sky.catalog, None))
    signal, _, truth = cam.expected_electrons(dark_scene(C, r_sun_N=sun, r_moon_N=moon))
    assert "moon" in truth["bodies_in_field"]
    radius_px = math.sqrt(np.sum(signal > 1e5) / math.pi)
    assert radius_px == pytest.approx(p.focal_length_px * math.tan(math.asin(1737.4e3 / 3.844e8)), rel=0.03)


# ---- the real catalogue --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, ra_deg, dec_deg, v_mag, tol_mag",
    [
        # SIMBAD ICRS J2000 positions; Johnson V (Hipparcos Hp of the brightest stars is ~0.05 mag
        # faint for Vega and ~0.35 for Sirius, see hipparcos.v_minus_hp)
        ("Vega", 279.23473479, 38.78368896, 0.03, 0.08),
        ("Sirius", 101.28715533, -16.71611586, -1.46, 0.40),
        ("Arcturus", 213.91530029, 19.18240916, -0.05, 0.05),
        ("Altair", 297.69582730, 8.86832120, 0.77, 0.05),
    ],
)
def test_bright_star_is_at_its_catalogue_position_and_magnitude(name, ra_deg, dec_deg, v_mag, tol_mag):
    cat = sky_catalog(2000.0)
    u = unit(ra_deg, dec_deg)
    idx = cat.cone(u, 5 * ARCSEC)
    assert len(idx) == 1, name
    separation = math.acos(min(1.0, float(cat.u_N[idx[0]] @ u)))
    assert separation < 0.1 * ARCSEC
    assert abs(cat.v_mag[idx[0]] - v_mag) < tol_mag


def test_catalogue_star_counts_match_published_all_sky_counts(catalog):
    # all-sky counts from Tycho-2 + UCAC4 (hnsky.com star-count table): V < 8: 48559, V < 9: 139375
    for limit, published in ((8.0, 48559), (9.0, 139375)):
        assert abs(np.sum(catalog.v_mag < limit) / published - 1) < 0.15
    assert 9.9 < catalog.limit_v_mag < 10.4


def test_ten_degree_fields_hold_a_realistic_number_of_stars(catalog):
    # to V = 9.5: at high latitude ~2.6 stars/deg^2 (observed at |b| > 70), several times more in the plane
    def count(ra, dec):
        return len(catalog.cone(unit(ra, dec), math.radians(5.0)))

    def bright_in_cone(ra, dec):
        idx = catalog.cone(unit(ra, dec), math.radians(5.0))
        return int(np.sum(catalog.v_mag[idx] < 9.5))

    area = 2 * math.pi * (1 - math.cos(math.radians(5.0))) * (180 / math.pi) ** 2
    ngp = bright_in_cone(192.86, 27.13)  # north galactic pole
    plane = bright_in_cone(266.4, -29.0)  # towards the galactic centre
    assert 1.5 * area < ngp < 4.5 * area
    assert plane > 2 * ngp
    assert count(192.86, 27.13) < count(266.4, -29.0)


def test_onboard_catalogue_is_plain_arrays_sorted_by_magnitude_and_complete_to_its_limit(catalog):
    u, v = onboard_catalog(7.0, EPOCH)
    assert isinstance(u, np.ndarray) and u.shape == (len(v), 3)
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.0, atol=1e-12)
    assert np.all(np.diff(v) >= 0) and v.max() <= 7.0
    assert len(v) == np.sum(catalog.v_mag <= 7.0)
    with pytest.raises(ValueError):
        onboard_catalog(12.0, EPOCH)


def test_catalogue_cone_search_matches_brute_force(catalog):
    rng = np.random.default_rng(5)
    for _ in range(5):
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        fast = np.sort(catalog.cone(axis, math.radians(7.0)))
        brute = np.flatnonzero(catalog.u_N @ axis >= math.cos(math.radians(7.0)))
        assert np.array_equal(fast, brute)


# ---- the faint uncatalogued population -------------------------------------------------------------


def test_faint_stars_are_the_same_every_time_and_lie_below_the_catalogue_limit(catalog):
    a = FaintStars(catalog, sky_key=5)
    b = FaintStars(catalog, sky_key=5)
    axis = unit(150.0, 40.0)
    b.cone(unit(151.0, 41.0), math.radians(6.0), 16.0)  # a different history of cached cells
    ua, ma = a.cone(axis, math.radians(5.0), 14.0)
    ub, mb = b.cone(axis, math.radians(5.0), 14.0)
    order_a, order_b = np.lexsort((ma, ua[:, 0])), np.lexsort((mb, ub[:, 0]))
    assert np.array_equal(ua[order_a], ub[order_b]) and np.array_equal(ma[order_a], mb[order_b])
    assert ma.min() >= catalog.limit_v_mag and ma.max() < 14.0
    uc, _ = FaintStars(catalog, sky_key=6).cone(axis, math.radians(5.0), 14.0)
    assert len(uc) != len(ua) or not np.array_equal(uc, ua)


def test_faint_star_counts_follow_bahcall_soneira_at_high_latitude(catalog):
    faint = FaintStars(catalog, sky_key=77)
    axis = unit(192.86, 27.13)  # galactic pole
    u, m = faint.cone(axis, math.radians(5.0), 15.0)
    l, b = galactic_lb_from_unit_vectors(u)
    area = 2 * math.pi * (1 - math.cos(math.radians(5.0))) * (180 / math.pi) ** 2
    expected = (cumulative_star_density_per_deg2(15.0, 0.0, math.radians(85.0))
                - cumulative_star_density_per_deg2(catalog.limit_v_mag, 0.0, math.radians(85.0))) * area
    assert 0.6 * expected < len(m) < 1.6 * expected
    # the magnitude distribution rises towards the faint end like the model's differential counts
    assert np.sum(m > 14.0) > np.sum(m < 12.0)
    # positions uniform over the cone: the mean direction is the axis
    assert np.linalg.norm(u.mean(axis=0) / np.linalg.norm(u.mean(axis=0)) - axis) < 0.005


def test_a_rendered_frame_holds_sources_the_onboard_catalogue_cannot_explain(sky):
    p = quiet_params(exposure_s=0.5)
    C = camera_axes(unit(250.0, 35.0))
    _, _, truth = Camera(p, sky).expected_electrons(dark_scene(C))
    src = truth["sources"]
    inside = (src["x_px"] >= 0) & (src["x_px"] < 1024) & (src["y_px"] >= 0) & (src["y_px"] < 1024)
    # well above the noise of a PSF footprint (~12 pixels of read noise and background)
    noise = math.sqrt(12 * (p.read_noise_e**2 + truth["background"].level_e))
    detectable_faint = inside & (src["kind"] == 1) & (src["electrons"] > 10 * noise)
    assert detectable_faint.sum() > 20
    assert np.all(src["v_mag"][src["kind"] == 1] > onboard_catalog(sky.catalog.limit_v_mag, EPOCH)[1].max())


# ---- interfaces ---------------------------------------------------------------------------------


def test_same_seed_same_frame_and_different_seed_different_frame(sky):
    p = CameraParams()
    C = camera_axes(unit(20.0, 20.0))
    cam = Camera(p, sky)
    scene = dark_scene(C, omega_BN_B=np.array([1e-4, 0, 0]))
    f1, _ = cam.render(scene, np.random.default_rng(123))
    f2, _ = cam.render(scene, np.random.default_rng(123))
    f3, _ = cam.render(scene, np.random.default_rng(124))
    assert f1.dtype == np.uint16 and f1.shape == (1024, 1024)
    assert np.array_equal(f1, f2) and not np.array_equal(f1, f3)


@pytest.mark.parametrize(
    "bad",
    [dict(fov_deg=0.0), dict(quantum_efficiency=1.5), dict(adc_bits=20), dict(gain_e_per_dn=-1.0),
     dict(bias_dn=70000.0), dict(hot_pixel_fraction=1.0), dict(n_rows=2)],
)
def test_bad_camera_parameters_are_rejected(bad):
    with pytest.raises(ValueError):
        CameraParams(**bad)


def test_bad_scenes_are_rejected():
    with pytest.raises(ValueError):
        Scene(q_BN=[0, 0, 0, 0], r_sun_N=[AU_M, 0, 0], r_earth_N=[7e6, 0, 0])
    with pytest.raises(ValueError):
        Scene(q_BN=[1, 0, 0, 0], r_sun_N=[AU_M, 0, 0], r_earth_N=[1e6, 0, 0])  # inside the Earth
    with pytest.raises(ValueError):
        Target(r_TC_N=[0, 0, 1.0], radius_m=2.0)
    with pytest.raises(ValueError):
        Scene(q_BN=[1, 0, 0], r_sun_N=[AU_M, 0, 0], r_earth_N=[7e6, 0, 0])


def test_camera_mounting_points_the_boresight_along_the_mounted_body_axis():
    # camera boresight along body +x: q_CB rotates C from B by +90 deg about body y (C_z = B_x)
    p = quiet_params()
    half = math.pi / 4
    q_CB = [math.cos(half), 0.0, math.sin(half), 0.0]
    C_CB = dcm_from_quaternion(q_CB)
    np.testing.assert_allclose(C_CB[2], [1.0, 0.0, 0.0], atol=1e-12)
    C_BN = camera_axes(unit(40.0, 25.0), 0.7)
    star_N = C_BN[0]  # the body x axis, in N
    cam = Camera(p, one_star_sky(star_N, 6.0), q_CB=q_CB)
    _, _, truth = cam.expected_electrons(dark_scene(C_BN, r_sun_N=-AU_M * star_N))
    np.testing.assert_allclose(truth["C_CN"], C_CB @ C_BN, atol=1e-12)
    assert truth["sources"]["x_px"][0] == pytest.approx(511.5, abs=1e-6)
    assert truth["sources"]["y_px"][0] == pytest.approx(511.5, abs=1e-6)


def test_stellar_aberration_shifts_stars_towards_the_observer_velocity_by_v_over_c():
    p = quiet_params()
    C = camera_axes(unit(75.0, -15.0))
    cam = Camera(p, one_star_sky(C[2], 6.0))
    v = 30.0e3 * C[0]  # 30 km/s across the line of sight, towards +x in the image
    _, _, still = cam.expected_electrons(dark_scene(C))
    _, _, moving = cam.expected_electrons(dark_scene(C, v_observer_N=v))
    shift_px = moving["sources"]["x_px"][0] - still["sources"]["x_px"][0]
    assert shift_px == pytest.approx(p.focal_length_px * 30.0e3 / 299792458.0, rel=1e-3)  # ~20.6 arcsec
    assert moving["sources"]["y_px"][0] == pytest.approx(still["sources"]["y_px"][0], abs=1e-9)


def test_the_moon_hides_the_stars_behind_it(sky):
    p = quiet_params()
    C = camera_axes(unit(120.0, 20.0))
    star = C[2] + 0.001 * C[0]  # 0.06 deg from the Moon's centre, well inside its 0.26 deg radius
    cam = Camera(p, one_star_sky(star / np.linalg.norm(star), 5.0))
    _, _, free = cam.expected_electrons(dark_scene(C))
    _, _, hidden = cam.expected_electrons(dark_scene(C, r_moon_N=3.844e8 * C[2], r_sun_N=-AU_M * C[2]))
    assert len(free["sources"]["x_px"]) == 1 and len(hidden["sources"]["x_px"]) == 0


def test_a_moving_target_is_found_in_the_noisy_frame_where_the_truth_says(sky):
    p = CameraParams()
    C = camera_axes(unit(160.0, 50.0))
    target = Target(r_TC_N=2.0e6 * (C[2] - 0.03 * C[0] + 0.02 * C[1]), v_TC_N=1500.0 * C[0], radius_m=1.0,
                    albedo=0.25)
    cam = Camera(p, sky)
    frame, truth = cam.render(dark_scene(C, r_sun_N=AU_M * (-C[2] + 0.5 * C[1]), target=target),
                              np.random.default_rng(9))
    t = truth["target"]
    r, c = int(round(t["y_px"])), int(round(t["x_px"]))
    stamp = frame[r - 4 : r + 5, c - 4 : c + 5].astype(float) - (truth["background"].level_e / p.gain_e_per_dn + p.bias_dn)
    measured_e = stamp.sum() * p.gain_e_per_dn
    others = np.hypot(truth["sources"]["x_px"] - t["x_px"], truth["sources"]["y_px"] - t["y_px"])
    nearby = np.sum(truth["sources"]["electrons"][(others < 6) & (truth["sources"]["kind"] != 2)])
    noise = math.sqrt(t["electrons"] + nearby + 81 * (p.read_noise_e**2 + truth["background"].level_e))
    assert abs(measured_e - t["electrons"] - nearby) < 5 * noise
    assert t["electrons"] > 5 * noise  # a clear detection at 2000 km


def test_no_sun_stray_light_in_the_earths_shadow_and_no_target_behind_the_earth(sky):
    p = quiet_params()
    C = camera_axes(unit(90.0, 0.0))  # looking along +y, the Sun 30 deg off the boresight
    sun_dir = math.cos(math.radians(30.0)) * C[2] + math.sin(math.radians(30.0)) * C[0]
    cam = Camera(p, StarSky(sky.catalog, None))
    lit = cam.expected_electrons(dark_scene(C, r_sun_N=AU_M * sun_dir))[2]
    # the Earth between the camera and the Sun: centre 7000 km towards the Sun
    shadowed = cam.expected_electrons(dark_scene(C, r_sun_N=AU_M * sun_dir, r_earth_N=7.0e6 * sun_dir))[2]
    assert lit["background_parts_e_per_px"]["stray_sun"] > 100 * p.read_noise_e
    assert shadowed["background_parts_e_per_px"]["stray_sun"] == 0.0
    # a target 20 000 km away straight through the Earth's centre (7000 km away) is hidden
    earth = 7.0e6 * C[2]
    target = Target(r_TC_N=2.0e7 * C[2], radius_m=1.0)
    hidden = cam.expected_electrons(dark_scene(C, r_sun_N=-AU_M * C[0], r_earth_N=earth, target=target))[2]
    assert hidden["target"]["behind_earth"] and hidden["target"]["electrons"] == 0.0
    assert not np.any(hidden["sources"]["kind"] == 2)


def test_a_resolved_target_hides_the_stars_behind_it():
    p = quiet_params()
    C = camera_axes(unit(15.0, 5.0))
    star = C[2] + 0.002 * C[1]  # 0.11 deg off the target's centre; the target's radius is 0.38 deg
    cam = Camera(p, one_star_sky(star / np.linalg.norm(star), 5.0))
    target = Target(r_TC_N=300.0 * C[2], radius_m=2.0)
    with_target = cam.expected_electrons(dark_scene(C, r_sun_N=-AU_M * C[2], target=target))[2]
    without = cam.expected_electrons(dark_scene(C))[2]
    assert np.sum(without["sources"]["kind"] == 0) == 1
    assert np.sum(with_target["sources"]["kind"] == 0) == 0


# ---- table builders and the sky grid against direct computation -------------------------------------


def test_dn_tables_are_the_poisson_read_noise_distribution_rounded_to_dn():
    from hil.camera.readout import dn_cdf_tables

    p = CameraParams(read_noise_e=2.5, gain_e_per_dn=1.7, bias_dn=50.0)
    levels = np.array([0.3, 4.0, 37.0])
    d_lo, cdf = dn_cdf_tables(levels, p)
    dn = d_lo + np.arange(cdf.shape[1])
    n = np.arange(0, 200)
    for level, row in zip(levels, cdf):
        # P(DN <= d) = sum_n Pois(n) Phi(((d + 1/2 - bias) g - n) / sigma), by scipy
        edges = (dn[:, None] + 0.5 - p.bias_dn) * p.gain_e_per_dn - n[None, :]
        direct = (stats.poisson.pmf(n, level)[None, :] * stats.norm.cdf(edges / p.read_noise_e)).sum(axis=1)
        np.testing.assert_allclose(row[:-1], direct[:-1], atol=1e-12)
        assert row[-1] == 1.0


def test_threshold_tables_invert_their_cdfs_and_windows_hold_all_but_the_tails():
    from hil.camera._readout import threshold_tables
    from hil.camera.readout import dn_cdf_tables

    p = CameraParams()
    _, cdf = dn_cdf_tables(np.array([0.4, 3.0, 60.0, 900.0]), p)
    thresholds, windows = threshold_tables(cdf, 1e-3, 24)
    u = np.random.default_rng(4).integers(0, 2**32, 20000, dtype=np.uint64)
    for k in range(len(cdf)):
        t = thresholds[k, :-1].astype(np.uint64)
        index = (u[:, None] >= t[None, :]).sum(axis=1)
        # the share of uniforms mapped to each DN is that DN's probability
        observed = np.bincount(index, minlength=cdf.shape[1]) / len(u)
        pmf = np.diff(cdf[k], prepend=0.0)
        assert np.abs(observed - pmf).max() < 5 * math.sqrt(pmf.max() / len(u))
        lo, hi = windows[k]
        assert 1 <= lo <= hi <= cdf.shape[1] - 1 and hi - lo <= 24
        inside = (u >= t[lo - 1]) & ((u < t[hi]) if hi < len(t) else True)
        assert np.array_equal(index[inside], lo + (u[inside, None] >= t[None, lo:hi]).sum(axis=1))
        if hi - lo < 24:
            assert inside.mean() > 1 - 3e-3


def test_sky_grid_cell_kernel_matches_its_numpy_reference():
    from hil.camera.skygrid import SkyGrid

    grid = SkyGrid(32)
    u = np.random.default_rng(8).normal(size=(20000, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    # cell centres, face centres and a face edge besides random directions
    u = np.vstack([u, grid.cell_centres, np.eye(3), -np.eye(3), [[math.sqrt(0.5), -math.sqrt(0.5), 0.0]]])
    assert np.array_equal(grid.cell_of(u), grid.cell_of_reference(u))


def test_sky_grid_cells_tile_the_sphere_by_their_solid_angles():
    from hil.camera.skygrid import SkyGrid

    grid = SkyGrid(8)
    assert grid.cell_solid_angle_sr.sum() == pytest.approx(4 * math.pi, rel=1e-12)
    u = np.random.default_rng(3).normal(size=(300_000, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    counts = np.bincount(grid.cell_of(u), minlength=grid.n_cells)
    expected = len(u) * grid.cell_solid_angle_sr / (4 * math.pi)
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, grid.n_cells - 1) > 1e-4
    # every direction lies within its cell's radius of the cell centre
    cells = grid.cell_of(u[:2000])
    angle = np.arccos(np.clip(np.sum(u[:2000] * grid.cell_centres[cells], axis=1), -1, 1))
    assert np.all(angle <= grid.cell_radii_rad[cells] + 1e-12)


def test_cosmic_ray_tracks_deposit_their_charge_inside_the_frame():
    p = CameraParams(n_rows=256, n_cols=256, cosmic_ray_rate_per_cm2_s=5000.0)
    rays = cosmic_rays(p, np.random.default_rng(11))
    inside = ((rays.x0_px > 0) & (rays.x0_px < 255) & (rays.x1_px > 0) & (rays.x1_px < 255)
              & (rays.y0_px > 0) & (rays.y0_px < 255) & (rays.y1_px > 0) & (rays.y1_px < 255))
    assert inside.sum() > 20
    assert rays.deposit_e.sum() <= rays.charge_e.sum() + 1e-6
    assert rays.deposit_e.sum() >= rays.charge_e[inside].sum() - 1e-6


def test_stray_light_of_a_small_sphere_is_its_lambert_irradiance_times_the_pst():
    from hil.camera.stray_light import point_source_transmittance, sunlit_sphere_stray_plane

    p = CameraParams()
    off = math.radians(50.0)
    r_moon_C = 3.844e8 * np.array([math.sin(off), 0.0, math.cos(off)])
    phase = math.radians(70.0)
    to_camera = -r_moon_C / np.linalg.norm(r_moon_C)
    sun_C = math.cos(phase) * to_camera + math.sin(phase) * np.array([0.0, 1.0, 0.0])
    e_sun = V0_PHOTONS * 10 ** (0.4 * 26.74)
    plane = sunlit_sphere_stray_plane(r_moon_C, 1737.4e3, 0.18, sun_C, e_sun, p)
    # far-field Lambert sphere: E = E_sun (2/3) a (R/d)^2 p(phase)
    e_moon = V0_PHOTONS * 10 ** (-0.4 * float(lambert_sphere_vmag(1737.4e3, 3.844e8, 0.18, phase)))
    expected = e_moon * float(point_source_transmittance(off, p)) * (10e-6) ** 2 * 0.6 * 0.1
    assert plane.level_e == pytest.approx(expected, rel=0.01)
    # the ramp faces the Moon (+x), tilted a little towards its sunlit limb
    assert plane.slope_x_e > 0 and abs(plane.slope_y_e) < 0.01 * plane.slope_x_e


def test_earth_limb_in_the_field_brightens_but_does_not_blind_the_frame(sky):
    p = quiet_params()
    C = camera_axes(unit(100.0, 0.0))
    off = math.radians(71.0)  # limb 5 deg off the boresight, most of the Earth far outside the field
    earth = 7.0e6 * (math.cos(off) * C[2] + math.sin(off) * C[0])
    sun = AU_M * (C[2] - 2 * C[0]) / math.sqrt(5)
    _, _, truth = Camera(p, StarSky(sky.catalog, None)).expected_electrons(dark_scene(C, r_sun_N=sun, r_earth_N=earth))
    assert "earth" in truth["bodies_in_field"]
    assert 10.0 < truth["background_parts_e_per_px"]["stray_earth"] < p.full_well_e / 10


def test_sloped_background_readout_follows_the_plane_in_mean_and_variance():
    p = CameraParams(n_rows=256, n_cols=512)
    background = PlanarBackground(3.0, 0.004, -0.002)  # 2 e across the rows, 0.5 e down the columns
    frames = np.stack([read_out(np.zeros((256, 512), np.float32), background, p, key=k).astype(float)
                       for k in range(20)])
    mean_e = background.image(p)
    expected_dn = mean_e / p.gain_e_per_dn + p.bias_dn
    residual = frames.mean(axis=0) - expected_dn
    # band means (64 columns x all rows x 20 frames) sit on the plane
    bands = residual.reshape(256, 8, 64).mean(axis=(0, 2))
    band_sigma = math.sqrt(flat_field_variance_dn2(3.0, p) / (256 * 64 * 20))
    assert np.all(np.abs(bands) < 5 * band_sigma)
    variance = frames.var(axis=0, ddof=1).mean()
    assert variance / flat_field_variance_dn2(mean_e.mean(), p) == pytest.approx(1.0, abs=0.03)


def _exact_dn_pmf(mean_e, dn, p):
    """P(DN = d) of a pixel of mean_e electrons, by scipy: Poisson electrons, read noise, gain,
    bias, rounding (no clipping within dn)."""
    n = np.arange(0, int(mean_e + 12 * math.sqrt(mean_e) + 40))
    edges = (np.r_[dn[0] - 1, dn][:, None] + 0.5 - p.bias_dn) * p.gain_e_per_dn - n[None, :]
    cdf = (stats.poisson.pmf(n, mean_e)[None, :] * stats.norm.cdf(edges / p.read_noise_e)).sum(axis=1)
    return np.diff(cdf)


@pytest.mark.parametrize("gain", [1.0, 2.0, 4.0])
def test_bright_steep_background_reads_out_with_the_exact_distribution_of_each_pixel_mean(gain):
    # earthshine-like: 90 e- rising 0.06 e- a column, the levels far apart (read_out_shifted, the
    # rest electrons shifting the DN); columns of one mean each (no slope down the rows), a
    # faint wing of 0.37 e- on a band of them: each column's DN histogram over the rows of
    # several frames against the exact distribution of its mean
    from hil.camera import readout

    p = CameraParams(n_rows=512, n_cols=512, gain_e_per_dn=gain)
    background = PlanarBackground(90.0, 0.06, 0.0)
    rows, cols = background.row_and_column_terms(p)
    assert readout.background_levels(rows.min() + cols.min(), rows.max() + cols.max(),
                                     np.ptp(cols))[1] > readout.SHIFTED_FROM_STEP_E
    assert readout._shifted_tables(rows.min() + cols.min(), rows.max() + cols.max(), np.ptp(cols), p) is not None
    signal = np.zeros((512, 512), np.float32)
    signal[:, 300:340] = 0.37
    frames = np.stack([read_out(signal, background, p, key=k).astype(np.int64) for k in range(12)])
    # the shifted tables read it (the level tables alone decompose the pixels otherwise)
    assert not np.array_equal(frames[0], read_out(signal, background, p, key=0, shifted=False))
    mean_e = background.image(p)[0] + signal[0].astype(float)
    for c in [0, 77, 150, 255, 301, 333, 420, 511]:
        dn = frames[:, :, c].ravel()
        support = np.arange(dn.min() - 3, dn.max() + 4)
        expected = _exact_dn_pmf(mean_e[c], support, p) * dn.size
        observed = np.bincount(dn - support[0], minlength=len(support))
        keep = expected > 5
        chi2 = ((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum()
        assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-4, c
    # over the whole frame: the mean on the plane, the variance of shot, read and rounding noise
    residual = frames.mean(axis=0) - (background.image(p) + signal) / gain - p.bias_dn
    assert abs(residual.mean()) < 5 * math.sqrt(flat_field_variance_dn2(110.0, p) / frames.size)
    variance = frames.var(axis=0, ddof=1).mean()
    assert variance / flat_field_variance_dn2((background.image(p) + signal).mean(), p) == pytest.approx(1.0, abs=0.03)
