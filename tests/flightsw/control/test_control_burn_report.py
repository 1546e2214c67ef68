"""The control app reports every burn it executes (control.burn), for navigation."""
import numpy as np
import pytest

from flightsw.control.app import ControlApp
from flightsw.control.attitude import dcm_from_quat
from flightsw.control.thrusters import reference_layout
from flightsw.msg import BurnReport, ThrusterCommand, encode

Q_BN = np.array([0.9, 0.1, -0.3, 0.3]) / np.linalg.norm([0.9, 0.1, -0.3, 0.3])


def fly(app, t_end_s, command_at=None):
    """Step the app's actuation at its rate; command_at = {k: (burn_id, dv_N)} commands a 20 s
    burn at step k. Returns the reports and, from the on-times alone, the delta-v (ECI) each
    command window delivered and when pulses opened and closed (ns)."""
    layout = reference_layout()
    C_NB = dcm_from_quat(Q_BN).T
    reports, windows = [], []
    for k in range(int(t_end_s * 1e9 / app.period_ns)):
        t_ns = k * app.period_ns
        if command_at and k in command_at:
            burn_id, dv_N = command_at[k]
            app.command_burn(burn_id, t_ns, dv_N, duration_s=20.0)
        for m in app.actuate(t_ns, Q_BN, np.zeros(3)):
            if isinstance(m, BurnReport):
                reports.append(m)
            elif isinstance(m, ThrusterCommand) and m.on_time_s.any():
                dv = C_NB @ (layout.B[:3] @ (m.on_time_s * layout.thrust_max_N)) / app.p.mass_kg
                windows.append((t_ns, t_ns + round(m.on_time_s.max() * 1e9), dv))
    return reports, windows


def control_app():
    app = ControlApp("control", {})
    app.reset()
    app.point(Q_BN)
    return app


@pytest.mark.parametrize("dv_N", [[0.05, 0.0, 0.0], [0.0, -0.12, 0.03], [0.011, 0.004, -0.02]])
def test_an_executed_burn_is_reported_once_with_what_the_pulses_delivered(dv_N):
    app = control_app()
    reports, windows = fly(app, 40.0, {0: (7, dv_N)})
    assert len(reports) == 1
    report = reports[0]
    delivered = np.sum([w[2] for w in windows], axis=0)
    assert report.burn_id == 7
    assert report.dv_N == pytest.approx(delivered, abs=1e-12)
    assert report.t_start_ns == windows[0][0] and report.t_end_ns == max(w[1] for w in windows)
    assert report.sigma_dv_mps == pytest.approx(0.03 * np.linalg.norm(delivered) + 2e-4)
    # and within a fifth of the smallest impulse bit, plus 0.5 %, of the command
    assert np.all(np.abs(report.dv_N - dv_N) <= 0.2 * 1e-4 + 0.005 * np.linalg.norm(dv_N))
    assert encode(report, 0, report.t_end_ns, "control")


def test_a_burn_superseded_in_flight_reports_what_it_delivered_and_a_null_burn_nothing():
    app = control_app()
    # burn 1 fires for 5 steps (1 s), then a zero delta-v command cancels it
    reports, windows = fly(app, 30.0, {0: (1, [0.0, 0.2, 0.0]), 5: (2, [0.0, 0.0, 0.0])})
    assert [r.burn_id for r in reports] == [1]
    delivered = np.sum([w[2] for w in windows], axis=0)
    assert reports[0].dv_N == pytest.approx(delivered, abs=1e-12)
    assert 0.0 < np.linalg.norm(delivered) < 0.2 * 5 / 20 * 1.01
