"""Which build of flightsw a process runs: a launcher or a cluster checks that its workers run
the build it runs. Pure Python importing nothing else of the project, so that even a process
with a broken build can load it and say so."""
from __future__ import annotations

from pathlib import Path


def build_info(probe: str = "flightsw.msg._vec") -> dict:
    """Where this process imports flightsw from and whether its compiled kernels load (one,
    ``probe``, is tried): {"package": folder, "error": None or why it does not load}."""
    import flightsw
    from flightsw.native import require

    try:
        require(probe)
        error = None
    except ImportError as exc:
        error = str(exc)
    return {"package": str(Path(flightsw.__file__).resolve().parent), "error": error}
