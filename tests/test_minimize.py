from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from descend import Result, Status, minimize
from descend.errors import DescendError, InvalidArgument, InvalidType

SEED001_LINES = """\
Epoch 0: [5.988, -2.994]
Epoch 500: [2.2006573940846716, -1.1003286970423358]
Epoch 1000: [0.8087663604107433, -0.4043831802053717]
Epoch 1500: [0.2972307400008091, -0.14861537000040456]
Epoch 2000: [0.10923564223981955, -0.054617821119909774]
Epoch 2500: [0.04014532795468376, -0.02007266397734188]
Epoch 3000: [0.014753859853277982, -0.007376929926638991]
Epoch 3500: [0.005422209548664845, -0.0027111047743324226]
Epoch 4000: [0.0019927230353282872, -0.0009963615176641436]
Epoch 4500: [0.0007323481432962652, -0.0003661740716481326]
"""
SEED001_FINAL = [0.00026968555624761565, -0.00013484277812380783]


def paraboloid(v):
    return v[0] ** 2 + v[1] ** 2


def paraboloid_grad(v):
    return np.array([2 * v[0], 2 * v[1]])


def test_seed001_printed_lines_and_final_point(capsys):
    res = minimize(paraboloid, [6, -3], grad=paraboloid_grad, lr=0.001, max_iter=5000,
                   log_every=500)
    assert capsys.readouterr().out == SEED001_LINES
    assert res.x.tolist() == SEED001_FINAL
    np.testing.assert_allclose(res.x, SEED001_FINAL, rtol=0, atol=1e-15)
    assert res.status == "max_iter" and res.status is Status.MAX_ITER
    assert not res.success
    assert res.nit == 5000 and res.path.shape == (5001, 2)


def test_seed001_every_epoch_line_matches_path():
    res = minimize(paraboloid, [6, -3], grad=paraboloid_grad, lr=0.001, max_iter=5000)
    for line in SEED001_LINES.splitlines():
        epoch, coords = line.removeprefix("Epoch ").split(": ")
        expected = [float(c) for c in coords.strip("[]").split(", ")]
        assert res.path[int(epoch) + 1].tolist() == expected


def test_seed002_linear_regression_with_hand_written_gradient(seed002_data):
    x, y = seed002_data

    def loss(p):
        return np.mean((y - (p[0] + p[1] * x)) ** 2)

    def gradient_of_loss(p):
        alpha, beta = p
        partial_alpha = np.mean(-2 * (y - (alpha + beta * x)))
        partial_beta = np.mean(-2 * x * (y - (alpha + beta * x)))
        return np.array([partial_alpha, partial_beta])

    res = minimize(loss, [0.0, 0.0], grad=gradient_of_loss, lr=0.02, max_iter=500)
    np.testing.assert_allclose(res.x, [-10.07049616, 2.03559051], atol=5e-9)
    assert res.nit == 500


def test_divergence_on_parabola_suggests_a_stable_step():
    res = minimize(lambda v: v[0] ** 2, 3.0, grad=lambda v: 2 * v, lr=1.1, max_iter=100)
    assert res.status == "diverged" and not res.success
    assert res.nit <= 100
    assert res.lr_max is not None and res.lr_max <= 1.0 + 1e-12
    assert "diverged at iteration" in res.message and "try lr <=" in res.message
    suggested = float(res.message.split("try lr <= ")[1].split()[0])
    assert suggested <= 1.0
    assert np.all(np.isfinite(res.path)) and len(res.path) == res.nit + 1


def test_divergence_to_non_finite_keeps_the_last_finite_point():
    res = minimize(lambda v: math.exp(v[0] ** 2), [2.0], grad=lambda v: 2 * v * np.exp(v ** 2),
                   lr=1.0, max_iter=50)
    assert res.status == "diverged"
    assert np.all(np.isfinite(res.path)) and np.isfinite(res.fun)
    assert "non-finite" in res.message


def test_f_of_x0_outside_domain_is_reported_not_raised():
    res = minimize(lambda v: math.log(v[0]) if v[0] > 0 else float("nan"), [-1.0],
                   grad=lambda v: 1 / v, lr=0.1)
    assert res.status == "diverged" and res.nit == 0
    assert "x0" in res.message


def test_start_at_minimum_takes_no_step():
    res = minimize(paraboloid, [0.0, 0.0], grad=paraboloid_grad)
    assert res.nit == 0 and res.status == "gtol" and res.success
    assert res.path.shape == (1, 2) and res.step_sizes.shape == (0,)


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"gtol": 1e-3}, Status.GTOL),
        ({"gtol": None, "ftol": 1e-3}, Status.FTOL),
        ({"gtol": None, "xtol": 1e-4}, Status.XTOL),
        ({"gtol": None, "max_iter": 7}, Status.MAX_ITER),
    ],
)
def test_each_stopping_rule_is_named(kwargs, status):
    res = minimize(paraboloid, [6, -3], grad=paraboloid_grad, lr=0.01, **{"max_iter": 10_000,
                   **kwargs})
    assert res.status is status
    assert res.success is status.success
    assert str(status.value) in res.message or status is Status.MAX_ITER


def test_ftol_rule_is_seed000s_change_in_f():
    res = minimize(paraboloid, [6, -3], grad=paraboloid_grad, lr=0.01, gtol=None, ftol=0.001)
    assert res.status == "ftol"
    assert abs(res.values[-2] - res.values[-1]) < 0.001
    assert np.all(np.abs(np.diff(res.values[:-1])) >= 0.001)


def test_callback_receives_state_and_can_stop():
    seen = []

    def cb(state):
        seen.append((state.nit, state.fun, state.x.copy()))
        if state.nit == 3:
            raise StopIteration

    res = minimize(paraboloid, [6, -3], grad=paraboloid_grad, lr=0.1, callback=cb)
    assert res.status == "callback" and res.nit == 3 and not res.success
    assert [s[0] for s in seen] == [1, 2, 3]
    assert seen[-1][1] == res.fun
    np.testing.assert_array_equal(seen[-1][2], res.x)


def test_finite_differences_are_used_and_said():
    res = minimize(paraboloid, [6, -3], lr=0.1, max_iter=200)
    assert "finite differences" in res.message
    assert res.status == "gtol"
    np.testing.assert_allclose(res.x, [0, 0], atol=1e-6)
    assert res.nfev > res.njev


def test_result_fields_and_shapes():
    res = minimize(paraboloid, [6, -3], grad=paraboloid_grad, lr=0.1, max_iter=20, gtol=None)
    assert isinstance(res, Result)
    assert res.path.shape == (21, 2)
    assert res.values.shape == (21,) and res.grad_norms.shape == (21,)
    assert res.step_sizes.shape == (20,) and np.all(res.step_sizes == 0.1)
    np.testing.assert_array_equal(res.path[0], [6, -3])
    np.testing.assert_array_equal(res.path[-1], res.x)
    assert res.fun == res.values[-1] == paraboloid(res.x)
    np.testing.assert_allclose(res.jac, paraboloid_grad(res.x))
    assert res["x"] is res.x
    assert res.njev == 21
    with pytest.raises(AttributeError):  # frozen
        res.nit = 3  # type: ignore[misc]


def test_scalar_x0_means_one_variable():
    res = minimize(lambda v: (v[0] - 2) ** 2, 0, grad=lambda v: 2 * (v - 2), lr=0.25)
    assert res.x.shape == (1,)
    assert res.x[0] == pytest.approx(2.0)


def test_status_is_a_str_enum():
    assert Status("gtol") is Status.GTOL
    assert Status.MAX_ITER == "max_iter"
    assert [s.success for s in Status] == [True, True, True, False, False, False]


@pytest.mark.parametrize(
    ("kwargs", "argument", "kind"),
    [
        ({"x0": []}, "x0", InvalidArgument),
        ({"x0": [1.0, float("nan")]}, "x0", InvalidArgument),
        ({"x0": [[1.0], [2.0]]}, "x0", InvalidArgument),
        ({"x0": "abc"}, "x0", InvalidArgument),
        ({"lr": 0.0}, "lr", InvalidArgument),
        ({"lr": -1.0}, "lr", InvalidArgument),
        ({"lr": float("inf")}, "lr", InvalidArgument),
        ({"lr": "fast"}, "lr", InvalidArgument),
        ({"lr": [0.1]}, "lr", InvalidType),
        ({"max_iter": -1}, "max_iter", InvalidArgument),
        ({"max_iter": 2.5}, "max_iter", InvalidType),
        ({"method": "newton"}, "method", InvalidArgument),
        ({"gtol": -1.0}, "gtol", InvalidArgument),
        ({"log_every": 0}, "log_every", InvalidArgument),
        ({"fun": lambda v: v}, "fun", InvalidArgument),
        ({"fun": lambda v: "a"}, "fun", InvalidType),
        ({"fun": 3}, "fun", InvalidType),
        ({"grad": lambda v: np.zeros(3)}, "grad", InvalidArgument),
        ({"callback": 3}, "callback", InvalidType),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, argument, kind):
    args = {"fun": paraboloid, "x0": [6.0, -3.0], "grad": paraboloid_grad, **kwargs}
    fun, x0 = args.pop("fun"), args.pop("x0")
    with pytest.raises(kind) as info:
        minimize(fun, x0, **args)
    assert isinstance(info.value, DescendError)
    assert str(info.value).startswith(argument)
    assert info.value.argument == argument


quadratic_cases = st.integers(1, 5).flatmap(
    lambda p: st.tuples(
        st.lists(st.floats(0.1, 10.0), min_size=p, max_size=p),
        st.lists(st.floats(-10, 10), min_size=p, max_size=p),
        st.floats(0.05, 0.99),
    )
)


@given(quadratic_cases)
def test_values_never_increase_on_convex_quadratics_below_2_over_L(case):
    diag, x0, frac = case
    h = np.array(diag)
    lr = frac * 2.0 / h.max()
    res = minimize(lambda v: 0.5 * float(v @ (h * v)), x0, grad=lambda v: h * v, lr=lr,
                   max_iter=200)
    assert np.all(np.diff(res.values) <= 1e-12 * max(1.0, abs(res.values[0])))
    np.testing.assert_array_equal(res.path[0], np.asarray(x0, dtype=float))
    assert len(res.path) == res.nit + 1 == len(res.values) == len(res.grad_norms)
    assert len(res.step_sizes) == res.nit


@given(st.lists(st.floats(-100, 100), min_size=1, max_size=4), st.integers(0, 30))
def test_path_starts_at_x0_and_has_nit_plus_one_rows(x0, max_iter):
    res = minimize(lambda v: float(np.sum(v ** 4)), x0, grad=lambda v: 4 * v ** 3, lr=1e-4,
                   max_iter=max_iter)
    np.testing.assert_array_equal(res.path[0], np.asarray(x0, dtype=float))
    assert len(res.path) == res.nit + 1
    assert res.nit <= max_iter
