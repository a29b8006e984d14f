"""Small synthetic data sets from the source tutorials, reproducible bit for bit.

:func:`toy_line` is the straight line with Gaussian noise of "Get Down with Gradient Descent"
(the fitting-a-line tutorial); :func:`slope_line` is the same recipe through the origin, for
the slope-only model of the slope-view tutorial.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._types import Array
from .errors import InvalidArgument, InvalidType

__all__ = ["slope_line", "toy_line"]

Seed = int | np.random.Generator | None


def toy_line(
    n: int = 50,
    alpha: float = -10.0,
    beta: float = 2.0,
    noise: float = 1.0,
    seed: Seed = 42,
) -> tuple[Array, Array]:
    """Noisy points around the line ``y = alpha + beta * x``, as the seed tutorial makes them.

    The recipe, exactly::

        rng = np.random.default_rng(seed)
        x = np.linspace(0, 10, n)
        y = alpha + beta * x + rng.normal(0, noise, size=x.shape)

    With the defaults this is the tutorial's data set, and 500 gradient-descent steps at learning
    rate 0.02 on the mean squared error from ``(alpha, beta) = (0, 0)`` end at
    ``[-10.07049616, 2.03559051]``.

    Parameters
    ----------
    n : int, default 50
        Number of points, at least 2.
    alpha : float, default -10.0
        Intercept of the true line.
    beta : float, default 2.0
        Slope of the true line.
    noise : float, default 1.0
        Standard deviation of the Gaussian noise added to ``y``; 0 gives points on the line.
    seed : int, numpy.random.Generator or None, default 42
        Seed of ``numpy.random.default_rng`` (or a generator to draw from); None draws fresh
        entropy.

    Returns
    -------
    x : ndarray of shape (n,)
        Evenly spaced from 0 to 10.
    y : ndarray of shape (n,)

    Raises
    ------
    InvalidArgument
        If ``n < 2``, a number is not finite, ``noise < 0`` or ``seed`` is negative.
    InvalidType
        If an argument has the wrong type.

    Examples
    --------
    >>> from descend.datasets import toy_line
    >>> x, y = toy_line()
    >>> x.shape, y.shape
    ((50,), (50,))
    >>> round(float(y[0]), 6)
    -9.695283
    """
    size = _count(n)
    a, b = _finite(alpha, "alpha"), _finite(beta, "beta")
    rng = np.random.default_rng(_seed(seed))
    x = np.linspace(0, 10, size)
    y: Array = a + b * x + rng.normal(0, _noise(noise), size=x.shape)
    return x, y


def slope_line(
    n: int = 50,
    slope: float = 2.0,
    noise: float = 1.0,
    seed: Seed = 42,
) -> tuple[Array, Array]:
    """Noisy points around the line ``y = slope * x`` through the origin (intercept 0).

    Data for the slope-only linear model of the slope view, whose loss is a curve over one
    parameter.
    The recipe is :func:`toy_line`'s with ``alpha = 0``::

        rng = np.random.default_rng(seed)
        x = np.linspace(0, 10, n)
        y = slope * x + rng.normal(0, noise, size=x.shape)

    so ``slope_line(n, s, noise, seed)`` equals ``toy_line(n, 0.0, s, noise, seed)`` exactly.

    Parameters
    ----------
    n : int, default 50
        Number of points, at least 2.
    slope : float, default 2.0
        Slope of the true line.
    noise : float, default 1.0
        Standard deviation of the Gaussian noise added to ``y``; 0 gives points on the line.
    seed : int, numpy.random.Generator or None, default 42
        As in :func:`toy_line`.

    Returns
    -------
    x : ndarray of shape (n,)
        Evenly spaced from 0 to 10.
    y : ndarray of shape (n,)

    Raises
    ------
    InvalidArgument
        If ``n < 2``, a number is not finite, ``noise < 0`` or ``seed`` is negative.
    InvalidType
        If an argument has the wrong type.

    Examples
    --------
    >>> import numpy as np
    >>> from descend.datasets import slope_line
    >>> x, y = slope_line(noise=0.0)
    >>> bool(np.all(y == 2.0 * x))
    True
    """
    return toy_line(n, 0.0, _finite(slope, "slope"), noise, seed)


def _count(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise InvalidType(f"n: expected an integer number of points, got {n!r}", argument="n")
    if n < 2:
        raise InvalidArgument(f"n: expected at least 2 points, got {n}", argument="n")
    return int(n)


def _finite(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidType(f"{name}: expected a real number, got {value!r}", argument=name)
    number = float(value)
    if not math.isfinite(number):
        raise InvalidArgument(f"{name}: expected a finite number, got {value!r}", argument=name)
    return number


def _noise(noise: object) -> float:
    sd = _finite(noise, "noise")
    if sd < 0:
        raise InvalidArgument(
            f"noise: expected a standard deviation >= 0, got {noise!r}", argument="noise"
        )
    return sd


def _seed(seed: object) -> Seed:
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InvalidType(
            f"seed: expected an integer, a numpy Generator or None, got {seed!r}", argument="seed"
        )
    if seed < 0:
        raise InvalidArgument(f"seed: expected an integer >= 0, got {seed}", argument="seed")
    return int(seed)
