"""The compiled backend of the loop (descend._compiled) against the NumPy backend.

Both apply the same rule function (descend.stopping.step_code); the formula's arithmetic is
libm's in the kernel and NumPy's in the NumPy loop, so numbers are compared to rounding
(they differ by an ulp on some CPUs), statuses and steps exactly. Each expression is
compiled once per session (seconds each); the runs are small.
"""

from __future__ import annotations

import inspect
import math
import os
import sys
from unittest import mock

import numpy as np
import pytest

import descend
from descend import _compiled, functions, linesearch, multistart, parse
from descend._loop import Outcome
from descend._minimize import run_batch
from descend.objective import as_objective
from descend.result import Reason

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


def both(fun, x0, **kw) -> tuple[Outcome, Outcome]:
    x0 = np.asarray(x0, dtype=np.float64)
    obj = as_objective(fun).with_dimension(x0.shape[1])
    a = run_batch(obj, x0, record=False, backend="numpy", **kw)
    b = run_batch(obj, x0, record=False, **kw)
    assert a.backend == "numpy" and b.backend == "compiled", (a.backend, b.backend)
    return a, b


def assert_same(a: Outcome, b: Outcome, *, rtol: float | None = 1e-13,
                atol: float = 1e-300, f_ulps: float | None = None) -> None:
    """The same statuses, steps and counts; numbers equal to ``rtol`` (None: not compared,
    for runs that oscillate at the edge of stability and amplify any rounding).

    ``f_ulps``: the stopping detail of runs stopped by ``ftol`` is a change in f, a
    difference that keeps f's absolute rounding; it is compared to that many ulps of the
    largest f instead, and the messages (which print it) are not compared."""
    ca, cb = a.carry, b.carry
    for name in ("code", "nit", "nfev", "njev"):
        np.testing.assert_array_equal(getattr(ca, name), getattr(cb, name), err_msg=name)
    if rtol is None:
        return
    for name in ("x", "f", "g", "lr_max", "detail"):
        tol = atol
        if name == "detail" and f_ulps is not None:
            tol = max(atol, f_ulps * float(np.spacing(np.max(np.abs(ca.f)))))
        np.testing.assert_allclose(getattr(cb, name), getattr(ca, name), rtol=rtol,
                                   atol=tol, err_msg=name)
    if atol == 1e-300 and f_ulps is None:
        # near 0 the numbers (so the messages) carry only the rounding
        assert [a.message(k) for k in range(len(ca.nit))] == [
            b.message(k) for k in range(len(cb.nit))]


def reasons(out: Outcome) -> list[str]:
    return [Reason(int(c) or int(Reason.MAX_ITER)).name for c in out.carry.code]


@pytest.fixture(scope="module", autouse=True)
def _compile_once():
    """Compile every expression of this module once, up front."""
    for fun, dim in [(PARABOLOID, None), (functions.get("rosenbrock"), None),
                     (functions.get("himmelblau"), None), (MIXED, None), (FIVE_D, None),
                     (ONE_D, None), (NEW, None)]:
        assert _compiled.prepare(fun, dim) is not None, fun
    yield


def test_paraboloid_every_setting():
    rng = np.random.default_rng(0)
    x0 = rng.uniform(-5, 5, (300, 2))
    x0[0] = 0.0  # gtol at x0: no step
    x0[1] = [1e200, 1.0]  # f(x0) overflows: diverged at the start
    for kw in [dict(lr=0.1), dict(lr=0.1, max_iter=5), dict(lr=0.01, gtol=None, ftol=1e-9),
               dict(lr=0.01, gtol=None, xtol=1e-7), dict(lr=0.3, gtol=0.0, max_iter=2000),
               dict(lr=0.01, gtol=1e-3, ftol=1e-3, xtol=1e-3), dict(lr=0.1, max_iter=0)]:
        a, b = both(PARABOLOID, x0, **kw)
        assert_same(a, b)
    assert set(reasons(a)) == {"MAX_ITER", "GTOL", "F0_NONFINITE"}
    assert b.message(1).startswith("diverged at iteration 0: f(x0) = inf")


def test_each_status_appears():
    x0 = np.random.default_rng(1).uniform(-3, 3, (40, 2))
    seen = set()
    for kw in [dict(lr=0.1), dict(lr=0.01, gtol=None, ftol=1e-9),
               dict(lr=0.01, gtol=None, xtol=1e-7), dict(lr=0.01, max_iter=3),
               dict(lr=1.5)]:
        a, b = both(PARABOLOID, x0, **kw)
        assert_same(a, b)
        seen |= set(reasons(b))
    assert seen == {"GTOL", "FTOL", "XTOL", "MAX_ITER", "F_BOUND"}


def test_per_run_steps_and_divergence_by_growth():
    x0 = np.tile([6.0, -3.0], (4, 1))
    lr = np.array([0.1, 0.5, 1.0, 1.5])
    a, b = both(PARABOLOID, x0, lr=linesearch.Fixed(lr), max_iter=200)
    assert_same(a, b)
    assert reasons(b) == ["GTOL", "GTOL", "MAX_ITER", "F_BOUND"]
    c = b.carry
    # x <- -2x: f grows 4x a step past f0 + 1e10 f0; powers of two, exact on any CPU.
    assert c.lr_max[3] == 1.0 and np.isnan(c.lr_max[:3]).all()
    assert c.nit[3] == 16 and c.f[3] == 45.0 * 4.0**16
    assert c.x[3].tolist() == [6.0 * 2.0**16, -3.0 * 2.0**16]
    assert c.detail[3] == 45.0 * 4.0**17
    assert b.message(3).startswith("diverged at iteration 16: the next step took f to 7.73e+11")
    assert "try lr <= 1.0" in b.message(3)


def test_catalog_functions_agree_to_rounding():
    # A catalog entry runs through its formula, equal to its NumPy code up to rounding.
    rng = np.random.default_rng(2)
    for name, lr, box in [("rosenbrock", 1e-3, 2.0), ("himmelblau", 0.01, 5.0)]:
        x0 = rng.uniform(-box, box, (200, 2))
        for kw in [dict(lr=lr, max_iter=300), dict(lr=lr, max_iter=300, gtol=None)]:
            a, b = both(functions.get(name), x0, **kw)
            assert_same(a, b, rtol=1e-11, atol=1e-11)  # f near 0: two formulas, cancellation
        # Three times the step: half the runs diverge, others oscillate and amplify the
        # rounding (end points apart), yet every status and step count agrees.
        a, b = both(functions.get(name), x0, lr=lr * 3, max_iter=300, gtol=1e-4)
        assert_same(a, b, rtol=None)
        assert "F_BOUND" in reasons(b) or "F_NONFINITE" in reasons(b)
        np.testing.assert_array_equal(np.isnan(a.carry.lr_max), np.isnan(b.carry.lr_max))


def test_formula_with_every_function():
    x0 = np.random.default_rng(4).uniform(-3, 3, (200, 2))
    for kw in [dict(lr=0.05, max_iter=300), dict(lr=0.05, max_iter=300, gtol=None, ftol=1e-12),
               dict(lr=2.0, max_iter=50)]:
        a, b = both(MIXED, x0, **kw)
        # tanh: NumPy's own SIMD routine, within an ulp
        assert_same(a, b, rtol=1e-11, f_ulps=4 if "ftol" in kw else None)
    assert any(r.startswith("F_") for r in reasons(b))


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
        # libm's; within a few ulps per step (which exp NumPy runs depends on the CPU: its
        # AVX-512 routine moved |df| near ftol by an ulp of f, 0.2% of |df|, on a Zen 5)
        assert_same(a, b, rtol=1e-9, f_ulps=4 if "ftol" in kw else None)
    assert any(r.startswith("F_") for r in reasons(b))


def test_new_functions_decline_cleanly_without_their_compiled_helpers(monkeypatch):
    from descend._compiled import steps

    monkeypatch.setattr(steps, "FORMULA_HELPERS", {})
    monkeypatch.setattr(_compiled, "_kernels", type(_compiled._kernels)())
    obj = as_objective("sigmoid(x) + max(x, y)^2 + relu(y)")
    x0 = np.random.default_rng(8).uniform(-1, 1, (4, 2))
    assert _compiled.prepare(obj.source) is None
    assert _compiled._cached(obj.source) == (True, None)  # declined, and remembered
    out = run_batch(obj, x0, lr=0.01, max_iter=20, record=False)  # the NumPy loop
    assert out.backend == "numpy"
    assert out.carry.nit.tolist() == [20] * 4 and np.isfinite(out.carry.f).all()


def test_five_variables_with_abs_at_its_kink():
    rng = np.random.default_rng(5)
    x0 = rng.uniform(-2, 2, (150, 5))
    x0[:20, 3] = x0[:20, 2]  # |c - d| at 0: sign 0, as numpy.sign
    for kw in [dict(lr=0.02, max_iter=400), dict(lr=0.02, gtol=None, xtol=1e-9, max_iter=400),
               dict(lr=0.5, max_iter=100)]:
        a, b = both(FIVE_D, x0, **kw)
        assert_same(a, b, rtol=1e-12)
    assert parse(FIVE_D).n_vars == 5


def test_one_variable_domain_errors_diverge():
    # log(x): a step to x < 0 gives nan (not an exception), the run stays at its last point.
    x0 = np.array([[0.1], [0.5], [3.0], [-1.0], [0.0]])
    for lr in (0.01, 0.1, 0.3):
        a, b = both(ONE_D, x0, lr=lr, max_iter=300)
        assert_same(a, b)
    assert reasons(b)[3:] == ["F0_NONFINITE", "F0_NONFINITE"]
    assert "F_NONFINITE" in reasons(b)[:3]
    assert np.isfinite(b.carry.x).all() and np.isfinite(b.carry.f[:3]).all()


def test_threads_split_the_runs(monkeypatch):
    monkeypatch.setattr(_compiled, "_MIN_PER_THREAD", 10)
    x0 = np.random.default_rng(6).uniform(-3, 3, (1003, 2))
    a, b = both(PARABOLOID, x0, lr=linesearch.Fixed(np.linspace(0.01, 1.2, 1003)),
                max_iter=300)
    assert_same(a, b)


def test_which_batches_take_the_compiled_loop():
    x0 = np.random.default_rng(7).uniform(-2, 2, (50, 2))
    obj = as_objective(PARABOLOID)
    assert run_batch(obj, x0, lr=0.1, record=False).backend == "compiled"
    assert run_batch(obj, x0, lr=0.1).backend == "numpy"  # recorded
    twice = descend.optimizers.Optimizer(lambda x: (), lambda g, s, x: (2 * g, s), "gd")
    for kw in [dict(method="momentum"), dict(lr="bb"), dict(lr=lambda k: 0.1),
               dict(lr=0.1, method=twice)]:
        assert run_batch(obj, x0, record=False, max_iter=20, **kw).backend == "numpy"
    with mock.patch.dict(os.environ, {_compiled.ENV: "1"}):
        assert run_batch(obj, x0, lr=0.1, record=False).backend == "numpy"
    for other in (as_objective(lambda v: float(v @ v)), as_objective(functions.get("ackley"))):
        assert run_batch(other, x0, lr=0.1, max_iter=5, record=False).backend == "numpy"
    with pytest.raises(descend.errors.InvalidArgument, match="per-run steps"):
        run_batch(obj, x0, lr=linesearch.Fixed([0.1, 0.2]), record=False)


def test_the_numpy_loop_hands_over_once_compiling_pays(monkeypatch):
    """A batch starts in NumPy, measures its speed on the first block, and carries on
    compiled when the steps left take longer than compiling: the same outcome."""
    fresh = "x**2 + 3*y**2 - 0.25*x*y + 0.01*x**4"
    obj = as_objective(fresh)
    x0 = np.random.default_rng(8).uniform(-2, 2, (64, 2))
    kw = dict(lr=0.02, max_iter=400, record=False)
    monkeypatch.setattr(_compiled, "COMPILE_SECONDS", 1e9)  # never worth it
    slow = run_batch(obj, x0, **kw)
    assert slow.backend == "numpy"
    monkeypatch.setattr(_compiled, "COMPILE_SECONDS", 0.0)
    monkeypatch.setattr(_compiled, "STARTUP_SECONDS", 0.0)
    monkeypatch.setattr(_compiled, "PARSE_SECONDS", 0.0)
    fast = run_batch(obj, x0, **kw)
    assert fast.backend == "numpy+compiled"
    assert_same(slow, fast, rtol=1e-12)
    assert run_batch(obj, x0, **kw).backend == "compiled"  # compiled now: from the start


def test_worth_compiling_is_the_crossover(monkeypatch):
    monkeypatch.setattr(_compiled, "COMPILE_SECONDS", 2.0)
    monkeypatch.setattr(_compiled, "STARTUP_SECONDS", 0.0)
    monkeypatch.setattr(_compiled, "PARSE_SECONDS", 0.0)
    monkeypatch.setattr(_compiled, "SPEEDUP", 8.0)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    m = _compiled.MARGIN
    assert not _compiled.worth_compiling(2.0 * m * 0.99)  # below the margin: NumPy
    assert _compiled.worth_compiling(2.0 * m * 1.01)
    # either choice within 1.5x of the faster, when compiling takes up to 2.5x its estimate
    t = 2.0 * m
    assert t / (2.0 + t / 8.0) <= 1.5 + 1e-12
    assert (2.5 * 2.0 + t / 8.0) / t <= 1.5 + 1e-12
    monkeypatch.setattr(_compiled, "MARGIN", 1.0)  # never compile when it cannot pay
    assert not _compiled.worth_compiling(2.2)  # 2.2 * 7/8 < 2
    assert _compiled.worth_compiling(2.4)
    monkeypatch.setattr(_compiled, "PARSE_SECONDS", 1.5)  # SymPy not loaded yet: dearer
    monkeypatch.delitem(sys.modules, "sympy", raising=False)
    assert _compiled.compile_seconds() == pytest.approx(3.5)
    monkeypatch.setattr(os, "getloadavg", lambda: (8.0, 8.0, 8.0))  # busy: compiling slows too
    busy = 8.0 / (os.cpu_count() or 1)
    assert _compiled.compile_seconds() == pytest.approx(3.5 * max(1.0, busy))


def test_failed_compiles_fall_back_and_are_remembered(monkeypatch):
    from descend._compiled import kernel

    def broken(formula):
        raise RuntimeError("no")

    monkeypatch.setattr(kernel, "build", broken)
    obj = as_objective("x**4 + y**4 + 0.5*x")
    assert _compiled.prepare(obj.source) is None
    assert _compiled._cached(obj.source) == (True, None)
    out = run_batch(obj, np.ones((3, 2)), lr=0.01, max_iter=10, record=False)
    assert out.backend == "numpy" and out.carry.nit.tolist() == [10] * 3


def test_cache_is_bounded_and_cleared(monkeypatch):
    from descend._compiled import kernel

    monkeypatch.setattr(kernel, "build", lambda formula: (lambda *a: None))
    monkeypatch.setattr(kernel, "warm", lambda k, p: None)
    monkeypatch.setattr(_compiled, "_kernels", type(_compiled._kernels)())
    for i in range(_compiled.CACHE_SIZE + 5):
        assert _compiled.prepare(f"x**2 + {i + 1}*y**2") is not None
    assert len(_compiled._kernels) == _compiled.CACHE_SIZE
    assert "compiled kernels" in descend.clear_caches()
    assert len(_compiled._kernels) == 0


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
    for fun in [functions.get("himmelblau"), "(x**2 + y - 11)**2 + (x + y**2 - 7)**2"]:
        _compiled.prepare(fun)
        with mock.patch.dict(os.environ, {_compiled.ENV: "1"}):
            a = multistart(fun, x0, lr=0.01, max_iter=2000)
        b = multistart(fun, x0, lr=0.01, max_iter=2000)  # compiled in this process
        np.testing.assert_array_equal(a.status, b.status)
        np.testing.assert_array_equal(a.nit, b.nit)
        np.testing.assert_allclose(a.x, b.x, rtol=1e-9, atol=1e-12)
        r = b.result(3)  # minimize recomputes the same run
        np.testing.assert_allclose(r.x, b.x[3], rtol=1e-9, atol=1e-12)
        assert r.nit == b.nit[3]
        assert len(a.minima) == len(b.minima) == 4
        for m, n in zip(a.minima, b.minima, strict=True):
            assert m.count == n.count and np.allclose(m.x, n.x, atol=1e-9)


def test_himmelblau_1000_starts_compiled_finds_all_four_minima():
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
    from descend._compiled import kernel

    value, grad = kernel.functions(parse("x^3 + 2*y^2 - x^-2 + (x + y)^-3"))
    text = inspect.getsource(value)
    assert "**3.0" in text and "**2.0" in text and "**(-3.0)" in text
    assert value(1.5, 2.0) == 2 * 2.0**2.0 + 1.5**3.0 + 3.5**-3.0 - 1 / 1.5**2.0
    assert len(grad(1.5, 2.0)) == 2


def test_the_kernel_applies_the_rule_function():
    from descend._compiled import kernel

    text = kernel.kernel_text(2)
    assert "rule(" in text and "gn <= gcut" not in text  # no second copy of the rules
    assert math.isfinite(kernel.BLOCK)
