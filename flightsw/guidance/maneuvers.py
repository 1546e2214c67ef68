"""Impulsive manoeuvres on the ROE model: predicting a plan, and solving for one.

A plan is a list of impulses (Burn: time after the plan epoch, delta-v in the chaser's RTN
frame at that time). Each impulse changes the chaser's mean elements by the near-circular
Gauss variational equations at the chaser's own argument of latitude (roe.roe_control_matrix),
so the same prediction serves 2000 km phasing and a 100 m fly-around.

Solving: for fixed burn times t_k the final ROE are linear in the impulses,

    roe(t_f) = Phi(t_f) roe_0 + sum_k Phi(t_f - t_k) Gamma(u_k) dv_k,

the formulation of Gaias & D'Amico, "Impulsive Maneuvers for Formation Reconfiguration Using
Relative Orbital Elements", JGCD 38(6), 2015. Here the least-squares (minimum sum of squared
delta-v) solution is taken, and corrected by Newton steps against the nonlinear secular J2
prediction. With burns placed as the closed-form solutions of that paper place them (pairs
half an orbit apart, at the arguments of latitude the e/i vectors call for) it is within a few
per cent of the minimum-delta-v solution.
"""
from dataclasses import dataclass

import numpy as np

from flightsw.guidance.roe import (MeanOrbit, j2_rates, mean_from_roe, propagate_mean, roe_control_matrix,
                                   roe_from_mean, roe_stm)


@dataclass(frozen=True)
class Burn:
    """An impulse: t_s after the plan epoch (s), dv_rtn (3,) in the chaser's RTN frame (m/s)."""

    t_s: float
    dv_rtn: np.ndarray

    @property
    def dv_m_s(self) -> float:
        return float(np.linalg.norm(self.dv_rtn))


def total_dv(burns) -> float:
    """Sum of the impulse magnitudes (m/s)."""
    return float(sum(b.dv_m_s for b in burns))


def chaser_u(chief: MeanOrbit, roe) -> float:
    """The chaser's mean argument of latitude (rad) from the chief's and the ROE."""
    return float(mean_from_roe(chief, roe).u_rad)


def times_at_latitude(chief0: MeanOrbit, roe0, u_star, t_from_s, t_to_s):
    """Times in [t_from_s, t_to_s) (s after the epoch) when the chaser's mean argument of
    latitude is u_star (rad) modulo pi, and the half period (s) between them."""
    deputy = mean_from_roe(chief0, np.asarray(roe0, dtype=np.float64))
    u_dot = float(j2_rates(deputy)[0])
    half_period = np.pi / u_dot
    first = t_from_s + ((u_star - float(deputy.u_rad) - u_dot * t_from_s) % np.pi) / u_dot
    return np.arange(first, t_to_s, half_period), half_period


def predict_roe(chief0: MeanOrbit, roe0, burns, t_s) -> np.ndarray:
    """ROE (6, K) at times t_s (K,) (s after epoch) under the plan ``burns``.

    A burn at exactly a sample time is counted in that sample (the state just after it).
    """
    t_s = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
    out = np.empty((6, t_s.size))
    segments = sorted(burns, key=lambda b: b.t_s)
    deputy = mean_from_roe(chief0, np.asarray(roe0, dtype=np.float64))
    t_prev = 0.0
    edges = [b.t_s for b in segments] + [np.inf]
    for k, t_edge in enumerate(edges):
        mask = (t_s >= t_prev) & (t_s < t_edge)
        if mask.any():
            dt = t_s[mask] - t_prev
            ch = propagate_mean(chief0, t_s[mask])
            out[:, mask] = roe_from_mean(ch, propagate_mean(deputy, dt))
        if k < len(segments):
            deputy = _after_impulse(chief0, deputy, t_prev, segments[k])
            t_prev = segments[k].t_s
    return out


def _after_impulse(chief0, deputy, t_deputy_epoch, burn: Burn) -> MeanOrbit:
    """The deputy's mean elements right after ``burn``, referred to the burn time."""
    dep = propagate_mean(deputy, burn.t_s - t_deputy_epoch)
    ch = propagate_mean(chief0, burn.t_s)
    roe = roe_from_mean(ch, dep)
    roe = roe + roe_control_matrix(float(ch.a_m), float(dep.u_rad)) @ np.asarray(burn.dv_rtn)
    return mean_from_roe(ch, roe)


def solve_impulses(chief0: MeanOrbit, roe0, roe_target, t_final_s, burn_times_s,
                   axes=(0, 1, 2), components=(0, 1, 2, 3, 4, 5), iterations=4,
                   weights=None) -> list:
    """Impulses at ``burn_times_s`` (s) that bring the ROE to ``roe_target`` at ``t_final_s``.

    axes: the RTN components each burn may use — one tuple for all (e.g. (1, 2) for
    tangential and normal only) or one tuple per burn; components: which ROE must be reached
    (e.g. (0, 1, 2, 3) for the in-plane ones). Minimum sum of squared delta-v on the linear
    model (Gaias & D'Amico 2015), Newton-corrected on the nonlinear prediction; with
    ``weights`` (one per burn, > 0) the minimum of sum |dv_k|^2 / w_k instead, which keeps a
    minimum-sum-of-norms solution whose magnitudes are the weights (phasing.min_dv_impulses)
    where it is. Raises ValueError if the burns cannot reach the target (the miss is reported
    in metres, a*roe).
    """
    burn_times_s = np.asarray(burn_times_s, dtype=np.float64)
    if burn_times_s.ndim != 1 or burn_times_s.size == 0:
        raise ValueError("need at least one burn time")
    if np.any(burn_times_s < 0.0) or np.any(burn_times_s > t_final_s):
        raise ValueError("burn times must lie within [0, t_final_s]")
    per_burn = [tuple(ax) for ax in axes] if np.ndim(axes[0]) else [tuple(axes)] * burn_times_s.size
    if len(per_burn) != burn_times_s.size:
        raise ValueError("axes must be one tuple, or one tuple per burn")
    offsets = np.cumsum([0] + [len(ax) for ax in per_burn])
    rows = list(components)
    roe_target = np.asarray(roe_target, dtype=np.float64)
    a = float(chief0.a_m)
    x = np.zeros(offsets[-1])
    scale = np.ones(offsets[-1])
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != burn_times_s.shape or not np.all(weights > 0.0):
            raise ValueError("weights must be one positive number per burn")
        scale = np.sqrt(np.repeat(weights, [len(ax) for ax in per_burn]))

    def burns_of(x):
        out = []
        for k, t in enumerate(burn_times_s):
            dv = np.zeros(3)
            dv[list(per_burn[k])] = x[offsets[k]:offsets[k + 1]]
            out.append(Burn(float(t), dv))
        return out

    for _ in range(iterations):
        burns = burns_of(x)
        residual = (roe_target - predict_roe(chief0, roe0, burns, [t_final_s])[:, 0])[rows]
        J = np.hstack([
            roe_stm(chief0, t_final_s - t)
            @ roe_control_matrix(a, chaser_u(propagate_mean(chief0, t),
                                             predict_roe(chief0, roe0, burns, [t])[:, 0]))[:, per_burn[k]]
            for k, t in enumerate(burn_times_s)
        ])[rows]
        x = x + scale * np.linalg.lstsq(J * scale, residual, rcond=None)[0]
    burns = burns_of(x)
    miss_m = a * np.abs(roe_target - predict_roe(chief0, roe0, burns, [t_final_s])[:, 0])[rows]
    if miss_m.max() > 1.0 + 1e-4 * a * np.abs(roe_target - np.asarray(roe0))[rows].max():
        raise ValueError(f"burns at {burn_times_s} s cannot reach the target ROE: miss {miss_m} m")
    return burns


def transfer_burn_times(chief0: MeanOrbit, roe0, roe_target, t_start_s, orbits):
    """Burn times and axes of a close-range transfer over ``orbits`` orbits: two in-plane
    (radial + tangential) pairs half an orbit apart at the latitude of the target e vector,
    at the start and at the end, and two cross-track burns a quarter orbit apart at the
    latitude of the inclination change, in the first orbit (d(di) from one latitude lies on
    one line, D'Amico 2010 eq. 2.38; two latitudes reach any change, the J2 coupling of the
    drift included). Returns (times, axes, t_final)."""
    roe0 = np.asarray(roe0, dtype=np.float64)
    roe_target = np.asarray(roe_target, dtype=np.float64)
    u_e = float(np.arctan2(roe_target[3], roe_target[2]))
    d_di = roe_target[4:6] - roe0[4:6]
    u_i = float(np.arctan2(d_di[1], d_di[0]))
    half = times_at_latitude(chief0, roe0, u_e, t_start_s, t_start_s)[1]
    t_e, _ = times_at_latitude(chief0, roe0, u_e, t_start_s, t_start_s + (2 * orbits + 3) * half)
    t_i, _ = times_at_latitude(chief0, roe0, u_i, t_start_s, t_start_s + 3 * half)
    times = [t_e[0], t_e[1], t_e[2 * orbits], t_e[2 * orbits + 1], t_i[0], t_i[0] + half / 2.0]
    axes = [(0, 1)] * 4 + [(2,)] * 2
    order = np.argsort(times)
    return [times[k] for k in order], [axes[k] for k in order], t_e[2 * orbits + 1]
