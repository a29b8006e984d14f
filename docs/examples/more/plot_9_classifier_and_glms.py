"""
GDClassifier and the generalized linear models
==============================================

:class:`descend.GDClassifier` is logistic regression (binary, or multinomial for more
classes) fitted by gradient descent, a scikit-learn classifier; :class:`descend.GDRegressor`
also fits a Poisson regression (``loss="poisson"``) and the L1 and elastic-net penalties
(``penalty="l1"`` / ``"elasticnet"``) by proximal steps. Each is compared here with its
scikit-learn counterpart on the same data.
"""

# %%
# Logistic regression on the iris flowers
# ---------------------------------------
# ``LogisticRegression(C=C)`` is ``GDClassifier(alpha=1 / (C * n))``: the same minimizer.
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.preprocessing import StandardScaler

from descend import GDClassifier, GDRegressor, plot

X, y = load_iris(return_X_y=True)
X = StandardScaler().fit_transform(X)
n = len(y)
ours = GDClassifier(alpha=1.0 / n).fit(X, y)
theirs = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(X, y)
print("iterations:", ours.n_iter_, "converged:", ours.converged_)
print("accuracy:  ", ours.score(X, y), theirs.score(X, y))
print("largest coefficient difference:", float(np.abs(ours.coef_ - theirs.coef_).max()))
print(ours.predict_proba(X[:3]).round(3))

# %%
# The objective along the fit.
fig = plot.loss_curve([ours])
fig.show()

# %%
# L1: exactly zero coefficients
# -----------------------------
# With ``penalty="l1"`` the proximal step sets coefficients to exactly 0, as scikit-learn's
# ``Lasso`` does, rather than leaving them merely small.
from sklearn.linear_model import Lasso

rng = np.random.default_rng(0)
Xr = rng.normal(size=(400, 10))
yr = Xr[:, :3] @ np.array([3.0, -2.0, 1.0]) + rng.normal(0, 0.5, 400)
lasso = GDRegressor(penalty="l1", alpha=0.1).fit(Xr, yr)
print("descend:", lasso.coef_.round(3))
print("sklearn:", Lasso(alpha=0.1).fit(Xr, yr).coef_.round(3))

# %%
# Poisson regression
# ------------------
# Counts with a log link: ``predict`` returns the mean ``exp(X coef + b)``.
Xp = rng.normal(size=(1000, 3))
counts = rng.poisson(np.exp(0.5 + Xp @ np.array([0.3, -0.2, 0.1])))
pois = GDRegressor(loss="poisson", alpha=1e-3).fit(Xp, counts)
ref = PoissonRegressor(alpha=1e-3, tol=1e-10, max_iter=1000).fit(Xp, counts)
print("descend:", round(pois.intercept_, 4), pois.coef_.round(4))
print("sklearn:", round(float(ref.intercept_), 4), ref.coef_.round(4))
