"""The control app steps faster than navigation publishes the attitude: it carries the latest
estimate forward and flies every window, not only those with a fresh estimate."""
import numpy as np
import pytest

from flightsw.control.app import ControlApp
from flightsw.control.attitude import dcm_from_quat
from flightsw.control.thrusters import reference_layout
from flightsw.msg import AttitudeEstimate, BurnCommand, BurnReport, ThrusterCommand
from flightsw.runtime.app import Inbox

Q0_BN = np.array([0.9, 0.1, -0.3, 0.3]) / np.linalg.norm([0.9, 0.1, -0.3, 0.3])


def estimate(t_ns, q_BN, omega_BN_B):
    return AttitudeEstimate(t_est_ns=int(t_ns), q_BN=q_BN, omega_BN_B=omega_BN_B,
                            P_att=np.eye(3) * 1e-8, valid=True)


def test_a_burn_is_flown_in_every_window_with_the_attitude_published_at_a_lower_rate():
    app = ControlApp("control", {})           # 5 Hz
    app.reset()
    layout = reference_layout()
    C_NB = dcm_from_quat(Q0_BN).T
    dv_N = np.array([0.02, -0.15, 0.05])
    firing, delivered, reports = 0, np.zeros(3), []
    for k in range(5 * 60):
        t_ns = k * app.period_ns
        inbox = []
        if k % 5 in (0, 2):                    # navigation at 2 Hz (two of five steps)
            inbox.append((None, estimate(t_ns, Q0_BN, np.zeros(3))))
        if k == 0:
            inbox.append((None, BurnCommand(burn_id=1, t_start_ns=int(1e9), dv_N=dv_N,
                                            duration_s=40.0)))
        for m in app.step(t_ns, Inbox(inbox)):
            if isinstance(m, ThrusterCommand) and m.on_time_s.any():
                firing += 1
                delivered += C_NB @ (layout.B[:3] @ (m.on_time_s * layout.thrust_max_N)) / 100.0
            elif isinstance(m, BurnReport):
                reports.append(m)
    assert firing >= 0.95 * 40.0 * 5
    assert len(reports) == 1 and reports[0].dv_N == pytest.approx(delivered, abs=1e-12)
    assert np.linalg.norm(delivered - dv_N) <= 0.01 * np.linalg.norm(dv_N)


def test_the_estimate_is_carried_at_its_rate_and_dropped_when_too_old():
    app = ControlApp("control", {"max_attitude_age_s": 1.0})
    app.reset()
    omega = np.array([0.0, 0.0, 0.02])
    app.step(0, Inbox([(None, estimate(0, Q0_BN, omega))]))
    q, w = app._attitude_now(int(0.6e9))
    # 0.012 rad about body +z since the estimate: C_BN = C_z(0.012) C_B0N (passive rotation)
    c, s = np.cos(0.012), np.sin(0.012)
    C_z = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    assert dcm_from_quat(q) == pytest.approx(C_z @ dcm_from_quat(Q0_BN), abs=1e-12)
    assert w == pytest.approx(omega)
    assert app._attitude_now(int(1.2e9)) is None
    out = app.step(int(1.2e9), Inbox([]))
    assert len(out) == 1 and not out[0].torque_Nm.any()


def test_the_pointing_reference_turns_at_its_rate_between_commands():
    app = ControlApp("control", {})
    app.reset()
    omega = np.array([0.001, -0.002, 0.0005])
    app.point(Q0_BN, omega, t_ref_ns=int(10e9))
    # 4 s later: C_RN = exp(-[theta x]) C_R0N with theta = omega * 4 s (Rodrigues, passive)
    theta = omega * 4.0
    angle = np.linalg.norm(theta)
    k = theta / angle
    K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    C_R1R0 = np.eye(3) - np.sin(angle) * K + (1.0 - np.cos(angle)) * K @ K
    assert dcm_from_quat(app._reference_now(int(14e9))) == pytest.approx(
        C_R1R0 @ dcm_from_quat(Q0_BN), abs=1e-12)
    app.point(Q0_BN)                      # no reference time: held
    assert app._reference_now(int(99e9)) == pytest.approx(Q0_BN)
