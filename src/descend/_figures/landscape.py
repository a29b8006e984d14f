"""Figures of runs: Result-like objects in, :class:`plotly.graph_objects.Figure` out.

Every function here returns a new Figure and changes nothing it is given. Long
paths are thinned to at most :data:`~descend._figures.grid.MAX_POINTS` points (first
and last kept); the view always contains the drawn paths; a diverged path is cut
where it leaves the view and marked "diverged at iteration N".

Multi-start results, learning-rate sweeps and fitted estimators are recognized by
their attributes (``starts``/``x``/``best``; ``results``/``lrs``/``verdicts``;
``coef_``/``intercept_``/``path_``), so this module imports none of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .._types import Array
from ..errors import InvalidArgument, InvalidType
from . import grid as h
from . import traces as tr
from .views import (
    add_curve_path,
    curve_view,
    lr_comparison,
    regression_landscape,
    tangent_1d,
)

__all__ = ["animate", "auto", "contour", "loss_curve", "surface"]

def surface(fun: Any, bounds: Any = None, paths: Any = None, grid: int = 101) -> go.Figure:
    """Seed 001's 3-D surface (Viridis) of ``f(x, y)``, with paths drawn on it.

    Parameters
    ----------
    fun : callable, str, Formula, TestFunction, Result or None
        Anything :func:`descend.objective.as_objective` accepts; a Result or None
        takes the function from the (first) path's Result.
    bounds : ((xlo, xhi), (ylo, yhi)), optional
        The domain; default the catalog entry's bounds, else the paths' (padded).
    paths : Result or list of Result, optional
        Drawn as ``(x, y, f(x, y))``.
    grid : int
        Points per axis.

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> from descend import functions, minimize
    >>> f = functions.get("paraboloid")
    >>> res = minimize(f, [6, -3], lr=0.001, max_iter=5000, gtol=None)
    >>> fig = surface(f, paths=res)
    >>> fig.data[0].type, fig.data[1].name
    ('surface', 'path')
    """
    results = h.as_results(paths if paths is not None else (fun if h._is_result(fun) else None))
    obj = tr.need_objective(h.resolve_objective(fun, results), "surface")
    entry = h.catalog_entry(fun, results)
    ts = h.tracks(results)
    box = h.view_box(2, bounds, entry, ts)
    n = max(2, int(grid))
    xs, ys = (np.linspace(lo, hi, n) for lo, hi in box)
    z = h.grid_values(obj, [xs, ys])
    fig = go.Figure(go.Surface(x=xs, y=ys, z=z, colorscale="Viridis", opacity=0.9, name="f"))
    for i, t in enumerate(ts):
        idx = h.thin_indices(len(t.path))
        pts, vals = t.path[idx], t.values[idx]
        if t.diverged:
            pts, _cut = h.clip_to_box(pts, box)
            vals = obj.values(pts) if len(pts) else vals[:0]
        fig.add_trace(go.Scatter3d(x=pts[:, 0], y=pts[:, 1], z=vals, mode="lines+markers",
                                   name=t.label, line={"color": tr.color(i), "width": 5},
                                   marker={"size": 2}))
    fig.update_layout(**tr.LAYOUT, title=tr.title(f"f = {obj.name}"),
                      scene={"xaxis": {"range": list(box[0])}, "yaxis": {"range": list(box[1])}})
    return fig


def contour(
    fun: Any = None,
    bounds: Any = None,
    paths: Any = None,
    labels: Sequence[str] | None = None,
    log_scale: bool = False,
) -> go.Figure:
    """Contours of ``f(x, y)`` with one path, several racing, or a multi-start.

    Parameters
    ----------
    fun : callable, str, Formula, TestFunction, Result or None
        The function (None: from the paths' Result).
    bounds : ((xlo, xhi), (ylo, yhi)), optional
        Default: the catalog entry's, else the paths' (padded); always grown to
        contain the paths that did not diverge.
    paths : Result, list of Result, or multi-start result
        A multi-start result (``starts`` and ``x`` of shape (K, 2), ``best``) draws
        each start joined to its end, and the best run's path.
    labels : list of str, optional
        Legend names of the paths.
    log_scale : bool
        Colour by ``log10(1 + f - min f)`` (for functions with steep walls).

    Returns
    -------
    plotly.graph_objects.Figure
        Traces: the contour, then per path ``label``, ``start`` and ``end``;
        ``known minima`` (catalog entries) last.

    Examples
    --------
    >>> from descend import functions, minimize
    >>> f = functions.get("himmelblau")
    >>> res = minimize(f, [0.0, 0.0], lr=0.01)
    >>> fig = contour(f, paths=res)
    >>> len(fig.data[-1].x)  # the four minima of Himmelblau
    4
    """
    multi = paths if paths is not None and h.is_multistart(paths) else None
    results = h.as_results(paths)
    obj = tr.need_objective(h.resolve_objective(fun, results), "contour")
    entry = h.catalog_entry(fun, results)
    ts = h.tracks(results, labels if multi is None else None)
    if multi is not None and ts:
        ts = [h.Track(t.path, t.values, "best", t.diverged, t.nit, t.result) for t in ts]
    extra = None
    if multi is not None:
        extra = np.vstack([np.asarray(multi.starts, float), np.asarray(multi.x, float)])
        extra = extra[np.all(np.isfinite(extra), axis=1)]
    box = h.view_box(2, bounds, entry, ts, extra)
    xs, ys = (np.linspace(lo, hi, 151) for lo, hi in box)
    z = h.grid_values(obj, [xs, ys])
    if log_scale:
        z = np.log10(1.0 + z - np.nanmin(z))
    fig = go.Figure(go.Contour(x=xs, y=ys, z=z, colorscale="Viridis", ncontours=20, name="f",
                               colorbar={"title": {"text": "log10(1+f-min)" if log_scale
                                                   else "f"}}))
    if multi is not None:
        s, e = np.asarray(multi.starts, float), np.asarray(multi.x, float)
        e = np.vstack([h.clip_to_box(np.vstack([a, b]), box)[0][-1]
                       for a, b in zip(s, e, strict=True)])
        seg = np.full((3 * len(s), 2), np.nan)
        seg[0::3], seg[1::3] = s, e
        fig.add_trace(go.Scatter(x=seg[:, 0], y=seg[:, 1], mode="lines", name="start → end",
                                 line={"color": "rgba(255,255,255,0.6)", "width": 1}))
        fig.add_trace(go.Scatter(x=s[:, 0], y=s[:, 1], mode="markers", name="starts",
                                 marker={"symbol": "circle-open", "size": 7, "color": "white"}))
        fig.add_trace(go.Scatter(x=e[:, 0], y=e[:, 1], mode="markers", name="ends",
                                 marker={"symbol": "x", "size": 7, "color": "#FFA15A"}))
    tr.add_paths_2d(fig, ts, box)
    mt = tr.minima_trace(entry)
    if mt is not None:
        fig.add_trace(mt)
    fig.update_layout(**tr.LAYOUT, title=tr.title(f"f = {obj.name}"))
    fig.update_xaxes(range=list(box[0]))
    fig.update_yaxes(range=list(box[1]))
    tr.axes(fig, obj, 2)
    return fig


def loss_curve(results: Any, log_y: bool = True) -> go.Figure:
    """f along the path, one line per run (several are overlaid).

    Parameters
    ----------
    results : Result, list of Result, or array
        Also accepted: an object with ``loss_curve_`` or ``values``, or plain 1-D
        arrays of losses.
    log_y : bool
        Logarithmic y axis. When some f <= 0 the axis stays linear and a note says so.

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> from descend import minimize
    >>> res = minimize("x**2 + y**2", [6.0, -3.0], lr=0.1, max_iter=50)
    >>> fig = loss_curve(res)
    >>> fig.layout.yaxis.type
    'log'
    """
    items = results if isinstance(results, (list, tuple)) else [results]
    curves: list[tuple[str, Array, Any]] = []
    for i, r in enumerate(items):
        label = "f" if len(items) == 1 else f"run {i}"
        if hasattr(r, "loss_curve_"):
            vals = np.asarray(r.loss_curve_, dtype=np.float64)
        elif hasattr(r, "values") and not isinstance(r, np.ndarray):
            vals = np.asarray(r.values, dtype=np.float64)
        else:
            vals = np.asarray(r, dtype=np.float64).reshape(-1)
        curves.append((label, vals, r))
    fig = go.Figure()
    finite = [v[np.isfinite(v)] for _, v, _ in curves]
    low = min((float(v.min()) for v in finite if len(v)), default=1.0)
    use_log = log_y and low > 0
    for i, (label, vals, r) in enumerate(curves):
        idx = h.thin_indices(len(vals))
        keep = idx[np.isfinite(vals[idx])]
        fig.add_trace(go.Scatter(x=keep, y=vals[keep], mode="lines", name=label,
                                 line={"color": tr.color(i)}))
        if str(getattr(r, "status", "")) == "diverged" and len(keep):
            fig.add_annotation(x=int(keep[-1]), y=float(np.log10(vals[keep[-1]])) if use_log
                               else float(vals[keep[-1]]),
                               text=f"diverged at iteration {getattr(r, 'nit', keep[-1])}",
                               showarrow=True, arrowhead=2, font={"color": "#B00020"})
    if log_y and not use_log:
        fig.add_annotation(text="linear scale: f takes values <= 0", xref="paper",
                           yref="paper", x=1, y=1.05, showarrow=False)
    fig.update_layout(**tr.LAYOUT, title="loss per iteration", showlegend=len(curves) > 1)
    fig.update_xaxes(title_text="iteration")
    fig.update_yaxes(title_text="f", type="log" if use_log else "linear")
    return fig



def auto(obj: Any, **kw: Any) -> go.Figure:
    """The figure that suits ``obj`` best.

    - a sweep (``verdicts``): :func:`lr_comparison`;
    - a multi-start result (``starts`` and ``x``): :func:`contour` in 2-D; in 1-D the
      best run's :func:`tangent_1d` with every run's end marked; else the best's loss curve;
    - a fitted estimator (``coef_`` and ``path_``): :func:`regression_landscape` when it
      has one feature and ``x=`` and ``y=`` are given, else :func:`loss_curve` of its
      ``loss_curve_``;
    - a Result (or a list): one variable -> :func:`tangent_1d`, two -> :func:`contour`
      with the path, more -> :func:`loss_curve`.

    Parameters
    ----------
    obj : Result, list of Result, or a duck-typed result or estimator
    **kw
        Passed on to the chosen function (``fun=`` for the function; ``x=``, ``y=``
        for an estimator's data).

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> from descend import minimize
    >>> fig = auto(minimize("x**2 + y**2", [1.0, 2.0], lr=0.1))
    >>> fig.data[0].type
    'contour'
    """
    if hasattr(obj, "verdicts"):
        return lr_comparison(obj)
    if h.is_multistart(obj):
        p = np.asarray(obj.x).shape[-1]
        if p == 1:  # the curve with the best run's steps, and where every run ended
            fig = tangent_1d(kw.pop("fun", None), obj.best)
            ends = np.asarray(obj.x, dtype=np.float64)[:, 0]
            fig.add_trace(go.Scatter(x=ends, y=np.asarray(obj.fun, dtype=np.float64),
                                     mode="markers", name="ends of all runs",
                                     marker={"symbol": "x", "size": 8}))
            return fig
        if p > 2:
            return loss_curve(obj.best, **kw)
        return contour(kw.pop("fun", None), paths=obj, **kw)
    if hasattr(obj, "coef_") and hasattr(obj, "path_"):
        x, y = kw.pop("x", None), kw.pop("y", None)
        if x is not None and y is not None and np.asarray(obj.path_).shape[-1] == 2:
            return regression_landscape(x, y, obj)
        if hasattr(obj, "loss_curve_"):
            return loss_curve(obj, **kw)
        raise InvalidArgument("obj: an estimator needs x= and y= or a loss_curve_ to plot",
                              argument="obj")
    results = h.as_results(obj)
    if not results:
        raise InvalidType(f"obj: cannot draw a {type(obj).__name__}", argument="obj")
    fun = kw.pop("fun", None)
    has_fun = fun is not None or h.resolve_objective(None, results) is not None
    p = np.asarray(results[0].path).reshape(len(results[0].path), -1).shape[1]
    if p == 1 and has_fun and len(results) == 1:
        return tangent_1d(fun, results[0])
    if p == 2 and has_fun:
        return contour(fun, paths=results, **kw)
    return loss_curve(results, **kw)

def animate(results: Any, fun: Any = None, max_frames: int = 100) -> go.Figure:
    """The runs step by step: Plotly frames with Play/Pause buttons and a slider.

    Over the contour for two variables, over the curve for one.

    Parameters
    ----------
    results : Result or list of Result
    fun : optional
        The function (None: from the Result).
    max_frames : int
        Most frames (iterations are sampled evenly, first and last kept).

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> from descend import minimize
    >>> fig = animate(minimize("x**2 + 2*y**2", [2.0, 1.0], lr=0.1, max_iter=30))
    >>> len(fig.frames) > 1, [b.label for b in fig.layout.updatemenus[0].buttons]
    (True, ['Play', 'Pause'])
    """
    rs = h.as_results(results)
    if not rs:
        raise InvalidArgument("results: nothing to animate", argument="results")
    ts = h.tracks(rs)
    p = ts[0].path.shape[1]
    if p == 2:
        fig = contour(fun, paths=rs)
        box: h.Box = (tuple(fig.layout.xaxis.range), tuple(fig.layout.yaxis.range))
    elif p == 1:
        obj = tr.need_objective(h.resolve_objective(fun, rs), "animate")
        box, xs, ys = curve_view(obj, ts, h.catalog_entry(fun, rs))
        fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines", name="f"))
        for i, t in enumerate(ts):
            add_curve_path(fig, obj, t, box, i)
        fig.update_layout(**tr.LAYOUT, title="f")
        fig.update_xaxes(range=list(box[0]))
    else:
        raise InvalidArgument(f"results: animate draws runs in 1 or 2 variables, got {p}",
                              argument="results")
    names = {t.label for t in ts}
    where = [k for k, d in enumerate(fig.data) if d.name in names and d.mode == "lines+markers"]
    drawn = [np.column_stack([fig.data[k].x, fig.data[k].y]) for k in where]
    longest = max(len(d) for d in drawn)
    steps = h.thin_indices(longest, max_frames)
    frames = []
    for s in steps:
        data = [go.Scatter(x=d[: s + 1, 0], y=d[: s + 1, 1]) for d in drawn]
        frames.append(go.Frame(data=data, traces=where, name=str(int(s))))
    fig.frames = frames
    for k, d in zip(where, drawn, strict=True):
        fig.data[k].x, fig.data[k].y = d[:1, 0], d[:1, 1]
    play = {"frame": {"duration": 60, "redraw": False}, "fromcurrent": True,
            "transition": {"duration": 0}}
    pause = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}
    fig.update_layout(
        updatemenus=[{"type": "buttons", "showactive": False, "x": 0.0, "y": -0.08,
                      "xanchor": "left", "direction": "left",
                      "buttons": [{"label": "Play", "method": "animate", "args": [None, play]},
                                  {"label": "Pause", "method": "animate",
                                   "args": [[None], pause]}]}],
        sliders=[{"currentvalue": {"prefix": "step "}, "x": 0.15, "len": 0.85, "y": -0.02,
                  "steps": [{"label": str(int(s)), "method": "animate",
                             "args": [[str(int(s))], pause]} for s in steps]}],
    )
    return fig
