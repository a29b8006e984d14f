"""
Formulas and gradients: typed, exact, automatic
===============================================

descend takes the function to minimize as typed text or as a Python callable. Typed text
goes through a bounded parser (:func:`descend.parse`) that knows a fixed grammar and function
table and never evaluates what it reads; its gradient is exact, derived symbolically. A
callable written with JAX or PyTorch gets its exact gradient from that library; any other
callable gets finite differences. ``Result.grad_method`` says which one a run used.
"""

# %%
# A typed formula
# ---------------
# :func:`descend.parse` returns a :class:`descend.Formula`: its variables in order of first
# appearance (or as named), its partial derivatives, LaTeX for both, and vectorized value and
# gradient.
import numpy as np

from descend import minimize, parse

f = parse("log(1 + exp(x)) + (y - 2)**2 / 2 + abs(x - y)")
print(f.variables)
print(f.latex)
for name, text in f.partials_latex.items():
    print(f"d/d{name}:", text)
print(f(np.array([1.0, 2.0])), f.grad(np.array([1.0, 2.0])))

# %%
# The catalog's names (``"rosenbrock"``, ``"himmelblau"``, ...) work wherever a formula does.
# Both have the exact gradient.
for fun in ("x**2 + 3*y**2 - x*y", "himmelblau"):
    res = minimize(fun, [1.0, 1.0], lr="bb")
    print(f"{fun:20s} {res.grad_method:8s} x = {np.round(res.x, 6) + 0.0}  after {res.nit} steps")

# %%
# What the parser refuses
# -----------------------
# A formula is data, not code: anything outside the grammar is refused with a
# :class:`descend.errors.FormulaError` (a ``ValueError``) that names the position, and so are
# formulas too large to differentiate in bounded time.
from descend.errors import FormulaError

for text in ("__import__('os').system('ls')", "x**2 + y**", "sin(x) + foo(y)",
             "x" + "**x" * 40):
    try:
        parse(text)
    except FormulaError as exc:
        print(f"{text[:30]!r:34s} -> {exc}")

# %%
# Callables: JAX, PyTorch, finite differences
# -------------------------------------------
# A function written with ``jax.numpy`` is differentiated by JAX (``value_and_grad``, compiled
# once per function and shape); one written with ``torch`` by autograd; a plain NumPy function
# by central finite differences (2p calls of ``fun`` per gradient). Nothing is imported to
# find out: ``grad="auto"`` looks for JAX or PyTorch only when the program has imported them.
import jax.numpy as jnp
import torch


def rosenbrock_jax(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_torch(x):
    return torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_numpy(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


for fun in (rosenbrock_jax, rosenbrock_torch, rosenbrock_numpy):
    res = minimize(fun, np.zeros(6), lr="bb", max_iter=5000)
    print(f"{fun.__name__:17s} {res.grad_method:18s} status {res.status.value}, "
          f"{res.nit} steps, {res.nfev} calls of fun, |x - 1| = "
          f"{np.abs(res.x - 1).max():.1e}")

# %%
# The message says how the gradient was computed:
print(minimize(rosenbrock_jax, np.zeros(6), lr="bb", max_iter=5000).message)
