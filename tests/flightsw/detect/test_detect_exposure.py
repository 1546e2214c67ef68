"""Exposure control: the law's branches, and its convergence on a linear detector that clips."""
import pytest
from hypothesis import given, settings, strategies as st

from flightsw.detect.exposure import ExposureConfig, ExposureControl

CFG = ExposureConfig()          # nominal 0.1 s, min 1e-5 s, saturation 15000 DN


def test_a_saturated_target_quarters_the_exposure():
    assert ExposureControl().update(0.1, 15100.0) == pytest.approx(0.025)


def test_a_bright_target_is_brought_to_the_aim_in_one_step():
    assert ExposureControl().update(0.01, 13000.0) == pytest.approx(0.01 * 7500.0 / 13000.0)


def test_a_faint_target_lengthens_a_short_exposure_at_most_fourfold_and_never_past_nominal():
    assert ExposureControl().update(0.001, 100.0) == pytest.approx(0.004)
    assert ExposureControl().update(0.05, 1000.0) == pytest.approx(0.1)
    assert ExposureControl().update(0.1, 100.0) is None      # faint at nominal: nothing to gain


def test_inside_the_band_or_the_dead_band_nothing_is_commanded():
    control = ExposureControl()
    assert control.update(0.01, 7000.0) is None
    assert control.update(1e-5, 20000.0) is None             # at the shortest: nowhere to go
    assert control.commands == 0


def test_without_a_target_the_exposure_returns_to_nominal_after_release_frames():
    control = ExposureControl()
    out = [control.update(0.001, None) for _ in range(CFG.release_frames)]
    assert out[:-1] == [None] * (CFG.release_frames - 1) and out[-1] == pytest.approx(0.1)
    control.update(0.001, 7000.0)                           # a target seen restarts the count
    assert control.update(0.001, None) is None


def test_the_config_refuses_inconsistent_levels():
    with pytest.raises(ValueError):
        ExposureConfig(low=0.6, aim=0.5)
    with pytest.raises(ValueError):
        ExposureConfig(min_s=0.2, nominal_s=0.1)


@settings(max_examples=300, deadline=None)
@given(rate_dn_s=st.floats(1e2, 1e11), bias=st.floats(0.0, 200.0))
def test_on_a_linear_detector_that_clips_it_settles_in_the_band_within_ten_frames(rate_dn_s, bias):
    """Peak = bias + rate t, clipped at 15100 DN (full well); the command takes effect from the
    next frame.  From nominal it settles, then commands nothing more; it ends in the band
    unless the target is too bright at the shortest exposure or too faint at nominal."""
    control = ExposureControl(CFG)
    exposure, history = CFG.nominal_s, []
    for _ in range(14):
        peak = min(bias + rate_dn_s * exposure, 15100.0)
        history.append(exposure)
        wanted = control.update(exposure, peak)
        assert wanted is None or CFG.min_s <= wanted <= CFG.nominal_s
        exposure = wanted if wanted is not None else exposure
    assert len(set(history[10:])) == 1                      # settled by the tenth frame
    peak = min(bias + rate_dn_s * exposure, 15100.0)
    at_min, at_nominal = exposure == CFG.min_s, exposure == CFG.nominal_s
    assert (CFG.low * CFG.saturation_dn / CFG.deadband <= peak <= CFG.high * CFG.saturation_dn
            or at_min and peak > CFG.high * CFG.saturation_dn
            or at_nominal and peak < CFG.aim * CFG.saturation_dn)
