"""Vehicle health: liveness of apps, error totals, fault detection."""
from flightsw.health.app import HealthApp

__all__ = ["HealthApp"]
