"""Guidance outputs: the mission phase, attitude pointing and burn commands."""
from flightsw.msg.schema import Field, Message

PHASES = ("commission", "search", "far_approach", "mid_approach", "close_approach", "inspect",
          "depart", "safe")


class GuidanceMode(Message):
    """The mission manager's state."""

    TOPIC = "guidance.mode"
    VERSION = 1
    FIELDS = (
        Field.text("phase", "mission phase", choices=PHASES),
        Field.f64("time_in_phase_s", "s", "time since the phase was entered", lo=0.0),
        Field.boolean("held", "a hold is in force (the ground's HOLD, or FDIR's)"),
        Field.boolean("cam_requested", "a collision-avoidance manoeuvre is requested"),
        Field.u64("next_burn_t_ns", "ns", "sim time of the next planned burn (0: none)"),
        Field.f64("planned_dv_mps", "m/s", "delta-v of the current plan still to fly", lo=0.0),
        Field.f64("used_dv_mps", "m/s", "delta-v commanded since the start", lo=0.0),
    )


class PointingCommand(Message):
    """The attitude the controller must track: reference frame R w.r.t. ECI, and its rate."""

    TOPIC = "guidance.pointing"
    VERSION = 1
    FIELDS = (
        Field.vec("q_RN", "1", "reference attitude (body should align with R), scalar first", 4,
                  lo=-1.0, hi=1.0),
        Field.vec("omega_RN_R", "rad/s", "rate of R w.r.t. N, in R", 3, lo=-1.0, hi=1.0),
        Field.text("mode", "what is pointed at", choices=("target", "search", "inertial", "sun")),
    )


class BurnCommand(Message):
    """An impulsive manoeuvre to execute: delta-v in ECI, starting at a time."""

    TOPIC = "guidance.burn"
    VERSION = 1
    FIELDS = (
        Field.u64("burn_id", "count", "identifier, increasing"),
        Field.u64("t_start_ns", "ns", "sim time to start the burn"),
        Field.vec("dv_N", "m/s", "delta-v to impart, ECI J2000", 3, lo=-50.0, hi=50.0),
        Field.f64("duration_s", "s", "planned duration of the burn", lo=0.0, hi=3600.0),
    )


class PlanReport(Message):
    """A manoeuvre plan just made (a leg of the mission, or its re-plan), for the ground."""

    TOPIC = "guidance.plan"
    VERSION = 1
    FIELDS = (
        Field.text("leg", "what the plan does", choices=("phasing", "hold", "flyaround",
                                                          "departure")),
        Field.text("name", "the plan's name, e.g. 'transfer to the 1000 m hold'"),
        Field.u64("burns", "count", "impulses in the plan"),
        Field.f64("dv_mps", "m/s", "delta-v the plan needs", lo=0.0, hi=1e3),
        Field.f64("dv_lower_bound_mps", "m/s", "analytic lower bound of any transfer in the "
                  "same time (phasing only; 0 where none is computed)", lo=0.0, hi=1e3),
        Field.u64("t_end_ns", "ns", "sim time the plan reaches its goal"),
    )


class GuidanceEvent(Message):
    """A line of the mission manager's log: a phase entered and why, a plan made or refused,
    a re-plan and its reason, a burn withheld, a collision-avoidance decision, a ground
    command taken or refused. Texts longer than the field are cut, never dropped."""

    TOPIC = "guidance.event"
    VERSION = 1
    FIELDS = (
        Field.text("text", "what happened", max_len=200),
    )
