from __future__ import annotations

import math

import numpy as np
import pytest

from descend.datasets import slope_line, toy_line
from descend.errors import InvalidArgument, InvalidType


def tutorial_data() -> tuple[np.ndarray, np.ndarray]:
    """Seed 002's cell, verbatim."""
    alpha_true = -10
    beta_true = 2
    rng = np.random.default_rng(42)
    x = np.linspace(0, 10, 50)
    y = alpha_true + beta_true * x + rng.normal(0, 1, size=x.shape)
    return x, y


def tutorial_descent(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Seed 002's gradient-descent loop, verbatim."""

    def gradient_of_loss(parameters: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        alpha = parameters[0]
        beta = parameters[1]
        partial_alpha = np.mean(-2 * (y - (alpha + beta * x)))
        partial_beta = np.mean(-2 * x * (y - (alpha + beta * x)))
        return np.array([partial_alpha, partial_beta])

    learning_rate = 0.02
    parameters = np.array([0.0, 0.0])
    for _ in range(500):
        partial_derivatives = gradient_of_loss(parameters, x, y)
        parameters -= learning_rate * partial_derivatives
    return parameters


def test_toy_line_is_the_tutorial_data_bit_for_bit() -> None:
    x, y = toy_line()
    x_ref, y_ref = tutorial_data()
    assert x.dtype == np.float64 and y.dtype == np.float64
    assert x.shape == y.shape == (50,)
    assert np.all(x == x_ref) and np.all(y == y_ref)


def test_tutorial_descent_on_toy_line_gives_the_printed_answer() -> None:
    np.testing.assert_allclose(
        tutorial_descent(*toy_line()), [-10.07049616, 2.03559051], rtol=0, atol=1e-8
    )


@pytest.mark.parametrize(
    ("n", "alpha", "beta", "noise", "seed"),
    [(2, 0.0, 1.0, 0.5, 0), (7, 3.5, -1.25, 2.0, 123), (1000, -10.0, 2.0, 0.0, 42)],
)
def test_toy_line_follows_the_recipe(
    n: int, alpha: float, beta: float, noise: float, seed: int
) -> None:
    x, y = toy_line(n=n, alpha=alpha, beta=beta, noise=noise, seed=seed)
    rng = np.random.default_rng(seed)
    x_ref = np.linspace(0, 10, n)
    y_ref = alpha + beta * x_ref + rng.normal(0, noise, size=x_ref.shape)
    assert np.all(x == x_ref) and np.all(y == y_ref)


def test_seed_none_and_generator() -> None:
    x, y = toy_line(seed=None)
    assert x.shape == y.shape == (50,) and np.all(np.isfinite(y))
    _, y1 = toy_line(seed=np.random.default_rng(42))
    assert np.all(y1 == toy_line()[1])


def test_zero_noise_lies_on_the_line() -> None:
    x, y = toy_line(n=11, alpha=1.0, beta=-3.0, noise=0.0)
    np.testing.assert_array_equal(y, 1.0 - 3.0 * x)


def test_slope_line_is_toy_line_through_the_origin() -> None:
    x, y = slope_line()
    rng = np.random.default_rng(42)
    x_ref = np.linspace(0, 10, 50)
    y_ref = 2.0 * x_ref + rng.normal(0, 1.0, size=x_ref.shape)
    assert np.all(x == x_ref) and np.all(y == y_ref)
    for args in [(50, 2.0, 1.0, 42), (9, -0.5, 0.3, 7)]:
        n, s, noise, seed = args
        xs, ys = slope_line(n, s, noise, seed)
        xt, yt = toy_line(n, 0.0, s, noise, seed)
        assert np.all(xs == xt) and np.all(ys == yt)


def test_slope_line_least_squares_slope_is_near_the_truth() -> None:
    x, y = slope_line(n=200, slope=2.0, noise=1.0, seed=3)
    assert float(x @ y / (x @ x)) == pytest.approx(2.0, abs=0.05)


BAD_VALUES = [
    ({"n": 1}, "n"),
    ({"n": 0}, "n"),
    ({"noise": -0.1}, "noise"),
    ({"noise": math.inf}, "noise"),
    ({"noise": math.nan}, "noise"),
    ({"alpha": math.nan}, "alpha"),
    ({"beta": -math.inf}, "beta"),
    ({"seed": -1}, "seed"),
]
BAD_TYPES = [
    ({"n": 2.5}, "n"),
    ({"n": True}, "n"),
    ({"noise": "1"}, "noise"),
    ({"alpha": None}, "alpha"),
    ({"seed": 1.5}, "seed"),
]


@pytest.mark.parametrize(("kwargs", "argument"), BAD_VALUES, ids=repr)
def test_toy_line_rejects_bad_values(kwargs: dict[str, object], argument: str) -> None:
    with pytest.raises(InvalidArgument, match=rf"^{argument}: .*expected") as info:
        toy_line(**kwargs)  # type: ignore[arg-type]
    assert info.value.argument == argument


@pytest.mark.parametrize(("kwargs", "argument"), BAD_TYPES, ids=repr)
def test_toy_line_rejects_bad_types(kwargs: dict[str, object], argument: str) -> None:
    with pytest.raises(InvalidType, match=rf"^{argument}: .*expected") as info:
        toy_line(**kwargs)  # type: ignore[arg-type]
    assert info.value.argument == argument


@pytest.mark.parametrize(
    ("kwargs", "error", "argument"),
    [
        ({"slope": math.nan}, InvalidArgument, "slope"),
        ({"slope": "2"}, InvalidType, "slope"),
        ({"n": 1}, InvalidArgument, "n"),
        ({"noise": -1.0}, InvalidArgument, "noise"),
    ],
)
def test_slope_line_rejects_bad_arguments(
    kwargs: dict[str, object], error: type[Exception], argument: str
) -> None:
    with pytest.raises(error, match=rf"^{argument}: ") as info:
        slope_line(**kwargs)  # type: ignore[arg-type]
    assert info.value.argument == argument  # type: ignore[attr-defined]


def test_numpy_integers_and_floats_are_accepted() -> None:
    n = np.int64(5)  # accepted at run time although annotated as int
    x, y = toy_line(n=n, alpha=np.float64(1.0), noise=np.float64(0.0))  # type: ignore[arg-type]
    np.testing.assert_array_equal(y, 1.0 + 2.0 * x)
