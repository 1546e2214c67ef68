"""Synthetic star frames with known truth for the detection tests, and the renderer's own checks.

The other detection test modules import render_frame, ccd_snr, flux_for_snr
and centroid_crb from here.  Independent of hil on purpose: the flight code
is judged against this small, exact model (Gaussian PSF integrated over
pixels with erf, sky with a linear gradient, Poisson shot noise, Gaussian
read noise, gain, bias, 16-bit quantisation).
"""
import numpy as np
from scipy.special import erf

BIAS_DN = 100.0


def pixel_gaussian(centre, first, count, sigma):
    """Unit Gaussian of the given sigma integrated over pixels first..first+count-1 (1-D)."""
    edges = (np.arange(first, first + count + 1) - 0.5 - centre) / (sigma * np.sqrt(2.0))
    return 0.5 * np.diff(erf(edges))


def mean_frame_e(shape, x, y, flux_e, psf_sigma, sky_e, gradient_e_per_px=(0.0, 0.0)):
    """Expected electrons per pixel: sky plane plus pixel-integrated Gaussian stars.

    x, y: source centres (px, 0-based, pixel centres on integers, x = column).
    gradient_e_per_px: sky slope along (x, y), e-/px, zero at the frame centre.
    """
    height, width = shape
    yy, xx = np.mgrid[0:height, 0:width]
    mean = (sky_e + gradient_e_per_px[0] * (xx - (width - 1) / 2)
            + gradient_e_per_px[1] * (yy - (height - 1) / 2))
    radius = int(np.ceil(6 * psf_sigma)) + 1
    for xs, ys, fs in zip(np.atleast_1d(x), np.atleast_1d(y), np.atleast_1d(flux_e)):
        cx, cy = int(np.floor(xs + 0.5)), int(np.floor(ys + 0.5))
        x0, x1 = max(cx - radius, 0), min(cx + radius + 1, width)
        y0, y1 = max(cy - radius, 0), min(cy + radius + 1, height)
        if x1 <= x0 or y1 <= y0:
            continue
        mean[y0:y1, x0:x1] += fs * np.outer(pixel_gaussian(ys, y0, y1 - y0, psf_sigma),
                                            pixel_gaussian(xs, x0, x1 - x0, psf_sigma))
    return mean


def render_frame(rng, shape, x, y, flux_e, psf_sigma=1.0, sky_e=20.0, read_noise_e=5.0,
                 gain_e_per_dn=1.0, gradient_e_per_px=(0.0, 0.0), dtype=np.uint16):
    """One noisy frame in DN: Poisson(mean) + N(0, read noise), / gain, + bias, quantised.

    uint16 frames are rounded and clipped to [0, 65535]; float32 frames are not.
    """
    mean = mean_frame_e(shape, x, y, flux_e, psf_sigma, sky_e, gradient_e_per_px)
    electrons = rng.poisson(mean) + rng.normal(0.0, read_noise_e, shape)
    dn = electrons / gain_e_per_dn + BIAS_DN
    if dtype == np.uint16:
        return np.clip(np.round(dn), 0, 65535).astype(np.uint16)
    return dn.astype(np.float32)


def noise_equivalent_area(psf_sigma):
    """n_eff = 1 / sum_i P_i^2 (px) for the pixel-integrated Gaussian centred on a pixel.

    King 1983, PASP 95, 163: the number of pixels whose background noise
    enters an optimal (PSF-weighted) flux measurement; 4 pi sigma^2 when well sampled.
    """
    p = pixel_gaussian(0.0, -20, 41, psf_sigma)
    return 1.0 / np.sum(p**2) ** 2


def ccd_snr(flux_e, psf_sigma, sky_e, read_noise_e):
    """Standard CCD SNR of a whole point source: S / sqrt(S + n_eff (B + RN^2)), electrons.

    Howell, Handbook of CCD Astronomy, eq. 4.4, with n_eff the noise-equivalent
    area of the PSF (noise_equivalent_area) as the pixel count.
    """
    return flux_e / np.sqrt(flux_e + noise_equivalent_area(psf_sigma) * (sky_e + read_noise_e**2))


def flux_for_snr(snr, psf_sigma, sky_e, read_noise_e):
    """Flux (e-) whose ccd_snr is snr: the positive root of S^2 = snr^2 (S + n_eff (B + RN^2))."""
    noise = noise_equivalent_area(psf_sigma) * (sky_e + read_noise_e**2)
    return 0.5 * (snr**2 + np.sqrt(snr**4 + 4 * snr**2 * noise))


def centroid_crb(flux_e, psf_sigma, sky_e, read_noise_e, x_frac=0.0, y_frac=0.0):
    """Cramer-Rao bound (px) on the x centroid of a pixel-integrated Gaussian source.

    Fisher information F = sum_i (d mu_i / d x0)^2 / var_i with
    mu_i = S P_i(x0) + B and var_i = mu_i + RN^2 (Poisson + read noise,
    Gaussian approximation), flux and sky known; bound = 1 / sqrt(F).
    (x_frac, y_frac) is the sub-pixel phase of the source centre.
    """
    first, count = -30, 61
    px = pixel_gaussian(x_frac, first, count, psf_sigma)
    py = pixel_gaussian(y_frac, first, count, psf_sigma)
    lo = (np.arange(first, first + count) - 0.5 - x_frac) / psf_sigma
    hi = lo + 1.0 / psf_sigma
    dpx = (np.exp(-0.5 * lo**2) - np.exp(-0.5 * hi**2)) / (np.sqrt(2 * np.pi) * psf_sigma)
    mu = flux_e * np.outer(py, px) + sky_e
    dmu = flux_e * np.outer(py, dpx)
    return 1.0 / np.sqrt(np.sum(dmu**2 / (mu + read_noise_e**2)))


def test_pixel_integrated_psf_conserves_flux_and_centre():
    rng = np.random.default_rng(1)
    for centre in rng.uniform(-0.5, 0.5, 5):
        p = pixel_gaussian(centre, -15, 31, 1.3)
        assert abs(p.sum() - 1.0) < 1e-12
        assert abs((p * np.arange(-15, 16)).sum() - centre) < 1e-12


def test_noise_equivalent_area_tends_to_four_pi_sigma_squared_when_well_sampled():
    assert abs(noise_equivalent_area(4.0) / (4 * np.pi * 16.0) - 1.0) < 0.01


def test_flux_for_snr_inverts_ccd_snr():
    for snr in (3.0, 7.0, 20.0, 200.0):
        assert abs(ccd_snr(flux_for_snr(snr, 1.0, 20.0, 5.0), 1.0, 20.0, 5.0) - snr) < 1e-9 * snr


def test_centroid_crb_matches_the_background_limited_closed_form():
    """Well sampled and background dominated: sigma_x = sqrt(8 pi) sigma^2 sqrt(B) / S.

    (The Fisher information of a Gaussian of width sigma on a flat noise
    floor, e.g. Mendez et al. 2013, PASP 125, 580, eq. 23 in the faint limit.)
    """
    sigma, sky, flux = 3.0, 1e4, 1e3
    closed_form = np.sqrt(8 * np.pi) * sigma**2 * np.sqrt(sky) / flux
    assert abs(centroid_crb(flux, sigma, sky, 0.0) / closed_form - 1.0) < 0.01


def test_rendered_frame_has_the_requested_sky_noise_and_star_flux():
    rng = np.random.default_rng(2)
    sky, rn = 400.0, 6.0
    frame = render_frame(rng, (256, 256), [128.3], [127.6], [5e4], sky_e=sky, read_noise_e=rn)
    corner = frame[:64, :64].astype(float)
    assert abs(corner.mean() - (sky + BIAS_DN)) < 1.0
    assert abs(corner.std() / np.sqrt(sky + rn**2 + 1 / 12) - 1.0) < 0.03
    star = frame[118:138, 118:138].astype(float) - sky - BIAS_DN
    assert abs(star.sum() / 5e4 - 1.0) < 0.02
