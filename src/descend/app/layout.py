"""The page: controls on the left, the view on the right; every id is a test contract.

Ids kept from the first explorer: ``formula``, ``formula-error``, ``preset``, ``method``,
``lr``, ``step``, ``run``, ``reset``, ``status``, and the graphs ``contour``, ``surface``,
``loss``, ``tangent``, ``regression`` (with ``regression-landscape`` and
``regression-loss``), ``sweep``. Added: ``pause``, ``iteration`` (the slider over
iterations), ``speed``, ``beta``, ``b1``, ``b2``, ``c``, ``shrink``, ``log``, ``aspect``,
``forces``, ``sx``/``sy`` (the slice's variables), ``xcol``/``ycol`` (an upload's
columns), ``mb``/``batch`` (the mini-batch path), ``grid`` and the graph ``basins``;
``task`` (fit a line or classify) and ``tcol`` (the class column of an upload).

Every control has a label a screen reader announces (a ``<label for=...>``, or an
``aria-label`` set by ``assets/explorer.js`` on the element that takes the focus), and
sits in a box ``<id>-box`` whose ``title`` says why it is disabled when the view
ignores it. Nothing is fetched from outside the server: Dash serves plotly.js and
MathJax itself.
"""

from __future__ import annotations

import math
from typing import Any

from dash import dcc, html

from ..formula import FUNCTIONS, MAX_VARIABLES
from .state import CHOICES, DEFAULT, METHODS, PARAMS, POLICIES, PRESETS, PRESETS_1D, VIEWS

__all__ = ["GRAPH_IDS", "LABELS", "TOGGLED", "build", "view_children"]

GRAPH_IDS = {"contour": ["contour"], "surface": ["surface"], "loss": ["loss"],
             "tangent": ["tangent"], "sweep": ["sweep"], "basins": ["basins"],
             "regression": ["regression", "regression-landscape", "regression-loss"]}
#: the views of a function of three or more variables: the slice and the loss curve
SLICE_IDS = {"contour": ["contour", "contour-loss"], "surface": ["surface", "surface-loss"]}
LABELS = {"contour": "contour", "surface": "3-D surface", "loss": "loss curve",
          "tangent": "the slope view (1-D)", "regression": "fitting a line",
          "sweep": "choosing a step", "basins": "basins"}
_PRESET_LABELS = {"paraboloid": "paraboloid (the paraboloid)",
                  "regression": "regression (fitting a line)",
                  "slope": "slope (the slope view's loss)"}
#: controls that a view may ignore: disabled, with the reason in ``<id>-box``'s title
TOGGLED = ("preset", "formula", "x0", "random", "lr", "lr-slider", "policy", "beta", "b1",
           "b2", "c", "shrink", "preset-1d", "sx", "sy", "log", "aspect", "forces", "mb",
           "batch", "grid", "xcol", "ycol", "tcol", "task")
#: controls whose options (not the component) are disabled
OPTION_CONTROLS = ("policy", "preset-1d", "log", "aspect", "forces", "mb", "task")
#: what the fitting-a-line view fits (``task``)
TASKS = {"auto": "auto (by the target)", "line": "fit a line", "classify": "classify"}


def _aria(text: str) -> dict[str, Any]:
    return {"aria-label": text}


def _attrs(values: dict[str, str]) -> dict[str, Any]:
    return dict(values)


def _label(text: str, target: str) -> html.Label:
    return html.Label(text, htmlFor=target, className="ctl-label")


def _box(cid: str, *children: Any, row: bool = False) -> html.Div:
    return html.Div(id=f"{cid}-box", className="ctl-row" if row else "ctl", title="",
                    children=list(children))


def _slider(cid: str, lo: float, hi: float, step: float, value: float, marks: dict[Any, str],
            label: str) -> html.Div:
    return _box(cid, _label(label, cid),
                dcc.Slider(id=cid, min=lo, max=hi, step=step, value=value, marks=marks,
                           updatemode="mouseup"))


def _number(cid: str, label: str, width: str = "80px") -> html.Div:
    lo, hi, default, whole = PARAMS[cid]
    return _box(cid, _label(label, cid),
                dcc.Input(id=cid, type="number", min=lo, max=hi, value=default,
                          step=1 if whole else "any", debounce=True, style={"width": width}),
                row=True)


def _controls() -> html.Div:
    marks = {e: f"1e{e}" if e not in (0, 1) else ("1" if e == 0 else "10")
             for e in range(-5, 2)}
    return html.Div(className="panel", children=[
        html.H1("descend explorer", className="title"),
        _box("preset", _label("Function", "preset"),
             dcc.Dropdown(id="preset", options=[{"label": _PRESET_LABELS.get(n, n), "value": n}
                                                for n in PRESETS]
                          + [{"label": "(typed formula)", "value": "custom"}],
                          value=DEFAULT["f"], clearable=False)),
        _box("formula", _label("or type a formula", "formula"),
             dcc.Input(id="formula", type="text", debounce=0.4,
                       placeholder="x**2 + 3*y**2", className="wide")),
        html.Details(id="formula-help", className="hint", children=[
            html.Summary("what a formula may use"),
            html.P(f"Variables: any names (up to {MAX_VARIABLES}), e.g. x, y, w1. Operators: "
                   "+ - * / and ** (or ^) for powers. Constants: pi, e. Functions: "
                   + ", ".join(FUNCTIONS) + "."),
        ]),
        html.Div(id="formula-error", role="alert", className="error"),
        dcc.Markdown(id="latex", mathjax=True, className="latex"),
        _box("x0", _label("Start", "x0"),
             html.Div(className="ctl-row", children=[
                 dcc.Input(id="x0", type="text", debounce=True, style={"width": "150px"}),
                 html.Button("random", id="random", n_clicks=0,
                             **_aria("random start")),
                 html.Span("or click the contour", className="hint"),
             ])),
        html.Div(id="slice-box", className="ctl-row", children=[
            _box("sx", _label("slice over", "sx"),
                 dcc.Dropdown(id="sx", options=[{"label": "x", "value": 0}], value=0,
                              clearable=False,
                              style={"width": "110px"})),
            _box("sy", _label("and", "sy"),
                 dcc.Dropdown(id="sy", options=[{"label": "y", "value": 1}], value=1,
                              clearable=False,
                              style={"width": "110px"})),
        ]),
        html.Fieldset(className="group", children=[
            html.Legend("Optimizers (several race)"),
            dcc.Checklist(id="method", options=list(METHODS), value=DEFAULT["methods"],
                          inline=True, inputStyle={"marginRight": "3px", "marginLeft": "8px"}),
        ]),
        _box("lr-slider", _label("Learning rate (log scale; drag to redraw)", "lr-slider"),
             dcc.Slider(id="lr-slider", min=-5, max=1, step=0.01,
                        value=math.log10(DEFAULT["lr"]), marks=marks, updatemode="mouseup",
                        allow_direct_input=False)),
        html.Div(className="ctl-row", children=[
            _box("lr", _label("lr", "lr"),
                 dcc.Input(id="lr", type="number", debounce=True, value=DEFAULT["lr"],
                           min=1e-5, max=10, step="any", style={"width": "150px"}), row=True),
            _box("policy", _label("step policy", "policy"),
                 dcc.RadioItems(id="policy", options=list(POLICIES), value="fixed",
                                inline=True, inputStyle={"marginLeft": "6px"}), row=True),
        ]),
        html.Details(className="group", open=True, children=[
            html.Summary("Hyperparameters"),
            _slider("beta", 0.0, 0.999, 0.001, DEFAULT["beta"],
                    {0: "0", 0.5: "0.5", 0.999: "1"}, "momentum β (momentum, nesterov)"),
            _slider("b1", 0.0, 0.999, 0.001, DEFAULT["b1"],
                    {0: "0", 0.5: "0.5", 0.999: "1"}, "Adam β1"),
            _slider("b2", 0.5, 0.99999, 0.00001, DEFAULT["b2"],
                    {0.5: "0.5", 0.75: "0.75", 0.99999: "1"}, "Adam β2"),
            html.Div(className="ctl-row", children=[
                _number("c", "Armijo c"), _number("shrink", "shrink")]),
        ]),
        _box("cap", _label("Iteration cap and tolerances (gtol, ftol, xtol)", "cap"),
             html.Div(className="ctl-row", children=[
                 dcc.Input(id="cap", type="number", min=1, max=100_000, step=1,
                           value=DEFAULT["cap"], debounce=True, style={"width": "80px"}),
                 dcc.Input(id="gtol", type="text", value="1e-06", debounce=True,
                           placeholder="gtol", style={"width": "60px"}),
                 dcc.Input(id="ftol", type="text", value="", debounce=True,
                           placeholder="ftol", style={"width": "60px"}),
                 dcc.Input(id="xtol", type="text", value="", debounce=True,
                           placeholder="xtol", style={"width": "60px"}),
             ])),
        html.Div(className="ctl-row buttons", children=[
            html.Button("Step", id="step", n_clicks=0),
            html.Button("Run ▶", id="run", n_clicks=0, **_aria("run (play)")),
            html.Button("Pause ❚❚", id="pause", n_clicks=0, **_aria("pause")),
            html.Button("Reset", id="reset", n_clicks=0),
        ]),
        _box("iteration", _label("Iteration shown", "iteration"),
             dcc.Slider(id="iteration", min=0, max=DEFAULT["cap"], step=1, value=0,
                        marks=None, updatemode="mouseup")),
        _box("speed", _label("Speed (iterations per second)", "speed"),
             dcc.Slider(id="speed", min=0, max=3, step=0.01, value=math.log10(DEFAULT["speed"]),
                        marks={0: "1", 1: "10", 2: "100", 3: "1000"}, updatemode="mouseup",
                        allow_direct_input=False)),
        html.Details(className="group", open=True, children=[
            html.Summary("Landscape"),
            _box("log", _label("colour scale", "log"),
                 dcc.RadioItems(id="log", options=[{"label": v, "value": v}
                                                   for v in CHOICES["log"]],
                                value=DEFAULT["log"], inline=True,
                                inputStyle={"marginLeft": "6px"}), row=True),
            _box("aspect", _label("axes", "aspect"),
                 dcc.RadioItems(id="aspect", options=[{"label": "equal", "value": "equal"},
                                                      {"label": "free", "value": "auto"}],
                                value=DEFAULT["aspect"], inline=True,
                                inputStyle={"marginLeft": "6px"}), row=True),
            _box("forces", dcc.Checklist(id="forces", options=[
                {"label": " show the forces at the current point", "value": "on"}],
                value=["on"])),
        ]),
        _box("preset-1d", _label("Slope view step size", "preset-1d"),
             dcc.RadioItems(id="preset-1d", options=[{"label": k.replace("_", " "), "value": k}
                                                     for k in PRESETS_1D],
                            value=DEFAULT["p1d"], inline=True,
                            inputStyle={"marginLeft": "6px"})),
        html.Details(className="group", children=[
            html.Summary("Data for fitting a line or classifying"),
            dcc.Upload(id="upload", children=html.Div("drop or choose a CSV"),
                       max_size=10 * 1024 * 1024, className="upload"),
            _box("task", _label("Fit", "task"),
                 dcc.RadioItems(id="task", options=[{"label": v, "value": k}
                                                    for k, v in TASKS.items()],
                                value=DEFAULT["task"], inline=True,
                                inputStyle={"marginLeft": "6px"})),
            html.Div(className="ctl-row", children=[
                _box("xcol", _label("x column", "xcol"),
                     dcc.Dropdown(id="xcol", options=[], value=None, clearable=False,
                                  style={"width": "120px"})),
                _box("ycol", _label("y column", "ycol"),
                     dcc.Dropdown(id="ycol", options=[], value=None, clearable=False,
                                  style={"width": "120px"})),
                _box("tcol", _label("class column", "tcol"),
                     dcc.Dropdown(id="tcol", options=[], value=None, clearable=False,
                                  style={"width": "120px"})),
            ]),
            html.Div(className="ctl-row", children=[
                _box("mb", dcc.Checklist(id="mb", options=[
                    {"label": " mini-batch path beside", "value": "on"}], value=[])),
                _number("batch", "rows per batch", "70px"),
            ]),
        ]),
        _number("grid", "Basins: starts per side"),
        html.Div(className="ctl-row", children=[
            html.Button("figure (HTML)", id="download-html-button", n_clicks=0),
            html.Button("path (CSV)", id="download-csv-button", n_clicks=0),
        ]),
        html.Div(id="notice", role="status", className="error"),
    ])


def view_children(view: str, figs: dict[str, Any]) -> list[Any]:
    """The graphs of ``view`` (``figs``: figure by graph id), in a fixed order."""
    ids = [g for g in (*GRAPH_IDS[view], *SLICE_IDS.get(view, [])[1:]) if g in figs] \
        or GRAPH_IDS[view][:1]
    return [dcc.Graph(id=g, figure=figs.get(g, {}), className="graph",
                      config={"displaylogo": False, "responsive": True}) for g in ids]


def build() -> html.Div:
    """The whole page."""
    return html.Div(className="page", children=[
        dcc.Location(id="url", refresh=False),
        dcc.Store(id="state", storage_type="memory"),
        dcc.Store(id="drawn"),  # the key of the figure on the page (figures.Drawing.key)
        dcc.Store(id="click"),
        dcc.Store(id="live"),  # throttled values of a slider being dragged
        dcc.Store(id="ui"),  # which controls the view ignores, and why
        dcc.Interval(id="ticker", interval=100, disabled=True, n_intervals=0),
        dcc.Download(id="download-html"),
        dcc.Download(id="download-csv"),
        _controls(),
        html.Main(className="main", children=[
            dcc.Tabs(id="view", value=DEFAULT["view"], mobile_breakpoint=0,
                     children=[dcc.Tab(label=LABELS[v], value=v, id=f"tab-{v}")
                               for v in VIEWS]),
            html.Pre(id="status", role="status", **_attrs({"aria-live": "polite"}),
                     className="status"),
            html.Div(id="forces-key", className="hint"),
            html.Div(id="view-body"),
        ]),
    ])
