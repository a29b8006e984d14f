"""The NumPy batch loop's screen: the rules tested in bulk, a block of steps at a time.

Within a block the loop keeps a few running reductions per run (the largest and smallest
f, each gradient component's smallest square, the last point and gradient); only the runs
they flag are stepped through the block again and given to the rules step by step. A run
in a batch must end exactly as the same run alone, whose rules are tested at every step:
status, steps, point, message and counts, wherever in a block it stops (at its first step,
on a block's boundary, beside runs diverging in the same block).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from descend import _loop, functions, linesearch, minimize, optimizers, sweep
from descend._batch import BLOCK_FIXED
from descend._minimize import run_batch
from descend.objective import Objective, as_objective
from descend.stopping import Criteria


@pytest.fixture(autouse=True)
def _numpy_backend(monkeypatch):
    monkeypatch.setenv("DESCEND_NO_COMPILE", "1")  # the compiled loop: test_compiled.py


def _quadratic(a: float, b: float, c: float) -> Objective:
    """f = a x^2 + b y^2 + c x y, vectorized (points (p,) or (K, p)), not of the catalog."""

    def fun(v):
        x, y = v[..., 0], v[..., 1]
        return a * x * x + b * y * y + c * x * y

    def grad(v):
        x, y = v[..., 0], v[..., 1]
        return np.stack([2.0 * a * x + c * y, 2.0 * b * y + c * x], axis=-1)

    return Objective(fun=fun, grad=grad, p=2, vectorized=True, name="quadratic")


def _head(message: str) -> str:
    """A message without what only a recorded path tells (the best point, the hint)."""
    return re.sub(r" \(not converged: .*\)$", "", message.split("; ended above its best")[0])


def _agree(fun, starts, dtype=np.float64, **kw) -> list[int]:
    """The batch (NumPy backend, nothing recorded) against each run alone; returns the
    steps each run took."""
    starts = np.asarray(starts, dtype=dtype)
    out = run_batch(as_objective(fun), starts, record=False, backend="numpy", **kw)
    nits = []
    for k, x0 in enumerate(starts):
        alone = minimize(fun, x0, **kw)
        got = out.result(k)
        assert (got.status, got.nit, got.reason) == (alone.status, alone.nit, alone.reason)
        np.testing.assert_allclose(got.x, alone.x, rtol=1e-13, atol=0)
        assert (got.nfev, got.njev) == (alone.nfev, alone.njev)
        assert _head(out.message(k)) == _head(alone.message)
        nits.append(alone.nit)
    return nits


coords = st.one_of(st.just(0.0), st.floats(-5, 5), st.floats(-1e-7, 1e-7))


@settings(max_examples=60, deadline=None)
@given(
    starts=st.lists(st.tuples(coords, coords), min_size=1, max_size=12),
    abc=st.tuples(st.floats(0.05, 3.0), st.floats(0.05, 60.0), st.floats(-0.2, 0.2)),
    lr=st.floats(1e-3, 0.06),
    gtol=st.one_of(st.none(), st.floats(1e-12, 10.0)),
    method=st.sampled_from(["gd", "gd", "momentum"]),
    max_iter=st.integers(0, 3 * BLOCK_FIXED + 2),
)
def test_a_batch_ends_each_run_as_it_ends_alone(starts, abc, lr, gtol, method, max_iter):
    # lr up to 0.06 against curvatures up to 120: some runs converge, some oscillate, some
    # diverge, in the same batch and often in the same block
    _agree(_quadratic(*abc), starts, lr=lr, gtol=gtol, method=method, max_iter=max_iter)


@settings(max_examples=40, deadline=None)
@given(
    starts=st.lists(st.tuples(coords, coords), min_size=1, max_size=12),
    lr=st.sampled_from([1e-3, 0.01, 0.1, 0.4, 0.5, 0.9, 1.0, 1.05]),
    gtol=st.one_of(st.none(), st.floats(1e-12, 10.0)),
    max_iter=st.integers(0, 3 * BLOCK_FIXED + 2),
)
def test_the_catalog_batch_ends_each_run_as_it_ends_alone(starts, lr, gtol, max_iter):
    # the catalog's paraboloid: fixed steps written into arrays that take turns
    _agree(functions.get("paraboloid"), starts, lr=lr, gtol=gtol, max_iter=max_iter)


@pytest.mark.parametrize("at", [1, 2, BLOCK_FIXED - 1, BLOCK_FIXED, BLOCK_FIXED + 1,
                                2 * BLOCK_FIXED, 2 * BLOCK_FIXED + 1])
@pytest.mark.parametrize("fun", ["paraboloid", "quadratic"])
def test_gtol_met_on_and_beside_block_boundaries(at, fun):
    # On the paraboloid with lr < 1/2 the gradient's norm falls every step: gtol set to its
    # norm after `at` steps stops the run exactly there; the other runs go on, or stop at
    # their first step (a start at the minimum takes none).
    f = functions.get("paraboloid") if fun == "paraboloid" else _quadratic(1.0, 1.0, 0.0)
    lr, x0 = 0.01, np.array([0.7, -0.4])
    path = minimize(f, x0, lr=lr, gtol=None, max_iter=at)
    gtol = float(path.grad_norms[at]) * (1 + 1e-12)  # the norm there, to rounding
    starts = [x0, [0.0, 0.0], 3 * x0, x0 * (1 - 2 * lr), x0 / (1 - 2 * lr), [1e-9, 0.0]]
    nits = _agree(f, starts, lr=lr, gtol=gtol, max_iter=3 * BLOCK_FIXED)
    assert nits[0] == at and nits[1] == 0 and nits[5] == 0
    # a step more or less from one step before and after (to rounding)
    assert at - 1 <= nits[3] <= at and at + 1 <= nits[4] <= at + 2


@pytest.mark.parametrize("fun", ["paraboloid", "rosenbrock", "x**2 + 30*y**2"])
@pytest.mark.parametrize("gtol", [None, 1e-3, "auto"])
def test_float32_batches_end_each_run_as_it_ends_alone(fun, gtol):
    # float32 runs: the screen's squares and sums in float32, as the rules' are
    starts = np.random.default_rng(1).uniform(-2, 2, (12, 2))
    for lr in (1e-3, 0.02, 0.04):
        _agree(fun, starts, dtype=np.float32, lr=lr, gtol=gtol, max_iter=300)


def test_runs_diverging_in_the_same_block_as_others_stop():
    # y's curvature 100 at lr 0.03: y is multiplied by -2 a step; the runs with y = 0
    # converge, the others diverge at different steps, some in the same block
    f = _quadratic(1.0, 50.0, 0.0)
    starts = [[1.0, 0.0], [1.0, 1e-3], [1.0, 1.0], [2.0, 1e-6], [0.5, 10.0], [1e-3, 0.0],
              [0.0, 1e-300], [3.0, 2e-3], [1.0, 1.1e-3], [1.0, 0.9e-3]]
    nits = _agree(f, starts, lr=0.03, gtol=1e-8, max_iter=8 * BLOCK_FIXED)
    assert len(set(nits)) >= 5


@pytest.mark.parametrize("gtol", [None, 1e-6])
@pytest.mark.parametrize("method", ["gd", "momentum"])
@pytest.mark.parametrize("box", [None, ([-1.0, -10.0], [1.5, 0.25])])
def test_the_screen_with_bounds_and_a_momentum(gtol, method, box):
    # projected steps (x clipped into the box; gtol on the projected gradient) and a
    # method that is not plain gd: a running sum of the gradients tells the screen which
    # runs had a gradient that is not finite
    f = as_objective("rosenbrock")
    starts = np.random.default_rng(3).uniform(-2.0, 2.0, (20, 2))
    opt, policy = optimizers.get(method), linesearch.get(2e-3)
    criteria = Criteria.make(200, gtol, None, None)
    carry = _loop.start(f, starts, opt, policy, criteria,
                        bounds=None if box is None else tuple(np.array(b) for b in box))
    _, out = _loop.run(f, carry, opt, policy, criteria, backend="numpy")
    bounds = None if box is None else list(zip(*box, strict=True))
    for k, x0 in enumerate(starts):
        alone = minimize("rosenbrock", x0, lr=2e-3, method=method, gtol=gtol, max_iter=200,
                         bounds=bounds)
        got = out.result(k)
        assert (got.status, got.nit, got.reason) == (alone.status, alone.nit, alone.reason)
        np.testing.assert_allclose(got.x, alone.x, rtol=1e-13, atol=0)


def test_a_gradient_that_is_not_finite_mid_block_is_found():
    # the gradient is nan past x = 2 (and at x = nan) while f stays finite (0 there): only
    # the gradient tells; the plain step carries the nan into x, other methods into their
    # state. The run stops where the rules say.
    def fun(v):
        return np.where(v[..., 0] <= 2.0, -v[..., 0], 0.0) + v[..., 1] ** 2

    def grad(v):
        gx = np.where(v[..., 0] <= 2.0, -1.0, np.nan)
        return np.stack([gx, 2.0 * v[..., 1]], axis=-1)

    f = Objective(fun=fun, grad=grad, p=2, vectorized=True, name="cliff")
    starts = [[0.0, 1.0], [1.0, 0.5], [1.9, 0.0], [-5.0, 0.0]]
    for method in ("gd", "momentum"):
        nits = _agree(f, starts, lr=0.1, gtol=None, method=method, max_iter=3 * BLOCK_FIXED)
        assert min(nits) < BLOCK_FIXED


@pytest.mark.parametrize("fun", ["paraboloid", "x**2 + 30*y**2", "rosenbrock"])
@pytest.mark.parametrize("gtol", [None, 1e-4])
def test_a_sweep_of_a_vectorized_function_ends_each_run_as_it_ends_alone(fun, gtol):
    # one step per run (the policy's state): converging, oscillating and diverging runs of
    # a catalog function and of a formula in one batch
    lrs = [1e-3, 5e-3, 0.01, 0.02, 0.033, 0.034, 0.04, 0.3, 0.6, 1.2]
    sw = sweep(fun, [1.5, -0.7], lrs, gtol=gtol, max_iter=400)
    for lr, got in zip(lrs, sw.results, strict=True):
        alone = minimize(fun, [1.5, -0.7], lr=lr, gtol=gtol, max_iter=400)
        assert (got.status, got.nit, got.reason, got.message) == (
            alone.status, alone.nit, alone.reason, alone.message)
        np.testing.assert_allclose(got.x, alone.x, rtol=1e-13, atol=0)


def test_gtol_above_the_square_root_of_the_largest_float():
    # the screen's squares overflow for gradients beyond 1.3e154; a gtol as large as that
    # still stops the runs where the rules' exact norm says
    def fun(v):
        return 1e150 * (v[..., 0] ** 2 + v[..., 1] ** 2)

    def grad(v):
        return 2e150 * v

    f = Objective(fun=fun, grad=grad, p=2, vectorized=True, name="steep")
    starts = [[1e10, 0.0], [7e9, 7e9], [1.0, 2.0], [5e9, 1e9]]
    for gtol in (1e160, 5e159):
        nits = _agree(f, starts, lr=1e-152, gtol=gtol, max_iter=100)
        assert 0 < max(nits) < 100
