"""Control: attitude pointing, and force/torque commands to thruster on-times."""
from flightsw.control.allocate import (
    AllocationError,
    AllocationResult,
    AllocationStatus,
    Allocator,
    InfeasibleAllocation,
    allocate,
    pulse_widths,
)
from flightsw.control.thrusters import ThrusterLayout, build_B, reference_layout

__all__ = [
    "AllocationError",
    "AllocationResult",
    "AllocationStatus",
    "Allocator",
    "InfeasibleAllocation",
    "ThrusterLayout",
    "allocate",
    "build_B",
    "pulse_widths",
    "reference_layout",
]
