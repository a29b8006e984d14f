"""Checks on data tables and arrays that name the column and the first bad rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._text import listing, plural
from .errors import DataError

_SHOW = 5


def _rows(rows: Any) -> str:
    """``'row 4'``, ``'rows 4, 9'``, ``'rows 0, 1, 2, 3, 4 and 7 more'``."""
    return f"{plural(rows.size, 'row')} {listing([int(r) for r in rows], most=_SHOW)}"


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
        raise DataError(f"{what}: column {name!r} is not numeric (dtype {col.dtype}): "
                        f"{_not_numbers(col)}; convert or drop the column", argument=what)


def _not_numbers(col: pd.Series) -> str:
    """What a non-numeric column holds, with the first rows that are not numbers."""
    present = col.notna().to_numpy()
    if not present.any():
        return "it holds no values at all"
    try:
        bad = (pd.to_numeric(col, errors="coerce").isna().to_numpy() & present)
    except (TypeError, ValueError):  # values pandas cannot even try (lists, dicts, ...)
        bad = present
    if not bad.any():  # every value converts: dates, or numbers stored as text
        example = col[present].iloc[0]
        return f"its values are not numbers, such as {_shown(example)}"
    rows = np.flatnonzero(bad)
    example = col.iloc[int(rows[0])]
    such = "" if rows.size == 1 else "values such as "
    return f"{_rows(rows)} {plural(rows.size, 'holds')} {such}{_shown(example)}"


def _shown(value: Any) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_finite(
    a: Any, what: str, names: Sequence[Any] | None = None, *, block: int = 65536,
    offset: int = 0,
) -> None:
    """Raise a DataError naming the column and first rows holding NaN or inf.

    The fast path sums each column (one read, no mask of the whole array). Rows are
    counted from ``offset`` (the first row of ``a`` in a larger table).
    """
    arr = np.asarray(a)
    if arr.size == 0:
        return
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
                    f"{what}: {label} contains {kind} at {_rows(rows)} (NaN and inf are not "
                    f"allowed); drop or impute {plural(rows.size, 'that row', 'those rows')}",
                    argument=what,
                )
