r"""``GDRegressor``: linear regression fitted through the loop of :mod:`descend._loop`.

The estimator never iterates itself. It builds the loss as a value-and-gradient
closure (:mod:`descend.linear_model._losses`), hands it to the loop as a problem, and
keeps the loop's carry between calls (:mod:`descend.linear_model._fit`), so that every
epoch and every ``partial_fit`` continues the same run (the optimizer's state included):

* full batch, squared losses: on centred statistics computed once (O(p^2) a step);
* full batch, Huber: one fused pass over ``X`` a step (numba, BLAS held to 1 thread);
* mini-batches: each epoch is one call of the loop on a *stochastic problem*, the
  epoch's batches in a shuffled order (:class:`~descend.linear_model._fit.Batches`), one
  batch per step.
  ``shuffle="blocks"`` (always, for Dask inputs) draws whole blocks of consecutive rows
  instead of single rows. After each epoch the loop evaluates the full loss at the new
  point and applies its rules there (divergence, and ``gtol`` in :meth:`fit`).

The default ``method="auto"`` (with ``lr="auto"``, full batch) runs, through the same
loop: for mse / sse (and rmse without a penalty) conjugate gradients on the statistics
(:func:`descend.linear_model._glm_fit.conjugate`), then, when the condition number ``kappa``
of the standardized problem is such that ``kappa * eps * 1e4 > tol``, polishing rounds of
iterative refinement: the gradient from the exact residuals (one pass over the rows), then
conjugate gradients on the correction, until the correction is below ``tol`` relative to
the coefficients (``converged_``) or stops shrinking (a ``ConvergenceWarning``: float64
cannot resolve the problem, as on NIST's Filip); for huber, FISTA steps preconditioned by
the bound ``S`` on its Hessian (:func:`descend.linear_model._glm_fit.accelerated`).

With another ``method``, ``lr="auto"`` is :class:`descend.linesearch.Auto` given the
loss's curvature bound ``L`` (the exact largest Hessian eigenvalue for full-batch squared
losses; estimated on at most 100,000 rows for huber and mini-batches, where it also decays
as ``t_k = 1 / (L (1 + k / (10 n_batches)))``), or estimating it itself for rmse.

Dask arrays and dataframes go through :mod:`descend.linear_model._dask` (imported only then):
the same statistics, fused passes and batches, added up over the row blocks.

Convergence (``tol``): with ``kappa`` the condition number of the loss's Hessian in
the working (standardized) parameters and ``g(0)`` the gradient at zero, the fit
has converged when ``kappa * ||g(theta)|| <= tol * ||g(0)||``, the loop's ``gtol``
rule with ``gtol = tol * ||g(0)|| / kappa``. For the quadratic losses this bounds the
relative error ``||theta - theta*|| / ||theta*|| <= tol`` (exactly; an estimate for huber
and rmse with a penalty), so ``converged_`` is never claimed for coefficients that are
not accurate to ``tol``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, cast

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import linesearch, optimizers
from .._data import check_finite, check_numeric_frame, is_dask
from .._types import Array
from ..errors import DataError, InvalidArgument, InvalidType
from . import _glm_regression, _losses
from ._fit import LoopFit

__all__ = ["GDRegressor"]

_LOSSES = ("mse", "sse", "rmse", "huber", "poisson")


def _ndim(y: Any) -> int:
    """``y``'s dimensions without NumPy's array function (any array-like)."""
    shape = getattr(y, "shape", None)
    return len(shape) if isinstance(shape, tuple) else int(np.asarray(y).ndim)


class GDRegressor(RegressorMixin, BaseEstimator, LoopFit):  # type: ignore[misc]
    """Linear regression by gradient descent, with the whole path recorded.

    Parameters
    ----------
    loss : {"mse", "sse", "rmse", "huber", "poisson"}, default "mse"
        Mean, sum or root-mean of squared residuals, the mean Huber loss
        (quadratic for ``|r| <= epsilon``, linear beyond; ``epsilon`` in units of y), or the
        mean Poisson deviance with a log link (``predict`` returns ``exp(X coef + b)``).
    method : str or Optimizer, default "auto"
        Any ``method`` of :func:`descend.minimize`, or ``"auto"``: with ``lr="auto"`` and
        full batches, conjugate gradients (gradient descent with the step and momentum that
        are optimal on a quadratic, restarted when the momentum points uphill) on the
        sufficient statistics for mse / sse (and rmse without ``alpha``, whose minimizer is
        the mse one), then, when ``X'X`` is ill-conditioned enough for the statistics to
        lose digits, *polishing* rounds of iterative refinement (the gradient from the
        exact residuals ``y - X coef``, one pass over the rows each); for huber,
        accelerated steps preconditioned by the bound ``S`` on its Hessian (FISTA with
        adaptive restart); otherwise (an explicit ``lr``, mini-batches, rmse with
        ``alpha``) plain ``"gd"``. The penalties ``"l1"`` / ``"elasticnet"`` and
        ``loss="poisson"`` have their own ``"auto"``: Poisson on the full batch without L1
        takes Newton steps (the Hessian from a fixed sample of at most 32,768 rows) with
        backtracking from the intercept-only model; with L1, proximal steps (FISTA on the
        statistics for mse).
    lr : float, schedule or str, default "auto"
        Any ``lr`` of :func:`descend.minimize`. ``"auto"`` with ``method="auto"``: the step
        is the solver's own; with another method ``1 / L`` with ``L`` the exact largest
        Hessian eigenvalue for mse / sse, estimated on at most 100,000 rows for huber and
        mini-batches; minimize's ``"auto"`` policy for rmse.
    max_iter : int, default 1000
        Most iterations (full batch, the polishing rounds' included) or epochs
        (mini-batches).
    tol : float or None, default 1e-8
        Relative accuracy of the coefficients to reach (see the module docstring);
        None runs ``max_iter`` and then certifies ``1e-8``.
    alpha : float, default 0.0
        L2 penalty ``alpha * ||coef||^2`` (original units; intercept not penalized),
        added to the *mean* loss: with ``loss="mse"`` the fit minimizes
        ``||y - X coef - b||^2 / n + alpha ||coef||^2``, which is scikit-learn's
        ``Ridge(alpha=n_samples * alpha)`` (Ridge penalizes the *sum* of squares):
        ``GDRegressor(alpha=a)`` equals ``Ridge(alpha=a * n_samples)``, and with
        ``sample_weight`` ``Ridge(alpha=a * sum(sample_weight))``. (``loss="sse"`` is the
        sum: there ``GDRegressor(alpha=a)`` equals ``Ridge(alpha=a)``.)
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
        Seed of the shuffling, for repeatable mini-batch fits.
    warm_start : bool, default False
        Start ``fit`` from the previous coefficients.
    verbose : int, default 0
        Print the loss every ``verbose`` iterations.
    epsilon : float, default 1.35
        Huber threshold.
    penalty : {None, "l2", "l1", "elasticnet"}, default "l2"
        The penalty ``alpha`` weighs. ``"l1"`` and ``"elasticnet"`` (with ``loss="mse"`` or
        ``"poisson"``) add ``2 alpha (l1_ratio ||coef||_1 + (1 - l1_ratio) / 2 ||coef||^2)``
        by proximal steps, so coefficients are exactly zero, not merely small: the
        minimizer of ``Lasso(alpha)`` / ``ElasticNet(alpha, l1_ratio)`` for mse.
    l1_ratio : float, default 0.15
        The L1 share of ``"elasticnet"``, in [0, 1] (``"l1"`` is 1).
    callback : callable or None, default None
        Called after each iteration (full batch) or epoch (mini-batches) with a
        :class:`~descend.result.Intermediate`: ``nit`` the iterations (epochs) so
        far, ``fun`` the loss (as in ``loss_curve_``), ``x`` the working parameters
        (standardized units when ``standardize``). Raising ``StopIteration`` ends the
        fit there (it is then not converged). ``descend fit`` draws its progress bar
        with it.

    Attributes
    ----------
    coef_, intercept_ : ndarray (p,), float; or (k, p), (k,) for a multi-output y (n, k)
        A multi-output ``y`` is fitted column by column with these settings (the same
        rows, weights and steps); ``n_iter_`` is then the largest, ``converged_`` holds for
        all, and ``loss_curve_``, ``path_``, ``result_``, ``condition_number_`` are lists
        with one entry per column.
    n_iter_ : int
    loss_curve_ : ndarray (``n_iter_ + 1``,)
        Loss at the start and after each iteration (epoch), original units.
    path_ : ndarray (``n_iter_ + 1``, ``1 + n_features``)
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
    _last: Any  # the loop's last outcome, during a fit only
    _sc: _losses.Scaling

    def __init__(
        self, loss: str = "mse", *, method: Any = "auto", lr: Any = "auto", max_iter: int = 1000,
        tol: float | None = 1e-8, alpha: float = 0.0, fit_intercept: bool = True,
        standardize: bool = True, batch_size: int | None = None, shuffle: bool | str = True,
        random_state: Any = None, warm_start: bool = False, verbose: int = 0,
        epsilon: float = 1.35, callback: Any = None, penalty: str | None = "l2",
        l1_ratio: float = 0.15,
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
        self.penalty = penalty
        self.l1_ratio = l1_ratio

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.multi_output = True
        return tags

    # ----------------------------------------------------------------- public
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> GDRegressor:
        """Fit on ``X (n, p)`` and ``y (n,)``; returns ``self``.

        ``X`` and ``y`` may be Dask arrays or a Dask dataframe and series chunked
        by rows: they stay lazy and the fit gives the in-memory iterates (see
        :mod:`descend.linear_model._dask`).

        Parameters
        ----------
        X : array_like (n, p), DataFrame, or Dask array or dataframe
            The features.
        y : array_like (n,), Series, or Dask array or series
            The target.
        sample_weight : array_like (n,), optional
            Weights of the rows (in memory only): every loss becomes the weighted mean
            ``sum s_i l_i / sum s_i`` (``"sse"`` the weighted sum), so that a weight 2 counts
            a row twice; with ``alpha``, ``GDRegressor(alpha=a)`` is then
            ``Ridge(alpha=a * sum(sample_weight))``.

        Returns
        -------
        GDRegressor
            ``self``, fitted.
        """
        if is_dask(X) or is_dask(y):
            self._no_dask_weights(sample_weight)
        elif _ndim(y) == 2:
            return self._fit_outputs(X, y, sample_weight, partial=False)
        self.__dict__.pop("_outputs", None)
        if _glm_regression.uses_glm(self):
            return self._fit_glm(X, y, sample_weight)
        if is_dask(X) or is_dask(y):
            from . import _dask

            self._check_params()
            data: Any = _dask.prepare(self, X, y, reset=True)
        else:
            # Full-batch squared losses check X for NaN/inf through their statistics
            # (one read of X instead of two); the others check it here.
            quick = self.loss != "huber" and self.batch_size is None
            Xv, yv = self._data(X, y, reset=True, check_x=not quick)
            data = self._local(Xv, yv, sample_weight)
            self._check_params()
        start = self._start() if self.warm_start and hasattr(self, "coef_") else None
        self._setup(data, full=self.batch_size is None)
        theta = np.zeros(self._sc.n_theta) if start is None else self._sc.to_working(*start)
        self._rng = check_random_state(self.random_state)
        self._begin(theta)
        if self.batch_size is None:
            self.fit_full(data)
        else:
            for _ in range(self.max_iter):
                if self._run_epoch(data, check=True) or self._epoch_callback():
                    break
        self._finish()
        self._release()
        return self

    def _release(self) -> None:
        """Drop the closures over the data (they are rebuilt when needed; pickles stay small)."""
        self._full = self._rows = self._quad = None
        self._last = None

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> GDRegressor:
        """One epoch over ``(X, y)`` (one step when ``batch_size`` is None).

        It continues the run: ``k`` calls on the same data take the steps of ``fit`` with
        ``max_iter=k``.

        Parameters
        ----------
        X : array_like (n, p) or DataFrame
            The features (in memory).
        y : array_like (n,) or Series
            The target.
        sample_weight : array_like (n,), optional
            Weights of the rows, as in :meth:`fit`.

        Returns
        -------
        GDRegressor
            ``self``, one epoch further.
        """
        if is_dask(X) or is_dask(y):
            raise InvalidType("partial_fit takes in-memory arrays: call fit with the Dask "
                              "collection, or partial_fit on each computed chunk", argument="X")
        if _ndim(y) == 2 or hasattr(self, "_outputs"):
            return self._fit_outputs(X, y, sample_weight, partial=True)
        if _glm_regression.uses_glm(self):
            return self._partial_fit_glm(X, y, sample_weight)
        first = not hasattr(self, "_carry")
        Xv, yv = self._data(X, y, reset=first)
        data = self._local(Xv, yv, sample_weight)
        self._check_params()
        if first:
            self._setup(data, full=self.batch_size is None)
            self._rng = check_random_state(self.random_state)
            self._begin(np.zeros(self._sc.n_theta))
        else:
            self._quad = None
            self._bind(data)
            self._resume()
        if self.batch_size is None:
            self._run_full(1, record=False)
        else:
            self._run_epoch(data, check=False)
        self._finish(warn=False)
        self._release()
        return self

    def predict(self, X: Any) -> Array:
        """``X @ coef_ + intercept_``; a lazy Dask array for a Dask input.

        Parameters
        ----------
        X : array_like (n, p), DataFrame, or Dask array or dataframe
            The features.

        Returns
        -------
        ndarray (n,) or dask.array.Array
            The predictions.
        """
        check_is_fitted(self)
        if is_dask(X):
            from . import _dask

            return _dask.predict(self, X)  # type: ignore[no-any-return]
        X = self._data(X, None, reset=False, fit=False)
        eta = np.asarray(X @ self.coef_.T + self.intercept_, dtype=np.float64)
        return np.exp(eta) if self.loss == "poisson" else eta

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R^2 of the predictions; computed on the cluster for Dask inputs.

        Parameters
        ----------
        X : array_like (n, p), DataFrame, or Dask array or dataframe
            The features.
        y : array_like (n,), Series, or Dask array or series
            The target.
        sample_weight : array_like (n,), optional
            Weights of the rows (in memory only).

        Returns
        -------
        float
            The coefficient of determination, as :func:`sklearn.metrics.r2_score`.
        """
        if (is_dask(X) or is_dask(y)) and sample_weight is None:
            from . import _dask

            return _dask.score(self, X, y)
        return float(super().score(X, y, sample_weight=sample_weight))

    # --------------------------------------------------------------- internals
    def _fit_outputs(self, X: Any, y: Any, sample_weight: Any, *, partial: bool) -> GDRegressor:
        """Multi-output ``y (n, k)``: one fit of these settings per column (the same rows,
        weights and steps), gathered as ``coef_ (k, p)`` and ``intercept_ (k,)``."""
        first = not (partial and hasattr(self, "_outputs"))
        Xv, Y = self._data(X, y, reset=first, multi=True)
        Y = Y.reshape(Y.shape[0], -1)
        subs = getattr(self, "_outputs", None)
        keep = subs is not None and len(subs) == Y.shape[1] and (
            not first or self.warm_start)
        if not keep:
            subs = [clone(self) for _ in range(Y.shape[1])]
        assert subs is not None
        for j, sub in enumerate(subs):
            (sub.partial_fit if partial else sub.fit)(Xv, Y[:, j], sample_weight)
        self._outputs = subs
        self.coef_ = np.array([sub.coef_ for sub in subs], dtype=np.float64)
        self.intercept_ = cast(Any, np.array([sub.intercept_ for sub in subs], dtype=np.float64))
        self.n_iter_ = max(int(sub.n_iter_) for sub in subs)
        self.converged_ = all(bool(sub.converged_) for sub in subs)
        for name in ("loss_curve_", "path_", "result_", "condition_number_"):
            setattr(self, name, [getattr(sub, name) for sub in subs])
        return self

    def _fit_glm(self, X: Any, y: Any, sample_weight: Any = None) -> GDRegressor:
        """Poisson or an L1 part: the loss objects of the GLMs (:mod:`._glm_regression`)."""
        if is_dask(X) or is_dask(y):
            from . import _dask_glm

            return _dask_glm.fit_regressor(self, X, y)  # type: ignore[no-any-return]
        self._check_params()
        self.__dict__.pop("_glm", None)
        Xv, yv = self._data(X, y, reset=True)
        sw = self._weights(sample_weight, Xv)
        _glm_regression.Runner(self).fit(np.ascontiguousarray(Xv), yv, sw)
        return self

    def _partial_fit_glm(self, X: Any, y: Any, sample_weight: Any = None) -> GDRegressor:
        first = not hasattr(self, "_glm")
        Xv, yv = self._data(X, y, reset=first)
        self._check_params()
        sw = self._weights(sample_weight, Xv)
        if first:
            self._glm = _glm_regression.Runner(self)
        self._glm.step(np.ascontiguousarray(Xv), yv, sw, first)
        return self

    @staticmethod
    def _no_dask_weights(sample_weight: Any) -> None:
        if sample_weight is not None:
            raise InvalidType("sample_weight: weights are taken with in-memory X and y only; "
                              "compute the Dask collection first", argument="sample_weight")

    @staticmethod
    def _weights(sample_weight: Any, X: Array) -> Array | None:
        """``sample_weight`` checked: ``(n,)`` finite values >= 0 with a positive sum."""
        if sample_weight is None:
            return None
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if not np.all(np.isfinite(sw)) or not sw.sum() > 0:
            raise DataError("sample_weight: expected finite values >= 0 with a positive sum",
                            argument="sample_weight")
        return np.asarray(sw, dtype=np.float64)

    def _local(self, X: Array, y: Array, sample_weight: Any) -> _losses.LocalData:
        """The rows in memory, with their weighted statistics when weighted."""
        sw = self._weights(sample_weight, X)
        if sw is None:
            return _losses.LocalData(X, y)
        from ._glm_losses import moments

        check_finite(X, "X", getattr(self, "_names", None))
        mom = moments(X, y, sw)
        stats = dataclasses.replace(mom.stats(), n=mom.wsum)
        return _losses.LocalData(X, y, sw, stats)

    def _data(
        self, X: Any, y: Any, *, reset: bool, fit: bool = True, check_x: bool = True,
        multi: bool = False,
    ) -> Any:
        names = list(X.columns) if hasattr(X, "columns") else None
        if fit:
            self._names = names  # for the NaN/inf message of the statistics check
        if hasattr(X, "dtypes") and hasattr(X, "columns"):
            check_numeric_frame(X, "X")
        try:
            extra = {"y_numeric": True, "multi_output": multi} if fit else {}
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
        _glm_regression.check_penalty(self)
        if not (isinstance(self.method, str) and self.method == "auto"):
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
