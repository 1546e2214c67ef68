"""The light centroid of a bright compact source: its windowed first moment.

The extractor's position of a compact source is a Gaussian PSF fit: the best estimate for a
point source, but for a body a little larger than the PSF and partly lit (a crescent of
0.5-2 px) it is neither the centre of the body nor the centre of its light; it sits between
them, by up to a few tenths of a pixel, depending on the phase.  The centre of light is the one
nav can correct to the body's centre (flightsw.nav.photocentre: the Lambert photocentre), so a
bright source is measured by its first moment instead:

    x_c = sum_i x_i (d_i - b) / sum_i (d_i - b)

over the pixels of a disc of radius r around the source, b the median of the ring just outside
it.  The moment is unbiased for any source shape on a flat background and, for a source of
thousands of sigma, its noise (sum (x_i - x_c)^2 s^2 / F^2, s the background noise, F the flux)
is a few thousandths of a pixel: far below the floor the centroid noise already carries.  A
saturated core clips the moment's weights symmetrically about a symmetric PSF; its sigma stays
the extractor's isophotal one.
"""
import numpy as np


def light_centroid(image: np.ndarray, x: float, y: float, radius_px: float):
    """(x_c, y_c, flux) of the light within radius_px of (x, y) (0-based, x the column), the
    background from the median of the ring radius_px..radius_px + 2; None when the window
    leaves the frame or holds no positive flux."""
    r = float(radius_px)
    if not (np.isfinite(x) and np.isfinite(y) and r >= 1.0):
        return None
    outer = int(np.ceil(r + 2.0))
    cx, cy = int(round(x)), int(round(y))
    r0, r1, c0, c1 = cy - outer, cy + outer + 1, cx - outer, cx + outer + 1
    if r0 < 0 or c0 < 0 or r1 > image.shape[0] or c1 > image.shape[1]:
        return None
    box = image[r0:r1, c0:c1].astype(np.float64)
    yy, xx = np.mgrid[r0:r1, c0:c1]
    d2 = (xx - x) ** 2 + (yy - y) ** 2
    inside = d2 <= r * r
    ring = (d2 > r * r) & (d2 <= (r + 2.0) ** 2)
    background = float(np.median(box[ring]))
    w = box[inside] - background
    flux = float(w.sum())
    if not flux > 0.0:
        return None
    return float((xx[inside] * w).sum() / flux), float((yy[inside] * w).sum() / flux), flux
