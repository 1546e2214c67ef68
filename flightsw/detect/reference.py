"""Plain numpy/scipy reference implementations of the detection kernels, for the tests only.

Each function computes what one compiled kernel in ``_background.pyx`` or
``_extract.pyx`` computes, written for clarity on whole arrays (float64,
full-resolution maps, scipy.ndimage, scipy.optimize) rather than speed.
Flight code never imports this module (it needs scipy).
"""
import numpy as np
from scipy import ndimage, optimize
from scipy.special import erf

CLIP_SIGMA = 3.0
CLIPPED_SIGMA_RATIO = 0.98482
CROWDED_SIGMA_DROP = 0.2
MAX_BINS = 256
HALF_RANGE_SIGMA = 8.0
BINS_PER_SIGMA = 4.0
MAX_CLIP_ITERATIONS = 32
COMPACT_A_PSF = 2.0
FLAG_SATURATED, FLAG_EDGE, FLAG_CENTROID_ISOPHOTAL = 1, 2, 4


def box_statistics(box: np.ndarray, step: int, saturation: float, integer_valued: bool):
    """(background, rms) of one mesh box by the clipped-histogram mode, or None if invalid."""
    coarse = box[::4 * step, ::4 * step].astype(np.float64).ravel()
    coarse = coarse[coarse < saturation]
    if coarse.size < 5:
        return None
    m0 = np.median(coarse)
    s0 = 1.4826 * np.median(np.abs(coarse - m0))
    if integer_valued:
        width = max(np.floor(s0 / BINS_PER_SIGMA), 1.0)
        lo = np.floor(m0) + 0.5
        sheppard = (1.0 - 1.0 / width**2) / 12.0
    else:
        width = s0 / BINS_PER_SIGMA
        if width <= 0.0:
            width = 1e-6 * abs(m0) if m0 != 0.0 else 1e-12
        lo = m0
        sheppard = 1.0 / 12.0
    nbins = int(min(max(2 * np.ceil(HALF_RANGE_SIGMA * s0 / width), 2), MAX_BINS))
    lo -= (nbins // 2) * width

    fine = box[::step, ::step].astype(np.float64).ravel()
    valid = fine[fine < saturation]
    if 2 * valid.size < fine.size:
        return None
    scaled = (valid - lo) * (1.0 / width)
    scaled = scaled[(scaled >= 0.0) & (scaled < nbins)]
    hist = np.bincount(scaled.astype(np.int64), minlength=nbins).astype(np.float64)

    centres = np.arange(nbins) + 0.5
    lcut, hcut = 0, nbins
    sig_first = None
    for _ in range(MAX_CLIP_ITERATIONS):
        h = hist[lcut:hcut]
        c = centres[lcut:hcut]
        count = h.sum()
        if count < 3:
            return None
        mean = (h * c).sum() / count
        var = (h * c * c).sum() / count - mean**2 - sheppard
        sig = np.sqrt(var) if var > 0 else 0.0
        cum = np.concatenate([[0.0], np.cumsum(h)])
        b = int(np.argmax(cum[1:] >= 0.5 * count))
        med = lcut + b + (0.5 * count - cum[b]) / h[b]
        if sig_first is None:
            sig_first = sig
        new_lcut = max(int(np.ceil(med - CLIP_SIGMA * sig - 0.5)), 0)
        new_hcut = min(int(np.floor(med + CLIP_SIGMA * sig - 0.5)) + 1, nbins)
        new_hcut = max(new_hcut, new_lcut + 1)
        if (new_lcut, new_hcut) == (lcut, hcut):
            break
        lcut, hcut = new_lcut, new_hcut
    crowded = sig_first > 0 and (sig_first - sig) / sig_first >= CROWDED_SIGMA_DROP
    mode = 2.5 * med - 1.5 * mean if crowded else mean
    return lo + width * mode, width * sig / CLIPPED_SIGMA_RATIO


def mesh_statistics(frame, edges_y, edges_x, step, saturation, integer_valued):
    """Reference of _background.mesh_statistics: per-box (background, rms, valid)."""
    shape = (len(edges_y) - 1, len(edges_x) - 1)
    bkg, rms, valid = np.zeros(shape), np.zeros(shape), np.zeros(shape, dtype=np.uint8)
    for j in range(shape[0]):
        for i in range(shape[1]):
            box = frame[edges_y[j]:edges_y[j + 1], edges_x[i]:edges_x[i + 1]]
            stats = box_statistics(box, step, saturation, integer_valued)
            if stats is not None:
                bkg[j, i], rms[j, i] = stats
                valid[j, i] = 1
    return bkg, rms, valid


def fill_invalid(mesh, valid):
    """Reference of _background.fill_invalid: grow valid values inwards by 8-neighbour means."""
    mesh = mesh.astype(np.float64).copy()
    known = valid.astype(bool)
    if not known.any():
        return None
    ones = np.ones((3, 3))
    while not known.all():
        total = ndimage.correlate(np.where(known, mesh, 0.0), ones, mode="constant")
        count = ndimage.correlate(known.astype(np.float64), ones, mode="constant")
        grow = ~known & (count > 0)
        mesh[grow] = total[grow] / count[grow]
        known = known | grow
    return mesh


def median_filter_mesh(mesh):
    """Reference of _background.median_filter_mesh: 3x3 median after odd-reflection padding."""
    padded = np.pad(mesh.astype(np.float64), 1, mode="reflect", reflect_type="odd")
    if mesh.shape[0] == 1:
        padded[[0, 2], :] = padded[1, :]
    if mesh.shape[1] == 1:
        padded[:, [0, 2]] = padded[:, [1]]
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3))
    return np.median(windows.reshape(mesh.shape + (9,)), axis=-1)


def interpolate_linear(x, centres, values, extrapolate=True):
    """Piecewise-linear through (centres, values); ends extrapolated or (np.interp) held."""
    if not extrapolate:
        return np.interp(x, centres, values)
    if len(centres) == 1:
        return np.full(np.shape(x), values[0], dtype=np.float64)
    i = np.clip(np.searchsorted(centres, x, side="right") - 1, 0, len(centres) - 2)
    t = (x - centres[i]) / (centres[i + 1] - centres[i])
    return (1 - t) * values[i] + t * values[i + 1]


def interpolate_mesh_columns(mesh, centres_x, width, extrapolate=True):
    """Reference of _background.interpolate_mesh_columns."""
    x = np.arange(width)
    return np.array([interpolate_linear(x, centres_x, row, extrapolate) for row in mesh])


def full_map(mesh, centres_y, centres_x, shape, extrapolate=True):
    """Bilinear full-resolution map of a mesh; beyond the outer centres extrapolated or held."""
    cols = interpolate_mesh_columns(mesh, centres_x, shape[1], extrapolate)
    y = np.arange(shape[0])
    return np.array([interpolate_linear(y, centres_y, cols[:, x], extrapolate)
                     for x in range(shape[1])]).T


def significance_map(frame, kernel, bkg_map, rms_map):
    """Matched-filter detection significance at every pixel (reference of threshold_runs).

    (sum_i k_i I_{p+i} - B_p sum_i k_i) / (sigma_p sqrt(sum_i k_i^2)) with the
    separable kernel k = kernel (x) kernel and sums over taps inside the frame.
    """
    k = np.asarray(kernel, dtype=np.float64)
    frame = frame.astype(np.float64)

    def correlate(image, taps):
        step = ndimage.correlate1d(image, taps, axis=1, mode="constant")
        return ndimage.correlate1d(step, taps, axis=0, mode="constant")

    ones = np.ones_like(frame)
    coverage = correlate(ones, k)
    norm = np.sqrt(correlate(ones, k * k))
    return (correlate(frame, k) - bkg_map * coverage) / (rms_map * norm)


def label_mask(mask):
    """8-connected labels of a boolean mask (scipy), 0 = background."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=int))
    return labels, count


def runs_to_mask(runs, shape):
    """Paint (row, first column, last column) runs into a boolean mask."""
    mask = np.zeros(shape, dtype=bool)
    for y, x0, x1 in runs:
        mask[y, x0:x1 + 1] = True
    return mask


def pixel_gaussian(centre, first, count, sigma):
    """Unit Gaussian of the given sigma integrated over pixels first..first+count-1 (1-D)."""
    edges = (np.arange(first, first + count + 1) - 0.5 - centre) / (sigma * np.sqrt(2.0))
    return 0.5 * np.diff(erf(edges))


def fit_point_source(residual_frame, x_start, y_start, sigma):
    """Least-squares pixel-integrated Gaussian fit (x, y, flux) in the kernel's window (scipy)."""
    height, width = residual_frame.shape
    r = int(np.ceil(3.0 * sigma)) + 1
    cx, cy = int(np.floor(x_start + 0.5)), int(np.floor(y_start + 0.5))
    x0, x1 = max(cx - r, 0), min(cx + r + 1, width)
    y0, y1 = max(cy - r, 0), min(cy + r + 1, height)
    window = residual_frame[y0:y1, x0:x1]

    def residuals(p):
        model = p[2] * np.outer(pixel_gaussian(p[1], y0, y1 - y0, sigma),
                                pixel_gaussian(p[0], x0, x1 - x0, sigma))
        return (window - model).ravel()

    # Same start as the kernel: the linear least-squares flux at the starting position.
    px0 = pixel_gaussian(x_start, x0, x1 - x0, sigma)
    py0 = pixel_gaussian(y_start, y0, y1 - y0, sigma)
    flux0 = py0 @ window @ px0 / ((px0 @ px0) * (py0 @ py0))
    fit = optimize.least_squares(residuals, [x_start, y_start, flux0], xtol=1e-12, ftol=1e-12)
    return fit.x


def measure(frame, labels, count, bkg_map, psf_sigma, saturation, min_npix):
    """Reference of _extract.measure_sources from a label image and a full background map."""
    residual = frame.astype(np.float64) - bkg_map
    height, width = frame.shape
    rows = []
    for lab in range(1, count + 1):
        ys, xs = np.nonzero(labels == lab)
        if ys.size < min_npix:
            continue
        v = residual[ys, xs]
        w = np.maximum(v, 0.0)
        flags = 0
        if (frame[ys, xs] >= saturation).any():
            flags |= FLAG_SATURATED
        if ys.min() == 0 or xs.min() == 0 or ys.max() == height - 1 or xs.max() == width - 1:
            flags |= FLAG_EDGE
        if w.sum() > 0:
            xi, yi = (w * xs).sum() / w.sum(), (w * ys).sum() / w.sum()
            mxx = (w * (xs - xi) ** 2).sum() / w.sum()
            myy = (w * (ys - yi) ** 2).sum() / w.sum()
            mxy = (w * (xs - xi) * (ys - yi)).sum() / w.sum()
        else:
            xi, yi = xs[0], ys[0]
            mxx = myy = mxy = 0.0
        half, root = 0.5 * (mxx + myy), np.hypot(0.5 * (mxx - myy), mxy)
        a, b = np.sqrt(max(half + root, 0.0)), np.sqrt(max(half - root, 0.0))
        x, y, flux_psf = xi, yi, np.nan
        flags |= FLAG_CENTROID_ISOPHOTAL
        if not flags & FLAG_SATURATED and a <= COMPACT_A_PSF * psf_sigma:
            fx, fy, ff = fit_point_source(residual, xi, yi, psf_sigma)
            if ff > 0 and abs(fx - xi) <= 1.5 and abs(fy - yi) <= 1.5:
                x, y, flux_psf = fx, fy, ff
                flags &= ~FLAG_CENTROID_ISOPHOTAL
        rows.append((x, y, v.sum(), flux_psf, ys.size, v.max(), a, b,
                     0.5 * np.arctan2(2 * mxy, mxx - myy), flags))
    names = ("x", "y", "flux", "flux_psf", "npix", "peak", "a", "b", "theta", "flags")
    return {n: np.array([row[i] for row in rows]) for i, n in enumerate(names)}
