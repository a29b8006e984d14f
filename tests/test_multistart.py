"""Multi-start: random starts, clustering of minima, batch versus loop."""

from __future__ import annotations

import numpy as np
import pytest

from descend import Minimum, MultiStartResult, cluster_minima, functions, minimize, multistart
from descend.errors import InvalidArgument, InvalidType

HIMMELBLAU = functions.get("himmelblau")


def test_himmelblau_1000_starts_finds_all_four_minima():
    ms = multistart(HIMMELBLAU, 1000, bounds=[(-5, 5), (-5, 5)], seed=0, lr=0.01)
    assert isinstance(ms, MultiStartResult)
    assert ms.x.shape == ms.starts.shape == (1000, 2)
    assert ms.fun.shape == ms.status.shape == ms.nit.shape == (1000,)
    assert len(ms.minima) == 4
    assert sum(m.count for m in ms.minima) == ms.n_converged == np.sum(ms.status == "gtol")
    for known in HIMMELBLAU.minima:
        assert min(np.linalg.norm(m.x - known) for m in ms.minima) < 1e-5
    assert [m.fun for m in ms.minima] == sorted(m.fun for m in ms.minima)
    assert np.all((ms.starts >= -5) & (ms.starts <= 5))
    assert ms.best.fun == min(m.fun for m in ms.minima) or ms.best.fun < 1e-12
    assert ms.best.path.shape[0] == ms.best.nit + 1
    assert "4 minima" in repr(ms)


def test_default_bounds_come_from_the_catalog_and_seed_repeats():
    a = multistart(HIMMELBLAU, 50, seed=3, lr="backtracking")
    b = multistart(HIMMELBLAU, 50, seed=3, lr="backtracking")
    np.testing.assert_array_equal(a.starts, b.starts)
    np.testing.assert_array_equal(a.x, b.x)


def test_best_and_result_k_rerun_minimize_identically():
    ms = multistart("(x**2 + y - 11)**2 + (x + y**2 - 7)**2", 40,
                    bounds=(-5, 5, -5, 5), seed=1, lr=0.01)
    k = ms.best_index
    assert ms.best.x.tobytes() == ms.x[k].tobytes()
    r = ms.result(3)
    assert r.x.tobytes() == ms.x[3].tobytes() and r.nit == ms.nit[3]


def test_plain_callable_falls_back_to_a_loop():
    def f(v):
        return float((v[0] ** 2 - 1.0) ** 2 + v[1] ** 2)

    def g(v):
        return np.array([4 * v[0] * (v[0] ** 2 - 1.0), 2 * v[1]])

    ms = multistart(f, [[-2.0, 1.0], [2.0, -1.0], [0.5, 0.5]], grad=g, lr=0.05)
    assert len(ms.minima) == 2 and sum(m.count for m in ms.minima) == 3
    assert ms.result(1).x.tolist() == ms.x[1].tolist()


def test_starts_with_zero_gradient_are_drawn_again():
    # A flat function away from a small region: starts there would never move.
    ms = multistart("x**2 + y**2", 200, bounds=[(-1, 1), (-1, 1)], seed=0, lr=0.1)
    assert np.all(np.linalg.norm(ms.starts, axis=1) > 0)


def test_cluster_minima_is_greedy_by_f_and_fast():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [1.0, 1.0], [5.0, -5.0]])
    pts = centres[rng.integers(0, 3, 10_000)] + rng.normal(0, 1e-6, (10_000, 2))
    f = np.linalg.norm(pts - centres[1], axis=1)
    mins = cluster_minima(pts, f)
    assert len(mins) == 3 and sum(m.count for m in mins) == 10_000
    assert isinstance(mins[0], Minimum) and np.allclose(mins[0].x, centres[1], atol=1e-5)
    assert cluster_minima(np.empty((0, 2)), np.empty(0)) == []


@pytest.mark.parametrize(("kwargs", "argument", "error"), [
    ({"starts": 0}, "starts", InvalidArgument),
    ({"starts": -3}, "starts", InvalidArgument),
    ({"starts": True}, "starts", InvalidType),
    ({"starts": 10, "bounds": [(-1, 1)]}, "bounds", InvalidArgument),
    ({"starts": 10, "bounds": [-1, 1, 2]}, "bounds", InvalidArgument),
    ({"starts": 10, "bounds": [(1, -1), (0, 1)]}, "bounds", InvalidArgument),
    ({"starts": 10, "bounds": "abc"}, "bounds", InvalidType),
    ({"starts": np.empty((0, 2))}, "starts", InvalidArgument),
])
def test_bad_arguments_name_the_argument(kwargs, argument, error):
    with pytest.raises(error, match=argument) as info:
        multistart(HIMMELBLAU, **kwargs)
    assert info.value.argument == argument


def test_int_starts_without_bounds_for_a_callable():
    with pytest.raises(InvalidArgument, match="bounds") as info:
        multistart(lambda v: float(v @ v), 10, grad=lambda v: 2 * v)
    assert info.value.argument == "bounds"


def test_minimize_and_multistart_agree_on_a_single_start():
    ms = multistart(HIMMELBLAU, [[1.0, 1.0]], lr="bb")
    res = minimize(HIMMELBLAU, [1.0, 1.0], lr="bb")
    np.testing.assert_allclose(ms.x[0], res.x, atol=1e-12)


def test_a_catalog_name_of_any_dimension_takes_the_dimension_of_its_bounds():
    ms = multistart("rastrigin", 30, bounds=[(-5.12, 5.12)] * 5, seed=1, lr=0.001, max_iter=300)
    assert ms.x.shape == (30, 5) and ms.starts.shape == (30, 5)
    assert np.all(np.abs(ms.starts) <= 5.12) and ms.result(0).x.shape == (5,)
    flat = multistart("rastrigin", 3, bounds=[-5.12, 5.12] * 3, seed=1, max_iter=10)
    assert flat.x.shape == (3, 3)
    with pytest.raises(InvalidArgument, match="bounds: the function takes 2 variables"):
        multistart(functions.get("rastrigin"), 3, bounds=[(-5.12, 5.12)] * 5)
