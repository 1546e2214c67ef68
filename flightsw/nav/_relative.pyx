# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Measurement updates of the relative navigation EKF.

State x = [r_TN_N, v_TN_N, r_CN_N, v_CN_N] (12): target then chaser, m and m/s, ECI. Both
measurements depend on the positions only, through the line of sight rho = r_T - r_C:

* bearing: the measured unit vector u_m, expressed in gnomonic (tangent-plane) coordinates of
  the plane perpendicular to the predicted line of sight u = rho / |rho|:
  y = E^T u_m / (u . u_m), E = [e1 e2] orthonormal and perpendicular to u, so the predicted
  measurement is 0 and H = [E^T / |rho|, 0, -E^T / |rho|, 0] (2x12); R = E^T P_u E + var_floor I;
* range: z = |rho| - offset (offset = the target's radius for a rangefinder's first return),
  H = [u^T, 0, -u^T, 0] (1x12), plus the rangefinder's constant bias, considered (not
  estimated) through c, the state's covariance with it.

The update is the Joseph form P <- (I - K H) P (I - K H)^T + K R K^T (Bar-Shalom, Li &
Kirubarajan 2001, ch. 5), after an innovation gate NIS = y^T S^-1 y <= gate. The numpy
twins are ``relative.bearing_update_reference`` and ``relative.range_update_reference``.
"""
from libc.math cimport sqrt, fabs, INFINITY

cdef enum:
    N = 12


cdef void joseph(double* x, double* P, const double* H, const double* K, const double* R,
                 const double* y, int m) noexcept nogil:
    """x += K y; P <- (I - K H) P (I - K H)^T + K R K^T for m (1 or 2) measurements.

    x (12), P (12x12), H (m x 12), K (12 x m), R (m x m), all row-major.
    """
    cdef double A[144]
    cdef double T[144]
    cdef double acc
    cdef int i, j, k, l
    for i in range(N):
        for k in range(m):
            x[i] += K[m * i + k] * y[k]
    for i in range(N):
        for j in range(N):
            acc = 1.0 if i == j else 0.0
            for k in range(m):
                acc -= K[m * i + k] * H[N * k + j]
            A[N * i + j] = acc
    for i in range(N):
        for j in range(N):
            acc = 0.0
            for k in range(N):
                acc += A[N * i + k] * P[N * k + j]
            T[N * i + j] = acc
    for i in range(N):
        for j in range(i, N):
            acc = 0.0
            for k in range(N):
                acc += T[N * i + k] * A[N * j + k]
            for k in range(m):
                for l in range(m):
                    acc += K[m * i + k] * R[m * k + l] * K[m * j + l]
            P[N * i + j] = acc
            P[N * j + i] = acc


cdef int load(const double[::1] x, const double[:, ::1] P, double* xs, double* Ps):
    cdef int i, j
    if x.shape[0] != N or P.shape[0] != N or P.shape[1] != N:
        raise ValueError("the relative filter's state must have 12 elements and P be 12x12")
    for i in range(N):
        xs[i] = x[i]
        for j in range(N):
            Ps[N * i + j] = P[i, j]
    return 0


cdef void store(double[::1] x, double[:, ::1] P, const double* xs, const double* Ps):
    cdef int i, j
    for i in range(N):
        x[i] = xs[i]
        for j in range(N):
            P[i, j] = Ps[N * i + j]


cdef void gain(const double* Ps, const double* H, const double* R, int m, double* PHt,
               double* S) noexcept nogil:
    """PHt = P H^T (12 x m), S = H P H^T + R (m x m), symmetrised."""
    cdef double acc
    cdef int i, j, k
    for i in range(N):
        for k in range(m):
            acc = 0.0
            for j in range(N):
                acc += Ps[N * i + j] * H[N * k + j]
            PHt[m * i + k] = acc
    for k in range(m):
        for i in range(m):
            acc = 0.0
            for j in range(N):
                acc += H[N * k + j] * PHt[m * j + i]
            S[m * k + i] = acc + R[m * k + i]
    if m == 2:
        S[1] = 0.5 * (S[1] + S[2])
        S[2] = S[1]


cdef inline void perpendicular_basis(const double* u, double* e1, double* e2) noexcept nogil:
    """e1, e2: orthonormal, perpendicular to the unit u, right-handed (e1 x e2 = u)."""
    cdef double a[3]
    cdef double n
    cdef int k = 0
    a[0] = 0.0
    a[1] = 0.0
    a[2] = 0.0
    if fabs(u[1]) < fabs(u[k]):
        k = 1
    if fabs(u[2]) < fabs(u[k]):
        k = 2
    a[k] = 1.0
    e1[0] = a[1] * u[2] - a[2] * u[1]
    e1[1] = a[2] * u[0] - a[0] * u[2]
    e1[2] = a[0] * u[1] - a[1] * u[0]
    n = sqrt(e1[0] * e1[0] + e1[1] * e1[1] + e1[2] * e1[2])
    e1[0] /= n
    e1[1] /= n
    e1[2] /= n
    e2[0] = u[1] * e1[2] - u[2] * e1[1]
    e2[1] = u[2] * e1[0] - u[0] * e1[2]
    e2[2] = u[0] * e1[1] - u[1] * e1[0]


cdef int bearing_geometry(const double* xs, const double[::1] u_meas, const double[:, ::1] P_u,
                          double var_floor, double* H, double* R, double* z) noexcept:
    """At the state xs: H (2x12), R (2x2) and the measured gnomonic coordinates z (2) in the
    basis perpendicular to the predicted line of sight. Returns 0, or 1 when the geometry is
    degenerate (zero range, or the measurement points away from the prediction)."""
    cdef double rho[3]
    cdef double u[3]
    cdef double e1[3]
    cdef double e2[3]
    cdef double Pe1[3]
    cdef double Pe2[3]
    cdef double d, cosang
    cdef int i, j
    for i in range(3):
        rho[i] = xs[i] - xs[6 + i]
    d = sqrt(rho[0] * rho[0] + rho[1] * rho[1] + rho[2] * rho[2])
    if not d > 0.0:
        return 1
    for i in range(3):
        u[i] = rho[i] / d
    cosang = u[0] * u_meas[0] + u[1] * u_meas[1] + u[2] * u_meas[2]
    if not cosang > 0.0:
        return 1
    perpendicular_basis(u, e1, e2)
    z[0] = (e1[0] * u_meas[0] + e1[1] * u_meas[1] + e1[2] * u_meas[2]) / cosang
    z[1] = (e2[0] * u_meas[0] + e2[1] * u_meas[1] + e2[2] * u_meas[2]) / cosang
    for i in range(24):
        H[i] = 0.0
    for j in range(3):
        H[j] = e1[j] / d
        H[N + j] = e2[j] / d
        H[6 + j] = -e1[j] / d
        H[N + 6 + j] = -e2[j] / d
    for i in range(3):
        Pe1[i] = P_u[i, 0] * e1[0] + P_u[i, 1] * e1[1] + P_u[i, 2] * e1[2]
        Pe2[i] = P_u[i, 0] * e2[0] + P_u[i, 1] * e2[1] + P_u[i, 2] * e2[2]
    R[0] = e1[0] * Pe1[0] + e1[1] * Pe1[1] + e1[2] * Pe1[2] + var_floor
    R[1] = 0.5 * (e2[0] * Pe1[0] + e2[1] * Pe1[1] + e2[2] * Pe1[2]
                  + e1[0] * Pe2[0] + e1[1] * Pe2[1] + e1[2] * Pe2[2])
    R[2] = R[1]
    R[3] = e2[0] * Pe2[0] + e2[1] * Pe2[1] + e2[2] * Pe2[2] + var_floor
    return 0


cdef void consider_gain(double[::1] c, const double* H, const double* K, int m,
                       double var_b) noexcept:
    """c <- (I - K H) c - K var_b (var_b the bias variance for a measurement carrying the bias,
    0 otherwise): the cross-covariance with a consider parameter after an update."""
    cdef double hc[2]
    cdef double acc
    cdef int i, j, k
    for k in range(m):
        acc = 0.0
        for j in range(N):
            acc += H[N * k + j] * c[j]
        hc[k] = acc
    for i in range(N):
        for k in range(m):
            c[i] -= K[m * i + k] * (hc[k] + var_b)


cdef int inverse2(const double* S, double* Si) noexcept nogil:
    cdef double det = S[0] * S[3] - S[1] * S[2]
    if not det > 0.0:
        return 1
    Si[0] = S[3] / det
    Si[1] = -S[1] / det
    Si[2] = -S[2] / det
    Si[3] = S[0] / det
    return 0


def bearing_update(double[::1] x, double[:, ::1] P, const double[::1] u_meas,
                   const double[:, ::1] P_u, double var_floor, double gate, int max_iter,
                   double tol_rad, double[::1] c):
    """Iterated bearing update in place (see module docstring). Returns (nis, accepted, iters).

    x (12) and P (12x12) the joint state, u_meas the measured unit line of sight chaser ->
    target (ECI), P_u its 3x3 covariance (rad^2), var_floor (rad^2) added on both axes, gate
    the chi-square bound on the 2-dof NIS (evaluated at the prior). The iterated EKF
    (Bell & Cathey, The iterated Kalman filter update as a Gauss-Newton method, IEEE Trans.
    Automatic Control 38(2), 1993) relinearises at each iterate x_i:
    x_{i+1} = x_prior + K_i (z_i - H_i (x_prior - x_i)), until the predicted line of sight moves
    by less than tol_rad or max_iter iterations; the Joseph covariance update uses the last
    linearisation, so a large first correction leaves the covariance aligned with the new
    line of sight. Beyond the gate, or pointing away from the prediction, x and P are left
    as they were and accepted is False. c (12), the state's covariance with the range bias
    (a consider parameter the bearing does not see), becomes (I - K H) c.
    """
    cdef double xs[12]
    cdef double xi[12]
    cdef double xn[12]
    cdef double Ps[144]
    cdef double H[24]
    cdef double PHt[24]
    cdef double K[24]
    cdef double R[4]
    cdef double S[4]
    cdef double Si[4]
    cdef double z[2]
    cdef double y[2]
    cdef double nis, hd, moved
    cdef int i, j, it
    if u_meas.shape[0] != 3 or P_u.shape[0] != 3 or P_u.shape[1] != 3 or c.shape[0] != N:
        raise ValueError("bearing_update: u_meas (3), P_u (3x3), c (12)")
    if max_iter < 1:
        raise ValueError("bearing_update: max_iter must be >= 1")
    load(x, P, xs, Ps)
    for i in range(N):
        xi[i] = xs[i]
    for i in range(24):
        H[i] = 0.0
        K[i] = 0.0
    for i in range(4):
        R[i] = 0.0
    y[0] = 0.0
    y[1] = 0.0
    nis = INFINITY
    for it in range(1, max_iter + 1):
        if bearing_geometry(xi, u_meas, P_u, var_floor, H, R, z):
            return INFINITY, False, it
        gain(Ps, H, R, 2, PHt, S)
        if inverse2(S, Si):
            return INFINITY, False, it
        # y = z_i - H_i (x_prior - x_i)
        for i in range(2):
            hd = 0.0
            for j in range(N):
                hd += H[N * i + j] * (xs[j] - xi[j])
            y[i] = z[i] - hd
        if it == 1:
            nis = y[0] * (Si[0] * y[0] + Si[1] * y[1]) + y[1] * (Si[2] * y[0] + Si[3] * y[1])
            if not nis <= gate:
                return nis, False, it
        for i in range(N):
            K[2 * i] = PHt[2 * i] * Si[0] + PHt[2 * i + 1] * Si[2]
            K[2 * i + 1] = PHt[2 * i] * Si[1] + PHt[2 * i + 1] * Si[3]
            xn[i] = xs[i] + K[2 * i] * y[0] + K[2 * i + 1] * y[1]
        # the line of sight's move: the gnomonic coordinates of the new iterate, at x_i
        moved = 0.0
        for i in range(2):
            hd = 0.0
            for j in range(N):
                hd += H[N * i + j] * (xn[j] - xi[j])
            moved += hd * hd
        if sqrt(moved) < tol_rad or it == max_iter:
            break
        for i in range(N):
            xi[i] = xn[i]
    joseph(xs, Ps, H, K, R, y, 2)
    store(x, P, xs, Ps)
    consider_gain(c, H, K, 2, 0.0)
    return nis, True, it


def range_update(double[::1] x, double[:, ::1] P, double z, double var, double offset,
                 double gate, double[::1] c, double var_b):
    """Range update in place: z = |r_T - r_C| - offset + b (m), noise variance var (m^2), with
    b a constant bias of variance var_b that the filter considers but does not estimate
    (Schmidt-Kalman; var_b = 0 for a range without it), c (12) the state's covariance with b.

    With H the range's Jacobian: S = H P H^T + H c + c^T H^T + var_b + var,
    K = (P H^T + c) / S, x += K y, and the Joseph form extended by the bias terms,
    P <- A P A^T - A c K^T - K c^T A^T + K (var + var_b) K^T, A = I - K H, c <- A c - K var_b
    (Schmidt, 1966; Tapley, Schutz & Born, Statistical Orbit Determination, 2004, sec. 6.2).
    Returns (nis, accepted); beyond the 1-dof gate, x, P and c are left as they were.
    """
    cdef double xs[12]
    cdef double Ps[144]
    cdef double H[12]
    cdef double PHt[12]
    cdef double K[12]
    cdef double Ac[12]
    cdef double R[1]
    cdef double S[1]
    cdef double y[1]
    cdef double d, nis, hc
    cdef int i, j
    if c.shape[0] != N:
        raise ValueError("range_update: c must have 12 elements")
    load(x, P, xs, Ps)
    d = sqrt((xs[0] - xs[6]) ** 2 + (xs[1] - xs[7]) ** 2 + (xs[2] - xs[8]) ** 2)
    if not (d > 0.0 and var > 0.0 and var_b >= 0.0):
        return INFINITY, False
    for i in range(N):
        H[i] = 0.0
    for i in range(3):
        H[i] = (xs[i] - xs[6 + i]) / d
        H[6 + i] = -H[i]
    hc = 0.0
    for i in range(N):
        hc += H[i] * c[i]
    # the bias adds to the noise in S and in the Joseph form's K R K^T
    R[0] = var + var_b
    gain(Ps, H, R, 1, PHt, S)
    S[0] += 2.0 * hc
    y[0] = z - (d - offset)
    nis = y[0] * y[0] / S[0]
    if not (S[0] > 0.0 and nis <= gate):
        return nis, False
    for i in range(N):
        K[i] = (PHt[i] + c[i]) / S[0]
    joseph(xs, Ps, H, K, R, y, 1)
    # A c = c - K (H c), and the Joseph form's cross terms with the bias
    for i in range(N):
        Ac[i] = c[i] - K[i] * hc
    for i in range(N):
        for j in range(N):
            Ps[N * i + j] -= Ac[i] * K[j] + K[i] * Ac[j]
    store(x, P, xs, Ps)
    consider_gain(c, H, K, 1, var_b)
    return nis, True
