"""Message contracts of the vehicle: every message type is defined here, once.

``import flightsw.msg`` registers every type; the bus looks types up by topic.
"""
from flightsw.msg.codec import (
    REASONS,
    Decoder,
    Envelope,
    MessageError,
    decode,
    encode,
)
from flightsw.msg.health import (FDIR_RESPONSES, FDIR_SENSORS, AppHealth, AppTiming,
                                 DeadlineStatus, FdirEvent, FdirStatus, HealthStatus,
                                 mask_bits, saturated)
from flightsw.msg.registry import all_types, lookup
from flightsw.msg.schema import Field, Message, off_unit
from flightsw.msg.actuators import (CameraCommand, ExposureCommand, LatchValveCommand,
                                    ThrusterCommand, WheelTorqueCommand)
from flightsw.msg.control import BurnReport
from flightsw.msg.ground import GroundCommand, TargetCue
from flightsw.msg.guidance import (BurnCommand, GuidanceEvent, GuidanceMode, PlanReport,
                                   PointingCommand)
from flightsw.msg.sensors import (CameraFrame, GnssFix, GyroRate, RangefinderRange,
                                  StarTrackerAttitude, WheelSpeeds)
from flightsw.msg.detect import DetectHealth, TargetTrack
from flightsw.msg.nav import AttitudeEstimate, NavHealth, OrbitEstimate, RelativeState
from flightsw.msg.timing import TimeTone
from flightsw.msg.truth import TruthState

__all__ = [
    "REASONS", "Decoder", "Envelope", "MessageError", "decode", "encode",
    "AppHealth", "AppTiming", "HealthStatus", "CameraFrame", "TimeTone",
    "StarTrackerAttitude", "GyroRate", "GnssFix", "RangefinderRange",
    "ThrusterCommand", "WheelTorqueCommand", "TargetCue", "TruthState",
    "AttitudeEstimate", "TargetTrack", "DetectHealth", "OrbitEstimate", "RelativeState",
    "NavHealth", "GroundCommand", "BurnCommand", "GuidanceMode", "PointingCommand",
    "WheelSpeeds", "BurnReport", "PlanReport", "CameraCommand", "ExposureCommand", "GuidanceEvent",
    "FdirStatus", "FdirEvent", "DeadlineStatus", "mask_bits", "saturated", "FDIR_SENSORS", "FDIR_RESPONSES", "LatchValveCommand",
    "Field", "Message", "off_unit", "all_types", "lookup",
]
