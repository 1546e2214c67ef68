"""Detection outputs: the target track from the camera, and detection health."""
from flightsw.msg.schema import Field, Message


class TargetTrack(Message):
    """The target as the camera sees it: a bearing with uncertainty, brightness, size."""

    TOPIC = "detect.track"
    VERSION = 2
    FIELDS = (
        Field.u64("t_meas_ns", "ns", "mid-exposure sim time of the frame"),
        Field.u64("track_id", "count", "identifier of the confirmed track"),
        Field.vec("u_N", "1", "unit line-of-sight from chaser to target, ECI J2000", 3,
                  lo=-1.0, hi=1.0),
        Field.vec("P_u", "rad^2", "3x3 covariance of the line of sight (rank 2, across it)",
                  (3, 3), lo=-1.0, hi=1.0),
        Field.f64("x_px", "px", "centre of the target in the frame, column", lo=-1e4, hi=1e4),
        Field.f64("y_px", "px", "centre of the target in the frame, row", lo=-1e4, hi=1e4),
        Field.f64("flux_dn", "DN", "background-subtracted brightness", lo=0.0),
        Field.f64("snr", "1", "signal-to-noise ratio of the detection", lo=0.0),
        Field.boolean("resolved", "the target is an extended body, not a point source"),
        Field.f64("apparent_radius_rad", "rad", "angular radius of the figure if resolved, else 0",
                  lo=0.0, hi=1.0),
        Field.u64("frames_tracked", "count", "consecutive frames with the target found"),
        Field.text("state", "track state", choices=("tentative", "confirmed", "coasting")),
        Field.boolean("saturated", "the measured target has saturated pixels (flux a lower bound)"),
    )


class DetectHealth(Message):
    """What detection did with the frames since its last report.

    Time per frame is the app's step time, in health.app_timing (wall clock is kept out of
    this message so that runs stay reproducible).
    """

    TOPIC = "detect.health"
    VERSION = 4
    FIELDS = (
        Field.u64("frames", "count", "frames processed, cumulative"),
        Field.u64("frames_rejected", "count", "frames refused (bad shape, NaN, saturated...)"),
        Field.text("last_rejection", "why the last frame was refused", max_len=200),
        Field.u64("sources", "count", "sources extracted in the last frame"),
        Field.u64("star_matches", "count", "sources matched to catalogue stars, last frame"),
        Field.u64("unmatched", "count", "sources not explained by the catalogue, last frame"),
        Field.f64("attitude_residual_rad", "rad", "RMS star residual after attitude refinement",
                  lo=0.0, allow_nan=True),
        Field.f64("exposure_s", "s", "integration time of the last frame processed (0: none yet)",
                  lo=0.0, hi=60.0),
        Field.f64("target_peak_dn", "DN", "brightest raw pixel of the target in the last frame "
                  "(0: not measured)", lo=0.0),
        Field.u64("exposure_commands", "count", "exposure changes commanded, cumulative"),
        Field.vec("prior_offset_B_rad", "rad", "estimated error of the attitude prior in the body "
                  "frame (q_prior = q_true (x) q(offset)), from the star fits", 3, lo=-0.1, hi=0.1),
        Field.f64("prior_offset_sigma_rad", "rad", "largest 1-sigma of that estimate", lo=0.0),
        Field.u64("prior_fits_refused", "count", "star fits the prior calibration gated out, cumulative"),
        Field.u64("frames_frozen", "count", "frames refused as a repeat of the one before (a hung "
                  "camera re-sending its last image), cumulative"),
        Field.u64("frames_attitude_extrapolated", "count", "frames whose attitude prior was carried "
                  "from one side, not interpolated between estimates either side, cumulative"),
    )
