"""Automatic gradients of callables (issue 18): evaluations and time to ||grad|| < 1e-6.

Run:  PYTHONPATH=src python benchmarks/bench_autodiff.py      (about 2 minutes)

The same three problems written three ways, minimized by ``descend.minimize`` with
``lr="bb"`` (plain gradient descent for the quadratic, step 1/L):

- NumPy with no gradient: descend's central finite differences (2p + 1 calls of f a step);
- ``jax.numpy``: descend's jit-compiled ``value_and_grad`` (``grad="auto"``);
- ``torch``: descend's autograd;

beside ``scipy.optimize.minimize(method="L-BFGS-B")`` on the NumPy function, with scipy's
own finite differences (``jac=None``) and with the exact gradient. Problems: a 50-variable
quadratic ``f = x'Ax/2 - b'x`` (eigenvalues of A evenly in [1, 10]), and Rosenbrock in 10
and 100 dimensions from (-1.2, 1, -1.2, 1, ...). Times are CPU seconds of the whole call
(``time.process_time``, all threads; on a shared machine wall time mostly measures the
neighbours), the JAX row from a second call, its first call's trace and compile shown
apart (``compile``).

Then the per-step cost of a 2-D run (Rosenbrock, 20,000 steps of plain gd at 1e-3,
nothing else in the loop): a formula, a NumPy callable with its gradient, a jitted JAX
function and a torch function, in CPU seconds (``time.process_time``, steadier than wall time
on a shared machine), best of 7 interleaved rounds.

BLAS and PyTorch run on one thread (``threadpoolctl.threadpool_limits(1)``,
``torch.set_num_threads(1)``): on 2 shared cores, OpenBLAS's second thread made each of
L-BFGS-B's 100-variable iterations 25x slower, waiting, and those waits are CPU time too.

Targets: with autodiff the 50-variable quadratic needs >= 20x fewer function evaluations
than with finite differences and reaches the same point; a 2-D run of a jitted JAX function
costs <= 3x the formula path per step.
"""

from __future__ import annotations

import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize as so
import torch
from threadpoolctl import threadpool_limits

from descend import minimize, parse

GTOL = 1e-6
MAX_ITER = 20000

# --- problems, three ways each ------------------------------------------------------------

P = 50
_rng = np.random.default_rng(0)
_Q, _ = np.linalg.qr(_rng.normal(size=(P, P)))
A = _Q @ np.diag(np.linspace(1.0, 10.0, P)) @ _Q.T
A = 0.5 * (A + A.T)
B = _rng.normal(size=P)
with jax.enable_x64(True):  # float64 constants (JAX would make float32 ones otherwise)
    A_J, B_J = jnp.asarray(A), jnp.asarray(B)
A_T, B_T = torch.from_numpy(A.copy()), torch.from_numpy(B.copy())
X_STAR = np.linalg.solve(A, B)


def quad_np(x):
    return float(0.5 * x @ (A @ x) - B @ x)


def quad_grad(x):
    return A @ x - B


def quad_jax(x):
    return 0.5 * x @ (A_J @ x) - B_J @ x


def quad_torch(x):
    return 0.5 * x @ (A_T @ x) - B_T @ x


def rosen_np(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


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


PROBLEMS = {  # name: (numpy f, its gradient, jax f, torch f, x0, descend lr, minimizer)
    "quadratic 50": (quad_np, quad_grad, quad_jax, quad_torch, np.linspace(-2.0, 2.0, P),
                     0.1, X_STAR),
    "rosenbrock 10": (rosen_np, rosen_grad, rosen_jax, rosen_torch, np.tile([-1.2, 1.0], 5),
                      "bb", np.ones(10)),
    "rosenbrock 100": (rosen_np, rosen_grad, rosen_jax, rosen_torch, np.tile([-1.2, 1.0], 50),
                       "bb", np.ones(100)),
}


def _timed(fn, *args, **kwargs):
    t = time.process_time()
    out = fn(*args, **kwargs)
    return out, time.process_time() - t


def table() -> list[tuple]:
    rows = []
    for name, (f_np, g_np, f_jax, f_torch, x0, lr, x_star) in PROBLEMS.items():
        kw = {"lr": lr, "gtol": GTOL, "max_iter": MAX_ITER}
        for label, fun in (("descend, finite differences", f_np), ("descend, JAX", f_jax),
                           ("descend, torch", f_torch)):
            res, secs = _timed(minimize, fun, x0, **kw)
            extra = ""
            if label.endswith("JAX"):
                _, warm = _timed(minimize, fun, x0, **kw)  # compiled code reused
                extra = f"compile {secs - warm:.2f} s"
                secs = warm
            gn = float(np.linalg.norm(rosen_grad(res.x) if "rosen" in name else quad_grad(res.x)))
            rows.append((name, label, res.grad_method, res.nit, res.nfev, res.njev, gn,
                         float(np.max(np.abs(res.x - x_star))), secs, extra))
        for label, jac in (("scipy L-BFGS-B, its finite differences", None),
                           ("scipy L-BFGS-B, exact gradient", g_np)):
            opts = {"gtol": GTOL / 10, "ftol": 0.0, "maxiter": MAX_ITER, "maxfun": 10**7}
            r, secs = _timed(so.minimize, f_np, x0, jac=jac, method="L-BFGS-B", options=opts)
            gn = float(np.linalg.norm(g_np(r.x)))
            njev = getattr(r, "njev", 0)
            rows.append((name, label, "scipy", r.nit, r.nfev, njev, gn,
                         float(np.max(np.abs(r.x - x_star))), secs, ""))
    return rows


def per_step() -> dict[str, float]:
    """CPU microseconds per step of plain gd on 2-D Rosenbrock, best of 7 rounds."""
    formula = parse("(1 - x)**2 + 100*(y - x**2)**2")

    def r2_np(v):
        return (1.0 - v[0]) ** 2 + 100.0 * (v[1] - v[0] ** 2) ** 2

    def r2_grad(v):
        d = v[1] - v[0] ** 2
        return np.array([-2.0 * (1.0 - v[0]) - 400.0 * v[0] * d, 200.0 * d])

    def r2_jax(v):
        return jnp.square(1.0 - v[0]) + 100.0 * jnp.square(v[1] - v[0] ** 2)

    def r2_torch(v):
        return torch.square(1.0 - v[0]) + 100.0 * torch.square(v[1] - v[0] ** 2)

    cases = {"formula": (formula, None), "NumPy + grad": (r2_np, r2_grad),
             "JAX (jit)": (r2_jax, None), "torch": (r2_torch, None)}
    steps = {"formula": 20000, "NumPy + grad": 20000, "JAX (jit)": 20000, "torch": 2000}
    best = dict.fromkeys(cases, np.inf)
    x0 = np.array([-1.2, 1.0])
    for fun, grad in cases.values():  # warm up: parse, trace, compile
        minimize(fun, x0, grad=grad, lr=1e-3, max_iter=10, gtol=None)
    for _ in range(7):
        for name, (fun, grad) in cases.items():
            t = time.process_time()
            res = minimize(fun, x0, grad=grad, lr=1e-3, max_iter=steps[name], gtol=None)
            best[name] = min(best[name], (time.process_time() - t) / res.nit * 1e6)
    return best


def main() -> None:
    torch.set_num_threads(1)
    with threadpool_limits(1):
        report()


def report() -> None:
    print(f"$ PYTHONPATH=src python {' '.join(sys.argv)}")
    print(f"numpy {np.__version__}, jax {jax.__version__}, torch {torch.__version__}, "
          f"python {sys.version.split()[0]}")
    print(f"\nto ||grad|| < {GTOL:g} (max_iter {MAX_ITER}); x err = max |x - x*|; "
          f"CPU seconds")
    head = ("problem", "solver", "gradient", "nit", "nfev", "njev", "||g||", "x err", "CPU s")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    rows = table()
    for name, label, method, nit, nfev, njev, gn, err, secs, extra in rows:
        note = f" ({extra})" if extra else ""
        print(f"| {name} | {label} | {method} | {nit} | {nfev} | {njev} | {gn:.1e} | "
              f"{err:.1e} | {secs:.3f}{note} |")
    quad = {label: (nfev, err) for name, label, _, _, nfev, _, _, err, _, _ in rows
            if name == "quadratic 50"}
    fd_nfev, fd_err = quad["descend, finite differences"]
    for label in ("descend, JAX", "descend, torch"):
        nfev, err = quad[label]
        ratio = fd_nfev / nfev
        verdict = "met" if ratio >= 20 and err < 1e-6 and fd_err < 1e-6 else "NOT met"
        print(f"quadratic 50, {label}: {ratio:.0f}x fewer function evaluations than finite "
              f"differences, max |x - x*| {err:.1e} (finite differences {fd_err:.1e}): "
              f"target >= 20x, same point: {verdict}")
    steps = per_step()
    print("\n2-D Rosenbrock, plain gd at 1e-3, CPU us per step (best of 7):")
    print("| function | us/step | vs formula |")
    print("|---|---:|---:|")
    for name, us in steps.items():
        print(f"| {name} | {us:.1f} | {us / steps['formula']:.2f}x |")
    ratio = steps["JAX (jit)"] / steps["formula"]
    print(f"jitted JAX per step: {ratio:.2f}x the formula path: target <= 3x: "
          f"{'met' if ratio <= 3 else 'NOT met'}")


if __name__ == "__main__":
    main()
