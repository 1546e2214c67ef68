"""The run folder's plots (PNG). Figures are drawn on matplotlib's Agg canvas (no pyplot, no
screen) and long series are decimated to at most MAX_POINTS, so a 48 h run plots in seconds."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Patch

from flightsw.msg.guidance import PHASES
from hil.report.analysis import NS_PER_S, Analysis
from hil.report.load import COVERAGE_GOAL

MAX_POINTS = 20_000
DPI = 110
PHASE_COLOURS = dict(zip(PHASES, ("#7f7f7f", "#9467bd", "#1f77b4", "#17becf", "#2ca02c",
                                  "#ff7f0e", "#8c564b", "#d62728")))
# The proximity view of the trajectory spans the inspection's largest range with this margin;
# without an inspection, this many keep-out radii or at least 2 km.
ZOOM_MARGIN = 1.3
ZOOM_KEEPOUTS = 20.0
ZOOM_MIN_M = 2000.0
# The range plot draws the keep-out radius when the run comes within this many radii of it
# (farther out it would only squash the curve).
KEEPOUT_SHOWN_WITHIN = 100.0
# Frames shown from the inspection, at most; and the half-width (px) of each frame's close-up.
INSPECTION_FRAMES = 4
CROP_PX = 40


def write_plots(an: Analysis, run_dir: Path) -> list[str]:
    """Draw every plot the recording has data for; returns the file names written."""
    run_dir = Path(run_dir)
    written = []
    for name, draw in (("trajectory_rtn.png", _trajectory), ("range.png", _range),
                       ("nav_error.png", _nav_error), ("delta_v.png", _delta_v),
                       ("frames_detection.png", _frames_detection),
                       ("frames_inspection.png", _frames_inspection),
                       ("coverage.png", _coverage)):
        fig = draw(an)
        if fig is not None:
            fig.savefig(run_dir / name, dpi=DPI)
            written.append(name)
    return written


# -- helpers -----------------------------------------------------------------------------------
def _stride(n: int, limit: int = MAX_POINTS) -> slice:
    return slice(None, None, max(1, -(-n // limit)))


def _time_axis(t_ns: np.ndarray, span_ns: float):
    """Sim time in hours for runs of 2 h or more, else seconds; and the axis label."""
    if span_ns >= 2 * 3600 * NS_PER_S:
        return np.asarray(t_ns) / NS_PER_S / 3600.0, "sim time (h)"
    return np.asarray(t_ns) / NS_PER_S, "sim time (s)"


def _span_ns(an: Analysis) -> float:
    ends = [an.data.truth.t_ns[-1]] if an.data.truth is not None else []
    ends += [an.data.phases.t_ns[-1]] if len(an.data.phases.t_ns) else []
    return float(max(ends)) if ends else 0.0


def _log_if_wide(ax, axis: str, values) -> None:
    """A log scale when the positive values span more than a decade (linear ticks read
    better on a narrow span)."""
    v = np.asarray(values)
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) and v.max() > 10.0 * v.min():
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")


def _phase_legend(ax, phases, loc="best") -> None:
    present = [p for p in PHASES if p in set(phases)]
    if present:
        ax.legend(handles=[Patch(color=PHASE_COLOURS[p], label=p) for p in present],
                  fontsize=7, loc=loc)


def _phase_line(ax, x, y, phases) -> None:
    """A line whose segments take the colour of the phase at their start."""
    pts = np.column_stack([x, y])
    segs = np.stack([pts[:-1], pts[1:]], axis=1)
    colours = [PHASE_COLOURS.get(p, "k") for p in phases[:-1]]
    ax.add_collection(LineCollection(segs, colors=colours, linewidths=1.0))
    ax.autoscale_view()


def _phase_bands(ax, an: Analysis, scale) -> None:
    """Shade the time axis by phase; ``scale`` maps t_ns to the axis unit."""
    trans = an.data.phases.transitions()
    end = _span_ns(an)
    for (t0, ph), nxt in zip(trans, trans[1:] + [(end, None)]):
        ax.axvspan(scale(t0), scale(nxt[0]), color=PHASE_COLOURS.get(ph, "w"), alpha=0.12, lw=0)


# -- the plots ---------------------------------------------------------------------------------
def _trajectory(an: Analysis) -> Figure | None:
    """The chaser in the target's RTN frame: along-track vs radial and vs cross-track, the
    whole run (km) and, when it comes close, the proximity (m); the keep-out sphere's
    section in each plane."""
    tru = an.data.truth
    if tru is None or len(tru.t_ns) < 2:
        return None
    sl = _stride(len(tru.t_ns))
    r = tru.r_CT_rtn[sl]
    ph = an.data.phases.at(tru.t_ns[sl])
    keepout = an.settings.keepout_m
    inspecting = an.data.phases.at(tru.t_ns) == "inspect"
    zoom_m = (ZOOM_MARGIN * tru.range_m[inspecting].max() if inspecting.any()
              else max(ZOOM_KEEPOUTS * keepout, ZOOM_MIN_M))
    close = tru.range_m.min() < zoom_m and tru.range_m.max() > zoom_m
    rows = 2 if close else 1
    fig = Figure(figsize=(11, 4.6 * rows), layout="constrained")
    axes = fig.subplots(rows, 2, squeeze=False)
    views = [(1e3, "km", None)] + ([(1.0, "m", zoom_m)] if close else [])
    for row, (unit, label, lim) in enumerate(views):
        for col, (j, name) in enumerate(((0, "R radial"), (2, "N cross-track"))):
            ax = axes[row, col]
            _phase_line(ax, r[:, 1] / unit, r[:, j] / unit, ph)
            ax.add_patch(Circle((0, 0), keepout / unit, color="r", alpha=0.3, lw=0,
                                label=f"keep-out {keepout:g} m"))
            ax.plot([0], [0], "k+", ms=8)
            ax.plot(r[0, 1] / unit, r[0, j] / unit, "ko", ms=4, mfc="w", label="start")
            ax.plot(r[-1, 1] / unit, r[-1, j] / unit, "ks", ms=4, label="end")
            ax.set_xlabel(f"T along-track ({label})")
            ax.set_ylabel(f"{name} ({label})")
            if lim is None:
                ax.set_aspect("equal", adjustable="datalim")
            else:
                ax.set_aspect("equal", adjustable="box")
                ax.set_xlim(-lim, lim)
                ax.set_ylim(-lim, lim)
            ax.grid(alpha=0.3)
    axes[0, 0].set_title("chaser relative to target, target RTN (truth)")
    if close:
        axes[1, 0].set_title(f"proximity, within {zoom_m:.0f} m")
    _phase_legend(axes[0, 1], ph)
    return fig


def _range(an: Analysis) -> Figure | None:
    tru = an.data.truth
    if tru is None or not len(tru.t_ns):
        return None
    span = _span_ns(an)
    fig = Figure(figsize=(10, 4.5), layout="constrained")
    ax = fig.subplots()

    def scale(t_ns):
        return _time_axis(t_ns, span)[0]

    sl = _stride(len(tru.t_ns))
    ax.semilogy(scale(tru.t_ns[sl]), tru.range_m[sl], "k-", lw=1.0, label="true range",
                zorder=3)
    if an.data.has("nav.relative"):
        nav = an.data.topics["nav.relative"]
        valid = np.flatnonzero(nav["valid"])[_stride(int(nav["valid"].sum()))]
        ax.semilogy(scale(nav["t_est_ns"][valid]), nav["range_m"][valid], "b.", ms=1.5,
                    alpha=0.5, label="navigation estimate")
    if an.data.has("control.burn"):
        t_burn = an.data.topics["control.burn"]["t_start_ns"]
        ax.semilogy(scale(t_burn), np.linalg.norm(tru.r_at(t_burn), axis=1), "rv", ms=5,
                    label="burn (executed)")
    if tru.range_m.min() < KEEPOUT_SHOWN_WITHIN * an.settings.keepout_m:
        ax.axhline(an.settings.keepout_m, color="r", ls="--", lw=1, label="keep-out radius")
    _phase_bands(ax, an, scale)
    ax.set_xlabel(_time_axis(0, span)[1])
    ax.set_ylabel("range (m)")
    ax.grid(alpha=0.3, which="both")
    handles, _ = ax.get_legend_handles_labels()
    shown = an.data.phases.at(tru.t_ns[sl])
    handles += [Patch(color=PHASE_COLOURS[p], alpha=0.3, label=p) for p in PHASES
                if p in set(shown)]
    ax.legend(handles=handles, fontsize=7, loc="best")
    ax.set_title("range to the target (phases shaded)")
    return fig


def _nav_error(an: Analysis) -> Figure | None:
    nav = an.nav
    if nav is None or not len(nav.t_ns):
        return None
    sl = _stride(len(nav.t_ns))
    rng_km, pct = nav.range_m[sl] / 1e3, nav.pct_of_range[sl]
    sigma_pct = 100.0 * nav.sigma_m[sl] / nav.range_m[sl]
    span = _span_ns(an)
    t, t_label = _time_axis(nav.t_ns[sl], span)
    colours = [PHASE_COLOURS.get(p, "k") for p in nav.phase[sl]]
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    a1, a2 = fig.subplots(1, 2)
    a1.scatter(rng_km, pct, c=colours, s=2, lw=0)
    a1.plot(rng_km, sigma_pct, ".", color="k", ms=1.0, label="1-sigma (filter's covariance)")
    _log_if_wide(a1, "x", rng_km)
    _log_if_wide(a1, "y", np.concatenate([pct, sigma_pct]))
    a1.set_xlabel("true range (km)")
    a1.set_ylabel("position error (% of range)")
    a1.add_artist(a1.legend(fontsize=7, loc="upper left"))
    _phase_legend(a1, nav.phase[sl], loc="upper right")
    a1.set_title("relative navigation error vs range")
    a2.scatter(t, nav.error_m[sl], c=colours, s=2, lw=0, label="|error|")
    a2.plot(t, nav.sigma_m[sl], ".", color="k", ms=1.0, label="1-sigma (filter's covariance)")
    _log_if_wide(a2, "y", np.concatenate([nav.error_m[sl], nav.sigma_m[sl]]))
    a2.set_xlabel(t_label)
    a2.set_ylabel("position error (m)")
    a2.legend(fontsize=7, loc="upper right")
    for ax in (a1, a2):
        ax.grid(alpha=0.3, which="both")
    return fig


def _delta_v(an: Analysis) -> Figure | None:
    dv = an.summary["delta_v_mps"]
    names = [p for p in PHASES if p in dv["executed"]["per_phase"] or p in
             dv["commanded"]["per_phase"]]
    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(names))
    for k, (key, hatch) in enumerate((("executed", ""), ("commanded", "//"))):
        vals = [dv[key]["per_phase"].get(p, 0.0) for p in names]
        ax.bar(x + (k - 0.5) * 0.38, vals, 0.38, hatch=hatch, edgecolor="k",
               color=[PHASE_COLOURS[p] for p in names],
               label=f"{key}: {dv[key]['total']:.3f} m/s total")
    ax.set_xticks(x, names)
    if not names:
        ax.text(0.5, 0.5, "no burns", transform=ax.transAxes, ha="center", va="center")
    ax.set_ylabel("delta-v (m/s)")
    ax.set_title("delta-v per phase (executed: control.burn; commanded: guidance.burn)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return fig


# -- camera frames -----------------------------------------------------------------------------
def _frames_with_pixels(an: Analysis):
    """Mid-exposure time (ns) and recording offset of every frame recorded with its pixels,
    and for each the confirmed track measured in that exposure (index into detect.track,
    -1 if none)."""
    d = an.data
    if not d.has("sensor.camera.frame"):
        return None
    fr = d.topics["sensor.camera.frame"]
    keep = np.flatnonzero(fr["blobs"] > 0)
    t_mid = fr["t_exposure_start_ns"][keep] + np.round(fr["exposure_s"][keep] * 5e8).astype(
        np.int64)
    match = np.full(len(keep), -1)
    if d.has("detect.track"):
        tr = d.topics["detect.track"]
        conf = np.flatnonzero(tr["state"] == "confirmed")
        k = np.searchsorted(tr["t_meas_ns"][conf], t_mid)
        for i, (kk, t) in enumerate(zip(k, t_mid)):
            for c in (kk - 1, kk):
                if 0 <= c < len(conf) and abs(int(tr["t_meas_ns"][conf[c]]) - int(t)) < 1e6:
                    match[i] = conf[c]
    return t_mid, fr["offset"][keep], match


def _draw_frames(an: Analysis, picks, title: str) -> Figure:
    """A column per frame: the whole frame and a close-up around the track, track circled."""
    t_mid, offsets, match = picks
    frames = an.data.recording.at("sensor.camera.frame", offsets)["image"]
    tr = an.data.topics.get("detect.track")
    fig = Figure(figsize=(3.4 * len(offsets), 7.0), layout="constrained")
    axes = fig.subplots(2, len(offsets), squeeze=False)
    for col, (img, t, m) in enumerate(zip(frames, t_mid, match)):
        img = np.asarray(img, dtype=np.float64)
        lo, hi = np.percentile(img[::4, ::4], (1.0, 99.8))
        top, bottom = axes[0, col], axes[1, col]
        top.imshow(img, cmap="gray", vmin=lo, vmax=max(hi, lo + 1), origin="upper")
        phase = an.data.phases.at([t])[0]
        head = f"t = {t / NS_PER_S:.0f} s ({phase})"
        if m >= 0:
            x, y = float(tr["x_px"][m]), float(tr["y_px"][m])
            rng = an.data.truth.r_at([t])[0] if an.data.truth is not None else [np.nan]
            head += f"\nrange {np.linalg.norm(rng) / 1e3:.3f} km, SNR {tr['snr'][m]:.0f}"
            top.add_patch(Circle((x, y), 0.03 * max(img.shape), fill=False, color="r", lw=1.2))
            crop, extent = _crop(img, x, y)
            # a log stretch above the local background, so the figure's shape shows
            stretched = np.log10(1.0 + np.clip(crop - np.median(crop), 0.0, None))
            bottom.imshow(stretched, cmap="gray", origin="upper", extent=extent)
            bottom.plot([x], [y], "r+", ms=12)
            bottom.set_title("close-up (log stretch), track centre +", fontsize=8)
        else:
            head += "\n(no confirmed track in this frame)"
            bottom.axis("off")
        top.set_title(head, fontsize=8)
    fig.suptitle(title)
    return fig


def _crop(img: np.ndarray, x: float, y: float):
    """The CROP_PX neighbourhood of pixel (x, y) clipped to the frame (never empty: a centre
    off the frame is moved onto its edge), and its imshow extent in frame pixels."""
    rows, cols = img.shape
    x0 = int(np.clip(round(x), 0, cols - 1))
    y0 = int(np.clip(round(y), 0, rows - 1))
    r0, r1 = max(y0 - CROP_PX, 0), min(y0 + CROP_PX + 1, rows)
    c0, c1 = max(x0 - CROP_PX, 0), min(x0 + CROP_PX + 1, cols)
    return img[r0:r1, c0:c1], (c0 - 0.5, c1 - 0.5, r1 - 0.5, r0 - 0.5)


def _frames_detection(an: Analysis) -> Figure | None:
    """The recorded frame nearest the first confirmed detection, preferring one with a
    confirmed track of its own."""
    picks = _frames_with_pixels(an)
    t_det = an.summary["detection_t_s"]
    if picks is None or not len(picks[0]) or t_det is None:
        return None
    t_mid, offsets, match = picks
    cand = np.flatnonzero(match >= 0)
    if not len(cand):
        cand = np.arange(len(t_mid))
    i = cand[np.argmin(np.abs(t_mid[cand] - int(t_det * NS_PER_S)))]
    return _draw_frames(an, (t_mid[[i]], offsets[[i]], match[[i]]),
                        f"first confirmed detection at t = {t_det:.0f} s")


def _frames_inspection(an: Analysis) -> Figure | None:
    """Up to INSPECTION_FRAMES recorded frames spread over the inspect phase, preferring
    frames with a confirmed track."""
    picks = _frames_with_pixels(an)
    if picks is None or not len(picks[0]):
        return None
    t_mid, offsets, match = picks
    inspect = an.data.phases.at(t_mid) == "inspect"
    cand = np.flatnonzero(inspect & (match >= 0))
    if not len(cand):
        cand = np.flatnonzero(inspect)
    if not len(cand):
        return None
    idx = cand[np.unique(np.linspace(0, len(cand) - 1, min(INSPECTION_FRAMES, len(cand)))
                         .round().astype(int))]
    return _draw_frames(an, (t_mid[idx], offsets[idx], match[idx]), "during the inspection")


def _coverage(an: Analysis) -> Figure | None:
    cov = an.coverage
    if cov is None or not len(cov.t_ns):
        return None
    span = _span_ns(an)
    t, label = _time_axis(cov.t_ns, span)
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    a1, a2 = fig.subplots(1, 2)
    a1.step(t, cov.fraction, where="post", color="#ff7f0e")
    a1.axhline(COVERAGE_GOAL, color="k", ls="--", lw=1, label=f"goal {COVERAGE_GOAL:g}")
    a1.set_ylim(0, 1.02)
    a1.set_xlabel(label)
    a1.set_ylabel("fraction of the surface imaged")
    a1.set_title(f"inspection coverage (truth geometry): {cov.fraction[-1]:.3f}")
    a1.legend(fontsize=8)
    a1.grid(alpha=0.3)
    n = cov.normals
    lon, lat = np.degrees(np.arctan2(n[:, 1], n[:, 0])), np.degrees(np.arcsin(n[:, 2]))
    a2.scatter(lon[~cov.seen], lat[~cov.seen], s=3, c="0.75", label="not imaged")
    a2.scatter(lon[cov.seen], lat[cov.seen], s=3, c="#ff7f0e", label="imaged")
    frame = "RTN" if an.settings.target_attitude == "rtn" else "orbit frame (inertial)"
    a2.set_xlabel(f"surface normal longitude in target {frame} (deg, from R)")
    a2.set_ylabel("latitude (deg, towards N)")
    a2.set_xlim(-180, 180)
    a2.set_ylim(-90, 90)
    a2.legend(fontsize=7, loc="lower right")
    return fig
