"""Fault detection and isolation: the monitors behind the health app's FDIR.

Each monitor is fed what the bus delivers and says, when polled, what it has found
(``Finding``). None of them looks at truth; each decides on the same messages the rest of the
vehicle sees, so the same scenario and seed give the same findings in either topology.

Sensors (``SensorMonitor``). A unit that, once heard from, delivers no valid sample for
``dropout_s`` has dropped out (a unit never heard from is the commissioning's to find: its
phase waits for a valid attitude, then times out to safe) (for the rangefinder, whose returns depend on the geometry, only silence counts). A unit
that repeats the same valid reading ``freeze_count`` times in a row is frozen: the noise of a
live sensor never repeats a reading exactly, while a hung unit's interface keeps re-sending its
last one. A dropped-out unit recovers at its next valid sample; a frozen one once
``recover_count`` valid samples in a row have changed.

Thrusters (``ThrusterMonitor``): the commanded against the observed motion, in angular
momentum. The vehicle's total angular momentum in the inertial frame, H_N = C_NB (J w + G h)
(body rate from the gyro, wheel momenta from the tachometers, attitude from navigation carried
to the sample on the gyro's rate), changes only by the thrusters' torque impulses (the
environment's torques, ~1e-5 N m, are below the noise over the seconds looked at). The monitor
integrates what the thrusters were commanded (the torque column of each thruster times its
commanded impulse, rotated to N at the window's attitude) and keeps the residual
e_k = H_N(t_k) - C(t_k) over the last ``window_s``: with every thruster healthy it is constant
(up to the gyro's noise and the thrusters' few per cent of build error). For each thruster i
two fault signatures are regressed against it: stuck off or degraded, e = h0 - a G_i^off(t)
with G_i^off the cumulative commanded impulse of thruster i; stuck on, e = h0 + a G_i^on(t)
with G_i^on the cumulative impulse of the valve open for the rest of every window. The best
fitting signature is declared when it explains the residual (a generalised likelihood ratio
above ``glr_threshold``), its size a is at least ``a_min`` (a build error of a few per cent is
not a fault), and the same signature has been the verdict ``confirm`` times in a row
(evaluations every ``eval_s``). a ~ 1 is stuck off (or stuck on); 0 < a < ``stuck_a`` is
degraded (thrust scale 1 - a). Two faults of one kind from one onset (two valves sticking
together) are fitted by pairs as well: their summed torque, fitted one thruster at a time,
looks like some third thruster's; a pair is the verdict when it explains the residual better
than the best single by more than the threshold, both its sizes are between ``a_min`` and
``PAIR_A_MAX``, and its two signatures are not near-collinear (``PAIR_CORR_MAX``). After a
declaration the declared thruster is taken out of the commanded model (its impulse is zero from then on: not allocated, or latched shut) and the
residual history restarts, so a second fault can be told from the first. A thruster declared
stuck off or degraded stays a suspect for stuck on until its latch is closed: it is commanded
nothing from then on, so a valve that sticks open later shows as its stuck-on signature alone
(left out of that fit, it was fitted as the other thrusters one after the other).

The twelve torque columns of the reference layout are pairwise distinct, but come in
antiparallel pairs (the two nozzles of one axis and sign on opposite clusters): a missing pulse
of one looks, in torque, like an extra one of the other. The time profile separates them: a
stuck-on valve pushes all the time, a stuck-off one only when it is commanded, and the fit
over the window sees the difference.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from scipy.linalg import cho_factor, cho_solve

from flightsw.control.attitude import dcm_from_quat, quat_rotated

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class Finding:
    """One change of a monitor's verdict."""

    fault: str                # e.g. "sensor_dropout", "sensor_recovered", "thruster_stuck_on"
    subject: str              # e.g. "gyro", "thruster 3"
    index: int | None = None  # thruster index, where there is one
    detail: str = ""


# -- sensors ------------------------------------------------------------------------------------
class SensorMonitor:
    """Dropout and freeze of one sensor (see the module docstring)."""

    def __init__(self, name: str, dropout_s: float | None, freeze_count: int | None,
                 recover_count: int = 3, silence_only: bool = False):
        self.name = name
        self.dropout_ns = None if dropout_s is None else int(dropout_s * NS_PER_S)
        self.freeze_count = freeze_count
        self.recover_count = recover_count
        self.silence_only = silence_only
        self.state = "ok"                      # "ok" | "dropout" | "freeze"
        self.started_ns: int | None = None
        self.last_seen_ns: int | None = None   # newest sample, valid or not
        self.last_valid_ns: int | None = None
        self.last_reading: bytes | None = None
        self.repeats = 0                       # consecutive valid samples equal to the last
        self.changes = 0                       # consecutive valid samples that changed
        self._findings: list[Finding] = []

    def sample(self, t_ns: int, valid: bool, reading: bytes) -> None:
        """One sample: its time, validity flag and reading (the bytes of its values)."""
        self.last_seen_ns = t_ns
        if not valid:
            self.changes = 0
            return
        self.last_valid_ns = t_ns
        same = reading == self.last_reading
        self.last_reading = reading
        self.repeats = self.repeats + 1 if same else 0
        self.changes = 0 if same else self.changes + 1
        if self.state == "dropout":
            self._set("ok", "sensor_recovered", "valid samples again")
        elif self.state == "freeze" and self.changes >= self.recover_count:
            self._set("ok", "sensor_recovered", f"{self.changes} changing samples")
        elif (self.state == "ok" and self.freeze_count is not None
              and self.repeats + 1 >= self.freeze_count):
            self._set("freeze", "sensor_freeze",
                      f"{self.repeats + 1} identical readings in a row")

    def poll(self, t_ns: int) -> list[Finding]:
        if self.started_ns is None:
            self.started_ns = t_ns
        if self.state == "ok" and self.dropout_ns is not None and self.last_seen_ns is not None:
            ref = self.last_seen_ns if self.silence_only else self.last_valid_ns
            since = self.started_ns if ref is None else ref
            if t_ns - since > self.dropout_ns:
                what = "no sample" if self.silence_only else "no valid sample"
                self._set("dropout", "sensor_dropout",
                          f"{what} for {(t_ns - since) / NS_PER_S:.1f} s")
        found, self._findings = self._findings, []
        return found

    def _set(self, state: str, fault: str, detail: str) -> None:
        self.state = state
        self.repeats = 0
        self._findings.append(Finding(fault, self.name, None, detail))


class CounterMonitor:
    """A sensor seen through another app's cumulative counters (the camera through detect's
    health): silent if the count of frames received stops growing for ``silence_s``; frozen when
    the count of frames refused as repeats grows."""

    def __init__(self, name: str, silence_s: float):
        self.name = name
        self.silence_ns = int(silence_s * NS_PER_S)
        self.state = "ok"
        self.count: int | None = None
        self.frozen: int | None = None
        self.grew_ns: int | None = None
        self._findings: list[Finding] = []

    def report(self, t_ns: int, received: int, frozen: int) -> None:
        if self.count is None or received > self.count:
            self.grew_ns = t_ns
            if self.state == "dropout":
                self._set("ok", "sensor_recovered", "frames again")
        if self.frozen is not None and frozen > self.frozen:
            if self.state != "freeze":
                self._set("freeze", "sensor_freeze", f"{frozen - self.frozen} repeated frames")
        elif self.state == "freeze" and self.count is not None and received > self.count \
                and frozen == self.frozen:
            self._set("ok", "sensor_recovered", "frames change again")
        self.count, self.frozen = received, frozen

    def poll(self, t_ns: int) -> list[Finding]:
        since = self.grew_ns
        if self.state == "ok" and since is not None and t_ns - since > self.silence_ns:
            self._set("dropout", "sensor_dropout",
                      f"no frame for {(t_ns - since) / NS_PER_S:.0f} s")
        found, self._findings = self._findings, []
        return found

    def _set(self, state, fault, detail):
        self.state = state
        self._findings.append(Finding(fault, self.name, None, detail))


# -- thrusters ----------------------------------------------------------------------------------
def null_solver(sigma2: float, beta2: float, Gb: np.ndarray):
    """X -> S^-1 X for the thruster test's null covariance S = sigma2 I + beta2 Gb Gb^T (Gb:
    (3K, N), the thrusters' build-error ramps), by the Woodbury identity
    S^-1 = (I - Gb (sigma2/beta2 I + Gb^T Gb)^-1 Gb^T) / sigma2: an N x N factorisation instead
    of a 3K x 3K one (at the long mission's 1 Hz, 20 s of 10 Hz gyro samples make 3K = 600: the
    direct solve took a third of the whole mission's time). Raises LinAlgError."""
    ratio = sigma2 / beta2 if beta2 > 0.0 else np.inf
    if not np.isfinite(ratio) or not Gb.any():
        return lambda X: X / sigma2
    c = cho_factor(ratio * np.eye(Gb.shape[1]) + Gb.T @ Gb)
    return lambda X: (X - Gb @ cho_solve(c, Gb.T @ X)) / sigma2


@dataclass(frozen=True)
class ThrusterModel:
    """What FDIR knows of the RCS and the body: the force/torque matrix B (6, N) per newton,
    the thrust of each thruster (N), the inertia J (3, 3), the wheel axes G (3, 4), and the
    firing window (s)."""

    B: np.ndarray
    thrust_N: np.ndarray
    J: np.ndarray
    G: np.ndarray
    window_s: float


class ThrusterMonitor:
    """Stuck-off, stuck-on and degraded thrusters from angular momentum (module docstring).

    Feed ``command`` with every thruster command (window start, on-times), ``attitude`` with
    navigation's estimates, ``sample`` with each gyro sample and the wheel momenta at it, then
    ``poll``.
    """

    ONSETS = 6

    def __init__(self, model: ThrusterModel, *, sigma_h_Nms: float = 1.5e-3,
                 build_fraction: float = 0.05, window_s: float = 4.0, eval_s: float = 0.5,
                 glr_threshold: float = 80.0, a_min: float = 0.3, stuck_a: float = 0.8,
                 confirm: int = 2, gyro_lag_s: float = 0.0, holdoff_s: float = 1.0,
                 actuation_delay_s: float = 0.1):
        self.m = model
        self.n = model.B.shape[1]
        self.torque_B = model.B[3:] * model.thrust_N      # (3, N): N m per thruster fully on
        self.sigma_h = sigma_h_Nms
        self.build_fraction = build_fraction
        self.window_ns = int(window_s * NS_PER_S)
        self.eval_ns = int(eval_s * NS_PER_S)
        self.glr_threshold = glr_threshold
        self.a_min, self.stuck_a, self.confirm = a_min, stuck_a, confirm
        self.gyro_lag_ns = int(gyro_lag_s * NS_PER_S)
        self.holdoff_ns = int(holdoff_s * NS_PER_S)
        self.delay_ns = int(actuation_delay_s * NS_PER_S)
        self.holdoff_until_ns = -1
        self.period_ns = int(round(model.window_s * NS_PER_S))
        self.out = np.zeros(self.n, dtype=bool)           # declared: no impulse from these
        self.latched = np.zeros(self.n, dtype=bool)       # declared stuck on: latched shut
        self.windows: dict[int, np.ndarray] = {}          # window start -> on-times (s)
        self.attitude: tuple[int, np.ndarray, np.ndarray] | None = None
        self.verdicts: deque = deque(maxlen=confirm)
        self._restart()

    def _restart(self) -> None:
        self.samples: deque = deque()          # (t_ns, H_N, C_N, G_off (N,3), G_on (N,3))
        self.C = np.zeros(3)                    # commanded torque impulse so far, N
        self.G_off = np.zeros((self.n, 3))      # cumulative commanded impulse of each thruster
        self.G_on = np.zeros((self.n, 3))       # cumulative impulse of each valve open the rest
        self.t_int_ns: int | None = None        # the models are integrated up to here
        self.next_eval_ns: int | None = None
        self.verdicts.clear()

    # -- inputs --
    def command(self, t_start_ns: int, on_time_s) -> None:
        self.windows[int(t_start_ns)] = np.asarray(on_time_s, dtype=np.float64).copy()

    def attitude_estimate(self, t_ns: int, q_BN, omega_B) -> None:
        self.attitude = (int(t_ns), np.asarray(q_BN, float), np.asarray(omega_B, float))

    def _C_NB(self, t_ns: int, omega_B) -> np.ndarray | None:
        if self.attitude is None:
            return None
        t_est, q, _ = self.attitude
        dt = (t_ns - t_est) / NS_PER_S
        if abs(dt) > 10.0:
            return None
        return dcm_from_quat(quat_rotated(q, omega_B, dt)).T

    def _integrate(self, t_ns: int, C_NB: np.ndarray) -> None:
        """Carry the commanded model and the fault regressors to t_ns. A command for the window
        opening at w opens each valve at w + the actuation delay for its on-time (the plant
        executes a command on receipt, a bus hop after it was sent)."""
        if self.t_int_ns is None:
            self.t_int_ns = t_ns
            return
        t, P, d = self.t_int_ns, self.period_ns, self.delay_ns
        tq_N = C_NB @ self.torque_B                          # (3, N)
        live = ~self.out
        zero = np.zeros(self.n)
        while t < t_ns:
            ws = ((t - d) // P) * P + d                      # this actuation window's start
            t1 = min(t_ns, ws + P)
            slice_s = (t1 - t) / NS_PER_S
            on = self.windows.get(ws - d)
            open_s = zero if on is None else np.clip(on - (t - ws) / NS_PER_S, 0.0, slice_s)
            self.C += tq_N @ (open_s * live)
            self.G_off += (tq_N * open_s).T
            self.G_on += (tq_N * (slice_s - open_s)).T
            t = t1
        self.t_int_ns = t_ns
        horizon = t_ns - 4 * self.window_ns
        for w in [w for w in self.windows if w < horizon]:
            del self.windows[w]

    def sample(self, t_meas_ns: int, omega_B, h_wheels) -> None:
        """One gyro sample (the rate at t_meas_ns less gyro_lag_s) and the wheel momenta
        (N m s) at it."""
        omega_B = np.asarray(omega_B, float)
        t_ns = int(t_meas_ns) - self.gyro_lag_ns
        C_NB = self._C_NB(t_ns, omega_B)
        if C_NB is None or (self.t_int_ns is not None and t_ns <= self.t_int_ns):
            return
        H_N = C_NB @ (self.m.J @ omega_B + self.m.G @ np.asarray(h_wheels, float))
        self._integrate(t_ns, C_NB)
        if t_ns < self.holdoff_until_ns:
            return
        self.samples.append((t_ns, H_N, self.C.copy(), self.G_off.copy(), self.G_on.copy()))
        while self.samples and self.samples[0][0] < t_ns - self.window_ns:
            self.samples.popleft()

    # -- the test --
    def evaluate(self) -> tuple[str, tuple[int, ...], tuple[float, ...], float] | None:
        """The best fault signature over the window: (kind, thrusters, their a, GLR), or None
        with the window too short. One thruster, or two of the same kind from the same onset
        when the pair explains the residual better than any one by more than the threshold
        (two valves that stick at once: their summed torque is fitted, one at a time, as some
        third thruster's)."""
        if len(self.samples) < 8:
            return None
        t = np.array([s[0] for s in self.samples])
        if t[-1] - t[0] < 0.75 * self.window_ns:
            return None
        e = np.array([s[1] - s[2] for s in self.samples])            # (K, 3)
        G_off = -np.array([s[3] for s in self.samples])               # (K, N, 3)
        G_on = np.array([s[4] for s in self.samples])
        K, N = G_off.shape[:2]
        e_c = (e - e.mean(axis=0)).reshape(-1)                         # (3K,), k-major
        if not e_c.any():
            return None

        def columns(G):                                                 # (K, N, 3) -> (3K, N)
            G = G - G.mean(axis=0)
            return G.transpose(0, 2, 1).reshape(3 * K, N)

        # the null hypothesis: the gyro's white noise, and each thruster's build error (its
        # thrust and pointing a few per cent off): a ramp along its own commanded impulse, of
        # a size ~N(0, build_fraction^2) -- over a sustained burn, the same shape as a small
        # fault, and treated as such rather than as white noise
        try:
            whiten = null_solver(self.sigma_h ** 2, self.build_fraction ** 2, columns(G_off))
        except np.linalg.LinAlgError:
            return None
        # the fault may have begun inside the window: its signature is the regressor's growth
        # from an onset, scanned over ONSETS points of the window's first three quarters
        onsets = np.unique(np.linspace(0, 3 * K // 4, self.ONSETS).astype(int))
        k = np.arange(K)[:, None, None]
        hyps, H = [], []
        for kind, Gm in (("off", G_off), ("on", G_on)):
            done = self.latched if kind == "on" else self.out
            for j in onsets:
                H.append(columns(np.where(k >= j, Gm - Gm[j], 0.0)))
                hyps += [(kind, i, bool(done[i])) for i in range(N)]
        H = np.hstack(H)                                                # (3K, hypotheses)
        SH = whiten(H)
        num = SH.T @ e_c
        den = np.einsum("ij,ij->j", H, SH)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(den > 1e-30, num / den, 0.0)
        live = np.array([not d for _, _, d in hyps])
        a = np.where(live & (a > 0.0), a, 0.0)
        glr = a * num                     # = num^2 / den: the whitened drop of the residual
        m = int(np.argmax(glr))
        best = (hyps[m][0], (hyps[m][1],), (float(a[m]),), float(glr[m]))
        pair = self._best_pair(H, SH, num, live, N)
        if pair is not None and pair[4] > best[3] + self.glr_threshold:
            p, q, a_p, a_q, g = pair
            return hyps[p][0], (hyps[p][1], hyps[q][1]), (a_p, a_q), g
        return best

    PAIR_A_MAX = 1.5          # a pair's sizes beyond this are a fit of noise, not two faults
    PAIR_CORR_MAX = 0.95      # nor are two signatures this alike (antiparallel nozzles' cancel)

    def _best_pair(self, H, SH, num, live, N):
        """The best two-thruster fit (p, q, a_p, a_q, GLR) over the hypotheses' blocks of one
        kind and onset (N each), from each block's whitened Gram matrix and projections num."""
        best = None
        iu, ju = np.triu_indices(N, 1)
        for b in range(0, H.shape[1], N):
            Mb, nb, lb = H[:, b:b + N].T @ SH[:, b:b + N], num[b:b + N], live[b:b + N]
            mpp, mqq, mpq = Mb[iu, iu], Mb[ju, ju], Mb[iu, ju]
            np_, nq = nb[iu], nb[ju]
            det = mpp * mqq - mpq ** 2
            ok = lb[iu] & lb[ju] & (det > (1.0 - self.PAIR_CORR_MAX ** 2) * mpp * mqq) \
                & (mpp > 1e-30) & (mqq > 1e-30)
            with np.errstate(divide="ignore", invalid="ignore"):
                a_p = np.where(ok, (mqq * np_ - mpq * nq) / det, 0.0)
                a_q = np.where(ok, (mpp * nq - mpq * np_) / det, 0.0)
            ok &= (a_p >= self.a_min) & (a_q >= self.a_min) \
                & (a_p <= self.PAIR_A_MAX) & (a_q <= self.PAIR_A_MAX)
            if not ok.any():
                continue
            g = np.where(ok, a_p * np_ + a_q * nq, -np.inf)
            m = int(np.argmax(g))
            if best is None or g[m] > best[4]:
                best = (b + iu[m], b + ju[m], float(a_p[m]), float(a_q[m]), float(g[m]))
        return best

    def poll(self, t_ns: int) -> list[Finding]:
        if self.next_eval_ns is None:
            self.next_eval_ns = t_ns + self.eval_ns
        if t_ns < self.next_eval_ns:
            return []
        self.next_eval_ns = t_ns + self.eval_ns
        best = self.evaluate()
        verdict = None
        if best is not None and best[3] > self.glr_threshold and min(best[2]) >= self.a_min:
            kind, which, sizes, glr = best
            verdict = tuple(("thruster_stuck_on" if kind == "on" else
                             "thruster_stuck_off" if a >= self.stuck_a else
                             "thruster_degraded", i) for i, a in zip(which, sizes))
        self.verdicts.append((verdict, best))
        if verdict is None or len(self.verdicts) < self.confirm \
                or any(v[0] != verdict for v in self.verdicts):
            return []
        _, _, sizes, glr = best
        found = []
        for (fault, i), a in zip(verdict, sizes):
            also = "".join(f", with thruster {j}" for _, j in verdict if j != i)
            detail = (f"torque residual fits thruster {i} "
                      f"{fault.split('_', 1)[1].replace('_', ' ')} (a = {a:.2f}, GLR {glr:.0f}, "
                      f"{self.confirm} evaluations{also})")
            if fault == "thruster_degraded":
                detail += f"; thrust ~{max(1.0 - a, 0.0):.2f} of nominal"
            self.out[i] = True
            self.latched[i] |= fault == "thruster_stuck_on"
            found.append(Finding(fault, f"thruster {i}", i, detail))
        self._restart()
        # the isolation takes a step or two to act (the latch closes at the plant's next
        # step): the residual history restarts after it
        self.holdoff_until_ns = t_ns + self.holdoff_ns
        return found

