"""
Fitting a line by gradient descent
==================================

The second tutorial trains the linear model :math:`F(x) = \\alpha + \\beta x` by gradient
descent on the mean squared error

.. math::
    L(\\alpha, \\beta) = \\frac{1}{n} \\sum_{i=1}^n \\bigl(y_i - (\\alpha + \\beta x_i)\\bigr)^2

with its two partial derivatives, on toy data around :math:`y = -10 + 2x`; 500 iterations at
learning rate 0.02 from :math:`(0, 0)` end at ``array([-10.07049616,   2.03559051])``. It then
draws the loss per iteration, the loss as a contour map over :math:`(\\alpha, \\beta)` with the
trajectory, and the data with the fitted line. All of it below is computed by descend.
"""

# %%
# Toy data
# --------
# :func:`descend.datasets.toy_line` is the tutorial's recipe, bit for bit:
# ``rng = np.random.default_rng(42)``, ``x = np.linspace(0, 10, 50)``,
# ``y = -10 + 2 * x + rng.normal(0, 1, size=x.shape)``.
import numpy as np
import plotly.graph_objects as go

from descend import datasets, minimize, plot

x, y = datasets.toy_line()
fig = go.Figure(go.Scatter(x=x, y=y, mode="markers", name="data"))
fig.update_layout(title="toy data: y = -10 + 2x + noise", xaxis_title="x", yaxis_title="y")
fig.show()

# %%
# The loss and its gradient
# -------------------------
# The two partials are means over the data:
# :math:`\partial L / \partial \alpha = \frac{1}{n}\sum -2 (y_i - (\alpha + \beta x_i))` and
# :math:`\partial L / \partial \beta = \frac{1}{n}\sum -2 x_i (y_i - (\alpha + \beta x_i))`.


def loss(p):
    return float(np.mean((y - (p[0] + p[1] * x)) ** 2))


def gradient_of_loss(p):
    r = y - (p[0] + p[1] * x)
    return np.array([np.mean(-2 * r), np.mean(-2 * x * r)])


# %%
# 500 iterations at 0.02 from (0, 0)
# ----------------------------------
# ``gtol=None`` switches off descend's own stopping test, so exactly 500 steps are taken, as
# in the tutorial's ``for _ in range(500)`` loop.
res = minimize(loss, [0.0, 0.0], grad=gradient_of_loss, lr=0.02, max_iter=500, gtol=None)
print(repr(res.x))

# %%
# The tutorial's own loop gives the same numbers, to the last bit:
parameters = np.array([0.0, 0.0])
for _ in range(500):
    parameters -= 0.02 * gradient_of_loss(parameters)
print(np.array_equal(parameters, res.x))

# %%
# 500 steps were not quite enough to settle: descend says so, and how far the gradient still
# is from zero.
print(res.message)

# %%
# The loss per iteration
# ----------------------
fig = plot.loss_curve(res)
fig.show()

# %%
# The loss landscape over (alpha, beta), with the trajectory
# -----------------------------------------------------------
# The long, narrow valley is why the path first drops to the valley floor and then crawls
# along it: the loss is far more sensitive to the slope than to the intercept.
fig = plot.regression_landscape(x, y, res)
fig.show()

# %%
# The fitted line
# ---------------
fig = plot.fit_line(x, y, res)
fig.show()

# %%
# The same fit as an estimator
# ----------------------------
# :class:`descend.GDRegressor` fits the same model with scikit-learn's API. With the
# tutorial's settings it takes the same steps (and warns that 500 steps at 0.02 are not
# converged); with its defaults it reaches the least-squares line.
import warnings

from descend import GDRegressor

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    tutorial = GDRegressor(lr=0.02, max_iter=500, tol=None, standardize=False)
    tutorial.fit(x[:, None], y)
print(tutorial.intercept_, tutorial.coef_)
print(caught[0].category.__name__, ":", str(caught[0].message).split(":")[0])

model = GDRegressor().fit(x[:, None], y)
print(model.intercept_, model.coef_, np.polyfit(x, y, 1)[::-1])
