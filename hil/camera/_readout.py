"""Numba kernels: detector readout of an expected-electron image into DN (see readout.py)."""

import math

import numpy as np
from numba import njit

from hil.camera.rng import POISSON_INVERSION_MAX_MEAN, draw, normal_from_high32, poisson, poisson_inversion, uniform53

# Sub-streams of a pixel's draw, so that no two random quantities share numbers.
_EXPLICIT_SALT = np.uint64(0x5DEECE66D2545F49)
_SOURCE_SALT = np.uint64(0xD1B54A32D192ED03)
_MASK32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_INV_2_32 = 1.0 / 4294967296.0


@njit(inline="always")
def _exp_neg(s):
    # exp(-s): the cubic Taylor series is good to 4e-10 below 0.01, where most PSF wings are
    if s < 0.01:
        return 1.0 - s * (1.0 - s * (0.5 - s * (1.0 / 6.0)))
    return math.exp(-s)


@njit(cache=True)
def _phi(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@njit(cache=True)
def dn_cdf_tables(levels_e, read_noise_e, gain_e_per_dn, bias_dn, adc_max, full_well_e):
    """CDFs over DN of a pixel holding Poisson(level) electrons plus read noise, one row per level.

    P(DN <= d) = sum_n Pois(n; level) Phi(((d + 1/2 - bias) g - min(n, full_well)) / read_noise):
    the exact distribution of floor((min(N, FW) + read_noise Z) / g + bias + 1/2), clipped to the
    ADC range. All rows share the DN axis d_lo .. d_lo + n_dn - 1; the Phi factor is computed
    once for all levels. Returns (d_lo, cdf (n_levels, n_dn)).
    """
    lo, hi = levels_e.min(), levels_e.max()
    n_lo = max(0, int(lo - 10.0 * math.sqrt(lo) - 10.0))
    n_hi = int(hi + 10.0 * math.sqrt(hi) + 10.0)
    spread_e = 10.0 * read_noise_e + 2.0
    d_lo = max(0, int(math.floor((min(float(n_lo), full_well_e) - spread_e) / gain_e_per_dn + bias_dn)) - 1)
    d_hi = min(int(adc_max), int(math.ceil((min(float(n_hi), full_well_e) + spread_e) / gain_e_per_dn + bias_dn)) + 1)
    n_dn = d_hi - d_lo + 1
    n_count = n_hi - n_lo + 1
    phi = np.empty((n_count, n_dn))
    for i in range(n_count):
        e = min(float(n_lo + i), full_well_e)
        for k in range(n_dn):
            edge = (d_lo + k + 0.5 - bias_dn) * gain_e_per_dn - e
            if read_noise_e > 0:
                phi[i, k] = _phi(edge / read_noise_e)
            else:
                phi[i, k] = 1.0 if edge > 0 else 0.0
    cdf = np.zeros((len(levels_e), n_dn))
    for m in range(len(levels_e)):
        level = levels_e[m]
        log_level = math.log(level) if level > 0 else 0.0
        for i in range(n_count):
            n = n_lo + i
            if level > 0:
                p = math.exp(-level + n * log_level - math.lgamma(n + 1.0))
            else:
                p = 1.0 if n == 0 else 0.0
            if p < 1e-300:
                continue
            for k in range(n_dn):
                cdf[m, k] += p * phi[i, k]
        # the ends absorb what lies beyond: the ADC limits, or a mass below 1e-20 outside the span
        cdf[m, n_dn - 1] = 1.0
    return d_lo, cdf


@njit(cache=True)
def alias_tables(pmf_rows):
    """Walker's alias table of each row of a 2-D array of PMFs (Vose 1991, IEEE TSE 17, 972).

    Returns (thresholds scaled to 2^32, aliases), one row per PMF. Sampling row m with a 32-bit
    uniform h: j = floor(h n / 2^32), f = (h n) mod 2^32; the outcome is j when
    f < threshold[m, j], else alias[m, j]. Exact to 2^-32 per cell.
    """
    n_rows, n = pmf_rows.shape
    thresholds = np.empty((n_rows, n), dtype=np.int64)
    aliases = np.empty((n_rows, n), dtype=np.int64)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    for m in range(n_rows):
        scaled = pmf_rows[m] / pmf_rows[m].sum() * n
        n_small = 0
        n_large = 0
        for k in range(n):
            thresholds[m, k] = 4294967296
            aliases[m, k] = k
            if scaled[k] < 1.0:
                small[n_small] = k
                n_small += 1
            else:
                large[n_large] = k
                n_large += 1
        while n_small > 0 and n_large > 0:
            n_small -= 1
            s = small[n_small]
            g = large[n_large - 1]
            thresholds[m, s] = np.int64(scaled[s] * 4294967296.0 + 0.5)
            aliases[m, s] = g
            scaled[g] = scaled[g] + scaled[s] - 1.0
            if scaled[g] < 1.0:
                n_large -= 1
                small[n_small] = g
                n_small += 1
    return thresholds, aliases


@njit(inline="always")
def _alias_draw(high32, threshold, alias, offset, n):
    """Outcome 0..n-1 of the alias table stored at threshold/alias[offset : offset + n]."""
    hn = high32 * np.uint64(n)
    j = np.int64(hn >> _S32)
    f = np.int64(hn & _MASK32)
    a = alias[offset + j]
    return a + (j - a) * np.int64(f < threshold[offset + j])


@njit(inline="always")
def _dn(electrons, sub, quantiles, full_well, read_noise_e, inv_gain, bias_dn, adc_max):
    """DN of a pixel holding `electrons`: full well, read noise (from sub-stream sub), gain, bias, ADC."""
    e = min(electrons, full_well)
    z_bits = draw(sub ^ _SOURCE_SALT, 0)
    z = normal_from_high32(z_bits, z_bits, quantiles)
    dn = math.floor((e + read_noise_e * z) * inv_gain + bias_dn + 0.5)
    return min(max(dn, 0.0), adc_max)


@njit(inline="always")
def _explicit_dn(flat_mean, rest_electrons, deposit_e, bits, quantiles, full_well, read_noise_e, inv_gain, bias_dn,
                 adc_max):
    sub = bits ^ _EXPLICIT_SALT
    n = poisson(flat_mean, sub, quantiles) + rest_electrons
    return _dn(n + deposit_e, sub, quantiles, full_well, read_noise_e, inv_gain, bias_dn, adc_max)


@njit(cache=True)
def read_out(signal_e, bg_row_e, bg_col_e, level0_e, level_step_e, d_lo, dn_threshold, dn_alias, key, quantiles,
             full_well, read_noise_e, inv_gain, bias_dn, adc_max, out):
    """Read a whole frame. Mean electrons of pixel (r, c): bg_row_e[r] + bg_col_e[c] + signal_e[r, c].

    Poisson additivity splits a pixel's electrons into those of the background level just below
    its own (levels level0 + k * step, one exact DN distribution each, as alias tables with rows
    k) and the rest (a fraction of a step of background, plus the sources). The rest is drawn by
    inversion from the low 32 bits of the pixel's draw; where it is zero, as in most pixels, the
    DN comes from the level's DN distribution via the high 32 bits. Otherwise the level's
    electrons and the read noise are drawn explicitly from a sub-stream. Pixel i = r * n_cols + c
    uses draw(key, i), so read_out_pixels can redo any pixel.
    """
    n_rows, n_cols = signal_e.shape
    n_levels, n_dn = dn_threshold.shape
    threshold = dn_threshold.ravel()
    alias = dn_alias.ravel()
    inv_step = 1.0 / level_step_e
    levels = level0_e + level_step_e * np.arange(n_levels)
    exp_neg_levels = np.exp(-levels)
    for r in range(n_rows):
        base = r * n_cols
        row_above = bg_row_e[r] - level0_e
        for c in range(n_cols):
            s = signal_e[r, c]
            above = row_above + bg_col_e[c]
            k = min(int(above * inv_step), n_levels - 1)
            rest = above - k * level_step_e + s
            bits = draw(key, base + c)
            low = np.int64(bits & _MASK32)
            # exp(-rest) >= 1 - rest: below that the inversion certainly gives no rest electron
            if low < (1.0 - rest) * 4294967296.0:
                out[r, c] = d_lo + _alias_draw(bits >> _S32, threshold, alias, k * n_dn, n_dn)
                continue
            out[r, c] = _pixel_with_rest(rest, low, bits, levels[k], exp_neg_levels[k], threshold, alias, k * n_dn,
                                         n_dn, d_lo, quantiles, full_well, read_noise_e, inv_gain, bias_dn, adc_max)


@njit(cache=True)
def _pixel_with_rest(rest, low, bits, level_e, exp_neg_level, threshold, alias, offset, n_dn, d_lo, quantiles,
                     full_well, read_noise_e, inv_gain, bias_dn, adc_max):
    """DN of a pixel whose rest electrons are not certainly zero (kept out of the hot loop)."""
    if rest < POISSON_INVERSION_MAX_MEAN:
        n_rest = float(poisson_inversion(rest, _exp_neg(rest), low * _INV_2_32))
    else:
        n_rest = poisson(rest, bits ^ _SOURCE_SALT, quantiles)
    if n_rest == 0.0:
        return d_lo + _alias_draw(bits >> _S32, threshold, alias, offset, n_dn)
    sub = bits ^ _EXPLICIT_SALT
    if level_e < POISSON_INVERSION_MAX_MEAN:
        n_level = float(poisson_inversion(level_e, exp_neg_level, uniform53(draw(sub, 0))))
    else:
        n_level = poisson(level_e, sub, quantiles)
    return np.int64(_dn(n_level + n_rest, sub, quantiles, full_well, read_noise_e, inv_gain, bias_dn, adc_max))


@njit(cache=True)
def read_out_explicit(signal_e, bg_row_e, bg_col_e, key, quantiles, full_well, read_noise_e, inv_gain, bias_dn,
                      adc_max, out):
    """Read a whole frame drawing every pixel's electrons and read noise explicitly (bright frames)."""
    n_rows, n_cols = signal_e.shape
    for r in range(n_rows):
        base = r * n_cols
        for c in range(n_cols):
            bits = draw(key, base + c)
            mean = bg_row_e[r] + bg_col_e[c] + signal_e[r, c]
            n = poisson(mean, bits ^ _SOURCE_SALT, quantiles)
            out[r, c] = _explicit_dn(0.0, n, 0.0, bits, quantiles, full_well, read_noise_e, inv_gain, bias_dn,
                                     adc_max)


@njit(cache=True)
def read_out_pixels(flat_index, extra_mean_e, deposit_e, signal_e, bg_row_e, bg_col_e, key, quantiles, full_well,
                    read_noise_e, inv_gain, bias_dn, adc_max, out):
    """Redo listed pixels with extra mean electrons (hot pixels) and deposited charge (cosmic rays)."""
    n_cols = signal_e.shape[1]
    for k in range(len(flat_index)):
        i = flat_index[k]
        r = i // n_cols
        c = i - r * n_cols
        bits = draw(key, i)
        mean = bg_row_e[r] + bg_col_e[c] + signal_e[r, c] + extra_mean_e[k]
        n = poisson(mean, bits ^ _SOURCE_SALT, quantiles)
        out[r, c] = _explicit_dn(0.0, n, deposit_e[k], bits, quantiles, full_well, read_noise_e, inv_gain, bias_dn,
                                 adc_max)
