"""Tables and models on disk: the one table reader and the one model file format.

Tables
    :func:`read_frame` is the only code in descend that parses a CSV or Parquet table:
    ``descend fit`` and ``descend predict`` (through :func:`read_table`), the explorer's
    CSV upload (bytes) and every partition of a Dask fit (:func:`read_dask_table`) go
    through it, so they refuse the same things with the same words: a path that is not
    a regular file (a directory, a FIFO, ``/dev/zero``), a file that is not the format
    its suffix says, duplicate or unnamed column headers (pandas would rename them
    ``y.1`` or ``Unnamed: 0`` and they would be fitted as features), rows with more
    fields than the header, and a table with no data rows. :func:`numeric_columns`
    then checks the columns in use: numbers only, no NaN or inf, naming the column
    and the first bad rows (0-based data rows, the header not counted).

Models
    :func:`save_model` writes a fitted :class:`~descend.linear_model.GDRegressor` or
    :class:`~descend.linear_model.GDClassifier` (with its classes) as a
    small, versioned JSON document (atomically: the whole new file or the old one
    untouched); :func:`load_model` reads it back into a fitted estimator, checking
    every field, so a hand-edited or hostile file gives one clear
    :class:`~descend.errors.InvalidArgument`, never a traceback, and nothing in it is
    ever executed (it is JSON, not a pickle).

Every error is a :class:`~descend.errors.DataError` (the data) or an
:class:`~descend.errors.InvalidArgument` (the path, a column name, the model file),
both ``ValueError`` subclasses; the command line turns them into one line and exit 2.
"""

from __future__ import annotations

import contextlib
import glob
import io as _io
import json
import math
import os
import re
import stat
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._data import check_finite, check_numeric_frame
from ._files import atomic_write
from ._text import count, listing, plural
from .errors import DataError, InvalidArgument, InvalidType

if TYPE_CHECKING:
    from .linear_model import GDClassifier, GDRegressor

__all__ = [
    "MODEL_FORMAT",
    "MODEL_VERSION",
    "load_model",
    "numeric_columns",
    "read_dask_table",
    "read_frame",
    "read_table",
    "save_model",
]

#: What :func:`read_frame` reads: a path, the bytes of a file, or a binary file object.
Source = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]

_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
#: A Dask partition: at most this many bytes of CSV, or one Parquet file (its row groups
#: when the file is larger).
_PIECE_BYTES = 64 * 2**20


# ----------------------------------------------------------------------------- tables
def read_frame(
    path: Source,
    *,
    format: str | None = None,
    name: str | None = None,
    columns: Sequence[str] | None = None,
    max_rows: int | None = None,
    what: str = "path",
) -> pd.DataFrame:
    """Read a CSV or Parquet table, checked, with its values as they are.

    Parameters
    ----------
    path : str, PathLike, bytes or binary file
        A file (it must be a regular file: not a directory, a FIFO or a device), the
        bytes of one (an upload), or an open binary file.
    format : {"csv", "parquet"}, optional
        Default: from the suffix of the path or of ``name``.
    name : str, optional
        The name shown in messages (default: the path; ``"the data"`` for bytes).
    columns : sequence of str, optional
        Read only these columns (each must exist). The headers of all columns are
        checked either way.
    max_rows : int, optional
        Refuse a table with more data rows (read at most one more).
    what : str, default "path"
        The argument named at the start of every message.

    Returns
    -------
    DataFrame
        At least one row. A Parquet file's stored pandas index stays the index.

    Raises
    ------
    InvalidArgument
        Missing or not a regular file, unknown format, a missing column.
    DataError
        Not readable as the format (not UTF-8, not Parquet, truncated), duplicate or
        unnamed column headers, rows with more fields than the header, no data rows,
        more than ``max_rows`` rows.

    Examples
    --------
    >>> read_frame(b"x,y\\n1,2\\n3,4\\n", format="csv").shape
    (2, 2)
    >>> read_frame(b"x,y,y\\n1,2,3\\n", format="csv")
    Traceback (most recent call last):
    ...
    descend.errors.DataError: path: the data: the column name 'y' appears more than once ...
    """
    with _opened(path, format, name, what) as (fh, shown, kind):
        if kind == "csv":
            return _read_csv(fh, shown, what, columns=columns, max_rows=max_rows)
        return _read_parquet(fh, shown, what, columns=columns, max_rows=max_rows)


def numeric_columns(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    name: str = "the data",
    what: str = "path",
    finite: bool = True,
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The ``columns`` of ``frame`` as a float64 array ``(rows, len(columns))``.

    Every column must exist, hold numbers (or booleans) and, when ``finite``, no NaN
    or inf; errors name the column and the first bad rows.

    Parameters
    ----------
    frame : DataFrame
        The table.
    columns : sequence of str
        The columns wanted, in this order.
    name : str, default "the data"
        The table's name in messages.
    what : str, default "path"
        The argument named at the start of every message.
    finite : bool, default True
        Refuse NaN and inf.

    Returns
    -------
    ndarray of float64 (rows, len(columns))
        The columns, side by side.

    Examples
    --------
    >>> frame = read_frame(b"a,b,y\\n1,2,3\\n4,,6\\n", format="csv", name="t.csv")
    >>> numeric_columns(frame, ["a", "y"], name="t.csv").tolist()
    [[1.0, 3.0], [4.0, 6.0]]
    >>> numeric_columns(frame, ["b"], name="t.csv")
    Traceback (most recent call last):
    ...
    descend.errors.DataError: path: t.csv: column 'b' contains NaN at row 1 ...
    """
    names = [str(c) for c in columns]
    _require(frame, names, name, what, "columns")
    check_numeric_frame(frame[names], f"{what}: {name}")
    values = frame[names].to_numpy(dtype=np.float64)
    if finite:
        check_finite(values, f"{what}: {name}", names)
    return values


def read_table(
    path: Source,
    target: str,
    features: Sequence[str] | None = None,
    *,
    format: str | None = None,
    name: str | None = None,
    max_rows: int | None = None,
    labels: bool = False,
) -> tuple[pd.DataFrame, pd.Series]:
    """Read ``path`` (``.csv`` or ``.parquet``) into features ``X`` and target ``y``.

    The table is read by :func:`read_frame` (so the same files are refused) and the
    columns in use checked by :func:`numeric_columns`: numbers only, no NaN or inf
    (pandas silently reads ``1e400`` as inf and an empty cell as NaN).

    Parameters
    ----------
    path : str, PathLike, bytes or binary file
        A ``.csv`` or ``.parquet`` file, or its bytes (then give ``format``).
    target : str
        The column to predict.
    features : sequence of str, optional
        The predictor columns (default: every other column), in this order.
    format, name, max_rows
        As for :func:`read_frame`.
    labels : bool, default False
        The target holds class labels (for a classifier): numbers or text, kept as
        they are, none missing. Default: numbers, read as float64.

    Returns
    -------
    X : DataFrame of float64
        The feature columns.
    y : Series of float64 (labels: as read), named ``target``
        The target column.

    Raises
    ------
    InvalidArgument
        Missing or not a regular file, unknown suffix, unknown target or feature
        column, the target among the features, a feature named twice.
    DataError
        See :func:`read_frame`; a column that is not numeric, or holds NaN or inf.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("x,y\\n1,2\\n2,4\\n")
    >>> X, y = read_table(p, "y")
    >>> X.columns.tolist(), y.tolist()
    (['x'], [2.0, 4.0])
    """
    frame = read_frame(path, format=format, name=name, max_rows=max_rows)
    shown = name or (str(path) if isinstance(path, str | os.PathLike) else "the data")
    names = _features(frame, target, features, shown)
    if labels:
        values = numeric_columns(frame, names, name=shown)
        X = pd.DataFrame(values, columns=pd.Index(names), index=frame.index)
        return X, _labels(frame[target], target, shown)
    values = numeric_columns(frame, [*names, target], name=shown)
    X = pd.DataFrame(values[:, :-1], columns=pd.Index(names), index=frame.index)
    y = pd.Series(values[:, -1], name=target, index=frame.index)
    return X, y


def _labels(col: pd.Series, target: str, shown: str) -> pd.Series:
    """A column of class labels: none missing (nor inf); text or numbers, not both."""
    missing = col.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        if pd.api.types.is_complex_dtype(col):
            raise DataError(f"path: {shown}: column {target!r} holds complex numbers",
                            argument="path")
        missing = missing | ~np.isfinite(col.to_numpy(dtype=np.float64))
    if missing.any():
        rows = np.flatnonzero(missing)
        raise DataError(f"path: {shown}: column {target!r} has no class label (empty, NaN or "
                        f"inf) at {plural(len(rows), 'row')} "
                        f"{listing([str(i) for i in rows.tolist()], most=5)}", argument="path")
    if col.dtype == object:
        kinds = {type(v) for v in col}
        if len(kinds) > 1 or not kinds <= {str}:
            raise DataError(f"path: {shown}: column {target!r} mixes kinds of labels "
                            f"({listing(sorted(k.__name__ for k in kinds))}); expected text "
                            "or numbers", argument="path")
    return col.rename(target)


def _features(frame: pd.DataFrame, target: str, features: Sequence[str] | None,
              shown: str) -> list[str]:
    """The feature names: checked against the table's columns and the target."""
    columns = [str(c) for c in frame.columns]
    if not isinstance(target, str):
        raise InvalidType(f"target: expected a column name, got {type(target).__name__}",
                          argument="target")
    if target not in columns:
        raise InvalidArgument(f"target: no column {target!r} in {shown}; the columns are "
                              f"{listing(columns, most=20, quote=True)}", argument="target")
    if features is None:
        return [c for c in columns if c != target]
    if isinstance(features, str):
        raise InvalidType("features: expected a sequence of column names, got a string",
                          argument="features")
    names = [str(f) for f in features]
    missing = [f for f in names if f not in columns]
    if missing:
        raise InvalidArgument(
            f"features: no {plural(len(missing), 'column')} {listing(missing, quote=True)} in "
            f"{shown}; the columns are {listing(columns, most=20, quote=True)}",
            argument="features")
    if target in names:
        raise InvalidArgument(f"features: {target!r} is the target; it cannot also be a "
                              "feature", argument="features")
    twice = sorted({f for f in names if names.count(f) > 1})
    if twice:
        raise InvalidArgument(f"features: {listing(twice, quote=True)} named more than once",
                              argument="features")
    if not names:
        raise InvalidArgument("features: expected at least one column", argument="features")
    return names


# ------------------------------------------------------------------------ opening
@contextlib.contextmanager
def _opened(
    source: Source, fmt: str | None, name: str | None, what: str
) -> Iterator[tuple[IO[bytes], str, str]]:
    """A seekable binary file for ``source``, the name to show, and the format."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        shown = name or str(path)
        kind = _format(fmt, name or path.name, shown, what)
        fd = _open_regular(path, shown, what)
        with os.fdopen(fd, "rb") as fh:
            yield fh, shown, kind
        return
    if not isinstance(source, bytes | bytearray | memoryview) and not hasattr(source, "read"):
        raise InvalidType(f"{what}: expected a path, bytes or a binary file, got "
                          f"{type(source).__name__}", argument=what)
    shown = name or "the data"
    kind = _format(fmt, name or "", shown, what)
    if isinstance(source, bytes | bytearray | memoryview):
        yield _io.BytesIO(bytes(source)), shown, kind
    elif hasattr(source, "read"):
        seekable = getattr(source, "seekable", None)
        if callable(seekable) and seekable():
            yield source, shown, kind
        else:
            data = source.read()
            if not isinstance(data, bytes):
                raise InvalidType(f"{what}: expected a binary file, got one that reads "
                                  f"{type(data).__name__}", argument=what)
            yield _io.BytesIO(data), shown, kind


def _format(fmt: str | None, filename: str, shown: str, what: str) -> str:
    if fmt is not None:
        key = str(fmt).strip().lower().lstrip(".")
        if key in ("csv", "parquet"):
            return key
        raise InvalidArgument(f"format: expected 'csv' or 'parquet', got {fmt!r}",
                              argument="format")
    suffix = Path(filename).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    if not filename:
        raise InvalidArgument("format: give 'csv' or 'parquet' (there is no file name to "
                              "tell it from)", argument="format")
    raise InvalidArgument(f"{what}: expected a .csv or .parquet file, got {shown!r}",
                          argument=what)


def _open_regular(path: Path, shown: str, what: str) -> int:
    """A read-only descriptor on ``path``, which must be a regular file.

    Opened without blocking (a FIFO with no writer would otherwise wait for ever) and
    checked on the descriptor itself, so what is read is what was checked.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        if path.is_symlink():
            raise InvalidArgument(f"{what}: {shown!r} is a symbolic link to "
                                  f"{os.readlink(path)!r}, which does not exist",
                                  argument=what) from None
        raise InvalidArgument(f"{what}: no such file {shown!r}", argument=what) from None
    except PermissionError:
        raise InvalidArgument(f"{what}: cannot read {shown!r}: permission denied",
                              argument=what) from None
    except OSError as exc:
        raise InvalidArgument(f"{what}: cannot open {shown!r}: {exc.strerror or exc}",
                              argument=what) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        link = f" (a symbolic link to {os.readlink(path)!r})" if path.is_symlink() else ""
        raise InvalidArgument(f"{what}: {shown!r}{link} is not a regular file but "
                              f"{_kind(mode)}; give a .csv or .parquet file", argument=what)
    os.set_blocking(fd, True)
    return fd


def _kind(mode: int) -> str:
    for test, text in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return text
    return "not a file"  # pragma: no cover - no other kinds on POSIX


# ---------------------------------------------------------------------------- CSV
def _read_csv(
    fh: IO[bytes], shown: str, what: str, *, columns: Sequence[str] | None = None,
    max_rows: int | None = None, nrows: int | None = None,
    expect: Sequence[str] | None = None,
) -> pd.DataFrame:
    start = fh.tell()
    with _csv_errors(shown, what):
        head = pd.read_csv(fh, header=None, nrows=1, dtype=str, keep_default_na=False,
                           index_col=False, encoding="utf-8-sig")
    if head.shape[0] == 0:
        raise DataError(f"{what}: {shown} is empty (not even a header row)", argument=what)
    header = [str(v) for v in head.iloc[0].tolist()]
    _check_names(header, shown, what)
    _check_expected(header, expect, shown, what)
    if columns is not None:
        _require(pd.DataFrame(columns=pd.Index(header)), [str(c) for c in columns], shown,
                 what, "columns")
    limit = max_rows + 1 if max_rows is not None else nrows
    fh.seek(start)
    with _csv_errors(shown, what), warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)
        frame = pd.read_csv(fh, index_col=False, usecols=None if columns is None
                            else list(columns), nrows=limit, encoding="utf-8-sig")
    frame.columns = pd.Index([str(c) for c in frame.columns])
    if frame.shape[0] == 0:
        raise DataError(f"{what}: {shown} has a header but no data rows", argument=what)
    _check_rows(frame.shape[0], max_rows, shown, what)
    return frame


@contextlib.contextmanager
def _csv_errors(shown: str, what: str) -> Iterator[None]:
    """pandas' parsing errors as one-line DataErrors."""
    try:
        yield
    except pd.errors.EmptyDataError:
        raise DataError(f"{what}: {shown} is empty (not even a header row)",
                        argument=what) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{what}: {shown} is not UTF-8 text (byte {exc.object[exc.start]:#04x} "
                        f"at offset {exc.start}); save it as a UTF-8 CSV file",
                        argument=what) from None
    except pd.errors.ParserWarning:
        raise DataError(f"{what}: {shown} has rows with more fields than its header; fix "
                        "the header or those rows", argument=what) from None
    except (pd.errors.ParserError, ValueError) as exc:
        text = " ".join(str(exc).split())
        fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
        if fields:
            want, line, got = fields.groups()
            raise DataError(f"{what}: {shown}: line {line} has {got} fields but the header has "
                            f"{want}", argument=what) from None
        raise DataError(f"{what}: cannot read {shown} as CSV: {text}", argument=what) from None


# ------------------------------------------------------------------------ Parquet
def _parquet(fh: IO[bytes], shown: str, what: str) -> tuple[Any, list[str], list[str]]:
    """The ParquetFile, its data column names and its stored index columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(fh)
        schema = pf.schema_arrow
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _parquet_error(exc, shown, what) from None
    meta = schema.pandas_metadata or {}
    index = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
    data = [str(n) for n in schema.names if n not in index]
    return pf, data, index


def _read_parquet(
    fh: IO[bytes], shown: str, what: str, *, columns: Sequence[str] | None = None,
    max_rows: int | None = None, nrows: int | None = None,
    expect: Sequence[str] | None = None,
) -> pd.DataFrame:
    import pyarrow as pa

    pf, data, index = _parquet(fh, shown, what)
    _check_names(data, shown, what, pandas_names=True)
    _check_expected(data, expect, shown, what)
    wanted = None if columns is None else [str(c) for c in columns]
    if wanted is not None:
        _require(pd.DataFrame(columns=pd.Index(data)), wanted, shown, what, "columns")
    rows = int(pf.metadata.num_rows)
    if rows == 0:
        raise DataError(f"{what}: {shown} has no data rows", argument=what)
    _check_rows(rows, max_rows, shown, what)
    try:
        if nrows is not None:
            batch = next(pf.iter_batches(batch_size=nrows, columns=wanted))
            table = pa.Table.from_batches([batch])
        else:
            table = pf.read(columns=wanted + index if wanted is not None else None,
                            use_pandas_metadata=True)
        frame: pd.DataFrame = table.to_pandas()
    except (pa.ArrowException, OSError, ValueError, StopIteration) as exc:
        raise _parquet_error(exc, shown, what) from None
    frame.columns = pd.Index([str(c) for c in frame.columns])
    return frame


def _parquet_error(exc: BaseException, shown: str, what: str) -> DataError:
    text = " ".join(str(exc).split())
    if "magic bytes" in text:
        text = "it is not a Parquet file, or a truncated one (no Parquet footer at its end)"
    return DataError(f"{what}: cannot read {shown} as Parquet: {text}", argument=what)


# ------------------------------------------------------------------------- checks
def _check_names(names: Sequence[str], shown: str, what: str, *,
                 pandas_names: bool = False) -> None:
    """Refuse unnamed and duplicate column headers, naming them (columns from 1)."""
    unnamed = [i + 1 for i, n in enumerate(names)
               if not str(n).strip() or (pandas_names and str(n).startswith("Unnamed: "))]
    if unnamed:
        hint = ("name it" if pandas_names else "an index written by pandas' to_csv? write "
                "the file with index=False, or name the column")
        raise DataError(
            f"{what}: {shown}: {plural(len(unnamed), 'column')} {listing(unnamed)} "
            f"{plural(len(unnamed), 'has')} no name ({hint})", argument=what)
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        seen.setdefault(str(n), []).append(i + 1)
    twice = {n: at for n, at in seen.items() if len(at) > 1}
    if twice:
        where = "; ".join(f"{n!r} in columns {listing(at)}" for n, at in twice.items())
        head = (f"the column name {next(iter(twice))!r} appears" if len(twice) == 1 else
                f"the column names {listing(list(twice), quote=True)} appear")
        if len(twice) == 1:
            where = f"columns {listing(next(iter(twice.values())))}"
        raise DataError(f"{what}: {shown}: {head} more than once ({where}); give each "
                        "column its own name", argument=what)


def _check_expected(names: Sequence[str], expect: Sequence[str] | None, shown: str,
                    what: str) -> None:
    """Every file of a Dask table has the first file's columns, in the same order."""
    if expect is not None and list(names) != list(expect):
        raise DataError(f"{what}: {shown} has the columns {listing(names, most=10, quote=True)}, "
                        f"but the first file has {listing(expect, most=10, quote=True)}",
                        argument=what)


def _check_rows(rows: int, max_rows: int | None, shown: str, what: str) -> None:
    if max_rows is not None and rows > max_rows:
        raise DataError(f"{what}: {shown} has more than {count(max_rows, 'row')}; send at "
                        f"most {max_rows:,}", argument=what)


def _require(frame: pd.DataFrame, names: Sequence[str], shown: str, what: str,
             argument: str) -> None:
    columns = [str(c) for c in frame.columns]
    missing = [n for n in names if n not in columns]
    if missing:
        raise InvalidArgument(
            f"{argument}: no {plural(len(missing), 'column')} {listing(missing, quote=True)} in "
            f"{shown}; the columns are {listing(columns, most=20, quote=True)}",
            argument=argument)


# --------------------------------------------------------------------------- Dask
def read_dask_table(
    pattern: str, target: str, features: Sequence[str] | None = None
) -> tuple[Any, Any]:
    """Dask dataframe ``X`` and series ``y`` from the CSV or Parquet files ``pattern`` matches.

    Each partition (a Parquet file, or its row groups when the file is over 64 MB; at
    most 64 MB of a CSV file) is read on a worker by the same reader as
    :func:`read_table`, with the same checks of names and types; NaN and inf are found
    by the fit's statistics pass, which names the row in the whole table. Here, only
    the file list, the first rows of the first file, the sizes of the files and (for
    Parquet) their footers are read. The columns are ``features`` then ``target``, as
    float64. A streamed fit of these Parquet frames, and the scores' pass of
    ``descend fit --dask``, read the files with pyarrow in their own tasks (one a run of
    row groups) instead of through the frames' partitions.

    Parameters
    ----------
    pattern : str
        A glob such as ``"data/*.parquet"`` (sorted: the row order), or one file.
    target, features
        As for :func:`read_table`.

    Returns
    -------
    X : dask.dataframe.DataFrame
        The feature columns, lazy.
    y : dask.dataframe.Series
        The target column, lazy.

    Notes
    -----
    A CSV file larger than 64 MB is cut at line ends (the header is given to every
    piece): a quoted field holding a line break across a cut is not supported there.
    """
    import dask.dataframe as dd

    files = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
    if glob.has_magic(pattern) and not files:
        raise InvalidArgument(f"path: no file matches {pattern!r}", argument="path")
    kinds = {_format(None, f, f, "path") for f in files}
    if len(kinds) > 1:
        raise InvalidArgument(f"path: {pattern!r} matches both CSV and Parquet files; "
                              "give one kind", argument="path")
    kind = kinds.pop()
    sizes = []
    for f in files:
        os.close(_open_regular(Path(f), f, "path"))
        sizes.append(os.stat(f).st_size)
    reader = _read_csv if kind == "csv" else _read_parquet
    with _opened(files[0], kind, None, "path") as (fh, shown, _):
        sample = reader(fh, shown, "path", nrows=1000)
    names = _features(sample, target, features, files[0])
    cols = [*names, target]
    check_numeric_frame(sample[cols], f"path: {files[0]}")
    pieces: list[tuple[str, int, int, bytes]] = []
    for f, size in zip(files, sizes, strict=True):
        pieces.extend(_pieces(f, size, kind))
    meta = pd.DataFrame({c: pd.Series([], dtype="float64") for c in cols})
    frame = dd.from_map(  # type: ignore[no-untyped-call]
        _read_piece, pieces, kind=kind, columns=cols,
                        header=[str(c) for c in sample.columns], meta=meta,
                        label="descend-read", enforce_metadata=False)
    X, y = frame[names], frame[target]
    if kind == "parquet":  # a streamed fit of these reads the files itself (one task a part)
        from .linear_model import _dask

        _dask.remember_frames(X, y, files, target, names)
    return X, y


def _pieces(path: str, size: int, kind: str) -> list[tuple[str, int, int, bytes]]:
    """``(path, a, b, header)``: Parquet row group ``a`` (-1: all) or CSV bytes ``[a, b)``."""
    if size <= _PIECE_BYTES:
        return [(path, -1, -1, b"")]
    if kind == "parquet":
        with _opened(path, kind, None, "path") as (fh, shown, _):
            pf = _parquet(fh, shown, "path")[0]
            return [(path, g, 0, b"") for g in range(pf.num_row_groups)]
    with open(path, "rb") as fh:
        header = fh.readline()
    cuts = list(range(0, size, _PIECE_BYTES))
    return [(path, a, min(a + _PIECE_BYTES, size), header) for a in cuts]


def _read_piece(piece: tuple[str, int, int, bytes], kind: str, columns: list[str],
                header: list[str]) -> pd.DataFrame:
    """One partition of :func:`read_dask_table`, on a worker: float64 ``columns``.

    The piece's header must be the first file's ``header``; only ``columns`` are parsed.
    """
    path, a, b, head = piece
    if kind == "parquet":
        with _opened(path, kind, None, "path") as (fh, shown, _):
            if a < 0:
                frame = _read_parquet(fh, shown, "path", columns=columns, expect=header)
            else:
                frame = _parquet_row_group(fh, shown, a, columns, header)
    elif a < 0:
        shown = path
        with _opened(path, kind, None, "path") as (fh, _, _):
            frame = _read_csv(fh, shown, "path", columns=columns, expect=header)
    else:
        shown = f"{path} (bytes {a:,} to {b:,})"
        with _opened(path, kind, None, "path") as (fh, _, _):
            block = _csv_block(fh, a, b, head)
        if block.strip() == head.strip():  # every line started in an earlier piece
            return pd.DataFrame({c: pd.Series([], dtype="float64") for c in columns})
        frame = _read_csv(_io.BytesIO(block), shown, "path", columns=columns, expect=header)
    return pd.DataFrame(numeric_columns(frame, columns, name=shown, finite=False),
                        columns=pd.Index(columns))


def _parquet_row_group(fh: IO[bytes], shown: str, group: int, columns: list[str],
                       header: list[str]) -> pd.DataFrame:
    import pyarrow as pa

    pf, data, _ = _parquet(fh, shown, "path")
    _check_names(data, shown, "path", pandas_names=True)
    _check_expected(data, header, shown, "path")
    try:
        frame: pd.DataFrame = pf.read_row_group(group, columns=columns).to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _parquet_error(exc, f"{shown} (row group {group})", "path") from None
    frame.columns = pd.Index([str(c) for c in frame.columns])
    return frame


def _csv_block(fh: IO[bytes], a: int, b: int, header: bytes) -> bytes:
    """The lines of a CSV file that start in bytes ``[a, b)``, after its header line."""
    if a == 0:
        block = fh.read(b)
    else:
        fh.seek(a - 1)
        fh.readline()  # the line that started before a belongs to the piece before
        start = fh.tell()
        block = fh.read(max(b - start, 0)) if start < b else b""
        block = header + block
    if block and not block.endswith(b"\n"):
        block += fh.readline()
    return block


# -------------------------------------------------------------------------- models
#: The ``format`` field of a model file, and the newest ``format_version`` written.
MODEL_FORMAT = "descend-linear-model"
MODEL_VERSION = 2
_MODEL_BYTES = 64 * 2**20
_ESTIMATORS = ("GDRegressor", "GDClassifier")


def save_model(model: GDRegressor | GDClassifier, path: str | os.PathLike[str], *,
               target: str | Sequence[str] | None = None) -> None:
    """Write a fitted :class:`~descend.linear_model.GDRegressor` or ``GDClassifier`` (JSON).

    The file holds the format and its version, the descend version that wrote it,
    the estimator's parameters (those that are JSON values; a schedule or optimizer
    object is left out and comes back as the default), the feature names when the
    model was fitted on a table, the coefficients and intercept (exact: shortest
    round-trip decimals), the iterations and whether the fit converged; for a
    classifier also its ``classes`` (numbers or text, in the order of ``classes_``).
    ``target`` names the column predicted, for readers. The write is atomic.

    Parameters
    ----------
    model : GDRegressor or GDClassifier
        A fitted model.
    path : str or path-like
        The file to write.
    target : str or sequence of str, optional
        The name of the column the model predicts.

    Raises
    ------
    InvalidType
        ``model`` is not a GDRegressor or GDClassifier.
    InvalidArgument
        ``model`` is not fitted, its coefficients are not finite, or a class label is
        not a number or text.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from descend import GDRegressor
    >>> m = GDRegressor().fit(np.array([[0.0], [1.0], [2.0]]), [1.0, 3.0, 5.0])
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "model.json"
    >>> save_model(m, p, target="y")
    >>> back = load_model(p)
    >>> back.predict(np.array([[3.0]])).round(6).tolist(), back.target_name_
    ([7.0], 'y')
    """
    from .linear_model import GDClassifier, GDRegressor

    if not isinstance(model, GDRegressor | GDClassifier):
        raise InvalidType(f"model: expected a fitted GDRegressor or GDClassifier, got "
                          f"{type(model).__name__}", argument="model")
    if not hasattr(model, "coef_"):
        raise InvalidArgument("model: not fitted yet; call fit first", argument="model")
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.asarray(model.intercept_, dtype=np.float64)
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
        raise InvalidArgument("model: its coefficients are not finite (the fit diverged); "
                              "nothing was written", argument="model")
    params, left_out = {}, []
    for key, value in sorted(model.get_params(deep=False).items()):
        if key == "callback":
            continue
        if _is_scalar(value):
            params[key] = value
        else:
            left_out.append(key)
    names = getattr(model, "feature_names_in_", None)
    doc: dict[str, Any] = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_VERSION,
        "descend_version": _version(),
        "estimator": type(model).__name__,
        "params": params,
        "params_left_out": left_out,
        "target": target if target is None or isinstance(target, str) else list(target),
        "features": None if names is None else [str(n) for n in names],
        "n_features": int(model.n_features_in_),
        "coef": coef.tolist(),
        "intercept": intercept.tolist(),
        "n_iter": int(getattr(model, "n_iter_", 0)),
        "converged": bool(getattr(model, "converged_", False)),
    }
    if isinstance(model, GDClassifier):
        doc["classes"] = _class_labels(model.classes_)
    atomic_write(path, json.dumps(doc, indent=2, allow_nan=False) + "\n")


def load_model(path: str | os.PathLike[str]) -> Any:
    """Read a model written by :func:`save_model` (or ``descend fit --save``).

    Every field is checked before anything is built: the format and its version
    (1 and 2 are read), the estimator name, each parameter (a known name, a JSON
    scalar), the feature names (distinct, non-empty), the coefficients and intercept
    (finite numbers of matching shapes). The file must be a regular file of at most
    64 MB.

    Parameters
    ----------
    path : str or path-like
        The model file.

    Returns
    -------
    GDRegressor or GDClassifier
        Fitted: ``coef_``, ``intercept_``, ``n_features_in_``, ``feature_names_in_``
        (when the file names the features), ``n_iter_``, ``converged_``, and
        ``target_name_`` (the target column, or None); a classifier also ``classes_``.

    Raises
    ------
    InvalidArgument
        Not a model file, a newer format, or any field that does not check.
    """
    p = Path(path)
    shown = str(p)
    fd = _open_regular(p, shown, "model")
    with os.fdopen(fd, "rb") as fh:
        raw = fh.read(_MODEL_BYTES + 1)
    if len(raw) > _MODEL_BYTES:
        raise InvalidArgument(f"model: {shown} is over 64 MB; not a descend model file",
                              argument="model")
    doc = _parse_json(raw, shown)
    return _build(doc, shown)


def _parse_json(raw: bytes, shown: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not a number in JSON")

    try:
        return json.loads(raw.decode("utf-8"), parse_constant=refuse)
    except UnicodeDecodeError:
        reason = "not UTF-8 text"
    except RecursionError:
        reason = "nested too deeply"
    except ValueError as exc:  # JSONDecodeError, huge integers, NaN / Infinity
        reason = " ".join(str(exc).split())[:120]
    raise InvalidArgument(f"model: {shown} is not a descend model (not valid JSON: {reason})",
                          argument="model")


def _class_labels(classes: Any) -> list[Any]:
    """``classes_`` as JSON values: whole numbers as integers, other numbers, or text."""
    out: list[Any] = []
    for v in np.asarray(classes).tolist():
        if isinstance(v, bool | int) or (isinstance(v, float) and math.isfinite(v)):
            out.append(int(v) if isinstance(v, bool) or float(v).is_integer() else v)
        elif isinstance(v, str):
            out.append(v)
        else:
            raise InvalidArgument(f"model: class label {_short(v)} is not a number or text",
                                  argument="model")
    return out


def _build(doc: Any, shown: str) -> Any:
    from .linear_model import GDClassifier, GDRegressor

    def bad(what: str) -> InvalidArgument:
        return InvalidArgument(f"model: {shown}: {what}", argument="model")

    if not isinstance(doc, dict) or doc.get("format") != MODEL_FORMAT:
        raise InvalidArgument(f"model: {shown} is not a descend model (written by "
                              "'descend fit --save' or descend.io.save_model)", argument="model")
    version = doc.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise bad(f"format_version: expected a whole number, got {version!r}")
    if version > MODEL_VERSION:
        raise bad(f"written in model format {version} by descend "
                  f"{_short(doc.get('descend_version'))}; this descend ({_version()}) reads "
                  f"formats 1 to {MODEL_VERSION}: upgrade descend")
    params: Any
    estimator: Any
    if version == 1:  # descend fit --save before the library owned the format
        settings = doc.get("settings")
        params = dict(settings) if isinstance(settings, dict) else {}
        params["loss"] = doc.get("loss", "mse")
        estimator = "GDRegressor"
    else:
        params = doc.get("params")
        estimator = doc.get("estimator")
        if not isinstance(params, dict):
            raise bad(f"params: expected an object, got {_short(params)}")
    if estimator not in _ESTIMATORS:
        raise bad(f"estimator: expected one of {listing(_ESTIMATORS, quote=True)}, got "
                  f"{_short(estimator)}")
    cls: Any = GDClassifier if estimator == "GDClassifier" else GDRegressor
    defaults = cls().get_params(deep=False)
    for key, value in params.items():
        if key not in defaults or key == "callback":
            raise bad(f"params: unknown parameter {_short(key)} ({estimator} takes "
                      f"{listing([k for k in defaults if k != 'callback'], most=20)})")
        if not _is_scalar(value) or (isinstance(value, str) and len(value) > 200):
            raise bad(f"params: {key} must be a number, a short string, true, false or "
                      f"null, got {_short(value)}")
    coef = _numbers(doc.get("coef"), "coef", bad)
    intercept = _numbers(doc.get("intercept"), "intercept", bad)
    if coef.ndim not in (1, 2) or coef.shape[-1] == 0:
        raise bad(f"coef: expected a list of numbers (one per feature), got shape {coef.shape}")
    outputs = 1 if coef.ndim == 1 else coef.shape[0]
    if intercept.ndim != (0 if coef.ndim == 1 else 1) or intercept.size != outputs:
        expected = "one number" if coef.ndim == 1 else count(outputs, "number")
        raise bad(f"intercept: expected {expected}, got shape {intercept.shape}")
    p = int(coef.shape[-1])
    features = doc.get("features")
    if features is not None:
        if (not isinstance(features, list) or len(features) != p
                or not all(isinstance(f, str) and f.strip() and len(f) <= 1000
                           for f in features)):
            raise bad(f"features: expected {count(p, 'column name')} (one per coefficient), "
                      f"got {_short(features)}")
        if len(set(features)) != p:
            raise bad("features: a column name appears more than once")
    n_features = doc.get("n_features", p)
    if n_features != p or isinstance(n_features, bool):
        raise bad(f"n_features: {_short(n_features)} does not match the {count(p, 'coefficient')}")
    target = doc.get("target")
    if not (target is None or isinstance(target, str)
            or (isinstance(target, list) and all(isinstance(t, str) for t in target))):
        raise bad(f"target: expected a column name or null, got {_short(target)}")
    n_iter, converged = doc.get("n_iter", 0), doc.get("converged", False)
    if isinstance(n_iter, bool) or not isinstance(n_iter, int) or n_iter < 0:
        raise bad(f"n_iter: expected a whole number >= 0, got {_short(n_iter)}")
    if not isinstance(converged, bool):
        raise bad(f"converged: expected true or false, got {_short(converged)}")
    if estimator == "GDClassifier":
        return _build_classifier(doc, params, coef, intercept, features, n_iter, converged,
                                 target, bad)
    model = GDRegressor(**params)
    return _fitted(model, coef, float(intercept) if intercept.ndim == 0 else intercept, p,
                   features, n_iter, converged, target)


def _fitted(model: Any, coef: Any, intercept: Any, p: int, features: Any, n_iter: int,
            converged: bool, target: Any) -> Any:
    """``model`` with the fitted attributes a model file holds."""
    model.coef_ = coef
    model.intercept_ = intercept
    model.n_features_in_ = p
    if features is not None:
        model.feature_names_in_ = np.asarray(features, dtype=object)
    model.n_iter_ = n_iter
    model.converged_ = converged
    model.target_name_ = target
    return model


def _build_classifier(doc: Any, params: dict[str, Any], coef: Any, intercept: Any,
                      features: Any, n_iter: int, converged: bool, target: Any,
                      bad: Any) -> Any:
    from .linear_model import GDClassifier

    classes = doc.get("classes")
    if (not isinstance(classes, list) or len(classes) < 2
            or not (all(isinstance(c, str) and len(c) <= 1000 for c in classes)
                    or all(_is_scalar(c) and isinstance(c, int | float)
                           and not isinstance(c, bool) for c in classes))):
        raise bad(f"classes: expected a list of at least 2 labels, all numbers or all text, "
                  f"got {_short(classes)}")
    labels = np.asarray(classes)
    if len(np.unique(labels)) != len(classes) or not np.all(labels[:-1] < labels[1:]):
        raise bad("classes: expected distinct labels in increasing order")
    rows = 1 if len(classes) == 2 else len(classes)
    if coef.ndim != 2 or coef.shape[0] != rows:
        raise bad(f"coef: expected {count(rows, 'row')} of coefficients for "
                  f"{count(len(classes), 'class', 'classes')}, got shape {coef.shape}")
    model = GDClassifier(**params)
    model.classes_ = labels
    return _fitted(model, coef, intercept, int(coef.shape[1]), features, n_iter, converged,
                   target)


def _numbers(value: Any, key: str, bad: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    ok = (isinstance(value, int | float) and not isinstance(value, bool)) or (
        isinstance(value, list) and all(
            (isinstance(v, int | float) and not isinstance(v, bool)) or (
                isinstance(v, list) and all(isinstance(w, int | float)
                                            and not isinstance(w, bool) for w in v))
            for v in value))
    if not ok:
        raise bad(f"{key}: expected numbers, got {_short(value)}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (ValueError, OverflowError):  # ragged rows, integers beyond float64
        raise bad(f"{key}: expected rows of equal length of float64 numbers") from None
    if not np.all(np.isfinite(arr)):
        raise bad(f"{key}: expected finite numbers")
    return arr


def _is_scalar(value: Any) -> bool:
    if value is None or isinstance(value, bool | str):
        return True
    if isinstance(value, int):
        return abs(value) < 2**63
    return isinstance(value, float) and math.isfinite(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("descend")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"
