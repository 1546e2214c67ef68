"""Two-body + J2 dynamics of the navigation filters against independent references."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nav_truth import MU, RE, J2, elements_to_state, rtn_basis, trajectory

from flightsw.nav.dynamics import (
    J2_EARTH,
    MU_EARTH_M3_S2,
    R_EARTH_M,
    add_impulse,
    gravity_accel_reference,
    gravity_gradient_reference,
    propagate,
    propagate_reference,
    propagate_state,
)

positions = st.tuples(st.floats(6.6e6, 4.2e7), st.floats(-math.pi, math.pi),
                      st.floats(-1.5, 1.5)).map(
    lambda p: p[0] * np.array([math.cos(p[2]) * math.cos(p[1]), math.cos(p[2]) * math.sin(p[1]),
                               math.sin(p[2])]))


def potential(r):
    """U = -mu/r [1 - J2 (R/r)^2 P2(z/r)], P2(s) = (3 s^2 - 1) / 2 (Vallado 2013, sec. 8.6)."""
    rn = np.linalg.norm(r)
    s = r[2] / rn
    return -MU / rn * (1.0 - J2 * (RE / rn) ** 2 * 0.5 * (3.0 * s * s - 1.0))


def test_earth_constants_are_the_plant_values():
    assert (MU_EARTH_M3_S2, R_EARTH_M, J2_EARTH) == (3.986004418e14, 6378137.0, 1.08262668e-3)


@settings(max_examples=50)
@given(positions)
def test_acceleration_is_minus_the_gradient_of_the_j2_potential(r):
    h = 1e-3 * np.linalg.norm(r) * 1e-3
    grad = np.array([(potential(r + h * e) - potential(r - h * e)) / (2 * h) for e in np.eye(3)])
    a = gravity_accel_reference(r)
    assert np.allclose(a, -grad, rtol=1e-7, atol=1e-9 * np.linalg.norm(a))


@settings(max_examples=50)
@given(positions)
def test_gravity_gradient_matches_finite_differences_of_the_acceleration(r):
    h = 1.0
    a = gravity_accel_reference
    G_fd = np.column_stack([(a(r + h * e) - a(r - h * e)) / (2 * h) for e in np.eye(3)])
    G = gravity_gradient_reference(r)
    assert np.allclose(G, G_fd, rtol=0, atol=1e-6 * np.abs(G).max())
    assert np.allclose(G, G.T, rtol=0, atol=1e-12 * np.abs(G).max())


def test_one_orbit_of_rk4_in_60_s_calls_agrees_with_dop853_to_centimetres():
    x0 = elements_to_state(6878e3, 0.01, math.radians(97.4), 0.3, 0.5, 1.0)
    period = 2 * math.pi * math.sqrt(6878e3 ** 3 / MU)
    truth = trajectory(x0, [0.0, period])[1]
    x = x0.copy()
    for _ in range(int(period // 60)):
        x = propagate_state(x, 60.0)
    x = propagate_state(x, period - 60.0 * int(period // 60))
    assert np.linalg.norm(x[:3] - truth[:3]) < 0.05
    assert np.linalg.norm(x[3:] - truth[3:]) < 5e-5


def test_state_transition_matrix_matches_finite_differences_of_the_flow():
    x0 = elements_to_state(7000e3, 0.05, math.radians(51.6), 1.0, 2.0, 0.5)
    _, phi = propagate(x0, 600.0)
    steps = np.array([1.0, 1.0, 1.0, 1e-3, 1e-3, 1e-3])
    cols = []
    for k in range(6):
        dx = np.zeros(6)
        dx[k] = steps[k]
        cols.append((propagate_state(x0 + dx, 600.0) - propagate_state(x0 - dx, 600.0))
                    / (2 * steps[k]))
    phi_fd = np.column_stack(cols)
    assert np.allclose(phi, phi_fd, rtol=1e-5, atol=1e-8)


def test_backward_propagation_returns_to_the_start():
    x0 = elements_to_state(6878e3, 0.001, 0.9, 0.1, 0.2, 0.3)
    x1, phi = propagate(x0, 1234.5)
    x2, phi_back = propagate(x1, -1234.5)
    assert np.allclose(x2[:3], x0[:3], atol=1e-6)
    assert np.allclose(phi_back @ phi, np.eye(6), atol=1e-6)


def test_kernel_propagation_equals_the_numpy_reference():
    x0 = elements_to_state(6878e3, 0.02, 1.2, 0.4, 0.1, 2.0)
    for dt in (0.0, 0.5, 60.0, -95.0, 3000.0):
        x_k, phi_k = propagate(x0, dt)
        x_r, phi_r = propagate_reference(x0, dt)
        assert np.allclose(x_k, x_r, rtol=1e-13, atol=1e-8)
        assert np.allclose(phi_k, phi_r, rtol=1e-11, atol=1e-12)


def test_nonpositive_step_is_refused():
    with pytest.raises(ValueError, match="step_max"):
        propagate(np.array([7e6, 0, 0, 0, 7.5e3, 0]), 10.0, step_max_s=0.0)


@pytest.mark.parametrize("since_s", [0.0, 45.0, 1300.0])
def test_a_burn_reported_late_moves_the_state_and_covariance_as_if_applied_on_time(since_s):
    """Against scipy: the orbit with the burn flown at t_b, and the sensitivity of the state
    now to the burn's delta-v by central differences of that truth."""
    x0 = elements_to_state(6878e3, 0.001, math.radians(97.4), 0.5, 0.2, 0.1)
    t_b, t_now = 600.0, 600.0 + since_s
    dv_rtn = np.array([0.02, -0.05, 0.01])
    C_burn = rtn_basis(trajectory(x0, [t_b])[0])
    dv_N = C_burn.T @ dv_rtn

    def truth(dv):
        return trajectory(x0, [t_now], burns=[(t_b, C_burn @ dv)])[0]

    def truth_late(dt):
        """The burn flown dt later (same delta-v in ECI), seen at t_now + 1 s."""
        C = rtn_basis(trajectory(x0, [t_b + dt])[0])
        return trajectory(x0, [t_now + 1.0], burns=[(t_b + dt, C @ dv_N)])[0]

    x = truth(np.zeros(3))          # the estimate now, unaware of the burn
    P = np.diag([4.0] * 3 + [1e-4] * 3)
    P_before = P.copy()
    sigma, sigma_t = 0.003, 0.5
    add_impulse(x, P, 0, since_s, dv_N, sigma, sigma_t_s=sigma_t)
    assert np.allclose(x, truth(dv_N), rtol=0.0, atol=[2e-3] * 3 + [2e-6] * 3)
    h = 0.01
    S = np.column_stack([(truth(dv_N + h * e) - truth(dv_N - h * e)) / (2 * h) for e in np.eye(3)])
    # a burn late by dt, seen 1 s after now, then carried back to now by the no-burn flow
    g = (truth_late(0.2) - truth_late(-0.2)) / 0.4
    phi_back = np.column_stack([(propagate_reference(truth(dv_N) + 1e-3 * e, 1.0)[0]
                                 - propagate_reference(truth(dv_N) - 1e-3 * e, 1.0)[0]) / 2e-3
                                for e in np.eye(6)])
    g = np.linalg.solve(phi_back, g)
    expected = sigma ** 2 * S @ S.T + sigma_t ** 2 * np.outer(g, g)
    assert np.allclose(P - P_before, expected, rtol=2e-3, atol=1e-9)


def test_a_burn_from_the_future_is_refused():
    x, P = np.zeros(6), np.eye(6)
    with pytest.raises(ValueError):
        add_impulse(x, P, 0, -1.0, np.zeros(3), 0.0)
