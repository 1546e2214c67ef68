# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled neighbour searches in the image plane: star matching and track association.

A bucket grid of cell size max(gate) (at least extent / MAX_CELLS): every point within reach
of the largest gate lies in the 3x3 cells around a query, so a search costs the points near
the query instead of all of them.  The numpy references are in ``reference_neighbours.py``.
"""
from libc.math cimport floor, isfinite, INFINITY

import numpy as np

cdef enum:
    MAX_CELLS = 256


cdef struct Grid:
    double x0, y0, cell
    Py_ssize_t nx, ny


cdef Grid _make_grid(const double[::1] x, const double[::1] y, double reach) noexcept nogil:
    cdef Grid g
    cdef double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY
    cdef Py_ssize_t k
    for k in range(x.shape[0]):
        if isfinite(x[k]) and isfinite(y[k]):
            if x[k] < xmin: xmin = x[k]
            if x[k] > xmax: xmax = x[k]
            if y[k] < ymin: ymin = y[k]
            if y[k] > ymax: ymax = y[k]
    if xmin > xmax:
        xmin = xmax = ymin = ymax = 0.0
    g.cell = reach
    if (xmax - xmin) / MAX_CELLS > g.cell:
        g.cell = (xmax - xmin) / MAX_CELLS
    if (ymax - ymin) / MAX_CELLS > g.cell:
        g.cell = (ymax - ymin) / MAX_CELLS
    if g.cell <= 0.0:
        g.cell = 1.0
    g.x0, g.y0 = xmin, ymin
    g.nx = <Py_ssize_t>floor((xmax - xmin) / g.cell) + 1
    g.ny = <Py_ssize_t>floor((ymax - ymin) / g.cell) + 1
    return g


cdef void _fill_grid(Grid g, const double[::1] x, const double[::1] y, Py_ssize_t[::1] start,
                     Py_ssize_t[::1] order) noexcept nogil:
    """Counting sort of the points by cell: cell c holds order[start[c]:start[c + 1]]."""
    cdef Py_ssize_t k, c, n = x.shape[0], total = 0, count
    for c in range(g.nx * g.ny + 1):
        start[c] = 0
    for k in range(n):
        if isfinite(x[k]) and isfinite(y[k]):
            c = <Py_ssize_t>floor((y[k] - g.y0) / g.cell) * g.nx + <Py_ssize_t>floor((x[k] - g.x0) / g.cell)
            start[c + 1] += 1
    for c in range(g.nx * g.ny):
        start[c + 1] += start[c]
    for k in range(n):
        if isfinite(x[k]) and isfinite(y[k]):
            c = <Py_ssize_t>floor((y[k] - g.y0) / g.cell) * g.nx + <Py_ssize_t>floor((x[k] - g.x0) / g.cell)
            order[start[c]] = k
            start[c] += 1
    # start[c] now holds the end of cell c: shift back by one cell
    for c in range(g.nx * g.ny, 0, -1):
        start[c] = start[c - 1]
    start[0] = 0


cdef void _nearest(Grid g, const double[::1] qx, const double[::1] qy, const double[::1] x,
                   const double[::1] y, const Py_ssize_t[::1] start, const Py_ssize_t[::1] order,
                   Py_ssize_t[::1] best, double[::1] best_d2) noexcept nogil:
    """For each query point, the nearest grid point in the 3x3 cells around it (-1 if none);
    ties go to the lower index, as numpy.argmin does."""
    cdef Py_ssize_t q, cx, cy, ix, iy, m, k
    cdef double d2, dx, dy, fx, fy
    for q in range(qx.shape[0]):
        best[q] = -1
        best_d2[q] = INFINITY
        if not (isfinite(qx[q]) and isfinite(qy[q])):
            continue
        fx = floor((qx[q] - g.x0) / g.cell)
        fy = floor((qy[q] - g.y0) / g.cell)
        if fx < -1.0 or fy < -1.0 or fx > g.nx or fy > g.ny:
            continue
        cx = <Py_ssize_t>fx
        cy = <Py_ssize_t>fy
        for iy in range(cy - 1, cy + 2):
            if iy < 0 or iy >= g.ny:
                continue
            for ix in range(cx - 1, cx + 2):
                if ix < 0 or ix >= g.nx:
                    continue
                for m in range(start[iy * g.nx + ix], start[iy * g.nx + ix + 1]):
                    k = order[m]
                    dx = x[k] - qx[q]
                    dy = y[k] - qy[q]
                    d2 = dx * dx + dy * dy
                    if d2 < best_d2[q] or (d2 == best_d2[q] and k < best[q]):
                        best_d2[q] = d2
                        best[q] = k


def mutual_nearest(const double[::1] px, const double[::1] py, const double[::1] sx,
                   const double[::1] sy, const double[::1] gate):
    """Pairs (i_pred, i_src), int64 arrays, of points that are each other's nearest and lie
    within the source's gate (gate: one value per source, px).  Non-finite points never match."""
    cdef Py_ssize_t n_p = px.shape[0], n_s = sx.shape[0], i, j, k, count = 0
    cdef double reach = 0.0
    if py.shape[0] != n_p or sy.shape[0] != n_s or gate.shape[0] != n_s:
        raise ValueError("coordinate and gate arrays must have matching lengths")
    if n_p == 0 or n_s == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    for j in range(n_s):
        if gate[j] > reach:
            reach = gate[j]
    cdef Grid gs = _make_grid(sx, sy, reach)
    cdef Grid gp = _make_grid(px, py, reach)
    cdef Py_ssize_t[::1] s_start = np.empty(gs.nx * gs.ny + 1, np.intp)
    cdef Py_ssize_t[::1] s_order = np.empty(n_s, np.intp)
    cdef Py_ssize_t[::1] p_start = np.empty(gp.nx * gp.ny + 1, np.intp)
    cdef Py_ssize_t[::1] p_order = np.empty(n_p, np.intp)
    cdef Py_ssize_t[::1] src_of = np.empty(n_p, np.intp)
    cdef Py_ssize_t[::1] pred_of = np.empty(n_s, np.intp)
    cdef double[::1] d2_p = np.empty(n_p)
    cdef double[::1] d2_s = np.empty(n_s)
    out_p = np.empty(min(n_p, n_s), np.int64)
    out_s = np.empty(min(n_p, n_s), np.int64)
    cdef long long[::1] op = out_p
    cdef long long[::1] os = out_s
    with nogil:
        _fill_grid(gs, sx, sy, s_start, s_order)
        _fill_grid(gp, px, py, p_start, p_order)
        _nearest(gs, px, py, sx, sy, s_start, s_order, src_of, d2_p)
        _nearest(gp, sx, sy, px, py, p_start, p_order, pred_of, d2_s)
        for i in range(n_p):
            j = src_of[i]
            if j >= 0 and pred_of[j] == i and d2_p[i] <= gate[j] * gate[j]:
                op[count] = i
                os[count] = j
                count += 1
    return out_p[:count], out_s[:count]


def nearest_within(const double[::1] qx, const double[::1] qy, const double[::1] gate,
                   const double[::1] x, const double[::1] y):
    """For each query, the index (int64) of the nearest point within its gate, or -1."""
    cdef Py_ssize_t n_q = qx.shape[0], n = x.shape[0], q
    cdef double reach = 0.0
    if qy.shape[0] != n_q or gate.shape[0] != n_q or y.shape[0] != n:
        raise ValueError("coordinate and gate arrays must have matching lengths")
    out = np.full(n_q, -1, np.int64)
    if n_q == 0 or n == 0:
        return out
    for q in range(n_q):
        if gate[q] > reach:
            reach = gate[q]
    cdef Grid g = _make_grid(x, y, reach)
    cdef Py_ssize_t[::1] start = np.empty(g.nx * g.ny + 1, np.intp)
    cdef Py_ssize_t[::1] order = np.empty(n, np.intp)
    cdef Py_ssize_t[::1] best = np.empty(n_q, np.intp)
    cdef double[::1] best_d2 = np.empty(n_q)
    cdef long long[::1] o = out
    with nogil:
        _fill_grid(g, x, y, start, order)
        _nearest(g, qx, qy, x, y, start, order, best, best_d2)
        for q in range(n_q):
            if best[q] >= 0 and best_d2[q] <= gate[q] * gate[q]:
                o[q] = best[q]
    return out


def pairs_within(const double[::1] qx, const double[::1] qy, const double[::1] radius,
                 const double[::1] x, const double[::1] y):
    """Every (i_query, i_point), int64 arrays sorted by query then point, with the point
    within the query's radius."""
    cdef Py_ssize_t n_q = qx.shape[0], n = x.shape[0], q, ix, iy, m, k, count = 0, cx, cy
    cdef double reach = 0.0, dx, dy, fx, fy
    if qy.shape[0] != n_q or radius.shape[0] != n_q or y.shape[0] != n:
        raise ValueError("coordinate and radius arrays must have matching lengths")
    if n_q == 0 or n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    for q in range(n_q):
        if radius[q] > reach:
            reach = radius[q]
    cdef Grid g = _make_grid(x, y, reach)
    cdef Py_ssize_t[::1] start = np.empty(g.nx * g.ny + 1, np.intp)
    cdef Py_ssize_t[::1] order = np.empty(n, np.intp)
    cdef Py_ssize_t capacity = 4 * (n_q + n) + 16
    out_q = np.empty(capacity, np.int64)
    out_p = np.empty(capacity, np.int64)
    cdef long long[::1] oq = out_q
    cdef long long[::1] op = out_p
    _fill_grid(g, x, y, start, order)
    for q in range(n_q):
        if not (isfinite(qx[q]) and isfinite(qy[q])):
            continue
        fx = floor((qx[q] - g.x0) / g.cell)
        fy = floor((qy[q] - g.y0) / g.cell)
        if fx < -1.0 or fy < -1.0 or fx > g.nx or fy > g.ny:
            continue
        cx = <Py_ssize_t>fx
        cy = <Py_ssize_t>fy
        for iy in range(cy - 1, cy + 2):
            if iy < 0 or iy >= g.ny:
                continue
            for ix in range(cx - 1, cx + 2):
                if ix < 0 or ix >= g.nx:
                    continue
                for m in range(start[iy * g.nx + ix], start[iy * g.nx + ix + 1]):
                    k = order[m]
                    dx = x[k] - qx[q]
                    dy = y[k] - qy[q]
                    if dx * dx + dy * dy <= radius[q] * radius[q]:
                        if count == capacity:
                            capacity *= 2
                            out_q = np.resize(out_q, capacity)
                            out_p = np.resize(out_p, capacity)
                            oq = out_q
                            op = out_p
                        oq[count] = q
                        op[count] = k
                        count += 1
    out_q = out_q[:count]
    out_p = out_p[:count]
    ordering = np.lexsort((out_p, out_q))
    return out_q[ordering], out_p[ordering]
