"""The explorer's classification mode: logistic regression on two features of an upload,
fitted by the view's loop (descend.minimize) and checked against GDClassifier."""

from __future__ import annotations

import base64

import numpy as np
import pytest

pytest.importorskip("dash")

from descend import GDClassifier, minimize
from descend.app import callbacks, classify, compute, figures
from descend.app.state import clean, from_query, to_query


def _csv(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def _rows(n: int = 120, seed: int = 3) -> str:
    rng = np.random.default_rng(seed)
    a = rng.normal(50, 10, n)
    b = rng.normal(-2, 3, n)
    logit = 0.25 * (a - 50) - 0.8 * (b + 2) + 0.4
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return "height,weight,sick\n" + "\n".join(
        f"{u:.4f},{v:.4f},{w}" for u, v, w in zip(a, b, y, strict=True)) + "\n"


def _uploaded(text: str | None = None, query: str = "?f=regression&view=regression"):
    s = callbacks.update(None, "url", {"url": query})["state"]
    return callbacks.update(s, "upload", {"upload": _csv(text or _rows()),
                                          "filename": "sick.csv"})


def _xy(text: str) -> tuple[np.ndarray, np.ndarray]:
    arr = np.loadtxt(text.splitlines()[1:], delimiter=",")
    return arr[:, :2], arr[:, 2]


def _converged(s):
    s = {**s, "cap": 20_000, "gtol": 1e-10}
    (run,) = compute.full_runs(s)
    assert run.result.success, run.result.message
    return s, run


def test_a_binary_target_classifies_with_a_stable_step():
    out = _uploaded()
    s = out["state"]
    assert classify.task_of(s) == ("classify", "")
    assert "sick takes two values" in s["notice"] and "lr set to 1/L" in s["notice"]
    c = classify.classes(s)
    assert c is not None and c.names == ("height", "weight", "sick") and c.labels == (0, 1)
    assert s["lr"] == pytest.approx(classify.stable_lr(c))
    assert "accuracy = " in out["status"] and "log loss = 0.6931" in out["status"]
    assert set(out["figs"]) == {"regression", "regression-landscape", "regression-loss"}
    assert out["ui"]["controls"]["tcol"] == "" and out["ui"]["controls"]["x0"]
    assert out["ui"]["tabs"]["contour"]  # the mode is drawn in its own view


def test_converged_fit_agrees_with_gdclassifier_and_its_boundary_has_p_one_half():
    text = _rows()
    s, run = _converged(_uploaded(text)["state"])
    c = classify.classes(s)
    X, y = _xy(text)
    est = GDClassifier(penalty=None, tol=1e-12, max_iter=10_000).fit(X, y)
    b, coef = classify.to_original(c, run.result.x)
    np.testing.assert_allclose(coef, est.coef_[0], rtol=1e-5)
    assert b == pytest.approx(est.intercept_[0], rel=1e-5)
    assert classify.accuracy(c, run.result.x) == pytest.approx(est.score(X, y))
    assert classify.log_loss(c, run.result.x) == pytest.approx(est.loss_curve_[-1], rel=1e-9)
    box = ((X[:, 0].min(), X[:, 0].max()), (X[:, 1].min(), X[:, 1].max()))
    bx, by = classify.boundary(c, run.result.x, box)
    assert len(bx) == 2
    ends = np.column_stack([bx, by])
    np.testing.assert_allclose(est.predict_proba(ends)[:, 1], 0.5, atol=1e-6)
    # and exactly p = 0.5 under the explorer's own model, at every iteration shown
    for k in (3, 20, run.result.nit):
        theta = compute.prefix(run.result, k).x
        bx, by = classify.boundary(c, theta, box)
        if bx:
            np.testing.assert_allclose(classify.probability(c, theta, np.column_stack(
                [bx, by])), 0.5, atol=1e-12)


def test_each_step_is_the_loop_with_that_many_iterations_and_the_figure_follows():
    s = _uploaded()["state"]
    out = callbacks.update(s, "step", {"step": 1})
    for k in (2, 3, 4):
        out = callbacks.update(out["state"], "step", {"step": k})
    assert out["state"]["it"] == 4 and "iteration: 4 of" in out["status"]
    c = classify.classes(out["state"])
    ref = minimize(classify.objective(c), [0.0, 0.0, 0.0], lr=out["state"]["lr"], max_iter=4)
    (run,) = compute.runs(out["state"])
    np.testing.assert_allclose(run.result.path, ref.path)
    fig = out["figs"]["regression"]
    (line,) = [t for t in fig["data"] if t.get("name") == "decision boundary (p = 0.5)"]
    lay = fig["layout"]
    want = classify.boundary(c, ref.x, (tuple(lay["xaxis"]["range"]),
                                        tuple(lay["yaxis"]["range"])))
    np.testing.assert_allclose(line["x"], want[0])
    np.testing.assert_allclose(line["y"], want[1])
    assert sum(1 for t in fig["data"] if t.get("name", "").startswith("sick = ")) == 2
    assert fig["data"][0]["type"] == "contour"
    assert len(out["figs"]["regression-loss"]["data"][0]["y"]) == 5
    # at iteration 0 every coefficient is zero: no boundary yet, and the status says so
    zero = callbacks.update(out["state"], "reset", {"reset": 1})
    assert "none yet" in zero["status"]
    assert figures.view_figures(zero["state"], compute.problem(zero["state"]),
                                compute.runs(zero["state"]))["regression"]["data"][-1]["x"] == []


def test_the_mode_is_chosen_shared_and_refused_honestly():
    s = _uploaded()["state"]
    line = callbacks.update(s, "task", {"task": "line"})
    assert classify.task_of(line["state"])[0] == "line" and "task=line" in line["query"]
    assert "lr set to 1/L" in line["state"]["notice"] and "fitting a line" in \
        line["state"]["notice"]
    back = from_query(to_query({**line["state"], "task": "classify"}))
    assert back["task"] == "classify"
    # a target of more than two values: classification is refused with the reason
    rows = "\n".join(f"{i},{i % 7},{i % 3}" for i in range(30))
    many = _uploaded("a,b,c\n" + rows + "\n")["state"]
    assert classify.task_of(many)[0] == "line"
    asked = callbacks.update(many, "task", {"task": "classify"})
    assert "does not take exactly two values" in asked["state"]["notice"]
    assert "regression" in asked["figs"]  # the line is drawn instead
    # no upload: the tutorial's line, and the reason
    bare = callbacks.update(None, "url", {"url": "?f=regression&view=regression&task=classify"})
    assert "classification needs an uploaded CSV" in bare["state"]["notice"]
    # choosing the class column among the file's columns
    picked = callbacks.update(s, "tcol", {"xcol": "height", "ycol": "sick", "tcol": "weight"})
    assert picked["state"]["data"]["ti"] == 1 and classify.task_of(picked["state"])[0] == "line"
    assert clean(picked["state"]) == {**picked["state"], "notice": ""}


def test_a_separable_set_says_the_coefficients_grow_without_bound():
    rows = "\n".join(f"{i},{(i * 7) % 5},{int(i >= 10)}" for i in range(20))
    s = _uploaded("a,b,t\n" + rows + "\n")["state"]
    out = callbacks.update({**s, "cap": 300}, "run", {"run": 1})
    end = callbacks.update({**out["state"], "it": 300}, "iteration", {"iteration": 300})
    assert "accuracy = 100%" in end["status"]
    assert "separable" in end["status"] and "grow without bound" in end["status"]
