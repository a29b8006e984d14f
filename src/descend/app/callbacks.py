"""Thin callbacks: turn what the page sent into events, reduce, compute, render.

One callback owns the state; it reads the state from the page, never from the server,
and validates it first (:func:`descend.app.state.clean`). Playing is done by the server
a frame at a time (the ``ticker`` interval sends ``tick`` events), so the status text,
the current-point marker and the drawn path always show the same iteration; each frame
is a slice of runs computed once and kept. Dragging a slider (lr, the betas) sends its
value at most every 120 ms (``assets/explorer.js``) and the whole new path is drawn.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import secrets
import time
from typing import Any

import numpy as np
import plotly.graph_objects as go
from dash import Dash, Input, Output, Patch, State, ctx, no_update

from .. import suggest_lr
from . import classify, compute, figures, layout, teach, worker
from .state import (
    DEFAULT,
    MAX_CELLS,
    MAX_COLUMNS,
    PRESETS_1D,
    clean,
    from_query,
    preset_1d_fraction,
    reconcile,
    reduce,
    to_query,
    view_for,
)

__all__ = ["MAX_ROWS", "MAX_UPLOAD_BYTES", "body_for", "event_for", "parse_upload", "register",
           "ui_for", "update"]

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
LIVE_TIME_S = 1.0  #: the time budget of a redraw while a slider is dragged
#: the views of the classification mode (the other views draw a function of two variables)
CLASSIFY_VIEWS = ("regression", "loss")

_LOG = logging.getLogger("descend.app")

_CONTROLS = ["preset", "formula", "x0", "random", "method", "lr-slider", "lr", "policy", "cap",
             "gtol", "ftol", "xtol", "step", "run", "reset", "view", "preset-1d", "upload",
             "click", "url", "pause", "iteration", "speed", "beta", "b1", "b2", "c", "shrink",
             "log", "aspect", "forces", "mb", "batch", "grid", "sx", "sy", "xcol", "ycol",
             "tcol", "task", "live", "ticker"]
_PROPS = {"random": "n_clicks", "step": "n_clicks", "run": "n_clicks", "reset": "n_clicks",
          "pause": "n_clicks", "upload": "contents", "click": "data", "url": "search",
          "live": "data", "ticker": "n_intervals"}
_SLIDER_PARAMS = ("beta", "b1", "b2")
_NUMBER_PARAMS = ("c", "shrink", "batch", "grid")


def parse_upload(contents: Any, filename: Any) -> dict[str, Any]:
    """A CSV upload as ``{"data": ..., "notice": ...}`` or ``{"error": message}``.

    Read by :func:`descend.io.read_frame` (the one table reader): duplicate or unnamed
    headers are refused, and rows with a missing or non-finite value are not dropped
    silently: the upload is refused with the column and row named. Non-numeric columns
    are named in the notice; with more than two numeric columns the first two are used
    and the notice asks which to use.
    """
    if not isinstance(contents, str) or "," not in contents:
        return {"error": "upload: nothing was received"}
    raw = contents.split(",", 1)[1]
    if len(raw) * 3 // 4 > MAX_UPLOAD_BYTES:
        return {"error": "upload: the file is over 10 MB; send at most 10 MB"}
    try:
        text = base64.b64decode(raw, validate=False).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return {"error": "upload: expected a UTF-8 CSV file"}
    if text.count("\n") > MAX_ROWS + 1:
        return {"error": f"upload: more than {MAX_ROWS:,} rows; send at most {MAX_ROWS:,}"}
    import pandas as pd

    from .. import io as dio  # the one table reader: NaN rows are refused, not dropped
    from ..errors import DescendError

    shown = filename[:80] if isinstance(filename, str) and filename else "upload.csv"
    try:
        frame = dio.read_frame(text.encode("utf-8"), format="csv", name=shown,
                               max_rows=MAX_ROWS, what="upload")
        cols = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        if len(cols) < 2:
            return {"error": "upload: expected two numeric columns (x, y)"}
        if len(cols) > MAX_COLUMNS:
            return {"error": f"upload: {len(cols)} numeric columns; send at most "
                             f"{MAX_COLUMNS}"}
        xy = dio.numeric_columns(frame, cols, name=shown, what="upload")
    except DescendError as exc:
        return {"error": str(exc).splitlines()[0][:300]}
    other = [str(c) for c in frame.columns if c not in cols]
    if len(xy) < 2 or float(np.abs(xy).max()) > 1e6:
        return {"error": "upload: need at least 2 rows with |values| <= 1e6"}
    keep_n = min(len(xy), compute.SAMPLE, MAX_CELLS // len(cols))
    keep = np.linspace(0, len(xy) - 1, keep_n).astype(int)
    names = [str(c)[:40] for c in cols]
    sample = xy[keep]
    # the class column of the classification mode: the last one taking two values (in the
    # file and in the sample the page keeps), the features the first two others
    two = [j for j in range(len(cols)) if len(cols) > 2
           and np.unique(xy[:, j]).size == 2 and np.unique(sample[:, j]).size == 2]
    ti = two[-1] if two else (len(cols) - 1 if len(cols) > 2 else -1)
    xi, yi = [j for j in range(len(cols)) if j != ti][:2]
    notes = []
    if other:
        notes.append(f"ignored non-numeric column(s): {', '.join(other)[:120]}")
    if two:
        notes.append(f"the file has {len(cols)} numeric columns; {names[ti]} takes two "
                     f"values: classifying it from x = {names[xi]} and y = {names[yi]}; "
                     "choose the columns under 'x column', 'y column' and 'class column'")
    elif len(cols) > 2:
        notes.append(f"the file has {len(cols)} numeric columns: fitting y = {names[yi]} "
                     f"against x = {names[xi]}; choose the columns under 'x column' and "
                     "'y column'")
    return {"data": {"name": shown, "columns": names,
                     "cols": [sample[:, j].tolist() for j in range(len(cols))],
                     "n": len(xy), "mean": xy.mean(axis=0).tolist(),
                     "m2": (xy.T @ xy / len(xy)).tolist(), "xi": xi, "yi": yi, "ti": ti},
            "notice": "; ".join(notes)}


def _float(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def event_for(trigger: str | None, values: dict[str, Any], state: dict[str, Any]
              ) -> list[dict[str, Any]]:
    """The reducer events for what triggered the callback (several for a URL load)."""
    v = values.get(trigger or "")
    if trigger in (None, "url"):
        query = values.get("url") or ""
        events: list[dict[str, Any]] = [{"type": "load_url", "query": query}]
        q = from_query(query if isinstance(query, str) else "")
        if q["f"] == "custom" and q["formula"]:
            events.append({"type": "set_formula", "text": q["formula"], "source": "url",
                           **_checked(q["formula"])})
        return events
    simple = {"preset": ("set_preset", "name"), "method": ("set_methods", "methods"),
              "lr": ("set_lr", "lr"), "policy": ("set_policy", "policy"),
              "view": ("set_view", "view"), "preset-1d": ("set_preset_1d", "name"),
              "x0": ("set_start", "x0"), "iteration": ("set_it", "it")}
    if v is None and trigger in ("sx", "sy", "xcol", "ycol", "tcol", "task", "iteration",
                                 "speed", "beta", "b1", "b2", "lr-slider", "live"):
        return []  # a widget cleared itself (its options changed): nothing was asked
    if trigger in simple:
        kind, key = simple[trigger]
        if trigger == "preset" and v == "custom":
            return []
        return [{"type": kind, key: v}]
    if trigger == "lr-slider":
        e = _float(v)
        return [{"type": "set_lr", "lr": 10.0 ** min(max(e, -5.0), 1.0)}] if e is not None \
            else [{"type": "set_lr", "lr": v}]
    if trigger == "speed":
        e = _float(v)
        return [{"type": "set_param", "name": "speed",
                 "value": 10.0 ** min(max(e, 0.0), 3.0) if e is not None else v}]
    if trigger in (*_SLIDER_PARAMS, *_NUMBER_PARAMS):
        return [{"type": "set_param", "name": trigger, "value": v}]
    if trigger == "live" and isinstance(v, dict):
        key = {"lr-slider": "lr"}.get(str(v.get("id")), str(v.get("id")))
        now = state.get(key)
        e = _float(v.get("value"))
        if e is not None and now is not None and (
                math.isclose(e, now) or (key == "lr" and math.isclose(10.0 ** e, now))):
            return []  # the slider only moved to where the state already is
        return event_for(v.get("id") if v.get("id") in ("lr-slider", *_SLIDER_PARAMS)
                         else "nope", {**values, str(v.get("id")): v.get("value")}, state)
    if trigger in ("sx", "sy"):
        return [{"type": "set_param", "name": trigger, "value": v}]
    if trigger in ("log", "aspect", "task"):
        return [{"type": "set_choice", "name": trigger, "value": v}]
    if trigger in ("forces", "mb"):
        return [{"type": "set_choice", "name": trigger,
                 "value": isinstance(v, list) and "on" in v}]
    if trigger in ("xcol", "ycol", "tcol"):
        return [{"type": "set_columns", "x": values.get("xcol"), "y": values.get("ycol"),
                 **({"t": values.get("tcol")} if values.get("tcol") is not None else {})}]
    if trigger == "formula":
        text = v.strip() if isinstance(v, str) else ""
        if (text and state.get("f") == "custom" and text == state.get("formula")
                and not state.get("error")):
            return []  # the same formula again (the box's debounce and Enter both send it)
        return [{"type": "set_formula", "text": text, **_checked(text)}] if text else []
    if trigger in ("cap", "gtol", "ftol", "xtol"):
        return [{"type": "set_option", "name": trigger, "value": v}]
    if trigger == "step":
        return [{"type": "step", "clicks": v}]
    if trigger in ("run", "reset"):
        return [{"type": trigger}]
    if trigger == "ticker":
        return [{"type": "tick"}]
    if trigger == "random":
        return [{"type": "set_start", "source": "random", "seed": secrets.randbits(31),
                 "bounds": _random_bounds(state)}]
    if trigger == "click":
        if not isinstance(v, dict):
            return [{"type": "set_start", "x0": None}]
        x0 = list(state["x0"])
        if len(x0) >= 3:  # a click on a slice moves the start in the slice's two variables
            i, j = int(state["sx"]) % len(x0), int(state["sy"]) % len(x0)
            x0[i], x0[j] = v.get("x"), v.get("y")
            return [{"type": "set_start", "x0": x0}]
        return [{"type": "set_start", "x0": [v.get("x"), v.get("y")]}]
    if trigger == "upload":
        return [{"type": "upload", **parse_upload(v, values.get("filename"))}]
    return []


def _checked(text: str) -> dict[str, Any]:
    out = worker.check(text)
    if "error" in out:
        return {"error": out["error"]}
    return {"variables": out["variables"]}


def _random_bounds(state: dict[str, Any]) -> tuple[float, float]:
    prob = compute.problem(state)
    if prob is not None and prob.bounds:
        return prob.bounds[0]
    return (-3.0, 3.0)


def _latex(prob: compute.Problem | None) -> str:
    if prob is None:
        return ""
    parts = [f"$$f = {prob.latex}$$"] + [
        f"$$\\frac{{\\partial f}}{{\\partial {v}}} = {d}$$" for v, d in prob.partials.items()]
    return "\n".join(parts)


def checked_state(s: dict[str, Any]) -> dict[str, Any]:
    """``s`` with its custom formula checked in the sandboxed worker (cached): variables,
    the start's length and the error come from the worker's answer, never from the page."""
    if s["f"] == "custom":
        if not s["formula"]:
            return {**s, "error": "formula: type a function of your variables"}
        return reconcile(s, _checked(s["formula"]))
    return s


def _notice(*parts: str) -> str:
    return "; ".join(n for n in dict.fromkeys(parts) if n)


def update(state: dict[str, Any] | None, trigger: str | None, values: dict[str, Any]
           ) -> dict[str, Any]:
    """Everything the page shows after ``trigger``, as a plain dict (tested directly)."""
    s = clean(state) if state is not None else dict(DEFAULT)
    before = dict(s)
    notices = [s["notice"]]
    events = event_for(trigger, values, s)
    # a request that asks nothing (the same formula sent again by the box's debounce and
    # Enter; a dropdown clearing itself because the last answer changed its options, as
    # ``sy`` does when a formula drops to one variable) must not clear the notice that
    # answer put on the page: ``clean`` starts every state's notice empty
    asked_nothing = not events and state is not None and trigger not in (None, "url")
    if state is None and trigger not in (None, "url"):  # an answer crossed the page's load
        events = [*event_for("url", values, s), *events]
    for ev in events:
        s = reduce(s, ev)
        notices.append(s["notice"])
    s = checked_state(s)
    task, task_why = classify.task_of(s)
    notices.append(task_why)
    prob = compute.problem(s) if not s.get("error") else None
    p = len(prob.variables) if prob is not None else len(s["variables"])
    view, why = view_for(s["view"], s["f"], p)
    if task == "classify" and view not in CLASSIFY_VIEWS:
        view, why = "regression", ("classifying is drawn in the fitting-a-line view (and the "
                                   "loss curve)")
    s["view"] = view
    notices.append(why)
    if trigger == "preset-1d" and prob is not None and p == 1:
        frac = preset_1d_fraction(s["p1d"], int(s["cap"]))
        s["lr"] = float(min(max(frac * 2.0 * suggest_lr(prob.fun, s["x0"]), 1e-5), 10.0))
    if s["f"] == "regression" and s.get("data") and (
            trigger in ("upload", "xcol", "ycol", "tcol", "task")
            or before["f"] != "regression"):
        s["lr"] = float(min(max(compute.stable_lr(s), 1e-5), 10.0))
        c = classify.classes(s)
        what = "fitting a line" if c is None else (
            f"classifying {c.names[2]} ({compute.g4(c.labels[0])} or "
            f"{compute.g4(c.labels[1])}) from {c.names[0]} and {c.names[1]} by logistic "
            "regression" + (f", on a sample of {len(c.y):,} of the {c.n_file:,} rows"
                            if len(c.y) < c.n_file else ""))
        notices.append(f"{what}: lr set to 1/L = {compute.g4(s['lr'])} for this data "
                       f"(the largest stable step is 2/L = {compute.g4(2 * s['lr'])})")
    live = trigger == "live"
    budget = LIVE_TIME_S if live else compute.TIME_LIMIT_S
    deadline = time.monotonic() + budget
    full = compute.full_runs(s, prob, deadline) if prob is not None else []
    end = compute.end_of(full)
    playing = trigger in ("run", "ticker")
    if trigger == "run":
        s["it"] = int(before["it"]) if int(before["it"]) < end else 0
    s["it"] = min(int(s["it"]), end) if full else int(s["it"])
    if trigger == "ticker" and s["it"] >= end:
        playing = False
    s["notice"] = _notice(*notices)
    it = int(s["it"])
    rs = [compute.Run(r.label, compute.prefix(r.result, it), r.timed_out, r.result)
          for r in full]
    drawn = figures.drawing(s, prob, rs) if (rs or s["view"] == "regression") \
        else figures.Drawing({})
    speed = int(s["speed"])
    return {"state": s, "query": to_query(s), "figs": drawn.figs, "drawn": drawn.key,
            "patch": drawn.patch, "status": teach.status_text(s, rs), "latex": _latex(prob),
            "error": s.get("error") or "", "playing": playing and it < end,
            "interval": max(100, int(1000 / max(speed, 1))), "end": end,
            "ui": ui_for(s, p), "variables": list(prob.variables) if prob else [],
            "keep_notice": asked_nothing and not s["notice"]}


def ui_for(s: dict[str, Any], p: int) -> dict[str, Any]:
    """Which controls the view ignores (disabled) and why (the tooltip), and which tabs
    cannot show this function."""
    view, why = s["view"], {}
    ms = set(s["methods"])
    if view == "sweep":
        for c in ("lr", "lr-slider", "policy"):
            why[c] = "choosing a step sweeps its own learning rates around 1/L"
    if view == "basins":
        why["x0"] = why["random"] = "the basins view starts from a grid over the whole box"
    if view in ("loss", "sweep", "regression"):
        for c in ("log", "aspect", "forces"):
            why[c] = "this view has no landscape of f to colour or scale"
    if view == "tangent":
        why["log"] = why["aspect"] = "the curve shows f itself on its vertical axis"
    if view == "surface":
        why["forces"] = "the forces are drawn on the contour and on the curve"
    if view == "basins":
        why["forces"] = "the basins view shows where each start ends, not one point"
    if s["f"] == "regression":
        why["aspect"] = "the line's loss has different units on its two axes"
    if s["f"] != "regression" or view != "regression":
        for c in ("mb", "batch"):
            why[c] = "the mini-batch path is drawn in the fitting-a-line view"
    data = s.get("data")
    if not data or len(data["columns"]) <= 2:
        why["xcol"] = why["ycol"] = why["tcol"] = ("upload a CSV with more than two numeric "
                                                   "columns")
    if s["f"] != "regression":
        why["task"] = "classifying is a mode of the fitting-a-line view"
    classifying = classify.task_of(s)[0] == "classify"
    if classifying:
        why["x0"] = why["random"] = "classifying starts from all-zero coefficients"
        why["mb"] = why["batch"] = "the mini-batch path is drawn when fitting a line"
    elif "tcol" not in why:
        why["tcol"] = "the target column is used when classifying"
    if not ms & {"momentum", "nesterov"}:
        why["beta"] = "momentum β is used by momentum and nesterov: tick one of them"
    if "adam" not in ms:
        why["b1"] = why["b2"] = "Adam's betas are used by adam: tick it"
    if s["policy"] not in ("backtracking", "bb"):
        why["c"] = "the Armijo constant is used by the backtracking and bb policies"
    if s["policy"] != "backtracking":
        why["shrink"] = "the shrink factor is used by the backtracking policy"
    if s["policy"] in ("bb", "auto") and view != "sweep":
        why["lr"] = why["lr-slider"] = f"the {s['policy']} policy chooses its own steps"
    if p != 1:
        why["preset-1d"] = "step-size presets are for a function of one variable (the slope view)"
    if p < 3:
        why["sx"] = why["sy"] = "a slice is drawn for functions of three or more variables"
    elif classifying:
        why["sx"] = why["sy"] = "classifying draws the features, not a slice"
    if view != "basins":
        why["grid"] = "used by the basins view"
    tabs = {}
    if classifying:
        for v in layout.GRAPH_IDS:
            if v not in CLASSIFY_VIEWS:
                tabs[v] = "classifying is drawn in the fitting-a-line view and the loss curve"
    if p == 1:
        tabs["contour"] = tabs["surface"] = "needs two or more variables"
    if p != 2:
        tabs["basins"] = "needs exactly two variables"
    return {"controls": {c: why.get(c, "") for c in layout.TOGGLED}, "tabs": tabs}


def body_for(out: dict[str, Any], shown: str | None) -> Any:
    """The view's graphs for :func:`update`'s ``out``; a ``Patch`` of what moves only when
    the page already shows a figure with everything else the same (``shown``, its key)."""
    view = out["state"]["view"]
    if not out["figs"]:
        return no_update
    if not out["drawn"] or out["drawn"] != shown:
        return layout.view_children(view, out["figs"])
    patch = Patch()
    graphs = [g for g in layout.GRAPH_IDS[view] if g in out["figs"]]
    for g, graph in enumerate(graphs):
        fig = out["figs"][graph]
        for loc in out["patch"].get(graph, ()):
            value: Any = fig
            for k in loc:
                value = value[k]
            target = patch[g]["props"]["figure"]
            for k in loc[:-1]:
                target = target[k]
            target[loc[-1]] = value
    return patch


def _columns(s: dict[str, Any]) -> tuple[list[Any], Any, Any, Any]:
    data = s.get("data")
    if not data:
        return [], None, None, None
    opts = [{"label": c, "value": c} for c in data["columns"]]
    ti = data.get("ti", -1)
    return (opts, data["columns"][data["xi"]], data["columns"][data["yi"]],
            data["columns"][ti] if ti >= 0 else None)


_OUTPUTS = [
    ("state", "data"), ("url", "search"), ("view-body", "children"), ("status", "children"),
    ("formula-error", "children"), ("latex", "children"), ("ticker", "disabled"),
    ("ticker", "interval"), ("preset", "value"), ("formula", "value"), ("x0", "value"),
    ("method", "value"), ("lr", "value"), ("lr-slider", "value"), ("policy", "value"),
    ("cap", "value"), ("view", "value"), ("preset-1d", "value"), ("notice", "children"),
    ("drawn", "data"), ("iteration", "max"), ("iteration", "value"), ("speed", "value"),
    ("beta", "value"), ("b1", "value"), ("b2", "value"), ("c", "value"), ("shrink", "value"),
    ("log", "value"), ("aspect", "value"), ("forces", "value"), ("mb", "value"),
    ("batch", "value"), ("grid", "value"), ("sx", "options"), ("sx", "value"),
    ("sy", "options"), ("sy", "value"), ("xcol", "options"), ("xcol", "value"),
    ("ycol", "options"), ("ycol", "value"), ("ui", "data"), ("forces-key", "children"),
    ("tcol", "options"), ("tcol", "value"), ("task", "value"),
]

#: triggers that only move the iteration shown, and the outputs they change
_MOVES = ("step", "ticker", "iteration", "pause", "reset", "run")
_MOVING = {("state", "data"), ("url", "search"), ("view-body", "children"),
           ("status", "children"), ("ticker", "disabled"), ("ticker", "interval"),
           ("notice", "children"), ("drawn", "data"), ("iteration", "max"),
           ("iteration", "value"), ("formula-error", "children")}

_KEY = ("arrows at the current point: pink, the direction of −∇f (downhill); the run's "
        "colour, the next step to scale; orange, the velocity's share of it (momentum); "
        "grey, the plain gradient step −t∇f beside an adaptive one")


def _answer(out: dict[str, Any], shown: str | None, trigger: str | None) -> tuple[Any, ...]:
    s = out["state"]
    lr = float(s["lr"])
    var_opts = [{"label": v, "value": i} for i, v in enumerate(out["variables"])]
    cols, xcol, ycol, tcol = _columns(s)
    forces_on = s["forces"] and s["view"] in ("contour", "tangent")
    values = {
        ("state", "data"): s, ("url", "search"): out["query"],
        ("view-body", "children"): body_for(out, shown), ("status", "children"): out["status"],
        ("formula-error", "children"): out["error"], ("latex", "children"): out["latex"],
        # a frame never restarts the ticker (a Pause may have been clicked since it was
        # sent); only Run starts it, and the last frame, Pause or any other action stop it
        ("ticker", "disabled"): (no_update if out["playing"] and trigger == "ticker"
                                 else not out["playing"]),
        ("ticker", "interval"): out["interval"],
        ("preset", "value"): s["f"],
        ("formula", "value"): s["formula"] if s["f"] == "custom" else "",
        ("x0", "value"): ", ".join(f"{v:g}" for v in s["x0"]),
        ("method", "value"): s["methods"], ("lr", "value"): lr,
        ("lr-slider", "value"): math.log10(lr), ("policy", "value"): s["policy"],
        ("cap", "value"): s["cap"], ("view", "value"): s["view"],
        ("preset-1d", "value"): s["p1d"],
        ("notice", "children"): no_update if out.get("keep_notice") else s.get("notice", ""),
        ("drawn", "data"): out["drawn"] if out["figs"] else no_update,
        ("iteration", "max"): max(out["end"], 1), ("iteration", "value"): s["it"],
        ("speed", "value"): math.log10(max(int(s["speed"]), 1)),
        ("log", "value"): s["log"], ("aspect", "value"): s["aspect"],
        ("forces", "value"): ["on"] if s["forces"] else [],
        ("mb", "value"): ["on"] if s["mb"] else [],
        ("sx", "options"): var_opts, ("sx", "value"): s["sx"],
        ("sy", "options"): var_opts, ("sy", "value"): s["sy"],
        ("xcol", "options"): cols, ("xcol", "value"): xcol,
        ("ycol", "options"): cols, ("ycol", "value"): ycol,
        ("tcol", "options"): cols if len(cols) > 2 else [], ("tcol", "value"): tcol,
        ("task", "value"): s["task"],
        ("ui", "data"): out["ui"], ("forces-key", "children"): _KEY if forces_on else "",
    }
    for k in (*_SLIDER_PARAMS, *_NUMBER_PARAMS):
        values[(k, "value")] = s[k]
    if trigger in _MOVES:  # only the iteration moved: the controls stay as they are
        return tuple(values[o] if o in _MOVING else no_update for o in _OUTPUTS)
    return tuple(values[o] for o in _OUTPUTS)


def register(app: Dash) -> None:
    """Attach the callbacks to ``app``."""
    inputs = [Input(c, _PROPS.get(c, "value")) for c in _CONTROLS]
    outputs = [Output(c, p) for c, p in _OUTPUTS]

    @app.callback(outputs, inputs, State("upload", "filename"), State("state", "data"),
                  State("drawn", "data"))
    def _main(*args: Any) -> tuple[Any, ...]:
        values = dict(zip(_CONTROLS, args[: len(_CONTROLS)], strict=True))
        values["filename"] = args[len(_CONTROLS)]
        state, shown = args[-2], args[-1]
        trigger = ctx.triggered_id if ctx.triggered_id in _CONTROLS else None
        if trigger is None and state is not None:
            trigger = "url"
        try:
            out = update(state, trigger, values)
            return _answer(out, shown, trigger)
        except Exception as exc:  # the last guard: a notice, never an HTTP 500
            _LOG.exception("explorer: request failed")
            notice = f"could not do that ({type(exc).__name__}); the page is unchanged"
            return tuple(notice if o == ("notice", "children") else no_update
                         for o in _OUTPUTS)

    @app.callback(Output("download-html", "data"), Input("download-html-button", "n_clicks"),
                  State("state", "data"), prevent_initial_call=True)
    def _download_html(_: int, state: Any) -> Any:
        s = checked_state(clean(state))
        prob = compute.problem(s)
        rs = compute.runs(s, prob) if prob is not None else []
        if not rs:
            return no_update
        figs = figures.view_figures(s, prob, rs)
        fig = go.Figure(next(iter(figs.values())))
        return {"content": fig.to_html(include_plotlyjs=True, full_html=True),
                "filename": f"descend-{s['view']}.html", "type": "text/html"}

    @app.callback(Output("download-csv", "data"), Input("download-csv-button", "n_clicks"),
                  State("state", "data"), prevent_initial_call=True)
    def _download_csv(_: int, state: Any) -> Any:
        s = checked_state(clean(state))
        prob = compute.problem(s)
        rs = compute.runs(s, prob) if prob is not None else []
        return {"content": compute.path_csv(rs), "filename": "descend-path.csv",
                "type": "text/csv"}

    toggled = [Output(c, "options" if c in layout.OPTION_CONTROLS else "disabled")
               for c in layout.TOGGLED]
    boxes = [Output(f"{c}-box", "title") for c in layout.TOGGLED if c != "random"]
    tabs = [Output(f"tab-{v}", "disabled") for v in layout.GRAPH_IDS]
    options = {c: _options(c) for c in layout.OPTION_CONTROLS}
    app.clientside_callback(  # type: ignore[no-untyped-call]
        "function(ui) { return window.descendExplorer.applyUi(ui, "
        f"{list(layout.TOGGLED)!r}, {list(layout.GRAPH_IDS)!r}, "
        f"{json.dumps(options)}); }}",
        [*toggled, *boxes, *tabs], Input("ui", "data"),
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]  # Pause stops at once
        "function(n) { return true; }", Output("ticker", "disabled", allow_duplicate=True),
        Input("pause", "n_clicks"), prevent_initial_call=True,
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        "function(a, b, c, d) { return window.descendExplorer.throttle(a, b, c, d); }",
        Output("live", "data"), Input("lr-slider", "drag_value"), Input("beta", "drag_value"),
        Input("b1", "drag_value"), Input("b2", "drag_value"), prevent_initial_call=True,
    )


def _options(cid: str) -> list[dict[str, Any]]:
    from .state import CHOICES, POLICIES

    if cid == "policy":
        return [{"label": p, "value": p} for p in POLICIES]
    if cid == "preset-1d":
        return [{"label": k.replace("_", " "), "value": k} for k in PRESETS_1D]
    if cid == "log":
        return [{"label": v, "value": v} for v in CHOICES["log"]]
    if cid == "task":
        return [{"label": text, "value": v} for v, text in layout.TASKS.items()]
    if cid == "aspect":
        return [{"label": "equal", "value": "equal"}, {"label": "free", "value": "auto"}]
    if cid == "forces":
        return [{"label": " show the forces at the current point", "value": "on"}]
    return [{"label": " mini-batch path beside", "value": "on"}]

