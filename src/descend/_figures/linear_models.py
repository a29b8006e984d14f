"""Figures of fitted linear models: a classifier's decision boundary, the regularization path.

``decision_boundary`` draws a fitted classifier (recognized by ``predict_proba`` and
``classes_``) on two features; ``coef_path`` draws coefficients computed elsewhere (the fits
run in :mod:`descend.linear_model._path`, called by :func:`descend.plot.coef_path`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from .._types import Array
from ..errors import InvalidArgument, InvalidType
from . import traces as tr

__all__ = ["boundary_points", "coef_path", "decision_boundary"]


def _classifier(model: Any) -> None:
    if isinstance(model, type) or not callable(getattr(model, "predict_proba", None)):
        shown = model.__name__ if isinstance(model, type) else type(model).__name__
        raise InvalidType(f"model: expected a fitted classifier (with predict_proba), such as "
                          f"GDClassifier().fit(X, y), got {shown}", argument="model")
    if not hasattr(model, "classes_"):
        raise InvalidArgument(f"model: this {type(model).__name__} is not fitted yet; call "
                              "fit(X, y) first", argument="model")


def _two_columns(model: Any, X: Any, y: Any) -> tuple[Array, Array, list[str]]:
    names = [str(c) for c in X.columns] if hasattr(X, "columns") else None
    try:
        Xa = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidType("X: expected numbers, an array or a table of two columns",
                          argument="X") from None
    if Xa.ndim != 2 or Xa.shape[1] != 2:
        raise InvalidArgument(f"X: decision_boundary draws two features, expected shape "
                              f"(n, 2), got {Xa.shape}", argument="X")
    if not np.all(np.isfinite(Xa)) or Xa.shape[0] < 1:
        raise InvalidArgument("X: expected at least one row of finite numbers", argument="X")
    n_in = getattr(model, "n_features_in_", 2)
    if n_in != 2:
        raise InvalidArgument(f"model: fitted on {n_in} features; decision_boundary draws a "
                              "model of two", argument="model")
    ya = np.asarray(y)
    if ya.ndim != 1 or ya.shape[0] != Xa.shape[0]:
        raise InvalidArgument(f"y: expected one label per row of X ({Xa.shape[0]}), got shape "
                              f"{ya.shape}", argument="y")
    fitted = getattr(model, "feature_names_in_", None)
    if names is None:
        names = [str(n) for n in fitted] if fitted is not None else ["x1", "x2"]
    return Xa, ya, names


def _log_proba(model: Any, pts: Array) -> Array:
    """``log predict_proba`` at ``pts``, given as the model was fitted (names or not)."""
    fitted = getattr(model, "feature_names_in_", None)
    data: Any = pts
    if fitted is not None:
        import pandas as pd

        data = pd.DataFrame(pts, columns=pd.Index([str(n) for n in fitted]))
    if callable(getattr(model, "predict_log_proba", None)):
        return np.asarray(model.predict_log_proba(data), dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(model.predict_proba(data), dtype=np.float64))


def boundary_points(xs: Array, ys: Array, logp: Array) -> Array:
    """Points ``(m, 2)`` where the most probable class changes between grid neighbours.

    ``logp`` is ``(len(ys), len(xs), n_classes)``. Along each grid edge whose two ends
    predict classes ``a`` and ``b``, the point is where ``log p_a - log p_b`` crosses 0,
    interpolated linearly (exact for a linear model: the difference is linear there);
    for two classes it is where ``p = 0.5``.
    """
    top = logp.argmax(axis=2)
    out: list[Array] = []
    for axis in (1, 0):  # along x (within rows), then along y (within columns)
        a = top[:, :-1] if axis == 1 else top[:-1, :]
        b = top[:, 1:] if axis == 1 else top[1:, :]
        rows, cols = np.nonzero(a != b)
        if not rows.size:
            continue
        r2, c2 = (rows, cols + 1) if axis == 1 else (rows + 1, cols)
        ka, kb = a[rows, cols], b[rows, cols]
        d0 = logp[rows, cols, ka] - logp[rows, cols, kb]
        d1 = logp[r2, c2, ka] - logp[r2, c2, kb]
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.clip(np.nan_to_num(d0 / (d0 - d1), nan=0.5), 0.0, 1.0)
        x0, y0 = xs[cols], ys[rows]
        x1, y1 = xs[c2], ys[r2]
        out.append(np.column_stack([x0 + t * (x1 - x0), y0 + t * (y1 - y0)]))
    return np.concatenate(out) if out else np.empty((0, 2))


def _ordered(points: Array) -> Array:
    """Points along one curve, ordered along their main direction (for a line trace)."""
    if len(points) < 3:
        return points
    centred = points - points.mean(axis=0)
    direction = np.linalg.svd(centred, full_matrices=False)[2][0]
    ordered: Array = points[np.argsort(centred @ direction, kind="stable")]
    return ordered


def decision_boundary(model: Any, X: Any, y: Any, grid: int = 200) -> go.Figure:
    """A fitted classifier on two features: the data, the probabilities, the boundary.

    Parameters
    ----------
    model : classifier
        Fitted on two features, with ``predict_proba`` and ``classes_`` (such as
        :class:`~descend.linear_model.GDClassifier`).
    X : array_like (n, 2) or DataFrame
        The points to draw (the axes span them, padded by 5%).
    y : array_like (n,)
        Their labels: one marker colour per class.
    grid : int, default 200
        Grid points per axis of the probability map.

    Returns
    -------
    plotly.graph_objects.Figure
        Two classes: a ``contour`` trace of ``P(<second class>)`` (contours every 0.1),
        the ``boundary`` line where that probability is 0.5, then one marker trace per
        class. More classes: a ``heatmap`` of the predicted class, a ``contour`` trace of
        the largest probability, the ``boundary`` points where the predicted class
        changes, then the classes' markers.
    """
    _classifier(model)
    Xa, ya, names = _two_columns(model, X, y)
    n = int(grid)
    if n < 2:
        raise InvalidArgument(f"grid: expected at least 2 points per axis, got {grid!r}",
                              argument="grid")
    lo, hi = Xa.min(axis=0), Xa.max(axis=0)
    pad = 0.05 * np.where(hi > lo, hi - lo, np.maximum(np.abs(hi), 1.0))
    xs, ys = (np.linspace(lo[k] - pad[k], hi[k] + pad[k], n) for k in range(2))
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    logp = _log_proba(model, pts).reshape(n, n, -1)
    classes = list(np.asarray(model.classes_).tolist())
    labels = [str(c) for c in classes]
    fig = go.Figure()
    edge = boundary_points(xs, ys, logp)
    if len(classes) == 2:
        fig.add_trace(go.Contour(
            x=xs, y=ys, z=np.exp(logp[:, :, 1]), name=f"P({labels[1]})", zmin=0.0, zmax=1.0,
            colorscale="RdBu_r", opacity=0.55, line={"width": 0.5},
            contours={"start": 0.1, "end": 0.9, "size": 0.1, "showlabels": True},
            colorbar={"title": {"text": f"P({labels[1]})"}}))
        line = _ordered(edge)
        fig.add_trace(go.Scatter(x=line[:, 0], y=line[:, 1], mode="lines",
                                 name="boundary (p = 0.5)",
                                 line={"color": "black", "width": 3}))
    else:
        top = logp.argmax(axis=2)
        k = len(classes)
        scale = [[i / (k - 1), tr.color(i)] for i in range(k)]
        fig.add_trace(go.Heatmap(x=xs, y=ys, z=top, name="predicted class", zmin=0,
                                 zmax=k - 1, colorscale=scale, opacity=0.3, showscale=False,
                                 hoverinfo="skip"))
        fig.add_trace(go.Contour(
            x=xs, y=ys, z=np.exp(logp.max(axis=2)), name="max probability",
            contours={"coloring": "lines", "start": 0.4, "end": 0.9, "size": 0.1,
                      "showlabels": True},
            line={"width": 1}, colorscale=[[0, "#555"], [1, "#555"]], showscale=False))
        fig.add_trace(go.Scatter(x=edge[:, 0], y=edge[:, 1], mode="markers",
                                 name="boundary", marker={"color": "black", "size": 2}))
    for i, (c, label) in enumerate(zip(classes, labels, strict=True)):
        mine = ya == c
        if not mine.any():
            with warnings.catch_warnings():  # numbers read as text, or text as numbers
                warnings.simplefilter("ignore")
                mine = ya.astype(str) == label
        fig.add_trace(go.Scatter(x=Xa[mine, 0], y=Xa[mine, 1], mode="markers", name=label,
                                 marker={"color": tr.color(i), "size": 7,
                                         "line": {"color": "black", "width": 1}}))
    fig.update_layout(**tr.LAYOUT, title=tr.title(
        f"decision boundary of {type(model).__name__} ({len(classes)} classes)"))
    fig.update_xaxes(title_text=names[0], range=[float(xs[0]), float(xs[-1])])
    fig.update_yaxes(title_text=names[1], range=[float(ys[0]), float(ys[-1])])
    return fig


def coef_path(alphas: Array, coefs: Array, features: Sequence[str],
              outputs: Sequence[str] | None = None, what: str = "") -> go.Figure:
    """Coefficients against alpha (log axis): one line per coefficient, exact zeros marked.

    Parameters
    ----------
    alphas : ndarray (k,)
        The penalty strengths (> 0), decreasing.
    coefs : ndarray (k, n_outputs, n_features)
        The coefficients at each alpha.
    features : list of str
        The features' names.
    outputs : list of str, optional
        The outputs' names (classes) when there are several rows of coefficients.
    what : str
        Appended to the title (the estimator).

    Returns
    -------
    plotly.graph_objects.Figure
        One ``lines+markers`` trace per coefficient, named by its feature (``class:
        feature`` for several outputs), ``x`` the alphas and ``y`` the coefficients;
        markers at exact zeros are hollow.
    """
    a = np.asarray(alphas, dtype=np.float64)
    c = np.asarray(coefs, dtype=np.float64)
    if not np.all(a > 0):
        raise InvalidArgument("alphas: the path is drawn on a log axis; expected alphas > 0",
                              argument="alphas")
    fig = go.Figure()
    several = c.shape[1] > 1
    palette = list(tr.COLORS) if len(features) <= len(tr.COLORS) else \
        list(qualitative.Alphabet)
    for k in range(c.shape[1]):
        for j, name in enumerate(features):
            values = c[:, k, j]
            label = f"{outputs[k] if outputs else k}: {name}" if several else str(name)
            zero = values == 0.0
            dash = ["solid", "dash", "dot", "dashdot"][k % 4]
            fig.add_trace(go.Scatter(
                x=a, y=values, mode="lines+markers", name=label,
                line={"color": palette[j % len(palette)], "dash": dash},
                marker={"size": np.where(zero, 7, 5).tolist(),
                        "symbol": np.where(zero, "circle-open", "circle").tolist()}))
    fig.add_hline(y=0.0, line={"color": "gray", "width": 1})
    fig.update_layout(**tr.LAYOUT, title=tr.title(
        "regularization path" + (f" of {what}" if what else "") + " (hollow: exactly 0)"))
    fig.update_xaxes(type="log", title_text="alpha")
    fig.update_yaxes(title_text="coefficient")
    return fig
