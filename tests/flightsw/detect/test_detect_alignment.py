"""The attitude prior's calibration against the camera's star fits (flightsw.detect.alignment).

The truth here is built with scipy's rotations, independently of flightsw.detect.rotation: a
constant body-frame offset of the prior (the star tracker's mount error), the MEKF's own error
as a time-correlated (first-order Gauss-Markov) process of the stated sigma, and star fits with
the covariance of a 10 deg field (sharp across the boresight, loose in roll).
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.spatial.transform import Rotation
from test_detect_stars import (ARCSEC, EPOCH_JYEAR, PSF_SIGMA, Imager, faint_population, q_BN_looking_at,
                               sky_direction, sky_frame)

from flightsw.detect.alignment import AlignmentConfig, PriorCalibration
from flightsw.detect.catalog import load_onboard_catalog
from flightsw.detect.pipeline import DetectionPipeline, PipelineConfig
from flightsw.detect.stars import StarMatchConfig

CHI2_3_999 = 16.27


def q_scalar_first(rotation: Rotation) -> np.ndarray:
    """q_BN (scalar first) of the frame rotation whose C_BN is rotation.as_matrix().T."""
    x, y, z, w = rotation.as_quat()
    q = np.array([w, x, y, z])
    return q if q[0] >= 0 else -q


def turned_in_body(q_BN, theta_B):
    """The attitude whose body frame is turned by theta_B (rad, in B) from q_BN's:
    C_B'N = (I - [theta x]) C_BN to first order (scipy, scalar first)."""
    C_NB = Rotation.from_quat([q_BN[1], q_BN[2], q_BN[3], q_BN[0]])
    return q_scalar_first(C_NB * Rotation.from_rotvec(theta_B))


def offset_in_body(q_est, q_true):
    """theta_B with q_est = turned_in_body(q_true, theta_B) (scipy)."""
    r_est = Rotation.from_quat([q_est[1], q_est[2], q_est[3], q_est[0]])
    r_true = Rotation.from_quat([q_true[1], q_true[2], q_true[3], q_true[0]])
    return (r_true.inv() * r_est).as_rotvec()


def fit_covariance_B(rng, cross_arcsec=1.0, roll_arcsec=15.0):
    """A star fit's covariance in B for a camera mounted at a random attitude in the body."""
    C_CB = Rotation.random(random_state=rng.integers(2**31)).as_matrix()
    P_C = np.diag([cross_arcsec, cross_arcsec, roll_arcsec]) ** 2 * ARCSEC**2
    return C_CB.T @ P_C @ C_CB


def fly(seed, n_fits=300, dt_s=10.0, offset_arcsec=10.0, nav_arcsec=3.0, nav_tau_s=60.0):
    """Feed n_fits star fits to a calibration; returns (calibration, true offset, per-frame NIS
    of the corrected prior's error against its stated covariance)."""
    rng = np.random.default_rng(seed)
    offset = offset_arcsec * ARCSEC * rng.standard_normal(3)
    P_fit_B = fit_covariance_B(rng)
    P_att_B = np.eye(3) * (nav_arcsec * ARCSEC) ** 2
    fit_chol = np.linalg.cholesky(P_fit_B)
    phi = np.exp(-dt_s / nav_tau_s)
    nav_error = nav_arcsec * ARCSEC * rng.standard_normal(3)
    calibration = PriorCalibration(AlignmentConfig(initial_sigma_arcsec=offset_arcsec))
    nis = []
    for k in range(n_fits):
        q_true = q_scalar_first(Rotation.random(random_state=rng.integers(2**31)))
        nav_error = phi * nav_error + np.sqrt(1 - phi**2) * nav_arcsec * ARCSEC * rng.standard_normal(3)
        q_prior = turned_in_body(q_true, offset + nav_error)
        q_corrected, P_corrected = calibration.correct(q_prior, P_att_B)
        error = offset_in_body(q_corrected, q_true)
        nis.append(error @ np.linalg.solve(P_corrected, error))
        q_fit = turned_in_body(q_true, fit_chol @ rng.standard_normal(3))
        assert calibration.update(k * dt_s, q_prior, P_att_B, q_fit, P_fit_B)
    return calibration, offset, np.array(nis)


@pytest.mark.parametrize("seed", range(6))
def test_the_offset_is_recovered_and_the_corrected_prior_is_consistent(seed):
    calibration, offset, nis = fly(seed)
    miss = calibration.b - offset
    # the offset is known to about the MEKF's error, which is correlated over several fits and
    # so stays partly in the estimate: the miss is consistent with both covariances together
    assert np.linalg.norm(miss) < 5.0 * ARCSEC
    P_att_B = np.eye(3) * (3.0 * ARCSEC) ** 2
    assert miss @ np.linalg.solve(calibration.P + P_att_B, miss) < CHI2_3_999
    settled = nis[30:]
    assert 1.0 < settled.mean() < 4.5                      # chi2(3): mean 3
    assert np.mean(settled > CHI2_3_999) < 0.02
    # and it is tighter than the offset's prior: the 10 arcsec went, ~1 arcsec is left
    assert calibration.sigma_rad < 2.0 * ARCSEC


def test_before_any_fit_the_prior_is_unchanged_and_carries_the_alignment_budget():
    """The reference case: with no fit yet, correct() leaves the attitude as it is and adds the
    tracker's alignment sigma to its covariance, so an 8-7 arcsec mount error is inside it
    while against the MEKF's 3 arcsec alone it is not."""
    offset = ARCSEC * np.array([8.0, -6.0, 7.0])             # the tracker's 10 arcsec budget
    P_att_B = np.eye(3) * (3.0 * ARCSEC) ** 2
    q_true = q_scalar_first(Rotation.random(random_state=1))
    q_prior = turned_in_body(q_true, offset)
    q, P = PriorCalibration(AlignmentConfig(initial_sigma_arcsec=10.0)).correct(q_prior, P_att_B)
    assert np.linalg.norm(offset_in_body(q, q_prior)) < 1e-3 * ARCSEC
    assert np.allclose(P, P_att_B + np.eye(3) * (10.0 * ARCSEC) ** 2)
    error = offset_in_body(q, q_true)
    assert error @ np.linalg.solve(P_att_B, error) > CHI2_3_999
    assert error @ np.linalg.solve(P, error) < CHI2_3_999


def test_a_wrong_fit_is_refused_and_repeated_refusals_restart_the_calibration():
    calibration, offset, _ = fly(0, n_fits=50)
    b, P = calibration.b.copy(), calibration.P.copy()
    q_true = q_scalar_first(Rotation.random(random_state=3))
    q_prior = turned_in_body(q_true, offset)
    wrong = turned_in_body(q_true, np.radians([0.5, 0.0, 0.0]))       # a misidentified field
    P_att_B = np.eye(3) * (3.0 * ARCSEC) ** 2
    P_fit_B = np.eye(3) * ARCSEC**2
    t_s = 1000.0
    assert not calibration.update(t_s, q_prior, P_att_B, wrong, P_fit_B)
    assert np.array_equal(calibration.b, b) and calibration.refused == 1
    assert np.all(np.linalg.eigvalsh(calibration.P - P) >= -1e-30)    # only the drift added
    for k in range(1, calibration.config.restart_after):
        assert not calibration.update(t_s + k, q_prior, P_att_B, wrong, P_fit_B)
    assert calibration.restarts == 1 and calibration.refused == calibration.config.restart_after
    assert np.array_equal(calibration.b, np.zeros(3))
    assert calibration.sigma_rad == pytest.approx(10.0 * ARCSEC)
    # a NaN fit is refused, never taken
    assert not calibration.update(t_s + 20, q_prior, P_att_B, q_true, P_fit_B * np.nan)
    assert np.all(np.isfinite(calibration.b))


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.0, 40.0))
def test_one_sharp_fit_takes_the_whole_offset_out(seed, offset_arcsec):
    rng = np.random.default_rng(seed)
    offset = offset_arcsec * ARCSEC * rng.standard_normal(3) / np.sqrt(3)
    q_true = q_scalar_first(Rotation.random(random_state=seed))
    q_prior = turned_in_body(q_true, offset)
    tiny = np.eye(3) * (1e-3 * ARCSEC) ** 2
    calibration = PriorCalibration(AlignmentConfig(initial_sigma_arcsec=20.0))
    assert calibration.update(0.0, q_prior, tiny, q_true, tiny)
    q_corrected, P_corrected = calibration.correct(q_prior, tiny)
    assert np.linalg.norm(offset_in_body(q_corrected, q_true)) < 0.01 * ARCSEC
    assert np.allclose(P_corrected, tiny + calibration.P)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        AlignmentConfig(initial_sigma_arcsec=0.0)
    with pytest.raises(ValueError):
        AlignmentConfig(restart_after=0)
    with pytest.raises(ValueError):
        PriorCalibration().correct([np.nan, 0, 0, 0], np.eye(3))


def test_the_pipeline_calibrates_its_prior_on_real_sky_frames():
    """A prior 20 arcsec off in B that states 2 arcsec: after a few frames of the Hipparcos sky
    the pipeline's corrected prior is consistent with its covariance and within a few arcsec."""
    rng = np.random.default_rng(11)
    imager = Imager()
    camera = imager.flight_model()
    pipeline = DetectionPipeline(camera, load_onboard_catalog(8.5, EPOCH_JYEAR),
                                 StarMatchConfig(psf_sigma_px=PSF_SIGMA),
                                 config=PipelineConfig(saturation_dn=15000.0))
    offset = 20.0 * ARCSEC * np.array([0.6, -0.48, 0.64])
    P_att_B = np.eye(3) * (2.0 * ARCSEC) ** 2
    for k, (ra, dec) in enumerate([(80.0, 20.0), (82.0, 21.0), (84.0, 22.0), (86.0, 23.0)]):
        q_true = q_BN_looking_at(sky_direction(ra, dec), roll_rad=0.3 * k)
        frame = sky_frame(rng, imager, q_true, faint_population(rng, sky_direction(ra, dec), np.radians(8)))
        q_prior = turned_in_body(q_true, offset)
        if k == 0:
            q_raw, P_raw = pipeline.calibration.correct(q_prior, P_att_B)
            first = offset_in_body(q_raw, q_true)
        result = pipeline.process(frame, 10.0 * k, q_prior, P_att_B, exposure_s=0.1)
        assert result.stars.valid
    assert first @ np.linalg.solve(P_att_B, first) > 50.0                 # the raw prior: way off
    q_corrected, P_corrected = pipeline.calibration.correct(q_prior, P_att_B)
    error = offset_in_body(q_corrected, q_true)
    assert error @ np.linalg.solve(P_corrected, error) < CHI2_3_999
    assert np.hypot(error[0], error[1]) < 3.0 * ARCSEC                  # the camera's cross axes
    assert pipeline.calibration.accepted == 4
