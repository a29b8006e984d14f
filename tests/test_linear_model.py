"""GDRegressor: seeds 002 and 003, NIST StRD, mini-batches, huber, bad data, sklearn's checks."""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from _nist import load as load_nist
from descend import GDRegressor, linesearch
from descend.datasets import slope_line, toy_line
from descend.errors import ConvergenceWarning, DataError, UnderdeterminedWarning


def closed_form(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    A = np.column_stack([np.ones_like(x), x])
    return np.linalg.lstsq(A, y, rcond=None)[0]


def test_seed_002_plain_gd_iterates():
    x, y = toy_line()
    m = GDRegressor(lr=0.02, max_iter=500, tol=None, standardize=False)
    with pytest.warns(ConvergenceWarning, match="condition number"):
        m.fit(x[:, None], y)  # 500 steps of 0.02 are honestly not converged
    assert m.intercept_ == pytest.approx(-10.07049616, abs=1e-8)
    assert m.coef_ == pytest.approx([2.03559051], abs=1e-8)
    assert m.path_.shape == (501, 2)
    assert m.path_[0].tolist() == [0.0, 0.0]
    assert not m.converged_


def test_defaults_reach_closed_form_fast():
    x, y = toy_line()
    m = GDRegressor().fit(x[:, None], y)
    b, w = closed_form(x, y)
    assert m.converged_ and m.n_iter_ <= 50
    assert m.intercept_ == pytest.approx(b, abs=1e-8)
    assert m.coef_[0] == pytest.approx(w, abs=1e-8)
    assert m.loss_curve_.shape == (m.n_iter_ + 1,)
    assert m.loss_curve_[-1] == pytest.approx(np.mean((y - b - w * x) ** 2), rel=1e-12)


def test_seed_003_slope_only():
    x, y = slope_line()
    m = GDRegressor(fit_intercept=False).fit(x[:, None], y)
    assert m.intercept_ == 0.0
    assert m.coef_[0] == pytest.approx((x @ y) / (x @ x), rel=1e-9)


@pytest.mark.parametrize("loss", ["sse", "rmse"])
def test_other_squared_losses_same_minimizer(loss):
    x, y = toy_line()
    m = GDRegressor(loss=loss).fit(x[:, None], y)
    assert np.allclose([m.intercept_, *m.coef_], closed_form(x, y), atol=1e-7)


def test_ridge_penalty_matches_closed_form():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3)) * [1, 10, 100]
    y = X @ [1.0, -2.0, 0.5] + 3 + rng.normal(size=200)
    alpha = 0.3
    m = GDRegressor(alpha=alpha, method="nesterov", max_iter=20_000).fit(X, y)
    Xc, yc = X - X.mean(0), y - y.mean()
    w = np.linalg.solve(Xc.T @ Xc / 200 + alpha * np.eye(3), Xc.T @ yc / 200)
    assert np.allclose(m.coef_, w, rtol=1e-7)
    assert m.intercept_ == pytest.approx(y.mean() - X.mean(0) @ w, rel=1e-7)


def _digits(m: GDRegressor, intercept: bool, beta: np.ndarray) -> float:
    got = np.concatenate([[m.intercept_], m.coef_]) if intercept else m.coef_
    err = np.max(np.abs(got - beta) / np.abs(beta))
    return math.inf if err == 0 else -math.log10(err)


@pytest.mark.parametrize(
    ("name", "digits"),
    [("Norris", 9), ("NoInt1", 9), ("NoInt2", 9), ("Pontius", 7), ("Longley", 7)],
)
def test_nist_certified_digits(name, digits):
    X, y, intercept, beta = load_nist(name)
    m = GDRegressor(method="nesterov", max_iter=200_000, tol=None, fit_intercept=intercept)
    m.fit(X, y)
    assert _digits(m, intercept, beta) >= digits
    assert m.converged_


@pytest.mark.parametrize("name", ["Filip", "Wampler1", "Wampler2", "Wampler3", "Wampler4",
                                  "Wampler5"])
def test_nist_polynomials_seven_digits_or_a_warning(name):
    X, y, intercept, beta = load_nist(name)
    m = GDRegressor(method="nesterov", max_iter=200_000, tol=None, fit_intercept=intercept)
    with __import__("warnings").catch_warnings(record=True) as caught:
        __import__("warnings").simplefilter("always")
        m.fit(X, y)
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert warned or _digits(m, intercept, beta) >= 7
    assert warned == (not m.converged_)


def _expected_failures(est):
    if est.batch_size is not None:  # repeated rows make other batches than weighted rows
        return {"check_sample_weight_equivalence_on_dense_data":
                "mini-batches draw rows, so a repeated row is not a doubled weight"}
    return {}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::descend.errors.UnderdeterminedWarning")
@parametrize_with_checks([
    GDRegressor(),
    GDRegressor(loss="huber"),
    GDRegressor(method="gd", lr=0.1, max_iter=200),
    GDRegressor(batch_size=10, random_state=0, max_iter=50),
    GDRegressor(method="adam", lr=0.05, batch_size=4, shuffle="blocks", random_state=0,
                max_iter=20),
], expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize(("batch_size", "atol"), [(1, 0.05), (10, 0.05), (50, 1e-6)])
def test_mini_batches_reach_closed_form_within_tolerance(batch_size, atol):
    # Documented tolerance: SGD with the decaying auto step ends within 0.05 of the
    # closed form on toy_line after 200 epochs; batch_size = n is full-batch gd.
    x, y = toy_line()
    m = GDRegressor(batch_size=batch_size, random_state=0, max_iter=200, tol=1e-6)
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore", ConvergenceWarning)
        m.fit(x[:, None], y)
    assert np.allclose([m.intercept_, *m.coef_], closed_form(x, y), atol=atol)
    assert m.path_.shape == (m.n_iter_ + 1, 2)


def test_partial_fit_one_epoch_each():
    x, y = toy_line()
    m = GDRegressor(batch_size=10, random_state=0)
    for _ in range(3):
        m.partial_fit(x[:, None], y)
    assert m.n_iter_ == 3 and m.loss_curve_.shape == (4,)
    assert m.loss_curve_[-1] < m.loss_curve_[0]


def test_huber_resists_outliers_that_pull_mse():
    x, y = toy_line()
    y = y.copy()
    y[-5:] += 60.0  # five wild points at the right end
    X = x[:, None]
    mse = GDRegressor().fit(X, y)
    hub = GDRegressor(loss="huber", max_iter=5000).fit(X, y)
    assert abs(mse.coef_[0] - 2.0) > 1.0
    assert abs(hub.coef_[0] - 2.0) < 0.15 and abs(hub.intercept_ + 10.0) < 0.8


def test_dataframe_names_and_constant_column():
    x, y = toy_line()
    frame = pd.DataFrame({"x": x, "one": 1.0})
    m = GDRegressor().fit(frame, y)
    assert m.feature_names_in_.tolist() == ["x", "one"]
    assert m.coef_[1] == 0.0  # documented: a constant column gets coefficient 0
    assert np.allclose([m.intercept_, m.coef_[0]], closed_form(x, y), atol=1e-8)


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.array([[1.0], [np.nan], [3.0]]), [1, 2, 3], "NaN .* row 1"),
        (np.array([[1.0], [2.0], [np.inf]]), [1, 2, 3], "inf .* row 2"),
        (np.array([[1.0], [2.0], [3.0]]), [1, np.nan, 3], "NaN"),
        (pd.DataFrame({"a": [1.0, 2.0], "s": ["x", "y"]}), [1, 2], "column 's' is not numeric"),
        (np.empty((0, 1)), [], "0 sample"),
        (np.ones((3, 1)), [1, 2], "inconsistent numbers of samples"),
    ],
)
def test_bad_data_clear_errors(X, y, match):
    with pytest.raises(ValueError, match=match):
        GDRegressor().fit(X, np.asarray(y, dtype=float))


def test_bad_parameters():
    with pytest.raises(ValueError, match="loss"):
        GDRegressor(loss="l1").fit(np.ones((3, 1)), [1.0, 2, 3])
    with pytest.raises(ValueError, match="batch_size"):
        GDRegressor(batch_size=0).fit(np.ones((3, 1)), [1.0, 2, 3])
    assert isinstance(DataError("x"), ValueError)


METHODS = ["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]


def _quiet(model, X, y, calls=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if calls is None:
            return model.fit(X, y)
        for _ in range(calls):
            model.partial_fit(X, y)
        return model


@pytest.mark.parametrize("method", METHODS)
def test_one_batch_per_epoch_takes_the_full_batch_iterates(method):
    # Issue 14: momentum took gd's path here, and adam sign steps.
    x, y = toy_line()
    kw = dict(method=method, lr=0.05, max_iter=40, tol=None)
    full = _quiet(GDRegressor(**kw), x[:, None], y)
    mini = _quiet(GDRegressor(batch_size=x.size, shuffle=False, **kw), x[:, None], y)
    np.testing.assert_allclose(mini.path_, full.path_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mini.loss_curve_, full.loss_curve_, rtol=1e-12)
    if method != "gd":
        gd = _quiet(GDRegressor(**{**kw, "method": "gd"}), x[:, None], y)
        assert np.abs(gd.path_ - full.path_).max() > 1e-3


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("batch_size", [None, 7])
def test_k_partial_fits_are_fit_with_max_iter_k(method, batch_size):
    x, y = toy_line()
    kw = dict(method=method, lr=0.02, tol=None, batch_size=batch_size, random_state=4)
    fit = _quiet(GDRegressor(max_iter=12, **kw), x[:, None], y)
    part = _quiet(GDRegressor(**kw), x[:, None], y, calls=12)
    assert part.n_iter_ == fit.n_iter_ == 12
    np.testing.assert_array_equal(part.path_, fit.path_)
    np.testing.assert_array_equal(part.loss_curve_, fit.loss_curve_)


@pytest.mark.parametrize("batch_size", [None, 5])
def test_fitted_estimators_pickle_and_go_on(batch_size):
    x, y = toy_line()
    X = x[:, None]
    a = _quiet(GDRegressor(method="momentum", lr=0.02, batch_size=batch_size, random_state=1,
                           max_iter=3, tol=None), X, y)
    b = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(b.predict(X), a.predict(X))
    _quiet(a, X, y, calls=2)
    _quiet(b, X, y, calls=2)  # the carry (momentum and all) came through the pickle
    np.testing.assert_array_equal(b.path_, a.path_)
    c = _quiet(GDRegressor(batch_size=batch_size, random_state=1), X, y, calls=2)
    pickle.loads(pickle.dumps(c))


def test_auto_is_the_loops_auto_policy():
    x, y = toy_line()
    a = GDRegressor(method="nesterov", max_iter=30, tol=1e-10).fit(x[:, None], y)
    L = a._hess_lip
    b = GDRegressor(method="nesterov", lr=linesearch.Auto(L), max_iter=30,
                    tol=1e-10).fit(x[:, None], y)
    np.testing.assert_array_equal(a.path_, b.path_)
    assert a.result_.step_sizes.tolist() == [1.0 / L] * a.n_iter_


@pytest.mark.parametrize(("rows", "features", "intercept"), [(1, 1, True), (2, 3, False),
                                                              (3, 3, True)])
def test_too_few_rows_warn_that_the_problem_is_underdetermined(rows, features, intercept):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(rows, features)), rng.normal(size=rows)
    with pytest.warns(UnderdeterminedWarning, match=f"{rows} rows? for"):
        _quiet(GDRegressor(fit_intercept=intercept), X, y)
    enough = features + intercept
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnderdeterminedWarning)
        _quiet(GDRegressor(fit_intercept=intercept), rng.normal(size=(enough, features)),
               rng.normal(size=enough))
