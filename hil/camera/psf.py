"""Point-spread function: a circular Gaussian integrated over square pixels.

The fraction of a point source's flux in pixel (r, c) is
    [Phi((c + 1/2 - x)/sigma) - Phi((c - 1/2 - x)/sigma)] * [Phi((r + 1/2 - y)/sigma) - Phi((r - 1/2 - y)/sigma)]
with Phi the standard normal CDF (pixel centres on integers). For the stamps of faint and
moderate sources the kernel interpolates, linearly in the source's sub-pixel offset, tables of
these weights every 1/512 px (error below 1e-6 of the flux per pixel for sigma >= 0.4 px); for
bright sources it differences a table of Phi and its derivative every 1/64 px, interpolated as
a cubic Hermite spline (error below 1e-9).
"""

import math

import numpy as np

from hil.camera import _psf

CDF_STEP_PX = 1.0 / 64.0
MISSED_FLUX_E = 0.01  # a stamp is made wide enough to miss less flux than this
MAX_HALF_WIDTH_PX = 24
PHASE_TABLE_MAX_HALF_WIDTH = 6
PHASE_STEPS = 512


_erf = np.vectorize(math.erf, otypes=[float])
_erfc = np.vectorize(math.erfc, otypes=[float])


class GaussianPsf:
    """Pixel-integrated Gaussian PSF of standard deviation sigma_px."""

    def __init__(self, sigma_px: float):
        if not 0.1 <= sigma_px <= 8.0:
            raise ValueError("PSF sigma must lie in [0.1, 8] px")
        self.sigma_px = float(sigma_px)
        u_max = MAX_HALF_WIDTH_PX + 1.0
        u = np.arange(-u_max, u_max + CDF_STEP_PX / 2, CDF_STEP_PX)
        cdf = 0.5 * (1.0 + _erf(u / (self.sigma_px * math.sqrt(2.0))))
        pdf = np.exp(-0.5 * (u / self.sigma_px) ** 2) / (self.sigma_px * math.sqrt(2.0 * math.pi))
        self.cdf_table = np.ascontiguousarray(np.stack([cdf, pdf * CDF_STEP_PX], axis=1))
        self.u_min = float(u[0])
        # flux beyond distance h on one side of one axis is Q(h/sigma); a stamp of half-width h
        # around the nearest pixel misses at most 4 Q(h / sigma) of it
        h = np.arange(MAX_HALF_WIDTH_PX + 1)
        q = 0.5 * _erfc(h / (self.sigma_px * math.sqrt(2.0)))
        self.half_width_limits = np.full(len(h), np.inf)
        positive = q > 1e-300
        self.half_width_limits[positive] = MISSED_FLUX_E / (4.0 * q[positive])
        self.half_width_limits[-1] = np.inf
        self.phase_tables, self.phase_offsets = self._phase_tables()

    def _phase_tables(self):
        """For h = 0..PHASE_TABLE_MAX_HALF_WIDTH: the weights of pixels -h..h for a source at
        sub-pixel offsets -1/2 .. 1/2 in PHASE_STEPS steps, rows of 2h + 1, flattened."""
        delta = np.linspace(-0.5, 0.5, PHASE_STEPS + 1)
        tables, offsets, start = [], [], 0
        for h in range(PHASE_TABLE_MAX_HALF_WIDTH + 1):
            table = axis_fractions(np.arange(-h, h + 1), delta, self.sigma_px).T
            tables.append(table.ravel())
            offsets.append(start)
            start += table.size
        return np.concatenate(tables), np.array(offsets, dtype=np.int64)

    def add_point_sources(self, image, x_px, y_px, electrons):
        """Add sources (arrays of x, y [px] and expected electrons) to image (float32) in place."""
        if image.dtype != np.float32 or image.ndim != 2:
            raise ValueError("image must be a 2-D float32 array")
        x, y, e = (np.ascontiguousarray(a, dtype=np.float64) for a in (x_px, y_px, electrons))
        if not x.shape == y.shape == e.shape:
            raise ValueError("x, y and electrons must have the same shape")
        _psf.add_point_sources(
            image, x.ravel(), y.ravel(), e.ravel(), self.cdf_table, self.u_min, 1.0 / CDF_STEP_PX,
            self.half_width_limits, self.phase_tables, self.phase_offsets, PHASE_STEPS,
        )

    def pixel_fractions(self, x_px, y_px, rows, cols):
        """Reference: the exact fraction of a source at (x, y) in each pixel of rows x cols (math.erf)."""
        fx = axis_fractions(cols, [x_px], self.sigma_px)[:, 0]
        fy = axis_fractions(rows, [y_px], self.sigma_px)[:, 0]
        return fy[:, None] * fx[None, :]


def axis_fractions(pixels, centres_px, sigma_px: float) -> np.ndarray:
    """(len(pixels), len(centres_px)): along one axis, the fraction of a Gaussian of sigma_px
    centred at each centre that falls on each pixel (pixel centres on integers; math.erf)."""
    pixels = np.asarray(pixels, dtype=np.float64)[:, None]
    centres = np.asarray(centres_px, dtype=np.float64)[None, :]
    s = sigma_px * math.sqrt(2.0)
    return 0.5 * (_erf((pixels + 0.5 - centres) / s) - _erf((pixels - 0.5 - centres) / s))


def add_point_sources_reference(shape, psf: GaussianPsf, x_px, y_px, electrons):
    """Plain-numpy reference: a float64 image with each source's exact pixel fractions over the frame."""
    image = np.zeros(shape)
    rows, cols = np.arange(shape[0]), np.arange(shape[1])
    for x, y, e in zip(np.ravel(x_px), np.ravel(y_px), np.ravel(electrons)):
        image += e * psf.pixel_fractions(x, y, rows, cols)
    return image
