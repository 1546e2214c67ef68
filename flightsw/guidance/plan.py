"""A manoeuvre plan being flown: its burns in sim time, which were issued, what it predicts.

A planner returns impulses at times after its epoch, the estimate it was planned from
(maneuvers.Burn). The plan being flown keeps that epoch (sim time, ns), the chief and ROE it
started from, and how many of its burns have been issued. From them it predicts the ROE it
expects at a later time, the issued burns taken as flown: what the navigation's estimate is
compared against to decide a re-plan. And it restates its remaining burns against a newer
estimate, for the safety checks made before each burn.
"""
from dataclasses import dataclass

import numpy as np

from flightsw.guidance.maneuvers import Burn, predict_roe
from flightsw.guidance.roe import MeanOrbit
from flightsw.runtime.app import NS_PER_S


@dataclass
class ActivePlan:
    """name: what the plan does (its leg); epoch_ns: sim time of the estimate it was planned
    from; chief0, roe0: that estimate; burns: impulses, s after the epoch, in time order;
    t_end_s: when its goal is reached (s after the epoch); issued: burns already commanded;
    aim: the ROE it reaches at t_end_s, when it has one a correction can re-target (a hold)."""

    name: str
    epoch_ns: int
    chief0: MeanOrbit
    roe0: np.ndarray
    burns: tuple
    t_end_s: float
    issued: int = 0
    aim: np.ndarray | None = None

    def __post_init__(self):
        self.burns = tuple(sorted(self.burns, key=lambda b: b.t_s))

    def time_ns(self, t_s: float) -> int:
        """Sim time (ns) of t_s seconds after the epoch."""
        return self.epoch_ns + int(round(t_s * NS_PER_S))

    def seconds_after_epoch(self, t_ns: int) -> float:
        return (int(t_ns) - self.epoch_ns) / NS_PER_S

    @property
    def next_burn(self) -> Burn | None:
        return self.burns[self.issued] if self.issued < len(self.burns) else None

    @property
    def end_ns(self) -> int:
        return self.time_ns(self.t_end_s)

    @property
    def remaining_dv_m_s(self) -> float:
        return float(sum(b.dv_m_s for b in self.burns[self.issued:]))

    def flown(self, t_ns: int) -> bool:
        """Every burn issued and the goal time passed."""
        return self.next_burn is None and t_ns >= self.end_ns

    def predicted_roe(self, t_ns: int) -> np.ndarray:
        """ROE (6,) the plan expects at t_ns, its issued burns flown, the others not yet."""
        return predict_roe(self.chief0, self.roe0, self.burns[:self.issued],
                           [self.seconds_after_epoch(t_ns)])[:, 0]

    def deviation_m(self, t_ns: int, roe) -> float:
        """How far (m, a times the ROE difference) an estimate roe at t_ns is from the plan."""
        return float(self.chief0.a_m * np.linalg.norm(np.asarray(roe) - self.predicted_roe(t_ns)))

    def remaining_from(self, t_ns: int) -> tuple:
        """The burns still ahead of t_ns (a newer estimate's epoch), in seconds after it: those
        not issued and those issued but not yet flown; burns before t_ns are either in the
        estimate already or were missed."""
        shift = self.seconds_after_epoch(t_ns)
        return tuple(Burn(b.t_s - shift, b.dv_rtn) for b in self.burns if b.t_s > shift)

    def committed_from(self, t_ns: int) -> tuple:
        """The issued burns still ahead of t_ns, in seconds after it: what will fly unless
        cancelled (the rest of the plan is checked again before each is issued)."""
        shift = self.seconds_after_epoch(t_ns)
        return tuple(Burn(b.t_s - shift, b.dv_rtn) for b in self.burns[:self.issued]
                     if b.t_s > shift)

    def end_from(self, t_ns: int) -> float:
        """The goal time in seconds after t_ns."""
        return self.t_end_s - self.seconds_after_epoch(t_ns)
