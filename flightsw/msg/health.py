"""Health and runtime telemetry: what every app reports about itself, and the vehicle summary."""
import numpy as np

from flightsw.msg.codec import REASONS
from flightsw.msg.schema import Field, Message

_N_REASONS = len(REASONS)


U64_MAX = 2**64 - 1


def saturated(count) -> int:
    """A counter as a u64 field carries it: held at 2**64 - 1 rather than overflowing."""
    return min(int(count), U64_MAX)


class AppHealth(Message):
    """Counters of one app, published by the runtime on the app's behalf every reporting period.

    Everything here is a function of sim time and message content, so two runs of the same
    scenario and seed report the same values (timing lives in AppTiming). Counters saturate at
    2**64 - 1.
    """

    TOPIC = "health.app"
    VERSION = 2
    FIELDS = (
        Field.text("app", "name of the reporting app", max_len=32),
        Field.u64("boot", "count", "incarnation of the app process (0 = first start)"),
        Field.u64("steps", "count", "steps taken since boot"),
        Field.u64("inputs_accepted", "count", "messages decoded and delivered to the app"),
        Field.vec("inputs_rejected", "count", f"rejected inputs per reason {REASONS}",
                  _N_REASONS, lo=0),
        Field.u64("inputs_refused", "count", "inputs decoded and delivered that the app refused "
                  "on their content (its own checks: a non-unit quaternion, a time out of range)"),
        Field.u64("inputs_dropped", "count", "messages lost on the bus before decode (gaps, HWM)"),
        Field.u64("outputs_rejected", "count", "messages the app produced that broke contract"),
        Field.u64("outputs_dropped", "count", "messages the transport could not queue (HWM)"),
        Field.u64("step_faults", "count", "steps that raised an exception"),
        Field.text("last_error", "last rejection or fault, for the operator", max_len=200),
    )


class AppTiming(Message):
    """Wall-clock step timing of one app since its previous report (not deterministic)."""

    TOPIC = "health.app_timing"
    VERSION = 1
    WALL_CLOCK = True
    FIELDS = (
        Field.text("app", "name of the reporting app", max_len=32),
        Field.u64("steps", "count", "steps in this reporting window"),
        Field.f64("step_median_us", "us", "median wall time of a step", lo=0.0),
        Field.f64("step_p99_us", "us", "99th percentile wall time of a step", lo=0.0),
        Field.f64("step_max_us", "us", "longest step", lo=0.0),
        Field.u64("deadline_misses", "count", "steps longer than the app's deadline, cumulative"),
    )


class HealthStatus(Message):
    """The health app's vehicle summary: which apps are alive, and totals of their counters."""

    TOPIC = "health.status"
    VERSION = 1
    FIELDS = (
        Field.u64("apps_expected", "count", "apps the health app monitors"),
        Field.u64("apps_alive", "count", "apps whose health report arrived within its timeout"),
        Field.text("stale_apps", "comma-separated names of apps gone quiet", max_len=200),
        Field.u64("restarts", "count", "app reboots seen (boot counter increments)"),
        Field.u64("inputs_rejected", "count", "inputs rejected at decode or refused by their app, "
                  "all apps"),
        Field.u64("inputs_dropped", "count", "bus losses, all apps"),
        Field.u64("outputs_rejected", "count", "contract-breaking outputs, all apps"),
        Field.u64("step_faults", "count", "app step exceptions, all apps"),
        Field.text("mode", "vehicle health mode", choices=("nominal", "degraded", "fault")),
    )


def mask_bits(mask: int, n: int):
    """The n booleans of a bitmask field (bit i -> element i), as a numpy array."""
    return (int(mask) >> np.arange(n)) & 1 == 1


FDIR_SENSORS = ("gnss", "gyro", "star_tracker", "rangefinder", "camera")
FDIR_RESPONSES = ("none", "hold", "safe", "abort")


class FdirStatus(Message):
    """Fault detection, isolation and recovery: what is isolated, and the response in force.

    The consumers act on it: control allocates without the failed thrusters and closes the
    latches; navigation leaves out the sensors excluded; guidance's mission manager holds
    (no transition, no burn), goes to safe, or aborts (safe with a collision-avoidance
    manoeuvre) while ``response`` asks it to.
    """

    TOPIC = "health.fdir"
    VERSION = 1
    FIELDS = (
        Field.u64("thrusters_failed", "bitmask", "bit i: thruster i declared failed (not "
                  "allocated)", hi=(1 << 12) - 1),
        Field.u64("latches_closed", "bitmask", "bit i: thruster i isolated by its latch valve",
                  hi=(1 << 12) - 1),
        Field.u64("sensors_excluded", "bitmask", f"bit i: sensor {FDIR_SENSORS}[i] not to be "
                  "used (frozen or dropped out)", hi=(1 << len(FDIR_SENSORS)) - 1),
        Field.text("response", "response the vehicle must take", choices=FDIR_RESPONSES),
        Field.u64("faults_declared", "count", "faults declared since boot"),
        Field.text("active", "the faults in force, for the operator", max_len=200),
    )


class FdirEvent(Message):
    """One FDIR decision: a fault declared (or cleared) and the response taken."""

    TOPIC = "health.fdir_event"
    VERSION = 1
    FIELDS = (
        Field.text("fault", "what was found", max_len=32),
        Field.text("subject", "the unit concerned (thruster 3, gyro, nav, app name)", max_len=32),
        Field.text("response", "what FDIR did about it", max_len=64),
        Field.text("detail", "the evidence, for the operator", max_len=200),
    )


class DeadlineStatus(Message):
    """The health app's view of the apps' missed deadlines (wall clock, so apart from the
    deterministic FDIR decisions): the apps whose steps overran since the previous report."""

    TOPIC = "health.deadlines"
    VERSION = 1
    WALL_CLOCK = True
    FIELDS = (
        Field.u64("misses", "count", "deadline misses of all apps, cumulative"),
        Field.u64("new_misses", "count", "misses since the previous report"),
        Field.text("apps_overrunning", "apps that missed a deadline since the previous report, "
                   "with their counts", max_len=200),
    )
