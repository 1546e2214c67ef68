# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled kernels of point-source extraction: matched-filter threshold, labelling, measurement.

Pixel coordinates are 0-based with pixel centres on integers, x the column.
Backgrounds and RMS arrive as mesh rows already interpolated along x
(``_background.interpolate_mesh_columns``) and are blended along y here, so
the full-resolution maps are never stored.  The numpy references for these
kernels are in ``reference.py``.
"""
from libc.math cimport sqrt, floor, ceil, fabs, exp, erf, atan2, M_SQRT1_2, M_PI, NAN
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memset
from libc.stdint cimport uint16_t, uint8_t, uint32_t, int32_t

import numpy as np

ctypedef fused pixel_t:
    uint16_t
    float

cdef enum:
    FLAG_SATURATED = 1
    FLAG_EDGE = 2
    FLAG_CENTROID_ISOPHOTAL = 4
    MAX_FIT_ITERATIONS = 30
    # Columns whose threshold test is one OR over sign bits: most blocks of a
    # star field hold no detection and are passed in a few vector operations,
    # and within a block that does, most sub-blocks.
    SCAN_BLOCK = 32
    SCAN_SUBBLOCK = 8

cdef uint32_t SIGN_BIT = 0x80000000u

# A source is fitted as a point source while its isophotal major axis is at
# most this many PSF sigmas; larger ones (streaks, resolved bodies) keep the
# isophotal first moment.
cdef double COMPACT_A_PSF = 2.0
cdef double FIT_TOLERANCE_PX = 1e-4
cdef double FIT_MAX_SHIFT_PX = 1.5


cdef inline void _row_blend(Py_ssize_t y, const double[::1] centres_y, Py_ssize_t* j0,
                            Py_ssize_t* j1, float* t) noexcept nogil:
    """Mesh rows bracketing image row y and the linear weight of the second one.

    Beyond the outer box centres the end pair is extrapolated (t < 0 or t > 1),
    matching interpolate_mesh_columns along x.
    """
    cdef Py_ssize_t n = centres_y.shape[0], j = 0
    if n == 1:
        j0[0] = 0
        j1[0] = 0
        t[0] = 0.0
        return
    while j < n - 2 and y >= centres_y[j + 1]:
        j += 1
    j0[0] = j
    j1[0] = j + 1
    t[0] = <float>((y - centres_y[j]) / (centres_y[j + 1] - centres_y[j]))


cdef void _kernel_coverage(const float[::1] kernel, Py_ssize_t length, float* total,
                           float* norm) noexcept nogil:
    """Per position along an axis, the sum and the 2-norm of the kernel taps inside the frame."""
    cdef Py_ssize_t r = (kernel.shape[0] - 1) // 2, p, i, q
    cdef double s, s2
    for p in range(length):
        s = 0.0
        s2 = 0.0
        for i in range(-r, r + 1):
            q = p + i
            if 0 <= q < length:
                s += kernel[i + r]
                s2 += kernel[i + r] * kernel[i + r]
        total[p] = <float>s
        norm[p] = <float>sqrt(s2)


cdef struct RunBuffer:
    int32_t* runs
    float* peak
    Py_ssize_t n
    Py_ssize_t capacity


cdef int _push_run(RunBuffer* buf, int32_t y, int32_t x0, int32_t x1, float peak) noexcept nogil:
    cdef int32_t* runs
    cdef float* pk
    if buf.n == buf.capacity:
        runs = <int32_t*>realloc(buf.runs, 2 * buf.capacity * 3 * sizeof(int32_t))
        if runs == NULL:
            return 0
        buf.runs = runs
        pk = <float*>realloc(buf.peak, 2 * buf.capacity * sizeof(float))
        if pk == NULL:
            return 0
        buf.peak = pk
        buf.capacity *= 2
    buf.runs[3 * buf.n] = y
    buf.runs[3 * buf.n + 1] = x0
    buf.runs[3 * buf.n + 2] = x1
    buf.peak[buf.n] = peak
    buf.n += 1
    return 1


cdef inline void _filter_row(const float* p, float* out, const float[::1] kernel,
                             Py_ssize_t r, Py_ssize_t width) noexcept nogil:
    """out[x] = sum_i kernel[i] p[x + i] for a symmetric kernel (p has r zeros each side).

    Radii 1 to 3 (PSF sigma up to 1.5 px) are single fused loops the compiler
    vectorises; larger radii accumulate tap by tap.
    """
    cdef Py_ssize_t x, i
    cdef float k0 = kernel[r], k1, k2, k3
    if r == 1:
        k1 = kernel[2]
        for x in range(width):
            out[x] = k0 * p[x + 1] + k1 * (p[x] + p[x + 2])
    elif r == 2:
        k1 = kernel[3]
        k2 = kernel[4]
        for x in range(width):
            out[x] = k0 * p[x + 2] + k1 * (p[x + 1] + p[x + 3]) + k2 * (p[x] + p[x + 4])
    elif r == 3:
        k1 = kernel[4]
        k2 = kernel[5]
        k3 = kernel[6]
        for x in range(width):
            out[x] = (k0 * p[x + 3] + k1 * (p[x + 2] + p[x + 4]) + k2 * (p[x + 1] + p[x + 5])
                      + k3 * (p[x] + p[x + 6]))
    else:
        for x in range(width):
            out[x] = k0 * p[x + r]
        for i in range(1, r + 1):
            k1 = kernel[r + i]
            for x in range(width):
                out[x] += k1 * (p[x + r - i] + p[x + r + i])


cdef inline void _filter_column(const float** rows, float* out, const float[::1] kernel,
                                Py_ssize_t r, Py_ssize_t width, const float* thr_a,
                                const float* thr_b, float t) noexcept nogil:
    """out[x] = thr(x) - sum_i kernel[i] rows[i][x], thr(x) = thr_a[x] + t (thr_b[x] - thr_a[x]).

    The vertical pass over 2r+1 horizontally filtered rows, fused with the
    threshold: out is negative exactly where the filtered value exceeds it, so
    the caller finds detections from the sign bits alone.
    """
    cdef Py_ssize_t x, i
    cdef float k0 = kernel[r], k1, k2, k3
    cdef const float* a0 = rows[r]
    cdef const float* a1
    cdef const float* b1
    cdef const float* a2
    cdef const float* b2
    cdef const float* a3
    cdef const float* b3
    if r == 1:
        k1 = kernel[2]
        a1 = rows[0]
        b1 = rows[2]
        for x in range(width):
            out[x] = (thr_a[x] + t * (thr_b[x] - thr_a[x])) - (k0 * a0[x] + k1 * (a1[x] + b1[x]))
    elif r == 2:
        k1 = kernel[3]
        k2 = kernel[4]
        a1 = rows[1]
        b1 = rows[3]
        a2 = rows[0]
        b2 = rows[4]
        for x in range(width):
            out[x] = ((thr_a[x] + t * (thr_b[x] - thr_a[x]))
                      - (k0 * a0[x] + k1 * (a1[x] + b1[x]) + k2 * (a2[x] + b2[x])))
    elif r == 3:
        k1 = kernel[4]
        k2 = kernel[5]
        k3 = kernel[6]
        a1 = rows[2]
        b1 = rows[4]
        a2 = rows[1]
        b2 = rows[5]
        a3 = rows[0]
        b3 = rows[6]
        for x in range(width):
            out[x] = ((thr_a[x] + t * (thr_b[x] - thr_a[x]))
                      - (k0 * a0[x] + k1 * (a1[x] + b1[x]) + k2 * (a2[x] + b2[x])
                         + k3 * (a3[x] + b3[x])))
    else:
        for x in range(width):
            out[x] = k0 * a0[x]
        for i in range(1, r + 1):
            k1 = kernel[r + i]
            a1 = rows[r - i]
            b1 = rows[r + i]
            for x in range(width):
                out[x] += k1 * (a1[x] + b1[x])
        for x in range(width):
            out[x] = (thr_a[x] + t * (thr_b[x] - thr_a[x])) - out[x]


cdef inline bint _any_negative(const uint32_t* bits, Py_ssize_t count) noexcept nogil:
    """Whether any of count consecutive floats is negative (sign bit set): one OR-reduction."""
    cdef uint32_t acc = 0
    cdef Py_ssize_t i
    for i in range(count):
        acc = acc | bits[i]
    return (acc & SIGN_BIT) != 0


def threshold_runs(const pixel_t[:, ::1] frame, const float[::1] kernel,
                   const float[:, ::1] bkg_cols, const float[:, ::1] rms_cols,
                   const double[::1] centres_y, double threshold_sigma):
    """Runs of pixels whose matched-filter significance exceeds threshold_sigma.

    The frame is correlated with the separable symmetric kernel (zero outside
    the frame).  At pixel p the significance is
        (sum_i k_i I_{p+i} - B_p sum_i k_i) / (sigma_p sqrt(sum_i k_i^2)),
    sums over taps inside the frame, B and sigma the background and its RMS
    (the PSF-weighted flux estimate over its noise: the matched filter of
    North 1943 / SExtractor's FILTER).  B is bilinear in the mesh and
    extrapolated beyond the outer box centres, sigma held constant there.
    One streaming pass: a ring of 2r+1
    horizontally filtered rows, no full-frame temporaries.

    Returns (runs, peak): runs an int32 (n, 3) array of (row, first column,
    last column) in raster order, peak the highest significance in each run.
    The frame must be finite (the caller validates it).
    """
    cdef Py_ssize_t height = frame.shape[0], width = frame.shape[1]
    cdef Py_ssize_t r = (kernel.shape[0] - 1) // 2, ring_len = 2 * r + 1
    cdef Py_ssize_t nmesh = bkg_cols.shape[0], j, x, y_in, y_out, i, start
    cdef Py_ssize_t j0, j1
    cdef float t, ts, ay, ny, u = <float>threshold_sigma, best, s, interior_norm
    cdef bint failed = False

    cdef float* padded = <float*>malloc((width + 2 * r) * sizeof(float))
    cdef float* ring = <float*>malloc(ring_len * width * sizeof(float))
    cdef float* zero_row = <float*>malloc(width * sizeof(float))
    cdef float* excess = <float*>malloc(width * sizeof(float))
    cdef const uint32_t* bits = <const uint32_t*>excess
    cdef float* bterm = <float*>malloc(width * sizeof(float))
    cdef float* thr = <float*>malloc(nmesh * width * sizeof(float))
    cdef float* cover_x = <float*>malloc(width * sizeof(float))
    cdef float* norm_x = <float*>malloc(width * sizeof(float))
    cdef float* cover_y = <float*>malloc(height * sizeof(float))
    cdef float* norm_y = <float*>malloc(height * sizeof(float))
    cdef float* pb = <float*>malloc(nmesh * width * sizeof(float))
    cdef float* ps = <float*>malloc(nmesh * width * sizeof(float))
    cdef RunBuffer buf
    buf.n = 0
    buf.capacity = 1024
    buf.runs = <int32_t*>malloc(buf.capacity * 3 * sizeof(int32_t))
    buf.peak = <float*>malloc(buf.capacity * sizeof(float))
    cdef const float** rows = <const float**>malloc(ring_len * sizeof(float*))
    if (padded == NULL or ring == NULL or zero_row == NULL or excess == NULL or bterm == NULL
            or thr == NULL or cover_x == NULL or norm_x == NULL or cover_y == NULL
            or norm_y == NULL or pb == NULL or ps == NULL or buf.runs == NULL
            or buf.peak == NULL or rows == NULL):
        failed = True
    else:
        with nogil:
            memset(padded, 0, (width + 2 * r) * sizeof(float))
            memset(zero_row, 0, width * sizeof(float))
            _kernel_coverage(kernel, width, cover_x, norm_x)
            _kernel_coverage(kernel, height, cover_y, norm_y)
            interior_norm = norm_y[height // 2]
            # Column factors folded into the mesh rows once per frame.
            for j in range(nmesh):
                for x in range(width):
                    pb[j * width + x] = bkg_cols[j, x] * cover_x[x]
                    ps[j * width + x] = rms_cols[j, x] * norm_x[x]
                    thr[j * width + x] = pb[j * width + x] + u * interior_norm * ps[j * width + x]

            for y_in in range(height + r):
                if y_in < height:
                    for x in range(width):
                        padded[x + r] = <float>frame[y_in, x]
                    _filter_row(padded, ring + (y_in % ring_len) * width, kernel, r, width)
                y_out = y_in - r
                if y_out < 0:
                    continue
                for i in range(-r, r + 1):
                    if 0 <= y_out + i < height:
                        rows[i + r] = ring + ((y_out + i) % ring_len) * width
                    else:
                        rows[i + r] = zero_row
                _row_blend(y_out, centres_y, &j0, &j1, &t)
                # The RMS is held constant beyond the outer box centres (t clamped).
                ts = min(max(t, <float>0.0), <float>1.0)
                ay = cover_y[y_out]
                ny = norm_y[y_out]
                if r <= y_out < height - r and t == ts:
                    # Interior row: thresholds precomputed per mesh row, blended in y.
                    _filter_column(rows, excess, kernel, r, width, thr + j0 * width,
                                   thr + j1 * width, t)
                else:
                    for x in range(width):
                        bterm[x] = ay * (pb[j0 * width + x] + t * (pb[j1 * width + x] - pb[j0 * width + x]))
                        bterm[x] += u * ny * (ps[j0 * width + x] + ts * (ps[j1 * width + x] - ps[j0 * width + x]))
                    _filter_column(rows, excess, kernel, r, width, bterm, bterm, 0.0)

                # excess = threshold - filtered = u N - (filtered - A) with A the
                # background term and N the noise of this pixel's filtered value,
                # so the significance of a detected pixel is u - excess / N.
                x = 0
                while x < width:
                    if x % SCAN_BLOCK == 0 and x + SCAN_BLOCK <= width and not _any_negative(bits + x, SCAN_BLOCK):
                        x += SCAN_BLOCK
                        continue
                    if x % SCAN_SUBBLOCK == 0 and x + SCAN_SUBBLOCK <= width and not _any_negative(bits + x, SCAN_SUBBLOCK):
                        x += SCAN_SUBBLOCK
                        continue
                    if not (bits[x] & SIGN_BIT):
                        x += 1
                        continue
                    start = x
                    best = -1e30
                    while x < width and (bits[x] & SIGN_BIT):
                        s = u - excess[x] / (ny * (ps[j0 * width + x] + ts * (ps[j1 * width + x] - ps[j0 * width + x])))
                        if s > best:
                            best = s
                        x += 1
                    if not _push_run(&buf, <int32_t>y_out, <int32_t>start, <int32_t>(x - 1), best):
                        failed = True
                        break
                if failed:
                    break

    runs = np.empty((buf.n, 3), dtype=np.int32)
    peak = np.empty(buf.n, dtype=np.float32)
    cdef int32_t[:, ::1] runs_v = runs
    cdef float[::1] peak_v = peak
    if not failed:
        for i in range(buf.n):
            runs_v[i, 0] = buf.runs[3 * i]
            runs_v[i, 1] = buf.runs[3 * i + 1]
            runs_v[i, 2] = buf.runs[3 * i + 2]
            peak_v[i] = buf.peak[i]
    free(padded); free(ring); free(zero_row); free(excess); free(bterm); free(thr)
    free(cover_x); free(norm_x); free(cover_y); free(norm_y); free(pb); free(ps)
    free(buf.runs); free(buf.peak); free(rows)
    if failed:
        raise MemoryError("threshold_runs buffers")
    return runs, peak


cdef Py_ssize_t _find(int32_t* parent, Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t root = i, nxt
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        nxt = parent[i]
        parent[i] = <int32_t>root
        i = nxt
    return root


cdef inline void _union(int32_t* parent, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """Join two sets, keeping the earlier run as root so roots come first in raster order."""
    a = _find(parent, a)
    b = _find(parent, b)
    if a < b:
        parent[b] = <int32_t>a
    elif b < a:
        parent[a] = <int32_t>b


def label_runs(const int32_t[:, ::1] runs):
    """8-connected component label of each run (0-based, numbered in raster order of first pixel).

    Runs must be in raster order, as threshold_runs gives them.  Two runs on
    adjacent rows are connected when their column spans overlap after widening
    one by a pixel each side (diagonal contact).  Union-find with path
    compression (Tarjan 1975) over runs.  Returns (labels int32 array, count).
    """
    cdef Py_ssize_t n = runs.shape[0], i, prev_start = 0, prev_end = 0, cur_start = 0, k, jp
    cdef int32_t y
    labels = np.empty(n, dtype=np.int32)
    cdef int32_t[::1] labels_v = labels
    cdef int32_t* parent = <int32_t*>malloc((n + 1) * sizeof(int32_t))
    cdef int32_t count = 0
    if parent == NULL:
        raise MemoryError("label_runs")
    with nogil:
        for i in range(n):
            parent[i] = <int32_t>i
        while cur_start < n:
            y = runs[cur_start, 0]
            i = cur_start
            while i < n and runs[i, 0] == y:
                i += 1
            # Runs of row y are [cur_start, i); those of row y-1, if any, [prev_start, prev_end).
            if prev_end > prev_start and runs[prev_start, 0] == y - 1:
                jp = prev_start
                for k in range(cur_start, i):
                    while jp < prev_end and runs[jp, 2] < runs[k, 1] - 1:
                        jp += 1
                    while jp < prev_end and runs[jp, 1] <= runs[k, 2] + 1:
                        _union(parent, k, jp)
                        jp += 1
                    if jp > prev_start:
                        jp -= 1
            prev_start = cur_start
            prev_end = i
            cur_start = i
        for i in range(n):
            if _find(parent, i) == i:
                labels_v[i] = count
                count += 1
            else:
                labels_v[i] = labels_v[parent[i]]
    free(parent)
    return labels, count


cdef struct Moments:
    double flux
    double peak
    double sw
    double swx
    double swy
    double swxx
    double swyy
    double swxy
    double xref
    double yref
    Py_ssize_t npix
    int flags


# Phi(u) - 1/2 is tabulated with the normal density at nodes 1/CDF_NODES_PER_SIGMA
# apart on [-CDF_HALF_RANGE, CDF_HALF_RANGE]; the PSF fit evaluates it by cubic
# Hermite interpolation (the node derivatives are the density itself) at a
# quarter of the cost of erf, with an error of at most h^4 max|phi'''| / 384
# < 1e-10 for h = 1/64 (de Boor, A Practical Guide to Splines, ch. 2), far
# below the noise of any pixel value.
cdef enum:
    CDF_NODES_PER_SIGMA = 64
    CDF_HALF_RANGE = 9
    CDF_NODES = 2 * CDF_HALF_RANGE * CDF_NODES_PER_SIGMA + 1
cdef double _half_cdf[CDF_NODES]
cdef double _pdf_step[CDF_NODES]


cdef void _fill_cdf_tables() noexcept:
    cdef Py_ssize_t k
    cdef double u
    for k in range(CDF_NODES):
        u = -CDF_HALF_RANGE + k / <double>CDF_NODES_PER_SIGMA
        _half_cdf[k] = 0.5 * erf(u * M_SQRT1_2)
        _pdf_step[k] = exp(-0.5 * u * u) / sqrt(2.0 * M_PI) / CDF_NODES_PER_SIGMA


_fill_cdf_tables()


cdef inline double _half_normal_cdf(double u) noexcept nogil:
    """Phi(u) - 1/2 for the unit normal, from the tables (saturating beyond +-9)."""
    cdef double s = (u + CDF_HALF_RANGE) * CDF_NODES_PER_SIGMA, tau, t2, t3
    cdef Py_ssize_t k
    if s <= 0.0:
        return -0.5
    if s >= CDF_NODES - 1:
        return 0.5
    k = <Py_ssize_t>s
    tau = s - k
    t2 = tau * tau
    t3 = t2 * tau
    return ((2.0 * t3 - 3.0 * t2 + 1.0) * _half_cdf[k] + (t3 - 2.0 * t2 + tau) * _pdf_step[k]
            + (3.0 * t2 - 2.0 * t3) * _half_cdf[k + 1] + (t3 - t2) * _pdf_step[k + 1])


cdef inline void _edge_integrals(double xc, double sigma, Py_ssize_t first, Py_ssize_t count,
                                 double* p, double* dp, double* d2p) noexcept nogil:
    """Pixel-integrated unit Gaussian on pixels first..first+count-1 and its xc derivatives.

    p[i] = Phi(hi) - Phi(lo) with lo, hi = (c -+ 1/2 - xc)/sigma for pixel centre c,
    dp[i] = (phi(lo) - phi(hi)) / sigma, d2p[i] = (lo phi(lo) - hi phi(hi)) / sigma^2.
    The edges are h = 1/sigma apart, so the density follows by the exact
    recurrence phi(u + h) = phi(u) g, g = exp(-u h - h^2/2), g <- g exp(-h^2).
    """
    cdef Py_ssize_t i
    cdef double u, u_lo, cdf_lo, cdf_hi, pdf_lo, pdf_hi
    cdef double inv = 1.0 / sigma, norm = 1.0 / sqrt(2.0 * M_PI)
    cdef double g, decay = exp(-inv * inv)
    u_lo = (first - 0.5 - xc) * inv
    cdf_lo = _half_normal_cdf(u_lo)
    pdf_lo = norm * exp(-0.5 * u_lo * u_lo)
    g = exp(-u_lo * inv - 0.5 * inv * inv)
    for i in range(count):
        u = u_lo + inv
        cdf_hi = _half_normal_cdf(u)
        pdf_hi = pdf_lo * g
        g *= decay
        p[i] = cdf_hi - cdf_lo
        dp[i] = (pdf_lo - pdf_hi) * inv
        d2p[i] = (u_lo * pdf_lo - u * pdf_hi) * inv * inv
        u_lo = u
        cdf_lo = cdf_hi
        pdf_lo = pdf_hi


cdef bint _solve3(double* m, double* g, double* d) noexcept nogil:
    """Solve the symmetric 3x3 system m d = g (m row-major) by Cramer's rule; False if singular."""
    cdef double c00 = m[4] * m[8] - m[5] * m[7]
    cdef double c01 = m[5] * m[6] - m[3] * m[8]
    cdef double c02 = m[3] * m[7] - m[4] * m[6]
    cdef double det = m[0] * c00 + m[1] * c01 + m[2] * c02
    if not (fabs(det) > 0.0):
        return False
    d[0] = (g[0] * c00 + m[1] * (g[2] * m[5] - g[1] * m[8]) + m[2] * (g[1] * m[7] - g[2] * m[4])) / det
    d[1] = (m[0] * (g[1] * m[8] - g[2] * m[5]) + g[0] * c01 + m[2] * (g[2] * m[3] - g[1] * m[6])) / det
    d[2] = (m[0] * (g[2] * m[4] - g[1] * m[7]) + m[1] * (g[1] * m[6] - g[2] * m[3]) + g[0] * c02) / det
    return True


cdef inline bint _positive_definite3(double* m) noexcept nogil:
    """Sylvester's criterion for a symmetric 3x3 matrix (row-major)."""
    cdef double minor2 = m[0] * m[4] - m[1] * m[3]
    cdef double det = (m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6])
                       + m[2] * (m[3] * m[7] - m[4] * m[6]))
    return m[0] > 0.0 and minor2 > 0.0 and det > 0.0


cdef bint _fit_point_source(const pixel_t[:, ::1] frame, const float[:, ::1] bkg_cols,
                            const double[::1] centres_y, double sigma, double x_start,
                            double y_start, double* scratch, double* out) noexcept nogil:
    """Least-squares fit of a pixel-integrated Gaussian PSF (known sigma) to the background-
    subtracted pixels in a (2r+1)^2 window, r = ceil(3 sigma) + 1: Newton on (flux, x, y).

    With uniform background-dominated noise this is the maximum-likelihood
    estimate, whose variance reaches the Cramer-Rao bound.  The exact Hessian
    (J^T J minus the residual-weighted model curvature) keeps convergence
    quadratic for faint, noisy sources where Gauss-Newton crawls; where it is
    not positive definite the Gauss-Newton step is taken.  The separable PSF
    makes every sum a product of 1-D sums.  Only pixels inside the frame are
    used, so sources cut by the edge stay unbiased.
    out = (x, y, flux); False if the fit fails or wanders off its window.
    """
    cdef Py_ssize_t height = frame.shape[0], width = frame.shape[1]
    cdef Py_ssize_t r = <Py_ssize_t>ceil(3.0 * sigma) + 1
    cdef Py_ssize_t cx = <Py_ssize_t>floor(x_start + 0.5), cy = <Py_ssize_t>floor(y_start + 0.5)
    cdef Py_ssize_t x0 = max(cx - r, 0), x1 = min(cx + r + 1, width)
    cdef Py_ssize_t y0 = max(cy - r, 0), y1 = min(cy + r + 1, height)
    cdef Py_ssize_t nwx = x1 - x0, nwy = y1 - y0, i, jrow, x, it, j0, j1
    cdef float t
    cdef double* win = scratch
    cdef double* px = scratch + nwx * nwy
    cdef double* dpx = px + nwx
    cdef double* d2px = dpx + nwx
    cdef double* py = d2px + nwx
    cdef double* dpy = py + nwy
    cdef double* d2py = dpy + nwy
    cdef double* vp = d2py + nwy
    cdef double* vdp = vp + nwy
    cdef double* vd2p = vdp + nwy
    cdef double xc = x_start, yc = y_start, flux = 0.0
    cdef double sxx, sxdx, sdxdx, sxd2x, syy, sydy, sdydy, syd2y
    cdef double a, bx, by, cxx, cyy, cxy, b0, b1, e0, e1, e2
    cdef double m[9]
    cdef double h[9]
    cdef double g[3]
    cdef double d[3]
    if nwx < 3 or nwy < 3:
        return False
    for jrow in range(nwy):
        _row_blend(y0 + jrow, centres_y, &j0, &j1, &t)
        for i in range(nwx):
            x = x0 + i
            b0 = bkg_cols[j0, x]
            b1 = bkg_cols[j1, x]
            win[jrow * nwx + i] = <double>frame[y0 + jrow, x] - (b0 + t * (b1 - b0))

    for it in range(MAX_FIT_ITERATIONS + 1):
        _edge_integrals(xc, sigma, x0, nwx, px, dpx, d2px)
        _edge_integrals(yc, sigma, y0, nwy, py, dpy, d2py)
        sxx = 0.0; sxdx = 0.0; sdxdx = 0.0; sxd2x = 0.0
        for i in range(nwx):
            sxx += px[i] * px[i]
            sxdx += px[i] * dpx[i]
            sdxdx += dpx[i] * dpx[i]
            sxd2x += px[i] * d2px[i]
        syy = 0.0; sydy = 0.0; sdydy = 0.0; syd2y = 0.0
        for i in range(nwy):
            syy += py[i] * py[i]
            sydy += py[i] * dpy[i]
            sdydy += dpy[i] * dpy[i]
            syd2y += py[i] * d2py[i]
        for jrow in range(nwy):
            e0 = 0.0
            e1 = 0.0
            e2 = 0.0
            for i in range(nwx):
                e0 += win[jrow * nwx + i] * px[i]
                e1 += win[jrow * nwx + i] * dpx[i]
                e2 += win[jrow * nwx + i] * d2px[i]
            vp[jrow] = e0
            vdp[jrow] = e1
            vd2p[jrow] = e2
        a = 0.0; bx = 0.0; by = 0.0; cxx = 0.0; cyy = 0.0; cxy = 0.0
        for jrow in range(nwy):
            a += py[jrow] * vp[jrow]
            bx += py[jrow] * vdp[jrow]
            by += dpy[jrow] * vp[jrow]
            cxx += py[jrow] * vd2p[jrow]
            cyy += d2py[jrow] * vp[jrow]
            cxy += dpy[jrow] * vdp[jrow]
        if it == 0:
            # Linear flux at the starting position seeds the iteration.
            flux = a / (sxx * syy)
            if not (flux > 0.0):
                return False
        # J^T J of the model flux * Px * Py in (flux, x, y) ...
        m[0] = sxx * syy
        m[1] = flux * sxdx * syy
        m[2] = flux * sxx * sydy
        m[4] = flux * flux * sdxdx * syy
        m[5] = flux * flux * sxdx * sydy
        m[8] = flux * flux * sxx * sdydy
        m[3] = m[1]; m[6] = m[2]; m[7] = m[5]
        # ... minus the residual-weighted second derivatives of the model.
        h[0] = m[0]
        h[1] = m[1] - (bx - flux * sxdx * syy)
        h[2] = m[2] - (by - flux * sxx * sydy)
        h[4] = m[4] - flux * (cxx - flux * sxd2x * syy)
        h[5] = m[5] - flux * (cxy - flux * sxdx * sydy)
        h[8] = m[8] - flux * (cyy - flux * sxx * syd2y)
        h[3] = h[1]; h[6] = h[2]; h[7] = h[5]
        g[0] = a - flux * m[0]
        g[1] = flux * bx - flux * m[1]
        g[2] = flux * by - flux * m[2]
        if not _positive_definite3(h) or not _solve3(h, g, d):
            if not _solve3(m, g, d):
                return False
        d[1] = max(-1.0, min(1.0, d[1]))
        d[2] = max(-1.0, min(1.0, d[2]))
        # Keep the flux positive and the centre near the window while iterating;
        # only the converged point is judged.
        flux = flux + d[0] if flux + d[0] > 0.0 else 0.5 * flux
        xc = max(x_start - r + 1.0, min(x_start + r - 1.0, xc + d[1]))
        yc = max(y_start - r + 1.0, min(y_start + r - 1.0, yc + d[2]))
        if fabs(d[1]) < FIT_TOLERANCE_PX and fabs(d[2]) < FIT_TOLERANCE_PX:
            if fabs(xc - x_start) > FIT_MAX_SHIFT_PX or fabs(yc - y_start) > FIT_MAX_SHIFT_PX:
                return False
            out[0] = xc
            out[1] = yc
            out[2] = flux
            return True
    return False


def measure_sources(const pixel_t[:, ::1] frame, const int32_t[:, ::1] runs,
                    const int32_t[::1] labels, Py_ssize_t nlabels, const float[::1] run_peak,
                    const float[:, ::1] bkg_cols, const double[::1] centres_y,
                    double psf_sigma, double saturation, Py_ssize_t min_npix):
    """Measure every labelled component of at least min_npix pixels.

    Over the footprint (the component's pixels), on background-subtracted
    values v: flux = sum v, peak = max v, npix, the peak significance of the
    detection, and intensity-weighted (max(v, 0)) first and second moments.
    a, b, theta follow from the second moments (Bertin & Arnouts 1996, sec.
    4.1.4; theta from +x towards +y, radians).  Compact unsaturated sources
    (a <= 2 psf_sigma) take their position and flux_psf from a Gaussian PSF
    fit; the others keep the isophotal centroid and flag it.

    Returns a dict of equal-length arrays, components in label order.
    """
    cdef Py_ssize_t height = frame.shape[0], width = frame.shape[1]
    cdef Py_ssize_t nruns = runs.shape[0], i, k, x, y, lab, nkept = 0, o, j0, j1
    cdef Py_ssize_t r_fit = <Py_ssize_t>ceil(3.0 * psf_sigma) + 1
    cdef Py_ssize_t side = 2 * r_fit + 1
    cdef float t
    cdef double v, w, pix, b0, b1, dx, dy, mxx, myy, mxy, half_sum, root, xi, yi
    cdef double run_flux, pixel_peak, run_w, run_wx, run_wxx
    cdef bint saturated
    cdef double fit[3]
    cdef Moments* mom = <Moments*>malloc((nlabels + 1) * sizeof(Moments))
    cdef double* scratch = <double*>malloc((side * side + 9 * side) * sizeof(double))
    if mom == NULL or scratch == NULL:
        free(mom)
        free(scratch)
        raise MemoryError("measure_sources")
    with nogil:
        for lab in range(nlabels):
            mom[lab].flux = 0.0
            mom[lab].peak = -1e300
            mom[lab].sw = 0.0
            mom[lab].swx = 0.0
            mom[lab].swy = 0.0
            mom[lab].swxx = 0.0
            mom[lab].swyy = 0.0
            mom[lab].swxy = 0.0
            mom[lab].npix = 0
            mom[lab].flags = 0
            mom[lab].xref = -1.0
            mom[lab].yref = 0.0
        for k in range(nruns):
            lab = labels[k]
            y = runs[k, 0]
            if mom[lab].xref < 0.0:
                # Moments about the first pixel keep the sums well conditioned.
                mom[lab].xref = runs[k, 1]
                mom[lab].yref = y
            _row_blend(y, centres_y, &j0, &j1, &t)
            if y == 0 or y == height - 1 or runs[k, 1] == 0 or runs[k, 2] == width - 1:
                mom[lab].flags |= FLAG_EDGE
            # Sums over the run in registers, without data-dependent branches
            # (faint footprint pixels are positive or negative at random); y is
            # constant along a run, so its moments follow from the run's sums.
            run_flux = 0.0
            pixel_peak = -1e300
            run_w = 0.0
            run_wx = 0.0
            run_wxx = 0.0
            saturated = False
            for x in range(runs[k, 1], runs[k, 2] + 1):
                pix = frame[y, x]
                saturated |= pix >= saturation
                b0 = bkg_cols[j0, x]
                b1 = bkg_cols[j1, x]
                v = pix - (b0 + t * (b1 - b0))
                run_flux += v
                pixel_peak = max(pixel_peak, v)
                w = max(v, 0.0)
                dx = x - mom[lab].xref
                run_w += w
                run_wx += w * dx
                run_wxx += w * dx * dx
            dy = y - mom[lab].yref
            if saturated:
                mom[lab].flags |= FLAG_SATURATED
            mom[lab].flux += run_flux
            mom[lab].peak = max(mom[lab].peak, pixel_peak)
            mom[lab].npix += runs[k, 2] - runs[k, 1] + 1
            mom[lab].sw += run_w
            mom[lab].swx += run_wx
            mom[lab].swy += run_w * dy
            mom[lab].swxx += run_wxx
            mom[lab].swyy += run_w * dy * dy
            mom[lab].swxy += run_wx * dy
        for lab in range(nlabels):
            if mom[lab].npix >= min_npix:
                nkept += 1

    out_x = np.empty(nkept, dtype=np.float64)
    out_y = np.empty(nkept, dtype=np.float64)
    out_flux = np.empty(nkept, dtype=np.float64)
    out_flux_psf = np.empty(nkept, dtype=np.float64)
    out_npix = np.empty(nkept, dtype=np.int32)
    out_peak = np.empty(nkept, dtype=np.float32)
    out_snr = np.full(nkept, -np.inf, dtype=np.float32)
    out_a = np.empty(nkept, dtype=np.float32)
    out_b = np.empty(nkept, dtype=np.float32)
    out_theta = np.empty(nkept, dtype=np.float32)
    out_flags = np.empty(nkept, dtype=np.uint16)
    cdef double[::1] ox = out_x, oy = out_y, of = out_flux, ofp = out_flux_psf
    cdef int32_t[::1] on = out_npix
    cdef float[::1] opk = out_peak, osnr = out_snr, oa = out_a, ob = out_b, oth = out_theta
    cdef uint16_t[::1] ofl = out_flags
    cdef int32_t* slot = <int32_t*>malloc((nlabels + 1) * sizeof(int32_t))
    if slot == NULL:
        free(mom)
        free(scratch)
        raise MemoryError("measure_sources")
    with nogil:
        o = 0
        for lab in range(nlabels):
            if mom[lab].npix < min_npix:
                slot[lab] = -1
                continue
            slot[lab] = <int32_t>o
            if mom[lab].sw > 0.0:
                xi = mom[lab].swx / mom[lab].sw
                yi = mom[lab].swy / mom[lab].sw
                mxx = mom[lab].swxx / mom[lab].sw - xi * xi
                myy = mom[lab].swyy / mom[lab].sw - yi * yi
                mxy = mom[lab].swxy / mom[lab].sw - xi * yi
            else:
                xi = 0.0
                yi = 0.0
                mxx = 0.0
                myy = 0.0
                mxy = 0.0
            half_sum = 0.5 * (mxx + myy)
            root = sqrt(0.25 * (mxx - myy) * (mxx - myy) + mxy * mxy)
            oa[o] = <float>sqrt(max(half_sum + root, 0.0))
            ob[o] = <float>sqrt(max(half_sum - root, 0.0))
            oth[o] = <float>(0.5 * atan2(2.0 * mxy, mxx - myy))
            ox[o] = mom[lab].xref + xi
            oy[o] = mom[lab].yref + yi
            of[o] = mom[lab].flux
            ofp[o] = NAN
            on[o] = <int32_t>mom[lab].npix
            opk[o] = <float>mom[lab].peak
            ofl[o] = <uint16_t>(mom[lab].flags | FLAG_CENTROID_ISOPHOTAL)
            if (not (mom[lab].flags & FLAG_SATURATED) and oa[o] <= COMPACT_A_PSF * psf_sigma
                    and _fit_point_source(frame, bkg_cols, centres_y, psf_sigma, ox[o], oy[o],
                                          scratch, fit)):
                ox[o] = fit[0]
                oy[o] = fit[1]
                ofp[o] = fit[2]
                ofl[o] = <uint16_t>mom[lab].flags
            o += 1
        for k in range(nruns):
            o = slot[labels[k]]
            if o >= 0 and run_peak[k] > osnr[o]:
                osnr[o] = run_peak[k]
    free(slot)
    free(mom)
    free(scratch)
    return {
        "x": out_x, "y": out_y, "flux": out_flux, "flux_psf": out_flux_psf, "npix": out_npix,
        "peak": out_peak, "snr": out_snr, "a": out_a, "b": out_b, "theta": out_theta,
        "flags": out_flags,
    }
