"""The figures of each view (through :mod:`descend.plot`) and the data to animate them.

Figures are plain plotly JSON dicts. The contour and surface views, the ones a Step
redraws, are built fast: their background (the function's grid, the layout and its
template: everything that depends only on the function and the drawn box) is built once
through :mod:`descend.plot` and kept in a small per-process :class:`~.compute.LRU`, and
each request adds only the paths, as dicts equal to what :mod:`descend.plot` draws. A
:class:`Drawing` also says which traces hold the paths and a key of everything else, so
that the callback can send only the paths (a ``dash.Patch``) when the page already shows
a figure with that key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .. import plot
from .._figures import grid as h
from .._figures import traces as tr
from .._sweep import suggest_lr, sweep
from . import compute
from .compute import LRU, Problem, Run

__all__ = ["FRAMES", "Drawing", "animation", "drawing", "view_figures"]

Fig = dict[str, Any]

FRAMES = 60  #: frames of a Run's animation in the browser
_SIZE = {"width": None, "height": 520, "autosize": True}


def _fit(fig: go.Figure) -> go.Figure:
    fig.update_layout(**_SIZE, margin={"l": 50, "r": 20, "t": 50, "b": 90})
    return fig


def _json(fig: go.Figure) -> Fig:
    out: Fig = fig.to_plotly_json()
    return out


@dataclasses.dataclass(frozen=True)
class Drawing:
    """The figures of a view, by graph id; ``key``: everything but the paths ("" = none).

    ``paths``: by graph id, the indices of the traces whose ``x``/``y``/``z`` hold the
    runs; the rest of each figure is determined by ``key``.
    """

    figs: dict[str, Fig]
    key: str = ""
    paths: dict[str, list[int]] = dataclasses.field(default_factory=dict)


#: backgrounds by (view, function, box): the grid trace, the minima and the layout
_BACKGROUNDS: LRU[Fig] = LRU(32)


def _background(kind: str, prob: Problem, box: h.Box) -> Fig:
    def make() -> Fig:
        fig = (plot.surface(prob.fun, box) if kind == "surface"
               else plot.contour(prob.fun, box))
        return _json(_fit(fig))

    return _BACKGROUNDS.get((kind, prob.key, box), make)


def _floats(a: Any) -> list[float]:
    out: list[float] = np.asarray(a, dtype=np.float64).tolist()
    return out


def _path_traces(kind: str, prob: Problem, ts: Sequence[h.Track], box: h.Box
                 ) -> tuple[list[Fig], list[Fig]]:
    """The traces of the paths and the notes of diverged ones, as plot.contour/surface."""
    traces: list[Fig] = []
    notes: list[Fig] = []
    for i, t in enumerate(ts):
        c = tr.color(i)
        if kind == "surface":
            idx = h.thin_indices(len(t.path))
            pts, vals = t.path[idx], t.values[idx]
            if t.diverged:
                pts, _cut = h.clip_to_box(pts, box)
                obj = h.resolve_objective(prob.fun)
                assert obj is not None
                vals = obj.values(pts) if len(pts) else vals[:0]
            traces.append({"type": "scatter3d", "x": _floats(pts[:, 0]),
                           "y": _floats(pts[:, 1]), "z": _floats(vals),
                           "mode": "lines+markers", "name": t.label,
                           "line": {"color": c, "width": 5}, "marker": {"size": 2}})
            continue
        pts = t.path[h.thin_indices(len(t.path))]
        cut = False
        if t.diverged:
            pts, cut = h.clip_to_box(pts, box)
        traces.append({"type": "scatter", "x": _floats(pts[:, 0]), "y": _floats(pts[:, 1]),
                       "mode": "lines+markers", "name": t.label, "legendgroup": t.label,
                       "line": {"color": c}, "marker": {"size": 4}})
        traces.append({"type": "scatter", "x": _floats(t.path[:1, 0]),
                       "y": _floats(t.path[:1, 1]), "mode": "markers", "name": "start",
                       "legendgroup": t.label, "showlegend": i == 0,
                       "marker": {"symbol": "circle-open", "size": 12, "color": c,
                                  "line": {"width": 2}}})
        if cut and len(pts):
            notes.append({"x": float(pts[-1, 0]), "y": float(pts[-1, 1]),
                          "text": f"diverged at iteration {t.nit}", "showarrow": True,
                          "arrowhead": 2, "font": {"color": "#B00020"}})
        elif len(pts):
            traces.append({"type": "scatter", "x": _floats(pts[-1:, 0]),
                           "y": _floats(pts[-1:, 1]), "mode": "markers", "name": "end",
                           "legendgroup": t.label, "showlegend": i == 0,
                           "marker": {"symbol": "x", "size": 11, "color": c}})
    return traces, notes


def _fast_paths(kind: str, prob: Problem, rs: Sequence[Run]) -> Drawing:
    """The contour or surface of a function of two variables with the runs' paths.

    Equal to ``plot.contour`` / ``plot.surface`` (with the legend names they give),
    without building a plotly Figure per request.
    """
    results = [r.result for r in rs]
    labels = [r.label for r in rs]
    if kind == "surface":  # plot.surface names one path after its run, several "run i"
        labels = labels if len(rs) == 1 else [f"run {i}" for i in range(len(rs))]
    entry = h.catalog_entry(prob.fun, results)
    ts = h.tracks(results, labels)
    box = h.view_box(2, prob.bounds, entry, ts)
    bg = _background(kind, prob, box)
    traces, notes = _path_traces(kind, prob, ts, box)
    data = [bg["data"][0], *traces, *bg["data"][1:]]
    layout = bg["layout"]
    if notes:
        layout = {**layout, "annotations": [*layout.get("annotations", ()), *notes]}
    shape = [{k: v for k, v in t.items() if k not in ("x", "y", "z")} for t in traces]
    key = hashlib.sha1(json.dumps([kind, prob.key, box, shape, notes]).encode()).hexdigest()
    return Drawing({kind: {"data": data, "layout": layout}}, f"{kind}:{key[:20]}",
                   {kind: list(range(1, 1 + len(traces)))})


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
                 rs: Sequence[Run]) -> dict[str, Fig]:
    """The figures of the state's view, by graph id, as plotly JSON dicts."""
    return drawing(state, prob, rs).figs


def drawing(state: Mapping[str, Any], prob: Problem | None, rs: Sequence[Run]) -> Drawing:
    """The figures of the state's view, and for the contour and surface, what to patch."""
    view = state["view"]
    if (view in ("contour", "surface") and prob is not None and rs
            and len(prob.variables) == 2):
        return _fast_paths(view, prob, rs)
    return Drawing({k: _json(v) for k, v in _slow_figures(state, prob, rs).items()})


def _slow_figures(state: Mapping[str, Any], prob: Problem | None,
                  rs: Sequence[Run]) -> dict[str, go.Figure]:
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


def _floats_of(seq: Any) -> list[float]:
    if isinstance(seq, dict) and "bdata" in seq:  # plotly's base64 typed array
        import base64

        raw = np.frombuffer(base64.b64decode(seq["bdata"]), dtype=np.dtype(seq["dtype"]))
        shape = seq.get("shape")
        return _floats(raw.reshape([int(v) for v in str(shape).split(",")]) if shape
                       else raw)
    return _floats(seq)


def animation(figs: Mapping[str, Fig], rs: Sequence[Run]) -> dict[str, Any] | None:
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
    for i, t in enumerate(fig["data"]):
        if t.get("type", "scatter") not in ("scatter", "scatter3d") or t.get("name") not in labels:
            continue
        if t.get("x") is None:
            continue
        x = _floats_of(t["x"])
        if len(x) < 2:
            continue
        traces.append(i)
        xs.append(x)
        ys.append(_floats_of(t["y"]))
        # plain lists: Plotly.extendTraces cannot extend plotly's base64-encoded arrays
        t = fig["data"][i] = dict(t)  # the background's traces are shared: copy, then cut
        if t.get("type") == "scatter3d":
            zs.append(_floats_of(t["z"]))
            t["z"] = [zs[-1][0]]
        t["x"], t["y"] = [xs[-1][0]], [ys[-1][0]]
    if not traces:
        return None
    longest = max(len(x) for x in xs)
    clean = [[v if math.isfinite(v) else None for v in seq] for seq in xs]
    return {"graph": graph, "traces": traces, "x": clean,
            "y": [[v if math.isfinite(v) else None for v in seq] for seq in ys],
            "z": [[v if math.isfinite(v) else None for v in seq] for seq in zs] if zs else None,
            "frames": min(FRAMES, longest - 1)}
