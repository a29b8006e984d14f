"""Helpers behind :mod:`descend.plot`: geometry and duck-typing, no figures.

Paths are thinned for drawing, views are chosen so that they contain what is drawn,
and diverged paths are clipped to the view. Nothing here builds a figure, so these
helpers are tested with plain arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._types import Array
from ..errors import InvalidArgument, InvalidType
from ..objective import Objective, as_objective

__all__ = [
    "MAX_POINTS",
    "Box",
    "Track",
    "catalog_entry",
    "clip_to_box",
    "grid_values",
    "resolve_objective",
    "thin_indices",
    "tracks",
    "view_box",
]

#: Most points of one path drawn; longer paths are thinned (first and last kept).
MAX_POINTS = 2000

Box = tuple[tuple[float, float], ...]


def thin_indices(n: int, max_points: int = MAX_POINTS) -> npt.NDArray[np.int64]:
    """Indices of at most ``max_points`` evenly spread points of ``n``, first and last kept.

    Examples
    --------
    >>> thin_indices(5).tolist()
    [0, 1, 2, 3, 4]
    >>> thin_indices(10_001, 3).tolist()
    [0, 5000, 10000]
    """
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    idx: npt.NDArray[np.int64] = np.unique(
        np.rint(np.linspace(0, n - 1, max(2, max_points))).astype(np.int64)
    )
    return idx


@dataclass(frozen=True)
class Track:
    """One path to draw: its points, values, label and how its run ended."""

    path: Array  # (n, p)
    values: Array  # (n,)
    label: str
    diverged: bool
    nit: int
    result: Any


def is_multistart(obj: Any) -> bool:
    """True for a MultiStartResult-like object (``starts`` and ``x`` arrays)."""
    return hasattr(obj, "starts") and hasattr(obj, "x") and np.ndim(obj.starts) == 2


def _is_result(obj: Any) -> bool:
    return hasattr(obj, "path") and hasattr(obj, "values") and hasattr(obj, "status")


def as_results(paths: Any) -> list[Any]:
    """A Result, a list of them, or None -> a list of Result-like objects."""
    if paths is None:
        return []
    if _is_result(paths):
        return [paths]
    if is_multistart(paths):
        best = getattr(paths, "best", None)
        return [best] if best is not None and _is_result(best) else []
    if isinstance(paths, Sequence) and not isinstance(paths, str):
        out = list(paths)
        for i, r in enumerate(out):
            if not _is_result(r):
                raise InvalidType(
                    f"paths: item {i} is a {type(r).__name__}, expected a Result "
                    "(with path, values and status)",
                    argument="paths",
                )
        return out
    raise InvalidType(
        f"paths: expected a Result, a list of Results or a multi-start result, "
        f"got {type(paths).__name__}",
        argument="paths",
    )


def tracks(results: list[Any], labels: Sequence[str] | None = None) -> list[Track]:
    """Results -> :class:`Track` objects with default labels ``path`` / ``run i``."""
    if labels is not None and len(labels) != len(results):
        raise InvalidArgument(
            f"labels: expected {len(results)} labels (one per path), got {len(labels)}",
            argument="labels",
        )
    out = []
    for i, r in enumerate(results):
        label = labels[i] if labels is not None else ("path" if len(results) == 1 else f"run {i}")
        path = np.asarray(r.path, dtype=np.float64)
        if path.ndim == 1:
            path = path[:, None]
        values = np.asarray(r.values, dtype=np.float64).reshape(-1)
        status = str(getattr(r, "status", ""))
        out.append(Track(path, values, str(label), status == "diverged",
                         int(getattr(r, "nit", len(path) - 1)), r))
    return out


def catalog_entry(fun: Any, results: Sequence[Any] = ()) -> Any:
    """The catalog :class:`~descend.functions.TestFunction` behind ``fun`` or the results."""
    from ..functions import TestFunction

    if isinstance(fun, TestFunction):
        return fun
    candidates = [fun, *results]
    for c in candidates:
        obj = getattr(c, "objective", None) if not isinstance(c, Objective) else c
        src = getattr(obj, "source", None)
        if isinstance(src, TestFunction):
            return src
    return None


def resolve_objective(fun: Any, results: Sequence[Any] = ()) -> Objective | None:
    """``fun`` as an Objective; ``None`` takes the first result's objective."""
    if fun is None:
        for r in results:
            obj = getattr(r, "objective", None)
            if isinstance(obj, Objective):
                return obj
        return None
    if _is_result(fun):
        obj = getattr(fun, "objective", None)
        return obj if isinstance(obj, Objective) else None
    return as_objective(fun)


def grid_values(obj: Objective, axes: Sequence[Array]) -> Array:
    """f on the grid spanned by ``axes`` (1 or 2 of them), shaped ``(ny, nx)`` or ``(nx,)``.

    Non-finite values and evaluation failures become NaN (gaps in the figure).
    """
    mesh = np.meshgrid(*axes)
    pts = np.stack([m.reshape(-1) for m in mesh], axis=-1)
    with np.errstate(all="ignore"):
        try:
            z = obj.values(pts)
        except (ArithmeticError, ValueError):
            z = np.array([obj.value(p) for p in pts])
    z = np.where(np.isfinite(z), z, np.nan)
    return z.reshape(mesh[0].shape) if len(axes) == 2 else z.reshape(-1)


def _pad(lo: float, hi: float, frac: float = 0.1) -> tuple[float, float]:
    span = hi - lo
    pad = frac * span if span > 0 else max(1.0, abs(lo)) * 0.5
    return lo - pad, hi + pad


def view_box(
    p: int,
    bounds: Any = None,
    entry: Any = None,
    ts: Sequence[Track] = (),
    extra: Array | None = None,
) -> Box:
    """The drawn domain: ``bounds``, else the catalog's, else the paths' (padded).

    The box always contains every point of the paths that did not diverge, and
    ``extra`` points (minima, starts); a diverged path contributes only its start
    and its first step (it is clipped to the box afterwards).
    """
    if bounds is not None:
        box = _check_bounds(bounds, p)
    elif entry is not None and len(entry.bounds) == p:
        box = tuple((float(lo), float(hi)) for lo, hi in entry.bounds)
    else:
        box = None
    pts = [t.path for t in ts if not t.diverged]
    pts += [t.path[: min(2, len(t.path))] for t in ts if t.diverged]
    if extra is not None and len(extra):
        pts.append(np.asarray(extra, dtype=np.float64).reshape(-1, p))
    allp = np.concatenate(pts) if pts else np.empty((0, p))
    allp = allp[np.all(np.isfinite(allp), axis=1)]
    if box is None:
        if len(allp) == 0:
            return tuple((-1.0, 1.0) for _ in range(p))
        lows, highs = allp.min(0), allp.max(0)
        box = tuple(_pad(float(a), float(b)) for a, b in zip(lows, highs, strict=True))
    if len(allp):
        lo, hi = allp.min(0), allp.max(0)
        grown = []
        for i, (a, b) in enumerate(box):
            if lo[i] < a or hi[i] > b:
                a2, b2 = _pad(min(a, float(lo[i])), max(b, float(hi[i])), 0.05)
                grown.append((a2 if lo[i] < a else a, b2 if hi[i] > b else b))
            else:
                grown.append((a, b))
        box = tuple(grown)
    return box


def _check_bounds(bounds: Any, p: int) -> Box:
    try:
        arr = np.asarray(bounds, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise InvalidArgument(
            f"bounds: expected {p} pairs (lo, hi), got {bounds!r:.80}", argument="bounds"
        ) from None
    if arr.shape[0] != p or not np.all(np.isfinite(arr)) or np.any(arr[:, 0] >= arr[:, 1]):
        raise InvalidArgument(
            f"bounds: expected {p} finite pairs (lo, hi) with lo < hi, got {bounds!r:.80}",
            argument="bounds",
        )
    return tuple((float(a), float(b)) for a, b in arr)


def clip_to_box(path: Array, box: Box) -> tuple[Array, bool]:
    """The path up to where it leaves ``box``, ending on the box's edge.

    Returns the clipped points and whether anything was cut. A non-finite point
    ends the path at the previous point.

    Examples
    --------
    >>> pts, cut = clip_to_box(np.array([[0.0], [1.0], [4.0]]), ((-2.0, 2.0),))
    >>> pts.ravel().tolist(), cut
    ([0.0, 1.0, 2.0], True)
    """
    lo = np.array([b[0] for b in box])
    hi = np.array([b[1] for b in box])
    inside = np.all(np.isfinite(path), axis=1) & np.all((path >= lo) & (path <= hi), axis=1)
    if inside.all():
        return path, False
    first_out = int(np.argmin(inside))
    if first_out == 0:
        return path[:0], True
    a, b = path[first_out - 1], path[first_out]
    kept = path[:first_out]
    if not np.all(np.isfinite(b)):
        return kept, True
    d = b - a
    with np.errstate(divide="ignore", invalid="ignore"):
        t_hi = np.where(d > 0, (hi - a) / d, np.inf)
        t_lo = np.where(d < 0, (lo - a) / d, np.inf)
    t = float(min(1.0, np.min(t_hi), np.min(t_lo)))
    edge = a + max(0.0, t) * d
    return np.vstack([kept, edge[None]]), True


def dimension(results: Sequence[Any], obj: Objective | None, entry: Any) -> int | None:
    """The number of variables, from the paths, the objective or the catalog entry."""
    for r in results:
        return int(np.asarray(r.path).reshape(len(r.path), -1).shape[1])
    if obj is not None and obj.p is not None:
        return obj.p
    if entry is not None:
        return int(entry.dim)
    return None
