"""Numba kernel of the chaser's attitude truth: rigid body + reaction wheels, RK4.

State x = [q_BN (4), omega_BN_B (3), h (n)], h_i the inertial angular momentum of wheel i about
its spin axis g_i, h_i = J_s,i (g_i . omega + Omega_i). With J' = J - sum_i J_s,i g_i g_i^T the
body inertia less the rotors' axial inertia, the equations of motion are (Markley & Crassidis,
"Fundamentals of Spacecraft Attitude Determination and Control", 2014, Sec. 3.3: Euler's
equations with the wheels' angular momentum):

    H_B       = J' omega + G h                        total angular momentum, body components
    J' omega' = L_ext - G u - omega x H_B             u_i motor torque on wheel i
    h'        = u
    q_BN'     = 1/2 q_BN (x) [0, omega]               Hamilton product, scalar first

The motor torques and the external torque are held constant over a step; the quaternion is
renormalised after every RK4 substep. A step is cut into equal substeps, as few as keep each
substep under `max_substep_s` and the motion's fastest rate times the substep under
`max_substep_angle_rad`; that rate is bounded by the body rate over the step,
|omega| + |J'^-1| |L - G u| dt, plus the precession rate |J'^-1| |G h| that the wheels' momentum
imposes on omega. RK4's error grows as the fifth power of that angle, so a slowly pointing
spacecraft with lightly loaded wheels takes one or two substeps per plant tick, and a tumbling
one or one with saturated wheels as many as it needs.
"""

import numpy as np
from numba import njit

OK = 0
NON_FINITE_INPUT = 1
BAD_STEP = 2

# Layout of the packed model (`pack_model`): offsets into one flat float64 array, so that the
# per-step call passes one parameter array and the kernel reads it without creating views.
_J = 0  # J' (3 x 3, row-major): inertia less the rotors' axial inertia, kg m^2
_J_INV = 9  # J'^-1 (3 x 3, row-major)
_J_INV_NORM = 18  # |J'^-1| = 1 / smallest principal moment of J'
_MAX_SUBSTEP_S = 19
_MAX_SUBSTEP_ANGLE_RAD = 20
_AXES = 21  # spin axis of wheel i at _AXES + 3 i
# then four blocks of n values each: per-wheel parameters, block k at _AXES + 3 n + k n
_SPIN_INERTIA, _SELF_GAIN, _MAX_TORQUE, _MAX_MOMENTUM = 0, 1, 2, 3


def pack_model(inertia, inertia_inv, axes, spin_inertia, self_gain, max_torque, max_momentum,
               max_substep_s, max_substep_angle_rad):
    """The body, wheel and integrator parameters as one flat float64 array (layout above)."""
    inertia_inv_norm = 1.0 / np.linalg.eigvalsh(inertia).min()
    scalars = np.array([inertia_inv_norm, max_substep_s, max_substep_angle_rad])
    return np.concatenate((inertia.ravel(), inertia_inv.ravel(), scalars, axes.ravel(),
                           spin_inertia, self_gain, max_torque, max_momentum))


@njit(cache=True, inline="always")
def _wheel_block(n, block):
    return _AXES + 3 * n + block * n


@njit(cache=True, inline="always")
def _derivative(x, model, u, t0, t1, t2, out):
    """dx/dt of the state x for motor torques u (n,); (t0, t1, t2) = L_ext - G u in B."""
    q0, q1, q2, q3 = x[0], x[1], x[2], x[3]
    w0, w1, w2 = x[4], x[5], x[6]
    n = x.shape[0] - 7
    # total angular momentum H = J' omega + G h
    h0 = model[_J + 0] * w0 + model[_J + 1] * w1 + model[_J + 2] * w2
    h1 = model[_J + 3] * w0 + model[_J + 4] * w1 + model[_J + 5] * w2
    h2 = model[_J + 6] * w0 + model[_J + 7] * w1 + model[_J + 8] * w2
    for i in range(n):
        hw = x[7 + i]
        h0 += model[_AXES + 3 * i] * hw
        h1 += model[_AXES + 3 * i + 1] * hw
        h2 += model[_AXES + 3 * i + 2] * hw
        out[7 + i] = u[i]
    # net torque less the gyroscopic term omega x H, then omega' = J'^-1 (...)
    t0 -= w1 * h2 - w2 * h1
    t1 -= w2 * h0 - w0 * h2
    t2 -= w0 * h1 - w1 * h0
    out[4] = model[_J_INV + 0] * t0 + model[_J_INV + 1] * t1 + model[_J_INV + 2] * t2
    out[5] = model[_J_INV + 3] * t0 + model[_J_INV + 4] * t1 + model[_J_INV + 5] * t2
    out[6] = model[_J_INV + 6] * t0 + model[_J_INV + 7] * t1 + model[_J_INV + 8] * t2
    # q' = 1/2 q (x) [0, omega]
    out[0] = 0.5 * (-q1 * w0 - q2 * w1 - q3 * w2)
    out[1] = 0.5 * (q0 * w0 + q2 * w2 - q3 * w1)
    out[2] = 0.5 * (q0 * w1 + q3 * w0 - q1 * w2)
    out[3] = 0.5 * (q0 * w2 + q1 * w1 - q2 * w0)


# classic RK4 (Kutta 1901): stage i is evaluated at x + h _RK4_NODE[i] k_(i-1)
_RK4_NODE = np.array([0.0, 0.5, 0.5, 1.0])
_RK4_WEIGHT = np.array([1.0, 2.0, 2.0, 1.0]) / 6.0


@njit(cache=True, inline="always")
def _rk4_substep(x, model, h, u, t0, t1, t2, work):
    """One RK4 substep of length h (s), x (m,) in place; work (5 m,) holds the stage derivatives
    in its blocks 0-3 and the stage state in block 4. The quaternion is renormalised at the
    end."""
    m = x.shape[0]
    x_stage = work[4 * m:5 * m]
    for j in range(m):
        x_stage[j] = x[j]
    for stage in range(4):
        if stage > 0:
            for j in range(m):
                x_stage[j] = x[j] + _RK4_NODE[stage] * h * work[(stage - 1) * m + j]
        _derivative(x_stage, model, u, t0, t1, t2, work[stage * m:(stage + 1) * m])
    for j in range(m):
        x[j] += h * (_RK4_WEIGHT[0] * work[j] + _RK4_WEIGHT[1] * work[m + j]
                     + _RK4_WEIGHT[2] * work[2 * m + j] + _RK4_WEIGHT[3] * work[3 * m + j])
    norm = np.sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2] + x[3] * x[3])
    for j in range(4):
        x[j] /= norm


@njit(cache=True, inline="always")
def _apply_wheel_limits(x, model, dt_s, torque_cmd, out):
    """Motor torques (n,) the wheel drives apply for one step, written into `out`.

    The drive holds each rotor inside its momentum capacity, as a speed-limiting wheel drive
    does: the torque is clipped so that the rotor's momentum relative to the body,
    J_s Omega = h - J_s g.omega, ends the step within +-max_momentum (a wheel past its limit is
    braked back), then to +-max_torque. The prediction counts the wheel's own torque, with gain
    self_gain = 1 + J_s g^T J'^-1 g for the body's reaction; the body's response to the other
    wheels and to external torque also moves Omega, by a fraction ~J_s/J of their impulse over
    the step, so the limit holds to that (a few 1e-5 of capacity for typical wheels) and any
    excess is braked back on the next step.
    """
    n = x.shape[0] - 7
    w0, w1, w2 = x[4], x[5], x[6]
    spin_inertia = _wheel_block(n, _SPIN_INERTIA)
    self_gain = _wheel_block(n, _SELF_GAIN)
    max_torque = _wheel_block(n, _MAX_TORQUE)
    max_momentum = _wheel_block(n, _MAX_MOMENTUM)
    for i in range(n):
        a = _AXES + 3 * i
        relative = x[7 + i] - model[spin_inertia + i] * (
            model[a] * w0 + model[a + 1] * w1 + model[a + 2] * w2)
        u = torque_cmd[i]
        if dt_s > 0.0:
            gain_dt = model[self_gain + i] * dt_s
            upper = (model[max_momentum + i] - relative) / gain_dt
            lower = (-model[max_momentum + i] - relative) / gain_dt
            u = min(max(u, lower), upper)
        out[i] = min(max(u, -model[max_torque + i]), model[max_torque + i])


# Layout of the packed body that `step_packed_kernel` steps, one array so that a plant tick
# passes one argument (and 1-D slices, which cost nothing, where a reshape would): the model
# (`pack_model`, 21 + 7 n), the state x (7 + n), the applied motor torques (n), scratch
# (5 (7 + n)).


def pack_body(model, n):
    """The packed body of a body with n wheels and packed model `model`, state zero."""
    return np.concatenate((model, np.zeros(7 + n + n + 5 * (7 + n))))


@njit(cache=True, inline="always")
def unpack_body(body):
    """Views (model, x (7 + n,), applied (n,), work (5 (7 + n),)) into the packed body;
    `unpack_body.py_func` makes the same views with numpy."""
    n = (body.shape[0] - 63) // 14
    x_start = 21 + 7 * n
    applied_start = x_start + 7 + n
    work_start = applied_start + n
    return (body[:x_start], body[x_start:applied_start], body[applied_start:work_start],
            body[work_start:])


@njit(cache=True)
def step_packed_kernel(body, dt_s, torque_cmd, torque_B):
    """`step_kernel` on a packed body (layout above)."""
    model, x, applied, work = unpack_body(body)
    return step_kernel(x, model, dt_s, torque_cmd, torque_B, applied, work)


@njit(cache=True, inline="always")
def step_kernel(x, model, dt_s, torque_cmd, torque_B, applied, work):
    """Advance the state x in place by dt_s (s) >= 0 in equal RK4 substeps.

    model: the packed parameters (`pack_model`). torque_cmd (n,) commanded motor torques (N m),
    torque_B (3,) external torque in B (N m), both held over the step; the motor torques
    actually applied are written into `applied`. work: scratch, (5 (7 + n),). Returns OK, or
    (state untouched) BAD_STEP if dt_s is negative or not finite, NON_FINITE_INPUT if a torque
    is not finite.
    """
    n = x.shape[0] - 7
    if not (np.isfinite(dt_s) and dt_s >= 0.0):
        return BAD_STEP
    for i in range(n):
        if not np.isfinite(torque_cmd[i]):
            return NON_FINITE_INPUT
    for i in range(3):
        if not np.isfinite(torque_B[i]):
            return NON_FINITE_INPUT
    _apply_wheel_limits(x, model, dt_s, torque_cmd, applied)
    # net torque on the body, constant over the step: L_ext - G u
    t0, t1, t2 = torque_B[0], torque_B[1], torque_B[2]
    for i in range(n):
        a = _AXES + 3 * i
        t0 -= model[a] * applied[i]
        t1 -= model[a + 1] * applied[i]
        t2 -= model[a + 2] * applied[i]
    # substeps: under max_substep_s, and turning at most max_substep_angle_rad at the fastest
    # rate of the motion: the body rate |omega| reached over the step, |omega| + |J'^-1| |L - G u|
    # dt, plus the rate |J'^-1| |G h| at which the wheels' momentum makes omega precess
    hw0, hw1, hw2 = 0.0, 0.0, 0.0
    for i in range(n):
        a = _AXES + 3 * i
        hw0 += model[a] * x[7 + i]
        hw1 += model[a + 1] * x[7 + i]
        hw2 += model[a + 2] * x[7 + i]
    rate = (np.sqrt(x[4] * x[4] + x[5] * x[5] + x[6] * x[6])
            + model[_J_INV_NORM] * (np.sqrt(t0 * t0 + t1 * t1 + t2 * t2) * dt_s
                                    + np.sqrt(hw0 * hw0 + hw1 * hw1 + hw2 * hw2)))
    n_substeps = max(int(np.ceil(dt_s / model[_MAX_SUBSTEP_S])),
                     int(np.ceil(rate * dt_s / model[_MAX_SUBSTEP_ANGLE_RAD])))
    if n_substeps == 0:
        return OK
    h = dt_s / n_substeps
    for _ in range(n_substeps):
        _rk4_substep(x, model, h, applied, t0, t1, t2, work)
    return OK
