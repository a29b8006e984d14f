"""
The explorer: gradient descent in the browser
=============================================

``descend app`` serves an interactive page: type a function (or pick one from the catalog),
click a start on the contour map, and step or run one optimizer or several racing in
distinct colours. It works offline: plotly.js and MathJax are served by the app itself. The
pictures below were taken by the browser tests (``tests/e2e/test_screenshots.py``) from the
URLs shown, on the build that made this page.

.. code-block:: console

    $ descend app --host 127.0.0.1 --port 8050      # then open http://127.0.0.1:8050
    $ descend app --workers 4                       # 4 processes under gunicorn

The whole state is in the URL, so a view can be shared, bookmarked, or handed to a class.
"""

# %%
# Optimizers racing
# -----------------
# ``?f=rosenbrock&x0=-1.2,1&methods=gd,momentum,adam&lr=0.001&it=1000&view=contour``
#
# .. image:: /_screenshots/explorer-race.png
#    :alt: gd, momentum and adam after 1000 iterations on Rosenbrock's function
#
# The 3-D surface
# ---------------
# ``?f=himmelblau&x0=-0.5,0&methods=gd&lr=0.01&it=100&view=surface``
#
# .. image:: /_screenshots/explorer-surface.png
#    :alt: a gradient-descent path on Himmelblau's surface
#
# The slope view, one step at a time
# ----------------------------------
# ``?f=regression&view=tangent&p1d=too_large&it=3``: a step too large jumps across the
# minimum.
#
# .. image:: /_screenshots/explorer-slope.png
#    :alt: the loss over the slope with three steps and their tangents
#
# Fitting a line
# --------------
# ``?f=regression&x0=0,0&methods=gd&lr=0.02&it=500&view=regression``
#
# .. image:: /_screenshots/explorer-regression.png
#    :alt: the data with the fitted line, the loss landscape and the loss curve
#
# Learning rates compared
# -----------------------
# ``?f=paraboloid&view=sweep``
#
# .. image:: /_screenshots/explorer-rates.png
#    :alt: small multiples of runs at several learning rates

# %%
# Serving it yourself
# -------------------
# :func:`descend.app.create_app` builds the Dash app; its ``server`` is a WSGI application,
# which is what ``gunicorn 'descend.app:server'`` serves.
from descend.app import create_app

app = create_app()
print(app.title, "|", type(app.server).__module__.split(".")[0], "WSGI app")
