"""
Step sizes: fixed, scheduled, and chosen by the function
========================================================

``lr=`` is the step size. It can be a number, a schedule (a function of the iteration
number, from :mod:`descend.schedules`), or a policy that looks at the function
(:mod:`descend.linesearch`): ``"backtracking"`` (Armijo: halve the step until f decreases
enough, so f never increases), ``"bb"`` (Barzilai-Borwein: a step from the last two
gradients) and ``"auto"`` (one over the local curvature). ``Result.step_sizes`` records the
step each iteration actually took.
"""

# %%
# An ill-conditioned bowl
# -----------------------
# :math:`f = x^2 + 25 y^2` has curvatures 2 and 50: a fixed step must stay below
# 2 / 50 = 0.04, and then the flat direction crawls.
from descend import minimize, plot, schedules

f = "x**2 + 25*y**2"
policies = {
    "fixed 0.035": 0.035,
    "inverse_time(0.035, decay=0.01)": schedules.inverse_time(0.035, decay=0.01),
    "backtracking": "backtracking",
    "bb": "bb",
    "auto": "auto",
}
runs = {name: minimize(f, [4.0, 1.0], lr=lr, max_iter=2000) for name, lr in policies.items()}
for name, r in runs.items():
    print(f"{name:32s} {r.status.value:9s} {r.nit:5d} iterations, {r.njev:5d} gradients")

# %%
fig = plot.contour(f, bounds=((-4.5, 4.5), (-1.5, 1.5)), paths=list(runs.values()),
                   labels=list(runs))
fig.show()

# %%
# The steps taken
# ---------------
# Barzilai-Borwein alternates long and short steps; backtracking settles near the largest
# step that still decreases f; "auto" uses 1/L = 1/50 here.
import plotly.graph_objects as go

fig = go.Figure()
for name, r in runs.items():
    fig.add_trace(go.Scatter(y=r.step_sizes, mode="lines+markers", name=name))
fig.update_layout(title="step size per iteration", xaxis_title="iteration",
                  yaxis_title="step", yaxis_type="log")
fig.show()

# %%
# Schedules
# ---------
# A schedule is any function ``k -> step``; descend provides the usual ones.
for name, schedule in {
    "constant(0.1)": schedules.constant(0.1),
    "inverse_time(0.1, decay=0.5)": schedules.inverse_time(0.1, decay=0.5),
    "exponential_decay(0.1, rate=0.9)": schedules.exponential_decay(0.1, rate=0.9),
    "step_decay(0.1, drop=0.5, every=2)": schedules.step_decay(0.1, drop=0.5, every=2),
    "cosine_decay(0.1, steps=4, final=0.01)": schedules.cosine_decay(0.1, steps=4, final=0.01),
}.items():
    print(f"{name:40s}", [round(schedule(k), 4) for k in range(5)])
