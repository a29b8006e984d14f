r"""Penalties of the linear models: the smooth L2 part and the proximal steps.

The penalty on the coefficients in original units is scikit-learn's elastic net

.. math::

   \alpha \left(\rho \lVert \beta \rVert_1
   + \tfrac{1 - \rho}{2} \lVert \beta \rVert_2^2\right),

``rho = l1_ratio`` (1: lasso, 0: ridge), the intercept never penalized. In the
working parameters ``v = beta * s`` of :class:`descend.linear_model._losses.Scaling`
it stays separable, with per-coordinate weights ``l1_j = alpha rho / s_j`` and
``l2_j = alpha (1 - rho) / s_j**2``; :class:`Penalty` holds them over the whole
parameter vector (zeros at the intercepts), so a loop treats every loss alike:
the L2 part as a gradient term (:meth:`Penalty.smooth`), the L1 part by the
proximal step (:func:`soft_threshold`), or both in one step
(:func:`elastic_net_prox`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._types import Array
from ._losses import Scaling

__all__ = ["Penalty", "elastic_net_prox", "soft_threshold"]


def soft_threshold(x: Array, t: Array | float) -> Array:
    """``sign(x) max(|x| - t, 0)``: the proximal map of ``t |x|`` (exact zeros in ``[-t, t]``)."""
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


def elastic_net_prox(x: Array, t1: Array | float, t2: Array | float) -> Array:
    """The proximal map of ``t1 |x| + t2 x^2 / 2``: soft-threshold, then divide by ``1 + t2``."""
    return soft_threshold(x, t1) / (1.0 + np.asarray(t2))


@dataclass(frozen=True)
class Penalty:
    """Elastic-net weights over the working parameters ``theta`` (flat, ``shape`` rows).

    Build it with :meth:`make`. ``l1`` and ``l2`` have ``theta``'s size.
    """

    alpha: float
    l1_ratio: float
    l1: Array
    l2: Array

    @classmethod
    def make(cls, alpha: float, l1_ratio: float, sc: Scaling, n_outputs: int = 1) -> Penalty:
        """Weights for ``n_outputs`` rows of ``(intercept?, v)`` in ``sc``'s units."""
        inv = 1.0 / sc.scale
        head = np.zeros(int(sc.fit_intercept))
        one1 = np.concatenate([head, alpha * l1_ratio * inv])
        one2 = np.concatenate([head, alpha * (1.0 - l1_ratio) * inv**2])
        return cls(float(alpha), float(l1_ratio), np.tile(one1, n_outputs),
                   np.tile(one2, n_outputs))

    @property
    def has_l1(self) -> bool:
        return bool(self.alpha > 0 and self.l1_ratio > 0)

    @property
    def l2_max(self) -> float:
        """The curvature the L2 part adds (to a loss's bound)."""
        return float(self.l2.max()) if self.l2.size else 0.0

    def value(self, theta: Array) -> float:
        """The whole penalty at ``theta``."""
        return float(self.l1 @ np.abs(theta) + 0.5 * (self.l2 @ (theta * theta)))

    def smooth(self, theta: Array) -> tuple[float, Array]:
        """Value and gradient of the L2 part."""
        g = self.l2 * theta
        return 0.5 * float(g @ theta), g

    def prox_l1(self, theta: Array, step: float) -> Array:
        """The proximal step of the L1 part (L2 handled as a gradient term)."""
        return soft_threshold(theta, step * self.l1)

    def prox(self, theta: Array, step: float) -> Array:
        """The proximal step of the whole penalty."""
        return elastic_net_prox(theta, step * self.l1, step * self.l2)
