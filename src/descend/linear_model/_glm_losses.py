r"""Loss objects of the generalized linear models: one interface, one fused pass a call.

An estimator differs from another only by its loss object. Each one works in the
*working* parameters of :class:`descend.linear_model._losses.Scaling` (standardized
columns, implicitly: ``X`` is never copied), flat, ``shape = (n_outputs, fit_intercept
+ p)`` row by row, and offers:

* ``value_grad(theta) -> (f, g)``: the weighted mean loss ``sum s_i l_i / sum s_i``
  and its gradient, from one pass over the rows (the kernels of
  :mod:`descend.linear_model._glm_kernels`; squared loss: O(p^2) on the moments);
* ``curvature_matrix()``: a PSD ``(n_theta, n_theta)`` matrix ``M``; ``global_bound``
  tells whether ``Hessian(theta) <= M`` everywhere (logistic: Bohning's bound
  ``S / 4``; softmax: ``(I - 11'/K) / 2 (x) S``; squared: ``S`` exactly; Poisson: no
  global bound, ``M = mean(y) S`` is the Hessian's scale at the optimum);
* ``curvature_bound()``: the largest eigenvalue of ``M`` (Poisson: the bound
  ``max_i mu_i lambda_max(S)`` at the last point evaluated);
* ``precondition(g, l2)``: ``(M + diag(l2))^+ g``, the step of the majorization
  (with ``l2`` the penalty's :attr:`~descend.linear_model._glm_prox.Penalty.l2`);
* ``hessian(theta)`` (logistic, Poisson): the Hessian at ``theta`` on a sample of the
  rows (:meth:`_Linear.take_sample`: every row up to :data:`SAMPLE_ROWS`, else that many
  evenly spaced), the metric of the Newton steps; ``newton_ready()`` tells whether the
  loss has a sample and its Hessian costs no more than about one pass;
* ``to_original(theta) -> (intercept, coef)`` and ``to_working(intercept, coef)``.

``S = mean_s(z1 z1')`` with ``z1 = (1, z)`` comes from the first pass over the data
(:func:`moments`), which also gives the scaling. The penalty and its proximal step
live in :mod:`descend.linear_model._glm_prox`; the loop combines them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._types import Array
from ..errors import DataError
from . import _losses
from ._losses import one_blas_thread

__all__ = ["SAMPLE_ROWS", "LogisticLoss", "Moments", "PoissonLoss", "SoftmaxLoss", "SquaredLoss",
           "moments", "sample_rows", "sample_size"]

_BLOCK = 4096
#: rows whose Hessian is the metric of the Newton steps: all of them up to this many, else
#: this many evenly spaced (the estimate's relative error is about ``sqrt(p / SAMPLE_ROWS)``,
#: a few percent, which slows Newton's convergence only a little; a step is still a descent)
SAMPLE_ROWS = 32_768
#: Newton steps are taken up to this many parameters whatever the sample costs
_NEWTON_WIDTH = 64
# ------------------------------------------------------------------ first pass
@dataclass(frozen=True)
class Moments:
    """Weighted moments of ``(X, y)`` per unit weight (``wsum = n`` without weights)."""

    n: int
    wsum: float
    mu: Array
    ybar: float
    H: Array  # centred X' S X / wsum
    q: Array  # centred X' S y / wsum
    yy: float

    def stats(self) -> _losses.Stats:
        """As :class:`descend.linear_model._losses.Stats` (for the scaling and quadratic losses)."""
        return _losses.Stats(self.n, self.mu, self.ybar, self.H, self.q, self.yy)


def weighted_sums(X: Array, y: Array, sw: Array, c: Array, cy: float) -> Array:
    """Sums over rows of ``(X - c, y - cy)`` weighted by ``sw``, packed (they add across blocks).

    Layout ``[n, sum s, sum s y', sum s y'^2, sum s x' (p), X'^T S y' (p), X'^T S X' (p*p)]``;
    one read of ``X`` in cache-sized blocks, BLAS on one thread.
    """
    n, p = X.shape
    G, sx, xy = np.zeros((p, p)), np.zeros(p), np.zeros(p)
    ws = sy = yy = 0.0
    with one_blas_thread():
        for i in range(0, n, _BLOCK):
            Xb = X[i : i + _BLOCK] - c
            sb = sw[i : i + _BLOCK]
            yb = y[i : i + _BLOCK] - cy
            G += Xb.T @ (Xb * sb[:, None])
            sx += sb @ Xb
            xy += (sb * yb) @ Xb
            ws += float(sb.sum())
            sy += float(sb @ yb)
            yy += float(sb @ (yb * yb))
    return np.concatenate([[float(n), ws, sy, yy], sx, xy, G.ravel()])


def moments_from_sums(s: Array, c: Array, cy: float) -> Moments:
    """:class:`Moments` from (summed) vectors of :func:`weighted_sums` about ``(c, cy)``."""
    p = c.shape[0]
    n, ws, sy, yy = int(s[0]), float(s[1]), float(s[2]), float(s[3])
    sx, xy, G = s[4 : 4 + p], s[4 + p : 4 + 2 * p], s[4 + 2 * p :].reshape(p, p)
    d, dy = sx / ws, sy / ws
    H = (G - ws * np.outer(d, d)) / ws
    H = (H + H.T) / 2.0
    return Moments(n, ws, c + d, cy + dy, H, (xy - ws * d * dy) / ws,
                   max(yy / ws - dy * dy, 0.0))


#: X this wide at most, and this tall at least (in C order, float64), has its moments
#: summed by one compiled parallel pass; otherwise by BLAS
FUSED_FEATURES, FUSED_ROWS = 64, 32_768


def _fused_moments(X: Array) -> bool:
    return bool(isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype == np.float64
                and X.flags.c_contiguous and X.shape[1] <= FUSED_FEATURES
                and X.shape[0] >= FUSED_ROWS)


def moments(X: Array, y: Array, sample_weight: Array | None = None, *,
            fused: bool = False) -> Moments:
    """The first pass: weighted means and centred second moments of ``X`` and ``y``.

    Without weights these are the sums of :func:`descend.linear_model._losses.gram_stats`
    about its shift (the first rows' means, or none when the columns' offsets would not
    cancel): with ``fused`` (the losses whose passes are compiled anyway) and a tall,
    narrow C-ordered ``X``, from :func:`descend.linear_model._glm_kernels.moment_sums`
    (one parallel read; BLAS reads it three times on one thread, 67 ms against 20 at
    2,000,000 x 20), else by BLAS (the squared loss: no compile on first use). With
    weights the rows are shifted by the first block's weighted means, in cache-sized
    blocks.
    """
    if sample_weight is None:
        if fused and _fused_moments(X):
            from ._glm_kernels import moment_sums

            c, cy = _losses.pick_shift(X, y)
            st = _losses.stats_from_sums(moment_sums(X, y, c, cy), c, cy)
        else:
            st = _losses.gram_stats(X, y)
        return Moments(int(st.n), float(st.n), st.mu, st.ybar, st.H, st.q, st.yy)
    sw = np.asarray(sample_weight, dtype=np.float64)
    head = slice(0, min(X.shape[0], _BLOCK))
    wh = sw[head]
    tot = float(wh.sum())
    c = wh @ X[head] / tot if tot > 0 else np.zeros(X.shape[1])
    cy = float(wh @ y[head]) / tot if tot > 0 else 0.0
    return moments_from_sums(weighted_sums(X, y, sw, c, cy), c, cy)


def psd_solver(M: Array) -> Callable[[Array], Array]:
    """``g -> M^+ g`` for a symmetric PSD ``M`` (``g`` a vector or columns).

    One eigendecomposition; eigenvalues below ``n eps lambda_max`` are dropped, so a
    constant or collinear column (a zero direction of ``S``) gets no step.
    """
    lam, U = np.linalg.eigh(M)
    keep = lam > max(float(lam[-1]), 0.0) * M.shape[0] * np.finfo(np.float64).eps
    inv = np.where(keep, 1.0 / np.where(keep, lam, 1.0), 0.0)

    def solve(g: Array) -> Array:
        t = U.T @ g
        return np.asarray(U @ (inv * t.T).T, dtype=np.float64)

    return solve


def sample_rows(n: int) -> slice | Array:
    """The rows of the Hessian's sample among ``n``: all, or :data:`SAMPLE_ROWS` evenly
    spaced (the same rows in memory and on Dask)."""
    if n <= SAMPLE_ROWS:
        return slice(None)
    return np.linspace(0, n - 1, SAMPLE_ROWS).astype(np.intp)


def sample_size(n: int) -> int:
    """How many rows :func:`sample_rows` picks among ``n``."""
    return min(n, SAMPLE_ROWS)


# ------------------------------------------------------------------ the losses
class _Linear:
    """What every loss shares: the scaling, ``S``, the parameter layout and the solves."""

    n_outputs = 1
    global_bound = True
    #: the loss gives Newton's metric on a sample (:meth:`hessian`, or for softmax
    #: :meth:`SoftmaxLoss.hessp_at`); only these keep one
    has_hessian = False

    def __init__(self, mom: Moments, fit_intercept: bool, standardize: bool) -> None:
        self.moments = mom
        self.scaling = _losses.make_scaling(mom.stats(), standardize, fit_intercept)
        sc = self.scaling
        s = sc.scale
        Hz = mom.H / np.outer(s, s)
        muz = (mom.mu - sc.shift) / s
        S = Hz + np.outer(muz, muz)
        if fit_intercept:
            S = np.block([[np.ones((1, 1)), muz[None, :]], [muz[:, None], S]])
        self.S = (S + S.T) / 2.0
        self.p = int(s.shape[0])
        self.width = self.p + int(fit_intercept)
        self.passes = 0  # full passes over the rows so far
        self._exact = True  # the moments are those of the rows the pass reads
        self._solves: dict[bytes, Callable[[Array], Array]] = {}
        self._top = float(np.linalg.eigvalsh(self.S)[-1]) if self.S.size else 0.0
        #: ``(X rows, their weights or None)`` of :meth:`hessian` once taken, or None
        self.sample: tuple[Array, Array | None] | None = None
        self._sample_rows = 0
        self._sample_source: Callable[[], tuple[Array, Array | None]] | None = None

    def value_scale(self) -> float:
        """The size of the terms the value sums, beside ``|f|`` (see ``Backtracking(flat=)``)."""
        return 0.0

    def _row_curvature(self, eta: Array) -> Array:
        """The second derivative of each row's loss in ``eta`` (losses with ``has_hessian``)."""
        raise NotImplementedError

    def take_sample(self, X: Array, sw: Array | None, *, picked: bool = False) -> None:
        """Offer the rows of :func:`sample_rows` of ``X`` (``picked``: ``X`` is those rows
        already) to :meth:`hessian`. Nothing is copied until a Newton step asks for them;
        no copy of a C-ordered float64 ``X`` of at most :data:`SAMPLE_ROWS` rows."""
        if not self.has_hessian:
            return
        pick = slice(None) if picked else sample_rows(X.shape[0])

        def source() -> tuple[Array, Array | None]:
            ws = None if sw is None else np.asarray(sw, dtype=np.float64)[pick]
            return np.ascontiguousarray(X[pick], dtype=np.float64), ws

        rows = X.shape[0] if picked else sample_size(X.shape[0])
        self.offer_sample(rows, source)

    def offer_sample(self, rows: int, source: Callable[[], tuple[Array, Array | None]]) -> None:
        """``source() -> (X rows, weights or None)``, ``rows`` of them, taken on first use."""
        self.sample, self._sample_rows, self._sample_source = None, int(rows), source

    def drop_sample(self) -> None:
        self.sample, self._sample_rows, self._sample_source = None, 0, None

    def newton_ready(self) -> bool:
        """A sample is offered (``_sample_rows > 0``: set when offered, 0 when dropped or
        when the rows taken have no weight) and its Hessian costs at most about a pass."""
        m = self._sample_rows
        return m > 0 and (self.n_theta <= _NEWTON_WIDTH or m * self.n_theta <= self.moments.n)

    def _taken(self) -> tuple[Array, Array | None] | None:
        if self.sample is None and self._sample_source is not None:
            Xs, ws = self._sample_source()
            self._sample_source = None
            if Xs.shape[0] and (ws is None or ws.sum() > 0):
                self.sample = (Xs, ws)
            else:  # no row to estimate from: the majorization steps
                self._sample_rows = 0
        return self.sample

    def hessian(self, theta: Array) -> Array | None:
        """The Hessian of the mean loss at ``theta`` (working units) on the sample's rows:
        ``sum s_i l''(eta_i) z1_i z1_i' / sum s_i`` (exact when the sample is every row);
        None without a sample (or one of no weight)."""
        taken = self._taken()
        if taken is None:
            return None
        Xs, ws = taken
        c, W = self._split(theta)
        sc = self.scaling
        H = np.zeros((self.width, self.width))
        fi = int(sc.fit_intercept)
        for i in range(0, Xs.shape[0], _BLOCK):
            Xb = Xs[i : i + _BLOCK]
            d = self._row_curvature(Xb @ W[0] + c[0])
            if ws is not None:
                d = d * ws[i : i + _BLOCK]
            R = np.empty((Xb.shape[0], self.width))
            if fi:
                R[:, 0] = 1.0
            np.divide(Xb - sc.shift, sc.scale, out=R[:, fi:])
            R *= np.sqrt(d)[:, None]
            H += R.T @ R  # one operand twice: BLAS's symmetric product
        total = float(Xs.shape[0] if ws is None else ws.sum())
        return np.asarray((H + H.T) / (2.0 * total), dtype=np.float64)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_outputs, self.width)

    @property
    def n_theta(self) -> int:
        return self.n_outputs * self.width

    def _factor(self) -> float:
        return 1.0

    def curvature_matrix(self) -> Array:
        return self._factor() * self.S

    def at_zero(self) -> tuple[float, Array] | None:
        """``value_grad(0)`` from the first pass's moments (no pass over the rows), or None
        where the loss has no such closed form (or its moments are not its rows')."""
        return None

    def null_model(self) -> tuple[Array, float, Array] | None:
        """``(theta, value, gradient)`` of the intercept-only model (the best constant
        ``eta``), from the first pass's moments: where a fit with an intercept starts. None
        without an intercept or a closed form (or when the moments are not its rows')."""
        return None

    def _null_at(self, eta: float) -> Array | None:
        """The working point ``(eta, 0, ..., 0)``, or None without an intercept."""
        if not (self._exact and self.scaling.fit_intercept and math.isfinite(eta)):
            return None
        theta = np.zeros(self.n_theta)
        theta[0] = eta
        return theta

    def _moment_grad(self, m0: float) -> Array:
        """The working gradient at ``theta = 0`` of a loss whose derivative there is
        ``m0 - y`` on every row: ``sum s x (m0 - y)`` and ``sum s (m0 - y)`` from the
        moments (``sum s x y = wsum (q + mu ybar)``)."""
        mom = self.moments
        W = mom.wsum
        G = W * (m0 * mom.mu - mom.q - mom.mu * mom.ybar)
        gs = W * (m0 - mom.ybar)
        return self._grad(G[None, :], np.array([gs]))

    def curvature_bound(self) -> float:
        return self._factor() * self._top

    def precondition(self, g: Array, l2: Array | None = None) -> Array:
        """``(M + diag(l2))^+ g`` (an eigendecomposition per ``l2``, cached)."""
        key = b"" if l2 is None else np.asarray(l2).tobytes()
        solve = self._solves.get(key)
        if solve is None:
            solve = psd_solver(self.curvature_matrix() + (np.diag(l2) if l2 is not None else 0.0))
            self._solves[key] = solve
        return solve(g)

    def to_original(self, theta: Array) -> tuple[Any, Array]:
        """``(intercept, coef)``: a float and ``(p,)`` for one output, else ``(K,)``, ``(K, p)``."""
        b, coef = self.scaling.to_original(np.asarray(theta).reshape(self.shape))
        if self.n_outputs == 1:
            return float(b[0]), coef[0]
        return b, coef

    def to_working(self, intercept: Any, coef: Array) -> Array:
        rows = np.atleast_2d(coef)
        bs = np.broadcast_to(np.asarray(intercept, dtype=np.float64), (rows.shape[0],))
        return np.concatenate([self.scaling.to_working(float(b), r) for b, r in zip(bs, rows,
                                                                               strict=True)])

    def _split(self, theta: Array) -> tuple[Array, Array]:
        """Original-unit ``(c, w)`` of the pass: ``eta = c + X w``."""
        T = np.asarray(theta, dtype=np.float64).reshape(self.shape)
        sc = self.scaling
        b = T[:, 0] if sc.fit_intercept else np.zeros(self.n_outputs)
        W = T[:, int(sc.fit_intercept):] / sc.scale
        return b - W @ sc.shift, W

    def _grad(self, G: Array, gs: Array) -> Array:
        """Working-unit gradient from the sums ``G = X' g`` (rows per output), ``gs = sum g``."""
        sc, ws = self.scaling, self.moments.wsum
        gv = (G - np.outer(gs, sc.shift)) / sc.scale / ws
        if sc.fit_intercept:
            gv = np.column_stack([gs / ws, gv])
        return np.asarray(gv.ravel(), dtype=np.float64)


Pass = Callable[[Array, Any], tuple[Any, ...]]  # (w, c) -> the kernel's sums


def _local_pass(kernel: Any, X: Array, y: Array, sw: Array | None) -> Pass:
    """One kernel pass over in-memory ``X`` (any layout: no copy)."""

    def run(w: Array, c: Any) -> tuple[Any, ...]:
        out: tuple[Any, ...] = kernel(X, y, sw, w, c)
        return out

    return run


def _check_weights(sw: Any, n: int) -> Array | None:
    if sw is None:
        return None
    a = np.asarray(sw, dtype=np.float64).reshape(-1)
    if a.shape[0] != n:
        raise DataError(f"sample_weight: expected {n} values, got {a.shape[0]}",
                        argument="sample_weight")
    if not np.all(np.isfinite(a)) or np.any(a < 0) or not a.sum() > 0:
        raise DataError("sample_weight: expected finite values >= 0 with a positive sum",
                        argument="sample_weight")
    return a


class LogisticLoss(_Linear):
    """Binary log loss, ``y`` in {0, 1}; ``curvature_matrix() = S / 4`` (Bohning)."""

    has_hessian = True

    def __init__(self, sums: Pass, mom: Moments, *, fit_intercept: bool = True,
                 standardize: bool = True) -> None:
        super().__init__(mom, fit_intercept, standardize)
        self._sums = sums
        #: ``(theta, smallest margin)`` of the last pass that computed it, else None
        self.margin: tuple[Array, float] | None = None

    @classmethod
    def local(cls, X: Array, y: Array, sample_weight: Any = None, *, fit_intercept: bool = True,
              standardize: bool = True) -> LogisticLoss:
        """On in-memory ``X (n, p)`` and labels ``y`` in {0, 1} (one first pass here)."""
        from ._glm_kernels import logistic_margin_pass

        y = np.asarray(y, dtype=np.float64)
        if not np.all((y == 0.0) | (y == 1.0)):
            raise DataError("y: the log loss takes labels 0 and 1", argument="y")
        sw = _check_weights(sample_weight, X.shape[0])
        out = cls(_local_pass(logistic_margin_pass, X, y, sw), moments(X, y, sw, fused=True),
                  fit_intercept=fit_intercept, standardize=standardize)
        out.take_sample(X, sw)
        return out

    def _factor(self) -> float:
        return 0.25

    def _row_curvature(self, eta: Array) -> Array:
        e = np.exp(-np.abs(eta))  # sigma (1 - sigma), without overflow
        return np.asarray(e / (1.0 + e) ** 2)

    def at_zero(self) -> tuple[float, Array] | None:
        """At ``eta = 0`` every row's loss is ``log 2`` and its derivative ``1/2 - y``."""
        if not self._exact:
            return None
        return math.log(2.0), self._moment_grad(0.5)

    def null_model(self) -> tuple[Array, float, Array] | None:
        """``eta = logit(ybar)``: loss ``-(ybar log ybar + (1 - ybar) log(1 - ybar))``,
        derivative ``ybar - y`` on every row."""
        pbar = self.moments.ybar
        if not 0.0 < pbar < 1.0:
            return None
        theta = self._null_at(math.log(pbar) - math.log1p(-pbar))
        if theta is None:
            return None
        value = -(pbar * math.log(pbar) + (1.0 - pbar) * math.log1p(-pbar))
        return theta, value, self._moment_grad(pbar)

    def value_grad(self, theta: Array) -> tuple[float, Array]:
        c, W = self._split(theta)
        G, gs, val, *margin = self._sums(W[0], float(c[0]))
        self.passes += 1
        if margin:  # the pass gives it: the separability test at this point costs nothing
            self.margin = (np.array(theta, dtype=np.float64), float(margin[0]))
        return val / self.moments.wsum, self._grad(G[None, :], np.array([gs]))


class PoissonLoss(_Linear):
    """Poisson deviance / 2 with log link, ``y >= 0``; no global curvature bound."""

    global_bound = False
    has_hessian = True

    def __init__(self, sums: Pass, mom: Moments, ylogy: float, *, fit_intercept: bool = True,
                 standardize: bool = True) -> None:
        super().__init__(mom, fit_intercept, standardize)
        self._sums = sums
        self._const = ylogy / mom.wsum  # mean of s (y log y - y): the deviance's constant
        self._last_top = 0.0

    @classmethod
    def local(cls, X: Array, y: Array, sample_weight: Any = None, *, fit_intercept: bool = True,
              standardize: bool = True) -> PoissonLoss:
        """On in-memory ``X (n, p)`` and counts (or rates) ``y >= 0`` with a positive sum."""
        from ._glm_kernels import poisson_pass

        y = np.asarray(y, dtype=np.float64)
        if np.any(y < 0) or not y.sum() > 0:
            raise DataError("y: the Poisson loss takes values >= 0 with a positive sum",
                            argument="y")
        sw = _check_weights(sample_weight, X.shape[0])
        # y log y - y (0 at y = 0): NumPy's vectorized log, 5x faster than scipy's xlogy
        const = np.maximum(y, np.finfo(np.float64).tiny)
        np.log(const, out=const)
        const *= y
        const -= y
        ylogy = float(const.sum() if sw is None else sw @ const)
        out = cls(_local_pass(poisson_pass, X, y, sw), moments(X, y, sw, fused=True), ylogy,
                  fit_intercept=fit_intercept, standardize=standardize)
        out.take_sample(X, sw)
        return out

    def _factor(self) -> float:
        return max(self.moments.ybar, np.finfo(np.float64).tiny)

    def _row_curvature(self, eta: Array) -> Array:
        return np.exp(np.minimum(eta, 709.0))

    def value_scale(self) -> float:
        """``mu`` and ``y eta`` are about ``ybar (1 + |log ybar|)`` a row; the constant
        ``mean(y log y - y)`` cancels most of it."""
        ybar = max(self.moments.ybar, np.finfo(np.float64).tiny)
        return float(ybar * (1.0 + abs(math.log(ybar))) + abs(self._const))

    def at_zero(self) -> tuple[float, Array] | None:
        """At ``eta = 0``: ``mu = 1`` on every row, loss ``1`` (plus the constant), derivative
        ``1 - y``."""
        if not self._exact:
            return None
        self._last_top = 0.0
        return 1.0 + self._const, self._moment_grad(1.0)

    def null_model(self) -> tuple[Array, float, Array] | None:
        """``eta = log(ybar)``: ``mu = ybar`` on every row, loss ``ybar - ybar log ybar``
        (plus the constant), derivative ``ybar - y``."""
        ybar = self.moments.ybar
        theta = self._null_at(math.log(ybar)) if ybar > 0.0 else None
        if theta is None:
            return None
        self._last_top = math.log(ybar)
        return theta, ybar - ybar * math.log(ybar) + self._const, self._moment_grad(ybar)

    def curvature_bound(self) -> float:
        """``max_i mu_i lambda_max(S)`` at the last point evaluated (a local bound only)."""
        return math.exp(min(self._last_top, 709.0)) * self._top

    def value_grad(self, theta: Array) -> tuple[float, Array]:
        c, W = self._split(theta)
        G, gs, val, top = self._sums(W[0], float(c[0]))
        self.passes += 1
        self._last_top = top
        return val / self.moments.wsum + self._const, self._grad(G[None, :], np.array([gs]))


class SoftmaxLoss(_Linear):
    """Multinomial log loss over ``K`` classes, ``y`` the class index (int).

    ``curvature_matrix() = (I - 11'/K) / 2 (x) S`` (Bohning); :meth:`precondition`
    solves it class-mean apart, at the cost of one ``(fi + p)`` eigendecomposition.
    """

    def __init__(self, sums: Pass, mom: Moments, n_classes: int, *, fit_intercept: bool = True,
                 standardize: bool = True) -> None:
        super().__init__(mom, fit_intercept, standardize)
        self._sums = sums
        self.n_outputs = int(n_classes)

    @classmethod
    def local(cls, X: Array, y: Any, n_classes: int, sample_weight: Any = None, *,
              fit_intercept: bool = True, standardize: bool = True) -> SoftmaxLoss:
        """On in-memory ``X (n, p)`` and class indices ``y`` in ``0 .. n_classes - 1``."""
        from ._glm_kernels import softmax_pass

        yk = np.asarray(y)
        if yk.size and (yk.min() < 0 or yk.max() >= n_classes
                        or not np.array_equal(yk, np.round(yk))):
            raise DataError(f"y: expected class indices 0 .. {n_classes - 1}", argument="y")
        yk = yk.astype(np.int64)
        sw = _check_weights(sample_weight, X.shape[0])
        out = cls(_local_pass(softmax_pass, X, yk, sw),
                  moments(X, yk.astype(np.float64), sw, fused=True), n_classes,
                  fit_intercept=fit_intercept, standardize=standardize)
        out.take_sample(X, sw)
        return out

    has_hessian = True  # as Hessian-vector products (:meth:`hessp_at`), not the matrix

    def newton_ready(self) -> bool:
        """A sample is offered (each product costs ``2 m K p``: a few dozen are a pass)."""
        return self._sample_rows > 0

    def hessian(self, theta: Array) -> Array | None:
        return None  # (K (fi + p))^2 entries: the products of :meth:`hessp_at` instead

    def hessp_at(self, theta: Array) -> Callable[[Array], Array] | None:
        """``v -> H(theta) v`` on the sample's rows (working units; None without a sample):
        per row ``(diag(pi) - pi pi') (U_i)`` with ``U = X_s V'`` the change of the predictors
        along ``v``, mapped back as the gradient is."""
        taken = self._taken()
        if taken is None:
            return None
        Xs, ws = taken
        c, W = self._split(theta)
        E = Xs @ W.T + c
        E -= E.max(axis=1, keepdims=True)
        P = np.exp(E)
        P /= P.sum(axis=1, keepdims=True)
        total = float(Xs.shape[0] if ws is None else ws.sum())
        factor = self.moments.wsum / total

        def hv(v: Array) -> Array:
            cv, Wv = self._split(v)
            U = Xs @ Wv.T + cv
            R = P * (U - (P * U).sum(axis=1, keepdims=True))
            if ws is not None:
                R *= ws[:, None]
            return self._grad(R.T @ Xs, R.sum(axis=0)) * factor

        return hv

    def curvature_matrix(self) -> Array:
        K = self.n_outputs
        return np.asarray(np.kron(0.5 * (np.eye(K) - 1.0 / K), self.S), dtype=np.float64)

    def curvature_bound(self) -> float:
        return 0.5 * self._top

    def precondition(self, g: Array, l2: Array | None = None) -> Array:
        """Deviations from the class mean through ``(S / 2 + D)^+``, the mean through ``D^+``."""
        Gm = np.asarray(g, dtype=np.float64).reshape(self.shape)
        mean = Gm.mean(axis=0)
        D = np.zeros(self.width) if l2 is None else np.asarray(l2)[: self.width]
        key = D.tobytes()
        solve = self._solves.get(key)
        if solve is None:
            solve = psd_solver(0.5 * self.S + np.diag(D))
            self._solves[key] = solve
        dev = solve((Gm - mean).T).T
        dmean = np.where(D > 0, mean / np.where(D > 0, D, 1.0), 0.0)
        return np.asarray((dev + dmean).ravel(), dtype=np.float64)

    def value_grad(self, theta: Array) -> tuple[float, Array]:
        c, W = self._split(theta)
        G, gs, val = self._sums(W, c)
        self.passes += 1
        return val / self.moments.wsum, self._grad(G, gs)


class SquaredLoss(_Linear):
    """Half the weighted mean squared residual, on the moments alone (O(p^2) a call).

    ``value = 0.5 mean_s (y - b - z . v)^2``; the Hessian is ``S``, exactly.
    """

    def __init__(self, mom: Moments, *, fit_intercept: bool = True,
                 standardize: bool = True) -> None:
        super().__init__(mom, fit_intercept, standardize)
        self._mse = _losses.quadratic(mom.stats(), self.scaling, "mse", 0.0)[0]

    @classmethod
    def local(cls, X: Array, y: Array, sample_weight: Any = None, *, fit_intercept: bool = True,
              standardize: bool = True) -> SquaredLoss:
        """On in-memory ``X (n, p)``, ``y (n,)``: the one pass over the rows is here."""
        sw = _check_weights(sample_weight, X.shape[0])
        return cls(moments(X, np.asarray(y, dtype=np.float64), sw),
                   fit_intercept=fit_intercept, standardize=standardize)

    def value_grad(self, theta: Array) -> tuple[float, Array]:
        f, g = self._mse(np.asarray(theta, dtype=np.float64))
        return 0.5 * f, 0.5 * g
