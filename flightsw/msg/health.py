"""Health and runtime telemetry: what every app reports about itself, and the vehicle summary."""
from flightsw.msg.codec import REASONS
from flightsw.msg.schema import Field, Message

_N_REASONS = len(REASONS)


class AppHealth(Message):
    """Counters of one app, published by the runtime on the app's behalf every reporting period.

    Everything here is a function of sim time and message content, so two runs of the same
    scenario and seed report the same values (timing lives in AppTiming).
    """

    TOPIC = "health.app"
    VERSION = 1
    FIELDS = (
        Field.text("app", "name of the reporting app", max_len=32),
        Field.u64("boot", "count", "incarnation of the app process (0 = first start)"),
        Field.u64("steps", "count", "steps taken since boot"),
        Field.u64("inputs_accepted", "count", "messages decoded and delivered to the app"),
        Field.vec("inputs_rejected", "count", f"rejected inputs per reason {REASONS}",
                  _N_REASONS, lo=0),
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
        Field.u64("inputs_rejected", "count", "rejected inputs, all apps"),
        Field.u64("inputs_dropped", "count", "bus losses, all apps"),
        Field.u64("outputs_rejected", "count", "contract-breaking outputs, all apps"),
        Field.u64("step_faults", "count", "app step exceptions, all apps"),
        Field.text("mode", "vehicle health mode", choices=("nominal", "degraded", "fault")),
    )
