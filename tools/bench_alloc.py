"""Benchmark: microseconds per thruster allocation for the 12-thruster reference RCS.

Every solver gets the same wrenches, drawn inside the achievable set (B u for u uniform
within the bounds, seeded), and the same problem: minimise sum(u) subject to B u = w,
0 <= u <= u_max.

  cython allocate()        the public one-shot API (validates, builds an Allocator)
  cython Allocator.solve   the control-loop API: validation + result object per call
  cython solve_into        the low-level entry reusing preallocated buffers
  call overhead            solve_into on the zero wrench (no simplex iteration)
  scipy HiGHS              scipy.optimize.linprog(method="highs"), the named baseline
  OSQP warm, eps 1e-3      OSQP on the same LP (P = 0), set up once, l/u updated per
                           solve, warm-started, default tolerances
  OSQP warm, eps 1e-6      the same with tolerances tightened and solution polishing

Times are the best of three passes over all wrenches (the machine is shared). The
accuracy columns compare each solver's total thrust with HiGHS and report its wrench
residual. Usage: python tools/bench_alloc.py [--wrenches 2000] [--seed 1]
"""
import argparse
import json
import time

import numpy as np
import osqp
import scipy.sparse as sparse
from scipy.optimize import linprog

from flightsw.control import AllocationStatus, Allocator, allocate, reference_layout

TARGET_US = 10.0
PASSES = 3


def best_pass_us(solve_all, n_solves: int) -> float:
    """Best of PASSES wall-clock passes, in microseconds per solve."""
    best = np.inf
    for _ in range(PASSES):
        start = time.perf_counter()
        solve_all()
        best = min(best, time.perf_counter() - start)
    return best / n_solves * 1e6


def bench_cython(B, u_max, wrenches):
    allocator = Allocator(B, u_max)
    u_out = np.empty(u_max.size)
    solutions = np.empty((len(wrenches), u_max.size))
    iterations = np.empty(len(wrenches), dtype=int)
    for k, wrench in enumerate(wrenches):
        assert allocator.solve_into(wrench, u_out) == AllocationStatus.OPTIMAL
        solutions[k] = u_out
        iterations[k] = allocator.iterations

    def low_level():
        for wrench in wrenches:
            allocator.solve_into(wrench, u_out)

    def result_api():
        for wrench in wrenches:
            allocator.solve(wrench)

    def one_shot():
        for wrench in wrenches:
            allocate(B, wrench, u_max)

    zero = np.zeros(6)

    def overhead():
        for _ in wrenches:
            allocator.solve_into(zero, u_out)

    per_call_us = np.empty(len(wrenches))
    for k, wrench in enumerate(wrenches):
        start = time.perf_counter_ns()
        allocator.solve_into(wrench, u_out)
        per_call_us[k] = (time.perf_counter_ns() - start) / 1e3

    n = len(wrenches)
    times = {
        "cython_allocate": best_pass_us(one_shot, n),
        "cython_Allocator_solve": best_pass_us(result_api, n),
        "cython_solve_into": best_pass_us(low_level, n),
        "call_overhead": best_pass_us(overhead, n),
    }
    return times, solutions, iterations, float(np.percentile(per_call_us, 99))


def bench_highs(B, u_max, wrenches):
    bounds = np.column_stack([np.zeros_like(u_max), u_max])
    cost = np.ones(u_max.size)
    solutions = np.empty((len(wrenches), u_max.size))

    def solve_all():
        for k, wrench in enumerate(wrenches):
            result = linprog(cost, A_eq=B, b_eq=wrench, bounds=bounds, method="highs")
            solutions[k] = result.x

    return best_pass_us(solve_all, len(wrenches)), solutions


def bench_osqp(B, u_max, wrenches, **settings):
    """OSQP on min 1'u s.t. [B; I] u in [[w; 0], [w; u_max]], warm-started across solves."""
    n = u_max.size
    A = sparse.csc_matrix(np.vstack([B, np.eye(n)]))
    lower = np.concatenate([wrenches[0], np.zeros(n)])
    upper = np.concatenate([wrenches[0], u_max])
    solver = osqp.OSQP()
    solver.setup(
        sparse.csc_matrix((n, n)), np.ones(n), A, lower, upper,
        verbose=False, warm_starting=True, **settings,
    )
    solutions = np.empty((len(wrenches), n))
    solved = np.zeros(len(wrenches), dtype=bool)

    def solve_all():
        for k, wrench in enumerate(wrenches):
            lower[:6] = wrench
            upper[:6] = wrench
            solver.update(l=lower, u=upper)
            result = solver.solve(raise_error=False)
            solutions[k] = result.x
            solved[k] = result.info.status_val == osqp.SolverStatus.OSQP_SOLVED

    return best_pass_us(solve_all, len(wrenches)), solutions, float(solved.mean())


def accuracy(B, wrenches, solutions, reference_totals):
    totals = solutions.sum(axis=1)
    rel_objective = np.abs(totals - reference_totals) / np.maximum(reference_totals, 1e-12)
    residual = np.abs(solutions @ B.T - wrenches).max(axis=1)
    return float(rel_objective.max()), float(residual.max())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wrenches", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    layout = reference_layout()
    B, u_max = layout.B, layout.thrust_max_N
    rng = np.random.default_rng(args.seed)
    wrenches = (B @ (u_max[:, None] * rng.random((u_max.size, args.wrenches)))).T.copy()

    cython_times, cython_u, iterations, p99_us = bench_cython(B, u_max, wrenches)
    highs_us, highs_u = bench_highs(B, u_max, wrenches)
    osqp_fast_us, osqp_fast_u, osqp_fast_solved = bench_osqp(B, u_max, wrenches)
    osqp_tight_us, osqp_tight_u, osqp_tight_solved = bench_osqp(
        B, u_max, wrenches, eps_abs=1e-6, eps_rel=1e-6, polishing=True, max_iter=20000
    )

    reference_totals = highs_u.sum(axis=1)
    rows = [
        ("cython allocate()", cython_times["cython_allocate"], cython_u, 1.0),
        ("cython Allocator.solve", cython_times["cython_Allocator_solve"], cython_u, 1.0),
        ("cython solve_into", cython_times["cython_solve_into"], cython_u, 1.0),
        ("scipy HiGHS (baseline)", highs_us, highs_u, 1.0),
        ("OSQP warm, eps 1e-3", osqp_fast_us, osqp_fast_u, osqp_fast_solved),
        ("OSQP warm, eps 1e-6", osqp_tight_us, osqp_tight_u, osqp_tight_solved),
    ]
    print(f"thruster allocation, {u_max.size}-thruster reference RCS, {args.wrenches} wrenches "
          f"in the achievable set (seed {args.seed})")
    print(f"{'solver':<26}{'us/solve':>10}{'vs HiGHS':>10}{'max rel dJ':>13}"
          f"{'max |Bu-w|':>13}{'solved':>8}")
    figures = {"us_per_solve": {}, "max_rel_objective_error": {}, "max_residual": {}, "solved_fraction": {}}
    keys = ["cython_allocate", "cython_Allocator_solve", "cython_solve_into",
            "scipy_highs", "osqp_warm_eps1e-3", "osqp_warm_eps1e-6"]
    for key, (name, us, solutions, solved) in zip(keys, rows):
        rel_objective, residual = accuracy(B, wrenches, solutions, reference_totals)
        print(f"{name:<26}{us:>10.2f}{highs_us / us:>9.1f}x{rel_objective:>13.1e}"
              f"{residual:>13.1e}{solved:>8.3f}")
        figures["us_per_solve"][key] = round(us, 3)
        figures["max_rel_objective_error"][key] = rel_objective
        figures["max_residual"][key] = residual
        figures["solved_fraction"][key] = solved
    print(f"{'call overhead (zero wrench)':<26}{cython_times['call_overhead']:>10.2f}")
    print(f"solve_into: p99 {p99_us:.2f} us per call; simplex iterations mean "
          f"{iterations.mean():.1f}, max {iterations.max()}")
    fastest_osqp = min(osqp_fast_us, osqp_tight_us)
    solve_us = cython_times["cython_solve_into"]
    print(f"target <= {TARGET_US:.0f} us per solve: {'met' if solve_us <= TARGET_US else 'MISSED'}; "
          f"{fastest_osqp / solve_us:.1f}x faster than the fastest warm-started OSQP")

    figures.update(
        n_thrusters=int(u_max.size),
        n_wrenches=args.wrenches,
        seed=args.seed,
        call_overhead_us=round(cython_times["call_overhead"], 3),
        solve_into_p99_us=round(p99_us, 3),
        iterations_mean=float(iterations.mean()),
        iterations_max=int(iterations.max()),
        target_us=TARGET_US,
        meets_target=bool(solve_us <= TARGET_US),
        speedup_vs_fastest_osqp=round(fastest_osqp / solve_us, 2),
        speedup_vs_highs=round(highs_us / solve_us, 2),
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
