# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Two-body + J2 state transition and covariance time update (the filters' predict step).

``predict`` advances one spacecraft's [r, v] and its 6x6 covariance (the orbit filter);
``predict_pair`` advances two independent spacecraft stacked as [x_T, x_C] with their 12x12
joint covariance (the relative filter): Phi is block diagonal, so the blocks are propagated as
P_TT <- Phi_T P_TT Phi_T^T, P_TC <- Phi_T P_TC Phi_C^T, P_CC <- Phi_C P_CC Phi_C^T; the
process noise has a part shared by both (it cancels in the relative state).

The equations are those of ``dynamics.py`` (Vallado 2013 sec. 8.6 for the J2 acceleration, its
gradient by the product rule, RK4 on the state and the variational equations Phi' = A Phi,
A = [[0, I], [G, 0]]); ``dynamics.propagate_reference`` and ``predict_reference`` are the
numpy twins the tests compare against. Everything works on stack arrays: no allocation.
"""
from libc.math cimport sqrt, ceil, fabs

cdef double MU = 3.986004418e14
cdef double RE = 6378137.0
cdef double J2 = 1.08262668e-3


cdef inline void accel(const double* r, double* a) noexcept nogil:
    cdef double r2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2]
    cdef double rn = sqrt(r2)
    cdef double mu_r3 = MU / (r2 * rn)
    cdef double s = 1.5 * J2 * MU * RE * RE / (r2 * r2 * rn)
    cdef double f = 5.0 * r[2] * r[2] / r2
    a[0] = -mu_r3 * r[0] + s * r[0] * (f - 1.0)
    a[1] = -mu_r3 * r[1] + s * r[1] * (f - 1.0)
    a[2] = -mu_r3 * r[2] + s * r[2] * (f - 3.0)


cdef inline void gradient(const double* r, double* G) noexcept nogil:
    """G (row-major 3x3) = d a / d r; see dynamics.gravity_gradient_reference."""
    cdef double r2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2]
    cdef double rn = sqrt(r2)
    cdef double mu_r3 = MU / (r2 * rn)
    cdef double s = 1.5 * J2 * MU * RE * RE / (r2 * r2 * rn)
    cdef double f = 5.0 * r[2] * r[2] / r2
    cdef double fc[3]
    cdef double df[3]
    cdef int i, j
    fc[0] = f - 1.0
    fc[1] = f - 1.0
    fc[2] = f - 3.0
    for j in range(3):
        df[j] = -2.0 * f * r[j] / r2
    df[2] += 10.0 * r[2] / r2
    for i in range(3):
        for j in range(3):
            G[3 * i + j] = (mu_r3 * 3.0 * r[i] * r[j] / r2
                            + s * (-5.0 * r[i] * r[j] * fc[i] / r2 + r[i] * df[j]))
        G[4 * i] += -mu_r3 + s * fc[i]


cdef inline void derivative(const double* x, const double* phi, double* dx, double* dphi,
                            bint with_stm) noexcept nogil:
    """x' = [v, a(r)]; Phi' = [Phi_v rows; G Phi_r rows] (row-major 6x6)."""
    cdef double G[9]
    cdef int i, j, k
    cdef double acc
    dx[0] = x[3]
    dx[1] = x[4]
    dx[2] = x[5]
    accel(x, dx + 3)
    if not with_stm:
        return
    gradient(x, G)
    for i in range(18):
        dphi[i] = phi[18 + i]
    for i in range(3):
        for j in range(6):
            acc = 0.0
            for k in range(3):
                acc += G[3 * i + k] * phi[6 * k + j]
            dphi[18 + 6 * i + j] = acc


cdef void rk4(double* x, double* phi, double dt, double step_max, bint with_stm) noexcept nogil:
    """Propagate x (6) and, if with_stm, phi (36, starting from identity) over dt in place."""
    cdef int n = <int>ceil(fabs(dt) / step_max)
    cdef double h
    cdef double k1x[6]
    cdef double k2x[6]
    cdef double k3x[6]
    cdef double k4x[6]
    cdef double xt[6]
    cdef double k1p[36]
    cdef double k2p[36]
    cdef double k3p[36]
    cdef double k4p[36]
    cdef double pt[36]
    cdef int step, i
    cdef int m = 36 if with_stm else 0
    if n < 1:
        n = 1
    h = dt / n
    for step in range(n):
        derivative(x, phi, k1x, k1p, with_stm)
        for i in range(6):
            xt[i] = x[i] + 0.5 * h * k1x[i]
        for i in range(m):
            pt[i] = phi[i] + 0.5 * h * k1p[i]
        derivative(xt, pt, k2x, k2p, with_stm)
        for i in range(6):
            xt[i] = x[i] + 0.5 * h * k2x[i]
        for i in range(m):
            pt[i] = phi[i] + 0.5 * h * k2p[i]
        derivative(xt, pt, k3x, k3p, with_stm)
        for i in range(6):
            xt[i] = x[i] + h * k3x[i]
        for i in range(m):
            pt[i] = phi[i] + h * k3p[i]
        derivative(xt, pt, k4x, k4p, with_stm)
        for i in range(6):
            x[i] += h / 6.0 * (k1x[i] + 2.0 * k2x[i] + 2.0 * k3x[i] + k4x[i])
        for i in range(m):
            phi[i] += h / 6.0 * (k1p[i] + 2.0 * k2p[i] + 2.0 * k3p[i] + k4p[i])


cdef inline void identity6(double* phi) noexcept nogil:
    cdef int i
    for i in range(36):
        phi[i] = 0.0
    for i in range(6):
        phi[7 * i] = 1.0


def propagate_stm(const double[::1] x_in, double dt, double step_max, double[::1] x_out,
                  double[:, ::1] phi_out):
    """x_out = x(t + dt), phi_out = Phi(t + dt, t) (6x6) by RK4 in steps <= step_max (s)."""
    cdef double x[6]
    cdef double phi[36]
    cdef int i, j
    if x_in.shape[0] != 6 or x_out.shape[0] != 6 or phi_out.shape[0] != 6 or phi_out.shape[1] != 6:
        raise ValueError("propagate_stm: x must have 6 elements and phi 6x6")
    if not step_max > 0.0:
        raise ValueError("propagate_stm: step_max must be positive")
    for i in range(6):
        x[i] = x_in[i]
    identity6(phi)
    with nogil:
        rk4(x, phi, dt, step_max, True)
    for i in range(6):
        x_out[i] = x[i]
        for j in range(6):
            phi_out[i, j] = phi[6 * i + j]


def propagate_state(const double[::1] x_in, double dt, double step_max, double[::1] x_out):
    """x_out = x(t + dt) by RK4 in steps <= step_max (s), without the STM."""
    cdef double x[6]
    cdef double phi[36]
    cdef int i
    if x_in.shape[0] != 6 or x_out.shape[0] != 6:
        raise ValueError("propagate_state: x must have 6 elements")
    if not step_max > 0.0:
        raise ValueError("propagate_state: step_max must be positive")
    for i in range(6):
        x[i] = x_in[i]
    with nogil:
        rk4(x, phi, dt, step_max, False)
    for i in range(6):
        x_out[i] = x[i]


cdef void covariance_update(double* P, const double* phi, double dt, double q) noexcept nogil:
    """P <- Phi P Phi^T + Q(dt, q), symmetrised; P and phi row-major 6x6."""
    cdef double T[36]
    cdef double acc, adt = fabs(dt)
    cdef double q11 = q * adt * adt * adt / 3.0
    cdef double q12 = q * adt * adt / 2.0
    cdef double q22 = q * adt
    cdef int i, j, k
    for i in range(6):
        for j in range(6):
            acc = 0.0
            for k in range(6):
                acc += phi[6 * i + k] * P[6 * k + j]
            T[6 * i + j] = acc
    for i in range(6):
        for j in range(i, 6):
            acc = 0.0
            for k in range(6):
                acc += T[6 * i + k] * phi[6 * j + k]
            P[6 * i + j] = acc
            P[6 * j + i] = acc
    for i in range(3):
        P[7 * i] += q11
        P[7 * (i + 3)] += q22
        P[6 * i + i + 3] += q12
        P[6 * (i + 3) + i] += q12


def predict(double[::1] x, double[:, ::1] P, double dt, double q, double step_max):
    """EKF time update in place: x <- x(t + dt), P <- Phi P Phi^T + Q (white acceleration q)."""
    cdef double xs[6]
    cdef double phi[36]
    cdef double Ps[36]
    cdef int i, j
    if x.shape[0] != 6 or P.shape[0] != 6 or P.shape[1] != 6:
        raise ValueError("predict: x must have 6 elements and P 6x6")
    if not step_max > 0.0:
        raise ValueError("predict: step_max must be positive")
    for i in range(6):
        xs[i] = x[i]
        for j in range(6):
            Ps[6 * i + j] = P[i, j]
    identity6(phi)
    with nogil:
        rk4(xs, phi, dt, step_max, True)
        covariance_update(Ps, phi, dt, q)
    for i in range(6):
        x[i] = xs[i]
        for j in range(6):
            P[i, j] = Ps[6 * i + j]


cdef void block_update(double* P, int ld, int row0, int col0, const double* phi_row,
                       const double* phi_col) noexcept nogil:
    """P[row0:row0+6, col0:col0+6] <- phi_row P_block phi_col^T, P row-major with leading dim ld."""
    cdef double T[36]
    cdef double acc
    cdef int i, j, k
    for i in range(6):
        for j in range(6):
            acc = 0.0
            for k in range(6):
                acc += phi_row[6 * i + k] * P[(row0 + k) * ld + col0 + j]
            T[6 * i + j] = acc
    for i in range(6):
        for j in range(6):
            acc = 0.0
            for k in range(6):
                acc += T[6 * i + k] * phi_col[6 * j + k]
            P[(row0 + i) * ld + col0 + j] = acc


cdef inline void add_white_accel(double* P, int ld, int row0, int col0, double dt,
                                 double q) noexcept nogil:
    """The block P[row0:+6, col0:+6] += Q(dt, q): a diagonal block for a spacecraft's own
    white acceleration, an off-diagonal one for an acceleration two spacecraft share."""
    cdef double adt = fabs(dt)
    cdef int i
    for i in range(3):
        P[(row0 + i) * ld + col0 + i] += q * adt * adt * adt / 3.0
        P[(row0 + i + 3) * ld + col0 + i + 3] += q * adt
        P[(row0 + i) * ld + col0 + i + 3] += q * adt * adt / 2.0
        P[(row0 + i + 3) * ld + col0 + i] += q * adt * adt / 2.0


def predict_pair(double[::1] x, double[:, ::1] P, double dt, double q_T, double q_C,
                 double q_common, double step_max, double[::1] c):
    """Joint time update in place of x = [x_T, x_C] (12) and P (12x12): each spacecraft
    propagated by RK4 with its STM, P <- Phi P Phi^T + Q with the white accelerations
    w_T = w_0 + w_T', w_C = w_0 + w_C' (PSDs q_common of the shared w_0, q_T and q_C of the
    own parts): Q = [[Q(q_T + q_0), Q(q_0)], [Q(q_0), Q(q_C + q_0)]]. c (12), the covariance
    of the state with a constant consider parameter, becomes Phi c."""
    cdef double xt[6]
    cdef double xc[6]
    cdef double phit[36]
    cdef double phic[36]
    cdef double Ps[144]
    cdef double cs[12]
    cdef double acc
    cdef int i, j
    if x.shape[0] != 12 or P.shape[0] != 12 or P.shape[1] != 12 or c.shape[0] != 12:
        raise ValueError("predict_pair: x and c must have 12 elements and P be 12x12")
    if not step_max > 0.0:
        raise ValueError("predict_pair: step_max must be positive")
    for i in range(6):
        xt[i] = x[i]
        xc[i] = x[6 + i]
    for i in range(12):
        for j in range(12):
            Ps[12 * i + j] = P[i, j]
    identity6(phit)
    identity6(phic)
    with nogil:
        rk4(xt, phit, dt, step_max, True)
        rk4(xc, phic, dt, step_max, True)
        block_update(Ps, 12, 0, 0, phit, phit)
        block_update(Ps, 12, 0, 6, phit, phic)
        block_update(Ps, 12, 6, 6, phic, phic)
        add_white_accel(Ps, 12, 0, 0, dt, q_T + q_common)
        add_white_accel(Ps, 12, 6, 6, dt, q_C + q_common)
        add_white_accel(Ps, 12, 0, 6, dt, q_common)
    for i in range(12):
        cs[i] = c[i]
    for i in range(6):
        x[i] = xt[i]
        x[6 + i] = xc[i]
        acc = 0.0
        for j in range(6):
            acc += phit[6 * i + j] * cs[j]
        c[i] = acc
        acc = 0.0
        for j in range(6):
            acc += phic[6 * i + j] * cs[6 + j]
        c[6 + i] = acc
    for i in range(12):
        for j in range(i, 12):
            if i >= 6 or j < 6:
                P[i, j] = 0.5 * (Ps[12 * i + j] + Ps[12 * j + i])
            else:
                P[i, j] = Ps[12 * i + j]
            P[j, i] = P[i, j]
