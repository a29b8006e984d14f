"""The figure layer: Result-like objects in, :class:`plotly.graph_objects.Figure` out.

Nothing here runs the loop or imports it: results, multi-starts, sweeps and fitted
estimators are recognized by their attributes. That is what lets ``Result.plot()``
(and the other results' ``plot``) import this package lazily without a cycle. The
public face is :mod:`descend.plot`, which adds the tutorials' gallery.

``landscape``  surface, contour, loss curve, animation, and ``auto`` (the view a run suits)
``views``      the tutorials' views: fitted line, regression landscape, tangent, learning rates
``linear_models``  a classifier's decision boundary; the regularization path (drawn, not fitted)
``traces``     Plotly pieces shared by the figures: colours, paths, notes
``grid``       tracks, view boxes, grids of f values (no Plotly)
``export``     writing figures to HTML, PNG, SVG and PDF
"""

from .landscape import animate, auto, contour, loss_curve, surface
from .views import fit_line, lr_comparison, regression_landscape, tangent_1d

__all__ = [
    "animate", "auto", "contour", "fit_line", "loss_curve", "lr_comparison",
    "regression_landscape", "surface", "tangent_1d",
]
