"""GLM kernels and loss objects against plain NumPy formulas and finite differences."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, logsumexp, xlogy

from descend.errors import DataError
from descend.linear_model import _glm_kernels as K
from descend.linear_model._glm_losses import (
    LogisticLoss,
    PoissonLoss,
    SoftmaxLoss,
    SquaredLoss,
    moments,
)
from descend.linear_model._glm_prox import Penalty, elastic_net_prox, soft_threshold

RTOL = 1e-12


def data(n: int = 5000, p: int = 7, seed: int = 0, offset: float = 0.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 3.0, p) + offset
    w = rng.standard_normal(p) * 0.4
    sw = rng.uniform(0.0, 3.0, n)
    return rng, X, w, sw


# ----------------------------------------------------------------- the kernels
def numpy_logistic(X, y, sw, w, c):
    eta = X @ w + c
    g = (expit(eta) - y) * sw
    return X.T @ g, g.sum(), float(sw @ (np.logaddexp(0.0, eta) - y * eta))


def numpy_poisson(X, y, sw, w, c):
    eta = X @ w + c
    mu = np.exp(eta)
    g = (mu - y) * sw
    return X.T @ g, g.sum(), float(sw @ (mu - y * eta)), eta.max()


def numpy_softmax(X, y, sw, W, c):
    eta = X @ W.T + c
    lse = logsumexp(eta, axis=1)
    P = np.exp(eta - lse[:, None])
    P[np.arange(len(y)), y] -= 1.0
    G = (P * sw[:, None]).T
    return G @ X, G.sum(axis=1), float(sw @ (lse - eta[np.arange(len(y)), y]))


def close(a, b, rtol=RTOL):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = max(float(np.abs(b).max()), 1e-300)
    assert np.abs(a - b).max() <= rtol * scale, (a, b)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("n", [1, 130, 5000, 70001])
def test_logistic_and_poisson_passes_match_numpy(weighted, order, n):
    rng, X, w, sw = data(n)
    X = np.asarray(X, order=order)
    ones = np.ones(n)
    s = sw if weighted else None
    y = (rng.random(n) < expit(X @ w)).astype(float)
    for got, want in zip(K.logistic_pass(X, y, s, w, 0.3),
                         numpy_logistic(X, y, sw if weighted else ones, w, 0.3), strict=True):
        close(got, want)
    counts = rng.poisson(np.exp(0.3 + X @ w)).astype(float)
    for got, want in zip(K.poisson_pass(X, counts, s, w, 0.3),
                         numpy_poisson(X, counts, sw if weighted else ones, w, 0.3), strict=True):
        close(got, want)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize(("n", "k", "p"), [
    (9000, 4, 6), (1, 3, 6), (7, 2, 6), (13, 5, 6), (29, 10, 6), (40_001, 10, 6),
    (37, 1, 13), (50, 3, 1), (50, 7, 3), (61, 9, 8), (45, 6, 28), (33_000, 11, 100),
    (300, 13, 20), (200, 21, 16), (100, 30, 45), (70, 9, 12)])
def test_softmax_pass_matches_numpy(weighted, order, n, k, p):
    """Every tail of the kernel's blocking: rows not a multiple of 16 or 4 (a chunk's
    last block is padded), classes not a multiple of 4 (the tiles' last band, the padded
    columns of ``W'``), features past a multiple of 12 and of 4 (the smaller tiles, the
    scalar rest), one thread and (from ``PARALLEL_ROWS``) several."""
    rng, X, _, sw = data(n, p)
    X = np.asarray(X, order=order)
    W, c = rng.standard_normal((k, p)) / np.sqrt(p), rng.standard_normal(k)
    y = rng.integers(0, k, X.shape[0])
    got = K.softmax_pass(X, y, sw if weighted else None, W, c)
    want = numpy_softmax(X, y, sw if weighted else np.ones(X.shape[0]), W, c)
    for a, b in zip(got, want, strict=True):
        close(a, b)


def test_serial_passes_equal_the_parallel_ones():
    """``serial=True`` (a Dask task's pass, on its own thread) gives the parallel pass's
    sums to rounding: the same chunks, in twins the compiler may vectorize differently."""
    from descend.linear_model._kernels import huber_pass

    rng, X, w, _ = data(40_000, 6)
    y = (rng.random(40_000) < 0.4).astype(float)
    W, c = rng.standard_normal((3, 6)), rng.standard_normal(3)
    k = rng.integers(0, 3, 40_000)
    pairs = [(K.logistic_margin_pass, (X, y, None, w, 0.2)),
             (K.poisson_pass, (X, y, None, w * 0.1, 0.2)),
             (K.softmax_pass, (X, k, None, W, c)),
             (huber_pass, (X, y, w, 0.2, 1.0))]
    for fn, args in pairs:
        for a, b in zip(fn(*args), fn(*args, serial=True), strict=True):
            close(a, b, rtol=1e-14)
    for pair in (K._LOGISTIC, K._POISSON, K._SOFTMAX):
        assert K._pick(pair, 40_000) is pair[0] and K._pick(pair, 40_000, True) is pair[1]


def test_dask_tasks_take_one_thread_on_a_pool_thread(monkeypatch):
    """A block's pass is serial on a pool's thread (a worker's: other tasks run beside
    it) and parallel on the main thread (blocks in memory, one after another)."""
    import threading

    from descend.linear_model import _dask_tasks, _kernels

    seen = []

    def record(*args, serial=False):
        seen.append(serial)
        return (np.zeros(2), 0.0, 0.0)

    monkeypatch.setattr(K, "logistic_pass", record)
    monkeypatch.setattr(_kernels, "huber_pass", record)
    X, y, w = np.zeros((3, 2)), np.zeros(3), np.zeros(2)

    def both():
        _dask_tasks._glm_block("logistic", X, y, w, 0.0)
        _dask_tasks._huber_block(X, y, w, 0.0, 1.0)

    both()
    worker = threading.Thread(target=both)
    worker.start()
    worker.join()
    assert seen == [False, False, True, True]


def test_softmax_pass_keeps_a_nan_of_x():
    """A NaN in one row turns the value and the gradient NaN, whichever block holds it
    (a full one or a chunk's padded last one)."""
    rng, X, _, _ = data(1000, 13)
    W, c = rng.standard_normal((5, 13)), rng.standard_normal(5)
    y = rng.integers(0, 5, 1000)
    for row in (3, 999):
        Xn = X.copy()
        Xn[row, 2] = np.nan
        G, gs, value = K.softmax_pass(Xn, y, None, W, c)
        assert np.isnan(value) and np.isnan(G).any() and np.isnan(gs).any()
    G, _, value = K.softmax_pass(X, y, None, W, c)
    assert np.isfinite(value) and np.isfinite(G).all()


@pytest.mark.parametrize("n", [20, 32, 40_001])
def test_softmax_pass_with_an_infinite_coefficient(n):
    """A class whose coefficient is -inf on a positive feature never wins: the pass is
    finite and equals NumPy's, a chunk's padded last block included (its zero rows meet
    0 * inf)."""
    rng = np.random.default_rng(4)
    X = rng.random((n, 5)) + 0.1
    W, c = rng.standard_normal((3, 5)), np.zeros(3)
    W[0, 0] = -np.inf
    y = rng.integers(1, 3, n)
    for sw in (None, rng.random(n)):
        got = K.softmax_pass(X, y, sw, W, c)
        want = numpy_softmax(X, y, np.ones(n) if sw is None else sw, W, c)
        for a, b in zip(got, want, strict=True):
            assert np.all(np.isfinite(a))
            close(a, b)


@pytest.mark.parametrize(("n", "p"), [(0, 3), (1, 1), (127, 2), (129, 5), (1000, 20), (300, 63),
                                    (40_001, 1), (40_001, 22), (33_000, 64)])
@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_moment_sums_match_blas(n, p, offset):
    """The compiled moments pass equals the BLAS sums (shifted or not) for every tail of
    its blocks (rows past a multiple of 128, columns ``p + 2`` past a multiple of 4), on
    one thread and (from 32,768 rows) on several; a NaN in X reaches the sums."""
    from descend.linear_model import _losses

    rng, X, _, _ = data(n, p, offset=offset)
    y = rng.standard_normal(n) * 2 + offset
    c, cy = _losses.pick_shift(X, y)
    got, want = K.moment_sums(X, y, c, cy), _losses.shifted_sums(X, y, c, cy)
    assert got.shape == want.shape
    assert got[0] == n
    close(got, want, rtol=1e-12)
    if n:  # a NaN in X's last column reaches its sums only; an inf in y, y's sums
        X[n // 2, p - 1] = np.nan
        s = K.moment_sums(X, y, c, cy)
        sx, xy, G = s[3 : 3 + p], s[3 + p : 3 + 2 * p], s[3 + 2 * p :].reshape(p, p)
        assert np.isfinite(s[:3]).all()
        assert np.isnan(sx[-1]) and np.isnan(xy[-1])
        assert np.isnan(G[-1]).all() and np.isnan(G[:, -1]).all()
        assert np.isfinite(sx[:-1]).all() and np.isfinite(xy[:-1]).all()
        assert np.isfinite(G[:-1, :-1]).all()
        X[n // 2, p - 1] = 0.0
        y[n - 1] = np.inf
        s = K.moment_sums(X, y, c, cy)
        assert np.isinf(s[1]) and np.isinf(s[2])
        assert np.isfinite(s[3 : 3 + p]).all() and np.isfinite(s[3 + 2 * p :]).all()
        assert not np.isfinite(s[3 + p : 3 + 2 * p]).any()
    with pytest.raises(ValueError, match="y of"):
        K.moment_sums(X, y[:-1] if n else np.zeros(1), c, cy)


def test_moments_take_the_compiled_pass_only_where_it_pays(monkeypatch):
    """``moments(fused=True)`` (the GLM losses') sums tall, narrow C-ordered X in the
    compiled pass, anything else by BLAS, and both give the same statistics."""
    from descend.linear_model import _glm_losses

    rng, X, _, _ = data(40_000, 6, offset=3.0)
    y = rng.standard_normal(40_000)
    assert _glm_losses._fused_moments(X)
    for other in (np.asfortranarray(X), X[:1000], X.astype(np.float32)):
        assert not _glm_losses._fused_moments(other)
    assert not _glm_losses._fused_moments(np.zeros((40_000, 65)))
    fused = _glm_losses.moments(X, y, fused=True)
    for blas in (_glm_losses.moments(X, y), _glm_losses.moments(np.asfortranarray(X), y,
                                                                 fused=True)):
        for name in ("mu", "ybar", "H", "q", "yy"):
            close(getattr(fused, name), getattr(blas, name), rtol=1e-12)
        assert fused.n == blas.n == 40_000
    calls = []
    real = K.moment_sums
    monkeypatch.setattr(K, "moment_sums", lambda *a: calls.append(1) or real(*a))
    _glm_losses.moments(X, y)  # the squared loss's: BLAS, nothing to compile
    assert not calls
    _glm_losses.moments(X, y, fused=True)
    assert calls == [1]


def test_tiles_match_numpy():
    """The register tile, and the strips over every band of rows, every shape they take
    (in this CPU's layout: the next test runs the other)."""
    from numba import njit

    from descend.linear_model._tiles import BAND, bands, tile, tiles

    @njit
    def every_band(A, B, C, per, MR):
        P = np.zeros(1000)  # prefetches of P's lines: from 3 in steps of 8, below 1000
        if MR == 4:
            return bands(A, A.shape[1], 1, B, C, A.shape[0], A.shape[1], B.shape[1], 4, P, 3,
                         1000, per)
        if MR == 5:
            return bands(A, A.shape[1], 1, B, C, A.shape[0], A.shape[1], B.shape[1], 5, P, 3,
                         1000, per)
        return bands(A, A.shape[1], 1, B, C, A.shape[0], A.shape[1], B.shape[1], 8, P, 3,
                     1000, per)

    @njit
    def one(A, B, C):
        tile(A, 1, 3, 1, B, 2, 14, C, 1, 14, 3, 2, 2)
        tile(A, 7, 3, 1, B, 2, 14, C, 29, 14, 3, 2, 3)
        tile(A, 0, 1, 4, B, 2, 14, C, 60, 14, 3, 2, 3)  # A read transposed

    rng = np.random.default_rng(5)
    shapes = [(4, 7, 12), (7, 1, 28), (3, 16, 8), (9, 5, 4), (2, 0, 16), (5, 9, 13),
              (19, 4, 44), (10, 16, 100), (16, 100, 12), (13, 3, 20), (8, 2, 24), (6, 5, 52)]
    for rows, depth, width in shapes:
        A, B = rng.standard_normal((rows, depth)), rng.standard_normal((depth, width))
        C0 = rng.standard_normal((rows, width))
        w4 = width - width % 4
        for MR in sorted({4, 5, BAND}):
            n_tiles = tiles(rows, width, MR)
            for per in (0, 1, 5):
                got = every_band(A, B, C0.copy(), per, MR)
                assert got == min(3 + 8 * per * n_tiles, 3 + 8 * 125)
            C = C0.copy()
            every_band(A, B, C, 1, MR)
            want = C0 + A @ B
            assert np.allclose(C[:, :w4], want[:, :w4], rtol=1e-13, atol=1e-13)
            assert np.array_equal(C[:, w4:], C0[:, w4:])  # the rest is the caller's
    A, B, C = rng.standard_normal(14), rng.standard_normal(50), np.zeros(90)
    one(A, B, C)  # offsets, leading dimensions and steps of flat arrays
    want = np.zeros(90)
    for a0, lda, sda, c0, cols in ((1, 3, 1, 1, 8), (7, 3, 1, 29, 12), (0, 1, 4, 60, 12)):
        for i in range(2):
            for j in range(cols):
                want[c0 + 14 * i + j] += sum(A[a0 + lda * i + sda * d] * B[2 + 14 * d + j]
                                             for d in range(3))
    assert np.allclose(C, want, rtol=1e-14, atol=1e-14)


@pytest.mark.slow
def test_other_tile_layout(tmp_path):
    """The tiles, the softmax and moments passes in the layout this CPU does not pick (8-wide
    registers where it has no AVX-512, 4-wide where it has): the same tests pass."""
    from descend.linear_model._tiles import WIDE

    env = {**os.environ, "DESCEND_TILES": "narrow" if WIDE else "wide",
           "NUMBA_CACHE_DIR": str(tmp_path)}
    flipped = subprocess.run([sys.executable, "-c", "from descend.linear_model._tiles "
                              "import WIDE; print(WIDE)"], env=env, capture_output=True,
                             text=True, timeout=120)
    assert flipped.stdout.strip() == str(not WIDE), flipped.stderr
    tests = ("(test_tiles_match_numpy or test_softmax_pass_matches_numpy or "
             "test_softmax_pass_with_an_infinite_coefficient or test_moment_sums_match_blas)"
             " and not 33000 and not 40001")
    # one thread only: the parallel twin's compile would double the time, not the tiles
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          __file__, "-k", tests], env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout


def test_vectorized_exp_within_one_ulp():
    x = np.concatenate([np.linspace(-708.0, 709.0, 200_001),
                        np.random.default_rng(1).standard_normal(100_000) * 3])
    out, bits = np.empty_like(x), np.empty_like(x)
    K._exp_into(x, out, bits, x.size)
    ref = np.exp(x)
    assert np.max(np.abs(out - ref) / ref) <= 2 * np.finfo(np.float64).eps
    inplace = x.copy()
    K._exp_inplace(inplace, bits, x.size)
    assert np.array_equal(inplace, out)
    below = np.array([-1e4, -745.0, -709.0])
    K._exp_into(below, out, bits, 3)
    assert np.all((out[:3] > 0) & (out[:3] <= np.exp(-708.0) * (1 + 1e-15)))


def test_log1p_without_libm_within_three_ulps():
    from numba import njit

    @njit
    def many(e):
        out = np.empty_like(e)
        for i in range(e.size):
            out[i] = K._log1p01(e[i])
        return out

    split = 0.41421356237309503  # where the range reduction switches
    e = np.concatenate([np.linspace(0.0, 1.0, 200_001), np.logspace(-320, 0, 5000),
                        [split, np.nextafter(split, 1.0), np.nextafter(split, 0.0)]])
    ref = np.log1p(e)
    ulps = np.abs(many(e) - ref) / np.spacing(np.maximum(ref, 5e-324))
    assert ulps.max() <= 3.0


def test_extreme_predictors_stay_finite_and_honest():
    X = np.array([[1.0], [1.0], [-1.0], [-1.0]] * 40)
    y = np.array([1.0, 0.0, 1.0, 0.0] * 40)
    w = np.array([800.0])
    G, gs, val = K.logistic_pass(X, y, None, w, 0.0)
    eta = X[:, 0] * 800
    assert val == pytest.approx(float(np.sum(np.logaddexp(0, eta) - y * eta)), rel=RTOL)
    assert np.isfinite(G).all() and np.isfinite(gs)
    # Poisson: exp(eta) overflows past eta = 709.78; the value says so
    assert K.poisson_pass(X, y, None, np.array([710.0]), 0.0)[2] == np.inf
    one = K.poisson_pass(X[:1], y[:1], None, np.array([709.0]), 0.0)
    assert one[2] == pytest.approx(np.exp(709.0) - 709.0, rel=RTOL) and one[3] == 709.0
    # a NaN in X reaches the value, whatever the label
    Xn = X.copy()
    Xn[3, 0] = np.nan
    assert np.isnan(K.logistic_pass(Xn, np.zeros(len(y)), None, np.array([0.5]), 0.0)[2])
    assert np.isnan(K.poisson_pass(Xn, np.zeros(len(y)), None, np.array([0.5]), 0.0)[2])


# ----------------------------------------------------------------- moments
@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_weighted_moments_match_numpy(offset):
    rng, X, w, sw = data(10_000, 5, offset=offset)
    y = X @ w + rng.standard_normal(X.shape[0])
    m = moments(X, y, sw)
    mu = sw @ X / sw.sum()
    Xc = X - mu
    close(m.mu, mu, 1e-13)
    close(m.H, (Xc * sw[:, None]).T @ Xc / sw.sum(), 1e-9)
    close(m.q, (Xc * sw[:, None]).T @ (y - m.ybar) / sw.sum(), 1e-9)
    assert m.wsum == pytest.approx(sw.sum(), rel=1e-14)


# ----------------------------------------------------------------- loss objects
def build(kind: str, weighted: bool, fit_intercept: bool, standardize: bool, seed: int = 0):
    rng, X, w, sw = data(3000, 5, seed=seed, offset=2.0)
    s = sw if weighted else None
    opts = {"fit_intercept": fit_intercept, "standardize": standardize}
    if kind == "logistic":
        y = (rng.random(X.shape[0]) < expit(X @ w - 0.5)).astype(float)
        return LogisticLoss.local(X, y, s, **opts), X, y, sw
    if kind == "poisson":
        y = rng.poisson(np.exp(0.2 * (X - 2.0) @ w)).astype(float)
        return PoissonLoss.local(X, y, s, **opts), X, y, sw
    if kind == "softmax":
        y = rng.integers(0, 3, X.shape[0])
        return SoftmaxLoss.local(X, y, 3, s, **opts), X, y, sw
    y = X @ w + rng.standard_normal(X.shape[0])
    return SquaredLoss.local(X, y, s, **opts), X, y, sw


def direct_value(kind, X, y, sw, b, coef):
    """The loss in original units by plain NumPy: the mean the objects promise."""
    if kind == "softmax":
        eta = X @ coef.T + b
        per = logsumexp(eta, axis=1) - eta[np.arange(len(y)), y]
    else:
        eta = X @ coef + b
        if kind == "logistic":
            per = np.logaddexp(0.0, eta) - y * eta
        elif kind == "poisson":
            per = np.exp(eta) - y * eta + xlogy(y, y) - y
        else:
            per = 0.5 * (y - eta) ** 2
    return float(sw @ per / sw.sum())


KINDS = ["logistic", "poisson", "softmax", "squared"]
CASES = [(k, wt, fi, sd) for k in KINDS for wt in (False, True) for fi in (True, False)
         for sd in (True, False)]


@pytest.mark.parametrize(("kind", "weighted", "fit_intercept", "standardize"), CASES)
def test_value_and_gradient(kind, weighted, fit_intercept, standardize):
    loss, X, y, sw = build(kind, weighted, fit_intercept, standardize)
    rng = np.random.default_rng(5)
    theta = rng.standard_normal(loss.n_theta) * 0.2
    f, g = loss.value_grad(theta)
    b, coef = loss.to_original(theta)
    assert f == pytest.approx(direct_value(kind, X, y, sw if weighted else np.ones(len(y)),
                                           b, coef), rel=1e-11)
    h = 1e-6
    fd = np.array([(loss.value_grad(theta + h * e)[0] - loss.value_grad(theta - h * e)[0])
                   / (2 * h) for e in np.eye(loss.n_theta)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7 * max(1.0, abs(f)))
    back = loss.to_working(*loss.to_original(theta))
    np.testing.assert_allclose(back, theta, rtol=1e-12, atol=1e-12)


def numeric_hessian(loss, theta, h=1e-5):
    cols = [(loss.value_grad(theta + h * e)[1] - loss.value_grad(theta - h * e)[1]) / (2 * h)
            for e in np.eye(loss.n_theta)]
    H = np.array(cols)
    return (H + H.T) / 2


@pytest.mark.parametrize(("kind", "weighted", "fit_intercept", "standardize"),
                         [c for c in CASES if c[0] != "poisson"])
def test_curvature_matrix_bounds_the_hessian(kind, weighted, fit_intercept, standardize):
    loss, *_ = build(kind, weighted, fit_intercept, standardize)
    M = loss.curvature_matrix()
    assert M.shape == (loss.n_theta, loss.n_theta)
    assert loss.curvature_bound() == pytest.approx(np.linalg.eigvalsh(M)[-1], rel=1e-9)
    rng = np.random.default_rng(2)
    for scale in (0.0, 0.3, 3.0):
        theta = rng.standard_normal(loss.n_theta) * scale
        H = numeric_hessian(loss, theta)
        assert np.linalg.eigvalsh(M - H)[0] >= -1e-6 * np.abs(M).max()
        if kind == "squared":
            np.testing.assert_allclose(H, M, atol=1e-6 * np.abs(M).max())


def test_poisson_curvature_is_local_and_exact_scale_at_the_optimum_intercept():
    loss, *_ = build("poisson", False, True, True)
    assert not loss.global_bound
    theta = np.zeros(loss.n_theta)
    theta[0] = np.log(loss.moments.ybar)  # the optimum of the intercept-only model
    loss.value_grad(theta)
    H = numeric_hessian(loss, theta)
    assert H[0, 0] == pytest.approx(loss.curvature_matrix()[0, 0], rel=1e-6)
    assert np.linalg.eigvalsh(H)[-1] <= loss.curvature_bound() * (1 + 1e-6)


@pytest.mark.parametrize("kind", ["logistic", "softmax", "squared", "poisson"])
def test_precondition_solves_the_majorizer(kind):
    loss, *_ = build(kind, False, True, True)
    rng = np.random.default_rng(3)
    pen = Penalty.make(0.05, 0.0, loss.scaling, loss.n_outputs)
    g = loss.value_grad(rng.standard_normal(loss.n_theta) * 0.1)[1] + pen.l2
    d = loss.precondition(g, pen.l2)
    M = loss.curvature_matrix() + np.diag(pen.l2)
    np.testing.assert_allclose(M @ d, g, rtol=1e-9, atol=1e-11 * np.abs(g).max())


def test_integer_weights_equal_repeated_rows():
    rng, X, _, _ = data(400, 3)
    reps = rng.integers(0, 4, X.shape[0])
    y = (rng.random(X.shape[0]) < 0.4).astype(float)
    a = LogisticLoss.local(X, y, reps.astype(float))
    b = LogisticLoss.local(np.repeat(X, reps, axis=0), np.repeat(y, reps))
    theta = rng.standard_normal(a.n_theta)
    # same data, so the same scaling, value and gradient
    np.testing.assert_allclose(a.scaling.scale, b.scaling.scale, rtol=1e-12)
    fa, ga = a.value_grad(theta)
    fb, gb = b.value_grad(theta)
    assert fa == pytest.approx(fb, rel=1e-12)
    np.testing.assert_allclose(ga, gb, rtol=1e-10, atol=1e-13)


def test_bad_labels_and_weights_are_refused():
    X = np.ones((3, 1))
    with pytest.raises(DataError, match="labels 0 and 1"):
        LogisticLoss.local(X, np.array([0.0, 2.0, 1.0]))
    with pytest.raises(DataError, match="values >= 0"):
        PoissonLoss.local(X, np.array([1.0, -1.0, 1.0]))
    with pytest.raises(DataError, match="class indices"):
        SoftmaxLoss.local(X, np.array([0, 3, 1]), 3)
    with pytest.raises(DataError, match="sample_weight"):
        SquaredLoss.local(X, np.ones(3), np.array([1.0, -1.0, 1.0]))
    with pytest.raises(DataError, match="expected 3 values"):
        SquaredLoss.local(X, np.ones(3), np.ones(2))


# ----------------------------------------------------------------- proximal maps
floats = st.floats(-1e6, 1e6, allow_nan=False)


@given(floats, st.floats(0, 1e3), st.floats(0, 1e3))
@settings(max_examples=300, deadline=None)
def test_elastic_net_prox_is_the_minimizer(x, t1, t2):
    z = float(elastic_net_prox(np.array([x]), t1, t2)[0])

    def obj(u: float) -> float:
        return 0.5 * (u - x) ** 2 + t1 * abs(u) + 0.5 * t2 * u * u

    for u in (z - 1e-3 * (1 + abs(z)), z + 1e-3 * (1 + abs(z)), 0.0, x):
        assert obj(z) <= obj(u) + 1e-9 * (1 + abs(obj(u)))
    if abs(x) <= t1:
        assert z == 0.0
    assert float(soft_threshold(np.array([x]), t1)[0]) == np.sign(x) * max(abs(x) - t1, 0.0)


def test_penalty_weights_are_the_original_units_penalty():
    loss, *_ = build("squared", False, True, True)
    pen = Penalty.make(0.3, 0.25, loss.scaling)
    theta = np.random.default_rng(4).standard_normal(loss.n_theta)
    _, coef = loss.to_original(theta)
    want = 0.3 * (0.25 * np.abs(coef).sum() + 0.75 / 2 * (coef @ coef))
    assert pen.value(theta) == pytest.approx(want, rel=1e-13)
    assert pen.l1[0] == 0.0 and pen.l2[0] == 0.0  # the intercept is not penalized
    v, g = pen.smooth(theta)
    assert v == pytest.approx(0.75 / 2 * 0.3 * (coef @ coef), rel=1e-13)
    np.testing.assert_allclose(g, pen.l2 * theta)
