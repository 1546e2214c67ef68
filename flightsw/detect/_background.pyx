# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled kernels of the sky-background mesh (SExtractor approach).

Bertin & Arnouts 1996, A&AS 117, 393, section 3.1: the frame is cut into boxes,
each box's pixel histogram is clipped iteratively at +-3 sigma around its
median, the clipped mean (uncrowded box) or the mode estimate
2.5 * median - 1.5 * mean (crowded box) is the box background, the clipped
sigma its noise; the mesh is median-filtered and interpolated back.

The numpy references for these kernels are in ``reference.py``.
"""
from libc.math cimport sqrt, floor, ceil, fabs
from libc.stdlib cimport malloc, free
from libc.stdint cimport uint16_t, uint8_t, int64_t, uint64_t

import numpy as np

ctypedef fused pixel_t:
    uint16_t
    float

cdef double CLIP_SIGMA = 3.0
# Ratio of the converged 3-sigma-clipped standard deviation to the true one
# for normal noise: the fixed point t = sqrt(v(3 t)), v the variance of a
# unit normal truncated at +-3t.  Dividing by it unbiases the box RMS.
cdef double CLIPPED_SIGMA_RATIO = 0.98482
cdef double CROWDED_SIGMA_DROP = 0.2
cdef enum:
    MAX_BINS = 256
    HIST_WAYS = 4
    MAX_CLIP_ITERATIONS = 32
cdef double HALF_RANGE_SIGMA = 8.0
cdef double BINS_PER_SIGMA = 4.0


cdef double _select(double* a, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    """k-th smallest of a[0:n] (quickselect, median-of-three pivot); permutes a.

    The partition is Lomuto's without branches (every element is swapped, the
    boundary advances by the comparison's value): on noise the comparisons are
    coin flips, and a mispredicted branch per element would cost more than the
    swap.  Elements equal to the pivot are gathered next to it, so runs of equal
    values (integer frames) cannot make the recursion quadratic.
    """
    cdef Py_ssize_t lo = 0, hi = n - 1, i, j, mid
    cdef double pivot, x, y
    while hi > lo:
        mid = lo + (hi - lo) // 2
        x = a[lo]
        y = a[mid]
        pivot = a[hi]
        # median of three: max(min(x, y), min(max(x, y), pivot))
        pivot = max(min(x, y), min(max(x, y), pivot))
        # [lo, j): < pivot
        j = lo
        for i in range(lo, hi + 1):
            x = a[i]
            a[i] = a[j]
            a[j] = x
            j += x < pivot
        if k < j:
            hi = j - 1
            continue
        # [j, m): == pivot
        mid = j
        for i in range(j, hi + 1):
            x = a[i]
            a[i] = a[mid]
            a[mid] = x
            mid += x == pivot
        if k < mid:
            return pivot
        lo = mid
    return a[k]


cdef double _median(double* a, Py_ssize_t n) noexcept nogil:
    """Median of a[0:n] as numpy defines it (mean of the two middle values for even n)."""
    cdef double upper = _select(a, n, n // 2)
    cdef double lower
    cdef Py_ssize_t i
    if n % 2:
        return upper
    # After selection every element left of n//2 is <= upper: the lower middle is their maximum.
    lower = a[0]
    for i in range(1, n // 2):
        if a[i] > lower:
            lower = a[i]
    return 0.5 * (lower + upper)


cdef inline Py_ssize_t _u16_bin(uint16_t pix, int64_t base, int64_t span, uint64_t magic,
                                int64_t sat_dn, Py_ssize_t nbins) noexcept nogil:
    """Histogram bin (pix - base) // w of an integer pixel, or the spare bin nbins if it is
    saturated or outside [base, base + span); magic = ceil(2^40 / w), see _box_statistics."""
    cdef int64_t d = <int64_t>pix - base
    cdef Py_ssize_t b = <Py_ssize_t>((<uint64_t>d * magic) >> 40)
    # Bitwise & and an unsigned range test (a negative d wraps above span): no branches.
    cdef bint inside = (pix < sat_dn) & (<uint64_t>d < <uint64_t>span)
    return b if inside else nbins


cdef int _box_statistics(const pixel_t[:, ::1] frame, Py_ssize_t y0, Py_ssize_t y1,
                         Py_ssize_t x0, Py_ssize_t x1, Py_ssize_t step, Py_ssize_t coarse_step,
                         double saturation, bint integer_valued,
                         double* scratch, long* hist, double* out) noexcept nogil:
    """Clipped-histogram background and RMS of one box; 0 if the box has too few valid pixels.

    A coarse subsample fixes the histogram's centre (median) and bin width
    (normalised median absolute deviation); the pixels on a `step` lattice fill
    the histogram, which is then clipped at +-3 sigma around its median until
    the cuts stop moving.  Integer frames use whole-DN bins so grouping never
    aliases the quantisation.  out = (background, rms).
    """
    cdef Py_ssize_t y, x, n = 0, i, nbins, b, lcut, hcut, new_lcut, new_hcut, it
    cdef Py_ssize_t n_samples = 0, n_valid = 0
    cdef Py_ssize_t stride
    cdef int64_t base, span, sat_dn
    cdef uint64_t magic
    cdef double v, pix, m0, s0, width, lo, inv_width, sheppard
    cdef const pixel_t* row
    cdef bint valid
    cdef double cnt, s1, s2, c, mean, var, sig, med, half, cum, sig_first = 0.0

    y = y0
    while y < y1:
        x = x0
        while x < x1:
            v = frame[y, x]
            if v < saturation:
                scratch[n] = v
                n += 1
            x += coarse_step
        y += coarse_step
    if n < 5:
        return 0
    m0 = _median(scratch, n)
    for i in range(n):
        scratch[i] = fabs(scratch[i] - m0)
    s0 = 1.4826 * _median(scratch, n)

    if integer_valued:
        width = floor(s0 / BINS_PER_SIGMA)
        if width < 1.0:
            width = 1.0
        lo = floor(m0) + 0.5
        sheppard = (1.0 - 1.0 / (width * width)) / 12.0
    else:
        width = s0 / BINS_PER_SIGMA
        if width <= 0.0:
            width = 1e-6 * fabs(m0) if m0 != 0.0 else 1e-12
        lo = m0
        sheppard = 1.0 / 12.0
    nbins = 2 * <Py_ssize_t>ceil(HALF_RANGE_SIGMA * s0 / width)
    if nbins < 2:
        nbins = 2
    if nbins > MAX_BINS:
        nbins = MAX_BINS
    lo = lo - (nbins // 2) * width
    inv_width = 1.0 / width

    # Four interleaved sub-histograms: consecutive samples usually fall in the
    # same few bins, and separate counters avoid serialising on one of them.
    # Saturated and out-of-range samples land in a spare last bin of each, so
    # the loop has no data-dependent branch.
    stride = nbins + 1
    for b in range(HIST_WAYS * stride):
        hist[b] = 0
    if pixel_t is uint16_t:
        # Whole-DN bins of integer width w from base: bin = (pix - base) // w,
        # the same bins as the float formula below (pix - lo = pix - base + 1/2,
        # never on a bin edge), by an exact multiply-shift division (Granlund &
        # Montgomery 1994): (d m) >> 40 = d // w for m = ceil(2^40 / w) while
        # d (m w - 2^40) < 2^40, true here as d < 2^22 and m w - 2^40 < w < 2^15.
        base = <int64_t>(floor(m0) + 1.0) - (nbins // 2) * <int64_t>width
        span = nbins * <int64_t>width
        magic = ((<uint64_t>1 << 40) + <uint64_t>width - 1) // <uint64_t>width
        sat_dn = <int64_t>min(ceil(saturation), 65536.0)
        y = y0
        while y < y1:
            row = &frame[y, 0]
            x = x0
            # Four samples per turn, one into each sub-histogram.
            while x + 3 * step < x1:
                hist[_u16_bin(row[x], base, span, magic, sat_dn, nbins)] += 1
                hist[stride + _u16_bin(row[x + step], base, span, magic, sat_dn, nbins)] += 1
                hist[2 * stride + _u16_bin(row[x + 2 * step], base, span, magic, sat_dn, nbins)] += 1
                hist[3 * stride + _u16_bin(row[x + 3 * step], base, span, magic, sat_dn, nbins)] += 1
                n_valid += ((row[x] < sat_dn) + (row[x + step] < sat_dn)
                            + (row[x + 2 * step] < sat_dn) + (row[x + 3 * step] < sat_dn))
                n_samples += 4
                x += 4 * step
            while x < x1:
                hist[_u16_bin(row[x], base, span, magic, sat_dn, nbins)] += 1
                n_valid += row[x] < sat_dn
                n_samples += 1
                x += step
            y += step
    else:
        y = y0
        while y < y1:
            row = &frame[y, 0]
            x = x0
            while x < x1:
                pix = row[x]
                valid = pix < saturation
                v = min(max((pix - lo) * inv_width, -1.0), <double>nbins)
                b = <Py_ssize_t>v
                b = b if valid and v >= 0.0 else nbins
                hist[(n_samples & (HIST_WAYS - 1)) * stride + b] += 1
                n_samples += 1
                n_valid += valid
                x += step
            y += step
    for b in range(nbins):
        for i in range(1, HIST_WAYS):
            hist[b] += hist[i * stride + b]
    if 2 * n_valid < n_samples:
        return 0

    lcut = 0
    hcut = nbins
    for it in range(MAX_CLIP_ITERATIONS):
        cnt = 0.0
        s1 = 0.0
        s2 = 0.0
        for b in range(lcut, hcut):
            c = hist[b]
            cnt += c
            s1 += c * (b + 0.5)
            s2 += c * (b + 0.5) * (b + 0.5)
        if cnt < 3.0:
            return 0
        mean = s1 / cnt
        var = s2 / cnt - mean * mean - sheppard
        sig = sqrt(var) if var > 0.0 else 0.0
        half = 0.5 * cnt
        cum = 0.0
        b = lcut
        while cum + hist[b] < half:
            cum += hist[b]
            b += 1
        med = b + (half - cum) / hist[b]
        if it == 0:
            sig_first = sig
        new_lcut = <Py_ssize_t>ceil(med - CLIP_SIGMA * sig - 0.5)
        new_hcut = <Py_ssize_t>floor(med + CLIP_SIGMA * sig - 0.5) + 1
        if new_lcut < 0:
            new_lcut = 0
        if new_hcut > nbins:
            new_hcut = nbins
        if new_hcut <= new_lcut:
            new_hcut = new_lcut + 1
        if new_lcut == lcut and new_hcut == hcut:
            break
        lcut = new_lcut
        hcut = new_hcut

    if sig_first > 0.0 and (sig_first - sig) / sig_first >= CROWDED_SIGMA_DROP:
        out[0] = lo + width * (2.5 * med - 1.5 * mean)
    else:
        out[0] = lo + width * mean
    out[1] = width * sig / CLIPPED_SIGMA_RATIO
    return 1


def mesh_statistics(const pixel_t[:, ::1] frame, const Py_ssize_t[::1] edges_y,
                    const Py_ssize_t[::1] edges_x, Py_ssize_t step, double saturation,
                    bint integer_valued):
    """Background, RMS (DN) and validity of every mesh box.

    Box (j, i) spans rows edges_y[j]:edges_y[j+1] and columns
    edges_x[i]:edges_x[i+1]; pixels at or above `saturation` are excluded.
    Returns (background, rms, valid) arrays of shape (len(edges_y)-1, len(edges_x)-1).
    """
    cdef Py_ssize_t ny = edges_y.shape[0] - 1, nx = edges_x.shape[0] - 1, j, i
    cdef Py_ssize_t coarse_step = 4 * step
    cdef Py_ssize_t max_box = 1
    for j in range(ny):
        for i in range(nx):
            max_box = max(max_box, (edges_y[j + 1] - edges_y[j]) * (edges_x[i + 1] - edges_x[i]))
    bkg = np.zeros((ny, nx), dtype=np.float64)
    rms = np.zeros((ny, nx), dtype=np.float64)
    valid = np.zeros((ny, nx), dtype=np.uint8)
    cdef double[:, ::1] bkg_v = bkg
    cdef double[:, ::1] rms_v = rms
    cdef uint8_t[:, ::1] valid_v = valid
    cdef double* scratch = <double*>malloc(max_box * sizeof(double))
    cdef long* hist = <long*>malloc(HIST_WAYS * (MAX_BINS + 1) * sizeof(long))
    cdef double out[2]
    if scratch == NULL or hist == NULL:
        free(scratch)
        free(hist)
        raise MemoryError("background mesh scratch")
    with nogil:
        for j in range(ny):
            for i in range(nx):
                if _box_statistics(frame, edges_y[j], edges_y[j + 1], edges_x[i], edges_x[i + 1],
                                   step, coarse_step, saturation, integer_valued,
                                   scratch, hist, out):
                    bkg_v[j, i] = out[0]
                    rms_v[j, i] = out[1]
                    valid_v[j, i] = 1
    free(scratch)
    free(hist)
    return bkg, rms, valid


def fill_invalid(double[:, ::1] mesh, uint8_t[:, ::1] valid):
    """Replace invalid boxes, in place, by the mean of their valid 8-neighbours, growing inwards.

    Each sweep fills only boxes that touch a box valid before the sweep, so the
    result does not depend on scan order.  Returns False if no box is valid.
    """
    cdef Py_ssize_t ny = mesh.shape[0], nx = mesh.shape[1], j, i, dj, di, jj, ii
    cdef Py_ssize_t remaining = 0, count
    cdef double total
    cdef uint8_t[:, ::1] known = np.array(valid, dtype=np.uint8)
    cdef uint8_t[:, ::1] grown
    for j in range(ny):
        for i in range(nx):
            remaining += known[j, i] == 0
    if remaining == ny * nx:
        return False
    while remaining:
        grown = np.array(known, dtype=np.uint8)
        for j in range(ny):
            for i in range(nx):
                if known[j, i]:
                    continue
                count = 0
                total = 0.0
                for dj in range(-1, 2):
                    for di in range(-1, 2):
                        jj = j + dj
                        ii = i + di
                        if 0 <= jj < ny and 0 <= ii < nx and known[jj, ii]:
                            total += mesh[jj, ii]
                            count += 1
                if count:
                    mesh[j, i] = total / count
                    grown[j, i] = 1
                    remaining -= 1
        known = grown
    return True


def median_filter_mesh(const double[:, ::1] mesh):
    """3x3 median filter of the mesh, padded by linear extrapolation (odd reflection).

    The padding 2 m[0] - m[1] makes a linear gradient a fixed point of the
    filter at the border too, where a median of the partial window would pull
    the edge boxes towards the interior.
    """
    cdef Py_ssize_t ny = mesh.shape[0], nx = mesh.shape[1], j, i, dj, di, n
    padded = np.empty((ny + 2, nx + 2), dtype=np.float64)
    cdef double[:, ::1] p = padded
    out = np.empty((ny, nx), dtype=np.float64)
    cdef double[:, ::1] out_v = out
    cdef double window[9]
    for j in range(ny):
        for i in range(nx):
            p[j + 1, i + 1] = mesh[j, i]
    for j in range(1, ny + 1):
        p[j, 0] = 2.0 * p[j, 1] - p[j, 2] if nx > 1 else p[j, 1]
        p[j, nx + 1] = 2.0 * p[j, nx] - p[j, nx - 1] if nx > 1 else p[j, nx]
    for i in range(nx + 2):
        p[0, i] = 2.0 * p[1, i] - p[2, i] if ny > 1 else p[1, i]
        p[ny + 1, i] = 2.0 * p[ny, i] - p[ny - 1, i] if ny > 1 else p[ny, i]
    for j in range(ny):
        for i in range(nx):
            n = 0
            for dj in range(3):
                for di in range(3):
                    window[n] = p[j + dj, i + di]
                    n += 1
            out_v[j, i] = _median(window, 9)
    return out


def interpolate_mesh_columns(const double[:, ::1] mesh, const double[::1] centres_x,
                             Py_ssize_t width, bint extrapolate=True):
    """Each mesh row linearly interpolated to every column 0..width-1 (float32, DN).

    Beyond the outermost box centres the end segments are extrapolated
    linearly (a linear gradient is reproduced up to the frame edge), or with
    extrapolate=False held constant (for the RMS, which must stay positive).  Rows
    are later blended in y by the kernels, which makes the whole map bilinear.
    """
    cdef Py_ssize_t ny = mesh.shape[0], nx = mesh.shape[1], j, i = 0, x
    cdef double t
    out = np.empty((ny, width), dtype=np.float32)
    cdef float[:, ::1] out_v = out
    # The segment and weight of each column are the same for every mesh row.
    cdef Py_ssize_t* seg = <Py_ssize_t*>malloc(width * sizeof(Py_ssize_t))
    cdef double* weight = <double*>malloc(width * sizeof(double))
    if seg == NULL or weight == NULL:
        free(seg)
        free(weight)
        raise MemoryError("interpolate_mesh_columns")
    for x in range(width):
        if nx == 1:
            seg[x] = 0
            weight[x] = 0.0
            continue
        while i < nx - 2 and x >= centres_x[i + 1]:
            i += 1
        t = (x - centres_x[i]) / (centres_x[i + 1] - centres_x[i])
        if not extrapolate:
            t = min(max(t, 0.0), 1.0)
        seg[x] = i
        weight[x] = t
    for j in range(ny):
        if nx == 1:
            for x in range(width):
                out_v[j, x] = mesh[j, 0]
        else:
            for x in range(width):
                out_v[j, x] = (1.0 - weight[x]) * mesh[j, seg[x]] + weight[x] * mesh[j, seg[x] + 1]
    free(seg)
    free(weight)
    return out
