"""The fitting-a-line view's classification mode: logistic regression on two features.

When the target column of an uploaded CSV takes two values (or the page asks for the
mode), the view fits ``p(class 1 | x) = sigmoid(b + w1 z1 + w2 z2)`` by the same loop it
steps through for a line (:func:`descend.minimize`, through :func:`.compute.full_runs`),
``z`` the two features standardized over the rows fitted. The loss is the mean log loss
with no penalty, the model :class:`descend.GDClassifier` fits with ``penalty=None``; the
tests check that both reach the same coefficients. Everything is worked out from the
state's sample of the upload (at most 2,000 rows), which is what the page draws.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..objective import Objective

__all__ = ["Classes", "accuracy", "boundary", "classes", "log_loss", "objective",
           "probability", "stable_lr", "task_of", "to_original"]

VARIABLES = ("intercept", "w1", "w2")  #: the parameters (w: of the standardized features)


@dataclasses.dataclass(frozen=True)
class Classes:
    """Two features and a two-valued target, as the classification mode fits them."""

    x: np.ndarray  #: (n, 2) the features, original units
    y: np.ndarray  #: (n,) 0 or 1 (1: the larger of the target's two values)
    labels: tuple[float, float]  #: the target's two values, class 0 then class 1
    names: tuple[str, str, str]  #: feature 1, feature 2, target
    mean: np.ndarray  #: (2,) the features' means
    scale: np.ndarray  #: (2,) the features' standard deviations (1 where constant)
    n_file: int  #: rows in the uploaded file (the fit uses the sample of ``len(y)``)
    digest: str = ""  #: identifies the rows, names and file size (for caches)

    @property
    def z(self) -> np.ndarray:
        """The features standardized, with a leading column of ones: (n, 3)."""
        return _design(self.x, self.mean, self.scale)


def _design(x: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    z = (np.asarray(x, dtype=np.float64) - mean) / scale
    return np.column_stack([np.ones(len(z)), z])


def _two_values(col: Any) -> tuple[float, float] | None:
    vals = np.unique(np.asarray(col, dtype=np.float64))
    return (float(vals[0]), float(vals[1])) if vals.size == 2 else None


def task_of(state: Mapping[str, Any]) -> tuple[str, str]:
    """``("classify" | "line", why)``: what the fitting-a-line view fits for ``state``
    (``task``: ``auto`` classifies when the target column of an upload takes two values)
    and, when the page asked for classification and cannot have it, why ("" otherwise)."""
    asked = state.get("task", "auto")
    if state.get("f") != "regression" or asked == "line":
        return "line", ""
    data = state.get("data")
    need = ("classification needs an uploaded CSV with two feature columns and a target "
            "column of two values (0/1): fitting a line")
    if not data or len(data["columns"]) < 3:
        return "line", need if asked == "classify" else ""
    ti = int(data.get("ti", -1))
    if ti < 0 or ti in (data["xi"], data["yi"]):
        return "line", need if asked == "classify" else ""
    if _two_values(data["cols"][ti]) is None:
        return "line", (f"classification: the target column {data['columns'][ti]!r} does "
                        "not take exactly two values: fitting a line"
                        if asked == "classify" else "")
    return "classify", ""


def classes(state: Mapping[str, Any]) -> Classes | None:
    """The state's features and classes when the view classifies, else None."""
    if task_of(state)[0] != "classify":
        return None
    data = state["data"]
    return _classes(json.dumps([data["cols"][data["xi"]], data["cols"][data["yi"]],
                                data["cols"][data["ti"]]]),
                    (data["columns"][data["xi"]], data["columns"][data["yi"]],
                     data["columns"][data["ti"]]), int(data["n"]))


@functools.lru_cache(maxsize=16)
def _classes(cols: str, names: tuple[str, str, str], n_file: int) -> Classes:
    a, b, t = (np.asarray(c, dtype=np.float64) for c in json.loads(cols))
    x = np.column_stack([a, b])
    labels = _two_values(t)
    assert labels is not None  # task_of checked it
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    digest = hashlib.sha256(json.dumps([cols, names, n_file]).encode()).hexdigest()
    return Classes(x, (t == labels[1]).astype(np.float64), labels, names, mean, scale,
                   n_file, digest)


def _rows(theta: Any) -> np.ndarray:
    return np.atleast_2d(np.asarray(theta, dtype=np.float64))


def log_loss(c: Classes, theta: Any) -> Any:
    """The mean log loss at ``theta`` (3,) or at each row of ``(K, 3)``."""
    t = _rows(theta)
    eta = c.z @ t.T  # (n, K)
    # log(1 + e^eta) - y eta, without overflow
    out = np.mean(np.logaddexp(0.0, eta) - c.y[:, None] * eta, axis=0)
    return float(out[0]) if np.ndim(theta) == 1 else out


def _gradient(c: Classes, theta: Any) -> np.ndarray:
    t = _rows(theta)
    eta = c.z @ t.T
    p = 0.5 * (1.0 + np.tanh(0.5 * eta))  # the sigmoid, without overflow
    g: np.ndarray = (c.z.T @ (p - c.y[:, None])).T / len(c.y)
    return np.asarray(g[0]) if np.ndim(theta) == 1 else g


def objective(c: Classes) -> Objective:
    """The mean log loss over ``(intercept, w1, w2)`` with its exact gradient, for
    :func:`descend.minimize`."""
    return Objective(fun=functools.partial(log_loss, c), grad=functools.partial(_gradient, c),
                     p=3, variables=VARIABLES, vectorized=True, name="log loss")


def stable_lr(c: Classes) -> float:
    """``1 / L`` for the mean log loss: ``L = λmax(Z'Z / n) / 4`` bounds its Hessian
    (the sigmoid's slope is at most 1/4); plain gradient descent is stable below 2/L."""
    z = c.z
    return float(4.0 / np.linalg.eigvalsh(z.T @ z / len(z))[-1])


def to_original(c: Classes, theta: Any) -> tuple[float, np.ndarray]:
    """``(intercept, coef (2,))`` of ``theta`` in the features' own units."""
    t = np.asarray(theta, dtype=np.float64)
    coef = t[1:] / c.scale
    return float(t[0] - coef @ c.mean), coef


def probability(c: Classes, theta: Any, x: Any) -> np.ndarray:
    """``p(class 1)`` at the points ``x`` (m, 2), original units."""
    eta = _design(np.atleast_2d(x), c.mean, c.scale) @ np.asarray(theta, dtype=np.float64)
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * eta)))


def accuracy(c: Classes, theta: Any) -> float:
    """The share of the rows on the side of the boundary of their class (p = 0.5 counts
    as class 0, as ``GDClassifier.predict`` does)."""
    return float(np.mean((probability(c, theta, c.x) > 0.5) == (c.y == 1)))


def boundary(c: Classes, theta: Any, box: tuple[tuple[float, float], tuple[float, float]]
             ) -> tuple[list[float], list[float]]:
    """The decision boundary ``p = 0.5`` inside ``box`` (its two ends), original units;
    empty when there is none in the box (all coefficients zero: p = 0.5 everywhere or
    nowhere, or a line that misses the box)."""
    b, (a1, a2) = to_original(c, theta)
    (x_lo, x_hi), (y_lo, y_hi) = box
    pts: list[tuple[float, float]] = []
    if a2 != 0:
        for xv in (x_lo, x_hi):
            yv = -(b + a1 * xv) / a2
            if y_lo <= yv <= y_hi:
                pts.append((xv, yv))
    if a1 != 0:
        for yv in (y_lo, y_hi):
            xv = -(b + a2 * yv) / a1
            if x_lo <= xv <= x_hi:
                pts.append((xv, yv))
    pts = sorted(set(pts))
    if len(pts) < 2:
        return [], []
    (x0, y0), (x1, y1) = pts[0], pts[-1]
    return [x0, x1], [y0, y1]
