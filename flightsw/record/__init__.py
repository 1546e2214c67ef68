"""Run recording: every message of a run, readable with msgpack alone."""
from flightsw.record.reader import Recording
from flightsw.record.writer import Recorder

__all__ = ["Recorder", "Recording"]
