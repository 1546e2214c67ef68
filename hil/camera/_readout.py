"""Numba kernels: detector readout of an expected-electron image into DN (see readout.py)."""

import math

import numpy as np
from numba import njit

from hil.camera.rng import POISSON_INVERSION_MAX_MEAN, draw, normal_from_high32, poisson, poisson_inversion

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
def dn_table(mean_e, read_noise_e, gain_e_per_dn, bias_dn, adc_max, full_well_e, n_guide):
    """CDF over DN values of a pixel holding Poisson(mean_e) electrons and read noise, plus a guide table.

    P(DN <= d) = sum_n Pois(n; mean) Phi(((d + 1/2 - bias) g - min(n, full_well)) / read_noise):
    the exact distribution of floor((min(N, FW) + read_noise Z) / g + bias + 1/2), clipped to the
    ADC range. Returns (first DN, CDF per DN from it, guide) for inversion with the guide-table
    method (Chen & Asau 1974): guide[j] is the first DN index whose CDF exceeds j / n_guide.
    """
    spread_e = 10.0 * math.sqrt(mean_e) + 10.0 * read_noise_e + 10.0
    n_lo = max(0, int(mean_e - 10.0 * math.sqrt(mean_e) - 10.0))
    n_hi = int(mean_e + 10.0 * math.sqrt(mean_e) + 10.0)
    d_lo = max(0, int(math.floor((min(mean_e, full_well_e) - spread_e) / gain_e_per_dn + bias_dn)) - 1)
    d_hi = min(int(adc_max), int(math.ceil((min(mean_e, full_well_e) + spread_e) / gain_e_per_dn + bias_dn)) + 1)
    n_dn = d_hi - d_lo + 1
    log_mean = math.log(mean_e) if mean_e > 0 else 0.0
    cdf = np.zeros(n_dn)
    for n in range(n_lo, n_hi + 1):
        if mean_e > 0:
            p = math.exp(-mean_e + n * log_mean - math.lgamma(n + 1.0))
        else:
            p = 1.0 if n == 0 else 0.0
        if p < 1e-300:
            continue
        e = min(float(n), full_well_e)
        for k in range(n_dn):
            edge = (d_lo + k + 0.5 - bias_dn) * gain_e_per_dn - e
            if read_noise_e > 0:
                cdf[k] += p * _phi(edge / read_noise_e)
            elif edge > 0:
                cdf[k] += p
    # the ends absorb what lies beyond: the ADC limits, or a mass below 1e-20 outside the span
    cdf[n_dn - 1] = 1.0
    guide = np.empty(n_guide, dtype=np.int64)
    k = 0
    for j in range(n_guide):
        while cdf[k] <= j / n_guide:
            k += 1
        guide[j] = k
    return d_lo, cdf, guide


@njit(cache=True)
def alias_table(pmf):
    """Walker's alias table of a PMF (Vose 1991, IEEE TSE 17, 972): thresholds scaled to 2^32, aliases.

    Sampling: j = floor(h n / 2^32), f = (h n) mod 2^32 for a 32-bit uniform h; the outcome is j
    when f < threshold[j], else alias[j]. Exact to 2^-32 per cell.
    """
    n = len(pmf)
    scaled = pmf / pmf.sum() * n
    threshold = np.full(n, np.int64(1) << 32)
    alias = np.arange(n)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    n_small = 0
    n_large = 0
    for k in range(n):
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
        threshold[s] = np.int64(scaled[s] * 4294967296.0 + 0.5)
        alias[s] = g
        scaled[g] = scaled[g] + scaled[s] - 1.0
        if scaled[g] < 1.0:
            n_large -= 1
            small[n_small] = g
            n_small += 1
    return threshold, alias


@njit(inline="always")
def _alias_draw(high32, threshold, alias):
    hn = high32 * np.uint64(len(threshold))
    j = np.int64(hn >> _S32)
    f = np.int64(hn & _MASK32)
    a = alias[j]
    return a + (j - a) * np.int64(f < threshold[j])


@njit(inline="always")
def _explicit_dn(flat_mean, rest_electrons, deposit_e, bits, quantiles, full_well, read_noise_e, inv_gain, bias_dn,
                 adc_max):
    sub = bits ^ _EXPLICIT_SALT
    n = poisson(flat_mean, sub, quantiles) + rest_electrons
    e = min(n + deposit_e, full_well)
    z_bits = draw(sub ^ _SOURCE_SALT, 0)
    z = normal_from_high32(z_bits, z_bits, quantiles)
    dn = math.floor((e + read_noise_e * z) * inv_gain + bias_dn + 0.5)
    return min(max(dn, 0.0), adc_max)


@njit(cache=True)
def read_out(signal_e, flat_mean_e, rest_row_e, rest_col_e, d_lo, dn_threshold, dn_alias, key, quantiles, full_well,
             read_noise_e, inv_gain, bias_dn, adc_max, out):
    """Read a whole frame. Mean electrons of pixel (r, c): flat_mean_e + rest_row_e[r] + rest_col_e[c] + signal_e[r, c].

    Poisson additivity splits the pixel's electrons into a frame-wide flat part and the rest
    (background slope + sources). The rest is drawn by inversion from the low 32 bits of the
    pixel's draw; where it is zero, as in most pixels, the DN comes straight from the flat
    part's exact DN distribution (dn_table, as an alias table) via the high 32 bits. Otherwise
    the flat electrons and the read noise are drawn explicitly from a sub-stream. Pixel
    i = r * n_cols + c uses draw(key, i), so read_out_pixels can redo any pixel.
    """
    n_rows, n_cols = signal_e.shape
    exp_row = np.exp(-rest_row_e) * 4294967296.0
    exp_col = np.exp(-rest_col_e)
    for r in range(n_rows):
        base = r * n_cols
        for c in range(n_cols):
            s = signal_e[r, c]
            rest = rest_row_e[r] + rest_col_e[c] + s
            bits = draw(key, base + c)
            low = np.int64(bits & _MASK32)
            p0_scaled = exp_row[r] * exp_col[c] * _exp_neg(s)
            if rest < POISSON_INVERSION_MAX_MEAN and low < p0_scaled:
                out[r, c] = d_lo + _alias_draw(bits >> _S32, dn_threshold, dn_alias)
                continue
            if rest < POISSON_INVERSION_MAX_MEAN:
                n_rest = float(poisson_inversion(rest, p0_scaled * _INV_2_32, low * _INV_2_32))
            else:
                n_rest = poisson(rest, bits ^ _SOURCE_SALT, quantiles)
            if n_rest == 0.0:
                out[r, c] = d_lo + _alias_draw(bits >> _S32, dn_threshold, dn_alias)
            else:
                out[r, c] = _explicit_dn(flat_mean_e, n_rest, 0.0, bits, quantiles, full_well, read_noise_e, inv_gain,
                                         bias_dn, adc_max)


@njit(cache=True)
def read_out_explicit(signal_e, flat_mean_e, rest_row_e, rest_col_e, key, quantiles, full_well, read_noise_e,
                      inv_gain, bias_dn, adc_max, out):
    """Read a whole frame drawing every pixel's electrons and read noise explicitly (bright frames)."""
    n_rows, n_cols = signal_e.shape
    for r in range(n_rows):
        base = r * n_cols
        for c in range(n_cols):
            bits = draw(key, base + c)
            rest = rest_row_e[r] + rest_col_e[c] + signal_e[r, c]
            n_rest = poisson(rest, bits ^ _SOURCE_SALT, quantiles)
            out[r, c] = _explicit_dn(flat_mean_e, n_rest, 0.0, bits, quantiles, full_well, read_noise_e, inv_gain,
                                     bias_dn, adc_max)


@njit(cache=True)
def read_out_pixels(flat_index, extra_mean_e, deposit_e, signal_e, flat_mean_e, rest_row_e, rest_col_e, key,
                    quantiles, full_well, read_noise_e, inv_gain, bias_dn, adc_max, out):
    """Redo listed pixels with extra mean electrons (hot pixels) and deposited charge (cosmic rays)."""
    n_cols = signal_e.shape[1]
    for k in range(len(flat_index)):
        i = flat_index[k]
        r = i // n_cols
        c = i - r * n_cols
        bits = draw(key, i)
        rest = rest_row_e[r] + rest_col_e[c] + signal_e[r, c] + extra_mean_e[k]
        n_rest = poisson(rest, bits ^ _SOURCE_SALT, quantiles)
        out[r, c] = _explicit_dn(flat_mean_e, n_rest, deposit_e[k], bits, quantiles, full_well, read_noise_e,
                                 inv_gain, bias_dn, adc_max)
