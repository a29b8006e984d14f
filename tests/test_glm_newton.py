"""The GLM fits' Newton steps: the Hessian on a sample of the rows, the intercept-only start,
and that a sampled Hessian still ends on the exact minimum (in memory and on Dask)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import expit
from sklearn.linear_model import LogisticRegression, PoissonRegressor

from descend.linear_model import GDClassifier, GDRegressor, _glm_losses
from descend.linear_model._glm_losses import LogisticLoss, PoissonLoss, sample_rows


def data(kind: str, n: int = 3000, p: int = 5, seed: int = 0, offset: float = 2.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) + offset
    w = rng.standard_normal(p) / np.sqrt(p)
    sw = rng.random(n) + 0.5
    if kind == "logistic":
        y = (rng.random(n) < expit((X - offset) @ w - 0.5)).astype(float)
    else:
        y = rng.poisson(np.exp(0.5 * (X - offset) @ w + 0.3)).astype(float)
    return X, y, sw


def make(kind, X, y, sw, **opts):
    return (LogisticLoss if kind == "logistic" else PoissonLoss).local(X, y, sw, **opts)


def numeric_hessian(loss, theta, h=1e-5):
    H = np.array([(loss.value_grad(theta + h * e)[1] - loss.value_grad(theta - h * e)[1])
                  / (2 * h) for e in np.eye(loss.n_theta)])
    return (H + H.T) / 2


CASES = [(k, wt, fi, sd) for k in ("logistic", "poisson") for wt in (False, True)
         for fi in (True, False) for sd in (True, False)]


@pytest.mark.parametrize(("kind", "weighted", "fit_intercept", "standardize"), CASES)
def test_the_sample_of_every_row_gives_the_hessian(kind, weighted, fit_intercept, standardize):
    X, y, sw = data(kind)
    loss = make(kind, X, y, sw if weighted else None, fit_intercept=fit_intercept,
                standardize=standardize)
    assert loss.sample is None and loss.newton_ready()  # offered, taken on first use
    rng = np.random.default_rng(3)
    for scale in (0.0, 0.3):
        theta = rng.standard_normal(loss.n_theta) * scale
        H = loss.hessian(theta)
        assert loss.sample[0].shape[0] == X.shape[0]
        np.testing.assert_allclose(H, H.T, rtol=0, atol=0)
        np.testing.assert_allclose(H, numeric_hessian(loss, theta), rtol=1e-5,
                                   atol=1e-7 * np.abs(H).max())


def test_sample_rows_are_all_or_evenly_spaced():
    assert sample_rows(_glm_losses.SAMPLE_ROWS) == slice(None)
    rows = sample_rows(10 * _glm_losses.SAMPLE_ROWS + 7)
    assert rows.shape == (_glm_losses.SAMPLE_ROWS,)
    assert rows[0] == 0 and rows[-1] == 10 * _glm_losses.SAMPLE_ROWS + 6
    assert np.all(np.diff(rows) > 0)


def test_the_sample_keeps_no_copy_of_a_small_c_ordered_x():
    X, y, _ = data("logistic")
    loss = make("logistic", X, y, None)
    loss.hessian(np.zeros(loss.n_theta))
    assert np.shares_memory(loss.sample[0], X)


def test_no_sample_is_copied_for_fits_without_newton_steps(monkeypatch):
    from descend.linear_model import _glm_losses as G

    taken = []
    real = G._Linear._taken

    def spy(self):
        taken.append(type(self).__name__)
        return real(self)

    monkeypatch.setattr(G._Linear, "_taken", spy)
    X, y, _ = data("logistic")
    GDClassifier(penalty="l1", alpha=1e-3).fit(X, y)
    GDClassifier(batch_size=100, max_iter=2, tol=None).fit(X, y)
    GDClassifier(lr=0.5, max_iter=5, tol=None).fit(X, y)
    assert taken == []
    GDClassifier().fit(X, y)
    assert taken


def test_a_sample_of_no_weight_falls_back_to_the_majorization_steps():
    X, y, _ = data("logistic", n=400)
    loss = make("logistic", X, y, None)
    loss.take_sample(X[:50], np.zeros(50), picked=True)  # rows whose weights are all 0
    assert loss.newton_ready()  # not known before the rows are taken
    assert loss.hessian(np.zeros(loss.n_theta)) is None and not loss.newton_ready()


@pytest.mark.parametrize("kind", ["logistic", "poisson"])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_null_model_is_the_intercept_only_minimum(kind, weighted):
    X, y, sw = data(kind)
    loss = make(kind, X, y, sw if weighted else None)
    theta, f, g = loss.null_model()
    assert np.count_nonzero(theta[1:]) == 0
    f2, g2 = loss.value_grad(theta)
    assert f == pytest.approx(f2, rel=1e-13)
    np.testing.assert_allclose(g, g2, rtol=1e-9, atol=1e-13)
    assert abs(g[0]) < 1e-13  # the best constant: no gradient along the intercept
    assert make(kind, X, y, None, fit_intercept=False).null_model() is None


def test_no_null_model_for_one_class_or_without_an_intercept():
    X, y, _ = data("logistic")
    assert make("logistic", X, np.ones(len(y)), None).null_model() is None


@pytest.mark.parametrize("weighted", [False, True])
def test_a_sampled_hessian_still_ends_on_the_exact_minimum(monkeypatch, weighted):
    monkeypatch.setattr(_glm_losses, "SAMPLE_ROWS", 200)
    X, y, sw = data("logistic", n=4000, p=6)
    s = sw if weighted else None
    probe = make("logistic", X, y, s)
    probe.hessian(np.zeros(probe.n_theta))
    assert probe.sample[0].shape == (200, 6)
    ours = GDClassifier(alpha=1e-3, tol=1e-10).fit(X, y, sample_weight=s)
    peer = LogisticRegression(C=1 / (1e-3 * (len(y) if s is None else s.sum())), tol=1e-12,
                              max_iter=10_000).fit(X, y, sample_weight=s)
    assert ours.converged_ and ours.n_iter_ <= 40
    np.testing.assert_allclose(ours.coef_, peer.coef_, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours.intercept_, peer.intercept_, rtol=1e-6, atol=1e-7)
    X, y, sw = data("poisson", n=4000, p=6)
    s = sw if weighted else None
    ours = GDRegressor(loss="poisson", alpha=1e-3, tol=1e-10).fit(X, y, sample_weight=s)
    peer = PoissonRegressor(alpha=1e-3, solver="newton-cholesky", tol=1e-12,
                            max_iter=1000).fit(X, y, sample_weight=s)
    assert ours.converged_ and ours.n_iter_ <= 40
    np.testing.assert_allclose(ours.coef_, peer.coef_, rtol=1e-6, atol=1e-7)


def test_partial_fit_takes_the_sample_of_its_rows():
    X, y, _ = data("poisson")
    k = 4
    a = GDRegressor(loss="poisson", max_iter=k, tol=None).fit(X, y)
    b = GDRegressor(loss="poisson", tol=None)
    for _ in range(k):
        b.partial_fit(X, y)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-10, atol=1e-12)


def test_dask_takes_the_same_sample_and_steps(monkeypatch):
    da = pytest.importorskip("dask.array")
    monkeypatch.setattr(_glm_losses, "SAMPLE_ROWS", 150)
    for kind in ("logistic", "poisson"):
        X, y, _ = data(kind, n=1000)
        make_est = ((lambda: GDClassifier(alpha=1e-3, tol=1e-6)) if kind == "logistic"
                    else (lambda: GDRegressor(loss="poisson", alpha=1e-3, tol=1e-6)))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            a = make_est().fit(X, y)
            b = make_est().fit(da.from_array(X, chunks=(300, -1)), da.from_array(y, chunks=300))
        assert a.n_iter_ == b.n_iter_
        np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-8, atol=1e-10)


def test_newton_or_not_is_decided_once_for_partial_fit(monkeypatch):
    # chunks on both sides of the size rule: the first call decides, later calls keep its
    # step policy (whose state the carry holds)
    monkeypatch.setattr(_glm_losses, "_NEWTON_WIDTH", 0)
    monkeypatch.setattr(_glm_losses, "SAMPLE_ROWS", 100)
    X, y, _ = data("logistic", n=9000, p=8)
    for first, later in ((slice(0, 1000), slice(1000, 9000)), (slice(0, 8000), slice(8000, 8500))):
        est = GDClassifier(alpha=1e-3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.partial_fit(X[first], y[first], classes=[0.0, 1.0])
            est.partial_fit(X[later], y[later])
            est.partial_fit(X[first], y[first])
        assert np.all(np.isfinite(est.coef_)) and est.n_iter_ == 3


def test_flat_steps_at_the_resolution_of_a_poisson_loss_with_large_counts():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5000, 3))
    y = rng.poisson(np.exp(7.0 + 0.1 * X @ np.array([1.0, -0.5, 0.3]))).astype(float)
    est = GDRegressor(loss="poisson", alpha=0.0, penalty=None, tol=1e-10).fit(X, y)
    assert est.converged_ and est.n_iter_ <= 10


def test_a_number_as_lr_takes_the_majorization_steps_not_newton():
    X, y, _ = data("logistic")
    est = GDClassifier(lr=1.0, max_iter=30, tol=None).fit(X, y)
    assert np.all(np.diff(est.loss_curve_) <= 1e-15)  # Bohning's bound: never up
    assert est._use_newton is False


def test_a_fitted_model_keeps_no_sample():
    import pickle

    X, y, _ = data("logistic")
    est = GDClassifier().fit(X, y)
    assert est._loss.sample is None and est._loss._sample_source is None
    assert len(pickle.dumps(est)) < 20_000


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_softmax_hessian_products_on_the_sample(weighted, fit_intercept):
    from descend.linear_model._glm_losses import SoftmaxLoss

    rng = np.random.default_rng(4)
    X = rng.standard_normal((2000, 5)) + 1.5
    y = rng.integers(0, 3, 2000)
    sw = rng.random(2000) + 0.5 if weighted else None
    loss = SoftmaxLoss.local(X, y, 3, sw, fit_intercept=fit_intercept)
    assert loss.newton_ready() and loss.hessian(np.zeros(loss.n_theta)) is None
    theta = rng.standard_normal(loss.n_theta) * 0.3
    hv = loss.hessp_at(theta)
    for _ in range(3):
        v = rng.standard_normal(loss.n_theta)
        h = 1e-6
        num = (loss.value_grad(theta + h * v)[1] - loss.value_grad(theta - h * v)[1]) / (2 * h)
        np.testing.assert_allclose(hv(v), num, rtol=1e-6, atol=1e-8 * np.abs(num).max())


def test_newton_cg_solves_to_a_tenth_and_descends():
    from descend.linear_model._solvers import newton_cg

    rng = np.random.default_rng(5)
    A = rng.standard_normal((30, 30))
    H = A @ A.T + 0.1 * np.eye(30)
    g = rng.standard_normal(30)
    d = newton_cg(lambda v: H @ v, g)
    assert np.linalg.norm(H @ d - g) <= 0.1 * np.linalg.norm(g) * (1 + 1e-12)
    assert g @ d > 0
    np.testing.assert_array_equal(newton_cg(lambda v: 0.0 * v, g), g)  # no curvature: g


def test_multinomial_newton_reaches_lbfgs_objective_with_a_sampled_hessian(monkeypatch):
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    monkeypatch.setattr(_glm_losses, "SAMPLE_ROWS", 60)  # of 178 rows
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    alpha = 1e-2

    def objective(est):
        E = X @ est.coef_.T + est.intercept_
        E = E - E.max(axis=1, keepdims=True)
        loss = np.mean(np.log(np.exp(E).sum(axis=1)) - E[np.arange(len(y)), y])
        return loss + 0.5 * alpha * np.sum(est.coef_ ** 2)

    ours = GDClassifier(alpha=alpha, tol=1e-10).fit(X, y)
    peer = LogisticRegression(C=1 / (alpha * len(y)), tol=1e-12, max_iter=10_000).fit(X, y)
    assert ours.converged_ and ours._use_newton
    assert objective(ours) <= objective(peer) * (1 + 1e-10)
    np.testing.assert_allclose(ours.coef_ - ours.coef_.mean(axis=0),
                               peer.coef_ - peer.coef_.mean(axis=0), rtol=1e-5, atol=1e-6)
