# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The relative filter's published state and its covariance: RTN state and relative orbital
elements of the chaser relative to the target, through their Jacobian by central differences.

The maps are those of ``roe.py`` (``rtn_relative_state``, ``nonsingular_elements``,
``relative_orbital_elements``), written for doubles; the difference steps and the product
J P J^T are those of ``roe.covariance_through``, its numpy twin. Compiled, the 25 evaluations
of the map (each two element conversions and one RTN state) cost microseconds, not the
milliseconds of the numpy reference.

State x = [r_TN_N, v_TN_N, r_CN_N, v_CN_N] (12; m, m/s, ECI), the relative filter's; output
y = [r_CT_rtn, v_CT_rtn, roe] (12; m, m/s, 1).
"""
from libc.math cimport sqrt, acos, atan2, cos, sin, fmod, hypot, M_PI

cdef double MU = 3.986004418e14
cdef double RE = 6378137.0
cdef double J2 = 1.08262668e-3


cdef inline void cross3(const double* a, const double* b, double* out) noexcept nogil:
    out[0] = a[1] * b[2] - a[2] * b[1]
    out[1] = a[2] * b[0] - a[0] * b[2]
    out[2] = a[0] * b[1] - a[1] * b[0]


cdef inline double dot3(const double* a, const double* b) noexcept nogil:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


cdef inline double wrap(double angle) noexcept nogil:
    """angle wrapped to [-pi, pi) (Python's float modulo: the sign of the divisor)."""
    cdef double m = fmod(angle + M_PI, 2.0 * M_PI)
    if m < 0.0:
        m += 2.0 * M_PI
    return m - M_PI


cdef void rtn_state(const double* xC, const double* xT, double* out) noexcept nogil:
    """[r_CT_rtn, v_CT_rtn] of chaser xC relative to target xT, in T's rotating RTN frame."""
    cdef double R[3]
    cdef double T[3]
    cdef double Nv[3]
    cdef double h[3]
    cdef double d[3]
    cdef double accel[3]
    cdef double r_rtn[3]
    cdef double w[3]
    cdef double wxr[3]
    cdef double r2 = dot3(xT, xT)
    cdef double r = sqrt(r2)
    cdef double hn, s, f, a_N
    cdef int k
    cross3(xT, xT + 3, h)
    hn = sqrt(dot3(h, h))
    for k in range(3):
        R[k] = xT[k] / r
        Nv[k] = h[k] / hn
    cross3(Nv, R, T)
    # two-body + J2 acceleration of the target (dynamics.gravity_accel_reference)
    s = 1.5 * J2 * MU * RE * RE / (r2 * r2 * r)
    f = 5.0 * xT[2] * xT[2] / r2
    for k in range(3):
        accel[k] = -MU * xT[k] / (r2 * r) + s * xT[k] * (f - (3.0 if k == 2 else 1.0))
    a_N = dot3(Nv, accel)
    w[0] = r * a_N / hn
    w[1] = 0.0
    w[2] = hn / r2
    for k in range(3):
        d[k] = xC[k] - xT[k]
    r_rtn[0] = dot3(R, d)
    r_rtn[1] = dot3(T, d)
    r_rtn[2] = dot3(Nv, d)
    cross3(w, r_rtn, wxr)
    for k in range(3):
        d[k] = xC[3 + k] - xT[3 + k]
    out[0], out[1], out[2] = r_rtn[0], r_rtn[1], r_rtn[2]
    out[3] = dot3(R, d) - wxr[0]
    out[4] = dot3(T, d) - wxr[1]
    out[5] = dot3(Nv, d) - wxr[2]


cdef void nonsingular(const double* x, double* el) noexcept nogil:
    """[a, e_x, e_y, i, Omega, u] of the osculating orbit of x (roe.nonsingular_elements)."""
    cdef const double* r = x
    cdef const double* v = x + 3
    cdef double h[3]
    cdef double w[3]
    cdef double node[3]
    cdef double ahead[3]
    cdef double vxh[3]
    cdef double e_vec[3]
    cdef double rn = sqrt(dot3(r, r))
    cdef double hn, a, inc, raan, e_x, e_y, u_true, e, nu, E, M, wz
    cdef int k
    cross3(r, v, h)
    hn = sqrt(dot3(h, h))
    a = 1.0 / (2.0 / rn - dot3(v, v) / MU)
    for k in range(3):
        w[k] = h[k] / hn
    wz = max(-1.0, min(1.0, w[2]))
    inc = acos(wz)
    raan = atan2(w[0], -w[1])
    node[0], node[1], node[2] = cos(raan), sin(raan), 0.0
    cross3(w, node, ahead)
    cross3(v, h, vxh)
    for k in range(3):
        e_vec[k] = vxh[k] / MU - r[k] / rn
    e_x = dot3(e_vec, node)
    e_y = dot3(e_vec, ahead)
    u_true = atan2(dot3(r, ahead), dot3(r, node))
    e = hypot(e_x, e_y)
    nu = u_true - atan2(e_y, e_x)
    E = 2.0 * atan2(sqrt(1.0 - e) * sin(nu / 2), sqrt(1.0 + e) * cos(nu / 2))
    M = E - e * sin(E)
    el[0], el[1], el[2], el[3], el[4], el[5] = a, e_x, e_y, inc, raan, u_true - nu + M


cdef void published(const double* x, double* y) noexcept nogil:
    """y = [rtn_relative_state(x_C, x_T), relative_orbital_elements(x_C, x_T)] of x = [x_T, x_C]."""
    cdef double c[6]
    cdef double t[6]
    cdef double dO
    rtn_state(x + 6, x, y)
    nonsingular(x + 6, c)
    nonsingular(x, t)
    dO = wrap(c[4] - t[4])
    y[6] = (c[0] - t[0]) / t[0]
    y[7] = wrap(c[5] - t[5]) + dO * cos(t[3])
    y[8] = c[1] - t[1]
    y[9] = c[2] - t[2]
    y[10] = c[3] - t[3]
    y[11] = dO * sin(t[3])


def relative_state_covariance(const double[::1] x, const double[:, ::1] P,
                              const double[::1] floor_steps, double[::1] y,
                              double[:, ::1] C):
    """y = f(x) and C = J P J^T (symmetrised), J = df/dx by central differences, each state's
    step 1e-3 of its 1-sigma and at least floor_steps; x, floor_steps, y (12), P, C (12x12)."""
    cdef double xs[12]
    cdef double yp[12]
    cdef double ym[12]
    cdef double J[144]
    cdef double JP[144]
    cdef double step, acc
    cdef int i, j, k
    if x.shape[0] != 12 or P.shape[0] != 12 or P.shape[1] != 12 or floor_steps.shape[0] != 12 \
            or y.shape[0] != 12 or C.shape[0] != 12 or C.shape[1] != 12:
        raise ValueError("relative_state_covariance: x, floor_steps, y (12) and P, C (12x12)")
    with nogil:
        for i in range(12):
            xs[i] = x[i]
        for k in range(12):
            step = 1e-3 * sqrt(max(P[k, k], 0.0))
            if step < floor_steps[k]:
                step = floor_steps[k]
            xs[k] = x[k] + step
            published(xs, yp)
            xs[k] = x[k] - step
            published(xs, ym)
            xs[k] = x[k]
            for i in range(12):
                J[12 * i + k] = (yp[i] - ym[i]) / (2.0 * step)
        published(xs, yp)
        for i in range(12):
            y[i] = yp[i]
        for i in range(12):
            for j in range(12):
                acc = 0.0
                for k in range(12):
                    acc = acc + J[12 * i + k] * P[k, j]
                JP[12 * i + j] = acc
        for i in range(12):
            for j in range(i + 1):
                acc = 0.0
                for k in range(12):
                    acc = acc + JP[12 * i + k] * J[12 * j + k]
                C[i, j] = acc
        for i in range(12):
            for j in range(i + 1, 12):
                C[i, j] = C[j, i]
