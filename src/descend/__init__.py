"""descend: gradient descent you can see.

Minimize any f: R^p -> R given as a formula or a Python callable, record the
whole path, and say how the run ended.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

# Light modules (NumPy only) load now; SymPy, scikit-learn and pandas, which take seconds
# and hundreds of MB to import, load on first use: a Dask worker running descend's tasks,
# or a script that only minimizes a callable, needs none of them.
from . import datasets as datasets
from . import errors as errors
from . import functions as functions
from . import linesearch as linesearch
from . import optimizers as optimizers
from . import schedules as schedules
from ._cache import clear_caches as clear_caches
from ._minimize import minimize as minimize
from ._multistart import Minimum as Minimum
from ._multistart import MultiStartResult as MultiStartResult
from ._multistart import cluster_minima as cluster_minima
from ._multistart import multistart as multistart
from ._sweep import SweepResult as SweepResult
from ._sweep import suggest_lr as suggest_lr
from ._sweep import sweep as sweep
from .objective import Objective as Objective
from .result import VERDICTS as VERDICTS
from .result import Intermediate as Intermediate
from .result import Result as Result
from .result import Status as Status
from .result import verdict as verdict

if TYPE_CHECKING:
    from .formula import Formula as Formula
    from .formula import parse as parse
    from .io import load_model as load_model
    from .io import read_table as read_table
    from .io import save_model as save_model
    from .linear_model import GDClassifier as GDClassifier
    from .linear_model import GDRegressor as GDRegressor

_LAZY = {"Formula": ".formula", "parse": ".formula", "read_table": ".io",
         "save_model": ".io", "load_model": ".io", "GDRegressor": ".linear_model",
         "GDClassifier": ".linear_model"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'descend' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


try:
    __version__ = version("descend")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_sweep.py checks
    "Formula",
    "GDClassifier",
    "GDRegressor",
    "Intermediate",
    "Minimum",
    "MultiStartResult",
    "Objective",
    "Result",
    "Status",
    "SweepResult",
    "VERDICTS",
    "__version__",
    "clear_caches",
    "cluster_minima",
    "datasets",
    "errors",
    "functions",
    "linesearch",
    "load_model",
    "minimize",
    "multistart",
    "optimizers",
    "parse",
    "read_table",
    "save_model",
    "schedules",
    "suggest_lr",
    "sweep",
    "verdict",
]
