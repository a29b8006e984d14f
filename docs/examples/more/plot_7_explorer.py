"""
The explorer: gradient descent in the browser
=============================================

``descend app`` serves an interactive page to see why each optimizer moves the way it does:
type a function (or pick one from the catalog), click a start on the contour map, and step,
play or drag through one optimizer or several racing in distinct colours. It works offline:
plotly.js and MathJax are served by the app itself. The pictures below are taken by the
browser tests (``tests/e2e/test_explorer.py``, Playwright driving chromium, run by
``make test``), which check what each view shows before they photograph it.

.. code-block:: console

    $ descend app --host 127.0.0.1 --port 8050      # then open http://127.0.0.1:8050
    $ descend app --workers 4                       # 4 processes under gunicorn

The whole state is in the URL (for example
``?f=rosenbrock&x0=-1.2,1&methods=gd,momentum&lr=0.001&it=40&view=contour``), so a view can
be shared, bookmarked, or handed to a class.
"""

# %%
# The landscape
# -------------
# ``?f=rosenbrock``: Rosenbrock's function spans about four decades over the view, so the
# colour scale is ``log10(1 + f - min f)``; the axes have equal scales.
#
# .. image:: /app.png
#    :alt: the explorer on Rosenbrock's function with a log colour scale
#
# The forces at the current point
# -------------------------------
# ``?f=paraboloid&methods=gd,momentum,adam&it=4&lr=0.05``: the direction of −∇f (pink),
# each run's next step (its colour), momentum's velocity share (orange) and Adam's plain
# gradient step beside its scaled one (grey).
#
# .. image:: /app-forces.png
#    :alt: arrows for the gradient, the velocity and the scaled step at iteration 4
#
# Optimizers racing
# -----------------
# ``?f=rosenbrock&methods=gd,momentum,adam``, after dragging the learning rate and momentum's
# β: the whole paths are redrawn while the slider moves; the legend gives each run's
# iterations to converge.
#
# .. image:: /app-race.png
#    :alt: gd, momentum and adam racing on Rosenbrock's function
#
# The slope view
# --------------
# The loss of the fitting-a-line tutorial over the slope alone, with the step-size preset
# "too large": a step crosses the minimum and the run still converges (verdict
# ``oscillating``).
#
# .. image:: /app-slope.png
#    :alt: the loss over the slope with a step that overshoots the minimum
#
# Fitting a line
# --------------
# ``?f=regression&view=regression&mb=1&it=300``: the data with the line, the
# (intercept, slope) landscape with the full-batch path and a mini-batch path beside it,
# and the loss.
#
# .. image:: /app-line.png
#    :alt: the toy data with the fitted line, the landscape with two paths, the loss
#
# A function of three variables
# -----------------------------
# ``x**2 + 2*y**2 + 3*z**2``: the contour is a 2-D slice through the current point over the
# two variables picked, with the path projected on it.
#
# .. image:: /app-slice.png
#    :alt: a slice over x and z of a function of three variables
#
# Basins
# ------
# ``?f=himmelblau&lr=0.01&view=basins``: a grid of starts run together by
# :func:`descend.multistart`, each coloured by the minimum it reaches.
#
# .. image:: /app-basins.png
#    :alt: the four basins of Himmelblau's function
#
# On a phone
# ----------
# At phone widths the controls come first, then the view.
#
# .. image:: /app-phone.png
#    :alt: the explorer at 390 pixels wide
#    :width: 300px

# %%
# Serving it yourself
# -------------------
# :func:`descend.app.create_app` builds the Dash app; its ``server`` is a WSGI application,
# which is what ``gunicorn 'descend.app:server'`` serves. :func:`descend.app.serve` is what
# ``descend app`` runs: waitress, threaded, in this process.
from descend.app import create_app

app = create_app()
print(app.title, "|", type(app.server).__module__.split(".")[0], "WSGI app")
