"""Automatic gradients of callables written with JAX or PyTorch (issue 18).

The same functions written with NumPy (and a hand-written gradient), ``jax.numpy``
and ``torch`` must give the same iterates to 1e-12 in float64; a NumPy function
still gets finite differences; every error names its argument.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from descend import Status, minimize, multistart, suggest_lr, sweep
from descend.errors import InvalidArgument, InvalidType
from descend.objective import as_objective

jax = pytest.importorskip("jax")  # the extras jax and torch (in dev): skipped without them
jnp = pytest.importorskip("jax.numpy")
torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]

# --- the same functions three times ------------------------------------------------------

P = 50
_rng = np.random.default_rng(18)
_M = _rng.normal(size=(P, P))
A = _M @ _M.T / P + np.eye(P)  # symmetric positive definite, eigenvalues in about [1, 5]
B = _rng.normal(size=P)
with jax.enable_x64(True):  # JAX arrays made outside x64 mode would be float32
    A_J, B_J = jnp.asarray(A), jnp.asarray(B)
A_T, B_T = torch.from_numpy(A.copy()), torch.from_numpy(B.copy())


def quad_np(x):
    return 0.5 * x @ (A @ x) - B @ x


def quad_grad(x):
    return A @ x - B


def quad_jax(x):
    return 0.5 * x @ (A_J @ x) - B_J @ x


def quad_torch(x):
    return 0.5 * x @ (A_T @ x) - B_T @ x


def rosen_np(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_grad(x):
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


def rosen_jax(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_torch(x):
    return torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _same_path(a, b, tol=1e-12):
    assert a.shape == b.shape
    scale = np.maximum(1.0, np.abs(b))
    assert np.max(np.abs(a - b) / scale) <= tol


# --- same iterates -----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "lr"), [("gd", 0.1), ("momentum", 0.05), ("adam", 0.05)])
def test_quadratic_50_same_iterates_numpy_jax_torch(method, lr):
    x0 = np.linspace(-2.0, 2.0, P)
    kw = {"method": method, "lr": lr, "max_iter": 150, "gtol": 1e-9}
    ref = minimize(quad_np, x0, grad=quad_grad, **kw)
    rj = minimize(quad_jax, x0, **kw)
    rt = minimize(quad_torch, x0, **kw)
    assert (ref.grad_method, rj.grad_method, rt.grad_method) == ("user", "jax", "torch")
    for r in (rj, rt):
        assert r.nit == ref.nit and r.status == ref.status
        _same_path(r.path, ref.path)
        _same_path(r.values, ref.values)
        _same_path(r.jac, ref.jac)


def test_line_search_reaches_the_same_point():
    # Armijo backtracking accepts or halves a step by comparing two values of f: a
    # last-bit difference between A x and the automatic (A + A^T) x / 2 can flip one
    # comparison (seen: 26 steps with torch, 27 with NumPy), so the test is the same
    # end point, not the same iterates.
    x0 = np.linspace(-2.0, 2.0, P)
    kw = {"lr": "backtracking", "max_iter": 1000, "gtol": 1e-6}
    ref = minimize(quad_np, x0, grad=quad_grad, **kw)
    x_star = np.linalg.solve(A, B)
    for fun in (quad_jax, quad_torch):
        res = minimize(fun, x0, **kw)
        assert res.status is ref.status is Status.GTOL
        assert abs(res.nit - ref.nit) <= 2
        np.testing.assert_allclose(res.x, x_star, rtol=0, atol=1e-6)


@pytest.mark.parametrize("dim", [2, 10])
def test_rosenbrock_same_iterates_numpy_jax_torch(dim):
    x0 = np.full(dim, -1.0)
    x0[0] = -1.2
    kw = {"lr": 5e-4, "max_iter": 400, "gtol": None}
    ref = minimize(rosen_np, x0, grad=rosen_grad, **kw)
    for fun in (rosen_jax, rosen_torch):
        res = minimize(fun, x0, **kw)
        assert res.nit == ref.nit == 400
        _same_path(res.path, ref.path)
        _same_path(res.grad_norms, ref.grad_norms)


def test_gradient_is_float64_and_exact():
    x = np.array([-1.2, 1.0, 0.5])
    for fun in (rosen_jax, rosen_torch):
        obj = as_objective(fun).with_dimension(3).resolve_gradient(x)
        g = obj.gradient(x)
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, rosen_grad(x), rtol=1e-15, atol=1e-12)
        assert obj.value(x) == pytest.approx(rosen_np(x), rel=1e-15)
        assert obj.fd_calls == 0 and not obj.finite_differences


# --- which gradient, and the message -----------------------------------------------------


def test_grad_method_names_the_source():
    assert minimize("x**2 + y**2", [1.0, 2.0]).grad_method == "formula"
    assert minimize(quad_np, np.zeros(P), grad=quad_grad, max_iter=3).grad_method == "user"
    assert minimize(quad_np, np.zeros(P), max_iter=3).grad_method == "finite-differences"
    assert minimize(quad_jax, np.zeros(P), max_iter=3).grad_method == "jax"
    assert minimize(quad_torch, np.zeros(P), max_iter=3).grad_method == "torch"
    assert minimize(quad_jax, np.zeros(P), max_iter=3, grad="fd").grad_method == (
        "finite-differences"
    )
    assert minimize("x**2 + y**2", [1.0, 2.0], grad="fd").grad_method == "finite-differences"


def test_fd_of_torch_and_jax_functions_reaches_the_same_point():
    # grad="fd" hands a function of tensors tensors (torch.sum refuses an ndarray)
    def strict_torch(x):
        return torch.sum((x - 1.0) ** 2)

    for fun, p in ((strict_torch, 3), (quad_torch, P), (quad_jax, P)):
        res = minimize(fun, np.zeros(p), grad="fd", lr=0.05, max_iter=300)
        assert res.grad_method == "finite-differences", fun
        exact = minimize(fun, np.zeros(p), lr=0.05, max_iter=300)
        assert exact.grad_method in ("jax", "torch")
        np.testing.assert_allclose(res.x, exact.x, rtol=1e-5, atol=1e-5)


def test_message_says_which_gradient():
    res = minimize(rosen_jax, [-1.2, 1.0], max_iter=5, lr=1e-3)
    assert res.message.endswith("exact gradient by JAX (jit-compiled value_and_grad)")
    res = minimize(rosen_torch, [-1.2, 1.0], max_iter=5, lr=1e-3)
    assert res.message.endswith("exact gradient by PyTorch (autograd)")
    res = minimize(rosen_np, [-1.2, 1.0], max_iter=5, lr=1e-3)
    assert res.message.endswith(
        "gradient by central finite differences (h_i = cbrt(machine eps) * max(1, |x_i|))"
    )
    assert "exact gradient" not in minimize("x**2", 3.0).message


def test_numpy_function_keeps_finite_differences_even_with_jax_and_torch_loaded():
    res = minimize(lambda v: v @ v, [3.0, -4.0], lr=0.1)
    assert res.grad_method == "finite-differences" and res.status is Status.GTOL
    # an operator-only function would trace in JAX too; grad="jax" asks for that
    res = minimize(lambda v: v @ v, [3.0, -4.0], lr=0.1, grad="jax")
    assert res.grad_method == "jax" and res.nfev == res.nit + 1


def test_autodiff_needs_20x_fewer_evaluations_and_reaches_the_same_point():
    x0 = np.linspace(-2.0, 2.0, P)
    kw = {"lr": 0.2, "max_iter": 5000, "gtol": 1e-6}
    fd = minimize(quad_np, x0, **kw)
    for fun in (quad_jax, quad_torch):
        ad = minimize(fun, x0, **kw)
        assert ad.status is Status.GTOL and fd.status is Status.GTOL
        assert fd.nfev >= 20 * ad.nfev
        x_star = np.linalg.solve(A, B)
        np.testing.assert_allclose(ad.x, x_star, atol=1e-6)
        np.testing.assert_allclose(fd.x, ad.x, atol=1e-6)


def test_python_control_flow_is_differentiated_without_jit():
    def piecewise(x):
        if x[0] > 0:  # a Python if on a value: cannot be jit-compiled
            return jnp.sum(x**2)
        return jnp.sum(x**2) + 0.0

    res = minimize(piecewise, [1.0, 2.0], lr=0.1)
    assert res.grad_method == "jax" and res.status is Status.GTOL
    assert "not jit-compiled" in res.message


def test_untraceable_jax_function_falls_back_to_finite_differences_and_says_why():
    def mixes_numpy(x):
        return jnp.sum(x**2) + np.exp(x[0]) * 0.0  # np.exp of a tracer cannot trace

    res = minimize(mixes_numpy, [1.0, 2.0], lr=0.1)
    assert res.grad_method == "finite-differences" and res.status is Status.GTOL
    assert "because JAX could not trace fun (TracerArrayConversionError" in res.message


def test_torch_function_that_breaks_the_graph_falls_back_to_finite_differences():
    def uses_item(x):  # .item() leaves autograd's graph
        return torch.tensor((x**2).sum().item() + 1.0, dtype=torch.float64)

    res = minimize(uses_item, [1.0, 2.0], lr=0.1)
    assert res.grad_method == "finite-differences" and res.status is Status.GTOL
    assert "because PyTorch could not differentiate fun (RuntimeError: its value is not " \
        "connected to x" in res.message
    with pytest.raises(InvalidArgument, match=r"^grad: 'torch' needs fun") as info:
        minimize(uses_item, [1.0, 2.0], grad="torch")
    assert info.value.argument == "grad"

    def refuses_numpy(x):
        if not isinstance(x, torch.Tensor):
            raise TypeError("tensors only")
        return torch.sum(x.detach() ** 2)  # detached: autograd cannot differentiate it

    res = minimize(refuses_numpy, [1.0, 2.0], lr=0.1)  # finite differences on tensors
    assert res.grad_method == "finite-differences" and res.status is Status.GTOL
    np.testing.assert_allclose(res.x, 0.0, atol=1e-6)


def test_torch_function_refusing_numpy_is_found_by_its_tensor_input():
    def tensor_only(x):
        return x.pow(2).sum()  # ndarray has no .pow

    res = minimize(tensor_only, [1.0, 2.0], lr=0.1)
    assert res.grad_method == "torch" and res.status is Status.GTOL


def test_float32_constants_are_reported():
    a32 = jnp.asarray(A)  # made with x64 off: float32
    if a32.dtype != jnp.float32:
        pytest.skip("this process has jax_enable_x64 on")
    res = minimize(lambda x: 0.5 * x @ (a32 @ x) - B_J @ x, np.zeros(P), max_iter=3)
    assert res.grad_method == "jax"
    assert "fun computes partly in float32" in res.message
    assert "float32" not in minimize(quad_jax, np.zeros(P), max_iter=3).message


def test_jax_x64_is_scoped_not_global():
    before = jax.config.jax_enable_x64
    minimize(rosen_jax, [-1.2, 1.0], max_iter=5, lr=1e-3)
    assert jax.config.jax_enable_x64 == before
    if not before:
        assert jnp.ones(2).dtype == jnp.float32


def test_same_function_twice_reuses_the_compiled_gradient():
    from descend import _autodiff

    def fresh(x):
        return jnp.sum((x - 1.0) ** 2)

    minimize(fresh, [0.0, 0.0], max_iter=3)
    backend = _autodiff._JAX_CACHE[fresh][None]
    res = minimize(fresh, [5.0, 5.0, 5.0])  # another dimension: same backend, new shape
    assert _autodiff._JAX_CACHE[fresh][None] is backend and res.status is Status.GTOL


def test_bound_arguments_share_a_compiled_gradient_per_value():
    import functools

    from descend import _autodiff

    def shifted(x, c):
        return jnp.sum((x - c) ** 2)

    for c in (1.0, 2.0, 1.0):
        res = minimize(functools.partial(shifted, c=c), [0.0, 0.0], lr=0.1)
        np.testing.assert_allclose(res.x, c, atol=1e-6)
    assert set(_autodiff._JAX_CACHE[shifted]) == {((), (("c", 1.0),)), ((), (("c", 2.0),))}


# --- batches: multistart and sweep ---------------------------------------------------------


@pytest.mark.parametrize("fun", [rosen_jax, rosen_torch])
def test_multistart_runs_the_autodiff_batch(fun):
    kw = {"lr": 1e-3, "max_iter": 300, "gtol": 1e-8}
    starts = np.array([[-1.2, 1.0], [0.5, 0.5], [2.0, 2.0], [-0.5, 1.5]])
    ms = multistart(fun, starts, **kw)
    assert ms.objective.vectorized and ms.objective.grad_method in ("jax", "torch")
    for k, x0 in enumerate(starts):
        ref = minimize(rosen_np, x0, grad=rosen_grad, **kw)
        np.testing.assert_allclose(ms.x[k], ref.x, rtol=1e-12, atol=1e-12)
        assert ms.nit[k] == ref.nit


def test_multistart_random_starts_with_jax():
    ms = multistart(lambda v: jnp.sum((v - 1.0) ** 2), 16, bounds=[(-2, 2)] * 3, seed=0, lr=0.2)
    assert ms.objective.grad_method == "jax"
    assert ms.best.fun < 1e-12
    assert len(ms.minima) == 1


def test_torch_batch_loops_when_vmap_cannot():
    def data_dependent(x):
        if x[0] > 0:  # a Python if on a value: vmap refuses, each row is done alone
            return torch.sum((x - 1.0) ** 2)
        return torch.sum((x - 1.0) ** 2)

    starts = np.array([[2.0, 0.0], [-1.0, 3.0]])
    ms = multistart(data_dependent, starts, lr=0.2)
    np.testing.assert_allclose(ms.x, 1.0, atol=1e-6)


@pytest.mark.parametrize("fun", [rosen_jax, rosen_torch])
def test_sweep_batch_equals_separate_runs(fun):
    rates = [1e-4, 1e-3, 2e-3]
    sw = sweep(fun, [-1.2, 1.0], rates, max_iter=200)
    for lr, res in zip(rates, sw.results, strict=True):
        ref = minimize(rosen_np, [-1.2, 1.0], grad=rosen_grad, lr=lr, max_iter=200)
        _same_path(res.path, ref.path)
        assert res.grad_method == ref.grad_method.replace("user", res.grad_method)


def test_suggest_lr_uses_the_exact_gradient():
    lr = suggest_lr(quad_jax, np.zeros(P))
    ref = suggest_lr(quad_np, np.zeros(P), grad=quad_grad)
    assert lr == pytest.approx(ref, rel=1e-9)


# --- errors name the argument --------------------------------------------------------------


@pytest.mark.parametrize("bad", ["bogus", "JAX", ""])
def test_unknown_grad_mode_names_grad(bad):
    with pytest.raises(InvalidArgument, match=r"^grad: expected a callable") as info:
        minimize(quad_jax, np.zeros(P), grad=bad)
    assert info.value.argument == "grad"


def test_grad_of_wrong_type_names_grad():
    with pytest.raises(InvalidType, match=r"^grad: ") as info:
        minimize(quad_jax, np.zeros(P), grad=3)
    assert info.value.argument == "grad"


def test_forced_jax_on_untraceable_function_names_grad():
    with pytest.raises(InvalidArgument, match=r"^grad: 'jax' needs fun written with jax") as info:
        minimize(lambda v: float(np.exp(v).sum()), [1.0, 2.0], grad="jax")
    assert info.value.argument == "grad"


def test_forced_torch_on_untraceable_function_names_grad():
    with pytest.raises(InvalidArgument, match=r"^grad: 'torch' needs fun") as info:
        minimize(lambda v: float(np.exp(np.asarray(v)).sum()), [1.0, 2.0], grad="torch")
    assert info.value.argument == "grad"


def test_forced_backend_on_a_formula_or_catalog_name_names_grad():
    for fun in ("x**2 + y**2", "rosenbrock", "rastrigin"):
        for mode in ("jax", "torch"):
            with pytest.raises(InvalidArgument, match=r"^grad: ") as info:
                minimize(fun, [1.0, 2.0], grad=mode)
            assert info.value.argument == "grad"


def test_finite_differences_of_a_catalog_name():
    res = minimize("rastrigin", [0.1, -0.1, 0.05], grad="fd", lr=1e-3)
    exact = minimize("rastrigin", [0.1, -0.1, 0.05], lr=1e-3)
    assert res.grad_method == "finite-differences" and exact.grad_method == "formula"
    np.testing.assert_allclose(res.x, exact.x, atol=1e-6)


@pytest.mark.parametrize("grad", ["auto", "jax"])
def test_vector_valued_jax_function_names_fun(grad):
    with pytest.raises(InvalidArgument, match=r"^fun: must return a scalar") as info:
        minimize(lambda v: v**2 + jnp.zeros(2), [1.0, 2.0], grad=grad)
    assert info.value.argument == "fun"


@pytest.mark.parametrize("grad", ["auto", "torch"])
def test_vector_valued_torch_function_names_fun(grad):
    with pytest.raises(InvalidArgument, match=r"^fun: must return a scalar") as info:
        minimize(lambda v: torch.as_tensor(v) ** 2, [1.0, 2.0], grad=grad)
    assert info.value.argument == "fun"


def test_torch_function_returning_a_float_names_fun():
    with pytest.raises(InvalidType, match=r"^fun: must return a torch.Tensor") as info:
        minimize(lambda v: v.detach().sum().item(), [1.0, 2.0], grad="torch")
    assert info.value.argument == "fun"


def test_complex_jax_function_names_fun():
    with pytest.raises(InvalidType, match=r"^fun: must return a real") as info:
        minimize(lambda v: jnp.sum(v) * 1j, [1.0, 2.0], grad="jax")
    assert info.value.argument == "fun"


def test_missing_library_names_grad_and_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # `import jax` now raises ImportError
    with pytest.raises(InvalidArgument, match=r"descend\[jax\]") as info:
        minimize(lambda v: v @ v, [1.0, 2.0], grad="jax")
    assert info.value.argument == "grad"
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(InvalidArgument, match=r"descend\[torch\]") as info:
        minimize(lambda v: v @ v, [1.0, 2.0], grad="torch")
    assert info.value.argument == "grad"
    # with neither loaded, auto is plain finite differences
    assert minimize(lambda v: v @ v, [1.0, 2.0]).grad_method == "finite-differences"


# --- neither library is imported to find out -----------------------------------------------


def test_minimizing_a_numpy_callable_imports_neither_jax_nor_torch():
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        import descend
        from descend import minimize, multistart, sweep
        r = minimize(lambda v: v @ v, [1.0, 2.0])
        multistart(lambda v: v @ v, [[1.0, 2.0], [0.5, 0.5]])
        sweep(lambda v: v @ v, [1.0, 2.0], [0.1, 0.2])
        assert r.grad_method == "finite-differences", r.grad_method
        print(sorted(m for m in ("jax", "torch") if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"


# --- the README's example runs as typed ----------------------------------------------------


def test_readme_gradients_section_runs():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Gradients for callables", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_clear_caches_forgets_the_compiled_gradients():
    import descend
    from descend import _autodiff

    minimize(rosen_jax, np.zeros(3), max_iter=2)
    assert len(_autodiff._JAX_CACHE) >= 1
    assert "jax gradients" in descend.clear_caches()
    assert len(_autodiff._JAX_CACHE) == 0
    again = minimize(rosen_jax, np.zeros(3), max_iter=2)  # compiled again, same result
    assert again.grad_method == "jax"
