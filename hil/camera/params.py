"""Camera parameters: optics, detector and the stray-light behaviour, with units in the names."""

import math
from dataclasses import dataclass

import numpy as np

from hil.camera.photometry import ARCSEC_RAD, V0_PHOTON_FLUX_PER_M2_S


@dataclass(frozen=True)
class CameraParams:
    """A narrow-field visible camera for far-range target search and tracking.

    Defaults describe a 10 deg field, 40 mm aperture (f/1.46 at 58.5 mm), 1024 x 1024 CMOS
    camera with 10 um pixels. Stray light is a point-source transmittance (PST) power law,
    PST(theta) = pst_ref * (theta / pst_ref_angle)^-pst_slope, for a source theta off the
    boresight: representative of a baffled camera, to be replaced by the measured curve.
    """

    n_rows: int = 1024
    n_cols: int = 1024
    fov_deg: float = 10.0  # full field across the columns
    pixel_pitch_m: float = 10e-6
    aperture_diameter_m: float = 0.040
    quantum_efficiency: float = 0.60
    throughput: float = 0.80  # optics transmission times filter
    psf_sigma_px: float = 0.8  # Gaussian PSF sigma
    gain_e_per_dn: float = 2.0
    full_well_e: float = 30000.0
    bias_dn: float = 100.0
    read_noise_e: float = 3.0
    dark_current_e_per_s: float = 5.0
    adc_bits: int = 14
    exposure_s: float = 0.1  # at power-on; the flight software may command it (Camera.set_exposure)
    min_exposure_s: float = 1e-5  # the shutter's limits on a commanded exposure (global-shutter CMOS)
    max_exposure_s: float = 60.0
    hot_pixel_fraction: float = 1e-4
    hot_pixel_mean_dark_e_per_s: float = 2000.0  # exponential distribution of hot-pixel dark rates
    cosmic_ray_rate_per_cm2_s: float = 2.0  # LEO outside the South Atlantic Anomaly
    depletion_depth_m: float = 10e-6
    cosmic_ray_e_per_m: float = 80e6  # 80 e- per um for a minimum-ionising particle in silicon
    sky_v_mag_per_arcsec2: float = 22.5  # zodiacal light + diffuse galactic light, away from the Sun
    pst_ref: float = 1e-4
    pst_ref_angle_deg: float = 10.0
    pst_slope: float = 5.0
    stray_light_ramp: float = 0.3  # fractional change of stray light across a half frame, towards the source
    faint_star_min_electrons: float = 3.0  # fainter stars are added as diffuse unresolved starlight
    v0_photon_flux_per_m2_s: float = V0_PHOTON_FLUX_PER_M2_S
    camera_seed: int = 0  # fixes the hot-pixel map of this camera unit

    def __post_init__(self):
        positive = (
            "fov_deg pixel_pitch_m aperture_diameter_m psf_sigma_px gain_e_per_dn full_well_e "
            "exposure_s depletion_depth_m pst_ref pst_ref_angle_deg v0_photon_flux_per_m2_s"
        ).split()
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"CameraParams.{name} must be > 0, got {getattr(self, name)!r}")
        non_negative = (
            "bias_dn read_noise_e dark_current_e_per_s hot_pixel_mean_dark_e_per_s "
            "cosmic_ray_rate_per_cm2_s cosmic_ray_e_per_m pst_slope stray_light_ramp faint_star_min_electrons"
        ).split()
        for name in non_negative:
            if not getattr(self, name) >= 0:
                raise ValueError(f"CameraParams.{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("quantum_efficiency", "throughput"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"CameraParams.{name} must lie in (0, 1]")
        if not 0 <= self.hot_pixel_fraction < 1:
            raise ValueError("CameraParams.hot_pixel_fraction must lie in [0, 1)")
        if not 0 <= self.stray_light_ramp < 1:
            raise ValueError("CameraParams.stray_light_ramp must lie in [0, 1)")
        if not (8 <= self.n_rows <= 16384 and 8 <= self.n_cols <= 16384):
            raise ValueError("CameraParams.n_rows and n_cols must lie in [8, 16384]")
        if not 0 < self.fov_deg < 120:
            raise ValueError("CameraParams.fov_deg must lie in (0, 120)")
        if not 8 <= self.adc_bits <= 16:
            raise ValueError("CameraParams.adc_bits must lie in [8, 16] (frames are uint16)")
        if not 0 < self.min_exposure_s <= self.exposure_s <= self.max_exposure_s:
            raise ValueError("CameraParams: need 0 < min_exposure_s <= exposure_s <= max_exposure_s, got "
                             f"{self.min_exposure_s!r}, {self.exposure_s!r}, {self.max_exposure_s!r}")
        if self.bias_dn >= self.adc_max_dn:
            raise ValueError("CameraParams.bias_dn must be below the ADC maximum")

    @property
    def focal_length_px(self) -> float:
        """Focal length in pixels: the half-width of the array over tan(half field)."""
        return (self.n_cols / 2.0) / math.tan(math.radians(self.fov_deg) / 2.0)

    @property
    def focal_length_m(self) -> float:
        return self.focal_length_px * self.pixel_pitch_m

    @property
    def principal_point_px(self) -> tuple[float, float]:
        """(x, y) of the optical axis: the array centre (pixel centres on integers)."""
        return ((self.n_cols - 1) / 2.0, (self.n_rows - 1) / 2.0)

    @property
    def aperture_area_m2(self) -> float:
        return math.pi * (self.aperture_diameter_m / 2.0) ** 2

    @property
    def pixel_solid_angle_sr(self) -> float:
        """Solid angle of a pixel at the boresight [sr]."""
        return (1.0 / self.focal_length_px) ** 2

    @property
    def pixel_scale_arcsec(self) -> float:
        return 1.0 / self.focal_length_px / ARCSEC_RAD

    @property
    def adc_max_dn(self) -> int:
        return (1 << self.adc_bits) - 1

    @property
    def electrons_per_photon_per_m2(self) -> float:
        """Electrons per exposure for a photon flux of 1 photon s^-1 m^-2 at the aperture."""
        return self.aperture_area_m2 * self.throughput * self.quantum_efficiency * self.exposure_s

    def electrons_from_vmag(self, v_mag):
        """Expected electrons per exposure from a point source of V magnitude v_mag (CCD equation)."""
        return self.electrons_per_photon_per_m2 * self.v0_photon_flux_per_m2_s * 10.0 ** (
            -0.4 * np.asarray(v_mag, dtype=float)
        )

    def vmag_for_electrons(self, electrons):
        """V magnitude of a point source giving `electrons` per exposure; inverse of electrons_from_vmag."""
        return -2.5 * np.log10(np.asarray(electrons, dtype=float) / self.electrons_from_vmag(0.0))
