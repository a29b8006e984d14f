"""GDClassifier and GDRegressor's GLM fits (Poisson, L1, elastic net) against scikit-learn.

The mapping checked: our mean loss plus ``alpha (l1_ratio ||w||_1 + (1 - l1_ratio) / 2
||w||^2)`` is ``LogisticRegression(C)``'s objective divided by ``C sum(s)``, so
``alpha = 1 / (C n)``; GDRegressor's mse / Poisson objectives are twice ``Lasso`` /
``ElasticNet`` / ``PoissonRegressor``'s at the same ``alpha``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn import datasets
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, PoissonRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from descend import GDClassifier, GDRegressor
from descend.errors import ConvergenceWarning, DataError, InvalidArgument


def load(name: str):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return np.ascontiguousarray(X, dtype=np.float64), y


def agree(ours, theirs, rtol: float = 1e-6) -> None:
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * np.abs(theirs).max())


def log_objective(X, y, coef, b, alpha, l1_ratio=0.0, sw=None):
    Z = X @ np.atleast_2d(coef).T + b
    if Z.shape[1] == 1:
        Z = np.column_stack([np.zeros(len(y)), Z[:, 0]])
    losses = logsumexp(Z, axis=1) - Z[np.arange(len(y)), y]
    w = np.ones(len(y)) if sw is None else sw
    pen = alpha * (l1_ratio * np.abs(coef).sum() + 0.5 * (1 - l1_ratio) * np.sum(coef**2))
    return float(w @ losses / w.sum() + pen)


# ------------------------------------------------------------------ logistic, L2 / none
@pytest.mark.parametrize(("name", "C", "weighted"), [
    ("breast_cancer", 1.0, False), ("breast_cancer", 0.05, True), ("diabetes", None, False)])
def test_binary_equals_logistic_regression(name, C, weighted):
    X, y = load(name)
    if name == "diabetes":  # binarized: not separable, so no penalty has a minimum
        y = (y > np.median(y)).astype(int)
    sw = np.random.default_rng(0).uniform(0.2, 2.0, len(y)) if weighted else None
    if C is None:
        clf = GDClassifier(penalty=None, tol=1e-10, max_iter=20_000).fit(X, y)
        sk = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12,
                                max_iter=1000).fit(X, y)
    else:
        alpha = 1.0 / (C * (len(y) if sw is None else sw.sum()))
        clf = GDClassifier(alpha=alpha, tol=1e-10, max_iter=20_000).fit(X, y, sample_weight=sw)
        sk = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12,
                                max_iter=1000).fit(X, y, sample_weight=sw)
    assert clf.converged_ and not clf.separable_
    assert clf.coef_.shape == (1, X.shape[1]) and clf.intercept_.shape == (1,)
    agree(clf.coef_, sk.coef_)
    agree(clf.intercept_, sk.intercept_)
    agree(clf.predict_proba(X), sk.predict_proba(X), 1e-7)


@pytest.mark.parametrize(("name", "C"), [("iris", 1.0), ("wine", 0.5), ("digits", 0.1)])
def test_multinomial_equals_logistic_regression(name, C):
    X, y = load(name)
    clf = GDClassifier(alpha=1.0 / (C * len(y)), tol=1e-12, max_iter=50_000).fit(X, y)
    sk = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, y)
    assert clf.converged_
    assert clf.coef_.shape == (len(np.unique(y)), X.shape[1])
    agree(clf.coef_, sk.coef_)
    agree(clf.intercept_, sk.intercept_)


def test_separable_data_ends_honestly():
    X, y = load("iris")
    keep = y < 2  # setosa against versicolor: separable
    with pytest.warns(ConvergenceWarning, match="grow without bound"):
        clf = GDClassifier(penalty=None, max_iter=300).fit(X[keep], y[keep])
    assert clf.separable_ and not clf.converged_
    assert np.all(np.isfinite(clf.coef_)) and np.linalg.norm(clf.coef_) < 1e6
    assert clf.score(X[keep], y[keep]) == 1.0
    # with a penalty the same data has a minimum, reached
    ok = GDClassifier(penalty="l2", alpha=1e-3).fit(X[keep], y[keep])
    assert ok.converged_ and not ok.separable_


# ------------------------------------------------------------------ the estimator API
def test_labels_probabilities_and_scores():
    X, y = load("iris")
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = GDClassifier(alpha=0.01).fit(X, names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    P = clf.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), P, rtol=1e-12)
    assert (clf.predict(X) == clf.classes_[P.argmax(axis=1)]).all()
    assert clf.score(X, names) > 0.9
    assert clf.path_.shape == (clf.n_iter_ + 1, 3, 5)
    assert clf.loss_curve_.shape == (clf.n_iter_ + 1,)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_partial_fit_continues_the_run():
    X, y = load("breast_cancer")
    k = 7
    a = GDClassifier(alpha=1e-3, max_iter=k, tol=None).fit(X, y)
    b = GDClassifier(alpha=1e-3)
    for _ in range(k):
        b.partial_fit(X, y, classes=[0, 1])
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-10, atol=1e-12)
    b = pickle.loads(pickle.dumps(b))
    b.partial_fit(X, y)
    assert b.n_iter_ == k + 1
    with pytest.raises(InvalidArgument, match="classes"):
        GDClassifier().partial_fit(X, y)


def test_minibatches_and_class_weight():
    X, y = load("breast_cancer")
    clf = GDClassifier(alpha=1e-3, batch_size=32, max_iter=30, random_state=0,
                       tol=None).fit(X, y)
    assert clf.score(X, y) > 0.95
    bal = GDClassifier(alpha=1e-3, class_weight="balanced").fit(X, y)
    cw = np.bincount(y)
    sw = (len(y) / (2 * cw))[y]
    ref = GDClassifier(alpha=1e-3).fit(X, y, sample_weight=sw)
    agree(bal.coef_, ref.coef_, 1e-9)
    pickle.loads(pickle.dumps(clf))


def test_bad_input_is_named():
    X, y = load("iris")
    with pytest.raises(DataError, match="at least 2 classes"):
        GDClassifier().fit(X, np.zeros(len(y)))
    with pytest.raises(InvalidArgument, match="penalty"):
        GDClassifier(penalty="l3").fit(X, y)
    with pytest.raises(InvalidArgument, match="loss"):
        GDClassifier(loss="hinge").fit(X, y)
    with pytest.raises(InvalidArgument, match="l1_ratio"):
        GDClassifier(penalty="elasticnet", l1_ratio=2.0).fit(X, y)


def _expected_failures(est):
    if est.batch_size is not None:  # repeated rows make other batches than weighted rows
        return {"check_sample_weight_equivalence_on_dense_data":
                "mini-batches draw rows, so a repeated row is not a doubled weight"}
    return {}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([
    GDClassifier(),
    GDClassifier(penalty="l1", alpha=0.01),
    GDClassifier(batch_size=10, random_state=0, max_iter=20),
], expected_failed_checks=_expected_failures)
def test_sklearn_compatible_classifier(estimator, check):
    check(estimator)


# ------------------------------------------------------------------ L1 and elastic net
def test_logistic_l1_equals_saga_in_objective():
    X, y = load("breast_cancer")
    C = 0.5
    alpha = 1.0 / (C * len(y))
    clf = GDClassifier(penalty="l1", alpha=alpha, tol=1e-10, max_iter=50_000).fit(X, y)
    Xs = (X - X.mean(0)) / X.std(0)  # saga needs scaled columns to converge
    ours = GDClassifier(penalty="l1", alpha=alpha, tol=1e-10, max_iter=50_000).fit(Xs, y)
    sk = LogisticRegression(l1_ratio=1.0, C=C, solver="saga", tol=1e-10,
                            max_iter=100_000).fit(Xs, y)
    f_ours = log_objective(Xs, y, ours.coef_[0], ours.intercept_[0], alpha, 1.0)
    f_sk = log_objective(Xs, y, sk.coef_[0], sk.intercept_[0], alpha, 1.0)
    assert abs(f_ours - f_sk) <= 1e-6 * abs(f_sk)
    np.testing.assert_array_equal(ours.coef_ == 0, np.abs(sk.coef_) < 1e-8)
    assert (clf.coef_ == 0).sum() > 0  # exact zeros on the raw columns too


def ls_objective(X, y, coef, b, alpha, l1_ratio):
    r = y - X @ coef - b
    return float(0.5 * np.mean(r * r) + alpha * (l1_ratio * np.abs(coef).sum()
                                                + 0.5 * (1 - l1_ratio) * coef @ coef))


@pytest.mark.parametrize(("penalty", "alpha", "l1_ratio"), [
    ("l1", 0.1, 1.0), ("l1", 1.0, 1.0), ("elasticnet", 0.3, 0.5)])
def test_lasso_and_elastic_net(penalty, alpha, l1_ratio):
    X, y = load("diabetes")
    m = GDRegressor(penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, method="auto",
                    tol=1e-12, max_iter=100_000).fit(X, y)
    est = Lasso(alpha=alpha, tol=1e-14, max_iter=1_000_000) if penalty == "l1" else \
        ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=1_000_000)
    est.fit(X, y)
    assert m.converged_
    f_ours = ls_objective(X, y, m.coef_, m.intercept_, alpha, l1_ratio)
    f_sk = ls_objective(X, y, est.coef_, est.intercept_, alpha, l1_ratio)
    assert abs(f_ours - f_sk) <= 1e-6 * abs(f_sk)
    np.testing.assert_array_equal(m.coef_ == 0, est.coef_ == 0)
    assert (m.coef_ == 0).any()
    np.testing.assert_allclose(m.loss_curve_[-1], 2 * f_ours, rtol=1e-9)


# ------------------------------------------------------------------ Poisson
@pytest.mark.parametrize("alpha", [1.0, 0.01])
def test_poisson_equals_poisson_regressor(alpha):
    X, y = load("diabetes")
    y = np.round(y / 25.0)  # counts
    m = GDRegressor(loss="poisson", alpha=alpha, method="auto", tol=1e-8,
                    max_iter=100_000).fit(X, y)
    sk = PoissonRegressor(alpha=alpha, solver="newton-cholesky", tol=1e-12,
                          max_iter=1000).fit(X, y)
    assert m.converged_
    agree(m.coef_, sk.coef_)
    agree(m.intercept_, sk.intercept_)
    agree(m.predict(X), sk.predict(X), 1e-7)


# ------------------------------------------------------------------ Dask
def test_dask_fits_equal_in_memory():
    da = pytest.importorskip("dask.array")
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    X, y = load("breast_cancer")
    a = GDClassifier(alpha=1e-3, tol=1e-10).fit(X, y)
    b = GDClassifier(alpha=1e-3, tol=1e-10).fit(da.from_array(X, chunks=(100, -1)),
                                                da.from_array(y, chunks=100))
    agree(b.coef_, a.coef_, 1e-8)
    X, y = load("iris")
    df = pd.DataFrame(X, columns=list("abcd")).assign(y=y)
    ddf = dd.from_pandas(df, npartitions=3)
    a = GDClassifier(alpha=1e-3, tol=1e-10).fit(df[list("abcd")], y)
    b = GDClassifier(alpha=1e-3, tol=1e-10).fit(ddf[list("abcd")], ddf["y"])
    agree(b.coef_, a.coef_, 1e-8)
    X, y = load("diabetes")
    for kw, target in [({"loss": "poisson", "alpha": 0.01}, np.round(y / 25)),
                       ({"penalty": "l1", "alpha": 0.1}, y)]:
        a = GDRegressor(method="auto", tol=1e-10, **kw).fit(X, target)
        b = GDRegressor(method="auto", tol=1e-10, **kw).fit(
            da.from_array(X, chunks=(100, -1)), da.from_array(target, chunks=100))
        agree(b.coef_, a.coef_, 1e-8)
        np.testing.assert_array_equal(a.coef_ == 0, b.coef_ == 0)


def test_readme_glm_example_runs():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("### Classification, counts and sparse coefficients", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # our own README
    assert scope["clf"].converged_ and scope["lasso"].converged_
    assert (scope["sparse"].coef_ == 0).any() and scope["poisson"].converged_
    ref = Lasso(alpha=0.1).fit(scope["Xd"], scope["yd"])
    np.testing.assert_array_equal(scope["lasso"].coef_ == 0, ref.coef_ == 0)
