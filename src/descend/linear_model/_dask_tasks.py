"""The functions Dask workers run for :mod:`descend.linear_model._dask`, and nothing else.

Kept apart so that a worker unpickling a task imports NumPy and
:mod:`descend.linear_model._losses` only (not scikit-learn, SymPy, pandas' I/O or numba, which
:mod:`descend.linear_model._dask` and the package's other modules bring): an idle worker stays
small, which matters under a tight ``memory_limit`` (Dask pauses a worker past 80 %).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._types import Array
from . import _losses


def _aligned(a: Any, ndim: int) -> Array:
    """A float64, aligned, C-ordered block (blocks from the cluster may arrive unaligned)."""
    a = np.asarray(a, dtype=np.float64)
    if ndim == 1:
        a = a.reshape(-1)
    return np.require(a, requirements=["A", "C"])


def _in_pool() -> bool:
    """Whether this task runs on a pool's thread (a Dask worker's, or the threaded
    scheduler's), not the main thread: then other tasks run beside it, and its kernel
    passes take one thread (numba's own threads in each task of 2 workers made a pass
    over 2,000,000 x 20 rows take 0.42 s, against 0.05 s). On the main thread (blocks in
    memory run one after another, or the synchronous scheduler) they take every core."""
    return threading.current_thread() is not threading.main_thread()


# ------------------------------------------------------------- tasks (on the workers)
#: Rows of a block whose means shift its statistics (:func:`_block_sums`)
_HEAD = 256


def _block_sums(Xb: Any, yb: Any) -> Array:
    """``[c (p), cy, shifted_sums about (c, cy)]``: the block's statistics about its own
    shift (:func:`~descend.linear_model._losses.pick_shift` of its first ``_HEAD`` rows),
    so that no block waits for another's (a shift computed by one task made every other
    task depend on the worker holding it: 234 blocks on one worker, 149 on the other).
    :func:`_add_sums` moves them to a common shift."""
    X, y = _aligned(Xb, 2), _aligned(yb, 1)
    c, cy = _losses.pick_shift(X, y, _HEAD)
    return np.concatenate([c, [cy], _losses.shifted_sums(X, y, c, cy)])


def _column_block_sums(columns: Sequence[Array]) -> Array:
    """:func:`_block_sums` of a Parquet part given as its columns (``y`` last), by
    :func:`~descend.linear_model._losses.column_sums`: the part is never copied into rows."""
    p = len(columns) - 1
    head = np.empty((min(_HEAD, columns[0].shape[0]), p))
    for j in range(p):
        head[:, j] = columns[j][: head.shape[0]]
    c, cy = _losses.pick_shift(head, columns[p], _HEAD)
    return np.concatenate([c, [cy], _losses.column_sums(columns, c, cy)])


def _add_sums(p: int, *parts: Array) -> Array:
    """The blocks' :func:`_block_sums` added, about the shift of the first block with rows,
    in the same layout. (In memory the shift comes from the first 4,096 rows of all of ``X``:
    the statistics agree to rounding, not bit for bit.)"""
    first = next((s for s in parts if s[p + 1] > 0), parts[0])
    to, to_y = first[:p], float(first[p])
    total = np.zeros(parts[0].shape[0] - p - 1)
    for s in parts:
        if s[p + 1] > 0:
            total += _losses.recentre_sums(s[p + 1 :], s[:p], float(s[p]), to, to_y)
    return np.concatenate([to, [to_y], total])


def _head(sums: Array, p: int) -> Array:
    """Rows of the block, then 1.0 for each column of X (and y, last) whose sums (of
    :func:`_block_sums`) are not finite."""
    s = sums[p + 1 :]
    flags = ~np.isfinite(np.concatenate([sums[:p] + s[3 : 3 + p], [sums[p] + s[1]]]))
    return np.concatenate([[s[0]], flags.astype(np.float64)])


def _take(Xb: Any, yb: Any, rows: Any) -> tuple[Array, Array]:
    return _aligned(Xb, 2)[rows], _aligned(yb, 1)[rows]


def _huber_block(Xb: Any, yb: Any, w: Array, c: float, eps: float) -> Array:
    from ._kernels import huber_pass  # numba: loaded on the workers for huber only

    G, psi, rho = huber_pass(_aligned(Xb, 2), _aligned(yb, 1), w, c, eps,
                             serial=_in_pool())
    return np.concatenate([G, [psi, rho]])


def _rows_block(Xb: Any, yb: Any, theta: Array, sc: _losses.Scaling, loss: str, eps: float,
                alpha: float, n: int) -> tuple[float, Array]:
    X, y = _aligned(Xb, 2), _aligned(yb, 1)
    return _losses.on_rows(X, y, sc, loss, eps, alpha, n)(theta, slice(0, X.shape[0]))


def _predict_block(Xb: Any, coef: Array, intercept: float) -> Array:
    return np.asarray(_aligned(Xb, 2) @ coef + intercept, dtype=np.float64)


def _metrics_block(Xb: Any, yb: Any, coef: Array, intercept: float) -> Array:
    """``[rows, sum of squared residuals, mean of y, sum of squares of y about it]``."""
    X, y = _aligned(Xb, 2), _aligned(yb, 1)
    if not y.shape[0]:
        return np.zeros(4)
    r = y - (X @ coef + intercept)
    mean = float(y.mean())
    d = y - mean
    return np.array([float(y.shape[0]), float(r @ r), mean, float(d @ d)])


def _combine_metrics(blocks: Any) -> tuple[int, float, float]:
    """``(rows, sum of squared residuals, sum of squares of y about its mean)`` of all
    blocks: the means and squares combined pairwise (Chan et al.), as stable as one pass."""
    n = sse = mean = m2 = 0.0
    for nb, sb, mb, qb in blocks:
        if nb:
            total = n + nb
            delta = mb - mean
            mean += delta * nb / total
            m2 += qb + delta * delta * n * nb / total
            n, sse = total, sse + sb
    return int(n), sse, m2


def _class_block(Xb: Any, yb: Any, model: Any, features: tuple[str, ...]) -> Array:
    """``[rows, correct, sum of -log p(label) over known labels, unknown labels]`` of a
    fitted classifier on a block (``features``: the columns' names, as it was fitted)."""
    truth = np.asarray(yb).reshape(-1)
    if not truth.shape[0]:
        return np.zeros(4)
    X: Any = _aligned(Xb, 2)
    if getattr(model, "feature_names_in_", None) is not None:
        import pandas as pd

        X = pd.DataFrame(X, columns=list(features), copy=False)
    classes = np.asarray(model.classes_)
    idx = np.searchsorted(classes, truth).clip(0, len(classes) - 1)
    known = classes[idx] == truth
    logp = model.predict_log_proba(X)
    hit = float(np.sum(model.predict(X) == truth))
    nll = float(-logp[np.arange(truth.shape[0]), idx][known].sum())
    return np.array([float(truth.shape[0]), hit, nll, float((~known).sum())])


# ------------------------------------------------------------------ reading Parquet
_TILE = 2048  # rows copied at a time from the columns: the tile stays in cache


@dataclass(frozen=True)
class PartBlock:
    """A block a task reads itself from one Parquet part: ``X`` (``which=0``), ``y`` (1), or
    its columns, the features' then the target's (2: a list of 1-D arrays)."""

    path: str
    row_groups: tuple[int, ...] | None
    features: tuple[str, ...]
    target: str
    which: int

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        """Its fields as a few strings: a client names a graph by tokenizing its tasks, and
        the generic walk over a dataclass's fields took 0.1 s for 382 parts of 20 columns."""
        return ("PartBlock", self.path, repr(self.row_groups), repr(self.features),
                self.target, self.which)


def _on_parts(fn: Any, *args: Any) -> Any:
    """``fn(*args)`` with each :class:`PartBlock` replaced by its data, each part read once:
    a streamed pass reads and uses a block in one task, so the block is never a stored
    result (which a worker under a tight memory limit spills to disk and reads back)."""
    columns: dict[Any, list[Array]] = {}
    blocks: dict[Any, tuple[Array, Array]] = {}
    as_columns = set()
    real: list[Any] = []
    for a in args:
        if isinstance(a, PartBlock):
            key = (a.path, a.row_groups)
            if key not in columns:
                groups = None if a.row_groups is None else list(a.row_groups)
                columns[key] = _read_columns(a.path, groups, [*a.features, a.target])
            if a.which == 2:
                as_columns.add(key)
                real.append(columns[key])
                continue
            if key not in blocks:
                blocks[key] = _as_rows(columns[key])
            real.append(blocks[key][a.which])
        else:
            real.append(a)
    for key in set(columns) - as_columns:  # copied into rows: not held while fn runs
        del columns[key]
    return fn(*real)


def _read_columns(path: str, row_groups: list[int] | None, columns: list[str]) -> list[Array]:
    """The ``columns`` of one Parquet file (or some of its row groups), decoded by pyarrow
    on this thread, as 1-D float64 arrays (a null becomes NaN, which the statistics
    pass then reports with its row)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        table = (pf.read(columns=columns, use_threads=False) if row_groups is None
                 else pf.read_row_groups(row_groups, columns=columns, use_threads=False))
        return [np.asarray(table.column(j).to_numpy(zero_copy_only=False), dtype=np.float64)
                for j in range(len(columns))]
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        from ..errors import DataError

        raise DataError(f"path: cannot read {path!r} as Parquet: {exc}",
                        argument="path") from None


def _as_rows(columns: list[Array]) -> tuple[Array, Array]:
    """``(X, y)``, C-ordered, from the features' columns and the target's (last): copied
    row tile by row tile into ``X`` (a strided write of whole columns would miss the cache
    on every row)."""
    p = len(columns) - 1
    n = columns[0].shape[0]
    X = np.empty((n, p))
    for r in range(0, n, _TILE):
        tile = X[r : r + _TILE]
        for j in range(p):
            tile[:, j] = columns[j][r : r + _TILE]
    return X, np.require(columns[p], requirements=["A", "C", "W", "O"])


def _read_parquet(
    path: str, row_groups: list[int] | None, features: list[str], target: str
) -> tuple[Array, Array]:
    """``(X, y)`` of one Parquet file (or some of its row groups): C-ordered float64."""
    return _as_rows(_read_columns(path, row_groups, [*features, target]))


def _decode_sum(
    path: str, row_groups: list[int] | None, features: list[str], target: str
) -> float:
    """Decode only (the floor a fit on Parquet is measured against): pyarrow's decode of
    the columns, and their sums (so that every value is read once)."""
    return float(sum(c.sum() for c in _read_columns(path, row_groups, [*features, target])))


def _glm_block(kind: str, Xb: Any, yb: Any, w: Array, c: Any) -> tuple[Any, ...]:
    """One GLM kernel pass over a block (numba: loaded on the workers for GLM fits only),
    on the task's thread when it runs in a pool (:func:`_in_pool`)."""
    from . import _glm_kernels

    X, y = _aligned(Xb, 2), _aligned(yb, 1)
    serial = _in_pool()
    if kind == "softmax":
        out: tuple[Any, ...] = _glm_kernels.softmax_pass(X, y.astype(np.int64), None, w, c,
                                                         serial=serial)
    else:
        out = getattr(_glm_kernels, f"{kind}_pass")(X, y, None, w, c, serial=serial)
    return out


def _ylogy_block(yb: Any) -> float:
    y = _aligned(yb, 1)
    pos = y > 0
    return float(np.sum(y[pos] * np.log(y[pos])) - y.sum())


def _min_margin(Xb: Any, yb: Any, coef: Array, intercept: Array) -> float:
    """The smallest margin of the true class over the others in a block (inf when empty)."""
    S = _aligned(Xb, 2) @ coef.T + intercept
    yk = _aligned(yb, 1).astype(np.intp)
    if S.shape[0] == 0:
        return float("inf")
    if S.shape[1] == 1:
        return float(np.min(np.where(yk == 1, 1.0, -1.0) * S[:, 0]))
    own = S[np.arange(S.shape[0]), yk]
    S[np.arange(S.shape[0]), yk] = -np.inf
    return float(np.min(own - S.max(axis=1)))
