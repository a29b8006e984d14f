"""Plotly pieces shared by the figures of :mod:`descend.plot`: colours, paths, notes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..errors import InvalidArgument
from . import grid as h

COLORS = ("#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880")
LAYOUT: dict[str, Any] = {
    "template": "plotly_white", "width": 800, "height": 600,
    "legend": {"orientation": "h", "x": 0.0, "y": -0.14, "yanchor": "top"},
    "margin": {"b": 110},
}


def title(text: str, limit: int = 70) -> str:
    """A figure title, shortened with an ellipsis past ``limit`` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def color(i: int) -> str:
    return COLORS[i % len(COLORS)]


def need_objective(obj: Any, what: str) -> Any:
    if obj is None:
        raise InvalidArgument(
            f"fun: {what} needs the function; pass fun (a callable, formula or catalog entry) "
            "or a Result that carries its objective",
            argument="fun",
        )
    return obj


def diverged_note(fig: go.Figure, t: h.Track, x: float, y: float, **ref: Any) -> None:
    fig.add_annotation(x=x, y=y, text=f"diverged at iteration {t.nit}", showarrow=True,
                       arrowhead=2, font={"color": "#B00020"}, **ref)


def axes(fig: go.Figure, obj: Any, p: int) -> None:
    names = list(getattr(obj, "variables", ()) or ())
    if len(names) != p:
        names = [f"x{i + 1}" for i in range(p)]
    fig.update_xaxes(title_text=names[0])
    if p >= 2:
        fig.update_yaxes(title_text=names[1])


def add_paths_2d(fig: go.Figure, ts: Sequence[h.Track], box: h.Box, **ref: Any) -> None:
    for i, t in enumerate(ts):
        pts = t.path[h.thin_indices(len(t.path))]
        cut = False
        if t.diverged:
            pts, cut = h.clip_to_box(pts, box)
        c = color(i)
        fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="lines+markers", name=t.label,
                                 legendgroup=t.label, line={"color": c}, marker={"size": 4}),
                      **ref)
        fig.add_trace(go.Scatter(x=t.path[:1, 0], y=t.path[:1, 1], mode="markers",
                                 name="start", legendgroup=t.label, showlegend=i == 0,
                                 marker={"symbol": "circle-open", "size": 12, "color": c,
                                         "line": {"width": 2}}), **ref)
        if cut and len(pts):
            diverged_note(fig, t, float(pts[-1, 0]), float(pts[-1, 1]), **ref)
        elif len(pts):
            fig.add_trace(go.Scatter(x=pts[-1:, 0], y=pts[-1:, 1], mode="markers", name="end",
                                     legendgroup=t.label, showlegend=i == 0,
                                     marker={"symbol": "x", "size": 11, "color": c}), **ref)


def minima_trace(entry: Any) -> go.Scatter | None:
    if entry is None or not entry.minima or entry.dim != 2:
        return None
    m = np.array(entry.minima, dtype=np.float64)
    return go.Scatter(x=m[:, 0], y=m[:, 1], mode="markers", name="known minima",
                      marker={"symbol": "star", "size": 14, "color": "white",
                              "line": {"color": "black", "width": 1}})


