"""The App: the unit of flight software.

An app declares its whole face at the top of its class, before any behaviour::

    class HealthApp(App):
        "Watches every app's health report; flags apps gone quiet."
        SUBSCRIBES = (AppHealth,)
        PUBLISHES = (HealthStatus,)
        RATE_HZ = 1.0
        PARAMS = {"stale_after_s": Param(3.0, "s", "report age that marks an app stale", lo=0.1)}

and implements ``step(t_ns, inbox) -> list[Message]``: no hidden I/O, no wall
clock, no globals. Messages published at one step are delivered to subscribers
from their next step on (a major-frame bus: the same in-process and over
ZeroMQ, which is what makes the two topologies produce identical streams).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, ClassVar, Iterator

import numpy as np

from flightsw.msg import Envelope, Message

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class Param:
    """A configuration parameter of an app: default, unit, meaning and allowed range."""

    default: Any
    unit: str
    doc: str
    lo: float | None = None
    hi: float | None = None

    def check(self, app: str, name: str, value: Any) -> Any:
        if isinstance(self.default, (int, float)) and not isinstance(self.default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{app}: parameter {name} must be a number ({self.unit})")
            if not np.isfinite(value):
                raise ValueError(f"{app}: parameter {name} must be finite")
            if self.lo is not None and value < self.lo or self.hi is not None and value > self.hi:
                raise ValueError(
                    f"{app}: parameter {name}={value} {self.unit} outside [{self.lo}, {self.hi}]"
                )
        elif not isinstance(value, type(self.default)):
            raise ValueError(f"{app}: parameter {name} must be {type(self.default).__name__}")
        return value


class Inbox:
    """The messages delivered to one step, in a fixed order (t_ns, source, topic, seq)."""

    def __init__(self, received: list[tuple[Envelope, Message]]):
        self._received = received

    def __iter__(self) -> Iterator[tuple[Envelope, Message]]:
        return iter(self._received)

    def __len__(self) -> int:
        return len(self._received)

    def all(self, cls: type[Message]) -> list[tuple[Envelope, Message]]:
        return [(e, m) for e, m in self._received if type(m) is cls]

    def latest(self, cls: type[Message]) -> tuple[Envelope, Message] | None:
        for e, m in reversed(self._received):
            if type(m) is cls:
                return e, m
        return None


def app_seed(scenario_seed: int, app_name: str) -> np.random.SeedSequence:
    """The seed of one app's generator: the scenario seed, keyed by the app's name."""
    return np.random.SeedSequence(entropy=scenario_seed, spawn_key=(zlib.crc32(app_name.encode()),))


class App:
    """Base class of every app (flight apps and plant apps alike)."""

    SUBSCRIBES: ClassVar[tuple[type[Message], ...]] = ()
    PUBLISHES: ClassVar[tuple[type[Message], ...]] = ()
    RATE_HZ: ClassVar[float] = 1.0
    PARAMS: ClassVar[dict[str, Param]] = {}
    # Inputs the decoder passed and the app refused on their content (a non-unit quaternion,
    # a time out of range...): an app counts them here, the runtime reports them in
    # health.app (inputs_refused). Bad input is refused and counted, never acted upon.
    rejected: int = 0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("flightsw."):
            truth = [m.__name__ for m in cls.SUBSCRIBES if m.TRUTH]
            if truth:
                raise TypeError(f"flight app {cls.__name__} may not subscribe to truth: {truth}")
        if not cls.RATE_HZ > 0:
            raise TypeError(f"{cls.__name__}: RATE_HZ must be positive")

    def __init__(self, name: str, params: dict[str, Any] | None = None, seed: int = 0,
                 rate_hz: float | None = None):
        params = dict(params or {})
        unknown = params.keys() - self.PARAMS.keys()
        if unknown:
            raise ValueError(f"{name}: unknown parameters {sorted(unknown)}")
        values = {k: p.check(name, k, params.get(k, p.default)) for k, p in self.PARAMS.items()}
        rate = self.RATE_HZ if rate_hz is None else rate_hz
        if not rate > 0:
            raise ValueError(f"{name}: rate must be positive")
        self.name = name
        self.p = SimpleNamespace(**values)
        self.period_ns = int(round(NS_PER_S / rate))
        self.seed = seed
        self.rng = np.random.default_rng(app_seed(seed, name))

    def stream(self, purpose: str) -> np.random.Generator:
        """An independent generator for one purpose of this app (e.g. one sensor's noise).

        Keyed by scenario seed, app name and purpose, so adding a consumer of random numbers
        does not change the draws of any other.
        """
        key = (zlib.crc32(self.name.encode()), zlib.crc32(purpose.encode()))
        return np.random.default_rng(np.random.SeedSequence(entropy=self.seed, spawn_key=key))

    def refusing(self, handler, *args) -> str:
        """``handler(*args)``, the handler of one input; '' if it took the input, else why it
        refused it (it raised ValueError), and the refusal is counted in ``rejected``."""
        try:
            handler(*args)
        except ValueError as exc:
            self.rejected += 1
            return str(exc) or type(exc).__name__
        return ""

    def reset(self) -> None:
        """Return to the state at boot. Called once before the first step."""

    def step(self, t_ns: int, inbox: Inbox) -> list[Message]:
        raise NotImplementedError

    # The wire at the app's edges: unchanged for flight apps. An emulator of hardware (the
    # plant) overrides these to model its interface's link faults on the encoded bytes, so
    # that what a fault does reaches the other side's decoder as it would on a real link.
    def incoming(self, t_ns: int, raw: list) -> list:
        """The wire frames that reach the decoder at the step at ``t_ns``, given those the
        bus delivered (called at every step, with none too)."""
        return raw

    def outgoing(self, t_ns: int, wire: list) -> list:
        """The wire frames put on the bus at the step at ``t_ns``, given the encoded outputs
        of the step (called at every step, with none too; not the runtime's reports)."""
        return wire
