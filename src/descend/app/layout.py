"""The page: controls on the left, the view on the right; every id is a test contract.

Ids: ``formula``, ``formula-error``, ``preset``, ``method``, ``lr``, ``step``, ``run``,
``reset``, ``status``, and the graphs ``contour``, ``surface``, ``loss``, ``tangent``,
``regression`` (with ``regression-landscape`` and ``regression-loss``), ``sweep``.
Nothing is fetched from outside the server: Dash serves plotly.js and MathJax itself.
"""

from __future__ import annotations

import math
from typing import Any

from dash import dcc, html

from .state import DEFAULT, METHODS, POLICIES, PRESETS, PRESETS_1D, VIEWS

__all__ = ["GRAPH_IDS", "build", "view_children"]

GRAPH_IDS = {"contour": ["contour"], "surface": ["surface"], "loss": ["loss"],
             "tangent": ["tangent"], "sweep": ["sweep"],
             "regression": ["regression", "regression-landscape", "regression-loss"]}
_LABELS = {"contour": "contour", "surface": "3-D surface", "loss": "loss curve",
           "tangent": "1-D (seed 003)", "regression": "regression (seed 002)",
           "sweep": "learning rates"}
_ROW = {"display": "flex", "gap": "6px", "alignItems": "center", "flexWrap": "wrap",
        "margin": "4px 0"}
_BOX: dict[str, Any] = {"width": "330px", "flex": "none", "fontFamily": "sans-serif",
                        "fontSize": "14px"}


def _label(text: str) -> html.Label:
    return html.Label(text, style={"fontWeight": "bold", "marginTop": "8px",
                                   "display": "block"})


def _controls() -> html.Div:
    marks = {e: f"1e{e}" if e not in (0, 1) else ("1" if e == 0 else "10")
             for e in range(-5, 2)}
    return html.Div(style=_BOX, children=[
        html.H3("descend explorer", style={"margin": "0 0 6px 0"}),
        _label("Function"),
        dcc.Dropdown(id="preset", options=[{"label": n, "value": n} for n in PRESETS]
                     + [{"label": "(typed formula)", "value": "custom"}],
                     value=DEFAULT["f"], clearable=False),
        dcc.Input(id="formula", type="text", debounce=0.4, placeholder="or type: x**2 + 3*y**2",
                  style={"width": "100%", "marginTop": "4px"}),
        html.Div(id="formula-error", style={"color": "#B00020", "whiteSpace": "pre-wrap",
                                            "minHeight": "1em"}),
        dcc.Markdown(id="latex", mathjax=True, style={"overflowX": "auto"}),
        _label("Start"),
        html.Div(style=_ROW, children=[
            dcc.Input(id="x0", type="text", debounce=True, style={"width": "150px"}),
            html.Button("random", id="random", n_clicks=0),
            html.Span("or click the contour", style={"color": "#666"}),
        ]),
        _label("Optimizers"),
        dcc.Checklist(id="method", options=list(METHODS), value=DEFAULT["methods"],
                      inline=True, inputStyle={"marginRight": "3px", "marginLeft": "8px"}),
        _label("Learning rate"),
        dcc.Slider(id="lr-slider", min=-5, max=1, step=0.01, value=math.log10(DEFAULT["lr"]),
                   marks=marks, updatemode="mouseup", allow_direct_input=False),
        html.Div(style=_ROW, children=[
            dcc.Input(id="lr", type="number", debounce=True, value=DEFAULT["lr"],
                      min=1e-5, max=10, step="any", style={"width": "150px"}),
            dcc.RadioItems(id="policy", options=list(POLICIES), value="fixed", inline=True,
                           inputStyle={"marginLeft": "6px"}),
        ]),
        _label("Iteration cap and tolerances"),
        html.Div(style=_ROW, children=[
            dcc.Input(id="cap", type="number", min=1, max=100_000, step=1,
                      value=DEFAULT["cap"], debounce=True, style={"width": "80px"}),
            dcc.Input(id="gtol", type="text", value="1e-06", debounce=True,
                      placeholder="gtol", style={"width": "60px"}),
            dcc.Input(id="ftol", type="text", value="", debounce=True, placeholder="ftol",
                      style={"width": "60px"}),
            dcc.Input(id="xtol", type="text", value="", debounce=True, placeholder="xtol",
                      style={"width": "60px"}),
        ]),
        html.Div(style={**_ROW, "marginTop": "10px"}, children=[
            html.Button("Step", id="step", n_clicks=0),
            html.Button("Run", id="run", n_clicks=0),
            html.Button("Reset", id="reset", n_clicks=0),
        ]),
        _label("1-D view step size"),
        dcc.RadioItems(id="preset-1d", options=[{"label": k.replace("_", " "), "value": k}
                                                for k in PRESETS_1D],
                       value=DEFAULT["p1d"], inline=True, inputStyle={"marginLeft": "6px"}),
        _label("Data for the regression view"),
        dcc.Upload(id="upload", children=html.Div("drop or choose a CSV (x, y columns)"),
                   max_size=10 * 1024 * 1024,
                   style={"border": "1px dashed #999", "padding": "6px",
                          "textAlign": "center"}),
        html.Div(style={**_ROW, "marginTop": "10px"}, children=[
            html.Button("figure (HTML)", id="download-html-button", n_clicks=0),
            html.Button("path (CSV)", id="download-csv-button", n_clicks=0),
        ]),
        html.Div(id="notice", style={"color": "#B00020"}),
    ])


def view_children(view: str, figs: dict[str, Any]) -> list[Any]:
    """The graphs of ``view`` (``figs``: figure by graph id)."""
    style = {"height": "520px"}
    return [dcc.Graph(id=g, figure=figs.get(g, {}), style=style,
                      config={"displaylogo": False}) for g in GRAPH_IDS[view]]


def build() -> html.Div:
    """The whole page."""
    return html.Div(style={"display": "flex", "gap": "16px", "padding": "8px"}, children=[
        dcc.Location(id="url", refresh=False),
        dcc.Store(id="state", storage_type="memory"),
        dcc.Store(id="anim"),
        dcc.Store(id="drawn"),  # the key of the figure on the page (figures.Drawing.key)
        dcc.Store(id="click"),
        dcc.Interval(id="ticker", interval=50, disabled=True, n_intervals=0),
        dcc.Download(id="download-html"),
        dcc.Download(id="download-csv"),
        _controls(),
        html.Div(style={"flex": "1", "minWidth": "0"}, children=[
            dcc.Tabs(id="view", value=DEFAULT["view"],
                     children=[dcc.Tab(label=_LABELS[v], value=v) for v in VIEWS]),
            html.Pre(id="status", style={"whiteSpace": "pre-wrap", "fontSize": "13px",
                                         "background": "#f6f6f6", "padding": "6px",
                                         "margin": "6px 0"}),
            html.Div(id="view-body"),
        ]),
    ])
