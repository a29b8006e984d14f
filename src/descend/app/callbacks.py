"""Thin callbacks: turn what the page sent into an event, reduce, compute, render.

One callback owns the state; it reads the state from the page, never from the
server. The animation of a Run and the exact click position are done in the
browser (a clientside callback and ``assets/explorer.js``).
"""

from __future__ import annotations

import base64
import math
import secrets
import time
from typing import Any

import numpy as np
import plotly.graph_objects as go
from dash import Dash, Input, Output, Patch, State, ctx, no_update

from . import compute, figures, layout, worker
from .state import DEFAULT, from_query, reduce, to_query

__all__ = ["MAX_ROWS", "MAX_UPLOAD_BYTES", "body_for", "event_for", "parse_upload", "register",
           "update"]

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000

_CONTROLS = ["preset", "formula", "x0", "random", "method", "lr-slider", "lr", "policy", "cap",
             "gtol", "ftol", "xtol", "step", "run", "reset", "view", "preset-1d", "upload",
             "click", "url"]
_PROPS = {"random": "n_clicks", "step": "n_clicks", "run": "n_clicks", "reset": "n_clicks",
          "upload": "contents", "click": "data", "url": "search"}


def parse_upload(contents: str | None, filename: str | None) -> dict[str, Any]:
    """A CSV upload as ``{"data": ...}`` (a sample and the sums), or ``{"error": message}``."""
    if not contents or "," not in contents:
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

    shown = str(filename or "upload.csv")[:80]
    try:
        frame = dio.read_frame(text.encode("utf-8"), format="csv", name=shown,
                               max_rows=MAX_ROWS, what="upload")
        cols = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        if len(cols) < 2:
            return {"error": "upload: expected two numeric columns (x, y)"}
        xy = dio.numeric_columns(frame, cols[:2], name=shown, what="upload")
    except DescendError as exc:
        return {"error": str(exc)}
    if len(xy) < 2 or float(np.abs(xy).max()) > 1e6:
        return {"error": "upload: need at least 2 rows with |values| <= 1e6"}
    keep = np.linspace(0, len(xy) - 1, min(len(xy), compute.SAMPLE)).astype(int)
    return {"data": {"name": str(filename or "upload.csv")[:80], "x": xy[keep, 0].tolist(),
                     "y": xy[keep, 1].tolist(),
                     "stats": compute._stats(xy[:, 0], xy[:, 1])}}


def event_for(trigger: str | None, values: dict[str, Any], state: dict[str, Any]
              ) -> list[dict[str, Any]]:
    """The reducer events for what triggered the callback (several for a URL load)."""
    v = values.get(trigger or "")
    if trigger in (None, "url"):
        events: list[dict[str, Any]] = [{"type": "load_url", "query": values.get("url") or ""}]
        q = from_query(values.get("url") or "")
        if q["f"] == "custom":
            events.append({"type": "set_formula", "text": q["formula"], "source": "url",
                           **_checked(q["formula"])})
        return events
    simple = {"preset": ("set_preset", "name"), "method": ("set_methods", "methods"),
              "lr": ("set_lr", "lr"), "policy": ("set_policy", "policy"),
              "view": ("set_view", "view"), "preset-1d": ("set_preset_1d", "name"),
              "x0": ("set_start", "x0")}
    if trigger in simple:
        kind, key = simple[trigger]
        if trigger == "preset" and v == "custom":
            return []
        return [{"type": kind, key: v}]
    if trigger == "lr-slider":
        return [{"type": "set_lr", "lr": 10.0 ** float(v)}] if v is not None else []
    if trigger == "formula":
        text = str(v or "").strip()
        return [{"type": "set_formula", "text": text, **_checked(text)}] if text else []
    if trigger in ("cap", "gtol", "ftol", "xtol"):
        return [{"type": "set_option", "name": trigger, "value": v}]
    if trigger == "step":
        return [{"type": "step", "clicks": v}]
    if trigger in ("run", "reset"):
        return [{"type": trigger}]
    if trigger == "random":
        return [{"type": "set_start", "source": "random", "seed": secrets.randbits(31),
                 "bounds": _random_bounds(state)}]
    if trigger == "click" and isinstance(v, dict):
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


def update(state: dict[str, Any] | None, trigger: str | None, values: dict[str, Any]
           ) -> dict[str, Any]:
    """Everything the page shows after ``trigger``, as a plain dict (tested directly)."""
    s = dict(state or DEFAULT)
    for ev in event_for(trigger, values, s):
        s = reduce(s, ev)
    deadline = time.monotonic() + compute.TIME_LIMIT_S
    prob = compute.problem(s)
    rs = compute.runs(s, prob, deadline) if not s.get("error") else []
    drawn = figures.drawing(s, prob, rs) if rs else figures.Drawing({})
    figs = drawn.figs
    anim = figures.animation(figs, rs) if trigger == "run" else None
    return {"state": s, "query": to_query(s), "figs": figs, "anim": anim,
            "drawn": drawn.key, "paths": drawn.paths,
            "status": compute.status_text(s, rs), "latex": _latex(prob),
            "error": s.get("error") or ""}


def body_for(out: dict[str, Any], shown: str | None) -> Any:
    """The view's graphs for :func:`update`'s ``out``; a ``Patch`` of the paths only when
    the page already shows a figure with everything else the same (``shown``, its key)."""
    view = out["state"]["view"]
    if not out["figs"]:
        return no_update
    if not out["drawn"] or out["drawn"] != shown:
        return layout.view_children(view, out["figs"])
    patch = Patch()
    for g, graph in enumerate(layout.GRAPH_IDS[view]):
        data = out["figs"][graph]["data"]
        for i in out["paths"].get(graph, ()):
            for axis in ("x", "y", "z"):
                if axis in data[i]:
                    patch[g]["props"]["figure"]["data"][i][axis] = data[i][axis]
    return patch


def register(app: Dash) -> None:
    """Attach the callbacks to ``app``."""
    inputs = [Input(c, _PROPS.get(c, "value")) for c in _CONTROLS]
    outputs = [Output("state", "data"), Output("url", "search"), Output("view-body", "children"),
               Output("status", "children"), Output("formula-error", "children"),
               Output("latex", "children"), Output("anim", "data"),
               Output("ticker", "disabled"), Output("ticker", "n_intervals"),
               Output("preset", "value"), Output("formula", "value"), Output("x0", "value"),
               Output("method", "value"), Output("lr", "value"), Output("lr-slider", "value"),
               Output("policy", "value"), Output("cap", "value"), Output("view", "value"),
               Output("preset-1d", "value"), Output("notice", "children"),
               Output("drawn", "data")]

    @app.callback(outputs, inputs, State("upload", "filename"), State("state", "data"),
                  State("drawn", "data"))
    def _main(*args: Any) -> tuple[Any, ...]:
        values = dict(zip(_CONTROLS, args[: len(_CONTROLS)], strict=True))
        values["filename"] = args[len(_CONTROLS)]
        state, shown = args[-2], args[-1]
        trigger = ctx.triggered_id if ctx.triggered_id in _CONTROLS else None
        if trigger is None and state is not None:
            trigger = "url"
        out = update(state, trigger, values)
        s = out["state"]
        view = s["view"]
        body = body_for(out, shown)
        anim = out["anim"]
        lr = float(s["lr"])
        return (s, out["query"], body, out["status"], out["error"], out["latex"], anim,
                anim is None, 0, s["f"], s["formula"] if s["f"] == "custom" else "",
                ", ".join(f"{v:g}" for v in s["x0"]), s["methods"], lr,
                math.log10(lr), s["policy"], s["cap"], view, s["p1d"], s.get("notice", ""),
                out["drawn"] if out["figs"] else no_update)

    @app.callback(Output("download-html", "data"), Input("download-html-button", "n_clicks"),
                  State("state", "data"), prevent_initial_call=True)
    def _download_html(_: int, state: dict[str, Any] | None) -> dict[str, Any]:
        s = dict(state or DEFAULT)
        prob = compute.problem(s)
        figs = figures.view_figures(s, prob, compute.runs(s, prob))
        fig = go.Figure(next(iter(figs.values())))
        return {"content": fig.to_html(include_plotlyjs=True, full_html=True),
                "filename": f"descend-{s['view']}.html", "type": "text/html"}

    @app.callback(Output("download-csv", "data"), Input("download-csv-button", "n_clicks"),
                  State("state", "data"), prevent_initial_call=True)
    def _download_csv(_: int, state: dict[str, Any] | None) -> dict[str, Any]:
        s = dict(state or DEFAULT)
        return {"content": compute.path_csv(compute.runs(s)), "filename": "descend-path.csv",
                "type": "text/csv"}

    app.clientside_callback(  # type: ignore[no-untyped-call]
        "function(n, anim) { return window.descendExplorer.animate(n, anim); }",
        Output("ticker", "disabled", allow_duplicate=True),
        Input("ticker", "n_intervals"), State("anim", "data"), prevent_initial_call=True,
    )
