"""Hosting of one app: decode its inputs, step it, encode its outputs, count everything.

The same AppRunner runs an app in the in-process scheduler and in its own
process over ZeroMQ, so both topologies apply identical validation, ordering
and health accounting.
"""
from __future__ import annotations

import time
import traceback
from collections import Counter


from flightsw.msg import (REASONS, AppHealth, AppTiming, Decoder, MessageError, encode,
                          saturated)
from flightsw.runtime.app import NS_PER_S, App, Inbox


EMPTY_INBOX = Inbox([])  # what most steps get; an Inbox has no way to be changed


def window_stats_us(step_ns: list[int]) -> tuple[float, float, float]:
    """Median, 99th percentile and maximum of a reporting window's step times (ns), in us;
    zeros for an empty window.

    The quantiles interpolate linearly between order statistics, as ``np.percentile``
    does by default, here on the sorted list: a window holds a few steps, and numpy's
    ``median`` and ``percentile`` cost some 70 us per report.
    """
    if not step_ns:
        return 0.0, 0.0, 0.0
    s = sorted(step_ns)
    return _quantile(s, 0.5) / 1e3, _quantile(s, 0.99) / 1e3, s[-1] / 1e3


def _quantile(s: list[int], q: float) -> float:
    pos = q * (len(s) - 1)
    i = int(pos)
    frac = pos - i
    if frac == 0.0:
        return float(s[i])
    return s[i] + (s[i + 1] - s[i]) * frac


class AppRunner:
    """Runs one app's steps and keeps its health counters.

    ``run_step(t_ns, raw)`` takes the wire frames delivered since the previous
    step and returns the wire frames the step produced (including the
    runtime's own health reports: at the first step at or after each multiple of
    ``report_period_ns`` of sim time, so that every app reports at the same instants
    whatever its rate).
    """

    def __init__(self, app: App, boot: int = 0, report_period_ns: int = NS_PER_S,
                 deadline_ns: int | None = None):
        if not report_period_ns > 0:
            raise ValueError(f"{app.name}: report period must be positive")
        self.app = app
        self.boot = boot
        self.report_period_ns = report_period_ns
        self.deadline_ns = app.period_ns if deadline_ns is None else deadline_ns
        self.topics = {m.TOPIC for m in app.SUBSCRIBES}
        self.publishes = set(app.PUBLISHES)
        self.decoder = Decoder(self.topics)
        self.steps = 0
        self.inputs_dropped = 0
        self.outputs_rejected = 0
        self.outputs_dropped = 0
        self.step_faults = 0
        self.deadline_misses = 0
        self.last_error = ""
        self._seq: Counter[str] = Counter()
        self._last_seq: dict[tuple[str, str], int] = {}
        self._step_ns: list[int] = []
        self._next_report_ns = 0
        app.reset()

    # -- inputs ----------------------------------------------------------------------
    def _decode_inputs(self, raw: list) -> list:
        if not raw:
            return []
        received = []
        for frames in raw:
            got = self.decoder(frames)
            if got is None:
                self.last_error = self.decoder.last_error
                continue
            self._count_gap(got[0])
            received.append(got)
        received.sort(key=lambda em: (em[0].t_ns, em[0].source, em[0].topic, em[0].seq))
        return received

    def _count_gap(self, env) -> None:
        key = (env.source, env.topic)
        last = self._last_seq.get(key)
        if last is not None and env.seq > last + 1:
            self.inputs_dropped += env.seq - last - 1
        self._last_seq[key] = env.seq

    # -- outputs ---------------------------------------------------------------------
    def _encode(self, msg, t_ns: int) -> list | None:
        cls = type(msg)
        try:
            frames = encode(msg, self._seq[cls.TOPIC], t_ns, self.app.name)
        except MessageError as exc:
            self.outputs_rejected += 1
            self.last_error = f"output {cls.TOPIC}: {exc}"[:200]
            return None
        self._seq[cls.TOPIC] += 1
        return frames

    def _encode_outputs(self, outputs, t_ns: int) -> list:
        wire = []
        for msg in outputs:
            if type(msg) not in self.publishes:
                self.outputs_rejected += 1
                self.last_error = f"undeclared output {type(msg).__name__}"[:200]
                continue
            frames = self._encode(msg, t_ns)
            if frames is not None:
                wire.append(frames)
        return wire

    # -- the step ----------------------------------------------------------------------
    def run_step(self, t_ns: int, raw: list) -> list:
        raw = self.app.incoming(t_ns, raw)
        inbox = Inbox(self._decode_inputs(raw)) if raw else EMPTY_INBOX
        t0 = time.perf_counter_ns()
        try:
            outputs = self.app.step(t_ns, inbox) or []
        except Exception as exc:
            outputs = []
            self.step_faults += 1
            self.last_error = f"step: {type(exc).__name__}: {exc}"[:200]
            tb = traceback.extract_tb(exc.__traceback__)
            if tb:
                self.last_error = f"{self.last_error} @{tb[-1].name}:{tb[-1].lineno}"[:200]
        dt = time.perf_counter_ns() - t0
        self._step_ns.append(dt)
        if dt > self.deadline_ns:
            self.deadline_misses += 1
        self.steps += 1
        wire = self.app.outgoing(t_ns, self._encode_outputs(outputs, t_ns) if outputs else [])
        if t_ns >= self._next_report_ns:
            wire.extend(self._reports(t_ns))
            self._next_report_ns = (t_ns // self.report_period_ns + 1) * self.report_period_ns
        return wire

    def _reports(self, t_ns: int) -> list:
        rejected = [float(self.decoder.rejected[r]) for r in REASONS]  # the vec's own type
        health = AppHealth(
            app=self.app.name, boot=saturated(self.boot), steps=saturated(self.steps),
            inputs_accepted=saturated(self.decoder.accepted), inputs_rejected=rejected,
            inputs_refused=saturated(self.app.rejected),
            inputs_dropped=saturated(self.inputs_dropped),
            outputs_rejected=saturated(self.outputs_rejected),
            outputs_dropped=saturated(self.outputs_dropped),
            step_faults=saturated(self.step_faults), last_error=self.last_error,
        )
        median_us, p99_us, max_us = window_stats_us(self._step_ns)
        timing = AppTiming(
            app=self.app.name, steps=saturated(len(self._step_ns)), step_median_us=median_us,
            step_p99_us=p99_us, step_max_us=max_us,
            deadline_misses=saturated(self.deadline_misses),
        )
        self._step_ns.clear()
        return [f for f in (self._encode(health, t_ns), self._encode(timing, t_ns)) if f]
