"""Thin callbacks: turn what the page sent into an event, reduce, compute, render.

One callback owns the state; it reads the state from the page, never from the
server. The animation of a Run and the exact click position are done in the
browser (a clientside callback and ``assets/explorer.js``).
"""

from __future__ import annotations

import base64
import io
import logging
import math
import secrets
import time
from typing import Any

import numpy as np
import plotly.graph_objects as go
from dash import Dash, Input, Output, Patch, State, ctx, no_update

from . import compute, figures, layout, worker
from .state import DEFAULT, clean, from_query, reconcile, reduce, to_query

__all__ = ["MAX_ROWS", "MAX_UPLOAD_BYTES", "body_for", "event_for", "parse_upload", "register",
           "update"]

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000

_LOG = logging.getLogger("descend.app")

_CONTROLS = ["preset", "formula", "x0", "random", "method", "lr-slider", "lr", "policy", "cap",
             "gtol", "ftol", "xtol", "step", "run", "reset", "view", "preset-1d", "upload",
             "click", "url"]
_PROPS = {"random": "n_clicks", "step": "n_clicks", "run": "n_clicks", "reset": "n_clicks",
          "upload": "contents", "click": "data", "url": "search"}


def parse_upload(contents: Any, filename: Any) -> dict[str, Any]:
    """A CSV upload as ``{"data": ...}`` (a sample and the sums), or ``{"error": message}``.

    Rows with a missing or non-finite value are not dropped silently: the upload is
    refused with the rows named.
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

    try:
        frame = pd.read_csv(io.StringIO(text), nrows=MAX_ROWS + 1)
    except (ValueError, pd.errors.ParserError) as exc:
        return {"error": f"upload: could not read the CSV ({str(exc)[:120]})"}
    if len(frame) > MAX_ROWS:
        return {"error": f"upload: more than {MAX_ROWS:,} rows; send at most {MAX_ROWS:,}"}
    cols = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    if len(cols) < 2:
        return {"error": "upload: expected two numeric columns (x, y)"}
    xy = frame[cols[:2]].to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.all(np.isfinite(xy), axis=1))
    if len(bad):
        rows = ", ".join(str(int(r) + 2) for r in bad[:5]) + (", ..." if len(bad) > 5 else "")
        return {"error": f"upload: {len(bad):,} row(s) have a missing or non-finite value "
                         f"(lines {rows} of the file); remove or fill them and upload again"}
    if len(xy) < 2 or float(np.abs(xy).max()) > 1e6:
        return {"error": "upload: need at least 2 rows with |values| <= 1e6"}
    keep = np.linspace(0, len(xy) - 1, min(len(xy), compute.SAMPLE)).astype(int)
    name = filename if isinstance(filename, str) else "upload.csv"
    return {"data": {"name": name[:80], "x": xy[keep, 0].tolist(),
                     "y": xy[keep, 1].tolist(),
                     "stats": compute._stats(xy[:, 0], xy[:, 1])}}


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
              "x0": ("set_start", "x0")}
    if trigger in simple:
        kind, key = simple[trigger]
        if trigger == "preset" and v == "custom":
            return []
        return [{"type": kind, key: v}]
    if trigger == "lr-slider":
        e = _float(v)
        return [{"type": "set_lr", "lr": 10.0 ** min(max(e, -5.0), 1.0)}] if e is not None \
            else [{"type": "set_lr", "lr": v}]
    if trigger == "formula":
        text = v.strip() if isinstance(v, str) else ""
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
    if trigger == "click":
        if isinstance(v, dict):
            return [{"type": "set_start", "x0": [v.get("x"), v.get("y")]}]
        return [{"type": "set_start", "x0": None}]
    if trigger == "upload":
        return [{"type": "upload", **parse_upload(v, values.get("filename"))}]
    return []


def _float(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


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


def update(state: dict[str, Any] | None, trigger: str | None, values: dict[str, Any]
           ) -> dict[str, Any]:
    """Everything the page shows after ``trigger``, as a plain dict (tested directly)."""
    s = clean(state) if state is not None else dict(DEFAULT)
    notices = [s["notice"]]
    for ev in event_for(trigger, values, s):
        s = reduce(s, ev)
        notices.append(s["notice"])
    s = checked_state(s)
    s["notice"] = "; ".join(n for n in dict.fromkeys(notices) if n)
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
        try:
            out = update(state, trigger, values)
        except Exception as exc:  # the last guard: a notice, never an HTTP 500
            _LOG.exception("explorer: request failed")
            notice = f"could not do that ({type(exc).__name__}); the page is unchanged"
            return tuple([no_update] * (len(outputs) - 2) + [notice, no_update])
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
    def _download_html(_: int, state: Any) -> Any:
        s = checked_state(clean(state))
        prob = compute.problem(s)
        rs = compute.runs(s, prob) if not s.get("error") else []
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
        rs = compute.runs(s) if not s.get("error") else []
        return {"content": compute.path_csv(rs), "filename": "descend-path.csv",
                "type": "text/csv"}

    app.clientside_callback(  # type: ignore[no-untyped-call]
        "function(n, anim) { return window.descendExplorer.animate(n, anim); }",
        Output("ticker", "disabled", allow_duplicate=True),
        Input("ticker", "n_intervals"), State("anim", "data"), prevent_initial_call=True,
    )
