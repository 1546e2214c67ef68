"""Mean <-> osculating orbital elements under J2, to first order (Brouwer-Lyddane).

Guidance plans with mean elements: the osculating semi-major axis of a LEO orbit swings by
~10 km twice an orbit under J2 (amplitude (3/2) J2 R^2/a sin^2 i for a circular orbit), which,
read as a mean value, would predict along-track drifts hundreds of km wrong over a day.

The map is Brouwer's first-order short-period and long-period theory in Lyddane's form,
nonsingular for small e and i, as written out in Schaub & Junkins, "Analytical Mechanics of
Space Systems" (2nd ed. 2009), Appendix F ("First-order mapping between mean and osculating
orbit elements"). The same expressions map either way: with gamma_2 = +J2/2 (R/a)^2 mean ->
osculating, with gamma_2 = -J2/2 (R/a)^2 osculating -> mean (the error is second order in J2).
"""
import numpy as np

from flightsw.guidance.elements import (J2_EARTH, MU_EARTH_M3_S2, R_EARTH_M, Elements,
                                        true_from_mean_anomaly)

# 1 - 5 cos^2 i vanishes at the critical inclination (63.43 deg) where the theory is singular.
_CRITICAL_MARGIN = 0.02


def osculating_to_mean(el: Elements, j2=J2_EARTH, r_eq_m=R_EARTH_M) -> Elements:
    """Mean elements of the osculating elements ``el`` (Schaub & Junkins 2009, App. F)."""
    return _brouwer_lyddane(el, -0.5 * j2 * (r_eq_m / el.a_m) ** 2)


def mean_to_osculating(el: Elements, j2=J2_EARTH, r_eq_m=R_EARTH_M) -> Elements:
    """Osculating elements of the mean elements ``el`` (Schaub & Junkins 2009, App. F)."""
    return _brouwer_lyddane(el, 0.5 * j2 * (r_eq_m / el.a_m) ** 2)


def _brouwer_lyddane(el: Elements, gamma2) -> Elements:
    a, e, inc, raan, argp, M = el
    if not 0.0 <= e < 0.5:
        raise ValueError(f"first-order J2 mapping needs a near-circular orbit, got e={e}")
    c = np.cos(inc)
    denom = 1.0 - 5.0 * c**2
    if abs(denom) < _CRITICAL_MARGIN:
        raise ValueError(f"inclination {np.degrees(inc):.3f} deg too close to critical (63.43)")
    eta = np.sqrt(1.0 - e**2)
    g2p = gamma2 / eta**4
    f = true_from_mean_anomaly(M, e)
    cf = np.cos(f)
    ratio = (1.0 + e * cf) / eta**2  # a / r
    w2f = 2.0 * argp + 2.0 * f
    wf, w3f = 2.0 * argp + f, 2.0 * argp + 3.0 * f
    cubic = e + 3.0 * cf + 3.0 * e * cf**2 + e**2 * cf**3

    # semi-major axis: short-period terms only
    a_new = a + a * gamma2 * ((3.0 * c**2 - 1.0) * (ratio**3 - 1.0 / eta**3)
                              + 3.0 * (1.0 - c**2) * ratio**3 * np.cos(w2f))

    long_period = 1.0 - 11.0 * c**2 - 40.0 * c**4 / denom
    de1 = g2p / 8.0 * e * eta**2 * long_period * np.cos(2.0 * argp)
    de = de1 + eta**2 / 2.0 * (
        gamma2 * ((3.0 * c**2 - 1.0) / eta**6 * (e * eta + e / (1.0 + eta) + 3.0 * cf
                                                 + 3.0 * e * cf**2 + e**2 * cf**3)
                  + 3.0 * (1.0 - c**2) / eta**6 * cubic * np.cos(w2f))
        - g2p * (1.0 - c**2) * (3.0 * np.cos(wf) + np.cos(w3f)))
    s = np.sqrt(1.0 - c**2)
    trig3 = 3.0 * np.cos(w2f) + 3.0 * e * np.cos(wf) + e * np.cos(w3f)
    dinc = -e * de1 / (eta**2 * np.tan(inc)) + g2p / 2.0 * c * s * trig3

    sin3 = 3.0 * np.sin(w2f) + 3.0 * e * np.sin(wf) + e * np.sin(w3f)
    # f - M is the equation of the centre, small: wrapped so a 2 pi jump of f cannot enter
    f_minus_M = (f - M + np.pi) % (2.0 * np.pi) - np.pi
    center = f_minus_M + e * np.sin(f)
    node_terms = (-g2p / 8.0 * e**2 * c * (11.0 + 80.0 * c**2 / denom + 200.0 * c**4 / denom**2)
                  - g2p / 2.0 * c * (6.0 * center - sin3))
    lam = M + argp + raan
    lam_new = (lam + g2p / 8.0 * eta**3 * long_period
               - g2p / 16.0 * (2.0 + e**2 - 11.0 * (2.0 + 3.0 * e**2) * c**2
                               - 40.0 * (2.0 + 5.0 * e**2) * c**4 / denom
                               - 400.0 * e**2 * c**6 / denom**2)
               + g2p / 4.0 * (-6.0 * (1.0 - 5.0 * c**2) * (f_minus_M - e * np.sin(f))
                              + (3.0 - 5.0 * c**2) * sin3)
               + node_terms)
    e_dM = (g2p / 8.0 * e * eta**3 * long_period
            - g2p / 4.0 * eta**3 * (2.0 * (3.0 * c**2 - 1.0) * (ratio**2 * eta**2 + ratio + 1.0) * np.sin(f)
                                    + 3.0 * (1.0 - c**2) * ((-ratio**2 * eta**2 - ratio + 1.0) * np.sin(wf)
                                                            + (ratio**2 * eta**2 + ratio + 1.0 / 3.0) * np.sin(w3f))))
    # Lyddane's nonsingular recombination: (e, M) and (i, raan) through their Cartesian forms
    d1 = (e + de) * np.sin(M) + e_dM * np.cos(M)
    d2 = (e + de) * np.cos(M) - e_dM * np.sin(M)
    M_new = np.arctan2(d1, d2)
    e_new = np.hypot(d1, d2)
    half = np.sin(inc / 2.0) + np.cos(inc / 2.0) * dinc / 2.0
    d3 = half * np.sin(raan) + np.sin(inc / 2.0) * node_terms * np.cos(raan)
    d4 = half * np.cos(raan) - np.sin(inc / 2.0) * node_terms * np.sin(raan)
    raan_new = np.arctan2(d3, d4)
    inc_new = 2.0 * np.arcsin(min(np.hypot(d3, d4), 1.0))
    argp_new = lam_new - M_new - raan_new
    two_pi = 2.0 * np.pi
    return Elements(float(a_new), float(e_new), float(inc_new), float(raan_new % two_pi),
                    float(argp_new % two_pi), float(M_new % two_pi))


def j2_energy_sma(r_N, v_N, mu=MU_EARTH_M3_S2, j2=J2_EARTH, r_eq_m=R_EARTH_M):
    """Semi-major axis (m) -mu / (2 E) of the total specific energy E under the J2 field.

    E = v^2/2 - mu/r + mu J2 R^2 (3 sin^2(phi) - 1) / (2 r^3), phi the latitude (the J2 term
    of the geopotential, Vallado 2013 Sec. 8.7): E is an exact integral of the two-body + J2
    motion, so this value has no short-period part at all. Two spacecraft of nearly equal
    inclination and eccentricity differ in it as in their mean semi-major axes (the
    energy-matching condition for zero along-track drift, Gurfil 2005, JGCD 28(4)), to
    O(J2 d(i, e)): metres, where the first-order Brouwer mean a keeps ~30 m of second-order
    short-period residual.
    """
    r = np.asarray(r_N, dtype=np.float64)
    v = np.asarray(v_N, dtype=np.float64)
    rn = np.linalg.norm(r)
    sin2_lat = (r[2] / rn) ** 2
    energy = 0.5 * (v @ v) - mu / rn + mu * j2 * r_eq_m**2 * (3.0 * sin2_lat - 1.0) / (2.0 * rn**3)
    return -mu / (2.0 * energy)
