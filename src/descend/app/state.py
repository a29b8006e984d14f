"""The explorer's whole state, and the one pure function that changes it.

The state is a small JSON-able dict that lives in the page (a ``dcc.Store``) and in
the URL; the server keeps none. :func:`reduce` maps ``(state, event) -> state``
without touching the old dict, so the callbacks are thin and the tests call it
directly. The functions and data it needs are deterministic (the catalog, seeded
random starts), so the same state always gives the same runs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode

from .. import functions, optimizers

__all__ = [
    "DEFAULT", "MAX_ITER_CAP", "METHODS", "POLICIES", "PRESETS", "PRESETS_1D", "VIEWS",
    "from_query", "reduce", "to_query",
]

MAX_ITER_CAP = 100_000
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


def _clip_lr(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v) or v <= 0:
        return None
    return min(max(v, LR_MIN), LR_MAX)


def _tol(value: Any) -> float | None:
    if value in (None, "", "none"):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and v > 0 else None


def _int(value: Any, lo: int, hi: int) -> int | None:
    try:
        v = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return min(max(v, lo), hi)


def _point(value: Any, p: int) -> list[float] | None:
    if isinstance(value, str):
        value = value.replace("(", "").replace(")", "").split(",")
    try:
        pts = [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    if len(pts) != p or not all(math.isfinite(v) and abs(v) <= 1e6 for v in pts):
        return None
    return pts


def reduce(state: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    """The state after ``event``; ``state`` is not changed.

    Events (``type`` and fields): ``set_preset`` (``name``), ``set_formula`` (``text``,
    ``variables`` from the validator, or ``error``), ``set_start`` (``x0``: a list or
    ``"a, b"``; or ``source="random"`` with ``seed``), ``set_methods`` (``methods``),
    ``set_lr`` (``lr``), ``set_policy`` (``policy``), ``set_option`` (``name`` in
    cap/gtol/ftol/xtol, ``value``), ``step``, ``run``, ``reset``, ``set_view`` (``view``),
    ``set_preset_1d`` (``name``), ``upload`` (``data`` or ``error``), ``load_url``
    (``query``). An invalid value leaves the state as it was with a ``notice``.
    """
    s = {**DEFAULT, **state}
    s["notice"] = ""
    kind = event.get("type")
    p = len(s["variables"])
    if kind == "set_preset":
        name = str(event.get("name"))
        if name not in PRESETS:
            return {**s, "notice": f"unknown function {name!r}"}
        s.update(f=name, formula="", error="", x0=_start(name), it=0, lr=_LR.get(name, 0.01),
                 variables=["intercept", "slope"] if name == "regression"
                 else list(functions.get(name).variables))
    elif kind == "set_formula":
        text = str(event.get("text") or "")
        s.update(f="custom", formula=text, it=s["it"] if event.get("source") == "url" else 0)
        if event.get("error"):
            s["error"] = str(event["error"])
        else:
            names = [str(v) for v in event.get("variables") or []]
            s["error"] = ""
            if names != s["variables"]:
                keep = len(s["x0"]) == len(names)
                s.update(variables=names, x0=s["x0"] if keep else [1.0] * len(names))
    elif kind == "set_start":
        if event.get("source") == "random":
            rng = random.Random(int(event.get("seed", 0)))
            lo, hi = event.get("bounds") or (-3.0, 3.0)
            s.update(x0=[round(rng.uniform(float(lo), float(hi)), 4) for _ in range(p)], it=0)
        else:
            pt = _point(event.get("x0"), p)
            if pt is None:
                return {**s, "notice": f"start: expected {p} finite numbers separated by commas"}
            s.update(x0=pt, it=0)
    elif kind == "set_methods":
        ms = [m for m in event.get("methods") or [] if m in METHODS]
        s.update(methods=list(dict.fromkeys(ms)) or ["gd"], it=0)
    elif kind == "set_lr":
        lr = _clip_lr(event.get("lr"))
        if lr is None:
            return {**s, "notice": "lr: expected a number > 0"}
        s.update(lr=lr, it=0)
    elif kind == "set_policy":
        pol = str(event.get("policy"))
        s.update(policy=pol if pol in POLICIES else "fixed", it=0)
    elif kind == "set_option":
        name, value = str(event.get("name")), event.get("value")
        if name == "cap":
            s["cap"] = _int(value, 1, MAX_ITER_CAP) or s["cap"]
            s["it"] = min(s["it"], s["cap"])
        elif name in ("gtol", "ftol", "xtol"):
            s[name] = _tol(value)
        s["it"] = 0 if name != "cap" else s["it"]
    elif kind == "step":
        # ``clicks``: the Step button's click count, so that clicks made while an answer
        # was on its way (the page then sends an older state) all count.
        clicks = event.get("clicks")
        n = 1 if clicks is None else max(1, int(clicks) - int(s.get("clicks", 0)))
        s["it"] = min(int(s["it"]) + n, int(s["cap"]))
        s["clicks"] = int(clicks) if clicks is not None else s.get("clicks", 0)
    elif kind == "run":
        s["it"] = int(s["cap"])
    elif kind == "reset":
        s["it"] = 0
    elif kind == "set_view":
        view = str(event.get("view"))
        s["view"] = view if view in VIEWS else "contour"
    elif kind == "set_preset_1d":
        name = str(event.get("name"))
        s.update(p1d=name if name in PRESETS_1D else "too_large", it=0)
    elif kind == "upload":
        if event.get("error"):
            return {**s, "notice": str(event["error"])}
        s.update(data=event.get("data"), it=0)
        if s["f"] == "regression" or s["view"] == "regression":
            s["x0"] = [0.0, 0.0] if s["f"] == "regression" else s["x0"]
    elif kind == "load_url":
        s = {**from_query(str(event.get("query") or "")), "data": s.get("data"),
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

    ``formula`` is kept as text: the caller validates it (``set_formula``).
    """
    q = {k: v[-1] for k, v in parse_qs(query.lstrip("?"), max_num_fields=32).items()}
    s = dict(DEFAULT)
    f = q.get("f", s["f"])
    if f == "custom" and q.get("formula"):
        s.update(f="custom", formula=q["formula"][:2000], variables=[], x0=[])
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
            s["x0"] = _point(q["x0"], len(q["x0"].split(","))) or []
        else:
            s = reduce(s, {"type": "set_start", "x0": q["x0"]})
    s["it"] = _int(q.get("it", 0), 0, int(s["cap"])) or 0
    s["notice"] = ""
    return s
