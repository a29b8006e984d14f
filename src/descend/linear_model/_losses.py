r"""Losses of :class:`~descend.linear_model.GDRegressor` as value-and-gradient closures.

The model works in *working* parameters ``theta = (b, v)`` (``b`` only with an
intercept) on the features ``z = (x - m) / s``: ``m`` the column means when the fit
standardizes and has an intercept (else 0), ``s`` the column standard deviations
when it standardizes (else 1). Nothing of ``X`` is copied to do so: the shift and
the scale enter the statistics and the fused passes. Back in original units,
``coef = v / s`` and ``intercept = b - m . coef``.

Squared losses (full batch) need only the centred statistics, computed once in
row blocks (:func:`gram_stats`): per row ``H = Xc'Xc / n``, ``q = Xc'yc / n``,
``yy = yc'yc / n``, the means ``mu``, ``ybar``. With ``e = ybar - b - muz . v``,

.. math:: \mathrm{mse}(\theta) = yy - 2 v^T q_z + v^T H_z v + e^2,

which is the mean of squared residuals exactly (the cross term vanishes after
centring), so each step costs O(p^2) and the iterates are those of plain gradient
descent on the data. Huber goes through :func:`descend.linear_model._kernels.huber_pass`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._types import Array

Eval = Callable[[Array], tuple[float, Array]]
_BLOCK = 4096
NO_SHIFT = 4.0
_controller: Any = None


def one_blas_thread() -> Any:
    """A context holding BLAS to one thread: wrap a whole fit in it, not each pass.

    The fused passes are numba's threads; BLAS threads spinning beside them slow a
    pass by half or more (PERFORMANCE.md). The controller is cached: ``threadpool_limits``
    inspects the loaded libraries each time (2-10 ms, as much as the statistics of a
    65,536-row block on a Dask worker).
    """
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


@dataclass(frozen=True)
class Stats:
    """Centred sufficient statistics of ``(X, y)``, per row."""

    n: float  # rows, or the weights' sum for weighted statistics
    mu: Array
    ybar: float
    H: Array  # Xc'Xc / n
    q: Array  # Xc'yc / n
    yy: float  # yc'yc / n


def gram_stats(X: Array, y: Array) -> Stats:
    """Centred statistics in one read of ``X``.

    When the first block's column means are small next to their spread
    (``|mean| <= NO_SHIFT * std``), ``X'X`` is one BLAS call on ``X`` itself: centring
    afterwards then loses at most ``NO_SHIFT**2`` ulps. Otherwise (large offsets, as in
    NIST's Longley or Filip) row blocks are shifted by those means first, in cache,
    to avoid the cancellation.
    """
    c, cy = pick_shift(X, y)
    return stats_from_sums(shifted_sums(X, y, c, cy), c, cy)


def pick_shift(X: Array, y: Array, rows: int = _BLOCK) -> tuple[Array, float]:
    """The shift of :func:`shifted_sums` from the first ``rows`` rows: their means, or none
    when the means are small next to the spread (then the sums are BLAS calls straight on
    ``X``)."""
    head = X[: min(X.shape[0], rows)]
    if head.shape[0] == 0:
        return np.zeros(X.shape[1]), 0.0
    c = head.mean(axis=0)
    if np.all(np.abs(c) <= NO_SHIFT * head.std(axis=0)):
        return np.zeros(X.shape[1]), 0.0
    return c, float(y[: head.shape[0]].mean())


def shifted_sums(X: Array, y: Array, c: Array, cy: float) -> Array:
    """Sums over the rows of ``(X - c, y - cy)``, packed in one vector (they add across blocks).

    The layout is ``[n, sum y', sum y'^2, sum x' (p), X'^T y' (p), X'^T X' (p * p)]``;
    :func:`stats_from_sums` turns a sum of such vectors into :class:`Stats`. BLAS is
    held to one thread: on blocks this small two threads fight (PERFORMANCE.md), and
    on a busy machine a 2,000,000 x 20 fit went from 0.13 s to 0.4-2.6 s with two.
    """
    with one_blas_thread():
        return _shifted_sums(X, y, c, cy)


def _shifted_sums(X: Array, y: Array, c: Array, cy: float) -> Array:
    n, p = X.shape
    ones = np.ones(min(n, _BLOCK))
    if cy == 0.0 and not c.any():  # no shift: one BLAS call each, straight on X
        G, xy = X.T @ X, y @ X
        sx = np.zeros(p)
        for i in range(0, n, _BLOCK):
            sx += ones[: min(_BLOCK, n - i)] @ X[i : i + _BLOCK]
        sy, yy = float(y.sum()), float(y @ y)
    else:
        G, sx, xy = np.zeros((p, p)), np.zeros(p), np.zeros(p)
        sy = yy = 0.0
        for i in range(0, n, _BLOCK):
            Xb = X[i : i + _BLOCK] - c  # a block in cache; BLAS below reads it, not X
            yb = y[i : i + _BLOCK] - cy
            G += Xb.T @ Xb
            sx += ones[: Xb.shape[0]] @ Xb  # a gemv: a strided column sum is 5x slower
            xy += yb @ Xb
            sy += float(yb.sum())
            yy += float(yb @ yb)
    return np.concatenate([[float(n), sy, yy], sx, xy, G.ravel()])


def square_sums(B: Array, n: int, p: int) -> Array:
    """The sums of :func:`shifted_sums` (``n`` rows, ``p`` features) from the square
    ``B'B`` of the rows ``B = [x - c, 1, y - cy]`` (columns past ``p + 1`` ignored): the
    ones give the count, the column sums and ``sum y'``."""
    return np.concatenate([[float(n), B[p, p + 1], B[p + 1, p + 1]], B[p, :p], B[p + 1, :p],
                           B[:p, :p].ravel()])


def column_sums(columns: Sequence[Array], c: Array, cy: float) -> Array:
    """:func:`shifted_sums` of the columns of ``X`` then ``y`` (1-D float64 arrays, as a
    Parquet reader gives them), without a row-major copy of ``X``.

    A tile of rows at a time, the rows ``[x_1 - c_1, ..., 1, y - cy]`` are stacked (each
    a contiguous copy) and multiplied by their transpose, one BLAS call that gives every
    sum at once (:func:`square_sums`). The tile (about 4 MB, at
    least 256 rows; padded with zero rows to a multiple of 8, which BLAS's kernels take
    faster) is kept for the thread's next call, for as long as the thread lives: a fresh
    one a call cost 0.8 ms of page faults on a Dask worker, which returns freed memory to
    the system at once.
    """
    p = len(columns) - 1
    n = int(columns[0].shape[0])
    buf = _column_tile(p)
    q, tile = buf.shape
    shifted = bool(cy) or bool(np.any(c))
    shift = [*(float(v) for v in c), float(cy)]
    dest = [*range(p), p + 1]  # the tile's row of each column: y's comes after the ones
    S = np.zeros((q, q))
    with one_blas_thread():
        for r in range(0, n, tile):
            k = min(tile, n - r)
            b = buf[:, :k]
            for j in range(p + 1):
                if shifted:
                    np.subtract(columns[j][r : r + k], shift[j], out=b[dest[j]])
                else:
                    b[dest[j]] = columns[j][r : r + k]
            S += b @ b.T
    return square_sums(S, n, p)


_tiles = threading.local()


def _column_tile(p: int) -> Array:
    """This thread's tile for :func:`column_sums` of ``p`` features: row ``p`` is ones,
    rows ``0..p-1`` and ``p + 1`` are written by the caller, the rest zeros."""
    held: tuple[int, Array] | None = getattr(_tiles, "held", None)
    if held is not None and held[0] == p:
        return held[1]
    q = -(-(p + 2) // 8) * 8
    buf = np.zeros((q, int(min(16384, max(256, (1 << 22) // (8 * q))))))
    buf[p] = 1.0
    _tiles.held = (p, buf)
    return buf


def recentre_sums(s: Array, c: Array, cy: float, to: Array, to_y: float) -> Array:
    """The sums of :func:`shifted_sums` about ``(c, cy)``, moved to ``(to, to_y)``.

    Exact in real arithmetic: with ``d = c - to``, ``x - to = (x - c) + d``, so
    ``G' = G + sx d' + d sx' + n d d'`` and likewise for the others. A block summed about
    its own first rows' means (``sx`` small) is moved by adding, not by cancelling: as
    accurate as summing it about ``(to, to_y)`` in the first place. A block summed about
    no shift (its means within ``NO_SHIFT`` standard deviations) loses at most the
    ``NO_SHIFT**2`` ulps that :func:`gram_stats` allows for the same choice.
    """
    p = c.shape[0]
    n, sy, yy = s[0], s[1], s[2]
    sx, xy, G = s[3 : 3 + p], s[3 + p : 3 + 2 * p], s[3 + 2 * p :].reshape(p, p)
    d, dy = c - to, cy - to_y
    if not (d.any() or dy):
        return s.copy()
    G2 = G + np.outer(sx, d) + np.outer(d, sx) + n * np.outer(d, d)
    xy2 = xy + d * sy + sx * dy + n * d * dy
    return np.concatenate([[n, sy + n * dy, yy + 2.0 * dy * sy + n * dy * dy],
                           sx + n * d, xy2, G2.ravel()])


def stats_from_sums(s: Array, c: Array, cy: float) -> Stats:
    """:class:`Stats` from the (summed) vectors of :func:`shifted_sums` about ``(c, cy)``."""
    p = c.shape[0]
    n, sy, yy = int(s[0]), float(s[1]), float(s[2])
    sx, xy, G = s[3 : 3 + p], s[3 + p : 3 + 2 * p], s[3 + 2 * p :].reshape(p, p)
    d, dy = sx / n, sy / n
    H = (G - n * np.outer(d, d)) / n
    H = (H + H.T) / 2.0
    return Stats(n, c + d, cy + dy, H, (xy - n * d * dy) / n, max(yy / n - dy * dy, 0.0))


@dataclass(frozen=True)
class Scaling:
    """``z = (x - shift) / scale``; ``constant`` marks columns without spread."""

    shift: Array
    scale: Array
    fit_intercept: bool
    constant: Any  # bool (p,)

    @property
    def n_theta(self) -> int:
        return int(self.shift.shape[0]) + int(self.fit_intercept)

    def to_original(self, theta: Array) -> tuple[Array, Array]:
        """``(intercept, coef)`` for ``theta`` of shape ``(..., n_theta)``."""
        v = theta[..., 1:] if self.fit_intercept else theta
        coef = v / self.scale
        b = theta[..., 0] if self.fit_intercept else np.zeros(theta.shape[:-1])
        return b - coef @ self.shift, coef

    def to_working(self, intercept: float, coef: Array) -> Array:
        v = coef * self.scale
        if not self.fit_intercept:
            return np.asarray(v, dtype=np.float64)
        return np.concatenate([[intercept + coef @ self.shift], v])


def make_scaling(stats: Stats, standardize: bool, fit_intercept: bool) -> Scaling:
    """Column shifts and scales from the statistics (a constant column keeps scale 1)."""
    var = np.clip(np.diag(stats.H), 0.0, None)
    tiny = (64 * np.finfo(np.float64).eps * np.abs(stats.mu)) ** 2
    constant = var <= tiny
    scale = np.where(constant, 1.0, np.sqrt(var)) if standardize else np.ones_like(var)
    shift = stats.mu.copy() if standardize and fit_intercept else np.zeros_like(var)
    return Scaling(shift, scale, fit_intercept, constant)


def quadratic(stats: Stats, sc: Scaling, loss: str, alpha: float) -> tuple[Eval, Array]:
    """Value-and-gradient of mse / sse / rmse (+ L2 penalty) and the Hessian of mse / sse."""
    s = sc.scale
    Hz = stats.H / np.outer(s, s)
    qz, muz = stats.q / s, (stats.mu - sc.shift) / s
    pen = 2.0 * alpha / s**2
    factor = float(stats.n) if loss == "sse" else 1.0
    fi = sc.fit_intercept

    def evaluate(theta: Array) -> tuple[float, Array]:
        b, v = (theta[0], theta[1:]) if fi else (0.0, theta)
        Hv = Hz @ v
        e = stats.ybar - b - muz @ v
        mse = max(float(stats.yy - 2.0 * (v @ qz) + v @ Hv), 0.0) + float(e * e)
        gv = 2.0 * (Hv - qz) - 2.0 * e * muz
        if loss == "rmse":
            root = math.sqrt(mse) if mse > 0 else 1.0
            val, gv, gb = math.sqrt(mse), gv / (2 * root), -e / root
        else:
            val, gv, gb = factor * mse, factor * gv, -2.0 * factor * e
        val += 0.5 * float(v @ (pen * v))
        gv = gv + pen * v
        return val, (np.concatenate([[gb], gv]) if fi else gv)

    hess = 2.0 * factor * (Hz + np.outer(muz, muz)) + np.diag(pen)
    if fi:
        top = np.concatenate([[2.0 * factor], 2.0 * factor * muz])
        hess = np.block([[top[None, :]], [top[1:, None], hess]])
    return evaluate, hess


def exact(X: Array, y: Array, sc: Scaling, loss: str, alpha: float,
          sw: Array | None = None) -> Eval:
    """Value-and-gradient of mse / sse (+ L2 penalty) from the residuals, one pass over the
    rows a call: the residuals of the standardized columns ``z = (x - shift) / scale``,
    formed in cache-sized blocks, so that no cancellation of large column offsets enters
    (the statistics of :func:`quadratic` lose the digits that ``X'X``'s condition costs;
    this does not). ``sw``: weights of the rows (the weighted mean and sum)."""
    s, m, fi = sc.scale, sc.shift, sc.fit_intercept
    n = X.shape[0]
    wsum = float(n) if sw is None else float(sw.sum())
    pen = 2.0 * alpha / s**2
    factor = wsum if loss == "sse" else 1.0

    def evaluate(theta: Array) -> tuple[float, Array]:
        b, v = (float(theta[0]), theta[1:]) if fi else (0.0, theta)
        gz, sr, rr = np.zeros(s.shape[0]), 0.0, 0.0
        with one_blas_thread():
            for i in range(0, n, _BLOCK):
                Z = (X[i : i + _BLOCK] - m) / s
                r = y[i : i + _BLOCK] - b - Z @ v
                sr_ = r if sw is None else r * sw[i : i + _BLOCK]
                gz += sr_ @ Z
                sr += float(sr_.sum())
                rr += float(sr_ @ r)
        val = factor * rr / wsum + 0.5 * float(v @ (pen * v))
        gv = -2.0 * factor * gz / wsum + pen * v
        return val, (np.concatenate([[-2.0 * factor * sr / wsum], gv]) if fi else gv)

    return evaluate


def huber(X: Array, y: Array, sc: Scaling, eps: float, alpha: float,
          sw: Array | None = None) -> Eval:
    """Value-and-gradient of the (weighted) mean Huber loss (+ L2 penalty): one fused pass
    per call."""
    from ._kernels import huber_pass  # numba: loaded for huber only

    wsum = float(X.shape[0]) if sw is None else float(sw.sum())
    return huber_from_pass(lambda w, c: huber_pass(X, y, w, c, eps, sw), wsum, sc, alpha)


def huber_from_pass(
    sums: Callable[[Array, float], tuple[Array, float, float]], n: float, sc: Scaling,
    alpha: float,
) -> Eval:
    """The Huber closure on ``sums(w, c) = (sum psi_i x_i, sum psi_i, sum rho_i)``.

    ``sums`` is :func:`descend.linear_model._kernels.huber_pass` over all rows, in memory or added
    up over the row blocks of a Dask array (:mod:`descend.linear_model._dask`).
    """
    s, m, fi = sc.scale, sc.shift, sc.fit_intercept
    pen = 2.0 * alpha / s**2

    def evaluate(theta: Array) -> tuple[float, Array]:
        b, v = (theta[0], theta[1:]) if fi else (0.0, theta)
        w = v / s
        G, psi, rho = sums(w, float(b - m @ w))
        gv = -(G - m * psi) / s / n + pen * v
        val = rho / n + 0.5 * float(v @ (pen * v))
        return val, (np.concatenate([[-psi / n], gv]) if fi else gv)

    return evaluate


def on_rows(
    X: Array, y: Array, sc: Scaling, loss: str, eps: float, alpha: float, n_total: float,
    sw: Array | None = None,
) -> Callable[[Array, Any], tuple[float, Array]]:
    """Value-and-gradient on the rows ``idx`` (a mini-batch), an estimate of the full loss
    (weighted by ``sw`` when given; ``n_total`` is then the weights' sum)."""
    s, m, fi = sc.scale, sc.shift, sc.fit_intercept
    pen = 2.0 * alpha / s**2

    def evaluate(theta: Array, idx: Array) -> tuple[float, Array]:
        b, v = (theta[0], theta[1:]) if fi else (0.0, theta)
        Z = (X[idx] - m) / s
        r = y[idx] - b - Z @ v
        s_ = np.ones_like(r) if sw is None else sw[idx]
        k = float(s_.sum()) if sw is not None else float(r.shape[0])
        k = k if k > 0 else 1.0  # a batch of zero weights: no step
        if loss == "huber":
            a = np.abs(r)
            inside = a <= eps
            psi = s_ * np.where(inside, r, eps * np.sign(r))
            val = float(s_ @ np.where(inside, 0.5 * r * r, eps * a - 0.5 * eps * eps)) / k
        else:
            mse = float(s_ @ (r * r)) / k
            psi = 2.0 * s_ * r
            val = mse
            if loss == "sse":
                val, psi = mse * n_total, psi * n_total
            elif loss == "rmse":
                root = math.sqrt(mse) if mse > 0 else 1.0
                val, psi = math.sqrt(mse), psi / (2 * root)
        gv = -(Z.T @ psi) / k + pen * v
        val += 0.5 * float(v @ (pen * v))
        return val, (np.concatenate([[-psi.sum() / k], gv]) if fi else gv)

    return evaluate


class LocalData:
    """In-memory ``(X, y)`` behind the few operations the estimator fits through.

    :class:`descend.linear_model._dask.DaskData` offers the same ones over the row blocks of a
    Dask collection: ``n``, ``blocked``, ``stats()``, ``take(rows)``, ``huber(...)``
    and ``on_rows(...)``.
    """

    blocked = False  # mini-batches may be any rows (Dask inputs: whole row blocks)

    def __init__(self, X: Array, y: Array, sw: Array | None = None,
                 stats: Stats | None = None) -> None:
        self.X, self.y, self.n, self.sw = X, y, int(X.shape[0]), sw
        self._stats: Stats | None = stats  # given for weighted rows

    def stats(self) -> Stats:
        """Statistics of all rows (computed once; weighted statistics are given)."""
        if self._stats is None:
            self._stats = gram_stats(self.X, self.y)
        return self._stats

    def exact(self, sc: Scaling, loss: str, alpha: float) -> Eval:
        """:func:`exact` on all rows."""
        return exact(self.X, self.y, sc, loss, alpha, self.sw)

    def take(self, rows: Any) -> tuple[Array, Array]:
        """``(X[rows], y[rows])``."""
        return self.X[rows], self.y[rows]

    def huber(self, sc: Scaling, eps: float, alpha: float) -> Eval:
        """:func:`huber` on all rows."""
        return huber(np.ascontiguousarray(self.X), self.y, sc, eps, alpha, self.sw)

    def on_rows(
        self, sc: Scaling, loss: str, eps: float, alpha: float
    ) -> Callable[[Array, Any], tuple[float, Array]]:
        """:func:`on_rows` on all rows."""
        total = float(self.n) if self.sw is None else float(self.sw.sum())
        return on_rows(self.X, self.y, sc, loss, eps, alpha, total, self.sw)
