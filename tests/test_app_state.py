"""The explorer's pure reducer, URL round trip, and the event mapping of its callback."""

from __future__ import annotations

import base64

import pytest

pytest.importorskip("dash")

from descend.app import callbacks
from descend.app.state import DEFAULT, MAX_ITER_CAP, data_xy, from_query, reduce, to_query


def test_reduce_does_not_change_its_input():
    s = dict(DEFAULT)
    out = reduce(s, {"type": "step"})
    assert s == DEFAULT and out["it"] == 1


def test_preset_sets_start_lr_and_variables():
    s = reduce(DEFAULT, {"type": "set_preset", "name": "paraboloid"})
    assert s["x0"] == [6.0, -3.0] and s["lr"] == 0.1 and s["variables"] == ["x", "y"]
    s = reduce(s, {"type": "set_preset", "name": "regression"})
    assert s["x0"] == [0.0, 0.0] and s["lr"] == 0.02
    assert s["variables"] == ["intercept", "slope"]
    bad = reduce(s, {"type": "set_preset", "name": "nope"})
    assert bad["f"] == "regression" and "unknown" in bad["notice"]


def test_step_run_reset_and_cap():
    s = reduce(DEFAULT, {"type": "set_option", "name": "cap", "value": 5})
    for _ in range(7):
        s = reduce(s, {"type": "step"})
    assert s["it"] == 5
    assert reduce(s, {"type": "reset"})["it"] == 0
    assert reduce(s, {"type": "run"})["it"] == 5
    big = reduce(DEFAULT, {"type": "set_option", "name": "cap", "value": 10**9})
    assert big["cap"] == MAX_ITER_CAP


def test_step_counts_clicks_sent_with_an_older_state():
    s = reduce(DEFAULT, {"type": "step", "clicks": 1})
    assert s["it"] == 1
    # two more clicks before the answer came back: the page sends the old state and 3
    assert reduce(s, {"type": "step", "clicks": 3})["it"] == 3


def test_start_typed_clicked_random():
    s = reduce(DEFAULT, {"type": "set_start", "x0": "0.5, -0.25"})
    assert s["x0"] == [0.5, -0.25]
    s2 = reduce(s, {"type": "set_start", "x0": [0.123456789, 1.5]})
    assert s2["x0"] == [0.123456789, 1.5]
    bad = reduce(s, {"type": "set_start", "x0": "1, nan"})
    assert bad["x0"] == [0.5, -0.25] and "start" in bad["notice"]
    r1 = reduce(s, {"type": "set_start", "source": "random", "seed": 7, "bounds": (-2, 2)})
    r2 = reduce(s, {"type": "set_start", "source": "random", "seed": 7, "bounds": (-2, 2)})
    assert r1["x0"] == r2["x0"] and all(-2 <= v <= 2 for v in r1["x0"])


def test_lr_methods_policy_view():
    s = reduce(DEFAULT, {"type": "set_lr", "lr": 1e9})
    assert s["lr"] == 10.0
    assert reduce(DEFAULT, {"type": "set_lr", "lr": "x"})["lr"] == DEFAULT["lr"]
    s = reduce(s, {"type": "set_methods", "methods": ["adam", "bogus", "gd", "adam"]})
    assert s["methods"] == ["adam", "gd"]
    assert reduce(s, {"type": "set_methods", "methods": []})["methods"] == ["gd"]
    assert reduce(s, {"type": "set_policy", "policy": "bb"})["policy"] == "bb"
    assert reduce(s, {"type": "set_policy", "policy": "rm -rf"})["policy"] == "fixed"
    assert reduce(s, {"type": "set_view", "view": "surface"})["view"] == "surface"
    assert reduce(s, {"type": "set_preset_1d", "name": "good"})["p1d"] == "good"


def test_formula_events():
    s = reduce(DEFAULT, {"type": "set_formula", "text": "a + b + c", "variables": ["a", "b", "c"]})
    assert s["f"] == "custom" and s["variables"] == ["a", "b", "c"] and s["x0"] == [1.0] * 3
    e = reduce(s, {"type": "set_formula", "text": "x**", "error": "formula: syntax error"})
    assert e["error"] == "formula: syntax error"


@pytest.mark.parametrize("events", [
    [{"type": "set_preset", "name": "himmelblau"}, {"type": "set_start", "x0": [0.1, 0.2]},
     {"type": "set_methods", "methods": ["gd", "adam"]}, {"type": "set_lr", "lr": 0.003},
     {"type": "step"}, {"type": "step"}, {"type": "set_view", "view": "loss"}],
    [{"type": "set_policy", "policy": "backtracking"}, {"type": "run"},
     {"type": "set_option", "name": "ftol", "value": "1e-9"}, {"type": "step"}],
    [{"type": "set_formula", "text": "x**2 + 3*y**2", "variables": ["x", "y"]},
     {"type": "set_start", "x0": "2, 1"}, {"type": "step"}],
    [{"type": "set_methods", "methods": ["momentum", "adam"]},
     {"type": "set_param", "name": "beta", "value": 0.7},
     {"type": "set_param", "name": "b2", "value": 0.95},
     {"type": "set_param", "name": "speed", "value": 300},
     {"type": "set_choice", "name": "log", "value": "off"},
     {"type": "set_choice", "name": "aspect", "value": "auto"},
     {"type": "set_choice", "name": "forces", "value": False},
     {"type": "set_policy", "policy": "backtracking"},
     {"type": "set_param", "name": "c", "value": 0.01}, {"type": "set_it", "it": 17}],
])
def test_url_round_trip(events):
    s = dict(DEFAULT)
    for ev in events:
        s = reduce(s, ev)
    back = from_query(to_query(s))
    keys = ["f", "x0", "methods", "lr", "policy", "it", "cap", "gtol", "ftol", "xtol", "view",
            "p1d", "beta", "b1", "b2", "c", "shrink", "speed", "log", "aspect", "forces", "mb",
            "batch", "grid", "sx", "sy"]
    assert {k: back[k] for k in keys} == {k: s[k] for k in keys}
    if s["f"] == "custom":
        assert back["formula"] == s["formula"]


def test_from_query_ignores_garbage():
    s = from_query("?f=%3Cscript%3E&lr=-1&it=abc&cap=1e99&view=../../etc&methods=evil")
    assert s["f"] == DEFAULT["f"] and s["lr"] == DEFAULT["lr"] and s["it"] == 0
    assert s["cap"] == MAX_ITER_CAP and s["view"] == "contour" and s["methods"] == ["gd"]


def _csv(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def test_upload_is_checked():
    ok = callbacks.parse_upload(_csv("x,y\n0,1\n1,3\n2,5\n"), "line.csv")
    x, _y, stats = data_xy(ok["data"])
    assert stats[0] == 3 and x == [0.0, 1.0, 2.0] and ok["notice"] == ""
    assert "error" in callbacks.parse_upload(_csv("a\n1\n"), "one.csv")
    assert "error" in callbacks.parse_upload(_csv("not,a\ncsv"), "x.csv")
    rows = "x,y\n" + "1,2\n" * (callbacks.MAX_ROWS + 5)
    assert "100,000" in callbacks.parse_upload(_csv(rows), "big.csv")["error"]
    huge = "data:text/csv;base64," + "A" * (14 * 1024 * 1024)
    assert "10 MB" in callbacks.parse_upload(huge, "huge.csv")["error"]
    s = reduce(DEFAULT, {"type": "upload", **callbacks.parse_upload(_csv("a\n1\n"), "e")})
    assert s["data"] is None and s["notice"].startswith("upload")


def test_events_for_controls():
    s = dict(DEFAULT)
    assert callbacks.event_for("lr-slider", {"lr-slider": -2}, s) == [
        {"type": "set_lr", "lr": 0.01}]
    assert callbacks.event_for("click", {"click": {"x": 0.25, "y": 1.5}}, s) == [
        {"type": "set_start", "x0": [0.25, 1.5]}]
    assert callbacks.event_for("preset", {"preset": "custom"}, s) == []
    assert callbacks.event_for("step", {"step": 4}, s) == [{"type": "step", "clicks": 4}]


def test_formula_help_lists_every_function_of_the_grammar():
    from descend.app.layout import build
    from descend.formula import FUNCTIONS, MAX_VARIABLES

    def find(node, cid):
        if getattr(node, "id", None) == cid:
            return node
        kids = getattr(node, "children", None)
        for kid in kids if isinstance(kids, list) else [kids]:
            hit = find(kid, cid) if kid is not None and not isinstance(kid, str) else None
            if hit is not None:
                return hit
        return None

    help_box = find(build(), "formula-help")
    assert help_box is not None
    text = help_box.children[1].children
    for name in FUNCTIONS:
        assert f" {name}," in text or f" {name}." in text, name
    assert str(MAX_VARIABLES) in text
