"""
The slope view: one parameter, one step at a time
=================================================

The third tutorial fixes the intercept of a line at 0, so the loss depends on the slope
alone and can be drawn as a curve. A point slides along it; the gradient (here the
derivative) is drawn as the tangent; each press of *Step* moves the slope against it. With a
chosen step size you see the three behaviours: too small (slow), good, and too large (the
point overshoots to the other side of the minimum). Here the curve, the points and the
tangents come from descend; :doc:`the explorer </guide/howto_explorer>` makes the same view
interactive.
"""

# %%
# The loss over the slope
# -----------------------
# For :math:`F(x) = m x` the mean squared error is a parabola in :math:`m`:
# :math:`L(m) = \overline{x^2}\, m^2 - 2\, \overline{xy}\, m + \overline{y^2}`.
# Its curvature is :math:`L'' = 2\overline{x^2}`, so a fixed step converges when it is below
# :math:`2 / L'' = 1 / \overline{x^2}`.
from descend import datasets, minimize, plot

x, y = datasets.slope_line()
n = len(x)
sxx, sxy, syy = float(x @ x) / n, float(x @ y) / n, float(y @ y) / n
loss = f"{sxx}*m**2 - 2*{sxy}*m + {syy}"
print(f"best slope {sxy / sxx:.6f}; largest stable step {1 / sxx:.5f}")

# %%
# Too small, good, too large, diverging
# -------------------------------------
# The same five steps from slope 0 at four step sizes (fractions of the stable limit
# :math:`2/L''`).
steps = {"too small": 0.05, "good": 0.35, "too large": 0.95, "diverging": 1.1}
runs = {}
for label, fraction in steps.items():
    lr = fraction * 2 / (2 * sxx)
    runs[label] = minimize(loss, [0.0], variables="m", lr=lr, max_iter=5, gtol=None)
    slopes = ", ".join(f"{m:.4f}" for m in runs[label].path[:, 0])
    print(f"step {lr:.5f} ({label}): slope {slopes}")

# %%
# Too small: every step goes the right way but covers little of the distance.
fig = plot.tangent_1d(None, runs["too small"])
fig.show()

# %%
# Good: most of the way in the first step, then small corrections.
fig = plot.tangent_1d(None, runs["good"])
fig.show()

# %%
# Too large: the point jumps across the minimum each time, landing a little closer.
fig = plot.tangent_1d(None, runs["too large"])
fig.show()

# %%
# Diverging: each jump lands further out, and the loss grows.
fig = plot.tangent_1d(None, runs["diverging"])
fig.show()

# %%
# Fixed steps and steps that adapt
# --------------------------------
# The tutorial mentions that some methods vary the step with the gradient. A backtracking
# line search starts from a large trial step and halves it until f decreases enough, so
# even a start with a step far too large converges, and f never goes up.
fixed = minimize(loss, [0.0], variables="m", lr=1.5 / sxx, max_iter=20)
adaptive = minimize(loss, [0.0], variables="m", lr="backtracking", max_iter=20)
print(fixed.message)
print(adaptive.message)
print(adaptive.step_sizes[:4])
