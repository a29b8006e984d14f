"""scipy's calling conventions in minimize (issue 18): args, jac, tol, bounds, the result as a
mapping; the best point; float32 runs kept float32."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize as so

from descend import functions, minimize, sweep
from descend.errors import DescendError, InvalidArgument, InvalidType
from descend.result import Reason, Status
from descend.stopping import default_gtol


def quad(v, c, w):
    return float(w * ((v - c) ** 2).sum())


def quad_grad(v, c, w):
    return 2 * w * (v - c)


def test_args_go_to_fun_and_grad():
    res = minimize(quad, [0.0, 0.0], args=(np.array([1.0, -2.0]), 0.5), grad=quad_grad, lr=0.5)
    assert res.status is Status.GTOL
    np.testing.assert_allclose(res.x, [1.0, -2.0], atol=1e-6)
    single = minimize(quad, [0.0, 0.0], (np.array([1.0, -2.0]), 0.5), jac=quad_grad, lr=0.5)
    assert single.path.tobytes() == res.path.tobytes()
    # as scipy: a lone argument need not be in a tuple; without grad, finite differences
    fd = minimize(lambda v, c: float(((v - c) ** 2).sum()), [0.0], args=3.0, lr=0.25)
    assert abs(fd.x[0] - 3.0) < 1e-6 and "finite differences" in fd.message


def test_jac_true_means_fun_returns_both():
    calls = []

    def both(v, s):
        calls.append(1)
        return float(s * v @ v), 2 * s * v

    res = minimize(both, [3.0, 4.0], args=(2.0,), jac=True, lr=0.1)
    plain = minimize(lambda v: float(2 * v @ v), [3.0, 4.0], grad=lambda v: 4 * v, lr=0.1)
    assert res.path.tobytes() == plain.path.tobytes() and res.message == plain.message
    assert len(calls) == res.njev  # one call gives f and its gradient


def test_the_same_run_as_scipy_calls_it():
    rosen = functions.get("rosenbrock")
    ours = minimize(so.rosen, [-1.2, 1.0], jac=so.rosen_der, lr="bb", tol=1e-8, max_iter=500)
    theirs = so.minimize(so.rosen, [-1.2, 1.0], jac=so.rosen_der, tol=1e-8, method="L-BFGS-B")
    assert ours.success and ours["status"] == "gtol" and ours["nit"] == ours.nit
    np.testing.assert_allclose(ours["x"], rosen.minima[0], atol=1e-8)
    np.testing.assert_allclose(theirs["x"], rosen.minima[0], atol=1e-5)
    assert set(theirs.keys()) - {"hess_inv"} <= set(ours.keys()) | {"x", "fun", "jac"}


def test_tol_sets_gtol_and_the_default_scales_with_the_dtype():
    res = minimize("x**2 + y**2", [6.0, -3.0], lr=0.1, tol=1e-10)
    assert "gtol=1e-10" in res.message and res.grad_norms[-1] <= 1e-10
    assert default_gtol(np.float64) == 1e-6
    assert default_gtol(np.float32) == pytest.approx(1e-6 * (2.0**-23 / 2.0**-52) ** (1 / 3))
    with pytest.raises(InvalidArgument, match="tol: give tol") as info:
        minimize("x**2", 1.0, tol=1e-8, gtol=1e-6)
    assert info.value.argument == "tol"


def test_bounds_project_every_step_and_the_message_says_on_bound():
    res = minimize("(x-3)**2", [0.5], bounds=[(0, 1)], lr=0.1)
    assert res.x.tolist() == [1.0] and res.fun == 4.0 and res.status is Status.GTOL
    assert res.on_bound == ("x = 1 (upper)",)
    assert "projected gradient norm 0" in res.message and "on bound: x = 1 (upper)" in res.message
    assert np.all((res.path >= 0) & (res.path <= 1))
    # scipy.optimize.Bounds, None for a free side, x0 outside the box is clipped
    box = so.Bounds([0.0, -np.inf], [1.0, 0.5])
    res = minimize("(x-3)**2 + (y-2)**2", [5.0, 0.0], bounds=box, lr=0.2)
    np.testing.assert_allclose(res.x, [1.0, 0.5])
    assert res.path[0].tolist() == [1.0, 0.0] and len(res.on_bound) == 2
    free = minimize("(x-3)**2", [0.5], bounds=[(None, None)], lr=0.1)
    assert free.x[0] == pytest.approx(3.0) and free.on_bound == ()


@pytest.mark.parametrize("lr", [0.1, "backtracking", "bb", "auto"])
@pytest.mark.parametrize("method", ["gd", "momentum", "adam"])
def test_bounds_with_every_policy_reach_the_constrained_minimum(lr, method):
    res = minimize("(x-3)**2 + (y+1)**2 + x*y/4", [0.2, 0.2], bounds=[(0, 1), (0, 1)],
                   method=method, lr=lr, max_iter=3000)
    # the minimum on the box: x = 1 (upper), y = 0 (lower)
    np.testing.assert_allclose(res.x, [1.0, 0.0], atol=1e-6)
    assert np.all((res.path >= 0) & (res.path <= 1))
    assert set(res.on_bound) == {"x = 1 (upper)", "y = 0 (lower)"} or not res.success


def test_bounds_in_a_sweep_are_not_a_thing_but_args_are():
    s = sweep(quad, [0.0], [0.1, 0.4], args=(np.array([2.0]), 1.0), grad=quad_grad)
    assert [r.status for r in s.results] == ["gtol", "gtol"]


def test_best_point_and_the_message_when_the_run_ended_above_it():
    res = minimize("x**2 + y**2", [6.0, -3.0], method="momentum", lr=0.1, max_iter=30)
    k = int(np.argmin(res.values))
    assert res.fun_best == res.values[k] < res.fun
    np.testing.assert_array_equal(res.x_best, res.path[k])
    assert f"ended above its best: f = {res.fun_best:.3g} at iteration {k}" in res.message
    good = minimize("x**2 + y**2", [6.0, -3.0], lr=0.1)
    assert good.fun_best == good.fun and "above its best" not in good.message


def test_result_reads_as_a_mapping():
    res = minimize("x**2", [3.0], lr=0.1)
    assert res["x"] is res.x and res["message"] == res.message
    assert list(res.keys())[:9] == ["x", "fun", "jac", "nit", "nfev", "njev", "success",
                                    "status", "message"]
    assert "objective" not in res and "x_best" in res and len(res) == len(res.keys())
    assert dict(res)["nit"] == res.nit and res.get("nope", 7) == 7
    assert dict(res.items())["fun"] == res.fun and list(res) == res.keys()
    with pytest.raises(KeyError):
        res["plot"]


def test_float32_stays_float32():
    x0 = np.array([6.0, -3.0], dtype=np.float32)
    res = minimize("x**2 + y**2", x0, lr=0.1, method="adam")
    for name in ("x", "jac", "path", "values", "grad_norms", "step_sizes", "x_best"):
        assert getattr(res, name).dtype == np.float32, name
    assert f"gtol={default_gtol(np.float32):g}" in res.message
    double = minimize("x**2 + y**2", x0.astype(np.float64), lr=0.1, method="adam")
    assert double.x.dtype == np.float64 and double.nit > res.nit
    f32 = minimize(lambda v: v @ v, x0, grad=lambda v: 2 * v, lr="auto", max_iter=50)
    assert f32.path.dtype == np.float32 and f32.values.dtype == np.float32
    for k in range(1, f32.nit + 1):  # the iterates are float32 arithmetic
        assert f32.path[k].dtype == np.float32
    ints = minimize("x**2", [3], lr=0.1)
    assert ints.x.dtype == np.float64


def test_float32_batches():
    s = sweep("x**2 + y**2", np.array([6.0, -3.0], dtype=np.float32), [0.1, 0.3])
    assert all(r.path.dtype == np.float32 for r in s.results)
    one = minimize("x**2 + y**2", np.array([6.0, -3.0], dtype=np.float32), lr=0.3)
    assert one.path.tobytes() == s.results[1].path.tobytes()


@pytest.mark.parametrize(
    ("kwargs", "argument", "kind"),
    [
        ({"args": (1,), "fun": "x**2"}, "args", InvalidArgument),
        ({"jac": lambda v: 2 * v, "grad": lambda v: 2 * v}, "jac", InvalidArgument),
        ({"jac": True, "fun": "x**2"}, "jac", InvalidArgument),
        ({"jac": 3}, "jac", InvalidType),
        ({"jac": True}, "fun", InvalidArgument),  # fun returns a float, not (f, grad)
        ({"bounds": [(0, 1), (0, 1)]}, "bounds", InvalidArgument),
        ({"bounds": [(1, 0)]}, "bounds", InvalidArgument),
        ({"bounds": [("a", 1)]}, "bounds", InvalidType),
        ({"bounds": "0,1"}, "bounds", InvalidType),
        ({"bounds": 5}, "bounds", InvalidType),
        ({"tol": -1.0}, "tol", InvalidArgument),
        ({"gtol": "fast"}, "gtol", InvalidArgument),
    ],
)
def test_every_error_names_the_argument(kwargs, argument, kind):
    args = {"fun": lambda v: float(v @ v), "x0": [1.0], **kwargs}
    fun, x0 = args.pop("fun"), args.pop("x0")
    with pytest.raises(kind) as info:
        minimize(fun, x0, **args)
    assert isinstance(info.value, DescendError)
    assert str(info.value).startswith(argument) and info.value.argument == argument


def test_a_diverged_bounded_run_is_still_diverged():
    res = minimize("-exp(x)", [0.0], bounds=[(None, 1000.0)], lr=1.0)
    assert res.reason in (Reason.F_NONFINITE, Reason.F_BOUND) or res.on_bound
    assert math.isfinite(res.fun)


# --- scipy's conventions with automatic gradients (JAX, PyTorch) ------------------------


def _library(name):
    """The array module of ``name`` ("numpy", "jax", "torch"), skipped when not installed."""
    if name == "numpy":
        return np
    mod = pytest.importorskip(name)
    return mod.numpy if name == "jax" else mod


def _shifted(name):
    """``sum((x - c)**2 * w)`` written with that library; c and w arrive through args."""
    xp = _library(name)

    def fun(x, c, w):
        return xp.sum(w * (x - c) ** 2)

    return fun


def _shifted_grad(x, c, w):
    return 2.0 * w * (x - c)


@pytest.mark.parametrize("name", ["jax", "torch"])
@pytest.mark.parametrize("method", ["gd", "momentum", "adam"])
def test_args_with_automatic_gradients_take_the_numpy_iterates(name, method):
    args = (3.0, 0.5)
    kw = {"args": args, "method": method, "lr": 0.3, "max_iter": 200}
    ref = minimize(_shifted("numpy"), [0.5, -2.0, 7.0], grad=_shifted_grad, **kw)
    res = minimize(_shifted(name), [0.5, -2.0, 7.0], **kw)
    assert res.grad_method == name and ref.grad_method == "user"
    assert (res.status, res.nit) == (ref.status, ref.nit)
    np.testing.assert_allclose(res.path, ref.path, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.values, ref.values, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["numpy", "jax", "torch"])
def test_bounds_with_every_gradient_source(name):
    grad = _shifted_grad if name == "numpy" else None
    res = minimize(_shifted(name), [0.5], args=(3.0, 1.0), grad=grad, bounds=[(0, 1)], lr=0.1)
    assert res.x.tolist() == [1.0] and res.status is Status.GTOL and res.success
    assert res.on_bound == ("x1 = 1 (upper)",) and "on bound: x1 = 1 (upper)" in res.message
    assert res.grad_method == ("user" if name == "numpy" else name)


@pytest.mark.parametrize("name", ["jax", "torch"])
def test_jac_names_the_gradient_source_too(name):
    fun = _shifted(name)
    assert minimize(fun, [0.5], args=(3.0, 1.0), jac=name).grad_method == name
    if name == "jax":  # finite differences call fun on NumPy arrays: torch.sum refuses them
        fd = minimize(fun, [0.5], args=(3.0, 1.0), jac="2-point")
        assert fd.grad_method == "finite-differences" and "finite differences" in fd.message
        fd = minimize(fun, [0.5], args=(3.0, 1.0), jac=False)
        assert fd.grad_method == "finite-differences"

    def both(x, c, w):  # jac=True: fun gives f and its gradient, nothing is differentiated
        return _shifted("numpy")(x, c, w), _shifted_grad(x, c, w)

    pair = minimize(both, [0.5], args=(3.0, 1.0), jac=True)
    assert pair.grad_method == "user" and pair.x[0] == pytest.approx(3.0)


@pytest.mark.parametrize("name", ["numpy", "jax", "torch"])
def test_float32_paths_with_every_gradient_source(name):
    x0 = np.array([0.5, -2.0], dtype=np.float32)
    grad = _shifted_grad if name == "numpy" else None
    res = minimize(_shifted(name), x0, args=(3.0, 1.0), grad=grad, lr=0.1, method="adam",
                   max_iter=100)
    for field in ("x", "jac", "path", "values", "grad_norms", "step_sizes", "x_best"):
        assert getattr(res, field).dtype == np.float32, field
    ref = minimize(_shifted("numpy"), x0, args=(3.0, 1.0), grad=_shifted_grad, lr=0.1,
                   method="adam", max_iter=100)
    assert res.nit == ref.nit
    np.testing.assert_allclose(res.path, ref.path, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["jax", "torch"])
def test_sweep_and_multistart_take_args_with_automatic_gradients(name):
    fun = _shifted(name)
    s = sweep(fun, [0.5], [0.1, 0.4], args=(3.0, 1.0))
    assert [r.grad_method for r in s.results] == [name, name]
    assert all(r.x[0] == pytest.approx(3.0) for r in s.results)
    from descend import multistart

    ms = multistart(fun, [[0.5], [-4.0]], args=(3.0, 1.0), bounds=[(-5.0, 5.0)])
    np.testing.assert_allclose(ms.x, [[3.0], [3.0]], atol=1e-6)
