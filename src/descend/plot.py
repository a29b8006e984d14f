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

__all__ = [
    "animate", "auto", "contour", "fit_line", "gallery", "loss_curve", "lr_comparison",
    "regression_landscape", "save", "surface", "tangent_1d",
]


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
    path : str or path-like
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

    The figures: the paraboloid's surface and contour with the path, the fitted line's
    data, loss curve, regression landscape and line, the slope view's tangent at a
    too-large step, and the learning-rate comparison on ``x**2``.

    Examples
    --------
    >>> paths = gallery("out/gallery")  # doctest: +SKIP
    """
    from ._tutorials.gallery import write

    paths: list[Path] = write(out_dir, progress)
    return paths


