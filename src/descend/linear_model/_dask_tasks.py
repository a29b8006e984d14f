"""The functions Dask workers run for :mod:`descend.linear_model._dask`, and nothing else.

Kept apart so that a worker unpickling a task imports NumPy and
:mod:`descend.linear_model._losses` only (not scikit-learn, SymPy, pandas' I/O or numba, which
:mod:`descend.linear_model._dask` and the package's other modules bring): an idle worker stays
small, which matters under a tight ``memory_limit`` (Dask pauses a worker past 80 %).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._types import Array
from . import _losses


def _aligned(a: Any, ndim: int) -> Array:
    """A float64, aligned, C-ordered block (blocks from the cluster may arrive unaligned)."""
    a = np.asarray(a, dtype=np.float64)
    if ndim == 1:
        a = a.reshape(-1)
    return np.require(a, requirements=["A", "C"])


# ------------------------------------------------------------- tasks (on the workers)
def _first_rows(Xb: Any, yb: Any) -> tuple[Array, float]:
    X, y = _aligned(Xb, 2), _aligned(yb, 1)
    first = min(X.shape[0], 4096)
    return X[:first].mean(axis=0), float(y[:first].mean())


def _block_sums(Xb: Any, yb: Any, c: Array, cy: float) -> Array:
    return _losses.shifted_sums(_aligned(Xb, 2), _aligned(yb, 1), c, cy)


def _add(*parts: Array) -> Array:
    total = parts[0].copy()
    for part in parts[1:]:
        total += part
    return total


def _head(sums: Array, p: int) -> Array:
    """Rows of the block, then 1.0 for each column of X (and y, last) that is not finite."""
    flags = ~np.isfinite(np.concatenate([sums[3 : 3 + p], sums[1:2]]))
    return np.concatenate([[sums[0]], flags.astype(np.float64)])


def _take(Xb: Any, yb: Any, rows: Any) -> tuple[Array, Array]:
    return _aligned(Xb, 2)[rows], _aligned(yb, 1)[rows]


def _huber_block(Xb: Any, yb: Any, w: Array, c: float, eps: float) -> Array:
    from ._kernels import huber_pass  # numba: loaded on the workers for huber only

    G, psi, rho = huber_pass(_aligned(Xb, 2), _aligned(yb, 1), w, c, eps)
    return np.concatenate([G, [psi, rho]])


def _rows_block(Xb: Any, yb: Any, theta: Array, sc: _losses.Scaling, loss: str, eps: float,
                alpha: float, n: int) -> tuple[float, Array]:
    X, y = _aligned(Xb, 2), _aligned(yb, 1)
    return _losses.on_rows(X, y, sc, loss, eps, alpha, n)(theta, slice(0, X.shape[0]))


def _predict_block(Xb: Any, coef: Array, intercept: float) -> Array:
    return np.asarray(_aligned(Xb, 2) @ coef + intercept, dtype=np.float64)
