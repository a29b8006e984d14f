"""GDRegressor: seeds 002 and 003, NIST StRD, mini-batches, huber, bad data, sklearn's checks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from descend import GDRegressor
from descend.datasets import slope_line, toy_line
from descend.errors import ConvergenceWarning

NIST = Path(__file__).resolve().parent / "data" / "nist"
CERTIFIED = json.loads((NIST / "certified.json").read_text())


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


def _nist(name: str):
    spec = CERTIFIED[name]
    frame = pd.read_csv(NIST / f"{name}.csv")
    if spec["degree"] > 1:
        x = frame["x"].to_numpy()
        X = np.column_stack([x**k for k in range(1, spec["degree"] + 1)])
    else:
        X = frame[spec["predictors"]].to_numpy(dtype=float)
    beta = np.array(spec["certified_beta"])
    return X, frame["y"].to_numpy(dtype=float), spec["intercept"], beta


def _digits(m: GDRegressor, intercept: bool, beta: np.ndarray) -> float:
    got = np.concatenate([[m.intercept_], m.coef_]) if intercept else m.coef_
    err = np.max(np.abs(got - beta) / np.abs(beta))
    return math.inf if err == 0 else -math.log10(err)


@pytest.mark.parametrize(
    ("name", "digits"),
    [("Norris", 9), ("NoInt1", 9), ("NoInt2", 9), ("Pontius", 7), ("Longley", 7)],
)
def test_nist_certified_digits(name, digits):
    X, y, intercept, beta = _nist(name)
    m = GDRegressor(method="nesterov", max_iter=200_000, tol=None, fit_intercept=intercept)
    m.fit(X, y)
    assert _digits(m, intercept, beta) >= digits
    assert m.converged_


@pytest.mark.parametrize("name", ["Filip", "Wampler1", "Wampler2", "Wampler3", "Wampler4",
                                  "Wampler5"])
def test_nist_polynomials_seven_digits_or_a_warning(name):
    X, y, intercept, beta = _nist(name)
    m = GDRegressor(method="nesterov", max_iter=200_000, tol=None, fit_intercept=intercept)
    with __import__("warnings").catch_warnings(record=True) as caught:
        __import__("warnings").simplefilter("always")
        m.fit(X, y)
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert warned or _digits(m, intercept, beta) >= 7
    assert warned == (not m.converged_)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([GDRegressor()])
def test_sklearn_compatible(estimator, check):
    check(estimator)
