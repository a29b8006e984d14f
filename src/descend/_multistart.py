r"""Multi-start: many runs from many starts, and the distinct minima they find.

:func:`multistart` draws ``K`` starts uniformly in a box (or takes them as given),
advances all runs together as one ``(K, p)`` batch through the loop
(:mod:`descend._loop`), and clusters the end points of the converged runs into
:class:`Minimum` tuples.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ._minimize import minimize, problem_of, run_batch
from ._types import Array
from .errors import InvalidArgument, InvalidType
from .objective import Objective
from .result import Reason, Result, Status
from .stopping import default_gtol, norms

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["Minimum", "MultiStartResult", "cluster_minima", "multistart"]

#: ``Status`` values by reason code (0, still going when the steps ran out: ``max_iter``).
_STATUS_VALUES = np.array([(r or Reason.MAX_ITER).status.value for r in Reason])

#: Redraw rounds for random starts whose gradient is zero.
_REDRAWS = 100

_NO_RUN_KWARGS = ("callback", "log_every")


class Minimum(NamedTuple):
    """One distinct end point: where, its value, and how many runs ended there."""

    x: Array
    fun: float
    count: int  # type: ignore[assignment]  # shadows tuple.count, by design


def cluster_minima(x: Array, fun: Array, *, radius: float | None = None) -> list[Minimum]:
    r"""Group end points ``x (n, p)`` into distinct minima, best first.

    Greedy clustering in order of increasing ``f``: the lowest unassigned point
    becomes a centre and takes every unassigned point within ``radius`` (Euclidean)
    of it; repeat. The default radius is ``max(1e-3, 1e-3 * scale)`` with ``scale``
    the largest ``|x_i|`` among the points. Each pass is one vectorized distance
    computation over the points still unassigned, so the cost is
    ``O(n * p * minima)``.

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.array([[1.0, 0.0], [1.0, 1e-5], [-1.0, 0.0]])
    >>> cluster_minima(pts, np.array([0.5, 0.5, 0.0]))
    [Minimum(x=array([-1.,  0.]), fun=0.0, count=1), Minimum(x=array([1., 0.]), fun=0.5, count=2)]
    """
    x = np.asarray(x, dtype=np.float64)
    fun = np.asarray(fun, dtype=np.float64)
    if x.shape[0] == 0:
        return []
    if radius is None:
        radius = max(1e-3, 1e-3 * float(np.max(np.abs(x))))
    order = np.argsort(fun, kind="stable")
    rest_x, rest_f = x[order], fun[order]
    out: list[Minimum] = []
    r2 = radius * radius
    while rest_x.shape[0]:
        centre = rest_x[0]
        diff = rest_x - centre
        near = np.einsum("ij,ij->i", diff, diff) <= r2
        out.append(Minimum(centre.copy(), float(rest_f[0]), int(np.count_nonzero(near))))
        rest_x, rest_f = rest_x[~near], rest_f[~near]
    return out


class MultiStartResult:
    """The outcome of :func:`multistart`.

    Attributes
    ----------
    x : ndarray (K, p)
        End point of each run.
    fun : ndarray (K,)
        ``f`` at each end point.
    status : ndarray (K,) of str
        Each run's :class:`~descend.result.Status` value (``"gtol"``, ``"diverged"``, ...).
    nit : ndarray (K,)
        Steps taken by each run.
    starts : ndarray (K, p)
        The start points.
    best : Result
        The run with the lowest ``f`` among those that did not diverge, with its path
        (recomputed by :meth:`result` on first access; ``best_index`` is its index).
    minima : list of Minimum
        Distinct end points of the converged runs (``success``), best first; see
        :func:`cluster_minima` for the rule. The counts sum to :attr:`n_converged`.
    """

    def __init__(
        self, objective: Objective, starts: Array, x: Array, fun: Array, status: Array,
        nit: Array, kwargs: dict[str, Any], results: list[Result] | None = None,
    ) -> None:
        self.objective = objective
        self.starts, self.x, self.fun, self.status, self.nit = starts, x, fun, status, nit
        self._kwargs = kwargs
        self._results = results
        ok = np.isin(status, [s.value for s in Status if s.success])
        self.converged = ok
        self.minima = cluster_minima(x[ok], fun[ok])
        finite = (status != Status.DIVERGED.value) & np.isfinite(fun)
        pool = np.flatnonzero(finite) if finite.any() else np.arange(fun.shape[0])
        self.best_index = int(pool[np.argmin(np.where(np.isfinite(fun[pool]), fun[pool],
                                                      np.inf))])

    @cached_property
    def best(self) -> Result:
        """The run with the lowest ``f`` among those that did not diverge, with its path."""
        return self.result(self.best_index)

    @property
    def n_converged(self) -> int:
        """Number of runs that converged (gtol, ftol or xtol)."""
        return int(np.count_nonzero(self.converged))

    def result(self, k: int) -> Result:
        """Run ``k`` as a full :class:`~descend.result.Result` with its path.

        It is recomputed by :func:`descend.minimize` from ``starts[k]`` (deterministic:
        the same iterates, status and message; a batch that took the compiled loop of
        :mod:`descend._compiled` agrees to rounding).
        """
        k = int(k)
        if not -len(self.fun) <= k < len(self.fun):
            raise InvalidArgument(
                f"k: expected a run index in [0, {len(self.fun)}), got {k}", argument="k"
            )
        if self._results is not None:
            return self._results[k]
        return minimize(self.objective, self.starts[k], **self._kwargs)

    results = result

    def __len__(self) -> int:
        return int(self.fun.shape[0])

    def plot(self, **kw: Any) -> go.Figure:
        """The contour with every start joined to its end and the best run's path.

        Keywords go to :func:`descend.plot.auto`.
        """
        from . import _figures as _plot

        return _plot.auto(self, **kw)

    def __repr__(self) -> str:
        counts = ", ".join(f"{s}: {int(np.count_nonzero(self.status == s))}"
                           for s in dict.fromkeys(self.status.tolist()))
        shown = "; ".join(
            f"{np.array2string(m.x, precision=4, separator=', ')} f={m.fun:.4g} x{m.count}"
            for m in self.minima[:5]
        )
        more = f" (+{len(self.minima) - 5} more)" if len(self.minima) > 5 else ""
        return (f"MultiStartResult(runs={len(self)}, {counts}; best f={self.best.fun:.6g} at "
                f"{np.array2string(self.best.x, precision=6, separator=', ')}; "
                f"{len(self.minima)} minima: {shown}{more})")


def _check_bounds(bounds: Any, p: int | None) -> Array:
    """``bounds`` as an array ``(p, 2)`` of ``(lo, hi)``, from pairs or a flat sequence."""
    if isinstance(bounds, (str, bytes)) or not isinstance(bounds, (Sequence, np.ndarray)):
        raise InvalidType(
            f"bounds: expected a sequence of (lo, hi) pairs, got {type(bounds).__name__}",
            argument="bounds",
        )
    try:
        b = np.array(bounds, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgument(
            f"bounds: expected (lo, hi) pairs of numbers, got {bounds!r:.80}", argument="bounds"
        ) from None
    if b.ndim == 1 and b.size % 2 == 0 and b.size > 0:
        b = b.reshape(-1, 2)
    if b.ndim != 2 or b.shape[1] != 2 or b.shape[0] == 0:
        raise InvalidArgument(
            f"bounds: expected one (lo, hi) pair per variable or a flat (lo1, hi1, lo2, hi2, "
            f"...), got {bounds!r:.80}",
            argument="bounds",
        )
    if p is not None and b.shape[0] != p:
        raise InvalidArgument(
            f"bounds: the function takes {p} variables, so give {p} (lo, hi) pairs "
            f"(or {2 * p} numbers), got {b.shape[0]} pairs",
            argument="bounds",
        )
    if not (np.all(np.isfinite(b)) and np.all(b[:, 0] < b[:, 1])):
        raise InvalidArgument(
            f"bounds: each pair must be finite with lo < hi, got {b.tolist()}", argument="bounds"
        )
    return b


def _check_count(starts: Any) -> int:
    if isinstance(starts, bool):
        raise InvalidType("starts: expected an int K or a (K, p) array, got a bool",
                          argument="starts")
    k = int(starts)
    if k < 1:
        raise InvalidArgument(f"starts: the number of starts must be >= 1, got {starts}",
                              argument="starts")
    return k


def _draw(objective: Objective, count: int, box: Array, seed: Any, gtol: Any) -> Array:
    """``count`` uniform starts in ``box``; a start with zero gradient is drawn again."""
    rng = np.random.default_rng(seed)
    lo, hi = box[:, 0], box[:, 1]
    x = rng.uniform(lo, hi, size=(count, box.shape[0]))
    if isinstance(gtol, str):
        gtol = default_gtol()
    floor = float(gtol) if isinstance(gtol, (int, float)) and gtol > 0 else 0.0
    for _ in range(_REDRAWS):
        with np.errstate(all="ignore"):
            g = objective.gradients(x)
        flat = ~(norms(g) > floor)  # also redraws nan gradients
        if not flat.any():
            break
        x[flat] = rng.uniform(lo, hi, size=(int(flat.sum()), box.shape[0]))
    return x


def multistart(
    fun: Any, starts: Any, *, bounds: Any = None, seed: Any = None, **minimize_kwargs: Any
) -> MultiStartResult:
    """Minimize ``fun`` from many starts and collect the distinct minima found.

    Parameters
    ----------
    fun : callable, str, Formula or TestFunction
        As for :func:`descend.minimize`.
    starts : int or array_like (K, p)
        ``K`` random starts, uniform in ``bounds`` (a start where the gradient is
        zero, or not above ``gtol``, is drawn again, as the paraboloid tutorial avoids starting at
        the minimum); or the starts themselves.
    bounds : sequence, optional
        One ``(lo, hi)`` per variable, or flat ``(lo1, hi1, lo2, hi2, ...)``. Defaults
        to a catalog entry's ``bounds``; required for ``starts=K`` otherwise.
    seed : int or numpy Generator, optional
        For the random starts.
    **minimize_kwargs
        ``args``, ``grad`` (or ``jac``), ``method``, ``lr``, ``max_iter``, ``gtol``,
        ``ftol``, ``xtol``, ``variables``, as for :func:`descend.minimize`.

    Returns
    -------
    MultiStartResult
        ``x, fun, status, nit, starts, best, minima`` and ``result(k)``.

    Notes
    -----
    All ``K`` runs advance together as one ``(K, p)`` array through the loop (nothing
    recorded; :meth:`MultiStartResult.result` recomputes a run's path with
    :func:`descend.minimize`); a callable that is not vectorized is evaluated row by row.
    With ``method="gd"`` and a fixed ``lr`` on a formula or catalog function the batch
    may run compiled (numba, :mod:`descend._compiled`; the same outcome to rounding,
    10-20 times faster): when the formula was compiled before in the process, or once the
    loop has measured that the steps left take longer than compiling;
    ``DESCEND_NO_COMPILE=1`` turns that off.

    Examples
    --------
    >>> from descend import functions
    >>> ms = multistart(functions.get("himmelblau"), 200, seed=0, lr="bb")
    >>> len(ms.minima), sum(m.count for m in ms.minima) == ms.n_converged
    (4, True)
    >>> ms.best.fun < 1e-12
    True
    """
    for bad in _NO_RUN_KWARGS:
        if bad in minimize_kwargs:
            raise InvalidArgument(f"{bad}: not accepted by multistart", argument=bad)
    objective = problem_of(fun, minimize_kwargs.pop("args", ()),
                           minimize_kwargs.pop("grad", None), minimize_kwargs.pop("jac", None),
                           minimize_kwargs.pop("variables", None))
    source = objective.source
    box = None
    if bounds is not None:  # a catalog name of any dimension takes the bounds' dimension
        box = _check_bounds(bounds, None if objective.resize is not None else objective.p)
    elif hasattr(source, "bounds") and hasattr(source, "minima"):  # a catalog entry
        box = _check_bounds(source.bounds, objective.p)
    if isinstance(starts, (int, np.integer)) or (np.ndim(starts) == 0
                                                 and not isinstance(starts, str)):
        count = _check_count(starts)
        if box is None:
            raise InvalidArgument(
                "bounds: needed to draw random starts for a function outside the catalog; "
                "give bounds=[(lo, hi), ...] or the starts themselves as a (K, p) array",
                argument="bounds",
            )
        objective = objective.with_dimension(box.shape[0]).resolve_gradient(box.mean(axis=1))
        x0 = _draw(objective, count, box, seed, minimize_kwargs.get("gtol", "auto"))
    else:
        x0 = _check_starts(starts)
        if box is not None and bounds is not None and box.shape[0] != x0.shape[1]:
            raise InvalidArgument(
                f"bounds: {box.shape[0]} pairs for starts with {x0.shape[1]} coordinates",
                argument="bounds",
            )
        objective = objective.with_dimension(x0.shape[1]).resolve_gradient(x0[0])
    objective.check(x0[0])
    out = run_batch(objective, x0, record=False, **minimize_kwargs)
    c = out.carry
    return MultiStartResult(objective, x0, c.x, c.f, _STATUS_VALUES[c.code], c.nit.copy(),
                            minimize_kwargs)


def _check_starts(starts: Any) -> Array:
    try:
        x = np.array(starts, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidType(
            f"starts: expected an int K or a (K, p) array of numbers, got {starts!r:.80}",
            argument="starts",
        ) from None
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise InvalidArgument(
            f"starts: expected an int K >= 1 or a non-empty (K, p) array, got shape {x.shape}",
            argument="starts",
        )
    if not np.all(np.isfinite(x)):
        raise InvalidArgument("starts: every start must be finite", argument="starts")
    return x

