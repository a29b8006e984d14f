"""The tutorial figures, computed with the public API; written by :func:`descend.plot.gallery`."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .. import _figures as plot
from .. import datasets, functions
from .._figures import export as _export
from .._figures import traces as tr
from .._minimize import minimize
from .._sweep import sweep as run_sweep
from ..errors import InvalidArgument

__all__ = ["figures", "write"]


def _seed001() -> dict[str, go.Figure]:
    f = functions.get("paraboloid")
    res = minimize(f, [6, -3], lr=0.001, max_iter=5000, gtol=None)
    return {"001_surface": plot.surface(f, bounds=((-10, 10), (-10, 10)), paths=res),
            "001_contour": plot.contour(f, paths=res)}


def _seed002() -> dict[str, go.Figure]:
    x, y = datasets.toy_line()

    def loss(p: Any) -> float:
        return float(np.mean((y - (p[0] + p[1] * x)) ** 2))

    def grad(p: Any) -> Any:
        r = y - (p[0] + p[1] * x)
        return np.array([np.mean(-2 * r), np.mean(-2 * x * r)])

    res = minimize(loss, [0.0, 0.0], grad=grad, lr=0.02, max_iter=500, gtol=None)
    data = go.Figure(go.Scatter(x=x, y=y, mode="markers", name="data"))
    data.update_layout(**tr.LAYOUT, title="toy data: y = -10 + 2x + noise")
    data.update_xaxes(title_text="x")
    data.update_yaxes(title_text="y")
    return {"002_data": data, "002_loss": plot.loss_curve(res),
            "002_landscape": plot.regression_landscape(x, y, res),
            "002_fit": plot.fit_line(x, y, res)}


def _seed003() -> dict[str, go.Figure]:
    x, y = datasets.slope_line()
    n = float(len(x))
    sxx, sxy, syy = float(x @ x) / n, float(x @ y) / n, float(y @ y) / n
    loss = f"{sxx!r}*m**2 - 2*{sxy!r}*m + {syy!r}"
    res = minimize(loss, [0.0], variables="m", lr=1.9 / (2 * sxx), max_iter=8, gtol=None)
    return {"003_tangent_too_large": plot.tangent_1d(None, res)}


def figures() -> dict[str, go.Figure]:
    """Every gallery figure by file stem, in the tutorials' order."""
    out: dict[str, go.Figure] = {}
    sections: list[Callable[[], dict[str, go.Figure]]] = [_seed001, _seed002, _seed003]
    for section in sections:
        out.update(section())
    sweep = run_sweep("x**2", [3.0], [0.001, 0.1, 0.9, 1.1], max_iter=100)
    out["000_lr_comparison"] = plot.lr_comparison(sweep)
    return out


def write(
    out_dir: str | os.PathLike[str], progress: Callable[[int, int], Any] | None = None
) -> list[Path]:
    """Write each figure as ``<stem>.html`` and ``<stem>.png`` under ``out_dir``;
    ``progress(done, total)`` after each file."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InvalidArgument(f"out_dir: {str(out)!r} exists and is not a directory",
                              argument="out_dir")
    out.mkdir(parents=True, exist_ok=True)
    figs = figures()
    paths: list[Path] = []
    total = 2 * len(figs)

    def done(path: Path) -> None:
        paths.append(path)
        if progress is not None:
            progress(len(paths), total)

    for stem, fig in figs.items():
        done(_export.save(fig, out / f"{stem}.html"))
    with _export.session():
        for stem, fig in figs.items():
            done(_export.save(fig, out / f"{stem}.png", width=800, height=600))
    return paths
