"""Attitude control against an independent rigid body with wheels; burns realised by the RCS."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from flightsw.control.app import ControlApp
from flightsw.control.attitude import (attitude_error_rad, dcm_from_quat, pointing_attitude,
                                       pyramid_axes_B, quat_from_dcm, quat_multiply,
                                       sun_off_boresight_rad, WheelArray)
from flightsw.control.thrusters import reference_layout

J = np.diag([8.0, 9.0, 7.0])
J_INV = np.linalg.inv(J)
G = pyramid_axes_B()


def rigid_body_rhs(t, x, u_w, tau_ext):
    """q_BN (scalar first), omega_BN_B, wheel momenta h (4): J w' = -w x (J w + G h) - G u +
    tau_ext, h' = u, q' = q (x) (0, w) / 2 (Schaub & Junkins eq. 3.104)."""
    q, w, h = x[:4], x[4:7], x[7:]
    q0, qv = q[0], q[1:]
    q_dot = 0.5 * np.concatenate([[-qv @ w], q0 * w + np.cross(qv, w)])
    w_dot = J_INV @ (-np.cross(w, J @ w + G @ h) - G @ u_w + tau_ext)
    return np.concatenate([q_dot, w_dot, u_w])


def rk4(x, dt, u_w, tau, substeps=4):
    """Classical Runge-Kutta over dt with the commands held (steps of 50 ms, far finer than
    the 10 s time constant of the loop)."""
    h = dt / substeps
    for _ in range(substeps):
        k1 = rigid_body_rhs(0, x, u_w, tau)
        k2 = rigid_body_rhs(0, x + h / 2 * k1, u_w, tau)
        k3 = rigid_body_rhs(0, x + h / 2 * k2, u_w, tau)
        k4 = rigid_body_rhs(0, x + h * k3, u_w, tau)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def simulate(app, q0, w0, t_end, h0=np.zeros(4), thruster_torque=True):
    """Closed loop at the app's rate, the truth integrated by scipy with held commands. The
    thrusters act through the reference layout's B on the commanded on-times."""
    x = np.concatenate([q0, w0, h0])
    dt = app.period_ns / 1e9
    layout = reference_layout()
    log = []
    for k in range(int(t_end / dt)):
        out = app.actuate(int(k * app.period_ns), x[:4] / np.linalg.norm(x[:4]), x[4:7])
        u_w = next(m.torque_Nm for m in out if hasattr(m, "torque_Nm"))
        on = [m.on_time_s for m in out if hasattr(m, "on_time_s")]
        tau = layout.B[3:] @ (on[0] * layout.thrust_max_N) / dt if on and thruster_torque else np.zeros(3)
        x = rk4(x, dt, u_w, tau)
        log.append((k * dt, x.copy(), bool(on)))
    return log


def control_app(**params):
    app = ControlApp("control", params)
    app.reset()
    return app


def random_quat(rng):
    q = rng.standard_normal(4)
    return q / np.linalg.norm(q) * np.sign(q[0])


@given(seed=st.integers(0, 10_000))
@settings(max_examples=3)
def test_slew_respects_the_rate_limit_and_settles(seed):
    rng = np.random.default_rng(seed)
    q0 = random_quat(rng)
    q_target = random_quat(rng)
    app = control_app(slew_rate_max_deg_s=1.0)
    app.point(q_target)
    angle0 = attitude_error_rad(q0, q_target)
    log = simulate(app, q0, np.zeros(3), t_end=np.degrees(angle0) / 1.0 + 120.0)
    rates = np.array([np.linalg.norm(x[4:7]) for _, x, _ in log])
    assert rates.max() <= np.radians(1.0) * 1.05
    final = log[-1][1]
    assert attitude_error_rad(final[:4] / np.linalg.norm(final[:4]), q_target) < np.radians(0.05)
    assert np.linalg.norm(final[4:7]) < np.radians(0.005)


def test_wheel_momentum_is_unloaded_by_thrusters_while_pointing_holds():
    q0 = np.array([1.0, 0.0, 0.0, 0.0])
    h0 = np.array([0.8, -0.2, 0.5, 0.1])
    app = control_app()
    app.h_wheels = h0.copy()       # the dead-reckoned momenta start at the truth
    app.point(q0)
    # the body starts at rest with the wheels holding momentum: total momentum G h0 to dump
    log = simulate(app, q0, np.zeros(3), t_end=200.0, h0=h0)
    h_end = log[-1][1][7:]
    assert np.max(np.abs(h_end)) < 0.25
    assert any(fired for _, _, fired in log)
    assert max(attitude_error_rad(x[:4] / np.linalg.norm(x[:4]), q0) for _, x, _ in log) < np.radians(0.5)


def test_pointing_puts_the_boresight_on_the_target_and_the_panel_to_the_sun():
    rng = np.random.default_rng(1)
    for _ in range(20):
        b, s = rng.standard_normal(3), rng.standard_normal(3)
        q = pointing_attitude(b, s)
        C = dcm_from_quat(q)
        assert C @ (b / np.linalg.norm(b)) == pytest.approx([0, 0, 1], abs=1e-12)
        s_B = C @ (s / np.linalg.norm(s))
        # the panel normal +x is the closest to the Sun of all axes normal to the boresight
        assert s_B[1] == pytest.approx(0.0, abs=1e-12) and s_B[0] >= 0.0
        assert sun_off_boresight_rad(q, s) == pytest.approx(
            np.arccos(np.clip(b @ s / np.linalg.norm(b) / np.linalg.norm(s), -1, 1)), abs=1e-9)


def test_quaternion_helpers_compose_like_dcms():
    rng = np.random.default_rng(2)
    p, q = random_quat(rng), random_quat(rng)
    assert dcm_from_quat(quat_multiply(p, q)) == pytest.approx(dcm_from_quat(q) @ dcm_from_quat(p))
    assert quat_from_dcm(dcm_from_quat(q)) == pytest.approx(q)


def test_wheel_distribution_gives_the_body_torque_within_limits():
    wheels = WheelArray.pyramid(null_gain_per_s=0.0)
    rng = np.random.default_rng(3)
    for _ in range(20):
        tau = rng.uniform(-0.05, 0.05, 3)
        u = wheels.motor_torques(tau)
        assert -G @ u == pytest.approx(tau, abs=1e-12)
    u = wheels.motor_torques(np.array([1.0, 0.0, 0.0]))
    assert np.max(np.abs(u)) == pytest.approx(0.1)
    assert np.cross(-G @ u, [1.0, 0.0, 0.0]) == pytest.approx(np.zeros(3), abs=1e-12)


def test_null_space_steering_does_not_disturb_the_body():
    wheels = WheelArray.pyramid()
    u = wheels.motor_torques(np.zeros(3), h_wheels=np.array([0.5, -0.5, 0.5, -0.5]))
    assert np.any(np.abs(u) > 0.0)
    assert G @ u == pytest.approx(np.zeros(3), abs=1e-15)


def realised_dv_N(app, q_BN, t_end_s, failed=()):
    """Fly the app's on-times through thrusters like the plant's (on-times below the minimum
    suppressed, rounded to the quantum; failed thrusters give nothing): delta-v in ECI."""
    layout = reference_layout()
    thrust = layout.thrust_max_N.copy()
    thrust[list(failed)] = 0.0
    dt = app.period_ns / 1e9
    C_NB = dcm_from_quat(q_BN).T
    dv = np.zeros(3)
    for k in range(int(t_end_s / dt)):
        for m in app.actuate(int(k * app.period_ns), q_BN, np.zeros(3)):
            if hasattr(m, "on_time_s"):
                on = np.round(m.on_time_s / layout.on_time_quantum_s) * layout.on_time_quantum_s
                on[on < layout.min_on_time_s] = 0.0
                dv += C_NB @ (layout.B[:3] @ (on * thrust)) / app.p.mass_kg
    return dv


@pytest.mark.parametrize("failed", [(), (3,), (8,)])
@pytest.mark.parametrize("dv_N", [[0.05, 0.0, 0.0], [0.0, -0.12, 0.03], [0.011, 0.004, -0.02]])
def test_control_app_on_times_realise_the_commanded_delta_v(dv_N, failed):
    rng = np.random.default_rng(len(failed) + int(1000 * abs(dv_N[0])))
    q = random_quat(rng)
    app = control_app(failed_thrusters=",".join(str(k) for k in failed))
    app.point(q)
    app.command_burn(1, 0, dv_N, duration_s=20.0)
    dv = realised_dv_N(app, q, 40.0, failed)
    # within a fifth of the smallest impulse bit (0.01 N s / 100 kg) per axis, plus 0.5 %
    assert np.all(np.abs(dv - dv_N) <= 0.2 * 1e-4 + 0.005 * np.linalg.norm(dv_N))
    assert app.burn is None and 1 in app.burns_done
