"""The four tutorials, replayed with descend: printed (``demo``) and drawn (``gallery``).

This package sits above the loop and the figures: it runs descend and draws the
runs. :func:`descend.plot.gallery` and ``descend demo`` are its public faces.
"""
