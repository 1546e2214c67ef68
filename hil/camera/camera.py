"""The camera: renders a frame of the sky, the target and the bright bodies as the detector reads it.

    camera = Camera(CameraParams(), StarSky.load(epoch_jyear=2026.0, sky_key=...), q_CB=...)
    frame, truth = camera.render(Scene(q_BN=..., r_sun_N=..., r_earth_N=..., target=Target(...)), rng)

frame is uint16 (n_rows x n_cols) DN. truth (plant side only) lists every rendered source with
its mid-exposure pixel position and expected electrons, the target's geometry, the background
and stray light, hot pixels and cosmic rays.

Not modelled: lens distortion and vignetting, blooming of saturated charge, Landau fluctuations
of cosmic-ray charge, motion smear of resolved bodies (drawn at mid-exposure), the Sun's own
image (its stray light saturates the frame long before), the Earth's night-side and limb glow,
light-time and aberration of the target's direction.
"""

import math
from dataclasses import dataclass, replace

import numpy as np

from hil.camera.catalog import StarCatalog, sky_catalog
from hil.camera.defects import cosmic_rays, hot_pixels
from hil.camera.faint_stars import FaintStars
from hil.camera.frames import dcm_from_quaternion
from hil.camera.params import CameraParams
from hil.camera.photometry import (
    lambert_sphere_vmag,
    photon_flux_from_surface_brightness,
    sun_photon_flux_per_m2_s,
)
from hil.camera.projection import project_substeps, project_visible, rotation_over
from hil.camera.psf import GaussianPsf
from hil.camera.readout import PlanarBackground, read_out
from hil.camera.resolved import (add_lambert_sphere, apparent_radius_rad, lambert_photocentre_m,
                                 lambert_radiance_e_per_sr, subsamples_for)
from hil.camera.stray_light import (
    EARTH_ALBEDO,
    EARTH_RADIUS_M,
    MOON_ALBEDO,
    MOON_RADIUS_M,
    half_diagonal_fov_rad,
    off_axis_angle_rad,
    stray_light_plane,
    sunlit_sphere_stray_plane,
    sum_planes,
)

SPEED_OF_LIGHT_M_S = 299792458.0
SOURCE_CATALOG, SOURCE_FAINT, SOURCE_TARGET = 0, 1, 2
RESOLVED_MIN_RADIUS_PX = 0.5  # below this apparent radius the target is drawn as a point source
MAX_SUBSTEPS = 64
SMEAR_STEP_PX = 0.5
_STAMP_MARGIN_PX = 16


def _vector(name, value, shape=(3,)):
    v = np.asarray(value, dtype=float)
    if v.shape != shape or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be a finite array of shape {shape}")
    return v


@dataclass(frozen=True)
class Target:
    """The target: position and velocity relative to the camera in N [m, m/s], a Lambertian sphere."""

    r_TC_N: np.ndarray
    v_TC_N: np.ndarray = (0.0, 0.0, 0.0)
    radius_m: float = 1.0
    albedo: float = 0.2

    def __post_init__(self):
        object.__setattr__(self, "r_TC_N", _vector("r_TC_N", self.r_TC_N))
        object.__setattr__(self, "v_TC_N", _vector("v_TC_N", self.v_TC_N))
        if not 0 < self.radius_m < np.linalg.norm(self.r_TC_N):
            raise ValueError("target radius must be positive and smaller than its range")
        if not 0 < self.albedo <= 1:
            raise ValueError("target albedo must lie in (0, 1]")


@dataclass(frozen=True)
class Scene:
    """What the camera looks at during one exposure (mid-exposure values).

    q_BN: body attitude (scalar-first Euler parameters); omega_BN_B: body rate [rad/s];
    r_sun_N, r_earth_N, r_moon_N: Sun, Earth centre and Moon relative to the camera, in N [m];
    v_observer_N: camera velocity relative to the solar-system barycentre [m/s], for the
    stellar aberration of star positions (None: no aberration).
    """

    q_BN: np.ndarray
    r_sun_N: np.ndarray
    r_earth_N: np.ndarray
    omega_BN_B: np.ndarray = (0.0, 0.0, 0.0)
    r_moon_N: np.ndarray | None = None
    target: Target | None = None
    v_observer_N: np.ndarray | None = None

    def __post_init__(self):
        object.__setattr__(self, "q_BN", _vector("q_BN", self.q_BN, (4,)))
        if np.linalg.norm(self.q_BN) < 1e-6:
            raise ValueError("q_BN must be a non-zero quaternion")
        object.__setattr__(self, "omega_BN_B", _vector("omega_BN_B", self.omega_BN_B))
        object.__setattr__(self, "r_sun_N", _vector("r_sun_N", self.r_sun_N))
        object.__setattr__(self, "r_earth_N", _vector("r_earth_N", self.r_earth_N))
        if np.linalg.norm(self.r_earth_N) <= EARTH_RADIUS_M:
            raise ValueError("the camera must be outside the Earth")
        if self.r_moon_N is not None:
            object.__setattr__(self, "r_moon_N", _vector("r_moon_N", self.r_moon_N))
        if self.v_observer_N is not None:
            object.__setattr__(self, "v_observer_N", _vector("v_observer_N", self.v_observer_N))
            if np.linalg.norm(self.v_observer_N) >= 1e6:
                raise ValueError("v_observer_N must be a velocity well below c")


class StarSky:
    """The star field: the real catalogue plus the deterministic faint population (None: none)."""

    def __init__(self, catalog: StarCatalog, faint: FaintStars | None):
        self.catalog = catalog
        self.faint = faint

    @classmethod
    def load(cls, epoch_jyear: float, sky_key: int, faint_limit_v_mag: float = 17.0):
        catalog = sky_catalog(epoch_jyear)
        return cls(catalog, FaintStars(catalog, sky_key, faint_limit_v_mag))


class Camera:
    """A camera mounted on the body with attitude q_CB (camera frame relative to body frame)."""

    def __init__(self, params: CameraParams, sky: StarSky, q_CB=(1.0, 0.0, 0.0, 0.0)):
        self.params = params
        self.sky = sky
        self.C_CB = dcm_from_quaternion(q_CB)
        self.psf = GaussianPsf(params.psf_sigma_px)
        self.hot = hot_pixels(params)
        self._signal = np.zeros((params.n_rows, params.n_cols), dtype=np.float32)
        self._half_diagonal_rad = half_diagonal_fov_rad(params)

    def set_exposure(self, exposure_s: float) -> float:
        """Integrate the following frames for exposure_s, clamped to the shutter's limits
        (params.min_exposure_s..max_exposure_s); returns the exposure set."""
        p = self.params
        exposure_s = float(exposure_s)
        if not math.isfinite(exposure_s):
            raise ValueError(f"exposure must be finite, got {exposure_s!r}")
        exposure_s = min(max(exposure_s, p.min_exposure_s), p.max_exposure_s)
        if exposure_s != p.exposure_s:
            self.params = replace(p, exposure_s=exposure_s)
        return exposure_s

    def render_limit_v_mag(self):
        """Faintest star drawn individually: one giving faint_star_min_electrons per exposure."""
        p = self.params
        return float(p.vmag_for_electrons(max(p.faint_star_min_electrons, 1e-6)))

    def expected_electrons(self, scene: Scene):
        """The noise-free image: expected electrons per pixel from every source (float32, a view
        reused by the next call), the planar background, and the truth dict (see render)."""
        p = self.params
        C_CN = self.C_CB @ dcm_from_quaternion(scene.q_BN)
        omega_CN_C = self.C_CB @ scene.omega_BN_B
        # sub-steps: the stars move with the camera's rotation, the target with its own motion too
        star_steps = self._substeps(omega_CN_C, None)
        target_steps = self._substeps(omega_CN_C, scene.target)
        _, C_star_steps = _steps(star_steps, omega_CN_C, C_CN, p.exposure_s)
        target_dt, C_target_steps = _steps(target_steps, omega_CN_C, C_CN, p.exposure_s)

        signal = self._signal
        signal.fill(0.0)
        bodies = self._bodies(scene, C_CN)
        stars = self._render_stars(scene, C_CN, C_star_steps, bodies, signal)
        target = self._render_target(scene, C_CN, C_target_steps, target_dt, signal)
        for body in bodies:
            if body["in_field"]:
                add_lambert_sphere(
                    signal, p, body["r_C"], body["radius_m"], body["sun_C"],
                    lambert_radiance_e_per_sr(p, body["albedo"], body["sun_flux"]), n_sub=1, blur=False,
                )
        background, parts = self._background(scene, C_CN, bodies)
        sources = _concat_sources([stars, target["source"]] if target["source"] is not None else [stars])
        truth = {
            "C_CN": C_CN,
            "n_substeps": star_steps,
            "n_substeps_target": target_steps,
            "sources": sources,
            "target": target["info"],
            "background": background,
            "background_parts_e_per_px": parts,
            "blinded": bool(background.level_e >= p.full_well_e),
            "bodies_in_field": [b["name"] for b in bodies if b["in_field"]],
            "hot_pixels": self.hot,
            "render_limit_v_mag": self.render_limit_v_mag(),
        }
        return signal, background, truth

    def render(self, scene: Scene, rng: np.random.Generator):
        """Render one exposure. Returns (frame uint16, truth dict).

        truth: C_CN; n_substeps (stars) and n_substeps_target; sources (arrays x_px, y_px at mid-exposure, expected electrons,
        v_mag, kind 0 catalogue / 1 faint / 2 target, catalog_index or -1); target (range,
        phase, sunlit, behind_earth, angular and pixel radius, magnitude, pixel position,
        resolved, electrons); background (PlanarBackground, e-/px) and its parts; blinded; bodies in the
        field; hot_pixels; cosmic_rays; render_limit_v_mag.
        """
        p = self.params
        signal, background, truth = self.expected_electrons(scene)
        rays = cosmic_rays(p, rng)
        index = np.concatenate([self.hot.flat_index, rays.flat_index])
        extra = np.concatenate([self.hot.extra_dark_e_per_s * p.exposure_s, np.zeros(len(rays.flat_index))])
        deposit = np.concatenate([np.zeros(len(self.hot.flat_index)), rays.deposit_e])
        key = int(rng.integers(0, 2**63))
        frame = read_out(signal, background, p, key, index, extra, deposit)
        truth["cosmic_rays"] = rays
        return frame, truth

    def _substeps(self, omega_CN_C, target):
        """Sub-steps so that nothing moves more than SMEAR_STEP_PX between two of them."""
        p = self.params
        smear = p.exposure_s * (
            p.focal_length_px * math.hypot(omega_CN_C[0], omega_CN_C[1])
            + abs(omega_CN_C[2]) * 0.5 * math.hypot(p.n_rows, p.n_cols)
        )
        if target is not None:
            r = np.linalg.norm(target.r_TC_N)
            v_perp = np.linalg.norm(np.cross(target.v_TC_N, target.r_TC_N / r))
            smear += p.exposure_s * p.focal_length_px * v_perp / r
        return int(min(MAX_SUBSTEPS, max(1, math.ceil(smear / SMEAR_STEP_PX))))

    def _bodies(self, scene, C_CN):
        """Earth and Moon as seen from the camera: direction, angular radius, whether in the field."""
        bodies = []
        for name, r_N, radius, albedo in (
            ("earth", scene.r_earth_N, EARTH_RADIUS_M, EARTH_ALBEDO),
            ("moon", scene.r_moon_N, MOON_RADIUS_M, MOON_ALBEDO),
        ):
            if r_N is None:
                continue
            r_C = C_CN @ r_N
            rho = apparent_radius_rad(radius, np.linalg.norm(r_N))
            to_sun = scene.r_sun_N - r_N
            bodies.append({
                "name": name,
                "r_N": r_N,
                "r_C": r_C,
                "u_N": r_N / np.linalg.norm(r_N),
                "radius_m": radius,
                "albedo": albedo,
                "angular_radius_rad": rho,
                "off_axis_rad": off_axis_angle_rad(r_C, rho),
                "in_field": off_axis_angle_rad(r_C, rho) < self._half_diagonal_rad,
                "sun_C": C_CN @ (to_sun / np.linalg.norm(to_sun)),
                "sun_flux": sun_photon_flux_per_m2_s(np.linalg.norm(to_sun)),
            })
        return bodies

    def _star_directions(self, scene, C_CN, radius):
        axis_N = C_CN[2]
        cat_index = self.sky.catalog.cone(axis_N, radius)
        if self.sky.faint is None:
            u_faint, m_faint = np.empty((0, 3)), np.empty(0)
        else:
            u_faint, m_faint = self.sky.faint.cone(axis_N, radius, self.render_limit_v_mag())
        u_N = np.concatenate([self.sky.catalog.u_N[cat_index], u_faint])
        v_mag = np.concatenate([self.sky.catalog.v_mag[cat_index], m_faint])
        kind = np.concatenate([np.full(len(cat_index), SOURCE_CATALOG), np.full(len(m_faint), SOURCE_FAINT)])
        cat = np.concatenate([cat_index, np.full(len(m_faint), -1)])
        if scene.v_observer_N is not None:
            # stellar aberration to first order in v/c (e.g. Seidelmann 1992, Explanatory Supplement, 3.25)
            u_N = u_N + scene.v_observer_N / SPEED_OF_LIGHT_M_S
            u_N /= np.linalg.norm(u_N, axis=1, keepdims=True)
        return u_N, v_mag, kind, cat

    def _render_stars(self, scene, C_CN, C_steps, bodies, signal):
        p = self.params
        sweep = max(np.linalg.norm(C_steps[0][2] - C_steps[-1][2]), 0.0)
        radius = self._half_diagonal_rad + sweep + _STAMP_MARGIN_PX / p.focal_length_px
        u_N, v_mag, kind, cat = self._star_directions(scene, C_CN, radius)
        # the Earth, the Moon and the target hide the stars behind them
        disks = [(b["u_N"], b["angular_radius_rad"]) for b in bodies]
        if scene.target is not None:
            range_m = np.linalg.norm(scene.target.r_TC_N)
            disks.append((scene.target.r_TC_N / range_m, apparent_radius_rad(scene.target.radius_m, range_m)))
        disk_u_N = np.array([u for u, _ in disks]).reshape(-1, 3)
        disk_cos = np.cos([rho for _, rho in disks])
        x0, y0 = p.principal_point_px
        m = _STAMP_MARGIN_PX
        u_N = np.ascontiguousarray(u_N)
        keep, xs, ys = project_visible(
            C_steps, u_N, disk_u_N, disk_cos, p.focal_length_px, x0, y0, -m, p.n_cols - 1 + m, -m, p.n_rows - 1 + m
        )
        electrons = p.electrons_from_vmag(v_mag[keep])
        n_steps = len(C_steps)
        # sorted by row so that consecutive stamps touch neighbouring memory (a radix sort on int16 rows)
        order = np.argsort(np.rint(ys[:, n_steps // 2]).astype(np.int16), kind="stable")
        self.psf.add_point_sources(
            signal, xs[order], ys[order], np.repeat(electrons[order, None] / n_steps, n_steps, axis=1)
        )
        # mid-exposure positions: the same projection with the mid-exposure attitude
        _, x_mid, y_mid = project_substeps(C_CN[None], u_N[keep], p.focal_length_px, x0, y0, -np.inf, np.inf,
                                           -np.inf, np.inf)
        return {
            "x_px": x_mid[:, 0], "y_px": y_mid[:, 0], "electrons": electrons, "v_mag": v_mag[keep],
            "kind": kind[keep].astype(np.int64), "catalog_index": cat[keep].astype(np.int64),
        }

    def _render_target(self, scene, C_CN, C_steps, dt, signal):
        p = self.params
        target = scene.target
        if target is None:
            return {"source": None, "info": None}
        r_N = target.r_TC_N
        range_m = float(np.linalg.norm(r_N))
        to_sun = scene.r_sun_N - r_N
        cos_phase = float(to_sun @ -r_N / (np.linalg.norm(to_sun) * range_m))
        phase = math.acos(max(-1.0, min(1.0, cos_phase)))
        sunlit = not _in_earth_shadow(r_N - scene.r_earth_N, to_sun)
        behind_earth = _behind_sphere(r_N, scene.r_earth_N, EARTH_RADIUS_M)
        rho = apparent_radius_rad(target.radius_m, range_m)
        r_C = C_CN @ r_N
        x0, y0 = p.principal_point_px
        info = {
            "range_m": range_m, "phase_rad": phase, "sunlit": sunlit, "angular_radius_rad": rho,
            "apparent_radius_px": p.focal_length_px * math.tan(rho),
            "v_mag": float(lambert_sphere_vmag(target.radius_m, range_m, target.albedo, phase, np.linalg.norm(to_sun))),
            "x_px": x0 + p.focal_length_px * r_C[0] / r_C[2] if r_C[2] > 0 else np.nan,
            "y_px": y0 + p.focal_length_px * r_C[1] / r_C[2] if r_C[2] > 0 else np.nan,
            "resolved": is_resolved(p, rho),
            "behind_earth": behind_earth,
            "electrons": 0.0,
        }
        if not sunlit or behind_earth or r_C[2] <= 0:
            return {"source": None, "info": info}
        if info["resolved"]:
            sun_C = C_CN @ (to_sun / np.linalg.norm(to_sun))
            drawn = add_lambert_sphere(
                signal, p, r_C, target.radius_m, sun_C,
                lambert_radiance_e_per_sr(p, target.albedo, sun_photon_flux_per_m2_s(np.linalg.norm(to_sun))),
                n_sub=subsamples_for(info["apparent_radius_px"]),
            )
            info["electrons"] = drawn["electrons"]
            return {"source": None, "info": info}
        electrons = float(p.electrons_from_vmag(info["v_mag"]))
        info["electrons"] = electrons
        # the light of a partly lit body is centred off its centre, towards the Sun
        r_light_N = r_N + lambert_photocentre_m(target.radius_m, r_N, to_sun)
        positions = np.stack([C @ (r_light_N + target.v_TC_N * t) for C, t in zip(C_steps, dt)])
        xs = x0 + p.focal_length_px * positions[:, 0] / positions[:, 2]
        ys = y0 + p.focal_length_px * positions[:, 1] / positions[:, 2]
        self.psf.add_point_sources(signal, xs[None, :], ys[None, :], np.full((1, len(dt)), electrons / len(dt)))
        source = {
            "x_px": np.array([info["x_px"]]), "y_px": np.array([info["y_px"]]), "electrons": np.array([electrons]),
            "v_mag": np.array([info["v_mag"]]), "kind": np.array([SOURCE_TARGET]), "catalog_index": np.array([-1]),
        }
        return {"source": source, "info": info}

    def _background(self, scene, C_CN, bodies):
        """Planar background [e-/px/exposure]: dark, sky, unresolved stars and stray light."""
        p = self.params
        collect = p.electrons_per_photon_per_m2
        pixel_sr = p.pixel_solid_angle_sr
        sky = photon_flux_from_surface_brightness(p.sky_v_mag_per_arcsec2, pixel_sr) * collect
        unresolved_v0 = 0.0
        if self.sky.faint is not None:
            unresolved_v0 = self.sky.faint.unresolved_flux_v0_units_per_deg2(C_CN[2], self.render_limit_v_mag())
        unresolved = unresolved_v0 * p.v0_photon_flux_per_m2_s * pixel_sr * (180.0 / math.pi) ** 2 * collect
        parts = {"dark": p.dark_current_e_per_s * p.exposure_s, "sky": float(sky), "unresolved_stars": unresolved}
        planes = [PlanarBackground(sum(parts.values()))]
        sun_C = C_CN @ scene.r_sun_N
        sun_flux = 0.0 if _in_earth_shadow(-scene.r_earth_N, scene.r_sun_N) else sun_photon_flux_per_m2_s(
            np.linalg.norm(scene.r_sun_N))
        sun_plane = stray_light_plane(sun_C, off_axis_angle_rad(sun_C), sun_flux, p)
        parts["stray_sun"] = sun_plane.level_e
        planes.append(sun_plane)
        for body in bodies:
            plane = sunlit_sphere_stray_plane(body["r_C"], body["radius_m"], body["albedo"], body["sun_C"],
                                              body["sun_flux"], p)
            parts["stray_" + body["name"]] = plane.level_e
            planes.append(plane)
        return sum_planes(planes), parts


def _steps(n_steps, omega_CN_C, C_CN, exposure_s):
    """Sub-step times from mid-exposure [s] and the camera attitude C_CN at each."""
    dt = (np.arange(n_steps) + 0.5) / n_steps * exposure_s - 0.5 * exposure_s
    return dt, np.stack([rotation_over(omega_CN_C, t) @ C_CN for t in dt])


def is_resolved(params: CameraParams, angular_radius_rad):
    """Whether a body of this angular radius is drawn as a disk rather than a point."""
    return params.focal_length_px * math.tan(angular_radius_rad) >= RESOLVED_MIN_RADIUS_PX


def _in_earth_shadow(r_from_earth_N, to_sun_N):
    """Cylindrical Earth-shadow test (Vallado 2013, Fundamentals of Astrodynamics, algorithm 34)."""
    s = to_sun_N / np.linalg.norm(to_sun_N)
    along = float(r_from_earth_N @ s)
    return along < 0 and np.linalg.norm(r_from_earth_N - along * s) < EARTH_RADIUS_M


def _behind_sphere(r_N, r_sphere_N, radius_m):
    """Whether the segment from the camera (origin) to r_N passes through the sphere."""
    along = float(r_N @ r_sphere_N) / float(r_N @ r_N)
    closest = min(max(along, 0.0), 1.0) * r_N
    return bool(np.linalg.norm(closest - r_sphere_N) < radius_m)


def _concat_sources(parts):
    return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
