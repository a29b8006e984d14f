"""The formula-free parts of :mod:`descend._compiled`'s loop (numba), compiled once and cached.

A block of runs lives in the columns of ``cur`` (``2p + 1`` rows: ``x``, the gradient, ``f``),
only the runs still going, packed to the left; ``fb`` holds each one's divergence bound,
``tt`` its step and ``idx`` its row in the outputs. :func:`start` fills a block, :func:`settle`
writes out the runs whose step code is not 0 and packs the others, and :func:`finish` writes
back the runs still going when the steps run out. No rule is decided here: the codes come
from :func:`descend.stopping.step_code`, compiled into the generated kernel, and the code
numbers that matter arrive as arguments (so this cached code never holds stale constants).
Importing this module imports numba.
"""

from __future__ import annotations

from typing import Any

from numba import njit

__all__ = ["finish", "settle", "start"]


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
