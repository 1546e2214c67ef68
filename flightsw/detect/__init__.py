"""Optical detection: camera frame -> point sources -> stars identified -> the target's track.

extract_sources finds and measures point sources; match_stars identifies catalogue stars and
refines the attitude; DetectionPipeline runs a frame through extraction, star matching,
screening, candidate confirmation and tracking; plan_search covers the ground cue's
uncertainty with camera pointings; DetectApp is the flight app.
"""
from flightsw.detect.app import DetectApp
from flightsw.detect.camera import CameraModel
from flightsw.detect.catalog import OnboardCatalog, load_onboard_catalog
from flightsw.detect.extract import (
    FLAG_CENTROID_ISOPHOTAL,
    FLAG_EDGE,
    FLAG_SATURATED,
    SOURCE_DTYPE,
    extract_sources,
)
from flightsw.detect.pipeline import DetectionPipeline, FrameResult, PipelineConfig
from flightsw.detect.search import CueState, SearchConfig, SearchPlan, SearchProgress, plan_search
from flightsw.detect.stars import StarMatchConfig, StarSolution, match_stars
from flightsw.detect.candidates import CandidateConfig
from flightsw.detect.track import TrackConfig, TrackUpdate

__all__ = [
    "FLAG_CENTROID_ISOPHOTAL",
    "FLAG_EDGE",
    "FLAG_SATURATED",
    "SOURCE_DTYPE",
    "extract_sources",
    "DetectApp",
    "CameraModel",
    "OnboardCatalog",
    "load_onboard_catalog",
    "StarMatchConfig",
    "StarSolution",
    "match_stars",
    "CandidateConfig",
    "TrackConfig",
    "TrackUpdate",
    "DetectionPipeline",
    "FrameResult",
    "PipelineConfig",
    "CueState",
    "SearchConfig",
    "SearchPlan",
    "SearchProgress",
    "plan_search",
]
