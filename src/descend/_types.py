"""Type aliases shared across descend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

Array: TypeAlias = npt.NDArray[np.float64]
AnyArray: TypeAlias = npt.NDArray[Any]  # integer codes, counts, masks
ArrayLike: TypeAlias = npt.ArrayLike
Schedule: TypeAlias = Callable[[int], float]
StepSize: TypeAlias = "float | Schedule | str"
Bounds: TypeAlias = "tuple[tuple[float, float], ...]"
