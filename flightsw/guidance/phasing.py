"""Far-range phasing: close a large along-track separation in a time budget for least delta-v.

The chaser moves onto a phasing orbit of different mean semi-major axis, whose along-track
drift rate relative to the target is d(lambda)/dt = -(3/2) n da/a (plus its J2 part, roe_stm),
and back off it at the end. Entry and exit are each a two-impulse, Hohmann-like pair of
tangential burns half an orbit apart (a circular phasing orbit, so the e vector is unchanged
and the two burns also steer it). All four burns sit at the same argument of latitude modulo
pi — the one where a cross-track impulse corrects the relative inclination vector (D'Amico
2010, eq. 2.38: d(di) = (cos u, sin u) dv_N / (n a)) — so each carries a quarter of the
cross-track correction and the in-plane and cross-track parts add as vectors, not as sums.
The four impulses are solved together (maneuvers.solve_impulses) to reach the aimed ROE (the
first hold point of the mid-range approach) at the last burn.

Lower bound. In the linear (Hill) model a tangential impulse dv at time s before the end moves
the chaser along-track by f(s) dv, f(s) = (4/n) sin(n s) - 3 s (Hill-Clohessy-Wiltshire
solution; with J2 the secular term takes the drift coefficient of the ROE STM). With the drift
stopped at the end the tangential impulses sum to D = n a (da_f - da_0)/2, and splitting them
into positive (total p) and negative (total m) parts, p - m = D, gives

    |dy - D (f_max + f_min)/2| <= (p + m)(f_max - f_min)/2,

so the least in-plane delta-v for an along-track change dy over the span is
|2 dy - D (f_max + f_min)| / (f_max - f_min) (and at least |D|); a radial impulse moves the
chaser at most 4/n per m/s, far less than the ~3T of a tangential one. The cross-track part
needs at least n a |d(di)|. Since sum_k |dv_k| >= sqrt((sum |dv_T,k|)^2 + (sum |dv_N,k|)^2),
the bound on the whole transfer is sqrt(bound_T^2 + bound_N^2). It ignores the e-vector
correction, so it is a true lower bound on any impulsive transfer in the same time.
"""
from dataclasses import dataclass

import numpy as np

from flightsw.guidance.maneuvers import predict_roe, solve_impulses, times_at_latitude, total_dv
from flightsw.guidance.roe import MeanOrbit, propagate_mean, roe_stm


@dataclass(frozen=True)
class PhasingPlan:
    """Four impulses and their figures: dv_m_s planned, dv_lower_bound_m_s of any transfer
    between the earliest burn time and the end of the budget (module docstring), t_arrival_s
    when the aimed ROE is reached (the last burn)."""

    burns: tuple
    t_arrival_s: float
    dv_m_s: float
    dv_lower_bound_m_s: float

    @property
    def ratio_to_bound(self) -> float:
        return self.dv_m_s / self.dv_lower_bound_m_s


def phasing_lower_bound(chief0: MeanOrbit, roe0, roe_final, span_s, samples=20001) -> float:
    """Least delta-v (m/s) of any impulsive transfer from roe0 reaching roe_final's da, dlambda
    and di within span_s (s) (module docstring)."""
    a = float(chief0.a_m)
    n = float(chief0.n_rad_s)
    free = roe_stm(chief0, span_s) @ np.asarray(roe0, dtype=np.float64)
    dy = a * (roe_final[1] - free[1])
    D = n * a * (roe_final[0] - roe0[0]) / 2.0
    drift_per_s = roe_stm(chief0, 1.0)[1, 0]  # d(dlambda)/dt per unit da, with J2
    s = np.linspace(0.0, span_s, samples)
    f = 4.0 / n * np.sin(n * s) + 2.0 / n * drift_per_s * s
    f_max, f_min = f.max(), f.min()
    bound_t = max(abs(2.0 * dy - D * (f_max + f_min)) / (f_max - f_min), abs(D))
    bound_n = n * a * np.linalg.norm(np.asarray(roe_final[4:6]) - free[4:6])
    return float(np.hypot(bound_t, bound_n))


def _solve_at(chief0, roe0, roe_final, t_earliest_s, t_budget_s, u_star, axes, components):
    """Burn times at the chaser's latitude u_star (mod pi), first two and last two of the
    window, and the impulses there."""
    times, _ = times_at_latitude(chief0, roe0, u_star, t_earliest_s, t_budget_s)
    if times.size < 4:
        raise ValueError(f"a {t_budget_s:.0f} s budget leaves no room for a phasing drift")
    burn_times = [times[0], times[1], times[-2], times[-1]]
    return times, solve_impulses(chief0, roe0, roe_final, times[-1], burn_times, axes, components)


def plan_phasing(chief0: MeanOrbit, roe0, roe_final, t_budget_s, t_earliest_s=600.0) -> PhasingPlan:
    """The four-impulse phasing transfer from roe0 (at the epoch) to roe_final within
    t_budget_s (s after the epoch), first burn no earlier than t_earliest_s (module docstring).

    The chaser's ROE while drifting change with its semi-major axis only, so roe_final's e and
    i vectors are reached as aimed; its da should be 0 (a hold) or small.
    """
    roe0 = np.asarray(roe0, dtype=np.float64)
    roe_final = np.asarray(roe_final, dtype=np.float64)
    # First the in-plane transfer alone, its burns placed for the e-vector change...
    free = roe_stm(chief0, t_budget_s) @ roe0
    d_de = roe_final[2:4] - free[2:4]
    in_plane = _solve_at(chief0, roe0, roe_final, t_earliest_s, t_budget_s,
                         float(np.arctan2(d_de[1], d_de[0])), axes=(0, 1), components=(0, 1, 2, 3))
    # ...then the latitude where the remaining cross-track change is cheapest. The drift
    # itself rotates di under J2 (roe_stm row 6), so that change is measured after it.
    times, in_plane_burns = in_plane
    drifted = predict_roe(chief0, roe0, in_plane_burns, [times[-1]])[:, 0]
    d_di = roe_final[4:6] - drifted[4:6]
    u_star = float(np.arctan2(d_di[1], d_di[0]))
    times, burns = _solve_at(chief0, roe0, roe_final, t_earliest_s, t_budget_s, u_star,
                             axes=(0, 1, 2), components=(0, 1, 2, 3, 4, 5))
    # the bound gets the whole window the budget allows, not only the span the plan used
    start = predict_roe(chief0, roe0, [], [t_earliest_s])[:, 0]
    bound = phasing_lower_bound(propagate_mean(chief0, t_earliest_s), start, roe_final,
                                t_budget_s - t_earliest_s)
    return PhasingPlan(tuple(burns), float(times[-1]), total_dv(burns), bound)

