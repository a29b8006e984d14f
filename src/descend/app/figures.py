"""The figures of each view (through :mod:`descend.plot`), built to be read.

Figures are plain plotly JSON dicts. The contour and surface views, the ones a Step, the
iteration slider and playing redraw, are built fast: their background (the function's
grid, the layout and its template: everything that depends only on the function, the
drawn box and the colour scale) is built once through :mod:`descend.plot` and kept in a
small per-process :class:`~.compute.LRU`, and each request adds the paths, the end
markers, the forces (arrows) and the contour levels. A :class:`Drawing` lists where in
each figure those live and a key of everything else, so that the callback can send only
them (a ``dash.Patch``) when the page already shows a figure with that key.

What makes a landscape readable: a log colour scale when f spans more than three
decades over the view (``log="auto"``), equal axis scales for a function of two
variables (``aspect="equal"``), contour levels spread over the values the paths go
through, and 3-D paths drawn just above the surface. The box is that of the whole runs,
so it stays put while the page steps or plays through them.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .. import plot, suggest_lr, sweep
from .._figures import grid as h
from .._figures import traces as tr
from . import classify, compute, teach
from .compute import LRU, Problem, Run, g4

__all__ = ["Drawing", "classification", "drawing", "log_scale", "view_figures"]

Fig = dict[str, Any]

_SIZE = {"width": None, "height": 520, "autosize": True}
GRAD_COLOR = "#ff2d95"  #: the negative gradient's direction
VELOCITY_COLOR = "#ff9f1c"  #: momentum's share of the step
PLAIN_COLOR = "#9e9e9e"  #: the plain gradient step -t g, beside an adaptive step
DECADES = 3.0  #: f spanning more than this many decades over the view gets a log scale


def _fit(fig: go.Figure) -> go.Figure:
    fig.update_layout(**_SIZE, margin={"l": 60, "r": 20, "t": 60, "b": 90})
    return fig


def _json(fig: go.Figure) -> Fig:
    out: Fig = fig.to_plotly_json()
    return out


def _floats(a: Any) -> list[float | None]:
    arr = np.asarray(a, dtype=np.float64).ravel()
    finite = np.isfinite(arr)
    if finite.all():
        return list(arr.tolist())
    return [float(v) if ok else None for v, ok in zip(arr.tolist(), finite, strict=True)]


@dataclasses.dataclass(frozen=True)
class Drawing:
    """The figures of a view, by graph id; ``key``: everything but what ``patch`` lists.

    ``patch``: by graph id, the locations (paths of keys and indices into the figure
    dict) that change from one iteration to the next; the rest of each figure is
    determined by ``key`` ("" = always send the figures whole).
    """

    figs: dict[str, Fig]
    key: str = ""
    patch: dict[str, list[tuple[Any, ...]]] = dataclasses.field(default_factory=dict)


# -- colour scale ---------------------------------------------------------------------------


def spans_decades(z: Any) -> float:
    """How many decades f spans over a grid: ``log10`` of the range over the 2nd
    percentile of ``f - min f`` (the values near the bottom that a linear scale hides)."""
    v = np.asarray(z, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 4:
        return 0.0
    shifted = v - v.min()
    top = float(shifted.max())
    low = float(np.quantile(shifted, 0.02))
    if top <= 0:
        return 0.0
    return float(np.log10(top / max(low, top * 1e-12)))


def log_scale(state: Mapping[str, Any], z: Any, key: Any = None) -> bool:
    """Colour by ``log10(1 + f - min f)``: the toggle, or on "auto" more than 3 decades
    (``key``: what identifies ``z``, to remember the answer)."""
    if state["log"] == "auto":
        if key is None:
            return spans_decades(z) > DECADES
        return _DECADES.get(key, lambda: spans_decades(z)) > DECADES
    return bool(state["log"] == "on")


_DECADES: LRU[float] = LRU(64)
_ZRANGE: LRU[tuple[float, float]] = LRU(64)


#: backgrounds by (view, function, box, log): the grid trace, the minima and the layout
_BACKGROUNDS: LRU[Fig] = LRU(32)
_GRIDS: LRU[Any] = LRU(32)


def _grid_z(prob: Problem, box: h.Box) -> Any:
    def make() -> Any:
        obj = h.resolve_objective(prob.fun)
        assert obj is not None
        xs, ys = (np.linspace(lo, hi, 61) for lo, hi in box)
        return h.grid_values(obj, [xs, ys])

    return _GRIDS.get((prob.key, box), make)


def _background(kind: str, prob: Problem, box: h.Box, log: bool) -> Fig:
    def make() -> Fig:
        if kind == "surface":
            fig = plot.surface(prob.fun, box)
            if log:
                z = np.asarray(fig.data[0].z, dtype=np.float64)
                fig.data[0].surfacecolor = np.log10(1.0 + z - np.nanmin(z))
                fig.data[0].colorbar = {"title": {"text": "log10(1+f-min)"}}
            fig.data[0].opacity = 0.85
        else:
            fig = plot.contour(prob.fun, box, log_scale=log)
        fig.update_layout(title=tr.title(prob.title or f"f = {prob.key}"))
        return _json(_fit(fig))

    return _BACKGROUNDS.get((kind, prob.key, box, log), make)


def _zrange(bg: Fig, key: Any) -> tuple[float, float]:
    def make() -> tuple[float, float]:
        z = np.asarray(_plain(bg["data"][0]["z"]), dtype=np.float64)
        finite = z[np.isfinite(z)]
        return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)

    return _ZRANGE.get(key, make)


def _levels(bg: Fig, key: Any, raw_min: float, rs: Sequence[Run], log: bool
            ) -> dict[str, Any]:
    """Contour levels (and colours) over the values from the lowest on the grid up to a
    bit above the highest the whole runs reach: the lines resolve where the paths are."""
    lo, top = _zrange(bg, key)
    vals = np.concatenate([r.whole.values for r in rs]) if rs else np.empty(0)
    vals = vals[np.isfinite(vals)]
    if lo == top or vals.size == 0:
        return {}
    hi = float(np.log10(1.0 + max(float(vals.max()) - raw_min, 0.0))) if log \
        else float(vals.max())
    hi = lo + 1.15 * (hi - lo)
    if not (hi > lo and hi < top):
        return {}
    return {"autocontour": False, "contours": {"start": lo, "end": hi, "size": (hi - lo) / 24,
                                               "coloring": "heatmap"},
            "zauto": False, "zmin": lo, "zmax": top}


def _plain(seq: Any) -> Any:
    if isinstance(seq, dict) and "bdata" in seq:  # plotly's base64 typed array
        import base64

        raw = np.frombuffer(base64.b64decode(seq["bdata"]), dtype=np.dtype(seq["dtype"]))
        shape = seq.get("shape")
        return raw.reshape([int(v) for v in str(shape).split(",")]) if shape else raw
    return np.asarray(seq, dtype=np.float64)


# -- the contour and surface of a function of two variables ---------------------------------


def _arrow(tail: Any, vec: Any, color: str, hover: str, width: int = 3) -> Fig:
    return {"x": float(tail[0] + vec[0]), "y": float(tail[1] + vec[1]), "ax": float(tail[0]),
            "ay": float(tail[1]), "xref": "x", "yref": "y", "axref": "x", "ayref": "y",
            "text": "", "showarrow": True, "arrowhead": 2, "arrowsize": 1.2,
            "arrowwidth": width, "arrowcolor": color, "hovertext": hover, "opacity": 0.95}


def force_arrows(rs: Sequence[Run], box: h.Box) -> list[Fig]:
    """Arrows at each run's current point: the next step (the run's colour, to scale),
    the negative gradient's direction (pink, a fixed length), the velocity's share of the
    step (momentum methods, orange) or the plain gradient step (adaptive ones, grey)."""
    out: list[Fig] = []
    diag = float(np.hypot(box[0][1] - box[0][0], box[1][1] - box[1][0]))
    for i, run in enumerate(rs):
        fo = teach.forces(run)
        if fo is None or len(fo.x) != 2:
            continue
        gn = float(np.linalg.norm(fo.grad))
        if gn > 0:
            out.append(_arrow(fo.x, -fo.grad / gn * 0.1 * diag, GRAD_COLOR,
                              f"{run.label}: −∇f (direction), |∇f| = {g4(gn)}", 2))
        if fo.step is not None and fo.t is not None:
            if fo.velocity is not None:
                out.append(_arrow(fo.x, fo.velocity, VELOCITY_COLOR,
                                  f"{run.label}: the velocity's share of the step"))
            if fo.scaling is not None:
                out.append(_arrow(fo.x, -fo.t * fo.grad, PLAIN_COLOR,
                                  f"{run.label}: the plain gradient step −t∇f"))
            out.append(_arrow(fo.x, fo.step, tr.color(i),
                              f"{run.label}: the next step, |Δx| = "
                              f"{g4(float(np.linalg.norm(fo.step)))}"))
    return [a for a in out if all(np.isfinite([a["x"], a["y"], a["ax"], a["ay"]]))]


def _path_traces(kind: str, prob: Problem, rs: Sequence[Run], box: h.Box, lift: float
                 ) -> tuple[list[Fig], list[Fig]]:
    """Per run: the path so far (named with the race's result), its start and its current
    point; and the notes of runs that left the box."""
    traces: list[Fig] = []
    notes: list[Fig] = []
    ts = h.tracks([r.result for r in rs], [teach.race_label(r) for r in rs])
    for i, (t, run) in enumerate(zip(ts, rs, strict=True)):
        c = tr.color(i)
        idx = h.thin_indices(len(t.path))
        pts, vals = t.path[idx], t.values[idx]
        cut = False
        if t.diverged:
            pts, cut = h.clip_to_box(pts, box)
            obj = h.resolve_objective(prob.fun)
            assert obj is not None
            vals = obj.values(pts) if len(pts) else vals[:0]
        group = {"legendgroup": run.label, "meta": run.label}
        if kind == "surface":
            traces.append({"type": "scatter3d", "x": _floats(pts[:, 0]),
                           "y": _floats(pts[:, 1]), "z": _floats(np.asarray(vals) + lift),
                           "mode": "lines+markers", "name": t.label, **group,
                           "line": {"color": c, "width": 7}, "marker": {"size": 3}})
            end = pts[-1:] if len(pts) else pts
            traces.append({"type": "scatter3d", "x": _floats(end[:, 0]),
                           "y": _floats(end[:, 1]),
                           "z": _floats(np.asarray(vals[-1:]) + lift) if len(pts) else [],
                           "mode": "markers", "name": "current point", **group,
                           "showlegend": i == 0,
                           "marker": {"symbol": "diamond", "size": 6, "color": c}})
            continue
        traces.append({"type": "scatter", "x": _floats(pts[:, 0]), "y": _floats(pts[:, 1]),
                       "mode": "lines+markers", "name": t.label, **group,
                       "line": {"color": c}, "marker": {"size": 4}})
        traces.append({"type": "scatter", "x": _floats(t.path[:1, 0]),
                       "y": _floats(t.path[:1, 1]), "mode": "markers", "name": "start",
                       **group, "showlegend": i == 0,
                       "marker": {"symbol": "circle-open", "size": 12, "color": c,
                                  "line": {"width": 2}}})
        end = pts[-1:] if len(pts) else pts
        traces.append({"type": "scatter", "x": _floats(end[:, 0]), "y": _floats(end[:, 1]),
                       "mode": "markers", "name": "current point", **group,
                       "showlegend": i == 0,
                       "marker": {"symbol": "x", "size": 12, "color": c,
                                  "line": {"width": 1, "color": "white"}}})
        if cut and len(pts):
            notes.append({"x": float(pts[-1, 0]), "y": float(pts[-1, 1]),
                          "text": f"diverged at iteration {t.nit}", "showarrow": True,
                          "arrowhead": 2, "font": {"color": "#B00020"}})
    return traces, notes


def _box_of(prob: Problem, rs: Sequence[Run]) -> h.Box:
    whole = h.tracks([r.whole for r in rs])
    return h.view_box(2, prob.bounds, h.catalog_entry(prob.fun, [r.whole for r in rs]), whole)


def _fast_paths(kind: str, prob: Problem, rs: Sequence[Run], state: Mapping[str, Any]
                ) -> Drawing:
    """The contour or surface of a function of two variables with the runs so far."""
    box = _box_of(prob, rs)
    log = log_scale(state, _grid_z(prob, box), (prob.key, box))
    bg = _background(kind, prob, box, log)
    lift = 0.0
    if kind == "surface":
        z = _plain(bg["data"][0]["z"])
        finite = z[np.isfinite(z)]
        lift = 0.015 * float(finite.max() - finite.min()) if finite.size else 0.0
    traces, notes = _path_traces(kind, prob, rs, box, lift)
    base = dict(bg["data"][0])
    if kind == "contour":
        base.update(_levels(bg, (kind, prob.key, box, log),
                            float(np.nanmin(_grid_z(prob, box))), rs, log))
    data = [base, *traces, *bg["data"][1:]]
    layout = dict(bg["layout"])
    arrows = force_arrows(rs, box) if kind == "contour" and state["forces"] else []
    layout["annotations"] = [*bg["layout"].get("annotations", ()), *notes, *arrows]
    equal = state["aspect"] == "equal" and state["f"] != "regression"
    if kind == "contour" and equal:
        layout["yaxis"] = {**layout.get("yaxis", {}), "scaleanchor": "x", "scaleratio": 1}
    elif kind == "surface":
        dx, dy = box[0][1] - box[0][0], box[1][1] - box[1][0]
        ratio = {"x": 1.0, "y": dy / dx if equal and dx > 0 else 1.0, "z": 0.7}
        layout["scene"] = {**layout.get("scene", {}), "aspectmode": "manual",
                           "aspectratio": ratio}
    layout["uirevision"] = f"{kind}:{prob.key}"
    moving = ("x", "y", "z", "name")
    shape = [{k: v for k, v in t.items() if k not in moving} for t in traces]
    key = hashlib.sha1(json.dumps([kind, prob.key, box, log, equal, shape],
                                  default=str).encode()).hexdigest()
    locs: list[tuple[Any, ...]] = [("layout", "annotations")]
    for i, t in enumerate(traces, start=1):
        locs += [("data", i, axis) for axis in moving if axis in t]
    if kind == "contour":
        locs += [("data", 0, k) for k in ("contours", "autocontour", "zmin", "zmax", "zauto")
                 if k in base]
    return Drawing({kind: {"data": data, "layout": layout}}, f"{kind}:{key[:20]}",
                   {kind: locs})


# -- one variable: the curve, the point, its tangent and the forces -------------------------


def curve(prob: Problem, rs: Sequence[Run], state: Mapping[str, Any]) -> Fig:
    """The curve of a function of one variable with each run's points so far, the tangent
    at the current point, the negative slope's direction and the next step."""
    obj = h.resolve_objective(prob.fun)
    assert obj is not None
    lo, hi = prob.bounds[0] if prob.bounds else (-3.0, 3.0)
    pts = [r.whole.path[:, 0] for r in rs if r.whole.status.value != "diverged"]
    pts += [r.whole.path[:2, 0] for r in rs if r.whole.status.value == "diverged"]
    allp = np.concatenate(pts) if pts else np.empty(0)
    allp = allp[np.isfinite(allp)]
    if prob.minimum is not None:
        allp = np.append(allp, prob.minimum)
    if allp.size:
        lo, hi = min(lo, float(allp.min())), max(hi, float(allp.max()))
        pad = 0.08 * (hi - lo or 1.0)
        lo, hi = lo - pad, hi + pad
    xs = np.linspace(lo, hi, 400)
    with np.errstate(all="ignore"):
        ys = np.asarray(obj.values(xs[:, None]), dtype=np.float64)
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines", name="f",
                               line={"color": "#636EFA", "width": 3}))
    name = prob.variables[0]
    notes: list[Fig] = []
    for i, run in enumerate(rs):
        c = tr.color(i)
        r = run.result
        idx = h.thin_indices(len(r.path))
        px, pv = r.path[idx, 0], r.values[idx]
        keep = (px >= lo) & (px <= hi) & np.isfinite(pv)
        fig.add_trace(go.Scatter(x=px[keep], y=pv[keep], mode="lines+markers",
                                 name=teach.race_label(run), legendgroup=run.label,
                                 meta=run.label, line={"color": c, "dash": "dot", "width": 1},
                                 marker={"size": 7, "color": c}))
        x, fx = float(r.path[-1, 0]), float(r.values[-1])
        if not (lo <= x <= hi and np.isfinite(fx)):
            notes.append({"xref": "paper", "yref": "paper", "x": 0.5, "y": 1.0,
                          "text": f"{run.label}: the point left the view at iteration "
                                  f"{r.nit}", "showarrow": False,
                          "font": {"color": "#B00020"}})
            continue
        fig.add_trace(go.Scatter(x=[x], y=[fx], mode="markers", name="current point",
                                 legendgroup=run.label, showlegend=i == 0,
                                 marker={"symbol": "circle", "size": 13, "color": c,
                                         "line": {"width": 2, "color": "black"}}))
        fo = teach.forces(run)
        if fo is None:
            continue
        g = float(fo.grad[0])
        hw = 0.12 * (hi - lo)
        fig.add_trace(go.Scatter(x=[x - hw, x + hw], y=[fx - g * hw, fx + g * hw],
                                 mode="lines", name="tangent (slope f′)",
                                 legendgroup=run.label, showlegend=i == 0,
                                 line={"color": "#EF553B", "width": 2}))
        if state["forces"] and g != 0:
            notes.append({**_arrow([x, fx], [-np.sign(g) * 0.08 * (hi - lo), 0.0], GRAD_COLOR,
                                   f"−f′ points downhill: f′ = {g4(g)}", 2)})
            if fo.step is not None:
                notes.append(_arrow([x, fx], [float(fo.step[0]), 0.0], c,
                                    f"the next step: {g4(float(fo.step[0]))}"))
    finite = ys[np.isfinite(ys)]
    if finite.size:
        ylo, yhi = float(finite.min()), float(finite.max())
        pad = 0.08 * (yhi - ylo or 1.0)
        fig.update_yaxes(range=[ylo - pad, yhi + pad])
    fig.update_xaxes(range=[lo, hi], title_text=name)
    fig.update_yaxes(title_text=f"f({name})")
    fig.update_layout(**tr.LAYOUT, title=tr.title(prob.title, 100), annotations=notes,
                      uirevision=f"curve:{prob.key}")
    return _json(_fit(fig))


# -- three or more variables: a slice through the current point -----------------------------


def slice_view(kind: str, prob: Problem, rs: Sequence[Run], state: Mapping[str, Any]
               ) -> dict[str, Fig]:
    """f over two chosen variables through the first run's current point (the others
    held there), the paths projected on that plane, and the loss curve beside it."""
    p = len(prob.variables)
    i, j = int(state["sx"]) % p, int(state["sy"]) % p
    if i == j:
        j = (i + 1) % p
    centre = rs[0].result.path[-1] if rs else np.asarray(state["x0"], dtype=np.float64)
    pts = np.concatenate([r.whole.path for r in rs]) if rs else centre[None]
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    box = []
    for k in (i, j):
        lo, hi = prob.bounds[k] if prob.bounds else (-3.0, 3.0)
        if len(pts):
            lo, hi = min(lo, float(pts[:, k].min())), max(hi, float(pts[:, k].max()))
        box.append((lo, hi))
    xs, ys, z = teach.slice_grid(prob, centre, i, j, box)
    log = log_scale(state, z)
    zz = np.log10(1.0 + z - np.nanmin(z)) if log else z
    vi, vj = prob.variables[i], prob.variables[j]
    held = ", ".join(f"{v} = {g4(float(centre[k]))}" for k, v in enumerate(prob.variables)
                     if k not in (i, j))
    title = f"slice through the current point: f over ({vi}, {vj}) with {held}"
    if kind == "surface":
        fig = go.Figure(go.Surface(x=xs, y=ys, z=z, surfacecolor=zz, colorscale="Viridis",
                                   opacity=0.85, name="f"))
    else:
        fig = go.Figure(go.Contour(x=xs, y=ys, z=zz, colorscale="Viridis", ncontours=24,
                                   name="f", colorbar={"title": {"text": "log10(1+f-min)"
                                                                 if log else "f"}}))
    for n, run in enumerate(rs):
        path = run.result.path[h.thin_indices(len(run.result.path))]
        path = path[np.all(np.isfinite(path), axis=1)]
        label = teach.race_label(run) + " (projected)"
        if kind == "surface":
            fig.add_trace(go.Scatter3d(x=path[:, i], y=path[:, j],
                                       z=run.result.values[h.thin_indices(len(run.result.path))]
                                       [: len(path)], mode="lines+markers", name=label,
                                       line={"color": tr.color(n), "width": 6},
                                       marker={"size": 2}))
        else:
            fig.add_trace(go.Scatter(x=path[:, i], y=path[:, j], mode="lines+markers",
                                     name=label, meta=run.label,
                                     line={"color": tr.color(n)}, marker={"size": 4}))
            fig.add_trace(go.Scatter(x=path[-1:, i], y=path[-1:, j], mode="markers",
                                     name="current point", showlegend=n == 0,
                                     marker={"symbol": "x", "size": 12,
                                             "color": tr.color(n)}))
    fig.update_layout(**tr.LAYOUT, title=tr.title(title, 110))
    if kind == "contour":
        fig.update_xaxes(range=list(box[0]), title_text=vi)
        fig.update_yaxes(range=list(box[1]), title_text=vj)
        if state["aspect"] == "equal":
            fig.update_yaxes(scaleanchor="x", scaleratio=1)
    else:
        fig.update_layout(scene={"xaxis_title": vi, "yaxis_title": vj, "zaxis_title": "f"})
    return {kind: _json(_fit(fig)), f"{kind}-loss": _json(_fit(_loss(rs)))}


# -- the other views ------------------------------------------------------------------------


def _loss(rs: Sequence[Run]) -> go.Figure:
    fig = plot.loss_curve([r.result for r in rs])
    for trace, run in zip(fig.data, rs, strict=False):
        trace.name = teach.race_label(run)
    fig.update_layout(showlegend=True, title="loss per iteration")
    fig.update_xaxes(title_text="iteration")
    fig.update_yaxes(title_text="f (log scale)" if fig.layout.yaxis.type == "log" else "f")
    return fig


def _sweep(state: Mapping[str, Any], prob: Problem) -> go.Figure:
    x0 = list(state["x0"])
    base = suggest_lr(prob.fun, x0)
    lrs = sorted({float(f"{base * k:.4g}") for k in (0.1, 1.0, 1.9, 2.2)})
    res = sweep(prob.fun, x0, lrs, method=compute.method_of(state["methods"][0], state),
                max_iter=min(int(state["cap"]), 2000), gtol=state.get("gtol"))
    fig = plot.lr_comparison(res)
    titles = [f"lr = {g4(lr)}: {v.replace('_', ' ')}" for lr, v in zip(lrs, res.verdicts,
                                                                         strict=True)]
    for ann, text in zip(fig.layout.annotations, titles, strict=False):
        ann.text = text
    one_d = len(prob.variables) == 1
    fig.update_xaxes(title_text=prob.variables[0] if one_d else "iteration")
    fig.update_yaxes(title_text="f")
    fig.update_layout(title={"text": f"choosing a step: learning rates around 1/L = "
                                     f"{g4(base)} (from the curvature at the start)",
                             "y": 0.98, "yanchor": "top"},
                      margin={"t": 110})
    return fig


CLASS_COLORS = ("#1f77b4", "#d62728")  #: class 0, class 1
BOUNDARY_COLOR = "#111111"
_GRID = 60  #: points per side of the probability grid


@functools.lru_cache(maxsize=1)
def _white() -> Fig:
    """The ``plotly_white`` template as JSON (built once: validating it is most of the
    cost of a small figure)."""
    import plotly.io as pio

    out: Fig = pio.templates["plotly_white"].to_plotly_json()
    return out


def _layout(title: str, x: str, y: str, **more: Any) -> Fig:
    return {"template": _white(), **_SIZE, "margin": {"l": 60, "r": 20, "t": 60, "b": 110},
            "legend": dict(tr.LAYOUT["legend"]), "title": {"text": tr.title(title, 110)},
            "xaxis": {"title": {"text": x}}, "yaxis": {"title": {"text": y}}, **more}


def classification(c: classify.Classes, rs: Sequence[Run]) -> dict[str, Fig]:
    """The classification mode's figures at the iteration shown, as plotly JSON (built
    directly: a Step redraws them): the two features coloured by class with the
    probability contours and the decision boundary (p = 0.5); the coefficients' path;
    the log loss per iteration."""
    run = rs[0]
    theta = run.result.x
    lo, hi = c.x.min(axis=0), c.x.max(axis=0)
    pad = np.where(hi > lo, 0.08 * (hi - lo), 1.0)
    box = ((float(lo[0] - pad[0]), float(hi[0] + pad[0])),
           (float(lo[1] - pad[1]), float(hi[1] + pad[1])))
    gx = np.linspace(*box[0], _GRID)
    gy = np.linspace(*box[1], _GRID)
    mx, my = np.meshgrid(gx, gy)
    prob = classify.probability(c, theta, np.column_stack([mx.ravel(), my.ravel()]))
    f1, f2, t = c.names
    data: list[Fig] = [{
        "type": "contour", "x": gx.tolist(), "y": gy.tolist(),
        "z": prob.reshape(mx.shape).tolist(), "zmin": 0.0, "zmax": 1.0, "name": "p(class 1)",
        "contours": {"start": 0.1, "end": 0.9, "size": 0.1, "showlabels": True,
                     "labelfont": {"size": 10, "color": "#333"}},
        "colorscale": "RdBu", "opacity": 0.55, "line": {"width": 0.5},
        "colorbar": {"title": {"text": f"p({t} = {g4(c.labels[1])})"}},
        "hovertemplate": f"{f1} = %{{x:.4g}}, {f2} = %{{y:.4g}}: p = %{{z:.3f}}<extra></extra>"}]
    for k in (0, 1):
        rows = c.y == k
        data.append({"type": "scatter", "x": c.x[rows, 0].tolist(), "y": c.x[rows, 1].tolist(),
                     "mode": "markers", "name": f"{t} = {g4(c.labels[k])} ({int(rows.sum())} "
                                                "rows)",
                     "marker": {"color": CLASS_COLORS[k], "size": 7,
                                "symbol": ("circle", "diamond")[k],
                                "line": {"width": 1, "color": "white"}}})
    bx, by = classify.boundary(c, theta, box)
    data.append({"type": "scatter", "x": bx, "y": by, "mode": "lines",
                 "name": "decision boundary (p = 0.5)",
                 "line": {"color": BOUNDARY_COLOR, "width": 3}})
    right = classify.accuracy(c, theta)
    lay = _layout(f"classifying {t} at iteration {run.result.nit}: accuracy "
                  f"{g4(100 * right)}%, log loss {g4(run.result.fun)}", f1, f2)
    lay["xaxis"]["range"], lay["yaxis"]["range"] = list(box[0]), list(box[1])
    path = np.asarray(run.result.path, dtype=np.float64)
    colour = tr.color(0)
    coef = {"data": [
        {"type": "scatter", "x": path[:, 1].tolist(), "y": path[:, 2].tolist(),
         "mode": "lines+markers", "name": f"{run.label}: (w1, w2)", "marker": {"size": 4},
         "line": {"color": colour}},
        {"type": "scatter", "x": path[-1:, 1].tolist(), "y": path[-1:, 2].tolist(),
         "mode": "markers", "name": "current point",
         "marker": {"size": 11, "color": colour, "line": {"width": 2, "color": "black"}}}],
        "layout": _layout(f"the coefficients' path: w1 of z({f1}), w2 of z({f2}) "
                          "(z: the standardized features)", "w1", "w2")}
    values = np.asarray(run.result.values, dtype=np.float64)
    loss = {"data": [{"type": "scatter", "x": list(range(len(values))), "y": _floats(values),
                      "mode": "lines", "name": teach.race_label(run),
                      "line": {"color": colour}}],
            "layout": _layout("log loss per iteration", "iteration", "mean log loss",
                              showlegend=True)}
    return {"regression": {"data": data, "layout": lay}, "regression-landscape": coef,
            "regression-loss": loss}


def _regression(state: Mapping[str, Any], prob: Problem | None, rs: Sequence[Run]
                ) -> dict[str, go.Figure]:
    x, y, stats = compute.regression_data(state)
    if not rs:
        return {"regression": go.Figure(layout={"title": "nothing to fit"})}
    result = rs[0].result
    out = {"regression": plot.fit_line(x, y, result)}
    if int(stats[0]) <= compute.SAMPLE:
        land = plot.regression_landscape(x, y, result)
    else:
        assert prob is not None
        land = plot.contour(prob.fun, paths=result)
    if prob is not None:
        land.update_layout(title=tr.title(prob.title, 110))
    if state["mb"]:
        from .. import GDRegressor  # scikit-learn's estimator API: loaded when asked for

        est = GDRegressor(batch_size=int(state["batch"]), standardize=True,
                          lr="auto", max_iter=min(int(state["cap"]), 200), tol=None,
                          random_state=0)
        with warnings.catch_warnings(record=True):  # said in the legend instead
            warnings.simplefilter("always")
            est.fit(np.asarray(x)[:, None], np.asarray(y))
        path = np.asarray(est.path_, dtype=np.float64)
        land.add_trace(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines+markers",
                                  name=f"mini-batch ({int(state['batch'])} rows), "
                                       f"{est.n_iter_} epochs"
                                       + ("" if est.converged_ else ", not converged"),
                                  line={"color": "#FFA15A", "dash": "dot"},
                                  marker={"size": 4}))
    out["regression-landscape"] = land
    out["regression-loss"] = _loss(rs[:1])
    data = state.get("data")
    if data:
        xn, yn = data["columns"][data["xi"]], data["columns"][data["yi"]]
        out["regression"].update_xaxes(title_text=xn)
        out["regression"].update_yaxes(title_text=yn)
    return out


def _basins(prob: Problem, rs: Sequence[Run], state: Mapping[str, Any]) -> go.Figure:
    box = h.view_box(2, prob.bounds, h.catalog_entry(prob.fun), ())
    b = teach.basins(prob, state, box)
    palette = [tr.color(i) for i in range(len(b.minima))] or ["#636EFA"]
    colors = ["#222222", "#bbbbbb", *palette]  # diverged, not converged, then minima
    z = b.label + 2
    scale = []
    n = len(colors)
    for k, c in enumerate(colors):
        scale += [[k / n, c], [(k + 1) / n, c]]
    fig = go.Figure(go.Heatmap(x=b.xs, y=b.ys, z=z, zmin=0, zmax=n, colorscale=scale,
                               showscale=False, name="starts",
                               hovertemplate="start (%{x:.3g}, %{y:.3g})<extra></extra>"))
    for k, (mx, mf, count) in enumerate(b.minima):
        fig.add_trace(go.Scatter(x=[mx[0]], y=[mx[1]], mode="markers",
                                 name=f"minimum {k + 1}: ({g4(mx[0])}, {g4(mx[1])}), "
                                      f"f = {g4(mf)}, {count} starts",
                                 marker={"symbol": "star", "size": 16, "color": palette[k],
                                         "line": {"width": 1.5, "color": "black"}}))
    lost = int(np.count_nonzero(b.label == -1))
    gone = int(np.count_nonzero(b.label == -2))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers",
                             name=f"not converged in {b.max_iter}: {lost} starts",
                             marker={"color": "#bbbbbb", "symbol": "square", "size": 10}))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers",
                             name=f"diverged: {gone} starts",
                             marker={"color": "#222222", "symbol": "square", "size": 10}))
    fig.update_layout(**tr.LAYOUT, title=tr.title(
        f"basins: {len(b.xs)}×{len(b.ys)} starts with {b.method}, coloured by the minimum "
        "each reaches", 110))
    fig.update_xaxes(range=list(box[0]), title_text=prob.variables[0])
    fig.update_yaxes(range=list(box[1]), title_text=prob.variables[1])
    if state["aspect"] == "equal":
        fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def view_figures(state: Mapping[str, Any], prob: Problem | None,
                 rs: Sequence[Run]) -> dict[str, Fig]:
    """The figures of the state's view, by graph id, as plotly JSON dicts."""
    return drawing(state, prob, rs).figs


def drawing(state: Mapping[str, Any], prob: Problem | None, rs: Sequence[Run]) -> Drawing:
    """The figures of the state's view, and for the contour and surface, what to patch."""
    view = state["view"]
    p = len(prob.variables) if prob is not None else 0
    if view in ("contour", "surface") and prob is not None and rs and p == 2:
        return _fast_paths(view, prob, rs, state)
    if view in ("contour", "surface") and prob is not None and p >= 3:
        return Drawing(slice_view(view, prob, rs, state))
    if view == "tangent" and prob is not None and p == 1:
        return Drawing({"tangent": curve(prob, rs, state)})
    if view == "regression" and rs:
        c = classify.classes(state)
        if c is not None:
            return Drawing(classification(c, rs))
    return Drawing({k: _json(_fit(v)) for k, v in _slow(state, prob, rs).items()})


def _slow(state: Mapping[str, Any], prob: Problem | None,
          rs: Sequence[Run]) -> dict[str, go.Figure]:
    view = state["view"]
    if view == "regression":
        return _regression(state, prob, rs)
    if prob is None:
        return {view: go.Figure(layout={"title": "no function: fix the formula"})}
    if view == "loss":
        return {"loss": _loss(rs)}
    if view == "sweep":
        return {"sweep": _sweep(state, prob)}
    if view == "basins" and len(prob.variables) == 2:
        return {"basins": _basins(prob, rs, state)}
    return {view: go.Figure(layout={"title": "this view does not fit this function"})}
