"""
Choosing a step: stopping, starts and learning rates
====================================================

The intuition tutorial explains gradient descent without code: move against the gradient,
updating every coordinate at once; stop after a fixed number of iterations or when f changes
by less than 0.001; where you start decides which valley you end in, so some algorithms try
several starts; and the learning rate can be too small (slow, or stopping too early), too
large (bouncing across the valley) or much too large (diverging). Here each of those claims
is a run you can see.
"""

# %%
# The update rule: both partials first, then both coordinates
# -----------------------------------------------------------
# On :math:`f(x, y) = x^2 + y^2` from (6, -3) with :math:`\alpha = 0.1`, one step computes
# the gradient at the current point and then moves both coordinates together:
# :math:`x \leftarrow x - 0.1 \cdot 2x`, :math:`y \leftarrow y - 0.1 \cdot 2y`.
from descend import functions, minimize, multistart, plot, sweep

one = minimize("x**2 + y**2", [6, -3], lr=0.1, max_iter=1, gtol=None)
print(one.path)

# %%
# Two ways to stop
# ----------------
# Some programs run a fixed number of iterations (``max_iter``, with the gradient test
# switched off by ``gtol=None``); others stop when f changes by less than 0.001 (``ftol``).
fixed = minimize("x**2 + y**2", [6, -3], lr=0.1, max_iter=100, gtol=None)
print(fixed.nit, fixed.x)
by_change = minimize("x**2 + y**2", [6, -3], lr=0.1, ftol=0.001, gtol=None)
print(by_change.message)

# %%
# A step that is too small can also *stop too early*: each step changes f by less than 0.001
# long before the minimum, and the rule reports convergence at a point still far from (0, 0).
early = minimize("x**2 + y**2", [6, -3], lr=0.001, ftol=0.001, gtol=None, max_iter=5000)
print(early.message)
print("stopped at", early.x)

# %%
# Where you start matters
# -----------------------
# :math:`f(x) = x^4 - 3x^2 + x` has a shallow local minimum and a deeper global one. A single
# run goes to whichever valley it starts in.
for start in (-2.0, 2.0):
    r = minimize("x**4 - 3*x**2 + x", [start], lr=0.01, max_iter=2000)
    print(f"start {start:+.1f} -> x = {r.x[0]:.6f}, f = {r.fun:.6f}")

# %%
fig = plot.tangent_1d(None, minimize("x**4 - 3*x**2 + x", [2.0], lr=0.01, max_iter=2000))
fig.show()

# %%
# Multi-start: many starts, one batch
# -----------------------------------
# :func:`descend.multistart` draws starts in a box and runs them all at once as one
# ``(K, p)`` array; ``minima`` groups the ends. On Himmelblau's function, 1000 random starts
# find all four minima.
ms = multistart(functions.get("himmelblau"), 1000, seed=0, lr=0.01)
for m in ms.minima:
    print(f"x = {m.x.round(4)}, f = {m.fun:.2e}, reached by {m.count} starts")

# %%
fig = ms.plot()
fig.show()

# %%
# Learning rates: too small, good, too large, diverging
# -----------------------------------------------------
# :func:`descend.sweep` runs one start at several learning rates (again as one batch) and
# gives each run a verdict. On :math:`f(x) = x^2` the curvature is 2, so steps below 1 = 2/2
# converge, and steps above it diverge.
sw = sweep("x**2", 3.0, [0.001, 0.1, 0.9, 1.1], max_iter=100)
print(sw)

# %%
# 0.001 crawls, 0.1 glides down one side, 0.9 bounces from side to side while it shrinks,
# and 1.1 overshoots further every time until descend calls it diverged.
fig = sw.plot()
fig.show()

# %%
# The same four on a two-dimensional bowl
# ---------------------------------------
# On :math:`x^2 + 10y^2` the steep direction decides: the largest stable step is
# 2 / 20 = 0.1. :func:`descend.suggest_lr` estimates 1/L = 0.05 from the curvature.
from descend import suggest_lr

print(suggest_lr("x**2 + 10*y**2", [1.0, 1.0]))
runs = [minimize("x**2 + 10*y**2", [2.0, 1.0], lr=lr, max_iter=60)
        for lr in (0.005, 0.05, 0.095, 0.105)]
for r in runs:
    print(r.status.value, r.nit)
fig = plot.contour("x**2 + 10*y**2", bounds=((-3, 3), (-2, 2)), paths=runs[:3],
                   labels=["lr 0.005 (too small)", "lr 0.05 (good)", "lr 0.095 (bounces)"])
fig.show()

# %%
# Linear regression is the same problem
# -------------------------------------
# The tutorial ends by noting that fitting a line minimizes the sum of squared residuals over
# (slope, intercept): the :ref:`fitting-a-line tutorial
# <sphx_glr_auto_examples_tutorials_plot_2_fitting_a_line.py>` does exactly that.
