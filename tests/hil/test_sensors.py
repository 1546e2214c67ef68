"""The plant's sensors (hil.sensors) against their stated error models and interface behaviour.

Statistics are checked over seeded samples against the configured values (sample-size-aware
tolerances: a sample std of n normal draws is within ~1/sqrt(2n) of the truth, 1-sigma);
geometry against independent computations written here.
"""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.msg import GnssFix, GyroRate, RangefinderRange, StarTrackerAttitude
from flightsw.msg.codec import decode, encode
from hil.attitude.quaternion import dcm_to_quat, quat_conj, quat_mult, quat_to_dcm
from hil.constants import R_EARTH_M
from hil.sensors import (GnssConfig, GnssReceiver, Gyro, GyroConfig, Rangefinder,
                         RangefinderConfig, StarTracker, StarTrackerConfig)

ARCSEC = math.pi / (180 * 3600)
IDENTITY = np.array([1.0, 0.0, 0.0, 0.0])
# chaser in LEO on +x; with the identity attitude the tracker boresight (+z) is 24 deg above
# the Earth's limb; from R_ZENITH_N it points to the zenith; the Sun along +y is 90 deg off it
R_LEO_N = np.array([7.0e6, 0.0, 0.0])
R_ZENITH_N = np.array([0.0, 0.0, 7.0e6])
SUN_CLEAR_N = np.array([0.0, 1.0, 0.0])
NO_OUTAGES = dict(mean_time_between_outages_s=math.inf)


def rng(seed=0):
    return np.random.default_rng(seed)


def random_unit_quaternion(generator):
    q = generator.standard_normal(4)
    return q / np.linalg.norm(q)


def rotation_error_S(q_meas, q_true):
    """Small rotation vector (rad) taking true to measured frame: C_meas C_true^T = I - [a x]."""
    c = quat_to_dcm(q_meas) @ quat_to_dcm(q_true).T
    return np.array([c[1, 2] - c[2, 1], c[2, 0] - c[0, 2], c[0, 1] - c[1, 0]]) / 2.0


# Each sensor with a configuration, truth that gives a valid reading, and its message.
SENSOR_CASES = {
    "star_tracker": (lambda **kw: StarTracker(StarTrackerConfig(**kw), rng(1)),
                     (IDENTITY, SUN_CLEAR_N, R_ZENITH_N), StarTrackerAttitude),
    "gyro": (lambda **kw: Gyro(GyroConfig(**kw), rng(1)),
             (np.array([0.01, -0.02, 0.005]),), GyroRate),
    "gnss": (lambda **kw: GnssReceiver(GnssConfig(**NO_OUTAGES, **kw), rng(1)),
             (R_LEO_N, np.array([0.0, 7.5e3, 0.0])), GnssFix),
    "rangefinder": (lambda **kw: Rangefinder(RangefinderConfig(**kw), rng(1)),
                    (np.array([0.0, 0.0, 150.0]), IDENTITY, 1.0), RangefinderRange),
}
CASE_NAMES = sorted(SENSOR_CASES)


def clear_sky(q_BN):
    """Sun and chaser position (N) that leave a tracker boresight along body +z unblinded:
    the Sun behind it and the Earth straight behind it."""
    z_B_N = quat_to_dcm(q_BN)[2]
    return -z_B_N, 2.0 * R_EARTH_M * z_B_N


def sample(sensor, truth, n, generator, period_ns=100_000_000, t0_ns=0):
    return [sensor.measure(t0_ns + k * period_ns, *truth, generator) for k in range(n)]


# -- interface: contracts, timing, dropouts, faults -------------------------------------------


@pytest.mark.parametrize("name", CASE_NAMES)
@pytest.mark.parametrize("fault", [None, "dropout"])
def test_readings_fill_their_message_contracts(name, fault):
    make, truth, message = SENSOR_CASES[name]
    sensor = make()
    sensor.set_fault(fault)
    reading = sensor.measure(123_000_000, *truth, rng(2))
    assert reading.valid == (fault is None)
    _, decoded = decode(encode(message(**reading._asdict()), 0, 123_000_000, "plant"))
    for field, value in reading._asdict().items():
        np.testing.assert_array_equal(getattr(decoded, field), value)


@pytest.mark.parametrize("step_ms", [10, 30])
def test_poll_samples_on_the_rate_grid_and_delivers_after_the_latency(step_ms):
    make, truth, _ = SENSOR_CASES["star_tracker"]
    tracker = make(rate_hz=5.0, latency_s=0.1, dropout_probability=0.0)
    generator = rng(3)
    deliveries = []
    for t_ns in range(0, 2_000_000_001, step_ms * 1_000_000):
        deliveries += [(t_ns, r.t_meas_ns) for r in tracker.poll(t_ns, *truth, generator)]
    sampled = [t_meas for _, t_meas in deliveries]
    # samples at the first plant step at or after each 200 ms grid instant
    step_ns = step_ms * 1_000_000
    expected = [-(-k * 200_000_000 // step_ns) * step_ns for k in range(10)]
    assert sampled == expected
    for t_delivered, t_meas in deliveries:
        assert t_meas + 100_000_000 <= t_delivered < t_meas + 100_000_000 + step_ns


def test_a_plant_step_coarser_than_the_period_gives_one_sample_per_step():
    make, truth, _ = SENSOR_CASES["gyro"]
    gyro = make(rate_hz=10.0, latency_s=0.0)
    steps = range(0, 3_000_000_001, 250_000_000)
    delivered = [gyro.poll(t, *truth, rng(4)) for t in steps]
    assert [[r.t_meas_ns for r in d] for d in delivered] == [[t] for t in steps]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_sample_time_must_advance(name):
    make, truth, _ = SENSOR_CASES[name]
    sensor = make()
    sensor.measure(1000, *truth, rng())
    for t_ns in (1000, 999, -1, 1.5e9):
        with pytest.raises(ValueError, match="t_ns"):
            sensor.measure(t_ns, *truth, rng())


@pytest.mark.parametrize("name", CASE_NAMES)
def test_random_dropouts_occur_at_the_configured_rate(name):
    make, truth, _ = SENSOR_CASES[name]
    sensor = make(dropout_probability=0.2)
    valid = np.array([r.valid for r in sample(sensor, truth, 4000, rng(5))])
    # 4000 Bernoulli(0.2) draws: 1-sigma 0.0063
    assert np.mean(~valid) == pytest.approx(0.2, abs=0.025)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_the_freeze_fault_repeats_the_last_reading_with_fresh_time_stamps(name):
    make, truth, _ = SENSOR_CASES[name]
    sensor = make(dropout_probability=0.0)
    generator = rng(6)
    before = sample(sensor, truth, 3, generator)[-1]
    sensor.set_fault("freeze")
    frozen = sample(sensor, truth, 5, generator, t0_ns=10**9)
    for k, reading in enumerate(frozen):
        assert reading.t_meas_ns == 10**9 + k * 100_000_000
        assert _same_values(reading, before)
    sensor.set_fault(None)
    live = sample(sensor, truth, 2, generator, t0_ns=2 * 10**9)
    assert all(r.valid for r in live) and not _same_values(live[-1], before)


def _same_values(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a[1:], b[1:]))


@pytest.mark.parametrize("name", CASE_NAMES)
def test_the_dropout_fault_invalidates_every_reading_until_cleared(name):
    make, truth, _ = SENSOR_CASES[name]
    sensor = make(dropout_probability=0.0)
    generator = rng(7)
    sensor.set_fault("dropout")
    assert not any(r.valid for r in sample(sensor, truth, 20, generator))
    sensor.set_fault(None)
    assert all(r.valid for r in sample(sensor, truth, 5, generator, t0_ns=10**10))


def test_unknown_faults_are_refused():
    with pytest.raises(ValueError, match="fault"):
        SENSOR_CASES["gyro"][0]().set_fault("stuck")


@pytest.mark.parametrize("config, field, value", [
    (StarTrackerConfig, "rate_hz", 0.0), (StarTrackerConfig, "q_SB", (1.0, 1.0, 0.0, 0.0)),
    (StarTrackerConfig, "sigma_roll_arcsec", -1.0), (GyroConfig, "latency_s", -0.1),
    (GyroConfig, "max_rate_rad_s", 0.0), (GnssConfig, "tau_gm_s", 0.0),
    (GnssConfig, "n_sats_min", 3), (GnssConfig, "dropout_probability", 1.5),
    (RangefinderConfig, "max_range_m", 0.5), (RangefinderConfig, "boresight_B", (0, 0, 2)),
    (RangefinderConfig, "beam_half_angle_deg", 0.0),
])
def test_bad_configurations_are_refused(config, field, value):
    with pytest.raises(ValueError, match=field):
        config(**{field: value})


@pytest.mark.parametrize("name, position, bad, match", [
    ("star_tracker", 0, [1.0, 0.0, 0.0, 0.1], "unit quaternion"),
    ("star_tracker", 1, [0.0, 0.0, 0.0], "s_sun_N"),
    ("star_tracker", 2, [6.0e6, 0.0, 0.0], "outside the Earth"),
    ("gyro", 0, [np.nan, 0.0, 0.0], "finite"),
    ("gnss", 1, [0.0, 1.0], "shape"),
    ("rangefinder", 0, [0.0, 0.0, 0.5], "inside the target"),
    ("rangefinder", 2, -1.0, "target_radius_m"),
])
def test_bad_truth_is_refused(name, position, bad, match):
    make, truth, _ = SENSOR_CASES[name]
    truth = list(truth)
    truth[position] = bad
    with pytest.raises(ValueError, match=match):
        make().measure(0, *truth, rng())


# -- star tracker -------------------------------------------------------------------------


def test_star_tracker_noise_has_the_configured_cross_and_roll_sigma():
    config = StarTrackerConfig(alignment_sigma_arcsec=0.0, dropout_probability=0.0)
    tracker = StarTracker(config, rng(8))
    generator = rng(9)
    errors = []
    for k in range(3000):
        q_BN = random_unit_quaternion(generator)
        reading = tracker.measure(k * 10**8, q_BN, *clear_sky(q_BN), generator)
        errors.append(rotation_error_S(reading.q_BN, q_BN))
    errors = np.array(errors) / ARCSEC
    # 3000 draws: std within ~1.3% (1-sigma)
    np.testing.assert_allclose(np.std(errors, axis=0), [5.0, 5.0, 40.0], rtol=0.06)
    np.testing.assert_allclose(np.mean(errors, axis=0), 0.0, atol=3 * 40.0 / math.sqrt(3000))


def test_star_tracker_roll_noise_is_about_its_mounted_boresight():
    # tracker boresight +z_S along body +x: C_SB rows are the S axes in B
    q_SB = dcm_to_quat(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))
    config = StarTrackerConfig(q_SB=tuple(q_SB), alignment_sigma_arcsec=0.0,
                               dropout_probability=0.0)
    tracker = StarTracker(config, rng(10))
    generator = rng(11)
    sun_N = np.array([-1.0, 0.0, 0.0])  # opposite the boresight (body +x = N +x here)
    errors_B = np.array([rotation_error_S(
        tracker.measure(k * 10**8, IDENTITY, sun_N, R_LEO_N * 3, generator).q_BN, IDENTITY)
        for k in range(2000)]) / ARCSEC
    np.testing.assert_allclose(np.std(errors_B, axis=0), [40.0, 5.0, 5.0], rtol=0.07)


def test_star_tracker_alignment_error_is_a_constant_bias_of_the_configured_size():
    config = StarTrackerConfig(sigma_cross_arcsec=0.0, sigma_roll_arcsec=0.0,
                               dropout_probability=0.0)
    biases = []
    for seed in range(600):
        tracker = StarTracker(config, rng(seed))
        first, second = (tracker.measure(t, IDENTITY, *clear_sky(IDENTITY), rng(seed)).q_BN
                         for t in (0, 10**8))
        np.testing.assert_allclose(first, second, atol=1e-15)
        biases.append(rotation_error_S(first, IDENTITY))
    # 1800 draws: std within ~1.7% (1-sigma)
    assert np.std(np.array(biases) / ARCSEC) == pytest.approx(10.0, rel=0.06)


@settings(max_examples=60)
@given(seed=st.integers(0, 2**32 - 1), sun_angle_deg=st.floats(0.0, 180.0))
def test_star_tracker_is_blinded_exactly_within_the_sun_exclusion_angle(seed, sun_angle_deg):
    generator = rng(seed)
    tracker = StarTracker(StarTrackerConfig(dropout_probability=0.0), generator)
    q_BN = random_unit_quaternion(generator)
    boresight_N = quat_to_dcm(quat_mult(q_BN, tracker.q_SB_true)).T @ [0.0, 0.0, 1.0]
    normal = np.cross(boresight_N, generator.standard_normal(3))
    normal /= np.linalg.norm(normal)
    angle = math.radians(sun_angle_deg)
    sun_N = math.cos(angle) * boresight_N + math.sin(angle) * normal
    # the Earth far behind the boresight: only the Sun can blind
    r_BN_N = 2.0 * R_EARTH_M * boresight_N
    reading = tracker.measure(0, q_BN, sun_N, r_BN_N, generator)
    if abs(sun_angle_deg - 45.0) > 1e-6:
        assert reading.valid == (sun_angle_deg > 45.0)


@pytest.mark.parametrize("sun_N, lit", [([1.0, 0.0, 0.0], True), ([-1.0, 0.0, 0.0], False),
                                        ([0.0, 0.0, -1.0], True)])
@pytest.mark.parametrize("limb_gap_deg", [20.0, 30.0])
def test_star_tracker_is_blinded_by_the_lit_earth_limb_only(sun_N, lit, limb_gap_deg):
    config = StarTrackerConfig(alignment_sigma_arcsec=0.0, dropout_probability=0.0)
    tracker = StarTracker(config, rng())
    # boresight in the x-z plane, limb_gap_deg above the Earth's limb seen from R_LEO_N
    earth_radius_angle = math.asin(R_EARTH_M / np.linalg.norm(R_LEO_N))
    elevation = earth_radius_angle + math.radians(limb_gap_deg)
    boresight_N = np.array([-math.cos(elevation), 0.0, math.sin(elevation)])
    # body z (the boresight) to boresight_N: rotation about body/inertial y
    tilt = math.atan2(boresight_N[0], boresight_N[2])
    c_BN = np.array([[math.cos(tilt), 0.0, -math.sin(tilt)], [0.0, 1.0, 0.0],
                     [math.sin(tilt), 0.0, math.cos(tilt)]])
    q_BN = dcm_to_quat(c_BN)
    np.testing.assert_allclose(quat_to_dcm(q_BN).T @ [0, 0, 1], boresight_N, atol=1e-12)
    reading = tracker.measure(0, q_BN, np.array(sun_N), R_LEO_N, rng())
    blinded = lit and limb_gap_deg < config.earth_exclusion_deg
    assert reading.valid == (not blinded)


def test_star_tracker_reports_a_unit_quaternion_with_non_negative_scalar():
    tracker = StarTracker(StarTrackerConfig(dropout_probability=0.0), rng())
    generator = rng(12)
    for k in range(200):
        q_BN = random_unit_quaternion(generator)
        reading = tracker.measure(k, q_BN, *clear_sky(q_BN), generator)
        q_meas = reading.q_BN
        assert reading.valid and q_meas[0] >= 0.0
        assert np.linalg.norm(q_meas) == pytest.approx(1.0, abs=1e-14)
        # within 500 arcsec of the truth: |scalar part of q_true* (x) q_meas| = cos(angle / 2)
        assert abs(quat_mult(quat_conj(q_BN), q_meas)[0]) > math.cos(ARCSEC * 250)


# -- gyro ---------------------------------------------------------------------------------

QUIET_GYRO = GyroConfig(sigma_u_rad_per_s_sqrt_s=0.0, bias_initial_sigma_rad_s=0.0,
                        scale_factor_sigma=0.0, misalignment_sigma_rad=0.0)


def test_gyro_white_noise_has_sigma_v_over_root_dt():
    gyro = Gyro(QUIET_GYRO, rng(13))
    generator = rng(14)
    omega = np.array([0.1, -0.2, 0.05])
    errors = np.array([r.omega_BN_B for r in sample(gyro, (omega,), 4000, generator)]) - omega
    # 12000 draws: std within ~0.7% (1-sigma); 10 Hz samples
    expected = QUIET_GYRO.sigma_v_rad_per_sqrt_s / math.sqrt(0.1)
    assert np.std(errors) == pytest.approx(expected, rel=0.025)
    assert abs(np.mean(errors)) < 4 * expected / math.sqrt(errors.size)


def test_gyro_errors_integrate_to_farrenkopfs_angle_variance_and_bias_random_walk():
    sigma_v, sigma_u = 1e-4, 1e-5
    # irregular sampling, intervals alternating 0.5 s and 1.5 s (the first is one period)
    config = dataclasses.replace(QUIET_GYRO, sigma_v_rad_per_sqrt_s=sigma_v,
                                 sigma_u_rad_per_s_sqrt_s=sigma_u, rate_hz=2.0)
    intervals_ns = np.tile([500_000_000, 1_500_000_000], 40)
    times_ns = np.cumsum(intervals_ns)
    checkpoints = {20: [], 80: []}
    bias_at = {20: [], 80: []}
    for seed in range(300):
        gyro, generator = Gyro(config, rng(seed)), rng(10_000 + seed)
        angle = np.zeros(3)
        for t_ns, dt_ns in zip(times_ns, intervals_ns):
            angle += gyro.measure(int(t_ns), np.zeros(3), generator).omega_BN_B * dt_ns * 1e-9
            t_s = int(t_ns) // 10**9
            if t_ns % 10**9 == 0 and t_s in checkpoints:
                checkpoints[t_s].append(angle.copy())
                bias_at[t_s].append(gyro.bias_rad_s.copy())
    for t_s in checkpoints:
        assert len(checkpoints[t_s]) == 300
        # Farrenkopf: var(angle error) = sigma_v^2 t + sigma_u^2 t^3 / 3 (900 draws: ~5%)
        expected = sigma_v ** 2 * t_s + sigma_u ** 2 * t_s ** 3 / 3.0
        assert np.var(checkpoints[t_s]) == pytest.approx(expected, rel=0.15)
        # the bias is a random walk: var = sigma_u^2 t, linear in time
        assert np.var(bias_at[t_s]) == pytest.approx(sigma_u ** 2 * t_s, rel=0.15)


def test_a_gyro_sample_is_the_mean_of_the_bias_walk_over_its_interval():
    # from a zero bias, the mean over dt of a random walk of intensity sigma_u has variance
    # sigma_u^2 dt / 3 and covariance sigma_u^2 dt / 2 with the walk's end value
    sigma_u, dt_s = 1e-3, 2.0
    config = dataclasses.replace(QUIET_GYRO, sigma_v_rad_per_sqrt_s=0.0,
                                 sigma_u_rad_per_s_sqrt_s=sigma_u, rate_hz=1.0 / dt_s)
    outputs, ends = [], []
    for seed in range(1500):
        gyro = Gyro(config, rng(seed))
        outputs.append(gyro.measure(0, np.zeros(3), rng(20_000 + seed)).omega_BN_B)
        ends.append(gyro.bias_rad_s)
    outputs, ends = np.ravel(outputs), np.ravel(ends)
    # 4500 draws: variance within ~2.1%, covariance within ~2.5% (1-sigma)
    assert np.var(outputs) == pytest.approx(sigma_u ** 2 * dt_s / 3.0, rel=0.08)
    assert np.mean(outputs * ends) == pytest.approx(sigma_u ** 2 * dt_s / 2.0, rel=0.09)


def test_gyro_scale_factor_misalignment_and_turn_on_bias_have_the_configured_spread():
    config = GyroConfig(sigma_v_rad_per_sqrt_s=0.0, sigma_u_rad_per_s_sqrt_s=0.0)
    columns, biases = [], []
    for seed in range(400):
        gyro = Gyro(config, rng(seed))
        bias = gyro.bias_rad_s.copy()
        responses = [gyro.measure(k + 1, axis, rng()).omega_BN_B - bias
                     for k, axis in enumerate(np.eye(3))]
        columns.append(np.array(responses).T - np.eye(3))
        biases.append(bias)
    errors = np.array(columns)
    diagonal = errors[:, [0, 1, 2], [0, 1, 2]]
    off_diagonal = errors[:, ~np.eye(3, dtype=bool)]
    # 1200 and 2400 draws: std within ~2.0% and ~1.4% (1-sigma)
    assert np.std(diagonal) == pytest.approx(config.scale_factor_sigma, rel=0.07)
    assert np.std(off_diagonal) == pytest.approx(config.misalignment_sigma_rad, rel=0.06)
    assert np.std(biases) == pytest.approx(config.bias_initial_sigma_rad_s, rel=0.07)


def test_gyro_saturates_at_its_range_and_flags_the_sample():
    gyro = Gyro(QUIET_GYRO, rng())
    limit = QUIET_GYRO.max_rate_rad_s
    reading = gyro.measure(0, [1.5 * limit, -0.1, -2.0 * limit], rng())
    assert not reading.valid
    np.testing.assert_allclose(reading.omega_BN_B, [limit, -0.1, -limit], atol=1e-3)
    assert gyro.measure(10**8, [0.99 * limit, 0.0, 0.0], rng()).valid


# -- GNSS ---------------------------------------------------------------------------------

V_LEO_N = np.array([0.0, 7.5e3, 0.0])


def test_gnss_white_noise_has_the_configured_sigma():
    config = GnssConfig(sigma_r_gm_m=0.0, sigma_v_gm_mps=0.0, **NO_OUTAGES)
    receiver = GnssReceiver(config, rng(15))
    readings = sample(receiver, (R_LEO_N, V_LEO_N), 3000, rng(16), period_ns=10**9)
    r_err = np.array([r.r_BN_N for r in readings]) - R_LEO_N
    v_err = np.array([r.v_BN_N for r in readings]) - V_LEO_N
    # 9000 draws: std within ~0.75% (1-sigma)
    assert np.std(r_err) == pytest.approx(3.0, rel=0.03)
    assert np.std(v_err) == pytest.approx(0.03, rel=0.03)
    assert readings[0].sigma_r_m == 3.0 and readings[0].sigma_v_mps == 0.03
    assert all(r.valid and 7 <= r.n_sats <= 12 for r in readings)


def test_gnss_correlated_error_has_autocorrelation_one_over_e_at_tau():
    config = GnssConfig(sigma_r_white_m=0.0, sigma_v_white_mps=0.0, tau_gm_s=600.0,
                        **NO_OUTAGES)
    start, after_tau = [], []
    for seed in range(1000):
        receiver, generator = GnssReceiver(config, rng(seed)), rng(50_000 + seed)
        # ten fixes a tenth of tau apart: the exact discretisation composes
        readings = [receiver.measure(k * 60 * 10**9, R_LEO_N, V_LEO_N, generator)
                    for k in range(11)]
        start.append(np.r_[readings[0].r_BN_N - R_LEO_N, readings[0].v_BN_N - V_LEO_N])
        after_tau.append(np.r_[readings[10].r_BN_N - R_LEO_N, readings[10].v_BN_N - V_LEO_N])
    start, after_tau = np.array(start), np.array(after_tau)
    scale = np.array([2.0] * 3 + [0.01] * 3)
    x0, x1 = (start / scale).ravel(), (after_tau / scale).ravel()
    # 6000 pairs: sample std within ~0.9%, correlation within ~0.011 (1-sigma)
    assert np.std(x0) == pytest.approx(1.0, rel=0.035)
    assert np.std(x1) == pytest.approx(1.0, rel=0.035)
    assert np.corrcoef(x0, x1)[0, 1] == pytest.approx(math.exp(-1.0), abs=0.04)


def test_gnss_outages_follow_the_two_state_markov_chain():
    config = GnssConfig(mean_time_between_outages_s=225.0, mean_outage_s=75.0)
    lag_s = 60.0
    before, after = [], []
    for seed in range(4000):
        receiver, generator = GnssReceiver(config, rng(seed)), rng(90_000 + seed)
        first = receiver.measure(0, R_LEO_N, V_LEO_N, generator)
        second = receiver.measure(int(lag_s * 1e9), R_LEO_N, V_LEO_N, generator)
        before.append(not first.valid)
        after.append(not second.valid)
        for reading in (first, second):
            assert reading.valid == (reading.n_sats >= 4)
    before, after = np.array(before), np.array(after)
    p_outage = 75.0 / 300.0
    settle = 1.0 - math.exp(-lag_s * (1 / 225.0 + 1 / 75.0))
    # 4000 draws: 1-sigma 0.007; the conditionals from ~1000 and ~3000 draws
    assert before.mean() == pytest.approx(p_outage, abs=0.025)
    assert after[before].mean() == pytest.approx(1.0 - (1.0 - p_outage) * settle, abs=0.05)
    assert after[~before].mean() == pytest.approx(p_outage * settle, abs=0.03)


# -- rangefinder --------------------------------------------------------------------------

QUIET_LRF = RangefinderConfig(sigma_floor_m=0.0, sigma_range_fraction=0.0, bias_sigma_m=0.0,
                              dropout_probability=0.0)


def reference_first_return(r_TB_N, boresight_N, half_angle, radius):
    """Brute force: the nearest ray-sphere hit over rays filling the beam cone, or None."""
    e1 = np.cross(boresight_N, [1.0, 0.0, 0.0] if abs(boresight_N[0]) < 0.9 else [0, 1.0, 0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(boresight_N, e1)
    cone, azimuth = np.meshgrid(np.linspace(0.0, half_angle, 100),
                                np.linspace(0.0, 2 * np.pi, 1000, endpoint=False))
    rays = (np.cos(cone)[..., None] * boresight_N
            + np.sin(cone)[..., None] * (np.cos(azimuth)[..., None] * e1
                                         + np.sin(azimuth)[..., None] * e2)).reshape(-1, 3)
    along = rays @ r_TB_N
    miss_sq = r_TB_N @ r_TB_N - along ** 2
    hits = (miss_sq <= radius ** 2) & (along > 0.0)
    if not hits.any():
        return None
    return float(np.min(along[hits] - np.sqrt(radius ** 2 - miss_sq[hits])))


@settings(max_examples=60, deadline=None)
@given(distance_m=st.floats(5.0, 100.0), off_axis_deg=st.floats(0.0, 3.0),
       radius_m=st.floats(0.5, 3.0), seed=st.integers(0, 2**32 - 1))
def test_rangefinder_returns_the_nearest_surface_point_inside_its_beam(distance_m, off_axis_deg,
                                                                      radius_m, seed):
    generator = rng(seed)
    lrf = Rangefinder(dataclasses.replace(QUIET_LRF, beam_half_angle_deg=0.5), generator)
    q_BN = random_unit_quaternion(generator)
    boresight_N = quat_to_dcm(q_BN).T @ lrf.boresight_B
    normal = np.cross(boresight_N, generator.standard_normal(3))
    normal /= np.linalg.norm(normal)
    angle = math.radians(off_axis_deg)
    r_TB_N = distance_m * (math.cos(angle) * boresight_N + math.sin(angle) * normal)
    reading = lrf.measure(0, r_TB_N, q_BN, radius_m, generator)
    expected = reference_first_return(r_TB_N, boresight_N, math.radians(0.5), radius_m)
    beam_edge = math.radians(0.5) + math.asin(radius_m / distance_m)
    if abs(angle - beam_edge) < 2e-3:
        return  # the brute-force grid cannot resolve the grazing edge
    assert reading.valid == (expected is not None)
    if expected is not None:
        # the brute force's rays are <= 9e-5 rad from the best one, where the range changes
        # by < 2 distance_m per rad; it can only over-estimate the nearest return
        assert reading.range_m == pytest.approx(expected, abs=3e-4 * distance_m)
        assert reading.range_m <= expected + 1e-9


@pytest.mark.parametrize("distance_m, valid", [
    (1.5, False), (2.0, True), (2.1, True), (4000.0, True), (5001.0, True), (5001.1, False),
    (1e5, False),
])
def test_rangefinder_is_valid_only_between_its_minimum_and_maximum_range(distance_m, valid):
    lrf = Rangefinder(QUIET_LRF, rng())
    reading = lrf.measure(0, [0.0, 0.0, distance_m], IDENTITY, 1.0, rng())
    assert reading.valid == valid
    assert reading.range_m == (pytest.approx(distance_m - 1.0) if valid else 0.0)


def test_rangefinder_noise_and_bias_have_the_configured_sigma():
    config = RangefinderConfig(dropout_probability=0.0)
    lrf = Rangefinder(config, rng(17))
    readings = sample(lrf, ([0.0, 0.0, 1001.0], IDENTITY, 1.0), 4000, rng(18))
    errors = np.array([r.range_m for r in readings]) - 1000.0
    expected_sigma = config.sigma_floor_m + config.sigma_range_fraction * 1000.0
    # 4000 draws: std within ~1.1% (1-sigma); the mean is this unit's bias
    assert np.std(errors) == pytest.approx(expected_sigma, rel=0.04)
    assert np.mean(errors) == pytest.approx(lrf.bias_m, abs=4 * expected_sigma / 63.0)
    assert readings[0].sigma_m == pytest.approx(expected_sigma, rel=1e-3)
    biases = [Rangefinder(config, rng(seed)).bias_m for seed in range(1500)]
    assert np.std(biases) == pytest.approx(config.bias_sigma_m, rel=0.06)
