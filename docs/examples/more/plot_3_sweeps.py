"""
Learning-rate sweeps and a suggested step
=========================================

:func:`descend.sweep` runs the same start at many learning rates as one batch and labels each
run ``too_small``, ``good``, ``oscillating`` or ``diverged``; :func:`descend.suggest_lr`
estimates a safe step from the curvature before any run.
"""

# %%
# A suggestion first
# ------------------
# On a quadratic the largest stable fixed step is 2/L, with L the largest curvature; the
# suggestion is 1/L. For :math:`x^2 + 10y^2`, L = 20.
import numpy as np

from descend import minimize, suggest_lr, sweep

f = "x**2 + 10*y**2"
print(suggest_lr(f, [2.0, 1.0]))

# %%
# Twelve learning rates in one batch
# ----------------------------------
lrs = np.geomspace(1e-3, 0.2, 12)
sw = sweep(f, [2.0, 1.0], lrs, max_iter=300)
for row in sw.table():
    print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()})

# %%
# One small panel per rate, titled with its verdict.
fig = sw.plot()
fig.show()

# %%
# The same answers one run at a time
# ----------------------------------
# The batch takes the same steps as separate calls to :func:`descend.minimize`.
single = minimize(f, [2.0, 1.0], lr=lrs[5], max_iter=300)
print(single.status == sw.results[5].status, single.nit == sw.results[5].nit,
      np.allclose(single.x, sw.results[5].x))
