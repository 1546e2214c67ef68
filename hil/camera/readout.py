"""Detector readout: expected electrons -> Poisson photo/dark electrons, cosmic-ray charge,
full-well saturation, Gaussian read noise, gain, bias, ADC rounding and clipping, uint16 DN.

DN = clip(round((min(N + D, full_well) + read_noise * Z) / gain + bias), 0, 2^bits - 1), with
N ~ Poisson(expected electrons), D the deposited cosmic-ray charge and Z ~ N(0, 1). The flat-field
variance in DN^2 is therefore (mean + read_noise^2) / gain^2 + 1/12 (Janesick 2007, Photon
Transfer, ch. 2 and 4).

Speed without approximation: most pixels hold only background, whose DN distribution (Poisson
electrons convolved with read noise, rounded and clipped) is tabulated exactly for background
levels at least 0.02 e- apart and sampled with one 32-bit uniform by inverse-CDF thresholds. The
remainder of a pixel's mean (its fraction of a level step, plus the sources on it) is drawn
separately by Poisson additivity; a pixel with one such electron reads the level's table for
one more electron, and only with more (under stars), or with a hot pixel or a cosmic ray, are
its electrons and read noise drawn explicitly. The table lookups run as whole-row loops that
the compiler vectorises.

Bright or steep backgrounds (earthshine, stray light near the Sun: tens of e- across a row)
would need levels a few e- apart, and then nearly every pixel holds rest electrons. With a gain
of 1, 2 or 4 e-/DN the readout then uses that j more electrons shift the DN by j // gain and
leave it distributed as the table of j mod gain more electrons: the rest electrons are drawn by
inversion and the DN read from the tables in the same vectorised row loops
(_readout.read_out_shifted), whatever their number.
"""

import math
from dataclasses import dataclass

import numpy as np

from hil.camera import _readout
from hil.camera.params import CameraParams
from hil.camera.rng import NORMAL_QUANTILES, POISSON_GRID


@dataclass(frozen=True)
class PlanarBackground:
    """Mean background electrons per pixel: level_e + slope_x_e * (x - x0) + slope_y_e * (y - y0)."""

    level_e: float
    slope_x_e: float = 0.0
    slope_y_e: float = 0.0

    def row_and_column_terms(self, params: CameraParams):
        x0, y0 = params.principal_point_px
        rows = self.level_e + self.slope_y_e * (np.arange(params.n_rows) - y0)
        cols = self.slope_x_e * (np.arange(params.n_cols) - x0)
        return rows, cols

    def image(self, params: CameraParams):
        rows, cols = self.row_and_column_terms(params)
        return rows[:, None] + cols[None, :]


TABLE_MAX_BACKGROUND_E = 1000.0  # above this the DN tables cost more than drawing every pixel
LEVEL_STEP_E = 0.02  # finest spacing of the tabulated background levels [e-]
RUNS_PER_ROW = 8  # at most about this many level changes along a row (each costs a loop set-up)
MAX_LEVELS = 64
TAIL_MASS = 1e-3  # DN below / above these quantiles of a level are counted one pixel at a time
MAX_WINDOW = 24  # thresholds counted in the vectorised loop


# With a gain of 1, 2 or 4 e-/DN (read_out_shifted) rest electrons cost no table search, so the
# levels may lie further apart: fewer runs along a sloped row, fewer tables to build.
# read_out takes that way the frames whose levels would lie more than SHIFTED_FROM_STEP_E apart
# (bright or steep backgrounds, where many pixels hold rest electrons). Its step trades runs
# along a sloped row (each costs SHIFTED_RUN_COST times one more term of the rest electrons'
# inversion over the frame, as measured) against those terms.
SHIFTED_FROM_STEP_E = 0.1
SHIFTED_RUNS_PER_ROW = (2, 4, 6, 8, 12, 16, 24, 32)
SHIFTED_RUN_COST = 0.55
SHIFTED_MAX_LEVELS = 96
STAR_REST_E = 1.0  # rest beyond a level step from which a pixel is read as under a star
UNRESOLVED_FRACTION = 1e-3  # of background pixels whose rest electrons are resolved one by one
_SHIFT_BITS = {1.0: 0, 2.0: 1, 4.0: 2}


def background_levels(bg_min_e, bg_max_e, row_range_e=0.0, runs_per_row=RUNS_PER_ROW, max_levels=MAX_LEVELS):
    """(first level, step, count) of the background levels tabulated for a frame whose background
    spans bg_min_e..bg_max_e overall and row_range_e along a row."""
    step = max(LEVEL_STEP_E, (bg_max_e - bg_min_e) / (max_levels - 1), row_range_e / runs_per_row)
    count = int((bg_max_e - bg_min_e) / step) + 1
    return bg_min_e, step, count


def read_out(signal_e, background: PlanarBackground, params: CameraParams, key, pixel_index=None,
             pixel_extra_mean_e=None, pixel_deposit_e=None, out=None, shifted=True):
    """uint16 frame from the source image signal_e (float32 electrons) and the planar background.

    pixel_index / pixel_extra_mean_e / pixel_deposit_e list the pixels with extra dark charge
    (hot pixels) or deposited charge (cosmic rays). key: 64-bit stream key of this frame.
    shifted=False: never the shifted tables (the baseline of tools/bench_plant.py's mission frames).
    """
    if signal_e.shape != (params.n_rows, params.n_cols) or signal_e.dtype != np.float32:
        raise ValueError("signal_e must be float32 with the camera's shape")
    rows, cols = background.row_and_column_terms(params)
    bg_min, bg_max = float(np.min(rows) + np.min(cols)), float(np.max(rows) + np.max(cols))
    if bg_min < 0:
        raise ValueError("background must be non-negative over the frame")
    if out is None:
        out = np.empty((params.n_rows, params.n_cols), dtype=np.uint16)
    settings = (
        NORMAL_QUANTILES, float(params.full_well_e), float(params.read_noise_e), 1.0 / params.gain_e_per_dn,
        float(params.bias_dn), float(params.adc_max_dn),
    )
    key = np.uint64(key)
    row_range = float(np.max(cols) - np.min(cols))
    tables_shifted = None
    if shifted and background_levels(bg_min, bg_max, row_range)[1] > SHIFTED_FROM_STEP_E:
        tables_shifted = _shifted_tables(bg_min, bg_max, row_range, params)
    if tables_shifted is not None:
        level0, step, d_lo, tables, windows, shift_bits, n_terms, max_rest = tables_shifted
        _readout.read_out_shifted(signal_e, rows, float(background.slope_x_e), params.principal_point_px[0], level0,
                                  step, d_lo, tables, windows, shift_bits, step + STAR_REST_E, n_terms, max_rest,
                                  POISSON_GRID, key, *settings, out)
    elif bg_max <= TABLE_MAX_BACKGROUND_E:
        level0, step, count = background_levels(bg_min, bg_max, row_range)
        levels = level0 + step * np.arange(count)
        d_lo, cdf = dn_cdf_tables(levels, params)
        thresholds, windows = _readout.threshold_tables(cdf, TAIL_MASS, MAX_WINDOW)
        d_lo_plus1, cdf_plus1 = dn_cdf_tables(levels, params, extra_electrons=1)
        if d_lo_plus1 != d_lo or cdf_plus1.shape != cdf.shape:
            cdf_plus1 = _on_dn_axis(cdf_plus1, d_lo_plus1, d_lo, cdf.shape[1])
        thresholds_plus1, _ = _readout.threshold_tables(cdf_plus1, TAIL_MASS, MAX_WINDOW)
        _readout.read_out(signal_e, rows, float(background.slope_x_e), params.principal_point_px[0], level0, step,
                          d_lo, thresholds, windows, thresholds_plus1, POISSON_GRID, key, *settings, out)
    else:
        _readout.read_out_explicit(signal_e, rows, cols, key, *settings, out)
    if pixel_index is not None and len(pixel_index):
        index = np.asarray(pixel_index, dtype=np.int64)
        extra = np.zeros(len(index)) if pixel_extra_mean_e is None else np.asarray(pixel_extra_mean_e, float)
        deposit = np.zeros(len(index)) if pixel_deposit_e is None else np.asarray(pixel_deposit_e, float)
        _readout.read_out_pixels(index, extra, deposit, signal_e, rows, cols, key, *settings, out)
    return out


def _shifted_tables(bg_min_e, bg_max_e, row_range_e, params: CameraParams):
    """The tables of _readout.read_out_shifted for this frame, or None where it does not apply:
    a gain other than 1, 2 or 4 e-/DN, a background above TABLE_MAX_BACKGROUND_E, or tables
    that reach the ADC limits or the full well (there shifted DN would not be clipped as the
    detector clips them).

    Returns (first level, step, d_lo, stacked thresholds, windows, shift bits, inversion terms,
    most rest electrons the tables hold)."""
    shift_bits = _SHIFT_BITS.get(float(params.gain_e_per_dn))
    if shift_bits is None or bg_max_e > TABLE_MAX_BACKGROUND_E:
        return None
    gain = 1 << shift_bits
    candidates = [background_levels(bg_min_e, bg_max_e, row_range_e, runs, SHIFTED_MAX_LEVELS)
                  for runs in SHIFTED_RUNS_PER_ROW]
    level0, step, count = min(candidates, key=lambda c: SHIFTED_RUN_COST * row_range_e / c[1]
                              + _inversion_terms(c[1]))
    levels = level0 + step * np.arange(count)
    axes = [dn_cdf_tables(levels, params, extra_electrons=j) for j in range(gain)]
    d_lo = min(d for d, _ in axes)
    d_hi = max(d + cdf.shape[1] - 1 for d, cdf in axes)
    if d_lo < 1 or d_hi >= params.adc_max_dn:
        return None
    n_dn = d_hi - d_lo + 1
    cdf = np.concatenate([_on_dn_axis(c, d, d_lo, n_dn) if (d, c.shape[1]) != (d_lo, n_dn) else c for d, c in axes])
    tables, windows = _readout.threshold_tables(cdf, TAIL_MASS, MAX_WINDOW)
    # the tables hold Poisson electrons up to n_hi (see dn_cdf_tables); j rest electrons more stay
    # below the full well and shift no DN past the ADC maximum
    n_hi = int(levels[-1] + 10.0 * math.sqrt(levels[-1]) + 10.0) + gain - 1
    max_rest = min(int(params.full_well_e) - n_hi - 1, (int(params.adc_max_dn) - d_hi) * gain)
    n_terms = _inversion_terms(step)
    if n_terms - 1 > max_rest:
        return None
    return level0, step, d_lo, tables, windows, shift_bits, n_terms, max_rest


def _inversion_terms(mean_e):
    """Fewest CDF terms (at least 2) that resolve Poisson(mean_e) but for UNRESOLVED_FRACTION."""
    p = cdf = math.exp(-mean_e)
    n = 1
    while 1.0 - cdf > UNRESOLVED_FRACTION or n < 2:
        p *= mean_e / n
        cdf += p
        n += 1
    return n


def dn_cdf_tables(levels_e, params: CameraParams, extra_electrons=0):
    """(first DN, CDF over DN per level): the exact DN distribution of a pixel holding Poisson(level)
    + extra_electrons electrons, read noise, gain, bias and ADC limits (see _readout.dn_cdf_tables)."""
    return _readout.dn_cdf_tables(
        np.asarray(levels_e, dtype=float), float(params.read_noise_e), float(params.gain_e_per_dn),
        float(params.bias_dn), float(params.adc_max_dn), float(params.full_well_e), int(extra_electrons),
    )


def _on_dn_axis(cdf, d_lo_from, d_lo_to, n_dn):
    """CDF rows re-indexed from DN axis d_lo_from.. to d_lo_to .. d_lo_to + n_dn - 1 (held at the ends)."""
    dn = d_lo_to + np.arange(n_dn) - d_lo_from
    out = cdf[:, np.clip(dn, 0, cdf.shape[1] - 1)]
    out[:, dn < 0] = 0.0
    out[:, -1] = 1.0
    return out


def read_out_reference(mean_e, deposit_e, params: CameraParams, rng: np.random.Generator):
    """Plain-numpy reference readout of a full mean-electron image (float64) with numpy's samplers."""
    photo = rng.poisson(mean_e).astype(float)
    electrons = np.minimum(photo + deposit_e, params.full_well_e)
    dn = np.floor(
        (electrons + params.read_noise_e * rng.standard_normal(mean_e.shape)) / params.gain_e_per_dn
        + params.bias_dn + 0.5
    )
    return np.clip(dn, 0, params.adc_max_dn).astype(np.uint16)


def flat_field_variance_dn2(mean_e, params: CameraParams):
    """Model variance [DN^2] of an unsaturated flat field of mean_e electrons per pixel."""
    return (mean_e + params.read_noise_e**2) / params.gain_e_per_dn**2 + 1.0 / 12.0
