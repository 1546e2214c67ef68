"""What an extracted source's numbers are worth: centroid noise and point-source likeness.

Works on the SOURCE_DTYPE arrays of ``extract_sources``.
"""
from functools import lru_cache
from math import erf, pi, sqrt

import numpy as np

from flightsw.detect.extract import FLAG_CENTROID_ISOPHOTAL, FLAG_SATURATED


OFFSET_GRID = np.linspace(-0.5, 0.5, 201)


@lru_cache(maxsize=16)
def _psf_tables(psf_sigma_px: float):
    """The 1-D pixel-integrated Gaussian PSF g (unit area) and its derivative dg/dd over the
    pixels -r..r of a source at each sub-pixel offset d of OFFSET_GRID ((201, 2r+1) each),
    and the cosine between the matched filter's taps and g at each offset (201,)."""
    from flightsw.detect.extract import psf_kernel_1d

    taps = psf_kernel_1d(psf_sigma_px).astype(float)
    r_k = len(taps) // 2
    r = max(r_k, int(np.ceil(5.0 * psf_sigma_px)) + 1)
    centres = np.arange(-r, r + 1)[None, :] - OFFSET_GRID[:, None]
    k = np.zeros(2 * r + 1)
    k[r - r_k:r + r_k + 1] = taps
    inv = 1.0 / (psf_sigma_px * sqrt(2.0))
    hi, lo = (centres + 0.5) * inv, (centres - 0.5) * inv
    g = np.vectorize(lambda v: 0.5 * erf(v))(hi) - np.vectorize(lambda v: 0.5 * erf(v))(lo)
    dg = (np.exp(-lo**2) - np.exp(-hi**2)) / (psf_sigma_px * sqrt(2.0 * pi))
    cosine = (g @ k) / (np.linalg.norm(g, axis=1) * np.linalg.norm(k))
    for a in (g, dg, cosine):
        a.setflags(write=False)
    return g, dg, cosine


def point_source_sigma_px(x, y, snr, psf_sigma_px: float, flux_dn=None, gain_e_per_dn=None):
    """Cramer-Rao bound (px per axis: sigma_x, sigma_y) of the position of a pixel-integrated
    Gaussian PSF on a flat background, from the source's matched-filter detection significance
    snr and, for its own shot noise, its flux (DN) and the detector gain (e-/DN).

    Fisher information of x for a source of flux F with unit-sum template g on pixels of
    variance s^2 + F g_i / G (background and read noise s, in DN; the source's own photons):
    I_x = sum_i F^2 (dg_i/dx)^2 / (s^2 + F g_i / G)  (e.g. Mendez et al. 2013, PASP 125, 580,
    section 3; background-limited it is 2 sigma^2 / SNR^2 for a continuous Gaussian, their
    eq. 23).  F / s follows from snr, the significance of the extractor's matched filter at
    the nearest pixel centre: snr = (F / s) |g| cos, cos the cosine between its taps and the
    template at the source's sub-pixel offset.  Without flux or gain the source's shot noise
    is left out (background-limited).

    Measured against the plant's frames (tests/e2e/test_detect_plant.py): the former bound,
    sqrt(2) sigma_psf / snr, was ~1.25x short of the scatter of a target of SNR 6-25 on
    ~80 e-/px of background: the target's own photons outnumber the background in the pixels
    that carry its position from SNR ~10 on.
    """
    g1, dg1, cosine = _psf_tables(float(psf_sigma_px))
    x, y = np.atleast_1d(np.asarray(x, float)), np.atleast_1d(np.asarray(y, float))
    last = len(OFFSET_GRID) - 1
    ix = np.clip(np.rint((x - np.rint(x) + 0.5) * last).astype(np.int64), 0, last)
    iy = np.clip(np.rint((y - np.rint(y) + 0.5) * last).astype(np.int64), 0, last)
    gx, gy, dgx, dgy = g1[ix], g1[iy], dg1[ix], dg1[iy]
    norm_g = np.linalg.norm(gx, axis=1) * np.linalg.norm(gy, axis=1)
    f_over_s = np.maximum(np.atleast_1d(np.asarray(snr, float)), 1.0) / (norm_g * cosine[ix] * cosine[iy])
    if flux_dn is None or gain_e_per_dn is None:
        info_x = np.sum(gy**2, axis=1) * np.sum(dgx**2, axis=1)
        info_y = np.sum(dgy**2, axis=1) * np.sum(gx**2, axis=1)
    else:
        # s^2 = F^2 / (F/s)^2, so F g / (G s^2) = (F/s)^2 g / (G F); pixels (source, row, column)
        flux = np.maximum(np.atleast_1d(np.asarray(flux_dn, float)), 1e-9)
        beta = f_over_s**2 / (float(gain_e_per_dn) * flux)
        weight = 1.0 / (1.0 + beta[:, None, None] * (gy[:, :, None] * gx[:, None, :]))
        info_x = np.sum(gy**2 * (weight @ (dgx**2)[:, :, None])[:, :, 0], axis=1)
        info_y = np.sum(dgy**2 * (weight @ (gx**2)[:, :, None])[:, :, 0], axis=1)
    info_x, info_y = f_over_s**2 * info_x, f_over_s**2 * info_y
    return 1.0 / np.sqrt(info_x), 1.0 / np.sqrt(info_y)


def centroid_sigma_px(sources: np.ndarray, psf_sigma_px: float, floor_px: float = 0.035,
                      isophotal_px: float = 0.5, gain_e_per_dn=None) -> np.ndarray:
    """1-sigma centroid noise per axis (px) of each source.

    A PSF-fitted point source: the larger axis of point_source_sigma_px (with its own shot
    noise when the gain is given; flux from the PSF fit), added in quadrature to floor_px (PSF
    mismatch, residual distortion).  Isophotal centroids (saturated, streaked or extended
    sources) are given isophotal_px instead of the bound, or their major-axis RMS over
    sqrt(SNR) if larger.
    """
    snr = np.maximum(sources["snr"].astype(float), 1.0)
    flux = np.where(np.isfinite(sources["flux_psf"]), sources["flux_psf"], sources["flux"])
    sx, sy = point_source_sigma_px(sources["x"], sources["y"], snr, psf_sigma_px, flux, gain_e_per_dn)
    statistical = np.maximum(sx, sy)
    isophotal = (sources["flags"] & (FLAG_CENTROID_ISOPHOTAL | FLAG_SATURATED)) != 0
    extended = np.maximum(isophotal_px, sources["a"].astype(float) / np.sqrt(snr))
    return np.hypot(np.where(isophotal, extended, statistical), floor_px)


def peak_fraction(sources: np.ndarray) -> np.ndarray:
    """Fraction of a source's footprint flux in its brightest pixel.

    A pixel-integrated Gaussian PSF of sigma 0.8 px puts at most 0.22 of its flux in one pixel
    (0.15 for 1.0 px); a hot pixel or a cosmic-ray hit puts nearly all of it there.
    """
    return sources["peak"].astype(float) / np.maximum(sources["flux"].astype(float), 1e-9)


def point_spread_peak_fraction(psf_sigma_px: float) -> float:
    """Largest peak_fraction of a noiseless pixel-integrated Gaussian PSF (centred on a pixel)."""
    one_d = erf(0.5 / (psf_sigma_px * sqrt(2.0)))
    return one_d * one_d
