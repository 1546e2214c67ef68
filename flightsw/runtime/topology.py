"""A topology: which apps fly, with which parameters — the same for both ways of running."""
from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any

from flightsw.runtime.app import NS_PER_S, App


@dataclass(frozen=True)
class AppSpec:
    """One app instance: its name, its class as ``"module:Class"``, rate and parameters, and
    the sim-time period of the runtime's reports on its behalf (health.app,
    health.app_timing)."""

    name: str
    cls: str
    params: dict[str, Any] = field(default_factory=dict)
    rate_hz: float | None = None
    telemetry_period_s: float = 1.0

    def __post_init__(self):
        t = self.telemetry_period_s
        if (isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t)
                or not t * NS_PER_S >= 1):
            raise ValueError(f"app {self.name}: telemetry period must be a positive number "
                             f"of seconds, got {t!r}")

    @property
    def telemetry_period_ns(self) -> int:
        return int(round(self.telemetry_period_s * NS_PER_S))

    def app_class(self) -> type[App]:
        module, _, qualname = self.cls.partition(":")
        if not module or not qualname:
            raise ValueError(f"app {self.name}: class must be 'module:Class', got {self.cls!r}")
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        if not (isinstance(obj, type) and issubclass(obj, App)):
            raise ValueError(f"app {self.name}: {self.cls} is not an App")
        return obj

    def build(self, seed: int) -> App:
        return self.app_class()(self.name, self.params, seed=seed, rate_hz=self.rate_hz)


def check_topology(specs: list[AppSpec]) -> None:
    """Names unique and short, and every class loadable. (A subscription nobody publishes is
    allowed: inputs such as ground commands or actuator commands in an open-loop bench run
    may legitimately be silent.)"""
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate app names in {names}")
    for n in names:
        if not n or len(n) > 32 or not n.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"bad app name {n!r}")
    for s in specs:
        s.app_class()
