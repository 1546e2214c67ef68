"""Search pointing: the camera stepped over the tiles of the detect search plan, a dwell on each.

The tiles come from flightsw.detect.search.plan_search: samples of the cue propagated to the
planning time, their lines of sight from the chaser covered greedily by camera footprints,
in stages of widening covariance and then an along-track sweep. A tile is an offset in the
tangent plane about the cue's nominal line of sight, which turns at about the orbital rate, so
at each step the nominal target (the cue's mean state, propagated two-body + J2) and the
chaser (from its latest orbit estimate) give the plane again, and the tile's camera attitude
follows from it (search.tile_C_CN: boresight on the tile, +x along the apparent motion of the
line of sight, the roll the coverage was computed for).

The camera dwells dwell_s on each tile in the plan's order (decreasing added probability). A
tile whose boresight is then inside the Sun exclusion cone is passed over. When a stage's
tiles are done the next stage is planned at that time; after the last one (the sweep) the
search starts again from the first, re-planned for the new geometry. If no tile of a fresh
plan is clear of the Sun, the camera holds the nominal line of sight turned out of the
exclusion cone and tries again after a dwell.
"""
import numpy as np

from flightsw.detect.camera import CameraModel
from flightsw.detect.propagate import propagate
from flightsw.detect.search import CueState, SearchConfig, line_of_sight_frame, plan_search, tile_C_CN
from flightsw.guidance.pointing import clear_of_sun


class SearchPointing:
    """The tile sequence over one cue (module docstring). Times t_s are sim seconds; chaser
    states [r_BN_N (m), v_BN_N (m/s)] at t_s."""

    def __init__(self, cue: CueState, camera: CameraModel, config: SearchConfig, dwell_s: float,
                 rng: np.random.Generator):
        if not dwell_s > 0.0:
            raise ValueError("dwell_s must be positive")
        self.cue = cue
        self.camera = camera
        self.config = config
        self.dwell_s = float(dwell_s)
        self.rng = rng
        self.plan = None
        self.stage = 0
        self.stages_planned = 0
        self.tile: int | None = None
        self.since_s: float | None = None
        self._nominal = None
        self._nominal_t_s = 0.0

    def attitude(self, t_s: float, chaser, sun_N=None, exclusion_rad=0.0) -> np.ndarray:
        """C_CN (3x3) to command at t_s; advances the dwell, the tiles and the stages."""
        chaser = np.asarray(chaser, dtype=np.float64)
        if self.plan is None:
            self._plan_stage(t_s, chaser, 0)
        if self.since_s is None or t_s - self.since_s >= self.dwell_s:
            self._next_tile(t_s, chaser, sun_N, exclusion_rad)
        self._nominal = propagate(self._nominal, t_s - self._nominal_t_s)
        self._nominal_t_s = t_s
        return self.current(t_s, chaser, sun_N, exclusion_rad)

    def current(self, t_s: float, chaser, sun_N=None, exclusion_rad=0.0) -> np.ndarray:
        """C_CN of the current tile at t_s (no bookkeeping: also for a rate look-ahead)."""
        u0, e1, e2 = self._plane(t_s, chaser)
        if self.tile is not None:
            return tile_C_CN(u0, e1, e2, self.plan.tiles[self.tile])
        z = u0 if sun_N is None else clear_of_sun(u0, sun_N, exclusion_rad)
        x = e1 - (e1 @ z) * z
        x /= np.linalg.norm(x)
        return np.array([x, np.cross(z, x), z])

    def _plane(self, t_s, chaser):
        nominal = propagate(self._nominal, t_s - self._nominal_t_s)
        return line_of_sight_frame(nominal, np.asarray(chaser, dtype=np.float64))

    def _plan_stage(self, t_s, chaser, stage) -> None:
        self.plan = plan_search(self.cue, chaser, t_s, t_s, self.camera, self.rng, self.config, stage)
        self.stage = stage
        self.stages_planned += 1
        self.tile = None
        self._nominal = self.plan.nominal_target
        self._nominal_t_s = t_s

    def _clear(self, k, t_s, chaser, sun_N, exclusion_rad) -> bool:
        if sun_N is None:
            return True
        u0, e1, e2 = self._plane(t_s, chaser)
        boresight = tile_C_CN(u0, e1, e2, self.plan.tiles[k])[2]
        return float(boresight @ sun_N) <= np.cos(exclusion_rad)

    def _next_tile(self, t_s, chaser, sun_N, exclusion_rad) -> None:
        self.since_s = t_s
        start = 0 if self.tile is None else self.tile + 1
        for k in range(start, len(self.plan.tiles)):
            if self._clear(k, t_s, chaser, sun_N, exclusion_rad):
                self.tile = k
                return
        # the stage is done (or had nothing clear of the Sun): plan the next one
        self._plan_stage(t_s, chaser, (self.stage + 1) % (len(self.config.stages) + 1))
        self.since_s = t_s
        for k in range(len(self.plan.tiles)):
            if self._clear(k, t_s, chaser, sun_N, exclusion_rad):
                self.tile = k
                return
