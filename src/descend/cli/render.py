"""Helpers of the command line: argument types, JSON, Rich tables, plots, files.

:mod:`descend.cli` parses and calls the public API; what it shows is built here.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .._text import count, listing
from ..errors import InvalidArgument

__all__ = [
    "PLOT_SUFFIXES",
    "check_output",
    "class_table",
    "classify_report",
    "console",
    "count",
    "dump_json",
    "fit_report",
    "float_list",
    "fmt",
    "jsonable",
    "kept_columns",
    "labels",
    "names_list",
    "no_update",
    "optional_float",
    "point",
    "prediction_table",
    "print_classify",
    "print_fit",
    "progress",
    "result_table",
    "save_plot",
    "spinner",
    "step_size",
    "table",
    "warnings_as_lines",
]


# -- argument types ---------------------------------------------------------------------------


def float_list(value: Any) -> list[float]:
    """``"6,-3"`` -> ``[6.0, -3.0]`` (give ``--x0=-1.2,1`` or ``--x0 -1.2,1``)."""
    if isinstance(value, list):
        return value
    try:
        out = [float(s) for s in str(value).split(",")]
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated numbers such as 6,-3, got {value!r}"
        ) from None
    if not all(math.isfinite(v) for v in out):
        raise typer.BadParameter(f"numbers must be finite, got {value!r}")
    return out


def optional_float(value: Any) -> float | None:
    """A number, or ``none``/``off`` to switch a stopping test off."""
    if value is None or isinstance(value, float):
        return value
    text = str(value).strip().lower()
    if text in ("none", "off"):
        return None
    try:
        return float(text)
    except ValueError:
        raise typer.BadParameter(f"expected a number or 'none', got {value!r}") from None


def step_size(value: Any) -> float | str:
    """A fixed step (a number) or a policy name; the library checks the value."""
    if isinstance(value, float):
        return value
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        return text.lower()


def names_list(text: str | None, what: str) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; an empty item is an error."""
    if text is None:
        return None
    items = [s.strip() for s in text.split(",")]
    if not all(items):
        raise InvalidArgument(f"{what}: expected comma-separated names, got {text!r}")
    return items


# -- output -----------------------------------------------------------------------------------


def console(stderr: bool = False) -> Console:
    """A Rich console on the *current* ``sys.stdout``/``sys.stderr`` (as CliRunner sets them)."""
    return Console(file=sys.stderr if stderr else sys.stdout, highlight=False, soft_wrap=False)


def jsonable(value: Any) -> Any:
    """Plain JSON values: arrays to lists, NumPy scalars to Python, nan/inf to ``null``."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "value") and isinstance(value.value, str):  # a str Enum (Status)
        return value.value
    return value


def dump_json(value: Any) -> str:
    """Strict JSON (no NaN), indented."""
    return json.dumps(jsonable(value), indent=2, allow_nan=False)


def fmt(value: Any) -> str:
    """A number for a table: 10 significant digits."""
    try:
        return f"{float(value):.10g}"
    except (TypeError, ValueError):
        return str(value)


def point(x: Sequence[float] | np.ndarray) -> str:
    """``(1, 2.5)``."""
    return "(" + ", ".join(fmt(v) for v in np.asarray(x, dtype=float).ravel()) + ")"


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A Rich table; numeric columns right-aligned."""
    t = Table(title=title, title_justify="left")
    for name in columns:
        t.add_column(Text(name), overflow="fold")
    for row in rows:  # Text: a "[" in a name or value is shown, never read as markup
        t.add_row(*(Text(v if isinstance(v, str) else fmt(v)) for v in row))
    return t


@contextlib.contextmanager
def warnings_as_lines(keep: type[Warning] | tuple[type[Warning], ...] = ()
                      ) -> Iterator[list[str]]:
    """Show warnings raised inside as single ``warning: ...`` lines on stderr.

    Warnings of the ``keep`` categories are not shown: their messages (one line each)
    are collected in the list this yields, for the caller's report.
    """
    kept: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield kept
    seen: set[str] = set()
    for w in caught:
        line = " ".join(str(w.message).split())
        if line in seen:
            continue
        seen.add(line)
        if keep and issubclass(w.category, keep):
            kept.append(line)
        else:
            typer.echo(f"warning: {line}", err=True)


# -- plots ------------------------------------------------------------------------------------


PLOT_SUFFIXES = (".html", ".png", ".svg", ".pdf")


def check_output(path: Path | None, option: str, suffixes: Sequence[str] = ()) -> None:
    """Before any work: ``path`` has a known suffix and its folder exists."""
    if path is None:
        return
    if suffixes and path.suffix.lower() not in suffixes:
        raise InvalidArgument(f"{option}: cannot tell the format of {str(path)!r} from its "
                              f"suffix {path.suffix!r}; use one of {', '.join(suffixes)}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidArgument(f"{option}: folder {str(folder)!r} does not exist")


def save_plot(obj: Any, path: Path) -> None:
    """Draw ``obj`` with :func:`descend.plot.auto`; :func:`descend.plot.save` writes it.

    The format follows the suffix: ``.html`` (self-contained), or ``.png``/``.svg``/``.pdf``
    (these need kaleido and a Chromium). The write is atomic.
    """
    from .. import plot

    plot.save(plot.auto(obj), path)


# -- tables of results ------------------------------------------------------------------------


def result_table(res: Any) -> Table:
    """The summary of one :class:`~descend.result.Result`."""
    t = Table(show_header=False, box=None, title=f"minimize: {res.status.value}",
              title_justify="left")
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    t.add_row("status", res.status.value)
    t.add_row("message", res.message)
    for name, v in zip(res.variables, res.x.tolist(), strict=True):
        t.add_row(name, repr(v))
    t.add_row("f", repr(res.fun))
    t.add_row("nit", str(res.nit))
    t.add_row("nfev / njev", f"{res.nfev} / {res.njev}")
    return t


def fit_report(
    model: Any, target: str, unit: str, why: Sequence[str], loss: str,
    train: dict[str, Any], held: dict[str, Any] | None, held_label: str | None,
) -> dict[str, Any]:
    """What ``descend fit`` reports (and ``--json`` prints) about a fitted GDRegressor.

    ``why``: the messages of the fit's ConvergenceWarning, the reason it did not
    converge; ``train`` and ``held``: ``rows``, ``r2``, ``rmse``.
    """
    coef = [float(v) for v in np.ravel(model.coef_)]
    named = getattr(model, "feature_names_in_", None)
    names = [str(n) for n in named] if named is not None else \
        [f"x{i}" for i in range(len(coef))]
    curve = np.asarray(getattr(model, "loss_curve_", []), dtype=float)
    converged = bool(model.converged_)
    reason = None
    if not converged:
        lines = [w.removeprefix("GDRegressor: ").removeprefix("GDClassifier: ")
                 for w in why]
        result = getattr(model, "result_", None)
        reason = "; ".join(lines) or (str(result.message) if result is not None else None)
    out: dict[str, Any] = {
        "target": target, "features": names,
        "coef": dict(zip(names, coef, strict=True)), "intercept": float(model.intercept_),
        "rows": train["rows"], "n_features": len(names),
        "n_iter": int(model.n_iter_), "unit": unit, "converged": converged, "why": reason,
        "loss_function": loss, "loss": float(curve[-1]) if curve.size else None,
        "train": train,
    }
    if held is not None:
        out["held_out"] = {"what": held_label, **held}
    return out


def print_fit(out: dict[str, Any]) -> None:
    """The fit report: coefficients (least squares beside), scores, and why not converged."""
    lstsq = out.get("lstsq")
    columns = ["", "gradient descent"] + (["least squares"] if lstsq is not None else [])
    rows: list[list[Any]] = []
    for name, value in out["coef"].items():
        rows.append([name, value] + ([lstsq["coef"][name]] if lstsq is not None else []))
    rows.append(["(intercept)", out["intercept"]] + ([lstsq["intercept"]] if lstsq else []))
    state = "converged" if out["converged"] else "not converged"
    steps = count(out["n_iter"], out["unit"].removesuffix("s"))
    final = "n/a" if out["loss"] is None else fmt(out["loss"])
    scores = [("training", out["train"])]
    if "held_out" in out:
        scores.append((out["held_out"]["what"], out["held_out"]))
    shown = console()
    typer.echo(f"fit: {state} after {steps}; {count(out['rows'], 'row')}, "
               f"{count(out['n_features'], 'feature')}; final {out['loss_function']} {final}")
    shown.print(table(None, columns, rows))
    shown.print(table(None, ["data", "rows", "R^2", "RMSE"],
                      [(what, str(v["rows"]), "n/a" if v["r2"] is None else fmt(v["r2"]),
                        v["rmse"]) for what, v in scores]))
    if not out["converged"] and out["why"]:
        typer.echo(out["why"])


def labels(classes: Any) -> list[Any]:
    """Class labels as plain values: whole numbers as ``int`` (a Dask fit reads 1 as 1.0)."""
    out: list[Any] = []
    for v in np.asarray(classes).tolist():
        if isinstance(v, float) and math.isfinite(v) and v.is_integer():
            v = int(v)
        out.append(v)
    return out


def classify_report(
    model: Any, target: str, unit: str, why: Sequence[str], loss: str,
    train: dict[str, Any], held: dict[str, Any] | None, held_label: str | None,
) -> dict[str, Any]:
    """What ``descend fit --loss log`` reports (and ``--json`` prints) about a GDClassifier.

    As :func:`fit_report`, with ``classes``; ``coef`` and ``intercept`` per class for
    more than two classes (two: those of the log-odds of the second class); ``train``
    and ``held``: ``rows``, ``accuracy``, ``log_loss``.
    """
    out = fit_report(_Binary(model), target, unit, why, loss, train, held, held_label)
    classes = labels(model.classes_)
    out["classes"] = classes
    out["separable"] = bool(getattr(model, "separable_", False))
    coef = np.asarray(model.coef_, dtype=float)
    if coef.shape[0] > 1:
        names = out["features"]
        out["coef"] = {str(c): dict(zip(names, row.tolist(), strict=True))
                       for c, row in zip(classes, coef, strict=True)}
        out["intercept"] = {str(c): float(b) for c, b in
                            zip(classes, np.ravel(model.intercept_), strict=True)}
    return out


class _Binary:
    """A classifier seen by :func:`fit_report`: the first row of coefficients, one intercept."""

    def __init__(self, model: Any) -> None:
        self._m = model
        self.coef_ = np.asarray(model.coef_, dtype=float)[0]
        self.intercept_ = float(np.ravel(model.intercept_)[0])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._m, name)


def print_classify(out: dict[str, Any]) -> None:
    """The classifier's report: classes, coefficients per class, accuracy and log loss."""
    classes = [str(c) for c in out["classes"]]
    state = "converged" if out["converged"] else "not converged"
    steps = count(out["n_iter"], out["unit"].removesuffix("s"))
    final = "n/a" if out["loss"] is None else fmt(out["loss"])
    typer.echo(f"fit: {state} after {steps}; {count(out['rows'], 'row')}, "
               f"{count(out['n_features'], 'feature')}, {len(classes)} classes "
               f"({listing(classes, most=10)}); final log loss + penalty {final}")
    if len(classes) == 2:
        columns = ["", f"log-odds of {classes[1]}"]
        rows = [[name, v] for name, v in out["coef"].items()]
        rows.append(["(intercept)", out["intercept"]])
    else:
        columns = ["", *classes]
        features = out["features"]
        rows = [[name, *(out["coef"][c][name] for c in classes)] for name in features]
        rows.append(["(intercept)", *(out["intercept"][c] for c in classes)])
    shown = console()
    shown.print(table(None, columns, rows))
    scores = [("training", out["train"])]
    if "held_out" in out:
        scores.append((out["held_out"]["what"], out["held_out"]))
    shown.print(table(None, ["data", "rows", "accuracy", "log loss"],
                      [(what, str(v["rows"]), "n/a" if v["accuracy"] is None else
                        fmt(v["accuracy"]), "n/a" if v["log_loss"] is None else
                        fmt(v["log_loss"])) for what, v in scores]))
    if not out["converged"] and out["why"]:
        typer.echo(out["why"])


@contextlib.contextmanager
def progress(text: str, total: int | None) -> Iterator[Callable[..., None]]:
    """A transient Rich progress bar on stderr; yields ``update(done, total=None)``.

    Only on a terminal (never on stdout, never in a pipe): a spinner, ``text``, a bar
    towards ``total`` (a pulse when None or until the first update), ``done/total`` and
    the time elapsed. ``update`` is cheap enough to call every step; the display
    refreshes ten times a second from its own thread.
    """
    err = console(stderr=True)
    if not err.is_terminal:
        yield no_update
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    # Lines printed to stdout go above the bar when stdout is the same terminal; into
    # a pipe or file they go untouched.
    same_tty = _isatty(sys.stdout)
    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True,
                   redirect_stdout=same_tty, redirect_stderr=False)
    task = bar.add_task(text, total=total, start=total is not None)

    def update(done: int, total: int | None = None) -> None:
        if total is not None and not bar.tasks[task].started:
            bar.start_task(task)
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def no_update(done: int, total: int | None = None) -> None:
    """What :func:`progress` yields off a terminal: nothing to draw."""
    return None


@contextlib.contextmanager
def spinner(text: str) -> Iterator[None]:
    """A transient spinner on stderr (only on a terminal; it never touches stdout)."""
    err = console(stderr=True)
    if not err.is_terminal:
        yield
        return
    with err.status(text, spinner="dots"):
        yield


# -- predictions ------------------------------------------------------------------------------


def kept_columns(frame: Any, names: Sequence[str], shown: str) -> Any:
    """The ``--keep`` columns of ``frame`` (a column, or a level of a stored index)."""
    import pandas as pd

    kept = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    levels = [str(n) for n in frame.index.names if n is not None]
    for name in names:
        if name in kept.columns:
            raise InvalidArgument(f"--keep: {name!r} named twice", argument="--keep")
        if name in frame.columns:
            kept[name] = frame[name].to_numpy()
        elif name in levels:
            kept[name] = frame.index.get_level_values(name).to_numpy()
        else:
            columns = [str(c) for c in frame.columns] + levels
            raise InvalidArgument(f"--keep: no column {name!r} in {shown}; the columns are "
                                  f"{listing(columns, most=20, quote=True)}", argument="--keep")
    return kept


def class_table(kept: Any, pred: Any, proba: Any, classes: Any) -> Any:
    """The ``--keep`` columns, then ``prediction`` (the class) and, with ``proba``, one
    column ``proba_<class>`` per class."""
    table = kept.copy()
    names = ["prediction"]
    columns = [np.asarray(pred)]
    if proba is not None:
        names += [f"proba_{c}" for c in labels(classes)]
        columns += list(np.asarray(proba, dtype=np.float64).T)
    for name, column in zip(names, columns, strict=True):
        if name in table.columns:
            raise InvalidArgument(f"--keep: {name!r} is the name of a column of the "
                                  "predictions", argument="--keep")
        table[name] = column
    return table


def prediction_table(kept: Any, pred: Any, target: Any) -> Any:
    """The ``--keep`` columns, then ``prediction`` (one per target for several)."""
    table = kept.copy()
    values = np.asarray(pred, dtype=np.float64)
    if values.ndim == 1:
        names, columns = ["prediction"], [values]
    else:
        targets = target if isinstance(target, list) and len(target) == values.shape[1] \
            else [str(k) for k in range(values.shape[1])]
        names = [f"prediction_{t}" for t in targets]
        columns = list(values.T)
    for name, column in zip(names, columns, strict=True):
        if name in table.columns:
            raise InvalidArgument(f"--keep: {name!r} is the name of the predictions' column",
                                  argument="--keep")
        table[name] = column
    return table
