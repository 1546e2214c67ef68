"""Exposure control: keep the tracked target's brightest pixel below saturation.

The camera integrates for a fixed time by default, chosen for the far range: a 0.1 s exposure
finds a magnitude-9 target at 2000 km among the stars.  Closing in, the target brightens as
1/range^2 and from ~10 km on its core saturates (at 5 km a 0.5 m target puts ~20 pixels at full
well): its flux is clipped, its light centroid is the centroid of the clipped plateau, and the
bearings nav fuses are wrong by up to a pixel.  A proximity camera therefore meters on the
target, as a star tracker meters on its stars:

* the target's peak pixel (raw DN, background included) in the frame just taken, of exposure t,
  is P;
* saturated (P >= saturation_dn): the true peak is unknown, so the next exposure is
  t * saturated_step (a quarter: from 5 km a frame or two brings the core below full well);
* too bright (P > high * saturation_dn): t * aim * saturation_dn / P;
* too faint (P < low * saturation_dn) while shorter than nominal: t * aim * saturation_dn / P,
  at most max_step times longer and never longer than nominal (the far-range exposure the
  search and the star field are designed for);
* no target measured for release_frames frames (lost, eclipsed, not yet found): back to nominal.

Once resolved, a sunlit surface's brightness per pixel no longer falls with range: for the
default camera (40 mm aperture, 35 arcsec pixels) an albedo-0.25 surface facing the Sun gives
~6e8 e-/s per pixel, so it saturates the 30000 e- well above ~50 us and needs the camera's
shortest exposures (10 us: ~20 % of full well) from a few hundred metres in.

The law reads only the frame's own exposure and peak, so a lost or late command is simply
issued again from the next frame, and a frame taken before a command took effect asks for the
same exposure again instead of stepping twice (sent again, not counted as a new command).  Commands whose change is within the dead band
(a factor deadband) are not sent.  The detector's signal is linear below full well, so a
shorter exposure changes the flux in proportion: detect compares fluxes between frames as DN
per second of exposure (FrameDetections.flux).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class ExposureConfig:
    """Exposure control settings (see the module docstring); times in s, levels as fractions
    of saturation_dn."""

    nominal_s: float = 0.1
    min_s: float = 1e-5
    saturation_dn: float = 15000.0
    aim: float = 0.5
    high: float = 0.8
    low: float = 0.2
    saturated_step: float = 0.25
    max_step: float = 4.0
    deadband: float = 1.2
    release_frames: int = 10

    def __post_init__(self):
        if not (0.0 < self.min_s <= self.nominal_s and self.saturation_dn > 0.0):
            raise ValueError("ExposureConfig: need 0 < min_s <= nominal_s and saturation_dn > 0")
        if not 0.0 < self.low < self.aim < self.high < 1.0:
            raise ValueError("ExposureConfig: need 0 < low < aim < high < 1")
        if not (0.0 < self.saturated_step < 1.0 and self.max_step > 1.0 and self.deadband >= 1.0
                and self.release_frames >= 1):
            raise ValueError("ExposureConfig: need saturated_step in (0, 1), max_step > 1, "
                             "deadband >= 1 and release_frames >= 1")


class ExposureControl:
    """Chooses the next exposure from each frame (see the module docstring)."""

    def __init__(self, config: ExposureConfig = ExposureConfig()):
        self.config = config
        self.frames_without_target = 0
        self.commands = 0                 # distinct exposures commanded (repeats not counted)
        self.last_commanded_s: float | None = None

    def update(self, exposure_s: float, peak_dn: float | None) -> float | None:
        """The exposure to command after a frame of exposure_s whose measured target's peak
        pixel read peak_dn (raw DN; None: no target measured in this frame), or None to leave
        the exposure as it is."""
        cfg = self.config
        if peak_dn is None or not peak_dn > 0.0:
            self.frames_without_target += 1
            wanted = cfg.nominal_s if self.frames_without_target >= cfg.release_frames else exposure_s
        else:
            self.frames_without_target = 0
            wanted = exposure_s
            if peak_dn >= cfg.saturation_dn:
                wanted = exposure_s * cfg.saturated_step
            elif peak_dn > cfg.high * cfg.saturation_dn or (peak_dn < cfg.low * cfg.saturation_dn
                                                             and exposure_s < cfg.nominal_s):
                wanted = exposure_s * min(cfg.aim * cfg.saturation_dn / peak_dn, cfg.max_step)
            wanted = min(wanted, cfg.nominal_s)
        wanted = max(wanted, cfg.min_s)
        ratio = wanted / exposure_s if exposure_s > 0.0 else float("inf")
        if 1.0 / cfg.deadband < ratio < cfg.deadband:
            return None
        if wanted != self.last_commanded_s:
            self.commands += 1
            self.last_commanded_s = wanted
        return wanted
