"""Numba kernels: detector readout of an expected-electron image into DN (see readout.py)."""

import math

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from hil.camera.rng import (
    GOLDEN,
    INVERSE_INTEGERS,
    POISSON_GRID_MAX_MEAN,
    POISSON_GRID_STEP,
    POISSON_INVERSION_MAX_MEAN,
    draw,
    mix64,
    normal_from_high32,
    poisson,
    poisson_inversion,
    uniform53,
)

# Sub-streams of a pixel's draw, so that no two random quantities share numbers.
_EXPLICIT_SALT = np.uint64(0x5DEECE66D2545F49)
_SOURCE_SALT = np.uint64(0xD1B54A32D192ED03)
_MASK32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_INV_2_32 = 1.0 / 4294967296.0
_BATCH = 4096  # flagged pixels finished together


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
def dn_cdf_tables(levels_e, read_noise_e, gain_e_per_dn, bias_dn, adc_max, full_well_e, extra_electrons):
    """CDFs over DN of a pixel holding Poisson(level) + extra_electrons electrons plus read noise,
    one row per level.

    P(DN <= d) = sum_n Pois(n; level) Phi(((d + 1/2 - bias) g - min(n + m, full_well)) / read_noise):
    the exact distribution of floor((min(N, FW) + read_noise Z) / g + bias + 1/2), clipped to the
    ADC range. All rows share the DN axis d_lo .. d_lo + n_dn - 1; the Phi factor is computed
    once for all levels. Returns (d_lo, cdf (n_levels, n_dn)).
    """
    lo, hi = levels_e.min(), levels_e.max()
    n_lo = max(0, int(lo - 10.0 * math.sqrt(lo) - 10.0))
    n_hi = int(hi + 10.0 * math.sqrt(hi) + 10.0) + extra_electrons
    spread_e = 10.0 * read_noise_e + 2.0
    d_lo = max(0, int(math.floor((min(float(n_lo), full_well_e) - spread_e) / gain_e_per_dn + bias_dn)) - 1)
    d_hi = min(int(adc_max), int(math.ceil((min(float(n_hi), full_well_e) + spread_e) / gain_e_per_dn + bias_dn)) + 1)
    n_dn = d_hi - d_lo + 1
    n_count = n_hi - n_lo + 1
    # Phi of count i over DN k is 0 below band_lo[i] and 1 from band_lo[i] + band_width on (to
    # Phi(-spread_e / read_noise) < 1e-23): only the band is stored and summed, the ones above
    # it are summed as each count's probability added at the band's end, then accumulated
    band_width = min(n_dn, int(math.ceil(2.0 * spread_e / gain_e_per_dn)) + 3)
    band_lo = np.empty(n_count, dtype=np.int64)
    phi = np.empty((n_count, band_width))
    for i in range(n_count):
        e = min(float(n_lo + i + extra_electrons), full_well_e)
        band_lo[i] = min(max(int(math.floor((e - spread_e) / gain_e_per_dn + bias_dn - 0.5)) - d_lo, 0),
                         n_dn - band_width)
        for b in range(band_width):
            edge = (d_lo + band_lo[i] + b + 0.5 - bias_dn) * gain_e_per_dn - e
            if read_noise_e > 0:
                phi[i, b] = _phi(edge / read_noise_e)
            else:
                phi[i, b] = 1.0 if edge > 0 else 0.0
    cdf = np.zeros((len(levels_e), n_dn))
    above = np.empty(n_dn + 1)
    for m in range(len(levels_e)):
        level = levels_e[m]
        log_level = math.log(level) if level > 0 else 0.0
        above[:] = 0.0
        for i in range(n_count):
            n = n_lo + i
            if level > 0:
                p = math.exp(-level + n * log_level - math.lgamma(n + 1.0))
            else:
                p = 1.0 if n == 0 else 0.0
            if p < 1e-300:
                continue
            k0 = band_lo[i]
            for b in range(band_width):
                cdf[m, k0 + b] += p * phi[i, b]
            above[k0 + band_width] += p
        ones = 0.0
        for k in range(n_dn):
            ones += above[k]
            cdf[m, k] += ones
        # the ends absorb what lies beyond: the ADC limits, or a mass below 1e-20 outside the span
        cdf[m, n_dn - 1] = 1.0
    return d_lo, cdf


@njit(cache=True)
def threshold_tables(cdf, tail_mass, max_window):
    """32-bit inverse-CDF thresholds of each row of a CDF table, and each row's central window.

    thresholds[k, i] = floor(cdf[k, i] 2^32) (clipped to 2^32 - 1); a 32-bit uniform U maps to
    DN index #{i : U >= thresholds[k, i]} over i < n - 1, the inverse CDF exact to 2^-32. The
    window [lo, hi) of row k holds the thresholds between the tail_mass quantiles (at most
    max_window of them, centred on the median): for thresholds[k, lo - 1] <= U < thresholds[k, hi]
    the count is lo plus the count over the window, the rest are tails counted in full.
    """
    n_levels, n = cdf.shape
    thresholds = np.empty((n_levels, n), dtype=np.uint32)
    windows = np.empty((n_levels, 2), dtype=np.int64)
    for k in range(n_levels):
        for i in range(n):
            thresholds[k, i] = np.uint32(min(math.floor(cdf[k, i] * 4294967296.0), 4294967295.0))
        lo = 0
        while lo < n - 1 and cdf[k, lo] < tail_mass:
            lo += 1
        hi = lo
        while hi < n - 1 and cdf[k, hi] < 1.0 - tail_mass:
            hi += 1
        hi = min(hi + 1, n - 1)
        while hi - lo > max_window:
            median = 0
            while cdf[k, median] < 0.5:
                median += 1
            if median - lo > hi - median:
                lo += 1
            else:
                hi -= 1
        windows[k, 0] = max(lo, 1)
        windows[k, 1] = max(hi, windows[k, 0])
    return thresholds, windows


@njit(inline="always")
def _full_count(u, thresholds, k, n):
    """DN index of uniform u on level k: the number of thresholds at or below u (binary search)."""
    lo = 0
    hi = n - 1
    while lo < hi:
        # both bounds by selects, not branches: u is random, so a branch would mispredict half the time
        mid = (lo + hi) >> 1
        above = u >= thresholds[k, mid]
        lo = mid + 1 if above else lo
        hi = hi if above else mid
    return lo


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
def _draw_row(key, base, high, low):
    """Draws base .. base + n - 1 of stream key, split into high and low 32-bit halves."""
    for c in range(len(high)):
        bits = mix64(key + (base + np.uint64(c)) * GOLDEN)
        high[c] = np.uint32(bits >> _S32)
        low[c] = np.uint32(bits & _MASK32)


@njit(cache=True)
def _count_run(high, count, tail, level_of, rest, level_thresholds, lo, hi, t_hi, k, frac0, slope_x_e, c0):
    """One run of columns on level k (views starting at column c0): the DN index, lo plus the
    window's thresholds at or below each uniform; tail marks uniforms outside the window; the
    level and the background above it. Whole-view loops vectorise."""
    t_lo = level_thresholds[lo - 1]
    for c in range(len(high)):
        count[c] = lo
        tail[c] = (high[c] < t_lo) | (high[c] >= t_hi)
        level_of[c] = k
        rest[c] = frac0 + slope_x_e * (c0 + c)
    _count_window(high, count, level_thresholds, lo, hi)


@njit(inline="always")
def _count_window(high, count, level_thresholds, lo, hi):
    """count[c] += the thresholds lo .. hi - 1 at or below high[c]; eight (then four) thresholds
    a pass, so that count is loaded and stored once per eight compares and a short run pays few
    loop set-ups."""
    i = lo
    while i + 8 <= hi:
        t = level_thresholds
        t0, t1, t2, t3, t4, t5, t6, t7 = t[i], t[i + 1], t[i + 2], t[i + 3], t[i + 4], t[i + 5], t[i + 6], t[i + 7]
        for c in range(len(high)):
            h = high[c]
            count[c] += ((np.int32(h >= t0) + np.int32(h >= t1)) + (np.int32(h >= t2) + np.int32(h >= t3))) + (
                (np.int32(h >= t4) + np.int32(h >= t5)) + (np.int32(h >= t6) + np.int32(h >= t7)))
        i += 8
    while i + 4 <= hi:
        t0, t1, t2, t3 = level_thresholds[i], level_thresholds[i + 1], level_thresholds[i + 2], level_thresholds[i + 3]
        for c in range(len(high)):
            h = high[c]
            count[c] += (np.int32(h >= t0) + np.int32(h >= t1)) + (np.int32(h >= t2) + np.int32(h >= t3))
        i += 4
    while i < hi:
        t = level_thresholds[i]
        for c in range(len(high)):
            count[c] += np.int32(high[c] >= t)
        i += 1


@njit(cache=True)
def _finish_row(count, tail, low, rest, signal_row, d_lo, out_row, flagged_bits, star_bits):
    """DN of the row from the counts; marks, one bit per column in 64-bit words, the pixels to
    finish one by one: flagged (in a tail of their level or possibly with rest electrons, rest < 1)
    and under a star (rest >= 1). Bits rather than lists of columns: building them vectorises."""
    n_cols = len(count)
    for c in range(n_cols):
        rest[c] += signal_row[c]
        # exp(-rest) >= 1 - rest + rest^2/2 - rest^3/6 (the series' remainder is positive; for
        # rest < 0.01 it is _exp_neg itself): below that the inversion certainly gives no rest electron
        s = rest[c]
        tail[c] = tail[c] | (np.float64(low[c]) >= (1.0 - s * (1.0 - s * (0.5 - s * (1.0 / 6.0)))) * 4294967296.0)
        out_row[c] = d_lo + count[c]
    for w in range(len(flagged_bits)):
        flagged_word = np.uint64(0)
        star_word = np.uint64(0)
        for j in range(min(64, n_cols - 64 * w)):
            c = 64 * w + j
            star = rest[c] >= 1.0
            flagged_word |= np.uint64(tail[c] & ~star) << np.uint64(j)
            star_word |= np.uint64(star) << np.uint64(j)
        flagged_bits[w] = flagged_word
        star_bits[w] = star_word


@njit(inline="always")
def _level_run(above0, slope_x_e, c0, inv_step, level_step_e, n_levels, n_cols):
    """(level k, end column c1) of the run of a row's background from column c0 that stays within level k."""
    k = min(max(int((above0 + slope_x_e * c0) * inv_step), 0), n_levels - 1)
    c1 = n_cols
    if slope_x_e > 0.0 and k < n_levels - 1:
        c1 = min(n_cols, max(c0 + 1, int(math.ceil(((k + 1) * level_step_e - above0) / slope_x_e))))
    elif slope_x_e < 0.0 and k > 0:
        c1 = min(n_cols, max(c0 + 1, int(math.floor((k * level_step_e - above0) / slope_x_e)) + 1))
    return k, c1


@njit(inline="always")
def _under_stars_row(star_bits, n_words, high, low, levels, level_of, rest, r, n_cols, s_flat, s_mean, s_sub, n_s,
                     quantiles, full_well, read_noise_e, inv_gain, bias_dn, adc_max, out_row):
    """Row r's pixels under stars: all their electrons at once, Poisson(level + rest), and fresh read noise;
    means below POISSON_GRID_MAX_MEAN are queued for _finish_under_stars. Returns the queue's new length."""
    for w in range(n_words):
        marked = star_bits[w]
        while marked:
            c = 64 * w + trailing_zeros(marked)
            marked &= marked - np.uint64(1)
            sub = ((np.uint64(high[c]) << _S32) | np.uint64(low[c])) ^ _EXPLICIT_SALT
            mean = levels[level_of[c]] + rest[c]
            if mean < POISSON_GRID_MAX_MEAN:
                s_flat[n_s] = r * n_cols + c
                s_mean[n_s] = mean
                s_sub[n_s] = sub
                n_s += 1
            else:
                n = poisson(mean, sub, quantiles)
                out_row[c] = np.int64(_dn(n, sub, quantiles, full_well, read_noise_e, inv_gain, bias_dn, adc_max))
    return n_s


@njit(cache=True)
def read_out(signal_e, bg_row_e, slope_x_e, x0, level0_e, level_step_e, d_lo, thresholds, windows, thresholds_plus1,
             poisson_grid, key, quantiles, full_well, read_noise_e, inv_gain, bias_dn, adc_max, out):
    """Read a whole frame. Mean electrons of pixel (r, c): bg_row_e[r] + slope_x_e (c - x0) + signal_e[r, c].

    Poisson additivity splits a pixel's electrons into those of the background level just below
    its own (levels level0 + k * step, each with its exact DN distribution as inverse-CDF
    thresholds) and the rest: a fraction of a step of background plus the sources on the pixel.
    Pixel i = r * n_cols + c draws 64 bits, draw(key, i): the high 32 bits pick its DN on its
    level, the low 32 bits decide by inversion whether it has rest electrons (almost never,
    except under stars). Row by row, in loops the compiler vectorises: the draws; the DN by
    counting thresholds over each level's central window, along runs of columns that share a
    level; the rest check. Pixels in a tail of their level's distribution, or with rest
    electrons, are then finished apart, in batches: under a star (rest >= 1) the pixel's
    electrons and read noise are drawn explicitly (_finish_under_stars with poisson_grid =
    rng.POISSON_GRID, or one by one above its means); the others (_finish_flagged): with
    no rest electron their DN comes from the level's full table, with exactly one from the
    level's table for one more electron (thresholds_plus1, same high 32 bits), with more their
    level electrons and read noise are drawn explicitly. Pixels can be redone by read_out_pixels.
    """
    n_rows, n_cols = signal_e.shape
    n_levels, n_dn = thresholds.shape
    levels = level0_e + level_step_e * np.arange(n_levels)
    exp_neg_levels = np.exp(-levels)
    inv_step = 1.0 / level_step_e
    high = np.empty(n_cols, dtype=np.uint32)
    low = np.empty(n_cols, dtype=np.uint32)
    count = np.empty(n_cols, dtype=np.int32)
    level_of = np.empty(n_cols, dtype=np.int64)
    rest = np.empty(n_cols)
    flag = np.empty(n_cols, dtype=np.bool_)
    n_words = (n_cols + 63) // 64
    flagged_bits = np.empty(n_words, dtype=np.uint64)
    star_bits = np.empty(n_words, dtype=np.uint64)
    # flagged pixels and pixels under stars wait in batches (columns of flat index, level, rest,
    # draws; flat index, mean, stream) and are finished together
    capacity = _BATCH + n_cols
    b_flat = np.empty(capacity, dtype=np.int64)
    b_level = np.empty(capacity, dtype=np.int64)
    b_rest = np.empty(capacity)
    b_high = np.empty(capacity, dtype=np.uint32)
    b_low = np.empty(capacity, dtype=np.uint32)
    b_row = np.empty(capacity, dtype=np.int64)
    b_pos = np.empty(capacity, dtype=np.int64)
    n_b = 0
    s_flat = np.empty(capacity, dtype=np.int64)
    s_mean = np.empty(capacity)
    s_sub = np.empty(capacity, dtype=np.uint64)
    s_row = np.empty(capacity, dtype=np.int64)
    s_pos = np.empty(capacity, dtype=np.int64)
    s_u = np.empty(capacity, dtype=np.uint32)
    n_s = 0
    stacked = np.concatenate((thresholds, thresholds_plus1))
    out_flat = out.reshape(-1)
    for r in range(n_rows):
        _draw_row(key, np.uint64(r * n_cols), high, low)
        above0 = bg_row_e[r] - level0_e - slope_x_e * x0  # background above level 0 at column 0
        c0 = 0
        while c0 < n_cols:
            k, c1 = _level_run(above0, slope_x_e, c0, inv_step, level_step_e, n_levels, n_cols)
            lo = windows[k, 0]
            hi = windows[k, 1]
            t_hi = thresholds[k, hi] if hi < n_dn - 1 else np.uint32(4294967295)
            _count_run(high[c0:c1], count[c0:c1], flag[c0:c1], level_of[c0:c1], rest[c0:c1], thresholds[k], lo, hi,
                       t_hi, k, above0 - k * level_step_e, slope_x_e, c0)
            c0 = c1
        out_row = out[r]
        _finish_row(count, flag, low, rest, signal_e[r], d_lo, out_row, flagged_bits, star_bits)
        n_s = _under_stars_row(star_bits, n_words, high, low, levels, level_of, rest, r, n_cols, s_flat, s_mean, s_sub,
                               n_s, quantiles, full_well, read_noise_e, inv_gain, bias_dn, adc_max, out_row)
        for w in range(n_words):
            marked = flagged_bits[w]
            while marked:
                c = 64 * w + trailing_zeros(marked)
                marked &= marked - np.uint64(1)
                b_flat[n_b] = r * n_cols + c
                b_level[n_b] = level_of[c]
                b_rest[n_b] = rest[c]
                b_high[n_b] = high[c]
                b_low[n_b] = low[c]
                n_b += 1
        if n_s >= _BATCH or r == n_rows - 1:
            _finish_under_stars(n_s, s_flat, s_mean, s_sub, s_row, s_pos, s_u, poisson_grid, quantiles, full_well,
                                read_noise_e, inv_gain, bias_dn, adc_max, out_flat)
            n_s = 0
        if n_b >= _BATCH or r == n_rows - 1:
            _finish_flagged(n_b, b_flat, b_level, b_rest, b_high, b_low, b_row, b_pos, levels, exp_neg_levels,
                            thresholds, thresholds_plus1, stacked, d_lo, quantiles, full_well, read_noise_e, inv_gain,
                            bias_dn, adc_max, out_flat)
            n_b = 0


@njit(cache=True)
def _count_in_rows(n, table, L, row, u, pos):
    """pos[i] = number of the first L thresholds of table row row[i] at or below u[i], for i < n.

    A binary search for many pixels at once, one halving for all of them per pass: the pixels'
    table reads are independent, so they overlap, where one pixel's search is a chain of
    dependent reads."""
    for i in range(n):
        pos[i] = 0
    step = 1
    while 2 * step <= L:
        step *= 2
    while step:
        for i in range(n):
            candidate = pos[i] + step
            above = (candidate <= L) & (u[i] >= table[row[i], min(candidate, L) - 1])
            pos[i] = candidate if above else pos[i]
        step //= 2


@njit(cache=True)
def _finish_flagged(n, flat, level_of, rest, high, low, row, pos, levels, exp_neg_levels, thresholds,
                    thresholds_plus1, stacked, d_lo, quantiles, full_well, read_noise_e, inv_gain, bias_dn, adc_max,
                    out_flat):
    """DN of n flagged pixels (flat index, level, rest < 1, draws): as _pixel_with_rest, with the
    rest electrons decided for all first and the table searches run together (_count_in_rows on
    stacked = [thresholds; thresholds_plus1]); pixels with two or more rest electrons are then
    redone one by one by _pixel_with_rest."""
    n_levels, n_dn = thresholds.shape
    for i in range(n):
        # the inversion's first two steps, with its numbers: no rest electron for u <= exp(-rest),
        # one for u <= exp(-rest) (1 + rest)
        r = rest[i]
        u = low[i] * _INV_2_32
        p0 = _exp_neg(r)
        n_rest = 0 if (r <= 0.0 or u <= p0) else (1 if u <= p0 + p0 * r else 2)
        row[i] = level_of[i] + n_levels * min(n_rest, 1)
        pos[i] = n_rest
    for i in range(n):
        if pos[i] == 2:
            k = level_of[i]
            bits = (np.uint64(high[i]) << _S32) | np.uint64(low[i])
            out_flat[flat[i]] = _pixel_with_rest(rest[i], low[i], bits, high[i], k, levels[k], exp_neg_levels[k],
                                                 thresholds, thresholds_plus1, n_dn, d_lo, quantiles, full_well,
                                                 read_noise_e, inv_gain, bias_dn, adc_max)
            row[i] = -1
    _count_in_rows(n, stacked, n_dn - 1, np.maximum(row, 0), high, pos)
    for i in range(n):
        if row[i] >= 0:
            out_flat[flat[i]] = d_lo + pos[i]


@njit(cache=True)
def _finish_under_stars(n, flat, mean, sub, row, pos, u, poisson_grid, quantiles, full_well, read_noise_e, inv_gain,
                        bias_dn, adc_max, out_flat):
    """DN of n pixels under stars (flat index, mean electrons below POISSON_GRID_MAX_MEAN, stream
    key sub): Poisson(mean) as Poisson(grid mean) + Poisson(remainder < POISSON_GRID_STEP), exact
    by additivity, the first by searching the grid's thresholds (rng.POISSON_GRID) with the high
    32 bits of draw(sub, 0) for all pixels together (_count_in_rows), the second by inversion
    with its low 32 bits (almost always no electron, seen without exp); then read noise as _dn."""
    for i in range(n):
        row[i] = int(mean[i] * (1.0 / POISSON_GRID_STEP))
        u[i] = np.uint32(draw(sub[i], 0) >> _S32)
    _count_in_rows(n, poisson_grid, poisson_grid.shape[1] - 1, row, u, pos)
    for i in range(n):
        remainder = mean[i] - row[i] * POISSON_GRID_STEP
        v = (draw(sub[i], 0) & _MASK32) * _INV_2_32
        electrons = float(pos[i])
        # exp(-x) >= 1 - x + x^2/2 - x^3/6: below that the inversion gives no electron
        if v >= 1.0 - remainder * (1.0 - remainder * (0.5 - remainder * (1.0 / 6.0))):
            electrons += poisson_inversion(remainder, math.exp(-remainder), v)
        out_flat[flat[i]] = np.int64(_dn(electrons, sub[i], quantiles, full_well, read_noise_e, inv_gain, bias_dn,
                                         adc_max))


@njit(inline="always")
def _pixel_with_rest(rest, low, bits, high, k, level_e, exp_neg_level, thresholds, thresholds_plus1, n_dn, d_lo,
                     quantiles, full_well, read_noise_e, inv_gain, bias_dn, adc_max):
    """DN of a pixel with rest < 1 in a tail of its level's distribution or with possible rest electrons."""
    n_rest = 0.0
    if rest > 0.0:
        n_rest = float(poisson_inversion(rest, _exp_neg(rest), low * _INV_2_32))
    if n_rest == 0.0:
        return d_lo + _full_count(high, thresholds, k, n_dn)
    if n_rest == 1.0:
        return d_lo + _full_count(high, thresholds_plus1, k, n_dn)
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


@njit(cache=True)
def _count_table_run(high, count, tail, level_thresholds, lo, hi, t_hi):
    """count[c] = lo + the window's thresholds at or below high[c]; tail marks uniforms outside the window."""
    t_lo = level_thresholds[lo - 1]
    for c in range(len(high)):
        count[c] = lo
        tail[c] = (high[c] < t_lo) | (high[c] >= t_hi)
    _count_window(high, count, level_thresholds, lo, hi)


@njit(cache=True)
def _background_rest_run(level_of, rest, exp_neg_rest, k, frac0, slope_x_e, c0, exp_neg_slope_x):
    """Level k and the background above it along one run (views from column c0), with exp(-rest)
    from exp_neg_slope_x[c] = exp(-slope_x_e c) (one exp per run)."""
    e0 = math.exp(-frac0)
    for c in range(len(rest)):
        level_of[c] = k
        rest[c] = frac0 + slope_x_e * (c0 + c)
        exp_neg_rest[c] = e0 * exp_neg_slope_x[c0 + c]


@njit(cache=True)
def _rest_electrons(low, rest, exp_neg_rest, u, p, cdf, n_rest, n_terms):
    """n_rest[c] = Poisson(rest[c]) by inversion of the low 32-bit uniform over its first n_terms
    CDF terms (the arithmetic of rng.poisson_inversion); n_terms: not resolved within them."""
    for c in range(len(rest)):
        u[c] = low[c] * _INV_2_32
        p[c] = exp_neg_rest[c]
        cdf[c] = exp_neg_rest[c]
        n_rest[c] = np.int32(u[c] > cdf[c])
    for m in range(1, n_terms):
        factor = INVERSE_INTEGERS[m - 1]
        for c in range(len(rest)):
            p[c] *= rest[c] * factor
            cdf[c] += p[c]
            n_rest[c] += np.int32(u[c] > cdf[c])


@njit(cache=True)
def _shifted_row(count, tail, n_rest, rest, rest_cut_e, n_terms, shift_bits, d_lo, out_row, flag, flagged_bits,
                 star_bits):
    """DN of the row: the count on the table of the pixel's rest electrons modulo the gain, plus
    their quotient by the gain in DN; marks the pixels to finish apart: under a star (rest >=
    rest_cut_e) and flagged (in a tail of their table, or rest electrons not resolved). The
    table of each pixel is picked by selects over the tables, which vectorise, not by a gather."""
    n_tables, n_cols = count.shape
    mask = n_tables - 1
    for c in range(n_cols):
        out_row[c] = d_lo + count[0, c] + (n_rest[c] >> shift_bits)
        flag[c] = tail[0, c] & ((n_rest[c] & mask) == 0)
    for t in range(1, n_tables):
        for c in range(n_cols):
            chosen = (n_rest[c] & mask) == t
            out_row[c] += np.int32(chosen) * (count[t, c] - count[0, c])
            flag[c] |= tail[t, c] & chosen
    for w in range(len(flagged_bits)):
        flagged_word = np.uint64(0)
        star_word = np.uint64(0)
        for b in range(min(64, n_cols - 64 * w)):
            c = 64 * w + b
            star = rest[c] >= rest_cut_e
            flagged = flag[c] | (n_rest[c] == n_terms)
            flagged_word |= np.uint64(flagged & ~star) << np.uint64(b)
            star_word |= np.uint64(star) << np.uint64(b)
        flagged_bits[w] = flagged_word
        star_bits[w] = star_word


@njit(cache=True)
def read_out_shifted(signal_e, bg_row_e, slope_x_e, x0, level0_e, level_step_e, d_lo, tables, windows, shift_bits,
                     rest_cut_e, n_terms, max_rest_electrons, poisson_grid, key, quantiles, full_well, read_noise_e,
                     inv_gain, bias_dn, adc_max, out):
    """Read a whole frame, for a gain of 2^shift_bits electrons per DN. Mean electrons of pixel
    (r, c) as in read_out: its level's and the rest, Poisson(rest) electrons on top.

    With an integer gain g, j more electrons shift the DN by j // g and leave the distribution of
    the rest of the DN that of j mod g more electrons: tables holds, for j mod g = 0 .. g - 1,
    each level's inverse-CDF thresholds (row (j mod g) * n_levels + k, one DN axis from d_lo;
    the tables reach neither the ADC limits nor the full well, checked by the caller up to
    max_rest_electrons). So a pixel with any number of rest electrons takes its DN from the
    vectorised row loops: the high 32 bits pick the DN on the tables of both residues (counted
    over each one's central window, along runs of columns that share a level), the low 32 bits
    its rest electrons by inversion over n_terms terms of their CDF. Apart, in batches: pixels
    in a tail of their table (full table search), with rest electrons not resolved in n_terms
    (inversion continued one by one, and beyond max_rest_electrons drawn explicitly), and
    pixels with rest >= rest_cut_e, under stars (as read_out).
    """
    n_rows, n_cols = signal_e.shape
    n_tables = 1 << shift_bits
    n_stacked, n_dn = tables.shape
    n_levels = n_stacked // n_tables
    levels = level0_e + level_step_e * np.arange(n_levels)
    inv_step = 1.0 / level_step_e
    exp_neg_slope_x = np.exp(-slope_x_e * np.arange(n_cols))
    high = np.empty(n_cols, dtype=np.uint32)
    low = np.empty(n_cols, dtype=np.uint32)
    count = np.empty((n_tables, n_cols), dtype=np.int32)
    tail = np.empty((n_tables, n_cols), dtype=np.bool_)
    level_of = np.empty(n_cols, dtype=np.int64)
    rest = np.empty(n_cols)
    exp_neg_rest = np.empty(n_cols)
    u = np.empty(n_cols)
    p = np.empty(n_cols)
    cdf = np.empty(n_cols)
    n_rest = np.empty(n_cols, dtype=np.int32)
    flag = np.empty(n_cols, dtype=np.bool_)
    n_words = (n_cols + 63) // 64
    flagged_bits = np.empty(n_words, dtype=np.uint64)
    star_bits = np.empty(n_words, dtype=np.uint64)
    capacity = _BATCH + n_cols
    b_flat = np.empty(capacity, dtype=np.int64)
    b_row = np.empty(capacity, dtype=np.int64)
    b_shift = np.empty(capacity, dtype=np.int64)
    b_high = np.empty(capacity, dtype=np.uint32)
    b_pos = np.empty(capacity, dtype=np.int64)
    n_b = 0
    s_flat = np.empty(capacity, dtype=np.int64)
    s_mean = np.empty(capacity)
    s_sub = np.empty(capacity, dtype=np.uint64)
    s_row = np.empty(capacity, dtype=np.int64)
    s_pos = np.empty(capacity, dtype=np.int64)
    s_u = np.empty(capacity, dtype=np.uint32)
    n_s = 0
    mask = n_tables - 1
    out_flat = out.reshape(-1)
    for r in range(n_rows):
        _draw_row(key, np.uint64(r * n_cols), high, low)
        above0 = bg_row_e[r] - level0_e - slope_x_e * x0
        c0 = 0
        while c0 < n_cols:
            k, c1 = _level_run(above0, slope_x_e, c0, inv_step, level_step_e, n_levels, n_cols)
            for g in range(n_tables):
                row = g * n_levels + k
                lo = windows[row, 0]
                hi = windows[row, 1]
                t_hi = tables[row, hi] if hi < n_dn - 1 else np.uint32(4294967295)
                _count_table_run(high[c0:c1], count[g, c0:c1], tail[g, c0:c1], tables[row], lo, hi, t_hi)
            _background_rest_run(level_of[c0:c1], rest[c0:c1], exp_neg_rest[c0:c1], k, above0 - k * level_step_e,
                                 slope_x_e, c0, exp_neg_slope_x)
            c0 = c1
        signal_row = signal_e[r]
        for c in range(n_cols):
            s = signal_row[c]
            if s != 0.0:
                rest[c] += s
                exp_neg_rest[c] *= math.exp(-s)
        _rest_electrons(low, rest, exp_neg_rest, u, p, cdf, n_rest, n_terms)
        out_row = out[r]
        _shifted_row(count, tail, n_rest, rest, rest_cut_e, n_terms, shift_bits, d_lo, out_row, flag, flagged_bits,
                     star_bits)
        n_s = _under_stars_row(star_bits, n_words, high, low, levels, level_of, rest, r, n_cols, s_flat, s_mean, s_sub,
                               n_s, quantiles, full_well, read_noise_e, inv_gain, bias_dn, adc_max, out_row)
        for w in range(n_words):
            marked = flagged_bits[w]
            while marked:
                c = 64 * w + trailing_zeros(marked)
                marked &= marked - np.uint64(1)
                j = np.int64(n_rest[c])
                if j == n_terms:
                    j = poisson_inversion(rest[c], exp_neg_rest[c], low[c] * _INV_2_32)
                if j > max_rest_electrons:
                    # beyond the tables' reach: the level's electrons drawn, then the same read-out
                    sub = ((np.uint64(high[c]) << _S32) | np.uint64(low[c])) ^ _EXPLICIT_SALT
                    n = poisson(levels[level_of[c]], sub, quantiles) + j
                    out_row[c] = np.int64(_dn(n, sub, quantiles, full_well, read_noise_e, inv_gain, bias_dn, adc_max))
                    continue
                b_flat[n_b] = r * n_cols + c
                b_row[n_b] = (j & mask) * n_levels + level_of[c]
                b_shift[n_b] = j >> shift_bits
                b_high[n_b] = high[c]
                n_b += 1
        if n_s >= _BATCH or r == n_rows - 1:
            _finish_under_stars(n_s, s_flat, s_mean, s_sub, s_row, s_pos, s_u, poisson_grid, quantiles, full_well,
                                read_noise_e, inv_gain, bias_dn, adc_max, out_flat)
            n_s = 0
        if n_b >= _BATCH or r == n_rows - 1:
            _count_in_rows(n_b, tables, n_dn - 1, b_row, b_high, b_pos)
            for i in range(n_b):
                out_flat[b_flat[i]] = d_lo + b_pos[i] + b_shift[i]
            n_b = 0
