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

import math
import random
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode

from .. import functions, optimizers

__all__ = [
    "DEFAULT", "MAX_ITER_CAP", "MAX_QUERY", "METHODS", "POLICIES", "PRESETS", "PRESETS_1D",
    "VIEWS", "clean", "from_query", "reduce", "to_query",
]

MAX_ITER_CAP = 100_000
MAX_QUERY = 4096  #: longest URL query read (characters)
MAX_FORMULA = 1000  #: longest formula text kept (the parser's own limit)
MAX_VARIABLES = 16
MAX_SAMPLE = 2000  #: most data points the state carries (a sample of the upload)
MAX_ROWS = 100_000  #: most rows of an upload
MAX_ABS = 1e6  #: largest magnitude of a start coordinate or a data value
LR_MIN, LR_MAX = 1e-5, 10.0
METHODS = tuple(optimizers.names())
POLICIES = ("fixed", "backtracking", "bb", "auto")
VIEWS = ("contour", "surface", "loss", "tangent", "regression", "sweep")
PRESETS = (*functions.names(), "regression")
#: seed 003's step sizes, as fractions of 2 / L of the slope-only quadratic loss
PRESETS_1D: dict[str, float] = {"too_small": 0.01, "good": 0.35, "too_large": 0.9,
                                "diverging": 1.25}
_LR: dict[str, float] = {"paraboloid": 0.1, "rosenbrock": 0.001, "regression": 0.02,
                         "himmelblau": 0.01, "beale": 0.001, "booth": 0.02}

DEFAULT: dict[str, Any] = {
    "f": "rosenbrock", "formula": "", "error": "", "x0": [-1.2, 1.0], "methods": ["gd"],
    "lr": 0.001, "policy": "fixed", "it": 0, "cap": 1000, "gtol": 1e-6, "ftol": None,
    "xtol": None, "view": "contour", "p1d": "too_large", "data": None, "variables": ["x", "y"],
    "notice": "", "clicks": 0,
}


def _start(name: str) -> list[float]:
    if name == "regression":
        return [0.0, 0.0]
    return [float(v) for v in functions.get(name).x0]


def _variables(name: str) -> list[str]:
    if name == "regression":
        return ["intercept", "slope"]
    return list(functions.get(name).variables)


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
    """Uploaded data as the state carries it, checked like an upload; None if it is not."""
    if not isinstance(value, dict):
        return None
    x, y, stats = value.get("x"), value.get("y"), value.get("stats")
    if not (isinstance(x, list) and isinstance(y, list) and isinstance(stats, list)):
        return None
    if not 2 <= len(x) == len(y) <= MAX_SAMPLE or len(stats) != 6:
        return None
    xs, ys, st = [_float(v) for v in x], [_float(v) for v in y], [_float(v) for v in stats]
    if any(v is None or abs(v) > MAX_ABS for v in (*xs, *ys)) or any(v is None for v in st):
        return None
    n, sx, sy, sxx, sxy, syy = (float(v) for v in st if v is not None)
    if not (2 <= n <= MAX_ROWS and n == int(n) and abs(sx) <= MAX_ABS and abs(sy) <= MAX_ABS
            and 0 <= sxx <= MAX_ABS**2 and 0 <= syy <= MAX_ABS**2
            and abs(sxy) <= MAX_ABS**2 and sxx >= sx * sx * (1 - 1e-9) - 1e-300):
        return None
    name = value.get("name")
    return {"name": name[:80] if isinstance(name, str) else "upload.csv",
            "x": [float(v) for v in xs if v is not None],
            "y": [float(v) for v in ys if v is not None], "stats": [n, sx, sy, sxx, sxy, syy]}


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
        s.update(f=name, formula="", error="", x0=_start(name), it=0, lr=_LR.get(name, 0.01),
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
        lr = _clip_lr(event.get("lr"))
        if lr is None:
            return {**s, "notice": f"lr: expected a number > 0 (from {LR_MIN:g} to {LR_MAX:g})"}
        s.update(lr=lr, it=0)
    elif kind == "set_policy":
        s.update(policy=_choice(event.get("policy"), POLICIES, "fixed"), it=0)
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
            s["it"] = 0
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
    elif kind == "set_preset_1d":
        name = event.get("name")
        s.update(p1d=_choice(name, PRESETS_1D, "too_large"), it=0)
    elif kind == "upload":
        if event.get("error"):
            return {**s, "notice": str(event["error"])[:300]}
        s.update(data=_data(event.get("data")), it=0)
        notice = event.get("notice")
        s["notice"] = str(notice)[:300] if notice else ""
        if s["f"] == "regression" or s["view"] == "regression":
            s["x0"] = [0.0, 0.0] if s["f"] == "regression" else s["x0"]
    elif kind == "load_url":
        query = event.get("query")
        s = {**from_query(query if isinstance(query, str) else ""), "data": s.get("data"),
             "clicks": s.get("clicks", 0)}
    return s


_KEYS = ("f", "formula", "x0", "methods", "lr", "policy", "it", "cap", "gtol", "ftol", "xtol",
         "view", "p1d")


def to_query(state: Mapping[str, Any]) -> str:
    """The state as a URL query string (no uploaded data), ``?f=rosenbrock&x0=-1.2,1&...``."""
    out: dict[str, str] = {}
    for key in _KEYS:
        value = state.get(key, DEFAULT[key])
        if key == "formula" and state.get("f") != "custom":
            continue
        if isinstance(value, list):
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
