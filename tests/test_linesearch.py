"""Step policies: backtracking never raises f, auto is exactly 1/L, bb solves seed 002."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from descend import functions, minimize, schedules
from descend._minimize import run_batch
from descend.errors import InvalidArgument
from descend.linesearch import Fixed
from descend.objective import as_objective

finite = st.floats(-3.0, 3.0, allow_nan=False)


@given(
    eig=st.lists(st.floats(0.01, 100.0), min_size=2, max_size=2),
    x0=st.lists(finite, min_size=2, max_size=2),
    method=st.sampled_from(["gd", "momentum", "nesterov", "adam"]),
)
def test_backtracking_never_increases_f_on_quadratics(eig, x0, method):
    d = np.array(eig)
    res = minimize(lambda v: 0.5 * float(v @ (d * v)), x0, grad=lambda v: d * v,
                   method=method, lr="backtracking", max_iter=50)
    assert np.all(np.diff(res.values) <= 0.0)
    _check_steps(res)


@given(x0=st.lists(st.floats(-2.0, 2.0), min_size=2, max_size=2))
def test_backtracking_never_increases_f_on_rosenbrock(x0):
    res = minimize(functions.get("rosenbrock"), x0, lr="backtracking", max_iter=100)
    assert np.all(np.diff(res.values) <= 0.0)
    _check_steps(res)


def _check_steps(res):
    """``step_sizes`` are the steps taken: x_{k+1} = x_k - t_k g_k for gd-like moves."""
    assert res.step_sizes.shape == (res.nit,)
    assert np.all(res.step_sizes >= 0)
    if res.method == "gd" and res.nit:
        g = np.array([res.objective.gradient(x) for x in res.path[:-1]])
        np.testing.assert_allclose(res.path[1:], res.path[:-1] - res.step_sizes[:, None] * g,
                                   rtol=1e-12, atol=1e-12)


def test_backtracking_step_sizes_are_the_steps_taken():
    res = minimize(functions.get("rosenbrock"), [-1.2, 1.0], lr="backtracking", max_iter=30)
    _check_steps(res)


def test_auto_is_exactly_one_over_L_on_a_quadratic():
    d = np.array([1.0, 4.0, 25.0])  # L = 25
    res = minimize(lambda v: 0.5 * float(v @ (d * v)), [1.0, -2.0, 0.5],
                   grad=lambda v: d * v, lr="auto", max_iter=5)
    np.testing.assert_allclose(res.step_sizes[0], 1.0 / 25.0, rtol=1e-6)


def test_bb_reaches_the_seed002_least_squares_optimum(seed002_data):
    x, y = seed002_data

    def loss(p):
        return np.mean((y - (p[0] + p[1] * x)) ** 2)

    def gradient_of_loss(p):
        r = y - (p[0] + p[1] * x)
        return np.array([np.mean(-2 * r), np.mean(-2 * x * r)])

    exact = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)[0]
    res = minimize(loss, [0.0, 0.0], grad=gradient_of_loss, lr="bb", gtol=1e-10, max_iter=50)
    assert res.nit <= 50
    np.testing.assert_allclose(res.x, exact, rtol=0, atol=1e-8)


@pytest.mark.parametrize("schedule", [
    schedules.inverse_time(0.2, decay=0.01), schedules.exponential_decay(0.2, 0.999),
    schedules.step_decay(0.2, 0.5, 50), schedules.cosine_decay(0.3, 200, 0.05),
    schedules.constant(0.1),
])
def test_schedules_work_as_lr(schedule):
    res = minimize("x**2 + y**2", [6.0, -3.0], lr=schedule, max_iter=2000)
    assert res.status == "gtol"
    np.testing.assert_allclose(res.step_sizes[:3], [schedule(k) for k in range(3)])


def test_fixed_per_run_steps_in_a_batch():
    obj = as_objective("x**2 + y**2").with_dimension(2)
    lrs = np.array([0.01, 0.1, 0.3])
    run = run_batch(obj, np.tile([6.0, -3.0], (3, 1)), lr=Fixed(lrs), max_iter=20, gtol=None)
    for k, lr in enumerate(lrs):
        np.testing.assert_array_equal(run.result(k).step_sizes, np.full(20, lr))
        single = minimize(obj, [6.0, -3.0], lr=float(lr), max_iter=20, gtol=None)
        assert run.result(k).path.tobytes() == single.path.tobytes()


@pytest.mark.parametrize("bad", [[], [0.1, -1.0], [[0.1]], [np.nan]])
def test_fixed_rejects_bad_per_run_steps(bad):
    with pytest.raises(InvalidArgument, match="lr"):
        Fixed(bad)


def test_fixed_per_run_steps_need_as_many_runs():
    obj = as_objective("x**2").with_dimension(1)
    with pytest.raises(InvalidArgument, match="lr"):
        run_batch(obj, np.ones((3, 1)), lr=Fixed([0.1, 0.2]))


def test_bb_leaves_a_concave_region():
    # Near Himmelblau's local maximum the curvature is negative; bb used to crawl there.
    res = minimize(functions.get("himmelblau"), [-0.67735036, 0.1214912], lr="bb",
                   max_iter=200)
    assert res.status == "gtol" and res.fun < 1e-10


def _bumped(jump: float):
    """``1 + x^2 / 2`` with a bump of two ulps (and a gradient ``jump``) at exactly 0: the
    value at the minimum rounds above the value next to it."""

    def f(v):
        return 1.0 + 0.5 * float(v @ v) + (4.4e-16 if not np.any(v) else 0.0)

    def g(v):
        return v + (jump if not np.any(v) else 0.0)

    return f, g


def test_backtracking_t_max_caps_the_first_step():
    from descend.linesearch import Backtracking

    d = np.array([0.05, 0.04])
    kw = {"grad": lambda v: d * v, "max_iter": 5, "gtol": None}
    free = minimize(lambda v: 0.5 * float(v @ (d * v)), [1.0, 1.0], lr=Backtracking(1.0), **kw)
    capped = minimize(lambda v: 0.5 * float(v @ (d * v)), [1.0, 1.0],
                      lr=Backtracking(1.0, t_max=1.0), **kw)
    assert free.step_sizes.max() > 1.0
    np.testing.assert_array_equal(capped.step_sizes, np.ones(5))


def test_backtracking_flat_accepts_a_step_at_the_resolution_of_f():
    from descend.linesearch import Backtracking

    f, g = _bumped(0.0)
    x0 = [1e-8]
    plain = minimize(f, x0, grad=g, lr=Backtracking(1.0, t_max=1.0), max_iter=1, gtol=None)
    flat = minimize(f, x0, grad=g, lr=Backtracking(1.0, t_max=1.0, flat=True), max_iter=1,
                    gtol=None)
    assert plain.step_sizes[0] == 0.5  # Armijo compares rounding errors: the full step fails
    assert flat.step_sizes[0] == 1.0 and flat.x[0] == 0.0  # f within rounding, gradient 0
    f, g = _bumped(1.0)  # the same values, but the gradient at 0 is larger: refused
    kept = minimize(f, x0, grad=g, lr=Backtracking(1.0, t_max=1.0, flat=True), max_iter=1,
                    gtol=None)
    assert kept.step_sizes[0] == 0.5


def test_backtracking_flat_is_plain_armijo_away_from_the_resolution():
    from descend.linesearch import Backtracking

    kw = {"max_iter": 40, "gtol": None}
    a = minimize(functions.get("rosenbrock"), [-1.2, 1.0], lr=Backtracking(1.0), **kw)
    b = minimize(functions.get("rosenbrock"), [-1.2, 1.0], lr=Backtracking(1.0, flat=True), **kw)
    np.testing.assert_array_equal(a.path, b.path)
