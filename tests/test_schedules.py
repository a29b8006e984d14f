"""Step-size schedules: their values, their validation, and a schedule's end as a run's end."""

from __future__ import annotations

import math

import numpy as np
import pytest

from descend import minimize, schedules
from descend.errors import InvalidArgument
from descend.result import Reason


def test_values():
    assert [schedules.constant(0.1)(k) for k in (0, 5)] == [0.1, 0.1]
    np.testing.assert_allclose([schedules.inverse_time(0.1, 1.0)(k) for k in range(3)],
                               [0.1, 0.05, 0.1 / 3])
    np.testing.assert_allclose([schedules.exponential_decay(0.2, 0.5)(k) for k in range(3)],
                               [0.2, 0.1, 0.05])
    assert [schedules.step_decay(0.2, 0.5, 2)(k) for k in range(5)] == [0.2, 0.2, 0.1, 0.1,
                                                                          0.05]
    s = schedules.cosine_decay(0.1, steps=10, final=0.01)
    assert s(0) == pytest.approx(0.1) and s(5) == pytest.approx(0.055)
    assert s(10) == pytest.approx(0.01) and s(1000) == pytest.approx(0.01)
    assert schedules.cosine_decay(0.1, steps=10)(10) == 0.0


@pytest.mark.parametrize(("make", "argument"), [
    (lambda: schedules.constant(0.0), "lr"), (lambda: schedules.constant(-1.0), "lr"),
    (lambda: schedules.constant(math.nan), "lr"),
    (lambda: schedules.inverse_time(0.1, -1), "decay"),
    (lambda: schedules.exponential_decay(0.1, 1.5), "rate"),
    (lambda: schedules.step_decay(0.1, 0.5, 0), "every"),
    (lambda: schedules.cosine_decay(0.1, 2.5), "steps"),
    (lambda: schedules.cosine_decay(0.1, 10, final=-0.1), "final"),
])
def test_validation_names_the_argument(make, argument):
    with pytest.raises(InvalidArgument) as info:
        make()
    assert info.value.argument == argument and str(info.value).startswith(argument)


@pytest.mark.parametrize("steps", [1, 10, 37])
def test_a_cosine_to_zero_ends_the_run_after_its_steps(steps):
    res = minimize("x**2 + y**2", [6.0, -3.0], lr=schedules.cosine_decay(0.1, steps),
                   max_iter=1000)
    assert res.reason is Reason.SCHEDULE_END and res.status == "max_iter"
    assert res.nit == steps and len(res.step_sizes) == steps and res.step_sizes.min() > 0
