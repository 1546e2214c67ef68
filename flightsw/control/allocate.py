"""Thruster allocation: body force/torque command -> thrusts -> valve on-times.

The allocation problem, for a 6 x N force/torque matrix B (rows force x, y, z in N and
torque x, y, z in N m about the centre of mass, body frame; see thrusters.build_B):

    minimise   sum(u)                   total thrust, i.e. propellant flow
    subject to B u = wrench             the commanded force and torque
               0 <= u <= u_max          u_max_j = 0 for a thruster failed off

is a linear program, solved onboard by the compiled two-phase bounded-variable simplex
in ``_allocate.pyx``. When the wrench is outside what the thrusters can produce, the
solver returns the closest achievable wrench instead: the one minimising the weighted
L1 error sum_i W_i |wrench_i - (B u)_i| within the bounds (the phase-1 optimum), with
the least total thrust among the u that reach it.

How the outcome reaches the caller:

* ``Allocator(B, u_max).solve(wrench)`` is what a control loop keeps and calls. It
  never raises for an unreachable wrench: it returns an ``AllocationResult`` whose
  ``status`` says OPTIMAL or INFEASIBLE (or, for a defect, ITERATION_LIMIT or
  NUMERICAL_FAILURE) and whose ``u`` is always within bounds and safe to command.
* ``allocate(B, wrench, u_max)`` is the one-shot form and returns the thrusts ``u``
  only when the wrench is met. It raises ``InfeasibleAllocation`` otherwise, which
  carries ``.u`` and ``.achievable_wrench`` (the closest achievable wrench), and
  ``AllocationError`` if the solver failed.
* Malformed inputs (shapes, non-finite values, negative bounds) raise ValueError at
  the boundary, in both forms.

``allocate_reference`` is the plain numpy twin of the compiled kernel, kept for the
tests. ``pulse_widths`` turns the thrusts into valve on-times per control period.
"""
import enum
from dataclasses import dataclass

import numpy as np

from flightsw.native import require

_allocate = require("flightsw.control._allocate")

WRENCH_SIZE = 6


class AllocationStatus(enum.IntEnum):
    """Outcome of one allocation; the values are the kernel's status codes."""

    OPTIMAL = _allocate.OPTIMAL
    INFEASIBLE = _allocate.INFEASIBLE
    ITERATION_LIMIT = _allocate.ITERATION_LIMIT
    NUMERICAL_FAILURE = _allocate.NUMERICAL_FAILURE


@dataclass(frozen=True)
class AllocationResult:
    """One allocation.

    status; u (N,) thrusts in N, always within [0, u_max]; objective = sum(u) in N;
    iterations, simplex steps taken; achievable_wrench = B u (force N, torque N m);
    wrench_error = wrench - B u; wrench_error_l1 = sum_i W_i |wrench_error_i|, the
    weighted L1 error that the INFEASIBLE case minimises.
    """

    status: AllocationStatus
    u: np.ndarray
    objective: float
    iterations: int
    achievable_wrench: np.ndarray
    wrench_error: np.ndarray
    wrench_error_l1: float

    @property
    def optimal(self) -> bool:
        return self.status == AllocationStatus.OPTIMAL


class AllocationError(Exception):
    """The allocation did not produce the commanded wrench; ``.result`` says what it did."""

    def __init__(self, message: str, result: AllocationResult):
        super().__init__(message)
        self.result = result


class InfeasibleAllocation(AllocationError):
    """The wrench is outside the achievable set of the thrusters.

    ``.achievable_wrench`` is the closest achievable wrench (weighted L1) and ``.u``
    the least-thrust allocation that produces it.
    """

    @property
    def u(self) -> np.ndarray:
        return self.result.u

    @property
    def achievable_wrench(self) -> np.ndarray:
        return self.result.achievable_wrench


def _validated_geometry(B, u_max, wrench_weights):
    B = np.array(B, dtype=np.float64, order="C")
    if B.ndim != 2 or B.shape[0] != WRENCH_SIZE or B.shape[1] == 0:
        raise ValueError(f"B must have shape (6, N) with N >= 1, got {B.shape}")
    if not np.isfinite(B).all():
        raise ValueError("B must be finite")
    u_max = _validated_bounds(u_max, B.shape[1])
    if wrench_weights is None:
        wrench_weights = np.ones(WRENCH_SIZE)
    wrench_weights = np.array(wrench_weights, dtype=np.float64)
    if wrench_weights.shape != (WRENCH_SIZE,):
        raise ValueError(f"wrench_weights must have shape (6,), got {wrench_weights.shape}")
    if not (np.isfinite(wrench_weights).all() and (wrench_weights > 0.0).all()):
        raise ValueError("wrench_weights must be finite and positive")
    return B, u_max, wrench_weights


def _validated_bounds(u_max, n_thrusters: int) -> np.ndarray:
    u_max = np.array(u_max, dtype=np.float64)
    if u_max.shape != (n_thrusters,):
        raise ValueError(f"u_max must have shape ({n_thrusters},), got {u_max.shape}")
    if not np.isfinite(u_max).all():
        raise ValueError("u_max must be finite")
    if (u_max < 0.0).any():
        raise ValueError("u_max must be >= 0 (0 marks a thruster failed off)")
    return u_max


def _validated_wrench(wrench) -> np.ndarray:
    wrench = np.array(wrench, dtype=np.float64)
    if wrench.shape != (WRENCH_SIZE,):
        raise ValueError(f"wrench must have shape (6,), got {wrench.shape}")
    if not np.isfinite(wrench).all():
        raise ValueError("wrench must be finite")
    return wrench


def _default_max_iterations(n_thrusters: int) -> int:
    # Several times the 5-60 steps seen on random geometries up to N = 24, low enough
    # to bound the frame time if something is wrong.
    return 50 + 10 * (n_thrusters + 2 * WRENCH_SIZE)


def _result(B, wrench, wrench_weights, status, u, objective, iterations) -> AllocationResult:
    achievable = B @ u
    error = wrench - achievable
    return AllocationResult(
        status=AllocationStatus(status),
        u=u,
        objective=float(objective),
        iterations=int(iterations),
        achievable_wrench=achievable,
        wrench_error=error,
        wrench_error_l1=float(wrench_weights @ np.abs(error)),
    )


class Allocator:
    """Thruster allocation for one geometry B, kept by a control loop between frames.

    B (6, N): force/torque matrix (thrusters.build_B); u_max (N,): thrust bounds in N,
    0 for a failed-off thruster; wrench_weights (6,): the weights W_i of the L1 wrench
    error minimised when a wrench cannot be met, per N for the force rows and per N m
    for the torque rows (default 1: a 1 N force error counts like a 1 N m torque error).
    """

    def __init__(self, B, u_max, wrench_weights=None, max_iterations=None):
        self.B, u_max, self.wrench_weights = _validated_geometry(B, u_max, wrench_weights)
        n = self.B.shape[1]
        if max_iterations is None:
            max_iterations = _default_max_iterations(n)
        self._kernel = _allocate.SimplexAllocator(
            self.B, u_max, self.wrench_weights, int(max_iterations)
        )

    @property
    def n_thrusters(self) -> int:
        return self.B.shape[1]

    def set_u_max(self, u_max):
        """Change the thrust bounds (N), e.g. when a thruster is declared failed."""
        self._kernel.set_u_max(_validated_bounds(u_max, self.n_thrusters))

    def solve(self, wrench) -> AllocationResult:
        """Allocate ``wrench`` (force N, torque N m, body frame); never raises if unreachable."""
        wrench = np.array(wrench, dtype=np.float64)
        if wrench.shape != (WRENCH_SIZE,):
            raise ValueError(f"wrench must have shape (6,), got {wrench.shape}")
        u = np.empty(self.n_thrusters)
        # The kernel rejects a non-finite wrench with a ValueError before solving.
        status = self._kernel.solve(wrench, u)
        kernel = self._kernel
        return _result(self.B, wrench, self.wrench_weights, status, u, kernel.objective, kernel.iterations)

    def solve_into(self, wrench, u_out) -> int:
        """Low-level entry for a hot loop: no copies, no result object.

        ``wrench`` (6,) and ``u_out`` (N,) must be C-contiguous float64 arrays (checked
        for shape and finiteness only). Writes the thrusts into ``u_out`` and returns the
        AllocationStatus code; ``iterations`` and ``objective`` describe this solve.
        """
        return self._kernel.solve(wrench, u_out)

    @property
    def iterations(self) -> int:
        return self._kernel.iterations

    @property
    def objective(self) -> float:
        return self._kernel.objective


def allocate(B, wrench, u_max, wrench_weights=None) -> np.ndarray:
    """Least-total-thrust u (N,) in N with B u = wrench and 0 <= u <= u_max.

    Raises InfeasibleAllocation (carrying the closest achievable wrench and the u that
    gives it) when no such u exists, and AllocationError if the solver fails. For a
    control loop that must always get a command, use Allocator.solve.
    """
    result = Allocator(B, u_max, wrench_weights).solve(wrench)
    if result.status == AllocationStatus.INFEASIBLE:
        raise InfeasibleAllocation(
            f"wrench not achievable: closest reachable has weighted L1 error "
            f"{result.wrench_error_l1:.6g} (achievable_wrench={result.achievable_wrench})",
            result,
        )
    if result.status != AllocationStatus.OPTIMAL:
        raise AllocationError(f"allocation failed: {result.status.name}", result)
    return result.u


def allocate_reference(B, wrench, u_max, wrench_weights=None, max_iterations=None):
    """Plain numpy twin of the compiled kernel (same phases, rules and tolerances).

    Slow; for the tests that check the compiled solver. Returns an AllocationResult.
    """
    B, u_max, wrench_weights = _validated_geometry(B, u_max, wrench_weights)
    wrench = _validated_wrench(wrench)
    n = B.shape[1]
    if max_iterations is None:
        max_iterations = _default_max_iterations(n)
    status, u, iterations = _ReferenceSimplex(B, wrench, u_max, wrench_weights, max_iterations).solve()
    return _result(B, wrench, wrench_weights, status, u, np.sum(u), iterations)


class _ReferenceSimplex:
    """The algorithm of _allocate.SimplexAllocator, written with whole-array numpy."""

    FEASIBLE_REACHED = -1

    def __init__(self, B, wrench, u_max, wrench_weights, max_iterations):
        tol = _allocate.TOLERANCES
        self.tol_pivot, self.tol_primal, self.tol_dual = tol["pivot"], tol["primal"], tol["dual"]
        self.tol_singular = tol["singular"]
        self.degenerate_run_for_bland = tol["degenerate_run_for_bland"]
        self.u_max = u_max
        self.active = np.flatnonzero(u_max > 0.0)
        na = self.active.size
        columns = B[:, self.active] * u_max[self.active]
        largest = np.max(np.abs(columns)) if na else 0.0
        scale = largest if largest > 0.0 else 1.0
        eye = np.eye(WRENCH_SIZE)
        self.A = np.hstack([columns / scale, eye, -eye])
        self.b = wrench / scale
        weight = wrench_weights / np.max(wrench_weights)
        self.cost_phase1 = np.concatenate([np.zeros(na), weight, weight])
        self.cost_phase2 = np.zeros(na + 2 * WRENCH_SIZE)
        if na:
            self.cost_phase2[:na] = u_max[self.active] / np.max(u_max[self.active])
        authority = np.max(weight @ np.abs(self.A[:, :na])) if na else 0.0
        self.tol_feasible = tol["feasibility_rtol"] * (weight @ np.abs(self.b) + authority)
        self.max_iterations = max_iterations
        self.iterations = 0

    def solve(self):
        na = self.active.size
        n_var = na + 2 * WRENCH_SIZE
        rows = np.arange(WRENCH_SIZE)
        sign = np.where(self.b >= 0.0, 1.0, -1.0)
        self.basis = np.where(sign > 0.0, na + rows, na + WRENCH_SIZE + rows)
        self.ub = np.concatenate([np.ones(na), np.full(2 * WRENCH_SIZE, np.inf)])
        self.at_upper = np.zeros(n_var, dtype=bool)
        self.move = np.ones(n_var)
        self.move[self.basis] = 0.0
        self.cost = self.cost_phase1.copy()
        self.beta = np.abs(self.b)
        self.T = sign[:, None] * self.A
        self.reduced_costs()

        outcome = self.run_phase(phase1=True)
        if outcome in (AllocationStatus.ITERATION_LIMIT, AllocationStatus.NUMERICAL_FAILURE):
            return self.finish(outcome)
        feasible = self.phase1_objective() <= self.tol_feasible
        if feasible:
            self.ub[na:] = 0.0
            self.move[na:] = 0.0
        else:
            self.move[-self.move * self.d < -self.tol_dual] = 0.0
        self.cost = self.cost_phase2.copy()
        self.reduced_costs()
        outcome = self.run_phase(phase1=False)
        if outcome in (AllocationStatus.ITERATION_LIMIT, AllocationStatus.NUMERICAL_FAILURE):
            return self.finish(outcome)
        return self.finish(AllocationStatus.OPTIMAL if feasible else AllocationStatus.INFEASIBLE)

    def run_phase(self, phase1):
        degenerate_run, bland, verified, values_fresh = 0, False, True, True
        while True:
            if phase1 and self.phase1_objective() <= self.tol_feasible:
                if values_fresh:
                    return self.FEASIBLE_REACHED
                if not self.refactor(tableau=False):
                    return AllocationStatus.NUMERICAL_FAILURE
                values_fresh = True
                continue
            q = self.price(bland)
            if q < 0:
                if verified:
                    return AllocationStatus.OPTIMAL
                if not self.refactor(tableau=True):
                    return AllocationStatus.NUMERICAL_FAILURE
                verified = values_fresh = True
                continue
            if self.iterations >= self.max_iterations:
                return AllocationStatus.ITERATION_LIMIT
            self.iterations += 1
            moved = self.step(q, bland)
            if moved is None:
                return AllocationStatus.NUMERICAL_FAILURE
            verified = values_fresh = False
            degenerate_run = 0 if moved else degenerate_run + 1
            bland = degenerate_run >= self.degenerate_run_for_bland

    def phase1_objective(self):
        return self.cost[self.basis] @ self.beta

    def price(self, bland):
        score = -self.move * self.d
        if bland:
            eligible = np.flatnonzero(score > self.tol_dual)
            return int(eligible[0]) if eligible.size else -1
        q = int(np.argmax(score))
        return q if score[q] > self.tol_dual else -1

    def step(self, q, bland):
        """Ratio test and update; True if the point moved, False if degenerate, None on a ray."""
        sigma = self.move[q]
        column = sigma * self.T[:, q]
        ub_basic = self.ub[self.basis]
        down = column > self.tol_pivot
        up = (column < -self.tol_pivot) & np.isfinite(ub_basic)
        blocking = down | up
        ratio = np.full(WRENCH_SIZE, np.inf)
        ratio[down] = self.beta[down] / column[down]
        ratio[up] = (ub_basic[up] - self.beta[up]) / -column[up]
        t_flip = self.ub[q]
        r, t = -1, t_flip
        if bland:
            for i in np.flatnonzero(blocking):
                ratio_i = max(ratio[i], 0.0)
                if ratio_i < t or (ratio_i == t and r >= 0 and self.basis[i] < self.basis[r]):
                    r, t = int(i), ratio_i
        else:
            relaxed = np.full(WRENCH_SIZE, np.inf)
            relaxed[down] = (self.beta[down] + self.tol_primal) / column[down]
            relaxed[up] = (ub_basic[up] - self.beta[up] + self.tol_primal) / -column[up]
            t_relaxed = min(t_flip, np.min(relaxed))
            candidates = blocking & (ratio <= t_relaxed)
            if np.any(candidates):
                r = int(np.argmax(np.where(candidates, np.abs(column), -1.0)))
                t = max(ratio[r], 0.0)
                if t_flip <= t:
                    r = -1
        if r < 0:
            if np.isinf(t_flip):
                return None
            self.beta -= t_flip * column
            self.at_upper[q] = not self.at_upper[q]
            self.move[q] = -sigma
            return True
        self.beta -= t * column
        leaving = self.basis[r]
        self.at_upper[leaving] = bool(up[r])
        self.move[leaving] = 0.0 if self.ub[leaving] == 0.0 else (-1.0 if up[r] else 1.0)
        self.beta[r] = self.ub[q] - t if self.at_upper[q] else t
        self.at_upper[q] = False
        self.move[q] = 0.0
        self.basis[r] = q
        self.pivot(r, q)
        return t > 0.0

    def pivot(self, r, q):
        row = self.T[r] / self.T[r, q]
        row[q] = 1.0
        factors = self.T[:, q].copy()
        factors[r] = 0.0
        self.T -= np.outer(factors, row)
        self.T[:, q] = 0.0
        self.T[r] = row
        self.d -= self.d[q] * row
        self.d[q] = 0.0

    def reduced_costs(self):
        self.d = self.cost - self.cost[self.basis] @ self.T

    def refactor(self, tableau):
        basis_matrix = self.A[:, self.basis]
        singular_values = np.linalg.svd(basis_matrix, compute_uv=False)
        if singular_values[-1] <= self.tol_singular * singular_values[0]:
            return False
        rhs = self.b - self.A[:, self.at_upper] @ self.ub[self.at_upper]
        self.beta = np.linalg.solve(basis_matrix, rhs)
        if tableau:
            self.T = np.linalg.solve(basis_matrix, self.A)
            self.T[:, self.basis] = np.eye(WRENCH_SIZE)
            self.reduced_costs()
        return True

    def finish(self, status):
        na = self.active.size
        v = np.where(self.at_upper[:na], 1.0, 0.0)
        basic_thrusters = self.basis < na
        v[self.basis[basic_thrusters]] = np.clip(self.beta[basic_thrusters], 0.0, 1.0)
        u = np.zeros(self.u_max.shape)
        u[self.active] = v * self.u_max[self.active]
        return int(status), u, self.iterations


def pulse_widths(u_N, u_nominal_N, period_s, min_on_s, quantum_s, carry_Ns):
    """Valve on-times for one control period from thrust commands, with error feedback.

    u_N (N,) commanded mean thrusts over the period (N, >= 0); u_nominal_N thrust of an
    open valve (N, scalar or (N,)); period_s control period; min_on_s minimum on-time
    (the minimum impulse bit divided by the nominal thrust); quantum_s valve-driver
    timing resolution; carry_Ns (N,) impulse not yet delivered from earlier periods
    (N s; start from zeros). Returns (on_times_s (N,), carry_Ns (N,)).

    Each valve's demanded impulse is its command times the period plus the carry. The
    on-time is that impulse over the nominal thrust, rounded to the nearest whole
    quantum; a demand shorter than the minimum on-time (itself rounded up to whole
    quanta) becomes zero or the minimum on-time, whichever is nearer; and no on-time
    exceeds the whole quanta in a period. The impulse demanded but not delivered is
    carried to the next period (first-order sigma-delta, i.e. error-feedback
    quantisation). While u_N <= u_nominal_N (1 - max(min on-time, quantum) / (2 period)),
    which leaves room in the period for the carry, the delivered impulse never lags or
    leads the commanded impulse by more than u_nominal * max(min on-time, quantum) / 2,
    so the average over many periods converges to the command. Demand beyond a
    full-period firing is dropped, not carried beyond half a quantum, so a saturated
    valve does not wind up.
    """
    u_N = np.array(u_N, dtype=np.float64)
    carry_Ns = np.array(carry_Ns, dtype=np.float64)
    u_nominal_N = np.broadcast_to(np.asarray(u_nominal_N, dtype=np.float64), u_N.shape)
    if u_N.ndim != 1 or carry_Ns.shape != u_N.shape:
        raise ValueError(f"u_N and carry_Ns must be 1-D of equal length, got {u_N.shape}, {carry_Ns.shape}")
    if not (np.all(np.isfinite(u_N)) and np.all(np.isfinite(carry_Ns))):
        raise ValueError("u_N and carry_Ns must be finite")
    if np.any(u_N < 0.0):
        raise ValueError("u_N must be >= 0 (thrusters only push)")
    if not np.all(np.isfinite(u_nominal_N) & (u_nominal_N > 0.0)):
        raise ValueError("u_nominal_N must be finite and positive")
    if not (np.isfinite(quantum_s) and quantum_s > 0.0):
        raise ValueError("quantum_s must be finite and positive")
    if not (np.isfinite(min_on_s) and min_on_s >= 0.0 and np.isfinite(period_s)):
        raise ValueError("min_on_s and period_s must be finite, min_on_s >= 0")

    # Whole quanta, with a relative guard so 0.010 / 0.001 counts as exactly 10.
    quanta_min = np.ceil(min_on_s / quantum_s - 1e-9)
    quanta_full = np.floor(period_s / quantum_s + 1e-9)
    if quanta_full < max(quanta_min, 1.0):
        raise ValueError("period_s must hold at least one quantum and the minimum on-time in whole quanta")
    demand_s = (u_N * period_s + carry_Ns) / u_nominal_N
    quanta = np.floor(demand_s / quantum_s + 0.5)
    quanta = np.where(2.0 * demand_s < quanta_min * quantum_s, 0.0, np.maximum(quanta, quanta_min))
    saturated = quanta > quanta_full
    quanta = np.minimum(quanta, quanta_full)
    on_times_s = quanta * quantum_s
    residual_s = demand_s - on_times_s
    residual_s = np.where(saturated, np.minimum(residual_s, 0.5 * quantum_s), residual_s)
    return on_times_s, residual_s * u_nominal_N
