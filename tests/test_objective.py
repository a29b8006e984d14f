from __future__ import annotations

import numpy as np
import pytest

from descend import functions, minimize
from descend.errors import FormulaError, InvalidArgument
from descend.formula import Formula, parse
from descend.objective import as_objective, finite_difference_gradient


def test_formula_string_gives_exact_gradient_and_seed001_numbers():
    res = minimize("x**2 + y**2", [6, -3], lr=0.001, max_iter=5000)
    assert res.x.tolist() == [0.00026968555624761565, -0.00013484277812380783]
    assert "finite differences" not in res.message
    assert res.variables == ("x", "y")


def test_formula_object_and_catalog_entry_are_accepted():
    f = parse("(1-x)^2 + 100*(y-x^2)^2")
    a = minimize(f, [-1.2, 1.0], lr="backtracking", max_iter=20)
    b = minimize(functions.get("rosenbrock"), [-1.2, 1.0], lr="backtracking", max_iter=20)
    np.testing.assert_allclose(a.path, b.path, rtol=1e-12, atol=1e-12)


def test_catalog_formula_is_a_formula_matching_fun():
    for name in functions.names():
        entry = functions.get(name)
        assert isinstance(entry.formula, Formula)
        pts = np.random.default_rng(0).uniform(-1, 1, (5, entry.dim))
        np.testing.assert_allclose(entry.formula(pts), entry.fun(pts), rtol=1e-10, atol=1e-10)


def test_variables_order_and_wrong_length():
    res = minimize("(x - 1)**2 + (y - 2)**2", [0, 0], variables="y,x", lr=0.25, max_iter=200)
    np.testing.assert_allclose(res.x, [2.0, 1.0], atol=1e-6)
    with pytest.raises(InvalidArgument, match="x0"):
        minimize("x**2 + y**2", [1.0, 2.0, 3.0])


def test_hostile_formula_raises_formula_error():
    with pytest.raises(FormulaError):
        minimize("__import__('os').system('echo hi')", [1.0])


def test_outside_the_domain_is_diverged_not_a_crash():
    res = minimize("log(x)", [0.5], lr=1.0, max_iter=50)
    assert res.status == "diverged"
    assert np.all(np.isfinite(res.path))
    res = minimize("sqrt(x)", [-1.0], lr=0.1)
    assert res.status == "diverged" and res.nit == 0


def test_single_point_fast_path_equals_batched_formula():
    f = parse("sin(x)*exp(y) + x^3/3 - 1/(1 + y^2)")
    pts = np.random.default_rng(1).normal(size=(20, 2))
    np.testing.assert_allclose([f.value_at(p) for p in pts], f(pts), rtol=1e-15)
    np.testing.assert_allclose(np.array([f.grad_at(p) for p in pts]), f.grad(pts), rtol=1e-15)


def test_finite_differences_are_accurate():
    def fun(v):
        return float(np.sin(v[0]) * np.cosh(v[1]))

    x = np.array([0.3, -0.7])
    exact = np.array([np.cos(0.3) * np.cosh(-0.7), np.sin(0.3) * np.sinh(-0.7)])
    np.testing.assert_allclose(finite_difference_gradient(fun, x), exact, rtol=1e-9)
    obj = as_objective(fun)
    assert obj.finite_differences and obj.with_dimension(2).fd_calls == 4


# -- catalog names (issue 15) --------------------------------------------------------------


def test_a_catalog_name_is_the_catalog_entry():
    a = minimize("rosenbrock", [-1.2, 1], lr="backtracking", max_iter=50)
    b = minimize(functions.get("rosenbrock"), [-1.2, 1], lr="backtracking", max_iter=50)
    np.testing.assert_array_equal(a.path, b.path)
    assert a.fun == b.fun and a.variables == ("x", "y")
    for spelling in ("Rosenbrock", " rosenbrock ", "ROSENBROCK"):
        assert as_objective(spelling).source is functions.get("rosenbrock")
    assert as_objective("Three-hump camel").source.name == "three_hump_camel"
    obj = as_objective("himmelblau")
    assert obj.p == 2 and obj.name == "himmelblau" and obj.vectorized


def test_a_name_of_any_dimension_takes_the_start_points():
    res = minimize("rastrigin", [0.1, -0.2, 0.05], lr=0.001, max_iter=20)
    ref = minimize(functions.get("rastrigin", dim=3), [0.1, -0.2, 0.05], lr=0.001, max_iter=20)
    np.testing.assert_array_equal(res.path, ref.path)
    assert res.variables == ("x1", "x2", "x3")
    assert as_objective("ackley").with_dimension(5).p == 5
    with pytest.raises(InvalidArgument, match="x0: has 3 coordinates"):
        minimize("rosenbrock", [1.0, 2.0, 3.0])
    with pytest.raises(InvalidArgument, match="x0: has 3 coordinates"):
        minimize(functions.get("rastrigin"), [1.0, 2.0, 3.0])  # an object keeps its dim


def test_a_catalog_name_has_fixed_variables():
    assert as_objective("rosenbrock", variables="x, y").variables == ("x", "y")
    with pytest.raises(InvalidArgument, match="variables: rosenbrock has the fixed"):
        as_objective("rosenbrock", variables="a, b")


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [("rosenbrok", "rosenbrock"), ("himelblau", "himmelblau"), ("Rastrign", "rastrigin"),
     ("styblinski_tan", "styblinski_tang"), ("sinn", "sin"), ("sigmoyd", "sigmoid")],
)
def test_a_near_miss_of_a_name_is_refused(text, suggestion):
    with pytest.raises(FormulaError, match=rf"did you mean {suggestion}\?") as info:
        minimize(text, [1.0])
    assert info.value.position == 0 and info.value.text == text


def test_names_far_from_any_catalog_entry_stay_formulas():
    assert as_objective("x").variables == ("x",)
    assert as_objective("rosen", variables="rosen").variables == ("rosen",)
    assert as_objective("booth + x", variables=None).variables == ("booth", "x")
