"""The formula-free parts of :mod:`descend._compiled`'s loop (numba), compiled once and cached.

A block of runs lives in the columns of ``cur`` (``2p + 1`` rows: ``x``, the gradient, ``f``),
only the runs still going, packed to the left; ``fb`` holds each one's divergence bound,
``tt`` its step and ``idx`` its row in the outputs. :func:`start` fills a block, :func:`settle`
writes out the runs whose step code is not 0 and packs the others, and :func:`finish` writes
back the runs still going when the steps run out. No rule is decided here: the codes come
from :func:`descend.stopping.step_code`, compiled into the generated kernel, and the code
numbers that matter arrive as arguments (so this cached code never holds stale constants).
:data:`FORMULA_HELPERS` are the compiled forms of the formula functions NumPy evaluates
with several operations (``sigmoid``, ``softplus``, ``relu``, ``max``, ``min`` and the
step of their derivatives), with NumPy's handling of NaN. Importing this module imports
numba.
"""

from __future__ import annotations

import math
from typing import Any

from numba import njit

__all__ = ["FORMULA_HELPERS", "finish", "settle", "start"]


@njit(cache=True, nogil=True, error_model="numpy")  # type: ignore[untyped-decorator,misc,unused-ignore]
def start(
    b0: int, b1: int, x: Any, f: Any, g: Any, t: Any, fb_in: Any, cur: Any, fb: Any, tt: Any,
    idx: Any,
) -> int:  # pragma: no cover - compiled
    """Runs ``b0:b1`` packed into ``cur``. Returns how many."""
    p = x.shape[1]
    na = 0
    for i in range(b0, b1):
        for d in range(p):
            cur[d, na] = x[i, d]
            cur[p + d, na] = g[i, d]
        cur[2 * p, na] = f[i]
        fb[na] = fb_in[i]
        tt[na] = t[i]
        idx[na] = i
        na += 1
    return na


@njit(cache=True, nogil=True, error_model="numpy")  # type: ignore[untyped-decorator,misc,unused-ignore]
def settle(
    k: int, cur: Any, new: Any, cc: Any, dd: Any, fb: Any, tt: Any, idx: Any, na: int, x: Any,
    f: Any, g: Any, codes: Any, nsteps: Any, xd: Any, gd: Any, det: Any, first_div: int,
    sched_end: int,
) -> int:  # pragma: no cover - compiled
    """After step ``k`` (``cur`` before it, ``new`` after, ``cc`` the codes): write out the
    runs with a code, pack the others into ``new``. Returns how many still run.

    A refused step (a code ``>= first_div``, or ``sched_end``) leaves the run at its last
    point; the point and gradient it was refused go to ``xd`` and ``gd``.
    """
    p = (cur.shape[0] - 1) // 2
    m = 0
    for j in range(na):
        c = cc[j]
        i = idx[j]
        if c == 0:
            for row in range(2 * p + 1):
                new[row, m] = new[row, j]
            fb[m] = fb[j]
            tt[m] = tt[j]
            idx[m] = i
            m += 1
            continue
        codes[i] = c
        nsteps[i] = k
        det[i] = dd[j]
        if c >= first_div or c == sched_end:
            for d in range(p):
                xd[i, d] = new[d, j]
                gd[i, d] = new[p + d, j]
                x[i, d] = cur[d, j]
                g[i, d] = cur[p + d, j]
            f[i] = cur[2 * p, j]
        else:
            for d in range(p):
                x[i, d] = new[d, j]
                g[i, d] = new[p + d, j]
            f[i] = new[2 * p, j]
    return m


@njit(cache=True, nogil=True, error_model="numpy")  # type: ignore[untyped-decorator,misc,unused-ignore]
def finish(
    k: int, cur: Any, idx: Any, na: int, x: Any, f: Any, g: Any, codes: Any, nsteps: Any,
) -> None:  # pragma: no cover - compiled
    """Write out the ``na`` runs still going after ``k`` steps."""
    p = (cur.shape[0] - 1) // 2
    for j in range(na):
        i = idx[j]
        for d in range(p):
            x[i, d] = cur[d, j]
            g[i, d] = cur[p + d, j]
        f[i] = cur[2 * p, j]
        codes[i] = 0
        nsteps[i] = k


# --- the functions of descend.formula that are not one call of the math module ----------

_JIT = njit(cache=True, nogil=True, error_model="numpy", inline="always")


@_JIT  # type: ignore[misc,unused-ignore]
def _sigmoid(a: float) -> float:  # pragma: no cover - compiled
    """As descend.formula's: exp(-|a|) never overflows; NaN gives NaN."""
    e = math.exp(-abs(a))
    return 1.0 / (1.0 + e) if a >= 0 else e / (1.0 + e)


@_JIT  # type: ignore[misc,unused-ignore]
def _relu(a: float) -> float:  # pragma: no cover - compiled
    """numpy.maximum(a, 0.0): NaN stays NaN."""
    return a if (a >= 0.0 or a != a) else 0.0


@_JIT  # type: ignore[misc,unused-ignore]
def _softplus(a: float) -> float:  # pragma: no cover - compiled
    """max(a, 0) + log1p(exp(-|a|)), as descend.formula's."""
    m = a if (a >= 0.0 or a != a) else 0.0
    return m + math.log1p(math.exp(-abs(a)))


@_JIT  # type: ignore[misc,unused-ignore]
def _maximum(a: float, b: float) -> float:  # pragma: no cover - compiled
    """numpy.maximum: NaN if either is NaN."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a >= b else b


@_JIT  # type: ignore[misc,unused-ignore]
def _minimum(a: float, b: float) -> float:  # pragma: no cover - compiled
    """numpy.minimum: NaN if either is NaN."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a <= b else b


@_JIT  # type: ignore[misc,unused-ignore]
def _heaviside(a: float, h0: float) -> float:  # pragma: no cover - compiled
    """numpy.heaviside: 0 below 0, ``h0`` at 0, 1 above, NaN for NaN."""
    if a < 0.0:
        return 0.0
    if a > 0.0:
        return 1.0
    return h0 if a == 0.0 else a


#: Names the printer of descend._compiled writes for these functions, and what they call.
FORMULA_HELPERS = {
    "_descend_sigmoid": _sigmoid,
    "_descend_softplus": _softplus,
    "_descend_relu": _relu,
    "_descend_maximum": _maximum,
    "_descend_minimum": _minimum,
    "_descend_heaviside": _heaviside,
}
