r"""The regularization path: one fit per penalty strength, for :func:`descend.plot.coef_path`.

For the losses of GDRegressor's GLM fits (squared, Poisson) and GDClassifier's (logistic,
softmax), all with their canonical link, the gradient of the mean loss at zero coefficients
(the intercepts at their optimum) is ``X_c' (Y - Ybar) / n``, ``X_c`` the centred columns and
``Y`` the target (one column per class for a classifier, as indicators). So every L1
coefficient is zero exactly when

.. math::

   \alpha \, \rho \ge \alpha_{max} \rho = \lVert X_c^\top (Y - \bar Y) \rVert_\infty / n,

``rho = l1_ratio`` (1 for ``penalty="l1"``): the start of the default grid, which goes down
three decades from there. The fits start from zero each (the GLM fits take no warm start).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from .._types import Array
from ..errors import InvalidArgument, InvalidType

__all__ = ["alpha_max", "regularization_path"]


def _estimator(estimator: Any) -> str:
    """``"classifier"`` or ``"regressor"``; errors for anything else or a path-less penalty."""
    from ._classifier import GDClassifier
    from ._regressor import GDRegressor

    if isinstance(estimator, type):
        raise InvalidType(f"estimator: expected an estimator instance such as "
                          f"GDRegressor(penalty='l1'), got the class {estimator.__name__}",
                          argument="estimator")
    if not isinstance(estimator, GDRegressor | GDClassifier):
        raise InvalidType(f"estimator: expected a GDRegressor or GDClassifier, got "
                          f"{type(estimator).__name__}", argument="estimator")
    if estimator.penalty not in ("l1", "l2", "elasticnet"):
        raise InvalidArgument(f"estimator: penalty {estimator.penalty!r} has no path; give "
                              "penalty='l1', 'elasticnet' or 'l2'", argument="estimator")
    if isinstance(estimator, GDRegressor) and estimator.loss not in ("mse", "poisson"):
        raise InvalidArgument(f"estimator: the path takes loss 'mse' or 'poisson' (the losses "
                              f"with L1), got {estimator.loss!r}", argument="estimator")
    return "classifier" if isinstance(estimator, GDClassifier) else "regressor"


def alpha_max(estimator: Any, X: Any, y: Any) -> float:
    """The smallest ``alpha`` at which every coefficient of the L1 / elastic-net fit is 0.

    For ``penalty="l2"`` (no exact zeros) the same number, with ``l1_ratio`` taken as 1,
    sets the scale of the grid.
    """
    kind = _estimator(estimator)
    Xa = np.asarray(X, dtype=np.float64)
    if kind == "classifier":
        labels = np.asarray(y)
        classes = np.unique(labels)
        Y = (labels[:, None] == classes[None, :]).astype(np.float64)
        if classes.size == 2:
            Y = Y[:, 1:]
    else:
        Y = np.asarray(y, dtype=np.float64).reshape(len(Xa), -1)
    Xc = Xa - Xa.mean(axis=0) if estimator.fit_intercept else Xa
    Yc = Y - Y.mean(axis=0) if estimator.fit_intercept else Y
    top = float(np.max(np.abs(Xc.T @ Yc))) / len(Xa)
    rho = {"l1": 1.0, "l2": 1.0}.get(estimator.penalty, float(estimator.l1_ratio))
    return top / rho if rho > 0 else top


def regularization_path(
    estimator: Any, X: Any, y: Any, alphas: Any = None, n_alphas: int = 20
) -> tuple[Array, Array, Array, Any]:
    """Fit a clone of ``estimator`` at each alpha, largest first.

    Returns
    -------
    alphas : ndarray (k,)
        Decreasing.
    coefs : ndarray (k, n_outputs, n_features)
        ``coef_`` at each alpha (``(1, p)`` for a regressor and a two-class classifier).
    intercepts : ndarray (k, n_outputs)
    fits : list of the fitted estimators
    """
    _estimator(estimator)
    if alphas is None:
        if isinstance(n_alphas, bool) or not isinstance(n_alphas, int | np.integer) \
                or n_alphas < 2:
            raise InvalidArgument(f"n_alphas: expected an integer >= 2, got {n_alphas!r}",
                                  argument="n_alphas")
        top = alpha_max(estimator, X, y)
        if not top > 0:
            raise InvalidArgument("y: the target is constant (or X has no spread): every "
                                  "coefficient is 0 at any alpha; give alphas", argument="y")
        grid = np.geomspace(top, top * 1e-3, int(n_alphas))
    else:
        grid = np.asarray(alphas, dtype=np.float64).reshape(-1)
        if grid.size < 1 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
            raise InvalidArgument(f"alphas: expected finite numbers > 0 (the path is drawn on "
                                  f"a log axis), got {alphas!r}", argument="alphas")
        grid = np.sort(grid)[::-1]
    coefs, intercepts, fits = [], [], []
    for a in grid:
        model = clone(estimator).set_params(alpha=float(a)).fit(X, y)
        coefs.append(np.asarray(model.coef_, dtype=np.float64).reshape(-1, np.shape(X)[1]))
        intercepts.append(np.ravel(np.asarray(model.intercept_, dtype=np.float64)))
        fits.append(model)
    return grid, np.stack(coefs), np.stack(intercepts), fits
