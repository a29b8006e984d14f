"""The rules of descend.stopping: one function each, the same on arrays, floats and in numba."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from descend.errors import InvalidArgument, InvalidType
from descend.result import Reason
from descend.stopping import (
    DIVERGENCE_FACTOR,
    RUNAWAY_FACTOR,
    Criteria,
    divergence_bound,
    end_code,
    norms,
    point_code,
    quiet,
    runaway_bound,
    stable_step,
    step_code,
)

OFF = -1.0
INF, NAN = math.inf, math.nan


def code(f=1.0, fn=0.5, gn=1.0, dx=1.0, t=0.1, fb=1e10, gcut=1e-6, fcut=OFF, xcut=OFF,
         zcut=OFF):
    return Reason(int(step_code(f, fn, gn, dx, t, fb, gcut, fcut, xcut, zcut)))


def test_each_rule_and_its_precedence():
    assert code() is Reason.RUNNING
    assert code(gn=1e-7) is Reason.GTOL
    assert code(gn=1e-6) is Reason.GTOL  # <= gtol
    assert code(fn=0.9995, fcut=1e-3) is Reason.FTOL
    assert code(fn=0.999, fcut=1e-3) is Reason.RUNNING  # |df| = 1e-3 is not < 1e-3
    assert code(dx=1e-4, xcut=1e-4) is Reason.XTOL
    assert code(t=0.0, zcut=0.0) is Reason.SCHEDULE_END
    assert code(t=0.0) is Reason.RUNNING  # a zero step is a stay unless it ends the run
    assert code(fn=NAN) is Reason.F_NONFINITE
    assert code(fn=-INF) is Reason.F_NONFINITE
    assert code(fn=2e10) is Reason.F_BOUND
    assert code(gn=INF) is Reason.G_NONFINITE and code(gn=NAN) is Reason.G_NONFINITE
    # precedence: divergence > gtol > schedule end > ftol > xtol
    every = dict(gn=1e-7, fn=0.9995, fcut=1e-3, dx=0.0, xcut=1.0, t=0.0, zcut=0.0)
    assert code(**every) is Reason.GTOL
    assert code(**{**every, "gn": 1.0}) is Reason.SCHEDULE_END
    assert code(**{**every, "gn": 1.0, "zcut": OFF}) is Reason.FTOL
    assert code(**{**every, "gn": 1.0, "zcut": OFF, "fcut": OFF}) is Reason.XTOL
    assert code(**{**every, "fn": INF}) is Reason.F_NONFINITE
    assert code(gn=NAN, fn=5e10) is Reason.F_BOUND
    assert code(gn=NAN, fn=NAN) is Reason.F_NONFINITE


def test_disabled_tests_never_fire():
    assert code(gn=0.0, gcut=OFF, fn=1.0, dx=0.0) is Reason.RUNNING
    assert code(gn=0.0, gcut=0.0) is Reason.GTOL  # gtol=0 is a test for an exact zero


finite = st.floats(-1e300, 1e300)
anything = st.one_of(finite, st.just(NAN), st.just(INF), st.just(-INF))


@given(f=finite, fn=anything, gn=st.one_of(st.floats(0, 1e300), st.just(NAN), st.just(INF)),
       dx=st.floats(0, 1e10), t=st.floats(0, 10), gcut=st.sampled_from([OFF, 0.0, 1e-6, 1.0]),
       fcut=st.sampled_from([OFF, 1e-3]), xcut=st.sampled_from([OFF, 1e-3]),
       zcut=st.sampled_from([OFF, 0.0]))
def test_arrays_and_floats_agree(f, fn, gn, dx, t, gcut, fcut, xcut, zcut):
    fb = float(divergence_bound(f))
    with np.errstate(all="ignore"):
        one = step_code(f, fn, gn, dx, t, fb, gcut, fcut, xcut, zcut)
        many = step_code(np.full(3, f), np.full(3, fn), np.full(3, gn), np.full(3, dx),
                         np.full(3, t), np.full(3, fb), gcut, fcut, xcut, zcut)
    assert many.tolist() == [int(one)] * 3


@given(f=finite, fn=anything, gn=st.one_of(st.floats(0, 1e300), st.just(NAN), st.just(INF)),
       dx=st.one_of(st.floats(0, 1e10), st.just(NAN)), t=st.floats(0, 10),
       gcut=st.sampled_from([OFF, 0.0, 1e-6, 1.0]), fcut=st.sampled_from([OFF, 1e-3]),
       xcut=st.sampled_from([OFF, 1e-3]), zcut=st.sampled_from([OFF, 0.0]))
def test_the_screen_never_hides_a_stop(f, fn, gn, dx, t, gcut, fcut, xcut, zcut):
    fb = float(divergence_bound(f))
    if xcut >= 0 and math.isnan(dx):
        return  # a step length is computed whenever xtol is on
    with np.errstate(all="ignore"):
        if quiet(f, fn, gn, dx, t, fb, gcut, fcut, xcut, zcut):
            assert step_code(f, fn, gn, dx, t, fb, gcut, fcut, xcut, zcut) == 0


def test_numba_compiles_the_same_function():
    from numba import njit

    compiled = njit(step_code)
    rng = np.random.default_rng(0)
    for _ in range(200):
        f, fn, gn, dx, t = rng.choice([0.0, 1e-7, 0.5, 1.0, 2e10, NAN, INF, -INF], 5)
        args = (f, fn, abs(gn), abs(dx), abs(t), 1e10, 1e-6, 1e-3, 1e-3, 0.0)
        with np.errstate(all="ignore"):
            assert compiled(*args) == step_code(*args)


def test_point_rules_at_x0():
    assert Reason(int(point_code(1.0, 1.0, 1e-6))) is Reason.RUNNING
    assert Reason(int(point_code(1.0, 0.0, 1e-6))) is Reason.GTOL
    assert Reason(int(point_code(NAN, 0.0, 1e-6))) is Reason.F0_NONFINITE
    assert Reason(int(point_code(1.0, INF, 1e-6))) is Reason.G0_NONFINITE


def test_runaway_applies_to_runs_that_did_not_diverge():
    xb = float(runaway_bound(700.0))
    assert xb == RUNAWAY_FACTOR * 700.0 and float(runaway_bound(0.0)) == RUNAWAY_FACTOR
    codes = np.array([0, Reason.GTOL, Reason.MAX_ITER, Reason.CALLBACK, Reason.F_BOUND])
    out = end_code(codes, np.full(5, 1e303), xb)
    assert [Reason(int(c)) for c in out] == [Reason.X_RUNAWAY] * 3 + [Reason.CALLBACK,
                                                                        Reason.F_BOUND]
    assert end_code(np.array([Reason.GTOL]), np.array([NAN]), xb)[0] == Reason.X_RUNAWAY
    assert end_code(np.array([Reason.GTOL]), np.array([1.0]), xb)[0] == Reason.GTOL


def test_divergence_bound():
    assert divergence_bound(0.0) == DIVERGENCE_FACTOR
    assert divergence_bound(-5.0) == -5.0 + 5.0 * DIVERGENCE_FACTOR
    np.testing.assert_array_equal(divergence_bound(np.array([2.0, -0.5])),
                                  [2.0 + 2e10, -0.5 + 1e10])


def test_norms_never_overflow_or_underflow_a_finite_gradient():
    g = np.array([[3.0, 4.0], [1e200, 1e200], [1e-200, 1e-200], [0.0, 0.0], [INF, 1.0],
                  [NAN, 1.0]])
    out = norms(g)
    np.testing.assert_allclose(out[:3], [5.0, math.sqrt(2) * 1e200, math.sqrt(2) * 1e-200],
                               rtol=1e-15)
    assert out[3] == 0.0 and out[4] == INF and math.isnan(out[5])
    assert norms(np.array([3.0, 4.0])) == 5.0
    wide = np.arange(20.0)
    assert norms(wide) == pytest.approx(math.sqrt(float(wide @ wide)), rel=1e-15)


def test_stable_step_is_two_over_the_curvature():
    x, xn = np.array([[3.0], [1.0]]), np.array([[-6.0], [2.0]])
    g, gn = 2 * x, 2 * xn  # f = x^2: curvature 2
    np.testing.assert_array_equal(stable_step(x, g, xn, gn), [1.0, 1.0])
    assert np.isnan(stable_step(x, g, xn, -gn)).all()  # negative curvature: no estimate
    assert np.isnan(stable_step(x, g, x, g)).all()  # no step


@pytest.mark.parametrize(("kw", "error"), [
    ({"max_iter": -1}, InvalidArgument), ({"max_iter": 2.5}, InvalidType),
    ({"max_iter": True}, InvalidType), ({"gtol": -1.0}, InvalidArgument),
    ({"ftol": INF}, InvalidArgument), ({"xtol": "1"}, InvalidType),
])
def test_criteria_are_validated(kw, error):
    args = {"max_iter": 10, "gtol": 1e-6, "ftol": None, "xtol": None, **kw}
    with pytest.raises(error) as info:
        Criteria.make(args["max_iter"], args["gtol"], args["ftol"], args["xtol"])
    assert info.value.argument == next(iter(kw))


def test_criteria_cuts():
    c = Criteria.make(5.0, None, 1e-3, 0.0)
    assert c.max_iter == 5 and c.cuts == (-1.0, 1e-3, 0.0)
