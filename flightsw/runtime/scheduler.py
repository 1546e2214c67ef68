"""The deterministic in-process scheduler: every app in one process, no sockets."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from flightsw.bus.inproc import InProcBus
from flightsw.record import Recorder
from flightsw.runtime.runner import AppRunner
from flightsw.runtime.schedule import Schedule
from flightsw.runtime.topology import AppSpec, check_topology


class InProcessRun:
    """Runs a topology in one process, tick by tick, on the sim clock."""

    def __init__(self, specs: list[AppSpec], seed: int, run_dir: Path | None = None,
                 blobs_every: dict[str, int] | None = None):
        check_topology(specs)
        self.bus = InProcBus()
        self.runners: dict[str, AppRunner] = {}
        for spec in specs:
            app = spec.build(seed)
            self.runners[spec.name] = AppRunner(app, report_period_ns=spec.telemetry_period_ns)
            self.bus.attach(spec.name, [m.TOPIC for m in app.SUBSCRIBES])
        self.schedule = Schedule({n: r.app.period_ns for n, r in self.runners.items()})
        self.recorder = Recorder(run_dir, blobs_every) if run_dir is not None else None
        self.t_ns = 0

    def run(self, t_end_ns: int, on_tick: Callable[[int], None] | None = None) -> None:
        """Step every app released at or before ``t_end_ns``."""
        while (released := self.schedule.pop_due(t_end_ns)) is not None:
            t, due = released
            for name in due:
                runner = self.runners[name]
                for frames in runner.run_step(t, self.bus.take(name)):
                    self.bus.publish(frames)
            published = self.bus.deliver()
            if self.recorder is not None:
                self.recorder.write_tick(published)
            self.t_ns = t
            if on_tick is not None:
                on_tick(t)

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
