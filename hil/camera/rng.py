"""Counter-based random numbers for the numba kernels.

Draw k of stream `key` is splitmix64(key + k * golden) (Steele, Lea & Flood 2014, "Fast
splittable pseudorandom number generators", OOPSLA): any pixel's or sky cell's draws are
computed directly from its index, so a frame or a sky cell is reproducible on its own and a
pixel can be redrawn in a second pass with the same numbers. Every key comes from a seeded
numpy Generator (or a scenario seed) upstream.

Normal deviates come from a 4096-bin inverse-CDF table with linear interpolation inside each
bin (exact probability per bin) and Marsaglia's exact tail method beyond the 8 outermost bins
(Marsaglia 1964, Technometrics 6, 101). Poisson deviates use inversion below a mean of 12,
Hormann's PTRS transformed rejection up to 1e4 (Hormann 1993, Insurance: Math. Econ. 12, 39),
and the normal approximation above (skewness < 0.01). POISSON_GRID tabulates the Poisson CDF
for means on a grid of 1/8 below 64 as 32-bit inverse-CDF thresholds, for drawing many
deviates at once by table search (the readout's pixels under stars).
"""

import math
from statistics import NormalDist

import numpy as np
from numba import njit

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32, _S11 = (np.uint64(s) for s in (30, 27, 31, 32, 11))
_MASK32 = np.uint64(0xFFFFFFFF)
_INV_2_32 = 1.0 / 4294967296.0
_INV_2_53 = 1.0 / 9007199254740992.0

NORMAL_TABLE_BITS = 12
NORMAL_TAIL_BINS = 8
_N_BINS = 1 << NORMAL_TABLE_BITS
_FRAC_BITS = 32 - NORMAL_TABLE_BITS
_S_FRAC = np.uint64(_FRAC_BITS)
_FRAC_MASK = np.uint64((1 << _FRAC_BITS) - 1)
_INV_FRAC = 1.0 / (1 << _FRAC_BITS)


def _normal_quantile_table():
    nd = NormalDist()
    q = np.empty(_N_BINS + 1)
    q[0], q[-1] = -np.inf, np.inf
    q[1:-1] = [nd.inv_cdf(k / _N_BINS) for k in range(1, _N_BINS)]
    return q


NORMAL_QUANTILES = _normal_quantile_table()
POISSON_GRID_STEP = 0.125
POISSON_GRID_MAX_MEAN = 64.0
POISSON_GRID_WIDTH = 128  # P(N >= 127) < 1e-11 at the largest mean


def _poisson_grid_thresholds():
    """Row j: floor(2^32 P(N <= n)) (at most 2^32 - 1), N ~ Poisson(j * POISSON_GRID_STEP), n < width."""
    means = POISSON_GRID_STEP * np.arange(int(POISSON_GRID_MAX_MEAN / POISSON_GRID_STEP))
    n = np.arange(POISSON_GRID_WIDTH)
    log_factorial = np.array([math.lgamma(k + 1.0) for k in n])
    pmf = np.zeros((len(means), len(n)))
    pmf[0, 0] = 1.0
    pmf[1:] = np.exp(n[None, :] * np.log(means[1:, None]) - means[1:, None] - log_factorial[None, :])
    cdf = np.cumsum(pmf, axis=1)
    return np.minimum(np.floor(cdf * 4294967296.0), 4294967295.0).astype(np.uint32)


POISSON_GRID = _poisson_grid_thresholds()
NORMAL_TAIL_START = float(NORMAL_QUANTILES[_N_BINS - NORMAL_TAIL_BINS])
POISSON_INVERSION_MAX_MEAN = 12.0
POISSON_PTRS_MAX_MEAN = 1e4


@njit(inline="always")
def mix64(z):
    """splitmix64 output function: a bijective 64-bit hash."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(inline="always")
def draw(key, k):
    """64 random bits: draw k of stream key."""
    return mix64(key + np.uint64(k) * GOLDEN)


@njit(inline="always")
def uniform53(bits):
    """Uniform in [0, 1) from the top 53 of 64 bits."""
    return (bits >> _S11) * _INV_2_53


@njit(inline="always")
def uniform32_low(bits):
    """Uniform in [0, 1) from the low 32 bits."""
    return (bits & _MASK32) * _INV_2_32


@njit(cache=True)
def _normal_tail(key, k0):
    # Marsaglia 1964: x = r + e1 / r accepted when 2 e2 > (e1/r)^2, e exponential deviates.
    r = NORMAL_TAIL_START
    k = k0
    while True:
        x = -math.log(1.0 - uniform53(draw(key, k))) / r
        y = -math.log(1.0 - uniform53(draw(key, k + 1)))
        k += 2
        if y + y > x * x:
            return r + x


@njit(inline="always")
def normal_from_high32(bits, key, quantiles):
    """Standard normal from the high 32 bits of `bits`; tail draws continue stream `key`."""
    h = bits >> _S32
    b = np.int64(h >> _S_FRAC)
    frac = (h & _FRAC_MASK) * _INV_FRAC
    if b < NORMAL_TAIL_BINS:
        return -_normal_tail(key, 1)
    if b >= _N_BINS - NORMAL_TAIL_BINS:
        return _normal_tail(key, 1)
    return quantiles[b] + frac * (quantiles[b + 1] - quantiles[b])


INVERSE_INTEGERS = 1.0 / np.arange(1, 202)


@njit(cache=True)
def poisson_inversion(mean, exp_neg_mean, u):
    """Poisson deviate by sequential inversion of the CDF at u; mean below about 12."""
    k = 0
    p = exp_neg_mean
    cdf = p
    while u > cdf and k < 200:
        p *= mean * INVERSE_INTEGERS[k]
        k += 1
        cdf += p
    return k


@njit(cache=True)
def poisson_ptrs(mean, key, k0):
    """Poisson deviate for mean >= 10, Hormann 1993 PTRS; uniforms from stream key from draw k0."""
    slam = math.sqrt(mean)
    log_mean = math.log(mean)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2.0)
    k = k0
    while True:
        bits = draw(key, k)
        k += 1
        u = uniform32_low(bits) - 0.5
        v = (bits >> _S32) * _INV_2_32
        us = 0.5 - abs(u)
        n = math.floor((2.0 * a / us + b) * u + mean + 0.43)
        if us >= 0.07 and v <= v_r:
            return n
        if n < 0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + math.log(inv_alpha) - math.log(a / (us * us) + b) <= -mean + n * log_mean - math.lgamma(
            n + 1.0
        ):
            return n


@njit(cache=True)
def poisson(mean, key, quantiles):
    """Poisson deviate of any mean >= 0 from stream key (draw 0 and on)."""
    if mean <= 0.0:
        return 0.0
    bits = draw(key, 0)
    if mean < POISSON_INVERSION_MAX_MEAN:
        return float(poisson_inversion(mean, math.exp(-mean), uniform32_low(bits)))
    if mean < POISSON_PTRS_MAX_MEAN:
        return float(poisson_ptrs(mean, key, 1))
    z = normal_from_high32(bits, key, quantiles)
    return max(0.0, math.floor(mean + math.sqrt(mean) * z + 0.5))


@njit(cache=True)
def normals(key, n, quantiles):
    """n standard normal deviates from stream key (deviate i uses the stream mix64(key + i*golden))."""
    out = np.empty(n)
    for i in range(n):
        bits = draw(key, i)
        out[i] = normal_from_high32(bits, bits, quantiles)
    return out


@njit(cache=True)
def poissons(key, means, quantiles):
    """One Poisson deviate per mean, deviate i from the stream draw(key, i)."""
    out = np.empty(len(means))
    for i in range(len(means)):
        out[i] = poisson(means[i], draw(key, i), quantiles)
    return out


def splitmix64_reference(key, k):
    """Plain-numpy splitmix64 of draw k (arrays of uint64 k): the reference for `draw`."""
    with np.errstate(over="ignore"):
        z = np.uint64(key) + np.asarray(k, dtype=np.uint64) * GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))
