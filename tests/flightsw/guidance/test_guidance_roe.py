"""The guidance's relative-motion model against a numerically integrated two-body + J2 truth."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from flightsw.guidance.elements import Elements, elements_from_state, state_from_elements
from flightsw.guidance.mean_elements import j2_energy_sma, osculating_to_mean
from flightsw.guidance.roe import (mean_from_roe, mean_orbit_from_state, mean_roe_from_states,
                                   propagate_mean, roe_control_matrix, roe_from_mean,
                                   roe_from_rtn, roe_stm, rtn_from_roe, state_from_mean_orbit)
from guidance_truth import fly, kepler_state, relative_rtn

A = 6878137.0
INC = np.radians(97.4)


def target_state():
    r, v = kepler_state(A, 1e-4, INC, 0.5, 0.3, 0.0)
    return np.concatenate([r, v])


def chaser_state(xT, roe_m):
    chief = mean_orbit_from_state(xT[:3], xT[3:])
    r, v = state_from_mean_orbit(mean_from_roe(chief, np.asarray(roe_m) / chief.a_m))
    return np.concatenate([r, v])


@given(e=st.floats(0.0, 0.05), i=st.floats(0.2, 3.0), raan=st.floats(0, 6.28),
       argp=st.floats(0, 6.28), M=st.floats(0, 6.28))
@settings(max_examples=50)
def test_state_elements_round_trip(e, i, raan, argp, M):
    el = Elements(7.0e6, e, i, raan, argp, M)
    r, v = state_from_elements(el)
    r2, v2 = state_from_elements(elements_from_state(r, v))
    assert np.allclose(r2, r, atol=1e-4) and np.allclose(v2, v, atol=1e-7)


def test_mean_elements_remove_the_short_period_j2_oscillation():
    xT = target_state()
    t, X, _ = fly(xT, xT, 3 * 5700.0, t_eval=np.linspace(0, 3 * 5700.0, 120))
    osc = np.array([elements_from_state(x[:3], x[3:]) for x in X])
    mean = np.array([osculating_to_mean(elements_from_state(x[:3], x[3:])) for x in X])
    energy_a = np.array([j2_energy_sma(x[:3], x[3:]) for x in X])
    assert np.ptp(osc[:, 0]) > 15e3            # the osculating a swings by ~19 km
    assert np.ptp(mean[:, 0]) < 60.0           # first-order theory leaves a second-order rest
    assert np.ptp(energy_a) < 1e-3             # the J2 energy is an exact integral
    ex, ey = mean[:, 1] * np.cos(mean[:, 4]), mean[:, 1] * np.sin(mean[:, 4])
    osc_ex = osc[:, 1] * np.cos(osc[:, 4])
    assert np.ptp(osc_ex) > 5e-4                 # the osculating e-vector swings by ~1e-3
    assert np.ptp(ex) < 1e-5 and np.ptp(ey) < 1e-5


@pytest.mark.parametrize("roe_m, tol_m", [
    ([0.0, -1000.0, 100.0, 0.0, 100.0, 0.0], 15.0),
    ([5.0, -5000.0, 300.0, 100.0, 200.0, 80.0], 25.0),
    ([-2.0, 300.0, -60.0, 50.0, -70.0, 55.0], 10.0),
])
def test_predicted_relative_position_matches_truth_over_a_day(roe_m, tol_m):
    xT = target_state()
    xC = chaser_state(xT, roe_m)
    chief, roe0 = mean_roe_from_states(xT[:3], xT[3:], xC[:3], xC[3:])
    t, XT, XC = fly(xT, xC, 86400.0, t_eval=np.linspace(0, 86400.0, 97))
    ch_t = propagate_mean(chief, t)
    roe_t = roe_from_mean(ch_t, propagate_mean(mean_from_roe(chief, roe0), t))
    r_pred, _ = rtn_from_roe(roe_t, ch_t.a_m, ch_t.u_rad)
    r_true = np.array([relative_rtn(a, b)[0] for a, b in zip(XT, XC)]).T
    assert np.max(np.linalg.norm(r_pred - r_true, axis=0)) < tol_m


def test_far_range_drift_prediction_holds_over_30_hours():
    xT = target_state()
    xC = chaser_state(xT, [-11000.0, 2.0e6, 0.0, 0.0, 0.0, 0.0])
    chief, roe0 = mean_roe_from_states(xT[:3], xT[3:], xC[:3], xC[3:])
    t_end = 30 * 3600.0
    _, XT, XC = fly(xT, xC, t_end, t_eval=[t_end])
    ch_t = propagate_mean(chief, t_end)
    roe_pred = roe_from_mean(ch_t, propagate_mean(mean_from_roe(chief, roe0), t_end))
    _, roe_true = mean_roe_from_states(XT[-1, :3], XT[-1, 3:], XC[-1, :3], XC[-1, 3:])
    drift_m = abs(roe0[1] - roe_true[1]) * A
    assert drift_m > 1.0e6  # the chaser moved ~1100 km along-track
    assert abs(roe_pred[1] - roe_true[1]) * A < 2000.0


def test_stm_matches_the_secular_propagation_at_close_range():
    xT = target_state()
    chief = mean_orbit_from_state(xT[:3], xT[3:])
    roe0 = np.array([20.0, -3000.0, 150.0, -80.0, 120.0, 60.0]) / chief.a_m
    for dt in (600.0, 20000.0, 86400.0):
        exact = roe_from_mean(propagate_mean(chief, dt),
                              propagate_mean(mean_from_roe(chief, roe0), dt))
        assert np.allclose(roe_stm(chief, dt) @ roe0, exact, atol=0.05 / chief.a_m)


def test_rtn_map_inverts():
    roe = np.array([1e-5, 2e-4, 3e-5, -2e-5, 1e-5, 4e-5])
    r, v = rtn_from_roe(roe, A, 1.1)
    assert np.allclose(roe_from_rtn(r, v, A, 1.1), roe, atol=1e-15)


@pytest.mark.parametrize("dv", [[0.01, 0, 0], [0, 0.01, 0], [0, 0, 0.01], [0.003, -0.004, 0.002]])
def test_control_matrix_matches_an_impulse_on_the_state(dv):
    xT = target_state()
    xC = chaser_state(xT, [0.0, -500.0, 50.0, 0.0, 50.0, 0.0])
    chief, roe0 = mean_roe_from_states(xT[:3], xT[3:], xC[:3], xC[3:])
    C = np.array([xC[:3] / np.linalg.norm(xC[:3]), np.zeros(3), np.cross(xC[:3], xC[3:])])
    C[2] /= np.linalg.norm(C[2])
    C[1] = np.cross(C[2], C[0])
    _, roe1 = mean_roe_from_states(xT[:3], xT[3:], xC[:3], xC[3:] + C.T @ dv)
    u_C = float(mean_orbit_from_state(xC[:3], xC[3:]).u_rad)
    predicted = roe_control_matrix(chief.a_m, u_C) @ dv
    # Gauss's equations are first order: a few per cent of the change, plus the map's rest
    assert np.allclose((roe1 - roe0) * A, predicted * A, atol=0.03 * np.linalg.norm(predicted) * A + 0.05)
