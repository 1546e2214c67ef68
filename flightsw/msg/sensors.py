"""Sensor data as the hardware interfaces deliver it to the flight software."""
from flightsw.msg.schema import Field, Message


class CameraFrame(Message):
    """One exposure of the navigation camera. Pixels travel as a separate zero-copy frame."""

    TOPIC = "sensor.camera.frame"
    VERSION = 1
    FIELDS = (
        Field.u64("frame_id", "count", "frame counter of the camera"),
        Field.u64("t_exposure_start_ns", "ns", "sim time the exposure opened"),
        Field.f64("exposure_s", "s", "integration time", lo=0.0, hi=60.0),
        Field.f64("gain_e_per_dn", "e-/DN", "conversion gain", lo=1e-3, hi=1e3),
        Field.array("image", "DN", "pixel values, row-major, row 0 at the top",
                    dtypes=("<u2",), max_shape=(4096, 4096)),
    )
