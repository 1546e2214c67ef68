"""Sky background and its RMS on a coarse mesh (SExtractor approach).

Bertin & Arnouts 1996, A&AS 117, 393, section 3.1: per box of about
`mesh_px` x `mesh_px` pixels a clipped-histogram mode and sigma, a 3x3 median
filter over the mesh, and interpolation back to full resolution (bilinear
here).  Robust to stars (clipping, mode) and to smooth gradients such as
earthshine or stray light (the mesh follows them; bilinear interpolation is
exact for a linear gradient).  Values are in DN.
"""
from dataclasses import dataclass

import numpy as np

from flightsw.native import require

_background = require("flightsw.detect._background")

# Smallest RMS a box may report: the quantisation noise of a one-DN step,
# so a flat (e.g. synthetic or clipped) region cannot give a zero threshold.
RMS_FLOOR_DN = 1.0 / np.sqrt(12.0)


@dataclass(frozen=True)
class BackgroundMesh:
    """Background and RMS (DN) at the mesh box centres.

    bkg_dn, rms_dn: (ny, nx) mesh values; centres_y, centres_x: box centres in
    pixel coordinates (0-based, pixel centres on integers).  bkg_cols and
    rms_cols are the mesh rows interpolated to every column (float32,
    (ny, width)); the kernels blend them along y.  Beyond the outer box
    centres the background is extrapolated linearly, the RMS held constant.
    """

    bkg_dn: np.ndarray
    rms_dn: np.ndarray
    centres_y: np.ndarray
    centres_x: np.ndarray
    bkg_cols: np.ndarray
    rms_cols: np.ndarray


def mesh_edges(length_px: int, mesh_px: int) -> np.ndarray:
    """Box boundaries along one axis: round(length/mesh) boxes of near-equal size."""
    count = max(1, int(round(length_px / mesh_px)))
    return (np.arange(count + 1, dtype=np.intp) * length_px) // count


def box_centres(edges: np.ndarray) -> np.ndarray:
    """Pixel coordinate of each box's centre (pixel centres on integers)."""
    return 0.5 * (edges[:-1] + edges[1:] - 1).astype(np.float64)


def estimate_background(frame: np.ndarray, mesh_px: int = 64, sample_step: int = 2,
                        saturation_dn: float = np.inf) -> BackgroundMesh:
    """Background mesh of a 2-D uint16 or float32 frame (C-contiguous, finite, validated by the caller).

    sample_step: pixels on a step x step lattice fill each box histogram
    (2 reads a quarter of the frame).  Pixels >= saturation_dn are ignored;
    boxes mostly saturated are filled from their neighbours.  Raises
    ValueError if no box has enough unsaturated pixels.
    """
    edges_y = mesh_edges(frame.shape[0], mesh_px)
    edges_x = mesh_edges(frame.shape[1], mesh_px)
    bkg, rms, valid = _background.mesh_statistics(
        frame, edges_y, edges_x, sample_step, float(saturation_dn),
        np.issubdtype(frame.dtype, np.integer))
    if not (_background.fill_invalid(bkg, valid) and _background.fill_invalid(rms, valid)):
        raise ValueError("frame has no background: every mesh box is mostly saturated")
    bkg = _background.median_filter_mesh(bkg)
    rms = np.maximum(_background.median_filter_mesh(rms), RMS_FLOOR_DN)
    centres_y = box_centres(edges_y)
    centres_x = box_centres(edges_x)
    width = frame.shape[1]
    return BackgroundMesh(
        bkg_dn=bkg, rms_dn=rms, centres_y=centres_y, centres_x=centres_x,
        bkg_cols=_background.interpolate_mesh_columns(bkg, centres_x, width),
        rms_cols=_background.interpolate_mesh_columns(rms, centres_x, width, False),
    )
