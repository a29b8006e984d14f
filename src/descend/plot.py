"""Figures of runs: Result-like objects in, :class:`plotly.graph_objects.Figure` out.

Every function here returns a new Figure and changes nothing it is given. Long
paths are thinned to at most :data:`~descend._figures.grid.MAX_POINTS` points
(first and last kept); the view always contains the drawn paths; a diverged path is
cut where it leaves the view and marked "diverged at iteration N".

Multi-start results, learning-rate sweeps and fitted estimators are recognized by
their attributes (``starts``/``x``/``best``; ``results``/``lrs``/``verdicts``;
``coef_``/``intercept_``/``path_``), so the figures import none of them.
:func:`gallery` is the one function here that runs descend (the tutorials' runs).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from ._figures import (
    animate,
    auto,
    contour,
    fit_line,
    loss_curve,
    lr_comparison,
    regression_landscape,
    surface,
    tangent_1d,
)
from ._figures import export as _export
from ._figures import linear_models as _linear

__all__ = [
    "animate", "auto", "coef_path", "contour", "decision_boundary", "fit_line", "gallery",
    "loss_curve", "lr_comparison", "regression_landscape", "save", "surface", "tangent_1d",
]


def decision_boundary(model: Any, X: Any, y: Any, *, grid: int = 200) -> go.Figure:
    """A fitted classifier on two features: the data, the probability contours, the boundary.

    Parameters
    ----------
    model : GDClassifier or another fitted classifier with ``predict_proba``
        Fitted on the two columns of ``X``.
    X : array_like (n, 2) or DataFrame
        The points drawn; the axes span them.
    y : array_like (n,)
        Their labels (one colour per class).
    grid : int, default 200
        Grid points per axis of the probability map.

    Returns
    -------
    plotly.graph_objects.Figure
        Two classes: trace ``P(<class>)`` (contours of the second class's probability),
        ``boundary (p = 0.5)`` (the line, its points where the probability is 0.5), then
        one marker trace per class, named by the class. More classes: ``predicted
        class`` (a heatmap of the regions), ``max probability`` (contours), ``boundary``
        (points where the predicted class changes), then the classes.

    Raises
    ------
    InvalidType
        ``model`` is not a classifier.
    InvalidArgument
        ``model`` is not fitted or not on two features; ``X`` does not have 2 columns;
        ``y`` does not have one label per row.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from descend import GDClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> X2, y2 = X[y > 0][:, 2:], y[y > 0]       # versicolor or virginica, petal sizes
    >>> fig = decision_boundary(GDClassifier(alpha=0.01).fit(X2, y2), X2, y2)
    >>> [t.name for t in fig.data]
    ['P(2)', 'boundary (p = 0.5)', '1', '2']
    """
    return _linear.decision_boundary(model, X, y, grid=grid)


def coef_path(
    estimator: Any, X: Any, y: Any, *, alphas: Any = None, n_alphas: int = 20
) -> go.Figure:
    """The regularization path: each coefficient against alpha (log axis), zeros visible.

    A clone of ``estimator`` is fitted at each alpha (largest first; every fit starts from
    zero, the GLM fits taking no warm start). Exact zeros are hollow markers on the line
    ``coefficient = 0``.

    Parameters
    ----------
    estimator : GDRegressor or GDClassifier
        With ``penalty="l1"``, ``"elasticnet"`` or ``"l2"`` (GDRegressor: loss ``"mse"``
        or ``"poisson"``); its other settings are kept.
    X : array_like (n, p) or DataFrame
        The features (a table's column names name the lines).
    y : array_like (n,)
        The target (labels for a classifier).
    alphas : array_like, optional
        The penalty strengths. Default: ``n_alphas`` values on a log grid from
        ``alpha_max``, the smallest alpha at which every L1 coefficient is zero,
        ``||X_c' (Y - Ybar)||_inf / (n l1_ratio)``, down three decades.
    n_alphas : int, default 20
        The size of the default grid.

    Returns
    -------
    plotly.graph_objects.Figure
        One trace per coefficient (``class: feature`` per class for more than two
        classes): ``x`` the alphas, ``y`` the coefficient fitted at each; the path's
        data are the traces'.

    Raises
    ------
    InvalidType
        ``estimator`` is not a GDRegressor or GDClassifier.
    InvalidArgument
        No penalty, a loss without L1, bad ``alphas``.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from descend import GDRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> fig = coef_path(GDRegressor(penalty="l1", method="auto"), X, y, n_alphas=5)
    >>> len(fig.data), [float(v) for v in fig.data[0].y][:1]   # all zero at alpha_max
    (10, [0.0])
    """
    from .linear_model import _path

    grid, coefs, _, fits = _path.regularization_path(estimator, X, y, alphas, n_alphas)
    features = ([str(c) for c in X.columns] if hasattr(X, "columns")
                else [f"x{j + 1}" for j in range(coefs.shape[2])])
    classes = getattr(fits[0], "classes_", None)
    outputs = [str(c) for c in classes] if classes is not None and coefs.shape[1] > 1 else None
    return _linear.coef_path(grid, coefs, features, outputs, type(estimator).__name__)


def save(
    fig: go.Figure,
    path: str | os.PathLike[str],
    *,
    width: int | None = None,
    height: int | None = None,
    scale: float = 1.0,
) -> Path:
    """Write ``fig`` to ``path``: ``.html`` (self-contained), ``.png``, ``.svg`` or ``.pdf``.

    HTML carries plotly.js inside and opens offline. Images go through kaleido,
    which drives Chrome/Chromium (``$BROWSER_PATH``, else ``/usr/bin/chromium``).
    The file is written next to ``path`` under a temporary name and renamed, so a
    failed export leaves an existing file untouched and no partial file.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        The figure.
    path : str or path-like
        The file to write; its suffix picks the format.
    width, height : int, optional
        Image size in pixels (default the figure's, else 800 x 600).
    scale : float
        Pixel density of PNGs.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InvalidArgument
        Unknown suffix or missing directory.
    ExportError
        No browser or kaleido, or the export failed; the message says what to install.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> fig = loss_curve([3.0, 2.0, 1.0])
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "loss.html"
    >>> save(fig, out).stat().st_size > 1_000_000  # plotly.js is inside
    True
    """
    return _export.save(fig, path, width=width, height=height, scale=scale)


def gallery(
    out_dir: str | os.PathLike[str],
    *,
    progress: Callable[[int, int], Any] | None = None,
) -> list[Path]:
    """Write every tutorial figure to ``out_dir`` as HTML and PNG; return the paths.

    ``progress(done, total)``, when given, is called after each file is written.

    The figures: the paraboloid's surface and contour with the path; the fitting-a-line
    tutorial's data, loss curve, regression landscape and fitted line; the slope view at a
    too-large step; and the learning-rate comparison on ``x**2``.

    Parameters
    ----------
    out_dir : str or path-like
        The directory (created if needed).
    progress : callable, optional
        ``progress(done, total)``, called after each file is written.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Examples
    --------
    >>> paths = gallery("out/gallery")  # doctest: +SKIP
    """
    from ._tutorials.gallery import write

    paths: list[Path] = write(out_dir, progress)
    return paths


