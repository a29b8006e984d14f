"""The model and teaching figures of :mod:`descend.plot` (re-exported there).

``fit_line`` and ``regression_landscape`` (fitting a line), ``tangent_1d`` (the slope view),
``lr_comparison`` (choosing a step: too small / good / too large) and ``animate``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .._types import Array
from ..errors import InvalidArgument, InvalidType
from . import grid as h
from . import traces as tr

__all__ = [
    "add_curve_path", "curve_view", "fit_line", "lr_comparison", "regression_landscape",
    "tangent_1d",
]


def _xy(x: Any, y: Any) -> tuple[Array, Array]:
    xa = np.asarray(x, dtype=np.float64).reshape(-1)
    ya = np.asarray(y, dtype=np.float64).reshape(-1)
    if xa.shape != ya.shape or xa.size < 1:
        raise InvalidArgument(
            f"x, y: expected two 1-D arrays of the same length, got {xa.shape} and {ya.shape}",
            argument="x",
        )
    return xa, ya


def line_model(model: Any) -> tuple[float, float, Array | None]:
    """``(intercept, slope, path)`` of a fitted line; ``path`` is (n, 2) or None."""
    if hasattr(model, "coef_"):
        coef = np.ravel(np.asarray(model.coef_, dtype=np.float64))
        if coef.size != 1:
            raise InvalidArgument(
                f"model: a line needs one feature, the model has {coef.size} coefficients",
                argument="model",
            )
        b0 = float(np.ravel(np.asarray(getattr(model, "intercept_", 0.0), dtype=np.float64))[0])
        raw = getattr(model, "path_", None)
        path = None if raw is None else np.asarray(raw, dtype=np.float64).reshape(-1, 2)
        return b0, float(coef[0]), path
    if hasattr(model, "path") and hasattr(model, "x"):
        xs = np.ravel(np.asarray(model.x, dtype=np.float64))
        if xs.size != 2:
            raise InvalidArgument(
                f"model: a Result for a line must have x = (intercept, slope), got {xs.size} "
                "coordinates", argument="model",
            )
        return float(xs[0]), float(xs[1]), np.asarray(model.path, dtype=np.float64)
    try:
        b0, b1 = (float(v) for v in model)
    except (TypeError, ValueError):
        raise InvalidType(
            "model: expected a fitted estimator (coef_, intercept_), a Result with "
            f"x = (intercept, slope) or a pair (intercept, slope), got {type(model).__name__}",
            argument="model",
        ) from None
    return b0, b1, None


def fit_line(x: Any, y: Any, model: Any, iterations: Sequence[int] | None = None) -> go.Figure:
    """The data as points and the fitted line ``intercept + slope * x`` (fitting a line).

    Parameters
    ----------
    x, y : array_like (n,)
    model : estimator, Result or (intercept, slope)
        A fitted estimator with ``coef_`` (one feature) and ``intercept_``, and
        optionally ``path_`` (n_iter + 1, 2); or a Result whose ``x`` is
        ``(intercept, slope)``; or the pair itself.
    iterations : list of int, optional
        Also draw the line at these iterations of the path (faded).

    Returns
    -------
    plotly.graph_objects.Figure
        Traces ``data``, the optional ``iteration k`` lines, then ``fit``.

    Examples
    --------
    >>> from descend.datasets import toy_line
    >>> x, y = toy_line()
    >>> fig = fit_line(x, y, (-10.07, 2.04))
    >>> [t.name for t in fig.data]
    ['data', 'fit']
    """
    xa, ya = _xy(x, y)
    b0, b1, path = line_model(model)
    fig = go.Figure(go.Scatter(x=xa, y=ya, mode="markers", name="data",
                               marker={"color": "#636EFA", "size": 7}))
    grid = np.array([xa.min(), xa.max()])
    if iterations:
        if path is None:
            raise InvalidArgument("iterations: the model has no recorded path (path_)",
                                  argument="iterations")
        for k in iterations:
            if not 0 <= int(k) < len(path):
                raise InvalidArgument(
                    f"iterations: {k} is outside 0..{len(path) - 1}", argument="iterations"
                )
            a, b = path[int(k)]
            fig.add_trace(go.Scatter(x=grid, y=a + b * grid, mode="lines",
                                     name=f"iteration {int(k)}",
                                     line={"color": "gray", "dash": "dot", "width": 1}))
    fig.add_trace(go.Scatter(x=grid, y=b0 + b1 * grid, mode="lines", name="fit",
                             line={"color": "#EF553B", "width": 3}))
    fig.update_layout(**tr.LAYOUT, title=f"fitted line y = {b0:.4g} + {b1:.4g} x")
    fig.update_xaxes(title_text="x")
    fig.update_yaxes(title_text="y")
    return fig


def regression_landscape(x: Any, y: Any, model: Any) -> go.Figure:
    """Contours of the mean squared error over (intercept, slope), with the trajectory.

    Seed 002's figure. The least-squares solution is marked as the known minimum.

    Parameters
    ----------
    x, y : array_like (n,)
    model : estimator with ``path_``, or a Result whose path is (intercept, slope)

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> from descend import datasets, minimize
    >>> x, y = datasets.toy_line()
    >>> res = minimize(lambda p: ((y - p[0] - p[1] * x) ** 2).mean(), [0.0, 0.0], lr=0.02,
    ...                max_iter=500, gtol=None)
    >>> fig = regression_landscape(x, y, res)
    >>> fig.data[0].type, fig.data[1].name
    ('contour', 'path')
    """
    xa, ya = _xy(x, y)
    _, _, path = line_model(model)
    if path is None:
        raise InvalidArgument("model: the landscape needs the recorded path (path_ or a Result)",
                              argument="model")
    sx, sy, sxx, sxy, syy = xa.mean(), ya.mean(), xa @ xa / xa.size, xa @ ya / xa.size, \
        ya @ ya / ya.size
    best = np.polyfit(xa, ya, 1)[::-1] if xa.size > 1 and np.ptp(xa) > 0 else np.array([sy, 0.0])
    status = str(getattr(model, "status", ""))
    track = h.Track(path, np.zeros(len(path)), "path", status == "diverged",
                    int(getattr(model, "nit", len(path) - 1)), model)
    box = h.view_box(2, None, None, [track], best[None])
    a, b = (np.linspace(lo, hi, 151) for lo, hi in box)
    aa, bb = np.meshgrid(a, b)
    mse = syy - 2 * aa * sy - 2 * bb * sxy + aa**2 + 2 * aa * bb * sx + bb**2 * sxx
    fig = go.Figure(go.Contour(x=a, y=b, z=mse, colorscale="Viridis", ncontours=20, name="MSE",
                               colorbar={"title": {"text": "MSE"}}))
    tr.add_paths_2d(fig, [track], box)
    fig.add_trace(go.Scatter(x=best[:1], y=best[1:], mode="markers", name="least squares",
                             marker={"symbol": "star", "size": 14, "color": "white",
                                     "line": {"color": "black", "width": 1}}))
    fig.update_layout(**tr.LAYOUT, title="mean squared error over (intercept, slope)")
    fig.update_xaxes(title_text="intercept", range=list(box[0]))
    fig.update_yaxes(title_text="slope", range=list(box[1]))
    return fig


def curve_view(obj: Any, ts: Sequence[h.Track], entry: Any) -> tuple[h.Box, Array, Array]:
    if entry is not None and entry.dim != 1:
        entry = None
    box = h.view_box(1, None, entry, ts)
    xs = np.linspace(box[0][0], box[0][1], 400)
    return box, xs, h.grid_values(obj, [xs])


def add_curve_path(fig: go.Figure, obj: Any, t: h.Track, box: h.Box, i: int,
                    **ref: Any) -> Array:
    pts = t.path[h.thin_indices(len(t.path))]
    cut = False
    if t.diverged:
        pts, cut = h.clip_to_box(pts, box)
    fx: Array = obj.values(pts) if len(pts) else np.empty(0)
    fig.add_trace(go.Scatter(x=pts[:, 0], y=fx, mode="lines+markers", name=t.label,
                             line={"color": tr.color(i), "dash": "dash", "width": 1},
                             marker={"size": 8}), **ref)
    if cut and len(pts):
        tr.diverged_note(fig, t, float(pts[-1, 0]), float(fx[-1]), **ref)
    out: Array = pts
    return out


def tangent_1d(fun: Any, result: Any) -> go.Figure:
    """Seed 003's view: the curve, each step's point and its tangent line.

    Parameters
    ----------
    fun : callable, str, Formula, TestFunction or None
        A function of one variable (None: the Result's).
    result : Result
        A run in one variable.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces ``f``, ``path`` (the points, joined by dashed steps) and ``tangent``.

    Examples
    --------
    >>> from descend import minimize
    >>> res = minimize("x**2", [3.0], lr=0.9, max_iter=5, gtol=None)
    >>> fig = tangent_1d(None, res)
    >>> [t.name for t in fig.data]
    ['f', 'path', 'tangent']
    """
    obj = tr.need_objective(h.resolve_objective(fun, [result]), "tangent_1d")
    ts = h.tracks([result])
    if ts[0].path.shape[1] != 1:
        raise InvalidArgument(
            f"result: tangent_1d draws runs in one variable, got {ts[0].path.shape[1]}",
            argument="result",
        )
    box, xs, ys = curve_view(obj, ts, h.catalog_entry(fun, [result]))
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines", name="f", line={"color": "#636EFA"}))
    pts = add_curve_path(fig, obj, ts[0], box, 0)
    pts = pts[h.thin_indices(len(pts), 40)]
    if len(pts):
        fx, g = obj.values(pts), obj.gradients(pts)[:, 0]
        hw = 0.06 * (box[0][1] - box[0][0])  # half-width of each tangent segment
        seg = np.full((3 * len(pts), 2), np.nan)
        seg[0::3, 0], seg[1::3, 0] = pts[:, 0] - hw, pts[:, 0] + hw
        seg[0::3, 1], seg[1::3, 1] = fx - g * hw, fx + g * hw
        fig.add_trace(go.Scatter(x=seg[:, 0], y=seg[:, 1], mode="lines", name="tangent",
                                 line={"color": "#EF553B", "width": 2}))
    finite = ys[np.isfinite(ys)]
    if len(finite):
        lo, hi = float(finite.min()), float(finite.max())
        pad = 0.08 * (hi - lo or 1.0)
        fig.update_yaxes(range=[lo - pad, hi + pad])
    fig.update_xaxes(range=list(box[0]), title_text=(obj.variables or ("x",))[0])
    lr = ts[0].result.step_sizes[0] if len(getattr(ts[0].result, "step_sizes", ())) else None
    title = f"f = {obj.name}" + (f", step size {lr:.4g}" if lr is not None else "")
    fig.update_layout(**tr.LAYOUT, title=tr.title(title))
    return fig


def lr_comparison(sweep_result: Any) -> go.Figure:
    """Small multiples, one per learning rate, titled with the lr and its verdict.

    Parameters
    ----------
    sweep_result : SweepResult-like
        ``results`` (list of Result), ``lrs`` and ``verdicts`` (same length). Runs
        in one variable are drawn on the curve; others as loss per iteration.

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from descend import minimize
    >>> lrs = [0.01, 0.1, 1.5]
    >>> runs = [minimize("x**2", [3.0], lr=lr, max_iter=50) for lr in lrs]
    >>> sweep = SimpleNamespace(results=runs, lrs=lrs, verdicts=["slow", "good", "diverged"])
    >>> [a.text for a in lr_comparison(sweep).layout.annotations][:3]
    ['lr = 0.01: slow', 'lr = 0.1: good', 'lr = 1.5: diverged']
    """
    try:
        results, lrs, verdicts = (list(sweep_result.results), list(sweep_result.lrs),
                                  list(sweep_result.verdicts))
    except AttributeError:
        raise InvalidType("sweep_result: expected an object with results, lrs and verdicts",
                          argument="sweep_result") from None
    if not (len(results) == len(lrs) == len(verdicts)) or not results:
        raise InvalidArgument("sweep_result: results, lrs and verdicts must have the same "
                              "non-zero length", argument="sweep_result")
    n = len(results)
    cols = 2 if n == 4 else min(n, 3)
    rows = math.ceil(n / cols)
    titles = [f"lr = {float(lr):g}: {v}" for lr, v in zip(lrs, verdicts, strict=True)]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles)
    ts = h.tracks(results, [f"lr = {float(lr):g}" for lr in lrs])
    obj = h.resolve_objective(None, results)
    one_d = obj is not None and ts[0].path.shape[1] == 1
    if one_d:
        box, xs, ys = curve_view(obj, ts, h.catalog_entry(None, results))
    for i, t in enumerate(ts):
        ref = {"row": i // cols + 1, "col": i % cols + 1}
        if one_d:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="f", showlegend=False,
                                     line={"color": "#636EFA"}), **ref)
            add_curve_path(fig, obj, t, box, i, **ref)
        else:
            idx = h.thin_indices(len(t.values))
            keep = idx[np.isfinite(t.values[idx])]
            fig.add_trace(go.Scatter(x=keep, y=t.values[keep], mode="lines", name=t.label,
                                     line={"color": tr.color(i)}), **ref)
            if t.diverged and len(keep):
                tr.diverged_note(fig, t, float(keep[-1]), float(t.values[keep[-1]]), **ref)
    fig.update_layout(**tr.LAYOUT, title="learning rates compared", showlegend=False)
    return fig
