"""
GDRegressor: fitting a model from a table
=========================================

:class:`descend.GDRegressor` is a scikit-learn regressor fitted by gradient descent: losses
``mse``, ``sse``, ``rmse`` and ``huber``, an L2 penalty, full batch or mini-batches,
``partial_fit``, and the whole trajectory kept in ``path_`` and ``loss_curve_``.
:func:`descend.read_table` reads a CSV or Parquet file and checks every column.
"""

# %%
# A table on disk
# ---------------
# Three features and a target with a little noise and a few gross outliers.
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from descend import GDRegressor, plot, read_table

rng = np.random.default_rng(0)
X = rng.normal(size=(500, 3))
y = 1.5 + X @ np.array([2.0, -1.0, 0.5]) + rng.normal(0, 0.1, 500)
y[:10] += 30  # ten bad rows
folder = Path(tempfile.mkdtemp())
pd.DataFrame(np.column_stack([X, y]), columns=["a", "b", "c", "y"]).to_csv(
    folder / "data.csv", index=False)

X, y = read_table(folder / "data.csv", target="y")
print(type(X).__name__, X.shape, list(X.columns))

# %%
# Least squares, by gradient descent
# ----------------------------------
# The default ``lr="auto"`` reaches scikit-learn's closed-form answer.
model = GDRegressor().fit(X, y)
print(model.intercept_, model.coef_, model.n_iter_, model.converged_)
exact = LinearRegression().fit(X, y)
print(np.allclose(model.coef_, exact.coef_, rtol=1e-6))

# %%
# A robust loss
# -------------
# The ten outliers pull the squared loss; the Huber loss counts large residuals linearly and
# finds coefficients close to the true (2, -1, 0.5).
robust = GDRegressor(loss="huber", method="nesterov").fit(X, y)
print("mse:  ", model.coef_.round(3))
print("huber:", robust.coef_.round(3))

# %%
fig = plot.loss_curve([model, robust])
fig.show()

# %%
# Mini-batches and partial_fit
# ----------------------------
# ``batch_size`` takes a step per mini-batch; ``partial_fit`` takes one pass over the data it
# is given, so data can arrive in pieces.
stream = GDRegressor(lr=0.05, batch_size=50, random_state=0)
for chunk in np.array_split(np.arange(len(y)), 5):
    stream.partial_fit(X.iloc[chunk], y.iloc[chunk])
print(stream.coef_.round(3), stream.n_iter_)

# %%
# One feature: the landscape and the line
# ---------------------------------------
# With a single feature the fitted model can be drawn as in the fitting-a-line tutorial.
x1 = X["a"].to_numpy()[10:]
y1 = 1.5 + 2.0 * x1 + rng.normal(0, 0.3, x1.size)
one = GDRegressor(lr=0.1, max_iter=200, standardize=False).fit(x1[:, None], y1)
fig = plot.regression_landscape(x1, y1, one)
fig.show()

# %%
# Saving and loading a model
# --------------------------
# :func:`descend.save_model` writes a fitted regressor as JSON (its parameters, feature
# names, exact coefficients); :func:`descend.load_model` checks every field before it builds
# the estimator again, which predicts exactly what the original did. ``descend fit --save``
# and ``descend predict model.json new.csv`` use the same format.
from descend import load_model, save_model

save_model(robust, folder / "robust.json", target="y")
again = load_model(folder / "robust.json")
print(again.feature_names_in_, again.coef_.round(3))
print("same predictions:", np.array_equal(again.predict(X), robust.predict(X)))
