"""The explorer's computations: runs through minimize, status lines, figures, worker."""

from __future__ import annotations

import base64
import json

import numpy as np
import plotly.io as pio
import pytest

pytest.importorskip("dash")

from descend import datasets, minimize, plot, verdict
from descend.app import callbacks, compute, figures, teach, worker
from descend.app.state import DEFAULT, PRESETS_1D, PRESETS_1D_VERDICT, reduce


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
    assert run.whole.nit == 1000 and len(run.whole.path) == 1001
    text = teach.status_text(s, [run])
    assert "iteration: 3 of 1000" in text and "goes on to iteration 1000" in text
    assert "step taken" in text and "step size 0.001" in text


def test_race_of_methods_and_divergence_advice():
    s = _state({"type": "set_preset", "name": "paraboloid"},
               {"type": "set_methods", "methods": ["gd", "adam"]},
               {"type": "set_lr", "lr": 1.5}, {"type": "run"})
    rs = compute.runs(s)
    assert [r.label for r in rs] == ["gd", "adam"]
    text = teach.status_text(s, rs)
    assert "diverged at iteration" in text and "try lr <=" in text
    figs = figures.view_figures(s, compute.problem(s), rs)
    names = [t["name"] for t in figs["contour"]["data"]]
    assert any(n.startswith("gd: diverged at iteration") for n in names)
    assert any(n.startswith("adam: ") for n in names)


def test_race_legend_gives_iterations_to_converge():
    s = _state({"type": "set_preset", "name": "paraboloid"},
               {"type": "set_methods", "methods": ["gd", "momentum"]})
    rs = compute.runs(s)
    labels = [teach.race_label(r) for r in rs]
    assert labels[0] == f"gd: converged in {rs[0].whole.nit} iterations"
    assert rs[0].whole.success and rs[0].result.nit == 0


def test_regression_preset_reproduces_seed_002():
    s = _state({"type": "set_preset", "name": "regression"},
               {"type": "set_option", "name": "cap", "value": 500},
               {"type": "set_option", "name": "gtol", "value": ""}, {"type": "run"})
    (run,) = compute.runs(s)
    np.testing.assert_allclose(run.result.x, [-10.07049616, 2.03559051], atol=1e-6)
    figs = figures.view_figures({**s, "view": "regression"}, compute.problem(s),
                                compute.runs(s))
    assert set(figs) == {"regression", "regression-landscape", "regression-loss"}


@pytest.mark.parametrize("name", list(PRESETS_1D))
def test_slope_presets_earn_their_verdicts(name):
    base = callbacks.update(None, "url", {"url": "?f=slope&view=tangent"})["state"]
    out = callbacks.update(base, "preset-1d", {"preset-1d": name})
    s = out["state"]
    (run,) = compute.runs({**s, "it": s["cap"]})
    assert verdict(run.whole) == PRESETS_1D_VERDICT[name]  # the library's own rule
    assert f"verdict: {PRESETS_1D_VERDICT[name]}" in teach.status_text(
        {**s, "it": run.whole.nit}, compute.runs({**s, "it": run.whole.nit}))
    _, _, best = compute.slope_problem()
    path = run.whole.path[:, 0]
    if name == "too_large":
        assert path[1] > best  # the first step lands past the minimum
        assert "overshot" in teach.status_text({**s, "it": 1}, compute.runs({**s, "it": 1}))


def test_slope_view_opens_with_the_minimum_in_sight_and_people_numbers():
    out = callbacks.update(None, "url", {"url": "?view=tangent"})
    s = out["state"]
    assert s["f"] == "slope" and s["x0"] == [0.0] and s["view"] == "tangent"
    fig = out["figs"]["tangent"]
    lo, hi = fig["layout"]["xaxis"]["range"]
    _, _, best = compute.slope_problem()
    assert lo < 0.0 < best < hi
    title = fig["layout"]["title"]["text"]
    assert title.startswith("loss over the slope: 138.7 - 136.4·slope + 33.67·slope²")
    assert "33.67" in out["latex"] and "33.673" not in out["latex"]
    assert "68.19" not in out["status"] and "0.0297" in out["status"]
    # the explorer's lr and start drive it
    moved = callbacks.update(s, "x0", {"x0": "4"})
    assert compute.runs(moved["state"])[0].result.path[0, 0] == 4.0
    faster = callbacks.update(s, "lr", {"lr": 0.02})["state"]
    assert compute.runs(faster)[0].whole.step_sizes[0] == 0.02


def test_every_view_draws():
    for view in ("contour", "surface", "loss", "tangent", "sweep", "basins", "regression"):
        out = callbacks.update(_state({"type": "step"}), "view", {"view": view})
        assert out["state"]["view"] == view and out["figs"], view


def test_playing_advances_frames_and_every_part_agrees():
    out = callbacks.update(_state({"type": "set_preset", "name": "himmelblau"}), "run",
                           {"run": 1})
    assert out["playing"] and out["state"]["it"] == 0
    s = {**out["state"], "speed": 100}  # 10 iterations per tick
    seen = []
    for _ in range(12):
        out = callbacks.update(s, "ticker", {"ticker": 1})
        s = out["state"]
        seen.append(s["it"])
        fig = out["figs"]["contour"]
        path = next(t for t in fig["data"] if t.get("meta") == "gd"
                    and t["name"].startswith("gd:"))
        end = next(t for t in fig["data"] if t.get("meta") == "gd"
                   and t["name"] == "current point")
        (run,) = compute.runs(s)
        assert end["x"][0] == path["x"][-1] == run.result.x[0]
        assert f"iteration: {s['it']} of" in out["status"]
        if not out["playing"]:
            break
    assert seen[:3] == [10, 20, 30] and seen[-1] == out["end"] and not out["playing"]


def test_iteration_slider_and_pause():
    s = _state()
    out = callbacks.update(s, "iteration", {"iteration": 250})
    assert out["state"]["it"] == 250 and "iteration: 250 of 1000" in out["status"]
    assert not callbacks.update(out["state"], "pause", {"pause": 1})["playing"]


def test_dragging_lr_redraws_the_whole_path():
    s = _state({"type": "step"})
    out = callbacks.update(s, "live", {"live": {"id": "lr-slider", "value": -2.5}})
    assert out["state"]["lr"] == pytest.approx(10 ** -2.5)
    assert out["state"]["it"] == out["end"]  # the whole new path is drawn
    beta = callbacks.update({**out["state"], "methods": ["momentum"]}, "live",
                            {"live": {"id": "beta", "value": 0.5}})
    assert beta["state"]["beta"] == 0.5 and compute.runs(beta["state"])[0].whole.nit > 0


def test_hyperparameters_reach_the_optimizers():
    s = _state({"type": "set_preset", "name": "paraboloid"},
               {"type": "set_methods", "methods": ["momentum", "adam"]},
               {"type": "set_param", "name": "beta", "value": 0.5},
               {"type": "set_param", "name": "b1", "value": 0.8},
               {"type": "set_param", "name": "b2", "value": 0.99})
    mom, adam = compute.full_runs(s)
    from descend import optimizers

    ref = minimize(compute.problem(s).fun, [6.0, -3.0], method=optimizers.momentum(0.5),
                   lr=0.1, max_iter=1000)
    np.testing.assert_array_equal(mom.result.path, ref.path)
    ref = minimize(compute.problem(s).fun, [6.0, -3.0], method=optimizers.adam(0.8, 0.99),
                   lr=0.1, max_iter=1000)
    np.testing.assert_array_equal(adam.result.path, ref.path)
    bt = _state({"type": "set_policy", "policy": "backtracking"},
                {"type": "set_param", "name": "shrink", "value": 0.3})
    assert compute.policy_of(bt).shrink == 0.3 and compute.policy_of(bt).t0 == bt["lr"]


def test_forces_at_the_current_point():
    s = _state({"type": "set_preset", "name": "paraboloid"},
               {"type": "set_methods", "methods": ["gd", "momentum", "adam"]},
               {"type": "set_it", "it": 3})
    gd, mom, adam = compute.runs(s)
    fo = teach.forces(gd)
    np.testing.assert_allclose(fo.step, -0.1 * fo.grad)  # plain gd: the step is -t g
    fm = teach.forces(mom)
    v_prev = (mom.whole.path[2] - mom.whole.path[3]) / 0.1  # v_3, from the path
    np.testing.assert_allclose(fm.velocity, -0.1 * 0.9 * v_prev, rtol=1e-12)
    np.testing.assert_allclose(fm.step, -0.1 * fm.grad + fm.velocity, rtol=1e-12)
    fa = teach.forces(adam)
    np.testing.assert_allclose(fa.step, -0.1 * fa.scaling * fa.grad, rtol=1e-12)
    text = teach.status_text(s, [gd, mom, adam])
    assert "velocity carries" in text and "per-coordinate scaling" in text
    arrows = figures.force_arrows([gd, mom, adam], ((-10, 10), (-10, 10)))
    colours = {a["arrowcolor"] for a in arrows}
    assert {figures.GRAD_COLOR, figures.VELOCITY_COLOR, figures.PLAIN_COLOR} <= colours
    out = callbacks.update(s, "forces", {"forces": []})
    assert out["figs"]["contour"]["layout"]["annotations"] == []


def test_readable_landscapes():
    rosen = callbacks.update(_state(), "step", {"step": 1})
    lay = rosen["figs"]["contour"]["layout"]
    bg = rosen["figs"]["contour"]["data"][0]
    assert bg["colorbar"]["title"]["text"] == "log10(1+f-min)"  # auto: > 3 decades
    assert lay["yaxis"]["scaleanchor"] == "x"  # equal aspect
    runs = compute.runs(rosen["state"])
    top = np.log10(1 + runs[0].whole.values.max() - 0.0)
    assert bg["contours"]["end"] <= 1.2 * top + 1e-9  # levels where the path is
    para = callbacks.update(_state({"type": "set_preset", "name": "paraboloid"}), "step",
                            {"step": 1})
    assert para["figs"]["contour"]["data"][0]["colorbar"]["title"]["text"] == "f"
    on = callbacks.update(para["state"], "log", {"log": "on"})
    assert on["figs"]["contour"]["data"][0]["colorbar"]["title"]["text"] == "log10(1+f-min)"
    free = callbacks.update(rosen["state"], "aspect", {"aspect": "auto"})
    assert "scaleanchor" not in free["figs"]["contour"]["layout"].get("yaxis", {})
    assert figures.spans_decades([0, 1, 2, 3]) < 3 < figures.spans_decades(
        np.concatenate([np.linspace(0, 1, 100), [1e5]]))


def test_paths_stay_above_the_surface_in_3d():
    s = _state({"type": "set_preset", "name": "paraboloid"}, {"type": "set_it", "it": 10},
               {"type": "set_view", "view": "surface"})
    prob = compute.problem(s)
    fig = figures.view_figures(s, prob, compute.runs(s, prob))["surface"]
    path = next(t for t in fig["data"] if t.get("meta") == "gd" and t["name"].startswith("gd"))
    f = prob.fun(np.column_stack([path["x"], path["y"]]))
    assert np.all(np.asarray(path["z"]) > f)


def test_path_csv():
    s = _state({"type": "step"}, {"type": "step"})
    text = compute.path_csv(compute.runs(s))
    lines = text.strip().split("\n")
    assert lines[0] == "method,iteration,x,y,f,grad_norm" and len(lines) == 4


def test_time_limit_stops_a_long_run():
    s = _state({"type": "set_option", "name": "cap", "value": 100_000},
               {"type": "set_option", "name": "gtol", "value": ""}, {"type": "run"})
    (run,) = compute.runs(s, deadline=0.0)
    assert run.timed_out and "time limit" in teach.status_line(run, s)


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


def _csv(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def test_uploaded_csv_gets_a_stable_step_and_its_columns_chosen():
    xs = np.linspace(0, 100, 60)
    rows = "\n".join(f"{x},{3 * x - 7 + np.sin(x)},{x * x}" for x in xs)
    s = callbacks.update(None, "url", {"url": "?f=regression&view=regression"})["state"]
    out = callbacks.update(s, "upload", {"upload": _csv("a,b,c\n" + rows), "filename": "t.csv"})
    s = out["state"]
    assert "3 numeric columns" in s["notice"] and "choose the columns" in s["notice"]
    assert "lr set to 1/L" in s["notice"] and s["lr"] == pytest.approx(compute.stable_lr(s))
    (run,) = compute.runs({**s, "it": s["cap"]})
    assert run.whole.status.value != "diverged"
    assert out["ui"]["controls"]["xcol"] == ""  # the column choice is enabled
    picked = callbacks.update(s, "ycol", {"xcol": "a", "ycol": "c"})["state"]
    assert picked["data"]["yi"] == 2 and picked["notice"].startswith("fitting a line: lr")
    mb = callbacks.update(picked, "mb", {"mb": ["on"]})
    names = [t["name"] for t in mb["figs"]["regression-landscape"]["data"]]
    assert any(n.startswith("mini-batch (10 rows)") for n in names)


def test_honest_views_for_any_dimension():
    one = callbacks.update(dict(DEFAULT), "formula", {"formula": "(x - 2)**2 + 1"})
    assert one["state"]["view"] == "tangent" and "needs two variables" in one["state"]["notice"]
    assert one["ui"]["tabs"]["contour"] == "needs two or more variables"
    three = callbacks.update(dict(DEFAULT), "formula", {"formula": "x**2 + 2*y**2 + 3*z**2"})
    assert three["state"]["view"] == "contour" and set(three["figs"]) == {"contour",
                                                                          "contour-loss"}
    assert "slice through the current point" in \
        three["figs"]["contour"]["layout"]["title"]["text"]
    other = callbacks.update(three["state"], "sy", {"sy": 2})
    assert other["figs"]["contour"]["layout"]["yaxis"]["title"]["text"] == "z"
    clicked = callbacks.update(other["state"], "click", {"click": {"x": 0.5, "y": -0.5}})
    assert clicked["state"]["x0"] == [0.5, 1.0, -0.5]


def test_basins_colour_a_grid_of_starts_by_their_minimum():
    s = _state({"type": "set_preset", "name": "himmelblau"}, {"type": "set_lr", "lr": 0.01},
               {"type": "set_view", "view": "basins"})
    prob = compute.problem(s)
    b = teach.basins(prob, s, prob.bounds)
    assert len(b.minima) == 4 and b.label.shape == (24, 24)
    assert set(np.unique(b.label)) <= {-2, -1, 0, 1, 2, 3}
    assert sum(m[2] for m in b.minima) == int(np.count_nonzero(b.label >= 0))


def test_controls_a_view_ignores_are_disabled_with_a_reason():
    ui = callbacks.update(dict(DEFAULT), "view", {"view": "sweep"})["ui"]["controls"]
    assert ui["lr"].startswith("choosing a step") and ui["beta"] and ui["preset-1d"]
    assert ui["method"] if "method" in ui else True
    ui = callbacks.update(_state({"type": "set_methods", "methods": ["momentum"]}), "view",
                          {"view": "contour"})["ui"]["controls"]
    assert ui["beta"] == "" and ui["b1"] and ui["x0"] == ""


def test_no_tutorial_numbers_in_public_words():
    from descend.app import layout

    text = json.dumps(layout.build().to_plotly_json(), default=str)
    for view in ("contour", "tangent", "regression", "sweep", "basins"):
        out = callbacks.update(dict(DEFAULT), "view", {"view": view})
        text += out["status"] + out["state"]["notice"] + json.dumps(out["figs"], default=str)
    assert "seed 00" not in text.lower() and "seed00" not in text.lower()


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
])
def test_fast_figures_draw_what_plot_draws(events, view):
    """The fast figure's grid is descend.plot's for the same box and colour scale, and
    each path is the run's (thinned as plot thins it)."""
    s = _state(*events, {"type": "set_view", "view": view})
    prob = compute.problem(s)
    rs = compute.runs(s, prob)
    fast = figures.view_figures(s, prob, rs)[view]
    box = figures._box_of(prob, rs)
    log = figures.log_scale(s, figures._grid_z(prob, box))
    ref = (plot.surface(prob.fun, box) if view == "surface"
           else plot.contour(prob.fun, box, log_scale=log))
    want = _plain(json.loads(pio.to_json(ref)))["data"][0]
    got = _plain(json.loads(json.dumps(fast, default=str)))["data"][0]
    assert got["z"] == want["z"] and got["x"] == want["x"] and got["y"] == want["y"]
    for run in rs:
        trace = next(t for t in fast["data"] if t.get("meta") == run.label
                     and t["name"].startswith(run.label + ":"))
        if run.result.status.value != "diverged":
            keep = np.asarray(plot._thin(len(run.result.path))
                              if hasattr(plot, "_thin") else
                              figures.h.thin_indices(len(run.result.path)))
            np.testing.assert_allclose(trace["x"], run.result.path[keep, 0])


def test_step_sends_a_patch_of_what_moves_only():
    first = callbacks.update(_state(), "step", {"step": 1})
    assert first["drawn"].startswith("contour:")
    full = callbacks.body_for(first, None)
    assert isinstance(full, list)
    nxt = callbacks.update(first["state"], "step", {"step": 2})
    assert nxt["drawn"] == first["drawn"]
    patch = callbacks.body_for(nxt, first["drawn"]).to_plotly_json()
    ops = patch["operations"]
    where = {tuple(op["location"][3:5]) for op in ops}
    assert ("data", 1) in where and ("layout", "annotations") in where
    path = next(op for op in ops if op["location"][3:] == ["data", 1, "x"])["params"]["value"]
    assert path == nxt["figs"]["contour"]["data"][1]["x"] and len(path) == 3
    assert len(json.dumps(patch, default=str)) < 8000
    other = callbacks.update(nxt["state"], "view", {"view": "surface"})
    assert other["drawn"] != first["drawn"]
    assert isinstance(callbacks.body_for(other, first["drawn"]), list)


def test_recent_runs_are_kept_but_not_timed_out_ones(monkeypatch):
    monkeypatch.setattr(compute, "RUN_CACHE_MIN_S", 0.0)
    s = _state({"type": "set_preset", "name": "booth"}, {"type": "step"}, {"type": "step"})
    first = compute.full_runs(s)
    again = compute.full_runs({**s, "it": 7})  # another iteration of the same runs
    assert again[0] is first[0]  # the same Run object: kept, not computed again
    assert compute.full_runs({**s, "lr": 0.03})[0] is not first[0]
    slow = {**s, "cap": 50_000, "gtol": None}
    (run,) = compute.full_runs(slow, deadline=0.0)
    assert run.timed_out and compute.full_runs(slow, deadline=0.0)[0] is not run


def test_lru_is_bounded():
    lru = compute.LRU[int](2)
    for k in range(5):
        assert lru.get(k, lambda k=k: k * k) == k * k
    assert len(lru) == 2 and lru.peek(4) == 16 and lru.peek(0) is None


def test_the_same_formula_sent_twice_keeps_the_notice():
    # the formula box sends its value on debounce and again on Enter: the second answer must
    # not clear the notice of the first (nor parse the formula again)
    base = callbacks.update(None, "url", {"url": "?f=paraboloid"})["state"]
    once = callbacks.update(base, "formula", {"formula": "(x - 2)**2 + 1"})["state"]
    assert "needs two variables" in once["notice"] and once["view"] == "tangent"
    again = callbacks.update(once, "formula", {"formula": "(x - 2)**2 + 1"})
    assert again["keep_notice"] and again["state"]["x0"] == once["x0"]
    other = callbacks.update(again["state"], "formula", {"formula": "(x - 3)**2"})
    assert not other["keep_notice"] and other["state"]["formula"] == "(x - 3)**2"


def test_a_dropdown_clearing_itself_keeps_the_notice():
    # the formula's answer drops the variables to one: the slice dropdowns lose their option
    # "y" and clear themselves, which sends a request that asks nothing; its answer must not
    # wipe the notice of the formula's answer (the e2e honest-views test saw it vanish)
    base = callbacks.update(None, "url", {"url": "?f=paraboloid"})["state"]
    once = callbacks.update(base, "formula", {"formula": "(x - 2)**2 + 1"})["state"]
    assert "needs two variables" in once["notice"]
    for trigger in ("sy", "sx", "xcol", "ycol", "iteration", "beta"):
        out = callbacks.update(once, trigger, {trigger: None})
        assert out["keep_notice"], trigger
        assert out["state"]["view"] == "tangent" and out["state"]["formula"] == once["formula"]
    # a state the page forged is still named, not hidden behind the kept notice
    forged = callbacks.update({**once, "lr": "fast"}, "sy", {"sy": None})
    assert not forged["keep_notice"] and "lr" in forged["state"]["notice"]
    # an action that asks something answers with its own notice (here: none)
    step = callbacks.update(once, "step", {"step": 1})
    assert not step["keep_notice"] and step["state"]["notice"] == ""
