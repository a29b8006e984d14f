"""The NIST StRD linear regression sets in ``tests/data/nist``, as the tests read them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

NIST = Path(__file__).resolve().parent / "data" / "nist"
CERTIFIED = json.loads((NIST / "certified.json").read_text())


def load(name: str) -> tuple[np.ndarray, np.ndarray, bool, np.ndarray]:
    """``(X, y, intercept, certified beta)`` of a set: polynomial sets (``degree`` > 1) as
    the powers ``x, x^2, ...``; ``beta`` leads with the intercept when there is one."""
    spec = CERTIFIED[name]
    frame = pd.read_csv(NIST / f"{name}.csv")
    if spec["degree"] > 1:
        x = frame["x"].to_numpy()
        X = np.column_stack([x**k for k in range(1, spec["degree"] + 1)])
    else:
        X = frame[spec["predictors"]].to_numpy(dtype=float)
    return (X, frame["y"].to_numpy(dtype=float), bool(spec["intercept"]),
            np.array(spec["certified_beta"]))
