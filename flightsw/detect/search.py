"""Searching the sky for the target from the ground's cue: pointings that cover its uncertainty.

The cue (TargetCue) is the planned orbit with a 6x6 covariance at an epoch.  Planning at time t:

1. draw n samples of the target state from the cue (mean + L z, L L^T = sigma_scale^2 P_rv),
   propagate them and the chaser (from its GNSS fix) to t (propagate: two-body + J2);
2. their lines of sight from the chaser, in the azimuthal equidistant plane (skyplane) around
   the nominal line of sight u0 (the cue mean's), with e1 along u0's apparent motion;
3. candidate tiles on a lattice of a third of the footprint over the samples; a tile covers a
   sample when it projects inside the camera frame shrunk by the overlap margin (exact
   pinhole projection through the tile's attitude: boresight at the tile, +x along e1);
4. greedy maximum coverage: the tile adding the most uncovered probability next, until the
   goal (default 99.5 % of the samples, above the 99 % requirement to allow for sampling
   error) or max_tiles.  Greedy order is also the order of decreasing added probability.

The tile offsets are relative to the nominal line of sight, which turns at about the orbital
rate; ``SearchPlan.pointing(k, t)`` re-propagates the nominal states to t and applies the
offset, so a dwell on a tile follows the sky region it covers.  Fallback stages widen the
search when a stage ends without a target: the covariance scaled by sigma_scale = 3 and 10,
then an along-track sweep (the cue's orbit early or late by up to sweep_s, the most likely
way for a launch cue to be wrong).  ``SearchProgress`` accumulates the probability actually
observed, frame by frame.
"""
from dataclasses import dataclass, field

import numpy as np

from flightsw.detect.camera import CameraModel
from flightsw.detect.propagate import orbit_problem, propagate
from flightsw.detect.rotation import quaternion_from_dcm, quaternion_multiply, quaternion_conjugate
from flightsw.detect.skyplane import from_plane, to_plane


@dataclass(frozen=True)
class CueState:
    """The target's planned state at epoch_s (sim time, s): r_N (m), v_N (m/s), P_rv (6x6)."""

    epoch_s: float
    r_N: np.ndarray
    v_N: np.ndarray
    P_rv: np.ndarray

    def __post_init__(self):
        P = np.asarray(self.P_rv, dtype=float)
        if P.shape != (6, 6) or not np.isfinite(P).all() or not np.allclose(P, P.T, rtol=1e-9, atol=1e-9):
            raise ValueError("P_rv must be a finite symmetric 6x6 matrix")
        if np.linalg.eigvalsh(P)[0] < -1e-9 * max(np.abs(P).max(), 1.0):
            raise ValueError("P_rv must be positive semi-definite")
        if not (np.isfinite(self.r_N).all() and np.isfinite(self.v_N).all()):
            raise ValueError("cue state must be finite")
        problem = orbit_problem(self.r_N, self.v_N)
        if problem:
            raise ValueError(f"cue: {problem}")

    def check_epoch(self, t_s: float, max_span_s: float) -> None:
        """ValueError unless the epoch is within max_span_s of t_s (s): a cue is propagated from
        its epoch, and an absurd span would take the propagator that long."""
        if not abs(t_s - self.epoch_s) <= max_span_s:
            raise ValueError(f"cue epoch {self.epoch_s:.0f} s is over {max_span_s:g} s from "
                             f"t = {t_s:.0f} s")

    @property
    def state(self) -> np.ndarray:
        return np.concatenate([self.r_N, self.v_N])


@dataclass(frozen=True)
class SearchConfig:
    """n_samples: Monte Carlo samples of the cue; overlap: fraction of the field kept as margin
    between tiles; goal: probability a stage's plan covers; max_tiles per plan; stages: sigma
    scales of the covariance, in order, before the along-track sweep of +-sweep_s."""

    n_samples: int = 2000
    overlap: float = 0.15
    goal: float = 0.995
    max_tiles: int = 400
    stages: tuple = (1.0, 3.0, 10.0)
    sweep_s: float = 600.0

    def __post_init__(self):
        if self.n_samples < 100 or not 0 <= self.overlap < 0.9 or not 0 < self.goal <= 1:
            raise ValueError("SearchConfig: n_samples >= 100, overlap in [0, 0.9), goal in (0, 1]")
        if self.max_tiles < 1 or not self.stages or min(self.stages) <= 0 or self.sweep_s <= 0:
            raise ValueError("SearchConfig: max_tiles >= 1, positive stages and sweep_s")


def line_of_sight_frame(target_state: np.ndarray, chaser_state: np.ndarray):
    """Unit line of sight u0 from chaser to target, and the plane basis: e1 along the apparent
    motion of u0 (du/dt = (v_rel - (v_rel . u) u) / range), e2 = u0 x e1."""
    rel = target_state - chaser_state
    u0 = rel[:3] / np.linalg.norm(rel[:3])
    du = rel[3:] - (rel[3:] @ u0) * u0
    if np.linalg.norm(du) < 1e-12:
        du = np.cross([0.0, 0.0, 1.0], u0) if abs(u0[2]) < 0.9 else np.cross([1.0, 0.0, 0.0], u0)
    e1 = du / np.linalg.norm(du)
    return u0, e1, np.cross(u0, e1)


def tile_C_CN(u0, e1, e2, offset) -> np.ndarray:
    """Camera attitude of a tile: boresight at plane offset (rad) about u0, +x along e1 carried
    to the boresight."""
    z = from_plane(np.asarray(offset, dtype=float), u0, e1, e2)
    x = e1 - (e1 @ z) * z
    x /= np.linalg.norm(x)
    return np.array([x, np.cross(z, x), z])


def covered_by(C_CN: np.ndarray, u_N: np.ndarray, camera: CameraModel, overlap: float) -> np.ndarray:
    """Which directions (n, 3) fall in the frame of attitude C_CN shrunk by the overlap margin."""
    x, y, front = camera.project(u_N @ C_CN.T)
    margin_x = 0.5 * overlap * camera.n_cols
    margin_y = 0.5 * overlap * camera.n_rows
    return (front & (x >= margin_x - 0.5) & (x <= camera.n_cols - 0.5 - margin_x)
            & (y >= margin_y - 0.5) & (y <= camera.n_rows - 0.5 - margin_y))


def sample_cue(cue: CueState, rng: np.random.Generator, n: int, sigma_scale: float) -> np.ndarray:
    """n target states (n, 6) at the cue epoch: mean + sigma_scale L z, L from the eigen-
    decomposition of P_rv (robust to a singular covariance)."""
    values, vectors = np.linalg.eigh(np.asarray(cue.P_rv, dtype=float))
    L = vectors * np.sqrt(np.clip(values, 0.0, None))
    return cue.state + sigma_scale * rng.standard_normal((n, 6)) @ L.T


def sweep_cue(cue: CueState, rng: np.random.Generator, n: int, sweep_s: float) -> np.ndarray:
    """n target states at the cue epoch spread along the cue's orbit: samples of the cue each
    propagated by its own time offset, uniform in [-sweep_s, sweep_s] (the target early or
    late on the planned orbit)."""
    return propagate(sample_cue(cue, rng, n, 1.0), rng.uniform(-sweep_s, sweep_s, n))


@dataclass
class SearchPlan:
    """Tiles for one stage, planned at t_s.

    stage: 'sigma x<scale>' or 'along-track'; nominal_target, chaser: the states at t_s the
    pointing is referenced to; u0, e1, e2: the plane of the tile offsets; samples_N: sample
    lines of sight at t_s; tiles: (k, 2) plane offsets (rad) in visiting order; gain: the
    probability each tile adds; coverage: cumulative; camera, overlap: the footprint.
    """

    t_s: float
    stage: str
    nominal_target: np.ndarray
    chaser: np.ndarray
    u0: np.ndarray
    e1: np.ndarray
    e2: np.ndarray
    samples_N: np.ndarray
    tiles: np.ndarray
    gain: np.ndarray
    camera: CameraModel
    overlap: float
    coverage: np.ndarray = field(init=False)

    def __post_init__(self):
        self.coverage = np.cumsum(self.gain)

    def __len__(self):
        return len(self.tiles)

    def pointing(self, k: int, t_s: float | None = None) -> np.ndarray:
        """Camera attitude q_CN for tile k at time t_s (default: the plan time)."""
        return quaternion_from_dcm(self.C_CN(k, t_s))

    def C_CN(self, k: int, t_s: float | None = None) -> np.ndarray:
        if not 0 <= k < len(self.tiles):
            raise ValueError(f"tile {k} outside the plan's {len(self.tiles)} tiles")
        if t_s is None or t_s == self.t_s:
            return tile_C_CN(self.u0, self.e1, self.e2, self.tiles[k])
        dt = t_s - self.t_s
        u0, e1, e2 = line_of_sight_frame(propagate(self.nominal_target, dt), propagate(self.chaser, dt))
        return tile_C_CN(u0, e1, e2, self.tiles[k])

    def body_pointing(self, k: int, q_CB, t_s: float | None = None) -> np.ndarray:
        """Body attitude q_BN that puts the camera (mounted at q_CB) on tile k:
        q_BN = q_CN (x) q_BC."""
        return quaternion_multiply(self.pointing(k, t_s), quaternion_conjugate(q_CB))


def plan_tiles(samples_N, weights, u0, e1, e2, camera: CameraModel, overlap: float,
               goal: float, max_tiles: int):
    """Greedy maximum-coverage tiles (plane offsets) and the probability each adds."""
    p = to_plane(samples_N, u0, e1, e2)
    half_width = 0.5 * (1 - overlap) * camera.n_cols / camera.f_px
    half_height = 0.5 * (1 - overlap) * camera.n_rows / camera.f_px
    step_x, step_y = 2 * half_width / 3, 2 * half_height / 3
    lo, hi = p.min(axis=0), p.max(axis=0)
    gx = np.arange(lo[0], hi[0] + step_x, step_x)
    gy = np.arange(lo[1], hi[1] + step_y, step_y)
    centres = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    # keep lattice points that cover at least one sample (in the plane, a cheap pre-filter)
    near = np.zeros(len(centres), bool)
    for start in range(0, len(centres), 256):
        block = centres[start:start + 256]
        inside = ((np.abs(p[None, :, 0] - block[:, None, 0]) <= 1.2 * half_width)
                  & (np.abs(p[None, :, 1] - block[:, None, 1]) <= 1.2 * half_height))
        near[start:start + 256] = inside.any(axis=1)
    centres = centres[near]
    cover = np.array([covered_by(tile_C_CN(u0, e1, e2, c), samples_N, camera, overlap) for c in centres])
    remaining = np.asarray(weights, dtype=float).copy()
    tiles, gain = [], []
    total = remaining.sum()
    covered = 0.0
    while covered < goal * total and len(tiles) < max_tiles and len(centres):
        adds = cover @ remaining
        best = int(np.argmax(adds))
        if adds[best] <= 0:
            break
        tiles.append(centres[best])
        gain.append(adds[best] / total)
        covered += adds[best]
        remaining[cover[best]] = 0.0
    return np.array(tiles).reshape(-1, 2), np.array(gain)


def plan_search(cue: CueState, chaser_state: np.ndarray, chaser_t_s: float, t_s: float,
                camera: CameraModel, rng: np.random.Generator, config: SearchConfig = SearchConfig(),
                stage: int = 0) -> SearchPlan:
    """The plan of a search stage at t_s (stage index into config.stages, then the sweep).

    chaser_state: [r_BN_N, v_BN_N] (m, m/s) at chaser_t_s (the GNSS fix).
    """
    if not 0 <= stage <= len(config.stages):
        raise ValueError(f"stage {stage} outside 0..{len(config.stages)}")
    chaser = propagate(np.asarray(chaser_state, dtype=float), t_s - chaser_t_s)
    nominal = propagate(cue.state, t_s - cue.epoch_s)
    if stage < len(config.stages):
        scale = config.stages[stage]
        states, name = sample_cue(cue, rng, config.n_samples, scale), f"sigma x{scale:g}"
    else:
        states, name = sweep_cue(cue, rng, config.n_samples, config.sweep_s), "along-track"
    states = propagate(states, t_s - cue.epoch_s)
    rel = states[:, :3] - chaser[:3]
    samples_N = rel / np.linalg.norm(rel, axis=1, keepdims=True)
    u0, e1, e2 = line_of_sight_frame(nominal, chaser)
    weights = np.full(len(samples_N), 1.0 / len(samples_N))
    tiles, gain = plan_tiles(samples_N, weights, u0, e1, e2, camera, config.overlap, config.goal,
                             config.max_tiles)
    return SearchPlan(t_s, name, nominal, chaser, u0, e1, e2, samples_N, tiles, gain, camera,
                      config.overlap)


class SearchProgress:
    """Probability of a stage's cue samples observed so far, frame by frame.

    The samples (target states) are propagated to each frame's time and counted as observed
    when they fall in the frame shrunk by the overlap margin.
    """

    def __init__(self, cue: CueState, chaser_state, chaser_t_s: float, camera: CameraModel,
                 rng: np.random.Generator, config: SearchConfig = SearchConfig(), stage: int = 0):
        if stage < len(config.stages):
            states = sample_cue(cue, rng, config.n_samples, config.stages[stage])
        else:
            states = sweep_cue(cue, rng, config.n_samples, config.sweep_s)
        self.t_s = cue.epoch_s
        self.states = states
        self.chaser = np.asarray(chaser_state, dtype=float)
        self.chaser_t_s = float(chaser_t_s)
        self.camera = camera
        self.overlap = config.overlap
        self.observed = np.zeros(len(states), bool)

    @property
    def coverage(self) -> float:
        return float(self.observed.mean())

    def observe(self, t_s: float, C_CN: np.ndarray) -> float:
        """Count a frame taken at t_s with camera attitude C_CN; returns the coverage."""
        self.states = propagate(self.states, t_s - self.t_s)
        self.t_s = float(t_s)
        chaser = propagate(self.chaser, t_s - self.chaser_t_s)
        self.chaser, self.chaser_t_s = chaser, float(t_s)
        rel = self.states[:, :3] - chaser[:3]
        u = rel / np.linalg.norm(rel, axis=1, keepdims=True)
        self.observed |= covered_by(C_CN, u, self.camera, self.overlap)
        return self.coverage
