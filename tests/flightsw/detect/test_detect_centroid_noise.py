"""What detect states a centroid and a star fit are worth, against independent references.

* sources.point_source_sigma_px against the Fisher information of the pixel-integrated PSF
  with Poisson and read noise (test_detect_sky.centroid_crb), its SNR given as the matched
  filter's significance at the nearest pixel, computed here from the PSF itself;
* sources.centroid_sigma_px against the scatter of extract_sources' centroids on rendered
  frames of faint sources whose own photons matter (the regime where the former bound,
  sqrt(2) sigma / snr, was short);
* stars.unit_weight_variance against residuals of a known scale.
"""
import math

import numpy as np
from hypothesis import given, settings, strategies as st
from test_detect_sky import centroid_crb, flux_for_snr, pixel_gaussian, render_frame

from flightsw.detect import extract_sources
from flightsw.detect.sources import centroid_sigma_px, point_source_sigma_px
from flightsw.detect.stars import unit_weight_variance


def matched_filter_snr(flux_e, psf_sigma, sky_e, read_noise_e, x_frac, y_frac):
    """Expected significance of a pixel-integrated Gaussian matched filter (radius ceil(2
    sigma), as the extractor's) centred on the nearest pixel of a source at (x_frac, y_frac)."""
    r = max(1, math.ceil(2.0 * psf_sigma))
    taps = pixel_gaussian(0.0, -r, 2 * r + 1, psf_sigma)
    gx = pixel_gaussian(x_frac, -r, 2 * r + 1, psf_sigma)
    gy = pixel_gaussian(y_frac, -r, 2 * r + 1, psf_sigma)
    noise = math.sqrt(sky_e + read_noise_e**2)
    return flux_e * (taps @ gx) * (taps @ gy) / (noise * (taps @ taps))


@settings(max_examples=60, deadline=None)
@given(psf_sigma=st.floats(0.6, 2.0), snr=st.floats(5.0, 200.0), sky_e=st.floats(5.0, 300.0),
       x_frac=st.floats(-0.5, 0.5), y_frac=st.floats(-0.5, 0.5))
def test_point_source_bound_is_the_fisher_bound_of_the_pixel_integrated_psf(psf_sigma, snr, sky_e,
                                                                           x_frac, y_frac):
    read_noise_e = 3.0
    flux_e = flux_for_snr(snr, psf_sigma, sky_e, read_noise_e)
    significance = matched_filter_snr(flux_e, psf_sigma, sky_e, read_noise_e, x_frac, y_frac)
    sigma_x, sigma_y = point_source_sigma_px(np.array([7.0 + x_frac]), np.array([3.0 + y_frac]),
                                             np.array([significance]), psf_sigma,
                                             np.array([flux_e]), 1.0)
    assert math.isclose(sigma_x[0], centroid_crb(flux_e, psf_sigma, sky_e, read_noise_e, x_frac, y_frac),
                        rel_tol=0.01)
    assert math.isclose(sigma_y[0], centroid_crb(flux_e, psf_sigma, sky_e, read_noise_e, y_frac, x_frac),
                        rel_tol=0.01)


def test_centroid_sigma_matches_the_scatter_of_faint_extracted_sources():
    """SNR 8 to 30 on 80 e-/px of sky, gain 2 e-/DN: the source's photons outnumber the sky's in
    the core from SNR ~10.  RMS of error / stated sigma (no floor) within 12 % of 1."""
    rng = np.random.default_rng(4)
    psf, sky_e, read_noise_e, gain = 0.8, 80.0, 3.0, 2.0
    z = []
    for snr in (8.0, 15.0, 30.0):
        for _ in range(4):
            gx, gy = np.meshgrid(np.arange(16, 240, 16.0), np.arange(16, 240, 16.0))
            x = gx.ravel() + rng.uniform(-0.5, 0.5, gx.size)
            y = gy.ravel() + rng.uniform(-0.5, 0.5, gy.size)
            flux = np.full(x.size, flux_for_snr(snr, psf, sky_e, read_noise_e))
            frame = render_frame(rng, (256, 256), x, y, flux, psf, sky_e, read_noise_e, gain)
            sources = extract_sources(frame, 5.0, psf_sigma_px=psf)
            d2 = (sources["x"][:, None] - x) ** 2 + (sources["y"][:, None] - y) ** 2
            nearest = np.argmin(d2, axis=1)
            found = d2[np.arange(len(sources)), nearest] < 1.0
            sigma = centroid_sigma_px(sources[found], psf, floor_px=0.0, gain_e_per_dn=gain)
            ex = sources["x"][found] - x[nearest[found]]
            ey = sources["y"][found] - y[nearest[found]]
            z.append(np.concatenate([ex / sigma, ey / sigma]))
    z = np.concatenate(z)
    assert z.size > 2000
    assert 0.88 <= np.sqrt(np.mean(z**2)) <= 1.12


@settings(max_examples=30, deadline=None)
@given(n=st.integers(10, 200), scale=st.floats(1.0, 3.0), seed=st.integers(0, 2**32 - 1))
def test_unit_weight_variance_recovers_the_residuals_scale(n, scale, seed):
    """Residual angles of a 2-D error of scale * sigma per axis: the factor is ~scale^2 (the
    estimate's spread for 2 n - 3 degrees of freedom is sqrt(2 / dof))."""
    rng = np.random.default_rng(seed)
    sigma = rng.uniform(1e-6, 1e-5, n)
    residual = np.hypot(*(scale * sigma * rng.standard_normal((2, n))))
    factor = unit_weight_variance(residual, sigma)
    dof = 2 * n - 3
    assert factor >= 1.0
    assert factor <= scale**2 * (1.0 + 6.0 * math.sqrt(2.0 / dof)) * (2 * n) / dof
    if scale**2 * (1.0 - 6.0 * math.sqrt(2.0 / dof)) > 1.0:
        assert factor >= scale**2 * (1.0 - 6.0 * math.sqrt(2.0 / dof))
