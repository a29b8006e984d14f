r"""GDClassifier and GDRegressor's GLM fits on Dask arrays and dataframes.

The same loss objects and the same loop as in memory: only the pass differs. The data are
checked and scanned once by :func:`descend.linear_model._dask.prepare` (its statistics are the
first pass, so the scaling is the in-memory one), persisted on the workers (a fit passes over
them many times), and each evaluation runs the loss's fused kernel on every row block
(:func:`descend.linear_model._dask_tasks._glm_block`) and adds the small partial sums here.
Full batch only, without sample weights.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np

from .._types import Array
from ..errors import InvalidArgument
from . import _dask
from ._dask_tasks import _glm_block, _ylogy_block
from ._glm_losses import (
    LogisticLoss,
    Moments,
    PoissonLoss,
    SoftmaxLoss,
    SquaredLoss,
    sample_rows,
    sample_size,
)

__all__ = ["fit_classifier", "fit_regressor"]


def _check(est: Any, sample_weight: Any) -> None:
    if est.batch_size is not None:
        raise InvalidArgument("batch_size: Dask inputs fit the GLM losses on the full batch; "
                              "use batch_size=None", argument="batch_size")
    if sample_weight is not None:
        raise InvalidArgument("sample_weight: not taken with Dask inputs (pass None)",
                              argument="sample_weight")


def _moments(data: Any) -> Moments:
    st = data.stats()
    return Moments(int(st.n), float(st.n), st.mu, st.ybar, st.H, st.q, st.yy)


def _pass(data: Any, kind: str) -> Any:
    """``(w, c) -> the kernel's sums`` over all blocks."""

    def run(w: Array, c: Any) -> tuple[Any, ...]:
        parts = data._get(*[data._submit(_glm_block, kind, xb, yb, w, c)
                            for xb, yb in zip(data.xs, data.ys, strict=True)])
        out = []
        for j, first in enumerate(parts[0]):
            vals = [p[j] for p in parts]
            if kind == "poisson" and j == 3:  # the largest eta
                out.append(max(vals))
            elif isinstance(first, float):
                out.append(float(sum(vals)))
            else:
                out.append(np.sum(np.stack(vals), axis=0))
        return tuple(out)

    return run


def fit_classifier(est: Any, X: Any, y: Any, sample_weight: Any) -> Any:
    """:meth:`GDClassifier.fit` on Dask collections (labels: numbers)."""
    _check(est, sample_weight)
    est._check_params()
    if est.class_weight is not None:
        raise InvalidArgument("class_weight: not taken with Dask inputs (pass None)",
                              argument="class_weight")
    ya = _dask._as_array(y, "y")
    classes = np.unique(np.asarray(da.unique(ya.astype(np.float64)).compute()))
    est.classes_ = est._classes(classes, None)
    yk = y.map_partitions(lambda s: np.searchsorted(classes, s.to_numpy(np.float64))
                          .astype(np.float64), meta=(getattr(y, "name", None), "f8")) \
        if hasattr(y, "map_partitions") else ya.map_blocks(
            lambda b: np.searchsorted(classes, b).astype(np.float64), dtype=np.float64)
    data = _dask.prepare(est, X, yk, reset=True, persist=True)
    mom = _moments(data)
    opts = {"fit_intercept": bool(est.fit_intercept), "standardize": bool(est.standardize)}
    K = len(classes)
    loss: Any = (LogisticLoss(_pass(data, "logistic"), mom, **opts) if K == 2
                 else SoftmaxLoss(_pass(data, "softmax"), mom, K, **opts))
    _sample(loss, data)
    est._glm_setup(loss, np.empty((data.n, 0)))
    est._glm_begin(np.zeros(loss.n_theta))
    est._glm_run_full(est.max_iter, record=True)
    est._yk = est._sw = None
    est._set_result(None, None, None, warn=True, dask_data=data)
    est._release()
    return est


def fit_regressor(est: Any, X: Any, y: Any) -> Any:
    """GDRegressor's Poisson / L1 fits on Dask collections."""
    from . import _glm_regression

    _check(est, None)
    est._check_params()
    data = _dask.prepare(est, X, y, reset=True, persist=est.loss == "poisson")
    mom = _moments(data)
    opts = {"fit_intercept": bool(est.fit_intercept), "standardize": bool(est.standardize)}
    if est.loss == "poisson":
        parts = data._get(*[data._submit(_ylogy_block, yb) for yb in data.ys])
        loss: Any = PoissonLoss(_pass(data, "poisson"), mom, float(sum(parts)), **opts)
        _sample(loss, data)
    else:
        loss = SquaredLoss(mom, **opts)
    runner = _glm_regression.Runner(est)
    runner.fit_loss(loss, data.n)
    return est


def _sample(loss: Any, data: Any) -> None:
    """The Hessian's sample: the rows that an in-memory fit of the same data keeps (the
    same Newton steps), gathered from the workers when a Newton step first asks."""
    if loss.has_hessian:
        rows = sample_rows(data.n)
        loss.offer_sample(sample_size(data.n), lambda: (data.take(rows)[0], None))
