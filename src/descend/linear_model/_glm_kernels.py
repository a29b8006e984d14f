"""Fused passes of the generalized linear losses (numba), nothing else.

Each pass reads every row of ``X`` once and computes, together, the linear
predictor ``eta_i = c + x_i . w``, the loss of the row and its derivative in
``eta``, and the weighted sums the loss objects of
:mod:`descend.linear_model._glm_losses` need (value, gradient, and for Poisson the
largest ``eta``):

* ``logistic_pass``: ``y`` in {0, 1}, loss ``log(1 + exp(eta)) - y eta`` (written
  ``max(eta, 0) + log1p(exp(-|eta|)) - y eta``, so no exp overflows), derivative
  ``sigmoid(eta) - y``; one ``exp`` and one ``log1p`` a row;
* ``poisson_pass``: log link, loss ``exp(eta) - y eta``, derivative ``exp(eta) - y``;
* ``softmax_pass``: ``K`` classes, ``y`` the class index; loss
  ``logsumexp(eta) - eta_y`` (shifted by the row's largest ``eta``), derivative
  ``softmax(eta) - onehot(y)``; its two products (``K`` multiply-adds a feature each)
  in register tiles (:mod:`descend.linear_model._tiles`);
* ``moment_sums``: the first pass of a fit, the shifted sums of ``X``, ``y``, ``X'X`` and
  ``X'y``, ``B'B`` of the rows ``B = [X - c, 1, y - cy]`` in the same tiles.

Rows are split into chunks, one partial sum per chunk (``prange``; passes over
fewer than ``PARALLEL_ROWS`` rows run on one thread); ``X`` is never copied (the
softmax pass copies a chunk's last, short block). ``sw``
is the sample weights or an empty array (all ones). Fast-math reassociation only,
as in :mod:`descend.linear_model._kernels`: the inner products vectorize while NaN
and inf still propagate. NumPy's error model: a division is a plain IEEE division (no
Python ZeroDivisionError check, whose branch kept the loss loops scalar). Callers hold
BLAS to one thread for the whole fit
(:func:`descend.linear_model._glm_losses.one_blas_thread`), not around each pass
(switching costs up to milliseconds): numba's and BLAS's threads fight over the
cores. Arrays that are not C-ordered float64 go through NumPy (the same sums, two
products, no copy of ``X``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange

from descend.linear_model._kernels import FASTMATH as _FM
from descend.linear_model._kernels import compile_twins
from descend.linear_model._losses import square_sums
from descend.linear_model._tiles import BAND, WIDE, bands, tiles

__all__ = ["logistic_margin_pass", "logistic_pass", "moment_sums", "n_chunks", "poisson_pass",
           "softmax_pass"]


def n_chunks(n: int) -> int:
    """Row chunks of a pass: enough to balance two to a few dozen threads."""
    return max(1, min(n // 4096, 64))


_MAGIC = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer held in the mantissa
_MAGIC_BITS = 0x4338000000000000  # its bits
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_LOW, _HIGH = -708.0, 709.0  # 2**k stays a normal number
_B = 128  # rows per block: a block of 20 features stays in the L1 cache between its two reads
_R = 16  # rows per block of the softmax pass (a multiple of 4: its tiles take 4 rows)
_AHEAD = 4  # the softmax pass prefetches the block this many blocks on
_GB = 128  # rows per block of the moments pass (at 20 features, 24 KB: in the L1 cache)
_BAND_G = 5 if WIDE else 4  # classes a tile of the softmax gradient (10 classes: 2 bands)


@njit(cache=True, fastmath={"contract"}, error_model="numpy")  # type: ignore[untyped-decorator,misc,unused-ignore]
def _exp_inplace(x: Any, bits: Any, m: int) -> None:  # pragma: no cover - compiled
    """``x[:m] = exp(x[:m])`` within 1 ulp, in loops the compiler vectorizes.

    ``exp(x) = 2**k exp(r)``, ``k = round(x / ln 2)`` (by the 1.5 * 2**52 trick),
    ``r = x - k ln 2`` in two parts (Cody-Waite), ``exp(r)`` by its Taylor series to
    degree 13 (``|r| <= ln(2) / 2``), ``2**k`` written as bits. ``x`` is clamped to
    [-708, 709] first: below, the result stays at exp(-708) ~ 3e-308 instead of
    underflowing; above, callers report overflow (they know the largest x). Not
    compiled with reassociation, which would undo the rounding trick. In place on
    purpose: with an output that may be the input, the compiler guards the vector loop
    with an overlap check, and an output that *is* the input fails it every time (the
    loop ran scalar, 5x slower).
    """
    for i in range(m):
        v = min(max(x[i], _LOW), _HIGH)
        t = v * _LOG2E + _MAGIC
        k = t - _MAGIC
        r = (v - k * _LN2_HI) - k * _LN2_LO
        q = 1.0 / 6227020800.0
        q = q * r + 1.0 / 479001600.0
        q = q * r + 1.0 / 39916800.0
        q = q * r + 1.0 / 3628800.0
        q = q * r + 1.0 / 362880.0
        q = q * r + 1.0 / 40320.0
        q = q * r + 1.0 / 5040.0
        q = q * r + 1.0 / 720.0
        q = q * r + 1.0 / 120.0
        q = q * r + 1.0 / 24.0
        q = q * r + 1.0 / 6.0
        q = q * r + 0.5
        q = q * r + 1.0
        q = q * r + 1.0
        x[i] = q
        bits[i] = t
    ib = bits.view(np.int64)
    for i in range(m):
        ib[i] = (ib[i] - _MAGIC_BITS + 1023) << 52
    for i in range(m):
        x[i] *= bits[i]


@njit(cache=True, error_model="numpy")  # type: ignore[untyped-decorator,misc,unused-ignore]
def _exp_into(x: Any, out: Any, bits: Any, m: int) -> None:  # pragma: no cover - compiled
    """``out[:m] = exp(x[:m])`` by :func:`_exp_inplace` on a copy (``out`` may be ``x``)."""
    for i in range(m):
        out[i] = x[i]
    _exp_inplace(out, bits, m)


@njit(inline="always", fastmath=_FM, error_model="numpy")  # type: ignore[untyped-decorator,misc,unused-ignore]
def _log1p01(e: float) -> float:  # pragma: no cover - compiled
    """``log1p(e)`` for ``0 <= e <= 1`` without a libm call: ``a ln 2 + 2 atanh(z)``.

    ``1 + e = 2^a u`` with ``a = 1`` when ``e > sqrt(2) - 1`` (else 0), so ``u`` lies in
    ``[1/sqrt(2), sqrt(2)]`` and ``z = (u - 1) / (u + 1) = (e - a) / (e + 2 + a)`` (formed
    from ``e``, not from ``1 + e``, which would round small ``e`` away) has ``|z| <= 0.172``:
    10 terms of the odd series reach a relative 1e-17. A select, not a branch: the loop
    vectorizes.
    """
    a = 1.0 if e > 0.41421356237309503 else 0.0
    z = (e - a) / (e + 2.0 + a)
    z2 = z * z
    q = 1.0 / 19.0
    q = q * z2 + 1.0 / 17.0
    q = q * z2 + 1.0 / 15.0
    q = q * z2 + 1.0 / 13.0
    q = q * z2 + 1.0 / 11.0
    q = q * z2 + 1.0 / 9.0
    q = q * z2 + 1.0 / 7.0
    q = q * z2 + 1.0 / 5.0
    q = q * z2 + 1.0 / 3.0
    q = q * z2 + 1.0
    return a * 0.6931471805599453 + 2.0 * z * q


def _logistic_rows(
    X: Any, y: Any, sw: Any, w: Any, c: float, chunks: int
) -> Any:  # pragma: no cover - compiled
    """``[G (p), gsum, value, min margin]`` of the log loss.

    Each block of ``_B`` rows is read three times, the last two from the L1 cache:
    ``eta``, then the losses with exp vectorized over the block, then ``G``. The margin
    of a row is ``eta`` signed by its label (``-eta`` for ``y = 0``); rows of weight 0
    do not count (inf when no row does). Rows are indexed through the block's views (an
    index from 0 needs no negative-index wrap), which with NumPy's error model (no
    ZeroDivisionError check) lets the loss loop vectorize, divisions included.
    """
    n, p = X.shape
    weighted = sw.shape[0] > 0
    out = np.zeros((chunks, p + 3))
    size = (n + chunks - 1) // chunks
    for k in prange(chunks):
        lo = k * size
        hi = min(n, lo + size)
        acc = np.zeros(p + 3)
        low = np.inf
        eta = np.empty(_B)
        e = np.empty(_B)
        bits = np.empty(_B)
        g = np.empty(_B)
        for b0 in range(lo, hi, _B):
            m = min(_B, hi - b0)
            Xb = X[b0 : b0 + m]
            for i in range(m):
                s = c
                for j in range(p):
                    s += Xb[i, j] * w[j]
                eta[i] = s
                e[i] = -abs(s)
            _exp_inplace(e, bits, m)
            yb = y[b0 : b0 + m]
            sb = sw[b0 : b0 + m] if weighted else sw
            gs = 0.0
            ls = 0.0
            for i in range(m):
                s = eta[i]
                ei = e[i]
                yi = yb[i]
                gi = (1.0 if s >= 0.0 else ei) / (1.0 + ei) - yi
                li = max(s, 0.0) + _log1p01(ei) - yi * s  # y s keeps a NaN
                if weighted:
                    gi *= sb[i]
                    li *= sb[i]
                g[i] = gi
                gs += gi
                ls += li
            acc[p] += gs
            acc[p + 1] += ls
            for i in range(m):
                mi = eta[i] if yb[i] > 0.5 else -eta[i]
                if mi < low and (not weighted or sb[i] > 0.0):
                    low = mi
            for i in range(m):
                gi = g[i]
                for j in range(p):
                    acc[j] += gi * Xb[i, j]
        acc[p + 2] = low
        out[k, :] = acc
    res = np.empty(p + 3)
    for j in range(p + 2):
        res[j] = out[:, j].sum()
    res[p + 2] = out[:, p + 2].min()
    return res


def _poisson_rows(
    X: Any, y: Any, sw: Any, w: Any, c: float, chunks: int
) -> Any:  # pragma: no cover - compiled
    """``[G (p), gsum, value, max eta]`` of the Poisson loss, blocked as the log loss."""
    n, p = X.shape
    weighted = sw.shape[0] > 0
    out = np.zeros((chunks, p + 3))
    size = (n + chunks - 1) // chunks
    for k in prange(chunks):
        lo = k * size
        hi = min(n, lo + size)
        acc = np.zeros(p + 2)
        eta = np.empty(_B)
        e = np.empty(_B)
        bits = np.empty(_B)
        g = np.empty(_B)
        top = -np.inf
        for b0 in range(lo, hi, _B):
            m = min(_B, hi - b0)
            for i in range(m):
                s = c
                for j in range(p):
                    s += X[b0 + i, j] * w[j]
                eta[i] = s
            _exp_into(eta, e, bits, m)
            gs = 0.0
            ls = 0.0
            for i in range(m):
                s = eta[i]
                yi = y[b0 + i]
                gi = e[i] - yi
                li = e[i] - yi * s
                if weighted:
                    gi *= sw[b0 + i]
                    li *= sw[b0 + i]
                g[i] = gi
                gs += gi
                ls += li
            for i in range(m):
                top = max(top, eta[i])
            acc[p] += gs
            acc[p + 1] += ls
            for i in range(m):
                gi = g[i]
                for j in range(p):
                    acc[j] += gi * X[b0 + i, j]
        out[k, : p + 2] = acc
        out[k, p + 2] = top
    res = np.zeros(p + 3)
    for k in range(chunks):
        res[: p + 2] += out[k, : p + 2]
    res[p + 2] = out[:, p + 2].max()
    return res


def _softmax_rows(
    X: Any, y: Any, sw: Any, WT: Any, c: Any, K: int, chunks: int
) -> Any:  # pragma: no cover - compiled
    """``[G (K p), gsum (K), value]`` of the softmax loss, in blocks of ``_R`` rows.

    ``WT`` is ``W`` (``K x p``) transposed, its columns padded with zeros to a multiple of
    4; ``c`` holds the intercepts. The two
    products run in register tiles (:mod:`descend.linear_model._tiles`): ``eta`` four
    rows by up to twelve classes at a time, the gradient ``G += E Xb`` four classes by
    twelve features (where the CPU has AVX-512: eight rows, and five classes by 24
    features). The softmax runs over the block, class by class, each loop
    vectorized over the rows (``E`` is held classes by rows), ``exp`` by
    :func:`_exp_inplace` on ``eta - max eta <= 0``; without weights, one ``log`` a block
    (of the product of the rows' sums, each in ``[1, K]``). A chunk's last, short block
    is copied into a block padded with zero rows (their ``E`` is set to 0), so the tiles
    always see ``_R`` rows.

    The gradient's tiles prefetch the block ``_AHEAD`` blocks on, a few cache lines before
    each tile. Without it the tiles' first reads of rows from memory stall the arithmetic
    (the pass took 1.5x as long); reading the block ahead all at once, by loads or by
    prefetches, stalled it about as long.
    """
    n, p = X.shape
    Kp = WT.shape[1]
    p4 = p - p % 4
    weighted = sw.shape[0] > 0
    out = np.zeros((chunks, K * (p + 1) + 1))
    lines = (_R * p + 7) // 8  # cache lines of a block
    calls = tiles(K, p, _BAND_G)  # tiles of the gradient, a block
    per = (lines + calls - 1) // max(calls, 1)
    size = (n + chunks - 1) // chunks
    Xf = X.reshape(-1)
    for k in prange(chunks):
        lo = k * size
        hi = min(n, lo + size)
        G = np.zeros((K, p))
        gs = np.zeros(K)
        ETA = np.empty((_R, Kp))  # rows by (padded) classes, as the tiles write it
        E = np.zeros((K, _R))  # E[m, t]: class m of row t, rows contiguous
        Ef = E.reshape(-1)
        Xpad = np.zeros((_R, p))
        bits = np.empty(_R * K)
        ey = np.empty(_R)
        top = np.empty(_R)
        tot = np.empty(_R)
        scale = np.empty(_R)
        val = 0.0
        for b0 in range(lo, hi, _R):
            r = min(_R, hi - b0)
            if r == _R:
                Xb = X[b0 : b0 + _R]
            else:
                Xpad[:r] = X[b0 : b0 + r]
                Xpad[r:] = 0.0
                Xb = Xpad
            yb = y[b0 : b0 + r]
            # eta = Xb W' (a band of BAND rows at a time), then E = eta' + c, classes by rows
            ETA[:] = 0.0
            bands(Xb, p, 1, WT, ETA, _R, p, Kp, BAND, Xf, 0, 0, 0)
            for m in range(K):
                for t in range(_R):
                    E[m, t] = c[m] + ETA[t, m]
            # the softmax over the block, each step vectorized over its _R rows (a short
            # block's padded rows, eta = c, are set to 0 before they reach gs and G)
            for t in range(_R):
                top[t] = E[0, t]
            for m in range(1, K):
                for t in range(_R):
                    top[t] = max(top[t], E[m, t])
            for m in range(K):
                for t in range(_R):
                    E[m, t] -= top[t]
            for t in range(r):
                ey[t] = E[yb[t], t]
            _exp_inplace(Ef, bits, K * _R)
            for t in range(_R):
                tot[t] = 0.0
            for m in range(K):
                for t in range(_R):
                    tot[t] += E[m, t]
            if weighted:
                for t in range(r):
                    wi = sw[b0 + t]
                    val += wi * (math.log(tot[t]) - ey[t])
                    scale[t] = wi / tot[t]
            else:  # one log a block: the product of r sums in [1, K] stays finite
                prod = 1.0
                for t in range(r):
                    prod *= tot[t]
                    val -= ey[t]
                    scale[t] = 1.0 / tot[t]
                val += math.log(prod)
            for m in range(K):
                for t in range(_R):
                    E[m, t] *= scale[t]
                for t in range(r, _R):  # padded rows: 0, even where W's inf made eta NaN
                    E[m, t] = 0.0
            for t in range(r):
                E[yb[t], t] -= sw[b0 + t] if weighted else 1.0
            for m in range(K):
                s = 0.0
                for t in range(_R):
                    s += E[m, t]
                gs[m] += s
            # G += E Xb: _BAND_G classes at a time, then the features past a multiple of 4
            at = min(b0 + _AHEAD * _R, n) * p  # the block ahead (none past the end)
            end = min(b0 + (_AHEAD + 1) * _R, n) * p
            bands(E, _R, 1, Xb, G, K, _R, p, _BAND_G, Xf, at, end, per)
            for m in range(K):
                for t in range(r):
                    g = E[m, t]
                    for j in range(p4, p):
                        G[m, j] += g * Xb[t, j]
        out[k, : K * p] = G.ravel()
        out[k, K * p : K * (p + 1)] = gs
        out[k, K * (p + 1)] = val
    return out.sum(axis=0)


def _moment_rows(X: Any, y: Any, c: Any, cy: float, chunks: int) -> Any:  # pragma: no cover
    """``B'B`` over the rows ``B = [X - c, 1, y - cy, 0...]`` (``q``, a multiple of 4,
    columns), flattened: everything :func:`moment_sums` returns, in one read of ``X``.

    A chunk copies ``_GB`` rows at a time, shifted, into a block that stays in the L1
    cache, and adds the block's ``B'B`` in register tiles (:mod:`._tiles`, ``B`` read
    transposed on the left); the whole ``q x q`` square, both triangles.
    """
    n, p = X.shape
    q = (p + 5) // 4 * 4
    out = np.zeros((chunks, q * q))
    size = (n + chunks - 1) // chunks
    for k in prange(chunks):
        lo = k * size
        hi = min(n, lo + size)
        G = np.zeros((q, q))
        Bk = np.zeros((_GB, q))
        for b0 in range(lo, hi, _GB):
            r = min(_GB, hi - b0)
            for t in range(r):
                for j in range(p):
                    Bk[t, j] = X[b0 + t, j] - c[j]
                Bk[t, p] = 1.0
                Bk[t, p + 1] = y[b0 + t] - cy
            bands(Bk, 1, q, Bk, G, q, r, q, BAND, Bk, 0, 0, 0)
        out[k] = G.ravel()
    return out.sum(axis=0)


_LOGISTIC = compile_twins(_logistic_rows)
_POISSON = compile_twins(_poisson_rows)
_SOFTMAX = compile_twins(_softmax_rows)
_MOMENTS = compile_twins(_moment_rows)
PARALLEL_ROWS = 32_768  # fewer rows: one thread (a pass under a millisecond)
_OVERFLOW = math.log(np.finfo(np.float64).max)  # exp(eta) past this is inf


def _pick(pair: tuple[Any, Any], n: int, serial: bool = False) -> Any:
    return pair[0] if n >= PARALLEL_ROWS and not serial else pair[1]


def _fast(X: Any) -> bool:
    return bool(X.flags.c_contiguous and X.dtype == np.float64)


def _weights(sw: Any) -> Any:
    return np.empty(0) if sw is None else np.ascontiguousarray(sw, dtype=np.float64)


def logistic_pass(X: Any, y: Any, sw: Any, w: Any, c: float, *,
                  serial: bool = False) -> tuple[Any, float, float]:
    """``(sum s_i g_i x_i, sum s_i g_i, sum s_i l_i)`` of the log loss at ``eta = c + X w``.

    ``serial``: on the calling thread only (a Dask task: the cluster runs the blocks in
    parallel, and threads of its own in each would fight them for the cores); the same
    sums up to rounding (the twins are compiled apart, and the compiler may order a sum
    differently in each). Every pass here takes it."""
    G, gs, val, _ = logistic_margin_pass(X, y, sw, w, c, serial=serial)
    return G, gs, val


def logistic_margin_pass(
    X: Any, y: Any, sw: Any, w: Any, c: float, *, serial: bool = False
) -> tuple[Any, float, float, float]:
    """:func:`logistic_pass` and the smallest margin ``(2 y_i - 1) eta_i`` over the rows of
    positive weight (inf when there are none): > 0 when ``(c, w)`` separates the classes."""
    if _fast(X):
        s = _pick(_LOGISTIC, X.shape[0], serial)(X, y, _weights(sw), w, float(c),
                                                 n_chunks(X.shape[0]))
        p = X.shape[1]
        return s[:p], float(s[p]), float(s[p + 1]), float(s[p + 2])
    eta = X @ w + c
    e = np.exp(-np.abs(eta))
    g = np.where(eta >= 0, 1.0, e) / (1.0 + e) - y
    loss = np.maximum(eta, 0.0) + np.log1p(e) - y * eta
    margin = np.where(y > 0.5, eta, -eta)
    if sw is not None:
        g, loss, margin = g * sw, loss * sw, margin[sw > 0]
    return X.T @ g, float(g.sum()), float(loss.sum()), float(margin.min(initial=np.inf))


def poisson_pass(
    X: Any, y: Any, sw: Any, w: Any, c: float, *, serial: bool = False
) -> tuple[Any, float, float, float]:
    """``(sum s_i g_i x_i, sum s_i g_i, sum s_i l_i, max eta_i)``, Poisson with log link.

    The value is inf when some ``exp(eta_i)`` overflows (``eta_i > 709.78``).
    """
    if _fast(X):
        s = _pick(_POISSON, X.shape[0], serial)(X, y, _weights(sw), w, float(c),
                                                n_chunks(X.shape[0]))
        p = X.shape[1]
        top = float(s[p + 2])
        value = math.inf if top > _OVERFLOW else float(s[p + 1])
        return s[:p], float(s[p]), value, top
    eta = X @ w + c
    with np.errstate(over="ignore"):
        mu = np.exp(eta)
    g, loss = mu - y, mu - y * eta
    if sw is not None:
        g, loss = g * sw, loss * sw
    top = float(eta.max()) if eta.size else -math.inf
    value = math.inf if top > _OVERFLOW else float(loss.sum())
    return X.T @ g, float(g.sum()), value, top


def softmax_pass(X: Any, y: Any, sw: Any, W: Any, c: Any, *,
                 serial: bool = False) -> tuple[Any, Any, float]:
    """``(G (K, p), gsum (K,), sum s_i l_i)`` of the multinomial log loss.

    ``y`` holds class indices ``0 .. K-1`` (int64), ``W`` is ``(K, p)``, ``c`` ``(K,)``.
    """
    K, p = W.shape
    if _fast(X):
        WT = np.zeros((p, -(-K // 4) * 4))
        WT[:, :K] = W.T
        s = _pick(_SOFTMAX, X.shape[0], serial)(X, y, _weights(sw), WT, np.asarray(c, float),
                                                K, n_chunks(X.shape[0]))
        return s[: K * p].reshape(K, p), s[K * p : K * (p + 1)], float(s[K * (p + 1)])
    eta = X @ W.T + c
    top = eta.max(axis=1, keepdims=True)
    e = np.exp(eta - top)
    tot = e.sum(axis=1, keepdims=True)
    rows = np.arange(X.shape[0])
    loss = np.log(tot[:, 0]) - (eta[rows, y] - top[:, 0])
    g = e / tot
    g[rows, y] -= 1.0
    if sw is not None:
        g, loss = g * sw[:, None], loss * sw
    return g.T @ X, g.sum(axis=0), float(loss.sum())


def moment_sums(X: Any, y: Any, c: Any, cy: float) -> Any:
    """The sums of :func:`descend.linear_model._losses.shifted_sums` about ``(c, cy)``,
    ``[n, sum y', sum y'^2, sum x' (p), X'^T y' (p), X'^T X' (p * p)]``, in one parallel
    read of a C-ordered float64 ``X`` (a compiled pass: worth it on tall, narrow ``X``,
    which :func:`descend.linear_model._glm_losses.moments` gives it)."""
    n, p = X.shape
    yv = np.ascontiguousarray(y, dtype=np.float64).reshape(-1)
    cv = np.ascontiguousarray(c, dtype=np.float64).reshape(-1)
    if yv.shape[0] != n or cv.shape[0] != p:  # the kernel does not check its reads
        raise ValueError(f"moment_sums: y of {n} values and c of {p} expected, got "
                         f"{yv.shape[0]} and {cv.shape[0]}")
    s = _pick(_MOMENTS, n)(X, yv, cv, float(cy), n_chunks(n))
    q = math.isqrt(s.size)  # the kernel's square, p + 2 columns padded to a multiple of 4
    return square_sums(s.reshape(q, q), n, p)
