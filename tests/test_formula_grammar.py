"""The formula grammar's functions, their (sub)gradients, and the parser's work limits.

Closed forms from the standard library and NumPy (and ``scipy.special`` for erf), the
subgradients documented in :mod:`descend.formula`, the limits that keep exact
arithmetic and derivatives small (issue 13), and 64 variables (issue 18).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import special

from descend.errors import FormulaError, InvalidArgument
from descend.formula import (
    FUNCTIONS,
    MAX_BITS,
    MAX_HESSIAN_COST,
    MAX_NESTING,
    MAX_VARIABLES,
    parse,
)

LN2, LN10 = math.log(2), math.log(10)


def _sig(t: float) -> float:
    return 1 / (1 + math.exp(-t))


# (text of one variable x, value, derivative) at the points below
SMOOTH = [
    ("ln(x)", math.log, lambda t: 1 / t),
    ("log(x, 3)", lambda t: math.log(t) / math.log(3), lambda t: 1 / (t * math.log(3))),
    ("log(7, x)", lambda t: math.log(7) / math.log(t),
     lambda t: -math.log(7) / (t * math.log(t) ** 2)),
    ("exp2(x)", lambda t: 2.0**t, lambda t: 2.0**t * LN2),
    ("log2(x)", math.log2, lambda t: 1 / (t * LN2)),
    ("log10(x)", math.log10, lambda t: 1 / (t * LN10)),
    ("erf(x)", math.erf, lambda t: 2 / math.sqrt(math.pi) * math.exp(-t * t)),
    ("sigmoid(x)", _sig, lambda t: _sig(t) * (1 - _sig(t))),
    ("softplus(x)", lambda t: math.log1p(math.exp(t)), _sig),
    ("relu(x)", lambda t: max(t, 0.0), lambda t: float(t > 0)),
    ("sign(x)", lambda t: float(np.sign(t)), lambda t: 0.0),
    ("max(x, 1)", lambda t: max(t, 1.0), lambda t: float(t > 1)),
    ("min(x, 1)", lambda t: min(t, 1.0), lambda t: float(t < 1)),
]  # fmt: skip
POINTS = [0.3, 0.9, 1.7, 4.2]


@pytest.mark.parametrize(("text", "value", "slope"), SMOOTH, ids=[t for t, _, _ in SMOOTH])
def test_new_functions_match_closed_forms(text, value, slope) -> None:
    f = parse(text)
    for t in POINTS:
        assert f([t]) == pytest.approx(value(t), rel=1e-14, abs=1e-15)
        assert f.grad([t])[0] == pytest.approx(slope(t), rel=1e-13, abs=1e-15)
        assert f.value_at(np.array([t])) == pytest.approx(value(t), rel=1e-14, abs=1e-15)
        assert f.grad_at(np.array([t]))[0] == pytest.approx(slope(t), rel=1e-13, abs=1e-15)
    batch = np.array(POINTS).reshape(-1, 1)
    np.testing.assert_allclose(f(batch), [value(t) for t in POINTS], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(f.grad(batch)[:, 0], [slope(t) for t in POINTS], rtol=1e-13,
                               atol=1e-15)
    h = 1e-5  # the Hessian against central differences of the exact gradient
    for t in POINTS:
        fd = (f.grad([t + h])[0] - f.grad([t - h])[0]) / (2 * h)
        assert f.hessian([t])[0, 0] == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_every_function_is_documented_and_in_the_grammar() -> None:
    import descend.formula as mod

    doc = mod.__doc__ or ""
    for name in FUNCTIONS:
        assert f"``{name}" in doc or f" {name} " in doc or f"{name}(" in doc, name
        assert parse(f"{name}(x, 2)" if name in ("min", "max", "log") else f"{name}(x)")


def test_erf_matches_scipy_on_a_batch() -> None:
    x = np.linspace(-6, 6, 101).reshape(-1, 1)
    np.testing.assert_array_equal(parse("erf(x)")(x), special.erf(x[:, 0]))


def test_subgradients_at_the_kinks() -> None:
    assert parse("relu(x)").grad([0.0]).tolist() == [0.0]  # relu'(0) = 0
    assert parse("abs(x)").grad([0.0]).tolist() == [0.0]  # abs'(0) = sign(0) = 0
    assert parse("sign(x)").grad([0.0]).tolist() == [0.0]
    assert parse("sign(x)").grad([-3.0]).tolist() == [0.0]
    assert parse("max(x, y)").grad([2.0, 2.0]).tolist() == [0.5, 0.5]
    assert parse("min(x, y)").grad([2.0, 2.0]).tolist() == [0.5, 0.5]
    assert parse("max(x, y)").grad([3.0, 2.0]).tolist() == [1.0, 0.0]
    assert parse("min(x, y)").grad([3.0, 2.0]).tolist() == [0.0, 1.0]
    # pairs in a balanced tree: a tie of four splits evenly, the weights always sum to 1
    assert parse("max(a, b, c, d)").grad([1.0] * 4).tolist() == [0.25] * 4
    g3 = parse("max(x, y, z)").grad([1.0, 1.0, 1.0])
    assert g3.tolist() == [0.25, 0.25, 0.5] and g3.sum() == 1.0
    assert parse("relu(x)^2 + abs(x)*y").hessian([0.0, 1.0]).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    # the steps of the kinks are held fixed in the Hessian: no Dirac deltas, finite
    f = parse("abs(x)*y + relu(x*y)^2 + max(x, y)*x + sign(x)*y^2")
    np.testing.assert_array_equal(f.hessian([1.0, 3.0]), [[18.0, 14.0], [14.0, 4.0]])


def test_sigmoid_and_softplus_never_overflow() -> None:
    sig, soft = parse("sigmoid(x)"), parse("softplus(x)")
    x = np.array([[-1000.0], [-700.0], [-30.0], [0.0], [30.0], [700.0], [1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s, sp = sig(x), soft(x)
        ds, dsp = sig.grad(x)[:, 0], soft.grad(x)[:, 0]
        assert sig([-700.0]) == pytest.approx(math.exp(-700), rel=1e-13)
        assert soft([800.0]) == 800.0 and soft.value_at(np.array([-800.0])) == 0.0
    assert np.isfinite(s).all() and np.isfinite(sp).all() and np.isfinite(ds).all()
    np.testing.assert_allclose(s[1:-1], [math.exp(-700), _sig(-30), 0.5, _sig(30), 1.0],
                               rtol=1e-14)
    np.testing.assert_allclose(sp[1:-1], [math.exp(-700), math.log1p(math.exp(-30)),
                                          math.log(2), 30 + math.log1p(math.exp(-30)), 700.0],
                               rtol=1e-14)
    # sigmoid' = sigmoid(x) sigmoid(-x): full relative accuracy in both tails
    assert ds[1] == pytest.approx(math.exp(-700), rel=1e-13)
    assert ds[-2] == pytest.approx(math.exp(-700), rel=1e-13)
    assert ds[2] == pytest.approx(_sig(-30) * _sig(30), rel=1e-14)
    np.testing.assert_array_equal(dsp, s)  # softplus' = sigmoid
    assert s[0] == 0.0 and s[-1] == 1.0 and sp[0] == 0.0 and sp[-1] == 1000.0


def test_new_functions_print_and_fold() -> None:
    assert parse("max(x, y, 1)").latex == r"\max\left(x, y, 1\right)"
    assert str(parse("min(x, y, z)").expr) == "min(x, y, z)"
    assert str(parse("min(x, y, z)").expr.args[0]) == "min(x, y)"  # pairs, opened to print
    assert parse("exp2(x)").latex == "2^{x}"
    assert parse("log2(x)").latex == r"\log_{2}{\left(x \right)}"
    assert parse("log10(x)").latex == r"\log_{10}{\left(x \right)}"
    assert parse("sigmoid(x)").partials_latex == {
        "x": r"\operatorname{sigmoid}{\left(- x \right)} \operatorname{sigmoid}{\left(x \right)}"}
    assert parse("ln(x)") == parse("log(x)")
    assert parse("log(x, 10)").expr == sympy.log(sympy.Symbol("x", real=True)) / sympy.log(10)
    assert parse("max(2, 3, 1) + min(4, -1) + relu(-2) + sign(-5) + exp2(3)")([]) == 9.0
    assert parse("sigmoid(x - x)").expr == sympy.Rational(1, 2)
    assert parse("softplus(x - x + 1)")([0.0]) == pytest.approx(math.log1p(math.e))
    assert parse("log2(8) + log10(1000)")([]) == 6.0


@pytest.mark.parametrize(
    ("text", "words", "position"),
    [
        ("max(x)", "max() takes two or more arguments", 0),
        ("min()", "min() takes two or more arguments", 0),
        ("log(x, 2, 3)", "log() takes one or two arguments", 0),
        ("sigmoid(x, y)", "sigmoid() takes exactly one argument", 0),
        ("max(x, default=1)", "character '=' is not allowed", 14),
        ("log(x, base=2)", "character '=' is not allowed", 11),
        ("x + max(*x)", "star argument", 4),
        ("log(x, 1)", "log base must be positive and not 1", 7),
        ("log(x, -2)", "log base must be positive and not 1", 7),
        ("log(x, 0)", "log base must be positive and not 1", 7),
        ("log(3, 1)", "undefined", 0),
        ("log2(-1)", "undefined", 0),
        ("exp2(5000)", "too large", 0),
        ("sinn(y)", "did you mean sin?", 0),
        ("x + Sin(y)", "did you mean sin?", 4),
        ("x + sigmod(y)", "did you mean sigmoid?", 4),
        ("x + softpls(y)", "did you mean softplus?", 4),
        ("x + gamma(y)", "for a product write gamma*(...)", 4),
        ("sinn", "'sinn' is not a function (did you mean sin?)", 0),
        ("  reluu ", "did you mean relu?", 2),
        ("relu", "'relu' is a function", 4),
        ("max + 1", "'max' is a function", 4),
    ],
)
def test_refusals_name_the_problem(text: str, words: str, position: int) -> None:
    with pytest.raises(FormulaError) as info:
        parse(text)
    assert words in info.value.reason
    assert info.value.position == position


def test_a_single_name_is_a_variable_when_declared_or_not_close_to_a_function() -> None:
    assert parse("sinn", variables="sinn").variables == ("sinn",)
    assert parse("x").variables == ("x",)
    assert parse("rosenbrok").variables == ("rosenbrok",)  # the catalog is as_objective's
    for name in ("ln", "max", "relu", "sigmoid", "erf"):
        with pytest.raises(InvalidArgument):
            parse("x", variables=[name, "x"])


def test_64_variables() -> None:
    names = [f"v{i}" for i in range(MAX_VARIABLES)]
    f = parse("(" + "+".join(names) + ")^2")
    assert f.n_vars == MAX_VARIABLES == 64
    x = np.arange(64.0) / 64
    assert f(x) == pytest.approx(x.sum() ** 2)
    np.testing.assert_allclose(f.grad(x), np.full(64, 2 * x.sum()))
    np.testing.assert_array_equal(f.hessian(x), np.full((64, 64), 2.0))
    g = parse("max(" + ", ".join(f"{v}^2" for v in names[:24]) + ")")
    point = np.linspace(-1, 0.5, 24)
    expected = np.zeros(24)
    expected[0] = -2.0
    np.testing.assert_array_equal(g.grad(point), expected)
    with pytest.raises(FormulaError, match="too many variables: at most 64"):
        parse("+".join(f"v{i}" for i in range(65)))


# --- bounded work ------------------------------------------------------------------------


def test_small_exact_numbers_stay_exact() -> None:
    x = sympy.Symbol("x", real=True)
    assert parse("x/3 + 2^60").expr == x / 3 + 2**60
    assert parse("(2/3*x)^3").expr == sympy.Rational(8, 27) * x**3
    assert parse("(x^100)^100").expr == x**10000
    assert parse("((2^(1/3))^99)*x").expr == 2**33 * x


def test_large_exact_numbers_become_floats_before_sympy_builds_them() -> None:
    x = sympy.Symbol("x", real=True)
    f = parse("((2/3)**100)**100*x + x**2")  # (2/3)^10000 underflows: 0 in floating point
    assert f.expr == x**2 and f([3.0]) == 9.0 and f.grad([3.0]).tolist() == [6.0]
    tower = parse("((1+1/999999999999999)**100)**100*x")
    assert tower.expr.atoms(sympy.Float) and max(
        (max(abs(r.p), r.q).bit_length() for r in tower.expr.atoms(sympy.Rational)),
        default=0) <= MAX_BITS
    assert tower([1.0]) == pytest.approx(((1 + 1 / 999999999999999) ** 100) ** 100, rel=1e-15)
    near_one = parse("(((1+1/999999999999999)**100)**100)**100*x")
    assert near_one([1.0]) == pytest.approx((1 + 1e-15) ** 1e6, rel=1e-9)
    g = parse("(((2/3*x)^100)^100)^100")  # (2/3)^1e6 x^1e6: SymPy splits the power
    assert g.expr.atoms(sympy.Float) and g([1.0]) == 0.0 and g.grad([1.0]).tolist() == [0.0]
    # SymPy turns exp(c*log(2*x)) into 2**c * x**c; with c a float, both stay floats
    huge = parse("exp(999999999999999*log(2*x))")
    assert huge.expr.atoms(sympy.Float) and not any(
        r.p.bit_length() > MAX_BITS for r in huge.expr.atoms(sympy.Rational))


def test_big_integers_reach_numpy_as_floats() -> None:
    n = 999999999999989 * 999999999999947
    f = parse("sqrt(999999999999989*999999999999947)*x + log(2^99)*y + sin(2^99)")
    pts = np.array([[1.0, 1.0], [2.0, 0.5]])
    expected = [math.sqrt(n) * a + 99 * math.log(2) * b + math.sin(2.0**99) for a, b in pts]
    np.testing.assert_allclose(f(pts), expected, rtol=1e-14)
    assert f(pts[0]) == pytest.approx(expected[0], rel=1e-14)
    np.testing.assert_allclose(f.grad(pts[0]), [math.sqrt(n), 99 * math.log(2)], rtol=1e-14)


@pytest.mark.parametrize(
    "text",
    ["sin(" * 21 + "x" + ")" * 21, "^".join(["x"] * 22), "1/(1+" * 21 + "x" + ")" * 21,
     "sigmoid(" * 21 + "y" + ")" * 21],
)
def test_nesting_beyond_the_limit_is_refused(text: str) -> None:
    with pytest.raises(FormulaError, match=f"nested more than {MAX_NESTING} deep"):
        parse(text)


def test_nesting_counts_only_what_holds_a_variable() -> None:
    assert parse("sin(" * 20 + "x" + ")" * 20).n_vars == 1
    assert parse("/".join(["x"] * 60)).n_vars == 1  # numerators do not nest
    assert parse("sin(" * 40 + "1" + ")" * 40 + "*x").n_vars == 1  # a constant


def test_derivatives_too_costly_to_build_are_refused() -> None:
    with pytest.raises(FormulaError, match="too complex to differentiate exactly"):
        parse("*".join(f"v{i}" for i in range(64)))
    f = parse("*".join(f"(x+{k})" for k in range(1, 41)))  # its gradient is fine
    assert f.grad([0.0])[0] == pytest.approx(math.factorial(40) * sum(1 / k for k in range(1, 41)))
    with pytest.raises(FormulaError, match=f"at most {MAX_HESSIAN_COST:,}"):
        f.hessian([0.0])
    with pytest.raises(FormulaError):  # and again: the refusal is not cached away
        f.hessian([0.0])


# --- property: exact gradients and Hessians of the new functions ------------------------

NAMES = ("a", "b")


@st.composite
def formulas(draw: st.DrawFn, depth: int = 3) -> str:
    """Formula text with the new smooth functions, finite on [0.5, 2]^2 (the kinks of
    relu, sign, min and max have their own test)."""
    if depth == 0 or draw(st.booleans()):
        v = draw(st.sampled_from(NAMES))
        return draw(st.sampled_from(
            [v, f"ln({v})", f"log2({v})", f"log10({v})", f"log({v}, 3)", f"exp2({v})",
             f"erf({v})", f"sigmoid({v})", f"softplus({v})", f"{v}^2", "2", "0.5"]))
    a = draw(formulas(depth - 1))
    b = draw(formulas(depth - 1))
    template = draw(st.sampled_from(
        ["({a}) + ({b})", "({a}) * ({b})", "({a}) / (1 + ({b})^2)", "sigmoid({a})",
         "softplus({a})", "erf(({a})/4)", "exp2(sin({a}))", "log2(2 + ({a})^2)",
         "log(3 + ({a})^2, 5)", "tanh({a})"]))
    return template.format(a=a, b=b)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=formulas(), data=st.data())
def test_gradient_and_hessian_match_central_differences(text: str, data: st.DataObject) -> None:
    f = parse(text)
    p = f.n_vars
    x = np.array(data.draw(st.lists(st.floats(0.5, 2.0), min_size=p, max_size=p)))
    value, grad, hess = f(x), f.grad(x), f.hessian(x)
    assert np.isfinite(value) and np.isfinite(grad).all() and np.isfinite(hess).all()
    h = 1e-5
    fd = np.empty(p)
    fd2 = np.empty((p, p))
    for i in range(p):
        step = np.zeros(p)
        step[i] = h
        fd[i] = (f(x + step) - f(x - step)) / (2 * h)
        fd2[i] = (f.grad(x + step) - f.grad(x - step)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-6 * (1 + abs(value)))
    np.testing.assert_allclose(hess, fd2, rtol=1e-4, atol=1e-5 * (1 + np.abs(grad).sum()))
    np.testing.assert_allclose(f(np.stack([x, x])), [value, value], rtol=1e-15)


def test_readme_formulas_section_runs_as_typed() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("\n## Formulas\n", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]
    assert blocks
    space: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), space)
    g: Any = space["g"]
    assert g.variables == ("v", "w")
    np.testing.assert_allclose(g.grad([3.0, 3.0]), [0.76057669, 1.0], rtol=1e-8)
    assert "| `relu(x)` = `max(x, 0)` | 1 for x > 0, else 0 | `relu'(0) = 0` |" in section
