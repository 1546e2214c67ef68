"""The HIL plant as an app: truth dynamics, sensors, actuators, faults (see hil.plant.app)."""
from hil.plant.app import Plant
from hil.plant.config import PlantConfig, parse_plant
from hil.plant.faults import Fault

__all__ = ["Fault", "Plant", "PlantConfig", "parse_plant"]
