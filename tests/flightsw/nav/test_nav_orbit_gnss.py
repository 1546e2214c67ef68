"""The orbit filter on fixes whose errors are mostly time-correlated (a single-frequency
receiver: a Gauss-Markov error of minutes, plus white noise), against independent truth.

Fused as if white, 1 Hz fixes average the correlated error away in the filter's covariance
but not in its estimate: the filter claims centimetres and carries metres. With the
receiver's correlation model (GnssCorrelation) each fix counts for the information it adds
and the filter stays consistent.
"""
import math

import numpy as np
import pytest
from scipy.stats import chi2

from flightsw.nav.orbit import GnssCorrelation, OrbitFilter
from nav_truth import NS, trajectory

SIGMA_R_WHITE, SIGMA_V_WHITE = 3.0, 0.03
SIGMA_R_GM, SIGMA_V_GM, TAU_S = 2.0, 0.01, 600.0
DURATION_S = 2400
SEEDS = 24
CHECK_S = (600, 1200, 1800, 2400)


@pytest.fixture(scope="module")
def truth():
    r0 = np.array([6878137.0, 0.0, 0.0])
    v0 = 7612.6 * np.array([0.0, math.cos(math.radians(97.4)), math.sin(math.radians(97.4))])
    t = np.arange(DURATION_S + 1, dtype=float)
    return t, trajectory(np.r_[r0, v0], t)


def _fixes(truth, seed: int):
    """Truth states at 1 Hz and the fixes: truth + Gauss-Markov + white error (seeded)."""
    t, X = truth
    rng = np.random.default_rng(seed)
    phi = math.exp(-1.0 / TAU_S)
    gm_sigma = np.r_[[SIGMA_R_GM] * 3, [SIGMA_V_GM] * 3]
    white = np.r_[[SIGMA_R_WHITE] * 3, [SIGMA_V_WHITE] * 3]
    gm = gm_sigma * rng.standard_normal(6)
    Z = np.empty_like(X)
    for k in range(len(t)):
        if k:
            gm = phi * gm + gm_sigma * math.sqrt(1 - phi * phi) * rng.standard_normal(6)
        Z[k] = X[k] + gm + white * rng.standard_normal(6)
    return t, X, Z


def _nees(t, X, Z, correlation):
    sr, sv = math.hypot(SIGMA_R_WHITE, SIGMA_R_GM), math.hypot(SIGMA_V_WHITE, SIGMA_V_GM)
    f = OrbitFilter.from_fix(0, Z[0, :3], Z[0, 3:], sr, sv, q_m2_s3=1e-12,
                             gnss_correlation=correlation)
    out = []
    for k in range(1, len(t)):
        f.update_fix(int(t[k] * NS), Z[k, :3], Z[k, 3:], sr, sv)
        e = f.x - X[k]
        out.append(float(e @ np.linalg.solve(f.P, e)))
    return np.array(out)


@pytest.fixture(scope="module")
def runs(truth):
    return [_fixes(truth, seed) for seed in range(SEEDS)]


def _ensemble_nees(runs, correlation):
    """Mean NEES over the runs at the CHECK_S times (one realisation of a correlated error is
    one sample: consistency is a statement about the ensemble)."""
    nees = np.array([_nees(*run, correlation) for run in runs])
    return nees[:, [k - 1 for k in CHECK_S]].mean(axis=0)


def test_with_the_correlation_model_the_orbit_filter_is_not_overconfident(runs):
    """The weighting is conservative by design (it forgets that the filter could learn the
    correlated error's persistence, as an augmented state would): the ensemble NEES stays
    under its 99% bound and above half its expectation (measured: 3.4 to 5.0 of 6)."""
    mean = _ensemble_nees(runs, GnssCorrelation(SIGMA_R_GM, SIGMA_V_GM, TAU_S))
    hi = chi2.ppf(0.995, 6 * SEEDS) / SEEDS
    print(f"ensemble NEES at {CHECK_S} s: {np.round(mean, 2)} (99% upper bound {hi:.2f})")
    assert np.all(mean <= hi)
    assert np.all(mean >= 3.0)


def test_fused_as_white_the_same_fixes_make_the_filter_overconfident(runs):
    mean = _ensemble_nees(runs, None)
    assert np.all(mean > 30.0)


def test_the_extra_variance_is_the_correlated_variance_times_2rho_over_1_minus_rho():
    model = GnssCorrelation(2.0, 0.01, 600.0)
    var_r, var_v = model.extra_variance(1.0)
    rho = math.exp(-1.0 / 600.0)
    assert var_r == pytest.approx(4.0 * 2 * rho / (1 - rho))
    assert var_v == pytest.approx(1e-4 * 2 * rho / (1 - rho))
    # fixes a correlation time apart and more add little: nearly independent
    assert model.extra_variance(6000.0)[0] < 4.0 * 1e-3
    with pytest.raises(ValueError):
        GnssCorrelation(-1.0, 0.01, 600.0)
