"""Issue 15 for GDRegressor: defaults that converge on real data (scikit-learn's diabetes,
NIST StRD), and scikit-learn's conventions (alpha, sample_weight, multi-output y, warnings
at the caller's line)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize as sp_minimize
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import r2_score

from _nist import CERTIFIED
from _nist import load as load_nist
from descend import GDRegressor
from descend.datasets import slope_line, toy_line
from descend.errors import ConvergenceWarning, UnderdeterminedWarning

X_D, Y_D = load_diabetes(return_X_y=True)


def _rel(a, b) -> float:
    a, b = np.atleast_1d(a), np.atleast_1d(b)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def _quiet_fit(model, X, y, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y, **kw)
    return model, caught


@pytest.mark.parametrize("loss", ["mse", "sse", "rmse"])
def test_diabetes_defaults_equal_linear_regression(loss):
    m, caught = _quiet_fit(GDRegressor(loss=loss), X_D, Y_D)
    ref = LinearRegression().fit(X_D, Y_D)
    assert not caught and m.converged_
    assert _rel(m.coef_, ref.coef_) <= 1e-6
    assert _rel(m.intercept_, ref.intercept_) <= 1e-6
    assert m.loss_curve_.shape == (m.n_iter_ + 1,)


def _huber(theta, X, y, eps):
    r = y - theta[0] - X @ theta[1:]
    a = np.abs(r)
    return float(np.mean(np.where(a <= eps, 0.5 * r * r, eps * a - 0.5 * eps * eps)))


def _huber_grad(theta, X, y, eps):
    r = y - theta[0] - X @ theta[1:]
    psi = np.clip(r, -eps, eps)
    return np.concatenate([[-psi.mean()], -(X.T @ psi) / len(y)])


def test_diabetes_huber_defaults_equal_scipy_on_the_same_objective():
    # sklearn's HuberRegressor fits a scale too (another objective): scipy's BFGS on
    # GDRegressor's mean Huber loss is the peer
    m, caught = _quiet_fit(GDRegressor(loss="huber"), X_D, Y_D)
    ref = sp_minimize(_huber, np.zeros(11), args=(X_D, Y_D, 1.35), jac=_huber_grad,
                      method="BFGS", options={"gtol": 1e-13, "maxiter": 100_000})
    assert not caught and m.converged_
    got = np.concatenate([[m.intercept_], m.coef_])
    assert _rel(got, ref.x) <= 1e-6
    assert _huber(got, X_D, Y_D, 1.35) <= ref.fun * (1 + 1e-12)


def _digits(got: np.ndarray, beta: np.ndarray) -> float:
    err = float(np.max(np.abs(got - beta) / np.abs(beta)))
    return 16.0 if err == 0 else -math.log10(err)


@pytest.mark.parametrize("name", [n for n in CERTIFIED if n != "Filip"])
def test_nist_defaults_reach_lstsq_digits(name):
    X, y, intercept, beta = load_nist(name)
    m, caught = _quiet_fit(GDRegressor(fit_intercept=intercept), X, y)
    got = np.concatenate([[m.intercept_], m.coef_]) if intercept else m.coef_
    A = np.column_stack([np.ones(len(y)), X]) if intercept else X
    lstsq = _digits(np.linalg.lstsq(A, y, rcond=None)[0], beta)
    assert _digits(got, beta) >= min(8.0, lstsq - 0.5)
    assert m.converged_ and not caught


def test_nist_filip_warns_never_a_silent_wrong_answer():
    X, y, _, _ = load_nist("Filip")
    m, caught = _quiet_fit(GDRegressor(), X, y)
    assert not m.converged_
    assert [w.category for w in caught] == [ConvergenceWarning]
    assert "rounding" in str(caught[0].message)


def _sets():
    """Eight data sets on which mse converges with defaults."""
    rng = np.random.default_rng(3)
    out = {"toy_line": (toy_line()[0][:, None], toy_line()[1], True),
           "slope_line": (slope_line()[0][:, None], slope_line()[1], False),
           "diabetes": (X_D, Y_D, True)}
    for name in ("Norris", "Pontius", "Longley", "NoInt1"):
        X, y, intercept, _ = load_nist(name)
        out[name] = (X, y, intercept)
    X = rng.standard_normal((3000, 8)) * rng.uniform(0.5, 20, 8) + rng.uniform(-50, 50, 8)
    out["scaled"] = (X, X @ rng.uniform(-2, 2, 8) + 3.0 + rng.standard_normal(3000), True)
    return out


@pytest.mark.parametrize("name", list(_sets()))
def test_rmse_defaults_converge_where_mse_does(name):
    X, y, intercept = _sets()[name]
    mse, c1 = _quiet_fit(GDRegressor(fit_intercept=intercept), X, y)
    rmse, c2 = _quiet_fit(GDRegressor(loss="rmse", fit_intercept=intercept), X, y)
    assert mse.converged_ and rmse.converged_ and not c1 and not c2
    np.testing.assert_allclose(rmse.coef_, mse.coef_, rtol=1e-7, atol=1e-12)
    r = y - mse.predict(X)
    assert rmse.loss_curve_[-1] == pytest.approx(math.sqrt(float(r @ r) / len(y)), rel=1e-9)


def test_explicit_steps_keep_plain_gd():
    x, y = toy_line()
    a = GDRegressor(method="auto", lr=0.02, max_iter=50, tol=None)
    b = GDRegressor(method="gd", lr=0.02, max_iter=50, tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a.fit(x[:, None], y)
        b.fit(x[:, None], y)
    np.testing.assert_array_equal(a.path_, b.path_)


def test_polished_fit_path_and_result_are_in_working_units():
    X, y, _, _ = load_nist("Wampler1")
    m = GDRegressor().fit(X, y)
    assert m.path_.shape == (m.n_iter_ + 1, 6)
    np.testing.assert_array_equal(m.path_[-1], np.concatenate([[m.intercept_], m.coef_]))
    assert m.result_.nit == m.n_iter_ and m.result_.path.shape[0] == m.n_iter_ + 1


# -- alpha against Ridge -----------------------------------------------------------------

def test_alpha_is_ridge_alpha_over_the_weight_sum():
    rng = np.random.default_rng(0)
    sw = rng.uniform(0.1, 3.0, len(Y_D))
    for weights, total in ((None, len(Y_D)), (sw, sw.sum())):
        m = GDRegressor(alpha=0.01).fit(X_D, Y_D, sample_weight=weights)
        ref = Ridge(alpha=0.01 * total).fit(X_D, Y_D, sample_weight=weights)
        assert _rel(m.coef_, ref.coef_) <= 1e-6
        assert _rel(m.intercept_, ref.intercept_) <= 1e-6


# -- sample_weight -------------------------------------------------------------------------

@pytest.mark.parametrize("loss", ["mse", "sse", "rmse"])
def test_sample_weight_equals_linear_regression(loss):
    sw = np.random.default_rng(1).uniform(0.0, 3.0, len(Y_D))
    m, caught = _quiet_fit(GDRegressor(loss=loss), X_D, Y_D, sample_weight=sw)
    ref = LinearRegression().fit(X_D, Y_D, sample_weight=sw)
    assert not caught and m.converged_
    assert _rel(m.coef_, ref.coef_) <= 1e-6 and _rel(m.intercept_, ref.intercept_) <= 1e-6
    assert m.score(X_D, Y_D, sample_weight=sw) == pytest.approx(
        r2_score(Y_D, ref.predict(X_D), sample_weight=sw), rel=1e-10)


def test_sample_weight_counts_a_row_as_repeated():
    idx = np.random.default_rng(2).integers(0, 3, len(Y_D))
    rows = np.repeat(np.arange(len(Y_D)), idx)
    for loss in ("huber", "mse"):
        a = GDRegressor(loss=loss).fit(X_D, Y_D, sample_weight=idx.astype(float))
        b = GDRegressor(loss=loss).fit(X_D[rows], Y_D[rows])
        assert _rel(a.coef_, b.coef_) <= 1e-6


def test_partial_fit_takes_sample_weight():
    sw = np.random.default_rng(4).uniform(0.5, 2.0, len(Y_D))
    m = GDRegressor()
    for _ in range(30):
        m.partial_fit(X_D, Y_D, sample_weight=sw)
    ref = LinearRegression().fit(X_D, Y_D, sample_weight=sw)
    assert _rel(m.coef_, ref.coef_) <= 1e-6


def test_bad_sample_weight():
    with pytest.raises(ValueError, match="sample_weight"):
        GDRegressor().fit(X_D, Y_D, sample_weight=-np.ones(len(Y_D)))
    with pytest.raises(ValueError, match="sample_weight"):
        GDRegressor().fit(X_D, Y_D, sample_weight=np.ones(3))


# -- multi-output y -------------------------------------------------------------------------

def test_multi_output_equals_linear_regression():
    Y = np.column_stack([Y_D, 2 * Y_D + 100 * X_D[:, 0], np.log(Y_D)])
    m, caught = _quiet_fit(GDRegressor(), X_D, Y)
    ref = LinearRegression().fit(X_D, Y)
    assert not caught and m.converged_
    assert m.coef_.shape == (3, 10) and m.intercept_.shape == (3,)
    assert m.predict(X_D).shape == (len(Y_D), 3)
    assert _rel(m.coef_, ref.coef_) <= 1e-6 and _rel(m.intercept_, ref.intercept_) <= 1e-6
    assert m.score(X_D, Y) == pytest.approx(ref.score(X_D, Y), rel=1e-10)
    assert len(m.loss_curve_) == 3
    one = GDRegressor().fit(X_D, Y_D[:, None])
    assert one.coef_.shape == (1, 10) and one.predict(X_D).shape == (len(Y_D), 1)


# -- warnings at the caller's line ----------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "rows", "category"), [
    ({"method": "gd", "max_iter": 1}, 20, ConvergenceWarning),
    ({"penalty": "l1", "alpha": 0.1, "max_iter": 1}, 20, ConvergenceWarning),
    ({"loss": "huber", "max_iter": 1}, 20, ConvergenceWarning),
    ({"batch_size": 5, "max_iter": 1, "random_state": 0}, 20, ConvergenceWarning),
    ({}, 1, UnderdeterminedWarning),
])
def test_warnings_point_at_the_callers_line(kwargs, rows, category):
    X, y = X_D[:rows, :3], Y_D[:rows]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        GDRegressor(**kwargs).fit(X, y)
        line = __import__("inspect").currentframe().f_lineno - 1
    mine = [w for w in caught if issubclass(w.category, category)]
    assert mine and all(w.filename == __file__ and w.lineno == line for w in mine)
