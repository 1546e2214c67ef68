"""The compiled filter kernels agree with their numpy references."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nav_truth import elements_to_state

from flightsw.native import require
from flightsw.nav.dynamics import (
    pair_noise,
    predict_inplace,
    predict_pair_inplace,
    predict_pair_reference,
    predict_reference,
    white_accel_noise,
)
from flightsw.nav.relative import bearing_update_reference, range_update_reference
from flightsw.nav.roe import DIFFERENCE_FLOOR, covariance_through, published_map, published_state

_relative = require("flightsw.nav._relative")
seeds = st.integers(0, 2 ** 32 - 1)


def considered_bias(rng, P, sigma_b=0.05):
    """(c, var_b) of a bias of 1-sigma sigma_b correlated with the state: [[P, c], [c^T, var_b]]
    positive definite (c = P^1/2 w with |w| = sigma_b / 2)."""
    w = rng.standard_normal(len(P))
    return np.linalg.cholesky(P) @ (0.5 * sigma_b * w / np.linalg.norm(w)), sigma_b ** 2


def random_covariance(rng, scales):
    """A full-rank covariance with the given 1-sigma scales and random correlations."""
    A = rng.standard_normal((len(scales), len(scales)))
    C = A @ A.T + 0.5 * np.eye(len(scales))
    d = np.sqrt(np.diag(C))
    C = C / np.outer(d, d)
    return C * np.outer(scales, scales)


def joint_case(rng, separation_m):
    """A target/chaser pair separation_m apart (along-track), and a joint 12x12 covariance."""
    x_T = elements_to_state(6878e3, 0.001, 0.9, 0.3, 0.0, rng.uniform(0, 2 * math.pi))
    x_C = x_T.copy()
    R = x_T[:3] / np.linalg.norm(x_T[:3])
    T = x_T[3:] / np.linalg.norm(x_T[3:])
    x_C[:3] -= separation_m * T + 0.05 * separation_m * R
    scale_r = 0.01 * separation_m
    P = random_covariance(rng, np.array([scale_r] * 3 + [scale_r * 1e-3] * 3
                                        + [5.0] * 3 + [0.05] * 3))
    return np.concatenate((x_T, x_C)), P


def noisy_bearing(x, rng, sigma):
    rho = x[:3] - x[6:9]
    u = rho / np.linalg.norm(rho) + sigma * rng.standard_normal(3)
    return u / np.linalg.norm(u)


@settings(max_examples=40)
@given(seeds, st.floats(-300.0, 300.0))
def test_predict_kernel_equals_numpy_reference(seed, dt):
    rng = np.random.default_rng(seed)
    x = elements_to_state(6878e3, 0.01, 1.0, 0.2, 0.3, rng.uniform(0, 6))
    P = random_covariance(rng, np.array([10.0] * 3 + [0.01] * 3))
    x_k, P_k = x.copy(), P.copy()
    predict_inplace(x_k, P_k, dt, 1e-9)
    x_r, P_r = predict_reference(x, P, dt, 1e-9)
    assert np.allclose(x_k, x_r, rtol=1e-13, atol=1e-7)
    assert np.allclose(P_k, P_r, rtol=1e-10, atol=1e-12 * np.abs(P_r).max())


@settings(max_examples=40)
@given(seeds, st.floats(-300.0, 300.0), st.sampled_from([50.0, 5e3, 2e6]))
def test_joint_predict_kernel_equals_numpy_reference(seed, dt, separation):
    rng = np.random.default_rng(seed)
    x, P = joint_case(rng, separation)
    x_k, P_k = x.copy(), P.copy()
    c, _ = considered_bias(rng, P)
    c_k = c.copy()
    predict_pair_inplace(x_k, P_k, dt, 1e-10, 3e-10, 2e-9, c=c_k)
    x_r, P_r, c_r = predict_pair_reference(x, P, dt, 1e-10, 3e-10, 2e-9, c=c)
    assert np.allclose(x_k, x_r, rtol=1e-13, atol=1e-7)
    assert np.allclose(P_k, P_r, rtol=1e-9, atol=1e-12 * np.abs(P_r).max())
    assert np.allclose(c_k, c_r, rtol=1e-9, atol=1e-12 * np.abs(c_r).max())
    assert np.array_equal(P_k, P_k.T)


@given(st.floats(0.0, 600.0), st.floats(0.0, 1e-9), st.floats(0.0, 1e-9), st.floats(0.0, 1e-8))
def test_shared_process_noise_cancels_in_the_relative_state_and_keeps_q_psd(dt, q_T, q_C, q_0):
    Q = pair_noise(dt, q_T, q_C, q_0)
    J = np.hstack((np.eye(6), -np.eye(6)))
    expected = pair_noise(dt, q_T, q_C, 0.0)
    # to rounding of the shared part's size
    assert np.allclose(J @ Q @ J.T, J @ expected @ J.T, rtol=1e-12,
                       atol=1e-14 * max(np.abs(Q).max(), 1e-300))
    # each spacecraft alone sees its own plus the shared acceleration; they share Q(q_0)
    assert np.allclose(Q[:6, :6], white_accel_noise(dt, q_T + q_0), rtol=1e-12, atol=0.0)
    assert np.allclose(Q[6:, 6:], white_accel_noise(dt, q_C + q_0), rtol=1e-12, atol=0.0)
    assert np.allclose(Q[:6, 6:], white_accel_noise(dt, q_0), rtol=1e-12, atol=0.0)
    assert np.linalg.eigvalsh(Q).min() >= -1e-12 * max(np.abs(Q).max(), 1e-300)


@settings(max_examples=60)
@given(seeds, st.sampled_from([50.0, 5e3, 2e6]), st.floats(1e-6, 1e-2))
def test_bearing_kernel_equals_numpy_reference(seed, separation, sigma):
    rng = np.random.default_rng(seed)
    x, P = joint_case(rng, separation)
    u = noisy_bearing(x, rng, sigma)
    P_u = sigma ** 2 * (np.eye(3) - np.outer(u, u))
    c, _ = considered_bias(rng, P)
    x_k, P_k, c_k = x.copy(), P.copy(), c.copy()
    nis_k, ok_k, it_k = _relative.bearing_update(x_k, P_k, u, P_u, 1e-12, 1e9, 5, 1e-9, c_k)
    x_r, P_r, nis_r, ok_r, it_r, c_r = bearing_update_reference(x, P, u, P_u, 1e-12, 1e9, 5,
                                                                1e-9, c)
    assert ok_k == ok_r and it_k == it_r
    assert np.allclose(c_k, c_r, rtol=1e-6, atol=1e-9 * np.abs(c_r).max())
    assert math.isclose(nis_k, nis_r, rel_tol=1e-7)
    assert np.allclose(x_k, x_r, rtol=1e-12, atol=1e-9 * separation)
    assert np.allclose(P_k, P_r, rtol=1e-6, atol=1e-9 * np.abs(P_r).max())


def test_bearing_beyond_the_gate_leaves_the_state_untouched():
    rng = np.random.default_rng(3)
    x, P = joint_case(rng, 5e3)
    rho = x[:3] - x[6:9]
    u = rho / np.linalg.norm(rho) + 0.5 * np.cross(rho / np.linalg.norm(rho), [0, 0, 1.0])
    u /= np.linalg.norm(u)
    x_k, P_k = x.copy(), P.copy()
    nis, accepted, _ = _relative.bearing_update(x_k, P_k, u, 1e-10 * np.eye(3), 0.0, 11.8, 5,
                                                1e-9, np.zeros(12))
    assert not accepted and nis > 11.8
    assert np.array_equal(x_k, x) and np.array_equal(P_k, P)


def test_bearing_from_behind_is_refused():
    rng = np.random.default_rng(4)
    x, P = joint_case(rng, 5e3)
    rho = x[:3] - x[6:9]
    nis, accepted, _ = _relative.bearing_update(x.copy(), P.copy(), -rho / np.linalg.norm(rho),
                                                1e-10 * np.eye(3), 0.0, 1e9, 5, 1e-9,
                                                np.zeros(12))
    assert not accepted and math.isinf(nis)


@settings(max_examples=60)
@given(seeds, st.sampled_from([50.0, 5e3]), st.floats(0.01, 100.0), st.booleans())
def test_range_kernel_equals_numpy_reference(seed, separation, sigma, biased):
    rng = np.random.default_rng(seed)
    x, P = joint_case(rng, separation)
    c, var_b = considered_bias(rng, P) if biased else (np.zeros(12), 0.0)
    z = np.linalg.norm(x[:3] - x[6:9]) - 2.0 + sigma * rng.standard_normal()
    x_k, P_k, c_k = x.copy(), P.copy(), c.copy()
    nis_k, ok_k = _relative.range_update(x_k, P_k, z, sigma ** 2, 2.0, 1e9, c_k, var_b)
    x_r, P_r, nis_r, ok_r, c_r = range_update_reference(x, P, z, sigma ** 2, 2.0, 1e9, c, var_b)
    assert ok_k == ok_r
    assert math.isclose(nis_k, nis_r, rel_tol=1e-9)
    assert np.allclose(x_k, x_r, rtol=1e-12, atol=1e-9)
    assert np.allclose(P_k, P_r, rtol=1e-7, atol=1e-10 * np.abs(P_r).max())
    assert np.allclose(c_k, c_r, rtol=1e-7, atol=1e-10 * max(np.abs(c_r).max(), var_b))


def test_a_considered_range_bias_is_not_averaged_away():
    """Many ranges of a fixed geometry: the white noise averages down, the bias does not; the
    range variance tends to the bias variance (and to 0 without the bias)."""
    rng = np.random.default_rng(8)
    x, P = joint_case(rng, 500.0)
    d = np.linalg.norm(x[:3] - x[6:9])
    h = np.concatenate(((x[:3] - x[6:9]) / d, np.zeros(3), -(x[:3] - x[6:9]) / d, np.zeros(3)))
    for var_b in (0.05 ** 2, 0.0):
        x_k, P_k, c = x.copy(), P.copy(), np.zeros(12)
        for _ in range(2000):
            assert _relative.range_update(x_k, P_k, d, 0.2 ** 2, 0.0, 1e9, c, var_b)[1]
        assert h @ P_k @ h == pytest.approx(var_b + 0.2 ** 2 / 2000, rel=0.02)
        P_aug = np.block([[P_k, c[:, None]], [c[None, :], np.array([[var_b]])]])
        assert np.linalg.eigvalsh(P_aug).min() > -1e-9


def test_iterated_bearing_update_realigns_a_long_range_ellipse():
    """A large lateral correction at long range: the iterated update leaves the range axis of the
    covariance along the measured line of sight (a single EKF step leaves it along the prior)."""
    rng = np.random.default_rng(5)
    x, _ = joint_case(rng, 2e6)
    rho = x[:3] - x[6:9]
    u0 = rho / np.linalg.norm(rho)
    P = np.diag([1e5 ** 2] * 3 + [1.0] * 3 + [1.0] * 3 + [1e-4] * 3)
    lateral = np.cross(u0, [0.0, 0.0, 1.0])
    u = u0 + 0.02 * lateral / np.linalg.norm(lateral)
    u /= np.linalg.norm(u)
    P_u = (1e-5) ** 2 * (np.eye(3) - np.outer(u, u))
    x_k, P_k = x.copy(), P.copy()
    _, ok, iterations = _relative.bearing_update(x_k, P_k, u, P_u, 0.0, math.inf, 10, 1e-10,
                                                 np.zeros(12))
    w, V = np.linalg.eigh(P_k[:3, :3])
    assert ok and iterations > 1
    assert abs(V[:, -1] @ u) > 1.0 - 1e-6



@settings(max_examples=40, deadline=None)
@given(seeds, st.floats(50.0, 2e6), st.floats(0.0, 0.05), st.floats(0.2, 2.9))
def test_published_state_kernel_matches_the_numpy_differences(seed, separation_m, e, incl):
    """The compiled RTN + ROE state and covariance equal covariance_through of the numpy maps
    (the same central differences), from 50 m to 2000 km, on eccentric and inclined orbits."""
    rng = np.random.default_rng(seed)
    x_T = elements_to_state(6878e3, e, incl, *rng.uniform(0, 2 * math.pi, 3))
    x_C = x_T.copy()
    T = x_T[3:] / np.linalg.norm(x_T[3:])
    x_C[:3] -= separation_m * T + 0.05 * separation_m * x_T[:3] / np.linalg.norm(x_T[:3])
    x = np.concatenate((x_T, x_C))
    scale_r = 0.01 * separation_m
    P = random_covariance(rng, np.array([scale_r] * 3 + [scale_r * 1e-3] * 3
                                        + [5.0] * 3 + [0.05] * 3))
    y, C = published_state(x, P)
    y_ref, C_ref = covariance_through(published_map, x, P, DIFFERENCE_FLOOR)
    scale_y = np.array([separation_m] * 3 + [separation_m * 1e-3] * 3 + [1.0] * 6)
    assert np.all(np.abs(y - y_ref) <= 1e-12 * scale_y + 1e-9)
    sigma = np.sqrt(np.diag(C_ref))
    assert np.all(np.abs(C - C_ref) <= 1e-6 * np.outer(sigma, sigma))
    assert np.array_equal(C, C.T)
