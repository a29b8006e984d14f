"""Fused gradient passes over a design matrix (numba), nothing else.

``huber_pass`` reads each row of ``X`` once and computes, together, the residual
``r_i = y_i - c - x_i . w``, the Huber loss and its derivative ``psi(r_i)``, and the
sums ``sum psi_i x_i``, ``sum psi_i`` and ``sum rho(r_i)`` (fast-math reassociation only, so
the inner products vectorize while NaN and inf still propagate). Rows are split into
chunks, one partial sum per chunk (``prange``); X is never copied. Callers limit
BLAS threads with threadpoolctl while it runs (numba and BLAS threads fight).
"""

from __future__ import annotations

import types
from typing import Any, Literal

import numpy as np
from numba import njit, prange

__all__ = ["FASTMATH", "compile_twins", "huber_pass"]

_NUMBA_ROWS = 16_384
#: reassociation (so sums vectorize), nothing that changes NaN or inf
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


def compile_twins(fn: Any, error_model: Literal["python", "numpy"] = "numpy") -> tuple[Any, Any]:
    """``fn`` compiled twice, fast-math reassociation only: parallel over chunks, and
    sequential, for small passes and for Dask tasks (whose cluster already runs blocks
    in parallel: threads of a task's own would fight it for the cores).

    A parallel region costs little on a quiet machine but can wait milliseconds for
    its threads on a busy one: a 569-row pass took 30 ms. Each twin gets its own name,
    so numba's on-disk cache keeps both.
    """
    twins = []
    for parallel in (True, False):
        f = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                               fn.__closure__)
        f.__qualname__ = f"{fn.__qualname__}_{'par' if parallel else 'seq'}"
        twins.append(njit(parallel=parallel, cache=True, fastmath=FASTMATH,
                          error_model=error_model)(f))
    return twins[0], twins[1]


def _huber_rows(
    X: Any, y: Any, w: Any, c: float, eps: float, n_chunks: int
) -> Any:  # pragma: no cover - compiled
    n, p = X.shape
    out = np.zeros((n_chunks, p + 2))
    chunk = (n + n_chunks - 1) // n_chunks
    for k in prange(n_chunks):
        lo = k * chunk
        hi = min(n, lo + chunk)
        acc = np.zeros(p + 2)
        for i in range(lo, hi):
            r = y[i] - c
            for j in range(p):
                r -= X[i, j] * w[j]
            a = abs(r)
            if a <= eps:
                psi = r
                loss = 0.5 * r * r
            else:
                psi = eps if r > 0 else -eps
                loss = eps * a - 0.5 * eps * eps
            acc[p] += psi
            acc[p + 1] += loss
            for j in range(p):
                acc[j] += psi * X[i, j]
        out[k, :] = acc
    return out.sum(axis=0)


_HUBER = compile_twins(_huber_rows, error_model="python")


def huber_pass(X: Any, y: Any, w: Any, c: float, eps: float,
               sw: Any = None, *, serial: bool = False) -> tuple[Any, float, float]:
    """``(sum psi_i x_i, sum psi_i, sum rho_i)`` for ``r = y - c - X w`` in one pass
    (each term times the row's weight ``sw_i`` when given, through NumPy).

    C-ordered ``X`` of at least ``_NUMBA_ROWS`` rows goes through the numba kernel; other
    layouts and fewer rows through NumPy (two products, still no copy of ``X``): on a few
    hundred rows starting numba's threads costs more than the pass (13 ms against 20 us on
    scikit-learn's diabetes data, 442 x 10). ``serial``: the sequential twin (a Dask
    task's: the cluster runs blocks in parallel); the same sums up to rounding.
    """
    if (sw is None and X.flags.c_contiguous and X.dtype == np.float64
            and X.shape[0] >= _NUMBA_ROWS):
        n_chunks = max(1, min(X.shape[0] // 4096, 64))
        s = _HUBER[1 if serial else 0](X, y, w, float(c), float(eps), n_chunks)
        p = X.shape[1]
        return s[:p], float(s[p]), float(s[p + 1])
    r = y - c - X @ w
    a = np.abs(r)
    inside = a <= eps
    psi = np.where(inside, r, eps * np.sign(r))
    rho = np.where(inside, 0.5 * r * r, eps * a - 0.5 * eps * eps)
    if sw is not None:
        psi, rho = psi * sw, rho * sw
    return X.T @ psi, float(psi.sum()), float(rho.sum())
