r"""``GDRegressor``: linear regression fitted by :func:`descend.minimize`.

The estimator never iterates itself. It builds the loss as a value-and-gradient
closure (:mod:`descend.linear_model._losses`), wraps it in an :class:`~descend.objective.Objective`
and calls :func:`~descend.minimize`:

* full batch, squared losses: on centred statistics computed once (O(p^2) a step);
* full batch, Huber: one fused pass over ``X`` a step (numba, BLAS held to 1 thread);
* mini-batches: one ``minimize`` call per epoch with ``max_iter = n_batches`` on a
  *stochastic objective* that draws the next batch of the epoch's shuffled order
  each time it is evaluated at a new point; with a fixed step that is one batch
  per step. ``shuffle="blocks"`` (always, for Dask inputs) draws whole blocks of
  consecutive rows instead of single rows. ``lr="auto"`` decays as
  ``t0 / (1 + epoch / 10)``.

Dask arrays and dataframes go through :mod:`descend.linear_model._dask` (imported only then):
the same statistics, fused passes and batches, added up over the row blocks.

Convergence (``tol``): with ``kappa`` the condition number of the loss's Hessian in
the working (standardized) parameters and ``g(0)`` the gradient at zero, the fit
has converged when ``kappa * ||g(theta)|| <= tol * ||g(0)||``. For the quadratic
losses this bounds the relative error ``||theta - theta*|| / ||theta*|| <= tol``
(exactly; an estimate for huber and rmse with a penalty), so ``converged_`` is
never claimed for coefficients that are not accurate to ``tol``.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from .. import linesearch, optimizers
from .._data import check_finite, check_numeric_frame, is_dask
from .._minimize import minimize
from .._text import count
from .._types import Array
from ..errors import ConvergenceWarning, DataError, InvalidArgument, InvalidType
from ..objective import Objective
from ..result import Intermediate, Result, Status
from . import _losses

__all__ = ["GDRegressor"]

_LOSSES = ("mse", "sse", "rmse", "huber")
_TOL_NONE = 1e-8  # the accuracy ``converged_`` certifies when ``tol=None``
_SAMPLE = 100_000
_EPS = float(np.finfo(np.float64).eps)


class _Cached:
    """``fun`` and ``grad`` from one evaluation at the same point."""

    def __init__(self, evaluate: Any) -> None:
        self.evaluate = evaluate
        self.x: Any = None
        self.out: tuple[float, Array] = (0.0, np.zeros(0))

    def _at(self, x: Array) -> tuple[float, Array]:
        if self.x is not x:
            self.x, self.out = x, self.evaluate(x)
        return self.out

    def fun(self, x: Array) -> float:
        return self._at(x)[0]

    def grad(self, x: Array) -> Array:
        return self._at(x)[1]


class GDRegressor(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Linear regression by gradient descent, with the whole path recorded.

    Parameters
    ----------
    loss : {"mse", "sse", "rmse", "huber"}, default "mse"
        Mean, sum or root-mean of squared residuals, or the mean Huber loss
        (quadratic for ``|r| <= epsilon``, linear beyond; ``epsilon`` in units of y).
    method : str or Optimizer, default "gd"
        Any ``method`` of :func:`descend.minimize`.
    lr : float, schedule or str, default "auto"
        Any ``lr`` of :func:`descend.minimize`. ``"auto"``: ``1 / L`` with ``L`` the
        exact largest Hessian eigenvalue for mse / sse, estimated on at most 100,000
        rows for huber and mini-batches; minimize's ``"auto"`` policy for rmse.
    max_iter : int, default 1000
        Most iterations (full batch) or epochs (mini-batches).
    tol : float or None, default 1e-8
        Relative accuracy of the coefficients to reach (see the module docstring);
        None runs ``max_iter`` and then certifies ``1e-8``.
    alpha : float, default 0.0
        L2 penalty ``alpha * ||coef||^2`` (original units; intercept not penalized).
    fit_intercept, standardize : bool, default True
        Fit an intercept; fit on standardized columns (implicitly, X is not copied),
        reporting everything in original units. A constant column gets coefficient 0.
    batch_size : int or None, default None
        None: full batch; k: mini-batches of k rows (1 = stochastic).
    shuffle : bool or "blocks", default True
        Reshuffle rows each epoch (mini-batches), from ``random_state``.
        ``"blocks"``: each batch is a block of ``batch_size`` consecutive rows
        (rows ``k * batch_size`` up to ``(k + 1) * batch_size``, the last block
        shorter), and the order of the blocks is reshuffled each epoch. Dask inputs
        always use blocks (``True`` means ``"blocks"``, ``False`` keeps them in order):
        the same data as a NumPy array with ``shuffle="blocks"`` and the same
        ``batch_size`` and ``random_state`` gives the same batches and iterates.
    random_state : int, RandomState or None, default None
    warm_start : bool, default False
        Start ``fit`` from the previous coefficients.
    verbose : int, default 0
        Print the loss every ``verbose`` iterations.
    epsilon : float, default 1.35
        Huber threshold.
    callback : callable or None, default None
        Called after each iteration (full batch) or epoch (mini-batches) with a
        :class:`~descend.result.Intermediate`: ``nit`` the iterations (epochs) so
        far, ``fun`` the loss (as in ``loss_curve_``), ``x`` the working parameters
        (standardized units when ``standardize``). Raising ``StopIteration`` ends the
        fit there (it is then not converged). ``descend fit`` draws its progress bar
        with it.

    Attributes
    ----------
    coef_, intercept_ : ndarray, float
    n_iter_ : int
    loss_curve_ : ndarray (n_iter_ + 1,)
        Loss at the start and after each iteration (epoch), original units.
    path_ : ndarray (n_iter_ + 1, 1 + n_features)
        Intercept then coefficients along the way (intercept 0 without one).
    converged_ : bool
    result_ : Result
        The last :func:`minimize` result (working parameters).
    condition_number_ : float
        Of the Hessian in working parameters.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when X has column names

    Examples
    --------
    >>> from descend.datasets import toy_line
    >>> x, y = toy_line()
    >>> m = GDRegressor().fit(x[:, None], y)
    >>> round(m.intercept_, 6), round(float(m.coef_[0]), 6), m.converged_
    (-10.134967, 2.045236, True)
    """

    _full: Any
    _rows: Any
    _quad: Any
    _sc: _losses.Scaling

    def __init__(
        self, loss: str = "mse", *, method: Any = "gd", lr: Any = "auto", max_iter: int = 1000,
        tol: float | None = 1e-8, alpha: float = 0.0, fit_intercept: bool = True,
        standardize: bool = True, batch_size: int | None = None, shuffle: bool | str = True,
        random_state: Any = None, warm_start: bool = False, verbose: int = 0,
        epsilon: float = 1.35, callback: Any = None,
    ) -> None:
        self.loss = loss
        self.method = method
        self.lr = lr
        self.max_iter = max_iter
        self.tol = tol
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.epsilon = epsilon
        self.callback = callback

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    # ----------------------------------------------------------------- public
    def fit(self, X: Any, y: Any) -> GDRegressor:
        """Fit on ``X (n, p)`` and ``y (n,)``; returns ``self``.

        ``X`` and ``y`` may be Dask arrays or a Dask dataframe and series chunked
        by rows: they stay lazy and the fit gives the in-memory iterates (see
        :mod:`descend.linear_model._dask`).
        """
        if is_dask(X) or is_dask(y):
            from . import _dask

            self._check_params()
            data: Any = _dask.prepare(self, X, y, reset=True)
        else:
            # Full-batch squared losses check X for NaN/inf through their statistics
            # (one read of X instead of two); the others check it here.
            quick = self.loss != "huber" and self.batch_size is None
            data = _losses.LocalData(*self._data(X, y, reset=True, check_x=not quick))
            self._check_params()
        start = self._start() if self.warm_start and hasattr(self, "coef_") else None
        self._setup(data, full=self.batch_size is None)
        theta = np.zeros(self._sc.n_theta) if start is None else self._sc.to_working(*start)
        self._rng = check_random_state(self.random_state)
        if self.batch_size is None:
            self._fit_full(theta)
        else:
            self._path, self._values, self.n_iter_ = [theta], [self._full(theta)[0]], 0
            for _ in range(self.max_iter):
                if self._epoch(data) or self._epoch_callback():
                    break
            self._finish_batches()
        self._release()
        return self

    def _release(self) -> None:
        """Drop the closures over the data (they are rebuilt when needed; pickles stay small)."""
        self._full = self._rows = self._quad = None

    def partial_fit(self, X: Any, y: Any) -> GDRegressor:
        """One epoch over ``(X, y)`` (one step when ``batch_size`` is None)."""
        if is_dask(X) or is_dask(y):
            raise InvalidType("partial_fit takes in-memory arrays: call fit with the Dask "
                              "collection, or partial_fit on each computed chunk", argument="X")
        first = not hasattr(self, "_sc")
        data = _losses.LocalData(*self._data(X, y, reset=first))
        self._check_params()
        if first:
            self._setup(data, full=False)
            self._path, self._values, self.n_iter_ = [np.zeros(self._sc.n_theta)], [], 0
            self._rng = check_random_state(self.random_state)
        self._quad = None
        self._bind(data)
        if first:
            self._values.append(self._full(self._path[-1])[0])
        self._epoch(data)
        self._finish_batches(warn=False)
        self._release()
        return self

    def predict(self, X: Any) -> Array:
        """``X @ coef_ + intercept_``; a lazy Dask array for a Dask input."""
        check_is_fitted(self)
        if is_dask(X):
            from . import _dask

            return _dask.predict(self, X)  # type: ignore[no-any-return]
        X = self._data(X, None, reset=False, fit=False)
        return np.asarray(X @ self.coef_ + self.intercept_, dtype=np.float64)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R^2 of the predictions; computed on the cluster for Dask inputs."""
        if (is_dask(X) or is_dask(y)) and sample_weight is None:
            from . import _dask

            return _dask.score(self, X, y)
        return float(super().score(X, y, sample_weight=sample_weight))

    # --------------------------------------------------------------- internals
    def _data(
        self, X: Any, y: Any, *, reset: bool, fit: bool = True, check_x: bool = True
    ) -> Any:
        names = list(X.columns) if hasattr(X, "columns") else None
        if fit:
            self._names = names  # for the NaN/inf message of the statistics check
        if hasattr(X, "dtypes") and hasattr(X, "columns"):
            check_numeric_frame(X, "X")
        try:
            extra = {"y_numeric": True} if fit else {}
            out = validate_data(
                self, X, y if fit else "no_validation", reset=reset,
                dtype=np.float64, ensure_all_finite=False, **extra,
            )
        except ValueError as exc:
            if "could not convert" in str(exc) or "convert string" in str(exc):
                raise DataError(f"X and y must hold numbers: {exc}", argument="X") from None
            raise
        if check_x:
            check_finite(out[0] if fit else out, "X", names)
        if fit:
            check_finite(out[1], "y")
        return out

    def _check_params(self) -> None:
        if self.loss not in _LOSSES:
            raise InvalidArgument(f"loss: expected one of {', '.join(_LOSSES)}, got "
                                  f"{self.loss!r}", argument="loss")
        optimizers.get(self.method)
        if self.shuffle not in (True, False, "blocks"):
            raise InvalidArgument(f"shuffle: expected True, False or 'blocks', got "
                                  f"{self.shuffle!r}", argument="shuffle")
        if not (isinstance(self.lr, str) and self.lr == "auto"):
            linesearch.get(self.lr)
        if self.callback is not None and not callable(self.callback):
            raise InvalidType(f"callback: expected a callable or None, got "
                              f"{type(self.callback).__name__}", argument="callback")
        for name, low in (("max_iter", 1), ("batch_size", 1), ("verbose", 0)):
            v = getattr(self, name)
            if v is None and name == "batch_size":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise InvalidArgument(f"{name}: expected an integer >= {low}, got {v!r}",
                                      argument=name)
        for name, val, ok in (("tol", self.tol, self.tol is None or self.tol >= 0),
                              ("alpha", self.alpha, self.alpha >= 0),
                              ("epsilon", self.epsilon, self.epsilon > 0)):
            if not ok or (val is not None and not math.isfinite(val)):
                raise InvalidArgument(f"{name}: expected a finite number >= 0 (epsilon > 0), "
                                      f"got {val!r}", argument=name)

    def _start(self) -> tuple[float, Array]:
        return float(self.intercept_), np.asarray(self.coef_, dtype=np.float64)

    def _setup(self, data: Any, *, full: bool) -> None:
        """Scaling, Hessian (exact for full-batch squared losses, else a row sample)."""
        squared = self.loss != "huber"
        exact = full and squared
        n = data.n
        some = slice(None) if n <= _SAMPLE else np.linspace(0, n - 1, _SAMPLE).astype(np.intp)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below
            stats = (data.stats() if exact or n <= _SAMPLE
                     else _losses.gram_stats(*data.take(some)))
        if not all(np.all(np.isfinite(v)) for v in (stats.H, stats.q, stats.mu, stats.yy)):
            if isinstance(data, _losses.LocalData):  # name the column and rows of a NaN/inf
                check_finite(data.X, "X", getattr(self, "_names", None))
            raise DataError("X: the values are too large: X^T X overflows float64; rescale "
                            "the columns", argument="X")
        self._sc = _losses.make_scaling(stats, self.standardize, self.fit_intercept)
        evaluate, hess = _losses.quadratic(stats, self._sc, "sse" if self.loss == "sse"
                                           else "mse", self.alpha)
        if not squared:
            hess = hess / 2.0  # Huber's Hessian is at most half the mse one
        self._hess_lip, self.condition_number_ = self._conditioning(hess)
        self._quad = evaluate if exact else None
        self._row2 = 0.0  # the largest squared row norm, for the mini-batch step only
        if not full:
            Z = (data.take(some)[0] - self._sc.shift) / self._sc.scale  # a sample, not all X
            self._row2 = float(self.fit_intercept) + float(np.max(np.einsum("ij,ij->i", Z, Z)))
        self._n = n
        self._bind(data)

    def _bind(self, data: Any) -> None:
        sc, a = self._sc, float(self.alpha)
        if self._quad is not None:
            self._full = self._quad
            if self.loss == "rmse":
                self._full = _losses.quadratic(data.stats(), sc, "rmse", a)[0]
        elif self.loss == "huber":
            self._full = data.huber(sc, self.epsilon, a)
        else:
            self._full = _losses.quadratic(data.stats(), sc, self.loss, a)[0]
        self._rows = data.on_rows(sc, self.loss, self.epsilon, a)
        self._g0 = float(np.linalg.norm(self._full(np.zeros(sc.n_theta))[1]))

    def _conditioning(self, hess: Array) -> tuple[float, float]:
        keep = np.ones(hess.shape[0], dtype=bool)
        keep[int(self.fit_intercept):] = ~(self._sc.constant & bool(self.standardize))
        lam = np.linalg.eigvalsh(hess[np.ix_(keep, keep)]) if keep.any() else np.ones(1)
        top = float(lam[-1]) if lam[-1] > 0 else 1.0
        low = float(lam[0])
        kappa = top / low if low > top * hess.shape[0] * _EPS else math.inf
        return top, kappa

    def _step(self, batch: bool) -> Any:
        if not (isinstance(self.lr, str) and self.lr == "auto"):
            return self.lr
        if self.loss == "rmse" and not batch:
            return linesearch.Auto()
        lip = self._hess_lip
        if batch:  # a batch's Hessian exceeds the full one by about a row's, over b
            per_row = {"huber": 1.0, "sse": 2.0 * self._n}.get(self.loss, 2.0)
            lip += per_row * self._row2 / max(int(self.batch_size or 1), 1)
        return 1.0 / lip

    def _bound(self, theta: Array) -> float:
        g = float(np.linalg.norm(self._full(theta)[1]))
        return 0.0 if self._g0 == 0 else self.condition_number_ * g / self._g0

    def _callback(self) -> Any:
        every, user = int(self.verbose), self.callback
        if not every:
            return user

        def show(info: Any) -> None:
            if info.nit % every == 0:
                print(f"iteration {info.nit}: loss {info.fun:.10g}")
            if user is not None:
                user(info)

        return show

    def _epoch_callback(self) -> bool:
        """Tell the callback an epoch ended; True when it asks to stop."""
        if self.callback is None:
            return False
        info = Intermediate(self._path[-1], float(self._values[-1]), self.n_iter_,
                            math.nan, math.nan)
        try:
            self.callback(info)
        except StopIteration:
            return True
        return False

    def _fit_full(self, theta: Array) -> None:
        cache = _Cached(self._full)
        obj = Objective(cache.fun, cache.grad, self._sc.n_theta, name=f"{self.loss} loss")
        gtol = None
        if self.tol is not None and math.isfinite(self.condition_number_):
            gtol = self.tol * self._g0 / self.condition_number_
        with threadpool_limits(1, user_api="blas") if self.loss == "huber" else _Null():
            res = minimize(obj, theta, method=self.method, lr=self._step(False),
                           max_iter=self.max_iter, gtol=gtol, callback=self._callback())
        self._store(res, res.path, res.values, res.status is Status.DIVERGED)

    def _epoch(self, data: Any) -> bool:
        """One pass of mini-batches through ``minimize``; True when converged."""
        n = data.n
        size = int(self.batch_size or n)
        batches: list[Any]
        if data.blocked or self.shuffle == "blocks":  # whole row blocks, in shuffled order
            starts = np.arange(0, n, size)
            if self.shuffle:
                starts = starts[self._rng.permutation(starts.size)]
            batches = [slice(int(i), min(int(i) + size, n)) for i in starts]
        else:
            order = self._rng.permutation(n) if self.shuffle else np.arange(n)
            batches = [order[i : i + size] for i in range(0, n, size)]
        count = [0]

        def evaluate(theta: Array) -> tuple[float, Array]:
            idx = batches[count[0] % len(batches)]
            count[0] += 1
            out: tuple[float, Array] = self._rows(theta, idx)
            return out

        cache = _Cached(evaluate)
        obj = Objective(cache.fun, cache.grad, self._sc.n_theta, name="mini-batch loss")
        lr = self._step(True)
        if isinstance(lr, float) and self.lr == "auto":
            lr = lr / (1.0 + self.n_iter_ / 10.0)
        res = minimize(obj, self._path[-1], method=self.method, lr=lr, max_iter=len(batches),
                       gtol=None)
        self.n_iter_ += 1
        self._path.append(res.x)
        self._values.append(self._full(res.x)[0])
        self._res, self._diverged = res, res.status is Status.DIVERGED
        target = self.tol if self.tol is not None else None
        return self._diverged or (target is not None and self._bound(res.x) <= target)

    def _finish_batches(self, warn: bool = True) -> None:
        self._store(self._res, np.array(self._path), np.array(self._values), self._diverged,
                    warn=warn)

    def _store(self, res: Result, path: Array, values: Array, diverged: bool,
               warn: bool = True) -> None:
        b, coef = self._sc.to_original(path)
        self.path_ = np.column_stack([b, coef])
        self.intercept_ = float(b[-1]) if self.fit_intercept else 0.0
        self.coef_ = coef[-1].copy()
        self.loss_curve_ = np.asarray(values, dtype=np.float64)
        self.n_iter_ = path.shape[0] - 1
        self.result_ = dataclasses.replace(res, objective=None)  # no closure over the data
        self._path, self._values = list(path), list(values)
        bound = self._bound(path[-1])
        target = self.tol if self.tol is not None else _TOL_NONE
        self.converged_ = bool(not diverged and bound <= target)
        if warn and not self.converged_:
            warnings.warn(self._advice(res, bound, target, diverged), ConvergenceWarning,
                          stacklevel=3)

    def _advice(self, res: Result, bound: float, target: float, diverged: bool) -> str:
        if diverged:
            return f"GDRegressor: the fit diverged: {res.message}"
        kappa = self.condition_number_
        unit = "epochs" if self.batch_size is not None else "iterations"
        error = (f"may be up to {bound:.2g}" if math.isfinite(bound) else
                 "cannot be bounded (collinear or constant columns?)")
        msg = (f"GDRegressor: not converged after {count(self.n_iter_, unit[:-1])}: the "
               f"relative error of the coefficients {error} (tol {target:g}). The "
               f"{'standardized ' if self.standardize else ''}problem's condition number is "
               f"about {kappa:.3g}")
        if math.isfinite(kappa) and target > 0:
            need = kappa * math.log(1.0 / target)
            msg += (f"; gd with step 1/L needs about {need:.2g} iterations, "
                    f"nesterov about {need / 10:.2g}")
        if not math.isfinite(kappa) or kappa * _EPS * 10 > target:
            msg += ("; float64 rounding alone limits the accuracy to about "
                    f"{min(kappa * _EPS, 1.0):.1g}, so no number of iterations reaches tol: "
                    "drop collinear features, use orthogonal polynomials, or a direct solver "
                    "(numpy.linalg.lstsq)")
        else:
            msg += ("; increase max_iter, use method='nesterov', keep standardize=True, "
                    "or loosen tol")
        return msg + "."


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
