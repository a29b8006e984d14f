r"""Dask statistics and gradient passes for :class:`~descend.linear_model.GDRegressor`.

The only module that imports dask; :mod:`descend.linear_model` imports it when a Dask
collection arrives. :class:`DaskData` offers the operations of
:class:`descend.linear_model._losses.LocalData` over the row blocks of ``X`` and ``y``, so the
estimator, its formulas and :func:`descend.minimize` stay the same:

* ``stats()``: one pass, one task per block returning
  :func:`~descend.linear_model._losses.shifted_sums` about its own first rows' means (or
  none, by :func:`~descend.linear_model._losses.pick_shift`'s rule), moved to the first
  non-empty block's shift as they are added, here when small, else by a tree reduction; the
  same sums flag blocks holding NaN or inf, so validation costs no extra read;
* ``huber(...)``: each gradient sends the parameters to the blocks (persisted on
  the workers), runs :func:`~descend.linear_model._kernels.huber_pass` on each and adds the
  small partial sums here;
* ``on_rows(...)``: a mini-batch is one row block, evaluated where it lives.

Which computation runs it: the default ``distributed`` client when one exists
(``distributed.get_client()``: a ``Client(...)`` created earlier, or the one in a
``with Client(...)`` block), else dask's local threaded scheduler in this process.
Squared losses on the full batch stream the blocks (nothing persisted, so the data
may exceed the cluster's memory); Huber and mini-batches persist ``X`` and ``y``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dask as _dask_module
import dask.array as da
import numpy as np
import pandas as pd
from sklearn.utils.validation import validate_data

from .. import _cache
from .._data import check_finite, check_numeric_frame, is_dask
from .._text import count
from .._types import Array
from ..errors import DataError, InvalidArgument
from . import _losses
from ._dask_tasks import (
    PartBlock,
    _add_sums,
    _aligned,
    _block_sums,
    _class_block,
    _column_block_sums,
    _combine_metrics,
    _head,
    _huber_block,
    _metrics_block,
    _on_parts,
    _predict_block,
    _read_parquet,
    _rows_block,
    _take,
)

__all__ = ["DaskData", "class_sums", "connect", "metrics", "predict", "prepare", "score"]

dask: Any = _dask_module
_da: Any = da  # untyped: its functions are called through Any
_Y = "__descend_target__"
_FAN = 8  # blocks added per task of the tree reduction
_GATHER = 1 << 21  # floats of all blocks' sums fetched as they are (16 MB); more: the tree


def _client() -> Any:
    """The default ``distributed`` client, or None (then dask's local scheduler)."""
    try:
        from distributed import get_client
    except ImportError:  # pragma: no cover - dask without distributed
        return None
    try:
        return get_client()
    except ValueError:
        return None


# ------------------------------------------------------------------- validation
def _is_frame(obj: Any) -> bool:
    return isinstance(getattr(obj, "dtypes", None), pd.Series)


def _as_array(obj: Any, what: str) -> Any:
    """A Dask array of numbers (dataframes column by column, keeping them lazy)."""
    if _is_frame(obj):
        for name, dtype in obj.dtypes.items():
            if not (pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)
                    ) or pd.api.types.is_complex_dtype(dtype):
                raise DataError(f"{what}: column {name!r} is not numeric (dtype {dtype}); "
                                "convert or drop the column", argument=what)
        return obj.astype("float64").to_dask_array()
    if hasattr(obj, "to_dask_array"):  # a Dask series
        dtype = obj.dtype
        if not (pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)):
            raise DataError(f"{what}: the target is not numeric (dtype {dtype})", argument=what)
        return obj.to_dask_array()
    arr = obj if isinstance(obj, da.Array) else _da.asarray(obj)
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{what}: expected numbers, got a Dask array of dtype {arr.dtype}",
                        argument=what)
    return arr


def _stand_in(X: Any, p: int) -> Any:
    """Two rows of ones with X's columns (dtypes are checked already), for scikit-learn."""
    if _is_frame(X):
        return pd.DataFrame(np.ones((2, p)), columns=X.columns)
    return np.ones((2, p))


def prepare(est: Any, X: Any, y: Any, *, reset: bool, persist: bool | None = None) -> DaskData:
    """Check ``X`` and ``y`` lazily (dask-ml's way) and scan them once.

    Dtypes and shapes are checked on the collections' metadata and on a two-row
    stand-in of the same columns and dtypes (which also records
    ``n_features_in_`` and ``feature_names_in_``); ``y`` is rechunked to ``X``'s
    row blocks; NaN and inf are found by the statistics pass. ``persist``: hold the blocks
    on the workers (default: for Huber and mini-batches).
    """
    Xa = _as_array(X, "X")
    if Xa.ndim != 2:
        raise InvalidArgument(f"X: expected a 2-D array, got {Xa.ndim} dimensions", argument="X")
    ya = _as_array(y, "y")
    if _is_frame(X) and is_dask(y) and hasattr(y, "to_frame"):
        # one frame, one read: dask may otherwise split a lone column into other partitions
        both = X.assign(**{_Y: y}).astype("float64").to_dask_array()
        Xa, ya = both[:, :-1], both[:, -1]
    if ya.ndim == 2 and ya.shape[1] == 1:
        ya = ya[:, 0]
    if ya.ndim != 1:
        raise InvalidArgument(f"y: expected one column, got shape {ya.shape}", argument="y")
    p = int(Xa.shape[1])
    validate_data(est, _stand_in(X, p), np.ones(2), reset=reset, dtype=np.float64,
                  y_numeric=True)
    Xa, ya = Xa.astype(np.float64), ya.astype(np.float64)
    if len(Xa.chunks[1]) > 1:
        Xa = Xa.rechunk({1: -1})
    known = not (np.isnan(Xa.shape[0]) or np.isnan(ya.shape[0]))
    if est.batch_size is not None and not known:
        Xa, ya = Xa.compute_chunk_sizes(), ya.compute_chunk_sizes()
        known = True
    if known:
        if Xa.shape[0] != ya.shape[0]:
            raise InvalidArgument(f"y: X has {count(int(Xa.shape[0]), 'row')} but y has "
                                  f"{int(ya.shape[0])}",
                                  argument="y")
        if est.batch_size is not None:
            Xa = Xa.rechunk({0: int(est.batch_size)})
        if ya.chunks[0] != Xa.chunks[0]:
            ya = ya.rechunk({0: Xa.chunks[0]})
    elif Xa.numblocks[0] != ya.numblocks[0]:
        raise InvalidArgument(f"y: X has {Xa.numblocks[0]} row blocks but y has "
                              f"{ya.numblocks[0]}; pass y from the same dataframe or with "
                              "known chunks", argument="y")
    names = [str(c) for c in X.columns] if _is_frame(X) else None
    if persist is None:
        persist = est.loss == "huber" or est.batch_size is not None
    return DaskData(Xa, ya, names, persist=persist, source=_source(X, y))


# ------------------------------------------------------------------------- data
class DaskData:
    """The row blocks of Dask arrays ``X (n, p)`` and ``y (n,)``, scanned once.

    Parameters
    ----------
    X, y : dask.array.Array
        float64, the same row blocks, ``X`` in one column block.
    names : list of str or None
        Column names, for error messages.
    persist : bool
        Hold the blocks in the workers' memory (Huber and mini-batches pass over
        them many times); else stream them (squared losses need one pass).
    source : (parts, features, target) or None
        The Parquet files ``X`` and ``y`` are read from, when known (:func:`_source`):
        streamed passes then read them in their own tasks.
    """

    blocked = True  # a mini-batch is one row block

    def __init__(self, X: Any, y: Any, names: list[str] | None, *, persist: bool,
                 source: _Source | None = None) -> None:
        self.client = _client()
        self.p = int(X.shape[1])
        if persist:  # contiguous blocks on the workers, not views of wider ones
            X = X.map_blocks(_aligned, 2, dtype=np.float64)
            y = y.map_blocks(_aligned, 1, dtype=np.float64)
        if source is not None and not persist:  # streamed Parquet: the tasks read
            xs, ys = _part_blocks(source)
        else:
            xs = list(X.to_delayed(optimize_graph=False).ravel())
            ys = list(y.to_delayed(optimize_graph=False).ravel())
        if persist and self.client is not None:
            futures = self.client.compute(xs + ys)
            xs, ys = futures[: len(xs)], futures[len(xs) :]
        elif persist:
            blocks = dask.compute(*xs, *ys)
            xs, ys = list(blocks[: len(xs)]), list(blocks[len(xs) :])
        self._mode = ("futures" if self.client is not None else "local") if persist else "lazy"
        self.xs, self.ys = xs, ys
        self._scan(names)

    # a task graph three ways: calls run as one graph (streamed), futures (persisted), plain
    # calls (local)
    def _submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._mode == "lazy":
            return _Call(fn, args)
        if self._mode == "futures":
            return self.client.submit(fn, *args, pure=False)
        return fn(*args)

    def _get(self, *objs: Any) -> Any:
        if self._mode == "lazy":
            return _run(objs)
        if self._mode == "futures":
            return self.client.gather(list(objs))
        return objs

    def _tree(self, parts: list[Any]) -> Any:
        p = self.p
        while len(parts) > 1:
            parts = [self._submit(_add_sums, p, *parts[i : i + _FAN])
                     for i in range(0, len(parts), _FAN)]
        return parts[0]

    def _scan(self, names: list[str] | None) -> None:
        """One pass: statistics, rows per block and NaN / inf flags per block.

        One graph, a task a block, none waiting for another: each block's sums about its
        own shift (:func:`_block_sums`; from a Parquet part's columns as pyarrow decodes
        them, :func:`_column_block_sums`), moved to the first block's when added. Small sums
        (all of them under ``_GATHER`` floats) come here as they are, which spares the
        cluster a tree and a task a block for the flags.
        """
        sums = [self._submit(_column_block_sums, dataclasses.replace(xb, which=2))
                if isinstance(xb, PartBlock) else self._submit(_block_sums, xb, yb)
                for xb, yb in zip(self.xs, self.ys, strict=True)]
        p = self.p
        if len(sums) * (4 + 3 * p + p * p) <= _GATHER:
            got = self._get(*sums)
            total = _add_sums(p, *got)
            heads = [_head(s, p) for s in got]
        else:
            total, *heads = self._get(self._tree(sums), *[self._submit(_head, s, p)
                                                          for s in sums])
        lengths = np.array([int(h[0]) for h in heads], dtype=np.intp)
        self.starts = np.concatenate([[0], np.cumsum(lengths)])
        self.n = int(self.starts[-1])
        if self.n == 0:
            raise DataError("X: no rows", argument="X")
        for k, h in enumerate(heads):
            if h[1:].any():  # find the rows in the first flagged block only
                Xk, yk = self._get(self._submit(_take, self.xs[k], self.ys[k], slice(None)))[0]
                check_finite(Xk, "X", names, offset=int(self.starts[k]))
                check_finite(yk, "y", offset=int(self.starts[k]))
        self._stats = _losses.stats_from_sums(total[p + 1 :], total[:p], float(total[p]))

    def stats(self) -> _losses.Stats:
        """Statistics of all rows (from the scan)."""
        return self._stats

    def take(self, rows: Any) -> tuple[Array, Array]:
        """``(X[rows], y[rows])`` here, for ``rows`` a slice of all rows or sorted indices."""
        idx = np.arange(self.n) if isinstance(rows, slice) else np.asarray(rows)
        parts = []
        for k in range(len(self.xs)):
            lo, hi = self.starts[k], self.starts[k + 1]
            local = idx[(idx >= lo) & (idx < hi)] - lo
            if local.size:
                parts.append(self._submit(_take, self.xs[k], self.ys[k], local))
        got = self._get(*parts)
        return (np.concatenate([g[0] for g in got]).reshape(-1, self.p),
                np.concatenate([g[1] for g in got]))

    def huber(self, sc: _losses.Scaling, eps: float, alpha: float) -> _losses.Eval:
        """The Huber closure; each call is one pass over the persisted blocks."""
        p = self.p

        def sums(w: Array, c: float) -> tuple[Array, float, float]:
            parts = self._get(*[self._submit(_huber_block, xb, yb, w, c, eps)
                                for xb, yb in zip(self.xs, self.ys, strict=True)])
            s = np.sum(np.stack(parts), axis=0)
            return s[:p], float(s[p]), float(s[p + 1])

        return _losses.huber_from_pass(sums, self.n, sc, alpha)

    def on_rows(
        self, sc: _losses.Scaling, loss: str, eps: float, alpha: float
    ) -> Callable[[Array, Any], tuple[float, Array]]:
        """A mini-batch's value and gradient, ``batch`` the slice of one row block."""
        block = {int(s): k for k, s in enumerate(self.starts[:-1])}

        def evaluate(theta: Array, batch: Any) -> tuple[float, Array]:
            k = block[int(batch.start)]
            out = self._get(self._submit(_rows_block, self.xs[k], self.ys[k], theta, sc, loss,
                                         eps, alpha, self.n))[0]
            return float(out[0]), np.asarray(out[1])

        return evaluate


class _Call:
    """``fn(*args)``, not run yet: streamed data's tasks, run by :func:`_run` as one graph.
    ``args`` may hold other calls (their results), :class:`PartBlock` (read in the task) and
    ``dask.delayed`` blocks of ``X`` and ``y``."""

    __slots__ = ("args", "fn")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args


def _run(calls: Sequence[Any]) -> list[Any]:
    """The results of ``calls`` (and of the calls they take), computed as one task graph.

    The graph is written out here, a task a call, instead of through ``dask.delayed``,
    whose per-call bookkeeping (walking and tokenizing the arguments) cost about a
    millisecond a task of the client's time, which a two-core machine takes from its
    workers. Runs on the scheduler ``dask.compute`` would use (the default client if any).
    """
    from dask.base import get_scheduler
    from dask.delayed import Delayed
    from dask.highlevelgraph import HighLevelGraph
    from dask.threaded import get as threaded_get

    name = f"descend-pass-{uuid.uuid4().hex}"
    tasks: dict[Any, Any] = {}
    keys: dict[int, Any] = {}
    deps: dict[Any, Any] = {}

    def key(call: _Call) -> Any:
        k = keys.get(id(call))
        if k is None:
            args: list[Any] = []
            for a in call.args:
                if isinstance(a, _Call):
                    a = key(a)
                elif isinstance(a, Delayed):
                    deps[a.key] = a
                    a = a.key
                elif isinstance(a, (list, dict)) or (  # would read as a task or a key
                        isinstance(a, tuple) and not all(isinstance(v, str) for v in a)):
                    raise TypeError(f"{call.fn.__name__}: a task argument is a {type(a).__name__}")
                args.append(a)
            part = any(isinstance(a, PartBlock) for a in call.args)
            k = (name, len(tasks))
            tasks[k] = (_on_parts, call.fn, *args) if part else (call.fn, *args)
            keys[id(call)] = k
        return k

    wanted = [key(c) for c in calls]
    graph: Any = (HighLevelGraph.from_collections(name, tasks, dependencies=list(deps.values()))
                  if deps else tasks)
    get = get_scheduler() or threaded_get  # type: ignore[no-untyped-call]
    return list(get(graph, wanted))


# ---------------------------------------------------------------- predict, score
def predict(est: Any, X: Any) -> Any:
    """``X @ coef_ + intercept_`` as a lazy Dask array, one block per row block of X."""
    Xa = _as_array(X, "X")
    validate_data(est, _stand_in(X, int(Xa.shape[1])), "no_validation", reset=False,
                  dtype=np.float64)
    if len(Xa.chunks[1]) > 1:
        Xa = Xa.rechunk({1: -1})
    return Xa.map_blocks(_predict_block, np.asarray(est.coef_), float(est.intercept_),
                         drop_axis=1, dtype=np.float64)


def score(est: Any, X: Any, y: Any) -> float:
    """R^2 (as scikit-learn's ``r2_score``), its sums computed on the cluster.

    The same pass as :func:`metrics`: a dataframe ``X`` and series ``y`` are read as one
    frame, so their partitions cannot disagree. NaN (as scikit-learn) for fewer than two
    rows.
    """
    r2, _, _ = metrics(est, X, y)
    return math.nan if r2 is None else r2


def metrics(est: Any, X: Any, y: Any) -> tuple[float | None, float, int]:
    """R^2, RMSE and the number of rows of ``est``'s predictions of ``y``, in one pass.

    A dataframe ``X`` and series ``y`` are read as one frame (each block once); R^2
    uses dask's blockwise variance (per-block means and squares, combined stably).
    Parquet read by :func:`parquet_arrays` or :func:`descend.io.read_dask_table` is read
    by the pass's own tasks, one a part. R^2 is None for fewer than two rows.
    """
    source = _source(X, y)
    if source is not None:
        validate_data(est, _stand_in(X, len(source[1])), "no_validation", reset=False,
                      dtype=np.float64)
        coef, intercept = np.asarray(est.coef_, dtype=np.float64), float(est.intercept_)
        xs, ys = _part_blocks(source)
        n, res, tot = _combine_metrics(_run([_Call(_metrics_block, (xb, yb, coef, intercept))
                                             for xb, yb in zip(xs, ys, strict=True)]))
        return _r2_rmse(res, tot, n)
    if _is_frame(X) and is_dask(y) and hasattr(y, "to_frame"):
        # one array from one frame: read separately, X and y may be cut into different
        # partitions (dask fuses the small partitions of a one-column read)
        validate_data(est, _stand_in(X, len(X.columns)), "no_validation", reset=False,
                      dtype=np.float64)
        both = X.assign(**{_Y: y}).astype("float64").to_dask_array()
        Xa, ya = both[:, :-1], both[:, -1]
        if len(Xa.chunks[1]) > 1:
            Xa = Xa.rechunk({1: -1})
        pred = Xa.map_blocks(_predict_block, np.asarray(est.coef_), float(est.intercept_),
                             drop_axis=1, dtype=np.float64)
    else:
        pred = predict(est, X)
        ya = _as_array(y, "y").astype(np.float64)
        if ya.ndim == 2:
            ya = ya[:, 0]
    if not np.isnan(ya.shape[0]) and not np.isnan(pred.shape[0]) and ya.chunks != pred.chunks:
        ya = ya.rechunk(pred.chunks)
    res, var, n = dask.compute(((ya - pred) ** 2).sum(), ya.var(), _da.ones_like(ya).sum())
    return _r2_rmse(float(res), float(var) * int(n), int(n))


def class_sums(est: Any, X: Any, y: Any) -> tuple[int, float, float, int]:
    """``(rows, correct, sum of -log p(label), unknown labels)`` of a fitted classifier over
    a Dask frame ``X`` and series ``y``, in one pass (Parquet from
    :func:`descend.io.read_dask_table`: the pass's own tasks read the files)."""
    features = tuple(str(c) for c in X.columns)
    source = _frame_source(X, y)
    if source is not None:
        xs, ys = _part_blocks(source)
        blocks = _run([_Call(_class_block, (xb, yb, est, features))
                       for xb, yb in zip(xs, ys, strict=True)])
    else:
        key = _Y

        def part(frame: Any) -> Any:
            out = _class_block(frame[list(features)].to_numpy(dtype=np.float64),
                               frame[key].to_numpy(), est, features)
            return pd.DataFrame([out], columns=["n", "hit", "nll", "bad"])

        meta = pd.DataFrame({c: pd.Series([], dtype="f8") for c in ("n", "hit", "nll", "bad")})
        sums = X.assign(**{key: y}).map_partitions(part, meta=meta).sum().compute()
        blocks = [sums.to_numpy(dtype=np.float64)]
    n, hit, nll, bad = np.sum(np.asarray(blocks, dtype=np.float64).reshape(-1, 4), axis=0)
    return int(n), float(hit), float(nll), int(bad)


def _r2_rmse(res: float, tot: float, n: int) -> tuple[float | None, float, int]:
    """R^2 (None under two rows), RMSE and ``n`` from the sums of squared residuals and of
    squares of ``y`` about its mean."""
    rmse = math.sqrt(res / n) if n else math.nan
    if n < 2:
        return None, rmse, n
    r2 = 1.0 - res / tot if tot > 0 else (1.0 if res == 0 else 0.0)
    return r2, rmse, n


# ------------------------------------------------------------------------- CLI
# ------------------------------------------------------------------ Parquet by pyarrow
# Dask arrays straight from pyarrow, one read per part: the path issue 17 asks the GLM
# fits to read through (measured in benchmarks/bench_dask.py against decoding). Frames from
# descend.io.read_dask_table (``descend fit --dask``) are noted too, and read the same way.

#: Rows a reading task aims at: a file's row groups are read together up to this many.
ROWS_PER_TASK = 65_536


@dataclass(frozen=True)
class ParquetPart:
    """What one task reads: a file, or some of its row groups, and how many rows."""

    path: str
    row_groups: tuple[int, ...] | None
    rows: int


#: ``(parts, features, target)``: the Parquet a pair of collections is exactly read from
_Source = tuple[tuple[ParquetPart, ...], tuple[str, ...], str]


def plan_parquet(
    files: Sequence[str], target: str, features: Sequence[str] | None = None, *,
    strict: bool = False
) -> tuple[list[ParquetPart], list[str]]:
    """The reading tasks and feature names, from the files' footers alone (no data read).

    Checks, naming the file: that each is Parquet, holds the target and the
    features, and that those columns are numeric (a non-numeric one is shown by
    :func:`descend._data.check_numeric_frame` on the first rows of that file). ``strict``:
    also that every file has rows and the first file's columns, in its order.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts: list[ParquetPart] = []
    names: list[str] | None = None
    first: list[str] | None = None
    for f in files:
        try:
            meta = pq.read_metadata(f)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"path: cannot read {f!r} as Parquet: {exc}", argument="path") from None
        schema = meta.schema.to_arrow_schema()
        columns = [str(c) for c in schema.names]
        if names is None:
            names = _pick_columns(columns, target, features, f)
            first = columns
        if strict and (columns != first or len(set(columns)) != len(columns)
                       or not meta.num_rows):
            raise DataError(f"path: {f} has no rows, or other columns than the first file",
                            argument="path")
        missing = [c for c in (*names, target) if c not in columns]
        if missing:
            raise DataError(f"path: {f} has no column {missing[0]!r}, which the first file "
                            f"has; columns are {', '.join(columns)}", argument="path")
        for c in (*names, target):
            kind = schema.field(c).type
            if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                    or pa.types.is_boolean(kind) or pa.types.is_null(kind)):
                head = next(pq.ParquetFile(f).iter_batches(batch_size=5, columns=[c]), None)
                if head is not None:
                    check_numeric_frame(head.to_pandas(), f)
                raise DataError(f"{f}: column {c!r} is not numeric ({kind}); convert or "
                                "drop the column", argument="path")
        parts.extend(_split(f, [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]))
    assert names is not None
    if not any(part.rows for part in parts):
        raise DataError("X: no rows", argument="X")
    return [part for part in parts if part.rows], names


def _pick_columns(columns: list[str], target: str, features: Sequence[str] | None,
                  where: str) -> list[str]:
    if target not in columns:
        raise InvalidArgument(f"target: no column {target!r} in {where}; columns are "
                              f"{', '.join(columns)}", argument="target")
    names = [c for c in columns if c != target] if features is None else [str(c) for c in
                                                                         features]
    missing = [c for c in names if c not in columns]
    if missing:
        raise InvalidArgument(f"features: no column {missing[0]!r} in {where}; columns are "
                              f"{', '.join(columns)}", argument="features")
    return names


def _split(path: str, groups: list[int]) -> list[ParquetPart]:
    """One task per file, or per run of row groups of about ``ROWS_PER_TASK`` rows."""
    if sum(groups) <= 2 * ROWS_PER_TASK or len(groups) == 1:
        return [ParquetPart(path, None, sum(groups))]
    parts, run, rows = [], [], 0
    for i, r in enumerate(groups):
        run.append(i)
        rows += r
        if rows >= ROWS_PER_TASK:
            parts.append(ParquetPart(path, tuple(run), rows))
            run, rows = [], 0
    if run:
        parts.append(ParquetPart(path, tuple(run), rows))
    return parts


def parquet_arrays(parts: Sequence[ParquetPart], names: list[str], target: str) -> tuple[Any,
                                                                                        Any]:
    """Dask arrays ``X (n, p)`` and ``y (n,)``: one pyarrow read per part, shared by both.

    Row counts come from the footers, so the chunks are known without a pass. The graph is
    three tasks a part (the read, and a chunk of ``X`` and one of ``y`` taken from it),
    with no concatenation layers: a streamed fit adds one task a part for its statistics.
    """
    import hashlib
    import operator

    from dask.highlevelgraph import HighLevelGraph

    p = len(names)
    stamps = {path: _stamp(path) for path in dict.fromkeys(part.path for part in parts)}
    # a digest of the plain text, not dask's tokenize (0.1 s for 382 parts: a walk of
    # every tuple): the same parts, columns and file stamps give the same names
    token = hashlib.sha256(repr(([(part.path, part.row_groups, part.rows, stamps[part.path])
                                  for part in parts], list(names), target)).encode()
                           ).hexdigest()[:32]
    read, xname, yname = (f"read-parquet-{token}", f"parquet-x-{token}",
                          f"parquet-y-{token}")
    reads: dict[Any, Any] = {(read, k): (_read_parquet, part.path,
                         None if part.row_groups is None else list(part.row_groups),
                         list(names), target)
             for k, part in enumerate(parts)}
    ks = range(len(parts))
    xl: dict[Any, Any] = {(xname, k, 0): (operator.getitem, (read, k), 0) for k in ks}
    yl: dict[Any, Any] = {(yname, k): (operator.getitem, (read, k), 1) for k in ks}
    rows = tuple(int(part.rows) for part in parts)
    xg = HighLevelGraph({read: reads, xname: xl}, {read: set(), xname: {read}})
    yg = HighLevelGraph({read: reads, yname: yl}, {read: set(), yname: {read}})
    X = _da.Array(xg, xname, chunks=(rows, (p,)), dtype=np.float64)
    y = _da.Array(yg, yname, chunks=(rows,), dtype=np.float64)
    with _PARQUET_LOCK:
        _note(_PARQUET, X.name, (y.name, read, tuple(parts), tuple(names), target))
    return X, y


def _note(registry: dict[str, Any], key: str, entry: Any) -> None:
    """``registry[key] = entry`` as its newest entry, the oldest dropped past
    ``_PARQUET_KEEP`` (the caller holds ``_PARQUET_LOCK``)."""
    registry.pop(key, None)
    while len(registry) >= _PARQUET_KEEP:
        registry.pop(next(iter(registry)))
    registry[key] = entry


def _stamp(path: str) -> tuple[int, int]:
    """A file's size and modification time (a rewritten file makes other arrays)."""
    import os

    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _parquet_source(X: Any, y: Any) -> _Source | None:
    """``(parts, features, target)`` when ``X`` and ``y`` are exactly the arrays
    :func:`parquet_arrays` made (same names, graphs still the reads: not persisted, sliced
    or computed on), else None."""
    with _PARQUET_LOCK:
        entry = _PARQUET.get(X.name)
    if entry is None:
        return None
    yname, read, parts, features, target = entry
    rows = tuple(int(q.rows) for q in parts)
    layers = getattr(X.dask, "layers", {})
    ylayers = getattr(y.dask, "layers", {})
    if (y.name != yname or set(layers) != {read, X.name} or set(ylayers) != {read, yname}
            or tuple(X.chunks[0]) != rows or tuple(y.chunks[0]) != rows):
        return None
    return parts, features, target


def remember_frames(X: Any, y: Any, files: Sequence[str], target: str,
                    features: Sequence[str]) -> None:
    """Note that the Dask frame ``X`` and series ``y`` are the columns ``features`` and
    ``target`` of the Parquet ``files`` (:func:`descend.io.read_dask_table`): a streamed fit
    of exactly these (same names: no column, row or value changed since; the files' sizes
    and times unchanged) reads the files in its own tasks, as for :func:`parquet_arrays`.

    Only a speed-up: files the frames' own reads might refuse (no rows, other columns than
    the first file, anything :func:`plan_parquet` refuses) are not noted, and a note
    of the same names is dropped, so those reads report them.
    """
    xname, yname = getattr(X, "_name", None), getattr(y, "_name", None)
    if xname is None or yname is None:
        return
    try:
        parts, names = plan_parquet(files, target, features, strict=True)
        stamps = tuple(_stamp(f) for f in files)
    except Exception:  # any refusal: the frames' own reads say what is wrong
        parts, names = [], []
    with _PARQUET_LOCK:
        if parts and list(names) == list(features):
            _note(_FRAMES, xname, (yname, tuple(parts), tuple(names), target, tuple(files),
                                   stamps))
        else:
            _FRAMES.pop(xname, None)


def _source(X: Any, y: Any) -> _Source | None:
    """``(parts, features, target)`` of the Parquet files ``X`` and ``y`` are exactly read
    from: arrays of :func:`parquet_arrays` or frames of :func:`descend.io.read_dask_table`
    (:func:`remember_frames`); else None."""
    if isinstance(X, da.Array) and isinstance(y, da.Array):
        return _parquet_source(X, y)
    return _frame_source(X, y)


def _part_blocks(source: _Source) -> tuple[list[PartBlock], list[PartBlock]]:
    """The blocks of ``X`` and of ``y`` that tasks read themselves, a pair a part."""
    parts, features, target = source
    return ([PartBlock(q.path, q.row_groups, features, target, 0) for q in parts],
            [PartBlock(q.path, q.row_groups, features, target, 1) for q in parts])


def _frame_source(X: Any, y: Any) -> _Source | None:
    """``(parts, features, target)`` when ``X`` and ``y`` are frames :func:`remember_frames`
    noted and the files are unchanged since, else None."""
    if not (_is_frame(X) and is_dask(y)):
        return None
    with _PARQUET_LOCK:
        entry = _FRAMES.get(str(getattr(X, "_name", "")))
    if entry is None or getattr(y, "_name", None) != entry[0]:
        return None
    _, parts, features, target, files, stamps = entry
    try:
        if tuple(_stamp(f) for f in files) != stamps:
            return None
    except OSError:
        return None
    return parts, features, target


#: ``X``'s name -> ``(y's name, the read layer, parts, features, target)`` of the arrays
#: :func:`parquet_arrays` made: a streamed fit of exactly these arrays reads the parts in
#: its own tasks (:class:`~descend.linear_model._dask_tasks.PartBlock`). Only a speed-up:
#: emptied (``clear_caches``), a fit takes the general path to the same result.
_PARQUET: dict[str, tuple[str, str, tuple[ParquetPart, ...], tuple[str, ...], str]] = {}
#: The same for frames from :func:`descend.io.read_dask_table`: ``X``'s name -> ``(y's
#: name, parts, features, target, files, the files' sizes and times)``.
_FRAMES: dict[str, tuple[str, tuple[ParquetPart, ...], tuple[str, ...], str, tuple[str, ...],
                         tuple[tuple[int, int], ...]]] = {}
_PARQUET_KEEP = 64
_PARQUET_LOCK = threading.Lock()


def _clear(registry: dict[str, Any]) -> Callable[[], None]:
    def clear() -> None:
        with _PARQUET_LOCK:
            registry.clear()

    return clear


_cache.register("Parquet datasets read by Dask", _clear(_PARQUET))
_cache.register("Parquet frames read by Dask", _clear(_FRAMES))


@contextlib.contextmanager
def connect(
    scheduler: str | None, workers: int | None, memory_limit: str | None
) -> Iterator[Any]:
    """A client on ``scheduler``, or on a ``LocalCluster`` started and closed here."""
    import distributed

    if memory_limit is not None and not scheduler:
        _check_memory_limit(memory_limit)
    Client: Any = distributed.Client
    LocalCluster: Any = distributed.LocalCluster
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    # the cluster's own log lines (a failed task's traceback, heartbeats to a closed
    # scheduler) are not the user's: the error reaches them as one line from the client
    with LocalCluster(n_workers=workers, threads_per_worker=1,
                      memory_limit=memory_limit or "auto", dashboard_address=":0",
                      silence_logs=logging.CRITICAL) as cluster:
        with Client(cluster) as client:
            yield client


#: The least memory per local worker: one that has read a Parquet block holds about
#: 250 MB (dask, pandas, pyarrow), and Dask pauses a worker at 80 % of its limit, so a
#: smaller limit would leave every worker paused and the fit waiting for ever.
MIN_WORKER_MEMORY = 500_000_000


def _check_memory_limit(memory_limit: str) -> None:
    from dask.utils import parse_bytes

    text = str(memory_limit).strip()
    if text.lower() == "auto":
        return
    try:
        size = parse_bytes(text)
    except (ValueError, TypeError):
        raise InvalidArgument(f"--memory-limit: expected a size such as 2GB or auto, got "
                              f"{memory_limit!r}", argument="--memory-limit") from None
    if size < MIN_WORKER_MEMORY:
        raise InvalidArgument(
            f"--memory-limit: at least 500MB per worker, got {memory_limit!r}: a worker "
            "that has read one block holds about 250 MB and Dask pauses it at 80 % of its "
            "limit; use fewer workers with more memory each", argument="--memory-limit")
