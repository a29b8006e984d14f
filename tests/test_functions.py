from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from descend import functions
from descend.errors import InvalidArgument, InvalidType

FIXED = [
    "paraboloid",
    "rosenbrock",
    "himmelblau",
    "beale",
    "booth",
    "matyas",
    "three_hump_camel",
]
ANY_DIM = ["rastrigin", "ackley", "styblinski_tang"]

# Every (name, dim) the tests run on: the fixed 2-D functions, and the others in 1, 2 and 5-D.
CASES = [(name, None) for name in FIXED] + [(name, d) for name in ANY_DIM for d in (1, 2, 5)]
IDS = [name if d is None else f"{name}-{d}d" for name, d in CASES]

# A safe fixed step (below 1/L along the way from x0) and a number of steps, per function.
DESCENT = {
    "paraboloid": (0.1, 100),
    "rosenbrock": (1e-3, 200),
    "himmelblau": (1e-2, 100),
    "beale": (1e-3, 200),
    "booth": (0.05, 100),
    "matyas": (0.5, 200),
    "three_hump_camel": (1e-2, 200),
    "rastrigin": (2e-3, 200),
    "ackley": (1e-2, 200),
    "styblinski_tang": (5e-3, 200),
}

# Points where a function is not differentiable: (name, predicate on x) to skip in FD checks.
KINKS = {"ackley": lambda x: float(np.linalg.norm(x)) < 1e-3}

GRAMMAR_FUNCTIONS = {
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "log", "sqrt",
    "abs",
}
TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?)|([A-Za-z_]\w*)|(\*\*|[-+*/^()]))")


def case(name: str, dim: int | None) -> functions.TestFunction:
    return functions.get(name, dim=dim)


def points_in(f: functions.TestFunction) -> st.SearchStrategy[np.ndarray]:
    coords = [st.floats(lo, hi, allow_nan=False, allow_infinity=False) for lo, hi in f.bounds]
    return st.tuples(*coords).map(lambda t: np.array(t, dtype=np.float64))


def central_difference(f: functions.TestFunction, x: np.ndarray) -> np.ndarray:
    g = np.empty_like(x)
    for i in range(x.size):
        h = 1e-6 * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        g[i] = (f(up) - f(down)) / (up[i] - down[i])
    return g


def test_names_lists_all_ten_in_a_fixed_order() -> None:
    assert functions.names() == FIXED + ANY_DIM


@pytest.mark.parametrize(("name", "dim"), CASES, ids=IDS)
def test_fields_are_consistent(name: str, dim: int | None) -> None:
    f = case(name, dim)
    p = dim or 2
    assert f.name == name and f.dim == p
    assert f.x0.shape == (p,) and f.x0.dtype == np.float64
    assert len(f.bounds) == p and len(f.variables) == p and len(set(f.variables)) == p
    assert all(lo < hi for lo, hi in f.bounds)
    assert f.minima and all(m.shape == (p,) for m in f.minima)
    for point in (f.x0, *f.minima):
        assert all(lo <= v <= hi for v, (lo, hi) in zip(point, f.bounds, strict=True))
    assert f.description and "\n" not in f.description
    assert f(f.x0) > f.fmin + 1e-3, "x0 must not be a minimum"
    assert np.linalg.norm(f.grad(f.x0)) > 1e-3, "x0 must have a non-zero gradient"
    with pytest.raises(ValueError, match="read-only"):
        f.x0[0] = 1.0


@pytest.mark.parametrize(("name", "dim"), CASES, ids=IDS)
def test_text_uses_the_grammar_and_its_variables(name: str, dim: int | None) -> None:
    f = case(name, dim)
    pos, text = 0, f.text
    names_used = set()
    while pos < len(text.rstrip()):
        m = TOKEN.match(text, pos)
        assert m and m.end() > pos, f"unexpected text at {pos}: {text[pos:]!r}"
        if m.group(2):
            names_used.add(m.group(2))
        pos = m.end()
    assert names_used <= GRAMMAR_FUNCTIONS | {"pi", "e"} | set(f.variables)
    assert set(f.variables) <= names_used


@pytest.mark.parametrize(("name", "dim"), CASES, ids=IDS)
def test_value_and_gradient_at_every_minimum(name: str, dim: int | None) -> None:
    f = case(name, dim)
    for m in f.minima:
        assert f(m) == pytest.approx(f.fmin, abs=1e-6)
        np.testing.assert_allclose(f.grad(m), 0.0, atol=1e-6)


@pytest.mark.parametrize(("name", "dim"), CASES, ids=IDS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_gradient_matches_central_differences(
    name: str, dim: int | None, data: st.DataObject
) -> None:
    f = case(name, dim)
    x = data.draw(points_in(f))
    kink = KINKS.get(name)
    assume(kink is None or not kink(x))
    g = f.grad(x)
    assert g.shape == (f.dim,) and g.dtype == np.float64
    # Central differences: truncation ~ h^2 f''', rounding ~ eps |f| / h with h ~ 1e-6 |x|.
    np.testing.assert_allclose(g, central_difference(f, x), rtol=1e-5, atol=1e-6 * (1 + abs(f(x))))


@pytest.mark.parametrize(("name", "dim"), CASES, ids=IDS)
def test_batches_match_single_points(name: str, dim: int | None) -> None:
    f = case(name, dim)
    rng = np.random.default_rng(0)
    lo, hi = np.array(f.bounds).T
    batch = rng.uniform(lo, hi, size=(3, 4, f.dim))
    values, grads = f.fun(batch), f.grad(batch)
    assert values.shape == (3, 4) and grads.shape == (3, 4, f.dim)
    for idx in np.ndindex(3, 4):
        single = f(batch[idx])
        assert isinstance(single, float)
        assert values[idx] == pytest.approx(single, rel=1e-14, abs=1e-14)
        np.testing.assert_allclose(grads[idx], f.grad(batch[idx]), rtol=1e-14, atol=1e-14)
    big = rng.uniform(lo, hi, size=(10_000, f.dim))
    assert f.fun(big).shape == (10_000,) and f.grad(big).shape == (10_000, f.dim)


@pytest.mark.parametrize(("name", "dim"), CASES, ids=IDS)
def test_gradient_descent_from_x0_makes_progress(name: str, dim: int | None) -> None:
    f = case(name, dim)
    step, n = DESCENT[name]
    x = f.x0.copy()
    values = [f(x)]
    for _ in range(n):
        x = x - step * f.grad(x)
        values.append(f(x))
    assert np.all(np.isfinite(values))
    assert values[-1] < values[0] - 1e-3
    assert np.all(np.diff(values) <= 1e-12), "a safe step never increases f"


@pytest.mark.parametrize(("name", "dim"), CASES, ids=IDS)
def test_wrong_last_dimension_is_rejected(name: str, dim: int | None) -> None:
    f = case(name, dim)
    for bad in (np.zeros(f.dim + 1), np.zeros((4, f.dim + 2)), 1.0):
        for fn in (f.fun, f.grad):
            with pytest.raises(InvalidArgument, match=r"^x: .*shape") as info:
                fn(bad)
            assert info.value.argument == "x"


@pytest.mark.parametrize(("name", "dim"), CASES, ids=IDS)
def test_text_agrees_with_sympy(name: str, dim: int | None) -> None:
    sympy = pytest.importorskip("sympy")
    f = case(name, dim)
    symbols = [sympy.Symbol(v) for v in f.variables]
    local = dict(zip(f.variables, symbols, strict=True)) | {"e": sympy.E, "pi": sympy.pi}
    expr = sympy.parse_expr(f.text.replace("^", "**"), local_dict=local)
    value = sympy.lambdify(symbols, expr, "numpy")
    grad = [sympy.lambdify(symbols, sympy.diff(expr, s), "numpy") for s in symbols]
    rng = np.random.default_rng(1)
    lo, hi = np.array(f.bounds).T
    for x in rng.uniform(lo, hi, size=(5, f.dim)):
        assert value(*x) == pytest.approx(f(x), rel=1e-10, abs=1e-10)
        np.testing.assert_allclose([g(*x) for g in grad], f.grad(x), rtol=1e-9, atol=1e-9)


def test_rosenbrock_matches_scipy() -> None:
    optimize = pytest.importorskip("scipy.optimize")
    f = functions.get("rosenbrock")
    rng = np.random.default_rng(2)
    for x in rng.uniform(-2, 2, size=(20, 2)):
        assert f(x) == pytest.approx(optimize.rosen(x), rel=1e-14)
        np.testing.assert_allclose(f.grad(x), optimize.rosen_der(x), rtol=1e-13, atol=1e-12)


def test_himmelblau_lists_four_minima() -> None:
    minima = functions.get("himmelblau").minima
    assert len(minima) == 4
    assert len({tuple(np.round(m, 3)) for m in minima}) == 4


@pytest.mark.parametrize("name", ANY_DIM)
@pytest.mark.parametrize("dim", [1, 2, 5])
def test_any_dimension_variables_and_text(name: str, dim: int) -> None:
    f = functions.get(name, dim=dim)
    expected = {1: ("x",), 2: ("x", "y"), 5: ("x1", "x2", "x3", "x4", "x5")}[dim]
    assert f.variables == expected and f.dim == dim


def test_default_dimension_is_two() -> None:
    assert all(functions.get(name).dim == 2 for name in functions.names())


def test_styblinski_tang_minimum_scales_with_dimension() -> None:
    f = functions.get("styblinski_tang", dim=5)
    assert f.fmin == pytest.approx(-39.16616570377142 * 5)
    np.testing.assert_array_equal(f.minima[0], np.full(5, -2.903534027771178))


def test_unknown_name_suggests_and_lists() -> None:
    with pytest.raises(InvalidArgument, match=r"^name: .*'nope'") as info:
        functions.get("nope")
    assert info.value.argument == "name"
    assert all(name in str(info.value) for name in functions.names())
    with pytest.raises(InvalidArgument, match="did you mean 'rosenbrock'"):
        functions.get("rosenbrok")


def test_names_are_forgiving_about_case_and_separators() -> None:
    assert functions.get("Three-hump camel").name == "three_hump_camel"


@pytest.mark.parametrize(("name", "dim"), [("rastrigin", 0), ("ackley", -1), ("rosenbrock", 3)])
def test_bad_dim_is_rejected(name: str, dim: int) -> None:
    with pytest.raises(InvalidArgument, match=rf"^dim: .*{dim}") as info:
        functions.get(name, dim=dim)
    assert info.value.argument == "dim"


def test_bad_types_are_rejected() -> None:
    with pytest.raises(InvalidType, match=r"^dim: "):
        functions.get("ackley", dim=2.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidType, match=r"^name: "):
        functions.get(3)  # type: ignore[arg-type]


def test_fixed_function_accepts_its_own_dimension() -> None:
    assert functions.get("booth", dim=2).dim == 2


def test_repr_and_call() -> None:
    f = functions.get("paraboloid")
    assert repr(f) == "TestFunction('paraboloid', dim=2)"
    assert f([6.0, -3.0]) == 45.0
    np.testing.assert_array_equal(f.grad([6.0, -3.0]), [12.0, -6.0])
