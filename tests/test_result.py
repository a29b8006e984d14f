"""The one table of outcomes: every reason has a status and a message, rendered by describe."""

from __future__ import annotations

import math

import numpy as np
import pytest

from descend import minimize
from descend.result import (
    FIRST_DIVERGENCE,
    MESSAGES,
    REASONS,
    Reason,
    Status,
    describe,
    divergence_advice,
    verdict,
)


def test_every_reason_has_a_status_and_a_message():
    assert set(REASONS) == set(Reason) - {Reason.RUNNING}
    for reason, (status, template) in REASONS.items():
        assert reason.status is status
        assert reason.diverged == (status is Status.DIVERGED) == (reason >= FIRST_DIVERGENCE)
        text = describe(reason, nit=3, gnorm=0.5, gtol=1e-6, df=1e-4, ftol=1e-3, dx=1e-5,
                        xtol=1e-4, fun=2.0, bad=math.inf, fbound=9e10, xnorm=1e303,
                        xbound=7e17, advice="try lr <= 1.0", hint="step too small")
        assert "{" not in text and text == template.format(
            nit=3, gnorm=0.5, gtol=1e-6, df=1e-4, ftol=1e-3, dx=1e-5, xtol=1e-4, fun=2.0,
            bad=math.inf, fbound=9e10, xnorm=1e303, xbound=7e17, advice="try lr <= 1.0",
            why="", gname="gradient norm", iterations="3 iterations",
            hint="step too small")
    assert set(MESSAGES) == set(Status)


def test_describe_appends_bounds_and_the_best_point():
    text = describe(Reason.GTOL, nit=2, gnorm=0.0, gtol=1e-6, gname="projected gradient norm",
                    on_bound="x = 1 (upper)", fun_best=0.5, nit_best=1)
    assert text == ("converged: projected gradient norm 0 <= gtol=1e-06 after 2 iterations; "
                    "on bound: x = 1 (upper); ended above its best: f = 0.5 at iteration 1")


def test_describe_by_status_and_the_fd_note():
    assert describe(Status.GTOL, nit=4, gnorm=1e-7, gtol=1e-6).startswith("converged")
    assert describe(Status.DIVERGED, nit=2, why="f = nan", advice="x").startswith(
        "diverged at iteration 2: f = nan; x")
    assert describe(Reason.CALLBACK, nit=1, fd=True).endswith(
        "central finite differences (h_i = cbrt(machine eps) * max(1, |x_i|))")


@pytest.mark.parametrize(("lr", "lr_max", "text"), [
    (1.5, 1.0, "try lr <= 1.0 (about 2 / the local curvature)"),
    (1.5, 0.0987, "try lr <= 0.098 (about 2 / the local curvature)"),
    (1.5, 250.0, "try lr <= 250 (about 2 / the local curvature)"),
    (1.5, None, "try a smaller lr than 1.5"),
    (None, float("nan"), "try a smaller learning rate"),
])
def test_divergence_advice(lr, lr_max, text):
    assert divergence_advice(lr, lr_max) == text


@pytest.mark.parametrize(("kw", "reason", "start"), [
    ({"lr": 0.1}, Reason.GTOL, "converged: gradient norm"),
    ({"lr": 0.01, "gtol": None, "ftol": 1e-3}, Reason.FTOL, "converged: f changed by"),
    ({"lr": 0.01, "gtol": None, "xtol": 1e-4}, Reason.XTOL, "converged: step length"),
    ({"lr": 0.001, "max_iter": 5}, Reason.MAX_ITER, "stopped: reached max_iter=5"),
    ({"lr": 1.5}, Reason.F_BOUND, "diverged at iteration 16: the next step took f to"),
])
def test_runs_end_with_the_tables_words(kw, reason, start):
    res = minimize("x**2 + y**2", [6.0, -3.0], **kw)
    assert res.reason is reason and res.status is reason.status
    assert res.message.startswith(start)
    assert res.success is res.status.success


def test_messages_for_the_start_and_for_non_finite_steps():
    res = minimize(lambda v: math.log(v[0]) if v[0] > 0 else math.nan, [-1.0],
                   grad=lambda v: 1 / v)
    assert res.reason is Reason.F0_NONFINITE and res.nit == 0
    assert res.message == ("diverged at iteration 0: f(x0) = nan is not finite"
                           " (x0 outside the domain?)")
    res = minimize("sqrt(x)", [1.0], lr=4.0)  # x = 0: f finite, its gradient 1/0
    assert res.reason in (Reason.G_NONFINITE, Reason.F_NONFINITE)
    assert "non-finite" in res.message and np.isfinite(res.x).all()


def test_verdict():
    runs = [minimize("x**2", 3.0, lr=lr, max_iter=100) for lr in (0.001, 0.1, 0.9, 1.1)]
    assert [verdict(r) for r in runs] == ["too_small", "good", "oscillating", "diverged"]


def test_one_iteration_is_singular():
    assert describe(Reason.GTOL, nit=1, gnorm=0.0, gtol=1e-6).endswith("after 1 iteration")
    assert describe(Reason.GTOL, nit=0, gnorm=0.0, gtol=1e-6).endswith("after 0 iterations")
    one = minimize("x**2", [3.0], lr=0.5)  # lands on the minimum in one step
    assert one.nit == 1 and one.message.endswith("after 1 iteration")
    capped = minimize("x**2", [3.0], lr=0.1, max_iter=1)
    assert capped.message.startswith("stopped: reached max_iter=1 with gradient norm")
    for res in (one, capped):
        assert "1 iterations" not in res.message


def test_no_runtime_warning_from_huge_values():
    # pytest turns warnings into errors: an overflow in a norm or in the user's own function
    # at x0 is a value the run reports, never a RuntimeWarning
    res = minimize(lambda v: float(v @ v), [1e154, 1e154], lr=0.1)
    assert res.reason is Reason.F0_NONFINITE and "f(x0) = inf" in res.message
    huge = minimize(lambda v: float(np.sum(v**2)), [1e150, -1e150], grad=lambda v: 2 * v,
                    lr=3.0, max_iter=50)
    assert huge.status is Status.DIVERGED and verdict(huge) == "diverged"
    assert np.all(np.isfinite(huge.grad_norms)) and math.isfinite(huge.fun)
    steps = minimize("x**2 + y**2", [1e150, -1e150], lr=0.9, max_iter=40)
    assert verdict(steps) == "oscillating" and np.all(np.isfinite(steps.grad_norms))
