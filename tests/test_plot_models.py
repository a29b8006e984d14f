"""plot.decision_boundary and plot.coef_path: what the traces hold, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import Lasso

from descend import GDClassifier, GDRegressor, plot
from descend.errors import InvalidArgument, InvalidType
from descend.linear_model import _path


def _trace(fig: go.Figure, name: str):
    return next(t for t in fig.data if t.name == name)


@pytest.fixture(scope="module")
def binary():
    X, y = load_iris(return_X_y=True)
    keep = y > 0
    X2 = pd.DataFrame(X[keep][:, 2:], columns=["petal length", "petal width"])
    y2 = np.where(y[keep] == 2, "virginica", "versicolor")
    return GDClassifier(alpha=0.01).fit(X2, y2), X2, y2


def test_binary_boundary_is_where_the_probability_is_one_half(binary):
    model, X, y = binary
    fig = plot.decision_boundary(model, X, y)
    assert [t.name for t in fig.data] == ["P(virginica)", "boundary (p = 0.5)", "versicolor",
                                          "virginica"]
    line = _trace(fig, "boundary (p = 0.5)")
    pts = pd.DataFrame(np.column_stack([line.x, line.y]), columns=X.columns)
    assert len(pts) > 50
    np.testing.assert_allclose(model.predict_proba(pts)[:, 1], 0.5, atol=1e-9)
    # the points run along the line, in order, across the view
    w, b = model.coef_[0], model.intercept_[0]
    np.testing.assert_allclose(pts.to_numpy() @ w + b, 0.0, atol=1e-8)
    assert np.all(np.diff(line.x) >= 0) or np.all(np.diff(line.x) <= 0)
    surface = _trace(fig, "P(virginica)")
    gx, gy = np.meshgrid(surface.x, surface.y)
    grid = pd.DataFrame(np.column_stack([gx.ravel(), gy.ravel()]), columns=X.columns)
    np.testing.assert_allclose(np.asarray(surface.z).ravel(),
                               model.predict_proba(grid)[:, 1], rtol=1e-12)
    for label in ("versicolor", "virginica"):
        dots = _trace(fig, label)
        np.testing.assert_array_equal(dots.x, X["petal length"][y == label])
    assert fig.layout.xaxis.title.text == "petal length"


def test_multiclass_regions_and_boundaries():
    X, y = load_iris(return_X_y=True)
    X2 = X[:, 2:]
    model = GDClassifier(alpha=0.01).fit(X2, y)
    fig = plot.decision_boundary(model, X2, y, grid=120)
    assert [t.name for t in fig.data] == ["predicted class", "max probability", "boundary",
                                          "0", "1", "2"]
    regions = _trace(fig, "predicted class")
    gx, gy = np.meshgrid(regions.x, regions.y)
    predicted = model.predict(np.column_stack([gx.ravel(), gy.ravel()]))
    np.testing.assert_array_equal(np.asarray(regions.z).ravel(), predicted)
    edge = _trace(fig, "boundary")
    proba = np.sort(model.predict_proba(np.column_stack([edge.x, edge.y])), axis=1)
    np.testing.assert_allclose(proba[:, -1], proba[:, -2], atol=1e-9)  # a tie of the top two


def test_bad_input_names_the_argument(binary):
    model, X, y = binary
    with pytest.raises(InvalidArgument, match="model: this GDClassifier is not fitted"):
        plot.decision_boundary(GDClassifier(), X, y)
    with pytest.raises(InvalidType, match="model: expected a fitted classifier"):
        plot.decision_boundary(GDRegressor().fit(X, np.arange(len(X))), X, y)
    X3, y3 = load_iris(return_X_y=True)
    with pytest.raises(InvalidArgument, match=r"X: decision_boundary draws two features"):
        plot.decision_boundary(model, X3, y3)
    with pytest.raises(InvalidArgument, match="model: fitted on 4 features"):
        plot.decision_boundary(GDClassifier().fit(X3, y3), X3[:, :2], y3)
    with pytest.raises(InvalidArgument, match="y: expected one label per row"):
        plot.decision_boundary(model, X, y[:-1])


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


def test_coef_path_equals_separate_fits_and_lasso(diabetes):
    X, y = diabetes
    est = GDRegressor(penalty="l1", method="auto", tol=1e-10, max_iter=20_000)
    alphas = [2.0, 0.5, 0.1, 0.02]
    fig = plot.coef_path(est, X, y, alphas=alphas)
    assert len(fig.data) == X.shape[1] and fig.layout.xaxis.type == "log"
    values = np.array([t.y for t in fig.data]).T  # (alphas, features)
    np.testing.assert_array_equal(fig.data[0].x, alphas)
    for a, row in zip(alphas, values, strict=True):
        alone = GDRegressor(penalty="l1", method="auto", tol=1e-10, max_iter=20_000,
                            alpha=a).fit(X, y)
        np.testing.assert_array_equal(row, alone.coef_)
        lasso = Lasso(alpha=a, tol=1e-12, max_iter=100_000).fit(X, y)
        np.testing.assert_array_equal(row == 0, lasso.coef_ == 0)  # the same zero pattern
        np.testing.assert_allclose(row, lasso.coef_, rtol=1e-5, atol=1e-3)


def test_coef_path_default_grid_starts_where_every_coefficient_is_zero(diabetes):
    X, y = diabetes
    est = GDRegressor(penalty="l1", method="auto")
    top = _path.alpha_max(est, X, y)
    assert top == pytest.approx(np.max(np.abs((X - X.mean(0)).T @ (y - y.mean()))) / len(y))
    fig = plot.coef_path(est, X, y, n_alphas=6)
    x = np.asarray(fig.data[0].x)
    np.testing.assert_allclose(x, np.geomspace(top, top / 1000, 6), rtol=1e-12)
    first = np.array([t.y[0] for t in fig.data])
    last = np.array([t.y[-1] for t in fig.data])
    assert np.all(first == 0.0) and np.count_nonzero(last) >= 8
    symbols = fig.data[0].marker.symbol
    assert symbols[0] == "circle-open"  # exact zeros are hollow
    just_below = GDRegressor(penalty="l1", method="auto", alpha=0.95 * top).fit(X, y)
    assert np.count_nonzero(just_below.coef_) >= 1  # alpha_max is the edge


def test_coef_path_of_classifiers():
    Xb, yb = load_breast_cancer(return_X_y=True)
    Xb = Xb[:, :6]
    est = GDClassifier(penalty="l1", max_iter=3000)
    fig = plot.coef_path(est, pd.DataFrame(Xb, columns=[f"f{j}" for j in range(6)]), yb,
                         n_alphas=4)
    assert [t.name for t in fig.data] == [f"f{j}" for j in range(6)]
    assert all(t.y[0] == 0.0 for t in fig.data)  # at alpha_max
    X, y = load_iris(return_X_y=True)
    alphas = [0.05, 0.005]
    fig = plot.coef_path(GDClassifier(penalty="elasticnet", l1_ratio=0.5), X, y,
                         alphas=alphas)
    assert len(fig.data) == 12 and fig.data[0].name == "0: x1"
    alone = GDClassifier(penalty="elasticnet", l1_ratio=0.5, alpha=0.005).fit(X, y)
    np.testing.assert_array_equal([t.y[1] for t in fig.data], alone.coef_.ravel())


def test_coef_path_bad_input(diabetes):
    X, y = diabetes
    with pytest.raises(InvalidArgument, match="estimator: penalty None has no path"):
        plot.coef_path(GDRegressor(penalty=None), X, y)
    with pytest.raises(InvalidArgument, match="loss 'mse' or 'poisson'"):
        plot.coef_path(GDRegressor(loss="huber", penalty="l1"), X, y)
    with pytest.raises(InvalidType, match="estimator: expected a GDRegressor or GDClassifier"):
        plot.coef_path(Lasso(), X, y)
    with pytest.raises(InvalidType, match="the class GDRegressor"):
        plot.coef_path(GDRegressor, X, y)
    for bad in ([1.0, -1.0], [1.0, 0.0], [np.nan], []):
        with pytest.raises(InvalidArgument, match="alphas: expected finite numbers > 0"):
            plot.coef_path(GDRegressor(penalty="l1"), X, y, alphas=bad)
    with pytest.raises(InvalidArgument, match="n_alphas: expected an integer >= 2"):
        plot.coef_path(GDRegressor(penalty="l1"), X, y, n_alphas=1)
