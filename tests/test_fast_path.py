"""The inlined loop for plain gradient descent with a fixed step gives the general loop's results.

A callback that does nothing sends a run through the general loop; without one, the same
run takes the inlined path. Everything in the Result must agree, bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from descend import functions, minimize


def _both(fun, x0, **kw):
    fast = minimize(fun, x0, **kw)
    slow = minimize(fun, x0, callback=lambda _: None, **kw)
    return fast, slow


def _same(a, b):
    assert a.status == b.status
    assert a.nit == b.nit and a.nfev == b.nfev and a.njev == b.njev
    assert a.message == b.message
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.jac, b.jac)
    np.testing.assert_array_equal(a.path, b.path)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.grad_norms, b.grad_norms)
    np.testing.assert_array_equal(a.step_sizes, b.step_sizes)
    assert (a.fun == b.fun) or (math.isnan(a.fun) and math.isnan(b.fun))
    assert a.lr_max == b.lr_max or (a.lr_max is not None and math.isnan(a.lr_max))


@pytest.mark.parametrize(
    ("fun", "x0", "kw"),
    [
        ("x**2 + y**2", [6.0, -3.0], {"lr": 0.001, "max_iter": 500, "gtol": None}),
        ("x**2 + y**2", [6.0, -3.0], {"lr": 0.1, "max_iter": 500}),  # stops by gtol
        ("x**2", [3.0], {"lr": 1.1, "max_iter": 100}),  # diverges: f past the bound
        ("-exp(x)", [1.0], {"lr": 1.0, "max_iter": 50}),  # f overflows to -inf
        ("log(x) + x**2", [1.0], {"lr": 2.0, "max_iter": 20}),  # steps out of the domain
        ("sqrt(x) + 0.1*x", [4.0], {"lr": 100.0, "max_iter": 20}),
    ],
)
def test_fast_path_equals_general_loop(fun, x0, kw):
    _same(*_both(fun, x0, **kw))


def test_plain_runs_take_the_inlined_loop(monkeypatch):
    import descend._minimize as m

    calls = []
    real = m._gd_fixed
    monkeypatch.setattr(m, "_gd_fixed", lambda *a: calls.append(1) or real(*a))
    minimize("x**2", [1.0], lr=0.1)
    minimize("x**2", [1.0], lr=0.1, callback=lambda _: None)
    minimize("x**2", [1.0], lr=0.1, ftol=1e-9)
    minimize("x**2", [1.0], lr="bb")
    assert len(calls) == 1


def test_callable_with_list_gradient_and_catalog_entry():
    fast, slow = _both(lambda v: float(v @ v), [1.0, 2.0], grad=lambda v: [2 * v[0], 2 * v[1]],
                       lr=0.05, max_iter=300)
    _same(fast, slow)
    rosen = functions.get("rosenbrock")
    _same(*_both(rosen, rosen.x0, lr=1e-3, max_iter=2000))


def test_finite_differences_and_numeric_failure_in_callable():
    def f(v):
        return math.log(v[0]) + v[0] ** 2  # math domain error left of 0

    _same(*_both(f, [1.0], lr=2.0, max_iter=10))


@settings(max_examples=40, deadline=None)
@given(
    x0=st.lists(st.floats(-5, 5), min_size=1, max_size=4),
    lr=st.floats(1e-3, 1.2),
    gtol=st.one_of(st.none(), st.floats(1e-8, 1e-1)),
)
def test_fast_path_property(x0, lr, gtol):
    def f(v):
        return float(v @ v + 0.5 * v.sum() ** 2)

    def g(v):
        return 2 * v + v.sum()

    _same(*_both(f, x0, grad=g, lr=lr, gtol=gtol, max_iter=60))
