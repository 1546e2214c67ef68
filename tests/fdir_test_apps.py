"""A test stand-in for control: seeded random thruster pulses, wheels left alone.

It fires like attitude control and desaturation do (a few thrusters at a time, 10-60 ms
pulses) so the FDIR thruster test has commanded impulses to compare with the motion; it obeys
FDIR as control does (no pulses on thrusters declared failed, latches commanded).
"""
import numpy as np

from flightsw.msg import (FdirStatus, LatchValveCommand, ThrusterCommand, WheelTorqueCommand,
                          mask_bits)
from flightsw.runtime.app import App, Param


class Pulser(App):
    SUBSCRIBES = (FdirStatus,)
    PUBLISHES = (ThrusterCommand, WheelTorqueCommand, LatchValveCommand)
    RATE_HZ = 5.0
    PARAMS = {"p_fire": Param(0.4, "1", "chance a window fires", lo=0.0, hi=1.0)}

    def reset(self):
        self.gen = self.stream("pulses")
        self.failed = 0
        self.latched = 0

    def step(self, t_ns, inbox):
        got = inbox.latest(FdirStatus)
        out = []
        if got is not None:
            self.failed = int(got[1].thrusters_failed)
            if int(got[1].latches_closed) != self.latched:
                self.latched = int(got[1].latches_closed)
                out.append(LatchValveCommand(closed_mask=self.latched))
        on = np.zeros(12)
        if self.gen.random() < self.p.p_fire:
            k = self.gen.integers(1, 4)
            idx = self.gen.choice(12, size=k, replace=False)
            on[idx] = np.round(self.gen.uniform(0.01, 0.06, size=k), 3)
        on[mask_bits(self.failed, 12)] = 0.0
        if on.any():
            out.append(ThrusterCommand(t_start_ns=t_ns, on_time_s=on))
        out.append(WheelTorqueCommand(torque_Nm=np.zeros(4)))
        return out
