"""Thruster allocation, reference RCS layout and pulse modulation, specified against
scipy's HiGHS linear-programming solver, the numpy reference simplex and hand geometry."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from flightsw.control import (
    AllocationError,
    AllocationStatus,
    Allocator,
    InfeasibleAllocation,
    allocate,
    build_B,
    pulse_widths,
    reference_layout,
)
from flightsw.control.allocate import allocate_reference
from flightsw.control.thrusters import HALF_SIDE_M

TIGHT_HIGHS = dict(primal_feasibility_tolerance=1e-10, dual_feasibility_tolerance=1e-10)


def random_geometry(rng, n, failed_fraction=0.0):
    """B (6, n) for thrusters anywhere in a 1 m box, any direction; bounds 0.5-2 N."""
    positions = rng.uniform(-0.5, 0.5, (n, 3))
    directions = rng.normal(size=(n, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    B = build_B(positions, directions, rng.uniform(-0.05, 0.05, 3))
    u_max = rng.uniform(0.5, 2.0, n)
    u_max[rng.random(n) < failed_fraction] = 0.0
    return B, u_max


def reachable_wrench(rng, B, u_max):
    """B u for a u within bounds, often with thrusters at a bound (degenerate vertices)."""
    return B @ (u_max * np.clip(rng.uniform(-0.3, 1.3, u_max.size), 0.0, 1.0))


def highs_min_thrust(B, wrench, u_max):
    return linprog(
        np.ones(u_max.size), A_eq=B, b_eq=wrench,
        bounds=np.column_stack([np.zeros_like(u_max), u_max]), method="highs",
    )


def highs_closest_wrench(B, wrench, u_max, weights, error_budget=None):
    """Phase-1 problem B u + e+ - e- = wrench; min weighted L1 error, or with
    ``error_budget`` the least thrust whose weighted L1 error is within it."""
    n = u_max.size
    error_cost = np.concatenate([np.zeros(n), weights, weights])
    A_eq = np.hstack([B, np.eye(6), -np.eye(6)])
    bounds = [(0.0, ub) for ub in u_max] + [(0.0, None)] * 12
    if error_budget is None:
        return linprog(error_cost, A_eq=A_eq, b_eq=wrench, bounds=bounds, method="highs")
    return linprog(
        np.concatenate([np.ones(n), np.zeros(12)]), A_ub=error_cost[None, :], b_ub=[error_budget],
        A_eq=A_eq, b_eq=wrench, bounds=bounds, method="highs", options=TIGHT_HIGHS,
    )


def residual_scale(B, wrench, u_max):
    """|wrench|_1 plus the largest single-thruster authority |B_j u_max_j|_1."""
    return np.abs(wrench).sum() + np.max(np.abs(B * u_max).sum(axis=0), initial=0.0)


def assert_within_bounds(u, u_max):
    assert np.all(u >= 0.0)
    assert np.all(u <= u_max)


# --- reference layout and B ----------------------------------------------------------


def test_build_B_gives_thrust_direction_and_moment_about_centre_of_mass():
    B = build_B([[1.0, 0.2, 0.0]], [[0.0, 1.0, 0.0]], cg_B_m=[0.0, 0.2, 0.5])
    # Lever arm (1, 0, -0.5) m crossed with (0, 1, 0) N: (0.5, 0, 1) N m.
    np.testing.assert_allclose(B[:, 0], [0.0, 1.0, 0.0, 0.5, 0.0, 1.0])


def test_reference_layout_has_full_rank_and_every_axis_force_and_torque_is_achievable():
    layout = reference_layout()
    B = layout.B
    assert B.shape == (6, 12)
    assert np.linalg.matrix_rank(B) == 6
    for axis in range(6):
        for sign in (1.0, -1.0):
            wrench = np.zeros(6)
            wrench[axis] = 0.1 * sign
            u = allocate(B, wrench, layout.thrust_max_N)
            np.testing.assert_allclose(B @ u, wrench, atol=1e-12)


def test_reference_layout_is_positively_spanning():
    # Positive spanning <=> full rank and B u = 0 for some u > 0 (strictly inside the cone).
    B = reference_layout().B
    interior = linprog(np.zeros(12), A_eq=B, b_eq=np.zeros(6), bounds=(1.0, None), method="highs")
    assert interior.status == 0


def test_reference_layout_nozzles_exhaust_away_from_the_bus():
    layout = reference_layout()
    exhaust = -layout.directions_B
    outward_m = np.einsum("ij,ij->i", layout.positions_B_m, exhaust)
    assert np.all(outward_m > HALF_SIDE_M)


def test_reference_layout_pure_forces_cost_one_thruster_pair_and_no_more():
    # Two thrusters per axis sign with cancelling moments: about 1 N of thrust per 1 N of
    # force, slightly more for the trim the centre-of-mass offset needs.
    layout = reference_layout()
    for axis in range(3):
        wrench = np.zeros(6)
        wrench[axis] = 1.0
        total = allocate(layout.B, wrench, layout.thrust_max_N).sum()
        assert 1.0 <= total <= 1.25


@pytest.mark.parametrize(
    "positions, directions, cg, message",
    [
        ([[0.0, 0.0, 0.0]], [[0.0, 0.0, 2.0]], [0.0, 0.0, 0.0], "unit"),
        ([[0.0, 0.0, 0.0]], [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], [0.0, 0.0, 0.0], "differ"),
        ([[0.0, np.nan, 0.0]], [[0.0, 0.0, 1.0]], [0.0, 0.0, 0.0], "finite"),
        ([[0.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]], [0.0, 0.0], "cg_B_m"),
    ],
)
def test_build_B_rejects_malformed_geometry(positions, directions, cg, message):
    with pytest.raises(ValueError, match=message):
        build_B(positions, directions, cg)


# --- feasible allocations against HiGHS ------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(
    n=st.integers(8, 24),
    seed=st.integers(0, 2**32 - 1),
    failed_fraction=st.sampled_from([0.0, 0.15, 0.35]),
)
def test_feasible_allocation_matches_highs_optimum_and_meets_the_wrench(n, seed, failed_fraction):
    # Four wrenches per drawn geometry: 2000 random feasible cases per run.
    rng = np.random.default_rng(seed)
    B, u_max = random_geometry(rng, n, failed_fraction)
    allocator = Allocator(B, u_max)
    for _ in range(4):
        wrench = reachable_wrench(rng, B, u_max)
        result = allocator.solve(wrench)
        highs = highs_min_thrust(B, wrench, u_max)

        assert highs.status == 0
        assert result.status == AllocationStatus.OPTIMAL
        assert result.objective == pytest.approx(highs.fun, rel=1e-6, abs=1e-9)
        assert np.abs(B @ result.u - wrench).sum() <= 1e-9 * residual_scale(B, wrench, u_max)
        assert_within_bounds(result.u, u_max)
        assert np.all(result.u[u_max == 0.0] == 0.0)


def test_reference_layout_allocations_match_highs_under_random_failures():
    rng = np.random.default_rng(20260101)
    layout = reference_layout()
    B = layout.B
    allocator = Allocator(B, layout.thrust_max_N)
    for _ in range(400):
        u_max = layout.thrust_max_N * (rng.random(12) > 0.2)
        allocator.set_u_max(u_max)
        wrench = reachable_wrench(rng, B, u_max)
        result = allocator.solve(wrench)
        highs = highs_min_thrust(B, wrench, u_max)
        assert result.status == AllocationStatus.OPTIMAL
        assert result.objective == pytest.approx(highs.fun, rel=1e-6, abs=1e-9)
        np.testing.assert_allclose(B @ result.u, wrench, atol=1e-12)
        assert_within_bounds(result.u, u_max)


def test_nearly_parallel_thrusters_match_highs():
    # Thrusters in three tight bundles (directions within ~1e-4 rad): an ill-conditioned B.
    rng = np.random.default_rng(17)
    for _ in range(200):
        n = int(rng.integers(8, 25))
        bundles = rng.normal(size=(3, 3))
        directions = bundles[rng.integers(0, 3, n)] + 1e-4 * rng.normal(size=(n, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        B = build_B(rng.uniform(-0.5, 0.5, (n, 3)), directions, np.zeros(3))
        u_max = rng.uniform(0.5, 2.0, n)
        wrench = reachable_wrench(rng, B, u_max)
        result = Allocator(B, u_max).solve(wrench)
        assert result.status == AllocationStatus.OPTIMAL
        assert result.objective == pytest.approx(highs_min_thrust(B, wrench, u_max).fun, rel=1e-6, abs=1e-9)
        assert np.abs(B @ result.u - wrench).sum() <= 1e-9 * residual_scale(B, wrench, u_max)
        assert_within_bounds(result.u, u_max)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), exponent=st.integers(-7, 4), feasible=st.booleans())
def test_allocation_scales_with_the_units_of_thrust(seed, exponent, feasible):
    # No absolute tolerance in newtons: micro-newton and kilonewton systems behave alike.
    rng = np.random.default_rng(seed)
    B, u_max = random_geometry(rng, int(rng.integers(8, 25)), failed_fraction=0.15)
    wrench = reachable_wrench(rng, B, u_max) if feasible else rng.normal(size=6) * 3.0
    factor = 10.0**exponent
    unit = Allocator(B, u_max).solve(wrench)
    scaled = Allocator(B, factor * u_max).solve(factor * wrench)
    assert scaled.status == unit.status
    np.testing.assert_allclose(scaled.u, factor * unit.u, rtol=1e-9, atol=1e-12 * factor)


# --- unreachable wrenches ----------------------------------------------------------------


def test_unreachable_wrench_gives_highs_closest_wrench_with_least_thrust():
    rng = np.random.default_rng(7)
    n_infeasible = 0
    for _ in range(300):
        n = int(rng.integers(8, 25))
        B, u_max = random_geometry(rng, n, failed_fraction=0.2)
        wrench = rng.normal(size=6) * rng.choice([1.0, 3.0, 10.0])
        weights = rng.uniform(0.2, 5.0, 6)
        result = Allocator(B, u_max, wrench_weights=weights).solve(wrench)
        assert_within_bounds(result.u, u_max)
        if highs_min_thrust(B, wrench, u_max).status == 0:
            assert result.status == AllocationStatus.OPTIMAL
            continue
        n_infeasible += 1
        assert result.status == AllocationStatus.INFEASIBLE
        np.testing.assert_allclose(result.achievable_wrench, B @ result.u, atol=1e-12)
        closest = highs_closest_wrench(B, wrench, u_max, weights)
        assert result.wrench_error_l1 == pytest.approx(closest.fun, rel=1e-6, abs=1e-9)
        assert result.wrench_error_l1 == pytest.approx(weights @ np.abs(wrench - B @ result.u))
        least = highs_closest_wrench(B, wrench, u_max, weights, error_budget=result.wrench_error_l1)
        assert result.objective == pytest.approx(least.fun, rel=1e-6, abs=1e-9)
    assert n_infeasible > 150


def test_allocate_raises_infeasible_allocation_carrying_the_closest_achievable_wrench():
    layout = reference_layout()
    too_much_force = np.array([5.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    with pytest.raises(InfeasibleAllocation) as raised:
        allocate(layout.B, too_much_force, layout.thrust_max_N)
    error = raised.value
    # Only the two +x thrusters push along +x, each at most 1 N.
    assert error.achievable_wrench[0] == pytest.approx(2.0, abs=1e-9)
    np.testing.assert_allclose(error.achievable_wrench, layout.B @ error.u, atol=1e-12)
    assert_within_bounds(error.u, layout.thrust_max_N)
    assert error.result.status == AllocationStatus.INFEASIBLE


def test_allocator_returns_infeasible_result_instead_of_raising():
    layout = reference_layout()
    result = Allocator(layout.B, layout.thrust_max_N).solve([0.0, 0.0, 0.0, 0.0, 0.0, 9.0])
    assert result.status == AllocationStatus.INFEASIBLE
    assert not result.optimal
    assert 0.0 < result.achievable_wrench[5] < 9.0


def test_wrench_weights_choose_which_axes_give_way_when_the_wrench_is_unreachable():
    layout = reference_layout()
    # 1.8 N along +x nearly saturates both +x thrusters, leaving too little for 0.6 N m pitch.
    wrench = np.array([1.8, 0.0, 0.0, 0.0, 0.6, 0.0])
    force_first = Allocator(layout.B, layout.thrust_max_N, [100, 100, 100, 1, 1, 1]).solve(wrench)
    torque_first = Allocator(layout.B, layout.thrust_max_N, [1, 1, 1, 100, 100, 100]).solve(wrench)
    assert force_first.status == torque_first.status == AllocationStatus.INFEASIBLE
    np.testing.assert_allclose(force_first.wrench_error[:3], 0.0, atol=1e-12)
    np.testing.assert_allclose(torque_first.wrench_error[3:], 0.0, atol=1e-12)
    assert np.abs(force_first.wrench_error[3:]).sum() > 0.05
    assert np.abs(torque_first.wrench_error[:3]).sum() > 0.05


# --- degenerate cases ----------------------------------------------------------------------


def test_zero_wrench_gives_zero_thrust_without_iterating():
    layout = reference_layout()
    result = Allocator(layout.B, layout.thrust_max_N).solve(np.zeros(6))
    assert result.status == AllocationStatus.OPTIMAL
    assert np.all(result.u == 0.0)
    assert result.iterations == 0


def test_all_thrusters_failed_allows_only_the_zero_wrench():
    layout = reference_layout()
    allocator = Allocator(layout.B, np.zeros(12))
    assert np.all(allocator.solve(np.zeros(6)).u == 0.0)
    wrench = np.array([0.1, -0.2, 0.0, 0.0, 0.03, 0.0])
    result = allocator.solve(wrench)
    assert result.status == AllocationStatus.INFEASIBLE
    assert np.all(result.u == 0.0)
    np.testing.assert_array_equal(result.achievable_wrench, np.zeros(6))
    assert result.wrench_error_l1 == pytest.approx(np.abs(wrench).sum())


def test_duplicated_thrusters_at_half_thrust_cost_the_same_as_the_originals():
    rng = np.random.default_rng(11)
    layout = reference_layout()
    doubled_B = np.hstack([layout.B, layout.B])
    single = Allocator(layout.B, layout.thrust_max_N)
    doubled = Allocator(doubled_B, np.full(24, 0.5))
    for _ in range(200):
        wrench = reachable_wrench(rng, layout.B, layout.thrust_max_N)
        expected = single.solve(wrench)
        got = doubled.solve(wrench)
        assert got.status == AllocationStatus.OPTIMAL
        assert got.objective == pytest.approx(expected.objective, rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(doubled_B @ got.u, wrench, atol=1e-12)


def test_highly_degenerate_problems_terminate_optimal():
    # Triplicated thrusters and wrenches at vertices of the achievable set: many ties in
    # every ratio test, the situation in which simplex methods can cycle.
    rng = np.random.default_rng(3)
    for _ in range(200):
        B, u_max = random_geometry(rng, 8)
        B, u_max = np.hstack([B, B, B]), np.tile(u_max, 3)
        wrench = B @ (u_max * rng.integers(0, 2, u_max.size))
        result = Allocator(B, u_max).solve(wrench)
        assert result.status == AllocationStatus.OPTIMAL
        assert result.objective == pytest.approx(highs_min_thrust(B, wrench, u_max).fun, rel=1e-6, abs=1e-9)


def test_iteration_cap_stops_the_solver_with_bounded_thrusts():
    layout = reference_layout()
    wrench = np.array([0.3, -0.2, 0.1, 0.02, -0.01, 0.03])
    result = Allocator(layout.B, layout.thrust_max_N, max_iterations=1).solve(wrench)
    assert result.status == AllocationStatus.ITERATION_LIMIT
    assert result.iterations == 1
    assert_within_bounds(result.u, layout.thrust_max_N)


def test_declaring_a_failure_moves_the_thrust_off_the_failed_thruster():
    layout = reference_layout()
    wrench = np.array([0.5, 0.0, 0.0, 0.0, 0.0, 0.0])
    allocator = Allocator(layout.B, layout.thrust_max_N)
    before = allocator.solve(wrench).u
    failed = int(np.argmax(before))
    u_max = layout.thrust_max_N.copy()
    u_max[failed] = 0.0
    allocator.set_u_max(u_max)
    after = allocator.solve(wrench)
    assert after.status == AllocationStatus.OPTIMAL
    assert after.u[failed] == 0.0
    np.testing.assert_allclose(layout.B @ after.u, wrench, atol=1e-12)
    np.testing.assert_array_equal(after.u, Allocator(layout.B, u_max).solve(wrench).u)


# --- compiled kernel against its numpy twin ----------------------------------------------


def test_compiled_kernel_follows_the_numpy_reference_pivot_for_pivot():
    rng = np.random.default_rng(42)
    for case in range(200):
        n = int(rng.integers(8, 25))
        B, u_max = random_geometry(rng, n, failed_fraction=0.2)
        wrench = rng.normal(size=6) * 3.0 if case % 3 == 0 else reachable_wrench(rng, B, u_max)
        compiled = Allocator(B, u_max).solve(wrench)
        reference = allocate_reference(B, wrench, u_max)
        assert compiled.status == reference.status
        assert compiled.iterations == reference.iterations
        np.testing.assert_allclose(compiled.u, reference.u, rtol=0.0, atol=1e-9)


def test_low_level_entry_matches_the_result_api():
    rng = np.random.default_rng(5)
    layout = reference_layout()
    allocator = Allocator(layout.B, layout.thrust_max_N)
    u_out = np.empty(12)
    for _ in range(50):
        wrench = reachable_wrench(rng, layout.B, layout.thrust_max_N)
        status = allocator.solve_into(wrench, u_out)
        assert status == AllocationStatus.OPTIMAL
        assert allocator.objective == pytest.approx(u_out.sum())
        np.testing.assert_array_equal(u_out, allocator.solve(wrench).u)


# --- input validation ----------------------------------------------------------------------

GOOD_B = reference_layout().B
GOOD_U_MAX = np.ones(12)
GOOD_WRENCH = np.zeros(6)


@pytest.mark.parametrize(
    "B, wrench, u_max, message",
    [
        (GOOD_B[:5], GOOD_WRENCH, GOOD_U_MAX, "shape"),
        (GOOD_B[:, :0], GOOD_WRENCH, np.ones(0), "shape"),
        (np.where(np.eye(6, 12) > 0, np.nan, GOOD_B), GOOD_WRENCH, GOOD_U_MAX, "B must be finite"),
        (GOOD_B, np.zeros(5), GOOD_U_MAX, "wrench"),
        (GOOD_B, np.array([0, 0, np.inf, 0, 0, 0.0]), GOOD_U_MAX, "wrench must be finite"),
        (GOOD_B, GOOD_WRENCH, np.ones(11), "u_max"),
        (GOOD_B, GOOD_WRENCH, -GOOD_U_MAX, ">= 0"),
        (GOOD_B, GOOD_WRENCH, np.full(12, np.nan), "u_max must be finite"),
    ],
)
def test_malformed_inputs_raise_value_error(B, wrench, u_max, message):
    with pytest.raises(ValueError, match=message):
        allocate(B, wrench, u_max)


def test_non_positive_wrench_weights_raise_value_error():
    with pytest.raises(ValueError, match="wrench_weights"):
        Allocator(GOOD_B, GOOD_U_MAX, wrench_weights=[1, 1, 1, 0, 1, 1])


def test_low_level_entry_rejects_wrong_sizes_and_non_finite_wrench():
    allocator = Allocator(GOOD_B, GOOD_U_MAX)
    with pytest.raises(ValueError):
        allocator.solve_into(np.zeros(5), np.empty(12))
    with pytest.raises(ValueError):
        allocator.solve_into(np.zeros(6), np.empty(11))
    with pytest.raises(ValueError):
        allocator.solve_into(np.array([np.nan, 0, 0, 0, 0, 0.0]), np.empty(12))


def test_allocation_error_is_not_a_value_error():
    # A control loop catching bad-input errors must not swallow an unreachable wrench.
    assert not issubclass(InfeasibleAllocation, ValueError)
    assert issubclass(InfeasibleAllocation, AllocationError)


# --- pulse modulation ----------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    quantum_ms=st.sampled_from([0.5, 1.0, 2.0]),
    min_on_ms=st.sampled_from([0.0, 3.0, 10.0, 25.0]),
    period_ms=st.sampled_from([100.0, 125.0, 250.0]),
    varying=st.booleans(),
)
def test_delivered_impulse_tracks_the_command_and_respects_the_minimum_bit(
    seed, quantum_ms, min_on_ms, period_ms, varying
):
    rng = np.random.default_rng(seed)
    quantum_s, min_on_s, period_s = quantum_ms / 1e3, min_on_ms / 1e3, period_ms / 1e3
    min_on_quanta_s = np.ceil(min_on_s / quantum_s - 1e-9) * quantum_s
    nominal_N = rng.uniform(0.5, 2.0, 12)
    # Up to the highest command that leaves room in the period for the carried impulse.
    headroom = 1.0 - max(min_on_quanta_s, quantum_s) / (2.0 * period_s)
    commands_N = rng.uniform(0.0, 1.0, (200, 12)) ** 3 * nominal_N * headroom
    commands_N[:, 0] = nominal_N[0] * headroom
    if not varying:
        commands_N[:] = commands_N[0]
    carry_bound_Ns = 0.5 * nominal_N * max(min_on_quanta_s, quantum_s) + 1e-12
    carry_Ns = np.zeros(12)
    commanded_Ns = np.zeros(12)
    delivered_Ns = np.zeros(12)
    for u_N in commands_N:
        on_s, carry_Ns = pulse_widths(u_N, nominal_N, period_s, min_on_s, quantum_s, carry_Ns)
        fired = on_s > 0.0
        assert np.all(on_s[fired] >= min_on_quanta_s - 1e-12)
        assert np.all(on_s <= period_s + 1e-12)
        assert np.all(np.abs(on_s / quantum_s - np.round(on_s / quantum_s)) <= 1e-9)
        commanded_Ns += u_N * period_s
        delivered_Ns += on_s * nominal_N
        assert np.all(np.abs(delivered_Ns - commanded_Ns) <= carry_bound_Ns)
    mean_error_Ns = np.abs(delivered_Ns - commanded_Ns) / len(commands_N)
    assert np.all(mean_error_Ns <= quantum_s * nominal_N)


def test_small_command_fires_minimum_bits_at_the_right_average_rate():
    # 0.01 N from a 1 N valve over 0.1 s periods is 1 ms of demand per period: one 10 ms
    # minimum bit every 10 periods.
    carry = np.zeros(1)
    fired = []
    for _ in range(100):
        on_s, carry = pulse_widths([0.01], 1.0, 0.1, 0.010, 0.001, carry)
        fired.append(on_s[0])
    assert set(np.round(fired, 12)) == {0.0, 0.010}
    assert sum(fired) == pytest.approx(0.1, abs=0.005)


def test_saturated_valve_stays_open_all_period_without_winding_up():
    carry = np.zeros(2)
    for _ in range(50):
        on_s, carry = pulse_widths([1.0, 3.0], 1.0, 0.1, 0.010, 0.001, carry)
        np.testing.assert_allclose(on_s, [0.1, 0.1])
        assert np.all(carry <= 0.0005 + 1e-12)
    on_s, _ = pulse_widths([0.0, 0.0], 1.0, 0.1, 0.010, 0.001, carry)
    np.testing.assert_array_equal(on_s, [0.0, 0.0])


@pytest.mark.parametrize(
    "u, nominal, period, min_on, quantum, carry, message",
    [
        ([-0.1], 1.0, 0.1, 0.01, 0.001, [0.0], ">= 0"),
        ([0.1], 0.0, 0.1, 0.01, 0.001, [0.0], "u_nominal_N"),
        ([0.1], 1.0, 0.1, 0.01, 0.0, [0.0], "quantum_s"),
        ([0.1], 1.0, 0.005, 0.01, 0.001, [0.0], "period_s"),
        ([0.1], 1.0, 0.1, 0.01, 0.001, [0.0, 0.0], "equal length"),
        ([np.nan], 1.0, 0.1, 0.01, 0.001, [0.0], "finite"),
    ],
)
def test_pulse_widths_rejects_malformed_inputs(u, nominal, period, min_on, quantum, carry, message):
    with pytest.raises(ValueError, match=message):
        pulse_widths(u, nominal, period, min_on, quantum, carry)
