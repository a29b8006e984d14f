"""The explorer's whole state, and the one pure function that changes it.

The state is a small JSON-able dict that lives in the page (a ``dcc.Store``) and in
the URL; the server keeps none. :func:`reduce` maps ``(state, event) -> state``
without touching the old dict, so the callbacks are thin and the tests call it
directly. The functions and data it needs are deterministic (the catalog, seeded
random starts), so the same state always gives the same runs.

What the page sends back is untrusted: :func:`clean` validates and clamps every field
of it exactly like typed input, on every request (a forged request can set any field
to anything). A formula in it is still only text: the callbacks check it in the
sandboxed worker before anything parses it in the server.
"""

from __future__ import annotations

import functools
import math
import random
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode

from .. import datasets, functions, optimizers

__all__ = [
    "CHOICES",
    "DEFAULT",
    "FLAGS",
    "HYPER",
    "MAX_ITER_CAP",
    "MAX_QUERY",
    "METHODS",
    "PARAMS",
    "POLICIES",
    "PRESETS",
    "PRESETS_1D",
    "PRESETS_1D_VERDICT",
    "VIEWS",
    "clean",
    "data_xy",
    "from_query",
    "preset_1d_fraction",
    "reduce",
    "to_query",
    "view_for",
]

MAX_ITER_CAP = 100_000
MAX_QUERY = 4096  #: longest URL query read (characters)
MAX_FORMULA = 1000  #: longest formula text kept (the parser's own limit)
MAX_VARIABLES = 16
MAX_SAMPLE = 2000  #: most data points the state carries (a sample of the upload)
MAX_COLUMNS = 12  #: most numeric columns of an upload
MAX_CELLS = 4000  #: most numbers in the state's sample (rows x columns)
MAX_ROWS = 100_000  #: most rows of an upload
MAX_ABS = 1e6  #: largest magnitude of a start coordinate or a data value
LR_MIN, LR_MAX = 1e-5, 10.0
METHODS = tuple(optimizers.names())
POLICIES = ("fixed", "backtracking", "bb", "auto")
VIEWS = ("contour", "surface", "loss", "tangent", "regression", "sweep", "basins")
#: the catalog, then the tutorials' own: the line fit over (intercept, slope) and the
#: slope-only loss (one variable)
PRESETS = (*functions.names(), "regression", "slope")
#: the slope view's step sizes, as fractions of the largest stable step 2 / L; "too
#: small" is worked out from the cap (see :func:`preset_1d_fraction`)
PRESETS_1D: dict[str, float] = {"too_small": 0.0, "good": 0.35, "too_large": 0.9,
                                "diverging": 1.25}
#: the verdict of :func:`descend.verdict` each preset earns on the slope-only loss
PRESETS_1D_VERDICT = {"too_small": "too_small", "good": "good", "too_large": "oscillating",
                      "diverging": "diverged"}
_LR: dict[str, float] = {"paraboloid": 0.1, "rosenbrock": 0.001, "regression": 0.02,
                         "himmelblau": 0.01, "beale": 0.001, "booth": 0.02}
#: numeric settings: (lowest, highest, default, whole number)
PARAMS: dict[str, tuple[float, float, float, bool]] = {
    "beta": (0.0, 0.999, 0.9, False),     # momentum and nesterov
    "b1": (0.0, 0.999, 0.9, False),       # adam
    "b2": (0.5, 0.99999, 0.999, False),   # adam
    "c": (1e-6, 0.5, 1e-4, False),        # Armijo constant: backtracking and bb
    "shrink": (0.1, 0.9, 0.5, False),     # backtracking
    "speed": (1, 1000, 30, True),         # iterations per second while playing
    "batch": (1, 1000, 10, True),         # rows per mini-batch (fitting a line)
    "grid": (8, 40, 24, True),            # starts per side (basins)
    "sx": (0, 15, 0, True),               # the slice's variables (3 or more)
    "sy": (0, 15, 1, True),
}
#: settings that change the runs: moving one shows the whole new path
HYPER = ("beta", "b1", "b2", "c", "shrink")
CHOICES: dict[str, tuple[str, ...]] = {"log": ("auto", "on", "off"),
                                       "aspect": ("equal", "auto"),
                                       #: fitting a line, or classifying (two features and
                                       #: a two-valued target); auto: by the target column
                                       "task": ("auto", "line", "classify")}
FLAGS: dict[str, bool] = {"forces": True, "mb": False}

DEFAULT: dict[str, Any] = {
    "f": "rosenbrock", "formula": "", "error": "", "x0": [-1.2, 1.0], "methods": ["gd"],
    "lr": 0.001, "policy": "fixed", "it": 0, "cap": 1000, "gtol": 1e-6, "ftol": None,
    "xtol": None, "view": "contour", "p1d": "good", "data": None, "variables": ["x", "y"],
    "notice": "", "clicks": 0,
    **{k: v[2] for k, v in PARAMS.items()}, **{k: v[0] for k, v in CHOICES.items()},
    **FLAGS, "xcol": "", "ycol": "",
}


@functools.lru_cache(maxsize=1)
def _slope_lipschitz() -> float:
    """``L = 2 mean(x^2)`` of the slope view's loss on :func:`descend.datasets.slope_line`."""
    x, _ = datasets.slope_line()
    return float(2.0 * (x @ x) / x.size)


def preset_1d_fraction(name: str, cap: int) -> float:
    """The step of a slope-view preset as a fraction of 2 / L.

    On a quadratic, plain gradient descent with step ``a * 2/L`` shrinks the distance
    to the minimum by ``|1 - 2a|`` per step: "good" (0.35) goes straight in, "too large"
    (0.9) overshoots every step and still converges, "diverging" (1.25) grows. "Too
    small" is chosen so that after ``cap`` steps 10 % of the way is still left.
    """
    if name == "too_small":
        return float((1.0 - 0.1 ** (1.0 / max(int(cap), 1))) / 2.0)
    return PRESETS_1D.get(name, 0.35)


def _start(name: str) -> list[float]:
    if name == "regression":
        return [0.0, 0.0]
    if name == "slope":
        return [0.0]
    return [float(v) for v in functions.get(name).x0]


def _variables(name: str) -> list[str]:
    if name == "regression":
        return ["intercept", "slope"]
    if name == "slope":
        return ["slope"]
    return list(functions.get(name).variables)


def view_for(view: str, f: str, p: int) -> tuple[str, str]:
    """The view to show for ``view`` asked with function ``f`` of ``p`` variables, and
    why it differs ("" when it does not): never a silent substitution."""
    if view == "regression" and f != "regression":
        return "contour" if p != 1 else "tangent", ("fitting a line works on the regression "
                                                    "function: pick it, or its tab")
    if view == "tangent" and p != 1:
        return "contour", "the slope view draws functions of one variable"
    if view in ("contour", "surface", "basins") and p == 1:
        return "tangent", f"the {view} needs two variables: showing the curve of this one"
    if view == "basins" and p != 2:
        return "contour", "the basins view needs exactly two variables"
    return view, ""


def _float(value: Any) -> float | None:
    """A finite float from a number or numeric text; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    if isinstance(value, str) and len(value) > 40:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return v if math.isfinite(v) else None


def _clip_lr(value: Any) -> float | None:
    v = _float(value)
    if v is None or v <= 0:
        return None
    return min(max(v, LR_MIN), LR_MAX)


def _tol(value: Any) -> float | None:
    if value in (None, "", "none"):
        return None
    v = _float(value)
    return v if v is not None and v > 0 else None


def _int(value: Any, lo: int, hi: int) -> int | None:
    v = _float(value)
    if v is None:
        return None
    return min(max(int(v), lo), hi)


def _number(value: Any, lo: float, hi: float, whole: bool) -> float | int | None:
    """``value`` clamped to [lo, hi] (a whole number when ``whole``); None if not a number."""
    v = _float(value)
    if v is None:
        return None
    v = min(max(v, lo), hi)
    return round(v) if whole else v


def _point(value: Any, p: int) -> list[float] | None:
    if isinstance(value, str):
        if len(value) > 40 * max(p, 1):
            return None
        value = value.replace("(", "").replace(")", "").split(",")
    if not isinstance(value, (list, tuple)) or len(value) != p:
        return None
    pts = [_float(v) for v in value]
    if not all(v is not None and abs(v) <= MAX_ABS for v in pts):
        return None
    return [float(v) for v in pts if v is not None]


def _choice(value: Any, options: Any, default: str) -> str:
    return value if isinstance(value, str) and value in options else default


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}\Z")


def _data(value: Any) -> dict[str, Any] | None:
    """Uploaded data as the state carries it, checked like an upload; None if it is not.

    ``columns`` (2 to 12 names), ``cols`` (a sample of each column, at most
    :data:`MAX_CELLS` numbers in all), ``n`` rows in the file, each column's ``mean`` and
    the matrix ``m2`` of mean products over all rows, the columns in use as x and y
    (``xi``, ``yi``) and the target column of the classification mode (``ti``, another
    column; -1 for none, and when missing).
    """
    if not isinstance(value, dict):
        return None
    names, cols, mean, m2 = (value.get(k) for k in ("columns", "cols", "mean", "m2"))
    if not (isinstance(names, list) and 2 <= len(names) <= MAX_COLUMNS
            and all(isinstance(v, str) and len(v) <= 40 for v in names)):
        return None
    c = len(names)
    if not (isinstance(cols, list) and len(cols) == c and all(isinstance(v, list) for v in cols)
            and isinstance(mean, list) and len(mean) == c and isinstance(m2, list)
            and len(m2) == c and all(isinstance(r, list) and len(r) == c for r in m2)):
        return None
    rows = len(cols[0])
    if not (2 <= rows <= MAX_SAMPLE and rows * c <= MAX_CELLS
            and all(len(v) == rows for v in cols)):
        return None
    sample = [[_float(v) for v in col] for col in cols]
    if any(v is None or abs(v) > MAX_ABS for col in sample for v in col):
        return None
    mu = [_float(v) for v in mean]
    mm = [[_float(v) for v in r] for r in m2]
    n = _float(value.get("n"))
    if (n is None or not 2 <= n <= MAX_ROWS or n != int(n)
            or any(v is None or abs(v) > MAX_ABS for v in mu)
            or any(v is None or abs(v) > MAX_ABS**2 for r in mm for v in r)):
        return None
    mus = [float(v) for v in mu if v is not None]
    mms = [[float(v) for v in r if v is not None] for r in mm]
    for i in range(c):
        if mms[i][i] < mus[i] ** 2 * (1 - 1e-9) - 1e-300:
            return None
        for j in range(i):
            if abs(mms[i][j] - mms[j][i]) > 1e-9 * (1 + abs(mms[i][j])):
                return None
    xi, yi = value.get("xi"), value.get("yi")
    if not (isinstance(xi, int) and isinstance(yi, int) and 0 <= xi < c and 0 <= yi < c
            and xi != yi) or isinstance(xi, bool) or isinstance(yi, bool):
        return None
    ti = value.get("ti", -1)
    if not (isinstance(ti, int) and not isinstance(ti, bool) and -1 <= ti < c
            and ti not in (xi, yi)):
        return None
    name = value.get("name")
    return {"name": name[:80] if isinstance(name, str) else "upload.csv", "columns": names,
            "cols": [[float(v) for v in col if v is not None] for col in sample],
            "n": int(n), "mean": mus, "m2": mms, "xi": xi, "yi": yi, "ti": ti}


def data_xy(data: Mapping[str, Any]) -> tuple[list[float], list[float], list[float]]:
    """``(x sample, y sample, [n, mean x, mean y, mean xx, mean xy, mean yy])`` of the
    columns in use."""
    i, j = data["xi"], data["yi"]
    m, m2 = data["mean"], data["m2"]
    return (list(data["cols"][i]), list(data["cols"][j]),
            [float(data["n"]), m[i], m[j], m2[i][i], m2[i][j], m2[j][j]])


def clean(raw: Any) -> dict[str, Any]:
    """``raw`` (what a page sent as its state) validated and clamped field by field.

    Every field gets the same checks as a typed value: a preset or ``"custom"``; formula
    text of at most 1,000 characters (checked later in the sandboxed worker, never
    parsed here); a start of finite numbers, one per variable, ``|x| <= 1e6``; known
    optimizers, each once; lr in [1e-5, 10]; ``1 <= cap <= 100,000``,
    ``0 <= it <= cap``; known policy, view and 1-D preset; uploaded data of at most
    2,000 points (a sample) with consistent sums over at most 100,000 rows. A field that
    fails takes the preset's value and the state gets a ``notice`` naming it; unknown
    fields are dropped.
    """
    if not isinstance(raw, dict):
        return {**DEFAULT, "notice": "state: not understood; starting over" if raw else ""}
    bad: list[str] = []
    f = raw.get("f", DEFAULT["f"])
    if not (isinstance(f, str) and (f in PRESETS or f == "custom")):
        bad.append("f")
        f = DEFAULT["f"]
    s: dict[str, Any] = dict(DEFAULT)
    s["f"] = f
    if f == "custom":
        text = raw.get("formula")
        s["formula"] = text if isinstance(text, str) and len(text) <= MAX_FORMULA else ""
        if s["formula"] != text:
            bad.append("formula")
        names = raw.get("variables")
        if not (isinstance(names, list) and len(names) <= MAX_VARIABLES
                and all(isinstance(v, str) and _NAME.match(v) for v in names)):
            bad.append("variables")
            names = []
        s["variables"] = list(names)
        err = raw.get("error")
        s["error"] = err[:300] if isinstance(err, str) else ""
    else:
        s["variables"] = _variables(f)
        s["lr"] = _LR.get(f, 0.01)
    p = len(s["variables"])
    x0 = _point(raw.get("x0"), p)
    if x0 is None:
        bad.append("x0")
        x0 = _start(f) if f != "custom" else [1.0] * p
    s["x0"] = x0
    methods = raw.get("methods")
    ms: list[str] = []
    if isinstance(methods, list) and len(methods) <= 4 * len(METHODS):
        ms = list(dict.fromkeys(m for m in methods if isinstance(m, str) and m in METHODS))
    if not ms or ms != methods:
        bad.append("methods")
    s["methods"] = ms or ["gd"]
    lr = _clip_lr(raw.get("lr"))
    if lr is None or lr != raw.get("lr"):
        bad.append("lr")
    s["lr"] = lr if lr is not None else s["lr"]
    for key, options in (("policy", POLICIES), ("view", VIEWS), ("p1d", PRESETS_1D)):
        s[key] = _choice(raw.get(key), options, DEFAULT[key])
        if s[key] != raw.get(key):
            bad.append(key)
    cap = _int(raw.get("cap"), 1, MAX_ITER_CAP)
    s["cap"] = cap if cap is not None else DEFAULT["cap"]
    it = _int(raw.get("it"), 0, s["cap"])
    s["it"] = it if it is not None else 0
    for key, val in (("cap", s["cap"]), ("it", s["it"])):
        if val != raw.get(key):
            bad.append(key)
    for key in ("gtol", "ftol", "xtol"):
        s[key] = _tol(raw.get(key))
        if s[key] != raw.get(key):
            bad.append(key)
    for key, (lo, hi, default, whole) in PARAMS.items():
        v = _number(raw.get(key), lo, hi, whole)
        s[key] = v if v is not None else default
        if s[key] != raw.get(key):
            bad.append(key)
    for key, allowed in CHOICES.items():
        s[key] = _choice(raw.get(key), allowed, allowed[0])
        if s[key] != raw.get(key):
            bad.append(key)
    for key, default in FLAGS.items():
        v = raw.get(key)
        s[key] = v if isinstance(v, bool) else default
        if s[key] != v:
            bad.append(key)
    for key in ("xcol", "ycol"):
        v = raw.get(key)
        s[key] = v[:80] if isinstance(v, str) else ""
    data = raw.get("data")
    s["data"] = _data(data)
    if data is not None and s["data"] != data:
        bad.append("data")
    clicks = _int(raw.get("clicks", 0), 0, 10**9)
    s["clicks"] = clicks or 0
    s["notice"] = (f"ignored what the page sent for: {', '.join(dict.fromkeys(bad))}"
                   if bad else "")
    return s


def reconcile(state: Mapping[str, Any], checked: Mapping[str, Any]) -> dict[str, Any]:
    """A custom formula's state after the worker's answer (``variables`` or ``error``).

    The start keeps its values when the number of variables is unchanged, else it is
    ``(1, ..., 1)``; the iteration is kept.
    """
    s = dict(state)
    if checked.get("error"):
        s["error"] = str(checked["error"])[:300]
        return s
    names = [str(v) for v in checked.get("variables") or []]
    s["error"] = ""
    if names != s["variables"] or len(s["x0"]) != len(names):
        keep = len(s["x0"]) == len(names)
        s.update(variables=names, x0=s["x0"] if keep else [1.0] * len(names))
    return s


def reduce(state: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    """The state after ``event``; ``state`` is not changed.

    Events (``type`` and fields): ``set_preset`` (``name``), ``set_formula`` (``text``,
    ``variables`` from the validator, or ``error``), ``set_start`` (``x0``: a list or
    ``"a, b"``; or ``source="random"`` with ``seed``), ``set_methods`` (``methods``),
    ``set_lr`` (``lr``), ``set_policy`` (``policy``), ``set_option`` (``name`` in
    cap/gtol/ftol/xtol, ``value``), ``step``, ``run``, ``reset``, ``set_view`` (``view``),
    ``set_preset_1d`` (``name``), ``upload`` (``data`` or ``error``), ``load_url``
    (``query``). An invalid value leaves the state as it was with a ``notice``; no
    value of any type makes it raise.
    """
    s = {**DEFAULT, **state}
    s["notice"] = ""
    kind = event.get("type")
    p = len(s["variables"])
    if kind == "set_preset":
        name = event.get("name")
        if not isinstance(name, str) or name not in PRESETS:
            return {**s, "notice": f"unknown function {str(name)[:40]!r}"}
        lr = _LR.get(name, 0.01)
        if name == "slope":  # the step of the chosen preset, as a fraction of 2 / L
            lr = preset_1d_fraction(s["p1d"], int(s["cap"])) * 2.0 / _slope_lipschitz()
        s.update(f=name, formula="", error="", x0=_start(name), it=0, lr=lr,
                 variables=_variables(name))
    elif kind == "set_formula":
        text = event.get("text")
        text = text if isinstance(text, str) else ""
        if len(text) > MAX_FORMULA:
            return {**s, "notice": f"formula: too long: {len(text)} characters, at most "
                                   f"{MAX_FORMULA}"}
        s.update(f="custom", formula=text, it=s["it"] if event.get("source") == "url" else 0)
        s = reconcile(s, event)
    elif kind == "set_start":
        if event.get("source") == "random":
            rng = random.Random(_int(event.get("seed"), 0, 2**31) or 0)
            lo, hi = event.get("bounds") or (-3.0, 3.0)
            s.update(x0=[round(rng.uniform(float(lo), float(hi)), 4) for _ in range(p)], it=0)
        else:
            pt = _point(event.get("x0"), p)
            if pt is None:
                return {**s, "notice": f"start: expected {p} finite numbers separated by "
                                       f"commas, each at most {MAX_ABS:g} in size"}
            s.update(x0=pt, it=0)
    elif kind == "set_methods":
        methods = event.get("methods")
        ms = [m for m in methods if isinstance(m, str) and m in METHODS] \
            if isinstance(methods, list) else []
        s.update(methods=list(dict.fromkeys(ms)) or ["gd"], it=0)
        if isinstance(methods, list) and len(ms) < len(methods):
            s["notice"] = "optimizers: ignored unknown names"
    elif kind == "set_lr":
        new_lr = _clip_lr(event.get("lr"))
        if new_lr is None:
            return {**s, "notice": f"lr: expected a number > 0 (from {LR_MIN:g} to {LR_MAX:g})"}
        s.update(lr=new_lr, it=s["cap"])  # the whole new path
    elif kind == "set_policy":
        s.update(policy=_choice(event.get("policy"), POLICIES, "fixed"), it=s["cap"])
    elif kind == "set_param":
        name = event.get("name")
        if not isinstance(name, str) or name not in PARAMS:
            return {**s, "notice": f"unknown setting {str(name)[:40]!r}"}
        lo, hi, _, whole = PARAMS[name]
        v = _number(event.get("value"), lo, hi, whole)
        if v is None:
            return {**s, "notice": f"{name}: expected a number from {lo:g} to {hi:g}"}
        s[name] = v
        if name in HYPER:
            s["it"] = s["cap"]
        elif name in ("batch", "grid"):
            s["it"] = s["it"]
    elif kind == "set_choice":
        name, value = event.get("name"), event.get("value")
        if isinstance(name, str) and name in CHOICES:
            s[name] = _choice(value, CHOICES[name], s[name])
        elif isinstance(name, str) and name in FLAGS:
            s[name] = bool(value)
    elif kind == "set_it":
        it = _int(event.get("it"), 0, int(s["cap"]))
        if it is None:
            return {**s, "notice": "iteration: expected a whole number"}
        s["it"] = it
    elif kind == "tick":
        s["it"] = min(int(s["it"]) + max(1, round(int(s["speed"]) / 10)), int(s["cap"]))
    elif kind == "set_option":
        name, value = event.get("name"), event.get("value")
        if name == "cap":
            cap = _int(value, 1, MAX_ITER_CAP)
            if cap is None:
                return {**s, "notice": f"cap: expected a whole number from 1 to "
                                       f"{MAX_ITER_CAP:,}"}
            s["cap"] = cap
            s["it"] = min(s["it"], s["cap"])
        elif name in ("gtol", "ftol", "xtol"):
            tol = _tol(value)
            if tol is None and value not in (None, "", "none"):
                s["notice"] = f"{name}: expected a number > 0, or nothing to turn it off"
            s[name] = tol
            s["it"] = s["cap"]
    elif kind == "step":
        # ``clicks``: the Step button's click count, so that clicks made while an answer
        # was on its way (the page then sends an older state) all count.
        clicks = _int(event.get("clicks"), 0, 10**9)
        have = int(s.get("clicks", 0))
        n = 1 if clicks is None else max(1, clicks - have)
        s["it"] = min(int(s["it"]) + n, int(s["cap"]))
        s["clicks"] = clicks if clicks is not None else have
        if clicks is None and event.get("clicks") is not None:
            s["notice"] = "step: the click count was not a number; took one step"
    elif kind == "run":
        s["it"] = int(s["cap"])
    elif kind == "reset":
        s["it"] = 0
    elif kind == "set_view":
        view = event.get("view")
        s["view"] = _choice(view, VIEWS, "contour")
        if s["view"] != view:
            s["notice"] = f"unknown view {str(view)[:40]!r}"
        elif view == "regression" and s["f"] != "regression":
            s = {**reduce(s, {"type": "set_preset", "name": "regression"}), "view": view,
                 "notice": "fitting a line: the function is now the line's loss over "
                           "(intercept, slope)"}
        elif view == "tangent" and p != 1:
            s = {**reduce(s, {"type": "set_preset", "name": "slope"}), "view": view,
                 "notice": "the slope view: the function is now the loss over the slope "
                           "alone (one variable)"}
    elif kind == "set_preset_1d":
        name = event.get("name")
        s.update(p1d=_choice(name, PRESETS_1D, "good"), it=0)
    elif kind == "upload":
        if event.get("error"):
            return {**s, "notice": str(event["error"])[:300]}
        s.update(data=_data(event.get("data")), it=0)
        notice = event.get("notice")
        s["notice"] = str(notice)[:300] if notice else ""
        if s["f"] == "regression" or s["view"] == "regression":
            s["x0"] = [0.0, 0.0] if s["f"] == "regression" else s["x0"]
    elif kind == "set_columns":
        data = s.get("data")
        if not data:
            return {**s, "notice": "columns: upload a CSV first"}
        names = data["columns"]
        xn, yn = event.get("x"), event.get("y")
        tn = event.get("t", names[data["ti"]] if data.get("ti", -1) >= 0 else None)
        if xn not in names or yn not in names or xn == yn:
            return {**s, "notice": "columns: pick two different columns of the file"}
        if tn is not None and tn not in names:
            return {**s, "notice": "columns: the class column must be a column of the file"}
        xi, yi = names.index(xn), names.index(yn)
        ti = names.index(tn) if tn is not None else -1
        if ti in (xi, yi):  # the target became a feature: another column, if any, is it
            ti = next((k for k in reversed(range(len(names))) if k not in (xi, yi)), -1)
        s.update(data={**data, "xi": xi, "yi": yi, "ti": ti}, x0=[0.0, 0.0], it=0)
    elif kind == "load_url":
        query = event.get("query")
        s = {**from_query(query if isinstance(query, str) else ""), "data": s.get("data"),
             "clicks": s.get("clicks", 0)}
    return s


_KEYS = ("f", "formula", "x0", "methods", "lr", "policy", "it", "cap", "gtol", "ftol", "xtol",
         "view", "p1d", *PARAMS, *CHOICES, *FLAGS)


def to_query(state: Mapping[str, Any]) -> str:
    """The state as a URL query string (no uploaded data), ``?f=rosenbrock&x0=-1.2,1&...``."""
    out: dict[str, str] = {}
    for key in _KEYS:
        value = state.get(key, DEFAULT[key])
        if key == "formula" and state.get("f") != "custom":
            continue
        if key in DEFAULT and key not in ("f", "x0", "methods", "lr", "it", "view") \
                and value == DEFAULT[key]:
            continue  # short URLs: defaults are left out
        if isinstance(value, bool):
            out[key] = "1" if value else "0"
        elif isinstance(value, list):
            out[key] = ",".join(repr(v) if isinstance(v, float) else str(v) for v in value)
        elif value is None:
            out[key] = "none"
        elif isinstance(value, float):
            out[key] = repr(value)
        else:
            out[key] = str(value)
    return "?" + urlencode(out)


def from_query(query: str) -> dict[str, Any]:
    """The state a URL query describes; bad or missing values take their defaults.

    ``formula`` is kept as text: the caller validates it (``set_formula``). A query
    over :data:`MAX_QUERY` characters or with too many fields is not read (the state
    is the default with a ``notice``).
    """
    s = dict(DEFAULT)
    if not isinstance(query, str) or len(query) > MAX_QUERY:
        return {**s, "notice": f"URL: the query is over {MAX_QUERY:,} characters; not read"}
    try:
        q = {k: v[-1] for k, v in parse_qs(query.lstrip("?"), max_num_fields=32).items()}
    except ValueError:
        return {**s, "notice": "URL: too many fields in the query; not read"}
    f = q.get("f", s["f"])
    if f == "custom" and q.get("formula"):
        s.update(f="custom", formula=q["formula"][:MAX_FORMULA], variables=[], x0=[])
    elif f in PRESETS:
        s = reduce(s, {"type": "set_preset", "name": f})
    steps: list[dict[str, Any]] = [
        {"type": "set_methods", "methods": q.get("methods", "gd").split(",")},
        {"type": "set_lr", "lr": q.get("lr", s["lr"])},
        {"type": "set_policy", "policy": q.get("policy", "fixed")},
        {"type": "set_option", "name": "cap", "value": q.get("cap", s["cap"])},
        {"type": "set_view", "view": q.get("view", "contour")},
        {"type": "set_preset_1d", "name": q.get("p1d", s["p1d"])},
    ]
    for tol in ("gtol", "ftol", "xtol"):
        if tol in q:
            steps.append({"type": "set_option", "name": tol, "value": q[tol]})
    for key in PARAMS:
        if key in q:
            steps.append({"type": "set_param", "name": key, "value": q[key]})
    for key in (*CHOICES, *FLAGS):
        if key in q:
            value: Any = q[key] if key in CHOICES else q[key] == "1"
            steps.append({"type": "set_choice", "name": key, "value": value})
    for ev in steps:
        s = reduce(s, ev)
    if "x0" in q:
        if s["f"] == "custom":
            raw = q["x0"].split(",")
            s["x0"] = _point(raw, len(raw)) if len(raw) <= MAX_VARIABLES else None
            s["x0"] = s["x0"] or []
        else:
            s = reduce(s, {"type": "set_start", "x0": q["x0"]})
    s["it"] = _int(q.get("it", 0), 0, int(s["cap"])) or 0
    s["notice"] = ""
    return s
