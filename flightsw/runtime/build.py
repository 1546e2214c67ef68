"""Which build of flightsw a process runs: a launcher or a cluster checks that its workers run
the build it runs. Pure Python importing nothing else of the project, so that even a process
with a broken build can load it and say so."""
from __future__ import annotations

from pathlib import Path


# One BLAS thread per process: the apps' matrices are small, and a BLAS pool of two threads on
# a shared two-core bench made the health app's thruster test 6x slower than one thread (169 ms
# against 29 ms a solve, measured under load); a flight computer runs an app on one thread.
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def one_blas_thread(env) -> None:
    """Set the BLAS thread counts in env (os.environ before numpy loads, or a child's
    environment) to 1, keeping any already set."""
    for var in BLAS_THREAD_VARS:
        env.setdefault(var, "1")


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
