"""Keep-out checks: predicted closest approach of a plan, with the navigation uncertainty.

A plan is checked by sampling its predicted relative trajectory densely (the relative motion
near the target has the orbital period, ~95 min, so 10 s samples miss the true minimum by
centimetres) and, for the uncertainty, by carrying the ROE covariance along the same samples
(Phi P Phi^T with the ROE STM, mapped to RTN position by the Jacobian of the linear ROE->RTN
map). Two uncertainty measures are reported at every sample, both one-dimensional along the
line of sight (the direction in which an error brings the chaser closer):

* the margin in sigmas, (|r| - R_keepout) / sigma_los, sigma_los^2 = r_hat^T P_r r_hat — a
  k-sigma ellipsoid check (the ellipsoid clears the sphere along the line of sight);
* the probability of being inside the sphere, Phi((R_keepout - |r|) / sigma_los), the
  one-dimensional projection of the keep-out sphere onto the line of sight (a conservative
  stand-in for the 3-D integral when the sphere is small against the range, as in Alfano's
  and Patera's short-encounter methods it replaces).
"""
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from flightsw.guidance.maneuvers import predict_roe
from flightsw.guidance.roe import MeanOrbit, propagate_mean, roe_stm_series, rtn_from_roe

DEFAULT_KEEPOUT_M = 50.0
DEFAULT_STEP_S = 10.0


@dataclass(frozen=True)
class Approach:
    """Closest approach of a predicted trajectory.

    min_range_m and t_min_s: the smallest predicted distance to the target and when (s after
    the plan epoch); min_sigma_margin: the smallest (range - keep-out)/sigma_los over the span
    (inf without a covariance); max_probability: the largest one-dimensional probability of
    being inside the keep-out sphere (0 without a covariance).
    """

    min_range_m: float
    t_min_s: float
    min_sigma_margin: float
    max_probability: float
    t_s: np.ndarray | None = None
    range_m: np.ndarray | None = None
    sigma_margin: np.ndarray | None = None

    def safe(self, keepout_m, k_sigma=3.0, max_probability=1e-4) -> bool:
        return (self.min_range_m > keepout_m and self.min_sigma_margin >= k_sigma
                and self.max_probability <= max_probability)

    def first_unsafe_s(self, keepout_m, k_sigma=3.0, max_probability=1e-4) -> float:
        """The first sample time (s after the plan epoch) that fails the test of ``safe``;
        inf if none does. (The probability test is a sigma margin of -Phi^-1(max_probability).)"""
        bad = (self.range_m <= keepout_m) | \
            (self.sigma_margin < required_sigmas(k_sigma, max_probability))
        return float(self.t_s[np.argmax(bad)]) if bad.any() else float("inf")


def required_sigmas(k_sigma, max_probability) -> float:
    """The line-of-sight margin (sigmas) the keep-out test asks for: k_sigma, or more if the
    probability bound is the stricter (the probability is Phi(-margin))."""
    return max(float(k_sigma), float(-ndtri(max_probability)))


def sample_times(t_start_s, t_end_s, step_s=DEFAULT_STEP_S) -> np.ndarray:
    n = max(int(np.ceil((t_end_s - t_start_s) / step_s)), 1)
    return np.linspace(t_start_s, t_end_s, n + 1)


def predicted_positions(chief0: MeanOrbit, roe0, burns, t_s):
    """Relative positions r_CT_rtn (3, K) (m) of the plan at times t_s (s)."""
    ch = propagate_mean(chief0, t_s)
    return rtn_from_roe(predict_roe(chief0, roe0, burns, t_s), ch.a_m, ch.u_rad)[0]


def position_jacobian(a_m, u_rad) -> np.ndarray:
    """d r_rtn / d roe (K, 3, 6) of the linear map roe.rtn_from_roe at u_rad (K,)."""
    u = np.atleast_1d(u_rad)
    s, c = np.sin(u), np.cos(u)
    M = np.zeros((u.size, 3, 6))
    M[:, 0, 0], M[:, 0, 2], M[:, 0, 3] = 1.0, -c, -s
    M[:, 1, 1], M[:, 1, 2], M[:, 1, 3] = 1.0, 2.0 * s, -2.0 * c
    M[:, 2, 4], M[:, 2, 5] = s, -c
    return a_m * M


def closest_approach(chief0: MeanOrbit, roe0, burns, horizon_s, keepout_m=DEFAULT_KEEPOUT_M,
                     P_roe=None, step_s=DEFAULT_STEP_S, t_start_s=0.0) -> Approach:
    """Closest approach of the plan over [t_start_s, horizon_s] (s after the epoch).

    P_roe (6, 6): covariance of roe0 (dimensionless), propagated by the ROE STM; burns are
    taken as executed exactly (their errors belong in P_roe of the next check).
    """
    t = sample_times(t_start_s, horizon_s, step_s)
    r = predicted_positions(chief0, roe0, burns, t)
    rng = np.linalg.norm(r, axis=0)
    k = int(np.argmin(rng))
    if P_roe is None:
        return Approach(float(rng[k]), float(t[k]), np.inf, 0.0, t, rng, np.full_like(rng, np.inf))
    P_roe = np.asarray(P_roe, dtype=np.float64)
    ch = propagate_mean(chief0, t)
    Phi = roe_stm_series(chief0, t)
    P_t = Phi @ P_roe @ Phi.transpose(0, 2, 1)
    M = position_jacobian(float(chief0.a_m), ch.u_rad)
    P_r = M @ P_t @ M.transpose(0, 2, 1)
    r_hat = (r / np.maximum(rng, 1e-9)).T
    sigma = np.sqrt(np.maximum(np.einsum("ki,kij,kj->k", r_hat, P_r, r_hat), 1e-18))
    margin = (rng - keepout_m) / sigma
    return Approach(float(rng[k]), float(t[k]), float(margin.min()),
                    float(ndtr(-margin).max()), t, rng, margin)
