"""Linear models fitted by gradient descent, as scikit-learn estimators.

``_regressor``   GDRegressor: builds the loss and runs the loop
``_classifier``  GDClassifier: logistic regression (binary, multinomial) on the loop
``_glm_fit``     how a loss object and a penalty run on the loop (Newton, FISTA, proximal)
``_losses``      the losses: value, gradient and curvature from sufficient statistics or a pass
``_kernels``     the fused gradient passes (numba)
``_glm_losses``  loss objects (logistic, softmax, Poisson, squared): value, gradient, curvature
``_glm_kernels`` their fused passes (numba, one read of X a call)
``_glm_prox``    the elastic-net penalty: its smooth part and proximal steps
``_dask``        the same passes over Dask blocks (imported only for Dask input)
``_dask_tasks``  what a Dask worker runs (NumPy only, so workers stay small; pyarrow to read)

The estimators load lazily: a Dask worker that imports ``_dask_tasks`` must not pull
in scikit-learn.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._classifier import GDClassifier as GDClassifier
    from ._regressor import GDRegressor as GDRegressor

_LAZY = {"GDRegressor": "._regressor", "GDClassifier": "._classifier"}

__all__ = ["GDClassifier", "GDRegressor"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'descend.linear_model' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
