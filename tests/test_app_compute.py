"""The explorer's computations: runs through minimize, status lines, figures, worker."""

from __future__ import annotations

import base64
import json

import numpy as np
import plotly.io as pio
import pytest

pytest.importorskip("dash")

from descend import datasets, minimize, plot
from descend.app import callbacks, compute, figures, worker
from descend.app.state import DEFAULT, PRESETS_1D, reduce


def _state(*events):
    s = dict(DEFAULT)
    for ev in events:
        s = reduce(s, ev)
    return s


def test_step_equals_minimize_with_that_many_iterations():
    s = _state({"type": "step"}, {"type": "step"}, {"type": "step"})
    (run,) = compute.runs(s)
    ref = minimize("(1 - x)**2 + 100*(y - x**2)**2", [-1.2, 1.0], lr=0.001, max_iter=3)
    np.testing.assert_allclose(run.result.path, ref.path)
    text = compute.status_text(s, [run])
    assert "iteration: 3" in text and "stepping" in text


def test_race_of_methods_and_divergence_advice():
    s = _state({"type": "set_preset", "name": "paraboloid"},
               {"type": "set_methods", "methods": ["gd", "adam"]},
               {"type": "set_lr", "lr": 1.5}, {"type": "run"})
    rs = compute.runs(s)
    assert [r.label for r in rs] == ["gd", "adam"]
    text = compute.status_text(s, rs)
    assert "diverged at iteration" in text and "try lr <=" in text
    figs = figures.view_figures(s, compute.problem(s), rs)
    names = [t["name"] for t in figs["contour"]["data"]]
    assert "gd" in names and "adam" in names


def test_regression_preset_reproduces_seed_002():
    s = _state({"type": "set_preset", "name": "regression"},
               {"type": "set_option", "name": "cap", "value": 500},
               {"type": "set_option", "name": "gtol", "value": ""}, {"type": "run"})
    (run,) = compute.runs(s)
    np.testing.assert_allclose(run.result.x, [-10.07049616, 2.03559051], atol=1e-6)
    figs = figures.view_figures({**s, "view": "regression"}, None,
                                compute.runs({**s, "view": "regression"}))
    assert set(figs) == {"regression", "regression-landscape", "regression-loss"}


@pytest.mark.parametrize("name", list(PRESETS_1D))
def test_tangent_presets_behave_as_named(name):
    s = _state({"type": "set_view", "view": "tangent"}, {"type": "set_preset_1d", "name": name},
               {"type": "set_option", "name": "cap", "value": 60}, {"type": "run"})
    (run,) = compute.runs(s)
    _, _lip, best = compute.tangent_problem()
    path = run.result.path[:, 0]
    crossed = np.any(np.diff(np.sign(path - best)) != 0)
    if name == "diverging":
        assert run.result.status == "diverged"
    elif name == "too_large":
        assert crossed and path[1] > best  # the first step lands past the minimum
        assert "overshot" in compute.status_text(s, [run])
    else:
        assert not crossed
        gap = abs(path[-1] - best)
        assert (gap > 0.05) if name == "too_small" else (gap < 1e-3)


def test_every_view_draws():
    for view in ("contour", "surface", "loss", "tangent", "sweep"):
        out = callbacks.update(_state({"type": "step"}), "view", {"view": view})
        assert view in out["figs"], view


def test_run_sends_the_path_once_for_the_browser_to_animate():
    out = callbacks.update(_state(), "run", {})
    anim = out["anim"]
    assert anim["graph"] == "contour" and anim["frames"] > 1
    k = anim["traces"][0]
    assert len(out["figs"]["contour"]["data"][k]["x"]) == 1 and len(anim["x"][0]) > 100


def test_path_csv():
    s = _state({"type": "step"}, {"type": "step"})
    text = compute.path_csv(compute.runs(s))
    lines = text.strip().split("\n")
    assert lines[0] == "method,iteration,x,y,f,grad_norm" and len(lines) == 4


def test_time_limit_stops_a_long_run():
    s = _state({"type": "set_option", "name": "cap", "value": 100_000},
               {"type": "set_option", "name": "gtol", "value": ""}, {"type": "run"})
    (run,) = compute.runs(s, deadline=0.0)
    assert run.timed_out and "time limit" in compute.status_line(run, s)


def test_worker_rejects_hostile_text_with_a_message():
    assert worker.check("__import__('os')")["error"].startswith("formula:")
    ok = worker.check("x**2 + 3*y**2")
    assert ok["variables"] == ["x", "y"] and ok["partials"]["y"] == "6 y"


def test_formula_error_is_shown_and_nothing_runs():
    out = callbacks.update(dict(DEFAULT), "formula", {"formula": "x +* y"})
    assert out["error"].startswith("formula:") and out["figs"] == {}
    assert "iteration: 0" in out["status"]


def test_toy_data_matches_the_dataset():
    x, _y, stats = compute.regression_data(DEFAULT)
    tx, _ty = datasets.toy_line()
    assert x == tx.tolist() and stats[0] == 50


def _plain(obj):
    """A figure's JSON with plotly's base64 arrays decoded, for comparing figures."""
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            arr = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=np.dtype(obj["dtype"]))
            if obj.get("shape"):
                arr = arr.reshape([int(v) for v in str(obj["shape"]).split(",")])
            return _plain(arr.tolist())
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, int) and not isinstance(obj, bool):
        return float(obj)
    return obj


@pytest.mark.parametrize("view", ["contour", "surface"])
@pytest.mark.parametrize("events", [
    [{"type": "step"}, {"type": "step"}, {"type": "step"}],
    [{"type": "run"}],
    [{"type": "set_preset", "name": "paraboloid"},
     {"type": "set_methods", "methods": ["gd", "adam", "momentum"]},
     {"type": "set_lr", "lr": 1.5}, {"type": "run"}],
    [{"type": "set_preset", "name": "himmelblau"}, {"type": "set_start", "x0": [5.5, -5.0]},
     {"type": "set_lr", "lr": 0.02}, {"type": "step"}, {"type": "step"}],
    [{"type": "set_formula", "text": "x**2 + 3*y**2", "variables": ["x", "y"]},
     {"type": "set_start", "x0": "2, 1"}, {"type": "step"}],
    [{"type": "set_preset", "name": "regression"}, {"type": "step"}],
])
def test_fast_figures_equal_what_plot_draws(events, view):
    s = _state(*events, {"type": "set_view", "view": view})
    prob = compute.problem(s)
    rs = compute.runs(s, prob)
    fast = figures.view_figures(s, prob, rs)[view]
    results, labels = [r.result for r in rs], [r.label for r in rs]
    if view == "surface":
        ref = plot.surface(prob.fun, prob.bounds, paths=results)
        if len(rs) == 1:
            ref.data[1].name = labels[0]
    else:
        ref = plot.contour(prob.fun, prob.bounds, paths=results, labels=labels)
    figures._fit(ref)
    assert _plain(json.loads(pio.to_json(fast))) == _plain(json.loads(pio.to_json(ref)))


def test_step_sends_a_patch_of_the_paths_only():
    first = callbacks.update(_state(), "step", {"step": 1})
    assert first["drawn"].startswith("contour:") and first["paths"] == {"contour": [1, 2, 3]}
    full = callbacks.body_for(first, None)
    assert isinstance(full, list)
    nxt = callbacks.update(first["state"], "step", {"step": 2})
    assert nxt["drawn"] == first["drawn"]
    patch = callbacks.body_for(nxt, first["drawn"]).to_plotly_json()
    ops = patch["operations"]
    assert {tuple(op["location"][:5]) for op in ops} == {
        (0, "props", "figure", "data", i) for i in (1, 2, 3)}
    path = next(op for op in ops if op["location"][4:] == [1, "x"])["params"]["value"]
    assert path == nxt["figs"]["contour"]["data"][1]["x"] and len(path) == 3
    assert len(json.dumps(patch)) < 2000
    other = callbacks.update(nxt["state"], "view", {"view": "surface"})
    assert other["drawn"] != first["drawn"]
    assert isinstance(callbacks.body_for(other, first["drawn"]), list)


def test_recent_runs_are_kept_but_not_timed_out_ones(monkeypatch):
    monkeypatch.setattr(compute, "RUN_CACHE_MIN_S", 0.0)
    s = _state({"type": "set_preset", "name": "booth"}, {"type": "step"}, {"type": "step"})
    first = compute.runs(s)
    again = compute.runs(dict(s))
    assert again[0] is first[0]  # the same Run object: kept, not computed again
    assert compute.runs({**s, "lr": 0.03})[0] is not first[0]
    slow = {**s, "it": 50_000, "gtol": None}
    (run,) = compute.runs(slow, deadline=0.0)
    assert run.timed_out and compute.runs(slow, deadline=0.0)[0] is not run


def test_lru_is_bounded():
    lru = compute.LRU[int](2)
    for k in range(5):
        assert lru.get(k, lambda k=k: k * k) == k * k
    assert len(lru) == 2 and lru.peek(4) == 16 and lru.peek(0) is None
