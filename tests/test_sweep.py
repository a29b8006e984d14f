"""Learning-rate sweeps, verdicts and suggest_lr."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend import minimize, suggest_lr, sweep, verdict
from descend.errors import InvalidArgument, InvalidType


def test_sweep_on_the_parabola_gives_the_four_verdicts():
    s = sweep("x**2", 3, [0.001, 0.1, 0.9, 1.1], max_iter=100)
    assert s.verdicts == ["too_small", "good", "oscillating", "diverged"]
    assert s.lrs.tolist() == [0.001, 0.1, 0.9, 1.1]
    assert [r.status for r in s.results] == ["max_iter", "gtol", "gtol", "diverged"]
    assert all(len(r.path) == r.nit + 1 for r in s.results)
    rows = s.table()
    assert [row["verdict"] for row in rows] == s.verdicts
    assert set(rows[0]) == {"lr", "verdict", "status", "nit", "fun"}
    assert "oscillating" in repr(s)


def test_batched_sweep_matches_separate_runs():
    lrs = [0.001, 0.1, 0.3]
    s = sweep("x**2 + 3*y**2", [3.0, 1.0], lrs, max_iter=100)
    for lr, res in zip(lrs, s.results, strict=True):
        single = minimize("x**2 + 3*y**2", [3.0, 1.0], lr=lr, max_iter=100)
        assert res.path.tobytes() == single.path.tobytes()
        assert res.nfev == single.nfev and res.status == single.status
        assert verdict(single) == verdict(res)


def test_sweep_with_a_plain_callable_loops_minimize():
    s = sweep(lambda v: float(v[0] ** 2), 3.0, [0.001, 0.1, 0.9, 1.1],
              grad=lambda v: 2 * v, max_iter=100)
    assert s.verdicts == ["too_small", "good", "oscillating", "diverged"]


def test_verdict_reads_a_converging_overshoot_as_good():
    # Momentum overshoots on the paraboloid: f rises at some steps, and it converges (issue 15).
    res = minimize("x**2 + y**2", [6.0, -3.0], method="momentum", lr=0.1, max_iter=1000)
    assert res.success and np.any(np.diff(res.values) > 0) and verdict(res) == "good"


@pytest.mark.parametrize(("lrs", "error"), [
    ([], InvalidArgument), ([0.1, 0.0], InvalidArgument), ([-1.0], InvalidArgument),
    ([np.inf], InvalidArgument), ("0.1", InvalidType), (0.1, InvalidType),
])
def test_sweep_rejects_bad_lrs(lrs, error):
    with pytest.raises(error, match="lrs") as info:
        sweep("x**2", 3.0, lrs)
    assert info.value.argument == "lrs"


def test_suggest_lr_is_one_over_L():
    lr = suggest_lr("x**2 + 10*y**2", [1.0, 1.0])
    np.testing.assert_allclose(lr, 0.05, rtol=1e-6)
    assert minimize("x**2 + 10*y**2", [1.0, 1.0], lr=1.9 * lr, max_iter=5000).success
    assert minimize("x**2 + 10*y**2", [1.0, 1.0], lr=2.1 * lr).status == "diverged"


def test_suggest_lr_on_a_callable_and_bad_keywords():
    lr = suggest_lr(lambda v: float(v @ v), [1.0, 2.0], grad=lambda v: 2 * v)
    np.testing.assert_allclose(lr, 0.5, rtol=1e-6)
    with pytest.raises(InvalidArgument, match="lr"):
        suggest_lr("x**2", 1.0, lr=0.1)


def test_exports():
    for name in ("multistart", "sweep", "suggest_lr", "MultiStartResult", "SweepResult"):
        assert name in descend.__all__ and hasattr(descend, name)
    assert descend.__all__ == sorted(descend.__all__)
