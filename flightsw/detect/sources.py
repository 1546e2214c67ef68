"""What an extracted source's numbers are worth: centroid noise and point-source likeness.

Works on the SOURCE_DTYPE arrays of ``extract_sources``.
"""
from math import erf, sqrt

import numpy as np

from flightsw.detect.extract import FLAG_CENTROID_ISOPHOTAL, FLAG_SATURATED


def centroid_sigma_px(sources: np.ndarray, psf_sigma_px: float, floor_px: float = 0.05,
                      isophotal_px: float = 0.5) -> np.ndarray:
    """1-sigma centroid noise per axis (px) of each source.

    A PSF-fitted point source: sqrt(2) sigma_psf / SNR, the Cramer-Rao bound of a Gaussian PSF
    on a flat background (e.g. Mendez et al. 2013, PASP 125, 580, eq. 23 in the
    background-limited case, with SNR = S / sqrt(4 pi sigma^2 B)), added in quadrature to
    floor_px (PSF mismatch, residual distortion).  Isophotal centroids (saturated, streaked or
    extended sources) are given isophotal_px instead of the bound, or their major-axis RMS
    over sqrt(SNR) if larger.
    """
    snr = np.maximum(sources["snr"].astype(float), 1.0)
    statistical = np.sqrt(2.0) * psf_sigma_px / snr
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
