"""The health app: watches every app's health report and summarises the vehicle's health."""
from __future__ import annotations

from flightsw.msg import AppHealth, HealthStatus
from flightsw.runtime.app import NS_PER_S, App, Param


class HealthApp(App):
    """Flags apps whose reports stop, counts reboots, and totals every app's error counters.

    Mode: ``fault`` if a monitored app is stale, ``degraded`` if any app rebooted,
    faulted a step, or rejected or lost messages, else ``nominal``.
    """

    SUBSCRIBES = (AppHealth,)
    PUBLISHES = (HealthStatus,)
    RATE_HZ = 1.0
    PARAMS = {
        "monitored": Param("", "", "comma-separated names of the apps that must report"),
        "stale_after_s": Param(3.0, "s", "report age beyond which an app is stale", lo=0.1),
    }

    def reset(self) -> None:
        self.expected = sorted(filter(None, (n.strip() for n in self.p.monitored.split(","))))
        self.last_report_ns: dict[str, int] = {}
        self.last: dict[str, AppHealth] = {}
        self.restarts = 0

    def step(self, t_ns: int, inbox) -> list:
        for env, h in inbox.all(AppHealth):
            prev = self.last.get(h.app)
            if prev is not None and h.boot > prev.boot:
                self.restarts += h.boot - prev.boot
            self.last[h.app] = h
            self.last_report_ns[h.app] = env.t_ns
        stale_ns = int(self.p.stale_after_s * NS_PER_S)
        names = sorted(set(self.expected) | self.last.keys())
        # An app never heard from is stale once the grace period from boot is over.
        stale = [n for n in names
                 if t_ns - self.last_report_ns.get(n, 0) > stale_ns]
        totals = {k: sum(getattr(h, k) for h in self.last.values())
                  for k in ("inputs_dropped", "outputs_rejected", "step_faults")}
        rejected = int(sum(float(h.inputs_rejected.sum()) for h in self.last.values()))
        if stale:
            mode = "fault"
        elif self.restarts or rejected or any(totals.values()):
            mode = "degraded"
        else:
            mode = "nominal"
        return [HealthStatus(
            apps_expected=len(names), apps_alive=len(names) - len(stale),
            stale_apps=",".join(stale)[:200], restarts=self.restarts,
            inputs_rejected=rejected, mode=mode, **totals,
        )]
