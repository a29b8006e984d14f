"""
Optimizers racing on Rosenbrock's valley
========================================

``method=`` picks how the gradient becomes a direction: plain gradient descent, momentum and
Nesterov (a velocity that remembers past gradients), or the adaptive methods AdaGrad, RMSProp
and Adam (a step scaled per coordinate). Each is a pair of pure functions in
:mod:`descend.optimizers`, so they all run in the same loop and can race from one start.
"""

# %%
# One start, six methods
# ----------------------
# Rosenbrock's function from its standard start (-1.2, 1): a curved, flat-bottomed valley,
# hard for plain gradient descent. Each method gets the learning rate that suits it.
from descend import functions, minimize, optimizers, plot

f = functions.get("rosenbrock")
settings = {"gd": 0.001, "momentum": 0.001, "nesterov": 0.001, "adagrad": 0.1,
            "rmsprop": 0.001, "adam": 0.1}
runs = {m: minimize(f, f.x0, method=m, lr=lr, max_iter=5000) for m, lr in settings.items()}
for m, r in runs.items():
    print(f"{m:9s} lr={settings[m]:<6g} {r.status.value:9s} after {r.nit:5d} steps, "
          f"f = {r.fun:.3g}")

# %%
# The paths
# ---------
# ``log_scale=True`` colours by the logarithm of f, so the valley floor is visible.
fig = plot.contour(f, paths=list(runs.values()), labels=list(runs), log_scale=True)
fig.show()

# %%
fig = plot.loss_curve(list(runs.values()))
fig.update_layout(showlegend=True)
for trace, name in zip(fig.data, runs, strict=True):
    trace.name = name
fig.show()

# %%
# Watching them move
# ------------------
# :func:`descend.plot.animate` turns runs into Plotly frames with a Play button and a slider.
fig = plot.animate([runs["momentum"], runs["adam"]], f, max_frames=40)
fig.show()

# %%
# Tuning a method
# ---------------
# The names are shortcuts; the constructors take the hyperparameters, and the building blocks
# compose like optax's (``trace``, ``scale_by_adam``, ...).
slow = minimize(f, f.x0, method=optimizers.momentum(beta=0.5), lr=0.001, max_iter=5000)
fast = minimize(f, f.x0, method=optimizers.momentum(beta=0.95), lr=0.001, max_iter=5000)
print(slow.status.value, slow.nit, "|", fast.status.value, fast.nit)
