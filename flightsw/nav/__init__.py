"""Navigation: attitude (MEKF), own orbit (GNSS EKF) and relative navigation of the target."""
from flightsw.nav.app import NavApp

__all__ = ["NavApp"]
