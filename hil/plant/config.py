"""The scenario's ``[plant]`` table, validated into the models' configurations.

::

    [plant]
    epoch_utc = "2026-03-01T00:00:00Z"   # sim time 0
    rate_hz = 10.0                       # truth integration and actuator step
    truth_rate_hz = 1.0                  # truth.state recording rate

    [plant.chaser]
    orbit = { a_km = 6878.137, e = 0.0005, i_deg = 97.4, raan_deg = 30.0, argp_deg = 0.0, ta_deg = 0.0 }
    mass_kg = 100.0                      # wet mass at scenario start
    inertia_kgm2 = [8.0, 9.0, 7.0]       # principal moments (or a 3x3 matrix)
    drag_area_m2 = 0.6
    q_BN = [1.0, 0.0, 0.0, 0.0]
    omega_BN_B = [0.0, 0.0, 0.0]

    [plant.target]
    orbit = { ... }                      # the PLANNED insertion orbit (what the cue says)
    radius_m = 0.5
    albedo = 0.25
    mass_kg = 50.0
    drag_area_m2 = 0.3

    [plant.cue]                          # insertion dispersion: the truth is the plan plus a
    sigma_r_rtn_m = [2000.0, 8000.0, 500.0]     # draw from these 1-sigma RTN errors
    sigma_v_rtn_mps = [5.0, 1.0, 0.5]

    [plant.camera]   # any hil.camera.CameraParams field, plus:
    rate_hz = 0.1
    q_CB = [1.0, 0.0, 0.0, 0.0]
    faint_limit_v_mag = 16.0

    [plant.thrusters]           # any hil.thrusters.ThrusterConfig field
    [plant.sensors.gnss]        # any hil.sensors.GnssConfig field; likewise gyro,
                                # star_tracker, rangefinder

    [[plant.faults]]            # see hil.plant.faults
    t_s = 600.0
    kind = "thruster_stuck_off"
    index = 3

    [[plant.faults]]            # the gyro's messages lost, one in five, for a minute
    t_s = 900.0
    kind = "link_loss"
    topic = "sensor.gyro"
    p = 0.2
    duration_s = 60.0
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from hil.camera import CameraParams
from hil.orbit import elements_to_rv
from hil.plant.faults import Fault, parse_faults
from hil.sensors import GnssConfig, GyroConfig, RangefinderConfig, StarTrackerConfig
from hil.thrusters import ThrusterConfig


@dataclass(frozen=True)
class Body:
    r_N: np.ndarray
    v_N: np.ndarray
    mass_kg: float
    drag_area_m2: float


@dataclass(frozen=True)
class PlantConfig:
    epoch_utc: str
    rate_hz: float
    truth_rate_hz: float
    chaser: Body
    inertia_kgm2: np.ndarray
    q_BN: np.ndarray
    omega_BN_B: np.ndarray
    target_plan: Body
    target_radius_m: float
    target_albedo: float
    cue_sigma_r_rtn_m: np.ndarray
    cue_sigma_v_rtn_mps: np.ndarray
    camera: CameraParams
    camera_rate_hz: float
    q_CB: np.ndarray
    faint_limit_v_mag: float
    thrusters: ThrusterConfig
    gnss: GnssConfig
    gyro: GyroConfig
    star_tracker: StarTrackerConfig
    rangefinder: RangefinderConfig
    faults: tuple[Fault, ...]


def _table(doc: dict, key: str, where: str) -> dict:
    t = doc.get(key, {})
    if not isinstance(t, dict):
        raise ValueError(f"{where}.{key} must be a table")
    return t


def _dataclass(cls, table: dict, where: str):
    known = {f.name for f in fields(cls)}
    unknown = set(table) - known
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    try:
        return cls(**table)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def _vector(value, n: int, where: str) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    if a.shape != (n,) or not np.isfinite(a).all():
        raise ValueError(f"{where} must be {n} finite numbers")
    return a


def _number(table: dict, key: str, where: str, default=None, lo=0.0, hi=math.inf) -> float:
    v = table.get(key, default)
    if v is None:
        raise ValueError(f"{where}.{key} is required")
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo < v <= hi:
        raise ValueError(f"{where}.{key} must be a number in ({lo}, {hi}], got {v!r}")
    return float(v)


def _orbit(table: dict, where: str) -> tuple[np.ndarray, np.ndarray]:
    keys = {"a_km", "e", "i_deg", "raan_deg", "argp_deg", "ta_deg"}
    if not isinstance(table, dict) or set(table) != keys:
        raise ValueError(f"{where}.orbit must give exactly {sorted(keys)}")
    r, v = elements_to_rv(table["a_km"] * 1e3, table["e"], *(math.radians(table[k]) for k in
                          ("i_deg", "raan_deg", "argp_deg", "ta_deg")))
    return np.asarray(r), np.asarray(v)


def _body(table: dict, where: str) -> Body:
    r, v = _orbit(table.get("orbit"), where)
    return Body(r, v, _number(table, "mass_kg", where), _number(table, "drag_area_m2", where))


def _inertia(value, where: str) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    if a.shape == (3,):
        a = np.diag(a)
    if a.shape != (3, 3) or not np.isfinite(a).all():
        raise ValueError(f"{where}.inertia_kgm2 must be 3 principal moments or a 3x3 matrix")
    return a


def parse_plant(doc: dict) -> PlantConfig:
    """Validate a ``[plant]`` table (see the module docstring); raise ValueError naming the key."""
    w = "plant"
    known = {"epoch_utc", "rate_hz", "truth_rate_hz", "chaser", "target", "cue", "camera",
             "thrusters", "sensors", "faults"}
    unknown = set(doc) - known
    if unknown:
        raise ValueError(f"plant: unknown keys {sorted(unknown)}")
    epoch = doc.get("epoch_utc")
    if not isinstance(epoch, str):
        raise ValueError("plant.epoch_utc must be an ISO-8601 UTC time string")
    chaser = _table(doc, "chaser", w)
    target = _table(doc, "target", w)
    cue = _table(doc, "cue", w)
    camera = dict(_table(doc, "camera", w))
    sensors = _table(doc, "sensors", w)
    camera_rate = _number(camera, "rate_hz", "plant.camera", 0.1)
    q_CB = _vector(camera.pop("q_CB", [1.0, 0.0, 0.0, 0.0]), 4, "plant.camera.q_CB")
    faint = _number(camera, "faint_limit_v_mag", "plant.camera", 16.0, lo=5.0, hi=22.0)
    camera.pop("rate_hz", None)
    camera.pop("faint_limit_v_mag", None)
    return PlantConfig(
        epoch_utc=epoch,
        rate_hz=_number(doc, "rate_hz", w, 10.0, hi=1000.0),
        truth_rate_hz=_number(doc, "truth_rate_hz", w, 1.0, hi=1000.0),
        chaser=_body(chaser, "plant.chaser"),
        inertia_kgm2=_inertia(chaser.get("inertia_kgm2", [8.0, 9.0, 7.0]), "plant.chaser"),
        q_BN=_vector(chaser.get("q_BN", [1.0, 0.0, 0.0, 0.0]), 4, "plant.chaser.q_BN"),
        omega_BN_B=_vector(chaser.get("omega_BN_B", [0.0, 0.0, 0.0]), 3,
                           "plant.chaser.omega_BN_B"),
        target_plan=_body(target, "plant.target"),
        target_radius_m=_number(target, "radius_m", "plant.target", 0.5, hi=100.0),
        target_albedo=_number(target, "albedo", "plant.target", 0.25, hi=1.0),
        cue_sigma_r_rtn_m=_vector(cue.get("sigma_r_rtn_m", [0.0] * 3), 3, "plant.cue.sigma_r_rtn_m"),
        cue_sigma_v_rtn_mps=_vector(cue.get("sigma_v_rtn_mps", [0.0] * 3), 3,
                                    "plant.cue.sigma_v_rtn_mps"),
        camera=_dataclass(CameraParams, camera, "plant.camera"),
        camera_rate_hz=camera_rate,
        q_CB=q_CB,
        faint_limit_v_mag=faint,
        thrusters=_dataclass(ThrusterConfig, _table(doc, "thrusters", w), "plant.thrusters"),
        gnss=_dataclass(GnssConfig, _table(sensors, "gnss", "plant.sensors"), "plant.sensors.gnss"),
        gyro=_dataclass(GyroConfig, _table(sensors, "gyro", "plant.sensors"), "plant.sensors.gyro"),
        star_tracker=_dataclass(StarTrackerConfig, _table(sensors, "star_tracker", "plant.sensors"),
                                "plant.sensors.star_tracker"),
        rangefinder=_dataclass(RangefinderConfig, _table(sensors, "rangefinder", "plant.sensors"),
                               "plant.sensors.rangefinder"),
        faults=parse_faults(doc.get("faults", [])),
    )
