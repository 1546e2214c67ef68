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
"""

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


def background_levels(bg_min_e, bg_max_e, row_range_e=0.0):
    """(first level, step, count) of the background levels tabulated for a frame whose background
    spans bg_min_e..bg_max_e overall and row_range_e along a row."""
    step = max(LEVEL_STEP_E, (bg_max_e - bg_min_e) / (MAX_LEVELS - 1), row_range_e / RUNS_PER_ROW)
    count = int((bg_max_e - bg_min_e) / step) + 1
    return bg_min_e, step, count


def read_out(signal_e, background: PlanarBackground, params: CameraParams, key, pixel_index=None,
             pixel_extra_mean_e=None, pixel_deposit_e=None, out=None):
    """uint16 frame from the source image signal_e (float32 electrons) and the planar background.

    pixel_index / pixel_extra_mean_e / pixel_deposit_e list the pixels with extra dark charge
    (hot pixels) or deposited charge (cosmic rays). key: 64-bit stream key of this frame.
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
    if bg_max <= TABLE_MAX_BACKGROUND_E:
        level0, step, count = background_levels(bg_min, bg_max, float(np.max(cols) - np.min(cols)))
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
