# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Thruster allocation kernel: a bounded-variable, two-phase, dense-tableau simplex.

Solves, for one fixed 6 x N force/torque matrix B,

    minimise   sum_j u_j
    subject to B u = w,   0 <= u_j <= u_max_j

and, when no such u exists, the closest achievable wrench in the weighted L1 sense
followed by the least total thrust that achieves it.

Method: the two-phase simplex (Bertsimas & Tsitsiklis, *Introduction to Linear
Optimization*, 1997, section 3.5) with the upper-bounding technique (Dantzig, "Upper
bounds, secondary constraints, and block triangularity in linear programming",
Econometrica 23, 1955), Bland's rule (Bland, "New finite pivoting rules for the
simplex method", Math. Oper. Res. 2, 1977) and Harris' two-pass ratio test (Harris,
"Pivot selection methods of the Devex LP code", Math. Prog. 5, 1973):

* Phase 1 adds a pair of error columns per row, B u + e+ - e- = w with e+, e- >= 0
  and cost sum_i W_i (e+_i + e-_i). Its optimum is therefore the least weighted L1
  wrench error reachable within the bounds, and a zero optimum proves feasibility.
* Phase 2 minimises total thrust. When feasible, the error columns are fixed at zero.
  When infeasible, every nonbasic column with a nonzero phase-1 reduced cost is
  fixed at its bound: what remains is exactly the face of phase-1 optimal points,
  so phase 2 returns the least-thrust u among those reaching the closest wrench.
* Nonbasic variables sit at their lower (0) or upper bound; an entering column whose
  own bound is reached first flips without a pivot.
* Pricing is Dantzig's largest reduced cost; after a run of degenerate steps it
  switches to Bland's smallest-index rule (entering and leaving) until the objective
  moves again, which rules out cycling.
* Before a phase is declared optimal, the tableau, basic values and reduced costs are
  recomputed from the original data through an LU factorisation of the 6 x 6 basis,
  and pricing is repeated on the fresh numbers.

Columns are scaled by u_max (variables become v_j = u_j / u_max_j in [0, 1]) and by a
single wrench scale, so that the absolute tolerances below apply to O(1) numbers.
Every work array is carved from two blocks allocated once, when the solver is built
for a geometry; changing the bounds or solving allocates nothing.
"""
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.math cimport fabs, INFINITY, isfinite

cdef enum:
    M = 6

cdef enum VariableState:
    BASIC = 0
    AT_LOWER = 1
    AT_UPPER = 2

cdef enum SolveStatus:
    STATUS_OPTIMAL = 0
    STATUS_INFEASIBLE = 1
    STATUS_ITERATION_LIMIT = 2
    STATUS_NUMERICAL_FAILURE = 3

OPTIMAL = STATUS_OPTIMAL
INFEASIBLE = STATUS_INFEASIBLE
ITERATION_LIMIT = STATUS_ITERATION_LIMIT
NUMERICAL_FAILURE = STATUS_NUMERICAL_FAILURE

cdef enum PhaseOutcome:
    PHASE_OPTIMAL = 0
    PHASE_ITERATION_LIMIT = 2
    PHASE_NUMERICAL_FAILURE = 3
    PHASE_FEASIBLE_REACHED = 4

# Smallest tableau entry accepted as a pivot (scaled units).
cdef double TOL_PIVOT = 1e-9
# Harris relaxation of the bounds in the ratio test (scaled units). Kept well below
# FEASIBILITY_RTOL: basic thrusters may stray this far outside [0, u_max] and are
# clipped back at the end, which moves the produced wrench by as much.
cdef double TOL_PRIMAL = 1e-11
# Reduced costs within this of zero are treated as zero (costs normalised to <= 1).
cdef double TOL_DUAL = 1e-9
# Feasible when the weighted L1 wrench error is below this fraction of
# (|wrench| + largest single-thruster authority), both weighted L1.
cdef double FEASIBILITY_RTOL = 1e-9
# A basis whose LU pivot falls below this (relative to its largest entry) is singular.
cdef double TOL_SINGULAR = 1e-12
# Consecutive degenerate steps before Bland's rule takes over.
cdef int DEGENERATE_RUN_FOR_BLAND = 6

# The same numbers for the numpy reference implementation.
TOLERANCES = {
    "pivot": TOL_PIVOT,
    "primal": TOL_PRIMAL,
    "dual": TOL_DUAL,
    "feasibility_rtol": FEASIBILITY_RTOL,
    "singular": TOL_SINGULAR,
    "degenerate_run_for_bland": DEGENERATE_RUN_FOR_BLAND,
}


cdef class SimplexAllocator:
    """Allocation solver for one geometry B (6 x N) and bounds u_max (N,).

    ``solve(wrench, u_out)`` writes the allocation into ``u_out`` and returns a status
    code (OPTIMAL, INFEASIBLE, ITERATION_LIMIT, NUMERICAL_FAILURE); ``iterations`` and
    ``objective`` then describe that solve. Shapes are checked here, and so are the
    wrench (finite), u_max (finite, >= 0) and weight (finite, > 0); that B is finite
    is left to the caller (flightsw.control.allocate checks it).
    """
    cdef readonly int n_thrusters
    cdef readonly int n_active
    cdef readonly int max_iterations
    cdef readonly int iterations
    cdef readonly double objective

    # Problem data: A = [B_active * u_max / scale, I, -I] with row stride ld.
    cdef int ld
    cdef int n_var
    cdef double scale
    cdef double authority
    cdef double* B
    cdef double* u_max
    cdef double* weight
    cdef int* active
    cdef double* A
    cdef double* ub
    cdef double* cost_phase1
    cdef double* cost_phase2
    # Simplex state: tableau T (M x ld), basic values, reduced costs, variable states.
    cdef double* cost
    cdef double* b
    cdef double* T
    cdef double* beta
    cdef double* d
    cdef int* basis
    cdef int* state
    # Allowed direction of each nonbasic variable: +1 up from its lower bound, -1 down
    # from its upper bound, 0 for basic, fixed or zero-width variables.
    cdef double* move
    cdef double* lu
    cdef int* perm
    cdef double* rhs
    cdef bint step_failed
    # The two blocks every array above lives in, allocated once per geometry.
    cdef double* real_block
    cdef int* int_block

    def __cinit__(self, const double[:, ::1] B, const double[::1] u_max, const double[::1] weight,
                  int max_iterations):
        cdef Py_ssize_t i, j, n = B.shape[1], ld = B.shape[1] + 2 * M
        cdef double largest_weight = 0.0
        cdef double* cursor
        cdef int* int_cursor
        if B.shape[0] != M:
            raise ValueError(f"B must have shape (6, N), got ({B.shape[0]}, {B.shape[1]})")
        if weight.shape[0] != M:
            raise ValueError("weight must have 6 entries")
        for i in range(M):
            if not (isfinite(weight[i]) and weight[i] > 0.0):
                raise ValueError("weight must be 6 finite positive numbers")
            largest_weight = max(largest_weight, weight[i])
        self.n_thrusters = n
        self.max_iterations = max_iterations
        self.ld = ld
        self.real_block = <double*> PyMem_Malloc(
            (M * n + n + M + 2 * M * ld + 6 * ld + 3 * M + M * M) * sizeof(double))
        self.int_block = <int*> PyMem_Malloc((n + 2 * M + ld) * sizeof(int))
        if self.real_block == NULL or self.int_block == NULL:
            raise MemoryError()
        cursor = self.real_block
        self.B = _take(&cursor, M * n)
        self.u_max = _take(&cursor, n)
        self.weight = _take(&cursor, M)
        self.A = _take(&cursor, M * ld)
        self.T = _take(&cursor, M * ld)
        self.ub = _take(&cursor, ld)
        self.cost_phase1 = _take(&cursor, ld)
        self.cost_phase2 = _take(&cursor, ld)
        self.cost = _take(&cursor, ld)
        self.d = _take(&cursor, ld)
        self.move = _take(&cursor, ld)
        self.b = _take(&cursor, M)
        self.beta = _take(&cursor, M)
        self.rhs = _take(&cursor, M)
        self.lu = _take(&cursor, M * M)
        int_cursor = self.int_block
        self.active = int_cursor
        self.basis = int_cursor + n
        self.perm = int_cursor + n + M
        self.state = int_cursor + n + 2 * M
        for i in range(M):
            self.weight[i] = weight[i] / largest_weight
            for j in range(n):
                self.B[i * n + j] = B[i, j]
        self.set_u_max(u_max)

    def __dealloc__(self):
        PyMem_Free(self.real_block)
        PyMem_Free(self.int_block)

    def set_u_max(self, const double[::1] u_max):
        """Set the thrust upper bounds (N); a zero bound removes that thruster."""
        cdef Py_ssize_t i, j, k, n = self.n_thrusters, na = 0, ld = self.ld
        cdef double largest = 0.0, largest_bound = 0.0, column_weight
        if u_max.shape[0] != n:
            raise ValueError(f"u_max must have {n} entries, got {u_max.shape[0]}")
        for j in range(n):
            if not (isfinite(u_max[j]) and u_max[j] >= 0.0):
                raise ValueError("u_max must be finite and >= 0")
        for j in range(n):
            self.u_max[j] = u_max[j]
            if u_max[j] > 0.0:
                self.active[na] = j
                na += 1
                largest_bound = max(largest_bound, u_max[j])
                for i in range(M):
                    largest = max(largest, fabs(self.B[i * n + j]) * u_max[j])
        self.n_active = na
        self.n_var = na + 2 * M
        self.scale = largest if largest > 0.0 else 1.0
        self.authority = 0.0
        for i in range(M * ld):
            self.A[i] = 0.0
        for k in range(na):
            j = self.active[k]
            column_weight = 0.0
            for i in range(M):
                self.A[i * ld + k] = self.B[i * n + j] * u_max[j] / self.scale
                column_weight += self.weight[i] * fabs(self.A[i * ld + k])
            self.authority = max(self.authority, column_weight)
            self.cost_phase1[k] = 0.0
            self.cost_phase2[k] = u_max[j] / largest_bound
        for i in range(M):
            self.A[i * ld + na + i] = 1.0
            self.A[i * ld + na + M + i] = -1.0
            self.cost_phase1[na + i] = self.weight[i]
            self.cost_phase1[na + M + i] = self.weight[i]
            self.cost_phase2[na + i] = 0.0
            self.cost_phase2[na + M + i] = 0.0

    def solve(self, const double[::1] wrench, double[::1] u_out):
        """Allocate ``wrench`` (6,) into ``u_out`` (N,, N); return the status code."""
        cdef int i, status
        if wrench.shape[0] != M:
            raise ValueError(f"wrench must have 6 components, got {wrench.shape[0]}")
        if u_out.shape[0] != self.n_thrusters:
            raise ValueError(f"u_out must have {self.n_thrusters} entries, got {u_out.shape[0]}")
        for i in range(M):
            if not isfinite(wrench[i]):
                raise ValueError("wrench must be finite")
        with nogil:
            status = self._solve(&wrench[0], &u_out[0] if self.n_thrusters else NULL)
        return status

    cdef int _solve(self, const double* wrench, double* u_out) noexcept nogil:
        cdef int i, j, na = self.n_active, outcome
        cdef double tol_feasible, sign, wrench_l1 = 0.0
        cdef bint feasible
        self.iterations = 0
        for i in range(M):
            self.b[i] = wrench[i] / self.scale
            wrench_l1 += self.weight[i] * fabs(self.b[i])
        tol_feasible = FEASIBILITY_RTOL * (wrench_l1 + self.authority)

        # Phase 1 starts from the error column matching the sign of each wrench row:
        # a diagonal +-1 basis, so its tableau is A with rows sign-flipped.
        for j in range(self.n_var):
            self.state[j] = AT_LOWER
            self.move[j] = 1.0
            self.ub[j] = 1.0 if j < na else INFINITY
            self.cost[j] = self.cost_phase1[j]
        for i in range(M):
            sign = 1.0 if self.b[i] >= 0.0 else -1.0
            self.basis[i] = na + i if sign > 0.0 else na + M + i
            self.state[self.basis[i]] = BASIC
            self.move[self.basis[i]] = 0.0
            self.beta[i] = fabs(self.b[i])
            for j in range(self.n_var):
                self.T[i * self.ld + j] = sign * self.A[i * self.ld + j]
        self._reduced_costs()
        outcome = self._run_phase(True, tol_feasible)
        if outcome == PHASE_ITERATION_LIMIT:
            return self._finish(u_out, STATUS_ITERATION_LIMIT)
        if outcome == PHASE_NUMERICAL_FAILURE:
            return self._finish(u_out, STATUS_NUMERICAL_FAILURE)

        # Phase 2 on the set of phase-1 optimal points.
        feasible = self._phase1_objective() <= tol_feasible
        for j in range(self.n_var):
            if feasible:
                if j >= na:
                    self.ub[j] = 0.0
                    self.move[j] = 0.0
            elif -self.move[j] * self.d[j] < -TOL_DUAL:
                self.move[j] = 0.0
            self.cost[j] = self.cost_phase2[j]
        self._reduced_costs()
        outcome = self._run_phase(False, tol_feasible)
        if outcome == PHASE_ITERATION_LIMIT:
            return self._finish(u_out, STATUS_ITERATION_LIMIT)
        if outcome == PHASE_NUMERICAL_FAILURE:
            return self._finish(u_out, STATUS_NUMERICAL_FAILURE)
        return self._finish(u_out, STATUS_OPTIMAL if feasible else STATUS_INFEASIBLE)

    cdef int _run_phase(self, bint phase1, double tol_feasible) noexcept nogil:
        """Iterate until optimal (verified on a fresh factorisation) or a limit.

        Phase 1 stops as soon as the error is within tolerance on freshly solved basic
        values; optimality is only declared on a freshly recomputed tableau.
        """
        cdef int q, degenerate_run = 0
        cdef bint bland = False, verified = True, values_fresh = True, moved
        while True:
            if phase1 and self._phase1_objective() <= tol_feasible:
                if values_fresh:
                    return PHASE_FEASIBLE_REACHED
                if not self._refactor(False):
                    return PHASE_NUMERICAL_FAILURE
                values_fresh = True
                continue
            q = self._price(bland)
            if q < 0:
                if verified:
                    return PHASE_OPTIMAL
                if not self._refactor(True):
                    return PHASE_NUMERICAL_FAILURE
                verified = values_fresh = True
                continue
            if self.iterations >= self.max_iterations:
                return PHASE_ITERATION_LIMIT
            self.iterations += 1
            moved = self._step(q, bland)
            if self.step_failed:
                return PHASE_NUMERICAL_FAILURE
            verified = values_fresh = False
            if moved:
                degenerate_run = 0
                bland = False
            else:
                degenerate_run += 1
                if degenerate_run >= DEGENERATE_RUN_FOR_BLAND:
                    bland = True

    cdef int _price(self, bint bland) noexcept nogil:
        """Entering column: largest improving reduced cost, or the first (Bland)."""
        cdef Py_ssize_t j
        cdef int q = -1
        cdef double score, best = TOL_DUAL
        for j in range(self.n_var):
            score = -self.move[j] * self.d[j]
            if score > best:
                if bland:
                    return j
                best = score
                q = j
        return q

    cdef bint _step(self, int q, bint bland) noexcept nogil:
        """Move entering column q to its blocking bound; return whether x moved."""
        cdef int i, r = -1, leaving, ld = self.ld
        cdef double sigma = self.move[q]
        cdef double alpha, bound, ratio, t, t_flip = self.ub[q], best_alpha = 0.0
        cdef double t_relaxed = t_flip
        cdef double column[M]
        cdef bint to_upper = False, leaving_to_upper
        self.step_failed = False
        for i in range(M):
            column[i] = sigma * self.T[i * ld + q]

        if bland:
            # Textbook ratio test, ties to the smallest leaving variable index.
            t = t_flip
            for i in range(M):
                alpha = column[i]
                if alpha > TOL_PIVOT:
                    ratio = self.beta[i] / alpha
                    leaving_to_upper = False
                elif alpha < -TOL_PIVOT and self.ub[self.basis[i]] < INFINITY:
                    ratio = (self.ub[self.basis[i]] - self.beta[i]) / -alpha
                    leaving_to_upper = True
                else:
                    continue
                if ratio < 0.0:
                    ratio = 0.0
                if ratio < t or (ratio == t and r >= 0 and self.basis[i] < self.basis[r]):
                    t = ratio
                    r = i
                    to_upper = leaving_to_upper
        else:
            # Harris pass 1: the largest step allowed by bounds relaxed by TOL_PRIMAL.
            for i in range(M):
                alpha = column[i]
                if alpha > TOL_PIVOT:
                    bound = (self.beta[i] + TOL_PRIMAL) / alpha
                elif alpha < -TOL_PIVOT and self.ub[self.basis[i]] < INFINITY:
                    bound = (self.ub[self.basis[i]] - self.beta[i] + TOL_PRIMAL) / -alpha
                else:
                    continue
                if bound < t_relaxed:
                    t_relaxed = bound
            # Harris pass 2: among rows blocking within that step, the largest pivot.
            t = t_flip
            for i in range(M):
                alpha = column[i]
                if alpha > TOL_PIVOT:
                    ratio = self.beta[i] / alpha
                    leaving_to_upper = False
                elif alpha < -TOL_PIVOT and self.ub[self.basis[i]] < INFINITY:
                    ratio = (self.ub[self.basis[i]] - self.beta[i]) / -alpha
                    leaving_to_upper = True
                else:
                    continue
                if ratio <= t_relaxed and fabs(alpha) > best_alpha:
                    best_alpha = fabs(alpha)
                    r = i
                    t = ratio if ratio > 0.0 else 0.0
                    to_upper = leaving_to_upper
            if r >= 0 and t_flip <= t:
                r = -1

        if r < 0:
            if t_flip == INFINITY:
                # An improving ray cannot exist (both phases are bounded below).
                self.step_failed = True
                return False
            # The entering variable reaches its own opposite bound first: flip.
            for i in range(M):
                self.beta[i] -= t_flip * column[i]
            self.state[q] = AT_UPPER if self.state[q] == AT_LOWER else AT_LOWER
            self.move[q] = -sigma
            return True

        for i in range(M):
            self.beta[i] -= t * column[i]
        leaving = self.basis[r]
        self.state[leaving] = AT_UPPER if to_upper else AT_LOWER
        self.move[leaving] = 0.0 if self.ub[leaving] == 0.0 else (-1.0 if to_upper else 1.0)
        self.beta[r] = t if self.state[q] == AT_LOWER else self.ub[q] - t
        self.state[q] = BASIC
        self.move[q] = 0.0
        self.basis[r] = q
        self._pivot(r, q)
        return t > 0.0

    cdef void _pivot(self, int r, int q) noexcept nogil:
        """Gauss-Jordan pivot of the tableau and reduced costs on T[r, q]."""
        cdef Py_ssize_t i, j, n = self.n_var
        cdef double* row = self.T + r * self.ld
        cdef double* d = self.d
        cdef double f, inv = 1.0 / row[q]
        for j in range(n):
            row[j] *= inv
        row[q] = 1.0
        for i in range(M):
            if i != r:
                _axpy(self.T + i * self.ld, row, -self.T[i * self.ld + q], n)
                self.T[i * self.ld + q] = 0.0
        _axpy(d, row, -d[q], n)
        d[q] = 0.0

    cdef double _phase1_objective(self) noexcept nogil:
        """Weighted L1 wrench error in phase 1: only basic error columns are nonzero."""
        cdef Py_ssize_t i
        cdef double total = 0.0
        for i in range(M):
            total += self.cost[self.basis[i]] * self.beta[i]
        return total

    cdef void _reduced_costs(self) noexcept nogil:
        """d_j = c_j - c_B^T T_j."""
        cdef Py_ssize_t i, j
        for j in range(self.n_var):
            self.d[j] = self.cost[j]
        for i in range(M):
            _axpy(self.d, self.T + i * self.ld, -self.cost[self.basis[i]], self.n_var)

    cdef bint _refactor(self, bint tableau) noexcept nogil:
        """Recompute the basic values (and, if asked, T and the reduced costs) from A.

        LU with partial pivoting of the 6 x 6 basis (Golub & Van Loan, *Matrix
        Computations*, 4th ed., algorithm 3.4.1). Returns False when the basis is
        numerically singular.
        """
        cdef Py_ssize_t i, j, k, p, ld = self.ld, n = self.n_var
        cdef int tmp
        cdef double largest = 0.0, f
        cdef double* lu = self.lu
        for i in range(M):
            self.perm[i] = i
            for j in range(M):
                lu[i * M + j] = self.A[i * ld + self.basis[j]]
                if fabs(lu[i * M + j]) > largest:
                    largest = fabs(lu[i * M + j])
        for k in range(M):
            p = k
            for i in range(k + 1, M):
                if fabs(lu[i * M + k]) > fabs(lu[p * M + k]):
                    p = i
            if fabs(lu[p * M + k]) <= TOL_SINGULAR * largest:
                return False
            if p != k:
                for j in range(M):
                    f = lu[k * M + j]
                    lu[k * M + j] = lu[p * M + j]
                    lu[p * M + j] = f
                tmp = self.perm[k]
                self.perm[k] = self.perm[p]
                self.perm[p] = tmp
            for i in range(k + 1, M):
                lu[i * M + k] /= lu[k * M + k]
                f = lu[i * M + k]
                for j in range(k + 1, M):
                    lu[i * M + j] -= f * lu[k * M + j]

        # Basic values from b minus the columns held at their upper bound.
        for i in range(M):
            self.rhs[i] = self.b[self.perm[i]]
            for j in range(n):
                if self.state[j] == AT_UPPER:
                    self.rhs[i] -= self.A[self.perm[i] * ld + j] * self.ub[j]
        for i in range(M):
            for k in range(i):
                self.rhs[i] -= lu[i * M + k] * self.rhs[k]
        for i in range(M - 1, -1, -1):
            for k in range(i + 1, M):
                self.rhs[i] -= lu[i * M + k] * self.rhs[k]
            self.rhs[i] /= lu[i * M + i]
        for i in range(M):
            self.beta[i] = self.rhs[i]
        if tableau:
            self._refresh_tableau()
        return True

    cdef void _refresh_tableau(self) noexcept nogil:
        """T = B_basis^-1 A and the reduced costs, from the LU in ``lu``/``perm``."""
        cdef Py_ssize_t i, j, k, ld = self.ld, n = self.n_var
        cdef double f
        cdef double* lu = self.lu
        # Tableau T = B_basis^-1 A, all columns at once: permute rows, then
        # forward substitution with L and back substitution with U, row-wise.
        for i in range(M):
            for j in range(n):
                self.T[i * ld + j] = self.A[self.perm[i] * ld + j]
        for i in range(M):
            for k in range(i):
                _axpy(self.T + i * ld, self.T + k * ld, -lu[i * M + k], n)
        for i in range(M - 1, -1, -1):
            for k in range(i + 1, M):
                _axpy(self.T + i * ld, self.T + k * ld, -lu[i * M + k], n)
            f = 1.0 / lu[i * M + i]
            for j in range(n):
                self.T[i * ld + j] *= f
        for i in range(M):
            for k in range(M):
                self.T[k * ld + self.basis[i]] = 1.0 if i == k else 0.0

        self._reduced_costs()

    cdef int _finish(self, double* u_out, int status) noexcept nogil:
        """Write u (N) from the current point, clipped to the bounds, and its total."""
        cdef int i, j, k
        cdef double v
        for j in range(self.n_thrusters):
            u_out[j] = 0.0
        for k in range(self.n_active):
            if self.state[k] == AT_UPPER:
                u_out[self.active[k]] = self.u_max[self.active[k]]
        for i in range(M):
            k = self.basis[i]
            if k < self.n_active:
                v = self.beta[i]
                v = 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)
                u_out[self.active[k]] = v * self.u_max[self.active[k]]
        self.objective = 0.0
        for j in range(self.n_thrusters):
            self.objective += u_out[j]
        return status


cdef inline void _axpy(double* y, const double* x, double a, Py_ssize_t n) noexcept nogil:
    """y += a x over n entries (y and x are distinct rows)."""
    cdef Py_ssize_t j
    if a != 0.0:
        for j in range(n):
            y[j] += a * x[j]


cdef inline double* _take(double** cursor, Py_ssize_t count) noexcept:
    """Carve ``count`` doubles off a preallocated block."""
    cdef double* start = cursor[0]
    cursor[0] += count
    return start
