"""The catalog's mathematics: vectorized values, exact gradients and formula texts.

Each core takes a float64 array of shape ``(..., p)`` and returns ``(...)`` (value) or
``(..., p)`` (gradient); no validation here, :mod:`descend.functions` does it. Definitions follow
Wikipedia's "Test functions for optimization"; the gradients are derived by hand and tested
against finite differences and SymPy.
"""

from __future__ import annotations

import math

import numpy as np

from ._types import Array

# --- vectorized cores on (..., p) arrays ---------------------------------------------------


def paraboloid(x: Array) -> Array:
    # Two columns added, not np.sum(..., axis=-1): that reduction over a length-2 axis
    # costs ~40 ns a row in NumPy 2.4 (the same number: one addition either way).
    a, b = x[..., 0], x[..., 1]
    out: Array = a * a + b * b
    return out


def paraboloid_grad(x: Array) -> Array:
    return 2.0 * x


def rosenbrock(x: Array) -> Array:
    a, b = x[..., 0], x[..., 1]
    return (1.0 - a) ** 2 + 100.0 * (b - a * a) ** 2


def rosenbrock_grad(x: Array) -> Array:
    a, b = x[..., 0], x[..., 1]
    inner = b - a * a
    return np.stack([-2.0 * (1.0 - a) - 400.0 * a * inner, 200.0 * inner], axis=-1)


def himmelblau(x: Array) -> Array:
    a, b = x[..., 0], x[..., 1]
    return (a * a + b - 11.0) ** 2 + (a + b * b - 7.0) ** 2


def himmelblau_grad(x: Array) -> Array:
    a, b = x[..., 0], x[..., 1]
    u, v = a * a + b - 11.0, a + b * b - 7.0
    return np.stack([4.0 * a * u + 2.0 * v, 2.0 * u + 4.0 * b * v], axis=-1)


def beale_terms(x: Array) -> tuple[Array, Array, Array, Array, Array]:
    a, b = x[..., 0], x[..., 1]
    t1 = 1.5 - a + a * b
    t2 = 2.25 - a + a * b**2
    t3 = 2.625 - a + a * b**3
    return a, b, t1, t2, t3


def beale(x: Array) -> Array:
    _, _, t1, t2, t3 = beale_terms(x)
    return t1**2 + t2**2 + t3**2


def beale_grad(x: Array) -> Array:
    a, b, t1, t2, t3 = beale_terms(x)
    da = 2.0 * (t1 * (b - 1.0) + t2 * (b**2 - 1.0) + t3 * (b**3 - 1.0))
    db = 2.0 * a * (t1 + 2.0 * b * t2 + 3.0 * b**2 * t3)
    return np.stack([da, db], axis=-1)


def booth(x: Array) -> Array:
    a, b = x[..., 0], x[..., 1]
    return (a + 2.0 * b - 7.0) ** 2 + (2.0 * a + b - 5.0) ** 2


def booth_grad(x: Array) -> Array:
    a, b = x[..., 0], x[..., 1]
    u, v = a + 2.0 * b - 7.0, 2.0 * a + b - 5.0
    return np.stack([2.0 * u + 4.0 * v, 4.0 * u + 2.0 * v], axis=-1)


def matyas(x: Array) -> Array:
    a, b = x[..., 0], x[..., 1]
    return 0.26 * (a * a + b * b) - 0.48 * a * b


def matyas_grad(x: Array) -> Array:
    a, b = x[..., 0], x[..., 1]
    return np.stack([0.52 * a - 0.48 * b, 0.52 * b - 0.48 * a], axis=-1)


def camel(x: Array) -> Array:
    a, b = x[..., 0], x[..., 1]
    a2 = a * a
    return 2.0 * a2 - 1.05 * a2 * a2 + a2 * a2 * a2 / 6.0 + a * b + b * b


def camel_grad(x: Array) -> Array:
    a, b = x[..., 0], x[..., 1]
    a2 = a * a
    return np.stack([4.0 * a - 4.2 * a2 * a + a2 * a2 * a + b, a + 2.0 * b], axis=-1)


TAU = 2.0 * math.pi


def rastrigin(x: Array) -> Array:
    # A*d + sum(x^2 - A cos(2 pi x)), summed so that the minimum is exactly 0.
    out: Array = np.sum(x * x + 10.0 * (1.0 - np.cos(TAU * x)), axis=-1)
    return out


def rastrigin_grad(x: Array) -> Array:
    return 2.0 * x + 10.0 * TAU * np.sin(TAU * x)


def ackley(x: Array) -> Array:
    r = np.sqrt(np.mean(x * x, axis=-1))
    s = np.mean(np.cos(TAU * x), axis=-1)
    out: Array = 20.0 * (1.0 - np.exp(-0.2 * r)) + (math.e - np.exp(s))
    return out


def ackley_grad(x: Array) -> Array:
    d = x.shape[-1]
    r = np.sqrt(np.mean(x * x, axis=-1, keepdims=True))
    s = np.mean(np.cos(TAU * x), axis=-1, keepdims=True)
    # Not differentiable at the origin (a cone); 0 is a subgradient there and is returned.
    safe = np.where(r > 0.0, r, 1.0)
    radial = np.where(r > 0.0, 20.0 * 0.2 * np.exp(-0.2 * r) / (d * safe), 0.0)
    out: Array = radial * x + np.exp(s) * TAU * np.sin(TAU * x) / d
    return out


ST_ARGMIN = -2.903534027771178
ST_FMIN = -39.16616570377142


def styblinski_tang(x: Array) -> Array:
    x2 = x * x
    out: Array = 0.5 * np.sum(x2 * x2 - 16.0 * x2 + 5.0 * x, axis=-1)
    return out


def styblinski_tang_grad(x: Array) -> Array:
    return 2.0 * x**3 - 16.0 * x + 2.5


def rastrigin_text(v: tuple[str, ...]) -> str:
    return f"{10 * len(v)} + " + " + ".join(f"({s}**2 - 10*cos(2*pi*{s}))" for s in v)


def ackley_text(v: tuple[str, ...]) -> str:
    squares = " + ".join(f"{s}**2" for s in v)
    cosines = " + ".join(f"cos(2*pi*{s})" for s in v)
    if len(v) == 1:
        return f"-20*exp(-0.2*sqrt({squares})) - exp({cosines}) + 20 + e"
    d = len(v)
    return f"-20*exp(-0.2*sqrt(({squares})/{d})) - exp(({cosines})/{d}) + 20 + e"


def styblinski_tang_text(v: tuple[str, ...]) -> str:
    return "0.5*(" + " + ".join(f"({s}**4 - 16*{s}**2 + 5*{s})" for s in v) + ")"
