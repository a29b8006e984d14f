"""The figures of each view (through :mod:`descend.plot`) and the data to animate them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .. import plot, sweep
from ..sweep import suggest_lr
from . import compute
from .compute import Problem, Run

__all__ = ["FRAMES", "animation", "view_figures"]

FRAMES = 60  #: frames of a Run's animation in the browser
_SIZE = {"width": None, "height": 520, "autosize": True}


def _fit(fig: go.Figure) -> go.Figure:
    fig.update_layout(**_SIZE, margin={"l": 50, "r": 20, "t": 50, "b": 90})
    return fig


def _paths_fig(kind: str, prob: Problem, rs: Sequence[Run]) -> go.Figure:
    results = [r.result for r in rs]
    labels = [r.label for r in rs]
    p = len(prob.variables)
    if p == 1 and results:
        return plot.tangent_1d(prob.fun, results[0])
    if p != 2 or not results:
        return _loss(rs)
    if kind == "surface":
        fig = plot.surface(prob.fun, prob.bounds, paths=results)
        for trace, label in zip((t for t in fig.data if t.name == "path"), labels, strict=False):
            trace.name = label
        return fig
    return plot.contour(prob.fun, prob.bounds, paths=results, labels=labels)


def _loss(rs: Sequence[Run]) -> go.Figure:
    fig = plot.loss_curve([r.result for r in rs])
    for trace, run in zip(fig.data, rs, strict=False):
        trace.name = run.label
    fig.update_layout(showlegend=True)
    return fig


def _sweep(state: Mapping[str, Any], prob: Problem) -> go.Figure:
    x0 = list(state["x0"])
    base = suggest_lr(prob.fun, x0)
    lrs = sorted({round(base * k, 12) for k in (0.1, 1.0, 1.9, 2.2)})
    res = sweep(prob.fun, x0, lrs, method=state["methods"][0],
                max_iter=min(int(state["cap"]), 2000), gtol=state.get("gtol"))
    fig = plot.lr_comparison(res)
    fig.update_layout(title=f"learning rates around 1/L = {base:.3g} (from the curvature at x0)")
    return fig


def view_figures(state: Mapping[str, Any], prob: Problem | None,
                 rs: Sequence[Run]) -> dict[str, go.Figure]:
    """The figures of the state's view, by graph id."""
    view = state["view"]
    if view == "tangent":
        tp, _, _ = compute.tangent_problem()
        return {"tangent": _fit(plot.tangent_1d(tp.fun, rs[0].result))}
    if view == "regression":
        x, y, stats = compute.regression_data(state)
        out = {"regression": plot.fit_line(x, y, rs[0].result) if rs else go.Figure()}
        if rs:
            if int(stats[0]) <= compute.SAMPLE:
                out["regression-landscape"] = plot.regression_landscape(x, y, rs[0].result)
            else:
                reg = compute.problem({**state, "f": "regression"})
                assert reg is not None
                out["regression-landscape"] = plot.contour(reg.fun, paths=rs[0].result)
            out["regression-loss"] = _loss(rs[:1])
        return {k: _fit(v) for k, v in out.items()}
    if prob is None:
        return {view: _fit(go.Figure(layout={"title": "no function: fix the formula"}))}
    if view == "loss":
        return {"loss": _fit(_loss(rs))}
    if view == "sweep":
        return {"sweep": _fit(_sweep(state, prob))}
    return {view: _fit(_paths_fig(view, prob, rs))}


def animation(figs: Mapping[str, go.Figure], rs: Sequence[Run]) -> dict[str, Any] | None:
    """Take the drawn paths out of the first figure and return them as frames.

    The figure keeps each path's first point; the page adds the rest in
    :data:`FRAMES` slices (``Plotly.extendTraces``) without asking the server again.
    """
    if not figs or not rs:
        return None
    graph, fig = next(iter(figs.items()))
    labels = {r.label for r in rs} | {"path"}
    traces: list[int] = []
    xs: list[list[float]] = []
    ys: list[list[float]] = []
    zs: list[list[float]] = []
    for i, t in enumerate(fig.data):
        if t.type not in ("scatter", "scatter3d") or t.name not in labels:
            continue
        if t.x is None or len(t.x) < 2:
            continue
        traces.append(i)
        xs.append(list(np.asarray(t.x, dtype=float)))
        ys.append(list(np.asarray(t.y, dtype=float)))
        # plain lists: Plotly.extendTraces cannot extend plotly's base64-encoded arrays
        if t.type == "scatter3d":
            zs.append(list(np.asarray(t.z, dtype=float)))
            t.z = [zs[-1][0]]
        t.x, t.y = [xs[-1][0]], [ys[-1][0]]
    if not traces:
        return None
    longest = max(len(x) for x in xs)
    clean = [[v if math.isfinite(v) else None for v in seq] for seq in xs]
    return {"graph": graph, "traces": traces, "x": clean,
            "y": [[v if math.isfinite(v) else None for v in seq] for seq in ys],
            "z": [[v if math.isfinite(v) else None for v in seq] for seq in zs] if zs else None,
            "frames": min(FRAMES, longest - 1)}
