r"""``GDClassifier``: logistic regression (binary and multinomial) on the loop.

The estimator builds its loss object (:class:`~descend.linear_model._glm_losses.LogisticLoss`
for two classes, :class:`~descend.linear_model._glm_losses.SoftmaxLoss` for more) and its
penalty, and fits through :class:`~descend.linear_model._glm_fit.GLMFit`: the same loop,
carry and rules as every other fit in descend; only the loss differs.

The objective is the weighted mean log loss plus scikit-learn's elastic-net penalty on the
coefficients in original units (the intercept is never penalized):

.. math::

   \frac{\sum_i s_i \, \ell_i}{\sum_i s_i}
   + \alpha \left(\rho \lVert W \rVert_1 + \tfrac{1 - \rho}{2} \lVert W \rVert_2^2\right),

``s_i`` the sample weight times the class weight, ``rho = l1_ratio`` (``penalty="l1"``: 1,
``"l2"``: 0). ``LogisticRegression(C=C)`` minimizes the same function for
``alpha = 1 / (C * sum(s))`` (``= 1 / (C n)`` without weights).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import linesearch, optimizers
from .._data import check_finite, check_numeric_frame, is_dask
from .._types import Array
from ..errors import DataError, InvalidArgument, InvalidType
from ._glm_fit import GLMFit, composite, penalty_weights, row_bound, with_rows
from ._glm_losses import LogisticLoss, SoftmaxLoss
from ._glm_prox import Penalty

__all__ = ["GDClassifier"]

_PENALTIES = (None, "l2", "l1", "elasticnet")
#: The losses GDClassifier takes (``descend fit --loss`` lists them beside GDRegressor's).
_LOSSES = ("log",)


def check_glm_params(est: Any) -> None:
    """The parameters every GLM estimator shares, checked once at the top of a fit."""
    if est.penalty not in _PENALTIES:
        raise InvalidArgument(f"penalty: expected None, 'l2', 'l1' or 'elasticnet', got "
                              f"{est.penalty!r}", argument="penalty")
    if not (isinstance(est.method, str) and est.method == "auto"):
        optimizers.get(est.method)
    if not (isinstance(est.lr, str) and est.lr == "auto"):
        linesearch.get(est.lr)
    if est.shuffle not in (True, False, "blocks"):
        raise InvalidArgument(f"shuffle: expected True, False or 'blocks', got "
                              f"{est.shuffle!r}", argument="shuffle")
    if est.callback is not None and not callable(est.callback):
        raise InvalidType(f"callback: expected a callable or None, got "
                          f"{type(est.callback).__name__}", argument="callback")
    for name, low in (("max_iter", 1), ("batch_size", 1)):
        v = getattr(est, name)
        if v is None and name == "batch_size":
            continue
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise InvalidArgument(f"{name}: expected an integer >= {low}, got {v!r}",
                                  argument=name)
    for name, val, ok in (("tol", est.tol, est.tol is None or est.tol >= 0),
                          ("alpha", est.alpha, est.alpha >= 0),
                          ("l1_ratio", est.l1_ratio, 0 <= est.l1_ratio <= 1)):
        if not ok or (val is not None and not math.isfinite(val)):
            raise InvalidArgument(f"{name}: expected a finite number >= 0 (l1_ratio in "
                                  f"[0, 1]), got {val!r}", argument=name)


#: rows read at a time when looking for the classes and testing separability
_CHUNK = 1 << 16


class GDClassifier(ClassifierMixin, BaseEstimator, GLMFit):  # type: ignore[misc]
    """Logistic regression (binary, or multinomial for more classes) by gradient descent.

    Parameters
    ----------
    loss : {"log"}, default "log"
        The log loss (cross-entropy): logistic for two classes, softmax for more.
    penalty : {None, "l2", "l1", "elasticnet"}, default "l2"
        The penalty on the coefficients (see the module docstring); L1 by the proximal
        step (soft-thresholding), so coefficients are exactly zero, not merely small.
    alpha : float, default 1e-4
        Strength of the penalty; ``LogisticRegression(C=C)`` is ``alpha = 1 / (C * n)``
        (``1 / (C * sum(sample_weight))`` with weights).
    l1_ratio : float, default 0.15
        The L1 share of ``"elasticnet"`` (``"l1"`` is 1, ``"l2"`` is 0).
    method : "auto", str or Optimizer, default "auto"
        ``"auto"``: on the full batch without L1, Newton steps (the Hessian from a fixed
        sample of at most 32,768 rows, the value and gradient from all of them; for more
        than two classes solved by conjugate gradients on Hessian-vector products) with
        backtracking, from the intercept-only model; otherwise FISTA with
        adaptive restart, each step the majorization step of the loss's curvature bound
        (Bohning's ``X'X / 4``), or with L1 the scalar proximal step; mini-batches:
        gradient descent. Otherwise any ``method`` of :func:`descend.minimize` on the same
        objective.
    lr : float, schedule, policy or "auto", default "auto"
        Any ``lr`` of :func:`descend.minimize`. ``"auto"``: with ``method="auto"``,
        backtracking from 1 for the Newton steps and 1 for the majorization steps; ``1 / L``
        (the curvature bound) otherwise, decaying over the epochs for mini-batches. A number
        with ``method="auto"`` scales the majorization steps (no Newton steps).
    max_iter : int, default 1000
        Most iterations (full batch) or epochs (mini-batches).
    tol : float or None, default 1e-8
        Converged when the gradient norm (with L1: the proximal gradient mapping's) is at
        most ``tol`` times its value at zero. None runs ``max_iter``.
    fit_intercept, standardize : bool, default True
        Fit intercepts; fit on standardized columns (implicitly, X is not copied),
        everything reported in original units.
    batch_size : int or None, default None
        None: full batch; k: mini-batches of k rows.
    shuffle : bool or "blocks", default True
        Reshuffle rows (or blocks of ``batch_size`` rows) each epoch.
    class_weight : dict, "balanced" or None, default None
        Weights per class, multiplying ``sample_weight``.
    random_state : int, RandomState or None, default None
        Seed of the shuffling, for repeatable mini-batch fits.
    callback : callable or None, default None
        Called after each iteration (epoch) with a :class:`~descend.result.Intermediate`;
        ``StopIteration`` ends the fit.

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    coef_ : ndarray (1, n_features) for two classes, (n_classes, n_features) for more
    intercept_ : ndarray (1,) or (n_classes,)
    n_iter_ : int
    converged_ : bool
        False also when the classes are separable without a penalty (``separable_``).
    separable_ : bool
        The fitted coefficients separate the training classes perfectly while the
        objective has no penalty: the loss has no minimum, the coefficients grow without
        bound as the fit goes on (a ConvergenceWarning says so).
    loss_curve_ : ndarray (``n_iter_ + 1``,)
        The objective (loss + penalty) at the start and after each iteration (epoch).
    path_ : ndarray (``n_iter_ + 1``, ``n_outputs``, ``1 + n_features``)
        Intercepts then coefficients along the way, original units.
    result_ : Result
        The loop's last result (working parameters).
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when X has column names

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = GDClassifier(alpha=0.01).fit(X, y)
    >>> clf.coef_.shape, round(clf.score(X, y), 2), clf.converged_
    ((3, 4), 0.97, True)
    """

    _estimator_type = "classifier"
    _yk: Any
    _sw: Any

    def __init__(
        self, loss: str = "log", *, penalty: str | None = "l2", alpha: float = 1e-4,
        l1_ratio: float = 0.15, method: Any = "auto", lr: Any = "auto", max_iter: int = 1000,
        tol: float | None = 1e-8, fit_intercept: bool = True, standardize: bool = True,
        batch_size: int | None = None, shuffle: bool | str = True, class_weight: Any = None,
        random_state: Any = None, callback: Any = None,
    ) -> None:
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.method = method
        self.lr = lr
        self.max_iter = max_iter
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.class_weight = class_weight
        self.random_state = random_state
        self.callback = callback

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    # ----------------------------------------------------------------- public
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> GDClassifier:
        """Fit on ``X (n, p)`` and labels ``y (n,)``.

        Parameters
        ----------
        X : array_like (n, p), DataFrame or Dask collection
            The features.
        y : array_like (n,)
            The labels.
        sample_weight : array_like (n,), optional
            A weight per row.

        Returns
        -------
        GDClassifier
            ``self``, fitted.
        """
        if is_dask(X) or is_dask(y):
            from . import _dask_glm

            return _dask_glm.fit_classifier(self, X, y, sample_weight)  # type: ignore[no-any-return]
        self._check_params()
        X, y = self._data(X, y, reset=True)
        self.classes_ = self._classes(y, None)
        yk, sw = self._targets(y, sample_weight, X)
        loss = self._make_loss(X, yk, sw)
        self._fit_loss(loss, X, self._batch_rows(X, yk, sw))
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None,
                    sample_weight: Any = None) -> GDClassifier:
        """One step (full batch) or one epoch (mini-batches) on ``(X, y)``, continuing the run.

        The first call needs ``classes`` (all the labels there will be); the standardization
        is that of the first call's data.

        Parameters
        ----------
        X : array_like (n, p) or DataFrame
            The features (in memory).
        y : array_like (n,)
            The labels.
        classes : array_like, optional
            Every label there will be; required on the first call.
        sample_weight : array_like (n,), optional
            A weight per row.

        Returns
        -------
        GDClassifier
            ``self``, one step or epoch further.
        """
        first = not hasattr(self, "_carry")
        self._check_params()
        if first:
            if classes is None:
                raise InvalidArgument("classes: the first call of partial_fit needs the list "
                                      "of all classes", argument="classes")
            self.classes_ = self._classes(np.asarray(classes), None)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise InvalidArgument(f"classes: expected {self.classes_.tolist()} as in the first "
                                  f"call, got {np.unique(classes).tolist()}", argument="classes")
        X, y = self._data(X, y, reset=first)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise DataError(f"y: labels {unknown.tolist()} are not in classes "
                            f"{self.classes_.tolist()}", argument="y")
        yk, sw = self._targets(y, sample_weight, X)
        if first:
            loss = self._make_loss(X, yk, sw)
            self._glm_setup(loss, X)
            self._glm_begin(np.zeros(loss.n_theta))
        else:
            loss = with_rows(self._loss_proto, self._kernel(), X, self._ytype(yk), sw,
                             sample=self.batch_size is None)
            self._glm_bind(loss, self._pen)
            self._n = int(X.shape[0])
            self._glm_resume()
        if self.batch_size is None:
            self._glm_run_full(1, record=False)
        else:
            self._glm_run_epoch(self._batch_rows(X, yk, sw), check=False)
        self._set_result(X, yk, sw, warn=False)
        self._release()
        return self

    def decision_function(self, X: Any) -> Array:
        """``X @ coef_.T + intercept_``: ``(n,)`` for two classes, ``(n, n_classes)`` else.

        Parameters
        ----------
        X : array_like (n, p) or DataFrame
            The features.

        Returns
        -------
        ndarray (n,) or (n, n_classes)
            The scores.
        """
        check_is_fitted(self)
        Xv = self._data(X, None, reset=False, fit=False)
        scores = np.asarray(Xv @ self.coef_.T + self.intercept_, dtype=np.float64)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X: Any) -> Array:
        """The most probable class of each row.

        Parameters
        ----------
        X : array_like (n, p) or DataFrame
            The features.

        Returns
        -------
        ndarray (n,)
            Labels from ``classes_``.
        """
        scores = self.decision_function(X)
        idx = (scores > 0).astype(np.intp) if scores.ndim == 1 else scores.argmax(axis=1)
        return np.asarray(self.classes_[idx])

    def predict_log_proba(self, X: Any) -> Array:
        """Log-probabilities of the classes ``(n, n_classes)``, computed without overflow.

        Parameters
        ----------
        X : array_like (n, p) or DataFrame
            The features.

        Returns
        -------
        ndarray (n, n_classes)
            The log-probabilities, columns in the order of ``classes_``.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            scores = np.column_stack([np.zeros_like(scores), scores])
        top = scores.max(axis=1, keepdims=True)
        shifted = scores - top
        return np.asarray(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))

    def predict_proba(self, X: Any) -> Array:
        """Probabilities of the classes ``(n, n_classes)``, rows summing to 1.

        Parameters
        ----------
        X : array_like (n, p) or DataFrame
            The features.

        Returns
        -------
        ndarray (n, n_classes)
            The probabilities, columns in the order of ``classes_``.
        """
        return np.asarray(np.exp(self.predict_log_proba(X)))

    # --------------------------------------------------------------- internals
    def _fit_loss(self, loss: Any, X: Array, rows: Any) -> None:
        self._glm_setup(loss, X)
        self._glm_begin(np.zeros(loss.n_theta))
        if self.batch_size is None:
            self._glm_run_full(self.max_iter, record=True)
        else:
            for _ in range(self.max_iter):
                if self._glm_run_epoch(rows, check=True) or self._glm_epoch_callback():
                    break
        self._set_result(X, self._yk, self._sw, warn=True)
        self._release()

    def _glm_setup(self, loss: Any, X: Array) -> None:
        a, rho = penalty_weights(self.penalty, self.alpha, self.l1_ratio)
        pen = Penalty.make(a, rho, loss.scaling, loss.n_outputs)
        self._glm_bind(loss, pen)
        self._loss_proto = loss
        self._n = int(X.shape[0])
        self._row_lip = row_bound(loss, X) if self.batch_size is not None else 0.0
        self._rng = check_random_state(self.random_state)

    def _kernel(self) -> Any:
        from ._glm_kernels import logistic_pass, softmax_pass

        return logistic_pass if len(self.classes_) == 2 else softmax_pass

    def _ytype(self, yk: Any) -> Array:
        """The class indices as the kernels take them (float 0/1 for two classes), without
        a copy when they are already so."""
        return np.asarray(yk, dtype=np.float64 if len(self.classes_) == 2 else np.int64)

    def _make_loss(self, X: Array, yk: Array, sw: Array | None) -> Any:
        opts = {"fit_intercept": bool(self.fit_intercept), "standardize": bool(self.standardize)}
        if len(self.classes_) == 2:
            return LogisticLoss.local(X, self._ytype(yk), sw, **opts)
        return SoftmaxLoss.local(X, yk, len(self.classes_), sw, **opts)

    def _batch_rows(self, X: Array, yk: Array, sw: Array | None) -> Any:
        """The mini-batch problem's evaluation: ``(theta, idx) -> (f, g)`` on the rows ``idx``."""
        kernel, yt = self._kernel(), self._ytype(yk)

        def evaluate(theta: Array, idx: Any) -> tuple[float, Array]:
            part = with_rows(self._loss, kernel, np.ascontiguousarray(X[idx]), yt[idx],
                             None if sw is None else sw[idx])
            out: tuple[float, Array] = composite(part, self._pen, self._t)(theta)
            return out

        return evaluate

    def _release(self) -> None:
        """Drop the closures over the data (pickles stay small)."""
        self._release_glm()
        self._loss_proto = self._loss
        self._yk = self._sw = None

    def _set_result(self, X: Array | None, yk: Array | None, sw: Array | None, *, warn: bool,
                    dask_data: Any = None) -> None:
        theta, path, msg = self._glm_finish("GDClassifier", warn)
        loss = self._loss
        b, coef = loss.scaling.to_original(theta.reshape(loss.shape))
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = np.asarray(b, dtype=np.float64)
        pb, pc = loss.scaling.to_original(path.reshape(path.shape[0], *loss.shape))
        self.path_ = np.concatenate([pb[..., None], pc], axis=-1)
        self.separable_ = False
        if self._pen.alpha == 0 and dask_data is not None:
            from ._dask_tasks import _min_margin

            d = dask_data
            parts = d._get(*[d._submit(_min_margin, xb, yb, self.coef_, self.intercept_)
                             for xb, yb in zip(d.xs, d.ys, strict=True)])
            self.separable_ = bool(min(parts) > 0)
        elif self._pen.alpha == 0 and yk is not None and X is not None:
            self.separable_ = self._separates(X, yk, sw, theta)
        if self.separable_:
            size = float(np.linalg.norm(self.coef_))
            msg = (f"GDClassifier: the classes are separable (the fitted coefficients classify "
                   f"every training row correctly) and there is no penalty: the log loss has "
                   f"no minimum and the coefficients grow without bound (||coef|| = {size:.3g}"
                   f" after {self.n_iter_} iterations and growing); use penalty='l2' with "
                   "alpha > 0 for finite coefficients")
            self.converged_ = False
        self._warn(msg, warn)

    def _separates(self, X: Array, yk: Array, sw: Array | None, theta: Array) -> bool:
        known = getattr(self._loss, "margin", None)
        if known is not None and np.array_equal(known[0], theta):
            return bool(known[1] > 0)  # the last pass was at theta: no pass here
        # chunk by chunk, ending at the first row the coefficients get wrong: classes that
        # are not separable show one in the first chunk, so only separable ones cost a pass
        for lo in range(0, X.shape[0], _CHUNK):
            rows = slice(lo, lo + _CHUNK)
            scores = X[rows] @ self.coef_.T + self.intercept_
            yc = yk[rows]
            keep = slice(None) if sw is None else sw[rows] > 0
            if scores.shape[1] == 1:
                margin = np.where(yc == 1, 1.0, -1.0) * scores[:, 0]
            else:
                own = scores[np.arange(scores.shape[0]), yc]
                other = np.where(np.arange(scores.shape[1])[None, :] == yc[:, None], -np.inf,
                                 scores).max(axis=1)
                margin = own - other
            if not np.all(margin[keep] > 0):
                return False
        return True

    def _classes(self, y: Array, _: Any) -> Array:
        if y.ndim == 1 and y.dtype.kind in "biuf" and y.size > _CHUNK:
            # the distinct labels chunk by chunk: no sorted copy of y (its size again, twice
            # in scikit-learn's check); the check then reads only them (it depends on the
            # set of values and their type alone)
            classes = np.unique(np.concatenate([np.unique(y[i : i + _CHUNK])
                                                for i in range(0, y.size, _CHUNK)]))
            check_classification_targets(classes)
        else:
            check_classification_targets(y)
            classes = np.unique(y)
        if classes.size < 2:
            raise DataError(f"y: a classifier needs at least 2 classes; the data holds one "
                            f"class: {classes.tolist()}", argument="y")
        return classes

    def _targets(self, y: Array, sample_weight: Any, X: Array) -> tuple[Array, Array | None]:
        # one array of labels for the fit, in the kernels' type (two classes: no int copy)
        yk: Array = (np.asarray(y == self.classes_[1], dtype=np.float64)
                     if len(self.classes_) == 2 else self._ytype(np.searchsorted(self.classes_, y)))
        sw: Array | None = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
            if not np.all(np.isfinite(sw)) or np.any(sw < 0) or not sw.sum() > 0:
                raise DataError("sample_weight: expected finite values >= 0 with a positive "
                                "sum", argument="sample_weight")
        if self.class_weight is not None:
            cw = self._class_weights(y)
            sw = cw if sw is None else sw * cw
        self._yk, self._sw = yk, sw
        return yk, sw

    def _class_weights(self, y: Array) -> Array:
        cw = self.class_weight
        if isinstance(cw, str) and cw == "balanced":
            return np.asarray(compute_sample_weight("balanced", y), dtype=np.float64)
        if not isinstance(cw, dict):
            raise InvalidArgument(f"class_weight: expected a dict, 'balanced' or None, got "
                                  f"{cw!r}", argument="class_weight")
        bad = [k for k in cw if k not in self.classes_]
        if bad:
            raise InvalidArgument(f"class_weight: labels {bad} are not classes of y "
                                  f"{self.classes_.tolist()}", argument="class_weight")
        return np.array([float(cw.get(v, 1.0)) for v in y], dtype=np.float64)

    def _data(self, X: Any, y: Any, *, reset: bool, fit: bool = True) -> Any:
        names = list(X.columns) if hasattr(X, "columns") else None
        if hasattr(X, "dtypes") and hasattr(X, "columns"):
            check_numeric_frame(X, "X")
        try:
            out = validate_data(self, X, y if fit else "no_validation", reset=reset,
                                dtype=np.float64, ensure_all_finite=False)
        except ValueError as exc:
            if "could not convert" in str(exc) or "convert string" in str(exc):
                raise DataError(f"X must hold numbers: {exc}", argument="X") from None
            raise
        check_finite(out[0] if fit else out, "X", names)
        if fit:
            return np.ascontiguousarray(out[0]), np.asarray(out[1])
        return out

    def _check_params(self) -> None:
        if self.loss not in _LOSSES:
            raise InvalidArgument(f"loss: expected 'log', got {self.loss!r}", argument="loss")
        check_glm_params(self)
        if self.class_weight is not None and not (
                isinstance(self.class_weight, dict) or self.class_weight == "balanced"):
            raise InvalidArgument(f"class_weight: expected a dict, 'balanced' or None, got "
                                  f"{self.class_weight!r}", argument="class_weight")

