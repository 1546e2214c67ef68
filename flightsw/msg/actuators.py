"""Commands from the flight software to the actuators' interfaces."""
from flightsw.msg.schema import Field, Message

N_THRUSTERS = 12
N_WHEELS = 4


class ThrusterCommand(Message):
    """Valve on-times for the next control period, one per thruster of the RCS."""

    TOPIC = "act.thrusters"
    VERSION = 1
    FIELDS = (
        Field.u64("t_start_ns", "ns", "sim time the firing window opens"),
        Field.vec("on_time_s", "s", f"on-time of each of the {N_THRUSTERS} valves in the window",
                  N_THRUSTERS, lo=0.0, hi=10.0),
    )


class LatchValveCommand(Message):
    """The state of the latch valve upstream of each thruster's valve: a closed latch stops
    its thruster whatever its valve does (a valve stuck open is isolated by closing it).
    Held by the valve drive until the next command."""

    TOPIC = "act.latch_valves"
    VERSION = 1
    FIELDS = (
        Field.u64("closed_mask", "bitmask", f"bit i set: the latch of thruster i (0..{N_THRUSTERS - 1}) "
                  "closed", hi=(1 << N_THRUSTERS) - 1),
    )


class WheelTorqueCommand(Message):
    """Motor torque for each reaction wheel, held until the next command."""

    TOPIC = "act.wheels"
    VERSION = 1
    FIELDS = (
        Field.vec("torque_Nm", "N m", f"motor torque of each of the {N_WHEELS} wheels",
                  N_WHEELS, lo=-1.0, hi=1.0),
    )


class CameraCommand(Message):
    """The imaging cadence: one frame every period_s of sim time, on whole multiples of it."""

    TOPIC = "act.camera"
    VERSION = 1
    FIELDS = (
        Field.f64("period_s", "s", "time between frames", lo=0.1, hi=3600.0),
    )


class ExposureCommand(Message):
    """The camera's integration time from the next frame on (detect's exposure control);
    the camera clamps it to its own limits and reports what it used in each CameraFrame."""

    TOPIC = "act.camera.exposure"
    VERSION = 1
    FIELDS = (
        Field.f64("exposure_s", "s", "integration time of the following frames", lo=1e-6, hi=10.0),
    )
