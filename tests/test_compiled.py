"""The compiled loop of descend._compiled against the NumPy loop it replaces.

Each expression is compiled once per session (about a second each); the runs are small.
"""

from __future__ import annotations

import inspect
import math
import os
from unittest import mock

import numpy as np
import pytest

from descend import _compiled, functions, linesearch, multistart, optimizers, parse
from descend._minimize import Run, run_batch
from descend.objective import as_objective
from descend.stopping import CODES, Criteria

PARABOLOID = "x**2 + y**2"  # the catalog paraboloid's formula too
MIXED = ("exp(x/3) + log(1 + y^2) + sqrt(x^2 + 1) + abs(x - y) + sin(x)*cos(y) + tan(x/9)"
         " + asin(y/9) + acos(x/9) + atan(x*y)/2 + sinh(x/5) + cosh(y/5) + tanh(x)"
         " + x^4/8 + pi*e*y/10")
FIVE_D = ("(a - 1)^2 + 2*(b + 1)^2 + abs(c - d) + exp(u/4) + log(1 + a^2)"
          " + sqrt(b^2 + 1) + sin(c)*cos(d) + 3*u^2")
ONE_D = "log(x) + (x - 2)^2"
#: Every function added for issue 18, kinks included (relu, sign, abs, max and min).
NEW = ("sigmoid(x) + softplus(y) + relu(x - y)^2 + max(x, y, 1)^2/4 + min(x, -y)^2"
       " + erf(x/3)*y + exp2(x/4) + log2(2 + y^2) + log10(3 + x^2) + ln(4 + x^2)"
       " + log(5 + y^2, 3) + sign(x)*y/10 + abs(x - 1)")
FIELDS = ("x", "fun", "jac", "nit", "codes", "lr_max")


def _numpy(obj, x0, **kw) -> Run:
    with mock.patch.dict(os.environ, {_compiled.ENV: "1"}):
        return run_batch(obj, x0, record=False, **kw)


def _compiled_run(obj, x0, *, lr=0.1, max_iter=1000, gtol=1e-6, ftol=None, xtol=None) -> Run:
    run = _compiled.try_run(
        obj, x0, optimizers.get("gd"), linesearch.get(lr),
        Criteria.make(max_iter, gtol, ftol, xtol), force=True,
    )
    assert run is not None, "the compiled path was not taken"
    return run


def both(fun, x0, **kw) -> tuple[Run, Run]:
    x0 = np.asarray(x0, dtype=np.float64)
    obj = as_objective(fun).with_dimension(x0.shape[1])
    return _numpy(obj, x0, **kw), _compiled_run(obj, x0, **kw)


def assert_same(a: Run, b: Run, *, rtol: float | None = 0.0) -> None:
    """Equal outcomes: bit for bit when ``rtol`` is 0; only statuses, steps and counts when
    it is None (runs that oscillate near the stability limit amplify any rounding)."""
    for name in FIELDS:
        u, v = getattr(a, name), getattr(b, name)
        assert u.shape == v.shape and u.dtype == v.dtype, name
        if rtol == 0.0 or name in ("nit", "codes"):
            np.testing.assert_array_equal(u, v, err_msg=name)
        elif rtol is not None:
            np.testing.assert_allclose(u, v, rtol=rtol, atol=1e-11, err_msg=name)
    assert (a.nfev, a.njev, a.why) == (b.nfev, b.njev, b.why)
    assert a.lr is b.lr or np.array_equal(a.lr, b.lr)
    if rtol == 0.0:
        assert [a.message(k) for k in range(len(a.nit))] == [
            b.message(k) for k in range(len(b.nit))]


def statuses(run: Run) -> list[str]:
    return [CODES[c].value for c in run.codes]


@pytest.fixture(scope="module", autouse=True)
def _compile_once():
    """Compile every expression of this module once, up front."""
    for fun, dim in [(PARABOLOID, None), (functions.get("rosenbrock"), None),
                     (functions.get("himmelblau"), None), (MIXED, None), (FIVE_D, None),
                     (ONE_D, None), (NEW, None)]:
        assert _compiled.prepare(fun, dim) is not None, fun
    yield


def test_paraboloid_statuses_bit_for_bit():
    rng = np.random.default_rng(0)
    x0 = rng.uniform(-5, 5, (300, 2))
    x0[0] = 0.0  # gtol at x0: no step
    x0[1] = [math.inf, 1.0]  # f(x0) not finite
    for kw in [dict(lr=0.1), dict(lr=0.1, max_iter=5), dict(lr=0.01, gtol=None, ftol=1e-9),
               dict(lr=0.01, gtol=None, xtol=1e-7), dict(lr=0.3, gtol=0.0, max_iter=2000),
               dict(lr=0.01, gtol=1e-3, ftol=1e-3, xtol=1e-3), dict(lr=0.1, max_iter=0)]:
        a, b = both(PARABOLOID, x0, **kw)
        assert_same(a, b)
    assert set(statuses(a)) == {"max_iter", "gtol", "diverged"}
    assert a.why[1] == "f or the gradient at x0 is not finite"


def test_each_status_appears():
    x0 = np.random.default_rng(1).uniform(-3, 3, (40, 2))
    seen = set()
    for kw in [dict(lr=0.1), dict(lr=0.01, gtol=None, ftol=1e-9),
               dict(lr=0.01, gtol=None, xtol=1e-7), dict(lr=0.01, max_iter=3),
               dict(lr=1.5)]:
        a, b = both(PARABOLOID, x0, **kw)
        assert_same(a, b)
        seen |= set(statuses(b))
    assert seen == {"gtol", "ftol", "xtol", "max_iter", "diverged"}


def test_per_run_steps_and_divergence_by_growth():
    x0 = np.tile([6.0, -3.0], (4, 1))
    lr = np.array([0.1, 0.5, 1.0, 1.5])
    a, b = both(PARABOLOID, x0, lr=linesearch.Fixed(lr), max_iter=200)
    assert_same(a, b)
    assert statuses(b) == ["gtol", "gtol", "max_iter", "diverged"]
    # x <- -2x: f grows 4x a step past f0 + 1e10 f0, then stays at the last point.
    assert b.lr_max[3] == 1.0 and np.isnan(b.lr_max[:3]).all()
    # f0 = 45 and f_k = 45 * 4**k passes 45 + 1e10 * 45 at k = 17; the run keeps x_16.
    assert b.nit[3] == 16 and b.fun[3] == 45.0 * 4.0**16
    assert b.x[3].tolist() == [6.0 * 2.0**16, -3.0 * 2.0**16]
    assert "grew without bound" in b.why[3] and "diverged at iteration 16" in b.message(3)


def test_catalog_functions_agree_to_rounding():
    # A catalog entry runs through its formula, equal to its NumPy code up to rounding.
    rng = np.random.default_rng(2)
    for name, lr, box in [("rosenbrock", 1e-3, 2.0), ("himmelblau", 0.01, 5.0)]:
        x0 = rng.uniform(-box, box, (200, 2))
        for kw in [dict(lr=lr, max_iter=300), dict(lr=lr, max_iter=300, gtol=None)]:
            a, b = both(functions.get(name), x0, **kw)
            assert_same(a, b, rtol=1e-12)
        # Three times the step: half the runs diverge, others oscillate and amplify the
        # rounding (end points apart), yet every status and step count agrees.
        a, b = both(functions.get(name), x0, lr=lr * 3, max_iter=300, gtol=1e-4)
        assert_same(a, b, rtol=None)
        assert "diverged" in statuses(b)
        np.testing.assert_array_equal(np.isnan(a.lr_max), np.isnan(b.lr_max))
    a, b = both(functions.get("paraboloid"), x0, lr=0.1)
    assert_same(a, b)  # the same arithmetic as the NumPy code: bit for bit


def test_formula_with_every_function():
    x0 = np.random.default_rng(4).uniform(-3, 3, (200, 2))
    for kw in [dict(lr=0.05, max_iter=300), dict(lr=0.05, max_iter=300, gtol=None, ftol=1e-12),
               dict(lr=2.0, max_iter=50)]:
        a, b = both(MIXED, x0, **kw)
        assert_same(a, b, rtol=1e-12)  # tanh: NumPy's own SIMD routine, within an ulp
    assert "diverged" in statuses(b)


def test_formula_with_every_new_function():
    rng = np.random.default_rng(7)
    x0 = rng.uniform(-3, 3, (200, 2))
    x0[:10, 1] = x0[:10, 0]  # relu(x - y) and max(x, y) at their kinks
    x0[10:20, 0] = 1.0  # abs(x - 1) at its kink
    x0[20:25] = [[800.0, -800.0]]  # sigmoid and softplus far out: no overflow
    for kw in [dict(lr=0.05, max_iter=300), dict(lr=0.05, max_iter=300, gtol=None, ftol=1e-12),
               dict(lr=3.0, max_iter=50)]:
        a, b = both(NEW, x0, **kw)
        # erf: scipy's against libm's, exp in sigmoid and softplus: NumPy's SIMD against
        # libm's; within a few ulps per step
        assert_same(a, b, rtol=1e-9)
    assert "diverged" in statuses(b)


def test_new_functions_decline_cleanly_without_their_compiled_helpers(monkeypatch):
    from descend._compiled import steps

    monkeypatch.setattr(steps, "FORMULA_HELPERS", {})
    monkeypatch.setattr(_compiled, "_kernels", type(_compiled._kernels)())
    obj = as_objective("sigmoid(x) + max(x, y)^2 + relu(y)")
    x0 = np.random.default_rng(8).uniform(-1, 1, (4, 2))
    assert _compiled.try_run(obj, x0, optimizers.get("gd"), linesearch.get(0.01),
                             Criteria.make(20, None, None, None), force=True) is None
    assert _compiled._cached(obj.source) == (True, None)  # declined, and remembered
    run = run_batch(obj, x0, lr=0.01, max_iter=20, record=False)  # the NumPy loop
    assert run.nit.tolist() == [20] * 4 and np.isfinite(run.fun).all()


def test_five_variables_bit_for_bit_with_abs_at_its_kink():
    rng = np.random.default_rng(5)
    x0 = rng.uniform(-2, 2, (150, 5))
    x0[:20, 3] = x0[:20, 2]  # |c - d| at 0: sign 0, as numpy.sign
    for kw in [dict(lr=0.02, max_iter=400), dict(lr=0.02, gtol=None, xtol=1e-9, max_iter=400),
               dict(lr=0.5, max_iter=100)]:
        a, b = both(FIVE_D, x0, **kw)
        assert_same(a, b)
    assert parse(FIVE_D).n_vars == 5


def test_one_variable_domain_errors_diverge():
    # log(x): a step to x < 0 gives nan (not an exception), the run stays at its last point.
    x0 = np.array([[0.1], [0.5], [3.0], [-1.0], [0.0]])
    for lr in (0.01, 0.1, 0.3):
        a, b = both(ONE_D, x0, lr=lr, max_iter=300)
        assert_same(a, b)
    assert statuses(b)[3:] == ["diverged", "diverged"]
    assert b.why[3] == "f or the gradient at x0 is not finite"
    assert "diverged" in statuses(b)[:3]
    assert np.isfinite(b.x).all() and np.isfinite(b.fun[:3]).all()


def test_threads_split_the_runs(monkeypatch):
    monkeypatch.setattr(_compiled, "_MIN_PER_THREAD", 10)
    x0 = np.random.default_rng(6).uniform(-3, 3, (1003, 2))
    a, b = both(PARABOLOID, x0, lr=linesearch.Fixed(np.linspace(0.01, 1.2, 1003)),
                max_iter=300)
    assert_same(a, b)


def test_run_batch_dispatch(monkeypatch):
    x0 = np.random.default_rng(7).uniform(-2, 2, (50, 2))
    obj = as_objective(PARABOLOID)
    calls = []
    real = _compiled._run
    monkeypatch.setattr(_compiled, "_run", lambda *a: calls.append(1) or real(*a))
    run = run_batch(obj, x0, lr=0.1, record=False)  # compiled in this process: taken
    assert calls == [1] and run.path is None
    assert run_batch(obj, x0, lr=0.1).path is not None and calls == [1]  # recorded: NumPy
    twice = optimizers.Optimizer(lambda x: (), lambda g, s, x: (2 * g, s), "gd")
    for kw in [dict(method="momentum"), dict(lr="bb"), dict(lr=lambda k: 0.1),
               dict(lr=0.1, method=twice)]:
        run_batch(obj, x0, record=False, max_iter=20, **kw)
    assert calls == [1]
    with mock.patch.dict(os.environ, {_compiled.ENV: "1"}):
        run_batch(obj, x0, lr=0.1, record=False)
    assert calls == [1]
    run_batch(as_objective(lambda v: float(v @ v)), x0, lr=0.1, max_iter=5, record=False)
    run_batch(as_objective(functions.get("ackley")), x0, lr=0.1, max_iter=20, record=False)
    assert calls == [1]
    with pytest.raises(Exception, match="per-run steps"):
        run_batch(obj, x0, lr=linesearch.Fixed([0.1, 0.2]), record=False)


def test_threshold_decides_the_first_compile(monkeypatch):
    fresh = "x**2 + 3*y**2 - 0.25*x*y"
    obj = as_objective(fresh)
    x0 = np.random.default_rng(8).uniform(-2, 2, (10, 2))
    compiled = []
    monkeypatch.setattr(_compiled, "_compile", lambda f: compiled.append(f) or None)
    run_batch(obj, x0, lr=0.1, max_iter=100, record=False)
    assert compiled == []  # 1,000 point-steps: not worth a compile
    monkeypatch.setattr(_compiled, "THRESHOLD", 1000)
    run = run_batch(obj, x0, lr=0.1, max_iter=100, record=False)
    assert compiled == [obj.source]  # tried; a failed compile falls back to NumPy
    assert run.codes.shape == (10,)


def test_failed_compiles_fall_back_and_are_remembered(monkeypatch):
    def broken(formula):
        raise RuntimeError("no")

    monkeypatch.setattr(_compiled, "_build", broken)
    obj = as_objective("x**4 + y**4 + 0.5*x")
    x0 = np.ones((3, 2))
    assert _compiled.try_run(obj, x0, optimizers.get("gd"), linesearch.get(0.01),
                             Criteria.make(10, None, None, None), force=True) is None
    assert _compiled._cached(obj.source) == (True, None)
    assert run_batch(obj, x0, lr=0.01, max_iter=10, record=False).nit.tolist() == [10] * 3
    assert _compiled.prepare(obj.source) is None


def test_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(_compiled, "_build", lambda formula: (lambda *a: None))
    monkeypatch.setattr(_compiled, "_warm", lambda kernel, p: None)
    monkeypatch.setattr(_compiled, "_kernels", type(_compiled._kernels)())
    for i in range(_compiled.CACHE_SIZE + 5):
        assert _compiled.prepare(f"x**2 + {i + 1}*y**2") is not None
    assert len(_compiled._kernels) == _compiled.CACHE_SIZE


def test_catalog_entries_that_take_the_compiled_path():
    for name in functions.names():
        entry = functions.get(name)
        found = _compiled.formula_of(as_objective(entry))
        assert (found is not None) == (name != "ackley"), name
    assert _compiled.formula_of(as_objective(functions.get("rastrigin", dim=300))) is None
    grad = functions.get("rosenbrock").grad
    assert _compiled.formula_of(as_objective(functions.get("rosenbrock"), grad)) is None
    assert _compiled.formula_of(as_objective(parse("x*y"), lambda v: v)) is None


def test_multistart_same_minima_with_and_without_compiling():
    x0 = np.random.default_rng(9).uniform(-5, 5, (400, 2))
    for fun, exact in [(functions.get("himmelblau"), False),
                       ("(x**2 + y - 11)**2 + (x + y**2 - 7)**2", True)]:
        with mock.patch.dict(os.environ, {_compiled.ENV: "1"}):
            a = multistart(fun, x0, lr=0.01, max_iter=2000)
        b = multistart(fun, x0, lr=0.01, max_iter=2000)  # compiled in this process
        np.testing.assert_array_equal(a.status, b.status)
        np.testing.assert_array_equal(a.nit, b.nit)
        if exact:
            assert a.x.tobytes() == b.x.tobytes() and a.fun.tobytes() == b.fun.tobytes()
            r = b.result(3)  # minimize recomputes the same iterates
            assert r.x.tobytes() == b.x[3].tobytes() and r.nit == b.nit[3]
        else:
            np.testing.assert_allclose(a.x, b.x, rtol=1e-9, atol=1e-12)
        assert len(a.minima) == len(b.minima) == 4
        for m, n in zip(a.minima, b.minima, strict=True):
            assert m.count == n.count and np.allclose(m.x, n.x, atol=1e-9)


def test_himmelblau_1000_starts_compiled_finds_all_four_minima(monkeypatch):
    monkeypatch.setattr(_compiled, "THRESHOLD", 0)
    entry = functions.get("himmelblau")
    ms = multistart(entry, 1000, bounds=[(-5, 5), (-5, 5)], seed=0, lr=0.01)
    assert len(ms.minima) == 4
    assert sum(m.count for m in ms.minima) == ms.n_converged == np.sum(ms.status == "gtol")
    for known in entry.minima:
        assert min(np.linalg.norm(m.x - known) for m in ms.minima) < 1e-5
    assert ms.best.fun < 1e-12 and ms.best.path.shape[0] == ms.best.nit + 1


def test_disabled_reads_the_environment():
    with mock.patch.dict(os.environ, {_compiled.ENV: "1"}):
        assert _compiled.disabled()
    with mock.patch.dict(os.environ, {_compiled.ENV: "0"}):
        assert not _compiled.disabled()
    with mock.patch.dict(os.environ, {}, clear=False):
        os.environ.pop(_compiled.ENV, None)
        assert not _compiled.disabled()


def test_generated_code_uses_pow_for_integer_powers():
    # NumPy raises float64 arrays to integer powers with libm's pow; so does the kernel.
    value, grad = _compiled._functions(parse("x^3 + 2*y^2 - x^-2 + (x + y)^-3"))
    text = inspect.getsource(value)
    assert "**3.0" in text and "**2.0" in text and "**(-3.0)" in text
    assert value(1.5, 2.0) == 2 * 2.0**2.0 + 1.5**3.0 + 3.5**-3.0 - 1 / 1.5**2.0
    assert len(grad(1.5, 2.0)) == 2
