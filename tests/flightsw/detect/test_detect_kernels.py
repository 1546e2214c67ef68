"""Each compiled detection kernel against its numpy/scipy reference (flightsw.detect.reference)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from test_detect_sky import render_frame

from flightsw.detect import reference
from flightsw.detect.background import box_centres, estimate_background, mesh_edges
from flightsw.detect.extract import psf_kernel_1d
from flightsw.native import require

_background = require("flightsw.detect._background")
_extract = require("flightsw.detect._extract")


def star_field(seed, shape=(256, 320), count=60, dtype=np.uint16):
    """A frame with stars over a wide flux range, a sky gradient and a few saturated cores."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, shape[1] + 1, count)
    y = rng.uniform(-2, shape[0] + 1, count)
    flux = 10 ** rng.uniform(2.2, 6.5, count)
    return render_frame(rng, shape, x, y, flux, psf_sigma=1.1, sky_e=60.0, read_noise_e=5.0,
                        gradient_e_per_px=(0.15, -0.1), dtype=dtype)


def mask_to_runs(mask):
    """(row, first column, last column) of every horizontal run of True, raster order (numpy)."""
    padded = np.pad(mask.astype(np.int8), ((0, 0), (1, 1)))
    step = np.diff(padded, axis=1)
    rows_start, cols_start = np.nonzero(step == 1)
    _, cols_end = np.nonzero(step == -1)
    return np.stack([rows_start, cols_start, cols_end - 1], axis=1).astype(np.int32)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_mesh_statistics_equals_reference(dtype):
    frame = star_field(3, dtype=dtype)
    edges_y, edges_x = mesh_edges(frame.shape[0], 48), mesh_edges(frame.shape[1], 48)
    integer = dtype == np.uint16
    got = _background.mesh_statistics(frame, edges_y, edges_x, 2, 3000.0, integer)
    want = reference.mesh_statistics(frame, edges_y, edges_x, 2, 3000.0, integer)
    np.testing.assert_array_equal(got[2], want[2])
    np.testing.assert_allclose(got[0], want[0], rtol=1e-10)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-9)


@pytest.mark.parametrize("sky_e, saturation", [(4.0, 3000.0), (60.0, 2999.5), (2e4, 3e4)])
def test_integer_histogram_bins_equal_the_reference_for_any_bin_width(sky_e, saturation):
    """uint16 boxes are binned in integer arithmetic; bin widths 1, 2 and ~35 DN and a
    saturation level between two DN values give the reference's float binning."""
    rng = np.random.default_rng(31)
    x, y = rng.uniform(0, 320, 40), rng.uniform(0, 256, 40)
    frame = render_frame(rng, (256, 320), x, y, 10 ** rng.uniform(2.5, 6.5, 40), psf_sigma=1.1,
                         sky_e=sky_e, read_noise_e=5.0)
    edges_y, edges_x = mesh_edges(256, 48), mesh_edges(320, 48)
    got = _background.mesh_statistics(frame, edges_y, edges_x, 2, saturation, True)
    want = reference.mesh_statistics(frame, edges_y, edges_x, 2, saturation, True)
    np.testing.assert_array_equal(got[2], want[2])
    np.testing.assert_allclose(got[0], want[0], rtol=1e-10)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-9)


def test_mesh_statistics_rejects_mostly_saturated_boxes():
    frame = star_field(4)
    frame[:64, :64] = 65535
    edges = mesh_edges(256, 64)
    _, _, valid = _background.mesh_statistics(frame, edges, mesh_edges(320, 64), 2, 65535.0, True)
    assert valid[0, 0] == 0 and valid[1:, :].all() and valid[:, 1:].all()


@given(seed=st.integers(0, 2**32 - 1), ny=st.integers(1, 7), nx=st.integers(1, 7),
       density=st.floats(0.05, 1.0))
@settings(max_examples=60, deadline=None)
def test_fill_invalid_equals_reference(seed, ny, nx, density):
    rng = np.random.default_rng(seed)
    mesh = rng.normal(size=(ny, nx))
    valid = (rng.uniform(size=(ny, nx)) < density).astype(np.uint8)
    want = reference.fill_invalid(mesh, valid)
    got = mesh.copy()
    ok = _background.fill_invalid(got, valid)
    assert ok == (want is not None)
    if ok:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@given(seed=st.integers(0, 2**32 - 1), ny=st.integers(1, 8), nx=st.integers(1, 8))
@settings(max_examples=60, deadline=None)
def test_median_filter_mesh_equals_reference(seed, ny, nx):
    mesh = np.random.default_rng(seed).normal(size=(ny, nx))
    np.testing.assert_allclose(_background.median_filter_mesh(mesh),
                               reference.median_filter_mesh(mesh), rtol=0, atol=1e-12)


@pytest.mark.parametrize("extrapolate", [True, False])
def test_interpolate_mesh_columns_equals_reference(extrapolate):
    rng = np.random.default_rng(5)
    mesh = rng.normal(100.0, 5.0, size=(3, 6))
    centres = box_centres(mesh_edges(300, 50))
    got = _background.interpolate_mesh_columns(mesh, centres, 300, extrapolate)
    want = reference.interpolate_mesh_columns(mesh, centres, 300, extrapolate)
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
@pytest.mark.parametrize("psf_sigma", [0.5, 1.0, 1.5, 2.2])
def test_threshold_runs_equal_the_reference_significance_mask(dtype, psf_sigma):
    frame = star_field(6, dtype=dtype)
    mesh = estimate_background(frame, mesh_px=64, saturation_dn=np.inf)
    kernel = psf_kernel_1d(psf_sigma)
    runs, peak = _extract.threshold_runs(frame, kernel, mesh.bkg_cols, mesh.rms_cols,
                                         mesh.centres_y, 4.0)
    bkg = reference.full_map(mesh.bkg_dn, mesh.centres_y, mesh.centres_x, frame.shape)
    rms = reference.full_map(mesh.rms_dn, mesh.centres_y, mesh.centres_x, frame.shape, False)
    significance = reference.significance_map(frame, kernel, bkg, rms)
    got = reference.runs_to_mask(runs, frame.shape)
    disagree = got != (significance > 4.0)
    assert got.sum() > 100
    # float32 kernel arithmetic vs float64 reference: only pixels on the threshold may differ.
    assert np.all(np.abs(significance[disagree] - 4.0) < 1e-3)
    ref_peak = np.array([significance[y, x0:x1 + 1].max() for y, x0, x1 in runs])
    np.testing.assert_allclose(peak, ref_peak, rtol=2e-3, atol=2e-3)
    assert np.all(np.diff(runs[:, 0] * frame.shape[1] + runs[:, 1]) > 0)


@given(seed=st.integers(0, 2**32 - 1), height=st.integers(32, 80), width=st.integers(32, 131),
       threshold=st.floats(1.0, 6.0))
@settings(max_examples=40, deadline=None)
def test_threshold_runs_equal_the_reference_for_any_frame_width(seed, height, width, threshold):
    """Widths that are not multiples of the scan's column blocks, thresholds from dense to sparse."""
    rng = np.random.default_rng(seed)
    count = int(rng.integers(0, 12))
    frame = render_frame(rng, (height, width), rng.uniform(0, width, count),
                         rng.uniform(0, height, count), 10 ** rng.uniform(2.5, 4.5, count),
                         dtype=np.float32)
    mesh = estimate_background(frame, mesh_px=32)
    kernel = psf_kernel_1d(1.0)
    runs, _ = _extract.threshold_runs(frame, kernel, mesh.bkg_cols, mesh.rms_cols,
                                      mesh.centres_y, threshold)
    bkg = reference.full_map(mesh.bkg_dn, mesh.centres_y, mesh.centres_x, frame.shape)
    rms = reference.full_map(mesh.rms_dn, mesh.centres_y, mesh.centres_x, frame.shape, False)
    significance = reference.significance_map(frame, kernel, bkg, rms)
    disagree = reference.runs_to_mask(runs, frame.shape) != (significance > threshold)
    assert np.all(np.abs(significance[disagree] - threshold) < 1e-3)


@given(seed=st.integers(0, 2**32 - 1), height=st.integers(1, 40), width=st.integers(1, 40),
       density=st.floats(0.0, 0.9))
@settings(max_examples=150, deadline=None)
def test_labels_partition_above_threshold_pixels_like_scipy(seed, height, width, density):
    mask = np.random.default_rng(seed).uniform(size=(height, width)) < density
    runs = mask_to_runs(mask)
    labels, count = _extract.label_runs(runs)
    want, want_count = reference.label_mask(mask)
    assert count == want_count
    painted = np.zeros(mask.shape, dtype=np.int64)
    for (y, x0, x1), lab in zip(runs, labels):
        painted[y, x0:x1 + 1] = lab + 1
    np.testing.assert_array_equal(painted, want)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_measure_sources_equals_reference(dtype):
    frame = star_field(8, dtype=dtype)
    saturation = 20000.0
    mesh = estimate_background(frame, mesh_px=64, saturation_dn=saturation)
    kernel = psf_kernel_1d(1.1)
    runs, peak = _extract.threshold_runs(frame, kernel, mesh.bkg_cols, mesh.rms_cols,
                                         mesh.centres_y, 5.0)
    labels, count = _extract.label_runs(runs)
    got = _extract.measure_sources(frame, runs, labels, count, peak, mesh.bkg_cols,
                                   mesh.centres_y, 1.1, saturation, 2)
    label_image, ref_count = reference.label_mask(reference.runs_to_mask(runs, frame.shape))
    bkg = reference.full_map(mesh.bkg_dn, mesh.centres_y, mesh.centres_x, frame.shape)
    want = reference.measure(frame, label_image, ref_count, bkg, 1.1, saturation, 2)
    assert len(got["x"]) == len(want["x"]) > 20
    np.testing.assert_array_equal(got["npix"], want["npix"])
    np.testing.assert_array_equal(got["flags"], want["flags"])
    assert (got["flags"] & reference.FLAG_SATURATED).any()
    assert (got["flags"] & reference.FLAG_EDGE).any()
    # The kernel stops on a 1e-4 px step; where Newton falls back to Gauss-Newton
    # (linear convergence) it can stop a few steps short: 1e-3 px, far below any CRB.
    np.testing.assert_allclose(got["x"], want["x"], atol=1e-3)
    np.testing.assert_allclose(got["y"], want["y"], atol=1e-3)
    np.testing.assert_allclose(got["flux"], want["flux"], rtol=1e-5, atol=1e-2)
    np.testing.assert_allclose(got["flux_psf"], want["flux_psf"], rtol=1e-5, atol=1e-2)
    np.testing.assert_allclose(got["peak"], want["peak"], rtol=1e-5, atol=1e-2)
    np.testing.assert_allclose(got["a"], want["a"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got["b"], want["b"], rtol=1e-4, atol=1e-4)
    round_ = got["a"] - got["b"] < 1e-3
    np.testing.assert_allclose(got["theta"][~round_], want["theta"][~round_], atol=1e-3)
