"""Every optimizer x every problem, described as data; first steps against textbook formulas."""

from __future__ import annotations

import numpy as np
import pytest

from descend import functions, minimize, optimizers, schedules
from descend._minimize import run_batch
from descend.objective import as_objective

# Per-method step for each problem (RMSProp's sign-like steps bounce at about lr around the
# minimum with a fixed lr, so it gets a decaying schedule).
METHODS = {
    "gd": {"paraboloid": 0.1, "booth": 0.05},
    "momentum": {"paraboloid": 0.05, "booth": 0.01},
    "nesterov": {"paraboloid": 0.05, "booth": 0.01},
    "adagrad": {"paraboloid": 1.0, "booth": 1.0},
    "rmsprop": {"paraboloid": schedules.exponential_decay(0.1, 0.995),
                "booth": schedules.exponential_decay(0.1, 0.995)},
    "adam": {"paraboloid": 0.1, "booth": 0.1},
}
PROBLEMS = {  # name: (fun, grad, x0, x_star)
    "paraboloid": (functions.get("paraboloid"), None, np.array([6.0, -3.0]), np.zeros(2)),
    "booth": (functions.get("booth"), None, functions.get("booth").x0, np.array([1.0, 3.0])),
}
MATRIX = [(m, p) for m in METHODS for p in PROBLEMS]


@pytest.mark.parametrize(("method", "problem"), MATRIX)
def test_every_method_converges_on_every_problem(method, problem):
    fun, grad, x0, x_star = PROBLEMS[problem]
    res = minimize(fun, x0, grad=grad, method=method, lr=METHODS[method][problem],
                   max_iter=20000)
    assert res.status == "gtol" or np.max(np.abs(res.x - x_star)) < 1e-4
    np.testing.assert_allclose(res.x, x_star, atol=1e-4)


G0 = np.array([12.0, -6.0])  # the paraboloid's gradient at (6, -3)
FIRST_STEPS = {  # method: expected first displacement x_1 - x_0 for lr = t
    "gd": lambda t: -t * G0,
    "momentum": lambda t: -t * G0,
    "nesterov": lambda t: -t * (1 + 0.9) * G0,
    "adagrad": lambda t: -t * np.sign(G0),
    "rmsprop": lambda t: -t * np.sign(G0) / np.sqrt(1 - 0.9),
    "adam": lambda t: -t * np.sign(G0),
}


@pytest.mark.parametrize("method", list(FIRST_STEPS))
def test_first_step_matches_the_textbook_formula(method):
    t = 0.01
    res = minimize("x**2 + y**2", [6.0, -3.0], method=method, lr=t, max_iter=1)
    np.testing.assert_allclose(res.path[1] - res.path[0], FIRST_STEPS[method](t),
                               rtol=1e-7, atol=1e-9)
    assert res.step_sizes.tolist() == [t]


@pytest.mark.parametrize("method", optimizers.names())
def test_methods_work_on_a_batch_like_on_single_points(method):
    obj = as_objective(functions.get("booth"))
    x0 = np.array([[-5.0, -5.0], [4.0, 0.5], [0.0, 0.0]])
    run = run_batch(obj, x0, method=method, lr=0.01, max_iter=50, gtol=None)
    for k in range(3):
        single = minimize(obj, x0[k], method=method, lr=0.01, max_iter=50, gtol=None)
        np.testing.assert_allclose(run.carry.x[k], single.x, rtol=1e-12, atol=1e-12)


BATCH_FORMULAS = ["x**2 + 3*y**2 + x*y - 2*x", "(x**2 + y - 11)**2 + (x + y**2 - 7)**2"]


@pytest.mark.parametrize("formula", BATCH_FORMULAS)
def test_batch_gd_fixed_lr_is_bitwise_equal_to_separate_runs(formula):
    obj = as_objective(formula).with_dimension(2)
    x0 = np.random.default_rng(1).uniform(-5, 5, size=(25, 2))
    run = run_batch(obj, x0, method="gd", lr=0.005, max_iter=300)
    for k in range(x0.shape[0]):
        single = minimize(obj, x0[k], method="gd", lr=0.005, max_iter=300)
        assert run.carry.x[k].tobytes() == single.x.tobytes()
        res = run.result(k)
        assert res.nit == single.nit and res.status == single.status
        assert res.message == single.message
        if formula == BATCH_FORMULAS[0]:
            # Whole paths too. (For Himmelblau the formula's gradient at one point and on a
            # batch can differ in the last bit, so only the end points are compared.)
            assert run.result(k).path.tobytes() == single.path.tobytes()
