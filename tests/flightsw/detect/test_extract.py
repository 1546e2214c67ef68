"""Requirements of flightsw.detect.extract_sources on synthetic frames with known truth.

SNR is the standard CCD SNR of the whole source, S / sqrt(S + n_eff (B + RN^2))
in electrons, with n_eff the PSF's noise-equivalent area (test_detect_sky.ccd_snr):
the SNR of optimal (PSF-weighted) photometry, the source's own shot noise included.
The extractor's detection statistic is the matched-filter significance, whose
mean for a source centred on a pixel is the background-only part of it,
S / sqrt(n_eff (B + RN^2)) (test_detection_significance_is_the_optimal_...).
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.spatial import cKDTree
from test_detect_sky import (
    BIAS_DN, centroid_crb, flux_for_snr, mean_frame_e, noise_equivalent_area, render_frame,
)

from flightsw.detect import (
    FLAG_CENTROID_ISOPHOTAL, FLAG_EDGE, FLAG_SATURATED, SOURCE_DTYPE, extract_sources,
)
from flightsw.detect import reference
from flightsw.detect.background import estimate_background
from flightsw.detect.extract import psf_kernel_1d

SHAPE = (1024, 1024)
PSF_SIGMA = 1.0


def source_grid(rng, spacing=34):
    """Isolated sources on a jittered grid, random sub-pixel phase, away from the edges."""
    centres = np.arange(20, SHAPE[0] - 20, spacing, dtype=float)
    x, y = np.meshgrid(centres, centres)
    return x.ravel() + rng.uniform(-0.5, 0.5, x.size), y.ravel() + rng.uniform(-0.5, 0.5, x.size)


def match(sources, x, y, radius=1.5):
    """Index of the nearest detection to each truth, and whether it is within radius px."""
    if len(sources) == 0:
        return np.zeros(len(x), dtype=int), np.zeros(len(x), dtype=bool)
    dist, index = cKDTree(np.c_[sources["x"], sources["y"]]).query(np.c_[x, y])
    return index, dist < radius


def recall_at(snr, sky_e, read_noise_e, frames, seed, **options):
    rng = np.random.default_rng(seed)
    found = total = 0
    for _ in range(frames):
        x, y = source_grid(rng)
        flux = np.full(x.size, flux_for_snr(snr, PSF_SIGMA, sky_e, read_noise_e))
        frame = render_frame(rng, SHAPE, x, y, flux, PSF_SIGMA, sky_e, read_noise_e)
        _, ok = match(extract_sources(frame, **options), x, y)
        found += ok.sum()
        total += ok.size
    return found / total


def test_recall_at_least_99_percent_at_snr_8_with_default_settings():
    assert recall_at(8.0, sky_e=20.0, read_noise_e=5.0, frames=2, seed=10) >= 0.99


def test_recall_at_least_99_percent_at_snr_7_with_single_pixel_footprints():
    """threshold 5 alone (min_npix=1) finds 99% at SNR 7; min_npix=3 trades some of it for
    the false-alarm requirement (see test_false_alarms_...)."""
    assert recall_at(7.0, sky_e=20.0, read_noise_e=5.0, frames=2, seed=11, min_npix=1) >= 0.99


def test_detection_significance_is_the_optimal_snr_of_a_point_source():
    """The matched filter reaches the optimal detection SNR S / sqrt(n_eff (B + RN^2)).

    Each detection's snr is compared with the significance of the noiseless source
    image under the same filter (numpy reference, true noise), at the best of the
    pixels around the source: the filter's only loss is the source's sub-pixel phase.
    That prediction is itself within 12% of the optimal SNR (a source on a pixel
    corner loses exp(-0.5 / 4) in correlation with a unit-sigma PSF).
    """
    rng = np.random.default_rng(20)
    sky, rn = 20.0, 5.0
    x, y = source_grid(rng)
    flux = flux_for_snr(20.0, PSF_SIGMA, sky, rn)
    frame = render_frame(rng, SHAPE, x, y, np.full(x.size, flux), PSF_SIGMA, sky, rn)
    sources = extract_sources(frame)
    index, ok = match(sources, x, y)
    assert ok.all()
    noise_dn = np.sqrt(sky + rn**2 + 1 / 12)
    source_only = mean_frame_e(SHAPE, x, y, np.full(x.size, flux), PSF_SIGMA, 0.0)
    noiseless = reference.significance_map(source_only, psf_kernel_1d(PSF_SIGMA),
                                           np.zeros(SHAPE), np.full(SHAPE, noise_dn))
    cx, cy = np.floor(x + 0.5).astype(int), np.floor(y + 0.5).astype(int)
    predicted = np.max([noiseless[cy + dy, cx + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
    optimal = flux / np.sqrt(noise_equivalent_area(PSF_SIGMA)) / noise_dn
    assert np.all(predicted <= optimal * 1.001) and np.all(predicted >= 0.88 * optimal)
    # The highest pixel of a noisy footprint sits a little above the noiseless peak.
    ratio = sources["snr"][index] / predicted
    assert 0.97 < np.mean(ratio) < 1.03


@pytest.mark.parametrize("snr", [20.0, 60.0])
def test_centroid_rms_error_within_1_3_times_the_cramer_rao_bound(snr):
    rng = np.random.default_rng(12)
    sky, rn = 20.0, 5.0
    x, y = source_grid(rng)
    flux = flux_for_snr(snr, PSF_SIGMA, sky, rn)
    frame = render_frame(rng, SHAPE, x, y, np.full(x.size, flux), PSF_SIGMA, sky, rn)
    sources = extract_sources(frame)
    index, ok = match(sources, x, y)
    assert ok.mean() == 1.0
    phase_x, phase_y = x - np.round(x), y - np.round(y)
    crb_x = np.sqrt(np.mean([centroid_crb(flux, PSF_SIGMA, sky, rn, px, py) ** 2
                             for px, py in zip(phase_x, phase_y)]))
    crb_y = np.sqrt(np.mean([centroid_crb(flux, PSF_SIGMA, sky, rn, py, px) ** 2
                             for px, py in zip(phase_x, phase_y)]))
    err_x = sources["x"][index] - x
    err_y = sources["y"][index] - y
    assert np.sqrt(np.mean(err_x**2)) <= 1.3 * crb_x
    assert np.sqrt(np.mean(err_y**2)) <= 1.3 * crb_y
    assert abs(err_x.mean()) < 4 * crb_x / np.sqrt(x.size)


def test_false_alarms_at_most_0_01_per_1024_frame_of_pure_noise_at_5_sigma():
    """12 noise frames of 4096x4096 = 192 frame-equivalents of 1024x1024.

    At the requirement's 0.01 per frame the expected count is 1.9; more than
    5 would happen with probability 1.4% (Poisson).  A 5-sigma per-pixel
    threshold without the footprint criterion gives ~0.26 per frame (~50 here).
    """
    rng = np.random.default_rng(13)
    count = 0
    for _ in range(12):
        frame = rng.standard_normal((4096, 4096), dtype=np.float32)
        frame *= 7.0
        frame += 120.0
        count += len(extract_sources(frame, 5.0))
    assert count <= 5


def test_background_follows_a_strong_gradient_under_a_crowded_star_field():
    rng = np.random.default_rng(14)
    sky, rn, gradient = 300.0, 5.0, (0.25, -0.15)
    count = 3000
    x, y = rng.uniform(0, 1023, count), rng.uniform(0, 1023, count)
    flux = 10 ** rng.uniform(2.5, 5.0, count)
    frame = render_frame(rng, SHAPE, x, y, flux, PSF_SIGMA, sky, rn, gradient_e_per_px=gradient)
    mesh = estimate_background(frame, saturation_dn=65535)
    estimate = reference.full_map(mesh.bkg_dn, mesh.centres_y, mesh.centres_x, SHAPE)
    truth = mean_frame_e(SHAPE, [], [], [], PSF_SIGMA, sky, gradient) + BIAS_DN
    noise = np.sqrt(sky + rn**2)
    error = (estimate - truth) / noise
    assert abs(np.median(error)) < 0.05
    assert np.percentile(np.abs(error), 99) < 0.25
    rms = reference.full_map(mesh.rms_dn, mesh.centres_y, mesh.centres_x, SHAPE, False)
    # Star wings that survive the clipping inflate the RMS of a crowded field a little
    # (3000 stars here): the threshold errs on the safe side.
    assert 1.0 < np.median(rms) / np.sqrt(sky + rn**2 + 1 / 12) < 1.1


def test_no_false_detections_on_a_strong_gradient_without_stars():
    rng = np.random.default_rng(15)
    frame = render_frame(rng, SHAPE, [], [], [], PSF_SIGMA, 600.0, 5.0,
                         gradient_e_per_px=(0.5, 0.3))
    assert len(extract_sources(frame)) == 0


def test_saturated_star_is_flagged_and_located():
    rng = np.random.default_rng(16)
    frame = render_frame(rng, (128, 128), [60.3], [70.8], [3e6], PSF_SIGMA, 20.0, 5.0)
    sources = extract_sources(frame, saturation_dn=40000)
    star = sources[np.argmax(sources["flux"])]
    assert star["flags"] & FLAG_SATURATED and star["flags"] & FLAG_CENTROID_ISOPHOTAL
    assert abs(star["x"] - 60.3) < 0.3 and abs(star["y"] - 70.8) < 0.3


def test_streak_has_its_length_and_direction_in_the_second_moments():
    rng = np.random.default_rng(17)
    angle, length = np.deg2rad(30.0), 40.0
    t = np.linspace(-0.5, 0.5, 200) * length
    x, y = 100 + t * np.cos(angle), 90 + t * np.sin(angle)
    frame = render_frame(rng, (200, 200), x, y, np.full(t.size, 400.0), PSF_SIGMA, 20.0, 5.0)
    sources = extract_sources(frame)
    assert len(sources) == 1
    streak = sources[0]
    assert streak["flags"] & FLAG_CENTROID_ISOPHOTAL
    # A uniform segment of length L has RMS L / sqrt(12) along it.
    assert abs(streak["a"] / (length / np.sqrt(12)) - 1.0) < 0.1
    assert streak["b"] < 1.5 * PSF_SIGMA
    assert abs(streak["theta"] - angle) < np.deg2rad(2.0)
    assert abs(streak["x"] - 100) < 0.5 and abs(streak["y"] - 90) < 0.5


@given(x=st.floats(0.0, 63.0), y=st.floats(0.0, 63.0), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_a_single_source_anywhere_is_found_once_at_its_position(x, y, seed):
    rng = np.random.default_rng(seed)
    frame = render_frame(rng, (64, 64), [x], [y], [flux_for_snr(80.0, PSF_SIGMA, 20.0, 5.0)],
                         PSF_SIGMA, 20.0, 5.0)
    sources = extract_sources(frame, mesh_px=32)
    assert len(sources) == 1
    assert abs(sources["x"][0] - x) < 0.25 and abs(sources["y"][0] - y) < 0.25
    near_edge = min(x, y, 63 - x, 63 - y) < 0.5
    assert bool(sources["flags"][0] & FLAG_EDGE) or not near_edge


def test_output_is_a_structured_array_with_the_documented_fields():
    rng = np.random.default_rng(18)
    frame = render_frame(rng, (64, 64), [30.2], [33.7], [2e4], PSF_SIGMA, 20.0, 5.0,
                         dtype=np.float32)
    sources = extract_sources(frame)
    assert sources.dtype == SOURCE_DTYPE and len(sources) == 1
    assert {"x", "y", "flux", "npix", "peak", "a", "b", "theta", "flags"} <= set(sources.dtype.names)
    assert abs(sources["flux_psf"][0] / 2e4 - 1.0) < 0.02


def test_constant_frame_has_no_sources():
    assert len(extract_sources(np.full((64, 64), 500, dtype=np.uint16))) == 0


@pytest.mark.parametrize("frame, message", [
    (np.full((64, 64), np.nan, dtype=np.float32), "NaN"),
    (np.where(np.eye(64, dtype=bool), np.inf, 1.0).astype(np.float32), "NaN or infinite"),
    (np.zeros((64, 64), dtype=np.float64), "dtype"),
    (np.zeros((64, 64), dtype=np.int32), "dtype"),
    (np.zeros(4096, dtype=np.uint16), "2-D"),
    (np.zeros((3, 64, 64), dtype=np.uint16), "2-D"),
    (np.zeros((0, 64), dtype=np.uint16), "empty"),
    (np.zeros((16, 64), dtype=np.uint16), "at least"),
    ([[1, 2], [3, 4]], "numpy array"),
    (np.full((64, 64), 65535, dtype=np.uint16), "saturated"),
])
def test_bad_frames_raise_a_clear_value_error(frame, message):
    with pytest.raises(ValueError, match=message):
        extract_sources(frame)


@pytest.mark.parametrize("options, message", [
    ({"threshold_sigma": 0.0}, "threshold_sigma"),
    ({"threshold_sigma": np.nan}, "threshold_sigma"),
    ({"psf_sigma_px": 0.1}, "psf_sigma_px"),
    ({"min_npix": 0}, "min_npix"),
    ({"mesh_px": 8}, "mesh_px"),
])
def test_bad_options_raise_a_clear_value_error(options, message):
    with pytest.raises(ValueError, match=message):
        extract_sources(np.full((64, 64), 100, dtype=np.uint16), **options)


def test_mostly_saturated_frame_keeps_a_background_and_flags_the_saturated_region():
    rng = np.random.default_rng(19)
    frame = render_frame(rng, (256, 256), [200.4], [40.6], [5e4], PSF_SIGMA, 20.0, 5.0)
    yy, xx = np.mgrid[0:256, 0:256]
    frame[(xx - 60) ** 2 + (yy - 180) ** 2 < 90**2] = 65535
    sources = extract_sources(frame, mesh_px=32)
    blob = sources[np.argmax(sources["npix"])]
    assert blob["flags"] & FLAG_SATURATED and blob["npix"] > 0.9 * np.pi * 90**2 * 0.8
    star = sources[np.argmin(np.hypot(sources["x"] - 200.4, sources["y"] - 40.6))]
    assert abs(star["x"] - 200.4) < 0.1 and abs(star["y"] - 40.6) < 0.1
