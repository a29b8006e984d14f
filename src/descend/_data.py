"""Checks on data tables and arrays that name the column and the first bad rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError

_SHOW = 5


def _rows(rows: Any) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:_SHOW])
    more = f" and {rows.size - _SHOW} more" if rows.size > _SHOW else ""
    return f"row{'s' if rows.size > 1 else ''} {shown}{more}"


def is_dask(obj: Any) -> bool:
    """Whether ``obj`` is a Dask collection, told without importing dask."""
    return type(obj).__module__.startswith("dask")


def check_numeric_frame(frame: pd.DataFrame, what: str) -> None:
    """Every column numeric (or bool); else a DataError naming column and rows."""
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            if pd.api.types.is_complex_dtype(col):
                raise DataError(f"{what}: column {name!r} holds complex numbers", argument=what)
            continue
        bad = pd.to_numeric(col, errors="coerce").isna() & col.notna()
        example = col[bad].iloc[0] if bad.any() else col.iloc[0]
        where = _rows(np.flatnonzero(bad.to_numpy()))
        raise DataError(
            f"{what}: column {name!r} is not numeric (dtype {col.dtype}): {where} "
            f"hold values such as {example!r:.40}; convert or drop the column",
            argument=what,
        )


def check_finite(
    a: Any, what: str, names: Sequence[Any] | None = None, *, block: int = 65536,
    offset: int = 0,
) -> None:
    """Raise a DataError naming the column and first rows holding NaN or inf.

    The fast path sums each column (one read, no mask of the whole array). Rows are
    counted from ``offset`` (the first row of ``a`` in a larger table).
    """
    arr = np.asarray(a)
    two_d = arr.reshape(arr.shape[0], -1)
    with np.errstate(all="ignore"):
        if np.isfinite(two_d.sum()):  # one contiguous read: nothing to look for
            return
        sums = two_d.sum(axis=0)
    bad_cols = np.flatnonzero(~np.isfinite(sums))
    for j in bad_cols:
        for i in range(0, two_d.shape[0], block):
            col = two_d[i : i + block, j]
            bad = ~np.isfinite(col)
            if bad.any():
                kind = "NaN" if np.isnan(col[bad]).any() else "inf"
                rows = np.flatnonzero(~np.isfinite(two_d[:, j])) + offset
                label = f"column {names[int(j)]!r}" if names is not None else f"column {j}"
                if arr.ndim == 1:
                    label = "the target"
                raise DataError(
                    f"{what}: {label} contains {kind} (NaN and inf are not allowed) at "
                    f"{_rows(rows)}; drop or impute "
                    "those rows",
                    argument=what,
                )
