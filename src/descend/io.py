"""``read_table``: a CSV or Parquet file as checked numeric features and target."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ._data import check_finite, check_numeric_frame
from .errors import DataError, InvalidArgument

__all__ = ["read_table"]


def read_table(
    path: str | Path, target: str, features: Sequence[str] | None = None
) -> tuple[pd.DataFrame, pd.Series]:
    """Read ``path`` (``.csv`` or ``.parquet``) into features ``X`` and target ``y``.

    Every used column must be numeric and finite. pandas silently reads ``1e400`` as
    inf and an empty cell as NaN; descend refuses both, naming the column and the
    first bad rows (0-based data rows, the header not counted).

    Parameters
    ----------
    path : str or Path
        A ``.csv`` or ``.parquet`` file.
    target : str
        The column to predict.
    features : sequence of str, optional
        The predictor columns (default: every other column), in this order.

    Returns
    -------
    X : DataFrame
        The feature columns.
    y : Series
        The target column.

    Raises
    ------
    InvalidArgument
        Missing file, unknown suffix, unknown target or feature column.
    DataError
        A column that is not numeric, or holds NaN or inf.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("x,y\\n1,2\\n2,4\\n")
    >>> X, y = read_table(p, "y")
    >>> X.columns.tolist(), y.tolist()
    (['x'], [2.0, 4.0])
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidArgument(f"path: no such file {str(p)!r}", argument="path")
    suffix = p.suffix.lower()
    if suffix == ".csv":
        try:
            frame = pd.read_csv(p)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise DataError(f"path: cannot read {str(p)!r} as CSV: {exc}",
                            argument="path") from None
    elif suffix in (".parquet", ".pq"):
        frame = pd.read_parquet(p)
    else:
        raise InvalidArgument(
            f"path: expected a .csv or .parquet file, got {p.name!r}", argument="path"
        )
    columns = [str(c) for c in frame.columns]
    frame.columns = pd.Index(columns)
    if target not in columns:
        raise InvalidArgument(
            f"target: no column {target!r} in {p.name}; columns are {', '.join(columns)}",
            argument="target",
        )
    if features is None:
        names = [c for c in columns if c != target]
    else:
        names = [str(f) for f in features]
        missing = [f for f in names if f not in columns]
        if missing:
            raise InvalidArgument(
                f"features: no column {missing[0]!r} in {p.name}; columns are "
                f"{', '.join(columns)}",
                argument="features",
            )
    if frame.shape[0] == 0:
        raise DataError(f"path: {p.name} has no data rows", argument="path")
    X, y = frame[names], frame[target]
    check_numeric_frame(frame[[*names, target]], p.name)
    X = X.astype("float64")
    y = y.astype("float64")
    check_finite(X.to_numpy(), p.name, names)
    check_finite(y.to_numpy()[:, None], p.name, [target])
    return X, y
