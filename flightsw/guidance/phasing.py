"""Far-range phasing: close a large along-track separation in a time budget for least delta-v.

The problem. From the ROE roe0 now to the aimed ROE roe_f (the first hold point of the
mid-range approach) at the end of the window, with impulses dv_k at times t_k in the window.
On the ROE model (roe.roe_stm, exact for the secular J2 motion of two mean orbits at any
separation; roe.roe_control_matrix at the chaser's own argument of latitude) the end state is
linear in the impulses,

    roe_f - Phi(T) roe0 = sum_k A(t_k) dv_k,    A(t) = Phi(T - t) Gamma(u_C(t)),

and the delta-v is sum_k |dv_k|: a minimum-sum-of-norms problem (Lawden's primer-vector
problem on a linear model). The chaser's far-range separation changes its drift (the da part)
and its e and i vectors all at once, so a plan that only phases — or a fixed burn pattern at
one latitude — pays far more than it must when the insertion has left e/i differences of
kilometres (victus-haze: 13 km in e, 6 km in i).

The plan. The impulses are solved on a grid of candidate times (every 1/32 orbit over the
window) by iteratively reweighted least squares (the group-lasso fixed point
x_k = |x_k| A_kᵀ mu, mu = (sum_k |x_k| A_k A_kᵀ)^-1 b), which converges to the minimum of sum
|dv_k|; the few grid points it leaves with delta-v are merged where neighbours (one burn
smeared over adjacent samples), and the burns are then Newton-corrected against the nonlinear
secular-J2 prediction (maneuvers.solve_impulses, weighted so the minimum-norm structure is
kept), the aim reached at the last burn.

The lower bound. For any mu, every transfer in the window obeys
mu . b = sum_k (A_kᵀ mu) . dv_k <= max_t |A(t)ᵀ mu| sum_k |dv_k|, so

    sum_k |dv_k| >= mu . b / max_t |A(t)ᵀ mu|

(weak duality; |A(t)ᵀ mu| is the primer vector's magnitude). The bound takes mu from the
solution above and the maximum over a grid 16 times finer than the candidates' (the primer
magnitude varies over an orbit, so a grid of 1/512 orbit leaves it within 1e-4 of its true
maximum). It holds for any impulsive transfer in the same window, whatever the burn times
and directions, e/i corrections included, and when the iteration has converged it equals the
least delta-v of the linear problem: the planned delta-v over it is the plan's optimality gap
(nonlinearity, merging) — not a comparison with a bound that leaves parts of the problem out.
"""
from dataclasses import dataclass

import numpy as np

from flightsw.guidance.maneuvers import predict_roe, solve_impulses, total_dv
from flightsw.guidance.roe import MeanOrbit, j2_rates, mean_from_roe, propagate_mean, roe_stm_series

CANDIDATES_PER_ORBIT = 32
BOUND_REFINE = 16
IRLS_ITERATIONS = 400
# a candidate whose impulse is below this fraction of the total is dropped from the plan
KEEP_FRACTION = 2e-3
MAX_BURNS = 10
# solves of the burns, each after joining those whose windows came to overlap
SOLVE_PASSES = 3


@dataclass(frozen=True)
class PhasingPlan:
    """The impulses and their figures: dv_m_s planned, dv_lower_bound_m_s of any transfer
    between the earliest burn time and the end of the budget (module docstring), t_arrival_s
    when the aimed ROE is reached (the last burn)."""

    burns: tuple
    t_arrival_s: float
    dv_m_s: float
    dv_lower_bound_m_s: float

    @property
    def ratio_to_bound(self) -> float:
        return self.dv_m_s / self.dv_lower_bound_m_s


def impulse_matrices(chief0: MeanOrbit, roe0, t_s, t_final_s) -> np.ndarray:
    """A(t) (K, 6, 3), in metres of a*roe at t_final_s per m/s of impulse at each t_s (K,),
    the chaser's latitude taken on its free motion from roe0 (module docstring)."""
    t_s = np.asarray(t_s, dtype=np.float64)
    deputy = mean_from_roe(chief0, np.asarray(roe0, dtype=np.float64))
    u = np.asarray(propagate_mean(deputy, t_s).u_rad)
    s, c = np.sin(u), np.cos(u)
    n = float(chief0.n_rad_s)
    gamma = np.zeros((t_s.size, 6, 3))
    gamma[:, 0, 1] = 2.0
    gamma[:, 1, 0] = -2.0
    gamma[:, 2, 0], gamma[:, 2, 1] = s, 2.0 * c
    gamma[:, 3, 0], gamma[:, 3, 1] = -c, 2.0 * s
    gamma[:, 4, 2], gamma[:, 5, 2] = c, s
    return roe_stm_series(chief0, t_final_s - t_s) @ gamma / n


def min_dv_impulses(A, b, iterations=IRLS_ITERATIONS):
    """Impulses x (K, 3) minimising sum_k |x_k| subject to sum_k A_k x_k = b (A (K, 6, 3),
    b (6,)), by iteratively reweighted least squares; and the multiplier mu (6,) of the
    constraint (module docstring)."""
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    weight = np.ones(A.shape[0])
    AAt = np.einsum("kij,klj->kil", A, A)
    mu = np.zeros(6)
    for _ in range(iterations):
        mu = np.linalg.solve(np.einsum("k,kil->il", weight, AAt), b)
        x = weight[:, None] * np.einsum("kij,i->kj", A, mu)
        norms = np.linalg.norm(x, axis=1)
        weight = np.maximum(norms, 1e-12 * max(norms.max(), 1e-300))
    return x, mu


def dual_bound(A_fine, b, mu) -> float:
    """mu . b / max_t |A(t)ᵀ mu|: a lower bound on sum |dv_k| of any transfer whose impulse
    times lie in the span A_fine samples (module docstring)."""
    primer = np.linalg.norm(np.einsum("kij,i->kj", A_fine, mu), axis=1)
    return float(max(mu @ b, 0.0) / primer.max()) if primer.max() > 0.0 else 0.0


def _grid(chief0: MeanOrbit, t_from_s, t_to_s, per_orbit):
    period = 2.0 * np.pi / float(chief0.n_rad_s)
    k = max(int(np.ceil((t_to_s - t_from_s) / period * per_orbit)), 1)
    return np.linspace(t_from_s, t_to_s, k + 1)


def _free_miss(chief0, roe0, roe_final, t_final_s):
    """b: a*(roe_final - free motion at t_final_s) (m)."""
    free = predict_roe(chief0, roe0, [], [t_final_s])[:, 0]
    return float(chief0.a_m) * (np.asarray(roe_final, dtype=np.float64) - free)


def phasing_lower_bound(chief0: MeanOrbit, roe0, roe_final, span_s) -> float:
    """Least delta-v (m/s) of any impulsive transfer from roe0 (at the epoch) reaching
    roe_final, all six ROE, at span_s with its impulses in [0, span_s] (module docstring)."""
    b = _free_miss(chief0, roe0, roe_final, span_s)
    t = _grid(chief0, 0.0, span_s, CANDIDATES_PER_ORBIT)
    _, mu = min_dv_impulses(impulse_matrices(chief0, roe0, t, span_s), b)
    fine = _grid(chief0, 0.0, span_s, CANDIDATES_PER_ORBIT * BOUND_REFINE)
    return dual_bound(impulse_matrices(chief0, roe0, fine, span_s), b, mu)


def _merge(t, x, keep_fraction):
    """The burns of the grid solution: runs of adjacent grid points with impulse merged into
    one at their impulse-weighted time, carrying their summed impulse."""
    norms = np.linalg.norm(x, axis=1)
    active = np.flatnonzero(norms > keep_fraction * norms.sum())
    burns = []
    for run in np.split(active, np.flatnonzero(np.diff(active) > 1) + 1):
        if run.size:
            w = norms[run]
            burns.append((float(np.sum(w * t[run]) / w.sum()), x[run].sum(axis=0)))
    return burns


# the solved burns may exceed the cap by this factor, no more (a 3.8 m/s burn flies ~16 min,
# a sixth of an orbit). vh24 flew 2.7 and 3.4 m/s burns (two joined by guidance) with
# navigation consistent throughout; vh19's 5 m/s end-game burn preceded a divergence. At 1.5,
# victus-haze's re-plan at 11 h (107 km off after navigation's range settled) fitted only 3
# orbits late (vh28). vh23's trouble at 2.0 — the chaser at the 25 km gate drifting fast, the
# mid approach's first transfer 16.6 m/s in 5 m/s burns — is the transfer's: its burns now keep
# to the cap, and the phasing hands over at the gate
CAP_TOLERANCE = 2.0


class OverCap(ValueError):
    """The phasing's burns do not fit the burn cap in its window (too few orbits to split a
    burn, or the solved burns over CAP_TOLERANCE x the cap): a later arrival may fit."""


def _window_s(dv, burn_s_per_mps, cap=None) -> float:
    """The finite window (s) a burn of dv flies in, at most a capped part's."""
    size = float(np.linalg.norm(dv))
    return burn_s_per_mps * (size if cap is None else min(size, cap))


def _coalesce(merged, burn_s_per_mps, gap_s, cap=None):
    """Burns whose finite windows (burn_s_per_mps s per m/s, a burn over the cap counted as
    one capped part) would overlap or come within gap_s — guidance flies such impulses as one,
    the controller flying one burn at a time — joined into one at their impulse-weighted
    time, so the cap and the split see the burn that will be flown."""
    out = []
    for t, dv in merged:
        if out and t - out[-1][0] < 0.5 * (_window_s(out[-1][1], burn_s_per_mps, cap)
                                           + _window_s(dv, burn_s_per_mps, cap)) + gap_s:
            t0, dv0 = out[-1]
            w0, w1 = np.linalg.norm(dv0), np.linalg.norm(dv)
            out[-1] = ((w0 * t0 + w1 * t) / max(w0 + w1, 1e-300), dv0 + dv)
        else:
            out.append((t, dv))
    return out


def _split(merged, cap, period, t_from, t_to):
    """Burns over ``cap`` m/s split into equal parts whole orbits apart (the same latitude,
    so nearly the same effect on the ROE), spread before and after the original within the
    window: a finite burn of the whole would sweep a long arc of the orbit. ValueError when
    the window has no room for the parts a burn needs."""
    out = []
    for t, dv in merged:
        parts = int(np.ceil(np.linalg.norm(dv) / cap)) if cap else 1
        if parts <= 1:
            out.append((t, dv))
            continue
        offsets = [0]
        for j in range(1, 4 * parts):
            for side in (-j, j):
                if len(offsets) < parts and t_from <= t + side * period <= t_to:
                    offsets.append(side)
        if len(offsets) < parts:
            # a burn left whole would sweep a long arc (vh19: 5 m/s over 21 min near the far
            # deadline, after which navigation diverged): refuse, the caller plans otherwise
            raise OverCap(f"a {np.linalg.norm(dv):.2f} m/s burn needs {parts} parts of at most "
                             f"{cap:.2f} m/s an orbit apart; the window has room for {len(offsets)}")
        out += [(t + k * period, dv / len(offsets)) for k in offsets]
    return sorted(out, key=lambda m: m[0])


def plan_phasing(chief0: MeanOrbit, roe0, roe_final, t_budget_s, t_earliest_s=600.0,
                 max_burn_dv_mps=None, burn_s_per_mps=0.0, gap_s=0.0) -> PhasingPlan:
    """The least-delta-v transfer from roe0 (at the epoch) to roe_final within t_budget_s (s
    after the epoch), first burn no earlier than t_earliest_s, no burn over max_burn_dv_mps
    (larger ones split into parts an orbit apart), no two burns' finite windows (burn_s_per_mps
    s per m/s: mass / force) within gap_s of each other (closer ones joined first) (module
    docstring). Raises ValueError if the window is empty or the burns cannot reach the aim;
    OverCap if its burns do not fit the cap, or keep coming within each other's windows (the
    solve is repeated on joined burns SOLVE_PASSES times)."""
    roe0 = np.asarray(roe0, dtype=np.float64)
    roe_final = np.asarray(roe_final, dtype=np.float64)
    if not t_budget_s > t_earliest_s:
        raise ValueError(f"a {t_budget_s:.0f} s budget leaves no time after the earliest "
                         f"burn at {t_earliest_s:.0f} s")
    b = _free_miss(chief0, roe0, roe_final, t_budget_s)
    t = _grid(chief0, t_earliest_s, t_budget_s, CANDIDATES_PER_ORBIT)
    x, mu = min_dv_impulses(impulse_matrices(chief0, roe0, t, t_budget_s), b)
    fine = _grid(chief0, t_earliest_s, t_budget_s, CANDIDATES_PER_ORBIT * BOUND_REFINE)
    bound = dual_bound(impulse_matrices(chief0, roe0, fine, t_budget_s), b, mu)
    merged = _coalesce(_merge(t, x, KEEP_FRACTION), burn_s_per_mps, gap_s, max_burn_dv_mps)
    if len(merged) > MAX_BURNS:
        merged = sorted(sorted(merged, key=lambda m: -np.linalg.norm(m[1]))[:MAX_BURNS])
    period = 2.0 * np.pi / float(j2_rates(mean_from_roe(chief0, roe0))[0])
    merged = _split(merged, max_burn_dv_mps, period, t_earliest_s, t_budget_s)
    times = np.clip([m[0] for m in merged], t_earliest_s, t_budget_s)
    weights = np.array([np.linalg.norm(m[1]) for m in merged])
    for _ in range(SOLVE_PASSES):
        # the aim is reached at the last burn: drift after it is J2's alone, and holds there
        burns = solve_impulses(chief0, roe0, roe_final, float(times[-1]), times, axes=(0, 1, 2),
                               components=(0, 1, 2, 3, 4, 5), weights=weights, iterations=5)
        # the solve moves delta-v between burns, and the split's parts may land beside another
        # burn: burns whose finite windows now overlap are joined (guidance would fly them as
        # one; vh24 flew two such as 2.7 and 3.4 m/s) and the plan solved again on the joined
        pairs = [(b.t_s, b.dv_rtn) for b in burns]
        joined = _coalesce(pairs, burn_s_per_mps, gap_s)
        if len(joined) == len(pairs):
            break
        times = np.clip([m[0] for m in joined], t_earliest_s, t_budget_s)
        weights = np.maximum([np.linalg.norm(m[1]) for m in joined], 1e-9)
    else:
        raise OverCap(f"the phasing's burns keep coming within each other's windows after "
                      f"{SOLVE_PASSES} solves")
    # the nonlinear solve redistributes the delta-v over the burns, some over the cap (1.3-1.8x
    # in victus-haze's 22 h phasing); one far over it is the long arc the split exists to avoid
    # (vh19: a 4-orbit re-plan put 5 m/s, 21 min, on one burn): refused
    worst = max(b.dv_m_s for b in burns)
    if max_burn_dv_mps is not None and worst > CAP_TOLERANCE * max_burn_dv_mps:
        raise OverCap(f"the phasing needs a {worst:.2f} m/s burn, over {CAP_TOLERANCE:g}x the "
                      f"{max_burn_dv_mps:.2f} m/s cap")
    return PhasingPlan(tuple(burns), float(times[-1]), total_dv(burns), bound)


def plan_phasing_in_cap(chief0: MeanOrbit, roe0, roe_final, t_budget_s, t_latest_s,
                        t_earliest_s=600.0, max_burn_dv_mps=None, burn_s_per_mps=0.0, gap_s=0.0):
    """plan_phasing arriving by t_budget_s if its burns fit the cap there, else the earliest
    arrival a whole orbit later, then two, ... up to t_latest_s, that does: a re-plan left
    with less time than its delta-v needs in burns of the cap (victus-haze's at 11 h, after
    navigation moved the estimate 107 km) arrives an orbit or two late rather than not at all.
    Returns (plan, orbits late); raises the last ValueError if none up to t_latest_s fits."""
    period = 2.0 * np.pi / float(chief0.n_rad_s)
    late, error = 0, None
    while t_budget_s + late * period <= max(t_latest_s, t_budget_s):
        try:
            return plan_phasing(chief0, roe0, roe_final, t_budget_s + late * period, t_earliest_s,
                                max_burn_dv_mps, burn_s_per_mps, gap_s), late
        except OverCap as exc:
            error = exc
        late += 1
    raise OverCap(f"{error} (and with the arrival up to {late - 1} orbits later)")
