"""Numba kernel of the truth orbit propagator: fixed-step RK4 for short calls, RK8 for long.

Long calls use the 8th-order solution of Dormand and Prince's 8(7) pair, the 12-stage tableau
of DOP853 (Hairer, Norsett & Wanner, "Solving Ordinary Differential Equations I", 2nd ed.,
1993, Sec. II.10; coefficients as in Hairer's dop853.f), at a fixed step: equal substeps no
longer than `max_substep_s`. A call no longer than `rk4_max_step_s` is one classic RK4 step:
at the plant's 0.1-2 s ticks its error (< 1e-8 m per step in LEO) is far below anything that
matters and it costs a third of an RK8 step. Fixed steps keep a run bit-reproducible. The
accuracy of both is measured in tests/hil/test_orbit.py against a tolerance-controlled
reference.

The right-hand side is autonomous (gravity and drag depend on position and velocity only,
thrust is held constant over the call), so the stage times c_i are not needed.
"""

import numpy as np
from numba import njit

from hil.orbit.forces import drag_accel, gravity_accel

# DOP853: 8th-order weights of the Dormand-Prince 8(7) pair
_A8 = np.zeros((12, 12))
_A8[1, :1] = [0.05260015195876773]
_A8[2, :2] = [0.0197250569845379, 0.0591751709536137]
_A8[3, :3] = [0.02958758547680685, 0.0, 0.08876275643042054]
_A8[4, :4] = [0.2413651341592667, 0.0, -0.8845494793282861, 0.924834003261792]
_A8[5, :5] = [0.037037037037037035, 0.0, 0.0, 0.17082860872947386, 0.12546768756682242]
_A8[6, :6] = [0.037109375, 0.0, 0.0, 0.17025221101954405, 0.06021653898045596, -0.017578125]
_A8[7, :7] = [0.03709200011850479, 0.0, 0.0, 0.17038392571223998, 0.10726203044637328,
              -0.015319437748624402, 0.008273789163814023]
_A8[8, :8] = [0.6241109587160757, 0.0, 0.0, -3.3608926294469414, -0.868219346841726,
              27.59209969944671, 20.154067550477894, -43.48988418106996]
_A8[9, :9] = [0.47766253643826434, 0.0, 0.0, -2.4881146199716677, -0.590290826836843,
              21.230051448181193, 15.279233632882423, -33.28821096898486, -0.020331201708508627]
_A8[10, :10] = [-0.9371424300859873, 0.0, 0.0, 5.186372428844064, 1.0914373489967295,
                -8.149787010746927, -18.52006565999696, 22.739487099350505, 2.4936055526796523,
                -3.0467644718982196]
_A8[11, :11] = [2.273310147516538, 0.0, 0.0, -10.53449546673725, -2.0008720582248625,
                -17.9589318631188, 27.94888452941996, -2.8589982771350235, -8.87285693353063,
                12.360567175794303, 0.6433927460157636]
_B8 = np.array([0.054293734116568765, 0.0, 0.0, 0.0, 0.0, 4.450312892752409,
                1.8915178993145003, -5.801203960010585, 0.3111643669578199, -0.1521609496625161,
                0.20136540080403034, 0.04471061572777259])
_N_STAGES = 12


@njit(cache=True)
def _acceleration(x, y, z, vx, vy, vz, thrust_x, thrust_y, thrust_z, inv_ballistic, j2):
    """Gravity + drag + thrust (m/s^2) at position (x, y, z) (m) and velocity (vx, vy, vz)."""
    gx, gy, gz = gravity_accel(x, y, z, j2)
    dx, dy, dz = drag_accel(x, y, z, vx, vy, vz, inv_ballistic)
    return gx + dx + thrust_x, gy + dy + thrust_y, gz + dz + thrust_z


@njit(cache=True, inline="always")
def _state_derivative(y, thrust_x, thrust_y, thrust_z, inv_ballistic, j2, out):
    """d/dt [r, v] = [v, gravity + drag + thrust], written into `out` (6,)."""
    out[0] = y[3]
    out[1] = y[4]
    out[2] = y[5]
    out[3], out[4], out[5] = _acceleration(y[0], y[1], y[2], y[3], y[4], y[5], thrust_x,
                                           thrust_y, thrust_z, inv_ballistic, j2)


@njit(cache=True, inline="always")
def _rk4_step(y, h, thrust_x, thrust_y, thrust_z, inv_ballistic, j2):
    """Advance `y` (6,) in place by one classic RK4 step (Kutta 1901) of length `h` (s).

    On scalars rather than through the tableau loop of `_explicit_rk_step`: the plant calls it
    every tick, and so it costs half as much; a loop over the stages rather than four calls of
    the force model, which compiles in a fraction of the time. Stage s is evaluated at
    y + c_s k_(s-1), c = (0, h/2, h/2, h), and y advances by h/6 (k_1 + 2 k_2 + 2 k_3 + k_4).
    """
    x, yy, z, vx, vy, vz = y[0], y[1], y[2], y[3], y[4], y[5]
    # the stage state, and the weighted sum of the stage derivatives
    sx, sy, sz, svx, svy, svz = x, yy, z, vx, vy, vz
    kx = ky = kz = kvx = kvy = kvz = 0.0
    for stage in range(4):
        ax, ay, az = _acceleration(sx, sy, sz, svx, svy, svz, thrust_x, thrust_y, thrust_z,
                                   inv_ballistic, j2)
        weight = 1.0 if stage == 0 or stage == 3 else 2.0
        kx += weight * svx
        ky += weight * svy
        kz += weight * svz
        kvx += weight * ax
        kvy += weight * ay
        kvz += weight * az
        c = 0.5 * h if stage < 2 else h
        sx, sy, sz = x + c * svx, yy + c * svy, z + c * svz
        svx, svy, svz = vx + c * ax, vy + c * ay, vz + c * az
    sixth = h / 6.0
    y[0] = x + sixth * kx
    y[1] = yy + sixth * ky
    y[2] = z + sixth * kz
    y[3] = vx + sixth * kvx
    y[4] = vy + sixth * kvy
    y[5] = vz + sixth * kvz


@njit(cache=True)
def _explicit_rk_step(y, h, a, b, thrust_x, thrust_y, thrust_z, inv_ballistic, j2, k, y_stage):
    """Advance `y` (6,) in place by one step of length `h` (s) of the explicit Runge-Kutta
    method with tableau (a, b); `k` (stages, 6) and `y_stage` (6,) are scratch."""
    n_stages = b.shape[0]
    for s in range(n_stages):
        for c in range(6):
            acc = 0.0
            for j in range(s):
                acc += a[s, j] * k[j, c]
            y_stage[c] = y[c] + h * acc
        _state_derivative(y_stage, thrust_x, thrust_y, thrust_z, inv_ballistic, j2, k[s])
    for c in range(6):
        acc = 0.0
        for s in range(n_stages):
            acc += b[s] * k[s, c]
        y[c] += h * acc


OK = 0
NON_FINITE_INPUT = 1
STARTS_INSIDE_EARTH = 2
ENDS_INSIDE_EARTH = 3


@njit(cache=True, inline="always")
def propagate_states_kernel(states, dt_s, thrust_accel, inv_ballistic, j2, max_substep_s,
                            rk4_max_step_s, min_radius_m, out):
    """Write into `out` (n, 6) the states (n, 6) [r (m), v (m/s)] ECI after `dt_s` (s).

    `thrust_accel` (n, 3) m/s^2 ECI is held constant over the call, `inv_ballistic` (n,) is
    C_D A / m (m^2/kg, 0 = no drag), `j2` the zonal coefficient (0 = two-body). A call with
    |dt_s| <= min(rk4_max_step_s, max_substep_s) is one RK4 step, a longer one
    ceil(|dt_s| / max_substep_s) equal RK8 substeps. Input checks live here so that the plant's
    per-step call stays in compiled code: returns OK, NON_FINITE_INPUT, STARTS_INSIDE_EARTH or
    ENDS_INSIDE_EARTH (a radius below `min_radius_m`, or a state that diverged).
    """
    n = states.shape[0]
    for i in range(n):
        for c in range(6):
            if not np.isfinite(states[i, c]):
                return NON_FINITE_INPUT
        for c in range(3):
            if not np.isfinite(thrust_accel[i, c]):
                return NON_FINITE_INPUT
        if _radius(states[i]) < min_radius_m:
            return STARTS_INSIDE_EARTH
    rk4 = abs(dt_s) <= min(rk4_max_step_s, max_substep_s)
    n_substeps = int(np.ceil(abs(dt_s) / max_substep_s))
    h = dt_s / n_substeps if n_substeps > 0 else 0.0
    for i in range(n):
        y = out[i]
        for c in range(6):
            y[c] = states[i, c]
        if rk4:
            for _ in range(n_substeps):
                _rk4_step(y, h, thrust_accel[i, 0], thrust_accel[i, 1], thrust_accel[i, 2],
                          inv_ballistic[i], j2)
        else:
            _rk8_substeps(y, h, n_substeps, thrust_accel[i, 0], thrust_accel[i, 1],
                          thrust_accel[i, 2], inv_ballistic[i], j2)
        if not _radius(y) >= min_radius_m:
            return ENDS_INSIDE_EARTH
    return OK


@njit(cache=True)
def _rk8_substeps(y, h, n_substeps, thrust_x, thrust_y, thrust_z, inv_ballistic, j2):
    """Advance `y` (6,) in place by n_substeps RK8 steps of length h (s)."""
    k = np.empty((_N_STAGES, 6))
    y_stage = np.empty(6)
    for _ in range(n_substeps):
        _explicit_rk_step(y, h, _A8, _B8, thrust_x, thrust_y, thrust_z, inv_ballistic, j2, k,
                          y_stage)


# Layout of the packed array of n spacecraft that `step_packed_kernel` steps, one array so
# that a plant tick passes one argument, in rows of 6 so that its parts are 2-D slices (which
# cost nothing, where a reshape would): row 0 the model's scalars (J2, MAX_SUBSTEP_S,
# RK4_MAX_STEP_S, MIN_RADIUS_M, then 0, 0), rows 1..n the states, n+1..2n scratch, and rows
# 2n+1..3n [thrust_accel (3), inv_ballistic, 0, 0] of each spacecraft.
J2, MAX_SUBSTEP_S, RK4_MAX_STEP_S, MIN_RADIUS_M = 0, 1, 2, 3


def packed_shape(n):
    """Shape of the packed array of n spacecraft."""
    return (1 + 3 * n, 6)


@njit(cache=True, inline="always")
def unpack(packed):
    """Views (inv_ballistic (n,), states (n, 6), scratch (n, 6), thrust_accel (n, 3)) into
    the packed array; `unpack.py_func` makes the same views with numpy."""
    n = (packed.shape[0] - 1) // 3
    extras = packed[1 + 2 * n:1 + 3 * n]
    return extras[:, 3], packed[1:1 + n], packed[1 + n:1 + 2 * n], extras[:, :3]


@njit(cache=True)
def step_packed_kernel(packed, dt_s):
    """`propagate_states_kernel` in place on a packed array (layout above): advance its states
    by dt_s (s) under its thrust_accel, held over the step. The states are written only if the
    whole step succeeds; returns the status of `propagate_states_kernel`."""
    inv_ballistic, states, scratch, thrust_accel = unpack(packed)
    status = propagate_states_kernel(states, dt_s, thrust_accel, inv_ballistic, packed[0, J2],
                                     packed[0, MAX_SUBSTEP_S], packed[0, RK4_MAX_STEP_S],
                                     packed[0, MIN_RADIUS_M], scratch)
    if status == OK:
        for i in range(states.shape[0]):
            for c in range(6):
                states[i, c] = scratch[i, c]
    return status


@njit(cache=True, inline="always")
def _radius(y):
    return np.sqrt(y[0] * y[0] + y[1] * y[1] + y[2] * y[2])
