"""GLM loss objects + a private reference solver against scikit-learn on its bundled data.

The solver here is a stand-in until the estimators exist on the loop (issue 17,
phase 2): accelerated proximal gradient with adaptive restart, in the metric of the
loss's curvature matrix (Bohning's bound for the log losses) when there is no L1
part, with a scalar step and soft-thresholding when there is; backtracking where
the loss has no global bound (Poisson). It runs to a KKT certificate, which each
test checks, so an agreement is not a shared early stop. The mapping checked:
scikit-learn's ``C`` is ``1 / (alpha * sum(sample_weight))`` for our mean loss
plus ``alpha / 2 ||coef||^2`` (or ``alpha ||coef||_1``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from sklearn import datasets
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, PoissonRegressor
from sklearn.preprocessing import StandardScaler

from descend.linear_model._glm_losses import LogisticLoss, PoissonLoss, SoftmaxLoss, SquaredLoss
from descend.linear_model._glm_prox import Penalty


@dataclass
class Solution:
    theta: np.ndarray
    value: float
    kkt: float  # the largest violation of the optimality conditions, relative
    iterations: int
    passes: int


def kkt(theta: np.ndarray, g: np.ndarray, pen: Penalty) -> float:
    """The largest violation of the optimality conditions (``g``: the loss gradient)."""
    g = g + pen.l2 * theta
    on = theta != 0
    bad = np.where(on, np.abs(g + pen.l1 * np.sign(theta)), np.maximum(np.abs(g) - pen.l1, 0))
    return float(bad.max())


def solve(loss, pen: Penalty, *, tol: float = 1e-11, max_iter: int = 50_000) -> Solution:
    """Accelerated proximal gradient (FISTA), restarted when the momentum points uphill.

    Stops when the KKT violation is below ``tol`` times the gradient at zero.
    """
    l1 = pen.has_l1
    step = 1.0
    metric = None
    if l1:  # scalar metric: soft-thresholding stays exact
        def move(y: np.ndarray, g: np.ndarray, s: float) -> np.ndarray:
            return pen.prox_l1(y - s * g, s)

        step = 1.0 / (loss.curvature_bound() + pen.l2_max)
    else:  # the loss's own majorizer: Bohning's bound for the log losses
        def move(y: np.ndarray, g: np.ndarray, s: float) -> np.ndarray:
            return y - s * loss.precondition(g, pen.l2)

        metric = loss.curvature_matrix() + np.diag(pen.l2)

    def smooth(t: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        f, g = loss.value_grad(t)
        v, gl2 = pen.smooth(t)
        return f + v, g + gl2, g

    theta = prev = np.zeros(loss.n_theta)
    f_th, g_th, raw = smooth(theta)
    scale = max(1.0, float(np.abs(raw).max()))
    t, it = 1.0, 0
    for it in range(1, max_iter + 1):  # noqa: B007
        beta = (t - 1.0) / (t + 2.0)
        y = theta + beta * (theta - prev)
        fy, gy, _ = smooth(y) if beta else (f_th, g_th, raw)
        while True:
            new = move(y, gy, step)
            d = new - y
            fn, gn, raw = smooth(new)
            quad = float(d @ d) if metric is None else float(d @ metric @ d)
            if loss.global_bound or fn <= fy + float(gy @ d) + 0.5 * quad / step:
                break
            # values flat to rounding (near the optimum): judge the step by the gradient
            if abs(fn - fy) <= 1e-14 * (1.0 + abs(fy)) and np.abs(gn).max() < np.abs(gy).max():
                break
            step *= 0.5
        t = 1.0 if float((y - new) @ (new - theta)) > 0 else t + 1.0
        prev, theta, f_th, g_th = theta, new, fn, gn
        if not loss.global_bound:
            step = min(1.0, step * 1.5) if metric is not None else step * 1.5
        if kkt(theta, raw, pen) <= tol * scale:
            break
    viol = kkt(theta, raw, pen) / scale
    return Solution(theta, f_th - pen.smooth(theta)[0] + pen.value(theta), viol, it, loss.passes)


def objective(loss, pen: Penalty, intercept, coef) -> float:
    theta = loss.to_working(intercept, coef)
    return loss.value_grad(theta)[0] + pen.value(theta)


def load(name: str):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return np.ascontiguousarray(X, dtype=np.float64), y


def agree(ours, theirs, rtol: float = 1e-6) -> None:
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * np.abs(theirs).max())


def quiet(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # sklearn 1.8+ on l1_ratio/penalty
        return est.fit(*args, **kw)


# ------------------------------------------------------------------ logistic
BINARY = [
    pytest.param("breast_cancer", 1.0, False, id="breast_cancer-C1"),
    pytest.param("breast_cancer", 0.05, True, id="breast_cancer-C0.05-weights"),
    pytest.param("diabetes", np.inf, False, id="diabetes-binarized-no-penalty"),
]


@pytest.mark.parametrize(("name", "C", "weighted"), BINARY)
def test_binary_logistic_equals_sklearn(name, C, weighted):
    X, y = load(name)
    if name == "diabetes":
        y = (y > np.median(y)).astype(int)
    sw = np.random.default_rng(0).uniform(0.2, 2.0, len(y)) if weighted else None
    loss = LogisticLoss.local(X, y.astype(float), sw)
    alpha = 0.0 if np.isinf(C) else 1.0 / (C * (len(y) if sw is None else sw.sum()))
    pen = Penalty.make(alpha, 0.0, loss.scaling)
    sol = solve(loss, pen)
    assert sol.kkt < 1e-9
    sk = quiet(LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12, max_iter=1000),
               X, y, sample_weight=sw)
    b, coef = loss.to_original(sol.theta)
    agree(coef, sk.coef_[0])
    agree(b, sk.intercept_[0])


@pytest.mark.parametrize(("name", "C"), [("iris", 1.0), ("wine", 0.5), ("digits", 0.1)])
def test_multinomial_equals_sklearn(name, C):
    X, y = load(name)
    K = int(y.max()) + 1
    loss = SoftmaxLoss.local(X, y, K)
    pen = Penalty.make(1.0 / (C * len(y)), 0.0, loss.scaling, K)
    sol = solve(loss, pen)
    assert sol.kkt < 1e-9
    sk = quiet(LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12, max_iter=1000),
               X, y)
    b, coef = loss.to_original(sol.theta)
    agree(coef, sk.coef_)
    agree(b - b.mean(), sk.intercept_ - sk.intercept_.mean())  # softmax: up to a shift


def test_l1_logistic_equals_saga_in_objective_and_zeros():
    X, y = load("breast_cancer")
    X = StandardScaler().fit_transform(X)  # saga needs scaled columns to converge
    C = 0.1
    loss = LogisticLoss.local(X, y.astype(float))
    pen = Penalty.make(1.0 / (C * len(y)), 1.0, loss.scaling)
    sol = solve(loss, pen)
    assert sol.kkt < 1e-9
    sk = quiet(LogisticRegression(C=C, l1_ratio=1.0, solver="saga", tol=1e-10, max_iter=100_000),
               X, y)
    ours = sol.value
    theirs = objective(loss, pen, sk.intercept_[0], sk.coef_[0])
    assert ours <= theirs * (1 + 1e-12)  # ours is the certified minimum
    assert theirs == pytest.approx(ours, rel=1e-6)
    _, coef = loss.to_original(sol.theta)
    zeros = coef == 0
    assert 0 < zeros.sum() < len(coef)
    np.testing.assert_array_equal(zeros, sk.coef_[0] == 0)


# ------------------------------------------------------------------ Poisson
@pytest.mark.parametrize(("alpha", "weighted"), [(0.0, False), (1e-3, False), (0.01, True)])
def test_poisson_equals_sklearn(alpha, weighted):
    X, y = load("diabetes")
    sw = np.random.default_rng(1).uniform(0.2, 2.0, len(y)) if weighted else None
    loss = PoissonLoss.local(X, y, sw)
    pen = Penalty.make(alpha, 0.0, loss.scaling)
    sol = solve(loss, pen)
    assert sol.kkt < 1e-9
    sk = PoissonRegressor(alpha=alpha, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    sk.fit(X, y, sample_weight=sw)
    b, coef = loss.to_original(sol.theta)
    agree(coef, sk.coef_)
    agree(b, sk.intercept_)


# ------------------------------------------------------------------ squared + L1
@pytest.mark.parametrize(("alpha", "l1_ratio"), [(0.1, 1.0), (0.5, 1.0), (0.05, 0.5)])
def test_lasso_and_elastic_net_equal_sklearn(alpha, l1_ratio):
    X, y = load("diabetes")
    loss = SquaredLoss.local(X, y)
    pen = Penalty.make(alpha, l1_ratio, loss.scaling)
    sol = solve(loss, pen)
    assert sol.kkt < 1e-9
    assert loss.passes == 0  # FISTA on the moments: no pass over the rows
    est = Lasso(alpha=alpha) if l1_ratio == 1.0 else ElasticNet(alpha=alpha, l1_ratio=l1_ratio)
    est.set_params(tol=1e-14, max_iter=1_000_000).fit(X, y)
    ours = sol.value
    theirs = objective(loss, pen, est.intercept_, est.coef_)
    assert theirs == pytest.approx(ours, rel=1e-6)
    _, coef = loss.to_original(sol.theta)
    zeros = coef == 0
    assert zeros.any() or l1_ratio < 1.0
    np.testing.assert_array_equal(zeros, est.coef_ == 0)


def test_bohning_steps_never_raise_the_objective():
    """The preconditioned step with step 1 is a majorization: monotone with no line search."""
    X, y = load("breast_cancer")
    loss = LogisticLoss.local(X, y.astype(float))
    pen = Penalty.make(1.0 / len(y), 0.0, loss.scaling)
    theta = np.zeros(loss.n_theta)
    last = np.inf
    for _ in range(50):
        f, g = loss.value_grad(theta)
        v, gl2 = pen.smooth(theta)
        assert f + v <= last * (1 + 1e-14)
        last = f + v
        theta = theta - loss.precondition(g + gl2, pen.l2)
