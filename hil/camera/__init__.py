"""The plant's camera model: real star catalogue, faint-star population, target, bright bodies,
PSF, motion smear, stray light, detector noise and defects, rendered to uint16 frames.

Plant side only: the flight software gets frames and, as data, the onboard catalogue.
"""

from hil.camera.camera import Camera, Scene, StarSky, Target
from hil.camera.catalog import onboard_catalog, sky_catalog
from hil.camera.params import CameraParams

__all__ = ["Camera", "CameraParams", "Scene", "StarSky", "Target", "onboard_catalog", "sky_catalog"]
