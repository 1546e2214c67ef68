"""RTN relative state and relative orbital elements against independent references."""
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from nav_truth import MU, elements_to_state, trajectory

from flightsw.nav.roe import (
    covariance_through,
    nonsingular_elements,
    relative_orbital_elements,
    rtn_relative_state,
)

A = 6878e3


@settings(max_examples=50)
@given(st.floats(6.7e6, 8e6), st.floats(0.0, 0.2), st.floats(0.1, 3.0), st.floats(0, 6.28),
       st.floats(0, 6.28), st.floats(0, 6.28))
def test_elements_round_trip_through_the_state(a, e, i, raan, argp, M):
    x = elements_to_state(a, e, i, raan, argp, M)
    a2, ex, ey, i2, raan2, u = nonsingular_elements(x)
    assert math.isclose(a2, a, rel_tol=1e-9)
    assert math.isclose(math.hypot(ex, ey), e, abs_tol=1e-9)
    assert math.isclose(i2, i, abs_tol=1e-9)
    wrap = lambda z: (z + math.pi) % (2 * math.pi) - math.pi  # noqa: E731
    assert abs(wrap(raan2 - raan)) < 1e-9
    if e > 1e-6:
        assert abs(wrap(math.atan2(ey, ex) - argp)) < 1e-6
    assert abs(wrap(u - (argp + M))) < 1e-8


def test_small_separation_roe_match_the_linear_map_of_damico():
    """D'Amico 2010, ch. 2 (near-circular): r_rtn / a = [da - dex cos u - dey sin u,
    dlambda + 2 dex sin u - 2 dey cos u, dix sin u - diy cos u]."""
    x_T = elements_to_state(A, 0.0005, math.radians(51.6), 0.3, 0.2, 1.0)
    x_C = elements_to_state(A + 120.0, 0.0009, math.radians(51.6) + 2e-5, 0.3 + 3e-5, 0.6,
                            1.0 + 0.2 - 0.6 - 4e-5)
    roe = relative_orbital_elements(x_C, x_T)
    u = nonsingular_elements(x_T)[5]
    da, dl, dex, dey, dix, diy = roe
    r_lin = A * np.array([da - dex * math.cos(u) - dey * math.sin(u),
                          dl + 2 * dex * math.sin(u) - 2 * dey * math.cos(u),
                          dix * math.sin(u) - diy * math.cos(u)])
    r_rtn = rtn_relative_state(x_C, x_T)[:3]
    assert np.linalg.norm(r_rtn - r_lin) < 0.02 * np.linalg.norm(r_rtn)


def test_rtn_velocity_is_the_rate_of_the_rtn_position():
    """v_rtn is what an observer riding the target's RTN frame sees: the time derivative of the
    RTN position (finite differences over integrated truth, with J2)."""
    x_T0 = elements_to_state(A, 0.001, math.radians(97.0), 0.2, 0.0, 0.5)
    x_C0 = x_T0 + np.array([300.0, -2000.0, 150.0, 0.3, -0.1, 0.2])
    t = np.array([99.0, 100.0, 101.0])
    T = trajectory(x_T0, t)
    C = trajectory(x_C0, t)
    r_rtn = [rtn_relative_state(C[k], T[k])[:3] for k in range(3)]
    rate = (r_rtn[2] - r_rtn[0]) / 2.0
    assert np.allclose(rtn_relative_state(C[1], T[1])[3:], rate, atol=2e-5)


def test_pure_along_track_offset_is_a_mean_longitude_difference():
    x_T = elements_to_state(A, 0.0, math.radians(51.6), 0.3, 0.0, 1.0)
    x_C = elements_to_state(A, 0.0, math.radians(51.6), 0.3, 0.0, 1.0 - 0.29)
    roe = relative_orbital_elements(x_C, x_T)
    assert np.allclose(roe, [0, -0.29, 0, 0, 0, 0], atol=1e-12)


def test_covariance_through_a_linear_map_is_exact():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((3, 4))
    P = np.diag([4.0, 1.0, 9.0, 0.25])
    y, C = covariance_through(lambda x: M @ x, np.ones(4), P, np.full(4, 1e-6))
    assert np.allclose(y, M @ np.ones(4))
    assert np.allclose(C, M @ P @ M.T, rtol=1e-8)


def test_roe_covariance_matches_monte_carlo():
    rng = np.random.default_rng(2)
    x_T = elements_to_state(A, 0.001, math.radians(51.6), 0.3, 0.2, 1.0)
    x_C = elements_to_state(A - 5e3, 0.001, math.radians(51.6), 0.3, 0.2, 1.0 - 0.03)
    P_T = np.diag([100.0 ** 2] * 3 + [0.1 ** 2] * 3)
    _, C = covariance_through(lambda x: relative_orbital_elements(x_C, x), x_T, P_T,
                              np.array([1e-3] * 3 + [1e-6] * 3))
    draws = x_T + rng.standard_normal((4000, 6)) @ np.linalg.cholesky(P_T).T
    samples = np.array([relative_orbital_elements(x_C, d) for d in draws])
    C_mc = np.cov(samples.T)
    assert np.allclose(np.sqrt(np.diag(C)), np.sqrt(np.diag(C_mc)), rtol=0.06)
