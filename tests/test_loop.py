"""The one loop: every face (minimize, sweep, multistart) and every backend give one outcome.

minimize runs one point (the single backend), sweep and multistart a (K, p) batch (the
NumPy batch backend, rules applied in bulk with rollback); both apply
descend.stopping.step_code. The arithmetic of a step is elementwise and the same in both,
so runs agree on status, steps, points and message.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from descend import _loop, functions, linesearch, minimize, multistart, optimizers, schedules, sweep
from descend._minimize import run_batch
from descend.errors import InvalidArgument
from descend.objective import as_objective
from descend.result import Reason, Status
from descend.stopping import Criteria


def unbounded(v):
    """f = x^2 - e^y falls without bound: e^y overflows, so f becomes -inf."""
    return float(v[0] ** 2 - np.exp(v[1]))


def unbounded_grad(v):
    return np.array([2 * v[0], -np.exp(v[1])])


#: Steps on the paraboloid from (6, -3): too small, converging (some oscillating), diverging
#: (the adaptive methods' steps are about lr at most: only a huge one blows up f).
PARABOLOID_LRS = {"gd": [1e-3, 0.3, 0.99, 1.5], "momentum": [1e-4, 0.3, 1.0, 3.0],
                  "nesterov": [1e-4, 0.3, 0.65, 1.0], "adagrad": [0.01, 1.0, 1e8],
                  "rmsprop": [0.01, 0.3, 1e8], "adam": [0.01, 0.3, 1e8]}


def _same(a, b):
    assert (a.status, a.nit, a.reason, a.message) == (b.status, b.nit, b.reason, b.message)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-13, atol=0)
    assert a.nfev == b.nfev and a.njev == b.njev


def _head(message):
    """A message without what only a recorded path tells: the best point, the hint."""
    return re.sub(r" \(not converged: .*\)$", "", message.split("; ended above its best")[0])


def _agree(f, x0, lrs, method, grad=None):
    """minimize, sweep and multistart on the same runs: the same outcome. Returns the
    statuses and verdicts seen."""
    sw = sweep(f, x0, lrs, grad=grad, method=method, max_iter=2000)
    starts = np.array([x0, [0.5, 0.5], x0])
    for lr, got in zip(lrs, sw.results, strict=True):
        want = minimize(f, x0, grad=grad, method=method, lr=lr, max_iter=2000)
        _same(want, got)
        np.testing.assert_allclose(want.path, got.path, rtol=1e-13, atol=0)
        ms = multistart(f, starts, grad=grad, method=method, lr=lr, max_iter=2000)
        out = run_batch(as_objective(f, grad), starts, method=method, lr=lr, max_iter=2000,
                        record=False)
        for k in range(3):
            alone = minimize(f, starts[k], grad=grad, method=method, lr=lr, max_iter=2000)
            assert ms.status[k] == alone.status.value and ms.nit[k] == alone.nit
            np.testing.assert_allclose(ms.x[k], alone.x, rtol=1e-13, atol=0)
            # unrecorded, the batch knows no best point and no path (the verdict behind a
            # hint): the message says no more
            assert _head(alone.message) == _head(out.message(k))
            if "(not converged: " in out.message(k):
                assert "(not converged: " in alone.message
    return {r.status for r in sw.results}, set(sw.verdicts)


@pytest.mark.parametrize("method", optimizers.names())
def test_minimize_sweep_and_multistart_agree(method, monkeypatch):
    monkeypatch.setenv("DESCEND_NO_COMPILE", "1")  # the compiled loop: test_compiled.py
    adaptive = method in ("adagrad", "rmsprop", "adam")
    statuses, verdicts = _agree(functions.get("paraboloid"), [6.0, -3.0],
                                PARABOLOID_LRS[method], method)
    more, _ = _agree(unbounded, [1.0, 0.0], [1e3 if adaptive else 0.05], method,
                     grad=unbounded_grad)
    assert statuses == {Status.GTOL, Status.MAX_ITER, Status.DIVERGED}
    assert more == {Status.DIVERGED}
    assert "diverged" in verdicts
    # adagrad's steps only shrink; adam's are about lr long whatever the gradient, and on the
    # paraboloid it converges at every lr tried (1e-2 to 1e4): a converging run is good
    assert "oscillating" in verdicts or method in ("adagrad", "adam")
    if not adaptive:
        _agree(functions.get("rosenbrock"), [-1.2, 1.0], [1e-4, 1e-3, 4e-3], method)


def test_the_divergence_iteration_is_one_number():
    # Issue 14: minimize said 17 and sweep 16 for this run.
    res = minimize("x**2", [3], lr=1.5)
    sw = sweep("x**2", [3], [1.5])
    assert res.nit == sw.results[0].nit == 16
    assert res.message == sw.results[0].message
    assert res.message.startswith("diverged at iteration 16: the next step took f to 1.55e+11")
    assert res.x[0] == 3.0 * (-2.0) ** 16 and res.path.shape == (17, 1)


def test_a_schedule_that_reaches_zero_ends_the_run():
    res = minimize("x**2", 3.0, lr=schedules.cosine_decay(0.1, steps=10))
    assert res.status is Status.MAX_ITER and res.reason is Reason.SCHEDULE_END
    assert res.nit == 10 and "schedule reached 0 at iteration 10" in res.message
    assert res.step_sizes.min() > 0
    ms = multistart("x**2", [[3.0], [-1.0]], lr=schedules.cosine_decay(0.1, steps=10))
    assert ms.nit.tolist() == [10, 10] and ms.status.tolist() == ["max_iter", "max_iter"]


def test_steps_are_validated_once():
    with pytest.raises(InvalidArgument, match="lr"):
        linesearch.Fixed(-1.0)
    with pytest.raises(InvalidArgument, match="lr"):
        minimize("x**2", 1.0, lr=linesearch.Fixed(float("nan")))
    with pytest.raises(InvalidArgument, match="t_0"):
        minimize("x**2", 1.0, lr=lambda k: 0.0)
    with pytest.raises(InvalidArgument, match="lr"):
        minimize("x**2", 1.0, lr=lambda k: 0.1 if k < 3 else -0.1)  # a broken schedule


class Halving:
    """A user-written policy: half the gradient step, by the protocol."""

    name = "halving"

    def init(self, ev, x, f, g):
        return 0.5

    def step(self, k, state, ev, x, f, g, d):
        return state, x - state * d, None, state


class Climbing(Halving):
    def step(self, k, state, ev, x, f, g, d):
        return -1.0, x + d, None, state


class Sign:
    """A user-written optimizer: signSGD, by the (init, update) contract."""

    name = "sign"

    def init(self, x):
        return ()

    def update(self, grad, state, x):
        return np.sign(grad), state


def test_user_written_policies_and_optimizers_are_accepted():
    res = minimize("x**2 + y**2", [6.0, -3.0], lr=Halving(), max_iter=100)
    assert res.status is Status.GTOL and res.nit == 1  # 2x - x = 0 in one step
    res = minimize("x**2 + y**2", [6.0, -3.0], method=Sign(), lr=0.5, max_iter=100)
    assert res.method == "sign" and res.nit == 12 and np.allclose(res.x, 0.0)
    out = run_batch(as_objective("x**2 + y**2"), np.ones((3, 2)), lr=Halving(), max_iter=5)
    assert out.result(1).nit == 1
    with pytest.raises(InvalidArgument, match="lr: the step policy 'halving'"):
        minimize("x**2", 1.0, lr=Climbing())


def test_a_carry_resumes_exactly():
    obj = as_objective(functions.get("rosenbrock"))
    opt, policy = optimizers.get("momentum"), linesearch.get(1e-4)
    crit = Criteria.make(300, None, None, None)
    for x0 in ([-1.2, 1.0], np.array([[-1.2, 1.0], [0.5, 0.5], [2.0, 2.0]])):
        whole = _loop.start(obj, x0, opt, policy, crit)
        _loop.run(obj, whole, opt, policy, crit)
        parts = _loop.start(obj, x0, opt, policy, crit)
        for _ in range(3):
            _loop.run(obj, parts, opt, policy, crit, steps=100)
        assert parts.x.tobytes() == whole.x.tobytes() and parts.k == whole.k == 300
        assert parts.nit.tolist() == whole.nit.tolist()
        assert parts.nfev.tolist() == whole.nfev.tolist()
        np.testing.assert_array_equal(parts.opt_state[0], whole.opt_state[0])


def test_a_batch_never_calls_a_callable_past_a_runs_end():
    calls: list[float] = []

    def f(v):
        calls.append(float(v[0]))
        return float(v @ v)

    out = run_batch(as_objective(f, lambda v: 2 * v), np.array([[1.0, 0.0], [3.0, 0.0]]),
                    lr=0.5, max_iter=20)
    assert out.result(0).nit == out.result(1).nit == 1  # x - 0.5 * 2x = 0
    assert len(calls) == 4  # two starts, two steps: nothing more


@settings(max_examples=40, deadline=None)
@given(
    x0=st.lists(st.floats(-5, 5), min_size=1, max_size=4),
    lr=st.floats(1e-3, 1.2),
    gtol=st.one_of(st.none(), st.floats(1e-8, 1e-1)),
)
def test_the_screen_never_hides_a_stop(x0, lr, gtol):
    """A run screened by comparisons of floats equals the run through the rules at every
    step (ftol=0 tests nothing, but sends each step through step_code)."""
    def f(v):
        return float(v @ v + 0.5 * v.sum() ** 2)

    def g(v):
        return 2 * v + v.sum()

    a = minimize(f, x0, grad=g, lr=lr, gtol=gtol, max_iter=60)
    b = minimize(f, x0, grad=g, lr=lr, gtol=gtol, ftol=0.0, max_iter=60)
    assert (a.status, a.nit, a.message) == (b.status, b.nit, b.message)
    assert a.path.tobytes() == b.path.tobytes()


@pytest.mark.parametrize(
    ("fun", "x0", "kw", "reason"),
    [
        ("x**2", [3.0], {"lr": 1.1, "max_iter": 100}, Reason.F_BOUND),
        ("-exp(x)", [1.0], {"lr": 1.0, "max_iter": 50}, Reason.F_NONFINITE),
        ("log(x) + x**2", [1.0], {"lr": 2.0, "max_iter": 20}, Reason.F_NONFINITE),
        ("sqrt(x) + 0.1*x", [4.0], {"lr": 100.0, "max_iter": 20}, Reason.F_NONFINITE),
        ("exp(x)", [700.0], {"lr": 0.1}, Reason.X_RUNAWAY),
    ],
)
def test_divergence_is_the_same_from_every_face(fun, x0, kw, reason):
    res = minimize(fun, x0, **kw)
    assert res.reason is reason and res.status is Status.DIVERGED and not res.success
    sw = sweep(fun, x0, [kw.get("lr", 0.1)], **{k: v for k, v in kw.items() if k != "lr"})
    _same(res, sw.results[0])
    if reason is not Reason.X_RUNAWAY:
        assert np.all(np.isfinite(res.path)) and math.isfinite(res.fun)


def test_exp_from_700_has_no_minimum():
    # Issue 13: the step jumps to -1e303, where f and its gradient are 0.
    res = minimize("exp(x)", 700.0)
    assert not res.success and res.status == "diverged"
    assert "gradient norm 0" not in res.message and "ran away" in res.message
    assert "no minimum" in res.message


def test_max_iter_never_reports_an_infinite_norm_of_a_finite_gradient():
    res = minimize(lambda v: 1e200 * float(v[0] + v[1]), [0.0, 0.0],
                   grad=lambda v: np.array([1e200, 1e200]), lr=1e-300, max_iter=3)
    assert res.status == "max_iter" and "gradient norm 1.41e+200" in res.message


def test_callback_sees_exact_norms_and_can_stop():
    seen = []

    def cb(info):
        seen.append(info.grad_norm)
        if info.nit == 2:
            raise StopIteration

    res = minimize("x**2 + y**2", [3.0, 4.0], lr=0.25, callback=cb)
    assert res.status is Status.CALLBACK and res.nit == 2
    np.testing.assert_allclose(seen, res.grad_norms[1:], rtol=0, atol=0)


def test_outcome_reports_its_backend_and_batches_need_no_callback():
    obj = as_objective("x**2")
    carry = _loop.start(obj, np.ones((2, 1)), optimizers.gd(), linesearch.get(0.1),
                        Criteria.make(5, None, None, None))
    with pytest.raises(InvalidArgument, match="callback"):
        _loop.run(obj, carry, optimizers.gd(), linesearch.get(0.1),
                  Criteria.make(5, None, None, None), callback=lambda info: None)
    _, out = _loop.run(obj, carry, optimizers.gd(), linesearch.get(0.1),
                       Criteria.make(5, None, None, None), backend="numpy")
    assert out.backend == "numpy" and out.carry.nit.tolist() == [5, 5]
