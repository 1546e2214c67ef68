"""What a run report reads: the recorded topics it needs (one pass over the recording) and the
mission settings of the scenario's guidance app."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flightsw.msg.guidance import PHASES
from flightsw.record import Recording
from hil.report.geometry import RelativeTruth

# Topics the report reads. Camera pixels are not loaded here: frames are read one by one at the
# offsets the plots pick (Recording.at).
TOPICS = ("guidance.mode", "guidance.burn", "guidance.plan", "guidance.event", "control.burn",
          "nav.relative", "detect.track", "sensor.camera.frame", "truth.state")

# The mission manager's coverage goal (flightsw.guidance.mission.COVERAGE_GOAL; the plant does
# not import flight code, a test holds the two equal).
COVERAGE_GOAL = 0.95


@dataclass(frozen=True)
class MissionSettings:
    """The guidance parameters the report judges a run by, as the scenario sets them (or the
    app's defaults): keep-out radius (m), largest useful incidence for coverage (deg), the
    frame the target holds its attitude in ("rtn" or "inertial")."""

    keepout_m: float = 50.0
    coverage_incidence_deg: float = 60.0
    target_attitude: str = "rtn"

    @classmethod
    def from_scenario(cls, scenario) -> "MissionSettings":
        """From the app of ``scenario`` that publishes guidance.mode; the defaults above if
        none does (a bench run without guidance)."""
        for spec in scenario.apps:
            app_cls = spec.app_class()
            if any(m.TOPIC == "guidance.mode" for m in app_cls.PUBLISHES):
                values = {}
                for name in ("keepout_m", "coverage_incidence_deg", "target_attitude"):
                    declared = app_cls.PARAMS.get(name)
                    default = declared.default if declared is not None else getattr(cls, name)
                    values[name] = spec.params.get(name, default)
                return cls(float(values["keepout_m"]), float(values["coverage_incidence_deg"]),
                           str(values["target_attitude"]))
        return cls()


@dataclass(frozen=True)
class PhaseTimeline:
    """The mission phase as the guidance.mode messages report it: at times t_ns (m,), the
    phase (m,). Before the first message the first phase is taken to hold."""

    t_ns: np.ndarray
    phase: np.ndarray

    def at(self, t_ns) -> np.ndarray:
        """Phase names (object array) at sim times t_ns; "" with no guidance.mode at all."""
        t = np.atleast_1d(np.asarray(t_ns, dtype=np.int64))
        if not len(self.t_ns):
            return np.full(len(t), "", dtype=object)
        k = np.clip(np.searchsorted(self.t_ns, t, side="right") - 1, 0, None)
        return self.phase[k]

    def transitions(self) -> list[tuple[int, str]]:
        """(t_ns, phase) at the first message and at every change of phase."""
        if not len(self.t_ns):
            return []
        change = np.flatnonzero(self.phase[1:] != self.phase[:-1]) + 1
        idx = np.concatenate([[0], change])
        return [(int(self.t_ns[i]), str(self.phase[i])) for i in idx]

    def entered_s(self) -> dict[str, float]:
        """Sim time (s) each phase was first entered, in mission order."""
        first: dict[str, float] = {}
        for t, ph in self.transitions():
            first.setdefault(ph, t / 1e9)
        return {ph: first[ph] for ph in PHASES if ph in first}


@dataclass(frozen=True)
class RunData:
    """The recorded topics of TOPICS (Recording.select columns, empty where not recorded),
    the truth relative state (None without truth.state) and the phase timeline."""

    recording: Recording
    topics: dict
    truth: RelativeTruth | None
    phases: PhaseTimeline

    @classmethod
    def load(cls, run_dir: Path) -> "RunData":
        rec = Recording(run_dir)
        cols = rec.select(TOPICS)
        truth = cols.get("truth.state")
        rel = RelativeTruth.from_truth(truth) if truth is not None and len(truth["t_ns"]) else None
        mode = cols.get("guidance.mode")
        phases = (PhaseTimeline(mode["t_ns"], mode["phase"]) if mode is not None
                  else PhaseTimeline(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)))
        return cls(rec, cols, rel, phases)

    def has(self, topic: str) -> bool:
        return topic in self.topics and len(self.topics[topic]["t_ns"]) > 0
