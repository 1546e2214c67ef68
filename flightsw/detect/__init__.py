"""Optical source detection: camera frame -> measured point sources."""
from flightsw.detect.extract import (
    FLAG_CENTROID_ISOPHOTAL,
    FLAG_EDGE,
    FLAG_SATURATED,
    SOURCE_DTYPE,
    extract_sources,
)

__all__ = [
    "FLAG_CENTROID_ISOPHOTAL",
    "FLAG_EDGE",
    "FLAG_SATURATED",
    "SOURCE_DTYPE",
    "extract_sources",
]
