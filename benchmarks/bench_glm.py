"""Generalized linear models: descend's estimators beside the peers, in one run.

Issue 17's speed targets, each printed as a ratio beside its target:

* ``GDClassifier`` (binary, ``--rows`` x ``--features``, no penalty) against scikit-learn's
  ``LogisticRegression(lbfgs)`` (target >= 2x) and ``SGDClassifier`` (>= 20x to the same loss);
* ``GDClassifier`` multinomial (``--mrows`` x ``--mfeatures``, ``--classes`` classes) against
  ``LogisticRegression(lbfgs)`` (multinomial; >= 2x) and ``SGDClassifier(loss="log_loss")``
  (one-vs-rest; at most ``--multi-sgd-epochs`` epochs; >= 20x to the same loss);
* ``GDRegressor(loss="poisson")`` against ``PoissonRegressor(lbfgs)`` (>= 2x);
* ``GDRegressor(penalty="l1")`` (squared loss, ``method="auto"``: FISTA on the moments)
  against ``Lasso`` (coordinate descent; no slower) and ``SGDRegressor(penalty="l1")`` (>= 5x);
* one fused gradient pass against one read of X (``X.sum()``; <= 1.5x);
* the peak memory each descend fit allocates beyond X (tracemalloc; <= 10% of X);
* ``GDClassifier`` on Dask arrays (a local cluster of ``--workers`` x 1 thread, X persisted)
  against ``dask_ml.linear_model.LogisticRegression`` (dask-glm, lbfgs) on the same cluster
  and data (>= 3x).

**The same tolerance** is the objective reached, not a ``tol`` setting (the solvers' ``tol``
mean different things). Each problem's objective (the peers' own: mean log loss, mean half
Poisson deviance, Lasso's ``||r||^2 / 2n + alpha ||w||_1``) is computed here from the fitted
coefficients. The best objective ``f*`` is the lower of descend's and the full-batch peer's
fits at a tight tolerance (1e-10, at most 100
iterations), and the target is ``f <= f* + 1e-6 |f*|`` (``--rel``). Each
solver is timed at the *loosest* ``tol`` of a ladder (1e-3 ... 1e-8) whose fit reaches the
target (the median of ``--repeat`` fits at that ``tol``), so no solver is charged for
accuracy beyond the target. The stochastic peers run epoch by epoch (``partial_fit``, timed;
the objective after each is computed untimed) for at most ``--sgd-epochs`` epochs: their time
is the epochs up to the first that reaches the target, and when none does the line says so
and gives the ratio as a lower bound (``>=``) with the gap left. Each line also prints the
relative difference of the coefficients to the peer's (``||w - w_peer|| / ||w_peer||``), so
one sees it is the same answer.

Data: binary ``y`` drawn from a logistic model on standard normal X; counts from a Poisson
model; the L1 response linear plus noise. BLAS and numba run on the machine's cores for
every solver alike (the pass-vs-read section pins BLAS to one thread, as the passes do).

Run: ``PYTHONPATH=src python benchmarks/bench_glm.py`` (quick: ``--rows 200000 --mrows 100000``).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

TOLS = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)
TIGHT = 1e-10
TIGHT_ITER = 100  # the reference fits' cap (Poisson's stalls at 1e-10 at 200,000 rows)
MAX_ITER = 300  # each fit's cap: a tolerance below what the arithmetic resolves never ends


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    out = fn()  # warm-up (and compile)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def peak_beyond(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return int(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def quiet(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def timed_fit(make: Callable[[], Any], *args: Any) -> tuple[float, Any]:
    est = make()
    t = time.perf_counter()
    quiet(lambda: est.fit(*args))
    return time.perf_counter() - t, est


class Target:
    """``f* (1 + rel)`` from the tight fits; ``reached(f)``."""

    def __init__(self, objective: Callable[[Any], float], rel: float) -> None:
        self.objective, self.rel = objective, rel
        self.best = np.inf

    def offer(self, est: Any) -> float:
        f = self.objective(est)
        self.best = min(self.best, f)
        return f

    @property
    def level(self) -> float:
        return float(self.best + self.rel * abs(self.best))


def to_target(make: Callable[[float], Any], args: tuple[Any, ...], tgt: Target,
              repeat: int) -> tuple[float, Any, float, bool]:
    """``(median seconds, estimator, tol, reached)`` at the loosest ``tol`` reaching the target."""
    for tol in TOLS:
        t, est = timed_fit(lambda tol=tol: make(tol), *args)
        if tgt.objective(est) <= tgt.level:
            times = [t] + [timed_fit(lambda tol=tol: make(tol), *args)[0]
                           for _ in range(repeat - 1)]
            return float(np.median(times)), est, tol, True
    return t, est, TOLS[-1], False


def coef_of(est: Any) -> Any:
    return np.concatenate([np.ravel(est.coef_), np.ravel(est.intercept_)])


def rel_diff(a: Any, b: Any) -> float:
    a, b = coef_of(a), coef_of(b)
    if a.shape != b.shape:  # binary sklearn: (1, p) vs descend (1, p); dask-ml: (p,)
        a, b = a.ravel(), b.ravel()
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


# ------------------------------------------------------------------ objectives
def logistic_objective(X: Any, y: Any) -> Callable[[Any], float]:
    def f(est: Any) -> float:
        eta = X @ np.ravel(est.coef_) + float(np.ravel(est.intercept_)[0])
        return float(np.mean(np.logaddexp(0.0, eta) - y * eta))
    return f


def softmax_objective(X: Any, y: Any) -> Callable[[Any], float]:
    from scipy.special import logsumexp

    def f(est: Any) -> float:
        eta = X @ np.asarray(est.coef_).T + np.asarray(est.intercept_)
        return float(np.mean(logsumexp(eta, axis=1) - eta[np.arange(len(y)), y]))
    return f


def poisson_objective(X: Any, y: Any) -> Callable[[Any], float]:
    from scipy.special import xlogy

    const = float(np.mean(xlogy(y, y) - y))

    def f(est: Any) -> float:
        eta = X @ np.ravel(est.coef_) + float(est.intercept_)
        return float(np.mean(np.exp(eta) - y * eta) + const)  # mean half deviance
    return f


def lasso_objective(X: Any, y: Any, alpha: float) -> Callable[[Any], float]:
    def f(est: Any) -> float:
        w = np.ravel(est.coef_)
        r = y - X @ w - float(np.ravel(est.intercept_)[0])
        return float(r @ r / (2 * len(r)) + alpha * np.abs(w).sum())
    return f


# ------------------------------------------------------------------ data
def logistic_data(n: int, p: int, rng: np.random.Generator) -> tuple[Any, Any, Any]:
    X = rng.standard_normal((n, p))
    w = rng.standard_normal(p) / np.sqrt(p) * 2
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ w + 0.3)))).astype(np.float64)
    return X, y, w


class Table:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, what: str, ours: float, theirs: float, target: str, ok: bool | None,
            agree: str, bound: bool = False) -> None:
        ratio = theirs / ours
        verdict = "met" if ok else ("missed" if ok is not None else "-")
        line = (f"{what:<52} {ours:8.2f} s {theirs:8.2f} s  {'>=' if bound else '  '}"
                f"{ratio:6.1f}x  {target:<10} {verdict:<7} {agree}")
        self.lines.append(line)
        print(line, flush=True)

    def note(self, text: str) -> None:
        self.lines.append(text)
        print(text, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--mrows", type=int, default=1_000_000)
    ap.add_argument("--mfeatures", type=int, default=100)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3, help="fits timed per solver (median)")
    ap.add_argument("--pass-repeat", type=int, default=7)
    ap.add_argument("--sgd-epochs", type=int, default=20,
                    help="SGD epochs at most (enough to show 20x when SGD never gets there)")
    ap.add_argument("--multi-sgd-epochs", type=int, default=8,
                    help="SGD epochs at most on the multinomial problem (10 binary fits each)")
    ap.add_argument("--rel", type=float, default=1e-6, help="objective target, relative")
    ap.add_argument("--alpha", type=float, default=0.01, help="the L1 problem's alpha")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", default="pass,binary,multi,poisson,l1,memory,dask",
                    help="comma-separated sections")
    a = ap.parse_args()
    only = set(a.only.split(","))
    print("reproduce:", "PYTHONPATH=src", sys.executable, *sys.argv)
    print(f"load average before: {os.getloadavg()}; cores: {os.cpu_count()}")

    rng = np.random.default_rng(0)
    n, p = a.rows, a.features
    X, y, w_true = logistic_data(n, p, rng)
    counts = rng.poisson(np.exp(0.2 * X @ w_true)).astype(np.float64)
    yreg = X @ w_true + rng.standard_normal(n)
    warm()
    tab = Table()
    if "pass" in only:
        passes(a, X, y, counts, yreg)
    print(f"\n== fits to the same objective: within {a.rel:g} (relative) of the best; "
          f"medians of {a.repeat}")
    print(f"{'':<52} {'descend':>10} {'peer':>10}  {'ratio':>8}  {'target':<10} "
          f"{'verdict':<7} agreement")
    if "binary" in only:
        binary(a, tab, X, y)
    if "multi" in only:
        multinomial(a, tab, rng)
    if "poisson" in only:
        poisson(a, tab, X, counts)
    if "l1" in only:
        l1(a, tab, X, yreg)
    if "memory" in only:
        memory(a, tab, X, y, counts, yreg, rng)
    if "dask" in only:
        dask_peer(a, tab, X, y)
    print(f"\nload average after: {os.getloadavg()}")
    print("\n== summary\n" + "\n".join(tab.lines))


def warm() -> None:
    """Compile the numba kernels (cached) on small problems, outside every timing: the
    one-thread kernels and, from ``PARALLEL_ROWS`` rows, the parallel ones."""
    from descend.linear_model import GDClassifier, GDRegressor
    from descend.linear_model._glm_kernels import PARALLEL_ROWS

    r = np.random.default_rng(1)
    for n in (2000, PARALLEL_ROWS):
        Xs = r.standard_normal((n, 5))
        yb, yk, yc = Xs[:, 0] > 0.1 * r.standard_normal(n), r.integers(0, 3, n), r.poisson(1.0, n)
        quiet(lambda X=Xs, y=yb: GDClassifier(penalty=None).fit(X, y))
        quiet(lambda X=Xs, y=yk: GDClassifier(penalty=None).fit(X, y))
        quiet(lambda X=Xs, y=yc: GDRegressor(loss="poisson", penalty=None).fit(X, y))
        quiet(lambda X=Xs: GDRegressor(penalty="l1", alpha=0.01, method="auto").fit(X, X[:, 0]))


def passes(a: Any, X: Any, y: Any, counts: Any, yreg: Any) -> None:
    from descend.linear_model._glm_losses import (
        LogisticLoss,
        PoissonLoss,
        SoftmaxLoss,
        SquaredLoss,
        one_blas_thread,
    )

    n, p = X.shape
    mb = X.nbytes / 2**20
    rows: list[tuple[str, float, float, float]] = []
    with one_blas_thread():
        read, _ = median_time(lambda: X.sum(), a.pass_repeat)
        rows.append(("one read of X (X.sum())", read, 1.0, 0.0))
        t_first, _ = median_time(lambda: LogisticLoss.local(X, y), 3)
        rows.append(("first pass: moments + scaling (X'X)", t_first, t_first / read,
                     peak_beyond(lambda: LogisticLoss.local(X, y)) / 2**20))
        for name, loss in {"logistic": LogisticLoss.local(X, y),
                           "poisson": PoissonLoss.local(X, counts)}.items():
            theta = np.zeros(loss.n_theta)
            theta[1:] = 0.1
            t, _ = median_time(lambda loss=loss, theta=theta: loss.value_grad(theta),
                               a.pass_repeat)
            mem = peak_beyond(lambda loss=loss, theta=theta: loss.value_grad(theta)) / 2**20
            rows.append((f"{name}: one fused pass (value + gradient)", t, t / read, mem))
        sq = SquaredLoss.local(X, yreg)
        t, _ = median_time(lambda: sq.value_grad(np.full(sq.n_theta, 0.1)), a.pass_repeat)
        rows.append(("squared (+L1): one step on the moments", t, t / read, 0.0))
        wt = np.full(p, 0.1)
        g_np, _ = median_time(lambda: _numpy_logistic(X, y, wt), 3)
        rows.append(("logistic gradient in NumPy (X@w, sigmoid, X.T@r)", g_np, g_np / read, 0.0))
    print(f"\n== passes at {n:,} x {p} float64 (X is {mb:.0f} MiB); medians of {a.pass_repeat}"
          " (target: a fused pass <= 1.5x one read)")
    for name, t, ratio, mem in rows:
        print(f"{name:<55} {t * 1e3:9.1f} ms {ratio:6.2f}x read  {mem:7.1f} MiB beyond X "
              f"({mem / mb:.1%})")
    rng = np.random.default_rng(2)
    Xm = rng.standard_normal((a.mrows, a.mfeatures))
    ym = rng.integers(0, a.classes, a.mrows)
    with one_blas_thread():
        mread, _ = median_time(lambda: Xm.sum(), a.pass_repeat)
        soft = SoftmaxLoss.local(Xm, ym, a.classes)
        th = np.full(soft.n_theta, 0.01)
        ts, _ = median_time(lambda: soft.value_grad(th), a.pass_repeat)
        msoft = peak_beyond(lambda: soft.value_grad(th)) / 2**20
    print(f"multinomial at {a.mrows:,} x {a.mfeatures}, {a.classes} classes "
          f"(X is {Xm.nbytes / 2**20:.0f} MiB): one read {mread * 1e3:.1f} ms; softmax fused "
          f"pass {ts * 1e3:.1f} ms = {ts / mread:.2f}x read, {msoft:.1f} MiB beyond X")


def _numpy_logistic(X: Any, y: Any, w: Any) -> Any:
    eta = X @ w
    r = 1 / (1 + np.exp(-eta)) - y
    return X.T @ r


def _tight(tgt: Target, make_ours: Callable[[float], Any], make_peer: Callable[[float], Any],
           args: tuple[Any, ...]) -> None:
    for make in (make_ours, make_peer):
        est = make(TIGHT).set_params(max_iter=TIGHT_ITER)
        tgt.offer(quiet(lambda est=est: est.fit(*args)))


def _sgd(tgt: Target, est: Any, args: tuple[Any, ...], epochs: int,
         **kw: Any) -> tuple[float, int | None, float]:
    """``(seconds to the target or for all epochs, the epoch reaching it or None, gap left)``."""
    spent = 0.0
    f = np.inf
    for e in range(1, epochs + 1):
        t = time.perf_counter()
        quiet(lambda: est.partial_fit(*args, **kw))
        spent += time.perf_counter() - t
        f = tgt.objective(est)
        if f <= tgt.level:
            return spent, e, f - tgt.best
    return spent, None, f - tgt.best


def binary(a: Any, tab: Table, X: Any, y: Any) -> None:
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    from descend.linear_model import GDClassifier

    args = (X, y)
    tgt = Target(logistic_objective(X, y), a.rel)
    ours = lambda tol: GDClassifier(penalty=None, tol=tol, max_iter=MAX_ITER)  # noqa: E731
    peer = lambda tol: LogisticRegression(C=np.inf, tol=tol, max_iter=MAX_ITER)  # noqa: E731
    _tight(tgt, ours, peer, args)
    t_o, e_o, tol_o, ok_o = to_target(ours, args, tgt, a.repeat)
    t_p, e_p, tol_p, ok_p = to_target(peer, args, tgt, a.repeat)
    tab.note(f"binary {X.shape[0]:,} x {X.shape[1]}: f* = {tgt.best:.10f}; descend tol {tol_o:g}"
             f" ({e_o.n_iter_} iterations{'' if ok_o else ', NOT at the target'}), lbfgs tol "
             f"{tol_p:g} ({int(e_p.n_iter_[0])} iterations{'' if ok_p else ', NOT at target'})")
    tab.add("GDClassifier vs LogisticRegression(lbfgs)", t_o, t_p, ">= 2x", t_p / t_o >= 2,
            f"coef rel diff {rel_diff(e_o, e_p):.1e}")
    sgd = SGDClassifier(loss="log_loss", penalty=None, random_state=0)
    spent, epoch, gap = _sgd(tgt, sgd, args, a.sgd_epochs, classes=np.array([0.0, 1.0]))
    per = spent / (epoch or a.sgd_epochs)
    if epoch is None:
        tab.add(f"GDClassifier vs SGDClassifier ({per:.2f} s/epoch)", t_o, spent, ">= 20x",
                spent / t_o >= 20 or None,
                f"SGD not at the loss after {a.sgd_epochs} epochs (gap {gap:.1e}); "
                f"coef rel diff {rel_diff(sgd, e_p):.1e}", bound=True)
    else:
        tab.add(f"GDClassifier vs SGDClassifier ({per:.2f} s/epoch)", t_o, spent, ">= 20x",
                spent / t_o >= 20, f"SGD at the loss after {epoch} epochs; coef rel diff "
                f"{rel_diff(sgd, e_p):.1e}")


def multinomial(a: Any, tab: Table, rng: np.random.Generator) -> None:
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    from descend.linear_model import GDClassifier

    Xm = rng.standard_normal((a.mrows, a.mfeatures))
    Wm = rng.standard_normal((a.classes, a.mfeatures)) / np.sqrt(a.mfeatures)
    ym = np.argmax(Xm @ Wm.T + rng.gumbel(size=(a.mrows, a.classes)), axis=1)
    args = (Xm, ym)
    tgt = Target(softmax_objective(Xm, ym), a.rel)
    ours = lambda tol: GDClassifier(penalty=None, tol=tol, max_iter=MAX_ITER)  # noqa: E731
    peer = lambda tol: LogisticRegression(C=np.inf, tol=tol, max_iter=MAX_ITER)  # noqa: E731
    _tight(tgt, ours, peer, args)
    t_o, e_o, tol_o, ok_o = to_target(ours, args, tgt, a.repeat)
    t_p, e_p, tol_p, ok_p = to_target(peer, args, tgt, a.repeat)
    tab.note(f"multinomial {a.mrows:,} x {a.mfeatures} x {a.classes}: f* = {tgt.best:.10f}; "
             f"descend tol {tol_o:g} ({e_o.n_iter_} iterations"
             f"{'' if ok_o else ', NOT at the target'}), lbfgs tol {tol_p:g} "
             f"({int(e_p.n_iter_[0])} iterations{'' if ok_p else ', NOT at target'})")
    # softmax coefficients are defined up to a constant per feature: compare centred
    for e in (e_o, e_p):
        e.coef_ = e.coef_ - e.coef_.mean(axis=0)
        e.intercept_ = e.intercept_ - e.intercept_.mean()
    tab.add("GDClassifier multinomial vs LogisticRegression", t_o, t_p, ">= 2x",
            t_p / t_o >= 2, f"coef rel diff {rel_diff(e_o, e_p):.1e} (class-centred)")
    # SGD fits one binary problem a class (one-vs-rest): its loss is read as the softmax's
    sgd = SGDClassifier(loss="log_loss", penalty=None, random_state=0)
    spent, epoch, gap = _sgd(tgt, sgd, args, a.multi_sgd_epochs,
                             classes=np.arange(a.classes))
    per = spent / (epoch or a.multi_sgd_epochs)
    label = f"GDClassifier multinomial vs SGDClassifier ({per:.1f} s/epoch)"
    if epoch is None:
        tab.add(label, t_o, spent, ">= 20x", spent / t_o >= 20 or None,
                f"SGD not at the loss after {a.multi_sgd_epochs} epochs (gap {gap:.1e})",
                bound=True)
    else:
        tab.add(label, t_o, spent, ">= 20x", spent / t_o >= 20,
                f"SGD at the loss after {epoch} epochs")


def poisson(a: Any, tab: Table, X: Any, counts: Any) -> None:
    from sklearn.linear_model import PoissonRegressor

    from descend.linear_model import GDRegressor

    args = (X, counts)
    tgt = Target(poisson_objective(X, counts), a.rel)
    ours = lambda tol: GDRegressor(loss="poisson", penalty=None, tol=tol,  # noqa: E731
                                   max_iter=MAX_ITER)
    peer = lambda tol: PoissonRegressor(alpha=0.0, tol=tol, max_iter=MAX_ITER)  # noqa: E731
    _tight(tgt, ours, peer, args)
    t_o, e_o, tol_o, ok_o = to_target(ours, args, tgt, a.repeat)
    t_p, e_p, tol_p, ok_p = to_target(peer, args, tgt, a.repeat)
    tab.note(f"poisson: f* = {tgt.best:.10f}; descend tol {tol_o:g} ({e_o.n_iter_} iterations"
             f"{'' if ok_o else ', NOT at the target'}), lbfgs tol {tol_p:g} ({e_p.n_iter_} "
             f"iterations{'' if ok_p else ', NOT at target'})")
    tab.add("GDRegressor(poisson) vs PoissonRegressor", t_o, t_p, ">= 2x", t_p / t_o >= 2,
            f"coef rel diff {rel_diff(e_o, e_p):.1e}")


def l1(a: Any, tab: Table, X: Any, yreg: Any) -> None:
    from sklearn.linear_model import Lasso, SGDRegressor

    from descend.linear_model import GDRegressor

    args = (X, yreg)
    tgt = Target(lasso_objective(X, yreg, a.alpha), a.rel)
    ours = lambda tol: GDRegressor(penalty="l1", alpha=a.alpha, method="auto",  # noqa: E731
                                   tol=tol, max_iter=MAX_ITER)
    peer = lambda tol: Lasso(alpha=a.alpha, tol=tol, max_iter=MAX_ITER)  # noqa: E731
    _tight(tgt, ours, peer, args)
    t_o, e_o, tol_o, ok_o = to_target(ours, args, tgt, a.repeat)
    t_p, e_p, tol_p, ok_p = to_target(peer, args, tgt, a.repeat)
    zeros = (f"zeros {int(np.sum(e_o.coef_ == 0))} / Lasso {int(np.sum(e_p.coef_ == 0))}")
    tab.note(f"L1 alpha={a.alpha:g}: f* = {tgt.best:.10f}; descend tol {tol_o:g} "
             f"({e_o.n_iter_} iterations{'' if ok_o else ', NOT at the target'}), Lasso tol "
             f"{tol_p:g} ({e_p.n_iter_} iterations{'' if ok_p else ', NOT at target'})")
    tab.add("GDRegressor(l1, auto) vs Lasso", t_o, t_p, "<= 1x time", t_p >= t_o,
            f"coef rel diff {rel_diff(e_o, e_p):.1e}; {zeros}")
    sgd = SGDRegressor(penalty="l1", alpha=a.alpha, random_state=0)
    spent, epoch, gap = _sgd(tgt, sgd, args, a.sgd_epochs)
    per = spent / (epoch or a.sgd_epochs)
    if epoch is None:
        tab.add(f"GDRegressor(l1) vs SGDRegressor(l1) ({per:.2f} s/epoch)", t_o, spent, ">= 5x",
                spent / t_o >= 5 or None,
                f"SGD not at the objective after {a.sgd_epochs} epochs (gap {gap:.1e}); "
                f"coef rel diff {rel_diff(sgd, e_p):.1e}", bound=True)
    else:
        tab.add(f"GDRegressor(l1) vs SGDRegressor(l1) ({per:.2f} s/epoch)", t_o, spent, ">= 5x",
                spent / t_o >= 5, f"SGD at the objective after {epoch} epochs")


def memory(a: Any, tab: Table, X: Any, y: Any, counts: Any, yreg: Any,
           rng: np.random.Generator) -> None:
    from descend.linear_model import GDClassifier, GDRegressor

    mb = X.nbytes
    fits = {
        "GDClassifier binary": lambda: GDClassifier(penalty=None, tol=1e-6).fit(X, y),
        "GDRegressor(poisson)": lambda: GDRegressor(loss="poisson", penalty=None,
                                                     tol=1e-6).fit(X, counts),
        "GDRegressor(l1, auto)": lambda: GDRegressor(penalty="l1", alpha=a.alpha,
                                                      method="auto", tol=1e-6).fit(X, yreg),
    }
    parts = []
    for name, fn in fits.items():
        peak = peak_beyond(lambda fn=fn: quiet(fn))
        parts.append(f"{name} {peak / 2**20:.1f} MiB = {peak / mb:.1%}")
        tab.note(f"memory beyond X ({mb / 2**20:.0f} MiB), tracemalloc peak of the fit: "
                 f"{name}: {peak / 2**20:.1f} MiB = {peak / mb:.1%} of X "
                 f"(target <= 10%: {'met' if peak <= 0.1 * mb else 'missed'})")


def dask_peer(a: Any, tab: Table, X: Any, y: Any) -> None:
    try:
        import dask.array as da
        from dask_ml.linear_model import LogisticRegression as DaskLR
        from distributed import Client, LocalCluster
    except ImportError:
        tab.note("dask-ml: not installed (pip install dask-ml): no Dask line")
        return
    from descend.linear_model import GDClassifier

    tgt = Target(logistic_objective(X, y), a.rel)
    tgt.offer(quiet(lambda: GDClassifier(penalty=None, tol=TIGHT, max_iter=TIGHT_ITER).fit(X, y)))
    chunk = max(1, -(-X.shape[0] // (4 * a.workers)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1,
                               dashboard_address=":0")
        with cluster, Client(cluster):
            Xd = da.from_array(X, chunks=(chunk, X.shape[1])).persist()
            yd = da.from_array(y, chunks=chunk).persist()
            ours = lambda tol: GDClassifier(penalty=None, tol=tol,  # noqa: E731
                                            max_iter=MAX_ITER)
            peer = lambda tol: DaskLR(C=1e12, solver="lbfgs", tol=tol,  # noqa: E731
                                      max_iter=MAX_ITER)
            t_o, e_o, tol_o, ok_o = to_target(ours, (Xd, yd), tgt, a.repeat)
            t_p, e_p, tol_p, ok_p = to_target(peer, (Xd, yd), tgt, 1)
    tab.note(f"dask, {a.workers} workers x 1 thread, X persisted in {chunk:,}-row blocks: "
             f"descend tol {tol_o:g}{'' if ok_o else ' (NOT at the target)'}, dask-ml tol "
             f"{tol_p:g}{'' if ok_p else ' (NOT at the target)'}")
    tab.add("GDClassifier (Dask) vs dask_ml LogisticRegression", t_o, t_p, ">= 3x",
            t_p / t_o >= 3 if ok_p else (t_p / t_o >= 3 or None),
            f"coef rel diff {rel_diff(e_o, e_p):.1e}", bound=not ok_p)


if __name__ == "__main__":
    main()
