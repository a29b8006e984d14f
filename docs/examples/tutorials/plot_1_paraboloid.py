"""
The paraboloid: the update rule, 5000 epochs from (6, -3)
=========================================================

The first tutorial walks down the "infinite paraboloid" :math:`f(x, y) = x^2 + y^2` by hand:
it tabulates f on a grid, draws the surface, derives the two partial derivatives, and repeats
the update :math:`p \\leftarrow p - \\alpha \\nabla f(p)` 5000 times with the learning rate
:math:`\\alpha = 0.001`, printing the position every 500 epochs. Here every number and figure
comes from descend, and the printed positions are the tutorial's, digit for digit.
"""

# %%
# The function and a grid of its values
# -------------------------------------
# The catalog holds the paraboloid with its exact gradient; :func:`descend.parse` turns the
# typed formula into the same function. The tutorial tabulates f on the integer grid
# -10..10 and prints the first five rows.
import numpy as np

from descend import functions, minimize, parse, plot

f = functions.get("paraboloid")
xs = list(range(-10, 11))
ys = list(range(-10, 11))
grid = np.array([[x, y] for x in xs for y in ys], dtype=float)
zs = f.fun(grid).reshape(len(xs), len(ys)).astype(int).tolist()
print(f"xs: {xs}\n")
print(f"ys: {ys}\n")
print(f"zs: {zs[:5]} …\n")

# %%
# The surface
# -----------
# The tutorial draws it with ``go.Surface(x=xs, y=ys, z=zs, colorscale='Viridis')``;
# :func:`descend.plot.surface` draws the same surface (finer) and can carry paths.
fig = plot.surface(f, bounds=((-10, 10), (-10, 10)))
fig.show()

# %%
# Partial derivatives
# -------------------
# Holding y constant, :math:`\partial f / \partial x = 2x`; holding x constant,
# :math:`\partial f / \partial y = 2y`. The parser derives them exactly (with SymPy, behind
# an allowlist), and the gradient at a point is the vector of both.
formula = parse("x**2 + y**2")
print({v: str(d) for v, d in zip(formula.variables, formula.partials, strict=True)})
print(formula.grad([6.0, -3.0]))

# %%
# 5000 epochs at 0.001 from (6, -3)
# ---------------------------------
# The tutorial draws a random start that is not the minimum and prints it: ``[6, -3]``.
# Each epoch moves both coordinates at once, ``p = p - 0.001 * grad f(p)``; ``log_every=500``
# prints the position after epochs 0, 500, 1000, ... exactly as the tutorial's loop does.
start = [6, -3]
print(start)
res = minimize(f, start, lr=0.001, max_iter=5000, gtol=None, log_every=500)
print(f"Best guess for a minimum: {res.x.tolist()}")

# %%
# descend also says how the run ended: it was stopped by the epoch budget, not because the
# gradient vanished.
print(res.message)

# %%
# The path on the surface and on the contour map
# ----------------------------------------------
# Every point visited is kept in ``res.path`` (5001 points here), so the walk can be drawn.
fig = plot.surface(f, bounds=((-10, 10), (-10, 10)), paths=res)
fig.show()

# %%
fig = plot.contour(f, paths=res)
fig.show()

# %%
# The loss along the way
# ----------------------
# On this paraboloid each step multiplies the point by ``1 - 2 * 0.001 = 0.998``, so f falls
# by the same factor squared every epoch: a straight line on a log scale.
fig = plot.loss_curve(res)
fig.show()
