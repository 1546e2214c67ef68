"""Scenarios: TOML files naming the run, its seed and duration, and the apps that fly.

Format::

    [run]
    name = "runtime-check"      # the scenario's name
    seed = 1                    # every random draw of the run derives from it
    duration_s = 60.0           # sim time to run
    telemetry_period_s = 1.0    # optional (default 1 s): sim time between the runtime's
                                # reports on every app (health.app, health.app_timing)

    [[apps]]                    # one table per app, in any order
    name = "health"
    cls = "flightsw.health:HealthApp"
    rate_hz = 1.0               # optional: overrides the app's default rate
    params = { monitored = "timecard" }

    [plant]                     # optional: the HIL plant (see hil.plant.config); it runs
    ...                         # as the app named "plant"

    [record]
    blobs_every = { "sensor.camera.frame" = 10 }   # optional: keep every 10th frame's pixels
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from flightsw.runtime.topology import AppSpec

RUN_KEYS = {"name", "seed", "duration_s", "telemetry_period_s"}


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    duration_s: float
    apps: list[AppSpec]
    blobs_every: dict[str, int] = field(default_factory=dict)
    source: str = ""


def builtin_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("hil.scenarios").iterdir()
                  if p.name.endswith(".toml"))


def load(name_or_path: str) -> Scenario:
    """Load a built-in scenario by name, or a TOML file by path; validate it."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        text, source = path.read_text(), str(path)
    else:
        res = resources.files("hil.scenarios") / f"{name_or_path}.toml"
        if not res.is_file():
            raise ValueError(f"no scenario {name_or_path!r}; built-in: {builtin_names()}")
        text, source = res.read_text(), f"builtin:{name_or_path}"
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: not valid TOML: {exc}") from None
    return parse(doc, source)


def parse(doc: dict, source: str = "") -> Scenario:
    run = doc.get("run")
    if not isinstance(run, dict):
        raise ValueError(f"{source}: missing [run] table")
    unknown = set(doc) - {"run", "apps", "record", "plant"}
    if unknown:
        raise ValueError(f"{source}: unknown tables {sorted(unknown)}")
    unknown = set(run) - RUN_KEYS
    if unknown:
        raise ValueError(f"{source}: unknown keys in [run]: {sorted(unknown)}")
    name, seed, duration = run.get("name"), run.get("seed"), run.get("duration_s")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{source}: run.name must be a non-empty string")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"{source}: run.seed must be a non-negative integer")
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not duration > 0:
        raise ValueError(f"{source}: run.duration_s must be a positive number")
    telemetry = run.get("telemetry_period_s", 1.0)
    if (isinstance(telemetry, bool) or not isinstance(telemetry, (int, float))
            or not 1e-9 <= telemetry < math.inf):
        raise ValueError(f"{source}: run.telemetry_period_s must be a positive number of "
                         "seconds (at least 1 ns)")
    apps = []
    for i, a in enumerate(doc.get("apps", [])):
        if not isinstance(a, dict) or set(a) - {"name", "cls", "rate_hz", "params"}:
            raise ValueError(f"{source}: apps[{i}] must have name, cls, and optional "
                             "rate_hz, params")
        apps.append(AppSpec(a["name"], a["cls"], dict(a.get("params", {})), a.get("rate_hz"),
                            float(telemetry)))
    if "plant" in doc:
        if any(a.name == "plant" for a in apps):
            raise ValueError(f"{source}: the app name 'plant' is reserved for the [plant] table")
        apps.insert(0, AppSpec("plant", "hil.plant:Plant", {"config": doc["plant"]},
                               telemetry_period_s=float(telemetry)))
    if not apps:
        raise ValueError(f"{source}: no [[apps]]")
    blobs_every = dict(doc.get("record", {}).get("blobs_every", {}))
    return Scenario(name, seed, float(duration), apps, blobs_every, source)
